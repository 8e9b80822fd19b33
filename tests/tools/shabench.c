/* shabench - SHA-256 speed of both implementations, for scripts/bench/cache.sh:
 *   shabench [MIB [REPEAT]]
 * Hashes a MIB MiB buffer of random bytes (default 64) REPEAT times (default 5)
 * with the libsodium path and, when the CPU has it, the SHA-NI path, and
 * prints one JSON line:
 *   {"mib":64,"libsodium_mb_s":..,"sha_ni_mb_s":..|null,"same_digest":true|false,
 *    "default":"sha-ni"|"libsodium"}
 * MB/s is 10^6 bytes a second, best of REPEAT (the least disturbed run).
 * Exit 1 when the two digests differ. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "units.h"

static double best_ms_portable(const uint8_t *p, size_t n, int repeat, uint8_t out[32])
{
    double best = 1e300;
    for (int r = 0; r < repeat; r++) {
        crypto_hash_sha256_state s;
        double t0 = units_now_ms();
        sha256_portable_init(&s);
        sha256_portable_update(&s, p, n);
        sha256_portable_final(&s, out);
        double t = units_now_ms() - t0;
        best = t < best ? t : best;
    }
    return best;
}

static double best_ms_ni(const uint8_t *p, size_t n, int repeat, uint8_t out[32])
{
    double best = 1e300;
    for (int r = 0; r < repeat; r++) {
        sha256_ni_state s;
        double t0 = units_now_ms();
        sha256_ni_init(&s);
        sha256_ni_update(&s, p, n);
        sha256_ni_final(&s, out);
        double t = units_now_ms() - t0;
        best = t < best ? t : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 64;
    int repeat = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
    if (argc > 3 || mib < 1 || mib > 4096 || repeat < 1 || repeat > 1000) {
        fprintf(stderr, "usage: shabench [MIB (1..4096)] [REPEAT (1..1000)]\n");
        return 64;
    }
    size_t n = (size_t)mib << 20;
    uint8_t *buf = malloc(n);
    if (!buf) {
        fprintf(stderr, "shabench: cannot allocate %ld MiB\n", mib);
        return 69;
    }
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)(x >> 24);
    }
    uint8_t hp[32], hn[32];
    double ms_p = best_ms_portable(buf, n, repeat, hp);
    int same = 1;
    char ni[32] = "null";
    if (sha256_ni_available()) {
        double ms_n = best_ms_ni(buf, n, repeat, hn);
        same = memcmp(hp, hn, 32) == 0;
        snprintf(ni, sizeof ni, "%.1f", (double)n / 1e3 / ms_n);
    }
    printf("{\"mib\":%ld,\"libsodium_mb_s\":%.1f,\"sha_ni_mb_s\":%s,\"same_digest\":%s,\"default\":\"%s\"}\n", mib,
           (double)n / 1e3 / ms_p, ni, same ? "true" : "false", sha256_impl_name());
    free(buf);
    return same ? 0 : 1;
}
