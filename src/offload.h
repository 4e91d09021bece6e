/*
 * offload: the plan of a response whose bytes the web server sends itself
 * (--offload x-sendfile | x-accel-redirect:PREFIX). Only the header block
 * differs from streaming; the checks before it are the same. Pure.
 */
#ifndef SLUICE_OFFLOAD_H
#define SLUICE_OFFLOAD_H

struct plan;
struct plan_facts;
struct plan_values;

int	offload_plan(const struct plan_facts *, const struct plan_values *,
	    struct plan *);

#endif
