/*
 * test_units: the count and duration parsers both binaries share
 * (src/units.c), as tables: every unit, the edges of int64_t, and what
 * must be refused (signs, spaces, a unit alone, unknown units, overflow).
 * A refused value must leave the output untouched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"
#include "units.h"

#define UNTOUCHED	INT64_C(-77)

struct units_case {
	const char	*in;
	int		 rc;
	int64_t		 want;	/* when rc == 0 */
};

static const struct units_case count_cases[] = {
	{ "0", 0, 0 },
	{ "7", 0, 7 },
	{ "007", 0, 7 },
	{ "1000000", 0, 1000000 },
	{ "9223372036854775807", 0, INT64_MAX },
	{ "9223372036854775808", -1, 0 },
	{ "99999999999999999999", -1, 0 },
	{ "", -1, 0 },
	{ "-1", -1, 0 },
	{ "+1", -1, 0 },
	{ " 1", -1, 0 },
	{ "1 ", -1, 0 },
	{ "1.5", -1, 0 },
	{ "0x10", -1, 0 },
	{ "1e3", -1, 0 },
	{ "12a", -1, 0 },
};

static const struct units_case duration_cases[] = {
	{ "1s", 0, 1 },
	{ "90s", 0, 90 },
	{ "0s", 0, 0 },
	{ "30m", 0, 1800 },
	{ "1h", 0, 3600 },
	{ "7d", 0, 604800 },
	{ "90d", 0, 7776000 },
	{ "2w", 0, 1209600 },
	{ "9223372036854775807s", 0, INT64_MAX },
	{ "153722867280912930m", 0, INT64_C(153722867280912930) * 60 },
	{ "153722867280912931m", -1, 0 },
	{ "15250284452471w", 0, INT64_C(15250284452471) * 604800 },
	{ "15250284452472w", -1, 0 },
	{ "99999999999999999999s", -1, 0 },
	{ "123456789012345678901s", -1, 0 },
	{ "", -1, 0 },
	{ "s", -1, 0 },
	{ "d", -1, 0 },
	{ "7", -1, 0 },
	{ "7D", -1, 0 },
	{ "7y", -1, 0 },
	{ "7ms", -1, 0 },
	{ "-7d", -1, 0 },
	{ "+7d", -1, 0 },
	{ " 7d", -1, 0 },
	{ "7 d", -1, 0 },
	{ "7d ", -1, 0 },
	{ "1.5h", -1, 0 },
	{ "off", -1, 0 },
};

static void
run(const struct units_case *tc, size_t n, int (*fn)(const char *,
    int64_t *))
{
	size_t	 i;
	int64_t	 v;
	int	 rc;

	for (i = 0; i < n; i++) {
		v = UNTOUCHED;
		rc = fn(tc[i].in, &v);
		expect_int(tc[i].in, "rc", rc, tc[i].rc);
		expect_int(tc[i].in, "value", v,
		    tc[i].rc == 0 ? tc[i].want : UNTOUCHED);
	}
	end_cases();
}

static void
test_count(void **state)
{
	(void)state;
	run(count_cases, NITEMS(count_cases), units_count_parse);
}

static void
test_duration(void **state)
{
	(void)state;
	run(duration_cases, NITEMS(duration_cases), units_duration_parse);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_duration),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
