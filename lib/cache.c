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

#include "atomic_file.h"
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

/* ---- limits: environment, config file, default ------------------------------- */

/* The config file: lines "name = value" ('#' starts a comment), names
 * max_size and max_age (a '-' is taken for the '_'). */
#define CONFIG_FILE "config"
#define CONFIG_MAX_BYTES 65536

static int config_name(const char *s, size_t n)
{
    if (n == 8 && (!strncmp(s, "max_size", 8) || !strncmp(s, "max-size", 8)))
        return 1;
    if (n == 7 && (!strncmp(s, "max_age", 7) || !strncmp(s, "max-age", 7)))
        return 2;
    return 0;
}

/* One line of the config: which setting (0: blank or comment) and its value
 * (NUL-terminated in val). -1 when it is not a setting. */
static int config_line(const char *line, size_t len, char *val, size_t vsize)
{
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
        len--;
    while (len && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    if (!len || *line == '#')
        return 0;
    const char *eq = memchr(line, '=', len);
    if (!eq)
        return -1;
    size_t nl = (size_t)(eq - line);
    while (nl && (line[nl - 1] == ' ' || line[nl - 1] == '\t'))
        nl--;
    int which = config_name(line, nl);
    const char *v = eq + 1;
    size_t vl = len - (size_t)(v - line);
    while (vl && (*v == ' ' || *v == '\t')) {
        v++;
        vl--;
    }
    if (!which || vl >= vsize)
        return -1;
    memcpy(val, v, vl);
    val[vl] = 0;
    return which;
}

/* Read the config file: the settings it has (set_size, set_age). */
static int config_read(orf_cache *c, int *set_size, uint64_t *size, int *set_age, double *age, orf_err *e)
{
    *set_size = *set_age = 0;
    uint8_t *text;
    size_t n;
    int rc = cache_read_at(c->root_fd, CONFIG_FILE, CONFIG_MAX_BYTES, &text, &n, NULL, NULL);
    if (rc < 0)
        return orf_fail(e, "cache_error", "%s/%s: %s", c->dir, CONFIG_FILE, strerror(errno));
    if (rc == 0)
        return 0;
    const char *p = (const char *)text, *end = p + n;
    int lineno = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        char val[128];
        int which = config_line(p, len, val, sizeof val);
        orf_err pe;
        if (which < 0 || (which == 1 && units_parse_size(val, size, &pe) < 0) ||
            (which == 2 && units_parse_duration(val, age, &pe) < 0)) {
            orf_fail(e, "cache_error", "%s/%s, line %d: not 'max_size = SIZE' or 'max_age = DURATION'; "
                     "fix it or set it again with dedup-cache config", c->dir, CONFIG_FILE, lineno);
            free(text);
            return -1;
        }
        if (which == 1)
            *set_size = 1;
        if (which == 2)
            *set_age = 1;
        p = nl ? nl + 1 : end;
    }
    free(text);
    return 0;
}

/* The limits in force: the environment, else the config file, else the defaults. */
static int limits_resolve(orf_cache *c, orf_err *e)
{
    int cs, ca;
    uint64_t size = 0;
    double age = 0;
    if (config_read(c, &cs, &size, &ca, &age, e) < 0)
        return -1;
    c->max_size = cs ? size : CACHE_DEFAULT_MAX_SIZE;
    c->max_size_source = cs ? "config" : "default";
    c->max_age = ca ? age : CACHE_DEFAULT_MAX_AGE;
    c->max_age_source = ca ? "config" : "default";
    const char *v = getenv("ORFEAS_CACHE_MAX_SIZE");
    orf_err pe;
    if (v && *v) {
        if (units_parse_size(v, &c->max_size, &pe) < 0)
            return orf_fail(e, "bad_request", "ORFEAS_CACHE_MAX_SIZE: %s", pe.message);
        c->max_size_source = "environment";
    }
    v = getenv("ORFEAS_CACHE_MAX_AGE");
    if (v && *v) {
        if (units_parse_duration(v, &c->max_age, &pe) < 0)
            return orf_fail(e, "bad_request", "ORFEAS_CACHE_MAX_AGE: %s", pe.message);
        c->max_age_source = "environment";
    }
    return 0;
}

uint64_t cache_max_size(const orf_cache *c) { return c->max_size; }
double cache_max_age(const orf_cache *c) { return c->max_age; }
const char *cache_max_size_source(const orf_cache *c) { return c->max_size_source; }
const char *cache_max_age_source(const orf_cache *c) { return c->max_age_source; }

int cache_config_set(orf_cache *c, const char *name, const char *value, orf_err *e)
{
    int which = name ? config_name(name, strlen(name)) : 0;
    if (!which)
        return orf_fail(e, "bad_request", "'%s' is not a setting (max_size or max_age)", name ? name : "");
    orf_err pe;
    uint64_t size;
    double age;
    if (value && which == 1 && units_parse_size(value, &size, &pe) < 0)
        return orf_fail(e, "bad_request", "max_size: %s", pe.message);
    if (value && which == 2 && units_parse_duration(value, &age, &pe) < 0)
        return orf_fail(e, "bad_request", "max_age: %s", pe.message);
    if (value && strlen(value) > 100)
        return orf_fail(e, "bad_request", "%s: value too long", name);
    uint8_t *text = NULL;
    size_t n = 0;
    int rc = cache_read_at(c->root_fd, CONFIG_FILE, CONFIG_MAX_BYTES, &text, &n, NULL, NULL);
    if (rc < 0)
        return orf_fail(e, "cache_error", "%s/%s: %s", c->dir, CONFIG_FILE, strerror(errno));
    /* every other line as it was, this setting's line replaced (or added) */
    size_t cap = n + 256;
    char *out = malloc(cap);
    if (!out) {
        free(text);
        return orf_fail(e, "cache_error", "out of memory");
    }
    size_t len = 0;
    int written = 0;
    const char *p = (const char *)text, *end = p + n;
    while (rc == 1 && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char val[128];
        if (config_line(p, ll, val, sizeof val) == which) {
            if (value && !written)
                len += (size_t)snprintf(out + len, cap - len, "%s = %s\n", which == 1 ? "max_size" : "max_age", value);
            written = 1;
        } else {
            memcpy(out + len, p, ll);
            len += ll;
            out[len++] = '\n';
        }
        p = nl ? nl + 1 : end;
    }
    if (value && !written)
        len += (size_t)snprintf(out + len, cap - len, "%s = %s\n", which == 1 ? "max_size" : "max_age", value);
    free(text);
    rc = atomic_write_at(c->root_fd, CONFIG_FILE, out, len, ATOMIC_MODE_PRIVATE);
    free(out);
    if (rc < 0)
        return orf_fail(e, "cache_error", "%s/%s: %s", c->dir, CONFIG_FILE, strerror(errno));
    /* the open cache follows, unless the environment decides */
    const char *src = which == 1 ? c->max_size_source : c->max_age_source;
    if (strcmp(src, "environment") != 0) {
        if (which == 1) {
            c->max_size = value ? size : CACHE_DEFAULT_MAX_SIZE;
            c->max_size_source = value ? "config" : "default";
        } else {
            c->max_age = value ? age : CACHE_DEFAULT_MAX_AGE;
            c->max_age_source = value ? "config" : "default";
        }
    }
    return 0;
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
    struct stat sst;
    int fresh = fstatat(c->root_fd, "stats", &sst, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
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
    if (fresh) {
        /* a new cache: its size (0) is known, and the next prune is a day away */
        int sfd = openat(c->stats_fd, CACHE_STAMP, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (sfd >= 0)
            close(sfd);
    }
    if (limits_resolve(c, e) < 0) {
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

/* ---- writing: the one atomic writer (atomic_file.h) ------------------------------- */

int cache_atomic_write_at(int shard_fd, const char *name, const void *data, size_t n)
{
    return atomic_write_at(shard_fd, name, data, n, ATOMIC_MODE_PRIVATE);
}

int cache_write_file_atomic(const char *path, const void *data, size_t n, orf_err *e)
{
    return atomic_write_path(path, data, n, ATOMIC_MODE_FILE, e);
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
        int saved = errno;
        close(fd);
        errno = saved;
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

/* pread all of n bytes at off, EINTR retried: the bytes read (short at the end). */
static ssize_t pread_full(int fd, void *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (uint8_t *)buf + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int cache_hash_fd(int fd, char key[65], uint64_t *bytes)
{
    uint8_t *buf = malloc(CACHE_IO_CHUNK);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    sha256_state s;
    sha256_init(&s);
    uint64_t off = 0;
    for (;;) {
        ssize_t r = pread_full(fd, buf, CACHE_IO_CHUNK, (off_t)off);
        if (r < 0) {
            int saved = errno;
            free(buf);
            errno = saved;
            return -1;
        }
        if (r == 0)
            break;
        sha256_update(&s, buf, (size_t)r);
        off += (uint64_t)r;
    }
    free(buf);
    unsigned char h[SHA256_BYTES];
    sha256_final(&s, h);
    hex_of(h, key);
    if (bytes)
        *bytes = off;
    return 0;
}

int cache_unlink_if_same(int dir_fd, const char *name, const struct stat *st)
{
    struct stat now;
    if (fstatat(dir_fd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == st->st_ino &&
        now.st_dev == st->st_dev)
        return unlinkat(dir_fd, name, 0) == 0;
    return 0;
}

/* An object opened for reading: its shard folder, the file, its stat. */
typedef struct obj_file {
    int sfd, fd;
    struct stat st;
} obj_file;

static void obj_close(obj_file *o)
{
    if (o->fd >= 0)
        close(o->fd);
    if (o->sfd >= 0)
        close(o->sfd);
    o->fd = o->sfd = -1;
}

/* Open the object key: 1 (both fds open), 0 absent or not a regular file,
 * -1 with errno (nothing open). */
static int obj_open(const orf_cache *c, const char *key, obj_file *o)
{
    o->sfd = o->fd = -1;
    o->sfd = cache_shard_open(c, CACHE_OBJECT, key, 0);
    if (o->sfd < 0)
        return (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) ? 0 : -1;
    o->fd = openat(o->sfd, key + 2, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (o->fd < 0) {
        int saved = errno;
        obj_close(o);
        errno = saved;
        return (saved == ENOENT || saved == ELOOP || saved == ENOTDIR) ? 0 : -1;
    }
    if (fstat(o->fd, &o->st) < 0) {
        int saved = errno;
        obj_close(o);
        errno = saved;
        return -1;
    }
    if (!S_ISREG(o->st.st_mode)) {
        obj_close(o);
        return 0;
    }
    return 1;
}

/* A corrupt object: removed (unless replaced meanwhile), and the size
 * estimate follows. Closes o. */
static void obj_drop(orf_cache *c, obj_file *o, const char *key)
{
    if (cache_unlink_if_same(o->sfd, key + 2, &o->st))
        cache_count(c, 0, 0, 0, 0, 0, 0, -(int64_t)o->st.st_size);
    obj_close(o);
}

int cache_object_fd(const orf_cache *c, const char *key, int *fd, struct stat *st)
{
    obj_file o;
    int rc = obj_open(c, key, &o);
    if (rc == 1) {
        close(o.sfd);
        *fd = o.fd;
        if (st)
            *st = o.st;
    }
    return rc;
}

/* Check an object's bytes against its key (streamed): 1 they match (and,
 * with `use`, it is marked used), 0 absent or corrupt (removed), -1 cannot
 * read it (errno; left alone). */
static int object_check(orf_cache *c, const char *key, int use)
{
    obj_file o;
    int rc = obj_open(c, key, &o);
    if (rc <= 0)
        return rc;
    char got[65];
    if (cache_hash_fd(o.fd, got, NULL) < 0) {
        int saved = errno;
        obj_close(&o);
        errno = saved;
        return -1;
    }
    if (strcmp(got, key) != 0) {
        obj_drop(c, &o, key);
        return 0;
    }
    if (use)
        futimens(o.fd, NULL); /* its mtime is its last use (prune's LRU clock) */
    obj_close(&o);
    return 1;
}

/* ---- objects ------------------------------------------------------------------ */

/* 1 when the file behind fd holds exactly the n bytes at data (streamed),
 * 0 when it does not, -1 on a read error. */
static int same_bytes(int fd, const void *data, size_t n)
{
    uint8_t *buf = malloc(CACHE_IO_CHUNK);
    if (!buf)
        return -1;
    const uint8_t *p = data;
    size_t off = 0;
    int same = -1;
    for (;;) {
        ssize_t r = pread_full(fd, buf, CACHE_IO_CHUNK, (off_t)off);
        if (r < 0)
            break;
        if (r == 0) {
            same = off == n;
            break;
        }
        if ((size_t)r > n - off || memcmp(buf, p + off, (size_t)r) != 0) {
            same = 0;
            break;
        }
        off += (size_t)r;
    }
    free(buf);
    return same;
}

int cache_put_object(orf_cache *c, const void *data, size_t n, char key[65], orf_err *e)
{
    cache_hash(data, n, key);
    int sfd = cache_shard_open(c, CACHE_OBJECT, key, 1);
    if (sfd < 0)
        return orf_fail(e, "cache_error", "%s/objects/%.2s: %s", c->dir, key, strerror(errno));
    int64_t replaced = 0;
    int fd = openat(sfd, key + 2, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) {
        struct stat st, now;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            replaced = (int64_t)st.st_size;
            if ((uint64_t)st.st_size == (uint64_t)n && same_bytes(fd, data, n) == 1) {
                /* Already there, whole: mark it used, so a prune's grace period covers it,
                 * and make sure a prune did not take it meanwhile. */
                futimens(fd, NULL);
                int still = fstatat(sfd, key + 2, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == st.st_ino &&
                            now.st_dev == st.st_dev;
                close(fd);
                if (still) {
                    close(sfd);
                    return 0;
                }
                fd = -1;
                replaced = 0;
            }
            /* else other bytes under this name (corrupted on disk): replaced below */
        }
        if (fd >= 0)
            close(fd);
    }
    if (cache_atomic_write_at(sfd, key + 2, data, n) < 0) {
        int saved = errno;
        close(sfd);
        return orf_fail(e, "cache_error", "%s/objects/%.2s/%s: %s", c->dir, key, key + 2, strerror(saved));
    }
    close(sfd);
    cache_count(c, 0, 0, 1, 0, n, 0, (int64_t)n - replaced);
    cache_autoprune(c, n);
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
    uint8_t *buf = malloc(CACHE_IO_CHUNK);
    if (!buf) {
        close(in);
        return orf_fail(e, "cache_error", "out of memory");
    }
    /* Written into a temporary file in objects/ while hashing, then moved
     * into its shard once the key is known. */
    atomic_file af;
    if (atomic_open_at(&af, c->objects_fd, NULL, ATOMIC_MODE_PRIVATE) < 0) {
        int saved = errno;
        free(buf);
        close(in);
        return orf_fail(e, "cache_error", "%s/objects: %s", c->dir, strerror(saved));
    }
    sha256_state s;
    sha256_init(&s);
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        ssize_t r = read(in, buf, CACHE_IO_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = orf_fail_errno(e, "no_input", path);
            break;
        }
        if (r == 0)
            break;
        sha256_update(&s, buf, (size_t)r);
        if (atomic_write(&af, buf, (size_t)r) < 0) {
            rc = orf_fail(e, "cache_error", "%s/objects: %s", c->dir, strerror(errno));
            break;
        }
        total += (uint64_t)r;
    }
    close(in);
    free(buf);
    if (rc < 0) {
        atomic_abort(&af);
        return rc;
    }
    unsigned char h[SHA256_BYTES];
    sha256_final(&s, h);
    hex_of(h, key);
    *bytes = total;
    int sfd = cache_shard_open(c, CACHE_OBJECT, key, 1);
    if (sfd < 0) {
        int saved = errno;
        atomic_abort(&af);
        return orf_fail(e, "cache_error", "%s/objects/%.2s: %s", c->dir, key, strerror(saved));
    }
    struct stat old;
    int64_t replaced = fstatat(sfd, key + 2, &old, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(old.st_mode)
                           ? (int64_t)old.st_size
                           : 0;
    /* Renamed over whatever is there: the same bytes, or a corrupted copy. */
    if (atomic_commit_to(&af, sfd, key + 2) < 0) {
        int saved = errno;
        close(sfd);
        return orf_fail(e, "cache_error", "%s/objects/%.2s/%s: %s", c->dir, key, key + 2, strerror(saved));
    }
    close(sfd);
    cache_count(c, 0, 0, 1, 0, total, 0, (int64_t)total - replaced);
    cache_autoprune(c, total);
    return 0;
}

static int bad_key(orf_err *e, const char *key)
{
    return orf_fail(e, "bad_key", "'%.80s' is not a key (64 lowercase hex characters)", key ? key : "");
}

int cache_get_object(orf_cache *c, const char *key, uint8_t **data, size_t *n, orf_err *e)
{
    *data = NULL;
    *n = 0;
    if (!cache_key_valid(key))
        return bad_key(e, key);
    int sfd = cache_shard_open(c, CACHE_OBJECT, key, 0);
    if (sfd < 0) {
        if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
            return 0;
        return orf_fail(e, "cache_error", "%s/objects/%.2s: %s", c->dir, key, strerror(errno));
    }
    uint8_t *buf;
    size_t len;
    struct stat st;
    int fd = -1;
    int rc = cache_read_at(sfd, key + 2, SIZE_MAX - 1, &buf, &len, &st, &fd);
    if (rc < 0) {
        int saved = errno;
        close(sfd);
        return orf_fail(e, "cache_error", "%s/objects/%.2s/%s: cannot read it: %s", c->dir, key, key + 2,
                        strerror(saved));
    }
    if (rc == 0) {
        close(sfd);
        return 0;
    }
    char got[65];
    cache_hash(buf, len, got);
    if (strcmp(got, key) != 0) {
        /* corrupt or short: a miss, and it goes */
        if (cache_unlink_if_same(sfd, key + 2, &st))
            cache_count(c, 0, 0, 0, 0, 0, 0, -(int64_t)st.st_size);
        free(buf);
        close(fd);
        close(sfd);
        return 0;
    }
    futimens(fd, NULL); /* a read is a use */
    close(fd);
    close(sfd);
    *data = buf;
    *n = len;
    return 1;
}


/* Copy object `o` (key `key`) to a sink in chunks, hashing as it goes: 1
 * when every byte went out and they hash to the key, 0 when they do not, -1
 * when reading ("cache_error") or the sink ("io_error", naming `out`) failed. */
typedef int (*sink_fn)(void *ctx, const uint8_t *p, size_t n);

static int copy_checked(orf_cache *c, obj_file *o, const char *key, sink_fn sink, void *ctx,
                        const char *out, uint64_t *bytes, orf_err *e)
{
    uint8_t *buf = malloc(CACHE_IO_CHUNK);
    if (!buf)
        return orf_fail(e, "cache_error", "out of memory");
    sha256_state s;
    sha256_init(&s);
    uint64_t off = 0;
    int rc = 1;
    for (;;) {
        ssize_t r = pread_full(o->fd, buf, CACHE_IO_CHUNK, (off_t)off);
        if (r < 0) {
            rc = orf_fail(e, "cache_error", "%s/objects/%.2s/%s: cannot read it: %s", c->dir, key,
                          key + 2, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        sha256_update(&s, buf, (size_t)r);
        if (sink(ctx, buf, (size_t)r) < 0) {
            int saved = errno;
            rc = orf_fail(e, "io_error", "writing object %s to %s: %s", key, out, strerror(saved));
            errno = saved;
            break;
        }
        off += (uint64_t)r;
    }
    free(buf);
    *bytes = off;
    if (rc < 0)
        return -1;
    char got[65];
    unsigned char h[SHA256_BYTES];
    sha256_final(&s, h);
    hex_of(h, got);
    return strcmp(got, key) == 0;
}

static int sink_fd(void *ctx, const uint8_t *p, size_t n)
{
    return atomic_write_all(*(const int *)ctx, p, n);
}

static int sink_atomic(void *ctx, const uint8_t *p, size_t n)
{
    return atomic_write(ctx, p, n);
}

int cache_get_object_fd(orf_cache *c, const char *key, int out_fd, uint64_t *bytes, orf_err *e)
{
    *bytes = 0;
    if (!cache_key_valid(key))
        return bad_key(e, key);
    obj_file o;
    int rc = obj_open(c, key, &o);
    if (rc < 0)
        return orf_fail(e, "cache_error", "%s/objects/%.2s/%s: %s", c->dir, key, key + 2, strerror(errno));
    if (rc == 0)
        return 0;
    /* first the check, then the copy: nothing goes out that does not match */
    char got[65];
    if (cache_hash_fd(o.fd, got, NULL) < 0) {
        int saved = errno;
        obj_close(&o);
        return orf_fail(e, "cache_error", "%s/objects/%.2s/%s: cannot read it: %s", c->dir, key, key + 2,
                        strerror(saved));
    }
    if (strcmp(got, key) != 0) {
        obj_drop(c, &o, key);
        return 0;
    }
    rc = copy_checked(c, &o, key, sink_fd, &out_fd, "standard output", bytes, e);
    if (rc == 0)
        rc = orf_fail(e, "cache_error", "object %s changed while it was being read: run dedup-cache verify",
                      key);
    else if (rc == 1)
        futimens(o.fd, NULL);
    int saved = errno;
    obj_close(&o);
    errno = saved;
    return rc;
}

int cache_get_object_file(orf_cache *c, const char *key, const char *path, uint64_t *bytes, orf_err *e)
{
    *bytes = 0;
    if (!cache_key_valid(key))
        return bad_key(e, key);
    obj_file o;
    int rc = obj_open(c, key, &o);
    if (rc < 0)
        return orf_fail(e, "cache_error", "%s/objects/%.2s/%s: %s", c->dir, key, key + 2, strerror(errno));
    if (rc == 0)
        return 0;
    atomic_file af;
    if (atomic_open_path(&af, path, ATOMIC_MODE_FILE, e) < 0) {
        obj_close(&o);
        return -1;
    }
    uint64_t n = 0;
    rc = copy_checked(c, &o, key, sink_atomic, &af, path, &n, e);
    if (rc <= 0) {
        atomic_abort(&af); /* nothing at path */
        if (rc == 0)
            obj_drop(c, &o, key);
        else
            obj_close(&o);
        return rc;
    }
    if (atomic_commit(&af) < 0) {
        obj_close(&o);
        return orf_fail_errno(e, "io_error", path);
    }
    futimens(o.fd, NULL);
    obj_close(&o);
    *bytes = n;
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
    struct stat old;
    int64_t replaced = 0;
    if (sfd >= 0 && fstatat(sfd, key + 2, &old, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(old.st_mode))
        replaced = (int64_t)old.st_size;
    if (sfd < 0 || cache_atomic_write_at(sfd, key + 2, text, len) < 0)
        rc = orf_fail(e, "cache_error", "%s/requests/%.2s/%s: %s", c->dir, key, key + 2, strerror(errno));
    if (sfd >= 0)
        close(sfd);
    free(text);
    if (rc == 0) {
        cache_count(c, 0, 0, 1, 0, len, 0, (int64_t)len - replaced);
        cache_autoprune(c, len);
    }
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

cJSON *cache_entry_parse_checked(const uint8_t *data, size_t n, int *oom)
{
    *oom = 0;
    cJSON *ent = cache_entry_parse(data, n);
    if (!ent) {
        /* Not JSON, or no memory to parse it? cJSON cannot say; a parse
         * takes at most ~40 bytes a byte of text: if that much cannot be
         * had, the entry was not proved bad. */
        size_t want = n > (SIZE_MAX - 65536) / 40 ? SIZE_MAX : n * 40 + 65536;
        void *probe = want == SIZE_MAX ? NULL : malloc(want);
        if (!probe)
            *oom = 1;
        free(probe);
    }
    return ent;
}

int cache_get_request(orf_cache *c, const char *key, cJSON **record, orf_err *e)
{
    *record = NULL;
    if (!cache_key_valid(key))
        return orf_fail(e, "bad_key", "'%.80s' is not a key (64 lowercase hex characters)", key ? key : "");
    int sfd = cache_shard_open(c, CACHE_REQUEST, key, 0);
    if (sfd < 0) {
        if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) {
            cache_count(c, 0, 1, 0, 0, 0, 0, 0);
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
        /* Every object the record hands out is checked now: its bytes hash
         * to its key (a corrupt one is removed, and the lookup misses), and
         * it is marked used with the entry. */
        const cJSON *o;
        cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(ent, "objects")) {
            if (hit && object_check(c, o->valuestring, 1) != 1)
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
    cache_count(c, hit ? 1 : 0, hit ? 0 : 1, 0, 0, 0, hit ? cost : 0, 0);
    return hit;
}

/* ---- counters -------------------------------------------------------------------
 * stats/counters.N (N = pid % CACHE_COUNTER_SHARDS): one line per counter,
 * fixed width, rewritten in place under flock(LOCK_EX). A pwrite of under a
 * page to a regular file is never seen half done by another process; the
 * lock orders the read-modify-write cycles, so no increment is lost.
 * size_bytes is not a statistic: the shards sum (modulo 2^64) to the
 * estimate of the cache's size, which stores raise, removals lower, and a
 * prune sets to what it measured. */

static const char *const counter_names[] = {"hits", "misses", "stores", "evictions", "bytes_written",
                                            "time_saved_us", "size_bytes"};
#define NCOUNTERS 7
#define NSTATS 6 /* the first six are statistics; stats --zero resets those */

enum { CNT_READ, CNT_ADD, CNT_ZERO, CNT_SETSIZE };

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

/* One shard: read (summed into out), add `arg`, zero the statistics, or set
 * size_bytes to arg[NCOUNTERS - 1]. */
static int counters_update(orf_cache *c, int shard, int op, const uint64_t arg[NCOUNTERS], uint64_t out[NCOUNTERS])
{
    char name[32];
    snprintf(name, sizeof name, "counters.%d", shard);
    int fd = openat(c->stats_fd, name, (op != CNT_READ ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC,
                    0600);
    if (fd < 0)
        return errno == ENOENT && op == CNT_READ ? 0 : -1;
    int rc = 0;
    while ((rc = flock(fd, op != CNT_READ ? LOCK_EX : LOCK_SH)) < 0 && errno == EINTR)
        ;
    char text[1024];
    ssize_t r = rc < 0 ? -1 : pread(fd, text, sizeof text - 1, 0);
    uint64_t v[NCOUNTERS];
    text[r > 0 ? r : 0] = 0;
    counters_parse(text, v);
    if (r >= 0 && op != CNT_READ) {
        int len = 0;
        for (int i = 0; i < NCOUNTERS; i++) {
            uint64_t x = v[i];
            if (op == CNT_ADD)
                x += arg[i]; /* modulo 2^64: size_bytes takes negative deltas */
            else if (op == CNT_ZERO && i < NSTATS)
                x = 0;
            else if (op == CNT_SETSIZE && i == NCOUNTERS - 1)
                x = arg[i];
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

static int my_shard(void) { return (int)(getpid() % CACHE_COUNTER_SHARDS); }

int cache_counters_add(orf_cache *c, const cache_counters *d, orf_err *e)
{
    uint64_t add[NCOUNTERS] = {d->hits, d->misses, d->stores, d->evictions, d->bytes_written,
                               (uint64_t)llround(d->time_saved_ms > 0 ? d->time_saved_ms * 1000.0 : 0), 0};
    if (counters_update(c, my_shard(), CNT_ADD, add, NULL) < 0)
        return orf_fail(e, "cache_error", "%s/stats: %s", c->dir, strerror(errno));
    return 0;
}

void cache_count(orf_cache *c, uint64_t hits, uint64_t misses, uint64_t stores, uint64_t evictions,
                 uint64_t bytes, double saved_ms, int64_t size_delta)
{
    uint64_t add[NCOUNTERS] = {hits, misses, stores, evictions, bytes,
                               (uint64_t)llround(saved_ms > 0 ? saved_ms * 1000.0 : 0), (uint64_t)size_delta};
    /* a counter that cannot be written does not fail the work */
    int saved = errno;
    counters_update(c, my_shard(), CNT_ADD, add, NULL);
    errno = saved;
}

int cache_size_estimate(orf_cache *c, int64_t *bytes)
{
    uint64_t v[NCOUNTERS] = {0};
    for (int s = 0; s < CACHE_COUNTER_SHARDS; s++)
        if (counters_update(c, s, CNT_READ, NULL, v) < 0)
            return -1;
    *bytes = (int64_t)v[NCOUNTERS - 1];
    return 0;
}

void cache_size_set(orf_cache *c, uint64_t bytes)
{
    int saved = errno;
    for (int s = 0; s < CACHE_COUNTER_SHARDS; s++) {
        uint64_t arg[NCOUNTERS] = {0};
        arg[NCOUNTERS - 1] = s == my_shard() ? bytes : 0;
        counters_update(c, s, CNT_SETSIZE, arg, NULL);
    }
    errno = saved;
}

int cache_counters_read(orf_cache *c, cache_counters *out, orf_err *e)
{
    uint64_t v[NCOUNTERS] = {0};
    for (int s = 0; s < CACHE_COUNTER_SHARDS; s++)
        if (counters_update(c, s, CNT_READ, NULL, v) < 0)
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
        if (counters_update(c, s, CNT_ZERO, NULL, NULL) < 0)
            return orf_fail(e, "cache_error", "%s/stats/counters.%d: %s", c->dir, s, strerror(errno));
    return 0;
}
