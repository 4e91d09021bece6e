/*
 * ctl_init: `sluicectl init`. The export root (mkdir -p), then the jobs
 * database and sluice's state database, each created when missing and
 * its script (sql/schema.sql, sql/state.sql, compiled in) run. The
 * scripts use IF NOT EXISTS, so a second run changes nothing. A version 1
 * state database is first migrated in place (sql/state_v2.sql).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "ctl_audit.h"
#include "ctl_db.h"
#include "ctl_fs.h"
#include "ctl_init.h"
#include "ctl_out.h"
#include "sluicectl.h"

#include "sql_schema.h"
#include "sql_state.h"
#include "sql_state_v2.h"

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
    const char *path, int created, int migrated, int *first)
{
	char	*clean;

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

/* One integer of sql in db, into *v. Returns 0, or -1 after one line. */
static int
ctl_init_int(sqlite3 *db, const char *path, const char *sql, int64_t *v)
{
	sqlite3_stmt	*st = NULL;
	int		 rc = -1, s;

	if (ctl_db_prepare(db, sql, &st) == -1)
		return (-1);
	if ((s = sqlite3_step(st)) == SQLITE_ROW && ctl_db_int(st, 0, v))
		rc = 0;
	else if (s == SQLITE_ROW || s == SQLITE_DONE)
		ctl_errx("init: %s: %s: not a number", path, sql);
	else
		ctl_db_errx(db, path);
	ctl_db_finalize(st);
	return (rc);
}

/*
 * Migrate the state database db (at path) from version 1, if it is one:
 * no user_version, and a downloads table of responses (range_start), as
 * sluice's audit.c tells. sql/state_v2.sql runs in one transaction, so a
 * failure leaves version 1 whole. A version newer than this sluicectl's
 * is refused. Sets *migrated. Returns 0, or -1 after one line.
 *
 * Unlike sluice's start (audit_prepare), this never closes the responses
 * in flight: sluice may be running while init runs again.
 */
static int
ctl_init_migrate(sqlite3 *db, const char *path, int *migrated)
{
	char	*msg = NULL;
	int64_t	 version, v1 = 0;
	int	 rc;

	*migrated = 0;
	if (ctl_init_int(db, path, "PRAGMA user_version", &version) == -1)
		return (-1);
	if (version > CTL_AUDIT_VERSION) {
		ctl_errx("init: %s: state database version %lld is newer than "
		    "this sluicectl's (%d)", path, (long long)version,
		    CTL_AUDIT_VERSION);
		return (-1);
	}
	if (version == 0 && ctl_init_int(db, path, "SELECT count(*) FROM "
	    "pragma_table_info('downloads') WHERE name = 'range_start'",
	    &v1) == -1)
		return (-1);
	if (v1 == 0)
		return (0);
	if ((rc = sqlite3_exec(db, sql_state_v2, NULL, NULL, &msg)) !=
	    SQLITE_OK) {
		if (!sqlite3_get_autocommit(db))
			(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		ctl_errx("init: %s: migrating the state database from version "
		    "1 failed, and left it unchanged: %s", path, msg != NULL ?
		    msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return (-1);
	}
	*migrated = 1;
	return (0);
}

/*
 * Create the database at path unless it exists (*created says which),
 * migrate it first when migrated is not NULL (the state database), and
 * run sql in it. Returns 0, or -1 after reporting.
 */
static int
ctl_init_db(const char *path, const char *sql, int *created, int *migrated)
{
	struct stat	 st;
	sqlite3		*db = NULL;
	int		 rc = -1;

	if (stat(path, &st) == 0)
		*created = 0;
	else if (errno == ENOENT)
		*created = 1;
	else {
		ctl_err("init: %s", path);
		return (-1);
	}
	if (ctl_db_open(path, CTL_DB_CREATE, &db) == -1)
		return (-1);
	if ((migrated == NULL || ctl_init_migrate(db, path, migrated) == 0) &&
	    ctl_db_exec(db, sql) == 0)
		rc = 0;
	ctl_db_close(db);
	return (rc);
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
	if (ctl_init_db(c->db, sql_schema, &m.db, NULL) == -1 ||
	    ctl_init_db(c->state_db, sql_state, &m.state_db, &m.migrated) == -1)
		return (CTL_EXIT_FAIL);
	ctl_init_print(c, &m);
	return (CTL_EXIT_OK);
}
