/*
 * stream: file checks and the body loop.
 *
 * The client never supplies a path: the path comes from the job row, and
 * even that is opened beneath the export root by confine (openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, O_NONBLOCK, fstat of the
 * descriptor), which leaves a regular file; its fstat is the facts the
 * plan checks (the recorded size).
 *
 * Memory: a response in flight is its struct stream_send; the buffer a
 * step reads through is lent by the caller (the event loop's one buffer,
 * or a deciding thread's), so nothing here grows with the file or with
 * the downloads in flight. A partly written record is finished by
 * reading its bytes again from the file. Once headers are out, a failure
 * can only be shown by cutting the response: never pad.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confine.h"
#include "fault.h"
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
	/*
	 * Regular file: O_NONBLOCK has no effect on reads; hint readahead
	 * where more than the first read is to come (one syscall less for a
	 * small file).
	 */
	if (S_ISREG(st.st_mode) && st.st_size > STREAM_FIRST)
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

/* The process at the other end of a unix socket: 0, or -1 (TCP). */
static int
stream_peer(int sock, int64_t *pid, int64_t *uid)
{
	/* Linux's struct ucred, which glibc declares under _GNU_SOURCE. */
	struct {
		pid_t	 pid;
		uid_t	 uid;
		gid_t	 gid;
	}		 uc;
	socklen_t	 len = sizeof(uc);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 ||
	    len != sizeof(uc) || uc.pid <= 0)
		return (-1);
	*pid = (int64_t)uc.pid;
	*uid = (int64_t)uc.uid;
	return (0);
}

/*
 * The uid of the process at the other end of the request's connection
 * (the web server's, when it connected over a unix socket), or -1 when
 * the kernel does not say (TCP reports no pid).
 */
int64_t
stream_peer_uid(int sock)
{
	int64_t	 pid, uid;

	return (stream_peer(sock, &pid, &uid) == -1 ? -1 : uid);
}

/* The pid of the process that connected (the web server's), or -1. */
int64_t
stream_peer_pid(int sock)
{
	int64_t	 pid, uid;

	return (stream_peer(sock, &pid, &uid) == -1 ? -1 : pid);
}

/*
 * Is process pid gone, or on its way out (a zombie, or its kernel flags
 * say PF_EXITING)? When the web server's process that held a download's
 * connection exits, the cut was its shutdown, not its client leaving.
 */
int
stream_pid_exiting(int64_t pid)
{
	char	 path[64], buf[512], *p;
	ssize_t	 n;
	unsigned long flags;
	char	 state;
	int	 fd;

	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (errno == ENOENT || errno == ESRCH);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return (1);
	buf[n] = '\0';
	/* "pid (comm) S ppid pgrp session tty tpgid flags ...": comm may
	 * hold anything, so count from its last ')'. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
		return (0);
	return (state == 'Z' || state == 'X' || (flags & 0x4) != 0);
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
		n = FAULT(FAULT_PREAD) ? fault_fail(EIO) : pread(fd, buf + got,
		    want - got, (off_t)(off + (int64_t)got));
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
 * Set s up to send, for request request_id, the header block hdr (and a
 * small body, or none) and then, if fd is not -1, the file's bytes
 * [off, off+len), ending the request after them. Nothing is copied: hdr
 * and body must stay valid until the first step returns, or until
 * stream_send_keep.
 */
void
stream_send_init(struct stream_send *s, int request_id, const void *hdr,
    size_t hdrlen, const void *body, size_t bodylen, int fd, int64_t off,
    int64_t len)
{
	memset(s, 0, sizeof(*s));
	fcgi_out_start(&s->out, request_id);
	fcgi_out_tail(s->out.tail, request_id, 0, 0);
	s->head[0].iov_base = (void *)(uintptr_t)hdr;
	s->head[0].iov_len = hdrlen;
	s->head[1].iov_base = (void *)(uintptr_t)body;
	s->head[1].iov_len = bodylen;
	s->fd = fd;
	s->pos = off;
	s->end = off + len;
}

/* Account taken bytes written: the head's first, then the file's. */
static void
stream_taken(struct stream_send *s, size_t taken)
{
	size_t	 i, part;
	int64_t	 body;

	for (i = 0; i < 2 && taken > 0; i++) {
		part = taken < s->head[i].iov_len ? taken : s->head[i].iov_len;
		s->head[i].iov_base = (char *)s->head[i].iov_base + part;
		s->head[i].iov_len -= part;
		taken -= part;
		if (i == 1)
			s->bytes += (int64_t)part;	/* a small body */
	}
	body = (int64_t)taken;
	s->pos += body;
	s->bytes += body;
	s->window_bytes += body;
	if (s->pre != NULL) {
		s->pre += taken;
		s->pre_len -= taken;
		if (s->pre_len == 0)
			s->pre = NULL;
	}
}

/*
 * The file's next bytes at s->pos, into buf (or the bytes read before
 * the headers): their length, 0 at the end, or -1 with *why set (logged).
 */
static long
stream_body_next(struct stream_send *s, unsigned char *buf, size_t bufsz,
    const unsigned char **data, enum stream_outcome *why)
{
	size_t	 want;
	long	 n;

	if (s->fd == -1 || s->pos >= s->end)
		return (0);
	want = s->end - s->pos < (int64_t)bufsz ? (size_t)(s->end - s->pos) :
	    bufsz;
	if (s->pre != NULL) {
		*data = s->pre;
		return ((long)(s->pre_len < want ? s->pre_len : want));
	}
	*data = buf;
	if ((n = stream_pread(s->fd, buf, want, s->pos)) == -1) {
		*why = STREAM_ERROR_IO;
		log_warn("event=file_error reason=read offset=%lld",
		    (long long)s->pos);
	} else if (n == 0) {
		/* The file shrank under us: never pad. */
		*why = STREAM_ERROR_SHORT_READ;
		log_warnx("event=file_error reason=short_read offset=%lld "
		    "expected_end=%lld", (long long)s->pos, (long long)s->end);
		n = -1;
	}
	return (n);
}

/* Keep only the first max bytes of src[0..*nsrc). */
static void
stream_trim(struct iovec *src, int *nsrc, size_t max)
{
	int	 i;

	for (i = 0; i < *nsrc; i++) {
		if (src[i].iov_len >= max) {
			src[i].iov_len = max;
			*nsrc = max > 0 ? i + 1 : i;
			return;
		}
		max -= src[i].iov_len;
	}
}

/*
 * Send as much of s as the socket sock (non-blocking) takes, up to about
 * budget bytes, reading the file through buf[0..bufsz) (lent for the
 * step; nothing in it is needed after); with s->finishing set, only the
 * rest of the record begun. Returns STREAM_STEP_DONE once the
 * request has ended whole, STREAM_STEP_AGAIN when the socket is full,
 * STREAM_STEP_MORE when the budget is spent, or STREAM_STEP_FAILED with
 * *why set: the web server went away (ABORTED_CLIENT), or the file could
 * not be read (ERROR_IO, ERROR_SHORT_READ); the caller cuts it.
 */
enum stream_step
stream_step(struct stream_send *s, int sock, unsigned char *buf,
    size_t bufsz, size_t budget, enum stream_outcome *why)
{
	struct iovec	 src[3];
	const unsigned char *data = NULL;
	size_t		 sent = 0, taken;
	long		 n;
	int		 nsrc, rc, last;

	for (;;) {
		if (s->finishing && s->out.rec_left == 0 &&
		    s->out.hdr_off == FCGI_OUT_HEADER_LEN) {
			*why = STREAM_ABORTED_CLIENT;	/* where a record ends */
			return (STREAM_STEP_FAILED);
		}
		nsrc = 0;
		if (s->head[0].iov_len > 0)
			src[nsrc++] = s->head[0];
		if (s->head[1].iov_len > 0)
			src[nsrc++] = s->head[1];
		if ((n = stream_body_next(s, buf, bufsz, &data, why)) == -1)
			return (STREAM_STEP_FAILED);
		if (n > 0) {
			src[nsrc].iov_base = (void *)(uintptr_t)data;
			src[nsrc++].iov_len = (size_t)n;
		}
		if (s->finishing)
			stream_trim(src, &nsrc, s->out.rec_left);
		last = s->fd == -1 || s->pos + n == s->end;
		rc = fcgi_out_put(sock, &s->out, src, nsrc, last, &taken);
		stream_taken(s, taken);
		sent += taken;
		if (rc == FCGI_OUT_ERROR) {
			*why = STREAM_ABORTED_CLIENT;
			return (STREAM_STEP_FAILED);
		}
		if (rc == FCGI_OUT_AGAIN)
			return (STREAM_STEP_AGAIN);
		if (last) {
			*why = STREAM_COMPLETE;
			return (STREAM_STEP_DONE);
		}
		if (sent >= budget)
			return (STREAM_STEP_MORE);
	}
}

/*
 * Make s independent of the memory it was set up with (its unsent head
 * is copied, the bytes read before the headers forgotten), to be stepped
 * later by another thread. Returns 0, or -1 (no memory).
 */
int
stream_send_keep(struct stream_send *s)
{
	size_t	 a = s->head[0].iov_len, b = s->head[1].iov_len;
	char	*p;

	s->pre = NULL;
	s->pre_len = 0;
	if (a + b == 0 || s->head_own != NULL)
		return (0);
	if ((p = malloc(a + b)) == NULL)
		return (-1);
	memcpy(p, s->head[0].iov_base, a);
	memcpy(p + a, s->head[1].iov_base, b);
	s->head_own = p;
	s->head[0].iov_base = p;
	s->head[0].iov_len = a;
	s->head[1].iov_base = p + a;
	s->head[1].iov_len = b;
	return (0);
}

/* Free what s owns (not the file, nor the socket). */
void
stream_send_free(struct stream_send *s)
{
	free(s->head_own);
	s->head_own = NULL;
}

/*
 * Cut s short on sock, which the caller then closes, with the request's
 * input (its STDIN) unread unless input_read. A close with input unread
 * reaches the web server as a reset, which nginx (1.22) and lighttpd
 * (1.4.69) pass on to their client at once, mid-record too; a plain
 * close is, to nginx, the end of a complete response, and its client
 * waits for keepalive_timeout. So only when the input was read does an
 * FCGI_END_REQUEST go first, where a record ends: short of the
 * Content-Length, it makes nginx drop its client at once (lighttpd takes
 * it for an end, and waits for its keep-alive idle time). Measured
 * behind each server (tests/integration, and bench/results).
 */
void
stream_cut(struct stream_send *s, int sock, int input_read)
{
	if (input_read)
		(void)fcgi_out_cut(sock, &s->out);
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
