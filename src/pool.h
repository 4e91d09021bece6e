/*
 * pool: the supervisor, its worker processes, their request threads, and
 * the signals that drain them.
 */
#ifndef SLUICE_POOL_H
#define SLUICE_POOL_H

struct config;

#define POOL_TICK_MS		100	/* supervisor and drain timer */
#define POOL_QUICK_DEATH_MS	2000	/* a worker dying sooner "failed" */
#define POOL_BACKOFF_MAX_MS	10000
#define POOL_GIVE_UP		10	/* failed starts in a row, none alive */
#define POOL_KILL_GRACE		5	/* s past --drain-timeout, then KILL */

int	pool_run(const struct config *, int listen_fd, int owned, int rootfd);

#endif
