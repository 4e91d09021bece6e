/*
 * stream: the file and the response transport. Opens the job's file beneath
 * the export root, checks it, and sends responses to the web server: small
 * ones whole, files in fixed-size chunks from one per-thread buffer.
 */
#ifndef SLUICE_STREAM_H
#define SLUICE_STREAM_H

#include <stddef.h>
#include <stdint.h>

struct FCGX_Request;
struct job;
struct plan_file;
struct http_headers;

#define STREAM_CHUNK	(256 * 1024)	/* per-thread read buffer */


enum stream_outcome {
	STREAM_COMPLETE,
	STREAM_ABORTED_CLIENT,
	STREAM_ABORTED_SLOW,
	STREAM_ABORTED_SHUTDOWN,
	STREAM_ERROR_IO,
	STREAM_ERROR_SHORT_READ,
	STREAM_OFFLOADED		/* handed to the web server: bytes unknown */
};

#define STREAM_SEND_TIMEOUT	1	/* s: how often a stalled send wakes */

/* When to give up on a download: a slow reader, or the drain deadline. */
struct stream_limits {
	int64_t			 min_rate;	/* bytes/s; 0: no minimum */
	int64_t			 rate_window;	/* seconds */
	const _Atomic int	*abort_now;	/* set: stop at once */
};

struct stream_result {
	enum stream_outcome	 outcome;
	int64_t			 bytes;		/* body bytes sent */
};

int	stream_open(int rootfd, const struct job *, int *fd,
	    struct plan_file *);
void	stream_close(int *fd);
long	stream_read_first(int fd, unsigned char *buf,
	    size_t bufsz, int64_t off, int64_t len);
int	stream_respond(struct FCGX_Request *, const struct http_headers *,
	    const char *body, size_t bodylen, struct stream_result *);
void	stream_send_file(struct FCGX_Request *, const struct http_headers *,
	    int fd, unsigned char *buf, size_t bufsz,
	    size_t first, int64_t off, int64_t len,
	    const struct stream_limits *, struct stream_result *);
void	stream_drop(struct FCGX_Request *);
int64_t	stream_peer_uid(const struct FCGX_Request *);
const char *stream_outcome_name(enum stream_outcome);

#endif
