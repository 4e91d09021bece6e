/*
 * job_row: the checks of a job row that both stores share. A value that
 * cannot be used as it is (too long, a NUL inside, the wrong type, not
 * hex) leaves job->bad_field naming its column: the policy answers 500
 * and never judges by it. A file_name too long is shortened, and a
 * content type that breaks the header rule is replaced by the default,
 * rather than failing the user's download.
 */
#include <string.h>

#include "http_hdr.h"
#include "job.h"
#include "job_row.h"
#include "log.h"
#include "text.h"

static void
job_row_bad(struct job *job, const char *name)
{
	if (job->bad_field == NULL)
		job->bad_field = name;
}

/* A TEXT cell into dst[0..size); NULL leaves *has = 0. */
static void
job_row_text(struct job *job, const struct job_cell *c, const char *name,
    char *dst, size_t size, unsigned char *has)
{
	dst[0] = '\0';
	*has = 0;
	if (c->kind == JOB_CELL_NULL)
		return;
	*has = 1;	/* present; if unusable, it never matches */
	if (c->v == NULL || c->len >= size ||
	    memchr(c->v, '\0', c->len) != NULL) {
		job_row_bad(job, name);
		return;
	}
	memcpy(dst, c->v, c->len);
	dst[c->len] = '\0';
}

/* file_name: any length, cut to fit (at a character, keeping the
 * extension) rather than refused. Only a NUL in it is bad. */
static void
job_row_name(struct job *job, const struct job_cell *c)
{
	job->file_name[0] = '\0';
	job->has_file_name = 0;
	if (c->kind == JOB_CELL_NULL)
		return;
	job->has_file_name = 1;
	if (c->v == NULL || memchr(c->v, '\0', c->len) != NULL) {
		job_row_bad(job, "file_name");
		return;
	}
	if (c->len < sizeof(job->file_name)) {
		memcpy(job->file_name, c->v, c->len);
		job->file_name[c->len] = '\0';
	} else
		(void)text_name_shorten(job->file_name,
		    sizeof(job->file_name), c->v, c->len, TEXT_EXT_MAX);
}

/* An INTEGER cell; any other type is bad and counts as absent, so that
 * no check judges by it (an expires_at of 'soon' is a bad row, not
 * "expired"). */
static void
job_row_int(struct job *job, const struct job_cell *c, const char *name,
    int64_t *dst, unsigned char *has)
{
	*dst = 0;
	*has = 0;
	if (c->kind == JOB_CELL_NULL)
		return;
	if (c->kind != JOB_CELL_INT) {
		job_row_bad(job, name);
		return;
	}
	*dst = c->i;
	*has = 1;
}

/* content_type: NULL or empty is the default; one that breaks the rule
 * both binaries share is dropped for the default, with a warning. */
static void
job_row_type(struct job *job, const struct job_cell *c)
{
	char	 v[JOB_TYPE_MAX + 1], q[LOG_VALUE_MAX * 4 + 8];
	size_t	 n;

	job->content_type[0] = '\0';
	job->has_content_type = 0;
	if (c->kind == JOB_CELL_NULL || c->v == NULL || c->len == 0)
		return;
	n = c->len < sizeof(v) - 1 ? c->len : sizeof(v) - 1;
	memcpy(v, c->v, n);
	v[n] = '\0';
	if (c->len >= sizeof(job->content_type) || strlen(v) != c->len ||
	    !http_content_type_ok(v)) {
		log_warnx("event=bad_value field=content_type id=%s value=%s "
		    "served=application/octet-stream", job->id,
		    log_quote(q, sizeof(q), v));
		return;
	}
	memcpy(job->content_type, v, n + 1);
	job->has_content_type = 1;
}

void
job_row_fill(struct job *job, const struct job_cell cell[JOB_ROW_NCOLS])
{
	char		 status[16];
	unsigned char	 has_status;

	job->bad_field = NULL;
	job_row_text(job, &cell[0], "status", status, sizeof(status),
	    &has_status);
	job->status = has_status ? job_status_parse(status) : JOB_UNKNOWN;
	job_row_text(job, &cell[1], "file_path", job->file_path,
	    sizeof(job->file_path), &job->has_file_path);
	job_row_name(job, &cell[2]);
	job_row_type(job, &cell[3]);
	job_row_int(job, &cell[4], "file_size", &job->file_size,
	    &job->has_file_size);
	job_row_text(job, &cell[5], "sha256", job->sha256,
	    sizeof(job->sha256), &job->has_sha256);
	job_row_text(job, &cell[6], "owner", job->owner, sizeof(job->owner),
	    &job->has_owner);
	job_row_text(job, &cell[7], "token_sha256", job->token_sha256,
	    sizeof(job->token_sha256), &job->has_token);
	job_row_int(job, &cell[8], "expires_at", &job->expires_at,
	    &job->has_expires);
	job_row_int(job, &cell[9], "max_downloads", &job->max_downloads,
	    &job->has_max_downloads);
	/* Values the headers and checks rely on, checked once, here. */
	if (job->has_sha256 && (strlen(job->sha256) != JOB_HASH_HEX ||
	    !text_hex_valid(job->sha256, JOB_HASH_HEX)))
		job_row_bad(job, "sha256");
	if (job->has_token && (strlen(job->token_sha256) != JOB_HASH_HEX ||
	    !text_hex_valid(job->token_sha256, JOB_HASH_HEX)))
		job_row_bad(job, "token_sha256");
	if (job->has_file_size && job->file_size < 0)
		job_row_bad(job, "file_size");
}
