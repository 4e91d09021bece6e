/*
 * cases: the checks shared by the table-driven cmocka unit tests in
 * tests/unit. A check that fails prints the case's name and what differs,
 * counts the failure and returns, so one run reports every failing row of a
 * table; end_cases() then fails the running test if any check failed.
 * Linked into every build/asan/test_* binary by the Makefile.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"

static int	 nfail;

/* Report a failed check of case tc, printf-style, and count it. */
void
case_fail(const char *tc, const char *fmt, ...)
{
	va_list	 ap;

	print_error("case \"%s\": ", tc);
	va_start(ap, fmt);
	vprint_error(fmt, ap);
	va_end(ap);
	print_error("\n");
	nfail++;
}

/* Fail the running test if any check failed since the last call. */
void
end_cases(void)
{
	int	 n = nfail;

	nfail = 0;
	if (n != 0)
		fail_msg("%d check(s) failed", n);
}

void
expect_int(const char *tc, const char *what, long long got, long long want)
{
	if (got != want)
		case_fail(tc, "%s: got %lld, want %lld", what, got, want);
}

/*
 * Either may be NULL. On a mismatch, show both strings around the first
 * difference.
 */
void
expect_str(const char *tc, const char *what, const char *got,
    const char *want)
{
	size_t	 d = 0, from;

	if (got == NULL || want == NULL) {
		if (got != want)
			case_fail(tc, "%s: got %s, want %s", what,
			    got ? got : "NULL", want ? want : "NULL");
		return;
	}
	if (strcmp(got, want) == 0)
		return;
	while (got[d] == want[d])
		d++;
	from = d > 40 ? d - 40 : 0;
	case_fail(tc, "%s: differ at byte %zu (lengths %zu, %zu)\n"
	    "  got  [%s%.100s]\n  want [%s%.100s]", what, d, strlen(got),
	    strlen(want), from ? "..." : "", got + from, from ? "..." : "",
	    want + from);
}
