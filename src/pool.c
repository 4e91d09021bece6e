/*
 * pool: one supervisor, --workers processes, --threads request threads
 * each, all accepting on the one listening socket (Linux needs no accept
 * mutex). With --workers 0 the first process is the only worker.
 *
 * The supervisor does no request work. It respawns a worker that dies
 * (backing off when workers die as they start, and giving up when none can
 * be kept alive), forwards SIGHUP, and on SIGTERM or SIGINT drains: every
 * worker stops accepting, lets the downloads in flight finish for up to
 * --drain-timeout seconds, then cuts what is left (aborted:shutdown) and
 * exits; the supervisor exits 0 once all have.
 *
 * Signals never reach a request while it is served. libfcgi would turn
 * SIGTERM into "shutdown pending" without SA_RESTART, so a signal landing
 * during a blocked write to a slow client would kill that download with
 * EINTR. Here every thread keeps TERM, INT, HUP and USR1 blocked; a
 * worker's main thread takes them with sigtimedwait. Request threads unblock
 * only SIGUSR2, and only while idle in accept: the main thread sends it to
 * wake them for a drain.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "config.h"
#include "log.h"
#include "pool.h"
#include "audit.h"
#include "server.h"

#define POOL_ACCEPT_FAILS	50	/* in a row, ~5 s: the thread gives up */

struct pool;

struct pool_thread {
	struct pool	*pool;
	struct worker	*w;
	pthread_t	 tid;
	int		 started;
	_Atomic int	 exited;
};

/* One worker process. */
struct pool {
	const struct config	*cfg;
	int			 listen_fd;
	int			 listen_owned;	/* bound by us: shut on drain */
	int			 rootfd;
	_Atomic int		 stop;		/* accept no more */
	_Atomic int		 abort_now;	/* cut downloads in flight */
	_Atomic int		 failed;	/* a thread could not run */
	atomic_llong		 served;
	struct pool_thread	*threads;
	struct audit_writer	 audit;		/* shared by the threads */
	int			 audit_on;
};

static int64_t
pool_now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return (0);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
pool_sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Wakes a thread idle in accept; the EINTR is the point. */
static void
pool_on_wake(int sig)
{
	(void)sig;
}

/* The signals a process's main thread takes with sigtimedwait. */
static void
pool_main_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGCHLD);
}

/*
 * A request thread: accept, serve, repeat, until the pool stops. Owns its
 * struct worker and SQLite connection, opened here, after fork.
 */
static void *
pool_thread_main(void *arg)
{
	struct pool_thread *pt = arg;
	struct pool	*p = pt->pool;
	FCGX_Request	 req;
	sigset_t	 wake;
	char		 err[512], q[LOG_VALUE_MAX * 4 + 8];
	int		 rc, fails = 0;
	long long	 n;

	sigemptyset(&wake);
	sigaddset(&wake, SIGUSR2);
	if (server_worker_init(pt->w, p->cfg, p->rootfd,
	    p->audit_on ? &p->audit : NULL, &p->stop, &p->abort_now, err,
	    sizeof(err)) == -1) {
		log_warnx("event=worker_error msg=%s",
		    log_quote(q, sizeof(q), err));
		atomic_store(&p->failed, 1);
		goto done;
	}
	if (FCGX_InitRequest(&req, p->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) !=
	    0) {
		log_warnx("event=worker_error msg=\"FCGX_InitRequest failed\"");
		atomic_store(&p->failed, 1);
		goto close;
	}
	for (;;) {
		pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
		if (atomic_load(&p->stop)) {
			pthread_sigmask(SIG_BLOCK, &wake, NULL);
			break;
		}
		rc = FCGX_Accept_r(&req);
		pthread_sigmask(SIG_BLOCK, &wake, NULL);
		if (rc < 0) {
			if (atomic_load(&p->stop))
				break;
			if (rc == -EINTR)
				continue;
			if (rc == -EINVAL) {
				/* The socket was shut for a drain. */
				pool_sleep_ms(POOL_TICK_MS);
				continue;
			}
			log_warnx("event=accept_error error=\"%s\"",
			    strerror(-rc));
			if (++fails >= POOL_ACCEPT_FAILS) {
				atomic_store(&p->failed, 1);
				break;
			}
			pool_sleep_ms(POOL_TICK_MS);
			continue;
		}
		fails = 0;
		server_handle(pt->w, &req, req.envp);
		/*
		 * End the request now, with signals blocked: the accept would
		 * do it with SIGUSR2 unblocked, and a wakeup landing in the
		 * write of END_REQUEST would drop it.
		 */
		FCGX_Finish_r(&req);
		n = atomic_fetch_add(&p->served, 1) + 1;
		if (p->cfg->max_requests > 0 && n == p->cfg->max_requests)
			kill(getpid(), SIGUSR1);	/* recycle this worker */
	}
	FCGX_Finish_r(&req);
close:
	server_worker_close(pt->w);
done:
	atomic_store(&pt->exited, 1);
	return (NULL);
}

/*
 * Shut a listening socket we bound ourselves, so that new connections are
 * refused at once (the web server answers 503) rather than wait in the
 * backlog for a process that is leaving. An inherited socket is left
 * alone: under systemd it outlives us, and its backlog is served by the
 * next instance.
 */
static void
pool_listen_shut(int fd, int owned)
{
	if (owned && shutdown(fd, SHUT_RDWR) == -1)
		log_warn("event=listen_shutdown_failed");
}

/*
 * Stop accepting. A shutdown lets downloads in flight go on until the
 * deadline; a recycle (--max-requests) lets them finish whenever they do,
 * and tells the supervisor, which starts a replacement at once.
 */
static void
pool_drain_begin(struct pool *p, const char *why, int64_t *deadline)
{
	int	 recycle = strcmp(why, "max_requests") == 0;
	int64_t	 d;

	if (!recycle) {
		d = pool_now_ms() + p->cfg->drain_timeout * 1000;
		if (d < *deadline)
			*deadline = d;
	}
	if (atomic_exchange(&p->stop, 1))
		return;
	if (recycle) {
		if (p->cfg->workers > 0)
			kill(getppid(), SIGUSR1);
	} else
		pool_listen_shut(p->listen_fd, p->listen_owned);
	log_info("event=drain reason=%s timeout_s=%lld", why,
	    recycle ? -1LL : (long long)p->cfg->drain_timeout);
}

/*
 * Run one worker process: --threads request threads, and this thread
 * waiting for signals. Returns the process's exit status: 0 after a drain,
 * 1 if a thread could not run.
 */
static int
pool_worker(const struct config *cfg, int listen_fd, int owned, int rootfd)
{
	struct pool		 p;
	struct sigaction	 sa;
	struct timespec		 tick = { 0, POOL_TICK_MS * 1000000L };
	struct audit		 ckpt;
	sigset_t		 set, all;
	int64_t			 deadline = INT64_MAX, next_ckpt = 0;
	int			 i, nthreads = (int)cfg->threads, live, sig;
	int			 have_ckpt = 0;
	char			 err[512], q[LOG_VALUE_MAX * 4 + 8];

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.listen_fd = listen_fd;
	p.listen_owned = owned;
	p.rootfd = rootfd;
	atomic_init(&p.stop, 0);
	atomic_init(&p.abort_now, 0);
	atomic_init(&p.failed, 0);
	atomic_init(&p.served, 0);

	/* Every thread starts with all our signals blocked. */
	pool_main_signals(&set);
	all = set;
	sigaddset(&all, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = pool_on_wake;
	sa.sa_flags = 0;	/* no SA_RESTART: accept must return EINTR */
	if (sigaction(SIGUSR2, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGUSR1, &sa, NULL) == -1) {
		log_warn("event=worker_error op=sigaction");
		return (1);
	}
	/*
	 * Rows of a worker killed mid-download are closed as lost; the
	 * request threads share one writer connection; this thread's own
	 * connection runs the state DB's checkpoints.
	 */
	if (cfg->audit_on) {
		(void)audit_close_lost(cfg->state_db, getpid());
		if (audit_writer_open(&p.audit, cfg->state_db, err,
		    sizeof(err)) == -1) {
			log_warnx("event=worker_error msg=%s",
			    log_quote(q, sizeof(q), err));
			return (1);
		}
		p.audit_on = 1;
		if (audit_open(&ckpt, cfg->state_db, err, sizeof(err)) == 0)
			have_ckpt = 1;
		else
			log_warnx("event=audit_error op=checkpointer msg=\"%s\"",
			    err);
	}
	/* Our handlers are in place, so FCGX_Init installs none of its own. */
	if (FCGX_Init() != 0) {
		log_warnx("event=worker_error msg=\"FCGX_Init failed\"");
		return (1);
	}
	if ((p.threads = calloc((size_t)nthreads, sizeof(*p.threads))) ==
	    NULL) {
		log_warn("event=worker_error op=calloc");
		return (1);
	}
	for (i = 0; i < nthreads; i++) {
		struct pool_thread *pt = &p.threads[i];

		pt->pool = &p;
		atomic_init(&pt->exited, 0);
		if ((pt->w = calloc(1, sizeof(*pt->w))) == NULL ||
		    pthread_create(&pt->tid, NULL, pool_thread_main, pt) != 0) {
			log_warn("event=worker_error op=thread_start");
			atomic_store(&p.failed, 1);
			atomic_store(&pt->exited, 1);
			break;
		}
		pt->started = 1;
	}
	log_info("event=worker_start threads=%d", nthreads);

	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			pool_drain_begin(&p, "shutdown", &deadline);
		else if (sig == SIGUSR1)
			pool_drain_begin(&p, "max_requests", &deadline);
		else if (sig == SIGHUP && log_reopen() == -1)
			log_warn("event=log_reopen_failed");
		if (atomic_load(&p.failed))
			pool_drain_begin(&p, "thread_failed", &deadline);
		live = 0;
		for (i = 0; i < nthreads; i++) {
			if (!p.threads[i].started ||
			    atomic_load(&p.threads[i].exited))
				continue;
			live++;
			/* Idle threads wake; busy ones see it when done. */
			if (atomic_load(&p.stop))
				pthread_kill(p.threads[i].tid, SIGUSR2);
		}
		if (live == 0)
			break;
		/* Ends queued while no download began since. */
		if (p.audit_on)
			audit_writer_flush(&p.audit);
		if (have_ckpt && pool_now_ms() >= next_ckpt) {
			audit_checkpoint(&ckpt);
			next_ckpt = pool_now_ms() + POOL_CHECKPOINT_MS;
		}
		if (atomic_load(&p.stop) && !atomic_load(&p.abort_now) &&
		    pool_now_ms() >= deadline) {
			log_warnx("event=drain_deadline msg=\"cutting %d "
			    "download(s) still in flight\"", live);
			atomic_store(&p.abort_now, 1);
		}
	}
	for (i = 0; i < nthreads; i++) {
		if (p.threads[i].started)
			pthread_join(p.threads[i].tid, NULL);
		free(p.threads[i].w);
	}
	free(p.threads);
	/* Every request thread is gone: commit what they queued last. */
	if (p.audit_on)
		audit_writer_close(&p.audit);
	if (have_ckpt) {
		audit_checkpoint(&ckpt);
		audit_close(&ckpt);
	}
	log_info("event=worker_exit served=%lld",
	    (long long)atomic_load(&p.served));
	return (atomic_load(&p.failed) ? 1 : 0);
}

/* One slot of the supervisor: the worker in it, and its restart state. */
struct pool_slot {
	pid_t		 pid;
	int64_t		 started_ms;
	int64_t		 next_spawn_ms;
	int		 fails;		/* failed starts in a row */
};

static void
pool_spawn(struct pool_slot *s, const struct config *cfg, int listen_fd,
    int rootfd)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		log_warn("event=spawn_failed");
		s->next_spawn_ms = pool_now_ms() + POOL_BACKOFF_MAX_MS;
		return;
	}
	/* Workers never shut the shared socket: the supervisor does. */
	if (pid == 0)
		_exit(pool_worker(cfg, listen_fd, 0, rootfd));
	s->pid = pid;
	s->started_ms = pool_now_ms();
}

/* A worker ended: log it and decide when its slot is refilled. */
static void
pool_reaped(struct pool_slot *s, int status, int draining)
{
	int64_t	 now = pool_now_ms(), delay = 0;
	int	 clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	if (WIFSIGNALED(status))
		log_warnx("event=worker_died pid=%ld signal=%d",
		    (long)s->pid, WTERMSIG(status));
	else
		log_info("event=worker_ended pid=%ld status=%d", (long)s->pid,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	s->pid = 0;
	if (draining)
		return;
	if (!clean && now - s->started_ms < POOL_QUICK_DEATH_MS) {
		s->fails++;
		delay = 100LL << (s->fails < 7 ? s->fails : 7);
		if (delay > POOL_BACKOFF_MAX_MS)
			delay = POOL_BACKOFF_MAX_MS;
		log_warnx("event=worker_failed_start fails=%d retry_ms=%lld",
		    s->fails, (long long)delay);
	} else
		s->fails = 0;
	s->next_spawn_ms = now + delay;
}

/*
 * The supervisor: keep --workers processes running until SIGTERM or
 * SIGINT, then drain them. Returns the exit status: 0 after a drain, 1 when
 * no worker can be kept alive.
 */
static int
pool_supervise(const struct config *cfg, int listen_fd, int owned,
    int rootfd)
{
	struct pool_slot	*slots;
	pid_t			*retiring;	/* recycled, still finishing */
	siginfo_t		 info;
	struct timespec		 tick = { 0, POOL_TICK_MS * 1000000L };
	sigset_t		 set;
	int64_t			 deadline = 0;
	pid_t			 pid;
	int			 i, j, n = (int)cfg->workers, status, sig;
	int			 draining = 0, killed = 0, live, gave_up;

	pool_main_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((slots = calloc((size_t)n, sizeof(*slots))) == NULL ||
	    (retiring = calloc((size_t)n, sizeof(*retiring))) == NULL)
		fatal("event=startup op=calloc");
	log_info("event=supervisor_start workers=%d threads=%lld", n,
	    (long long)cfg->threads);
	for (;;) {
		sig = sigtimedwait(&set, &info, &tick);
		if (sig == SIGUSR1 && !draining) {
			/*
			 * A worker reached --max-requests: it accepts no more
			 * and finishes its downloads; its slot is refilled now.
			 */
			for (i = 0; i < n; i++)
				if (slots[i].pid == info.si_pid)
					break;
			for (j = 0; i < n && j < n; j++)
				if (retiring[j] == 0) {
					retiring[j] = slots[i].pid;
					slots[i].pid = 0;
					slots[i].fails = 0;
					slots[i].next_spawn_ms = 0;
					break;
				}
		}
		if ((sig == SIGTERM || sig == SIGINT) && !draining) {
			draining = 1;
			deadline = pool_now_ms() +
			    (cfg->drain_timeout + POOL_KILL_GRACE) * 1000;
			log_info("event=drain reason=shutdown timeout_s=%lld",
			    (long long)cfg->drain_timeout);
			for (i = 0; i < n; i++) {
				if (slots[i].pid > 0)
					kill(slots[i].pid, SIGTERM);
				if (retiring[i] > 0)
					kill(retiring[i], SIGTERM);
			}
			pool_listen_shut(listen_fd, owned);
		} else if (sig == SIGHUP) {
			if (log_reopen() == -1)
				log_warn("event=log_reopen_failed");
			for (i = 0; i < n; i++)
				if (slots[i].pid > 0)
					kill(slots[i].pid, SIGHUP);
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (i = 0; i < n; i++) {
				if (slots[i].pid == pid)
					pool_reaped(&slots[i], status,
					    draining);
				if (retiring[i] == pid) {
					log_info("event=worker_retired pid=%ld",
					    (long)pid);
					retiring[i] = 0;
				}
			}
		live = 0;
		gave_up = 1;
		for (i = 0; i < n; i++) {
			if (!draining && slots[i].pid == 0 &&
			    pool_now_ms() >= slots[i].next_spawn_ms)
				pool_spawn(&slots[i], cfg, listen_fd, rootfd);
			if (slots[i].pid > 0)
				live++;
			if (retiring[i] > 0)
				live++;
			if (slots[i].pid > 0 || slots[i].fails < POOL_GIVE_UP)
				gave_up = 0;
		}
		if (draining && live == 0)
			break;
		if (!draining && gave_up) {
			/* Reap what may still run, and say why we stop. */
			for (i = 0; i < n; i++)
				if (slots[i].pid > 0)
					kill(slots[i].pid, SIGKILL);
			log_warnx("event=supervisor_exit msg=\"workers keep "
			    "dying at start; giving up\" fails=%d",
			    POOL_GIVE_UP);
			free(slots);
			free(retiring);
			return (1);
		}
		if (draining && !killed && pool_now_ms() >= deadline) {
			log_warnx("event=drain_kill live=%d", live);
			for (i = 0; i < n; i++) {
				if (slots[i].pid > 0)
					kill(slots[i].pid, SIGKILL);
				if (retiring[i] > 0)
					kill(retiring[i], SIGKILL);
			}
			killed = 1;
		}
	}
	free(slots);
	free(retiring);
	log_info("event=supervisor_exit status=clean");
	return (0);
}

/*
 * Serve on listen_fd until told to stop; owned says sluice bound it
 * (--listen). Startup only calls this once; returns the process exit
 * status.
 */
int
pool_run(const struct config *cfg, int listen_fd, int owned, int rootfd)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal("event=startup op=sigaction");
	if (cfg->workers == 0)
		return (pool_worker(cfg, listen_fd, owned, rootfd));
	return (pool_supervise(cfg, listen_fd, owned, rootfd));
}
