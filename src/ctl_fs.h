/*
 * ctl_fs: sluicectl's files beneath the export root. Paths from the jobs
 * database are checked (text_path_plain) and opened by confine, never
 * following a symlink, so a job row can never make sluicectl read, hash or
 * delete anything outside the root. Also the copy-and-hash loop and
 * SHA-256 helpers.
 */
#ifndef SLUICE_CTL_FS_H
#define SLUICE_CTL_FS_H

#include <stdint.h>

#define CTL_FS_HASH_SIZE	32	/* SHA-256 */
#define CTL_FS_HEX_SIZE		65	/* lowercase hex + NUL */
#define CTL_FS_BUF_SIZE		(256 * 1024)	/* bytes per read */

struct ctl_progress;

int	 ctl_fs_unlink_beneath(int rootfd, const char *path);
int	 ctl_fs_mkdir_open(int dirfd, const char *name, int *created);
int	 ctl_fs_hash(int fd, char hex[CTL_FS_HEX_SIZE], int64_t *size,
	    struct ctl_progress *);
int	 ctl_fs_copy(int src, int dst, char hex[CTL_FS_HEX_SIZE],
	    int64_t *size, struct ctl_progress *);
int	 ctl_fs_hex_string(const char *s, char hex[CTL_FS_HEX_SIZE]);
int	 ctl_fs_mkdir_p(const char *path, int *created);

#endif
