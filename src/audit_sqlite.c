/*
 * audit_sqlite: the state database in a SQLite file (--state-db PATH),
 * the default. Workload: per GET that would send the file, before the
 * file is opened, one look for the client's open download of the job,
 * then either a join (one more response of it) or, if the job's limit
 * allows, a new download; and a response row. Then either the response
 * is withdrawn (a later check refused the request) or it ends: its row is
 * completed, and its download's bytes, coverage and last activity
 * updated. WAL with synchronous=NORMAL: no fsync per download, and
 * readers (sluicectl) never block writers.
 *
 * A batch (audit.c) is one BEGIN IMMEDIATE transaction, each record
 * inside a savepoint of its own, so a record that fails rolls back alone.
 * The look, the count and the insert are in one transaction, and a
 * batch's records run in queue order, so two simultaneous first downloads
 * of a job limited to one cannot both pass, and two simultaneous segments
 * of one client open one download.
 *
 * Upkeep: RESTART checkpoints (once a second, or as soon as the WAL holds
 * AUDIT_CHECKPOINT_FRAMES) so the WAL starts over instead of growing,
 * closing the responses of workers that died, and pruning responses and
 * downloads older than the retention in small batches. A pruned download
 * is added to download_counts, so max_downloads still sees it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "audit.h"
#include "audit_store.h"
#include "metrics.h"
#include "log.h"
#include "policy.h"
#include "spans.h"
#include "sql_state.h"
#include "sql_state_v2.h"

#define AUDIT_CKPT_BUSY_MS	100	/* a checkpoint's wait for the lock */

enum audit_st {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE,
	ST_ROLLBACK_TO, ST_FIND, ST_COUNT, ST_OPEN, ST_JOIN, ST_INSERT,
	ST_FINISH, ST_CANCEL, ST_UNJOIN, ST_DL_GET, ST_DL_SET, ST_DL_IDLE,
	ST_DL_DROP, ST_DL_DETACH, ST_LOST_PIDS, ST_LOST_TOUCH, ST_LOST_CLOSE,
	ST_PRUNE_SCAN, ST_PRUNE_DELETE, ST_SWEEP_SCAN, ST_SWEEP_DELETE,
	ST_DL_SCAN, ST_DL_TALLY, ST_N
};

#define AUDIT_LIVE(id)	"EXISTS (SELECT 1 FROM responses WHERE " \
	"download_id = " id " AND outcome = 'started')"

static const char *const audit_sql[ST_N] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT rec",
	[ST_RELEASE] = "RELEASE rec",
	[ST_ROLLBACK_TO] = "ROLLBACK TO rec",
	/* The client's newest download of the job: only it can be open. */
	[ST_FIND] = "SELECT id, last_at, " AUDIT_LIVE("downloads.id")
	    " FROM downloads WHERE job_id = ?1 AND remote_addr IS ?2 AND "
	    "remote_user IS ?3 ORDER BY id DESC LIMIT 1",
	[ST_COUNT] = "SELECT (SELECT count(*) FROM downloads WHERE "
	    "job_id = ?1) + coalesce((SELECT pruned FROM download_counts "
	    "WHERE job_id = ?1), 0)",
	[ST_OPEN] = "INSERT INTO downloads (job_id, remote_addr, remote_user, "
	    "opened_at, last_at, responses, file_size) "
	    "VALUES (?1, ?2, ?3, ?4, ?4, 1, ?5)",
	[ST_JOIN] = "UPDATE downloads SET responses = responses + 1 "
	    "WHERE id = ?1",
	[ST_INSERT] = "INSERT INTO responses (download_id, job_id, started_at, "
	    "remote_addr, remote_user, range_start, range_end, status, counts, "
	    "pid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_FINISH] = "UPDATE responses SET status = ?2, range_start = ?3, "
	    "range_end = ?4, bytes_sent = ?5, duration_ms = ?6, outcome = ?7 "
	    "WHERE id = ?1",
	[ST_CANCEL] = "DELETE FROM responses WHERE id = ?1",
	[ST_UNJOIN] = "UPDATE downloads SET responses = responses - 1 "
	    "WHERE id = ?1",
	[ST_DL_GET] = "SELECT file_size, spans, complete FROM downloads "
	    "WHERE id = ?1",
	[ST_DL_SET] = "UPDATE downloads SET last_at = max(last_at, ?2), "
	    "bytes_sent = bytes_sent + ?3, covered = ?4, spans = ?5, "
	    "complete = ?6 WHERE id = ?1",
	/* Nothing handed over, and nothing in flight: it never counted. */
	[ST_DL_IDLE] = "SELECT 1 FROM downloads WHERE id = ?1 AND "
	    "bytes_sent = 0 AND complete = 0 AND NOT " AUDIT_LIVE("?1"),
	[ST_DL_DROP] = "DELETE FROM downloads WHERE id = ?1",
	[ST_DL_DETACH] = "UPDATE responses SET download_id = NULL, "
	    "counts = 0 WHERE download_id = ?1",
	[ST_LOST_PIDS] = "SELECT DISTINCT pid FROM responses "
	    "WHERE outcome = 'started'",
	/* The window of a download cut by a death starts at the closing. */
	[ST_LOST_TOUCH] = "UPDATE downloads SET last_at = max(last_at, ?2) "
	    "WHERE id IN (SELECT download_id FROM responses WHERE "
	    "outcome = 'started' AND pid = ?1)",
	[ST_LOST_CLOSE] = "UPDATE responses SET outcome = 'aborted:lost' "
	    "WHERE outcome = 'started' AND pid = ?1",
	/* The oldest responses by id: rowids grow with time (no index). */
	[ST_PRUNE_SCAN] = "SELECT id, started_at FROM responses "
	    "ORDER BY id LIMIT ?1",
	[ST_PRUNE_DELETE] = "DELETE FROM responses WHERE id BETWEEN ?1 AND ?2 "
	    "AND outcome <> 'started'",
	/* sluicectl prune: every old response, wherever its id. */
	[ST_SWEEP_SCAN] = "SELECT id FROM responses WHERE id > ?1 AND "
	    "started_at < ?2 AND outcome <> 'started' ORDER BY id LIMIT ?3",
	[ST_SWEEP_DELETE] = "DELETE FROM responses WHERE id = ?1 AND "
	    "outcome <> 'started'",
	/* Downloads after a cursor: opened_at grows with id, last_at not. */
	[ST_DL_SCAN] = "SELECT id, opened_at, last_at, "
	    AUDIT_LIVE("downloads.id") " FROM downloads WHERE id > ?1 "
	    "ORDER BY id LIMIT ?2",
	[ST_DL_TALLY] = "INSERT INTO download_counts (job_id, pruned) "
	    "SELECT job_id, 1 FROM downloads WHERE id = ?1 ON CONFLICT "
	    "(job_id) DO UPDATE SET pruned = pruned + 1",
};

/* One connection and its statements (the leader's, or the upkeep's). */
struct audit_conn {
	sqlite3		*db;
	sqlite3_stmt	*st[ST_N];
	int		 busy_ms;	/* the busy handler's budget */
	struct timespec	 busy_start;	/* of the current lock wait */
};

/* A connection of the writer's (the leader's or the upkeep's). */
struct audit_sq {
	struct audit_conn	 db;
	pid_t			 pid;		/* recorded in each row */
	void			(*nudge)(void *);
	void			*arg;
};

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

/* One integer from a query with no parameters: 0, or -1. */
static int
audit_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return (-1);
	*v = 0;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1);
}

/*
 * Bring the database to version AUDIT_VERSION: a version 1 database (no
 * user_version, and a downloads table of responses) is migrated in place
 * by sql/state_v2.sql, in one transaction; then sql/state.sql creates
 * what is missing. A newer version is refused. Returns 0, or -1 with a
 * sentence in err.
 */
static int
audit_schema(sqlite3 *db, const char *path, int *migrated, char *err,
    size_t errsz)
{
	char	*msg = NULL;
	int64_t	 version, v1 = 0;
	int	 rc;

	if (audit_int(db, "PRAGMA user_version", &version) == -1 ||
	    (version == 0 && audit_int(db, "SELECT count(*) FROM "
	    "pragma_table_info('downloads') WHERE name = 'range_start'",
	    &v1) == -1)) {
		snprintf(err, errsz, "state database %s: %s", path,
		    sqlite3_errmsg(db));
		return (-1);
	}
	if (version > AUDIT_VERSION) {
		snprintf(err, errsz, "state database %s: version %lld is newer "
		    "than this sluice's (%d)", path, (long long)version,
		    AUDIT_VERSION);
		return (-1);
	}
	rc = SQLITE_OK;
	if (v1 > 0 && (rc = sqlite3_exec(db, sql_state_v2, NULL, NULL,
	    &msg)) != SQLITE_OK && !sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	*migrated = rc == SQLITE_OK && v1 > 0;
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql_state, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		snprintf(err, errsz, "state database %s: %s%s", path,
		    v1 > 0 ? "migrating from version 1: " : "",
		    msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return (-1);
	}
	return (0);
}

/*
 * Create the state database at path if it is missing, or migrate a
 * version 1 one in place (*migrated says so), and nothing else: rows in
 * flight stay as they are, so sluicectl init may run beside sluice.
 * Returns 0, or -1 with a sentence in err.
 */
int
audit_sqlite_migrate(const char *path, int *migrated, char *err, size_t errsz)
{
	struct audit_conn c;
	int		 rc;

	*migrated = 0;
	if (audit_conn_open(&c, path, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, 0, err, errsz) == -1)
		return (-1);
	rc = audit_schema(c.db, path, migrated, err, errsz);
	audit_conn_close(&c);
	return (rc);
}

/*
 * Startup, before any worker: create the state database if it is missing
 * (or migrate it), close as aborted:lost every response left 'started'
 * (no worker runs yet, so none of them can finish; their downloads' window
 * starts now), and truncate a WAL a previous run left. Returns 0, or -1
 * with a sentence in err.
 */
int
audit_sqlite_prepare(const char *path, char *err, size_t errsz)
{
	struct audit_conn c;
	char		*msg = NULL;
	char		 sql[256];
	int		 rc, lost, migrated;

	if (audit_conn_open(&c, path, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, 0, err, errsz) == -1)
		return (-1);
	if (audit_schema(c.db, path, &migrated, err, errsz) == -1) {
		audit_conn_close(&c);
		return (-1);
	}
	if (migrated)
		log_info("event=state_migrated path=%s from=1 to=%d", path,
		    AUDIT_VERSION);
	(void)snprintf(sql, sizeof(sql), "UPDATE downloads SET last_at = "
	    "max(last_at, %lld) WHERE id IN (SELECT download_id FROM responses "
	    "WHERE outcome = 'started')", (long long)time(NULL));
	rc = sqlite3_exec(c.db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c.db, "UPDATE responses SET outcome = "
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
		log_warnx("event=audit_lost rows=%d msg=\"responses left "
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
		sqlite3_bind_int64(c->st[ST_LOST_TOUCH], 1, dead[i]);
		sqlite3_bind_int64(c->st[ST_LOST_TOUCH], 2, (int64_t)time(NULL));
		sqlite3_bind_int64(upd, 1, dead[i]);
		if ((rc = audit_exec(c, ST_LOST_TOUCH)) == SQLITE_OK &&
		    (rc = audit_exec(c, ST_LOST_CLOSE)) == SQLITE_OK)
			closed += sqlite3_changes(c->db);
		else
			log_warnx("event=audit_error op=close_lost pid=%ld "
			    "error=\"%s\"", (long)dead[i], sqlite3_errstr(rc));
	}
	if (closed > 0)
		log_warnx("event=audit_lost rows=%d msg=\"responses of a "
		    "worker that died\"", closed);
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
 * One retention batch of responses, in one short transaction: of the
 * oldest AUDIT_PRUNE_BATCH rows, those before the first started at or
 * after `before`, except rows still 'started', are deleted. Returns the
 * rows deleted, or -1 (logged).
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
		sqlite3_bind_int64(c->st[ST_PRUNE_DELETE], 1, lo);
		sqlite3_bind_int64(c->st[ST_PRUNE_DELETE], 2, hi);
		if ((rc = audit_exec(c, ST_PRUNE_DELETE)) != SQLITE_OK) {
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

/* Delete download id, counted in download_counts; its responses stay. */
static int
audit_dl_prune_one(struct audit_conn *c, int64_t id)
{
	int	 rc;

	sqlite3_bind_int64(c->st[ST_DL_TALLY], 1, id);
	sqlite3_bind_int64(c->st[ST_DL_DETACH], 1, id);
	sqlite3_bind_int64(c->st[ST_DL_DROP], 1, id);
	if ((rc = audit_exec(c, ST_DL_TALLY)) != SQLITE_OK ||
	    (rc = audit_exec(c, ST_DL_DETACH)) != SQLITE_OK)
		return (rc);
	return (audit_exec(c, ST_DL_DROP));
}

/*
 * One retention batch of downloads, in one transaction: of up to
 * AUDIT_PRUNE_BATCH downloads after id *cursor, those whose last activity
 * is before `before` and with no response in flight are counted in
 * download_counts and deleted. With `young_stop` (the upkeep: ids grow
 * with time), the scan stops at the first opened at or after `before`.
 * Moves *cursor on, or back to the start once the scan is through.
 * Returns the downloads deleted, or -1 (logged).
 */
static int
audit_prune_downloads(struct audit_conn *c, int64_t before,
    int64_t *cursor, int young_stop)
{
	sqlite3_stmt	*scan = c->st[ST_DL_SCAN];
	int64_t		 ids[AUDIT_PRUNE_BATCH], last = *cursor;
	int		 rc, i, n = 0, seen = 0, deleted = 0, through = 0;

	if ((rc = audit_exec(c, ST_BEGIN)) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(scan, 1, *cursor);
	sqlite3_bind_int(scan, 2, AUDIT_PRUNE_BATCH);
	while ((rc = sqlite3_step(scan)) == SQLITE_ROW) {
		if (young_stop && sqlite3_column_int64(scan, 1) >= before) {
			through = 1;
			break;
		}
		last = sqlite3_column_int64(scan, 0);
		seen++;
		if (sqlite3_column_int64(scan, 2) < before &&
		    sqlite3_column_int(scan, 3) == 0)
			ids[n++] = last;
	}
	sqlite3_reset(scan);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((rc = audit_dl_prune_one(c, ids[i])) != SQLITE_OK)
			goto fail;
		deleted++;
	}
	if ((rc = audit_exec(c, ST_COMMIT)) != SQLITE_OK)
		goto fail;
	*cursor = through || seen < AUDIT_PRUNE_BATCH ? INT64_MIN : last;
	return (deleted);
fail:
	if (!sqlite3_get_autocommit(c->db))
		(void)audit_exec(c, ST_ROLLBACK);
	log_warnx("event=audit_error op=prune error=\"%s\"",
	    sqlite3_errstr(rc));
	return (-1);
}

/*
 * One batch of sluicectl's prune of responses: up to AUDIT_PRUNE_BATCH
 * rows after id *cursor started before `before` and not 'started',
 * whatever the rows around them (unlike the upkeep's batch, it does not
 * rely on ids growing with time), in one transaction. Moves *cursor on.
 * Returns the rows deleted, 0 when none are left, or -1 (logged).
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
		sqlite3_bind_int64(c->st[ST_SWEEP_DELETE], 1, ids[i]);
		if ((rc = audit_exec(c, ST_SWEEP_DELETE)) != SQLITE_OK)
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
 * sluicectl prune: delete every response started before `before` (unix
 * seconds) that is not still 'started', and every download last active
 * before it with none in flight (counted in download_counts first, so
 * max_downloads still sees it), in batches of one short transaction each.
 * Returns the rows deleted (responses and downloads), or -1 with a
 * sentence in err.
 */
int64_t
audit_sqlite_prune(const char *path, int64_t before, char *err, size_t errsz)
{
	struct audit_conn c;
	int64_t		 total = 0, cursor = INT64_MIN;
	int		 n;

	if (audit_conn_open(&c, path, SQLITE_OPEN_READWRITE, 1, err,
	    errsz) == -1)
		return (-1);
	while ((n = audit_sweep_batch(&c, before, &cursor)) != 0) {
		if (n == -1)
			goto fail;
		total += n > 0 ? n : 0;	/* -2: a batch found, none left */
		/* A batch's WAL frames go before the next batch adds more. */
		audit_checkpoint(&c);
	}
	cursor = INT64_MIN;
	do {
		if ((n = audit_prune_downloads(&c, before, &cursor, 0)) == -1)
			goto fail;
		total += n;
		audit_checkpoint(&c);
	} while (cursor != INT64_MIN);
	audit_conn_close(&c);
	return (total);
fail:
	snprintf(err, errsz, "state database %s: prune failed after %lld "
	    "rows: %s", path, (long long)total, sqlite3_errmsg(c.db));
	audit_conn_close(&c);
	return (-1);
}

/*
 * sluicectl vacuum: rewrite the database without its free pages, and
 * leave an empty WAL. Returns 0, or -1 with a sentence in err.
 */
int
audit_sqlite_vacuum(const char *path, char *err, size_t errsz)
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
 * Inside the batch: the client's newest download of the job, and whether
 * it is open (policy_download_open). *id is -1 when it has none.
 */
static int
audit_find_open(struct audit_sq *w, const struct audit_entry *e,
    int64_t *id, int *open)
{
	sqlite3_stmt	*find = w->db.st[ST_FIND];
	int		 rc;

	*id = -1;
	*open = 0;
	sqlite3_bind_text(find, 1, e->job_id, -1, SQLITE_STATIC);
	audit_bind_text(find, 2, e->remote_addr);
	audit_bind_text(find, 3, e->remote_user);
	if ((rc = sqlite3_step(find)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(find, 0);
		*open = policy_download_open(sqlite3_column_int64(find, 1),
		    sqlite3_column_int(find, 2), e->started_at, e->window);
	}
	sqlite3_reset(find);
	sqlite3_clear_bindings(find);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc);
}

/* Inside the batch: the downloads a job has opened, pruned ones too. */
static int
audit_count(struct audit_sq *w, const char *job_id, int64_t *n)
{
	sqlite3_stmt	*count = w->db.st[ST_COUNT];
	int		 rc;

	sqlite3_bind_text(count, 1, job_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(count)) == SQLITE_ROW)
		*n = sqlite3_column_int64(count, 0);
	sqlite3_reset(count);
	return (rc == SQLITE_ROW ? SQLITE_OK : rc);
}

/* Inside the batch: a new download of e's client, its first response. */
static int
audit_open_download(struct audit_sq *w, const struct audit_entry *e,
    int64_t *id)
{
	sqlite3_stmt	*open = w->db.st[ST_OPEN];
	int		 rc;

	audit_bind_text(open, 1, e->job_id);
	audit_bind_text(open, 2, e->remote_addr);
	audit_bind_text(open, 3, e->remote_user);
	sqlite3_bind_int64(open, 4, e->started_at);
	sqlite3_bind_int64(open, 5, e->file_size);
	if ((rc = audit_exec(&w->db, ST_OPEN)) == SQLITE_OK)
		*id = sqlite3_last_insert_rowid(w->db.db);
	return (rc);
}

/* Inside the batch: the response's row, in download t->download. */
static int
audit_insert_response(struct audit_sq *w, const struct audit_entry *e,
    struct audit_ticket *t)
{
	sqlite3_stmt	*ins = w->db.st[ST_INSERT];
	int		 rc;

	sqlite3_bind_int64(ins, 1, t->download);
	audit_bind_text(ins, 2, e->job_id);
	sqlite3_bind_int64(ins, 3, e->started_at);
	audit_bind_text(ins, 4, e->remote_addr);
	audit_bind_text(ins, 5, e->remote_user);
	sqlite3_bind_int64(ins, 6, e->range_start);
	sqlite3_bind_int64(ins, 7, e->range_end);
	sqlite3_bind_int(ins, 8, e->status);
	sqlite3_bind_int(ins, 9, t->opened);
	sqlite3_bind_int64(ins, 10, (int64_t)w->pid);
	if ((rc = audit_exec(&w->db, ST_INSERT)) == SQLITE_OK)
		t->response = sqlite3_last_insert_rowid(w->db.db);
	return (rc);
}

/*
 * Inside the batch: the start of one response. Join the client's open
 * download of the job, or open one if the job's limit allows (counting
 * this transaction's own rows, so the limit holds within a batch as
 * across processes), then insert the response. Sets r->res and r->ticket.
 * Returns SQLITE_OK (also for AUDIT_LIMIT), or the failing code.
 */
static int
audit_rec_begin(struct audit_sq *w, struct audit_record *r)
{
	const struct audit_entry *e = r->entry;
	struct audit_ticket *t = &r->ticket;
	int64_t		 opened = 0;
	int		 rc, open;

	t->response = t->download = -1;
	t->opened = 0;
	if ((rc = audit_find_open(w, e, &t->download, &open)) != SQLITE_OK)
		return (rc);
	if (!open && e->max_downloads >= 0 &&
	    (rc = audit_count(w, e->job_id, &opened)) != SQLITE_OK)
		return (rc);
	switch (policy_download(open, e->max_downloads, opened)) {
	case POLICY_LIMIT:
		t->download = -1;
		r->res = AUDIT_LIMIT;
		return (SQLITE_OK);
	case POLICY_JOIN:
		sqlite3_bind_int64(w->db.st[ST_JOIN], 1, t->download);
		rc = audit_exec(&w->db, ST_JOIN);
		break;
	case POLICY_OPEN:
		t->opened = 1;
		rc = audit_open_download(w, e, &t->download);
		break;
	}
	if (rc != SQLITE_OK ||
	    (rc = audit_insert_response(w, e, t)) != SQLITE_OK)
		return (rc);
	r->res = t->opened ? AUDIT_OPENED : AUDIT_JOINED;
	return (SQLITE_OK);
}

/*
 * Inside the batch: a download that has handed nothing to the web server
 * and has nothing in flight never counted: it goes, and its responses
 * belong to no download.
 */
static int
audit_drop_idle(struct audit_sq *w, int64_t id)
{
	sqlite3_stmt	*idle = w->db.st[ST_DL_IDLE];
	int		 rc;

	sqlite3_bind_int64(idle, 1, id);
	rc = sqlite3_step(idle);
	sqlite3_reset(idle);
	if (rc == SQLITE_DONE)
		return (SQLITE_OK);
	if (rc != SQLITE_ROW)
		return (rc);
	sqlite3_bind_int64(w->db.st[ST_DL_DETACH], 1, id);
	sqlite3_bind_int64(w->db.st[ST_DL_DROP], 1, id);
	if ((rc = audit_exec(&w->db, ST_DL_DETACH)) != SQLITE_OK)
		return (rc);
	return (audit_exec(&w->db, ST_DL_DROP));
}

/*
 * Inside the batch: add what a response handed over to its download: the
 * bytes, the range covered (merged into spans), whether every byte of
 * the file is now covered, and its last activity.
 */
static int
audit_cover(struct audit_sq *w, int64_t id, const struct audit_final *f)
{
	sqlite3_stmt	*get = w->db.st[ST_DL_GET], *set = w->db.st[ST_DL_SET];
	struct spans	 sp;
	char		 text[SPANS_TEXT_SIZE];
	int64_t		 size;
	int		 rc, complete;

	sqlite3_bind_int64(get, 1, id);
	if ((rc = sqlite3_step(get)) != SQLITE_ROW) {
		sqlite3_reset(get);
		return (rc == SQLITE_DONE ? SQLITE_OK : rc);	/* gone */
	}
	size = sqlite3_column_int64(get, 0);
	if (spans_parse((const char *)sqlite3_column_text(get, 1), &sp) == -1)
		log_warnx("event=audit_error op=end download=%lld "
		    "msg=\"unreadable spans: coverage starts over\"",
		    (long long)id);
	complete = sqlite3_column_int(get, 2);
	sqlite3_reset(get);
	if (f->handed > 0)
		spans_add(&sp, f->handed_first, f->handed_first + f->handed - 1);
	if (size >= 0 && (size > 0 ? spans_covered(&sp) >= size : f->whole))
		complete = 1;
	if (spans_format(&sp, text, sizeof(text)) == -1)
		text[0] = '\0';
	sqlite3_bind_int64(set, 1, id);
	sqlite3_bind_int64(set, 2, f->ended_at);
	sqlite3_bind_int64(set, 3, f->handed);
	sqlite3_bind_int64(set, 4, spans_covered(&sp));
	sqlite3_bind_text(set, 5, text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(set, 6, complete);
	return (audit_exec(&w->db, ST_DL_SET));
}

/* Inside the batch: a response ends; then its download. */
static int
audit_rec_end(struct audit_sq *w, struct audit_record *r)
{
	sqlite3_stmt	*f = w->db.st[ST_FINISH];
	int		 rc;

	sqlite3_bind_int64(f, 1, r->ticket.response);
	sqlite3_bind_int(f, 2, r->fin.status);
	sqlite3_bind_int64(f, 3, r->fin.range_start);
	sqlite3_bind_int64(f, 4, r->fin.range_end);
	sqlite3_bind_int64(f, 5, r->fin.bytes);
	sqlite3_bind_int64(f, 6, r->fin.duration_ms);
	sqlite3_bind_text(f, 7, r->fin.outcome, -1, SQLITE_STATIC);
	if ((rc = audit_exec(&w->db, ST_FINISH)) != SQLITE_OK ||
	    r->ticket.download < 0)
		return (rc);
	if ((rc = audit_cover(w, r->ticket.download, &r->fin)) != SQLITE_OK)
		return (rc);
	return (audit_drop_idle(w, r->ticket.download));
}

/* Inside the batch: a withdrawn response goes, and its part in its
 * download (a download it opened goes, unless another joined it). */
static int
audit_rec_cancel(struct audit_sq *w, struct audit_record *r)
{
	int	 rc;

	sqlite3_bind_int64(w->db.st[ST_CANCEL], 1, r->ticket.response);
	if ((rc = audit_exec(&w->db, ST_CANCEL)) != SQLITE_OK ||
	    r->ticket.download < 0)
		return (rc);
	sqlite3_bind_int64(w->db.st[ST_UNJOIN], 1, r->ticket.download);
	if ((rc = audit_exec(&w->db, ST_UNJOIN)) != SQLITE_OK)
		return (rc);
	return (audit_drop_idle(w, r->ticket.download));
}

static int
audit_rec_apply(struct audit_sq *w, struct audit_record *r)
{
	if (r->kind == AUDIT_REC_BEGIN)
		return (audit_rec_begin(w, r));
	if (r->kind == AUDIT_REC_CANCEL)
		return (audit_rec_cancel(w, r));
	return (audit_rec_end(w, r));
}

/*
 * Is rc the database's trouble (full, locked, busy, failing I/O) rather
 * than the record's? Then the record will go through once it is over.
 */
static int
audit_transient(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_NOMEM:
	case SQLITE_PROTOCOL:
	case SQLITE_READONLY:
		return (1);
	default:
		return (0);
	}
}

/*
 * The leader: one transaction for the n records of a batch, in queue
 * order, each inside its own savepoint: a record that fails is rolled back
 * alone and marked failed. If the transaction itself fails (the lock, the
 * commit, or a failure that ends it), every record is marked failed.
 */
static void
audit_commit(struct audit_sq *w, struct audit_record *b, size_t n)
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
		b[i].transient = audit_transient(rc);
		audit_rec_log(&b[i], "record", n, sqlite3_errstr(rc));
		if ((rc = audit_exec(a, ST_ROLLBACK_TO)) != SQLITE_OK ||
		    (rc = audit_exec(a, ST_RELEASE)) != SQLITE_OK)
			goto fail;
	}
	if ((rc = audit_exec(a, ST_COMMIT)) == SQLITE_OK) {
		metrics_audit_batch(1);
		return;
	}
fail:
	metrics_audit_batch(0);
	if (!sqlite3_get_autocommit(a->db))
		(void)audit_exec(a, ST_ROLLBACK);
	for (i = 0; i < n; i++) {
		if (!b[i].failed) {
			audit_rec_log(&b[i], "batch", n, sqlite3_errstr(rc));
			b[i].transient = audit_transient(rc);
		}
		b[i].failed = 1;
	}
}

/* After each commit on the leader's connection: is the WAL long? */
static int
audit_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct audit_sq *w = arg;

	(void)db;
	(void)name;
	if (frames >= AUDIT_CHECKPOINT_FRAMES && w->nudge != NULL)
		w->nudge(w->arg);
	return (SQLITE_OK);
}

static void *
audit_sq_open(const char *path, int busy_ms, void (*nudge)(void *),
    void *arg, char *err, size_t errsz)
{
	struct audit_sq	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errsz, "audit writer: %s", strerror(errno));
		return (NULL);
	}
	if (audit_conn_open(&w->db, path, SQLITE_OPEN_READWRITE, 1, err,
	    errsz) == -1) {
		free(w);
		return (NULL);
	}
	if (busy_ms > 0)
		w->db.busy_ms = busy_ms;
	w->nudge = nudge;
	w->arg = arg;
	if (nudge != NULL)
		sqlite3_wal_hook(w->db.db, audit_wal_hook, w);
	return (w);
}

static void
audit_sq_close(void *p)
{
	struct audit_sq	*w = p;

	if (w == NULL)
		return;
	audit_conn_close(&w->db);
	free(w);
}

static void
audit_sq_commit(void *p, pid_t pid, struct audit_record *b, size_t n)
{
	struct audit_sq	*w = p;

	w->pid = pid;
	audit_commit(w, b, n);
}

static void
audit_sq_checkpoint(void *p)
{
	audit_checkpoint(&((struct audit_sq *)p)->db);
}

static int
audit_sq_close_lost(void *p, pid_t self)
{
	return (audit_close_lost(&((struct audit_sq *)p)->db, self));
}

static int
audit_sq_prune_batch(void *p, int64_t before)
{
	return (audit_prune_batch(&((struct audit_sq *)p)->db, before));
}

static int
audit_sq_prune_downloads(void *p, int64_t before, int64_t *cursor,
    int young_stop)
{
	return (audit_prune_downloads(&((struct audit_sq *)p)->db, before,
	    cursor, young_stop));
}

const struct audit_ops audit_sqlite_ops = {
	audit_sq_open, audit_sq_close, audit_sq_commit, audit_sq_checkpoint,
	audit_sq_close_lost, audit_sq_prune_batch, audit_sq_prune_downloads
};
