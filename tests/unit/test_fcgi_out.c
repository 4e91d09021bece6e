/*
 * test_fcgi_out: the FCGI_STDOUT framing (FastCGI spec §3.3) of
 * src/fcgi_out.c. fcgi_out_frame is checked byte for byte; fcgi_out_send
 * writes into a real AF_UNIX stream socketpair, a child process writes
 * while the test reads the other end and parses the records back.
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
		rc = fcgi_out_send(fd, id, a, alen, b, blen, NULL);
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
	assert_int_equal(fcgi_out_send(sv[0], 1, NULL, 0, NULL, 0, NULL), 0);
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
		rc = fcgi_out_send(sv[0], 1, buf, tc->alen, buf, tc->blen, NULL);
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
		if (fcgi_out_send(fd, 1, "x", 1, body, sizeof(body), NULL) == -1)
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_send),
		cmocka_unit_test(test_send_nothing),
		cmocka_unit_test(test_send_epipe),
		cmocka_unit_test(test_send_peer_closes_midway),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
