/*
 * ctl_add: `sluicectl add FILE`, registering an existing file as a done
 * job, by the exporter protocol of README.md ("The exporter's side"):
 *
 *   1. the bytes go under a temporary name in their final directory
 *      (YYYY/MM beneath the root), hashed while they are copied;
 *   2. the file is fsync'ed and renamed into place, then the directory is
 *      fsync'ed;
 *   3. only then is the row committed (SQLite: BEGIN IMMEDIATE, busy
 *      timeout; PostgreSQL: one transaction, lock timeout).
 *
 * --move renames instead when FILE is on the same file system (hashing
 * it by reading first); across file systems it copies, commits, and then
 * removes FILE. If the commit fails, the file is taken back out of the
 * root (or renamed back), so no row ever names a missing file and no file
 * is left that no row names.
 *
 * Ids are 128 random bits and tokens 256, from libsodium's CSPRNG, as
 * base64url without padding. The token is printed once; only its SHA-256
 * is stored.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "confine.h"
#include "ctl_add.h"
#include "ctl_db.h"
#include "ctl_fs.h"
#include "ctl_progress.h"
#include "ctl_out.h"
#include "http_hdr.h"
#include "job.h"
#include "request.h"
#include "sluicectl.h"
#include "text.h"

#define CTL_ADD_ID_BYTES	16	/* 128 bits: 22 base64url chars */
#define CTL_ADD_TOKEN_BYTES	32	/* 256 bits: 43 base64url chars */
#define CTL_ADD_B64_SIZE	64	/* either, encoded, with the NUL */
#define CTL_ADD_SANE_MAX	96	/* basename bytes in file_path */
#define CTL_ADD_EXT_MAX		16	/* a shorter extension is kept */
#define CTL_ADD_LEAF_SIZE	160	/* ".<id>-<sane>.tmp" + NUL */
#define CTL_ADD_DEFAULT_TYPE	"application/octet-stream"

#define CTL_ADD_B64	sodium_base64_VARIANT_URLSAFE_NO_PADDING

_Static_assert(sodium_base64_ENCODED_LEN(CTL_ADD_TOKEN_BYTES, CTL_ADD_B64)
    <= CTL_ADD_B64_SIZE, "token buffer");
_Static_assert(1 + 22 + 1 + CTL_ADD_SANE_MAX + 4 < CTL_ADD_LEAF_SIZE,
    "leaf buffer");

static const char ctl_add_sql[] =
    "INSERT INTO export_jobs (id, status, file_path, file_name, "
    "content_type, file_size, sha256, owner, token_sha256, created_at, "
    "finished_at, expires_at, max_downloads) "
    "VALUES (?1, 'done', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11)";

/*
 * nbytes random bytes as base64url without padding into dst. Returns 0, or
 * -1 when dst is too small.
 */
static int
ctl_add_random(char *dst, size_t dstsz, size_t nbytes)
{
	unsigned char	 buf[CTL_ADD_TOKEN_BYTES];

	if (nbytes > sizeof(buf) ||
	    dstsz < sodium_base64_ENCODED_LEN(nbytes, CTL_ADD_B64))
		return (-1);
	randombytes_buf(buf, nbytes);
	sodium_bin2base64(dst, dstsz, buf, nbytes, CTL_ADD_B64);
	sodium_memzero(buf, sizeof(buf));
	return (0);
}

/*
 * A job id: 128 random bits. One that starts with '-' is drawn again, so
 * that it never reads as an option on a command line (that costs under
 * 0.03 bits). Returns 0 or -1.
 */
static int
ctl_add_id(char *dst, size_t dstsz)
{
	do {
		if (ctl_add_random(dst, dstsz, CTL_ADD_ID_BYTES) == -1)
			return (-1);
	} while (dst[0] == '-');
	return (request_id_valid(dst, strlen(dst)) ? 0 : -1);
}

/* Bytes kept as they are in file_path: [A-Za-z0-9_-]. */
static int
ctl_add_plain(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_');
}

/*
 * The basename of FILE as it goes into file_path: [A-Za-z0-9._-] kept,
 * each run of other bytes one '_', no leading '.', at most
 * CTL_ADD_SANE_MAX bytes, and "file" when nothing is left. A short plain
 * extension (".csv") is kept through any cut, so the file still says
 * what it is. dst has CTL_ADD_SANE_MAX + 1 bytes.
 */
static void
ctl_add_sane(char *dst, const char *base)
{
	const char *ext = strrchr(base, '.');
	size_t	 i, o = 0, elen = 0, blen = strlen(base), room;

	if (ext != NULL && ext != base && ext[1] != '\0' &&
	    (elen = strlen(ext)) <= CTL_ADD_EXT_MAX) {
		for (i = 1; i < elen; i++)
			if (!ctl_add_plain((unsigned char)ext[i]))
				break;
		if (i < elen)
			elen = 0;
	} else
		elen = 0;
	blen -= elen;
	room = CTL_ADD_SANE_MAX - elen;
	for (i = 0; i < blen && o < room; i++) {
		unsigned char c = (unsigned char)base[i];

		if (ctl_add_plain(c) || (c == '.' && o > 0))
			dst[o++] = (char)c;
		else if (o == 0 || dst[o - 1] != '_')
			dst[o++] = '_';
	}
	if (o == 0 || (o == 1 && dst[0] == '_')) {
		memcpy(dst, "file", 4);
		o = 4;
	}
	memcpy(dst + o, base + blen, elen);
	dst[o + elen] = '\0';
}

/* What a non-regular file is, for the refusal. */
static const char *
ctl_add_kind(mode_t m)
{
	if (S_ISDIR(m))
		return ("a directory");
	if (S_ISFIFO(m))
		return ("a FIFO");
	if (S_ISSOCK(m))
		return ("a socket");
	if (S_ISCHR(m) || S_ISBLK(m))
		return ("a device");
	if (S_ISLNK(m))
		return ("a symlink");
	return ("not a regular file");
}

/* A base URL printed for users: no control character (CR, LF, TAB...). */
static int
ctl_add_url_ok(const char *u)
{
	for (; *u != '\0'; u++)
		if ((unsigned char)*u < 0x20 || (unsigned char)*u == 0x7f)
			return (0);
	return (1);
}

/*
 * The options of add, checked against what sluice can serve (its field
 * limits in job.h, header-safe Content-Type). Returns 0, or -1 after one
 * line on stderr.
 */
static int
ctl_add_check_options(const struct ctl *c, const char *name)
{
	const char *ct = c->content_type;

	if (*name == '\0' || strlen(name) > JOB_NAME_MAX) {
		ctl_errx("add: the file name must be 1 to %d bytes",
		    JOB_NAME_MAX);
		return (-1);
	}
	if (!text_utf8_valid(name)) {
		ctl_errx("add: the file name is not valid UTF-8%s",
		    c->name == NULL ? " (give one with --name)" : "");
		return (-1);
	}
	if (c->owner != NULL && (*c->owner == '\0' ||
	    strlen(c->owner) > JOB_USER_MAX ||
	    !http_header_value_ok(c->owner, strlen(c->owner)))) {
		ctl_errx("add: --owner must be 1 to %d bytes without control "
		    "characters", JOB_USER_MAX);
		return (-1);
	}
	/* The rule sluice applies to the row (which serves a bad one as
	 * application/octet-stream, with a warning). */
	if (ct != NULL && !http_content_type_ok(ct)) {
		ctl_errx("add: --content-type must be a media type, type/subtype "
		    "with optional ;parameters, at most %d bytes (e.g. "
		    "text/csv; charset=utf-8)", JOB_TYPE_MAX);
		return (-1);
	}
	if (c->url != NULL && !ctl_add_url_ok(c->url)) {
		ctl_errx("add: --url must not contain control characters");
		return (-1);
	}
	return (0);
}

/*
 * The download URL: base (given a trailing '/'), id, the cosmetic name
 * segment and, with a token, ?token=. Returns a string the caller frees,
 * or NULL when out of memory.
 */
static char *
ctl_add_url(const char *base, const char *id, const char *name,
    const char *token)
{
	char	*seg = NULL, *url = NULL;
	size_t	 len;
	int	 n;

	if (ctl_out_pct_segment(name, &seg) == -1)
		return (NULL);
	len = strlen(base) + 1 + strlen(id) + 1 +
	    (seg != NULL ? strlen(seg) : 0) + 7 +
	    (token != NULL ? strlen(token) : 0) + 1;
	if ((url = malloc(len)) == NULL)
		goto done;
	n = snprintf(url, len, "%s%s%s%s%s%s%s", base,
	    base[0] != '\0' && base[strlen(base) - 1] == '/' ? "" : "/", id,
	    seg != NULL ? "/" : "", seg != NULL ? seg : "",
	    token != NULL ? "?token=" : "", token != NULL ? token : "");
	if (n < 0 || (size_t)n >= len) {
		free(url);
		url = NULL;
	}
done:
	free(seg);
	return (url);
}

/*
 * Where the file is beneath the root, for the undo: nothing yet, the
 * temporary copy, the copy renamed into place, or FILE itself renamed in.
 */
enum ctl_add_placed {
	CTL_ADD_NONE,
	CTL_ADD_TMP,		/* <mdir>/<tmp>: unlink it */
	CTL_ADD_COPIED,		/* <mdir>/<leaf>, a copy: unlink it */
	CTL_ADD_MOVED		/* <mdir>/<leaf> is FILE: rename it back */
};

/*
 * One add, stage by stage. Each stage fills its fields and records what
 * it did (the descriptors it opened, placed, committed); ctl_add_undo
 * reverses exactly that, and nothing else.
 */
struct ctl_add {
	const struct ctl *c;
	const char	*src;		/* FILE, as given */
	const char	*base;		/* its basename */
	const char	*name;		/* file_name: --name, else base */
	int64_t		 expires_at;

	int		 srcfd, rootfd, yfd, mfd, tfd;
	struct stat	 st;		/* FILE, as opened */
	struct ctl_db	*db;
	struct ctl_stmt	*ins;

	char		 id[CTL_ADD_B64_SIZE], token[CTL_ADD_B64_SIZE];
	char		 token_hex[CTL_FS_HEX_SIZE], sha[CTL_FS_HEX_SIZE];
	char		 sane[CTL_ADD_SANE_MAX + 1], ydir[16], mdir[8];
	char		 leaf[CTL_ADD_LEAF_SIZE], tmp[CTL_ADD_LEAF_SIZE];
	char		 rel[JOB_PATH_MAX + 1];
	char		*url;
	int64_t		 size;
	int		 ycreated, mcreated;

	enum ctl_add_placed placed;
	int		 committed;
};

/* Print what was added: a key/value list, or one JSON object. */
static void
ctl_add_print(const struct ctl_add *a)
{
	const struct ctl *c = a->c;
	const char *token = c->token ? a->token : NULL;
	char	 date[CTL_OUT_DATE_SIZE], hsize[CTL_OUT_SIZE_SIZE];
	int	 first = 1;

	if (c->json) {
		fputc('{', stdout);
		ctl_json_key(stdout, "id", &first);
		ctl_json_string(stdout, a->id);
		ctl_json_key(stdout, "status", &first);
		ctl_json_string(stdout, job_status_name(JOB_DONE));
		ctl_json_key(stdout, "file_path", &first);
		ctl_json_string(stdout, a->rel);
		ctl_json_key(stdout, "file_name", &first);
		ctl_json_string(stdout, a->name);
		ctl_json_key(stdout, "file_size", &first);
		printf("%" PRId64, a->size);
		ctl_json_key(stdout, "sha256", &first);
		ctl_json_string(stdout, a->sha);
		ctl_json_key(stdout, "expires_at", &first);
		if (c->has_expires)
			printf("%" PRId64, a->expires_at);
		else
			fputs("null", stdout);
		ctl_json_key(stdout, "url", &first);
		ctl_json_string(stdout, a->url);
		ctl_json_key(stdout, "token", &first);
		if (token != NULL)
			ctl_json_string(stdout, token);
		else
			fputs("null", stdout);
		fputs("}\n", stdout);
		return;
	}
	if (ctl_out_size(hsize, sizeof(hsize), a->size) == -1)
		hsize[0] = '\0';
	printf("id       %s\n", a->id);
	printf("file     %s\n", a->rel);
	printf("size     %" PRId64 " (%s)\n", a->size, hsize);
	printf("sha256   %s\n", a->sha);
	if (!c->has_expires)
		printf("expires  never\n");
	else if (ctl_out_date(date, sizeof(date), a->expires_at) == 0)
		printf("expires  %s UTC\n", date);
	else
		printf("expires  %" PRId64 "\n", a->expires_at);
	printf("url      %s\n", a->url);
	if (token != NULL)
		printf("token    %s  (shown only now: only its SHA-256 is "
		    "stored)\n", token);
}

/*
 * Stage 1, check: the options, the name and the expiry, before anything
 * is opened. Returns 0, or an exit code after one line.
 */
static int
ctl_add_check(struct ctl_add *a)
{
	const struct ctl *c = a->c;
	const char *slash = strrchr(a->src, '/');

	a->base = slash != NULL ? slash + 1 : a->src;
	a->name = c->name != NULL ? c->name : a->base;
	if (ctl_add_check_options(c, a->name) == -1)
		return (CTL_EXIT_USAGE);
	if (c->has_expires) {
		/* 0d would make a link that is born expired. */
		if (c->expires <= 0) {
			ctl_errx("add: --expires must be at least 1s (or never)");
			return (CTL_EXIT_USAGE);
		}
		if (c->expires > INT64_MAX - c->now) {
			ctl_errx("add: --expires is too far away");
			return (CTL_EXIT_USAGE);
		}
		a->expires_at = c->now + c->expires;
	}
	if (sodium_init() < 0) {
		ctl_errx("add: libsodium failed to initialise");
		return (CTL_EXIT_FAIL);
	}
	return (0);
}

/*
 * Stage 2: FILE, a regular file, opened once (O_NONBLOCK: a FIFO cannot
 * hang us); with --move, the name itself and not a symlink. Returns 0 or
 * -1 after reporting.
 */
static int
ctl_add_open_src(struct ctl_add *a)
{
	struct stat	 lst;
	const char	*src = a->src;

	if ((a->srcfd = open(src, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1 || fstat(a->srcfd, &a->st) == -1) {
		ctl_err("add: %s", src);
		return (-1);
	}
	if (!S_ISREG(a->st.st_mode)) {
		ctl_errx("add: %s: %s: only regular files can be added", src,
		    ctl_add_kind(a->st.st_mode));
		return (-1);
	}
	if (!a->c->move)
		return (0);
	/* A rename moves the link, not the file it names. */
	if (lstat(src, &lst) == -1) {
		ctl_err("add: %s", src);
		return (-1);
	}
	if (S_ISLNK(lst.st_mode)) {
		ctl_errx("add: %s: a symlink: --move needs the file itself "
		    "(or copy it without --move)", src);
		return (-1);
	}
	if (lst.st_dev != a->st.st_dev || lst.st_ino != a->st.st_ino) {
		ctl_errx("add: %s: replaced while it was opened", src);
		return (-1);
	}
	return (0);
}

/* Stage 3, the database: a wrong --db fails before any copying. */
static int
ctl_add_open_db(struct ctl_add *a)
{
	if (ctl_db_open(a->c->db, CTL_DB_EXISTING, &a->db) == -1)
		return (-1);
	if (ctl_db_prepare(a->db, ctl_add_sql, &a->ins) == -1) {
		/* Locked past the busy timeout: not a question of schema. */
		if (ctl_db_transient(a->db))
			ctl_errx("add: %s: the database is locked by another "
			    "process; try again", ctl_db_name(a->db));
		else
			ctl_errx("add: %s: is it a jobs database? (run "
			    "`sluicectl init`)", ctl_db_name(a->db));
		return (-1);
	}
	return (0);
}

/*
 * Stage 4, the names: a new id, and YYYY/MM/<id>-<sane> with its
 * temporary ".<leaf>.tmp". Returns 0 or -1 after reporting.
 */
static int
ctl_add_names(struct ctl_add *a)
{
	struct tm	 tm;
	time_t		 tt = (time_t)a->c->now;
	int		 n;

	if (ctl_add_id(a->id, sizeof(a->id)) == -1) {
		ctl_errx("add: cannot make a job id");
		return (-1);
	}
	ctl_add_sane(a->sane, a->base);
	if (gmtime_r(&tt, &tm) == NULL) {
		ctl_errx("add: the clock is out of range");
		return (-1);
	}
	n = snprintf(a->ydir, sizeof(a->ydir), "%04d", tm.tm_year + 1900);
	if (n < 0 || (size_t)n >= sizeof(a->ydir))
		goto toolong;
	n = snprintf(a->mdir, sizeof(a->mdir), "%02d", tm.tm_mon + 1);
	if (n < 0 || (size_t)n >= sizeof(a->mdir))
		goto toolong;
	n = snprintf(a->leaf, sizeof(a->leaf), "%s-%s", a->id, a->sane);
	if (n < 0 || (size_t)n >= sizeof(a->leaf))
		goto toolong;
	n = snprintf(a->tmp, sizeof(a->tmp), ".%s.tmp", a->leaf);
	if (n < 0 || (size_t)n >= sizeof(a->tmp))
		goto toolong;
	n = snprintf(a->rel, sizeof(a->rel), "%s/%s/%s", a->ydir, a->mdir,
	    a->leaf);
	if (n < 0 || (size_t)n >= sizeof(a->rel) || !text_path_plain(a->rel))
		goto toolong;
	return (0);
toolong:
	ctl_errx("add: a path beneath the root would be too long");
	return (-1);
}

/* Stage 5: the root, then YYYY and MM beneath it, made when missing. */
static int
ctl_add_open_dirs(struct ctl_add *a)
{
	const char *root = a->c->root;
	char	 rooterr[CONFINE_ERR_SIZE];

	if (confine_root_open(root, &a->rootfd, rooterr, sizeof(rooterr)) ==
	    -1) {
		ctl_errx("add: %s", rooterr);
		return (-1);
	}
	if ((a->yfd = ctl_fs_mkdir_open(a->rootfd, a->ydir,
	    &a->ycreated)) == -1) {
		ctl_err("add: %s/%s", root, a->ydir);
		return (-1);
	}
	if ((a->mfd = ctl_fs_mkdir_open(a->yfd, a->mdir, &a->mcreated)) == -1) {
		ctl_err("add: %s/%s/%s", root, a->ydir, a->mdir);
		return (-1);
	}
	return (0);
}

/*
 * Stage 6a, --move: hash FILE by reading it, make its data durable, then
 * rename it into place (placed: CTL_ADD_MOVED). On another file system
 * (EXDEV) nothing is placed and FILE is rewound for the copy. Returns 0
 * or -1 after reporting.
 */
static int
ctl_add_move(struct ctl_add *a)
{
	struct ctl_progress pr;
	struct stat	 lst;
	const char	*src = a->src;
	int		 rc;

	ctl_progress_start(&pr, "hashing", (int64_t)a->st.st_size);
	rc = ctl_fs_hash(a->srcfd, a->sha, &a->size, &pr);
	ctl_progress_end(&pr);
	if (rc == -1) {
		ctl_err("add: reading %s", src);
		return (-1);
	}
	if (fsync(a->srcfd) == -1) {
		ctl_err("add: fsync %s", src);
		return (-1);
	}
	if (lstat(src, &lst) == -1) {
		ctl_err("add: %s", src);
		return (-1);
	}
	if (lst.st_dev != a->st.st_dev || lst.st_ino != a->st.st_ino) {
		ctl_errx("add: %s: replaced while it was read", src);
		return (-1);
	}
	if (renameat(AT_FDCWD, src, a->mfd, a->leaf) == 0) {
		a->placed = CTL_ADD_MOVED;
		if (fstat(a->srcfd, &a->st) == -1) {
			ctl_err("add: %s", a->rel);
			return (-1);
		}
		if (a->st.st_size != a->size) {
			ctl_errx("add: %s: changed while it was read", src);
			return (-1);
		}
		return (0);
	}
	if (errno != EXDEV) {
		ctl_err("add: rename %s to %s/%s", src, a->c->root, a->rel);
		return (-1);
	}
	if (lseek(a->srcfd, 0, SEEK_SET) == -1) {
		ctl_err("add: %s", src);
		return (-1);
	}
	return (0);
}

/*
 * Stage 6b: copy FILE to the temporary name while hashing it (placed:
 * CTL_ADD_TMP), fsync and close it, and rename it into place (placed:
 * CTL_ADD_COPIED). Returns 0 or -1 after reporting.
 */
static int
ctl_add_copy(struct ctl_add *a)
{
	const char *root = a->c->root, *y = a->ydir, *m = a->mdir;
	struct ctl_progress pr;
	int	 n;

	a->tfd = openat(a->mfd, a->tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0644);
	if (a->tfd == -1) {
		ctl_err("add: %s/%s/%s/%s", root, y, m, a->tmp);
		return (-1);
	}
	a->placed = CTL_ADD_TMP;
	ctl_progress_start(&pr, "copying", (int64_t)a->st.st_size);
	n = ctl_fs_copy(a->srcfd, a->tfd, a->sha, &a->size, &pr);
	ctl_progress_end(&pr);
	if (n == -1) {
		ctl_err("add: copying %s to %s/%s/%s/%s", a->src, root, y, m,
		    a->tmp);
		return (-1);
	}
	if (fsync(a->tfd) == -1) {
		ctl_err("add: fsync %s/%s/%s/%s", root, y, m, a->tmp);
		return (-1);
	}
	n = close(a->tfd);
	a->tfd = -1;
	if (n == -1) {
		ctl_err("add: close %s/%s/%s/%s", root, y, m, a->tmp);
		return (-1);
	}
	if (renameat(a->mfd, a->tmp, a->mfd, a->leaf) == -1) {
		ctl_err("add: rename into %s/%s", root, a->rel);
		return (-1);
	}
	a->placed = CTL_ADD_COPIED;
	return (0);
}

/*
 * Stage 6: the file in place, complete and durable: moved or copied,
 * then the new names (the month's entry, and the directories made)
 * fsync'ed. Returns 0 or -1 after reporting.
 */
static int
ctl_add_place(struct ctl_add *a)
{
	if (a->c->move && ctl_add_move(a) == -1)
		return (-1);
	/* Without --move, or EXDEV: copy, and remove FILE after commit. */
	if (a->placed == CTL_ADD_NONE && ctl_add_copy(a) == -1)
		return (-1);
	if (fsync(a->mfd) == -1 || (a->mcreated && fsync(a->yfd) == -1) ||
	    (a->ycreated && fsync(a->rootfd) == -1)) {
		ctl_err("add: fsync of a directory beneath %s", a->c->root);
		return (-1);
	}
	return (0);
}

/* Stage 7: the token (if asked for) and the URL that carries it. */
static int
ctl_add_token_url(struct ctl_add *a)
{
	const struct ctl *c = a->c;

	if (c->token && (ctl_add_random(a->token, sizeof(a->token),
	    CTL_ADD_TOKEN_BYTES) == -1 ||
	    ctl_fs_hex_string(a->token, a->token_hex) == -1)) {
		ctl_errx("add: cannot make a token");
		return (-1);
	}
	if ((a->url = ctl_add_url(c->url, a->id, a->name, c->token ?
	    a->token : NULL)) == NULL) {
		ctl_err("add: the URL");
		return (-1);
	}
	return (0);
}

/*
 * Stage 8, only now the row: the file is complete and in place. One
 * write transaction; committed is set once COMMIT succeeded.
 */
static int
ctl_add_insert(struct ctl_add *a)
{
	const struct ctl *c = a->c;
	struct ctl_stmt	*ins = a->ins;

	if (ctl_db_begin(a->db, CTL_DB_WRITE) == -1)
		return (-1);
	if (ctl_db_bind_text(ins, 1, a->id) == -1 ||
	    ctl_db_bind_text(ins, 2, a->rel) == -1 ||
	    ctl_db_bind_text(ins, 3, a->name) == -1 ||
	    ctl_db_bind_text(ins, 4, c->content_type != NULL ?
	    c->content_type : CTL_ADD_DEFAULT_TYPE) == -1 ||
	    ctl_db_bind_int(ins, 5, a->size) == -1 ||
	    ctl_db_bind_text(ins, 6, a->sha) == -1 ||
	    ctl_db_bind_text(ins, 7, c->owner) == -1 ||
	    ctl_db_bind_text(ins, 8, c->token ? a->token_hex : NULL) == -1 ||
	    ctl_db_bind_int(ins, 9, c->now) == -1 ||
	    (c->has_expires ? ctl_db_bind_int(ins, 10, a->expires_at) :
	    ctl_db_bind_null(ins, 10)) == -1 ||
	    (c->has_max_downloads ? ctl_db_bind_int(ins, 11,
	    c->max_downloads) : ctl_db_bind_null(ins, 11)) == -1) {
		ctl_db_errx(a->db, "add: bind");
		return (-1);
	}
	if (ctl_db_step(ins) != CTL_DB_DONE) {
		ctl_db_errx(a->db, "add: insert");
		return (-1);
	}
	if (ctl_db_commit(a->db) == -1)
		return (-1);
	a->committed = 1;
	return (0);
}

/*
 * Reverse what a records, and only that: before the commit, roll the
 * transaction back and take the file back out of the root (remove the
 * temporary or the copy, or rename FILE back). Then release everything
 * a holds. The directories made stay: they are harmless, and another
 * add may be using them.
 */
static void
ctl_add_undo(struct ctl_add *a)
{
	const char *root = a->c->root;

	if (!a->committed) {
		(void)ctl_db_rollback(a->db);
		if (a->placed == CTL_ADD_TMP &&
		    unlinkat(a->mfd, a->tmp, 0) == -1)
			ctl_err("add: remove %s/%s/%s/%s", root, a->ydir,
			    a->mdir, a->tmp);
		if (a->placed == CTL_ADD_COPIED &&
		    unlinkat(a->mfd, a->leaf, 0) == -1)
			ctl_err("add: remove %s/%s", root, a->rel);
		if (a->placed == CTL_ADD_MOVED &&
		    renameat(a->mfd, a->leaf, AT_FDCWD, a->src) == -1)
			ctl_err("add: could not move %s/%s back to %s",
			    root, a->rel, a->src);
	}
	sodium_memzero(a->token, sizeof(a->token));
	free(a->url);
	ctl_db_finalize(a->ins);
	ctl_db_close(a->db);
	if (a->tfd != -1)
		close(a->tfd);
	if (a->mfd != -1)
		close(a->mfd);
	if (a->yfd != -1)
		close(a->yfd);
	if (a->rootfd != -1)
		close(a->rootfd);
	if (a->srcfd != -1)
		close(a->srcfd);
}

/*
 * sluicectl add FILE: the stages in order, then the undo of whatever was
 * done (after a commit: only the release). Returns an exit code; on
 * failure nothing is left in the root or the database.
 */
int
ctl_add_run(struct ctl *c)
{
	struct ctl_add	 a;
	int		 rc;

	memset(&a, 0, sizeof(a));
	a.c = c;
	a.src = c->args[0];
	a.srcfd = a.rootfd = a.yfd = a.mfd = a.tfd = -1;
	a.placed = CTL_ADD_NONE;
	if ((rc = ctl_add_check(&a)) != 0)
		return (rc);
	rc = CTL_EXIT_FAIL;
	if (ctl_add_open_src(&a) == -1 || ctl_add_open_db(&a) == -1 ||
	    ctl_add_names(&a) == -1 || ctl_add_open_dirs(&a) == -1 ||
	    ctl_add_place(&a) == -1 || ctl_add_token_url(&a) == -1 ||
	    ctl_add_insert(&a) == -1)
		goto done;
	rc = CTL_EXIT_OK;
	/* Copied from another file system: FILE goes only now. */
	if (c->move && a.placed == CTL_ADD_COPIED && unlink(a.src) == -1) {
		ctl_err("add: added as %s, but could not remove %s", a.id,
		    a.src);
		rc = CTL_EXIT_FAIL;
	}
	ctl_add_print(&a);
done:
	ctl_add_undo(&a);
	return (rc);
}
