/*
 * libFuzzer target: ctl_opt_parse(), sluicectl's command line (options
 * before or after the command, each option's commands, the operands, and
 * the SLUICE_* environment) from an argv and an environment made of the
 * fuzzer's bytes (fuzz_argv.h says how). Only through its entry point:
 * src/ctl_* are not changed for it.
 *
 * The command table is sluicectl.c's, restated below (name, bit, number
 * of operands: all ctl_opt_parse reads; the table itself is static in
 * sluicectl.c). A command added there is missing here until added: its
 * name is then an unknown command.
 *
 * Properties (abort with a message): the answer is 0, CTL_OPT_HELP or a
 * usage or failure exit code; 0 comes with a command of the table whose
 * name is among the arguments, c->cmd naming it, exactly its number of
 * operands, each one of the arguments; CTL_OPT_HELP only when --help or -h
 * was given; every string set points at a terminated string; every
 * number an option set is within its option's range; and the same argv
 * and environment give the same answer and the same struct.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_opt.h"
#include "audit.h"
#include "fuzz_argv.h"
#include "job.h"
#include "sluicectl.h"

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_ctl_opt: property failed: %s "	\
		    "(line %d)\n", #c, __LINE__);			\
		abort();						\
	}								\
} while (0)

#define FZ_NOW	INT64_C(1700000000)

static const char *const fz_env[] = { "SLUICE_DB", "SLUICE_STATE_DB",
    "SLUICE_ROOT", "SLUICE_PUBLIC_URL", "SLUICE_RESUME_WINDOW" };

/* sluicectl.c's ctl_cmds, less what ctl_opt_parse does not read. */
static const struct ctl_cmd fz_cmds[] = {
	{ "init", C_INIT, 0, 0, NULL, NULL },
	{ "add", C_ADD, 1, 0, NULL, NULL },
	{ "list", C_LIST, 0, 0, NULL, NULL },
	{ "show", C_SHOW, 1, 0, NULL, NULL },
	{ "revoke", C_REVOKE, 1, 0, NULL, NULL },
	{ "purge", C_PURGE, 0, 0, NULL, NULL },
	{ "audit", C_AUDIT, 0, 0, NULL, NULL },
	{ "check", C_CHECK, 0, 0, NULL, NULL },
	{ "prune", C_PRUNE, 0, 0, NULL, NULL },
	{ "vacuum", C_VACUUM, 0, 0, NULL, NULL },
};

#define FZ_NCMDS	(sizeof(fz_cmds) / sizeof(fz_cmds[0]))

/* Is p one of the arguments (the pointer, not a copy)? */
static int
fz_is_arg(const struct fuzz_argv *a, const char *p)
{
	int	 i;

	for (i = 1; i < a->argc; i++)
		if (a->argv[i] == p)
			return (1);
	return (0);
}

/* A string field: NULL, or terminated (ASan reads it to the end). */
static void
fz_string(const char *s)
{
	if (s != NULL)
		CHECK(strlen(s) < (size_t)1 << 20);
}

/* main's defaults before the parse. */
static void
fz_ctl_init(struct ctl *c)
{
	memset(c, 0, sizeof(*c));
	c->now = FZ_NOW;
	c->older_than = CTL_PURGE_DAYS;
	c->limit = CTL_AUDIT_LIMIT;
	c->resume_window = AUDIT_RESUME_WINDOW_DEFAULT;
	c->url = CTL_DEFAULT_URL;
}

static void
fz_check_ok(const struct fuzz_argv *a, const struct ctl *c,
    const struct ctl_cmd *cmd)
{
	int	 i;

	CHECK(cmd >= fz_cmds && cmd < fz_cmds + FZ_NCMDS);
	CHECK(c->cmd == cmd->name);
	CHECK(c->nargs == cmd->nargs);
	for (i = 1; i < a->argc; i++)
		if (strcmp(a->argv[i], cmd->name) == 0)
			break;
	CHECK(i < a->argc);
	for (i = 0; i < c->nargs; i++)
		CHECK(c->args[i] != NULL && fz_is_arg(a, c->args[i]));
	fz_string(c->db);
	fz_string(c->state_db);
	fz_string(c->root);
	fz_string(c->name);
	fz_string(c->owner);
	fz_string(c->content_type);
	fz_string(c->url);
	fz_string(c->job);
	CHECK(c->status == NULL || job_status_parse(c->status) != JOB_UNKNOWN);
	CHECK(!c->has_expires || c->expires >= 0);
	CHECK(!c->has_max_downloads || c->max_downloads >= 0);
	CHECK(!c->has_prune_age || c->prune_age >= 0);
	CHECK(c->older_than >= 0 && c->limit >= 0 && c->resume_window >= 0);
	CHECK(c->json == 0 || c->json == 1);
}

/* Did argv ask for help (anywhere: after "--" too, so a superset)? */
static int
fz_help_given(const struct fuzz_argv *a)
{
	int	 i;

	for (i = 1; i < a->argc; i++)
		if (strcmp(a->argv[i], "--help") == 0 ||
		    strcmp(a->argv[i], "-h") == 0)
			return (1);
	return (0);
}

static int
fz_parse(struct fuzz_argv *a, struct ctl *c,
    const struct ctl_cmd **cmd)
{
	int	 rc;

	fz_ctl_init(c);
	rc = ctl_opt_parse(c, a->argc, a->argv, fz_cmds, FZ_NCMDS, cmd);
	CHECK(rc == 0 || rc == CTL_OPT_HELP || rc == CTL_EXIT_USAGE ||
	    rc == CTL_EXIT_FAIL);
	if (rc == 0)
		fz_check_ok(a, c, *cmd);
	else if (rc == CTL_OPT_HELP)
		CHECK(fz_help_given(a) && (*cmd == NULL ||
		    (*cmd >= fz_cmds && *cmd < fz_cmds + FZ_NCMDS)));
	return (rc);
}

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_env_clear();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_argv	 a;
	static struct ctl	 c1, c2;
	const struct ctl_cmd	*cmd1, *cmd2;
	int			 rc1, rc2, i;

	fuzz_argv_decode(&a, data, size, "sluicectl", fz_env,
	    sizeof(fz_env) / sizeof(fz_env[0]));
	rc1 = fz_parse(&a, &c1, &cmd1);
	rc2 = fz_parse(&a, &c2, &cmd2);
	CHECK(rc1 == rc2 && cmd1 == cmd2);
	if (rc1 == 0) {
		const char	**args2 = c2.args;

		CHECK(c1.nargs == c2.nargs);
		for (i = 0; i < c1.nargs; i++)
			CHECK(c1.args[i] == c2.args[i]);
		/* The same fields, the operands' array aside. */
		c2.args = c1.args;
		CHECK(memcmp(&c1, &c2, sizeof(c1)) == 0);
		c2.args = args2;
	}
	/* main frees them whatever the answer. */
	free(c1.args);
	free(c2.args);
	fuzz_env_clear();
	return (0);
}
