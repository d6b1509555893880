#!/usr/bin/env bash
# The data's life under load: what a sender waits for its 250 while a contact of 10,000 messages is
# erased, and while retention purges 100,000 messages, against the same probe with nothing else
# running, on SQLite and PostgreSQL. Prints one table; BENCHMARKS.md keeps the results.
#
#   benches/lifecycle.sh                 # 100,000 messages on both engines
#   MESSAGES=1000000 ENGINES=sqlite benches/lifecycle.sh
#   KEEP=1 LOG_LEVEL="warn,inboxd::store=info" benches/lifecycle.sh   # keep the server's log, with
#       the scrub's and the checkpointer's timings, to set beside the probe's `slow_at` (when each
#       answer over 100 ms came, unix time:ms)
#
# The account is loaded as benches/scale.sh loads it (its monitoring sender has one message in ten:
# the contact erased). For the purge every conversation is made older than the account's
# retention (one day) and the server restarted: it purges at start. Loopback only.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
MESSAGES=${MESSAGES:-100000}

sql() {
    if [ "$1" = postgres ]; then
        psql -h 127.0.0.1 -p "$PORT_PG" -U inboxd -d postgres -qAt -c "$2"
    else
        python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); r = c.execute(sys.argv[2]).fetchall(); c.commit()
print(r[0][0] if r else "")' "$WORK/inboxd/inboxd.db" "$2"
    fi
}

probe() { "$BENCH" probe --smtp "127.0.0.1:$PORT_SMTP" --rcpt "$RCPT" --seconds "$1"; }

RESULTS="$WORK/lifecycle.jsonl"
: >"$RESULTS"
for engine in $ENGINES; do
    log "$engine: loading $MESSAGES messages"
    start_server "$engine" true
    loaded=$("$BENCH" load --smtp "127.0.0.1:$PORT_SMTP" --rcpt "$RCPT" --messages "$MESSAGES")
    log "$engine: loaded: $loaded"
    [ "$engine" = postgres ] && sql postgres "VACUUM ANALYZE" >/dev/null
    idle=$(probe 10)
    log "$engine: idle: $idle"

    log "$engine: erasing the monitoring sender"
    probe 30 >"$WORK/probe" &
    probing=$!
    sleep 3
    began=$(date +%s.%N)
    erased=$(curl -sf -X DELETE -H "Authorization: Bearer $KEY" \
        "http://127.0.0.1:$PORT_HTTP/v1/accounts/1/contacts/monitor%40ops.scale.example")
    erase_s=$(python3 -c "import sys; print(round($(date +%s.%N) - $began, 2))")
    wait "$probing"
    during_erasure=$(cat "$WORK/probe")
    log "$engine: erased in $erase_s s: $erased; probes: $during_erasure"

    log "$engine: retention: every conversation made older than a day, then a restart"
    sql "$engine" "UPDATE messages SET received_at = '2020-01-01T00:00:00Z'" >/dev/null
    sql "$engine" "UPDATE conversations SET last_message_at = '2020-01-01T00:00:00Z'" >/dev/null
    aged=$(sql "$engine" "SELECT count(*) FROM messages WHERE received_at < '2021-01-01'")
    "$INBOXD" --config "$WORK/inboxd/inboxd.toml" accounts set-retention 1 1 >/dev/null
    stop_server
    began=$(date +%s.%N)
    "$INBOXD" --config "$WORK/inboxd/inboxd.toml" serve 2>>"$WORK/inboxd/server.log" &
    SERVER_PID=$!
    wait_port "$PORT_SMTP"
    rm -f "$WORK/purged"
    "$BENCH" probe --smtp "127.0.0.1:$PORT_SMTP" --rcpt "$RCPT" --seconds 3600 --until "$WORK/purged" >"$WORK/probe" &
    probing=$!
    while [ "$(sql "$engine" "SELECT count(*) FROM messages WHERE received_at < '2021-01-01'")" != 0 ]; do
        sleep 0.5
    done
    purge_s=$(python3 -c "import sys; print(round($(date +%s.%N) - $began, 1))")
    touch "$WORK/purged"
    wait "$probing"
    during_purge=$(cat "$WORK/probe")
    log "$engine: purged $aged messages in $purge_s s; probes: $during_purge"
    echo "{\"engine\": \"$engine\", \"messages\": $MESSAGES, \"load\": $loaded, \"idle\": $idle,
           \"erase_s\": $erase_s, \"erased\": $erased, \"during_erasure\": $during_erasure,
           \"aged\": $aged, \"purge_s\": $purge_s, \"during_purge\": $during_purge}" >>"$RESULTS"
    stop_server
    stop_pg
done
cat "$RESULTS"
