/*
 * config: options -> struct config. Never exits; main decides what a
 * failure means. Every option has an environment variable; numbers are
 * range-checked, strings length-checked (never cut).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "opt.h"
#include "paths.h"
#include "text.h"
#include "units.h"

static opt_set_fn config_set_duration;

/* Rows of opt.h's parser: a string field, a number field, a duration. */
#define CS(n, e, f)		OPT_ROW_BUF(n, e, struct config, f)
#define CN(n, e, f, lo, hi)	OPT_ROW_INT(n, e, struct config, f, lo, hi)
#define CD(n, e, f) \
	{ (n), 0, OPT_FUNC, (e), offsetof(struct config, f), 0, 0, 0, \
	  config_set_duration, 0 }

static const struct opt config_options[] = {
	OPT_ROW_HELP(0),
	CS("db", "SLUICE_DB", db),
	CS("root", "SLUICE_ROOT", root),
	CS("url-prefix", "SLUICE_URL_PREFIX", url_prefix),
	CS("log-file", "SLUICE_LOG_FILE", log_file),
	CS("listen", "SLUICE_LISTEN", listen),
	CS("state-db", "SLUICE_STATE_DB", state_db),
	CS("audit", "SLUICE_AUDIT", audit),
	CS("offload", "SLUICE_OFFLOAD", offload),
	CS("metrics-path", "SLUICE_METRICS_PATH", metrics_path),
	CS("offload-symlink-race", "SLUICE_OFFLOAD_SYMLINK_RACE", offload_race),
	CN("workers", "SLUICE_WORKERS", workers, 0, 256),
	CN("threads", "SLUICE_THREADS", threads, 1, 1024),
	CN("max-requests", "SLUICE_MAX_REQUESTS", max_requests, 0,
	    INT64_MAX),
	CN("drain-timeout", "SLUICE_DRAIN_TIMEOUT", drain_timeout, 0, 86400),
	CN("min-rate", "SLUICE_MIN_RATE", min_rate, 0, INT64_MAX / 86400),
	CN("rate-window", "SLUICE_RATE_WINDOW", rate_window, 1, 86400),
	CN("params-timeout", "SLUICE_PARAMS_TIMEOUT", params_timeout, 1,
	    3600),
	CD("audit-retention", "SLUICE_AUDIT_RETENTION", audit_retention),
	CD("resume-window", "SLUICE_RESUME_WINDOW", resume_window),
};

#define NOPTIONS (sizeof(config_options) / sizeof(config_options[0]))

/* --help, its first part: the data sluice reads and keeps. */
static void
config_usage_data(const char *progname)
{
	printf("usage: %s --db PATH --root DIR [options]\n"
	    "\n"
	    "FastCGI download backend: serves the files of finished export "
	    "jobs.\n"
	    "\n"
	    "  --db PATH|URI       jobs database, read only: a SQLite file, or "
	    "PostgreSQL\n"
	    "                      (postgresql://... or key=value) "
	    "[SLUICE_DB]\n"
	    "  --root DIR          export root; job file paths are "
	    "relative to it [SLUICE_ROOT]\n"
	    "  --url-prefix P      URL prefix before the job id, or a "
	    "comma-separated list\n"
	    "                      (default %s) [SLUICE_URL_PREFIX]\n"
	    "  --log-file PATH     append log lines here instead of "
	    "stderr [SLUICE_LOG_FILE]\n"
	    "  --state-db PATH|URI sluice's own database: the audit trail and "
	    "download counts;\n"
	    "                      SQLite (default %s) or PostgreSQL, "
	    "shared by hosts\n"
	    "                      [SLUICE_STATE_DB]\n"
	    "  --audit on|off      record downloads (default on; off refuses "
	    "jobs with max_downloads)\n"
	    "                      [SLUICE_AUDIT]\n"
	    "  --audit-retention D keep audit rows for D (s, m, h, d or w; "
	    "default %lldd;\n"
	    "                      off = forever); older ones are pruned "
	    "[SLUICE_AUDIT_RETENTION]\n"
	    "  --resume-window D   a client's download stays open (resumes "
	    "and segments join it)\n"
	    "                      for D after its last response (default "
	    "%lldh) [SLUICE_RESUME_WINDOW]\n", progname,
	    CONFIG_DEFAULT_PREFIX, PATHS_STATE_DB_DEFAULT,
	    (long long)(AUDIT_RETENTION_DEFAULT / 86400),
	    (long long)(AUDIT_RESUME_WINDOW_DEFAULT / 3600));
}

/* --help, its second part: how sluice serves, and the pool. */
static void
config_usage_serve(void)
{
	printf("  --offload MODE      hand the file to the web server after the "
	    "checks: lighttpd\n"
	    "                      (X-Sendfile), x-accel-redirect:/prefix/ "
	    "(nginx internal location)\n"
	    "                      or x-sendfile (Apache mod_xsendfile); "
	    "default: sluice streams it\n"
	    "                      [SLUICE_OFFLOAD]\n"
	    "  --offload-symlink-race accept\n"
	    "                      run x-sendfile although mod_xsendfile "
	    "follows a symlink swapped\n"
	    "                      in after sluice's check (a file outside "
	    "the root can leak)\n"
	    "                      [SLUICE_OFFLOAD_SYMLINK_RACE]\n"
	    "  --metrics-path P    answer GET P with the pool's figures for "
	    "Prometheus (default: off)\n"
	    "                      [SLUICE_METRICS_PATH]\n"
	    "  --listen ADDR       unix:/path[,mode=0660], 127.0.0.1:9000 "
	    "or [::1]:9000;\n"
	    "                      default: the listening socket on fd 0 "
	    "(spawn-fcgi, systemd) [SLUICE_LISTEN]\n"
	    "  --workers N         worker processes, 0 = serve in this "
	    "process (default %d) [SLUICE_WORKERS]\n"
	    "  --threads T         deciding threads per worker: a download "
	    "in flight is not\n"
	    "                      a thread (default %d) [SLUICE_THREADS]\n"
	    "  --max-requests N    recycle a worker after N requests, "
	    "0 = never (default 0) [SLUICE_MAX_REQUESTS]\n"
	    "  --drain-timeout S   on SIGTERM, let downloads finish for up "
	    "to S seconds (default %d) [SLUICE_DRAIN_TIMEOUT]\n"
	    "  --min-rate B        cut a reader slower than B bytes/s ... "
	    "(default %d, 0 = never) [SLUICE_MIN_RATE]\n"
	    "  --rate-window S     ... over S seconds (default %d) "
	    "[SLUICE_RATE_WINDOW]\n"
	    "  --params-timeout S  close a connection whose request has not "
	    "arrived whole\n"
	    "                      within S seconds (default %d) "
	    "[SLUICE_PARAMS_TIMEOUT]\n"
	    "  --help              this text\n"
	    "\n"
	    "Each option can also be set by the environment variable in "
	    "brackets;\nthe command line wins. Signals: TERM or INT drains "
	    "and exits, HUP reopens the log.\n", CONFIG_WORKERS,
	    CONFIG_THREADS, CONFIG_DRAIN_TIMEOUT, CONFIG_MIN_RATE,
	    CONFIG_RATE_WINDOW, CONFIG_PARAMS_TIMEOUT);
}

/* --help: the options, in two groups, each as it prints. */
void
config_usage(const char *progname)
{
	config_usage_data(progname);
	config_usage_serve();
}

/* A duration field: "90d" and the like (units.c), or "off" / "0". */
static int
config_set_duration(void *target, const struct opt *o, const char *v,
    char *err, size_t errsz)
{
	int64_t	 d;

	if (strcmp(v, "off") == 0 || strcmp(v, "0") == 0)
		d = 0;
	else if (units_duration_parse(v, &d) == -1) {
		snprintf(err, errsz, "--%s: want a number and a unit s, m, h, "
		    "d or w (e.g. 90d), or off; got \"%s\"", o->name, v);
		return (-1);
	}
	*(int64_t *)(void *)((char *)target + o->off) = d;
	return (0);
}

/* Each comma-separated prefix: "/...", ending in '/', no '?' or '%'. */
static int
config_prefixes_ok(const char *list)
{
	const char	*p = list;
	size_t		 len;

	for (;;) {
		len = strcspn(p, ",");
		if (len < 1 || p[0] != '/' || p[len - 1] != '/' ||
		    memchr(p, '?', len) != NULL || memchr(p, '%', len) != NULL)
			return (-1);
		if (p[len] == '\0')
			return (0);
		p += len + 1;
	}
}

/*
 * --metrics-path: "" (off), or an absolute path without a query, '%' or
 * spaces, outside every --url-prefix (where it would be a job id).
 */
static int
config_metrics_ok(const char *m, const char *prefixes)
{
	const char	*p = prefixes;
	size_t		 len;

	if (m[0] == '\0')
		return (0);
	if (m[0] != '/' || strpbrk(m, "?%# \t") != NULL)
		return (-1);
	for (;;) {
		len = strcspn(p, ",");
		if (strncmp(m, p, len) == 0)
			return (-1);
		if (p[len] == '\0')
			return (0);
		p += len + 1;
	}
}

/*
 * --offload x-accel-redirect:/prefix/. The prefix is a URI path that
 * nginx maps to an internal location: it starts and ends with '/', and
 * holds only unreserved characters and '/' (it is sent as it is, before
 * the percent-encoded file path). Returns 0, or -1.
 */
static int
config_offload_prefix(struct config *c, const char *p)
{
	size_t	 len = strlen(p);

	if (len < 2 || len >= sizeof(c->offload_prefix) || p[0] != '/' ||
	    p[len - 1] != '/' ||
	    strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~/") != len || strstr(p, "//") != NULL ||
	    strstr(p, "/./") != NULL || strstr(p, "/../") != NULL)
		return (-1);
	memcpy(c->offload_prefix, p, len + 1);
	return (0);
}

/*
 * x-sendfile (mod_xsendfile 0.12) checks the path's text only and then
 * opens it following every symlink: a directory swapped for a symlink
 * after sluice's check (openat2, beneath the root) leaks a file from
 * outside. Measured behind Apache; nothing in sluice can close that, so
 * it runs only when the operator says so.
 */
static int
config_offload_race(struct config *c, char *err, size_t errsz)
{
	int	 accepted = strcmp(c->offload_race, CONFIG_RACE_ACCEPT) == 0;

	if (c->offload_race[0] != '\0' && !accepted) {
		snprintf(err, errsz, "--offload-symlink-race: want %s, got "
		    "\"%s\"", CONFIG_RACE_ACCEPT, c->offload_race);
		return (-1);
	}
	if (c->offload_mode == CONFIG_OFFLOAD_XSENDFILE && !accepted) {
		snprintf(err, errsz, "--offload x-sendfile: mod_xsendfile "
		    "opens the path again after sluice's check and follows a "
		    "symlink swapped in meanwhile, so a file outside the root "
		    "can be served; use --offload lighttpd behind lighttpd or "
		    "x-accel-redirect behind nginx, or stream, or add "
		    "--offload-symlink-race %s if nobody who could swap a "
		    "directory under the root is to be feared (README, "
		    "\"Offload mode\")", CONFIG_RACE_ACCEPT);
		return (-1);
	}
	return (0);
}

/*
 * --offload: "" or "stream", "lighttpd", "x-accel-redirect:/prefix/",
 * or "x-sendfile" (with --offload-symlink-race accept).
 */
static int
config_offload_parse(struct config *c, char *err, size_t errsz)
{
	static const char xa[] = "x-accel-redirect:";

	if (c->offload[0] == '\0' || strcmp(c->offload, "stream") == 0)
		c->offload_mode = CONFIG_OFFLOAD_NONE;
	else if (strcmp(c->offload, "x-sendfile") == 0)
		c->offload_mode = CONFIG_OFFLOAD_XSENDFILE;
	else if (strcmp(c->offload, "lighttpd") == 0)
		c->offload_mode = CONFIG_OFFLOAD_LIGHTTPD;
	else if (strncmp(c->offload, xa, sizeof(xa) - 1) == 0 &&
	    config_offload_prefix(c, c->offload + sizeof(xa) - 1) == 0)
		c->offload_mode = CONFIG_OFFLOAD_XACCEL;
	else {
		snprintf(err, errsz, "--offload: want lighttpd, "
		    "x-accel-redirect:/prefix/ (the prefix starting and "
		    "ending with '/', of letters, digits, '-', '.', '_', '~' "
		    "and '/') or x-sendfile, got \"%s\"", c->offload);
		return (-1);
	}
	return (config_offload_race(c, err, errsz));
}

/*
 * Offload mode: the export root as an absolute path without symlinks,
 * resolved once at startup (the web server opens <root_abs>/<file_path>;
 * nginx's alias names the same directory). A newer mod_xsendfile
 * url-decodes the X-Sendfile value, so a '%' in it cannot be sent
 * unambiguously (lighttpd's X-Sendfile gets it percent-encoded).
 * Returns 0, or -1 with a sentence in err.
 */
int
config_resolve_root(struct config *c, char *err, size_t errsz)
{
	char	 buf[PATH_MAX];

	c->root_abs[0] = '\0';
	if (c->offload_mode == CONFIG_OFFLOAD_NONE)
		return (0);
	if (realpath(c->root, buf) == NULL) {
		snprintf(err, errsz, "export root %s: %s", c->root,
		    strerror(errno));
		return (-1);
	}
	if (strlen(buf) >= sizeof(c->root_abs)) {
		snprintf(err, errsz, "export root %s: resolved path too long",
		    c->root);
		return (-1);
	}
	if (c->offload_mode == CONFIG_OFFLOAD_XSENDFILE &&
	    strchr(buf, '%') != NULL) {
		snprintf(err, errsz, "export root %s: --offload x-sendfile "
		    "cannot send a path containing '%%' (mod_xsendfile may "
		    "decode it)",
		    buf);
		return (-1);
	}
	if (c->offload_mode == CONFIG_OFFLOAD_LIGHTTPD &&
	    !text_utf8_valid(buf)) {
		snprintf(err, errsz, "export root %s: --offload lighttpd "
		    "cannot send a path that is not UTF-8 (lighttpd refuses "
		    "it)", buf);
		return (-1);
	}
	memcpy(c->root_abs, buf, strlen(buf) + 1);
	return (0);
}

/* Every field at its default, before the environment and argv. */
static void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->url_prefix, CONFIG_DEFAULT_PREFIX,
	    sizeof(CONFIG_DEFAULT_PREFIX));
	c->workers = CONFIG_WORKERS;
	c->threads = CONFIG_THREADS;
	c->drain_timeout = CONFIG_DRAIN_TIMEOUT;
	c->min_rate = CONFIG_MIN_RATE;
	c->rate_window = CONFIG_RATE_WINDOW;
	c->params_timeout = CONFIG_PARAMS_TIMEOUT;
	c->audit_retention = AUDIT_RETENTION_DEFAULT;
	c->resume_window = AUDIT_RESUME_WINDOW_DEFAULT;
}

/*
 * What the options say together: the two required ones, the state
 * database at its default unless given, --audit, --offload and
 * --url-prefix. Returns CONFIG_OK, or CONFIG_ERROR with a sentence in err.
 */
static enum config_result
config_check(struct config *c, char *err, size_t errsz)
{
	if (c->db[0] == '\0') {
		snprintf(err, errsz, "no jobs database: give --db or SLUICE_DB");
		return (CONFIG_ERROR);
	}
	if (c->root[0] == '\0') {
		snprintf(err, errsz, "no export root: give --root or "
		    "SLUICE_ROOT");
		return (CONFIG_ERROR);
	}
	if (c->state_db[0] == '\0' && paths_state_db_default(c->state_db,
	    sizeof(c->state_db)) == -1) {
		snprintf(err, errsz, "the state database's default path does "
		    "not fit: give --state-db");
		return (CONFIG_ERROR);
	}
	if (c->audit[0] == '\0' || strcmp(c->audit, "on") == 0)
		c->audit_on = 1;
	else if (strcmp(c->audit, "off") != 0) {
		snprintf(err, errsz, "--audit: want on or off, got \"%s\"",
		    c->audit);
		return (CONFIG_ERROR);
	}
	if (config_offload_parse(c, err, errsz) == -1)
		return (CONFIG_ERROR);
	if (config_prefixes_ok(c->url_prefix) == -1) {
		snprintf(err, errsz, "--url-prefix: want /path/ or a "
		    "comma-separated list of them, each starting and ending "
		    "with '/', with no '?' or '%%' (got %s)", c->url_prefix);
		return (CONFIG_ERROR);
	}
	if (config_metrics_ok(c->metrics_path, c->url_prefix) == -1) {
		snprintf(err, errsz, "--metrics-path: want an absolute path "
		    "without '?', '%%', '#' or spaces, outside every "
		    "--url-prefix (got %s)", c->metrics_path);
		return (CONFIG_ERROR);
	}
	return (CONFIG_OK);
}

/*
 * The command line over what the environment gave: every argument an
 * option of the table, as getopt_long took them (a unique prefix names
 * an option; "-x" is never an operand). Returns CONFIG_OK, CONFIG_HELP or
 * CONFIG_ERROR with a sentence in err.
 */
static enum config_result
config_parse_args(struct config *c, int argc, char **argv, char *err,
    size_t errsz)
{
	struct opt_iter	 it;
	struct opt_arg	 a;
	const char	*operand = NULL;

	opt_iter_init(&it, argc, argv, OPT_ABBREV | OPT_DASH_OPTION);
	while (opt_next(&it, config_options, NOPTIONS, &a) != OPT_END) {
		if (a.kind == OPT_OPERAND) {
			if (operand == NULL)
				operand = a.arg;
			continue;
		}
		if (a.kind != OPT_OPTION) {
			snprintf(err, errsz, "unknown or incomplete option %s "
			    "(see --help)", a.arg);
			return (CONFIG_ERROR);
		}
		if (a.o->type == OPT_HELP)
			return (CONFIG_HELP);
		if (opt_set(c, a.o, a.v, err, errsz) == -1)
			return (CONFIG_ERROR);
	}
	if (operand != NULL) {
		snprintf(err, errsz, "unexpected argument %s (see --help)",
		    operand);
		return (CONFIG_ERROR);
	}
	return (CONFIG_OK);
}

/*
 * Fill c from the environment, then argv. Returns CONFIG_OK, CONFIG_HELP
 * (the caller prints usage and exits 0), or CONFIG_ERROR with a sentence in
 * err.
 */
enum config_result
config_parse(struct config *c, int argc, char **argv, char *err, size_t errsz)
{
	enum config_result	 r;

	config_defaults(c);
	if (opt_env(c, config_options, NOPTIONS, err, errsz) == -1)
		return (CONFIG_ERROR);
	if ((r = config_parse_args(c, argc, argv, err, errsz)) != CONFIG_OK)
		return (r);
	return (config_check(c, err, errsz));
}
