/*
 * audit: the downloads trail in sluice's own state database, and the
 * atomic check-and-count behind max_downloads.
 *
 * One struct audit per request thread (its own read-write connection,
 * opened after fork). A download writes twice: a row before the first body
 * byte, and its outcome at the end.
 */
#ifndef SLUICE_AUDIT_H
#define SLUICE_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct sqlite3;
struct sqlite3_stmt;

#define AUDIT_BUSY_MS		1000	/* then the insert fails: server.c */
#define AUDIT_BUSY_STEP_US	50	/* between tries for the write lock */

struct audit {
	struct sqlite3		*db;
	struct sqlite3_stmt	*count;
	struct sqlite3_stmt	*insert;
	struct sqlite3_stmt	*finish;
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

enum audit_result {
	AUDIT_OK,
	AUDIT_LIMIT,		/* max_downloads reached: 410 */
	AUDIT_FAILED		/* the database refused: logged */
};

int	audit_prepare(const char *path, char *err, size_t errsz);
int	audit_open(struct audit *, const char *path, char *err, size_t errsz);
void	audit_close(struct audit *);
void	audit_checkpoint(struct audit *);
int	audit_close_lost(const char *path, pid_t self);
enum audit_result audit_begin(struct audit *, const struct audit_entry *,
	    int64_t max_downloads, int64_t *row);
void	audit_end(struct audit *, int64_t row, int64_t bytes,
	    int64_t duration_ms, const char *outcome);

#endif
