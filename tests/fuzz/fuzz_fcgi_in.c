/*
 * libFuzzer target: fcgi_in_feed(), the FastCGI stream parser that reads
 * what a web server (or anyone who can connect) sends, and request_read()
 * on the params it keeps.
 *
 * Input: one byte that chooses a piece size (1 to 256), then the stream.
 * The stream is fed whole and again in pieces of that size, as a socket
 * might deliver it.
 *
 * Properties: fcgi_in_feed never takes more than it is given, and takes
 * all of it when it asks for more; both feedings see the same events in
 * the same order, with the same request id and the same kept params
 * (the parser does not depend on how the bytes are cut); the kept params
 * are at most REQUEST_PARAMS_KEPT "NAME=value" strings of names
 * request_read uses, each value no longer than request_read's field; and
 * request_read answers 0 or 400 on them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_in.h"
#include "request.h"

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_fcgi_in: property failed: %s\n",	\
		    #c);						\
		abort();						\
	}								\
} while (0)

#define EVENTS_MAX	64

/* What one feeding saw. */
struct trace {
	int	 ev[EVENTS_MAX];
	int	 id[EVENTS_MAX];
	int	 n;
	char	 params[8192];	/* the first PARAMS' kept params */
	size_t	 plen;
};

static void
check_params(struct fcgi_in *in, struct trace *t)
{
	static struct request r;
	char	**envp = fcgi_in_envp(in);
	size_t	 i, keep, len;
	int	 rc;

	for (i = 0; envp[i] != NULL; i++) {
		const char *eq = strchr(envp[i], '=');

		CHECK(i < REQUEST_PARAMS_KEPT);
		CHECK(eq != NULL);
		CHECK(request_param_keep(envp[i], (size_t)(eq - envp[i]),
		    &keep) >= 0);
		CHECK(strlen(eq + 1) <= keep);
		len = strlen(envp[i]) + 1;
		if (t->plen + len <= sizeof(t->params)) {
			memcpy(t->params + t->plen, envp[i], len);
			t->plen += len;
		}
	}
	rc = request_read(&r, envp);
	CHECK(rc == 0 || rc == 400);
}

/* Feed data[0..len) in pieces of step bytes, recording the events. */
static void
run(const uint8_t *data, size_t len, size_t step, struct trace *t)
{
	struct fcgi_in	 in;
	size_t		 off = 0, n, used;
	enum fcgi_in_event ev;

	memset(t, 0, sizeof(*t));
	fcgi_in_init(&in);
	while (off < len) {
		n = len - off < step ? len - off : step;
		while (n > 0) {
			ev = fcgi_in_feed(&in, data + off, n, &used);
			CHECK(used <= n);
			CHECK(ev != FCGI_IN_MORE || used == n);
			off += used;
			n -= used;
			if (ev == FCGI_IN_MORE)
				continue;
			if (t->n < EVENTS_MAX) {
				t->ev[t->n] = (int)ev;
				t->id[t->n++] = ev == FCGI_IN_REFUSE ?
				    in.refused : in.request_id;
			}
			if (ev == FCGI_IN_PARAMS)
				check_params(&in, t);
			if (ev == FCGI_IN_BAD)
				goto out;
			/* As the loop does once a request is answered. */
			if (ev == FCGI_IN_PARAMS || ev == FCGI_IN_ABORT)
				fcgi_in_next(&in);
		}
	}
out:
	fcgi_in_free(&in);
}

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct trace whole, pieces;
	size_t	 step;

	if (size < 1)
		return (0);
	step = (size_t)data[0] + 1;
	run(data + 1, size - 1, size, &whole);
	run(data + 1, size - 1, step, &pieces);
	CHECK(whole.n == pieces.n);
	CHECK(memcmp(whole.ev, pieces.ev, sizeof(int) * (size_t)whole.n) ==
	    0);
	CHECK(memcmp(whole.id, pieces.id, sizeof(int) * (size_t)whole.n) ==
	    0);
	CHECK(whole.plen == pieces.plen &&
	    memcmp(whole.params, pieces.params, whole.plen) == 0);
	return (0);
}
