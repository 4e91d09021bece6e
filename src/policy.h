/*
 * policy: may this client have this job now? Pure: job, client facts and the
 * current time in; an HTTP status and a reason out.
 */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include <stdint.h>

struct job;

#define POLICY_RETRY_AFTER	30	/* seconds, for 409 while not done */

struct policy_client {
	const char	*remote_user;	/* "" or NULL: not authenticated */
	int		 token_ok;	/* job needs no token, or it matched */
};

int	policy_decide(const struct job *, const struct policy_client *,
	    int64_t now, const char **why);
int	policy_limit_reached(int64_t max_downloads, int64_t counted);

#endif
