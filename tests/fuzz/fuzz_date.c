/*
 * libFuzzer target: http_date_parse() and http_date_format().
 *
 * Input: the whole input is an HTTP-date candidate; its first 8 bytes
 * (zero-padded, little-endian) are also an arbitrary int64 to format.
 *
 * Properties: a date that parses and lies in [0, 253402300799] formats
 * as a 29-character IMF-fixdate that parses back to the same second; any
 * int64 formats as a 29-character IMF-fixdate that parses back to the
 * value clamped to [0, 253402300799] (the documented clamping). A date
 * that parses has the shape of one of the three formats and the day,
 * month, year and time it says (the day name is only checked for form, as
 * documented); an RFC 850 year lies within 50 years of now's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_date.h"

#define FUZZ_MAX	4096
#define DATE_MAX	253402300799LL	/* 9999-12-31T23:59:59Z */
#define NOW		1700000000LL	/* 2023-11-14T22:13:20Z */
#define NOW_YEAR	2023

#define CHECK(c, what, v) do {						\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_date: property failed: %s "	\
		    "(%s, t=%lld)\n", #c, (what), (long long)(v));	\
		abort();						\
	}								\
} while (0)

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Format t; it must be an IMF-fixdate that parses back to want. */
static void
fuzz_round_trip(int64_t t, int64_t want, const char *what)
{
	char	 s[HTTP_DATE_SIZE], big[64];
	int64_t	 back = -1;

	memset(s, 'X', sizeof(s));
	CHECK(http_date_format(s, sizeof(s), t) == 0, what, t);
	CHECK(strlen(s) == 29, what, t);
	CHECK(memcmp(s + 3, ", ", 2) == 0 && memcmp(s + 25, " GMT", 4) == 0,
	    what, t);
	CHECK(http_date_parse(s, NOW, &back) == 0, what, t);
	CHECK(back == want, what, t);
	/* The result does not depend on the buffer being exactly 30. */
	CHECK(http_date_format(big, sizeof(big), t) == 0, what, t);
	CHECK(strcmp(big, s) == 0, what, t);
	/* Too small a buffer is refused, not overrun. */
	CHECK(http_date_format(big, HTTP_DATE_SIZE - 1, t) == -1, what, t);
}

static int
fuzz_num(const char *s, int n)
{
	int	 v = 0, i;

	for (i = 0; i < n; i++)
		v = v * 10 + (s[i] == ' ' ? 0 : s[i] - '0');
	return (v);
}

/*
 * s parsed to t: s must have the shape of one of the three formats, and
 * (unless it names a leap second, or t is outside what formats) its day,
 * month, year and time must be those of t. An RFC 850 year must be the
 * one with those two digits in (now's year - 50, now's year + 50].
 */
static void
fuzz_fields(const char *s, int64_t t)
{
	char		 f[HTTP_DATE_SIZE];
	const char	*c = strchr(s, ',');
	size_t		 len = strlen(s);
	int		 day, year, fyear;
	const char	*mon, *hms;

	if (len == 29 && s[3] == ',') {			/* IMF-fixdate */
		day = fuzz_num(s + 5, 2);
		mon = s + 8;
		year = fuzz_num(s + 12, 4);
		hms = s + 17;
	} else if (len == 24 && s[3] == ' ') {		/* asctime */
		day = fuzz_num(s + 8, 2);
		mon = s + 4;
		year = fuzz_num(s + 20, 4);
		hms = s + 11;
	} else {					/* RFC 850 */
		CHECK(c != NULL && c - s > 3 && len == (size_t)(c - s) + 24,
		    "shape", t);
		day = fuzz_num(c + 2, 2);
		mon = c + 5;
		year = -fuzz_num(c + 9, 2) - 1;		/* two digits */
		hms = c + 12;
	}
	if (memcmp(hms + 6, "60", 2) == 0 || t < 0 || t > DATE_MAX)
		return;
	CHECK(http_date_format(f, sizeof(f), t) == 0, "fields", t);
	fyear = fuzz_num(f + 12, 4);
	CHECK(fuzz_num(f + 5, 2) == day, "day", t);
	CHECK(memcmp(f + 8, mon, 3) == 0, "month", t);
	CHECK(memcmp(f + 17, hms, 8) == 0, "time", t);
	if (year >= 0)
		CHECK(fyear == year, "year", t);
	else
		CHECK(fyear % 100 == -year - 1 && fyear > NOW_YEAR - 50 &&
		    fyear <= NOW_YEAR + 50, "RFC 850 year", t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static char	 buf[FUZZ_MAX + 1];
	uint8_t		 raw[8] = { 0 };
	uint64_t	 u = 0;
	int64_t		 t = 0, x, want;
	int		 i;

	if (n > FUZZ_MAX)
		return (0);
	memcpy(buf, data, n);
	buf[n] = '\0';

	if (http_date_parse(buf, NOW, &t) == 0) {
		fuzz_fields(buf, t);
		if (t >= 0 && t <= DATE_MAX)
			fuzz_round_trip(t, t, "parsed");
	}

	memcpy(raw, data, n < 8 ? n : 8);
	for (i = 7; i >= 0; i--)
		u = u << 8 | raw[i];
	memcpy(&x, &u, sizeof(x));
	want = x < 0 ? 0 : x > DATE_MAX ? DATE_MAX : x;
	fuzz_round_trip(x, want, "int64");
	/* And folded into the formattable range, to cover every date. */
	if (x >= 0)
		fuzz_round_trip(x % (DATE_MAX + 1), x % (DATE_MAX + 1),
		    "folded");
	return (0);
}
