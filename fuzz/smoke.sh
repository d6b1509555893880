#!/usr/bin/env bash
# Quick fuzz smoke test for CI: builds both fuzz targets (stable Rust, no sanitizer), replays the
# saved findings in fuzz/artifacts/<target>/ (regressions), then fuzzes each target for
# FUZZ_SECONDS (default 25) from the committed corpus. Exits non-zero on any crash, hang or
# unbounded allocation. Needs cargo-fuzz: `cargo install cargo-fuzz --locked`.
#
# New inputs found during the smoke run go to a temporary folder, never into fuzz/corpus/.
set -euo pipefail
cd "$(dirname "$0")"

SECONDS_PER_TARGET="${FUZZ_SECONDS:-25}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
NICE=(nice -n 19)

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "smoke.sh: cargo-fuzz is not installed (cargo install cargo-fuzz --locked)" >&2
    exit 2
fi

start=$(date +%s)
"${NICE[@]}" cargo fuzz build -s none -O
echo "smoke.sh: build took $(( $(date +%s) - start )) s"

bin_dir="$CARGO_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

declare -A options=(
    [smtp_session]="-dict=smtp.dict -max_len=200000"
    [ingest]="-max_len=131072"
)

for target in smtp_session ingest; do
    # Regressions: every saved finding must now pass.
    shopt -s nullglob
    saved=(artifacts/"$target"/*)
    shopt -u nullglob
    if ((${#saved[@]})); then
        echo "smoke.sh: $target: replaying ${#saved[@]} saved findings"
        "${NICE[@]}" "$bin_dir/$target" -rss_limit_mb=2048 -timeout=10 "${saved[@]}"
    fi
    mkdir -p "$scratch/$target"
    echo "smoke.sh: $target: fuzzing for $SECONDS_PER_TARGET s"
    # shellcheck disable=SC2086
    "${NICE[@]}" "$bin_dir/$target" ${options[$target]} \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$scratch/" -print_final_stats=1 \
        "$scratch/$target" "corpus/$target" 2>"$scratch/$target.log" || {
        status=$?
        tail -n 60 "$scratch/$target.log" >&2
        shopt -s nullglob
        for f in "$scratch"/crash-* "$scratch"/timeout-* "$scratch"/oom-*; do
            mkdir -p "artifacts/$target"
            cp "$f" "artifacts/$target/"
            echo "smoke.sh: $target: finding saved as fuzz/artifacts/$target/$(basename "$f")" >&2
        done
        echo "smoke.sh: $target: FAILED (exit $status)" >&2
        exit 1
    }
    grep -E '^stat::number_of_executed_units|^#[0-9]+[[:space:]]+DONE' "$scratch/$target.log" || true
done
echo "smoke.sh: all targets passed in $(( $(date +%s) - start )) s"
