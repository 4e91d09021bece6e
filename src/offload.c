/*
 * offload: hand a file's bytes to the web server only where it keeps
 * every promise sluice's own answer keeps. sluice has already decided
 * the answer (304, 412 and 416 included) from its fstat, as when
 * streaming; HEAD, those answers and anything a server would read its
 * own way are sluice's to send. What each server does with the header,
 * read from its source (Debian 12):
 * - lighttpd 1.4.69, X-Sendfile "<url-encoded path>" (http-header-glue.c):
 *   sends the whole file under sluice's headers (its ETag and
 *   Last-Modified kept), answers If-None-Match and If-Modified-Since
 *   itself, and no Range (server.range-requests is off where sluice is
 *   mounted). With server.follow-symlink "disable" it opens the path
 *   with O_NOFOLLOW and refuses (403) when that fails, which guards the
 *   last segment only: a nested file_path, whose directory could be
 *   swapped for a symlink after sluice's check, is streamed. So only a
 *   whole 200 goes: X-Sendfile2, which names a range, falls back to an
 *   open that follows symlinks when its O_NOFOLLOW open fails (measured:
 *   2 outside files in 3,214 downloads during a swap loop). A path that
 *   is not UTF-8 is lighttpd's 502: refused here first.
 * - nginx 1.22, X-Accel-Redirect to an internal location: sends the file
 *   with its own ETag ("mtime-size" in hex: sluice's in this mode too) and
 *   applies the request's Range and conditionals again; disable_symlinks
 *   on opens each segment with O_NOFOLLOW.
 * - mod_xsendfile 0.12, X-Sendfile: acts on a 200 only, keeps sluice's
 *   ETag, evaluates the conditionals again, and Apache's byterange filter
 *   the Range. It checks the path's text only and follows symlinks, so
 *   it runs only with --offload-symlink-race accept (config.c).
 * Behind nginx and Apache a response is handed over only when the
 * request leaves the server nothing to read its own way: no If-* header
 * but an If-Range equal to the validator sent, and no Range (a 200) or
 * one plain range (a 206).
 *
 * Pure: no system calls, no allocation, no globals.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "http_cond.h"
#include "http_hdr.h"
#include "job.h"
#include "offload.h"
#include "plan.h"
#include "request.h"
#include "text.h"

#define OFFLOAD_PATH_MAX	4095	/* a server open()s the whole path */
#define OFFLOAD_DIGITS_MAX	18	/* a range bound no server overflows */

/*
 * The strong ETag of the file in this mode: nginx replaces sluice's with
 * its own (ngx_http_set_etag: "%xT-%xO", mtime and size in hex), so behind
 * it sluice sends that one too, streamed or not, and a client's
 * If-None-Match and If-Range mean the same thing whoever answered.
 * Returns 0, or -1 when buf is too small.
 */
int
offload_etag_format(const struct config *cfg, const struct plan_file *file,
    char *buf, size_t size)
{
	int	 n;

	if (cfg->offload_mode != CONFIG_OFFLOAD_XACCEL)
		return (http_etag_format(buf, size, file->ino, file->size,
		    file->mtime_sec, file->mtime_nsec));
	n = snprintf(buf, size, "\"%llx-%llx\"",
	    (unsigned long long)file->mtime_sec,
	    (unsigned long long)file->size);
	if (n < 0 || (size_t)n >= size)
		return (-1);
	return (0);
}

/*
 * Can the web server, whose uid came with the connection (-1: unknown),
 * read the file? Its groups are unknown, so a file its group or anyone
 * may read counts as readable: only a file no server could read is
 * refused (an owner-only file of another user).
 */
static int
offload_readable(const struct plan_facts *f)
{
	const struct plan_file *file = &f->file;

	if ((file->perm & (S_IRGRP | S_IROTH)) != 0 || f->peer_uid <= 0)
		return (1);
	return (f->peer_uid == file->uid && (file->perm & S_IRUSR) != 0);
}

/*
 * Check 6, offloaded: the file as the web server would open it. Whatever
 * it could not open is refused here, before a download counts for it (a
 * 500, as any file sluice cannot serve), whether or not this response
 * would have been handed over. Returns 0, or 500 with p->why set.
 */
int
offload_check(const struct plan_facts *f, struct plan *p)
{
	const char		*path = f->job->file_path;
	enum config_offload	 mode = f->cfg->offload_mode;

	if (mode == CONFIG_OFFLOAD_NONE)
		return (0);
	if (mode == CONFIG_OFFLOAD_XSENDFILE && strchr(path, '%') != NULL) {
		/* A newer mod_xsendfile url-decodes the value. */
		p->event = PLAN_EVENT_SECURITY;
		p->why = "offload_path";
		return (500);
	}
	p->event = PLAN_EVENT_FILE;
	if (mode == CONFIG_OFFLOAD_LIGHTTPD && !text_utf8_valid(path)) {
		p->why = "offload_not_utf8";
		return (500);
	}
	if (!offload_readable(f)) {
		p->why = "offload_unreadable";
		return (500);
	}
	p->event = PLAN_EVENT_NONE;
	return (0);
}

/* "bytes=A-B", "bytes=A-" or "bytes=-N": read alike by every server. */
static int
offload_range_plain(const char *s)
{
	size_t	 a, b;

	if (strncmp(s, "bytes=", 6) != 0)
		return (0);
	s += 6;
	a = strspn(s, "0123456789");
	if (s[a] != '-')
		return (0);
	b = strspn(s + a + 1, "0123456789");
	return ((a > 0 || b > 0) && a <= OFFLOAD_DIGITS_MAX &&
	    b <= OFFLOAD_DIGITS_MAX && s[a + 1 + b] == '\0');
}

/*
 * Why this 200 or 206 stays sluice's to send, or NULL to hand it over:
 * where the server would not send exactly those bytes with no answer of
 * its own, or could be led outside the root.
 */
static const char *
offload_refuses(const struct plan_facts *f, const struct plan_values *v,
    const struct plan *p)
{
	const struct request *r = f->req;

	if (p->length == 0)
		return ("empty");
	if (f->cfg->offload_mode == CONFIG_OFFLOAD_LIGHTTPD) {
		if (strchr(f->job->file_path, '/') != NULL)
			return ("nested_path");
		if (p->status != 200)
			return ("range");
		return (r->has_if_none_match || r->has_if_modified_since ?
		    "conditional" : NULL);
	}
	if (r->has_if_match || r->has_if_none_match ||
	    r->has_if_modified_since || r->has_if_unmodified_since)
		return ("conditional");
	if (p->status == 200)
		return (r->has_range ? "range_ignored" : NULL);
	if (!offload_range_plain(r->range))
		return ("range_form");
	/*
	 * Apache compares an If-Range date with the file's mtime to the
	 * microsecond (mod_xsendfile sets it from its stat): only the ETag
	 * means the same to it.
	 */
	if (r->has_if_range && strcmp(r->if_range, v->etag) != 0 &&
	    (f->cfg->offload_mode == CONFIG_OFFLOAD_XSENDFILE ||
	    strcmp(r->if_range, v->last_modified) != 0))
		return ("if_range_form");
	return (NULL);
}

/*
 * The value naming the file to the server, in p->scratch: lighttpd's
 * percent-encoded absolute path, X-Accel-Redirect's prefix and
 * percent-encoded path, mod_xsendfile's absolute path as bytes. Returns 0,
 * or -1 when the path is too long for the server to open or the value
 * too long to send.
 */
static int
offload_value(const struct config *cfg, const char *path, struct plan *p)
{
	char		 abs[OFFLOAD_PATH_MAX + 1];
	char		*v = p->scratch;
	size_t		 rlen = strlen(cfg->root_abs), plen;
	int		 n;

	n = snprintf(abs, sizeof(abs), "%s%s%s", cfg->root_abs,
	    rlen > 0 && cfg->root_abs[rlen - 1] == '/' ? "" : "/", path);
	if (n < 0 || (size_t)n >= sizeof(abs))
		return (-1);
	switch (cfg->offload_mode) {
	case CONFIG_OFFLOAD_XACCEL:
		plen = strlen(cfg->offload_prefix);
		if (plen >= sizeof(p->scratch))
			return (-1);
		memcpy(v, cfg->offload_prefix, plen);
		return (text_pct_encode(v + plen, sizeof(p->scratch) - plen,
		    path, TEXT_PCT_PATH));
	case CONFIG_OFFLOAD_LIGHTTPD:
		return (text_pct_encode(v, sizeof(p->scratch), abs,
		    TEXT_PCT_PATH));
	default:
		memcpy(v, abs, (size_t)n + 1);
		return (0);
	}
}

/*
 * The header block of a response the server sends. lighttpd's carries
 * sluice's own 200 and headers. nginx keeps only some of a redirect's
 * headers (Content-Type, Content-Disposition, Cache-Control; its config
 * adds the rest), and mod_xsendfile acts on a 200 only: both get a 200,
 * and the server makes the 206 of the Range sluice checked.
 */
static void
offload_headers(const struct plan_facts *f, const struct plan_values *v,
    struct plan *p)
{
	struct http_headers *h = &p->hdr;
	int		 xsendfile;

	if (f->cfg->offload_mode == CONFIG_OFFLOAD_LIGHTTPD) {
		plan_file_headers(f, v, p, "X-Sendfile", p->scratch);
		return;
	}
	xsendfile = f->cfg->offload_mode == CONFIG_OFFLOAD_XSENDFILE;
	http_headers_init(h, 200);
	http_headers_add(h, "Content-Type", v->type);
	http_headers_add(h, "Content-Disposition", v->disposition);
	if (v->has_digest)
		http_headers_add(h, "Repr-Digest", v->digest);
	http_headers_add(h, "Cache-Control", "private");
	/*
	 * mod_xsendfile 0.12 makes every file's ETag "0" (its stat leaves
	 * the request's file type unset); it keeps a backend's, and
	 * answers If-Range with it.
	 */
	if (xsendfile) {
		http_headers_add(h, "ETag", v->etag);
		/* mod_xsendfile honours Range but never says so. */
		http_headers_add(h, "Accept-Ranges", "bytes");
	}
	plan_common_headers(h);
	/* As when streamed: one set of headers, whoever sends the bytes. */
	if (xsendfile)
		http_headers_add(h, "X-Accel-Buffering", "no");
	http_headers_add(h, xsendfile ? "X-Sendfile" : "X-Accel-Redirect",
	    p->scratch);
	(void)http_headers_end(h);
}

/*
 * Offload mode, after sluice planned the answer as if streaming: hand a
 * GET's 200 or 206 to the web server where offload_refuses finds no
 * reason against it, and the value and the block fit. Otherwise the plan
 * stays sluice's stream, with p->streamed saying why.
 */
void
offload_plan(const struct plan_facts *f, const struct plan_values *v,
    struct plan *p)
{
	const char	*why;

	if (f->cfg->offload_mode == CONFIG_OFFLOAD_NONE ||
	    p->body != PLAN_BODY_FILE)
		return;
	if ((why = offload_refuses(f, v, p)) == NULL &&
	    offload_value(f->cfg, f->job->file_path, p) == -1)
		why = "path_too_long";
	if (why != NULL) {
		p->streamed = why;
		return;
	}
	offload_headers(f, v, p);
	if (p->hdr.error) {
		/* Checked when streamed: only the value can be at fault. */
		plan_file_headers(f, v, p, NULL, NULL);
		p->streamed = "path_too_long";
		return;
	}
	p->offload = 1;
	p->body = PLAN_BODY_NONE;
}
