/*
 * test_spans: a download's covered ranges (src/spans.c), as tables: each
 * row starts from a text form, adds ranges in order, and must end with
 * the text form and the bytes covered it names. Merging (overlap,
 * touching, swallowing several), order, the SPANS_MAX bound (the smallest
 * range goes, so coverage never overstates), and malformed text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"
#include "spans.h"

struct spans_case {
	const char	*name;
	const char	*from;
	int64_t		 add[4][2];	/* first, last; first -1 ends */
	int		 parse_rc;
	const char	*want;
	int64_t		 covered;
};

#define END	{ -1, -1 }

static const struct spans_case cases[] = {
	{ "empty", "", { END }, 0, "", 0 },
	{ "one", "", { { 0, 1023 }, END }, 0, "0-1023", 1024 },
	{ "one byte", "", { { 5, 5 }, END }, 0, "5-5", 1 },
	{ "the same twice", "", { { 0, 9 }, { 0, 9 }, END }, 0, "0-9", 10 },
	{ "touching after", "", { { 0, 9 }, { 10, 19 }, END }, 0, "0-19", 20 },
	{ "touching before", "", { { 10, 19 }, { 0, 9 }, END }, 0, "0-19",
	    20 },
	{ "overlap", "", { { 0, 9 }, { 5, 14 }, END }, 0, "0-14", 15 },
	{ "inside", "", { { 0, 99 }, { 10, 19 }, END }, 0, "0-99", 100 },
	{ "around", "", { { 10, 19 }, { 0, 99 }, END }, 0, "0-99", 100 },
	{ "gap kept", "", { { 0, 9 }, { 20, 29 }, END }, 0, "0-9,20-29", 20 },
	{ "sorted", "", { { 20, 29 }, { 0, 9 }, END }, 0, "0-9,20-29", 20 },
	{ "fills a gap", "0-9,20-29", { { 10, 19 }, END }, 0, "0-29", 30 },
	{ "swallows three", "0-9,20-29,40-49,60-69", { { 5, 45 }, END }, 0,
	    "0-49,60-69", 60 },
	{ "between", "0-9,40-49", { { 20, 29 }, END }, 0, "0-9,20-29,40-49",
	    30 },
	{ "reversed adds nothing", "0-9", { { 9, 0 }, END }, 0, "0-9", 10 },
	{ "negative adds nothing", "0-9", { { -2, 5 }, END }, 0, "0-9", 10 },
	{ "int64 edge", "", { { 0, INT64_MAX - 1 }, END }, 0,
	    "0-9223372036854775806", INT64_MAX },
	{ "parse unsorted", "20-29,0-9", { END }, 0, "0-9,20-29", 20 },
	{ "parse overlapping", "0-9,5-14", { END }, 0, "0-14", 15 },
	{ "bad: junk", "x", { END }, -1, "", 0 },
	{ "bad: reversed", "9-0", { END }, -1, "", 0 },
	{ "bad: open", "0-", { END }, -1, "", 0 },
	{ "bad: sign", "-1-5", { END }, -1, "", 0 },
	{ "bad: trailing comma", "0-9,", { END }, -1, "", 0 },
	{ "bad: space", "0-9, 20-29", { END }, -1, "", 0 },
	{ "bad: overflow", "0-99999999999999999999", { END }, -1, "", 0 },
};

static void
test_table(void **state)
{
	struct spans	 s;
	char		 buf[SPANS_TEXT_SIZE];
	size_t		 i, k;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		const struct spans_case *c = &cases[i];

		expect_int(c->name, "parse", spans_parse(c->from, &s),
		    c->parse_rc);
		for (k = 0; k < 4 && c->add[k][0] != -1; k++)
			spans_add(&s, c->add[k][0], c->add[k][1]);
		expect_int(c->name, "format", spans_format(&s, buf,
		    sizeof(buf)), 0);
		expect_str(c->name, "text", buf, c->want);
		expect_int(c->name, "covered", spans_covered(&s), c->covered);
	}
	end_cases();
}

/*
 * SPANS_MAX ranges of 10 bytes with gaps, and one of 2 bytes: adding a
 * 33rd range of 5 bytes drops the 2-byte one; adding one of 1 byte drops
 * nothing (it is the smallest). The text of the full list fits.
 */
static void
test_bound(void **state)
{
	struct spans	 s;
	char		 buf[SPANS_TEXT_SIZE];
	int64_t		 before;
	size_t		 i;

	(void)state;
	s.n = 0;
	spans_add(&s, 0, 1);
	for (i = 1; i < SPANS_MAX; i++)
		spans_add(&s, (int64_t)i * 100, (int64_t)i * 100 + 9);
	assert_int_equal(s.n, SPANS_MAX);
	before = spans_covered(&s);
	spans_add(&s, 50, 50);
	assert_int_equal(s.n, SPANS_MAX);
	assert_int_equal(spans_covered(&s), before);
	spans_add(&s, 50, 54);
	assert_int_equal(s.n, SPANS_MAX);
	assert_int_equal(spans_covered(&s), before - 2 + 5);
	assert_int_equal(s.first[0], 50);
	assert_int_equal(s.last[0], 54);
	for (i = 1; i < s.n; i++)
		assert_true(s.first[i] > s.last[i - 1] + 1);
	/* Merging never needs room: a range touching one kept still joins. */
	spans_add(&s, 110, 150);
	assert_int_equal(s.n, SPANS_MAX);
	/* The widest text form fits the buffer. */
	s.n = 0;
	for (i = 0; i < SPANS_MAX; i++)
		spans_add(&s, INT64_MAX / 2 + (int64_t)i * 1000000000000000LL,
		    INT64_MAX / 2 + (int64_t)i * 1000000000000000LL + 7);
	assert_int_equal(s.n, SPANS_MAX);
	assert_int_equal(spans_format(&s, buf, sizeof(buf)), 0);
	assert_int_equal(spans_format(&s, buf, 10), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_bound),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
