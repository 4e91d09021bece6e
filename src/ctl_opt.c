/*
 * ctl_opt: sluicectl's command line, read with opt.c's table-driven
 * parser (the one sluice's config.c uses). Global options may come
 * before or after the command; each other option belongs to the commands
 * in its row's groups. Names match exactly, "-x" is an operand (a file
 * may be called "-"), and "--" ends the options.
 *
 * Every usage error is one line on stderr that names the command, and the
 * caller exits CTL_EXIT_USAGE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_opt.h"
#include "ctl_out.h"
#include "opt.h"
#include "job.h"
#include "sluicectl.h"
#include "units.h"

#define CTL_OPT_ERR_SIZE	4096	/* a message quoting a long value */

static opt_set_fn ctl_opt_expires, ctl_opt_max_downloads, ctl_opt_status,
    ctl_opt_older_than, ctl_opt_since, ctl_opt_limit, ctl_opt_resume_window;

#define STR(n, e, f, g)	OPT_ROW_STR(n, e, struct ctl, f, g)
#define FLAG(n, f, g)	OPT_ROW_FLAG(n, struct ctl, f, g)
#define FUNC(n, fn, g)	OPT_ROW_FUNC(n, fn, g)
#define FUNC_ENV(n, e, fn, g) \
	{ (n), 0, OPT_FUNC, (e), 0, 0, 0, 0, (fn), (g) }

static const struct opt ctl_opts[] = {
	STR("db",		"SLUICE_DB",		db,	C_ALL),
	STR("state-db",		"SLUICE_STATE_DB",	state_db, C_ALL),
	STR("root",		"SLUICE_ROOT",		root,	C_ALL),
	FLAG("json",		json,			C_ALL),
	OPT_ROW_HELP(C_ALL),
	FLAG("move",		move,			C_ADD),
	STR("name",		NULL,			name,	C_ADD),
	STR("owner",		NULL,			owner,	C_ADD | C_LIST),
	FUNC("expires",		ctl_opt_expires,	C_ADD),
	FUNC("max-downloads",	ctl_opt_max_downloads,	C_ADD),
	STR("content-type",	NULL,		content_type,	C_ADD),
	FLAG("token",		token,			C_ADD),
	STR("url",		"SLUICE_PUBLIC_URL",	url,	C_ADD),
	FUNC("status",		ctl_opt_status,		C_LIST),
	FLAG("expired",		expired,		C_LIST),
	FUNC("older-than",	ctl_opt_older_than,	C_PURGE | C_PRUNE),
	FLAG("dry-run",		dry_run,		C_PURGE),
	STR("job",		NULL,			job,	C_AUDIT),
	FUNC("since",		ctl_opt_since,		C_AUDIT),
	FUNC("limit",		ctl_opt_limit,		C_AUDIT),
	FLAG("hash",		hash,			C_CHECK),
	FLAG("responses",	responses,		C_SHOW | C_AUDIT),
	FUNC_ENV("resume-window", "SLUICE_RESUME_WINDOW",
	    ctl_opt_resume_window, C_SHOW | C_AUDIT | C_LIST),
};

#define CTL_NOPTS	(sizeof(ctl_opts) / sizeof(ctl_opts[0]))

/* --expires: a duration, or "never". */
static int
ctl_opt_expires(void *target, const struct opt *o, const char *v,
    char *err, size_t errsz)
{
	struct ctl *c = target;

	(void)o;
	if (strcmp(v, "never") == 0) {
		c->has_expires = 0;
		return (0);
	}
	if (units_duration_parse(v, &c->expires) == -1) {
		snprintf(err, errsz, "--expires: want a number and a unit "
		    "s, m, h, d or w (e.g. 7d), or never; got '%s'", v);
		return (-1);
	}
	c->has_expires = 1;
	return (0);
}

/* --max-downloads: a count. */
static int
ctl_opt_max_downloads(void *target, const struct opt *o, const char *v,
    char *err, size_t errsz)
{
	struct ctl *c = target;

	(void)o;
	if (units_count_parse(v, &c->max_downloads) == -1) {
		snprintf(err, errsz, "--max-downloads: want a whole number "
		    ">= 0; got '%s'", v);
		return (-1);
	}
	c->has_max_downloads = 1;
	return (0);
}

/* --status: one of the job statuses. */
static int
ctl_opt_status(void *target, const struct opt *o, const char *v,
    char *err, size_t errsz)
{
	struct ctl *c = target;

	(void)o;
	if (job_status_parse(v) == JOB_UNKNOWN) {
		snprintf(err, errsz, "--status: want pending, running, done, "
		    "failed or revoked; got '%s'", v);
		return (-1);
	}
	c->status = v;
	return (0);
}

/* --older-than: days for purge; a duration for prune. */
static int
ctl_opt_older_than(void *target, const struct opt *o, const char *v,
    char *err, size_t errsz)
{
	struct ctl *c = target;

	(void)o;
	if (c->cmd != NULL && strcmp(c->cmd, "prune") == 0) {
		if (units_duration_parse(v, &c->prune_age) == -1) {
			snprintf(err, errsz, "--older-than: want a number and "
			    "a unit s, m, h, d or w (e.g. 90d); got '%s'", v);
			return (-1);
		}
		c->has_prune_age = 1;
		return (0);
	}
	if (units_count_parse(v, &c->older_than) == -1) {
		snprintf(err, errsz, "--older-than: want a number of days; "
		    "got '%s'", v);
		return (-1);
	}
	return (0);
}

/* --since: unix seconds, or a duration back from c->now. */
static int
ctl_opt_since(void *target, const struct opt *o, const char *v,
    char *err, size_t errsz)
{
	struct ctl *c = target;
	int64_t	 n;

	(void)o;
	if (units_count_parse(v, &c->since) == 0) {
		c->has_since = 1;
		return (0);
	}
	if (units_duration_parse(v, &n) == -1) {
		snprintf(err, errsz, "--since: want a duration (1h, 7d) or "
		    "unix seconds; got '%s'", v);
		return (-1);
	}
	c->since = c->now - n;
	c->has_since = 1;
	return (0);
}

/* --limit: a count, 0 for all. */
static int
ctl_opt_limit(void *target, const struct opt *o, const char *v,
    char *err, size_t errsz)
{
	struct ctl *c = target;

	(void)o;
	if (units_count_parse(v, &c->limit) == -1) {
		snprintf(err, errsz, "--limit: want a whole number >= 0; got "
		    "'%s'", v);
		return (-1);
	}
	return (0);
}

/*
 * --resume-window (SLUICE_RESUME_WINDOW): as sluice's, a duration, or
 * "off" / "0" for none. It must be the one sluice runs with: it decides
 * which downloads are open.
 */
static int
ctl_opt_resume_window(void *target, const struct opt *o, const char *v,
    char *err, size_t errsz)
{
	struct ctl *c = target;

	(void)o;
	if (strcmp(v, "off") == 0 || strcmp(v, "0") == 0) {
		c->resume_window = 0;
		return (0);
	}
	if (units_duration_parse(v, &c->resume_window) == -1) {
		snprintf(err, errsz, "--resume-window (or "
		    "SLUICE_RESUME_WINDOW): want a number and a unit s, m, h, "
		    "d or w (e.g. 1h), or off; got '%s'", v);
		return (-1);
	}
	return (0);
}

static const struct ctl_cmd *
ctl_opt_cmd_find(const struct ctl_cmd *cmds, size_t ncmds, const char *name)
{
	size_t	 i;

	for (i = 0; i < ncmds; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return (&cmds[i]);
	return (NULL);
}

/*
 * First pass: the first operand (the command's name, into *cmdname) and
 * whether help is asked for. Unknown options are left for the second
 * pass, which knows the command.
 */
static int
ctl_opt_scan(int argc, char **argv, const char **cmdname)
{
	struct opt_iter	 it;
	struct opt_arg	 a;
	int		 help = 0;

	*cmdname = NULL;
	opt_iter_init(&it, argc, argv, 0);
	while (opt_next(&it, ctl_opts, CTL_NOPTS, &a) != OPT_END) {
		if (a.kind == OPT_OPTION && a.o->type == OPT_HELP)
			help = 1;
		else if (a.kind == OPT_OPERAND && *cmdname == NULL)
			*cmdname = a.arg;
	}
	return (help);
}

/* One usage line for a.arg in cmd; returns CTL_EXIT_USAGE. */
static int
ctl_opt_usage(const struct ctl_cmd *cmd, const struct opt_arg *a)
{
	if (a->o == NULL || (a->o->groups & cmd->bit) == 0)
		ctl_errx("%s: unknown option '%s' (see sluicectl %s --help)",
		    cmd->name, a->arg, cmd->name);
	else if (a->kind == OPT_MISSING)
		ctl_errx("%s: --%s needs a value", cmd->name, a->o->name);
	else
		ctl_errx("%s: --%s takes no value", cmd->name, a->o->name);
	return (CTL_EXIT_USAGE);
}

/*
 * Second pass: the environment, then every option (it must be one of
 * cmd's) and operand (at most cmd->nargs, besides the command's name).
 * Returns 0, or an exit code after one line on stderr.
 */
static int
ctl_opt_apply(struct ctl *c, int argc, char **argv, const struct ctl_cmd *cmd,
    const char *cmdname)
{
	struct opt_iter	 it;
	struct opt_arg	 a;
	char		 err[CTL_OPT_ERR_SIZE];

	if ((c->args = calloc((size_t)argc, sizeof(*c->args))) == NULL) {
		ctl_err("memory");
		return (CTL_EXIT_FAIL);
	}
	if (opt_env(c, ctl_opts, CTL_NOPTS, err, sizeof(err)) == -1) {
		ctl_errx("%s: %s", cmd->name, err);
		return (CTL_EXIT_USAGE);
	}
	opt_iter_init(&it, argc, argv, 0);
	while (opt_next(&it, ctl_opts, CTL_NOPTS, &a) != OPT_END) {
		if (a.kind == OPT_OPERAND) {
			if (a.arg == cmdname)
				continue;
			if (c->nargs >= cmd->nargs) {
				ctl_errx("%s: unexpected argument '%s' (see "
				    "sluicectl %s --help)", cmd->name, a.arg,
				    cmd->name);
				return (CTL_EXIT_USAGE);
			}
			c->args[c->nargs++] = a.arg;
			continue;
		}
		if (a.kind != OPT_OPTION || (a.o->groups & cmd->bit) == 0)
			return (ctl_opt_usage(cmd, &a));
		if (opt_set(c, a.o, a.v, err, sizeof(err)) == -1) {
			ctl_errx("%s: %s", cmd->name, err);
			return (CTL_EXIT_USAGE);
		}
	}
	return (0);
}

/*
 * Parse argv into c, by the command table cmds. The first operand is the
 * command; options may come before or after it; the environment fills
 * what the options do not give. Returns 0 with *cmdp set to run it,
 * CTL_OPT_HELP with *cmdp the command (NULL: none) whose help to print,
 * or an exit code after one line on stderr. c->args is then the
 * caller's to free.
 */
int
ctl_opt_parse(struct ctl *c, int argc, char **argv,
    const struct ctl_cmd *cmds, size_t ncmds, const struct ctl_cmd **cmdp)
{
	const struct ctl_cmd *cmd = NULL;
	const char	*cmdname;
	int		 help, rc;

	*cmdp = NULL;
	help = ctl_opt_scan(argc, argv, &cmdname);
	if (cmdname != NULL &&
	    (cmd = ctl_opt_cmd_find(cmds, ncmds, cmdname)) == NULL) {
		ctl_errx("unknown command '%s' (see sluicectl --help)",
		    cmdname);
		return (CTL_EXIT_USAGE);
	}
	*cmdp = cmd;
	if (help)
		return (CTL_OPT_HELP);
	if (cmd == NULL) {
		ctl_errx("no command given (see sluicectl --help)");
		return (CTL_EXIT_USAGE);
	}
	c->cmd = cmd->name;
	if ((rc = ctl_opt_apply(c, argc, argv, cmd, cmdname)) != 0)
		return (rc);
	if (c->nargs < cmd->nargs) {
		ctl_errx("%s: missing %s (see sluicectl %s --help)",
		    cmd->name, cmd->nargs == 1 && cmd->bit == C_ADD ? "FILE" :
		    "ID", cmd->name);
		return (CTL_EXIT_USAGE);
	}
	return (0);
}
