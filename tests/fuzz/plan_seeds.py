#!/usr/bin/env python3
"""Write the seed corpus of fuzz_plan (tests/fuzz/corpus/plan/).

Each seed is one row of the contract, in fuzz_plan.c's input format: the
fixed header (FZ_HDR bytes, big-endian), then NUL-separated entries.
Run from the top of the tree: python3 tests/fuzz/plan_seeds.py
"""
import os
import struct

# Header byte 0 (fuzz_plan.c's FZ_* flags).
SIZE_DIFFERS, TOKEN_OTHER, OWNER_USER, DRAINING = 0x01, 0x02, 0x04, 0x08
NOT_REGULAR, FILE_ERROR, SHA256, NO_DEFAULTS = 0x10, 0x20, 0x40, 0x80
# Indices: statuses, lookups, downloads, offload modes.
DONE, PENDING, RUNNING, FAILED, REVOKED, NULL_STATUS = range(6)
FOUND, NOT_FOUND, BUSY, ERROR = range(4)
OPENED, JOINED, LIMIT, FAILED_DL, OFF = range(5)
STREAM, LIGHTTPD, XACCEL, XSENDFILE = range(4)
# Kinds of the integer columns: 1 for expires_at / max_downloads is INT.
EXPIRES_INT, MAX_INT = 0x04, 0x10

NOW = 1700000000
MTIME = NOW - 3600


def seed(flags=0, status=DONE, lookup=FOUND, download=OPENED,
         offload=STREAM, kinds=0, nulls=0, perm=0o644, peer=0, fuid=0,
         size=1000, fstat=0, mtime=MTIME, nsec=0, ino=42, now=NOW,
         expires=0, max_dl=0, entries=()):
    hdr = struct.pack(">7BHBBqQqIQqqq", flags, status, lookup, download,
                      offload, kinds, nulls, perm, peer, fuid, size,
                      fstat << 1, mtime, nsec, ino, now, expires, max_dl)
    assert len(hdr) == 71
    return hdr + b"\0".join(e.encode() for e in entries)


SEEDS = {
    "get": seed(),
    "head": seed(entries=["REQUEST_METHOD=HEAD"]),
    "post": seed(entries=["REQUEST_METHOD=POST"]),
    "draining": seed(flags=DRAINING),
    "range": seed(entries=["HTTP_RANGE=bytes=0-99"]),
    "range-suffix": seed(entries=["HTTP_RANGE=bytes=-10"]),
    "range-416": seed(entries=["HTTP_RANGE=bytes=5000-"]),
    "range-multi": seed(entries=["HTTP_RANGE=bytes=0-1,5-6"]),
    "inm-304": seed(entries=["HTTP_IF_NONE_MATCH=@ETAG@"]),
    "ims-304": seed(entries=["HTTP_IF_MODIFIED_SINCE=@LM@"]),
    "if-match-412": seed(entries=['HTTP_IF_MATCH="other"']),
    "ius-412": seed(entries=[
        "HTTP_IF_UNMODIFIED_SINCE=Sun, 06 Nov 1994 08:49:37 GMT"]),
    "if-range-etag": seed(entries=["HTTP_RANGE=bytes=10-",
                                   "HTTP_IF_RANGE=@ETAG@"]),
    "if-range-date": seed(entries=["HTTP_RANGE=bytes=10-",
                                   "HTTP_IF_RANGE=@LM@"]),
    "token-ok": seed(entries=["REQUEST_URI=/download/job1?token=secret"]),
    "token-missing": seed(flags=TOKEN_OTHER),
    "owner-ok": seed(flags=OWNER_USER, entries=["REMOTE_USER=alice"]),
    "owner-other": seed(entries=["REMOTE_USER=bob", "job.owner=alice"]),
    "pending": seed(status=PENDING),
    "revoked": seed(status=REVOKED),
    "expired": seed(kinds=EXPIRES_INT, expires=NOW - 1),
    "not-expired": seed(kinds=EXPIRES_INT, expires=NOW + 1),
    "limit": seed(kinds=MAX_INT, max_dl=2, download=LIMIT),
    "limit-audit-off": seed(kinds=MAX_INT, max_dl=2, download=OFF),
    "unknown-id": seed(lookup=NOT_FOUND),
    "db-busy": seed(lookup=BUSY),
    "file-missing": seed(flags=FILE_ERROR),
    "size-mismatch": seed(flags=SIZE_DIFFERS, fstat=999),
    "fifo": seed(flags=NOT_REGULAR),
    "path-not-plain": seed(entries=["job.file_path=a/../b"]),
    "sha256": seed(flags=SHA256),
    "bad-sha256": seed(entries=["job.sha256=xyz"]),
    "utf8-name": seed(entries=["job.file_name=r\u00e9sum\u00e9 \u202e.csv"]),
    "bad-type": seed(entries=["job.content_type=text/csv\r\nX-A: b"]),
    "bad-id": seed(entries=["REQUEST_URI=/download/a%41"]),
    "name-segment": seed(entries=["REQUEST_URI=/download/job1/x.csv"]),
    "prefixes": seed(entries=["cfg.url_prefix=/a/,/download/"]),
    "metrics": seed(entries=["cfg.metrics_path=/metrics",
                             "REQUEST_URI=/metrics"]),
    "lighttpd": seed(offload=LIGHTTPD, entries=["job.file_path=a.csv"]),
    "offload-unreadable": seed(offload=XACCEL, perm=0o600, peer=34),
    "lighttpd-nested": seed(offload=LIGHTTPD,
                            entries=["job.file_path=a/b.csv"]),
    "xaccel-range": seed(offload=XACCEL, entries=["HTTP_RANGE=bytes=1-9"]),
    "xsendfile": seed(offload=XSENDFILE, perm=0o600, peer=34, fuid=33),
    "xsendfile-pct": seed(offload=XSENDFILE, entries=["job.file_path=a%2e"]),
    "long-root": seed(offload=LIGHTTPD | 8,
                      entries=["job.file_path=a.csv"]),
    "empty-file": seed(size=0),
    "huge-file": seed(size=2**63 - 1, entries=["HTTP_RANGE=bytes=-1"]),
    "no-defaults": seed(flags=NO_DEFAULTS),
}


def main():
    out = os.path.join(os.path.dirname(__file__), "corpus", "plan")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
