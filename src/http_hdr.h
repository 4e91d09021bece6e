/*
 * http_hdr: the CGI header block, reason phrases, error bodies and the
 * header-value guard (both binaries check stored values with it). Pure:
 * no system calls, no allocation, no globals, no static buffers.
 */
#ifndef SLUICE_HTTP_HDR_H
#define SLUICE_HTTP_HDR_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_HEADERS_SIZE	4096	/* nginx's default fastcgi buffer */
#define HTTP_RETRY_AFTER_BUSY	5	/* seconds, for 503 */
#define HTTP_TYPE_MAX		255	/* a content type: job.h's JOB_TYPE_MAX */

struct http_headers {
	char	 buf[HTTP_HEADERS_SIZE];
	size_t	 len;
	int	 error;		/* a value was refused or did not fit */
};

const char	*http_reason(int status);
const char	*http_error_body(int status);
int		 http_header_value_ok(const char *, size_t);
int		 http_content_type_ok(const char *);

void		 http_headers_init(struct http_headers *, int status);
void		 http_headers_add(struct http_headers *, const char *name,
		    const char *value);
void		 http_headers_add_int(struct http_headers *, const char *name,
		    int64_t value);
int		 http_headers_end(struct http_headers *);

#endif
