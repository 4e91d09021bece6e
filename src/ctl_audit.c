/*
 * ctl_audit: the downloads table of sluice's state database, read only:
 * `sluicectl audit` (recent downloads, newest first) and the downloads of
 * one job that `sluicectl show` lists. The rows are copied out first and
 * printed after, as a table or a JSON array.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "ctl_audit.h"
#include "ctl_db.h"
#include "ctl_out.h"
#include "ctl_rows.h"
#include "sluicectl.h"

/* The downloads columns, in the order ctl_audit_print expects. */
#define CTL_DOWNLOADS_COLS \
	"SELECT id, job_id, started_at, remote_addr, remote_user, " \
	"range_start, range_end, status, counts, bytes_sent, duration_ms, " \
	"outcome, pid FROM downloads "

static const char ctl_audit_job_sql[] =
    CTL_DOWNLOADS_COLS "WHERE job_id = ?1 ORDER BY id";

/*
 * ?1 job (NULL: any), ?2 since (NULL: any), ?3 limit (-1: none). Newest
 * first by id: sluice inserts each row as its response starts, so ids grow
 * with time, and state.sql keeps no index on started_at (one index less
 * to write per download); walking the rowid backwards stops at the limit.
 */
static const char ctl_audit_sql[] =
    CTL_DOWNLOADS_COLS "WHERE (?1 IS NULL OR job_id = ?1) "
    "AND (?2 IS NULL OR started_at >= ?2) "
    "ORDER BY id DESC LIMIT ?3";

/* The downloads that counted toward the limit (counts <> 0). */
int64_t
ctl_audit_counted(const struct ctl_rows *rows)
{
	int64_t	 k, n = 0;
	size_t	 i;

	for (i = 0; i < rows->nrows; i++)
		if (ctl_val_int(ctl_rows_get(rows, i, 8), &k) && k != 0)
			n++;
	return (n);
}

/* One table row of download i: "a-b", "-" (no range) or empty. */
static void
ctl_audit_row(const struct ctl_rows *rows, size_t i, int with_job,
    char *date, size_t datesz, char *range, size_t rangesz,
    const char **row)
{
	int64_t	 a, b;
	int	 n;

	if (ctl_val_int(ctl_rows_get(rows, i, 5), &a) &&
	    ctl_val_int(ctl_rows_get(rows, i, 6), &b)) {
		n = b < a ? snprintf(range, rangesz, "-") :
		    snprintf(range, rangesz, "%" PRId64 "-%" PRId64, a, b);
		if (n < 0 || (size_t)n >= rangesz)
			range[0] = '\0';
	} else
		range[0] = '\0';
	n = 0;
	row[n++] = ctl_val_date(ctl_rows_get(rows, i, 2), date, datesz);
	if (with_job)
		row[n++] = ctl_val_text(ctl_rows_get(rows, i, 1));
	row[n++] = ctl_val_text(ctl_rows_get(rows, i, 3));
	row[n++] = ctl_val_text(ctl_rows_get(rows, i, 4));
	row[n++] = ctl_val_text(ctl_rows_get(rows, i, 7));
	row[n++] = range;
	row[n++] = ctl_val_text(ctl_rows_get(rows, i, 9));
	row[n++] = ctl_val_text(ctl_rows_get(rows, i, 10));
	row[n++] = ctl_val_text(ctl_rows_get(rows, i, 11));
}

/*
 * Print downloads (CTL_DOWNLOADS_COLS rows): a JSON array (no newline),
 * or a table, with the job column when with_job. Returns 0, or -1 after
 * reporting.
 */
int
ctl_audit_print(const struct ctl *c, const struct ctl_rows *rows,
    int with_job)
{
	static const char *const head[] = { "STARTED", "JOB", "ADDR", "USER",
	    "STATUS", "RANGE", "BYTES", "MS", "OUTCOME" };
	/* With no job column: the same table less its second column. */
	static const char *const head_nojob[] = { "STARTED", "ADDR", "USER",
	    "STATUS", "RANGE", "BYTES", "MS", "OUTCOME" };
	struct ctl_table t;
	const char	*row[9];
	char		 date[CTL_OUT_DATE_SIZE], range[48];
	size_t		 i;
	int		 rc = 0;

	if (c->json) {
		ctl_rows_json_array(stdout, rows);
		return (0);
	}
	if (with_job)
		ctl_table_init(&t, 9, head, 1u << 6 | 1u << 7);
	else
		ctl_table_init(&t, 8, head_nojob, 1u << 5 | 1u << 6);
	for (i = 0; i < rows->nrows; i++) {
		ctl_audit_row(rows, i, with_job, date, sizeof(date), range,
		    sizeof(range), row);
		ctl_table_add(&t, row);
	}
	if ((rc = ctl_table_print(&t, stdout)) == -1)
		ctl_err("downloads");
	ctl_table_free(&t);
	return (rc);
}

/* The downloads of job id, oldest first. Returns 0, or -1 after reporting. */
int
ctl_audit_job(sqlite3 *db, const char *id, struct ctl_rows *rows)
{
	sqlite3_stmt	*st = NULL;
	int		 rc = -1;

	if (ctl_db_prepare(db, ctl_audit_job_sql, &st) == -1)
		return (-1);
	if (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) != SQLITE_OK)
		ctl_db_errx(db, "show: bind");
	else if (ctl_db_rows(db, st, rows, "downloads") == 0)
		rc = 0;
	ctl_db_finalize(st);
	return (rc);
}

/* Recent downloads, by --job, --since and --limit. 0, or -1. */
static int
ctl_audit_select(const struct ctl *c, sqlite3 *db, struct ctl_rows *rows)
{
	sqlite3_stmt	*st = NULL;
	int		 rc = -1;

	if (ctl_db_prepare(db, ctl_audit_sql, &st) == -1)
		return (-1);
	if ((c->job != NULL ? sqlite3_bind_text(st, 1, c->job, -1,
	    SQLITE_STATIC) : sqlite3_bind_null(st, 1)) != SQLITE_OK ||
	    (c->has_since ? sqlite3_bind_int64(st, 2, c->since) :
	    sqlite3_bind_null(st, 2)) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, c->limit > 0 ? c->limit : -1) !=
	    SQLITE_OK)
		ctl_db_errx(db, "audit: bind");
	else if (ctl_db_rows(db, st, rows, "downloads") == 0)
		rc = 0;
	ctl_db_finalize(st);
	return (rc);
}

/* sluicectl audit: recent rows of the downloads table, newest first. */
int
ctl_audit_run(struct ctl *c)
{
	struct ctl_rows	 rows;
	sqlite3		*db = NULL;
	int		 rc = CTL_EXIT_FAIL;

	memset(&rows, 0, sizeof(rows));
	if (ctl_db_open(c->state_db, CTL_DB_EXISTING, &db) == -1 ||
	    ctl_audit_select(c, db, &rows) == -1)
		goto done;
	ctl_db_close(db);
	db = NULL;
	if (ctl_audit_print(c, &rows, 1) == -1)
		goto done;
	if (c->json)
		fputc('\n', stdout);
	rc = CTL_EXIT_OK;
done:
	ctl_rows_free(&rows);
	ctl_db_close(db);
	return (rc);
}
