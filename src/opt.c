/*
 * opt: one option parser for both binaries, driven by a table of rows
 * (see opt.h). It knows "--name value", "--name=value", "-x" for a row
 * with a letter, "--" before operands, environment variables, and the
 * typed setters; what an unknown option or a missing value means, and
 * how it is reported, stays with the caller.
 *
 * Workload: once per process start, over a few dozen arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"

void
opt_iter_init(struct opt_iter *it, int argc, char **argv, unsigned flags)
{
	it->argc = argc;
	it->argv = argv;
	it->flags = flags;
	it->i = 1;
	it->operands_only = 0;
}

/* 1 when the row takes a value, else 0. */
int
opt_takes_value(const struct opt *o)
{
	return (o->type != OPT_HELP && o->type != OPT_FLAG);
}

/*
 * The row named by the len bytes at name: an exact match, else (with
 * OPT_ABBREV) the one row that name is a prefix of. NULL when none or
 * more than one.
 */
static const struct opt *
opt_find(const struct opt *tab, size_t n, const char *name, size_t len,
    unsigned flags)
{
	const struct opt *found = NULL;
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strlen(tab[i].name) == len &&
		    strncmp(tab[i].name, name, len) == 0)
			return (&tab[i]);
	if (!(flags & OPT_ABBREV) || len == 0)
		return (NULL);
	for (i = 0; i < n; i++)
		if (strncmp(tab[i].name, name, len) == 0) {
			if (found != NULL)
				return (NULL);	/* ambiguous */
			found = &tab[i];
		}
	return (found);
}

/* The row whose letter is c, or NULL. */
static const struct opt *
opt_find_letter(const struct opt *tab, size_t n, char c)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (tab[i].letter != 0 && tab[i].letter == c)
			return (&tab[i]);
	return (NULL);
}

/* "-x": a row's letter, unknown (OPT_DASH_OPTION), or an operand. */
static enum opt_kind
opt_next_short(struct opt_iter *it, const struct opt *tab, size_t n,
    struct opt_arg *a)
{
	if (a->arg[2] == '\0' &&
	    (a->o = opt_find_letter(tab, n, a->arg[1])) != NULL)
		return (a->kind = OPT_OPTION);
	if (it->flags & OPT_DASH_OPTION)
		return (a->kind = OPT_UNKNOWN);
	return (a->kind = OPT_OPERAND);
}

/*
 * The next argument, described in *a. An option's value is the rest
 * after '=', else the next argument whatever it looks like (as getopt
 * does). "-" alone is an operand; so is everything after "--".
 */
enum opt_kind
opt_next(struct opt_iter *it, const struct opt *tab, size_t n,
    struct opt_arg *a)
{
	const char	*name, *eq;

	memset(a, 0, sizeof(*a));
	for (;;) {
		if (it->i >= it->argc)
			return (a->kind = OPT_END);
		a->arg = it->argv[it->i++];
		if (it->operands_only || a->arg[0] != '-' ||
		    a->arg[1] == '\0')
			return (a->kind = OPT_OPERAND);
		if (strcmp(a->arg, "--") != 0)
			break;
		it->operands_only = 1;
	}
	if (a->arg[1] != '-')
		return (opt_next_short(it, tab, n, a));
	name = a->arg + 2;
	eq = strchr(name, '=');
	a->o = opt_find(tab, n, name, eq != NULL ? (size_t)(eq - name) :
	    strlen(name), it->flags);
	if (a->o == NULL)
		return (a->kind = OPT_UNKNOWN);
	if (!opt_takes_value(a->o))
		return (a->kind = eq != NULL ? OPT_EXTRA : OPT_OPTION);
	if (eq != NULL)
		a->v = eq + 1;
	else if (it->i < it->argc)
		a->v = it->argv[it->i++];
	else
		return (a->kind = OPT_MISSING);
	return (a->kind = OPT_OPTION);
}

/* OPT_INT: decimal from o->min to o->max, the whole string. */
static int
opt_set_int(void *target, const struct opt *o, const char *v, char *err,
    size_t errsz)
{
	long long	 n;
	char		*end;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < o->min ||
	    n > o->max) {
		snprintf(err, errsz, "--%s: want a whole number from %lld to "
		    "%lld, got \"%s\"", o->name, (long long)o->min,
		    (long long)o->max, v);
		return (-1);
	}
	*(int64_t *)(void *)((char *)target + o->off) = n;
	return (0);
}

/*
 * Store v by o's type into target (the struct the table's offsets are
 * of). v is kept by pointer for OPT_STR: it must outlive target (argv and
 * the environment do). Returns 0, or -1 with a message in err.
 */
int
opt_set(void *target, const struct opt *o, const char *v, char *err,
    size_t errsz)
{
	char	*field = (char *)target + o->off;
	size_t	 len;

	switch (o->type) {
	case OPT_HELP:
		return (0);
	case OPT_FLAG:
		*(int *)(void *)field = 1;
		return (0);
	case OPT_STR:
		*(const char **)(void *)field = v;
		return (0);
	case OPT_BUF:
		if ((len = strlen(v)) >= o->size) {
			snprintf(err, errsz, "--%s: value longer than %zu "
			    "bytes", o->name, o->size - 1);
			return (-1);
		}
		memcpy(field, v, len + 1);
		return (0);
	case OPT_INT:
		return (opt_set_int(target, o, v, err, errsz));
	case OPT_FUNC:
		return (o->set(target, o, v, err, errsz));
	}
	snprintf(err, errsz, "--%s: bad option table", o->name);
	return (-1);
}

/*
 * Apply every row's environment variable that is set and not empty, in
 * table order; run it before the command line, which then wins. Returns
 * 0, or -1 with the first failing row's message in err.
 */
int
opt_env(void *target, const struct opt *tab, size_t n, char *err,
    size_t errsz)
{
	const char	*v;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (tab[i].env == NULL || (v = getenv(tab[i].env)) == NULL ||
		    *v == '\0')
			continue;
		if (opt_set(target, &tab[i], v, err, errsz) == -1)
			return (-1);
	}
	return (0);
}
