/*
 * ctl_rows: rows copied out of a query, so that a command can finish its
 * database work first and print afterwards (a table for people, JSON for
 * scripts) from values it owns. Pure: no SQLite here (ctl_db_rows fills
 * them), only memory and stdio.
 */
#ifndef SLUICE_CTL_ROWS_H
#define SLUICE_CTL_ROWS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* SQLite's storage classes. */
enum ctl_val_type {
	CTL_VAL_NULL,
	CTL_VAL_INT,
	CTL_VAL_FLOAT,
	CTL_VAL_TEXT,
	CTL_VAL_BLOB
};

/*
 * One value. s is its text form as SQLite gives it (a BLOB's bytes), with
 * a NUL after len bytes; NULL for SQL NULL. Owned by the rows.
 */
struct ctl_val {
	enum ctl_val_type type;
	int64_t		 i;		/* CTL_VAL_INT */
	double		 d;		/* CTL_VAL_FLOAT */
	char		*s;
	size_t		 len;
};

struct ctl_rows {
	size_t		 ncols;
	char		**names;	/* ncols column names, owned */
	struct ctl_val	*v;		/* nrows * ncols, owned */
	size_t		 nrows;
	size_t		 cap;		/* rows allocated */
};

int		 ctl_rows_init(struct ctl_rows *, size_t ncols,
		    const char *const *names);
struct ctl_val	*ctl_rows_add(struct ctl_rows *);
int		 ctl_val_set(struct ctl_val *, enum ctl_val_type,
		    const void *text, size_t len);
void		 ctl_rows_free(struct ctl_rows *);

const struct ctl_val *ctl_rows_get(const struct ctl_rows *, size_t row,
		    size_t col);
const char	*ctl_val_text(const struct ctl_val *);
int		 ctl_val_int(const struct ctl_val *, int64_t *);
const char	*ctl_val_date(const struct ctl_val *, char *, size_t);
const char	*ctl_val_size(const struct ctl_val *, char *, size_t);

size_t		 ctl_rows_lower_int(const struct ctl_rows *, size_t col,
		    int64_t key);

void		 ctl_val_json(FILE *, const struct ctl_val *);
void		 ctl_rows_json_object(FILE *, const struct ctl_rows *,
		    size_t row);
void		 ctl_rows_json_array(FILE *, const struct ctl_rows *);

#endif
