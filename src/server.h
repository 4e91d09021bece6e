/*
 * server: one request, on a deciding thread: gather facts -> plan ->
 * answer -> log. A response that does not go out whole at once is handed
 * to the event loop (SERVER_SENDING), and its end is recorded later
 * (server_finish). Each deciding thread owns one struct worker, whose
 * embedded buffers are all the memory deciding uses.
 */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include "job.h"
#include "jobstore.h"
#include "plan.h"
#include "request.h"
#include "stream.h"

struct audit_writer;
struct config;
struct conn;

enum server_next {
	SERVER_ANSWERED,	/* the response ended (whole or cut) */
	SERVER_SENDING		/* the loop sends the rest: loop_give */
};

struct worker {
	const struct config	*cfg;
	int			 rootfd;	/* in use: shared, or own_rootfd */
	int			 own_rootfd;	/* reopened here; -1: none */
	struct reopen_id	 root_id;	/* the root rootfd is */
	struct jobstore		 js;		/* this thread's connection */
	struct audit_writer	*au;		/* the process's; NULL: off */
	const _Atomic int	*draining;	/* set: answer 503 */
	struct request		 req;
	struct job		 job;
	struct plan		 plan;
	unsigned char		 buf[STREAM_FIRST];	/* the file's first */
};

int	server_worker_init(struct worker *, const struct config *, int rootfd,
	    struct audit_writer *, const _Atomic int *draining, char *err,
	    size_t errsz);
void	server_worker_close(struct worker *);
enum server_next server_handle(struct worker *, struct conn *);
void	server_finish(struct worker *, struct conn *);

#endif
