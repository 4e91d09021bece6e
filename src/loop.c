/*
 * loop: a worker's event loop (see loop.h).
 *
 * Every connection is registered once, EPOLLONESHOT: an event disarms it
 * until the loop re-arms it, so a connection a deciding thread owns never
 * wakes the loop, and a deciding thread that closes one needs no
 * epoll_ctl. The listening socket is level-triggered and EPOLLEXCLUSIVE,
 * so one worker wakes per connection, and each accepts at most
 * LOOP_ACCEPT_BATCH at a time to leave some to the others; out of file
 * descriptors, accepting pauses for a tick (OpenBSD slowcgi does the
 * same). Deadlines and paces are judged every LOOP_TICK_MS, by walking
 * the loop's connections: a few thousand a tick cost nothing beside the
 * bytes they move.
 */
#define _GNU_SOURCE	/* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "fcgi_out.h"
#include "log.h"
#include "loop.h"

struct loop {
	struct loop_settings	 set;
	int			 ep, evfd;
	int			 listening;	/* the listening fd is armed */
	int64_t			 paused_until;	/* out of fds: accept later */
	int64_t			 emfile_logged;
	int64_t			 last_watch_s;
	pthread_mutex_t		 mu;
	pthread_cond_t		 work_cv;
	struct conn		*work_head, *work_tail;	/* to decide, to end */
	struct conn		*inbox;			/* given back */
	struct conn		*all;		/* the loop's thread's */
	atomic_long		 live;		/* conns alive, anywhere */
	unsigned char		 buf[STREAM_CHUNK];
};

/* epoll's data for the eventfd; NULL is the listening socket. */
static char loop_evfd_tag;

static int64_t
loop_now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return (0);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int
loop_listen_arm(struct loop *l, int on)
{
	struct epoll_event ev = { EPOLLIN | EPOLLEXCLUSIVE, { .ptr = NULL } };

	if (on == l->listening)
		return (0);
	if (epoll_ctl(l->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL,
	    l->set.listen_fd, &ev) == -1)
		return (-1);
	l->listening = on;
	return (0);
}

/*
 * A loop for the settings s (copied). The listening socket is made
 * non-blocking: every worker accepts from its loop. Returns NULL with a
 * sentence in err.
 */
struct loop *
loop_new(const struct loop_settings *s, char *err, size_t errsz)
{
	struct epoll_event ev = { EPOLLIN, { .ptr = &loop_evfd_tag } };
	struct loop	*l;
	size_t		 i;
	int		 fl;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errsz, "event loop: %s", strerror(errno));
		return (NULL);
	}
	l->set = *s;
	l->ep = l->evfd = -1;
	/*
	 * Touch the read buffer's pages now: its memory is fixed, and shows
	 * as such from the start, not with the first large download.
	 */
	for (i = 0; i < sizeof(l->buf); i += 4096)
		((volatile unsigned char *)l->buf)[i] = 0;
	atomic_init(&l->live, 0);
	if (pthread_mutex_init(&l->mu, NULL) != 0 ||
	    pthread_cond_init(&l->work_cv, NULL) != 0 ||
	    (l->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    epoll_ctl(l->ep, EPOLL_CTL_ADD, l->evfd, &ev) == -1 ||
	    (fl = fcntl(s->listen_fd, F_GETFL)) == -1 ||
	    fcntl(s->listen_fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    loop_listen_arm(l, 1) == -1) {
		snprintf(err, errsz, "event loop: %s", strerror(errno));
		loop_free(l);
		return (NULL);
	}
	return (l);
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	if (l->ep != -1)
		close(l->ep);
	if (l->evfd != -1)
		close(l->evfd);
	free(l);
}

/* Wake the loop and every deciding thread to look at the flags again. */
void
loop_wake(struct loop *l)
{
	uint64_t one = 1;

	pthread_mutex_lock(&l->mu);
	pthread_cond_broadcast(&l->work_cv);
	pthread_mutex_unlock(&l->mu);
	if (write(l->evfd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("event=loop_error op=eventfd_write");
}

long
loop_live(struct loop *l)
{
	return (atomic_load(&l->live));
}

static void
loop_list_add(struct loop *l, struct conn *c)
{
	c->lprev = NULL;
	c->lnext = l->all;
	if (l->all != NULL)
		l->all->lprev = c;
	l->all = c;
	c->listed = 1;
}

static void
loop_list_del(struct loop *l, struct conn *c)
{
	if (!c->listed)
		return;
	if (c->lprev != NULL)
		c->lprev->lnext = c->lnext;
	else
		l->all = c->lnext;
	if (c->lnext != NULL)
		c->lnext->lprev = c->lprev;
	c->lprev = c->lnext = NULL;
	c->listed = 0;
}

/*
 * Free c: its parser, its response, its file and its socket. Any thread
 * that owns c. The last conn of a stopping worker wakes the others.
 */
static void
loop_conn_free(struct loop *l, struct conn *c)
{
	fcgi_in_free(&c->in);
	stream_send_free(&c->send);
	stream_close(&c->send.fd);
	free(c->done);	/* a response never recorded: nothing else has it */
	if (c->fd != -1)
		close(c->fd);
	free(c);
	if (atomic_fetch_sub(&l->live, 1) == 1 &&
	    atomic_load(l->set.stop))
		loop_wake(l);
}

/*
 * Read what the web server still sends of c's request, up to the end of
 * its STDIN, without blocking. Returns 1 once it has all arrived (or the
 * connection ended: nothing more will), 0 while more is to come.
 */
static int
loop_read_rest(struct conn *c, unsigned char *buf, size_t bufsz)
{
	size_t	 off, used;
	ssize_t	 n;

	while (!c->in.stdin_done) {
		n = recv(c->fd, buf, bufsz, MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (0);
		if (n <= 0)
			return (1);
		for (off = 0; off < (size_t)n; off += used)
			if (fcgi_in_feed(&c->in, buf + off, (size_t)n - off,
			    &used) == FCGI_IN_BAD)
				return (1);
	}
	return (1);
}

/*
 * A deciding thread is done with c: close it. After a whole response,
 * the rest of the request (its STDIN) is read first, so that the close
 * is a clean end; and if it has not all arrived, closing now would fail
 * the web server's last writes (Apache's mod_proxy_fcgi then answers 503
 * in place of the response it already has), so the loop keeps c open
 * until it has (CONN_CLOSING, for at most --params-timeout). After a cut,
 * the close is at once, with the input unread (see stream_cut).
 */
void
loop_close(struct loop *l, struct conn *c)
{
	unsigned char	 buf[512];

	if (c->fd != -1 && c->outcome == STREAM_COMPLETE &&
	    c->in.request_id != 0 && loop_read_rest(c, buf, sizeof(buf)) == 0) {
		c->state = CONN_CLOSING;
		loop_give(l, c);
		return;
	}
	loop_conn_free(l, c);
}

/* In the loop: forget c. */
static void
loop_drop(struct loop *l, struct conn *c)
{
	loop_list_del(l, c);
	loop_conn_free(l, c);
}

/* Arm c for events (EPOLLIN, EPOLLOUT), once. Returns 0 or -1 (dropped). */
static int
loop_arm(struct loop *l, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { events | EPOLLONESHOT, { .ptr = c } };

	if (epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
		log_warn("event=loop_error op=epoll_mod");
		loop_drop(l, c);
		return (-1);
	}
	return (0);
}

/* Queue c for the deciding threads. */
static void
loop_queue(struct loop *l, struct conn *c)
{
	loop_list_del(l, c);
	c->next = NULL;
	pthread_mutex_lock(&l->mu);
	if (l->work_tail != NULL)
		l->work_tail->next = c;
	else
		l->work_head = c;
	l->work_tail = c;
	pthread_cond_signal(&l->work_cv);
	pthread_mutex_unlock(&l->mu);
}

/*
 * The next conn to decide or to end, for a deciding thread: waits for
 * one. Returns NULL once the worker stops and no conn is left.
 */
struct conn *
loop_take(struct loop *l)
{
	struct conn	*c;

	pthread_mutex_lock(&l->mu);
	while (l->work_head == NULL && !(atomic_load(l->set.stop) &&
	    atomic_load(&l->live) == 0))
		pthread_cond_wait(&l->work_cv, &l->mu);
	if ((c = l->work_head) != NULL) {
		l->work_head = c->next;
		if (l->work_head == NULL)
			l->work_tail = NULL;
		c->next = NULL;
	}
	pthread_mutex_unlock(&l->mu);
	return (c);
}

/*
 * A deciding thread gives c back to the loop: CONN_SENDING, the rest of
 * its response to send, or CONN_READING, a kept connection's next
 * request to read.
 */
void
loop_give(struct loop *l, struct conn *c)
{
	uint64_t one = 1;

	pthread_mutex_lock(&l->mu);
	c->next = l->inbox;
	l->inbox = c;
	pthread_mutex_unlock(&l->mu);
	if (write(l->evfd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("event=loop_error op=eventfd_write");
}

/*
 * The response of c ended (outcome): close its file, and its socket
 * unless the web server keeps the connection for another request, and
 * queue it for a deciding thread to record.
 */
static void
loop_end(struct loop *l, struct conn *c, enum stream_outcome outcome)
{
	c->peer_pid = -1;
	/* An FCGI_ABORT_REQUEST says so itself: its client left. */
	if (outcome == STREAM_ABORTED_CLIENT && !c->aborted &&
	    (c->peer_pid = stream_peer_pid(c->fd)) > 0 &&
	    stream_pid_exiting(c->peer_pid))
		outcome = STREAM_ABORTED_SHUTDOWN;
	c->outcome = outcome;
	stream_close(&c->send.fd);
	/* A cut is shown by closing at once; a whole one, by loop_close. */
	if (outcome != STREAM_COMPLETE) {
		close(c->fd);
		c->fd = -1;
	}
	c->state = CONN_ENDED;
	/*
	 * The web server closed: its client left, or it is shutting down
	 * (Apache closes its connections before its process exits). Which
	 * one shows within LOOP_GRACE_MS: the tick records it then.
	 */
	if (outcome == STREAM_ABORTED_CLIENT && c->peer_pid > 0 &&
	    !atomic_load(l->set.stop)) {
		c->grace_until = loop_now_ms() + LOOP_GRACE_MS;
		return;
	}
	loop_queue(l, c);
}

/* Every tick, a conn that ended as aborted:client while its web
 * server's process might be exiting: record it once that shows, or the
 * grace is over. */
static void
loop_grace(struct loop *l, struct conn *c, int64_t now)
{
	if (stream_pid_exiting(c->peer_pid))
		c->outcome = STREAM_ABORTED_SHUTDOWN;
	else if (now < c->grace_until && !atomic_load(l->set.stop))
		return;
	c->grace_until = 0;
	loop_queue(l, c);
}

/* Cut the response of c short (see stream_cut), for outcome. */
static void
loop_cut(struct loop *l, struct conn *c, enum stream_outcome outcome)
{
	stream_cut(&c->send, c->fd, c->in.stdin_done);
	loop_end(l, c, outcome);
}

/*
 * The web server aborted c's request (FCGI_ABORT_REQUEST, FastCGI spec
 * §5.4): its client is gone, and the answer it asks for is an
 * END_REQUEST, written where a record ends, after its input is read.
 */
static void
loop_abort(struct loop *l, struct conn *c)
{
	ssize_t	 n;

	do
		n = recv(c->fd, l->buf, LOOP_READ_MAX, MSG_DONTWAIT);
	while (n > 0 || (n == -1 && errno == EINTR));
	stream_cut(&c->send, c->fd, 1);
	loop_end(l, c, STREAM_ABORTED_CLIENT);
}

/*
 * Answer a management record or refuse a request, as the parser asked
 * (ev), on c's socket. Returns 0, or -1: close the connection.
 */
static int
loop_answer(struct loop *l, struct conn *c, enum fcgi_in_event ev)
{
	unsigned char	 out[FCGI_IN_VALUES_MAX + 64];
	size_t		 n;

	if (ev == FCGI_IN_VALUES) {
		if ((n = fcgi_in_values_answer(out, sizeof(out), c->in.mgmt,
		    c->in.mgmt_len, &l->set.values)) == 0)
			return (-1);
	} else if (ev == FCGI_IN_UNKNOWN_TYPE) {
		memset(out, 0, 16);
		fcgi_out_header(out, FCGI_OUT_UNKNOWN_TYPE, 0, 8, 0);
		out[FCGI_OUT_HEADER_LEN] = (unsigned char)c->in.mgmt_type;
		n = 16;
	} else {
		log_warnx("event=fcgi_refused reason=%s role=%d",
		    c->in.refuse_status == FCGI_IN_UNKNOWN_ROLE ?
		    "unknown_role" : "cant_mpx_conn",
		    (c->in.begin[0] << 8) | c->in.begin[1]);
		fcgi_out_end_record(out, c->in.refused, 0,
		    c->in.refuse_status);
		n = 16;
	}
	if (fcgi_out_record(c->fd, out, n) == -1)
		return (-1);
	/* A refused request without keep-conn: its connection ends. */
	if (ev == FCGI_IN_REFUSE && c->in.request_id == 0 &&
	    !c->in.refused_keep)
		return (-1);
	return (0);
}

/*
 * Feed p[0..n), peeked from c, to its parser and act on what it says, up
 * to the end of the request's params: *taken is what was used (to be
 * read for real); what follows (the request's STDIN) stays unread in the
 * socket until the response has ended whole (see loop_close). Management
 * records are answered between requests. Returns 0, or -1: close.
 */
static int
loop_feed(struct loop *l, struct conn *c, const unsigned char *p, size_t n,
    size_t *taken)
{
	enum fcgi_in_event ev;
	size_t		 used;

	*taken = 0;
	while (n > 0 && c->state == CONN_READING) {
		ev = fcgi_in_feed(&c->in, p, n, &used);
		p += used;
		n -= used;
		*taken += used;
		switch (ev) {
		case FCGI_IN_MORE:
			break;
		case FCGI_IN_PARAMS:
			c->state = CONN_READY;
			break;
		case FCGI_IN_ABORT:
			return (-1);	/* nothing begun: nothing owed */
		case FCGI_IN_BAD:
			log_warnx("event=fcgi_refused reason=not_fastcgi");
			return (-1);
		default:
			if (loop_answer(l, c, ev) == -1)
				return (-1);
			break;
		}
	}
	return (0);
}

/* Accept what is waiting, up to LOOP_ACCEPT_BATCH. */
static void
loop_accept(struct loop *l, int64_t now)
{
	struct epoll_event ev;
	struct conn	*c;
	int		 fd, i;

	for (i = 0; i < LOOP_ACCEPT_BATCH; i++) {
		fd = accept4(l->set.listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: pause, and say so. */
				if (now - l->emfile_logged >= 1000) {
					log_warn("event=accept_paused");
					l->emfile_logged = now;
				}
				l->paused_until = now + LOOP_TICK_MS;
				(void)loop_listen_arm(l, 0);
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED && errno != EINVAL)
				log_warn("event=accept_error");
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			log_warn("event=loop_error op=calloc");
			close(fd);
			return;
		}
		c->fd = fd;
		c->send.fd = -1;
		c->since_ms = now;
		fcgi_in_init(&c->in);
		ev.events = EPOLLIN | EPOLLONESHOT;
		ev.data.ptr = c;
		atomic_fetch_add(&l->live, 1);
		loop_list_add(l, c);
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			log_warn("event=loop_error op=epoll_add");
			loop_drop(l, c);
		}
	}
}

/*
 * c, reading params, is readable. What the web server sent is peeked,
 * and only the records up to the end of the params are read for real.
 */
static void
loop_read(struct loop *l, struct conn *c, int64_t now)
{
	size_t	 taken;
	ssize_t	 n;

	for (;;) {
		n = recv(c->fd, l->buf, LOOP_READ_MAX, MSG_PEEK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			/* The web server closed it (a kept connection). */
			loop_drop(l, c);
			return;
		}
		if (c->since_ms == 0)
			c->since_ms = now;
		if (loop_feed(l, c, l->buf, (size_t)n, &taken) == -1 ||
		    recv(c->fd, l->buf, taken, MSG_DONTWAIT) != (ssize_t)taken) {
			loop_drop(l, c);
			return;
		}
		if (c->state == CONN_READY) {
			loop_queue(l, c);
			return;
		}
	}
	(void)loop_arm(l, c, EPOLLIN);
}

/*
 * c, sending: has the web server aborted the request (an
 * FCGI_ABORT_REQUEST after its STDIN: FastCGI spec §5.4)? What it sent is
 * only peeked, and parsed with a copy of c's parser: it stays unread, so
 * that a cut, a close with input unread, reaches the web server as a
 * reset, which nginx and lighttpd pass on to their client at once, where
 * a plain close leaves nginx's client waiting for keepalive_timeout.
 * Returns 1 when aborted, else 0.
 */
static int
loop_watch(struct loop *l, struct conn *c)
{
	struct fcgi_in	 in;
	size_t		 used, off;
	ssize_t		 n;

	if (c->watch_off)
		return (c->aborted);
	do
		n = recv(c->fd, l->buf, LOOP_READ_MAX, MSG_PEEK | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return (c->aborted);	/* nothing, or a write will tell */
	in = c->in;
	in.kept = NULL;
	for (off = 0; off < (size_t)n; off += used)
		switch (fcgi_in_feed(&in, l->buf + off, (size_t)n - off,
		    &used)) {
		case FCGI_IN_ABORT:
			c->aborted = 1;
			return (1);
		case FCGI_IN_BAD:
			c->watch_off = 1;
			return (0);
		default:
			break;
		}
	/* A full receive buffer of STDIN: nothing an abort could follow. */
	if ((size_t)n == LOOP_READ_MAX)
		c->watch_off = 1;
	return (0);
}

/* c is sending and its socket may take more. */
static void
loop_send(struct loop *l, struct conn *c)
{
	enum stream_outcome why = STREAM_COMPLETE;

	switch (stream_step(&c->send, c->fd, l->buf, sizeof(l->buf),
	    STREAM_BUDGET, &why)) {
	case STREAM_STEP_DONE:
		loop_end(l, c, STREAM_COMPLETE);
		break;
	case STREAM_STEP_FAILED:
		if (c->aborted && why == STREAM_ABORTED_CLIENT)
			loop_abort(l, c);
		else
			loop_cut(l, c, why);
		break;
	default:
		(void)loop_arm(l, c, EPOLLOUT);
		break;
	}
}

/* One event of c's. */
static void
loop_event(struct loop *l, struct conn *c, uint32_t events, int64_t now)
{
	if (c->state == CONN_READING) {
		loop_read(l, c, now);
		return;
	}
	if (c->state == CONN_CLOSING) {
		if (loop_read_rest(c, l->buf, LOOP_READ_MAX))
			loop_drop(l, c);
		else
			(void)loop_arm(l, c, EPOLLIN);
		return;
	}
	(void)events;
	if (loop_watch(l, c))
		c->send.finishing = 1;	/* then loop_abort, from loop_send */
	loop_send(l, c);
}

/* The conns the deciding threads gave back. */
static void
loop_inbox(struct loop *l, int64_t now)
{
	struct conn	*c, *next;
	uint64_t	 v;

	if (read(l->evfd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("event=loop_error op=eventfd_read");
	pthread_mutex_lock(&l->mu);
	c = l->inbox;
	l->inbox = NULL;
	pthread_mutex_unlock(&l->mu);
	for (; c != NULL; c = next) {
		next = c->next;
		loop_list_add(l, c);
		if (c->state == CONN_READING || c->state == CONN_CLOSING) {
			/* Idle until a byte comes; closing: from now. */
			c->since_ms = c->state == CONN_CLOSING ? now : 0;
			(void)loop_arm(l, c, EPOLLIN);
		} else {
			c->send.finishing = c->aborted;
			c->send.window_start_ms = now;
			c->send.window_bytes = 0;
			(void)loop_arm(l, c, EPOLLOUT);
		}
	}
}

/*
 * A sending conn's pace: has a whole --rate-window passed since the
 * window began, with fewer than --min-rate bytes a second read? Returns
 * 1 when the reader is too slow.
 */
static int
loop_too_slow(const struct loop *l, struct conn *c, int64_t now)
{
	struct stream_send *s = &c->send;

	if (l->set.min_rate == 0 ||
	    now - s->window_start_ms < l->set.rate_window * 1000)
		return (0);
	if (s->window_bytes < l->set.min_rate * l->set.rate_window)
		return (1);
	s->window_start_ms = now;
	s->window_bytes = 0;
	return (0);
}

/* Deadlines and paces, every tick. */
static void
loop_tick(struct loop *l, int64_t now)
{
	struct conn	*c, *next;
	int		 stop = atomic_load(l->set.stop);
	int		 cut = atomic_load(l->set.abort_now);
	int		 watch = now / 1000 != l->last_watch_s;

	l->last_watch_s = now / 1000;	/* a stalled download: once a second */

	for (c = l->all; c != NULL; c = next) {
		next = c->lnext;
		if (c->grace_until != 0) {
			loop_grace(l, c, now);
			continue;
		}
		if (c->state == CONN_SENDING) {
			if (cut)
				loop_cut(l, c, STREAM_ABORTED_SHUTDOWN);
			else if (loop_too_slow(l, c, now))
				loop_cut(l, c, STREAM_ABORTED_SLOW);
			else if (watch && loop_watch(l, c))
				c->send.finishing = 1;
			continue;
		}
		if (c->since_ms == 0 ? stop : cut) {
			loop_drop(l, c);	/* idle, or the deadline */
		} else if (c->state == CONN_CLOSING) {
			if (now - c->since_ms >= l->set.params_ms)
				loop_drop(l, c);
		} else if (c->since_ms != 0 &&
		    now - c->since_ms >= l->set.params_ms) {
			log_warnx("event=params_timeout after_ms=%lld "
			    "request=%s", (long long)(now - c->since_ms),
			    c->in.request_id != 0 ? "begun" : "none");
			loop_drop(l, c);
		}
	}
}

/* Stop or pause accepting, or start again. */
static void
loop_listen_update(struct loop *l, int64_t now)
{
	int	 want = !atomic_load(l->set.stop) && now >= l->paused_until;

	if (loop_listen_arm(l, want) == -1)
		log_warn("event=loop_error op=listen_arm");
}

/*
 * Run the loop until the worker stops (loop_settings.stop) and no
 * connection is left anywhere.
 */
void
loop_run(struct loop *l)
{
	struct epoll_event ev[LOOP_EVENTS];
	int64_t		 now = loop_now_ms(), next_tick = now + LOOP_TICK_MS;
	int		 i, n;

	for (;;) {
		loop_listen_update(l, now);
		if (atomic_load(l->set.stop) && atomic_load(&l->live) == 0)
			break;
		n = epoll_wait(l->ep, ev, LOOP_EVENTS,
		    (int)(next_tick > now ? next_tick - now : 0));
		if (n == -1 && errno != EINTR) {
			log_warn("event=loop_error op=epoll_wait");
			n = 0;
		}
		now = loop_now_ms();
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr == NULL)
				loop_accept(l, now);
			else if (ev[i].data.ptr == &loop_evfd_tag)
				loop_inbox(l, now);
			else
				loop_event(l, ev[i].data.ptr, ev[i].events,
				    now);
		}
		if (now >= next_tick) {
			loop_tick(l, now);
			next_tick = now + LOOP_TICK_MS;
		}
	}
	loop_wake(l);
}
