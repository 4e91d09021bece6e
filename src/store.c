/*
 * store: tell a PostgreSQL connection string from a SQLite path, and
 * connect to PostgreSQL with the session limits every sluice connection
 * has. A lookup or a download's begin that waits on a lock past
 * lock_timeout, or runs past statement_timeout, fails, and the request
 * gets 503 rather than hanging.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pq.h"

#include "store.h"

int
store_is_pg(const char *spec)
{
	const char	*p;

	if (spec == NULL)
		return (0);
	if (strncmp(spec, "postgresql://", 13) == 0 ||
	    strncmp(spec, "postgres://", 11) == 0)
		return (1);
	/* conninfo: starts with "keyword=" (a path starts otherwise, or
	 * has a '/' or '.' before its first '='). */
	for (p = spec; *p != '\0' && (islower((unsigned char)*p) ||
	    *p == '_'); p++)
		;
	return (p > spec && *p == '=');
}

/*
 * A URI's password sits between "user:" and '@' in its authority, or in
 * a "password=" query parameter; conninfo has "password=value" (quoted
 * or not). Each is replaced by "***".
 */
const char *
store_describe(const char *spec, char *buf, size_t size)
{
	const char	*s = spec, *at, *colon;
	char		*pw, *from;
	size_t		 n = 0;

	if (size == 0)
		return ("");
	buf[0] = '\0';
	if (strncmp(s, "postgres", 8) == 0 && strstr(s, "://") != NULL &&
	    (at = strchr(s, '@')) != NULL &&
	    (colon = strchr(strstr(s, "://") + 3, ':')) != NULL && colon < at) {
		n = (size_t)snprintf(buf, size, "%.*s:***%s",
		    (int)(colon - s), s, at);
	} else
		n = (size_t)snprintf(buf, size, "%s", s);
	if (n >= size)
		n = size - 1;
	/* "password=" anywhere (conninfo, or a URI's query): blank it. */
	for (from = buf; (pw = strstr(from, "password=")) != NULL;
	    from = pw + 12) {
		char	*v = pw + 9, *end;

		if (*v == '\'') {
			for (end = v + 1; *end != '\0' && *end != '\''; end++)
				if (*end == '\\' && end[1] != '\0')
					end++;
			if (*end == '\'')
				end++;
		} else
			end = v + strcspn(v, " &");
		if (strlen(buf) - (size_t)(end - v) + 3 >= size) {
			*v = '\0';	/* no room for the stars: cut here */
			break;
		}
		memmove(v + 3, end, strlen(end) + 1);
		memcpy(v, "***", 3);
	}
	return (buf);
}

struct pg_conn *
store_pg_connect(const char *spec, const char *app, int lock_ms,
    int statement_ms, char *err, size_t errsz)
{
	/*
	 * The defaults first: a value in spec overrides them. Over TCP, a
	 * server that vanishes without a word (a partition, a dead host) is
	 * noticed by keepalives and tcp_user_timeout (unsent data), so that
	 * no request waits on a dead socket for the kernel's minutes.
	 */
	const char *const keys[] = { "connect_timeout", "application_name",
	    "keepalives", "keepalives_idle", "keepalives_interval",
	    "keepalives_count", "tcp_user_timeout", "dbname", NULL };
	char		 timeout[16], set[128], what[256], msg[256];
	const char	*vals[9];
	PGconn		*c;
	PGresult	*r;

	snprintf(timeout, sizeof(timeout), "%d", STORE_PG_CONNECT_S);
	vals[0] = timeout;
	vals[1] = app;
	vals[2] = "1";
	vals[3] = "5";
	vals[4] = "2";
	vals[5] = "3";
	vals[6] = "10000";
	vals[7] = spec;
	vals[8] = NULL;
	if (pq_load(msg, sizeof(msg)) == -1) {
		snprintf(err, errsz, "PostgreSQL %s: %s",
		    store_describe(spec, what, sizeof(what)), msg);
		return (NULL);
	}
	c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errsz, "PostgreSQL %s: %s",
		    store_describe(spec, what, sizeof(what)), c == NULL ?
		    "out of memory" : store_pg_error(c, NULL, msg,
		    sizeof(msg)));
		PQfinish(c);
		return (NULL);
	}
	snprintf(set, sizeof(set), "SET lock_timeout = %d; "
	    "SET statement_timeout = %d", lock_ms > 0 ? lock_ms :
	    STORE_PG_LOCK_MS, statement_ms > 0 ? statement_ms :
	    STORE_PG_STATEMENT_MS);
	r = PQexec(c, set);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errsz, "PostgreSQL %s: %s",
		    store_describe(spec, what, sizeof(what)),
		    store_pg_error(c, r, msg, sizeof(msg)));
		PQclear(r);
		PQfinish(c);
		return (NULL);
	}
	PQclear(r);
	return (c);
}

int
store_pg_transient(struct pg_conn *c, struct pg_result *r)
{
	const char	*st;

	if (c == NULL || PQstatus(c) != CONNECTION_OK || r == NULL)
		return (1);
	if ((st = PQresultErrorField(r, PG_DIAG_SQLSTATE)) == NULL)
		return (1);	/* no SQLSTATE: lost on the client's side */
	/* 08 connection, 40 rollback (deadlock, serialization), 53
	 * resources, 57 operator intervention (shutdown, cancel,
	 * statement_timeout), 58 system, 55P03 lock_not_available. */
	return (strncmp(st, "08", 2) == 0 || strncmp(st, "40", 2) == 0 ||
	    strncmp(st, "53", 2) == 0 || strncmp(st, "57", 2) == 0 ||
	    strncmp(st, "58", 2) == 0 || strcmp(st, "55P03") == 0);
}

const char *
store_pg_error(struct pg_conn *c, struct pg_result *r,
    char *buf, size_t size)
{
	const char	*m = NULL;
	char		*p;

	if (r != NULL)
		m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	if ((m == NULL || *m == '\0') && c != NULL)
		m = PQerrorMessage(c);
	if (m == NULL || *m == '\0')
		m = "unknown error";
	snprintf(buf, size, "%s", m);
	for (p = buf; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t' || *p == '"')
			*p = *p == '"' ? '\'' : ' ';
	while (p > buf && p[-1] == ' ')
		*--p = '\0';
	return (buf);
}

int
store_pg_retry_due(int64_t *next_ms, int force)
{
	struct timespec	 ts;
	int64_t		 now = 0;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (!force && now < *next_ms)
		return (0);
	*next_ms = now + STORE_PG_RETRY_MS;
	return (1);
}
