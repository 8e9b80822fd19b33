/* cache_maint.c - walking, usage, prune (and its background start), verify,
 * remove and clear. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cache.h"
#include "cache_internal.h"
#include "units.h"

/* ---- walking -------------------------------------------------------------- */

/* What the walker meets: an entry (key set), or a temporary file (key NULL). */
typedef int (*walk_fn)(void *ctx, cache_kind kind, int dir_fd, const char *name, const char *key,
                       const struct stat *st);
/* A folder that cannot be opened or listed (errno set); may be NULL. */
typedef void (*walk_err_fn)(void *ctx, cache_kind kind, const char *folder);

static int is_hex2(const char *s)
{
    for (int i = 0; i < 2; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[2] == 0;
}

static int is_temp(const char *name) { return strncmp(name, CACHE_TEMP_PREFIX, strlen(CACHE_TEMP_PREFIX)) == 0; }

/* A directory stream over dir_fd from its start, on a duplicate of the
 * descriptor (closedir leaves dir_fd open); NULL on failure. */
static DIR *dir_stream(int dir_fd)
{
    int fd = dup(dir_fd);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        errno = saved;
        return NULL;
    }
    rewinddir(d);
    return d;
}

/* Temporary files directly under dir_fd (cache_put_file writes there). */
static int walk_temps(int dir_fd, cache_kind kind, walk_fn fn, void *ctx)
{
    DIR *d = dir_stream(dir_fd);
    if (!d)
        return -1;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        struct stat st;
        if (is_temp(de->d_name) && fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            rc = fn(ctx, kind, dir_fd, de->d_name, NULL, &st);
    }
    closedir(d);
    return rc;
}

static int walk_kind(orf_cache *c, cache_kind kind, walk_fn fn, walk_err_fn efn, void *ctx)
{
    int kfd = cache_kind_fd(c, kind);
    int rc = walk_temps(kfd, kind, fn, ctx);
    if (rc != 0)
        return rc;
    DIR *d = dir_stream(kfd);
    if (!d)
        return -1;
    struct dirent *de;
    unsigned nshards = 0, shard = 0; /* for the progress hook */
    if (c->progress) {
        while ((de = readdir(d)))
            nshards += is_hex2(de->d_name);
        rewinddir(d);
    }
    while (rc == 0 && (de = readdir(d))) {
        if (!is_hex2(de->d_name))
            continue;
        int sfd = openat(kfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sfd < 0) {
            /* a symlink or a file: not ours to follow; anything else could not be read */
            if (errno != ENOTDIR && errno != ELOOP && errno != ENOENT && efn)
                efn(ctx, kind, de->d_name);
            continue;
        }
        if (c->progress)
            c->progress(c->progress_ctx, kind == CACHE_OBJECT ? "objects" : "requests", ++shard,
                        nshards);
        DIR *sd = dir_stream(sfd);
        if (!sd) {
            if (efn)
                efn(ctx, kind, de->d_name);
            close(sfd);
            continue;
        }
        struct dirent *se;
        while (rc == 0 && (se = readdir(sd))) {
            struct stat st;
            if (se->d_name[0] == '.' && !is_temp(se->d_name))
                continue;
            if (fstatat(sfd, se->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                continue; /* gone meanwhile */
            if (is_temp(se->d_name)) {
                rc = fn(ctx, kind, sfd, se->d_name, NULL, &st);
                continue;
            }
            char key[65];
            if (strlen(se->d_name) != 62)
                continue;
            memcpy(key, de->d_name, 2);
            memcpy(key + 2, se->d_name, 63);
            if (!cache_key_valid(key))
                continue;
            rc = fn(ctx, kind, sfd, se->d_name, key, &st);
        }
        closedir(sd);
        close(sfd);
    }
    closedir(d);
    return rc;
}

static int walk2(orf_cache *c, int kinds, walk_fn fn, walk_err_fn efn, void *ctx, orf_err *e)
{
    int rc = 0;
    if (kinds & CACHE_OBJECT)
        rc = walk_kind(c, CACHE_OBJECT, fn, efn, ctx);
    if (rc == 0 && (kinds & CACHE_REQUEST))
        rc = walk_kind(c, CACHE_REQUEST, fn, efn, ctx);
    if (rc < 0)
        return orf_fail(e, "cache_error", "%s: cannot list: %s", c->dir, strerror(errno));
    return rc;
}

static int walk(orf_cache *c, int kinds, walk_fn fn, void *ctx, orf_err *e)
{
    return walk2(c, kinds, fn, NULL, ctx, e);
}

typedef struct foreach_ctx {
    int (*fn)(void *ctx, const cache_entry *en);
    void *ctx;
} foreach_ctx;

static int foreach_cb(void *ctx, cache_kind kind, int dir_fd, const char *name, const char *key,
                      const struct stat *st)
{
    (void)dir_fd;
    (void)name;
    foreach_ctx *f = ctx;
    if (!key || !S_ISREG(st->st_mode))
        return 0;
    cache_entry en = {.kind = kind, .bytes = (uint64_t)st->st_size, .mtime = cache_mtime(st)};
    memcpy(en.key, key, 65);
    return f->fn(f->ctx, &en);
}

void cache_set_progress(orf_cache *c, cache_progress_fn fn, void *ctx)
{
    c->progress = fn;
    c->progress_ctx = ctx;
}

int cache_foreach(orf_cache *c, int kinds, int (*fn)(void *ctx, const cache_entry *en), void *ctx, orf_err *e)
{
    foreach_ctx f = {fn, ctx};
    return walk(c, kinds, foreach_cb, &f, e);
}

/* ---- usage ------------------------------------------------------------------ */

static int usage_cb(void *ctx, cache_kind kind, int dir_fd, const char *name, const char *key,
                    const struct stat *st)
{
    cache_usage *u = ctx;
    if (!S_ISREG(st->st_mode))
        return 0;
    if (!key) {
        u->temps++;
        u->temp_bytes += (uint64_t)st->st_size;
        return 0;
    }
    if (kind == CACHE_OBJECT) {
        u->objects++;
        u->object_bytes += (uint64_t)st->st_size;
        return 0;
    }
    u->requests++;
    u->request_bytes += (uint64_t)st->st_size;
    uint8_t *data;
    size_t n;
    if (cache_read_at(dir_fd, name, CACHE_MAX_ENTRY_BYTES, &data, &n, NULL, NULL) == 1) {
        cJSON *ent = cache_entry_parse(data, n);
        if (ent) {
            double t = cJSON_GetObjectItemCaseSensitive(ent, "created")->valuedouble;
            if (u->oldest == 0 || t < u->oldest)
                u->oldest = t;
            if (t > u->newest)
                u->newest = t;
            cJSON_Delete(ent);
        }
        free(data);
    }
    return 0;
}

int cache_usage_scan(orf_cache *c, cache_usage *u, orf_err *e)
{
    memset(u, 0, sizeof *u);
    return walk(c, CACHE_OBJECT | CACHE_REQUEST, usage_cb, u, e) < 0 ? -1 : 0;
}

/* ---- prune --------------------------------------------------------------------
 * One scan records every entry, object and temporary file; then the rule of
 * cache.h decides, with the last use of a file being its mtime, and an
 * object counting as used when an entry naming it was. Removal re-checks
 * each file's mtime, so what was used since the scan stays. */

typedef struct preq {
    char key[65];
    double used, created;
    uint64_t bytes;
    char (*objects)[65];
    size_t nobjects;
    int dead;
    int pinned; /* could not be read: never removed, its objects unknown */
} preq;

typedef struct pobj {
    char key[65];
    double mtime; /* its own last use */
    double used;  /* mtime, or the last use of a live entry naming it if later */
    uint64_t bytes;
    long refs;
    int dead;
} pobj;

typedef struct prune_ctx {
    orf_cache *c;
    const cache_prune_opts *o;
    cache_prune_result *r;
    double now, grace, max_age;
    uint64_t max_size;
    preq *reqs;
    size_t nreqs, capreqs;
    pobj *objs;
    size_t nobjs, capobjs;
    uint64_t temp_bytes; /* temporary files kept: they count toward the size */
    int oom;
} prune_ctx;

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 256;
    void *q = realloc(*p, nc * size);
    if (!q)
        return -1;
    *p = q;
    *cap = nc;
    return 0;
}

static int prune_cb(void *ctx, cache_kind kind, int dir_fd, const char *name, const char *key,
                    const struct stat *st)
{
    prune_ctx *p = ctx;
    double mt = cache_mtime(st);
    if (!key) { /* a temporary file: stale ones go (an hour old, or their writer is gone) */
        if (!S_ISREG(st->st_mode))
            return 0;
        if (atomic_temp_stale(name, mt, p->now) && (p->o->dry_run || unlinkat(dir_fd, name, 0) == 0)) {
            p->r->temp_removed++;
            p->r->bytes_freed += (uint64_t)st->st_size;
        } else {
            p->r->temp_kept++;
            p->temp_bytes += (uint64_t)st->st_size;
        }
        return 0;
    }
    if (!S_ISREG(st->st_mode))
        return 0;
    if (kind == CACHE_OBJECT) {
        if (grow((void **)&p->objs, &p->capobjs, p->nobjs, sizeof *p->objs) < 0) {
            p->oom = 1;
            return -1;
        }
        pobj *ob = &p->objs[p->nobjs++];
        memset(ob, 0, sizeof *ob);
        memcpy(ob->key, key, 65);
        ob->mtime = ob->used = mt;
        ob->bytes = (uint64_t)st->st_size;
        return 0;
    }
    if (grow((void **)&p->reqs, &p->capreqs, p->nreqs, sizeof *p->reqs) < 0) {
        p->oom = 1;
        return -1;
    }
    preq *rq = &p->reqs[p->nreqs];
    memset(rq, 0, sizeof *rq);
    memcpy(rq->key, key, 65);
    rq->used = mt;
    rq->bytes = (uint64_t)st->st_size;
    uint8_t *data;
    size_t n;
    int rc = cache_read_at(dir_fd, name, CACHE_MAX_ENTRY_BYTES, &data, &n, NULL, NULL);
    if (rc == 0 && (uint64_t)st->st_size <= CACHE_MAX_ENTRY_BYTES)
        return 0; /* gone meanwhile */
    int oom = 0;
    cJSON *ent = rc == 1 ? cache_entry_parse_checked(data, n, &oom) : NULL;
    if (rc == 1)
        free(data);
    if (rc < 0 || oom) {
        rq->pinned = 1; /* not proved bad: it stays */
    } else if (!ent) {
        rq->dead = 1; /* written atomically, so what does not parse is corrupt (or too large) */
    } else {
        rq->created = cJSON_GetObjectItemCaseSensitive(ent, "created")->valuedouble;
        const cJSON *objs = cJSON_GetObjectItemCaseSensitive(ent, "objects");
        size_t no = (size_t)cJSON_GetArraySize(objs);
        rq->objects = no ? malloc(no * sizeof *rq->objects) : NULL;
        if (no && !rq->objects) {
            cJSON_Delete(ent);
            p->oom = 1;
            return -1;
        }
        const cJSON *o;
        cJSON_ArrayForEach(o, objs) memcpy(rq->objects[rq->nobjects++], o->valuestring, 65);
        if (p->max_age > 0 && p->now - rq->used > p->max_age)
            rq->dead = 1;
        cJSON_Delete(ent);
    }
    p->nreqs++;
    return 0;
}

static int cmp_obj(const void *a, const void *b) { return strcmp(((const pobj *)a)->key, ((const pobj *)b)->key); }

static pobj *find_obj(prune_ctx *p, const char *key)
{
    pobj k;
    memcpy(k.key, key, 65);
    return p->nobjs ? bsearch(&k, p->objs, p->nobjs, sizeof *p->objs, cmp_obj) : NULL;
}

/* Object kept whatever the rest says: used so recently that a writer may be
 * about to name it in a request entry. */
static int obj_young(const prune_ctx *p, const pobj *ob) { return p->now - ob->mtime < p->grace; }

/* One candidate of the least-recently-used order. */
typedef struct lru_item {
    double t;
    int is_obj;
    size_t i;
} lru_item;

static int cmp_lru(const void *a, const void *b)
{
    const lru_item *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->is_obj != y->is_obj) /* an entry before the objects it names */
        return x->is_obj - y->is_obj;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Unlink (kind, key) unless its mtime moved past `seen` (used or rewritten
 * since the scan). 1 removed, 0 kept or gone. */
static int remove_unless_touched(orf_cache *c, cache_kind kind, const char *key, double seen)
{
    int sfd = cache_shard_open(c, kind, key, 0);
    if (sfd < 0)
        return 0;
    struct stat st;
    int removed = 0;
    if (fstatat(sfd, key + 2, &st, AT_SYMLINK_NOFOLLOW) == 0 && cache_mtime(&st) <= seen)
        removed = unlinkat(sfd, key + 2, 0) == 0;
    close(sfd);
    return removed;
}

/* Mark what the rule says goes; 0, or -1 out of memory. */
static int prune_decide(prune_ctx *p)
{
    if (p->nobjs) /* qsort's array may not be NULL, even when empty */
        qsort(p->objs, p->nobjs, sizeof *p->objs, cmp_obj);
    /* an object is used when a live entry naming it is */
    for (size_t i = 0; i < p->nreqs; i++) {
        preq *rq = &p->reqs[i];
        if (rq->dead)
            continue;
        for (size_t j = 0; j < rq->nobjects; j++) {
            pobj *ob = find_obj(p, rq->objects[j]);
            if (ob) {
                ob->refs++;
                if (rq->used > ob->used)
                    ob->used = rq->used;
            }
        }
    }
    for (size_t i = 0; i < p->nobjs; i++) {
        pobj *ob = &p->objs[i];
        if (p->max_age > 0 && p->now - ob->used > p->max_age && !obj_young(p, ob))
            ob->dead = 1;
    }
    if (p->max_size == 0)
        return 0;
    uint64_t total = p->temp_bytes;
    size_t n = 0;
    for (size_t i = 0; i < p->nreqs; i++)
        if (!p->reqs[i].dead) {
            total += p->reqs[i].bytes;
            n++;
        }
    for (size_t i = 0; i < p->nobjs; i++)
        if (!p->objs[i].dead) {
            total += p->objs[i].bytes;
            n++;
        }
    if (total <= p->max_size)
        return 0;
    lru_item *order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return -1;
    n = 0;
    for (size_t i = 0; i < p->nreqs; i++)
        if (!p->reqs[i].dead && !p->reqs[i].pinned)
            order[n++] = (lru_item){p->reqs[i].used, 0, i};
    for (size_t i = 0; i < p->nobjs; i++)
        if (!p->objs[i].dead && !obj_young(p, &p->objs[i]))
            order[n++] = (lru_item){p->objs[i].used, 1, i};
    qsort(order, n, sizeof *order, cmp_lru);
    /* An object's time is at least that of every live entry naming it, and
     * entries sort first on a tie: by the time an object goes, the entries
     * naming it have gone. */
    for (size_t k = 0; k < n && total > p->max_size; k++) {
        if (order[k].is_obj) {
            p->objs[order[k].i].dead = 1;
            total -= p->objs[order[k].i].bytes;
        } else {
            p->reqs[order[k].i].dead = 1;
            total -= p->reqs[order[k].i].bytes;
        }
    }
    free(order);
    return 0;
}

static void stamp_now(orf_cache *c)
{
    int fd = openat(c->stats_fd, CACHE_STAMP, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        futimens(fd, NULL);
        close(fd);
    }
}

int cache_prune_locked(orf_cache *c, const cache_prune_opts *o, cache_prune_result *r, orf_err *e)
{
    memset(r, 0, sizeof *r);
    prune_ctx p = {.c = c, .o = o, .r = r, .now = units_wall_seconds()};
    p.grace = o->grace < 0 ? CACHE_PRUNE_GRACE : o->grace;
    p.max_age = o->max_age < 0 ? c->max_age : o->max_age;
    p.max_size = o->max_size == CACHE_PRUNE_CAP ? c->max_size : o->max_size;
    int rc = walk(c, CACHE_OBJECT | CACHE_REQUEST, prune_cb, &p, e);
    if (p.oom)
        rc = orf_fail(e, "cache_error", "out of memory while pruning %s", c->dir);
    if (rc == 0 && prune_decide(&p) < 0)
        rc = orf_fail(e, "cache_error", "out of memory while pruning %s", c->dir);
    if (rc == 0) {
        /* Requests first; one used since the scan stays, and keeps its objects. */
        for (size_t i = 0; i < p.nreqs; i++) {
            preq *rq = &p.reqs[i];
            if (!rq->dead)
                continue;
            int gone = o->dry_run || remove_unless_touched(c, CACHE_REQUEST, rq->key, rq->used);
            if (gone) {
                r->requests_removed++;
                r->bytes_freed += rq->bytes;
            } else {
                rq->dead = 0;
            }
        }
        for (size_t i = 0; i < p.nreqs; i++) {
            if (p.reqs[i].dead)
                continue;
            r->requests_kept++;
            r->bytes_kept += p.reqs[i].bytes;
            for (size_t j = 0; j < p.reqs[i].nobjects; j++) {
                pobj *ob = find_obj(&p, p.reqs[i].objects[j]);
                if (ob)
                    ob->dead = 0; /* an object a kept entry names stays */
            }
        }
        for (size_t i = 0; i < p.nobjs; i++) {
            pobj *ob = &p.objs[i];
            int gone = ob->dead && (o->dry_run || remove_unless_touched(c, CACHE_OBJECT, ob->key, ob->mtime));
            if (gone) {
                r->objects_removed++;
                r->bytes_freed += ob->bytes;
            } else {
                r->objects_kept++;
                r->bytes_kept += ob->bytes;
            }
        }
        r->bytes_kept += p.temp_bytes;
        if (!o->dry_run) {
            if (r->requests_removed + r->objects_removed > 0)
                cache_count(c, 0, 0, 0, r->requests_removed + r->objects_removed, 0, 0, 0);
            cache_size_set(c, r->bytes_kept); /* the estimate is what was measured */
            stamp_now(c);
        }
    }
    for (size_t i = 0; i < p.nreqs; i++)
        free(p.reqs[i].objects);
    free(p.reqs);
    free(p.objs);
    return rc < 0 ? -1 : 0;
}

static int prune_lock(orf_cache *c, int *lfd, orf_err *e)
{
    *lfd = openat(c->stats_fd, "prune.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*lfd < 0)
        return orf_fail(e, "cache_error", "%s/stats/prune.lock: %s", c->dir, strerror(errno));
    if (flock(*lfd, LOCK_EX | LOCK_NB) < 0) {
        int saved = errno;
        close(*lfd);
        *lfd = -1;
        if (saved == EWOULDBLOCK)
            return 1;
        return orf_fail(e, "cache_error", "%s/stats/prune.lock: %s", c->dir, strerror(saved));
    }
    return 0;
}

int cache_prune(orf_cache *c, const cache_prune_opts *o, cache_prune_result *r, orf_err *e)
{
    memset(r, 0, sizeof *r);
    int lfd;
    int rc = prune_lock(c, &lfd, e);
    if (rc != 0)
        return rc;
    rc = cache_prune_locked(c, o, r, e);
    close(lfd); /* releases the prune lock */
    return rc;
}

/* ---- the prune a store starts -------------------------------------------------- */

/* Close the descriptors lo..hi (inclusive). */
static void close_span(unsigned lo, unsigned hi)
{
    if (lo > hi || close_range(lo, hi, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);
    unsigned top = max > 0 && max < 65536 ? (unsigned)max : 65536;
    for (unsigned fd = lo; fd <= hi && fd < top; fd++)
        close((int)fd);
}

/* Close every descriptor from 3 up but those in keep[n]. */
static void close_all_but(int *keep, int n)
{
    for (int i = 1; i < n; i++) /* sort the few */
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
    unsigned lo = 3;
    for (int i = 0; i < n; i++) {
        if (keep[i] < 0 || (unsigned)keep[i] < lo)
            continue; /* below 3, or a duplicate */
        if ((unsigned)keep[i] > lo)
            close_span(lo, (unsigned)keep[i] - 1);
        lo = (unsigned)keep[i] + 1;
    }
    close_span(lo, ~0U);
}

/* In the grandchild: no tie to the program's files (a pipe's reader sees
 * the program's end, a test harness's descriptors close), low priority,
 * the prune, and out. */
static void background_prune(orf_cache *c, int lfd) __attribute__((noreturn));
static void background_prune(orf_cache *c, int lfd)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    int keep[] = {c->root_fd, c->objects_fd, c->requests_fd, c->stats_fd, lfd};
    close_all_but(keep, (int)(sizeof keep / sizeof keep[0]));
    if (setpriority(PRIO_PROCESS, 0, 10) < 0) {
        /* a priority we cannot lower is still a prune */
    }
#ifdef SYS_ioprio_set
    syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, 3 << 13 /* IOPRIO_CLASS_IDLE */);
#endif
    cache_prune_opts o = {.max_age = c->max_age,
                          .max_size = c->max_size ? (uint64_t)((double)c->max_size * CACHE_AUTOPRUNE_FILL) : 0,
                          .grace = -1};
    cache_prune_result r;
    orf_err e;
    cache_prune_locked(c, &o, &r, &e);
    _exit(0);
}

/* Start a prune in a process of its own (a grandchild: nobody waits for
 * it, and it leaves no zombie), holding the prune lock taken here. */
static void prune_in_background(orf_cache *c)
{
    int lfd;
    if (prune_lock(c, &lfd, NULL) != 0)
        return; /* one is running, or the lock cannot be had */
    pid_t p = fork();
    if (p == 0) {
        if (fork() != 0)
            _exit(0);
        c->progress = NULL; /* the background says nothing */
        background_prune(c, lfd);
    }
    close(lfd); /* the grandchild's copy holds the lock; with no grandchild it is released */
    if (p > 0)
        while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
            ;
}

void cache_autoprune(orf_cache *c, uint64_t bytes)
{
    if (c->max_size == 0 && c->max_age <= 0)
        return;
    uint64_t since = __atomic_add_fetch(&c->since_check, bytes, __ATOMIC_RELAXED);
    uint64_t every = c->max_size ? c->max_size / 64 : UINT64_MAX;
    if (every < 65536)
        every = 65536;
    if (__atomic_load_n(&c->checked, __ATOMIC_RELAXED) && since < every)
        return;
    if (__atomic_exchange_n(&c->checking, 1, __ATOMIC_ACQUIRE))
        return; /* another thread is looking */
    __atomic_store_n(&c->since_check, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&c->checked, 1, __ATOMIC_RELAXED);
    int saved = errno;
    int due = 0;
    struct stat st;
    if (fstatat(c->stats_fd, CACHE_STAMP, &st, 0) < 0)
        due = errno == ENOENT; /* never pruned since this version: the size is not known */
    else if (units_wall_seconds() - cache_mtime(&st) > CACHE_AUTOPRUNE_INTERVAL)
        due = 1;
    int64_t est;
    if (!due && c->max_size > 0 && cache_size_estimate(c, &est) == 0 && est > 0 && (uint64_t)est > c->max_size)
        due = 1;
    if (due)
        prune_in_background(c);
    errno = saved;
    __atomic_store_n(&c->checking, 0, __ATOMIC_RELEASE);
}

/* ---- verify -------------------------------------------------------------------- */

typedef struct verify_ctx {
    orf_cache *c;
    int repair;
    cache_verify_fn fn;
    void *ctx;
    cache_verify_result *r;
} verify_ctx;

static void tell(verify_ctx *v, const char *kind, const char *key, const char *problem, const char *object,
                 int repaired)
{
    if (v->fn)
        v->fn(v->ctx, kind, key, problem, object, repaired);
}

/* Could not read it: counted, reported with errno, never removed. */
static void unreadable(verify_ctx *v, const char *kind, const char *key)
{
    int saved = errno;
    v->r->unreadable++;
    errno = saved;
    tell(v, kind, key, "unreadable", NULL, 0);
}

/* Proved bad: counted by the caller, removed with --repair. */
static void proved_bad(verify_ctx *v, const char *kind, const char *key, const char *problem, int dir_fd,
                       const char *name, const struct stat *st)
{
    int repaired = 0;
    if (v->repair && cache_unlink_if_same(dir_fd, name, st)) {
        repaired = 1;
        v->r->repaired++;
        cache_count(v->c, 0, 0, 0, 0, 0, 0, -(int64_t)st->st_size);
    }
    tell(v, kind, key, problem, NULL, repaired);
}

static void verify_folder_err(void *ctx, cache_kind kind, const char *folder)
{
    verify_ctx *v = ctx;
    int saved = errno;
    v->r->unreadable++;
    errno = saved;
    tell(v, kind == CACHE_OBJECT ? "object" : "request", folder, "unreadable", NULL, 0);
}

static int verify_object(verify_ctx *v, int dir_fd, const char *name, const char *key, const struct stat *lst)
{
    v->r->objects++;
    if (!S_ISREG(lst->st_mode)) {
        v->r->bad_objects++;
        tell(v, "object", key, "not_regular", NULL, 0);
        return 0;
    }
    int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            v->r->objects--; /* gone meanwhile */
        else
            unreadable(v, "object", key);
        return 0;
    }
    struct stat st;
    char got[65];
    if (fstat(fd, &st) < 0 || cache_hash_fd(fd, got, NULL) < 0) {
        unreadable(v, "object", key);
        close(fd);
        return 0;
    }
    close(fd);
    if (strcmp(got, key) != 0) {
        v->r->bad_objects++;
        proved_bad(v, "object", key, "hash_mismatch", dir_fd, name, &st);
    }
    return 0;
}

static int verify_request(verify_ctx *v, int dir_fd, const char *name, const char *key, const struct stat *lst)
{
    v->r->requests++;
    if (!S_ISREG(lst->st_mode)) {
        v->r->bad_requests++;
        tell(v, "request", key, "not_regular", NULL, 0);
        return 0;
    }
    uint8_t *data;
    size_t n;
    struct stat st = *lst;
    int rc = cache_read_at(dir_fd, name, CACHE_MAX_ENTRY_BYTES, &data, &n, &st, NULL);
    if (rc < 0) {
        unreadable(v, "request", key);
        return 0;
    }
    if (rc == 0 && (uint64_t)lst->st_size <= CACHE_MAX_ENTRY_BYTES) {
        v->r->requests--; /* gone meanwhile */
        return 0;
    }
    int oom = 0;
    cJSON *ent = rc == 1 ? cache_entry_parse_checked(data, n, &oom) : NULL;
    free(data);
    if (oom) {
        errno = ENOMEM;
        unreadable(v, "request", key);
        return 0;
    }
    const cJSON *k = ent ? cJSON_GetObjectItemCaseSensitive(ent, "key") : NULL;
    if (!ent || !cJSON_IsString(k) || strcmp(k->valuestring, key) != 0) {
        v->r->bad_requests++;
        proved_bad(v, "request", key, "corrupt", dir_fd, name, &st);
        cJSON_Delete(ent);
        return 0;
    }
    const cJSON *o;
    int missing = 0, unknown = 0;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(ent, "objects")) {
        int sfd = cache_shard_open(v->c, CACHE_OBJECT, o->valuestring, 0);
        struct stat ost;
        int err = 0;
        if (sfd < 0)
            err = errno;
        else if (fstatat(sfd, o->valuestring + 2, &ost, AT_SYMLINK_NOFOLLOW) < 0)
            err = errno;
        else if (!S_ISREG(ost.st_mode))
            err = ENOENT; /* not an object: a lookup misses on it */
        if (sfd >= 0)
            close(sfd);
        if (err == ENOENT || err == ENOTDIR || err == ELOOP) {
            missing = 1;
            tell(v, "request", key, "missing_object", o->valuestring, 0);
        } else if (err) {
            unknown = 1;
            errno = err;
            unreadable(v, "request", key);
        }
    }
    if (missing) {
        v->r->bad_requests++;
        /* an object that could not be looked at may still be there: the entry stays */
        if (v->repair && !unknown && cache_unlink_if_same(dir_fd, name, &st)) {
            v->r->repaired++;
            cache_count(v->c, 0, 0, 0, 0, 0, 0, -(int64_t)st.st_size);
            tell(v, "request", key, "removed", NULL, 1);
        }
    }
    cJSON_Delete(ent);
    return 0;
}

static int verify_cb(void *ctx, cache_kind kind, int dir_fd, const char *name, const char *key,
                     const struct stat *st)
{
    verify_ctx *v = ctx;
    if (!key)
        return 0;
    return kind == CACHE_OBJECT ? verify_object(v, dir_fd, name, key, st) : verify_request(v, dir_fd, name, key, st);
}

int cache_verify(orf_cache *c, int repair, cache_verify_fn fn, void *ctx, cache_verify_result *r, orf_err *e)
{
    memset(r, 0, sizeof *r);
    verify_ctx v = {c, repair, fn, ctx, r};
    /* Objects first, so a request whose object was just removed is reported. */
    if (walk2(c, CACHE_OBJECT, verify_cb, verify_folder_err, &v, e) < 0)
        return -1;
    return walk2(c, CACHE_REQUEST, verify_cb, verify_folder_err, &v, e) < 0 ? -1 : 0;
}

/* ---- remove and clear --------------------------------------------------------------- */

int cache_remove(orf_cache *c, const char *key, int *removed, orf_err *e)
{
    *removed = 0;
    if (!cache_key_valid(key))
        return orf_fail(e, "bad_key", "'%.80s' is not a key (64 lowercase hex characters)", key ? key : "");
    cache_kind kinds[] = {CACHE_OBJECT, CACHE_REQUEST};
    for (int i = 0; i < 2; i++) {
        int sfd = cache_shard_open(c, kinds[i], key, 0);
        if (sfd < 0)
            continue;
        struct stat st;
        int had = fstatat(sfd, key + 2, &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (unlinkat(sfd, key + 2, 0) == 0) {
            *removed |= (int)kinds[i];
            if (had && S_ISREG(st.st_mode))
                cache_count(c, 0, 0, 0, 0, 0, 0, -(int64_t)st.st_size);
        } else if (errno != ENOENT) {
            int saved = errno;
            close(sfd);
            return orf_fail(e, "cache_error", "%s/%s/%.2s/%s: %s", c->dir,
                            kinds[i] == CACHE_OBJECT ? "objects" : "requests", key, key + 2, strerror(saved));
        }
        close(sfd);
    }
    return 0;
}

typedef struct clear_ctx {
    cache_prune_result *r;
    uint64_t failed;
    int first_errno;
    char first[96];
} clear_ctx;

static int clear_cb(void *ctx, cache_kind kind, int dir_fd, const char *name, const char *key,
                    const struct stat *st)
{
    clear_ctx *x = ctx;
    cache_prune_result *r = x->r;
    if (S_ISDIR(st->st_mode))
        return 0;
    if (unlinkat(dir_fd, name, 0) < 0) {
        if (errno == ENOENT)
            return 0; /* gone meanwhile */
        if (!x->failed++) {
            x->first_errno = errno;
            snprintf(x->first, sizeof x->first, "%s/%.2s%s%s", kind == CACHE_OBJECT ? "objects" : "requests",
                     key ? key : "", key ? "/" : "", key ? key + 2 : name);
        }
        if (!key)
            r->temp_kept++;
        else if (kind == CACHE_OBJECT)
            r->objects_kept++;
        else
            r->requests_kept++;
        r->bytes_kept += (uint64_t)st->st_size;
        return 0;
    }
    if (!key)
        r->temp_removed++;
    else if (kind == CACHE_OBJECT)
        r->objects_removed++;
    else
        r->requests_removed++;
    r->bytes_freed += (uint64_t)st->st_size;
    return 0;
}

int cache_clear(orf_cache *c, cache_prune_result *r, orf_err *e)
{
    memset(r, 0, sizeof *r);
    clear_ctx x = {.r = r};
    if (walk(c, CACHE_OBJECT | CACHE_REQUEST, clear_cb, &x, e) < 0)
        return -1;
    cache_size_set(c, r->bytes_kept);
    if (x.failed)
        return orf_fail(e, "cache_error", "%s: %llu files could not be removed (the first, %s: %s)%s", c->dir,
                        (unsigned long long)x.failed, x.first, strerror(x.first_errno),
                        x.first_errno == EROFS || x.first_errno == EACCES || x.first_errno == EPERM
                            ? "; is the cache read-only?"
                            : "");
    return 0;
}
