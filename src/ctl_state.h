/*
 * ctl_state: sluicectl's commands on sluice's state database that change
 * it: prune (retention by hand) and vacuum. Both go through audit.c, the
 * state database's owner, so the rules (a download still open is never
 * pruned; a pruned counted download still counts) exist once.
 */
#ifndef SLUICE_CTL_STATE_H
#define SLUICE_CTL_STATE_H

struct ctl;

int	ctl_state_prune(struct ctl *);
int	ctl_state_vacuum(struct ctl *);

#endif
