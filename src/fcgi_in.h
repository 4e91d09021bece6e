/*
 * fcgi_in: what the web server sends on a FastCGI connection, parsed as it
 * arrives, in whatever pieces the socket gives (FastCGI 1.0 spec §3).
 *
 * The event loop (loop.c) reads a connection without blocking and feeds
 * every byte here; nothing is buffered but the record header being read
 * and the few parameters sluice uses (request_param_keep says which, and
 * how much of each), so a connection costs the same whatever the web
 * server sends. The parser says when something needs an answer: the
 * request's params are complete, a management record (GET_VALUES answered,
 * other types FCGI_UNKNOWN_TYPE, §4), a BEGIN_REQUEST for a role other
 * than responder (FCGI_UNKNOWN_ROLE, §5.1) or a second request on a
 * connection sluice does not multiplex (FCGI_CANT_MPX_CONN), an
 * FCGI_ABORT_REQUEST (§5.4), or bytes that are not FastCGI.
 *
 * Pure, apart from the kept parameters' buffer (malloc'd, freed by
 * fcgi_in_kept_free or fcgi_in_free).
 */
#ifndef SLUICE_FCGI_IN_H
#define SLUICE_FCGI_IN_H

#include <stddef.h>

#define FCGI_IN_VALUES_MAX	256	/* GET_VALUES content kept */
#define FCGI_IN_NAME_MAX	32	/* longer names are never kept */
#define FCGI_IN_KEPT_MAX	16	/* parameters kept at most */

/* What GET_VALUES answers: the pool's real numbers. */
struct fcgi_in_values {
	long	 max_conns;	/* connections served at once */
	long	 max_reqs;	/* requests served at once */
};

enum fcgi_in_event {
	FCGI_IN_MORE,		/* every byte used: read more */
	FCGI_IN_PARAMS,		/* the request's params are complete */
	FCGI_IN_VALUES,		/* a GET_VALUES: answer it (fcgi_in.mgmt) */
	FCGI_IN_UNKNOWN_TYPE,	/* a management record of type .mgmt_type */
	FCGI_IN_REFUSE,		/* end request .refused with .refuse_status */
	FCGI_IN_ABORT,		/* FCGI_ABORT_REQUEST for the request */
	FCGI_IN_BAD		/* not FastCGI: close the connection */
};

/* The FastCGI END_REQUEST protocolStatus values sluice sends (§5.5). */
#define FCGI_IN_REQUEST_COMPLETE	0
#define FCGI_IN_CANT_MPX_CONN		1
#define FCGI_IN_UNKNOWN_ROLE		3

/* One name-value pair being read (§3.4). */
struct fcgi_in_pair {
	int		 stage;		/* 0, 1: lengths; 2: name; 3: value */
	unsigned char	 len[4];	/* a length's bytes */
	size_t		 len_have, len_need;
	size_t		 nlen, vlen;	/* once both are known */
	size_t		 name_have;	/* bytes of name read */
	size_t		 value_have;	/* bytes of value read */
	char		 name[FCGI_IN_NAME_MAX];
	size_t		 keep;		/* value bytes to keep */
	int		 kept;		/* the value is being kept */
};

struct fcgi_in {
	/* The record being read. */
	unsigned char	 hdr[8];
	size_t		 hdr_have;
	size_t		 content_left, pad_left;
	int		 type, id;
	/* The connection's request. */
	int		 request_id;	/* 0: none begun */
	int		 keep_conn;	/* FCGI_KEEP_CONN */
	int		 params_done;
	int		 stdin_done;	/* its empty STDIN arrived */
	int		 refused;	/* a refused request's id; 0: none */
	int		 refused_keep;
	int		 refuse_status;
	unsigned char	 begin[8];	/* a BEGIN_REQUEST's body */
	size_t		 begin_have;
	/* A management record's content (GET_VALUES), kept in part. */
	unsigned char	 mgmt[FCGI_IN_VALUES_MAX];
	size_t		 mgmt_len;
	int		 mgmt_type;
	/* The params. */
	struct fcgi_in_pair pair;
	char		*kept;		/* "NAME=value\0"..., malloc'd */
	size_t		 kept_len, kept_cap;
	unsigned	 kept_seen;	/* bit i: request_param_keep's name i */
	size_t		 nkept;
	size_t		 kept_off[FCGI_IN_KEPT_MAX];	/* each "NAME=" */
	char		*envp[FCGI_IN_KEPT_MAX + 1];	/* fcgi_in_envp's */
	int		 nomem;		/* a kept value could not be stored */
};

void	fcgi_in_init(struct fcgi_in *);
void	fcgi_in_next(struct fcgi_in *);
void	fcgi_in_free(struct fcgi_in *);
void	fcgi_in_kept_free(struct fcgi_in *);
enum fcgi_in_event fcgi_in_feed(struct fcgi_in *, const unsigned char *,
	    size_t len, size_t *used);
char  **fcgi_in_envp(struct fcgi_in *);
int	fcgi_in_idle(const struct fcgi_in *);
size_t	fcgi_in_values_answer(unsigned char *dst, size_t dstsz,
	    const unsigned char *content, size_t len,
	    const struct fcgi_in_values *);

#endif
