/*
 * ctl_db: sluicectl's SQLite plumbing. Both databases are opened with a
 * busy timeout, because the exporter and the sluice workers write them
 * concurrently; every call's result is checked and reported once, as one
 * line naming the database file.
 *
 * Workload: an operator's command, a few statements at a time. Nothing is
 * cached: each command opens, works and closes.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "ctl_db.h"
#include "ctl_out.h"

/* "sluicectl: <file>: <what>: <SQLite's message>" */
void
ctl_db_errx(sqlite3 *db, const char *what)
{
	const char *file = sqlite3_db_filename(db, "main");

	ctl_errx("%s: %s: %s", file != NULL && *file != '\0' ? file :
	    "database", what, sqlite3_errmsg(db));
}

/*
 * Open path. CTL_DB_EXISTING refuses a missing file with a hint to run
 * `sluicectl init` (SQLite would otherwise create an empty one); the file
 * is opened read-write, or read-only when the OS refuses writes. On
 * success *dbp has a busy timeout of CTL_DB_BUSY_MS. Returns 0, or -1
 * after reporting, with nothing left open.
 */
int
ctl_db_open(const char *path, enum ctl_db_mode mode, sqlite3 **dbp)
{
	struct stat	 st;
	sqlite3		*db = NULL;
	int		 flags = SQLITE_OPEN_READWRITE, rc;

	*dbp = NULL;
	if (mode == CTL_DB_EXISTING) {
		if (stat(path, &st) == -1) {
			if (errno == ENOENT)
				ctl_errx("%s: no such database (run "
				    "`sluicectl init`)", path);
			else
				ctl_err("%s", path);
			return (-1);
		}
		if (!S_ISREG(st.st_mode)) {
			ctl_errx("%s: not a regular file", path);
			return (-1);
		}
	} else
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		ctl_errx("%s: cannot open: %s", path, db != NULL ?
		    sqlite3_errmsg(db) : sqlite3_errstr(rc));
		if (db != NULL)
			sqlite3_close(db);
		return (-1);
	}
	if ((rc = sqlite3_busy_timeout(db, CTL_DB_BUSY_MS)) != SQLITE_OK ||
	    (rc = sqlite3_extended_result_codes(db, 1)) != SQLITE_OK) {
		ctl_errx("%s: %s", path, sqlite3_errstr(rc));
		sqlite3_close(db);
		return (-1);
	}
	*dbp = db;
	return (0);
}

/*
 * Close db. Every statement must have been finalized: a refusal means a
 * bug here, and is reported.
 */
void
ctl_db_close(sqlite3 *db)
{
	if (db == NULL)
		return;
	if (sqlite3_close(db) != SQLITE_OK)
		ctl_db_errx(db, "close");
}

/* Run a script of statements. Returns 0, or -1 after reporting. */
int
ctl_db_exec(sqlite3 *db, const char *sql)
{
	char	*msg = NULL;
	int	 rc;

	if ((rc = sqlite3_exec(db, sql, NULL, NULL, &msg)) != SQLITE_OK) {
		const char *file = sqlite3_db_filename(db, "main");

		ctl_errx("%s: %s", file != NULL && *file != '\0' ? file :
		    "database", msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return (-1);
	}
	return (0);
}

/* Prepare one statement. Returns 0, or -1 after reporting. */
int
ctl_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	*st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
		ctl_db_errx(db, "prepare");
		*st = NULL;
		return (-1);
	}
	return (0);
}

/*
 * Finalize st (NULL is fine). Its return code only repeats the error of
 * the last step, which was reported where it happened.
 */
void
ctl_db_finalize(sqlite3_stmt *st)
{
	(void)sqlite3_finalize(st);
}

/* Column col as text, or NULL for SQL NULL. Valid until the next step. */
const char *
ctl_db_text(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return (NULL);
	return ((const char *)sqlite3_column_text(st, col));
}

/* Returns 1 with *v set when column col holds an INTEGER, else 0. */
int
ctl_db_int(sqlite3_stmt *st, int col, int64_t *v)
{
	if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
		return (0);
	*v = sqlite3_column_int64(st, col);
	return (1);
}

/* Column col as a JSON value of its storage class; a BLOB as hex. */
void
ctl_db_json_value(FILE *fp, sqlite3_stmt *st, int col)
{
	const unsigned char *b;
	double	 d;
	int	 i, n;

	switch (sqlite3_column_type(st, col)) {
	case SQLITE_INTEGER:
		fprintf(fp, "%" PRId64, (int64_t)sqlite3_column_int64(st, col));
		break;
	case SQLITE_FLOAT:
		d = sqlite3_column_double(st, col);
		if (isfinite(d))
			fprintf(fp, "%.17g", d);
		else
			fputs("null", fp);	/* JSON has no infinity */
		break;
	case SQLITE_TEXT:
		ctl_json_string(fp, (const char *)sqlite3_column_text(st, col));
		break;
	case SQLITE_BLOB:
		b = sqlite3_column_blob(st, col);
		n = sqlite3_column_bytes(st, col);
		fputc('"', fp);
		for (i = 0; i < n; i++)
			fprintf(fp, "%02x", b[i]);
		fputc('"', fp);
		break;
	default:
		fputs("null", fp);
		break;
	}
}

/* The current row as one JSON object, keyed by the column names. */
void
ctl_db_json_object(FILE *fp, sqlite3_stmt *st)
{
	int	 i, n = sqlite3_column_count(st), first = 1;

	fputc('{', fp);
	for (i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);

		ctl_json_key(fp, name != NULL ? name : "?", &first);
		ctl_db_json_value(fp, st, i);
	}
	fputc('}', fp);
}

/*
 * Roll back the open transaction, if any, on an error path. Returns 0, or
 * -1 after reporting.
 */
int
ctl_db_rollback(sqlite3 *db)
{
	if (db == NULL || sqlite3_get_autocommit(db))
		return (0);
	return (ctl_db_exec(db, "ROLLBACK"));
}
