/*
 * ctl_out: what sluicectl prints. Error lines, aligned tables for a
 * terminal, JSON strings, and the human forms of sizes, dates and names.
 *
 * Every string from a database goes through here before it reaches a
 * terminal or a JSON document, because an exporter may store any bytes:
 * control and bidi characters are replaced for the terminal, and invalid
 * UTF-8 becomes U+FFFD in JSON.
 */
#ifndef SLUICE_CTL_OUT_H
#define SLUICE_CTL_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_OUT_DATE_SIZE	24	/* "2026-11-26 08:15:03" + NUL */
#define CTL_OUT_SIZE_SIZE	32	/* "1023.9 KiB", "1023 B" */
#define CTL_OUT_COVER_SIZE	64	/* two int64s, "/", " (99.9%)" + NUL */
#define CTL_OUT_USED_SIZE	48	/* two int64s, "/" + NUL */
#define CTL_OUT_USED_LINE_SIZE	160	/* show's "N of M downloads used" */

/*
 * A table: a header row and rows of cells, all copied in and cleaned for
 * the terminal, printed with aligned columns. Columns whose bit is set in
 * right are right-aligned (numbers). A failed allocation sets error, and
 * ctl_table_print then fails.
 */
struct ctl_table {
	size_t		 ncols;
	const char	*const *head;
	unsigned	 right;
	char		**cells;	/* nrows * ncols, owned */
	size_t		*width;		/* ncols, by ctl_table_layout; owned */
	size_t		 nrows;
	size_t		 cap;		/* rows allocated */
	int		 error;
};

void	 ctl_errx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 ctl_err(const char *, ...) __attribute__((format(printf, 1, 2)));

void	 ctl_table_init(struct ctl_table *, size_t ncols,
	    const char *const *head, unsigned right);
void	 ctl_table_add(struct ctl_table *, const char *const *row);
int	 ctl_table_print(struct ctl_table *, FILE *);
int	 ctl_table_layout(struct ctl_table *);
void	 ctl_table_print_head(const struct ctl_table *, FILE *,
	    const char *indent);
void	 ctl_table_print_row(const struct ctl_table *, FILE *,
	    const char *indent, size_t row);
void	 ctl_table_free(struct ctl_table *);

void	 ctl_json_string(FILE *, const char *);
void	 ctl_json_key(FILE *, const char *key, int *first);

char	*ctl_out_clean(const char *);
void	 ctl_out_path_line(const char *label, const char *path);
int	 ctl_out_pct_segment(const char *, char **);
int	 ctl_out_date(char *, size_t, int64_t);
int	 ctl_out_size(char *, size_t, int64_t);
int	 ctl_out_coverage(char *, size_t, int64_t covered, int64_t file_size);
int	 ctl_out_used(char *, size_t, int64_t used, int has_max,
	    int64_t max);
int	 ctl_out_used_line(char *, size_t, int64_t used, int64_t pruned,
	    int has_max, int64_t max);

#endif
