/*
 * ctl_init: `sluicectl init`. The export root (mkdir -p), then the jobs
 * database and sluice's state database, each created when missing and
 * its script (sql/schema.sql, sql/state.sql, compiled in) run. The
 * scripts use IF NOT EXISTS, so a second run changes nothing. A version 1
 * state database is first migrated in place (sql/state_v2.sql). A state
 * database that root creates goes to its directory's owner (sluice's
 * user, by the tmpfiles.d entry), who must write it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "audit.h"
#include "ctl_audit.h"
#include "ctl_db.h"
#include "ctl_fs.h"
#include "ctl_init.h"
#include "ctl_out.h"
#include "sluicectl.h"

#include "sql_schema.h"

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
 * Create the database at path unless it exists (*created says which) and
 * run sql in it. Returns 0, or -1 after reporting.
 */
static int
ctl_init_db(const char *path, const char *sql, int *created)
{
	sqlite3		*db = NULL;
	int		 rc = -1;

	if (ctl_init_exists(path, created) == -1 ||
	    ctl_db_open(path, CTL_DB_CREATE, &db) == -1)
		return (-1);
	if (ctl_db_exec(db, sql) == 0)
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
 * sluice may be running while init runs again. Returns 0, or -1 after
 * one line.
 */
static int
ctl_init_state(const char *path, int *created, int *migrated)
{
	char	 err[512];

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
	if (ctl_init_db(c->db, sql_schema, &m.db) == -1 ||
	    ctl_init_state(c->state_db, &m.state_db, &m.migrated) == -1)
		return (CTL_EXIT_FAIL);
	ctl_init_print(c, &m);
	return (CTL_EXIT_OK);
}
