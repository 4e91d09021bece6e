/*
 * libFuzzer target: http_etag_match().
 *
 * Input: the first byte chooses the length of the entity tag's opaque
 * part, taken from the next bytes (bytes that are not etagc become 'x', so
 * the tag is always a valid strong one, like ours); the rest is a field
 * value (If-Match / If-None-Match list).
 *
 * Properties: no crash on any list or tag; a list that is exactly the tag
 * matches in both modes (for a valid strong tag, which is what
 * http_etag_match() is documented to take; the raw input is checked too
 * when it is one); "*" matches; W/<tag> matches only in weak mode; a
 * strong match implies a weak match; appending ", <tag>" to a list that
 * matched weakly (so is well formed) makes it match strongly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_cond.h"

#define FUZZ_MAX	4096

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_etag: property failed: %s "	\
		    "(etag=%s)\n", #c, etag);				\
		abort();						\
	}								\
} while (0)

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* etagc = %x21 / %x23-7E / obs-text (RFC 9110 §8.8.3) */
static int
fuzz_etagc(uint8_t c)
{
	return (c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80);
}

/* Is s a strong entity tag, DQUOTE *etagc DQUOTE? */
static int
fuzz_strong_tag(const char *s)
{
	size_t	 len = strlen(s), i;

	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return (0);
	for (i = 1; i < len - 1; i++)
		if (!fuzz_etagc((uint8_t)s[i]))
			return (0);
	return (1);
}

static const char *
list_trim(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return (p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static char	 list[FUZZ_MAX + 1], raw[FUZZ_MAX + 1];
	static char	 tmp[2 * FUZZ_MAX + HTTP_ETAG_SIZE + 8];
	char		 etag[HTTP_ETAG_SIZE];
	size_t		 elen, i, llen;
	int		 s, w;

	if (n < 1 || n > FUZZ_MAX)
		return (0);
	elen = data[0] % (HTTP_ETAG_SIZE - 2);	/* quotes + NUL fit */
	if (elen > n - 1)
		elen = n - 1;
	etag[0] = '"';
	for (i = 0; i < elen; i++)
		etag[1 + i] = fuzz_etagc(data[1 + i]) ? (char)data[1 + i] : 'x';
	etag[1 + elen] = '"';
	etag[2 + elen] = '\0';
	llen = n - 1 - elen;
	memcpy(list, data + 1 + elen, llen);
	list[llen] = '\0';

	/* Any list against our tag, both modes. */
	s = http_etag_match(list, etag, 0);
	w = http_etag_match(list, etag, 1);
	CHECK(s == 0 || s == 1);
	CHECK(w == 0 || w == 1);
	CHECK(!s || w);

	/* Any bytes as the tag too: only must not crash. */
	memcpy(raw, data, n);
	raw[n] = '\0';
	(void)http_etag_match(list, raw, 0);
	(void)http_etag_match(list, raw, 1);
	(void)http_etag_match(raw, list, 1);
	CHECK(http_etag_match("*", raw, 0) == 1);
	if (fuzz_strong_tag(raw)) {
		CHECK(http_etag_match(raw, raw, 0) == 1);
		CHECK(http_etag_match(raw, raw, 1) == 1);
	}

	/* The tag alone matches itself, in both modes. */
	CHECK(http_etag_match(etag, etag, 0) == 1);
	CHECK(http_etag_match(etag, etag, 1) == 1);
	/* "*" matches anything, with optional whitespace. */
	CHECK(http_etag_match("*", etag, 0) == 1);
	CHECK(http_etag_match("*", etag, 1) == 1);
	CHECK(http_etag_match(" \t* ", etag, 0) == 1);
	/* A weak tag matches only under the weak comparison. */
	snprintf(tmp, sizeof(tmp), "W/%s", etag);
	CHECK(http_etag_match(tmp, etag, 0) == 0);
	CHECK(http_etag_match(tmp, etag, 1) == 1);

	/*
	 * A list that matches weakly and is not "*" is well formed (a
	 * malformed list matches nothing); with ", <tag>" appended it also
	 * matches strongly.
	 */
	if (w && *list_trim(list) != '*') {
		snprintf(tmp, sizeof(tmp), "%s, %s", list, etag);
		CHECK(http_etag_match(tmp, etag, 0) == 1);
		CHECK(http_etag_match(tmp, etag, 1) == 1);
	}
	return (0);
}
