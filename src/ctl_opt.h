/*
 * ctl_opt: sluicectl's command line. Its option table (rows of opt.h's
 * parser, each with the commands that accept it), the setters that check
 * a value, and the walk that finds the command, the help request, the
 * options and the operands.
 */
#ifndef SLUICE_CTL_OPT_H
#define SLUICE_CTL_OPT_H

#include <stddef.h>

struct ctl;
struct ctl_cmd;

#define CTL_OPT_HELP	(-1)	/* ctl_opt_parse: print help, exit 0 */

int	ctl_opt_parse(struct ctl *, int argc, char **argv,
	    const struct ctl_cmd *cmds, size_t ncmds,
	    const struct ctl_cmd **cmdp);

#endif
