/*
 * policy: the access and state checks of the contract, in its order:
 * token (404, indistinguishable from an unknown id), owner (403), then the
 * job's state (409 while pending or running; 410 when failed, revoked or
 * expired), then the row's own sanity (500: a done job must name its file
 * and its size).
 *
 * Pure: no system calls, no allocation, no globals; the time is passed in.
 */
#include <stddef.h>
#include <string.h>

#include "job.h"
#include "policy.h"

/*
 * Decide whether the client may have the job now. *why gets a string
 * constant naming the reason, for the log. Returns 200 when the file may be
 * served, else the HTTP status to answer with.
 */
int
policy_decide(const struct job *job, const struct policy_client *c,
    int64_t now, const char **why)
{
	const char *user = c->remote_user != NULL ? c->remote_user : "";

	if (!c->token_ok) {
		*why = "token";
		return (404);
	}
	if (job->has_owner && (user[0] == '\0' ||
	    strcmp(user, job->owner) != 0)) {
		*why = "owner";
		return (403);
	}
	switch (job->status) {
	case JOB_PENDING:
		*why = "pending";
		return (409);
	case JOB_RUNNING:
		*why = "running";
		return (409);
	case JOB_FAILED:
		*why = "failed";
		return (410);
	case JOB_REVOKED:
		*why = "revoked";
		return (410);
	case JOB_DONE:
		break;
	default:
		*why = "bad_status";
		return (500);
	}
	if (job->has_expires && now >= job->expires_at) {
		*why = "expired";
		return (410);
	}
	if (job->bad_field != NULL) {
		*why = job->bad_field;
		return (500);
	}
	if (!job->has_file_path) {
		*why = "no_file_path";
		return (500);
	}
	if (!job->has_file_size) {
		*why = "no_file_size";
		return (500);
	}
	*why = "ok";
	return (200);
}

/* max_downloads: 1 when max >= 0 and counted downloads reached it. */
int
policy_limit_reached(int64_t max_downloads, int64_t counted)
{
	return (max_downloads >= 0 && counted >= max_downloads);
}
