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

#endif
