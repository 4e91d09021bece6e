#!/usr/bin/env python3
"""Raw FastCGI records on sluice's socket, for what no web server sends.

Usage: fcgi_raw.py SOCKET COMMAND ...
  get-values [NAME...]       FCGI_GET_VALUES (default: the spec's three);
                             prints NAME=VALUE per line of the result
  role ROLE PATH             a request in role ROLE (1 responder, 2
                             authorizer, 3 filter, or any number); prints
                             "end app=A protocol=P" and "stdout=N"
  abort PATH AFTER           a GET; once AFTER body bytes arrived, an
                             FCGI_ABORT_REQUEST; prints "stdout=N" and
                             "end app=A protocol=P" (or "end none")
  params PATH NAME=VALUE...  a GET with these parameters added (the value
                             may hold \\n, \\r, \\" as escapes); prints the
                             Status line
  idle N TRICKLE SECS        N connections that send nothing and TRICKLE
                             that send one byte of a request every 0.2 s;
                             waits up to SECS for sluice to close them all;
                             prints "closed=C of T" and the seconds the
                             first and last closes took
Every wait is bounded (TIMEOUT seconds, default 5); a timeout exits 3.
"""
import selectors
import socket
import struct
import sys
import time

VERSION = 1
BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 9, 10, 11
TIMEOUT = 5.0


def record(rtype, rid, content=b""):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", VERSION, rtype, rid, len(content), pad,
                       0) + content + b"\0" * pad


def pair(name, value):
    out = b""
    for n in (len(name), len(value)):
        out += bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return out + name + value


def request(rid, params, role=1, keep=0):
    body = struct.pack(">HB5x", role, keep)
    p = b"".join(pair(k.encode(), v.encode("utf-8", "surrogateescape"))
                 for k, v in params)
    return (record(BEGIN, rid, body) + record(PARAMS, rid, p) +
            record(PARAMS, rid) + record(STDIN, rid))


def base_params(path):
    return [("REQUEST_METHOD", "GET"), ("REQUEST_URI", path),
            ("SCRIPT_NAME", path), ("REMOTE_ADDR", "127.0.0.1"),
            ("SERVER_PROTOCOL", "HTTP/1.1")]


class Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def fill(self, n):
        while len(self.buf) < n:
            got = self.sock.recv(65536)
            if not got:
                return False
            self.buf += got
        return True

    def next(self):
        """(type, id, content), or None at the end of the connection."""
        if not self.fill(8):
            return None
        _, rtype, rid, clen, pad, _ = struct.unpack(">BBHHBB", self.buf[:8])
        if not self.fill(8 + clen + pad):
            return None
        content = self.buf[8:8 + clen]
        self.buf = self.buf[8 + clen + pad:]
        return rtype, rid, content


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(path)
    return s


def parse_pairs(data):
    out, i = [], 0
    while i < len(data):
        lens = []
        for _ in range(2):
            if data[i] & 0x80:
                lens.append(struct.unpack(">I", data[i:i + 4])[0] &
                            0x7fffffff)
                i += 4
            else:
                lens.append(data[i])
                i += 1
        name = data[i:i + lens[0]]
        value = data[i + lens[0]:i + lens[0] + lens[1]]
        i += lens[0] + lens[1]
        out.append((name.decode(), value.decode()))
    return out


def end_line(content):
    app, proto = struct.unpack(">IB3x", content)
    return "end app=%d protocol=%d" % (app, proto)


def cmd_get_values(sock, names):
    names = names or ["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"]
    sock.sendall(record(GET_VALUES, 0, b"".join(pair(n.encode(), b"")
                                                for n in names)))
    rec = Reader(sock).next()
    if rec is None:
        print("closed without an answer")
        return 1
    if rec[0] != GET_VALUES_RESULT or rec[1] != 0:
        print("record type %d id %d" % (rec[0], rec[1]))
        return 1
    for name, value in parse_pairs(rec[2]):
        print("%s=%s" % (name, value))
    return 0


def read_response(reader, rid, stop_after=None, on_stop=None):
    """Read this request's records; returns (stdout bytes, end line)."""
    out = b""
    while True:
        rec = reader.next()
        if rec is None:
            return out, "end none"
        rtype, got_id, content = rec
        if got_id != rid:
            continue
        if rtype == STDOUT:
            out += content
            if stop_after is not None and len(out) >= stop_after:
                on_stop()
                stop_after = None
        elif rtype == END:
            return out, end_line(content)


def cmd_role(sock, role, path):
    sock.sendall(request(1, base_params(path), role=role))
    out, end = read_response(Reader(sock), 1)
    print(end)
    print("stdout=%d" % len(out))
    return 0


def cmd_abort(sock, path, after):
    sock.sendall(request(1, base_params(path)))
    out, end = read_response(Reader(sock), 1, after,
                             lambda: sock.sendall(record(ABORT, 1)))
    print("stdout=%d" % len(out))
    print(end)
    return 0


def unescape(v):
    return (v.replace("\\n", "\n").replace("\\r", "\r")
            .replace('\\"', '"'))


def cmd_params(sock, path, extra):
    params = dict(base_params(path))
    for kv in extra:
        k, v = kv.split("=", 1)
        params[k] = unescape(v)
    sock.sendall(request(1, list(params.items())))
    out, end = read_response(Reader(sock), 1)
    head = out.split(b"\r\n", 1)[0].decode("latin-1")
    print(head)
    return 0


def cmd_idle(path, n, trickle, secs):
    socks = [connect(path) for _ in range(n + trickle)]
    data = request(1, base_params("/download/hello"))
    sent = [0] * len(socks)
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
    left = len(socks)
    t0 = time.monotonic()
    times = []
    next_drip = t0
    while left and time.monotonic() - t0 < secs:
        now = time.monotonic()
        if now >= next_drip:
            for i in range(n, n + trickle):
                if socks[i] is not None and sent[i] < len(data):
                    try:
                        socks[i].send(data[sent[i]:sent[i] + 1])
                        sent[i] += 1
                    except OSError:
                        pass
            next_drip = now + 0.2
        for key, _ in sel.select(0.05):
            i = key.data
            try:
                got = socks[i].recv(64)
            except OSError:
                got = b""
            if not got:
                sel.unregister(socks[i])
                socks[i].close()
                socks[i] = None
                left -= 1
                times.append(time.monotonic() - t0)
    for s in socks:
        if s is not None:
            s.close()
    print("closed=%d of %d first=%.1f last=%.1f" % (
        len(times), n + trickle, min(times) if times else -1,
        max(times) if times else -1))
    return 0


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    cmd, args = argv[2], argv[3:]
    if cmd == "idle":
        return cmd_idle(argv[1], int(args[0]), int(args[1]),
                        float(args[2]))
    sock = connect(argv[1])
    try:
        if cmd == "get-values":
            return cmd_get_values(sock, args)
        if cmd == "role":
            return cmd_role(sock, int(args[0]), args[1])
        if cmd == "abort":
            return cmd_abort(sock, args[0], int(args[1]))
        if cmd == "params":
            return cmd_params(sock, args[0], args[1:])
    except socket.timeout:
        print("timeout after %gs" % TIMEOUT)
        return 3
    finally:
        sock.close()
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
