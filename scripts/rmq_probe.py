#!/usr/bin/env python3
"""Tiny RocketMQ remoting probe (python3 stdlib only).

Usage:
    rmq_probe.py cluster HOST:PORT [--timeout SECONDS]
    rmq_probe.py brokers HOST:PORT [--timeout SECONDS]

Both send GET_BROKER_CLUSTER_INFO (request code 106) as a JSON-serialized
remoting frame to a name server.
  cluster  prints the response body raw (fastjson text; it may contain unquoted
           integer map keys such as {0:"127.0.0.1:10911"}).
  brokers  parses it (quoting those keys first) and prints one line per
           registered broker address: CLUSTER BROKER_NAME BROKER_ID ADDRESS,
           sorted; nothing when no broker is registered.

Exit status: 0 = response code 0 (SUCCESS), 1 = network/protocol error,
2 = usage error, 3 = the server answered with a non-zero response code.
"""

import json
import socket
import struct
import sys

GET_BROKER_CLUSTER_INFO = 106


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(buf), n))
        buf.extend(chunk)
    return bytes(buf)


def request(addr, code, timeout, ext_fields=None, opaque=1):
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("address must be HOST:PORT, got %r" % addr)
    header = json.dumps(
        {
            "code": code,
            "flag": 0,
            "language": "JAVA",
            "opaque": opaque,
            "serializeTypeCurrentRPC": "JSON",
            # 401 (V4_9_4): makes 5.x name servers answer with standard JSON where they can.
            "version": 401,
            "extFields": ext_fields or {},
        },
        separators=(",", ":"),
    ).encode("utf-8")
    # length counts everything after itself; high byte of the header word = serialize type (0 = JSON).
    frame = struct.pack(">ii", 4 + len(header), len(header) & 0xFFFFFF) + header
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(frame)
        (length,) = struct.unpack(">i", recv_exact(sock, 4))
        if length < 4 or length > 16 * 1024 * 1024:
            raise ValueError("implausible frame length %d" % length)
        rest = recv_exact(sock, length)
    (hdr_word,) = struct.unpack(">i", rest[:4])
    ser_type = (hdr_word >> 24) & 0xFF
    hdr_len = hdr_word & 0xFFFFFF
    if hdr_len > length - 4:
        raise ValueError("header length %d exceeds frame length %d" % (hdr_len, length))
    if ser_type != 0:
        # The server answers in the serialize type of the request, so this means a confused peer.
        raise ValueError("unexpected serialize type %d in response" % ser_type)
    resp_header = json.loads(rest[4 : 4 + hdr_len].decode("utf-8"))
    body = rest[4 + hdr_len :]
    return resp_header, body


def quote_bare_keys(text):
    """Quotes fastjson's unquoted integer object keys ({0:"a"} -> {"0":"a"}), outside strings."""
    out = []
    i, n = 0, len(text)
    in_str = False
    expect_key = False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
            i += 1
            continue
        if c == '"':
            in_str = True
            expect_key = False
        elif c in "{,":
            expect_key = True
        elif expect_key and (c == "-" or c.isdigit()):
            j = i + 1
            while j < n and text[j].isdigit():
                j += 1
            k = j
            while k < n and text[k].isspace():
                k += 1
            if k < n and text[k] == ":":
                out.append('"%s"' % text[i:j])
                i = j
                expect_key = False
                continue
            expect_key = False
        elif not c.isspace():
            expect_key = False
        out.append(c)
        i += 1
    return "".join(out)


def broker_lines(body):
    info = json.loads(quote_bare_keys(body.decode("utf-8")))
    lines = []
    for name, data in (info.get("brokerAddrTable") or {}).items():
        cluster = (data or {}).get("cluster") or "-"
        for broker_id, addr in ((data or {}).get("brokerAddrs") or {}).items():
            lines.append("%s %s %s %s" % (cluster, name, broker_id, addr))
    return sorted(lines)


def main(argv):
    args = argv[1:]
    timeout = 3.0
    if "--timeout" in args:
        i = args.index("--timeout")
        try:
            timeout = float(args[i + 1])
        except (IndexError, ValueError):
            print(__doc__.strip(), file=sys.stderr)
            return 2
        del args[i : i + 2]
    if len(args) != 2 or args[0] not in ("cluster", "brokers"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        header, body = request(args[1], GET_BROKER_CLUSTER_INFO, timeout)
    except (OSError, ValueError) as e:
        print("rmq_probe: %s: %s" % (args[1], e), file=sys.stderr)
        return 1
    if header.get("code") != 0:
        print(
            "rmq_probe: response code %s: %s" % (header.get("code"), header.get("remark", "")),
            file=sys.stderr,
        )
        return 3
    if args[0] == "brokers":
        try:
            lines = broker_lines(body)
        except (ValueError, AttributeError) as e:
            print("rmq_probe: %s: unparsable cluster info: %s" % (args[1], e), file=sys.stderr)
            return 1
        for line in lines:
            print(line)
        return 0
    sys.stdout.write(body.decode("utf-8", errors="replace"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
