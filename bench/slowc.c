/*
 * slowc: N slow downloads at once, for the slow-clients section of the
 * benchmark (bench/slow.sh). Built by `make bench` only, never into
 * build/sluice.
 *
 * Each download is one HTTP/1.1 GET with `Connection: close` to
 * 127.0.0.1 (loopback only), on a non-blocking socket driven by one epoll
 * loop. It reads at a steady rate R measured from its first response
 * byte: at time t after that byte it has read at most R*t bytes, a real
 * slow link. (curl --limit-rate reads as fast as it may after a wait, so
 * a download that waited a minute for its first byte would catch up and
 * hide the wait.) The first byte is seen with MSG_PEEK, so that even the
 * first read obeys the cap. The socket's receive buffer is kept small
 * (SO_RCVBUF, set before connect) so that the kernel cannot absorb the
 * file on the client's behalf, and the segment size is an Ethernet link's
 * (TCP_MAXSEG, -m, default 1448): loopback's 64 KiB MSS would let the
 * server's send buffer, which Linux sizes from the MSS and the congestion
 * window, grow past a megabyte per download and absorb a small file on
 * the server's side, which no real slow link does.
 *
 * Per download: the status, the time to first byte (from the start of
 * connect to the first response byte), the total time, the body's bytes
 * and its SHA-256 (computed as it arrives, body only), compared with the
 * digest given on the command line. At the end it prints ONE line of
 * key=value pairs (see slowc_report) and exits 0 if every download
 * completed (2xx, full length, byte-exact), 1 if any did not, 2 on a
 * usage or startup error. It never waits past --timeout.
 *
 * Expected workload: up to a few thousand connections, each a few reads a
 * second; one thread, no allocation after startup.
 *
 * Usage: slowc -n N -r BYTES_PER_S -s SHA256_HEX [-l LENGTH] [-t TIMEOUT]
 *            [-R RAMP_S] [-b RCVBUF] [-m MSS] http://127.0.0.1:PORT/PATH
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

_Static_assert(sizeof(off_t) == 8, "build with -D_FILE_OFFSET_BITS=64");

#define SLOWC_N_MAX	  100000
#define SLOWC_HDR_MAX	  4096	/* a response's header block */
#define SLOWC_BUF	  65536	/* the one read buffer, shared */
#define SLOWC_QUANTUM_MAX 16384 /* largest read a paused download awaits */
#define SLOWC_QUANTA	  8	/* ... and at least this many reads/s */
#define SLOWC_TICK	  0.005 /* seconds between scans of the paused */
#define SLOWC_EVENTS	  256
#define SLOWC_REQ_MAX	  1024
#define SLOWC_PATH_MAX	  512
#define SLOWC_STATUS_MAX  600

enum slowc_state {
	SLOWC_WAIT,	/* not started (the ramp) */
	SLOWC_CONNECT,	/* connect in progress, request not all sent */
	SLOWC_RECV,	/* reading the response */
	SLOWC_DONE
};

/* How a download ended; SLOWC_OK only if complete and byte-exact. */
enum slowc_end {
	SLOWC_OK,
	SLOWC_E5XX,	/* a 5xx status */
	SLOWC_ESTATUS,	/* any other status that is not 2xx */
	SLOWC_ESHORT,	/* closed or reset before the whole body */
	SLOWC_EDIGEST,	/* the whole length, but other bytes */
	SLOWC_ECONNECT, /* socket, connect or sending the request failed */
	SLOWC_ETIMEOUT, /* still running at --timeout */
	SLOWC_EPROTO,	/* no parsable header block, or chunked */
	SLOWC_NEND
};

static const char *const slowc_end_name[SLOWC_NEND] = {
	"completed", "e5xx", "estatus", "eshort", "edigest", "econnect",
	"etimeout", "eproto"
};

struct slowc_conn {
	int			  fd;
	enum slowc_state	  state;
	enum slowc_end		  end;
	bool			  paused; /* waiting for its allowance */
	bool			  head_done;
	int			  status;
	size_t			  sent;	  /* request bytes sent */
	size_t			  hlen;
	int64_t			  clen;	  /* Content-Length or -1 */
	int64_t			  got;	  /* every byte read */
	int64_t			  body;
	double			  t_start, t_first, t_end, wake;
	crypto_hash_sha256_state  sha;
	char			  hdr[SLOWC_HDR_MAX];
};

struct slowc_opts {
	long		 n;
	double		 rate;	   /* bytes/s */
	double		 timeout;  /* seconds, whole run */
	double		 ramp;	   /* seconds to start them all over */
	int		 rcvbuf;
	int		 mss;	   /* 0: the kernel's */
	int64_t		 length;   /* expected body length, or -1 */
	char		 digest[crypto_hash_sha256_BYTES * 2 + 1];
	unsigned short	 port;
	char		 path[SLOWC_PATH_MAX];
};

struct slowc {
	struct slowc_opts	 o;
	struct slowc_conn	*c;
	struct sockaddr_in	 sa;
	int			 ep;
	long			 started, active;
	double			 t0, quantum;
	char			 req[SLOWC_REQ_MAX];
	size_t			 reqlen;
	unsigned char		 buf[SLOWC_BUF];
};

static void slowc_pump(struct slowc *, struct slowc_conn *, double);

static double
slowc_now(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer (POSIX). */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void
slowc_usage(void)
{
	fprintf(stderr, "usage: slowc -n N -r BYTES_PER_S -s SHA256_HEX "
	    "[-l LENGTH] [-t TIMEOUT_S]\n"
	    "             [-R RAMP_S] [-b RCVBUF] [-m MSS] "
	    "http://127.0.0.1:PORT/PATH\n");
	exit(2);
}

static void
slowc_die(const char *what)
{
	fprintf(stderr, "slowc: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* A number in [lo, hi] or usage. */
static double
slowc_num(const char *s, double lo, double hi)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, "slowc: bad number: %s\n", s);
		slowc_usage();
	}
	return (v);
}

/* Only http://127.0.0.1:PORT/PATH: this client is for loopback only. */
static void
slowc_parse_url(struct slowc_opts *o, const char *url)
{
	static const char	 pfx[] = "http://127.0.0.1:";
	const char		*p;
	char			*end;
	long			 port;
	int			 n;

	if (strncmp(url, pfx, sizeof(pfx) - 1) != 0)
		goto bad;
	p = url + sizeof(pfx) - 1;
	errno = 0;
	port = strtol(p, &end, 10);
	if (errno != 0 || end == p || *end != '/' || port < 1 || port > 65535)
		goto bad;
	o->port = (unsigned short)port;
	n = snprintf(o->path, sizeof(o->path), "%s", end);
	if (n < 0 || (size_t)n >= sizeof(o->path) ||
	    strpbrk(o->path, " \r\n") != NULL)
		goto bad;
	return;
bad:
	fprintf(stderr, "slowc: want http://127.0.0.1:PORT/PATH: %s\n", url);
	exit(2);
}

static void
slowc_parse_digest(struct slowc_opts *o, const char *hex)
{
	size_t i;

	if (strlen(hex) != sizeof(o->digest) - 1) {
		fprintf(stderr, "slowc: -s: 64 hex digits\n");
		exit(2);
	}
	for (i = 0; hex[i] != '\0'; i++) {
		if (strchr("0123456789abcdefABCDEF", hex[i]) == NULL) {
			fprintf(stderr, "slowc: -s: 64 hex digits\n");
			exit(2);
		}
		o->digest[i] = (char)(hex[i] | 0x20); /* lower case */
	}
	o->digest[i] = '\0';
}

static void
slowc_parse_args(struct slowc_opts *o, int argc, char *argv[])
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->timeout = 120;
	o->rcvbuf = 16384;
	o->mss = 1448;
	o->length = -1;
	while ((ch = getopt(argc, argv, "n:r:s:l:t:R:b:m:")) != -1) {
		switch (ch) {
		case 'n':
			o->n = (long)slowc_num(optarg, 1, SLOWC_N_MAX);
			break;
		case 'r':
			o->rate = slowc_num(optarg, 1, 1e12);
			break;
		case 's':
			slowc_parse_digest(o, optarg);
			break;
		case 'l':
			o->length = (int64_t)slowc_num(optarg, 0, 1e15);
			break;
		case 't':
			o->timeout = slowc_num(optarg, 0.1, 86400);
			break;
		case 'R':
			o->ramp = slowc_num(optarg, 0, 3600);
			break;
		case 'b':
			o->rcvbuf = (int)slowc_num(optarg, 1024, 1 << 26);
			break;
		case 'm':
			o->mss = (int)slowc_num(optarg, 0, 65535);
			break;
		default:
			slowc_usage();
		}
	}
	if (optind != argc - 1 || o->n == 0 || o->rate == 0 ||
	    o->digest[0] == '\0')
		slowc_usage();
	slowc_parse_url(o, argv[optind]);
}

/* As many descriptors as the hard limit allows (N sockets, and a few). */
static void
slowc_raise_nofile(long n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		slowc_die("getrlimit");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		slowc_die("setrlimit");
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)n + 16 > rl.rlim_cur)
		fprintf(stderr, "slowc: warning: RLIMIT_NOFILE %llu for %ld "
		    "downloads: some will fail to connect\n",
		    (unsigned long long)rl.rlim_cur, n);
}

/* End download c as kind at time now; closes its socket. */
static void
slowc_end(struct slowc *s, struct slowc_conn *c, enum slowc_end kind,
    double now)
{
	if (c->fd != -1) {
		/* Removed from the epoll set by the close. */
		(void)close(c->fd);
		c->fd = -1;
	}
	c->end = kind;
	c->state = SLOWC_DONE;
	c->paused = false;
	c->t_end = now;
	s->active--;
}

/* Wait for events on c once more (EPOLLONESHOT). */
static void
slowc_arm(struct slowc *s, struct slowc_conn *c, uint32_t events,
    double now)
{
	struct epoll_event ev;

	ev.events = events | EPOLLONESHOT;
	ev.data.u64 = (uint64_t)(c - s->c);
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
		fprintf(stderr, "slowc: epoll_ctl: %s\n", strerror(errno));
		slowc_end(s, c, SLOWC_ECONNECT, now);
	}
}

/* Open c's socket and start connecting. */
static void
slowc_start(struct slowc *s, struct slowc_conn *c, double now)
{
	struct epoll_event ev;

	c->t_start = now;
	c->state = SLOWC_CONNECT;
	crypto_hash_sha256_init(&c->sha);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (c->fd == -1)
		goto fail;
	/* Before connect: window and MSS are agreed in the handshake. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &s->o.rcvbuf,
	    sizeof(s->o.rcvbuf)) == -1)
		goto fail;
	if (s->o.mss != 0 && setsockopt(c->fd, IPPROTO_TCP, TCP_MAXSEG,
	    &s->o.mss, sizeof(s->o.mss)) == -1)
		goto fail;
	ev.events = EPOLLOUT | EPOLLONESHOT;
	ev.data.u64 = (uint64_t)(c - s->c);
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		goto fail;
	if (connect(c->fd, (const struct sockaddr *)&s->sa, sizeof(s->sa)) ==
	    -1 && errno != EINPROGRESS)
		goto fail;
	return;
fail:
	slowc_end(s, c, SLOWC_ECONNECT, now);
}

/* Connected (or refused): send the request, then wait for the answer. */
static void
slowc_on_writable(struct slowc *s, struct slowc_conn *c, double now)
{
	socklen_t	 len = sizeof(int);
	ssize_t		 n;
	int		 err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		slowc_end(s, c, SLOWC_ECONNECT, now);
		return;
	}
	while (c->sent < s->reqlen) {
		n = send(c->fd, s->req + c->sent, s->reqlen - c->sent,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			slowc_arm(s, c, EPOLLOUT, now);
			return;
		}
		if (n == -1) {
			slowc_end(s, c, SLOWC_ECONNECT, now);
			return;
		}
		c->sent += (size_t)n;
	}
	c->state = SLOWC_RECV;
	slowc_arm(s, c, EPOLLIN, now);
}

/*
 * The status line and Content-Length of c's complete header block.
 * Returns 0, or -1 if it is not a usable HTTP/1.x response.
 */
static int
slowc_head_parse(struct slowc_conn *c)
{
	char	*line, *next, *end;
	long long v;

	if (sscanf(c->hdr, "HTTP/1.%*1[01] %3d", &c->status) != 1 ||
	    c->status < 100 || c->status >= SLOWC_STATUS_MAX)
		return (-1);
	c->clen = -1;
	for (line = strstr(c->hdr, "\r\n"); line != NULL; line = next) {
		line += 2;
		next = strstr(line, "\r\n");
		if (strncasecmp(line, "Transfer-Encoding:", 18) == 0)
			return (-1); /* the digest would cover the chunking */
		if (strncasecmp(line, "Content-Length:", 15) != 0)
			continue;
		errno = 0;
		v = strtoll(line + 15, &end, 10);
		if (errno != 0 || v < 0 || end == line + 15 ||
		    (*end != '\r' && *end != ' '))
			return (-1);
		c->clen = v;
	}
	return (0);
}

/*
 * The response has ended (all of Content-Length, or the end of the
 * stream): decide how.
 */
static void
slowc_finish(struct slowc *s, struct slowc_conn *c, double now)
{
	unsigned char	 md[crypto_hash_sha256_BYTES];
	char		 hex[sizeof(s->o.digest)];

	if (!c->head_done)
		slowc_end(s, c, c->hlen == 0 ? SLOWC_ESHORT : SLOWC_EPROTO,
		    now);
	else if (c->status >= 500)
		slowc_end(s, c, SLOWC_E5XX, now);
	else if (c->status < 200 || c->status > 299)
		slowc_end(s, c, SLOWC_ESTATUS, now);
	else if ((c->clen >= 0 && c->body != c->clen) ||
	    (s->o.length >= 0 && c->body != s->o.length))
		slowc_end(s, c, SLOWC_ESHORT, now);
	else {
		crypto_hash_sha256_final(&c->sha, md);
		sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
		slowc_end(s, c, strcmp(hex, s->o.digest) == 0 ? SLOWC_OK :
		    SLOWC_EDIGEST, now);
	}
}

/* The body bytes p[0..n) of c: hash them, up to Content-Length. */
static void
slowc_body(struct slowc *s, struct slowc_conn *c, const unsigned char *p,
    size_t n, double now)
{
	if (c->clen >= 0 && (int64_t)n > c->clen - c->body)
		n = (size_t)(c->clen - c->body);
	crypto_hash_sha256_update(&c->sha, p, n);
	c->body += (int64_t)n;
	if (c->clen >= 0 && c->body == c->clen)
		slowc_finish(s, c, now);
}

/* n bytes just read into s->buf: the header block first, then body. */
static void
slowc_consume(struct slowc *s, struct slowc_conn *c, size_t n, double now)
{
	size_t	 old = c->hlen, take;
	char	*e;

	c->got += (int64_t)n;
	if (c->head_done) {
		slowc_body(s, c, s->buf, n, now);
		return;
	}
	take = sizeof(c->hdr) - 1 - c->hlen;
	if (take > n)
		take = n;
	memcpy(c->hdr + c->hlen, s->buf, take);
	c->hlen += take;
	c->hdr[c->hlen] = '\0';
	if ((e = strstr(c->hdr + (old > 3 ? old - 3 : 0), "\r\n\r\n")) ==
	    NULL) {
		if (c->hlen == sizeof(c->hdr) - 1 || memchr(s->buf, 0, n))
			slowc_end(s, c, SLOWC_EPROTO, now);
		return;
	}
	e += 4;
	*(e - 2) = '\0'; /* the header block ends with its last CRLF */
	c->head_done = true;
	if (slowc_head_parse(c) == -1) {
		slowc_end(s, c, SLOWC_EPROTO, now);
		return;
	}
	/* What of this read came after the header block. */
	take = (size_t)(e - c->hdr) - old;
	c->hlen = (size_t)(e - c->hdr);
	if (c->clen == 0)
		slowc_finish(s, c, now);
	else if (take < n)
		slowc_body(s, c, s->buf + take, n - take, now);
}

/*
 * Read what c's allowance permits: R * (now - first byte) bytes in all.
 * A download waits (paused, not armed) until it may read a quantum or
 * the rest of its body, whichever is smaller, so that each read is worth
 * its system call.
 */
static void
slowc_pump(struct slowc *s, struct slowc_conn *c, double now)
{
	double	 allow, need;
	size_t	 want;
	ssize_t	 n;

	while (c->state == SLOWC_RECV) {
		allow = floor(s->o.rate * (now - c->t_first)) - (double)c->got;
		need = s->quantum;
		if (c->head_done && c->clen >= 0 &&
		    (double)(c->clen - c->body) < need)
			need = (double)(c->clen - c->body);
		if (need < 1)
			need = 1;
		if (allow < need) {
			c->paused = true;
			c->wake = c->t_first + ((double)c->got + need) /
			    s->o.rate;
			return;
		}
		want = allow < SLOWC_BUF ? (size_t)allow : SLOWC_BUF;
		n = recv(c->fd, s->buf, want, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			slowc_arm(s, c, EPOLLIN, now);
			return;
		}
		if (n == -1) {
			slowc_end(s, c, SLOWC_ESHORT, now); /* a reset */
			return;
		}
		if (n == 0) {
			slowc_finish(s, c, now);
			return;
		}
		slowc_consume(s, c, (size_t)n, now);
	}
}

/* Readable: the first byte starts the clock (seen, not read). */
static void
slowc_on_readable(struct slowc *s, struct slowc_conn *c, double now)
{
	ssize_t n;

	if (c->t_first < 0) {
		do
			n = recv(c->fd, s->buf, 1, MSG_PEEK);
		while (n == -1 && errno == EINTR);
		if (n == -1 && errno == EAGAIN) {
			slowc_arm(s, c, EPOLLIN, now);
			return;
		}
		if (n <= 0) {
			slowc_end(s, c, SLOWC_ESHORT, now);
			return;
		}
		c->t_first = now;
	}
	slowc_pump(s, c, now);
}

/* Start the downloads whose turn in the ramp has come; wake the paused. */
static void
slowc_scan(struct slowc *s, double now)
{
	struct slowc_conn	*c;
	long			 i;

	while (s->started < s->o.n &&
	    (s->o.ramp == 0 || s->t0 + s->o.ramp * (double)s->started /
	    (double)s->o.n <= now))
		slowc_start(s, &s->c[s->started++], now);
	for (i = 0; i < s->started; i++) {
		c = &s->c[i];
		if (c->paused && c->wake <= now) {
			c->paused = false;
			slowc_pump(s, c, now);
		}
	}
}

static void
slowc_dispatch(struct slowc *s, const struct epoll_event *ev, double now)
{
	struct slowc_conn *c = &s->c[ev->data.u64];

	if (c->state == SLOWC_CONNECT)
		slowc_on_writable(s, c, now);
	else if (c->state == SLOWC_RECV)
		slowc_on_readable(s, c, now);
}

/* The event loop, until every download has ended or the deadline. */
static void
slowc_run(struct slowc *s)
{
	struct epoll_event	 ev[SLOWC_EVENTS];
	double			 now, next = 0, deadline, wait;
	long			 i;
	int			 n;

	s->t0 = slowc_now();
	deadline = s->t0 + s->o.timeout;
	while (s->active > 0) {
		now = slowc_now();
		if (now >= deadline)
			break;
		if (now >= next) {
			slowc_scan(s, now);
			next = now + SLOWC_TICK;
		}
		wait = fmin(next, deadline) - now;
		n = epoll_wait(s->ep, ev, SLOWC_EVENTS,
		    (int)ceil(fmax(wait, 0) * 1000));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			slowc_die("epoll_wait");
		now = slowc_now();
		for (i = 0; i < n; i++)
			slowc_dispatch(s, &ev[i], now);
	}
	now = slowc_now();
	for (i = 0; i < s->o.n; i++) {
		if (s->c[i].state == SLOWC_DONE)
			continue;
		if (s->c[i].state == SLOWC_WAIT)
			s->c[i].t_start = now;
		slowc_end(s, &s->c[i], SLOWC_ETIMEOUT, now);
	}
}

static int
slowc_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

/* The answer's status codes, "200:48,504:52" (or "-" if none). */
static void
slowc_codes(const struct slowc *s, char *dst, size_t sz)
{
	long	 count[SLOWC_STATUS_MAX] = { 0 }, i;
	size_t	 off = 0;
	int	 n;

	for (i = 0; i < s->o.n; i++)
		if (s->c[i].head_done)
			count[s->c[i].status]++;
	dst[0] = '\0';
	for (i = 0; i < SLOWC_STATUS_MAX; i++) {
		if (count[i] == 0)
			continue;
		n = snprintf(dst + off, sz - off, "%s%ld:%ld",
		    off > 0 ? "," : "", i, count[i]);
		if (n < 0 || (size_t)n >= sz - off)
			break; /* a shorter list; the counts stay exact */
		off += (size_t)n;
	}
	if (off == 0)
		(void)snprintf(dst, sz, "-");
}

/*
 * The one summary line: n, the count of each ending, the status codes,
 * time to first byte over the downloads that had one (nearest-rank
 * median and p95, and max, in seconds), how many had none, the slowest
 * download's total time (any ending) and the run's wall time.
 */
static void
slowc_report(const struct slowc *s, double *ttfb, double wall)
{
	long	 count[SLOWC_NEND] = { 0 }, i, nt = 0;
	double	 slowest = 0, t;
	int64_t	 bytes = 0;
	char	 codes[256];

	for (i = 0; i < s->o.n; i++) {
		count[s->c[i].end]++;
		bytes += s->c[i].body;
		t = s->c[i].t_end - s->c[i].t_start;
		slowest = fmax(slowest, t);
		if (s->c[i].t_first >= 0)
			ttfb[nt++] = s->c[i].t_first - s->c[i].t_start;
	}
	qsort(ttfb, (size_t)nt, sizeof(*ttfb), slowc_cmp_double);
	slowc_codes(s, codes, sizeof(codes));
	printf("slowc n=%ld", s->o.n);
	for (i = 0; i < SLOWC_NEND; i++)
		printf(" %s=%ld", slowc_end_name[i], count[i]);
	printf(" codes=%s ttfb_n=%ld", codes, nt);
	if (nt > 0)
		printf(" ttfb_med=%.3f ttfb_p95=%.3f ttfb_max=%.3f",
		    ttfb[(nt + 1) / 2 - 1],
		    ttfb[(long)ceil(0.95 * (double)nt) - 1], ttfb[nt - 1]);
	else
		printf(" ttfb_med=- ttfb_p95=- ttfb_max=-");
	printf(" slowest=%.3f wall=%.3f bytes=%lld rate=%.0f\n", slowest,
	    wall, (long long)bytes, s->o.rate);
}

static struct slowc *
slowc_new(int argc, char *argv[])
{
	struct slowc	*s;
	long		 i;
	int		 n;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		slowc_die("calloc");
	slowc_parse_args(&s->o, argc, argv);
	if ((s->c = calloc((size_t)s->o.n, sizeof(*s->c))) == NULL)
		slowc_die("calloc");
	for (i = 0; i < s->o.n; i++) {
		s->c[i].fd = -1;
		s->c[i].t_first = -1;
		s->c[i].clen = -1;
	}
	s->active = s->o.n;
	s->quantum = fmax(1, fmin(SLOWC_QUANTUM_MAX, s->o.rate / SLOWC_QUANTA));
	s->sa.sin_family = AF_INET;
	s->sa.sin_port = htons(s->o.port);
	s->sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	n = snprintf(s->req, sizeof(s->req), "GET %s HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%u\r\nUser-Agent: slowc\r\n"
	    "Connection: close\r\n\r\n", s->o.path, (unsigned)s->o.port);
	if (n < 0 || (size_t)n >= sizeof(s->req)) {
		fprintf(stderr, "slowc: path too long\n");
		exit(2);
	}
	s->reqlen = (size_t)n;
	return (s);
}

int
main(int argc, char *argv[])
{
	struct slowc	*s;
	double		*ttfb;
	long		 i;
	int		 rc = 0;

	if (sodium_init() == -1) {
		fprintf(stderr, "slowc: sodium_init failed\n");
		return (2);
	}
	s = slowc_new(argc, argv);
	if ((ttfb = calloc((size_t)s->o.n, sizeof(*ttfb))) == NULL)
		slowc_die("calloc");
	slowc_raise_nofile(s->o.n);
	if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		slowc_die("epoll_create1");
	slowc_run(s);
	slowc_report(s, ttfb, slowc_now() - s->t0);
	if (fflush(stdout) == EOF)
		slowc_die("stdout");
	for (i = 0; i < s->o.n; i++)
		if (s->c[i].end != SLOWC_OK)
			rc = 1;
	(void)close(s->ep);
	free(ttfb);
	free(s->c);
	free(s);
	return (rc);
}
