/*
 * test_http: table-driven tests of the pure HTTP helpers in
 * src/http_hdr.c, http_date.c, http_cond.c and http_disp.c: the
 * header-value guard, IMF-fixdate, ETag, Repr-Digest, Content-Disposition,
 * the CGI header block, reasons and error bodies.
 *
 * Every table row names its case; a failure prints that name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"
#include "http_cond.h"
#include "http_date.h"
#include "http_disp.h"
#include "http_hdr.h"

/*
 * http_header_value_ok
 */

struct value_case {
	const char	*name;
	const char	*v;
	size_t		 len;
	int		 want;
};

#define V(n, s, w)	{ n, s, sizeof(s) - 1, w }

static const struct value_case value_cases[] = {
	V("plain", "text/csv; charset=utf-8", 1),
	V("empty", "", 1),
	V("space", "a b", 1),
	V("tab is allowed", "a\tb", 1),
	V("tilde 0x7e", "~", 1),
	V("obs-text utf-8", "\xe6\x8a\xa5", 1),
	V("lone 0x80", "\x80", 1),
	V("0xff", "\xff", 1),
	V("CR", "a\rb", 0),
	V("LF", "a\nb", 0),
	V("CRLF injection", "x\r\nX-Accel-Redirect: /etc/passwd", 0),
	V("trailing LF", "abc\n", 0),
	V("leading CR", "\rabc", 0),
	V("NUL inside the length", "a\0b", 0),
	V("0x01", "a\x01", 0),
	V("0x0b VT", "\x0b", 0),
	V("0x1b ESC", "\x1b[31m", 0),
	V("0x1f", "\x1f", 0),
	V("DEL 0x7f", "a\x7f", 0),
	/* Only len bytes are looked at. */
	{ "NUL past the length", "ab\0", 2, 1 },
	{ "LF past the length", "ab\n", 2, 1 },
	{ "zero length of LF", "\n", 0, 1 },
};

static void
test_header_value_ok(void **state)
{
	size_t	 i;
	int	 c;

	(void)state;
	for (i = 0; i < NITEMS(value_cases); i++) {
		const struct value_case *tc = &value_cases[i];

		expect_int(tc->name, "http_header_value_ok",
		    http_header_value_ok(tc->v, tc->len), tc->want);
	}
	/* Every byte value on its own. */
	for (c = 0; c < 256; c++) {
		char	 b = (char)c, tc[32];
		int	 want = c == '\t' || (c >= 0x20 && c != 0x7f);

		snprintf(tc, sizeof(tc), "byte 0x%02x", c);
		expect_int(tc, "http_header_value_ok",
		    http_header_value_ok(&b, 1), want);
	}
	end_cases();
}

/*
 * http_date_format (RFC 9110 §5.6.7 IMF-fixdate)
 */

struct date_case {
	const char	*name;
	int64_t		 t;
	const char	*want;
};

static const struct date_case date_cases[] = {
	{ "epoch", 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
	{ "end of first day", 86399, "Thu, 01 Jan 1970 23:59:59 GMT" },
	{ "RFC 9110 example", 784111777, "Sun, 06 Nov 1994 08:49:37 GMT" },
	{ "2000-02-29 (leap, div by 400)", 951782400,
	    "Tue, 29 Feb 2000 00:00:00 GMT" },
	{ "2023-11-14", 1700000000, "Tue, 14 Nov 2023 22:13:20 GMT" },
	{ "2024-02-29 start", 1709164800, "Thu, 29 Feb 2024 00:00:00 GMT" },
	{ "2024-02-29 end", 1709251199, "Thu, 29 Feb 2024 23:59:59 GMT" },
	{ "2038 int32 max", 2147483647, "Tue, 19 Jan 2038 03:14:07 GMT" },
	{ "2038 int32 max + 1", 2147483648LL,
	    "Tue, 19 Jan 2038 03:14:08 GMT" },
	{ "2100-01-01", 4102444800LL, "Fri, 01 Jan 2100 00:00:00 GMT" },
	{ "2100-02-28 end (2100 not leap)", 4107542399LL,
	    "Sun, 28 Feb 2100 23:59:59 GMT" },
	{ "2100-03-01", 4107542400LL, "Mon, 01 Mar 2100 00:00:00 GMT" },
	{ "9999-12-31 end", 253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT" },
	/* Out of range: clamped, as the function comment says. */
	{ "year 10000 clamps", 253402300800LL,
	    "Fri, 31 Dec 9999 23:59:59 GMT" },
	{ "INT64_MAX clamps", INT64_MAX, "Fri, 31 Dec 9999 23:59:59 GMT" },
	{ "-1 is the epoch", -1, "Thu, 01 Jan 1970 00:00:00 GMT" },
	{ "-86401 is the epoch", -86401, "Thu, 01 Jan 1970 00:00:00 GMT" },
	{ "INT64_MIN is the epoch", INT64_MIN,
	    "Thu, 01 Jan 1970 00:00:00 GMT" },
};

static void
test_date_format(void **state)
{
	char	 buf[HTTP_DATE_SIZE + 8];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(date_cases); i++) {
		const struct date_case *tc = &date_cases[i];

		memset(buf, 'X', sizeof(buf));
		buf[sizeof(buf) - 1] = '\0';
		expect_int(tc->name, "rc",
		    http_date_format(buf, HTTP_DATE_SIZE, tc->t), 0);
		expect_str(tc->name, "date", buf, tc->want);
		expect_int(tc->name, "length", (long long)strlen(buf), 29);
	}
	end_cases();
}

struct date_size_case {
	const char	*name;
	size_t		 sz;
	int		 want;
};

static const struct date_size_case date_size_cases[] = {
	{ "size 0", 0, -1 },
	{ "size 1", 1, -1 },
	{ "size 10", 10, -1 },
	{ "size 29 (no room for NUL)", 29, -1 },
	{ "size 30 exact", 30, 0 },
	{ "HTTP_DATE_SIZE", HTTP_DATE_SIZE, 0 },
};

static void
test_date_format_small(void **state)
{
	char	 buf[64];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(date_size_cases); i++) {
		const struct date_size_case *tc = &date_size_cases[i];

		memset(buf, 'X', sizeof(buf));
		buf[sizeof(buf) - 1] = '\0';
		expect_int(tc->name, "rc",
		    http_date_format(buf, tc->sz, 784111777), tc->want);
		/* Nothing is written past sz. */
		expect_int(tc->name, "byte after sz", buf[tc->sz], 'X');
		if (tc->want == 0)
			expect_str(tc->name, "date", buf,
			    "Sun, 06 Nov 1994 08:49:37 GMT");
	}
	end_cases();
}

/*
 * http_etag_format (RFC 9110 §8.8.3, strong)
 */

struct etag_case {
	const char	*name;
	uint64_t	 ino;
	int64_t		 size;
	int64_t		 mtime;
	long		 nsec;
	const char	*want;
};

static const struct etag_case etag_cases[] = {
	{ "typical", 0x1234, 1000, 1700000000, 123456789,
	    "\"1234-3e8-6553f100.75bcd15\"" },
	{ "zeros", 0, 0, 0, 0, "\"0-0-0.0\"" },
	{ "nsec differs", 0x1234, 1000, 1700000000, 123456790,
	    "\"1234-3e8-6553f100.75bcd16\"" },
	{ "maxima", UINT64_MAX, INT64_MAX, INT64_MAX, 999999999,
	    "\"ffffffffffffffff-7fffffffffffffff-7fffffffffffffff.3b9ac9ff\"" },
};

static void
test_etag_format(void **state)
{
	char	 buf[HTTP_ETAG_SIZE];
	size_t	 i, len;

	(void)state;
	for (i = 0; i < NITEMS(etag_cases); i++) {
		const struct etag_case *tc = &etag_cases[i];

		expect_int(tc->name, "rc", http_etag_format(buf, sizeof(buf),
		    tc->ino, tc->size, tc->mtime, tc->nsec), 0);
		expect_str(tc->name, "etag", buf, tc->want);
		/* A strong entity-tag: DQUOTE *etagc DQUOTE, no W/ . */
		len = strlen(buf);
		expect_int(tc->name, "opening quote", buf[0], '"');
		expect_int(tc->name, "closing quote", buf[len - 1], '"');
		expect_int(tc->name, "inner quotes",
		    memchr(buf + 1, '"', len - 2) != NULL, 0);
		expect_int(tc->name, "header value ok",
		    http_header_value_ok(buf, len), 1);

		/* One byte short fails; exact fits. */
		expect_int(tc->name, "exact size", http_etag_format(buf,
		    len + 1, tc->ino, tc->size, tc->mtime, tc->nsec), 0);
		expect_str(tc->name, "etag exact", buf, tc->want);
		expect_int(tc->name, "one short", http_etag_format(buf, len,
		    tc->ino, tc->size, tc->mtime, tc->nsec), -1);
		expect_int(tc->name, "size 0", http_etag_format(buf, 0,
		    tc->ino, tc->size, tc->mtime, tc->nsec), -1);
	}
	end_cases();
}

/*
 * http_digest_format (RFC 9530 Repr-Digest)
 */

#define SHA_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_EMPTY_UC \
	"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
#define SHA_ABC \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

struct digest_case {
	const char	*name;
	const char	*hex;
	size_t		 sz;
	int		 rc;
	const char	*want;
};

static const struct digest_case digest_cases[] = {
	{ "sha256 of empty", SHA_EMPTY, HTTP_DIGEST_SIZE, 0,
	    "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:" },
	{ "sha256 of abc", SHA_ABC, HTTP_DIGEST_SIZE, 0,
	    "sha-256=:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=:" },
	{ "uppercase hex", SHA_EMPTY_UC, HTTP_DIGEST_SIZE, 0,
	    "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:" },
	{ "all zero", "000000000000000000000000000000000000000000000000"
	    "0000000000000000", HTTP_DIGEST_SIZE, 0,
	    "sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:" },
	{ "all ff", "ffffffffffffffffffffffffffffffffffffffffffffffff"
	    "ffffffffffffffff", HTTP_DIGEST_SIZE, 0,
	    "sha-256=://////////////////////////////////////////8=:" },
	{ "exact size 55", SHA_EMPTY, 55, 0,
	    "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:" },
	{ "one short 54", SHA_EMPTY, 54, -1, NULL },
	{ "size 0", SHA_EMPTY, 0, -1, NULL },
	{ "empty hex", "", HTTP_DIGEST_SIZE, -1, NULL },
	{ "63 digits", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
	    "91b7852b85", HTTP_DIGEST_SIZE, -1, NULL },
	{ "65 digits", SHA_EMPTY "5", HTTP_DIGEST_SIZE, -1, NULL },
	{ "128 digits", SHA_EMPTY SHA_EMPTY, HTTP_DIGEST_SIZE, -1, NULL },
	{ "non-hex g", "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
	    "91b7852b855", HTTP_DIGEST_SIZE, -1, NULL },
	{ "non-hex space", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca"
	    "495991b7852b85 ", HTTP_DIGEST_SIZE, -1, NULL },
	{ "0x prefix", "0xb0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
	    "91b7852b855", HTTP_DIGEST_SIZE, -1, NULL },
};

static void
test_digest_format(void **state)
{
	char	 buf[128];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(digest_cases); i++) {
		const struct digest_case *tc = &digest_cases[i];

		memset(buf, 'X', sizeof(buf));
		buf[sizeof(buf) - 1] = '\0';
		expect_int(tc->name, "rc",
		    http_digest_format(buf, tc->sz, tc->hex), tc->rc);
		expect_int(tc->name, "byte after sz", buf[tc->sz], 'X');
		if (tc->rc == 0) {
			expect_str(tc->name, "digest", buf, tc->want);
			expect_int(tc->name, "header value ok",
			    http_header_value_ok(buf, strlen(buf)), 1);
		}
	}
	end_cases();
}

/*
 * http_disposition_format (RFC 6266 §4.3, RFC 8187 §3.2)
 */

#define DISP(fb, ext)	"attachment; filename=\"" fb "\"; filename*=UTF-8''" ext

struct disp_case {
	const char	*name;
	const char	*in;		/* NULL: no file_name */
	const char	*fallback;
	const char	*want;
};

static const struct disp_case disp_cases[] = {
	{ "plain", "report.csv", "job1",
	    DISP("report.csv", "report.csv") },
	{ "chinese with space", "\xe6\x8a\xa5\xe5\x91\x8a 2024.csv", "job1",
	    DISP("_ 2024.csv", "%E6%8A%A5%E5%91%8A%202024.csv") },
	{ "double quote", "a\"b.csv", "job1",
	    DISP("a'b.csv", "a%22b.csv") },
	{ "backslash", "a\\b.csv", "job1",
	    DISP("a_b.csv", "a%5Cb.csv") },
	{ "percent", "100%.csv", "job1",
	    DISP("100_.csv", "100%25.csv") },
	{ "already-encoded look-alike", "a%22b", "job1",
	    DISP("a_22b", "a%2522b") },
	{ "quote backslash percent together", "\"\\%", "job1",
	    DISP("'_", "%22%5C%25") },
	{ "apostrophe and semicolon", "it's; x=1.csv", "job1",
	    DISP("it's; x=1.csv", "it%27s%3B%20x%3D1.csv") },
	{ "attr-chars kept verbatim", "a!#$&+-.^_`|~z", "job1",
	    DISP("a!#$&+-.^_`|~z", "a!#$&+-.^_`|~z") },
	{ "CRLF header injection",
	    "a\r\nX-Accel-Redirect: /etc/passwd", "job1",
	    DISP("aX-Accel-Redirect: /etc/passwd",
	    "aX-Accel-Redirect%3A%20%2Fetc%2Fpasswd") },
	{ "bare LF", "a\nb.txt", "job1", DISP("ab.txt", "ab.txt") },
	{ "TAB dropped", "a\tb.txt", "job1", DISP("ab.txt", "ab.txt") },
	{ "DEL dropped", "a\x7f" "b.txt", "job1", DISP("ab.txt", "ab.txt") },
	{ "ESC dropped", "a\x1b[31mb.txt", "job1",
	    DISP("a[31mb.txt", "a%5B31mb.txt") },
	{ "C1 NEL U+0085 dropped", "a\xc2\x85" "b.txt", "job1",
	    DISP("ab.txt", "ab.txt") },
	{ "U+2028 dropped", "a\xe2\x80\xa8" "b.txt", "job1",
	    DISP("ab.txt", "ab.txt") },
	/* Bidi controls, dropped from both forms. */
	{ "RLO U+202E spoofed extension",
	    "invoice\xe2\x80\xae" "fdp.exe", "job1",
	    DISP("invoicefdp.exe", "invoicefdp.exe") },
	{ "LRE U+202A", "a\xe2\x80\xaa" "b.txt", "job1",
	    DISP("ab.txt", "ab.txt") },
	{ "PDF U+202C", "a\xe2\x80\xac" "b.txt", "job1",
	    DISP("ab.txt", "ab.txt") },
	{ "LRI U+2066", "a\xe2\x81\xa6" "b.txt", "job1",
	    DISP("ab.txt", "ab.txt") },
	{ "RLI U+2067", "a\xe2\x81\xa7" "b.txt", "job1",
	    DISP("ab.txt", "ab.txt") },
	{ "FSI U+2068", "a\xe2\x81\xa8" "b.txt", "job1",
	    DISP("ab.txt", "ab.txt") },
	{ "PDI U+2069", "a\xe2\x81\xa9" "b.txt", "job1",
	    DISP("ab.txt", "ab.txt") },
	{ "LRM U+200E", "a\xe2\x80\x8e" "b.txt", "job1",
	    DISP("ab.txt", "ab.txt") },
	{ "RLM U+200F", "a\xe2\x80\x8f" "b.txt", "job1",
	    DISP("ab.txt", "ab.txt") },
	{ "ALM U+061C", "a\xd8\x9c" "b.txt", "job1",
	    DISP("ab.txt", "ab.txt") },
	{ "all bidi controls at once",
	    "\xe2\x80\xae\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9"
	    "\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c" "x.pdf", "job1",
	    DISP("x.pdf", "x.pdf") },
	/* Neighbours of the bidi ranges are ordinary characters. */
	{ "U+2065 kept", "a\xe2\x81\xa5", "job1",
	    DISP("a_", "a%E2%81%A5") },
	{ "U+202F kept (NFKD: a space)", "a\xe2\x80\xaf", "job1",
	    DISP("a ", "a%E2%80%AF") },
	/*
	 * Other non-ASCII: NFKD without combining marks, dashes and quotes
	 * as ASCII ones, else '_', never two in a row (issue 16).
	 */
	{ "e acute", "caf\xc3\xa9.txt", "job1",
	    DISP("cafe.txt", "caf%C3%A9.txt") },
	{ "e and a combining acute", "cafe\xcc\x81.txt", "job1",
	    DISP("cafe.txt", "cafe%CC%81.txt") },
	{ "issue 16's name",
	    "Q3 Bericht \xe2\x80\x93 M\xc3\xa4rz (final) \xf0\x9f\x98\x80.csv",
	    "job1", DISP("Q3 Bericht - Marz (final) _.csv",
	    "Q3%20Bericht%20%E2%80%93%20M%C3%A4rz%20%28final%29%20"
	    "%F0%9F%98%80.csv") },
	{ "typographic quotes",
	    "\xe2\x80\x9cx\xe2\x80\x9d \xe2\x80\x98y\xe2\x80\x99", "job1",
	    DISP("'x' 'y'",
	    "%E2%80%9Cx%E2%80%9D%20%E2%80%98y%E2%80%99") },
	{ "em dash, minus sign", "a\xe2\x80\x94" "b\xe2\x88\x92" "c", "job1",
	    DISP("a-b-c", "a%E2%80%94b%E2%88%92c") },
	{ "ligature and superscript", "\xef\xac\x81le\xc2\xb2", "job1",
	    DISP("file2", "%EF%AC%81le%C2%B2") },
	{ "sharp s has no decomposition", "Stra\xc3\x9f" "e", "job1",
	    DISP("Stra_e", "Stra%C3%9Fe") },
	{ "no runs of _", "\xe6\x8a\xa5\xe5\x91\x8a\xf0\x9f\x98\x80_x", "job1",
	    DISP("_x", "%E6%8A%A5%E5%91%8A%F0%9F%98%80_x") },
	{ "the name's own run of _ is one", "a__b", "job1",
	    DISP("a_b", "a__b") },
	{ "4-byte emoji", "\xf0\x9f\x98\x80.png", "job1",
	    DISP("_.png", "%F0%9F%98%80.png") },
	/* Invalid UTF-8: each bad byte becomes '_' in both forms. */
	{ "0xff byte", "a\xff" "b.csv", "job1", DISP("a_b.csv", "a_b.csv") },
	{ "lone continuation", "\x80x", "job1", DISP("_x", "_x") },
	{ "overlong slash C0 AF", "\xc0\xaf.csv", "job1",
	    DISP("_.csv", "__.csv") },
	{ "surrogate ED A0 80", "\xed\xa0\x80", "job1",
	    DISP("_", "___") },
	{ "past U+10FFFF", "\xf4\x90\x80\x80", "job1",
	    DISP("_", "____") },
	{ "truncated sequence at end", "x\xe6\x8a", "job1",
	    DISP("x_", "x__") },
	{ "lead byte then ASCII", "\xe6" "ab", "job1",
	    DISP("_ab", "_ab") },
	/* No usable name: the fallback (the job id). */
	{ "empty name", "", "Ab3_-x", DISP("Ab3_-x", "Ab3_-x") },
	{ "NULL name", NULL, "Ab3_-x", DISP("Ab3_-x", "Ab3_-x") },
	{ "only controls", "\r\n\t", "job1", DISP("job1", "job1") },
	{ "only bidi", "\xe2\x80\xae\xe2\x81\xa6", "job1",
	    DISP("job1", "job1") },
	{ "single space is a name", " ", "job1", DISP(" ", "%20") },
};

/*
 * Reference encoder for the long-name cases: clean is valid UTF-8 with
 * nothing left to drop. Returns the malloc'ed header value.
 */
static char *
disp_expected(const char *clean)
{
	static const char attr[] = "!#$&+-.^_`|~";
	size_t	 len = strlen(clean), i, o;
	char	*s;

	s = malloc(64 + 4 * len);
	assert_non_null(s);
	o = (size_t)sprintf(s, "attachment; filename=\"");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)clean[i];

		if ((c & 0xc0) == 0x80)
			continue;	/* one '_' per character */
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' &&
		    c != '%' && c != '_')
			s[o++] = (char)c;
		else if (s[o - 1] != '_')	/* never two in a row */
			s[o++] = '_';
	}
	o += (size_t)sprintf(s + o, "\"; filename*=UTF-8''");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)clean[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || (c != 0 && strchr(attr, c)))
			s[o++] = (char)c;
		else
			o += (size_t)sprintf(s + o, "%%%02X", c);
	}
	s[o] = '\0';
	return (s);
}

/* unit repeated n times, then tail; malloc'ed. */
static char *
repeat(const char *unit, size_t n, const char *tail)
{
	size_t	 ul = strlen(unit), tl = strlen(tail), i;
	char	*s;

	s = malloc(ul * n + tl + 1);
	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	memcpy(s + ul * n, tail, tl + 1);
	return (s);
}

/*
 * Return the decoded filename* value of a disposition header, to check
 * its byte length and its UTF-8; malloc'ed.
 */
static char *
disp_decode_ext(const char *tc, const char *hdr)
{
	const char	*p = strstr(hdr, "filename*=UTF-8''");
	char		*s;
	size_t		 o = 0;
	unsigned	 v;

	if (p == NULL) {
		case_fail(tc, "no filename* in [%.200s]", hdr);
		return (NULL);
	}
	p += strlen("filename*=UTF-8''");
	s = malloc(strlen(p) + 1);
	assert_non_null(s);
	while (*p != '\0') {
		if (*p == '%') {
			if (sscanf(p + 1, "%2x", &v) != 1) {
				case_fail(tc, "bad escape in [%.200s]", hdr);
				break;
			}
			s[o++] = (char)v;
			p += 3;
		} else
			s[o++] = *p++;
	}
	s[o] = '\0';
	return (s);
}

/* Returns 1 when s is valid UTF-8 (no overlongs, surrogates, > 10FFFF). */
static int
utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned long	 v;
	size_t		 n, i;

	while (*s != '\0') {
		if (*s < 0x80) {
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0) {
			n = 2;
			v = *s & 0x1f;
		} else if ((*s & 0xf0) == 0xe0) {
			n = 3;
			v = *s & 0x0f;
		} else if ((*s & 0xf8) == 0xf0) {
			n = 4;
			v = *s & 0x07;
		} else
			return (0);
		for (i = 1; i < n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return (0);
			v = v << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) ||
		    (n == 4 && v < 0x10000) || v > 0x10ffff ||
		    (v >= 0xd800 && v <= 0xdfff))
			return (0);
		s += n;
	}
	return (1);
}

/* Properties every disposition value must have, whatever the input. */
static void
disp_check_safe(const char *tc, const char *out)
{
	char	*dec;

	expect_int(tc, "header value ok",
	    http_header_value_ok(out, strlen(out)), 1);
	expect_int(tc, "has CR", strchr(out, '\r') != NULL, 0);
	expect_int(tc, "has LF", strchr(out, '\n') != NULL, 0);
	expect_int(tc, "prefix", strncmp(out, "attachment; filename=\"",
	    22), 0);
	if ((dec = disp_decode_ext(tc, out)) == NULL)
		return;
	if (strlen(dec) > HTTP_NAME_MAX)
		case_fail(tc, "filename* is %zu bytes, max %d", strlen(dec),
		    HTTP_NAME_MAX);
	expect_int(tc, "filename* is valid UTF-8", utf8_valid(dec), 1);
	free(dec);
}

static void
test_disposition_table(void **state)
{
	char	 buf[HTTP_DISPOSITION_SIZE];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(disp_cases); i++) {
		const struct disp_case *tc = &disp_cases[i];

		memset(buf, 'X', sizeof(buf));
		buf[sizeof(buf) - 1] = '\0';
		expect_int(tc->name, "rc", http_disposition_format(buf,
		    sizeof(buf), tc->in, tc->fallback), 0);
		expect_str(tc->name, "disposition", buf, tc->want);
		disp_check_safe(tc->name, buf);
	}
	end_cases();
}

/*
 * Long names: cut to at most HTTP_NAME_MAX bytes at a character boundary,
 * keeping an extension of up to HTTP_EXT_MAX bytes.
 */
struct long_case {
	const char	*name;
	const char	*unit;		/* input: unit x n, then tail */
	size_t		 n;
	const char	*tail;
	const char	*wunit;		/* want: wunit x wn, then wtail */
	size_t		 wn;
	const char	*wtail;
	const char	*bug;		/* non-NULL: a known bug, see report */
};

#define HAN	"\xe6\x8a\xa5"		/* U+62A5, 3 bytes */

static const struct long_case long_cases[] = {
	{ "255 bytes kept whole", "a", 251, ".csv", "a", 251, ".csv", NULL },
	{ "256 bytes: cut, .csv kept", "a", 252, ".csv", "a", 251, ".csv",
	    NULL },
	{ "304 bytes: cut, .csv kept", "a", 300, ".csv", "a", 251, ".csv",
	    NULL },
	{ "300 bytes, no extension", "a", 300, "", "a", 255, "", NULL },
	{ "extension too long is not kept", "a", 300, ".abcdefghijklmnopq",
	    "a", 255, "", NULL },
	{ "15-byte extension kept", "a", 300, ".abcdefghijklmn",
	    "a", 240, ".abcdefghijklmn", NULL },
	{ "16-byte extension (HTTP_EXT_MAX) kept", "a", 300,
	    ".abcdefghijklmno", "a", 239, ".abcdefghijklmno", NULL },
	{ "17-byte extension not kept", "a", 300, ".abcdefghijklmnop",
	    "a", 255, "", NULL },
	{ "3-byte chars cut at a boundary, .csv kept", HAN, 100, ".csv",
	    HAN, 83, ".csv", NULL },
	{ "3-byte chars, no extension", HAN, 100, "", HAN, 85, "", NULL },
	{ "dropped chars do not count", "\xe2\x80\xae", 300, "x.csv",
	    "x.csv", 1, "", NULL },
	/*
	 * Regression: names longer than http_name_clean's old tmp (517
	 * bytes after cleaning) skipped the extension search: the name was
	 * cut to 255 bytes and ".csv" lost.
	 */
	{ "600-byte name keeps .csv", "a", 596, ".csv", "a", 251, ".csv",
	    "http_name_clean: tmp overflow (>517 bytes) skips the extension" },
	{ "1020-byte name keeps .csv", "a", 1020, ".csv", "a", 251, ".csv",
	    "http_name_clean: tmp overflow (>517 bytes) skips the extension" },
	{ "600 bytes of 3-byte chars keeps .csv", HAN, 200, ".csv",
	    HAN, 83, ".csv",
	    "http_name_clean: tmp overflow (>517 bytes) skips the extension" },
	{ "1023 percent signs fit the buffer", "%", 1023, "", "%", 255, "",
	    NULL },
	{ "600 bytes, no extension", "a", 600, "", "a", 255, "", NULL },
};

static void
test_disposition_long(void **state)
{
	char	 buf[HTTP_DISPOSITION_SIZE];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(long_cases); i++) {
		const struct long_case *tc = &long_cases[i];
		char	*in, *clean, *want;

		in = repeat(tc->unit, tc->n, tc->tail);
		clean = repeat(tc->wunit, tc->wn, tc->wtail);
		want = disp_expected(clean);
		if (tc->bug != NULL)
			print_message("[ NOTE     ] case \"%s\": known bug: %s\n",
			    tc->name, tc->bug);
		expect_int(tc->name, "rc", http_disposition_format(buf,
		    sizeof(buf), in, "job1"), 0);
		disp_check_safe(tc->name, buf);
		expect_str(tc->name, "disposition", buf, want);
		free(in);
		free(clean);
		free(want);
	}
	end_cases();
}

/*
 * A fallback longer than the name: U+2487 (3 bytes) is "(20)" under NFKD,
 * so 255 bytes of it are 340 ASCII bytes, and the header still fits.
 */
static void
test_disposition_expands(void **state)
{
	char	 buf[HTTP_DISPOSITION_SIZE];
	char	*in, *fb, *pct, *want;

	(void)state;
	in = repeat("\xe2\x92\x87", 85, "");
	fb = repeat("(20)", 85, "");
	pct = repeat("%E2%92%87", 85, "");
	want = malloc(strlen(fb) + strlen(pct) + 64);
	assert_non_null(want);
	sprintf(want, "attachment; filename=\"%s\"; filename*=UTF-8''%s", fb,
	    pct);
	expect_int("85 x U+2487", "rc", http_disposition_format(buf,
	    sizeof(buf), in, "job1"), 0);
	expect_str("85 x U+2487", "disposition", buf, want);
	free(in);
	free(fb);
	free(pct);
	free(want);
	end_cases();
}

/* Too small a buffer fails, and writes nothing past its size. */
struct disp_small_case {
	const char	*name;
	const char	*in;
	const char	*want;
};

static const struct disp_small_case disp_small_cases[] = {
	{ "ends in attr-char", "report.csv",
	    DISP("report.csv", "report.csv") },
	{ "ends in pct-encoded", "\xe6\x8a\xa5",
	    DISP("_", "%E6%8A%A5") },
};

static void
test_disposition_small(void **state)
{
	char	 buf[HTTP_DISPOSITION_SIZE + 1];
	size_t	 i, sz, need;

	(void)state;
	for (i = 0; i < NITEMS(disp_small_cases); i++) {
		const struct disp_small_case *tc = &disp_small_cases[i];

		need = strlen(tc->want) + 1;
		for (sz = 0; sz < need; sz++) {
			memset(buf, 'X', sizeof(buf));
			buf[sizeof(buf) - 1] = '\0';
			if (http_disposition_format(buf, sz, tc->in,
			    "job1") != -1)
				case_fail(tc->name, "size %zu of %zu: not -1",
				    sz, need);
			if (buf[sz] != 'X')
				case_fail(tc->name, "size %zu: wrote past it",
				    sz);
		}
		/*
		 * Regression: (case "ends in attr-char") a buffer of exactly
		 * strlen + 1 bytes is not too small, yet the filename* loop
		 * once checked o + 3 >= sz even for a 1-byte attr-char.
		 */
		memset(buf, 'X', sizeof(buf));
		buf[sizeof(buf) - 1] = '\0';
		if (http_disposition_format(buf, need, tc->in, "job1") != 0)
			case_fail(tc->name, "exact size %zu: rc -1, want 0",
			    need);
		else
			expect_str(tc->name, "exact size", buf, tc->want);
	}
	end_cases();
}

/*
 * The CGI header block
 */

static void
test_headers_block(void **state)
{
	struct http_headers h;

	(void)state;
	memset(&h, 0xAA, sizeof(h));
	http_headers_init(&h, 200);
	http_headers_add(&h, "Content-Type", "text/csv");
	http_headers_add_int(&h, "Content-Length", 2600000000LL);
	http_headers_add(&h, "X-Tab", "a\tb");
	http_headers_add(&h, "X-Empty", "");
	http_headers_add_int(&h, "X-Min", INT64_MIN);
	http_headers_add_int(&h, "X-Zero", 0);
	assert_int_equal(h.error, 0);
	assert_int_equal(http_headers_end(&h), 0);
	assert_string_equal(h.buf,
	    "Status: 200 OK\r\n"
	    "Content-Type: text/csv\r\n"
	    "Content-Length: 2600000000\r\n"
	    "X-Tab: a\tb\r\n"
	    "X-Empty: \r\n"
	    "X-Min: -9223372036854775808\r\n"
	    "X-Zero: 0\r\n"
	    "\r\n");
	assert_int_equal(h.len, strlen(h.buf));
}

struct status_line_case {
	int		 status;
	const char	*want;
};

static const struct status_line_case status_line_cases[] = {
	{ 206, "Status: 206 Partial Content\r\n\r\n" },
	{ 404, "Status: 404 Not Found\r\n\r\n" },
	{ 416, "Status: 416 Range Not Satisfiable\r\n\r\n" },
	{ 503, "Status: 503 Service Unavailable\r\n\r\n" },
	{ 299, "Status: 299 Unknown\r\n\r\n" },
};

static void
test_headers_status_line(void **state)
{
	struct http_headers h;
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(status_line_cases); i++) {
		char	 tc[16];

		snprintf(tc, sizeof(tc), "%d",
		    status_line_cases[i].status);
		http_headers_init(&h, status_line_cases[i].status);
		expect_int(tc, "end", http_headers_end(&h), 0);
		expect_str(tc, "block", h.buf, status_line_cases[i].want);
		expect_int(tc, "len", (long long)h.len,
		    (long long)strlen(status_line_cases[i].want));
	}
	end_cases();
}

struct bad_value_case {
	const char	*name;
	const char	*value;
};

static const struct bad_value_case bad_value_cases[] = {
	{ "LF", "a\nb" },
	{ "CR", "a\rb" },
	{ "CRLF + header", "x\r\nX-Accel-Redirect: /etc/passwd" },
	{ "DEL", "a\x7f" },
	{ "ESC", "\x1b" },
};

static void
test_headers_bad_value(void **state)
{
	struct http_headers h;
	size_t	 i, len;

	(void)state;
	for (i = 0; i < NITEMS(bad_value_cases); i++) {
		const struct bad_value_case *tc = &bad_value_cases[i];

		http_headers_init(&h, 200);
		http_headers_add(&h, "A", "1");
		len = h.len;
		http_headers_add(&h, "X-Bad", tc->value);
		expect_int(tc->name, "error", h.error, 1);
		expect_int(tc->name, "len unchanged", (long long)h.len,
		    (long long)len);
		/* The error sticks: later good values do not clear it. */
		http_headers_add(&h, "B", "2");
		http_headers_add_int(&h, "C", 3);
		expect_int(tc->name, "error sticks", h.error, 1);
		expect_int(tc->name, "len after", (long long)h.len,
		    (long long)len);
		expect_int(tc->name, "end", http_headers_end(&h), -1);
		if (strstr(h.buf, "X-Bad") != NULL)
			case_fail(tc->name, "bad header in block");
	}
	end_cases();
}

/*
 * "Status: 200 OK\r\n" is 16 bytes and "X: <v>\r\n" is 5 + |v|; the block
 * plus "\r\n" plus NUL must fit HTTP_HEADERS_SIZE.
 */
struct fill_case {
	const char	*name;
	size_t		 vlen;
	int		 add_error;
	int		 end_rc;
};

static const struct fill_case fill_cases[] = {
	{ "block ends at size - 3: fits", HTTP_HEADERS_SIZE - 24, 0, 0 },
	{ "block ends at size - 2: no room for end", HTTP_HEADERS_SIZE - 23,
	    0, -1 },
	{ "block ends at size - 1: no room for end", HTTP_HEADERS_SIZE - 22,
	    0, -1 },
	{ "value one byte too long", HTTP_HEADERS_SIZE - 21, 1, -1 },
	{ "value far too long", HTTP_HEADERS_SIZE + 100, 1, -1 },
};

static void
test_headers_overflow(void **state)
{
	struct http_headers h;
	char	*v;
	size_t	 i;
	int	 k;

	(void)state;
	for (i = 0; i < NITEMS(fill_cases); i++) {
		const struct fill_case *tc = &fill_cases[i];

		v = repeat("v", tc->vlen, "");
		http_headers_init(&h, 200);
		http_headers_add(&h, "X", v);
		expect_int(tc->name, "error after add", h.error,
		    tc->add_error);
		expect_int(tc->name, "end", http_headers_end(&h), tc->end_rc);
		expect_int(tc->name, "error after end", h.error,
		    tc->end_rc == -1);
		if (tc->end_rc == 0)
			expect_int(tc->name, "len", (long long)h.len,
			    HTTP_HEADERS_SIZE - 1);
		if (h.len >= HTTP_HEADERS_SIZE)
			case_fail(tc->name, "len %zu", h.len);
		free(v);
	}
	end_cases();
	/* Many small headers: the error comes, and len stays in bounds. */
	http_headers_init(&h, 200);
	for (k = 0; k < 1000; k++)
		http_headers_add_int(&h, "X-Counter", k);
	assert_int_equal(h.error, 1);
	assert_true(h.len < HTTP_HEADERS_SIZE);
	assert_int_equal(http_headers_end(&h), -1);
}

/*
 * Reasons and error bodies
 */

struct reason_case {
	int		 status;
	const char	*reason;
	const char	*body;		/* NULL: not an error status */
};

static const struct reason_case reason_cases[] = {
	{ 200, "OK", NULL },
	{ 206, "Partial Content", NULL },
	{ 304, "Not Modified", NULL },
	{ 400, "Bad Request", "bad request\n" },
	{ 403, "Forbidden", "forbidden\n" },
	{ 404, "Not Found", "not found\n" },
	{ 405, "Method Not Allowed", "method not allowed\n" },
	{ 409, "Conflict", "export not ready yet, retry later\n" },
	{ 410, "Gone", "this download is no longer available\n" },
	{ 412, "Precondition Failed", "precondition failed\n" },
	{ 416, "Range Not Satisfiable", "range not satisfiable\n" },
	{ 500, "Internal Server Error", "internal error\n" },
	{ 503, "Service Unavailable", "busy, retry later\n" },
	{ 299, "Unknown", "internal error\n" },
	{ 0, "Unknown", "internal error\n" },
};

static void
test_reason_and_body(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(reason_cases); i++) {
		const struct reason_case *tc = &reason_cases[i];
		const char *body;
		char	 name[16];

		snprintf(name, sizeof(name), "%d", tc->status);
		expect_str(name, "reason", http_reason(tc->status),
		    tc->reason);
		if (tc->body == NULL)
			continue;
		body = http_error_body(tc->status);
		expect_str(name, "body", body, tc->body);
		/* One short line of text/plain. */
		expect_int(name, "one line", strchr(body, '\n') ==
		    body + strlen(body) - 1, 1);
		if (strlen(body) > 80)
			case_fail(name, "body is %zu bytes", strlen(body));
	}
	end_cases();
}

/*
 * A 404 must not tell an unknown id from a wrong or missing token: the body
 * depends on the status alone (there is no way to pass a cause).
 */
static void
test_404_body_same(void **state)
{
	const char *a, *b;

	(void)state;
	a = http_error_body(404);
	(void)http_error_body(403);
	(void)http_error_body(410);
	b = http_error_body(404);
	assert_string_equal(a, b);
	assert_string_equal(a, "not found\n");
	assert_null(strstr(a, "token"));
	assert_null(strstr(a, "job"));
}

/* Issue 15: the one content-type rule of sluice and sluicectl. */
static void
test_content_type_rule(void **state)
{
	static const struct {
		const char	*v;
		int		 ok;
	} rows[] = {
		{ "text/plain", 1 },
		{ "text/csv; charset=utf-8", 1 },
		{ "text/csv ;charset=utf-8", 1 },
		{ "application/vnd.openxmlformats-officedocument."
		    "spreadsheetml.sheet", 1 },
		{ "application/x-7z-compressed", 1 },
		{ "text", 0 },
		{ "", 0 },
		{ "/plain", 0 },
		{ "text/", 0 },
		{ "text/ plain", 0 },
		{ "text /plain", 0 },
		{ "text/plain/x", 0 },
		{ "text/plain x", 0 },
		{ "text/plain\r\nX-Accel-Redirect: /etc/passwd", 0 },
		{ "text/plain\n", 0 },
		{ "text/pla\"in", 0 },
		{ "t\xc3\xa9xt/plain", 0 },
	};
	char	 big[300];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(rows); i++)
		expect_int(rows[i].v, "ok", http_content_type_ok(rows[i].v),
		    rows[i].ok);
	memset(big, 'a', sizeof(big));
	big[1] = '/';
	big[255] = '\0';
	expect_int("255 bytes", "ok", http_content_type_ok(big), 1);
	big[255] = 'a';
	big[256] = '\0';
	expect_int("256 bytes", "ok", http_content_type_ok(big), 0);
	end_cases();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_value_ok),
		cmocka_unit_test(test_date_format),
		cmocka_unit_test(test_date_format_small),
		cmocka_unit_test(test_etag_format),
		cmocka_unit_test(test_digest_format),
		cmocka_unit_test(test_disposition_table),
		cmocka_unit_test(test_disposition_long),
		cmocka_unit_test(test_disposition_expands),
		cmocka_unit_test(test_disposition_small),
		cmocka_unit_test(test_headers_block),
		cmocka_unit_test(test_headers_status_line),
		cmocka_unit_test(test_headers_bad_value),
		cmocka_unit_test(test_headers_overflow),
		cmocka_unit_test(test_reason_and_body),
		cmocka_unit_test(test_404_body_same),
		cmocka_unit_test(test_content_type_rule),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
