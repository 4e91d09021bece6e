/*
 * jobstore: the one SELECT sluice runs against the exporter's database.
 *
 * Workload: one indexed point lookup per request, many threads each with
 * their own read-only connection. The exporter writes concurrently, so
 * lookups wait up to JOBSTORE_BUSY_MS on a lock and then report BUSY (503).
 * The statement is reset on every exit, found or not, so the WAL can be
 * checkpointed while files stream. A database replaced on disk (mv of a
 * regenerated file, a restored backup) is noticed by its inode
 * (reopen.c) and reopened before the next lookup.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "job.h"
#include "job_row.h"
#include "jobstore.h"
#include "log.h"
#include "store.h"

static const char jobstore_sql[] =
    "SELECT " JOB_ROW_COLUMNS " FROM export_jobs WHERE id = ?1";

/* One "db_reopened" line per process and new file, not one per thread. */
static _Atomic uint64_t jobstore_logged;
static _Atomic int64_t jobstore_failed;	/* the second last logged */

/*
 * Open path read-only and prepare the lookup; js keeps a copy of path, to
 * notice a replaced file. Fails, with a sentence for
 * the operator in err, when the file is missing, is not a database, or has
 * no export_jobs table with the contract's columns. On failure nothing is
 * left open. Returns 0 or -1.
 */
int
jobstore_open(struct jobstore *js, const char *path, char *err, size_t errsz)
{
	struct stat	 st;
	int		 rc;

	if (store_is_pg(path))
		return (jobstore_pg_open(js, path, err, errsz));
	js->pg = 0;
	js->conn = NULL;
	js->db = NULL;
	js->find = NULL;
	if (snprintf(js->path, sizeof(js->path), "%s", path) >=
	    (int)sizeof(js->path))
		js->path[0] = '\0';
	/* SQLite would report a missing file as "unable to open". */
	if (stat(path, &st) == -1) {
		snprintf(err, errsz, "jobs database %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	reopen_id_set(&js->id, &st);
	rc = sqlite3_open_v2(path, &js->db,
	    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errsz, "jobs database %s: %s", path,
		    js->db != NULL ? sqlite3_errmsg(js->db) :
		    sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(js->db, 1);
	if (sqlite3_busy_timeout(js->db, JOBSTORE_BUSY_MS) != SQLITE_OK ||
	    sqlite3_exec(js->db, "PRAGMA query_only = 1", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errsz, "jobs database %s: %s", path,
		    sqlite3_errmsg(js->db));
		goto fail;
	}
	rc = sqlite3_prepare_v3(js->db, jobstore_sql, -1,
	    SQLITE_PREPARE_PERSISTENT, &js->find, NULL);
	if (rc != SQLITE_OK) {
		const char *msg = sqlite3_errmsg(js->db);

		if (strstr(msg, "no such table") != NULL)
			snprintf(err, errsz, "jobs database %s has no "
			    "export_jobs table (create it from sql/schema.sql)",
			    path);
		else
			snprintf(err, errsz, "jobs database %s: %s", path, msg);
		goto fail;
	}
	return (0);
fail:
	jobstore_close(js);
	return (-1);
}

void
jobstore_close(struct jobstore *js)
{
	if (js->pg) {
		jobstore_pg_close(js);
		return;
	}
	sqlite3_finalize(js->find);
	js->find = NULL;
	sqlite3_close(js->db);
	js->db = NULL;
}

/*
 * Before a lookup: if the database's path now names another file, open
 * that one and drop ours; if it cannot be opened (yet), keep ours. Either
 * way is logged: a reopen once per process and file, a failure at most
 * once a second per process.
 */
static void
jobstore_recheck(struct jobstore *js)
{
	struct jobstore	 fresh;
	char		 err[512];

	if (js->path[0] == '\0' || !reopen_changed(&js->id, js->path))
		return;
	if (jobstore_open(&fresh, js->path, err, sizeof(err)) == -1) {
		reopen_log_failed(&jobstore_failed, "db_reopen_failed", err);
		return;
	}
	jobstore_close(js);
	/* The same path: only the connection, statement and id move. */
	js->db = fresh.db;
	js->find = fresh.find;
	js->id = fresh.id;
	reopen_log_once(&jobstore_logged, &js->id, "db_reopened", js->path);
}

/* Column col of the current row as a cell (job_row.h). */
static void
jobstore_cell(sqlite3_stmt *st, int col, struct job_cell *c)
{
	int	 len;

	c->i = 0;
	c->v = NULL;
	c->len = 0;
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		c->kind = JOB_CELL_NULL;
		return;
	case SQLITE_INTEGER:
		c->kind = JOB_CELL_INT;
		c->i = sqlite3_column_int64(st, col);
		break;
	case SQLITE_TEXT:
		c->kind = JOB_CELL_TEXT;
		break;
	default:
		c->kind = JOB_CELL_OTHER;
		break;
	}
	c->v = (const char *)sqlite3_column_text(st, col);
	len = sqlite3_column_bytes(st, col);
	c->len = len > 0 ? (size_t)len : 0;
}

/*
 * Look up id and copy the row into *job. Values that cannot be used as they
 * are leave job->bad_field set (the policy answers 500 for those). Logs
 * database errors. The statement is reset before returning, whatever the
 * outcome.
 */
enum jobstore_result
jobstore_find(struct jobstore *js, const char *id, struct job *job)
{
	enum jobstore_result	 res = JOBSTORE_ERROR;
	struct job_cell		 cell[JOB_ROW_NCOLS];
	int			 i, rc;

	if (js->pg)
		return (jobstore_pg_find(js, id, job));
	memset(job, 0, sizeof(*job));
	jobstore_recheck(js);
	if (snprintf(job->id, sizeof(job->id), "%s", id) >=
	    (int)sizeof(job->id))
		return (JOBSTORE_NOT_FOUND);
	rc = sqlite3_bind_text(js->find, 1, id, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		log_warnx("event=db_error op=bind error=\"%s\"",
		    sqlite3_errstr(rc));
		goto done;
	}
	rc = sqlite3_step(js->find);
	if (rc == SQLITE_DONE) {
		res = JOBSTORE_NOT_FOUND;
		goto done;
	}
	if (rc != SQLITE_ROW) {
		if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
			res = JOBSTORE_BUSY;
		log_warnx("event=db_error op=lookup id=%s error=\"%s\"", id,
		    sqlite3_errmsg(js->db));
		goto done;
	}
	for (i = 0; i < JOB_ROW_NCOLS; i++)
		jobstore_cell(js->find, i, &cell[i]);
	job_row_fill(job, cell);
	res = JOBSTORE_FOUND;
done:
	sqlite3_reset(js->find);
	sqlite3_clear_bindings(js->find);
	return (res);
}
