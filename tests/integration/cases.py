#!/usr/bin/env python3
"""Run HTTP cases written as data (tests/integration/cases/*.txt) against
one web server in front of sluice, in one mode, and print one `ok` or
`not ok` line per expectation and a last line `cases: N passed, N failed`.

Usage: cases.py --base http://127.0.0.1:PORT --root EXPORT_ROOT
                --server lighttpd|nginx|apache --mode stream|offload FILE...

The format is described at the top of tests/integration/cases/README.
Each request goes out on a fresh connection with `Connection: close`
(from 127.0.0.1, or the address a case's `from` line names), and
the whole answer is read to EOF: the status line and header lines are
kept as sent (CR removed), the body as bytes (chunked decoded; a body
short of its Content-Length makes the status "truncated"). Standard
library only: Debian's python3 is enough.
"""

import argparse
import base64
import hashlib
import os
import re
import socket
import sys
import time
import email.utils

TIMEOUT = 20
FILE_MARK = b"hello, world"
OFFLOAD_HEADERS = ("x-sendfile", "x-accel-redirect", "x-lighttpd-send-file")
REQUEST_WORDS = ("user", "data", "from")
EXPECT_WORDS = ("status", "status-line", "header", "no-header", "header-re",
                "header-count", "body", "body-sha", "body-empty",
                "body-lacks", "head-no-body", "no-file", "no-offload-header",
                "same-headers-as", "same-as", "save", "use", "xfail")


class CaseError(Exception):
    pass


class Case:
    def __init__(self, name, cond, where):
        self.name = name
        self.cond = cond
        self.where = where
        self.method = None
        self.path = None
        self.headers = []       # request headers, raw "Name: value"
        self.lines = []         # (cond, word, arg, where)


# ------------------------------------------------------------- parsing
def parse(paths):
    cases, defines, cur = [], {}, None
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for n, raw in enumerate(f, 1):
                where = "%s:%d" % (os.path.basename(path), n)
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                cond, line = split_cond(line, where)
                word, _, arg = line.partition(" ")
                arg = arg.strip()
                if word in ("case", "define"):
                    if not arg or " " in arg:
                        raise CaseError("%s: %s wants one NAME" % (where, word))
                    cur = Case(arg, cond, where)
                    if word == "case":
                        if any(c.name == arg for c in cases):
                            raise CaseError("%s: case %s twice" % (where, arg))
                        cases.append(cur)
                    else:
                        defines[arg] = cur
                    continue
                if cur is None:
                    raise CaseError("%s: outside a case" % where)
                if re.match(r"^[A-Z]+$", word) and arg.startswith("/"):
                    if cond or cur.method:
                        raise CaseError("%s: one unconditional request "
                                        "line per case" % where)
                    cur.method, cur.path = word, arg
                elif word == ">":
                    cur.headers.append((cond, arg))
                elif word in REQUEST_WORDS or word in EXPECT_WORDS:
                    cur.lines.append((cond, word, arg, where))
                else:
                    raise CaseError("%s: unknown word '%s'" % (where, word))
    for c in cases:
        if c.method is None:
            raise CaseError("%s: case %s has no request line" %
                            (c.where, c.name))
    return cases, defines


def split_cond(line, where):
    if not line.startswith("["):
        return None, line
    end = line.find("]")
    if end < 0:
        raise CaseError("%s: unclosed [" % where)
    return line[1:end].split(), line[end + 1:].strip()


def cond_holds(cond, server, mode):
    """[a b] holds when every term holds; a term is alternatives joined by
    '|', each a server or mode name, or its negation with '!'."""
    if not cond:
        return True
    facts = {server, mode}
    for term in cond:
        if not any((alt[1:] not in facts) if alt.startswith("!")
                   else (alt in facts) for alt in term.split("|")):
            return False
    return True


# ----------------------------------------------------------- expansion
def expand(text, env, root):
    def one(m):
        inner = m.group(1)
        if inner.startswith("lm:"):
            st = os.stat(os.path.join(root, inner[3:]))
            return email.utils.formatdate(st.st_mtime, usegmt=True)
        rep = re.match(r"^(.+)\*([0-9]+)$", inner)
        if rep:
            return rep.group(1) * int(rep.group(2))
        if inner not in env:
            raise CaseError("undefined ${%s}" % inner)
        return env[inner]
    return re.sub(r"\$\{([^}]*)\}", one, text)


def unescape(text):
    """TEXT as UTF-8 bytes, with \\n, \\r, \\t, \\\\ and \\xHH."""
    out, i, raw = bytearray(), 0, text.encode("utf-8")
    simple = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t",
              ord("\\"): b"\\"}
    while i < len(raw):
        if raw[i] == ord("\\") and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt in simple:
                out += simple[nxt]
                i += 2
                continue
            if nxt == ord("x") and i + 3 < len(raw):
                out.append(int(raw[i + 2:i + 4], 16))
                i += 4
                continue
        out.append(raw[i])
        i += 1
    return bytes(out)


# -------------------------------------------------------------- the client
class Answer:
    def __init__(self):
        self.status = ""
        self.status_line = ""
        self.headers = []       # "Name: value", CR removed
        self.body = b""
        self.rest = b""         # every byte after the header block


def fetch(host, port, method, path, headers, data, source=None):
    req = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (host, port),
           "User-Agent: sluice-cases", "Accept: */*", "Connection: close"]
    req += headers
    if data is not None:
        req += ["Content-Type: application/x-www-form-urlencoded",
                "Content-Length: %d" % len(data)]
    wire = ("\r\n".join(req) + "\r\n\r\n").encode("utf-8")
    if data is not None:
        wire += data
    a, raw = Answer(), b""
    deadline = time.monotonic() + TIMEOUT
    try:
        # source: the client's own address (127.0.0.N), bound before the
        # connect, so that the server passes it to sluice as REMOTE_ADDR.
        src = None if source is None else (source, 0)
        with socket.create_connection((host, port), timeout=TIMEOUT,
                                      source_address=src) as s:
            s.sendall(wire)
            while True:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                chunk = s.recv(65536)
                if not chunk:
                    break
                raw += chunk
    except ConnectionResetError:
        if not raw:
            a.status = "error:reset"
            return a
    except OSError as e:
        a.status = "error:%s" % e
        return a
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        a.status = "error:no header block (%d bytes)" % len(raw)
        return a
    lines = head.decode("latin-1").split("\r\n")
    a.status_line, a.headers, a.rest = lines[0], lines[1:], rest
    parts = a.status_line.split(" ", 2)
    a.status = parts[1] if len(parts) > 1 else "error:bad status line"
    a.body = body_of(a, method)
    return a


def body_of(a, method):
    if method == "HEAD" or a.status in ("204", "304"):
        return b""
    if "chunked" in header_value(a, "Transfer-Encoding").lower():
        return dechunk(a)
    cl = header_value(a, "Content-Length")
    if cl.isdigit():
        if len(a.rest) < int(cl):
            a.status = "truncated (%d of %s bytes)" % (len(a.rest), cl)
        return a.rest[:int(cl)]
    return a.rest


def dechunk(a):
    out, buf = b"", a.rest
    while True:
        size_line, sep, buf = buf.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            a.status = "truncated (bad chunk)"
            return out
        if size == 0:
            return out
        if len(buf) < size + 2:
            a.status = "truncated (short chunk)"
            return out + buf[:size]
        out, buf = out + buf[:size], buf[size + 2:]


def header_lines(a, name):
    return [h for h in a.headers
            if h.split(":", 1)[0].lower() == name.lower()]


def header_value(a, name):
    got = header_lines(a, name)
    return got[0].split(":", 1)[1].strip() if got else ""


def dump(a, with_body):
    """Status line and headers less Date (and the body): for comparing two
    answers byte for byte. The headers sorted (stably, so lines of one
    name keep their order): RFC 9110 §5.3 gives the order of different
    fields no meaning, and in offload mode one answer is sluice's and the
    other the server's."""
    hdrs = sorted((h for h in a.headers if not h.lower().startswith("date:")),
                  key=lambda h: h.split(":", 1)[0].lower())
    out = "\n".join([a.status_line] + hdrs)
    return out.encode("latin-1") + (b"\n" + a.body if with_body else b"")


# ----------------------------------------------------------- the checks
class Run:
    def __init__(self, opts):
        self.opts = opts
        self.passed = self.failed = self.xfailed = 0
        self.answers = {}
        self.env = {}

    def report(self, case, ok, what, detail=()):
        if case.xfail is not None:
            if ok:
                return
            case.xfail_hit = True
            print("not ok %s: %s # expected failure: %s" %
                  (case.name, what, case.xfail))
            for d in detail:
                print("       %s" % d)
            return
        if ok:
            self.passed += 1
            print("ok   %s: %s" % (case.name, what))
        else:
            self.failed += 1
            print("not ok %s: %s" % (case.name, what))
            for d in detail:
                print("       %s" % d)

    def sha_want(self, arg):
        if re.match(r"^[0-9a-f]{64}$", arg):
            return arg, arg[:12]
        with open(os.path.join(self.opts.root, arg), "rb") as f:
            return hashlib.sha256(f.read()).hexdigest(), arg

    def check(self, case, a, word, arg):
        o = self.opts
        got_status = "got: %s" % a.status
        if word == "status":
            self.report(case, a.status in arg.split("|"), "status %s" % arg,
                        [got_status, a.body[:300].decode("latin-1")])
        elif word == "status-line":
            self.report(case, a.status_line == arg, "'%s'" % arg,
                        ["got: %s" % a.status_line])
        elif word == "header":
            got = "\n".join(header_lines(a, arg.split(":", 1)[0]))
            self.report(case, got == arg, arg, ["got: %s" % (got or
                                                             "<absent>")])
        elif word == "no-header":
            got = header_lines(a, arg)
            self.report(case, not got, "no %s header" % arg,
                        ["got: %s" % g for g in got])
        elif word == "header-re":
            name = arg.split(":", 1)[0]
            got = "\n".join(header_lines(a, name))
            ok = bool(got) and re.fullmatch(arg, got) is not None
            self.report(case, ok, "%s matches %s" % (name, arg),
                        ["got: %s" % (got or "<absent>")])
        elif word == "header-count":
            name, _, n = arg.rpartition(" ")
            got = len(header_lines(a, name))
            self.report(case, str(got) == n, "%s %s header(s)" % (n, name),
                        ["got: %d" % got])
        elif word == "body":
            want = unescape(arg)
            self.report(case, a.body == want, "body '%s'" % arg,
                        ["got: %r" % a.body[:200], got_status])
        elif word == "body-sha":
            want, label = self.sha_want(arg)
            got = hashlib.sha256(a.body).hexdigest()
            self.report(case, got == want, "body sha256 = %s" % label,
                        ["want %s" % want, "got  %s (%d bytes, status %s)" %
                         (got, len(a.body), a.status)])
        elif word == "body-empty":
            self.report(case, a.body == b"", "empty body",
                        ["got %d bytes" % len(a.body)])
        elif word == "body-lacks":
            self.report(case, unescape(arg) not in a.body,
                        "body lacks '%s'" % arg, ["got: %r" % a.body[:200]])
        elif word == "head-no-body":
            self.report(case, a.rest == b"", "HEAD, no body",
                        ["%d bytes after the header block" % len(a.rest)])
        elif word == "no-file":
            ok = a.status not in ("200", "206") and FILE_MARK not in a.body
            self.report(case, ok, "not the file (status %s)" % a.status,
                        ["got: %r" % a.body[:200]])
        elif word == "no-offload-header":
            got = [h for h in a.headers
                   if h.split(":", 1)[0].lower() in OFFLOAD_HEADERS]
            self.report(case, not got, "no offload header to the client",
                        got)
        elif word in ("same-headers-as", "same-as"):
            body = word == "same-as"
            names = arg.split()
            others = [self.answers.get(n) for n in names]
            ok = all(x is not None and dump(x, body) == dump(a, body)
                     for x in others)
            what = "same %s as %s" % ("bytes" if body else "headers",
                                      " and ".join(names))
            self.report(case, ok, what, ["mine: %r" % dump(a, body)[:300]] +
                        ["%s: %r" % (n, dump(x, body)[:300] if x else None)
                         for n, x in zip(names, others)])
        elif word == "save":
            var, _, name = arg.partition(" ")
            if header_lines(a, name):
                self.env[var] = header_value(a, name)
        else:
            raise CaseError("unknown word %s" % word)

    def lines_of(self, case, defines):
        """The case's directives with every `use` replaced, in order."""
        out = []
        for line in case.lines:
            cond, word, arg, where = line
            if not cond_holds(cond, self.opts.server, self.opts.mode):
                continue
            if word == "use":
                if arg not in defines:
                    raise CaseError("%s: no define %s" % (where, arg))
                out += self.lines_of(defines[arg], defines)
            else:
                out.append(line)
        return out

    def run_case(self, case, defines):
        o = self.opts
        lines = self.lines_of(case, defines)
        case.xfail = None
        case.xfail_hit = False
        user = data = source = None
        for _, word, arg, _ in lines:
            if word == "xfail":
                case.xfail = arg
            elif word == "user":
                user = arg
            elif word == "data":
                data = arg
            elif word == "from":
                source = arg
        try:
            headers = [expand(h, self.env, o.root) for c, h in case.headers
                       if cond_holds(c, o.server, o.mode)]
            path = expand(case.path, self.env, o.root)
            if user is not None:
                headers.append("Authorization: Basic " + base64.b64encode(
                    user.encode("utf-8")).decode("ascii"))
            a = fetch(o.host, o.port, case.method, path, headers,
                      None if data is None else unescape(data), source)
            self.answers[case.name] = a
            for _, word, arg, _ in lines:
                if word not in REQUEST_WORDS + ("xfail",):
                    self.check(case, a, word, expand(arg, self.env, o.root))
        except (CaseError, OSError) as e:
            self.report(case, False, "runs", [str(e)])
        if case.xfail is not None:
            if case.xfail_hit:
                self.xfailed += 1
            else:
                self.failed += 1
                print("not ok %s: expected to fail (%s) but passed: remove "
                      "its xfail line" % (case.name, case.xfail))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--server", required=True)
    p.add_argument("--mode", required=True)
    p.add_argument("files", nargs="+")
    o = p.parse_args()
    m = re.match(r"^http://([^:/]+):([0-9]+)$", o.base)
    if not m:
        sys.exit("cases.py: --base wants http://HOST:PORT")
    o.host, o.port = m.group(1), int(m.group(2))
    try:
        cases, defines = parse(o.files)
    except (CaseError, OSError) as e:
        sys.exit("cases.py: %s" % e)
    run = Run(o)
    for case in cases:
        if cond_holds(case.cond, o.server, o.mode):
            run.run_case(case, defines)
    sys.stdout.flush()
    tail = ", %d expected failures" % run.xfailed if run.xfailed else ""
    print("cases: %d passed, %d failed%s" % (run.passed, run.failed, tail))
    sys.exit(1 if run.failed else 0)


if __name__ == "__main__":
    main()
