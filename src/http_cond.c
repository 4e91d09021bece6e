/*
 * http_cond: validators and conditional and range requests (RFC 9110 §8.8,
 * §13, §14): the ETag sluice sends, the entity-tag list match, the Range
 * parser and the §13.2.2 decision that orders them all. No front server
 * applies these to a streamed FastCGI response, so sluice does it all
 * here. Pure: values in, values out; the current time is passed in.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_cond.h"
#include "http_date.h"

/*
 * A strong validator (RFC 9110 §8.8.3) from the file's identity: inode,
 * size and modification time to the nanosecond. A regenerated file gets a
 * new one, so If-Range never stitches two versions together.
 * Returns 0, or -1 if dst is too small.
 */
int
http_etag_format(char *dst, size_t sz, uint64_t ino, int64_t size,
    int64_t mtime_sec, long mtime_nsec)
{
	int	 n;

	n = snprintf(dst, sz, "\"%llx-%llx-%llx.%lx\"", (unsigned long long)ino,
	    (unsigned long long)size, (unsigned long long)mtime_sec,
	    (unsigned long)mtime_nsec);
	if (n < 0 || (size_t)n >= sz)
		return (-1);
	return (0);
}

static const char *
http_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return (p);
}

/*
 * Is etag (ours: strong, quoted) in the list of entity tags (RFC 9110
 * §8.8.3, §13.1.1)? "*" matches any current representation. weak selects
 * the weak comparison (If-None-Match); otherwise a W/ tag never matches
 * (If-Match, If-Range). A malformed list matches nothing.
 */
int
http_etag_match(const char *list, const char *etag, int weak)
{
	const char	*p = http_ows(list), *q;
	size_t		 elen = strlen(etag);
	int		 found = 0, is_weak;

	if (*p == '*' && *http_ows(p + 1) == '\0')
		return (1);
	while (*p != '\0') {
		if (*p == ',') {		/* empty list element */
			p = http_ows(p + 1);
			continue;
		}
		is_weak = 0;
		if (p[0] == 'W' && p[1] == '/') {
			is_weak = 1;
			p += 2;
		}
		if (*p != '"')
			return (0);
		for (q = p + 1; *q != '"'; q++)
			/* etagc = %x21 / %x23-7E / obs-text */
			if (*q == '\0' || (unsigned char)*q < 0x21 ||
			    *q == 0x7f)
				return (0);
		q++;
		if ((weak || !is_weak) && (size_t)(q - p) == elen &&
		    memcmp(p, etag, elen) == 0)
			found = 1;
		p = http_ows(q);
		if (*p != ',' && *p != '\0')
			return (0);
	}
	return (found);
}

/* Digits at *pp into *v, saturating at INT64_MAX (CVE-2017-7529: check
 * before every *10). Returns the count of digits read. */
static int
http_range_number(const char **pp, int64_t *v)
{
	const char	*p = *pp;
	int		 n = 0;

	*v = 0;
	for (; *p >= '0' && *p <= '9'; p++, n++) {
		int64_t	 d = *p - '0';

		if (*v > (INT64_MAX - d) / 10)
			*v = INT64_MAX;
		else
			*v = *v * 10 + d;
	}
	*pp = p;
	return (n);
}

/*
 * Parse a Range field value (RFC 9110 §14.1.2) against a representation of
 * size bytes. Returns:
 *	HTTP_RANGE_OK, with *start and *len, for one satisfiable range;
 *	HTTP_RANGE_UNSATISFIABLE (416) for one range that cannot be met: a
 *	    start at or past the end, or a zero suffix (bytes=-0);
 *	HTTP_RANGE_IGNORE (200, whole file) otherwise: another unit, more
 *	    than one range (no multipart, so no amplification), a malformed
 *	    or invalid spec (bytes=500-100, bytes=abc, bytes=1-2-3), a value
 *	    longer than HTTP_RANGE_MAX, or a suffix range on an empty file.
 * Numbers saturate, so no value can wrap or go negative.
 */
enum http_range_result
http_range_parse(const char *v, int64_t size, int64_t *start, int64_t *len)
{
	const char	*p;
	int64_t		 first = 0, last = 0, suffix = 0;
	int		 nspecs = 0, is_suffix = 0, has_last = 0;

	if (strlen(v) > HTTP_RANGE_MAX || strncasecmp(v, "bytes=", 6) != 0)
		return (HTTP_RANGE_IGNORE);
	p = v + 6;
	for (;;) {
		p = http_ows(p);
		if (*p == ',') {		/* empty list element */
			p++;
			continue;
		}
		if (*p == '\0')
			break;
		if (++nspecs > 1)
			return (HTTP_RANGE_IGNORE);
		if (*p == '-') {
			p++;
			is_suffix = 1;
			if (http_range_number(&p, &suffix) == 0)
				return (HTTP_RANGE_IGNORE);
		} else {
			if (http_range_number(&p, &first) == 0 || *p++ != '-')
				return (HTTP_RANGE_IGNORE);
			has_last = http_range_number(&p, &last) > 0;
			if (has_last && last < first)
				return (HTTP_RANGE_IGNORE);
		}
		p = http_ows(p);
		if (*p != ',' && *p != '\0')
			return (HTTP_RANGE_IGNORE);
	}
	if (nspecs == 0)
		return (HTTP_RANGE_IGNORE);
	if (is_suffix) {
		if (suffix == 0)
			return (HTTP_RANGE_UNSATISFIABLE);
		if (size == 0)
			return (HTTP_RANGE_IGNORE);
		*start = suffix >= size ? 0 : size - suffix;
		*len = size - *start;
		return (HTTP_RANGE_OK);
	}
	if (first >= size)
		return (HTTP_RANGE_UNSATISFIABLE);
	if (!has_last || last > size - 1)
		last = size - 1;
	*start = first;
	*len = last - first + 1;
	return (HTTP_RANGE_OK);
}

/*
 * Evaluate preconditions and Range in the order of RFC 9110 §13.2.2, for a
 * GET or HEAD of representation e, and fill *d: 412, 304, 416, 206 (with
 * start and length) or 200 (the whole representation).
 */
void
http_decide(const struct http_conditions *c, const struct http_entity *e,
    int64_t now, struct http_decision *d)
{
	enum http_range_result rr;
	int64_t		 t;

	d->status = 200;
	d->start = 0;
	d->length = e->size;
	/* 1. If-Match; 2. else If-Unmodified-Since (§13.1.1, §13.1.4). */
	if (c->if_match != NULL) {
		if (!http_etag_match(c->if_match, e->etag, 0)) {
			d->status = 412;
			return;
		}
	} else if (c->if_unmodified_since != NULL &&
	    http_date_parse(c->if_unmodified_since, now, &t) == 0 &&
	    e->last_modified > t) {
		d->status = 412;
		return;
	}
	/*
	 * 3. If-None-Match; 4. else If-Modified-Since (§13.1.2, §13.1.3):
	 * with If-None-Match present, If-Modified-Since is ignored even when
	 * the tags do not match.
	 */
	if (c->if_none_match != NULL) {
		if (http_etag_match(c->if_none_match, e->etag, 1)) {
			d->status = 304;
			return;
		}
	} else if (c->if_modified_since != NULL &&
	    http_date_parse(c->if_modified_since, now, &t) == 0 &&
	    e->last_modified <= t) {
		d->status = 304;
		return;
	}
	/* 5. Range, GET only (§14.2), subject to If-Range (§13.1.5). */
	if (c->range == NULL || !c->range_allowed)
		return;
	if (c->if_range != NULL) {
		const char *ir = http_ows(c->if_range);

		if (ir[0] == '"') {
			/* One strong tag, not a list (§13.1.5). */
			size_t	 n = strlen(e->etag);

			if (strncmp(ir, e->etag, n) != 0 ||
			    *http_ows(ir + n) != '\0')
				return;
		} else if (ir[0] == 'W' && ir[1] == '/')
			return;		/* weak: never for If-Range */
		else if (http_date_parse(ir, now, &t) == -1 ||
		    t != e->last_modified)
			return;
	}
	rr = http_range_parse(c->range, e->size, &d->start, &d->length);
	if (rr == HTTP_RANGE_UNSATISFIABLE) {
		d->status = 416;
		d->start = 0;
		d->length = 0;
	} else if (rr == HTTP_RANGE_OK)
		d->status = 206;
	else {
		d->start = 0;
		d->length = e->size;
	}
}

/*
 * Does a response start a download, for max_downloads and the audit? A 200,
 * or a 206 from byte 0. Range continuations, HEAD and 304 never count.
 */
int
http_starts_download(int is_get, int status, int64_t start)
{
	return (is_get && (status == 200 || (status == 206 && start == 0)));
}
