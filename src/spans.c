/*
 * spans: merged byte ranges of a file, sorted, at most SPANS_MAX. See
 * spans.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spans.h"

/* One decimal int64 >= 0 at *p, moving *p past it. 0, or -1. */
static int
spans_number(const char **p, int64_t *v)
{
	char		*end;
	long long	 n;

	if (**p < '0' || **p > '9')
		return (-1);
	errno = 0;
	n = strtoll(*p, &end, 10);
	if (errno != 0 || n < 0)
		return (-1);
	*v = (int64_t)n;
	*p = end;
	return (0);
}

/*
 * Parse the text form: "" or "first-last" ranges joined by ','. Any
 * well-formed list is accepted, whatever its order (each range is added).
 * Returns 0, or -1 (s is then empty) for anything else.
 */
int
spans_parse(const char *text, struct spans *s)
{
	const char	*p = text;
	int64_t		 first, last;

	s->n = 0;
	if (p == NULL || *p == '\0')
		return (0);
	for (;;) {
		if (spans_number(&p, &first) == -1 || *p++ != '-' ||
		    spans_number(&p, &last) == -1 || last < first)
			goto bad;
		spans_add(s, first, last);
		if (*p == '\0')
			return (0);
		if (*p++ != ',')
			goto bad;
	}
bad:
	s->n = 0;
	return (-1);
}

static void
spans_remove(struct spans *s, size_t i)
{
	memmove(&s->first[i], &s->first[i + 1],
	    (s->n - i - 1) * sizeof(s->first[0]));
	memmove(&s->last[i], &s->last[i + 1],
	    (s->n - i - 1) * sizeof(s->last[0]));
	s->n--;
}

/* Past SPANS_MAX: drop the smallest range (the first of equals). */
static void
spans_drop_smallest(struct spans *s)
{
	size_t	 i, min = 0;

	for (i = 1; i < s->n; i++)
		if (s->last[i] - s->first[i] < s->last[min] - s->first[min])
			min = i;
	spans_remove(s, min);
}

/*
 * Add [first, last] (first <= last, both >= 0): merged with every range
 * it overlaps or touches, the list kept sorted. An empty or reversed
 * range adds nothing.
 */
void
spans_add(struct spans *s, int64_t first, int64_t last)
{
	size_t	 i = 0, j;

	if (first < 0 || last < first)
		return;
	/* The first range that ends at or after first - 1. */
	while (i < s->n && s->last[i] < first - 1)
		i++;
	/* Merge every range that starts at or before last + 1. */
	j = i;
	while (j < s->n && (last == INT64_MAX || s->first[j] <= last + 1)) {
		if (s->first[j] < first)
			first = s->first[j];
		if (s->last[j] > last)
			last = s->last[j];
		j++;
	}
	if (j > i) {	/* ranges i..j-1 become one, at i */
		s->first[i] = first;
		s->last[i] = last;
		while (j > i + 1)
			spans_remove(s, --j);
		return;
	}
	if (s->n == SPANS_MAX) {
		/* The new range is smaller than every range kept: dropped. */
		for (j = 0; j < s->n; j++)
			if (s->last[j] - s->first[j] < last - first)
				break;
		if (j == s->n)
			return;
		spans_drop_smallest(s);
		for (i = 0; i < s->n && s->last[i] < first; i++)
			;
	}
	memmove(&s->first[i + 1], &s->first[i], (s->n - i) * sizeof(int64_t));
	memmove(&s->last[i + 1], &s->last[i], (s->n - i) * sizeof(int64_t));
	s->first[i] = first;
	s->last[i] = last;
	s->n++;
}

/* Bytes covered: the ranges' lengths, summed. */
int64_t
spans_covered(const struct spans *s)
{
	int64_t	 sum = 0;
	size_t	 i;

	for (i = 0; i < s->n; i++)
		sum += s->last[i] - s->first[i] + 1;
	return (sum);
}

/* The text form, into buf. 0, or -1 if it does not fit. */
int
spans_format(const struct spans *s, char *buf, size_t size)
{
	size_t	 i, off = 0;
	int	 n;

	if (size == 0)
		return (-1);
	buf[0] = '\0';
	for (i = 0; i < s->n; i++) {
		n = snprintf(buf + off, size - off, "%s%lld-%lld",
		    i > 0 ? "," : "", (long long)s->first[i],
		    (long long)s->last[i]);
		if (n < 0 || (size_t)n >= size - off)
			return (-1);
		off += (size_t)n;
	}
	return (0);
}
