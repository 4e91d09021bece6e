/*
 * test_ctl: sluicectl's pure parts, and the option parser both binaries
 * share. Terminal sanitising (ctl_out_clean and its unsafe characters),
 * table widths and tables printed row by row, JSON strings and values,
 * sizes, dates, a download's coverage and the downloads used against a
 * limit (ctl_out.c), the search for a download's responses (ctl_rows.c), and the table-driven parser (opt.c) with sluice's option
 * table on top of it (config.c): "--name value", "--name=value", env
 * fallbacks, typed setters and every error message. Output is written to
 * an open_memstream FILE and compared byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"
#include "config.h"
#include "ctl_out.h"
#include "ctl_progress.h"
#include "text.h"
#include "ctl_rows.h"
#include "opt.h"

/* A memory FILE and its buffer. */
struct mem {
	FILE	*fp;
	char	*buf;
	size_t	 len;
};

static void
mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->fp = open_memstream(&m->buf, &m->len);
	assert_non_null(m->fp);
}

/* Close m and compare what was written with want; frees the buffer. */
static void
mem_expect(struct mem *m, const char *tc, const char *want)
{
	assert_int_equal(fclose(m->fp), 0);
	expect_str(tc, "output", m->buf, want);
	free(m->buf);
}

/* ------------------------------------------------------- terminal text */

static const struct {
	const char	*name, *in, *want;
} clean_cases[] = {
	{ "plain ASCII", "report.csv", "report.csv" },
	{ "empty", "", "" },
	{ "UTF-8 kept", "r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x84",
	    "r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x84" },
	{ "newline", "a\nb", "a?b" },
	{ "tab", "a\tb", "a?b" },
	{ "carriage return", "ok\rEVIL", "ok?EVIL" },
	{ "escape sequence", "\x1b[31mred", "?[31mred" },
	{ "NUL ends the string", "ab\0cd", "ab" },
	{ "DEL", "a\x7f", "a?" },
	{ "C1 control U+0085", "a\xc2\x85" "b", "a?b" },
	{ "C1 control U+009F", "\xc2\x9f", "?" },
	{ "U+00A0 is printable", "\xc2\xa0", "\xc2\xa0" },
	{ "arabic letter mark U+061C", "\xd8\x9c", "?" },
	{ "LRM U+200E", "\xe2\x80\x8e", "?" },
	{ "RLM U+200F", "\xe2\x80\x8f", "?" },
	{ "U+2010 is printable", "\xe2\x80\x90", "\xe2\x80\x90" },
	{ "line separator U+2028", "\xe2\x80\xa8", "?" },
	{ "paragraph separator U+2029", "\xe2\x80\xa9", "?" },
	{ "LRE U+202A", "\xe2\x80\xaa", "?" },
	{ "RLO U+202E", "invoice\xe2\x80\xaeslx.exe", "invoice?slx.exe" },
	{ "U+202F is printable", "\xe2\x80\xaf", "\xe2\x80\xaf" },
	{ "LRI U+2066", "\xe2\x81\xa6", "?" },
	{ "PDI U+2069", "\xe2\x81\xa9", "?" },
	{ "U+206A is printable", "\xe2\x81\xaa", "\xe2\x81\xaa" },
	{ "invalid byte", "a\xff" "b", "a?b" },
	{ "overlong slash: one ? per byte", "\xc0\xaf", "??" },
	{ "surrogate", "\xed\xa0\x80", "???" },
	{ "truncated sequence", "x\xe2\x82", "x??" },
	{ "past U+10FFFF", "\xf4\x90\x80\x80", "????" },
};

static void
test_out_clean(void **state)
{
	size_t	 i;
	char	*got;

	(void)state;
	for (i = 0; i < NITEMS(clean_cases); i++) {
		got = ctl_out_clean(clean_cases[i].in);
		assert_non_null(got);
		expect_str(clean_cases[i].name, "clean", got,
		    clean_cases[i].want);
		free(got);
	}
	end_cases();
}

static const struct {
	const char	*name, *in;
	int		 want;
} utf8_cases[] = {
	{ "ASCII", "abc", 1 },
	{ "empty", "", 1 },
	{ "two-byte", "\xc3\xa9", 1 },
	{ "four-byte", "\xf0\x9f\x93\x84", 1 },
	{ "control characters are valid UTF-8", "\x01\x7f", 1 },
	{ "lone continuation", "\x80", 0 },
	{ "overlong", "\xc0\xaf", 0 },
	{ "surrogate", "\xed\xa0\x80", 0 },
	{ "truncated", "\xe2\x82", 0 },
	{ "0xff", "a\xff", 0 },
};

static void
test_out_utf8_valid(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(utf8_cases); i++)
		expect_int(utf8_cases[i].name, "valid",
		    text_utf8_valid(utf8_cases[i].in), utf8_cases[i].want);
	end_cases();
}

/*
 * Terminal width: one column per character, not per byte, so a UTF-8
 * name pads like an ASCII one; cells are cleaned; NULL prints "-";
 * right-aligned columns pad on the left; no trailing blanks.
 */
static void
test_table_width(void **state)
{
	static const char *const head[] = { "NAME", "SIZE", "NOTE" };
	const char	*r1[] = { "\xc3\xa9t\xc3\xa9", "5 B", "ok" };
	const char	*r2[] = { "a\x1b" "b", "1023.9 KiB", NULL };
	const char	*r3[] = { "longer name", "0 B", "\xe2\x80\xae" };
	struct ctl_table t;
	struct mem	 m;

	(void)state;
	ctl_table_init(&t, 3, head, 1u << 1);
	ctl_table_add(&t, r1);
	ctl_table_add(&t, r2);
	ctl_table_add(&t, r3);
	mem_open(&m);
	assert_int_equal(ctl_table_print(&t, m.fp), 0);
	mem_expect(&m, "table",
	    "NAME               SIZE  NOTE\n"
	    "\xc3\xa9t\xc3\xa9                 5 B  ok\n"
	    "a?b          1023.9 KiB  -\n"
	    "longer name         0 B  ?\n");
	ctl_table_free(&t);

	/* No header: a key/value list, as show prints it. */
	ctl_table_init(&t, 2, NULL, 0);
	r1[0] = "id";
	r1[1] = "x";
	ctl_table_add(&t, r1);
	r1[0] = "file_name";
	r1[1] = "\xe2\x82\xac";
	ctl_table_add(&t, r1);
	mem_open(&m);
	assert_int_equal(ctl_table_print(&t, m.fp), 0);
	mem_expect(&m, "no header", "id         x\n"
	    "file_name  \xe2\x82\xac\n");
	ctl_table_free(&t);
	end_cases();
}

/* ----------------------------------------------------------------- JSON */

static const struct {
	const char	*name, *in, *want;
} json_cases[] = {
	{ "plain", "abc", "\"abc\"" },
	{ "empty", "", "\"\"" },
	{ "quote", "say \"hi\"", "\"say \\\"hi\\\"\"" },
	{ "backslash", "C:\\x", "\"C:\\\\x\"" },
	{ "slash is not escaped", "a/b", "\"a/b\"" },
	{ "newline, CR, tab", "a\nb\rc\td", "\"a\\nb\\rc\\td\"" },
	{ "other controls as \\u", "\x01\x1f", "\"\\u0001\\u001f\"" },
	{ "escape", "\x1b[0m", "\"\\u001b[0m\"" },
	{ "DEL stays (JSON allows it)", "\x7f", "\"\x7f\"" },
	{ "UTF-8 stays", "\xc3\xa9\xf0\x9f\x93\x84",
	    "\"\xc3\xa9\xf0\x9f\x93\x84\"" },
	{ "U+2028 escaped for JavaScript", "a\xe2\x80\xa8" "b",
	    "\"a\\u2028b\"" },
	{ "U+2029 escaped", "\xe2\x80\xa9", "\"\\u2029\"" },
	{ "bidi stays (valid JSON)", "\xe2\x80\xae", "\"\xe2\x80\xae\"" },
	{ "invalid byte: U+FFFD", "a\xff" "b", "\"a\\ufffdb\"" },
	{ "overlong: one U+FFFD per byte", "\xc0\xaf",
	    "\"\\ufffd\\ufffd\"" },
};

static void
test_json_string(void **state)
{
	struct mem	 m;
	size_t		 i;

	(void)state;
	for (i = 0; i < NITEMS(json_cases); i++) {
		mem_open(&m);
		ctl_json_string(m.fp, json_cases[i].in);
		mem_expect(&m, json_cases[i].name, json_cases[i].want);
	}
	end_cases();
}

static void
test_json_key(void **state)
{
	struct mem	 m;
	int		 first = 1;

	(void)state;
	mem_open(&m);
	fputc('{', m.fp);
	ctl_json_key(m.fp, "a", &first);
	fputs("1", m.fp);
	ctl_json_key(m.fp, "b\"", &first);
	fputs("2", m.fp);
	fputc('}', m.fp);
	mem_expect(&m, "keys", "{\"a\":1,\"b\\\"\":2}");
	end_cases();
}

/* Copied query values as JSON: each storage class, and NaN as null. */
static void
test_rows_json(void **state)
{
	static const char *const names[] = { "i", "f", "t", "b", "n", "inf" };
	struct ctl_rows	 r;
	struct ctl_val	*v;
	struct mem	 m;
	char		 buf[CTL_OUT_DATE_SIZE];

	(void)state;
	assert_int_equal(ctl_rows_init(&r, 6, names), 0);
	assert_non_null(v = ctl_rows_add(&r));
	v[0].i = -42;
	assert_int_equal(ctl_val_set(&v[0], CTL_VAL_INT, "-42", 3), 0);
	v[1].d = 1.5;
	assert_int_equal(ctl_val_set(&v[1], CTL_VAL_FLOAT, "1.5", 3), 0);
	assert_int_equal(ctl_val_set(&v[2], CTL_VAL_TEXT, "a\"\n", 3), 0);
	assert_int_equal(ctl_val_set(&v[3], CTL_VAL_BLOB, "\x00\xff", 2), 0);
	v[5].d = HUGE_VAL;
	assert_int_equal(ctl_val_set(&v[5], CTL_VAL_FLOAT, "Inf", 3), 0);
	assert_non_null(v = ctl_rows_add(&r));
	v[0].i = 0;
	assert_int_equal(ctl_val_set(&v[0], CTL_VAL_INT, "0", 1), 0);
	mem_open(&m);
	ctl_rows_json_array(m.fp, &r);
	mem_expect(&m, "rows",
	    "[{\"i\":-42,\"f\":1.5,\"t\":\"a\\\"\\n\",\"b\":\"00ff\","
	    "\"n\":null,\"inf\":null},"
	    "{\"i\":0,\"f\":null,\"t\":null,\"b\":null,\"n\":null,"
	    "\"inf\":null}]");
	/* The text forms: a table shows SQLite's; NULL is NULL. */
	expect_str("text", "int", ctl_val_text(ctl_rows_get(&r, 0, 0)),
	    "-42");
	expect_str("text", "null", ctl_val_text(ctl_rows_get(&r, 0, 4)),
	    NULL);
	expect_str("date cell", "int", ctl_val_date(ctl_rows_get(&r, 1, 0),
	    buf, sizeof(buf)), "1970-01-01 00:00:00");
	expect_str("date cell", "text", ctl_val_date(ctl_rows_get(&r, 0, 2),
	    buf, sizeof(buf)), "a\"\n");
	expect_str("size cell", "float", ctl_val_size(ctl_rows_get(&r, 0, 1),
	    buf, sizeof(buf)), "1.5");
	ctl_rows_free(&r);
	end_cases();
}

/* -------------------------------------------------------- sizes, dates */

static const struct {
	int64_t		 n;
	const char	*want;
} size_cases[] = {
	{ 0, "0 B" },
	{ 1, "1 B" },
	{ 1023, "1023 B" },
	{ 1024, "1.0 KiB" },
	{ 1536, "1.5 KiB" },
	{ 1048575, "1024.0 KiB" },
	{ 1048576, "1.0 MiB" },
	{ INT64_C(5) * 1024 * 1024 * 1024, "5.0 GiB" },
	{ INT64_C(1) << 40, "1.0 TiB" },
	{ INT64_C(1) << 50, "1.0 PiB" },
	{ INT64_MAX, "8.0 EiB" },
	{ -5, "-5 B" },
};

static void
test_out_size(void **state)
{
	char	 buf[CTL_OUT_SIZE_SIZE], name[64];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(size_cases); i++) {
		snprintf(name, sizeof(name), "size %lld",
		    (long long)size_cases[i].n);
		buf[0] = '\0';
		expect_int(name, "rc", ctl_out_size(buf, sizeof(buf),
		    size_cases[i].n), 0);
		expect_str(name, "text", buf, size_cases[i].want);
	}
	/* Truncation is an error, never a cut string. */
	expect_int("size into 7 bytes", "rc", ctl_out_size(buf, 7, 1536), -1);
	expect_int("size into 8 bytes", "rc", ctl_out_size(buf, 8, 1536), 0);
	expect_int("size into 3 bytes", "rc", ctl_out_size(buf, 3, 5), -1);
	end_cases();
}

static const struct {
	int64_t		 t;
	const char	*want;
} date_cases[] = {
	{ 0, "1970-01-01 00:00:00" },
	{ 1, "1970-01-01 00:00:01" },
	{ 951782400, "2000-02-29 00:00:00" },
	{ 1700000000, "2023-11-14 22:13:20" },
	{ 4102444799, "2099-12-31 23:59:59" },
	{ -1, "1969-12-31 23:59:59" },
};

static void
test_out_date(void **state)
{
	char	 buf[CTL_OUT_DATE_SIZE], name[64];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(date_cases); i++) {
		snprintf(name, sizeof(name), "date %lld",
		    (long long)date_cases[i].t);
		buf[0] = '\0';
		expect_int(name, "rc", ctl_out_date(buf, sizeof(buf),
		    date_cases[i].t), 0);
		expect_str(name, "text", buf, date_cases[i].want);
	}
	expect_int("date into 19 bytes", "rc", ctl_out_date(buf, 19, 0), -1);
	expect_int("date into 20 bytes", "rc", ctl_out_date(buf, 20, 0), 0);
	expect_int("year past 9999 fits", "rc", ctl_out_date(buf,
	    sizeof(buf), INT64_C(253402300800)), 0);
	expect_int("time past gmtime", "rc", ctl_out_date(buf, sizeof(buf),
	    INT64_MAX), -1);
	end_cases();
}

/* -------------------------------------------- downloads: coverage, used */

static const struct {
	const char	*name;
	int64_t		 covered, size;
	const char	*want;
} coverage_cases[] = {
	{ "whole file", 400000, 400000, "400000/400000 (100%)" },
	{ "none yet", 0, 400000, "0/400000 (0.0%)" },
	{ "a tenth rounded down", 5000, 400000, "5000/400000 (1.2%)" },
	{ "one short of whole: never 100%", 999999, 1000000,
	    "999999/1000000 (99.9%)" },
	{ "half", 50, 100, "50/100 (50.0%)" },
	{ "size unknown (migrated)", 3000, -1, "3000/?" },
	{ "empty file", 0, 0, "0/0" },
	{ "huge, no overflow", INT64_MAX / 2, INT64_MAX,
	    "4611686018427387903/9223372036854775807 (49.9%)" },
	{ "covered past size (a bad row) says 100%", 7, 5, "7/5 (100%)" },
};

static void
test_out_coverage(void **state)
{
	char	 buf[CTL_OUT_COVER_SIZE];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(coverage_cases); i++) {
		buf[0] = '\0';
		expect_int(coverage_cases[i].name, "rc", ctl_out_coverage(buf,
		    sizeof(buf), coverage_cases[i].covered,
		    coverage_cases[i].size), 0);
		expect_str(coverage_cases[i].name, "text", buf,
		    coverage_cases[i].want);
	}
	/* The largest fits CTL_OUT_COVER_SIZE; a short buffer is an error. */
	expect_int("coverage: largest", "rc", ctl_out_coverage(buf,
	    sizeof(buf), INT64_MAX - 1, INT64_MAX), 0);
	expect_int("coverage into 10 bytes", "rc", ctl_out_coverage(buf, 10,
	    5000, 400000), -1);
	end_cases();
}

static const struct {
	const char	*name;
	int64_t		 used;
	int		 has_max;
	int64_t		 max;
	const char	*want;
} used_cases[] = {
	{ "under the limit", 1, 1, 3, "1/3" },
	{ "at the limit", 3, 3, 3, "3/3" },
	{ "no limit", 2, 0, 0, "2/-" },
	{ "none yet, limit 0", 0, 1, 0, "0/0" },
	{ "a bad row shows as it is", 2, 1, -1, "2/-1" },
};

static const struct {
	const char	*name;
	int64_t		 used, pruned;
	int		 has_max;
	int64_t		 max;
	const char	*want;
} used_line_cases[] = {
	{ "limited", 2, 0, 1, 3, "2 of 3 downloads used" },
	{ "limit one", 1, 0, 1, 1, "1 of 1 download used" },
	{ "with pruned", 3, 1, 1, 3, "3 of 3 downloads used (1 pruned)" },
	{ "no limit", 2, 0, 0, 0, "2 downloads used, no limit" },
	{ "no limit, one", 1, 0, 0, 0, "1 download used, no limit" },
	{ "no limit, pruned", 4, 1, 0, 0, "4 downloads used (1 pruned), "
	    "no limit" },
	{ "negative: a bad row", 0, 0, 1, -1, "0 downloads used; "
	    "max_downloads -1 is a bad row (sluice answers 500)" },
};

static void
test_out_used(void **state)
{
	char	 buf[CTL_OUT_USED_LINE_SIZE];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(used_cases); i++) {
		buf[0] = '\0';
		expect_int(used_cases[i].name, "rc", ctl_out_used(buf,
		    CTL_OUT_USED_SIZE, used_cases[i].used,
		    used_cases[i].has_max, used_cases[i].max), 0);
		expect_str(used_cases[i].name, "cell", buf, used_cases[i].want);
	}
	for (i = 0; i < NITEMS(used_line_cases); i++) {
		buf[0] = '\0';
		expect_int(used_line_cases[i].name, "rc", ctl_out_used_line(buf,
		    sizeof(buf), used_line_cases[i].used,
		    used_line_cases[i].pruned, used_line_cases[i].has_max,
		    used_line_cases[i].max), 0);
		expect_str(used_line_cases[i].name, "line", buf,
		    used_line_cases[i].want);
	}
	expect_int("used: largest fits", "rc", ctl_out_used(buf,
	    CTL_OUT_USED_SIZE, INT64_MAX, 1, INT64_MIN), 0);
	expect_int("used line: largest fits", "rc", ctl_out_used_line(buf,
	    sizeof(buf), INT64_MAX, INT64_MAX, 1, INT64_MIN), 0);
	expect_int("used into 3 bytes", "rc", ctl_out_used(buf, 3, 1, 1, 3),
	    -1);
	end_cases();
}

/*
 * A download's responses are found by a binary search over rows sorted
 * by download_id (NULLs first, as SQLite sorts them).
 */
static void
test_rows_lower_int(void **state)
{
	static const char *const names[] = { "download_id" };
	static const int64_t ids[] = { -1, 3, 3, 7, 9, 9, 9 };	/* -1: NULL */
	static const struct {
		int64_t	 key;
		size_t	 want;
	} cases[] = {
		{ 0, 1 }, { 3, 1 }, { 4, 3 }, { 7, 3 }, { 9, 4 }, { 10, 7 },
		{ INT64_MIN, 1 },
	};
	struct ctl_rows	 r;
	struct ctl_val	*v;
	char		 name[48];
	size_t		 i;

	(void)state;
	assert_int_equal(ctl_rows_init(&r, 1, names), 0);
	expect_int("empty rows", "index", (int)ctl_rows_lower_int(&r, 0, 3),
	    0);
	for (i = 0; i < NITEMS(ids); i++) {
		assert_non_null(v = ctl_rows_add(&r));
		if (ids[i] == -1)
			continue;
		v->i = ids[i];
		assert_int_equal(ctl_val_set(v, CTL_VAL_INT, "n", 1), 0);
	}
	for (i = 0; i < NITEMS(cases); i++) {
		snprintf(name, sizeof(name), "lower bound of %lld",
		    (long long)cases[i].key);
		expect_int(name, "index", (int)ctl_rows_lower_int(&r, 0,
		    cases[i].key), (int)cases[i].want);
	}
	ctl_rows_free(&r);
	end_cases();
}

/*
 * A table printed row by row (audit --responses): each table aligned over
 * all its rows, whatever is printed between them, with an indent.
 */
static void
test_table_rows(void **state)
{
	static const char *const dhead[] = { "ADDR", "BYTES" };
	static const char *const rhead[] = { "STATUS", "RANGE" };
	const char	*d1[] = { "192.0.2.7", "400000" };
	const char	*d2[] = { "::1", "5" };
	const char	*r1[] = { "200", "0-399999" };
	struct ctl_table dt, rt;
	struct mem	 m;

	(void)state;
	ctl_table_init(&dt, 2, dhead, 1u << 1);
	ctl_table_init(&rt, 2, rhead, 1u << 0);
	ctl_table_add(&dt, d1);
	ctl_table_add(&dt, d2);
	ctl_table_add(&rt, r1);
	assert_int_equal(ctl_table_layout(&dt), 0);
	assert_int_equal(ctl_table_layout(&rt), 0);
	mem_open(&m);
	ctl_table_print_head(&dt, m.fp, "");
	ctl_table_print_row(&dt, m.fp, "", 0);
	ctl_table_print_head(&rt, m.fp, "    ");
	ctl_table_print_row(&rt, m.fp, "    ", 0);
	ctl_table_print_row(&dt, m.fp, "", 1);
	mem_expect(&m, "rows",
	    "ADDR        BYTES\n"
	    "192.0.2.7  400000\n"
	    "    STATUS  RANGE\n"
	    "       200  0-399999\n"
	    "::1             5\n");
	ctl_table_free(&dt);
	ctl_table_free(&rt);
	end_cases();
}

/* ------------------------------------------------------- option parser */

/* A target with one field of each type, and a setter that counts. */
struct topts {
	char		 name[8];
	int64_t		 n;
	const char	*s;
	int		 flag;
	int		 calls;
	char		 last[16];
};

static int
topt_set(void *target, const struct opt *o, const char *v, char *err,
    size_t errsz)
{
	struct topts *t = target;

	if (strcmp(v, "bad") == 0) {
		snprintf(err, errsz, "--%s: not bad", o->name);
		return (-1);
	}
	t->calls++;
	snprintf(t->last, sizeof(t->last), "%s", v);
	return (0);
}

#define T_GROUP	0x4u

static const struct opt topt_tab[] = {
	OPT_ROW_BUF("name", "TOPT_NAME", struct topts, name),
	OPT_ROW_INT("number", "TOPT_NUMBER", struct topts, n, -5, 1000),
	OPT_ROW_STR("string", "TOPT_STRING", struct topts, s, T_GROUP),
	OPT_ROW_FLAG("flag", struct topts, flag, T_GROUP),
	OPT_ROW_FUNC("func", topt_set, 0),
	OPT_ROW_STR("num", NULL, struct topts, s, 0),
	OPT_ROW_STR("nuts", NULL, struct topts, s, 0),
	OPT_ROW_HELP(0),
};

/* One argument's walk: the kind, the argument, the row, the value. */
struct walk_step {
	enum opt_kind	 kind;
	const char	*arg;
	const char	*opt;		/* the row's name; NULL: none */
	const char	*v;
};

struct walk_case {
	const char	*name;
	unsigned	 flags;
	const char	*argv[8];	/* after argv[0]; NULL-terminated */
	struct walk_step steps[8];	/* ends with OPT_END */
};

#define OP(a)		{ OPT_OPERAND, a, NULL, NULL }
#define OK(a, o, v)	{ OPT_OPTION, a, o, v }
#define END		{ OPT_END, NULL, NULL, NULL }

static const struct walk_case walk_cases[] = {
	{ "value after", 0, { "--name", "x", NULL },
	    { OK("--name", "name", "x"), END } },
	{ "value after =", 0, { "--name=x=y", NULL },
	    { OK("--name=x=y", "name", "x=y"), END } },
	{ "empty value after =", 0, { "--name=", NULL },
	    { OK("--name=", "name", ""), END } },
	{ "the next argument is the value, whatever it is", 0,
	    { "--name", "--flag", NULL },
	    { OK("--name", "name", "--flag"), END } },
	{ "flag", 0, { "--flag", NULL }, { OK("--flag", "flag", NULL), END } },
	{ "flag given a value", 0, { "--flag=1", NULL },
	    { { OPT_EXTRA, "--flag=1", "flag", NULL }, END } },
	{ "missing value", 0, { "op", "--number", NULL },
	    { OP("op"), { OPT_MISSING, "--number", "number", NULL }, END } },
	{ "unknown", 0, { "--bogus=1", "x", NULL },
	    { { OPT_UNKNOWN, "--bogus=1", NULL, NULL }, OP("x"), END } },
	{ "-h is help", 0, { "-h", NULL }, { OK("-h", "help", NULL), END } },
	{ "--help", 0, { "--help", NULL },
	    { OK("--help", "help", NULL), END } },
	{ "-x is an operand", 0, { "-x", "-", NULL },
	    { OP("-x"), OP("-"), END } },
	{ "-x is an option (getopt's way)", OPT_DASH_OPTION,
	    { "-x", "-", "-hh", NULL },
	    { { OPT_UNKNOWN, "-x", NULL, NULL }, OP("-"),
	      { OPT_UNKNOWN, "-hh", NULL, NULL }, END } },
	{ "operands between options", 0, { "a", "--flag", "b", "--func", "c",
	    "d", NULL },
	    { OP("a"), OK("--flag", "flag", NULL), OP("b"),
	      OK("--func", "func", "c"), OP("d"), END } },
	{ "-- ends the options", 0, { "--flag", "--", "--flag", "--", "-h",
	    NULL },
	    { OK("--flag", "flag", NULL), OP("--flag"), OP("--"), OP("-h"),
	      END } },
	{ "no prefixes by default", 0, { "--fl", NULL },
	    { { OPT_UNKNOWN, "--fl", NULL, NULL }, END } },
	{ "a unique prefix", OPT_ABBREV, { "--fl", "--nam=v", NULL },
	    { OK("--fl", "flag", NULL), OK("--nam=v", "name", "v"), END } },
	{ "an ambiguous prefix", OPT_ABBREV, { "--nu", "1", NULL },
	    { { OPT_UNKNOWN, "--nu", NULL, NULL }, OP("1"), END } },
	{ "an exact name beats its longer names", OPT_ABBREV,
	    { "--num", "1", NULL }, { OK("--num", "num", "1"), END } },
	{ "--= is unknown", OPT_ABBREV, { "--=x", NULL },
	    { { OPT_UNKNOWN, "--=x", NULL, NULL }, END } },
	{ "nothing", 0, { NULL }, { END } },
};

static void
test_opt_next(void **state)
{
	struct opt_iter	 it;
	struct opt_arg	 a;
	char		*argv[9];
	size_t		 i, k;
	int		 argc;

	(void)state;
	for (i = 0; i < NITEMS(walk_cases); i++) {
		const struct walk_case *w = &walk_cases[i];

		argv[0] = (char *)(uintptr_t)"prog";
		for (argc = 1; w->argv[argc - 1] != NULL; argc++)
			argv[argc] = (char *)(uintptr_t)w->argv[argc - 1];
		argv[argc] = NULL;
		opt_iter_init(&it, argc, argv, w->flags);
		for (k = 0; k < NITEMS(w->steps); k++) {
			const struct walk_step *s = &w->steps[k];

			opt_next(&it, topt_tab, NITEMS(topt_tab), &a);
			expect_int(w->name, "kind", a.kind, s->kind);
			expect_str(w->name, "arg", a.arg, s->arg);
			expect_str(w->name, "option", a.o != NULL ?
			    a.o->name : NULL, s->opt);
			expect_str(w->name, "value", a.v, s->v);
			if (s->kind == OPT_END || a.kind == OPT_END)
				break;
		}
	}
	end_cases();
}

static const struct {
	const char	*name, *opt, *v;
	int		 rc;
	const char	*err;
} set_cases[] = {
	{ "buf", "name", "1234567", 0, NULL },
	{ "buf too long", "name", "12345678", -1,
	    "--name: value longer than 7 bytes" },
	{ "int", "number", "1000", 0, NULL },
	{ "int negative", "number", "-5", 0, NULL },
	{ "int over", "number", "1001", -1,
	    "--number: want a whole number from -5 to 1000, got \"1001\"" },
	{ "int under", "number", "-6", -1,
	    "--number: want a whole number from -5 to 1000, got \"-6\"" },
	{ "int empty", "number", "", -1,
	    "--number: want a whole number from -5 to 1000, got \"\"" },
	{ "int trailing", "number", "12x", -1,
	    "--number: want a whole number from -5 to 1000, got \"12x\"" },
	{ "int overflow", "number", "99999999999999999999", -1,
	    "--number: want a whole number from -5 to 1000, "
	    "got \"99999999999999999999\"" },
	{ "str", "string", "anything", 0, NULL },
	{ "flag", "flag", NULL, 0, NULL },
	{ "func", "func", "v", 0, NULL },
	{ "func refuses", "func", "bad", -1, "--func: not bad" },
};

static const struct opt *
topt_row(const char *name)
{
	size_t	 i;

	for (i = 0; i < NITEMS(topt_tab); i++)
		if (strcmp(topt_tab[i].name, name) == 0)
			return (&topt_tab[i]);
	fail_msg("no row %s", name);
	return (NULL);
}

static void
test_opt_set(void **state)
{
	struct topts	 t;
	char		 err[OPT_ERR_SIZE];
	size_t		 i;

	(void)state;
	for (i = 0; i < NITEMS(set_cases); i++) {
		memset(&t, 0, sizeof(t));
		err[0] = '\0';
		expect_int(set_cases[i].name, "rc", opt_set(&t,
		    topt_row(set_cases[i].opt), set_cases[i].v, err,
		    sizeof(err)), set_cases[i].rc);
		if (set_cases[i].err != NULL)
			expect_str(set_cases[i].name, "err", err,
			    set_cases[i].err);
	}
	/* What the setters stored. */
	memset(&t, 0, sizeof(t));
	assert_int_equal(opt_set(&t, topt_row("name"), "abc", err,
	    sizeof(err)), 0);
	assert_int_equal(opt_set(&t, topt_row("number"), "-5", err,
	    sizeof(err)), 0);
	assert_int_equal(opt_set(&t, topt_row("string"), "s", err,
	    sizeof(err)), 0);
	assert_int_equal(opt_set(&t, topt_row("flag"), NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(opt_set(&t, topt_row("func"), "xyz", err,
	    sizeof(err)), 0);
	assert_string_equal(t.name, "abc");
	assert_int_equal(t.n, -5);
	assert_string_equal(t.s, "s");
	assert_int_equal(t.flag, 1);
	assert_int_equal(t.calls, 1);
	assert_string_equal(t.last, "xyz");
	/* A refused value leaves the field as it was. */
	assert_int_equal(opt_set(&t, topt_row("name"), "123456789", err,
	    sizeof(err)), -1);
	assert_string_equal(t.name, "abc");
	assert_int_equal(opt_set(&t, topt_row("number"), "x", err,
	    sizeof(err)), -1);
	assert_int_equal(t.n, -5);
	end_cases();
}

static void
test_opt_env(void **state)
{
	struct topts	 t;
	char		 err[OPT_ERR_SIZE];

	(void)state;
	memset(&t, 0, sizeof(t));
	unsetenv("TOPT_NAME");
	setenv("TOPT_NUMBER", "", 1);		/* empty: as unset */
	setenv("TOPT_STRING", "from env", 1);
	assert_int_equal(opt_env(&t, topt_tab, NITEMS(topt_tab), err,
	    sizeof(err)), 0);
	assert_string_equal(t.name, "");
	assert_int_equal(t.n, 0);
	assert_string_equal(t.s, "from env");

	setenv("TOPT_NAME", "nm", 1);
	setenv("TOPT_NUMBER", "7", 1);
	assert_int_equal(opt_env(&t, topt_tab, NITEMS(topt_tab), err,
	    sizeof(err)), 0);
	assert_string_equal(t.name, "nm");
	assert_int_equal(t.n, 7);

	/* A bad value: the row's message, under its option name. */
	setenv("TOPT_NUMBER", "seven", 1);
	assert_int_equal(opt_env(&t, topt_tab, NITEMS(topt_tab), err,
	    sizeof(err)), -1);
	assert_string_equal(err, "--number: want a whole number from -5 to "
	    "1000, got \"seven\"");
	unsetenv("TOPT_NAME");
	unsetenv("TOPT_NUMBER");
	unsetenv("TOPT_STRING");
}

/* ------------------------------------------- sluice's table: config.c */

static const char *const config_env[] = {
	"SLUICE_DB", "SLUICE_ROOT", "SLUICE_URL_PREFIX", "SLUICE_LOG_FILE",
	"SLUICE_LISTEN", "SLUICE_STATE_DB", "SLUICE_AUDIT", "SLUICE_OFFLOAD",
	"SLUICE_WORKERS", "SLUICE_THREADS", "SLUICE_MAX_REQUESTS",
	"SLUICE_DRAIN_TIMEOUT", "SLUICE_MIN_RATE", "SLUICE_RATE_WINDOW",
};

static void
config_env_clear(void)
{
	size_t	 i;

	for (i = 0; i < NITEMS(config_env); i++)
		unsetenv(config_env[i]);
}

struct config_case {
	const char	*name;
	const char	*env[4];	/* "NAME=value" */
	const char	*argv[8];
	enum config_result want;
	const char	*err;		/* CONFIG_ERROR: the message */
};

static const struct config_case config_cases[] = {
	{ "options", { NULL }, { "--db", "j.db", "--root", "/r", NULL },
	    CONFIG_OK, NULL },
	{ "environment only", { "SLUICE_DB=j.db", "SLUICE_ROOT=/r", NULL },
	    { NULL }, CONFIG_OK, NULL },
	{ "help", { NULL }, { "--db", "x", "--help", "--bogus", NULL },
	    CONFIG_HELP, NULL },
	{ "-h", { NULL }, { "-h", NULL }, CONFIG_HELP, NULL },
	{ "no --db", { NULL }, { "--root", "/r", NULL }, CONFIG_ERROR,
	    "no jobs database: give --db or SLUICE_DB" },
	{ "empty SLUICE_DB is unset", { "SLUICE_DB=", NULL },
	    { "--root", "/r", NULL }, CONFIG_ERROR,
	    "no jobs database: give --db or SLUICE_DB" },
	{ "no --root", { NULL }, { "--db", "j", NULL }, CONFIG_ERROR,
	    "no export root: give --root or SLUICE_ROOT" },
	{ "unknown", { NULL }, { "--db", "j", "--root", "/r", "--bogus",
	    NULL }, CONFIG_ERROR,
	    "unknown or incomplete option --bogus (see --help)" },
	{ "missing value", { NULL }, { "--root", "/r", "--db", NULL },
	    CONFIG_ERROR, "unknown or incomplete option --db (see --help)" },
	{ "short unknown", { NULL }, { "-x", NULL }, CONFIG_ERROR,
	    "unknown or incomplete option -x (see --help)" },
	{ "help takes no value", { NULL }, { "--help=1", NULL },
	    CONFIG_ERROR,
	    "unknown or incomplete option --help=1 (see --help)" },
	{ "operand, reported after the options", { NULL },
	    { "extra", "--db", "j", "--root", "/r", "more", NULL },
	    CONFIG_ERROR, "unexpected argument extra (see --help)" },
	{ "option errors come first", { NULL },
	    { "extra", "--bogus", NULL }, CONFIG_ERROR,
	    "unknown or incomplete option --bogus (see --help)" },
	{ "after --, an operand", { NULL },
	    { "--db", "j", "--root", "/r", "--", "--workers", NULL },
	    CONFIG_ERROR, "unexpected argument --workers (see --help)" },
	{ "number range", { NULL },
	    { "--db", "j", "--root", "/r", "--workers=257", NULL },
	    CONFIG_ERROR,
	    "--workers: want a whole number from 0 to 256, got \"257\"" },
	{ "number from the environment", { "SLUICE_THREADS=0", NULL },
	    { "--db", "j", "--root", "/r", NULL }, CONFIG_ERROR,
	    "--threads: want a whole number from 1 to 1024, got \"0\"" },
	{ "the command line wins over a good environment",
	    { "SLUICE_WORKERS=3", NULL },
	    { "--db", "j", "--root", "/r", "--workers", "bad", NULL },
	    CONFIG_ERROR,
	    "--workers: want a whole number from 0 to 256, got \"bad\"" },
	{ "prefix (getopt_long's)", { NULL },
	    { "--db", "j", "--roo", "/r", "--work", "4", NULL }, CONFIG_OK,
	    NULL },
	{ "ambiguous prefix", { NULL }, { "--d", "j", NULL }, CONFIG_ERROR,
	    "unknown or incomplete option --d (see --help)" },
	{ "audit", { NULL }, { "--db", "j", "--root", "/r", "--audit", "of",
	    NULL }, CONFIG_ERROR, "--audit: want on or off, got \"of\"" },
};

static void
test_config_parse(void **state)
{
	struct config	*c;
	char		 err[512], *argv[9], kv[128];
	size_t		 i, k;
	int		 argc;
	enum config_result r;

	(void)state;
	assert_non_null(c = malloc(sizeof(*c)));
	for (i = 0; i < NITEMS(config_cases); i++) {
		const struct config_case *t = &config_cases[i];

		config_env_clear();
		for (k = 0; t->env[k] != NULL; k++) {
			char *eq;

			snprintf(kv, sizeof(kv), "%s", t->env[k]);
			eq = strchr(kv, '=');
			*eq = '\0';
			setenv(kv, eq + 1, 1);
		}
		argv[0] = (char *)(uintptr_t)"sluice";
		for (argc = 1; t->argv[argc - 1] != NULL; argc++)
			argv[argc] = (char *)(uintptr_t)t->argv[argc - 1];
		argv[argc] = NULL;
		err[0] = '\0';
		r = config_parse(c, argc, argv, err, sizeof(err));
		expect_int(t->name, "result", r, t->want);
		if (t->want == CONFIG_ERROR)
			expect_str(t->name, "err", err, t->err);
	}
	free(c);
	config_env_clear();
	end_cases();
}

/* The values themselves: defaults, environment, command line on top. */
static void
test_config_values(void **state)
{
	struct config	*c;
	char		 err[512];
	char		*argv[] = { (char *)(uintptr_t)"sluice",
	    (char *)(uintptr_t)"--root=/cli", (char *)(uintptr_t)"--threads",
	    (char *)(uintptr_t)"3", NULL };

	(void)state;
	assert_non_null(c = malloc(sizeof(*c)));
	config_env_clear();
	setenv("SLUICE_DB", "/var/lib/x/jobs.db", 1);
	setenv("SLUICE_ROOT", "/env", 1);
	setenv("SLUICE_THREADS", "5", 1);
	setenv("SLUICE_MAX_REQUESTS", "100", 1);
	assert_int_equal(config_parse(c, 4, argv, err, sizeof(err)),
	    CONFIG_OK);
	assert_string_equal(c->db, "/var/lib/x/jobs.db");
	assert_string_equal(c->root, "/cli");
	assert_int_equal(c->threads, 3);
	assert_int_equal(c->max_requests, 100);
	assert_int_equal(c->workers, CONFIG_WORKERS);
	assert_string_equal(c->url_prefix, CONFIG_DEFAULT_PREFIX);
	/* Its own directory, whatever --db says (issue 16). */
	assert_string_equal(c->state_db, "/var/lib/sluice/state.db");
	assert_int_equal(c->audit_on, 1);
	free(c);
	config_env_clear();
}

/* The progress bar's line: the bar, percent, rate and time left. */
static void
test_progress_format(void **state)
{
	static const struct {
		const char	*name;
		int64_t		 done, total, ms;
		const char	*want;
	} cases[] = {
		{ "start, no rate yet", 0, 1048576, 0,
		    "copying [>                       ]   0%  0.0 B/s  "
		    "--:-- left" },
		{ "half at 1 MiB/s", 524288, 1048576, 500,
		    "copying [============>           ]  50%  1.0 MiB/s  "
		    "0:01 left" },
		{ "a quarter of 4 GiB at 10 MiB/s", 1073741824, 4294967296LL,
		    102400, "copying [======>                 ]  25%  "
		    "10.0 MiB/s  5:07 left" },
		{ "past an hour left", 1048576, 4294967296LL, 1000,
		    "copying [>                       ]   0%  1.0 MiB/s  "
		    "1:08:15 left" },
		{ "done", 2048, 2048, 1000,
		    "copying [========================] 100%  2.0 KiB/s  "
		    "0:00 left" },
		{ "an empty file", 0, 0, 10,
		    "copying [========================] 100%  0.0 B/s  "
		    "--:-- left" },
	};
	char	 line[CTL_PROGRESS_LINE];
	size_t	 i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		expect_int(cases[i].name, "rc", ctl_progress_format(line,
		    sizeof(line), "copying", cases[i].done, cases[i].total,
		    cases[i].ms), 0);
		expect_str(cases[i].name, "line", line, cases[i].want);
	}
	expect_int("small", "rc", ctl_progress_format(line, 20, "copying",
	    1, 2, 3), -1);
	end_cases();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_clean),
		cmocka_unit_test(test_progress_format),
		cmocka_unit_test(test_out_utf8_valid),
		cmocka_unit_test(test_table_width),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_json_key),
		cmocka_unit_test(test_rows_json),
		cmocka_unit_test(test_out_size),
		cmocka_unit_test(test_out_date),
		cmocka_unit_test(test_out_coverage),
		cmocka_unit_test(test_out_used),
		cmocka_unit_test(test_rows_lower_int),
		cmocka_unit_test(test_table_rows),
		cmocka_unit_test(test_opt_next),
		cmocka_unit_test(test_opt_set),
		cmocka_unit_test(test_opt_env),
		cmocka_unit_test(test_config_parse),
		cmocka_unit_test(test_config_values),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
