/*
 * test_paths: the state database's default path (src/paths.c), which
 * sluice's config and sluicectl both use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"
#include "paths.h"

static void
test_state_db_default(void **state)
{
	static const char want[] = "/var/lib/sluice/state.db";
	char	 buf[64];

	(void)state;
	expect_int("default", "rc", paths_state_db_default(buf, sizeof(buf)),
	    0);
	expect_str("default", "path", buf, want);
	/* Exactly fits, then one byte short. */
	expect_int("default", "exact", paths_state_db_default(buf,
	    sizeof(want)), 0);
	expect_int("default", "short", paths_state_db_default(buf,
	    sizeof(want) - 1), -1);
	end_cases();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_db_default),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
