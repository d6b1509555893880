#!/usr/bin/env bash
# Memory under a webhook backlog: 100,000 events (1,000 contacts × 100) fanned out to an endpoint that
# refuses every connection, so every delivery stays pending. Prints inboxd's RSS before, its peak while
# the deliveries are written and retried, and the pending count. See BENCHMARKS.md.
#
#   benches/webhook_backlog.sh            # EVENTS=100000 CONTACTS=1000 by default
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EVENTS=${EVENTS:-100000}
CONTACTS=${CONTACTS:-1000}
WORK=$(mktemp -d /tmp/inboxd-backlog.XXXXXX)
trap 'kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT
(cd "$REPO" && cargo build --release --quiet --bin inboxd)
INBOXD="$REPO/target/release/inboxd"
cat >"$WORK/inboxd.toml" <<TOML
[server]
hostname = "mx.backlog.localhost"
listen = ["127.0.0.1:2620"]
domains = ["inbox.localhost"]
[database]
path = "$WORK/inboxd.db"
[reply_tokens]
secret = "benchmark-secret-key-0123456789"
[webhooks]
allow_private = true
[log]
level = "warn"
TOML
"$INBOXD" --config "$WORK/inboxd.toml" accounts create backlog >/dev/null
python3 - "$WORK/inboxd.db" "$EVENTS" "$CONTACTS" <<'PY'
import json, sqlite3, sys
db, events, contacts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = sqlite3.connect(db)
rows = ((("contact.created", 1, "2026-12-01T00:00:00Z",
          json.dumps({"contact_id": i % contacts + 1, "email": f"c{i % contacts}@example.com", "opt_in": False,
                      "automation": False, "padding": "x" * 200}))) for i in range(events))
c.executemany("INSERT INTO events (type, account_id, created_at, data) VALUES (?, ?, ?, ?)", rows)
c.commit()
PY
# Port 9 (discard) has no listener here: every attempt is refused at once and scheduled again.
"$INBOXD" --config "$WORK/inboxd.toml" webhooks add "http://127.0.0.1:9/hooks" >/dev/null 2>&1
"$INBOXD" --config "$WORK/inboxd.toml" webhooks replay --endpoint 1 --since 0 2>/dev/null
"$INBOXD" --config "$WORK/inboxd.toml" serve 2>"$WORK/serve.log" &
PID=$!
sleep 1
before=$(awk '/^VmRSS:/ { print $2 }' /proc/$PID/status)
peak=0
pending() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'\").fetchone()[0])" "$WORK/inboxd.db"; }
t0=$(date +%s.%N)
for _ in $(seq 600); do
    rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$PID/status)
    [ "$rss" -gt "$peak" ] && peak=$rss
    n=$(pending)
    [ "$n" -ge "$EVENTS" ] && break
    sleep 0.1
done
t1=$(date +%s.%N)
for _ in $(seq 50); do
    rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$PID/status)
    [ "$rss" -gt "$peak" ] && peak=$rss
    sleep 0.1
done
echo "{\"events\": $EVENTS, \"contacts\": $CONTACTS, \"pending\": $(pending), \"fan_out_seconds\": $(python3 -c "print(round($t1 - $t0, 2))"), \"rss_before_kib\": $before, \"rss_peak_kib\": $peak, \"vmhwm_kib\": $(awk '/^VmHWM:/ { print $2 }' /proc/$PID/status)}"
