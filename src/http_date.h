/*
 * http_date: HTTP-date (RFC 9110 §5.6.7), formatted and parsed as unix
 * seconds. Pure: no system calls, no allocation, no globals.
 */
#ifndef SLUICE_HTTP_DATE_H
#define SLUICE_HTTP_DATE_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_DATE_SIZE		30	/* IMF-fixdate + NUL */

int		 http_date_format(char *, size_t, int64_t);
int		 http_date_parse(const char *, int64_t now, int64_t *);

#endif
