/*
 * ctl_fs: sluicectl's files beneath the export root.
 *
 * A file_path comes from a database row, so it is treated like input: it
 * must be relative, with no empty, "." or ".." component, and it is walked
 * one directory at a time from a descriptor of the root with O_NOFOLLOW,
 * so neither an absolute path, "..", nor a symlink anywhere on the way can
 * leave the root. That matches what sluice itself does with openat2
 * (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), without needing Linux 5.6.
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

#include "ctl_fs.h"
#include "job.h"

_Static_assert(sizeof(off_t) == 8, "build with -D_FILE_OFFSET_BITS=64");
_Static_assert(CTL_FS_HASH_SIZE == crypto_hash_sha256_BYTES, "SHA-256");

/*
 * Returns 1 when path may name a file beneath the root: not empty, not
 * absolute, at most JOB_PATH_MAX bytes, and no empty, "." or ".."
 * component (so no trailing '/' either). Else 0.
 */
int
ctl_fs_path_ok(const char *path)
{
	const char *p = path, *slash;
	size_t	 n;

	if (*path == '\0' || *path == '/' || strlen(path) > JOB_PATH_MAX)
		return (0);
	for (;;) {
		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return (0);
		if (slash == NULL)
			return (1);
		p = slash + 1;
	}
}

/* The export root as a directory descriptor, or -1 with errno set. */
int
ctl_fs_open_root(const char *root)
{
	return (open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

/*
 * Open the directory that holds path (checked with ctl_fs_path_ok), one
 * component at a time beneath rootfd, refusing symlinks (ELOOP or
 * ENOTDIR). On success *leaf points at the last component inside path and
 * the caller closes the returned descriptor. Returns -1 with errno set.
 */
int
ctl_fs_open_parent(int rootfd, const char *path, const char **leaf)
{
	const char *p = path, *slash;
	char	 comp[JOB_PATH_MAX + 1];
	int	 fd, nfd;
	size_t	 n;

	if (!ctl_fs_path_ok(path)) {
		errno = EINVAL;
		return (-1);
	}
	if ((fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0)) == -1)
		return (-1);
	while ((slash = strchr(p, '/')) != NULL) {
		n = (size_t)(slash - p);	/* < sizeof(comp): path_ok */
		memcpy(comp, p, n);
		comp[n] = '\0';
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (nfd == -1) {
			int saved = errno;

			close(fd);
			errno = saved;
			return (-1);
		}
		close(fd);
		fd = nfd;
		p = slash + 1;
	}
	*leaf = p;
	return (fd);
}

/*
 * Open path beneath rootfd for reading without following any symlink (a
 * symlink gives ELOOP). O_NONBLOCK keeps a planted FIFO from hanging us;
 * the caller checks the type with fstat. Returns the descriptor, or -1
 * with errno set.
 */
int
ctl_fs_open_beneath(int rootfd, const char *path)
{
	const char *leaf;
	int	 dfd, fd, saved;

	if ((dfd = ctl_fs_open_parent(rootfd, path, &leaf)) == -1)
		return (-1);
	fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);
	saved = errno;
	close(dfd);
	errno = saved;
	return (fd);
}

/*
 * Remove path beneath rootfd. The last component is unlinked, never
 * followed: a symlink there is removed itself, not its target; a
 * directory is refused (EISDIR). Returns 0, or -1 with errno set.
 */
int
ctl_fs_unlink_beneath(int rootfd, const char *path)
{
	const char *leaf;
	int	 dfd, rc, saved;

	if ((dfd = ctl_fs_open_parent(rootfd, path, &leaf)) == -1)
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
 * hex holds the lowercase hex digest and *size the byte count. Returns 0,
 * or -1 with errno set.
 */
int
ctl_fs_copy(int src, int dst, char hex[CTL_FS_HEX_SIZE], int64_t *size)
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
ctl_fs_hash(int fd, char hex[CTL_FS_HEX_SIZE], int64_t *size)
{
	return (ctl_fs_copy(fd, -1, hex, size));
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
