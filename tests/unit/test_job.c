/*
 * test_job: the status names of src/job.c, which sluice reads from a row
 * and sluicectl checks, prints and writes: every name of the contract
 * round-trips, and nothing else is a status.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "cases.h"
#include "job.h"

static void
test_status_names(void **state)
{
	static const struct {
		const char	*name;
		enum job_status	 st;
	} cases[] = {
		{ "pending", JOB_PENDING },
		{ "running", JOB_RUNNING },
		{ "done", JOB_DONE },
		{ "failed", JOB_FAILED },
		{ "revoked", JOB_REVOKED },
	};
	static const char *const not_status[] = {
		"", "Done", "DONE", "done ", " done", "don", "doneX",
		"expired", "unknown", "revoke",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		expect_int(cases[i].name, "parse",
		    job_status_parse(cases[i].name), cases[i].st);
		expect_str(cases[i].name, "name", job_status_name(cases[i].st),
		    cases[i].name);
	}
	for (i = 0; i < NITEMS(not_status); i++)
		expect_int(not_status[i], "parse",
		    job_status_parse(not_status[i]), JOB_UNKNOWN);
	expect_str("JOB_UNKNOWN", "name", job_status_name(JOB_UNKNOWN),
	    "unknown");
	end_cases();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_names),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
