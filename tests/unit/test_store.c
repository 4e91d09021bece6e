/*
 * test_store: which backend a --db or --state-db names (src/store.c),
 * and that no password survives into a message, as tables.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"
#include "store.h"

struct is_case {
	const char	*spec;
	int		 pg;
};

static const struct is_case is_cases[] = {
	{ "postgresql:///sluice?host=/run/pg", 1 },
	{ "postgres://u:pw@db.example/sluice", 1 },
	{ "host=/run/pg dbname=sluice", 1 },
	{ "dbname=sluice", 1 },
	{ "service=sluice", 1 },
	{ "/var/lib/sluice/state.db", 0 },
	{ "state.db", 0 },
	{ "./host=x.db", 0 },
	{ "Host=x", 0 },		/* keywords are lower case */
	{ "=x", 0 },
	{ "", 0 },
	{ "postgresql:", 0 },
	{ "jobs.db?mode=ro", 0 },
};

static void
test_is_pg(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(is_cases) / sizeof(is_cases[0]); i++) {
		if (store_is_pg(is_cases[i].spec) != is_cases[i].pg)
			fail_msg("store_is_pg(\"%s\") != %d", is_cases[i].spec,
			    is_cases[i].pg);
	}
	assert_int_equal(store_is_pg(NULL), 0);
}

struct describe_case {
	const char	*spec;
	const char	*want;
};

static const struct describe_case describe_cases[] = {
	{ "postgresql:///sluice?host=/run/pg", "postgresql:///sluice?host=/run/pg" },
	{ "postgres://u:s3cret@db/sluice", "postgres://u:***@db/sluice" },
	{ "postgresql://u@db:5432/sluice", "postgresql://u@db:5432/sluice" },
	{ "postgresql://db/sluice?user=u&password=s3cret&sslmode=require",
	    "postgresql://db/sluice?user=u&password=***&sslmode=require" },
	{ "host=db password=s3cret dbname=x", "host=db password=*** dbname=x" },
	{ "host=db password='s3 \\'cret' dbname=x",
	    "host=db password=*** dbname=x" },
	{ "password=a password=b", "password=*** password=***" },
	{ "/var/lib/sluice/state.db", "/var/lib/sluice/state.db" },
};

static void
test_describe(void **state)
{
	char	 buf[256], small[12];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(describe_cases) / sizeof(describe_cases[0]);
	    i++) {
		const char *got = store_describe(describe_cases[i].spec, buf,
		    sizeof(buf));

		if (strcmp(got, describe_cases[i].want) != 0)
			fail_msg("describe(\"%s\") = \"%s\", want \"%s\"",
			    describe_cases[i].spec, got, describe_cases[i].want);
		assert_null(strstr(got, "s3"));
	}
	/* Cut to fit, and still without the password. */
	store_describe("password=s3cretsecret", small, sizeof(small));
	assert_null(strstr(small, "s3c"));
	assert_true(strlen(small) < sizeof(small));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_pg),
		cmocka_unit_test(test_describe),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
