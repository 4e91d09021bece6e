/*
 * pool: one supervisor, --workers processes, each with one event loop
 * thread (loop.c: accepts, reads params, sends bodies) and --threads
 * deciding threads (server.c: each request's facts, plan, and answer).
 * With --workers 0 the first process is the only worker.
 *
 * The supervisor does no request work. It respawns a worker that dies
 * (backing off when workers die as they start, and giving up when none can
 * be kept alive), forwards SIGHUP, and on SIGTERM or SIGINT drains: every
 * worker stops accepting, lets the downloads in flight finish for up to
 * --drain-timeout seconds, then cuts what is left (aborted:shutdown) and
 * exits; the supervisor exits 0 once all have.
 *
 * Signals never reach a request: every thread keeps TERM, INT, HUP and
 * USR1 blocked, and a worker's main thread takes TERM, INT and HUP with
 * sigtimedwait. Sockets are non-blocking and no thread blocks on a client,
 * so a drain needs no wakeup signal: the flags are read every tick, and
 * loop_wake wakes the deciding threads.
 *
 * Each signal means one thing. SIGUSR1 is only a worker telling the
 * supervisor "I reached --max-requests and am retiring" (the supervisor
 * refills the slot at once); inside a worker, the deciding thread that
 * reaches the count sets a flag its main thread reads every tick.
 *
 * The state database is not the pool's: the audit writer (audit.c) runs
 * its own upkeep; a worker only opens it before its threads and closes it
 * after them.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "conn.h"
#include "fault.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "pool.h"
#include "server.h"

struct pool;

struct pool_thread {
	struct pool	*pool;
	struct worker	*w;
	pthread_t	 tid;
	int		 started;
	_Atomic int	 exited;
};

/* Why a worker stops accepting. */
enum pool_drain {
	POOL_DRAIN_SHUTDOWN,		/* TERM or INT: until the deadline */
	POOL_DRAIN_RECYCLE,		/* --max-requests: no deadline */
	POOL_DRAIN_THREAD_FAILED	/* a thread could not run */
};

static const char *const pool_drain_names[] = {
	[POOL_DRAIN_SHUTDOWN] = "shutdown",
	[POOL_DRAIN_RECYCLE] = "max_requests",
	[POOL_DRAIN_THREAD_FAILED] = "thread_failed",
};

/* One worker process. */
struct pool {
	const struct config	*cfg;
	int			 listen_fd;
	int			 listen_owned;	/* bound by us: shut on drain */
	int			 rootfd;
	int			 nthreads;
	_Atomic int		 stop;		/* accept no more */
	_Atomic int		 abort_now;	/* cut downloads in flight */
	_Atomic int		 failed;	/* a thread could not run */
	_Atomic int		 recycle;	/* --max-requests reached */
	atomic_llong		 served;
	int64_t			 deadline;	/* of a shutdown drain */
	struct pool_thread	*threads;	/* the deciding threads */
	struct pool_thread	 looper;	/* the event loop's */
	struct loop		*loop;
	struct audit_writer	*audit;		/* shared; NULL: off */
};

static int64_t
pool_now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return (0);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The signals a worker's main thread takes with sigtimedwait. */
static void
pool_worker_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

/* The supervisor's: a worker's, plus its workers' news. */
static void
pool_supervisor_signals(sigset_t *set)
{
	pool_worker_signals(set);
	sigaddset(set, SIGUSR1);	/* a worker retires (--max-requests) */
	sigaddset(set, SIGCHLD);
}

/*
 * After a request: a connection the web server keeps goes back to the
 * loop for its next request; any other is closed.
 */
static void
pool_request_done(struct pool *p, struct conn *c)
{
	if (c->fd != -1 && c->in.keep_conn && c->outcome == STREAM_COMPLETE) {
		fcgi_in_next(&c->in);
		c->state = CONN_READING;
		loop_give(p->loop, c);
	} else
		loop_close(p->loop, c);
}

/* Decide requests and record ends until the worker stops. */
static void
pool_thread_serve(struct pool *p, struct pool_thread *pt)
{
	struct conn	*c;
	long long	 n;

	while ((c = loop_take(p->loop)) != NULL) {
		if (c->state == CONN_ENDED) {
			server_finish(pt->w, c);
			pool_request_done(p, c);
			continue;
		}
		if (server_handle(pt->w, c) == SERVER_SENDING) {
			c->state = CONN_SENDING;
			loop_give(p->loop, c);
		} else
			pool_request_done(p, c);
		n = atomic_fetch_add(&p->served, 1) + 1;
		if (p->cfg->max_requests > 0 && n == p->cfg->max_requests)
			atomic_store(&p->recycle, 1);	/* the main thread */
	}
}

/*
 * A deciding thread. Owns its struct worker and SQLite connection, opened
 * here, after fork.
 */
static void *
pool_thread_main(void *arg)
{
	struct pool_thread *pt = arg;
	struct pool	*p = pt->pool;
	char		 err[512], q[LOG_VALUE_MAX * 4 + 8];

	if (server_worker_init(pt->w, p->cfg, p->rootfd, p->audit, &p->stop,
	    err, sizeof(err)) == -1) {
		log_warnx("event=worker_error msg=%s",
		    log_quote(q, sizeof(q), err));
		atomic_store(&p->failed, 1);
	} else {
		pool_thread_serve(p, pt);
		server_worker_close(pt->w);
	}
	atomic_store(&pt->exited, 1);
	/* A failed thread still lets the others see it end. */
	loop_wake(p->loop);
	return (NULL);
}

/* The event loop's thread. */
static void *
pool_loop_main(void *arg)
{
	struct pool_thread *pt = arg;

	loop_run(pt->pool->loop);
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
pool_drain_begin(struct pool *p, enum pool_drain why)
{
	int64_t	 d;

	if (why != POOL_DRAIN_RECYCLE) {
		d = pool_now_ms() + p->cfg->drain_timeout * 1000;
		if (d < p->deadline)
			p->deadline = d;
	}
	if (atomic_exchange(&p->stop, 1))
		return;
	if (why == POOL_DRAIN_RECYCLE) {
		if (p->cfg->workers > 0)
			kill(getppid(), SIGUSR1);
	} else
		pool_listen_shut(p->listen_fd, p->listen_owned);
	loop_wake(p->loop);
	log_info("event=drain reason=%s timeout_s=%lld", pool_drain_names[why],
	    why == POOL_DRAIN_RECYCLE ? -1LL :
	    (long long)p->cfg->drain_timeout);
}

/* Block our signals in this thread and every thread to come. */
static void
pool_worker_sigsetup(sigset_t *set)
{
	sigset_t	 all;

	pool_worker_signals(set);
	all = *set;
	sigaddset(&all, SIGUSR1);
	sigaddset(&all, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

/*
 * Start the event loop's thread and the deciding threads. Returns 0, or
 * -1 (logged) if the loop's could not start.
 */
static int
pool_threads_start(struct pool *p)
{
	int	 i;

	p->looper.pool = p;
	atomic_init(&p->looper.exited, 0);
	if ((p->threads = calloc((size_t)p->nthreads, sizeof(*p->threads))) ==
	    NULL || pthread_create(&p->looper.tid, NULL, pool_loop_main,
	    &p->looper) != 0) {
		log_warn("event=worker_error op=thread_start");
		return (-1);
	}
	p->looper.started = 1;
	for (i = 0; i < p->nthreads; i++) {
		struct pool_thread *pt = &p->threads[i];

		pt->pool = p;
		atomic_init(&pt->exited, 0);
		if ((pt->w = calloc(1, sizeof(*pt->w))) == NULL ||
		    pthread_create(&pt->tid, NULL, pool_thread_main, pt) != 0) {
			log_warn("event=worker_error op=thread_start");
			atomic_store(&p->failed, 1);
			atomic_store(&pt->exited, 1);
			break;
		}
		pt->started = 1;
	}
	return (0);
}

/* Join the threads and free them. */
static void
pool_threads_join(struct pool *p)
{
	int	 i;

	if (p->looper.started)
		pthread_join(p->looper.tid, NULL);
	for (i = 0; p->threads != NULL && i < p->nthreads; i++) {
		if (p->threads[i].started)
			pthread_join(p->threads[i].tid, NULL);
		free(p->threads[i].w);
	}
	free(p->threads);
	p->threads = NULL;
}

/* Threads still running (the loop's counted too). */
static int
pool_threads_live(struct pool *p)
{
	int	 i, live = p->looper.started && !atomic_load(&p->looper.exited);

	for (i = 0; i < p->nthreads; i++)
		if (p->threads[i].started &&
		    !atomic_load(&p->threads[i].exited))
			live++;
	return (live);
}

/*
 * The worker's main thread: take signals, start drains, and cut what is
 * left at the deadline. Returns when every thread has exited.
 */
static void
pool_worker_loop(struct pool *p, const sigset_t *set)
{
	struct timespec	 tick = { 0, POOL_TICK_MS * 1000000L };
	int		 sig;

	for (;;) {
		sig = sigtimedwait(set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			pool_drain_begin(p, POOL_DRAIN_SHUTDOWN);
		else if (sig == SIGHUP && log_reopen() == -1)
			log_warn("event=log_reopen_failed");
		if (atomic_load(&p->recycle))
			pool_drain_begin(p, POOL_DRAIN_RECYCLE);
		if (atomic_load(&p->failed))
			pool_drain_begin(p, POOL_DRAIN_THREAD_FAILED);
		if (pool_threads_live(p) == 0)
			return;
		if (atomic_load(&p->stop) && !atomic_load(&p->abort_now) &&
		    pool_now_ms() >= p->deadline) {
			log_warnx("event=drain_deadline msg=\"cutting %ld "
			    "connection(s) still open\"", loop_live(p->loop));
			atomic_store(&p->abort_now, 1);
			loop_wake(p->loop);
		}
	}
}

/* The worker's event loop, over the listening socket. */
static struct loop *
pool_loop_new(struct pool *p)
{
	struct loop_settings s;
	struct rlimit	 rl;
	char		 err[512], q[LOG_VALUE_MAX * 4 + 8];
	struct loop	*l;

	memset(&s, 0, sizeof(s));
	s.listen_fd = p->listen_fd;
	s.params_ms = p->cfg->params_timeout * 1000;
	s.min_rate = p->cfg->min_rate;
	s.rate_window = p->cfg->rate_window;
	s.stop = &p->stop;
	s.abort_now = &p->abort_now;
	/* A connection is two descriptors at most (its file). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 1024;
	s.values.max_conns = (long)(rl.rlim_cur / 2) *
	    (long)(p->cfg->workers > 0 ? p->cfg->workers : 1);
	s.values.max_reqs = s.values.max_conns;
	if ((l = loop_new(&s, err, sizeof(err))) == NULL)
		log_warnx("event=worker_error msg=%s",
		    log_quote(q, sizeof(q), err));
	return (l);
}

/*
 * Run one worker process: its event loop, --threads deciding threads, and
 * this thread waiting for signals. Returns the process's exit status: 0
 * after a drain, 1 if a thread could not run.
 */
static int
pool_worker(const struct config *cfg, int listen_fd, int owned, int rootfd)
{
	struct pool		 p;
	struct audit_settings	 as = { cfg->audit_retention, 0, 0 };
	sigset_t		 set;
	char			 err[512], q[LOG_VALUE_MAX * 4 + 8];

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.listen_fd = listen_fd;
	p.listen_owned = owned;
	p.rootfd = rootfd;
	p.nthreads = (int)cfg->threads;
	p.deadline = INT64_MAX;
	atomic_init(&p.stop, 0);
	atomic_init(&p.abort_now, 0);
	atomic_init(&p.failed, 0);
	atomic_init(&p.recycle, 0);
	atomic_init(&p.served, 0);
	/* Every thread, the audit's upkeep too, starts with them blocked. */
	pool_worker_sigsetup(&set);
	if (cfg->audit_on && (p.audit = audit_writer_open(cfg->state_db, &as,
	    err, sizeof(err))) == NULL) {
		log_warnx("event=worker_error msg=%s",
		    log_quote(q, sizeof(q), err));
		return (1);
	}
	if ((p.loop = pool_loop_new(&p)) == NULL ||
	    pool_threads_start(&p) == -1) {
		atomic_store(&p.stop, 1);
		if (p.loop != NULL)
			loop_wake(p.loop);
		pool_threads_join(&p);
		loop_free(p.loop);
		audit_writer_close(p.audit);
		return (1);
	}
	log_info("event=worker_start threads=%d", p.nthreads);
	pool_worker_loop(&p, &set);
	pool_threads_join(&p);
	loop_free(p.loop);
	/* Every thread is gone: commit what they queued last. */
	audit_writer_close(p.audit);
	FAULT_REPORT();		/* the fault build's counts */
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

/* The supervisor's state. */
struct pool_super {
	const struct config	*cfg;
	int			 listen_fd, owned, rootfd;
	int			 n;		/* --workers */
	struct pool_slot	*slots;
	pid_t			*retiring;	/* recycled, still finishing */
	int			 draining, killed;
	int64_t			 deadline;	/* then KILL */
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
	metrics_worker_restart();	/* its slot is refilled */
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

/* Send sig to every worker, and with retiring to the retiring ones. */
static void
pool_super_kill(struct pool_super *s, int sig, int retiring)
{
	int	 i;

	for (i = 0; i < s->n; i++) {
		if (s->slots[i].pid > 0)
			kill(s->slots[i].pid, sig);
		if (retiring && s->retiring[i] > 0)
			kill(s->retiring[i], sig);
	}
}

/*
 * A worker reached --max-requests (SIGUSR1 from pid): it accepts no more
 * and finishes its downloads; its slot is refilled now.
 */
static void
pool_super_retire(struct pool_super *s, pid_t pid)
{
	int	 i, j;

	for (i = 0; i < s->n; i++)
		if (s->slots[i].pid == pid)
			break;
	for (j = 0; i < s->n && j < s->n; j++)
		if (s->retiring[j] == 0) {
			s->retiring[j] = s->slots[i].pid;
			s->slots[i].pid = 0;
			s->slots[i].fails = 0;
			s->slots[i].next_spawn_ms = 0;
			break;
		}
}

/* One signal taken by the supervisor's sigtimedwait. */
static void
pool_super_signal(struct pool_super *s, int sig, const siginfo_t *info)
{
	int	 i;

	if (sig == SIGUSR1 && !s->draining)
		pool_super_retire(s, info->si_pid);
	if ((sig == SIGTERM || sig == SIGINT) && !s->draining) {
		s->draining = 1;
		s->deadline = pool_now_ms() +
		    (s->cfg->drain_timeout + POOL_KILL_GRACE) * 1000;
		log_info("event=drain reason=shutdown timeout_s=%lld",
		    (long long)s->cfg->drain_timeout);
		pool_super_kill(s, SIGTERM, 1);
		pool_listen_shut(s->listen_fd, s->owned);
	} else if (sig == SIGHUP) {
		if (log_reopen() == -1)
			log_warn("event=log_reopen_failed");
		for (i = 0; i < s->n; i++)
			if (s->slots[i].pid > 0)
				kill(s->slots[i].pid, SIGHUP);
	}
}

/* Reap the workers that ended. */
static void
pool_super_reap(struct pool_super *s)
{
	pid_t	 pid;
	int	 i, status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < s->n; i++) {
			if (s->slots[i].pid == pid)
				pool_reaped(&s->slots[i], status, s->draining);
			if (s->retiring[i] == pid) {
				log_info("event=worker_retired pid=%ld",
				    (long)pid);
				s->retiring[i] = 0;
			}
		}
}

/*
 * Refill the empty slots that are due. Returns the workers alive, or -1
 * when none can be kept alive (every slot failed POOL_GIVE_UP starts).
 */
static int
pool_super_tend(struct pool_super *s)
{
	int	 i, live = 0, gave_up = 1;

	for (i = 0; i < s->n; i++) {
		struct pool_slot *sl = &s->slots[i];

		if (!s->draining && sl->pid == 0 &&
		    pool_now_ms() >= sl->next_spawn_ms)
			pool_spawn(sl, s->cfg, s->listen_fd, s->rootfd);
		if (sl->pid > 0)
			live++;
		if (s->retiring[i] > 0)
			live++;
		if (sl->pid > 0 || sl->fails < POOL_GIVE_UP)
			gave_up = 0;
	}
	return (!s->draining && gave_up ? -1 : live);
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
	struct pool_super	 s;
	siginfo_t		 info;
	struct timespec		 tick = { 0, POOL_TICK_MS * 1000000L };
	sigset_t		 set;
	int			 live, rc = 0;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.listen_fd = listen_fd;
	s.owned = owned;
	s.rootfd = rootfd;
	s.n = (int)cfg->workers;
	pool_supervisor_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((s.slots = calloc((size_t)s.n, sizeof(*s.slots))) == NULL ||
	    (s.retiring = calloc((size_t)s.n, sizeof(*s.retiring))) == NULL)
		fatal("event=startup op=calloc");
	log_info("event=supervisor_start workers=%d threads=%lld", s.n,
	    (long long)cfg->threads);
	for (;;) {
		pool_super_signal(&s, sigtimedwait(&set, &info, &tick), &info);
		pool_super_reap(&s);
		if ((live = pool_super_tend(&s)) == -1) {
			/* Reap what may still run, and say why we stop. */
			pool_super_kill(&s, SIGKILL, 0);
			log_warnx("event=supervisor_exit msg=\"workers keep "
			    "dying at start; giving up\" fails=%d",
			    POOL_GIVE_UP);
			rc = 1;
			break;
		}
		if (s.draining && live == 0) {
			log_info("event=supervisor_exit status=clean");
			break;
		}
		if (s.draining && !s.killed && pool_now_ms() >= s.deadline) {
			log_warnx("event=drain_kill live=%d", live);
			pool_super_kill(&s, SIGKILL, 1);
			s.killed = 1;
		}
	}
	free(s.slots);
	free(s.retiring);
	return (rc);
}

/*
 * Each download in flight holds two descriptors (its connection and its
 * file): raise the soft limit to the hard one, which is what systemd
 * (LimitNOFILE) and ulimit -Hn set, and say what it is.
 */
static void
pool_nofile_raise(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("event=startup op=setrlimit");
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	log_info("event=nofile limit=%lld", rl.rlim_cur == RLIM_INFINITY ?
	    -1LL : (long long)rl.rlim_cur);
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
	pool_nofile_raise();
	if (cfg->workers == 0)
		return (pool_worker(cfg, listen_fd, owned, rootfd));
	return (pool_supervise(cfg, listen_fd, owned, rootfd));
}
