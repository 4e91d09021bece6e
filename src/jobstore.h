/*
 * jobstore: read-only lookups in the exporter's jobs database.
 *
 * One struct jobstore per request thread (SQLite connections are opened
 * after fork and never shared). Its statement is prepared once; each lookup
 * binds, steps, copies the row out and resets at once, so no read
 * transaction stays open while a file streams.
 */
#ifndef SLUICE_JOBSTORE_H
#define SLUICE_JOBSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "reopen.h"

struct job;
struct pg_conn;
struct sqlite3;
struct sqlite3_stmt;

#define JOBSTORE_BUSY_MS	2000	/* then 503 with Retry-After */
#define JOBSTORE_PATH_MAX	4095	/* longer: never looked at again */

struct jobstore {
	int			 pg;	/* path is a PostgreSQL conninfo */
	struct sqlite3		*db;
	struct sqlite3_stmt	*find;
	struct pg_conn		*conn;	/* PostgreSQL; NULL: to reconnect */
	int64_t			 retry_ms;	/* no reconnect before */
	char			 path[JOBSTORE_PATH_MAX + 1]; /* "": none */
	struct reopen_id	 id;	/* the file db has open */
};

enum jobstore_result {
	JOBSTORE_FOUND,
	JOBSTORE_NOT_FOUND,
	JOBSTORE_BUSY,
	JOBSTORE_ERROR
};

int	jobstore_open(struct jobstore *, const char *path, char *err,
	    size_t errsz);
void	jobstore_close(struct jobstore *);
enum jobstore_result jobstore_find(struct jobstore *, const char *id,
	    struct job *);

/* The PostgreSQL store (jobstore_pg.c), which the above dispatch to. */
int	jobstore_pg_open(struct jobstore *, const char *spec, char *err,
	    size_t errsz);
void	jobstore_pg_close(struct jobstore *);
enum jobstore_result jobstore_pg_find(struct jobstore *, const char *id,
	    struct job *);

#endif
