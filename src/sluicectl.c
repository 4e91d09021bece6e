/*
 * sluicectl: the operators' admin tool for sluice.
 *
 * This file is main, the command table with each command's help text and
 * the exit codes, and the dispatch: parse the command line (ctl_opt.c),
 * settle the defaults and what the command needs, run it. The commands
 * live one file per close group: init in ctl_init.c; list, show and
 * revoke in ctl_jobs.c; audit in ctl_audit.c; add in ctl_add.c; purge and
 * check, which walk files beneath the root, in ctl_files.c.
 *
 * It writes the exporter's jobs database, which sluice itself only reads,
 * always in short write transactions with a busy (lock) timeout, and
 * only reads sluice's state database (the audit trail). Either database
 * is SQLite or PostgreSQL, through ctl_db.
 *
 * Output: an aligned table (or key/value list) for people, or with --json
 * one JSON array or object for scripts. Errors: one line on stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "ctl_add.h"
#include "ctl_audit.h"
#include "ctl_files.h"
#include "ctl_init.h"
#include "ctl_jobs.h"
#include "ctl_opt.h"
#include "ctl_out.h"
#include "job.h"
#include "paths.h"
#include "ctl_state.h"
#include "sluicectl.h"
#include "units.h"

#define CTL_HELP_WINDOW \
	"  --resume-window D  as sluice's [SLUICE_RESUME_WINDOW]: a download\n" \
	"                     is open while a response of it is in flight,\n" \
	"                     and for D (s, m, h, d or w; default 1h, or off)\n" \
	"                     after its last one ended\n"

#define CTL_HELP_EXIT \
	"\nExit status: 0 ok, 1 an operation or check failed, " \
	"2 usage error,\n" \
	"3 not found (show or revoke of an unknown id).\n"

#define CTL_HELP_GLOBAL \
	"\nGlobal options (before or after the command):\n" \
	"  --db DB            the jobs database: a SQLite path or a\n" \
	"                     PostgreSQL connection string [SLUICE_DB]\n" \
	"  --state-db DB      sluice's state database, either kind\n" \
	"                     [SLUICE_STATE_DB]; default\n" \
	"                     " PATHS_STATE_DB_DEFAULT "\n" \
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
    "  list        list jobs (--status, --owner, --expired) and the\n"
    "              downloads each has used\n"
    "  show ID     one job, all its fields, and its downloads\n"
    "  revoke ID   withdraw a job: status 'revoked' (sluice answers 410)\n"
    "  purge       delete old expired, revoked and failed jobs and files\n"
    "  audit       recent downloads, from the state database\n"
    "  check       verify every done job's file beneath the root\n"
    "  prune       delete old audit rows (--older-than, default 90d)\n"
    "  vacuum      compact the state database and empty its WAL\n"
    "\n"
    "`sluicectl COMMAND --help` describes a command and its options.\n"
    CTL_HELP_GLOBAL
    CTL_HELP_EXIT;

static const char ctl_help_init[] =
    "usage: sluicectl init --db PATH --root DIR [--state-db PATH]\n"
    "\n"
    "Create the jobs database (sql/schema.sql), sluice's state database\n"
    "(sql/state.sql) and the export root directory, whichever are missing.\n"
    "A version 1 state database (before downloads were recorded) is\n"
    "migrated in place, its rows kept. Running it again changes nothing.\n"
    "In PostgreSQL the database must exist: init creates its tables\n"
    "(sql/pg/schema.sql, sql/pg/state.sql) under an advisory lock.\n"
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
    "List jobs, newest first. USED is the downloads a job has used\n"
    "against its max_downloads (\"1/3\"; \"2/-\": no limit; \"-\": no\n"
    "state database yet), as sluice counts them.\n"
    "\n"
    "  --status S      only jobs in status S: pending, running, done,\n"
    "                  failed or revoked\n"
    "  --owner USER    only jobs owned by USER\n"
    "  --expired       only jobs whose expires_at has passed\n"
    CTL_HELP_WINDOW
    "Needs --db.\n"
    CTL_HELP_GLOBAL
    CTL_HELP_EXIT;

static const char ctl_help_show[] =
    "usage: sluicectl show [--responses] ID\n"
    "\n"
    "Every field of job ID, then its downloads from the state database\n"
    "(one client fetching the job, however many responses it took): the\n"
    "client, when it opened and was last active, its responses, bytes\n"
    "sent, the bytes of the file covered, complete or not, open or\n"
    "closed; and how many of max_downloads are used.\n"
    "\n"
    "  --responses        each download's responses beneath it, and the\n"
    "                     job's responses of no download\n"
    CTL_HELP_WINDOW
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
    "                       [--responses]\n"
    "\n"
    "Recent downloads from the state database, newest opened first, as\n"
    "show lists them.\n"
    "\n"
    "  --job ID           only downloads of job ID\n"
    "  --since WHEN       only those active since WHEN (last activity at\n"
    "                     or after it, or a response in flight): a\n"
    "                     duration back from now (90s, 30m, 1h, 7d, 2w)\n"
    "                     or unix seconds\n"
    "  --limit N          at most N downloads (default 50; 0: all)\n"
    "  --responses        each download's responses beneath it\n"
    CTL_HELP_WINDOW
    "Reads the state database (--state-db; sluice's default unless given).\n"
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

static const char ctl_help_prune[] =
    "usage: sluicectl prune [--older-than DURATION]\n"
    "\n"
    "Delete the responses started more than DURATION ago (s, m, h, d or\n"
    "w; default 90d, as sluice's --audit-retention), and the downloads\n"
    "last active before then, in small batches. Responses still in\n"
    "flight ('started'), and their downloads, are kept; pruned downloads\n"
    "stay counted for max_downloads. sluice prunes by itself; this is for\n"
    "a shorter window once, or with --audit-retention off.\n"
    "Reads the state database (--state-db; sluice's default unless given).\n"
    CTL_HELP_GLOBAL
    CTL_HELP_EXIT;

static const char ctl_help_vacuum[] =
    "usage: sluicectl vacuum\n"
    "\n"
    "Rewrite the state database without its free pages (after a large\n"
    "prune) and empty its WAL. Takes the write lock for as long as it\n"
    "runs: sluice's limited downloads get 503 meanwhile.\n"
    "Reads the state database (--state-db; sluice's default unless given).\n"
    CTL_HELP_GLOBAL
    CTL_HELP_EXIT;

static const struct ctl_cmd ctl_cmds[] = {
	{ "init", C_INIT, 0, NEED_DB | NEED_ROOT | NEED_STATE, ctl_init_run,
	    ctl_help_init },
	{ "add", C_ADD, 1, NEED_DB | NEED_ROOT, ctl_add_run, ctl_help_add },
	{ "list", C_LIST, 0, NEED_DB, ctl_jobs_list, ctl_help_list },
	{ "show", C_SHOW, 1, NEED_DB, ctl_jobs_show, ctl_help_show },
	{ "revoke", C_REVOKE, 1, NEED_DB, ctl_jobs_revoke, ctl_help_revoke },
	{ "purge", C_PURGE, 0, NEED_DB | NEED_ROOT, ctl_files_purge,
	    ctl_help_purge },
	{ "audit", C_AUDIT, 0, NEED_STATE, ctl_audit_run, ctl_help_audit },
	{ "check", C_CHECK, 0, NEED_DB | NEED_ROOT, ctl_files_check,
	    ctl_help_check },
	{ "prune", C_PRUNE, 0, NEED_STATE, ctl_state_prune,
	    ctl_help_prune },
	{ "vacuum", C_VACUUM, 0, NEED_STATE, ctl_state_vacuum,
	    ctl_help_vacuum },
};


/*
 * Take the state database's default (sluice's own, paths.h), and
 * check that cmd has what it needs. Returns 0, or an exit code after one
 * line.
 */
static int
ctl_settings(struct ctl *c, const struct ctl_cmd *cmd)
{
	size_t	 sz = sizeof(PATHS_STATE_DB_DEFAULT);

	if (c->state_db == NULL) {
		if ((c->state_db_buf = malloc(sz)) == NULL) {
			ctl_err("memory");
			return (CTL_EXIT_FAIL);
		}
		if (paths_state_db_default(c->state_db_buf, sz) == -1) {
			ctl_errx("the state database's default: too long");
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
	return (0);
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
	c.resume_window = AUDIT_RESUME_WINDOW_DEFAULT;
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
