/*
 * listen: bind --listen ourselves instead of FCGX_OpenSocket, which calls
 * exit() on error and unlinks a socket path even when another process is
 * serving on it.
 *
 * A unix socket path that answers a connect is live: refused. One that
 * refuses connections is stale (left by a process that died): replaced.
 * A TCP address outside loopback gets a warning, because anyone who can
 * reach a FastCGI socket can set REMOTE_USER and every other parameter.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"

/*
 * sun's path exists: take it over only if it is a socket that nobody
 * accepts on (a stale one). Returns 0 (removed), or -1 with err set.
 */
static int
listen_unix_stale(const struct sockaddr_un *sun, const struct stat *st,
    char *err, size_t errsz)
{
	int	 probe;

	if (!S_ISSOCK(st->st_mode)) {
		snprintf(err, errsz, "--listen: %s exists and is not a "
		    "socket", sun->sun_path);
		return (-1);
	}
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return (-1);
	}
	if (connect(probe, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
		close(probe);
		snprintf(err, errsz, "--listen: %s is live (another "
		    "process accepts on it); not taking it over",
		    sun->sun_path);
		return (-1);
	}
	close(probe);
	log_warnx("event=startup msg=\"removing stale socket\" "
	    "path=%s", sun->sun_path);
	if (unlink(sun->sun_path) == -1 && errno != ENOENT) {
		snprintf(err, errsz, "--listen: cannot remove stale "
		    "%s: %s", sun->sun_path, strerror(errno));
		return (-1);
	}
	return (0);
}

/* fd 0 must be a listening socket. Returns 0, or -1 with err set. */
int
listen_inherited(struct listener *l, char *err, size_t errsz)
{
	int		 listening = 0;
	socklen_t	 len = sizeof(listening);

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	if (getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &listening,
	    &len) == -1) {
		snprintf(err, errsz, "fd 0 is not a socket (%s): run me under "
		    "spawn-fcgi or systemd socket activation, or give --listen",
		    strerror(errno));
		return (-1);
	}
	if (!listening) {
		snprintf(err, errsz, "fd 0 is a socket but not a listening "
		    "one: run me under spawn-fcgi or systemd socket activation, "
		    "or give --listen");
		return (-1);
	}
	l->fd = STDIN_FILENO;
	return (0);
}

static int
listen_unix(struct listener *l, const char *spec, char *err, size_t errsz)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	const char		*comma;
	size_t			 plen;
	long			 mode = LISTEN_UNIX_MODE;
	int			 fd = -1;
	char			*end;

	comma = strchr(spec, ',');
	plen = comma != NULL ? (size_t)(comma - spec) : strlen(spec);
	if (comma != NULL) {
		if (strncmp(comma, ",mode=", 6) != 0) {
			snprintf(err, errsz, "--listen unix:PATH[,mode=0660]: "
			    "unknown option %s", comma + 1);
			return (-1);
		}
		errno = 0;
		mode = strtol(comma + 6, &end, 8);
		if (comma[6] == '\0' || *end != '\0' || errno != 0 ||
		    mode < 0 || mode > 0777) {
			snprintf(err, errsz, "--listen: bad mode %s (octal, "
			    "e.g. 0660)", comma + 6);
			return (-1);
		}
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (plen == 0 || plen >= sizeof(sun.sun_path) ||
	    plen >= sizeof(l->path)) {
		snprintf(err, errsz, "--listen: unix socket path empty or "
		    "longer than %zu bytes", sizeof(sun.sun_path) - 1);
		return (-1);
	}
	memcpy(sun.sun_path, spec, plen);
	if (lstat(sun.sun_path, &st) == 0 &&
	    listen_unix_stale(&sun, &st, err, errsz) == -1)
		return (-1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(sun.sun_path, (mode_t)mode) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1 ||
	    stat(sun.sun_path, &st) == -1) {
		snprintf(err, errsz, "--listen %s: %s", sun.sun_path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return (-1);
	}
	l->fd = fd;
	memcpy(l->path, sun.sun_path, plen + 1);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return (0);
}

static int
listen_tcp(struct listener *l, const char *spec, char *err, size_t errsz)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	char			 host[64];
	const char		*colon, *h = spec, *portstr;
	size_t			 hlen;
	socklen_t		 sslen;
	long			 port;
	int			 fd, one = 1, loopback;
	char			*end;

	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		h = spec + 1;
		hlen = (size_t)(rb - h);
		portstr = rb + 2;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL)
			goto bad;
		hlen = (size_t)(colon - spec);
		portstr = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(portstr, &end, 10);
	if (*portstr == '\0' || *end != '\0' || errno != 0 || port < 1 ||
	    port > 65535)
		goto bad;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sslen = sizeof(*sin);
		loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sslen = sizeof(*sin6);
		loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	} else
		goto bad;
	if (!loopback)
		log_warnx("event=security msg=\"listening on a non-loopback "
		    "address: anyone who can reach a FastCGI socket can set "
		    "REMOTE_USER; firewall it\" listen=%s", spec);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 || bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(err, errsz, "--listen %s: %s", spec, strerror(errno));
		if (fd != -1)
			close(fd);
		return (-1);
	}
	l->fd = fd;
	return (0);
bad:
	snprintf(err, errsz, "--listen: want unix:/path[,mode=0660], "
	    "127.0.0.1:9000 or [::1]:9000, got \"%s\"", spec);
	return (-1);
}

/*
 * Bind and listen on spec. Returns 0 with l filled, or -1 with a sentence
 * in err.
 */
int
listen_open(struct listener *l, const char *spec, char *err, size_t errsz)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	if (strncmp(spec, "unix:", 5) == 0)
		return (listen_unix(l, spec + 5, err, errsz));
	return (listen_tcp(l, spec, err, errsz));
}

/* Remove the unix socket we bound, if it is still ours. */
void
listen_remove(struct listener *l)
{
	struct stat	 st;

	if (l->path[0] == '\0')
		return;
	if (lstat(l->path, &st) == 0 && st.st_dev == l->dev &&
	    st.st_ino == l->ino)
		(void)unlink(l->path);
	l->path[0] = '\0';
}
