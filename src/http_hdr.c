/*
 * http_hdr: the CGI header block that goes to the web server, the reason
 * phrases and the one-line error bodies.
 *
 * Every header value passes http_header_value_ok(), the one guard against
 * CR, LF and NUL: nginx and Apache take a bare LF as a header break, and
 * nginx obeys X-Accel-* headers from the backend, so an injected line is a
 * file-disclosure bug. Pure: the block lives in the caller's struct.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http_hdr.h"

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

/* RFC 9110 §5.6.2 tchar. */
static int
http_tchar(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL));
}

/*
 * The one rule for a job's content_type, in sluice and sluicectl alike:
 * a media type (RFC 9110 §8.3.1), type "/" subtype, both tokens,
 * optionally followed by parameters (OWS ";" ...), at most JOB_TYPE_MAX
 * bytes and header-safe. "text", "" or "text/plain\r\nX: y" are not.
 * Returns 1 or 0.
 */
int
http_content_type_ok(const char *v)
{
	size_t	 i = 0, len = strlen(v);

	if (len > HTTP_TYPE_MAX || !http_header_value_ok(v, len))
		return (0);
	while (http_tchar((unsigned char)v[i]))
		i++;
	if (i == 0 || v[i++] != '/' || !http_tchar((unsigned char)v[i]))
		return (0);
	while (http_tchar((unsigned char)v[i]))
		i++;
	while (v[i] == ' ' || v[i] == '\t')
		i++;
	return (v[i] == '\0' || v[i] == ';');
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
