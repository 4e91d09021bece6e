/*
 * confine: opening files beneath the export root, for both binaries.
 *
 * A file_path comes from a database row, so it is treated like input. It
 * is resolved by openat2 relative to a descriptor of the root with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, so neither
 * "../", an absolute path, nor a symlink anywhere on the way can leave the
 * root (O_NOFOLLOW alone lets "../" and directory symlinks escape). Files
 * are opened with O_NONBLOCK, so a planted FIFO cannot hang the caller,
 * and checked with fstat on the descriptor, never the path. Debian 12's
 * glibc has no openat2 wrapper: the system call is made directly, and
 * confine_root_open checks at startup that the kernel (>= 5.6) has it.
 *
 * Owns no memory; the caller closes every descriptor returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine.h"
#include "fault.h"
#include "text.h"

/*
 * Open path beneath rootfd with flags (O_* of open(2)), refusing escapes
 * (EXDEV) and symlinks (ELOOP). Retries EINTR, and EAGAIN (a rename racing
 * the lookup) a few times. Returns the descriptor, or -1 with errno set.
 */
int
confine_open(int rootfd, const char *path, int flags)
{
	struct open_how	 how;
	int		 fd, tries = 0;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)flags;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	do {
		fd = FAULT(FAULT_OPENAT2) ? (int)fault_fail(EIO) :
		    (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	} while (fd == -1 && (errno == EINTR ||
	    (errno == EAGAIN && ++tries < CONFINE_OPEN_RETRIES)));
	return (fd);
}

/*
 * Open the export root and check that openat2 confinement works here.
 * Startup only. Returns 0 with *rootfd set, or -1 with a sentence in err.
 */
int
confine_root_open(const char *root, int *rootfd, char *err, size_t errsz)
{
	struct stat	 st;
	int		 fd, probe;

	*rootfd = -1;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errsz, "export root %s: %s%s", root,
		    strerror(errno), errno == ENOTDIR ?
		    " (--root must be a directory)" : "");
		return (-1);
	}
	if (fstat(fd, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "export root %s is not a directory", root);
		close(fd);
		return (-1);
	}
	probe = confine_open(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (probe == -1) {
		snprintf(err, errsz, "openat2 on %s: %s (sluice needs Linux "
		    ">= 5.6 to confine files beneath the root)", root,
		    strerror(errno));
		close(fd);
		return (-1);
	}
	close(probe);
	*rootfd = fd;
	return (0);
}

/*
 * Open path beneath rootfd for reading, as a regular file: O_NONBLOCK,
 * O_NOCTTY, then fstat. On CONFINE_OK, *fd is open (the caller closes it)
 * and *st describes it. Otherwise *fd is -1 and the result says why, with
 * errno kept for the open and fstat failures; on CONFINE_NOT_REGULAR *st
 * holds the type. An empty or absolute path is refused before any lookup.
 */
enum confine_result
confine_file_open(int rootfd, const char *path, int *fd, struct stat *st)
{
	int	 saved;

	*fd = -1;
	if (path[0] == '\0' || path[0] == '/')
		return (CONFINE_ABSOLUTE);
	*fd = confine_open(rootfd, path,
	    O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (*fd == -1) {
		switch (errno) {
		case EXDEV:
			return (CONFINE_ESCAPE);
		case ELOOP:
			return (CONFINE_SYMLINK);
		case ENOENT:
		case ENOTDIR:
			return (CONFINE_MISSING);
		default:
			return (CONFINE_OPEN_FAILED);
		}
	}
	if (fstat(*fd, st) == -1) {
		saved = errno;
		close(*fd);
		*fd = -1;
		errno = saved;
		return (CONFINE_FSTAT_FAILED);
	}
	if (!S_ISREG(st->st_mode)) {
		close(*fd);
		*fd = -1;
		return (CONFINE_NOT_REGULAR);
	}
	return (CONFINE_OK);
}

/*
 * Open the directory that holds path (a plain relative path, see
 * text_path_plain) beneath rootfd. On success *leaf points at the last
 * component inside path and the caller closes the returned descriptor; the
 * leaf itself is not looked at, so a symlink there can be removed, never
 * followed. Returns -1 with errno set (EINVAL for a path that is not
 * plain, ELOOP for a symlink on the way).
 */
int
confine_parent_open(int rootfd, const char *path, const char **leaf)
{
	char		 dir[TEXT_PATH_MAX + 1];
	const char	*slash;
	size_t		 n;

	if (!text_path_plain(path)) {
		errno = EINVAL;
		return (-1);
	}
	if ((slash = strrchr(path, '/')) == NULL) {
		*leaf = path;
		return (fcntl(rootfd, F_DUPFD_CLOEXEC, 0));
	}
	n = (size_t)(slash - path);	/* < sizeof(dir): text_path_plain */
	memcpy(dir, path, n);
	dir[n] = '\0';
	*leaf = slash + 1;
	return (confine_open(rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}
