/*
 * pq: load libpq.so.5 with dlopen on first use and fill pq_api from it.
 * Loaded once per process (pthread_once); the handle stays open for the
 * process's life. A missing library is a clear sentence, not a crash:
 * "install libpq5".
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "pq.h"

#define PQ_LIBRARY	"libpq.so.5"

struct pq_api	 pq_api;

static pthread_once_t	 pq_once = PTHREAD_ONCE_INIT;
static int		 pq_loaded;
static char		 pq_error[256];

/* dlsym's void * to a function pointer: through memcpy, as ISO C has no
 * conversion between the two (POSIX guarantees they are the same size). */
static int
pq_sym(void *h, const char *name, void *slot, size_t size)
{
	void	*p = dlsym(h, name);

	if (p == NULL) {
		snprintf(pq_error, sizeof(pq_error), "%s: no %s", PQ_LIBRARY,
		    name);
		return (-1);
	}
	memcpy(slot, &p, size);
	return (0);
}

#define PQ_SYM(h, name, field)	pq_sym((h), (name), &pq_api.field, \
	sizeof(pq_api.field))

static void
pq_open(void)
{
	void	*h;
	const char *e;

	if ((h = dlopen(PQ_LIBRARY, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(pq_error, sizeof(pq_error), "PostgreSQL needs %s "
		    "(Debian: apt-get install libpq5): %s", PQ_LIBRARY,
		    e != NULL ? e : "not found");
		return;
	}
	if (PQ_SYM(h, "PQconnectdbParams", connectdbParams) == -1 ||
	    PQ_SYM(h, "PQstatus", status) == -1 ||
	    PQ_SYM(h, "PQfinish", finish) == -1 ||
	    PQ_SYM(h, "PQerrorMessage", errorMessage) == -1 ||
	    PQ_SYM(h, "PQtransactionStatus", transactionStatus) == -1 ||
	    PQ_SYM(h, "PQsetNoticeReceiver", setNoticeReceiver) == -1 ||
	    PQ_SYM(h, "PQexec", exec) == -1 ||
	    PQ_SYM(h, "PQexecParams", execParams) == -1 ||
	    PQ_SYM(h, "PQprepare", prepare) == -1 ||
	    PQ_SYM(h, "PQexecPrepared", execPrepared) == -1 ||
	    PQ_SYM(h, "PQresultStatus", resultStatus) == -1 ||
	    PQ_SYM(h, "PQresultErrorField", resultErrorField) == -1 ||
	    PQ_SYM(h, "PQclear", clear) == -1 ||
	    PQ_SYM(h, "PQntuples", ntuples) == -1 ||
	    PQ_SYM(h, "PQnfields", nfields) == -1 ||
	    PQ_SYM(h, "PQfname", fname) == -1 ||
	    PQ_SYM(h, "PQftype", ftype) == -1 ||
	    PQ_SYM(h, "PQgetisnull", getisnull) == -1 ||
	    PQ_SYM(h, "PQgetvalue", getvalue) == -1 ||
	    PQ_SYM(h, "PQgetlength", getlength) == -1 ||
	    PQ_SYM(h, "PQcmdTuples", cmdTuples) == -1 ||
	    PQ_SYM(h, "PQunescapeBytea", unescapeBytea) == -1 ||
	    PQ_SYM(h, "PQfreemem", freemem) == -1) {
		dlclose(h);
		memset(&pq_api, 0, sizeof(pq_api));
		return;
	}
	pq_loaded = 1;
}

int
pq_load(char *err, size_t errsz)
{
	(void)pthread_once(&pq_once, pq_open);
	if (pq_loaded)
		return (0);
	snprintf(err, errsz, "%s", pq_error);
	return (-1);
}

void
pq_finish(PGconn *c)
{
	if (c != NULL && pq_api.finish != NULL)
		pq_api.finish(c);
}

void
pq_clear(PGresult *r)
{
	if (r != NULL && pq_api.clear != NULL)
		pq_api.clear(r);
}
