/*
 * audit: sluice's own state database, and its only owner in sluice: the
 * writer that both backends share (audit_sqlite.c, a file; audit_pg.c,
 * PostgreSQL shared by hosts), and the entry points that pick one by the
 * form of --state-db (store.h).
 *
 * Group commit: each worker process has one connection for its request
 * threads, and one batch at a time is committed on it, as one
 * transaction holding every record queued so far, in queue order (the
 * backend runs each record in a savepoint of its own, so a record that
 * fails rolls back alone). The request thread that finds no batch in
 * progress commits it (the leader); the others wait for the commit that
 * holds their begin. Cancels and ends are queued without waiting; one
 * that fails is kept and goes with the next batch: while the worker lives
 * when the database is full, locked, failing or unreachable,
 * AUDIT_RETRY_TRIES times when the record itself fails.
 *
 * Upkeep runs in one thread per process, never on the request path, on a
 * connection of its own: it commits what is queued when no download
 * begins, runs the backend's checkpoints, closes the responses of workers
 * that died, and prunes responses and downloads older than the retention
 * in small batches.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_store.h"
#include "fault.h"
#include "log.h"
#include "store.h"

/* The per-process writer: a bounded queue, committed one batch at a time. */
struct audit_writer {
	const struct audit_ops	*ops;
	void			*db;		/* by the leader, outside mu */
	void			*up;		/* by the upkeep thread only */
	struct audit_settings	 set;
	pid_t			 pid;		/* recorded in each row */
	pthread_mutex_t		 mu;		/* guards all below */
	pthread_cond_t		 committed;	/* a batch ended */
	pthread_cond_t		 wake;		/* the upkeep thread's */
	struct audit_record	 q[AUDIT_QUEUE_MAX];
	size_t			 head, len;
	struct audit_record	 retry[AUDIT_RETRY_MAX];
	size_t			 nretry;
	int			 committing;	/* a leader holds db */
	int			 stop;		/* the upkeep thread ends */
	int			 closing;	/* retries are bounded now */
	int64_t			 dl_cursor;	/* the upkeep's downloads prune */
	_Atomic int		 ckpt_due;	/* the WAL grew past the mark */
	pthread_t		 upkeep;
	int			 upkeep_started;
};

static int64_t
audit_now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return (0);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void
audit_rec_log(const struct audit_record *r, const char *what, size_t n,
    const char *error)
{
	static const char *const kinds[] = { "begin", "cancel", "end" };

	if (r->kind == AUDIT_REC_BEGIN)
		log_warnx("event=audit_error op=%s id=%s batch=%zu "
		    "failed=%s error=\"%s\"", kinds[r->kind],
		    r->entry->job_id != NULL ? r->entry->job_id : "-", n, what,
		    error);
	else
		log_warnx("event=audit_error op=%s row=%lld batch=%zu "
		    "failed=%s tries=%d error=\"%s\"", kinds[r->kind],
		    (long long)r->ticket.response, n, what, r->tries, error);
}

/*
 * With w->mu held, after a commit: hand each begin its result and wake
 * its caller; keep each failed cancel or end for the next batch: while
 * the worker lives (w->closing unset) if the database was at fault,
 * AUDIT_RETRY_TRIES times otherwise, and only while the retry list has
 * room. A record dropped is logged.
 */
static void
audit_settle(struct audit_writer *w, struct audit_record *b, size_t n)
{
	size_t	 i;
	int	 keep;

	for (i = 0; i < n; i++) {
		if (b[i].kind == AUDIT_REC_BEGIN) {
			*b[i].result = b[i].failed ? AUDIT_FAILED : b[i].res;
			if (b[i].failed || b[i].res == AUDIT_LIMIT)
				b[i].ticket = (struct audit_ticket){ -1, -1, 0, 0 };
			*b[i].ticket_out = b[i].ticket;
			*b[i].done = 1;
			continue;
		}
		if (!b[i].failed)
			continue;
		b[i].tries++;
		keep = (!w->closing && b[i].transient) ||
		    b[i].tries < AUDIT_RETRY_TRIES;
		if (keep && w->nretry < AUDIT_RETRY_MAX)
			w->retry[w->nretry++] = b[i];
		else
			log_warnx("event=audit_error op=dropped row=%lld "
			    "tries=%d msg=\"a response's end or cancel is "
			    "lost; its row stays 'started'\"",
			    (long long)b[i].ticket.response, b[i].tries);
	}
}

/*
 * Called with w->mu held, when no batch is being committed: take the
 * records kept for a retry and every queued record, commit them as one
 * batch, as the leader, then settle them. Returns with w->mu held. The
 * batch is copied out, so records queued meanwhile form the next one.
 */
static void
audit_lead(struct audit_writer *w)
{
	struct audit_record batch[AUDIT_RETRY_MAX + AUDIT_QUEUE_MAX];
	size_t		 i, n;

	memcpy(batch, w->retry, w->nretry * sizeof(batch[0]));
	n = w->nretry;
	w->nretry = 0;
	for (i = 0; i < w->len; i++)
		batch[n++] = w->q[(w->head + i) % AUDIT_QUEUE_MAX];
	w->head = (w->head + w->len) % AUDIT_QUEUE_MAX;
	w->len = 0;
	w->committing = 1;
	pthread_mutex_unlock(&w->mu);
	w->ops->commit(w->db, w->pid, batch, n);
	pthread_mutex_lock(&w->mu);
	audit_settle(w, batch, n);
	w->committing = 0;
	pthread_cond_broadcast(&w->committed);
}

/*
 * Commit what is queued or kept for a retry, unless a batch is being
 * committed now (its leader or the next one takes them). The upkeep
 * thread calls it every tick, so that an end never waits long for the
 * next download's begin. May wait for the write lock (AUDIT_BUSY_MS).
 */
void
audit_writer_flush(struct audit_writer *w)
{
	pthread_mutex_lock(&w->mu);
	if (!w->committing && (w->len > 0 || w->nretry > 0))
		audit_lead(w);
	pthread_mutex_unlock(&w->mu);
}

/* The upkeep due at now, off the request path and outside w->mu. */
static void
audit_upkeep_run(struct audit_writer *w, int64_t now, int64_t *next_ckpt,
    int64_t *next_lost, int64_t *next_prune)
{
	int64_t	 before;
	int	 n, d;

	if (atomic_exchange(&w->ckpt_due, 0) || now >= *next_ckpt) {
		w->ops->checkpoint(w->up);
		*next_ckpt = now + AUDIT_CHECKPOINT_MS;
	}
	if (now >= *next_lost) {
		(void)w->ops->close_lost(w->up, w->pid);
		*next_lost = now + AUDIT_LOST_MS;
	}
	if (w->set.retention > 0 && now >= *next_prune) {
		before = (int64_t)time(NULL) - w->set.retention;
		n = w->ops->prune_batch(w->up, before);
		d = w->ops->prune_downloads(w->up, before, &w->dl_cursor, 1);
		*next_prune = now + (n == -1 || n > 0 || d == -1 ||
		    w->dl_cursor != INT64_MIN ? AUDIT_PRUNE_MS :
		    AUDIT_PRUNE_IDLE_MS);
	}
}

/*
 * The upkeep thread: every tick (or when the WAL hook wakes it) commit
 * what is queued, then run the upkeep that is due. Ends when w->stop is
 * set.
 */
static void *
audit_upkeep_main(void *arg)
{
	struct audit_writer *w = arg;
	struct timespec	 until;
	int64_t		 now, tick, next_ckpt = 0, next_lost = 0;
	int64_t		 next_prune = 0;

	tick = w->set.upkeep_ms > 0 ? w->set.upkeep_ms : AUDIT_UPKEEP_MS;
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		pthread_mutex_unlock(&w->mu);
		audit_writer_flush(w);
		now = audit_now_ms();
		/* Not a download's: the fault build does not count it. */
		FAULT_MUTE(1);
		audit_upkeep_run(w, now, &next_ckpt, &next_lost, &next_prune);
		FAULT_MUTE(0);
		pthread_mutex_lock(&w->mu);
		now = audit_now_ms() + tick;
		until.tv_sec = (time_t)(now / 1000);
		until.tv_nsec = (long)(now % 1000) * 1000000L;
		while (!w->stop && !atomic_load(&w->ckpt_due) &&
		    pthread_cond_timedwait(&w->wake, &w->mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&w->mu);
	return (NULL);
}

static int
audit_writer_sync(struct audit_writer *w, char *err, size_t errsz)
{
	pthread_condattr_t ca;
	int		 rc;

	if ((rc = pthread_mutex_init(&w->mu, NULL)) != 0 ||
	    (rc = pthread_cond_init(&w->committed, NULL)) != 0)
		goto fail;
	if ((rc = pthread_condattr_init(&ca)) != 0)
		goto fail;
	if ((rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0)
		rc = pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (rc == 0)
		return (0);
fail:
	snprintf(err, errsz, "audit writer: %s", strerror(rc));
	return (-1);
}

static void
audit_writer_unsync(struct audit_writer *w)
{
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->committed);
	pthread_mutex_destroy(&w->mu);
}

/* From the leader's connection (SQLite: the WAL grew past the mark): the
 * upkeep thread checkpoints now rather than at its next tick. */
static void
audit_nudge(void *arg)
{
	struct audit_writer *w = arg;

	if (!atomic_exchange(&w->ckpt_due, 1)) {
		pthread_mutex_lock(&w->mu);
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->mu);
	}
}

/*
 * In a worker process, after fork and before its request threads (the
 * upkeep thread inherits the caller's blocked signals): open the
 * connection all its threads share, and start the upkeep thread. Returns
 * the writer, which the caller owns until audit_writer_close, or NULL with
 * a sentence in err.
 */
struct audit_writer *
audit_writer_open(const char *path, const struct audit_settings *set,
    char *err, size_t errsz)
{
	struct audit_writer *w;
	int		 rc;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errsz, "audit writer: %s", strerror(errno));
		return (NULL);
	}
	w->set = *set;
	w->pid = getpid();
	w->dl_cursor = INT64_MIN;
	w->ops = store_is_pg(path) ? &audit_pg_ops : &audit_sqlite_ops;
	atomic_init(&w->ckpt_due, 0);
	if (audit_writer_sync(w, err, errsz) == -1) {
		free(w);
		return (NULL);
	}
	if ((w->db = w->ops->open(path, set->busy_ms, audit_nudge, w, err,
	    errsz)) == NULL ||
	    (w->up = w->ops->open(path, 0, NULL, NULL, err, errsz)) == NULL)
		goto fail;
	if ((rc = pthread_create(&w->upkeep, NULL, audit_upkeep_main, w)) !=
	    0) {
		snprintf(err, errsz, "audit upkeep thread: %s", strerror(rc));
		goto fail;
	}
	w->upkeep_started = 1;
	return (w);
fail:
	w->ops->close(w->db);
	w->ops->close(w->up);
	audit_writer_unsync(w);
	free(w);
	return (NULL);
}

/*
 * Stop the upkeep thread, commit everything still queued (a failing
 * record is retried AUDIT_RETRY_TRIES times) and close. Call it once no
 * request thread can queue any more (they have all been joined). w is
 * freed.
 */
void
audit_writer_close(struct audit_writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	w->closing = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
	if (w->upkeep_started)
		pthread_join(w->upkeep, NULL);
	pthread_mutex_lock(&w->mu);
	while (w->committing || w->len > 0 || w->nretry > 0) {
		if (w->committing)
			pthread_cond_wait(&w->committed, &w->mu);
		else
			audit_lead(w);
	}
	pthread_mutex_unlock(&w->mu);
	FAULT_MUTE(1);
	w->ops->checkpoint(w->up);
	FAULT_MUTE(0);
	w->ops->close(w->db);
	w->ops->close(w->up);
	audit_writer_unsync(w);
	free(w);
}

/*
 * Queue r. While the queue is full, commit it (or wait for the batch being
 * committed). Called and returns with w->mu held.
 */
static void
audit_enqueue(struct audit_writer *w, const struct audit_record *r)
{
	while (w->len == AUDIT_QUEUE_MAX) {
		if (w->committing)
			pthread_cond_wait(&w->committed, &w->mu);
		else
			audit_lead(w);
	}
	w->q[(w->head + w->len) % AUDIT_QUEUE_MAX] = *r;
	w->len++;
}

/*
 * Record the start of a response that would send the file, before the
 * file is opened, and wait until it is committed: it joins the client's
 * open download of the job, or opens one if the job's limit
 * (e->max_downloads) allows. Returns AUDIT_OPENED or AUDIT_JOINED with *t
 * set, AUDIT_LIMIT, or AUDIT_FAILED (logged by the writer), with *t's
 * rows -1. e is only read, and only until this returns.
 */
enum audit_result
audit_begin(struct audit_writer *w, const struct audit_entry *e,
    struct audit_ticket *t)
{
	enum audit_result res = AUDIT_FAILED;
	struct audit_record r;
	int		 done = 0;

	*t = (struct audit_ticket){ -1, -1, 0, 0 };
	memset(&r, 0, sizeof(r));
	r.kind = AUDIT_REC_BEGIN;
	r.entry = e;
	r.result = &res;
	r.ticket_out = t;
	r.done = &done;
	pthread_mutex_lock(&w->mu);
	audit_enqueue(w, &r);
	/*
	 * The first caller to find no batch in progress commits one, with
	 * its own record and all queued since; the others wait for it, and
	 * one of those left over leads the next.
	 */
	while (!done) {
		if (w->committing)
			pthread_cond_wait(&w->committed, &w->mu);
		else
			audit_lead(w);
	}
	pthread_mutex_unlock(&w->mu);
	return (res);
}

/* Queue a cancel or an end without waiting (unless the queue is full). */
static void
audit_queue_row(struct audit_writer *w, enum audit_kind kind,
    const struct audit_ticket *t, const struct audit_final *f)
{
	struct audit_record r;

	if (w == NULL || t->response < 0)
		return;
	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.ticket = *t;
	if (f != NULL)
		r.fin = *f;
	pthread_mutex_lock(&w->mu);
	audit_enqueue(w, &r);
	pthread_mutex_unlock(&w->mu);
}

/*
 * A check after audit_begin refused the request (or it was answered 304):
 * the response is withdrawn, and with it its part in its download (a
 * download it opened is gone, and never counted, unless another response
 * joined it meanwhile). Queued, not waited for; the limit is free again
 * once it is committed (the next batch). A ticket without a response, or
 * w NULL (the audit is off), does nothing.
 */
void
audit_cancel(struct audit_writer *w, const struct audit_ticket *t)
{
	audit_queue_row(w, AUDIT_REC_CANCEL, t, NULL);
}

/*
 * Record how a response ended (its final status, range, bytes, duration
 * and outcome, a string constant) and what it handed to the web server,
 * which its download adds to its bytes and coverage. Queued, committed
 * with the next batch without waiting for it. A ticket without a
 * response, or w NULL, records nothing. Failures are logged and retried,
 * never fatal.
 */
void
audit_end(struct audit_writer *w, const struct audit_ticket *t,
    const struct audit_final *f)
{
	audit_queue_row(w, AUDIT_REC_END, t, f);
}

/*
 * Create the state database if it is missing, or bring an older one to
 * this version (*migrated says so), and nothing else: rows in flight stay
 * as they are, so sluicectl init may run beside sluice. Returns 0, or -1
 * with a sentence in err.
 */
int
audit_migrate(const char *spec, int *migrated, char *err, size_t errsz)
{
	if (store_is_pg(spec))
		return (audit_pg_migrate(spec, migrated, err, errsz));
	return (audit_sqlite_migrate(spec, migrated, err, errsz));
}

/*
 * Startup, before any worker: create or migrate the state database, and
 * close as aborted:lost the responses left 'started' by workers of this
 * host that no longer run. Returns 0, or -1 with a sentence in err.
 */
int
audit_prepare(const char *spec, char *err, size_t errsz)
{
	if (store_is_pg(spec))
		return (audit_pg_prepare(spec, err, errsz));
	return (audit_sqlite_prepare(spec, err, errsz));
}

/*
 * sluicectl prune: delete every response started before `before` (unix
 * seconds) that is not still 'started', and every download last active
 * before it with none in flight (counted in download_counts first, so
 * max_downloads still sees it), in batches of one short transaction each.
 * Returns the rows deleted, or -1 with a sentence in err.
 */
int64_t
audit_prune(const char *spec, int64_t before, char *err, size_t errsz)
{
	if (store_is_pg(spec))
		return (audit_pg_prune(spec, before, err, errsz));
	return (audit_sqlite_prune(spec, before, err, errsz));
}

/* sluicectl vacuum: give the free space back. 0, or -1 with err set. */
int
audit_vacuum(const char *spec, char *err, size_t errsz)
{
	if (store_is_pg(spec))
		return (audit_pg_vacuum(spec, err, errsz));
	return (audit_sqlite_vacuum(spec, err, errsz));
}
