#!/usr/bin/env python3
"""The symlink race of issue 17, item 1, against a web server in front of
sluice: while downloads of a job run, another process swaps a path under
the export root (a directory, or the file itself) with a symlink to the
same name outside the root, with renameat2(RENAME_EXCHANGE), as fast as
it can. sluice checks the path (openat2, beneath the root, no symlinks);
an offloading server opens it again itself. Not one byte of the outside
file may ever reach a client.

Usage: race.py --url URL --path A --swap B --marker TEXT --seconds S
  A        the real path under the root (a directory or the file)
  B        a symlink beside it, to the outside directory or file
  TEXT     bytes only the outside file holds
Prints one line of counts; exits 0 when no body held the marker, at
least one swap happened and at least one download came back whole,
else 1. Bounded: S seconds of requests (each with a 5 s timeout), then
the swapper stops, and A and B are put back as they were.
"""
import argparse
import ctypes
import hashlib
import http.client
import os
import sys
import threading
import time
import urllib.parse

AT_FDCWD = -100
RENAME_EXCHANGE = 2


def swap_loop(a, b, stop, counter):
    """Exchange a and b until stop is set; leave them as they were."""
    libc = ctypes.CDLL(None, use_errno=True)
    fn = libc.renameat2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                   ctypes.c_char_p, ctypes.c_uint]
    ea, eb = os.fsencode(a), os.fsencode(b)
    n = 0
    while not stop.is_set() or n % 2:
        if fn(AT_FDCWD, ea, AT_FDCWD, eb, RENAME_EXCHANGE) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "renameat2: " + os.strerror(err))
        n += 1
    counter.append(n)


def fetch(url, timeout):
    """One GET: (status, body), or (None, b"") when the connection failed
    or was cut."""
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        c.request("GET", u.path + ("?" + u.query if u.query else ""))
        r = c.getresponse()
        body = r.read()
        return r.status, body
    except (OSError, http.client.HTTPException):
        return None, b""
    finally:
        c.close()


def client(url, until, marker, want_sha, stats, lock):
    while time.monotonic() < until:
        status, body = fetch(url, 5)
        with lock:
            stats["requests"] += 1
            key = str(status)
            stats.setdefault(key, 0)
            stats[key] += 1
            if marker in body:
                stats["leaked"] += 1
            if status in (200, 206) and \
                    hashlib.sha256(body).hexdigest() == want_sha:
                stats["whole"] += 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--swap", required=True)
    p.add_argument("--marker", required=True)
    p.add_argument("--sha256", required=True)
    p.add_argument("--seconds", type=float, default=3)
    p.add_argument("--clients", type=int, default=3)
    o = p.parse_args()
    stats = {"requests": 0, "leaked": 0, "whole": 0}
    lock = threading.Lock()
    stop = threading.Event()
    swaps = []
    swapper = threading.Thread(target=swap_loop,
                               args=(o.path, o.swap, stop, swaps))
    swapper.start()
    until = time.monotonic() + o.seconds
    threads = [threading.Thread(target=client,
                                args=(o.url, until, o.marker.encode(),
                                      o.sha256, stats, lock))
               for _ in range(o.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    swapper.join(10)
    stats["swaps"] = swaps[0] if swaps else 0
    print(" ".join("%s=%s" % kv for kv in sorted(stats.items())))
    ok = (stats["leaked"] == 0 and stats["swaps"] > 0 and
          stats["whole"] > 0 and os.path.islink(o.swap) and
          not os.path.islink(o.path))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
