/*
 * main: options, startup checks in order, then serve. The only place that
 * exits. Every startup failure is one clear line and exit status 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <sodium.h>

#include "config.h"
#include "log.h"
#include "pool.h"
#include "server.h"

/* fd 0 must be a listening socket (spawn-fcgi, systemd, lighttpd bin-path). */
static void
main_check_fd0(void)
{
	int		 listening = 0;
	socklen_t	 len = sizeof(listening);

	if (getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &listening,
	    &len) == -1) {
		if (errno == ENOTSOCK || errno == EBADF)
			fatalx("event=startup msg=\"fd 0 is not a socket: run "
			    "me under spawn-fcgi (or systemd socket activation)"
			    " so that fd 0 is the listening FastCGI socket\"");
		fatal("event=startup msg=\"getsockopt on fd 0 failed\"");
	}
	if (!listening)
		fatalx("event=startup msg=\"fd 0 is a socket but not a "
		    "listening one: run me under spawn-fcgi (or systemd socket "
		    "activation)\"");
}

int
main(int argc, char *argv[])
{
	static struct config cfg;
	struct worker	*w;
	char		 err[512], q1[LOG_VALUE_MAX * 4 + 8];
	char		 q2[LOG_VALUE_MAX * 4 + 8], q3[LOG_VALUE_MAX * 4 + 8];
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
	if (sodium_init() < 0)
		fatalx("event=startup msg=\"libsodium failed to initialise\"");
	if (stream_root_open(cfg.root, &rootfd, err, sizeof(err)) == -1)
		fatalx("event=startup msg=%s", log_quote(q1, sizeof(q1), err));
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("event=startup msg=\"out of memory\"");
	if (server_worker_init(w, &cfg, rootfd, err, sizeof(err)) == -1)
		fatalx("event=startup msg=%s", log_quote(q1, sizeof(q1), err));
	main_check_fd0();
	if (geteuid() == 0)
		log_warnx("event=startup msg=\"running as root; use spawn-fcgi "
		    "-u or systemd User= to drop privileges\"");
	pool_signals_install();
	if (FCGX_Init() != 0)
		fatalx("event=startup msg=\"FCGX_Init failed\"");
	log_info("event=startup db=%s root=%s url_prefix=%s",
	    log_quote(q1, sizeof(q1), cfg.db), log_quote(q2, sizeof(q2),
	    cfg.root), log_quote(q3, sizeof(q3), cfg.url_prefix));
	rc = pool_serve(w);
	log_info("event=shutdown status=%s", rc == 0 ? "clean" : "error");
	server_worker_close(w);
	free(w);
	close(rootfd);
	return (rc == 0 ? 0 : 1);
}
