/*
 * sluicectl: the operators' admin tool. The parsed command line that each
 * command (sluicectl.c, ctl_add.c, ctl_files.c) works from, the exit
 * codes. The value parsers are units.c's.
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

	char		**args;		/* operands after it */
	int		 nargs;
};

#endif
