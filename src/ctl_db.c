/*
 * ctl_db: sluicectl's databases behind one interface. This file is the
 * interface and its SQLite half (a store module: it includes
 * <sqlite3.h>); ctl_db_pg.c is the PostgreSQL half. Each call goes to
 * the half the database was opened with.
 *
 * SQLite databases are opened with a busy timeout, PostgreSQL ones with
 * a lock timeout of the same length, because the exporter and the sluice
 * workers write them concurrently; every call's result is checked and
 * reported once, as one line naming the database.
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
#include "ctl_db_pg.h"
#include "ctl_out.h"
#include "ctl_rows.h"
#include "store.h"

/* One database: either half is set. */
struct ctl_db {
	sqlite3		*lite;
	struct ctl_pg	*pg;
	char		 name[CTL_DB_NAME_SIZE];	/* for messages */
};

struct ctl_stmt {
	struct ctl_db	*db;
	sqlite3_stmt	*lite;
	struct ctl_pg_stmt *pg;
};

/* spec as it may be printed: a path as it is, a PostgreSQL one without
 * its password. */
const char *
ctl_db_describe(const char *spec, char *buf, size_t size)
{
	if (!store_is_pg(spec))
		return (spec);
	return (store_describe(spec, buf, size));
}

const char *
ctl_db_name(const struct ctl_db *db)
{
	return (db->name);
}

int
ctl_db_is_pg(const struct ctl_db *db)
{
	return (db->pg != NULL);
}

/*
 * "sluicectl: <database>: <what>: <its message>"; for a PostgreSQL table
 * that does not exist, with the hint to run `sluicectl init`.
 */
void
ctl_db_errx(struct ctl_db *db, const char *what)
{
	const char *file;

	if (db->pg != NULL) {
		ctl_errx("%s: %s: %s%s", db->name, what, ctl_pg_error(db->pg),
		    ctl_pg_undefined(db->pg) ? " (run `sluicectl init`)" : "");
		return;
	}
	file = sqlite3_db_filename(db->lite, "main");
	ctl_errx("%s: %s: %s", file != NULL && *file != '\0' ? file :
	    db->name, what, sqlite3_errmsg(db->lite));
}

/* Was the last failure a lock held past the timeout (try again)? */
int
ctl_db_transient(struct ctl_db *db)
{
	int	 e;

	if (db->pg != NULL)
		return (ctl_pg_transient(db->pg));
	e = sqlite3_errcode(db->lite) & 0xff;
	return (e == SQLITE_BUSY || e == SQLITE_LOCKED);
}

/*
 * Open a SQLite file. CTL_DB_EXISTING refuses a missing file with a hint
 * to run `sluicectl init` (SQLite would otherwise create an empty one);
 * the file is opened read-write, or read-only when the OS refuses writes.
 * Returns 0, or -1 after reporting.
 */
static int
ctl_db_open_lite(struct ctl_db *db, const char *path, enum ctl_db_mode mode)
{
	struct stat	 st;
	int		 flags = SQLITE_OPEN_READWRITE, rc;

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
	rc = sqlite3_open_v2(path, &db->lite, flags, NULL);
	if (rc != SQLITE_OK) {
		ctl_errx("%s: cannot open: %s", path, db->lite != NULL ?
		    sqlite3_errmsg(db->lite) : sqlite3_errstr(rc));
		return (-1);
	}
	if ((rc = sqlite3_busy_timeout(db->lite, CTL_DB_BUSY_MS)) !=
	    SQLITE_OK ||
	    (rc = sqlite3_extended_result_codes(db->lite, 1)) != SQLITE_OK) {
		ctl_errx("%s: %s", path, sqlite3_errstr(rc));
		return (-1);
	}
	return (0);
}

/*
 * Open the database spec names. A PostgreSQL database must exist (init
 * creates tables, not databases) and its server answer; it gets a lock
 * timeout of CTL_DB_BUSY_MS. Returns 0 with *dbp set (the caller closes
 * it), or -1 after one line, with nothing left open.
 */
int
ctl_db_open(const char *spec, enum ctl_db_mode mode, struct ctl_db **dbp)
{
	struct ctl_db	*db;
	char		 err[1024];
	int		 n;

	*dbp = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		ctl_err("%s", store_is_pg(spec) ? "PostgreSQL" : spec);
		return (-1);
	}
	if (store_is_pg(spec)) {
		(void)store_describe(spec, db->name, sizeof(db->name));
		if ((db->pg = ctl_pg_open(spec, CTL_DB_BUSY_MS, err,
		    sizeof(err))) == NULL) {
			ctl_errx("%s", err);
			free(db);
			return (-1);
		}
		*dbp = db;
		return (0);
	}
	n = snprintf(db->name, sizeof(db->name), "%s", spec);
	if (n < 0 || (size_t)n >= sizeof(db->name)) {
		ctl_errx("%.64s...: the path is too long", spec);
		free(db);
		return (-1);
	}
	if (ctl_db_open_lite(db, spec, mode) == -1) {
		ctl_db_close(db);
		return (-1);
	}
	*dbp = db;
	return (0);
}

/*
 * Close db (NULL is fine). Every statement must have been finalized: a
 * refusal means a bug here, and is reported.
 */
void
ctl_db_close(struct ctl_db *db)
{
	if (db == NULL)
		return;
	if (db->pg != NULL)
		ctl_pg_close(db->pg);
	else if (db->lite != NULL && sqlite3_close(db->lite) != SQLITE_OK)
		ctl_db_errx(db, "close");
	free(db);
}

/* Run a script of statements. Returns 0, or -1 after reporting. */
int
ctl_db_exec(struct ctl_db *db, const char *sql)
{
	char	*msg = NULL;
	int	 rc;

	if (db->pg != NULL) {
		if (ctl_pg_exec(db->pg, sql) == 0)
			return (0);
		ctl_errx("%s: %s%s", db->name, ctl_pg_error(db->pg),
		    ctl_pg_undefined(db->pg) ? " (run `sluicectl init`)" : "");
		return (-1);
	}
	if ((rc = sqlite3_exec(db->lite, sql, NULL, NULL, &msg)) !=
	    SQLITE_OK) {
		const char *file = sqlite3_db_filename(db->lite, "main");

		ctl_errx("%s: %s", file != NULL && *file != '\0' ? file :
		    db->name, msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return (-1);
	}
	return (0);
}

/*
 * Begin a transaction. A snapshot is one consistent view for several
 * reads (PostgreSQL: REPEATABLE READ, as SQLite's read transaction); a
 * write takes SQLite's write lock at once (BEGIN IMMEDIATE), and on
 * PostgreSQL row locks as it goes. Returns 0, or -1 after reporting.
 */
int
ctl_db_begin(struct ctl_db *db, enum ctl_db_tx tx)
{
	if (db->pg != NULL)
		return (ctl_db_exec(db, tx == CTL_DB_SNAPSHOT ?
		    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" :
		    "BEGIN"));
	return (ctl_db_exec(db, tx == CTL_DB_SNAPSHOT ? "BEGIN" :
	    "BEGIN IMMEDIATE"));
}

int
ctl_db_commit(struct ctl_db *db)
{
	return (ctl_db_exec(db, "COMMIT"));
}

/*
 * Roll back the open transaction, if any, on an error path. Returns 0, or
 * -1 after reporting.
 */
int
ctl_db_rollback(struct ctl_db *db)
{
	if (db == NULL)
		return (0);
	if (db->pg != NULL ? !ctl_pg_in_transaction(db->pg) :
	    sqlite3_get_autocommit(db->lite))
		return (0);
	return (ctl_db_exec(db, "ROLLBACK"));
}

/* Prepare one statement. Returns 0, or -1 after reporting. */
int
ctl_db_prepare(struct ctl_db *db, const char *sql, struct ctl_stmt **stp)
{
	struct ctl_stmt	*st;

	*stp = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		ctl_err("%s: prepare", db->name);
		return (-1);
	}
	st->db = db;
	if (db->pg != NULL)
		st->pg = ctl_pg_prepare(db->pg, sql);
	else if (sqlite3_prepare_v2(db->lite, sql, -1, &st->lite, NULL) !=
	    SQLITE_OK) {
		(void)sqlite3_finalize(st->lite);
		st->lite = NULL;
	}
	if (st->pg == NULL && st->lite == NULL) {
		ctl_db_errx(db, "prepare");
		free(st);
		return (-1);
	}
	*stp = st;
	return (0);
}

/*
 * Finalize st (NULL is fine). SQLite's return code only repeats the
 * error of the last step, which was reported where it happened.
 */
void
ctl_db_finalize(struct ctl_stmt *st)
{
	if (st == NULL)
		return;
	if (st->pg != NULL)
		ctl_pg_finalize(st->pg);
	else
		(void)sqlite3_finalize(st->lite);
	free(st);
}

/*
 * Bind parameter i (?i) to text, or to NULL when text is NULL. SQLite
 * does not copy it: text must stay valid until the statement is reset or
 * finalized. Returns 0, or -1 (for ctl_db_errx).
 */
int
ctl_db_bind_text(struct ctl_stmt *st, int i, const char *text)
{
	if (st->pg != NULL)
		return (ctl_pg_bind(st->pg, i, text));
	if (text == NULL)
		return (sqlite3_bind_null(st->lite, i) == SQLITE_OK ? 0 : -1);
	return (sqlite3_bind_text(st->lite, i, text, -1, SQLITE_STATIC) ==
	    SQLITE_OK ? 0 : -1);
}

int
ctl_db_bind_int(struct ctl_stmt *st, int i, int64_t v)
{
	char	 buf[24];

	if (st->pg != NULL) {
		(void)snprintf(buf, sizeof(buf), "%" PRId64, v);
		return (ctl_pg_bind(st->pg, i, buf));
	}
	return (sqlite3_bind_int64(st->lite, i, v) == SQLITE_OK ? 0 : -1);
}

int
ctl_db_bind_null(struct ctl_stmt *st, int i)
{
	return (ctl_db_bind_text(st, i, NULL));
}

/*
 * Step st: CTL_DB_ROW with a row to read, CTL_DB_DONE at the end, or -1
 * (for ctl_db_errx).
 */
int
ctl_db_step(struct ctl_stmt *st)
{
	int	 rc;

	if (st->pg != NULL)
		return (ctl_pg_step(st->pg));
	rc = sqlite3_step(st->lite);
	return (rc == SQLITE_ROW ? CTL_DB_ROW : rc == SQLITE_DONE ?
	    CTL_DB_DONE : -1);
}

/* Rewind st to run again (its bindings stay). 0, or -1 if its last step
 * failed. */
int
ctl_db_reset(struct ctl_stmt *st)
{
	if (st->pg != NULL) {
		ctl_pg_reset(st->pg);
		return (0);
	}
	return (sqlite3_reset(st->lite) == SQLITE_OK ? 0 : -1);
}

/* Rows that st's last run inserted, updated or deleted. */
int64_t
ctl_db_changes(struct ctl_stmt *st)
{
	if (st->pg != NULL)
		return (ctl_pg_changes(st->pg));
	return ((int64_t)sqlite3_changes64(st->db->lite));
}

/* Column col as text, or NULL for SQL NULL. Valid until the next step. */
const char *
ctl_db_text(struct ctl_stmt *st, int col)
{
	if (st->pg != NULL)
		return (ctl_pg_text(st->pg, col));
	if (sqlite3_column_type(st->lite, col) == SQLITE_NULL)
		return (NULL);
	return ((const char *)sqlite3_column_text(st->lite, col));
}

/* Returns 1 with *v set when column col holds an INTEGER, else 0. */
int
ctl_db_int(struct ctl_stmt *st, int col, int64_t *v)
{
	if (st->pg != NULL)
		return (ctl_pg_int(st->pg, col, v));
	if (sqlite3_column_type(st->lite, col) != SQLITE_INTEGER)
		return (0);
	*v = sqlite3_column_int64(st->lite, col);
	return (1);
}

/* Copy column col of st's current row into v. Returns 0, or -1 (memory). */
static int
ctl_db_val(struct ctl_stmt *st, int col, struct ctl_val *v)
{
	sqlite3_stmt	*s = st->lite;
	const void	*p;
	int		 type;

	if (st->pg != NULL)
		return (ctl_pg_val(st->pg, col, v));
	if ((type = sqlite3_column_type(s, col)) == SQLITE_NULL)
		return (ctl_val_set(v, CTL_VAL_NULL, NULL, 0));
	if (type == SQLITE_BLOB) {
		p = sqlite3_column_blob(s, col);
		return (ctl_val_set(v, CTL_VAL_BLOB, p,
		    (size_t)sqlite3_column_bytes(s, col)));
	}
	if (type == SQLITE_INTEGER)
		v->i = sqlite3_column_int64(s, col);
	else if (type == SQLITE_FLOAT)
		v->d = sqlite3_column_double(s, col);
	/* The text form (as ctl_db_text has it), read after the number. */
	if ((p = sqlite3_column_text(s, col)) == NULL)
		return (-1);
	return (ctl_val_set(v, type == SQLITE_INTEGER ? CTL_VAL_INT :
	    type == SQLITE_FLOAT ? CTL_VAL_FLOAT : CTL_VAL_TEXT, p,
	    (size_t)sqlite3_column_bytes(s, col)));
}

/*
 * The column names of st into rows (initialised here). PostgreSQL knows
 * them once the statement has run: its first step is taken here, and
 * *r is its answer (SQLite: CTL_DB_ROW, the first step still to take).
 * Returns 0, or -1 (*r -1: the step failed; else memory).
 */
static int
ctl_db_rows_init(struct ctl_stmt *st, struct ctl_rows *rows, int *r)
{
	const char	**names;
	int		 i, n, rc;

	*r = CTL_DB_ROW;
	if (st->pg != NULL && (*r = ctl_pg_step(st->pg)) == -1)
		return (-1);
	n = st->pg != NULL ? ctl_pg_ncols(st->pg) :
	    sqlite3_column_count(st->lite);
	if (n <= 0 || (names = calloc((size_t)n, sizeof(*names))) == NULL)
		return (-1);
	for (i = 0; i < n; i++)
		names[i] = st->pg != NULL ? ctl_pg_name(st->pg, i) :
		    sqlite3_column_name(st->lite, i);
	rc = ctl_rows_init(rows, (size_t)n, names);
	free(names);
	return (rc);
}

/*
 * Step st to the end, copying every row into rows (initialised here with
 * st's column names; the caller frees it, also on failure). Returns 0, or
 * -1 after one line that names what.
 */
int
ctl_db_rows(struct ctl_stmt *st, struct ctl_rows *rows, const char *what)
{
	struct ctl_val	*v;
	size_t		 i;
	int		 r;

	memset(rows, 0, sizeof(*rows));
	if (ctl_db_rows_init(st, rows, &r) == -1) {
		if (r == -1)
			goto failed;
		goto oom;
	}
	/* PostgreSQL is on its first row (or done) already. */
	if (st->pg == NULL)
		r = ctl_db_step(st);
	for (; r == CTL_DB_ROW; r = ctl_db_step(st)) {
		if ((v = ctl_rows_add(rows)) == NULL)
			goto oom;
		for (i = 0; i < rows->ncols; i++)
			if (ctl_db_val(st, (int)i, &v[i]) == -1)
				goto oom;
	}
	if (r == CTL_DB_DONE)
		return (0);
failed:
	ctl_db_errx(st->db, what);
	return (-1);
oom:
	errno = ENOMEM;
	ctl_err("%s", what);
	return (-1);
}
