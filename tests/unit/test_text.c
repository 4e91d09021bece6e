/*
 * test_text: table-driven tests of src/text.c, the byte rules both
 * binaries share: hex, UTF-8, the unsafe-character class and cleaning,
 * percent-encoding (three classes) and decoding, the plain relative path.
 *
 * Every table row names its case; a failure prints that name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"
#include "text.h"

static void
test_hex(void **state)
{
	static const struct {
		const char	*name;
		const char	*hex;
		size_t		 n;
		int		 rc;
		const char	*want;		/* n bytes when rc == 0 */
	} cases[] = {
		{ "lower", "00ff7f80", 4, 0, "\x00\xff\x7f\x80" },
		{ "upper", "ABCDEF01", 4, 0, "\xab\xcd\xef\x01" },
		{ "mixed", "aB", 1, 0, "\xab" },
		{ "empty for zero", "", 0, 0, "" },
		{ "one digit short", "abc", 2, -1, NULL },
		{ "one digit long", "abcde", 2, -1, NULL },
		{ "two bytes long", "abcdef", 2, -1, NULL },
		{ "odd", "a", 1, -1, NULL },
		{ "not hex g", "0g", 1, -1, NULL },
		{ "space", "0 ", 1, -1, NULL },
		{ "sign", "+1", 1, -1, NULL },
		{ "0x prefix", "0x", 1, -1, NULL },
	};
	unsigned char	 out[8];
	size_t		 i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		memset(out, 0x55, sizeof(out));
		expect_int(cases[i].name, "rc", text_hex_decode(out,
		    cases[i].n, cases[i].hex), cases[i].rc);
		if (cases[i].rc == 0 && memcmp(out, cases[i].want,
		    cases[i].n) != 0)
			case_fail(cases[i].name, "decoded bytes differ");
	}
	for (i = 0; i < 256; i++) {
		int	 want = -1;

		if (i >= '0' && i <= '9')
			want = (int)i - '0';
		else if (i >= 'a' && i <= 'f')
			want = (int)i - 'a' + 10;
		else if (i >= 'A' && i <= 'F')
			want = (int)i - 'A' + 10;
		if (text_hexval((unsigned char)i) != want)
			fail_msg("text_hexval(0x%02zx) != %d", i, want);
	}
	assert_int_equal(text_hex_valid("0123456789abcdefABCDEF", 22), 1);
	assert_int_equal(text_hex_valid("12g4", 4), 0);
	assert_int_equal(text_hex_valid("12g4", 2), 1);	/* only len bytes */
	assert_int_equal(text_hex_valid("", 0), 1);
	end_cases();
}

static void
test_utf8_next(void **state)
{
	static const struct {
		const char	*name;
		const char	*s;
		size_t		 len;
		size_t		 n;
		long		 cp;
	} cases[] = {
		{ "ascii", "a", 1, 1, 'a' },
		{ "NUL byte", "\0", 1, 1, 0 },
		{ "2 bytes", "\xc3\xa9", 2, 2, 0xe9 },
		{ "3 bytes", "\xe2\x82\xac", 3, 3, 0x20ac },
		{ "4 bytes", "\xf0\x9f\x98\x80", 4, 4, 0x1f600 },
		{ "U+10FFFF", "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff },
		{ "past U+10FFFF", "\xf4\x90\x80\x80", 4, 1, -1 },
		{ "overlong /", "\xc0\xaf", 2, 1, -1 },
		{ "overlong 3", "\xe0\x80\xaf", 3, 1, -1 },
		{ "surrogate", "\xed\xa0\x80", 3, 1, -1 },
		{ "lone continuation", "\x80", 1, 1, -1 },
		{ "0xff", "\xff", 1, 1, -1 },
		{ "cut by len", "\xe2\x82\xac", 2, 1, -1 },
		{ "bad continuation", "\xe2\x28\xac", 3, 1, -1 },
	};
	size_t	 i, n;
	long	 cp;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		n = text_utf8_next((const unsigned char *)cases[i].s,
		    cases[i].len, &cp);
		expect_int(cases[i].name, "length", (long long)n,
		    (long long)cases[i].n);
		expect_int(cases[i].name, "code point", cp, cases[i].cp);
	}
	end_cases();
}

/* The one class both binaries drop (sluice) or replace (sluicectl). */
static void
test_char_unsafe(void **state)
{
	static const struct {
		long	 cp;
		int	 unsafe;
	} cases[] = {
		{ -1, 1 }, { 0x00, 1 }, { 0x09, 1 }, { 0x0a, 1 }, { 0x1b, 1 },
		{ 0x1f, 1 }, { 0x20, 0 }, { '~', 0 }, { 0x7f, 1 }, { 0x80, 1 },
		{ 0x9f, 1 }, { 0xa0, 0 }, { 0xe9, 0 }, { 0x061b, 0 },
		{ 0x061c, 1 }, { 0x200d, 0 }, { 0x200e, 1 }, { 0x200f, 1 },
		{ 0x2010, 0 }, { 0x2027, 0 }, { 0x2028, 1 }, { 0x2029, 1 },
		{ 0x202a, 1 }, { 0x202e, 1 },
		{ 0x202f, 0 }, { 0x2065, 0 }, { 0x2066, 1 }, { 0x2069, 1 },
		{ 0x206a, 0 }, { 0x20ac, 0 }, { 0x1f600, 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++)
		if (text_char_unsafe(cases[i].cp) != cases[i].unsafe)
			fail_msg("text_char_unsafe(0x%lx) != %d", cases[i].cp,
			    cases[i].unsafe);
}

/*
 * Cleaning for a user, in both conventions: sluice's Content-Disposition
 * ('_' for a bad byte, unsafe dropped) and sluicectl's terminal ('?' for
 * both, one per character whatever its length).
 */
static void
test_clean(void **state)
{
	static const struct {
		const char	*name;
		const char	*in;
		char		 bad, unsafe;
		size_t		 dstsz;
		const char	*want;
		int		 over;
	} cases[] = {
		{ "plain", "report.csv", '_', '\0', 32, "report.csv", 0 },
		{ "utf-8 kept", "\xc3\xa9t\xc3\xa9", '?', '?', 32,
		    "\xc3\xa9t\xc3\xa9", 0 },
		{ "http: bidi dropped", "invoice\xe2\x80\xae" "fdp.exe", '_',
		    '\0', 32, "invoicefdp.exe", 0 },
		{ "ctl: bidi is one ?", "invoice\xe2\x80\xae" "fdp.exe", '?',
		    '?', 32, "invoice?fdp.exe", 0 },
		{ "http: bad byte", "a\xff" "b", '_', '\0', 32, "a_b", 0 },
		{ "ctl: bad byte", "a\xff" "b", '?', '?', 32, "a?b", 0 },
		{ "http: ESC and LF", "a\x1b[31m\nb", '_', '\0', 32,
		    "a[31mb", 0 },
		{ "ctl: ESC and LF", "a\x1b[31m\nb", '?', '?', 32,
		    "a?[31m?b", 0 },
		{ "C1 control", "a\xc2\x85" "b", '?', '?', 32, "a?b", 0 },
		{ "exact fit", "abc", '?', '?', 4, "abc", 0 },
		{ "over", "abcd", '?', '?', 4, "abc", 1 },
		{ "whole characters only", "ab\xe2\x82\xac", '?', '?', 5,
		    "ab", 1 },
		{ "dropped needs no room", "abc\xe2\x80\x8f", '_', '\0', 4,
		    "abc", 0 },
	};
	char	 buf[32];
	size_t	 i, n;
	int	 over;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		over = -1;
		n = text_clean(buf, cases[i].dstsz, cases[i].in,
		    strlen(cases[i].in), cases[i].bad, cases[i].unsafe, &over);
		expect_str(cases[i].name, "out", buf, cases[i].want);
		expect_int(cases[i].name, "length", (long long)n,
		    (long long)strlen(cases[i].want));
		expect_int(cases[i].name, "over", over, cases[i].over);
	}
	end_cases();
}

static void
test_pct_encode(void **state)
{
	static const struct {
		const char		*name;
		enum text_pct_keep	 keep;
		const char		*in;
		const char		*want;
	} cases[] = {
		{ "path: offload URI", TEXT_PCT_PATH,
		    "dir/a b\xe2\x82\xac%?#+~-._.bin",
		    "dir/a%20b%E2%82%AC%25%3F%23%2B~-._.bin" },
		{ "segment: '/' encoded", TEXT_PCT_SEGMENT, "a/b\\c",
		    "a%2Fb%5Cc" },
		{ "segment: unreserved", TEXT_PCT_SEGMENT,
		    "AZaz09-._~", "AZaz09-._~" },
		{ "segment: sub-delims", TEXT_PCT_SEGMENT, "!$&'()*+,;=",
		    "%21%24%26%27%28%29%2A%2B%2C%3B%3D" },
		{ "attr: RFC 8187 attr-char", TEXT_PCT_ATTR,
		    "!#$&+-.^_`|~", "!#$&+-.^_`|~" },
		{ "attr: others", TEXT_PCT_ATTR, " \"%'()*,/:;<=>?@[\\]{}",
		    "%20%22%25%27%28%29%2A%2C%2F%3A%3B%3C%3D%3E%3F%40%5B"
		    "%5C%5D%7B%7D" },
		{ "attr: UTF-8", TEXT_PCT_ATTR, "\xc3\xa9", "%C3%A9" },
		{ "empty", TEXT_PCT_PATH, "", "" },
		{ "DEL and 0xff", TEXT_PCT_SEGMENT, "\x7f\xff", "%7F%FF" },
	};
	char	 buf[128], small[8];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		expect_int(cases[i].name, "rc", text_pct_encode(buf,
		    sizeof(buf), cases[i].in, cases[i].keep), 0);
		expect_str(cases[i].name, "out", buf, cases[i].want);
	}
	end_cases();
	/* Exact fit, one short, an escape that does not fit whole. */
	assert_int_equal(text_pct_encode(small, sizeof(small), "abcdefg",
	    TEXT_PCT_PATH), 0);
	assert_string_equal(small, "abcdefg");
	assert_int_equal(text_pct_encode(small, sizeof(small), "abcdefgh",
	    TEXT_PCT_PATH), -1);
	assert_string_equal(small, "");
	assert_int_equal(text_pct_encode(small, sizeof(small), "abcde ",
	    TEXT_PCT_PATH), -1);
	assert_string_equal(small, "");
	assert_int_equal(text_pct_encode(small, sizeof(small), "abcd ",
	    TEXT_PCT_PATH), 0);
	assert_string_equal(small, "abcd%20");
	assert_int_equal(text_pct_encode(small, 0, "", TEXT_PCT_PATH), -1);
}

static void
test_pct_decode(void **state)
{
	static const struct {
		const char	*name;
		const char	*in;
		size_t		 dstsz;
		long		 rc;
		const char	*want;
	} cases[] = {
		{ "plain", "abc", 16, 3, "abc" },
		{ "escapes", "a%20b%2f%2F", 16, 5, "a b//" },
		{ "utf-8", "%C3%a9", 16, 2, "\xc3\xa9" },
		{ "plus stays", "a+b", 16, 3, "a+b" },
		{ "empty", "", 16, 0, "" },
		{ "exact fit", "abc", 4, 3, "abc" },
		{ "one short", "abcd", 4, -1, NULL },
		{ "escape short", "%2", 16, -1, NULL },
		{ "escape at end", "ab%", 16, -1, NULL },
		{ "not hex", "%zz", 16, -1, NULL },
		{ "half hex", "%2g", 16, -1, NULL },
		{ "decoded NUL", "a%00b", 16, -1, NULL },
	};
	char	 buf[16];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		long rc = text_pct_decode(buf, cases[i].dstsz, cases[i].in,
		    strlen(cases[i].in));

		expect_int(cases[i].name, "rc", rc, cases[i].rc);
		if (rc >= 0 && cases[i].want != NULL)
			expect_str(cases[i].name, "out", buf, cases[i].want);
	}
	/* Only len bytes are read. */
	expect_int("len", "rc", text_pct_decode(buf, sizeof(buf), "ab%zz", 2),
	    2);
	expect_str("len", "out", buf, "ab");
	end_cases();
}

/* Paths the web server resolves again (offload), and sluicectl's rows. */
static void
test_path_plain(void **state)
{
	static const struct {
		const char	*path;
		int		 plain;
	} plain[] = {
		{ "a", 1 }, { "a/b.bin", 1 }, { "..a/b..", 1 }, { ".x", 1 },
		{ "", 0 }, { "/a", 0 }, { "a/", 0 }, { "a//b", 0 },
		{ ".", 0 }, { "..", 0 }, { "a/./b", 0 }, { "a/../b", 0 },
		{ "../a", 0 }, { "a/..", 0 }, { "./a", 0 }, { "/", 0 },
		{ "a\\..\\b", 1 },	/* a backslash is a name byte here */
	};
	char	 long_path[TEXT_PATH_MAX + 2];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(plain); i++) {
		if (text_path_plain(plain[i].path) != plain[i].plain)
			fail_msg("text_path_plain(\"%s\") != %d",
			    plain[i].path, plain[i].plain);
	}
	memset(long_path, 'a', sizeof(long_path));
	long_path[TEXT_PATH_MAX] = '\0';
	assert_int_equal(text_path_plain(long_path), 1);
	long_path[TEXT_PATH_MAX] = 'a';
	long_path[TEXT_PATH_MAX + 1] = '\0';
	assert_int_equal(text_path_plain(long_path), 0);
}

/* n copies of the UTF-8 character ch after prefix, then suffix, in dst. */
static size_t
name_make(char *dst, const char *prefix, const char *ch, size_t n,
    const char *suffix)
{
	size_t	 o = strlen(prefix), i, cl = strlen(ch);

	memcpy(dst, prefix, o);
	for (i = 0; i < n; i++, o += cl)
		memcpy(dst + o, ch, cl);
	memcpy(dst + o, suffix, strlen(suffix) + 1);
	return (o + strlen(suffix));
}

/*
 * Issue 15: names of any length shortened at a character boundary, the
 * extension kept, into 1024 bytes (the stored name) and 256 (the header
 * form); whatever fits is untouched.
 */
static void
test_name_shorten(void **state)
{
	static char	 src[8192], dst[1024], hdr[256];
	size_t		 len, n;

	(void)state;
	/* 1023 bytes fit 1024 whole. */
	len = name_make(src, "", "a", 1019, ".csv");
	assert_int_equal(len, 1023);
	assert_int_equal(text_name_shorten(dst, sizeof(dst), src, len, 16),
	    1023);
	assert_string_equal(dst, src);
	/* 1024 of '€' (3 bytes) and ".txt": cut before a whole '€'. */
	len = name_make(src, "", "\xe2\x82\xac", 340, ".txt");
	assert_int_equal(len, 1024);
	n = text_name_shorten(dst, sizeof(dst), src, len, 16);
	assert_int_equal(n, 1021);
	assert_memory_equal(dst + 1014, "\xe2\x82\xac.txt", 8);
	/* 5000: 'x', 2497 of 'é', ".csv": into the header's 255. */
	len = name_make(src, "xy", "\xc3\xa9", 2497, ".csv");
	assert_int_equal(len, 5000);
	n = text_name_shorten(hdr, sizeof(hdr), src, len, 16);
	assert_int_equal(n, 254);
	assert_memory_equal(hdr + 248, "\xc3\xa9.csv", 7);
	n = text_name_shorten(dst, sizeof(dst), src, len, 16);
	assert_int_equal(n, 1022);
	assert_memory_equal(dst + 1016, "\xc3\xa9.csv", 7);
	/* A 4-byte character straddling the cut; no extension. */
	len = name_make(src, "a", "\xf0\x9f\x98\x80", 300, "");
	n = text_name_shorten(dst, sizeof(dst), src, len, 16);
	assert_int_equal(n, 1021);
	assert_memory_equal(dst + 1017, "\xf0\x9f\x98\x80", 5);
	/* An "extension" longer than 16 bytes is just more name. */
	len = name_make(src, "", "b", 2000, ".abcdefghijklmnopq");
	n = text_name_shorten(hdr, sizeof(hdr), src, len, 16);
	assert_int_equal(n, 255);
	assert_int_equal(strspn(hdr, "b"), 255);
	/* Invalid UTF-8 is '_', unsafe characters dropped, as text_clean. */
	n = text_name_shorten(hdr, sizeof(hdr), "a\xff\x1b.b", 5, 16);
	assert_string_equal(hdr, "a_.b");
	assert_int_equal(n, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_utf8_next),
		cmocka_unit_test(test_char_unsafe),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_pct_encode),
		cmocka_unit_test(test_pct_decode),
		cmocka_unit_test(test_path_plain),
		cmocka_unit_test(test_name_shorten),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
