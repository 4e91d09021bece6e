/*
 * request: the FastCGI parameters sluice uses, copied into fixed fields and
 * validated. Pure: no system calls, no allocation, no globals.
 *
 * The connection's parser frees its parameters once read: everything is
 * copied.
 * A value longer than its field is an error (400), never a silent cut.
 */
#ifndef SLUICE_REQUEST_H
#define SLUICE_REQUEST_H

#include "job.h"

#define REQUEST_URI_MAX		4096	/* web servers cut lines near 8 KiB */
#define REQUEST_TOKEN_MAX	256
#define REQUEST_ADDR_MAX	63
#define REQUEST_HEADER_MAX	1024	/* If-*: longer is 400; Range: ignored */
#define REQUEST_PARAMS_KEPT	10	/* the parameters request_read uses */
#define REQUEST_METHOD_KEEP	8	/* longer than "HEAD": another method */

enum request_method {
	REQUEST_GET,
	REQUEST_HEAD,
	REQUEST_OTHER
};

struct request {
	enum request_method method;
	char	 uri[REQUEST_URI_MAX + 1];	/* raw REQUEST_URI */
	char	 id[JOB_ID_MAX + 1];		/* from the path */
	char	 token[REQUEST_TOKEN_MAX + 1];	/* decoded ?token= */
	char	 remote_user[JOB_USER_MAX + 1];	/* "" = none */
	char	 remote_addr[REQUEST_ADDR_MAX + 1];
	char	 range[REQUEST_HEADER_MAX + 1];
	char	 if_match[REQUEST_HEADER_MAX + 1];
	char	 if_none_match[REQUEST_HEADER_MAX + 1];
	char	 if_modified_since[REQUEST_HEADER_MAX + 1];
	char	 if_unmodified_since[REQUEST_HEADER_MAX + 1];
	char	 if_range[REQUEST_HEADER_MAX + 1];
	unsigned has_token : 1;
	unsigned has_range : 1;
	unsigned has_if_match : 1;
	unsigned has_if_none_match : 1;
	unsigned has_if_modified_since : 1;
	unsigned has_if_unmodified_since : 1;
	unsigned has_if_range : 1;
	/* Why the request was refused, for the log; a string constant. */
	const char *why;
};

int	request_read(struct request *, char *const *envp);
int	request_parse_target(struct request *, const char *prefix);
int	request_id_valid(const char *id, size_t len);
int	request_param_keep(const char *name, size_t len, size_t *keep);

#endif
