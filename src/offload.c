/*
 * offload: hand the file to the web server, which then sends it with its
 * own Content-Length, ETag, Last-Modified and Accept-Ranges, and answers
 * Range and the conditionals itself. sluice adds what only it knows: the
 * type, the name, the digest.
 *
 * Pure: no system calls, no allocation, no globals.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "http_cond.h"
#include "http_hdr.h"
#include "text.h"
#include "job.h"
#include "offload.h"
#include "plan.h"
#include "policy.h"
#include "request.h"

/*
 * The value that names the file to the web server, in p->scratch: for
 * X-Sendfile the absolute path as bytes (mod_xsendfile takes it verbatim;
 * lighttpd url-decodes it, so a '%' is refused first), for
 * X-Accel-Redirect a URI, percent-encoded. Returns 0, or -1 when it does
 * not fit.
 */
static int
offload_value(const struct config *cfg, const char *path, struct plan *p)
{
	char		*v = p->scratch;
	size_t		 plen, rlen;
	int		 n;

	if (cfg->offload_mode == CONFIG_OFFLOAD_XACCEL) {
		plen = strlen(cfg->offload_prefix);
		if (plen >= sizeof(p->scratch))
			return (-1);
		memcpy(v, cfg->offload_prefix, plen);
		return (text_pct_encode(v + plen, sizeof(p->scratch) - plen,
		    path, TEXT_PCT_PATH));
	}
	rlen = strlen(cfg->root_abs);
	n = snprintf(v, sizeof(p->scratch), "%s%s%s", cfg->root_abs,
	    rlen > 0 && cfg->root_abs[rlen - 1] == '/' ? "" : "/", path);
	if (n < 0 || (size_t)n >= sizeof(p->scratch))
		return (-1);
	return (0);
}

/*
 * From the Range header alone (the server evaluates it, and the
 * conditionals, itself): the range asked for, for the log and the
 * download's coverage.
 */
static void
offload_range(const struct plan_facts *f, struct plan *p)
{
	const struct request *r = f->req;
	int64_t		 start, len;

	p->start = 0;
	p->length = f->file.size;
	if (r->method == REQUEST_GET && r->has_range &&
	    http_range_parse(r->range, f->file.size, &start, &len) ==
	    HTTP_RANGE_OK) {
		p->ranged = 1;
		p->start = start;
		p->length = len;
	}
}

/*
 * Plan the offloaded answer: always 200 from sluice, headers only.
 * Returns 0 with p->hdr ready, or 500 with p->why and p->event set.
 */
int
offload_plan(const struct plan_facts *f, const struct plan_values *v,
    struct plan *p)
{
	const struct config *cfg = f->cfg;
	struct http_headers *h = &p->hdr;
	int		 xsendfile = cfg->offload_mode == CONFIG_OFFLOAD_XSENDFILE;

	if (xsendfile && strchr(f->job->file_path, '%') != NULL) {
		p->event = PLAN_EVENT_SECURITY;
		p->why = "offload_path";
		return (500);
	}
	if (offload_value(cfg, f->job->file_path, p) == -1) {
		p->event = PLAN_EVENT_HEADER;
		p->why = "offload_path_too_long";
		return (500);
	}
	p->status = 200;
	p->offload = 1;
	p->body = PLAN_BODY_NONE;
	offload_range(f, p);
	http_headers_init(h, 200);
	http_headers_add(h, "Content-Type", v->type);
	http_headers_add(h, "Content-Disposition", v->disposition);
	if (v->has_digest)
		http_headers_add(h, "Repr-Digest", v->digest);
	http_headers_add(h, "Cache-Control", "private");
	/*
	 * mod_xsendfile 0.12 makes every file's ETag "0" (its stat leaves
	 * the request's file type unset), so a changed file would still
	 * match a client's If-None-Match or If-Range. It keeps a backend's
	 * ETag, and so does lighttpd's X-Sendfile: they then answer the
	 * conditionals with sluice's tag, the one streaming gives. (nginx
	 * replaces it with its own, which is sound.)
	 */
	if (xsendfile) {
		http_headers_add(h, "ETag", v->etag);
		/* mod_xsendfile honours Range but never says so. */
		http_headers_add(h, "Accept-Ranges", "bytes");
	}
	plan_common_headers(h);
	http_headers_add(h, xsendfile ? "X-Sendfile" : "X-Accel-Redirect",
	    p->scratch);
	(void)http_headers_end(h);
	return (0);
}
