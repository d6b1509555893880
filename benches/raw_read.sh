#!/usr/bin/env bash
# What reading back one large message costs in memory: a message of about 25 MiB (one attachment of
# random bytes, base64: what compresses least) is delivered over SMTP, then its raw bytes are read
# by the CLI (`inboxd messages raw`) and over HTTP (`GET /v1/messages/{id}/raw`), and its attachment
# is downloaded (`GET /v1/messages/{id}/attachments/0`), on SQLite and on PostgreSQL. Each read is
# checked byte for byte against what was sent.
#
#   benches/raw_read.sh
#   ENGINES=sqlite MIB=25 benches/raw_read.sh
#
# Reports, per read: the CLI's peak RSS over the same CLI's peak for a read of nothing (`accounts
# list`), and the server's peak RSS over its RSS just before the read (a server started for the
# read, its peak reset through /proc/PID/clear_refs), each also as a multiple of the message's size.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
MIB=${MIB:-25}

kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# a server started again for each read: memory an earlier read freed would hide what this one takes
restart() {
    stop_server
    "$INBOXD" --config "$WORK/inboxd/inboxd.toml" serve >/dev/null 2>>"$WORK/inboxd/server.log" &
    SERVER_PID=$!
    wait_port "$PORT_SMTP"
    wait_port "$PORT_HTTP"
}

# one read by the server: its growth in KiB while `curl` fetches URL into FILE
served() {
    echo 5 >"/proc/$SERVER_PID/clear_refs"
    local before
    before=$(kib "$SERVER_PID" VmRSS)
    curl -sf -H "Authorization: Bearer $KEY" -o "$2" "http://127.0.0.1:$PORT_HTTP$1"
    echo $(($(kib "$SERVER_PID" VmHWM) - before))
}

RESULTS="$WORK/raw_read.jsonl"
: >"$RESULTS"
for engine in $ENGINES; do
    start_server "$engine" true
    config="$WORK/inboxd/inboxd.toml"
    python3 - "$PORT_SMTP" "$RCPT" "$MIB" "$WORK/sent.eml" "$WORK/attachment.bin" <<'PY'
import base64, os, smtplib, sys
port, rcpt, mib, sent, attachment = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
# base64 lines: 57 bytes become 76 characters and CRLF; the whole message stays under the limit.
data = os.urandom((mib * 1024 * 1024 - 200 * 1024) * 57 // 78)
open(attachment, "wb").write(data)
encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
msg = (b"From: Big Sender <big@customer.example>\r\nTo: " + rcpt.encode() + b"\r\nSubject: The big one\r\n"
       b"Message-ID: <big-one@customer.example>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe file.\r\n"
       b"--b\r\nContent-Type: application/octet-stream; name=data.bin\r\nContent-Transfer-Encoding: base64\r\n"
       b"Content-Disposition: attachment; filename=data.bin\r\n\r\n" + encoded + b"--b--\r\n")
with smtplib.SMTP("127.0.0.1", port) as s:
    s.sendmail("big@customer.example", [rcpt], msg)
open(sent, "wb").write(msg)
PY
    id=$("$INBOXD" --config "$config" messages list --account 1 --json | python3 -c 'import json,sys
d = json.load(sys.stdin)
print((d if isinstance(d, list) else d["messages"])[0]["id"])')
    size=$(stat -c %s "$WORK/sent.eml")

    idle_cli=$(/usr/bin/time -f %M "$INBOXD" --config "$config" accounts list --json 2>&1 >/dev/null | tail -1)
    cli=$(/usr/bin/time -f %M "$INBOXD" --config "$config" messages raw "$id" 2>&1 >"$WORK/cli.eml" | tail -1)
    restart
    raw=$(served "/v1/messages/$id/raw" "$WORK/http.eml")
    restart
    attachment=$(served "/v1/messages/$id/attachments/0" "$WORK/http.bin")
    # Each read is the message as sent, after our Received header (and the attachment as attached).
    python3 - "$WORK" <<'PY'
import sys
w = sys.argv[1]
sent = open(f"{w}/sent.eml", "rb").read()
for name in ("cli.eml", "http.eml"):
    got = open(f"{w}/{name}", "rb").read()
    assert got.startswith(b"Received: ") and got.endswith(sent), f"{name}: not the message sent"
assert open(f"{w}/http.bin", "rb").read() == open(f"{w}/attachment.bin", "rb").read(), "the attachment differs"
PY
    python3 - "$engine" "$size" "$idle_cli" "$cli" "$raw" "$attachment" >>"$RESULTS" <<'PY'
import json, sys
engine, size, idle_cli, cli, raw, attachment = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:])
mib = lambda k: round(k / 1024, 1)
times = lambda k: round(k * 1024 / size, 2)
print(json.dumps({"engine": engine, "message_mib": round(size / 2**20, 1),
    "cli_raw_mib": mib(cli - idle_cli), "cli_raw_x": times(cli - idle_cli),
    "http_raw_mib": mib(raw), "http_raw_x": times(raw),
    "http_attachment_mib": mib(attachment), "http_attachment_x": times(attachment)}))
PY
    stop_server
    stop_pg
done
cat "$RESULTS"
