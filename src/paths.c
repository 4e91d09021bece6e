/*
 * paths: default locations derived from other settings (README.md,
 * "Running it"). Pure: writes into the caller's buffer.
 */
#include <stdio.h>
#include <string.h>

#include "paths.h"

/*
 * The state database's default path: PATHS_STATE_DB_NAME in the directory
 * of the jobs database db ("jobs.db" gives "sluice-state.db", "/srv/x/
 * jobs.db" gives "/srv/x/sluice-state.db"). Returns 0, or -1 when dst
 * (dstsz bytes with the NUL) is too small.
 */
int
paths_state_db_default(char *dst, size_t dstsz, const char *db)
{
	const char	*slash = strrchr(db, '/');
	int		 n;

	if (slash == NULL)
		n = snprintf(dst, dstsz, "%s", PATHS_STATE_DB_NAME);
	else
		n = snprintf(dst, dstsz, "%.*s/%s", (int)(slash - db), db,
		    PATHS_STATE_DB_NAME);
	if (n < 0 || (size_t)n >= dstsz)
		return (-1);
	return (0);
}
