/*
 * metrics: counters and histograms in shared memory, and their text
 * exposition (Prometheus exposition format 0.0.4).
 *
 * The supervisor calls metrics_init before the first fork: one anonymous
 * MAP_SHARED mapping, inherited by every worker, so the figures are the
 * pool's, survive a worker's death, and start at zero with the pool.
 * Every hook is a relaxed atomic add (C11 atomics are lock-free for these
 * types on the platforms sluice builds for, so they work across
 * processes). Histograms keep per-bucket counts and a sum in
 * microseconds; the exposition makes them cumulative. A scrape reads
 * while workers add, so one rendering may mix counts a few microseconds
 * apart: Prometheus takes counters that way.
 *
 * Workload: a few adds per request; a render per scrape.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "metrics.h"

/* Statuses sluice answers, each with its own series; anything else. */
static const int metrics_statuses[] = {
	200, 206, 304, 400, 403, 404, 405, 409, 410, 412, 416, 500, 503
};
#define METRICS_NSTATUS	(sizeof(metrics_statuses) / sizeof(int))

/* stream_outcome_name's names; anything else is "other". */
static const char *const metrics_outcomes[] = {
	"complete", "aborted:client", "aborted:slow", "aborted:shutdown",
	"error:io", "error:short_read", "offloaded", "other"
};
#define METRICS_NOUTCOME \
	(sizeof(metrics_outcomes) / sizeof(metrics_outcomes[0]))

static const char *const metrics_lookups[METRICS_LOOKUP_N] = {
	"found", "not_found", "busy", "error"
};

/* Bucket bounds in seconds (and +Inf after the last). */
static const double metrics_ttfb_le[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5
};
static const double metrics_dur_le[] = {
	0.01, 0.1, 1, 10, 60, 300, 1800, 3600, 14400
};
static const double metrics_lookup_le[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1, 1, 2.5
};
#define METRICS_BUCKETS	16	/* any table above, plus +Inf */

struct metrics_hist {
	_Atomic uint64_t	 bucket[METRICS_BUCKETS];	/* each alone */
	_Atomic uint64_t	 count;
	_Atomic uint64_t	 sum_us;
};

struct metrics_shm {
	_Atomic int64_t		 inflight;
	_Atomic uint64_t	 responses[METRICS_NSTATUS + 1];
	_Atomic uint64_t	 outcomes[METRICS_NOUTCOME];
	_Atomic uint64_t	 opened;
	_Atomic uint64_t	 bytes;
	_Atomic uint64_t	 lookups[METRICS_LOOKUP_N];
	_Atomic uint64_t	 batches;
	_Atomic uint64_t	 batch_errors;
	_Atomic uint64_t	 restarts;
	struct metrics_hist	 ttfb, duration, lookup;
};

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_LONG_LOCK_FREE == 2,
    "atomics across processes");

static struct metrics_shm *metrics;	/* NULL: off */

/*
 * Map the shared block. Call once, in the supervisor before any fork.
 * Returns 0, or -1 (errno set).
 */
int
metrics_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(struct metrics_shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (-1);
	memset(p, 0, sizeof(struct metrics_shm));
	metrics = p;
	return (0);
}

int
metrics_on(void)
{
	return (metrics != NULL);
}

#define ADD(field, n) \
	atomic_fetch_add_explicit(&(field), (n), memory_order_relaxed)
#define GET(field) atomic_load_explicit(&(field), memory_order_relaxed)

static void
metrics_observe(struct metrics_hist *h, const double *le, size_t n,
    double seconds)
{
	size_t	 i;

	if (seconds < 0)
		seconds = 0;
	for (i = 0; i < n && seconds > le[i]; i++)
		;
	ADD(h->bucket[i], 1);
	ADD(h->count, 1);
	ADD(h->sum_us, (uint64_t)(seconds * 1e6 + 0.5));
}

#define OBSERVE(h, le, s) \
	metrics_observe(&(h), (le), sizeof(le) / sizeof((le)[0]), (s))

/* A download's body starts (+1) or ends (-1). */
void
metrics_inflight(int delta)
{
	if (metrics != NULL)
		ADD(metrics->inflight, delta);
}

/*
 * One response ended: its status, outcome (stream_outcome_name) and body
 * bytes handed over; for a response of a download (a file body, or
 * offloaded), its time to the first byte and its duration in seconds
 * (negative: not one); and whether it opened its download.
 */
void
metrics_response(int status, const char *outcome, int64_t bytes,
    double ttfb, double duration, int opened)
{
	size_t	 i;

	if (metrics == NULL)
		return;
	for (i = 0; i < METRICS_NSTATUS && metrics_statuses[i] != status; i++)
		;
	ADD(metrics->responses[i], 1);
	for (i = 0; i < METRICS_NOUTCOME - 1 &&
	    strcmp(metrics_outcomes[i], outcome) != 0; i++)
		;
	ADD(metrics->outcomes[i], 1);
	if (bytes > 0)
		ADD(metrics->bytes, (uint64_t)bytes);
	if (opened)
		ADD(metrics->opened, 1);
	if (ttfb >= 0)
		OBSERVE(metrics->ttfb, metrics_ttfb_le, ttfb);
	if (duration >= 0)
		OBSERVE(metrics->duration, metrics_dur_le, duration);
}

/* One job lookup in the jobs database, and how long it took. */
void
metrics_lookup(enum metrics_lookup r, double seconds)
{
	if (metrics == NULL || r >= METRICS_LOOKUP_N)
		return;
	ADD(metrics->lookups[r], 1);
	OBSERVE(metrics->lookup, metrics_lookup_le, seconds);
}

/* One group commit of the state database: committed (1) or failed. */
void
metrics_audit_batch(int ok)
{
	if (metrics == NULL)
		return;
	ADD(metrics->batches, 1);
	if (!ok)
		ADD(metrics->batch_errors, 1);
}

/* The supervisor refills the slot of a worker that ended. */
void
metrics_worker_restart(void)
{
	if (metrics != NULL)
		ADD(metrics->restarts, 1);
}

/* Appending to the caller's buffer; ok drops to 0 once it is full. */
struct metrics_out {
	char	*dst;
	size_t	 sz, len;
	int	 ok;
};

static void
metrics_printf(struct metrics_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (!o->ok)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->dst + o->len, o->sz - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->sz - o->len) {
		o->ok = 0;
		return;
	}
	o->len += (size_t)n;
}

static void
metrics_head(struct metrics_out *o, const char *name, const char *type,
    const char *help)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
metrics_hist_out(struct metrics_out *o, const char *name, const char *help,
    struct metrics_hist *h, const double *le, size_t n)
{
	uint64_t	 cum = 0;
	size_t		 i;

	metrics_head(o, name, "histogram", help);
	for (i = 0; i < n; i++) {
		cum += GET(h->bucket[i]);
		metrics_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name, le[i],
		    (unsigned long long)cum);
	}
	cum += GET(h->bucket[n]);
	metrics_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)cum);
	metrics_printf(o, "%s_sum %.6f\n%s_count %llu\n", name,
	    (double)GET(h->sum_us) / 1e6, name, (unsigned long long)cum);
}

#define HIST(o, name, help, h, le) \
	metrics_hist_out((o), (name), (help), &(h), (le), \
	    sizeof(le) / sizeof((le)[0]))

/* The counters by label: responses, outcomes, lookups. */
static void
metrics_labelled(struct metrics_out *o, struct metrics_shm *m)
{
	size_t	 i;

	metrics_head(o, "sluice_responses_total", "counter",
	    "Responses answered, by HTTP status.");
	for (i = 0; i < METRICS_NSTATUS; i++)
		metrics_printf(o, "sluice_responses_total{status=\"%d\"} "
		    "%llu\n", metrics_statuses[i],
		    (unsigned long long)GET(m->responses[i]));
	metrics_printf(o, "sluice_responses_total{status=\"other\"} %llu\n",
	    (unsigned long long)GET(m->responses[METRICS_NSTATUS]));
	metrics_head(o, "sluice_response_outcomes_total", "counter",
	    "Responses by how they ended (complete, aborted:client, ...).");
	for (i = 0; i < METRICS_NOUTCOME; i++)
		metrics_printf(o, "sluice_response_outcomes_total{outcome="
		    "\"%s\"} %llu\n", metrics_outcomes[i],
		    (unsigned long long)GET(m->outcomes[i]));
	metrics_head(o, "sluice_job_lookups_total", "counter",
	    "Job lookups in the jobs database, by result.");
	for (i = 0; i < METRICS_LOOKUP_N; i++)
		metrics_printf(o, "sluice_job_lookups_total{result=\"%s\"} "
		    "%llu\n", metrics_lookups[i],
		    (unsigned long long)GET(m->lookups[i]));
}

/* One counter or gauge without labels. */
static void
metrics_one(struct metrics_out *o, const char *name, const char *type,
    const char *help, long long v)
{
	metrics_head(o, name, type, help);
	metrics_printf(o, "%s %lld\n", name, v);
}

/*
 * The exposition of every figure into dst (sz bytes, NUL-terminated).
 * Returns its length, or -1 when metrics are off or dst is too small.
 */
long
metrics_render(char *dst, size_t sz)
{
	struct metrics_out o = { dst, sz, 0, 1 };
	struct metrics_shm *m = metrics;

	if (m == NULL || sz == 0)
		return (-1);
	metrics_one(&o, "sluice_downloads_in_flight", "gauge",
	    "Responses sending a file body now.",
	    (long long)GET(m->inflight));
	metrics_labelled(&o, m);
	metrics_one(&o, "sluice_downloads_opened_total", "counter",
	    "Downloads opened (what max_downloads counts).",
	    (long long)GET(m->opened));
	metrics_one(&o, "sluice_bytes_sent_total", "counter",
	    "Body bytes handed to the web server.", (long long)GET(m->bytes));
	HIST(&o, "sluice_time_to_first_byte_seconds", "From the request to "
	    "the first byte of a download's response.", m->ttfb,
	    metrics_ttfb_le);
	HIST(&o, "sluice_download_duration_seconds", "From the request to "
	    "the end of a download's response.", m->duration, metrics_dur_le);
	HIST(&o, "sluice_job_lookup_seconds", "Job lookups in the jobs "
	    "database.", m->lookup, metrics_lookup_le);
	metrics_one(&o, "sluice_state_db_batches_total", "counter",
	    "Group commits to the state database.",
	    (long long)GET(m->batches));
	metrics_one(&o, "sluice_state_db_batch_errors_total", "counter",
	    "Group commits that failed.", (long long)GET(m->batch_errors));
	metrics_one(&o, "sluice_worker_restarts_total", "counter",
	    "Workers the supervisor started again after one ended.",
	    (long long)GET(m->restarts));
	return (o.ok ? (long)o.len : -1);
}
