/*
 * reopen: notice that a path now names another file than the one held
 * open (an exporter published a new jobs database with mv, an operator
 * moved the export root away and made a new one), cheaply: a stat of the
 * path at most every REOPEN_CHECK_MS, compared by device and inode.
 */
#ifndef SLUICE_REOPEN_H
#define SLUICE_REOPEN_H

#include <stdatomic.h>
#include <stdint.h>

struct stat;

#define REOPEN_CHECK_MS	100	/* per thread: at most one stat per this */

/* The file held open, and when its path is looked at next. */
struct reopen_id {
	uint64_t	 dev;
	uint64_t	 ino;
	int64_t		 next_ms;	/* CLOCK_MONOTONIC */
};

void	reopen_id_set(struct reopen_id *, const struct stat *);
int	reopen_changed(struct reopen_id *, const char *path);
void	reopen_log_once(_Atomic uint64_t *last, const struct reopen_id *,
	    const char *event, const char *path);
void	reopen_log_failed(_Atomic int64_t *last, const char *event,
	    const char *err);

#endif
