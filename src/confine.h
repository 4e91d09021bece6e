/*
 * confine: what "beneath the export root" means, once, for sluice (which
 * serves files) and sluicectl (which hashes, checks and removes them).
 * Every path is resolved by openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
 * from a descriptor of the root: no absolute path, no "..", no symlink.
 */
#ifndef SLUICE_CONFINE_H
#define SLUICE_CONFINE_H

#include <stddef.h>

struct stat;

/* What confine_file_open found; errno is kept where one applies. */
enum confine_result {
	CONFINE_OK = 0,
	CONFINE_ABSOLUTE,	/* empty or absolute: never resolved */
	CONFINE_ESCAPE,		/* EXDEV: the path leaves the root */
	CONFINE_SYMLINK,	/* ELOOP: a symlink on the way */
	CONFINE_MISSING,	/* ENOENT, or ENOTDIR on the way */
	CONFINE_OPEN_FAILED,	/* another open error: errno */
	CONFINE_FSTAT_FAILED,	/* errno */
	CONFINE_NOT_REGULAR	/* *st says what it is */
};

#define CONFINE_OPEN_RETRIES	3	/* openat2 EAGAIN: a racing rename */
#define CONFINE_ERR_SIZE	512	/* for confine_root_open's sentence */

int	 confine_root_open(const char *root, int *rootfd, char *err,
	    size_t errsz);
int	 confine_open(int rootfd, const char *path, int flags);
enum confine_result confine_file_open(int rootfd, const char *path, int *fd,
	    struct stat *st);
int	 confine_parent_open(int rootfd, const char *path, const char **leaf);

#endif
