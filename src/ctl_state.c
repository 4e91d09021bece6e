/*
 * ctl_state: `sluicectl prune` and `sluicectl vacuum`. Each prints one
 * line (or one JSON object with --json) saying what it did.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "audit.h"
#include "ctl_out.h"
#include "ctl_state.h"
#include "sluicectl.h"

/* The size of path plus its -wal file, in bytes (missing files are 0). */
static int64_t
ctl_state_size(const char *path)
{
	struct stat	 st;
	char		 wal[4200];
	int64_t		 total = 0;
	int		 n;

	if (stat(path, &st) == 0)
		total += (int64_t)st.st_size;
	n = snprintf(wal, sizeof(wal), "%s-wal", path);
	if (n >= 0 && (size_t)n < sizeof(wal) && stat(wal, &st) == 0)
		total += (int64_t)st.st_size;
	return (total);
}

/* Delete audit rows older than --older-than (default: sluice's). */
int
ctl_state_prune(struct ctl *c)
{
	char	 err[512];
	int64_t	 age, before, n;

	age = c->has_prune_age ? c->prune_age : AUDIT_RETENTION_DEFAULT;
	before = c->now - age;
	if ((n = audit_prune(c->state_db, before, err, sizeof(err))) == -1) {
		ctl_errx("prune: %s", err);
		return (CTL_EXIT_FAIL);
	}
	if (c->json)
		printf("{\"pruned\": %lld, \"before\": %lld}\n", (long long)n,
		    (long long)before);
	else
		printf("pruned %lld audit row(s) started more than %lld s "
		    "ago\n", (long long)n, (long long)age);
	return (CTL_EXIT_OK);
}

/* Compact the state database; print its size before and after. */
int
ctl_state_vacuum(struct ctl *c)
{
	char	 err[512], a[CTL_OUT_SIZE_SIZE], b[CTL_OUT_SIZE_SIZE];
	int64_t	 before, after;

	before = ctl_state_size(c->state_db);
	if (audit_vacuum(c->state_db, err, sizeof(err)) == -1) {
		ctl_errx("vacuum: %s", err);
		return (CTL_EXIT_FAIL);
	}
	after = ctl_state_size(c->state_db);
	if (c->json)
		printf("{\"bytes_before\": %lld, \"bytes_after\": %lld}\n",
		    (long long)before, (long long)after);
	else if (ctl_out_size(a, sizeof(a), before) == -1 ||
	    ctl_out_size(b, sizeof(b), after) == -1)
		printf("vacuum: %lld -> %lld bytes\n", (long long)before,
		    (long long)after);
	else
		printf("vacuum: %s -> %s (database and WAL)\n", a, b);
	return (CTL_EXIT_OK);
}
