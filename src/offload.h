/*
 * offload: whether the web server sends a response's bytes itself
 * (--offload lighttpd | x-accel-redirect:PREFIX | x-sendfile), and the
 * header block that tells it to. sluice decides every answer as it does
 * when streaming; a 200 or 206 is handed over only where the server will
 * send exactly those bytes, with no answer of its own, and is streamed
 * otherwise. Pure.
 */
#ifndef SLUICE_OFFLOAD_H
#define SLUICE_OFFLOAD_H

#include <stddef.h>

struct config;
struct plan;
struct plan_facts;
struct plan_file;
struct plan_values;

int	offload_etag_format(const struct config *, const struct plan_file *,
	    char *, size_t);
int	offload_check(const struct plan_facts *, struct plan *);
void	offload_plan(const struct plan_facts *, const struct plan_values *,
	    struct plan *);

#endif
