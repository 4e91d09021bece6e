/*
 * naive: the incident as a FastCGI responder, for the benchmark's memory
 * curve only.
 *
 * For every request it opens the one file named by --file, reads ALL of it
 * into one malloc'd buffer, and only then writes it out: the way the Go
 * handler of the incident held a whole 2.6 GB body in memory. Its peak
 * resident set therefore grows with the download, which is the curve that
 * bench/run.sh draws next to sluice's flat one.
 *
 * Why a separate program and not a -D flag in sluice: a bench-only build of
 * sluice would mean an #ifdef in src/stream.c, the one loop that must stay
 * obviously bounded, and a second set of objects that could end up in an
 * install by mistake. This file is built only by `make bench` and
 * `make bench-quick` (build/bench/naive), is not in SRCS, and looks nothing
 * up: it answers every request, whatever the URI, 200 with the file. It
 * serves one request at a time (no threads): enough for one download at a
 * time, and its memory is then the one body it holds.
 *
 * Usage (under spawn-fcgi, socket on fd 0):  naive --file PATH
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>

_Static_assert(sizeof(off_t) == 8, "build with -D_FILE_OFFSET_BITS=64");

/* FCGX_PutStr takes an int: write the buffer in pieces this large. */
#define NAIVE_PUT_MAX	(1 << 30)

/*
 * Read all of path into a new buffer. Returns the buffer (the caller frees
 * it) with *lenp set, or NULL with errno set.
 */
static char *
naive_slurp(const char *path, size_t *lenp)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len, got = 0;
	ssize_t		 n;
	int		 fd = -1, saved;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		goto fail;
	len = (size_t)st.st_size;
	/* malloc(0) may return NULL: ask for at least one byte. */
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		goto fail;
	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* the file shrank */
			goto fail;
		}
		got += (size_t)n;
	}
	close(fd);
	*lenp = len;
	return (buf);
fail:
	saved = errno;
	free(buf);
	if (fd != -1)
		close(fd);
	errno = saved;
	return (NULL);
}

/* One request: 200 with the whole file, or a 500 if it cannot be read. */
static void
naive_serve(FCGX_Request *req, const char *path)
{
	char	 head[256], *buf;
	size_t	 len, off, n;
	int	 hl;

	if ((buf = naive_slurp(path, &len)) == NULL) {
		FCGX_FPrintF(req->out, "Status: 500 Internal Server Error\r\n"
		    "Content-Type: text/plain\r\n\r\n%s: %s\n", path,
		    strerror(errno));
		return;
	}
	/* snprintf, not FCGX_FPrintF: libfcgi's own printf knows no %zu. */
	hl = snprintf(head, sizeof(head), "Status: 200 OK\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Length: %zu\r\n"
	    "X-Accel-Buffering: no\r\n\r\n", len);
	if (hl < 0 || (size_t)hl >= sizeof(head)) {
		free(buf);
		return;
	}
	FCGX_PutStr(head, hl, req->out);
	for (off = 0; off < len && FCGX_GetError(req->out) == 0; off += n) {
		n = len - off < NAIVE_PUT_MAX ? len - off : NAIVE_PUT_MAX;
		if (FCGX_PutStr(buf + off, (int)n, req->out) != (int)n)
			break;
	}
	free(buf);
}

int
main(int argc, char *argv[])
{
	FCGX_Request	 req;
	const char	*path = NULL;

	if (argc == 3 && strcmp(argv[1], "--file") == 0)
		path = argv[2];
	if (path == NULL) {
		fprintf(stderr, "usage: naive --file PATH\n");
		return (2);
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0) {
		fprintf(stderr, "naive: FCGX_Init failed\n");
		return (1);
	}
	while (FCGX_Accept_r(&req) >= 0) {
		naive_serve(&req, path);
		FCGX_Finish_r(&req);
	}
	return (0);
}
