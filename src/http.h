/*
 * http: the HTTP side of a response, as pure functions on values: dates,
 * validators, Content-Disposition, the header-value guard and the header
 * block. No system calls, no allocation, no globals, no static buffers.
 */
#ifndef SLUICE_HTTP_H
#define SLUICE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_DATE_SIZE		30	/* IMF-fixdate + NUL */
#define HTTP_ETAG_SIZE		64
#define HTTP_DIGEST_SIZE	64	/* "sha-256=:<44 base64>:" + NUL */
#define HTTP_NAME_MAX		255	/* bytes of file name kept in headers */
#define HTTP_EXT_MAX		16	/* an extension this short survives cuts */
#define HTTP_DISPOSITION_SIZE	1280	/* fits HTTP_NAME_MAX fully encoded */
#define HTTP_HEADERS_SIZE	4096	/* nginx's default fastcgi buffer */
#define HTTP_RETRY_AFTER_BUSY	5	/* seconds, for 503 */
#define HTTP_RANGE_MAX		1024	/* a longer Range value is ignored */

enum http_range_result {
	HTTP_RANGE_IGNORE,		/* 200, the whole representation */
	HTTP_RANGE_OK,			/* 206 */
	HTTP_RANGE_UNSATISFIABLE	/* 416 */
};

/* The request's conditional and range fields; NULL when absent. */
struct http_conditions {
	const char	*if_match;
	const char	*if_none_match;
	const char	*if_modified_since;
	const char	*if_unmodified_since;
	const char	*if_range;
	const char	*range;
	int		 range_allowed;		/* GET: 1, HEAD: 0 */
};

/* What is being served: its validators and size. */
struct http_entity {
	const char	*etag;			/* strong, quoted */
	int64_t		 last_modified;		/* unix seconds */
	int64_t		 size;
};

struct http_decision {
	int		 status;		/* 200 206 304 412 416 */
	int64_t		 start;
	int64_t		 length;
};

struct http_headers {
	char	 buf[HTTP_HEADERS_SIZE];
	size_t	 len;
	int	 error;		/* a value was refused or did not fit */
};

const char	*http_reason(int status);
const char	*http_error_body(int status);
int		 http_header_value_ok(const char *, size_t);
int		 http_date_format(char *, size_t, int64_t);
int		 http_etag_format(char *, size_t, uint64_t ino, int64_t size,
		    int64_t mtime_sec, long mtime_nsec);
int		 http_digest_format(char *, size_t, const char *sha256_hex);
int		 http_disposition_format(char *, size_t, const char *name,
		    const char *fallback);

int		 http_date_parse(const char *, int64_t now, int64_t *);
int		 http_etag_match(const char *list, const char *etag, int weak);
enum http_range_result http_range_parse(const char *, int64_t size,
		    int64_t *start, int64_t *len);
void		 http_decide(const struct http_conditions *,
		    const struct http_entity *, int64_t now,
		    struct http_decision *);
int		 http_starts_download(int is_get, int status, int64_t start);

void		 http_headers_init(struct http_headers *, int status);
void		 http_headers_add(struct http_headers *, const char *name,
		    const char *value);
void		 http_headers_add_int(struct http_headers *, const char *name,
		    int64_t value);
int		 http_headers_end(struct http_headers *);

#endif
