/* cache_internal.h - what the cache_*.c files share; not part of the API. */
#ifndef ORFEAS_CACHE_INTERNAL_H
#define ORFEAS_CACHE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "cache.h"

#define CACHE_MAX_ENTRY_BYTES ((size_t)64 << 20) /* a request entry larger than this is corrupt */
#define CACHE_COUNTER_SHARDS 16
#define CACHE_TEMP_PREFIX ATOMIC_TEMP_PREFIX
#define CACHE_STAMP "last-prune"          /* stats/: its mtime is the end of the last prune */
#define CACHE_AUTOPRUNE_INTERVAL 86400.0  /* seconds: a store prunes when the last prune is older */
#define CACHE_AUTOPRUNE_FILL 0.9          /* a prune a store started trims to this share of the cap */
#define CACHE_IO_CHUNK ((size_t)1 << 16)  /* bytes per read when streaming an object */

struct orf_cache {
    char *dir;
    double ttl;
    int root_fd;
    int objects_fd;
    int requests_fd;
    int stats_fd;
    uint64_t max_size;            /* bytes; 0: no cap */
    double max_age;               /* seconds; 0: no limit */
    const char *max_size_source;  /* "environment", "config" or "default" */
    const char *max_age_source;
    uint64_t since_check;         /* bytes this process stored since it last looked at the size */
    int checked;                  /* it has looked at least once */
    int checking;                 /* a thread is looking now */
    cache_progress_fn progress;   /* cache_set_progress; NULL: none */
    void *progress_ctx;
};

/* libsodium ready (sodium_init once). */
void cache_sodium_init(void);

/* The folder fd of a kind. */
int cache_kind_fd(const orf_cache *c, cache_kind kind);

/* Open the shard folder "ab" of key under kind; create it when `create`.
 * Returns the fd, or -1 with errno (ENOENT when absent and not created). */
int cache_shard_open(const orf_cache *c, cache_kind kind, const char *key, int create);

/* Write n bytes into shard_fd as `name` atomically (atomic_write_at, mode
 * 0600). 0 or -1 with errno. */
int cache_atomic_write_at(int shard_fd, const char *name, const void *data, size_t n);

/* Read a whole regular file opened at (dir_fd, name) with O_NOFOLLOW, at
 * most max bytes. 1 on success (malloc'd *data with a NUL after the bytes),
 * 0 when absent or not a regular file or too large, -1 on a read error.
 * st gets its fstat when not NULL; fd_out (when not NULL) keeps the fd open. */
int cache_read_at(int dir_fd, const char *name, size_t max, uint8_t **data, size_t *n, struct stat *st,
                  int *fd_out);

/* SHA-256 of the whole file behind fd (read from offset 0 with pread, in
 * CACHE_IO_CHUNK pieces: constant memory). 0, or -1 with errno. */
int cache_hash_fd(int fd, char key[65], uint64_t *bytes);

/* Open the object key for reading (O_NOFOLLOW). 1 and the fd and its stat,
 * 0 when absent or not a regular file, -1 with errno on any other error. */
int cache_object_fd(const orf_cache *c, const char *key, int *fd, struct stat *st);

/* Remove (dir_fd, name) only when it is still the file described by st
 * (not replaced since). 1 removed, 0 not. */
int cache_unlink_if_same(int dir_fd, const char *name, const struct stat *st);

/* Parse a request entry; NULL when it is not one. */
cJSON *cache_entry_parse(const uint8_t *data, size_t n);

/* The same, telling apart "not an entry" (NULL, *oom 0) from "could not
 * parse for want of memory" (NULL, *oom 1). */
cJSON *cache_entry_parse_checked(const uint8_t *data, size_t n, int *oom);

/* Seconds of a stat's mtime. */
double cache_mtime(const struct stat *st);

/* Add one kind of count without a struct; size_delta moves the estimate of
 * the cache's size (bytes added or removed). */
void cache_count(orf_cache *c, uint64_t hits, uint64_t misses, uint64_t stores, uint64_t evictions,
                 uint64_t bytes, double saved_ms, int64_t size_delta);

/* The estimate of the cache's size: what stores added and removals took
 * away since the last prune measured it. 0, or -1 with errno. */
int cache_size_estimate(orf_cache *c, int64_t *bytes);

/* Set the estimate to a measured size (prune, clear). */
void cache_size_set(orf_cache *c, uint64_t bytes);

/* After a store of `bytes`: when the cache is over its cap (by the
 * estimate) or the last prune is older than CACHE_AUTOPRUNE_INTERVAL, start
 * a prune in a background process and return at once. */
void cache_autoprune(orf_cache *c, uint64_t bytes);

/* cache_prune with the prune lock already held on lock_fd (which it leaves open). */
int cache_prune_locked(orf_cache *c, const cache_prune_opts *o, cache_prune_result *r, orf_err *e);

#endif
