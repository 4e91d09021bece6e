/*
 * http_cond: validators, preconditions and ranges (RFC 9110 §8.8, §13,
 * §14): the ETag, the entity-tag list match, the Range parser and the
 * §13.2.2 decision. Pure: no system calls, no allocation, no globals.
 */
#ifndef SLUICE_HTTP_COND_H
#define SLUICE_HTTP_COND_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_ETAG_SIZE		64
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

int		 http_etag_format(char *, size_t, uint64_t ino, int64_t size,
		    int64_t mtime_sec, long mtime_nsec);
int		 http_etag_match(const char *list, const char *etag, int weak);
enum http_range_result http_range_parse(const char *, int64_t size,
		    int64_t *start, int64_t *len);
void		 http_decide(const struct http_conditions *,
		    const struct http_entity *, int64_t now,
		    struct http_decision *);
int		 http_starts_download(int is_get, int status, int64_t start);

#endif
