#!/usr/bin/env python3
"""A slow HTTP/1.1 client that speeds up when told, to see a cut.

Usage: slowread.py URL RATE FLAG MAXSECS
Reads the response at RATE bytes/s from its first byte, until the file
FLAG exists; then as fast as it can, until the connection ends or
MAXSECS have passed since the start. Prints one line:
  status=S length=L got=N after_flag=SECS end=eof|complete|timeout
where after_flag is how long the end took once FLAG appeared (-1 if it
never did). Exit status: 0 when the body ended short of its length (the
cut was seen), 1 when it was complete, 3 on timeout.
"""
import os
import socket
import sys
import time
from urllib.parse import urlsplit


def main(argv):
    url, rate, flag, maxsecs = argv[1], float(argv[2]), argv[3], \
        float(argv[4])
    u = urlsplit(url)
    s = socket.create_connection((u.hostname, u.port), timeout=1.0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    path = u.path + ("?" + u.query if u.query else "")
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" %
               (path, u.netloc)).encode())
    t0 = time.monotonic()
    buf, head, first, got, flag_t = b"", None, None, 0, None
    status, length, end = 0, -1, "timeout"
    while time.monotonic() - t0 < maxsecs:
        now = time.monotonic()
        if flag_t is None and os.path.exists(flag):
            flag_t = now
        want = 65536
        if flag_t is None and first is not None:
            want = int(rate * (now - first)) + 4096 - got
            if want <= 0:
                time.sleep(0.01)
                continue
        try:
            data = s.recv(min(want, 65536))
        except socket.timeout:
            continue
        except OSError:
            data = b""
        if not data:
            end = "eof"
            break
        if head is None:
            buf += data
            if b"\r\n\r\n" not in buf:
                continue
            head, data = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                if k.lower() == "content-length":
                    length = int(v)
            first = time.monotonic()
        got += len(data)
        if length >= 0 and got >= length:
            end = "complete"
            break
    after = time.monotonic() - flag_t if flag_t is not None else -1
    print("status=%d length=%d got=%d after_flag=%.2f end=%s" %
          (status, length, got, after, end))
    s.close()
    return {"eof": 0, "complete": 1}.get(end, 3)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
