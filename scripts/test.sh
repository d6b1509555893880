#!/usr/bin/env bash
# The README's test command: installs what the tests need on a Debian 12 machine, then runs them.
#
#   bash scripts/test.sh                 everything, then `cargo test`
#   bash scripts/test.sh -- ARGS         the same, with ARGS passed to `cargo test`
#   bash scripts/test.sh --setup-only    install what is missing, run nothing
#   bash scripts/test.sh --check         only prove that every install line below would succeed
#
# Each tool is installed on its own line, and only when it is missing, so that one package's
# conflict cannot stop the others. Before anything is installed, every line is simulated exactly as
# written (`apt-get -s install …`), whether its tool is missing or not: a tool installed by hand
# earlier must not hide a line that would fail on a fresh machine.
#
# On a machine that already has everything, plain `cargo test` runs the same tests.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=test
cargo_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --check) mode=check ;;
        --setup-only) mode=setup ;;
        --) shift; cargo_args=("$@"); break ;;
        *) echo "scripts/test.sh: unknown argument $1 (see the head of this file)" >&2; exit 2 ;;
    esac
    shift
done

say() { echo "test.sh: $*" >&2; }

# Root runs apt-get itself; anyone else through sudo.
if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo); fi
apt_install() {
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The install lines: "packages|why". Node.js comes preinstalled on the project's machine from a
# packaging of its own that bundles npm and conflicts with Debian's `npm`, so `nodejs npm` is its
# own line, taken only where there is no node at all.
LINES=(
    "systemd|the socket-activation and unit tests use systemd-socket-activate and systemd-analyze"
    "postfix|the forwarder test sends a burst with Postfix's smtp-source (no Postfix daemon is set up)"
    "postgresql|the storage tests start their own PostgreSQL servers with initdb and pg_ctl"
    "rspamd|the spam tests start their own rspamd"
    "redis-server|the learning tests give rspamd's Bayes classifier a Redis of their own"
    "chromium|the web inbox's end-to-end test drives Debian's chromium"
    "nodejs npm|the web inbox's end-to-end test runs playwright-core on Node.js"
    "python3-venv|the webhook and OpenAPI tests run Python tools from a virtualenv"
)

missing() { # packages → 0 when the tools of that line are missing
    case "$1" in
        systemd) ! command -v systemd-socket-activate >/dev/null || ! command -v systemd-analyze >/dev/null ;;
        postfix) ! command -v smtp-source >/dev/null && [ ! -x /usr/sbin/smtp-source ] ;;
        postgresql) ! command -v pg_config >/dev/null || [ ! -x "$(pg_config --bindir 2>/dev/null)/initdb" ] ;;
        rspamd) ! command -v rspamd >/dev/null ;;
        redis-server) ! command -v redis-server >/dev/null ;;
        chromium) ! command -v chromium >/dev/null ;;
        "nodejs npm") ! command -v node >/dev/null ;;
        python3-venv) ! python3 -c 'import ensurepip, venv' 2>/dev/null ;;
        *) say "no check for line '$1'"; return 1 ;;
    esac
}

# Package lists are needed to simulate; fetch them once if this machine has none yet (or if the
# check finds a package unknown, which is what stale lists look like).
lists_fetched=0
fetch_lists() {
    if [ "$lists_fetched" -eq 0 ]; then
        say "apt-get update"
        "${as_root[@]}" apt-get update -qq
        lists_fetched=1
    fi
}

# The machine as it would be without the given packages: this machine's dpkg status with their
# entries left out.
status_without() { # packages → path of a dpkg status file
    local file
    file=$(mktemp)
    awk -v drop="$*" 'BEGIN { n = split(drop, a, " "); for (i = 1; i <= n; i++) d[a[i]] = 1 }
        /^Package: / { skip = ($2 in d) }
        !skip { print }
        /^$/ { skip = 0 }' /var/lib/dpkg/status >"$file"
    echo "$file"
}

apt_simulate() { # dpkg status file, packages → apt-get's answer and its status
    local status=$1
    shift
    DEBIAN_FRONTEND=noninteractive apt-get -s -o Dir::State::status="$status" \
        install -y -qq --no-install-recommends "$@" 2>&1
}

# A line passes when it simulates cleanly on this machine as it is, or else on this machine without
# the line's own packages (the only state in which the line runs: the preinstalled Node.js
# conflicts with Debian's npm, and on a machine without node `nodejs npm` is what installs).
simulate() { # packages → apt-get's answer; status 0 when the line would install
    local status out rc=0
    out=$(apt_simulate /var/lib/dpkg/status "$@") && { echo "$out"; return 0; }
    status=$(status_without "$@")
    out=$(apt_simulate "$status" "$@") || rc=$?
    rm -f "$status"
    echo "$out"
    return $rc
}

check_lines() {
    local failed=0 line packages out ok
    for line in "${LINES[@]}"; do
        packages=${line%%|*}
        ok=1
        # shellcheck disable=SC2086
        out=$(simulate $packages) || ok=0
        if [ $ok -eq 0 ] && [ "$lists_fetched" -eq 0 ] &&
            echo "$out" | grep -q "Unable to locate package\|has no installation candidate"; then
            fetch_lists # no package lists yet, or stale ones: once more with fresh ones
            ok=1
            # shellcheck disable=SC2086
            out=$(simulate $packages) || ok=0
        fi
        if [ $ok -eq 1 ]; then
            say "ok: apt-get -s install $packages"
        else
            say "this install line would fail: apt-get install $packages"
            echo "$out" | tail -5 >&2
            failed=1
        fi
    done
    return $failed
}

if [ "$mode" = check ]; then
    check_lines
    say "every install line simulates cleanly"
    exit 0
fi

# The corpora the tests read live beside the repository.
if [ ! -d ../shared/corpora ]; then
    say "../shared/corpora is missing: the corpus tests read the shared corpora beside this repository"
    exit 1
fi

needed=()
for line in "${LINES[@]}"; do
    packages=${line%%|*}
    if missing "$packages"; then needed+=("$line"); fi
done

# Every line is proven before anything is installed, also the lines this machine does not need.
check_lines
if [ ${#needed[@]} -gt 0 ]; then
    fetch_lists
    for line in "${needed[@]}"; do
        packages=${line%%|*}
        say "installing $packages: ${line#*|}"
        if [ "$packages" = postfix ]; then
            # Only the smtp-source binary is used: no mail system is configured.
            echo "postfix postfix/main_mailer_type select No configuration" | "${as_root[@]}" debconf-set-selections
        fi
        # shellcheck disable=SC2086
        apt_install $packages
    done
fi

# playwright-core from npm, into a folder under target/ (its executablePath is Debian's chromium;
# no browser is downloaded).
PLAYWRIGHT=playwright-core@1.65.1
if [ ! -d target/web-test/node_modules/playwright-core ]; then
    say "npm install $PLAYWRIGHT"
    mkdir -p target/web-test
    npm install --silent --no-audit --no-fund --prefix target/web-test "$PLAYWRIGHT" >/dev/null
fi

# Python tools from PyPI, in a virtualenv under target/: the `standardwebhooks` library verifies
# our signatures as a customer's receiver would; schemathesis checks the API against its OpenAPI
# document.
if ! target/test-venv/bin/python -c "import standardwebhooks, schemathesis" 2>/dev/null; then
    say "python3 -m venv target/test-venv; pip install standardwebhooks schemathesis"
    python3 -m venv target/test-venv
    target/test-venv/bin/pip install -q standardwebhooks schemathesis
fi

if [ "$mode" = setup ]; then
    say "everything the tests need is here"
    exit 0
fi

exec cargo test "${cargo_args[@]}"
