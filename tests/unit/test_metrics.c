/*
 * test_metrics: the shared counters (src/metrics.c) and their text
 * exposition: exact lines after known hooks, figures added by a forked
 * process seen by its parent (the pool's workers and the one that
 * answers a scrape), and a buffer too small.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cases.h"
#include "metrics.h"

static char	 text[METRICS_TEXT_MAX];

/* Does the exposition hold this exact line? */
static void
expect_line(const char *name, const char *line)
{
	const char	*p = text;
	size_t		 len = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[len] == '\n')
			return;
		p += len;
	}
	case_fail(name, "no line [%s] in\n%s", line, text);
}

static void
test_metrics_off(void **state)
{
	(void)state;
	/* Before metrics_init: hooks do nothing, no page. */
	metrics_response(200, "complete", 10, 0.1, 0.2, 1);
	metrics_inflight(1);
	expect_int("off", "on", metrics_on(), 0);
	expect_int("off", "render", (int)metrics_render(text, sizeof(text)),
	    -1);
	end_cases();
}

static void
test_metrics_figures(void **state)
{
	pid_t	 pid;
	int	 st;
	long	 n;

	(void)state;
	assert_int_equal(metrics_init(), 0);
	metrics_response(200, "complete", 1000, 0.0003, 0.02, 1);
	metrics_response(206, "aborted:client", 500, 0.002, 2.0, 0);
	metrics_response(404, "complete", 0, -1, -1, 0);
	metrics_response(299, "weird", 0, -1, -1, 0);
	metrics_lookup(METRICS_LOOKUP_FOUND, 0.0002);
	metrics_lookup(METRICS_LOOKUP_BUSY, 2.1);
	metrics_audit_batch(1);
	metrics_audit_batch(0);
	metrics_inflight(1);
	/* A worker: another process adds to the same block. */
	if ((pid = fork()) == 0) {
		metrics_response(200, "offloaded", 0, 0.004, 0.004, 1);
		metrics_worker_restart();
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	n = metrics_render(text, sizeof(text));
	expect_int("render", "ok", n > 0 && (size_t)n == strlen(text), 1);
	expect_line("in flight", "sluice_downloads_in_flight 1");
	expect_line("type", "# TYPE sluice_downloads_in_flight gauge");
	expect_line("200s", "sluice_responses_total{status=\"200\"} 2");
	expect_line("206s", "sluice_responses_total{status=\"206\"} 1");
	expect_line("404s", "sluice_responses_total{status=\"404\"} 1");
	expect_line("other", "sluice_responses_total{status=\"other\"} 1");
	expect_line("503s", "sluice_responses_total{status=\"503\"} 0");
	expect_line("complete",
	    "sluice_response_outcomes_total{outcome=\"complete\"} 2");
	expect_line("offloaded",
	    "sluice_response_outcomes_total{outcome=\"offloaded\"} 1");
	expect_line("outcome other",
	    "sluice_response_outcomes_total{outcome=\"other\"} 1");
	expect_line("opened", "sluice_downloads_opened_total 2");
	expect_line("bytes", "sluice_bytes_sent_total 1500");
	expect_line("ttfb le 0.0005",
	    "sluice_time_to_first_byte_seconds_bucket{le=\"0.0005\"} 1");
	expect_line("ttfb le 0.0025 (cumulative)",
	    "sluice_time_to_first_byte_seconds_bucket{le=\"0.0025\"} 2");
	expect_line("ttfb le 0.005",
	    "sluice_time_to_first_byte_seconds_bucket{le=\"0.005\"} 3");
	expect_line("ttfb +Inf",
	    "sluice_time_to_first_byte_seconds_bucket{le=\"+Inf\"} 3");
	expect_line("ttfb count", "sluice_time_to_first_byte_seconds_count 3");
	expect_line("ttfb sum",
	    "sluice_time_to_first_byte_seconds_sum 0.006300");
	expect_line("duration le 10",
	    "sluice_download_duration_seconds_bucket{le=\"10\"} 3");
	expect_line("duration le 0.01",
	    "sluice_download_duration_seconds_bucket{le=\"0.01\"} 1");
	expect_line("lookups found",
	    "sluice_job_lookups_total{result=\"found\"} 1");
	expect_line("lookups busy",
	    "sluice_job_lookups_total{result=\"busy\"} 1");
	expect_line("lookup +Inf only for 2.1 s",
	    "sluice_job_lookup_seconds_bucket{le=\"2.5\"} 2");
	expect_line("batches", "sluice_state_db_batches_total 2");
	expect_line("batch errors", "sluice_state_db_batch_errors_total 1");
	expect_line("restarts", "sluice_worker_restarts_total 1");
	/* Too small: -1, never a cut page. */
	expect_int("small", "render", (int)metrics_render(text, 100), -1);
	end_cases();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_off),
		cmocka_unit_test(test_metrics_figures),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
