/*
 * server: one request, start to end. The checks run in the contract's
 * order, and the first that fails decides: method, path and id, lookup and
 * token, owner, job state, the file. Every request ends in exactly one log
 * line; error bodies are one short line and never carry file bytes.
 *
 * Owns no memory of its own: everything lives in the thread's struct worker.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "config.h"
#include "http_cond.h"
#include "http_date.h"
#include "http_disp.h"
#include "log.h"
#include "policy.h"
#include "server.h"
#include "text.h"

/*
 * Per-thread setup: this thread's own read-only connection to the jobs
 * database, and the process's audit writer (au; NULL when the audit is
 * off), which the caller owns and stops after this thread ends. A request
 * that arrives once *draining is set gets 503, and downloads stop early
 * once *abort_now is set (the drain deadline). Returns 0, or -1 with a
 * sentence in err.
 */
int
server_worker_init(struct worker *w, const struct config *cfg, int rootfd,
    struct audit_writer *au, const _Atomic int *draining,
    const _Atomic int *abort_now, char *err, size_t errsz)
{
	volatile unsigned char *p = w->buf;
	size_t	 i;

	w->cfg = cfg;
	w->rootfd = rootfd;
	w->limits.min_rate = cfg->min_rate;
	w->limits.rate_window = cfg->rate_window;
	w->limits.abort_now = abort_now;
	w->draining = draining;
	/*
	 * Touch every page of the stream buffer now: its memory is fixed per
	 * thread, and it should show as such from the start rather than grow
	 * into view with the first large download.
	 */
	for (i = 0; i < sizeof(w->buf); i += 4096)
		p[i] = 0;
	w->au = au;
	if (jobstore_open(&w->js, cfg->db, err, errsz) == -1)
		return (-1);
	return (0);
}

void
server_worker_close(struct worker *w)
{
	jobstore_close(&w->js);
}

/*
 * Before the first body byte of a GET answered 200 or 206: record the
 * download and, for a job with max_downloads, check and count it in one
 * transaction. Returns 0 (go on; *row is the audit row or -1), 410 when the
 * limit is reached, or 503 when the count cannot be made: a limited job is
 * never served uncounted. For other jobs a failed insert is logged and the
 * download goes ahead: the trail is for operators, the file for the user.
 */
static int
server_audit_begin(struct worker *w, const struct http_decision *d,
    int64_t *row, const char **why)
{
	struct audit_entry	 e;
	int64_t			 max = -1;

	*row = -1;
	if (w->job.has_max_downloads)
		max = w->job.max_downloads;
	if (w->au == NULL) {
		if (max < 0)
			return (0);
		*why = "audit_off";
		return (503);
	}
	e.job_id = w->job.id;
	e.remote_addr = w->req.remote_addr;
	e.remote_user = w->req.remote_user;
	e.started_at = (int64_t)time(NULL);
	e.range_start = d->start;
	e.range_end = d->start + d->length - 1;
	e.status = d->status;
	e.counts = http_starts_download(1, d->status, d->start);
	switch (audit_begin(w->au, &e, max, row)) {
	case AUDIT_OK:
		return (0);
	case AUDIT_LIMIT:
		*why = "download_limit";
		return (410);
	default:
		if (max < 0)
			return (0);
		*why = "audit_failed";
		return (503);
	}
}

static double
server_elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	if (clock_gettime(CLOCK_MONOTONIC, &t1) == -1)
		return (0);
	return ((double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6);
}

/* After the response: queue how the download of row ended. */
static void
server_audit_end(struct worker *w, int64_t row, const struct http_decision *d,
    const struct stream_result *res, const struct timespec *t0)
{
	struct audit_final	 f;

	f.status = d->status;
	f.counts = http_starts_download(1, d->status, d->start);
	f.range_start = d->start;
	f.range_end = d->start + d->length - 1;
	f.bytes = res->bytes;
	f.duration_ms = (int64_t)server_elapsed_ms(t0);
	f.outcome = stream_outcome_name(res->outcome);
	audit_end(w->au, row, &f);
}

/*
 * Does the request carry the job's token? The database holds only the
 * SHA-256 of the secret; the comparison takes constant time. A job without
 * a token needs none.
 */
static int
server_token_ok(const struct job *job, const struct request *r)
{
	unsigned char	 want[crypto_hash_sha256_BYTES];
	unsigned char	 got[crypto_hash_sha256_BYTES];

	if (!job->has_token)
		return (1);
	if (!r->has_token || text_hex_decode(want, sizeof(want),
	    job->token_sha256) == -1)
		return (0);
	if (crypto_hash_sha256(got, (const unsigned char *)r->token,
	    strlen(r->token)) != 0)
		return (0);
	return (sodium_memcmp(want, got, sizeof(want)) == 0);
}

/* Headers every response carries. */
static void
server_common_headers(struct http_headers *h)
{
	http_headers_add(h, "Referrer-Policy", "no-referrer");
	http_headers_add(h, "X-Content-Type-Options", "nosniff");
}

/*
 * Answer with an error status: one short text line (none for HEAD), the
 * common headers, and Allow, Retry-After or Content-Range where the status
 * calls for them. size is the file's, for a 416.
 */
static void
server_error(struct worker *w, struct FCGX_Request *fr, int status,
    int64_t size, struct stream_result *res)
{
	struct http_headers *h = &w->hdr;
	const char	*body = http_error_body(status);
	size_t		 len = strlen(body);
	char		 cr[64];
	int		 n;

	http_headers_init(h, status);
	http_headers_add(h, "Content-Type", "text/plain; charset=utf-8");
	http_headers_add_int(h, "Content-Length", (int64_t)len);
	http_headers_add(h, "Cache-Control", "no-store");
	server_common_headers(h);
	if (status == 405)
		http_headers_add(h, "Allow", "GET, HEAD");
	else if (status == 409)
		http_headers_add_int(h, "Retry-After", POLICY_RETRY_AFTER);
	else if (status == 503)
		http_headers_add_int(h, "Retry-After", HTTP_RETRY_AFTER_BUSY);
	else if (status == 416) {
		/* RFC 9110 §15.5.17: the current length, for the client. */
		n = snprintf(cr, sizeof(cr), "bytes */%lld", (long long)size);
		http_headers_add(h, "Content-Range",
		    n > 0 && (size_t)n < sizeof(cr) ? cr : "");
	}
	/* Only values of ours above: a failure here is a bug in sluice. */
	if (http_headers_end(h) == -1) {
		log_warnx("event=bug reason=error_headers status=%d", status);
		res->outcome = STREAM_ERROR_IO;
		res->bytes = 0;
		return;
	}
	(void)stream_respond(fr, h, w->req.method == REQUEST_HEAD ? NULL : body,
	    w->req.method == REQUEST_HEAD ? 0 : len, res);
}

/*
 * The header block for a 200, 206 or 304 of the job's file: every header
 * in the contract, less what RFC 9110 §15.4.5 drops from a 304
 * (Content-Length, Content-Type, Repr-Digest). Repr-Digest covers the whole
 * file, so a 206 keeps it: a resumed download can be verified.
 * Returns 0, or -1 (logged) when a value from the row cannot be sent.
 */
static int
server_file_headers(struct worker *w, const struct http_decision *d,
    const char *etag, int64_t mtime, int64_t size)
{
	const struct job *job = &w->job;
	struct http_headers *h = &w->hdr;
	char		 date[HTTP_DATE_SIZE], digest[HTTP_DIGEST_SIZE];
	char		 disp[HTTP_DISPOSITION_SIZE], cr[80];
	int		 n;

	if (http_date_format(date, sizeof(date), mtime) == -1 ||
	    http_disposition_format(disp, sizeof(disp),
	    job->has_file_name ? job->file_name : NULL, job->id) == -1 ||
	    (job->has_sha256 &&
	    http_digest_format(digest, sizeof(digest), job->sha256) == -1)) {
		log_warnx("event=header_error id=%s", job->id);
		return (-1);
	}
	http_headers_init(h, d->status);
	if (d->status != 304) {
		http_headers_add(h, "Content-Type", job->has_content_type &&
		    job->content_type[0] != '\0' ? job->content_type :
		    "application/octet-stream");
		http_headers_add_int(h, "Content-Length", d->length);
		http_headers_add(h, "Accept-Ranges", "bytes");
	}
	if (d->status == 206) {
		n = snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld",
		    (long long)d->start, (long long)(d->start + d->length - 1),
		    (long long)size);
		if (n < 0 || (size_t)n >= sizeof(cr))
			return (-1);
		http_headers_add(h, "Content-Range", cr);
	}
	http_headers_add(h, "ETag", etag);
	http_headers_add(h, "Last-Modified", date);
	http_headers_add(h, "Content-Disposition", disp);
	if (job->has_sha256 && d->status != 304)
		http_headers_add(h, "Repr-Digest", digest);
	http_headers_add(h, "Cache-Control", "private");
	server_common_headers(h);
	/* Streamed: nginx must not spool up to 1 GiB of it to disk. */
	if (d->status != 304)
		http_headers_add(h, "X-Accel-Buffering", "no");
	if (http_headers_end(h) == -1) {
		log_warnx("event=header_error reason=refused_value id=%s",
		    job->id);
		return (-1);
	}
	return (0);
}

/*
 * Offload: the header block that hands the file to the web server, which
 * then sends it with its own Content-Length, ETag, Last-Modified and
 * Accept-Ranges, and answers Range and the conditionals itself. sluice adds
 * what only it knows: the type, the name, the digest. The X-Sendfile value
 * is the absolute path as bytes (mod_xsendfile takes it verbatim; lighttpd
 * url-decodes it, so a '%' was refused before); the X-Accel-Redirect value
 * is a URI, percent-encoded. Returns 0, or -1 (logged).
 */
static int
server_offload_headers(struct worker *w, const struct stream_file *f)
{
	const struct config *cfg = w->cfg;
	const struct job *job = &w->job;
	struct http_headers *h = &w->hdr;
	char		*v = w->offload_value;
	char		 digest[HTTP_DIGEST_SIZE], disp[HTTP_DISPOSITION_SIZE];
	char		 etag[HTTP_ETAG_SIZE];
	size_t		 plen, rlen;
	int		 n;

	if (cfg->offload_mode == CONFIG_OFFLOAD_XACCEL) {
		plen = strlen(cfg->offload_prefix);
		if (plen >= sizeof(w->offload_value))
			goto toolong;
		memcpy(v, cfg->offload_prefix, plen);
		if (text_pct_encode(v + plen, sizeof(w->offload_value) - plen,
		    job->file_path, TEXT_PCT_PATH) == -1)
			goto toolong;
	} else {
		rlen = strlen(cfg->root_abs);
		n = snprintf(v, sizeof(w->offload_value), "%s%s%s",
		    cfg->root_abs, rlen > 0 && cfg->root_abs[rlen - 1] == '/' ?
		    "" : "/", job->file_path);
		if (n < 0 || (size_t)n >= sizeof(w->offload_value))
			goto toolong;
	}
	if (http_disposition_format(disp, sizeof(disp),
	    job->has_file_name ? job->file_name : NULL, job->id) == -1 ||
	    (job->has_sha256 &&
	    http_digest_format(digest, sizeof(digest), job->sha256) == -1) ||
	    (cfg->offload_mode == CONFIG_OFFLOAD_XSENDFILE &&
	    http_etag_format(etag, sizeof(etag), f->ino, f->size, f->mtime_sec,
	    f->mtime_nsec) == -1)) {
		log_warnx("event=header_error id=%s", job->id);
		return (-1);
	}
	http_headers_init(h, 200);
	http_headers_add(h, "Content-Type", job->has_content_type &&
	    job->content_type[0] != '\0' ? job->content_type :
	    "application/octet-stream");
	http_headers_add(h, "Content-Disposition", disp);
	if (job->has_sha256)
		http_headers_add(h, "Repr-Digest", digest);
	http_headers_add(h, "Cache-Control", "private");
	/*
	 * mod_xsendfile 0.12 makes every file's ETag "0" (its stat leaves
	 * the request's file type unset), so a changed file would still
	 * match a client's If-None-Match or If-Range. It keeps a backend's
	 * ETag, and so does lighttpd's X-Sendfile: they then answer the
	 * conditionals with sluice's tag, the one streaming gives. (nginx
	 * replaces it with its own, which is sound.)
	 */
	if (cfg->offload_mode == CONFIG_OFFLOAD_XSENDFILE) {
		http_headers_add(h, "ETag", etag);
		/* mod_xsendfile honours Range but never says so. */
		http_headers_add(h, "Accept-Ranges", "bytes");
	}
	server_common_headers(h);
	http_headers_add(h, cfg->offload_mode == CONFIG_OFFLOAD_XACCEL ?
	    "X-Accel-Redirect" : "X-Sendfile", v);
	if (http_headers_end(h) == -1) {
		log_warnx("event=header_error reason=refused_value id=%s",
		    job->id);
		return (-1);
	}
	return (0);
toolong:
	log_warnx("event=header_error reason=offload_path_too_long id=%s",
	    job->id);
	return (-1);
}

/*
 * Offload, after the file checks: refuse a path the web server could
 * resolve to another file than openat2 did, and work out from the Range
 * header alone (the server evaluates it, and the conditionals, itself)
 * whether this GET starts a download, for the count and the audit row.
 * Returns 200 with *d and w->hdr ready, or 500.
 */
static int
server_offload_decide(struct worker *w, const struct stream_file *f,
    struct http_decision *d, const char **why)
{
	const struct request *r = &w->req;
	char		 qpath[LOG_VALUE_MAX * 4 + 8];
	int64_t		 start, len;

	if (w->cfg->offload_mode == CONFIG_OFFLOAD_XSENDFILE &&
	    strchr(w->job.file_path, '%') != NULL) {
		*why = "offload_path";
		log_warnx("event=security reason=offload_path id=%s path=%s",
		    w->job.id, log_quote(qpath, sizeof(qpath),
		    w->job.file_path));
		return (500);
	}
	d->status = 200;
	d->start = 0;
	d->length = f->size;
	if (r->method == REQUEST_GET && r->has_range &&
	    http_range_parse(r->range, f->size, &start, &len) ==
	    HTTP_RANGE_OK) {
		d->status = 206;
		d->start = start;
		d->length = len;
	}
	if (server_offload_headers(w, f) == -1) {
		*why = "bad_header_value";
		return (500);
	}
	return (200);
}

/* The request's conditional fields, as the pure decision takes them. */
static void
server_conditions(const struct request *r, struct http_conditions *c)
{
	c->if_match = r->has_if_match ? r->if_match : NULL;
	c->if_none_match = r->has_if_none_match ? r->if_none_match : NULL;
	c->if_modified_since = r->has_if_modified_since ?
	    r->if_modified_since : NULL;
	c->if_unmodified_since = r->has_if_unmodified_since ?
	    r->if_unmodified_since : NULL;
	c->if_range = r->has_if_range ? r->if_range : NULL;
	c->range = r->has_range ? r->range : NULL;
	c->range_allowed = r->method == REQUEST_GET;
}

/*
 * Lookup through headers, in the contract's order. Returns the status to
 * answer with; for 200, 206 and 304, *f is open, *d says what to send and
 * w->hdr is ready. *why names the reason for the log.
 */
static int
server_decide(struct worker *w, int read_rc, struct stream_file *f,
    struct http_decision *d, const char **why)
{
	struct request		*r = &w->req;
	struct policy_client	 c;
	struct http_conditions	 cond;
	struct http_entity	 e;
	char			 etag[HTTP_ETAG_SIZE];
	char			 qpath[LOG_VALUE_MAX * 4 + 8];
	int64_t			 now = (int64_t)time(NULL);
	int			 status;

	/* Accepted just as the pool began to drain (contract: 503). */
	if (atomic_load(w->draining)) {
		*why = "draining";
		return (503);
	}
	if (r->method == REQUEST_OTHER) {
		*why = "method";
		return (405);
	}
	if (read_rc != 0) {
		*why = r->why;
		return (read_rc);
	}
	if ((status = request_parse_target(r, w->cfg->url_prefix)) != 0) {
		*why = r->why;
		return (status);
	}
	switch (jobstore_find(&w->js, r->id, &w->job)) {
	case JOBSTORE_FOUND:
		break;
	case JOBSTORE_NOT_FOUND:
		*why = "unknown_id";
		return (404);
	case JOBSTORE_BUSY:
		*why = "db_busy";
		return (503);
	default:
		*why = "db_error";
		return (500);
	}
	c.remote_user = r->remote_user;
	c.token_ok = server_token_ok(&w->job, r);
	if ((status = policy_decide(&w->job, &c, now, why)) != 200)
		return (status);
	if ((status = stream_open(w->rootfd, &w->job, f, why)) != 0)
		return (status);
	/*
	 * openat2 allows a ".." that stays beneath the root, and an empty or
	 * "." segment. The contract's file_path has none, and an offloading
	 * server would resolve the path again: refuse them in either mode.
	 */
	if (!text_path_plain(w->job.file_path)) {
		*why = "path_not_plain";
		log_warnx("event=security reason=path_not_plain id=%s path=%s",
		    w->job.id, log_quote(qpath, sizeof(qpath),
		    w->job.file_path));
		return (500);
	}
	if (w->cfg->offload_mode != CONFIG_OFFLOAD_NONE)
		return (server_offload_decide(w, f, d, why));
	if (http_etag_format(etag, sizeof(etag), f->ino, f->size, f->mtime_sec,
	    f->mtime_nsec) == -1) {
		*why = "etag";
		return (500);
	}
	server_conditions(r, &cond);
	e.etag = etag;
	e.last_modified = f->mtime_sec;
	e.size = f->size;
	http_decide(&cond, &e, now, d);
	if (d->status == 412 || d->status == 416) {
		*why = d->status == 412 ? "precondition" : "range";
		return (d->status);
	}
	if (server_file_headers(w, d, etag, f->mtime_sec, f->size) == -1) {
		*why = "bad_header_value";
		return (500);
	}
	return (d->status);
}

/*
 * Serve one request on fr, whose parameters are envp. Never exits; every
 * failure becomes a status and one log line.
 */
void
server_handle(struct worker *w, struct FCGX_Request *fr, char **envp)
{
	struct stream_file	 f = { .fd = -1 };
	struct stream_result	 res = { STREAM_COMPLETE, 0 };
	struct http_decision	 d = { 0, 0, 0 };
	int64_t			 row = -1;
	struct timespec		 t0;
	const char		*why = "ok";
	char			 qpath[LOG_VALUE_MAX * 4 + 8];
	char			 quser[LOG_VALUE_MAX * 4 + 8];
	char			 rng[48];
	char			*q;
	long			 first;
	int			 read_rc, status, offload;

	if (clock_gettime(CLOCK_MONOTONIC, &t0) == -1)
		memset(&t0, 0, sizeof(t0));
	read_rc = request_read(&w->req, envp);
	status = server_decide(w, read_rc, &f, &d, &why);
	offload = w->cfg->offload_mode != CONFIG_OFFLOAD_NONE && status == 200;
	if (offload) {
		/* The fd is not needed: the server opens the file itself. */
		stream_close(&f);
		if (w->req.method == REQUEST_GET)
			status = server_audit_begin(w, &d, &row, &why);
		else
			status = 0;
		if (status != 0) {
			offload = 0;
			server_error(w, fr, status, 0, &res);
		} else {
			status = 200;
			if (stream_respond(fr, &w->hdr, NULL, 0, &res) == 0 &&
			    res.outcome == STREAM_COMPLETE)
				res.outcome = STREAM_OFFLOADED;
			server_audit_end(w, row, &d, &res, &t0);
		}
	} else if ((status == 200 || status == 206) &&
	    w->req.method == REQUEST_GET) {
		first = stream_read_first(&f, w->buf, sizeof(w->buf), d.start,
		    d.length);
		if (first == -1) {
			status = 500;
			why = "read_failed";
		} else
			status = server_audit_begin(w, &d, &row, &why);
		if (status != 0)
			server_error(w, fr, status, f.size, &res);
		else {
			status = d.status;
			stream_send_file(fr, &w->hdr, &f, w->buf,
			    sizeof(w->buf), (size_t)first, d.start, d.length,
			    &w->limits, &res);
			server_audit_end(w, row, &d, &res, &t0);
		}
	} else if (status == 200 || status == 206 || status == 304)
		(void)stream_respond(fr, &w->hdr, NULL, 0, &res);
	else
		server_error(w, fr, status, f.fd != -1 ? f.size : 0, &res);
	stream_close(&f);

	/* The path without its query string: the token never reaches logs. */
	if ((q = strchr(w->req.uri, '?')) != NULL)
		*q = '\0';
	log_quote(qpath, sizeof(qpath), w->req.uri);
	log_quote(quser, sizeof(quser), w->req.remote_user);
	/* Offloaded: the range the request asked for (the server's own). */
	if ((offload ? d.status : status) != 206 ||
	    snprintf(rng, sizeof(rng), "%lld-%lld",
	    (long long)d.start, (long long)(d.start + d.length - 1)) < 0)
		memcpy(rng, "-", 2);
	log_info("event=request method=%s id=%s status=%d reason=%s "
	    "range=%s counts=%d bytes=%lld duration_ms=%.3f outcome=%s "
	    "remote=%s user=%s path=%s",
	    w->req.method == REQUEST_GET ? "GET" :
	    w->req.method == REQUEST_HEAD ? "HEAD" : "other",
	    w->req.id[0] != '\0' ? w->req.id : "-", status,
	    why != NULL ? why : "-", rng,
	    http_starts_download(w->req.method == REQUEST_GET,
	    offload ? d.status : status, d.start),
	    (long long)res.bytes, server_elapsed_ms(&t0),
	    stream_outcome_name(res.outcome),
	    w->req.remote_addr[0] != '\0' ? w->req.remote_addr : "-", quser,
	    qpath);
}
