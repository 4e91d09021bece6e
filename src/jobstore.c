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

#include "http_hdr.h"
#include "job.h"
#include "jobstore.h"
#include "log.h"
#include "text.h"

static const char jobstore_sql[] =
    "SELECT status, file_path, file_name, content_type, file_size, sha256, "
    "owner, token_sha256, expires_at, max_downloads "
    "FROM export_jobs WHERE id = ?1";

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

/*
 * Copy a TEXT column into dst[0..size). A NULL leaves *has = 0. A value
 * that does not fit, or holds a NUL, marks the job unservable (bad_field)
 * rather than being cut.
 */
static void
jobstore_text(struct job *job, sqlite3_stmt *st, int col, const char *name,
    char *dst, size_t size, unsigned char *has)
{
	const unsigned char	*v;
	int			 len;

	dst[0] = '\0';
	*has = 0;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return;
	v = sqlite3_column_text(st, col);
	len = sqlite3_column_bytes(st, col);
	if (v == NULL || len < 0 || (size_t)len >= size ||
	    memchr(v, '\0', (size_t)len) != NULL) {
		if (job->bad_field == NULL)
			job->bad_field = name;
		*has = 1;	/* present but unusable: never matches */
		return;
	}
	memcpy(dst, v, (size_t)len);
	dst[len] = '\0';
	*has = 1;
}

/*
 * The file_name column: any length, cut to fit (text_name_shorten: at a
 * character boundary, keeping the extension) rather than refused; the
 * header form is cut shorter still. Only a NUL in it is bad_field.
 */
static void
jobstore_name(struct job *job, sqlite3_stmt *st, int col)
{
	const char	*v;
	int		 len;

	job->file_name[0] = '\0';
	job->has_file_name = 0;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return;
	v = (const char *)sqlite3_column_text(st, col);
	len = sqlite3_column_bytes(st, col);
	job->has_file_name = 1;
	if (v == NULL || len < 0 || memchr(v, '\0', (size_t)len) != NULL) {
		if (job->bad_field == NULL)
			job->bad_field = "file_name";
		return;
	}
	if ((size_t)len < sizeof(job->file_name)) {
		memcpy(job->file_name, v, (size_t)len);
		job->file_name[len] = '\0';
	} else
		(void)text_name_shorten(job->file_name,
		    sizeof(job->file_name), v, (size_t)len, TEXT_EXT_MAX);
}

/*
 * Copy an INTEGER column; anything but an integer or NULL (a REAL, a
 * TEXT: SQLite keeps what does not convert) is bad_field, and counts as
 * absent, so that no check judges by it first (an expires_at of 'soon'
 * must be a bad row, 500, not "expired").
 */
static void
jobstore_int(struct job *job, sqlite3_stmt *st, int col, const char *name,
    int64_t *dst, unsigned char *has)
{
	*dst = 0;
	*has = 0;
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		return;
	case SQLITE_INTEGER:
		*dst = sqlite3_column_int64(st, col);
		*has = 1;
		return;
	default:
		if (job->bad_field == NULL)
			job->bad_field = name;
		return;
	}
}

/*
 * The content type: NULL or empty is the default (the plan's
 * application/octet-stream); one that breaks the rule both binaries
 * share (http_content_type_ok) is dropped for the default too, with a
 * warning, rather than failing the user's download.
 */
static void
jobstore_type(struct job *job, sqlite3_stmt *st, int col)
{
	char		 q[LOG_VALUE_MAX * 4 + 8];
	const char	*v;

	job->content_type[0] = '\0';
	job->has_content_type = 0;
	if (sqlite3_column_type(st, col) == SQLITE_NULL ||
	    (v = (const char *)sqlite3_column_text(st, col)) == NULL ||
	    *v == '\0')
		return;
	if (!http_content_type_ok(v) ||
	    sqlite3_column_bytes(st, col) != (int)strlen(v)) {
		log_warnx("event=bad_value field=content_type id=%s value=%s "
		    "served=application/octet-stream", job->id,
		    log_quote(q, sizeof(q), v));
		return;
	}
	memcpy(job->content_type, v, strlen(v) + 1);
	job->has_content_type = 1;
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
	char			 status[16];
	unsigned char		 has_status;
	int			 rc;

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
	jobstore_text(job, js->find, 0, "status", status, sizeof(status),
	    &has_status);
	job->status = has_status ? job_status_parse(status) : JOB_UNKNOWN;
	jobstore_text(job, js->find, 1, "file_path", job->file_path,
	    sizeof(job->file_path), &job->has_file_path);
	jobstore_name(job, js->find, 2);
	jobstore_type(job, js->find, 3);
	jobstore_int(job, js->find, 4, "file_size", &job->file_size,
	    &job->has_file_size);
	jobstore_text(job, js->find, 5, "sha256", job->sha256,
	    sizeof(job->sha256), &job->has_sha256);
	jobstore_text(job, js->find, 6, "owner", job->owner,
	    sizeof(job->owner), &job->has_owner);
	jobstore_text(job, js->find, 7, "token_sha256", job->token_sha256,
	    sizeof(job->token_sha256), &job->has_token);
	jobstore_int(job, js->find, 8, "expires_at", &job->expires_at,
	    &job->has_expires);
	jobstore_int(job, js->find, 9, "max_downloads", &job->max_downloads,
	    &job->has_max_downloads);

	/* Values the headers and checks rely on, checked once, here. */
	if (job->has_sha256 && (strlen(job->sha256) != JOB_HASH_HEX ||
	    !text_hex_valid(job->sha256, JOB_HASH_HEX)) && !job->bad_field)
		job->bad_field = "sha256";
	if (job->has_token && (strlen(job->token_sha256) != JOB_HASH_HEX ||
	    !text_hex_valid(job->token_sha256, JOB_HASH_HEX)) &&
	    !job->bad_field)
		job->bad_field = "token_sha256";
	if (job->has_file_size && job->file_size < 0 && !job->bad_field)
		job->bad_field = "file_size";
	res = JOBSTORE_FOUND;
done:
	sqlite3_reset(js->find);
	sqlite3_clear_bindings(js->find);
	return (res);
}
