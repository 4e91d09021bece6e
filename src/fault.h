/*
 * fault: fault injection for the tests (issue 20), built only into
 * build/fault/sluice (-DSLUICE_FAULT). In every other build each macro
 * below is a constant or nothing, so the seams cost nothing.
 *
 * SLUICE_FAULT=<point>:<n> (read once at startup) makes the n-th call of
 * that point in a worker fail, once; calls are counted from the worker's
 * first request on, and the worker logs them at exit (event=fault_counts).
 * The points: the openat2 that opens a download's file (confine.c), the
 * pread of its bytes (stream.c), the writev of FastCGI records
 * (fcgi_out.c), and the reads, writes, syncs, truncates and size queries
 * of the jobs and the state database's files (an SQLite VFS that wraps
 * "unix", fault.c).
 */
#ifndef SLUICE_FAULT_H
#define SLUICE_FAULT_H

#include <errno.h>

enum fault_point {
	FAULT_OPENAT2,
	FAULT_PREAD,
	FAULT_FCGI_WRITE,
	FAULT_SQLITE_JOBS,
	FAULT_SQLITE_STATE,
	FAULT_NPOINTS
};

#ifdef SLUICE_FAULT
int	fault_init(const char *jobs_db, const char *state_db, char *err,
	    size_t errsz);
void	fault_arm(void);
void	fault_mute(int on);
void	fault_report(void);
int	fault_hit(enum fault_point p);

#define FAULT(p)		fault_hit(p)
#define FAULT_INIT(j, s, e, n)	fault_init((j), (s), (e), (n))
#define FAULT_ARM()		fault_arm()
#define FAULT_MUTE(on)		fault_mute(on)
#define FAULT_REPORT()		fault_report()
#else
#define FAULT(p)		0
#define FAULT_INIT(j, s, e, n)	0
#define FAULT_ARM()		((void)0)
#define FAULT_MUTE(on)		((void)0)
#define FAULT_REPORT()		((void)0)
#endif

/* What an injected failure returns in place of the call: -1, errno e. */
static inline long
fault_fail(int e)
{
	errno = e;
	return (-1);
}

#endif
