/*
 * test_cond: table-driven tests of the conditional and range side of
 * src/http_cond.c and src/http_date.c (RFC 9110 §13, §14):
 * http_range_parse, http_date_parse, http_etag_match, http_decide and
 * http_starts_download.
 *
 * Every table row names its case; a failure prints that name. Rows that
 * guard bugs found and fixed are marked "Regression:".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"
#include "http_cond.h"
#include "http_date.h"

#define IGNORE	HTTP_RANGE_IGNORE
#define OK	HTTP_RANGE_OK
#define UNSAT	HTTP_RANGE_UNSATISFIABLE

#define LM	784111777LL		/* Sun, 06 Nov 1994 08:49:37 GMT */
#define NOW	1795000000LL		/* 2026-11-18 11:06:40 UTC */
#define GiB	1073741824LL

/*
 * A served span must lie inside the representation:
 * 0 <= start <= start + len - 1 < size, checked without overflow.
 */
static void
check_span(const char *tc, int64_t start, int64_t len, int64_t size)
{
	if (start < 0 || len < 1 || start >= size || len > size - start)
		case_fail(tc, "span start %lld len %lld outside size %lld",
		    (long long)start, (long long)len, (long long)size);
}

/*
 * http_range_parse (RFC 9110 §14.1, §14.2)
 */

struct range_case {
	const char	*name;
	const char	*v;
	int64_t		 size;
	enum http_range_result want;
	int64_t		 start;		/* when OK */
	int64_t		 len;		/* when OK */
};

static const struct range_case range_cases[] = {
	/* The three forms. */
	{ "a-b", "bytes=10-19", 1000, OK, 10, 10 },
	{ "a-", "bytes=10-", 1000, OK, 10, 990 },
	{ "-n", "bytes=-10", 1000, OK, 990, 10 },
	{ "a-a one byte", "bytes=999-999", 1000, OK, 999, 1 },
	{ "last byte a-", "bytes=999-", 1000, OK, 999, 1 },
	/* b clamped to size - 1. */
	{ "b = size - 1", "bytes=0-999", 1000, OK, 0, 1000 },
	{ "b = size clamps", "bytes=0-1000", 1000, OK, 0, 1000 },
	{ "b past size clamps", "bytes=500-5000", 1000, OK, 500, 500 },
	/* Suffix longer than the representation: all of it. */
	{ "-n = size", "bytes=-1000", 1000, OK, 0, 1000 },
	{ "-n > size", "bytes=-1001", 1000, OK, 0, 1000 },
	/* Unsatisfiable. */
	{ "bytes=-0", "bytes=-0", 1000, UNSAT, 0, 0 },
	{ "bytes=-00", "bytes=-00", 1000, UNSAT, 0, 0 },
	{ "start = size", "bytes=1000-", 1000, UNSAT, 0, 0 },
	{ "start = size with b", "bytes=1000-1001", 1000, UNSAT, 0, 0 },
	{ "start past size", "bytes=5000-6000", 1000, UNSAT, 0, 0 },
	/* Units. */
	{ "unknown unit", "items=0-5", 1000, IGNORE, 0, 0 },
	{ "unit prefix only", "byte=0-5", 1000, IGNORE, 0, 0 },
	{ "no unit", "0-5", 1000, IGNORE, 0, 0 },
	{ "unit BYTES", "BYTES=0-1", 1000, OK, 0, 2 },
	{ "unit Bytes", "Bytes=0-1", 1000, OK, 0, 2 },
	{ "space before =", "bytes =0-1", 1000, IGNORE, 0, 0 },
	/* More than one range: the whole file, no multipart. */
	{ "two ranges", "bytes=0-1,5-6", 1000, IGNORE, 0, 0 },
	{ "two ranges with OWS", "bytes=0-1, 5-6", 1000, IGNORE, 0, 0 },
	{ "two suffixes", "bytes=-1,-2", 1000, IGNORE, 0, 0 },
	{ "RFC 9110 multi example", "bytes=500-600,601-999", 10000, IGNORE,
	    0, 0 },
	{ "two, one unsatisfiable", "bytes=0-1,5000-", 1000, IGNORE, 0, 0 },
	/* Empty list elements. */
	{ "trailing comma", "bytes=0-1,", 1000, OK, 0, 2 },
	{ "leading comma and OWS", "bytes=, 0-1", 1000, OK, 0, 2 },
	{ "commas around", "bytes=,,0-1,,", 1000, OK, 0, 2 },
	{ "only a comma", "bytes=,", 1000, IGNORE, 0, 0 },
	{ "only commas and OWS", "bytes= , ,", 1000, IGNORE, 0, 0 },
	/* OWS around elements. */
	{ "OWS before", "bytes= 0-1", 1000, OK, 0, 2 },
	{ "OWS after", "bytes=0-1 ", 1000, OK, 0, 2 },
	{ "tabs around", "bytes=\t0-1\t", 1000, OK, 0, 2 },
	{ "OWS around comma", "bytes=0-1 , ", 1000, OK, 0, 2 },
	{ "OWS around suffix", "bytes= -5 ", 1000, OK, 995, 5 },
	/* Malformed: ignored, the whole file. */
	{ "500-100", "bytes=500-100", 1000, IGNORE, 0, 0 },
	{ "abc", "bytes=abc", 1000, IGNORE, 0, 0 },
	{ "1-2-3", "bytes=1-2-3", 1000, IGNORE, 0, 0 },
	{ "empty set", "bytes=", 1000, IGNORE, 0, 0 },
	{ "lone dash", "bytes=-", 1000, IGNORE, 0, 0 },
	{ "spaces inside", "bytes= 1 - 2", 1000, IGNORE, 0, 0 },
	{ "space before dash", "bytes=1 -2", 1000, IGNORE, 0, 0 },
	{ "space after dash", "bytes=1- 2", 1000, IGNORE, 0, 0 },
	{ "hex", "bytes=0x10-", 1000, IGNORE, 0, 0 },
	{ "plus sign", "bytes=+1-2", 1000, IGNORE, 0, 0 },
	{ "double =", "bytes==1-2", 1000, IGNORE, 0, 0 },
	{ "no dash", "bytes=5", 1000, IGNORE, 0, 0 },
	{ "negative first", "bytes=--5", 1000, IGNORE, 0, 0 },
	{ "trailing junk", "bytes=0-1x", 1000, IGNORE, 0, 0 },
	{ "semicolon", "bytes=0-1;5-6", 1000, IGNORE, 0, 0 },
	{ "empty value", "", 1000, IGNORE, 0, 0 },
	/* Overflow: numbers saturate, never wrap or go negative. */
	{ "huge last", "bytes=0-99999999999999999999999", 1000, OK, 0, 1000 },
	{ "2^64 first", "bytes=18446744073709551616-", 1000, UNSAT, 0, 0 },
	{ "INT64_MAX first", "bytes=9223372036854775807-", 1000, UNSAT, 0, 0 },
	{ "INT64_MAX + 1 first", "bytes=9223372036854775808-", 1000, UNSAT,
	    0, 0 },
	{ "INT64_MAX first, size INT64_MAX", "bytes=9223372036854775807-",
	    INT64_MAX, UNSAT, 0, 0 },
	{ "huge suffix", "bytes=-99999999999999999999", 1000, OK, 0, 1000 },
	{ "2^64 suffix", "bytes=-18446744073709551616", 1000, OK, 0, 1000 },
	{ "huge first and last", "bytes=99999999999999999999-"
	    "99999999999999999999", 1000, UNSAT, 0, 0 },
	/*
	 * On size INT64_MAX the last byte is INT64_MAX - 1, so b =
	 * INT64_MAX clamps to it: start INT64_MAX - 1, len 1.
	 */
	{ "last byte of INT64_MAX", "bytes=9223372036854775806-"
	    "9223372036854775807", INT64_MAX, OK, INT64_MAX - 1, 1 },
	{ "last two bytes of INT64_MAX", "bytes=9223372036854775805-"
	    "9223372036854775806", INT64_MAX, OK, INT64_MAX - 2, 2 },
	{ "a- on INT64_MAX", "bytes=9223372036854775805-", INT64_MAX, OK,
	    INT64_MAX - 2, 2 },
	{ "0- on INT64_MAX", "bytes=0-", INT64_MAX, OK, 0, INT64_MAX },
	{ "-n on INT64_MAX", "bytes=-2", INT64_MAX, OK, INT64_MAX - 2, 2 },
	{ "huge suffix on INT64_MAX", "bytes=-99999999999999999999",
	    INT64_MAX, OK, 0, INT64_MAX },
	/* Past 4 GiB. */
	{ "past 4 GiB", "bytes=4294967306-4294967315", 5 * GiB, OK,
	    4294967306LL, 10 },
	{ "past 4 GiB a-", "bytes=4294967306-", 5 * GiB, OK, 4294967306LL,
	    5 * GiB - 4294967306LL },
	{ "past 4 GiB -n", "bytes=-10", 5 * GiB, OK, 5 * GiB - 10, 10 },
	{ "4 GiB exactly", "bytes=4294967296-4294967296", 5 * GiB, OK,
	    4294967296LL, 1 },
	/* Empty representation. */
	{ "size 0, 0-", "bytes=0-", 0, UNSAT, 0, 0 },
	{ "size 0, 0-0", "bytes=0-0", 0, UNSAT, 0, 0 },
	{ "size 0, -5", "bytes=-5", 0, IGNORE, 0, 0 },
	{ "size 0, -0", "bytes=-0", 0, UNSAT, 0, 0 },
	/* RFC 9110 §14.1.2 examples, a 10000-byte representation. */
	{ "RFC first 500", "bytes=0-499", 10000, OK, 0, 500 },
	{ "RFC second 500", "bytes=500-999", 10000, OK, 500, 500 },
	{ "RFC final 500 suffix", "bytes=-500", 10000, OK, 9500, 500 },
	{ "RFC final 500 open", "bytes=9500-", 10000, OK, 9500, 500 },
	{ "RFC first byte", "bytes=0-0", 10000, OK, 0, 1 },
	{ "RFC last byte", "bytes=-1", 10000, OK, 9999, 1 },
	/* RFC 9110 §14.1.1: a last-pos past the end is clamped. */
	{ "RFC 0-999999 clamps", "bytes=0-999999", 10000, OK, 0, 10000 },
};

static void
check_range(const char *tc, const char *v, int64_t size,
    enum http_range_result want, int64_t wstart, int64_t wlen)
{
	enum http_range_result r;
	int64_t	 start = -7, len = -7;

	r = http_range_parse(v, size, &start, &len);
	expect_int(tc, "result", r, want);
	if (r == OK && want == OK) {
		expect_int(tc, "start", start, wstart);
		expect_int(tc, "len", len, wlen);
	}
	if (r == OK)
		check_span(tc, start, len, size);
}

static void
test_range_table(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(range_cases); i++) {
		const struct range_case *tc = &range_cases[i];

		check_range(tc->name, tc->v, tc->size, tc->want, tc->start,
		    tc->len);
	}
	end_cases();
}

/* A value longer than HTTP_RANGE_MAX is ignored; at the limit it counts. */
static void
test_range_long(void **state)
{
	char	 v[HTTP_RANGE_MAX + 2];
	size_t	 n;

	(void)state;
	/* "bytes=0-99" padded with OWS to exactly n bytes. */
	for (n = HTTP_RANGE_MAX - 1; n <= HTTP_RANGE_MAX + 1; n++) {
		char	 tc[64];

		memset(v, ' ', n);
		memcpy(v, "bytes=0-99", 10);
		v[n] = '\0';
		snprintf(tc, sizeof(tc), "OWS-padded to %zu bytes", n);
		check_range(tc, v, 1000, n > HTTP_RANGE_MAX ? IGNORE : OK, 0,
		    100);
	}
	/* A long run of empty elements. */
	memset(v, ',', sizeof(v));
	memcpy(v, "bytes=0-99", 10);
	v[HTTP_RANGE_MAX + 1] = '\0';
	check_range("commas past HTTP_RANGE_MAX", v, 1000, IGNORE, 0, 0);
	v[HTTP_RANGE_MAX] = '\0';
	check_range("commas to HTTP_RANGE_MAX", v, 1000, OK, 0, 100);
	/* A long number, past the limit. */
	memset(v, '9', sizeof(v));
	memcpy(v, "bytes=0-", 8);
	v[HTTP_RANGE_MAX + 1] = '\0';
	check_range("long digits past HTTP_RANGE_MAX", v, 1000, IGNORE, 0, 0);
	v[HTTP_RANGE_MAX] = '\0';
	check_range("long digits to HTTP_RANGE_MAX", v, 1000, OK, 0, 1000);
	end_cases();
}

/* Every small a-b, a- and -n against a model of §14.1.2. */
static void
test_range_sweep(void **state)
{
	char	 v[64], tc[96];
	int64_t	 size, a, b;

	(void)state;
	for (size = 0; size <= 12; size++)
		for (a = 0; a <= 14; a++) {
			/* bytes=a- */
			snprintf(v, sizeof(v), "bytes=%lld-", (long long)a);
			snprintf(tc, sizeof(tc), "%s size %lld", v,
			    (long long)size);
			check_range(tc, v, size, a >= size ? UNSAT : OK, a,
			    size - a);
			/* bytes=-a */
			snprintf(v, sizeof(v), "bytes=-%lld", (long long)a);
			snprintf(tc, sizeof(tc), "%s size %lld", v,
			    (long long)size);
			check_range(tc, v, size, a == 0 ? UNSAT :
			    size == 0 ? IGNORE : OK, a >= size ? 0 : size - a,
			    a >= size ? size : a);
			/* bytes=a-b */
			for (b = 0; b <= 14; b++) {
				int64_t	 last = b > size - 1 ? size - 1 : b;

				snprintf(v, sizeof(v), "bytes=%lld-%lld",
				    (long long)a, (long long)b);
				snprintf(tc, sizeof(tc), "%s size %lld", v,
				    (long long)size);
				check_range(tc, v, size, b < a ? IGNORE :
				    a >= size ? UNSAT : OK, a, last - a + 1);
			}
		}
	end_cases();
}

/*
 * http_date_parse (RFC 9110 §5.6.7)
 */

struct date_parse_case {
	const char	*name;
	const char	*s;
	int64_t		 now;
	int		 rc;
	int64_t		 t;		/* when rc == 0 */
};

static const struct date_parse_case date_parse_cases[] = {
	/* The three formats of the RFC 9110 example. */
	{ "IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", NOW, 0, LM },
	{ "RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT", NOW, 0, LM },
	{ "asctime", "Sun Nov  6 08:49:37 1994", NOW, 0, LM },
	{ "asctime two-digit day", "Sun Nov 16 08:49:37 1994", NOW, 0,
	    LM + 10 * 86400 },
	{ "IMF epoch", "Thu, 01 Jan 1970 00:00:00 GMT", NOW, 0, 0 },
	{ "IMF 9999-12-31", "Fri, 31 Dec 9999 23:59:59 GMT", NOW, 0,
	    253402300799LL },
	{ "IMF leap second 60", "Sun, 06 Nov 1994 08:49:60 GMT", NOW, 0,
	    LM + 23 },
	/* Leap years. */
	{ "2024-02-29 (leap)", "Thu, 29 Feb 2024 00:00:00 GMT", NOW, 0,
	    1709164800LL },
	{ "2000-02-29 (div by 400)", "Tue, 29 Feb 2000 00:00:00 GMT", NOW, 0,
	    951782400LL },
	{ "2023-02-29 (not leap)", "Wed, 29 Feb 2023 00:00:00 GMT", NOW, -1,
	    0 },
	{ "1900-02-29 (div by 100)", "Thu, 29 Feb 1900 00:00:00 GMT", NOW, -1,
	    0 },
	{ "2023-02-29 asctime", "Wed Feb 29 00:00:00 2023", NOW, -1, 0 },
	/*
	 * RFC 850 two-digit years: more than 50 years in the future means
	 * the previous century. now = NOW is 2026-11-18.
	 */
	{ "RFC 850 76 is 2076 (50 years ahead)",
	    "Friday, 06-Nov-76 08:49:37 GMT", NOW, 0, 3371878177LL },
	{ "RFC 850 77 is 1977 (51 years ahead)",
	    "Sunday, 06-Nov-77 08:49:37 GMT", NOW, 0, 247654177LL },
	{ "RFC 850 80 is 1980", "Thursday, 06-Nov-80 08:49:37 GMT", NOW, 0,
	    342348577LL },
	{ "RFC 850 26 is 2026", "Friday, 06-Nov-26 08:49:37 GMT", NOW, 0,
	    1793954977LL },
	{ "RFC 850 00 is 2000", "Monday, 06-Nov-00 08:49:37 GMT", NOW, 0,
	    973500577LL },
	{ "RFC 850 99 is 1999", "Saturday, 06-Nov-99 08:49:37 GMT", NOW, 0,
	    941878177LL },
	/*
	 * Regression: the current year was once taken as 1970 + now /
	 * 31556952 (an average year), off by up to about 10 hours around New
	 * Year. On 2025-12-31 20:00 UTC it says 2026, so "76" (51 years
	 * ahead of 2025) stays 2076.
	 */
	{ "RFC 850 76 on 2025-12-31 20:00 is 1976",
	    "Thursday, 01-Jan-76 00:00:00 GMT", 1767211200LL, 0,
	    189302400LL },
	/*
	 * Regression: the same, the other way: on 2024-01-01 01:00 UTC it says
	 * 2023, so "74" (2074-01-01, 49.99 years ahead) becomes 1974.
	 */
	{ "RFC 850 74 on 2024-01-01 01:00 is 2074",
	    "Monday, 01-Jan-74 00:00:00 GMT", 1704070800LL, 0,
	    3281990400LL },
	/* Rejected. */
	{ "wrong month name", "Sun, 06 Nox 1994 08:49:37 GMT", NOW, -1, 0 },
	{ "lowercase month", "Sun, 06 nov 1994 08:49:37 GMT", NOW, -1, 0 },
	{ "wrong day name", "Sux, 06 Nov 1994 08:49:37 GMT", NOW, -1, 0 },
	{ "lowercase day name", "sun, 06 Nov 1994 08:49:37 GMT", NOW, -1, 0 },
	{ "long day name in IMF", "Sunday, 06 Nov 1994 08:49:37 GMT", NOW, -1,
	    0 },
	{ "short day name in RFC 850", "Sun, 06-Nov-94 08:49:37 GMT", NOW, -1,
	    0 },
	{ "day 31 in November", "Thu, 31 Nov 1994 08:49:37 GMT", NOW, -1, 0 },
	{ "day 31 in November RFC 850", "Thursday, 31-Nov-94 08:49:37 GMT",
	    NOW, -1, 0 },
	{ "day 31 in November asctime", "Thu Nov 31 08:49:37 1994", NOW, -1,
	    0 },
	{ "day 00", "Sun, 00 Nov 1994 08:49:37 GMT", NOW, -1, 0 },
	{ "month 13 does not exist", "Sun, 06 13 1994 08:49:37 GMT", NOW, -1,
	    0 },
	{ "hour 24", "Sun, 06 Nov 1994 24:00:00 GMT", NOW, -1, 0 },
	{ "hour 24 RFC 850", "Sunday, 06-Nov-94 24:00:00 GMT", NOW, -1, 0 },
	{ "hour 24 asctime", "Sun Nov  6 24:00:00 1994", NOW, -1, 0 },
	{ "minute 60", "Sun, 06 Nov 1994 08:60:37 GMT", NOW, -1, 0 },
	{ "second 61", "Sun, 06 Nov 1994 08:49:61 GMT", NOW, -1, 0 },
	{ "missing GMT", "Sun, 06 Nov 1994 08:49:37", NOW, -1, 0 },
	{ "UTC for GMT", "Sun, 06 Nov 1994 08:49:37 UTC", NOW, -1, 0 },
	{ "lowercase gmt", "Sun, 06 Nov 1994 08:49:37 gmt", NOW, -1, 0 },
	{ "lowercase gmt RFC 850", "Sunday, 06-Nov-94 08:49:37 gmt", NOW, -1,
	    0 },
	{ "trailing space", "Sun, 06 Nov 1994 08:49:37 GMT ", NOW, -1, 0 },
	{ "leading space", " Sun, 06 Nov 1994 08:49:37 GMT", NOW, -1, 0 },
	{ "trailing space asctime", "Sun Nov  6 08:49:37 1994 ", NOW, -1, 0 },
	{ "extra chars", "Sun, 06 Nov 1994 08:49:37 GMTX", NOW, -1, 0 },
	{ "numeric zone +0000", "Sun, 06 Nov 1994 08:49:37 +0000", NOW, -1,
	    0 },
	{ "single-digit IMF day", "Sun, 6 Nov 1994 08:49:37 GMT", NOW, -1, 0 },
	{ "asctime single space, one digit", "Sun Nov 6 08:49:37 1994", NOW,
	    -1, 0 },
	{ "two-digit IMF year", "Sun, 06 Nov 94 08:49:37 GMT", NOW, -1, 0 },
	{ "missing seconds", "Sun, 06 Nov 1994 08:49 GMT", NOW, -1, 0 },
	{ "empty string", "", NOW, -1, 0 },
	{ "just a day", "Sun", NOW, -1, 0 },
	{ "number", "784111777", NOW, -1, 0 },
	{ "a date list", "Sun, 06 Nov 1994 08:49:37 GMT, "
	    "Mon, 07 Nov 1994 08:49:37 GMT", NOW, -1, 0 },
};

static void
test_date_parse(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(date_parse_cases); i++) {
		const struct date_parse_case *tc = &date_parse_cases[i];
		int64_t	 t = -12345;
		int	 rc;

		rc = http_date_parse(tc->s, tc->now, &t);
		expect_int(tc->name, "rc", rc, tc->rc);
		if (rc == 0 && tc->rc == 0)
			expect_int(tc->name, "t", t, tc->t);
	}
	end_cases();
}

static const int64_t roundtrip_times[] = {
	0, 1, 86399, 86400, LM,
	951782400LL,		/* 2000-02-29 */
	951868800LL,		/* 2000-03-01 */
	1709164800LL,		/* 2024-02-29 */
	2147483647LL, 2147483648LL,
	4102444800LL,		/* 2100-01-01 */
	4107542400LL,		/* 2100-03-01 */
	253402300799LL,		/* 9999-12-31 23:59:59 */
};

static void
check_roundtrip(int64_t t)
{
	char	 buf[HTTP_DATE_SIZE], tc[64];
	int64_t	 back = -1;

	snprintf(tc, sizeof(tc), "round trip %lld", (long long)t);
	expect_int(tc, "format", http_date_format(buf, sizeof(buf), t), 0);
	expect_int(tc, "parse", http_date_parse(buf, NOW, &back), 0);
	expect_int(tc, "t", back, t);
}

static void
test_date_roundtrip(void **state)
{
	size_t	 i;
	int64_t	 t;

	(void)state;
	for (i = 0; i < NITEMS(roundtrip_times); i++)
		check_roundtrip(roundtrip_times[i]);
	/* A sweep over every year, at odd days and seconds. */
	for (t = 0; t <= 253402300799LL; t += 37LL * 86400 + 12347)
		check_roundtrip(t);
	end_cases();
}

/*
 * http_etag_match (RFC 9110 §8.8.3, §13.1.1)
 */

struct etag_match_case {
	const char	*name;
	const char	*list;
	const char	*etag;
	int		 strong;	/* want, weak = 0 */
	int		 weak;		/* want, weak = 1 */
};

#define E	"\"abc-1\""

static const struct etag_match_case etag_match_cases[] = {
	{ "same tag", "\"abc-1\"", E, 1, 1 },
	{ "weak form of it", "W/\"abc-1\"", E, 0, 1 },
	{ "in a list", "\"x\", \"abc-1\"", E, 1, 1 },
	{ "first in a list", "\"abc-1\", \"x\"", E, 1, 1 },
	{ "list without OWS", "\"x\",\"abc-1\"", E, 1, 1 },
	{ "list with tabs", "\"x\"\t,\t\"abc-1\"", E, 1, 1 },
	{ "star", "*", E, 1, 1 },
	{ "star with OWS", " * ", E, 1, 1 },
	{ "other tag", "\"x\"", E, 0, 0 },
	{ "other weak tag", "W/\"x\"", E, 0, 0 },
	{ "prefix of it", "\"abc-\"", E, 0, 0 },
	{ "longer than it", "\"abc-12\"", E, 0, 0 },
	{ "case differs", "\"ABC-1\"", E, 0, 0 },
	{ "unquoted (malformed)", "abc-1", E, 0, 0 },
	{ "unterminated", "\"abc-1", E, 0, 0 },
	{ "space inside (malformed)", "\"ab c\"", E, 0, 0 },
	{ "DEL inside (malformed)", "\"ab\x7f" "c\"", E, 0, 0 },
	{ "empty string", "", E, 0, 0 },
	{ "only OWS", "  ", E, 0, 0 },
	{ "empty elements around", ",\"abc-1\",", E, 1, 1 },
	{ "empty elements with OWS", " , \"abc-1\" , ,", E, 1, 1 },
	{ "weak in a list", "W/\"x\", W/\"abc-1\"", E, 0, 1 },
	{ "lowercase w/ (malformed)", "w/\"abc-1\"", E, 0, 0 },
	{ "W without slash", "W\"abc-1\"", E, 0, 0 },
	{ "match then malformed", "\"abc-1\", abc", E, 0, 0 },
	{ "malformed then match", "abc, \"abc-1\"", E, 0, 0 },
	{ "no comma between", "\"x\" \"abc-1\"", E, 0, 0 },
	{ "star in a list (malformed)", "\"x\", *", E, 0, 0 },
	{ "two stars", "*, *", E, 0, 0 },
	/*
	 * RFC 9110 §8.8.3.2 table. Our tag is always strong, "1"; a row
	 * with two weak tags compares as W/"1" against "1" would.
	 */
	{ "RFC W/\"1\" vs W/\"1\"", "W/\"1\"", "\"1\"", 0, 1 },
	{ "RFC W/\"1\" vs W/\"2\"", "W/\"1\"", "\"2\"", 0, 0 },
	{ "RFC W/\"2\" vs \"1\"", "W/\"2\"", "\"1\"", 0, 0 },
	{ "RFC W/\"1\" vs \"1\"", "W/\"1\"", "\"1\"", 0, 1 },
	{ "RFC \"1\" vs \"1\"", "\"1\"", "\"1\"", 1, 1 },
	{ "\"1\" vs \"2\"", "\"1\"", "\"2\"", 0, 0 },
	{ "empty tag \"\" vs \"\"", "\"\"", "\"\"", 1, 1 },
	{ "obs-text inside", "\"\xc3\xa9\"", "\"\xc3\xa9\"", 1, 1 },
};

static void
test_etag_match(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(etag_match_cases); i++) {
		const struct etag_match_case *tc = &etag_match_cases[i];

		expect_int(tc->name, "strong (weak=0)",
		    http_etag_match(tc->list, tc->etag, 0), tc->strong);
		expect_int(tc->name, "weak (weak=1)",
		    http_etag_match(tc->list, tc->etag, 1), tc->weak);
	}
	end_cases();
}

/*
 * http_decide (RFC 9110 §13.2.2 order, §13.1, §14.2)
 * Entity: etag "e1", Last-Modified LM, 1000 bytes, now NOW.
 */

#define D_LM		"Sun, 06 Nov 1994 08:49:37 GMT"	/* = LM */
#define D_EARLIER	"Sun, 06 Nov 1994 08:49:36 GMT"	/* LM - 1 */
#define D_LATER		"Sun, 06 Nov 1994 08:49:38 GMT"	/* LM + 1 */
#define D_LM_850	"Sunday, 06-Nov-94 08:49:37 GMT"
#define D_LM_ASC	"Sun Nov  6 08:49:37 1994"
#define D_BAD		"yesterday"

struct decide_case {
	const char	*name;
	struct http_conditions c;
	int		 status;
	int64_t		 start;
	int64_t		 length;
};

/* Conditions: IM INM IMS IUS IR Range, range_allowed 1 (GET). */
#define C(im, inm, ims, ius, ir, r)	{ im, inm, ims, ius, ir, r, 1 }
#define HEAD(im, inm, ims, ius, ir, r)	{ im, inm, ims, ius, ir, r, 0 }
#define N	NULL

static const struct decide_case decide_cases[] = {
	{ "no conditions", C(N, N, N, N, N, N), 200, 0, 1000 },
	{ "no conditions, HEAD", HEAD(N, N, N, N, N, N), 200, 0, 1000 },
	/* 1. If-Match, strong comparison. */
	{ "If-Match match", C("\"e1\"", N, N, N, N, N), 200, 0, 1000 },
	{ "If-Match in a list", C("\"x\", \"e1\"", N, N, N, N, N), 200, 0,
	    1000 },
	{ "If-Match mismatch", C("\"x\"", N, N, N, N, N), 412, 0, 1000 },
	{ "If-Match *", C("*", N, N, N, N, N), 200, 0, 1000 },
	{ "If-Match W/\"e1\" (strong compare)", C("W/\"e1\"", N, N, N, N, N),
	    412, 0, 1000 },
	{ "If-Match malformed", C("e1", N, N, N, N, N), 412, 0, 1000 },
	{ "If-Match mismatch, HEAD", HEAD("\"x\"", N, N, N, N, N), 412, 0,
	    1000 },
	{ "If-Match mismatch + If-None-Match match (If-Match first)",
	    C("\"x\"", "\"e1\"", N, N, N, N), 412, 0, 1000 },
	{ "If-Match match + If-None-Match match", C("\"e1\"", "\"e1\"", N, N,
	    N, N), 304, 0, 1000 },
	/* 2. If-Unmodified-Since, only without If-Match. */
	{ "IUS earlier than LM", C(N, N, N, D_EARLIER, N, N), 412, 0, 1000 },
	{ "IUS equal to LM", C(N, N, N, D_LM, N, N), 200, 0, 1000 },
	{ "IUS later than LM", C(N, N, N, D_LATER, N, N), 200, 0, 1000 },
	{ "IUS earlier, RFC 850", C(N, N, N, "Saturday, 05-Nov-94 08:49:37 "
	    "GMT", N, N), 412, 0, 1000 },
	{ "IUS earlier, asctime", C(N, N, N, "Sat Nov  5 08:49:37 1994", N,
	    N), 412, 0, 1000 },
	{ "IUS ignored when If-Match matches", C("\"e1\"", N, N, D_EARLIER, N,
	    N), 200, 0, 1000 },
	{ "IUS ignored when If-Match is *", C("*", N, N, D_EARLIER, N, N), 200,
	    0, 1000 },
	{ "IUS unparseable, ignored", C(N, N, N, D_BAD, N, N), 200, 0, 1000 },
	{ "IUS date list, ignored", C(N, N, N, D_EARLIER ", " D_EARLIER, N,
	    N), 200, 0, 1000 },
	/* 3. If-None-Match, weak comparison. */
	{ "If-None-Match match", C(N, "\"e1\"", N, N, N, N), 304, 0, 1000 },
	{ "If-None-Match W/\"e1\" (weak compare)", C(N, "W/\"e1\"", N, N, N,
	    N), 304, 0, 1000 },
	{ "If-None-Match *", C(N, "*", N, N, N, N), 304, 0, 1000 },
	{ "If-None-Match in a list", C(N, "\"x\", W/\"e1\"", N, N, N, N), 304,
	    0, 1000 },
	{ "If-None-Match mismatch", C(N, "\"x\"", N, N, N, N), 200, 0, 1000 },
	{ "If-None-Match match, HEAD", HEAD(N, "\"e1\"", N, N, N, N), 304, 0,
	    1000 },
	/* 4. If-Modified-Since, only without If-None-Match. */
	{ "INM mismatch + IMS later (IMS ignored)", C(N, "\"x\"", D_LATER, N,
	    N, N), 200, 0, 1000 },
	{ "INM mismatch + IMS equal (IMS ignored)", C(N, "\"x\"", D_LM, N, N,
	    N), 200, 0, 1000 },
	{ "INM match + IMS earlier", C(N, "\"e1\"", D_EARLIER, N, N, N), 304,
	    0, 1000 },
	{ "IMS equal to LM", C(N, N, D_LM, N, N, N), 304, 0, 1000 },
	{ "IMS later than LM", C(N, N, D_LATER, N, N, N), 304, 0, 1000 },
	{ "IMS equal, RFC 850", C(N, N, D_LM_850, N, N, N), 304, 0, 1000 },
	{ "IMS equal, asctime", C(N, N, D_LM_ASC, N, N, N), 304, 0, 1000 },
	{ "IMS earlier than LM", C(N, N, D_EARLIER, N, N, N), 200, 0, 1000 },
	{ "IMS unparseable", C(N, N, D_BAD, N, N, N), 200, 0, 1000 },
	{ "IMS lowercase gmt", C(N, N, "Sun, 06 Nov 1994 08:49:37 gmt", N, N,
	    N), 200, 0, 1000 },
	{ "IMS date list", C(N, N, D_LATER ", " D_LATER, N, N, N), 200, 0,
	    1000 },
	{ "IMS equal, HEAD", HEAD(N, N, D_LM, N, N, N), 304, 0, 1000 },
	/* 5. Range, GET only. */
	{ "Range 0-99", C(N, N, N, N, N, "bytes=0-99"), 206, 0, 100 },
	{ "Range 100-", C(N, N, N, N, N, "bytes=100-"), 206, 100, 900 },
	{ "Range -10", C(N, N, N, N, N, "bytes=-10"), 206, 990, 10 },
	{ "Range with HEAD", HEAD(N, N, N, N, N, "bytes=0-99"), 200, 0, 1000 },
	{ "Range unsatisfiable with HEAD", HEAD(N, N, N, N, N,
	    "bytes=5000-"), 200, 0, 1000 },
	{ "Range unsatisfiable", C(N, N, N, N, N, "bytes=1000-"), 416, 0, 0 },
	{ "Range bytes=-0", C(N, N, N, N, N, "bytes=-0"), 416, 0, 0 },
	{ "Range two ranges", C(N, N, N, N, N, "bytes=0-1,5-6"), 200, 0,
	    1000 },
	{ "Range other unit", C(N, N, N, N, N, "items=0-5"), 200, 0, 1000 },
	{ "Range malformed", C(N, N, N, N, N, "bytes=500-100"), 200, 0,
	    1000 },
	/* If-Range (§13.1.5). */
	{ "If-Range strong match", C(N, N, N, N, "\"e1\"", "bytes=0-99"), 206,
	    0, 100 },
	{ "If-Range W/\"e1\"", C(N, N, N, N, "W/\"e1\"", "bytes=0-99"), 200, 0,
	    1000 },
	{ "If-Range other etag", C(N, N, N, N, "\"x\"", "bytes=0-99"), 200, 0,
	    1000 },
	{ "If-Range exact Last-Modified", C(N, N, N, N, D_LM, "bytes=0-99"),
	    206, 0, 100 },
	{ "If-Range exact Last-Modified, RFC 850", C(N, N, N, N, D_LM_850,
	    "bytes=0-99"), 206, 0, 100 },
	{ "If-Range exact Last-Modified, asctime", C(N, N, N, N, D_LM_ASC,
	    "bytes=0-99"), 206, 0, 100 },
	{ "If-Range date one second earlier", C(N, N, N, N, D_EARLIER,
	    "bytes=0-99"), 200, 0, 1000 },
	{ "If-Range date one second later", C(N, N, N, N, D_LATER,
	    "bytes=0-99"), 200, 0, 1000 },
	{ "If-Range unparseable", C(N, N, N, N, D_BAD, "bytes=0-99"), 200, 0,
	    1000 },
	{ "If-Range empty", C(N, N, N, N, "", "bytes=0-99"), 200, 0, 1000 },
	{ "If-Range *", C(N, N, N, N, "*", "bytes=0-99"), 200, 0, 1000 },
	/*
	 * Regression: If-Range = entity-tag / HTTP-date (§13.1.5), one tag,
	 * not a list; anything else makes the condition false. http_decide
	 * once handed the value to http_etag_match, which accepts a list.
	 */
	{ "If-Range a list of tags", C(N, N, N, N, "\"x\", \"e1\"",
	    "bytes=0-99"), 200, 0, 1000 },
	{ "If-Range without Range", C(N, N, N, N, "\"e1\"", N), 200, 0, 1000 },
	{ "If-Range false, unsatisfiable Range", C(N, N, N, N, "\"x\"",
	    "bytes=5000-"), 200, 0, 1000 },
	{ "If-Range true, unsatisfiable Range", C(N, N, N, N, "\"e1\"",
	    "bytes=5000-"), 416, 0, 0 },
	/* Precedence. */
	{ "304 before Range", C(N, "\"e1\"", N, N, N, "bytes=0-99"), 304, 0,
	    1000 },
	{ "304 (IMS) before Range", C(N, N, D_LM, N, N, "bytes=0-99"), 304, 0,
	    1000 },
	{ "412 before 416", C("\"x\"", N, N, N, N, "bytes=5000-"), 412, 0,
	    1000 },
	{ "412 (IUS) before 416", C(N, N, N, D_EARLIER, N, "bytes=5000-"), 412,
	    0, 1000 },
	{ "412 before 304", C("\"x\"", "\"e1\"", D_LM, N, N, N), 412, 0,
	    1000 },
	{ "all true", C("\"e1\"", "\"x\"", N, D_LM, "\"e1\"", "bytes=10-19"),
	    206, 10, 10 },
};

static void
test_decide(void **state)
{
	const struct http_entity e = { "\"e1\"", LM, 1000 };
	struct http_decision d;
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(decide_cases); i++) {
		const struct decide_case *tc = &decide_cases[i];

		memset(&d, 0x5a, sizeof(d));
		http_decide(&tc->c, &e, NOW, &d);
		expect_int(tc->name, "status", d.status, tc->status);
		/* start and length only mean something for 200/206/416. */
		if (tc->status != 304 && tc->status != 412) {
			expect_int(tc->name, "start", d.start, tc->start);
			expect_int(tc->name, "length", d.length, tc->length);
		}
		if (d.status == 206)
			check_span(tc->name, d.start, d.length, e.size);
	}
	end_cases();
}

/* Beyond 4 GiB, and an empty file, through http_decide. */
static void
test_decide_sizes(void **state)
{
	const struct http_conditions c = { NULL, NULL, NULL, NULL, NULL,
	    "bytes=4294967306-4294967315", 1 };
	const struct http_conditions c0 = { NULL, NULL, NULL, NULL, NULL,
	    "bytes=0-", 1 };
	const struct http_conditions cs = { NULL, NULL, NULL, NULL, NULL,
	    "bytes=-5", 1 };
	struct http_entity e = { "\"e1\"", LM, 5 * GiB };
	struct http_decision d;

	(void)state;
	http_decide(&c, &e, NOW, &d);
	expect_int("5 GiB range past 4 GiB", "status", d.status, 206);
	expect_int("5 GiB range past 4 GiB", "start", d.start, 4294967306LL);
	expect_int("5 GiB range past 4 GiB", "length", d.length, 10);
	e.size = 0;
	http_decide(&c0, &e, NOW, &d);
	expect_int("empty file bytes=0-", "status", d.status, 416);
	expect_int("empty file bytes=0-", "length", d.length, 0);
	http_decide(&cs, &e, NOW, &d);
	expect_int("empty file bytes=-5", "status", d.status, 200);
	expect_int("empty file bytes=-5", "start", d.start, 0);
	expect_int("empty file bytes=-5", "length", d.length, 0);
	end_cases();
}

/*
 * http_starts_download: a 200 to GET or a 206 from byte 0.
 */

struct starts_case {
	const char	*name;
	int		 is_get;
	int		 status;
	int64_t		 start;
	int		 want;
};

static const struct starts_case starts_cases[] = {
	{ "GET 200", 1, 200, 0, 1 },
	{ "GET 206 from 0", 1, 206, 0, 1 },
	{ "GET 206 from 100", 1, 206, 100, 0 },
	{ "GET 206 past 4 GiB", 1, 206, 4294967306LL, 0 },
	{ "GET 304", 1, 304, 0, 0 },
	{ "HEAD 200", 0, 200, 0, 0 },
	{ "HEAD 206 from 0", 0, 206, 0, 0 },
	{ "GET 416", 1, 416, 0, 0 },
	{ "GET 412", 1, 412, 0, 0 },
	{ "GET 404", 1, 404, 0, 0 },
	{ "GET 500", 1, 500, 0, 0 },
};

static void
test_starts_download(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(starts_cases); i++) {
		const struct starts_case *tc = &starts_cases[i];

		expect_int(tc->name, "http_starts_download",
		    http_starts_download(tc->is_get, tc->status, tc->start),
		    tc->want);
	}
	end_cases();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_table),
		cmocka_unit_test(test_range_long),
		cmocka_unit_test(test_range_sweep),
		cmocka_unit_test(test_date_parse),
		cmocka_unit_test(test_date_roundtrip),
		cmocka_unit_test(test_etag_match),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_decide_sizes),
		cmocka_unit_test(test_starts_download),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
