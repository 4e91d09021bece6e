/*
 * make coverage only: a worker leaves with _exit (pool.c), which skips
 * the atexit handler that writes gcov's counts, so every line a worker
 * ran would count as never run. sluice's coverage build links with
 * -Wl,--wrap=_exit, and this writes the counts first. src/ is unchanged.
 */
#include <unistd.h>

void	__gcov_dump(void);
void	__real__exit(int) __attribute__((noreturn));
void	__wrap__exit(int) __attribute__((noreturn));

void
__wrap__exit(int status)
{
	__gcov_dump();
	__real__exit(status);
}
