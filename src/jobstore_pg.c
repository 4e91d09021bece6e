/*
 * jobstore_pg: the jobs lookup against PostgreSQL (--db postgresql://...).
 *
 * Workload: one indexed point lookup per request, one connection per
 * deciding thread, the lookup a statement prepared once per connection.
 * A lookup never hangs: the session's lock_timeout and statement_timeout
 * (store.c) end a wait on the exporter's lock, and the answer is 503
 * with Retry-After. A connection that breaks (PostgreSQL restarted, the
 * network) is dropped; the next lookup reconnects, at most once a second
 * per thread, and while that fails requests get 503. A lookup that finds
 * its connection broken reconnects and tries once more at once, so the
 * first requests after PostgreSQL's return are served, not refused.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pq.h"

#include "job.h"
#include "job_row.h"
#include "jobstore.h"
#include "log.h"
#include "reopen.h"
#include "store.h"

#define JOBSTORE_PG_STMT	"sluice_job"

static const char jobstore_pg_sql[] =
    "SELECT " JOB_ROW_COLUMNS " FROM export_jobs WHERE id = $1";

/* One line a second per process for a failing reconnect. */
static _Atomic int64_t jobstore_pg_failed;

/* Connect and prepare the lookup. Returns the connection or NULL. */
static PGconn *
jobstore_pg_connect(const char *spec, char *err, size_t errsz)
{
	char		 what[256], msg[256];
	PGconn		*c;
	PGresult	*r;

	if ((c = store_pg_connect(spec, "sluice", JOBSTORE_BUSY_MS,
	    JOBSTORE_BUSY_MS, err, errsz)) == NULL)
		return (NULL);
	r = PQprepare(c, JOBSTORE_PG_STMT, jobstore_pg_sql, 1, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);

		if (st != NULL && strcmp(st, "42P01") == 0)
			snprintf(err, errsz, "jobs database %s has no "
			    "export_jobs table (create it from "
			    "sql/pg/schema.sql)", store_describe(spec, what,
			    sizeof(what)));
		else
			snprintf(err, errsz, "jobs database %s: %s",
			    store_describe(spec, what, sizeof(what)),
			    store_pg_error(c, r, msg, sizeof(msg)));
		PQclear(r);
		PQfinish(c);
		return (NULL);
	}
	PQclear(r);
	return (c);
}

/*
 * Connect to spec and prepare the lookup: at startup (a clear error if
 * PostgreSQL is unreachable or has no export_jobs table) and in each
 * deciding thread. Returns 0 or -1 with a sentence in err; after a
 * failure to connect js is still a PostgreSQL store (js->pg), without a
 * connection: jobstore_pg_find reconnects, and jobstore_close is safe.
 */
int
jobstore_pg_open(struct jobstore *js, const char *spec, char *err,
    size_t errsz)
{
	char	 what[256];

	memset(js, 0, sizeof(*js));
	js->pg = 1;
	if (snprintf(js->path, sizeof(js->path), "%s", spec) >=
	    (int)sizeof(js->path)) {
		snprintf(err, errsz, "jobs database %s: connection string too "
		    "long", store_describe(spec, what, sizeof(what)));
		return (-1);
	}
	if ((js->conn = jobstore_pg_connect(spec, err, errsz)) == NULL)
		return (-1);
	return (0);
}

void
jobstore_pg_close(struct jobstore *js)
{
	PQfinish(js->conn);
	js->conn = NULL;
}

/* A connection for this lookup: the thread's, or a new one (at most
 * once a second; a failure is logged once a second per process). */
static PGconn *
jobstore_pg_conn(struct jobstore *js, int force)
{
	char	 err[512];

	if (js->conn != NULL)
		return (js->conn);
	if (!store_pg_retry_due(&js->retry_ms, force))
		return (NULL);
	if ((js->conn = jobstore_pg_connect(js->path, err, sizeof(err))) ==
	    NULL)
		reopen_log_failed(&jobstore_pg_failed, "db_unavailable", err);
	else
		log_info("event=db_reconnected db=jobs");
	return (js->conn);
}

/* The row of r into job (job_row.h); PostgreSQL's types are enforced,
 * but an exporter's own column types may differ: parse, don't trust. */
static void
jobstore_pg_row(PGresult *r, struct job *job)
{
	struct job_cell	 cell[JOB_ROW_NCOLS];
	char		*end;
	int		 i;

	for (i = 0; i < JOB_ROW_NCOLS; i++) {
		struct job_cell *c = &cell[i];

		c->i = 0;
		if (PQgetisnull(r, 0, i)) {
			*c = (struct job_cell){ JOB_CELL_NULL, NULL, 0, 0 };
			continue;
		}
		c->v = PQgetvalue(r, 0, i);
		c->len = (size_t)PQgetlength(r, 0, i);
		c->kind = JOB_CELL_TEXT;
		errno = 0;
		if (c->len > 0 && (c->v[0] == '-' ||
		    (c->v[0] >= '0' && c->v[0] <= '9'))) {
			c->i = strtoll(c->v, &end, 10);
			if (errno == 0 && *end == '\0')
				c->kind = JOB_CELL_INT;
		}
	}
	job_row_fill(job, cell);
}

/*
 * Look id up and copy its row into *job. JOBSTORE_BUSY (503) while
 * PostgreSQL is unreachable, or a lock or statement timeout ended the
 * lookup; JOBSTORE_ERROR (500) for any other failure. Logged.
 */
enum jobstore_result
jobstore_pg_find(struct jobstore *js, const char *id, struct job *job)
{
	enum jobstore_result res;
	const char	*params[1] = { id };
	char		 msg[256];
	PGresult	*r;
	PGconn		*c;
	int		 tries, fresh;

	memset(job, 0, sizeof(*job));
	if (snprintf(job->id, sizeof(job->id), "%s", id) >=
	    (int)sizeof(job->id))
		return (JOBSTORE_NOT_FOUND);
	for (tries = 0; tries < 2; tries++) {
		fresh = js->conn == NULL;
		if ((c = jobstore_pg_conn(js, tries > 0)) == NULL)
			return (JOBSTORE_BUSY);
		r = PQexecPrepared(c, JOBSTORE_PG_STMT, 1, params, NULL, NULL,
		    0);
		if (PQresultStatus(r) == PGRES_TUPLES_OK) {
			res = JOBSTORE_NOT_FOUND;
			if (PQntuples(r) > 0 && PQnfields(r) == JOB_ROW_NCOLS) {
				jobstore_pg_row(r, job);
				res = JOBSTORE_FOUND;
			}
			PQclear(r);
			return (res);
		}
		res = store_pg_transient(c, r) ? JOBSTORE_BUSY :
		    JOBSTORE_ERROR;
		log_warnx("event=db_error op=lookup id=%s error=\"%s\"", id,
		    store_pg_error(c, r, msg, sizeof(msg)));
		PQclear(r);
		if (PQstatus(c) == CONNECTION_OK)
			return (res);
		jobstore_pg_close(js);	/* broken: the next one reconnects */
		if (fresh)
			return (res);
	}
	return (JOBSTORE_BUSY);
}
