/*
 * ctl_progress: the bar (see ctl_progress.h). ctl_progress_format is
 * pure, for the unit tests; the rest reads the clock and writes stderr.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_progress.h"

#define CTL_PROGRESS_WIDTH	24	/* cells of the bar */
#define CTL_PROGRESS_EVERY_MS	100

static int64_t
ctl_progress_now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return (0);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Bytes per second as "12.3 MiB/s" (binary units, as list prints). */
static void
ctl_progress_rate(char *dst, size_t sz, double bps)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t	 u = 0;

	while (bps >= 1024 && u < sizeof(unit) / sizeof(unit[0]) - 1) {
		bps /= 1024;
		u++;
	}
	(void)snprintf(dst, sz, "%.1f %s/s", bps, unit[u]);
}

/*
 * One bar: "LABEL [=====>      ]  45%  12.3 MiB/s  0:12 left" (the time
 * left as h:mm:ss past an hour, "--:--" before there is a rate). Returns
 * 0, or -1 when dst is too small.
 */
int
ctl_progress_format(char *dst, size_t sz, const char *label, int64_t done,
    int64_t total, int64_t elapsed_ms)
{
	char	 bar[CTL_PROGRESS_WIDTH + 1], rate[32], left[32];
	double	 frac = total > 0 ? (double)done / (double)total : 1.0;
	double	 bps = elapsed_ms > 0 ?
		    (double)done * 1000.0 / (double)elapsed_ms : 0;
	int64_t	 s;
	int	 i, fill, n;

	if (frac > 1)
		frac = 1;
	fill = (int)(frac * CTL_PROGRESS_WIDTH);
	for (i = 0; i < CTL_PROGRESS_WIDTH; i++)
		bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
	bar[CTL_PROGRESS_WIDTH] = '\0';
	ctl_progress_rate(rate, sizeof(rate), bps);
	if (bps <= 0)
		memcpy(left, "--:--", 6);
	else {
		s = (int64_t)((double)(total - done) / bps + 0.5);
		if (s < 0)
			s = 0;
		if (s >= 3600)
			(void)snprintf(left, sizeof(left), "%lld:%02lld:%02lld",
			    (long long)(s / 3600), (long long)(s / 60 % 60),
			    (long long)(s % 60));
		else
			(void)snprintf(left, sizeof(left), "%lld:%02lld",
			    (long long)(s / 60), (long long)(s % 60));
	}
	n = snprintf(dst, sz, "%s [%s] %3d%%  %s  %s left", label, bar,
	    (int)(frac * 100), rate, left);
	return (n < 0 || (size_t)n >= sz ? -1 : 0);
}

static void
ctl_progress_draw(struct ctl_progress *p, int64_t now)
{
	char	 line[CTL_PROGRESS_LINE];

	if (ctl_progress_format(line, sizeof(line), p->label, p->done,
	    p->total, now - p->t0_ms) == -1)
		return;
	/* \r and erase to the end of the line: a shorter line leaves none
	 * of the last. */
	fprintf(stderr, "\r%s\033[K", line);
	p->last_ms = now;
	p->drawn = 1;
}

/* Begin a bar of total bytes; drawn only if stderr is a terminal. */
void
ctl_progress_start(struct ctl_progress *p, const char *label, int64_t total)
{
	memset(p, 0, sizeof(*p));
	p->on = isatty(STDERR_FILENO);
	p->label = label;
	p->total = total;
	p->t0_ms = p->last_ms = ctl_progress_now_ms();
}

/* n more bytes done; redrawn at most every CTL_PROGRESS_EVERY_MS. */
void
ctl_progress_add(struct ctl_progress *p, int64_t n)
{
	int64_t	 now;

	if (p == NULL)
		return;
	p->done += n;
	if (!p->on)
		return;
	now = ctl_progress_now_ms();
	if (now - p->last_ms >= CTL_PROGRESS_EVERY_MS)
		ctl_progress_draw(p, now);
}

/* The last state of a bar that was drawn, and the end of its line. */
void
ctl_progress_end(struct ctl_progress *p)
{
	if (!p->on || !p->drawn)
		return;
	ctl_progress_draw(p, ctl_progress_now_ms());
	fputc('\n', stderr);
}
