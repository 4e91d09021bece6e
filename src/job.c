/*
 * job: the status names of export_jobs.status (README.md, "The jobs
 * database"), once. sluice reads them from a row; sluicectl checks
 * --status against them, prints them and writes them. Pure.
 */
#include <stddef.h>
#include <string.h>

#include "http_hdr.h"
#include "job.h"
#include "text.h"

_Static_assert(JOB_PATH_MAX == TEXT_PATH_MAX, "one path limit");
_Static_assert(JOB_TYPE_MAX == HTTP_TYPE_MAX, "one content type limit");

/* Indexed by enum job_status; JOB_UNKNOWN has no name in the contract. */
static const char *const job_status_names[] = {
	[JOB_PENDING] = "pending",
	[JOB_RUNNING] = "running",
	[JOB_DONE] = "done",
	[JOB_FAILED] = "failed",
	[JOB_REVOKED] = "revoked",
};

_Static_assert(sizeof(job_status_names) / sizeof(job_status_names[0]) ==
    JOB_UNKNOWN, "a name for every status of the contract");

/* The status named s (case matters), or JOB_UNKNOWN. */
enum job_status
job_status_parse(const char *s)
{
	size_t	 i;

	for (i = 0; i < JOB_UNKNOWN; i++)
		if (strcmp(s, job_status_names[i]) == 0)
			return ((enum job_status)i);
	return (JOB_UNKNOWN);
}

/* The contract's name of st, or "unknown" for JOB_UNKNOWN (never stored). */
const char *
job_status_name(enum job_status st)
{
	if ((unsigned)st >= JOB_UNKNOWN)
		return ("unknown");
	return (job_status_names[st]);
}
