/*
 * libFuzzer target: http_range_parse() and http_decide().
 *
 * Input: 8 bytes that choose the representation's size, then the Range
 * value. Lines after the first are the conditional fields, in this order:
 * If-Range, If-Match, If-None-Match, If-Modified-Since,
 * If-Unmodified-Since (an empty or missing line means absent).
 *
 * Properties: a satisfiable range lies inside the representation
 * (0 <= start, len >= 1, start + len - 1 < size); http_decide() answers
 * 200, 206, 304, 412 or 416, its 206 obeys the same bounds, its 200 is the
 * whole representation, and each status has the request field that causes
 * it. Without preconditions, http_decide() agrees with http_range_parse().
 * Values in the simplest forms (bytes=A-B, bytes=A-, bytes=-N) get exactly
 * the range an independent computation gives.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_cond.h"

#define FUZZ_MAX	4096

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_range: property failed: %s "	\
		    "(size=%lld)\n", #c, (long long)size);		\
		abort();						\
	}								\
} while (0)

/* Sun, 06 Nov 1994 08:49:37 GMT */
#define ENTITY_MTIME	784111777LL
#define ENTITY_ETAG	"\"abc-1f4-2ebc6a21.0\""
#define NOW		1700000000LL

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The size from the first 8 bytes (big-endian u): the top two bits of the
 * first byte pick a regime so that 0, small, and huge sizes up to INT64_MAX
 * all come up often. Bit 0x20 of the first byte makes the request a HEAD.
 */
static int64_t
fuzz_size(const uint8_t *b)
{
	uint64_t	 u = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		u = u << 8 | b[i];
	switch (b[0] >> 6) {
	case 0:
		return (0);
	case 1:
		return ((int64_t)(u & 0xffff));			/* small */
	case 2:
		return (INT64_MAX - (int64_t)(u & 0xffff));	/* near max */
	default:
		return ((int64_t)(u & (uint64_t)INT64_MAX));	/* any */
	}
}

/* Split s at the next '\n'; returns the field, NULL if empty or absent. */
static const char *
fuzz_line(char **sp)
{
	char	*s = *sp, *nl;

	if (s == NULL)
		return (NULL);
	nl = strchr(s, '\n');
	if (nl != NULL) {
		*nl = '\0';
		*sp = nl + 1;
	} else
		*sp = NULL;
	return (*s != '\0' ? s : NULL);
}

/* start .. start + len - 1 inside [0, size), computed without overflow. */
static int
fuzz_in_bounds(int64_t start, int64_t len, int64_t size)
{
	return (start >= 0 && len >= 1 && start < size &&
	    len <= size - start);
}

/*
 * The expected result for a value in the simplest form, "bytes=A-B",
 * "bytes=A-" or "bytes=-N" with at most 18 digits per number (so nothing
 * saturates), computed independently from RFC 9110 §14.1.2 and the
 * documented choices of http_range_parse(). Returns 0 for any other form.
 */
static int
fuzz_range_oracle(const char *v, int64_t size, enum http_range_result *rr,
    int64_t *start, int64_t *len)
{
	int64_t		 a = 0, b = 0;
	int		 na = 0, nb = 0;
	const char	*p;

	if (strncmp(v, "bytes=", 6) != 0)
		return (0);
	for (p = v + 6; *p >= '0' && *p <= '9'; p++, na++)
		if (na < 18)
			a = a * 10 + (*p - '0');
	if (*p++ != '-')
		return (0);
	for (; *p >= '0' && *p <= '9'; p++, nb++)
		if (nb < 18)
			b = b * 10 + (*p - '0');
	if (*p != '\0' || na > 18 || nb > 18 || (na == 0 && nb == 0))
		return (0);
	if (na == 0) {				/* suffix: the last b bytes */
		if (b == 0)
			*rr = HTTP_RANGE_UNSATISFIABLE;
		else if (size == 0)
			*rr = HTTP_RANGE_IGNORE;
		else {
			*rr = HTTP_RANGE_OK;
			*len = b < size ? b : size;
			*start = size - *len;
		}
	} else if (nb > 0 && b < a)
		*rr = HTTP_RANGE_IGNORE;
	else if (a >= size)
		*rr = HTTP_RANGE_UNSATISFIABLE;
	else {
		*rr = HTTP_RANGE_OK;
		*start = a;
		*len = (nb == 0 || b >= size - 1 ? size - 1 : b) - a + 1;
	}
	return (1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static char		 buf[FUZZ_MAX + 1];
	struct http_conditions	 c;
	struct http_entity	 e;
	struct http_decision	 d;
	enum http_range_result	 rr;
	enum http_range_result	 orr;
	int64_t			 size, start = -1, len = -1, ostart, olen;
	char			*rest;
	const char		*range;

	if (n < 8 || n - 8 > FUZZ_MAX)
		return (0);
	size = fuzz_size(data);
	memcpy(buf, data + 8, n - 8);
	buf[n - 8] = '\0';

	/* The whole rest as one Range value (newlines and all). */
	rr = http_range_parse(buf, size, &start, &len);
	CHECK(rr == HTTP_RANGE_OK || rr == HTTP_RANGE_IGNORE ||
	    rr == HTTP_RANGE_UNSATISFIABLE);
	if (rr == HTTP_RANGE_OK)
		CHECK(fuzz_in_bounds(start, len, size));
	if (fuzz_range_oracle(buf, size, &orr, &ostart, &olen)) {
		CHECK(rr == orr);
		if (rr == HTTP_RANGE_OK)
			CHECK(start == ostart && len == olen);
	}

	/* Now as a request: the first line is Range, then the conditions. */
	rest = buf;
	memset(&c, 0, sizeof(c));
	range = fuzz_line(&rest);
	c.range = range;
	c.if_range = fuzz_line(&rest);
	c.if_match = fuzz_line(&rest);
	c.if_none_match = fuzz_line(&rest);
	c.if_modified_since = fuzz_line(&rest);
	c.if_unmodified_since = fuzz_line(&rest);
	c.range_allowed = !(data[0] & 0x20);
	e.etag = ENTITY_ETAG;
	e.last_modified = ENTITY_MTIME;
	e.size = size;

	start = -1;
	len = -1;
	rr = range != NULL ? http_range_parse(range, size, &start, &len) :
	    HTTP_RANGE_IGNORE;
	if (rr == HTTP_RANGE_OK)
		CHECK(fuzz_in_bounds(start, len, size));

	memset(&d, 0xa5, sizeof(d));
	http_decide(&c, &e, NOW, &d);
	switch (d.status) {
	case 200:
		CHECK(d.start == 0 && d.length == size);
		break;
	case 206:
		CHECK(fuzz_in_bounds(d.start, d.length, size));
		CHECK(c.range != NULL && c.range_allowed);
		CHECK(rr == HTTP_RANGE_OK && d.start == start &&
		    d.length == len);
		break;
	case 304:
		CHECK(c.if_none_match != NULL || c.if_modified_since != NULL);
		break;
	case 412:
		CHECK(c.if_match != NULL || c.if_unmodified_since != NULL);
		break;
	case 416:
		CHECK(c.range != NULL && c.range_allowed);
		CHECK(rr == HTTP_RANGE_UNSATISFIABLE);
		break;
	default:
		CHECK(!"status is one of 200 206 304 412 416");
	}
	/* With no preconditions, the decision is the Range result. */
	if (c.if_range == NULL && c.if_match == NULL &&
	    c.if_none_match == NULL && c.if_modified_since == NULL &&
	    c.if_unmodified_since == NULL) {
		if (c.range == NULL || !c.range_allowed ||
		    rr == HTTP_RANGE_IGNORE)
			CHECK(d.status == 200);
		else if (rr == HTTP_RANGE_OK)
			CHECK(d.status == 206);
		else
			CHECK(d.status == 416);
	}
	return (0);
}
