/*
 * fcgi_out: frame bytes as FCGI_STDOUT records and write them with one
 * writev(2), retrying partial writes. END_REQUEST is libfcgi's when the
 * request is finished; fcgi_out_end_short ends a body cut short between
 * records.
 *
 * Why pread + writev and not sendfile(2) of the file between record
 * headers (measured, Linux 6.18, 2 vCPU, 2 GiB page-cached file, 64 KiB
 * records, 4 rounds each behind nginx, lighttpd and Apache): sendfile
 * cut sluice's own CPU from about 0.5 s to 0.3 s per 2 GiB, but every web
 * server then spent 0.25 to 0.35 s MORE reading the socket (the data
 * arrives as page references, copied cold from the page cache, instead
 * of bytes sluice had just written), so the total went up and no
 * server's throughput improved. A larger SO_SNDBUF (1 MiB) and smaller
 * records (1 to 32 KiB, tried for lighttpd) made no measurable difference
 * either. What decides the speed is the web server's relay (its buffer
 * sizes), not this loop.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "fcgi_out.h"

#define FCGI_VERSION_1	1

/*
 * Fill hdr with a record header of type for request_id, clen content
 * bytes (< 65536) and pad padding bytes (FastCGI spec §3.3). Pure.
 */
void
fcgi_out_header(unsigned char hdr[FCGI_OUT_HEADER_LEN], int type,
    int request_id, size_t clen, size_t pad)
{
	hdr[0] = FCGI_VERSION_1;
	hdr[1] = (unsigned char)type;
	hdr[2] = (unsigned char)((request_id >> 8) & 0xff);
	hdr[3] = (unsigned char)(request_id & 0xff);
	hdr[4] = (unsigned char)((clen >> 8) & 0xff);
	hdr[5] = (unsigned char)(clen & 0xff);
	hdr[6] = (unsigned char)pad;
	hdr[7] = 0;
}

/*
 * Fill hdr with an FCGI_STDOUT record header for len (<=
 * FCGI_OUT_RECORD_MAX) content bytes, no padding. Pure.
 */
void
fcgi_out_frame(unsigned char hdr[FCGI_OUT_HEADER_LEN], int request_id,
    size_t len)
{
	fcgi_out_header(hdr, FCGI_OUT_STDOUT, request_id, len, 0);
}

/*
 * Write all of rec[0..len) to fd (a whole record or several), retrying
 * partial writes and signals. Returns 0, or -1 if it did not all go out.
 */
int
fcgi_out_record(int fd, const unsigned char *rec, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = send(fd, rec, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		rec += n;
		len -= (size_t)n;
	}
	return (0);
}

/*
 * Write all of iov[0..n), advancing it across partial writes, and add to
 * *sent the bytes written from the iovecs marked in counted[]. With a send
 * timeout on fd (SO_SNDTIMEO), a stalled peer makes writev return EAGAIN
 * now and then, so pace can judge the progress. Returns 0, -1 with errno
 * set, or 1 when pace asked to stop just as everything was written (the
 * caller decides: a complete response must keep its END_REQUEST).
 */
static int
fcgi_out_writev_all(int fd, struct iovec *iov, const unsigned char *counted,
    int n, const struct fcgi_out_pace *pace, size_t *sent)
{
	ssize_t	 w;
	int	 stop;

	while (n > 0) {
		w = writev(fd, iov, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return (-1);
			w = 0;
		}
		stop = pace != NULL && pace->check(pace->arg, (size_t)w) == -1;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			if (*counted)
				*sent += iov->iov_len;
			w -= (ssize_t)iov->iov_len;
			iov++;
			counted++;
			n--;
		}
		if (n > 0) {
			if (*counted)
				*sent += (size_t)w;
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
			if (stop)
				return (-1);
		} else if (stop)
			return (1);
	}
	return (0);
}

/*
 * Send a[0..alen) then b[0..blen) on fd as FCGI_STDOUT records of request
 * request_id. Either may be empty (an empty record would mean end of
 * stream, so none is written for it). pace, if not NULL, is consulted
 * after each write. *b_sent, if not NULL, gets the bytes of b written, also
 * when the send fails. Returns 0, or -1 with errno set (EPIPE or ECONNRESET
 * when the web server or its client went away, or what pace set).
 */
int
fcgi_out_send(int fd, int request_id, const void *a, size_t alen,
    const void *b, size_t blen, const struct fcgi_out_pace *pace,
    size_t *b_sent)
{
	unsigned char	 hdrs[FCGI_OUT_IOV_MAX / 2][FCGI_OUT_HEADER_LEN];
	unsigned char	 counted[FCGI_OUT_IOV_MAX];
	struct iovec	 iov[FCGI_OUT_IOV_MAX];
	size_t		 sent = 0;
	const unsigned char *part[2] = { a, b };
	size_t		 plen[2] = { alen, blen };
	int		 n = 0, p, rc = 0;

	for (p = 0; p < 2 && rc == 0; p++) {
		size_t	 off = 0;

		while (off < plen[p]) {
			size_t	 len = plen[p] - off;

			if (len > FCGI_OUT_RECORD_MAX)
				len = FCGI_OUT_RECORD_MAX;
			if (n + 2 > FCGI_OUT_IOV_MAX) {
				/* More to come: a stop request stops it. */
				if ((rc = fcgi_out_writev_all(fd, iov, counted,
				    n, pace, &sent)) != 0) {
					rc = -1;
					break;
				}
				n = 0;
			}
			fcgi_out_frame(hdrs[n / 2], request_id, len);
			iov[n].iov_base = hdrs[n / 2];
			iov[n].iov_len = FCGI_OUT_HEADER_LEN;
			iov[n + 1].iov_base = (void *)(uintptr_t)(part[p] + off);
			iov[n + 1].iov_len = len;
			counted[n] = 0;
			counted[n + 1] = p == 1;
			n += 2;
			off += len;
		}
	}
	/* The last batch: once all of it is written, the send is done. */
	if (rc == 0 && n > 0 &&
	    fcgi_out_writev_all(fd, iov, counted, n, pace, &sent) == -1)
		rc = -1;
	if (b_sent != NULL)
		*b_sent = sent;
	return (rc);
}

/*
 * End request_id on fd with FCGI_END_REQUEST (appStatus 1) after a body
 * cut short of its Content-Length, its last record written whole. Returns
 * 0, or -1 if the record did not go out whole.
 */
int
fcgi_out_end_short(int fd, int request_id)
{
	unsigned char	 rec[FCGI_OUT_HEADER_LEN + 8] = { 0 };

	fcgi_out_header(rec, FCGI_OUT_END_REQUEST, request_id, 8, 0);
	rec[FCGI_OUT_HEADER_LEN + 3] = 1;	/* appStatus, big-endian */
	/* protocolStatus 0: FCGI_REQUEST_COMPLETE */
	return (fcgi_out_record(fd, rec, sizeof(rec)));
}
