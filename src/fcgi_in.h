/*
 * fcgi_in: the FastCGI records sluice reads itself, around libfcgi.
 *
 * libfcgi 2.4.2 reads a request's BEGIN_REQUEST and PARAMS, and nothing
 * else: it answers FCGI_GET_VALUES with fixed numbers (1, 1, 0), or, as
 * Debian builds it, not at all; it serves the AUTHORIZER and FILTER roles
 * as if they were responders and closes the connection without a word
 * for any other role; and an application that never reads FCGI_STDIN
 * never sees FCGI_ABORT_REQUEST. So a connection is screened here before
 * libfcgi reads it (fcgi_in_screen: management records answered, other
 * roles refused with FCGI_UNKNOWN_ROLE), and the socket is watched for an
 * abort while a body streams (fcgi_in_watch_aborted). FastCGI 1.0 spec
 * §4 (management records), §5.1 (roles), §5.4 (abort).
 */
#ifndef SLUICE_FCGI_IN_H
#define SLUICE_FCGI_IN_H

#include <stddef.h>

#define FCGI_IN_FIRST_MS	5000	/* a new connection's next record */
#define FCGI_IN_VALUES_MAX	1024	/* GET_VALUES content read; rest skipped */

/* What GET_VALUES answers: the pool's real numbers. */
struct fcgi_in_values {
	long	 max_conns;	/* connections served at once */
	long	 max_reqs;	/* requests served at once */
};

enum fcgi_in_screen {
	FCGI_IN_RESPONDER,	/* a responder's BEGIN_REQUEST is next: libfcgi */
	FCGI_IN_DONE,		/* nothing to serve: close the connection */
	FCGI_IN_INTR		/* a signal: look at the pool, then again */
};

/* A request's input while its body streams: where in which record. */
struct fcgi_in_watch {
	unsigned char	 hdr[8];
	size_t		 have;		/* bytes of hdr read */
	size_t		 skip;		/* content and padding left to skip */
	int		 off;		/* EOF, error or garbage: stop looking */
	int		 aborted;
};

enum fcgi_in_screen fcgi_in_screen(int fd, const struct fcgi_in_values *,
	    int wait_ms);
size_t	fcgi_in_values_answer(unsigned char *dst, size_t dstsz,
	    const unsigned char *content, size_t len,
	    const struct fcgi_in_values *);
int	fcgi_in_watch_feed(struct fcgi_in_watch *, const unsigned char *,
	    size_t, int request_id);
int	fcgi_in_watch_aborted(struct fcgi_in_watch *, int fd, int request_id);

#endif
