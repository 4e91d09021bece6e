/*
 * policy: may this client have this job now? The one owner of that
 * question: the token, the owner, the job's state and expiry, the row's
 * own sanity, what counts as a download and when the limit is reached.
 * Pure: job, client facts and the current time in; a status and a reason
 * out.
 *
 * Convention, for every check on the request path: 0 means "go on", any
 * other value is the HTTP status to answer with.
 */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include <stdint.h>

struct job;

#define POLICY_RETRY_AFTER	30	/* seconds, for 409 while not done */
#define POLICY_DIGEST_LEN	32	/* SHA-256 of a token */

/* What a GET that would send the file does to the job's downloads. */
enum policy_download {
	POLICY_JOIN,		/* the client's open download */
	POLICY_OPEN,		/* a new one, counted against the limit */
	POLICY_LIMIT		/* the limit is reached: 410 */
};

struct policy_client {
	const char		*remote_user;	/* "" or NULL: none */
	/* SHA-256 of the request's ?token=, or NULL when it carries none. */
	const unsigned char	*token_sha256;
};

int	policy_access(const struct job *, const struct policy_client *,
	    int64_t now, const char **why);
int64_t	policy_limit(const struct job *);
int	policy_download_open(int64_t last_at, int in_flight, int64_t now,
	    int64_t window);
enum policy_download policy_download(int has_open, int64_t max_downloads,
	    int64_t opened);
int	policy_limit_reached(int64_t max_downloads, int64_t counted);

#endif
