/*
 * An environment and a command line from a fuzzer's bytes, for the
 * targets of the two option parsers (fuzz_config, fuzz_ctl_opt). Static
 * functions: each target is one program of its own.
 *
 * Input: byte 0's low 2 bits say how many of the NUL-separated pieces
 * after it are environment variables (up to 3); each of those is one byte
 * choosing the name from the target's list, then the value. The pieces
 * left are argv[1..]; argv[0] is the program's name. An input that ends
 * in a NUL has an empty last argument.
 */
#ifndef SLUICE_FUZZ_ARGV_H
#define SLUICE_FUZZ_ARGV_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ARGV_MAX	64
#define FUZZ_ARGV_BYTES	8192	/* longer inputs are cut */

struct fuzz_argv {
	int	 argc;
	char	*argv[FUZZ_ARGV_MAX + 2];
	char	 buf[FUZZ_ARGV_BYTES + 1];
};

/* Remove every SLUICE_* variable, so that only the input's count. */
static void
fuzz_env_clear(void)
{
	extern char	**environ;
	char		 name[256];
	size_t		 i, len;

	for (i = 0; environ != NULL && environ[i] != NULL;) {
		len = strcspn(environ[i], "=");
		if (strncmp(environ[i], "SLUICE_", 7) == 0 &&
		    len < sizeof(name)) {
			memcpy(name, environ[i], len);
			name[len] = '\0';
			unsetenv(name);
			continue;	/* environ moved down */
		}
		i++;
	}
}

/*
 * Decode data into a->argv (the strings in a->buf) after setting the
 * input's environment variables, named from names[0..nnames). The caller
 * runs fuzz_env_clear afterwards.
 */
static void
fuzz_argv_decode(struct fuzz_argv *a, const uint8_t *data, size_t size,
    const char *prog, const char *const *names, size_t nnames)
{
	size_t	 n, off, end, nenv;

	a->argc = 0;
	a->argv[a->argc++] = (char *)(uintptr_t)prog;
	if (size == 0) {
		a->argv[a->argc] = NULL;
		return;
	}
	nenv = data[0] & 3u;
	n = size - 1 < FUZZ_ARGV_BYTES ? size - 1 : FUZZ_ARGV_BYTES;
	memcpy(a->buf, data + 1, n);
	a->buf[n] = '\0';
	for (off = 0; n > 0 && off <= n && a->argc <= FUZZ_ARGV_MAX;
	    off = end + 1) {
		end = off + strlen(a->buf + off);
		if (nenv > 0) {
			nenv--;
			if (end > off && nnames > 0)
				setenv(names[(unsigned char)a->buf[off] %
				    nnames], a->buf + off + 1, 1);
			continue;
		}
		a->argv[a->argc++] = a->buf + off;
	}
	a->argv[a->argc] = NULL;
}

#endif
