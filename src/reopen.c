/*
 * reopen: has a path been replaced under the descriptor we hold? Used by
 * jobstore (the jobs database) and server (the export root). Each request
 * thread keeps its own struct reopen_id, so nothing here is shared but
 * the "already logged" key of reopen_log_once.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "reopen.h"

static int64_t
reopen_now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return (0);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Remember st (an fstat of what we now hold open); look again soon. */
void
reopen_id_set(struct reopen_id *id, const struct stat *st)
{
	id->dev = (uint64_t)st->st_dev;
	id->ino = (uint64_t)st->st_ino;
	id->next_ms = reopen_now_ms() + REOPEN_CHECK_MS;
}

/*
 * Does path now name another file than id? Looks at most every
 * REOPEN_CHECK_MS; a path that cannot be stat'ed (moved away, not yet
 * recreated) is no change: what is open stays in use. Returns 1 or 0.
 */
int
reopen_changed(struct reopen_id *id, const char *path)
{
	struct stat	 st;
	int64_t		 now = reopen_now_ms();

	if (now < id->next_ms)
		return (0);
	id->next_ms = now + REOPEN_CHECK_MS;
	if (stat(path, &st) == -1)
		return (0);
	return ((uint64_t)st.st_dev != id->dev ||
	    (uint64_t)st.st_ino != id->ino);
}

/*
 * Log "event=<event> path=<path>" once per process for the file id names,
 * however many threads reopen it (last holds the last file logged).
 */
void
reopen_log_once(_Atomic uint64_t *last, const struct reopen_id *id,
    const char *event, const char *path)
{
	char		 q[LOG_VALUE_MAX * 4 + 8];
	uint64_t	 key = (id->dev << 40) ^ id->ino;

	if (atomic_exchange(last, key) == key)
		return;
	log_info("event=%s path=%s dev=%llu ino=%llu", event,
	    log_quote(q, sizeof(q), path), (unsigned long long)id->dev,
	    (unsigned long long)id->ino);
}

/*
 * Log "event=<event> msg=<err>" at most once a second per process (last
 * holds the second of the last line), however many threads keep failing
 * to reopen: each tries again every REOPEN_CHECK_MS.
 */
void
reopen_log_failed(_Atomic int64_t *last, const char *event, const char *err)
{
	char		 q[LOG_VALUE_MAX * 4 + 8];
	int64_t		 sec = reopen_now_ms() / 1000;

	if (atomic_exchange(last, sec) == sec)
		return;
	log_warnx("event=%s msg=%s", event, log_quote(q, sizeof(q), err));
}
