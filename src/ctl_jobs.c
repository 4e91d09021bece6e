/*
 * ctl_jobs: `sluicectl list`, `show` and `revoke`, over the exporter's
 * jobs database (and, for show, the downloads in sluice's state
 * database). Each command does its database work first, copying what it
 * found (ctl_rows, or a small struct), closes the databases, and then
 * prints it: an aligned table for people, or one JSON value for scripts.
 *
 * Either database may be SQLite or PostgreSQL (ctl_db), and the two need
 * not be the same kind: list reads the jobs, then counts each one's
 * downloads in the state database (ctl_audit_used).
 *
 * revoke writes in one short transaction (SQLite: BEGIN IMMEDIATE, with
 * the busy timeout of ctl_db_open; PostgreSQL: the job's row locked, with
 * its lock timeout), so the exporter is never held for long.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_audit.h"
#include "ctl_db.h"
#include "ctl_jobs.h"
#include "ctl_out.h"
#include "ctl_rows.h"
#include "job.h"
#include "sluicectl.h"

/*
 * ?1 status, ?2 owner (NULL: any), ?3 expired only, ?4 now. Expired as
 * sluice sees it: 410 from expires_at on. The last column is the
 * downloads used, NULL here: filled in from the state database when it
 * exists. Newest first, then by id bytewise, a NULL created_at last, as
 * SQLite sorts, on both backends (PostgreSQL's "C" collation is
 * bytewise; the CASTs type the parameters tested for NULL).
 */
#define CTL_JOBS_LIST_SQL(order_id) \
	"SELECT id, status, file_path, file_name, content_type, file_size, " \
	"sha256, owner, token_sha256, created_at, finished_at, expires_at, " \
	"max_downloads, error, NULL AS downloads_used FROM export_jobs " \
	"WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1) AND " \
	"(CAST(?2 AS TEXT) IS NULL OR owner = ?2) " \
	"AND (?3 = 0 OR (expires_at IS NOT NULL AND expires_at <= ?4)) " \
	"ORDER BY created_at DESC NULLS LAST, " order_id

static const char ctl_jobs_list_sql[] = CTL_JOBS_LIST_SQL("id");
static const char ctl_jobs_list_pg_sql[] =
    CTL_JOBS_LIST_SQL("id COLLATE \"C\"");

/* The columns of the list's rows that the table reads. */
enum {
	LIST_ID = 0, LIST_STATUS = 1, LIST_NAME = 3, LIST_SIZE = 5,
	LIST_OWNER = 7, LIST_TOKEN = 8, LIST_CREATED = 9, LIST_EXPIRES = 11,
	LIST_MAX = 12, LIST_USED = 14
};

/* What show found: the job's row, and its downloads if known. */
struct ctl_jobs_shown {
	struct ctl_rows	 job;
	struct ctl_audit_set dl;
	int		 have_state;	/* the state database exists */
};

/* What revoke did. */
struct ctl_jobs_revoked {
	const char	*id;
	char		*previous;	/* the status before, owned */
};

/*
 * The jobs list selects, by --status, --owner and --expired, then the
 * downloads each has used, when the state database exists and is one
 * this sluicectl reads (else they stay NULL, after one line saying why
 * for a database it refuses). Returns 0, or -1 after one line.
 */
static int
ctl_jobs_list_select(const struct ctl *c, struct ctl_rows *rows)
{
	struct ctl_db	*db = NULL, *sdb = NULL;
	struct ctl_stmt	*st = NULL;
	int		 rc = -1, state;

	if (ctl_db_open(c->db, CTL_DB_EXISTING, &db) == -1 ||
	    ctl_db_prepare(db, ctl_db_is_pg(db) ? ctl_jobs_list_pg_sql :
	    ctl_jobs_list_sql, &st) == -1)
		goto done;
	if (ctl_db_bind_text(st, 1, c->status) == -1 ||
	    ctl_db_bind_text(st, 2, c->owner) == -1 ||
	    ctl_db_bind_int(st, 3, c->expired) == -1 ||
	    ctl_db_bind_int(st, 4, c->now) == -1) {
		ctl_db_errx(db, "list: bind");
		goto done;
	}
	if (ctl_db_rows(st, rows, "list") == -1)
		goto done;
	ctl_db_finalize(st);
	st = NULL;
	ctl_db_close(db);
	db = NULL;
	if (c->state_db == NULL ||
	    (state = ctl_audit_open(c->state_db, "list", &sdb)) > 0)
		rc = 0;
	else if (state == 0)
		rc = ctl_audit_used(sdb, rows, LIST_ID, LIST_USED);
done:
	ctl_db_finalize(st);
	ctl_db_close(db);
	ctl_db_close(sdb);
	return (rc);
}

/* The EXPIRES cell: "never", the date (with " (expired)"), or the text. */
static const char *
ctl_jobs_expires(const struct ctl *c, const struct ctl_val *v, char *buf,
    size_t sz)
{
	char	 date[CTL_OUT_DATE_SIZE];
	int64_t	 exp;
	int	 n;

	if (v->type == CTL_VAL_NULL)
		return ("never");
	if (!ctl_val_int(v, &exp) || ctl_out_date(date, sizeof(date), exp) != 0)
		return (ctl_val_text(v));
	n = snprintf(buf, sz, "%s%s", date, exp <= c->now ? " (expired)" : "");
	if (n < 0 || (size_t)n >= sz) {
		/* Cannot happen with CTL_OUT_DATE_SIZE; the date alone then. */
		n = snprintf(buf, sz, "%s", date);
		if (n < 0 || (size_t)n >= sz)
			return (ctl_val_text(v));
	}
	return (buf);
}

/* The USED cell: "1/3", "2/-" (no limit), or "-" (no state database). */
static const char *
ctl_jobs_used(const struct ctl_rows *rows, size_t i, char *buf, size_t sz)
{
	int64_t	 used, max = 0;
	int	 has_max;

	if (!ctl_val_int(ctl_rows_get(rows, i, LIST_USED), &used))
		return ("-");
	has_max = ctl_val_int(ctl_rows_get(rows, i, LIST_MAX), &max);
	if (!has_max && ctl_rows_get(rows, i, LIST_MAX)->type != CTL_VAL_NULL)
		return (ctl_val_text(ctl_rows_get(rows, i, LIST_MAX)));
	if (ctl_out_used(buf, sz, used, has_max, max) == -1)
		return ("?");	/* cannot happen: CTL_OUT_USED_SIZE fits */
	return (buf);
}

/* The jobs as a table of the columns people read. Returns 0, or -1. */
static int
ctl_jobs_list_table(const struct ctl *c, const struct ctl_rows *rows)
{
	static const char *const head[] = { "ID", "STATUS", "SIZE",
	    "CREATED", "EXPIRES", "USED", "OWNER", "TOKEN", "NAME" };
	struct ctl_table t;
	char		 size[CTL_OUT_SIZE_SIZE], created[CTL_OUT_DATE_SIZE];
	char		 expires[64], used[CTL_OUT_USED_SIZE];
	size_t		 i;
	int		 rc;

	ctl_table_init(&t, 9, head, 1u << 2 | 1u << 5);
	for (i = 0; i < rows->nrows; i++) {
		const char *row[9];

		row[0] = ctl_val_text(ctl_rows_get(rows, i, LIST_ID));
		row[1] = ctl_val_text(ctl_rows_get(rows, i, LIST_STATUS));
		row[2] = ctl_val_size(ctl_rows_get(rows, i, LIST_SIZE), size,
		    sizeof(size));
		row[3] = ctl_val_date(ctl_rows_get(rows, i, LIST_CREATED),
		    created, sizeof(created));
		row[4] = ctl_jobs_expires(c, ctl_rows_get(rows, i,
		    LIST_EXPIRES), expires, sizeof(expires));
		row[5] = ctl_jobs_used(rows, i, used, sizeof(used));
		row[6] = ctl_val_text(ctl_rows_get(rows, i, LIST_OWNER));
		row[7] = ctl_rows_get(rows, i, LIST_TOKEN)->type ==
		    CTL_VAL_NULL ? "-" : "yes";
		row[8] = ctl_val_text(ctl_rows_get(rows, i, LIST_NAME));
		ctl_table_add(&t, row);
	}
	if ((rc = ctl_table_print(&t, stdout)) == -1)
		ctl_err("list");
	ctl_table_free(&t);
	return (rc);
}

/* sluicectl list: newest first. */
int
ctl_jobs_list(struct ctl *c)
{
	struct ctl_rows	 rows;
	int		 rc = CTL_EXIT_FAIL;

	memset(&rows, 0, sizeof(rows));
	if (ctl_jobs_list_select(c, &rows) == -1)
		goto done;
	if (c->json) {
		ctl_rows_json_array(stdout, &rows);
		fputc('\n', stdout);
	} else if (ctl_jobs_list_table(c, &rows) == -1)
		goto done;
	rc = CTL_EXIT_OK;
done:
	ctl_rows_free(&rows);
	return (rc);
}

/*
 * One field of show, for people: times with their date, sizes with their
 * human form, and what a NULL means for the columns where it means
 * something. Returns the text to print (buf, a constant, or v's text).
 */
static const char *
ctl_jobs_show_value(const struct ctl *c, const char *name,
    const struct ctl_val *v, char *buf, size_t sz)
{
	char	 human[CTL_OUT_DATE_SIZE + CTL_OUT_SIZE_SIZE];
	size_t	 nlen = strlen(name);
	int64_t	 n;
	int	 len;

	if (v->type == CTL_VAL_NULL) {
		if (strcmp(name, "expires_at") == 0)
			return ("never");
		if (strcmp(name, "max_downloads") == 0)
			return ("unlimited");
		if (strcmp(name, "owner") == 0)
			return ("- (anyone with the link)");
		if (strcmp(name, "token_sha256") == 0)
			return ("- (no token needed)");
		return ("-");
	}
	if (!ctl_val_int(v, &n))
		return (ctl_val_text(v));
	if (nlen > 3 && strcmp(name + nlen - 3, "_at") == 0 &&
	    ctl_out_date(human, sizeof(human), n) == 0) {
		len = snprintf(buf, sz, "%" PRId64 " (%s UTC%s)", n, human,
		    strcmp(name, "expires_at") == 0 && n <= c->now ?
		    ", expired" : "");
		return (len < 0 || (size_t)len >= sz ? ctl_val_text(v) : buf);
	}
	if (strcmp(name, "file_size") == 0 &&
	    ctl_out_size(human, sizeof(human), n) == 0) {
		len = snprintf(buf, sz, "%" PRId64 " (%s)", n, human);
		return (len < 0 || (size_t)len >= sz ? ctl_val_text(v) : buf);
	}
	return (ctl_val_text(v));
}

/*
 * The job's downloads, from the state database. A missing state database
 * is not an error: sluice creates it at its first start. Returns 0, or -1
 * after reporting.
 */
static int
ctl_jobs_show_downloads(const struct ctl *c, const char *id,
    struct ctl_jobs_shown *s)
{
	struct ctl_db	*sdb = NULL;
	int		 rc;

	if (c->state_db == NULL ||
	    (rc = ctl_audit_open(c->state_db, "show", &sdb)) == 1)
		return (0);
	if (rc != 0)
		return (-1);
	s->have_state = 1;
	rc = ctl_audit_job(c, sdb, id, &s->dl);
	ctl_db_close(sdb);
	return (rc);
}

/*
 * Every column of job id (exporters may add their own), then its
 * downloads. Returns 0, or an exit code after one line.
 */
static int
ctl_jobs_show_collect(const struct ctl *c, const char *id,
    struct ctl_jobs_shown *s)
{
	struct ctl_db	*db = NULL;
	struct ctl_stmt	*job = NULL;
	int		 rc = CTL_EXIT_FAIL;

	if (ctl_db_open(c->db, CTL_DB_EXISTING, &db) == -1 ||
	    ctl_db_prepare(db, "SELECT * FROM export_jobs WHERE id = ?1",
	    &job) == -1)
		goto done;
	if (ctl_db_bind_text(job, 1, id) == -1) {
		ctl_db_errx(db, "show: bind");
		goto done;
	}
	if (ctl_db_rows(job, &s->job, "show") == -1)
		goto done;
	if (s->job.nrows == 0) {
		ctl_errx("show: no job '%s'", id);
		rc = CTL_EXIT_NOTFOUND;
		goto done;
	}
	if (ctl_jobs_show_downloads(c, id, s) == -1)
		goto done;
	rc = 0;
done:
	ctl_db_finalize(job);
	ctl_db_close(db);
	return (rc);
}

/*
 * The job's max_downloads: 1 with *max set, 0 for none (NULL, or no
 * such column), -1 for a value that is not an integer (*text set).
 */
static int
ctl_jobs_show_max(const struct ctl_jobs_shown *s, int64_t *max,
    const char **text)
{
	const struct ctl_val *v;
	size_t	 i;

	for (i = 0; i < s->job.ncols; i++) {
		if (strcmp(s->job.names[i], "max_downloads") != 0)
			continue;
		v = ctl_rows_get(&s->job, 0, i);
		if (v->type == CTL_VAL_NULL)
			return (0);
		if (ctl_val_int(v, max))
			return (1);
		*text = ctl_val_text(v);
		return (-1);
	}
	return (0);
}

/*
 * The downloads part of show, for people: the table, the responses of
 * no download (--responses), and "N of M downloads used, K open".
 */
static int
ctl_jobs_show_dl_table(const struct ctl *c, struct ctl_jobs_shown *s)
{
	char		 line[CTL_OUT_USED_LINE_SIZE], buf[CTL_DB_NAME_SIZE];
	const char	*text = NULL, *name;
	int64_t		 max = 0;
	int		 has_max;

	name = c->state_db != NULL ? ctl_db_describe(c->state_db, buf,
	    sizeof(buf)) : "";
	if (!s->have_state) {
		printf("\ndownloads: unknown (no state database %s yet)\n",
		    name);
		return (0);
	}
	printf("\n");
	ctl_out_path_line("downloads, from state database", name);
	if (ctl_audit_print(c, &s->dl, 0) == -1)
		return (-1);
	if (c->responses && s->dl.loose.nrows > 0) {
		printf("\nresponses of no download:\n");
		if (ctl_audit_print_loose(c, &s->dl) == -1)
			return (-1);
	}
	if ((has_max = ctl_jobs_show_max(s, &max, &text)) == -1)
		printf("%" PRId64 " downloads used; max_downloads '%s' is not "
		    "a number", s->dl.used, text != NULL ? text : "");
	else if (ctl_out_used_line(line, sizeof(line), s->dl.used,
	    s->dl.pruned, has_max, max) == 0)
		fputs(line, stdout);
	else
		printf("%" PRId64 " downloads used", s->dl.used);
	printf(", %" PRId64 " open\n", ctl_audit_open_count(c, &s->dl));
	return (0);
}

/* What show found, as a field table and a downloads table. 0, or -1. */
static int
ctl_jobs_show_table(const struct ctl *c, struct ctl_jobs_shown *s)
{
	struct ctl_table t;
	char		 buf[128];
	size_t		 i;
	int		 rc;

	ctl_table_init(&t, 2, NULL, 0);
	for (i = 0; i < s->job.ncols; i++) {
		const char *row[2];

		row[0] = s->job.names[i];
		row[1] = ctl_jobs_show_value(c, s->job.names[i],
		    ctl_rows_get(&s->job, 0, i), buf, sizeof(buf));
		ctl_table_add(&t, row);
	}
	if ((rc = ctl_table_print(&t, stdout)) == -1)
		ctl_err("show");
	ctl_table_free(&t);
	if (rc == -1)
		return (-1);
	return (ctl_jobs_show_dl_table(c, s));
}

/*
 * What show found, as one JSON object: "job", "downloads" (null without
 * a state database), "downloads_used", "downloads_pruned",
 * "downloads_open", and with --responses "responses_without_download".
 */
static void
ctl_jobs_show_json(const struct ctl *c, struct ctl_jobs_shown *s)
{
	fputs("{\"job\":", stdout);
	ctl_rows_json_object(stdout, &s->job, 0);
	if (!s->have_state) {
		fputs(",\"downloads\":null,\"downloads_used\":null,"
		    "\"downloads_pruned\":null,\"downloads_open\":null}\n",
		    stdout);
		return;
	}
	fputs(",\"downloads\":", stdout);
	(void)ctl_audit_print(c, &s->dl, 0);	/* JSON cannot fail */
	printf(",\"downloads_used\":%" PRId64 ",\"downloads_pruned\":%"
	    PRId64 ",\"downloads_open\":%" PRId64, s->dl.used, s->dl.pruned,
	    ctl_audit_open_count(c, &s->dl));
	if (c->responses) {
		fputs(",\"responses_without_download\":", stdout);
		(void)ctl_audit_print_loose(c, &s->dl);
	}
	fputs("}\n", stdout);
}

/* sluicectl show ID: the job's fields, then its downloads. */
int
ctl_jobs_show(struct ctl *c)
{
	struct ctl_jobs_shown s;
	int		 rc;

	memset(&s, 0, sizeof(s));
	if ((rc = ctl_jobs_show_collect(c, c->args[0], &s)) != 0)
		goto done;
	rc = CTL_EXIT_FAIL;
	if (c->json)
		ctl_jobs_show_json(c, &s);
	else if (ctl_jobs_show_table(c, &s) == -1)
		goto done;
	rc = CTL_EXIT_OK;
done:
	ctl_rows_free(&s.job);
	ctl_audit_free(&s.dl);
	return (rc);
}

/*
 * In one write transaction, read the status (to report it, and to tell
 * an unknown id), then set 'revoked'. SQLite holds the write lock from
 * BEGIN IMMEDIATE; PostgreSQL locks the row as it reads it (FOR UPDATE),
 * so the status reported is the one replaced. Returns 0, or an exit code
 * after one line.
 */
static int
ctl_jobs_revoke_do(struct ctl_db *db, struct ctl_jobs_revoked *r)
{
	struct ctl_stmt	*sel = NULL, *upd = NULL;
	const char	*was;
	int		 rc = CTL_EXIT_FAIL, s;

	if (ctl_db_prepare(db, ctl_db_is_pg(db) ?
	    "SELECT status FROM export_jobs WHERE id = ?1 FOR UPDATE" :
	    "SELECT status FROM export_jobs WHERE id = ?1", &sel) == -1 ||
	    ctl_db_prepare(db, "UPDATE export_jobs SET status = 'revoked' "
	    "WHERE id = ?1", &upd) == -1)
		goto done;
	if (ctl_db_bind_text(sel, 1, r->id) == -1 ||
	    ctl_db_bind_text(upd, 1, r->id) == -1) {
		ctl_db_errx(db, "revoke: bind");
		goto done;
	}
	if (ctl_db_begin(db, CTL_DB_WRITE) == -1)
		goto done;
	if ((s = ctl_db_step(sel)) == CTL_DB_DONE) {
		ctl_errx("revoke: no job '%s'", r->id);
		rc = CTL_EXIT_NOTFOUND;
		goto done;
	}
	if (s != CTL_DB_ROW) {
		ctl_db_errx(db, "revoke");
		goto done;
	}
	was = ctl_db_text(sel, 0);
	if ((r->previous = strdup(was != NULL ? was : "")) == NULL) {
		ctl_err("revoke");
		goto done;
	}
	if (ctl_db_reset(sel) == -1) {
		ctl_db_errx(db, "revoke");
		goto done;
	}
	if (ctl_db_step(upd) != CTL_DB_DONE) {
		ctl_db_errx(db, "revoke: update");
		goto done;
	}
	if (ctl_db_commit(db) == -1)
		goto done;
	rc = 0;
done:
	(void)ctl_db_rollback(db);
	ctl_db_finalize(sel);
	ctl_db_finalize(upd);
	return (rc);
}

static void
ctl_jobs_revoke_print(const struct ctl *c, const struct ctl_jobs_revoked *r)
{
	char	*clean;
	int	 first = 1;

	if (c->json) {
		fputc('{', stdout);
		ctl_json_key(stdout, "id", &first);
		ctl_json_string(stdout, r->id);
		ctl_json_key(stdout, "status", &first);
		ctl_json_string(stdout, job_status_name(JOB_REVOKED));
		ctl_json_key(stdout, "previous", &first);
		ctl_json_string(stdout, r->previous);
		fputs("}\n", stdout);
		return;
	}
	clean = ctl_out_clean(r->previous);
	printf("revoked %s (was %s)\n", r->id, clean != NULL ? clean : "?");
	free(clean);
}

/* sluicectl revoke ID: sluice answers 410 from now on. */
int
ctl_jobs_revoke(struct ctl *c)
{
	struct ctl_jobs_revoked r = { c->args[0], NULL };
	struct ctl_db	*db = NULL;
	int		 rc = CTL_EXIT_FAIL;

	if (ctl_db_open(c->db, CTL_DB_EXISTING, &db) == -1)
		goto done;
	if ((rc = ctl_jobs_revoke_do(db, &r)) != 0)
		goto done;
	ctl_db_close(db);
	db = NULL;
	ctl_jobs_revoke_print(c, &r);
	rc = CTL_EXIT_OK;
done:
	free(r.previous);
	ctl_db_close(db);
	return (rc);
}
