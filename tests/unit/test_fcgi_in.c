/*
 * test_fcgi_in: the FastCGI stream parser (src/fcgi_in.c) and the
 * GET_VALUES answer (FastCGI spec §4.1). Streams are built here, record
 * by record, and fed whole, byte by byte and in every two-piece split:
 * the parser must say the same whatever pieces the socket gives. The
 * socket side is tested against sluice itself (tests/integration).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"
#include "fcgi_in.h"
#include "request.h"

static void
test_values_answer(void **state)
{
	static const unsigned char ask[] =
	    "\x0e\x00" "FCGI_MAX_CONNS"
	    "\x05\x00" "OTHER"
	    "\x0d\x00" "FCGI_MAX_REQS"
	    "\x0f\x00" "FCGI_MPXS_CONNS";
	static const unsigned char want[] =
	    "\x01\x0a\x00\x00\x00\x35\x03\x00"
	    "\x0e\x02" "FCGI_MAX_CONNS" "12"
	    "\x0d\x02" "FCGI_MAX_REQS" "12"
	    "\x0f\x01" "FCGI_MPXS_CONNS" "0"
	    "\0\0\0";
	struct fcgi_in_values v = { 12, 12 };
	unsigned char	 out[128];
	size_t		 n;

	(void)state;
	n = fcgi_in_values_answer(out, sizeof(out), ask, sizeof(ask) - 1, &v);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
	assert_int_equal(n % 8, 0);
	/* Nothing known asked for, or a pair cut off: an empty result. */
	n = fcgi_in_values_answer(out, sizeof(out), ask + 16, 7, &v);
	assert_int_equal(n, 8);
	assert_int_equal(out[5], 0);
	n = fcgi_in_values_answer(out, sizeof(out), ask, 10, &v);
	assert_int_equal(n, 8);
	/* Too small a buffer: 0, never a cut record. */
	assert_int_equal(fcgi_in_values_answer(out, 20, ask, sizeof(ask) - 1,
	    &v), 0);
}

/* A stream under construction. */
struct stream {
	unsigned char	 b[65536];
	size_t		 len;
};

static void
rec(struct stream *st, int type, int id, const void *content, size_t len,
    size_t pad)
{
	unsigned char	*h = st->b + st->len;

	assert_true(st->len + 8 + len + pad <= sizeof(st->b));
	h[0] = 1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = (unsigned char)pad;
	h[7] = 0;
	if (len > 0)
		memcpy(h + 8, content, len);
	memset(h + 8 + len, 0xEE, pad);
	st->len += 8 + len + pad;
}

static void
begin(struct stream *st, int id, int role, int keep)
{
	unsigned char	 b[8] = { (unsigned char)(role >> 8),
	    (unsigned char)role, (unsigned char)keep, 0, 0, 0, 0, 0 };

	rec(st, 1, id, b, 8, 0);
}

/* A name-value pair (§3.4) into p; returns its length. */
static size_t
pair(unsigned char *p, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	size_t	 o = 0, l[2] = { nlen, vlen };
	int	 i;

	for (i = 0; i < 2; i++) {
		if (l[i] < 128)
			p[o++] = (unsigned char)l[i];
		else {
			p[o++] = (unsigned char)(0x80 | (l[i] >> 24));
			p[o++] = (unsigned char)(l[i] >> 16);
			p[o++] = (unsigned char)(l[i] >> 8);
			p[o++] = (unsigned char)l[i];
		}
	}
	memcpy(p + o, name, nlen);
	memcpy(p + o + nlen, value, vlen);
	return (o + nlen + vlen);
}

/* What feeding a stream saw: its events, in order, and the params. */
struct seen {
	enum fcgi_in_event ev[16];
	int		 nev;
	char		 env[8][5000];
	int		 nenv;
};

/* Feed p[0..len) as pieces of at most step bytes (0: one piece). */
static void
feed(struct fcgi_in *in, const unsigned char *p, size_t len, size_t step,
    struct seen *sn)
{
	size_t	 off = 0, n, used;
	char	**envp;
	enum fcgi_in_event ev;

	while (off < len) {
		n = step == 0 || len - off < step ? len - off : step;
		while (n > 0) {
			ev = fcgi_in_feed(in, p + off, n, &used);
			assert_true(used <= n);
			off += used;
			n -= used;
			if (ev == FCGI_IN_MORE) {
				assert_int_equal(n, 0);
				continue;
			}
			assert_true(sn->nev < 16);
			sn->ev[sn->nev++] = ev;
			if (ev != FCGI_IN_PARAMS)
				continue;
			envp = fcgi_in_envp(in);
			for (sn->nenv = 0; envp[sn->nenv] != NULL;
			    sn->nenv++)
				snprintf(sn->env[sn->nenv], 5000, "%s",
				    envp[sn->nenv]);
			if (ev == FCGI_IN_BAD)
				return;
		}
	}
}

/* An nginx-like request: params in two records, padding, STDIN. */
static void
build_request(struct stream *st, int id, int keep)
{
	unsigned char	 p[20000];
	size_t		 n = 0;
	char		 cookie[3000];

	memset(cookie, 'c', sizeof(cookie));
	begin(st, id, 1, keep);
	n += pair(p + n, "REQUEST_METHOD", 14, "GET", 3);
	n += pair(p + n, "HTTP_COOKIE", 11, cookie, sizeof(cookie));
	n += pair(p + n, "REQUEST_URI", 11, "/download/a1?token=t", 20);
	rec(st, 4, id, p, n, 5);
	n = 0;
	n += pair(p + n, "REMOTE_ADDR", 11, "127.0.0.1", 9);
	n += pair(p + n, "REQUEST_URI", 11, "/second", 7);	/* ignored */
	n += pair(p + n, "HTTP_RANGE", 10, "bytes=0-", 8);
	n += pair(p + n, "", 0, "", 0);
	rec(st, 4, id, p, n, 0);
	rec(st, 4, id, NULL, 0, 0);
	rec(st, 5, id, NULL, 0, 0);
}

static void
check_request(const struct seen *sn)
{
	assert_int_equal(sn->nev, 1);
	assert_int_equal(sn->ev[0], FCGI_IN_PARAMS);
	assert_int_equal(sn->nenv, 4);
	assert_string_equal(sn->env[0], "REQUEST_METHOD=GET");
	assert_string_equal(sn->env[1], "REQUEST_URI=/download/a1?token=t");
	assert_string_equal(sn->env[2], "REMOTE_ADDR=127.0.0.1");
	assert_string_equal(sn->env[3], "HTTP_RANGE=bytes=0-");
}

/* The same request, whole, byte by byte, and split in two anywhere. */
static void
test_params(void **state)
{
	struct stream	*st = calloc(1, sizeof(*st));
	struct fcgi_in	 in;
	struct seen	*sn = calloc(1, sizeof(*sn));
	size_t		 cut;

	(void)state;
	assert_non_null(st);
	assert_non_null(sn);
	build_request(st, 1, 0);
	fcgi_in_init(&in);
	feed(&in, st->b, st->len, 0, sn);
	check_request(sn);
	assert_int_equal(in.request_id, 1);
	assert_int_equal(in.keep_conn, 0);
	fcgi_in_free(&in);
	for (cut = 1; cut < st->len; cut += cut < 64 ? 1 : 97) {
		memset(sn, 0, sizeof(*sn));
		fcgi_in_init(&in);
		feed(&in, st->b, cut, 0, sn);
		feed(&in, st->b + cut, st->len - cut, 0, sn);
		check_request(sn);
		fcgi_in_free(&in);
	}
	memset(sn, 0, sizeof(*sn));
	fcgi_in_init(&in);
	feed(&in, st->b, st->len, 1, sn);
	check_request(sn);
	fcgi_in_free(&in);
	free(st);
	free(sn);
}

/*
 * A value too long for request_read's field is kept long enough to stay
 * too long (400), never cut to a shorter, different value.
 */
static void
test_params_long(void **state)
{
	static char	 uri[9000];
	struct stream	*st = calloc(1, sizeof(*st));
	struct fcgi_in	 in;
	struct request	 r;
	unsigned char	*p = malloc(20000);
	size_t		 n;
	struct seen	*sn = calloc(1, sizeof(*sn));

	(void)state;
	memset(uri, 'u', sizeof(uri));
	uri[0] = '/';
	begin(st, 2, 1, 1);
	n = pair(p, "REQUEST_URI", 11, uri, sizeof(uri));
	rec(st, 4, 2, p, 60000 < n ? 60000 : n, 0);
	rec(st, 4, 2, NULL, 0, 0);
	fcgi_in_init(&in);
	feed(&in, st->b, st->len, 7, sn);
	assert_int_equal(sn->ev[0], FCGI_IN_PARAMS);
	assert_int_equal(in.keep_conn, 1);
	assert_int_equal(request_read(&r, fcgi_in_envp(&in)), 400);
	assert_string_equal(r.why, "header_too_long");
	/* The kept copy is bounded by the field, not the value. */
	assert_true(in.kept_len < REQUEST_URI_MAX + 64);
	fcgi_in_free(&in);
	free(st);
	free(p);
	free(sn);
}

/* Management records, other roles, a second request, an abort. */
static void
test_events(void **state)
{
	struct stream	*st = calloc(1, sizeof(*st));
	struct fcgi_in	 in;
	struct seen	*sn = calloc(1, sizeof(*sn));
	unsigned char	 p[64];
	size_t		 n;

	(void)state;
	n = pair(p, "FCGI_MAX_CONNS", 14, "", 0);
	rec(st, 9, 0, p, n, 2);			/* GET_VALUES */
	rec(st, 42, 0, "x", 1, 7);		/* an unknown type */
	begin(st, 5, 2, 0);			/* an authorizer */
	rec(st, 4, 5, p, n, 0);			/* its params: skipped */
	begin(st, 6, 1, 0);			/* a responder */
	begin(st, 7, 1, 0);			/* a second one: no mpx */
	rec(st, 2, 5, NULL, 0, 0);		/* another's abort */
	rec(st, 2, 6, NULL, 0, 0);		/* ours */
	fcgi_in_init(&in);
	feed(&in, st->b, st->len, 3, sn);
	assert_int_equal(sn->nev, 5);
	assert_int_equal(sn->ev[0], FCGI_IN_VALUES);
	assert_int_equal(sn->ev[1], FCGI_IN_UNKNOWN_TYPE);
	assert_int_equal(in.mgmt_type, 42);
	assert_int_equal(sn->ev[2], FCGI_IN_REFUSE);
	assert_int_equal(sn->ev[3], FCGI_IN_REFUSE);
	assert_int_equal(in.refused, 7);
	assert_int_equal(in.refuse_status, FCGI_IN_CANT_MPX_CONN);
	assert_int_equal(sn->ev[4], FCGI_IN_ABORT);
	assert_int_equal(in.request_id, 6);
	assert_false(fcgi_in_idle(&in));
	fcgi_in_next(&in);
	assert_true(fcgi_in_idle(&in));
	fcgi_in_free(&in);
	free(st);
	free(sn);
}

/* Bytes that are not FastCGI. */
static void
test_bad(void **state)
{
	static const unsigned char http[] = "GET / HTTP/1.1\r\n\r\n";
	static const unsigned char short_begin[] = {
		1, 1, 0, 1, 0, 4, 0, 0, 0, 1, 0, 0 };
	static const unsigned char begin0[] = {
		1, 1, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	struct fcgi_in	 in;
	size_t		 used;

	(void)state;
	fcgi_in_init(&in);
	assert_int_equal(fcgi_in_feed(&in, http, sizeof(http) - 1, &used),
	    FCGI_IN_BAD);
	fcgi_in_init(&in);
	assert_int_equal(fcgi_in_feed(&in, short_begin, sizeof(short_begin),
	    &used), FCGI_IN_BAD);
	fcgi_in_init(&in);
	assert_int_equal(fcgi_in_feed(&in, begin0, sizeof(begin0), &used),
	    FCGI_IN_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_answer),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_params_long),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_bad),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
