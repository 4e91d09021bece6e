/*
 * sluicectl: the operators' admin tool for sluice.
 *
 * This file owns the command line (global options before or after the
 * command, each with its environment variable), the help texts and exit
 * codes, and the commands that only read or update rows: init, list,
 * show, revoke and audit. add lives in ctl_add.c; purge and check, which
 * walk files beneath the root, in ctl_files.c.
 *
 * It writes the exporter's jobs database, which sluice itself only reads,
 * always in short BEGIN IMMEDIATE transactions with a busy timeout, and
 * only reads sluice's state database (the audit trail).
 *
 * Output: an aligned table (or key/value list) for people, or with --json
 * one JSON array or object for scripts. Errors: one line on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "ctl_add.h"
#include "ctl_db.h"
#include "ctl_files.h"
#include "ctl_fs.h"
#include "ctl_opt.h"
#include "ctl_out.h"
#include "sluicectl.h"

#include "sql_schema.h"
#include "sql_state.h"

static int	ctl_init(struct ctl *);
static int	ctl_list(struct ctl *);
static int	ctl_show(struct ctl *);
static int	ctl_revoke(struct ctl *);
static int	ctl_audit(struct ctl *);

#define CTL_HELP_EXIT \
	"\nExit status: 0 ok, 1 an operation or check failed, " \
	"2 usage error,\n" \
	"3 not found (show or revoke of an unknown id).\n"

#define CTL_HELP_GLOBAL \
	"\nGlobal options (before or after the command):\n" \
	"  --db PATH          the jobs database [SLUICE_DB]\n" \
	"  --state-db PATH    sluice's state database [SLUICE_STATE_DB];\n" \
	"                     default: sluice-state.db beside --db\n" \
	"  --root DIR         the export root [SLUICE_ROOT]\n" \
	"  --json             one JSON array or object instead of a table\n" \
	"  -h, --help         help\n"

static const char ctl_help_main[] =
    "usage: sluicectl [global options] COMMAND [options] [ARG]\n"
    "\n"
    "The operators' tool for sluice: its jobs database, export root and\n"
    "audit trail.\n"
    "\n"
    "Commands:\n"
    "  init        create both databases and the export root (idempotent)\n"
    "  add FILE    register an existing file as a done job; print its URL\n"
    "  list        list jobs (--status, --owner, --expired)\n"
    "  show ID     one job, all its fields, and its downloads\n"
    "  revoke ID   withdraw a job: status 'revoked' (sluice answers 410)\n"
    "  purge       delete old expired, revoked and failed jobs and files\n"
    "  audit       recent downloads, from the state database\n"
    "  check       verify every done job's file beneath the root\n"
    "\n"
    "`sluicectl COMMAND --help` describes a command and its options.\n"
    CTL_HELP_GLOBAL
    CTL_HELP_EXIT;

static const char ctl_help_init[] =
    "usage: sluicectl init --db PATH --root DIR [--state-db PATH]\n"
    "\n"
    "Create the jobs database (sql/schema.sql), sluice's state database\n"
    "(sql/state.sql) and the export root directory, whichever are missing.\n"
    "Running it again changes nothing.\n"
    CTL_HELP_GLOBAL
    CTL_HELP_EXIT;

static const char ctl_help_add[] =
    "usage: sluicectl add [options] FILE\n"
    "\n"
    "Copy FILE into the export root as YYYY/MM/<id>-<name> (written under a\n"
    "temporary name, fsync'ed, renamed into place), record its size and\n"
    "SHA-256, and only then commit a 'done' job. Prints the job id and the\n"
    "download URL. Only regular files are accepted.\n"
    "\n"
    "  --move                move FILE instead: a rename on the same file\n"
    "                        system, else copy, commit, then remove FILE\n"
    "  --name NAME           the name browsers save it as (UTF-8; default:\n"
    "                        FILE's basename)\n"
    "  --owner USER          only this authenticated user (REMOTE_USER)\n"
    "                        may download\n"
    "  --expires DURATION    link lifetime: N with a unit s, m, h, d or w\n"
    "                        (e.g. 7d), or never (the default)\n"
    "  --max-downloads N     counted downloads allowed (default: no limit)\n"
    "  --content-type TYPE   Content-Type (default application/octet-stream)\n"
    "  --token               require a secret token: 256 random bits, put in\n"
    "                        the URL and printed once; only its SHA-256 is\n"
    "                        stored\n"
    "  --url BASE            the public download prefix [SLUICE_PUBLIC_URL]\n"
    "                        (default " CTL_DEFAULT_URL ")\n"
    "\n"
    "The URL is <BASE><id>/<percent-encoded name>[?token=<token>].\n"
    "Needs --db and --root.\n"
    CTL_HELP_GLOBAL
    CTL_HELP_EXIT;

static const char ctl_help_list[] =
    "usage: sluicectl list [--status S] [--owner USER] [--expired]\n"
    "\n"
    "List jobs, newest first.\n"
    "\n"
    "  --status S      only jobs in status S: pending, running, done,\n"
    "                  failed or revoked\n"
    "  --owner USER    only jobs owned by USER\n"
    "  --expired       only jobs whose expires_at has passed\n"
    "Needs --db.\n"
    CTL_HELP_GLOBAL
    CTL_HELP_EXIT;

static const char ctl_help_show[] =
    "usage: sluicectl show ID\n"
    "\n"
    "Every field of job ID, and its downloads from the state database.\n"
    "Exits 3 when there is no such job. Needs --db.\n"
    CTL_HELP_GLOBAL
    CTL_HELP_EXIT;

static const char ctl_help_revoke[] =
    "usage: sluicectl revoke ID\n"
    "\n"
    "Set job ID's status to 'revoked': sluice answers 410 from now on.\n"
    "The file stays until purge. Exits 3 when there is no such job.\n"
    "Needs --db.\n"
    CTL_HELP_GLOBAL
    CTL_HELP_EXIT;

static const char ctl_help_purge[] =
    "usage: sluicectl purge [--older-than N] [--dry-run]\n"
    "\n"
    "Delete the rows and files of failed and revoked jobs, and of done jobs\n"
    "whose expires_at has passed, when they are older than N days (by\n"
    "finished_at, else created_at). Pending and running jobs are never\n"
    "purged. Files are removed only beneath the root, never through a\n"
    "symlink or '..'; a file another job still names is kept. The audit\n"
    "trail is kept. Progress goes to stderr on long runs.\n"
    "\n"
    "  --older-than N   age in days (default 30)\n"
    "  --dry-run        print what would be deleted; change nothing\n"
    "Needs --db and --root.\n"
    CTL_HELP_GLOBAL
    CTL_HELP_EXIT;

static const char ctl_help_audit[] =
    "usage: sluicectl audit [--job ID] [--since WHEN] [--limit N]\n"
    "\n"
    "Recent downloads from the state database, newest first (in the\n"
    "order sluice recorded them).\n"
    "\n"
    "  --job ID        only downloads of job ID\n"
    "  --since WHEN    only those started since WHEN: a duration back from\n"
    "                  now (90s, 30m, 1h, 7d, 2w) or unix seconds\n"
    "  --limit N       at most N rows (default 50; 0: all)\n"
    "Needs --state-db, or --db to find it beside.\n"
    CTL_HELP_GLOBAL
    CTL_HELP_EXIT;

static const char ctl_help_check[] =
    "usage: sluicectl check [--hash]\n"
    "\n"
    "Verify every done job's file: it exists beneath the root (no symlink,\n"
    "no '..'), is a regular file, and has the recorded size. Reports each\n"
    "problem and exits 1 if there is any.\n"
    "\n"
    "  --hash   also compare the SHA-256, where the job records one\n"
    "Needs --db and --root.\n"
    CTL_HELP_GLOBAL
    CTL_HELP_EXIT;

static const struct ctl_cmd ctl_cmds[] = {
	{ "init", C_INIT, 0, NEED_DB | NEED_ROOT | NEED_STATE, ctl_init,
	    ctl_help_init },
	{ "add", C_ADD, 1, NEED_DB | NEED_ROOT, ctl_add_run, ctl_help_add },
	{ "list", C_LIST, 0, NEED_DB, ctl_list, ctl_help_list },
	{ "show", C_SHOW, 1, NEED_DB, ctl_show, ctl_help_show },
	{ "revoke", C_REVOKE, 1, NEED_DB, ctl_revoke, ctl_help_revoke },
	{ "purge", C_PURGE, 0, NEED_DB | NEED_ROOT, ctl_files_purge,
	    ctl_help_purge },
	{ "audit", C_AUDIT, 0, NEED_STATE, ctl_audit, ctl_help_audit },
	{ "check", C_CHECK, 0, NEED_DB | NEED_ROOT, ctl_files_check,
	    ctl_help_check },
};

/*
 * A count: decimal digits only, at least one, no sign, no overflow.
 * Returns 0 with *v set, or -1.
 */
int
ctl_parse_count(const char *s, int64_t *v)
{
	int64_t	 n = 0;

	if (*s == '\0')
		return (-1);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return (-1);
		if (n > (INT64_MAX - (*s - '0')) / 10)
			return (-1);
		n = n * 10 + (*s - '0');
	}
	*v = n;
	return (0);
}

/*
 * A duration: digits and one unit, s m h d or w ("7d"). Returns 0 with
 * *secs set, or -1 for anything else or an overflow.
 */
int
ctl_parse_duration(const char *s, int64_t *secs)
{
	char	 digits[24];
	size_t	 len = strlen(s);
	int64_t	 n, mul;

	if (len < 2 || len - 1 >= sizeof(digits))
		return (-1);
	switch (s[len - 1]) {
	case 's':
		mul = 1;
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 86400;
		break;
	case 'w':
		mul = 7 * 86400;
		break;
	default:
		return (-1);
	}
	memcpy(digits, s, len - 1);
	digits[len - 1] = '\0';
	if (ctl_parse_count(digits, &n) == -1 || n > INT64_MAX / mul)
		return (-1);
	*secs = n * mul;
	return (0);
}

/*
 * Derive the state database's default (as sluice does: beside --db), and
 * check that cmd has what it needs. Returns 0, or an exit code after one
 * line.
 */
static int
ctl_settings(struct ctl *c, const struct ctl_cmd *cmd)
{
	const char *slash;
	size_t	 sz;
	int	 n;

	if (c->state_db == NULL && c->db != NULL) {
		slash = strrchr(c->db, '/');
		sz = strlen(c->db) + sizeof(CTL_STATE_DB_NAME) + 1;
		if ((c->state_db_buf = malloc(sz)) == NULL) {
			ctl_err("memory");
			return (CTL_EXIT_FAIL);
		}
		n = slash == NULL ? snprintf(c->state_db_buf, sz, "%s",
		    CTL_STATE_DB_NAME) : snprintf(c->state_db_buf, sz,
		    "%.*s/%s", (int)(slash - c->db), c->db,
		    CTL_STATE_DB_NAME);
		if (n < 0 || (size_t)n >= sz) {
			ctl_errx("--db: path too long");
			return (CTL_EXIT_FAIL);
		}
		c->state_db = c->state_db_buf;
	}
	if ((cmd->need & NEED_DB) && c->db == NULL) {
		ctl_errx("%s: no jobs database: give --db or SLUICE_DB",
		    cmd->name);
		return (CTL_EXIT_USAGE);
	}
	if ((cmd->need & NEED_ROOT) && c->root == NULL) {
		ctl_errx("%s: no export root: give --root or SLUICE_ROOT",
		    cmd->name);
		return (CTL_EXIT_USAGE);
	}
	if ((cmd->need & NEED_STATE) && c->state_db == NULL) {
		ctl_errx("%s: no state database: give --state-db, "
		    "SLUICE_STATE_DB, or --db to find it beside", cmd->name);
		return (CTL_EXIT_USAGE);
	}
	return (0);
}

/* A date cell: "YYYY-MM-DD HH:MM:SS" for an INTEGER column, else text. */
static const char *
ctl_cell_date(sqlite3_stmt *st, int col, char *buf, size_t sz)
{
	int64_t	 t;

	if (ctl_db_int(st, col, &t) && ctl_out_date(buf, sz, t) == 0)
		return (buf);
	return (ctl_db_text(st, col));
}

/* A size cell: "1.5 MiB" for an INTEGER column, else text. */
static const char *
ctl_cell_size(sqlite3_stmt *st, int col, char *buf, size_t sz)
{
	int64_t	 n;

	if (ctl_db_int(st, col, &n) && ctl_out_size(buf, sz, n) == 0)
		return (buf);
	return (ctl_db_text(st, col));
}

/* What init found or made at one path: a line, or a JSON member. */
static void
ctl_init_print(const struct ctl *c, const char *key, const char *label,
    const char *path, int created, int *first)
{
	char	*clean;

	if (c->json) {
		ctl_json_key(stdout, key, first);
		fputs("{\"path\":", stdout);
		ctl_json_string(stdout, path);
		printf(",\"created\":%s}", created ? "true" : "false");
		return;
	}
	clean = ctl_out_clean(path);
	printf("%-15s %s (%s)\n", label, clean != NULL ? clean : "?",
	    created ? "created" : "exists");
	free(clean);
}

/*
 * sluicectl init: the export root (mkdir -p), then each database created
 * if missing and its script run; the scripts use IF NOT EXISTS, so a
 * second run changes nothing.
 */
static int
ctl_init(struct ctl *c)
{
	struct stat	 st;
	sqlite3		*db = NULL;
	const char	*path[2] = { c->db, c->state_db };
	const char	*sql[2] = { sql_schema, sql_state };
	int		 created[3], i, first = 1;
	int		 rc = CTL_EXIT_FAIL;

	if (ctl_fs_mkdir_p(c->root, &created[2]) == -1) {
		ctl_err("init: export root %s", c->root);
		goto done;
	}
	for (i = 0; i < 2; i++) {
		if (stat(path[i], &st) == 0)
			created[i] = 0;
		else if (errno == ENOENT)
			created[i] = 1;
		else {
			ctl_err("init: %s", path[i]);
			goto done;
		}
		if (ctl_db_open(path[i], CTL_DB_CREATE, &db) == -1)
			goto done;
		if (ctl_db_exec(db, sql[i]) == -1)
			goto done;
		ctl_db_close(db);
		db = NULL;
	}
	if (c->json)
		fputc('{', stdout);
	ctl_init_print(c, "db", "jobs database", c->db, created[0], &first);
	ctl_init_print(c, "state_db", "state database", c->state_db,
	    created[1], &first);
	ctl_init_print(c, "root", "export root", c->root, created[2],
	    &first);
	if (c->json)
		fputs("}\n", stdout);
	rc = CTL_EXIT_OK;
done:
	ctl_db_close(db);
	return (rc);
}

/*
 * ?1 status, ?2 owner (NULL: any), ?3 expired only, ?4 now. Expired as
 * sluice sees it: 410 from expires_at on.
 */
static const char ctl_list_sql[] =
    "SELECT id, status, file_path, file_name, content_type, file_size, "
    "sha256, owner, token_sha256, created_at, finished_at, expires_at, "
    "max_downloads, error FROM export_jobs "
    "WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR owner = ?2) "
    "AND (?3 = 0 OR (expires_at IS NOT NULL AND expires_at <= ?4)) "
    "ORDER BY created_at DESC, id";

/* sluicectl list. */
static int
ctl_list(struct ctl *c)
{
	static const char *const head[] = { "ID", "STATUS", "SIZE",
	    "CREATED", "EXPIRES", "OWNER", "TOKEN", "NAME" };
	struct ctl_table t;
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	char		 size[CTL_OUT_SIZE_SIZE];
	char		 created[CTL_OUT_DATE_SIZE];
	char		 date[CTL_OUT_DATE_SIZE], expires[64];
	int64_t		 exp;
	int		 rc = CTL_EXIT_FAIL, r, n, first = 1;

	ctl_table_init(&t, 8, head, 1u << 2);
	if (ctl_db_open(c->db, CTL_DB_EXISTING, &db) == -1)
		goto done;
	if (ctl_db_prepare(db, ctl_list_sql, &st) == -1)
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
	if (c->json)
		fputc('[', stdout);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *row[8];

		if (c->json) {
			if (!first)
				fputc(',', stdout);
			first = 0;
			ctl_db_json_object(stdout, st);
			continue;
		}
		row[0] = ctl_db_text(st, 0);
		row[1] = ctl_db_text(st, 1);
		row[2] = ctl_cell_size(st, 5, size, sizeof(size));
		row[3] = ctl_cell_date(st, 9, created, sizeof(created));
		if (sqlite3_column_type(st, 11) == SQLITE_NULL)
			row[4] = "never";
		else if (ctl_db_int(st, 11, &exp) &&
		    ctl_out_date(date, sizeof(date), exp) == 0) {
			n = snprintf(expires, sizeof(expires), "%s%s", date,
			    exp <= c->now ? " (expired)" : "");
			row[4] = n < 0 || (size_t)n >= sizeof(expires) ?
			    date : expires;
		} else
			row[4] = ctl_db_text(st, 11);
		row[5] = ctl_db_text(st, 7);
		row[6] = sqlite3_column_type(st, 8) == SQLITE_NULL ? "-" :
		    "yes";
		row[7] = ctl_db_text(st, 3);
		ctl_table_add(&t, row);
	}
	if (r != SQLITE_DONE) {
		ctl_db_errx(db, "list");
		goto done;
	}
	if (c->json)
		fputs("]\n", stdout);
	else if (ctl_table_print(&t, stdout) == -1) {
		ctl_err("list");
		goto done;
	}
	rc = CTL_EXIT_OK;
done:
	ctl_table_free(&t);
	ctl_db_finalize(st);
	ctl_db_close(db);
	return (rc);
}

/* The downloads columns, in the order ctl_downloads_print expects. */
#define CTL_DOWNLOADS_COLS \
	"SELECT id, job_id, started_at, remote_addr, remote_user, " \
	"range_start, range_end, status, counts, bytes_sent, duration_ms, " \
	"outcome, pid FROM downloads "

static const char ctl_show_downloads_sql[] =
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

/*
 * Step st (CTL_DOWNLOADS_COLS) to the end, printing a JSON array or a
 * table (with the job column when with_job). *rows and *counted total
 * the rows and the counted downloads. Returns 0, or -1 after reporting.
 */
static int
ctl_downloads_print(const struct ctl *c, sqlite3 *db, sqlite3_stmt *st,
    int with_job, int64_t *rows, int64_t *counted)
{
	static const char *const head[] = { "STARTED", "JOB", "ADDR", "USER",
	    "STATUS", "RANGE", "BYTES", "MS", "OUTCOME" };
	struct ctl_table t;
	const char	*row[9];
	char		 date[CTL_OUT_DATE_SIZE], range[48];
	int64_t		 a, b, k;
	int		 r, n, first = 1, rc = -1;

	/* With no job column: the same table less its second column. */
	static const char *const head_nojob[] = { "STARTED", "ADDR", "USER",
	    "STATUS", "RANGE", "BYTES", "MS", "OUTCOME" };

	*rows = *counted = 0;
	if (with_job)
		ctl_table_init(&t, 9, head, 1u << 6 | 1u << 7);
	else
		ctl_table_init(&t, 8, head_nojob, 1u << 5 | 1u << 6);
	if (c->json)
		fputc('[', stdout);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		(*rows)++;
		if (ctl_db_int(st, 8, &k) && k != 0)
			(*counted)++;
		if (c->json) {
			if (!first)
				fputc(',', stdout);
			first = 0;
			ctl_db_json_object(stdout, st);
			continue;
		}
		if (ctl_db_int(st, 5, &a) && ctl_db_int(st, 6, &b)) {
			n = b < a ? snprintf(range, sizeof(range), "-") :
			    snprintf(range, sizeof(range), "%" PRId64 "-%"
			    PRId64, a, b);
			if (n < 0 || (size_t)n >= sizeof(range))
				range[0] = '\0';
		} else
			range[0] = '\0';
		n = 0;
		row[n++] = ctl_cell_date(st, 2, date, sizeof(date));
		if (with_job)
			row[n++] = ctl_db_text(st, 1);
		row[n++] = ctl_db_text(st, 3);
		row[n++] = ctl_db_text(st, 4);
		row[n++] = ctl_db_text(st, 7);
		row[n++] = range;
		row[n++] = ctl_db_text(st, 9);
		row[n++] = ctl_db_text(st, 10);
		row[n++] = ctl_db_text(st, 11);
		ctl_table_add(&t, row);
	}
	if (r != SQLITE_DONE) {
		ctl_db_errx(db, "downloads");
		goto done;
	}
	if (c->json)
		fputc(']', stdout);
	else if (ctl_table_print(&t, stdout) == -1) {
		ctl_err("downloads");
		goto done;
	}
	rc = 0;
done:
	ctl_table_free(&t);
	return (rc);
}

/*
 * One field of show, for people: times with their date, sizes with their
 * human form, and what a NULL means for the columns where it means
 * something. Returns the text to print (buf, or a constant, or the
 * column's text).
 */
static const char *
ctl_show_value(const struct ctl *c, sqlite3_stmt *st, int col,
    char *buf, size_t sz)
{
	const char *name = sqlite3_column_name(st, col);
	char	 human[CTL_OUT_DATE_SIZE + CTL_OUT_SIZE_SIZE];
	size_t	 nlen = name != NULL ? strlen(name) : 0;
	int64_t	 v;
	int	 n;

	if (name == NULL)
		name = "";
	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
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
	if (!ctl_db_int(st, col, &v))
		return (ctl_db_text(st, col));
	if (nlen > 3 && strcmp(name + nlen - 3, "_at") == 0 &&
	    ctl_out_date(human, sizeof(human), v) == 0) {
		n = snprintf(buf, sz, "%" PRId64 " (%s UTC%s)", v, human,
		    strcmp(name, "expires_at") == 0 && v <= c->now ?
		    ", expired" : "");
		return (n < 0 || (size_t)n >= sz ? ctl_db_text(st, col) : buf);
	}
	if (strcmp(name, "file_size") == 0 &&
	    ctl_out_size(human, sizeof(human), v) == 0) {
		n = snprintf(buf, sz, "%" PRId64 " (%s)", v, human);
		return (n < 0 || (size_t)n >= sz ? ctl_db_text(st, col) : buf);
	}
	return (ctl_db_text(st, col));
}

/*
 * sluicectl show ID: every column of the row (exporters may add their
 * own), then its downloads. A missing state database is not an error:
 * sluice creates it at its first start.
 */
static int
ctl_show(struct ctl *c)
{
	struct ctl_table t;
	struct stat	 st;
	sqlite3		*db = NULL, *sdb = NULL;
	sqlite3_stmt	*job = NULL, *dl = NULL;
	const char	*id = c->args[0];
	char		 buf[128];
	int64_t		 rows = 0, counted = 0;
	int		 rc = CTL_EXIT_FAIL, r, i, ncol, have_state = 1;

	ctl_table_init(&t, 2, NULL, 0);
	if (ctl_db_open(c->db, CTL_DB_EXISTING, &db) == -1)
		goto done;
	if (ctl_db_prepare(db, "SELECT * FROM export_jobs WHERE id = ?1",
	    &job) == -1)
		goto done;
	if (sqlite3_bind_text(job, 1, id, -1, SQLITE_STATIC) != SQLITE_OK) {
		ctl_db_errx(db, "show: bind");
		goto done;
	}
	if ((r = sqlite3_step(job)) == SQLITE_DONE) {
		ctl_errx("show: no job '%s'", id);
		rc = CTL_EXIT_NOTFOUND;
		goto done;
	}
	if (r != SQLITE_ROW) {
		ctl_db_errx(db, "show");
		goto done;
	}
	if (c->state_db == NULL ||
	    (stat(c->state_db, &st) == -1 && errno == ENOENT))
		have_state = 0;
	else {
		if (ctl_db_open(c->state_db, CTL_DB_EXISTING, &sdb) == -1)
			goto done;
		if (ctl_db_prepare(sdb, ctl_show_downloads_sql, &dl) == -1)
			goto done;
		if (sqlite3_bind_text(dl, 1, id, -1, SQLITE_STATIC) !=
		    SQLITE_OK) {
			ctl_db_errx(sdb, "show: bind");
			goto done;
		}
	}

	ncol = sqlite3_column_count(job);
	if (c->json) {
		fputs("{\"job\":", stdout);
		ctl_db_json_object(stdout, job);
		fputs(",\"downloads\":", stdout);
		if (!have_state)
			fputs("null", stdout);
		else if (ctl_downloads_print(c, sdb, dl, 0, &rows,
		    &counted) == -1)
			goto done;
		fputs("}\n", stdout);
		rc = CTL_EXIT_OK;
		goto done;
	}
	for (i = 0; i < ncol; i++) {
		const char *row[2];

		row[0] = sqlite3_column_name(job, i);
		row[1] = ctl_show_value(c, job, i, buf, sizeof(buf));
		ctl_table_add(&t, row);
	}
	if (ctl_table_print(&t, stdout) == -1) {
		ctl_err("show");
		goto done;
	}
	if (!have_state) {
		printf("\ndownloads: unknown (no state database %s yet)\n",
		    c->state_db != NULL ? c->state_db : "");
		rc = CTL_EXIT_OK;
		goto done;
	}
	printf("\ndownloads:\n");
	if (ctl_downloads_print(c, sdb, dl, 0, &rows, &counted) == -1)
		goto done;
	printf("%" PRId64 " responses, %" PRId64 " counted\n", rows,
	    counted);
	rc = CTL_EXIT_OK;
done:
	ctl_table_free(&t);
	ctl_db_finalize(job);
	ctl_db_finalize(dl);
	ctl_db_close(db);
	ctl_db_close(sdb);
	return (rc);
}

/*
 * sluicectl revoke ID: in one BEGIN IMMEDIATE transaction, read the
 * status (to report it, and to tell an unknown id), then set 'revoked'.
 */
static int
ctl_revoke(struct ctl *c)
{
	sqlite3		*db = NULL;
	sqlite3_stmt	*sel = NULL, *upd = NULL;
	const char	*id = c->args[0], *was;
	char		*prev = NULL;
	int		 rc = CTL_EXIT_FAIL, r, first = 1;

	if (ctl_db_open(c->db, CTL_DB_EXISTING, &db) == -1)
		goto done;
	if (ctl_db_prepare(db, "SELECT status FROM export_jobs WHERE id = ?1",
	    &sel) == -1 ||
	    ctl_db_prepare(db, "UPDATE export_jobs SET status = 'revoked' "
	    "WHERE id = ?1", &upd) == -1)
		goto done;
	if (sqlite3_bind_text(sel, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(upd, 1, id, -1, SQLITE_STATIC) != SQLITE_OK) {
		ctl_db_errx(db, "revoke: bind");
		goto done;
	}
	if (ctl_db_exec(db, "BEGIN IMMEDIATE") == -1)
		goto done;
	if ((r = sqlite3_step(sel)) == SQLITE_DONE) {
		ctl_errx("revoke: no job '%s'", id);
		rc = CTL_EXIT_NOTFOUND;
		goto done;
	}
	if (r != SQLITE_ROW) {
		ctl_db_errx(db, "revoke");
		goto done;
	}
	was = ctl_db_text(sel, 0);
	if ((prev = strdup(was != NULL ? was : "")) == NULL) {
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
	if (c->json) {
		fputc('{', stdout);
		ctl_json_key(stdout, "id", &first);
		ctl_json_string(stdout, id);
		ctl_json_key(stdout, "status", &first);
		ctl_json_string(stdout, "revoked");
		ctl_json_key(stdout, "previous", &first);
		ctl_json_string(stdout, prev);
		fputs("}\n", stdout);
	} else {
		char *clean = ctl_out_clean(prev);

		printf("revoked %s (was %s)\n", id, clean != NULL ? clean :
		    "?");
		free(clean);
	}
	rc = CTL_EXIT_OK;
done:
	(void)ctl_db_rollback(db);
	free(prev);
	ctl_db_finalize(sel);
	ctl_db_finalize(upd);
	ctl_db_close(db);
	return (rc);
}

/* sluicectl audit: recent rows of the downloads table, newest first. */
static int
ctl_audit(struct ctl *c)
{
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	int64_t		 rows, counted;
	int		 rc = CTL_EXIT_FAIL;

	if (ctl_db_open(c->state_db, CTL_DB_EXISTING, &db) == -1)
		goto done;
	if (ctl_db_prepare(db, ctl_audit_sql, &st) == -1)
		goto done;
	if ((c->job != NULL ? sqlite3_bind_text(st, 1, c->job, -1,
	    SQLITE_STATIC) : sqlite3_bind_null(st, 1)) != SQLITE_OK ||
	    (c->has_since ? sqlite3_bind_int64(st, 2, c->since) :
	    sqlite3_bind_null(st, 2)) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, c->limit > 0 ? c->limit : -1) !=
	    SQLITE_OK) {
		ctl_db_errx(db, "audit: bind");
		goto done;
	}
	if (ctl_downloads_print(c, db, st, 1, &rows, &counted) == -1)
		goto done;
	if (c->json)
		fputc('\n', stdout);
	rc = CTL_EXIT_OK;
done:
	ctl_db_finalize(st);
	ctl_db_close(db);
	return (rc);
}

int
main(int argc, char **argv)
{
	const struct ctl_cmd *cmd = NULL;
	struct ctl	 c;
	time_t		 now;
	int		 rc;

	memset(&c, 0, sizeof(c));
	if ((now = time(NULL)) == (time_t)-1) {
		ctl_err("time");
		return (CTL_EXIT_FAIL);
	}
	c.now = (int64_t)now;
	c.older_than = CTL_PURGE_DAYS;
	c.limit = CTL_AUDIT_LIMIT;
	c.url = CTL_DEFAULT_URL;
	rc = ctl_opt_parse(&c, argc, argv, ctl_cmds,
	    sizeof(ctl_cmds) / sizeof(ctl_cmds[0]), &cmd);
	if (rc == CTL_OPT_HELP) {
		fputs(cmd != NULL ? cmd->help : ctl_help_main, stdout);
		rc = CTL_EXIT_OK;
		goto done;
	}
	if (rc != 0)
		goto done;
	if ((rc = ctl_settings(&c, cmd)) != 0)
		goto done;
	rc = cmd->run(&c);
done:
	if (fflush(stdout) == EOF || ferror(stdout)) {
		ctl_err("writing the output");
		if (rc == CTL_EXIT_OK)
			rc = CTL_EXIT_FAIL;
	}
	free(c.args);
	free(c.state_db_buf);
	return (rc);
}
