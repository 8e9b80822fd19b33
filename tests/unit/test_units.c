/* Unit tests for lib/units: durations and sizes as people type them. */
#include <string.h>

#include "check.h"
#include "units.h"

int main(void)
{
    orf_err e;
    double s;
    struct { const char *in; double want; } durs[] = {
        {"90s", 90}, {"30m", 1800}, {"12h", 43200}, {"7d", 604800}, {"0", 0}, {"1.5h", 5400}, {"3600", 3600}, {"2w", 1209600},
    };
    for (size_t i = 0; i < sizeof durs / sizeof *durs; i++)
        CHECK(units_parse_duration(durs[i].in, &s, &e) == 0 && s == durs[i].want, "duration %s = %g s", durs[i].in,
              durs[i].want);
    const char *bad_durs[] = {"", "abc", "-5s", "5x", "5ss", "nan", "inf"};
    for (size_t i = 0; i < sizeof bad_durs / sizeof *bad_durs; i++)
        CHECK(units_parse_duration(bad_durs[i], &s, &e) == -1 && strcmp(e.code, "bad_request") == 0,
              "duration '%s' refused", bad_durs[i]);

    uint64_t b;
    struct { const char *in; uint64_t want; } sizes[] = {
        {"2G", 2ull << 30}, {"500M", 500ull << 20}, {"10K", 10240}, {"123", 123}, {"1GiB", 1ull << 30}, {"1GB", 1ull << 30}, {"7B", 7},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        CHECK(units_parse_size(sizes[i].in, &b, &e) == 0 && b == sizes[i].want, "size %s", sizes[i].in);
    const char *bad_sizes[] = {"", "G", "-1", "5Q", "5GG", "1e30"};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++)
        CHECK(units_parse_size(bad_sizes[i], &b, &e) == -1, "size '%s' refused", bad_sizes[i]);

    double t0 = units_now_ms(), t1 = units_now_ms();
    CHECK(t1 >= t0, "monotonic clock does not go back");
    CHECK(units_wall_seconds() > 1.7e9, "wall clock is seconds since the epoch");
    return check_done();
}
