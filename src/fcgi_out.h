/*
 * fcgi_out: FCGI_STDOUT records written straight to the request's socket.
 *
 * libfcgi's stdout stream buffers 8 KiB, so a large body becomes a write(2)
 * per 8 KiB record. Here a header block and a body chunk go out as
 * full-size records in one writev(2). This is the one place that writes
 * FastCGI record headers (FastCGI spec §3.3); fcgi_in.c's answers to
 * management records and refused roles use it too.
 */
#ifndef SLUICE_FCGI_OUT_H
#define SLUICE_FCGI_OUT_H

#include <stddef.h>

#define FCGI_OUT_HEADER_LEN	8
#define FCGI_OUT_RECORD_MAX	65528	/* content bytes, 8-aligned, < 65536 */
#define FCGI_OUT_IOV_MAX	32	/* 2 per record, 16 records per call */

/* Record types sluice writes (spec §8). */
#define FCGI_OUT_END_REQUEST	3
#define FCGI_OUT_STDOUT		6
#define FCGI_OUT_GET_VALUES_RESULT 10
#define FCGI_OUT_UNKNOWN_TYPE	11

/*
 * Called after every writev(2) that returns, with the bytes it wrote (0
 * when a send timeout expired with nothing written). Returning -1 stops the
 * send with errno as the callback set it.
 */
struct fcgi_out_pace {
	int	(*check)(void *arg, size_t written);
	void	*arg;
};

void	fcgi_out_header(unsigned char hdr[FCGI_OUT_HEADER_LEN], int type,
	    int request_id, size_t clen, size_t pad);
void	fcgi_out_frame(unsigned char hdr[FCGI_OUT_HEADER_LEN], int request_id,
	    size_t len);
int	fcgi_out_record(int fd, const unsigned char *rec, size_t len);
int	fcgi_out_send(int fd, int request_id, const void *a, size_t alen,
	    const void *b, size_t blen, const struct fcgi_out_pace *,
	    size_t *b_sent);
int	fcgi_out_end_short(int fd, int request_id);

#endif
