/*
 * server: one request, start to end: gather facts -> plan -> execute ->
 * log. Each request thread owns one struct worker, whose embedded buffers
 * are all the memory a request uses.
 */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include "job.h"
#include "jobstore.h"
#include "plan.h"
#include "request.h"
#include "stream.h"

struct FCGX_Request;
struct audit_writer;
struct config;

struct worker {
	const struct config	*cfg;
	int			 rootfd;	/* in use: shared, or own_rootfd */
	int			 own_rootfd;	/* reopened here; -1: none */
	struct reopen_id	 root_id;	/* the root rootfd is */
	struct jobstore		 js;		/* this thread's connection */
	struct audit_writer	*au;		/* the process's; NULL: off */
	struct stream_limits	 limits;
	const _Atomic int	*draining;	/* set: answer 503 */
	struct request		 req;
	struct job		 job;
	struct plan		 plan;
	unsigned char		 buf[STREAM_CHUNK];
};

int	server_worker_init(struct worker *, const struct config *, int rootfd,
	    struct audit_writer *, const _Atomic int *draining,
	    const _Atomic int *abort_now, char *err, size_t errsz);
void	server_worker_close(struct worker *);
void	server_handle(struct worker *, struct FCGX_Request *, char **envp);

#endif
