/*
 * pq: libpq, loaded when the first PostgreSQL connection is made rather
 * than linked. A sluice on SQLite never maps libpq and what it pulls in
 * (OpenSSL, Kerberos, LDAP: 1.6 MiB resident per worker, measured), so
 * its memory bound is unchanged. The PostgreSQL modules include this
 * header instead of <libpq-fe.h>: every PQ function they call goes
 * through the table below (the macros keep libpq's names in the code).
 */
#ifndef SLUICE_PQ_H
#define SLUICE_PQ_H

#include <stddef.h>

#include <libpq-fe.h>

struct pq_api {
	PGconn		*(*connectdbParams)(const char *const *,
			    const char *const *, int);
	ConnStatusType	 (*status)(const PGconn *);
	void		 (*finish)(PGconn *);
	char		*(*errorMessage)(const PGconn *);
	PGTransactionStatusType (*transactionStatus)(const PGconn *);
	PQnoticeReceiver (*setNoticeReceiver)(PGconn *, PQnoticeReceiver,
			    void *);
	PGresult	*(*exec)(PGconn *, const char *);
	PGresult	*(*execParams)(PGconn *, const char *, int, const Oid *,
			    const char *const *, const int *, const int *, int);
	PGresult	*(*prepare)(PGconn *, const char *, const char *, int,
			    const Oid *);
	PGresult	*(*execPrepared)(PGconn *, const char *, int,
			    const char *const *, const int *, const int *,
			    int);
	ExecStatusType	 (*resultStatus)(const PGresult *);
	char		*(*resultErrorField)(const PGresult *, int);
	void		 (*clear)(PGresult *);
	int		 (*ntuples)(const PGresult *);
	int		 (*nfields)(const PGresult *);
	char		*(*fname)(const PGresult *, int);
	Oid		 (*ftype)(const PGresult *, int);
	int		 (*getisnull)(const PGresult *, int, int);
	char		*(*getvalue)(const PGresult *, int, int);
	int		 (*getlength)(const PGresult *, int, int);
	char		*(*cmdTuples)(PGresult *);
	unsigned char	*(*unescapeBytea)(const unsigned char *, size_t *);
	void		 (*freemem)(void *);
};

extern struct pq_api pq_api;

/* Load libpq once (thread-safe). 0, or -1 with a sentence in err. */
int	pq_load(char *err, size_t errsz);
/* NULL-safe, and safe before pq_load: closing what was never opened. */
void	pq_finish(PGconn *);
void	pq_clear(PGresult *);

#define PQconnectdbParams	pq_api.connectdbParams
#define PQstatus		pq_api.status
#define PQfinish		pq_finish
#define PQerrorMessage		pq_api.errorMessage
#define PQtransactionStatus	pq_api.transactionStatus
#define PQsetNoticeReceiver	pq_api.setNoticeReceiver
#define PQexec			pq_api.exec
#define PQexecParams		pq_api.execParams
#define PQprepare		pq_api.prepare
#define PQexecPrepared		pq_api.execPrepared
#define PQresultStatus		pq_api.resultStatus
#define PQresultErrorField	pq_api.resultErrorField
#define PQclear			pq_clear
#define PQntuples		pq_api.ntuples
#define PQnfields		pq_api.nfields
#define PQfname			pq_api.fname
#define PQftype			pq_api.ftype
#define PQgetisnull		pq_api.getisnull
#define PQgetvalue		pq_api.getvalue
#define PQgetlength		pq_api.getlength
#define PQcmdTuples		pq_api.cmdTuples
#define PQunescapeBytea		pq_api.unescapeBytea
#define PQfreemem		pq_api.freemem

#endif
