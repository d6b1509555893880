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
# written (the simulation flag added after the command's name), whether its tool is missing or
# not: a tool set up by hand earlier must not hide a line that would fail on a fresh machine.
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

# Root runs APT itself; anyone else through sudo.
if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo); fi

# The install lines, each as it runs, and why the tests need it. Node.js comes preinstalled on the
# project's machine from a packaging of its own that bundles npm and conflicts with Debian's `npm`,
# so Node.js is its own line, taken only where there is no node at all, and npm is not installed:
# playwright-core (no dependencies) then comes from the npm registry's tarball.
LINES=(
    "apt-get install -y --no-install-recommends systemd|the socket-activation and unit tests use systemd-socket-activate and systemd-analyze"
    "apt-get install -y --no-install-recommends postfix|the forwarder test sends a burst with Postfix's smtp-source (no Postfix daemon is set up)"
    "apt-get install -y --no-install-recommends postgresql|the storage tests start their own PostgreSQL servers with initdb and pg_ctl"
    "apt-get install -y --no-install-recommends rspamd|the spam tests start their own rspamd"
    "apt-get install -y --no-install-recommends redis-server|the learning tests give rspamd's Bayes classifier a Redis of their own"
    "apt-get install -y --no-install-recommends chromium|the web inbox's end-to-end test drives Debian's chromium"
    "apt-get install -y --no-install-recommends nodejs|the web inbox's end-to-end test runs playwright-core on Node.js"
    "apt-get install -y --no-install-recommends python3-venv|the webhook and OpenAPI tests run Python tools from a virtualenv"
)

command_of() { echo "${1%%|*}"; }
packages_of() { local command=${1%%|*}; echo "${command##*--no-install-recommends }"; }

missing() { # packages → 0 when the tools of that line are missing
    case "$1" in
        systemd) ! command -v systemd-socket-activate >/dev/null || ! command -v systemd-analyze >/dev/null ;;
        postfix) ! command -v smtp-source >/dev/null && [ ! -x /usr/sbin/smtp-source ] ;;
        postgresql) ! command -v pg_config >/dev/null || [ ! -x "$(pg_config --bindir 2>/dev/null)/initdb" ] ;;
        rspamd) ! command -v rspamd >/dev/null ;;
        redis-server) ! command -v redis-server >/dev/null ;;
        chromium) ! command -v chromium >/dev/null ;;
        nodejs) ! command -v node >/dev/null ;;
        python3-venv) ! python3 -c 'import ensurepip, venv' 2>/dev/null ;;
        *) say "no check for line '$1'"; return 1 ;;
    esac
}

# Package lists are needed to simulate; fetch them once if this machine has none yet (or if the
# check finds a package unknown, which is what stale lists look like).
lists_fetched=0
fetch_lists() {
    if [ "$lists_fetched" -eq 0 ]; then
        say "fetching the package lists"
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

simulate_as_written() { # dpkg status file, the line's command → APT's answer and its status
    local status=$1 words
    read -r -a words <<<"$2"
    DEBIAN_FRONTEND=noninteractive "${words[0]}" -s -o Dir::State::status="$status" "${words[@]:1}" 2>&1
}

# A line passes when it simulates cleanly on this machine as it is, or else on this machine without
# the line's own packages (the only state in which the line runs: the preinstalled Node.js
# conflicts with Debian's npm, and on a machine without node `nodejs npm` is what installs).
simulate() { # a line of LINES → APT's answer; status 0 when it would succeed
    local status out rc=0
    out=$(simulate_as_written /var/lib/dpkg/status "$(command_of "$1")") && { echo "$out"; return 0; }
    # shellcheck disable=SC2046
    status=$(status_without $(packages_of "$1"))
    out=$(simulate_as_written "$status" "$(command_of "$1")") || rc=$?
    rm -f "$status"
    echo "$out"
    return $rc
}

check_lines() {
    local failed=0 line command out ok
    for line in "${LINES[@]}"; do
        command=$(command_of "$line")
        ok=1
        out=$(simulate "$line") || ok=0
        if [ $ok -eq 0 ] && [ "$lists_fetched" -eq 0 ] &&
            echo "$out" | grep -q "Unable to locate package\|has no installation candidate"; then
            fetch_lists # no package lists yet, or stale ones: once more with fresh ones
            ok=1
            out=$(simulate "$line") || ok=0
        fi
        if [ $ok -eq 1 ]; then
            say "ok (simulated with -s): $command"
        else
            say "this install line would fail: $command"
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
    if missing "$(packages_of "$line")"; then needed+=("$line"); fi
done

# Every line is proven before anything is installed, also the lines this machine does not need.
check_lines
if [ ${#needed[@]} -gt 0 ]; then
    fetch_lists
    for line in "${needed[@]}"; do
        packages=$(packages_of "$line")
        say "$(command_of "$line"): ${line#*|}"
        if [ "$packages" = postfix ]; then
            # Only the smtp-source binary is used: no mail system is configured.
            echo "postfix postfix/main_mailer_type select No configuration" | "${as_root[@]}" debconf-set-selections
        fi
        read -r -a words <<<"$(command_of "$line")"
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive "${words[0]}" -qq "${words[@]:1}" >/dev/null
    done
fi

# playwright-core from npm, into a folder under target/ (its executablePath is Debian's chromium;
# no browser is downloaded). Without npm, the registry's tarball, checked against its integrity.
PLAYWRIGHT=playwright-core@1.65.1
PLAYWRIGHT_TARBALL=https://registry.npmjs.org/playwright-core/-/playwright-core-1.65.1.tgz
PLAYWRIGHT_INTEGRITY=sha512-hqPpz7blSMPxWVdoeE1yiBSzXsKiVOd2k+kjCvmUywD2GPO2Dd9HfcWnq9NN0GHbNZDFgZ9JfBFr+X5/BLo0qw==
if [ ! -d target/web-test/node_modules/playwright-core ]; then
    mkdir -p target/web-test
    if command -v npm >/dev/null; then
        say "npm install $PLAYWRIGHT"
        npm install --silent --no-audit --no-fund --prefix target/web-test "$PLAYWRIGHT" >/dev/null
    else
        say "no npm: $PLAYWRIGHT from $PLAYWRIGHT_TARBALL"
        python3 - "$PLAYWRIGHT_TARBALL" "$PLAYWRIGHT_INTEGRITY" target/web-test/node_modules/playwright-core <<'PY'
import base64, hashlib, io, sys, tarfile, urllib.request
url, integrity, dest = sys.argv[1:]
data = urllib.request.urlopen(url, timeout=120).read()
if "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode() != integrity:
    sys.exit(f"{url}: integrity check failed")
with tarfile.open(fileobj=io.BytesIO(data)) as tar:
    for member in tar.getmembers():
        member.name = member.name.split("/", 1)[1] if "/" in member.name else ""
    tar.extractall(dest, members=[m for m in tar.getmembers() if m.name], filter="data")
PY
    fi
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
