#!/usr/bin/env bash
# An existing database brought up to this build: N messages loaded over SMTP by an older build (by
# default the last one before schema 11, whose rows hold raw bytes and bodies uncompressed and no
# search entries), then this build's `serve` started on it (the schema's migrations run at its
# start) and `inboxd migrate` run beside it to convert the old rows, while a probe sends one
# message at a time and times each 250.
#
#   benches/migrate.sh                                  # 100,000 messages, SQLite and PostgreSQL
#   MESSAGES=1000000 ENGINES=sqlite benches/migrate.sh
#   OLD_INBOXD=/path/to/old/inboxd benches/migrate.sh   # an older build made already
#   OLD=<commit> benches/migrate.sh                     # another older build (built in a worktree)
#   NEW_INBOXD=/path/to/inboxd benches/migrate.sh       # another build converts (not this tree's)
#
# Prints per engine: the load, the schema's migration time (serve's start), the conversion's time
# and counts, the probe's 250s during it, and the database's size before and after (and what it
# takes written compactly: SQLite's VACUUM INTO a copy, PostgreSQL's VACUUM FULL).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
MESSAGES=${MESSAGES:-100000}
OLD=${OLD:-4917e94^}
INBOXD=${NEW_INBOXD:-$INBOXD}

if [ -z "${OLD_INBOXD:-}" ]; then
    tree="$WORK/old-tree"
    log "building the older build ($OLD, release) in a worktree"
    git -C "$REPO" worktree add --detach -f "$tree" "$OLD" >/dev/null
    (cd "$tree" && CARGO_TARGET_DIR="$REPO/target/migrate-old" cargo build --release --quiet --bin inboxd)
    git -C "$REPO" worktree remove --force "$tree"
    OLD_INBOXD="$REPO/target/migrate-old/release/inboxd"
fi

probe_until() { "$BENCH" probe --smtp "127.0.0.1:$PORT_SMTP" --rcpt "$RCPT" --seconds 36000 --until "$1"; }

size_of() { # ENGINE → bytes the database's data takes (SQLite: pages in use, free ones left out)
    if [ "$1" = postgres ]; then
        psql -h 127.0.0.1 -p "$PORT_PG" -U inboxd -d postgres -XAtqc "SELECT pg_database_size('postgres')"
    else
        python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
one = lambda q: c.execute(q).fetchone()[0]
print((one("PRAGMA page_count") - one("PRAGMA freelist_count")) * one("PRAGMA page_size"))' "$WORK/inboxd/inboxd.db"
    fi
}

RESULTS="$WORK/migrate.jsonl"
: >"$RESULTS"
for engine in $ENGINES; do
    dir="$WORK/inboxd"
    new_config "$engine"
    RCPT=$("$OLD_INBOXD" --config "$dir/inboxd.toml" accounts create scale --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])')
    "$OLD_INBOXD" --config "$dir/inboxd.toml" serve 2>"$dir/old-server.log" &
    SERVER_PID=$!
    wait_port "$PORT_SMTP"
    log "$engine: loading $MESSAGES messages with the older build"
    loaded=$("$BENCH" load --smtp "127.0.0.1:$PORT_SMTP" --rcpt "$RCPT" --messages "$MESSAGES")
    log "$engine: loaded: $loaded"
    stop_server
    [ "$engine" = postgres ] && psql -h 127.0.0.1 -p "$PORT_PG" -U inboxd -d postgres -qc "VACUUM ANALYZE" >/dev/null
    before=$(size_of "$engine")

    log "$engine: this build's serve (the schema's migrations run at its start)"
    began=$(date +%s.%N)
    "$INBOXD" --config "$dir/inboxd.toml" serve 2>"$dir/server.log" &
    SERVER_PID=$!
    wait_port "$PORT_SMTP"
    schema_s=$(python3 -c "print(round($(date +%s.%N) - $began, 1))")
    log "$engine: serving after $schema_s s; converting with inboxd migrate beside it"

    rm -f "$WORK/converted"
    probe_until "$WORK/converted" >"$WORK/probe" &
    probing=$!
    sleep 2
    began=$(date +%s.%N)
    "$INBOXD" --config "$dir/inboxd.toml" migrate 2>"$WORK/migrate.log"
    convert_s=$(python3 -c "print(round($(date +%s.%N) - $began, 1))")
    touch "$WORK/converted"
    wait "$probing"
    during=$(cat "$WORK/probe")
    said=$(tail -1 "$WORK/migrate.log")
    log "$engine: $said; wall $convert_s s; probes: $during"
    stop_server
    [ "$engine" = postgres ] && psql -h 127.0.0.1 -p "$PORT_PG" -U inboxd -d postgres -qc "VACUUM" >/dev/null
    after=$(size_of "$engine")
    # Converted rows leave room inside their pages that new rows take; what the data needs once
    # written compactly (a copy, the database is left as it is):
    if [ "$engine" = postgres ]; then
        psql -h 127.0.0.1 -p "$PORT_PG" -U inboxd -d postgres -qc "VACUUM FULL" >/dev/null
        compact=$(size_of "$engine")
    else
        python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("VACUUM INTO ?", (sys.argv[2],))' \
            "$dir/inboxd.db" "$WORK/compact.db"
        compact=$(wc -c <"$WORK/compact.db")
        rm -f "$WORK/compact.db"
    fi
    python3 - "$engine" "$MESSAGES" "$loaded" "$schema_s" "$convert_s" "$said" "$during" "$before" "$after" "$compact" >>"$RESULTS" <<'PY'
import json, sys
engine, n, loaded, schema_s, convert_s, said, during, before, after, compact = sys.argv[1:]
print(json.dumps({"engine": engine, "messages": int(n), "load": json.loads(loaded),
    "schema_s": float(schema_s), "convert_s": float(convert_s), "migrate_said": said,
    "probe_during": json.loads(during), "bytes_before": int(before), "bytes_after": int(after),
    "bytes_after_compacted": int(compact)}))
PY
    stop_pg
done
cat "$RESULTS"
