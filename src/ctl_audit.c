/*
 * ctl_audit: sluice's state database (version 2, sql/state.sql), read
 * only. `sluicectl audit` lists downloads, newest opened first; `show`
 * lists one job's, with the downloads it has used against its limit;
 * `list` attaches the database to count each job's. A download is one
 * client (remote_addr, remote_user) fetching one job, however many
 * responses that took; with --responses each download's responses are
 * printed beneath it.
 *
 * Each command reads in one transaction (one snapshot, so a download and
 * its responses agree), copies the rows out (ctl_rows), and prints after:
 * an aligned table, or JSON.
 *
 * The state database is SQLite or PostgreSQL (ctl_db), whichever the
 * jobs database is: list counts each job's downloads in it, by id. Its
 * version is SQLite's user_version, or the row of PostgreSQL's
 * state_version table; a PostgreSQL database without sluice's tables is
 * one sluice has not started on yet, as a missing SQLite file is.
 *
 * It never writes and never migrates: a version 1 database is refused
 * with a sentence that says to run `sluicectl init`, because a sluice of
 * version 1 may still be writing it.
 *
 * Workload: an operator's listing. audit walks downloads by id from the
 * newest and stops at --limit; a job's downloads come from the
 * downloads_client index, their responses from responses_download.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl_audit.h"
#include "ctl_db.h"
#include "ctl_out.h"
#include "ctl_rows.h"
#include "policy.h"
#include "sluicectl.h"
#include "store.h"

/* The columns of CTL_AUDIT_DL and CTL_AUDIT_RS, in order. */
enum {
	DL_ID, DL_JOB, DL_ADDR, DL_USER, DL_OPENED, DL_LAST, DL_RESPONSES,
	DL_BYTES, DL_SIZE, DL_COVERED, DL_SPANS, DL_COMPLETE, DL_IN_FLIGHT
};
enum {
	RS_ID, RS_DOWNLOAD, RS_JOB, RS_STARTED, RS_ADDR, RS_USER, RS_START,
	RS_END, RS_STATUS, RS_COUNTS, RS_BYTES, RS_MS, RS_OUTCOME, RS_PID
};

/* A response of download d.id is in flight (the responses_live index). */
#define CTL_AUDIT_LIVE \
	"EXISTS (SELECT 1 FROM responses r WHERE r.download_id = d.id " \
	"AND r.outcome = 'started')"

#define CTL_AUDIT_DL \
	"SELECT d.id, d.job_id, d.remote_addr, d.remote_user, d.opened_at, " \
	"d.last_at, d.responses, d.bytes_sent, d.file_size, d.covered, " \
	"d.spans, d.complete, " CTL_AUDIT_LIVE " AS in_flight " \
	"FROM downloads d "

#define CTL_AUDIT_RS \
	"SELECT id, download_id, job_id, started_at, remote_addr, " \
	"remote_user, range_start, range_end, status, counts, bytes_sent, " \
	"duration_ms, outcome, pid FROM responses "

/*
 * ?1 job (NULL: any), ?2 since (NULL: any), ?3 limit (INT64_MAX: none;
 * PostgreSQL refuses SQLite's -1). Active since: its last activity
 * (opened, or a response's end) at or after ?2, or a response of it in
 * flight now (one that began before ?2 and is still sending). Newest
 * opened first: ids grow with opened_at. The CASTs give PostgreSQL the
 * type of a parameter tested for NULL.
 */
#define CTL_AUDIT_FILTER \
	"WHERE (CAST(?1 AS TEXT) IS NULL OR d.job_id = ?1) AND " \
	"(CAST(?2 AS BIGINT) IS NULL OR d.last_at >= ?2 OR " CTL_AUDIT_LIVE \
	") ORDER BY d.id DESC LIMIT ?3"

static const char ctl_audit_dl_sql[] = CTL_AUDIT_DL CTL_AUDIT_FILTER;
static const char ctl_audit_rs_sql[] = CTL_AUDIT_RS
    "WHERE download_id IN (SELECT d.id FROM downloads d " CTL_AUDIT_FILTER
    ") ORDER BY download_id, id";

/* One job's, oldest first (?1: the job). */
static const char ctl_audit_job_dl_sql[] = CTL_AUDIT_DL
    "WHERE d.job_id = ?1 ORDER BY d.id";
static const char ctl_audit_job_rs_sql[] = CTL_AUDIT_RS
    "WHERE download_id IN (SELECT id FROM downloads WHERE job_id = ?1) "
    "ORDER BY download_id, id";
/* No index has responses.job_id: a scan, only for show --responses. */
static const char ctl_audit_job_loose_sql[] = CTL_AUDIT_RS
    "WHERE job_id = ?1 AND download_id IS NULL ORDER BY id";
/* Used against max_downloads, as sluice counts: rows, plus pruned ones. */
static const char ctl_audit_job_used_sql[] =
    "SELECT (SELECT count(*) FROM downloads WHERE job_id = ?1) + "
    "coalesce((SELECT pruned FROM download_counts WHERE job_id = ?1), 0), "
    "coalesce((SELECT pruned FROM download_counts WHERE job_id = ?1), 0)";

/* What a query selects by: ?1, and ?2 and ?3 where it has them. */
struct ctl_audit_filter {
	const char	*job;		/* NULL: any */
	int64_t		 since;		/* if has_since */
	int		 has_since;
	int64_t		 limit;		/* 0: none */
	int		 nparams;	/* 1 or 3 */
};

/* What ctl_audit_check found. */
enum ctl_audit_state {
	CTL_AUDIT_CURRENT,	/* version 2 */
	CTL_AUDIT_V1,		/* one row per response: migrate it */
	CTL_AUDIT_NEWER,
	CTL_AUDIT_OTHER,	/* no sluice tables: not initialised */
	CTL_AUDIT_MISSING	/* PostgreSQL: no sluice tables at all */
};

/* One integer of sql, into *v. Returns 0, or -1 after one line. */
static int
ctl_audit_int(struct ctl_db *db, const char *sql, int64_t *v)
{
	struct ctl_stmt	*st = NULL;
	int		 rc = -1, s;

	if (ctl_db_prepare(db, sql, &st) == -1)
		return (-1);
	if ((s = ctl_db_step(st)) == CTL_DB_ROW && ctl_db_int(st, 0, v))
		rc = 0;
	else if (s != -1)
		ctl_errx("%s: %s: not a number", ctl_db_name(db), sql);
	else
		ctl_db_errx(db, "state database");
	ctl_db_finalize(st);
	return (rc);
}

/*
 * PostgreSQL: the version is state_version's row. Returns the state with
 * *version set, CTL_AUDIT_MISSING when none of sluice's tables is there
 * (sluice makes them at its first start), or -1 after one line.
 */
static int
ctl_audit_check_pg(struct ctl_db *db, int64_t *version)
{
	int64_t	 has_version, has_downloads;

	*version = 0;
	if (ctl_audit_int(db, "SELECT to_regclass('state_version') IS NOT "
	    "NULL", &has_version) == -1 || ctl_audit_int(db, "SELECT "
	    "to_regclass('downloads') IS NOT NULL", &has_downloads) == -1)
		return (-1);
	if (!has_version)
		return (has_downloads ? CTL_AUDIT_OTHER : CTL_AUDIT_MISSING);
	if (ctl_audit_int(db, "SELECT coalesce(max(version), 0) FROM "
	    "state_version", version) == -1)
		return (-1);
	if (*version == CTL_AUDIT_VERSION)
		return (CTL_AUDIT_CURRENT);
	return (*version > CTL_AUDIT_VERSION ? CTL_AUDIT_NEWER :
	    CTL_AUDIT_OTHER);
}

/*
 * Which version the state database is, the way sluice tells (audit.c):
 * SQLite's user_version, and for 0 a downloads table with range_start
 * (one row per response). Returns the state with *version set, or -1
 * after one line.
 */
static int
ctl_audit_check(struct ctl_db *db, int64_t *version)
{
	int64_t	 v1 = 0;

	if (ctl_db_is_pg(db))
		return (ctl_audit_check_pg(db, version));
	if (ctl_audit_int(db, "PRAGMA user_version", version) == -1)
		return (-1);
	if (*version == CTL_AUDIT_VERSION)
		return (CTL_AUDIT_CURRENT);
	if (*version > CTL_AUDIT_VERSION)
		return (CTL_AUDIT_NEWER);
	if (ctl_audit_int(db, "SELECT count(*) FROM pragma_table_info("
	    "'downloads') WHERE name = 'range_start'", &v1) == -1)
		return (-1);
	return (*version == 0 && v1 > 0 ? CTL_AUDIT_V1 : CTL_AUDIT_OTHER);
}

/* One line saying why the state database db cannot be read. */
static void
ctl_audit_refuse(const char *cmd, struct ctl_db *db, int state,
    int64_t version)
{
	const char *name = ctl_db_name(db);

	if (state == CTL_AUDIT_V1)
		ctl_errx("%s: %s is a version 1 state database (one row per "
		    "response): run `sluicectl init` to migrate it (sluice "
		    "also does when it starts)", cmd, name);
	else if (state == CTL_AUDIT_NEWER)
		ctl_errx("%s: %s is a state database of version %" PRId64
		    ", newer than this sluicectl reads (%d)", cmd, name,
		    version, CTL_AUDIT_VERSION);
	else
		ctl_errx("%s: %s is not a sluice state database (version %"
		    PRId64 "): run `sluicectl init`", cmd, name, version);
}

/*
 * Open the state database spec for cmd, and check its version. Returns
 * 0 with *dbp set (the caller closes it), 1 when it does not exist yet
 * (no SQLite file; no sluice tables in PostgreSQL), 2 when it is not one
 * this sluicectl reads (after one line saying why), or -1 after one
 * line.
 */
int
ctl_audit_open(const char *spec, const char *cmd, struct ctl_db **dbp)
{
	struct stat	 st;
	struct ctl_db	*db = NULL;
	int64_t		 version;
	int		 state;

	*dbp = NULL;
	if (!store_is_pg(spec) && stat(spec, &st) == -1 && errno == ENOENT)
		return (1);
	if (ctl_db_open(spec, CTL_DB_EXISTING, &db) == -1)
		return (-1);
	if ((state = ctl_audit_check(db, &version)) != CTL_AUDIT_CURRENT) {
		if (state != -1 && state != CTL_AUDIT_MISSING)
			ctl_audit_refuse(cmd, db, state, version);
		ctl_db_close(db);
		return (state == -1 ? -1 : state == CTL_AUDIT_MISSING ? 1 : 2);
	}
	*dbp = db;
	return (0);
}

/*
 * The downloads each job of jobs has used (rows, plus those pruned), as
 * sluice counts them, into column used of its row, in one snapshot of
 * db: one indexed count per job (downloads_client), whichever backend
 * either database is. Returns 0, or -1 after one line.
 */
int
ctl_audit_used(struct ctl_db *db, struct ctl_rows *jobs, size_t id,
    size_t used)
{
	struct ctl_stmt	*st = NULL;
	struct ctl_val	*v;
	const char	*job;
	int64_t		 n;
	size_t		 i;
	int		 rc = -1;

	if (ctl_db_begin(db, CTL_DB_SNAPSHOT) == -1)
		return (-1);
	if (ctl_db_prepare(db, ctl_audit_job_used_sql, &st) == -1)
		goto done;
	for (i = 0; i < jobs->nrows; i++) {
		job = ctl_val_text(ctl_rows_get(jobs, i, id));
		if (ctl_db_reset(st) == -1 || ctl_db_bind_text(st, 1, job) ==
		    -1 || ctl_db_step(st) != CTL_DB_ROW) {
			ctl_db_errx(db, "downloads used");
			goto done;
		}
		if (!ctl_db_int(st, 0, &n)) {
			ctl_errx("%s: downloads used: not a number",
			    ctl_db_name(db));
			goto done;
		}
		/* The list's NULL AS downloads_used, replaced. */
		v = &jobs->v[i * jobs->ncols + used];
		free(v->s);
		v->s = NULL;
		if ((job = ctl_db_text(st, 0)) == NULL ||
		    ctl_val_set(v, CTL_VAL_INT, job, strlen(job)) == -1) {
			ctl_err("downloads used");
			goto done;
		}
		v->i = n;
	}
	rc = ctl_db_commit(db);
done:
	ctl_db_finalize(st);
	if (rc == -1)
		(void)ctl_db_rollback(db);
	return (rc);
}

/* Run sql, bound by f, into rows. Returns 0, or -1 after one line. */
static int
ctl_audit_query(struct ctl_db *db, const char *sql,
    const struct ctl_audit_filter *f, struct ctl_rows *rows)
{
	struct ctl_stmt	*st = NULL;
	int		 rc = -1;

	if (ctl_db_prepare(db, sql, &st) == -1)
		return (-1);
	if (ctl_db_bind_text(st, 1, f->job) == -1 ||
	    (f->nparams >= 3 && ((f->has_since ? ctl_db_bind_int(st, 2,
	    f->since) : ctl_db_bind_null(st, 2)) == -1 ||
	    ctl_db_bind_int(st, 3, f->limit > 0 ? f->limit : INT64_MAX) ==
	    -1)))
		ctl_db_errx(db, "state database: bind");
	else if (ctl_db_rows(st, rows, "state database") == 0)
		rc = 0;
	ctl_db_finalize(st);
	return (rc);
}

/*
 * The downloads of job id (oldest first), what it has used, and with
 * --responses their responses and the job's responses of no download;
 * one snapshot. Returns 0, or -1 after one line (s is the caller's to
 * free either way).
 */
int
ctl_audit_job(const struct ctl *c, struct ctl_db *db, const char *id,
    struct ctl_audit_set *s)
{
	struct ctl_audit_filter f = { id, 0, 0, 0, 1 };
	struct ctl_rows	 used;
	int		 rc = -1;

	memset(&used, 0, sizeof(used));
	if (ctl_db_begin(db, CTL_DB_SNAPSHOT) == -1)
		return (-1);
	if (ctl_audit_query(db, ctl_audit_job_dl_sql, &f, &s->downloads) ==
	    -1 || ctl_audit_query(db, ctl_audit_job_used_sql, &f, &used) == -1)
		goto done;
	if (c->responses &&
	    (ctl_audit_query(db, ctl_audit_job_rs_sql, &f, &s->responses) ==
	    -1 || ctl_audit_query(db, ctl_audit_job_loose_sql, &f,
	    &s->loose) == -1))
		goto done;
	if (used.nrows != 1 ||
	    !ctl_val_int(ctl_rows_get(&used, 0, 0), &s->used) ||
	    !ctl_val_int(ctl_rows_get(&used, 0, 1), &s->pruned)) {
		ctl_errx("state database: downloads used: not a number");
		goto done;
	}
	rc = ctl_db_commit(db);
done:
	if (rc == -1)
		(void)ctl_db_rollback(db);
	ctl_rows_free(&used);
	return (rc);
}

/*
 * Download i: 1 open, 0 closed; sluice's rule (policy.c): while a
 * response of it is in flight, and for the resume window after its last
 * activity.
 */
static int
ctl_audit_is_open(const struct ctl *c, const struct ctl_rows *d, size_t i)
{
	int64_t	 live = 0, last;

	(void)ctl_val_int(ctl_rows_get(d, i, DL_IN_FLIGHT), &live);
	if (!ctl_val_int(ctl_rows_get(d, i, DL_LAST), &last))
		return (live != 0);
	return (policy_download_open(last, live != 0, c->now,
	    c->resume_window));
}

/* How many of the downloads read are open. */
int64_t
ctl_audit_open_count(const struct ctl *c, const struct ctl_audit_set *s)
{
	int64_t	 n = 0;
	size_t	 i;

	for (i = 0; i < s->downloads.nrows; i++)
		n += ctl_audit_is_open(c, &s->downloads, i);
	return (n);
}

/* The responses of download i: rows [*from, *to) of s->responses. */
static void
ctl_audit_span(const struct ctl_audit_set *s, size_t i, size_t *from,
    size_t *to)
{
	int64_t	 id, v;

	*from = *to = 0;
	if (s->responses.ncols == 0 ||
	    !ctl_val_int(ctl_rows_get(&s->downloads, i, DL_ID), &id))
		return;
	*from = *to = ctl_rows_lower_int(&s->responses, RS_DOWNLOAD, id);
	while (*to < s->responses.nrows &&
	    ctl_val_int(ctl_rows_get(&s->responses, *to, RS_DOWNLOAD), &v) &&
	    v == id)
		(*to)++;
}

/* Cells of download i (with the job's when with_job) into row. */
static void
ctl_audit_dl_row(const struct ctl *c, const struct ctl_rows *d, size_t i,
    int with_job, char (*buf)[CTL_OUT_COVER_SIZE], const char **row)
{
	int64_t	 covered, size, complete;
	int	 n = 0;

	row[n++] = ctl_val_date(ctl_rows_get(d, i, DL_OPENED), buf[0],
	    sizeof(buf[0]));
	row[n++] = ctl_val_date(ctl_rows_get(d, i, DL_LAST), buf[1],
	    sizeof(buf[1]));
	if (with_job)
		row[n++] = ctl_val_text(ctl_rows_get(d, i, DL_JOB));
	row[n++] = ctl_val_text(ctl_rows_get(d, i, DL_ADDR));
	row[n++] = ctl_val_text(ctl_rows_get(d, i, DL_USER));
	row[n++] = ctl_val_text(ctl_rows_get(d, i, DL_RESPONSES));
	row[n++] = ctl_val_text(ctl_rows_get(d, i, DL_BYTES));
	if (ctl_val_int(ctl_rows_get(d, i, DL_COVERED), &covered) &&
	    ctl_val_int(ctl_rows_get(d, i, DL_SIZE), &size) &&
	    ctl_out_coverage(buf[2], sizeof(buf[2]), covered, size) == 0)
		row[n++] = buf[2];
	else
		row[n++] = ctl_val_text(ctl_rows_get(d, i, DL_COVERED));
	row[n++] = ctl_val_int(ctl_rows_get(d, i, DL_COMPLETE), &complete) &&
	    complete != 0 ? "yes" : "no";
	row[n++] = ctl_audit_is_open(c, d, i) ? "open" : "closed";
}

/*
 * Cells of response i into row: with the client (addr, user) when
 * with_client, for responses listed apart from a download.
 */
static void
ctl_audit_rs_row(const struct ctl_rows *r, size_t i, int with_client,
    char (*buf)[CTL_OUT_COVER_SIZE], const char **row)
{
	int64_t	 a, b;
	int	 n;

	buf[1][0] = '\0';
	if (ctl_val_int(ctl_rows_get(r, i, RS_START), &a) &&
	    ctl_val_int(ctl_rows_get(r, i, RS_END), &b)) {
		n = b < a ? snprintf(buf[1], sizeof(buf[1]), "-") :
		    snprintf(buf[1], sizeof(buf[1]), "%" PRId64 "-%" PRId64,
		    a, b);
		if (n < 0 || (size_t)n >= sizeof(buf[1]))
			buf[1][0] = '\0';
	}
	n = 0;
	row[n++] = ctl_val_date(ctl_rows_get(r, i, RS_STARTED), buf[0],
	    sizeof(buf[0]));
	if (with_client) {
		row[n++] = ctl_val_text(ctl_rows_get(r, i, RS_ADDR));
		row[n++] = ctl_val_text(ctl_rows_get(r, i, RS_USER));
	}
	row[n++] = ctl_val_text(ctl_rows_get(r, i, RS_STATUS));
	row[n++] = buf[1];
	row[n++] = ctl_val_text(ctl_rows_get(r, i, RS_BYTES));
	row[n++] = ctl_val_text(ctl_rows_get(r, i, RS_MS));
	row[n++] = ctl_val_text(ctl_rows_get(r, i, RS_OUTCOME));
}

/* A table of every response in r; laid out. Returns 0, or -1. */
static int
ctl_audit_rs_table(struct ctl_table *t, const struct ctl_rows *r,
    int with_client)
{
	static const char *const head[] = { "STARTED", "ADDR", "USER",
	    "STATUS", "RANGE", "BYTES", "MS", "OUTCOME" };
	static const char *const head_nocl[] = { "STARTED", "STATUS", "RANGE",
	    "BYTES", "MS", "OUTCOME" };
	char		 buf[2][CTL_OUT_COVER_SIZE];
	const char	*row[8];
	size_t		 i;

	if (with_client)
		ctl_table_init(t, 8, head, 1u << 3 | 1u << 5 | 1u << 6);
	else
		ctl_table_init(t, 6, head_nocl, 1u << 1 | 1u << 3 | 1u << 4);
	for (i = 0; i < r->nrows; i++) {
		ctl_audit_rs_row(r, i, with_client, buf, row);
		ctl_table_add(t, row);
	}
	return (ctl_table_layout(t));
}

/*
 * The downloads as a table (the job column when with_job), each one's
 * responses beneath it, indented, with --responses. 0, or -1 reported.
 */
static int
ctl_audit_table(const struct ctl *c, const struct ctl_audit_set *s,
    int with_job)
{
	static const char *const head[] = { "OPENED", "LAST", "JOB", "ADDR",
	    "USER", "RESP", "BYTES", "COVERED", "COMPLETE", "STATE" };
	static const char *const head_nojob[] = { "OPENED", "LAST", "ADDR",
	    "USER", "RESP", "BYTES", "COVERED", "COMPLETE", "STATE" };
	struct ctl_table dt, rt;
	char		 buf[3][CTL_OUT_COVER_SIZE];
	const char	*row[10];
	size_t		 i, k, from, to;
	int		 rc = -1;

	if (with_job)
		ctl_table_init(&dt, 10, head, 1u << 5 | 1u << 6);
	else
		ctl_table_init(&dt, 9, head_nojob, 1u << 4 | 1u << 5);
	ctl_table_init(&rt, 0, NULL, 0);
	for (i = 0; i < s->downloads.nrows; i++) {
		ctl_audit_dl_row(c, &s->downloads, i, with_job, buf, row);
		ctl_table_add(&dt, row);
	}
	if (ctl_table_layout(&dt) == -1 || (c->responses &&
	    ctl_audit_rs_table(&rt, &s->responses, 0) == -1)) {
		ctl_err("downloads");
		goto done;
	}
	ctl_table_print_head(&dt, stdout, "");
	for (i = 0; i < s->downloads.nrows; i++) {
		ctl_table_print_row(&dt, stdout, "", i);
		ctl_audit_span(s, i, &from, &to);
		if (from < to)
			ctl_table_print_head(&rt, stdout, "    ");
		for (k = from; k < to; k++)
			ctl_table_print_row(&rt, stdout, "    ", k);
	}
	rc = 0;
done:
	ctl_table_free(&dt);
	ctl_table_free(&rt);
	return (rc);
}

/* A 0/1 column as a JSON boolean (else as it is). */
static void
ctl_audit_json_bool(const struct ctl_val *v)
{
	int64_t	 n;

	if (ctl_val_int(v, &n))
		fputs(n != 0 ? "true" : "false", stdout);
	else
		ctl_val_json(stdout, v);
}

/*
 * Download i as a JSON object: its columns (complete and in_flight as
 * booleans), "open", and with --responses "response_rows", its responses.
 */
static void
ctl_audit_json_download(const struct ctl *c, const struct ctl_audit_set *s,
    size_t i)
{
	const struct ctl_rows *d = &s->downloads;
	size_t	 col, k, from, to;
	int	 first = 1;

	fputc('{', stdout);
	for (col = 0; col < d->ncols; col++) {
		ctl_json_key(stdout, d->names[col], &first);
		if (col == DL_COMPLETE || col == DL_IN_FLIGHT)
			ctl_audit_json_bool(ctl_rows_get(d, i, col));
		else
			ctl_val_json(stdout, ctl_rows_get(d, i, col));
	}
	ctl_json_key(stdout, "open", &first);
	fputs(ctl_audit_is_open(c, d, i) ? "true" : "false", stdout);
	if (c->responses) {
		ctl_json_key(stdout, "response_rows", &first);
		fputc('[', stdout);
		ctl_audit_span(s, i, &from, &to);
		for (k = from; k < to; k++) {
			if (k > from)
				fputc(',', stdout);
			ctl_rows_json_object(stdout, &s->responses, k);
		}
		fputc(']', stdout);
	}
	fputc('}', stdout);
}

/*
 * Print the downloads: a JSON array (no newline), or a table, with the
 * job column when with_job. Returns 0, or -1 after reporting.
 */
int
ctl_audit_print(const struct ctl *c, struct ctl_audit_set *s, int with_job)
{
	size_t	 i;

	if (!c->json)
		return (ctl_audit_table(c, s, with_job));
	fputc('[', stdout);
	for (i = 0; i < s->downloads.nrows; i++) {
		if (i > 0)
			fputc(',', stdout);
		ctl_audit_json_download(c, s, i);
	}
	fputc(']', stdout);
	return (0);
}

/*
 * Print the responses of no download (show --responses): a JSON array
 * (no newline), or a table with their clients. 0, or -1 after reporting.
 */
int
ctl_audit_print_loose(const struct ctl *c, struct ctl_audit_set *s)
{
	struct ctl_table t;
	size_t		 i;
	int		 rc = 0;

	if (c->json) {
		ctl_rows_json_array(stdout, &s->loose);
		return (0);
	}
	if (ctl_audit_rs_table(&t, &s->loose, 1) == -1) {
		ctl_err("responses");
		rc = -1;
	} else {
		ctl_table_print_head(&t, stdout, "");
		for (i = 0; i < s->loose.nrows; i++)
			ctl_table_print_row(&t, stdout, "", i);
	}
	ctl_table_free(&t);
	return (rc);
}

void
ctl_audit_free(struct ctl_audit_set *s)
{
	ctl_rows_free(&s->downloads);
	ctl_rows_free(&s->responses);
	ctl_rows_free(&s->loose);
}

/* Recent downloads, by --job, --since and --limit, in one snapshot. */
static int
ctl_audit_select(const struct ctl *c, struct ctl_db *db,
    struct ctl_audit_set *s)
{
	struct ctl_audit_filter f = { c->job, c->since, c->has_since,
	    c->limit, 3 };
	int	 rc = -1;

	if (ctl_db_begin(db, CTL_DB_SNAPSHOT) == -1)
		return (-1);
	if (ctl_audit_query(db, ctl_audit_dl_sql, &f, &s->downloads) == 0 &&
	    (!c->responses ||
	    ctl_audit_query(db, ctl_audit_rs_sql, &f, &s->responses) == 0))
		rc = ctl_db_commit(db);
	if (rc == -1)
		(void)ctl_db_rollback(db);
	return (rc);
}

/* sluicectl audit: recent downloads, newest opened first. */
int
ctl_audit_run(struct ctl *c)
{
	struct ctl_audit_set s;
	struct ctl_db	*db = NULL;
	char		 buf[CTL_DB_NAME_SIZE];
	const char	*name;
	int		 rc = CTL_EXIT_FAIL, o;

	memset(&s, 0, sizeof(s));
	name = ctl_db_describe(c->state_db, buf, sizeof(buf));
	if ((o = ctl_audit_open(c->state_db, "audit", &db)) == 1)
		ctl_errx("%s: %s (run `sluicectl init`)", name,
		    store_is_pg(c->state_db) ? "no sluice state tables" :
		    "no such database");
	if (o != 0 || ctl_audit_select(c, db, &s) == -1)
		goto done;
	ctl_db_close(db);
	db = NULL;
	/* Which database this is: a stale one would look like a quiet day. */
	if (!c->json)
		ctl_out_path_line("state database", name);
	if (ctl_audit_print(c, &s, 1) == -1)
		goto done;
	if (c->json)
		fputc('\n', stdout);
	rc = CTL_EXIT_OK;
done:
	ctl_audit_free(&s);
	ctl_db_close(db);
	return (rc);
}
