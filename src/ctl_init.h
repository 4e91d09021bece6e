/* ctl_init: `sluicectl init`, both databases and the export root. */
#ifndef SLUICE_CTL_INIT_H
#define SLUICE_CTL_INIT_H

struct ctl;

int	ctl_init_run(struct ctl *);

#endif
