/*
 * stream: the file and the response's bytes. Opens the job's file beneath
 * the export root and checks it; then sends a response on the web
 * server's non-blocking socket, a step at a time (stream_step): its
 * header block, and its body in fixed-size reads through a buffer the
 * caller lends for the step, so that a download in flight is a small
 * struct stream_send and no buffer of its own.
 */
#ifndef SLUICE_STREAM_H
#define SLUICE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "fcgi_out.h"

struct job;
struct plan_file;

#define STREAM_CHUNK	(4 * FCGI_OUT_RECORD_MAX)	/* a step's read */
#define STREAM_FIRST	FCGI_OUT_RECORD_MAX	/* read before headers */
#define STREAM_BUDGET	(1024 * 1024)	/* bytes per step: fairness */

enum stream_outcome {
	STREAM_COMPLETE,
	STREAM_ABORTED_CLIENT,
	STREAM_ABORTED_SLOW,
	STREAM_ABORTED_SHUTDOWN,
	STREAM_ERROR_IO,
	STREAM_ERROR_SHORT_READ,
	STREAM_OFFLOADED		/* handed to the web server: bytes unknown */
};

enum stream_step {
	STREAM_STEP_DONE,	/* all sent, the request ended */
	STREAM_STEP_AGAIN,	/* the socket is full: wait until writable */
	STREAM_STEP_MORE,	/* the budget is spent: step again soon */
	STREAM_STEP_FAILED	/* stopped: see the outcome; cut it */
};

/* One response on its way: what is left to send, and where. */
struct stream_send {
	struct fcgi_out_state out;
	struct iovec	 head[2];	/* header block, small body: unsent */
	void		*head_own;	/* head's copy, malloc'd; or NULL */
	int		 fd;		/* the file; -1: no file body */
	int64_t		 pos, end;	/* the file's bytes left */
	const unsigned char *pre;	/* [pos, pos+pre_len) already read */
	size_t		 pre_len;
	int64_t		 bytes;		/* body bytes sent */
	int		 finishing;	/* end the record begun, then stop */
	int64_t		 window_start_ms;	/* the pace's window */
	int64_t		 window_bytes;
};

int	stream_open(int rootfd, const struct job *, int *fd,
	    struct plan_file *);
void	stream_close(int *fd);
long	stream_read_first(int fd, unsigned char *buf,
	    size_t bufsz, int64_t off, int64_t len);
void	stream_send_init(struct stream_send *, int request_id,
	    const void *hdr, size_t hdrlen, const void *body, size_t bodylen,
	    int fd, int64_t off, int64_t len);
enum stream_step stream_step(struct stream_send *, int sock,
	    unsigned char *buf, size_t bufsz, size_t budget,
	    enum stream_outcome *);
int	stream_send_keep(struct stream_send *);
void	stream_send_free(struct stream_send *);
void	stream_cut(struct stream_send *, int sock, int input_read);
int64_t	stream_peer_uid(int sock);
int64_t	stream_peer_pid(int sock);
int	stream_pid_exiting(int64_t pid);
const char *stream_outcome_name(enum stream_outcome);

#endif
