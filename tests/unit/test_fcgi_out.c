/*
 * test_fcgi_out: the FCGI_STDOUT framing (FastCGI spec §3.3) of
 * src/fcgi_out.c. fcgi_out_frame is checked byte for byte; fcgi_out_put
 * writes into a real AF_UNIX stream socketpair, non-blocking, with a 4 KiB
 * send buffer (and, in some cases, a 1 ms timer that interrupts the
 * writes), so records are cut anywhere, headers included: a child process
 * writes, as the event loop does, while the test reads the other end and
 * parses the records back. fcgi_out_cut is checked at and inside a
 * record.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
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
 * fcgi_out_put over a socketpair
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
 * buffer and is non-blocking. As fork(), returns 0 in the child and its
 * pid in the parent; *fd gets this side's end (the child writes, the
 * parent reads), the other end is closed.
 */
static pid_t
fork_writer(int *fd)
{
	int	 sv[2], sndbuf = 4096;
	pid_t	 pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
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
 * Put a || b as the event loop does: each call from the bytes not yet
 * taken, waiting for the socket to be writable after FCGI_OUT_AGAIN.
 * Returns 0, or errno of the failure.
 */
static int
put_all(int fd, int id, const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen, int end)
{
	struct fcgi_out_state st;
	struct pollfd	 pfd = { fd, POLLOUT, 0 };
	struct iovec	 src[2];
	size_t		 off = 0, taken;
	int		 rc;

	fcgi_out_start(&st, id);
	fcgi_out_tail(st.tail, id, 0, 0);
	for (;;) {
		src[0].iov_base = (void *)(uintptr_t)(a + (off < alen ? off :
		    alen));
		src[0].iov_len = off < alen ? alen - off : 0;
		src[1].iov_base = (void *)(uintptr_t)(b + (off > alen ?
		    off - alen : 0));
		src[1].iov_len = blen - (off > alen ? off - alen : 0);
		rc = fcgi_out_put(fd, &st, src, 2, end, &taken);
		off += taken;
		if (rc == FCGI_OUT_DONE)
			return (off == alen + blen ? 0 : 255);
		if (rc == FCGI_OUT_ERROR)
			return (errno != 0 ? errno : 255);
		while (poll(&pfd, 1, -1) == -1 && errno == EINTR)
			;
	}
}

/*
 * Fork a writer that puts a || b on one end of a socketpair, with a 1 ms
 * interval timer without SA_RESTART when interrupt is set, so writev
 * also returns EINTR. The parent gets everything from the other end.
 * Returns the child's exit status: 0 for success, else an errno.
 */
static int
put_in_child(int id, const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen, int end, int interrupt,
    unsigned char **out, size_t *outlen)
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
		if (interrupt && (sigaction(SIGALRM, &sa, NULL) == -1 ||
		    setitimer(ITIMER_REAL, &it, NULL) == -1))
			_exit(254);
		rc = put_all(fd, id, a, alen, b, blen, end);
		memset(&it, 0, sizeof(it));
		setitimer(ITIMER_REAL, &it, NULL);
		_exit(rc);
	}
	*out = read_all(fd, outlen);
	close(fd);
	return (wait_writer(pid));
}

struct put_case {
	const char	*name;
	int		 id;
	size_t		 alen;
	size_t		 blen;
	int		 end;
	int		 interrupt;
};

static const struct put_case put_cases[] = {
	{ "header block and 200000-byte body", 1, 10, 200000, 1, 0 },
	{ "the same, interrupted", 1, 10, 200000, 1, 1 },
	{ "request id 258", 258, 10, 200000, 1, 0 },
	{ "body only", 1, 0, 200000, 1, 0 },
	{ "headers only", 1, 10, 0, 1, 0 },
	{ "nothing but the end", 1, 0, 0, 1, 0 },
	{ "nothing at all", 1, 0, 0, 0, 0 },
	{ "one byte each, no end", 7, 1, 1, 0, 0 },
	{ "exactly one full record", 1, 0, FCGI_OUT_RECORD_MAX, 1, 0 },
	{ "one full record and a byte", 1, 0, FCGI_OUT_RECORD_MAX + 1, 1, 0 },
	{ "a full record, then b", 1, FCGI_OUT_RECORD_MAX, 5, 1, 0 },
	/* More than 16 records: more than one writev of FCGI_OUT_IOV_MAX. */
	{ "40 records", 1, 100, 40 * FCGI_OUT_RECORD_MAX - 7, 1, 0 },
	{ "40 records, interrupted", 3, 100, 40 * FCGI_OUT_RECORD_MAX - 7, 1,
	    1 },
};

static size_t
records_for(size_t len)
{
	return ((len + FCGI_OUT_RECORD_MAX - 1) / FCGI_OUT_RECORD_MAX);
}

/* The ending records a put with end writes for request id. */
static void
check_tail(const struct put_case *tc, const unsigned char *t, size_t len)
{
	static const unsigned char want[FCGI_OUT_TAIL_LEN] = {
		1, 6, 0, 0, 0, 0, 0, 0,		/* empty STDOUT */
		1, 3, 0, 0, 0, 8, 0, 0,		/* END_REQUEST */
		0, 0, 0, 0, 0, 0, 0, 0		/* appStatus 0, complete */
	};
	unsigned char	 w[FCGI_OUT_TAIL_LEN];

	memcpy(w, want, sizeof(w));
	w[2] = w[10] = (unsigned char)(tc->id >> 8);
	w[3] = w[11] = (unsigned char)(tc->id & 0xff);
	if (!tc->end) {
		if (len != 0)
			case_fail(tc->name, "%zu bytes after the content", len);
		return;
	}
	if (len != sizeof(w) || memcmp(t, w, sizeof(w)) != 0)
		case_fail(tc->name, "the ending records differ (%zu bytes)",
		    len);
}

/*
 * Parse out[0..outlen) back into STDOUT records, their content into
 * content: returns the bytes of out used (the ending records follow).
 */
static size_t
parse_records(const struct put_case *tc, const unsigned char *out,
    size_t outlen, unsigned char *content, size_t *clen, size_t *nrec)
{
	size_t	 off, len, want = tc->alen + tc->blen;

	for (off = 0; off + FCGI_OUT_HEADER_LEN <= outlen; ) {
		const unsigned char *h = out + off;

		len = (size_t)h[4] << 8 | h[5];
		if (len == 0 && h[1] == 6)
			break;		/* the end of the stream */
		if (h[0] != 1 || h[1] != 6 || h[6] != 0 || h[7] != 0)
			case_fail(tc->name, "record %zu: %d %d %d %d", *nrec,
			    h[0], h[1], h[6], h[7]);
		if (((int)h[2] << 8 | h[3]) != tc->id)
			case_fail(tc->name, "record %zu: id %d", *nrec,
			    (int)h[2] << 8 | h[3]);
		if (len > FCGI_OUT_RECORD_MAX || *clen + len > want ||
		    outlen - off - FCGI_OUT_HEADER_LEN < len) {
			case_fail(tc->name, "record %zu: %zu bytes", *nrec,
			    len);
			return (outlen);
		}
		memcpy(content + *clen, h + FCGI_OUT_HEADER_LEN, len);
		*clen += len;
		off += FCGI_OUT_HEADER_LEN + len;
		(*nrec)++;
	}
	return (off);
}

static void
test_put(void **state)
{
	size_t	 i, k;

	(void)state;
	for (i = 0; i < NITEMS(put_cases); i++) {
		const struct put_case *tc = &put_cases[i];
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
		rc = put_in_child(tc->id, a, tc->alen, b, tc->blen, tc->end,
		    tc->interrupt, &out, &outlen);
		if (rc != 0)
			case_fail(tc->name, "put failed: %s", strerror(rc));
		off = parse_records(tc, out, outlen, content, &clen, &nrec);
		if (clen != tc->alen + tc->blen)
			case_fail(tc->name, "content %zu bytes, want %zu",
			    clen, tc->alen + tc->blen);
		else if (memcmp(content, a, tc->alen) != 0 ||
		    memcmp(content + tc->alen, b, tc->blen) != 0)
			case_fail(tc->name, "content differs from a || b");
		/* Full-size records, however the writes were cut. */
		if (nrec != records_for(tc->alen + tc->blen))
			case_fail(tc->name, "%zu records, want %zu", nrec,
			    records_for(tc->alen + tc->blen));
		if (off <= outlen)
			check_tail(tc, out + off, outlen - off);
		free(a);
		free(b);
		free(content);
		free(out);
	}
	end_cases();
}

/* The web server went away: FCGI_OUT_ERROR with EPIPE, no signal. */
static void
test_put_epipe(void **state)
{
	static unsigned char	 buf[200000];
	struct fcgi_out_state	 st;
	struct iovec		 src = { buf, sizeof(buf) };
	size_t			 taken;
	int			 sv[2];

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	fcgi_out_start(&st, 1);
	errno = 0;
	assert_int_equal(fcgi_out_put(sv[0], &st, &src, 1, 1, &taken),
	    FCGI_OUT_ERROR);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(taken, 0);
	close(sv[0]);
}

/*
 * A cut: where a record ends, END_REQUEST with appStatus 1; inside a
 * record (the socket took part of it), nothing.
 */
static void
test_cut(void **state)
{
	static unsigned char	 buf[300000];
	static const unsigned char want[16] = {
		1, 3, 0, 9, 0, 8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
	struct fcgi_out_state	 st;
	struct iovec		 src = { buf, 100 };
	unsigned char		 got[200];
	size_t			 taken;
	int			 sv[2], sndbuf = 4096;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	fcgi_out_start(&st, 9);
	assert_int_equal(fcgi_out_put(sv[0], &st, &src, 1, 0, &taken),
	    FCGI_OUT_DONE);
	assert_int_equal(fcgi_out_cut(sv[0], &st), 0);
	assert_int_equal(read(sv[1], got, sizeof(got)), 108 + 16);
	assert_memory_equal(got + 108, want, 16);
	close(sv[0]);
	close(sv[1]);
	/* A record the full socket took in part: no END_REQUEST. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	fcgi_out_start(&st, 9);
	src.iov_len = sizeof(buf);
	assert_int_equal(fcgi_out_put(sv[0], &st, &src, 1, 0, &taken),
	    FCGI_OUT_AGAIN);
	assert_true(taken < sizeof(buf));
	assert_int_equal(fcgi_out_cut(sv[0], &st), -1);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_put),
		cmocka_unit_test(test_put_epipe),
		cmocka_unit_test(test_cut),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
