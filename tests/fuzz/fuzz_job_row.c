/*
 * libFuzzer target: job_row_fill(), the row check both stores share, with
 * hostile cells; and the same values through the real SQLite store
 * (jobstore_open, jobstore_find) from a database file made once per
 * process, with sql/schema.sql's columns but no types and no CHECKs (as
 * test_jobstore's plain table), so that every value reaches sluice's own
 * checks. PostgreSQL is linked but never contacted: the path is a file.
 *
 * Input: one cell per column of JOB_ROW_COLUMNS, in its order, each
 *   1 byte    kind: bits 0-1 NULL, INT, TEXT, OTHER; bit 2: an OTHER is a
 *             REAL (else a BLOB); bit 3: v is NULL (the direct fill
 *             only); bit 4: the text is one byte repeated len times
 *             (len's low 13 bits: past JOB_PATH_MAX)
 *   8 bytes   i (INT) or the double's bits (REAL)
 *   2 bytes   len, then len bytes of text (fewer if the input ends)
 * Missing bytes are 0.
 *
 * Properties (abort with a message), for the direct fill and the store's:
 * every string is terminated within its array; a field without its has_
 * flag is empty (or 0); a present sha256 or token_sha256 of a row without
 * bad_field is 64 hex digits; a file_name is valid UTF-8 once shortened;
 * a content type kept is one http_content_type_ok accepts. For the direct
 * fill: bad_field is set exactly when a value is unusable (a NUL inside,
 * too long, no text, the wrong type, not hex, a negative size) and names
 * the first such column; the status is the one its text names; the result
 * does not depend on what the struct held before. For the store: the row
 * is found, and (no REAL in it) is the job the direct fill makes of the
 * cells SQLite hands back (an INTEGER's text is its decimal).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sanitizer/asan_interface.h>
#include <sqlite3.h>

#include "http_hdr.h"
#include "job.h"
#include "job_row.h"
#include "jobstore.h"
#include "text.h"

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_job_row: property failed: %s "	\
		    "(line %d)\n", #c, __LINE__);			\
		abort();						\
	}								\
} while (0)

#define FZ_ID		"job1"
#define FZ_REPEAT_MAX	8191	/* a repeated byte reaches past every field */

#define FZ_KIND_REAL	0x04u
#define FZ_KIND_VNULL	0x08u
#define FZ_KIND_REPEAT	0x10u

/* The contract's columns, with no types (no affinity) and no CHECKs. */
static const char fz_plain_sql[] =
    "CREATE TABLE export_jobs (id TEXT PRIMARY KEY, status, file_path, "
    "file_name, content_type, file_size, sha256, owner, token_sha256, "
    "created_at, finished_at, expires_at, max_downloads, error);";

static const char fz_insert_sql[] =
    "INSERT OR REPLACE INTO export_jobs (id, " JOB_ROW_COLUMNS ") "
    "VALUES ('" FZ_ID "', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/* The columns as job_row_fill names them in bad_field. */
static const char *const fz_names[JOB_ROW_NCOLS] = { "status",
    "file_path", "file_name", "content_type", "file_size", "sha256",
    "owner", "token_sha256", "expires_at", "max_downloads" };

/* One decoded cell and what the store is given for it. */
struct fz_cell {
	unsigned	 kind;		/* the input's byte */
	int64_t		 i;
	uint64_t	 bits;		/* a REAL's */
	char		*text;		/* len bytes, the rest poisoned */
	size_t		 len;
};

/*
 * The cells' texts: static, since a malloc per input would give ASan's
 * quarantine fresh pages each time (a page fault per byte written); the
 * bytes past each text are poisoned instead, so a read past len is
 * caught all the same.
 */
static char		 fz_texts[JOB_ROW_NCOLS][FZ_REPEAT_MAX + 1];

static char		 fz_dir[64];
static char		 fz_path[128];
static sqlite3		*fz_db;		/* the writer */
static sqlite3_stmt	*fz_insert;
static struct jobstore	 fz_js;

struct fz_rd {
	const uint8_t	*p;
	size_t		 n;
};

static uint64_t
fz_uint(struct fz_rd *r, int bytes)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < bytes; i++) {
		v <<= 8;
		if (r->n > 0) {
			v |= *r->p++;
			r->n--;
		}
	}
	return (v);
}

static void
fz_decode(const uint8_t *data, size_t size, struct fz_cell *cells)
{
	struct fz_rd	 r = { data, size };
	struct fz_cell	*c;
	size_t		 k, len;

	for (k = 0; k < JOB_ROW_NCOLS; k++) {
		c = &cells[k];
		c->kind = (unsigned)fz_uint(&r, 1);
		c->bits = fz_uint(&r, 8);
		c->i = (int64_t)c->bits;
		len = (size_t)fz_uint(&r, 2);
		c->text = fz_texts[k];
		ASAN_UNPOISON_MEMORY_REGION(c->text, sizeof(fz_texts[k]));
		if (c->kind & FZ_KIND_REPEAT) {
			c->len = len & FZ_REPEAT_MAX;
			memset(c->text, (int)fz_uint(&r, 1), c->len);
		} else {
			c->len = len < r.n ? len : r.n;
			if (c->len > FZ_REPEAT_MAX)
				c->len = FZ_REPEAT_MAX;
			memcpy(c->text, r.p, c->len);
			r.p += c->len;
			r.n -= c->len;
		}
		ASAN_POISON_MEMORY_REGION(c->text + c->len,
		    sizeof(fz_texts[k]) - c->len);
	}
}

/* The cell job_row_fill is given directly. v has no terminator. */
static void
fz_cell_direct(const struct fz_cell *c, struct job_cell *jc)
{
	static const enum job_cell_kind kinds[] = { JOB_CELL_NULL,
	    JOB_CELL_INT, JOB_CELL_TEXT, JOB_CELL_OTHER };

	jc->kind = kinds[c->kind & 3];
	jc->i = jc->kind == JOB_CELL_INT ? c->i : 0;
	jc->v = jc->kind == JOB_CELL_NULL || (c->kind & FZ_KIND_VNULL) ?
	    NULL : c->text;
	jc->len = jc->v != NULL ? c->len : 0;
}

/*
 * The cell as SQLite hands it back (jobstore_cell): an INTEGER's text is
 * its decimal; NULL for a REAL, whose text is SQLite's to choose.
 */
static int
fz_cell_stored(const struct fz_cell *c, struct job_cell *jc, char *num,
    size_t size)
{
	switch (c->kind & 3) {
	case 0:
		jc->kind = JOB_CELL_NULL;
		jc->v = NULL;
		jc->len = 0;
		jc->i = 0;
		return (0);
	case 1:
		jc->kind = JOB_CELL_INT;
		jc->i = c->i;
		snprintf(num, size, "%lld", (long long)c->i);
		jc->v = num;
		jc->len = strlen(num);
		return (0);
	case 2:
		jc->kind = JOB_CELL_TEXT;
		break;
	default:
		if (c->kind & FZ_KIND_REAL)
			return (-1);
		jc->kind = JOB_CELL_OTHER;
		break;
	}
	jc->i = 0;
	jc->v = c->text;
	jc->len = c->len;
	return (0);
}

/* The row into the database, each value with the type the input gave. */
static void
fz_store(const struct fz_cell *cells)
{
	const struct fz_cell *c;
	double		 d;
	int		 k, rc;

	for (k = 0; k < JOB_ROW_NCOLS; k++) {
		c = &cells[k];
		switch (c->kind & 3) {
		case 0:
			rc = sqlite3_bind_null(fz_insert, k + 1);
			break;
		case 1:
			rc = sqlite3_bind_int64(fz_insert, k + 1, c->i);
			break;
		case 2:
			rc = sqlite3_bind_text(fz_insert, k + 1, c->text,
			    (int)c->len, SQLITE_STATIC);
			break;
		default:
			if (c->kind & FZ_KIND_REAL) {
				memcpy(&d, &c->bits, sizeof(d));
				rc = sqlite3_bind_double(fz_insert, k + 1, d);
			} else
				rc = sqlite3_bind_blob(fz_insert, k + 1,
				    c->text, (int)c->len, SQLITE_STATIC);
			break;
		}
		CHECK(rc == SQLITE_OK);
	}
	CHECK(sqlite3_step(fz_insert) == SQLITE_DONE);
	CHECK(sqlite3_reset(fz_insert) == SQLITE_OK);
	CHECK(sqlite3_clear_bindings(fz_insert) == SQLITE_OK);
}

static int
fz_terminated(const char *s, size_t size)
{
	return (memchr(s, '\0', size) != NULL);
}

/* What holds for any job either way made. */
static void
fz_check_job(const struct job *j)
{
	size_t	 k;
	int	 known = j->bad_field == NULL;

	CHECK(strcmp(j->id, FZ_ID) == 0);
	CHECK(fz_terminated(j->file_path, sizeof(j->file_path)));
	CHECK(fz_terminated(j->file_name, sizeof(j->file_name)));
	CHECK(fz_terminated(j->content_type, sizeof(j->content_type)));
	CHECK(fz_terminated(j->sha256, sizeof(j->sha256)));
	CHECK(fz_terminated(j->owner, sizeof(j->owner)));
	CHECK(fz_terminated(j->token_sha256, sizeof(j->token_sha256)));
	CHECK(j->has_file_path || j->file_path[0] == '\0');
	CHECK(j->has_file_name || j->file_name[0] == '\0');
	CHECK(j->has_content_type || j->content_type[0] == '\0');
	CHECK(j->has_sha256 || j->sha256[0] == '\0');
	CHECK(j->has_owner || j->owner[0] == '\0');
	CHECK(j->has_token || j->token_sha256[0] == '\0');
	CHECK(j->has_file_size || j->file_size == 0);
	CHECK(j->has_expires || j->expires_at == 0);
	CHECK(j->has_max_downloads || j->max_downloads == 0);
	CHECK(!j->has_content_type || (j->content_type[0] != '\0' &&
	    http_content_type_ok(j->content_type)));
	CHECK((unsigned)j->status <= JOB_UNKNOWN);
	if (known) {
		CHECK(!j->has_sha256 || (strlen(j->sha256) == JOB_HASH_HEX &&
		    text_hex_valid(j->sha256, JOB_HASH_HEX)));
		CHECK(!j->has_token || (strlen(j->token_sha256) ==
		    JOB_HASH_HEX && text_hex_valid(j->token_sha256,
		    JOB_HASH_HEX)));
		CHECK(!j->has_file_size || j->file_size >= 0);
		return;
	}
	for (k = 0; k < JOB_ROW_NCOLS; k++)
		if (strcmp(j->bad_field, fz_names[k]) == 0)
			return;
	CHECK(!"bad_field names no column");
}

/* The first column whose value job_row_fill must refuse, or NULL. */
static const char *
fz_expect_bad(const struct job_cell *cell)
{
	static const size_t sizes[JOB_ROW_NCOLS] = { 16, JOB_PATH_MAX + 1, 0,
	    0, 0, JOB_HASH_HEX + 1, JOB_USER_MAX + 1, JOB_HASH_HEX + 1 };
	const struct job_cell *c;
	size_t	 k;

	for (k = 0; k < JOB_ROW_NCOLS; k++) {
		c = &cell[k];
		if (c->kind == JOB_CELL_NULL || k == 3)
			continue;
		if (k == 4 || k == 8 || k == 9) {
			if (c->kind != JOB_CELL_INT)
				return (fz_names[k]);
			continue;
		}
		if (c->v == NULL || memchr(c->v, '\0', c->len) != NULL ||
		    (k != 2 && c->len >= sizes[k]))
			return (fz_names[k]);
	}
	/* Then the values checked once the row is read. */
	for (k = 5; k <= 7; k += 2) {
		c = &cell[k];
		if (c->kind != JOB_CELL_NULL &&
		    (c->len != JOB_HASH_HEX || !text_hex_valid(c->v, c->len)))
			return (fz_names[k]);
	}
	if (cell[4].kind == JOB_CELL_INT && cell[4].i < 0)
		return ("file_size");
	return (NULL);
}

/* The status the text names, as the contract spells it. */
static enum job_status
fz_expect_status(const struct job_cell *c)
{
	static const char *names[] = { "pending", "running", "done",
	    "failed", "revoked" };
	size_t	 k;

	if (c->kind == JOB_CELL_NULL || c->v == NULL)
		return (JOB_UNKNOWN);
	for (k = 0; k < 5; k++)
		if (c->len == strlen(names[k]) &&
		    memcmp(c->v, names[k], c->len) == 0)
			return ((enum job_status)k);
	return (JOB_UNKNOWN);
}

/* Two jobs alike in every field (padding aside). */
static void
fz_same(const struct job *a, const struct job *b)
{
	CHECK(a->status == b->status);
	CHECK(strcmp(a->file_path, b->file_path) == 0);
	CHECK(strcmp(a->file_name, b->file_name) == 0);
	CHECK(strcmp(a->content_type, b->content_type) == 0);
	CHECK(strcmp(a->sha256, b->sha256) == 0);
	CHECK(strcmp(a->owner, b->owner) == 0);
	CHECK(strcmp(a->token_sha256, b->token_sha256) == 0);
	CHECK(a->file_size == b->file_size && a->expires_at == b->expires_at &&
	    a->max_downloads == b->max_downloads);
	CHECK(a->has_file_path == b->has_file_path &&
	    a->has_file_name == b->has_file_name &&
	    a->has_content_type == b->has_content_type &&
	    a->has_file_size == b->has_file_size &&
	    a->has_sha256 == b->has_sha256 && a->has_owner == b->has_owner &&
	    a->has_token == b->has_token && a->has_expires == b->has_expires &&
	    a->has_max_downloads == b->has_max_downloads);
	CHECK((a->bad_field == NULL) == (b->bad_field == NULL) &&
	    (a->bad_field == NULL || strcmp(a->bad_field, b->bad_field) == 0));
}

static void
fz_direct(const struct fz_cell *cells, struct job *fresh, struct job *used)
{
	struct job_cell	 cell[JOB_ROW_NCOLS];
	const struct job_cell *c;
	const char	*bad;
	size_t		 k;

	for (k = 0; k < JOB_ROW_NCOLS; k++)
		fz_cell_direct(&cells[k], &cell[k]);
	memset(fresh, 0, sizeof(*fresh));
	memcpy(fresh->id, FZ_ID, sizeof(FZ_ID));
	job_row_fill(fresh, cell);
	fz_check_job(fresh);
	bad = fz_expect_bad(cell);
	CHECK((bad == NULL) == (fresh->bad_field == NULL));
	CHECK(bad == NULL || strcmp(bad, fresh->bad_field) == 0);
	CHECK(fresh->status == fz_expect_status(&cell[0]));
	/* A file_name that fits is kept as it is; a longer one is cut to
	 * valid UTF-8. */
	c = &cell[2];
	if (c->v != NULL && memchr(c->v, '\0', c->len) == NULL) {
		if (c->len < sizeof(fresh->file_name))
			CHECK(strlen(fresh->file_name) == c->len &&
			    memcmp(fresh->file_name, c->v, c->len) == 0);
		else
			CHECK(text_utf8_valid(fresh->file_name));
	}
	/* "Everything else is overwritten": what was there is gone. */
	memset(used, 0xa5, sizeof(*used));
	memcpy(used->id, FZ_ID, sizeof(FZ_ID));
	job_row_fill(used, cell);
	fz_same(fresh, used);
}

static void
fz_through_store(const struct fz_cell *cells)
{
	static struct job	 stored, want;
	struct job_cell		 cell[JOB_ROW_NCOLS];
	char			 num[JOB_ROW_NCOLS][24];
	int			 real = 0;
	size_t			 k;

	fz_store(cells);
	CHECK(jobstore_find(&fz_js, FZ_ID, &stored) == JOBSTORE_FOUND);
	fz_check_job(&stored);
	for (k = 0; k < JOB_ROW_NCOLS; k++)
		if (fz_cell_stored(&cells[k], &cell[k], num[k],
		    sizeof(num[k])) == -1)
			real = 1;
	if (real)
		return;
	memset(&want, 0, sizeof(want));
	memcpy(want.id, FZ_ID, sizeof(FZ_ID));
	job_row_fill(&want, cell);
	fz_same(&stored, &want);
}

const char	*__asan_default_options(void);

/*
 * SQLite allocates on every step: with ASan's default quarantine (256
 * MiB) each allocation is a fresh page, and page faults were most of
 * the time. A smaller one still catches a use just after a free.
 */
const char *
__asan_default_options(void)
{
	return ("quarantine_size_mb=16");
}

static void
fz_cleanup(void)
{
	jobstore_close(&fz_js);
	sqlite3_finalize(fz_insert);
	sqlite3_close(fz_db);
	unlink(fz_path);
	rmdir(fz_dir);
}

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The database, once: in /dev/shm when there is one (no disk writes). */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	char		 err[512];

	(void)argc;
	(void)argv;
	snprintf(fz_dir, sizeof(fz_dir), "%.40s/sluice-fuzz-XXXXXX", tmp);
	CHECK(mkdtemp(fz_dir) != NULL);
	snprintf(fz_path, sizeof(fz_path), "%s/jobs.db", fz_dir);
	CHECK(sqlite3_open(fz_path, &fz_db) == SQLITE_OK);
	CHECK(sqlite3_exec(fz_db, "PRAGMA synchronous = OFF; PRAGMA journal_mode = MEMORY", NULL, NULL,
	    NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(fz_db, fz_plain_sql, NULL, NULL, NULL) ==
	    SQLITE_OK);
	CHECK(sqlite3_prepare_v2(fz_db, fz_insert_sql, -1, &fz_insert,
	    NULL) == SQLITE_OK);
	if (jobstore_open(&fz_js, fz_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_job_row: %s\n", err);
		abort();
	}
	atexit(fz_cleanup);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct job	 fresh, used;
	struct fz_cell		 cells[JOB_ROW_NCOLS];

	fz_decode(data, size, cells);
	fz_direct(cells, &fresh, &used);
	fz_through_store(cells);
	return (0);
}
