/* units.h - the numbers people type: durations, sizes, and a clock.
 *
 * Durations: a number with an optional unit, s (default), m, h, d or w:
 * "90s", "30m", "12h", "7d", "3600". Sizes: bytes with an optional unit,
 * K, M, G, T (powers of 1024, an optional trailing "B" or "iB"): "2G", "500M".
 */
#ifndef ORFEAS_UNITS_H
#define ORFEAS_UNITS_H

#include <stdint.h>

#include "err.h"

/* Parse a duration into seconds (>= 0). -1 with "bad_request" otherwise. */
int units_parse_duration(const char *s, double *seconds, orf_err *e);

/* Parse a size into bytes. -1 with "bad_request" otherwise. */
int units_parse_size(const char *s, uint64_t *bytes, orf_err *e);

/* Milliseconds from a monotonic clock, for measuring work. */
double units_now_ms(void);

/* Seconds since the epoch, wall clock, with sub-second precision. */
double units_wall_seconds(void);

#endif
