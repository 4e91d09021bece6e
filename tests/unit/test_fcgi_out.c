/*
 * test_fcgi_out: the FCGI_STDOUT framing (FastCGI spec §3.3) of
 * src/fcgi_out.c. fcgi_out_frame is checked byte for byte; fcgi_out_send
 * writes into a real AF_UNIX stream socketpair, a child process writes
 * while the test reads the other end and parses the records back. The
 * pace tests swap the roles: the test sends, with a pace callback, to a
 * forked reader or to an end nobody reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cases.h"
#include "fcgi_out.h"

/*
 * fcgi_out_frame
 */

struct frame_case {
	const char	*name;
	int		 id;
	size_t		 len;
	unsigned char	 want[FCGI_OUT_HEADER_LEN];
};

static const struct frame_case frame_cases[] = {
	{ "id 1, len 0", 1, 0, { 1, 6, 0, 1, 0, 0, 0, 0 } },
	{ "id 1, len 1", 1, 1, { 1, 6, 0, 1, 0, 1, 0, 0 } },
	{ "id 1, len 255", 1, 255, { 1, 6, 0, 1, 0, 0xff, 0, 0 } },
	{ "id 1, len 256", 1, 256, { 1, 6, 0, 1, 1, 0, 0, 0 } },
	{ "id 1, len 65528", 1, 65528, { 1, 6, 0, 1, 0xff, 0xf8, 0, 0 } },
	{ "id 258, len 0", 258, 0, { 1, 6, 1, 2, 0, 0, 0, 0 } },
	{ "id 258, len 1", 258, 1, { 1, 6, 1, 2, 0, 1, 0, 0 } },
	{ "id 258, len 65528", 258, 65528,
	    { 1, 6, 1, 2, 0xff, 0xf8, 0, 0 } },
	{ "id 65535, len 4660", 65535, 0x1234,
	    { 1, 6, 0xff, 0xff, 0x12, 0x34, 0, 0 } },
};

static void
test_frame(void **state)
{
	unsigned char	 hdr[FCGI_OUT_HEADER_LEN + 4];
	size_t		 i, k;

	(void)state;
	for (i = 0; i < NITEMS(frame_cases); i++) {
		const struct frame_case *tc = &frame_cases[i];

		memset(hdr, 0xAA, sizeof(hdr));
		fcgi_out_frame(hdr, tc->id, tc->len);
		for (k = 0; k < FCGI_OUT_HEADER_LEN; k++)
			if (hdr[k] != tc->want[k])
				case_fail(tc->name, "byte %zu: 0x%02x, want "
				    "0x%02x", k, hdr[k], tc->want[k]);
		for (; k < sizeof(hdr); k++)
			if (hdr[k] != 0xAA)
				case_fail(tc->name, "wrote byte %zu", k);
	}
	end_cases();
}

/*
 * fcgi_out_send over a socketpair
 */

/* Read fd to EOF into a malloc'ed buffer; *lenp gets the length. */
static unsigned char *
read_all(int fd, size_t *lenp)
{
	unsigned char	*buf = NULL;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;

	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 262144;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*lenp = len;
	return (buf);
}

static void
on_alarm(int sig)
{
	(void)sig;
}

/*
 * Fork a writer on a stream socketpair whose writing end has a 4 KiB send
 * buffer, so large sends block part way. As fork(), returns 0 in the child
 * and its pid in the parent; *fd gets this side's end (the child writes,
 * the parent reads), the other end is closed.
 */
static pid_t
fork_writer(int *fd)
{
	int	 sv[2], sndbuf = 4096;
	pid_t	 pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)), 0);
	pid = fork();
	assert_true(pid != -1);
	close(sv[pid == 0 ? 1 : 0]);
	*fd = sv[pid == 0 ? 0 : 1];
	return (pid);
}

/* Reap the writer; returns its exit status. */
static int
wait_writer(pid_t pid)
{
	int	 status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return (WEXITSTATUS(status));
}

/*
 * Fork a writer that sends a and b on one end of a socketpair. A 1 ms
 * interval timer without SA_RESTART interrupts the blocked writev, so it
 * returns short counts (and EINTR) that fcgi_out must resume from. The
 * parent gets everything from the other end. Returns the child's exit
 * status: 0 for success, else errno of the failed send.
 */
static int
send_in_child(int id, const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen, unsigned char **out, size_t *outlen)
{
	int	 fd;
	pid_t	 pid;

	pid = fork_writer(&fd);
	if (pid == 0) {
		struct sigaction sa;
		struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
		int	 rc;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;	/* no SA_RESTART */
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGALRM, &sa, NULL) == -1 ||
		    setitimer(ITIMER_REAL, &it, NULL) == -1)
			_exit(254);
		rc = fcgi_out_send(fd, id, a, alen, b, blen, NULL, NULL);
		memset(&it, 0, sizeof(it));
		setitimer(ITIMER_REAL, &it, NULL);
		_exit(rc == -1 ? (errno != 0 ? errno : 255) : 0);
	}
	*out = read_all(fd, outlen);
	close(fd);
	return (wait_writer(pid));
}

struct send_case {
	const char	*name;
	int		 id;
	size_t		 alen;
	size_t		 blen;
};

static const struct send_case send_cases[] = {
	{ "header block and 200000-byte body", 1, 10, 200000 },
	{ "request id 258", 258, 10, 200000 },
	{ "body only", 1, 0, 200000 },
	{ "headers only", 1, 10, 0 },
	{ "nothing at all", 1, 0, 0 },
	{ "one byte each", 7, 1, 1 },
	{ "exactly one full record", 1, 0, FCGI_OUT_RECORD_MAX },
	{ "one full record and a byte", 1, 0, FCGI_OUT_RECORD_MAX + 1 },
	{ "a full record, then b", 1, FCGI_OUT_RECORD_MAX, 5 },
	/* More than 16 records: more than one writev of FCGI_OUT_IOV_MAX. */
	{ "17 records of body", 1, 0, 16 * FCGI_OUT_RECORD_MAX + 1 },
	{ "header, then 40 records", 3, 100, 40 * FCGI_OUT_RECORD_MAX - 7 },
	{ "4 MiB body", 65535, 4096, 4 << 20 },
};

static size_t
records_for(size_t len)
{
	return ((len + FCGI_OUT_RECORD_MAX - 1) / FCGI_OUT_RECORD_MAX);
}

static void
test_send(void **state)
{
	size_t	 i, k;

	(void)state;
	for (i = 0; i < NITEMS(send_cases); i++) {
		const struct send_case *tc = &send_cases[i];
		unsigned char	*a, *b, *out, *content;
		size_t		 outlen, off, clen = 0, nrec = 0;
		int		 rc;

		a = malloc(tc->alen + 1);
		b = malloc(tc->blen + 1);
		content = malloc(tc->alen + tc->blen + 1);
		assert_non_null(a);
		assert_non_null(b);
		assert_non_null(content);
		/* Different patterns, so a swapped or shifted byte shows. */
		for (k = 0; k < tc->alen; k++)
			a[k] = (unsigned char)(k * 7 + 3);
		for (k = 0; k < tc->blen; k++)
			b[k] = (unsigned char)(k * 13 + 1 + k / 251);

		rc = send_in_child(tc->id, a, tc->alen, b, tc->blen, &out,
		    &outlen);
		if (rc != 0)
			case_fail(tc->name, "send failed: %s", strerror(rc));

		/* Parse the stream back into records. */
		for (off = 0; off < outlen; ) {
			const unsigned char *h = out + off;
			size_t	 len, pad;

			if (outlen - off < FCGI_OUT_HEADER_LEN) {
				case_fail(tc->name, "%zu stray bytes",
				    outlen - off);
				break;
			}
			len = (size_t)h[4] << 8 | h[5];
			pad = h[6];
			if (h[0] != 1 || h[1] != 6)
				case_fail(tc->name, "record %zu: version %d "
				    "type %d", nrec, h[0], h[1]);
			if (((int)h[2] << 8 | h[3]) != tc->id)
				case_fail(tc->name, "record %zu: id %d", nrec,
				    (int)h[2] << 8 | h[3]);
			if (len == 0)
				case_fail(tc->name, "record %zu: empty "
				    "(would end the stream)", nrec);
			if (len > FCGI_OUT_RECORD_MAX)
				case_fail(tc->name, "record %zu: %zu bytes",
				    nrec, len);
			if (pad != 0 || h[7] != 0)
				case_fail(tc->name, "record %zu: padding %zu "
				    "reserved %d", nrec, pad, h[7]);
			off += FCGI_OUT_HEADER_LEN;
			if (outlen - off < len + pad) {
				case_fail(tc->name, "record %zu: truncated",
				    nrec);
				break;
			}
			if (clen + len > tc->alen + tc->blen) {
				case_fail(tc->name, "too much content");
				break;
			}
			memcpy(content + clen, out + off, len);
			clen += len;
			off += len + pad;
			nrec++;
		}
		if (clen != tc->alen + tc->blen)
			case_fail(tc->name, "content %zu bytes, want %zu",
			    clen, tc->alen + tc->blen);
		else if (memcmp(content, a, tc->alen) != 0 ||
		    memcmp(content + tc->alen, b, tc->blen) != 0)
			case_fail(tc->name, "content differs from a || b");
		/* Full-size records: as few as the two parts allow. */
		if (nrec != records_for(tc->alen) + records_for(tc->blen))
			case_fail(tc->name, "%zu records, want %zu", nrec,
			    records_for(tc->alen) + records_for(tc->blen));
		free(a);
		free(b);
		free(content);
		free(out);
	}
	end_cases();
}

/* NULL parts with a zero length are allowed: nothing is written. */
static void
test_send_nothing(void **state)
{
	int	 sv[2];
	char	 c;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcgi_out_send(sv[0], 1, NULL, 0, NULL, 0, NULL, NULL), 0);
	close(sv[0]);
	assert_int_equal(read(sv[1], &c, 1), 0);	/* EOF, no record */
	close(sv[1]);
}

/*
 * The web server went away: -1 with EPIPE, not a signal and not a hang.
 */
struct pipe_case {
	const char	*name;
	size_t		 alen;
	size_t		 blen;
};

static const struct pipe_case pipe_cases[] = {
	{ "small header block", 5, 0 },
	{ "large body", 10, 200000 },
	{ "body only", 0, 1 },
};

static void
test_send_epipe(void **state)
{
	static unsigned char	 buf[200000];
	size_t			 i;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < NITEMS(pipe_cases); i++) {
		const struct pipe_case *tc = &pipe_cases[i];
		int	 sv[2], rc;

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		close(sv[1]);
		errno = 0;
		rc = fcgi_out_send(sv[0], 1, buf, tc->alen, buf, tc->blen, NULL, NULL);
		if (rc != -1)
			case_fail(tc->name, "rc %d, want -1", rc);
		else if (errno != EPIPE)
			case_fail(tc->name, "errno %s, want EPIPE",
			    strerror(errno));
		close(sv[0]);
	}
	end_cases();
}

/* The peer closes in the middle of a large send: -1, EPIPE. */
static void
test_send_peer_closes_midway(void **state)
{
	static unsigned char	 body[4 << 20];
	unsigned char		 got[1000];
	int			 fd;
	pid_t			 pid;
	ssize_t			 n;

	(void)state;
	pid = fork_writer(&fd);
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		if (fcgi_out_send(fd, 1, "x", 1, body, sizeof(body), NULL, NULL) == -1)
			_exit(errno == EPIPE || errno == ECONNRESET ? 0 : 2);
		_exit(1);
	}
	n = read(fd, got, sizeof(got));
	assert_true(n > 0);
	assert_int_equal(got[0], 1);	/* a record header came first */
	assert_int_equal(got[1], 6);
	close(fd);
	assert_int_equal(wait_writer(pid), 0);
}

/*
 * The pace callback: fcgi_out_send reports what each writev wrote.
 */

#define PACE_LOG_MAX	64

/* What the callback saw, and when it is told to fail. */
struct pace_log {
	size_t	 written[PACE_LOG_MAX];	/* the first PACE_LOG_MAX calls */
	size_t	 ncalls;
	size_t	 nzero;		/* calls with written == 0 */
	size_t	 sum;
	size_t	 stop_call;	/* return -1 on this call; 0: never */
	size_t	 stop_zero;	/* return -1 on this written == 0 call */
	int	 stop_errno;
	int	 stopped;	/* has returned -1 */
	size_t	 after_stop;	/* calls after returning -1 */
};

static int
pace_check(void *arg, size_t written)
{
	struct pace_log	*pl = arg;

	if (pl->stopped)
		pl->after_stop++;
	if (pl->ncalls < PACE_LOG_MAX)
		pl->written[pl->ncalls] = written;
	pl->ncalls++;
	pl->sum += written;
	if (written == 0)
		pl->nzero++;
	if ((pl->stop_call != 0 && pl->ncalls == pl->stop_call) ||
	    (pl->stop_zero != 0 && written == 0 &&
	    pl->nzero == pl->stop_zero)) {
		pl->stopped = 1;
		errno = pl->stop_errno;
		return (-1);
	}
	return (0);
}

/* The bytes on the wire for a and b: content and a header per record. */
static size_t
framed_len(size_t alen, size_t blen)
{
	return (alen + blen + FCGI_OUT_HEADER_LEN *
	    (records_for(alen) + records_for(blen)));
}

/*
 * What each writev of fcgi_out_send writes when none comes back short: up
 * to FCGI_OUT_IOV_MAX / 2 records a call, a record being a header and up
 * to FCGI_OUT_RECORD_MAX content bytes of a, then of b. want[] gets the
 * first max sizes; returns the number of writevs.
 */
static size_t
writev_sizes(size_t alen, size_t blen, size_t *want, size_t max)
{
	size_t	 plen[2] = { alen, blen };
	size_t	 p, off, len, nrec = 0, nw = 0;

	for (p = 0; p < 2; p++)
		for (off = 0; off < plen[p]; off += len) {
			len = plen[p] - off;
			if (len > FCGI_OUT_RECORD_MAX)
				len = FCGI_OUT_RECORD_MAX;
			if (nrec++ % (FCGI_OUT_IOV_MAX / 2) == 0) {
				if (nw < max)
					want[nw] = 0;
				nw++;
			}
			if (nw <= max)
				want[nw - 1] += FCGI_OUT_HEADER_LEN + len;
		}
	return (nw);
}

/*
 * The other end of the socket a test sends on. A drained peer is a forked
 * reader (fork_writer's child, the roles swapped) that reads to EOF and
 * then writes back how many bytes it got. A stalled peer is the other end
 * left unread until the send is over, the sending end having a small send
 * buffer and a 100 ms send timeout.
 */
struct peer {
	int	 fd;		/* the end the test sends on */
	int	 other;		/* stalled: the unread end */
	pid_t	 pid;		/* drained: the reader */
};

/* The drained peer's child: count to EOF, report, exit. */
static void
drain_and_count(int fd)
{
	static char	 buf[65536];
	uint64_t	 got = 0;
	ssize_t		 n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			_exit(1);
		if (n == 0)
			break;
		got += (uint64_t)n;
	}
	if (write(fd, &got, sizeof(got)) != (ssize_t)sizeof(got))
		_exit(2);
	_exit(0);
}

static void
peer_open(struct peer *pr, int stalled)
{
	int		 sv[2], sndbuf = 4096;
	struct timeval	 tmo = { 0, 100000 };

	memset(pr, 0, sizeof(*pr));
	if (!stalled) {
		pr->pid = fork_writer(&pr->fd);
		if (pr->pid == 0)
			drain_and_count(pr->fd);
		pr->other = -1;
		return;
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tmo,
	    sizeof(tmo)), 0);
	pr->fd = sv[0];
	pr->other = sv[1];
	pr->pid = -1;
}

/*
 * Should pace not stop a send to a stalled peer, the watchdog shuts the
 * peer down after 10 s, so the send fails with EPIPE instead of hanging.
 */
static volatile sig_atomic_t	 watchdog_fd = -1;

static void
on_watchdog(int sig)
{
	(void)sig;
	if (watchdog_fd != -1)
		shutdown(watchdog_fd, SHUT_RDWR);
}

/* End the send; returns how many bytes reached the peer. */
static size_t
peer_close(struct peer *pr)
{
	static char	 buf[65536];
	uint64_t	 got = 0;
	size_t		 off = 0;
	ssize_t		 n;

	if (pr->pid != -1) {
		assert_int_equal(shutdown(pr->fd, SHUT_WR), 0);
		while (off < sizeof(got)) {
			n = read(pr->fd, (char *)&got + off,
			    sizeof(got) - off);
			if (n == -1 && errno == EINTR)
				continue;
			assert_true(n > 0);
			off += (size_t)n;
		}
		close(pr->fd);
		assert_int_equal(wait_writer(pr->pid), 0);
		return ((size_t)got);
	}
	for (;;) {
		n = recv(pr->other, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			break;
		}
		if (n == 0)	/* the watchdog shut it down */
			break;
		got += (uint64_t)n;
	}
	close(pr->fd);
	close(pr->other);
	return ((size_t)got);
}

static double
now(void)
{
	struct timespec	 ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/*
 * Send alen bytes then blen bytes to the peer with pl as the pace. With
 * short, a 4 KiB send buffer and a 1 ms interval timer without SA_RESTART
 * make writev return short counts (and EINTR). Returns fcgi_out_send's
 * result, its errno in *errp, the seconds it took in *secs and the bytes
 * the peer got in *got.
 */
static int
send_paced(size_t alen, size_t blen, int stalled, int short_writes,
    struct pace_log *pl, int *errp, double *secs, size_t *got)
{
	static unsigned char	 buf[4 << 20];
	struct fcgi_out_pace	 pace = { pace_check, pl };
	struct itimerval	 it = { { 0, 1000 }, { 0, 1000 } };
	struct sigaction	 sa, osa;
	struct peer		 pr;
	double			 t0;
	int			 rc, sndbuf = 4096;

	assert_true(alen <= sizeof(buf) && blen <= sizeof(buf));
	assert_false(stalled && short_writes);
	signal(SIGPIPE, SIG_IGN);
	peer_open(&pr, stalled);
	if (short_writes) {
		assert_int_equal(setsockopt(pr.fd, SOL_SOCKET, SO_SNDBUF,
		    &sndbuf, sizeof(sndbuf)), 0);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;	/* no SA_RESTART */
		sigemptyset(&sa.sa_mask);
		assert_int_equal(sigaction(SIGALRM, &sa, &osa), 0);
		assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	}
	if (stalled) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_watchdog;
		sigemptyset(&sa.sa_mask);
		assert_int_equal(sigaction(SIGALRM, &sa, &osa), 0);
		watchdog_fd = pr.other;
		alarm(10);
	}
	t0 = now();
	errno = 0;
	rc = fcgi_out_send(pr.fd, 1, buf, alen, buf, blen, &pace, NULL);
	*errp = errno;
	*secs = now() - t0;
	if (stalled) {
		alarm(0);
		watchdog_fd = -1;
		assert_int_equal(sigaction(SIGALRM, &osa, NULL), 0);
	}
	if (short_writes) {
		memset(&it, 0, sizeof(it));
		assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
		assert_int_equal(sigaction(SIGALRM, &osa, NULL), 0);
	}
	*got = peer_close(&pr);
	return (rc);
}

/*
 * A complete send to a reading peer: pace hears of every byte framed,
 * headers included, once, as the writevs wrote them.
 */
struct pace_case {
	const char	*name;
	size_t		 alen;
	size_t		 blen;
	int		 short_writes;
};

static const struct pace_case pace_cases[] = {
	{ "header block and 300000-byte body", 10, 300000, 0 },
	{ "header block and 300000-byte body, short writes", 10, 300000, 1 },
	{ "headers only", 10, 0, 0 },
	{ "body only", 0, 300000, 0 },
	{ "nothing at all", 0, 0, 0 },
	{ "17 records of body", 0, 16 * FCGI_OUT_RECORD_MAX + 1, 0 },
	{ "header, then 40 records", 100, 40 * FCGI_OUT_RECORD_MAX - 7, 0 },
	{ "header, then 40 records, short writes", 100,
	    40 * FCGI_OUT_RECORD_MAX - 7, 1 },
};

static void
test_pace_counts(void **state)
{
	size_t	 i, k;

	(void)state;
	for (i = 0; i < NITEMS(pace_cases); i++) {
		const struct pace_case *tc = &pace_cases[i];
		struct pace_log	 pl;
		size_t		 want[PACE_LOG_MAX], nw, total, got;
		double		 secs;
		int		 rc, err;

		memset(&pl, 0, sizeof(pl));
		total = framed_len(tc->alen, tc->blen);
		nw = writev_sizes(tc->alen, tc->blen, want, PACE_LOG_MAX);
		rc = send_paced(tc->alen, tc->blen, 0, tc->short_writes, &pl,
		    &err, &secs, &got);
		if (rc != 0)
			case_fail(tc->name, "send failed: %s", strerror(err));
		expect_int(tc->name, "sum of written", (long long)pl.sum,
		    (long long)total);
		expect_int(tc->name, "bytes the peer got", (long long)got,
		    (long long)total);
		expect_int(tc->name, "calls with written == 0",
		    (long long)pl.nzero, 0);
		if (!tc->short_writes) {
			/* Each writev wrote all it was given. */
			expect_int(tc->name, "calls", (long long)pl.ncalls,
			    (long long)nw);
			for (k = 0; k < pl.ncalls && k < nw &&
			    k < PACE_LOG_MAX; k++)
				if (pl.written[k] != want[k])
					case_fail(tc->name, "call %zu: written "
					    "%zu, want %zu", k, pl.written[k],
					    want[k]);
		} else if (pl.ncalls < nw)
			case_fail(tc->name, "%zu calls, want at least %zu",
			    pl.ncalls, nw);
	}
	end_cases();
}

/*
 * pace returns -1: the send stops there, with pace's errno. A stalled
 * peer makes writev time out (SO_SNDTIMEO) with nothing written, which
 * pace hears as 0; a drained peer takes every writev whole. A stop asked
 * for by the writev that wrote the last byte comes too late: the send is
 * complete and returns 0, so a whole response keeps its END_REQUEST.
 */
struct stop_case {
	const char	*name;
	size_t		 alen;
	size_t		 blen;
	int		 stalled;
	size_t		 stop_call;	/* see struct pace_log */
	size_t		 stop_zero;
	int		 stop_errno;
	int		 completes;	/* the stop came with the last byte */
};

static const struct stop_case stop_cases[] = {
	{ "stalled peer, third timeout", 10, 300000, 1, 0, 3, ETIMEDOUT, 0 },
	{ "stalled peer, first timeout", 10, 300000, 1, 0, 1, ETIMEDOUT, 0 },
	{ "stalled peer, stop on first call", 10, 300000, 1, 1, 0,
	    ECANCELED, 0 },
	{ "stop on first call, one writev", 10, 300000, 0, 1, 0, ECANCELED,
	    1 },
	{ "stop on first call, small send", 10, 100, 0, 1, 0, ECANCELED, 1 },
	{ "stop on last of 3 writevs", 100, 40 * FCGI_OUT_RECORD_MAX - 7, 0,
	    3, 0, ECANCELED, 1 },
	{ "stop on first of 3 writevs", 100, 40 * FCGI_OUT_RECORD_MAX - 7, 0,
	    1, 0, ECANCELED, 0 },
	{ "stop on second of 3 writevs", 100, 40 * FCGI_OUT_RECORD_MAX - 7, 0,
	    2, 0, ECANCELED, 0 },
};

static void
test_pace_stop(void **state)
{
	size_t	 i, k;

	(void)state;
	for (i = 0; i < NITEMS(stop_cases); i++) {
		const struct stop_case *tc = &stop_cases[i];
		struct pace_log	 pl;
		size_t		 want[PACE_LOG_MAX], got;
		double		 secs;
		int		 rc, err;

		memset(&pl, 0, sizeof(pl));
		pl.stop_call = tc->stop_call;
		pl.stop_zero = tc->stop_zero;
		pl.stop_errno = tc->stop_errno;
		rc = send_paced(tc->alen, tc->blen, tc->stalled, 0, &pl, &err,
		    &secs, &got);
		expect_int(tc->name, "rc", rc, tc->completes ? 0 : -1);
		if (!tc->completes && err != tc->stop_errno)
			case_fail(tc->name, "errno %s, want %s", strerror(err),
			    strerror(tc->stop_errno));
		if (secs >= 5.0)
			case_fail(tc->name, "took %.2f s", secs);
		expect_int(tc->name, "stopped", pl.stopped, 1);
		expect_int(tc->name, "calls after -1", (long long)pl.after_stop,
		    0);
		if (tc->stop_call != 0)
			expect_int(tc->name, "calls", (long long)pl.ncalls,
			    (long long)tc->stop_call);
		if (tc->stop_zero != 0)
			expect_int(tc->name, "calls with written == 0",
			    (long long)pl.nzero, (long long)tc->stop_zero);
		/* Nothing was written that pace did not hear of. */
		expect_int(tc->name, "bytes the peer got", (long long)got,
		    (long long)pl.sum);
		if (tc->stalled) {
			if (pl.sum >= framed_len(tc->alen, tc->blen))
				case_fail(tc->name, "stalled peer took all "
				    "%zu bytes", pl.sum);
			continue;
		}
		writev_sizes(tc->alen, tc->blen, want, PACE_LOG_MAX);
		for (k = 0; k < pl.ncalls && k < PACE_LOG_MAX; k++)
			if (pl.written[k] != want[k])
				case_fail(tc->name, "call %zu: written %zu, "
				    "want %zu", k, pl.written[k], want[k]);
	}
	end_cases();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_send),
		cmocka_unit_test(test_send_nothing),
		cmocka_unit_test(test_send_epipe),
		cmocka_unit_test(test_send_peer_closes_midway),
		cmocka_unit_test(test_pace_counts),
		cmocka_unit_test(test_pace_stop),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
