/*
 * test_jobstore: src/jobstore.c against real SQLite databases in a
 * temporary directory (no mocks). The jobs database is created from
 * sql/schema.sql (SCHEMA_SQL, set by the Makefile). For values the
 * schema's CHECKs refuse, a "plain" export_jobs table without types or
 * CHECKs stands in, to test sluice's own validation of what it reads.
 *
 * Also checked: the lookup statement is reset after every find, so no read
 * transaction stays open while a file streams (a WAL checkpoint and a
 * rollback-journal writer both succeed right after a find).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cases.h"
#include "job.h"
#include "jobstore.h"

#ifndef SCHEMA_SQL
#error "SCHEMA_SQL must name sql/schema.sql"
#endif

/* The contract's columns, with no types (no affinity) and no CHECKs. */
static const char plain_sql[] =
    "CREATE TABLE export_jobs (id TEXT PRIMARY KEY, status, file_path, "
    "file_name, content_type, file_size, sha256, owner, token_sha256, "
    "created_at, finished_at, expires_at, max_downloads, error);";

#define SHA_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

#define S8	"abcdefgh"
#define S64	S8 S8 S8 S8 S8 S8 S8 S8

/* SQL for a string of n 'a's. */
#define NA(n)	"replace(hex(zeroblob(" #n ")), '00', 'a')"

static char	 tmpdir[64];

static int
group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sluice-test-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		print_error("mkdtemp: %s\n", strerror(errno));
		return (-1);
	}
	return (0);
}

static int
group_teardown(void **state)
{
	struct dirent	*de;
	DIR		*d;
	char		 p[sizeof(tmpdir) + sizeof(de->d_name) + 1];

	(void)state;
	if ((d = opendir(tmpdir)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
		unlink(p);
	}
	closedir(d);
	return (rmdir(tmpdir));
}

/* dst = tmpdir/name */
static void
path_in(char *dst, size_t sz, const char *name)
{
	int	 n;

	n = snprintf(dst, sz, "%s/%s", tmpdir, name);
	assert_true(n > 0 && (size_t)n < sz);
}

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*buf;
	long	 len;

	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return (buf);
}

static void
exec_sql(sqlite3 *db, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		print_error("sql: %s\n  in: %.300s\n", msg ? msg : "?", sql);
		sqlite3_free(msg);
		fail();
	}
}

enum db_kind {
	DB_SCHEMA,	/* sql/schema.sql */
	DB_PLAIN	/* plain_sql: no types, no CHECKs */
};

/*
 * Create tmpdir/name (removing any old one) with an export_jobs table and
 * return a read-write connection to it. mode is a journal mode or NULL.
 */
static sqlite3 *
db_create(const char *name, enum db_kind kind, const char *mode)
{
	char	 path[256], sql[128];
	sqlite3	*db = NULL;
	char	*schema;

	path_in(path, sizeof(path), name);
	unlink(path);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	if (mode != NULL) {
		snprintf(sql, sizeof(sql), "PRAGMA journal_mode = %s;", mode);
		exec_sql(db, sql);
	}
	if (kind == DB_SCHEMA) {
		schema = slurp(SCHEMA_SQL);
		exec_sql(db, schema);
		free(schema);
	} else
		exec_sql(db, plain_sql);
	return (db);
}

static void
js_open(struct jobstore *js, const char *name)
{
	char	 path[256], err[512];

	path_in(path, sizeof(path), name);
	err[0] = '\0';
	if (jobstore_open(js, path, err, sizeof(err)) != 0)
		fail_msg("jobstore_open %s: %s", path, err);
	assert_non_null(js->db);
	assert_non_null(js->find);
}

/*
 * The tables that mix both kinds of database use a pair, indexed by
 * enum db_kind: tmpdir/<base>.db from the schema, tmpdir/<base>-plain.db
 * plain. Rows go in through db[], then db[] is closed and js[] opened.
 */
static void
pair_create(sqlite3 *db[2], const char *base)
{
	char	 name[64];

	snprintf(name, sizeof(name), "%s.db", base);
	db[DB_SCHEMA] = db_create(name, DB_SCHEMA, NULL);
	snprintf(name, sizeof(name), "%s-plain.db", base);
	db[DB_PLAIN] = db_create(name, DB_PLAIN, NULL);
}

static void
pair_open(struct jobstore js[2], sqlite3 *db[2], const char *base)
{
	char	 name[64];

	sqlite3_close(db[DB_SCHEMA]);
	sqlite3_close(db[DB_PLAIN]);
	snprintf(name, sizeof(name), "%s.db", base);
	js_open(&js[DB_SCHEMA], name);
	snprintf(name, sizeof(name), "%s-plain.db", base);
	js_open(&js[DB_PLAIN], name);
}

static void
pair_close(struct jobstore js[2])
{
	jobstore_close(&js[DB_SCHEMA]);
	jobstore_close(&js[DB_PLAIN]);
}

/*
 * Found, with every field copied
 */

static void
test_find_full(void **state)
{
	struct jobstore	 js;
	struct job	*job;
	sqlite3		*db;

	(void)state;
	db = db_create("full.db", DB_SCHEMA, NULL);
	exec_sql(db, "INSERT INTO export_jobs (id, status, file_path, "
	    "file_name, content_type, file_size, sha256, owner, "
	    "token_sha256, created_at, finished_at, expires_at, "
	    "max_downloads, error) VALUES ('Job_1-x', 'done', "
	    "'2026/11/ledger-7f3a.csv', '\xe6\x8a\xa5\xe5\x91\x8a 2024.csv', "
	    "'text/csv; charset=utf-8', 2600000000, '" SHA_EMPTY "', "
	    "'alice', '" SHA_ABC "', 1700000000, 1700000100, 1800000000, "
	    "3, NULL)");
	sqlite3_close(db);

	job = test_malloc(sizeof(*job));
	memset(job, 0xAA, sizeof(*job));
	js_open(&js, "full.db");
	assert_int_equal(jobstore_find(&js, "Job_1-x", job), JOBSTORE_FOUND);
	assert_string_equal(job->id, "Job_1-x");
	assert_int_equal(job->status, JOB_DONE);
	assert_true(job->has_file_path);
	assert_string_equal(job->file_path, "2026/11/ledger-7f3a.csv");
	assert_true(job->has_file_name);
	assert_string_equal(job->file_name,
	    "\xe6\x8a\xa5\xe5\x91\x8a 2024.csv");
	assert_true(job->has_content_type);
	assert_string_equal(job->content_type, "text/csv; charset=utf-8");
	assert_true(job->has_file_size);
	assert_true(job->file_size == 2600000000LL);	/* > 2^31 */
	assert_true(job->has_sha256);
	assert_string_equal(job->sha256, SHA_EMPTY);
	assert_true(job->has_owner);
	assert_string_equal(job->owner, "alice");
	assert_true(job->has_token);
	assert_string_equal(job->token_sha256, SHA_ABC);
	assert_true(job->has_expires);
	assert_true(job->expires_at == 1800000000);
	assert_true(job->has_max_downloads);
	assert_true(job->max_downloads == 3);
	assert_null(job->bad_field);
	assert_int_equal(sqlite3_stmt_busy(js.find), 0);
	jobstore_close(&js);
	assert_null(js.db);
	assert_null(js.find);
	test_free(job);
}

/* Every column NULL (but id and status): nothing set, nothing bad. */
static void
test_find_nulls(void **state)
{
	struct jobstore	 js;
	struct job	*job;
	sqlite3		*db;

	(void)state;
	db = db_create("nulls.db", DB_SCHEMA, NULL);
	exec_sql(db, "INSERT INTO export_jobs (id, status, file_path, "
	    "file_name, content_type, file_size, sha256, owner, "
	    "token_sha256, created_at, finished_at, expires_at, "
	    "max_downloads, error) VALUES ('n1', 'done', NULL, NULL, NULL, "
	    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
	sqlite3_close(db);

	job = test_malloc(sizeof(*job));
	memset(job, 0xAA, sizeof(*job));
	js_open(&js, "nulls.db");
	assert_int_equal(jobstore_find(&js, "n1", job), JOBSTORE_FOUND);
	assert_int_equal(job->status, JOB_DONE);
	assert_false(job->has_file_path);
	assert_false(job->has_file_name);
	assert_false(job->has_content_type);
	assert_false(job->has_file_size);
	assert_false(job->has_sha256);
	assert_false(job->has_owner);
	assert_false(job->has_token);
	assert_false(job->has_expires);
	assert_false(job->has_max_downloads);
	assert_string_equal(job->file_path, "");
	assert_string_equal(job->file_name, "");
	assert_string_equal(job->content_type, "");
	assert_string_equal(job->sha256, "");
	assert_string_equal(job->owner, "");
	assert_string_equal(job->token_sha256, "");
	assert_true(job->file_size == 0);
	assert_true(job->expires_at == 0);
	assert_true(job->max_downloads == 0);
	assert_null(job->bad_field);
	jobstore_close(&js);
	test_free(job);
}

/*
 * An exporter that writes only the columns it needs: the schema's defaults
 * apply (content_type application/octet-stream), the rest is NULL. And an
 * exporter's own extra columns are ignored.
 */
static void
test_find_minimal_and_extra(void **state)
{
	struct jobstore	 js;
	struct job	*job;
	sqlite3		*db;

	(void)state;
	db = db_create("minimal.db", DB_SCHEMA, NULL);
	exec_sql(db, "ALTER TABLE export_jobs ADD COLUMN tenant TEXT;"
	    "ALTER TABLE export_jobs ADD COLUMN priority INTEGER;"
	    "INSERT INTO export_jobs (id, status) VALUES ('m1', 'pending');"
	    "INSERT INTO export_jobs (id, status, file_path, file_size, "
	    "tenant, priority) VALUES ('m2', 'done', 'a.bin', 0, 'acme', 9);");
	sqlite3_close(db);

	job = test_malloc(sizeof(*job));
	js_open(&js, "minimal.db");
	assert_int_equal(jobstore_find(&js, "m1", job), JOBSTORE_FOUND);
	assert_int_equal(job->status, JOB_PENDING);
	assert_true(job->has_content_type);
	assert_string_equal(job->content_type, "application/octet-stream");
	assert_false(job->has_file_path);
	assert_false(job->has_file_name);
	assert_false(job->has_file_size);
	assert_false(job->has_sha256);
	assert_false(job->has_owner);
	assert_false(job->has_token);
	assert_false(job->has_expires);
	assert_false(job->has_max_downloads);
	assert_null(job->bad_field);

	assert_int_equal(jobstore_find(&js, "m2", job), JOBSTORE_FOUND);
	assert_int_equal(job->status, JOB_DONE);
	assert_string_equal(job->file_path, "a.bin");
	assert_true(job->has_file_size);
	assert_true(job->file_size == 0);
	assert_null(job->bad_field);
	jobstore_close(&js);
	test_free(job);
}

/*
 * Not found: unknown ids, ids that could not be in the table, and ids that
 * would break a query built by string pasting (it is bound, not pasted).
 */
struct notfound_case {
	const char	*name;
	const char	*id;
};

static const struct notfound_case notfound_cases[] = {
	{ "unknown id", "nope" },
	{ "case differs", "ABC" },
	{ "empty id", "" },
	{ "65-char id", S64 "x" },
	{ "quote", "abc' OR '1'='1" },
	{ "LIKE-ish", "ab%" },
};

static void
test_find_not_found(void **state)
{
	struct jobstore	 js;
	struct job	*job;
	sqlite3		*db;
	size_t		 i;

	(void)state;
	db = db_create("nf.db", DB_SCHEMA, NULL);
	exec_sql(db, "INSERT INTO export_jobs (id, status) VALUES "
	    "('abc', 'done'), ('abd', 'done')");
	sqlite3_close(db);

	job = test_malloc(sizeof(*job));
	js_open(&js, "nf.db");
	for (i = 0; i < NITEMS(notfound_cases); i++) {
		const struct notfound_case *tc = &notfound_cases[i];

		expect_int(tc->name, "result", jobstore_find(&js, tc->id, job),
		    JOBSTORE_NOT_FOUND);
		expect_int(tc->name, "statement busy",
		    sqlite3_stmt_busy(js.find), 0);
		/* The lookup still works after a miss. */
		expect_int(tc->name, "find abc after",
		    jobstore_find(&js, "abc", job), JOBSTORE_FOUND);
	}
	jobstore_close(&js);
	test_free(job);
	end_cases();
}

/*
 * Status values: the five of the contract, and anything else as UNKNOWN.
 */
struct status_case {
	const char	*name;
	enum db_kind	 kind;
	const char	*expr;		/* SQL for the status value */
	enum job_status	 want;
	const char	*bad;
};

static const struct status_case status_cases[] = {
	{ "pending", DB_SCHEMA, "'pending'", JOB_PENDING, NULL },
	{ "running", DB_SCHEMA, "'running'", JOB_RUNNING, NULL },
	{ "done", DB_SCHEMA, "'done'", JOB_DONE, NULL },
	{ "failed", DB_SCHEMA, "'failed'", JOB_FAILED, NULL },
	{ "revoked", DB_SCHEMA, "'revoked'", JOB_REVOKED, NULL },
	{ "upper case DONE", DB_PLAIN, "'DONE'", JOB_UNKNOWN, NULL },
	{ "trailing space", DB_PLAIN, "'done '", JOB_UNKNOWN, NULL },
	{ "empty", DB_PLAIN, "''", JOB_UNKNOWN, NULL },
	{ "archived", DB_PLAIN, "'archived'", JOB_UNKNOWN, NULL },
	{ "NULL", DB_PLAIN, "NULL", JOB_UNKNOWN, NULL },
	{ "integer 1", DB_PLAIN, "1", JOB_UNKNOWN, NULL },
	{ "done with NUL", DB_PLAIN, "CAST(X'646F6E6500' AS TEXT)",
	    JOB_UNKNOWN, "status" },
	{ "too long", DB_PLAIN, NA(40), JOB_UNKNOWN, "status" },
};

static void
test_status_values(void **state)
{
	struct jobstore	 js[2];
	struct job	*job;
	sqlite3		*db[2];
	size_t		 i;

	(void)state;
	pair_create(db, "status");
	for (i = 0; i < NITEMS(status_cases); i++) {
		char	*sql;

		sql = sqlite3_mprintf("INSERT INTO export_jobs (id, status, "
		    "file_path, file_size) VALUES ('s%d', %s, 'f', 1)",
		    (int)i, status_cases[i].expr);
		exec_sql(db[status_cases[i].kind], sql);
		sqlite3_free(sql);
	}
	pair_open(js, db, "status");

	job = test_malloc(sizeof(*job));
	for (i = 0; i < NITEMS(status_cases); i++) {
		const struct status_case *tc = &status_cases[i];
		char	 id[16];

		snprintf(id, sizeof(id), "s%d", (int)i);
		expect_int(tc->name, "result",
		    jobstore_find(&js[tc->kind], id, job), JOBSTORE_FOUND);
		expect_int(tc->name, "status", job->status, tc->want);
		expect_str(tc->name, "bad_field", job->bad_field, tc->bad);
	}
	pair_close(js);
	test_free(job);
	end_cases();
}

/*
 * Values sluice cannot use as they are: the job is still found, but
 * bad_field names the column (policy answers 500 and logs it).
 */
struct bad_case {
	const char	*name;
	enum db_kind	 kind;
	const char	*col;
	const char	*expr;
	const char	*bad;		/* NULL: the value is fine */
};

/*
 * Since issue 15 a content type that breaks the rule (http_content_type_ok)
 * is no bad field: it is dropped for the default (test_type_default), and
 * a file name of any length is shortened (test_name_shortened).
 */
static const struct bad_case bad_cases[] = {
	{ "content_type ok", DB_SCHEMA, "content_type", "'text/csv'", NULL },
	{ "content_type with LF", DB_SCHEMA, "content_type",
	    "'text/plain' || char(10)", NULL },
	{ "content_type with CRLF header", DB_SCHEMA, "content_type",
	    "'text/plain' || char(13, 10) || 'X-Accel-Redirect: /etc/passwd'",
	    NULL },
	{ "content_type with CR", DB_SCHEMA, "content_type",
	    "'text/plain' || char(13)", NULL },
	{ "content_type with NUL", DB_SCHEMA, "content_type",
	    "CAST(X'746578742F00706C61696E' AS TEXT)", NULL },
	{ "content_type with ESC", DB_SCHEMA, "content_type",
	    "'text/' || char(27)", NULL },
	{ "content_type without slash", DB_SCHEMA, "content_type",
	    "'textplain'", NULL },
	{ "content_type empty", DB_SCHEMA, "content_type", "''",
	    NULL },
	{ "content_type of 255", DB_SCHEMA, "content_type",
	    "'a/' || " NA(253), NULL },
	{ "content_type of 256", DB_SCHEMA, "content_type",
	    "'a/' || " NA(254), NULL },
	{ "sha256 uppercase hex", DB_SCHEMA, "sha256", "upper('" SHA_EMPTY
	    "')", NULL },
	{ "sha256 not hex (schema lets it in)", DB_SCHEMA, "sha256",
	    "replace(hex(zeroblob(32)), '0', 'z')", "sha256" },
	{ "sha256 with a space", DB_SCHEMA, "sha256",
	    "' ' || substr('" SHA_EMPTY "', 2)", "sha256" },
	{ "sha256 of 63", DB_PLAIN, "sha256", "substr('" SHA_EMPTY "', 2)",
	    "sha256" },
	{ "sha256 of 65", DB_PLAIN, "sha256", "'" SHA_EMPTY "0'", "sha256" },
	{ "sha256 empty", DB_PLAIN, "sha256", "''", "sha256" },
	{ "token_sha256 not hex", DB_SCHEMA, "token_sha256",
	    "replace(hex(zeroblob(32)), '0', 'g')", "token_sha256" },
	{ "token_sha256 of 63", DB_PLAIN, "token_sha256",
	    "substr('" SHA_EMPTY "', 2)", "token_sha256" },
	{ "file_path of 4095", DB_SCHEMA, "file_path", NA(4095), NULL },
	{ "file_path of 4096", DB_SCHEMA, "file_path", NA(4096),
	    "file_path" },
	{ "file_path with NUL", DB_SCHEMA, "file_path",
	    "CAST(X'612F0062' AS TEXT)", "file_path" },
	{ "file_name of 1023", DB_SCHEMA, "file_name", NA(1023), NULL },
	{ "file_name of 1024", DB_SCHEMA, "file_name", NA(1024), NULL },
	{ "file_name of 5000", DB_SCHEMA, "file_name", NA(5000), NULL },
	{ "file_name with NUL", DB_SCHEMA, "file_name",
	    "CAST(X'612F0062' AS TEXT)", "file_name" },
	{ "owner of 255", DB_SCHEMA, "owner", NA(255), NULL },
	{ "owner of 256", DB_SCHEMA, "owner", NA(256), "owner" },
	{ "file_size 0", DB_SCHEMA, "file_size", "0", NULL },
	{ "file_size INT64_MAX", DB_SCHEMA, "file_size",
	    "9223372036854775807", NULL },
	{ "file_size as TEXT '123'", DB_PLAIN, "file_size", "'123'",
	    "file_size" },
	{ "file_size 'abc' (schema lets it in)", DB_SCHEMA, "file_size",
	    "'abc'", "file_size" },
	{ "file_size REAL 1.5", DB_SCHEMA, "file_size", "1.5",
	    "file_size" },
	{ "file_size BLOB", DB_SCHEMA, "file_size", "X'01'", "file_size" },
	{ "file_size negative", DB_PLAIN, "file_size", "-1", "file_size" },
	{ "expires_at as TEXT", DB_SCHEMA, "expires_at", "'tomorrow'",
	    "expires_at" },
	{ "expires_at REAL", DB_SCHEMA, "expires_at", "1700000000.5",
	    "expires_at" },
	{ "max_downloads as TEXT", DB_SCHEMA, "max_downloads", "'x'",
	    "max_downloads" },
};

static void
test_bad_fields(void **state)
{
	struct jobstore	 js[2];
	struct job	*job;
	sqlite3		*db[2];
	size_t		 i;

	(void)state;
	pair_create(db, "bad");
	for (i = 0; i < NITEMS(bad_cases); i++) {
		const struct bad_case *tc = &bad_cases[i];
		char	*sql;

		sql = sqlite3_mprintf("INSERT INTO export_jobs (id, status, "
		    "file_path, file_size, content_type) VALUES ('b%d', "
		    "'done', 'f.csv', 1, 'text/csv');"
		    "UPDATE export_jobs SET %s = %s WHERE id = 'b%d';",
		    (int)i, tc->col, tc->expr, (int)i);
		exec_sql(db[tc->kind], sql);
		sqlite3_free(sql);
	}
	pair_open(js, db, "bad");

	job = test_malloc(sizeof(*job));
	for (i = 0; i < NITEMS(bad_cases); i++) {
		const struct bad_case *tc = &bad_cases[i];
		char	 id[16];

		snprintf(id, sizeof(id), "b%d", (int)i);
		expect_int(tc->name, "result",
		    jobstore_find(&js[tc->kind], id, job), JOBSTORE_FOUND);
		expect_str(tc->name, "bad_field", job->bad_field, tc->bad);
		expect_int(tc->name, "statement busy",
		    sqlite3_stmt_busy(js[tc->kind].find), 0);
	}

	/* An unusable owner is present but empty: it never matches. */
	for (i = 0; i < NITEMS(bad_cases); i++)
		if (strcmp(bad_cases[i].name, "owner of 256") == 0)
			break;
	assert_true(i < NITEMS(bad_cases));
	{
		char	 id[16];

		snprintf(id, sizeof(id), "b%d", (int)i);
		assert_int_equal(jobstore_find(&js[DB_SCHEMA], id, job),
		    JOBSTORE_FOUND);
		assert_true(job->has_owner);
		assert_string_equal(job->owner, "");
	}
	pair_close(js);
	test_free(job);
	end_cases();
}

/*
 * jobstore_open failures: -1, a sentence naming the file, nothing open.
 */
struct open_case {
	const char	*name;
	const char	*file;
	const char	*setup;		/* SQL to create it; NULL: see below */
	const char	*raw;		/* else raw bytes to write; else none */
	const char	*want;		/* in err, besides the path */
};

static const struct open_case open_cases[] = {
	{ "missing file", "missing.db", NULL, NULL,
	    "No such file or directory" },
	{ "no export_jobs table", "other.db",
	    "CREATE TABLE jobs (id TEXT)", NULL, "export_jobs" },
	{ "zero-byte file", "empty.db", NULL, "", "export_jobs" },
	{ "not a database", "text.db", NULL,
	    "this is not an SQLite database, just text\n", "not a database" },
	{ "export_jobs without max_downloads", "cols.db",
	    "CREATE TABLE export_jobs (id TEXT PRIMARY KEY, status TEXT, "
	    "file_path TEXT, file_name TEXT, content_type TEXT, "
	    "file_size INTEGER, sha256 TEXT, owner TEXT, token_sha256 TEXT, "
	    "expires_at INTEGER)", NULL, "max_downloads" },
};

static void
test_open_errors(void **state)
{
	struct jobstore	 js;
	char		 path[256], err[512];
	size_t		 i;

	(void)state;
	for (i = 0; i < NITEMS(open_cases); i++) {
		const struct open_case *tc = &open_cases[i];
		int	 rc;

		path_in(path, sizeof(path), tc->file);
		unlink(path);
		if (tc->setup != NULL) {
			sqlite3	*db = NULL;

			assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
			exec_sql(db, tc->setup);
			sqlite3_close(db);
		} else if (tc->raw != NULL) {
			FILE	*f = fopen(path, "w");

			assert_non_null(f);
			fputs(tc->raw, f);
			fclose(f);
		}
		memset(&js, 0xAA, sizeof(js));
		strcpy(err, "unset");
		rc = jobstore_open(&js, path, err, sizeof(err));
		expect_int(tc->name, "rc", rc, -1);
		if (strstr(err, path) == NULL)
			case_fail(tc->name, "err [%s] does not name %s", err,
			    path);
		if (strstr(err, tc->want) == NULL)
			case_fail(tc->name, "err [%s] lacks [%s]", err,
			    tc->want);
		if (js.db != NULL || js.find != NULL)
			case_fail(tc->name, "left something open");
		if (rc == 0)
			jobstore_close(&js);
	}

	/* A small err buffer is cut, and still terminated. */
	path_in(path, sizeof(path), "missing.db");
	memset(err, 'X', sizeof(err));
	assert_int_equal(jobstore_open(&js, path, err, 16), -1);
	assert_int_equal(strlen(err), 15);
	end_cases();
}

/*
 * No read transaction is left open after a find
 */

/* After every kind of find, the statement is reset. */
static void
test_reset_after_find(void **state)
{
	struct jobstore	 js;
	struct job	*job;
	sqlite3		*db;

	(void)state;
	db = db_create("reset.db", DB_SCHEMA, NULL);
	exec_sql(db, "INSERT INTO export_jobs (id, status, file_path, "
	    "file_size) VALUES ('r1', 'done', 'f', 1)");
	sqlite3_close(db);

	job = test_malloc(sizeof(*job));
	js_open(&js, "reset.db");
	assert_int_equal(sqlite3_stmt_busy(js.find), 0);
	assert_int_equal(jobstore_find(&js, "r1", job), JOBSTORE_FOUND);
	assert_int_equal(sqlite3_stmt_busy(js.find), 0);
	assert_int_equal(sqlite3_get_autocommit(js.db), 1);
	assert_int_equal(jobstore_find(&js, "r2", job), JOBSTORE_NOT_FOUND);
	assert_int_equal(sqlite3_stmt_busy(js.find), 0);
	assert_int_equal(jobstore_find(&js, "r1", job), JOBSTORE_FOUND);
	assert_int_equal(sqlite3_stmt_busy(js.find), 0);
	/* The binding is cleared too: nothing points at the caller's id. */
	{
		char	*x = sqlite3_expanded_sql(js.find);

		assert_non_null(x);
		assert_non_null(strstr(x, "id = NULL"));
		sqlite3_free(x);
	}
	assert_int_equal(sqlite3_stmt_readonly(js.find), 1);
	jobstore_close(&js);
	test_free(job);
}

/*
 * WAL: an exporter's connection writes and checkpoints (TRUNCATE, which
 * waits for no reader to hold an old snapshot) right after a find. A
 * statement left stepped on the same connection makes the checkpoint fail:
 * that control shows the check can fail.
 */
static void
test_wal_writer_after_find(void **state)
{
	struct jobstore	 js;
	struct job	*job;
	sqlite3		*rw;
	sqlite3_stmt	*hold = NULL;
	int		 nlog = -1, nckpt = -1;

	(void)state;
	rw = db_create("wal.db", DB_SCHEMA, "WAL");
	exec_sql(rw, "INSERT INTO export_jobs (id, status, file_path, "
	    "file_size) VALUES ('w1', 'done', 'f', 1)");
	sqlite3_busy_timeout(rw, 0);

	job = test_malloc(sizeof(*job));
	js_open(&js, "wal.db");
	assert_int_equal(jobstore_find(&js, "w1", job), JOBSTORE_FOUND);
	assert_int_equal(job->status, JOB_DONE);
	assert_int_equal(sqlite3_stmt_busy(js.find), 0);

	/* The exporter writes and checkpoints at once. */
	assert_int_equal(sqlite3_exec(rw, "UPDATE export_jobs SET status = "
	    "'revoked' WHERE id = 'w1'", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_changes(rw), 1);
	assert_int_equal(sqlite3_wal_checkpoint_v2(rw, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt), SQLITE_OK);
	assert_int_equal(nlog, 0);

	/* The next find sees the write: no stale snapshot. */
	assert_int_equal(jobstore_find(&js, "w1", job), JOBSTORE_FOUND);
	assert_int_equal(job->status, JOB_REVOKED);

	/* Control: a statement left stepped holds a snapshot. */
	assert_int_equal(sqlite3_prepare_v2(js.db, "SELECT id FROM "
	    "export_jobs", -1, &hold, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(hold), SQLITE_ROW);
	assert_int_equal(sqlite3_exec(rw, "UPDATE export_jobs SET status = "
	    "'done' WHERE id = 'w1'", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_wal_checkpoint_v2(rw, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt), SQLITE_BUSY);
	sqlite3_finalize(hold);
	assert_int_equal(sqlite3_wal_checkpoint_v2(rw, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt), SQLITE_OK);

	jobstore_close(&js);
	sqlite3_close(rw);
	test_free(job);
}

/*
 * Rollback journal: a writer's commit needs every reader's SHARED lock
 * gone, so it fails at once (busy timeout 0) if a find left one behind.
 */
static void
test_rollback_writer_after_find(void **state)
{
	struct jobstore	 js;
	struct job	*job;
	sqlite3		*rw;
	sqlite3_stmt	*hold = NULL;

	(void)state;
	rw = db_create("delete.db", DB_SCHEMA, "DELETE");
	exec_sql(rw, "INSERT INTO export_jobs (id, status, file_path, "
	    "file_size) VALUES ('d1', 'done', 'f', 1)");
	sqlite3_busy_timeout(rw, 0);

	job = test_malloc(sizeof(*job));
	js_open(&js, "delete.db");
	assert_int_equal(jobstore_find(&js, "d1", job), JOBSTORE_FOUND);
	assert_int_equal(jobstore_find(&js, "zz", job), JOBSTORE_NOT_FOUND);
	assert_int_equal(sqlite3_exec(rw, "UPDATE export_jobs SET status = "
	    "'failed' WHERE id = 'd1'", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(jobstore_find(&js, "d1", job), JOBSTORE_FOUND);
	assert_int_equal(job->status, JOB_FAILED);

	/* Control: a stepped statement blocks the writer. */
	assert_int_equal(sqlite3_prepare_v2(js.db, "SELECT id FROM "
	    "export_jobs", -1, &hold, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(hold), SQLITE_ROW);
	assert_int_equal(sqlite3_exec(rw, "UPDATE export_jobs SET status = "
	    "'done' WHERE id = 'd1'", NULL, NULL, NULL), SQLITE_BUSY);
	sqlite3_finalize(hold);
	assert_int_equal(sqlite3_exec(rw, "UPDATE export_jobs SET status = "
	    "'done' WHERE id = 'd1'", NULL, NULL, NULL), SQLITE_OK);

	jobstore_close(&js);
	sqlite3_close(rw);
	test_free(job);
}

/*
 * A writer holding the database past JOBSTORE_BUSY_MS: the find reports
 * BUSY (503 upstream), resets, and works again once the lock is gone.
 */
static void
test_busy(void **state)
{
	struct jobstore	 js;
	struct job	*job;
	sqlite3		*rw;

	(void)state;
	rw = db_create("busy.db", DB_SCHEMA, "DELETE");
	exec_sql(rw, "INSERT INTO export_jobs (id, status, file_path, "
	    "file_size) VALUES ('b1', 'done', 'f', 1)");

	job = test_malloc(sizeof(*job));
	js_open(&js, "busy.db");
	exec_sql(rw, "BEGIN EXCLUSIVE");
	assert_int_equal(jobstore_find(&js, "b1", job), JOBSTORE_BUSY);
	assert_int_equal(sqlite3_stmt_busy(js.find), 0);
	exec_sql(rw, "COMMIT");
	assert_int_equal(jobstore_find(&js, "b1", job), JOBSTORE_FOUND);
	jobstore_close(&js);
	sqlite3_close(rw);
	test_free(job);
}

/*
 * Issue 15: a content type that breaks the rule is served as the default
 * (has_content_type 0, no bad field); so is an empty one; a good one with
 * parameters is kept.
 */
static void
test_type_default(void **state)
{
	static const struct {
		const char	*expr;
		const char	*want;	/* NULL: the default */
	} rows[] = {
		{ "'text'", NULL },
		{ "''", NULL },
		{ "'text/plain' || char(13, 10) || 'X-A: 1'", NULL },
		{ "'text/ plain'", NULL },
		{ "'/plain'", NULL },
		{ "'a/' || " NA(254), NULL },
		{ "'text/csv; charset=utf-8'", "text/csv; charset=utf-8" },
		{ "'application/vnd.ms-excel'", "application/vnd.ms-excel" },
	};
	struct jobstore	 js;
	struct job	*job;
	sqlite3		*rw;
	size_t		 i;
	char		*sql, id[16];

	(void)state;
	rw = db_create("types.db", DB_SCHEMA, NULL);
	for (i = 0; i < NITEMS(rows); i++) {
		sql = sqlite3_mprintf("INSERT INTO export_jobs (id, status, "
		    "file_path, file_size, content_type) VALUES ('t%d', "
		    "'done', 'f', 1, %s);", (int)i, rows[i].expr);
		exec_sql(rw, sql);
		sqlite3_free(sql);
	}
	sqlite3_close(rw);
	js_open(&js, "types.db");
	job = test_malloc(sizeof(*job));
	for (i = 0; i < NITEMS(rows); i++) {
		snprintf(id, sizeof(id), "t%d", (int)i);
		expect_int(rows[i].expr, "found", jobstore_find(&js, id, job),
		    JOBSTORE_FOUND);
		expect_str(rows[i].expr, "bad_field", job->bad_field, NULL);
		expect_int(rows[i].expr, "has", job->has_content_type,
		    rows[i].want != NULL);
		expect_str(rows[i].expr, "type", job->content_type,
		    rows[i].want != NULL ? rows[i].want : "");
	}
	jobstore_close(&js);
	test_free(job);
	end_cases();
}

/*
 * Issue 15: a file name of any length is shortened at a character
 * boundary, keeping its extension, to fit JOB_NAME_MAX; and an
 * INTEGER column holding a REAL or TEXT is a bad field that counts as
 * absent (an unreadable expires_at must not read as "expired").
 */
static void
test_name_and_ints(void **state)
{
	struct jobstore	 js;
	struct job	*job;
	sqlite3		*rw;

	(void)state;
	rw = db_create("names.db", DB_SCHEMA, NULL);
	exec_sql(rw, "INSERT INTO export_jobs (id, status, file_path, "
	    "file_size, file_name, expires_at) VALUES "
	    "('n1', 'done', 'f', 1, 'x' || replace(hex(zeroblob(2500)), '00', "
	    "'é') || '.csv', 1.5), "
	    "('n2', 'done', 'f', 1, replace(hex(zeroblob(340)), '00', '€') || "
	    "'.txt', 'soon')");
	sqlite3_close(rw);
	js_open(&js, "names.db");
	job = test_malloc(sizeof(*job));
	assert_int_equal(jobstore_find(&js, "n1", job), JOBSTORE_FOUND);
	assert_true(job->has_file_name);
	/* 'x' + 509 of 'é' = 1019 bytes, then ".csv": 1023. */
	assert_int_equal(strlen(job->file_name), 1023);
	assert_memory_equal(job->file_name + 1017, "\xc3\xa9.csv", 6);
	assert_string_equal(job->bad_field, "expires_at");
	assert_false(job->has_expires);
	assert_int_equal(jobstore_find(&js, "n2", job), JOBSTORE_FOUND);
	/* 339 of '€' = 1017 bytes (340 would pass 1019), then ".txt". */
	assert_int_equal(strlen(job->file_name), 1021);
	assert_memory_equal(job->file_name + 1014, "\xe2\x82\xac.txt", 7);
	assert_string_equal(job->bad_field, "expires_at");
	assert_false(job->has_expires);
	jobstore_close(&js);
	test_free(job);
}

/*
 * Issue 15: a jobs database replaced on disk by rename (an exporter
 * publishing a regenerated file) is noticed and used from the next
 * lookup after REOPEN_CHECK_MS, without a failed lookup.
 */
static void
test_replaced(void **state)
{
	struct jobstore	 js;
	struct job	*job;
	sqlite3		*rw;
	char		 from[256], to[256];
	struct timespec	 ts = { 0, (REOPEN_CHECK_MS + 50) * 1000000L };

	(void)state;
	rw = db_create("live.db", DB_SCHEMA, NULL);
	exec_sql(rw, "INSERT INTO export_jobs (id, status, file_path, "
	    "file_size) VALUES ('old', 'done', 'f', 1)");
	sqlite3_close(rw);
	rw = db_create("next.db", DB_SCHEMA, NULL);
	exec_sql(rw, "INSERT INTO export_jobs (id, status, file_path, "
	    "file_size) VALUES ('old', 'revoked', 'f', 1), "
	    "('new', 'done', 'f', 1)");
	sqlite3_close(rw);
	js_open(&js, "live.db");
	job = test_malloc(sizeof(*job));
	assert_int_equal(jobstore_find(&js, "old", job), JOBSTORE_FOUND);
	assert_int_equal(job->status, JOB_DONE);
	path_in(from, sizeof(from), "next.db");
	path_in(to, sizeof(to), "live.db");
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(nanosleep(&ts, NULL), 0);
	assert_int_equal(jobstore_find(&js, "old", job), JOBSTORE_FOUND);
	assert_int_equal(job->status, JOB_REVOKED);
	assert_int_equal(jobstore_find(&js, "new", job), JOBSTORE_FOUND);
	/* Deleted: the open one stays in use. */
	assert_int_equal(unlink(to), 0);
	assert_int_equal(nanosleep(&ts, NULL), 0);
	assert_int_equal(jobstore_find(&js, "new", job), JOBSTORE_FOUND);
	jobstore_close(&js);
	test_free(job);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_full),
		cmocka_unit_test(test_find_nulls),
		cmocka_unit_test(test_find_minimal_and_extra),
		cmocka_unit_test(test_find_not_found),
		cmocka_unit_test(test_status_values),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_reset_after_find),
		cmocka_unit_test(test_wal_writer_after_find),
		cmocka_unit_test(test_rollback_writer_after_find),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_type_default),
		cmocka_unit_test(test_name_and_ints),
		cmocka_unit_test(test_replaced),
	};

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
