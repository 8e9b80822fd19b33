/* runner.c - the stage runner (see runner.h): one request at a time or
 * several at once in input order, each through its stages with the cache
 * consulted and filled per stage. The stages themselves are lib/gen.c and
 * lib/refine.c; this file decides what runs, keys it, stores it, names the
 * files and builds the records. */
#include "runner.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "gen.h"
#include "imageio.h"
#include "meshio.h"
#include "ndjson.h"
#include "outfiles.h"
#include "record.h"
#include "refine.h"
#include "strset.h"
#include "texture.h"
#include "units.h"

#define MAX_IMAGE_BYTES ((size_t)1 << 30)

typedef struct job job;

struct runner {
    runner_config cfg;
    stage_opts flags;
    orf_backend backend; /* the flags' backend, chosen once */
    out_names *names;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    job *head, *tail; /* running or waiting to be emitted, in input order */
    int inflight;
    int stopped;
    int status;
    strset *seen; /* the rough records refined in this run (mesh-refine): field and image */
};

struct job {
    runner *r;
    cJSON *req;
    cJSON **buf; /* records waiting for the jobs before this one */
    size_t nbuf, capbuf;
    cJSON **local; /* lookup: every record, emitted only when all stages hit */
    size_t nlocal, caplocal;
    int missed; /* lookup: a stage was not in the cache */
    int done;
    job *next;
};

/* ---- records out ---------------------------------------------------------------- */

static int push(cJSON ***list, size_t *n, size_t *cap, cJSON *rec)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        cJSON **p = realloc(*list, c * sizeof *p);
        if (!p)
            return -1;
        *list = p;
        *cap = c;
    }
    (*list)[(*n)++] = rec;
    return 0;
}

/* Hand rec to the program, under the lock. */
static void deliver_locked(runner *r, cJSON *rec)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(rec, "error");
    if (cJSON_IsObject(err))
        r->status = cli_worse(r->status, cli_status_of(ndjson_get_string(err, "code")));
    if (!r->stopped && r->cfg.emit(r->cfg.ctx, rec) < 0)
        r->stopped = 1;
    cJSON_Delete(rec);
}

/* A record of job j (taken): now, or when the jobs before it are done. */
static int put(job *j, cJSON *rec)
{
    runner *r = j->r;
    if (!rec) {
        pthread_mutex_lock(&r->lock);
        r->status = cli_worse(r->status, ORF_EXIT_FAIL);
        pthread_mutex_unlock(&r->lock);
        return -1;
    }
    if (r->cfg.lookup_only) {
        if (push(&j->local, &j->nlocal, &j->caplocal, rec) < 0) {
            cJSON_Delete(rec);
            return -1;
        }
        return 0;
    }
    pthread_mutex_lock(&r->lock);
    int stop = r->stopped;
    if (stop) {
        cJSON_Delete(rec);
    } else if (r->cfg.jobs <= 1 || r->cfg.unordered || r->head == j) {
        deliver_locked(r, rec);
        stop = r->stopped;
    } else if (push(&j->buf, &j->nbuf, &j->capbuf, rec) < 0) {
        cJSON_Delete(rec);
        r->status = cli_worse(r->status, ORF_EXIT_FAIL);
    }
    pthread_mutex_unlock(&r->lock);
    return stop ? -1 : 0;
}

static void note(runner *r, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(runner *r, int level, const char *fmt, ...)
{
    if (!r->cfg.note)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->cfg.note(r->cfg.ctx, level, line);
}

/* An error record for req (may be NULL) with e, said once on the note line. */
static int fail(job *j, const cJSON *req, const orf_err *e)
{
    note(j->r, RUNNER_NOTE_FAILURE, "%s", e->message);
    return put(j, ndjson_error_record(req, 0, e));
}

/* The message prefixed with the request's input, once. */
static void name_input(orf_err *e, const char *input)
{
    size_t n = strlen(input);
    if (!input[0] || (strncmp(e->message, input, n) == 0 && e->message[n] == ':'))
        return;
    char msg[sizeof e->message];
    snprintf(msg, sizeof msg, "%.200s: %.270s", input, e->message);
    memcpy(e->message, msg, sizeof msg);
}

/* ---- record pieces ------------------------------------------------------------------ */

/* Fields a stage sets: dropped from the record a refine stage starts from,
 * so that only the request's own fields (and mesh-gen's "mode", "mask",
 * "why", "field", "image") are carried on. */
static const char *const result_fields[] = {
    "stage", "progress", "backend", "fallback", "grid", "key", "mesh", "cached", "ms",
    "textured", "decimation", "repair", "warnings", "error", "source", "line",
};

static cJSON *base_of(const cJSON *from)
{
    cJSON *b = cJSON_Duplicate(from, 1);
    if (!b)
        return NULL;
    for (size_t i = 0; i < sizeof result_fields / sizeof result_fields[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(b, result_fields[i]);
    return b;
}

static double ms_since(double t0)
{
    return round((units_now_ms() - t0) * 100) / 100;
}

/* The record: base's fields, then res's (a copy), "path" in its mesh when
 * the cache has it, "out" when written, "cached", "ms". */
static cJSON *stage_record(const cJSON *base, const cJSON *res, orf_cache *cache, const char *out,
                           int cached, double t0)
{
    cJSON *rec = cJSON_Duplicate(base, 1);
    if (!rec)
        return NULL;
    for (const cJSON *it = res->child; it; it = it->next)
        ndjson_set(rec, it->string, cJSON_Duplicate(it, 1));
    cJSON *mesh = cJSON_GetObjectItemCaseSensitive(rec, "mesh");
    const char *obj = ndjson_get_string(mesh, "object");
    char path[4096];
    if (cache && obj && cache_object_path(cache, obj, path, sizeof path, NULL) == 0) {
        /* "path" right after "object", where readers of older records saw it */
        cJSON *m2 = cJSON_CreateObject();
        cJSON_AddItemToObject(m2, "object", cJSON_DetachItemFromObjectCaseSensitive(mesh, "object"));
        cJSON_AddStringToObject(m2, "path", path);
        while (mesh->child) {
            cJSON *it = cJSON_DetachItemViaPointer(mesh, mesh->child);
            cJSON_AddItemToObject(m2, it->string, it);
        }
        ndjson_set(rec, "mesh", m2);
        mesh = m2;
    }
    if (out && out[0])
        ndjson_set(mesh, "out", cJSON_CreateString(out));
    ndjson_set(rec, "cached", cJSON_CreateBool(cached));
    ndjson_set(rec, "ms", cJSON_CreateNumber(ms_since(t0)));
    return rec;
}

/* ---- output files --------------------------------------------------------------------- */

/* Where a stage's files go, for source `src`: 1 with the folder in dir[]
 * and the mesh file's name in name[] (<stem><suffix>.<ext> in an out folder;
 * the file itself when `out` names one, for the last stage only), 0 when
 * this stage writes nothing, -1 failed (e). */
static int out_target(runner *r, const char *out, const char *src, const char *suffix, int last,
                      int format, char *dir, size_t dn, char *name, size_t nn, orf_err *e)
{
    if (!out)
        return 0;
    if (out_is_file(out)) {
        if (!last)
            return 0;
        const char *slash = strrchr(out, '/');
        if (!slash)
            snprintf(dir, dn, "%s", ""); /* the current folder: the path as given */
        else if (slash == out)
            snprintf(dir, dn, "/");
        else
            snprintf(dir, dn, "%.*s", (int)(slash - out), out);
        snprintf(name, nn, "%s", slash ? slash + 1 : out);
        return out_claim(r->names, dir, name, src, e) < 0 ? -1 : 1;
    }
    char stem[300];
    if (out_stem(r->names, out, src, stem, sizeof stem, e) < 0)
        return -1;
    snprintf(dir, dn, "%s", out);
    snprintf(name, nn, "%s%s.%s", stem, suffix, meshio_format_ext((mesh_format)format));
    return 1;
}

/* Write a stage's files into dir: `name` from `data`; a textured OBJ also
 * gets its .mtl and `png` as <stem>.texture.png (stem: name less its
 * extension). The mesh file's path goes to path[size]. */
static int write_outputs(runner *r, const char *dir, const char *name, int format,
                         const uint8_t *data, size_t n, const uint8_t *png, size_t npng, char *path,
                         size_t size, orf_err *e)
{
    if (format != MESH_FMT_OBJ || !png)
        return out_write(r->names, dir, name, data, n, path, size, e);
    char mtl_name[400], png_name[400], side[4096];
    const char *dot = strrchr(name, '.');
    int sl = dot ? (int)(dot - name) : (int)strlen(name);
    snprintf(mtl_name, sizeof mtl_name, "%.*s.mtl", sl, name);
    snprintf(png_name, sizeof png_name, "%.*s" MESHIO_TEXTURE_SUFFIX, sl, name);
    uint8_t *mtl = NULL, *obj = NULL;
    size_t nmtl = 0, nobj = 0;
    int rc = -1, wrote = 0;
    if (meshio_obj_material(png_name, &mtl, &nmtl, e) == 0 &&
        meshio_obj_with_material(data, n, mtl_name, &obj, &nobj, e) == 0 &&
        out_write(r->names, dir, png_name, png, npng, side, sizeof side, e) == 0 && ++wrote &&
        out_write(r->names, dir, mtl_name, mtl, nmtl, side, sizeof side, e) == 0 && ++wrote &&
        out_write(r->names, dir, name, obj, nobj, path, size, e) == 0)
        rc = 0;
    if (rc < 0 && wrote) {
        /* nothing half-made: the texture and material go with the mesh */
        const char *names[2] = {png_name, mtl_name};
        for (int i = 0; i < wrote; i++)
            if (snprintf(side, sizeof side, "%s/%s", dir, names[i]) < (int)sizeof side)
                unlink(side);
    }
    free(mtl);
    free(obj);
    return rc;
}

/* The files of a cached record into dir/name: its objects' bytes. */
static int write_cached(runner *r, const char *dir, const char *name, int format, const cJSON *res,
                        char *path, size_t size, orf_err *e)
{
    const cJSON *mesh = cJSON_GetObjectItemCaseSensitive(res, "mesh");
    const char *obj = ndjson_get_string(mesh, "object");
    const char *tex = ndjson_get_string(mesh, "texture");
    uint8_t *data = NULL, *png = NULL;
    size_t n = 0, npng = 0;
    int rc = -1;
    if (!r->cfg.cache || !obj || cache_get_object(r->cfg.cache, obj, &data, &n, e) != 1 ||
        (tex && cache_get_object(r->cfg.cache, tex, &png, &npng, e) != 1)) {
        if (!e->code[0] || strcmp(e->code, "cache_error"))
            orf_fail(e, "cache_error", "the cached mesh %.12s... is gone from the cache", obj ? obj : "?");
    } else {
        rc = write_outputs(r, dir, name, format, data, n, png, npng, path, size, e);
    }
    free(data);
    free(png);
    return rc;
}

/* The format of o: the extension of an out file when it names one. */
static void format_of_out(stage_opts *o)
{
    if (out_is_file(o->out))
        o->format = meshio_format_from_name(o->out);
}

/* ---- options of one request ------------------------------------------------------------ */

/* The backend of o: the runner's, unless the request chose another. */
static int backend_of(runner *r, const stage_opts *o, orf_backend *b, orf_err *e)
{
    if (o->backend == r->flags.backend) {
        *b = r->backend;
        return 0;
    }
    const param_def *d = params_find(&params_mesh_gen, "backend");
    return backend_choose(params_choice_name(d, o->backend), b, e);
}

/* ---- the voxel and rough stages ----------------------------------------------------------- */

static cJSON *gen_key_params(const stage_opts *o)
{
    return params_key_object(&params_mesh_gen, PARAM_KEY_GEN, o);
}

static void gen_params_of(const stage_opts *o, gen_params *gp)
{
    gen_params_default(gp);
    gp->mode = o->mode;
    gp->mask = (mask_method)o->mask;
    gp->field.depth = o->depth;
    gp->field.back = (field_back)o->back;
    gp->field.thickness = o->thickness;
    gp->field.invert = o->invert;
    gp->field.base = o->base;
}

typedef struct field_store {
    orf_cache *cache;
    const uint8_t *data;
    size_t n;
    char key[65];
    int rc;
    orf_err err;
} field_store;

/* Store a field blob (or only name it, with no cache). */
static int store_blob(orf_cache *c, const void *data, size_t n, char key[65], orf_err *e)
{
    if (!c) {
        cache_hash(data, n, key);
        return 0;
    }
    return cache_put_object(c, data, n, key, e);
}

static void *store_field(void *arg)
{
    field_store *fs = arg;
    fs->rc = store_blob(fs->cache, fs->data, fs->n, fs->key, &fs->err);
    return NULL;
}

/* The rough stage's full field, made and stored on its own thread while the
 * voxel stage (a coarse field of its own) runs: on two cores the rough
 * record then waits only for the mesh cut and write. */
typedef struct field_job {
    const orf_mask *mask;
    const orf_image *img;
    const gen_params *gp;
    orf_cache *cache;
    gen_facts facts;
    orf_field fld;
    char key[65];
    int rc;
    orf_err err;
} field_job;

static void *make_field(void *arg)
{
    field_job *fj = arg;
    uint8_t *blob = NULL;
    size_t n = 0;
    fj->rc = -1;
    if (gen_field_from_mask(fj->mask, fj->img, fj->gp, 0, &fj->fld, &fj->facts, &fj->err) == 0 &&
        field_serialise(&fj->fld, &blob, &n, &fj->err) == 0 &&
        store_blob(fj->cache, blob, n, fj->key, &fj->err) == 0)
        fj->rc = 0;
    free(blob);
    return NULL;
}

/* What a refine chain can take over from mesh-gen in the same process. */
typedef struct gen_carry {
    cJSON *rough;     /* the rough record as emitted (NULL when it failed) */
    orf_field fld;    /* the rough field, when made here */
    orf_image img;    /* the decoded image, when decoded here */
    char input[65];   /* the image's SHA-256 */
} gen_carry;


/* Make the voxel and rough stages of a decoded image. 0 done, -1 failed (e). */
static int gen_compute(job *j, const cJSON *req, const stage_opts *o, const orf_backend *be,
                       const char *image, const char *key, double t0, double ms_decode,
                       gen_carry *gc, orf_err *e)
{
    runner *r = j->r;
    orf_cache *cache = r->cfg.cache;
    gen_params gp;
    gen_params_of(o, &gp);
    orf_mask mask = {0};
    orf_field fld = {0};
    orf_mesh mesh = {0};
    uint8_t *blob = NULL;
    size_t nblob = 0;
    cJSON *res[2] = {NULL, NULL};
    char field_keys[2][65], mesh_keys[2][65];
    field_job fj;
    memset(&fj, 0, sizeof fj);
    pthread_t fth;
    int fthreaded = 0, rc = -1;
    gen_facts facts;
    memset(&facts, 0, sizeof facts);
    facts.ms_decode = ms_decode;
    if (gen_mask(&gc->img, image, &gp, &mask, &facts, e) < 0)
        goto done;
    /* the rough field's solve may run on the device (backend.h, "Automatic");
     * the voxel stage's coarse one stays on the CPU */
    gen_params gp_rough = gp;
    if (be && be->kind == BACKEND_CUDA) {
        gp_rough.field.solve = backend_field_solver;
        gp_rough.field.solve_ctx = (void *)be;
    }
    fj.mask = &mask;
    fj.img = &gc->img;
    fj.gp = &gp_rough;
    fj.cache = cache;
    fj.facts = facts;
    fthreaded = pthread_create(&fth, NULL, make_field, &fj) == 0;
    for (int s = 0; s < 2; s++) {
        gen_stage_id st = (gen_stage_id)s;
        field_free(&fld);
        field_store fs = {cache, NULL, 0, "", 0, {{0}, {0}}};
        pthread_t th;
        int threaded = 0;
        if (s == 0) {
            /* the voxel stage cuts a coarse field (4 cells per voxel, solved
             * in a few ms) so the first record comes early */
            int side = 4 * o->grid[0];
            if (side > gp.field.max_side)
                side = 0;
            if (side > 0 && side < 64)
                side = 64;
            if (gen_field_from_mask(&mask, &gc->img, &gp, side, &fld, &facts, e) < 0 ||
                field_serialise(&fld, &blob, &nblob, e) < 0)
                goto done;
            /* the field is stored (hash, write, fsync) on a second thread
             * while the mesh is cut */
            fs.data = blob;
            fs.n = nblob;
            threaded = pthread_create(&th, NULL, store_field, &fs) == 0;
            if (!threaded)
                store_field(&fs);
        } else {
            if (fthreaded)
                pthread_join(fth, NULL);
            else
                make_field(&fj);
            fthreaded = 0;
            fld = fj.fld;
            memset(&fj.fld, 0, sizeof fj.fld);
            facts.ms_field = fj.facts.ms_field;
            facts.field_w = fj.facts.field_w;
            facts.field_h = fj.facts.field_h;
            facts.cycles = fj.facts.cycles;
            facts.residual = fj.facts.residual;
            fs.rc = fj.rc;
            fs.err = fj.err;
            memcpy(fs.key, fj.key, sizeof fs.key);
            if (fs.rc < 0) {
                *e = fs.err;
                goto done;
            }
        }
        backend_facts bf;
        int cut = gen_stage_on(be, &fld, st, o->grid[s], &mesh, &facts, &bf, e);
        if (threaded)
            pthread_join(th, NULL);
        free(blob);
        blob = NULL;
        if (cut < 0)
            goto done;
        if (fs.rc < 0) {
            *e = fs.err;
            goto done;
        }
        memcpy(field_keys[s], fs.key, sizeof fs.key);
        double tw = units_now_ms();
        int closed = 0;
        float lo[3], hi[3];
        mesh_bbox(&mesh, lo, hi);
        if (gen_mesh_closed(&mesh, &closed, e) < 0 ||
            meshio_write_mem(&mesh, (mesh_format)o->format, NULL, &blob, &nblob, e) < 0 ||
            store_blob(cache, blob, nblob, mesh_keys[s], e) < 0)
            goto done;
        char opath[4096] = "", dir[4096], name[400], suffix[16];
        snprintf(suffix, sizeof suffix, ".%s", gen_stage_name(st));
        int t = out_target(r, o->out, image, suffix, s == 1 && !o->progressive, o->format, dir,
                           sizeof dir, name, sizeof name, e);
        if (t < 0 || (t > 0 && write_outputs(r, dir, name, o->format, blob, nblob, NULL, 0, opath,
                                             sizeof opath, e) < 0))
            goto done;
        double ms_write = units_now_ms() - tw;
        cJSON *x = cJSON_CreateObject();
        res[s] = x;
        cJSON_AddStringToObject(x, "stage", gen_stage_name(st));
        cJSON_AddNumberToObject(x, "progress", gen_stage_progress(st));
        cJSON_AddStringToObject(x, "mode", facts.mode);
        cJSON_AddStringToObject(x, "mask", facts.mask);
        cJSON_AddStringToObject(x, "why", facts.why);
        cJSON_AddStringToObject(x, "backend", bf.backend[0] ? bf.backend : "cpu");
        if (bf.fallback[0])
            cJSON_AddStringToObject(x, "fallback", bf.fallback);
        cJSON_AddNumberToObject(x, "grid", o->grid[s]);
        cJSON_AddStringToObject(x, "key", key);
        cJSON_AddStringToObject(x, "field", field_keys[s]);
        cJSON_AddItemToObject(x, "mesh", record_mesh(mesh_keys[s], NULL, (mesh_format)o->format,
                                                     mesh.nverts, mesh.ntris, closed, lo, hi));
        cJSON *rec = stage_record(req, x, cache, opath, 0, t0);
        note(r, RUNNER_NOTE_TIMING,
             "%s %s: decode %.1f ms, mask %.1f ms, field %.1f ms (%dx%d, %d cycles), volume %.1f "
             "ms, extract %.1f ms, write %.1f ms",
             image, gen_stage_name(st), facts.ms_decode, facts.ms_mask, facts.ms_field,
             facts.field_w, facts.field_h, facts.cycles, facts.ms_volume, facts.ms_extract,
             ms_write);
        free(blob);
        blob = NULL;
        mesh_free(&mesh);
        if (s == 1 && rec)
            gc->rough = cJSON_Duplicate(rec, 1);
        if (put(j, rec) < 0) {
            rc = 1;
            goto done;
        }
    }
    if (cache) {
        cJSON *entry = cJSON_CreateObject();
        cJSON *list = cJSON_AddArrayToObject(entry, "records");
        cJSON_AddItemToArray(list, res[0]);
        cJSON_AddItemToArray(list, res[1]);
        res[0] = res[1] = NULL;
        const char *objs[4] = {field_keys[0], field_keys[1], mesh_keys[0], mesh_keys[1]};
        orf_err pe;
        if (cache_put_request(cache, key, entry, objs, 4, units_now_ms() - t0, &pe) < 0)
            note(r, RUNNER_NOTE_WARNING, "%s: the result could not be stored: %s", image, pe.message);
        cJSON_Delete(entry);
    }
    gc->fld = fld;
    memset(&fld, 0, sizeof fld);
    rc = 0;
done:
    free(blob);
    if (fthreaded)
        pthread_join(fth, NULL);
    field_free(&fj.fld);
    field_free(&fld);
    mask_free(&mask);
    mesh_free(&mesh);
    cJSON_Delete(res[0]);
    cJSON_Delete(res[1]);
    return rc;
}

/* The mesh-gen key of a request (o applied) whose image hashes to `input`. */
static int gen_key(const stage_opts *o, const char *input, char key[65], orf_err *e)
{
    cJSON *p = gen_key_params(o);
    if (!p)
        return orf_fail(e, "too_large", "out of memory");
    cache_request_key("mesh-gen", p, input, key);
    cJSON_Delete(p);
    return 0;
}

static int refine_chain(job *j, const cJSON *from, gen_carry *gc);

/* A mesh-gen request. */
static void gen_request(job *j, const cJSON *req)
{
    runner *r = j->r;
    orf_cache *cache = r->cfg.cache;
    orf_err e;
    orf_err_clear(&e);
    double t0 = units_now_ms();
    stage_opts o = r->flags;
    orf_backend be;
    uint8_t *bytes = NULL;
    size_t nbytes = 0;
    cJSON *hit = NULL;
    gen_carry gc;
    memset(&gc, 0, sizeof gc);
    const char *image = ndjson_get_string(req, "image");
    if (params_apply(&params_mesh_gen, req, NULL, &o, &e) < 0) {
        if (image)
            name_input(&e, image);
        goto fail;
    }
    if (r->cfg.lookup_only)
        o.out = NULL; /* a lookup writes no file */
    format_of_out(&o);
    if (!image || !image[0]) {
        orf_fail(&e, "bad_request", "the request has no \"image\" path");
        goto fail;
    }
    if (backend_of(r, &o, &be, &e) < 0)
        goto fail;
    if (image_read_bytes(image, MAX_IMAGE_BYTES, &bytes, &nbytes, &e) < 0) {
        if (!strcmp(e.code, "io_error"))
            snprintf(e.code, sizeof e.code, "no_input"); /* the input, not an output */
        goto fail;
    }
    char key[65];
    cache_hash(bytes, nbytes, gc.input);
    if (gen_key(&o, gc.input, key, &e) < 0)
        goto fail;
    /* a hit answers at once */
    if (cache && !o.no_cache && cache_get_request(cache, key, &hit, &e) == 1) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(hit, "records");
        if (cJSON_GetArraySize(list) == 2) {
            for (int s = 0; s < 2; s++) {
                const cJSON *res = cJSON_GetArrayItem(list, s);
                char opath[4096] = "", dir[4096], name[400], suffix[16];
                snprintf(suffix, sizeof suffix, ".%s", gen_stage_name((gen_stage_id)s));
                int t = out_target(r, o.out, image, suffix, s == 1 && !o.progressive, o.format,
                                   dir, sizeof dir, name, sizeof name, &e);
                if (t < 0 || (t > 0 && write_cached(r, dir, name, o.format, res, opath,
                                                     sizeof opath, &e) < 0))
                    goto fail;
                cJSON *rec = stage_record(req, res, cache, opath, 1, t0);
                if (s == 1 && rec)
                    gc.rough = cJSON_Duplicate(rec, 1);
                if (put(j, rec) < 0)
                    goto done;
            }
            if (o.progressive)
                refine_chain(j, gc.rough, &gc);
            goto done;
        }
    }
    orf_err_clear(&e);
    if (r->cfg.lookup_only) {
        j->missed = 1;
        goto done;
    }
    double td = units_now_ms();
    if (image_load_memory(bytes, nbytes, image, o.max_pixels, &gc.img, &e) < 0)
        goto fail;
    free(bytes);
    bytes = NULL;
    int g = gen_compute(j, req, &o, &be, image, key, t0, units_now_ms() - td, &gc, &e);
    if (g < 0)
        goto fail;
    if (g == 0 && o.progressive && gc.rough)
        refine_chain(j, gc.rough, &gc);
    goto done;
fail:
    fail(j, req, &e);
done:
    free(bytes);
    cJSON_Delete(hit);
    cJSON_Delete(gc.rough);
    field_free(&gc.fld);
    image_free(&gc.img);
}

/* ---- the refined and final stages ------------------------------------------------------------ */

static int texture_flags(int format)
{
    return format == MESH_FMT_PLY ? TEXTURE_COLORS
           : format == MESH_FMT_STL ? 0
                                    : TEXTURE_UVS | TEXTURE_ATTACH;
}

static void refine_params_of(const stage_opts *o, const orf_backend *be, refine_params *rp)
{
    refine_params_default(rp);
    rp->refined_resolution = o->grid_refined;
    rp->resolution = o->grid_final;
    rp->smooth = o->smooth;
    rp->max_triangles = (uint32_t)o->max_triangles;
    rp->max_error = o->max_error;
    rp->repair.max_hole_edges = (uint32_t)o->fill_holes;
    rp->repair.weld_tolerance = o->weld;
    rp->repair.floater_share = o->floaters;
    rp->backend = be;
    rp->texture = texture_flags(o->format);
}

/* The key of refine stage s over `input`. */
static int stage_key(const stage_opts *o, refine_stage s, const char *input, char key[65],
                     orf_err *e)
{
    cJSON *p = params_key_object(&params_mesh_refine,
                                 s == REFINE_REFINED ? PARAM_KEY_REFINED : PARAM_KEY_FINAL, o);
    if (!p)
        return orf_fail(e, "too_large", "out of memory");
    cJSON_AddStringToObject(p, "stage", refine_stage_name(s));
    cache_request_key("mesh-refine", p, input, key);
    cJSON_Delete(p);
    return 0;
}

/* The input of a final stage from a field: the field and the image (its texture). */
static void final_input(const char *fkey, const char *ihash, char out[65])
{
    char both[160];
    snprintf(both, sizeof both, "field:%s image:%s", fkey, ihash);
    cache_hash(both, strlen(both), out);
}

/* Look stage `key` up; on a hit emit its record (files written when `dir`).
 * 1 hit (emitted), 0 miss, -1 failed (e), 2 stop. */
static int try_hit(job *j, const stage_opts *o, const char *key, const cJSON *base, int last,
                   const char *src, double t0, orf_err *e)
{
    runner *r = j->r;
    cJSON *res = NULL;
    if (!r->cfg.cache || o->no_cache || cache_get_request(r->cfg.cache, key, &res, e) != 1) {
        orf_err_clear(e);
        return 0;
    }
    char opath[4096] = "", dir[4096], name[400];
    int t = last ? out_target(r, o->out, src, "", 1, o->format, dir, sizeof dir, name, sizeof name, e)
                 : 0;
    if (t < 0 || (t > 0 && write_cached(r, dir, name, o->format, res, opath, sizeof opath, e) < 0)) {
        cJSON_Delete(res);
        return -1;
    }
    cJSON *rec = stage_record(base, res, r->cfg.cache, opath, 1, t0);
    cJSON_Delete(res);
    return put(j, rec) < 0 ? 2 : 1;
}

/* Store a computed refine stage: the mesh (and an OBJ's texture) as objects,
 * the files when `dir`, the entry; emit the record. 0, -1 failed (e), 2 stop. */
static int refine_store(job *j, const stage_opts *o, const char *key, const cJSON *base,
                        cJSON *res, const orf_mesh *m, const refine_facts *f, int last,
                        const char *src, double t0, orf_err *e)
{
    runner *r = j->r;
    orf_cache *cache = r->cfg.cache;
    uint8_t *blob = NULL, *png = NULL;
    size_t n = 0, npng = 0;
    char obj[65], tex[65] = "", opath[4096] = "";
    int rc = -1;
    if (meshio_write_mem(m, (mesh_format)o->format, NULL, &blob, &n, e) < 0 ||
        store_blob(cache, blob, n, obj, e) < 0)
        goto done;
    if (o->format == MESH_FMT_OBJ && m->uv && m->texture.rgba &&
        (image_encode_png(&m->texture, &png, &npng, e) < 0 || store_blob(cache, png, npng, tex, e) < 0))
        goto done;
    cJSON *mo = record_mesh(obj, NULL, (mesh_format)o->format, m->nverts, m->ntris,
                            f->stats.watertight, f->stats.bbox[0], f->stats.bbox[1]);
    if (tex[0])
        cJSON_AddStringToObject(mo, "texture", tex);
    ndjson_set(res, "mesh", mo);
    char dir[4096], name[400];
    int t = last ? out_target(r, o->out, src, "", 1, o->format, dir, sizeof dir, name, sizeof name, e)
                 : 0;
    if (t < 0 || (t > 0 && write_outputs(r, dir, name, o->format, blob, n, png, npng, opath,
                                         sizeof opath, e) < 0))
        goto done;
    if (cache) {
        const char *objs[2] = {obj, tex};
        orf_err pe;
        if (cache_put_request(cache, key, res, objs, tex[0] ? 2 : 1, units_now_ms() - t0, &pe) < 0)
            note(r, RUNNER_NOTE_WARNING, "%s: the result could not be stored: %s", src, pe.message);
    }
    rc = put(j, stage_record(base, res, cache, opath, 0, t0)) < 0 ? 2 : 0;
done:
    free(blob);
    free(png);
    return rc;
}

static void refine_note(runner *r, const char *name, refine_stage s, const refine_facts *f)
{
    note(r, RUNNER_NOTE_TIMING,
         "%s %s: volume %.1f ms, extract %.1f ms, repair %.1f ms, smooth %.1f ms, decimate %.1f "
         "ms, normals %.1f ms, texture %.1f ms",
         name, refine_stage_name(s), f->ms_volume, f->ms_extract, f->ms_repair, f->ms_smooth,
         f->ms_decimate, f->ms_normals, f->ms_texture);
}

/* The first result fields of a refine stage record. */
static cJSON *refine_result(refine_stage s, const char *key, const refine_facts *f)
{
    cJSON *x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "stage", refine_stage_name(s));
    cJSON_AddNumberToObject(x, "progress", refine_stage_progress(s));
    cJSON_AddStringToObject(x, "backend", f->backend[0] ? f->backend : "cpu");
    if (f->fallback[0])
        cJSON_AddStringToObject(x, "fallback", f->fallback);
    if (f->resolution > 0)
        cJSON_AddNumberToObject(x, "grid", f->resolution);
    cJSON_AddStringToObject(x, "key", key);
    return x;
}

/* Parameters of the refine stages for a record or request `from`: the
 * runner's flags, then from's fields (only the shared ones of a mesh-gen
 * record: its other fields are mesh-gen's). */
static int refine_opts(runner *r, const cJSON *from, int gen_record, stage_opts *o, orf_err *e)
{
    *o = r->flags;
    if (params_apply(&params_mesh_refine, from, gen_record ? &params_mesh_gen : NULL, o, e) < 0)
        return -1;
    if (r->cfg.lookup_only)
        o->out = NULL; /* a lookup writes no file */
    format_of_out(o);
    if (o->max_triangles == 0 && o->max_error <= 0)
        return orf_fail(e, "bad_request",
                        "max_triangles 0 needs a max_error: the final stage needs a target");
    return 0;
}

/* Refine the field of `from` (a rough record, or a request with "field"):
 * the refined stage and, when asked, the final one. `gc` (may be NULL) holds
 * what mesh-gen made in this process: the same field and image bytes. */
static int refine_chain(job *j, const cJSON *from, gen_carry *gc)
{
    runner *r = j->r;
    orf_err e;
    orf_err_clear(&e);
    stage_opts o;
    orf_backend be;
    orf_field fld = {0};
    orf_image img = {0};
    cJSON *base = NULL, *warn = NULL;
    int rc = 0;
    const char *fkey = ndjson_get_string(from, "field");
    const char *image = ndjson_get_string(from, "image");
    const char *name = image ? image : fkey;
    int gen_record = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(from, "progress"));
    if (refine_opts(r, from, gen_record, &o, &e) < 0 || backend_of(r, &o, &be, &e) < 0) {
        if (name)
            name_input(&e, name);
        goto fail;
    }
    if (!fkey || !cache_key_valid(fkey)) {
        orf_fail(&e, "bad_request", "field '%.80s' is not a 64-hex object key", fkey ? fkey : "");
        goto fail;
    }
    base = base_of(from);
    if (!base) {
        orf_fail(&e, "too_large", "out of memory");
        goto fail;
    }
    /* the final stage's input also names the texture: the image's bytes */
    char ihash[65] = "none", keys[2][65], fin_in[65];
    if (gc && gc->input[0])
        memcpy(ihash, gc->input, sizeof ihash);
    else if (image && cache_hash_file(image, ihash, &e) != 0) {
        snprintf(ihash, sizeof ihash, "none");
        orf_err_clear(&e);
    }
    final_input(fkey, ihash, fin_in);
    if (stage_key(&o, REFINE_REFINED, fkey, keys[0], &e) < 0 ||
        stage_key(&o, REFINE_FINAL, fin_in, keys[1], &e) < 0)
        goto fail;
    refine_params rp;
    refine_params_of(&o, &be, &rp);
    const orf_field *use = gc && gc->fld.sd ? &gc->fld : NULL;
    for (int s = REFINE_REFINED; s <= o.stage; s++) {
        refine_stage st = (refine_stage)s;
        double t0 = units_now_ms();
        int last = s == o.stage;
        int h = try_hit(j, &o, keys[s], base, last, name, t0, &e);
        if (h == 1)
            continue;
        if (h == 2)
            goto stop;
        if (h < 0)
            goto fail;
        if (r->cfg.lookup_only) {
            j->missed = 1;
            goto out;
        }
        note(r, RUNNER_NOTE_STAGE, "%s %s", name, refine_stage_name(st));
        if (!use) {
            if (!r->cfg.cache) {
                orf_fail(&e, "no_field", "field %.12s... needs the cache, which cannot be used",
                         fkey);
                goto fail;
            }
            if (refine_load_field(r->cfg.cache, fkey, &fld, &e) < 0) {
                if (gc) /* mesh-gen itself: its own field, from its cache hit */
                    orf_fail(&e, e.code,
                             "the cached field %.12s... is %s: run mesh-gen again with --no-cache",
                             fkey, strcmp(e.code, "no_field") ? "damaged" : "gone from the cache");
                goto fail;
            }
            use = &fld;
        }
        const orf_image *tex = NULL;
        if (st == REFINE_FINAL && rp.texture && image) {
            if (!img.rgba && gc && gc->img.rgba) {
                img = gc->img; /* taken over: mesh-gen is done with it */
                memset(&gc->img, 0, sizeof gc->img);
            }
            if (!img.rgba && image_load_file(image, 0, &img, &e) != 0) {
                warn = cJSON_CreateArray();
                char msg[600];
                snprintf(msg, sizeof msg, "no texture: %s", e.message);
                cJSON_AddItemToArray(warn, cJSON_CreateString(msg));
                orf_err_clear(&e);
            } else if (img.rgba) {
                /* the mask mesh-gen used says where the background is */
                mask_method mm = MASK_AUTO;
                const char *ms = ndjson_get_string(from, "mask");
                if (ms)
                    mask_method_parse(ms, &mm, NULL);
                if (texture_alpha_from_mask(&img, mm, image, &e) != 0)
                    goto fail;
            }
            tex = img.rgba ? &img : NULL;
        }
        orf_mesh m;
        refine_facts f;
        if (refine_from_field(use, st, &rp, tex, &m, &f, &e) < 0)
            goto fail;
        refine_note(r, name, st, &f);
        cJSON *res = refine_result(st, keys[s], &f);
        cJSON_AddStringToObject(res, "field", fkey);
        cJSON_AddBoolToObject(res, "textured", f.textured);
        if (st == REFINE_FINAL && warn)
            cJSON_AddItemToObject(res, "warnings", cJSON_Duplicate(warn, 1));
        cJSON *d = record_decimation(&f);
        if (d)
            cJSON_AddItemToObject(res, "decimation", d);
        int w = refine_store(j, &o, keys[s], base, res, &m, &f, last, name, t0, &e);
        cJSON_Delete(res);
        mesh_free(&m);
        if (w == 2)
            goto stop;
        if (w < 0)
            goto fail;
    }
    goto out;
fail:
    if (name)
        name_input(&e, name);
    fail(j, from, &e);
    rc = -1;
    goto out;
stop:
    rc = 1;
out:
    cJSON_Delete(base);
    cJSON_Delete(warn);
    field_free(&fld);
    image_free(&img);
    return rc;
}

static cJSON *repair_json(const refine_facts *f);

/* Refine a mesh file: repair, smoothing; for the final stage decimation. */
static void refine_mesh(job *j, const cJSON *req, const char *path)
{
    runner *r = j->r;
    orf_err e;
    orf_err_clear(&e);
    stage_opts o;
    orf_backend be;
    uint8_t *data = NULL;
    size_t n = 0;
    orf_mesh m = {0};
    cJSON *base = NULL;
    if (refine_opts(r, req, 0, &o, &e) < 0 || backend_of(r, &o, &be, &e) < 0)
        goto fail;
    if (meshio_slurp(path, 0, &data, &n, &e) != 0) {
        if (!strcmp(e.code, "io_error"))
            snprintf(e.code, sizeof e.code, "no_input");
        goto fail;
    }
    char hash[65], keys[2][65];
    cache_hash(data, n, hash);
    if (stage_key(&o, REFINE_REFINED, hash, keys[0], &e) < 0 ||
        stage_key(&o, REFINE_FINAL, hash, keys[1], &e) < 0)
        goto fail;
    base = base_of(req);
    if (!base) {
        orf_fail(&e, "too_large", "out of memory");
        goto fail;
    }
    ndjson_set(base, "source", cJSON_CreateString(path));
    refine_params rp;
    refine_params_of(&o, &be, &rp);
    refine_facts f;
    memset(&f, 0, sizeof f);
    int loaded = 0, refined = 0;
    for (int s = REFINE_REFINED; s <= o.stage; s++) {
        refine_stage st = (refine_stage)s;
        double t0 = units_now_ms();
        int last = s == o.stage;
        /* --max-triangles-in must see the input: no shortcut around it */
        if (!refined && !o.max_triangles_in) {
            int h = try_hit(j, &o, keys[s], base, last, path, t0, &e);
            if (h == 1)
                continue;
            if (h == 2)
                goto out;
            if (h < 0)
                goto fail;
        }
        if (r->cfg.lookup_only) {
            j->missed = 1;
            goto out;
        }
        note(r, RUNNER_NOTE_STAGE, "%s %s", path, refine_stage_name(st));
        if (!loaded) {
            if (meshio_read_mem(data, n, MESH_FMT_UNKNOWN, path, (uint32_t)o.max_triangles_in, &m,
                                &e) != 0)
                goto fail;
            loaded = 1;
        }
        if (refine_from_mesh(&m, st, refined, &rp, path, &f, &e) != 0)
            goto fail;
        refined = 1; /* after a hit on refined, the final stage starts from the input */
        refine_note(r, path, st, &f);
        cJSON *res = refine_result(st, keys[s], &f);
        if (f.repaired)
            cJSON_AddItemToObject(res, "repair", repair_json(&f));
        cJSON *d = record_decimation(&f);
        if (d)
            cJSON_AddItemToObject(res, "decimation", d);
        int w = refine_store(j, &o, keys[s], base, res, &m, &f, last, path, t0, &e);
        cJSON_Delete(res);
        if (w == 2)
            goto out;
        if (w < 0)
            goto fail;
    }
    goto out;
fail:
    name_input(&e, path);
    {
        /* the input path in "source", as in the records that succeed: a
         * record's "mesh" is always the mesh made */
        cJSON *er = cJSON_Duplicate(req, 1);
        if (er && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(er, "mesh"))) {
            cJSON_DeleteItemFromObjectCaseSensitive(er, "mesh");
            ndjson_set(er, "source", cJSON_CreateString(path));
        }
        fail(j, er ? er : req, &e);
        cJSON_Delete(er);
    }
out:
    cJSON_Delete(base);
    free(data);
    mesh_free(&m);
}

static cJSON *stats_json(const mesh_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "vertices", s->vertices);
    cJSON_AddNumberToObject(o, "triangles", s->triangles);
    cJSON_AddNumberToObject(o, "components", s->components);
    cJSON_AddNumberToObject(o, "boundary_edges", s->boundary_edges);
    cJSON_AddNumberToObject(o, "nonmanifold_edges", s->nonmanifold_edges);
    cJSON_AddNumberToObject(o, "nonmanifold_vertices", s->nonmanifold_vertices);
    /* searched only when the edges are all used twice, in opposite directions */
    if (s->self_intersections == UINT32_MAX)
        cJSON_AddStringToObject(o, "self_intersections", "too many to test");
    else
        cJSON_AddNumberToObject(o, "self_intersections", s->self_intersections);
    cJSON_AddBoolToObject(o, "watertight", s->watertight);
    cJSON_AddNumberToObject(o, "volume", s->volume);
    cJSON_AddNumberToObject(o, "area", s->area);
    cJSON *bb = cJSON_AddArrayToObject(o, "bbox");
    for (int k = 0; k < 2; k++) {
        cJSON *c = cJSON_CreateArray();
        for (int a = 0; a < 3; a++)
            cJSON_AddItemToArray(c, cJSON_CreateNumber(s->bbox[k][a]));
        cJSON_AddItemToArray(bb, c);
    }
    return o;
}

static cJSON *repair_json(const refine_facts *f)
{
    const repair_report *r = &f->repair;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "before", stats_json(&r->before));
    cJSON_AddItemToObject(o, "after", stats_json(&r->after));
    cJSON_AddNumberToObject(o, "nonfinite_triangles", r->nonfinite_triangles);
    cJSON_AddNumberToObject(o, "welded_vertices", r->welded_vertices);
    cJSON_AddNumberToObject(o, "degenerate_triangles", r->degenerate_triangles);
    cJSON_AddNumberToObject(o, "duplicate_triangles", r->duplicate_triangles);
    cJSON_AddNumberToObject(o, "floater_components", r->floater_components);
    cJSON_AddNumberToObject(o, "floater_triangles", r->floater_triangles);
    cJSON_AddNumberToObject(o, "flipped_triangles", r->flipped_triangles);
    cJSON_AddNumberToObject(o, "nonorientable_edges", r->nonorientable_edges);
    cJSON_AddNumberToObject(o, "holes_filled", r->holes_filled);
    cJSON_AddNumberToObject(o, "hole_triangles", r->hole_triangles);
    cJSON_AddNumberToObject(o, "holes_left", r->holes_left);
    cJSON_AddNumberToObject(o, "unused_vertices", r->unused_vertices);
    return o;
}

/* ---- one line of input --------------------------------------------------------------------- */

/* A finished stage record: "stage" and "progress" (a request has no progress). */
static int is_record(const cJSON *req)
{
    return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(req, "stage")) &&
           cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(req, "progress"));
}

/* 1 when this rough record (its field and its image: two images with the
 * same pixels share a field, and each gets its meshes) was refined before
 * in this run: the same record again is not refined again. */
static int seen_before(runner *r, const char *fkey, const cJSON *req)
{
    const char *image = ndjson_get_string(req, "image");
    size_t n = strlen(fkey) + (image ? strlen(image) : 0) + 2;
    char *key = malloc(n);
    if (!key)
        return 0;
    snprintf(key, n, "%s\t%s", fkey, image ? image : "");
    pthread_mutex_lock(&r->lock);
    int added = strset_add(r->seen, key, 0, NULL);
    pthread_mutex_unlock(&r->lock);
    free(key);
    return added == 0;
}

static void run_request(job *j)
{
    runner *r = j->r;
    const cJSON *req = j->req;
    if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(req, "error"))) {
        put(j, cJSON_Duplicate(req, 1)); /* the first cause goes on, unchanged */
        return;
    }
    if (is_record(req)) {
        put(j, cJSON_Duplicate(req, 1));
        const char *st = ndjson_get_string(req, "stage");
        const char *fkey = ndjson_get_string(req, "field");
        if (r->cfg.table == &params_mesh_refine && !strcmp(st, "rough") && fkey &&
            cache_key_valid(fkey) && !seen_before(r, fkey, req))
            refine_chain(j, req, NULL);
        return;
    }
    if (r->cfg.table == &params_mesh_gen) {
        gen_request(j, req);
        return;
    }
    const char *fkey = ndjson_get_string(req, "field");
    const char *path = record_mesh_path(req);
    if (cJSON_GetObjectItemCaseSensitive(req, "field")) {
        if (!fkey || !cache_key_valid(fkey)) {
            orf_err e;
            orf_fail(&e, "bad_request", "field '%.80s' is not a 64-hex object key",
                     fkey ? fkey : "(not a string)");
            fail(j, req, &e);
            return;
        }
        refine_chain(j, req, NULL);
        return;
    }
    if (path) {
        refine_mesh(j, req, path);
        return;
    }
    orf_err e;
    orf_fail(&e, "bad_request", "a request needs \"field\" (a mesh-gen record) or \"mesh\" (a path)");
    fail(j, req, &e);
}

static void job_free(job *j)
{
    for (size_t i = 0; i < j->nbuf; i++)
        cJSON_Delete(j->buf[i]);
    for (size_t i = 0; i < j->nlocal; i++)
        cJSON_Delete(j->local[i]);
    free(j->buf);
    free(j->local);
    cJSON_Delete(j->req);
    free(j);
}

/* Job j is done: its records (lookup) go out, and every finished job at the
 * head of the queue leaves it. */
static void job_done(job *j)
{
    runner *r = j->r;
    pthread_mutex_lock(&r->lock);
    if (r->cfg.lookup_only) {
        if (j->missed) {
            for (size_t i = 0; i < j->nlocal; i++)
                cJSON_Delete(j->local[i]);
            j->nlocal = 0;
            cJSON *again = cJSON_Duplicate(j->req, 1);
            if (again)
                push(&j->local, &j->nlocal, &j->caplocal, again);
        }
        /* in order, like any other record */
        for (size_t i = 0; i < j->nlocal; i++)
            if (r->head == j || r->cfg.unordered)
                deliver_locked(r, j->local[i]);
            else if (push(&j->buf, &j->nbuf, &j->capbuf, j->local[i]) < 0)
                cJSON_Delete(j->local[i]);
        j->nlocal = 0;
    }
    j->done = 1;
    while (r->head && r->head->done) {
        job *h = r->head;
        r->head = h->next;
        if (!r->head)
            r->tail = NULL;
        job_free(h);
        if (r->head) {
            /* the new head's waiting records go out now; its next ones at once */
            job *n = r->head;
            for (size_t i = 0; i < n->nbuf; i++)
                deliver_locked(r, n->buf[i]);
            n->nbuf = 0;
        }
    }
    r->inflight--;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void *job_thread(void *arg)
{
    job *j = arg;
    run_request(j);
    job_done(j);
    return NULL;
}

/* Queue a job at the tail; -1 when the run has stopped. */
static job *enqueue(runner *r, cJSON *req)
{
    job *j = calloc(1, sizeof *j);
    if (!j) {
        cJSON_Delete(req);
        return NULL;
    }
    j->r = r;
    j->req = req;
    pthread_mutex_lock(&r->lock);
    while (r->cfg.jobs > 1 && r->inflight >= r->cfg.jobs && !r->stopped)
        pthread_cond_wait(&r->cond, &r->lock);
    if (r->stopped) {
        pthread_mutex_unlock(&r->lock);
        cJSON_Delete(req);
        free(j);
        return NULL;
    }
    if (r->tail)
        r->tail->next = j;
    else
        r->head = j;
    r->tail = j;
    r->inflight++;
    pthread_mutex_unlock(&r->lock);
    return j;
}

/* Before a request runs, in input order: note its input file, and reserve
 * the stem of its outputs in an out folder (or its out file), so that when
 * two inputs share a stem the later one in the input keeps its extension
 * (or fails with out_collision) whichever finishes first (with --jobs the
 * names followed the finishing order). Errors are left to the request's
 * own run, which asks again and reports them. */
static void reserve_outputs(runner *r, const cJSON *req)
{
    if (r->cfg.lookup_only || !cJSON_IsObject(req) ||
        cJSON_GetObjectItemCaseSensitive(req, "error"))
        return;
    stage_opts o = r->flags;
    orf_err e;
    const char *src;
    if (r->cfg.table == &params_mesh_gen) {
        src = ndjson_get_string(req, "image");
        if (is_record(req) || !src)
            return;
        out_note_input(r->names, src);
        if (params_apply(&params_mesh_gen, req, NULL, &o, &e) < 0)
            return;
    } else {
        int gen_record = is_record(req);
        const char *fkey = ndjson_get_string(req, "field"), *image = ndjson_get_string(req, "image");
        if (gen_record && strcmp(ndjson_get_string(req, "stage"), "rough") != 0)
            return;
        src = gen_record || fkey ? (image ? image : fkey) : record_mesh_path(req);
        if (!src)
            return;
        out_note_input(r->names, src);
        if (refine_opts(r, req, gen_record, &o, &e) < 0)
            return;
    }
    /* the stem in a folder, or the file itself (the last stage's) */
    format_of_out(&o);
    char dir[4096], name[400];
    (void)out_target(r, o.out, src, "", 1, o.format, dir, sizeof dir, name, sizeof name, &e);
}

void runner_note_input(runner *r, const char *path)
{
    out_note_input(r->names, path);
}

int runner_submit(runner *r, cJSON *req)
{
    reserve_outputs(r, req);
    job *j = enqueue(r, req);
    if (!j)
        return -1;
    if (r->cfg.jobs > 1) {
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int ok = pthread_create(&th, &at, job_thread, j) == 0;
        pthread_attr_destroy(&at);
        if (ok)
            return 0;
    }
    job_thread(j);
    pthread_mutex_lock(&r->lock);
    int stop = r->stopped;
    pthread_mutex_unlock(&r->lock);
    return stop ? -1 : 0;
}

int runner_submit_error(runner *r, cJSON *req, long line, const orf_err *e)
{
    cJSON *rec = ndjson_error_record(req, req ? 0 : line, e);
    cJSON_Delete(req);
    if (!rec)
        return -1;
    /* an error record passes through run_request unchanged, in order */
    return runner_submit(r, rec);
}

int runner_finish(runner *r)
{
    pthread_mutex_lock(&r->lock);
    while (r->inflight > 0)
        pthread_cond_wait(&r->cond, &r->lock);
    int status = r->status;
    pthread_mutex_unlock(&r->lock);
    return status;
}

runner *runner_new(const runner_config *cfg, orf_err *e)
{
    runner *r = calloc(1, sizeof *r);
    if (!r) {
        orf_fail(e, "too_large", "out of memory");
        return NULL;
    }
    r->cfg = *cfg;
    r->flags = *cfg->flags;
    if (r->cfg.jobs > 64)
        r->cfg.jobs = 64;
    const param_def *d = params_find(&params_mesh_gen, "backend");
    if (backend_choose(params_choice_name(d, r->flags.backend), &r->backend, e) < 0) {
        free(r);
        return NULL;
    }
    if (!(r->names = out_names_new()) || !(r->seen = strset_new())) {
        orf_fail(e, "too_large", "out of memory");
        out_names_free(r->names);
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    return r;
}

void runner_free(runner *r)
{
    if (!r)
        return;
    runner_finish(r);
    out_names_free(r->names);
    strset_free(r->seen);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}

int runner_request_key(runner *r, const cJSON *req, char key[65], orf_err *e)
{
    stage_opts o = r->flags;
    /* "input": the content hash of the input, when the file is not at hand */
    const char *given = ndjson_get_string(req, "input");
    if (r->cfg.table == &params_mesh_gen) {
        const char *image = ndjson_get_string(req, "image");
        if (params_apply(&params_mesh_gen, req, NULL, &o, e) < 0)
            return -1;
        char input[65];
        if (given && cache_key_valid(given))
            memcpy(input, given, sizeof input);
        else if (!image || !image[0])
            return orf_fail(e, "bad_request",
                            "the request has no \"image\" path (nor an \"input\" content hash)");
        else if (cache_hash_file(image, input, e) < 0)
            return -1;
        return gen_key(&o, input, key, e);
    }
    const char *fkey = ndjson_get_string(req, "field");
    int gen_record = is_record(req);
    if (refine_opts(r, req, gen_record, &o, e) < 0)
        return -1;
    char input[65];
    if (given && cache_key_valid(given)) {
        memcpy(input, given, sizeof input);
    } else if (fkey) {
        if (!cache_key_valid(fkey))
            return orf_fail(e, "bad_request", "field '%.80s' is not a 64-hex object key", fkey);
        if (o.stage == REFINE_REFINED) {
            memcpy(input, fkey, sizeof input);
        } else {
            char ihash[65] = "none";
            const char *image = ndjson_get_string(req, "image");
            if (image && cache_hash_file(image, ihash, NULL) != 0)
                snprintf(ihash, sizeof ihash, "none");
            final_input(fkey, ihash, input);
        }
    } else {
        const char *path = record_mesh_path(req);
        if (!path)
            return orf_fail(e, "bad_request",
                            "a request needs \"field\" (a mesh-gen record) or \"mesh\" (a path)");
        if (cache_hash_file(path, input, e) < 0)
            return -1;
    }
    return stage_key(&o, (refine_stage)o.stage, input, key, e);
}
