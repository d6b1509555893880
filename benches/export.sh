#!/usr/bin/env bash
# A contact's export at size: one contact with ~2 GiB of mail (90 messages of ~23 MiB, each a
# base64 attachment of random bytes, as big mail is), exported by the CLI (`contacts export`) and
# over HTTP (`GET /v1/accounts/{id}/contacts/{email}/export`), on SQLite and PostgreSQL. Prints the
# peak memory of each against the mail's size, and checks the zip holds every message.
#
#   benches/export.sh                        # both engines, 90 × 23 MiB
#   MESSAGES=20 ENGINES=sqlite benches/export.sh
#
# The CLI's peak is its maximum resident set (GNU time); the server's is its VmHWM, reset
# (`/proc/PID/clear_refs`) after the load so that the export's peak is what is read. Loopback only.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
MESSAGES=${MESSAGES:-90}
CONTACT=big@customer.example

hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }

RESULTS="$WORK/export.jsonl"
: >"$RESULTS"
for engine in $ENGINES; do
    start_server "$engine" true
    log "$engine: sending $MESSAGES messages of ~23 MiB from $CONTACT"
    python3 - "$PORT_SMTP" "$RCPT" "$CONTACT" "$MESSAGES" <<'PY'
import base64, os, smtplib, sys
port, rcpt, sender, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
with smtplib.SMTP("127.0.0.1", port, timeout=600) as s:
    for i in range(n):
        data = base64.encodebytes(os.urandom(17 * 1024 * 1024)).replace(b"\n", b"\r\n")
        head = (f"From: Big Sender <{sender}>\r\nTo: <{rcpt}>\r\nSubject: Scans {i}\r\n"
                f"Message-ID: <scan-{i}@customer.example>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
                f"Scan number {i} attached.\r\n--b\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=scan{i}.bin\r\n\r\n")
        s.sendmail(sender, [rcpt], head.encode() + data + b"--b--\r\n")
PY
    log "$engine: the CLI's export"
    began=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$WORK/cli-peak" "$INBOXD" --config "$WORK/inboxd/inboxd.toml" \
        contacts export --account 1 "$CONTACT" --output "$WORK/cli.zip" >/dev/null
    cli_s=$(python3 -c "print(round($(date +%s.%N) - $began, 1))")
    cli_peak=$(tail -1 "$WORK/cli-peak")

    log "$engine: the HTTP export"
    before=$(rss_kib)
    echo 5 >"/proc/$SERVER_PID/clear_refs"
    began=$(date +%s.%N)
    curl -sSf -H "Authorization: Bearer $KEY" -o "$WORK/http.zip" \
        "http://127.0.0.1:$PORT_HTTP/v1/accounts/1/contacts/$CONTACT/export"
    http_s=$(python3 -c "print(round($(date +%s.%N) - $began, 1))")
    server_peak=$(hwm_kib)

    checked=$(python3 - "$WORK/cli.zip" "$WORK/http.zip" "$MESSAGES" <<'PY'
import sys, zipfile
for path in sys.argv[1:3]:
    with zipfile.ZipFile(path) as z:
        emls = [i for i in z.infolist() if i.filename.endswith(".eml")]
        assert len(emls) == int(sys.argv[3]), f"{path}: {len(emls)} messages"
        assert z.testzip() is None, f"{path}: a bad entry"
print("every message, CRCs good")
PY
)
    zip_mib=$(( $(stat -c %s "$WORK/cli.zip") / 1048576 ))
    log "$engine: zip $zip_mib MiB; CLI peak $((cli_peak / 1024)) MiB in $cli_s s; server $((before / 1024)) MiB before, peak $((server_peak / 1024)) MiB in $http_s s; $checked"
    echo "{\"engine\": \"$engine\", \"messages\": $MESSAGES, \"zip_mib\": $zip_mib, \"cli_peak_mib\": $((cli_peak / 1024)), \"cli_s\": $cli_s, \"server_before_mib\": $((before / 1024)), \"server_peak_mib\": $((server_peak / 1024)), \"http_s\": $http_s}" >>"$RESULTS"
    rm -f "$WORK/cli.zip" "$WORK/http.zip"
    stop_server
    stop_pg
done
cat "$RESULTS"
