/*
 * test_request: table-driven tests of src/request.c: FastCGI parameters
 * into struct request (request_read), the request target into id and token
 * (request_parse_target), and the id syntax (request_id_valid).
 *
 * Every table row names its case; a failure prints that name.
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
#include "request.h"

/* Long literals: S64 is 64 id characters, S256 a 256-byte token. */
#define S8	"abcdefgh"
#define S64	S8 S8 S8 S8 S8 S8 S8 S8
#define S256	S64 S64 S64 S64
#define P8	"%41%41%41%41%41%41%41%41"
#define P64	P8 P8 P8 P8 P8 P8 P8 P8
#define P256	P64 P64 P64 P64
#define A8	"AAAAAAAA"
#define A64	A8 A8 A8 A8 A8 A8 A8 A8
#define A256	A64 A64 A64 A64

/*
 * request_read
 */

#define ENV_MAX	8

struct read_case {
	const char	*name;
	const char	*env[ENV_MAX];	/* "NAME=value", NULL-terminated */
	const char	*big;		/* if set, "<big>=" + biglen 'x' ... */
	size_t		 biglen;
	int		 big_last;	/* ... after env, else before it */
	int		 rc;
	enum request_method method;
	const char	*uri;
	const char	*user;
	const char	*addr;
	const char	*why;		/* NULL when rc == 0 */
};

#define URI	"REQUEST_URI=/download/abc"

static const struct read_case read_cases[] = {
	{ "GET", { "REQUEST_METHOD=GET", URI }, .rc = 0,
	    .method = REQUEST_GET, .uri = "/download/abc", .user = "" },
	{ "HEAD", { "REQUEST_METHOD=HEAD", URI }, .rc = 0,
	    .method = REQUEST_HEAD, .uri = "/download/abc", .user = "" },
	{ "POST is other", { "REQUEST_METHOD=POST", URI }, .rc = 0,
	    .method = REQUEST_OTHER, .uri = "/download/abc", .user = "" },
	{ "lowercase get is other", { "REQUEST_METHOD=get", URI }, .rc = 0,
	    .method = REQUEST_OTHER, .uri = "/download/abc", .user = "" },
	{ "GETX is other", { "REQUEST_METHOD=GETX", URI }, .rc = 0,
	    .method = REQUEST_OTHER, .uri = "/download/abc", .user = "" },
	{ "empty method is other", { "REQUEST_METHOD=", URI }, .rc = 0,
	    .method = REQUEST_OTHER, .uri = "/download/abc", .user = "" },
	{ "no method is other", { URI }, .rc = 0,
	    .method = REQUEST_OTHER, .uri = "/download/abc", .user = "" },
	{ "first method wins", { "REQUEST_METHOD=HEAD",
	    "REQUEST_METHOD=GET", URI }, .rc = 0,
	    .method = REQUEST_HEAD, .uri = "/download/abc", .user = "" },
	{ "first REMOTE_USER wins", { "REQUEST_METHOD=GET", URI,
	    "REMOTE_USER=alice", "REMOTE_USER=bob" }, .rc = 0,
	    .method = REQUEST_GET, .uri = "/download/abc", .user = "alice" },
	{ "first empty REMOTE_USER wins", { "REQUEST_METHOD=GET", URI,
	    "REMOTE_USER=", "REMOTE_USER=bob" }, .rc = 0,
	    .method = REQUEST_GET, .uri = "/download/abc", .user = "" },
	{ "first REQUEST_URI wins", { "REQUEST_METHOD=GET", URI,
	    "REQUEST_URI=/download/other" }, .rc = 0,
	    .method = REQUEST_GET, .uri = "/download/abc", .user = "" },
	{ "empty REMOTE_USER", { "REQUEST_METHOD=GET", URI,
	    "REMOTE_USER=" }, .rc = 0,
	    .method = REQUEST_GET, .uri = "/download/abc", .user = "" },
	{ "name with a longer suffix is not REMOTE_USER",
	    { "REQUEST_METHOD=GET", URI, "REMOTE_USERX=eve" }, .rc = 0,
	    .method = REQUEST_GET, .uri = "/download/abc", .user = "" },
	{ "name without '=' ignored", { "REQUEST_METHOD=GET", URI,
	    "REMOTE_USER" }, .rc = 0,
	    .method = REQUEST_GET, .uri = "/download/abc", .user = "" },
	{ "REMOTE_ADDR copied", { "REQUEST_METHOD=GET", URI,
	    "REMOTE_ADDR=2001:db8::1" }, .rc = 0, .method = REQUEST_GET,
	    .uri = "/download/abc", .user = "", .addr = "2001:db8::1" },
	{ "value with '=' kept whole", { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/download/abc?token=a=b" }, .rc = 0,
	    .method = REQUEST_GET, .uri = "/download/abc?token=a=b",
	    .user = "" },
	{ "missing REQUEST_URI", { "REQUEST_METHOD=GET",
	    "REMOTE_USER=alice" }, .rc = 400, .method = REQUEST_GET,
	    .uri = "", .why = "no_request_uri" },
	{ "missing REQUEST_URI, HEAD kept", { "REQUEST_METHOD=HEAD" },
	    .rc = 400, .method = REQUEST_HEAD, .uri = "",
	    .why = "no_request_uri" },
	{ "REQUEST_URIX is not REQUEST_URI", { "REQUEST_METHOD=GET",
	    "REQUEST_URIX=/download/abc" }, .rc = 400,
	    .method = REQUEST_GET, .uri = "", .why = "no_request_uri" },
	{ "empty environment", { NULL }, .rc = 400, .method = REQUEST_OTHER,
	    .uri = "", .why = "no_request_uri" },
	/* Oversized values: 400, never a silent cut; the method is kept. */
	{ "REQUEST_URI of 4096 fits", { "REQUEST_METHOD=GET" },
	    "REQUEST_URI", REQUEST_URI_MAX, 0, .rc = 0,
	    .method = REQUEST_GET, .user = "" },
	{ "REQUEST_URI of 4097 is 400", { "REQUEST_METHOD=GET" },
	    "REQUEST_URI", REQUEST_URI_MAX + 1, 0, .rc = 400,
	    .method = REQUEST_GET, .uri = "", .why = "header_too_long" },
	{ "REQUEST_URI of 4097 before HEAD", { "REQUEST_METHOD=HEAD" },
	    "REQUEST_URI", REQUEST_URI_MAX + 1, 0, .rc = 400,
	    .method = REQUEST_HEAD, .uri = "", .why = "header_too_long" },
	{ "REMOTE_USER of 255 fits", { "REQUEST_METHOD=GET", URI },
	    "REMOTE_USER", JOB_USER_MAX, 0, .rc = 0,
	    .method = REQUEST_GET, .uri = "/download/abc" },
	{ "REMOTE_USER of 256 is 400", { "REQUEST_METHOD=GET", URI },
	    "REMOTE_USER", JOB_USER_MAX + 1, 0, .rc = 400,
	    .method = REQUEST_GET, .why = "header_too_long" },
	{ "oversized first REMOTE_USER wins over a later good one",
	    { "REQUEST_METHOD=GET", URI, "REMOTE_USER=bob" },
	    "REMOTE_USER", JOB_USER_MAX + 1, 0, .rc = 400,
	    .method = REQUEST_GET, .why = "header_too_long" },
	{ "oversized second REMOTE_USER ignored",
	    { "REQUEST_METHOD=GET", URI, "REMOTE_USER=bob" },
	    "REMOTE_USER", JOB_USER_MAX + 1, 1, .rc = 0,
	    .method = REQUEST_GET, .uri = "/download/abc", .user = "bob" },
	{ "REMOTE_ADDR of 64 is 400", { "REQUEST_METHOD=GET", URI },
	    "REMOTE_ADDR", REQUEST_ADDR_MAX + 1, 0, .rc = 400,
	    .method = REQUEST_GET, .why = "header_too_long" },
	{ "HTTP_RANGE of 1024 fits", { "REQUEST_METHOD=GET", URI },
	    "HTTP_RANGE", REQUEST_HEADER_MAX, 0, .rc = 0,
	    .method = REQUEST_GET, .uri = "/download/abc", .user = "" },
	/* An overlong Range is ignored (whole file), not 400. */
	{ "HTTP_RANGE of 1025 is ignored", { "REQUEST_METHOD=GET", URI },
	    "HTTP_RANGE", REQUEST_HEADER_MAX + 1, 0, .rc = 0,
	    .method = REQUEST_GET, .uri = "/download/abc", .user = "" },
	{ "HTTP_IF_NONE_MATCH of 1025 is 400, HEAD kept",
	    { "REQUEST_METHOD=HEAD", URI },
	    "HTTP_IF_NONE_MATCH", REQUEST_HEADER_MAX + 1, 1, .rc = 400,
	    .method = REQUEST_HEAD, .why = "header_too_long" },
	{ "oversized unknown parameter ignored", { "REQUEST_METHOD=GET",
	    URI }, "HTTP_COOKIE", 100000, 0, .rc = 0,
	    .method = REQUEST_GET, .uri = "/download/abc", .user = "" },
};

/* Build a writable, NULL-terminated envp for a case; free with env_free. */
static char **
env_build(const struct read_case *tc)
{
	char	**envp;
	size_t	 n = 0, i;

	envp = calloc(ENV_MAX + 2, sizeof(*envp));
	assert_non_null(envp);
	if (tc->big != NULL && !tc->big_last)
		n++;
	for (i = 0; i < ENV_MAX && tc->env[i] != NULL; i++) {
		envp[n] = strdup(tc->env[i]);
		assert_non_null(envp[n]);
		n++;
	}
	if (tc->big != NULL) {
		size_t	 bl = strlen(tc->big), at = tc->big_last ? n : 0;
		char	*b;

		b = malloc(bl + 1 + tc->biglen + 1);
		assert_non_null(b);
		memcpy(b, tc->big, bl);
		b[bl] = '=';
		memset(b + bl + 1, 'x', tc->biglen);
		b[bl + 1 + tc->biglen] = '\0';
		envp[at] = b;
		if (tc->big_last)
			n++;
	}
	envp[n] = NULL;
	return (envp);
}

static void
env_free(char **envp)
{
	size_t	 i;

	for (i = 0; envp[i] != NULL; i++)
		free(envp[i]);
	free(envp);
}

static void
test_read_table(void **state)
{
	struct request	*r;
	size_t		 i;

	(void)state;
	r = malloc(sizeof(*r));
	assert_non_null(r);
	for (i = 0; i < NITEMS(read_cases); i++) {
		const struct read_case *tc = &read_cases[i];
		char	**envp = env_build(tc);
		int	 rc;

		memset(r, 0xAA, sizeof(*r));	/* request_read resets */
		rc = request_read(r, envp);
		expect_int(tc->name, "rc", rc, tc->rc);
		expect_int(tc->name, "method", r->method, tc->method);
		expect_str(tc->name, "why", r->why, tc->why);
		if (tc->uri != NULL)
			expect_str(tc->name, "uri", r->uri, tc->uri);
		else if (tc->rc == 0)
			expect_int(tc->name, "uri length",
			    (long long)strlen(r->uri), REQUEST_URI_MAX);
		if (tc->user != NULL)
			expect_str(tc->name, "remote_user", r->remote_user,
			    tc->user);
		expect_str(tc->name, "remote_addr", r->remote_addr,
		    tc->addr != NULL ? tc->addr : "");
		/* Fields request_read does not own start empty. */
		expect_str(tc->name, "id", r->id, "");
		expect_int(tc->name, "has_token", r->has_token, 0);
		env_free(envp);
	}
	free(r);
	end_cases();
}

/* A NULL envp is no parameters at all. */
static void
test_read_null_envp(void **state)
{
	struct request	*r;

	(void)state;
	r = malloc(sizeof(*r));
	assert_non_null(r);
	memset(r, 0xAA, sizeof(*r));
	assert_int_equal(request_read(r, NULL), 400);
	assert_int_equal(r->method, REQUEST_OTHER);
	assert_string_equal(r->why, "no_request_uri");
	assert_string_equal(r->uri, "");
	free(r);
}

/* The conditional and Range headers: copied with their has_* flags. */
static void
test_read_headers(void **state)
{
	static const char *env[] = {
		"REQUEST_METHOD=GET", URI,
		"HTTP_RANGE=bytes=0-99",
		"HTTP_IF_MATCH=\"e1\"",
		"HTTP_IF_NONE_MATCH=\"e2\", \"e3\"",
		"HTTP_IF_MODIFIED_SINCE=Sun, 06 Nov 1994 08:49:37 GMT",
		"HTTP_IF_UNMODIFIED_SINCE=Mon, 07 Nov 1994 08:49:37 GMT",
		"HTTP_IF_RANGE=",
		"HTTP_RANGE=bytes=5-",
		NULL
	};
	char		*envp[NITEMS(env)];
	struct request	*r;
	size_t		 i;

	(void)state;
	for (i = 0; i < NITEMS(env); i++)
		envp[i] = env[i] != NULL ? strdup(env[i]) : NULL;
	r = malloc(sizeof(*r));
	assert_non_null(r);

	assert_int_equal(request_read(r, envp), 0);
	assert_true(r->has_range);
	assert_string_equal(r->range, "bytes=0-99");	/* first wins */
	assert_true(r->has_if_match);
	assert_string_equal(r->if_match, "\"e1\"");
	assert_true(r->has_if_none_match);
	assert_string_equal(r->if_none_match, "\"e2\", \"e3\"");
	assert_true(r->has_if_modified_since);
	assert_string_equal(r->if_modified_since,
	    "Sun, 06 Nov 1994 08:49:37 GMT");
	assert_true(r->has_if_unmodified_since);
	assert_string_equal(r->if_unmodified_since,
	    "Mon, 07 Nov 1994 08:49:37 GMT");
	assert_true(r->has_if_range);		/* present, even empty */
	assert_string_equal(r->if_range, "");

	/* Without them, every flag is clear. */
	free(envp[2]);
	envp[2] = NULL;
	assert_int_equal(request_read(r, envp), 0);
	assert_false(r->has_range);
	assert_false(r->has_if_match);
	assert_false(r->has_if_none_match);
	assert_false(r->has_if_modified_since);
	assert_false(r->has_if_unmodified_since);
	assert_false(r->has_if_range);
	envp[2] = strdup(env[2]);

	/* An overlong Range is dropped (whole file), the rest still read. */
	{
		char	*range = malloc(REQUEST_HEADER_MAX + 16);
		char	*saved = envp[2];

		assert_non_null(range);
		memcpy(range, "HTTP_RANGE=", 11);
		memset(range + 11, '1', REQUEST_HEADER_MAX + 1);
		range[11 + REQUEST_HEADER_MAX + 1] = '\0';
		envp[2] = range;
		assert_int_equal(request_read(r, envp), 0);
		assert_false(r->has_range);
		assert_true(r->has_if_match);
		envp[2] = saved;
		free(range);
	}

	for (i = 0; i < NITEMS(env); i++)
		free(envp[i]);
	free(r);
}

/*
 * request_parse_target
 */

struct target_case {
	const char	*name;
	const char	*uri;
	int		 rc;
	const char	*id;		/* when rc == 0 */
	const char	*token;		/* NULL: no token */
	const char	*prefix;	/* NULL: "/download/" */
};

static const struct target_case target_cases[] = {
	/* Accepted paths. */
	{ "id", "/download/abc", 0, "abc", NULL, NULL },
	{ "id and name", "/download/abc/report.csv", 0, "abc", NULL, NULL },
	{ "encoded UTF-8 name", "/download/abc/%E6%8A%A5.csv", 0, "abc",
	    NULL, NULL },
	{ "encoded space in name", "/download/abc/a%20b.csv", 0, "abc",
	    NULL, NULL },
	{ "all id characters", "/download/AZaz09_-", 0, "AZaz09_-", NULL,
	    NULL },
	{ "64-char id", "/download/" S64, 0, S64, NULL, NULL },
	{ "64-char id and name", "/download/" S64 "/x.csv", 0, S64, NULL,
	    NULL },
	{ "name of three dots", "/download/abc/...", 0, "abc", NULL, NULL },
	{ "dot file name", "/download/abc/.hidden", 0, "abc", NULL, NULL },
	{ "name 'a..b'", "/download/abc/a..b", 0, "abc", NULL, NULL },
	{ "empty query", "/download/abc?", 0, "abc", NULL, NULL },
	/* 400: the path after the prefix breaks the contract. */
	{ "empty name segment", "/download/abc/", 400, NULL, NULL, NULL },
	{ "empty id", "/download/", 400, NULL, NULL, NULL },
	{ "empty id, then id", "/download//abc", 400, NULL, NULL, NULL },
	{ "extra segment", "/download/abc/x/y", 400, NULL, NULL, NULL },
	{ "extra empty segment", "/download/abc/x/", 400, NULL, NULL, NULL },
	{ "double slash after id", "/download/abc//x", 400, NULL, NULL,
	    NULL },
	{ "name ..", "/download/abc/..", 400, NULL, NULL, NULL },
	{ "name .", "/download/abc/.", 400, NULL, NULL, NULL },
	{ "name %2e%2e", "/download/abc/%2e%2e", 400, NULL, NULL, NULL },
	{ "name %2E.", "/download/abc/%2E.", 400, NULL, NULL, NULL },
	{ "name .%2e", "/download/abc/.%2e", 400, NULL, NULL, NULL },
	{ "name %2e", "/download/abc/%2e", 400, NULL, NULL, NULL },
	{ "name with %2f", "/download/abc/a%2fb", 400, NULL, NULL, NULL },
	{ "name with %2F", "/download/abc/a%2Fb", 400, NULL, NULL, NULL },
	{ "name with %5c", "/download/abc/a%5cb", 400, NULL, NULL, NULL },
	{ "name with backslash", "/download/abc/a\\b", 400, NULL, NULL,
	    NULL },
	{ "name with %00", "/download/abc/a%00b", 400, NULL, NULL, NULL },
	{ "percent in id", "/download/a%62c", 400, NULL, NULL, NULL },
	{ "encoded slash in id", "/download/abc%2F", 400, NULL, NULL, NULL },
	{ "id ..", "/download/..", 400, NULL, NULL, NULL },
	{ "id .", "/download/.", 400, NULL, NULL, NULL },
	{ "id .. then name", "/download/../x", 400, NULL, NULL, NULL },
	{ "65-char id", "/download/" S64 "x", 400, NULL, NULL, NULL },
	{ "space in id", "/download/ab c", 400, NULL, NULL, NULL },
	{ "plus in id", "/download/ab+c", 400, NULL, NULL, NULL },
	{ "dot in id", "/download/abc.csv", 400, NULL, NULL, NULL },
	{ "hash in id", "/download/abc#x", 400, NULL, NULL, NULL },
	{ "UTF-8 in id", "/download/\xe6\x8a\xa5", 400, NULL, NULL, NULL },
	{ "name .. before query", "/download/abc/..?token=x", 400, NULL,
	    NULL, NULL },
	{ "name %2e%2e before query", "/download/abc/%2e%2e?token=x", 400,
	    NULL, NULL, NULL },
	{ "empty id before query", "/download/?token=x", 400, NULL, NULL,
	    NULL },
	/* 404: not under the prefix at all. */
	{ "other prefix", "/other/abc", 404, NULL, NULL, NULL },
	{ "prefix without slash", "/download", 404, NULL, NULL, NULL },
	{ "prefix glued to id", "/downloadabc", 404, NULL, NULL, NULL },
	{ "prefix case differs", "/Download/abc", 404, NULL, NULL, NULL },
	{ "empty uri", "", 404, NULL, NULL, NULL },
	{ "no leading slash", "download/abc", 404, NULL, NULL, NULL },
	{ "short path with query", "/download?token=x", 404, NULL, NULL,
	    NULL },
	{ "query inside the prefix", "/down?load/abc", 404, NULL, NULL,
	    NULL },
	/* The token, from the query string. */
	{ "token", "/download/abc?token=s3cret", 0, "abc", "s3cret", NULL },
	{ "token after name", "/download/abc/r.csv?token=t1", 0, "abc", "t1",
	    NULL },
	{ "token after other param", "/download/abc?x=1&token=a%20b", 0,
	    "abc", "a b", NULL },
	{ "token with encoded slash", "/download/abc?token=x%2Fy", 0, "abc",
	    "x/y", NULL },
	{ "token before other param", "/download/abc?token=abc&x=1", 0,
	    "abc", "abc", NULL },
	{ "token then empty pair", "/download/abc?token=abc&", 0, "abc",
	    "abc", NULL },
	{ "empty pairs before token", "/download/abc?a=1&&token=b", 0,
	    "abc", "b", NULL },
	{ "first token wins", "/download/abc?token=a&token=b", 0, "abc", "a",
	    NULL },
	{ "xtoken is not token", "/download/abc?xtoken=1&token=b", 0, "abc",
	    "b", NULL },
	{ "tokens is not token", "/download/abc?tokens=1&token=b", 0, "abc",
	    "b", NULL },
	{ "TOKEN is not token", "/download/abc?TOKEN=a", 0, "abc", NULL,
	    NULL },
	{ "bare token", "/download/abc?token", 0, "abc", NULL, NULL },
	{ "empty token", "/download/abc?token=", 0, "abc", NULL, NULL },
	{ "bad escape %zz", "/download/abc?token=%zz", 0, "abc", NULL,
	    NULL },
	{ "short escape %4", "/download/abc?token=%4", 0, "abc", NULL,
	    NULL },
	{ "trailing %", "/download/abc?token=a%", 0, "abc", NULL, NULL },
	{ "encoded NUL", "/download/abc?token=%00", 0, "abc", NULL, NULL },
	{ "NUL inside", "/download/abc?token=ab%00cd", 0, "abc", NULL,
	    NULL },
	{ "token of 256", "/download/abc?token=" S256, 0, "abc", S256,
	    NULL },
	{ "token of 257", "/download/abc?token=" S256 "x", 0, "abc", NULL,
	    NULL },
	{ "768 raw bytes decoding to 256", "/download/abc?token=" P256, 0,
	    "abc", A256, NULL },
	{ "decoding to 257", "/download/abc?token=" P256 "%41", 0, "abc",
	    NULL, NULL },
	/* Other prefixes. */
	{ "prefix /", "/abc", 0, "abc", NULL, "/" },
	{ "prefix /, name", "/abc/x.csv", 0, "abc", NULL, "/" },
	{ "prefix /, empty id", "/", 400, NULL, NULL, "/" },
	{ "deep prefix", "/dl/files/abc?token=t", 0, "abc", "t",
	    "/dl/files/" },
	{ "deep prefix, outside", "/dl/abc", 404, NULL, NULL, "/dl/files/" },
	/* A list of prefixes: public links and authenticated ones. */
#define PL "/download/,/private/download/"
	{ "list, first prefix", "/download/abc", 0, "abc", NULL, PL },
	{ "list, second prefix", "/private/download/abc/x.csv", 0, "abc",
	    NULL, PL },
	{ "list, second, token", "/private/download/abc?token=t", 0, "abc",
	    "t", PL },
	{ "list, second, empty id", "/private/download/", 400, NULL, NULL,
	    PL },
	{ "list, second, dot segment", "/private/download/abc/..", 400, NULL,
	    NULL, PL },
	{ "list, second, as an id of the first", "/download/private/download/"
	    "abc", 400, NULL, NULL, PL },
	{ "list, neither", "/private/abc", 404, NULL, NULL, PL },
	{ "list, prefix of a prefix", "/private/download", 404, NULL, NULL,
	    PL },
#undef PL
};

static void
test_parse_target(void **state)
{
	struct request	*r;
	size_t		 i;

	(void)state;
	r = malloc(sizeof(*r));
	assert_non_null(r);
	for (i = 0; i < NITEMS(target_cases); i++) {
		const struct target_case *tc = &target_cases[i];
		const char *prefix = tc->prefix ? tc->prefix : "/download/";
		int	 rc;

		memset(r, 0, sizeof(*r));
		assert_true(strlen(tc->uri) < sizeof(r->uri));
		strcpy(r->uri, tc->uri);
		rc = request_parse_target(r, prefix);
		expect_int(tc->name, "rc", rc, tc->rc);
		if (tc->rc != 0) {
			if (r->why == NULL)
				case_fail(tc->name, "why not set");
			/* Nothing of a refused target is kept. */
			expect_str(tc->name, "id", r->id, "");
			expect_int(tc->name, "has_token", r->has_token, 0);
			continue;
		}
		expect_str(tc->name, "id", r->id, tc->id);
		expect_int(tc->name, "has_token", r->has_token,
		    tc->token != NULL);
		expect_str(tc->name, "token", r->token,
		    tc->token != NULL ? tc->token : "");
	}
	free(r);
	end_cases();
}

/*
 * request_id_valid
 */

struct id_case {
	const char	*name;
	const char	*id;
	size_t		 len;
	int		 want;
};

#define ID(n, s, w)	{ n, s, sizeof(s) - 1, w }

static const struct id_case id_cases[] = {
	ID("one letter", "a", 1),
	ID("one digit", "7", 1),
	ID("dash", "-", 1),
	ID("underscore", "_", 1),
	ID("all classes", "AZaz09_-", 1),
	ID("22-char base64url", "Q2hhbmdlIHRoaXMgdG8gYQ", 1),
	ID("64 chars", S64, 1),
	ID("65 chars", S64 "x", 0),
	ID("empty", "", 0),
	ID("space", "ab c", 0),
	ID("dot", "a.b", 0),
	ID("dot dot", "..", 0),
	ID("slash", "a/b", 0),
	ID("backslash", "a\\b", 0),
	ID("percent", "a%62", 0),
	ID("plus", "a+b", 0),
	ID("equals", "a=b", 0),
	ID("UTF-8", "caf\xc3\xa9", 0),
	ID("NUL inside the length", "a\0b", 0),
	ID("newline", "a\n", 0),
	/* Only len bytes are looked at. */
	{ "len stops before a bad byte", "abc!", 3, 1 },
	{ "len 0 of a good id", "abc", 0, 0 },
	{ "len 64 of a longer id", S64 "x", 64, 1 },
};

static void
test_id_valid(void **state)
{
	size_t	 i;
	int	 c;

	(void)state;
	for (i = 0; i < NITEMS(id_cases); i++) {
		const struct id_case *tc = &id_cases[i];

		expect_int(tc->name, "request_id_valid",
		    request_id_valid(tc->id, tc->len), tc->want);
	}
	/* Every byte value as a one-character id. */
	for (c = 0; c < 256; c++) {
		char	 b = (char)c, tc[16];
		int	 want = (c >= 'A' && c <= 'Z') || (c >= 'a' &&
		    c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		    c == '-';

		snprintf(tc, sizeof(tc), "byte 0x%02x", c);
		expect_int(tc, "request_id_valid", request_id_valid(&b, 1),
		    want);
	}
	end_cases();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_table),
		cmocka_unit_test(test_read_null_envp),
		cmocka_unit_test(test_read_headers),
		cmocka_unit_test(test_parse_target),
		cmocka_unit_test(test_id_valid),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
