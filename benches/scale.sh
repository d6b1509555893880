#!/usr/bin/env bash
# Platform scale: one account loaded over SMTP with N messages, then every read of the API and the
# web inbox timed, on SQLite and on PostgreSQL; and the SMTP rate with the search index against the
# rate without it, in the same run. Prints one table; BENCHMARKS.md keeps the results.
#
#   benches/scale.sh                      # N = 10,000 and 100,000 on both engines
#   SIZES="1000000" ENGINES=sqlite benches/scale.sh
#   SKIP_INDEX_RATE=1 benches/scale.sh    # without the index-on/off SMTP comparison (which also
#                                         # prints the SQLite writer thread's CPU per message)
#   INBOXD=/path/to/inboxd SIZES=" " benches/scale.sh   # another build (the bench is this tree's)
#
# Servers listen on loopback (SMTP 2701, HTTP 2702; PostgreSQL 2703, a cluster of the run's own);
# their files live in a temporary folder removed at the end (KEEP=1 keeps it).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
for engine in $ENGINES; do
    for n in $SIZES; do
        log "$engine: loading $n messages"
        start_server "$engine" true
        loaded=$("$BENCH" load --smtp "127.0.0.1:$PORT_SMTP" --rcpt "$RCPT" --messages "$n")
        log "$engine: loaded: $loaded"
        if [ "$engine" = postgres ]; then
            psql -h 127.0.0.1 -p "$PORT_PG" -U inboxd -d postgres -qc "VACUUM ANALYZE" >/dev/null
        fi
        log "$engine: reading"
        reads=$("$BENCH" read --http "127.0.0.1:$PORT_HTTP" --key "$KEY" --account 1 --messages "$n" --pid "$SERVER_PID" |
            python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))')
        echo "{\"engine\": \"$engine\", \"messages\": $n, \"load\": $loaded, \"result\": $reads}" >>"$RESULTS"
        stop_server
    done
    stop_pg
done

# The CPU clock ticks (user + system) of the server's SQLite writer thread so far: the thread whose
# serial cycle (apply a batch, commit, fsync) bounds the rate; 0 on PostgreSQL (no such thread).
writer_ticks() {
    local total=0 task
    for task in /proc/"$SERVER_PID"/task/*; do
        [ "$(cat "$task/comm" 2>/dev/null)" = inboxd-writer ] || continue
        total=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "$task/stat")
    done
    echo "$total"
}

if [ -z "${SKIP_INDEX_RATE:-}" ]; then
    for engine in $ENGINES; do
        for round in 1 2; do
            for index in true false; do
                start_server "$engine" "$index"
                loaded=$("$BENCH" load --smtp "127.0.0.1:$PORT_SMTP" --rcpt "$RCPT" --messages 30000)
                writer=$(writer_ticks)
                echo "{\"engine\": \"$engine\", \"index\": $index, \"round\": $round, \"load\": $loaded, \"writer_ticks\": $writer}" >>"$RESULTS"
                stop_server
            done
        done
        stop_pg
    done
fi

python3 - "$RESULTS" <<'PY'
import json, os, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
reads = [r for r in rows if "result" in r]
cols = [(r["engine"], r["messages"]) for r in reads]
names = [x["read"] for x in reads[0]["result"]["reads"]] if reads else []
head = "| read | " + " | ".join(f"{e} {n:,}" for e, n in cols) + " |"
print(head)
print("|---|" + "---:|" * len(cols))
print("| SMTP load (msgs/s) | " + " | ".join(f"{r['load']['rate']:,}" for r in reads) + " |")
for i, name in enumerate(names):
    cells = [f"{r['result']['reads'][i]['median_ms']} / {r['result']['reads'][i]['p99_ms']} ms" for r in reads]
    print(f"| {name} (median / p99) | " + " | ".join(cells) + " |")
print("| server RSS before the readers | " + " | ".join(f"{r['result']['rss_before_kib'] // 1024} MiB" for r in reads) + " |")
print("| server RSS, 50 readers at once (peak) | " + " | ".join(f"{r['result']['rss_50_readers_kib'] // 1024} MiB" for r in reads) + " |")
rates = [r for r in rows if "index" in r]
for engine in sorted({r["engine"] for r in rates}):
    on = [r["load"]["rate"] for r in rates if r["engine"] == engine and r["index"]]
    off = [r["load"]["rate"] for r in rates if r["engine"] == engine and not r["index"]]
    print(f"\n{engine}: SMTP with the search index {statistics.median(on):,.0f} msgs/s, without {statistics.median(off):,.0f}: {statistics.median(on) / statistics.median(off):.3f} of it (30,000 messages, rounds {on} / {off})")
    ticks = os.sysconf("SC_CLK_TCK")
    writer = lambda on_off: [round(r["writer_ticks"] / ticks * 1e6 / 30000) for r in rates if r["engine"] == engine and r["index"] == on_off]
    if any(writer(True)):
        print(f"{engine}: the writer thread's CPU per message with the index {writer(True)} µs, without {writer(False)} µs")
PY
