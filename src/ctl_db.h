/*
 * ctl_db: sluicectl's SQLite plumbing. Opening a database with a busy
 * timeout, running scripts and statements with every result checked, and
 * a query's rows copied out (ctl_rows) to print after the work is done.
 *
 * Errors are reported here, once, as one line that names the database.
 */
#ifndef SLUICE_CTL_DB_H
#define SLUICE_CTL_DB_H

#include <stdint.h>
#include <stdio.h>

#define CTL_DB_BUSY_MS	5000	/* wait for the exporter's lock */

struct sqlite3;
struct sqlite3_stmt;
struct ctl_rows;

enum ctl_db_mode {
	CTL_DB_EXISTING,	/* must exist; read-write if the OS allows */
	CTL_DB_CREATE		/* created when missing */
};

int		 ctl_db_open(const char *path, enum ctl_db_mode,
		    struct sqlite3 **);
void		 ctl_db_close(struct sqlite3 *);
void		 ctl_db_errx(struct sqlite3 *, const char *what);
int		 ctl_db_exec(struct sqlite3 *, const char *sql);
int		 ctl_db_rollback(struct sqlite3 *);
int		 ctl_db_prepare(struct sqlite3 *, const char *sql,
		    struct sqlite3_stmt **);
void		 ctl_db_finalize(struct sqlite3_stmt *);
const char	*ctl_db_text(struct sqlite3_stmt *, int col);
int		 ctl_db_int(struct sqlite3_stmt *, int col, int64_t *);
int		 ctl_db_rows(struct sqlite3 *, struct sqlite3_stmt *,
		    struct ctl_rows *, const char *what);

#endif
