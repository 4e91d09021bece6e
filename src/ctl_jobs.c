/*
 * ctl_jobs: `sluicectl list`, `show` and `revoke`, over the exporter's
 * jobs database (and, for show, the downloads in sluice's state
 * database). Each command does its database work first, copying what it
 * found (ctl_rows, or a small struct), closes the databases, and then
 * prints it: an aligned table for people, or one JSON value for scripts.
 *
 * revoke writes in one short BEGIN IMMEDIATE transaction, with the busy
 * timeout of ctl_db_open, so the exporter is never held for long.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

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
 * downloads used, counted as sluice counts them (rows, plus those pruned),
 * from the state database attached as "state" (through the
 * downloads_client index), or NULL without it.
 */
#define CTL_JOBS_LIST_COLS \
	"SELECT id, status, file_path, file_name, content_type, file_size, " \
	"sha256, owner, token_sha256, created_at, finished_at, expires_at, " \
	"max_downloads, error, "
#define CTL_JOBS_LIST_WHERE \
	" FROM export_jobs " \
	"WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR owner = ?2) " \
	"AND (?3 = 0 OR (expires_at IS NOT NULL AND expires_at <= ?4)) " \
	"ORDER BY created_at DESC, id"

static const char ctl_jobs_list_sql[] = CTL_JOBS_LIST_COLS
    "NULL AS downloads_used" CTL_JOBS_LIST_WHERE;
static const char ctl_jobs_list_used_sql[] = CTL_JOBS_LIST_COLS
    "(SELECT count(*) FROM state.downloads d "
    "WHERE d.job_id = export_jobs.id) + "
    "coalesce((SELECT pruned FROM state.download_counts p "
    "WHERE p.job_id = export_jobs.id), 0) AS downloads_used"
    CTL_JOBS_LIST_WHERE;

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

/* The jobs list selects, by --status, --owner and --expired. */
static int
ctl_jobs_list_select(const struct ctl *c, struct ctl_rows *rows)
{
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	int		 rc = -1, state;

	if (ctl_db_open(c->db, CTL_DB_EXISTING, &db) == -1 ||
	    (state = ctl_audit_attach(db, c->state_db, "list")) == -1 ||
	    ctl_db_prepare(db, state ? ctl_jobs_list_used_sql :
	    ctl_jobs_list_sql, &st) == -1)
		goto done;
	if ((c->status != NULL ? sqlite3_bind_text(st, 1, c->status, -1,
	    SQLITE_STATIC) : sqlite3_bind_null(st, 1)) != SQLITE_OK ||
	    (c->owner != NULL ? sqlite3_bind_text(st, 2, c->owner, -1,
	    SQLITE_STATIC) : sqlite3_bind_null(st, 2)) != SQLITE_OK ||
	    sqlite3_bind_int(st, 3, c->expired) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, c->now) != SQLITE_OK) {
		ctl_db_errx(db, "list: bind");
		goto done;
	}
	if (ctl_db_rows(db, st, rows, "list") == 0)
		rc = 0;
done:
	ctl_db_finalize(st);
	ctl_db_close(db);
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
	sqlite3		*sdb = NULL;
	int		 rc;

	if (c->state_db == NULL ||
	    (rc = ctl_audit_open(c->state_db, "show", &sdb)) == 1)
		return (0);
	if (rc == -1)
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
	sqlite3		*db = NULL;
	sqlite3_stmt	*job = NULL;
	int		 rc = CTL_EXIT_FAIL;

	if (ctl_db_open(c->db, CTL_DB_EXISTING, &db) == -1 ||
	    ctl_db_prepare(db, "SELECT * FROM export_jobs WHERE id = ?1",
	    &job) == -1)
		goto done;
	if (sqlite3_bind_text(job, 1, id, -1, SQLITE_STATIC) != SQLITE_OK) {
		ctl_db_errx(db, "show: bind");
		goto done;
	}
	if (ctl_db_rows(db, job, &s->job, "show") == -1)
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
	char		 line[CTL_OUT_USED_LINE_SIZE];
	const char	*text = NULL;
	int64_t		 max = 0;
	int		 has_max;

	if (!s->have_state) {
		printf("\ndownloads: unknown (no state database %s yet)\n",
		    c->state_db != NULL ? c->state_db : "");
		return (0);
	}
	printf("\n");
	ctl_out_path_line("downloads, from state database", c->state_db);
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
 * In one BEGIN IMMEDIATE transaction, read the status (to report it, and
 * to tell an unknown id), then set 'revoked'. Returns 0, or an exit code
 * after one line.
 */
static int
ctl_jobs_revoke_do(sqlite3 *db, struct ctl_jobs_revoked *r)
{
	sqlite3_stmt	*sel = NULL, *upd = NULL;
	const char	*was;
	int		 rc = CTL_EXIT_FAIL, s;

	if (ctl_db_prepare(db, "SELECT status FROM export_jobs WHERE id = ?1",
	    &sel) == -1 ||
	    ctl_db_prepare(db, "UPDATE export_jobs SET status = 'revoked' "
	    "WHERE id = ?1", &upd) == -1)
		goto done;
	if (sqlite3_bind_text(sel, 1, r->id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(upd, 1, r->id, -1, SQLITE_STATIC) != SQLITE_OK) {
		ctl_db_errx(db, "revoke: bind");
		goto done;
	}
	if (ctl_db_exec(db, "BEGIN IMMEDIATE") == -1)
		goto done;
	if ((s = sqlite3_step(sel)) == SQLITE_DONE) {
		ctl_errx("revoke: no job '%s'", r->id);
		rc = CTL_EXIT_NOTFOUND;
		goto done;
	}
	if (s != SQLITE_ROW) {
		ctl_db_errx(db, "revoke");
		goto done;
	}
	was = ctl_db_text(sel, 0);
	if ((r->previous = strdup(was != NULL ? was : "")) == NULL) {
		ctl_err("revoke");
		goto done;
	}
	if (sqlite3_reset(sel) != SQLITE_OK) {
		ctl_db_errx(db, "revoke");
		goto done;
	}
	if (sqlite3_step(upd) != SQLITE_DONE) {
		ctl_db_errx(db, "revoke: update");
		goto done;
	}
	if (ctl_db_exec(db, "COMMIT") == -1)
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
	sqlite3		*db = NULL;
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
