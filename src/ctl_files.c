/*
 * ctl_files: `sluicectl purge` and `sluicectl check`, the commands that
 * walk the jobs and their files beneath the export root.
 *
 * Both first copy the jobs they will work on out of the database and
 * finalize the SELECT, so no read transaction stays open while files are
 * hashed or removed (a long one would stall the exporter's commits).
 * Every file is reached through ctl_fs: relative to a descriptor of the
 * root, with no "..", no absolute path, and no symlink followed.
 *
 * purge removes a job's file before its row, inside a savepoint: when the
 * file cannot be removed the row stays, so nothing is forgotten while its
 * bytes remain. A file that another job still names is kept. The audit
 * trail (the state database) is history and is never touched.
 *
 * The jobs database is SQLite or PostgreSQL (ctl_db). A batch of purge
 * holds SQLite's write lock (BEGIN IMMEDIATE); on PostgreSQL it locks the
 * table against other writers the same way (SHARE ROW EXCLUSIVE: sluice
 * still reads), so no job names a file between the check and the unlink.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confine.h"
#include "ctl_db.h"
#include "ctl_files.h"
#include "ctl_fs.h"
#include "ctl_progress.h"
#include "ctl_out.h"
#include "sluicectl.h"
#include "text.h"

#define CTL_FILES_BATCH		256	/* rows per transaction */
#define CTL_FILES_TTY_MIN	100	/* progress on a tty above this */
#define CTL_FILES_LOG_EVERY	1000	/* a line every N, not a tty */
#define CTL_FILES_DAY		86400

/*
 * Eligible for purge: failed or revoked, or done and expired (sluice
 * answers 410 from expires_at on, so expired means expires_at <= now),
 * and older than the cut-off by finished_at, else created_at. Pending and
 * running jobs are never purged: an exporter may still be writing them.
 * ?1 = now, ?2 = cut-off.
 */
#define CTL_FILES_PURGE_WHERE \
	"(status IN ('failed', 'revoked') OR (status = 'done' AND " \
	"expires_at IS NOT NULL AND expires_at <= ?1)) AND " \
	"COALESCE(finished_at, created_at) < ?2"

/*
 * Both SELECTs give: id, reason, file_path, file_size, sha256, age; in
 * the same order on both backends (ids bytewise: PostgreSQL's "C").
 */
#define CTL_FILES_PURGE_SQL(order_id) \
	"SELECT id, CASE WHEN status = 'done' THEN 'expired' ELSE status " \
	"END, file_path, file_size, sha256, COALESCE(finished_at, " \
	"created_at) FROM export_jobs WHERE " CTL_FILES_PURGE_WHERE \
	" ORDER BY COALESCE(finished_at, created_at), " order_id
#define CTL_FILES_CHECK_SQL(order_id) \
	"SELECT id, status, file_path, file_size, sha256, " \
	"COALESCE(finished_at, created_at) FROM export_jobs " \
	"WHERE status = 'done' ORDER BY " order_id
#define CTL_FILES_ID_PG	"id COLLATE \"C\""

static const char ctl_files_purge_sql[] = CTL_FILES_PURGE_SQL("id");
static const char ctl_files_purge_pg_sql[] =
    CTL_FILES_PURGE_SQL(CTL_FILES_ID_PG);
static const char ctl_files_delete_sql[] =
    "DELETE FROM export_jobs WHERE id = ?3 AND " CTL_FILES_PURGE_WHERE;
static const char ctl_files_shared_sql[] =
    "SELECT 1 FROM export_jobs WHERE file_path = ?1 AND id <> ?2 LIMIT 1";
static const char ctl_files_check_sql[] = CTL_FILES_CHECK_SQL("id");
static const char ctl_files_check_pg_sql[] =
    CTL_FILES_CHECK_SQL(CTL_FILES_ID_PG);

/* One job copied out of the database. NULL strings are SQL NULLs. */
struct ctl_files_job {
	char		*id;
	char		*reason;
	char		*path;
	char		*sha;
	int64_t		 size;
	int64_t		 age;
	int		 has_size;
	int		 has_age;
};

struct ctl_files_list {
	struct ctl_files_job	*v;
	size_t			 n;
	size_t			 cap;
};

/* Progress on stderr for long runs; see ctl_files_progress. */
struct ctl_files_progress {
	const char	*what;
	size_t		 total;
	int		 tty;
	int		 shown;
};

static void
ctl_files_list_free(struct ctl_files_list *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].id);
		free(l->v[i].reason);
		free(l->v[i].path);
		free(l->v[i].sha);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* A copy of a column's text, NULL for SQL NULL; *oom set on failure. */
static char *
ctl_files_dup(struct ctl_stmt *st, int col, int *oom)
{
	const char *s = ctl_db_text(st, col);
	char	*d;

	if (s == NULL)
		return (NULL);
	if ((d = strdup(s)) == NULL)
		*oom = 1;
	return (d);
}

/*
 * Run st (the SELECT layout above) to the end, copying every row into l,
 * then finalize it. Returns 0, or -1 after reporting.
 */
static int
ctl_files_collect(struct ctl_db *db, struct ctl_stmt *st,
    struct ctl_files_list *l)
{
	struct ctl_files_job *j;
	int	 rc, oom = 0;

	while ((rc = ctl_db_step(st)) == CTL_DB_ROW) {
		if (l->n == l->cap) {
			size_t	 cap = l->cap == 0 ? 256 : l->cap * 2;
			struct ctl_files_job *v;

			if (cap > SIZE_MAX / sizeof(*v) ||
			    (v = realloc(l->v, cap * sizeof(*v))) == NULL) {
				oom = 1;
				break;
			}
			l->v = v;
			l->cap = cap;
		}
		j = &l->v[l->n++];
		memset(j, 0, sizeof(*j));
		j->id = ctl_files_dup(st, 0, &oom);
		j->reason = ctl_files_dup(st, 1, &oom);
		j->path = ctl_files_dup(st, 2, &oom);
		j->sha = ctl_files_dup(st, 4, &oom);
		j->has_size = ctl_db_int(st, 3, &j->size);
		j->has_age = ctl_db_int(st, 5, &j->age);
		if (oom || j->id == NULL)
			break;
	}
	if (oom) {
		errno = ENOMEM;
		ctl_err("reading the jobs");
		ctl_db_finalize(st);
		return (-1);
	}
	if (rc == -1) {
		ctl_db_errx(db, "select");
		ctl_db_finalize(st);
		return (-1);
	}
	ctl_db_finalize(st);
	return (0);
}

/*
 * Show "<what>: i/total" on stderr: rewritten in place on a terminal when
 * there are more than CTL_FILES_TTY_MIN jobs, else one line every
 * CTL_FILES_LOG_EVERY jobs. i == total ends the line.
 */
static void
ctl_files_progress(struct ctl_files_progress *p, size_t i)
{
	if (p->tty) {
		if (p->total <= CTL_FILES_TTY_MIN)
			return;
		if (i % 50 != 0 && i != p->total)
			return;
		fprintf(stderr, "\r%s: %zu/%zu jobs%s", p->what, i, p->total,
		    i == p->total ? "\n" : "");
		p->shown = 1;
	} else if (i % CTL_FILES_LOG_EVERY == 0 && i > 0 && i != p->total) {
		fprintf(stderr, "%s: %zu/%zu jobs\n", p->what, i, p->total);
		p->shown = 1;
	}
}

/* A SQL date cell: "YYYY-MM-DD HH:MM:SS", or "-". */
static const char *
ctl_files_date(char *buf, size_t sz, int has, int64_t t)
{
	if (!has || ctl_out_date(buf, sz, t) == -1)
		return ("-");
	return (buf);
}

/*
 * Remove one job inside a savepoint: the row (if still eligible), then
 * its file unless another job names it. *result says what happened; on a
 * file error the row is restored and -1 returned after reporting. *gone
 * is set when the file was removed. Returns 0, 1 when the row was no
 * longer eligible, or -1.
 */
static int
ctl_files_purge_one(struct ctl_db *db, struct ctl_stmt *del,
    struct ctl_stmt *shared, int rootfd, const struct ctl *c,
    const struct ctl_files_job *j, int64_t cutoff, const char **result,
    int *gone)
{
	int64_t	 changed;
	int	 rc;

	*gone = 0;
	*result = "kept: error";
	if (ctl_db_exec(db, "SAVEPOINT purge_job") == -1)
		return (-1);
	if (ctl_db_bind_int(del, 1, c->now) == -1 ||
	    ctl_db_bind_int(del, 2, cutoff) == -1 ||
	    ctl_db_bind_text(del, 3, j->id) == -1) {
		ctl_db_errx(db, "purge: bind");
		goto undo;
	}
	rc = ctl_db_step(del);
	changed = ctl_db_changes(del);
	if (ctl_db_reset(del) == -1 || rc != CTL_DB_DONE) {
		ctl_db_errx(db, "purge: delete");
		goto undo;
	}
	if (changed == 0) {
		*result = "skipped: changed meanwhile";
		return (ctl_db_exec(db, "RELEASE purge_job") == -1 ? -1 : 1);
	}
	if (j->path == NULL) {
		*result = "deleted (no file)";
		return (ctl_db_exec(db, "RELEASE purge_job"));
	}
	if (!text_path_plain(j->path)) {
		/* Never follow it; the row goes, the file is left alone. */
		ctl_errx("purge: %s: file_path is not beneath the root "
		    "(absolute, empty or '..'): row deleted, file left alone",
		    j->id);
		*result = "deleted; file left: bad path";
		return (ctl_db_exec(db, "RELEASE purge_job") == -1 ? -1 : 2);
	}
	if (ctl_db_bind_text(shared, 1, j->path) == -1 ||
	    ctl_db_bind_text(shared, 2, j->id) == -1) {
		ctl_db_errx(db, "purge: bind");
		goto undo;
	}
	rc = ctl_db_step(shared);
	if (ctl_db_reset(shared) == -1 || rc == -1) {
		ctl_db_errx(db, "purge: select");
		goto undo;
	}
	if (rc == CTL_DB_ROW) {
		*result = "deleted; file kept: another job names it";
		return (ctl_db_exec(db, "RELEASE purge_job"));
	}
	if (ctl_fs_unlink_beneath(rootfd, j->path) == -1) {
		if (errno != ENOENT) {
			ctl_err("purge: %s: remove %s/%s (row kept)", j->id,
			    c->root, j->path);
			goto undo;
		}
		*result = "deleted (file was missing)";
	} else {
		*result = "deleted, file removed";
		*gone = 1;
	}
	return (ctl_db_exec(db, "RELEASE purge_job"));
undo:
	if (ctl_db_exec(db, "ROLLBACK TO purge_job") == 0)
		(void)ctl_db_exec(db, "RELEASE purge_job");
	*result = "kept: error";
	return (-1);
}

/* A purge: the jobs, what became of each, and the totals. */
struct ctl_files_purge {
	struct ctl_files_list	 l;
	const char		**results;	/* l.n, constants */
	int64_t			 cutoff;
	int64_t			 deleted, removed, bytes, errors;
};

/*
 * Copy out the eligible jobs (the SELECT is finalized before any file is
 * touched). Returns 0, or -1 after reporting.
 */
static int
ctl_files_purge_collect(const struct ctl *c, struct ctl_db *db,
    struct ctl_files_purge *p)
{
	struct ctl_stmt	*sel = NULL;

	if (ctl_db_prepare(db, ctl_db_is_pg(db) ? ctl_files_purge_pg_sql :
	    ctl_files_purge_sql, &sel) == -1)
		return (-1);
	if (ctl_db_bind_int(sel, 1, c->now) == -1 ||
	    ctl_db_bind_int(sel, 2, p->cutoff) == -1) {
		ctl_db_errx(db, "purge: bind");
		ctl_db_finalize(sel);
		return (-1);
	}
	if (ctl_files_collect(db, sel, &p->l) == -1)
		return (-1);
	if (p->l.n > 0 &&
	    (p->results = calloc(p->l.n, sizeof(*p->results))) == NULL) {
		ctl_err("purge");
		return (-1);
	}
	return (0);
}

/* Count what purging job j did (r: ctl_files_purge_one's result). */
static void
ctl_files_purge_count(struct ctl_files_purge *p,
    const struct ctl_files_job *j, int r, int gone)
{
	if (r == -1 || r == 2)
		p->errors++;
	if (r != -1 && r != 1)
		p->deleted++;
	if (gone) {
		p->removed++;
		if (j->has_size)
			p->bytes += j->size;
	}
}

/*
 * A batch's write transaction: SQLite's write lock, or on PostgreSQL the
 * table's lock against other writers. Returns 0, or -1 after reporting.
 */
static int
ctl_files_purge_begin(struct ctl_db *db)
{
	if (ctl_db_begin(db, CTL_DB_WRITE) == -1)
		return (-1);
	if (ctl_db_is_pg(db) && ctl_db_exec(db, "LOCK TABLE export_jobs IN "
	    "SHARE ROW EXCLUSIVE MODE") == -1) {
		(void)ctl_db_rollback(db);
		return (-1);
	}
	return (0);
}

/*
 * Purge every collected job (or, with --dry-run, only count them), in
 * write transactions of CTL_FILES_BATCH jobs, so the exporter is not held
 * for long. A job that fails is counted and the others go on. Returns 0,
 * or -1 when the database itself failed.
 */
static int
ctl_files_purge_jobs(const struct ctl *c, struct ctl_db *db, int rootfd,
    struct ctl_files_purge *p)
{
	struct ctl_files_progress pr;
	struct ctl_stmt	*del = NULL, *shared = NULL;
	size_t		 i, n = p->l.n;
	int		 r, gone, in_batch = 0, rc = -1;

	pr.what = c->dry_run ? "purge (dry run)" : "purge";
	pr.total = n;
	pr.tty = isatty(STDERR_FILENO);
	pr.shown = 0;
	if (!c->dry_run &&
	    (ctl_db_prepare(db, ctl_files_delete_sql, &del) == -1 ||
	    ctl_db_prepare(db, ctl_files_shared_sql, &shared) == -1))
		goto done;
	for (i = 0; i < n; i++) {
		const struct ctl_files_job *j = &p->l.v[i];

		ctl_files_progress(&pr, i);
		if (c->dry_run) {
			p->results[i] = "would delete";
			p->deleted++;
			if (j->has_size)
				p->bytes += j->size;
			continue;
		}
		if (!in_batch && ctl_files_purge_begin(db) == -1)
			goto done;
		in_batch = 1;
		r = ctl_files_purge_one(db, del, shared, rootfd, c, j,
		    p->cutoff, &p->results[i], &gone);
		ctl_files_purge_count(p, j, r, gone);
		if ((i + 1) % CTL_FILES_BATCH == 0 || i + 1 == n) {
			if (ctl_db_commit(db) == -1)
				goto done;
			in_batch = 0;
		}
	}
	ctl_files_progress(&pr, n);
	rc = 0;
done:
	if (in_batch && ctl_db_commit(db) == -1)
		(void)ctl_db_rollback(db);
	ctl_db_finalize(del);
	ctl_db_finalize(shared);
	return (rc);
}

/* The purge as one JSON object. */
static void
ctl_files_purge_json(const struct ctl *c, const struct ctl_files_purge *p)
{
	size_t	 i;

	printf("{\"dry_run\":%s,\"older_than_days\":%" PRId64
	    ",\"jobs\":[", c->dry_run ? "true" : "false", c->older_than);
	for (i = 0; i < p->l.n; i++) {
		const struct ctl_files_job *j = &p->l.v[i];
		int	 f = 1;

		fputs(i > 0 ? ",{" : "{", stdout);
		ctl_json_key(stdout, "id", &f);
		ctl_json_string(stdout, j->id);
		ctl_json_key(stdout, "reason", &f);
		ctl_json_string(stdout, j->reason != NULL ? j->reason : "");
		ctl_json_key(stdout, "file_path", &f);
		if (j->path != NULL)
			ctl_json_string(stdout, j->path);
		else
			fputs("null", stdout);
		ctl_json_key(stdout, "file_size", &f);
		if (j->has_size)
			printf("%" PRId64, j->size);
		else
			fputs("null", stdout);
		ctl_json_key(stdout, "result", &f);
		ctl_json_string(stdout, p->results[i]);
		fputc('}', stdout);
	}
	printf("],\"deleted\":%" PRId64 ",\"files_removed\":%" PRId64
	    ",\"bytes\":%" PRId64 ",\"errors\":%" PRId64 "}\n",
	    p->deleted, p->removed, p->bytes, p->errors);
}

/* The purge as a table and a summary line. Returns 0, or -1. */
static int
ctl_files_purge_table(const struct ctl *c, const struct ctl_files_purge *p)
{
	static const char *const head[] = { "ID", "REASON", "FINISHED",
	    "SIZE", "FILE", "RESULT" };
	struct ctl_table t;
	char		 date[CTL_OUT_DATE_SIZE], hsize[CTL_OUT_SIZE_SIZE];
	size_t		 i;
	int		 rc = 0;

	ctl_table_init(&t, 6, head, 1u << 3);
	for (i = 0; i < p->l.n; i++) {
		const struct ctl_files_job *j = &p->l.v[i];
		const char *row[6];

		row[0] = j->id;
		row[1] = j->reason;
		row[2] = ctl_files_date(date, sizeof(date), j->has_age,
		    j->age);
		if (!j->has_size ||
		    ctl_out_size(hsize, sizeof(hsize), j->size) == -1)
			row[3] = NULL;
		else
			row[3] = hsize;
		row[4] = j->path;
		row[5] = p->results[i];
		ctl_table_add(&t, row);
	}
	if (p->l.n > 0 && (rc = ctl_table_print(&t, stdout)) == -1)
		ctl_err("purge: table");
	ctl_table_free(&t);
	if (rc == -1)
		return (-1);
	if (ctl_out_size(hsize, sizeof(hsize), p->bytes) == -1)
		hsize[0] = '\0';
	if (c->dry_run)
		printf("purge: dry run: %" PRId64 " jobs older than %" PRId64
		    " days would be deleted (%s of files); nothing changed\n",
		    p->deleted, c->older_than, hsize);
	else
		printf("purge: %" PRId64 " jobs deleted, %" PRId64 " files "
		    "removed (%s), %" PRId64 " errors\n", p->deleted,
		    p->removed, hsize, p->errors);
	return (0);
}

/*
 * sluicectl purge [--older-than N] [--dry-run]: collect, purge, print.
 * Returns an exit code: 1 when some job could not be purged (the others
 * still are).
 */
int
ctl_files_purge(struct ctl *c)
{
	struct ctl_files_purge	 p;
	struct ctl_db		*db = NULL;
	char			 rooterr[CONFINE_ERR_SIZE];
	int			 rootfd = -1, rc = CTL_EXIT_FAIL;

	memset(&p, 0, sizeof(p));
	if (c->older_than > INT64_MAX / CTL_FILES_DAY) {
		ctl_errx("purge: --older-than is too large");
		return (CTL_EXIT_USAGE);
	}
	p.cutoff = c->now - c->older_than * CTL_FILES_DAY;
	if (!c->dry_run && confine_root_open(c->root, &rootfd, rooterr,
	    sizeof(rooterr)) == -1) {
		ctl_errx("purge: %s", rooterr);
		goto done;
	}
	if (ctl_db_open(c->db, CTL_DB_EXISTING, &db) == -1 ||
	    ctl_files_purge_collect(c, db, &p) == -1 ||
	    ctl_files_purge_jobs(c, db, rootfd, &p) == -1)
		goto done;
	if (c->json)
		ctl_files_purge_json(c, &p);
	else if (ctl_files_purge_table(c, &p) == -1)
		goto done;
	rc = p.errors > 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
done:
	free(p.results);
	ctl_files_list_free(&p.l);
	ctl_db_close(db);
	if (rootfd != -1)
		close(rootfd);
	return (rc);
}

/*
 * Check one done job's file; hashing advances pr. Returns NULL when it is
 * fine, else a problem written into buf (sz bytes).
 */
static const char *
ctl_files_check_one(int rootfd, const struct ctl *c,
    const struct ctl_files_job *j, char *buf, size_t sz,
    struct ctl_progress *pr)
{
	struct stat	 st;
	char		 hex[CTL_FS_HEX_SIZE];
	const char	*problem = NULL;
	int64_t		 n;
	int		 fd = -1, len;

	if (j->path == NULL)
		return ("no file_path recorded");
	if (!text_path_plain(j->path))
		return ("file_path is not beneath the root (absolute, empty "
		    "or '..')");
	switch (confine_file_open(rootfd, j->path, &fd, &st)) {
	case CONFINE_OK:
		break;
	case CONFINE_MISSING:
		if (errno == ENOENT)
			return ("missing");
		/* FALLTHROUGH */
	case CONFINE_SYMLINK:
		return ("a symlink (or a non-directory) on the path");
	case CONFINE_FSTAT_FAILED:
		len = snprintf(buf, sz, "fstat: %s", strerror(errno));
		return (len < 0 || (size_t)len >= sz ? "fstat failed" : buf);
	case CONFINE_NOT_REGULAR:
		return ("not a regular file");
	default:
		len = snprintf(buf, sz, "cannot open: %s", strerror(errno));
		return (len < 0 || (size_t)len >= sz ? "cannot open" : buf);
	}
	if (!j->has_size) {
		problem = "no file_size recorded (sluice will not serve it)";
		goto done;
	}
	if (st.st_size != j->size) {
		len = snprintf(buf, sz, "size differs: the file has %" PRId64
		    " bytes, the job says %" PRId64, (int64_t)st.st_size,
		    j->size);
		problem = len < 0 || (size_t)len >= sz ? "size differs" : buf;
		goto done;
	}
	if (c->hash && j->sha != NULL) {
		if (ctl_fs_hash(fd, hex, &n, pr) == -1) {
			len = snprintf(buf, sz, "read: %s", strerror(errno));
			problem = len < 0 || (size_t)len >= sz ? "read failed" :
			    buf;
			goto done;
		}
		if (n != j->size)
			problem = "size changed while hashing";
		else if (strcasecmp(hex, j->sha) != 0) {
			len = snprintf(buf, sz, "sha256 differs: the file has "
			    "%s", hex);
			problem = len < 0 || (size_t)len >= sz ?
			    "sha256 differs" : buf;
		}
	}
done:
	close(fd);
	return (problem);
}

/* A check: the done jobs, and each one's problem (NULL: fine). */
struct ctl_files_checked {
	struct ctl_files_list	 l;
	char			**problems;	/* l.n, owned */
	size_t			 nproblems;
	size_t			 hashed;
};

/*
 * Check every collected job, keeping a copy of each problem. Returns 0,
 * or -1 after reporting when out of memory.
 */
static int
ctl_files_check_jobs(const struct ctl *c, int rootfd,
    struct ctl_files_checked *k)
{
	struct ctl_files_progress p;
	struct ctl_progress bar;
	char		 buf[256];
	const char	*problem;
	size_t		 i;
	int64_t		 bytes = 0;

	if (k->l.n > 0 &&
	    (k->problems = calloc(k->l.n, sizeof(*k->problems))) == NULL) {
		ctl_err("check");
		return (-1);
	}
	p.what = "check";
	p.total = k->l.n;
	p.tty = isatty(STDERR_FILENO);
	p.shown = 0;
	/* --hash: one bar over every byte to hash, instead of the count. */
	for (i = 0; c->hash && i < k->l.n; i++)
		if (k->l.v[i].sha != NULL && k->l.v[i].has_size)
			bytes += k->l.v[i].size;
	ctl_progress_start(&bar, "check --hash", bytes);
	bar.on = bar.on && c->hash;
	for (i = 0; i < k->l.n; i++) {
		const struct ctl_files_job *j = &k->l.v[i];

		if (!bar.on)
			ctl_files_progress(&p, i);
		if (c->hash && j->sha != NULL)
			k->hashed++;
		if ((problem = ctl_files_check_one(rootfd, c, j, buf,
		    sizeof(buf), &bar)) == NULL)
			continue;
		k->nproblems++;
		if ((k->problems[i] = strdup(problem)) == NULL) {
			ctl_err("check");
			return (-1);
		}
	}
	if (bar.on)
		ctl_progress_end(&bar);
	else
		ctl_files_progress(&p, k->l.n);
	return (0);
}

/* The problems as one JSON object with the totals. */
static void
ctl_files_check_json(const struct ctl_files_checked *k)
{
	size_t	 i;
	int	 first = 1;

	fputs("{\"problems\":[", stdout);
	for (i = 0; i < k->l.n; i++) {
		const struct ctl_files_job *j = &k->l.v[i];
		int	 f = 1;

		if (k->problems[i] == NULL)
			continue;
		fputs(first ? "{" : ",{", stdout);
		first = 0;
		ctl_json_key(stdout, "id", &f);
		ctl_json_string(stdout, j->id);
		ctl_json_key(stdout, "file_path", &f);
		if (j->path != NULL)
			ctl_json_string(stdout, j->path);
		else
			fputs("null", stdout);
		ctl_json_key(stdout, "problem", &f);
		ctl_json_string(stdout, k->problems[i]);
		fputc('}', stdout);
	}
	printf("],\"checked\":%zu,\"hashed\":%zu,\"ok\":%zu}\n", k->l.n,
	    k->hashed, k->l.n - k->nproblems);
}

/* The problems as a table, and a summary line. Returns 0, or -1. */
static int
ctl_files_check_table(const struct ctl *c, const struct ctl_files_checked *k)
{
	static const char *const head[] = { "ID", "FILE", "PROBLEM" };
	struct ctl_table t;
	size_t		 i;
	int		 rc = 0;

	ctl_table_init(&t, 3, head, 0);
	for (i = 0; i < k->l.n; i++) {
		const struct ctl_files_job *j = &k->l.v[i];
		const char *row[3] = { j->id, j->path, k->problems[i] };

		if (k->problems[i] != NULL)
			ctl_table_add(&t, row);
	}
	if (k->nproblems > 0 && (rc = ctl_table_print(&t, stdout)) == -1)
		ctl_err("check: table");
	ctl_table_free(&t);
	if (rc == -1)
		return (-1);
	printf("check: %zu done jobs, %zu with problems%s\n", k->l.n,
	    k->nproblems, c->hash ? "; SHA-256 compared where recorded" : "");
	return (0);
}

/*
 * sluicectl check [--hash]: collect the done jobs, check each file,
 * print. Returns CTL_EXIT_FAIL when any done job's file has a problem.
 */
int
ctl_files_check(struct ctl *c)
{
	struct ctl_files_checked k;
	struct ctl_db	*db = NULL;
	struct ctl_stmt	*sel = NULL;
	size_t		 i;
	char		 rooterr[CONFINE_ERR_SIZE];
	int		 rootfd = -1, rc = CTL_EXIT_FAIL;

	memset(&k, 0, sizeof(k));
	if (confine_root_open(c->root, &rootfd, rooterr, sizeof(rooterr)) ==
	    -1) {
		ctl_errx("check: %s", rooterr);
		goto done;
	}
	if (ctl_db_open(c->db, CTL_DB_EXISTING, &db) == -1 ||
	    ctl_db_prepare(db, ctl_db_is_pg(db) ? ctl_files_check_pg_sql :
	    ctl_files_check_sql, &sel) == -1)
		goto done;
	if (ctl_files_collect(db, sel, &k.l) == -1 ||
	    ctl_files_check_jobs(c, rootfd, &k) == -1)
		goto done;
	if (c->json)
		ctl_files_check_json(&k);
	else if (ctl_files_check_table(c, &k) == -1)
		goto done;
	rc = k.nproblems > 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
done:
	for (i = 0; k.problems != NULL && i < k.l.n; i++)
		free(k.problems[i]);
	free(k.problems);
	ctl_files_list_free(&k.l);
	ctl_db_close(db);
	if (rootfd != -1)
		close(rootfd);
	return (rc);
}
