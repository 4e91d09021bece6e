/*
 * fcgi_out: frame a response's bytes as full-size FCGI_STDOUT records and
 * write them with writev(2) on a non-blocking socket (fcgi_out_put): a
 * record the socket took in part is finished by the next call, so the
 * caller needs no buffer of its own beyond what it hands in; the ending
 * records (an empty STDOUT, END_REQUEST) follow the last byte in the same
 * write. fcgi_out_cut ends a response cut short where a record ends.
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

#include "fault.h"
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

/* Start a response's output: nothing written yet. */
void
fcgi_out_start(struct fcgi_out_state *st, int request_id)
{
	memset(st, 0, sizeof(*st));
	st->request_id = request_id;
	st->hdr_off = FCGI_OUT_HEADER_LEN;
}

/*
 * The ending records: an empty FCGI_STDOUT (the end of the stream) and
 * FCGI_END_REQUEST with appStatus app and protocolStatus proto. Pure.
 */
void
fcgi_out_tail(unsigned char t[FCGI_OUT_TAIL_LEN], int request_id, int app,
    int proto)
{
	memset(t, 0, FCGI_OUT_TAIL_LEN);
	fcgi_out_frame(t, request_id, 0);
	fcgi_out_end_record(t + FCGI_OUT_HEADER_LEN, request_id, app, proto);
}

/* An FCGI_END_REQUEST record (16 bytes) into rec. Pure. */
void
fcgi_out_end_record(unsigned char *rec, int request_id, int app, int proto)
{
	memset(rec, 0, FCGI_OUT_HEADER_LEN + 8);
	fcgi_out_header(rec, FCGI_OUT_END_REQUEST, request_id, 8, 0);
	rec[FCGI_OUT_HEADER_LEN] = (unsigned char)((app >> 24) & 0xff);
	rec[FCGI_OUT_HEADER_LEN + 1] = (unsigned char)((app >> 16) & 0xff);
	rec[FCGI_OUT_HEADER_LEN + 2] = (unsigned char)((app >> 8) & 0xff);
	rec[FCGI_OUT_HEADER_LEN + 3] = (unsigned char)(app & 0xff);
	rec[FCGI_OUT_HEADER_LEN + 4] = (unsigned char)proto;
}

/* What one writev of fcgi_out_put holds: each piece and what it is. */
struct fcgi_out_batch {
	struct iovec	 iov[FCGI_OUT_IOV_MAX];
	unsigned char	 hdrs[FCGI_OUT_IOV_MAX / 2][FCGI_OUT_HEADER_LEN];
	size_t		 reclen[FCGI_OUT_IOV_MAX];	/* a header's record */
	char		 kind[FCGI_OUT_IOV_MAX];	/* 'h', 'd', 't' */
	int		 n, nh;
};

static void
fcgi_out_batch_add(struct fcgi_out_batch *b, char kind, const void *p,
    size_t len, size_t reclen)
{
	b->iov[b->n].iov_base = (void *)(uintptr_t)p;
	b->iov[b->n].iov_len = len;
	b->kind[b->n] = kind;
	b->reclen[b->n] = reclen;
	b->n++;
}

/*
 * Frame src[0..nsrc) into the batch: the content the current record still
 * owes first, then new records. Returns the stdout bytes framed (all of
 * them unless the batch filled up); *owed is what the last record still
 * owes after them.
 */
static size_t
fcgi_out_batch_frame(struct fcgi_out_batch *b, const struct fcgi_out_state
    *st, const struct iovec *src, int nsrc, size_t *owed)
{
	size_t	 framed = 0, off = 0, len, total = 0;
	int	 i;

	*owed = st->rec_left;
	for (i = 0; i < nsrc; i++)
		total += src[i].iov_len;
	if (st->hdr_off < FCGI_OUT_HEADER_LEN)
		fcgi_out_batch_add(b, 'h', st->hdr + st->hdr_off,
		    FCGI_OUT_HEADER_LEN - st->hdr_off, st->rec_left);
	for (i = 0; i < nsrc && b->n + 3 < FCGI_OUT_IOV_MAX;) {
		if (off == src[i].iov_len) {
			i++;
			off = 0;
			continue;
		}
		if (*owed == 0) {
			*owed = total - framed < FCGI_OUT_RECORD_MAX ?
			    total - framed : FCGI_OUT_RECORD_MAX;
			fcgi_out_frame(b->hdrs[b->nh], st->request_id, *owed);
			fcgi_out_batch_add(b, 'h', b->hdrs[b->nh++],
			    FCGI_OUT_HEADER_LEN, *owed);
		}
		len = src[i].iov_len - off < *owed ? src[i].iov_len - off :
		    *owed;
		fcgi_out_batch_add(b, 'd', (const char *)src[i].iov_base + off,
		    len, 0);
		off += len;
		*owed -= len;
		framed += len;
	}
	return (framed);
}

/*
 * Account w bytes written of the batch into st; returns the stdout bytes
 * taken. A header written in part is kept in st to be finished first.
 */
static size_t
fcgi_out_batch_done(struct fcgi_out_batch *b, struct fcgi_out_state *st,
    size_t w)
{
	size_t	 taken = 0, part;
	int	 i;

	for (i = 0; i < b->n && w > 0; i++) {
		part = w < b->iov[i].iov_len ? w : b->iov[i].iov_len;
		w -= part;
		if (b->kind[i] == 'h') {
			st->rec_left = b->reclen[i];
			if (part < b->iov[i].iov_len) {
				memmove(st->hdr + (FCGI_OUT_HEADER_LEN -
				    b->iov[i].iov_len), b->iov[i].iov_base,
				    b->iov[i].iov_len);
				st->hdr_off = FCGI_OUT_HEADER_LEN -
				    b->iov[i].iov_len + part;
			} else
				st->hdr_off = FCGI_OUT_HEADER_LEN;
		} else if (b->kind[i] == 'd') {
			st->rec_left -= part;
			taken += part;
		} else
			st->tail_off += part;
	}
	return (taken);
}

/* Drop the first n bytes of src[0..*nsrc), in place. */
static void
fcgi_out_advance(struct iovec *src, int *nsrc, size_t n)
{
	int	 i = 0, j;

	while (i < *nsrc && n >= src[i].iov_len)
		n -= src[i++].iov_len;
	for (j = 0; i < *nsrc; i++, j++)
		src[j] = src[i];
	*nsrc = j;
	if (j > 0) {
		src[0].iov_base = (char *)src[0].iov_base + n;
		src[0].iov_len -= n;
	}
}

/*
 * Write stdout bytes src[0..nsrc) (nsrc <= FCGI_OUT_SRC_MAX) on the
 * non-blocking socket fd, framed as FCGI_STDOUT records of st's request,
 * and with end, once all are written and the last record is whole, the
 * ending records (st->tail, from fcgi_out_tail). A record written in part
 * is finished by the next call, whose src must start with the bytes not
 * taken (the caller keeps its position by *taken). Returns FCGI_OUT_DONE
 * (everything, and the end if asked, written), FCGI_OUT_AGAIN (the socket
 * is full: call again from *taken once it is writable), or FCGI_OUT_ERROR
 * with errno set (EPIPE or ECONNRESET: the web server went away).
 */
int
fcgi_out_put(int fd, struct fcgi_out_state *st, const struct iovec *src,
    int nsrc, int end, size_t *taken)
{
	struct fcgi_out_batch b;
	struct iovec	 cur[FCGI_OUT_SRC_MAX];
	size_t		 framed, owed, got, want = 0;
	ssize_t		 w;
	int		 i;

	*taken = 0;
	if (nsrc > FCGI_OUT_SRC_MAX) {
		errno = EINVAL;
		return (FCGI_OUT_ERROR);
	}
	for (i = 0; i < nsrc; i++) {
		cur[i] = src[i];
		want += src[i].iov_len;
	}
	for (;;) {
		b.n = b.nh = 0;
		framed = fcgi_out_batch_frame(&b, st, cur, nsrc, &owed);
		if (framed == want && end && owed == 0)
			fcgi_out_batch_add(&b, 't', st->tail + st->tail_off,
			    FCGI_OUT_TAIL_LEN - st->tail_off, 0);
		if (b.n == 0 || (b.n == 1 && b.iov[0].iov_len == 0))
			return (FCGI_OUT_DONE);
		w = FAULT(FAULT_FCGI_WRITE) ? fault_fail(EPIPE) :
		    writev(fd, b.iov, b.n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return (errno == EAGAIN || errno == EWOULDBLOCK ?
			    FCGI_OUT_AGAIN : FCGI_OUT_ERROR);
		got = fcgi_out_batch_done(&b, st, (size_t)w);
		*taken += got;
		want -= got;
		if (want == 0 && (!end || st->tail_off == FCGI_OUT_TAIL_LEN))
			return (FCGI_OUT_DONE);
		if (got < framed || (want == 0 && end && owed == 0))
			return (FCGI_OUT_AGAIN);
		/* The batch filled up before src ended: on with the rest. */
		fcgi_out_advance(cur, &nsrc, got);
	}
}

/*
 * Cut a response short on the non-blocking socket fd: where a record
 * ends, FCGI_END_REQUEST with appStatus 1, so that the web server sees
 * the body short of its Content-Length at once (see stream.c); inside a
 * record nothing can be written that the server would read as anything
 * but content. The caller closes fd. Returns 0 if the END_REQUEST went
 * out whole, else -1.
 */
int
fcgi_out_cut(int fd, const struct fcgi_out_state *st)
{
	unsigned char	 rec[FCGI_OUT_HEADER_LEN + 8];
	ssize_t		 n;

	if (st->rec_left != 0 || st->hdr_off != FCGI_OUT_HEADER_LEN ||
	    st->tail_off != 0)
		return (-1);
	fcgi_out_end_record(rec, st->request_id, 1, 0);
	do
		n = send(fd, rec, sizeof(rec), MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	return (n == (ssize_t)sizeof(rec) ? 0 : -1);
}
