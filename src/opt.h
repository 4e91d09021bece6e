/*
 * opt: the table-driven option parser that sluice (config.c) and
 * sluicectl (ctl_opt.c) share. A table of rows names each long option,
 * its environment variable and where its value goes in the caller's
 * struct; opt_next walks argv one argument at a time, opt_env applies the
 * environment, and opt_set stores a value by the row's type.
 *
 * Pure: no I/O apart from getenv, never exits, never allocates. Messages
 * go into the caller's buffer; the caller decides how to report them.
 */
#ifndef SLUICE_OPT_H
#define SLUICE_OPT_H

#include <stddef.h>
#include <stdint.h>

#define OPT_ERR_SIZE	256	/* enough for every message written here */

enum opt_type {
	OPT_HELP,	/* no value; the caller prints help */
	OPT_FLAG,	/* no value; sets an int field to 1 */
	OPT_STR,	/* a const char * field points at the value */
	OPT_BUF,	/* copied into a char[size] field, never cut */
	OPT_INT,	/* an int64_t field, decimal, from min to max */
	OPT_FUNC	/* the row's set function stores it */
};

struct opt;

/* A setter: 0, or -1 with a message ("--name: ...") in err. */
typedef int	opt_set_fn(void *target, const struct opt *, const char *v,
		    char *err, size_t errsz);

struct opt {
	const char	*name;		/* long name, without "--" */
	char		 letter;	/* short name ("-h"), or 0 */
	enum opt_type	 type;
	const char	*env;		/* environment variable, or NULL */
	size_t		 off;		/* the field, in the target struct */
	size_t		 size;		/* OPT_BUF: the field's size */
	int64_t		 min, max;	/* OPT_INT: the range */
	opt_set_fn	*set;		/* OPT_FUNC */
	unsigned	 groups;	/* the caller's: who accepts it */
};

/* Rows: a string copied into a buffer, a number, a pointer, a flag. */
#define OPT_ROW_BUF(n, e, st, f) \
	{ (n), 0, OPT_BUF, (e), offsetof(st, f), \
	  sizeof(((st *)0)->f), 0, 0, NULL, 0 }
#define OPT_ROW_INT(n, e, st, f, lo, hi) \
	{ (n), 0, OPT_INT, (e), offsetof(st, f), 0, (lo), (hi), NULL, 0 }
#define OPT_ROW_STR(n, e, st, f, g) \
	{ (n), 0, OPT_STR, (e), offsetof(st, f), 0, 0, 0, NULL, (g) }
#define OPT_ROW_FLAG(n, st, f, g) \
	{ (n), 0, OPT_FLAG, NULL, offsetof(st, f), 0, 0, 0, NULL, (g) }
#define OPT_ROW_FUNC(n, fn, g) \
	{ (n), 0, OPT_FUNC, NULL, 0, 0, 0, 0, (fn), (g) }
#define OPT_ROW_HELP(g) \
	{ "help", 'h', OPT_HELP, NULL, 0, 0, 0, 0, NULL, (g) }

/* How opt_next reads arguments (flags of struct opt_iter). */
#define OPT_ABBREV	0x1u	/* a unique prefix names an option */
#define OPT_DASH_OPTION	0x2u	/* "-x" is an option, never an operand */

/* A walk over argv[1..argc-1]; set argc, argv, flags, i = 1. */
struct opt_iter {
	int		 argc;
	char		**argv;
	unsigned	 flags;
	int		 i;		/* the next argument */
	int		 operands_only;	/* after "--" */
};

enum opt_kind {
	OPT_END,	/* no arguments left */
	OPT_OPERAND,	/* arg is an operand */
	OPT_OPTION,	/* o with its value v (NULL for a flag or help) */
	OPT_UNKNOWN,	/* arg looks like an option that is not in the table */
	OPT_MISSING,	/* o needs a value, and argv has none left */
	OPT_EXTRA	/* o takes no value but arg gives one ("--x=1") */
};

struct opt_arg {
	enum opt_kind	 kind;
	const char	*arg;		/* the argument as given */
	const struct opt *o;
	const char	*v;
};

void	opt_iter_init(struct opt_iter *, int argc, char **argv,
	    unsigned flags);
enum opt_kind opt_next(struct opt_iter *, const struct opt *, size_t n,
	    struct opt_arg *);
int	opt_takes_value(const struct opt *);
int	opt_set(void *target, const struct opt *, const char *v, char *err,
	    size_t errsz);
int	opt_env(void *target, const struct opt *, size_t n, char *err,
	    size_t errsz);

#endif
