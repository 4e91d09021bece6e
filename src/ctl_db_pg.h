/*
 * ctl_db_pg: the PostgreSQL half of ctl_db, for ctl_db.c only (the
 * commands use ctl_db.h). Its types are opaque; this header names no
 * libpq type, so that only ctl_db_pg.c includes <libpq-fe.h>.
 *
 * Errors are not printed here: the last one is kept in the connection
 * (ctl_pg_error), and ctl_db reports it once, naming the database.
 */
#ifndef SLUICE_CTL_DB_PG_H
#define SLUICE_CTL_DB_PG_H

#include <stddef.h>
#include <stdint.h>

/* Parameters of one statement: ?1 .. ?CTL_PG_PARAMS. */
#define CTL_PG_PARAMS		16

/* statement_timeout: an operator's purge or check may run for long. */
#define CTL_PG_STATEMENT_MS	3600000

struct ctl_pg;
struct ctl_pg_stmt;
struct ctl_val;

struct ctl_pg	*ctl_pg_open(const char *spec, int lock_ms, char *err,
		    size_t errsz);
void		 ctl_pg_close(struct ctl_pg *);
const char	*ctl_pg_error(const struct ctl_pg *);
int		 ctl_pg_transient(const struct ctl_pg *);
int		 ctl_pg_undefined(const struct ctl_pg *);
int		 ctl_pg_exec(struct ctl_pg *, const char *sql);
int		 ctl_pg_in_transaction(struct ctl_pg *);

struct ctl_pg_stmt *ctl_pg_prepare(struct ctl_pg *, const char *sql);
void		 ctl_pg_finalize(struct ctl_pg_stmt *);
int		 ctl_pg_bind(struct ctl_pg_stmt *, int i, const char *text);
int		 ctl_pg_step(struct ctl_pg_stmt *);
void		 ctl_pg_reset(struct ctl_pg_stmt *);
int64_t		 ctl_pg_changes(struct ctl_pg_stmt *);
int		 ctl_pg_ncols(struct ctl_pg_stmt *);
const char	*ctl_pg_name(struct ctl_pg_stmt *, int col);
const char	*ctl_pg_text(struct ctl_pg_stmt *, int col);
int		 ctl_pg_int(struct ctl_pg_stmt *, int col, int64_t *);
int		 ctl_pg_val(struct ctl_pg_stmt *, int col, struct ctl_val *);

#endif
