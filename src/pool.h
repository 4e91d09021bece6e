/*
 * pool: the accept loop of a request thread, and the signals around it.
 * (This pool is one thread in one process; the loop is written so
 * that each of several threads can run it with its own struct worker.)
 */
#ifndef SLUICE_POOL_H
#define SLUICE_POOL_H

struct worker;

void	pool_signals_install(void);
int	pool_serve(struct worker *);

#endif
