/*
 * test_paths: the state database's default path (src/paths.c), which
 * sluice's config and sluicectl both derive from --db.
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
	static const struct {
		const char	*db;
		const char	*want;
	} cases[] = {
		{ "jobs.db", "sluice-state.db" },
		{ "", "sluice-state.db" },
		{ "/srv/x/jobs.db", "/srv/x/sluice-state.db" },
		{ "/jobs.db", "/sluice-state.db" },
		{ "./jobs.db", "./sluice-state.db" },
		{ "a/b/", "a/b/sluice-state.db" },
		{ "a//jobs.db", "a//sluice-state.db" },
	};
	char	 buf[64];
	size_t	 i, need;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		expect_int(cases[i].db, "rc", paths_state_db_default(buf,
		    sizeof(buf), cases[i].db), 0);
		expect_str(cases[i].db, "path", buf, cases[i].want);
		/* Exactly fits, then one byte short. */
		need = strlen(cases[i].want) + 1;
		expect_int(cases[i].db, "exact", paths_state_db_default(buf,
		    need, cases[i].db), 0);
		expect_int(cases[i].db, "short", paths_state_db_default(buf,
		    need - 1, cases[i].db), -1);
	}
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
