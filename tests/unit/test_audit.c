/*
 * test_audit: src/audit.c against real SQLite state databases created
 * from sql/state.sql (STATE_SQL, set by the Makefile) in a temporary
 * directory, with real threads (no mocks). What it holds:
 * - group commit: many threads, every begin gets its own row;
 * - a batch with one bad record: only that record fails;
 * - an end whose commit fails is kept and lands at the next flush;
 * - a cancel removes the row and frees the limit;
 * - the limit race: N threads on two writers (two connections, as two
 *   worker processes) racing on a limit-k job get exactly k AUDIT_OK;
 * - retention prunes old rows but never a 'started' one, and a pruned
 *   counted download still counts; sluicectl's prune finds old rows
 *   wherever their ids are;
 * - the WAL stays bounded over many commits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "audit.h"

#ifndef STATE_SQL
#error "STATE_SQL must name sql/state.sql"
#endif

static char	 tmpdir[64];

static int
group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sluice-audit-XXXXXX");
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

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*buf;
	long	 len;

	if ((f = fopen(path, "r")) == NULL)
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

/* One integer from sql (the first column of the first row). */
static int64_t
sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (v);
}

/*
 * A fresh state database tmpdir/name from sql/state.sql, then
 * audit_prepare as sluice's startup runs it. Returns an outside
 * connection to it (5 s busy timeout); the path goes to path.
 */
static sqlite3 *
db_fresh(const char *name, char *path, size_t pathsz)
{
	sqlite3	*db;
	char	*sql, err[512], p[160];
	int	 n;

	n = snprintf(path, pathsz, "%s/%s", tmpdir, name);
	assert_true(n > 0 && (size_t)n < pathsz);
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	sql = slurp(STATE_SQL);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_sql(db, sql);
	free(sql);
	if (audit_prepare(path, err, sizeof(err)) != 0)
		fail_msg("audit_prepare: %s", err);
	sqlite3_busy_timeout(db, 5000);
	return (db);
}

static struct audit_writer *
writer(const char *path, int64_t retention, int64_t upkeep_ms)
{
	struct audit_settings	 set = { retention, upkeep_ms };
	struct audit_writer	*w;
	char			 err[512];

	if ((w = audit_writer_open(path, &set, err, sizeof(err))) == NULL)
		fail_msg("audit_writer_open: %s", err);
	return (w);
}

static void
entry(struct audit_entry *e, const char *job, const char *addr)
{
	memset(e, 0, sizeof(*e));
	e->job_id = job;
	e->remote_addr = addr;
	e->remote_user = "";
	e->started_at = (int64_t)time(NULL);
	e->range_start = 0;
	e->range_end = 1023;
	e->status = 200;
	e->counts = 1;
}

static void
final(struct audit_final *f, const char *outcome)
{
	f->status = 206;
	f->counts = 0;
	f->range_start = 10;
	f->range_end = 19;
	f->bytes = 10;
	f->duration_ms = 7;
	f->outcome = outcome;
}

static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ threads */

struct racer {
	struct audit_writer	*w;
	pthread_barrier_t	*go;
	const char		*job;	/* NULL: a bad record */
	int64_t			 max;
	int			 n;	/* begins, each ended at once */
	int			 ok, limit, failed;
	int64_t			 rows[256];
};

static void *
racer_main(void *arg)
{
	struct racer		*r = arg;
	struct audit_entry	 e;
	struct audit_final	 f;
	int64_t			 row;
	int			 i;

	entry(&e, r->job, "192.0.2.1");
	final(&f, "complete");
	f.counts = 1;		/* still counted once ended */
	if (r->go != NULL)
		pthread_barrier_wait(r->go);
	for (i = 0; i < r->n; i++) {
		switch (audit_begin(r->w, &e, r->max, &row)) {
		case AUDIT_OK:
			if (r->ok < 256)
				r->rows[r->ok] = row;
			r->ok++;
			audit_end(r->w, row, &f);
			break;
		case AUDIT_LIMIT:
			r->limit++;
			if (row != -1)
				r->failed += 1000;	/* a row on refusal */
			break;
		default:
			r->failed++;
			if (row != -1)
				r->failed += 1000;
			break;
		}
	}
	return (NULL);
}

/* Group commit: 16 threads x 100 begins, each gets a row of its own. */
static void
test_group_commit(void **state)
{
	struct racer	 r[16];
	pthread_t	 t[16];
	struct audit_writer *w;
	sqlite3		*db;
	char		 path[128];
	int		 i, ok = 0;

	(void)state;
	db = db_fresh("group.db", path, sizeof(path));
	w = writer(path, 0, 0);
	for (i = 0; i < 16; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].w = w;
		r[i].job = "grp";
		r[i].max = -1;
		r[i].n = 100;
		assert_int_equal(pthread_create(&t[i], NULL, racer_main,
		    &r[i]), 0);
	}
	for (i = 0; i < 16; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].failed, 0);
		assert_int_equal(r[i].limit, 0);
		ok += r[i].ok;
	}
	audit_writer_close(w);
	assert_int_equal(ok, 1600);
	assert_int_equal(sql_int(db, "SELECT count(DISTINCT id) FROM "
	    "downloads WHERE job_id = 'grp'"), 1600);
	/* Every end landed too (close commits what is queued). */
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads WHERE "
	    "outcome = 'complete' AND status = 206 AND bytes_sent = 10 AND "
	    "range_start = 10 AND range_end = 19 AND counts = 1 AND "
	    "duration_ms = 7"), 1600);
	sqlite3_close(db);
}

/*
 * One batch with one bad record (a NULL job_id: NOT NULL refuses it).
 * An outside connection holds the write lock, so the first begin's
 * leader waits in BEGIN with a batch of one, and the three that queue
 * meanwhile are committed together in the next batch.
 */
static void
test_bad_record(void **state)
{
	struct racer	 first, r[3];
	pthread_t	 t0, t[3];
	struct audit_writer *w;
	sqlite3		*db;
	char		 path[128];
	int		 i;

	(void)state;
	db = db_fresh("bad.db", path, sizeof(path));
	w = writer(path, 0, 60000);
	sleep_ms(200);		/* the upkeep's first round is done */
	exec_sql(db, "BEGIN IMMEDIATE");
	memset(&first, 0, sizeof(first));
	first.w = w;
	first.job = "good0";
	first.max = -1;
	first.n = 1;
	assert_int_equal(pthread_create(&t0, NULL, racer_main, &first), 0);
	sleep_ms(100);
	for (i = 0; i < 3; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].w = w;
		r[i].job = i == 1 ? NULL : "good";
		r[i].max = i == 2 ? 5 : -1;
		r[i].n = 1;
		assert_int_equal(pthread_create(&t[i], NULL, racer_main,
		    &r[i]), 0);
	}
	sleep_ms(200);
	exec_sql(db, "COMMIT");
	pthread_join(t0, NULL);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	audit_writer_close(w);
	assert_int_equal(first.ok, 1);
	assert_int_equal(r[0].ok, 1);
	assert_int_equal(r[1].ok, 0);
	assert_int_equal(r[1].failed, 1);	/* its row stays -1 */
	assert_int_equal(r[2].ok, 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads "
	    "WHERE job_id = 'good' AND outcome = 'complete'"), 2);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads"), 3);
	sqlite3_close(db);
}

/*
 * An end whose commit fails (the write lock held past AUDIT_BUSY_MS) is
 * kept, and lands with the next flush; the row never stays 'started'.
 */
static void
test_end_retried(void **state)
{
	struct audit_writer *w;
	struct audit_entry e;
	struct audit_final f;
	sqlite3		*db;
	char		 path[128], sql[160];
	int64_t		 row;

	(void)state;
	db = db_fresh("retry.db", path, sizeof(path));
	w = writer(path, 0, 60000);
	entry(&e, "r1", "192.0.2.9");
	assert_int_equal(audit_begin(w, &e, -1, &row), AUDIT_OK);
	assert_true(row > 0);
	final(&f, "aborted:client");
	exec_sql(db, "BEGIN IMMEDIATE");
	audit_end(w, row, &f);
	audit_writer_flush(w);		/* fails after AUDIT_BUSY_MS */
	snprintf(sql, sizeof(sql), "SELECT outcome = 'started' FROM "
	    "downloads WHERE id = %lld", (long long)row);
	assert_int_equal(sql_int(db, sql), 1);
	exec_sql(db, "COMMIT");
	audit_writer_flush(w);		/* the retry */
	snprintf(sql, sizeof(sql), "SELECT outcome = 'aborted:client' AND "
	    "bytes_sent = 10 AND status = 206 FROM downloads WHERE id = %lld",
	    (long long)row);
	assert_int_equal(sql_int(db, sql), 1);
	audit_writer_close(w);
	sqlite3_close(db);
}

/* A cancel removes the row and frees its place under the limit. */
static void
test_cancel(void **state)
{
	struct audit_writer *w;
	struct audit_entry e;
	sqlite3		*db;
	char		 path[128];
	int64_t		 row, row2, row3;

	(void)state;
	db = db_fresh("cancel.db", path, sizeof(path));
	w = writer(path, 0, 60000);
	entry(&e, "lim1", "192.0.2.1");
	assert_int_equal(audit_begin(w, &e, 1, &row), AUDIT_OK);
	entry(&e, "lim1", "192.0.2.2");
	assert_int_equal(audit_begin(w, &e, 1, &row2), AUDIT_LIMIT);
	assert_int_equal(row2, -1);
	audit_cancel(w, row);
	/* Queued before it, so committed in its batch: the limit is free. */
	assert_int_equal(audit_begin(w, &e, 1, &row3), AUDIT_OK);
	assert_true(row3 > 0);
	audit_cancel(w, -1);		/* nothing */
	audit_cancel(NULL, row3);	/* the audit is off: nothing */
	audit_writer_close(w);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads"), 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads WHERE "
	    "remote_addr = '192.0.2.2'"), 1);
	sqlite3_close(db);
}

/* N threads on two writers race on a limit-3 job: exactly 3 pass. */
static void
test_limit_race(void **state)
{
	enum { NT = 32, K = 3 };
	struct racer	 r[NT];
	pthread_t	 t[NT];
	pthread_barrier_t go;
	struct audit_writer *w[2];
	sqlite3		*db;
	char		 path[128];
	int		 i, ok = 0, limit = 0, round;

	(void)state;
	for (round = 0; round < 5; round++) {
		db = db_fresh("race.db", path, sizeof(path));
		w[0] = writer(path, 0, 0);
		w[1] = writer(path, 0, 0);
		pthread_barrier_init(&go, NULL, NT);
		for (i = 0; i < NT; i++) {
			memset(&r[i], 0, sizeof(r[i]));
			r[i].w = w[i % 2];
			r[i].go = &go;
			r[i].job = "race";
			r[i].max = K;
			r[i].n = 1;
			assert_int_equal(pthread_create(&t[i], NULL,
			    racer_main, &r[i]), 0);
		}
		ok = limit = 0;
		for (i = 0; i < NT; i++) {
			pthread_join(t[i], NULL);
			assert_int_equal(r[i].failed, 0);
			ok += r[i].ok;
			limit += r[i].limit;
		}
		pthread_barrier_destroy(&go);
		audit_writer_close(w[0]);
		audit_writer_close(w[1]);
		assert_int_equal(ok, K);
		assert_int_equal(limit, NT - K);
		assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads "
		    "WHERE job_id = 'race'"), K);
		sqlite3_close(db);
	}
}

/*
 * Retention: 1200 rows 100 days old (every tenth still 'started', every
 * other one counted) and 10 recent ones. The upkeep thread prunes the old
 * finished rows in batches; 'started' and recent rows stay; the pruned
 * counted ones are tallied, so the limit still sees them.
 */
static void
test_retention(void **state)
{
	struct audit_writer *w;
	struct audit_entry e;
	struct audit_final f;
	sqlite3		*db;
	char		 path[128], sql[512];
	int64_t		 now = (int64_t)time(NULL), row, left = -1;
	int		 i;

	(void)state;
	db = db_fresh("keep.db", path, sizeof(path));
	snprintf(sql, sizeof(sql), "WITH RECURSIVE n(i) AS (SELECT 1 UNION "
	    "ALL SELECT i + 1 FROM n WHERE i < 1200) INSERT INTO downloads "
	    "(job_id, started_at, range_start, range_end, status, counts, "
	    "outcome, pid) SELECT 'old', %lld, 0, 9, 200, i %% 2, CASE WHEN "
	    "i %% 10 = 0 THEN 'started' ELSE 'complete' END, 1 FROM n",
	    (long long)(now - 100 * 86400));
	exec_sql(db, sql);
	snprintf(sql, sizeof(sql), "WITH RECURSIVE n(i) AS (SELECT 1 UNION "
	    "ALL SELECT i + 1 FROM n WHERE i < 10) INSERT INTO downloads "
	    "(job_id, started_at, range_start, range_end, status, counts, "
	    "outcome, pid) SELECT 'old', %lld, 0, 9, 200, 1, 'complete', 1 "
	    "FROM n", (long long)now);
	exec_sql(db, sql);
	/* pid 1 is alive: its 'started' rows are not closed as lost. */
	w = writer(path, 30 * 86400, 20);
	for (i = 0; i < 100; i++) {
		left = sql_int(db, "SELECT count(*) FROM downloads WHERE "
		    "outcome = 'complete'");
		if (left == 10)
			break;
		sleep_ms(100);
	}
	assert_int_equal(left, 10);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads WHERE "
	    "outcome = 'started'"), 120);
	/* Counted among the 1080 pruned: the odd i not divisible by 10. */
	assert_int_equal(sql_int(db, "SELECT pruned FROM download_counts "
	    "WHERE job_id = 'old'"), 600);
	/* 600 pruned + 10 recent + 0 of the started (even i) = 610. */
	entry(&e, "old", "192.0.2.1");
	assert_int_equal(audit_begin(w, &e, 610, &row), AUDIT_LIMIT);
	assert_int_equal(audit_begin(w, &e, 611, &row), AUDIT_OK);
	final(&f, "complete");
	f.counts = 1;
	audit_end(w, row, &f);
	audit_writer_close(w);
	/* sluicectl prune's path: everything older than a second ago. */
	{
		char err[512];

		sleep_ms(1100);
		assert_int_equal(audit_prune(path, (int64_t)time(NULL), err,
		    sizeof(err)), 11);
	}
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads"), 120);
	assert_int_equal(sql_int(db, "SELECT pruned FROM download_counts "
	    "WHERE job_id = 'old'"), 611);
	sqlite3_close(db);
}

/*
 * sluicectl prune's pass does not rely on ids growing with time: old rows
 * written after a recent one (an import, a clock set back) go too, and a
 * 'started' one stays.
 */
static void
test_prune_any_order(void **state)
{
	sqlite3		*db;
	char		 path[128], sql[512], err[512];
	int64_t		 now = (int64_t)time(NULL);

	(void)state;
	db = db_fresh("order.db", path, sizeof(path));
	snprintf(sql, sizeof(sql), "INSERT INTO downloads (job_id, started_at, "
	    "range_start, range_end, status, counts, outcome, pid) VALUES "
	    "('o', %lld, 0, 9, 200, 1, 'complete', 1), "
	    "('o', %lld, 0, 9, 200, 1, 'complete', 1), "
	    "('o', %lld, 0, 9, 200, 0, 'complete', 1), "
	    "('o', %lld, 0, 9, 200, 1, 'started', 1)", (long long)now,
	    (long long)(now - 40 * 86400), (long long)(now - 40 * 86400),
	    (long long)(now - 40 * 86400));
	exec_sql(db, sql);
	assert_int_equal(audit_prune(path, now - 30 * 86400, err,
	    sizeof(err)), 2);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads"), 2);
	assert_int_equal(sql_int(db, "SELECT pruned FROM download_counts "
	    "WHERE job_id = 'o'"), 1);
	assert_int_equal(audit_prune(path, now - 30 * 86400, err,
	    sizeof(err)), 0);
	sqlite3_close(db);
}

/* The largest the -wal file got while fn ran in 8 threads. */
struct walwatch {
	const char	*wal;
	volatile int	 stop;
	off_t		 max;
};

static void *
walwatch_main(void *arg)
{
	struct walwatch	*ww = arg;
	struct stat	 st;

	while (!ww->stop) {
		if (stat(ww->wal, &st) == 0 && st.st_size > ww->max)
			ww->max = st.st_size;
		sleep_ms(5);
	}
	return (NULL);
}

/*
 * 8 threads x 3000 begins and ends: without checkpoints that restart it,
 * the WAL would pass 30 MiB; it stays within AUDIT_WAL_LIMIT plus what
 * two checkpoint intervals can add.
 */
static void
test_wal_bounded(void **state)
{
	struct racer	 r[8];
	pthread_t	 t[8], tw;
	struct walwatch	 ww;
	struct audit_writer *w;
	sqlite3		*db;
	char		 path[128], wal[160];
	int		 i, ok = 0;

	(void)state;
	db = db_fresh("wal.db", path, sizeof(path));
	snprintf(wal, sizeof(wal), "%s-wal", path);
	memset(&ww, 0, sizeof(ww));
	ww.wal = wal;
	assert_int_equal(pthread_create(&tw, NULL, walwatch_main, &ww), 0);
	w = writer(path, 0, 0);
	for (i = 0; i < 8; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].w = w;
		r[i].job = "wal";
		r[i].max = -1;
		r[i].n = 3000;
		assert_int_equal(pthread_create(&t[i], NULL, racer_main,
		    &r[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ok += r[i].ok;
	}
	audit_writer_close(w);
	ww.stop = 1;
	pthread_join(tw, NULL);
	assert_int_equal(ok, 24000);
	print_message("wal: max %lld bytes over 24000 downloads\n",
	    (long long)ww.max);
	assert_true(ww.max > 0);
	assert_true(ww.max <= 3 * AUDIT_WAL_LIMIT);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_commit),
		cmocka_unit_test(test_bad_record),
		cmocka_unit_test(test_end_retried),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_limit_race),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_prune_any_order),
		cmocka_unit_test(test_wal_bounded),
	};

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
