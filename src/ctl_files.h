/*
 * ctl_files: the commands that touch files beneath the export root other
 * than add: `sluicectl purge` and `sluicectl check`.
 */
#ifndef SLUICE_CTL_FILES_H
#define SLUICE_CTL_FILES_H

struct ctl;

int	ctl_files_purge(struct ctl *);
int	ctl_files_check(struct ctl *);

#endif
