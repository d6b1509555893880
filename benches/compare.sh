#!/usr/bin/env bash
# Compares inboxd with Postfix, Haraka and aiosmtpd on this machine, under the same load, every
# server made to fsync each message before its 250. See BENCHMARKS.md for the last results.
#
#   benches/compare.sh                 # everything (about 15 minutes on 2 cores)
#   SERVERS="inboxd haraka" benches/compare.sh
#   SCALE=0.1 benches/compare.sh       # a tenth of the messages: a quick look, noisy figures
#   SKIP_MEMORY=1 benches/compare.sh   # no idle-session / 25 MiB measurements
#   SERVERS="inboxd inboxd-pg inboxd-pg2" benches/compare.sh   # SQLite, one host and two hosts on PostgreSQL
#   SERVERS="inboxd inboxd-hooks" SIZES=2048 benches/compare.sh # SMTP with a webhook endpoint, and the webhook rate
#   SERVERS="inboxd inboxd-rspamd" SIZES="2048 51200" benches/compare.sh # SMTP with every message scored by rspamd
#
# It installs what it needs (idempotently): postfix (apt), Haraka (npm, under $BENCH_CACHE),
# aiosmtpd (PyPI, in a venv under $BENCH_CACHE). Servers listen on loopback ports 2601-2605, each
# started and stopped here, one at a time; all their files live under a temporary folder in /tmp
# that is removed at the end (KEEP=1 keeps it). The load generator is benches/smtp_load/.
# Results: a table on stdout and the raw JSON lines in $OUT (default /tmp/inboxd-bench-results.jsonl).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_CACHE=${BENCH_CACHE:-/tmp/inboxd-bench-cache}
SERVERS=${SERVERS:-"inboxd inboxd-pg inboxd-pg2 postfix haraka aiosmtpd"}
SIZES=${SIZES:-"2048 51200 5242880"}
CONCS=${CONCS:-"1 10 50"}
SCALE=${SCALE:-1}
OUT=${OUT:-/tmp/inboxd-bench-results.jsonl}
HARAKA_VERSION=${HARAKA_VERSION:-3.3.4}
AIOSMTPD_VERSION=${AIOSMTPD_VERSION:-1.4.6}
DOMAIN=inbox.localhost
PEER_RCPT="bench@$DOMAIN"
PORT_INBOXD=2601 PORT_POSTFIX=2602 PORT_HARAKA=2603 PORT_AIOSMTPD=2604 PORT_MEM=2605
PORT_PG=2606 PORT_INBOXD2=2607 PORT_RECEIVER=2610 PORT_RSPAMD=2611 PORT_DNS=2614
RSPAMD_WORKERS=${RSPAMD_WORKERS:-2}
RSPAMD_PID="" DNS_PID=""
RECEIVER_PID=""
EXTRA_PIDS=""
PG_DATA=""
# A PostgreSQL server of the run's own (Debian's postgresql, run as the postgres user when we are
# root), fsync and synchronous_commit on: the same promise as SQLite's synchronous=FULL.
# shellcheck source=benches/pg_cluster.sh
source "$REPO/benches/pg_cluster.sh"

WORK=$(mktemp -d /tmp/inboxd-bench.XXXXXX)
chmod 755 "$WORK" # Postfix's delivery agent runs as an unprivileged user and must get through.
SERVER_PID=""
SAMPLER_PID=""
STOP_CMD=""
LOAD_PID=""

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
    local rc=$?
    set +e
    [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
    [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null
    stop_server
    jobs -p | xargs -r kill 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Installation (idempotent)

install_all() {
    if [ ! -x /usr/sbin/postfix ] && [[ " $SERVERS " == *" postfix "* ]]; then
        log "installing postfix (apt)"
        export DEBIAN_FRONTEND=noninteractive
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends postfix >/dev/null
    fi
    if [[ " $SERVERS " == *" haraka "* ]] && [ ! -x "$BENCH_CACHE/haraka-pkg/node_modules/.bin/haraka" ]; then
        log "installing Haraka $HARAKA_VERSION (npm)"
        mkdir -p "$BENCH_CACHE/haraka-pkg"
        (cd "$BENCH_CACHE/haraka-pkg" && { [ -f package.json ] || npm init -y >/dev/null; } \
            && npm install --no-audit --no-fund --loglevel=error "Haraka@$HARAKA_VERSION" >/dev/null)
    fi
    if [[ " $SERVERS " == *" aiosmtpd "* ]] \
        && ! "$BENCH_CACHE/aiosmtpd-venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
        log "installing aiosmtpd $AIOSMTPD_VERSION (pip, venv)"
        python3 -m venv "$BENCH_CACHE/aiosmtpd-venv"
        "$BENCH_CACHE/aiosmtpd-venv/bin/pip" install -q "aiosmtpd==$AIOSMTPD_VERSION"
    fi
}

build() {
    log "building inboxd and smtp_load (release)"
    (cd "$REPO" && cargo build --release --quiet --bin inboxd)
    local target_dir
    target_dir=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    INBOXD="$target_dir/release/inboxd"
    LOADGEN=$(cd "$REPO" && cargo bench --bench smtp_load --no-run --message-format=json 2>/dev/null \
        | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "smtp_load" and m.get("executable"):
        print(m["executable"])')
    (cd "$REPO" && cargo build --release --quiet --example webhook_receiver)
    RECEIVER="$target_dir/release/examples/webhook_receiver"
    [ -x "$INBOXD" ] && [ -x "$LOADGEN" ] && [ -x "$RECEIVER" ] || { log "build failed"; exit 1; }
}

# ---------------------------------------------------------------------------------------------
# Helpers

wait_port() { # PORT: wait until something accepts on 127.0.0.1:PORT (30 s at most)
    for _ in $(seq 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "nothing listens on port $1"
    return 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

tree_pids() { # ROOT_PID: the process and all its descendants
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2 }
        END {
            for (p in parent) {
                q = p; n = 0
                while (q != root && q in parent && q > 1 && n++ < 64) q = parent[q]
                if (q == root) print p
            }
        }'
}

tree_mem_kib() { # ROOT_PID: "RSS PSS" in KiB summed over the process tree (PSS shares shared pages out)
    local files=()
    for p in $(tree_pids "$1"); do files+=("/proc/$p/smaps_rollup"); done
    [ ${#files[@]} -gt 0 ] || { echo "0 0"; return; }
    awk '/^Rss:/ { r += $2 } /^Pss:/ { p += $2 } END { print r + 0, p + 0 }' "${files[@]}" 2>/dev/null || echo "0 0"
}

start_sampler() { # ROOT_PID FILE: appends "epoch rss_kib pss_kib" every 0.2 s while ROOT_PID lives
    local root=$1 file=$2
    (
        while kill -0 "$root" 2>/dev/null; do
            echo "$(date +%s.%N) $(tree_mem_kib "$root")" >>"$file"
            sleep 0.2
        done
    ) &
    SAMPLER_PID=$!
}

stop_sampler() {
    [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null && wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
}

max_mem_between() { # FILE T0 T1 -> "max_rss max_pss" (KiB)
    awk -v a="$2" -v b="$3" '$1 >= a && $1 <= b { if ($2 > r) r = $2; if ($3 > p) p = $3 } END { print r + 0, p + 0 }' "$1"
}

hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

stop_server() {
    if [ -n "$STOP_CMD" ]; then
        eval "$STOP_CMD" >/dev/null 2>&1 || true
        STOP_CMD=""
    fi
    for pid in $SERVER_PID $EXTRA_PIDS; do
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SERVER_PID=""
    EXTRA_PIDS=""
    if [ -n "$RECEIVER_PID" ]; then
        kill "$RECEIVER_PID" 2>/dev/null || true
        wait "$RECEIVER_PID" 2>/dev/null || true
        RECEIVER_PID=""
    fi
    stop_postgres
    stop_rspamd
}

start_postgres() { # a fresh cluster on $PORT_PG; sets PG_URL
    PG_DATA="$WORK/pg"
    pg_cluster_start "$PG_DATA" "$PORT_PG" max_connections=200 shared_buffers=256MB
    PG_URL="postgres://inboxd@127.0.0.1:$PORT_PG/postgres"
}

stop_postgres() {
    if [ -n "$PG_DATA" ]; then
        pg_cluster_stop "$PG_DATA"
        rm -rf "$PG_DATA"
        PG_DATA=""
    fi
}

count_for() { # SIZE CONC -> number of messages (scaled)
    local n
    case "$1:$2" in
        2048:1) n=3000 ;; 2048:10) n=15000 ;; 2048:*) n=30000 ;;
        51200:1) n=1500 ;; 51200:10) n=6000 ;; 51200:*) n=10000 ;;
        *:1) n=40 ;; *:10) n=100 ;; *) n=200 ;;
    esac
    python3 -c "import sys; print(max(int($n * $SCALE), 2 * $2))"
}

# ---------------------------------------------------------------------------------------------
# The servers. Each start_* sets SERVER_PID (the root of its process tree), PORT, RCPT and VERIFY.

start_inboxd() { # PORT [extra TOML appended]
    local dir="$WORK/inboxd-$1" url_line=""
    mkdir -p "$dir"
    [ -n "${DATABASE_URL:-}" ] && url_line="url = \"$DATABASE_URL\""
    cat >"$dir/inboxd.toml" <<EOF
[server]
hostname = "mx.bench.localhost"
listen = ["127.0.0.1:$1"]
domains = ["$DOMAIN"]
shutdown_grace_secs = 5
[limits]
max_message_size = 33554432
max_connections = ${INBOXD_MAX_CONN:-1000}
max_connections_per_ip = ${INBOXD_MAX_CONN:-1000}
# One loopback client sends everything: per-IP rates would measure the limiter, not the server.
connection_rate = 0
message_rate = 0
[auth]
# The peers do no SPF/DKIM/DMARC checks, and there is no DNS here: compare like with like.
enabled = ${INBOXD_AUTH:-false}
[database]
path = "$dir/inboxd.db"
$url_line
[reply_tokens]
secret = "benchmark-secret-key-0123456789"
[webhooks]
# The receiver is on loopback.
allow_private = true
[log]
level = "warn"
EOF
    if [ -z "${SECOND_HOST:-}" ]; then
        RCPT=$("$INBOXD" --config "$dir/inboxd.toml" accounts create bench --json \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])')
    fi
    if [ -n "${SPAM:-}" ]; then
        printf '[spam]\nrspamd_url = "http://127.0.0.1:%s"\n' "$PORT_RSPAMD" >>"$dir/inboxd.toml"
    fi
    if [ -n "${HOOKS:-}" ]; then
        "$INBOXD" --config "$dir/inboxd.toml" webhooks add "http://127.0.0.1:$PORT_RECEIVER/hooks" >"$WORK/secrets.txt" 2>/dev/null
        # The receiver stands for the inbox application on another machine: niced, it takes the
        # CPU the load leaves (on 2 shared cores it would otherwise bill its own work to inboxd).
        nice -n 10 "$RECEIVER" "127.0.0.1:$PORT_RECEIVER" "$WORK/secrets.txt" &
        RECEIVER_PID=$!
        wait_port "$PORT_RECEIVER"
    fi
    "$INBOXD" --config "$dir/inboxd.toml" --log-format json serve 2>"$dir/server.log" &
    if [ -n "${SECOND_HOST:-}" ]; then
        EXTRA_PIDS="$EXTRA_PIDS $!"
        PORT="$PORT,127.0.0.1:$1"
    else
        SERVER_PID=$!
        PORT=$1
    fi
    if [ -n "${DATABASE_URL:-}" ]; then VERIFY=(--verify-pg "$DATABASE_URL"); else VERIFY=(--verify-db "$dir/inboxd.db"); fi
    wait_port "$1"
}

# rspamd as Debian ships it (its full default rule set, through /etc/rspamd/rspamd.conf), with a
# local.d of the run's own: the normal worker on loopback with $RSPAMD_WORKERS processes, the other
# workers on loopback too, and DNS to benches/nxdomain_dns.py (no resolver is reachable here; a
# resolver that never answered would make every scan wait out its timeout).
start_rspamd() {
    local r="$WORK/rspamd"
    mkdir -p "$r/local/local.d" "$r/db" "$r/run" "$r/log"
    python3 "$REPO/benches/nxdomain_dns.py" "$PORT_DNS" &
    DNS_PID=$!
    printf 'bind_socket = "127.0.0.1:%s";\ncount = %s;\n' "$PORT_RSPAMD" "$RSPAMD_WORKERS" >"$r/local/local.d/worker-normal.inc"
    printf 'bind_socket = "127.0.0.1:%s";\n' $((PORT_RSPAMD + 1)) >"$r/local/local.d/worker-controller.inc"
    printf 'bind_socket = "127.0.0.1:%s";\n' $((PORT_RSPAMD + 2)) >"$r/local/local.d/worker-proxy.inc"
    printf 'dns { nameserver = ["127.0.0.1:%s"]; timeout = 1s; }\n' "$PORT_DNS" >"$r/local/local.d/options.inc"
    printf 'type = "file"; filename = "%s/log/rspamd.log"; level = "warning";\n' "$r" >"$r/local/local.d/logging.inc"
    local user=()
    if [ "$(id -u)" = 0 ]; then chown -R _rspamd:_rspamd "$r"; user=(-u _rspamd -g _rspamd); fi
    rspamd -f -c /etc/rspamd/rspamd.conf --var "LOCAL_CONFDIR=$r/local" --var "DBDIR=$r/db" \
        --var "RUNDIR=$r/run" --var "LOGDIR=$r/log" "${user[@]}" >/dev/null 2>&1 &
    RSPAMD_PID=$!
    wait_port "$PORT_RSPAMD"
}

stop_rspamd() {
    [ -n "$RSPAMD_PID" ] && { kill -TERM "$RSPAMD_PID" 2>/dev/null || true; wait "$RSPAMD_PID" 2>/dev/null || true; }
    [ -n "$DNS_PID" ] && { kill "$DNS_PID" 2>/dev/null || true; wait "$DNS_PID" 2>/dev/null || true; }
    RSPAMD_PID="" DNS_PID=""
}

# CPU seconds (user + system) used so far by the given processes and every process they started.
cpu_seconds() {
    python3 - "$@" <<'PY'
import os, sys
tick = os.sysconf("SC_CLK_TCK")
roots = {int(p) for p in sys.argv[1:] if p}
parents = {}
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            parents[int(pid)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
        except OSError:
            pass
def under(pid):
    while pid > 1:
        if pid in roots:
            return True
        pid = parents.get(pid, (0, 0))[0]
    return False
print(sum(t for pid, (_, t) in parents.items() if under(pid)) / tick)
PY
}

start_postfix() {
    local pf="$WORK/postfix"
    mkdir -p "$pf/etc" "$pf/queue" "$pf/data" "$pf/mail"
    chown postfix "$pf/data"
    id vmail >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin vmail
    chown vmail:vmail "$pf/mail"
    cp /usr/share/postfix/master.cf.dist "$pf/etc/master.cf"
    [ -f /etc/postfix/dynamicmaps.cf ] && cp /etc/postfix/dynamicmaps.cf "$pf/etc/"
    cat >"$pf/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.bench.localhost
mydomain = bench.localhost
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_base = $pf/mail
virtual_mailbox_maps = static:bench/
virtual_uid_maps = static:$(id -u vmail)
virtual_gid_maps = static:$(id -g vmail)
virtual_mailbox_limit = 0
message_size_limit = 33554432
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
default_process_limit = 200
maillog_file = $pf/maillog
maillog_file_prefixes = /var, /dev/stdout, /tmp
biff = no
EOF
    # Our smtpd on the loopback port instead of port 25; nothing chrooted (no copies of /etc needed).
    sed -i "s/^smtp      inet  n       -       y       -       -       smtpd/127.0.0.1:$PORT_POSTFIX inet n - n - - smtpd/" \
        "$pf/etc/master.cf"
    grep -q "^127.0.0.1:$PORT_POSTFIX" "$pf/etc/master.cf" || { log "master.cf: smtp line not found"; return 1; }
    postconf -c "$pf/etc" -F '*/*/chroot = n'
    postfix -c "$pf/etc" check
    postfix -c "$pf/etc" start >/dev/null
    for _ in $(seq 50); do [ -s "$pf/queue/pid/master.pid" ] && break; sleep 0.1; done
    SERVER_PID=$(tr -d ' \n' <"$pf/queue/pid/master.pid")
    STOP_CMD="postfix -c '$pf/etc' stop"
    PORT=$PORT_POSTFIX
    RCPT=$PEER_RCPT
    VERIFY=(--verify-maildir "$pf/mail")
    wait_port "$PORT"
}

start_haraka() {
    local hk="$WORK/haraka" bin="$BENCH_CACHE/haraka-pkg/node_modules/.bin/haraka"
    rm -rf "$hk"
    "$bin" -i "$hk" >/dev/null
    mkdir -p "$hk/spool" "$hk/plugins/queue"
    cat >"$hk/config/smtp.ini" <<EOF
listen=127.0.0.1:$PORT_HARAKA
nodes=cpus
EOF
    printf 'level=warn\n' >"$hk/config/log.ini"
    printf 'rcpt_to.in_host_list\nqueue/bench_fsync\n' >"$hk/config/plugins"
    printf '%s\n' "$DOMAIN" >"$hk/config/host_list"
    # The queue plugin: the message to a new file in spool/, fsync, then OK (the 250).
    cat >"$hk/plugins/queue/bench_fsync.js" <<'EOF'
const fs = require('node:fs')
const path = require('node:path')

exports.register = function () {
    this.spool = process.env.BENCH_SPOOL
}

exports.hook_queue = function (next, connection) {
    const txn = connection.transaction
    const file = path.join(this.spool, `${txn.uuid}.eml`)
    fs.open(file, 'wx', (err, fd) => {
        if (err) return next(DENYSOFT, 'cannot create the spool file')
        const ws = fs.createWriteStream(null, { fd, autoClose: false })
        ws.once('error', () => fs.close(fd, () => next(DENYSOFT, 'write failed')))
        ws.once('finish', () => {
            fs.fsync(fd, (err2) => {
                fs.close(fd, () => (err2 ? next(DENYSOFT, 'fsync failed') : next(OK, 'queued')))
            })
        })
        txn.message_stream.pipe(ws)
    })
}
EOF
    BENCH_SPOOL="$hk/spool" "$bin" -c "$hk" >"$hk/haraka.log" 2>&1 &
    SERVER_PID=$!
    PORT=$PORT_HARAKA
    RCPT=$PEER_RCPT
    VERIFY=(--verify-maildir "$hk/spool")
    wait_port "$PORT"
}

start_aiosmtpd() {
    local dir="$WORK/aiosmtpd"
    mkdir -p "$dir/mail/tmp" "$dir/mail/new"
    cat >"$dir/server.py" <<'EOF'
"""aiosmtpd with a handler that writes each message to a maildir and fsyncs it before the 250."""
import asyncio, os, sys, uuid
from aiosmtpd.smtp import SMTP

DOMAIN, MAILDIR, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])

def store(data: bytes) -> None:
    name = uuid.uuid4().hex
    tmp = os.path.join(MAILDIR, "tmp", name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, os.path.join(MAILDIR, "new", name))

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not address.lower().endswith("@" + DOMAIN):
            return "550 5.7.1 Relaying denied"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        try:
            await asyncio.get_running_loop().run_in_executor(None, store, envelope.original_content)
        except OSError:
            return "451 4.3.0 Cannot store the message"
        return "250 2.0.0 Queued"

async def main():
    loop = asyncio.get_running_loop()
    handler = Handler()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="mx.bench.localhost", data_size_limit=33554432),
        "127.0.0.1", PORT)
    async with server:
        await server.serve_forever()

asyncio.run(main())
EOF
    "$BENCH_CACHE/aiosmtpd-venv/bin/python" "$dir/server.py" "$DOMAIN" "$dir/mail" "$PORT_AIOSMTPD" \
        >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    PORT=$PORT_AIOSMTPD
    RCPT=$PEER_RCPT
    VERIFY=(--verify-maildir "$dir/mail")
    wait_port "$PORT"
}

# ---------------------------------------------------------------------------------------------
# Runs

# Each server gets the client mode it does best with (see BENCHMARKS.md): NO_PIPELINING lists the
# servers that are sent MAIL, RCPT and DATA one at a time even though they advertise PIPELINING.
NO_PIPELINING=${NO_PIPELINING-haraka}

run_load() { # SERVER SIZE CONC [extra smtp_load args]: one row; appends its JSON line to $OUT
    local server=$1 size=$2 conc=$3
    shift 3
    local n t0 line mem pipe=()
    [[ " $NO_PIPELINING " == *" $server "* ]] || pipe=(--pipelining)
    n=$(count_for "$size" "$conc")
    local cpu0 spam0
    cpu0=$(cpu_seconds "$SERVER_PID")
    spam0=$(cpu_seconds "$RSPAMD_PID")
    t0=$(date +%s.%N)
    "$LOADGEN" --addr "127.0.0.1:$PORT" --rcpt "$RCPT" --messages "$n" --concurrency "$conc" \
        --size "$size" "${pipe[@]}" "${VERIFY[@]}" --label "$server" --json "$@" >"$WORK/load.out" 2>&1 &
    LOAD_PID=$!
    wait "$LOAD_PID" || true
    LOAD_PID=""
    grep -v '^{' "$WORK/load.out" >&2 || true
    line=$(grep '^{' "$WORK/load.out" | tail -n 1 || true)
    local cpu spam
    cpu=$(python3 -c "print(round($(cpu_seconds "$SERVER_PID") - $cpu0, 2))")
    spam=$(python3 -c "print(round($(cpu_seconds "$RSPAMD_PID") - $spam0, 2))")
    sleep 0.3
    mem=$(max_mem_between "$WORK/rss-$server.log" "$t0" "$(date +%s.%N)")
    [ -n "$line" ] || line='{"error": "load generator failed"}'
    echo "{\"server\": \"$server\", \"size\": $size, \"concurrency\": $conc, \"rss_kib\": ${mem% *}, \"pss_kib\": ${mem#* }, \"cpu_s\": $cpu, \"rspamd_cpu_s\": $spam, \"result\": $line}" >>"$OUT"
}

bench_server() { # NAME
    local name=$1
    log "== $name"
    case $name in
        inboxd) start_inboxd "$PORT_INBOXD" ;;
        inboxd-pg) start_postgres; DATABASE_URL=$PG_URL start_inboxd "$PORT_INBOXD" ;;
        inboxd-pg2)
            start_postgres
            DATABASE_URL=$PG_URL start_inboxd "$PORT_INBOXD"
            DATABASE_URL=$PG_URL SECOND_HOST=1 start_inboxd "$PORT_INBOXD2"
            ;;
        inboxd-hooks) HOOKS=1 start_inboxd "$PORT_INBOXD" ;;
        inboxd-rspamd) start_rspamd; SPAM=1 start_inboxd "$PORT_INBOXD" ;;
        postfix) start_postfix ;;
        haraka) start_haraka ;;
        aiosmtpd) start_aiosmtpd ;;
        *) log "unknown server $name"; return 1 ;;
    esac
    start_sampler "$SERVER_PID" "$WORK/rss-$name.log"
    for size in $SIZES; do
        for conc in $CONCS; do
            run_load "$name" "$size" "$conc"
        done
    done
    if [ "$name" = inboxd ] && [ -z "${SKIP_HALF:-}" ]; then
        half_load
    fi
    if [ "$name" = inboxd-hooks ]; then
        webhook_rate
    fi
    local hwm
    hwm=$(hwm_kib "$SERVER_PID")
    local mem
    mem=$(max_mem_between "$WORK/rss-$name.log" 0 9e18)
    echo "{\"server\": \"$name\", \"peak_rss_kib\": ${mem% *}, \"peak_pss_kib\": ${mem#* }, \"root_vmhwm_kib\": ${hwm:-0}}" >>"$OUT"
    stop_sampler
    stop_server
    rm -rf "$WORK/inboxd-$PORT_INBOXD" "$WORK/inboxd-$PORT_INBOXD2" "$WORK/postfix" "$WORK/haraka" "$WORK/aiosmtpd"
}

received() { # the webhook receiver's count of verified requests
    python3 -c "import json,urllib.request; print(json.load(urllib.request.urlopen('http://127.0.0.1:$PORT_RECEIVER/count'))['verified'])"
}

# The webhook rate: once every event of the SMTP rows has been delivered, the whole event log is
# replayed to the endpoint (fanned out, signed, posted to the local receiver) and timed.
webhook_rate() {
    local db="$WORK/inboxd-$PORT_INBOXD/inboxd.db" config="$WORK/inboxd-$PORT_INBOXD/inboxd.toml" events t0 t1 base drained got
    events=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM events').fetchone()[0])" "$db")
    for _ in $(seq 600); do [ "$(received)" -ge "$events" ] && break; sleep 0.1; done
    drained=$(received)
    log "webhooks: $drained of $events events delivered after the SMTP rows"
    base=$drained
    t0=$(date +%s.%N)
    "$INBOXD" --config "$config" webhooks replay --endpoint 1 --since 0 2>/dev/null
    for _ in $(seq 3000); do [ "$(received)" -ge $((base + events)) ] && break; sleep 0.05; done
    t1=$(date +%s.%N)
    got=$(( $(received) - base ))
    echo "{\"server\": \"inboxd-hooks\", \"webhooks\": \"replay\", \"events\": $events, \"delivered_during_load\": $drained, \"replayed\": $got, \"seconds\": $(python3 -c "print($t1 - $t0)")}" >>"$OUT"
}

# p99 at half of the peak: the 2 KiB, 50-session row of this run sets the peak.
half_load() {
    local peak rate n
    peak=$(python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if r.get("server") == "inboxd" and r.get("size") == 2048 and r.get("concurrency") == 50 and "msgs_per_s" in r.get("result", {})]
print(int(rows[-1]["result"]["msgs_per_s"]) if rows else 0)' "$OUT")
    [ "$peak" -gt 0 ] || return 0
    rate=$((peak / 2))
    n=$(python3 -c "print(max(int($rate * 20 * $SCALE), 100))") # about 20 seconds of offered load
    log "inboxd at half of its peak: $rate msgs/s offered, $n messages"
    "$LOADGEN" --addr "127.0.0.1:$PORT" --rcpt "$RCPT" --messages "$n" --concurrency 50 --size 2048 \
        --pipelining --rate "$rate" "${VERIFY[@]}" --label inboxd-half --json >"$WORK/half.out" 2>&1 &
    LOAD_PID=$!
    wait "$LOAD_PID" || true
    LOAD_PID=""
    grep -v '^{' "$WORK/half.out" >&2 || true
    local line
    line=$(grep '^{' "$WORK/half.out" | tail -n 1 || true)
    [ -n "$line" ] || line='{"error": "load generator failed"}'
    echo "{\"server\": \"inboxd-half\", \"size\": 2048, \"concurrency\": 50, \"rss_kib\": 0, \"result\": $line}" >>"$OUT"
}

memory_tests() {
    log "== inboxd memory: 10,000 idle sessions"
    ulimit -n "$(ulimit -Hn)"
    # 10,000 of 20,000 slots: below the stress threshold (80%), so idle sessions keep the full timeout.
    INBOXD_MAX_CONN=20000 start_inboxd "$PORT_MEM"
    sleep 1
    local base hold_log with idle_pid
    base=$(rss_kib "$SERVER_PID")
    hold_log="$WORK/idle.log"
    "$LOADGEN" --addr "127.0.0.1:$PORT_MEM" --idle-sessions 10000 --concurrency 100 --hold 15 --json >"$hold_log" 2>&1 &
    idle_pid=$!
    LOAD_PID=$idle_pid
    for _ in $(seq 1200); do grep -q '^ready' "$hold_log" && break; sleep 0.1; done
    sleep 3
    with=$(rss_kib "$SERVER_PID")
    wait "$idle_pid" || true
    cat "$hold_log" >&2
    local opened
    opened=$(sed -n 's/^ready: \([0-9]*\) idle.*/\1/p' "$hold_log")
    echo "{\"memory\": \"idle\", \"sessions\": ${opened:-0}, \"baseline_rss_kib\": $base, \"rss_kib\": $with, \"vmhwm_kib\": $(hwm_kib "$SERVER_PID")}" >>"$OUT"
    stop_server
    rm -rf "$WORK/inboxd-$PORT_MEM"

    log "== inboxd memory: one 25 MiB message sent slowly"
    start_inboxd "$PORT_MEM"
    # Warm up with one small message so the baseline includes the runtime's and SQLite's steady state.
    "$LOADGEN" --addr "127.0.0.1:$PORT" --rcpt "$RCPT" --messages 1 --concurrency 1 --size 2048 "${VERIFY[@]}" >/dev/null
    sleep 1
    base=$(rss_kib "$SERVER_PID")
    local peak_sampled=0 cur load_pid
    "$LOADGEN" --addr "127.0.0.1:$PORT" --rcpt "$RCPT" --messages 1 --concurrency 1 --size 26214400 \
        --throttle 5242880 "${VERIFY[@]}" --json >"$WORK/big.log" 2>&1 &
    load_pid=$!
    LOAD_PID=$load_pid
    while kill -0 "$load_pid" 2>/dev/null; do
        cur=$(rss_kib "$SERVER_PID")
        [ "${cur:-0}" -gt "$peak_sampled" ] && peak_sampled=$cur
        sleep 0.05
    done
    wait "$load_pid" || true
    cat "$WORK/big.log" >&2
    local hwm
    hwm=$(hwm_kib "$SERVER_PID")
    echo "{\"memory\": \"25MiB\", \"baseline_rss_kib\": $base, \"peak_sampled_kib\": $peak_sampled, \"vmhwm_kib\": $hwm, \"message_bytes\": 26214400, \"result\": $(tail -n 1 "$WORK/big.log")}" >>"$OUT"
    stop_server
    rm -rf "$WORK/inboxd-$PORT_MEM"
}

print_table() {
    python3 - "$OUT" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
loads = [r for r in rows if "result" in r and "size" in r and r["server"] != "inboxd-half"]
base = {(r["size"], r["concurrency"]): r["result"].get("msgs_per_s") for r in loads if r["server"] == "inboxd"}
def size(b): return f"{b // 1048576} MiB" if b >= 1048576 else f"{b // 1024} KiB"
print()
print("| server | size | sessions | msgs/s | p50 ms | p99 ms | inboxd ÷ this | non-250 | verified | peak RSS MiB | peak PSS MiB | CPU s (rspamd) |")
print("|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|")
for r in loads:
    res = r["result"]
    if "msgs_per_s" not in res:
        print(f"| {r['server']} | {size(r['size'])} | {r['concurrency']} | failed | | | | | | | |")
        continue
    b = base.get((r["size"], r["concurrency"]))
    ratio = f"{b / res['msgs_per_s']:.2f}" if b and res['msgs_per_s'] else "-"
    non = ",".join(f"{k}x{v}" for k, v in res["non_250"].items()) or "-"
    ver = f"{res['verified']}/{res['acked']}" if res.get("verified") is not None else res.get("verify", "-")
    print(f"| {r['server']} | {size(r['size'])} | {r['concurrency']} | {res['msgs_per_s']:.0f} | {res['latency_ms']['p50']:.2f} "
          f"| {res['latency_ms']['p99']:.2f} | {ratio} | {non} | {ver} | {r['rss_kib'] / 1024:.0f} | {r.get('pss_kib', 0) / 1024:.0f} "
          f"| {r.get('cpu_s', 0):.1f}" + (f" ({r['rspamd_cpu_s']:.1f}, {100 * r['rspamd_cpu_s'] / max(r['rspamd_cpu_s'] + r.get('cpu_s', 0), 1e-9):.0f} %)" if r.get('rspamd_cpu_s') else "") + " |")
print()
for r in rows:
    if "peak_rss_kib" in r:
        print(f"peak memory {r['server']}: RSS {r['peak_rss_kib'] / 1024:.0f} MiB, PSS {r['peak_pss_kib'] / 1024:.0f} MiB "
              f"(summed over its process tree, sampled every 0.2 s); main process VmHWM {r['root_vmhwm_kib'] / 1024:.0f} MiB")
for r in rows:
    if r.get("webhooks") == "replay":
        print(f"webhooks: {r['delivered_during_load']}/{r['events']} events delivered by the end of the SMTP rows; "
              f"replay of {r['replayed']} deliveries in {r['seconds']:.2f} s = {r['replayed'] / r['seconds']:.0f} deliveries/s (signed, to a local receiver that verifies each)")
    if r.get("server") == "inboxd-half":
        res = r["result"]
        print(f"inboxd at half of peak (offered {res.get('offered_rate')}/s, 2 KiB, 50 sessions): "
              f"{res.get('msgs_per_s', 0):.0f} msgs/s, p50 {res['latency_ms']['p50']:.2f} ms, p99 {res['latency_ms']['p99']:.2f} ms, max {res['latency_ms']['max']:.2f} ms")
    if r.get("memory") == "idle":
        d = r["rss_kib"] - r["baseline_rss_kib"]
        print(f"inboxd with {r['sessions']} idle sessions: RSS {r['rss_kib'] / 1024:.1f} MiB (baseline {r['baseline_rss_kib'] / 1024:.1f} MiB, "
              f"{d / max(r['sessions'], 1):.1f} KiB per session)")
    if r.get("memory") == "25MiB":
        peak = max(r["vmhwm_kib"], r["peak_sampled_kib"])
        d = (peak - r["baseline_rss_kib"]) * 1024
        print(f"inboxd with one 25 MiB message: peak RSS {peak / 1024:.1f} MiB (VmHWM), baseline {r['baseline_rss_kib'] / 1024:.1f} MiB, "
              f"cost {d / 1048576:.1f} MiB = {d / r['message_bytes']:.2f}x the message")
EOF
}

# ---------------------------------------------------------------------------------------------

for p in $PORT_INBOXD $PORT_POSTFIX $PORT_HARAKA $PORT_AIOSMTPD $PORT_MEM $PORT_PG $PORT_INBOXD2 $PORT_RECEIVER $PORT_RSPAMD $((PORT_RSPAMD + 1)) $((PORT_RSPAMD + 2)); do
    port_free "$p" || { log "port $p is in use"; exit 1; }
done
install_all
build
: >"$OUT"
log "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/ { print $2 }') GiB, kernel $(uname -r)"
for server in $SERVERS; do
    bench_server "$server"
done
if [ -z "${SKIP_MEMORY:-}" ] && [[ " $SERVERS " == *" inboxd "* ]]; then
    memory_tests
fi
print_table
