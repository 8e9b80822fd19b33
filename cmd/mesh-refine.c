/* mesh-refine - turn mesh-gen records or mesh files into refined and final meshes.
 *
 * Options, the NDJSON loop and the records; the work is lib/refine.c.
 * A mesh-gen record (one with "field", "progress" and a stage other than
 * refined or final) passes through unchanged, in order; one that is not the
 * "voxel" record is then re-extracted from its cached field, once per field
 * key in a run (a repeated record is passed through only), so
 * `mesh-gen a.png | mesh-refine` prints voxel, rough, refined and final. A
 * request with "field" alone is refined; a record with "mesh" (a path, or
 * an object with "path") or a bare path is refined as a mesh. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "cache.h"
#include "imageio.h"
#include "meshio.h"
#include "ndjson.h"
#include "record.h"
#include "refine.h"
#include "texture.h"
#include "units.h"
#include "version.h"

#define EX_USAGE 64
#define EX_UNAVAILABLE 69

static const char usage[] =
    "usage: mesh-refine [options] [FILE...]\n"
    "turn mesh-gen records or mesh files into refined and final meshes, as NDJSON records.\n"
    "FILE is a mesh (OBJ, PLY, STL, GLB), an NDJSON file of requests, or - for stdin\n"
    "(the default): one request a line, a mesh-gen record or a bare mesh path.\n"
    "\n"
    "      --stage S              refined or final (default final; final emits refined first)\n"
    "      --resolution N         final-stage grid, cells along the longer side (default 256)\n"
    "      --refined-resolution N refined-stage grid (default 192)\n"
    "      --smooth N             Taubin iterations, 0 for none (default 10)\n"
    "      --max-triangles N      final triangle budget (default 50000; 0: only --max-error)\n"
    "      --max-error E          final decimation error bound, model units (default none)\n"
    "      --backend B            auto, cpu or cuda for extraction and smoothing\n"
    "                             (default $ORFEAS_BACKEND, else auto)\n"
    "      --format F             glb, obj, ply or stl (default glb)\n"
    "  -o, --out DIR              also write <stem>.<ext> into DIR\n"
    "      --fill-holes N         fill holes of at most N boundary edges (default 0: none)\n"
    "      --weld TOL             weld vertices closer than TOL (default 0: exact)\n"
    "      --floaters SHARE       drop pieces under SHARE of the triangles (default 0.005)\n"
    "      --max-triangles-in N   refuse input meshes over N triangles (default 0: no limit)\n"
    "  -j, --jobs N               work on N records at once (default 1)\n"
    "      --unordered            with --jobs, emit records as they finish\n"
    "      --no-cache             neither read nor write the cache\n"
    "      --cache-dir DIR        the cache (default $ORFEAS_CACHE_DIR, ~/.cache/orfeas)\n"
    "      --ttl DURATION         cache entries older than this miss (default 1h; 0: never)\n"
    "  -q, --quiet                no messages on stderr\n"
    "  -v, --verbose              per-stage timing on stderr\n"
    "  -h, --help                 show this help and exit\n"
    "  -V, --version              show the version and exit\n";

/* ---- options ---------------------------------------------------------- */

typedef struct options {
    refine_stage stage;
    refine_params rp;
    mesh_format format;
    const char *out;
    int no_cache;
    uint32_t max_tris_in;
    int jobs, unordered, quiet, verbose;
    const char *cache_dir;
    double ttl;
    const char *backend;
    orf_backend be;
} options;

static options opt;
static orf_cache *g_cache; /* shared: the cache's writes are atomic renames */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_failed;

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mesh-refine: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\nmesh-refine: try 'mesh-refine --help'\n", stderr);
    va_end(ap);
    return EX_USAGE;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* ---- one request -------------------------------------------------------- */

/* The settings of one request: the options, overridden by request fields of
 * the same names (underscores for dashes). */
typedef struct job_params {
    refine_stage stage;
    refine_params rp;
    mesh_format format;
    const char *out;
    int no_cache;
    uint32_t max_tris_in;
    orf_backend be;
} job_params;

static const ndjson_field known_fields[] = {
    {"stage", NDJSON_STRING},          {"resolution", NDJSON_INTEGER},
    {"refined_resolution", NDJSON_INTEGER}, {"smooth", NDJSON_INTEGER},
    {"max_triangles", NDJSON_INTEGER}, {"max_error", NDJSON_NUMBER},
    {"format", NDJSON_STRING},         {"out", NDJSON_STRING},
    {"fill_holes", NDJSON_INTEGER},    {"weld", NDJSON_NUMBER},
    {"floaters", NDJSON_NUMBER},       {"no_cache", NDJSON_BOOL},
    {"max_triangles_in", NDJSON_INTEGER}, {"field", NDJSON_STRING},
    {"image", NDJSON_STRING},          {"backend", NDJSON_STRING},
};

static double num(const cJSON *req, const char *name, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static int job_params_of(const cJSON *req, job_params *jp, orf_err *e)
{
    if (ndjson_check_fields(req, known_fields, sizeof known_fields / sizeof known_fields[0], e))
        return -1;
    jp->stage = opt.stage;
    jp->rp = opt.rp;
    jp->format = opt.format;
    jp->out = opt.out;
    jp->no_cache = opt.no_cache;
    jp->max_tris_in = opt.max_tris_in;
    jp->be = opt.be;
    /* a record from mesh-gen (or mesh-refine) carries its own "stage" and
     * "progress": only a request without "progress" asks for a stage */
    const char *s = ndjson_get_string(req, "stage");
    if (s && !cJSON_GetObjectItemCaseSensitive(req, "progress") && refine_stage_parse(s, &jp->stage, e))
        return -1;
    if ((s = ndjson_get_string(req, "format"))) {
        jp->format = meshio_format_from_name(s);
        if (jp->format == MESH_FMT_UNKNOWN || strchr(s, '.') || strchr(s, '/'))
            return orf_fail(e, "bad_request", "format '%s' is not one of glb, obj, ply, stl", s);
    }
    if ((s = ndjson_get_string(req, "out")))
        jp->out = s;
    const cJSON *nc = cJSON_GetObjectItemCaseSensitive(req, "no_cache");
    if (cJSON_IsBool(nc))
        jp->no_cache = cJSON_IsTrue(nc);
    double v;
    v = num(req, "resolution", jp->rp.resolution);
    if (!(v >= 8 && v <= 2048))
        return orf_fail(e, "bad_request", "resolution %g is outside 8..2048", v);
    jp->rp.resolution = (int)v;
    v = num(req, "refined_resolution", jp->rp.refined_resolution);
    if (!(v >= 8 && v <= 2048))
        return orf_fail(e, "bad_request", "refined_resolution %g is outside 8..2048", v);
    jp->rp.refined_resolution = (int)v;
    v = num(req, "smooth", jp->rp.smooth);
    if (!(v >= 0 && v <= 1000))
        return orf_fail(e, "bad_request", "smooth %g is outside 0..1000", v);
    jp->rp.smooth = (int)v;
    v = num(req, "max_triangles", jp->rp.max_triangles);
    if (v < 0 || v > 4e9)
        return orf_fail(e, "bad_request", "max_triangles %g is outside 0..4000000000", v);
    jp->rp.max_triangles = (uint32_t)v;
    jp->rp.max_error = (float)num(req, "max_error", jp->rp.max_error);
    v = num(req, "fill_holes", jp->rp.repair.max_hole_edges);
    if (v < 0 || v > 4e9)
        return orf_fail(e, "bad_request", "fill_holes %g is outside 0..4000000000", v);
    jp->rp.repair.max_hole_edges = (uint32_t)v;
    jp->rp.repair.weld_tolerance = (float)num(req, "weld", jp->rp.repair.weld_tolerance);
    jp->rp.repair.floater_share = (float)num(req, "floaters", jp->rp.repair.floater_share);
    v = num(req, "max_triangles_in", jp->max_tris_in);
    if (v < 0 || v > 4e9)
        return orf_fail(e, "bad_request", "max_triangles_in %g is outside 0..4000000000", v);
    jp->max_tris_in = (uint32_t)v;
    if ((s = ndjson_get_string(req, "backend")) && backend_choose(s, &jp->be, e) != 0)
        return -1;
    jp->rp.backend = &jp->be;
    jp->rp.texture = jp->format == MESH_FMT_PLY   ? TEXTURE_COLORS
                     : jp->format == MESH_FMT_STL ? 0
                                                  : TEXTURE_UVS | TEXTURE_ATTACH;
    return refine_params_check(&jp->rp, e);
}

/* The canonical request whose key names one stage's result. */
static int stage_key(const job_params *jp, refine_stage s, const char *input, char key[65],
                     orf_err *e)
{
    const cache_program *p = cache_program_find("mesh-refine");
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "input", input);
    cJSON_AddStringToObject(q, "stage", refine_stage_name(s));
    cJSON_AddNumberToObject(q, "resolution",
                            s == REFINE_REFINED ? jp->rp.refined_resolution : jp->rp.resolution);
    cJSON_AddNumberToObject(q, "smooth", jp->rp.smooth);
    if (s == REFINE_FINAL) {
        cJSON_AddNumberToObject(q, "max_triangles", jp->rp.max_triangles);
        cJSON_AddNumberToObject(q, "max_error", jp->rp.max_error);
    }
    cJSON_AddStringToObject(q, "format", meshio_format_ext(jp->format));
    cJSON_AddNumberToObject(q, "fill_holes", jp->rp.repair.max_hole_edges);
    cJSON_AddNumberToObject(q, "weld", jp->rp.repair.weld_tolerance);
    cJSON_AddNumberToObject(q, "floaters", jp->rp.repair.floater_share);
    int rc = cache_request_key_for(p, q, key, e);
    cJSON_Delete(q);
    return rc;
}

static cJSON *stats_json(const mesh_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "vertices", s->vertices);
    cJSON_AddNumberToObject(o, "triangles", s->triangles);
    cJSON_AddNumberToObject(o, "components", s->components);
    cJSON_AddNumberToObject(o, "boundary_edges", s->boundary_edges);
    cJSON_AddNumberToObject(o, "nonmanifold_edges", s->nonmanifold_edges);
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

/* The file name stem of a path: "dir/cat.png" -> "cat". */
static void stem_of(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, n, "%s", *b ? b : "mesh");
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = 0;
}

typedef struct job {
    cJSON *req;                /* the request (owned) */
    long line;
    cJSON *recs[3];            /* records made, in order */
    int nrecs;
    int pass;                  /* 1: emit the request itself first (a mesh-gen record) */
    int skip;                  /* 1: only that (voxel records, fields already refined) */
    int failed;
} job;

static void emit(job *j, cJSON *rec)
{
    if (opt.jobs <= 1 || opt.unordered) {
        pthread_mutex_lock(&out_lock);
        if (ndjson_write(stdout, rec) != 0 && errno == EPIPE)
            exit(g_failed ? 1 : 0);
        pthread_mutex_unlock(&out_lock);
        cJSON_Delete(rec);
    } else {
        j->recs[j->nrecs++] = rec;
    }
}

static void fail_job(job *j, const orf_err *e)
{
    if (!opt.quiet)
        fprintf(stderr, "mesh-refine: %s\n", e->message);
    j->failed = 1;
    emit(j, ndjson_error_record(j->req, j->line, e));
}

/* Store the mesh in the cache and, when asked, in the --out folder; fill the
 * record's "mesh". Returns the object key in obj. */
/* Write the mesh in the job's format into the cache (or, with --no-cache,
 * only hash it) and --out; `st` is mesh_topology() of m, already made by
 * refine_from_field / refine_from_mesh. */
static int store_mesh(const orf_mesh *m, const mesh_stats *st, const job_params *jp, const char *stem,
                      int write_out, cJSON *rec, char obj[65], orf_err *e)
{
    uint8_t *blob = NULL;
    size_t n = 0;
    char mtl[300];
    snprintf(mtl, sizeof mtl, "%s.mtl", stem);
    if (meshio_write_mem(m, jp->format, mtl, &blob, &n, e))
        return -1;
    char path[4096] = "";
    if (g_cache && !jp->no_cache) {
        /* cache_put_object names the object by its hash */
        if (cache_put_object(g_cache, blob, n, obj, e) || cache_object_path(g_cache, obj, path, sizeof path, e)) {
            free(blob);
            return -1;
        }
    } else {
        cache_hash(blob, n, obj);
    }
    free(blob);
    cJSON *mo = record_mesh(obj, path, jp->format, m->nverts, m->ntris, st->watertight, st->bbox[0], st->bbox[1]);
    if (write_out && jp->out) {
        char file[4096];
        if (mkdir(jp->out, 0777) != 0 && errno != EEXIST) {
            cJSON_Delete(mo);
            return orf_fail_errno(e, "io_error", jp->out);
        }
        snprintf(file, sizeof file, "%s/%s.%s", jp->out, stem, meshio_format_ext(jp->format));
        if (meshio_write_file(m, jp->format, file, e)) {
            cJSON_Delete(mo);
            return -1;
        }
        cJSON_AddStringToObject(mo, "out", file);
    }
    ndjson_set(rec, "mesh", mo);
    return 0;
}

/* Fields every stage record carries; the request's other fields pass through. */
static cJSON *base_record(const cJSON *req, refine_stage s)
{
    cJSON *rec = cJSON_Duplicate(req, 1);
    static const char *const drop[] = {"error", "warnings", "repair", "decimation", "cached", "ms", "key",
                                       "fallback", "grid"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(rec, drop[i]);
    ndjson_set(rec, "stage", cJSON_CreateString(refine_stage_name(s)));
    ndjson_set(rec, "progress", cJSON_CreateNumber(refine_stage_progress(s)));
    ndjson_set(rec, "backend", cJSON_CreateString("cpu"));
    return rec;
}

/* A cache hit: the stored record's results on this request's fields. With
 * --out the stored object is written there too (for OBJ, the texture comes
 * from the record's image again). Returns 1 on a hit, 0 on a miss. */
static int try_hit(job *j, const job_params *jp, refine_stage s, const char *key, const char *stem,
                   const char *source, int write_out, double t0)
{
    /* --max-triangles-in must see the input: no shortcut around it */
    if (!g_cache || jp->no_cache || (source && jp->max_tris_in))
        return 0;
    cJSON *stored = NULL;
    orf_err e;
    if (cache_get_request(g_cache, key, &stored, &e) != 1)
        return 0;
    cJSON *rec = base_record(j->req, s);
    for (cJSON *it = stored->child; it; it = it->next)
        ndjson_set(rec, it->string, cJSON_Duplicate(it, 1));
    cJSON_Delete(stored);
    if (source)
        ndjson_set(rec, "source", cJSON_CreateString(source));
    cJSON *mo = cJSON_GetObjectItemCaseSensitive(rec, "mesh");
    const char *obj = ndjson_get_string(mo, "object");
    char path[4096];
    if (obj && cache_object_path(g_cache, obj, path, sizeof path, &e) == 0)
        ndjson_set(mo, "path", cJSON_CreateString(path));
    if (write_out && jp->out && obj) {
        orf_mesh m = {0};
        orf_image img = {0};
        const char *ip = ndjson_get_string(j->req, "image");
        char file[4096];
        snprintf(file, sizeof file, "%s/%s.%s", jp->out, stem, meshio_format_ext(jp->format));
        int ok = mkdir(jp->out, 0777) == 0 || errno == EEXIST;
        if (ok && jp->format != MESH_FMT_OBJ) {
            /* the object is the file: write its very bytes */
            uint8_t *data = NULL;
            size_t nd = 0;
            ok = cache_get_object(g_cache, obj, &data, &nd, &e) == 1 &&
                 meshio_write_atomic(file, data, nd, &e) == 0;
            free(data);
            if (!ok) {
                cJSON_Delete(rec);
                return 0; /* recompute */
            }
            ndjson_set(mo, "out", cJSON_CreateString(file));
        } else {
            /* an OBJ's texture lives beside it (.mtl, .png): make them again */
            if (!ok || meshio_read_file(path, 0, &m, &e) != 0) {
                mesh_free(&m);
                cJSON_Delete(rec);
                return 0; /* recompute */
            }
            if (m.uv && ip && image_load_file(ip, 0, &img, &e) == 0) {
                mask_method mm = MASK_AUTO;
                const char *ms = ndjson_get_string(j->req, "mask");
                if (ms)
                    mask_method_parse(ms, &mm, NULL);
                if (texture_alpha_from_mask(&img, mm, ip, &e) == 0)
                    texture_project_front(&m, &img, 1.0f, TEXTURE_ATTACH, &e);
            }
            if (meshio_write_file(&m, jp->format, file, &e) == 0)
                ndjson_set(mo, "out", cJSON_CreateString(file));
            image_free(&img);
            mesh_free(&m);
        }
    }
    ndjson_set(rec, "cached", cJSON_CreateTrue());
    ndjson_set(rec, "ms", cJSON_CreateNumber(round((units_now_ms() - t0) * 10) / 10));
    ndjson_set(rec, "key", cJSON_CreateString(key));
    emit(j, rec);
    return 1;
}

/* Finish a computed record: timing, key, store the request entry, emit. */
static void done_record(job *j, const job_params *jp, cJSON *rec, const char *key, const char *obj,
                        double ms)
{
    ndjson_set(rec, "cached", cJSON_CreateFalse());
    ndjson_set(rec, "ms", cJSON_CreateNumber(round(ms * 10) / 10));
    ndjson_set(rec, "key", cJSON_CreateString(key));
    if (g_cache && !jp->no_cache) {
        /* what a hit gives back: the results, not the request's own fields */
        cJSON *stored = cJSON_CreateObject();
        static const char *const keep[] = {"stage", "progress", "backend", "fallback", "field", "mesh",
                                           "repair", "decimation", "warnings", "textured", "grid"};
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, keep[i]);
            if (v)
                cJSON_AddItemToObject(stored, keep[i], cJSON_Duplicate(v, 1));
        }
        cJSON *mo = cJSON_GetObjectItemCaseSensitive(stored, "mesh");
        cJSON_DeleteItemFromObjectCaseSensitive(mo, "out");
        orf_err e;
        const char *objs[1] = {obj};
        cache_put_request(g_cache, key, stored, objs, 1, ms, &e);
        cJSON_Delete(stored);
    }
    emit(j, rec);
}


/* "backend" from what ran, "fallback" only when there was one. */
static void set_backend(cJSON *rec, const refine_facts *f)
{
    ndjson_set(rec, "backend", cJSON_CreateString(f->backend[0] ? f->backend : "cpu"));
    if (f->fallback[0])
        ndjson_set(rec, "fallback", cJSON_CreateString(f->fallback));
}

static void verbose_facts(const char *name, refine_stage s, const refine_facts *f)
{
    if (opt.verbose && !opt.quiet)
        fprintf(stderr,
                "mesh-refine: %s %s: volume %.1f ms, extract %.1f ms, repair %.1f ms, smooth %.1f ms, "
                "decimate %.1f ms, normals %.1f ms, texture %.1f ms\n",
                name, refine_stage_name(s), f->ms_volume, f->ms_extract, f->ms_repair, f->ms_smooth,
                f->ms_decimate, f->ms_normals, f->ms_texture);
}

static void run_field(job *j, const job_params *jp, const char *fkey)
{
    orf_err e;
    const char *ip = ndjson_get_string(j->req, "image");
    char stem[256];
    stem_of(ip ? ip : fkey, stem, sizeof stem);
    /* the final stage's input also names the texture: the image's bytes */
    char ihash[65] = "none", fin_in[65], keys[2][65];
    if (ip && cache_hash_file(ip, ihash, &e) != 0)
        snprintf(ihash, sizeof ihash, "none");
    char both[160];
    snprintf(both, sizeof both, "field:%s image:%s", fkey, ihash);
    cache_hash(both, strlen(both), fin_in);
    if (stage_key(jp, REFINE_REFINED, fkey, keys[0], &e) || stage_key(jp, REFINE_FINAL, fin_in, keys[1], &e))
        return fail_job(j, &e);
    orf_field fld = {0};
    orf_image img = {0};
    int have_field = 0, img_tried = 0;
    cJSON *warn = NULL;
    for (int s = 0; s <= (int)jp->stage; s++) {
        double t0 = units_now_ms();
        int last = s == (int)jp->stage;
        if (try_hit(j, jp, (refine_stage)s, keys[s], stem, NULL, last, t0))
            continue;
        if (!have_field) {
            if (!g_cache) {
                orf_fail(&e, "no_field", "field %.12s... needs the cache (not with --no-cache)", fkey);
                goto out;
            }
            if (refine_load_field(g_cache, fkey, &fld, &e))
                goto fail;
            have_field = 1;
        }
        if (s == REFINE_FINAL && ip && !img_tried && jp->rp.texture) {
            img_tried = 1;
            if (image_load_file(ip, 0, &img, &e) != 0) {
                warn = cJSON_CreateArray();
                char msg[600];
                snprintf(msg, sizeof msg, "no texture: %s", e.message);
                cJSON_AddItemToArray(warn, cJSON_CreateString(msg));
            } else {
                /* the mask mesh-gen used says where the background is */
                mask_method mm = MASK_AUTO;
                const char *ms = ndjson_get_string(j->req, "mask");
                if (ms)
                    mask_method_parse(ms, &mm, NULL);
                if (texture_alpha_from_mask(&img, mm, ip, &e) != 0)
                    goto fail;
            }
        }
        orf_mesh m;
        refine_facts f;
        if (refine_from_field(&fld, (refine_stage)s, &jp->rp, img.rgba ? &img : NULL, &m, &f, &e))
            goto fail;
        verbose_facts(stem, (refine_stage)s, &f);
        cJSON *rec = base_record(j->req, (refine_stage)s);
        char obj[65];
        if (store_mesh(&m, &f.stats, jp, stem, last, rec, obj, &e)) {
            mesh_free(&m);
            cJSON_Delete(rec);
            goto fail;
        }
        mesh_free(&m);
        ndjson_set(rec, "field", cJSON_CreateString(fkey));
        set_backend(rec, &f);
        ndjson_set(rec, "textured", cJSON_CreateBool(f.textured));
        if (f.resolution > 0)
            ndjson_set(rec, "grid", cJSON_CreateNumber(f.resolution));
        ndjson_set(rec, "decimation", record_decimation(&f));
        if (s == REFINE_FINAL && warn)
            ndjson_set(rec, "warnings", cJSON_Duplicate(warn, 1));
        done_record(j, jp, rec, keys[s], obj, units_now_ms() - t0);
    }
    goto out;
fail:
    fail_job(j, &e);
out:
    cJSON_Delete(warn);
    field_free(&fld);
    image_free(&img);
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

static void run_mesh(job *j, const job_params *jp, const char *path)
{
    orf_err e;
    char stem[256], hash[65], keys[2][65];
    stem_of(path, stem, sizeof stem);
    uint8_t *data = NULL;
    size_t n = 0;
    if (meshio_slurp(path, 0, &data, &n, &e) != 0) {
        if (!strcmp(e.code, "io_error"))
            snprintf(e.code, sizeof e.code, "no_input");
        return fail_job(j, &e);
    }
    cache_hash(data, n, hash);
    if (stage_key(jp, REFINE_REFINED, hash, keys[0], &e) || stage_key(jp, REFINE_FINAL, hash, keys[1], &e)) {
        free(data);
        return fail_job(j, &e);
    }
    orf_mesh m = {0};
    refine_facts f;
    int loaded = 0, refined = 0;
    memset(&f, 0, sizeof f);
    for (int s = 0; s <= (int)jp->stage; s++) {
        double t0 = units_now_ms();
        int last = s == (int)jp->stage;
        if (!refined && try_hit(j, jp, (refine_stage)s, keys[s], stem, path, last, t0))
            continue;
        if (!loaded) {
            if (meshio_read_mem(data, n, MESH_FMT_UNKNOWN, path, jp->max_tris_in, &m, &e))
                goto fail;
            loaded = 1;
        }
        if (refine_from_mesh(&m, (refine_stage)s, refined, &jp->rp, path, &f, &e))
            goto fail;
        refined = 1; /* after a hit on refined, the final stage started from the input */
        verbose_facts(stem, (refine_stage)s, &f);
        cJSON *rec = base_record(j->req, (refine_stage)s);
        ndjson_set(rec, "source", cJSON_CreateString(path));
        char obj[65];
        if (store_mesh(&m, &f.stats, jp, stem, last, rec, obj, &e)) {
            cJSON_Delete(rec);
            goto fail;
        }
        set_backend(rec, &f);
        if (f.repaired)
            ndjson_set(rec, "repair", repair_json(&f));
        ndjson_set(rec, "decimation", record_decimation(&f));
        done_record(j, jp, rec, keys[s], obj, units_now_ms() - t0);
    }
    goto out;
fail:
    fail_job(j, &e);
out:
    free(data);
    mesh_free(&m);
}


static void run_job(job *j)
{
    orf_err e;
    job_params jp;
    if (j->pass)
        emit(j, cJSON_Duplicate(j->req, 1));
    if (j->skip)
        return;
    if (job_params_of(j->req, &jp, &e))
        return fail_job(j, &e);
    const char *fkey = ndjson_get_string(j->req, "field");
    const char *path = record_mesh_path(j->req);
    if (fkey && cache_key_valid(fkey))
        return run_field(j, &jp, fkey);
    if (fkey) {
        orf_fail(&e, "bad_request", "field '%s' is not a 64-hex object key", fkey);
        return fail_job(j, &e);
    }
    if (path)
        return run_mesh(j, &jp, path);
    orf_fail(&e, "bad_request", "a request needs \"field\" (a mesh-gen record) or \"mesh\" (a path)");
    fail_job(j, &e);
}

static void *worker(void *arg)
{
    run_job(arg);
    return NULL;
}

/* ---- the stream ------------------------------------------------------- */

/* A mesh-gen record: "field", "progress" and a stage of mesh-gen's. */
static int is_gen_record(const cJSON *req)
{
    const char *st = ndjson_get_string(req, "stage");
    return st && strcmp(st, "refined") && strcmp(st, "final") &&
           ndjson_get_string(req, "field") && cJSON_GetObjectItemCaseSensitive(req, "progress") &&
           !cJSON_GetObjectItemCaseSensitive(req, "error");
}

/* Field keys already refined in this run: later records of the same field
 * are not refined again. */
static char (*seen)[65];
static size_t nseen, capseen;

static int seen_before(const cJSON *req)
{
    const char *f = ndjson_get_string(req, "field");
    if (!f || !cache_key_valid(f) || cJSON_GetObjectItemCaseSensitive(req, "error"))
        return 0;
    for (size_t i = 0; i < nseen; i++)
        if (!strcmp(seen[i], f))
            return 1;
    if (nseen == capseen) {
        size_t cap = capseen ? 2 * capseen : 64;
        void *p = realloc(seen, cap * sizeof *seen);
        if (!p)
            return 0;
        seen = p;
        capseen = cap;
    }
    snprintf(seen[nseen++], 65, "%s", f);
    return 0;
}

static void run_batch(job *batch, int n)
{
    if (n == 1 || opt.jobs <= 1) {
        for (int i = 0; i < n; i++)
            run_job(&batch[i]);
    } else {
        pthread_t th[64];
        for (int i = 0; i < n; i++)
            if (pthread_create(&th[i], NULL, worker, &batch[i]) != 0)
                run_job(&batch[i]), th[i] = 0;
        for (int i = 0; i < n; i++)
            if (th[i])
                pthread_join(th[i], NULL);
    }
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < batch[i].nrecs; k++) {
            if (ndjson_write(stdout, batch[i].recs[k]) != 0 && errno == EPIPE)
                exit(g_failed ? 1 : 0);
            cJSON_Delete(batch[i].recs[k]);
        }
        if (batch[i].failed)
            g_failed = 1;
        cJSON_Delete(batch[i].req);
        memset(&batch[i], 0, sizeof batch[i]);
    }
}

/* A request from the input, or a bad line as a failed record. */
static void take(job *batch, int *n, cJSON *req, long line, const orf_err *e)
{
    if (!req) {
        cJSON *rec = ndjson_error_record(NULL, line, e);
        if (!opt.quiet)
            fprintf(stderr, "mesh-refine: line %ld: %s\n", line, e->message);
        ndjson_write(stdout, rec);
        cJSON_Delete(rec);
        g_failed = 1;
        return;
    }
    int gen = is_gen_record(req);
    const char *st = ndjson_get_string(req, "stage");
    int skip = gen && !strcmp(st, "voxel");
    if (!skip && seen_before(req)) {
        if (!gen) {
            if (opt.verbose && !opt.quiet)
                fprintf(stderr, "mesh-refine: line %ld: field already refined in this run, dropped\n", line);
            cJSON_Delete(req);
            return;
        }
        skip = 1;
    }
    batch[*n].req = req;
    batch[*n].pass = gen;
    batch[*n].skip = skip;
    batch[*n].line = line;
    if (++*n == opt.jobs) {
        run_batch(batch, *n);
        *n = 0;
    }
}

static int read_stream(FILE *in, job *batch, int *n)
{
    ndjson_reader *r = ndjson_reader_open(in, 0);
    if (!r)
        return -1;
    for (;;) {
        cJSON *req = NULL;
        orf_err e;
        int rc = ndjson_next(r, "mesh", &req, &e);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (!opt.quiet)
                fprintf(stderr, "mesh-refine: %s\n", e.message);
            g_failed = 1;
            break;
        }
        take(batch, n, req, ndjson_line(r), &e);
    }
    ndjson_reader_close(r);
    return 0;
}

static int is_ndjson_name(const char *p)
{
    const char *d = strrchr(p, '.');
    return d && (!strcmp(d, ".ndjson") || !strcmp(d, ".jsonl") || !strcmp(d, ".json"));
}

int main(int argc, char **argv)
{
    enum { O_STAGE = 256, O_RES, O_RRES, O_SMOOTH, O_MAXT, O_MAXE, O_FORMAT, O_FILL, O_WELD,
           O_FLOAT, O_MAXTIN, O_UNORD, O_NOCACHE, O_CDIR, O_TTL, O_BACKEND };
    static const struct option opts[] = {
        {"stage", required_argument, NULL, O_STAGE},
        {"resolution", required_argument, NULL, O_RES},
        {"refined-resolution", required_argument, NULL, O_RRES},
        {"smooth", required_argument, NULL, O_SMOOTH},
        {"max-triangles", required_argument, NULL, O_MAXT},
        {"max-error", required_argument, NULL, O_MAXE},
        {"format", required_argument, NULL, O_FORMAT},
        {"out", required_argument, NULL, 'o'},
        {"fill-holes", required_argument, NULL, O_FILL},
        {"weld", required_argument, NULL, O_WELD},
        {"floaters", required_argument, NULL, O_FLOAT},
        {"max-triangles-in", required_argument, NULL, O_MAXTIN},
        {"jobs", required_argument, NULL, 'j'},
        {"unordered", no_argument, NULL, O_UNORD},
        {"no-cache", no_argument, NULL, O_NOCACHE},
        {"cache-dir", required_argument, NULL, O_CDIR},
        {"ttl", required_argument, NULL, O_TTL},
        {"backend", required_argument, NULL, O_BACKEND},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    opt.stage = REFINE_FINAL;
    refine_params_default(&opt.rp);
    opt.format = MESH_FMT_GLB;
    opt.jobs = 1;
    opt.ttl = -1;
    int c;
    long lv;
    double dv;
    orf_err e;
    while ((c = getopt_long(argc, argv, "o:j:qvhV", opts, NULL)) != -1) {
        switch (c) {
        case O_STAGE:
            if (refine_stage_parse(optarg, &opt.stage, &e))
                return usage_error("--stage: %s", e.message);
            break;
        case O_RES:
        case O_RRES:
            if (parse_long(optarg, 8, 2048, &lv))
                return usage_error("--%s: '%s' is not a whole number in 8..2048",
                                   c == O_RES ? "resolution" : "refined-resolution", optarg);
            *(c == O_RES ? &opt.rp.resolution : &opt.rp.refined_resolution) = (int)lv;
            break;
        case O_SMOOTH:
            if (parse_long(optarg, 0, 1000, &lv))
                return usage_error("--smooth: '%s' is not a whole number in 0..1000", optarg);
            opt.rp.smooth = (int)lv;
            break;
        case O_MAXT:
        case O_MAXTIN:
        case O_FILL:
            if (parse_long(optarg, 0, 4000000000L, &lv))
                return usage_error("--%s: '%s' is not a whole number >= 0",
                                   c == O_MAXT ? "max-triangles" : c == O_FILL ? "fill-holes" : "max-triangles-in",
                                   optarg);
            if (c == O_MAXT)
                opt.rp.max_triangles = (uint32_t)lv;
            else if (c == O_FILL)
                opt.rp.repair.max_hole_edges = (uint32_t)lv;
            else
                opt.max_tris_in = (uint32_t)lv;
            break;
        case O_MAXE:
        case O_WELD:
            if (parse_double(optarg, 0, 1e6, &dv))
                return usage_error("--%s: '%s' is not a number >= 0",
                                   c == O_MAXE ? "max-error" : "weld", optarg);
            *(c == O_MAXE ? &opt.rp.max_error : &opt.rp.repair.weld_tolerance) = (float)dv;
            break;
        case O_FLOAT:
            if (parse_double(optarg, 0, 0.999, &dv))
                return usage_error("--floaters: '%s' is not a share in 0..1", optarg);
            opt.rp.repair.floater_share = (float)dv;
            break;
        case O_FORMAT:
            opt.format = meshio_format_from_name(optarg);
            if (opt.format == MESH_FMT_UNKNOWN || strchr(optarg, '.'))
                return usage_error("--format: '%s' is not one of glb, obj, ply, stl", optarg);
            break;
        case 'o': opt.out = optarg; break;
        case 'j':
            if (parse_long(optarg, 1, 64, &lv))
                return usage_error("--jobs: '%s' is not a whole number in 1..64", optarg);
            opt.jobs = (int)lv;
            break;
        case O_UNORD: opt.unordered = 1; break;
        case O_NOCACHE: opt.no_cache = 1; break;
        case O_CDIR: opt.cache_dir = optarg; break;
        case O_TTL:
            if (units_parse_duration(optarg, &opt.ttl, &e))
                return usage_error("--ttl: %s", e.message);
            break;
        case O_BACKEND: opt.backend = optarg; break;
        case 'q': opt.quiet = 1; break;
        case 'v': opt.verbose = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        case 'V': printf("mesh-refine (orfeas) %s\n", ORFEAS_VERSION); return 0;
        default: fprintf(stderr, "mesh-refine: try 'mesh-refine --help'\n"); return EX_USAGE;
        }
    }
    if (opt.rp.max_triangles == 0 && opt.rp.max_error <= 0)
        return usage_error("--max-triangles 0 needs --max-error: the final stage needs a target");
    if (backend_choose(opt.backend, &opt.be, &e) != 0) {
        if (strcmp(e.code, "unavailable") == 0) {
            fprintf(stderr, "mesh-refine: %s\n", e.message);
            return EX_UNAVAILABLE;
        }
        return usage_error("%s", e.message);
    }
    signal(SIGPIPE, SIG_IGN);
    /* the cache holds the fields; --no-cache only skips request entries */
    if (cache_open(&g_cache, opt.cache_dir, opt.ttl, &e) != 0) {
        if (!opt.quiet)
            fprintf(stderr, "mesh-refine: %s (going on without the cache)\n", e.message);
        g_cache = NULL;
    }
    job batch[64];
    memset(batch, 0, sizeof batch);
    int n = 0;
    if (optind == argc) {
        read_stream(stdin, batch, &n);
    } else {
        for (int i = optind; i < argc; i++) {
            const char *a = argv[i];
            if (!strcmp(a, "-")) {
                read_stream(stdin, batch, &n);
            } else if (is_ndjson_name(a)) {
                FILE *f = fopen(a, "r");
                if (!f) {
                    orf_fail_errno(&e, "no_input", a);
                    cJSON *req = cJSON_CreateObject();
                    cJSON_AddStringToObject(req, "input", a);
                    cJSON *rec = ndjson_error_record(req, 0, &e);
                    ndjson_write(stdout, rec);
                    cJSON_Delete(rec);
                    cJSON_Delete(req);
                    if (!opt.quiet)
                        fprintf(stderr, "mesh-refine: %s\n", e.message);
                    g_failed = 1;
                    continue;
                }
                read_stream(f, batch, &n);
                fclose(f);
            } else {
                cJSON *req = cJSON_CreateObject();
                cJSON_AddStringToObject(req, "mesh", a);
                take(batch, &n, req, 0, &e);
            }
        }
    }
    if (n)
        run_batch(batch, n);
    cache_close(g_cache);
    free(seen);
    return g_failed ? 1 : 0;
}
