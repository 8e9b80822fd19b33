/* cache_maint.c - walking, usage, prune, verify, remove and clear. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "cache_internal.h"
#include "units.h"

/* ---- walking -------------------------------------------------------------- */

/* What the walker meets: an entry (key set), or a temporary file (key NULL). */
typedef int (*walk_fn)(void *ctx, cache_kind kind, int dir_fd, const char *name, const char *key,
                       const struct stat *st);

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
        if (fd >= 0)
            close(fd);
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

static int walk_kind(orf_cache *c, cache_kind kind, walk_fn fn, void *ctx)
{
    int kfd = cache_kind_fd(c, kind);
    int rc = walk_temps(kfd, kind, fn, ctx);
    if (rc != 0)
        return rc;
    DIR *d = dir_stream(kfd);
    if (!d)
        return -1;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (!is_hex2(de->d_name))
            continue;
        int sfd = openat(kfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sfd < 0)
            continue; /* a symlink or a file: not ours to follow */
        DIR *sd = dir_stream(sfd);
        if (!sd) {
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

static int walk(orf_cache *c, int kinds, walk_fn fn, void *ctx, orf_err *e)
{
    int rc = 0;
    if (kinds & CACHE_OBJECT)
        rc = walk_kind(c, CACHE_OBJECT, fn, ctx);
    if (rc == 0 && (kinds & CACHE_REQUEST))
        rc = walk_kind(c, CACHE_REQUEST, fn, ctx);
    if (rc < 0)
        return orf_fail(e, "cache_error", "%s: cannot list: %s", c->dir, strerror(errno));
    return rc;
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
    if (!key || !S_ISREG(st->st_mode))
        return 0;
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

/* ---- prune -------------------------------------------------------------------- */

typedef struct preq {
    char key[65];
    double used, created;
    uint64_t bytes;
    char (*objects)[65];
    size_t nobjects;
    int dead;
} preq;

typedef struct pobj {
    char key[65];
    double mtime;
    uint64_t bytes;
    long refs;
} pobj;

typedef struct prune_ctx {
    orf_cache *c;
    const cache_prune_opts *o;
    cache_prune_result *r;
    double now, grace;
    preq *reqs;
    size_t nreqs, capreqs;
    pobj *objs;
    size_t nobjs, capobjs;
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
    if (!key) { /* a temporary file */
        if (p->now - mt > CACHE_TEMP_MAX_AGE && S_ISREG(st->st_mode)) {
            if (p->o->dry_run || unlinkat(dir_fd, name, 0) == 0)
                p->r->temp_removed++;
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
        memcpy(ob->key, key, 65);
        ob->mtime = mt;
        ob->bytes = (uint64_t)st->st_size;
        ob->refs = 0;
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
    if (rc == 0)
        return 0; /* gone meanwhile */
    cJSON *ent = rc == 1 ? cache_entry_parse(data, n) : NULL;
    if (rc == 1)
        free(data);
    if (!ent) {
        rq->dead = 1; /* written atomically, so unreadable means corrupt */
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
        double ttl = p->c->ttl;
        if (ttl > 0 && p->now - rq->created >= ttl)
            rq->dead = 1;
        if (p->o->max_age > 0 && p->now - rq->used > p->o->max_age)
            rq->dead = 1;
        cJSON_Delete(ent);
    }
    p->nreqs++;
    return 0;
}

static int cmp_obj(const void *a, const void *b) { return strcmp(((const pobj *)a)->key, ((const pobj *)b)->key); }

static int cmp_used(const void *a, const void *b)
{
    const preq *x = *(const preq *const *)a, *y = *(const preq *const *)b;
    return x->used < y->used ? -1 : x->used > y->used ? 1 : strcmp(x->key, y->key);
}

static pobj *find_obj(prune_ctx *p, const char *key)
{
    pobj k;
    memcpy(k.key, key, 65);
    return p->nobjs ? bsearch(&k, p->objs, p->nobjs, sizeof *p->objs, cmp_obj) : NULL;
}

/* Object kept whatever the references: young enough that a writer may be
 * about to name it in a request entry. */
static int obj_young(const prune_ctx *p, const pobj *ob) { return p->now - ob->mtime < p->grace; }

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

int cache_prune(orf_cache *c, const cache_prune_opts *o, cache_prune_result *r, orf_err *e)
{
    memset(r, 0, sizeof *r);
    int lfd = openat(c->stats_fd, "prune.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lfd < 0)
        return orf_fail(e, "cache_error", "%s/stats/prune.lock: %s", c->dir, strerror(errno));
    if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
        int saved = errno;
        close(lfd);
        if (saved == EWOULDBLOCK)
            return 1;
        return orf_fail(e, "cache_error", "%s/stats/prune.lock: %s", c->dir, strerror(saved));
    }
    prune_ctx p = {.c = c, .o = o, .r = r, .now = units_wall_seconds()};
    p.grace = o->grace < 0 ? CACHE_PRUNE_GRACE : o->grace;
    int rc = walk(c, CACHE_OBJECT | CACHE_REQUEST, prune_cb, &p, e);
    if (p.oom)
        rc = orf_fail(e, "cache_error", "out of memory while pruning %s", c->dir);
    preq **order = NULL;
    if (rc == 0) {
        if (p.nobjs) /* qsort's array may not be NULL, even when empty */
            qsort(p.objs, p.nobjs, sizeof *p.objs, cmp_obj);
        for (size_t i = 0; i < p.nreqs; i++)
            if (!p.reqs[i].dead)
                for (size_t j = 0; j < p.reqs[i].nobjects; j++) {
                    pobj *ob = find_obj(&p, p.reqs[i].objects[j]);
                    if (ob)
                        ob->refs++;
                }
        if (o->max_size > 0) {
            uint64_t total = 0;
            for (size_t i = 0; i < p.nreqs; i++)
                if (!p.reqs[i].dead)
                    total += p.reqs[i].bytes;
            for (size_t i = 0; i < p.nobjs; i++)
                if (p.objs[i].refs > 0 || obj_young(&p, &p.objs[i]))
                    total += p.objs[i].bytes;
            order = malloc((p.nreqs ? p.nreqs : 1) * sizeof *order);
            if (!order) {
                rc = orf_fail(e, "cache_error", "out of memory while pruning %s", c->dir);
            } else {
                size_t n = 0;
                for (size_t i = 0; i < p.nreqs; i++)
                    if (!p.reqs[i].dead)
                        order[n++] = &p.reqs[i];
                qsort(order, n, sizeof *order, cmp_used);
                for (size_t i = 0; i < n && total > o->max_size; i++) {
                    preq *rq = order[i];
                    rq->dead = 1;
                    total -= rq->bytes;
                    for (size_t j = 0; j < rq->nobjects; j++) {
                        pobj *ob = find_obj(&p, rq->objects[j]);
                        if (ob && --ob->refs == 0 && !obj_young(&p, ob))
                            total -= ob->bytes;
                    }
                }
            }
        }
    }
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
        for (size_t i = 0; i < p.nobjs; i++)
            p.objs[i].refs = 0;
        for (size_t i = 0; i < p.nreqs; i++) {
            if (p.reqs[i].dead)
                continue;
            r->requests_kept++;
            r->bytes_kept += p.reqs[i].bytes;
            for (size_t j = 0; j < p.reqs[i].nobjects; j++) {
                pobj *ob = find_obj(&p, p.reqs[i].objects[j]);
                if (ob)
                    ob->refs++;
            }
        }
        for (size_t i = 0; i < p.nobjs; i++) {
            pobj *ob = &p.objs[i];
            int gone = 0;
            if (ob->refs == 0 && !obj_young(&p, ob))
                gone = o->dry_run || remove_unless_touched(c, CACHE_OBJECT, ob->key, ob->mtime);
            if (gone) {
                r->objects_removed++;
                r->bytes_freed += ob->bytes;
            } else {
                r->objects_kept++;
                r->bytes_kept += ob->bytes;
            }
        }
        if (!o->dry_run && r->requests_removed + r->objects_removed > 0)
            cache_count(c, 0, 0, 0, r->requests_removed + r->objects_removed, 0, 0);
    }
    free(order);
    for (size_t i = 0; i < p.nreqs; i++)
        free(p.reqs[i].objects);
    free(p.reqs);
    free(p.objs);
    close(lfd); /* releases the prune lock */
    return rc < 0 ? -1 : 0;
}

/* ---- verify -------------------------------------------------------------------- */

typedef struct verify_ctx {
    orf_cache *c;
    int repair;
    cache_verify_fn fn;
    void *ctx;
    cache_verify_result *r;
} verify_ctx;

static void report(verify_ctx *v, const char *kind, const char *key, const char *problem, const char *object,
                   int dir_fd, const char *name)
{
    int repaired = 0;
    if (v->repair && unlinkat(dir_fd, name, 0) == 0) {
        repaired = 1;
        v->r->repaired++;
    }
    if (v->fn)
        v->fn(v->ctx, kind, key, problem, object, repaired);
}

static int verify_cb(void *ctx, cache_kind kind, int dir_fd, const char *name, const char *key,
                     const struct stat *st)
{
    verify_ctx *v = ctx;
    if (!key)
        return 0;
    if (kind == CACHE_OBJECT) {
        v->r->objects++;
        if (!S_ISREG(st->st_mode)) {
            v->r->bad_objects++;
            if (v->fn)
                v->fn(v->ctx, "object", key, "not_regular", NULL, 0);
            return 0;
        }
        uint8_t *data;
        size_t n;
        int rc = cache_read_at(dir_fd, name, SIZE_MAX - 1, &data, &n, NULL, NULL);
        if (rc == 0)
            return 0; /* gone meanwhile */
        char got[65];
        if (rc == 1)
            cache_hash(data, n, got);
        free(data);
        if (rc < 0 || strcmp(got, key) != 0) {
            v->r->bad_objects++;
            report(v, "object", key, rc < 0 ? "unreadable" : "hash_mismatch", NULL, dir_fd, name);
        }
        return 0;
    }
    v->r->requests++;
    if (!S_ISREG(st->st_mode)) {
        v->r->bad_requests++;
        if (v->fn)
            v->fn(v->ctx, "request", key, "not_regular", NULL, 0);
        return 0;
    }
    uint8_t *data;
    size_t n;
    int rc = cache_read_at(dir_fd, name, CACHE_MAX_ENTRY_BYTES, &data, &n, NULL, NULL);
    if (rc == 0 && (uint64_t)st->st_size <= CACHE_MAX_ENTRY_BYTES)
        return 0; /* gone meanwhile */
    cJSON *ent = rc == 1 ? cache_entry_parse(data, n) : NULL;
    free(data);
    const cJSON *k = ent ? cJSON_GetObjectItemCaseSensitive(ent, "key") : NULL;
    if (!ent || !cJSON_IsString(k) || strcmp(k->valuestring, key) != 0) {
        v->r->bad_requests++;
        report(v, "request", key, "unreadable", NULL, dir_fd, name);
        cJSON_Delete(ent);
        return 0;
    }
    const cJSON *o;
    int bad = 0;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(ent, "objects")) {
        int sfd = cache_shard_open(v->c, CACHE_OBJECT, o->valuestring, 0);
        struct stat ost;
        int present = sfd >= 0 && fstatat(sfd, o->valuestring + 2, &ost, AT_SYMLINK_NOFOLLOW) == 0 &&
                      S_ISREG(ost.st_mode);
        if (sfd >= 0)
            close(sfd);
        if (!present) {
            bad = 1;
            if (v->fn)
                v->fn(v->ctx, "request", key, "missing_object", o->valuestring, 0);
        }
    }
    if (bad) {
        v->r->bad_requests++;
        if (v->repair && unlinkat(dir_fd, name, 0) == 0) {
            v->r->repaired++;
            if (v->fn)
                v->fn(v->ctx, "request", key, "removed", NULL, 1);
        }
    }
    cJSON_Delete(ent);
    return 0;
}

int cache_verify(orf_cache *c, int repair, cache_verify_fn fn, void *ctx, cache_verify_result *r, orf_err *e)
{
    memset(r, 0, sizeof *r);
    verify_ctx v = {c, repair, fn, ctx, r};
    /* Objects first, so a request whose object was just removed is reported. */
    if (walk(c, CACHE_OBJECT, verify_cb, &v, e) < 0)
        return -1;
    return walk(c, CACHE_REQUEST, verify_cb, &v, e) < 0 ? -1 : 0;
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
        if (unlinkat(sfd, key + 2, 0) == 0)
            *removed |= (int)kinds[i];
        else if (errno != ENOENT) {
            int saved = errno;
            close(sfd);
            return orf_fail(e, "cache_error", "%s/%s/%.2s/%s: %s", c->dir,
                            kinds[i] == CACHE_OBJECT ? "objects" : "requests", key, key + 2, strerror(saved));
        }
        close(sfd);
    }
    return 0;
}

static int clear_cb(void *ctx, cache_kind kind, int dir_fd, const char *name, const char *key,
                    const struct stat *st)
{
    cache_prune_result *r = ctx;
    if (S_ISDIR(st->st_mode))
        return 0;
    if (unlinkat(dir_fd, name, 0) < 0)
        return 0;
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
    return walk(c, CACHE_OBJECT | CACHE_REQUEST, clear_cb, r, e) < 0 ? -1 : 0;
}
