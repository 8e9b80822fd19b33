/* cache.h - the on-disk content-addressed cache every program shares.
 *
 * Layout under the cache directory (mode 0700):
 *   objects/ab/<62 hex>    any blob, named by the SHA-256 of its bytes
 *   requests/ab/<62 hex>   a JSON entry named by the SHA-256 of a canonical
 *                          request: {"key","created","used","cost_ms",
 *                          "objects":[keys],"record":{...}}
 *   stats/                 counters, safe under concurrent processes
 * Keys are exactly 64 lowercase hex characters; anything else is refused, so
 * no path ever comes from outside the cache. Writes go to a temporary file
 * in the target folder, are fsynced and renamed into place. A read that
 * finds bytes not matching an object's name treats it as a miss and removes
 * it. A request entry older than the TTL is a miss.
 *
 * Directory: the one given, else $ORFEAS_CACHE_DIR, else
 * $XDG_CACHE_HOME/orfeas, else ~/.cache/orfeas.
 * TTL: the one given, else $ORFEAS_CACHE_TTL, else 1 hour; 0 never expires.
 */
#ifndef ORFEAS_CACHE_H
#define ORFEAS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "err.h"

#define CACHE_DEFAULT_TTL 3600.0 /* seconds, as the original service */

typedef struct orf_cache orf_cache;

/* Open (creating when missing) the cache at `dir` (NULL: resolve as above),
 * with `ttl_seconds` (< 0: $ORFEAS_CACHE_TTL or the default). "cache_error"
 * when the folder cannot be created or used. */
int cache_open(orf_cache **c, const char *dir, double ttl_seconds, orf_err *e);
void cache_close(orf_cache *c);

/* The resolved directory of an open cache. */
const char *cache_dir(const orf_cache *c);

/* SHA-256 of bytes as 64 lowercase hex characters plus NUL. */
void cache_hash(const void *data, size_t n, char key[65]);

/* 1 when key is exactly 64 lowercase hex characters, else 0. */
int cache_key_valid(const char *key);

/* Store a blob; its key (the hash of the bytes) is written to key. */
int cache_put_object(orf_cache *c, const void *data, size_t n, char key[65], orf_err *e);

/* Fetch a blob: 1 and a malloc'd copy on a hit, 0 on a miss (absent or
 * corrupt, and then removed), -1 on an error. */
int cache_get_object(orf_cache *c, const char *key, uint8_t **data, size_t *n, orf_err *e);

/* The path where an object with this key lives (whether or not it exists).
 * -1 with "bad_key" when the key is not valid. */
int cache_object_path(const orf_cache *c, const char *key, char *path, size_t size, orf_err *e);

/* The key of a request: SHA-256 of the canonical JSON of
 * {"program", "version", "params" (keys sorted at every level), "input"}.
 * `input_hash` is the content hash of the input (never a path). */
void cache_request_key(const char *program, const cJSON *params, const char *input_hash,
                       char key[65]);

/* Record the result of a request: `record` is what the program printed,
 * `objects` the object keys it needs, `cost_ms` what the work took. */
int cache_put_request(orf_cache *c, const char *key, const cJSON *record, const char *const *objects,
                      size_t nobjects, double cost_ms, orf_err *e);

/* Look a request up: 1 and a copy of its record on a hit (live, every object
 * present), 0 on a miss. Counts the hit or miss and refreshes the entry's
 * time on a hit. -1 on an error. */
int cache_get_request(orf_cache *c, const char *key, cJSON **record, orf_err *e);

/* How each program turns a request into its key (the parameters, their
 * canonical form, the input) is lib/params.h and lib/runner.h's: the same
 * code for the programs and for `dedup-cache key|lookup`. */

/* Canonical JSON of v: object keys sorted by byte order at every level, no
 * whitespace, integers (|v| < 2^53) without a fraction, other numbers in
 * the shortest %.15g..%.17g form that reads back as the same double, strings with only '"', '\\' and control characters escaped.
 * A malloc'd string, NULL when out of memory. */
char *cache_canonical_json(const cJSON *v);

/* SHA-256 of a file's bytes, streamed. -1 with "no_input" when it cannot be read. */
int cache_hash_file(const char *path, char key[65], orf_err *e);

/* ---- Objects from and to files ------------------------------------------ */

/* Store the bytes of the file at `path` as an object, streamed (no size
 * limit). key receives its key, *bytes its size. -1 with "no_input" when the
 * file cannot be read, "cache_error" when the cache cannot be written. */
int cache_put_file(orf_cache *c, const char *path, char key[65], uint64_t *bytes, orf_err *e);

/* Write n bytes to `path` atomically: a temporary file beside it, fsync,
 * rename (mode 0644 less the umask). -1 with "io_error" naming the path. */
int cache_write_file_atomic(const char *path, const void *data, size_t n, orf_err *e);

/* ---- Counters and maintenance ------------------------------------------- */

typedef struct cache_counters {
    uint64_t hits, misses;   /* request lookups */
    uint64_t stores;         /* objects and request entries written */
    uint64_t evictions;      /* entries removed by prune */
    uint64_t bytes_written;  /* bytes of everything stored */
    double time_saved_ms;    /* sum of cost_ms of every hit */
} cache_counters;

/* The counters summed over every process that used the cache. */
int cache_counters_read(orf_cache *c, cache_counters *out, orf_err *e);

/* Reset every counter to zero. */
int cache_counters_zero(orf_cache *c, orf_err *e);

/* Add to the counters (under a lock: no increment is ever lost). */
int cache_counters_add(orf_cache *c, const cache_counters *delta, orf_err *e);

/* What is in the cache, by a scan of both folders. Times are seconds since
 * the epoch, 0 when there is no entry. */
typedef struct cache_usage {
    uint64_t requests, objects;      /* entries */
    uint64_t request_bytes, object_bytes;
    double oldest, newest;           /* creation time of request entries */
} cache_usage;
int cache_usage_scan(orf_cache *c, cache_usage *u, orf_err *e);

/* One entry met while walking the cache. */
typedef enum { CACHE_OBJECT = 1, CACHE_REQUEST = 2 } cache_kind;
typedef struct cache_entry {
    cache_kind kind;
    char key[65];
    uint64_t bytes;
    double mtime; /* seconds; for a request entry, the time of its last hit */
} cache_entry;

/* Call fn for every entry of the kinds in `kinds` (a mask of cache_kind);
 * temporary and foreign files are skipped. fn returns 0 to go on, non-zero
 * to stop (that value is returned). */
int cache_foreach(orf_cache *c, int kinds, int (*fn)(void *ctx, const cache_entry *en), void *ctx,
                  orf_err *e);

#define CACHE_PRUNE_GRACE 600.0   /* seconds an unreferenced object is kept */
#define CACHE_TEMP_MAX_AGE 3600.0 /* seconds before a temporary file is stale */

typedef struct cache_prune_opts {
    double max_age;    /* remove request entries not used for this long (s); <= 0: no limit */
    uint64_t max_size; /* then remove least recently used until the total fits; 0: no limit */
    double grace;      /* keep unreferenced objects younger than this (s); < 0: CACHE_PRUNE_GRACE */
    int dry_run;       /* count what would go, remove nothing */
} cache_prune_opts;

typedef struct cache_prune_result {
    uint64_t requests_removed, objects_removed, temp_removed, bytes_freed;
    uint64_t requests_kept, objects_kept, bytes_kept;
} cache_prune_result;

/* Prune: request entries past the TTL or max_age, unreadable ones, then the
 * least recently used until the total size is at most max_size; objects no
 * remaining request entry needs (older than the grace time); temporary files
 * older than CACHE_TEMP_MAX_AGE. Safe while other processes read and write.
 * Returns 0 when done, 1 when another prune holds the lock (nothing done),
 * -1 on an error. */
int cache_prune(orf_cache *c, const cache_prune_opts *o, cache_prune_result *r, orf_err *e);

/* verify: called for each problem found. kind is "object" or "request";
 * problem is "hash_mismatch", "not_regular", "unreadable" or "missing_object"
 * (then `object` names the missing object, else NULL); repaired is 1 when
 * it was removed. */
typedef void (*cache_verify_fn)(void *ctx, const char *kind, const char *key, const char *problem,
                                const char *object, int repaired);
typedef struct cache_verify_result {
    uint64_t objects, requests, bad_objects, bad_requests, repaired;
} cache_verify_result;

/* Rehash every object and check every request entry; with repair, remove
 * what is bad. fn may be NULL. */
int cache_verify(orf_cache *c, int repair, cache_verify_fn fn, void *ctx, cache_verify_result *r,
                 orf_err *e);

/* Remove the object and/or request entry named key. *removed gets a mask of
 * cache_kind of what was removed (0: there was none). -1 with "bad_key". */
int cache_remove(orf_cache *c, const char *key, int *removed, orf_err *e);

/* Remove every entry and temporary file (counters stay). Counts in r. */
int cache_clear(orf_cache *c, cache_prune_result *r, orf_err *e);

/* The TTL in force (seconds, 0: never expires). */
double cache_ttl(const orf_cache *c);

#endif
