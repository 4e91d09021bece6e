/*
 * audit: sluice's own state database, and its only owner in sluice.
 * Workload: per download, a row inserted before the file is opened (after
 * counting the job's counted downloads, if it has a limit), then either
 * removed (a later check refused the request) or updated at the end. WAL
 * with synchronous=NORMAL: no fsync per download, and readers (sluicectl)
 * never block writers.
 *
 * Group commit: each worker process has one connection for its request
 * threads, and one batch at a time is committed on it, as one BEGIN
 * IMMEDIATE transaction holding every record queued so far, each record
 * inside a savepoint of its own, so a record that fails rolls back alone.
 * The request thread that finds no batch in progress commits it (the
 * leader); the others wait for the commit that holds their begin. Cancels
 * and ends are queued without waiting; one that fails is kept (up to
 * AUDIT_RETRY_MAX, AUDIT_RETRY_TRIES times) and goes with the next batch.
 *
 * The check and the count are in the same transaction as the insert, and
 * a batch's records run in queue order, so two simultaneous first
 * downloads of a job limited to one cannot both pass.
 *
 * Upkeep runs in one thread per process, never on the request path: it
 * commits what is queued when no download begins, runs RESTART
 * checkpoints (once a second, or as soon as the WAL holds
 * AUDIT_CHECKPOINT_FRAMES) so the WAL starts over instead of growing,
 * closes the rows of workers that died, and prunes rows older than the
 * retention in small batches. A pruned counted download is added to
 * download_counts, so max_downloads still sees it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "audit.h"
#include "log.h"
#include "policy.h"
#include "sql_state.h"

#define AUDIT_CKPT_BUSY_MS	100	/* a checkpoint's wait for the lock */

enum audit_st {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE,
	ST_ROLLBACK_TO, ST_COUNT, ST_INSERT, ST_FINISH, ST_CANCEL,
	ST_LOST_PIDS, ST_LOST_CLOSE, ST_PRUNE_SCAN, ST_PRUNE_TALLY,
	ST_PRUNE_DELETE, ST_SWEEP_SCAN, ST_SWEEP_TALLY, ST_SWEEP_DELETE, ST_N
};

static const char *const audit_sql[ST_N] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT rec",
	[ST_RELEASE] = "RELEASE rec",
	[ST_ROLLBACK_TO] = "ROLLBACK TO rec",
	[ST_COUNT] = "SELECT (SELECT count(*) FROM downloads WHERE "
	    "job_id = ?1 AND counts = 1) + coalesce((SELECT pruned FROM "
	    "download_counts WHERE job_id = ?1), 0)",
	[ST_INSERT] = "INSERT INTO downloads (job_id, started_at, "
	    "remote_addr, remote_user, range_start, range_end, status, counts, "
	    "pid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_FINISH] = "UPDATE downloads SET status = ?2, counts = ?3, "
	    "range_start = ?4, range_end = ?5, bytes_sent = ?6, "
	    "duration_ms = ?7, outcome = ?8 WHERE id = ?1",
	[ST_CANCEL] = "DELETE FROM downloads WHERE id = ?1",
	[ST_LOST_PIDS] = "SELECT DISTINCT pid FROM downloads "
	    "WHERE outcome = 'started'",
	[ST_LOST_CLOSE] = "UPDATE downloads SET outcome = 'aborted:lost' "
	    "WHERE outcome = 'started' AND pid = ?1",
	/* The oldest rows by id: rowids grow with time (no index on it). */
	[ST_PRUNE_SCAN] = "SELECT id, started_at FROM downloads "
	    "ORDER BY id LIMIT ?1",
	[ST_PRUNE_TALLY] = "INSERT INTO download_counts (job_id, pruned) "
	    "SELECT job_id, count(*) FROM downloads WHERE id BETWEEN ?1 AND ?2 "
	    "AND counts = 1 AND outcome <> 'started' GROUP BY job_id "
	    "ON CONFLICT (job_id) DO UPDATE SET pruned = pruned + "
	    "excluded.pruned",
	[ST_PRUNE_DELETE] = "DELETE FROM downloads WHERE id BETWEEN ?1 AND ?2 "
	    "AND outcome <> 'started'",
	/* sluicectl prune: every old row, wherever its id (a full pass). */
	[ST_SWEEP_SCAN] = "SELECT id FROM downloads WHERE id > ?1 AND "
	    "started_at < ?2 AND outcome <> 'started' ORDER BY id LIMIT ?3",
	[ST_SWEEP_TALLY] = "INSERT INTO download_counts (job_id, pruned) "
	    "SELECT job_id, 1 FROM downloads WHERE id = ?1 AND counts = 1 "
	    "AND outcome <> 'started' ON CONFLICT (job_id) DO UPDATE SET "
	    "pruned = pruned + 1",
	[ST_SWEEP_DELETE] = "DELETE FROM downloads WHERE id = ?1 AND "
	    "outcome <> 'started'",
};

/* One connection and its statements (the leader's, or the upkeep's). */
struct audit_conn {
	sqlite3		*db;
	sqlite3_stmt	*st[ST_N];
	int		 busy_ms;	/* the busy handler's budget */
	struct timespec	 busy_start;	/* of the current lock wait */
};

enum audit_kind {
	AUDIT_REC_BEGIN,
	AUDIT_REC_CANCEL,
	AUDIT_REC_END
};

/*
 * A queued record. A begin points at its caller's entry and result, which
 * stay valid because the caller waits until the record is committed
 * (*done). A cancel or an end carries its values.
 */
struct audit_record {
	enum audit_kind		 kind;
	int			 tries;		/* failed commits so far */
	int			 failed;	/* in the batch being committed */
	const struct audit_entry *entry;	/* a begin's */
	int64_t			 max_downloads;
	enum audit_result	*result;
	int64_t			*row;
	int			*done;
	enum audit_result	 res;		/* until committed */
	int64_t			 new_row;
	int64_t			 target;	/* a cancel's or an end's row */
	struct audit_final	 fin;
};

/* The per-process writer: a bounded queue, committed one batch at a time. */
struct audit_writer {
	struct audit_conn	 db;		/* by the leader, outside mu */
	struct audit_conn	 up;		/* by the upkeep thread only */
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

/*
 * Wait for the write lock in steps of 50 µs, up to the connection's
 * budget. SQLite's own busy handler sleeps 1, 2, 5, 10 ms and more
 * between tries; the lock is held for tens of microseconds per batch, so
 * with many threads those sleeps, not the writes, would set the pace.
 */
static int
audit_busy(void *arg, int tries)
{
	struct audit_conn *c = arg;
	struct timespec	 ts = { 0, 50 * 1000L }, now;
	int64_t		 ms;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return (0);
	if (tries == 0)
		c->busy_start = now;
	/* Elapsed time, not tries: each sleep lasts longer than asked. */
	ms = (int64_t)(now.tv_sec - c->busy_start.tv_sec) * 1000 +
	    (now.tv_nsec - c->busy_start.tv_nsec) / 1000000;
	if (ms >= c->busy_ms)
		return (0);
	nanosleep(&ts, NULL);
	return (1);
}

static void
audit_conn_close(struct audit_conn *c)
{
	size_t	 i;

	for (i = 0; i < ST_N; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	memset(c, 0, sizeof(*c));
}

/*
 * Open c on path. No automatic checkpoints: only the upkeep thread runs
 * them. journal_size_limit makes the WAL file shrink back to
 * AUDIT_WAL_LIMIT when it starts over. With prepare, also the
 * statements. Returns 0, or -1 with a sentence in err.
 */
static int
audit_conn_open(struct audit_conn *c, const char *path, int flags,
    int prepare, char *err, size_t errsz)
{
	char	 pragmas[160];
	size_t	 i;
	int	 rc, n;

	memset(c, 0, sizeof(*c));
	c->busy_ms = AUDIT_BUSY_MS;
	rc = sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(c->db, 1);
	n = snprintf(pragmas, sizeof(pragmas), "PRAGMA synchronous = NORMAL; "
	    "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = %d",
	    AUDIT_WAL_LIMIT);
	if (n < 0 || (size_t)n >= sizeof(pragmas) ||
	    sqlite3_busy_handler(c->db, audit_busy, c) != SQLITE_OK ||
	    sqlite3_exec(c->db, pragmas, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	for (i = 0; prepare && i < ST_N; i++)
		if (sqlite3_prepare_v3(c->db, audit_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL) != SQLITE_OK)
			goto fail;
	return (0);
fail:
	snprintf(err, errsz, "state database %s: %s", path,
	    c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	audit_conn_close(c);
	return (-1);
}

/* Step a statement that returns no row, and reset it. */
static int
audit_exec(struct audit_conn *c, enum audit_st s)
{
	int	 rc;

	rc = sqlite3_step(c->st[s]);
	sqlite3_reset(c->st[s]);
	sqlite3_clear_bindings(c->st[s]);
	return (rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc);
}

/*
 * Startup, before any worker: create the state database if it is missing,
 * close as aborted:lost every row left 'started' (no worker runs yet, so
 * none of them can finish), and truncate a WAL a previous run left.
 * Returns 0, or -1 with a sentence in err.
 */
int
audit_prepare(const char *path, char *err, size_t errsz)
{
	struct audit_conn c;
	char		*msg = NULL;
	int		 rc, lost;

	if (audit_conn_open(&c, path, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, 0, err, errsz) == -1)
		return (-1);
	rc = sqlite3_exec(c.db, sql_state, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c.db, "UPDATE downloads SET outcome = "
		    "'aborted:lost' WHERE outcome = 'started'", NULL, NULL,
		    &msg);
	if (rc != SQLITE_OK) {
		snprintf(err, errsz, "state database %s: %s", path,
		    msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		audit_conn_close(&c);
		return (-1);
	}
	if ((lost = sqlite3_changes(c.db)) > 0)
		log_warnx("event=audit_lost rows=%d msg=\"downloads left "
		    "started by a previous run\"", lost);
	rc = sqlite3_wal_checkpoint_v2(c.db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warnx("event=audit_error op=checkpoint error=\"%s\"",
		    sqlite3_errstr(rc));
	audit_conn_close(&c);
	return (0);
}

/*
 * Upkeep: close the rows left 'started' by workers that no longer exist
 * (a worker killed mid-download). The partial index downloads_open keeps
 * both statements off the table. Returns the rows closed, or -1 (logged).
 */
static int
audit_close_lost(struct audit_conn *c, pid_t self)
{
	sqlite3_stmt	*sel = c->st[ST_LOST_PIDS], *upd = c->st[ST_LOST_CLOSE];
	pid_t		 dead[64];
	size_t		 n = 0, i;
	int		 closed = 0, rc;

	while ((rc = sqlite3_step(sel)) == SQLITE_ROW && n < 64) {
		pid_t pid = (pid_t)sqlite3_column_int64(sel, 0);

		/* Still running (a sibling worker): its rows are live. */
		if (pid != self && kill(pid, 0) == -1 && errno == ESRCH)
			dead[n++] = pid;
	}
	sqlite3_reset(sel);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_warnx("event=audit_error op=close_lost error=\"%s\"",
		    sqlite3_errstr(rc));
		return (-1);
	}
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(upd, 1, dead[i]);
		if ((rc = audit_exec(c, ST_LOST_CLOSE)) == SQLITE_OK)
			closed += sqlite3_changes(c->db);
		else
			log_warnx("event=audit_error op=close_lost pid=%ld "
			    "error=\"%s\"", (long)dead[i], sqlite3_errstr(rc));
	}
	if (closed > 0)
		log_warnx("event=audit_lost rows=%d msg=\"downloads of a worker "
		    "that died\"", closed);
	return (closed);
}

/*
 * Move the WAL into the database and make it start over (RESTART): waits
 * up to AUDIT_CKPT_BUSY_MS for the write lock and for readers, then holds
 * writers back only while it copies (the hot pages, once each). When a
 * reader holds on, it does what it can and the next one finishes.
 */
static void
audit_checkpoint(struct audit_conn *c)
{
	int	 rc;

	c->busy_ms = AUDIT_CKPT_BUSY_MS;
	rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_RESTART,
	    NULL, NULL);
	c->busy_ms = AUDIT_BUSY_MS;
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warnx("event=audit_error op=checkpoint error=\"%s\"",
		    sqlite3_errstr(rc));
}

/*
 * One retention batch, in one short transaction: of the oldest
 * AUDIT_PRUNE_BATCH rows, those before the first started at or after
 * `before`, except rows still 'started', are deleted; the counted ones are
 * first added to download_counts. Returns the rows deleted, or -1.
 */
static int
audit_prune_batch(struct audit_conn *c, int64_t before)
{
	sqlite3_stmt	*scan = c->st[ST_PRUNE_SCAN];
	int64_t		 lo = -1, hi = -1;
	int		 rc, n = -1;

	if ((rc = audit_exec(c, ST_BEGIN)) != SQLITE_OK)
		goto done;
	sqlite3_bind_int(scan, 1, AUDIT_PRUNE_BATCH);
	while ((rc = sqlite3_step(scan)) == SQLITE_ROW &&
	    sqlite3_column_int64(scan, 1) < before) {
		if (lo == -1)
			lo = sqlite3_column_int64(scan, 0);
		hi = sqlite3_column_int64(scan, 0);
	}
	sqlite3_reset(scan);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto done;
	n = 0;
	if (lo != -1) {
		sqlite3_bind_int64(c->st[ST_PRUNE_TALLY], 1, lo);
		sqlite3_bind_int64(c->st[ST_PRUNE_TALLY], 2, hi);
		sqlite3_bind_int64(c->st[ST_PRUNE_DELETE], 1, lo);
		sqlite3_bind_int64(c->st[ST_PRUNE_DELETE], 2, hi);
		if ((rc = audit_exec(c, ST_PRUNE_TALLY)) != SQLITE_OK ||
		    (rc = audit_exec(c, ST_PRUNE_DELETE)) != SQLITE_OK) {
			n = -1;
			goto done;
		}
		n = sqlite3_changes(c->db);
	}
	if ((rc = audit_exec(c, ST_COMMIT)) != SQLITE_OK)
		n = -1;
done:
	if (n == -1) {
		if (!sqlite3_get_autocommit(c->db))
			(void)audit_exec(c, ST_ROLLBACK);
		log_warnx("event=audit_error op=prune error=\"%s\"",
		    sqlite3_errstr(rc));
	}
	return (n);
}

/*
 * One batch of sluicectl's prune: up to AUDIT_PRUNE_BATCH rows after id
 * *cursor started before `before` and not 'started', whatever the rows
 * around them (unlike the upkeep's batch, it does not rely on ids growing
 * with time), in one transaction. Moves *cursor on. Returns the rows
 * deleted, or -1 (logged).
 */
static int
audit_sweep_batch(struct audit_conn *c, int64_t before, int64_t *cursor)
{
	sqlite3_stmt	*scan = c->st[ST_SWEEP_SCAN];
	int64_t		 ids[AUDIT_PRUNE_BATCH];
	int		 rc, i, n = 0, deleted = 0;

	if ((rc = audit_exec(c, ST_BEGIN)) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(scan, 1, *cursor);
	sqlite3_bind_int64(scan, 2, before);
	sqlite3_bind_int(scan, 3, AUDIT_PRUNE_BATCH);
	while (n < AUDIT_PRUNE_BATCH && (rc = sqlite3_step(scan)) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(scan, 0);
	sqlite3_reset(scan);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(c->st[ST_SWEEP_TALLY], 1, ids[i]);
		sqlite3_bind_int64(c->st[ST_SWEEP_DELETE], 1, ids[i]);
		if ((rc = audit_exec(c, ST_SWEEP_TALLY)) != SQLITE_OK ||
		    (rc = audit_exec(c, ST_SWEEP_DELETE)) != SQLITE_OK)
			goto fail;
		deleted += sqlite3_changes(c->db);
	}
	if ((rc = audit_exec(c, ST_COMMIT)) != SQLITE_OK)
		goto fail;
	if (n > 0)
		*cursor = ids[n - 1];
	return (n == 0 ? 0 : deleted > 0 ? deleted : -2);
fail:
	if (!sqlite3_get_autocommit(c->db))
		(void)audit_exec(c, ST_ROLLBACK);
	log_warnx("event=audit_error op=prune error=\"%s\"",
	    sqlite3_errstr(rc));
	return (-1);
}

/*
 * sluicectl prune: delete every row started before `before` (unix
 * seconds) that is not still 'started', in batches of one short
 * transaction each. Returns the rows deleted, or -1 with a sentence in
 * err.
 */
int64_t
audit_prune(const char *path, int64_t before, char *err, size_t errsz)
{
	struct audit_conn c;
	int64_t		 total = 0, cursor = INT64_MIN;
	int		 n;

	if (audit_conn_open(&c, path, SQLITE_OPEN_READWRITE, 1, err,
	    errsz) == -1)
		return (-1);
	while ((n = audit_sweep_batch(&c, before, &cursor)) != 0) {
		if (n == -1) {
			snprintf(err, errsz, "state database %s: prune failed "
			    "after %lld rows: %s", path, (long long)total,
			    sqlite3_errmsg(c.db));
			total = -1;
			break;
		}
		total += n > 0 ? n : 0;	/* -2: a batch found, none left */
		/* A batch's WAL frames go before the next batch adds more. */
		audit_checkpoint(&c);
	}
	audit_conn_close(&c);
	return (total);
}

/*
 * sluicectl vacuum: rewrite the database without its free pages, and
 * leave an empty WAL. Returns 0, or -1 with a sentence in err.
 */
int
audit_vacuum(const char *path, char *err, size_t errsz)
{
	struct audit_conn c;
	int	 rc;

	if (audit_conn_open(&c, path, SQLITE_OPEN_READWRITE, 0, err,
	    errsz) == -1)
		return (-1);
	rc = sqlite3_exec(c.db, "VACUUM", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_wal_checkpoint_v2(c.db, NULL,
		    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	if (rc != SQLITE_OK)
		snprintf(err, errsz, "state database %s: vacuum: %s", path,
		    sqlite3_errmsg(c.db));
	audit_conn_close(&c);
	return (rc == SQLITE_OK ? 0 : -1);
}

static void
audit_bind_text(sqlite3_stmt *st, int col, const char *v)
{
	if (v != NULL && v[0] == '\0')
		sqlite3_bind_null(st, col);
	else	/* NULL stays NULL: job_id's NOT NULL refuses it */
		sqlite3_bind_text(st, col, v, -1, SQLITE_STATIC);
}

/*
 * Inside the batch: the start of one download. With max_downloads >= 0
 * and a counting response, first count the job's counted downloads, this
 * transaction's own rows included, so the limit holds within a batch as
 * across processes. Sets r->res and r->new_row. Returns SQLITE_OK (also
 * for AUDIT_LIMIT), or the failing code.
 */
static int
audit_rec_begin(struct audit_writer *w, struct audit_record *r)
{
	const struct audit_entry *e = r->entry;
	sqlite3_stmt	*count = w->db.st[ST_COUNT], *ins = w->db.st[ST_INSERT];
	int		 rc, limit;

	if (e->counts && r->max_downloads >= 0) {
		sqlite3_bind_text(count, 1, e->job_id, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(count)) != SQLITE_ROW) {
			sqlite3_reset(count);
			return (rc);
		}
		limit = policy_limit_reached(r->max_downloads,
		    sqlite3_column_int64(count, 0));
		sqlite3_reset(count);
		if (limit) {
			r->res = AUDIT_LIMIT;
			return (SQLITE_OK);
		}
	}
	audit_bind_text(ins, 1, e->job_id);
	sqlite3_bind_int64(ins, 2, e->started_at);
	audit_bind_text(ins, 3, e->remote_addr);
	audit_bind_text(ins, 4, e->remote_user);
	sqlite3_bind_int64(ins, 5, e->range_start);
	sqlite3_bind_int64(ins, 6, e->range_end);
	sqlite3_bind_int(ins, 7, e->status);
	sqlite3_bind_int(ins, 8, e->counts);
	sqlite3_bind_int64(ins, 9, (int64_t)w->pid);
	if ((rc = audit_exec(&w->db, ST_INSERT)) != SQLITE_OK)
		return (rc);
	r->new_row = sqlite3_last_insert_rowid(w->db.db);
	r->res = AUDIT_OK;
	return (SQLITE_OK);
}

/* Inside the batch: a cancelled download's row goes, or one ends. */
static int
audit_rec_apply(struct audit_writer *w, struct audit_record *r)
{
	sqlite3_stmt	*f = w->db.st[ST_FINISH];

	if (r->kind == AUDIT_REC_BEGIN)
		return (audit_rec_begin(w, r));
	if (r->kind == AUDIT_REC_CANCEL) {
		sqlite3_bind_int64(w->db.st[ST_CANCEL], 1, r->target);
		return (audit_exec(&w->db, ST_CANCEL));
	}
	sqlite3_bind_int64(f, 1, r->target);
	sqlite3_bind_int(f, 2, r->fin.status);
	sqlite3_bind_int(f, 3, r->fin.counts);
	sqlite3_bind_int64(f, 4, r->fin.range_start);
	sqlite3_bind_int64(f, 5, r->fin.range_end);
	sqlite3_bind_int64(f, 6, r->fin.bytes);
	sqlite3_bind_int64(f, 7, r->fin.duration_ms);
	sqlite3_bind_text(f, 8, r->fin.outcome, -1, SQLITE_STATIC);
	return (audit_exec(&w->db, ST_FINISH));
}

static void
audit_rec_log(const struct audit_record *r, const char *what, size_t n,
    int rc)
{
	static const char *const kinds[] = { "begin", "cancel", "end" };

	if (r->kind == AUDIT_REC_BEGIN)
		log_warnx("event=audit_error op=%s id=%s batch=%zu "
		    "failed=%s error=\"%s\"", kinds[r->kind],
		    r->entry->job_id != NULL ? r->entry->job_id : "-", n, what,
		    sqlite3_errstr(rc));
	else
		log_warnx("event=audit_error op=%s row=%lld batch=%zu "
		    "failed=%s tries=%d error=\"%s\"", kinds[r->kind],
		    (long long)r->target, n, what, r->tries,
		    sqlite3_errstr(rc));
}

/*
 * The leader: one transaction for the n records of a batch, in queue
 * order, each inside its own savepoint: a record that fails is rolled back
 * alone and marked failed. If the transaction itself fails (the lock, the
 * commit, or a failure that ends it), every record is marked failed.
 */
static void
audit_commit(struct audit_writer *w, struct audit_record *b, size_t n)
{
	struct audit_conn *a = &w->db;
	size_t		 i;
	int		 rc;

	for (i = 0; i < n; i++)
		b[i].failed = 0;
	if ((rc = audit_exec(a, ST_BEGIN)) != SQLITE_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((rc = audit_exec(a, ST_SAVEPOINT)) != SQLITE_OK)
			goto fail;
		if ((rc = audit_rec_apply(w, &b[i])) == SQLITE_OK) {
			if ((rc = audit_exec(a, ST_RELEASE)) != SQLITE_OK)
				goto fail;
			continue;
		}
		if (sqlite3_get_autocommit(a->db))
			goto fail;	/* SQLite rolled back the whole batch */
		b[i].failed = 1;
		audit_rec_log(&b[i], "record", n, rc);
		if ((rc = audit_exec(a, ST_ROLLBACK_TO)) != SQLITE_OK ||
		    (rc = audit_exec(a, ST_RELEASE)) != SQLITE_OK)
			goto fail;
	}
	if ((rc = audit_exec(a, ST_COMMIT)) == SQLITE_OK)
		return;
fail:
	if (!sqlite3_get_autocommit(a->db))
		(void)audit_exec(a, ST_ROLLBACK);
	for (i = 0; i < n; i++) {
		if (!b[i].failed)
			audit_rec_log(&b[i], "batch", n, rc);
		b[i].failed = 1;
	}
}

/*
 * With w->mu held, after a commit: hand each begin its result and wake
 * its caller; keep each failed cancel or end for the next batch, unless it
 * has been tried AUDIT_RETRY_TRIES times or the retry list is full.
 */
static void
audit_settle(struct audit_writer *w, struct audit_record *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (b[i].kind == AUDIT_REC_BEGIN) {
			*b[i].result = b[i].failed ? AUDIT_FAILED : b[i].res;
			*b[i].row = b[i].failed || b[i].res != AUDIT_OK ? -1 :
			    b[i].new_row;
			*b[i].done = 1;
			continue;
		}
		if (!b[i].failed)
			continue;
		if (++b[i].tries < AUDIT_RETRY_TRIES &&
		    w->nretry < AUDIT_RETRY_MAX)
			w->retry[w->nretry++] = b[i];
		else
			log_warnx("event=audit_error op=dropped row=%lld "
			    "tries=%d msg=\"a download's end or cancel is "
			    "lost; its row stays 'started'\"",
			    (long long)b[i].target, b[i].tries);
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
	audit_commit(w, batch, n);
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

/* After each commit on the leader's connection: is the WAL long? */
static int
audit_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct audit_writer *w = arg;

	(void)db;
	(void)name;
	if (frames >= AUDIT_CHECKPOINT_FRAMES &&
	    !atomic_exchange(&w->ckpt_due, 1)) {
		pthread_mutex_lock(&w->mu);
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->mu);
	}
	return (SQLITE_OK);
}

/* The upkeep due at now, off the request path and outside w->mu. */
static void
audit_upkeep_run(struct audit_writer *w, int64_t now, int64_t *next_ckpt,
    int64_t *next_lost, int64_t *next_prune)
{
	int	 n;

	if (atomic_exchange(&w->ckpt_due, 0) || now >= *next_ckpt) {
		audit_checkpoint(&w->up);
		*next_ckpt = now + AUDIT_CHECKPOINT_MS;
	}
	if (now >= *next_lost) {
		(void)audit_close_lost(&w->up, w->pid);
		*next_lost = now + AUDIT_LOST_MS;
	}
	if (w->set.retention > 0 && now >= *next_prune) {
		n = audit_prune_batch(&w->up, (int64_t)time(NULL) -
		    w->set.retention);
		*next_prune = now + (n == -1 || n > 0 ? AUDIT_PRUNE_MS :
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
		audit_upkeep_run(w, now, &next_ckpt, &next_lost, &next_prune);
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
	atomic_init(&w->ckpt_due, 0);
	if (audit_conn_open(&w->db, path, SQLITE_OPEN_READWRITE, 1, err,
	    errsz) == -1)
		goto fail;
	if (audit_conn_open(&w->up, path, SQLITE_OPEN_READWRITE, 1, err,
	    errsz) == -1)
		goto fail;
	if (audit_writer_sync(w, err, errsz) == -1)
		goto fail;
	sqlite3_wal_hook(w->db.db, audit_wal_hook, w);
	if ((rc = pthread_create(&w->upkeep, NULL, audit_upkeep_main, w)) !=
	    0) {
		snprintf(err, errsz, "audit upkeep thread: %s", strerror(rc));
		goto fail;
	}
	w->upkeep_started = 1;
	return (w);
fail:
	audit_conn_close(&w->db);
	audit_conn_close(&w->up);
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
	audit_checkpoint(&w->up);
	audit_conn_close(&w->db);
	audit_conn_close(&w->up);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->committed);
	pthread_mutex_destroy(&w->mu);
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
 * Record the start of a download, before its file is opened, and wait
 * until it is committed. With max_downloads >= 0 and a counting response,
 * the writer first checks, in the same transaction, that the job has not
 * reached its limit (policy_limit_reached). Returns AUDIT_OK with *row
 * set, AUDIT_LIMIT, or AUDIT_FAILED (logged by the writer), with *row -1.
 * e is only read, and only until this returns.
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
	r.kind = AUDIT_REC_BEGIN;
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

/* Queue a cancel or an end without waiting (unless the queue is full). */
static void
audit_queue_row(struct audit_writer *w, enum audit_kind kind, int64_t row,
    const struct audit_final *f)
{
	struct audit_record r;

	if (w == NULL || row < 0)
		return;
	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.target = row;
	if (f != NULL)
		r.fin = *f;
	pthread_mutex_lock(&w->mu);
	audit_enqueue(w, &r);
	pthread_mutex_unlock(&w->mu);
}

/*
 * A check after audit_begin refused the request (or it was answered 304):
 * the row is removed, so it never counted. Queued, not waited for; the
 * limit is free again once it is committed (the next batch). A row of -1,
 * or w NULL (the audit is off), does nothing.
 */
void
audit_cancel(struct audit_writer *w, int64_t row)
{
	audit_queue_row(w, AUDIT_REC_CANCEL, row, NULL);
}

/*
 * Record how a download ended: its final status, range, whether it
 * counts, bytes, duration and outcome (a string constant). Queued,
 * committed with the next batch without waiting for it. A row of -1, or
 * w NULL, records nothing. Failures are logged and retried, never fatal.
 */
void
audit_end(struct audit_writer *w, int64_t row, const struct audit_final *f)
{
	audit_queue_row(w, AUDIT_REC_END, row, f);
}
