#!/usr/bin/env bash
# inboxd against the protocol's ceiling on this machine: Postfix's own load generator
# (`smtp-source`) sends the same messages to Postfix's `smtp-sink` (no storage at all) and to
# inboxd on the embedded default (SQLite, every 250 durable), alternately, in one run.
#
#   benches/ceiling.sh                      # 3 rounds of 30,000 × 2 KiB over 50 sessions
#   ROUNDS=5 MESSAGES=10000 benches/ceiling.sh
#   INBOXD=/path/to/inboxd benches/ceiling.sh   # another build (bisecting); nothing is built then
#   EXTRA_CONFIG=$'[search]\nindex = false' benches/ceiling.sh   # more configuration, appended
#   ENGINE=postgres benches/ceiling.sh      # inboxd on PostgreSQL (a cluster of the run's own)
#   WARMUP=30000 ENGINE=postgres benches/ceiling.sh   # each round first sends 30,000 unmeasured
#                                           # messages: what a message costs on a database that
#                                           # has some (PostgreSQL's GIN pending list, for one, is a
#                                           # fixed 4 MB that a short round would count per message)
#
# Per inboxd round it reports: seconds, messages/s, its share of smtp-sink's rate in the same
# round, CPU µs per message (user + system from /proc/PID/stat, the whole process), bytes written
# to disk per message (/proc/PID/io write_bytes: WAL, checkpoints and the database), and database
# bytes per message once the server has stopped (main file + WAL after its last checkpoint).
# Every message is checked in the store. The last line is a JSON summary (medians). On stderr, per
# round, the CPU a message of the sessions' threads, the SQLite writer's and the checkpoints', and
# the bytes the writer (the WAL) and the checkpoints (the database file) handed to write calls.
#
# On PostgreSQL (`ENGINE=postgres`: a cluster of the run's own on port 2692, fsync and synchronous
# commit on, a fresh database per round) the bytes written are the WAL the round made
# (`pg_current_wal_lsn()` before and after, checkpoints' full-page images included), and the
# bytes stored are the tables', their TOAST's and their indexes' growth over the round, each per
# message (measured after the warm-up, when there is one; the per-table lines are over all the
# rows); CPU is inboxd's alone (PostgreSQL's backends are not counted). With a warm-up, SQLite's
# database bytes are the whole file over every message it holds.
# Needs Postfix's smtp-source and smtp-sink (Debian package postfix; scripts/test.sh installs it).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-3}
MESSAGES=${MESSAGES:-30000}
SESSIONS=${SESSIONS:-50}
SIZE=${SIZE:-2048}
WARMUP=${WARMUP:-0}
PORT_SINK=${PORT_SINK:-2690}
PORT_INBOXD=${PORT_INBOXD:-2691}
PORT_PG=${PORT_PG:-2692}
ENGINE=${ENGINE:-sqlite}
DOMAIN=inbox.localhost

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ -z "${INBOXD:-}" ]; then
    log "building inboxd (release)"
    (cd "$REPO" && cargo build --release --quiet --bin inboxd)
    INBOXD="$REPO/target/release/inboxd"
fi
for tool in smtp-source smtp-sink; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
        log "$tool is missing: bash scripts/test.sh --setup-only installs it (Debian package postfix)"
        exit 1
    }
done
PATH="$PATH:/usr/sbin"

WORK=$(mktemp -d /tmp/inboxd-ceiling.XXXXXX)
chmod 755 "$WORK"
PIDS=""
# shellcheck source=benches/pg_cluster.sh
source "$REPO/benches/pg_cluster.sh"
cleanup() {
    set +e
    for pid in $PIDS; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    pg_cluster_stop "$WORK/pg"
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    log "nothing listens on port $1"
    return 1
}

if [ "$ENGINE" = postgres ]; then
    pg_cluster_start "$WORK/pg" "$PORT_PG" shared_buffers=512MB max_wal_size=4GB
fi
sql() { psql -h 127.0.0.1 -p "$PORT_PG" -U inboxd -d "$1" -XAtqc "$2"; }
# tables, their TOAST and their indexes in the round's database, in bytes
pg_stored() {
    sql "$1" "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'm') AND n.nspname = 'public'"
}

now() { date +%s.%N; }
# user + system clock ticks in a /proc stat file (a process's or a thread's)
ticks_in() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "$1"; }
# user + system CPU of one process, in seconds
cpu_of() { echo "$(ticks_in "/proc/$1/stat") $(getconf CLK_TCK)" | awk '{ print $1 / $2 }'; }
written_by() { awk '/^write_bytes:/ { print $2 }' "/proc/$1/io"; }
# per thread name of one process: "name ticks wchar" (user + system clock ticks, bytes handed to
# write calls), the threads of one name summed: where the CPU and the writes go, thread by thread
threads_of() {
    local task
    for task in /proc/"$1"/task/*; do
        printf '%s %s %s\n' "$(tr ' ' _ <"$task/comm")" \
            "$(ticks_in "$task/stat")" \
            "$(awk '/^wchar:/ { print $2 }' "$task/io")"
    done 2>/dev/null | awk '{ t[$1] += $2; w[$1] += $3 } END { for (n in t) print n, t[n], w[n] }'
}

send() { # PORT RCPT [COUNT] → seconds smtp-source took
    local t0 t1
    t0=$(now)
    smtp-source -s "$SESSIONS" -m "${3:-$MESSAGES}" -l "$SIZE" -d -f a@b.test -t "$2" "127.0.0.1:$1"
    t1=$(now)
    python3 -c "print(round($t1 - $t0, 3))"
}

sink_round() {
    # -u: smtp-sink drops to this user when started as root; 1000: the listen backlog.
    local user=()
    [ "$(id -u)" = 0 ] && user=(-u nobody)
    smtp-sink "${user[@]}" -c "127.0.0.1:$PORT_SINK" 1000 >/dev/null &
    local pid=$!
    PIDS="$PIDS $pid"
    wait_port "$PORT_SINK"
    send "$PORT_SINK" "bench@$DOMAIN"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

inboxd_round() { # → "seconds cpu_us_per_msg written_per_msg db_per_msg stored"
    local dir="$WORK/inboxd-$1" url="" db_name="round$1"
    mkdir -p "$dir"
    if [ "$ENGINE" = postgres ]; then
        sql postgres "CREATE DATABASE $db_name" >/dev/null
        url="url = \"postgres://inboxd@127.0.0.1:$PORT_PG/$db_name\""
    fi
    cat >"$dir/inboxd.toml" <<EOF
[server]
hostname = "mx.bench.localhost"
listen = ["127.0.0.1:$PORT_INBOXD"]
domains = ["$DOMAIN"]
[limits]
max_connections = 1000
max_connections_per_ip = 1000
# One loopback client sends everything: per-IP rates would measure the limiter, not the server.
connection_rate = 0
message_rate = 0
[auth]
# No DNS here, and smtp-sink checks nothing either.
enabled = false
[database]
path = "$dir/inboxd.db"
$url
[reply_tokens]
secret = "benchmark-secret-key-0123456789"
[log]
level = "warn"
${EXTRA_CONFIG:-}
EOF
    local rcpt
    rcpt=$("$INBOXD" --config "$dir/inboxd.toml" accounts create bench --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])')
    "$INBOXD" --config "$dir/inboxd.toml" serve 2>"$dir/server.log" &
    local pid=$!
    PIDS="$PIDS $pid"
    wait_port "$PORT_INBOXD"
    if [ "$WARMUP" -gt 0 ]; then
        send "$PORT_INBOXD" "$rcpt" "$WARMUP" >/dev/null
    fi
    local cpu0 w0 secs cpu1 w1 lsn0 size0 threads0 threads1
    cpu0=$(cpu_of "$pid")
    w0=$(written_by "$pid")
    threads0=$(threads_of "$pid")
    if [ "$ENGINE" = postgres ]; then
        lsn0=$(sql "$db_name" "SELECT pg_current_wal_lsn()")
        size0=$(pg_stored "$db_name")
    fi
    secs=$(send "$PORT_INBOXD" "$rcpt")
    cpu1=$(cpu_of "$pid")
    w1=$(written_by "$pid")
    threads1=$(threads_of "$pid")
    # the sessions (tokio's workers), the SQLite writer (its writes are the WAL) and the checkpoints
    # (theirs, the database file), each per message (stderr)
    python3 - "$1" "$MESSAGES" "$(getconf CLK_TCK)" "$threads0" "$threads1" >&2 <<'PY'
import sys
r, n, tick = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = lambda s: {l.split()[0]: tuple(map(int, l.split()[1:])) for l in s.splitlines() if len(l.split()) == 3}
a, b = rows(sys.argv[4]), rows(sys.argv[5])
cells = []
for name, label in (("inboxd-worker", "sessions"), ("inboxd-writer", "writer"), ("inboxd-checkpoi", "checkpoints")):
    if name in b:
        t0, w0 = a.get(name, (0, 0))
        cpu = (b[name][0] - t0) * 1e6 / tick / n
        written = f", {(b[name][1] - w0) / n:,.0f} B written" if label != "sessions" else ""
        cells.append(f"{label} {cpu:.0f} µs{written}")
print(f"round {r} threads, a message: " + "; ".join(cells))
PY
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    local stored db
    if [ "$ENGINE" = postgres ]; then
        w0=0
        w1=$(sql "$db_name" "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0')" | cut -d. -f1)
        stored=$(sql "$db_name" "SELECT count(*) FROM messages")
        db=$(($(pg_stored "$db_name") - size0))
        # where the bytes are: each table's heap, TOAST and indexes per message (stderr)
        sql "$db_name" "SELECT c.relname, round(pg_relation_size(c.oid) / $((MESSAGES + WARMUP)).0),
                round(coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) / $((MESSAGES + WARMUP)).0),
                round(pg_indexes_size(c.oid) / $((MESSAGES + WARMUP)).0)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r' AND n.nspname = 'public' AND pg_total_relation_size(c.oid) > 65536
            ORDER BY pg_total_relation_size(c.oid) DESC" |
            awk -F'|' -v r="$1" '{ printf "round %s %-24s heap %6s  toast %6s  indexes %6s  B/message\n", r, $1, $2, $3, $4 }' >&2
        sql postgres "DROP DATABASE $db_name" >/dev/null
    else
        stored=$(python3 -c "import sqlite3; print(sqlite3.connect('$dir/inboxd.db').execute('select count(*) from messages').fetchone()[0])")
        # the whole file: with a warm-up, over every message it holds
        db=$(($(cat "$dir"/inboxd.db* | wc -c) * MESSAGES / (MESSAGES + WARMUP)))
    fi
    python3 -c "print($secs, round(($cpu1 - $cpu0) * 1e6 / $MESSAGES), round(($w1 - $w0) / $MESSAGES), round($db / $MESSAGES), $stored)"
    rm -rf "$dir"
}

log "smtp-source -s $SESSIONS -m $MESSAGES -l $SIZE: smtp-sink and inboxd ($ENGINE) alternately, $ROUNDS rounds"
printf '%-6s %9s %9s %12s %8s %10s %14s %12s\n' round sink_s inboxd_s inboxd_msg/s share cpu_us/msg written_B/msg db_B/msg
results=()
for round in $(seq "$ROUNDS"); do
    sink=$(sink_round)
    read -r secs cpu written db stored < <(inboxd_round "$round")
    if [ "$stored" -ne $((MESSAGES + WARMUP)) ]; then
        log "round $round: $stored of $((MESSAGES + WARMUP)) messages in the store"
        exit 1
    fi
    share=$(python3 -c "print(round($sink / $secs, 3))")
    rate=$(python3 -c "print(round($MESSAGES / $secs))")
    printf '%-6s %9s %9s %12s %8s %10s %14s %12s\n' "$round" "$sink" "$secs" "$rate" "$share" "$cpu" "$written" "$db"
    results+=("$sink $secs $cpu $written $db")
done
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
med = lambda i: statistics.median(r[i] for r in rows)
print(json.dumps({"engine": "'"$ENGINE"'", "messages": '"$MESSAGES"', "size": '"$SIZE"', "sessions": '"$SESSIONS"',
    "sink_s": med(0), "inboxd_s": med(1), "share": round(statistics.median(r[0] / r[1] for r in rows), 3),
    "cpu_us_per_msg": med(2), "written_bytes_per_msg": med(3), "db_bytes_per_msg": med(4)}))'
