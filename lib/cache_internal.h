/* cache_internal.h - what the cache_*.c files share; not part of the API. */
#ifndef ORFEAS_CACHE_INTERNAL_H
#define ORFEAS_CACHE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cache.h"

#define CACHE_MAX_ENTRY_BYTES ((size_t)64 << 20) /* a request entry larger than this is corrupt */
#define CACHE_COUNTER_SHARDS 16
#define CACHE_TEMP_PREFIX ".tmp."

struct orf_cache {
    char *dir;
    double ttl;
    int root_fd;
    int objects_fd;
    int requests_fd;
    int stats_fd;
};

/* libsodium ready (sodium_init once). */
void cache_sodium_init(void);

/* The folder fd of a kind. */
int cache_kind_fd(const orf_cache *c, cache_kind kind);

/* Open the shard folder "ab" of key under kind; create it when `create`.
 * Returns the fd, or -1 with errno (ENOENT when absent and not created). */
int cache_shard_open(const orf_cache *c, cache_kind kind, const char *key, int create);

/* Write n bytes into shard_fd as `name` atomically (temp, fsync, rename,
 * fsync of the folder). 0 or -1 with errno. */
int cache_atomic_write_at(int shard_fd, const char *name, const void *data, size_t n);

/* Create a fresh temporary file in dir_fd: its name (CACHE_TEMP_PREFIX +
 * 16 hex) goes to name[32]. fd or -1 with errno. */
int cache_temp_create(int dir_fd, char name[32], mode_t mode);

/* Read a whole regular file opened at (dir_fd, name) with O_NOFOLLOW, at
 * most max bytes. 1 on success (malloc'd *data with a NUL after the bytes),
 * 0 when absent or not a regular file or too large, -1 on a read error.
 * st gets its fstat when not NULL; fd_out (when not NULL) keeps the fd open. */
int cache_read_at(int dir_fd, const char *name, size_t max, uint8_t **data, size_t *n, struct stat *st,
                  int *fd_out);

/* Parse a request entry; NULL when it is not one. */
cJSON *cache_entry_parse(const uint8_t *data, size_t n);

/* Seconds of a stat's mtime. */
double cache_mtime(const struct stat *st);

/* Add one kind of count without a struct. */
void cache_count(orf_cache *c, uint64_t hits, uint64_t misses, uint64_t stores, uint64_t evictions,
                 uint64_t bytes, double saved_ms);

#endif
