/*
 * policy: the access and state checks of the contract, in its order:
 * token (404, indistinguishable from an unknown id), owner (403), then the
 * job's state (409 while pending or running; 410 when failed, revoked or
 * expired), then the row's own sanity (500: a done job must name its file
 * and its size, and a limit is never negative). What a GET does to the
 * job's downloads (join the client's open one, open one, or 410 at the
 * limit) is decided here too (policy_download), inside the state
 * database's transaction that looks, counts and records atomically.
 *
 * Pure: no system calls, no allocation, no globals; the time is passed in.
 */
#include <stddef.h>
#include <string.h>

#include "text.h"
#include "job.h"
#include "policy.h"

/*
 * Does the client's token match the job's? The row holds only the hex
 * SHA-256 of the secret (checked as hex by jobstore); the comparison
 * touches every byte whatever the first difference, so its time says
 * nothing about the token.
 */
static int
policy_token_ok(const struct job *job, const unsigned char *got)
{
	unsigned char	 diff = 0;
	int		 hi, lo;
	size_t		 i;

	if (!job->has_token)
		return (1);
	if (got == NULL)
		return (0);
	for (i = 0; i < POLICY_DIGEST_LEN; i++) {
		hi = text_hexval((unsigned char)job->token_sha256[2 * i]);
		lo = text_hexval((unsigned char)job->token_sha256[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return (0);
		diff |= (unsigned char)(((hi << 4) | lo) ^ got[i]);
	}
	return (diff == 0);
}

/* The job's state: 0 when done and not expired, else the status. */
static int
policy_state(const struct job *job, int64_t now, const char **why)
{
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
	return (0);
}

/* The row itself: 0 when it can be served, else 500. */
static int
policy_row(const struct job *job, const char **why)
{
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
	/* A negative limit is a bad row, never "unlimited". */
	if (job->has_max_downloads && job->max_downloads < 0) {
		*why = "max_downloads";
		return (500);
	}
	return (0);
}

/*
 * Checks 3 (token) to 5 (state) of the contract for a job that was found,
 * less the limit, which needs the downloads state (policy_limit_reached).
 * *why gets a string constant naming the reason, for the log. Returns 0
 * when the file may be served, else the HTTP status to answer with.
 */
int
policy_access(const struct job *job, const struct policy_client *c,
    int64_t now, const char **why)
{
	const char	*user = c->remote_user != NULL ? c->remote_user : "";
	int		 status;

	if (!policy_token_ok(job, c->token_sha256)) {
		*why = "token";
		return (404);
	}
	if (job->has_owner && (user[0] == '\0' ||
	    strcmp(user, job->owner) != 0)) {
		*why = "owner";
		return (403);
	}
	if ((status = policy_state(job, now, why)) != 0 ||
	    (status = policy_row(job, why)) != 0)
		return (status);
	*why = "ok";
	return (0);
}

/* The job's download limit, or -1 when it has none. */
int64_t
policy_limit(const struct job *job)
{
	return (job->has_max_downloads ? job->max_downloads : -1);
}

/*
 * Is a client's download still open, so that a new response joins it?
 * While a response of it is in flight, and for `window` seconds after the
 * last one ended (last_at). A window of 0 closes it as soon as nothing is
 * in flight.
 */
int
policy_download_open(int64_t last_at, int in_flight, int64_t now,
    int64_t window)
{
	if (in_flight)
		return (1);
	/* now - window, without overflow for any window >= 0. */
	return (window >= 0 && last_at >= now - (now < INT64_MIN + window ?
	    now - INT64_MIN : window));
}

/*
 * A GET that would send the file: does it join the client's open download
 * (has_open), open a new one, or is the job at its limit (-1: none) with
 * `opened` downloads already (410)? A client with an open download is
 * served even at the limit: its resumes and segments are that download.
 */
enum policy_download
policy_download(int has_open, int64_t max_downloads, int64_t opened)
{
	if (has_open)
		return (POLICY_JOIN);
	if (policy_limit_reached(max_downloads, opened))
		return (POLICY_LIMIT);
	return (POLICY_OPEN);
}

/*
 * Given a job's limit (-1: none) and the downloads already counted
 * against it, may one more be counted? Returns 1 when the limit is
 * reached (410), 0 when not.
 */
int
policy_limit_reached(int64_t max_downloads, int64_t counted)
{
	return (max_downloads >= 0 && counted >= max_downloads);
}
