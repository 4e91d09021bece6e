/*
 * paths: file locations that sluice and sluicectl derive the same way, so
 * that both find one state database without being told. Pure.
 */
#ifndef SLUICE_PATHS_H
#define SLUICE_PATHS_H

#include <stddef.h>

#define PATHS_STATE_DB_NAME	"sluice-state.db"

int	 paths_state_db_default(char *dst, size_t dstsz, const char *db);

#endif
