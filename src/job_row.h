/*
 * job_row: one export_jobs row, as either store read it, into a struct
 * job, with every value checked once. Pure: no database, no I/O (a
 * content type that is refused is logged). The stores turn their columns
 * into cells in the order of JOB_ROW_COLUMNS.
 */
#ifndef SLUICE_JOB_ROW_H
#define SLUICE_JOB_ROW_H

#include <stddef.h>
#include <stdint.h>

struct job;

/* The lookup's columns, in the cells' order. */
#define JOB_ROW_COLUMNS	"status, file_path, file_name, content_type, " \
	"file_size, sha256, owner, token_sha256, expires_at, max_downloads"
#define JOB_ROW_NCOLS	10

enum job_cell_kind {
	JOB_CELL_NULL,
	JOB_CELL_INT,		/* i, and v its text */
	JOB_CELL_TEXT,		/* v */
	JOB_CELL_OTHER		/* a REAL, a BLOB: only v */
};

/* A value: its kind, and its text v[0..len) (may hold a NUL; NULL for a
 * NULL). A text column reads v whatever the kind, as SQLite converts. */
struct job_cell {
	enum job_cell_kind	 kind;
	const char		*v;
	size_t			 len;
	int64_t			 i;
};

/* job->id must be set; everything else is overwritten. */
void	job_row_fill(struct job *, const struct job_cell[JOB_ROW_NCOLS]);

#endif
