/*
 * spans: the bytes of a file that a download has covered, as a short
 * sorted list of merged ranges. Pure: the state database keeps the text
 * form ("0-1023,4096-8191"), audit.c parses it, adds a response's range
 * and writes it back.
 *
 * Bounded: at most SPANS_MAX ranges. Adding one past the bound drops the
 * smallest range, so the coverage it reports is never more than what was
 * sent (and "complete" never claimed early).
 */
#ifndef SLUICE_SPANS_H
#define SLUICE_SPANS_H

#include <stddef.h>
#include <stdint.h>

#define SPANS_MAX	32
/* "first-last" of two int64s, a comma each, and the NUL. */
#define SPANS_TEXT_SIZE	(SPANS_MAX * 41 + 1)

struct spans {
	size_t	 n;
	int64_t	 first[SPANS_MAX];	/* sorted, disjoint, not adjacent */
	int64_t	 last[SPANS_MAX];
};

int	spans_parse(const char *, struct spans *);
void	spans_add(struct spans *, int64_t first, int64_t last);
int64_t	spans_covered(const struct spans *);
int	spans_format(const struct spans *, char *, size_t);

#endif
