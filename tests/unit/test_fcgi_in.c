/*
 * test_fcgi_in: the pure parts of fcgi_in (issue 15): the GET_VALUES
 * answer (FastCGI spec §4.1) and the abort watch's record scanner, fed
 * whole, byte by byte, and from the middle of a record. The socket parts
 * are tested against sluice itself (tests/integration/harden.sh).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"
#include "fcgi_in.h"

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

/* An empty STDIN of request 1, then an ABORT_REQUEST of request id. */
static const unsigned char stdin_then_abort[] =
    "\x01\x05\x00\x01\x00\x00\x00\x00"
    "\x01\x02\x00\x01\x00\x00\x00\x00";

static void
test_watch(void **state)
{
	struct fcgi_in_watch w;
	size_t		 i;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_int_equal(fcgi_in_watch_feed(&w, stdin_then_abort, 16, 1), 1);
	/* Byte by byte, across header boundaries. */
	memset(&w, 0, sizeof(w));
	for (i = 0; i < 15; i++)
		assert_int_equal(fcgi_in_watch_feed(&w, stdin_then_abort + i,
		    1, 1), 0);
	assert_int_equal(fcgi_in_watch_feed(&w, stdin_then_abort + 15, 1, 1),
	    1);
	/* Another request's abort is not ours. */
	memset(&w, 0, sizeof(w));
	assert_int_equal(fcgi_in_watch_feed(&w, stdin_then_abort, 16, 2), 0);
	/* A record with content and padding is skipped whole. */
	{
		static const unsigned char rec[] =
		    "\x01\x05\x00\x01\x00\x03\x05\x00" "abc" "\x02\x02\x02\x02\x02"
		    "\x01\x02\x00\x01\x00\x00\x00\x00";

		memset(&w, 0, sizeof(w));
		assert_int_equal(fcgi_in_watch_feed(&w, rec, sizeof(rec) - 1,
		    1), 1);
	}
	/* Started mid-record: not version 1, the watch turns off. */
	memset(&w, 0, sizeof(w));
	assert_int_equal(fcgi_in_watch_feed(&w, stdin_then_abort + 1, 15, 1),
	    0);
	assert_int_equal(w.off, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_answer),
		cmocka_unit_test(test_watch),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
