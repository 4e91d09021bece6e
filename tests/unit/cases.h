/*
 * cases.h: helpers for the table-driven unit tests (tests/unit/cases.c).
 *
 * A check in a table loop records a failure naming the case and goes on,
 * so one run reports every failing row; end_cases() then fails the test.
 */
#ifndef CASES_H
#define CASES_H

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

void	 case_fail(const char *, const char *, ...)
	    __attribute__((__format__ (__printf__, 2, 3)));
void	 end_cases(void);
void	 expect_int(const char *, const char *, long long, long long);
void	 expect_str(const char *, const char *, const char *, const char *);

#endif /* CASES_H */
