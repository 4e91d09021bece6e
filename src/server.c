/*
 * server: one request, on a deciding thread, as four steps:
 *   gather facts (the request, then, as the plan asks for them, the job
 *   row, the client's download and the file) -> plan (plan.c, pure: every
 *   check of the contract, the status, the header block, the body) ->
 *   answer (send what the socket takes now; end the response in the state
 *   database, or withdraw it if a later check refused) -> one log line.
 * Nothing that may refuse a request runs after the first byte is sent;
 * the only refusal left to execution is a file that cannot be read (500),
 * found before any header goes out.
 *
 * Most responses go out whole at once: the socket is new and empty. A
 * body the socket does not take is handed, with its conn, to the event
 * loop (SERVER_SENDING); its log line and audit end are then prepared
 * here (struct server_done, a few hundred bytes) and written when the
 * loop gives the conn back ended (server_finish).
 *
 * Everything else lives in the thread's struct worker and in one struct
 * server_request on the stack.
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
#include "conn.h"
#include "fault.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "server.h"

/* One request's facts and progress, beside the worker's buffers. */
struct server_request {
	struct plan_facts	 facts;
	int			 fd;		/* the file's; -1: none */
	unsigned char		 token[POLICY_DIGEST_LEN];
	enum stream_outcome	 outcome;
	int64_t			 bytes;		/* body bytes sent */
	struct audit_ticket	 ticket;	/* the response's rows */
	struct timespec		 t0;
	double			 ttfb_ms;	/* -1: not a download */
};

/*
 * A response the loop finishes: what its end records. log holds the log
 * line's two fixed parts, before bytes= and after outcome=, each ended
 * by a NUL.
 */
struct server_done {
	struct audit_ticket	 ticket;
	int			 status;	/* as audited: 206 if ranged */
	int			 http_status;	/* as planned, for the metrics */
	double			 ttfb_ms;
	int64_t			 start, length;
	struct timespec		 t0;
	size_t			 tail;		/* log's second part */
	char			 log[];
};

#define SERVER_QUOTED	(LOG_VALUE_MAX * 4 + 8)	/* a log_quote'd value */

/* One "root_reopened" line per process and new root. */
static _Atomic uint64_t server_root_logged;
static _Atomic int64_t server_root_failed;	/* the second last logged */

/*
 * Per-thread setup: this thread's own read-only connection to the jobs
 * database, and the process's audit writer (au; NULL when the audit is
 * off), which the caller owns and stops after this thread ends. A request
 * that arrives once *draining is set gets 503. Returns 0, or -1 with a
 * sentence in err.
 */
int
server_worker_init(struct worker *w, const struct config *cfg, int rootfd,
    struct audit_writer *au, const _Atomic int *draining, char *err,
    size_t errsz)
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
	w->draining = draining;
	/*
	 * Touch every page of the read buffer now: its memory is fixed per
	 * thread, and it should show as such from the start rather than grow
	 * into view with the first large download.
	 */
	for (i = 0; i < sizeof(w->buf); i += 4096)
		p[i] = 0;
	w->au = au;
	if (jobstore_open(&w->js, cfg->db, err, errsz) == -1) {
		char	 q[LOG_VALUE_MAX * 4 + 8];

		if (!w->js.pg)
			return (-1);
		/* PostgreSQL is away (main checked it was there): the
		 * lookups reconnect, and answer 503 until it is back. */
		log_warnx("event=db_unavailable db=jobs msg=%s",
		    log_quote(q, sizeof(q), err));
	}
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
	x->outcome = STREAM_COMPLETE;
	x->ttfb_ms = -1;
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

/* Check 3: the job's row; its result and time go to the metrics. */
static void
server_gather_job(struct worker *w, struct plan_facts *f)
{
	static const enum metrics_lookup m[] = { METRICS_LOOKUP_FOUND,
	    METRICS_LOOKUP_NOT_FOUND, METRICS_LOOKUP_BUSY,
	    METRICS_LOOKUP_ERROR };
	struct timespec	 t;
	int		 timed, r;

	timed = metrics_on() && clock_gettime(CLOCK_MONOTONIC, &t) == 0;
	switch (jobstore_find(&w->js, w->req.id, &w->job)) {
	case JOBSTORE_FOUND:
		f->lookup = PLAN_LOOKUP_FOUND, r = 0;
		break;
	case JOBSTORE_NOT_FOUND:
		f->lookup = PLAN_LOOKUP_NOT_FOUND, r = 1;
		break;
	case JOBSTORE_BUSY:
		f->lookup = PLAN_LOOKUP_BUSY, r = 2;
		break;
	default:
		f->lookup = PLAN_LOOKUP_ERROR, r = 3;
		break;
	}
	if (timed)
		metrics_lookup(m[r], server_elapsed_ms(&t) / 1e3);
}

/* --metrics-path's page, rendered into the thread's stream buffer. */
static void
server_gather_metrics(struct worker *w, struct plan_facts *f)
{
	static const char none[] = "# metrics unavailable\n";
	long	 n = metrics_render((char *)w->buf, sizeof(w->buf));

	f->metrics = n >= 0 ? (const char *)w->buf : none;
	f->metrics_len = n >= 0 ? (size_t)n : sizeof(none) - 1;
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
		else if (next == PLAN_NEED_METRICS)
			server_gather_metrics(w, &x->facts);
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
 * Record how a response ended in the state database: the ticket's rows,
 * the status and range it answered (status: 206 if ranged), the body
 * bytes it sent and its outcome; and what it handed to the web server
 * for its download: the bytes written, or, offloaded, the range the
 * server was told to send (the status it gives a range it honours).
 */
static void
server_audit_end(struct audit_writer *au, const struct audit_ticket *t,
    int status, int64_t start, int64_t length, int64_t bytes,
    enum stream_outcome outcome, const struct timespec *t0)
{
	struct audit_final fin;
	int		 offloaded = outcome == STREAM_OFFLOADED;

	if (t->response < 0)
		return;
	fin.status = status;
	fin.range_start = start;
	fin.range_end = start + length - 1;
	fin.bytes = bytes;
	fin.duration_ms = (int64_t)server_elapsed_ms(t0);
	fin.outcome = stream_outcome_name(outcome);
	fin.ended_at = (int64_t)time(NULL);
	fin.handed_first = start;
	fin.handed = offloaded ? length : bytes;
	fin.whole = offloaded || outcome == STREAM_COMPLETE;
	audit_end(au, t, &fin);
}

/* The log line's parts before bytes= and after outcome=. */
static void
server_log_parts(struct worker *w, const struct server_request *x,
    char *head, size_t headsz, char *tail, size_t tailsz)
{
	const struct plan *p = &w->plan;
	char		 qpath[SERVER_QUOTED], quser[SERVER_QUOTED];
	char		 qaddr[SERVER_QUOTED], dl[24], rng[SERVER_QUOTED];
	char		*q;

	/* The path without its query string. */
	if ((q = strchr(w->req.uri, '?')) != NULL)
		*q = '\0';
	log_quote(qpath, sizeof(qpath), w->req.uri);
	log_quote(quser, sizeof(quser), w->req.remote_user);
	/* REMOTE_ADDR is a parameter like any other: a raw client forges it. */
	log_quote(qaddr, sizeof(qaddr), w->req.remote_addr);
	/*
	 * Offloaded: the range the request asked for (the server's own). A
	 * 416 satisfied no range: the Range header as the client sent it.
	 */
	if (p->status == 416 && w->req.has_range)
		log_quote(rng, sizeof(rng), w->req.range);
	else if (!p->ranged || snprintf(rng, sizeof(rng), "%lld-%lld",
	    (long long)p->start, (long long)(p->start + p->length - 1)) < 0)
		memcpy(rng, "-", 2);
	if (x->ticket.download < 0 || snprintf(dl, sizeof(dl), "%lld",
	    (long long)x->ticket.download) < 0)
		memcpy(dl, "-", 2);
	(void)snprintf(head, headsz, "method=%s id=%s status=%d reason=%s "
	    "range=%s counts=%d", w->req.method == REQUEST_GET ? "GET" :
	    w->req.method == REQUEST_HEAD ? "HEAD" : "other",
	    w->req.id[0] != '\0' ? w->req.id : "-", p->status,
	    p->why != NULL ? p->why : "-", rng, x->ticket.opened);
	(void)snprintf(tail, tailsz, "remote=%s user=%s path=%s download=%s",
	    qaddr, quser, qpath, dl);
}

/* The request's one log line. The token never reaches it. */
static void
server_log_emit(const char *head, int64_t bytes, double ms,
    enum stream_outcome outcome, const char *tail)
{
	log_info("event=request %s bytes=%lld duration_ms=%.3f outcome=%s %s",
	    head, (long long)bytes, ms, stream_outcome_name(outcome), tail);
}

/* A response that ended here: its audit end and its log line. */
static void
server_answered(struct worker *w, struct server_request *x)
{
	const struct plan *p = &w->plan;
	char		 head[SERVER_QUOTED * 2], tail[SERVER_QUOTED * 3 + 64];

	server_audit_end(w->au, &x->ticket, p->ranged ? 206 : p->status,
	    p->start, p->length, x->bytes, x->outcome, &x->t0);
	server_log_parts(w, x, head, sizeof(head), tail, sizeof(tail));
	server_log_emit(head, x->bytes, server_elapsed_ms(&x->t0), x->outcome,
	    tail);
	/* The scrapes themselves are left out of what they report. */
	if (!p->metrics)
		metrics_response(p->status, stream_outcome_name(x->outcome),
		    x->bytes, x->ttfb_ms >= 0 ? x->ttfb_ms / 1e3 : -1,
		    x->ttfb_ms >= 0 ? server_elapsed_ms(&x->t0) / 1e3 : -1,
		    x->ticket.opened);
}

/*
 * What the end of a response handed to the loop will record, into
 * c->done. Returns 0, or -1 (no memory).
 */
static int
server_done_new(struct worker *w, const struct server_request *x,
    struct conn *c)
{
	const struct plan *p = &w->plan;
	char		 head[SERVER_QUOTED * 2], tail[SERVER_QUOTED * 3 + 64];
	struct server_done *d;
	size_t		 hl, tl;

	server_log_parts(w, x, head, sizeof(head), tail, sizeof(tail));
	hl = strlen(head) + 1;
	tl = strlen(tail) + 1;
	if ((d = malloc(sizeof(*d) + hl + tl)) == NULL)
		return (-1);
	d->ticket = x->ticket;
	d->status = p->ranged ? 206 : p->status;
	d->http_status = p->status;
	d->ttfb_ms = x->ttfb_ms;
	d->start = p->start;
	d->length = p->length;
	d->t0 = x->t0;
	d->tail = hl;
	memcpy(d->log, head, hl);
	memcpy(d->log + hl, tail, tl);
	c->done = d;
	return (0);
}

/*
 * A response the loop sent to its end (c->outcome, c->send.bytes): its
 * audit end and its log line, prepared when it was handed over.
 */
void
server_finish(struct worker *w, struct conn *c)
{
	struct server_done *d = c->done;

	if (d == NULL)
		return;
	server_audit_end(w->au, &d->ticket, d->status, d->start, d->length,
	    c->send.bytes, c->outcome, &d->t0);
	server_log_emit(d->log, c->send.bytes, server_elapsed_ms(&d->t0),
	    c->outcome, d->log + d->tail);
	metrics_inflight(-1);
	metrics_response(d->http_status, stream_outcome_name(c->outcome),
	    c->send.bytes, d->ttfb_ms >= 0 ? d->ttfb_ms / 1e3 : -1,
	    d->ttfb_ms >= 0 ? server_elapsed_ms(&d->t0) / 1e3 : -1,
	    d->ticket.opened);
	free(d);
	c->done = NULL;
}

/*
 * Send what the socket takes now. Whole, or failed (cut): answered
 * here. Otherwise the loop sends the rest: c keeps the file and what is
 * left of the head, and c->done what its end will record.
 */
static enum server_next
server_send(struct worker *w, struct conn *c, struct server_request *x)
{
	enum stream_outcome why = STREAM_COMPLETE;
	enum stream_step step;

	step = stream_step(&c->send, c->fd, w->buf, sizeof(w->buf),
	    STREAM_BUDGET, &why);
	/* A download's first bytes have gone to the web server. */
	if (w->req.method == REQUEST_GET && (w->plan.body == PLAN_BODY_FILE ||
	    w->plan.offload))
		x->ttfb_ms = server_elapsed_ms(&x->t0);
	switch (step) {
	case STREAM_STEP_DONE:
		break;
	case STREAM_STEP_FAILED:
		stream_cut(&c->send, c->fd, c->in.stdin_done);
		break;
	default:
		if (stream_send_keep(&c->send) == 0 &&
		    server_done_new(w, x, c) == 0) {
			x->fd = -1;	/* c->send's now */
			metrics_inflight(1);
			return (SERVER_SENDING);
		}
		log_warn("event=worker_error op=malloc");
		stream_cut(&c->send, c->fd, c->in.stdin_done);
		why = STREAM_ERROR_IO;
		break;
	}
	c->outcome = why;
	c->send.fd = -1;	/* x's: closed by server_handle */
	stream_send_free(&c->send);
	x->bytes = c->send.bytes;
	x->outcome = why == STREAM_COMPLETE && w->plan.offload ?
	    STREAM_OFFLOADED : why;
	return (SERVER_ANSWERED);
}

/*
 * Carry the plan out. A file's first chunk is read before any header
 * goes out, so that an unreadable file is still a clean 500 (and the
 * download recorded for it is withdrawn).
 */
static enum server_next
server_execute(struct worker *w, struct conn *c, struct server_request *x)
{
	struct plan	*p = &w->plan;
	int		 id = c->in.request_id;
	long		 first = -1;

	/* Recorded before the file, then refused by a later check. */
	if (!(w->req.method == REQUEST_GET &&
	    (p->body == PLAN_BODY_FILE || p->offload)))
		server_withdraw(w, x);
	if (p->event == PLAN_EVENT_BUG) {
		x->outcome = c->outcome = STREAM_ERROR_IO;
		return (SERVER_ANSWERED);	/* closed without an answer */
	}
	if (p->body == PLAN_BODY_FILE && (first = stream_read_first(x->fd,
	    w->buf, sizeof(w->buf), p->start, p->length)) == -1) {
		plan_error(&x->facts, p, 500, "read_failed");
		server_withdraw(w, x);
	}
	if (p->body == PLAN_BODY_FILE) {
		stream_send_init(&c->send, id, p->hdr.buf, p->hdr.len, NULL, 0,
		    x->fd, p->start, p->length);
		c->send.pre = w->buf;
		c->send.pre_len = (size_t)first;
	} else
		stream_send_init(&c->send, id, p->hdr.buf, p->hdr.len,
		    p->body == PLAN_BODY_TEXT ? p->text : NULL,
		    p->body == PLAN_BODY_TEXT ? p->text_len : 0, -1, 0, 0);
	return (server_send(w, c, x));
}

/*
 * Decide and answer the request whose params c holds. Never exits; every
 * failure becomes a status and one log line. Returns SERVER_ANSWERED
 * (c->outcome says how it ended), or SERVER_SENDING: give c to the loop.
 */
enum server_next
server_handle(struct worker *w, struct conn *c)
{
	struct server_request x;
	enum server_next next;

	FAULT_ARM();	/* the fault build counts calls from here on */
	server_gather_request(w, fcgi_in_envp(&c->in), &x);
	fcgi_in_kept_free(&c->in);
	/* Offload mode: the web server opens the file itself, as this uid. */
	x.facts.peer_uid = w->cfg->offload_mode != CONFIG_OFFLOAD_NONE ?
	    stream_peer_uid(c->fd) : -1;
	server_plan(w, &x);
	next = server_execute(w, c, &x);
	stream_close(&x.fd);
	if (next == SERVER_ANSWERED)
		server_answered(w, &x);
	return (next);
}
