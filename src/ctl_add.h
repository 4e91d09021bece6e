/* ctl_add: `sluicectl add`, registering an existing file as a done job. */
#ifndef SLUICE_CTL_ADD_H
#define SLUICE_CTL_ADD_H

struct ctl;

int	ctl_add_run(struct ctl *);

#endif
