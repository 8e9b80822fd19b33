/* test_cache.c - liborfeas cache: keys, canonical JSON, objects, requests, TTL, counters, prune. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cache.h"
#include "check.h"

static char dir[256];

static void write_raw(const char *rel, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int exists(const char *rel)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return lstat(p, &st) == 0;
}

int main(void)
{
    char tmpl[] = "/tmp/test_cache.XXXXXX";
    if (!mkdtemp(tmpl))
        return 1;
    snprintf(dir, sizeof dir, "%s/c", tmpl);
    orf_err e;
    char key[65];

    /* hashing and keys */
    cache_hash("abc", 3, key);
    CHECK(strcmp(key, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0, "SHA-256 of abc");
    CHECK(cache_key_valid(key), "a hash is a key");
    CHECK(!cache_key_valid("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"), "uppercase refused");
    CHECK(!cache_key_valid("../etc/passwd"), "a path is refused");
    char longer[70];
    snprintf(longer, sizeof longer, "%sa", key);
    CHECK(!cache_key_valid(longer), "65 characters refused");
    CHECK(!cache_key_valid(NULL), "NULL refused");

    /* canonical JSON */
    cJSON *a = cJSON_Parse("{\"b\":1.0,\"a\":{\"z\":[1,2.5,\"x\"],\"y\":true},\"c\":-0.0}");
    cJSON *b = cJSON_Parse("{\"c\":0,\"a\":{\"y\":true,\"z\":[1,2.5,\"x\"]},\"b\":1}");
    char *ca = cache_canonical_json(a), *cb = cache_canonical_json(b);
    CHECK(ca && cb && strcmp(ca, cb) == 0, "canonical JSON ignores key order and 1.0 vs 1: %s", ca ? ca : "");
    CHECK(ca && strcmp(ca, "{\"a\":{\"y\":true,\"z\":[1,2.5,\"x\"]},\"b\":1,\"c\":0}") == 0, "canonical form");
    char k1[65], k2[65], k3[65];
    cache_request_key("mesh-gen", a, key, k1);
    cache_request_key("mesh-gen", b, key, k2);
    cache_request_key("mesh-refine", b, key, k3);
    CHECK(strcmp(k1, k2) == 0 && cache_key_valid(k1), "request key independent of field order");
    CHECK(strcmp(k1, k3) != 0, "request key depends on the program");
    free(ca);
    free(cb);
    cJSON_Delete(a);
    cJSON_Delete(b);

    /* open */
    orf_cache *c;
    CHECK(cache_open(&c, dir, 0, &e) == 0, "open creates %s", dir);
    struct stat st;
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "cache folder has mode 0700");

    /* objects */
    const char *text = "some mesh bytes";
    CHECK(cache_put_object(c, text, strlen(text), key, &e) == 0, "put object");
    uint8_t *data = NULL;
    size_t n = 0;
    CHECK(cache_get_object(c, key, &data, &n, &e) == 1 && n == strlen(text) && memcmp(data, text, n) == 0,
          "get object returns its bytes");
    free(data);
    char path[512], rel[512];
    CHECK(cache_object_path(c, key, path, sizeof path, &e) == 0 && strstr(path, "/objects/"), "object path");
    CHECK(cache_object_path(c, "../x", path, sizeof path, &e) < 0 && strcmp(e.code, "bad_key") == 0,
          "object path of a bad key");
    snprintf(rel, sizeof rel, "objects/%.2s/%s", key, key + 2);
    write_raw(rel, "some mesh byteZ");
    CHECK(cache_get_object(c, key, &data, &n, &e) == 0, "a corrupt object is a miss");
    CHECK(!exists(rel), "and it is removed");
    CHECK(cache_get_object(c, "nothex", &data, &n, &e) < 0 && strcmp(e.code, "bad_key") == 0, "bad key on get");

    /* requests */
    char okey[65], rkey[65];
    CHECK(cache_put_object(c, text, strlen(text), okey, &e) == 0, "put object again");
    cache_hash("request", 7, rkey);
    cJSON *rec = cJSON_Parse("{\"stage\":\"rough\",\"n\":3}");
    const char *objs[1] = {okey};
    CHECK(cache_put_request(c, rkey, rec, objs, 1, 40.0, &e) == 0, "put request");
    cJSON *got = NULL;
    CHECK(cache_get_request(c, rkey, &got, &e) == 1 && got &&
              cJSON_GetObjectItemCaseSensitive(got, "n")->valuedouble == 3, "get request: hit with the record");
    cJSON_Delete(got);
    char other[65];
    cache_hash("other", 5, other);
    CHECK(cache_get_request(c, other, &got, &e) == 0 && !got, "unknown request: miss");
    cache_counters k;
    CHECK(cache_counters_read(c, &k, &e) == 0 && k.hits == 1 && k.misses == 1 && k.time_saved_ms == 40.0,
          "counters: 1 hit, 1 miss, 40 ms saved");
    CHECK(k.stores == 3 && k.bytes_written > 2 * strlen(text), "counters: stores and bytes");

    /* an entry older than the TTL is a miss */
    orf_cache *c2;
    CHECK(cache_open(&c2, dir, 60, &e) == 0, "open with ttl 60 s");
    char rel2[128];
    snprintf(rel2, sizeof rel2, "requests/%.2s/%s", rkey, rkey + 2);
    char old[512];
    snprintf(old, sizeof old, "{\"key\":\"%s\",\"created\":1000,\"used\":1000,\"cost_ms\":1,\"objects\":[\"%s\"],"
             "\"record\":{\"x\":1}}", rkey, okey);
    write_raw(rel2, old);
    CHECK(cache_get_request(c2, rkey, &got, &e) == 0, "expired entry is a miss with a TTL");
    CHECK(cache_get_request(c, rkey, &got, &e) == 1, "and a hit when the TTL is 0 (never)");
    cJSON_Delete(got);
    got = NULL;
    /* a needed object gone: miss */
    snprintf(rel, sizeof rel, "%s/objects/%.2s/%s", dir, okey, okey + 2);
    unlink(rel);
    CHECK(cache_get_request(c, rkey, &got, &e) == 0, "entry whose object is gone is a miss");

    /* verify sees the missing object; repair removes the entry */
    cache_verify_result v;
    CHECK(cache_verify(c, 0, NULL, NULL, &v, &e) == 0 && v.bad_requests == 1, "verify: 1 bad request");
    CHECK(cache_verify(c, 1, NULL, NULL, &v, &e) == 0 && v.repaired == 1, "verify --repair");
    CHECK(cache_verify(c, 0, NULL, NULL, &v, &e) == 0 && v.bad_requests == 0 && v.bad_objects == 0, "clean");

    /* prune by size: least recently used goes first */
    char ka[65], kb[65], oa[65], ob[65];
    cache_hash("A", 1, ka);
    cache_hash("B", 1, kb);
    CHECK(cache_put_object(c, "object A", 8, oa, &e) == 0 && cache_put_object(c, "object B", 8, ob, &e) == 0, "objects");
    const char *oas[1] = {oa}, *obs[1] = {ob};
    cache_put_request(c, ka, rec, oas, 1, 1, &e);
    cache_put_request(c, kb, rec, obs, 1, 1, &e);
    struct timespec times[2] = {{1000, 0}, {1000, 0}};
    snprintf(rel, sizeof rel, "%s/requests/%.2s/%s", dir, ka, ka + 2);
    utimensat(AT_FDCWD, rel, times, 0); /* A last used long ago */
    cache_prune_opts po = {.max_age = 0, .max_size = 1, .grace = 0, .dry_run = 1};
    cache_prune_result pr;
    CHECK(cache_prune(c, &po, &pr, &e) == 0 && pr.requests_removed == 2, "dry run: everything would go");
    CHECK(cache_get_request(c, ka, &got, &e) == 1, "dry run removed nothing");
    cJSON_Delete(got);
    utimensat(AT_FDCWD, rel, times, 0);
    po.dry_run = 0;
    po.max_size = 0;
    po.max_age = 3600;
    char orel[512];
    snprintf(orel, sizeof orel, "%s/objects/%.2s/%s", dir, oa, oa + 2);
    CHECK(cache_prune(c, &po, &pr, &e) == 0 && pr.requests_removed == 1 && pr.objects_removed == 0,
          "max age: the old entry goes; its object, used since, stays");
    CHECK(cache_get_request(c, kb, &got, &e) == 1, "the recent one stays");
    cJSON_Delete(got);
    utimensat(AT_FDCWD, orel, times, 0); /* A's object last used long ago too */
    CHECK(cache_prune(c, &po, &pr, &e) == 0 && pr.objects_removed == 1, "then the object goes");
    CHECK(cache_get_object(c, oa, &data, &n, &e) == 0, "its object was collected");
    CHECK(cache_get_object(c, ob, &data, &n, &e) == 1, "the live object stays");
    free(data);

    /* a put replaces an object whose file holds other bytes of the same size */
    char ck[65];
    const char *good = "good bytes, stored once";
    CHECK(cache_put_object(c, good, strlen(good), ck, &e) == 0, "put");
    snprintf(rel, sizeof rel, "objects/%.2s/%s", ck, ck + 2);
    write_raw(rel, "g00d bytes, stored once");
    CHECK(cache_put_object(c, good, strlen(good), ck, &e) == 0, "put again over a corrupted copy");
    CHECK(cache_get_object(c, ck, &data, &n, &e) == 1 && n == strlen(good) && !memcmp(data, good, n),
          "the object is whole again");
    free(data);

    /* a hit checks the objects it names: a corrupted one is a miss and goes */
    char hk[65];
    cache_hash("hit check", 9, hk);
    const char *cks[1] = {ck};
    CHECK(cache_put_request(c, hk, rec, cks, 1, 1, &e) == 0 && cache_get_request(c, hk, &got, &e) == 1, "a hit");
    cJSON_Delete(got);
    got = NULL;
    write_raw(rel, "g00d bytes, stored once");
    CHECK(cache_get_request(c, hk, &got, &e) == 0 && !got, "its object corrupted: a miss");
    CHECK(!exists(rel), "and the object is gone");

    /* streamed reads: to a descriptor and to a file, checked */
    CHECK(cache_put_object(c, good, strlen(good), ck, &e) == 0, "put");
    char gpath[600];
    snprintf(gpath, sizeof gpath, "%s/../got.bin", dir);
    uint64_t gb = 0;
    CHECK(cache_get_object_file(c, ck, gpath, &gb, &e) == 1 && gb == strlen(good), "get to a file");
    int gfd = open(gpath, O_RDWR | O_TRUNC);
    CHECK(gfd >= 0 && cache_get_object_fd(c, ck, gfd, &gb, &e) == 1 && gb == strlen(good), "get to a descriptor");
    if (gfd >= 0)
        close(gfd);
    write_raw(rel, "g00d bytes, stored once");
    unlink(gpath);
    CHECK(cache_get_object_file(c, ck, gpath, &gb, &e) == 0 && access(gpath, F_OK) != 0 && !exists(rel),
          "a corrupt object: a miss, no file written, the object removed");

    /* prune --max-size counts temporary files: a live writer's 10000 bytes */
    cache_prune_result cr;
    CHECK(cache_clear(c, &cr, &e) == 0, "clear");
    int ofd = open(dir, O_RDONLY | O_DIRECTORY);
    char objdir[600];
    snprintf(objdir, sizeof objdir, "%s/objects", dir);
    int objfd = open(objdir, O_RDONLY | O_DIRECTORY);
    atomic_file live;
    static char zeros[10000];
    CHECK(objfd >= 0 && atomic_open_at(&live, objfd, NULL, 0600) == 0 && atomic_write(&live, zeros, sizeof zeros) == 0,
          "a writer at work");
    char o1[65], o2[65];
    static char five[2][5000];
    five[1][0] = 1;
    cache_put_object(c, five[0], 5000, o1, &e);
    cache_put_object(c, five[1], 5000, o2, &e);
    char p1[600], p2[600];
    snprintf(p1, sizeof p1, "%s/objects/%.2s/%s", dir, o1, o1 + 2);
    snprintf(p2, sizeof p2, "%s/objects/%.2s/%s", dir, o2, o2 + 2);
    utimensat(AT_FDCWD, p1, times, 0);
    utimensat(AT_FDCWD, p2, times, 0);
    cache_prune_opts ps = {.max_age = 0, .max_size = 12000, .grace = -1};
    CHECK(cache_prune(c, &ps, &pr, &e) == 0 && pr.objects_removed == 2 && pr.temp_kept == 1 &&
              pr.bytes_kept == 10000,
          "with the temporary file counted, both objects go (removed %llu, kept %llu bytes)",
          (unsigned long long)pr.objects_removed, (unsigned long long)pr.bytes_kept);
    atomic_abort(&live);
    close(objfd);
    close(ofd);

    /* the limits: defaults, the config file, the environment */
    CHECK(cache_max_size(c) == CACHE_DEFAULT_MAX_SIZE && cache_max_age(c) == CACHE_DEFAULT_MAX_AGE &&
              !strcmp(cache_max_size_source(c), "default"),
          "default limits: 5 GiB, 7 days");
    CHECK(cache_config_set(c, "max_size", "2G", &e) == 0 && cache_max_size(c) == ((uint64_t)2 << 30) &&
              !strcmp(cache_max_size_source(c), "config"),
          "config max_size 2G");
    CHECK(cache_config_set(c, "max-age", "14d", &e) == 0 && cache_max_age(c) == 14 * 86400.0, "config max-age 14d");
    CHECK(cache_config_set(c, "max_size", "lots", &e) < 0 && !strcmp(e.code, "bad_request"), "a bad size refused");
    CHECK(cache_config_set(c, "colour", "red", &e) < 0 && !strcmp(e.code, "bad_request"), "an unknown name refused");
    orf_cache *c3;
    CHECK(cache_open(&c3, dir, 0, &e) == 0 && cache_max_size(c3) == ((uint64_t)2 << 30) &&
              cache_max_age(c3) == 14 * 86400.0,
          "a new user of the cache reads them");
    cache_close(c3);
    setenv("ORFEAS_CACHE_MAX_SIZE", "100M", 1);
    CHECK(cache_open(&c3, dir, 0, &e) == 0 && cache_max_size(c3) == ((uint64_t)100 << 20) &&
              !strcmp(cache_max_size_source(c3), "environment"),
          "the environment wins");
    cache_close(c3);
    setenv("ORFEAS_CACHE_MAX_SIZE", "lots", 1);
    CHECK(cache_open(&c3, dir, 0, &e) < 0 && !strcmp(e.code, "bad_request"), "a bad ORFEAS_CACHE_MAX_SIZE: bad_request");
    unsetenv("ORFEAS_CACHE_MAX_SIZE");
    CHECK(cache_config_set(c, "max_size", NULL, &e) == 0 && cache_config_set(c, "max_age", NULL, &e) == 0 &&
              cache_max_size(c) == CACHE_DEFAULT_MAX_SIZE,
          "settings removed: the defaults again");

    CHECK(cache_clear(c, &cr, &e) == 0, "clear");
    cache_usage u;
    CHECK(cache_usage_scan(c, &u, &e) == 0 && u.objects == 0 && u.requests == 0, "empty after clear");
    CHECK(cache_counters_zero(c, &e) == 0 && cache_counters_read(c, &k, &e) == 0 && k.hits == 0 && k.stores == 0,
          "counters zeroed");

    cJSON_Delete(rec);
    cache_close(c);
    cache_close(c2);

    /* a cache folder under a regular file cannot be opened */
    char bad[512];
    snprintf(bad, sizeof bad, "%s/file", tmpl);
    write_raw("../file", "x");
    snprintf(bad, sizeof bad, "%s/file/cache", tmpl);
    CHECK(cache_open(&c, bad, 0, &e) < 0 && strcmp(e.code, "cache_error") == 0, "folder under a file: cache_error");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    if (system(cmd) != 0)
        return 1;
    return check_done();
}
