/* units.c - durations, sizes (K, M, G, T: powers of 1024) and the clocks (see units.h). */
#include "units.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int units_parse_duration(const char *s, double *seconds, orf_err *e)
{
    if (!s || !*s)
        return orf_fail(e, "bad_request", "empty duration");
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return orf_fail(e, "bad_request", "'%s' is not a duration (try 90s, 30m, 12h, 7d or 0)", s);
    double mul = 1;
    if (*end) {
        switch (*end) {
        case 's': mul = 1; break;
        case 'm': mul = 60; break;
        case 'h': mul = 3600; break;
        case 'd': mul = 86400; break;
        case 'w': mul = 7 * 86400; break;
        default: return orf_fail(e, "bad_request", "'%s' is not a duration (try 90s, 30m, 12h, 7d or 0)", s);
        }
        if (end[1])
            return orf_fail(e, "bad_request", "'%s' is not a duration (try 90s, 30m, 12h, 7d or 0)", s);
    }
    *seconds = v * mul;
    return 0;
}

int units_parse_size(const char *s, uint64_t *bytes, orf_err *e)
{
    if (!s || !*s)
        return orf_fail(e, "bad_request", "empty size");
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return orf_fail(e, "bad_request", "'%s' is not a size (try 500M, 2G or a byte count)", s);
    double mul = 1;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': mul = 1024.0; break;
        case 'm': case 'M': mul = 1024.0 * 1024; break;
        case 'g': case 'G': mul = 1024.0 * 1024 * 1024; break;
        case 't': case 'T': mul = 1024.0 * 1024 * 1024 * 1024; break;
        case 'b': case 'B': mul = 1; end--; break;
        default: return orf_fail(e, "bad_request", "'%s' is not a size (try 500M, 2G or a byte count)", s);
        }
        end++;
        if (*end && strcasecmp(end, "b") != 0 && strcasecmp(end, "ib") != 0)
            return orf_fail(e, "bad_request", "'%s' is not a size (try 500M, 2G or a byte count)", s);
    }
    double b = v * mul;
    if (b > 1.8e19)
        return orf_fail(e, "bad_request", "size '%s' is too large", s);
    *bytes = (uint64_t)b;
    return 0;
}

double units_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double units_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
