/*
 * libFuzzer target: plan_make(), the pure decision of one request, with
 * every fact taken from the fuzzer's bytes and gathered as server.c
 * gathers it: the FastCGI params read by request_read and
 * request_parse_target, the token's SHA-256, the job row through
 * job_row_fill (as both stores fill it), the config through config_parse,
 * and the lookup, download and file facts handed over when the plan asks
 * for them.
 *
 * Input: FZ_HDR bytes of fixed fields (missing bytes are 0, and all-zero
 * is a plain GET of a done job that is served), then NUL-separated
 * entries:
 *   "job.<column>=v"  a text cell of the row: status, file_path,
 *                     file_name, content_type, sha256, owner, token_sha256
 *   "cfg.<option>=v"  --url-prefix, --metrics-path or --offload
 *   anything else     a FastCGI param ("HTTP_RANGE=bytes=0-9"); in its
 *                     value "@ETAG@" and "@LM@" become the file's ETag and
 *                     Last-Modified, so validators can match.
 * REQUEST_METHOD=GET and REQUEST_URI=/download/job1 are added unless
 * given (or unless the header says not to).
 *
 * Properties (abort with a message): the loop ends, asking for each fact
 * at most once and in the contract's order (job, download, file); the
 * same facts give the same plan twice, and the same plan whether the facts
 * came lazily or all at once; the status is one the contract names; the
 * header block is well formed (Status line, "Name: value" lines, no CR,
 * LF, NUL or other control byte in a value, the blank line) and never a
 * bug of sluice's own; only a response handed over to the web server
 * names a file to it, beneath the root or nginx's internal prefix; a 200 or 206 lies within the file, a 200 is the
 * whole file, a 206's Content-Range says its range, and Content-Length is
 * the body's length; an error answer carries its text line (none for
 * HEAD) and never file bytes; a 304 and a HEAD have no body; and a job
 * that is not done, is expired, has a bad field, belongs to another user,
 * needs a token not given, or is at its download limit, is never served a
 * 200 or 206. The job row is poisoned (ASan) until the lookup found it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sanitizer/asan_interface.h>
#include <sodium.h>

#include "config.h"
#include "job.h"
#include "job_row.h"
#include "log.h"
#include "offload.h"
#include "plan.h"
#include "policy.h"
#include "request.h"
#include "text.h"

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_plan: property failed: %s "	\
		    "(line %d)\n", #c, __LINE__);			\
		abort();						\
	}								\
} while (0)

#define FZ_HDR		71	/* the fixed fields (fz_hdr_read) */
#define FZ_ENTRIES_MAX	32
#define FZ_ENTRY_MAX	(REQUEST_URI_MAX + 64)

/* Header byte 0: each bit turns a good default into a hostile fact. */
#define FZ_SIZE_DIFFERS	0x01u	/* fstat's size is not the row's */
#define FZ_TOKEN_OTHER	0x02u	/* the row's token is not the request's */
#define FZ_OWNER_USER	0x04u	/* the row's owner is REMOTE_USER */
#define FZ_DRAINING	0x08u
#define FZ_NOT_REGULAR	0x10u
#define FZ_FILE_ERROR	0x20u
#define FZ_SHA256	0x40u	/* the row has a (valid) sha256 */
#define FZ_NO_DEFAULTS	0x80u	/* no REQUEST_METHOD/URI added */

#define FZ_SHA_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const char fz_page[] = "sluice_downloads_in_flight 0\n";

/* Every fact of one request, decoded once. */
struct fz_world {
	struct config		 cfg;
	struct request		 req;
	struct job		 job;
	int			 read_status;
	int			 target_status;
	int			 draining;
	unsigned char		 digest[32];
	int			 has_digest;
	enum plan_lookup	 lookup;
	enum plan_download	 download;
	struct plan_file	 file;
	int64_t			 now;
	int64_t			 peer_uid;
};

/* The fixed fields, read big-endian; past the end of the input, 0. */
struct fz_rd {
	const uint8_t	*p;
	size_t		 n;
};

static uint8_t
fz_u8(struct fz_rd *r)
{
	if (r->n == 0)
		return (0);
	r->n--;
	return (*r->p++);
}

static uint64_t
fz_uint(struct fz_rd *r, int bytes)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < bytes; i++)
		v = v << 8 | fz_u8(r);
	return (v);
}

/* The raw fields of the header, before they become facts. */
struct fz_hdr {
	unsigned	 flags;
	unsigned	 status;	/* index into fz_job's statuses */
	unsigned	 lookup, download, offload, kinds, nulls;
	unsigned	 perm;
	int64_t		 peer_uid, file_uid;
	int64_t		 file_size, fstat_size, mtime, now, expires, max;
	long		 nsec;
	uint64_t	 ino;
};

static void
fz_hdr_read(const uint8_t *data, size_t size, struct fz_hdr *h)
{
	struct fz_rd	 r = { data, size < FZ_HDR ? size : FZ_HDR };
	unsigned	 u;

	h->flags = fz_u8(&r);
	h->status = fz_u8(&r);
	h->lookup = fz_u8(&r);
	h->download = fz_u8(&r);
	h->offload = fz_u8(&r);
	h->kinds = fz_u8(&r);
	h->nulls = fz_u8(&r);
	h->perm = (unsigned)fz_uint(&r, 2) & 07777;
	u = fz_u8(&r);
	h->peer_uid = u == 0 ? -1 : (int64_t)u - 1;
	h->file_uid = fz_u8(&r);
	h->file_size = (int64_t)fz_uint(&r, 8);
	/* fstat's st_size is never negative. */
	h->fstat_size = (int64_t)(fz_uint(&r, 8) >> 1);
	h->mtime = (int64_t)fz_uint(&r, 8);
	h->nsec = (long)(fz_uint(&r, 4) % 1000000000u);
	h->ino = fz_uint(&r, 8);
	h->now = (int64_t)fz_uint(&r, 8);
	h->expires = (int64_t)fz_uint(&r, 8);
	h->max = (int64_t)fz_uint(&r, 8);
}

/* The entries after the header. */
struct fz_entries {
	const char	*v[FZ_ENTRIES_MAX];
	size_t		 len[FZ_ENTRIES_MAX];
	size_t		 n;
	char		 buf[FZ_ENTRIES_MAX][FZ_ENTRY_MAX];
};

static void
fz_entries_split(const uint8_t *data, size_t size, struct fz_entries *e)
{
	size_t	 off = size < FZ_HDR ? size : FZ_HDR, end, len;

	e->n = 0;
	while (off < size && e->n < FZ_ENTRIES_MAX) {
		for (end = off; end < size && data[end] != '\0'; end++)
			;
		len = end - off;
		if (len >= FZ_ENTRY_MAX)
			len = FZ_ENTRY_MAX - 1;
		memcpy(e->buf[e->n], data + off, len);
		e->buf[e->n][len] = '\0';
		e->v[e->n] = e->buf[e->n];
		e->len[e->n] = len;
		e->n++;
		off = end + 1;
	}
}

/* The value of the first entry "<key>=...", or NULL. */
static const char *
fz_find(const struct fz_entries *e, const char *key)
{
	size_t	 i, klen = strlen(key);

	for (i = 0; i < e->n; i++)
		if (strncmp(e->v[i], key, klen) == 0 && e->v[i][klen] == '=')
			return (e->v[i] + klen + 1);
	return (NULL);
}

/*
 * The config: config_parse over an argv of the fuzzed options, as sluice
 * starts; one it refuses is replaced by the defaults (sluice would not
 * start). root_abs is config_resolve_root's realpath, one of three.
 */
static void
fz_config(struct fz_world *w, const struct fz_hdr *h,
    const struct fz_entries *e)
{
	static const char *modes[] = { "stream", "lighttpd",
	    "x-accel-redirect:/internal/", "x-sendfile" };
	const char	*off, *up, *mp;
	char		 err[512];
	char		*argv[16];
	int		 argc = 0;

#define ARG(s) (argv[argc++] = (char *)(uintptr_t)(s))
	ARG("sluice");
	ARG("--db");
	ARG("jobs.db");
	ARG("--root");
	ARG("/srv/export");
	ARG("--offload-symlink-race");
	ARG("accept");
	off = fz_find(e, "cfg.offload");
	ARG("--offload");
	ARG(off != NULL ? off : modes[h->offload % 4]);
	if ((up = fz_find(e, "cfg.url_prefix")) != NULL) {
		ARG("--url-prefix");
		ARG(up);
	}
	if ((mp = fz_find(e, "cfg.metrics_path")) != NULL) {
		ARG("--metrics-path");
		ARG(mp);
	}
	argv[argc] = NULL;
	if (config_parse(&w->cfg, argc, argv, err, sizeof(err)) != CONFIG_OK)
		CHECK(config_parse(&w->cfg, 7, argv, err, sizeof(err)) ==
		    CONFIG_OK);
#undef ARG
	switch ((h->offload >> 2) % 3) {
	case 0:
		memcpy(w->cfg.root_abs, "/srv/export", sizeof("/srv/export"));
		break;
	case 1:
		memcpy(w->cfg.root_abs, "/", 2);
		break;
	default:
		/* Long enough that no file path fits after it. */
		memset(w->cfg.root_abs, 'r', CONFIG_PATH_MAX - 96);
		w->cfg.root_abs[0] = '/';
		w->cfg.root_abs[CONFIG_PATH_MAX - 96] = '\0';
		break;
	}
}

/* fstat's facts. */
static void
fz_file(struct fz_world *w, const struct fz_hdr *h)
{
	struct plan_file *f = &w->file;

	memset(f, 0, sizeof(*f));
	if (h->flags & FZ_FILE_ERROR) {
		f->state = PLAN_FILE_ERROR;
		f->why = "file_missing";
		return;
	}
	f->state = PLAN_FILE_OPEN;
	f->regular = !(h->flags & FZ_NOT_REGULAR);
	f->type = f->regular ? S_IFREG : S_IFIFO;
	f->perm = h->perm;
	f->uid = h->file_uid;
	if (h->flags & FZ_SIZE_DIFFERS)
		f->size = h->fstat_size;
	else
		f->size = h->file_size >= 0 ? h->file_size : 0;
	f->ino = h->ino;
	f->mtime_sec = h->mtime;
	f->mtime_nsec = h->nsec;
}

/* dst = src with the first "@ETAG@" or "@LM@" replaced; cut to fit. */
static void
fz_subst(char *dst, size_t size, const char *src, const char *etag,
    const char *lm)
{
	const char	*a = strstr(src, "@ETAG@"), *b = strstr(src, "@LM@");
	const char	*at, *with;
	size_t		 skip;

	if (a != NULL && (b == NULL || a < b)) {
		at = a;
		with = etag;
		skip = 6;
	} else if (b != NULL) {
		at = b;
		with = lm;
		skip = 4;
	} else {
		snprintf(dst, size, "%s", src);
		return;
	}
	snprintf(dst, size, "%.*s%s%s", (int)(at - src), src, with,
	    at + skip);
}

/* The params, read and parsed as server_gather_request does. */
static void
fz_request(struct fz_world *w, const struct fz_hdr *h,
    const struct fz_entries *e)
{
	static char	 env[FZ_ENTRIES_MAX + 2][FZ_ENTRY_MAX];
	char		*envp[FZ_ENTRIES_MAX + 3];
	char		 etag[HTTP_ETAG_SIZE], lm[HTTP_DATE_SIZE];
	size_t		 i, n = 0;

	if (offload_etag_format(&w->cfg, &w->file, etag, sizeof(etag)) == -1)
		etag[0] = '\0';
	if (http_date_format(lm, sizeof(lm), w->file.mtime_sec) == -1)
		lm[0] = '\0';
	for (i = 0; i < e->n; i++) {
		if (strncmp(e->v[i], "job.", 4) == 0 ||
		    strncmp(e->v[i], "cfg.", 4) == 0)
			continue;
		fz_subst(env[n], sizeof(env[n]), e->v[i], etag, lm);
		envp[n] = env[n];
		n++;
	}
	/* The first occurrence wins: these only fill what is missing. */
	if (!(h->flags & FZ_NO_DEFAULTS)) {
		envp[n] = memcpy(env[n], "REQUEST_METHOD=GET",
		    sizeof("REQUEST_METHOD=GET"));
		n++;
		envp[n] = memcpy(env[n], "REQUEST_URI=/download/job1",
		    sizeof("REQUEST_URI=/download/job1"));
		n++;
	}
	envp[n] = NULL;
	w->read_status = request_read(&w->req, envp);
	w->target_status = 0;
	if (w->read_status == 0 && w->req.method != REQUEST_OTHER)
		w->target_status = request_parse_target(&w->req,
		    w->cfg.url_prefix);
	w->has_digest = w->target_status == 0 && w->req.has_token &&
	    crypto_hash_sha256(w->digest, (const unsigned char *)w->req.token,
	    strlen(w->req.token)) == 0;
}

/* A text cell from an entry's value, or the given default. */
static void
fz_cell_text(struct job_cell *c, const char *v, int other)
{
	c->i = 0;
	if (v == NULL) {
		c->kind = JOB_CELL_NULL;
		c->v = NULL;
		c->len = 0;
		return;
	}
	c->kind = other ? JOB_CELL_OTHER : JOB_CELL_TEXT;
	c->v = v;
	c->len = strlen(v);
}

/* An integer column: 2 bits of kind (0: the column's default kind). */
static void
fz_cell_int(struct job_cell *c, unsigned kind, int64_t v, char *text,
    size_t size)
{
	static const enum job_cell_kind kinds[] = { JOB_CELL_INT,
	    JOB_CELL_NULL, JOB_CELL_TEXT, JOB_CELL_OTHER };

	c->kind = kinds[kind & 3];
	c->i = c->kind == JOB_CELL_INT ? v : 0;
	snprintf(text, size, "%lld", (long long)v);
	c->v = c->kind == JOB_CELL_NULL ? NULL : text;
	c->len = c->v != NULL ? strlen(text) : 0;
}

/* The row, as a store would hand job_row_fill its cells. */
static void
fz_job(struct fz_world *w, const struct fz_hdr *h,
    const struct fz_entries *e)
{
	static const char *statuses[] = { "done", "pending", "running",
	    "failed", "revoked", NULL, "Done" };
	static char	 hex[2 * 32 + 1];
	static char	 num[3][24];
	struct job_cell	 cell[JOB_ROW_NCOLS];
	const char	*v;
	size_t		 i;

	memset(&w->job, 0, sizeof(w->job));
	memcpy(w->job.id, w->req.id, sizeof(w->job.id));
	if ((v = fz_find(e, "job.status")) == NULL)
		v = statuses[h->status % 7];
	fz_cell_text(&cell[0], v, 0);
	if ((v = fz_find(e, "job.file_path")) == NULL &&
	    !(h->nulls & 0x01u))
		v = "exports/a.csv";
	fz_cell_text(&cell[1], v, h->nulls & 0x08u);
	if ((v = fz_find(e, "job.file_name")) == NULL &&
	    !(h->nulls & 0x02u))
		v = "report.csv";
	fz_cell_text(&cell[2], v, h->nulls & 0x10u);
	if ((v = fz_find(e, "job.content_type")) == NULL &&
	    !(h->nulls & 0x04u))
		v = "text/csv";
	fz_cell_text(&cell[3], v, h->nulls & 0x20u);
	fz_cell_int(&cell[4], h->kinds, h->file_size, num[0],
	    sizeof(num[0]));
	if ((v = fz_find(e, "job.sha256")) == NULL &&
	    (h->flags & FZ_SHA256))
		v = FZ_SHA_EMPTY;
	fz_cell_text(&cell[5], v, 0);
	if ((v = fz_find(e, "job.owner")) == NULL &&
	    (h->flags & FZ_OWNER_USER))
		v = w->req.remote_user;
	fz_cell_text(&cell[6], v, 0);
	/* By default the row wants the request's own token, if any. */
	if ((v = fz_find(e, "job.token_sha256")) == NULL &&
	    (h->flags & FZ_TOKEN_OTHER))
		v = FZ_SHA_EMPTY;
	else if (v == NULL && w->has_digest) {
		for (i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", w->digest[i]);
		v = hex;
	}
	fz_cell_text(&cell[7], v, 0);
	/* expires_at and max_downloads: absent unless asked for. */
	fz_cell_int(&cell[8], (h->kinds >> 2) ^ 1, h->expires, num[1],
	    sizeof(num[1]));
	fz_cell_int(&cell[9], (h->kinds >> 4) ^ 1, h->max, num[2],
	    sizeof(num[2]));
	job_row_fill(&w->job, cell);
}

static void
fz_world(const uint8_t *data, size_t size, struct fz_world *w)
{
	static struct fz_entries e;
	static const enum plan_lookup lookups[] = { PLAN_LOOKUP_FOUND,
	    PLAN_LOOKUP_NOT_FOUND, PLAN_LOOKUP_BUSY, PLAN_LOOKUP_ERROR };
	static const enum plan_download downloads[] = {
	    PLAN_DOWNLOAD_OPENED, PLAN_DOWNLOAD_JOINED, PLAN_DOWNLOAD_LIMIT,
	    PLAN_DOWNLOAD_FAILED, PLAN_DOWNLOAD_OFF };
	struct fz_hdr	 h;

	fz_hdr_read(data, size, &h);
	fz_entries_split(data, size, &e);
	fz_config(w, &h, &e);
	fz_file(w, &h);
	fz_request(w, &h, &e);
	fz_job(w, &h, &e);
	w->draining = (h.flags & FZ_DRAINING) != 0;
	w->lookup = lookups[h.lookup % 4];
	w->download = downloads[h.download % 5];
	w->now = h.now;
	w->peer_uid = h.peer_uid;
}

/*
 * Plan as server_plan does: hand over each fact the plan asks for, and
 * record which, in needs. eager: every fact given before the first call,
 * as the unit tests do.
 */
static void
fz_plan(struct fz_world *w, int eager, struct plan *p, char *needs)
{
	struct plan_facts	 f;
	enum plan_next		 next;
	size_t			 n = 0;

	memset(&f, 0, sizeof(f));
	f.cfg = &w->cfg;
	f.req = &w->req;
	f.read_status = w->read_status;
	f.target_status = w->target_status;
	f.draining = w->draining;
	f.job = &w->job;
	f.token_sha256 = w->has_digest ? w->digest : NULL;
	f.now = w->now;
	f.peer_uid = w->peer_uid;
	if (eager) {
		f.lookup = w->lookup;
		f.download = w->download;
		f.file = w->file;
		f.metrics = fz_page;
		f.metrics_len = sizeof(fz_page) - 1;
	}
	/* No check may read a row that was not found. */
	if (w->lookup != PLAN_LOOKUP_FOUND)
		ASAN_POISON_MEMORY_REGION(&w->job, sizeof(w->job));
	while ((next = plan_make(&f, p)) != PLAN_READY) {
		CHECK(n < 4);
		switch (next) {
		case PLAN_NEED_JOB:
			CHECK(f.lookup == PLAN_LOOKUP_UNKNOWN && n == 0);
			f.lookup = w->lookup;
			needs[n++] = 'J';
			break;
		case PLAN_NEED_DOWNLOAD:
			CHECK(f.download == PLAN_DOWNLOAD_UNKNOWN);
			CHECK(f.lookup == PLAN_LOOKUP_FOUND);
			CHECK(f.file.state == PLAN_FILE_UNKNOWN);
			f.download = w->download;
			needs[n++] = 'L';
			break;
		case PLAN_NEED_FILE:
			CHECK(f.file.state == PLAN_FILE_UNKNOWN);
			CHECK(f.lookup == PLAN_LOOKUP_FOUND);
			f.file = w->file;
			needs[n++] = 'F';
			break;
		case PLAN_NEED_METRICS:
			CHECK(f.metrics == NULL && n == 0);
			f.metrics = fz_page;
			f.metrics_len = sizeof(fz_page) - 1;
			needs[n++] = 'M';
			break;
		default:
			CHECK(!"plan_make answered no plan_next");
		}
	}
	needs[n] = '\0';
	ASAN_UNPOISON_MEMORY_REGION(&w->job, sizeof(w->job));
}

/* What the header block said that the checks below need. */
struct fz_block {
	int		 status;
	int64_t		 content_length;	/* -1: absent */
	char		 content_range[128];	/* "": absent */
	int		 etag;
	const char	*handover;	/* X-Sendfile, X-Accel-Redirect */
	size_t		 handover_len;
};

static int
fz_tchar(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A decimal header value, the whole of it; -2 when not one. */
static int64_t
fz_number(const char *v, size_t len)
{
	int64_t	 n = 0;
	size_t	 i;

	if (len == 0 || (len > 1 && v[0] == '0'))
		return (-2);
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9' ||
		    n > (INT64_MAX - (v[i] - '0')) / 10)
			return (-2);
		n = n * 10 + (v[i] - '0');
	}
	return (n);
}

/* The block is "Status: NNN ...\r\n", "Name: value\r\n" lines, "\r\n". */
static void
fz_block_parse(const struct http_headers *hdr, struct fz_block *b)
{
	const char	*s = hdr->buf, *end = hdr->buf + hdr->len, *eol, *v;
	size_t		 i, nlen, vlen;

	memset(b, 0, sizeof(*b));
	b->content_length = -1;
	CHECK(hdr->len >= 4 && hdr->len < sizeof(hdr->buf));
	CHECK(memchr(hdr->buf, '\0', hdr->len) == NULL &&
	    hdr->buf[hdr->len] == '\0');
	CHECK(memcmp(end - 4, "\r\n\r\n", 4) == 0);
	CHECK(strncmp(s, "Status: ", 8) == 0);
	b->status = (int)fz_number(s + 8, 3);
	CHECK(s[11] == ' ');
	while ((eol = strstr(s, "\r\n")) != end - 2) {
		CHECK(eol != NULL);
		for (i = 0; s + i < eol && fz_tchar((unsigned char)s[i]); i++)
			;
		nlen = i;
		CHECK(nlen > 0 && s[nlen] == ':' && s[nlen + 1] == ' ');
		v = s + nlen + 2;
		vlen = (size_t)(eol - v);
		/* No CR, LF, NUL or other control byte but HTAB. */
		for (i = 0; i < vlen; i++)
			CHECK(((unsigned char)v[i] >= 0x20 || v[i] == '\t') &&
			    v[i] != 0x7f);
		if (nlen == 14 && strncmp(s, "Content-Length", 14) == 0) {
			CHECK(b->content_length == -1);
			b->content_length = fz_number(v, vlen);
			CHECK(b->content_length >= 0);
		} else if (nlen == 13 && strncmp(s, "Content-Range", 13) == 0) {
			CHECK(vlen < sizeof(b->content_range));
			memcpy(b->content_range, v, vlen);
			b->content_range[vlen] = '\0';
		} else if (nlen == 4 && strncmp(s, "ETag", 4) == 0)
			b->etag = 1;
		else if ((nlen == 10 && strncmp(s, "X-Sendfile", 10) == 0) ||
		    (nlen == 16 && strncmp(s, "X-Accel-Redirect", 16) == 0)) {
			CHECK(b->handover == NULL);
			b->handover = v;
			b->handover_len = vlen;
		}
		s = eol + 2;
	}
}

static int
fz_status_known(int status)
{
	static const int known[] = { 200, 206, 304, 400, 403, 404, 405, 409,
	    410, 412, 416, 500, 503 };
	size_t	 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i] == status)
			return (1);
	return (0);
}

/* Would the policy let this job be served at all? */
static int
fz_job_servable(const struct fz_world *w, const char *needs)
{
	const struct job *j = &w->job;
	const char	*user = w->req.remote_user;
	unsigned char	 want[32];

	if (w->lookup != PLAN_LOOKUP_FOUND || j->status != JOB_DONE ||
	    (j->has_expires && w->now >= j->expires_at) ||
	    j->bad_field != NULL || !j->has_file_path || !j->has_file_size ||
	    (j->has_max_downloads && j->max_downloads < 0))
		return (0);
	if (j->has_owner && (user[0] == '\0' || strcmp(user, j->owner) != 0))
		return (0);
	if (j->has_token && (!w->has_digest ||
	    text_hex_decode(want, sizeof(want), j->token_sha256) != 0 ||
	    memcmp(want, w->digest, sizeof(want)) != 0))
		return (0);
	/* A GET is counted before it is served, within the limit. */
	if (w->req.method == REQUEST_GET &&
	    (strchr(needs, 'L') == NULL || w->download == PLAN_DOWNLOAD_LIMIT ||
	    (policy_limit(j) >= 0 && w->download != PLAN_DOWNLOAD_OPENED &&
	    w->download != PLAN_DOWNLOAD_JOINED)))
		return (0);
	return (1);
}

/* A 200 or 206 of the file: within it, and saying so. */
static void
fz_check_served(const struct fz_world *w, const struct plan *p,
    const struct fz_block *b, const char *needs)
{
	const struct plan_file *file = &w->file;
	int	 handed = p->offload &&
	    w->cfg.offload_mode != CONFIG_OFFLOAD_LIGHTTPD;
	char	 cr[128];

	CHECK(fz_job_servable(w, needs));
	CHECK(!w->draining && w->read_status == 0 && w->target_status == 0);
	CHECK(w->req.method == REQUEST_GET || w->req.method == REQUEST_HEAD);
	CHECK(strchr(needs, 'J') != NULL && strchr(needs, 'F') != NULL);
	CHECK(file->state == PLAN_FILE_OPEN && file->regular &&
	    file->size == w->job.file_size);
	CHECK(text_path_plain(w->job.file_path));
	CHECK(p->start >= 0 && p->length >= 0 && p->start <= file->size &&
	    p->length <= file->size - p->start);
	if (p->status == 200)
		CHECK(p->start == 0 && p->length == file->size && !p->ranged);
	else {
		CHECK(p->ranged && p->length >= 1 &&
		    w->req.method == REQUEST_GET);
		snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld",
		    (long long)p->start,
		    (long long)(p->start + p->length - 1),
		    (long long)file->size);
		CHECK(handed || strcmp(b->content_range, cr) == 0);
	}
	/* nginx and Apache send their own length for what they send. */
	CHECK(handed || b->content_length == p->length);
	CHECK(handed || b->etag);
	if (p->offload) {
		const char	*base = w->cfg.offload_mode ==
		    CONFIG_OFFLOAD_XACCEL ? w->cfg.offload_prefix :
		    w->cfg.root_abs;

		CHECK(p->body == PLAN_BODY_NONE &&
		    w->req.method == REQUEST_GET &&
		    w->cfg.offload_mode != CONFIG_OFFLOAD_NONE);
		/* The server is sent beneath the root (or nginx's internal
		 * location), never elsewhere. */
		CHECK(b->handover != NULL &&
		    b->handover_len > strlen(base) &&
		    strncmp(b->handover, base, strlen(base)) == 0);
	} else
		CHECK(p->body == (w->req.method == REQUEST_GET ?
		    PLAN_BODY_FILE : PLAN_BODY_NONE));
}

static void
fz_check(const struct fz_world *w, const struct plan *p, const char *needs)
{
	struct fz_block	 b;
	int		 handed;

	CHECK(fz_status_known(p->status));
	CHECK(p->event != PLAN_EVENT_BUG && !p->hdr.error);
	CHECK(p->why != NULL);
	fz_block_parse(&p->hdr, &b);
	handed = p->offload && w->cfg.offload_mode != CONFIG_OFFLOAD_LIGHTTPD;
	CHECK(b.status == (handed ? 200 : p->status));
	if (w->req.method == REQUEST_HEAD)
		CHECK(p->body == PLAN_BODY_NONE);
	/* Only the file's bytes, the error line or the metrics page. */
	if (p->body == PLAN_BODY_TEXT || p->status >= 400 || p->metrics) {
		CHECK(p->body != PLAN_BODY_FILE && !p->offload);
		CHECK(p->text != NULL && b.content_length ==
		    (int64_t)p->text_len);
		CHECK(p->metrics || strlen(p->text) == p->text_len);
		CHECK(p->body == (w->req.method == REQUEST_HEAD ?
		    PLAN_BODY_NONE : PLAN_BODY_TEXT));
	}
	if (p->metrics)
		CHECK(p->status == 200 && w->cfg.metrics_path[0] != '\0' &&
		    strchr(needs, 'J') == NULL);
	else if (p->status == 200 || p->status == 206)
		fz_check_served(w, p, &b, needs);
	/* The validators are the file's: only a servable job's. */
	if (!p->metrics && (p->status == 304 || p->status == 412 ||
	    p->status == 416))
		CHECK(fz_job_servable(w, needs) && strchr(needs, 'F') != NULL);
	if (p->status == 304)
		CHECK(p->body == PLAN_BODY_NONE && b.content_length == -1);
	/* Only a response handed over names a file to the server. */
	CHECK(p->offload == (b.handover != NULL));
	if (p->status == 416) {
		char	 cr[64];

		snprintf(cr, sizeof(cr), "bytes */%lld",
		    (long long)w->file.size);
		CHECK(strcmp(b.content_range, cr) == 0);
	} else if (p->status != 206)
		CHECK(b.content_range[0] == '\0');
	if (strchr(needs, 'L') != NULL && w->download == PLAN_DOWNLOAD_LIMIT)
		CHECK(p->status == 410);
	if (w->draining)
		CHECK(p->status == 503);
	else if (w->req.method == REQUEST_OTHER)
		CHECK(p->status == 405);
}

static int
fz_why_equal(const char *a, const char *b)
{
	return (a == b || (a != NULL && b != NULL && strcmp(a, b) == 0));
}

/* The same answer, byte for byte. */
static void
fz_same(const struct plan *a, const struct plan *b)
{
	CHECK(a->status == b->status && a->body == b->body);
	CHECK(a->start == b->start && a->length == b->length);
	CHECK(a->ranged == b->ranged && a->offload == b->offload &&
	    a->metrics == b->metrics && a->event == b->event);
	CHECK(fz_why_equal(a->why, b->why) &&
	    fz_why_equal(a->streamed, b->streamed));
	CHECK(a->text_len == b->text_len && (a->text_len == 0 ||
	    memcmp(a->text, b->text, a->text_len) == 0));
	CHECK(a->hdr.len == b->hdr.len &&
	    memcmp(a->hdr.buf, b->hdr.buf, a->hdr.len) == 0);
}

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	 fz_verbose;	/* FUZZ_PLAN_VERBOSE: print each answer */

/* config_parse reads SLUICE_* first: only the fuzzed argv counts. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	extern char **environ;
	char	 name[256];
	size_t	 i, len;

	(void)argc;
	(void)argv;
	fz_verbose = getenv("FUZZ_PLAN_VERBOSE") != NULL;
	for (i = 0; environ[i] != NULL;) {
		len = strcspn(environ[i], "=");
		if (strncmp(environ[i], "SLUICE_", 7) == 0 &&
		    len < sizeof(name)) {
			memcpy(name, environ[i], len);
			name[len] = '\0';
			unsetenv(name);
			continue;
		}
		i++;
	}
	return (sodium_init() < 0 ? -1 : 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_world	 w;
	static struct plan	 a, b, c;
	char			 na[8], nb[8], nc[8];

	fz_world(data, size, &w);
	fz_plan(&w, 0, &a, na);
	fz_check(&w, &a, na);
	fz_plan(&w, 0, &b, nb);
	CHECK(strcmp(na, nb) == 0);
	fz_same(&a, &b);
	fz_plan(&w, 1, &c, nc);
	CHECK(nc[0] == '\0');
	fz_same(&a, &c);
	if (fz_verbose)
		fprintf(stderr, "fuzz_plan: %d %s asked %s%s%s\n", a.status,
		    a.why, na, a.offload ? " offload" : "",
		    a.streamed != NULL ? " streamed" : "");
	return (0);
}
