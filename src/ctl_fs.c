/*
 * ctl_fs: sluicectl's files beneath the export root.
 *
 * A file_path comes from a database row, so it is treated like input: it
 * must be a plain relative path (text_path_plain), and it is opened by
 * confine, the same openat2 rule sluice serves files by, so neither an
 * absolute path, "..", nor a symlink anywhere on the way can leave the
 * root.
 *
 * Memory: one CTL_FS_BUF_SIZE buffer per copy or hash, freed before
 * returning; nothing grows with the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "confine.h"
#include "ctl_fs.h"
#include "ctl_progress.h"

_Static_assert(sizeof(off_t) == 8, "build with -D_FILE_OFFSET_BITS=64");
_Static_assert(CTL_FS_HASH_SIZE == crypto_hash_sha256_BYTES, "SHA-256");

/*
 * Remove path (a plain relative path) beneath rootfd. The directories on
 * the way are resolved by confine; the last component is unlinked, never
 * followed: a symlink there is removed itself, not its target; a
 * directory is refused (EISDIR). Returns 0, or -1 with errno set.
 */
int
ctl_fs_unlink_beneath(int rootfd, const char *path)
{
	const char *leaf;
	int	 dfd, rc, saved;

	if ((dfd = confine_parent_open(rootfd, path, &leaf)) == -1)
		return (-1);
	rc = unlinkat(dfd, leaf, 0);
	saved = errno;
	close(dfd);
	errno = saved;
	return (rc);
}

/*
 * Open directory name in dirfd, creating it (mode 0755 less the umask)
 * when missing; *created says whether it was. A symlink is refused.
 * Returns the descriptor, or -1 with errno set.
 */
int
ctl_fs_mkdir_open(int dirfd, const char *name, int *created)
{
	*created = 0;
	if (mkdirat(dirfd, name, 0755) == 0)
		*created = 1;
	else if (errno != EEXIST)
		return (-1);
	return (openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC));
}

/*
 * Create directory path and its missing parents, like mkdir -p; *created
 * says whether the last one was made. Returns 0, or -1 with errno set
 * (ENOTDIR when path exists and is not a directory).
 */
int
ctl_fs_mkdir_p(const char *path, int *created)
{
	struct stat	 st;
	char		*buf, *p;
	int		 rc = -1, saved;

	*created = 0;
	if ((buf = strdup(path)) == NULL)
		return (-1);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			goto done;
		*p = '/';
	}
	if (mkdir(buf, 0755) == 0)
		*created = 1;
	else if (errno != EEXIST)
		goto done;
	if (stat(path, &st) == -1)
		goto done;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		goto done;
	}
	rc = 0;
done:
	saved = errno;
	free(buf);
	errno = saved;
	return (rc);
}

/* Write all of buf[0..len) to fd. Returns 0, or -1 with errno set. */
static int
ctl_fs_write_all(int fd, const unsigned char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

/*
 * Read src from its current offset to the end, feeding SHA-256, and, when
 * dst != -1, write every byte to dst: one pass over the data. On success
 * hex holds the lowercase hex digest and *size the byte count. Each
 * chunk advances pr (NULL: no bar). Returns 0, or -1 with errno set.
 */
int
ctl_fs_copy(int src, int dst, char hex[CTL_FS_HEX_SIZE], int64_t *size,
    struct ctl_progress *pr)
{
	crypto_hash_sha256_state	 h;
	unsigned char			 md[CTL_FS_HASH_SIZE];
	unsigned char			*buf;
	ssize_t				 n;
	int64_t				 total = 0;
	int				 rc = -1, saved;

	if ((buf = malloc(CTL_FS_BUF_SIZE)) == NULL)
		return (-1);
	if (crypto_hash_sha256_init(&h) != 0) {
		errno = EIO;
		goto done;
	}
	for (;;) {
		if ((n = read(src, buf, CTL_FS_BUF_SIZE)) == -1) {
			if (errno == EINTR)
				continue;
			goto done;
		}
		if (n == 0)
			break;
		if (crypto_hash_sha256_update(&h, buf,
		    (unsigned long long)n) != 0) {
			errno = EIO;
			goto done;
		}
		if (dst != -1 && ctl_fs_write_all(dst, buf, (size_t)n) == -1)
			goto done;
		total += n;
		ctl_progress_add(pr, n);
	}
	if (crypto_hash_sha256_final(&h, md) != 0) {
		errno = EIO;
		goto done;
	}
	sodium_bin2hex(hex, CTL_FS_HEX_SIZE, md, sizeof(md));
	*size = total;
	rc = 0;
done:
	saved = errno;
	free(buf);
	errno = saved;
	return (rc);
}

/* SHA-256 of fd from its current offset to the end; see ctl_fs_copy. */
int
ctl_fs_hash(int fd, char hex[CTL_FS_HEX_SIZE], int64_t *size,
    struct ctl_progress *pr)
{
	return (ctl_fs_copy(fd, -1, hex, size, pr));
}

/* Lowercase hex SHA-256 of the bytes of s (no terminator). Returns 0/-1. */
int
ctl_fs_hex_string(const char *s, char hex[CTL_FS_HEX_SIZE])
{
	unsigned char	 md[CTL_FS_HASH_SIZE];

	if (crypto_hash_sha256(md, (const unsigned char *)s,
	    (unsigned long long)strlen(s)) != 0)
		return (-1);
	sodium_bin2hex(hex, CTL_FS_HEX_SIZE, md, sizeof(md));
	return (0);
}
