/*
 * test_policy: the decision table of src/policy.c. Each row is a job (as
 * jobstore would copy it out), a client and the time; the answer is a
 * status and the reason logged. The rows that combine two failures check
 * the contract's order: token (404), owner (403), state (409/410), then the
 * row's own sanity (500).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"
#include "job.h"
#include "policy.h"

#define NOW	INT64_C(1700000000)

/* SHA-256 of "secret", as the row keeps it and as the client's digest. */
static const char token_hex[] =
    "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";
static unsigned char token_right[POLICY_DIGEST_LEN];
static unsigned char token_wrong[POLICY_DIGEST_LEN];

static void
digest_from_hex(unsigned char *d, const char *hex)
{
	size_t	 i;

	for (i = 0; i < POLICY_DIGEST_LEN; i++)
		sscanf(hex + 2 * i, "%2hhx", &d[i]);
}

enum expiry {
	EXP_NONE = 0,	/* expires_at NULL: never */
	EXP_PAST,	/* now - 1 */
	EXP_NOW,	/* equal to now: expired from that second on */
	EXP_FUTURE,	/* now + 1 */
	EXP_EPOCH	/* 0 */
};

/*
 * Zero is the good default for every field: a done job with its path and
 * size, no owner, no expiry, the token right, no user.
 */
struct policy_case {
	const char	*name;
	enum job_status	 status;	/* JOB_DONE if st_set is 0 */
	int		 st_set;
	enum expiry	 exp;
	const char	*owner;		/* NULL: anyone with the link */
	const char	*user;		/* REMOTE_USER; NULL: none */
	int		 token_bad;	/* the job has a token: none given */
	int		 token_wrong;	/* ... the wrong one given */
	int		 token_right;	/* ... the right one given */
	int64_t		 max;		/* max_downloads, if has_max */
	int		 has_max;
	int		 no_path;
	int		 no_size;
	const char	*bad_field;
	int		 want;
	const char	*why;
};

#define ST(s)	.status = (s), .st_set = 1

static const struct policy_case policy_cases[] = {
	{ "done, all good", .want = 200, .why = "ok" },
	{ "done, user but no owner", .user = "bob", .want = 200,
	    .why = "ok" },
	{ "done, empty user, no owner", .user = "", .want = 200,
	    .why = "ok" },

	/* Token: 404, the same answer as an unknown id. */
	{ "token needed, none given", .token_bad = 1, .want = 404,
	    .why = "token" },
	{ "token needed, wrong one", .token_wrong = 1, .want = 404,
	    .why = "token" },
	{ "token needed, right one", .token_right = 1, .want = 200,
	    .why = "ok" },
	{ "right token, other owner", .token_right = 1, .owner = "alice",
	    .user = "bob", .want = 403, .why = "owner" },

	/* The limit's own sanity: never negative ("unlimited" is NULL). */
	{ "max_downloads 0 is a limit", .has_max = 1, .max = 0, .want = 200,
	    .why = "ok" },
	{ "negative max_downloads", .has_max = 1, .max = -1, .want = 500,
	    .why = "max_downloads" },
	{ "expired before negative max", .has_max = 1, .max = -5,
	    .exp = EXP_PAST, .want = 410, .why = "expired" },

	/* Owner: 403 unless REMOTE_USER is exactly the owner. */
	{ "owner, same user", .owner = "alice", .user = "alice",
	    .want = 200, .why = "ok" },
	{ "owner, no user (NULL)", .owner = "alice", .user = NULL,
	    .want = 403, .why = "owner" },
	{ "owner, empty user", .owner = "alice", .user = "", .want = 403,
	    .why = "owner" },
	{ "owner, other user", .owner = "alice", .user = "bob", .want = 403,
	    .why = "owner" },
	{ "owner, user differs in case", .owner = "alice", .user = "Alice",
	    .want = 403, .why = "owner" },
	{ "owner, user is a prefix", .owner = "alice", .user = "alic",
	    .want = 403, .why = "owner" },
	{ "owner, user has the owner as prefix", .owner = "alice",
	    .user = "alice2", .want = 403, .why = "owner" },
	{ "owner, user with trailing space", .owner = "alice",
	    .user = "alice ", .want = 403, .why = "owner" },
	/* jobstore leaves owner "" with has_owner for an unusable value. */
	{ "unusable owner, empty user", .owner = "", .user = "",
	    .want = 403, .why = "owner" },
	{ "unusable owner, NULL user", .owner = "", .user = NULL,
	    .want = 403, .why = "owner" },
	{ "unusable owner, some user", .owner = "", .user = "bob",
	    .want = 403, .why = "owner" },

	/* State. */
	{ "pending", ST(JOB_PENDING), .want = 409, .why = "pending" },
	{ "running", ST(JOB_RUNNING), .want = 409, .why = "running" },
	{ "failed", ST(JOB_FAILED), .want = 410, .why = "failed" },
	{ "revoked", ST(JOB_REVOKED), .want = 410, .why = "revoked" },
	{ "unknown status", ST(JOB_UNKNOWN), .want = 500,
	    .why = "bad_status" },
	{ "status out of the enum", ST((enum job_status)42), .want = 500,
	    .why = "bad_status" },
	{ "running, owner matches", ST(JOB_RUNNING), .owner = "alice",
	    .user = "alice", .want = 409, .why = "running" },

	/* Expiry: 410 from expires_at on. */
	{ "expired a second ago", .exp = EXP_PAST, .want = 410,
	    .why = "expired" },
	{ "expires now", .exp = EXP_NOW, .want = 410, .why = "expired" },
	{ "expires in a second", .exp = EXP_FUTURE, .want = 200,
	    .why = "ok" },
	{ "expired at the epoch", .exp = EXP_EPOCH, .want = 410,
	    .why = "expired" },
	{ "no expiry", .exp = EXP_NONE, .want = 200, .why = "ok" },

	/* Row sanity: 500. */
	{ "bad field", .bad_field = "content_type", .want = 500,
	    .why = "content_type" },
	{ "bad sha256", .bad_field = "sha256", .want = 500,
	    .why = "sha256" },
	{ "no file_path", .no_path = 1, .want = 500,
	    .why = "no_file_path" },
	{ "no file_size", .no_size = 1, .want = 500,
	    .why = "no_file_size" },
	{ "neither path nor size", .no_path = 1, .no_size = 1, .want = 500,
	    .why = "no_file_path" },
	{ "bad field and no path", .bad_field = "file_path", .no_path = 1,
	    .want = 500, .why = "file_path" },

	/* Order: token before owner before state before sanity. */
	{ "token before owner", .token_bad = 1, .owner = "alice",
	    .user = "bob", .want = 404, .why = "token" },
	{ "token before pending", .token_bad = 1, ST(JOB_PENDING),
	    .want = 404, .why = "token" },
	{ "token before revoked", .token_bad = 1, ST(JOB_REVOKED),
	    .want = 404, .why = "token" },
	{ "token before expired", .token_bad = 1, .exp = EXP_PAST,
	    .want = 404, .why = "token" },
	{ "token before bad field", .token_bad = 1, .bad_field = "sha256",
	    .want = 404, .why = "token" },
	{ "token before unknown status", .token_bad = 1, ST(JOB_UNKNOWN),
	    .want = 404, .why = "token" },
	{ "owner before pending", .owner = "alice", .user = "bob",
	    ST(JOB_PENDING), .want = 403, .why = "owner" },
	{ "owner before failed", .owner = "alice", .user = NULL,
	    ST(JOB_FAILED), .want = 403, .why = "owner" },
	{ "owner before expired", .owner = "alice", .user = "",
	    .exp = EXP_PAST, .want = 403, .why = "owner" },
	{ "owner before bad field", .owner = "alice", .user = "bob",
	    .bad_field = "sha256", .want = 403, .why = "owner" },
	{ "owner before no path", .owner = "alice", .user = "bob",
	    .no_path = 1, .want = 403, .why = "owner" },
	{ "pending before bad field", ST(JOB_PENDING), .bad_field = "sha256",
	    .want = 409, .why = "pending" },
	{ "pending before no path", ST(JOB_PENDING), .no_path = 1,
	    .no_size = 1, .want = 409, .why = "pending" },
	{ "running before expired", ST(JOB_RUNNING), .exp = EXP_PAST,
	    .want = 409, .why = "running" },
	{ "failed before expired", ST(JOB_FAILED), .exp = EXP_PAST,
	    .want = 410, .why = "failed" },
	{ "revoked with no path", ST(JOB_REVOKED), .no_path = 1,
	    .want = 410, .why = "revoked" },
	{ "expired before bad field", .exp = EXP_PAST,
	    .bad_field = "file_size", .want = 410, .why = "expired" },
	{ "expired before no path", .exp = EXP_NOW, .no_path = 1,
	    .want = 410, .why = "expired" },
	{ "expired before no size", .exp = EXP_PAST, .no_size = 1,
	    .want = 410, .why = "expired" },
	{ "not yet expired, bad field", .exp = EXP_FUTURE,
	    .bad_field = "expires_at", .want = 500, .why = "expires_at" },
};

static void
case_job(const struct policy_case *tc, struct job *job)
{
	memset(job, 0, sizeof(*job));
	strcpy(job->id, "job1");
	job->status = tc->st_set ? tc->status : JOB_DONE;
	if (!tc->no_path) {
		strcpy(job->file_path, "2026/11/ledger.csv");
		job->has_file_path = 1;
	}
	if (!tc->no_size) {
		job->file_size = 1234;
		job->has_file_size = 1;
	}
	if (tc->owner != NULL) {
		strcpy(job->owner, tc->owner);
		job->has_owner = 1;
	}
	switch (tc->exp) {
	case EXP_NONE:
		break;
	case EXP_PAST:
		job->expires_at = NOW - 1;
		job->has_expires = 1;
		break;
	case EXP_NOW:
		job->expires_at = NOW;
		job->has_expires = 1;
		break;
	case EXP_FUTURE:
		job->expires_at = NOW + 1;
		job->has_expires = 1;
		break;
	case EXP_EPOCH:
		job->expires_at = 0;
		job->has_expires = 1;
		break;
	}
	job->bad_field = tc->bad_field;
	if (tc->token_bad || tc->token_wrong || tc->token_right) {
		strcpy(job->token_sha256, token_hex);
		job->has_token = 1;
	}
	job->has_max_downloads = tc->has_max;
	job->max_downloads = tc->max;
}

static void
test_policy_table(void **state)
{
	struct job	*job, *copy;
	size_t		 i;

	(void)state;
	digest_from_hex(token_right, token_hex);
	digest_from_hex(token_wrong, token_hex);
	token_wrong[31] ^= 1;
	job = test_malloc(sizeof(*job));
	copy = test_malloc(sizeof(*copy));
	for (i = 0; i < NITEMS(policy_cases); i++) {
		const struct policy_case *tc = &policy_cases[i];
		struct policy_client c;
		const char	*why = NULL;
		int		 st;

		case_job(tc, job);
		memcpy(copy, job, sizeof(*job));
		c.remote_user = tc->user;
		c.token_sha256 = tc->token_right ? token_right :
		    tc->token_wrong ? token_wrong : NULL;
		st = policy_access(job, &c, NOW, &why);
		if (st == 0)
			st = 200;	/* go on: the file may be served */
		if (st != tc->want)
			case_fail(tc->name, "status %d, want %d (why %s)", st,
			    tc->want, why ? why : "NULL");
		expect_str(tc->name, "why", why, tc->why);
		/* Pure: the job is only read. */
		if (memcmp(copy, job, sizeof(*job)) != 0)
			case_fail(tc->name, "job was modified");
	}
	test_free(job);
	test_free(copy);
	end_cases();
}

/* The time is an input: the same job flips to 410 exactly at expires_at. */
static void
test_policy_expiry_edge(void **state)
{
	struct job		*job;
	struct policy_client	 c = { "", NULL };
	const char		*why;
	int64_t			 t;

	(void)state;
	job = test_calloc(1, sizeof(*job));
	job->status = JOB_DONE;
	job->has_file_path = job->has_file_size = 1;
	job->has_expires = 1;
	job->expires_at = NOW;
	for (t = NOW - 3; t <= NOW + 3; t++) {
		int	 want = t < NOW ? 0 : 410;

		if (policy_access(job, &c, t, &why) != want)
			case_fail("expiry edge", "now %lld: want %d",
			    (long long)t, want);
	}
	/* Far past and far future times. */
	if (policy_access(job, &c, INT64_MIN, &why) != 0)
		case_fail("expiry edge", "INT64_MIN not 0");
	if (policy_access(job, &c, INT64_MAX, &why) != 410)
		case_fail("expiry edge", "INT64_MAX not 410");
	test_free(job);
	end_cases();
}

/* When a download is open, what a GET does, and when the limit is reached. */
static void
test_policy_counting(void **state)
{
	(void)state;
	expect_int("in flight", "open", policy_download_open(0, 1, 5000, 0), 1);
	expect_int("in window", "open", policy_download_open(1000, 0, 4600,
	    3600), 1);
	expect_int("window edge", "open", policy_download_open(1000, 0, 4600 +
	    0, 3600), 1);
	expect_int("past window", "open", policy_download_open(1000, 0, 4601,
	    3600), 0);
	expect_int("window 0, just ended", "open", policy_download_open(1000,
	    0, 1000, 0), 1);
	expect_int("window 0, a second on", "open", policy_download_open(1000,
	    0, 1001, 0), 0);
	expect_int("huge window", "open", policy_download_open(INT64_MIN, 0,
	    -5, INT64_MAX), 1);
	expect_int("negative window", "open", policy_download_open(1000, 0,
	    1000, -1), 0);
	expect_int("join at limit", "download", policy_download(1, 1, 1),
	    POLICY_JOIN);
	expect_int("join over limit", "download", policy_download(1, 0, 7),
	    POLICY_JOIN);
	expect_int("open, unlimited", "download", policy_download(0, -1, 99),
	    POLICY_OPEN);
	expect_int("open, 2 of 3", "download", policy_download(0, 3, 2),
	    POLICY_OPEN);
	expect_int("limit, 3 of 3", "download", policy_download(0, 3, 3),
	    POLICY_LIMIT);
	expect_int("limit, 0 of 0", "download", policy_download(0, 0, 0),
	    POLICY_LIMIT);
	expect_int("no limit", "reached", policy_limit_reached(-1, 99), 0);
	expect_int("0 of 0", "reached", policy_limit_reached(0, 0), 1);
	expect_int("2 of 3", "reached", policy_limit_reached(3, 2), 0);
	expect_int("3 of 3", "reached", policy_limit_reached(3, 3), 1);
	expect_int("4 of 3", "reached", policy_limit_reached(3, 4), 1);
	end_cases();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_counting),
		cmocka_unit_test(test_policy_table),
		cmocka_unit_test(test_policy_expiry_edge),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
