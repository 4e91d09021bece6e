/*
 * fault: the counters of fault.h and the SQLite VFS that fails a
 * database's I/O. Only in build/fault/sluice (see the Makefile); nothing
 * here runs in the release or the asan build.
 *
 * Counting: one counter per point, shared by the worker's threads. A
 * thread that runs the state database's upkeep (checkpoints, closing dead
 * workers' rows, retention) mutes its counting, so that a download's
 * calls come out the same from one run to the next whatever the upkeep
 * tick does meanwhile; the commits of the trail's records are counted.
 *
 * The VFS ("sluice-fault") is registered as the default and passes every
 * call to "unix". A file of the jobs or of the state database (the
 * database itself, its -wal or -journal; told apart by the names given
 * to fault_init, made full by unix's xFullPathname as SQLite does) is
 * counted at each xRead, xWrite, xTruncate, xSync and xFileSize, which
 * fail with the matching SQLITE_IOERR_* when their turn comes.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "fault.h"
#include "log.h"
#include "store.h"

#define FAULT_PATH_MAX	4096

static const char *const fault_names[FAULT_NPOINTS] = {
	"openat2", "pread", "fcgi_write", "sqlite_jobs", "sqlite_state"
};

static atomic_long	 fault_calls[FAULT_NPOINTS];
static atomic_int	 fault_armed;
static atomic_int	 fault_fired;
static int		 fault_point = -1;	/* the one to fail; -1: none */
static long		 fault_at;		/* at its n-th call */
static _Thread_local int fault_muted;

static char		 fault_db[2][FAULT_PATH_MAX];	/* jobs, state */
static sqlite3_vfs	*fault_unix;

/* A file as the shim sees it: its point, then unix's own file. */
struct fault_file {
	sqlite3_file	 base;
	int		 point;		/* -1: not counted */
	sqlite3_file	*real;		/* just after this struct */
};

/*
 * Count a call of p, made by this thread; 1 when it is the one to fail
 * (logged), else 0.
 */
int
fault_hit(enum fault_point p)
{
	long	 n;

	if (!atomic_load(&fault_armed) || fault_muted)
		return (0);
	n = atomic_fetch_add(&fault_calls[p], 1) + 1;
	if ((int)p != fault_point || n != fault_at)
		return (0);
	atomic_store(&fault_fired, 1);
	log_warnx("event=fault_injected point=%s call=%ld", fault_names[p], n);
	return (1);
}

/* Count from now on (a worker's first request). */
void
fault_arm(void)
{
	atomic_store(&fault_armed, 1);
}

/* Stop (on) or resume counting this thread's calls. */
void
fault_mute(int on)
{
	fault_muted = on;
}

/* One line with every point's count, and whether the fault fired. */
void
fault_report(void)
{
	log_info("event=fault_counts openat2=%ld pread=%ld fcgi_write=%ld "
	    "sqlite_jobs=%ld sqlite_state=%ld fault=%s:%ld fired=%d",
	    atomic_load(&fault_calls[FAULT_OPENAT2]),
	    atomic_load(&fault_calls[FAULT_PREAD]),
	    atomic_load(&fault_calls[FAULT_FCGI_WRITE]),
	    atomic_load(&fault_calls[FAULT_SQLITE_JOBS]),
	    atomic_load(&fault_calls[FAULT_SQLITE_STATE]),
	    fault_point >= 0 ? fault_names[fault_point] : "none", fault_at,
	    atomic_load(&fault_fired));
}

/* A database file's point by its full name (the database or its -wal,
 * -journal), or -1. */
static int
fault_classify(const char *name)
{
	static const char *const sfx[] = { "", "-wal", "-journal" };
	size_t	 len, i, k;

	if (name == NULL)
		return (-1);
	for (k = 0; k < 2; k++) {
		len = strlen(fault_db[k]);
		if (len == 0 || strncmp(name, fault_db[k], len) != 0)
			continue;
		for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
			if (strcmp(name + len, sfx[i]) == 0)
				return (k == 0 ? FAULT_SQLITE_JOBS :
				    FAULT_SQLITE_STATE);
	}
	return (-1);
}

#define REAL(f)	(((struct fault_file *)(f))->real)
#define POINT(f) (((struct fault_file *)(f))->point)
#define TURN(f)	(POINT(f) >= 0 && fault_hit((enum fault_point)POINT(f)))

static int
fault_close(sqlite3_file *f)
{
	return (REAL(f)->pMethods->xClose(REAL(f)));
}

static int
fault_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	if (TURN(f))
		return (SQLITE_IOERR_READ);
	return (REAL(f)->pMethods->xRead(REAL(f), buf, n, off));
}

static int
fault_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	if (TURN(f))
		return (SQLITE_IOERR_WRITE);
	return (REAL(f)->pMethods->xWrite(REAL(f), buf, n, off));
}

static int
fault_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	if (TURN(f))
		return (SQLITE_IOERR_TRUNCATE);
	return (REAL(f)->pMethods->xTruncate(REAL(f), size));
}

static int
fault_sync(sqlite3_file *f, int flags)
{
	if (TURN(f))
		return (SQLITE_IOERR_FSYNC);
	return (REAL(f)->pMethods->xSync(REAL(f), flags));
}

static int
fault_size(sqlite3_file *f, sqlite3_int64 *size)
{
	if (TURN(f))
		return (SQLITE_IOERR_FSTAT);
	return (REAL(f)->pMethods->xFileSize(REAL(f), size));
}

/* The rest are passed on as they are. */
static int
fault_lock(sqlite3_file *f, int l)
{
	return (REAL(f)->pMethods->xLock(REAL(f), l));
}

static int
fault_unlock(sqlite3_file *f, int l)
{
	return (REAL(f)->pMethods->xUnlock(REAL(f), l));
}

static int
fault_reserved(sqlite3_file *f, int *out)
{
	return (REAL(f)->pMethods->xCheckReservedLock(REAL(f), out));
}

static int
fault_fcntl(sqlite3_file *f, int op, void *arg)
{
	return (REAL(f)->pMethods->xFileControl(REAL(f), op, arg));
}

static int
fault_sector(sqlite3_file *f)
{
	return (REAL(f)->pMethods->xSectorSize(REAL(f)));
}

static int
fault_devchar(sqlite3_file *f)
{
	return (REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)));
}

static int
fault_shm_map(sqlite3_file *f, int pg, int pgsz, int extend,
    void volatile **p)
{
	return (REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, p));
}

static int
fault_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return (REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags));
}

static void
fault_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
fault_shm_unmap(sqlite3_file *f, int del)
{
	return (REAL(f)->pMethods->xShmUnmap(REAL(f), del));
}

static int
fault_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
	return (REAL(f)->pMethods->xFetch(REAL(f), off, n, p));
}

static int
fault_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return (REAL(f)->pMethods->xUnfetch(REAL(f), off, p));
}

/* One table per version of unix's, which only ever offers 1 to 3. */
static sqlite3_io_methods fault_methods[3];

static void
fault_methods_init(void)
{
	static const sqlite3_io_methods m = {
		3, fault_close, fault_read, fault_write, fault_truncate,
		fault_sync, fault_size, fault_lock, fault_unlock,
		fault_reserved, fault_fcntl, fault_sector, fault_devchar,
		fault_shm_map, fault_shm_lock, fault_shm_barrier,
		fault_shm_unmap, fault_fetch, fault_unfetch
	};
	int	 i;

	for (i = 0; i < 3; i++) {
		fault_methods[i] = m;
		fault_methods[i].iVersion = i + 1;
	}
}

static int
fault_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out)
{
	struct fault_file *ff = (struct fault_file *)f;
	int	 rc, v;

	(void)vfs;
	ff->real = (sqlite3_file *)(ff + 1);
	ff->point = fault_classify(name);
	f->pMethods = NULL;
	rc = fault_unix->xOpen(fault_unix, name, ff->real, flags, out);
	if (ff->real->pMethods == NULL)
		return (rc);
	v = ff->real->pMethods->iVersion;
	f->pMethods = &fault_methods[(v < 1 ? 1 : v > 3 ? 3 : v) - 1];
	return (rc);
}

static int
fault_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	(void)vfs;
	return (fault_unix->xDelete(fault_unix, name, sync));
}

static int
fault_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return (fault_unix->xAccess(fault_unix, name, flags, out));
}

static int
fault_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return (fault_unix->xFullPathname(fault_unix, name, n, out));
}

static int
fault_random(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return (fault_unix->xRandomness(fault_unix, n, out));
}

static int
fault_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return (fault_unix->xSleep(fault_unix, us));
}

static int
fault_time(sqlite3_vfs *vfs, double *t)
{
	(void)vfs;
	return (fault_unix->xCurrentTime(fault_unix, t));
}

static int
fault_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return (fault_unix->xGetLastError(fault_unix, n, out));
}

static int
fault_time64(sqlite3_vfs *vfs, sqlite3_int64 *t)
{
	(void)vfs;
	return (fault_unix->xCurrentTimeInt64(fault_unix, t));
}

static sqlite3_vfs fault_vfs = {
	2, 0, 0, NULL, "sluice-fault", NULL, fault_open, fault_delete,
	fault_access, fault_fullpath, NULL, NULL, NULL, NULL, fault_random,
	fault_sleep, fault_time, fault_lasterr, fault_time64,
	NULL, NULL, NULL
};

/* SLUICE_FAULT's value, "<point>:<n>" (n >= 1), into fault_point/at. */
static int
fault_parse(const char *v, char *err, size_t errsz)
{
	const char	*colon = strchr(v, ':');
	char		*end;
	size_t		 i, len;

	len = colon != NULL ? (size_t)(colon - v) : 0;
	for (i = 0; colon != NULL && i < FAULT_NPOINTS; i++)
		if (strlen(fault_names[i]) == len &&
		    strncmp(v, fault_names[i], len) == 0)
			break;
	if (colon == NULL || i == FAULT_NPOINTS) {
		snprintf(err, errsz, "SLUICE_FAULT=%s: want <point>:<n>, the "
		    "point one of openat2, pread, fcgi_write, sqlite_jobs, "
		    "sqlite_state", v);
		return (-1);
	}
	errno = 0;
	fault_at = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || fault_at < 1) {
		snprintf(err, errsz, "SLUICE_FAULT=%s: n must be 1 or more", v);
		return (-1);
	}
	fault_point = (int)i;
	return (0);
}

/* Database name path made full by unix, as SQLite makes it, into out. */
static int
fault_fullname(const char *path, char *out, char *err, size_t errsz)
{
	out[0] = '\0';
	if (path[0] == '\0' || store_is_pg(path))
		return (0);	/* no file: nothing to count */
	/* SQLITE_OK_SYMLINK (a symlink resolved) is an OK too. */
	if ((fault_unix->xFullPathname(fault_unix, path, FAULT_PATH_MAX, out) &
	    0xff) != SQLITE_OK) {
		snprintf(err, errsz, "fault: full name of %s", path);
		return (-1);
	}
	return (0);
}

/*
 * Startup, before any database is opened: read SLUICE_FAULT and put the
 * VFS in front of unix, for the jobs database jobs_db and the state
 * database state_db (either may be a PostgreSQL connection string: then
 * not counted). Returns 0, or -1 with a sentence in err.
 */
int
fault_init(const char *jobs_db, const char *state_db, char *err,
    size_t errsz)
{
	const char	*v = getenv("SLUICE_FAULT");
	int		 i;

	if (v != NULL && v[0] != '\0' && fault_parse(v, err, errsz) == -1)
		return (-1);
	for (i = 0; i < FAULT_NPOINTS; i++)
		atomic_init(&fault_calls[i], 0);
	if ((fault_unix = sqlite3_vfs_find("unix")) == NULL) {
		snprintf(err, errsz, "fault: no unix VFS");
		return (-1);
	}
	if (fault_fullname(jobs_db, fault_db[0], err, errsz) == -1 ||
	    fault_fullname(state_db, fault_db[1], err, errsz) == -1)
		return (-1);
	fault_methods_init();
	fault_vfs.szOsFile = (int)sizeof(struct fault_file) +
	    fault_unix->szOsFile;
	fault_vfs.mxPathname = fault_unix->mxPathname;
	if (sqlite3_vfs_register(&fault_vfs, 1) != SQLITE_OK) {
		snprintf(err, errsz, "fault: cannot register the VFS");
		return (-1);
	}
	return (0);
}
