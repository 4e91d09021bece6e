/*
 * config: command-line options and their environment variables, parsed into
 * fixed-size fields and validated. The command line wins over the
 * environment (spawn-fcgi and mod_fcgid pass settings as environment).
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stddef.h>

#define CONFIG_PATH_MAX		4095
#define CONFIG_PREFIX_MAX	255
#define CONFIG_DEFAULT_PREFIX	"/download/"

struct config {
	char	 db[CONFIG_PATH_MAX + 1];
	char	 root[CONFIG_PATH_MAX + 1];
	char	 url_prefix[CONFIG_PREFIX_MAX + 1];
	char	 log_file[CONFIG_PATH_MAX + 1];
};

enum config_result {
	CONFIG_OK,
	CONFIG_HELP,
	CONFIG_ERROR
};

enum config_result config_parse(struct config *, int argc, char **argv,
	    char *err, size_t errsz);
void	config_usage(const char *progname);

#endif
