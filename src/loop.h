/*
 * loop: a worker's event loop, and the queues between it and the
 * deciding threads.
 *
 * One thread per worker process runs loop_run: it accepts connections,
 * reads every connection's FastCGI params without blocking (fcgi_in),
 * each under a deadline (--params-timeout), and hands a request whose
 * params are complete to the deciding threads (loop_take). A deciding
 * thread answers it; a response it could not send whole comes back with
 * loop_give, and the loop sends the rest as the socket takes it, in
 * fixed-size reads through one buffer, judging each download's pace
 * (--min-rate over --rate-window) and cutting what is left at the drain
 * deadline. A response that ends in the loop goes back to a deciding
 * thread to be recorded (its audit row and log line), so the loop never
 * waits on the state database. A download in flight is a struct conn:
 * no thread, no buffer of its own.
 */
#ifndef SLUICE_LOOP_H
#define SLUICE_LOOP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "fcgi_in.h"

struct conn;
struct loop;

#define LOOP_TICK_MS		100	/* deadlines and paces judged */
/* After a web server's close: how long its exit may take to show. */
#define LOOP_GRACE_MS		500
#define LOOP_ACCEPT_BATCH	64	/* accepts per wakeup: share with
					   the other workers */
#define LOOP_EVENTS		256	/* epoll events per wait */
#define LOOP_READ_MAX		16384	/* a connection's read per event */

struct loop_settings {
	int			 listen_fd;
	int64_t			 params_ms;	/* --params-timeout */
	int64_t			 min_rate;	/* bytes/s; 0: no minimum */
	int64_t			 rate_window;	/* seconds */
	const _Atomic int	*stop;		/* accept no more */
	const _Atomic int	*abort_now;	/* cut what is in flight */
	struct fcgi_in_values	 values;	/* GET_VALUES' answer */
};

struct loop *loop_new(const struct loop_settings *, char *err, size_t errsz);
void	loop_free(struct loop *);
void	loop_run(struct loop *);
void	loop_wake(struct loop *);
struct conn *loop_take(struct loop *);
void	loop_give(struct loop *, struct conn *);
void	loop_close(struct loop *, struct conn *);
long	loop_live(struct loop *);

#endif
