/*
 * A main() for a fuzz target built without libFuzzer (make coverage):
 * feeds each file named on the command line, or each file of each
 * directory named, to LLVMFuzzerTestOneInput once, as libFuzzer does when
 * given files. A failed property still aborts.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX	(1 << 20)	/* larger inputs are cut, as -max_len */

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	 LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

static uint8_t	 replay_buf[REPLAY_MAX];

/* Feed one file; returns 0, or -1 when it cannot be read. */
static int
replay_file(const char *path)
{
	FILE	*f;
	size_t	 n;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return (-1);
	}
	n = fread(replay_buf, 1, sizeof(replay_buf), f);
	fclose(f);
	/* A copy of exactly n bytes, so that ASan sees a read past it. */
	{
		uint8_t	*copy = malloc(n > 0 ? n : 1);

		if (copy == NULL)
			return (-1);
		memcpy(copy, replay_buf, n);
		LLVMFuzzerTestOneInput(copy, n);
		free(copy);
	}
	return (0);
}

/* A file, or every regular file in a directory (not recursive). */
static int
replay_path(const char *path, size_t *count)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 p[4096];
	int		 rc = 0;

	if (stat(path, &st) == -1) {
		perror(path);
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return (replay_file(path));
	}
	if ((d = opendir(path)) == NULL) {
		perror(path);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", path, de->d_name) >=
		    (int)sizeof(p) || stat(p, &st) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		(*count)++;
		if (replay_file(p) == -1)
			rc = -1;
	}
	closedir(d);
	return (rc);
}

int
main(int argc, char **argv)
{
	size_t	 count = 0;
	int	 i, rc = 0;

	if (LLVMFuzzerInitialize != NULL &&
	    LLVMFuzzerInitialize(&argc, &argv) != 0)
		return (1);
	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) == -1)
			rc = 1;
	fprintf(stderr, "%s: %zu inputs\n", argv[0], count);
	return (rc);
}
