/*
 * plan: the contract's checks in its order, and the response they lead
 * to, as one pure function of the facts (see plan.h for how facts that
 * take I/O are asked for):
 *   1. method; 2. path and id; 3. lookup, then token; 4. owner;
 *   5. job state, then the download (joined, or opened within the limit);
 *   6. the file; 7. preconditions; 8. range.
 * The first that fails decides. An error answer is one short text line
 * (none for HEAD) and never carries file bytes. Offload (offload.c) only
 * changes who sends the bytes, so it only fills the header block.
 *
 * Pure: no system calls, no allocation, no globals.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "job.h"
#include "offload.h"
#include "plan.h"
#include "policy.h"
#include "request.h"
#include "text.h"

/* Headers every response carries. */
void
plan_common_headers(struct http_headers *h)
{
	http_headers_add(h, "Referrer-Policy", "no-referrer");
	http_headers_add(h, "X-Content-Type-Options", "nosniff");
}

/*
 * Turn p into the answer with an error status: one short text line (none
 * for HEAD), the common headers, and Allow, Retry-After or Content-Range
 * where the status calls for them. A header block that cannot be made is
 * a bug of sluice's own: p->event says so, and nothing is to be sent.
 */
void
plan_error(const struct plan_facts *f, struct plan *p, int status,
    const char *why)
{
	struct http_headers *h = &p->hdr;
	const char	*body = http_error_body(status);
	char		 cr[64];
	int		 n;

	p->status = status;
	p->why = why;
	p->ranged = 0;
	p->start = p->length = 0;
	p->text = body;
	p->text_len = strlen(body);
	p->body = f->req->method == REQUEST_HEAD ? PLAN_BODY_NONE :
	    PLAN_BODY_TEXT;
	http_headers_init(h, status);
	http_headers_add(h, "Content-Type", "text/plain; charset=utf-8");
	http_headers_add_int(h, "Content-Length", (int64_t)p->text_len);
	http_headers_add(h, "Cache-Control", "no-store");
	plan_common_headers(h);
	if (status == 405)
		http_headers_add(h, "Allow", "GET, HEAD");
	else if (status == 409)
		http_headers_add_int(h, "Retry-After", POLICY_RETRY_AFTER);
	else if (status == 503)
		http_headers_add_int(h, "Retry-After", HTTP_RETRY_AFTER_BUSY);
	else if (status == 416) {
		/* RFC 9110 §15.5.17: the current length, for the client. */
		n = snprintf(cr, sizeof(cr), "bytes */%lld",
		    (long long)(f->file.state == PLAN_FILE_OPEN ?
		    f->file.size : 0));
		if (n < 0 || (size_t)n >= sizeof(cr))
			h->error = 1;
		else
			http_headers_add(h, "Content-Range", cr);
	}
	/* Only values of ours above: a failure here is a bug in sluice. */
	if (http_headers_end(h) == -1) {
		p->event = PLAN_EVENT_BUG;
		p->body = PLAN_BODY_NONE;
	}
}

/* Checks 1 and 2, and the drain: 0, or the status. */
static int
plan_request(const struct plan_facts *f, const char **why)
{
	/* Accepted just as the pool began to drain (contract: 503). */
	if (f->draining) {
		*why = "draining";
		return (503);
	}
	if (f->req->method == REQUEST_OTHER) {
		*why = "method";
		return (405);
	}
	if (f->read_status != 0 || f->target_status != 0) {
		*why = f->req->why;
		return (f->read_status != 0 ? f->read_status :
		    f->target_status);
	}
	return (0);
}

/*
 * Is this a GET or HEAD of --metrics-path (the raw REQUEST_URI without
 * its query)? Outside every URL prefix (config.c), so no job id is one.
 */
static int
plan_is_metrics(const struct plan_facts *f)
{
	const char	*m = f->cfg->metrics_path;
	size_t		 len = strlen(m);

	return (len > 0 && f->read_status == 0 && !f->draining &&
	    f->req->method != REQUEST_OTHER &&
	    strncmp(f->req->uri, m, len) == 0 &&
	    (f->req->uri[len] == '\0' || f->req->uri[len] == '?'));
}

/*
 * The metrics page: a 200 of the exposition the server rendered into
 * facts.metrics, a small text response like an error's. Prometheus
 * parses version 0.0.4 from the Content-Type.
 */
static enum plan_next
plan_metrics(const struct plan_facts *f, struct plan *p)
{
	struct http_headers *h = &p->hdr;

	if (f->metrics == NULL)
		return (PLAN_NEED_METRICS);
	p->status = 200;
	p->why = "metrics";
	p->metrics = 1;
	p->text = f->metrics;
	p->text_len = f->metrics_len;
	p->body = f->req->method == REQUEST_HEAD ? PLAN_BODY_NONE :
	    PLAN_BODY_TEXT;
	http_headers_init(h, 200);
	http_headers_add(h, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	http_headers_add_int(h, "Content-Length", (int64_t)p->text_len);
	http_headers_add(h, "Cache-Control", "no-store");
	plan_common_headers(h);
	if (http_headers_end(h) == -1) {
		p->event = PLAN_EVENT_BUG;
		p->body = PLAN_BODY_NONE;
	}
	return (PLAN_READY);
}

/* Check 3's lookup: 0 when the job was found, or the status. */
static int
plan_lookup(const struct plan_facts *f, const char **why)
{
	switch (f->lookup) {
	case PLAN_LOOKUP_FOUND:
		return (0);
	case PLAN_LOOKUP_NOT_FOUND:
		*why = "unknown_id";
		return (404);
	case PLAN_LOOKUP_BUSY:
		*why = "db_busy";
		return (503);
	default:
		*why = "db_error";
		return (500);
	}
}

/*
 * Check 5's second half, for a GET: the client's download of the job,
 * joined or opened in the state database before the file is touched (a
 * later refusal withdraws it: server.c). A HEAD never takes part. Sets
 * *status (0: go on) unless it needs the downloads state.
 */
static enum plan_next
plan_download(const struct plan_facts *f, struct plan *p, int *status)
{
	int	 limited = policy_limit(f->job) >= 0;

	*status = 0;
	if (f->req->method != REQUEST_GET)
		return (PLAN_READY);
	switch (f->download) {
	case PLAN_DOWNLOAD_UNKNOWN:
		return (PLAN_NEED_DOWNLOAD);
	case PLAN_DOWNLOAD_OPENED:
	case PLAN_DOWNLOAD_JOINED:
		break;
	case PLAN_DOWNLOAD_LIMIT:
		p->why = "download_limit";
		*status = 410;
		break;
	case PLAN_DOWNLOAD_OFF:
		/* A limited job is never served uncounted. */
		if (limited) {
			p->why = "audit_off";
			*status = 503;
		}
		break;
	default:
		/* The trail is for operators, the file for the user; a
		 * limit, though, cannot hold without it. */
		if (limited) {
			p->why = "audit_failed";
			*status = 503;
		}
		break;
	}
	return (PLAN_READY);
}

/* Check 6: the file the row names, as opened and fstat'ed. */
static int
plan_file(const struct plan_facts *f, struct plan *p)
{
	const struct plan_file *file = &f->file;

	if (file->state != PLAN_FILE_OPEN) {
		p->why = file->why != NULL ? file->why : "open_failed";
		return (500);
	}
	p->event = PLAN_EVENT_FILE;
	if (!file->regular) {
		p->why = "not_regular";
		return (500);
	}
	if (file->size != f->job->file_size) {
		p->why = "size_mismatch";
		return (500);
	}
	/*
	 * openat2 allows a ".." that stays beneath the root, and an empty or
	 * "." segment. The contract's file_path has none, and an offloading
	 * server would resolve the path again: refuse them in either mode.
	 */
	if (!text_path_plain(f->job->file_path)) {
		p->event = PLAN_EVENT_SECURITY;
		p->why = "path_not_plain";
		return (500);
	}
	p->event = PLAN_EVENT_NONE;
	return (0);
}

/*
 * The values from the row that every file response carries, formatted
 * and checked once. Returns 0, or -1 when one cannot be sent.
 */
static int
plan_values(const struct plan_facts *f, struct plan_values *v)
{
	const struct job *job = f->job;
	const struct plan_file *file = &f->file;

	v->type = job->has_content_type && job->content_type[0] != '\0' ?
	    job->content_type : "application/octet-stream";
	v->has_digest = job->has_sha256;
	if (http_disposition_format(v->disposition, sizeof(v->disposition),
	    job->has_file_name ? job->file_name : NULL, job->id) == -1 ||
	    (job->has_sha256 && http_digest_format(v->digest,
	    sizeof(v->digest), job->sha256) == -1) ||
	    offload_etag_format(f->cfg, file, v->etag, sizeof(v->etag)) ==
	    -1 ||
	    http_date_format(v->last_modified, sizeof(v->last_modified),
	    file->mtime_sec) == -1)
		return (-1);
	return (0);
}

/* The request's conditional fields, as http_decide takes them. */
static void
plan_conditions(const struct request *r, struct http_conditions *c)
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
 * The header block of a 200, 206 or 304 of the file: every header in the
 * contract, less what RFC 9110 §15.4.5 drops from a 304 (Content-Length,
 * Content-Type, Repr-Digest). Repr-Digest covers the whole file, so a 206
 * keeps it: a resumed download can be verified. name, unless NULL, adds
 * one more line (lighttpd's X-Sendfile) before the block ends.
 */
void
plan_file_headers(const struct plan_facts *f, const struct plan_values *v,
    struct plan *p, const char *name, const char *value)
{
	struct http_headers *h = &p->hdr;
	char		 cr[80];
	int		 n;

	http_headers_init(h, p->status);
	if (p->status != 304) {
		http_headers_add(h, "Content-Type", v->type);
		http_headers_add_int(h, "Content-Length", p->length);
		http_headers_add(h, "Accept-Ranges", "bytes");
	}
	if (p->status == 206) {
		n = snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld",
		    (long long)p->start, (long long)(p->start + p->length - 1),
		    (long long)f->file.size);
		if (n < 0 || (size_t)n >= sizeof(cr))
			h->error = 1;
		else
			http_headers_add(h, "Content-Range", cr);
	}
	http_headers_add(h, "ETag", v->etag);
	http_headers_add(h, "Last-Modified", v->last_modified);
	http_headers_add(h, "Content-Disposition", v->disposition);
	if (v->has_digest && p->status != 304)
		http_headers_add(h, "Repr-Digest", v->digest);
	http_headers_add(h, "Cache-Control", "private");
	plan_common_headers(h);
	/* Streamed: nginx must not spool up to 1 GiB of it to disk. */
	if (p->status != 304)
		http_headers_add(h, "X-Accel-Buffering", "no");
	if (name != NULL)
		http_headers_add(h, name, value);
	(void)http_headers_end(h);
}

/* Checks 7 and 8, and the response sluice streams itself. */
static int
plan_stream(const struct plan_facts *f, const struct plan_values *v,
    struct plan *p)
{
	struct http_conditions	 cond;
	struct http_entity	 e;
	struct http_decision	 d;

	plan_conditions(f->req, &cond);
	e.etag = v->etag;
	e.last_modified = f->file.mtime_sec;
	e.size = f->file.size;
	http_decide(&cond, &e, f->now, &d);
	if (d.status == 412 || d.status == 416) {
		p->why = d.status == 412 ? "precondition" : "range";
		return (d.status);
	}
	p->status = d.status;
	p->start = d.start;
	p->length = d.length;
	p->ranged = d.status == 206;
	p->body = f->req->method == REQUEST_GET && d.status != 304 ?
	    PLAN_BODY_FILE : PLAN_BODY_NONE;
	plan_file_headers(f, v, p, NULL, NULL);
	return (0);
}

/*
 * After the access checks: the file (as sluice opened it, then as the
 * web server would, offloaded), and the response it leads to. Offload
 * mode decides the answer as streaming does; offload_plan then hands the
 * bytes of a 200 or 206 to the server where it would send just those.
 */
static int
plan_respond(const struct plan_facts *f, struct plan *p)
{
	struct plan_values	 v;
	int			 status;

	if ((status = plan_file(f, p)) != 0 ||
	    (status = offload_check(f, p)) != 0)
		return (status);
	if (plan_values(f, &v) == -1) {
		p->event = PLAN_EVENT_HEADER;
		p->why = "bad_header_value";
		return (500);
	}
	p->why = "ok";
	if ((status = plan_stream(f, &v, p)) == 0 && !p->hdr.error)
		offload_plan(f, &v, p);
	if (status == 0 && p->hdr.error) {
		p->event = PLAN_EVENT_HEADER;
		p->why = "bad_header_value";
		return (500);
	}
	return (status);
}

/*
 * Plan the answer to f->req from the facts known so far. Returns
 * PLAN_READY with *p complete (p->hdr ready to send, unless p->event is
 * PLAN_EVENT_BUG), or the kind of fact needed next, which the caller
 * gathers before calling again; *p is then only partly filled.
 */
enum plan_next
plan_make(const struct plan_facts *f, struct plan *p)
{
	enum plan_next	 next;
	int		 status;

	memset(p, 0, offsetof(struct plan, hdr));
	p->why = "ok";
	if (plan_is_metrics(f))
		return (plan_metrics(f, p));
	if ((status = plan_request(f, &p->why)) != 0)
		goto refuse;
	if (f->lookup == PLAN_LOOKUP_UNKNOWN)
		return (PLAN_NEED_JOB);
	if ((status = plan_lookup(f, &p->why)) != 0)
		goto refuse;
	if ((status = policy_access(f->job, &(struct policy_client){
	    f->req->remote_user, f->token_sha256 }, f->now, &p->why)) != 0)
		goto refuse;
	if ((next = plan_download(f, p, &status)) != PLAN_READY)
		return (next);
	if (status != 0)
		goto refuse;
	if (f->file.state == PLAN_FILE_UNKNOWN)
		return (PLAN_NEED_FILE);
	if ((status = plan_respond(f, p)) != 0)
		goto refuse;
	return (PLAN_READY);
refuse:
	plan_error(f, p, status, p->why);
	return (PLAN_READY);
}
