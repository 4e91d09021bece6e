/*
 * ctl_db_pg: sluicectl's PostgreSQL plumbing, behind ctl_db. A store
 * module: with ctl_db.c (SQLite) the only sluicectl file that includes a
 * database's header.
 *
 * Statements are written once, in SQL both backends accept, with
 * SQLite's ?N parameters; here they become $N and are prepared on the
 * server (PQprepare), so that a wrong table or column fails at prepare as
 * it does in SQLite. Parameters go as text and the server types them
 * from where they stand (a parameter only ever compared with IS NULL is
 * written CAST(?N AS TEXT) by the caller). A statement's result is
 * fetched whole at its first step, and the steps walk its rows.
 *
 * Values come back as SQLite would give them: integers (and booleans,
 * as 1 and 0) as INTEGER, floating types as REAL, bytea as a BLOB, the
 * rest as TEXT, so the commands print the same for either backend.
 *
 * Workload: an operator's command, a few statements. Prepared statements
 * live until the connection closes at the end of the command (libpq 15
 * cannot close one in an aborted transaction).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pq.h"

#include "ctl_db_pg.h"
#include "ctl_out.h"
#include "ctl_rows.h"
#include "store.h"

/* The type OIDs of pg_type.h (catalog/pg_type_d.h is not in libpq-dev). */
#define CTL_PG_BOOL	16
#define CTL_PG_BYTEA	17
#define CTL_PG_INT8	20
#define CTL_PG_INT2	21
#define CTL_PG_INT4	23
#define CTL_PG_OID	26
#define CTL_PG_FLOAT4	700
#define CTL_PG_FLOAT8	701
#define CTL_PG_NUMERIC	1700

#define CTL_PG_ERR_SIZE	512
#define CTL_PG_NAME_SIZE 256

struct ctl_pg {
	PGconn		*conn;
	unsigned	 nstmt;			/* statements prepared */
	int		 transient;		/* of the last error */
	char		 state[6];		/* its SQLSTATE, or "" */
	char		 err[CTL_PG_ERR_SIZE];	/* its message */
	char		 name[CTL_PG_NAME_SIZE];	/* for warnings */
};

struct ctl_pg_stmt {
	struct ctl_pg	*pg;
	char		 name[24];		/* the server's name for it */
	int		 nparams;
	char		*vals[CTL_PG_PARAMS];	/* owned; NULL: SQL NULL */
	PGresult	*res;			/* once run */
	int		 row;			/* the current row */
};

/* Keep the error of res (NULL: of the connection) as the last one. */
static void
ctl_pg_keep_error(struct ctl_pg *pg, PGresult *res)
{
	const char *st = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	(void)store_pg_error(pg->conn, res, pg->err, sizeof(pg->err));
	pg->transient = store_pg_transient(pg->conn, res);
	(void)snprintf(pg->state, sizeof(pg->state), "%s",
	    st != NULL ? st : "");
}

/*
 * The server's notices: NOTICE and below (CREATE TABLE IF NOT EXISTS
 * says "skipping") are dropped, so the output is SQLite's; a WARNING is
 * one line on stderr.
 */
static void
ctl_pg_notice(void *arg, const PGresult *res)
{
	const struct ctl_pg *pg = arg;
	const char *sev = PQresultErrorField(res,
	    PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (sev == NULL || strcmp(sev, "WARNING") != 0 || msg == NULL)
		return;
	ctl_errx("%s: warning: %s", pg->name, msg);
}

/*
 * Connect to spec (store_is_pg) with a lock timeout of lock_ms. Returns
 * the connection, or NULL with one line in err naming the database
 * (never its password).
 */
struct ctl_pg *
ctl_pg_open(const char *spec, int lock_ms, char *err, size_t errsz)
{
	struct ctl_pg	*pg;

	if ((pg = calloc(1, sizeof(*pg))) == NULL) {
		(void)snprintf(err, errsz, "%s", strerror(errno));
		return (NULL);
	}
	(void)store_describe(spec, pg->name, sizeof(pg->name));
	pg->conn = store_pg_connect(spec, "sluicectl", lock_ms,
	    CTL_PG_STATEMENT_MS, err, errsz);
	if (pg->conn == NULL) {
		free(pg);
		return (NULL);
	}
	(void)PQsetNoticeReceiver(pg->conn, ctl_pg_notice, pg);
	return (pg);
}

void
ctl_pg_close(struct ctl_pg *pg)
{
	if (pg == NULL)
		return;
	PQfinish(pg->conn);
	free(pg);
}

/* The last error's message, on one line. */
const char *
ctl_pg_error(const struct ctl_pg *pg)
{
	return (pg->err[0] != '\0' ? pg->err : "unknown error");
}

/* Was the last error the server's passing trouble (a lock timeout...)? */
int
ctl_pg_transient(const struct ctl_pg *pg)
{
	return (pg->transient);
}

/* Was the last error a missing table (42P01): not initialised? */
int
ctl_pg_undefined(const struct ctl_pg *pg)
{
	return (strcmp(pg->state, "42P01") == 0);
}

/* Run a script of statements (no parameters). Returns 0, or -1. */
int
ctl_pg_exec(struct ctl_pg *pg, const char *sql)
{
	PGresult	*res;
	int		 rc = -1;

	res = PQexec(pg->conn, sql);
	if (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK)
		rc = 0;
	else
		ctl_pg_keep_error(pg, res);
	PQclear(res);
	return (rc);
}

/* 1 inside a transaction (failed or not), else 0. */
int
ctl_pg_in_transaction(struct ctl_pg *pg)
{
	PGTransactionStatusType t = PQtransactionStatus(pg->conn);

	return (t == PQTRANS_INTRANS || t == PQTRANS_INERROR);
}

/*
 * sql with its ?N parameters written $N, outside quotes and comments.
 * Returns a string the caller frees with *nparams the highest N, or NULL
 * (no memory, or an N out of 1..CTL_PG_PARAMS: errno EINVAL).
 */
static char *
ctl_pg_dollars(const char *sql, int *nparams)
{
	const char	*p;
	char		*out, *o, quote = 0;
	long		 n;

	*nparams = 0;
	if ((out = malloc(strlen(sql) + 1)) == NULL)
		return (NULL);
	for (p = sql, o = out; *p != '\0'; p++) {
		if (quote == '-' && *p == '\n')
			quote = 0;
		else if (quote != 0 && quote != '-' && *p == quote)
			quote = 0;
		else if (quote == 0 && (*p == '\'' || *p == '"'))
			quote = *p;
		else if (quote == 0 && p[0] == '-' && p[1] == '-')
			quote = '-';
		else if (quote == 0 && *p == '?') {
			n = strtol(p + 1, NULL, 10);
			if (n < 1 || n > CTL_PG_PARAMS) {
				free(out);
				errno = EINVAL;
				return (NULL);
			}
			if (n > *nparams)
				*nparams = (int)n;
			*o++ = '$';
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	return (out);
}

/* Prepare sql on the server. Returns the statement, or NULL. */
struct ctl_pg_stmt *
ctl_pg_prepare(struct ctl_pg *pg, const char *sql)
{
	struct ctl_pg_stmt *st;
	PGresult	*res;
	char		*text;
	int		 nparams;

	if ((text = ctl_pg_dollars(sql, &nparams)) == NULL) {
		(void)snprintf(pg->err, sizeof(pg->err), "%s: %s", sql,
		    errno == EINVAL ? "a parameter out of range" :
		    strerror(errno));
		pg->state[0] = '\0';
		pg->transient = 0;
		return (NULL);
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		(void)snprintf(pg->err, sizeof(pg->err), "%s", strerror(errno));
		free(text);
		return (NULL);
	}
	st->pg = pg;
	st->nparams = nparams;
	st->row = -1;
	(void)snprintf(st->name, sizeof(st->name), "sluicectl_%u",
	    pg->nstmt++);
	res = PQprepare(pg->conn, st->name, text, 0, NULL);
	free(text);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		ctl_pg_keep_error(pg, res);
		PQclear(res);
		free(st);
		return (NULL);
	}
	PQclear(res);
	return (st);
}

void
ctl_pg_finalize(struct ctl_pg_stmt *st)
{
	int	 i;

	if (st == NULL)
		return;
	for (i = 0; i < CTL_PG_PARAMS; i++)
		free(st->vals[i]);
	PQclear(st->res);
	free(st);
}

/* Bind parameter i (1-based) to a copy of text (NULL: SQL NULL). */
int
ctl_pg_bind(struct ctl_pg_stmt *st, int i, const char *text)
{
	char	*copy = NULL;

	if (i < 1 || i > CTL_PG_PARAMS) {
		(void)snprintf(st->pg->err, sizeof(st->pg->err),
		    "bind: no parameter %d", i);
		return (-1);
	}
	if (text != NULL && (copy = strdup(text)) == NULL) {
		(void)snprintf(st->pg->err, sizeof(st->pg->err), "%s",
		    strerror(errno));
		return (-1);
	}
	free(st->vals[i - 1]);
	st->vals[i - 1] = copy;
	return (0);
}

/*
 * The next row: the first step runs the statement and fetches its
 * result. Returns 1 (a row), 0 (no more), or -1 (kept as the error).
 */
int
ctl_pg_step(struct ctl_pg_stmt *st)
{
	ExecStatusType	 s;

	if (st->res == NULL) {
		st->res = PQexecPrepared(st->pg->conn, st->name, st->nparams,
		    (const char *const *)st->vals, NULL, NULL, 0);
		s = PQresultStatus(st->res);
		if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
			ctl_pg_keep_error(st->pg, st->res);
			PQclear(st->res);
			st->res = NULL;
			return (-1);
		}
		st->row = -1;
	}
	if (st->row + 1 < PQntuples(st->res)) {
		st->row++;
		return (1);
	}
	st->row = PQntuples(st->res);
	return (0);
}

/* Back to before the first step; the bindings stay. */
void
ctl_pg_reset(struct ctl_pg_stmt *st)
{
	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
}

/* Rows the last run of st inserted, updated or deleted. */
int64_t
ctl_pg_changes(struct ctl_pg_stmt *st)
{
	const char *n;

	if (st->res == NULL || *(n = PQcmdTuples(st->res)) == '\0')
		return (0);
	return ((int64_t)strtoll(n, NULL, 10));
}

int
ctl_pg_ncols(struct ctl_pg_stmt *st)
{
	return (st->res != NULL ? PQnfields(st->res) : 0);
}

const char *
ctl_pg_name(struct ctl_pg_stmt *st, int col)
{
	return (PQfname(st->res, col));
}

/* Is column col of the current row there, and not NULL? */
static int
ctl_pg_has(struct ctl_pg_stmt *st, int col)
{
	return (st->res != NULL && st->row >= 0 &&
	    st->row < PQntuples(st->res) && col >= 0 &&
	    col < PQnfields(st->res) && !PQgetisnull(st->res, st->row, col));
}

/* An integer's text (all of it) as *v: 1, or 0 when it is not one. */
static int
ctl_pg_parse_int(const char *s, int64_t *v)
{
	char		*end;
	long long	 n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno == ERANGE)
		return (0);
	*v = (int64_t)n;
	return (1);
}

/* Column col's class, as SQLite's storage classes; *v for INTEGER. */
static enum ctl_val_type
ctl_pg_class(struct ctl_pg_stmt *st, int col, int64_t *v)
{
	const char *s;

	if (!ctl_pg_has(st, col))
		return (CTL_VAL_NULL);
	s = PQgetvalue(st->res, st->row, col);
	switch (PQftype(st->res, col)) {
	case CTL_PG_BOOL:
		*v = s[0] == 't';
		return (CTL_VAL_INT);
	case CTL_PG_INT8:
	case CTL_PG_INT2:
	case CTL_PG_INT4:
	case CTL_PG_OID:
		return (ctl_pg_parse_int(s, v) ? CTL_VAL_INT : CTL_VAL_TEXT);
	case CTL_PG_NUMERIC:	/* sum() of integers: an integer */
		return (ctl_pg_parse_int(s, v) ? CTL_VAL_INT : CTL_VAL_FLOAT);
	case CTL_PG_FLOAT4:
	case CTL_PG_FLOAT8:
		return (CTL_VAL_FLOAT);
	case CTL_PG_BYTEA:
		return (CTL_VAL_BLOB);
	default:
		return (CTL_VAL_TEXT);
	}
}

/* Column col as text (a boolean as "1" or "0"), or NULL for NULL. */
const char *
ctl_pg_text(struct ctl_pg_stmt *st, int col)
{
	int64_t	 v;

	if (!ctl_pg_has(st, col))
		return (NULL);
	if (PQftype(st->res, col) == CTL_PG_BOOL &&
	    ctl_pg_class(st, col, &v) == CTL_VAL_INT)
		return (v ? "1" : "0");
	return (PQgetvalue(st->res, st->row, col));
}

/* Returns 1 with *v set when column col holds an integer, else 0. */
int
ctl_pg_int(struct ctl_pg_stmt *st, int col, int64_t *v)
{
	int64_t	 n;

	if (ctl_pg_class(st, col, &n) != CTL_VAL_INT)
		return (0);
	*v = n;
	return (1);
}

/* Copy column col into v (ctl_rows). Returns 0, or -1 (memory). */
int
ctl_pg_val(struct ctl_pg_stmt *st, int col, struct ctl_val *v)
{
	enum ctl_val_type type;
	unsigned char	*blob;
	const char	*s;
	size_t		 len;
	int64_t		 n = 0;
	int		 rc;

	type = ctl_pg_class(st, col, &n);
	if (type == CTL_VAL_NULL)
		return (ctl_val_set(v, CTL_VAL_NULL, NULL, 0));
	if (type == CTL_VAL_BLOB) {
		blob = PQunescapeBytea((const unsigned char *)PQgetvalue(
		    st->res, st->row, col), &len);
		if (blob == NULL)
			return (-1);
		rc = ctl_val_set(v, CTL_VAL_BLOB, blob, len);
		PQfreemem(blob);
		return (rc);
	}
	s = ctl_pg_text(st, col);
	if (ctl_val_set(v, type, s, strlen(s)) == -1)
		return (-1);
	if (type == CTL_VAL_INT)
		v->i = n;
	else if (type == CTL_VAL_FLOAT)
		v->d = strtod(s, NULL);
	return (0);
}
