/*
 * bare: the benchmarks' baseline. A libfcgi responder that answers every
 * request with the same file, read into memory once at startup: no lookup,
 * no policy, no audit, three headers. Its body goes out the way sluice
 * sends one (full-size FCGI_STDOUT records through src/fcgi_out.c), so
 * sluice's requests per second over bare's show what the rest costs.
 *
 * Usage, under spawn-fcgi (the listening socket is fd 0):
 *	spawn-fcgi -s SOCK -F 2 -- build/bench/bare --file PATH [--threads N]
 * Every failure at startup is one line on stderr and exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "fcgi_out.h"

#define BARE_FILE_MAX		(16 * 1024 * 1024)	/* bytes, in memory */
#define BARE_THREADS_DEFAULT	8			/* as sluice's --threads */
#define BARE_THREADS_MAX	256
#define BARE_HEADERS_SIZE	128

/* Read-only once the threads start. */
struct bare {
	unsigned char	*body;
	size_t		 len;
	char		 hdr[BARE_HEADERS_SIZE];
	size_t		 hdrlen;
};

static void
bare_usage(void)
{
	fprintf(stderr, "usage: bare --file PATH [--threads N]\n");
	exit(1);
}

static void
bare_fatal(const char *what, const char *path)
{
	fprintf(stderr, "bare: %s%s%s: %s\n", what, path != NULL ? " " : "",
	    path != NULL ? path : "", strerror(errno));
	exit(1);
}

/* The whole file into b->body, and the header block for it. */
static void
bare_load(struct bare *b, const char *path)
{
	struct stat	 st;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd, len;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		bare_fatal("open", path);
	if (fstat(fd, &st) == -1)
		bare_fatal("fstat", path);
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "bare: %s: not a regular file\n", path);
		exit(1);
	}
	if (st.st_size > BARE_FILE_MAX) {
		fprintf(stderr, "bare: %s: %lld bytes, more than the %d this "
		    "benchmark holds in memory\n", path,
		    (long long)st.st_size, BARE_FILE_MAX);
		exit(1);
	}
	b->len = (size_t)st.st_size;
	/* One spare byte: malloc(0) may return NULL. */
	if ((b->body = malloc(b->len + 1)) == NULL)
		bare_fatal("malloc", NULL);
	while (got < b->len) {
		if ((n = read(fd, b->body + got, b->len - got)) == -1) {
			if (errno == EINTR)
				continue;
			bare_fatal("read", path);
		}
		if (n == 0) {
			fprintf(stderr, "bare: %s: shrank while read\n", path);
			exit(1);
		}
		got += (size_t)n;
	}
	if (close(fd) == -1)
		bare_fatal("close", path);
	len = snprintf(b->hdr, sizeof(b->hdr), "Status: 200\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Length: %zu\r\n\r\n", b->len);
	if (len < 0 || (size_t)len >= sizeof(b->hdr)) {
		fprintf(stderr, "bare: header block too long\n");
		exit(1);
	}
	b->hdrlen = (size_t)len;
}

/*
 * The header block and the body as full-size FCGI_STDOUT records, the
 * way sluice frames them (fcgi_out_put), on libfcgi's blocking socket.
 * Returns 0, or -1 if the web server went away.
 */
static int
bare_send(int fd, int request_id, const struct bare *b)
{
	struct fcgi_out_state st;
	struct iovec	 src[2];
	size_t		 taken, off = 0, total = b->hdrlen + b->len;
	int		 rc;

	fcgi_out_start(&st, request_id);
	while (off < total) {
		src[0].iov_base = (void *)(uintptr_t)(off < b->hdrlen ?
		    b->hdr + off : "");
		src[0].iov_len = off < b->hdrlen ? b->hdrlen - off : 0;
		src[1].iov_base = b->body + (off > b->hdrlen ?
		    off - b->hdrlen : 0);
		src[1].iov_len = b->len - (off > b->hdrlen ? off - b->hdrlen :
		    0);
		rc = fcgi_out_put(fd, &st, src, 2, 0, &taken);
		if (rc == FCGI_OUT_ERROR)
			return (-1);
		off += taken;
	}
	return (0);
}

/*
 * A request thread: accept, answer, finish, until accept fails for good.
 * A failed send drops the connection without END_REQUEST, as sluice does.
 */
static void *
bare_thread(void *arg)
{
	const struct bare *b = arg;
	FCGX_Request	 req;
	int		 rc, fd;

	if (FCGX_InitRequest(&req, 0, 0) != 0) {
		fprintf(stderr, "bare: FCGX_InitRequest failed\n");
		exit(1);
	}
	for (;;) {
		if ((rc = FCGX_Accept_r(&req)) < 0) {
			if (rc == -EINTR)
				continue;
			fprintf(stderr, "bare: accept: %s\n", strerror(-rc));
			exit(1);
		}
		if (bare_send(req.ipcFd, req.requestId, b) == -1) {
			fd = req.ipcFd;
			FCGX_Free(&req, 0);
			if (fd != -1)
				(void)close(fd);
			req.ipcFd = -1;
			continue;
		}
		FCGX_Finish_r(&req);
	}
	return (NULL);
}

int
main(int argc, char *argv[])
{
	static struct bare b;
	pthread_t	*tids;
	const char	*path = NULL;
	char		*end;
	socklen_t	 tlen = sizeof(int);
	long		 nthreads = BARE_THREADS_DEFAULT, i;
	int		 err, type;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
			errno = 0;
			nthreads = strtol(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || nthreads < 1 ||
			    nthreads > BARE_THREADS_MAX) {
				fprintf(stderr, "bare: --threads: 1 to %d\n",
				    BARE_THREADS_MAX);
				exit(1);
			}
		} else
			bare_usage();
	}
	if (path == NULL)
		bare_usage();
	bare_load(&b, path);
	if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1)
		bare_fatal("fd 0 is not the listening socket (run it under "
		    "spawn-fcgi)", NULL);
	if (FCGX_Init() != 0) {
		fprintf(stderr, "bare: FCGX_Init failed\n");
		exit(1);
	}
	/* libfcgi made SIGTERM "shutdown pending"; bare holds no state. */
	if (signal(SIGTERM, SIG_DFL) == SIG_ERR)
		bare_fatal("signal", NULL);
	if ((tids = calloc((size_t)nthreads, sizeof(*tids))) == NULL)
		bare_fatal("calloc", NULL);
	for (i = 0; i < nthreads; i++)
		if ((err = pthread_create(&tids[i], NULL, bare_thread, &b)) !=
		    0) {
			errno = err;
			bare_fatal("pthread_create", NULL);
		}
	for (i = 0; i < nthreads; i++)
		if ((err = pthread_join(tids[i], NULL)) != 0) {
			errno = err;
			bare_fatal("pthread_join", NULL);
		}
	return (0);
}
