/*
 * audit: sluice's own state database. Workload: per download, a row
 * inserted before the first body byte (after counting the job's counted
 * downloads, if it has a limit) and an update at the end. WAL with
 * synchronous=NORMAL: no fsync per download, and readers (sluicectl) never
 * block writers.
 *
 * Group commit: each worker process has one connection for its request
 * threads, and one batch at a time is committed on it, as one BEGIN
 * IMMEDIATE transaction holding every record queued so far. The request
 * thread that finds no batch in progress commits it (the leader); the
 * others wait for the commit that holds their row. An end is queued
 * without waiting and goes with the next batch. So the write lock passes
 * between processes, not between 16 threads sleeping in the busy handler;
 * one commit carries many downloads; and no thread of its own is woken
 * for it (on this kind of machine, a context switch per handoff cost more
 * than it saved: see the commit log).
 *
 * The check and the count are in the same transaction as the insert, and
 * a batch's records run in queue order, so two simultaneous first
 * downloads of a job limited to one cannot both pass.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "audit.h"
#include "log.h"
#include "policy.h"
#include "sql_state.h"

static const char audit_sql_count[] =
    "SELECT count(*) FROM downloads WHERE job_id = ?1 AND counts = 1";
static const char audit_sql_insert[] =
    "INSERT INTO downloads (job_id, started_at, remote_addr, remote_user, "
    "range_start, range_end, status, counts, pid) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char audit_sql_finish[] =
    "UPDATE downloads SET bytes_sent = ?2, duration_ms = ?3, outcome = ?4, "
    "status = ?5, counts = ?6, range_start = ?7, range_end = ?8 "
    "WHERE id = ?1";
static const char audit_sql_cancel[] =
    "DELETE FROM downloads WHERE id = ?1";

/*
 * Wait for the write lock in steps of AUDIT_BUSY_STEP_US, up to
 * AUDIT_BUSY_MS. SQLite's own busy handler sleeps 1, 2, 5, 10 ms and more
 * between tries; the lock is held for tens of microseconds per download,
 * so with many threads those sleeps, not the writes, set the pace.
 */
static int
audit_busy(void *arg, int tries)
{
	struct timespec	 ts = { 0, AUDIT_BUSY_STEP_US * 1000L }, now;
	struct timespec	*start = arg;	/* the connection's, see below */
	int64_t		 ms;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return (0);
	if (tries == 0)
		*start = now;
	/* Elapsed time, not tries: each sleep lasts longer than asked. */
	ms = (int64_t)(now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
	if (ms >= AUDIT_BUSY_MS)
		return (0);
	nanosleep(&ts, NULL);
	return (1);
}

static int
audit_connect(sqlite3 **db, struct timespec *busy_start, const char *path,
    int flags, char *err, size_t errsz)
{
	int	 rc;

	*db = NULL;
	rc = sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errsz, "state database %s: %s", path,
		    *db != NULL ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
		sqlite3_close(*db);
		*db = NULL;
		return (-1);
	}
	sqlite3_extended_result_codes(*db, 1);
	/*
	 * No checkpoints on the request path: each worker's main thread runs
	 * them (audit_checkpoint), so a download never waits for an fsync.
	 */
	if (sqlite3_busy_handler(*db, audit_busy, busy_start) != SQLITE_OK ||
	    sqlite3_exec(*db, "PRAGMA synchronous = NORMAL; "
	    "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "state database %s: %s", path,
		    sqlite3_errmsg(*db));
		sqlite3_close(*db);
		*db = NULL;
		return (-1);
	}
	return (0);
}

/*
 * Startup, before any worker: create the state database if it is missing,
 * and close as aborted:lost every row left 'started' (no worker runs yet,
 * so none of them can finish). Returns 0, or -1 with a sentence in err.
 */
int
audit_prepare(const char *path, char *err, size_t errsz)
{
	struct timespec	 busy;
	sqlite3		*db;
	char		*msg = NULL;
	int		 rc;

	if (audit_connect(&db, &busy, path, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, err, errsz) == -1)
		return (-1);
	rc = sqlite3_exec(db, sql_state, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "UPDATE downloads SET outcome = "
		    "'aborted:lost' WHERE outcome = 'started'", NULL, NULL,
		    &msg);
	if (rc != SQLITE_OK) {
		snprintf(err, errsz, "state database %s: %s", path,
		    msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		sqlite3_close(db);
		return (-1);
	}
	if (sqlite3_changes(db) > 0)
		log_warnx("event=audit_lost rows=%d msg=\"downloads left "
		    "started by a previous run\"", sqlite3_changes(db));
	sqlite3_close(db);
	return (0);
}

/*
 * A new worker: close rows left 'started' by workers that no longer exist
 * (a worker killed mid-download). Returns the rows closed, or -1 (logged).
 */
int
audit_close_lost(const char *path, pid_t self)
{
	struct timespec	 busy;
	sqlite3		*db;
	sqlite3_stmt	*sel = NULL, *upd = NULL;
	char		 err[512];
	int		 closed = 0, rc;

	if (audit_connect(&db, &busy, path, SQLITE_OPEN_READWRITE, err,
	    sizeof(err)) == -1) {
		log_warnx("event=audit_error op=close_lost msg=\"%s\"", err);
		return (-1);
	}
	if (sqlite3_prepare_v2(db, "SELECT DISTINCT pid FROM downloads "
	    "WHERE outcome = 'started'", -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE downloads SET outcome = "
	    "'aborted:lost' WHERE outcome = 'started' AND pid = ?1", -1, &upd,
	    NULL) != SQLITE_OK) {
		log_warnx("event=audit_error op=close_lost error=\"%s\"",
		    sqlite3_errmsg(db));
		closed = -1;
		goto done;
	}
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		pid_t pid = (pid_t)sqlite3_column_int64(sel, 0);

		/* Still running (a sibling worker): its rows are live. */
		if (pid == self || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		sqlite3_bind_int64(upd, 1, pid);
		if (sqlite3_step(upd) == SQLITE_DONE)
			closed += sqlite3_changes(db);
		else
			log_warnx("event=audit_error op=close_lost pid=%ld "
			    "error=\"%s\"", (long)pid, sqlite3_errmsg(db));
		sqlite3_reset(upd);
	}
	if (rc != SQLITE_DONE)
		log_warnx("event=audit_error op=close_lost error=\"%s\"",
		    sqlite3_errmsg(db));
	if (closed > 0)
		log_warnx("event=audit_lost rows=%d msg=\"downloads of a worker "
		    "that died\"", closed);
done:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	sqlite3_close(db);
	return (closed);
}

/*
 * Move what the WAL holds into the database, without waiting for or
 * blocking anyone (PASSIVE). Called off the request path, by a worker's
 * main thread, about once a second. Errors are logged.
 */
void
audit_checkpoint(struct audit *a)
{
	int	 rc;

	rc = sqlite3_wal_checkpoint_v2(a->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warnx("event=audit_error op=checkpoint error=\"%s\"",
		    sqlite3_errstr(rc));
}

/* Per thread: the connection and its statements. */
int
audit_open(struct audit *a, const char *path, char *err, size_t errsz)
{
	memset(a, 0, sizeof(*a));
	if (audit_connect(&a->db, &a->busy_start, path, SQLITE_OPEN_READWRITE,
	    err, errsz) == -1)
		return (-1);
	if (sqlite3_prepare_v3(a->db, "BEGIN IMMEDIATE", -1,
	    SQLITE_PREPARE_PERSISTENT, &a->begin, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(a->db, "COMMIT", -1,
	    SQLITE_PREPARE_PERSISTENT, &a->commit, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(a->db, audit_sql_count, -1,
	    SQLITE_PREPARE_PERSISTENT, &a->count, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(a->db, audit_sql_insert, -1,
	    SQLITE_PREPARE_PERSISTENT, &a->insert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(a->db, audit_sql_finish, -1,
	    SQLITE_PREPARE_PERSISTENT, &a->finish, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(a->db, audit_sql_cancel, -1,
	    SQLITE_PREPARE_PERSISTENT, &a->cancel, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "state database %s: %s (create it with "
		    "sluicectl init)", path, sqlite3_errmsg(a->db));
		audit_close(a);
		return (-1);
	}
	return (0);
}

void
audit_close(struct audit *a)
{
	sqlite3_finalize(a->begin);
	sqlite3_finalize(a->commit);
	sqlite3_finalize(a->count);
	sqlite3_finalize(a->insert);
	sqlite3_finalize(a->finish);
	sqlite3_finalize(a->cancel);
	sqlite3_close(a->db);
	memset(a, 0, sizeof(*a));
}

static void
audit_bind_text(sqlite3_stmt *st, int col, const char *v)
{
	if (v == NULL || v[0] == '\0')
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_text(st, col, v, -1, SQLITE_STATIC);
}

/*
 * Inside the writer's transaction: the start of one download. With
 * max_downloads >= 0 and a counting response, first count the job's
 * counted downloads, this transaction's own rows included, so the limit
 * holds within a batch as across processes. Sets *r->result and *r->row.
 * Returns SQLITE_OK (also for AUDIT_LIMIT), or the failing code with *op
 * naming the statement.
 */
static int
audit_db_begin(struct audit *a, pid_t pid, const struct audit_record *r,
    const char **op)
{
	const struct audit_entry *e = r->entry;
	int	 rc;

	if (e->counts && r->max_downloads >= 0) {
		*op = "count";
		sqlite3_bind_text(a->count, 1, e->job_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(a->count);
		if (rc == SQLITE_ROW && policy_limit_reached(r->max_downloads,
		    sqlite3_column_int64(a->count, 0))) {
			sqlite3_reset(a->count);
			*r->result = AUDIT_LIMIT;
			return (SQLITE_OK);
		}
		sqlite3_reset(a->count);
		if (rc != SQLITE_ROW)
			return (rc);
	}
	*op = "insert";
	sqlite3_bind_text(a->insert, 1, e->job_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(a->insert, 2, e->started_at);
	audit_bind_text(a->insert, 3, e->remote_addr);
	audit_bind_text(a->insert, 4, e->remote_user);
	sqlite3_bind_int64(a->insert, 5, e->range_start);
	sqlite3_bind_int64(a->insert, 6, e->range_end);
	sqlite3_bind_int(a->insert, 7, e->status);
	sqlite3_bind_int(a->insert, 8, e->counts);
	sqlite3_bind_int64(a->insert, 9, (int64_t)pid);
	rc = sqlite3_step(a->insert);
	sqlite3_reset(a->insert);
	sqlite3_clear_bindings(a->insert);
	if (rc != SQLITE_DONE)
		return (rc);
	*r->row = sqlite3_last_insert_rowid(a->db);
	*r->result = AUDIT_OK;
	return (SQLITE_OK);
}

/* Inside the writer's transaction: how one download ended, or its undo. */
static int
audit_db_end(struct audit *a, const struct audit_record *r, const char **op)
{
	const struct audit_final *f = &r->fin;
	sqlite3_stmt	*st;
	int		 rc;

	if (r->cancel) {
		*op = "cancel";
		st = a->cancel;
		sqlite3_bind_int64(st, 1, r->end_row);
	} else {
		*op = "finish";
		st = a->finish;
		sqlite3_bind_int64(st, 1, r->end_row);
		sqlite3_bind_int64(st, 2, f->bytes);
		sqlite3_bind_int64(st, 3, f->duration_ms);
		sqlite3_bind_text(st, 4, f->outcome, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, f->status);
		sqlite3_bind_int(st, 6, f->counts);
		sqlite3_bind_int64(st, 7, f->range_start);
		sqlite3_bind_int64(st, 8, f->range_end);
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (rc == SQLITE_DONE ? SQLITE_OK : rc);
}

/*
 * The leader: one transaction (BEGIN IMMEDIATE ... COMMIT) for the
 * n records of a batch, in queue order. If any step fails, the whole batch
 * is rolled back: every begin in it gets AUDIT_FAILED, and every record is
 * logged once (a lost end leaves its row 'started').
 */
static void
audit_commit(struct audit_writer *w, struct audit_record *b, size_t n)
{
	struct audit	*a = &w->db;
	const char	*op = "begin";
	size_t		 i;
	int		 rc;

	/* Prepared once: a batch's fixed cost is its locks and WAL frames. */
	rc = sqlite3_step(a->begin);
	sqlite3_reset(a->begin);
	if (rc != SQLITE_DONE)
		goto fail;
	for (i = 0; i < n; i++) {
		rc = b[i].entry != NULL ? audit_db_begin(a, w->pid, &b[i], &op) :
		    audit_db_end(a, &b[i], &op);
		if (rc != SQLITE_OK)
			goto fail;
	}
	op = "commit";
	rc = sqlite3_step(a->commit);
	sqlite3_reset(a->commit);
	if (rc == SQLITE_DONE)
		return;
fail:
	if (!sqlite3_get_autocommit(a->db))
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < n; i++) {
		if (b[i].entry != NULL) {
			*b[i].result = AUDIT_FAILED;
			*b[i].row = -1;
			log_warnx("event=audit_error op=%s id=%s batch=%zu "
			    "error=\"%s\"", op, b[i].entry->job_id, n,
			    sqlite3_errstr(rc));
		} else
			log_warnx("event=audit_error op=%s row=%lld batch=%zu "
			    "error=\"%s\"", op, (long long)b[i].end_row, n,
			    sqlite3_errstr(rc));
	}
}

/*
 * Called with w->mu held, when no batch is being committed: take every
 * queued record and commit them as one batch, as the leader, then wake the
 * callers whose begins it held. Returns with w->mu held. The batch is
 * copied out, so records queued meanwhile form the next one.
 */
static void
audit_lead(struct audit_writer *w)
{
	struct audit_record batch[AUDIT_QUEUE_MAX];
	size_t		 i, n;

	n = w->len;
	for (i = 0; i < n; i++)
		batch[i] = w->q[(w->head + i) % AUDIT_QUEUE_MAX];
	w->head = (w->head + n) % AUDIT_QUEUE_MAX;
	w->len = 0;
	w->committing = 1;
	pthread_mutex_unlock(&w->mu);
	audit_commit(w, batch, n);
	pthread_mutex_lock(&w->mu);
	for (i = 0; i < n; i++)
		if (batch[i].entry != NULL)
			*batch[i].done = 1;
	w->committing = 0;
	pthread_cond_broadcast(&w->committed);
}

/*
 * In a worker process, after fork and before its request threads: open
 * the connection that all its threads share, one at a time. Returns 0, or
 * -1 with a sentence in err.
 */
int
audit_writer_open(struct audit_writer *w, const char *path, char *err,
    size_t errsz)
{
	int	 rc;

	memset(w, 0, sizeof(*w));
	if (audit_open(&w->db, path, err, errsz) == -1)
		return (-1);
	w->pid = getpid();
	if ((rc = pthread_mutex_init(&w->mu, NULL)) != 0 ||
	    (rc = pthread_cond_init(&w->committed, NULL)) != 0) {
		snprintf(err, errsz, "audit writer: %s", strerror(rc));
		audit_close(&w->db);
		return (-1);
	}
	return (0);
}

/*
 * Commit the ends queued since the last batch, unless a batch is being
 * committed now (its leader or the next one takes them). The worker's
 * main thread calls it every tick, so that an end never waits long for
 * the next download's begin. May wait for the write lock (AUDIT_BUSY_MS).
 */
void
audit_writer_flush(struct audit_writer *w)
{
	pthread_mutex_lock(&w->mu);
	if (!w->committing && w->len > 0)
		audit_lead(w);
	pthread_mutex_unlock(&w->mu);
}

/*
 * Commit everything still queued and close the connection. Call it once
 * no request thread can queue any more (they have all been joined), so
 * that every download's end is recorded.
 */
void
audit_writer_close(struct audit_writer *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->committing || w->len > 0) {
		if (w->committing)
			pthread_cond_wait(&w->committed, &w->mu);
		else
			audit_lead(w);
	}
	pthread_mutex_unlock(&w->mu);
	audit_close(&w->db);
	pthread_cond_destroy(&w->committed);
	pthread_mutex_destroy(&w->mu);
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
 * Record the start of a download and wait until it is committed, so the
 * row exists before the first body byte. With max_downloads >= 0 and a
 * counting response, the writer first checks, in the same transaction,
 * that the job has not reached its limit. Returns AUDIT_OK with *row set,
 * AUDIT_LIMIT, or AUDIT_FAILED (logged by the writer). e is only read, and
 * only until this returns.
 */
enum audit_result
audit_begin(struct audit_writer *w, const struct audit_entry *e,
    int64_t max_downloads, int64_t *row)
{
	enum audit_result res = AUDIT_FAILED;
	struct audit_record r;
	int		 done = 0;

	*row = -1;
	memset(&r, 0, sizeof(r));
	r.entry = e;
	r.max_downloads = max_downloads;
	r.result = &res;
	r.row = row;
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

/*
 * Record how a download ended: queued, committed with the next batch
 * (the next begin's, or the main thread's flush) without waiting for it;
 * it waits, or commits, only while the queue is full. f->outcome must be
 * a string constant. A row of -1 (none was written, or the audit is off
 * and w is NULL) records nothing. Failures are logged by the writer,
 * never fatal.
 */
void
audit_end(struct audit_writer *w, int64_t row, const struct audit_final *f)
{
	struct audit_record r;

	if (row < 0)
		return;
	memset(&r, 0, sizeof(r));
	r.end_row = row;
	r.fin = *f;
	pthread_mutex_lock(&w->mu);
	audit_enqueue(w, &r);
	pthread_mutex_unlock(&w->mu);
}

/*
 * Withdraw a download recorded by audit_begin that a later check refused
 * (it never counted, and sent nothing): its row is deleted, with the next
 * batch, like an end.
 */
void
audit_cancel(struct audit_writer *w, int64_t row)
{
	struct audit_record r;

	if (row < 0)
		return;
	memset(&r, 0, sizeof(r));
	r.end_row = row;
	r.cancel = 1;
	pthread_mutex_lock(&w->mu);
	audit_enqueue(w, &r);
	pthread_mutex_unlock(&w->mu);
}
