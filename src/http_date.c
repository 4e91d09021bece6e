/*
 * http_date: HTTP-date (RFC 9110 §5.6.7) as pure functions on unix seconds:
 * the IMF-fixdate sluice sends, and the three forms a client may send
 * (IMF-fixdate, RFC 850, asctime), all without the C library's locale or
 * time zone. No system calls, no allocation, no globals.
 */
#include <stdio.h>
#include <string.h>

#include "http_date.h"

static const char http_days[7][4] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const http_days_long[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday" };
static const char http_months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/*
 * The Gregorian date of day z (days since 1970-01-01, z >= 0), after
 * H. Hinnant's civil_from_days.
 */
static void
http_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	 era, doe, yoe, doy, mp;

	z += 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/*
 * Format t (unix seconds, UTC) as an IMF-fixdate, "Sun, 06 Nov 1994
 * 08:49:37 GMT" (RFC 9110 §5.6.7), without the C library's locale or time
 * zone. Times before 1970 are given as the epoch. Returns 0, or -1 if dst is
 * too small.
 */
int
http_date_format(char *dst, size_t sz, int64_t t)
{
	int64_t	 y, secs;
	int	 m, d, n;

	if (t < 0)
		t = 0;
	if (t > 253402300799LL)		/* 9999-12-31T23:59:59Z */
		t = 253402300799LL;
	secs = t % 86400;
	http_civil_from_days(t / 86400, &y, &m, &d);
	n = snprintf(dst, sz, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    http_days[(t / 86400 + 4) % 7], d, http_months[m - 1], (int)y,
	    (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
	if (n < 0 || (size_t)n >= sz)
		return (-1);
	return (0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
http_days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

static int
http_days_in_month(int64_t y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return (29);
	return (dm[m - 1]);
}

/* n decimal digits at s into *v; returns 0 or -1. */
static int
http_digits(const char *s, int n, int *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		*v = *v * 10 + (s[i] - '0');
	}
	return (0);
}

static int
http_month(const char *s)
{
	int	 m;

	for (m = 0; m < 12; m++)
		if (strncmp(s, http_months[m], 3) == 0)
			return (m + 1);
	return (0);
}

static int
http_day_name(const char *s, size_t len)
{
	int	 d;

	for (d = 0; d < 7; d++)
		if ((len == 3 && strncmp(s, http_days[d], 3) == 0) ||
		    (len == strlen(http_days_long[d]) &&
		    strncmp(s, http_days_long[d], len) == 0))
			return (1);
	return (0);
}

/* "HH:MM:SS" */
static int
http_time_of_day(const char *s, int *h, int *mi, int *sec)
{
	if (http_digits(s, 2, h) == -1 || s[2] != ':' ||
	    http_digits(s + 3, 2, mi) == -1 || s[5] != ':' ||
	    http_digits(s + 6, 2, sec) == -1)
		return (-1);
	/* 60: a leap second, which the formats allow. */
	if (*h > 23 || *mi > 59 || *sec > 60)
		return (-1);
	return (0);
}

/*
 * Parse an HTTP-date (RFC 9110 §5.6.7) in any of its three formats,
 * IMF-fixdate first, then the obsolete RFC 850 and asctime forms, without
 * the C library's locale. An RFC 850 two-digit year more than 50 years past
 * now is taken as the most recent past year with those digits. The day name
 * is checked for form, not against the date. Returns 0 with *t set, or -1.
 */
int
http_date_parse(const char *s, int64_t now, int64_t *t)
{
	const char	*p;
	size_t		 len = strlen(s), dl;
	int		 d, m, y, h, mi, sec;
	int64_t		 year;

	p = strchr(s, s[0] != '\0' && len >= 3 && s[3] == ' ' ? ' ' : ',');
	if (p == NULL || !http_day_name(s, (size_t)(p - s)))
		return (-1);
	dl = (size_t)(p - s);
	if (*p == ',' && dl == 3 && len == 29) {
		/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
		if (p[1] != ' ' || http_digits(p + 2, 2, &d) == -1 ||
		    p[4] != ' ' || (m = http_month(p + 5)) == 0 ||
		    p[8] != ' ' || http_digits(p + 9, 4, &y) == -1 ||
		    p[13] != ' ' || http_time_of_day(p + 14, &h, &mi, &sec) ||
		    strcmp(p + 22, " GMT") != 0)
			return (-1);
		year = y;
	} else if (*p == ',' && dl > 3 && len == dl + 24) {
		/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
		int64_t	 ny;
		int	 nm, nd;

		http_civil_from_days((now > 0 ? now : 0) / 86400, &ny, &nm,
		    &nd);

		if (p[1] != ' ' || http_digits(p + 2, 2, &d) == -1 ||
		    p[4] != '-' || (m = http_month(p + 5)) == 0 ||
		    p[8] != '-' || http_digits(p + 9, 2, &y) == -1 ||
		    p[11] != ' ' || http_time_of_day(p + 12, &h, &mi, &sec) ||
		    strcmp(p + 20, " GMT") != 0)
			return (-1);
		year = ny - ny % 100 + y;
		if (year > ny + 50)
			year -= 100;
	} else if (*p == ' ' && dl == 3 && len == 24) {
		/* asctime: "Sun Nov  6 08:49:37 1994" */
		if ((m = http_month(p + 1)) == 0 || p[4] != ' ' ||
		    (p[5] == ' ' ? http_digits(p + 6, 1, &d) :
		    http_digits(p + 5, 2, &d)) == -1 || p[7] != ' ' ||
		    http_time_of_day(p + 8, &h, &mi, &sec) || p[16] != ' ' ||
		    http_digits(p + 17, 4, &y) == -1 || p[21] != '\0')
			return (-1);
		year = y;
	} else
		return (-1);
	if (d < 1 || d > http_days_in_month(year, m))
		return (-1);
	*t = http_days_from_civil(year, m, d) * 86400 + h * 3600 + mi * 60 +
	    sec;
	return (0);
}
