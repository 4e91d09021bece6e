/*
 * ctl_init: `sluicectl init`. The export root (mkdir -p), then the jobs
 * database and sluice's state database, each created when missing and
 * its script (sql/schema.sql, sql/state.sql, compiled in) run. The
 * scripts use IF NOT EXISTS, so a second run changes nothing. A version 1
 * state database is first migrated in place (sql/state_v2.sql). A state
 * database that root creates goes to its directory's owner (sluice's
 * user, by the tmpfiles.d entry), who must write it.
 *
 * Either database may be in PostgreSQL (store_is_pg). The database itself
 * must exist (init creates tables, not databases); sql/pg/schema.sql or
 * sql/pg/state.sql is run in one transaction holding an advisory lock,
 * so that hosts running init (or starting sluice) together do not race
 * to create the same tables. "created" then means the table was not
 * there (export_jobs; state_version for the state tables).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "ctl_audit.h"
#include "ctl_db.h"
#include "ctl_fs.h"
#include "ctl_init.h"
#include "ctl_out.h"
#include "sluicectl.h"
#include "store.h"

#include "sql_pg_schema.h"
#include "sql_pg_state.h"
#include "sql_schema.h"

/*
 * The advisory lock a host holds while it creates sluice's tables in
 * PostgreSQL: "sluice" in ASCII, as a bigint. sluice's own start must
 * take the same one.
 */

/*
 * What init found (0) or made (1): the databases, then the root; and
 * whether it migrated the state database from version 1.
 */
struct ctl_init_made {
	int	 db;
	int	 state_db;
	int	 root;
	int	 migrated;
};

/*
 * What init found or made at one path: a line, or a JSON member (with
 * "migrated" when migrated is 0 or 1; -1 leaves it out).
 */
static void
ctl_init_print_one(const struct ctl *c, const char *key, const char *label,
    const char *spec, int created, int migrated, int *first)
{
	char		 buf[CTL_DB_NAME_SIZE];
	const char	*path = ctl_db_describe(spec, buf, sizeof(buf));
	char		*clean;

	if (c->json) {
		ctl_json_key(stdout, key, first);
		fputs("{\"path\":", stdout);
		ctl_json_string(stdout, path);
		printf(",\"created\":%s", created ? "true" : "false");
		if (migrated != -1)
			printf(",\"migrated\":%s", migrated ? "true" : "false");
		fputc('}', stdout);
		return;
	}
	clean = ctl_out_clean(path);
	printf("%-15s %s (%s)\n", label, clean != NULL ? clean : "?",
	    created ? "created" : migrated == 1 ? "migrated from version 1" :
	    "exists");
	free(clean);
}

static void
ctl_init_print(const struct ctl *c, const struct ctl_init_made *m)
{
	int	 first = 1;

	if (c->json)
		fputc('{', stdout);
	ctl_init_print_one(c, "db", "jobs database", c->db, m->db, -1,
	    &first);
	ctl_init_print_one(c, "state_db", "state database", c->state_db,
	    m->state_db, m->migrated, &first);
	ctl_init_print_one(c, "root", "export root", c->root, m->root, -1,
	    &first);
	if (c->json)
		fputs("}\n", stdout);
}

/* Does path exist? *created is 1 when it does not. 0, or -1 after one
 * line. */
static int
ctl_init_exists(const char *path, int *created)
{
	struct stat	 st;

	if (stat(path, &st) == 0)
		*created = 0;
	else if (errno == ENOENT)
		*created = 1;
	else {
		ctl_err("init: %s", path);
		return (-1);
	}
	return (0);
}

/*
 * PostgreSQL: in the database spec names, run sql (IF NOT EXISTS
 * throughout) in one transaction under STORE_PG_SCHEMA_LOCK; *created is 1
 * when table was not there before. Returns 0, or -1 after one line.
 */
static int
ctl_init_pg(const char *spec, const char *sql, const char *table,
    int *created)
{
	struct ctl_db	*db = NULL;
	struct ctl_stmt	*st = NULL;
	int64_t		 had = 0;
	int		 rc = -1;

	if (ctl_db_open(spec, CTL_DB_CREATE, &db) == -1)
		return (-1);
	if (ctl_db_begin(db, CTL_DB_WRITE) == -1 || ctl_db_exec(db,
	    "SELECT pg_advisory_xact_lock(" STORE_PG_SCHEMA_LOCK ")") == -1 ||
	    ctl_db_prepare(db, "SELECT to_regclass(?1) IS NOT NULL", &st) ==
	    -1)
		goto done;
	if (ctl_db_bind_text(st, 1, table) == -1 ||
	    ctl_db_step(st) != CTL_DB_ROW || !ctl_db_int(st, 0, &had)) {
		ctl_db_errx(db, "init");
		goto done;
	}
	*created = had == 0;
	if (ctl_db_exec(db, sql) == -1 || ctl_db_commit(db) == -1)
		goto done;
	rc = 0;
done:
	ctl_db_finalize(st);
	if (rc == -1)
		(void)ctl_db_rollback(db);
	ctl_db_close(db);
	return (rc);
}

/*
 * The jobs database: created unless it exists (*created says which) and
 * its script run. Returns 0, or -1 after reporting.
 */
static int
ctl_init_db(const char *spec, int *created)
{
	struct ctl_db	*db = NULL;
	int		 rc = -1;

	if (store_is_pg(spec))
		return (ctl_init_pg(spec, sql_pg_schema, "export_jobs",
		    created));
	if (ctl_init_exists(spec, created) == -1 ||
	    ctl_db_open(spec, CTL_DB_CREATE, &db) == -1)
		return (-1);
	if (ctl_db_exec(db, sql_schema) == 0)
		rc = 0;
	ctl_db_close(db);
	return (rc);
}

/*
 * Run as root, init has just created the state database path (and maybe
 * its -wal and -shm): give them to the owner of their directory, the
 * user sluice runs as, or sluice could not write them. Returns 0, or -1
 * after one line.
 */
static int
ctl_init_chown(const char *path)
{
	static const char *const side[] = { "", "-wal", "-shm" };
	struct stat	 st;
	char		*dir, *slash, *f;
	size_t		 i, len = strlen(path);
	int		 rc = -1;

	if (geteuid() != 0)
		return (0);
	if ((dir = strdup(path)) == NULL || (f = malloc(len + 5)) == NULL) {
		free(dir);
		ctl_err("init: memory");
		return (-1);
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		memcpy(dir, ".", 2);
	else
		slash[slash == dir ? 1 : 0] = '\0';
	if (stat(dir, &st) == -1) {
		ctl_err("init: %s", dir);
		goto done;
	}
	for (i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		(void)snprintf(f, len + 5, "%s%s", path, side[i]);
		if (st.st_uid != 0 && chown(f, st.st_uid, st.st_gid) == -1 &&
		    (i == 0 || errno != ENOENT)) {
			ctl_err("init: chown %s", f);
			goto done;
		}
	}
	rc = 0;
done:
	free(f);
	free(dir);
	return (rc);
}

/*
 * The state database: created, or a version 1 one migrated in place, by
 * its owner's rule (audit_migrate), which never touches rows in flight:
 * sluice may be running while init runs again. In PostgreSQL there is no
 * version 1: the tables are made when missing. Returns 0, or -1 after
 * one line.
 */
static int
ctl_init_state(const char *path, int *created, int *migrated)
{
	char	 err[512];

	*migrated = 0;
	if (store_is_pg(path))
		return (ctl_init_pg(path, sql_pg_state, "state_version",
		    created));
	if (ctl_init_exists(path, created) == -1)
		return (-1);
	if (audit_migrate(path, migrated, err, sizeof(err)) == -1) {
		ctl_errx("init: %s", err);
		return (-1);
	}
	return (*created ? ctl_init_chown(path) : 0);
}

/* sluicectl init: make what is missing, then say what is where. */
int
ctl_init_run(struct ctl *c)
{
	struct ctl_init_made m = { 0, 0, 0, 0 };

	if (ctl_fs_mkdir_p(c->root, &m.root) == -1) {
		ctl_err("init: export root %s", c->root);
		return (CTL_EXIT_FAIL);
	}
	if (ctl_init_db(c->db, &m.db) == -1 ||
	    ctl_init_state(c->state_db, &m.state_db, &m.migrated) == -1)
		return (CTL_EXIT_FAIL);
	ctl_init_print(c, &m);
	return (CTL_EXIT_OK);
}
