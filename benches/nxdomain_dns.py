#!/usr/bin/env python3
"""A loopback DNS server for the benchmarks that answers every query at once with NXDOMAIN.

rspamd asks DNS for every message (RBLs, SPF, DKIM, DMARC, URL lists). There is no resolver here,
and a resolver that never answers would make each scan wait out its timeout: the benchmark would
measure timeouts, not rspamd's work. A local caching resolver answers the common case ("not
listed") from memory in microseconds; this stands for it.

Usage: nxdomain_dns.py PORT
"""
import socket
import struct
import sys


def main() -> None:
    port = int(sys.argv[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    while True:
        query, peer = sock.recvfrom(4096)
        if len(query) < 12:
            continue
        ident, flags, qdcount = struct.unpack("!HHH", query[:6])
        # The question section is echoed; QR, the opcode, RD, RA and RCODE 3 (NXDOMAIN) are set.
        end = 12
        for _ in range(qdcount):
            while end < len(query) and query[end] != 0:
                end += query[end] + 1
            end += 5
        reply_flags = 0x8000 | (flags & 0x7900) | 0x0080 | 3
        header = struct.pack("!HHHHHH", ident, reply_flags, qdcount, 0, 0, 0)
        sock.sendto(header + query[12:end], peer)


if __name__ == "__main__":
    main()
