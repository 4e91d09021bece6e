/*
 * ctl_add: `sluicectl add FILE`, registering an existing file as a done
 * job, by the exporter protocol of README.md ("The exporter's side"):
 *
 *   1. the bytes go under a temporary name in their final directory
 *      (YYYY/MM beneath the root), hashed while they are copied;
 *   2. the file is fsync'ed and renamed into place, then the directory is
 *      fsync'ed;
 *   3. only then is the row committed (BEGIN IMMEDIATE, busy timeout).
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
#include <sqlite3.h>

#include "confine.h"
#include "ctl_add.h"
#include "ctl_db.h"
#include "ctl_fs.h"
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
	if (!ctl_out_utf8_valid(name)) {
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
	if (ct != NULL && (*ct == '\0' || strlen(ct) > JOB_TYPE_MAX ||
	    !http_header_value_ok(ct, strlen(ct)))) {
		ctl_errx("add: --content-type must be 1 to %d bytes without "
		    "control characters", JOB_TYPE_MAX);
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

/* Print what was added: a key/value list, or one JSON object. */
static void
ctl_add_print(const struct ctl *c, const char *id, const char *rel,
    const char *name, int64_t size, const char *sha, int64_t expires_at,
    const char *url, const char *token)
{
	char	 date[CTL_OUT_DATE_SIZE], hsize[CTL_OUT_SIZE_SIZE];
	int	 first = 1;

	if (c->json) {
		fputc('{', stdout);
		ctl_json_key(stdout, "id", &first);
		ctl_json_string(stdout, id);
		ctl_json_key(stdout, "status", &first);
		ctl_json_string(stdout, job_status_name(JOB_DONE));
		ctl_json_key(stdout, "file_path", &first);
		ctl_json_string(stdout, rel);
		ctl_json_key(stdout, "file_name", &first);
		ctl_json_string(stdout, name);
		ctl_json_key(stdout, "file_size", &first);
		printf("%" PRId64, size);
		ctl_json_key(stdout, "sha256", &first);
		ctl_json_string(stdout, sha);
		ctl_json_key(stdout, "expires_at", &first);
		if (c->has_expires)
			printf("%" PRId64, expires_at);
		else
			fputs("null", stdout);
		ctl_json_key(stdout, "url", &first);
		ctl_json_string(stdout, url);
		ctl_json_key(stdout, "token", &first);
		if (token != NULL)
			ctl_json_string(stdout, token);
		else
			fputs("null", stdout);
		fputs("}\n", stdout);
		return;
	}
	if (ctl_out_size(hsize, sizeof(hsize), size) == -1)
		hsize[0] = '\0';
	printf("id       %s\n", id);
	printf("file     %s\n", rel);
	printf("size     %" PRId64 " (%s)\n", size, hsize);
	printf("sha256   %s\n", sha);
	if (!c->has_expires)
		printf("expires  never\n");
	else if (ctl_out_date(date, sizeof(date), expires_at) == 0)
		printf("expires  %s UTC\n", date);
	else
		printf("expires  %" PRId64 "\n", expires_at);
	printf("url      %s\n", url);
	if (token != NULL)
		printf("token    %s  (shown only now: only its SHA-256 is "
		    "stored)\n", token);
}

/*
 * sluicectl add FILE. Returns an exit code; on failure nothing is left in
 * the root or the database.
 */
int
ctl_add_run(struct ctl *c)
{
	struct stat	 st, lst;
	struct tm	 tm;
	time_t		 tt = (time_t)c->now;
	sqlite3		*db = NULL;
	sqlite3_stmt	*ins = NULL;
	const char	*src = c->args[0], *name, *slash, *base;
	char		 id[CTL_ADD_B64_SIZE], token[CTL_ADD_B64_SIZE];
	char		 token_hex[CTL_FS_HEX_SIZE], sha[CTL_FS_HEX_SIZE];
	char		 sane[CTL_ADD_SANE_MAX + 1], ydir[16], mdir[8];
	char		 leaf[CTL_ADD_LEAF_SIZE], tmp[CTL_ADD_LEAF_SIZE];
	char		 rel[JOB_PATH_MAX + 1], *url = NULL;
	char		 rooterr[CONFINE_ERR_SIZE];
	int64_t		 size = 0, expires_at = 0;
	int		 srcfd = -1, rootfd = -1, yfd = -1, mfd = -1;
	int		 tfd = -1;
	int		 ycreated = 0, mcreated = 0, tmp_made = 0;
	int		 placed = 0;	/* 1: copied in, 2: renamed in */
	int		 committed = 0, rc = CTL_EXIT_FAIL, n;

	slash = strrchr(src, '/');
	base = slash != NULL ? slash + 1 : src;
	name = c->name != NULL ? c->name : base;
	if (ctl_add_check_options(c, name) == -1)
		return (CTL_EXIT_USAGE);
	if (c->has_expires) {
		if (c->expires > INT64_MAX - c->now) {
			ctl_errx("add: --expires is too far away");
			return (CTL_EXIT_USAGE);
		}
		expires_at = c->now + c->expires;
	}
	if (sodium_init() < 0) {
		ctl_errx("add: libsodium failed to initialise");
		return (CTL_EXIT_FAIL);
	}

	/* FILE: a regular file, opened once; FIFOs cannot hang us. */
	if ((srcfd = open(src, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1) {
		ctl_err("add: %s", src);
		goto done;
	}
	if (fstat(srcfd, &st) == -1) {
		ctl_err("add: %s", src);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		ctl_errx("add: %s: %s: only regular files can be added", src,
		    ctl_add_kind(st.st_mode));
		goto done;
	}
	if (c->move) {
		/* A rename moves the link, not the file it names. */
		if (lstat(src, &lst) == -1) {
			ctl_err("add: %s", src);
			goto done;
		}
		if (S_ISLNK(lst.st_mode)) {
			ctl_errx("add: %s: a symlink: --move needs the file "
			    "itself (or copy it without --move)", src);
			goto done;
		}
		if (lst.st_dev != st.st_dev || lst.st_ino != st.st_ino) {
			ctl_errx("add: %s: replaced while it was opened", src);
			goto done;
		}
	}

	/* The database first: a wrong --db fails before any copying. */
	if (ctl_db_open(c->db, CTL_DB_EXISTING, &db) == -1)
		goto done;
	if (ctl_db_prepare(db, ctl_add_sql, &ins) == -1) {
		ctl_errx("add: %s: is it a jobs database? (run `sluicectl "
		    "init`)", c->db);
		goto done;
	}

	if (ctl_add_id(id, sizeof(id)) == -1) {
		ctl_errx("add: cannot make a job id");
		goto done;
	}
	ctl_add_sane(sane, base);
	if (gmtime_r(&tt, &tm) == NULL) {
		ctl_errx("add: the clock is out of range");
		goto done;
	}
	n = snprintf(ydir, sizeof(ydir), "%04d", tm.tm_year + 1900);
	if (n < 0 || (size_t)n >= sizeof(ydir))
		goto toolong;
	n = snprintf(mdir, sizeof(mdir), "%02d", tm.tm_mon + 1);
	if (n < 0 || (size_t)n >= sizeof(mdir))
		goto toolong;
	n = snprintf(leaf, sizeof(leaf), "%s-%s", id, sane);
	if (n < 0 || (size_t)n >= sizeof(leaf))
		goto toolong;
	n = snprintf(tmp, sizeof(tmp), ".%s.tmp", leaf);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		goto toolong;
	n = snprintf(rel, sizeof(rel), "%s/%s/%s", ydir, mdir, leaf);
	if (n < 0 || (size_t)n >= sizeof(rel) || !text_path_plain(rel))
		goto toolong;

	if (confine_root_open(c->root, &rootfd, rooterr, sizeof(rooterr)) ==
	    -1) {
		ctl_errx("add: %s", rooterr);
		goto done;
	}
	if ((yfd = ctl_fs_mkdir_open(rootfd, ydir, &ycreated)) == -1) {
		ctl_err("add: %s/%s", c->root, ydir);
		goto done;
	}
	if ((mfd = ctl_fs_mkdir_open(yfd, mdir, &mcreated)) == -1) {
		ctl_err("add: %s/%s/%s", c->root, ydir, mdir);
		goto done;
	}

	if (c->move) {
		/* Hash by reading, make the data durable, then rename. */
		if (ctl_fs_hash(srcfd, sha, &size) == -1) {
			ctl_err("add: reading %s", src);
			goto done;
		}
		if (fsync(srcfd) == -1) {
			ctl_err("add: fsync %s", src);
			goto done;
		}
		if (lstat(src, &lst) == -1) {
			ctl_err("add: %s", src);
			goto done;
		}
		if (lst.st_dev != st.st_dev || lst.st_ino != st.st_ino) {
			ctl_errx("add: %s: replaced while it was read", src);
			goto done;
		}
		if (renameat(AT_FDCWD, src, mfd, leaf) == 0) {
			placed = 2;
			if (fstat(srcfd, &st) == -1) {
				ctl_err("add: %s", rel);
				goto done;
			}
			if (st.st_size != size) {
				ctl_errx("add: %s: changed while it was "
				    "read", src);
				goto done;
			}
		} else if (errno != EXDEV) {
			ctl_err("add: rename %s to %s/%s", src, c->root, rel);
			goto done;
		} else if (lseek(srcfd, 0, SEEK_SET) == -1) {
			ctl_err("add: %s", src);
			goto done;
		}
		/* EXDEV: another file system; copy, and remove it later. */
	}
	if (placed == 0) {
		tfd = openat(mfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0644);
		if (tfd == -1) {
			ctl_err("add: %s/%s/%s/%s", c->root, ydir, mdir, tmp);
			goto done;
		}
		tmp_made = 1;
		if (ctl_fs_copy(srcfd, tfd, sha, &size) == -1) {
			ctl_err("add: copying %s to %s/%s/%s/%s", src,
			    c->root, ydir, mdir, tmp);
			goto done;
		}
		if (fsync(tfd) == -1) {
			ctl_err("add: fsync %s/%s/%s/%s", c->root, ydir, mdir,
			    tmp);
			goto done;
		}
		n = close(tfd);
		tfd = -1;
		if (n == -1) {
			ctl_err("add: close %s/%s/%s/%s", c->root, ydir, mdir,
			    tmp);
			goto done;
		}
		if (renameat(mfd, tmp, mfd, leaf) == -1) {
			ctl_err("add: rename into %s/%s", c->root, rel);
			goto done;
		}
		tmp_made = 0;
		placed = 1;
	}
	/* The new names: the month's entry, and the directories made. */
	if (fsync(mfd) == -1 || (mcreated && fsync(yfd) == -1) ||
	    (ycreated && fsync(rootfd) == -1)) {
		ctl_err("add: fsync of a directory beneath %s", c->root);
		goto done;
	}

	if (c->token) {
		if (ctl_add_random(token, sizeof(token),
		    CTL_ADD_TOKEN_BYTES) == -1 ||
		    ctl_fs_hex_string(token, token_hex) == -1) {
			ctl_errx("add: cannot make a token");
			goto done;
		}
	}
	if ((url = ctl_add_url(c->url, id, name, c->token ? token :
	    NULL)) == NULL) {
		ctl_err("add: the URL");
		goto done;
	}

	/* Only now the row: the file is complete and in place. */
	if (ctl_db_exec(db, "BEGIN IMMEDIATE") == -1)
		goto done;
	if (sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(ins, 2, rel, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(ins, 3, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(ins, 4, c->content_type != NULL ?
	    c->content_type : CTL_ADD_DEFAULT_TYPE, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(ins, 5, size) != SQLITE_OK ||
	    sqlite3_bind_text(ins, 6, sha, -1, SQLITE_STATIC) != SQLITE_OK ||
	    (c->owner != NULL ? sqlite3_bind_text(ins, 7, c->owner, -1,
	    SQLITE_STATIC) : sqlite3_bind_null(ins, 7)) != SQLITE_OK ||
	    (c->token ? sqlite3_bind_text(ins, 8, token_hex, -1,
	    SQLITE_STATIC) : sqlite3_bind_null(ins, 8)) != SQLITE_OK ||
	    sqlite3_bind_int64(ins, 9, c->now) != SQLITE_OK ||
	    (c->has_expires ? sqlite3_bind_int64(ins, 10, expires_at) :
	    sqlite3_bind_null(ins, 10)) != SQLITE_OK ||
	    (c->has_max_downloads ? sqlite3_bind_int64(ins, 11,
	    c->max_downloads) : sqlite3_bind_null(ins, 11)) != SQLITE_OK) {
		ctl_db_errx(db, "add: bind");
		goto done;
	}
	if (sqlite3_step(ins) != SQLITE_DONE) {
		ctl_db_errx(db, "add: insert");
		goto done;
	}
	if (ctl_db_exec(db, "COMMIT") == -1)
		goto done;
	committed = 1;

	rc = CTL_EXIT_OK;
	if (c->move && placed == 1) {
		if (unlink(src) == -1) {
			ctl_err("add: added as %s, but could not remove %s",
			    id, src);
			rc = CTL_EXIT_FAIL;
		}
	}
	ctl_add_print(c, id, rel, name, size, sha, expires_at, url,
	    c->token ? token : NULL);
	goto done;

toolong:
	ctl_errx("add: a path beneath the root would be too long");
done:
	if (!committed) {
		(void)ctl_db_rollback(db);
		if (tmp_made && unlinkat(mfd, tmp, 0) == -1)
			ctl_err("add: remove %s/%s/%s/%s", c->root, ydir, mdir,
			    tmp);
		if (placed == 1 && unlinkat(mfd, leaf, 0) == -1)
			ctl_err("add: remove %s/%s", c->root, rel);
		if (placed == 2 && renameat(mfd, leaf, AT_FDCWD, src) == -1)
			ctl_err("add: could not move %s/%s back to %s",
			    c->root, rel, src);
	}
	if (c->token)
		sodium_memzero(token, sizeof(token));
	free(url);
	ctl_db_finalize(ins);
	ctl_db_close(db);
	if (tfd != -1)
		close(tfd);
	if (mfd != -1)
		close(mfd);
	if (yfd != -1)
		close(yfd);
	if (rootfd != -1)
		close(rootfd);
	if (srcfd != -1)
		close(srcfd);
	return (rc);
}
