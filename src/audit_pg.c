/*
 * audit_pg: the state database in PostgreSQL (--state-db postgresql://),
 * one database for every sluice host, so that a job's download limit,
 * a download resumed on another host and the audit trail are one truth.
 *
 * A batch (audit.c) is one transaction. It first takes, in ascending
 * order, a transaction-level advisory lock on each job its records touch
 * (a 64-bit hash of the job id): every write of a job's downloads happens
 * under its lock, on every host, so the look for the client's open
 * download, the count against max_downloads and the insert cannot
 * interleave with another host's, and two batches never wait for each
 * other in a cycle. The wait is bounded by the session's lock_timeout
 * (AUDIT_BUSY_MS): past it the batch fails, a begin of a limited job gets
 * 503, and ends are kept for the next batch. Each record runs in a
 * savepoint of its own, so one that fails rolls back alone.
 *
 * A connection that breaks (PostgreSQL restarted) is dropped; the next
 * batch reconnects, at most once per STORE_PG_RETRY_MS, and a batch whose
 * BEGIN found the connection broken reconnects and runs again at once.
 * Ends queued meanwhile are kept (audit.c) and land once it is back.
 *
 * Responses record the host (gethostname) and pid of their worker: a
 * host's upkeep closes only the rows of its own workers that died.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pq.h"

#include "audit.h"
#include "audit_store.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "reopen.h"
#include "spans.h"
#include "sql_pg_state.h"
#include "store.h"

#define APG_SPEC_MAX	4095
#define APG_HOST_MAX	255
#define APG_ADMIN_MS	(3600 * 1000)	/* sluicectl's prune and vacuum */

enum apg_st {
	PS_FIND, PS_OPEN, PS_JOIN, PS_FINISH, PS_FINISH_GET, PS_CANCEL,
	PS_UNJOIN, PS_DL_SET, PS_DL_IDLE, PS_DL_DROP, PS_DL_DETACH, PS_N
};

#define APG_LIVE(id)	"EXISTS (SELECT 1 FROM responses WHERE " \
	"download_id = " id " AND outcome = 'started')"

/* The response's columns, in PS_OPEN and PS_JOIN. */
#define APG_RESPONSE	"INSERT INTO responses (download_id, job_id, " \
	"started_at, remote_addr, remote_user, range_start, range_end, " \
	"status, counts, pid, host) "

/*
 * Each step of a record is one statement (one round trip): a begin is
 * PS_FIND, then PS_OPEN or PS_JOIN; an end PS_FINISH_GET and PS_DL_SET.
 */
static const char *const apg_sql[PS_N] = {
	/* The client's newest download of the job (only it can be open),
	 * and, for a limited job ($4 >= 0), the downloads it has opened,
	 * pruned ones too. */
	[PS_FIND] = "SELECT d.id, d.last_at, d.live, CASE WHEN $4::bigint "
	    ">= 0 THEN (SELECT count(*) FROM downloads WHERE job_id = $1) + "
	    "coalesce((SELECT pruned FROM download_counts WHERE job_id = $1), "
	    "0) ELSE 0 END FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT "
	    "id, last_at, " APG_LIVE("downloads.id") "::int AS live FROM "
	    "downloads WHERE job_id = $1 AND remote_addr IS NOT DISTINCT FROM "
	    "$2 AND remote_user IS NOT DISTINCT FROM $3 ORDER BY id DESC "
	    "LIMIT 1) AS d ON true",
	/* A new download and its first response. */
	[PS_OPEN] = "WITH d AS (INSERT INTO downloads (job_id, remote_addr, "
	    "remote_user, opened_at, last_at, responses, file_size) VALUES "
	    "($1, $2, $3, $4, $4, 1, $5) RETURNING id) " APG_RESPONSE
	    "SELECT d.id, $1, $4, $2, $3, $6, $7, $8, 1, $9, $10 FROM d "
	    "RETURNING download_id, id",
	/* One more response of the client's open download. */
	[PS_JOIN] = "WITH j AS (UPDATE downloads SET responses = responses "
	    "+ 1 WHERE id = $1 RETURNING id) " APG_RESPONSE "SELECT j.id, $2, "
	    "$3, $4, $5, $6, $7, $8, 0, $9, $10 FROM j RETURNING id",
	[PS_FINISH] = "UPDATE responses SET status = $2, range_start = $3, "
	    "range_end = $4, bytes_sent = $5, duration_ms = $6, outcome = $7 "
	    "WHERE id = $1",
	/* The response's end, and its download as it was. */
	[PS_FINISH_GET] = "WITH f AS (UPDATE responses SET status = $2, "
	    "range_start = $3, range_end = $4, bytes_sent = $5, duration_ms = "
	    "$6, outcome = $7 WHERE id = $1) SELECT file_size, spans, complete "
	    "FROM downloads WHERE id = $8",
	[PS_CANCEL] = "DELETE FROM responses WHERE id = $1",
	[PS_UNJOIN] = "UPDATE downloads SET responses = responses - 1 "
	    "WHERE id = $1",
	[PS_DL_SET] = "UPDATE downloads SET last_at = greatest(last_at, $2), "
	    "bytes_sent = bytes_sent + $3, covered = $4, spans = $5, "
	    "complete = $6 WHERE id = $1",
	[PS_DL_IDLE] = "SELECT 1 FROM downloads WHERE id = $1 AND "
	    "bytes_sent = 0 AND complete = 0 AND NOT " APG_LIVE("$1"),
	[PS_DL_DROP] = "DELETE FROM downloads WHERE id = $1",
	[PS_DL_DETACH] = "UPDATE responses SET download_id = NULL, "
	    "counts = 0 WHERE download_id = $1",
};

static const char apg_lost_pids[] = "SELECT DISTINCT pid FROM responses "
    "WHERE outcome = 'started' AND host = $1";
/* The window of a download cut by a death starts at the closing. */
static const char apg_lost_touch[] = "UPDATE downloads SET last_at = "
    "greatest(last_at, $3) WHERE id IN (SELECT download_id FROM responses "
    "WHERE outcome = 'started' AND pid = $1 AND host = $2)";
static const char apg_lost_close[] = "UPDATE responses SET outcome = "
    "'aborted:lost' WHERE outcome = 'started' AND pid = $1 AND host = $2";
static const char apg_prune_responses[] = "DELETE FROM responses WHERE id "
    "IN (SELECT id FROM responses WHERE started_at < $1 AND outcome <> "
    "'started' ORDER BY id LIMIT $2)";
/* Old downloads with nothing in flight: counted, detached, deleted, in
 * one statement (so one transaction); others' rows are skipped. */
static const char apg_prune_downloads[] = "WITH old AS (SELECT id, job_id "
    "FROM downloads WHERE last_at < $1 AND NOT " APG_LIVE("downloads.id")
    " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED), "
    "tally AS (INSERT INTO download_counts (job_id, pruned) "
    "SELECT job_id, count(*) FROM old GROUP BY job_id ON CONFLICT (job_id) "
    "DO UPDATE SET pruned = download_counts.pruned + excluded.pruned), "
    "detach AS (UPDATE responses SET download_id = NULL, counts = 0 "
    "WHERE download_id IN (SELECT id FROM old)) "
    "DELETE FROM downloads WHERE id IN (SELECT id FROM old)";

/* A connection of the writer's (the leader's or the upkeep's). */
struct audit_pg {
	PGconn		*c;		/* NULL: to reconnect */
	int		 busy_ms;	/* its lock_timeout */
	int64_t		 retry_ms;	/* no reconnect before */
	pid_t		 pid;
	char		 spec[APG_SPEC_MAX + 1];
	char		 host[APG_HOST_MAX + 1];
};

/* One line a second per process for a failing reconnect. */
static _Atomic int64_t apg_failed_logged;

/* FNV-1a, 64 bits: a job's advisory lock key. */
static int64_t
apg_key(const char *job_id)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (; *job_id != '\0'; job_id++)
		h = (h ^ (unsigned char)*job_id) * 1099511628211ULL;
	return ((int64_t)h);
}

/* Why a statement failed, and whether it is the database's fault. */
struct apg_err {
	int	 transient;
	char	 msg[256];
};

/* Run sql (no parameters): 0, or -1 with er (unless NULL) set. */
static int
apg_simple(PGconn *c, const char *sql, struct apg_err *er)
{
	PGresult	*r = PQexec(c, sql);
	ExecStatusType	 st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(r);
		return (0);
	}
	if (er != NULL) {
		er->transient = store_pg_transient(c, r);
		store_pg_error(c, r, er->msg, sizeof(er->msg));
	}
	PQclear(r);
	return (-1);
}

static PGconn *
apg_connect(const char *spec, int busy_ms, int prepare, char *err,
    size_t errsz)
{
	char		 msg[256], what[256];
	PGconn		*c;
	PGresult	*r;
	size_t		 i;

	if ((c = store_pg_connect(spec, "sluice", busy_ms, busy_ms > 0 ?
	    busy_ms * 5 : 0, err, errsz)) == NULL)
		return (NULL);
	for (i = 0; prepare && i < PS_N; i++) {
		char	 name[16];

		snprintf(name, sizeof(name), "a%zu", i);
		r = PQprepare(c, name, apg_sql[i], 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			snprintf(err, errsz, "state database %s: %s",
			    store_describe(spec, what, sizeof(what)),
			    store_pg_error(c, r, msg, sizeof(msg)));
			PQclear(r);
			PQfinish(c);
			return (NULL);
		}
		PQclear(r);
	}
	return (c);
}

/* The connection, or a new one (at most once per STORE_PG_RETRY_MS
 * unless forced). NULL while PostgreSQL cannot be reached. */
static PGconn *
apg_conn(struct audit_pg *a, int force)
{
	char	 err[512];

	if (a->c != NULL)
		return (a->c);
	if (!store_pg_retry_due(&a->retry_ms, force))
		return (NULL);
	if ((a->c = apg_connect(a->spec, a->busy_ms, 1, err, sizeof(err))) ==
	    NULL)
		reopen_log_failed(&apg_failed_logged, "db_unavailable", err);
	else
		log_info("event=db_reconnected db=state");
	return (a->c);
}

/*
 * Run prepared statement s with n text parameters (NULL: SQL NULL).
 * Returns the result when it worked (the caller clears it), or NULL with
 * *transient and *msg set.
 */
static PGresult *
apg_run(struct audit_pg *a, enum apg_st s, int n, const char *const *v,
    int *transient, char *msg, size_t msgsz)
{
	char		 name[16];
	PGresult	*r;
	ExecStatusType	 st;

	snprintf(name, sizeof(name), "a%d", (int)s);
	r = PQexecPrepared(a->c, name, n, v, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return (r);
	*transient = store_pg_transient(a->c, r);
	store_pg_error(a->c, r, msg, msgsz);
	PQclear(r);
	return (NULL);
}

/* Run s and drop its result: 0, or -1 with *transient and msg set. */
static int
apg_do(struct audit_pg *a, enum apg_st s, int n, const char *const *v,
    int *transient, char *msg, size_t msgsz)
{
	PGresult	*r;

	if ((r = apg_run(a, s, n, v, transient, msg, msgsz)) == NULL)
		return (-1);
	PQclear(r);
	return (0);
}

/* "" is NULL (unknown address, no user), as in SQLite. */
static const char *
apg_text(const char *v)
{
	return (v != NULL && v[0] == '\0' ? NULL : v);
}

#define APG_I64(buf, v)	(snprintf((buf), sizeof(buf), "%lld", \
	(long long)(v)), (const char *)(buf))

#define APG_DO(a, s, v, e)	apg_do((a), (s), \
	(int)(sizeof(v) / sizeof((v)[0])), (v), &(e)->transient, (e)->msg, \
	sizeof((e)->msg))
#define APG_RUN(a, s, v, e)	apg_run((a), (s), \
	(int)(sizeof(v) / sizeof((v)[0])), (v), &(e)->transient, (e)->msg, \
	sizeof((e)->msg))

/* One int64 from the first row of r, which is cleared. */
static int64_t
apg_one(PGresult *r)
{
	int64_t	 v = -1;

	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return (v);
}

/* The client's newest download of the job, whether it is open, and
 * (for a limited job) how many downloads the job has opened. */
static int
apg_find_open(struct audit_pg *a, const struct audit_entry *e, int64_t *id,
    int *open, int64_t *opened, struct apg_err *er)
{
	char		 max[24];
	const char	*v[4] = { e->job_id, apg_text(e->remote_addr),
	    apg_text(e->remote_user), APG_I64(max, e->max_downloads) };
	PGresult	*r;

	*id = -1;
	*open = 0;
	*opened = 0;
	if ((r = APG_RUN(a, PS_FIND, v, er)) == NULL)
		return (-1);
	if (PQntuples(r) > 0) {
		if (!PQgetisnull(r, 0, 0)) {
			*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
			*open = policy_download_open(strtoll(PQgetvalue(r, 0,
			    1), NULL, 10), atoi(PQgetvalue(r, 0, 2)),
			    e->started_at, e->window);
		}
		*opened = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	}
	PQclear(r);
	return (0);
}

/* Open a download for e with its first response, or join t's with one
 * more response: one statement either way. */
static int
apg_respond(struct audit_pg *a, const struct audit_entry *e,
    struct audit_ticket *t, struct apg_err *er)
{
	char		 b[7][24];
	const char	*v[10];
	PGresult	*r;
	int		 n = 0;

	if (t->opened) {
		v[n++] = e->job_id;
		v[n++] = apg_text(e->remote_addr);
		v[n++] = apg_text(e->remote_user);
		v[n++] = APG_I64(b[0], e->started_at);
		v[n++] = APG_I64(b[1], e->file_size);
	} else {
		v[n++] = APG_I64(b[1], t->download);
		v[n++] = e->job_id;
		v[n++] = APG_I64(b[0], e->started_at);
		v[n++] = apg_text(e->remote_addr);
		v[n++] = apg_text(e->remote_user);
	}
	v[n++] = APG_I64(b[2], e->range_start);
	v[n++] = APG_I64(b[3], e->range_end);
	v[n++] = APG_I64(b[4], e->status);
	v[n++] = APG_I64(b[5], a->pid);
	v[n++] = a->host;
	if ((r = apg_run(a, t->opened ? PS_OPEN : PS_JOIN, n, v,
	    &er->transient, er->msg, sizeof(er->msg))) == NULL)
		return (-1);
	if (PQntuples(r) != 1) {	/* the download went: not joined */
		PQclear(r);
		snprintf(er->msg, sizeof(er->msg), "download %lld is gone",
		    (long long)t->download);
		return (-1);
	}
	if (t->opened) {
		t->download = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		t->response = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		PQclear(r);
	} else
		t->response = apg_one(r);
	return (0);
}

/*
 * The start of one response, under its job's lock: join the client's
 * open download, or open one if the limit allows, with the response.
 */
static int
apg_rec_begin(struct audit_pg *a, struct audit_record *r, struct apg_err *er)
{
	const struct audit_entry *e = r->entry;
	struct audit_ticket *t = &r->ticket;
	int64_t		 opened;
	int		 open;

	*t = (struct audit_ticket){ -1, -1, 0, apg_key(e->job_id) };
	if (apg_find_open(a, e, &t->download, &open, &opened, er) == -1)
		return (-1);
	switch (policy_download(open, e->max_downloads, opened)) {
	case POLICY_LIMIT:
		t->download = -1;
		r->res = AUDIT_LIMIT;
		return (0);
	case POLICY_JOIN:
		break;
	case POLICY_OPEN:
		t->opened = 1;
		break;
	}
	if (apg_respond(a, e, t, er) == -1)
		return (-1);
	r->res = t->opened ? AUDIT_OPENED : AUDIT_JOINED;
	return (0);
}

/* A download that handed nothing over and has nothing in flight goes. */
static int
apg_drop_idle(struct audit_pg *a, int64_t id, struct apg_err *er)
{
	char		 b[24];
	const char	*v[1] = { APG_I64(b, id) };
	PGresult	*r;
	int		 idle;

	if ((r = APG_RUN(a, PS_DL_IDLE, v, er)) == NULL)
		return (-1);
	idle = PQntuples(r) > 0;
	PQclear(r);
	if (!idle)
		return (0);
	if (APG_DO(a, PS_DL_DETACH, v, er) == -1)
		return (-1);
	return (APG_DO(a, PS_DL_DROP, v, er));
}

/*
 * A response ends, and its download (as audit_sqlite.c) takes what it
 * handed over: bytes, the range covered (merged into spans), whether
 * every byte is now covered, and its last activity. A download that
 * still has handed nothing over may be idle: then it goes.
 */
static int
apg_rec_end(struct audit_pg *a, struct audit_record *r, struct apg_err *er)
{
	const struct audit_final *f = &r->fin;
	char		 b[11][24], text[SPANS_TEXT_SIZE];
	const char	*v[8], *sv[6];
	struct spans	 sp;
	PGresult	*res;
	int64_t		 id = r->ticket.download, size;
	int		 complete;

	v[0] = APG_I64(b[0], r->ticket.response);
	v[1] = APG_I64(b[1], f->status);
	v[2] = APG_I64(b[2], f->range_start);
	v[3] = APG_I64(b[3], f->range_end);
	v[4] = APG_I64(b[4], f->bytes);
	v[5] = APG_I64(b[5], f->duration_ms);
	v[6] = f->outcome;
	v[7] = APG_I64(b[6], id);
	if (id < 0)
		return (apg_do(a, PS_FINISH, 7, v, &er->transient, er->msg,
		    sizeof(er->msg)));
	if ((res = APG_RUN(a, PS_FINISH_GET, v, er)) == NULL)
		return (-1);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return (0);	/* its download is gone */
	}
	size = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (spans_parse(PQgetvalue(res, 0, 1), &sp) == -1)
		log_warnx("event=audit_error op=end download=%lld "
		    "msg=\"unreadable spans: coverage starts over\"",
		    (long long)id);
	complete = atoi(PQgetvalue(res, 0, 2));
	PQclear(res);
	if (f->handed > 0)
		spans_add(&sp, f->handed_first, f->handed_first + f->handed - 1);
	if (size >= 0 && (size > 0 ? spans_covered(&sp) >= size : f->whole))
		complete = 1;
	if (spans_format(&sp, text, sizeof(text)) == -1)
		text[0] = '\0';
	sv[0] = v[7];
	sv[1] = APG_I64(b[7], f->ended_at);
	sv[2] = APG_I64(b[8], f->handed);
	sv[3] = APG_I64(b[9], spans_covered(&sp));
	sv[4] = text;
	sv[5] = APG_I64(b[10], complete);
	if (APG_DO(a, PS_DL_SET, sv, er) == -1)
		return (-1);
	/* Bytes handed over, or complete: it counted, and stays. */
	if (f->handed > 0 || complete)
		return (0);
	return (apg_drop_idle(a, id, er));
}

static int
apg_rec_cancel(struct audit_pg *a, struct audit_record *r,
    struct apg_err *er)
{
	char		 rb[24], db[24];
	const char	*rv[1] = { APG_I64(rb, r->ticket.response) };
	const char	*dv[1] = { APG_I64(db, r->ticket.download) };

	if (APG_DO(a, PS_CANCEL, rv, er) == -1)
		return (-1);
	if (r->ticket.download < 0)
		return (0);
	if (APG_DO(a, PS_UNJOIN, dv, er) == -1)
		return (-1);
	return (apg_drop_idle(a, r->ticket.download, er));
}

static int
apg_key_cmp(const void *x, const void *y)
{
	int64_t	 a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a < b ? -1 : a > b);
}

/*
 * Begin the batch's transaction and lock its records' jobs, in ascending
 * key order, in one round trip: "BEGIN; SELECT pg_advisory_xact_lock(k)
 * FROM unnest('{k1,k2,...}'::bigint[])" (the keys are numbers sluice
 * made, so they go in the text).
 */
static int
apg_begin(struct audit_pg *a, struct audit_record *b, size_t n,
    struct apg_err *er)
{
	static const char head[] = "BEGIN; SELECT pg_advisory_xact_lock(k) "
	    "FROM unnest('{", tail[] = "}'::bigint[]) AS k";
	int64_t		 keys[AUDIT_RETRY_MAX + AUDIT_QUEUE_MAX];
	char		 sql[sizeof(head) + sizeof(tail) +
			    (AUDIT_RETRY_MAX + AUDIT_QUEUE_MAX) * 21];
	size_t		 i, k = 0, off;

	for (i = 0; i < n && k < sizeof(keys) / sizeof(keys[0]); i++)
		if (b[i].kind == AUDIT_REC_BEGIN)
			keys[k++] = apg_key(b[i].entry->job_id);
		else if (b[i].ticket.lock != 0)
			keys[k++] = b[i].ticket.lock;
	qsort(keys, k, sizeof(keys[0]), apg_key_cmp);
	off = (size_t)snprintf(sql, sizeof(sql), "%s", head);
	for (i = 0; i < k; i++)
		if (i == 0 || keys[i] != keys[i - 1])
			off += (size_t)snprintf(sql + off, sizeof(sql) - off,
			    "%s%lld", i > 0 ? "," : "", (long long)keys[i]);
	snprintf(sql + off, sizeof(sql) - off, "%s", tail);
	return (apg_simple(a->c, sql, er));
}

static int
apg_rec_apply(struct audit_pg *a, struct audit_record *r, struct apg_err *er)
{
	er->msg[0] = '\0';
	er->transient = 0;
	if (r->kind == AUDIT_REC_BEGIN)
		return (apg_rec_begin(a, r, er));
	if (r->kind == AUDIT_REC_CANCEL)
		return (apg_rec_cancel(a, r, er));
	return (apg_rec_end(a, r, er));
}

/*
 * Each record in a savepoint; one that fails rolls back alone. A batch of
 * one needs none: if it fails, the transaction is rolled back. -1: the
 * transaction itself failed (er says why).
 */
static int
apg_records(struct audit_pg *a, struct audit_record *b, size_t n,
    struct apg_err *er)
{
	struct apg_err	 re;
	size_t		 i;

	if (n == 1 && apg_rec_apply(a, &b[0], &re) == -1) {
		b[0].failed = 1;
		b[0].transient = re.transient;
		audit_rec_log(&b[0], "record", n, re.msg);
		*er = re;
		if (PQstatus(a->c) != CONNECTION_OK ||
		    apg_simple(a->c, "ROLLBACK", er) == -1)
			return (-1);
		return (1);
	}
	for (i = 0; n > 1 && i < n; i++) {
		if (apg_simple(a->c, "SAVEPOINT rec", er) == -1)
			return (-1);
		if (apg_rec_apply(a, &b[i], &re) == 0) {
			if (apg_simple(a->c, "RELEASE rec", er) == -1)
				return (-1);
			continue;
		}
		b[i].failed = 1;
		b[i].transient = re.transient;
		audit_rec_log(&b[i], "record", n, re.msg);
		if (PQstatus(a->c) != CONNECTION_OK ||
		    apg_simple(a->c, "ROLLBACK TO rec; RELEASE rec", er) == -1) {
			*er = re;
			return (-1);
		}
	}
	return (0);
}

/* The batch: BEGIN, the jobs' locks, the records, COMMIT. */
static int
apg_batch(struct audit_pg *a, struct audit_record *b, size_t n,
    struct apg_err *er)
{
	size_t	 i;

	int	 rc;

	for (i = 0; i < n; i++)
		b[i].failed = 0;
	if (apg_begin(a, b, n, er) == -1) {
		if (PQstatus(a->c) == CONNECTION_OK &&
		    PQtransactionStatus(a->c) != PQTRANS_IDLE)
			(void)apg_simple(a->c, "ROLLBACK", NULL);
		return (-1);
	}
	if ((rc = apg_records(a, b, n, er)) == 1)
		return (0);	/* its one record failed, and is rolled back */
	if (rc == -1 || apg_simple(a->c, "COMMIT", er) == -1) {
		if (PQstatus(a->c) == CONNECTION_OK &&
		    PQtransactionStatus(a->c) != PQTRANS_IDLE)
			(void)apg_simple(a->c, "ROLLBACK", NULL);
		return (-2);
	}
	return (0);
}

static void
apg_commit(void *p, pid_t pid, struct audit_record *b, size_t n)
{
	struct audit_pg	*a = p;
	struct apg_err	 er;
	size_t		 i;
	int		 tries, rc = -1, fresh;

	a->pid = pid;
	er.transient = 1;
	snprintf(er.msg, sizeof(er.msg), "PostgreSQL unreachable");
	for (tries = 0; tries < 2; tries++) {
		fresh = a->c == NULL;
		if (apg_conn(a, tries > 0) == NULL)
			break;
		if ((rc = apg_batch(a, b, n, &er)) == 0)
			break;
		if (PQstatus(a->c) != CONNECTION_OK) {
			PQfinish(a->c);
			a->c = NULL;
			/* Only a batch that never began runs again. */
			if (rc == -1 && !fresh)
				continue;
		}
		break;
	}
	metrics_audit_batch(rc == 0);
	if (rc == 0)
		return;
	for (i = 0; i < n; i++) {
		if (!b[i].failed) {
			audit_rec_log(&b[i], "batch", n, er.msg);
			b[i].transient = a->c == NULL || er.transient;
		}
		b[i].failed = 1;
	}
}

static void *
apg_open(const char *spec, int busy_ms, void (*nudge)(void *), void *arg,
    char *err, size_t errsz)
{
	struct audit_pg	*a;

	(void)nudge;
	(void)arg;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errsz, "audit writer: %s", strerror(errno));
		return (NULL);
	}
	a->busy_ms = busy_ms > 0 ? busy_ms : AUDIT_BUSY_MS;
	snprintf(a->spec, sizeof(a->spec), "%s", spec);
	if (gethostname(a->host, sizeof(a->host)) == -1)
		a->host[0] = '\0';
	a->host[sizeof(a->host) - 1] = '\0';
	/* In a worker, after main's audit_prepare found PostgreSQL: if it
	 * is away now, the batches reconnect (and fail until it is back). */
	if ((a->c = apg_connect(spec, a->busy_ms, 1, err, errsz)) == NULL) {
		reopen_log_failed(&apg_failed_logged, "db_unavailable", err);
		(void)store_pg_retry_due(&a->retry_ms, 1);
	}
	return (a);
}

static void
apg_close(void *p)
{
	struct audit_pg	*a = p;

	if (a == NULL)
		return;
	PQfinish(a->c);
	free(a);
}

static void
apg_checkpoint(void *p)
{
	(void)p;	/* PostgreSQL checkpoints by itself */
}

/* Run sql with n parameters on c; the result, or NULL with err set. */
static PGresult *
apg_params(PGconn *c, const char *sql, int n, const char *const *v,
    char *err, size_t errsz)
{
	PGresult	*r = PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);
	ExecStatusType	 st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return (r);
	store_pg_error(c, r, err, errsz);
	PQclear(r);
	return (NULL);
}

/*
 * Close the rows left 'started' by workers of this host that no longer
 * run (kill -9 mid-download, or a previous run). Rows of other hosts,
 * and of live workers here, are theirs. Returns the rows closed, or -1
 * (logged).
 */
static int
apg_close_lost_on(PGconn *c, const char *host, pid_t self)
{
	char		 err[256], pb[16], now[24];
	const char	*hv[1] = { host }, *v[3];
	PGresult	*r;
	int		 i, closed = 0;

	if ((r = apg_params(c, apg_lost_pids, 1, hv, err, sizeof(err))) ==
	    NULL)
		goto fail;
	for (i = 0; i < PQntuples(r); i++) {
		pid_t		 pid = (pid_t)atoi(PQgetvalue(r, i, 0));
		PGresult	*u;

		if (pid == self || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		v[0] = APG_I64(pb, pid);
		v[1] = host;
		v[2] = APG_I64(now, time(NULL));
		if ((u = apg_params(c, apg_lost_touch, 3, v, err,
		    sizeof(err))) == NULL) {
			PQclear(r);
			goto fail;
		}
		PQclear(u);
		if ((u = apg_params(c, apg_lost_close, 2, v, err,
		    sizeof(err))) == NULL) {
			PQclear(r);
			goto fail;
		}
		closed += atoi(PQcmdTuples(u));
		PQclear(u);
	}
	PQclear(r);
	if (closed > 0)
		log_warnx("event=audit_lost rows=%d msg=\"responses of a "
		    "worker that died\"", closed);
	return (closed);
fail:
	log_warnx("event=audit_error op=close_lost error=\"%s\"", err);
	return (-1);
}

/* After an upkeep statement: a broken connection goes, and the next
 * upkeep reconnects (at most once per STORE_PG_RETRY_MS). */
static int
apg_upkept(struct audit_pg *a, int n)
{
	if (n == -1 && a->c != NULL && PQstatus(a->c) != CONNECTION_OK) {
		PQfinish(a->c);
		a->c = NULL;
	}
	return (n);
}

static int
apg_close_lost(void *p, pid_t self)
{
	struct audit_pg	*a = p;

	if (apg_conn(a, 0) == NULL)
		return (-1);
	return (apg_upkept(a, apg_close_lost_on(a->c, a->host, self)));
}

/* Upkeep and sluicectl: one statement deleting up to a batch of rows
 * (sql takes the time and the batch size). The rows, or -1 (logged). */
static int
apg_prune_on(PGconn *c, const char *sql, int64_t before)
{
	char		 err[256], bb[24], nb[16];
	const char	*v[2];
	PGresult	*r;
	int		 n;

	v[0] = APG_I64(bb, before);
	v[1] = APG_I64(nb, AUDIT_PRUNE_BATCH);
	if ((r = apg_params(c, sql, 2, v, err, sizeof(err))) == NULL) {
		log_warnx("event=audit_error op=prune error=\"%s\"", err);
		return (-1);
	}
	n = atoi(PQcmdTuples(r));
	PQclear(r);
	return (n);
}

static int
apg_prune_batch(void *p, int64_t before)
{
	struct audit_pg	*a = p;

	if (apg_conn(a, 0) == NULL)
		return (-1);
	return (apg_upkept(a, apg_prune_on(a->c, apg_prune_responses,
	    before)));
}

/* *cursor only says whether a full batch went (so more may be left). */
static int
apg_prune_dl(void *p, int64_t before, int64_t *cursor, int young_stop)
{
	struct audit_pg	*a = p;
	int		 n;

	(void)young_stop;	/* last_at < before: opened before it too */
	*cursor = INT64_MIN;
	if (apg_conn(a, 0) == NULL)
		return (-1);
	if ((n = apg_upkept(a, apg_prune_on(a->c, apg_prune_downloads,
	    before))) == AUDIT_PRUNE_BATCH)
		*cursor = 0;
	return (n);
}

const struct audit_ops audit_pg_ops = {
	apg_open, apg_close, apg_commit, apg_checkpoint, apg_close_lost,
	apg_prune_batch, apg_prune_dl
};

/*
 * Create what is missing of sql/pg/state.sql, under an advisory lock (two
 * hosts starting together must not both create), and refuse a newer
 * version. Returns the connection, or NULL with err set.
 */
static PGconn *
apg_schema(const char *spec, int statement_ms, char *err, size_t errsz)
{
	char		 what[256], msg[256];
	struct apg_err	 er;
	PGconn		*c;
	PGresult	*r;
	int64_t		 version;

	if ((c = store_pg_connect(spec, "sluice", AUDIT_BUSY_MS * 10,
	    statement_ms, err, errsz)) == NULL)
		return (NULL);
	if (apg_simple(c, "BEGIN; SELECT pg_advisory_xact_lock("
	    STORE_PG_SCHEMA_LOCK ")", &er) == -1 ||
	    apg_simple(c, "SET LOCAL client_min_messages = warning", &er) ==
	    -1 || apg_simple(c, sql_pg_state, &er) == -1 ||
	    apg_simple(c, "COMMIT", &er) == -1)
		goto fail;
	r = PQexec(c, "SELECT max(version) FROM state_version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		store_pg_error(c, r, er.msg, sizeof(er.msg));
		PQclear(r);
		goto fail;
	}
	if ((version = apg_one(r)) > AUDIT_VERSION) {
		snprintf(err, errsz, "state database %s: version %lld is newer "
		    "than this sluice's (%d)", store_describe(spec, what,
		    sizeof(what)), (long long)version, AUDIT_VERSION);
		PQfinish(c);
		return (NULL);
	}
	return (c);
fail:
	snprintf(err, errsz, "state database %s: %s", store_describe(spec,
	    what, sizeof(what)), store_pg_error(c, NULL, msg, sizeof(msg))[0] &&
	    er.msg[0] == '\0' ? msg : er.msg);
	PQfinish(c);
	return (NULL);
}

int
audit_pg_migrate(const char *spec, int *migrated, char *err, size_t errsz)
{
	PGconn	*c;

	*migrated = 0;
	if ((c = apg_schema(spec, 0, err, errsz)) == NULL)
		return (-1);
	PQfinish(c);
	return (0);
}

/* Startup: the tables, then this host's rows of dead workers closed. */
int
audit_pg_prepare(const char *spec, char *err, size_t errsz)
{
	char	 host[APG_HOST_MAX + 1];
	PGconn	*c;

	if ((c = apg_schema(spec, 0, err, errsz)) == NULL)
		return (-1);
	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	(void)apg_close_lost_on(c, host, getpid());
	PQfinish(c);
	return (0);
}

int64_t
audit_pg_prune(const char *spec, int64_t before, char *err, size_t errsz)
{
	char		 what[256];
	PGconn		*c;
	int64_t		 total = 0;
	int		 n;

	if ((c = store_pg_connect(spec, "sluicectl", AUDIT_BUSY_MS * 5,
	    APG_ADMIN_MS, err, errsz)) == NULL)
		return (-1);
	while ((n = apg_prune_on(c, apg_prune_responses, before)) > 0)
		total += n;
	while (n == 0 && (n = apg_prune_on(c, apg_prune_downloads, before)) >
	    0)
		total += n;
	if (n == -1) {
		snprintf(err, errsz, "state database %s: prune failed after "
		    "%lld rows (the log line above says why)",
		    store_describe(spec, what, sizeof(what)),
		    (long long)total);
		total = -1;
	}
	PQfinish(c);
	return (total);
}

/* Plain VACUUM (ANALYZE): space is reused, and no table is locked against
 * the workers (VACUUM FULL would be, and they would answer 503). */
int
audit_pg_vacuum(const char *spec, char *err, size_t errsz)
{
	static const char *const tables[] = { "downloads", "responses",
	    "download_counts" };
	char		 what[256], sql[64];
	struct apg_err	 er;
	PGconn		*c;
	size_t		 i;

	if ((c = store_pg_connect(spec, "sluicectl", AUDIT_BUSY_MS * 5,
	    APG_ADMIN_MS, err, errsz)) == NULL)
		return (-1);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "VACUUM (ANALYZE) %s", tables[i]);
		if (apg_simple(c, sql, &er) == -1) {
			snprintf(err, errsz, "state database %s: vacuum: %s",
			    store_describe(spec, what, sizeof(what)), er.msg);
			PQfinish(c);
			return (-1);
		}
	}
	PQfinish(c);
	return (0);
}
