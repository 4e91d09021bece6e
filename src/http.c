/*
 * http: dates (RFC 9110 §5.6.7), validators (§8.8), Content-Disposition
 * (RFC 6266 with RFC 8187 encoding), Repr-Digest (RFC 9530) and the CGI
 * header block that goes to the web server.
 *
 * Pure: every function takes values and writes into the caller's buffer.
 * Every header value passes http_header_value_ok(), the one guard against
 * CR, LF and NUL: nginx and Apache take a bare LF as a header break, and
 * nginx obeys X-Accel-* headers from the backend, so an injected line is a
 * file-disclosure bug.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "text.h"

static const char http_days[7][4] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const http_days_long[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday" };
static const char http_months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return ("OK");
	case 206: return ("Partial Content");
	case 304: return ("Not Modified");
	case 400: return ("Bad Request");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 409: return ("Conflict");
	case 410: return ("Gone");
	case 412: return ("Precondition Failed");
	case 416: return ("Range Not Satisfiable");
	case 500: return ("Internal Server Error");
	case 503: return ("Service Unavailable");
	default: return ("Unknown");
	}
}

/*
 * The one-line text/plain body of an error. The same for every cause of a
 * status, so a 404 says nothing about whether the job exists.
 */
const char *
http_error_body(int status)
{
	switch (status) {
	case 400: return ("bad request\n");
	case 403: return ("forbidden\n");
	case 404: return ("not found\n");
	case 405: return ("method not allowed\n");
	case 409: return ("export not ready yet, retry later\n");
	case 410: return ("this download is no longer available\n");
	case 412: return ("precondition failed\n");
	case 416: return ("range not satisfiable\n");
	case 503: return ("busy, retry later\n");
	default: return ("internal error\n");
	}
}

/*
 * Returns 1 when v[0..len) may be a header value: no CR, LF or NUL (RFC 9110
 * §5.5 forbids them; a bare LF splits headers at nginx and Apache), and no
 * other control character except HTAB.
 */
int
http_header_value_ok(const char *v, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return (0);
	}
	return (1);
}

/*
 * The Gregorian date of day z (days since 1970-01-01, z >= 0), after
 * H. Hinnant's civil_from_days.
 */
static void
http_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	 era, doe, yoe, doy, mp;

	z += 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/*
 * Format t (unix seconds, UTC) as an IMF-fixdate, "Sun, 06 Nov 1994
 * 08:49:37 GMT" (RFC 9110 §5.6.7), without the C library's locale or time
 * zone. Times before 1970 are given as the epoch. Returns 0, or -1 if dst is
 * too small.
 */
int
http_date_format(char *dst, size_t sz, int64_t t)
{
	int64_t	 y, secs;
	int	 m, d, n;

	if (t < 0)
		t = 0;
	if (t > 253402300799LL)		/* 9999-12-31T23:59:59Z */
		t = 253402300799LL;
	secs = t % 86400;
	http_civil_from_days(t / 86400, &y, &m, &d);
	n = snprintf(dst, sz, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    http_days[(t / 86400 + 4) % 7], d, http_months[m - 1], (int)y,
	    (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
	if (n < 0 || (size_t)n >= sz)
		return (-1);
	return (0);
}

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

/*
 * Repr-Digest (RFC 9530 §3) from a 64-digit hex SHA-256: the 32 bytes in
 * base64 between colons, as a Structured Field byte sequence.
 * Returns 0, or -1 for bad hex or a small dst.
 */
int
http_digest_format(char *dst, size_t sz, const char *hex)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char	 raw[32];
	size_t		 i, o = 0;

	if (text_hex_decode(raw, sizeof(raw), hex) == -1)
		return (-1);
	/* "sha-256=:" + 44 + ":" + NUL */
	if (sz < 9 + 44 + 1 + 1)
		return (-1);
	memcpy(dst, "sha-256=:", 9);
	o = 9;
	for (i = 0; i < 32; i += 3) {
		unsigned v = (unsigned)raw[i] << 16;

		if (i + 1 < 32)
			v |= (unsigned)raw[i + 1] << 8;
		if (i + 2 < 32)
			v |= raw[i + 2];
		dst[o++] = b64[(v >> 18) & 63];
		dst[o++] = b64[(v >> 12) & 63];
		dst[o++] = i + 1 < 32 ? b64[(v >> 6) & 63] : '=';
		dst[o++] = i + 2 < 32 ? b64[v & 63] : '=';
	}
	dst[o++] = ':';
	dst[o] = '\0';
	return (0);
}

/*
 * Clean s[0..len) into dst[0..dstsz): dropped characters go, invalid bytes
 * become '_', and only whole characters are copied. Sets *over when
 * something did not fit. Returns the length written (dst terminated).
 */
static size_t
http_name_clean_into(char *dst, size_t dstsz, const char *s, size_t len,
    int *over)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t	 i = 0, o = 0, n;
	long	 cp;

	*over = 0;
	while (i < len) {
		n = text_utf8_next(u + i, len - i, &cp);
		if (cp == -1) {
			if (o + 1 >= dstsz) {
				*over = 1;
				break;
			}
			dst[o++] = '_';
		} else if (!text_char_unsafe(cp)) {
			if (o + n >= dstsz) {
				*over = 1;
				break;
			}
			memcpy(dst + o, u + i, n);
			o += n;
		}
		i += n;
	}
	dst[o] = '\0';
	return (o);
}

/*
 * Clean name into dst (HTTP_NAME_MAX + 1 bytes) as valid UTF-8 without
 * dropped characters. A longer name is cut at a character boundary, and
 * keeps its extension (a final ".xyz" of up to HTTP_EXT_MAX bytes), so the
 * saved file still opens with the right program. Returns the length.
 */
static size_t
http_name_clean(char *dst, const char *name)
{
	char	 ext[HTTP_EXT_MAX + 1];
	size_t	 len = strlen(name), dot, elen = 0, hlen;
	int	 over;

	hlen = http_name_clean_into(dst, HTTP_NAME_MAX + 1, name, len, &over);
	if (!over)
		return (hlen);
	for (dot = len; dot > 0 && len - (dot - 1) <= HTTP_EXT_MAX; dot--)
		if (name[dot - 1] == '.') {
			elen = http_name_clean_into(ext, sizeof(ext),
			    name + dot - 1, len - (dot - 1), &over);
			len = dot - 1;
			break;
		}
	hlen = http_name_clean_into(dst, HTTP_NAME_MAX + 1 - elen, name, len,
	    &over);
	memcpy(dst + hlen, ext, elen);
	dst[hlen + elen] = '\0';
	return (hlen + elen);
}

/*
 * Content-Disposition for a download (RFC 6266 §4.3):
 *	attachment; filename="<ascii>"; filename*=UTF-8''<pct-encoded>
 * The ASCII fallback keeps printable ASCII except '"', '\' and '%'; every
 * other character becomes one '_'. Controls and bidi characters are dropped
 * from both forms. An empty result uses fallback (the job id).
 * Returns 0, or -1 if dst is too small.
 */
int
http_disposition_format(char *dst, size_t sz, const char *name,
    const char *fallback)
{
	char		 clean[HTTP_NAME_MAX + 1];
	size_t		 len, i, o, n;
	long		 cp;
	int		 r;

	len = http_name_clean(clean, name != NULL ? name : "");
	if (len == 0)
		len = http_name_clean(clean, fallback);
	r = snprintf(dst, sz, "attachment; filename=\"");
	if (r < 0 || (size_t)r >= sz)
		return (-1);
	o = (size_t)r;
	for (i = 0; i < len; i += n) {
		n = text_utf8_next((const unsigned char *)clean + i, len - i,
		    &cp);
		if (o + 1 >= sz)
			return (-1);
		if (cp >= 0x20 && cp < 0x7f && cp != '"' && cp != '\\' &&
		    cp != '%')
			dst[o++] = (char)cp;
		else
			dst[o++] = '_';
	}
	r = snprintf(dst + o, sz - o, "\"; filename*=UTF-8''");
	if (r < 0 || (size_t)r >= sz - o)
		return (-1);
	o += (size_t)r;
	return (text_pct_encode(dst + o, sz - o, clean, TEXT_PCT_ATTR));
}

/* Start a CGI header block with the Status line (always sent; Apache
 * evaluates conditionals itself without one). */
void
http_headers_init(struct http_headers *h, int status)
{
	int	 n;

	h->len = 0;
	h->error = 0;
	n = snprintf(h->buf, sizeof(h->buf), "Status: %d %s\r\n", status,
	    http_reason(status));
	if (n < 0 || (size_t)n >= sizeof(h->buf))
		h->error = 1;
	else
		h->len = (size_t)n;
}

/*
 * Append "name: value". A value that fails the guard, or a block that would
 * overflow, sets h->error; the block is then never sent. name is a constant
 * of ours. The error sticks, so callers check once, at the end.
 */
void
http_headers_add(struct http_headers *h, const char *name, const char *value)
{
	size_t	 vlen = strlen(value);
	int	 n;

	if (h->error)
		return;
	if (!http_header_value_ok(value, vlen)) {
		h->error = 1;
		return;
	}
	n = snprintf(h->buf + h->len, sizeof(h->buf) - h->len, "%s: %s\r\n",
	    name, value);
	if (n < 0 || (size_t)n >= sizeof(h->buf) - h->len) {
		h->error = 1;
		return;
	}
	h->len += (size_t)n;
}

void
http_headers_add_int(struct http_headers *h, const char *name, int64_t value)
{
	char	 v[24];
	int	 n;

	n = snprintf(v, sizeof(v), "%lld", (long long)value);
	if (n < 0 || (size_t)n >= sizeof(v)) {
		h->error = 1;
		return;
	}
	http_headers_add(h, name, v);
}

/* Close the block with an empty line. Returns 0, or -1 if h->error. */
int
http_headers_end(struct http_headers *h)
{
	if (h->error || h->len + 2 >= sizeof(h->buf)) {
		h->error = 1;
		return (-1);
	}
	memcpy(h->buf + h->len, "\r\n", 2);
	h->len += 2;
	h->buf[h->len] = '\0';
	return (0);
}

/*
 * ---------------------------------------------------------------------------
 * Conditional and range requests (RFC 9110 §13, §14). No front server
 * applies them to a streamed FastCGI response, so sluice does it all here.
 */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
http_days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

static int
http_days_in_month(int64_t y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return (29);
	return (dm[m - 1]);
}

/* n decimal digits at s into *v; returns 0 or -1. */
static int
http_digits(const char *s, int n, int *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		*v = *v * 10 + (s[i] - '0');
	}
	return (0);
}

static int
http_month(const char *s)
{
	int	 m;

	for (m = 0; m < 12; m++)
		if (strncmp(s, http_months[m], 3) == 0)
			return (m + 1);
	return (0);
}

static int
http_day_name(const char *s, size_t len)
{
	int	 d;

	for (d = 0; d < 7; d++)
		if ((len == 3 && strncmp(s, http_days[d], 3) == 0) ||
		    (len == strlen(http_days_long[d]) &&
		    strncmp(s, http_days_long[d], len) == 0))
			return (1);
	return (0);
}

/* "HH:MM:SS" */
static int
http_time_of_day(const char *s, int *h, int *mi, int *sec)
{
	if (http_digits(s, 2, h) == -1 || s[2] != ':' ||
	    http_digits(s + 3, 2, mi) == -1 || s[5] != ':' ||
	    http_digits(s + 6, 2, sec) == -1)
		return (-1);
	/* 60: a leap second, which the formats allow. */
	if (*h > 23 || *mi > 59 || *sec > 60)
		return (-1);
	return (0);
}

/*
 * Parse an HTTP-date (RFC 9110 §5.6.7) in any of its three formats,
 * IMF-fixdate first, then the obsolete RFC 850 and asctime forms, without
 * the C library's locale. An RFC 850 two-digit year more than 50 years past
 * now is taken as the most recent past year with those digits. The day name
 * is checked for form, not against the date. Returns 0 with *t set, or -1.
 */
int
http_date_parse(const char *s, int64_t now, int64_t *t)
{
	const char	*p;
	size_t		 len = strlen(s), dl;
	int		 d, m, y, h, mi, sec;
	int64_t		 year;

	p = strchr(s, s[0] != '\0' && len >= 3 && s[3] == ' ' ? ' ' : ',');
	if (p == NULL || !http_day_name(s, (size_t)(p - s)))
		return (-1);
	dl = (size_t)(p - s);
	if (*p == ',' && dl == 3 && len == 29) {
		/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
		if (p[1] != ' ' || http_digits(p + 2, 2, &d) == -1 ||
		    p[4] != ' ' || (m = http_month(p + 5)) == 0 ||
		    p[8] != ' ' || http_digits(p + 9, 4, &y) == -1 ||
		    p[13] != ' ' || http_time_of_day(p + 14, &h, &mi, &sec) ||
		    strcmp(p + 22, " GMT") != 0)
			return (-1);
		year = y;
	} else if (*p == ',' && dl > 3 && len == dl + 24) {
		/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
		int64_t	 ny;
		int	 nm, nd;

		http_civil_from_days((now > 0 ? now : 0) / 86400, &ny, &nm,
		    &nd);

		if (p[1] != ' ' || http_digits(p + 2, 2, &d) == -1 ||
		    p[4] != '-' || (m = http_month(p + 5)) == 0 ||
		    p[8] != '-' || http_digits(p + 9, 2, &y) == -1 ||
		    p[11] != ' ' || http_time_of_day(p + 12, &h, &mi, &sec) ||
		    strcmp(p + 20, " GMT") != 0)
			return (-1);
		year = ny - ny % 100 + y;
		if (year > ny + 50)
			year -= 100;
	} else if (*p == ' ' && dl == 3 && len == 24) {
		/* asctime: "Sun Nov  6 08:49:37 1994" */
		if ((m = http_month(p + 1)) == 0 || p[4] != ' ' ||
		    (p[5] == ' ' ? http_digits(p + 6, 1, &d) :
		    http_digits(p + 5, 2, &d)) == -1 || p[7] != ' ' ||
		    http_time_of_day(p + 8, &h, &mi, &sec) || p[16] != ' ' ||
		    http_digits(p + 17, 4, &y) == -1 || p[21] != '\0')
			return (-1);
		year = y;
	} else
		return (-1);
	if (d < 1 || d > http_days_in_month(year, m))
		return (-1);
	*t = http_days_from_civil(year, m, d) * 86400 + h * 3600 + mi * 60 +
	    sec;
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
