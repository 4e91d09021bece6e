/*
 * ctl_audit: `sluicectl audit`, and the downloads of one job for `show`,
 * both read from sluice's state database and printed the same way.
 */
#ifndef SLUICE_CTL_AUDIT_H
#define SLUICE_CTL_AUDIT_H

#include <stdint.h>

struct ctl;
struct ctl_rows;
struct sqlite3;

int	ctl_audit_run(struct ctl *);
int	ctl_audit_job(struct sqlite3 *, const char *id, struct ctl_rows *);
int64_t	ctl_audit_counted(const struct ctl_rows *);
int	ctl_audit_print(const struct ctl *, const struct ctl_rows *,
	    int with_job);

#endif
