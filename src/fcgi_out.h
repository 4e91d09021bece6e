/*
 * fcgi_out: FCGI_STDOUT records written straight to the request's socket,
 * full-size, a header block and a body chunk in one writev(2), across
 * partial writes of a non-blocking socket. This is the one place that
 * writes FastCGI record headers (FastCGI spec §3.3); the loop's answers to
 * management records and refused roles use it too.
 */
#ifndef SLUICE_FCGI_OUT_H
#define SLUICE_FCGI_OUT_H

#include <stddef.h>
#include <sys/uio.h>

#define FCGI_OUT_HEADER_LEN	8
#define FCGI_OUT_RECORD_MAX	65528	/* content bytes, 8-aligned, < 65536 */
#define FCGI_OUT_IOV_MAX	32	/* 2 per record, 16 records per call */

/* Record types sluice writes (spec §8). */
#define FCGI_OUT_END_REQUEST	3
#define FCGI_OUT_STDOUT		6
#define FCGI_OUT_GET_VALUES_RESULT 10
#define FCGI_OUT_UNKNOWN_TYPE	11

#define FCGI_OUT_TAIL_LEN	24	/* empty STDOUT + END_REQUEST */
#define FCGI_OUT_SRC_MAX	4	/* fcgi_out_put's src pieces */

enum {
	FCGI_OUT_DONE,
	FCGI_OUT_AGAIN,
	FCGI_OUT_ERROR
};

/* A response's records in progress on a non-blocking socket. */
struct fcgi_out_state {
	int		 request_id;
	unsigned char	 hdr[FCGI_OUT_HEADER_LEN];	/* begun, unfinished */
	size_t		 hdr_off;	/* of hdr written; HEADER_LEN: none */
	size_t		 rec_left;	/* content the record still owes */
	unsigned char	 tail[FCGI_OUT_TAIL_LEN];	/* the ending */
	size_t		 tail_off;	/* of tail written */
};

void	fcgi_out_header(unsigned char hdr[FCGI_OUT_HEADER_LEN], int type,
	    int request_id, size_t clen, size_t pad);
void	fcgi_out_frame(unsigned char hdr[FCGI_OUT_HEADER_LEN], int request_id,
	    size_t len);
void	fcgi_out_end_record(unsigned char *rec, int request_id, int app,
	    int proto);
void	fcgi_out_tail(unsigned char t[FCGI_OUT_TAIL_LEN], int request_id,
	    int app, int proto);
int	fcgi_out_record(int fd, const unsigned char *rec, size_t len);
void	fcgi_out_start(struct fcgi_out_state *, int request_id);
int	fcgi_out_put(int fd, struct fcgi_out_state *, const struct iovec *src,
	    int nsrc, int end, size_t *taken);
int	fcgi_out_cut(int fd, const struct fcgi_out_state *);

#endif
