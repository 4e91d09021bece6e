/*
 * plan: decide, then act. The pure planning step of one request: from the
 * facts gathered so far (the request, the job row, the client, the
 * downloads state, the file's fstat, the time) to a plan: the status, the
 * finished header block, the body to send, and the reason for the log.
 *
 * Facts that take I/O are gathered lazily, in the contract's order:
 * plan_make returns PLAN_NEED_JOB, PLAN_NEED_DOWNLOAD or PLAN_NEED_FILE
 * when the next check needs one, and the caller gathers it and asks again.
 * So no I/O is done for a request that an earlier check refuses, a GET's
 * download is joined or opened (the limit checked) before the file is
 * touched, and the
 * unit tests, which give every fact at once, see the whole contract table
 * in one call.
 *
 * Convention, as in policy: a check returns 0 to go on, or the HTTP status
 * to answer with; I/O helpers (stream, jobstore, audit) return 0 or -1, or
 * a result enum that the server turns into a fact.
 *
 * Pure: no system calls, no allocation, no globals; the time is a fact.
 */
#ifndef SLUICE_PLAN_H
#define SLUICE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "http_cond.h"
#include "http_date.h"
#include "http_disp.h"
#include "http_hdr.h"

struct config;
struct job;
struct request;

enum plan_next {
	PLAN_READY,		/* the plan is complete: execute it */
	PLAN_NEED_JOB,		/* look the job up: facts.lookup, .job */
	PLAN_NEED_DOWNLOAD,	/* join or open a download: facts.download */
	PLAN_NEED_FILE,		/* open the file: facts.file */
	PLAN_NEED_METRICS	/* --metrics-path's page: facts.metrics */
};

enum plan_lookup {
	PLAN_LOOKUP_UNKNOWN,	/* not yet looked up */
	PLAN_LOOKUP_FOUND,
	PLAN_LOOKUP_NOT_FOUND,
	PLAN_LOOKUP_BUSY,	/* the jobs database is locked: 503 */
	PLAN_LOOKUP_ERROR
};

/*
 * A GET's download, from the state database: the client's open one
 * joined, or a new one opened if the limit allows (one atomic step).
 */
enum plan_download {
	PLAN_DOWNLOAD_UNKNOWN,	/* not yet asked */
	PLAN_DOWNLOAD_OPENED,	/* a new download, counted */
	PLAN_DOWNLOAD_JOINED,	/* the client's open download */
	PLAN_DOWNLOAD_LIMIT,	/* the limit is reached: 410 */
	PLAN_DOWNLOAD_FAILED,	/* the state database refused */
	PLAN_DOWNLOAD_OFF	/* the audit is off: a limit cannot hold */
};

enum plan_file_state {
	PLAN_FILE_UNKNOWN,	/* not yet opened */
	PLAN_FILE_OPEN,		/* opened beneath the root; fstat below */
	PLAN_FILE_ERROR		/* not opened: why says why (logged) */
};

/* The file, as fstat of the opened descriptor saw it. */
struct plan_file {
	enum plan_file_state	 state;
	const char		*why;		/* PLAN_FILE_ERROR */
	int			 regular;
	unsigned		 type;		/* st_mode & S_IFMT */
	unsigned		 perm;		/* st_mode & 07777 */
	int64_t			 uid;		/* the owner */
	int64_t			 size;
	uint64_t		 ino;
	int64_t			 mtime_sec;
	long			 mtime_nsec;
};

struct plan_facts {
	const struct config	*cfg;		/* offload settings */
	const struct request	*req;
	int			 read_status;	/* request_read: 0 or 400 */
	int			 target_status;	/* request_parse_target */
	int			 draining;	/* the pool drains: 503 */
	enum plan_lookup	 lookup;
	const struct job	*job;		/* PLAN_LOOKUP_FOUND */
	const unsigned char	*token_sha256;	/* NULL: no ?token= */
	enum plan_download	 download;
	struct plan_file	 file;
	const char		*metrics;	/* the exposition, or NULL */
	size_t			 metrics_len;
	int64_t			 now;
	int64_t			 peer_uid;	/* the web server's, or -1 */
};

enum plan_body {
	PLAN_BODY_NONE,		/* headers only: HEAD, 304, offload */
	PLAN_BODY_TEXT,		/* the short error line */
	PLAN_BODY_FILE		/* [start, start + length) of the file */
};

/* A warning the caller logs, with the job, the path and the reason. */
enum plan_event {
	PLAN_EVENT_NONE,
	PLAN_EVENT_SECURITY,	/* the row's path could leave the root */
	PLAN_EVENT_FILE,	/* not a regular file, or the wrong size */
	PLAN_EVENT_HEADER,	/* a value from the row cannot be sent */
	PLAN_EVENT_BUG		/* a header of sluice's own was refused */
};

/* The row's values every file response carries, formatted once. */
struct plan_values {
	const char	*type;		/* Content-Type */
	int		 has_digest;
	char		 disposition[HTTP_DISPOSITION_SIZE];
	char		 digest[HTTP_DIGEST_SIZE];	/* Repr-Digest */
	char		 etag[HTTP_ETAG_SIZE];
	char		 last_modified[HTTP_DATE_SIZE];
};

#define PLAN_SCRATCH_SIZE	HTTP_HEADERS_SIZE

struct plan {
	int		 status;	/* the status answered */
	const char	*why;		/* reason, for the log: a constant */
	enum plan_event	 event;
	enum plan_body	 body;
	const char	*text;		/* PLAN_BODY_TEXT: a constant */
	size_t		 text_len;
	int64_t		 start;		/* the range sent (or, offloaded, */
	int64_t		 length;	/* asked for: the server sends it) */
	int		 ranged;	/* start and length are a 206's */
	int		 offload;	/* the web server sends the file */
	int		 metrics;	/* the answer is --metrics-path's */
	const char	*streamed;	/* offload mode, sent by sluice: why */
	struct http_headers hdr;	/* ready to send */
	char		 scratch[PLAN_SCRATCH_SIZE];	/* offload value */
};

enum plan_next plan_make(const struct plan_facts *, struct plan *);
void	plan_common_headers(struct http_headers *);
void	plan_file_headers(const struct plan_facts *, const struct plan_values *,
	    struct plan *, const char *name, const char *value);
void	plan_error(const struct plan_facts *, struct plan *, int status,
	    const char *why);

#endif
