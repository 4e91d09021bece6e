/*
 * audit: sluice's own state database, and its one owner. The downloads
 * (one client fetching one job) and their responses, the atomic
 * look-count-and-record behind max_downloads, and the database's upkeep
 * (committing queued ends, checkpoints that keep the WAL bounded, closing
 * the responses of dead workers, retention).
 *
 * One writer per worker process (struct audit_writer, opaque): one
 * read-write connection on which the request threads commit what they
 * queue, many records per transaction (group commit), and one upkeep
 * thread with a connection of its own. A request thread waits for the
 * commit that holds its begin (audit_begin); a cancel or an end is queued
 * without waiting and lands in the next commit, or is retried.
 */
#ifndef SLUICE_AUDIT_H
#define SLUICE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

/* PRAGMA user_version of sql/state.sql; 0 with a downloads table of
 * responses is version 1 (sql/state_v2.sql migrates it). */
#define AUDIT_VERSION		2

/* --audit-retention and sluicectl prune's default: README says why. */
#define AUDIT_RETENTION_DEFAULT	(90 * 86400)	/* seconds */

#define AUDIT_BUSY_MS		1000	/* then a begin fails: server.c */
#define AUDIT_QUEUE_MAX		64	/* queued records; then callers wait */
#define AUDIT_RETRY_MAX		256	/* failed cancels and ends kept */
/* Commits tried before a cancel or an end that fails for itself (not for
 * a full, locked or failing database: those are kept while the worker
 * lives) is dropped. */
#define AUDIT_RETRY_TRIES	5
#define AUDIT_UPKEEP_MS		100	/* the upkeep thread's tick */
#define AUDIT_CHECKPOINT_MS	1000	/* a RESTART checkpoint at least this often */
#define AUDIT_CHECKPOINT_FRAMES	1024	/* ... or once the WAL holds this many */
#define AUDIT_WAL_LIMIT		(4 * 1024 * 1024)	/* journal_size_limit */
#define AUDIT_LOST_MS		5000	/* rows of dead workers: closed this often */
#define AUDIT_PRUNE_BATCH	500	/* rows deleted per retention transaction */
#define AUDIT_PRUNE_MS		100	/* between batches while behind */
#define AUDIT_PRUNE_IDLE_MS	60000	/* between checks once caught up */

/* --resume-window's default: a download stays open this long after its
 * last response ended (DESIGN.md, "Downloads"). */
#define AUDIT_RESUME_WINDOW_DEFAULT	3600	/* seconds */

/* Before the file is opened: the client, the job, and the prediction of
 * the response (the whole file, a 200). */
struct audit_entry {
	const char	*job_id;
	const char	*remote_addr;	/* "" = unknown */
	const char	*remote_user;	/* "" = none */
	int64_t		 started_at;	/* unix seconds */
	int64_t		 range_start;
	int64_t		 range_end;
	int		 status;
	int64_t		 file_size;	/* the row's */
	int64_t		 max_downloads;	/* -1: none */
	int64_t		 window;	/* --resume-window, seconds */
};

/* What a begin recorded: the response's row and its download's. */
struct audit_ticket {
	int64_t		 response;	/* -1: none */
	int64_t		 download;	/* -1: none */
	int		 opened;	/* 1: this response opened it */
	int64_t		 lock;		/* PostgreSQL: its job's lock key */
};

/* After the response: what was answered and how it ended. */
struct audit_final {
	int		 status;
	int64_t		 range_start;
	int64_t		 range_end;
	int64_t		 bytes;		/* body bytes sluice wrote */
	int64_t		 duration_ms;
	const char	*outcome;	/* a string constant */
	int64_t		 ended_at;	/* unix seconds */
	/* The bytes of the file handed to the web server: those written,
	 * or, offloaded, the range it was told to send. */
	int64_t		 handed_first;
	int64_t		 handed;
	int		 whole;		/* its whole range was handed over */
};

/* What the writer keeps, from struct config (0s are the defaults). */
struct audit_settings {
	int64_t		 retention;	/* seconds; 0 = keep forever */
	int64_t		 upkeep_ms;	/* 0: AUDIT_UPKEEP_MS (tests set it) */
	int		 busy_ms;	/* 0: AUDIT_BUSY_MS (tests set it) */
};

enum audit_result {
	AUDIT_OPENED,		/* a new download, counted */
	AUDIT_JOINED,		/* the client's open download */
	AUDIT_LIMIT,		/* max_downloads reached: 410 */
	AUDIT_FAILED		/* the database refused: logged */
};

struct audit_writer;

int	audit_migrate(const char *path, int *migrated, char *err,
	    size_t errsz);
int	audit_prepare(const char *path, char *err, size_t errsz);
struct audit_writer *audit_writer_open(const char *path,
	    const struct audit_settings *, char *err, size_t errsz);
void	audit_writer_flush(struct audit_writer *);
void	audit_writer_close(struct audit_writer *);
enum audit_result audit_begin(struct audit_writer *,
	    const struct audit_entry *, struct audit_ticket *);
void	audit_cancel(struct audit_writer *, const struct audit_ticket *);
void	audit_end(struct audit_writer *, const struct audit_ticket *,
	    const struct audit_final *);
int64_t	audit_prune(const char *path, int64_t before, char *err,
	    size_t errsz);
int	audit_vacuum(const char *path, char *err, size_t errsz);

#endif
