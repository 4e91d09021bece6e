/*
 * sluicectl: the operators' admin tool. The parsed command line that each
 * command (ctl_init.c, ctl_jobs.c, ctl_audit.c, ctl_add.c, ctl_files.c)
 * works from, the command table's row, the exit codes. The value parsers are
 * units.c's.
 */
#ifndef SLUICE_SLUICECTL_H
#define SLUICE_SLUICECTL_H

#include <stdint.h>

/* Exit codes, documented in `sluicectl --help`. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAIL = 1,	/* an operation failed, or check found */
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_NOTFOUND = 3	/* show or revoke of an unknown job id */
};

#define CTL_DEFAULT_URL		"http://localhost/download/"
#define CTL_PURGE_DAYS		30
#define CTL_AUDIT_LIMIT		50

/*
 * The command line, after options and the environment are applied. The
 * strings point into argv or the environment, except state_db, which may
 * point at state_db_buf (owned). Values are validated by the parser.
 */
struct ctl {
	const char	*cmd;
	const char	*db;		/* --db, SLUICE_DB */
	const char	*state_db;	/* --state-db, SLUICE_STATE_DB */
	const char	*root;		/* --root, SLUICE_ROOT */
	char		*state_db_buf;
	int		 json;		/* --json */
	int64_t		 now;		/* unix seconds at start */

	/* add */
	const char	*name;
	const char	*owner;		/* also list's filter */
	const char	*content_type;
	const char	*url;		/* --url, SLUICE_PUBLIC_URL */
	int64_t		 expires;	/* seconds ahead, if has_expires */
	int64_t		 max_downloads;	/* if has_max_downloads */
	int		 has_expires;
	int		 has_max_downloads;
	int		 move;
	int		 token;

	/* list */
	const char	*status;
	int		 expired;

	/* purge */
	int64_t		 older_than;	/* days */
	int		 dry_run;

	/* show, audit, list: the downloads in sluice's state database */
	int64_t		 resume_window;	/* --resume-window, seconds */
	int		 responses;	/* --responses: each one's, beneath */

	/* audit */
	const char	*job;
	int64_t		 since;		/* unix time, if has_since */
	int64_t		 limit;		/* 0: no limit */
	int		 has_since;

	/* prune */
	int64_t		 prune_age;	/* seconds, if has_prune_age */
	int		 has_prune_age;

	/* check */
	int		 hash;

	const char	**args;		/* operands after it */
	int		 nargs;
};

/* Command bits: which commands accept an option (ctl_opt.c). */
#define C_INIT		0x01u
#define C_ADD		0x02u
#define C_LIST		0x04u
#define C_SHOW		0x08u
#define C_REVOKE	0x10u
#define C_PURGE		0x20u
#define C_AUDIT		0x40u
#define C_CHECK		0x80u
#define C_PRUNE		0x100u
#define C_VACUUM	0x200u
#define C_ALL		0xffffffffu

/* What a command needs before it runs (ctl_settings). */
#define NEED_DB		0x1u
#define NEED_ROOT	0x2u
#define NEED_STATE	0x4u

/* One row of the command table (sluicectl.c). */
struct ctl_cmd {
	const char	*name;
	unsigned	 bit;
	int		 nargs;		/* operands after it */
	unsigned	 need;
	int		(*run)(struct ctl *);
	const char	*help;
};

#endif
