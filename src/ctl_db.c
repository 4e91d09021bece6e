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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "ctl_db.h"
#include "ctl_out.h"
#include "ctl_rows.h"

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

/* Copy column col of st's current row into v. Returns 0, or -1 (memory). */
static int
ctl_db_val(sqlite3_stmt *st, int col, struct ctl_val *v)
{
	const void	*p;
	int		 type = sqlite3_column_type(st, col);

	if (type == SQLITE_NULL)
		return (ctl_val_set(v, CTL_VAL_NULL, NULL, 0));
	if (type == SQLITE_BLOB) {
		p = sqlite3_column_blob(st, col);
		return (ctl_val_set(v, CTL_VAL_BLOB, p,
		    (size_t)sqlite3_column_bytes(st, col)));
	}
	if (type == SQLITE_INTEGER)
		v->i = sqlite3_column_int64(st, col);
	else if (type == SQLITE_FLOAT)
		v->d = sqlite3_column_double(st, col);
	/* The text form (as ctl_db_text has it), read after the number. */
	if ((p = sqlite3_column_text(st, col)) == NULL)
		return (-1);
	return (ctl_val_set(v, type == SQLITE_INTEGER ? CTL_VAL_INT :
	    type == SQLITE_FLOAT ? CTL_VAL_FLOAT : CTL_VAL_TEXT, p,
	    (size_t)sqlite3_column_bytes(st, col)));
}

/*
 * Step st to the end, copying every row into rows (initialised here with
 * st's column names; the caller frees it, also on failure). Returns 0, or
 * -1 after one line that names what.
 */
int
ctl_db_rows(sqlite3 *db, sqlite3_stmt *st, struct ctl_rows *rows,
    const char *what)
{
	const char	**names;
	struct ctl_val	*v;
	int		 i, n = sqlite3_column_count(st), r;

	memset(rows, 0, sizeof(*rows));
	if (n <= 0 || (names = calloc((size_t)n, sizeof(*names))) == NULL)
		goto oom;
	for (i = 0; i < n; i++)
		names[i] = sqlite3_column_name(st, i);
	r = ctl_rows_init(rows, (size_t)n, names);
	free(names);
	if (r == -1)
		goto oom;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((v = ctl_rows_add(rows)) == NULL)
			goto oom;
		for (i = 0; i < n; i++)
			if (ctl_db_val(st, i, &v[i]) == -1)
				goto oom;
	}
	if (r != SQLITE_DONE) {
		ctl_db_errx(db, what);
		return (-1);
	}
	return (0);
oom:
	errno = ENOMEM;
	ctl_err("%s", what);
	return (-1);
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
