/* cache.c - the cache folder, objects, request entries and counters.
 * Key computation is in cache_key.c, pruning and checking in cache_maint.c. */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#include "cache_internal.h"
#include "fsize.h"
#include "sha256.h"
#include "units.h"

/* ---- hashing ------------------------------------------------------------ */

void cache_sodium_init(void)
{
    static int done;
    if (!done) {
        if (sodium_init() < 0)
            abort(); /* libsodium cannot work at all: nothing sane to do */
        done = 1;
    }
}

static void hex_of(const unsigned char *h, char key[65])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        key[2 * i] = hx[h[i] >> 4];
        key[2 * i + 1] = hx[h[i] & 15];
    }
    key[64] = 0;
}

void cache_hash(const void *data, size_t n, char key[65])
{
    unsigned char h[SHA256_BYTES];
    sha256(data, n, h);
    hex_of(h, key);
}

int cache_key_valid(const char *key)
{
    if (!key)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return 0;
    return key[64] == 0;
}

int cache_hash_file(const char *path, char key[65], orf_err *e)
{
    /* O_NONBLOCK: opening a FIFO with no writer must not hang; reads block again after. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return orf_fail_errno(e, "no_input", path);
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return orf_fail(e, "no_input", "%s: is a directory", path);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    sha256_state s;
    sha256_init(&s);
    unsigned char buf[1 << 16];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return orf_fail_errno(e, "no_input", path);
        }
        if (r == 0)
            break;
        sha256_update(&s, buf, (size_t)r);
    }
    close(fd);
    unsigned char h[SHA256_BYTES];
    sha256_final(&s, h);
    hex_of(h, key);
    return 0;
}

/* ---- the folder ----------------------------------------------------------- */

static char *resolve_dir(const char *dir)
{
    if (dir && *dir)
        return strdup(dir);
    const char *v = getenv("ORFEAS_CACHE_DIR");
    if (v && *v)
        return strdup(v);
    char buf[PATH_MAX];
    v = getenv("XDG_CACHE_HOME");
    if (v && *v && v[0] == '/') {
        snprintf(buf, sizeof buf, "%s/orfeas", v);
        return strdup(buf);
    }
    v = getenv("HOME");
    if (v && *v) {
        snprintf(buf, sizeof buf, "%s/.cache/orfeas", v);
        return strdup(buf);
    }
    return NULL;
}

/* mkdir -p with mode 0700 for what it creates. */
static int mkdir_parents(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int open_subdir(int parent, const char *name, int create)
{
    if (create && mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
        return -1;
    return openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int cache_open(orf_cache **out, const char *dir, double ttl_seconds, orf_err *e)
{
    *out = NULL;
    cache_sodium_init();
    fsize_limit_as_error(); /* a full file-size limit gives EFBIG, not SIGXFSZ */
    double ttl = ttl_seconds;
    if (ttl < 0) {
        const char *v = getenv("ORFEAS_CACHE_TTL");
        ttl = CACHE_DEFAULT_TTL;
        if (v && *v) {
            orf_err pe;
            if (units_parse_duration(v, &ttl, &pe) < 0)
                return orf_fail(e, "bad_request", "ORFEAS_CACHE_TTL: %s", pe.message);
        }
    }
    orf_cache *c = calloc(1, sizeof *c);
    if (!c)
        return orf_fail(e, "cache_error", "out of memory");
    c->root_fd = c->objects_fd = c->requests_fd = c->stats_fd = -1;
    c->ttl = ttl;
    c->dir = resolve_dir(dir);
    if (!c->dir) {
        cache_close(c);
        return orf_fail(e, "cache_error", "no cache folder: set --cache-dir, ORFEAS_CACHE_DIR or HOME");
    }
    if (mkdir_parents(c->dir) < 0) {
        orf_fail(e, "cache_error", "cache folder %s: cannot create: %s", c->dir, strerror(errno));
        cache_close(c);
        return -1;
    }
    c->root_fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (c->root_fd < 0 || fstat(c->root_fd, &st) < 0) {
        orf_fail(e, "cache_error", "cache folder %s: %s", c->dir, strerror(errno));
        cache_close(c);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        orf_fail(e, "cache_error", "cache folder %s belongs to uid %u, not to you (uid %u): refusing to use it",
                 c->dir, (unsigned)st.st_uid, (unsigned)geteuid());
        cache_close(c);
        return -1;
    }
    if (st.st_mode & S_IWOTH) {
        orf_fail(e, "cache_error", "cache folder %s is writable by others (mode %04o): refusing to use it",
                 c->dir, (unsigned)(st.st_mode & 07777));
        cache_close(c);
        return -1;
    }
    c->objects_fd = open_subdir(c->root_fd, "objects", 1);
    c->requests_fd = c->objects_fd < 0 ? -1 : open_subdir(c->root_fd, "requests", 1);
    c->stats_fd = c->requests_fd < 0 ? -1 : open_subdir(c->root_fd, "stats", 1);
    if (c->stats_fd < 0) {
        int saved = errno;
        orf_fail(e, "cache_error", "cache folder %s: cannot use objects/, requests/ or stats/: %s%s", c->dir,
                 strerror(saved), saved == ELOOP || saved == ENOTDIR ? " (symbolic links are not followed)" : "");
        cache_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

void cache_close(orf_cache *c)
{
    if (!c)
        return;
    int fds[] = {c->root_fd, c->objects_fd, c->requests_fd, c->stats_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(c->dir);
    free(c);
}

const char *cache_dir(const orf_cache *c) { return c->dir; }

double cache_ttl(const orf_cache *c) { return c->ttl; }

int cache_kind_fd(const orf_cache *c, cache_kind kind)
{
    return kind == CACHE_OBJECT ? c->objects_fd : c->requests_fd;
}

int cache_shard_open(const orf_cache *c, cache_kind kind, const char *key, int create)
{
    char shard[3] = {key[0], key[1], 0};
    return open_subdir(cache_kind_fd(c, kind), shard, create);
}

int cache_object_path(const orf_cache *c, const char *key, char *path, size_t size, orf_err *e)
{
    if (!cache_key_valid(key))
        return orf_fail(e, "bad_key", "'%.80s' is not a key (64 lowercase hex characters)", key ? key : "");
    if ((size_t)snprintf(path, size, "%s/objects/%.2s/%s", c->dir, key, key + 2) >= size)
        return orf_fail(e, "cache_error", "path of object %s is longer than %zu bytes", key, size);
    return 0;
}

/* ---- atomic writes ------------------------------------------------------------ */

int cache_temp_create(int dir_fd, char name[32], mode_t mode)
{
    for (int tries = 0; tries < 100; tries++) {
        unsigned char r[8];
        randombytes_buf(r, sizeof r);
        char hx[17];
        for (int i = 0; i < 8; i++)
            snprintf(hx + 2 * i, 3, "%02x", r[i]);
        snprintf(name, 32, "%s%s", CACHE_TEMP_PREFIX, hx);
        int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

static int write_all(int fd, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int cache_atomic_write_at(int shard_fd, const char *name, const void *data, size_t n)
{
    char tmp[32];
    int fd = cache_temp_create(shard_fd, tmp, 0600);
    if (fd < 0)
        return -1;
    if (write_all(fd, data, n) < 0 || fsync(fd) < 0 || close(fd) < 0) {
        int saved = errno;
        close(fd);
        unlinkat(shard_fd, tmp, 0);
        errno = saved;
        return -1;
    }
    if (renameat(shard_fd, tmp, shard_fd, name) < 0) {
        int saved = errno;
        unlinkat(shard_fd, tmp, 0);
        errno = saved;
        return -1;
    }
    fsync(shard_fd); /* the rename itself survives a crash */
    return 0;
}

int cache_write_file_atomic(const char *path, const void *data, size_t n, orf_err *e)
{
    fsize_limit_as_error();
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return orf_fail(e, "io_error", "%.100s...: path too long", path);
    char *slash = strrchr(dir, '/');
    const char *base = path;
    if (slash) {
        base = path + (slash - dir) + 1;
        if (slash == dir)
            slash[1] = 0;
        else
            *slash = 0;
    } else {
        strcpy(dir, ".");
    }
    if (!*base)
        return orf_fail(e, "io_error", "%s: not a file name", path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return orf_fail_errno(e, "io_error", path);
    char tmp[32];
    mode_t um = umask(0);
    umask(um);
    int fd = cache_temp_create(dfd, tmp, 0666 & ~um);
    if (fd < 0) {
        int saved = errno;
        close(dfd);
        errno = saved;
        return orf_fail_errno(e, "io_error", path);
    }
    if (write_all(fd, data, n) < 0 || fsync(fd) < 0 || close(fd) < 0 || renameat(dfd, tmp, dfd, base) < 0) {
        int saved = errno;
        close(fd);
        unlinkat(dfd, tmp, 0);
        close(dfd);
        errno = saved;
        return orf_fail_errno(e, "io_error", path);
    }
    fsync(dfd);
    close(dfd);
    return 0;
}

/* ---- reading ---------------------------------------------------------------- */

double cache_mtime(const struct stat *st)
{
    return (double)st->st_mtim.tv_sec + (double)st->st_mtim.tv_nsec / 1e9;
}

int cache_read_at(int dir_fd, const char *name, size_t max, uint8_t **data, size_t *n, struct stat *st_out,
                  int *fd_out)
{
    *data = NULL;
    *n = 0;
    if (fd_out)
        *fd_out = -1;
    int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) ? 0 : -1;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > (uint64_t)max) {
        close(fd);
        return 0;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int saved = errno;
            free(buf);
            close(fd);
            errno = saved;
            return -1;
        }
        if (r == 0)
            break; /* shrank under us: the hash check will tell */
        got += (size_t)r;
    }
    buf[got] = 0;
    *data = buf;
    *n = got;
    if (st_out)
        *st_out = st;
    if (fd_out)
        *fd_out = fd;
    else
        close(fd);
    return 1;
}

/* Remove (dir_fd, name) only when it is still the file described by st. */
static void unlink_if_same(int dir_fd, const char *name, const struct stat *st)
{
    struct stat now;
    if (fstatat(dir_fd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == st->st_ino &&
        now.st_dev == st->st_dev)
        unlinkat(dir_fd, name, 0);
}

/* ---- objects ------------------------------------------------------------------ */

int cache_put_object(orf_cache *c, const void *data, size_t n, char key[65], orf_err *e)
{
    cache_hash(data, n, key);
    int sfd = cache_shard_open(c, CACHE_OBJECT, key, 1);
    if (sfd < 0)
        return orf_fail(e, "cache_error", "%s/objects/%.2s: %s", c->dir, key, strerror(errno));
    struct stat st;
    if (fstatat(sfd, key + 2, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size == (uint64_t)n) {
        /* Already there: refresh its time so a prune's grace period covers it. */
        utimensat(sfd, key + 2, NULL, AT_SYMLINK_NOFOLLOW);
        close(sfd);
        return 0;
    }
    if (cache_atomic_write_at(sfd, key + 2, data, n) < 0) {
        int saved = errno;
        close(sfd);
        return orf_fail(e, "cache_error", "%s/objects/%.2s/%s: %s", c->dir, key, key + 2, strerror(saved));
    }
    close(sfd);
    cache_count(c, 0, 0, 1, 0, n, 0);
    return 0;
}

int cache_put_file(orf_cache *c, const char *path, char key[65], uint64_t *bytes, orf_err *e)
{
    int in = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO with no writer must not hang */
    if (in < 0)
        return orf_fail_errno(e, "no_input", path);
    struct stat st;
    if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(in);
        return orf_fail(e, "no_input", "%s: not a regular file", path);
    }
    /* Write into a temporary file in objects/ while hashing, then move it
     * into its shard once the key is known. */
    char tmp[32];
    int out = cache_temp_create(c->objects_fd, tmp, 0600);
    if (out < 0) {
        close(in);
        return orf_fail(e, "cache_error", "%s/objects: %s", c->dir, strerror(errno));
    }
    sha256_state s;
    sha256_init(&s);
    unsigned char buf[1 << 16];
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = orf_fail_errno(e, "no_input", path);
            break;
        }
        if (r == 0)
            break;
        sha256_update(&s, buf, (size_t)r);
        if (write_all(out, buf, (size_t)r) < 0) {
            rc = orf_fail(e, "cache_error", "%s/objects: %s", c->dir, strerror(errno));
            break;
        }
        total += (uint64_t)r;
    }
    close(in);
    if (rc == 0 && (fsync(out) < 0 || close(out) < 0)) {
        rc = orf_fail(e, "cache_error", "%s/objects: %s", c->dir, strerror(errno));
        out = -1;
    } else if (rc == 0) {
        out = -1;
    }
    if (out >= 0)
        close(out);
    if (rc < 0) {
        unlinkat(c->objects_fd, tmp, 0);
        return rc;
    }
    unsigned char h[SHA256_BYTES];
    sha256_final(&s, h);
    hex_of(h, key);
    *bytes = total;
    int sfd = cache_shard_open(c, CACHE_OBJECT, key, 1);
    if (sfd < 0 || renameat(c->objects_fd, tmp, sfd, key + 2) < 0) {
        int saved = errno;
        if (sfd >= 0)
            close(sfd);
        unlinkat(c->objects_fd, tmp, 0);
        return orf_fail(e, "cache_error", "%s/objects/%.2s/%s: %s", c->dir, key, key + 2, strerror(saved));
    }
    fsync(sfd);
    close(sfd);
    cache_count(c, 0, 0, 1, 0, total, 0);
    return 0;
}

int cache_get_object(orf_cache *c, const char *key, uint8_t **data, size_t *n, orf_err *e)
{
    *data = NULL;
    *n = 0;
    if (!cache_key_valid(key))
        return orf_fail(e, "bad_key", "'%.80s' is not a key (64 lowercase hex characters)", key ? key : "");
    int sfd = cache_shard_open(c, CACHE_OBJECT, key, 0);
    if (sfd < 0) {
        if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
            return 0;
        return orf_fail(e, "cache_error", "%s/objects/%.2s: %s", c->dir, key, strerror(errno));
    }
    uint8_t *buf;
    size_t len;
    struct stat st;
    int rc = cache_read_at(sfd, key + 2, SIZE_MAX - 1, &buf, &len, &st, NULL);
    if (rc < 0) {
        int saved = errno;
        close(sfd);
        return orf_fail(e, "cache_error", "%s/objects/%.2s/%s: %s", c->dir, key, key + 2, strerror(saved));
    }
    if (rc == 0) {
        close(sfd);
        return 0;
    }
    char got[65];
    cache_hash(buf, len, got);
    if (strcmp(got, key) != 0) {
        unlink_if_same(sfd, key + 2, &st); /* corrupt or short: a miss, and it goes */
        free(buf);
        close(sfd);
        return 0;
    }
    close(sfd);
    *data = buf;
    *n = len;
    return 1;
}

/* ---- request entries ------------------------------------------------------------- */

int cache_put_request(orf_cache *c, const char *key, const cJSON *record, const char *const *objects,
                      size_t nobjects, double cost_ms, orf_err *e)
{
    if (!cache_key_valid(key))
        return orf_fail(e, "bad_key", "'%.80s' is not a key (64 lowercase hex characters)", key ? key : "");
    for (size_t i = 0; i < nobjects; i++)
        if (!cache_key_valid(objects[i]))
            return orf_fail(e, "bad_key", "object '%.80s' is not a key", objects[i] ? objects[i] : "");
    if (!cJSON_IsObject(record))
        return orf_fail(e, "bad_request", "a cached record must be a JSON object");
    double now = units_wall_seconds();
    cJSON *ent = cJSON_CreateObject();
    cJSON *objs = cJSON_CreateArray();
    cJSON *rec = cJSON_Duplicate(record, 1);
    if (!ent || !objs || !rec) {
        cJSON_Delete(ent);
        cJSON_Delete(objs);
        cJSON_Delete(rec);
        return orf_fail(e, "cache_error", "out of memory");
    }
    cJSON_AddStringToObject(ent, "key", key);
    cJSON_AddNumberToObject(ent, "created", now);
    cJSON_AddNumberToObject(ent, "used", now);
    cJSON_AddNumberToObject(ent, "cost_ms", isfinite(cost_ms) && cost_ms > 0 ? cost_ms : 0);
    for (size_t i = 0; i < nobjects; i++)
        cJSON_AddItemToArray(objs, cJSON_CreateString(objects[i]));
    cJSON_AddItemToObject(ent, "objects", objs);
    cJSON_AddItemToObject(ent, "record", rec);
    char *text = cJSON_PrintUnformatted(ent);
    cJSON_Delete(ent);
    if (!text)
        return orf_fail(e, "cache_error", "out of memory");
    size_t len = strlen(text);
    int sfd = cache_shard_open(c, CACHE_REQUEST, key, 1);
    int rc = 0;
    if (sfd < 0 || cache_atomic_write_at(sfd, key + 2, text, len) < 0)
        rc = orf_fail(e, "cache_error", "%s/requests/%.2s/%s: %s", c->dir, key, key + 2, strerror(errno));
    if (sfd >= 0)
        close(sfd);
    free(text);
    if (rc == 0)
        cache_count(c, 0, 0, 1, 0, len, 0);
    return rc;
}

cJSON *cache_entry_parse(const uint8_t *data, size_t n)
{
    cJSON *ent = cJSON_ParseWithLength((const char *)data, n);
    if (!cJSON_IsObject(ent) || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ent, "record")) ||
        !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(ent, "created")) ||
        !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(ent, "objects"))) {
        cJSON_Delete(ent);
        return NULL;
    }
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(ent, "objects")) {
        if (!cJSON_IsString(o) || !cache_key_valid(o->valuestring)) {
            cJSON_Delete(ent);
            return NULL;
        }
    }
    return ent;
}

/* 1 when the object exists as a regular file. */
static int object_present(const orf_cache *c, const char *key)
{
    int sfd = cache_shard_open(c, CACHE_OBJECT, key, 0);
    if (sfd < 0)
        return 0;
    struct stat st;
    int ok = fstatat(sfd, key + 2, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
    close(sfd);
    return ok;
}

int cache_get_request(orf_cache *c, const char *key, cJSON **record, orf_err *e)
{
    *record = NULL;
    if (!cache_key_valid(key))
        return orf_fail(e, "bad_key", "'%.80s' is not a key (64 lowercase hex characters)", key ? key : "");
    int sfd = cache_shard_open(c, CACHE_REQUEST, key, 0);
    if (sfd < 0) {
        if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) {
            cache_count(c, 0, 1, 0, 0, 0, 0);
            return 0;
        }
        return orf_fail(e, "cache_error", "%s/requests/%.2s: %s", c->dir, key, strerror(errno));
    }
    uint8_t *buf;
    size_t len;
    int fd = -1;
    int rc = cache_read_at(sfd, key + 2, CACHE_MAX_ENTRY_BYTES, &buf, &len, NULL, &fd);
    close(sfd);
    if (rc < 0)
        return orf_fail(e, "cache_error", "%s/requests/%.2s/%s: %s", c->dir, key, key + 2, strerror(errno));
    int hit = 0;
    cJSON *ent = rc ? cache_entry_parse(buf, len) : NULL;
    free(buf);
    double cost = 0;
    if (ent) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(ent, "key");
        double created = cJSON_GetObjectItemCaseSensitive(ent, "created")->valuedouble;
        hit = cJSON_IsString(k) && strcmp(k->valuestring, key) == 0;
        if (hit && c->ttl > 0 && units_wall_seconds() - created >= c->ttl)
            hit = 0;
        const cJSON *o;
        cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(ent, "objects")) {
            if (hit && !object_present(c, o->valuestring))
                hit = 0;
        }
        const cJSON *cm = cJSON_GetObjectItemCaseSensitive(ent, "cost_ms");
        if (cJSON_IsNumber(cm) && isfinite(cm->valuedouble) && cm->valuedouble > 0)
            cost = cm->valuedouble;
    }
    if (hit) {
        *record = cJSON_DetachItemFromObjectCaseSensitive(ent, "record");
        futimens(fd, NULL); /* the entry's mtime is its last use */
    }
    if (fd >= 0)
        close(fd);
    cJSON_Delete(ent);
    cache_count(c, hit ? 1 : 0, hit ? 0 : 1, 0, 0, 0, hit ? cost : 0);
    return hit;
}

/* ---- counters -------------------------------------------------------------------
 * stats/counters.N (N = pid % CACHE_COUNTER_SHARDS): one line per counter,
 * fixed width, rewritten in place under flock(LOCK_EX). A pwrite of under a
 * page to a regular file is never seen half done by another process; the
 * lock orders the read-modify-write cycles, so no increment is lost. */

static const char *const counter_names[] = {"hits", "misses", "stores", "evictions", "bytes_written",
                                            "time_saved_us"};
#define NCOUNTERS 6

static void counters_parse(const char *text, uint64_t v[NCOUNTERS])
{
    for (int i = 0; i < NCOUNTERS; i++)
        v[i] = 0;
    const char *p = text;
    while (p && *p) {
        char name[32];
        unsigned long long x;
        if (sscanf(p, "%31s %llu", name, &x) == 2)
            for (int i = 0; i < NCOUNTERS; i++)
                if (strcmp(name, counter_names[i]) == 0)
                    v[i] = x;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
}

static int counters_update(orf_cache *c, int shard, const uint64_t add[NCOUNTERS], int zero,
                           uint64_t out[NCOUNTERS])
{
    char name[32];
    snprintf(name, sizeof name, "counters.%d", shard);
    int fd = openat(c->stats_fd, name, (add || zero ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC,
                    0600);
    if (fd < 0)
        return errno == ENOENT && !add && !zero ? 0 : -1;
    int rc = 0;
    while ((rc = flock(fd, add || zero ? LOCK_EX : LOCK_SH)) < 0 && errno == EINTR)
        ;
    char text[1024];
    ssize_t r = rc < 0 ? -1 : pread(fd, text, sizeof text - 1, 0);
    uint64_t v[NCOUNTERS];
    text[r > 0 ? r : 0] = 0;
    counters_parse(text, v);
    if (r >= 0 && (add || zero)) {
        int len = 0;
        for (int i = 0; i < NCOUNTERS; i++) {
            uint64_t x = zero ? 0 : v[i] + add[i];
            v[i] = x;
            len += snprintf(text + len, sizeof text - (size_t)len, "%-14s %20llu\n", counter_names[i],
                            (unsigned long long)x);
        }
        if (pwrite(fd, text, (size_t)len, 0) != len)
            r = -1;
    }
    if (out)
        for (int i = 0; i < NCOUNTERS; i++)
            out[i] += v[i];
    int saved = errno;
    close(fd); /* releases the lock */
    errno = saved;
    return r < 0 ? -1 : 0;
}

int cache_counters_add(orf_cache *c, const cache_counters *d, orf_err *e)
{
    uint64_t add[NCOUNTERS] = {d->hits, d->misses, d->stores, d->evictions, d->bytes_written,
                               (uint64_t)llround(d->time_saved_ms > 0 ? d->time_saved_ms * 1000.0 : 0)};
    if (counters_update(c, (int)(getpid() % CACHE_COUNTER_SHARDS), add, 0, NULL) < 0)
        return orf_fail(e, "cache_error", "%s/stats: %s", c->dir, strerror(errno));
    return 0;
}

void cache_count(orf_cache *c, uint64_t hits, uint64_t misses, uint64_t stores, uint64_t evictions,
                 uint64_t bytes, double saved_ms)
{
    cache_counters d = {hits, misses, stores, evictions, bytes, saved_ms};
    cache_counters_add(c, &d, NULL); /* a counter that cannot be written does not fail the work */
}

int cache_counters_read(orf_cache *c, cache_counters *out, orf_err *e)
{
    uint64_t v[NCOUNTERS] = {0};
    for (int s = 0; s < CACHE_COUNTER_SHARDS; s++)
        if (counters_update(c, s, NULL, 0, v) < 0)
            return orf_fail(e, "cache_error", "%s/stats/counters.%d: %s", c->dir, s, strerror(errno));
    out->hits = v[0];
    out->misses = v[1];
    out->stores = v[2];
    out->evictions = v[3];
    out->bytes_written = v[4];
    out->time_saved_ms = (double)v[5] / 1000.0;
    return 0;
}

int cache_counters_zero(orf_cache *c, orf_err *e)
{
    for (int s = 0; s < CACHE_COUNTER_SHARDS; s++)
        if (counters_update(c, s, NULL, 1, NULL) < 0)
            return orf_fail(e, "cache_error", "%s/stats/counters.%d: %s", c->dir, s, strerror(errno));
    return 0;
}
