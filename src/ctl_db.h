/*
 * ctl_db: sluicectl's databases, SQLite or PostgreSQL behind one small
 * interface. A database is named by a spec (--db, --state-db): a SQLite
 * path or a PostgreSQL connection string (store_is_pg). Statements are
 * written once, in SQL both accept, with SQLite's ?N parameters; where
 * the dialects differ the caller picks by ctl_db_is_pg.
 *
 * Errors: open reports its own, once, as one line naming the database.
 * Other calls return -1 and leave the reporting to the caller, who names
 * what failed with ctl_db_errx (one line: the database, what, and the
 * database's message). A PostgreSQL spec is only ever printed without
 * its password (ctl_db_name, ctl_db_describe).
 *
 * Rows are copied out (ctl_db_rows into ctl_rows) to print after the
 * work is done. Only ctl_db.c and ctl_db_pg.c include <sqlite3.h> or
 * <libpq-fe.h>.
 */
#ifndef SLUICE_CTL_DB_H
#define SLUICE_CTL_DB_H

#include <stddef.h>
#include <stdint.h>

#define CTL_DB_BUSY_MS	5000	/* wait for the exporter's lock */
#define CTL_DB_NAME_SIZE 4200	/* a path, or a spec described */

/* ctl_db_step's answers (and -1: failed). */
#define CTL_DB_DONE	0
#define CTL_DB_ROW	1

struct ctl_db;
struct ctl_stmt;
struct ctl_rows;

enum ctl_db_mode {
	CTL_DB_EXISTING,	/* must exist; read-write if the OS allows */
	CTL_DB_CREATE		/* created when missing (SQLite) */
};

enum ctl_db_tx {
	CTL_DB_SNAPSHOT,	/* reads that agree with each other */
	CTL_DB_WRITE		/* SQLite: BEGIN IMMEDIATE, the write lock */
};

int		 ctl_db_open(const char *spec, enum ctl_db_mode,
		    struct ctl_db **);
void		 ctl_db_close(struct ctl_db *);
int		 ctl_db_is_pg(const struct ctl_db *);
const char	*ctl_db_name(const struct ctl_db *);
const char	*ctl_db_describe(const char *spec, char *buf, size_t size);
void		 ctl_db_errx(struct ctl_db *, const char *what);
int		 ctl_db_transient(struct ctl_db *);
int		 ctl_db_exec(struct ctl_db *, const char *sql);
int		 ctl_db_begin(struct ctl_db *, enum ctl_db_tx);
int		 ctl_db_commit(struct ctl_db *);
int		 ctl_db_rollback(struct ctl_db *);

int		 ctl_db_prepare(struct ctl_db *, const char *sql,
		    struct ctl_stmt **);
void		 ctl_db_finalize(struct ctl_stmt *);
int		 ctl_db_bind_text(struct ctl_stmt *, int i, const char *);
int		 ctl_db_bind_int(struct ctl_stmt *, int i, int64_t);
int		 ctl_db_bind_null(struct ctl_stmt *, int i);
int		 ctl_db_step(struct ctl_stmt *);
int		 ctl_db_reset(struct ctl_stmt *);
int64_t		 ctl_db_changes(struct ctl_stmt *);
const char	*ctl_db_text(struct ctl_stmt *, int col);
int		 ctl_db_int(struct ctl_stmt *, int col, int64_t *);
int		 ctl_db_rows(struct ctl_stmt *, struct ctl_rows *,
		    const char *what);

#endif
