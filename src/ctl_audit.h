/*
 * ctl_audit: sluice's state database, read by sluicectl: the downloads
 * (one client fetching one job) and their responses, for `sluicectl
 * audit` and for one job in `show`; the downloads each job has used, for
 * `list`.
 */
#ifndef SLUICE_CTL_AUDIT_H
#define SLUICE_CTL_AUDIT_H

#include <stdint.h>

#include "audit.h"
#include "ctl_rows.h"

/* The user_version of sql/state.sql (state_version of sql/pg/state.sql),
 * the only one sluicectl reads. */
#define CTL_AUDIT_VERSION	AUDIT_VERSION

struct ctl;
struct ctl_db;

/*
 * What was read, in one snapshot. responses (with --responses) are those
 * of the downloads, sorted by download_id then id; loose (show with
 * --responses) the job's responses that belong to no download.
 */
struct ctl_audit_set {
	struct ctl_rows	 downloads;
	struct ctl_rows	 responses;
	struct ctl_rows	 loose;
	int64_t		 used;		/* show: downloads + pruned */
	int64_t		 pruned;	/* show: download_counts.pruned */
};

int	ctl_audit_run(struct ctl *);
int	ctl_audit_open(const char *spec, const char *cmd, struct ctl_db **);
int	ctl_audit_used(struct ctl_db *, struct ctl_rows *jobs, size_t id,
	    size_t used);
int	ctl_audit_job(const struct ctl *, struct ctl_db *, const char *id,
	    struct ctl_audit_set *);
int64_t	ctl_audit_open_count(const struct ctl *,
	    const struct ctl_audit_set *);
int	ctl_audit_print(const struct ctl *, struct ctl_audit_set *,
	    int with_job);
int	ctl_audit_print_loose(const struct ctl *, struct ctl_audit_set *);
void	ctl_audit_free(struct ctl_audit_set *);

#endif
