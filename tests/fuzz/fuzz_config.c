/*
 * libFuzzer target: config_parse(), sluice's options and their SLUICE_*
 * environment variables (src/config.c over src/opt.c), from an argv and
 * an environment made of the fuzzer's bytes (fuzz_argv.h says how). The
 * environment holds no other SLUICE_* variable. sluice has no config
 * file: options and the environment are all there is.
 *
 * Properties (abort with a message): the result is CONFIG_OK,
 * CONFIG_HELP or CONFIG_ERROR; err is terminated within its size, and
 * an error says something; the same argv and environment give the same
 * result and the same struct; and a CONFIG_OK config holds what sluice
 * relies on: every string terminated within its array, --db and --root
 * given, each number within its option's range, --audit on or off,
 * --offload's mode matching its text (x-sendfile only with the race
 * accepted; x-accel-redirect's prefix a plain /path/), every
 * --url-prefix starting and ending with '/' without '?' or '%', and
 * --metrics-path empty or an absolute path under no prefix.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_argv.h"

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_config: property failed: %s "	\
		    "(line %d)\n", #c, __LINE__);			\
		abort();						\
	}								\
} while (0)

#define FZ_ERR_SIZE	256	/* what main gives config_parse */

static const char *const fz_env[] = { "SLUICE_DB", "SLUICE_ROOT",
    "SLUICE_URL_PREFIX", "SLUICE_LOG_FILE", "SLUICE_LISTEN",
    "SLUICE_STATE_DB", "SLUICE_AUDIT", "SLUICE_OFFLOAD",
    "SLUICE_METRICS_PATH", "SLUICE_OFFLOAD_SYMLINK_RACE", "SLUICE_WORKERS",
    "SLUICE_THREADS", "SLUICE_MAX_REQUESTS", "SLUICE_DRAIN_TIMEOUT",
    "SLUICE_MIN_RATE", "SLUICE_RATE_WINDOW", "SLUICE_PARAMS_TIMEOUT",
    "SLUICE_AUDIT_RETENTION", "SLUICE_RESUME_WINDOW" };

#define FZ_TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

/* Each comma-separated prefix: "/.../", no '?' or '%'. */
static void
fz_check_prefixes(const char *list, const char *metrics)
{
	const char	*p = list;
	size_t		 len;

	CHECK(metrics[0] == '\0' || (metrics[0] == '/' &&
	    strpbrk(metrics, "?%# \t") == NULL));
	for (;;) {
		len = strcspn(p, ",");
		CHECK(len >= 1 && p[0] == '/' && p[len - 1] == '/');
		CHECK(memchr(p, '?', len) == NULL &&
		    memchr(p, '%', len) == NULL);
		/* The page is never taken for a job id. */
		CHECK(metrics[0] == '\0' || strncmp(metrics, p, len) != 0);
		if (p[len] == '\0')
			return;
		p += len + 1;
	}
}

static void
fz_check_offload(const struct config *c)
{
	static const char xa[] = "x-accel-redirect:";
	size_t	 len;

	switch (c->offload_mode) {
	case CONFIG_OFFLOAD_NONE:
		CHECK(c->offload[0] == '\0' ||
		    strcmp(c->offload, "stream") == 0);
		break;
	case CONFIG_OFFLOAD_LIGHTTPD:
		CHECK(strcmp(c->offload, "lighttpd") == 0);
		break;
	case CONFIG_OFFLOAD_XSENDFILE:
		CHECK(strcmp(c->offload, "x-sendfile") == 0 &&
		    strcmp(c->offload_race, CONFIG_RACE_ACCEPT) == 0);
		break;
	case CONFIG_OFFLOAD_XACCEL:
		len = strlen(c->offload_prefix);
		CHECK(strncmp(c->offload, xa, sizeof(xa) - 1) == 0 &&
		    strcmp(c->offload + sizeof(xa) - 1, c->offload_prefix) ==
		    0);
		CHECK(len >= 2 && c->offload_prefix[0] == '/' &&
		    c->offload_prefix[len - 1] == '/' &&
		    strstr(c->offload_prefix, "/../") == NULL &&
		    strstr(c->offload_prefix, "//") == NULL);
		break;
	default:
		CHECK(!"offload_mode out of its enum");
	}
	CHECK(c->offload_race[0] == '\0' ||
	    strcmp(c->offload_race, CONFIG_RACE_ACCEPT) == 0);
}

static void
fz_check_ok(const struct config *c)
{
	CHECK(FZ_TERMINATED(c->db) && FZ_TERMINATED(c->root) &&
	    FZ_TERMINATED(c->url_prefix) && FZ_TERMINATED(c->log_file) &&
	    FZ_TERMINATED(c->listen) && FZ_TERMINATED(c->state_db) &&
	    FZ_TERMINATED(c->metrics_path) && FZ_TERMINATED(c->audit) &&
	    FZ_TERMINATED(c->offload) && FZ_TERMINATED(c->offload_race) &&
	    FZ_TERMINATED(c->offload_prefix) && FZ_TERMINATED(c->root_abs));
	CHECK(c->db[0] != '\0' && c->root[0] != '\0' &&
	    c->state_db[0] != '\0');
	CHECK(c->audit_on == (c->audit[0] == '\0' ||
	    strcmp(c->audit, "on") == 0));
	CHECK(c->audit_on || strcmp(c->audit, "off") == 0);
	CHECK(c->workers >= 0 && c->workers <= 256);
	CHECK(c->threads >= 1 && c->threads <= 1024);
	CHECK(c->max_requests >= 0);
	CHECK(c->drain_timeout >= 0 && c->drain_timeout <= 86400);
	CHECK(c->min_rate >= 0 && c->min_rate <= INT64_MAX / 86400);
	CHECK(c->rate_window >= 1 && c->rate_window <= 86400);
	CHECK(c->params_timeout >= 1 && c->params_timeout <= 3600);
	CHECK(c->audit_retention >= 0 && c->resume_window >= 0);
	/* config_resolve_root's, at startup: not config_parse's. */
	CHECK(c->root_abs[0] == '\0');
	fz_check_offload(c);
	fz_check_prefixes(c->url_prefix, c->metrics_path);
}

static enum config_result
fz_parse(struct fuzz_argv *a, struct config *c, char *err)
{
	enum config_result	 r;

	memset(err, 0xff, FZ_ERR_SIZE);
	r = config_parse(c, a->argc, a->argv, err, FZ_ERR_SIZE);
	CHECK(r == CONFIG_OK || r == CONFIG_HELP || r == CONFIG_ERROR);
	if (r == CONFIG_ERROR)
		CHECK(memchr(err, '\0', FZ_ERR_SIZE) != NULL && err[0] != '\0');
	return (r);
}

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_env_clear();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_argv	 a;
	static struct config	 c1, c2;
	char			 e1[FZ_ERR_SIZE], e2[FZ_ERR_SIZE];
	enum config_result	 r1, r2;

	fuzz_argv_decode(&a, data, size, "sluice", fz_env,
	    sizeof(fz_env) / sizeof(fz_env[0]));
	r1 = fz_parse(&a, &c1, e1);
	r2 = fz_parse(&a, &c2, e2);
	CHECK(r1 == r2);
	if (r1 == CONFIG_ERROR)
		CHECK(strcmp(e1, e2) == 0);
	else if (r1 == CONFIG_OK) {
		CHECK(memcmp(&c1, &c2, sizeof(c1)) == 0);
		fz_check_ok(&c1);
	}
	fuzz_env_clear();
	return (0);
}
