/*
 * config: command-line options and their environment variables, parsed into
 * fixed-size fields and validated. The command line wins over the
 * environment (spawn-fcgi and mod_fcgid pass settings as environment).
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_PATH_MAX		4095
#define CONFIG_PREFIX_MAX	255
#define CONFIG_DEFAULT_PREFIX	"/download/"

/* Defaults, documented in --help and README.md. */
#define CONFIG_WORKERS		2
#define CONFIG_THREADS		8
#define CONFIG_DRAIN_TIMEOUT	60	/* seconds */
#define CONFIG_MIN_RATE		1024	/* bytes per second, averaged over */
#define CONFIG_RATE_WINDOW	60	/* ... this many seconds */
#define CONFIG_PARAMS_TIMEOUT	5	/* seconds for a request's params */

/* --offload: who sends the file's bytes. */
enum config_offload {
	CONFIG_OFFLOAD_NONE,		/* sluice streams it (the default) */
	CONFIG_OFFLOAD_XSENDFILE,	/* X-Sendfile: Apache mod_xsendfile */
	CONFIG_OFFLOAD_LIGHTTPD,	/* X-Sendfile, the whole file: lighttpd */
	CONFIG_OFFLOAD_XACCEL		/* X-Accel-Redirect: nginx */
};

/* --offload-symlink-race's one value: x-sendfile, knowingly. */
#define CONFIG_RACE_ACCEPT	"accept"

struct config {
	char	 db[CONFIG_PATH_MAX + 1];
	char	 root[CONFIG_PATH_MAX + 1];
	char	 url_prefix[CONFIG_PREFIX_MAX + 1];
	char	 log_file[CONFIG_PATH_MAX + 1];
	char	 listen[CONFIG_PATH_MAX + 1];	/* "" = fd 0 */
	char	 state_db[CONFIG_PATH_MAX + 1];	/* default paths.h */
	char	 metrics_path[CONFIG_PREFIX_MAX + 1];	/* "" = off */
	char	 audit[8];			/* "on" or "off" */
	char	 offload[CONFIG_PREFIX_MAX + 32];	/* as given */
	char	 offload_race[16];	/* --offload-symlink-race */
	enum config_offload offload_mode;
	char	 offload_prefix[CONFIG_PREFIX_MAX + 1];	/* X-Accel-Redirect */
	char	 root_abs[CONFIG_PATH_MAX + 1];	/* X-Sendfile: realpath */
	int	 audit_on;
	int64_t	 workers;		/* 0: serve in this process */
	int64_t	 threads;
	int64_t	 max_requests;		/* per worker; 0 = no limit */
	int64_t	 drain_timeout;
	int64_t	 min_rate;		/* 0 = never cut slow readers */
	int64_t	 rate_window;
	int64_t	 params_timeout;	/* seconds */
	int64_t	 audit_retention;	/* seconds; 0 = keep forever */
	int64_t	 resume_window;		/* seconds a download stays open */
};

enum config_result {
	CONFIG_OK,
	CONFIG_HELP,
	CONFIG_ERROR
};

enum config_result config_parse(struct config *, int argc, char **argv,
	    char *err, size_t errsz);
void	config_usage(const char *progname);
int	config_resolve_root(struct config *, char *err, size_t errsz);

#endif
