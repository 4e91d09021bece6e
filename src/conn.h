/*
 * conn: one connection from the web server, as the event loop (loop.c)
 * and the deciding threads (server.c) pass it between them. At any time
 * exactly one thread owns a conn: the loop while it reads params or
 * sends a body, a deciding thread while it decides and answers, or ends
 * the response (its audit and log line).
 */
#ifndef SLUICE_CONN_H
#define SLUICE_CONN_H

#include <stdint.h>

#include "fcgi_in.h"
#include "stream.h"

enum conn_state {
	CONN_READING,		/* the loop reads the next request's params */
	CONN_READY,		/* params complete: for a deciding thread */
	CONN_SENDING,		/* the loop sends the rest of the response */
	CONN_ENDED,		/* the response ended: for a deciding thread */
	CONN_CLOSING		/* answered: the loop waits for the web
				   server to finish sending, then closes */
};

struct server_done;

struct conn {
	struct conn	*next;		/* in a queue */
	struct conn	*lprev, *lnext;	/* on the loop's list */
	int		 fd;		/* the socket; -1: closed */
	enum conn_state	 state;
	int		 listed;	/* on the loop's list */
	int		 aborted;	/* FCGI_ABORT_REQUEST seen early */
	int		 watch_off;	/* its input is no longer read */
	int64_t		 since_ms;	/* reading: since; 0: idle, kept */
	/* Ended as aborted:client: the web server's pid, and until when
	 * the loop watches whether it exits (then aborted:shutdown). */
	int64_t		 peer_pid;
	int64_t		 grace_until;	/* 0: queued at once */
	struct fcgi_in	 in;
	struct stream_send send;	/* the response being sent */
	enum stream_outcome outcome;	/* how it ended */
	struct server_done *done;	/* what its end records, or NULL */
};

#endif
