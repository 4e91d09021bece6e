/*
 * pool: accept requests on fd 0 and hand each to the server, one at a time
 * per thread.
 *
 * Signals: libfcgi would turn SIGTERM and SIGUSR1 into "shutdown pending"
 * without SA_RESTART, so a signal landing during a blocked write to a slow
 * client would kill that download with EINTR. Our handlers go in before
 * FCGX_Init (which then leaves them alone), and the signals are blocked
 * while a request is served: they only take effect between requests.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <fcgiapp.h>

#include "log.h"
#include "pool.h"
#include "server.h"

static volatile sig_atomic_t pool_stop;
static volatile sig_atomic_t pool_reopen;

static void
pool_on_signal(int sig)
{
	if (sig == SIGHUP)
		pool_reopen = 1;
	else {
		pool_stop = 1;
		FCGX_ShutdownPending();	/* only sets a flag */
	}
}

static void
pool_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

/* Install our handlers; call before FCGX_Init. Startup only. */
void
pool_signals_install(void)
{
	struct sigaction sa;
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	size_t	 i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = pool_on_signal;
	sa.sa_flags = 0;	/* no SA_RESTART: an idle accept must wake */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) == -1)
			fatal("event=startup msg=\"sigaction failed\"");
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal("event=startup msg=\"sigaction SIGPIPE failed\"");
}

/*
 * Serve requests until SIGTERM or SIGINT. Returns 0 on a requested stop,
 * -1 if accept failed for another reason (logged).
 */
int
pool_serve(struct worker *w)
{
	FCGX_Request	 req;
	sigset_t	 set;
	int		 rc, ret = 0;

	pool_sigset(&set);
	if (FCGX_InitRequest(&req, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_warnx("event=accept_error msg=\"FCGX_InitRequest failed\"");
		return (-1);
	}
	for (;;) {
		if (pool_reopen) {
			pool_reopen = 0;
			if (log_reopen() == -1)
				log_warn("event=log_reopen_failed");
		}
		if (pool_stop)
			break;
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		rc = FCGX_Accept_r(&req);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		if (rc < 0) {
			if (pool_stop)
				break;
			if (rc == -EINTR)
				continue;
			log_warnx("event=accept_error error=\"%s\"",
			    strerror(-rc));
			ret = -1;
			break;
		}
		server_handle(w, &req, req.envp);
	}
	FCGX_Finish_r(&req);
	return (ret);
}
