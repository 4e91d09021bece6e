/*
 * audit_store: what the writer (audit.c: the queue, group commit,
 * retries and the upkeep thread) asks of a state database backend:
 * audit_sqlite.c (a file) and audit_pg.c (PostgreSQL, shared by hosts).
 * Internal to the audit modules; nothing else includes it.
 */
#ifndef SLUICE_AUDIT_STORE_H
#define SLUICE_AUDIT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit.h"

enum audit_kind {
	AUDIT_REC_BEGIN,
	AUDIT_REC_CANCEL,
	AUDIT_REC_END
};

/*
 * A queued record. A begin points at its caller's entry, result and
 * ticket, which stay valid because the caller waits until the record is
 * committed (*done). A cancel or an end carries its values.
 */
struct audit_record {
	enum audit_kind		 kind;
	int			 tries;		/* failed commits so far */
	int			 failed;	/* in the batch being committed */
	int			 transient;	/* the database's fault, not its */
	const struct audit_entry *entry;	/* a begin's */
	enum audit_result	*result;
	struct audit_ticket	*ticket_out;
	int			*done;
	enum audit_result	 res;		/* until committed */
	struct audit_ticket	 ticket;	/* a begin's new one, or the
						   cancel's or end's target */
	struct audit_final	 fin;
};

/*
 * A backend. A connection is a void * of the backend's own type. open
 * makes one (nudge(arg) asks the upkeep thread to run soon: SQLite's WAL
 * grew); commit runs a batch of n records in order, as one transaction,
 * setting each record's result and ticket, or failed and transient, and
 * logging each failure (audit_rec_log); the rest is the upkeep's, each
 * logging its own failures.
 */
struct audit_ops {
	void	*(*open)(const char *spec, int busy_ms, void (*nudge)(void *),
		    void *arg, char *err, size_t errsz);
	void	 (*close)(void *);
	void	 (*commit)(void *, pid_t, struct audit_record *, size_t n);
	void	 (*checkpoint)(void *);
	int	 (*close_lost)(void *, pid_t self);
	int	 (*prune_batch)(void *, int64_t before);
	int	 (*prune_downloads)(void *, int64_t before, int64_t *cursor,
		    int young_stop);
};

extern const struct audit_ops audit_sqlite_ops;
extern const struct audit_ops audit_pg_ops;

void	audit_rec_log(const struct audit_record *, const char *what,
	    size_t n, const char *error);

int	audit_sqlite_migrate(const char *, int *, char *, size_t);
int	audit_sqlite_prepare(const char *, char *, size_t);
int64_t	audit_sqlite_prune(const char *, int64_t, char *, size_t);
int	audit_sqlite_vacuum(const char *, char *, size_t);
int	audit_pg_migrate(const char *, int *, char *, size_t);
int	audit_pg_prepare(const char *, char *, size_t);
int64_t	audit_pg_prune(const char *, int64_t, char *, size_t);
int	audit_pg_vacuum(const char *, char *, size_t);

#endif
