/*
 * paths: file locations that sluice and sluicectl share, so that both
 * find one state database without being told. Pure.
 */
#ifndef SLUICE_PATHS_H
#define SLUICE_PATHS_H

#include <stddef.h>

/*
 * The state database's default: a directory of its own that sluice's
 * user can write (make install's tmpfiles.d entry, systemd's
 * StateDirectory=sluice), never the exporter's directory, which sluice
 * only reads.
 */
#define PATHS_STATE_DIR		"/var/lib/sluice"
#define PATHS_STATE_DB_DEFAULT	PATHS_STATE_DIR "/state.db"

int	 paths_state_db_default(char *dst, size_t dstsz);

#endif
