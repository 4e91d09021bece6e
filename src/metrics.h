/*
 * metrics: the pool's figures for Prometheus (--metrics-path), in one
 * block of shared memory that the supervisor maps before it forks, so
 * that every worker adds to the same counters and whichever worker gets
 * the scrape answers for all of them. The hooks are relaxed atomic adds,
 * and do nothing until metrics_init has run (--metrics-path unset, and in
 * sluicectl, which links audit.c).
 */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* What a job lookup found (jobstore_find's result). */
enum metrics_lookup {
	METRICS_LOOKUP_FOUND,
	METRICS_LOOKUP_NOT_FOUND,
	METRICS_LOOKUP_BUSY,
	METRICS_LOOKUP_ERROR,
	METRICS_LOOKUP_N
};

/* The text exposition fits this (make test checks it with room to spare). */
#define METRICS_TEXT_MAX	16384

int	 metrics_init(void);
int	 metrics_on(void);
void	 metrics_inflight(int delta);
void	 metrics_response(int status, const char *outcome, int64_t bytes,
	    double ttfb, double duration, int opened);
void	 metrics_lookup(enum metrics_lookup, double seconds);
void	 metrics_audit_batch(int ok);
void	 metrics_worker_restart(void);
long	 metrics_render(char *dst, size_t sz);

#endif
