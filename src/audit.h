/*
 * audit: the downloads trail in sluice's own state database, and the
 * atomic check-and-count behind max_downloads.
 *
 * One writer per worker process (struct audit_writer): one read-write
 * connection, opened after fork, on which the request threads commit what
 * they queue, many downloads per transaction (group commit). A request
 * thread waits for the commit that holds its row before the first body
 * byte (audit_begin); the outcome at the end (audit_end) is queued without
 * waiting and lands in the next commit.
 */
#ifndef SLUICE_AUDIT_H
#define SLUICE_AUDIT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct sqlite3;
struct sqlite3_stmt;

#define AUDIT_BUSY_MS		1000	/* then the insert fails: server.c */
#define AUDIT_BUSY_STEP_US	50	/* between tries for the write lock */
#define AUDIT_QUEUE_MAX		64	/* queued records; then callers wait */

/* One connection and its statements (the writer's, or a checkpointer's). */
struct audit {
	struct sqlite3		*db;
	struct sqlite3_stmt	*begin;		/* BEGIN IMMEDIATE */
	struct sqlite3_stmt	*commit;
	struct sqlite3_stmt	*count;
	struct sqlite3_stmt	*insert;
	struct sqlite3_stmt	*finish;
	struct sqlite3_stmt	*cancel;
	struct timespec		 busy_start;	/* of the current lock wait */
};

/* What is known before the first body byte. */
struct audit_entry {
	const char	*job_id;
	const char	*remote_addr;	/* "" = unknown */
	const char	*remote_user;	/* "" = none */
	int64_t		 started_at;
	int64_t		 range_start;
	int64_t		 range_end;
	int		 status;
	int		 counts;
};

/* What is known once the response has ended. */
struct audit_final {
	int		 status;
	int		 counts;
	int64_t		 range_start;
	int64_t		 range_end;
	int64_t		 bytes;
	int64_t		 duration_ms;
	const char	*outcome;	/* a string constant */
};

enum audit_result {
	AUDIT_OK,
	AUDIT_LIMIT,		/* max_downloads reached: 410 */
	AUDIT_FAILED		/* the database refused: logged */
};

/*
 * A queued record. A begin points at its caller's entry and result, which
 * stay valid because the caller waits until the record is committed
 * (done). An end carries its values.
 */
struct audit_record {
	const struct audit_entry *entry;	/* NULL: an end */
	int64_t			 max_downloads;
	enum audit_result	*result;
	int64_t			*row;
	int			*done;
	int64_t			 end_row;
	int			 cancel;	/* an end that deletes the row */
	struct audit_final	 fin;
};

/* The per-process writer: a bounded queue, committed one batch at a time. */
struct audit_writer {
	struct audit		 db;		/* by the leader, outside mu */
	pid_t			 pid;		/* recorded in each row */
	pthread_mutex_t		 mu;		/* guards all below */
	pthread_cond_t		 committed;	/* a batch ended */
	struct audit_record	 q[AUDIT_QUEUE_MAX];
	size_t			 head, len;
	int			 committing;	/* a leader holds db */
};

int	audit_prepare(const char *path, char *err, size_t errsz);
int	audit_open(struct audit *, const char *path, char *err, size_t errsz);
void	audit_close(struct audit *);
void	audit_checkpoint(struct audit *);
int	audit_close_lost(const char *path, pid_t self);
int	audit_writer_open(struct audit_writer *, const char *path,
	    char *err, size_t errsz);
void	audit_writer_flush(struct audit_writer *);
void	audit_writer_close(struct audit_writer *);
enum audit_result audit_begin(struct audit_writer *,
	    const struct audit_entry *, int64_t max_downloads, int64_t *row);
void	audit_cancel(struct audit_writer *, int64_t row);
void	audit_end(struct audit_writer *, int64_t row,
	    const struct audit_final *);

#endif
