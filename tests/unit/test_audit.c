/*
 * test_audit: src/audit.c against real SQLite state databases created
 * from sql/state.sql (STATE_SQL, set by the Makefile) in a temporary
 * directory, with real threads (no mocks). What it holds:
 * - group commit: many threads, every begin gets its own response row,
 *   and each client's responses are one download;
 * - a batch with one bad record: only that record fails;
 * - an end whose commit fails because the database is locked is kept as
 *   long as the worker lives, and lands once the lock is gone;
 * - a cancel withdraws the response and, with it, a download it opened;
 * - the window: a client's next response joins its download while one is
 *   in flight or within the window, and opens a new one after it;
 * - a download that handed nothing over never counts;
 * - coverage: segments in any order make one complete download;
 * - the limit race: N clients on two writers (two connections, as two
 *   worker processes) racing on a limit-k job: exactly k open one; N
 *   segments of one client on a limit-1 job: all served, one download;
 * - retention prunes old responses and downloads, never one in flight,
 *   and a pruned download still counts; sluicectl's prune finds old rows
 *   wherever their ids are;
 * - a version 1 database is migrated in place, its rows kept;
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
#ifndef STATE_V1_SQL
#error "STATE_V1_SQL must name a version 1 sql/state.sql"
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
writer_busy(const char *path, int64_t retention, int64_t upkeep_ms,
    int busy_ms)
{
	struct audit_settings	 set = { retention, upkeep_ms, busy_ms };
	struct audit_writer	*w;
	char			 err[512];

	if ((w = audit_writer_open(path, &set, err, sizeof(err))) == NULL)
		fail_msg("audit_writer_open: %s", err);
	return (w);
}

static struct audit_writer *
writer(const char *path, int64_t retention, int64_t upkeep_ms)
{
	return (writer_busy(path, retention, upkeep_ms, 0));
}

/* A GET of job from addr: the whole 100-byte file, now, window 1 h. */
static void
entry(struct audit_entry *e, const char *job, const char *addr,
    int64_t max)
{
	memset(e, 0, sizeof(*e));
	e->job_id = job;
	e->remote_addr = addr;
	e->remote_user = "";
	e->started_at = (int64_t)time(NULL);
	e->range_start = 0;
	e->range_end = 99;
	e->status = 200;
	e->file_size = 100;
	e->max_downloads = max;
	e->window = 3600;
}

/* An end that handed bytes [first, first + n) of the file over. */
static void
final(struct audit_final *f, const char *outcome, int64_t first, int64_t n)
{
	memset(f, 0, sizeof(*f));
	f->status = 206;
	f->range_start = first;
	f->range_end = first + n - 1;
	f->bytes = n;
	f->duration_ms = 7;
	f->outcome = outcome;
	f->ended_at = (int64_t)time(NULL);
	f->handed_first = first;
	f->handed = n;
	f->whole = strcmp(outcome, "complete") == 0;
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
	char			 addr[32];
	int64_t			 max;
	int			 n;	/* begins, each ended at once */
	int			 opened, joined, limit, failed;
};

static void *
racer_main(void *arg)
{
	struct racer		*r = arg;
	struct audit_entry	 e;
	struct audit_final	 f;
	struct audit_ticket	 t;
	int			 i;

	entry(&e, r->job, r->addr, r->max);
	final(&f, "complete", 10, 10);
	if (r->go != NULL)
		pthread_barrier_wait(r->go);
	for (i = 0; i < r->n; i++) {
		switch (audit_begin(r->w, &e, &t)) {
		case AUDIT_OPENED:
		case AUDIT_JOINED:
			if (t.response < 0 || t.download < 0)
				r->failed += 1000;
			if (t.opened)
				r->opened++;
			else
				r->joined++;
			audit_end(r->w, &t, &f);
			break;
		case AUDIT_LIMIT:
			r->limit++;
			if (t.response != -1 || t.download != -1)
				r->failed += 1000;	/* rows on refusal */
			break;
		default:
			r->failed++;
			if (t.response != -1)
				r->failed += 1000;
			break;
		}
	}
	return (NULL);
}

static void
racer_init(struct racer *r, struct audit_writer *w, const char *job,
    int client, int64_t max, int n)
{
	memset(r, 0, sizeof(*r));
	r->w = w;
	r->job = job;
	snprintf(r->addr, sizeof(r->addr), "192.0.2.%d", client);
	r->max = max;
	r->n = n;
}

/*
 * Group commit: 16 clients x 100 begins, each gets a response row of its
 * own, and each client's 100 are one download.
 */
static void
test_group_commit(void **state)
{
	struct racer	 r[16];
	pthread_t	 t[16];
	struct audit_writer *w;
	sqlite3		*db;
	char		 path[128];
	int		 i, opened = 0, joined = 0;

	(void)state;
	db = db_fresh("group.db", path, sizeof(path));
	w = writer(path, 0, 0);
	for (i = 0; i < 16; i++) {
		racer_init(&r[i], w, "grp", i + 1, -1, 100);
		assert_int_equal(pthread_create(&t[i], NULL, racer_main,
		    &r[i]), 0);
	}
	for (i = 0; i < 16; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].failed, 0);
		assert_int_equal(r[i].limit, 0);
		assert_int_equal(r[i].opened, 1);
		opened += r[i].opened;
		joined += r[i].joined;
	}
	audit_writer_close(w);
	assert_int_equal(opened + joined, 1600);
	assert_int_equal(sql_int(db, "SELECT count(DISTINCT id) FROM "
	    "responses WHERE job_id = 'grp'"), 1600);
	/* Every end landed too (close commits what is queued). */
	assert_int_equal(sql_int(db, "SELECT count(*) FROM responses WHERE "
	    "outcome = 'complete' AND status = 206 AND bytes_sent = 10 AND "
	    "range_start = 10 AND range_end = 19 AND duration_ms = 7"), 1600);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM responses WHERE "
	    "counts = 1"), 16);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads WHERE "
	    "responses = 100 AND bytes_sent = 1000 AND covered = 10 AND "
	    "spans = '10-19' AND complete = 0"), 16);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM (SELECT "
	    "download_id FROM responses GROUP BY download_id HAVING "
	    "count(DISTINCT remote_addr) = 1)"), 16);
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
	racer_init(&first, w, "good0", 1, -1, 1);
	assert_int_equal(pthread_create(&t0, NULL, racer_main, &first), 0);
	sleep_ms(100);
	for (i = 0; i < 3; i++) {
		racer_init(&r[i], w, i == 1 ? NULL : "good", i + 2,
		    i == 2 ? 5 : -1, 1);
		assert_int_equal(pthread_create(&t[i], NULL, racer_main,
		    &r[i]), 0);
	}
	sleep_ms(200);
	exec_sql(db, "COMMIT");
	pthread_join(t0, NULL);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	audit_writer_close(w);
	assert_int_equal(first.opened, 1);
	assert_int_equal(r[0].opened, 1);
	assert_int_equal(r[1].opened + r[1].joined, 0);
	assert_int_equal(r[1].failed, 1);	/* its rows stay -1 */
	assert_int_equal(r[2].opened, 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM responses "
	    "WHERE job_id = 'good' AND outcome = 'complete'"), 2);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM responses"), 3);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads"), 3);
	sqlite3_close(db);
}

/*
 * An end whose commit fails because an outside connection holds the
 * write lock is kept while the worker lives: eight failed flushes, more
 * than AUDIT_RETRY_TRIES, then the lock goes and the end lands. The row
 * never stays 'started', its bytes never 0 (issue 12, item 7).
 */
static void
test_end_retried(void **state)
{
	struct audit_writer *w;
	struct audit_entry e;
	struct audit_final f;
	struct audit_ticket t;
	sqlite3		*db;
	char		 path[128], sql[200];
	int		 i;

	(void)state;
	db = db_fresh("retry.db", path, sizeof(path));
	w = writer_busy(path, 0, 60000, 50);
	entry(&e, "r1", "192.0.2.9", 1);
	assert_int_equal(audit_begin(w, &e, &t), AUDIT_OPENED);
	assert_true(t.response > 0 && t.download > 0 && t.opened);
	final(&f, "aborted:client", 0, 40);
	exec_sql(db, "BEGIN IMMEDIATE");
	audit_end(w, &t, &f);
	for (i = 0; i < AUDIT_RETRY_TRIES + 3; i++)
		audit_writer_flush(w);	/* each fails after 50 ms */
	snprintf(sql, sizeof(sql), "SELECT outcome = 'started' FROM "
	    "responses WHERE id = %lld", (long long)t.response);
	assert_int_equal(sql_int(db, sql), 1);
	exec_sql(db, "COMMIT");
	audit_writer_flush(w);		/* the retry */
	snprintf(sql, sizeof(sql), "SELECT outcome = 'aborted:client' AND "
	    "bytes_sent = 40 AND status = 206 FROM responses WHERE id = %lld",
	    (long long)t.response);
	assert_int_equal(sql_int(db, sql), 1);
	snprintf(sql, sizeof(sql), "SELECT bytes_sent = 40 AND covered = 40 "
	    "AND spans = '0-39' FROM downloads WHERE id = %lld",
	    (long long)t.download);
	assert_int_equal(sql_int(db, sql), 1);
	audit_writer_close(w);
	sqlite3_close(db);
}

/*
 * A cancel withdraws the response, and a download it opened (which frees
 * the limit); a cancelled join leaves its download as it was.
 */
static void
test_cancel(void **state)
{
	struct audit_writer *w;
	struct audit_entry a, b;
	struct audit_final f;
	struct audit_ticket t, t2, t3, t4;

	sqlite3		*db;
	char		 path[128];

	(void)state;
	db = db_fresh("cancel.db", path, sizeof(path));
	w = writer(path, 0, 60000);
	entry(&a, "lim1", "192.0.2.1", 1);
	entry(&b, "lim1", "192.0.2.2", 1);
	assert_int_equal(audit_begin(w, &a, &t), AUDIT_OPENED);
	assert_int_equal(audit_begin(w, &b, &t2), AUDIT_LIMIT);
	assert_int_equal(t2.response, -1);
	assert_int_equal(t2.download, -1);
	audit_cancel(w, &t);
	/* Queued before it, so committed in its batch: the limit is free. */
	assert_int_equal(audit_begin(w, &b, &t3), AUDIT_OPENED);
	final(&f, "complete", 0, 100);
	audit_end(w, &t3, &f);
	/* b again: joins; withdrawn, the download stays as it was. */
	assert_int_equal(audit_begin(w, &b, &t4), AUDIT_JOINED);
	assert_int_equal(t4.download, t3.download);
	audit_cancel(w, &t4);
	audit_cancel(w, &(struct audit_ticket){ -1, -1, 0, 0 });	/* nothing */
	audit_cancel(NULL, &t3);	/* the audit is off: nothing */
	audit_writer_close(w);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM responses"), 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads WHERE "
	    "remote_addr = '192.0.2.2' AND responses = 1 AND complete = 1"), 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads"), 1);
	sqlite3_close(db);
}

/*
 * The window: with no response in flight, a client's next GET joins its
 * download up to `window` seconds after the last one ended, and opens a
 * new one after that (410 at a limit of 1); with one in flight it joins
 * whatever the time.
 */
static void
test_window(void **state)
{
	struct audit_writer *w;
	struct audit_entry e;
	struct audit_final f;
	struct audit_ticket t, t2, t3;
	sqlite3		*db;
	char		 path[128];
	int64_t		 t0;

	(void)state;
	db = db_fresh("window.db", path, sizeof(path));
	w = writer(path, 0, 60000);
	entry(&e, "win", "192.0.2.5", 1);
	e.window = 60;
	t0 = e.started_at;
	assert_int_equal(audit_begin(w, &e, &t), AUDIT_OPENED);
	/* In flight: a second response joins even long after. */
	e.started_at = t0 + 1000;
	assert_int_equal(audit_begin(w, &e, &t2), AUDIT_JOINED);
	final(&f, "aborted:client", 0, 50);
	f.ended_at = t0 + 10;
	audit_end(w, &t, &f);
	final(&f, "complete", 50, 50);
	f.ended_at = t0 + 1000;
	audit_end(w, &t2, &f);
	/* 60 s after the last end: joins. 61 s: a new one, over the limit. */
	e.started_at = t0 + 1060;
	assert_int_equal(audit_begin(w, &e, &t3), AUDIT_JOINED);
	audit_cancel(w, &t3);
	e.started_at = t0 + 1061;
	assert_int_equal(audit_begin(w, &e, &t3), AUDIT_LIMIT);
	e.max_downloads = 2;
	assert_int_equal(audit_begin(w, &e, &t3), AUDIT_OPENED);
	audit_cancel(w, &t3);
	audit_writer_close(w);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads WHERE "
	    "responses = 2 AND complete = 1 AND covered = 100 AND "
	    "spans = '0-99'"), 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads"), 1);
	sqlite3_close(db);
}

/*
 * A download that handed nothing to the web server never counts: its
 * only response ended with 0 bytes, so it goes (the response stays, of
 * no download), and another client may open one at a limit of 1. An empty
 * file's download counts once a response ends complete.
 */
static void
test_nothing_handed(void **state)
{
	struct audit_writer *w;
	struct audit_entry a, b, z;
	struct audit_final f;
	struct audit_ticket t;
	sqlite3		*db;
	char		 path[128];

	(void)state;
	db = db_fresh("nothing.db", path, sizeof(path));
	w = writer(path, 0, 60000);
	entry(&a, "n1", "192.0.2.1", 1);
	entry(&b, "n1", "192.0.2.2", 1);
	assert_int_equal(audit_begin(w, &a, &t), AUDIT_OPENED);
	final(&f, "aborted:client", 0, 0);
	audit_end(w, &t, &f);
	assert_int_equal(audit_begin(w, &b, &t), AUDIT_OPENED);
	final(&f, "complete", 0, 100);
	audit_end(w, &t, &f);
	assert_int_equal(audit_begin(w, &a, &t), AUDIT_LIMIT);
	entry(&z, "empty", "192.0.2.1", 1);
	z.file_size = 0;
	z.range_end = -1;
	assert_int_equal(audit_begin(w, &z, &t), AUDIT_OPENED);
	final(&f, "complete", 0, 0);
	audit_end(w, &t, &f);
	z.remote_addr = "192.0.2.2";
	assert_int_equal(audit_begin(w, &z, &t), AUDIT_LIMIT);
	audit_writer_close(w);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM responses WHERE "
	    "download_id IS NULL AND counts = 0 AND remote_addr = "
	    "'192.0.2.1' AND job_id = 'n1'"), 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads WHERE "
	    "job_id = 'n1'"), 1);
	assert_int_equal(sql_int(db, "SELECT complete FROM downloads WHERE "
	    "job_id = 'empty'"), 1);
	sqlite3_close(db);
}

/*
 * Coverage: a client's segments in any order, overlapping, one cut short,
 * make one download that is complete once every byte was handed over,
 * and not before.
 */
static void
test_coverage(void **state)
{
	static const int64_t seg[][2] = {
		{ 0, 30 }, { 50, 25 }, { 20, 30 }, { 90, 10 }, { 75, 15 },
	};
	struct audit_writer *w;
	struct audit_entry e;
	struct audit_final f;
	struct audit_ticket t;
	sqlite3		*db;
	char		 path[128];
	size_t		 i;

	(void)state;
	db = db_fresh("cover.db", path, sizeof(path));
	w = writer(path, 0, 60000);
	entry(&e, "cov", "192.0.2.7", 1);
	for (i = 0; i < sizeof(seg) / sizeof(seg[0]); i++) {
		assert_int_equal(audit_begin(w, &e, &t), i == 0 ?
		    AUDIT_OPENED : AUDIT_JOINED);
		final(&f, "complete", seg[i][0], seg[i][1]);
		audit_end(w, &t, &f);
		audit_writer_flush(w);
		if (i == 3)
			assert_int_equal(sql_int(db, "SELECT complete = 0 AND "
			    "covered = 85 AND spans = '0-74,90-99' FROM "
			    "downloads"), 1);
	}
	audit_writer_close(w);
	assert_int_equal(sql_int(db, "SELECT complete = 1 AND covered = 100 "
	    "AND spans = '0-99' AND bytes_sent = 110 AND responses = 5 FROM "
	    "downloads"), 1);
	sqlite3_close(db);
}

/* Every racer's outcome, summed. */
static void
race(struct racer *r, int nt, const char *path, int same_client,
    int64_t max, int *opened, int *joined, int *limit)
{
	pthread_t	 t[64];
	pthread_barrier_t go;
	struct audit_writer *w[2];
	int		 i;

	w[0] = writer(path, 0, 0);
	w[1] = writer(path, 0, 0);
	pthread_barrier_init(&go, NULL, (unsigned)nt);
	for (i = 0; i < nt; i++) {
		racer_init(&r[i], w[i % 2], "race", same_client ? 1 : i + 1,
		    max, 1);
		r[i].go = &go;
		assert_int_equal(pthread_create(&t[i], NULL, racer_main,
		    &r[i]), 0);
	}
	*opened = *joined = *limit = 0;
	for (i = 0; i < nt; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].failed, 0);
		*opened += r[i].opened;
		*joined += r[i].joined;
		*limit += r[i].limit;
	}
	pthread_barrier_destroy(&go);
	audit_writer_close(w[0]);
	audit_writer_close(w[1]);
}

/*
 * 32 clients on two writers race on a limit-3 job: exactly 3 open one.
 * 32 segments of one client race on a limit-1 job: all served, one
 * download.
 */
static void
test_limit_race(void **state)
{
	enum { NT = 32, K = 3 };
	struct racer	 r[NT];
	sqlite3		*db;
	char		 path[128];
	int		 opened, joined, limit, round;

	(void)state;
	for (round = 0; round < 5; round++) {
		db = db_fresh("race.db", path, sizeof(path));
		race(r, NT, path, 0, K, &opened, &joined, &limit);
		assert_int_equal(opened, K);
		assert_int_equal(joined, 0);
		assert_int_equal(limit, NT - K);
		assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads "
		    "WHERE job_id = 'race'"), K);
		sqlite3_close(db);
		db = db_fresh("race1.db", path, sizeof(path));
		race(r, NT, path, 1, 1, &opened, &joined, &limit);
		assert_int_equal(opened, 1);
		assert_int_equal(joined, NT - 1);
		assert_int_equal(limit, 0);
		assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads "
		    "WHERE responses = 32"), 1);
		assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads"),
		    1);
		sqlite3_close(db);
	}
}

/*
 * Retention: 1200 downloads 100 days old (every tenth with a response
 * still 'started') and 10 recent ones, each with one response. The upkeep
 * thread prunes the old finished responses and downloads in batches; the
 * in-flight and recent ones stay; the pruned downloads are tallied, so
 * the limit still sees them.
 */
static void
test_retention(void **state)
{
	struct audit_writer *w;
	struct audit_entry e;
	struct audit_final f;
	struct audit_ticket t;
	sqlite3		*db;
	char		 path[128], sql[640], err[512];
	int64_t		 now = (int64_t)time(NULL), left = -1;
	int		 i;

	(void)state;
	db = db_fresh("keep.db", path, sizeof(path));
	snprintf(sql, sizeof(sql), "WITH RECURSIVE n(i) AS (SELECT 1 UNION "
	    "ALL SELECT i + 1 FROM n WHERE i < 1210) INSERT INTO downloads "
	    "(id, job_id, remote_addr, opened_at, last_at, responses, "
	    "bytes_sent, file_size, covered, spans, complete) SELECT i, 'old', "
	    "'198.51.100.' || i, t, t, 1, 10, 10, 10, '0-9', 1 FROM (SELECT i, "
	    "CASE WHEN i <= 1200 THEN %lld ELSE %lld END AS t FROM n)",
	    (long long)(now - 100 * 86400), (long long)now);
	exec_sql(db, sql);
	exec_sql(db, "INSERT INTO responses (id, download_id, job_id, "
	    "started_at, remote_addr, range_start, range_end, status, counts, "
	    "bytes_sent, outcome, pid) SELECT id, id, 'old', opened_at, "
	    "remote_addr, 0, 9, 200, 1, 10, CASE WHEN id % 10 = 0 AND "
	    "id <= 1200 THEN 'started' ELSE 'complete' END, 1 FROM downloads");
	/* pid 1 is alive: its 'started' rows are not closed as lost. */
	w = writer(path, 30 * 86400, 20);
	for (i = 0; i < 100; i++) {
		left = sql_int(db, "SELECT count(*) FROM downloads");
		if (left == 130 && sql_int(db, "SELECT count(*) FROM "
		    "responses") == 130)
			break;
		sleep_ms(100);
	}
	assert_int_equal(left, 130);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM responses WHERE "
	    "outcome = 'started'"), 120);
	assert_int_equal(sql_int(db, "SELECT pruned FROM download_counts "
	    "WHERE job_id = 'old'"), 1080);
	/* 1080 pruned + 130 kept = 1210. */
	entry(&e, "old", "192.0.2.1", 1210);
	assert_int_equal(audit_begin(w, &e, &t), AUDIT_LIMIT);
	e.max_downloads = 1211;
	assert_int_equal(audit_begin(w, &e, &t), AUDIT_OPENED);
	final(&f, "complete", 0, 10);
	audit_end(w, &t, &f);
	audit_writer_close(w);
	/* sluicectl prune's path: everything older than a second ago. */
	sleep_ms(1100);
	assert_int_equal(audit_prune(path, (int64_t)time(NULL), err,
	    sizeof(err)), 22);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM responses"), 120);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads"), 120);
	assert_int_equal(sql_int(db, "SELECT pruned FROM download_counts "
	    "WHERE job_id = 'old'"), 1091);
	sqlite3_close(db);
}

/*
 * sluicectl prune's pass does not rely on ids growing with time: old rows
 * written after a recent one (an import, a clock set back) go too; a
 * download with a response in flight stays, and so does its response.
 */
static void
test_prune_any_order(void **state)
{
	sqlite3		*db;
	char		 path[128], sql[900], err[512];
	int64_t		 now = (int64_t)time(NULL), old = now - 40 * 86400;

	(void)state;
	db = db_fresh("order.db", path, sizeof(path));
	snprintf(sql, sizeof(sql), "INSERT INTO downloads (id, job_id, "
	    "opened_at, last_at, file_size) VALUES (1, 'o', %lld, %lld, 10), "
	    "(2, 'o', %lld, %lld, 10), (3, 'o', %lld, %lld, 10); "
	    "INSERT INTO responses (download_id, job_id, started_at, "
	    "range_start, range_end, status, counts, outcome, pid) VALUES "
	    "(1, 'o', %lld, 0, 9, 200, 1, 'complete', 1), "
	    "(2, 'o', %lld, 0, 9, 200, 1, 'complete', 1), "
	    "(3, 'o', %lld, 0, 9, 200, 1, 'started', 1)",
	    (long long)now, (long long)now, (long long)old, (long long)old,
	    (long long)old, (long long)old, (long long)now, (long long)old,
	    (long long)old);
	exec_sql(db, sql);
	assert_int_equal(audit_prune(path, now - 30 * 86400, err,
	    sizeof(err)), 2);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM responses"), 2);
	assert_int_equal(sql_int(db, "SELECT group_concat(id, '') FROM "
	    "(SELECT id FROM downloads ORDER BY id)"), 13);
	assert_int_equal(sql_int(db, "SELECT pruned FROM download_counts "
	    "WHERE job_id = 'o'"), 1);
	assert_int_equal(audit_prune(path, now - 30 * 86400, err,
	    sizeof(err)), 0);
	sqlite3_close(db);
}

/*
 * A version 1 state database (one table of responses, called downloads)
 * is migrated in place by audit_prepare: every row kept as a response,
 * each counted one a download of its own with what it sent, the pruned
 * tally kept; a second prepare changes nothing; a newer version is
 * refused.
 */
static void
test_migrate(void **state)
{
	sqlite3		*db;
	char		 path[128], err[512], *sql;

	(void)state;
	snprintf(path, sizeof(path), "%s/v1.db", tmpdir);
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sql = slurp(STATE_V1_SQL);
	exec_sql(db, sql);
	free(sql);
	exec_sql(db, "INSERT INTO downloads (job_id, started_at, "
	    "remote_addr, range_start, range_end, status, counts, bytes_sent, "
	    "duration_ms, outcome, pid) VALUES "
	    "('a', 1000, '192.0.2.1', 0, 99, 200, 1, 100, 2000, 'complete', 1),"
	    "('a', 1100, '192.0.2.1', 50, 99, 206, 0, 50, 10, 'complete', 1),"
	    "('b', 1200, '192.0.2.2', 0, 99, 206, 1, 30, 10, "
	    "'aborted:client', 1),"
	    "('b', 1300, NULL, 0, 9, 200, 1, 0, 10, 'started', 1);"
	    "INSERT INTO download_counts VALUES ('a', 7)");
	if (audit_prepare(path, err, sizeof(err)) != 0)
		fail_msg("audit_prepare: %s", err);
	assert_int_equal(sql_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM responses"), 4);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM responses WHERE "
	    "outcome = 'aborted:lost'"), 1);
	assert_int_equal(sql_int(db, "SELECT group_concat(id, '') FROM "
	    "(SELECT id FROM downloads ORDER BY id)"), 134);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads WHERE "
	    "id = 1 AND opened_at = 1000 AND last_at = 1002 AND complete = 1 "
	    "AND file_size = 100 AND spans = '0-99' AND covered = 100"), 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads WHERE "
	    "id = 3 AND complete = 0 AND file_size = -1 AND spans = '0-29'"),
	    1);
	assert_int_equal(sql_int(db, "SELECT download_id IS NULL FROM "
	    "responses WHERE id = 2"), 1);
	assert_int_equal(sql_int(db, "SELECT pruned FROM download_counts"),
	    7);
	if (audit_prepare(path, err, sizeof(err)) != 0)
		fail_msg("audit_prepare again: %s", err);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM downloads"), 3);
	exec_sql(db, "PRAGMA user_version = 3");
	assert_int_equal(audit_prepare(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version 3 is newer"));
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
		racer_init(&r[i], w, "wal", i + 1, -1, 3000);
		assert_int_equal(pthread_create(&t[i], NULL, racer_main,
		    &r[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ok += r[i].opened + r[i].joined;
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
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_nothing_handed),
		cmocka_unit_test(test_coverage),
		cmocka_unit_test(test_limit_race),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_prune_any_order),
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_wal_bounded),
	};

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
