/* cache_hitbench [MB [OBJECTS [N]]] - what a lookup hit costs now that it
 * checks the bytes it hands out.
 *
 * In a fresh temporary cache, stores OBJECTS objects (default 4) of MB
 * megabytes in all (default 4; a mesh-gen entry names 2.5-4.5 MB in four
 * objects) and a request entry naming them, then times N hits (default 50)
 * of cache_get_request, and prints one JSON line:
 *   {"mb":..,"objects":..,"hits":..,"best_ms":..,"median_ms":..,
 *    "best_ms_per_mb":..,"sha256":"sha-ni"|"libsodium"}
 * Best of N is the least disturbed run (a shared machine); the page cache is
 * warm, so this is the hashing and the system calls, not the disk.
 * ORFEAS_SHA256=portable measures the libsodium path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "sha256.h"
#include "units.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    double mb = argc > 1 ? atof(argv[1]) : 4;
    int nobj = argc > 2 ? atoi(argv[2]) : 4;
    int n = argc > 3 ? atoi(argv[3]) : 50;
    if (mb <= 0 || nobj < 1 || nobj > 64 || n < 1) {
        fprintf(stderr, "usage: cache_hitbench [MB [OBJECTS [N]]]\n");
        return 64;
    }
    char tmpl[] = "/tmp/cache_hitbench.XXXXXX";
    if (!mkdtemp(tmpl))
        return 74;
    orf_cache *c;
    orf_err e;
    if (cache_open(&c, tmpl, 0, &e) < 0) {
        fprintf(stderr, "cache_hitbench: %s\n", e.message);
        return 74;
    }
    size_t each = (size_t)(mb * 1e6 / nobj);
    unsigned char *buf = malloc(each);
    char keys[64][65];
    const char *objs[64];
    unsigned x = 1;
    for (int i = 0; i < nobj; i++) {
        for (size_t k = 0; k < each; k++) {
            x = x * 1103515245u + 12345u;
            buf[k] = (unsigned char)(x >> 16);
        }
        if (cache_put_object(c, buf, each, keys[i], &e) < 0) {
            fprintf(stderr, "cache_hitbench: %s\n", e.message);
            return 74;
        }
        objs[i] = keys[i];
    }
    char rkey[65];
    cache_hash("cache_hitbench", 14, rkey);
    cJSON *rec = cJSON_CreateObject();
    if (cache_put_request(c, rkey, rec, objs, (size_t)nobj, 1, &e) < 0) {
        fprintf(stderr, "cache_hitbench: %s\n", e.message);
        return 74;
    }
    double *t = malloc((size_t)n * sizeof *t);
    for (int i = 0; i < n; i++) {
        cJSON *got = NULL;
        double t0 = units_now_ms();
        int rc = cache_get_request(c, rkey, &got, &e);
        t[i] = units_now_ms() - t0;
        cJSON_Delete(got);
        if (rc != 1) {
            fprintf(stderr, "cache_hitbench: no hit (%d)\n", rc);
            return 1;
        }
    }
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    double total_mb = (double)each * nobj / 1e6;
    printf("{\"mb\":%.2f,\"objects\":%d,\"hits\":%d,\"best_ms\":%.3f,\"median_ms\":%.3f,\"best_ms_per_mb\":%.3f,"
           "\"sha256\":\"%s\"}\n",
           total_mb, nobj, n, t[0], t[n / 2], t[0] / total_mb, sha256_impl_name());
    cJSON_Delete(rec);
    cache_prune_result pr;
    cache_clear(c, &pr, &e);
    cache_close(c);
    free(buf);
    free(t);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    return system(cmd) == 0 ? 0 : 74;
}
