/*
 * job: one export job, copied out of the jobs database into fixed fields.
 *
 * The struct is shared by jobstore (which fills it) and the pure modules
 * (which read it). Nothing here points into SQLite memory. job.c holds the
 * status names of the contract, for sluice and sluicectl alike.
 */
#ifndef SLUICE_JOB_H
#define SLUICE_JOB_H

#include <stdint.h>

#define JOB_ID_MAX	64	/* [A-Za-z0-9_-]{1,64}, the contract */
#define JOB_PATH_MAX	4095	/* PATH_MAX less the terminator */
#define JOB_NAME_MAX	1023	/* stored; the header form is cut to 255 */
#define JOB_TYPE_MAX	255
#define JOB_USER_MAX	255
#define JOB_HASH_HEX	64	/* hex SHA-256 */

enum job_status {
	JOB_PENDING,
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,
	JOB_REVOKED,
	JOB_UNKNOWN		/* a status value outside the contract */
};

struct job {
	char		 id[JOB_ID_MAX + 1];
	enum job_status	 status;
	char		 file_path[JOB_PATH_MAX + 1];
	char		 file_name[JOB_NAME_MAX + 1];
	char		 content_type[JOB_TYPE_MAX + 1];
	char		 sha256[JOB_HASH_HEX + 1];
	char		 owner[JOB_USER_MAX + 1];
	char		 token_sha256[JOB_HASH_HEX + 1];
	int64_t		 file_size;
	int64_t		 expires_at;
	int64_t		 max_downloads;
	unsigned char	 has_file_path;
	unsigned char	 has_file_name;
	unsigned char	 has_content_type;
	unsigned char	 has_file_size;
	unsigned char	 has_sha256;
	unsigned char	 has_owner;
	unsigned char	 has_token;
	unsigned char	 has_expires;
	unsigned char	 has_max_downloads;
	/*
	 * Set by jobstore when a value in the row cannot be used as it is
	 * (too long, wrong type, not hex...): the job is then never served,
	 * and bad_field names the column for the log.
	 */
	const char	*bad_field;
};

enum job_status	 job_status_parse(const char *);
const char	*job_status_name(enum job_status);

#endif
