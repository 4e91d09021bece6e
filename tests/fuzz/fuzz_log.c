/*
 * The fuzz targets' log: what the code under test logs goes nowhere.
 * Targets whose code logs on bad input (job_row's refused content type,
 * jobstore's database errors, sluicectl's usage lines) link with
 * -Wl,--wrap=<name> for each function below, so the log lines that every
 * other execution would write do not bury libFuzzer's output, while the
 * code under test is unchanged. Each message is still formatted, into a
 * buffer, so that a format that reads past its arguments shows under ASan.
 */
#include <stdarg.h>
#include <stdio.h>

void	__wrap_log_info(const char *, ...);
void	__wrap_log_warnx(const char *, ...);
void	__wrap_log_warn(const char *, ...);
void	__wrap_ctl_errx(const char *, ...);
void	__wrap_ctl_err(const char *, ...);

#define FUZZ_LOG_BODY(fmt) do {						\
	char	 line[2048];						\
	va_list	 ap;							\
									\
	va_start(ap, fmt);						\
	(void)vsnprintf(line, sizeof(line), fmt, ap);			\
	va_end(ap);							\
} while (0)

void
__wrap_log_info(const char *fmt, ...)
{
	FUZZ_LOG_BODY(fmt);
}

void
__wrap_log_warnx(const char *fmt, ...)
{
	FUZZ_LOG_BODY(fmt);
}

void
__wrap_log_warn(const char *fmt, ...)
{
	FUZZ_LOG_BODY(fmt);
}

void
__wrap_ctl_errx(const char *fmt, ...)
{
	FUZZ_LOG_BODY(fmt);
}

void
__wrap_ctl_err(const char *fmt, ...)
{
	FUZZ_LOG_BODY(fmt);
}
