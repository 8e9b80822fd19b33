/* cache.h - the on-disk content-addressed cache every program shares.
 *
 * Layout under the cache directory (mode 0700):
 *   objects/ab/<62 hex>    any blob, named by the SHA-256 of its bytes
 *   requests/ab/<62 hex>   a JSON entry named by the SHA-256 of a canonical
 *                          request: {"key","created","used","cost_ms",
 *                          "objects":[keys],"record":{...}}
 *   stats/                 counters, safe under concurrent processes; the
 *                          prune lock; last-prune (its mtime: the last prune)
 *   config                 limits set with cache_config_set (dedup-cache config)
 * Keys are exactly 64 lowercase hex characters; anything else is refused, so
 * no path ever comes from outside the cache. Every write goes through the
 * one atomic writer (atomic_file.h): a temporary file in the target folder,
 * fsync, rename. What the cache hands out is checked: an object's bytes are
 * hashed whenever it is read or a lookup hit names it, and bytes that do not
 * match the name are a miss and are removed. A put of an object whose file
 * holds other bytes replaces it.
 *
 * Directory: the one given, else $ORFEAS_CACHE_DIR, else
 * $XDG_CACHE_HOME/orfeas, else ~/.cache/orfeas.
 *
 * Retention (orfeas(7), THE CACHE, is the one place it is documented):
 *   - TTL (the one given, else $ORFEAS_CACHE_TTL, else 1 hour; 0 never):
 *     a request entry created longer ago is a miss. It deletes nothing.
 *   - Every file's mtime is its last use: written, hit by a lookup (an entry
 *     and the objects it names) or read (an object).
 *   - Prune removes what has not been used for the max age (else
 *     $ORFEAS_CACHE_MAX_AGE, else the config file, else 7 days), then the
 *     least recently used until the cache, temporary files included, fits the
 *     max size (else $ORFEAS_CACHE_MAX_SIZE, else the config file, else
 *     5 GiB); an object named by a kept entry stays, and objects used in the
 *     last CACHE_PRUNE_GRACE seconds stay. 0 turns either limit off.
 *   - A store that finds the cache over its max size (or the last prune a
 *     day old) starts a prune in a background process; the store does not
 *     wait for it.
 */
#ifndef ORFEAS_CACHE_H
#define ORFEAS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "atomic_file.h"
#include "err.h"

#define CACHE_DEFAULT_TTL 3600.0                  /* seconds, as the original service */
#define CACHE_DEFAULT_MAX_AGE (7 * 86400.0)       /* seconds not used before prune removes it */
#define CACHE_DEFAULT_MAX_SIZE ((uint64_t)5 << 30) /* bytes, as ccache */

typedef struct orf_cache orf_cache;

/* Open (creating when missing) the cache at `dir` (NULL: resolve as above),
 * with `ttl_seconds` (< 0: $ORFEAS_CACHE_TTL or the default). "cache_error"
 * when the folder cannot be created or used or its config file is bad;
 * "bad_request" when $ORFEAS_CACHE_TTL, $ORFEAS_CACHE_MAX_SIZE or
 * $ORFEAS_CACHE_MAX_AGE is not a duration or size. */
int cache_open(orf_cache **c, const char *dir, double ttl_seconds, orf_err *e);
void cache_close(orf_cache *c);

/* The resolved directory of an open cache. */
const char *cache_dir(const orf_cache *c);

/* SHA-256 of bytes as 64 lowercase hex characters plus NUL. */
void cache_hash(const void *data, size_t n, char key[65]);

/* 1 when key is exactly 64 lowercase hex characters, else 0. */
int cache_key_valid(const char *key);

/* Store a blob; its key (the hash of the bytes) is written to key. An
 * object already there with these bytes is only marked used (its mtime);
 * one whose file holds other bytes (corrupted on disk) is replaced. */
int cache_put_object(orf_cache *c, const void *data, size_t n, char key[65], orf_err *e);

/* Fetch a blob: 1 and a malloc'd copy on a hit (bytes checked against the
 * key, the object marked used), 0 on a miss (absent, or corrupt and then
 * removed), -1 with "cache_error" when it cannot be read (out of memory, an
 * I/O error: the object is left alone). Holds the whole object in memory:
 * for objects of any size, use cache_get_object_fd or cache_get_object_file. */
int cache_get_object(orf_cache *c, const char *key, uint8_t **data, size_t *n, orf_err *e);

/* Write an object's bytes to out_fd (a pipe, a terminal, a file), streamed
 * in constant memory: the bytes are hashed first, and copied only when they
 * match the key (and hashed again on the way; a change in between is an
 * error). 1 done (*bytes set), 0 miss (absent, or corrupt and removed: nothing
 * written), -1 with "cache_error" (cannot read the object) or "io_error"
 * (cannot write out_fd; errno EPIPE when its reader is gone). */
int cache_get_object_fd(orf_cache *c, const char *key, int out_fd, uint64_t *bytes, orf_err *e);

/* Write an object to the file `path` through the atomic writer (mode 0666
 * less the umask), streamed and checked on the way: a corrupt object
 * leaves no file, is removed and is a miss. 1, 0 or -1 as above. */
int cache_get_object_file(orf_cache *c, const char *key, const char *path, uint64_t *bytes, orf_err *e);

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

/* Look a request up: 1 and a copy of its record on a hit (younger than the
 * TTL, every object present with bytes that hash to its key), 0 on a miss;
 * an object found corrupt is removed. Counts the hit or miss and, on a hit,
 * marks the entry and its objects used. -1 on an error. The cost of the
 * check is one SHA-256 pass over the objects: about 0.7 ms a MB with SHA-NI,
 * 4 ms with libsodium (tests/tools/cache_hitbench). */
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

/* Write n bytes to `path` atomically (atomic_write_path: a temporary file
 * beside it, fsync, rename; mode 0666 less the umask). -1 with "io_error"
 * naming the path. */
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
    uint64_t temps, temp_bytes;      /* temporary files (writers at work, or killed) */
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

#define CACHE_PRUNE_GRACE 600.0   /* seconds an object is kept after its last use, whatever the size */
#define CACHE_TEMP_MAX_AGE ATOMIC_TEMP_MAX_AGE /* seconds before a temporary file is stale */
#define CACHE_PRUNE_CAP ((uint64_t)-1) /* max_size: the cache's own max size */

typedef struct cache_prune_opts {
    double max_age;    /* remove what was not used for this long (s); 0: no limit; < 0: the
                          cache's max age (cache_max_age) */
    uint64_t max_size; /* then the least recently used until the total fits (bytes); 0: no
                          limit; CACHE_PRUNE_CAP: the cache's max size (cache_max_size) */
    double grace;      /* keep objects used in the last `grace` s; < 0: CACHE_PRUNE_GRACE */
    int dry_run;       /* count what would go, remove nothing */
} cache_prune_opts;

typedef struct cache_prune_result {
    uint64_t requests_removed, objects_removed, temp_removed, bytes_freed;
    uint64_t requests_kept, objects_kept, bytes_kept; /* bytes_kept counts temporary files kept */
    uint64_t temp_kept;
} cache_prune_result;

/* Prune, by the rule at the top of this file: what was not used for
 * max_age goes; then, while the total (temporary files included) is over
 * max_size, the least recently used request entry or object, where an
 * object counts as used when any entry that names it was; objects used in
 * the last `grace` seconds stay; an object named by a kept entry stays.
 * Entries that are not entries (unparseable) go; ones that cannot be read
 * stay. Stale temporary files go (atomic_temp_stale: an hour old, or their
 * writer is gone). The TTL removes nothing. Safe while other processes read
 * and write: what was used since the scan stays.
 * Returns 0 when done, 1 when another prune holds the lock (nothing done),
 * -1 on an error. */
int cache_prune(orf_cache *c, const cache_prune_opts *o, cache_prune_result *r, orf_err *e);

/* verify: called for each problem found. kind is "object" or "request";
 * problem is "hash_mismatch" (an object whose bytes are not its key),
 * "corrupt" (a request entry that is not one), "not_regular",
 * "missing_object" (then `object` names the missing object, else NULL),
 * "removed" (a request entry removed for the missing objects reported just
 * before) or "unreadable" (an open or read error: errno holds its cause when
 * fn is called, and the file is never removed); repaired is 1 when it was
 * removed. */
typedef void (*cache_verify_fn)(void *ctx, const char *kind, const char *key, const char *problem,
                                const char *object, int repaired);
typedef struct cache_verify_result {
    uint64_t objects, requests, bad_objects, bad_requests, repaired;
    uint64_t unreadable; /* objects, entries and folders that could not be read (not in bad_*) */
} cache_verify_result;

/* Rehash every object (streamed: constant memory, whatever the sizes) and
 * check every request entry; with repair, remove what was proved bad (a hash
 * mismatch, an entry that does not parse, an entry whose object is absent),
 * never what could not be read. fn may be NULL. */
int cache_verify(orf_cache *c, int repair, cache_verify_fn fn, void *ctx, cache_verify_result *r,
                 orf_err *e);

/* Remove the object and/or request entry named key. *removed gets a mask of
 * cache_kind of what was removed (0: there was none). -1 with "bad_key". */
int cache_remove(orf_cache *c, const char *key, int *removed, orf_err *e);

/* Remove every entry and temporary file (counters stay). Counts in r
 * (*_kept: what could not be removed). -1 with "cache_error" when anything
 * could not be removed (a read-only cache), naming the first cause; r is
 * filled either way. */
int cache_clear(orf_cache *c, cache_prune_result *r, orf_err *e);

/* Progress of the walks over the whole cache (verify, prune, clear, stats):
 * fn(ctx, what, done, total) as each shard folder of a kind is reached (done
 * of total folders there), `what` "objects" or "requests". NULL turns it off. */
typedef void (*cache_progress_fn)(void *ctx, const char *what, unsigned done, unsigned total);
void cache_set_progress(orf_cache *c, cache_progress_fn fn, void *ctx);

/* The TTL in force (seconds, 0: never expires). */
double cache_ttl(const orf_cache *c);

/* The limits in force (bytes, seconds; 0: none), and where each came from:
 * "environment", "config" or "default". */
uint64_t cache_max_size(const orf_cache *c);
double cache_max_age(const orf_cache *c);
const char *cache_max_size_source(const orf_cache *c);
const char *cache_max_age_source(const orf_cache *c);

/* Set a limit in the cache's config file, for every later user of the cache
 * (as `ccache -M`): name "max_size" (value a size: 10G, 0 for none) or
 * "max_age" (a duration: 14d, 0 for none); value NULL removes the setting.
 * "bad_request" for an unknown name or a bad value, "cache_error" when the
 * file cannot be written. The open cache takes the new value unless the
 * environment overrides it. */
int cache_config_set(orf_cache *c, const char *name, const char *value, orf_err *e);

#endif
