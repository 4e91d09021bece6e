/*
 * log: one logfmt line per event, written with a single write(2) so lines
 * from several threads or processes never interleave.
 *
 * Callers pass the fields after time and level as a printf format of
 * key=value pairs; values that may hold spaces or quotes go through
 * log_quote() first. Never pass a body byte or a token here.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stddef.h>

#define LOG_LINE_MAX	2048	/* longer lines are cut and end in "..." */
#define LOG_VALUE_MAX	256	/* a quoted value is cut to this many bytes */

int	log_open(const char *path);
int	log_reopen(void);
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
const char *log_quote(char *dst, size_t dstsz, const char *src);

#endif
