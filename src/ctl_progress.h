/*
 * ctl_progress: a progress bar on stderr for sluicectl's long work (add's
 * copy and hash, check --hash): bytes done of a total, the rate, and the
 * time left. Drawn only when stderr is a terminal, at most ten times a
 * second; otherwise nothing at all, so scripts and logs see no bar.
 */
#ifndef SLUICE_CTL_PROGRESS_H
#define SLUICE_CTL_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#define CTL_PROGRESS_LINE	96	/* one line, with room to spare */

struct ctl_progress {
	int		 on;		/* stderr is a terminal */
	const char	*label;
	int64_t		 total, done;
	int64_t		 t0_ms, last_ms;
	int		 drawn;
};

void	 ctl_progress_start(struct ctl_progress *, const char *label,
	    int64_t total);
void	 ctl_progress_add(struct ctl_progress *, int64_t n);
void	 ctl_progress_end(struct ctl_progress *);
int	 ctl_progress_format(char *dst, size_t sz, const char *label,
	    int64_t done, int64_t total, int64_t elapsed_ms);

#endif
