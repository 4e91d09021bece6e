/*
 * server: one request, start to end, as four steps:
 *   gather facts (the request, then, as the plan asks for them, the job
 *   row, the client's download and the file) -> plan (plan.c, pure: every
 *   check of the contract, the status, the header block, the body) ->
 *   execute (send it; end the response in the state database, or withdraw
 *   it if a later check refused) -> one log line.
 * Nothing that may refuse a request runs after the first byte is sent;
 * the only refusal left to execution is a file that cannot be read (500),
 * found before any header goes out.
 *
 * Owns no memory of its own: everything lives in the thread's struct
 * worker and in one struct server_request on the stack.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "config.h"
#include "confine.h"
#include "log.h"
#include "policy.h"
#include "server.h"

/* One request's facts and progress, beside the worker's buffers. */
struct server_request {
	struct plan_facts	 facts;
	int			 fd;		/* the file's; -1: none */
	unsigned char		 token[POLICY_DIGEST_LEN];
	struct stream_result	 res;
	struct audit_ticket	 ticket;	/* the response's rows */
	struct timespec		 t0;
};

#define SERVER_QUOTED	(LOG_VALUE_MAX * 4 + 8)	/* a log_quote'd value */

/* One "root_reopened" line per process and new root. */
static _Atomic uint64_t server_root_logged;
static _Atomic int64_t server_root_failed;	/* the second last logged */

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
	struct stat	 st;
	size_t		 i;

	w->cfg = cfg;
	w->rootfd = rootfd;
	w->own_rootfd = -1;
	if (fstat(rootfd, &st) == -1) {
		snprintf(err, errsz, "export root: fstat failed");
		return (-1);
	}
	reopen_id_set(&w->root_id, &st);
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
	if (w->own_rootfd != -1)
		close(w->own_rootfd);
	w->own_rootfd = -1;
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

/* The request itself: its parameters, its target and its token. */
static void
server_gather_request(struct worker *w, char **envp,
    struct server_request *x)
{
	struct plan_facts *f = &x->facts;

	memset(x, 0, sizeof(*x));
	x->fd = -1;
	x->ticket.response = x->ticket.download = -1;
	x->res.outcome = STREAM_COMPLETE;
	if (clock_gettime(CLOCK_MONOTONIC, &x->t0) == -1)
		memset(&x->t0, 0, sizeof(x->t0));
	f->cfg = w->cfg;
	f->req = &w->req;
	f->job = &w->job;
	f->now = (int64_t)time(NULL);
	f->draining = atomic_load(w->draining);
	f->read_status = request_read(&w->req, envp);
	if (f->read_status == 0 && w->req.method != REQUEST_OTHER)
		f->target_status = request_parse_target(&w->req,
		    w->cfg->url_prefix);
	/* The row keeps only the token's SHA-256: compare digests. */
	if (f->target_status == 0 && w->req.has_token &&
	    crypto_hash_sha256(x->token, (const unsigned char *)w->req.token,
	    strlen(w->req.token)) == 0)
		f->token_sha256 = x->token;
}

/* Check 3: the job's row. */
static void
server_gather_job(struct worker *w, struct plan_facts *f)
{
	switch (jobstore_find(&w->js, w->req.id, &w->job)) {
	case JOBSTORE_FOUND:
		f->lookup = PLAN_LOOKUP_FOUND;
		break;
	case JOBSTORE_NOT_FOUND:
		f->lookup = PLAN_LOOKUP_NOT_FOUND;
		break;
	case JOBSTORE_BUSY:
		f->lookup = PLAN_LOOKUP_BUSY;
		break;
	default:
		f->lookup = PLAN_LOOKUP_ERROR;
		break;
	}
}

/*
 * Check 5's download, for a GET: join the client's open download of the
 * job, or open one within the job's limit, and record the response, in
 * one transaction of the state database, before the file is touched. The
 * response is recorded as the whole file, a 200, until it ends.
 */
static void
server_gather_download(struct worker *w, struct server_request *x)
{
	struct audit_entry e;

	if (w->au == NULL) {
		x->facts.download = PLAN_DOWNLOAD_OFF;
		return;
	}
	e.job_id = w->job.id;
	e.remote_addr = w->req.remote_addr;
	e.remote_user = w->req.remote_user;
	e.started_at = x->facts.now;
	e.range_start = 0;
	e.range_end = w->job.file_size - 1;
	e.status = 200;
	e.file_size = w->job.file_size;
	e.max_downloads = policy_limit(&w->job);
	e.window = w->cfg->resume_window;
	switch (audit_begin(w->au, &e, &x->ticket)) {
	case AUDIT_OPENED:
		x->facts.download = PLAN_DOWNLOAD_OPENED;
		break;
	case AUDIT_JOINED:
		x->facts.download = PLAN_DOWNLOAD_JOINED;
		break;
	case AUDIT_LIMIT:
		x->facts.download = PLAN_DOWNLOAD_LIMIT;
		break;
	default:
		x->facts.download = PLAN_DOWNLOAD_FAILED;
		break;
	}
}

/*
 * The export root moved away and made anew (--root now names another
 * directory): open the new one for this thread, and keep serving from
 * the old one until that works.
 */
static void
server_root_check(struct worker *w)
{
	struct stat	 st;
	char		 err[512];
	int		 fd;

	if (!reopen_changed(&w->root_id, w->cfg->root))
		return;
	if (confine_root_open(w->cfg->root, &fd, err, sizeof(err)) == -1) {
		reopen_log_failed(&server_root_failed, "root_reopen_failed",
		    err);
		return;
	}
	if (fstat(fd, &st) == -1) {
		(void)snprintf(err, sizeof(err), "export root: fstat: %s",
		    strerror(errno));
		reopen_log_failed(&server_root_failed, "root_reopen_failed",
		    err);
		close(fd);
		return;
	}
	if (w->own_rootfd != -1)
		close(w->own_rootfd);
	w->own_rootfd = w->rootfd = fd;
	reopen_id_set(&w->root_id, &st);
	reopen_log_once(&server_root_logged, &w->root_id, "root_reopened",
	    w->cfg->root);
}

/* Check 6's facts: the file, opened beneath the root, and its fstat. */
static void
server_gather_file(struct worker *w, struct server_request *x)
{
	server_root_check(w);
	(void)stream_open(w->rootfd, &w->job, &x->fd, &x->facts.file);
}

/* A warning the plan found, logged once with what it concerns. */
static void
server_log_event(const struct worker *w, const struct server_request *x)
{
	const struct plan *p = &w->plan;
	char		 qpath[SERVER_QUOTED];

	if (p->event == PLAN_EVENT_NONE)
		return;
	log_quote(qpath, sizeof(qpath), w->job.file_path);
	if (p->event == PLAN_EVENT_SECURITY)
		log_warnx("event=security reason=%s id=%s path=%s", p->why,
		    w->job.id, qpath);
	else if (p->event == PLAN_EVENT_FILE)
		log_warnx("event=file_error reason=%s id=%s path=%s mode=%o "
		    "expected=%lld actual=%lld", p->why, w->job.id, qpath,
		    x->facts.file.type, (long long)w->job.file_size,
		    (long long)x->facts.file.size);
	else if (p->event == PLAN_EVENT_HEADER)
		log_warnx("event=header_error reason=%s id=%s", p->why,
		    w->job.id);
	else
		log_warnx("event=bug reason=error_headers status=%d",
		    p->status);
}

/*
 * Gather facts as the plan asks for them, until it is complete; then log
 * what it found wrong, if anything.
 */
static void
server_plan(struct worker *w, struct server_request *x)
{
	enum plan_next	 next;

	while ((next = plan_make(&x->facts, &w->plan)) != PLAN_READY) {
		if (next == PLAN_NEED_JOB)
			server_gather_job(w, &x->facts);
		else if (next == PLAN_NEED_DOWNLOAD)
			server_gather_download(w, x);
		else
			server_gather_file(w, x);
	}
	server_log_event(w, x);
}

/* A response withdrawn: a check after its download refused it. */
static void
server_withdraw(struct worker *w, struct server_request *x)
{
	audit_cancel(w->au, &x->ticket);
	x->ticket.response = x->ticket.download = -1;
	x->ticket.opened = 0;
}

/*
 * The response's last facts, once it has ended, and what it handed to the
 * web server for its download: the bytes written, or, offloaded, the
 * range the server was told to send (the status it gives a range it
 * honours).
 */
static void
server_audit_close(struct worker *w, struct server_request *x)
{
	const struct plan *p = &w->plan;
	struct audit_final fin;
	int		 offloaded = x->res.outcome == STREAM_OFFLOADED;

	if (x->ticket.response < 0)
		return;
	fin.status = p->ranged ? 206 : p->status;
	fin.range_start = p->start;
	fin.range_end = p->start + p->length - 1;
	fin.bytes = x->res.bytes;
	fin.duration_ms = (int64_t)server_elapsed_ms(&x->t0);
	fin.outcome = stream_outcome_name(x->res.outcome);
	fin.ended_at = (int64_t)time(NULL);
	fin.handed_first = p->start;
	fin.handed = offloaded ? p->length : x->res.bytes;
	fin.whole = offloaded || x->res.outcome == STREAM_COMPLETE;
	audit_end(w->au, &x->ticket, &fin);
}

/*
 * Send the file: the first chunk is read before any header goes out, so
 * that an unreadable file is still a clean 500 (and the download recorded
 * for it is withdrawn).
 */
static void
server_send_file(struct worker *w, struct FCGX_Request *fr,
    struct server_request *x)
{
	struct plan	*p = &w->plan;
	long		 first;

	first = stream_read_first(x->fd, w->buf, sizeof(w->buf), p->start,
	    p->length);
	if (first == -1) {
		plan_error(&x->facts, p, 500, "read_failed");
		server_withdraw(w, x);
		(void)stream_respond(fr, &p->hdr, p->text, p->text_len,
		    &x->res);
		return;
	}
	stream_send_file(fr, &p->hdr, x->fd, w->buf, sizeof(w->buf),
	    (size_t)first, p->start, p->length, &w->limits, &x->res);
	server_audit_close(w, x);
}

/* Carry the plan out: the response, and the download's audit row. */
static void
server_execute(struct worker *w, struct FCGX_Request *fr,
    struct server_request *x)
{
	struct plan	*p = &w->plan;
	int		 sends = w->req.method == REQUEST_GET &&
			    (p->body == PLAN_BODY_FILE || p->offload);

	/* Recorded before the file, then refused by a later check. */
	if (!sends)
		server_withdraw(w, x);
	if (p->event == PLAN_EVENT_BUG) {
		x->res.outcome = STREAM_ERROR_IO;
		stream_drop(fr);
	} else if (p->body == PLAN_BODY_FILE)
		server_send_file(w, fr, x);
	else {
		if (stream_respond(fr, &p->hdr, p->body == PLAN_BODY_TEXT ?
		    p->text : NULL, p->body == PLAN_BODY_TEXT ? p->text_len :
		    0, &x->res) == 0 && p->offload)
			x->res.outcome = STREAM_OFFLOADED;
		server_audit_close(w, x);
	}
}

/* The request's one log line. The token never reaches it. */
static void
server_log(struct worker *w, const struct server_request *x)
{
	const struct plan *p = &w->plan;
	char		 qpath[SERVER_QUOTED], quser[SERVER_QUOTED], rng[48];
	char		 qaddr[SERVER_QUOTED], dl[24];
	char		*q;

	/* The path without its query string. */
	if ((q = strchr(w->req.uri, '?')) != NULL)
		*q = '\0';
	log_quote(qpath, sizeof(qpath), w->req.uri);
	log_quote(quser, sizeof(quser), w->req.remote_user);
	/* REMOTE_ADDR is a parameter like any other: a raw client forges it. */
	log_quote(qaddr, sizeof(qaddr), w->req.remote_addr);
	/* Offloaded: the range the request asked for (the server's own). */
	if (!p->ranged || snprintf(rng, sizeof(rng), "%lld-%lld",
	    (long long)p->start, (long long)(p->start + p->length - 1)) < 0)
		memcpy(rng, "-", 2);
	if (x->ticket.download < 0 || snprintf(dl, sizeof(dl), "%lld",
	    (long long)x->ticket.download) < 0)
		memcpy(dl, "-", 2);
	log_info("event=request method=%s id=%s status=%d reason=%s "
	    "range=%s counts=%d bytes=%lld duration_ms=%.3f outcome=%s "
	    "remote=%s user=%s path=%s download=%s",
	    w->req.method == REQUEST_GET ? "GET" :
	    w->req.method == REQUEST_HEAD ? "HEAD" : "other",
	    w->req.id[0] != '\0' ? w->req.id : "-", p->status,
	    p->why != NULL ? p->why : "-", rng, x->ticket.opened,
	    (long long)x->res.bytes, server_elapsed_ms(&x->t0),
	    stream_outcome_name(x->res.outcome),
	    qaddr, quser,
	    qpath, dl);
}

/*
 * Serve one request on fr, whose parameters are envp. Never exits; every
 * failure becomes a status and one log line.
 */
void
server_handle(struct worker *w, struct FCGX_Request *fr, char **envp)
{
	struct server_request x;

	server_gather_request(w, envp, &x);
	/* Offload mode: the web server opens the file itself, as this uid. */
	x.facts.peer_uid = w->cfg->offload_mode != CONFIG_OFFLOAD_NONE ?
	    stream_peer_uid(fr) : -1;
	server_plan(w, &x);
	server_execute(w, fr, &x);
	stream_close(&x.fd);
	server_log(w, &x);
}
