/*
 * paths: default locations (README.md, "Running it"). Pure: writes into
 * the caller's buffer.
 */
#include <stdio.h>
#include <string.h>

#include "paths.h"

/*
 * The state database's default path, PATHS_STATE_DB_DEFAULT, into dst
 * (dstsz bytes with the NUL). Returns 0, or -1 when dst is too small.
 */
int
paths_state_db_default(char *dst, size_t dstsz)
{
	int	 n;

	n = snprintf(dst, dstsz, "%s", PATHS_STATE_DB_DEFAULT);
	if (n < 0 || (size_t)n >= dstsz)
		return (-1);
	return (0);
}
