/*
 * log: logfmt lines on stderr, or on --log-file (dup'ed over stderr so that
 * sanitizer reports land there too).
 *
 * Each line is formatted into a stack buffer and written with one write(2)
 * on an O_APPEND descriptor, so concurrent writers never interleave. The
 * module keeps one global: the path to reopen on SIGHUP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_path;	/* NULL: plain stderr */
static int	   log_stderr_orig = -1;

/*
 * Point stderr at path (append mode). Keeps a copy of the original stderr so
 * that fatal startup errors still reach the operator's terminal.
 * Returns 0, or -1 with errno set.
 */
int
log_open(const char *path)
{
	log_path = path;
	if (log_stderr_orig == -1)
		log_stderr_orig = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	return (log_reopen());
}

/* Reopen the log file (logrotate). Returns 0, or -1 with errno set. */
int
log_reopen(void)
{
	int	 fd;

	if (log_path == NULL)
		return (0);
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd == -1)
		return (-1);
	if (fd != STDERR_FILENO) {
		if (dup2(fd, STDERR_FILENO) == -1) {
			close(fd);
			return (-1);
		}
		close(fd);
	}
	return (0);
}

/*
 * Quote src as a logfmt value into dst: "..." with \" \\ and \xNN for
 * anything that is not printable ASCII. Cut at LOG_VALUE_MAX bytes of
 * input. Returns dst, always terminated.
 */
const char *
log_quote(char *dst, size_t dstsz, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i, o = 0;

	if (dstsz < 3) {
		if (dstsz > 0)
			dst[0] = '\0';
		return (dst);
	}
	dst[o++] = '"';
	for (i = 0; src[i] != '\0' && i < LOG_VALUE_MAX; i++) {
		unsigned char c = (unsigned char)src[i];

		if (o + 5 >= dstsz)
			break;
		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20 || c > 0x7e) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		} else
			dst[o++] = (char)c;
	}
	dst[o++] = '"';
	dst[o] = '\0';
	return (dst);
}

static void
log_vwrite(int fd, const char *level, const char *fmt, va_list ap,
    const char *errstr)
{
	char		 line[LOG_LINE_MAX];
	char		 ts[32];
	struct timespec	 now;
	struct tm	 tm;
	size_t		 len;
	int		 n;

	if (clock_gettime(CLOCK_REALTIME, &now) == -1 ||
	    gmtime_r(&now.tv_sec, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		ts[0] = '\0';
	n = snprintf(line, sizeof(line), "time=%s.%03ldZ level=%s pid=%ld ",
	    ts, now.tv_nsec / 1000000, level, (long)getpid());
	if (n < 0)
		return;
	len = (size_t)n;
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n < 0)
		return;
	len += (size_t)n;
	if (errstr != NULL && len < sizeof(line)) {
		char	 q[LOG_VALUE_MAX + 8];

		n = snprintf(line + len, sizeof(line) - len, " error=%s",
		    log_quote(q, sizeof(q), errstr));
		if (n > 0)
			len += (size_t)n;
	}
	if (len >= sizeof(line) - 1) {
		/* Cut, and say so, rather than lose the line. */
		len = sizeof(line) - 5;
		memcpy(line + len, "...", 3);
		len += 3;
	}
	line[len++] = '\n';
	/* One write: O_APPEND makes it atomic for lines this short. */
	while (write(fd, line, len) == -1 && errno == EINTR)
		;
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vwrite(STDERR_FILENO, "info", fmt, ap, NULL);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vwrite(STDERR_FILENO, "warn", fmt, ap, NULL);
	va_end(ap);
	errno = saved;
}

/* Like log_warnx, with error=<strerror(errno)> appended. */
void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;
	char	 buf[128];

	va_start(ap, fmt);
	log_vwrite(STDERR_FILENO, "warn", fmt, ap,
	    strerror_r(saved, buf, sizeof(buf)) == 0 ? buf : "unknown");
	va_end(ap);
	errno = saved;
}

static void __attribute__((noreturn))
log_vfatal(const char *fmt, va_list ap, const char *errstr)
{
	va_list	 ap2;

	va_copy(ap2, ap);
	log_vwrite(STDERR_FILENO, "fatal", fmt, ap, errstr);
	/* With --log-file, the operator's terminal gets the line too. */
	if (log_path != NULL && log_stderr_orig != -1)
		log_vwrite(log_stderr_orig, "fatal", fmt, ap2, errstr);
	va_end(ap2);
	exit(1);
}

/* Startup only: log msg=... and exit 1. */
void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vfatal(fmt, ap, NULL);
}

/* Startup only: like fatalx, with error=<strerror(errno)> appended. */
void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[128];
	int	 saved = errno;

	va_start(ap, fmt);
	log_vfatal(fmt, ap,
	    strerror_r(saved, buf, sizeof(buf)) == 0 ? buf : "unknown");
}
