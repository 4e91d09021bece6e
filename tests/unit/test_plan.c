/*
 * test_plan: the contract's answer table (DESIGN.md section 1, "The
 * answers") as named rows against the pure planning step, src/plan.c.
 *
 * Each row is a request (its FastCGI parameters, read and parsed by
 * src/request.c as the server does), the facts the server would gather
 * (the job row, the downloads state, the file's fstat) and the time; the
 * answer is the status, the reason, the body kind, the range, the header
 * lines that must (or must not) be there, and which facts the plan asked
 * for, in order: J (the job), L (a GET's download: joined, or opened
 * within the limit, one atomic step), F (the file). So a refused request
 * is seen to do no I/O past its refusal, and the limit to come before the
 * file. Whether a response opened a download is the state database's
 * answer (test_audit), not the plan's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "cases.h"
#include "config.h"
#include "job.h"
#include "plan.h"
#include "policy.h"
#include "request.h"

#define NOW	INT64_C(1700000000)
#define MTIME	(NOW - 3600)
#define SIZE	1000
#define INO	42

/* The file as fstat sees it; zero is the good default. */
enum file_kind {
	F_OK = 0,
	F_MISSING,	/* openat2: ENOENT */
	F_ESCAPE,	/* openat2: EXDEV */
	F_FIFO,		/* opened, not a regular file */
	F_SHORT,	/* opened, 999 bytes where the row says 1000 */
	F_EMPTY		/* a 0-byte file, and the row says 0 */
};

enum { B_ANY = 0, B_NONE, B_TEXT, B_FILE };
#define NO	(-1)

struct plan_case {
	const char	*name;
	/* The request. */
	const char	*method;	/* default GET */
	const char	*uri;		/* default /download/job1 */
	const char	*user;
	const char	*range;
	const char	*if_match, *if_none_match, *ims, *ius, *if_range;
	int		 draining;
	/* The facts. */
	enum plan_lookup lookup;	/* default FOUND */
	enum job_status	 status;	/* default JOB_DONE */
	int		 st_set;
	const char	*owner;
	int		 token;		/* the job has token "secret" */
	int		 expired;
	int64_t		 max;		/* with has_max */
	int		 has_max;
	enum plan_download download;	/* given when asked; default OPENED */
	enum file_kind	 file;
	const char	*path;		/* default exports/a.csv */
	const char	*type;		/* default text/csv; "-": NULL */
	const char	*fname;		/* default report.csv; "-": NULL */
	int		 sha;		/* the job has a SHA-256 */
	unsigned	 perm;		/* the file's mode bits; default 0644 */
	int64_t		 fuid;		/* the file's owner */
	int64_t		 peer;		/* the web server's uid; 0: unknown */
	enum config_offload offload;
	/* The answer. */
	int		 want;
	const char	*why;
	int		 bodyk;		/* B_ANY: not checked */
	const char	*needs;		/* facts asked for, in order */
	int64_t		 start, length;	/* checked when length > 0 */
	const char	*streamed;	/* offload mode: why sluice sends it */
	const char	*hdr;		/* lines, '|'-separated; "-Name": absent */
};

#define ST(s)	.status = (s), .st_set = 1

#define ERR_HDRS "Content-Type: text/plain; charset=utf-8|Cache-Control: " \
    "no-store|Referrer-Policy: no-referrer|X-Content-Type-Options: nosniff|" \
    "-ETag|-Content-Disposition|-Accept-Ranges"

static const struct plan_case plan_cases[] = {
	/* 1. Method: 405 with Allow, before anything else but the drain. */
	{ "POST", .method = "POST", .want = 405, .why = "method",
	    .bodyk = B_TEXT, .needs = "",
	    .hdr = "Allow: GET, HEAD|Content-Length: 19|" ERR_HDRS },
	{ "PUT of a bad id: method first", .method = "PUT",
	    .uri = "/download/a%41", .want = 405, .why = "method",
	    .needs = "", .bodyk = B_TEXT },
	{ "draining before the method", .method = "POST", .draining = 1,
	    .want = 503, .why = "draining", .needs = "",
	    .bodyk = B_TEXT, .hdr = "Retry-After: 5|" ERR_HDRS },
	{ "draining GET", .draining = 1, .want = 503, .why = "draining",
	    .needs = "", .bodyk = B_TEXT },

	/* 2. The path and the id: 400, no lookup. */
	{ "empty id", .uri = "/download/", .want = 400, .why = "empty_id",
	    .needs = "", .bodyk = B_TEXT,
	    .hdr = "Content-Length: 12|" ERR_HDRS },
	{ "extra segment", .uri = "/download/job1/a/b", .want = 400,
	    .why = "extra_segment", .needs = "", .bodyk = B_TEXT },
	{ "percent-encoding in the id", .uri = "/download/job%31",
	    .want = 400, .why = "bad_id", .needs = "" },
	{ "dot-dot name segment", .uri = "/download/job1/..", .want = 400,
	    .why = "bad_name_segment", .needs = "" },
	{ "double slash", .uri = "/download//job1", .want = 400,
	    .why = "empty_id", .needs = "" },
	{ "outside the prefix", .uri = "/other/job1", .want = 404,
	    .why = "outside_prefix", .needs = "" },
	{ "If-Match over its field", .if_match = "@LONG@", .want = 400,
	    .why = "header_too_long", .needs = "" },
	{ "HEAD of a bad id: 400 without a body", .method = "HEAD",
	    .uri = "/download/a.b", .want = 400, .why = "bad_id",
	    .needs = "", .bodyk = B_NONE,
	    .hdr = "Content-Length: 12|" ERR_HDRS },
	{ "name segment is ignored", .uri = "/download/job1/any%20name.csv",
	    .want = 200, .why = "ok", .needs = "JLF",
	    .bodyk = B_FILE },

	/* 3. Lookup, then token: one 404 for all. */
	{ "unknown id", .lookup = PLAN_LOOKUP_NOT_FOUND, .want = 404,
	    .why = "unknown_id", .needs = "J", .bodyk = B_TEXT,
	    .hdr = "Content-Length: 10|" ERR_HDRS },
	{ "jobs database busy", .lookup = PLAN_LOOKUP_BUSY, .want = 503,
	    .why = "db_busy", .needs = "J", .hdr = "Retry-After: 5" },
	{ "jobs database error", .lookup = PLAN_LOOKUP_ERROR, .want = 500,
	    .why = "db_error", .needs = "J" },
	{ "token needed, none given", .token = 1, .want = 404,
	    .why = "token", .needs = "J", .hdr = "Content-Length: 10" },
	{ "token needed, wrong one", .token = 1,
	    .uri = "/download/job1?token=guess", .want = 404, .why = "token",
	    .needs = "J" },
	{ "token needed, right one", .token = 1,
	    .uri = "/download/job1?token=secret", .want = 200, .why = "ok",
	    .needs = "JLF" },
	{ "token before owner", .token = 1, .owner = "alice", .user = "bob",
	    .want = 404, .why = "token", .needs = "J" },

	/* 4. Owner. */
	{ "owner, same user", .owner = "alice", .user = "alice", .want = 200,
	    .why = "ok", .needs = "JLF" },
	{ "owner, other user", .owner = "alice", .user = "bob", .want = 403,
	    .why = "owner", .needs = "J", .hdr = "Content-Length: 10" },
	{ "owner, no user", .owner = "alice", .want = 403, .why = "owner",
	    .needs = "J" },
	{ "owner before pending", .owner = "alice", ST(JOB_PENDING),
	    .want = 403, .why = "owner", .needs = "J" },

	/* 5. Job state, then the limit: never the file. */
	{ "pending", ST(JOB_PENDING), .want = 409, .why = "pending",
	    .needs = "J", .hdr = "Retry-After: 30|" ERR_HDRS },
	{ "running", ST(JOB_RUNNING), .want = 409, .why = "running",
	    .needs = "J", .hdr = "Retry-After: 30" },
	{ "failed", ST(JOB_FAILED), .want = 410, .why = "failed",
	    .needs = "J", .hdr = "Content-Length: 37|-Retry-After" },
	{ "revoked", ST(JOB_REVOKED), .want = 410, .why = "revoked",
	    .needs = "J" },
	{ "expired", .expired = 1, .want = 410, .why = "expired",
	    .needs = "J" },
	{ "revoked, file missing", ST(JOB_REVOKED), .file = F_MISSING,
	    .want = 410, .why = "revoked", .needs = "J" },
	{ "negative limit is a bad row", .has_max = 1, .max = -1,
	    .want = 500, .why = "max_downloads", .needs = "J" },
	{ "limit, room left", .has_max = 1, .max = 2, .want = 200,
	    .why = "ok", .needs = "JLF",
	    .bodyk = B_FILE },
	{ "limit reached", .has_max = 1, .max = 2,
	    .download = PLAN_DOWNLOAD_LIMIT, .want = 410,
	    .why = "download_limit", .needs = "JL", .bodyk = B_TEXT,
	    .hdr = "Content-Length: 37|" ERR_HDRS },
	{ "limit reached, file missing: 410, not 500", .has_max = 1,
	    .max = 1, .download = PLAN_DOWNLOAD_LIMIT, .file = F_MISSING,
	    .want = 410, .why = "download_limit", .needs = "JL" },
	{ "limit reached, file the wrong size: 410", .has_max = 1,
	    .max = 0, .download = PLAN_DOWNLOAD_LIMIT, .file = F_SHORT,
	    .want = 410, .why = "download_limit", .needs = "JL" },
	{ "limit, state database failed", .has_max = 1, .max = 2,
	    .download = PLAN_DOWNLOAD_FAILED, .want = 503, .why = "audit_failed",
	    .needs = "JL", .hdr = "Retry-After: 5" },
	{ "limit, audit off", .has_max = 1, .max = 2,
	    .download = PLAN_DOWNLOAD_OFF, .want = 503, .why = "audit_off",
	    .needs = "JL" },
	{ "limit, expired first", .has_max = 1, .max = 2, .expired = 1,
	    .download = PLAN_DOWNLOAD_LIMIT, .want = 410, .why = "expired",
	    .needs = "J" },
	{ "limit, HEAD never counts", .method = "HEAD", .has_max = 1,
	    .max = 0, .download = PLAN_DOWNLOAD_LIMIT, .want = 200, .why = "ok",
	    .needs = "JF", .bodyk = B_NONE,
	    .hdr = "Content-Length: 1000" },
	{ "limit reached: a continuation from another client",
	    .has_max = 1, .max = 0, .download = PLAN_DOWNLOAD_LIMIT,
	    .range = "bytes=500-", .want = 410, .why = "download_limit",
	    .needs = "JL" },
	{ "limit reached: the client's open download, a continuation",
	    .has_max = 1, .max = 1, .download = PLAN_DOWNLOAD_JOINED,
	    .range = "bytes=500-", .want = 206, .why = "ok", .needs = "JLF",
	    .start = 500, .length = 500 },
	{ "limit reached: the client's open download, the whole file",
	    .has_max = 1, .max = 1, .download = PLAN_DOWNLOAD_JOINED,
	    .want = 200, .why = "ok", .needs = "JLF", .bodyk = B_FILE },
	{ "limit, a range from 0 opens one", .has_max = 1, .max = 1,
	    .range = "bytes=0-9", .want = 206, .why = "ok", .needs = "JLF",
	    .start = 0, .length = 10 },
	{ "limit, If-Range turns a range whole", .has_max = 1, .max = 1,
	    .range = "bytes=500-", .if_range = "\"other\"", .want = 200,
	    .why = "ok", .needs = "JLF" },
	{ "limit reached: 410 before an unsatisfiable range", .has_max = 1,
	    .max = 0, .download = PLAN_DOWNLOAD_LIMIT, .range = "bytes=5000-",
	    .want = 410, .why = "download_limit", .needs = "JL" },
	{ "limit, an unsatisfiable range withdraws", .has_max = 1, .max = 1,
	    .range = "bytes=5000-", .want = 416, .why = "range",
	    .needs = "JLF" },
	{ "limit, 304 withdraws", .has_max = 1, .max = 1,
	    .if_none_match = "@ETAG@", .want = 304, .why = "ok",
	    .needs = "JLF", .bodyk = B_NONE },
	{ "limit, 500 after the download", .has_max = 1, .max = 1,
	    .file = F_MISSING, .want = 500, .why = "file_missing",
	    .needs = "JLF" },
	{ "no limit: the download still joined or opened", .want = 200,
	    .why = "ok", .needs = "JLF" },
	{ "no limit, state database failed: served", .want = 200,
	    .download = PLAN_DOWNLOAD_FAILED, .why = "ok", .needs = "JLF",
	    .bodyk = B_FILE },
	{ "no limit, audit off: served", .want = 200,
	    .download = PLAN_DOWNLOAD_OFF, .why = "ok", .needs = "JLF",
	    .bodyk = B_FILE },
	/* 6. The file: 500, never a partial 200. */
	{ "file missing", .file = F_MISSING, .want = 500,
	    .why = "file_missing", .needs = "JLF", .bodyk = B_TEXT,
	    .hdr = "Content-Length: 15|" ERR_HDRS },
	{ "escape", .file = F_ESCAPE, .want = 500, .why = "escape",
	    .needs = "JLF" },
	{ "not a regular file", .file = F_FIFO, .want = 500,
	    .why = "not_regular", .needs = "JLF" },
	{ "size differs from the row", .file = F_SHORT, .want = 500,
	    .why = "size_mismatch", .needs = "JLF" },
	{ "dot-dot inside the root", .path = "exports/../a.csv",
	    .want = 500, .why = "path_not_plain", .needs = "JLF" },
	{ "size before preconditions", .file = F_SHORT,
	    .if_none_match = "*", .want = 500, .why = "size_mismatch" },

	/* 7. Preconditions (RFC 9110 13.2.2). */
	{ "If-Match, other tag", .if_match = "\"x\"", .want = 412,
	    .why = "precondition", .bodyk = B_TEXT,
	    .hdr = "Content-Length: 20|" ERR_HDRS },
	{ "If-Match, this tag", .if_match = "@ETAG@", .want = 200,
	    .why = "ok" },
	{ "If-Match *", .if_match = "*", .want = 200, .why = "ok" },
	{ "If-Unmodified-Since before mtime", .ius = "@BEFORE@",
	    .want = 412, .why = "precondition" },
	{ "If-Unmodified-Since at mtime", .ius = "@LM@", .want = 200,
	    .why = "ok" },
	{ "If-None-Match, this tag: 304", .if_none_match = "@ETAG@",
	    .want = 304, .why = "ok", .bodyk = B_NONE,
	    .hdr = "Status: 304 Not Modified|ETag: @ETAG@|Last-Modified: @LM@|"
	    "Cache-Control: private|-Content-Length|-Content-Type|"
	    "-Repr-Digest|-X-Accel-Buffering|-Accept-Ranges" },
	{ "If-None-Match *: 304", .if_none_match = "*", .want = 304 },
	{ "If-None-Match, other tag", .if_none_match = "\"x\"", .want = 200 },
	{ "If-Modified-Since at mtime: 304", .ims = "@LM@", .want = 304 },
	{ "If-Modified-Since before mtime", .ims = "@BEFORE@", .want = 200 },
	{ "If-None-Match wins over If-Modified-Since",
	    .if_none_match = "\"x\"", .ims = "@LM@", .want = 200 },
	{ "HEAD, If-None-Match: 304", .method = "HEAD",
	    .if_none_match = "@ETAG@", .want = 304, .bodyk = B_NONE },
	{ "412 before 416", .if_match = "\"x\"", .range = "bytes=5000-",
	    .want = 412 },
	{ "304 before 416", .if_none_match = "*", .range = "bytes=5000-",
	    .want = 304 },

	/* 8. Range: one range, 206; none satisfiable, 416. */
	{ "range from 0", .range = "bytes=0-99", .want = 206,
	    .start = 0, .length = 100, .bodyk = B_FILE,
	    .hdr = "Status: 206 Partial Content|Content-Range: bytes 0-99/1000|"
	    "Content-Length: 100|Accept-Ranges: bytes" },
	{ "range from 100", .range = "bytes=100-199", .want = 206,
	    .start = 100, .length = 100,
	    .hdr = "Content-Range: bytes 100-199/1000" },
	{ "suffix range", .range = "bytes=-100", .want = 206, .start = 900,
	    .length = 100, .hdr = "Content-Range: bytes 900-999/1000" },
	{ "open range", .range = "bytes=990-", .want = 206, .start = 990,
	    .length = 10, .hdr = "Content-Length: 10" },
	{ "end past the size", .range = "bytes=990-5000", .want = 206,
	    .start = 990, .length = 10 },
	{ "unsatisfiable", .range = "bytes=1000-", .want = 416,
	    .why = "range", .bodyk = B_TEXT,
	    .hdr = "Content-Range: bytes */1000|Content-Length: 22|" ERR_HDRS },
	{ "several ranges: the whole file", .range = "bytes=0-1,5-6",
	    .want = 200, .length = 1000,
	    .hdr = "Content-Length: 1000|-Content-Range" },
	{ "unknown unit is ignored", .range = "items=0-1", .want = 200 },
	{ "malformed range is ignored", .range = "bytes=x-y", .want = 200 },
	{ "HEAD ignores Range", .method = "HEAD", .range = "bytes=0-9",
	    .want = 200, .bodyk = B_NONE,
	    .hdr = "Content-Length: 1000|-Content-Range" },
	{ "If-Range, this tag", .range = "bytes=100-", .if_range = "@ETAG@",
	    .want = 206, .start = 100, .length = 900 },
	{ "If-Range, other tag", .range = "bytes=100-",
	    .if_range = "\"x\"", .want = 200 },
	{ "If-Range, weak tag", .range = "bytes=100-",
	    .if_range = "W/\"x\"", .want = 200 },
	{ "If-Range, the date", .range = "bytes=100-", .if_range = "@LM@",
	    .want = 206, .start = 100, .length = 900 },
	{ "empty file", .file = F_EMPTY, .want = 200,
	    .hdr = "Content-Length: 0" },
	{ "empty file, any range: 416", .file = F_EMPTY, .range = "bytes=0-",
	    .want = 416, .hdr = "Content-Range: bytes */0" },

	/* The headers of a 200. */
	{ "200: the contract's headers", .want = 200, .why = "ok",
	    .start = 0, .length = 1000, .bodyk = B_FILE,
	    .hdr = "Status: 200 OK|Content-Type: text/csv|"
	    "Content-Length: 1000|Accept-Ranges: bytes|ETag: @ETAG@|"
	    "Last-Modified: @LM@|Content-Disposition: attachment; "
	    "filename=\"report.csv\"; filename*=UTF-8''report.csv|"
	    "Cache-Control: private|Referrer-Policy: no-referrer|"
	    "X-Content-Type-Options: nosniff|X-Accel-Buffering: no|"
	    "-Repr-Digest|-Content-Range|-Retry-After" },
	{ "no content_type: octet-stream", .type = "-", .want = 200,
	    .hdr = "Content-Type: application/octet-stream" },
	{ "no file_name: the id", .fname = "-", .want = 200,
	    .hdr = "Content-Disposition: attachment; filename=\"job1\"; "
	    "filename*=UTF-8''job1" },
	{ "a name with a quote and UTF-8", .fname = "a\"b \xc3\xa9.csv",
	    .want = 200, .hdr = "Content-Disposition: attachment; "
	    "filename=\"a'b e.csv\"; filename*=UTF-8''a%22b%20%C3%A9.csv" },
	{ "sha256: Repr-Digest", .sha = 1, .want = 200,
	    .hdr = "Repr-Digest: sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:" },
	{ "sha256: a 206 keeps Repr-Digest", .sha = 1, .range = "bytes=5-",
	    .want = 206, .hdr = "Repr-Digest: sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:" },
	{ "HEAD: the GET's headers, no body", .method = "HEAD", .sha = 1,
	    .want = 200, .bodyk = B_NONE,
	    .hdr = "Content-Length: 1000|Content-Type: text/csv|ETag: @ETAG@|"
	    "Repr-Digest: sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:" },

	/*
	 * Offload: sluice decides every answer as when streaming; a GET's
	 * 200 or 206 goes to the server only where it sends just those
	 * bytes, and the rest is sluice's own (offload.c).
	 */
#define XS2	.offload = CONFIG_OFFLOAD_LIGHTTPD
#define XA	.offload = CONFIG_OFFLOAD_XACCEL
#define XS	.offload = CONFIG_OFFLOAD_XSENDFILE
	/* lighttpd, X-Sendfile: a whole 200 of a flat path only. */
	{ "lighttpd: a flat file, sluice's headers", XS2, .path = "a.csv",
	    .want = 200, .why = "ok", .bodyk = B_NONE, .needs = "JLF",
	    .hdr = "Status: 200 OK|X-Sendfile: /srv/export/a.csv|"
	    "Content-Length: 1000|ETag: @ETAG@|Last-Modified: @LM@|"
	    "Accept-Ranges: bytes|Content-Type: text/csv|"
	    "Cache-Control: private|Referrer-Policy: no-referrer" },
	{ "lighttpd: a 206 is streamed (X-Sendfile2 follows symlinks)", XS2,
	    .path = "a.csv", .range = "bytes=100-", .want = 206,
	    .bodyk = B_FILE, .streamed = "range", .start = 100,
	    .length = 900, .hdr = "Content-Range: bytes 100-999/1000|"
	    "-X-Sendfile" },
	{ "lighttpd: several ranges, the whole file handed over", XS2,
	    .path = "a.csv", .range = "bytes=0-1,3-4", .want = 200,
	    .bodyk = B_NONE, .hdr = "X-Sendfile: /srv/export/a.csv|"
	    "-Content-Range" },
	{ "lighttpd: a malformed range, the whole file handed over", XS2,
	    .path = "a.csv", .range = "bytes=5-1", .want = 200,
	    .bodyk = B_NONE, .hdr = "X-Sendfile: /srv/export/a.csv" },
	{ "lighttpd: If-Match fine, handed over (lighttpd ignores it)", XS2,
	    .path = "a.csv", .if_match = "@ETAG@", .want = 200,
	    .bodyk = B_NONE },
	{ "lighttpd: If-None-Match of another: streamed", XS2,
	    .path = "a.csv", .if_none_match = "\"x\"", .want = 200,
	    .bodyk = B_FILE, .streamed = "conditional" },
	{ "lighttpd: space, comma and % encoded", XS2,
	    .path = "a b,c%.csv", .want = 200, .bodyk = B_NONE,
	    .hdr = "X-Sendfile: /srv/export/a%20b%2Cc%25.csv" },
	{ "lighttpd: a nested path is streamed (symlink race)", XS2,
	    .want = 200, .bodyk = B_FILE, .streamed = "nested_path",
	    .hdr = "-X-Sendfile|Content-Length: 1000" },
	{ "lighttpd: not UTF-8, which lighttpd refuses", XS2,
	    .path = "lat\xe9.txt", .want = 500, .why = "offload_not_utf8",
	    .bodyk = B_TEXT, .hdr = "-X-Sendfile" },
	{ "lighttpd: HEAD with Range, sluice's 200", XS2, .path = "a.csv",
	    .method = "HEAD", .range = "bytes=0-4", .want = 200,
	    .bodyk = B_NONE, .hdr = "Content-Length: 1000|-Content-Range|"
	    "-X-Sendfile" },
	{ "lighttpd: If-None-Match, sluice's 304", XS2, .path = "a.csv",
	    .if_none_match = "@ETAG@", .want = 304, .bodyk = B_NONE,
	    .hdr = "-X-Sendfile|ETag: @ETAG@" },
	{ "lighttpd: If-Match stale, sluice's 412", XS2, .path = "a.csv",
	    .if_match = "\"x\"", .want = 412, .bodyk = B_TEXT,
	    .hdr = "-X-Sendfile" },
	{ "lighttpd: If-Unmodified-Since past, sluice's 412", XS2,
	    .path = "a.csv", .ius = "@BEFORE@", .want = 412,
	    .hdr = "-X-Sendfile" },
	{ "lighttpd: unsatisfiable, sluice's 416", XS2, .path = "a.csv",
	    .range = "bytes=1000-", .want = 416, .bodyk = B_TEXT,
	    .hdr = "Content-Range: bytes */1000|-X-Sendfile" },
	{ "lighttpd: an empty file is streamed", XS2, .path = "a.csv",
	    .file = F_EMPTY, .want = 200, .streamed = "empty",
	    .hdr = "-X-Sendfile" },
	/* The web server opens the file as its own uid (SO_PEERCRED). */
	{ "offload: a file only its owner reads, the server another uid",
	    XS2, .path = "a.csv", .perm = 0600, .fuid = 1000, .peer = 33,
	    .want = 500, .why = "offload_unreadable", .needs = "JLF",
	    .bodyk = B_TEXT },
	{ "offload: a file only its owner reads, the server the owner",
	    XA, .perm = 0600, .fuid = 33, .peer = 33, .want = 200,
	    .bodyk = B_NONE },
	{ "offload: group-readable (the server's groups unknown)", XA,
	    .perm = 0640, .fuid = 1000, .peer = 33, .want = 200 },
	{ "offload: the server's uid unknown (TCP)", XA, .perm = 0600,
	    .fuid = 1000, .want = 200 },
	{ "offload: HEAD of an unreadable file is 500 too", XA,
	    .method = "HEAD", .perm = 0400, .fuid = 1000, .peer = 33,
	    .want = 500, .why = "offload_unreadable", .bodyk = B_NONE },
	/* nginx, X-Accel-Redirect: nginx's ETag; it reads Range again. */
	{ "x-accel-redirect, encoded", XA, .path = "exports/a b#.csv",
	    .want = 200, .bodyk = B_NONE,
	    .hdr = "Status: 200 OK|"
	    "X-Accel-Redirect: /internal/exports/a%20b%23.csv|-ETag|"
	    "-Content-Length|-Accept-Ranges|Content-Disposition: "
	    "attachment; filename=\"report.csv\"; "
	    "filename*=UTF-8''report.csv" },
	{ "x-accel-redirect: HEAD is sluice's, with nginx's ETag", XA,
	    .method = "HEAD", .want = 200, .bodyk = B_NONE,
	    .hdr = "ETag: \"6553e2f0-3e8\"|Content-Length: 1000|"
	    "-X-Accel-Redirect" },
	{ "x-accel-redirect: a plain range, nginx makes the 206", XA,
	    .range = "bytes=100-", .want = 206, .bodyk = B_NONE,
	    .start = 100, .length = 900,
	    .hdr = "Status: 200 OK|X-Accel-Redirect: /internal/exports/a.csv" },
	{ "x-accel-redirect: If-Range, the ETag sent", XA,
	    .range = "bytes=-10", .if_range = "\"6553e2f0-3e8\"",
	    .want = 206, .bodyk = B_NONE, .start = 990, .length = 10 },
	{ "x-accel-redirect: If-Range, the date sent", XA,
	    .range = "bytes=10-19", .if_range = "@LM@", .want = 206,
	    .bodyk = B_NONE, .start = 10, .length = 10 },
	{ "x-accel-redirect: If-Range, sluice's old ETag: whole, streamed",
	    XA, .range = "bytes=10-19", .if_range = "@ETAG@", .want = 200,
	    .bodyk = B_FILE, .streamed = "range_ignored" },
	{ "x-accel-redirect: several ranges: whole, streamed", XA,
	    .range = "bytes=0-1,3-4", .want = 200, .bodyk = B_FILE,
	    .streamed = "range_ignored", .hdr = "-X-Accel-Redirect" },
	{ "x-accel-redirect: an unknown unit: whole, streamed", XA,
	    .range = "items=0-5", .want = 200, .bodyk = B_FILE,
	    .streamed = "range_ignored" },
	{ "x-accel-redirect: a range past 18 digits: streamed", XA,
	    .range = "bytes=7-99999999999999999999999", .want = 206,
	    .bodyk = B_FILE, .streamed = "range_form", .start = 7,
	    .length = 993 },
	{ "x-accel-redirect: If-None-Match of another: streamed", XA,
	    .if_none_match = "\"x\"", .want = 200, .bodyk = B_FILE,
	    .streamed = "conditional" },
	{ "x-accel-redirect: If-Unmodified-Since malformed: streamed", XA,
	    .ius = "yesterday", .want = 200, .bodyk = B_FILE,
	    .streamed = "conditional" },
	{ "x-accel-redirect: If-None-Match *, sluice's 304", XA,
	    .if_none_match = "*", .want = 304, .bodyk = B_NONE },
	{ "x-accel-redirect: a path past PATH_MAX: streamed", XA,
	    .path = "@LONGPATH@", .want = 200, .bodyk = B_FILE,
	    .streamed = "path_too_long" },
	{ "offload, limit reached", XA, .has_max = 1, .max = 0,
	    .download = PLAN_DOWNLOAD_LIMIT, .want = 410,
	    .why = "download_limit", .needs = "JL" },
	{ "offload, file missing", XS2, .file = F_MISSING, .want = 500,
	    .why = "file_missing" },
	{ "offload, dot-dot", XA, .path = "a/./b", .want = 500,
	    .why = "path_not_plain" },
	/* Apache, X-Sendfile (--offload-symlink-race accept): a 200. */
	{ "x-sendfile", XS, .want = 200, .why = "ok", .bodyk = B_NONE,
	    .needs = "JLF",
	    .hdr = "Status: 200 OK|X-Sendfile: /srv/export/exports/a.csv|"
	    "ETag: @ETAG@|Accept-Ranges: bytes|Content-Type: text/csv|"
	    "Cache-Control: private|Referrer-Policy: no-referrer|"
	    "X-Accel-Buffering: no|-Content-Length|-Last-Modified" },
	{ "x-sendfile: a plain range, Apache makes the 206", XS,
	    .range = "bytes=100-199", .want = 206, .bodyk = B_NONE,
	    .start = 100, .length = 100,
	    .hdr = "Status: 200 OK|X-Sendfile: /srv/export/exports/a.csv" },
	{ "x-sendfile: If-Range, the ETag sent", XS, .range = "bytes=7-",
	    .if_range = "@ETAG@", .want = 206, .bodyk = B_NONE },
	{ "x-sendfile: If-Range, the date sent: streamed", XS,
	    .range = "bytes=7-", .if_range = "@LM@", .want = 206,
	    .bodyk = B_FILE, .streamed = "if_range_form",
	    .hdr = "Content-Range: bytes 7-999/1000" },
	{ "x-sendfile: HEAD with Range is sluice's 200", XS,
	    .method = "HEAD", .range = "bytes=0-4", .want = 200,
	    .bodyk = B_NONE, .hdr = "Content-Length: 1000|-X-Sendfile" },
	{ "x-sendfile refuses a %", XS, .path = "exports/a%2e.csv",
	    .want = 500, .why = "offload_path" },
	{ "x-sendfile: a control character: streamed", XS,
	    .path = "exports/a\x01b.csv", .want = 200, .bodyk = B_FILE,
	    .streamed = "path_too_long" },
#undef XS2
#undef XA
#undef XS
};

/* Per row: what the strings in it stand for, once the file is known. */
struct plan_env {
	char	 etag[HTTP_ETAG_SIZE];
	char	 lm[HTTP_DATE_SIZE];
	char	 before[HTTP_DATE_SIZE];
	char	 lng[REQUEST_HEADER_MAX + 2];
};

static const char *
subst(const struct plan_env *e, const char *s)
{
	if (s == NULL)
		return (NULL);
	if (strcmp(s, "@ETAG@") == 0)
		return (e->etag);
	if (strcmp(s, "@LM@") == 0)
		return (e->lm);
	if (strcmp(s, "@BEFORE@") == 0)
		return (e->before);
	if (strcmp(s, "@LONG@") == 0)
		return (e->lng);
	return (s);
}

static void
case_job(const struct plan_case *tc, struct job *job)
{
	unsigned char	 d[32];
	size_t		 i;

	memset(job, 0, sizeof(*job));
	strcpy(job->id, "job1");
	job->status = tc->st_set ? tc->status : JOB_DONE;
	snprintf(job->file_path, sizeof(job->file_path), "%s",
	    tc->path != NULL ? tc->path : "exports/a.csv");
	/* 4,080 bytes, legal for sluice, past PATH_MAX below /srv/export. */
	if (tc->path != NULL && strcmp(tc->path, "@LONGPATH@") == 0) {
		for (i = 0; i < 4080; i++)
			job->file_path[i] = i % 200 == 199 ? '/' : 'a';
		job->file_path[4080] = '\0';
	}
	job->has_file_path = 1;
	job->file_size = tc->file == F_EMPTY ? 0 : SIZE;
	job->has_file_size = 1;
	if (tc->type == NULL || strcmp(tc->type, "-") != 0) {
		snprintf(job->content_type, sizeof(job->content_type), "%s",
		    tc->type != NULL ? tc->type : "text/csv");
		job->has_content_type = 1;
	}
	if (tc->fname == NULL || strcmp(tc->fname, "-") != 0) {
		snprintf(job->file_name, sizeof(job->file_name), "%s",
		    tc->fname != NULL ? tc->fname : "report.csv");
		job->has_file_name = 1;
	}
	if (tc->owner != NULL) {
		strcpy(job->owner, tc->owner);
		job->has_owner = 1;
	}
	if (tc->token) {
		crypto_hash_sha256(d, (const unsigned char *)"secret", 6);
		for (i = 0; i < sizeof(d); i++)
			sprintf(job->token_sha256 + 2 * i, "%02x", d[i]);
		job->has_token = 1;
	}
	if (tc->sha) {
		strcpy(job->sha256, "e3b0c44298fc1c149afbf4c8996fb924"
		    "27ae41e4649b934ca495991b7852b855");
		job->has_sha256 = 1;
	}
	if (tc->expired) {
		job->expires_at = NOW;
		job->has_expires = 1;
	}
	job->has_max_downloads = tc->has_max;
	job->max_downloads = tc->max;
}

/* The file facts the server would gather for this row. */
static void
case_file(const struct plan_case *tc, struct plan_file *f)
{
	memset(f, 0, sizeof(*f));
	f->state = PLAN_FILE_OPEN;
	f->regular = 1;
	f->size = tc->file == F_EMPTY ? 0 : tc->file == F_SHORT ? SIZE - 1 :
	    SIZE;
	f->ino = INO;
	f->perm = tc->perm != 0 ? tc->perm : 0644;
	f->uid = tc->fuid;
	f->mtime_sec = MTIME;
	f->mtime_nsec = 0;
	if (tc->file == F_MISSING || tc->file == F_ESCAPE) {
		f->state = PLAN_FILE_ERROR;
		f->why = tc->file == F_MISSING ? "file_missing" : "escape";
	} else if (tc->file == F_FIFO) {
		f->regular = 0;
		f->size = 0;
	}
}

/* The FastCGI parameters of the row, read and parsed as server.c does. */
static void
case_request(const struct plan_case *tc, const struct plan_env *e,
    struct request *r, struct plan_facts *f, unsigned char *digest)
{
	char		 env[12][REQUEST_HEADER_MAX + 64];
	char		*envp[13];
	size_t		 n = 0;

#define PARAM(name, v) do { if ((v) != NULL) { \
	snprintf(env[n], sizeof(env[n]), "%s=%s", name, subst(e, v)); \
	envp[n] = env[n]; n++; } } while (0)
	PARAM("REQUEST_METHOD", tc->method != NULL ? tc->method : "GET");
	PARAM("REQUEST_URI", tc->uri != NULL ? tc->uri : "/download/job1");
	PARAM("REMOTE_USER", tc->user);
	PARAM("REMOTE_ADDR", "127.0.0.1");
	PARAM("HTTP_RANGE", tc->range);
	PARAM("HTTP_IF_MATCH", tc->if_match);
	PARAM("HTTP_IF_NONE_MATCH", tc->if_none_match);
	PARAM("HTTP_IF_MODIFIED_SINCE", tc->ims);
	PARAM("HTTP_IF_UNMODIFIED_SINCE", tc->ius);
	PARAM("HTTP_IF_RANGE", tc->if_range);
#undef PARAM
	envp[n] = NULL;
	f->read_status = request_read(r, envp);
	if (f->read_status == 0 && r->method != REQUEST_OTHER)
		f->target_status = request_parse_target(r, "/download/");
	if (f->target_status == 0 && r->has_token) {
		crypto_hash_sha256(digest, (const unsigned char *)r->token,
		    strlen(r->token));
		f->token_sha256 = digest;
	}
}

/* Each '|'-separated line must be in the block; "-Name" must not be. */
static void
check_headers(const char *name, const struct plan_env *e, const char *want,
    const char *block)
{
	char		 line[512], full[600];
	const char	*p = want, *bar, *v;
	size_t		 len;

	while (p != NULL && *p != '\0') {
		bar = strchr(p, '|');
		len = bar != NULL ? (size_t)(bar - p) : strlen(p);
		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		p = bar != NULL ? bar + 1 : NULL;
		if (line[0] == '-') {
			snprintf(full, sizeof(full), "\r\n%s:", line + 1);
			if (strstr(block, full) != NULL)
				case_fail(name, "header %s present", line + 1);
			continue;
		}
		if ((v = strstr(line, "@ETAG@")) != NULL)
			snprintf(line + (v - line), sizeof(line) -
			    (size_t)(v - line), "%s", e->etag);
		else if ((v = strstr(line, "@LM@")) != NULL)
			snprintf(line + (v - line), sizeof(line) -
			    (size_t)(v - line), "%s", e->lm);
		snprintf(full, sizeof(full), "%s\r\n", line);
		if (strncmp(block, full, strlen(full)) != 0 &&
		    (snprintf(full, sizeof(full), "\r\n%s\r\n", line),
		    strstr(block, full) == NULL))
			case_fail(name, "header line [%s] missing in\n%s", line,
			    block);
	}
}

/*
 * Ask the plan as the server does, handing it each fact it asks for;
 * record which, in order, in needs. At most one of each.
 */
static enum plan_next
run_plan(const struct plan_case *tc, struct plan_facts *f, struct plan *p,
    struct job *job, char *needs)
{
	struct plan_facts	 all = *f;
	enum plan_next		 next;
	size_t			 n = 0;

	all.lookup = tc->lookup != PLAN_LOOKUP_UNKNOWN ? tc->lookup :
	    PLAN_LOOKUP_FOUND;
	all.download = tc->download != PLAN_DOWNLOAD_UNKNOWN ? tc->download :
	    PLAN_DOWNLOAD_OPENED;
	case_file(tc, &all.file);
	case_job(tc, job);
	while ((next = plan_make(f, p)) != PLAN_READY && n < 3) {
		if (next == PLAN_NEED_JOB) {
			needs[n++] = 'J';
			f->lookup = all.lookup;
		} else if (next == PLAN_NEED_DOWNLOAD) {
			needs[n++] = 'L';
			f->download = all.download;
		} else {
			needs[n++] = 'F';
			f->file = all.file;
		}
	}
	needs[n] = '\0';
	return (next);
}

/* What holds for every answer, whatever the row. */
static void
check_invariants(const struct plan_case *tc, const struct request *r,
    const struct plan *p)
{
	char	 cl[64];
	size_t	 len = strlen(p->hdr.buf);

	if (p->hdr.error || len < 4 || strcmp(p->hdr.buf + len - 4,
	    "\r\n\r\n") != 0 || strncmp(p->hdr.buf, "Status: ", 8) != 0)
		case_fail(tc->name, "header block malformed");
	if (strstr(p->hdr.buf, "Referrer-Policy: no-referrer\r\n") == NULL)
		case_fail(tc->name, "no Referrer-Policy");
	if (p->status >= 400) {
		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n",
		    p->text_len);
		if (strstr(p->hdr.buf, cl) == NULL ||
		    p->body != (r->method == REQUEST_HEAD ? PLAN_BODY_NONE :
		    PLAN_BODY_TEXT))
			case_fail(tc->name, "error answer: length or body "
			    "wrong");
	}
	if (r->method == REQUEST_HEAD && p->body != PLAN_BODY_NONE)
		case_fail(tc->name, "HEAD with a body");
}

static void
check_case(const struct plan_case *tc, const struct plan_env *e,
    const struct request *r, const struct plan *p, const char *needs)
{
	static const enum plan_body bodies[] = { 0, PLAN_BODY_NONE,
	    PLAN_BODY_TEXT, PLAN_BODY_FILE };

	expect_int(tc->name, "status", p->status, tc->want);
	if (tc->why != NULL)
		expect_str(tc->name, "why", p->why, tc->why);
	if (tc->needs != NULL)
		expect_str(tc->name, "facts asked", needs, tc->needs);
	if (tc->bodyk != B_ANY)
		expect_int(tc->name, "body", p->body, bodies[tc->bodyk]);
	if (tc->length > 0) {
		expect_int(tc->name, "start", p->start, tc->start);
		expect_int(tc->name, "length", p->length, tc->length);
	}
	if (tc->streamed != NULL || p->streamed != NULL)
		expect_str(tc->name, "streamed", p->streamed != NULL ?
		    p->streamed : "-", tc->streamed != NULL ? tc->streamed :
		    "-");
	if (tc->offload != CONFIG_OFFLOAD_NONE && p->offload !=
	    (p->body == PLAN_BODY_NONE && r->method == REQUEST_GET &&
	    (p->status == 200 || p->status == 206)))
		case_fail(tc->name, "offload flag %d, body %d", p->offload,
		    p->body);
	check_headers(tc->name, e, tc->hdr, p->hdr.buf);
	check_invariants(tc, r, p);
}

static void
test_plan_table(void **state)
{
	struct config	*cfg;
	struct request	*r;
	struct job	*job;
	struct plan	*p;
	struct plan_env	 e;
	unsigned char	 digest[32];
	char		 needs[8];
	size_t		 i;

	(void)state;
	cfg = test_calloc(1, sizeof(*cfg));
	r = test_calloc(1, sizeof(*r));
	job = test_calloc(1, sizeof(*job));
	p = test_calloc(1, sizeof(*p));
	strcpy(cfg->root_abs, "/srv/export");
	strcpy(cfg->offload_prefix, "/internal/");
	assert_int_equal(http_etag_format(e.etag, sizeof(e.etag), INO, SIZE,
	    MTIME, 0), 0);
	assert_int_equal(http_date_format(e.lm, sizeof(e.lm), MTIME), 0);
	assert_int_equal(http_date_format(e.before, sizeof(e.before),
	    MTIME - 1), 0);
	memset(e.lng, '"', sizeof(e.lng) - 1);
	e.lng[sizeof(e.lng) - 1] = '\0';
	for (i = 0; i < NITEMS(plan_cases); i++) {
		const struct plan_case *tc = &plan_cases[i];
		struct plan_facts f;

		memset(&f, 0, sizeof(f));
		cfg->offload_mode = tc->offload;
		f.cfg = cfg;
		f.req = r;
		f.job = job;
		f.now = NOW;
		f.draining = tc->draining;
		f.peer_uid = tc->peer != 0 ? tc->peer : -1;
		case_request(tc, &e, r, &f, digest);
		if (tc->file == F_EMPTY && strcmp(e.etag, "") != 0)
			assert_int_equal(http_etag_format(e.etag,
			    sizeof(e.etag), INO, 0, MTIME, 0), 0);
		if (run_plan(tc, &f, p, job, needs) != PLAN_READY)
			case_fail(tc->name, "plan not ready after %s", needs);
		check_case(tc, &e, r, p, needs);
		if (tc->file == F_EMPTY)
			assert_int_equal(http_etag_format(e.etag,
			    sizeof(e.etag), INO, SIZE, MTIME, 0), 0);
	}
	test_free(cfg);
	test_free(r);
	test_free(job);
	test_free(p);
	end_cases();
}

/* Pure: the same facts give the same plan, and the facts stay as given. */
static void
test_plan_pure(void **state)
{
	struct config	*cfg;
	struct request	*r;
	struct job	*job, *copy;
	struct plan	*a, *b;
	struct plan_facts f;
	char		 env0[] = "REQUEST_METHOD=GET";
	char		 env1[] = "REQUEST_URI=/download/job1";
	char		 env2[] = "HTTP_RANGE=bytes=3-9";
	char		*envp[] = { env0, env1, env2, NULL };
	const struct plan_case tc = { .name = "pure" };

	(void)state;
	cfg = test_calloc(1, sizeof(*cfg));
	r = test_calloc(1, sizeof(*r));
	job = test_calloc(1, sizeof(*job));
	copy = test_calloc(1, sizeof(*copy));
	a = test_calloc(1, sizeof(*a));
	b = test_calloc(1, sizeof(*b));
	memset(&f, 0, sizeof(f));
	f.cfg = cfg;
	f.req = r;
	f.job = job;
	f.now = NOW;
	f.lookup = PLAN_LOOKUP_FOUND;
	f.download = PLAN_DOWNLOAD_JOINED;
	assert_int_equal(request_read(r, envp), 0);
	assert_int_equal(request_parse_target(r, "/download/"), 0);
	case_job(&tc, job);
	case_file(&tc, &f.file);
	memcpy(copy, job, sizeof(*job));
	assert_int_equal(plan_make(&f, a), PLAN_READY);
	assert_int_equal(plan_make(&f, b), PLAN_READY);
	assert_int_equal(a->status, 206);
	assert_string_equal(a->hdr.buf, b->hdr.buf);
	assert_memory_equal(copy, job, sizeof(*job));
	test_free(cfg);
	test_free(r);
	test_free(job);
	test_free(copy);
	test_free(a);
	test_free(b);
}

/*
 * --metrics-path: a GET or HEAD of exactly that path (a query allowed)
 * asks for the page, then answers it as a small text 200; anything else
 * is the contract's (a path outside the prefixes is 404), as is any
 * method but GET and HEAD.
 */
static void
test_plan_metrics(void **state)
{
	static const struct {
		const char	*method, *uri;
		int		 status;
		enum plan_body	 body;
	} cases[] = {
		{ "GET", "/sluice-metrics", 200, PLAN_BODY_TEXT },
		{ "GET", "/sluice-metrics?x=1", 200, PLAN_BODY_TEXT },
		{ "HEAD", "/sluice-metrics", 200, PLAN_BODY_NONE },
		{ "GET", "/sluice-metricsX", 404, PLAN_BODY_TEXT },
		{ "GET", "/sluice-metrics/", 404, PLAN_BODY_TEXT },
		{ "POST", "/sluice-metrics", 405, PLAN_BODY_TEXT },
	};
	static const char page[] = "sluice_downloads_in_flight 0\n";
	struct config	*cfg;
	struct request	*r;
	struct plan	*p;
	struct plan_facts f;
	char		 m[64], u[128];
	size_t		 i;

	(void)state;
	cfg = test_calloc(1, sizeof(*cfg));
	r = test_calloc(1, sizeof(*r));
	p = test_calloc(1, sizeof(*p));
	strcpy(cfg->metrics_path, "/sluice-metrics");
	for (i = 0; i < NITEMS(cases); i++) {
		char	*envp[] = { m, u, NULL };

		snprintf(m, sizeof(m), "REQUEST_METHOD=%s", cases[i].method);
		snprintf(u, sizeof(u), "REQUEST_URI=%s", cases[i].uri);
		memset(&f, 0, sizeof(f));
		memset(r, 0, sizeof(*r));
		f.cfg = cfg;
		f.req = r;
		f.read_status = request_read(r, envp);
		if (f.read_status == 0 && r->method != REQUEST_OTHER)
			f.target_status = request_parse_target(r, "/download/");
		if (cases[i].status == 200) {
			expect_int(cases[i].uri, "asks for the page",
			    plan_make(&f, p), PLAN_NEED_METRICS);
			f.metrics = page;
			f.metrics_len = sizeof(page) - 1;
		}
		expect_int(cases[i].uri, "ready", plan_make(&f, p),
		    PLAN_READY);
		expect_int(cases[i].uri, "status", p->status, cases[i].status);
		expect_int(cases[i].uri, "body", p->body, cases[i].body);
		expect_int(cases[i].uri, "metrics", p->metrics,
		    cases[i].status == 200);
		if (cases[i].status == 200 && strstr(p->hdr.buf,
		    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		    "Content-Length: 29\r\n") == NULL)
			case_fail(cases[i].uri, "headers [%s]", p->hdr.buf);
	}
	test_free(cfg);
	test_free(r);
	test_free(p);
	end_cases();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_table),
		cmocka_unit_test(test_plan_pure),
		cmocka_unit_test(test_plan_metrics),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
