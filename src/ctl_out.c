/*
 * ctl_out: sluicectl's output. Error lines on stderr, aligned tables and
 * JSON strings on stdout, and the human forms of sizes and dates.
 *
 * Database strings are untrusted bytes: the terminal form replaces control
 * characters, bidi controls and invalid UTF-8 with '?', so a file name can
 * neither move the cursor nor disguise itself; the JSON form escapes
 * controls and turns invalid UTF-8 into U+FFFD, so the document stays
 * valid. Tables hold copies (the caller's strings can go at once); their
 * memory grows with the rows, which is fine for an operator's tool.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_out.h"
#include "text.h"

/* One line on stderr: "sluicectl: <message>". */
void
ctl_errx(const char *fmt, ...)
{
	va_list	 ap;

	fputs("sluicectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* As ctl_errx, followed by ": " and the text of the current errno. */
void
ctl_err(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	fputs("sluicectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(saved));
}

/*
 * A copy of s that is safe to print on a terminal: valid UTF-8 with every
 * invalid byte and unsafe character replaced by '?'. The caller frees it.
 * Returns NULL when out of memory.
 */
char *
ctl_out_clean(const char *s)
{
	size_t	 len = strlen(s);
	char	*dst;
	int	 over;

	/* Never longer than the input: each replacement is 1 byte. */
	if ((dst = malloc(len + 1)) == NULL)
		return (NULL);
	(void)text_clean(dst, len + 1, s, len, '?', '?', &over);
	return (dst);
}

/* "LABEL: PATH" on stdout, the path cleaned for a terminal. */
void
ctl_out_path_line(const char *label, const char *path)
{
	char	*clean = ctl_out_clean(path);

	printf("%s: %s\n", label, clean != NULL ? clean : "?");
	free(clean);
}

/* Display width of a cleaned string: one column per character. */
static size_t
ctl_out_width(const char *s)
{
	size_t	 w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return (w);
}

/*
 * The cosmetic last URL segment for a file name, percent-encoded (RFC 3986
 * §2.3: only unreserved characters stay). sluice refuses a segment that
 * decodes to "." or "..", or holds '/' or '\\', so those two characters
 * become '_' and a dot-only name gets no segment. On success *out is a
 * string the caller frees, or NULL for no segment. Returns 0, or -1 when
 * out of memory.
 */
int
ctl_out_pct_segment(const char *name, char **out)
{
	size_t	 i, len = strlen(name);
	char	*seg = NULL, *dst = NULL;
	int	 rc = -1;

	*out = NULL;
	if (len == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return (0);
	if (len > (SIZE_MAX - 1) / 3 || (seg = strdup(name)) == NULL ||
	    (dst = malloc(len * 3 + 1)) == NULL)
		goto done;
	for (i = 0; i < len; i++)
		if (seg[i] == '/' || seg[i] == '\\')
			seg[i] = '_';
	if (text_pct_encode(dst, len * 3 + 1, seg, TEXT_PCT_SEGMENT) == -1)
		goto done;	/* cannot happen: 3 bytes a byte at most */
	*out = dst;
	dst = NULL;
	rc = 0;
done:
	free(seg);
	free(dst);
	return (rc);
}

/*
 * A JSON string literal (RFC 8259 §7) for s: quotes, backslashes and
 * controls escaped, U+2028/U+2029 escaped for JavaScript's sake, and each
 * invalid UTF-8 byte replaced by U+FFFD so the output stays valid JSON.
 */
void
ctl_json_string(FILE *fp, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t	 i = 0, n, len = strlen(s);
	long	 cp;

	fputc('"', fp);
	while (i < len) {
		n = text_utf8_next(u + i, len - i, &cp);
		if (cp == -1)
			fputs("\\ufffd", fp);
		else if (cp == '"')
			fputs("\\\"", fp);
		else if (cp == '\\')
			fputs("\\\\", fp);
		else if (cp == '\n')
			fputs("\\n", fp);
		else if (cp == '\r')
			fputs("\\r", fp);
		else if (cp == '\t')
			fputs("\\t", fp);
		else if (cp < 0x20 || cp == 0x2028 || cp == 0x2029)
			fprintf(fp, "\\u%04lx", cp);
		else
			fwrite(u + i, 1, n, fp);
		i += n;
	}
	fputc('"', fp);
}

/* `"key":` for an object member, preceded by a comma unless *first. */
void
ctl_json_key(FILE *fp, const char *key, int *first)
{
	if (!*first)
		fputc(',', fp);
	*first = 0;
	ctl_json_string(fp, key);
	fputc(':', fp);
}

/*
 * An empty table with ncols columns named by head (kept, not copied); a
 * NULL head prints no header line.
 */
void
ctl_table_init(struct ctl_table *t, size_t ncols, const char *const *head,
    unsigned right)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->head = head;
	t->right = right;
}

/*
 * Append a row of ncols cells; a NULL cell prints as "-". The cells are
 * cleaned copies, so the caller keeps its strings. On failure the table
 * is marked and ctl_table_print will fail.
 */
void
ctl_table_add(struct ctl_table *t, const char *const *row)
{
	size_t	 i, base;

	if (t->error)
		return;
	if (t->nrows == t->cap) {
		size_t	 cap = t->cap == 0 ? 64 : t->cap * 2;
		char	**cells;

		if (cap > SIZE_MAX / sizeof(char *) / t->ncols ||
		    (cells = realloc(t->cells,
		    cap * t->ncols * sizeof(char *))) == NULL) {
			t->error = 1;
			return;
		}
		t->cells = cells;
		t->cap = cap;
	}
	base = t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		t->cells[base + i] = ctl_out_clean(row[i] != NULL ?
		    row[i] : "-");
		if (t->cells[base + i] == NULL) {
			while (i-- > 0)
				free(t->cells[base + i]);
			t->error = 1;
			return;
		}
	}
	t->nrows++;
}

static void
ctl_table_cell(FILE *fp, const char *s, size_t width, int right, int last)
{
	size_t	 w = ctl_out_width(s), pad = width > w ? width - w : 0;

	if (right)
		fprintf(fp, "%*s", (int)pad, "");
	fputs(s, fp);
	if (!right && !last)
		fprintf(fp, "%*s", (int)pad, "");
	fputs(last ? "\n" : "  ", fp);
}

/*
 * Measure every column (header and rows) for ctl_table_print_head and
 * ctl_table_print_row; call it again after adding rows. Returns 0, or -1
 * when a row could not be stored or out of memory (errno set).
 */
int
ctl_table_layout(struct ctl_table *t)
{
	size_t	 r, c, w;

	if (t->error) {
		errno = ENOMEM;
		return (-1);
	}
	free(t->width);
	if ((t->width = calloc(t->ncols, sizeof(*t->width))) == NULL)
		return (-1);
	for (c = 0; c < t->ncols && t->head != NULL; c++)
		t->width[c] = ctl_out_width(t->head[c]);
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			w = ctl_out_width(t->cells[r * t->ncols + c]);
			if (w > t->width[c])
				t->width[c] = w;
		}
	return (0);
}

/* The header line (if any), after indent, as laid out. */
void
ctl_table_print_head(const struct ctl_table *t, FILE *fp, const char *indent)
{
	size_t	 c;

	if (t->head == NULL)
		return;
	fputs(indent, fp);
	for (c = 0; c < t->ncols; c++)
		ctl_table_cell(fp, t->head[c], t->width[c],
		    (t->right >> c) & 1, c + 1 == t->ncols);
}

/* Row r, after indent, as laid out. */
void
ctl_table_print_row(const struct ctl_table *t, FILE *fp, const char *indent,
    size_t r)
{
	size_t	 c;

	fputs(indent, fp);
	for (c = 0; c < t->ncols; c++)
		ctl_table_cell(fp, t->cells[r * t->ncols + c], t->width[c],
		    (t->right >> c) & 1, c + 1 == t->ncols);
}

/*
 * Print the header (if any) and the rows with aligned columns, two apart,
 * and no trailing blanks. Returns 0, or -1 when a row could not be stored.
 */
int
ctl_table_print(struct ctl_table *t, FILE *fp)
{
	size_t	 r;

	if (ctl_table_layout(t) == -1)
		return (-1);
	ctl_table_print_head(t, fp, "");
	for (r = 0; r < t->nrows; r++)
		ctl_table_print_row(t, fp, "", r);
	return (0);
}

void
ctl_table_free(struct ctl_table *t)
{
	size_t	 i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	t->cells = NULL;
	t->width = NULL;
	t->nrows = t->cap = 0;
}

/*
 * Unix seconds t as "YYYY-MM-DD HH:MM:SS" in UTC. Returns 0, or -1 when
 * the time cannot be shown or does not fit.
 */
int
ctl_out_date(char *dst, size_t sz, int64_t t)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL)
		return (-1);
	if (strftime(dst, sz, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return (-1);
	return (0);
}

/* A byte count as "13 B", "1.5 KiB", ... "2.0 TiB". Returns 0 or -1. */
int
ctl_out_size(char *dst, size_t sz, int64_t n)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB",
	    "PiB", "EiB" };
	double	 v;
	size_t	 u = 0;
	int	 len;

	if (n < 1024)
		len = snprintf(dst, sz, "%" PRId64 " B", n);
	else {
		v = (double)n / 1024.0;
		while (v >= 1024.0 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
			v /= 1024.0;
			u++;
		}
		len = snprintf(dst, sz, "%.1f %s", v, unit[u]);
	}
	if (len < 0 || (size_t)len >= sz)
		return (-1);
	return (0);
}

/*
 * floor(part * 1000 / whole), for 0 <= part < whole: exact where the
 * compiler has 128-bit integers (part * 1000 does not fit 64 bits), else
 * in floating point and at most 999, so it never reads as the whole.
 */
static int64_t
ctl_out_permille(int64_t part, int64_t whole)
{
#ifdef __SIZEOF_INT128__
	return ((int64_t)((unsigned __int128)part * 1000u /
	    (unsigned __int128)whole));
#else
	double	 pm = (double)part * 1000.0 / (double)whole;

	return (pm > 999.0 ? 999 : (int64_t)pm);
#endif
}

/*
 * A download's coverage: "covered/file_size (pct%)", the percentage
 * rounded down to a tenth so that it never claims more than was sent
 * ("100%" only when every byte was); "covered/?" when the size is unknown
 * (-1: a download migrated from version 1); "0/0" for an empty file.
 * Returns 0, or -1 when it does not fit.
 */
int
ctl_out_coverage(char *dst, size_t sz, int64_t covered, int64_t file_size)
{
	int64_t	 pm;
	int	 len;

	if (file_size < 0)
		len = snprintf(dst, sz, "%" PRId64 "/?", covered);
	else if (file_size == 0)
		len = snprintf(dst, sz, "%" PRId64 "/0", covered);
	else if (covered >= file_size)
		len = snprintf(dst, sz, "%" PRId64 "/%" PRId64 " (100%%)",
		    covered, file_size);
	else {
		pm = ctl_out_permille(covered > 0 ? covered : 0, file_size);
		len = snprintf(dst, sz, "%" PRId64 "/%" PRId64 " (%d.%d%%)",
		    covered, file_size, (int)(pm / 10), (int)(pm % 10));
	}
	if (len < 0 || (size_t)len >= sz)
		return (-1);
	return (0);
}

/*
 * A job's downloads used against its limit, for list: "1/3", or "2/-"
 * when it has none. Returns 0, or -1 when it does not fit.
 */
int
ctl_out_used(char *dst, size_t sz, int64_t used, int has_max, int64_t max)
{
	int	 len;

	if (has_max)
		len = snprintf(dst, sz, "%" PRId64 "/%" PRId64, used, max);
	else
		len = snprintf(dst, sz, "%" PRId64 "/-", used);
	if (len < 0 || (size_t)len >= sz)
		return (-1);
	return (0);
}

/*
 * show's line: "N of M downloads used", "N downloads used, no limit",
 * or, for a negative max_downloads, that the row is bad (sluice answers
 * 500); with "(P pruned)" when retention deleted some of them. Returns 0,
 * or -1 when it does not fit.
 */
int
ctl_out_used_line(char *dst, size_t sz, int64_t used, int64_t pruned,
    int has_max, int64_t max)
{
	char	 tail[48] = "";
	int	 len;

	if (pruned > 0 && (len = snprintf(tail, sizeof(tail),
	    " (%" PRId64 " pruned)", pruned)) < 0)
		return (-1);
	if (!has_max)
		len = snprintf(dst, sz, "%" PRId64 " download%s used%s, no "
		    "limit", used, used == 1 ? "" : "s", tail);
	else if (max < 0)
		len = snprintf(dst, sz, "%" PRId64 " download%s used%s; "
		    "max_downloads %" PRId64 " is a bad row (sluice answers "
		    "500)", used, used == 1 ? "" : "s", tail, max);
	else
		len = snprintf(dst, sz, "%" PRId64 " of %" PRId64 " "
		    "download%s used%s", used, max, max == 1 ? "" : "s", tail);
	if (len < 0 || (size_t)len >= sz)
		return (-1);
	return (0);
}
