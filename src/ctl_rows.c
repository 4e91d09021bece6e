/*
 * ctl_rows: copied query results and their two printed forms. A value
 * keeps its storage class, so JSON shows a number as a number and a BLOB
 * as hex, and its text form, so a table shows what SQLite would.
 *
 * Workload: an operator's listing; memory grows with the rows.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_out.h"
#include "ctl_rows.h"

/*
 * Empty rows with ncols columns named by names (copied). Returns 0, or -1
 * when out of memory (the rows can still be freed).
 */
int
ctl_rows_init(struct ctl_rows *r, size_t ncols, const char *const *names)
{
	size_t	 i;

	memset(r, 0, sizeof(*r));
	if (ncols == 0)
		return (0);
	if ((r->names = calloc(ncols, sizeof(*r->names))) == NULL)
		return (-1);
	r->ncols = ncols;
	for (i = 0; i < ncols; i++)
		if ((r->names[i] = strdup(names[i] != NULL ? names[i] :
		    "?")) == NULL)
			return (-1);
	return (0);
}

/* A new last row of NULL values, or NULL when out of memory. */
struct ctl_val *
ctl_rows_add(struct ctl_rows *r)
{
	struct ctl_val	*v;
	size_t		 cap;

	if (r->ncols == 0)
		return (NULL);
	if (r->nrows == r->cap) {
		cap = r->cap == 0 ? 16 : r->cap * 2;
		if (cap > SIZE_MAX / sizeof(*v) / r->ncols ||
		    (v = realloc(r->v, cap * r->ncols * sizeof(*v))) == NULL)
			return (NULL);
		r->v = v;
		r->cap = cap;
	}
	v = &r->v[r->nrows * r->ncols];
	memset(v, 0, r->ncols * sizeof(*v));
	r->nrows++;
	return (v);
}

/*
 * Set v's class and copy its text form (len bytes, then a NUL). The
 * number, for INT and FLOAT, is the caller's to set. Returns 0, or -1
 * when out of memory.
 */
int
ctl_val_set(struct ctl_val *v, enum ctl_val_type type, const void *text,
    size_t len)
{
	v->type = type;
	if (type == CTL_VAL_NULL)
		return (0);
	if (len == SIZE_MAX || (v->s = malloc(len + 1)) == NULL) {
		v->type = CTL_VAL_NULL;
		return (-1);
	}
	if (len > 0)
		memcpy(v->s, text, len);
	v->s[len] = '\0';
	v->len = len;
	return (0);
}

void
ctl_rows_free(struct ctl_rows *r)
{
	size_t	 i;

	for (i = 0; i < r->nrows * r->ncols; i++)
		free(r->v[i].s);
	for (i = 0; r->names != NULL && i < r->ncols; i++)
		free(r->names[i]);
	free(r->names);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

const struct ctl_val *
ctl_rows_get(const struct ctl_rows *r, size_t row, size_t col)
{
	return (&r->v[row * r->ncols + col]);
}

/*
 * The first row whose column col is >= key, or nrows if none: a binary
 * search over rows sorted by that column (ORDER BY col), where a value
 * that is not an INTEGER sorts first (SQLite puts NULL first).
 */
size_t
ctl_rows_lower_int(const struct ctl_rows *r, size_t col, int64_t key)
{
	size_t	 lo = 0, hi = r->nrows, mid;
	int64_t	 v;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (!ctl_val_int(ctl_rows_get(r, mid, col), &v) || v < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* The text form, or NULL for SQL NULL. */
const char *
ctl_val_text(const struct ctl_val *v)
{
	return (v->type == CTL_VAL_NULL ? NULL : v->s);
}

/* Returns 1 with *n set when v is an INTEGER, else 0. */
int
ctl_val_int(const struct ctl_val *v, int64_t *n)
{
	if (v->type != CTL_VAL_INT)
		return (0);
	*n = v->i;
	return (1);
}

/* A date cell: "YYYY-MM-DD HH:MM:SS" for an INTEGER, else its text. */
const char *
ctl_val_date(const struct ctl_val *v, char *buf, size_t sz)
{
	int64_t	 t;

	if (ctl_val_int(v, &t) && ctl_out_date(buf, sz, t) == 0)
		return (buf);
	return (ctl_val_text(v));
}

/* A size cell: "1.5 MiB" for an INTEGER, else its text. */
const char *
ctl_val_size(const struct ctl_val *v, char *buf, size_t sz)
{
	int64_t	 n;

	if (ctl_val_int(v, &n) && ctl_out_size(buf, sz, n) == 0)
		return (buf);
	return (ctl_val_text(v));
}

/* v as a JSON value of its storage class; a BLOB as hex. */
void
ctl_val_json(FILE *fp, const struct ctl_val *v)
{
	size_t	 i;

	switch (v->type) {
	case CTL_VAL_INT:
		fprintf(fp, "%" PRId64, v->i);
		break;
	case CTL_VAL_FLOAT:
		if (isfinite(v->d))
			fprintf(fp, "%.17g", v->d);
		else
			fputs("null", fp);	/* JSON has no infinity */
		break;
	case CTL_VAL_TEXT:
		ctl_json_string(fp, v->s);
		break;
	case CTL_VAL_BLOB:
		fputc('"', fp);
		for (i = 0; i < v->len; i++)
			fprintf(fp, "%02x", (unsigned char)v->s[i]);
		fputc('"', fp);
		break;
	default:
		fputs("null", fp);
		break;
	}
}

/* Row row as one JSON object, keyed by the column names. */
void
ctl_rows_json_object(FILE *fp, const struct ctl_rows *r, size_t row)
{
	size_t	 i;
	int	 first = 1;

	fputc('{', fp);
	for (i = 0; i < r->ncols; i++) {
		ctl_json_key(fp, r->names[i], &first);
		ctl_val_json(fp, ctl_rows_get(r, row, i));
	}
	fputc('}', fp);
}

/* Every row, as a JSON array of objects. */
void
ctl_rows_json_array(FILE *fp, const struct ctl_rows *r)
{
	size_t	 i;

	fputc('[', fp);
	for (i = 0; i < r->nrows; i++) {
		if (i > 0)
			fputc(',', fp);
		ctl_rows_json_object(fp, r, i);
	}
	fputc(']', fp);
}
