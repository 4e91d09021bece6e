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

#include "http.h"

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

/* Returns 1 when s[0..len) is all hex digits. */
int
http_hex_valid(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F')))
			return (0);
	}
	return (1);
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
	static const char days[7][4] = {
		"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	int64_t	 z, era, doe, yoe, y, doy, mp, d, m, secs;
	int	 n;

	if (t < 0)
		t = 0;
	if (t > 253402300799LL)		/* 9999-12-31T23:59:59Z */
		t = 253402300799LL;
	z = t / 86400;
	secs = t % 86400;
	/* civil_from_days (H. Hinnant), for days since 1970-01-01. */
	z += 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;
	n = snprintf(dst, sz, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[(t / 86400) % 7], (int)d, months[m - 1], (int)y,
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

static int
http_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
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

	if (strlen(hex) != 64 || !http_hex_valid(hex, 64))
		return (-1);
	for (i = 0; i < 32; i++)
		raw[i] = (unsigned char)(http_hexval((unsigned char)hex[2 * i])
		    << 4 | http_hexval((unsigned char)hex[2 * i + 1]));
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
 * Decode one UTF-8 character at s[0..len). Returns its length and sets *cp,
 * or returns 1 with *cp = -1 for an invalid byte (overlong forms,
 * surrogates and values past U+10FFFF included).
 */
static size_t
http_utf8_next(const unsigned char *s, size_t len, long *cp)
{
	size_t	 n, i;
	long	 v, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2; v = s[0] & 0x1f; min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3; v = s[0] & 0x0f; min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4; v = s[0] & 0x07; min = 0x10000;
	} else {
		*cp = -1;
		return (1);
	}
	if (n > len) {
		*cp = -1;
		return (1);
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = -1;
			return (1);
		}
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
		*cp = -1;
		return (1);
	}
	*cp = v;
	return (n);
}

/*
 * Characters that never belong in a file name shown to a user: C0 and C1
 * controls, DEL, the bidirectional controls that can disguise an extension
 * ("invoice\u202Efdp.exe"), and the Unicode line separators.
 */
static int
http_char_dropped(long cp)
{
	return (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
	    cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029);
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
		n = http_utf8_next(u + i, len - i, &cp);
		if (cp == -1) {
			if (o + 1 >= dstsz) {
				*over = 1;
				break;
			}
			dst[o++] = '_';
		} else if (!http_char_dropped(cp)) {
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

/* RFC 8187 §3.2.1 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~" */
static int
http_attr_char(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~", c) != NULL);
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
	static const char hex[] = "0123456789ABCDEF";
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
		n = http_utf8_next((const unsigned char *)clean + i, len - i,
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
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)clean[i];

		if (o + (http_attr_char(c) ? 1 : 3) >= sz)
			return (-1);
		if (http_attr_char(c))
			dst[o++] = (char)c;
		else {
			dst[o++] = '%';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return (0);
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
