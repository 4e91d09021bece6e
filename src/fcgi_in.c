/*
 * fcgi_in: the FastCGI records sluice reads itself, around libfcgi (see
 * fcgi_in.h for why). Two jobs:
 *   - fcgi_in_screen, before libfcgi reads a connection: answer the
 *     management records (GET_VALUES with the pool's numbers, anything
 *     else FCGI_UNKNOWN_TYPE), refuse a role other than responder with
 *     FCGI_UNKNOWN_ROLE, and leave a responder's BEGIN_REQUEST unread
 *     (MSG_PEEK) for FCGX_Accept_r;
 *   - fcgi_in_watch_aborted, while a body streams: read what the web
 *     server sent since, without blocking, and say whether it was an
 *     FCGI_ABORT_REQUEST for the request.
 * Records written (the answers) get their headers from fcgi_out.c, the
 * one writer of record headers. Nothing here allocates.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include "fcgi_in.h"
#include "fcgi_out.h"
#include "log.h"

#define FCGI_VERSION_1		1
#define FCGI_BEGIN_REQUEST	1
#define FCGI_ABORT_REQUEST	2
#define FCGI_STDIN		5
#define FCGI_GET_VALUES		9
#define FCGI_RESPONDER		1
#define FCGI_KEEP_CONN		1
#define FCGI_UNKNOWN_ROLE	3	/* END_REQUEST's protocolStatus */
#define FCGI_HEADER_LEN		FCGI_OUT_HEADER_LEN

/* One name-value pair's length (§3.4: 1 byte, or 4 with the top bit). */
static int
fcgi_in_pair_len(const unsigned char *p, size_t len, size_t *i, size_t *out)
{
	if (*i >= len)
		return (-1);
	if ((p[*i] & 0x80) == 0) {
		*out = p[(*i)++];
		return (0);
	}
	if (len - *i < 4)
		return (-1);
	*out = ((size_t)(p[*i] & 0x7f) << 24) | ((size_t)p[*i + 1] << 16) |
	    ((size_t)p[*i + 2] << 8) | p[*i + 3];
	*i += 4;
	return (0);
}

/*
 * The FCGI_GET_VALUES_RESULT record (§4.1) for a GET_VALUES whose content
 * is content[0..len): a pair for each variable asked for that sluice
 * knows (FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS); others are
 * left out, as the spec says. A pair cut off by the end of content ends
 * the list. Writes the whole record, padded, into dst; returns its
 * length, or 0 if dst is too small. Pure.
 */
size_t
fcgi_in_values_answer(unsigned char *dst, size_t dstsz,
    const unsigned char *content, size_t len, const struct fcgi_in_values *v)
{
	static const char *const names[] = { "FCGI_MAX_CONNS",
	    "FCGI_MAX_REQS", "FCGI_MPXS_CONNS" };
	size_t	 i = 0, o = FCGI_HEADER_LEN, nlen, vlen, k, pad;
	char	 val[24];
	int	 n;

	if (dstsz < FCGI_HEADER_LEN + 8)
		return (0);
	while (fcgi_in_pair_len(content, len, &i, &nlen) == 0 &&
	    fcgi_in_pair_len(content, len, &i, &vlen) == 0 &&
	    nlen <= len - i && vlen <= len - i - nlen) {
		for (k = 0; k < 3; k++)
			if (strlen(names[k]) == nlen &&
			    memcmp(names[k], content + i, nlen) == 0)
				break;
		i += nlen + vlen;
		if (k == 3)
			continue;
		n = snprintf(val, sizeof(val), "%ld", k == 0 ? v->max_conns :
		    k == 1 ? v->max_reqs : 0L);
		if (n < 0 || (size_t)n >= sizeof(val) ||
		    o + 2 + nlen + (size_t)n > dstsz)
			return (0);
		dst[o++] = (unsigned char)nlen;
		dst[o++] = (unsigned char)n;
		memcpy(dst + o, names[k], nlen);
		memcpy(dst + o + nlen, val, (size_t)n);
		o += nlen + (size_t)n;
	}
	pad = (8 - (o - FCGI_HEADER_LEN) % 8) % 8;
	if (o + pad > dstsz)
		return (0);
	memset(dst + o, 0, pad);
	fcgi_out_header(dst, FCGI_OUT_GET_VALUES_RESULT, 0, o - FCGI_HEADER_LEN,
	    pad);
	return (o + pad);
}

/*
 * Read exactly len bytes (peek: leave them unread), waiting as long as
 * the socket's receive timeout allows. Returns 0, 1 for a signal before
 * anything was read, or -1 (EOF, timeout, error).
 */
static int
fcgi_in_recv(int fd, unsigned char *buf, size_t len, int peek)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got < len) {
		n = recv(fd, buf + got, len - got,
		    peek ? MSG_PEEK | MSG_WAITALL : MSG_WAITALL);
		if (n == -1 && errno == EINTR) {
			if (got == 0)
				return (1);
			continue;
		}
		if (n <= 0)
			return (-1);
		if (peek)
			return ((size_t)n == len ? 0 : -1);
		got += (size_t)n;
	}
	return (0);
}

/* Read and drop len bytes. Returns 0 or -1. */
static int
fcgi_in_skip(int fd, size_t len)
{
	unsigned char	 trash[512];
	size_t		 n;

	while (len > 0) {
		n = len < sizeof(trash) ? len : sizeof(trash);
		if (fcgi_in_recv(fd, trash, n, 0) != 0)
			return (-1);
		len -= n;
	}
	return (0);
}

/*
 * A management record (request id 0) whose header h was read: answer
 * GET_VALUES, and any other type with FCGI_UNKNOWN_TYPE (§4.2). Returns 0
 * or -1.
 */
static int
fcgi_in_management(int fd, const unsigned char *h,
    const struct fcgi_in_values *v)
{
	unsigned char	 content[FCGI_IN_VALUES_MAX], out[128];
	size_t		 clen = ((size_t)h[4] << 8) | h[5], keep, n;

	keep = clen < sizeof(content) ? clen : sizeof(content);
	if (fcgi_in_recv(fd, content, keep, 0) != 0 ||
	    fcgi_in_skip(fd, clen - keep + h[6]) == -1)
		return (-1);
	if (h[1] == FCGI_GET_VALUES) {
		if ((n = fcgi_in_values_answer(out, sizeof(out), content, keep,
		    v)) == 0)
			return (-1);
		return (fcgi_out_record(fd, out, n));
	}
	memset(out, 0, 16);
	fcgi_out_header(out, FCGI_OUT_UNKNOWN_TYPE, 0, 8, 0);
	out[FCGI_HEADER_LEN] = h[1];
	return (fcgi_out_record(fd, out, 16));
}

/*
 * A BEGIN_REQUEST for a role other than responder (its 16 bytes peeked
 * into h): read it, and end the request with FCGI_UNKNOWN_ROLE (§5.1).
 * Returns 0 or -1.
 */
static int
fcgi_in_refuse(int fd, const unsigned char *h)
{
	unsigned char	 rec[16] = { 0 };
	int		 id = (h[2] << 8) | h[3];

	log_warnx("event=fcgi_refused reason=unknown_role role=%d",
	    (h[8] << 8) | h[9]);
	if (fcgi_in_skip(fd, 16 + (size_t)h[6]) == -1)
		return (-1);
	fcgi_out_header(rec, FCGI_OUT_END_REQUEST, id, 8, 0);
	rec[FCGI_HEADER_LEN + 4] = FCGI_UNKNOWN_ROLE;
	return (fcgi_out_record(fd, rec, sizeof(rec)));
}

/* The receive timeout for what follows: wait_ms, or none (<= 0). */
static int
fcgi_in_timeout(int fd, int wait_ms)
{
	struct timeval	 tv = { 0, 0 };

	if (wait_ms > 0) {
		tv.tv_sec = wait_ms / 1000;
		tv.tv_usec = (wait_ms % 1000) * 1000;
	}
	return (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
}

/*
 * Screen the connection fd (blocking) until a responder's BEGIN_REQUEST
 * is next, unread, for libfcgi: answer management records, refuse other
 * roles, and skip the records of a refused request. wait_ms bounds each
 * wait for a record (<= 0: none, for a kept connection between requests)
 * and, left on the socket, libfcgi's read of the params. Returns
 * FCGI_IN_RESPONDER, FCGI_IN_DONE (the caller closes fd: EOF, timeout,
 * garbage, a refused request without keep-conn) or FCGI_IN_INTR.
 */
enum fcgi_in_screen
fcgi_in_screen(int fd, const struct fcgi_in_values *v, int wait_ms)
{
	unsigned char	 h[16];
	int		 id, refused = -1, keep = 0, r;

	if (fcgi_in_timeout(fd, wait_ms) == -1)
		return (FCGI_IN_DONE);
	for (;;) {
		if ((r = fcgi_in_recv(fd, h, FCGI_HEADER_LEN, 1)) != 0)
			return (r == 1 ? FCGI_IN_INTR : FCGI_IN_DONE);
		if (h[0] != FCGI_VERSION_1)
			return (FCGI_IN_DONE);
		id = (h[2] << 8) | h[3];
		if (h[1] == FCGI_BEGIN_REQUEST && id != 0) {
			if (h[4] != 0 || h[5] != 8 ||
			    fcgi_in_recv(fd, h, sizeof(h), 1) != 0)
				return (FCGI_IN_DONE);
			if (((h[8] << 8) | h[9]) == FCGI_RESPONDER)
				return (FCGI_IN_RESPONDER);
			if (fcgi_in_refuse(fd, h) == -1)
				return (FCGI_IN_DONE);
			refused = id;
			keep = h[10] & FCGI_KEEP_CONN;
			continue;
		}
		if (fcgi_in_recv(fd, h, FCGI_HEADER_LEN, 0) != 0)
			return (FCGI_IN_DONE);
		if (id == 0) {
			if (fcgi_in_management(fd, h, v) == -1)
				return (FCGI_IN_DONE);
			continue;
		}
		/* A refused request's (or a stray) record: skipped. */
		if (fcgi_in_skip(fd, (((size_t)h[4] << 8) | h[5]) + h[6]) == -1)
			return (FCGI_IN_DONE);
		if (id == refused && h[1] == FCGI_STDIN && h[4] == 0 &&
		    h[5] == 0 && !keep)
			return (FCGI_IN_DONE);
	}
}

/*
 * Feed the bytes the web server sent during a response into the watch.
 * Returns 1 once an FCGI_ABORT_REQUEST for request_id was seen (then
 * always), else 0. Bytes that cannot be a record header (version other
 * than 1: the watch started mid-record) turn the watch off. Pure.
 */
int
fcgi_in_watch_feed(struct fcgi_in_watch *w, const unsigned char *p,
    size_t len, int request_id)
{
	size_t	 n;

	while (len > 0 && !w->off && !w->aborted) {
		if (w->skip > 0) {
			n = len < w->skip ? len : w->skip;
			w->skip -= n;
			p += n;
			len -= n;
			continue;
		}
		n = sizeof(w->hdr) - w->have;
		if (n > len)
			n = len;
		memcpy(w->hdr + w->have, p, n);
		w->have += n;
		p += n;
		len -= n;
		if (w->have < sizeof(w->hdr))
			break;
		w->have = 0;
		if (w->hdr[0] != FCGI_VERSION_1) {
			w->off = 1;
			break;
		}
		w->skip = (((size_t)w->hdr[4] << 8) | w->hdr[5]) + w->hdr[6];
		if (w->hdr[1] == FCGI_ABORT_REQUEST &&
		    ((w->hdr[2] << 8) | w->hdr[3]) == request_id)
			w->aborted = 1;
	}
	return (w->aborted);
}

/*
 * Read, without blocking, what the web server sent on fd since the
 * request's params (its empty STDIN, an abort) and feed it to the watch.
 * EOF or an error turns the watch off (a write will tell). Returns 1 when
 * the request was aborted, else 0.
 */
int
fcgi_in_watch_aborted(struct fcgi_in_watch *w, int fd, int request_id)
{
	unsigned char	 buf[256];
	ssize_t		 n;

	while (!w->off && !w->aborted) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			w->off = 1;
			break;
		}
		(void)fcgi_in_watch_feed(w, buf, (size_t)n, request_id);
	}
	return (w->aborted);
}
