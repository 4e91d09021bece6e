/*
 * ctl_jobs: the commands that read or update job rows and touch no file:
 * `sluicectl list`, `show` and `revoke`.
 */
#ifndef SLUICE_CTL_JOBS_H
#define SLUICE_CTL_JOBS_H

struct ctl;

int	ctl_jobs_list(struct ctl *);
int	ctl_jobs_show(struct ctl *);
int	ctl_jobs_revoke(struct ctl *);

#endif
