/*
 * units: the value parsers sluice and sluicectl share (counts and
 * durations on their command lines). Pure: no system calls, no
 * allocation, no globals.
 */
#ifndef SLUICE_UNITS_H
#define SLUICE_UNITS_H

#include <stdint.h>

int	units_count_parse(const char *, int64_t *);
int	units_duration_parse(const char *, int64_t *);

#endif
