# Shared by the benches that run inboxd on SQLite and PostgreSQL (scale.sh, lifecycle.sh): a work
# folder, a PostgreSQL cluster of the run's own on port 2703, an inboxd on loopback (SMTP 2701,
# HTTP 2702) and the release builds. Sourced, not run.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=${SIZES:-"10000 100000"}
ENGINES=${ENGINES:-"sqlite postgres"}
PORT_SMTP=2701 PORT_HTTP=2702 PORT_PG=2703
WORK=$(mktemp -d /tmp/inboxd-scale.XXXXXX)
chmod 755 "$WORK"
SERVER_PID="" PG_DATA=""
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=benches/pg_cluster.sh
source "$REPO/benches/pg_cluster.sh"

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
stop_pg() {
    if [ -n "$PG_DATA" ]; then
        pg_cluster_stop "$PG_DATA"
        PG_DATA=""
    fi
}
cleanup() {
    set +e
    stop_server
    stop_pg
    if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# INBOXD=/path/to/inboxd measures another build (comparing two in one sitting); this tree's
# release build otherwise. The scale bench (the load and the readers) is always this tree's.
if [ -z "${INBOXD:-}" ]; then
    log "building inboxd (release)"
    (cd "$REPO" && cargo build --release --quiet --bin inboxd)
    INBOXD="$REPO/target/release/inboxd"
fi
log "building the scale bench (release)"
BENCH=$(cd "$REPO" && cargo bench --bench scale --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "scale" and m.get("executable"):
        print(m["executable"])')

wait_port() {
    for _ in $(seq 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    log "nothing listens on port $1"
    return 1
}

start_pg() {
    PG_DATA="$WORK/pg"
    rm -rf "$PG_DATA"
    pg_cluster_start "$PG_DATA" "$PORT_PG" shared_buffers=512MB max_wal_size=4GB
}

# new_config ENGINE: an empty $WORK/inboxd with the inboxd.toml every build reads (older ones
# refuse sections they do not know), on a PostgreSQL cluster started anew for ENGINE=postgres
new_config() {
    local dir="$WORK/inboxd" url=""
    rm -rf "$dir"
    mkdir -p "$dir"
    if [ "$1" = postgres ]; then
        stop_pg
        start_pg
        url="url = \"postgres://inboxd@127.0.0.1:$PORT_PG/postgres\""
    fi
    cat >"$dir/inboxd.toml" <<TOML
[server]
hostname = "mx.scale.localhost"
listen = ["127.0.0.1:$PORT_SMTP"]
domains = ["inbox.localhost"]
[limits]
max_connections_per_ip = 1000
connection_rate = 0
message_rate = 0
[auth]
enabled = false
[database]
path = "$dir/inboxd.db"
$url
[reply_tokens]
secret = "scale-benchmark-secret-0123456789"
[log]
level = "${LOG_LEVEL:-warn}"
TOML
}

# start_server ENGINE INDEX → SERVER_PID, RCPT, KEY
start_server() {
    local dir="$WORK/inboxd"
    new_config "$1"
    cat >>"$dir/inboxd.toml" <<TOML
[http]
listen = "127.0.0.1:$PORT_HTTP"
[search]
index = $2
TOML
    RCPT=$("$INBOXD" --config "$dir/inboxd.toml" accounts create scale --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])')
    KEY=$("$INBOXD" --config "$dir/inboxd.toml" api-keys create scale --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
    "$INBOXD" --config "$dir/inboxd.toml" serve 2>"$dir/server.log" &
    SERVER_PID=$!
    wait_port "$PORT_SMTP"
    wait_port "$PORT_HTTP"
}

