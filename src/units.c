/*
 * units: counts ("42") and durations ("90s", "30m", "1h", "7d", "2w"), as
 * both binaries read them from options. Pure.
 */
#include <stdint.h>
#include <string.h>

#include "units.h"

#define UNITS_DIGITS_MAX	20	/* INT64_MAX has 19 digits */

/*
 * A count: decimal digits only, at least one, no sign, no overflow.
 * Returns 0 with *v set, or -1 (*v untouched).
 */
int
units_count_parse(const char *s, int64_t *v)
{
	int64_t	 n = 0;

	if (*s == '\0')
		return (-1);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return (-1);
		if (n > (INT64_MAX - (*s - '0')) / 10)
			return (-1);
		n = n * 10 + (*s - '0');
	}
	*v = n;
	return (0);
}

/*
 * A duration: a count and one unit, s m h d or w ("7d"). Returns 0 with
 * *secs set, or -1 for anything else or an overflow (*secs untouched).
 */
int
units_duration_parse(const char *s, int64_t *secs)
{
	char	 digits[UNITS_DIGITS_MAX + 1];
	size_t	 len = strlen(s);
	int64_t	 n, mul;

	if (len < 2 || len - 1 > UNITS_DIGITS_MAX)
		return (-1);
	switch (s[len - 1]) {
	case 's':
		mul = 1;
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 86400;
		break;
	case 'w':
		mul = 7 * 86400;
		break;
	default:
		return (-1);
	}
	memcpy(digits, s, len - 1);
	digits[len - 1] = '\0';
	if (units_count_parse(digits, &n) == -1 || n > INT64_MAX / mul)
		return (-1);
	*secs = n * mul;
	return (0);
}
