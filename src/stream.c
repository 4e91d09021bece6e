/*
 * stream: file checks and the body loop.
 *
 * The client never supplies a path: the path comes from the job row, and
 * even that is opened beneath the export root by confine (openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, O_NONBLOCK, fstat of the
 * descriptor), which leaves a regular file; its fstat is the facts the
 * plan checks (the recorded size).
 *
 * Memory: one buffer per request thread, owned by the caller; nothing here
 * grows with the file. Once headers are out, a failure can only be shown by
 * cutting the connection without END_REQUEST: never pad.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "confine.h"
#include "fcgi_in.h"
#include "fcgi_out.h"
#include "http_hdr.h"
#include "job.h"
#include "log.h"
#include "plan.h"
#include "stream.h"

_Static_assert(sizeof(off_t) == 8, "build with -D_FILE_OFFSET_BITS=64");

/*
 * Log why job->file_path could not be used (escapes as security events)
 * and set *why. errno is still that of the failed call.
 */
static void
stream_open_log(enum confine_result res, const struct job *job,
    const char *qpath, const struct stat *st, const char **why)
{
	switch (res) {
	case CONFINE_ABSOLUTE:
		*why = "escape";
		log_warnx("event=security reason=absolute_path id=%s path=%s",
		    job->id, qpath);
		break;
	case CONFINE_ESCAPE:
		*why = "escape";
		log_warnx("event=security reason=escape id=%s path=%s",
		    job->id, qpath);
		break;
	case CONFINE_SYMLINK:
		*why = "symlink";
		log_warnx("event=security reason=symlink id=%s path=%s",
		    job->id, qpath);
		break;
	case CONFINE_MISSING:
		*why = "file_missing";
		log_warn("event=file_error reason=missing id=%s path=%s",
		    job->id, qpath);
		break;
	case CONFINE_FSTAT_FAILED:
		*why = "fstat_failed";
		log_warn("event=file_error reason=fstat id=%s path=%s",
		    job->id, qpath);
		break;
	case CONFINE_NOT_REGULAR:
		*why = "not_regular";
		log_warnx("event=file_error reason=not_regular id=%s path=%s "
		    "mode=%o", job->id, qpath, (unsigned)(st->st_mode & S_IFMT));
		break;
	case CONFINE_OPEN_FAILED:
	default:
		*why = "open_failed";
		log_warn("event=file_error reason=open id=%s path=%s",
		    job->id, qpath);
		break;
	}
}

/*
 * Open job->file_path beneath rootfd (see confine) and fstat it: the file
 * facts the plan checks (a regular file, of the row's size). Returns 0
 * with *fdp open (the caller closes it) and *f filled, or -1 with f->state
 * PLAN_FILE_ERROR and f->why set, and the reason logged; escapes are
 * logged as security events.
 */
int
stream_open(int rootfd, const struct job *job, int *fdp, struct plan_file *f)
{
	char			 qpath[LOG_VALUE_MAX * 4 + 8];
	struct stat		 st;
	enum confine_result	 res;
	int			 fd = -1;

	*fdp = -1;
	memset(f, 0, sizeof(*f));
	f->state = PLAN_FILE_ERROR;
	log_quote(qpath, sizeof(qpath), job->file_path);
	res = confine_file_open(rootfd, job->file_path, &fd, &st);
	if (res != CONFINE_OK) {
		stream_open_log(res, job, qpath, &st, &f->why);
		return (-1);
	}
	/* Regular file: O_NONBLOCK has no effect on reads; hint readahead. */
	if (S_ISREG(st.st_mode))
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	*fdp = fd;
	f->state = PLAN_FILE_OPEN;
	f->type = (unsigned)(st.st_mode & S_IFMT);
	f->perm = (unsigned)(st.st_mode & 07777);
	f->uid = (int64_t)st.st_uid;
	f->regular = S_ISREG(st.st_mode);
	f->size = st.st_size;
	f->ino = (uint64_t)st.st_ino;
	f->mtime_sec = st.st_mtim.tv_sec;
	f->mtime_nsec = st.st_mtim.tv_nsec;
	return (0);
}

/*
 * The uid of the process at the other end of the request's connection
 * (the web server's, when it connected over a unix socket), or -1 when
 * the kernel does not say (TCP reports no pid).
 */
int64_t
stream_peer_uid(const struct FCGX_Request *fr)
{
	/* Linux's struct ucred, which glibc declares under _GNU_SOURCE. */
	struct {
		pid_t	 pid;
		uid_t	 uid;
		gid_t	 gid;
	}		 uc;
	socklen_t	 len = sizeof(uc);

	if (getsockopt(fr->ipcFd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 ||
	    len != sizeof(uc) || uc.pid <= 0)
		return (-1);
	return ((int64_t)uc.uid);
}

void
stream_close(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

/* pread all of buf[0..want) at off, or less at end of file. */
static long
stream_pread(int fd, unsigned char *buf, size_t want, int64_t off)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got < want) {
		n = pread(fd, buf + got, want - got, (off_t)(off + (int64_t)got));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return ((long)got);
}

/*
 * Read the first chunk of [off, off+len) into buf before any header goes
 * out, so that an early I/O error or a file that shrank is a clean 500.
 * Returns the bytes read (min(bufsz, len)), or -1, logged.
 */
long
stream_read_first(int fd, unsigned char *buf, size_t bufsz, int64_t off,
    int64_t len)
{
	size_t	 want = len < (int64_t)bufsz ? (size_t)len : bufsz;
	long	 n;

	n = stream_pread(fd, buf, want, off);
	if (n == -1) {
		log_warn("event=file_error reason=read");
		return (-1);
	}
	if ((size_t)n != want) {
		log_warnx("event=file_error reason=short_read want=%zu got=%ld",
		    want, n);
		return (-1);
	}
	return (n);
}

/*
 * Cut the connection to the web server without END_REQUEST, so that it sees
 * the response as truncated, and free the request's streams. The next
 * FCGX_Accept_r then starts clean.
 */
void
stream_drop(FCGX_Request *req)
{
	int	 fd = req->ipcFd;

	FCGX_Free(req, 0);
	if (fd != -1) {
		(void)shutdown(fd, SHUT_RDWR);
		(void)close(fd);
	}
	req->ipcFd = -1;
}

/*
 * Send a whole small response: the header block and body (NULL/0 for none).
 * Returns 0, or -1 if the web server went away (the connection is then
 * dropped).
 */
int
stream_respond(FCGX_Request *req, const struct http_headers *h,
    const char *body, size_t bodylen, struct stream_result *res)
{
	res->bytes = 0;
	if (fcgi_out_send(req->ipcFd, req->requestId, h->buf, h->len, body,
	    bodylen, NULL, NULL) == -1) {
		res->outcome = STREAM_ABORTED_CLIENT;
		stream_drop(req);
		return (-1);
	}
	res->outcome = STREAM_COMPLETE;
	res->bytes = (int64_t)bodylen;
	return (0);
}

/*
 * The pace of one download, judged after every write, and what the web
 * server sent since its params (an FCGI_ABORT_REQUEST ends the response).
 */
struct stream_pace {
	const struct stream_limits *lim;
	struct timespec	 window_start;
	int64_t		 window_bytes;
	int		 fd, request_id;
	struct fcgi_in_watch in;
};

static int
stream_pace_check(void *arg, size_t written)
{
	struct stream_pace *p = arg;
	struct timespec	 now;
	int64_t		 elapsed_ms;

	if (*p->lim->abort_now) {
		errno = ECANCELED;
		return (-1);
	}
	/* A stalled send: has the web server given up on the request? */
	if (written == 0 && fcgi_in_watch_aborted(&p->in, p->fd,
	    p->request_id)) {
		errno = ECONNABORTED;
		return (-1);
	}
	p->window_bytes += (int64_t)written;
	if (p->lim->min_rate == 0 ||
	    clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return (0);
	elapsed_ms = (int64_t)(now.tv_sec - p->window_start.tv_sec) * 1000 +
	    (now.tv_nsec - p->window_start.tv_nsec) / 1000000;
	if (elapsed_ms < p->lim->rate_window * 1000)
		return (0);
	/* A whole window has passed: did the reader keep up? */
	if (p->window_bytes < p->lim->min_rate * p->lim->rate_window) {
		errno = ETIMEDOUT;
		return (-1);
	}
	p->window_start = now;
	p->window_bytes = 0;
	return (0);
}

/*
 * After the last body byte: wait, judging the pace as during the body,
 * until the socket has room again, then lift the send timeout. libfcgi then
 * writes the end-of-stream and END_REQUEST records, and a timeout there
 * would make it drop them, turning a complete download into a truncated
 * one. Returns 0, or -1 with errno set by the pace check or poll.
 */
static int
stream_drain_wait(int fd, const struct fcgi_out_pace *pace)
{
	static const struct timeval none = { 0, 0 };
	struct pollfd	 pfd = { fd, POLLOUT, 0 };
	int		 n;

	for (;;) {
		n = poll(&pfd, 1, STREAM_SEND_TIMEOUT * 1000);
		if (n == -1 && errno != EINTR)
			return (-1);
		if (n > 0) {
			if (pfd.revents & (POLLERR | POLLHUP)) {
				errno = EPIPE;
				return (-1);
			}
			break;
		}
		if (pace->check(pace->arg, 0) == -1)
			return (-1);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none)) ==
	    -1)
		return (-1);
	return (0);
}

/*
 * After a read failed or came up short, cut the response between
 * records: end the request short of its Content-Length
 * before closing. nginx (1.22, buffering on or off) takes a bare close
 * from a FastCGI backend for the end of a complete response and keeps
 * the client waiting for the rest until keepalive_timeout; an
 * END_REQUEST short of the length it logs as "upstream prematurely
 * closed FastCGI request" and drops the client at once. Apache
 * (mod_proxy_fcgi or mod_fcgid) drops it when KeepAliveTimeout
 * expires, either way; lighttpd at once after a bare close, after
 * its keep-alive idle time (5 s) after END_REQUEST. Measured in
 * tests/integration (suite.sh, apache.sh).
 */
static void
stream_cut_short(FCGX_Request *req)
{
	if (fcgi_out_end_short(req->ipcFd, req->requestId) == -1)
		log_warn("event=socket_error op=end_request");
	stream_drop(req);
}

/*
 * Send the header block with the first chunk (already in buf[0..first),
 * read by stream_read_first), then the rest of [off, off+len) chunk by
 * chunk through buf. It stops at once, and cuts the connection, when the
 * client goes away, the web server aborts the request (FCGI_ABORT_REQUEST,
 * FastCGI spec §5.4: seen between chunks, or while a send is stalled), a
 * read fails or comes up short, the reader is slower than lim allows, or
 * lim->abort_now is set; res says which and how many body bytes went out.
 */
void
stream_send_file(FCGX_Request *req, const struct http_headers *h,
    int fd, unsigned char *buf, size_t bufsz, size_t first,
    int64_t off, int64_t len, const struct stream_limits *lim,
    struct stream_result *res)
{
	struct stream_pace	 p = { lim, { 0, 0 }, 0, req->ipcFd,
				    req->requestId, { { 0 }, 0, 0, 0, 0 } };
	struct fcgi_out_pace	 pace = { stream_pace_check, &p };
	struct timeval		 tv = { STREAM_SEND_TIMEOUT, 0 };
	int64_t			 pos = off + (int64_t)first, end = off + len;
	size_t			 sent;
	long			 n;

	res->bytes = 0;
	res->outcome = STREAM_COMPLETE;
	/*
	 * Wake a stalled send now and then, to judge the reader's pace.
	 * Without it a stalled reader could hold the thread for ever, past
	 * any drain: then send nothing (the web server answers 502).
	 */
	if (setsockopt(req->ipcFd, SOL_SOCKET, SO_SNDTIMEO, &tv,
	    sizeof(tv)) == -1 ||
	    clock_gettime(CLOCK_MONOTONIC, &p.window_start) == -1) {
		log_warn("event=socket_error op=sndtimeo");
		res->outcome = STREAM_ERROR_IO;
		goto abort;
	}
	if (fcgi_out_send(req->ipcFd, req->requestId, h->buf, h->len, buf,
	    first, &pace, &sent) == -1) {
		res->bytes = (int64_t)sent;
		goto send_failed;
	}
	res->bytes = (int64_t)first;
	while (pos < end) {
		size_t want = end - pos < (int64_t)bufsz ?
		    (size_t)(end - pos) : bufsz;

		/* Between records: an abort is answered with END_REQUEST. */
		if (fcgi_in_watch_aborted(&p.in, req->ipcFd, req->requestId)) {
			res->outcome = STREAM_ABORTED_CLIENT;
			goto truncate;
		}
		n = stream_pread(fd, buf, want, pos);
		if (n == -1) {
			res->outcome = STREAM_ERROR_IO;
			log_warn("event=file_error reason=read offset=%lld",
			    (long long)pos);
			goto truncate;
		}
		if (n == 0) {
			/* The file shrank under us: never pad. */
			res->outcome = STREAM_ERROR_SHORT_READ;
			log_warnx("event=file_error reason=short_read "
			    "offset=%lld expected_end=%lld", (long long)pos,
			    (long long)end);
			goto truncate;
		}
		if (fcgi_out_send(req->ipcFd, req->requestId, NULL, 0, buf,
		    (size_t)n, &pace, &sent) == -1) {
			res->bytes += (int64_t)sent;
			goto send_failed;
		}
		pos += n;
		res->bytes += n;
	}
	if (stream_drain_wait(req->ipcFd, &pace) == -1)
		goto send_failed;
	return;
truncate:
	stream_cut_short(req);
	return;
send_failed:
	res->outcome = errno == ETIMEDOUT ? STREAM_ABORTED_SLOW :
	    errno == ECANCELED ? STREAM_ABORTED_SHUTDOWN :
	    STREAM_ABORTED_CLIENT;
abort:
	stream_drop(req);
}

const char *
stream_outcome_name(enum stream_outcome o)
{
	switch (o) {
	case STREAM_COMPLETE:
		return ("complete");
	case STREAM_ABORTED_CLIENT:
		return ("aborted:client");
	case STREAM_ABORTED_SLOW:
		return ("aborted:slow");
	case STREAM_ABORTED_SHUTDOWN:
		return ("aborted:shutdown");
	case STREAM_ERROR_IO:
		return ("error:io");
	case STREAM_ERROR_SHORT_READ:
		return ("error:short_read");
	case STREAM_OFFLOADED:
		return ("offloaded");
	}
	return ("unknown");
}
