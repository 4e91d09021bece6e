#!/usr/bin/env python3
"""Write the seed corpora of the structured fuzz targets.

tests/fuzz/corpus/<target>/ for plan, job_row, config and ctl_opt, each
input in the format its fuzz_<target>.c describes. Run it after changing
a format: python3 tests/fuzz/seeds.py (the corpora are committed).
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


# fuzz_plan: one row of the contract each: the fixed header (FZ_HDR
# bytes, big-endian), then NUL-separated entries.
PLAN = {
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


# fuzz_job_row: one cell per column (status, file_path, file_name,
# content_type, file_size, sha256, owner, token_sha256, expires_at,
# max_downloads): a kind byte, 8 bytes of value, a 2-byte length, text.
NUL_, INT_, TEXT_, OTHER_ = 0, 1, 2, 3
REAL_, VNULL_, REPEAT_ = 0x04, 0x08, 0x10
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def cell(kind, value=b"", i=0):
    if isinstance(value, str):
        value = value.encode()
    return struct.pack(">BQH", kind, i & (2**64 - 1), len(value)) + value


def repeat(kind, byte, n):
    return struct.pack(">BQHB", kind | REPEAT_, 0, n, byte)


def row(**over):
    cols = {
        "status": cell(TEXT_, "done"),
        "file_path": cell(TEXT_, "exports/a.csv"),
        "file_name": cell(TEXT_, "report.csv"),
        "content_type": cell(TEXT_, "text/csv"),
        "file_size": cell(INT_, "1000", 1000),
        "sha256": cell(NUL_),
        "owner": cell(NUL_),
        "token_sha256": cell(NUL_),
        "expires_at": cell(NUL_),
        "max_downloads": cell(NUL_),
    }
    cols.update(over)
    return b"".join(cols.values())


JOB_ROW = {
    "good": row(),
    "all-null": b"".join(cell(NUL_) for _ in range(10)),
    "full": row(sha256=cell(TEXT_, SHA), owner=cell(TEXT_, "alice"),
                token_sha256=cell(TEXT_, SHA.upper()),
                expires_at=cell(INT_, "1700000000", 1700000000),
                max_downloads=cell(INT_, "3", 3)),
    "status-int": row(status=cell(INT_, "2", 2)),
    "status-blob": row(status=cell(OTHER_, "done")),
    "status-long": row(status=cell(TEXT_, "done" * 8)),
    "empty-blobs": row(status=cell(OTHER_), file_path=cell(OTHER_),
                       sha256=cell(OTHER_)),
    "path-nul": row(file_path=cell(TEXT_, "a.csv\0../etc/passwd")),
    "path-4095": row(file_path=repeat(TEXT_, ord("a"), 4095)),
    "path-4096": row(file_path=repeat(TEXT_, ord("a"), 4096)),
    "name-long-utf8": row(file_name=cell(TEXT_, "\u00e9" * 600 + ".csv")),
    "name-nul": row(file_name=cell(TEXT_, "a\0b")),
    "type-crlf": row(content_type=cell(TEXT_, "text/csv\r\nX-A: 1")),
    "type-empty": row(content_type=cell(TEXT_, "")),
    "size-text": row(file_size=cell(TEXT_, "1000")),
    "size-real": row(file_size=cell(OTHER_ | REAL_, "", 0x408f400000000000)),
    "size-negative": row(file_size=cell(INT_, "-1", -1)),
    "size-max": row(file_size=cell(INT_, str(2**63 - 1), 2**63 - 1)),
    "sha-short": row(sha256=cell(TEXT_, SHA[:63])),
    "sha-not-hex": row(sha256=cell(TEXT_, "g" + SHA[1:])),
    "sha-blob": row(sha256=cell(OTHER_, SHA)),
    "owner-256": row(owner=repeat(TEXT_, ord("u"), 256)),
    "token-vnull": row(token_sha256=cell(TEXT_ | VNULL_, SHA)),
    "expires-min": row(expires_at=cell(INT_, "", -2**63)),
    "max-negative": row(max_downloads=cell(INT_, "-1", -1)),
}


# fuzz_config and fuzz_ctl_opt (fuzz_argv.h): byte 0 is how many of the
# NUL-separated pieces are environment variables (a byte choosing the
# name from the target's list, then the value); the rest is argv[1..].
def argv(*args, env=()):
    pieces = [bytes([i]) + v.encode() for i, v in env]
    pieces += [a.encode() for a in args]
    return bytes([len(env)]) + b"\0".join(pieces)


# fuzz_config.c's fz_env indices.
C_DB, C_ROOT, C_PREFIX, C_OFFLOAD, C_METRICS = 0, 1, 2, 7, 8
C_WORKERS, C_RETENTION = 10, 17

CONFIG = {
    "minimal": argv("--db", "/var/lib/x/jobs.db", "--root", "/srv/exports"),
    "equals": argv("--db=jobs.db", "--root=/srv", "--workers=0",
                   "--threads=1024"),
    "abbrev": argv("--d", "j.db", "--ro", "/srv", "--work", "4"),
    "help": argv("--help"),
    "short-help": argv("-h"),
    "env-only": argv(env=[(C_DB, "j.db"), (C_ROOT, "/srv"),
                          (C_WORKERS, "3")]),
    "env-and-argv": argv("--workers", "5",
                         env=[(C_DB, "j.db"), (C_ROOT, "/srv")]),
    "prefixes": argv("--db", "j", "--root", "r", "--url-prefix",
                     "/a/,/download/", "--metrics-path", "/metrics"),
    "metrics-in-prefix": argv("--db", "j", "--root", "r",
                              "--metrics-path", "/download/m"),
    "offload-xaccel": argv("--db", "j", "--root", "r", "--offload",
                           "x-accel-redirect:/internal/"),
    "offload-xsendfile": argv("--db", "j", "--root", "r", "--offload",
                              "x-sendfile", "--offload-symlink-race",
                              "accept"),
    "offload-env": argv("--db", "j", "--root", "r",
                        env=[(C_OFFLOAD, "lighttpd")]),
    "durations": argv("--db", "j", "--root", "r", "--audit-retention", "90d",
                      "--resume-window", "off"),
    "bad-duration": argv("--db", "j", "--root", "r", "--resume-window",
                         "1y"),
    "numbers": argv("--db", "j", "--root", "r", "--max-requests",
                    "9223372036854775807", "--min-rate", "0",
                    "--drain-timeout", "86400", "--params-timeout", "3600",
                    "--rate-window", "1"),
    "overflow": argv("--db", "j", "--root", "r", "--workers",
                     "99999999999999999999"),
    "long-db": argv("--db", "d" * 4096, "--root", "r"),
    "audit-off": argv("--db", "j", "--root", "r", "--audit", "off"),
    "operand": argv("--db", "j", "--root", "r", "extra"),
    "dashdash": argv("--db", "j", "--", "--root", "r"),
    "missing-value": argv("--db"),
    "flag-value": argv("--help=1"),
    "state-postgres": argv("--db", "postgresql://u:p@h/db", "--root", "r",
                           "--state-db", "host=h password=p"),
}

# fuzz_ctl_opt.c's fz_env indices.
K_DB, K_STATE, K_ROOT, K_URL, K_WINDOW = range(5)

CTL_OPT = {
    "init": argv("init", "--db", "j.db", "--root", "/srv"),
    "add": argv("--db", "j.db", "add", "--root", "/srv", "--name", "r.csv",
                "--owner", "alice", "--expires", "7d", "--max-downloads",
                "3", "--content-type", "text/csv", "--token", "--move",
                "file.csv"),
    "add-never": argv("add", "--expires", "never", "f"),
    "add-dash-file": argv("add", "--", "-"),
    "list": argv("list", "--status", "done", "--expired", "--json",
                 "--owner", "bob", "--resume-window", "off"),
    "list-bad-status": argv("list", "--status", "Done"),
    "show": argv("show", "job1", "--responses"),
    "revoke": argv("revoke", "job1", env=[(K_DB, "j.db")]),
    "purge": argv("purge", "--older-than", "30", "--dry-run"),
    "audit": argv("audit", "--job", "job1", "--since", "1h", "--limit",
                  "0", "--responses"),
    "audit-since-unix": argv("audit", "--since", "1700000000"),
    "check": argv("check", "--hash"),
    "prune": argv("prune", "--older-than", "90d"),
    "vacuum": argv("vacuum", env=[(K_STATE, "s.db"), (K_WINDOW, "2h")]),
    "help": argv("--help"),
    "cmd-help": argv("add", "-h"),
    "unknown-cmd": argv("frobnicate"),
    "no-cmd": argv("--json"),
    "wrong-option": argv("list", "--hash"),
    "too-many": argv("show", "a", "b"),
    "missing-id": argv("show"),
    "missing-value": argv("show", "x", "--db"),
    "flag-value": argv("list", "--json=1"),
    "bad-env": argv("list", env=[(K_WINDOW, "soon")]),
}


def write(target, seeds):
    out = os.path.join(os.path.dirname(__file__), "corpus", target)
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


def main():
    write("plan", PLAN)
    write("job_row", JOB_ROW)
    write("config", CONFIG)
    write("ctl_opt", CTL_OPT)


if __name__ == "__main__":
    main()
