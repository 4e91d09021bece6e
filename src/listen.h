/*
 * listen: the FastCGI listening socket, either inherited on fd 0
 * (spawn-fcgi, systemd StandardInput=socket, lighttpd bin-path, mod_fcgid)
 * or bound by sluice from --listen. Startup only.
 */
#ifndef SLUICE_LISTEN_H
#define SLUICE_LISTEN_H

#include <stddef.h>
#include <sys/types.h>

#define LISTEN_BACKLOG		1024	/* waiting connections (back-pressure) */
#define LISTEN_UNIX_MODE	0660

struct listener {
	int	 fd;
	char	 path[108];	/* unix socket bound by us, "" otherwise */
	dev_t	 dev;		/* ... and its identity, to remove only ours */
	ino_t	 ino;
};

int	listen_open(struct listener *, const char *spec, char *err,
	    size_t errsz);
int	listen_inherited(struct listener *, char *err, size_t errsz);
void	listen_remove(struct listener *);

#endif
