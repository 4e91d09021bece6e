/*
 * store: which backend a database argument names, and the PostgreSQL
 * plumbing that sluice's and sluicectl's PostgreSQL modules share.
 *
 * --db and --state-db take a path (SQLite) or a PostgreSQL connection
 * string: a URI (postgresql://... or postgres://...) or key=value
 * conninfo (host=... dbname=...). Only the store modules include
 * <sqlite3.h> or <libpq-fe.h>; this header names neither.
 */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct pg_conn;
struct pg_result;

/* Session limits set on every PostgreSQL connection sluice opens. */
#define STORE_PG_CONNECT_S	3	/* connect_timeout, unless given */
#define STORE_PG_LOCK_MS	1000	/* lock_timeout: then 503 */
#define STORE_PG_STATEMENT_MS	5000	/* statement_timeout: then 503 */
#define STORE_PG_RETRY_MS	1000	/* between reconnects of a connection */
/* The advisory lock under which sluice and sluicectl init create tables
 * ("sluice" in ASCII), so that hosts and init never race. */
#define STORE_PG_SCHEMA_LOCK	"126909690192741"

/* 1: spec is a PostgreSQL connection string; 0: a SQLite file path. */
int	store_is_pg(const char *spec);

/*
 * spec for logs and errors: a URI or conninfo without its password (and
 * cut to fit). Never log a spec any other way.
 */
const char *store_describe(const char *spec, char *buf, size_t size);

/*
 * Connect to spec (which store_is_pg), name the application, and set the
 * session's lock and statement timeouts (0: the defaults above). Returns
 * the connection, or NULL with a sentence in err that holds no password.
 */
struct pg_conn *store_pg_connect(const char *spec, const char *app,
	    int lock_ms, int statement_ms, char *err, size_t errsz);

/*
 * Is the failure of res (NULL: no result at all) or of conn the
 * database's trouble, which goes away by itself (the connection lost or
 * refused, the server shutting down or starting, a lock or statement
 * timeout, a deadlock or serialization failure, out of resources)? Then
 * the caller answers 503 and retries later; otherwise it was the
 * statement's own fault.
 */
int	store_pg_transient(struct pg_conn *, struct pg_result *);

/*
 * A connection that broke is made again on demand, at most once per
 * STORE_PG_RETRY_MS unless forced: 1 when a try is due now (*next_ms is
 * moved on), 0 when it is too soon.
 */
int	store_pg_retry_due(int64_t *next_ms, int force);

/* The error message of res, or of conn, on one line (no newline). */
const char *store_pg_error(struct pg_conn *, struct pg_result *,
	    char *buf, size_t size);

#endif
