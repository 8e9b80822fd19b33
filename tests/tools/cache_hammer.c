/* cache_hammer DIR SECONDS SEED [OBJECT_BYTES] - many-process test load for the cache.
 *
 * For SECONDS, over a small set of 6 keys, at random: store an object and a
 * request entry naming it, look a request up (counted), fetch an object.
 * Every record and every object that comes back is checked: an object's
 * bytes must hash to its key, a record must name the object it was stored
 * with. Prints one line {"lookups","hits","gets","bad"} and exits 1 when
 * anything read back wrong. OBJECT_BYTES (default 4096) sizes the objects:
 * large ones make a SIGKILL likely to land in the middle of a write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "units.h"

#define NKEYS 6

static void object_bytes(int i, int gen, size_t n, unsigned char *buf)
{
    unsigned x = (unsigned)(i * 7919 + gen * 104729 + 1);
    for (size_t k = 0; k < n; k++) {
        x = x * 1103515245u + 12345u;
        buf[k] = (unsigned char)(x >> 16);
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: cache_hammer DIR SECONDS SEED [OBJECT_BYTES]\n");
        return 64;
    }
    double secs = atof(argv[2]);
    srand((unsigned)atoi(argv[3]));
    size_t nbytes = argc > 4 ? (size_t)atol(argv[4]) : 4096;
    orf_cache *c;
    orf_err e;
    if (cache_open(&c, argv[1], 0, &e) < 0) {
        fprintf(stderr, "cache_hammer: %s\n", e.message);
        return 74;
    }
    unsigned char *buf = malloc(nbytes);
    if (!buf)
        return 1;
    long lookups = 0, hits = 0, gets = 0, bad = 0, errors = 0;
    double end = units_now_ms() + secs * 1000;
    char rkeys[NKEYS][65];
    for (int i = 0; i < NKEYS; i++) {
        char name[32];
        snprintf(name, sizeof name, "request %d", i);
        cache_hash(name, strlen(name), rkeys[i]);
    }
    while (units_now_ms() < end) {
        int i = rand() % NKEYS, op = rand() % 3;
        if (op == 0) {
            char okey[65];
            object_bytes(i, rand() % 2, nbytes, buf);
            if (cache_put_object(c, buf, nbytes, okey, &e) < 0) {
                errors++;
                continue;
            }
            cJSON *rec = cJSON_CreateObject();
            cJSON_AddNumberToObject(rec, "i", i);
            cJSON_AddStringToObject(rec, "object", okey);
            const char *objs[1] = {okey};
            if (cache_put_request(c, rkeys[i], rec, objs, 1, 5.0, &e) < 0)
                errors++;
            cJSON_Delete(rec);
        } else if (op == 1) {
            cJSON *rec = NULL;
            int rc = cache_get_request(c, rkeys[i], &rec, &e);
            if (rc < 0) {
                errors++;
                continue;
            }
            lookups++;
            if (rc == 1) {
                hits++;
                const cJSON *ii = cJSON_GetObjectItemCaseSensitive(rec, "i");
                const cJSON *ok = cJSON_GetObjectItemCaseSensitive(rec, "object");
                if (!cJSON_IsNumber(ii) || ii->valueint != i || !cJSON_IsString(ok) ||
                    !cache_key_valid(ok->valuestring)) {
                    bad++;
                } else {
                    uint8_t *data;
                    size_t n;
                    int g = cache_get_object(c, ok->valuestring, &data, &n, &e);
                    char h[65];
                    if (g == 1) {
                        gets++;
                        cache_hash(data, n, h);
                        if (strcmp(h, ok->valuestring) != 0)
                            bad++;
                        free(data);
                    } else if (g < 0) {
                        errors++;
                    }
                }
            }
            cJSON_Delete(rec);
        } else {
            char okey[65], h[65];
            object_bytes(i, rand() % 2, nbytes, buf);
            cache_hash(buf, nbytes, okey);
            uint8_t *data;
            size_t n;
            int g = cache_get_object(c, okey, &data, &n, &e);
            if (g == 1) {
                gets++;
                cache_hash(data, n, h);
                if (strcmp(h, okey) != 0 || n != nbytes || memcmp(data, buf, n) != 0)
                    bad++;
                free(data);
            } else if (g < 0) {
                errors++;
            }
        }
    }
    printf("{\"lookups\":%ld,\"hits\":%ld,\"gets\":%ld,\"bad\":%ld,\"errors\":%ld}\n", lookups, hits, gets, bad,
           errors);
    free(buf);
    cache_close(c);
    return bad || errors ? 1 : 0;
}
