/*
 * ctl_state: `sluicectl prune` and `sluicectl vacuum`. Each prints one
 * line (or one JSON object with --json) saying what it did. The work is
 * audit.c's, given the spec whichever backend it names; the sizes vacuum
 * reports are the SQLite file and its WAL, or in PostgreSQL the state
 * tables with their indexes and TOAST (what VACUUM can give back).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "ctl_db.h"
#include "ctl_out.h"
#include "ctl_state.h"
#include "sluicectl.h"
#include "store.h"

/*
 * "sluicectl: <cmd>: <err>", err being audit.c's sentence about spec:
 * where it quotes a PostgreSQL spec, the spec is printed without its
 * password (ctl_db_describe), whatever audit.c wrote.
 */
static void
ctl_state_errx(const char *cmd, const char *spec, const char *err)
{
	char		 buf[CTL_DB_NAME_SIZE];
	const char	*at;

	if (!store_is_pg(spec) || (at = strstr(err, spec)) == NULL) {
		ctl_errx("%s: %s", cmd, err);
		return;
	}
	ctl_errx("%s: %.*s%s%s", cmd, (int)(at - err), err,
	    ctl_db_describe(spec, buf, sizeof(buf)), at + strlen(spec));
}

/* sluice's tables in PostgreSQL, summed (a missing one counts 0). */
static const char ctl_state_pg_size_sql[] =
    "SELECT CAST(coalesce(sum(pg_total_relation_size(to_regclass(t))), 0) "
    "AS BIGINT) FROM unnest(ARRAY['downloads', 'responses', "
    "'download_counts', 'state_version']) AS t";

/* The size of the state tables in PostgreSQL, or -1 after one line. */
static int64_t
ctl_state_pg_size(const char *spec)
{
	struct ctl_db	*db = NULL;
	struct ctl_stmt	*st = NULL;
	int64_t		 total = -1;

	if (ctl_db_open(spec, CTL_DB_EXISTING, &db) == -1)
		return (-1);
	if (ctl_db_prepare(db, ctl_state_pg_size_sql, &st) == 0 &&
	    (ctl_db_step(st) != CTL_DB_ROW || !ctl_db_int(st, 0, &total))) {
		ctl_db_errx(db, "vacuum: size");
		total = -1;
	}
	ctl_db_finalize(st);
	ctl_db_close(db);
	return (total);
}

/*
 * The size of path plus its -wal file, in bytes (missing files are 0);
 * in PostgreSQL, of the state tables (-1: failed, after one line).
 */
static int64_t
ctl_state_size(const char *path)
{
	struct stat	 st;
	char		 wal[4200];
	int64_t		 total = 0;
	int		 n;

	if (store_is_pg(path))
		return (ctl_state_pg_size(path));
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
		ctl_state_errx("prune", c->state_db, err);
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

	if ((before = ctl_state_size(c->state_db)) == -1)
		return (CTL_EXIT_FAIL);
	if (audit_vacuum(c->state_db, err, sizeof(err)) == -1) {
		ctl_state_errx("vacuum", c->state_db, err);
		return (CTL_EXIT_FAIL);
	}
	if ((after = ctl_state_size(c->state_db)) == -1)
		return (CTL_EXIT_FAIL);
	if (c->json)
		printf("{\"bytes_before\": %lld, \"bytes_after\": %lld}\n",
		    (long long)before, (long long)after);
	else if (ctl_out_size(a, sizeof(a), before) == -1 ||
	    ctl_out_size(b, sizeof(b), after) == -1)
		printf("vacuum: %lld -> %lld bytes\n", (long long)before,
		    (long long)after);
	else
		printf("vacuum: %s -> %s (%s)\n", a, b,
		    store_is_pg(c->state_db) ? "state tables" :
		    "database and WAL");
	return (CTL_EXIT_OK);
}
