/*
 * main: options, startup checks in order, then the pool. The only place
 * that exits. Every startup failure is one clear line and exit status 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "config.h"
#include "fault.h"
#include "confine.h"
#include "jobstore.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "store.h"
#include "stream.h"

/*
 * Can this user write the state database? SQLite needs the file, its
 * -wal and -shm, and the directory (it makes and removes those two
 * there). Checked here so that the message names the fix, instead of
 * SQLite's "attempt to write a readonly database" from the first
 * worker. Returns 0, or -1 with a sentence in err.
 */
static int
main_state_writable(const char *path, char *err, size_t errsz)
{
	static const char *const side[] = { "", "-wal", "-shm" };
	char		 dir[CONFIG_PATH_MAX + 1], f[CONFIG_PATH_MAX + 8];
	const char	*slash = strrchr(path, '/');
	size_t		 i, n;

	n = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
	memcpy(dir, n == 0 ? "." : path, n == 0 ? 1 : n);
	dir[n == 0 ? 1 : n] = '\0';
	if (access(dir, W_OK | X_OK) == -1) {
		snprintf(err, errsz, "state database %.120s: directory "
		    "%.120s: %s (uid %u): make it sluice's (systemd-tmpfiles "
		    "--create sluice.conf) or give --state-db", path, dir,
		    strerror(errno), (unsigned)geteuid());
		return (-1);
	}
	for (i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		(void)snprintf(f, sizeof(f), "%s%s", path, side[i]);
		if (access(f, F_OK) == 0 && access(f, W_OK) == -1) {
			snprintf(err, errsz, "state database %.120s: %s "
			    "(uid %u): chown it to sluice's user, or give "
			    "--state-db", f, strerror(errno),
			    (unsigned)geteuid());
			return (-1);
		}
	}
	return (0);
}

int
main(int argc, char *argv[])
{
	static struct config cfg;
	struct jobstore	 js;
	struct listener	 l;
	char		 err[512], q1[LOG_VALUE_MAX * 4 + 8];
	char		 q2[LOG_VALUE_MAX * 4 + 8], q3[LOG_VALUE_MAX * 4 + 8];
	char		 q4[LOG_VALUE_MAX * 4 + 8], desc[256];
	pid_t		 self;
	int		 rootfd, rc;

	switch (config_parse(&cfg, argc, argv, err, sizeof(err))) {
	case CONFIG_HELP:
		config_usage("sluice");
		return (0);
	case CONFIG_ERROR:
		fprintf(stderr, "sluice: %s\n", err);
		return (1);
	case CONFIG_OK:
		break;
	}
	if (cfg.log_file[0] != '\0' && log_open(cfg.log_file) == -1) {
		fprintf(stderr, "sluice: log file %s: %s\n", cfg.log_file,
		    strerror(errno));
		return (1);
	}
	/* The fault build's VFS goes in before any database is opened. */
	if (FAULT_INIT(cfg.db, cfg.state_db, err, sizeof(err)) == -1)
		fatalx("event=startup msg=%s", log_quote(q1, sizeof(q1), err));
	if (sodium_init() < 0)
		fatalx("event=startup msg=\"libsodium failed to initialise\"");
	if (confine_root_open(cfg.root, &rootfd, err, sizeof(err)) == -1)
		fatalx("event=startup msg=%s", log_quote(q1, sizeof(q1), err));
	if (config_resolve_root(&cfg, err, sizeof(err)) == -1)
		fatalx("event=startup msg=%s", log_quote(q1, sizeof(q1), err));
	/*
	 * Check the jobs database once, here, for a clear message; each
	 * request thread opens its own connection later, after fork.
	 */
	if (jobstore_open(&js, cfg.db, err, sizeof(err)) == -1)
		fatalx("event=startup msg=%s", log_quote(q1, sizeof(q1), err));
	jobstore_close(&js);
	if (cfg.audit_on && ((!store_is_pg(cfg.state_db) &&
	    main_state_writable(cfg.state_db, err, sizeof(err)) == -1) ||
	    audit_prepare(cfg.state_db, err,
	    sizeof(err)) == -1))
		fatalx("event=startup msg=%s", log_quote(q1, sizeof(q1), err));
	if ((cfg.listen[0] != '\0' ? listen_open(&l, cfg.listen, err,
	    sizeof(err)) : listen_inherited(&l, err, sizeof(err))) == -1)
		fatalx("event=startup msg=%s", log_quote(q1, sizeof(q1), err));
	if (geteuid() == 0)
		log_warnx("event=startup msg=\"running as root; use spawn-fcgi "
		    "-u or systemd User= to drop privileges\"");
	log_info("event=startup db=%s root=%s url_prefix=%s listen=%s "
	    "workers=%lld threads=%lld audit=%s offload=%s",
	    log_quote(q1, sizeof(q1), store_describe(cfg.db, desc,
	    sizeof(desc))),
	    log_quote(q2, sizeof(q2), cfg.root),
	    log_quote(q3, sizeof(q3), cfg.url_prefix),
	    log_quote(q4, sizeof(q4), cfg.listen[0] != '\0' ? cfg.listen :
	    "fd0"),
	    (long long)cfg.workers, (long long)cfg.threads,
	    cfg.audit_on ? "on" : "off",
	    cfg.offload_mode == CONFIG_OFFLOAD_XSENDFILE ? "x-sendfile" :
	    cfg.offload_mode == CONFIG_OFFLOAD_LIGHTTPD ? "lighttpd" :
	    cfg.offload_mode == CONFIG_OFFLOAD_XACCEL ? "x-accel-redirect" :
	    "off");
	/* Shared by every worker: mapped before the first fork. */
	if (cfg.metrics_path[0] != '\0' && metrics_init() == -1)
		fatal("event=startup msg=\"metrics: shared memory\"");
	self = getpid();
	rc = pool_run(&cfg, l.fd, cfg.listen[0] != '\0', rootfd);
	if (getpid() == self)
		listen_remove(&l);
	close(rootfd);
	return (rc);
}
