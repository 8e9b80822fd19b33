/* mesh-gen - turn images into a voxel preview and a rough mesh, streamed as NDJSON records.
 * Options, the NDJSON loop and the records; the work is in lib/gen.c and below. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "cache.h"
#include "gen.h"
#include "imageio.h"
#include "meshio.h"
#include "ndjson.h"
#include "record.h"
#include "refine.h"
#include "texture.h"
#include "units.h"
#include "version.h"

static const char usage[] =
    "usage: mesh-gen [options] [IMAGE...]\n"
    "turn images into a voxel preview and a rough mesh (with --progressive also the\n"
    "refined and final meshes), streamed as NDJSON records.\n"
    "Images come from the arguments; '-' (or no argument) reads requests from stdin,\n"
    "one a line: a bare path or a JSON object {\"image\": PATH, ...}.\n"
    "\n"
    "  -m, --mode MODE          auto, inflate, extrude, relief (auto)\n"
    "      --mask METHOD        auto, alpha, border, luma (auto)\n"
    "  -d, --depth X            inflate: 1 makes a disc a sphere; relief height factor (1)\n"
    "      --back SIDE          mirror or flat (mirror)\n"
    "      --thickness X        extrude: slab thickness, model units (0.1)\n"
    "      --invert             relief: dark is high\n"
    "      --base X             relief: base plate thickness, model units (0.02)\n"
    "      --voxel-resolution N cells along the longer side at the voxel stage (32)\n"
    "      --rough-resolution N cells along the longer side at the rough stage (96)\n"
    "      --resolution N       both stages at once\n"
    "  -p, --progressive        all four stages: voxel, rough, refined, final\n"
    "      --backend B          auto, cpu, cuda: where meshes are cut (auto; else\n"
    "                           $ORFEAS_BACKEND)\n"
    "  -f, --format FMT         glb, obj, ply, stl (glb)\n"
    "  -o, --out DIR            also write DIR/<stem>.<stage>.<ext>\n"
    "      --no-cache           do not look the request up (the results are still stored)\n"
    "      --max-pixels N       refuse larger images before decoding (64M; K, M, G = 10^3..)\n"
    "      --cache-dir DIR      the cache (else $ORFEAS_CACHE_DIR, $XDG_CACHE_HOME/orfeas,\n"
    "                           ~/.cache/orfeas)\n"
    "      --ttl DURATION       cached results older than this miss (1h; 0 never)\n"
    "  -q, --quiet              no messages on stderr\n"
    "  -v, --verbose            per-stage timing on stderr\n"
    "  -h, --help               show this help and exit\n"
    "  -V, --version            show the version and exit\n"
    "\n"
    "Every flag is also a request field (resolution as a number or\n"
    "{\"voxel\":N,\"rough\":N}; max_pixels, no_cache); the request's field wins.\n"
    "exit status: 0 all done, 1 some records failed, 64 usage, 66 no input,\n"
    "69 unavailable (--backend cuda without a device), 74 I/O error\n";

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE_ = 64, EX_NOINPUT_ = 66, EX_UNAVAILABLE_ = 69, EX_IO = 74 };

static int quiet, verbose;

/* The parameters of one request: flags first, then the request's fields. */
typedef struct job {
    gen_params gp;
    int res[2];
    mesh_format format;
    const char *out;
    int no_cache;
    uint64_t max_pixels;
    int progressive;     /* also the refined and final stages */
    orf_backend backend; /* where stages are cut */
} job;

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "mesh-gen: ");
    fprintf(stderr, msg, arg);
    fprintf(stderr, "\nmesh-gen: try 'mesh-gen --help'\n");
    return EX_USAGE_;
}

static int parse_count(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || errno)
        return -1;
    double mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1e3, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1e6, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1e9, end++;
    if (*end || !(d * mul >= 1) || d * mul > 1e15)
        return -1;
    *v = (uint64_t)(d * mul);
    return 0;
}

static int number_in(const cJSON *it, const char *name, double lo, double hi, double *out,
                     orf_err *e)
{
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= lo && it->valuedouble <= hi))
        return orf_fail(e, "bad_request", "%s must be a number in [%g, %g]", name, lo, hi);
    *out = it->valuedouble;
    return 0;
}

static int resolution_in(const cJSON *it, int res[2], orf_err *e)
{
    double v = 0;
    if (cJSON_IsNumber(it)) {
        if (number_in(it, "resolution", 4, 1024, &v, e) || v != floor(v))
            return orf_fail(e, "bad_request", "resolution must be an integer in [4, 1024]");
        res[0] = res[1] = (int)v;
        return 0;
    }
    if (!cJSON_IsObject(it))
        return orf_fail(e, "bad_request",
                        "resolution must be a number or {\"voxel\":N,\"rough\":N}");
    const cJSON *c;
    cJSON_ArrayForEach(c, it)
    {
        int s = strcmp(c->string, "voxel") == 0 ? 0 : strcmp(c->string, "rough") == 0 ? 1 : -1;
        if (s < 0)
            return orf_fail(e, "bad_request", "resolution has no stage \"%s\" (voxel, rough)",
                            c->string);
        if (number_in(c, "resolution", 4, 1024, &v, e) || v != floor(v))
            return orf_fail(e, "bad_request", "resolution.%s must be an integer in [4, 1024]",
                            c->string);
        res[s] = (int)v;
    }
    return 0;
}

/* Apply the request's fields over the flags. */
static int job_from_request(const job *flags, const cJSON *req, job *j, orf_err *e)
{
    *j = *flags;
    static const ndjson_field types[] = {
        {"image", NDJSON_STRING},   {"mode", NDJSON_STRING},    {"mask", NDJSON_STRING},
        {"depth", NDJSON_NUMBER},   {"back", NDJSON_STRING},    {"thickness", NDJSON_NUMBER},
        {"invert", NDJSON_BOOL},    {"base", NDJSON_NUMBER},    {"format", NDJSON_STRING},
        {"out", NDJSON_STRING},     {"no_cache", NDJSON_BOOL},  {"max_pixels", NDJSON_NUMBER},
        {"progressive", NDJSON_BOOL}, {"backend", NDJSON_STRING},
    };
    if (ndjson_check_fields(req, types, sizeof types / sizeof types[0], e) < 0)
        return -1;
    const char *s;
    const cJSON *it;
    double v = 0;
    if ((s = ndjson_get_string(req, "mode"))) {
        if (strcmp(s, "auto") == 0)
            j->gp.mode = GEN_MODE_AUTO;
        else {
            field_mode m;
            if (field_mode_parse(s, &m, e) < 0)
                return orf_fail(e, "bad_request", "mode \"%s\" is not one of auto, inflate, extrude, relief", s);
            j->gp.mode = (int)m;
        }
    }
    if ((s = ndjson_get_string(req, "mask")) && mask_method_parse(s, &j->gp.mask, e) < 0)
        return -1;
    if ((s = ndjson_get_string(req, "back")) && field_back_parse(s, &j->gp.field.back, e) < 0)
        return -1;
    if ((it = cJSON_GetObjectItemCaseSensitive(req, "depth"))) {
        if (number_in(it, "depth", 0.001, 100, &v, e))
            return -1;
        j->gp.field.depth = (float)v;
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(req, "thickness"))) {
        if (number_in(it, "thickness", 0.0001, 10, &v, e))
            return -1;
        j->gp.field.thickness = (float)v;
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(req, "base"))) {
        if (number_in(it, "base", 0, 10, &v, e))
            return -1;
        j->gp.field.base = (float)v;
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(req, "invert")))
        j->gp.field.invert = cJSON_IsTrue(it);
    if ((it = cJSON_GetObjectItemCaseSensitive(req, "no_cache")))
        j->no_cache = cJSON_IsTrue(it);
    if ((it = cJSON_GetObjectItemCaseSensitive(req, "max_pixels"))) {
        if (number_in(it, "max_pixels", 1, 1e15, &v, e))
            return -1;
        j->max_pixels = (uint64_t)v;
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(req, "resolution")) && resolution_in(it, j->res, e))
        return -1;
    if ((s = ndjson_get_string(req, "format"))) {
        j->format = meshio_format_from_name(s);
        if (j->format == MESH_FMT_UNKNOWN || strchr(s, '/') || strchr(s, '.'))
            return orf_fail(e, "bad_request", "format \"%s\" is not one of glb, obj, ply, stl", s);
    }
    if ((s = ndjson_get_string(req, "out")))
        j->out = s;
    if ((it = cJSON_GetObjectItemCaseSensitive(req, "progressive")))
        j->progressive = cJSON_IsTrue(it);
    if ((s = ndjson_get_string(req, "backend")) && backend_choose(s, &j->backend, e) < 0)
        return -1;
    return 0;
}

/* A float parameter as the JSON number a user would type (0.1, not
 * 0.10000000149...), so keys match `dedup-cache key` on the same request. */
static double key_number(float v)
{
    return round((double)v * 1e6) / 1e6;
}

/* The parameters that make the key, every one explicit. */
static cJSON *key_request(const job *j, const char *input_hash)
{
    cJSON *k = cJSON_CreateObject();
    cJSON_AddStringToObject(k, "mode", j->gp.mode == GEN_MODE_AUTO ? "auto"
                                                                   : field_mode_name((field_mode)j->gp.mode));
    cJSON_AddStringToObject(k, "mask", mask_method_name(j->gp.mask));
    cJSON_AddNumberToObject(k, "depth", key_number(j->gp.field.depth));
    cJSON_AddStringToObject(k, "back", field_back_name(j->gp.field.back));
    cJSON_AddNumberToObject(k, "thickness", key_number(j->gp.field.thickness));
    cJSON_AddBoolToObject(k, "invert", j->gp.field.invert);
    cJSON_AddNumberToObject(k, "base", key_number(j->gp.field.base));
    cJSON_AddStringToObject(k, "format", meshio_format_ext(j->format));
    cJSON *r = cJSON_AddObjectToObject(k, "resolution");
    cJSON_AddNumberToObject(r, "voxel", j->res[0]);
    cJSON_AddNumberToObject(r, "rough", j->res[1]);
    cJSON_AddStringToObject(k, "input", input_hash);
    return k;
}

/* Copy the request's fields into a record (passed through unchanged). */
static cJSON *record_base(const cJSON *req)
{
    cJSON *rec = cJSON_Duplicate(req, 1);
    return rec ? rec : cJSON_CreateObject();
}

static void stem_of(const char *path, char *stem, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(stem, n, "%s", b);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = 0;
    if (!stem[0])
        snprintf(stem, n, "image");
}

static int write_out(const char *dir, const char *image, const char *stage, mesh_format f,
                     const void *data, size_t n, char *path, size_t pn, orf_err *e)
{
    char stem[256];
    stem_of(image, stem, sizeof stem);
    if (mkdir(dir, 0777) < 0 && errno != EEXIST)
        return orf_fail_errno(e, "io_error", dir);
    if ((size_t)snprintf(path, pn, "%s/%s.%s.%s", dir, stem, stage, meshio_format_ext(f)) >= pn)
        return orf_fail(e, "io_error", "%s: output path too long", dir);
    return meshio_write_atomic(path, data, n, e);
}

static void progress(const char *image, const char *stage, int pct)
{
    if (quiet || !isatty(STDERR_FILENO))
        return;
    fprintf(stderr, "\rmesh-gen: %s %s %3d%%\033[K", image, stage, pct);
    if (pct >= 50)
        fputc('\n', stderr); /* each stage on its own line from rough on */
}

/* Emit a record; a closed stdout ends the run quietly. */
/* The file written into --out is named in the record's mesh object, as
 * mesh-refine does: a top-level "out" is the request's folder, which a
 * downstream mesh-refine reads as its own. */
static void set_mesh_out(cJSON *rec, const char *path)
{
    cJSON *mesh = cJSON_GetObjectItemCaseSensitive(rec, "mesh");
    if (cJSON_IsObject(mesh))
        ndjson_set(mesh, "out", cJSON_CreateString(path));
}

static int emit(const cJSON *rec)
{
    if (ndjson_write(stdout, rec) < 0)
        return errno == EPIPE ? 1 : -1;
    return 0;
}

typedef struct field_store {
    orf_cache *cache;
    const uint8_t *data;
    size_t n;
    char key[65];
    int rc;
    orf_err err;
} field_store;

static void *store_field(void *arg)
{
    field_store *fs = arg;
    fs->rc = cache_put_object(fs->cache, fs->data, fs->n, fs->key, &fs->err);
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
    gen_facts facts; /* a copy: the thread fills its own timing */
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
        cache_put_object(fj->cache, blob, n, fj->key, &fj->err) == 0)
        fj->rc = 0;
    free(blob);
    return NULL;
}

/* The refined and final stages of --progressive, from the rough stage's
 * field (fld; loaded from the cache by its key `fkey` when empty) and the
 * image (img; decoded from `bytes` when empty, for the texture). 0 done,
 * -1 failed (*e filled), 1 stop (stdout closed). */
static int progressive_stages(orf_cache *cache, const job *j, const cJSON *req, const char *image,
                              const char *key, const char *fkey, orf_field *fld, orf_image *img,
                              const uint8_t *bytes, size_t nbytes, double t0, orf_err *e)
{
    if (!fld->sd && refine_load_field(cache, fkey, fld, e) < 0)
        return -1;
    if (!img->rgba && image_load_memory(bytes, nbytes, image, j->max_pixels, img, e) < 0)
        return -1;
    if (texture_alpha_from_mask(img, j->gp.mask, image, e) < 0)
        return -1;
    refine_params rp;
    refine_params_default(&rp);
    rp.backend = &j->backend;
    rp.texture = j->format == MESH_FMT_PLY   ? TEXTURE_COLORS
                 : j->format == MESH_FMT_STL ? 0
                                             : TEXTURE_UVS | TEXTURE_ATTACH;
    for (int s = REFINE_REFINED; s <= REFINE_FINAL; s++) {
        refine_stage st = (refine_stage)s;
        orf_mesh m;
        memset(&m, 0, sizeof m);
        refine_facts f;
        memset(&f, 0, sizeof f);
        if (refine_from_field(fld, st, &rp, st == REFINE_FINAL ? img : NULL, &m, &f, e) < 0)
            return -1;
        double tw = units_now_ms();
        uint8_t *blob = NULL;
        size_t nblob = 0;
        char obj[65], cpath[4096] = "", opath[4096] = "";
        if (meshio_write_mem(&m, j->format, NULL, &blob, &nblob, e) < 0 ||
            cache_put_object(cache, blob, nblob, obj, e) < 0 ||
            (j->out && write_out(j->out, image, refine_stage_name(st), j->format, blob, nblob,
                                 opath, sizeof opath, e) < 0)) {
            free(blob);
            mesh_free(&m);
            return -1;
        }
        free(blob);
        cache_object_path(cache, obj, cpath, sizeof cpath, NULL);
        double ms_write = units_now_ms() - tw;
        cJSON *rec = record_base(req);
        ndjson_set(rec, "stage", cJSON_CreateString(refine_stage_name(st)));
        ndjson_set(rec, "progress", cJSON_CreateNumber(refine_stage_progress(st)));
        ndjson_set(rec, "backend", cJSON_CreateString(f.backend[0] ? f.backend : "cpu"));
        if (f.fallback[0])
            ndjson_set(rec, "fallback", cJSON_CreateString(f.fallback));
        ndjson_set(rec, "grid", cJSON_CreateNumber(f.resolution));
        ndjson_set(rec, "key", cJSON_CreateString(key));
        ndjson_set(rec, "field", cJSON_CreateString(fkey));
        ndjson_set(rec, "textured", cJSON_CreateBool(f.textured));
        cJSON *d = record_decimation(&f);
        if (d)
            ndjson_set(rec, "decimation", d);
        ndjson_set(rec, "mesh", record_mesh(obj, cpath, j->format, m.nverts, m.ntris,
                                            f.stats.watertight, f.stats.bbox[0], f.stats.bbox[1]));
        ndjson_set(rec, "cached", cJSON_CreateFalse());
        ndjson_set(rec, "ms", cJSON_CreateNumber(round((units_now_ms() - t0) * 100) / 100));
        if (j->out)
            set_mesh_out(rec, opath);
        mesh_free(&m);
        progress(image, refine_stage_name(st), refine_stage_progress(st));
        if (verbose && !quiet)
            fprintf(stderr,
                    "mesh-gen: %s %s: volume %.1f ms, extract %.1f ms, smooth %.1f ms, decimate "
                    "%.1f ms, normals %.1f ms, texture %.1f ms, write %.1f ms\n",
                    image, refine_stage_name(st), f.ms_volume, f.ms_extract, f.ms_smooth,
                    f.ms_decimate, f.ms_normals, f.ms_texture, ms_write);
        int w = emit(rec);
        cJSON_Delete(rec);
        if (w)
            return 1;
    }
    return 0;
}

/* One request: 0 done, 1 failed (an error record was printed), -1 stop. */
static int run_one(orf_cache *cache, const job *flags, const cJSON *req)
{
    orf_err e;
    orf_err_clear(&e);
    job j;
    const char *image = ndjson_get_string(req, "image");
    uint8_t *bytes = NULL;
    size_t nbytes = 0;
    orf_image img = {0};
    orf_field fld = {0};
    orf_mask mask = {0};
    orf_mesh mesh = {0};
    cJSON *keyreq = NULL, *cached = NULL, *recs[2] = {NULL, NULL};
    uint8_t *blob = NULL;
    size_t nblob = 0;
    int rc = 1;
    double t0 = units_now_ms();
    field_job fj;      /* the rough field's thread (make_field) */
    pthread_t fth;
    int fthreaded = 0; /* joined before any return */
    memset(&fj, 0, sizeof fj);

    /* A finished record (a `dedup-cache lookup` hit, or an upstream error)
     * passes through unchanged: only requests are work. */
    if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(req, "error")) ||
        (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(req, "stage")) &&
         cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(req, "mesh")))) {
        if (emit(req))
            return -1;
        return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(req, "error")) ? 1 : 0;
    }

    if (job_from_request(flags, req, &j, &e) < 0) {
        if (image) {
            char msg[sizeof e.message], code[sizeof e.code];
            memcpy(msg, e.message, sizeof msg);
            memcpy(code, e.code, sizeof code);
            orf_fail(&e, code, "%.200s: %.270s", image, msg);
        }
        goto fail;
    }
    if (!image || !image[0]) {
        orf_fail(&e, "bad_request", "the request has no \"image\" path");
        goto fail;
    }
    if (image_read_bytes(image, (size_t)1 << 30, &bytes, &nbytes, &e) < 0)
        goto fail;
    char input[65], key[65];
    cache_hash(bytes, nbytes, input);
    keyreq = key_request(&j, input);
    const cache_program *prog = cache_program_find("mesh-gen");
    if (!prog || cache_request_key_for(prog, keyreq, key, &e) < 0)
        goto fail;

    /* a hit answers at once */
    if (!j.no_cache && cache_get_request(cache, key, &cached, &e) == 1) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(cached, "records");
        int n = cJSON_GetArraySize(list);
        if (n == 2) {
            for (int s = 0; s < 2; s++) {
                const cJSON *c = cJSON_GetArrayItem(list, s);
                cJSON *rec = record_base(req);
                const cJSON *it;
                cJSON_ArrayForEach(it, c) ndjson_set(rec, it->string, cJSON_Duplicate(it, 1));
                ndjson_set(rec, "cached", cJSON_CreateTrue());
                ndjson_set(rec, "ms", cJSON_CreateNumber(round((units_now_ms() - t0) * 100) / 100));
                if (j.out) {
                    const char *obj = cJSON_GetStringValue(
                        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "mesh"), "object"));
                    uint8_t *data = NULL;
                    size_t nd = 0;
                    char path[4096];
                    if (!obj || cache_get_object(cache, obj, &data, &nd, &e) != 1 ||
                        write_out(j.out, image, gen_stage_name((gen_stage_id)s), j.format, data, nd,
                                  path, sizeof path, &e) < 0) {
                        free(data);
                        cJSON_Delete(rec);
                        if (!e.code[0])
                            orf_fail(&e, "cache_error", "%s: cached mesh is gone", image);
                        goto fail;
                    }
                    free(data);
                    set_mesh_out(rec, path);
                }
                progress(image, gen_stage_name((gen_stage_id)s), gen_stage_progress((gen_stage_id)s));
                int w = emit(rec);
                cJSON_Delete(rec);
                if (w)
                    { rc = -1; goto done; }
            }
            if (j.progressive) {
                const char *fk = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetArrayItem(list, 1), "field"));
                int pr = fk ? progressive_stages(cache, &j, req, image, key, fk, &fld, &img, bytes,
                                                 nbytes, t0, &e)
                            : (orf_fail(&e, "cache_error", "%s: cached record has no field", image), -1);
                if (pr < 0)
                    goto fail;
                if (pr > 0)
                    { rc = -1; goto done; }
            }
            rc = 0;
            goto done;
        }
    }
    orf_err_clear(&e);

    double td = units_now_ms();
    if (image_load_memory(bytes, nbytes, image, j.max_pixels, &img, &e) < 0)
        goto fail;
    free(bytes);
    bytes = NULL;
    gen_facts facts;
    memset(&facts, 0, sizeof facts);
    facts.ms_decode = units_now_ms() - td;
    if (gen_mask(&img, image, &j.gp, &mask, &facts, &e) < 0)
        goto fail;
    char field_keys[2][65];
    char mesh_keys[2][65];
    /* the rough stage's field starts now, beside the voxel stage; every
     * path out of the loop below joins it */
    fj.mask = &mask;
    fj.img = &img;
    fj.gp = &j.gp;
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
            int side = 4 * j.res[0];
            if (side > j.gp.field.max_side)
                side = 0;
            if (side > 0 && side < 64)
                side = 64;
            if (gen_field_from_mask(&mask, &img, &j.gp, side, &fld, &facts, &e) < 0 ||
                field_serialise(&fld, &blob, &nblob, &e) < 0)
                goto fail;
            /* the field is stored (hash, write, fsync) on a second thread
             * while the mesh is cut */
            fs.data = blob;
            fs.n = nblob;
            threaded = pthread_create(&th, NULL, store_field, &fs) == 0;
            if (!threaded)
                store_field(&fs);
        } else {
            /* the rough stage: the full field, which is what mesh-refine
             * re-extracts, made and stored by make_field */
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
                e = fs.err;
                goto fail;
            }
        }
        backend_facts bf;
        int cut = gen_stage_on(&j.backend, &fld, st, j.res[s], &mesh, &facts, &bf, &e);
        if (threaded)
            pthread_join(th, NULL);
        free(blob);
        blob = NULL;
        if (cut < 0)
            goto fail;
        if (fs.rc < 0) {
            e = fs.err;
            goto fail;
        }
        memcpy(field_keys[s], fs.key, sizeof fs.key);
        double tw = units_now_ms();
        int closed = 0;
        float lo[3], hi[3];
        mesh_bbox(&mesh, lo, hi);
        if (gen_mesh_closed(&mesh, &closed, &e) < 0 ||
            meshio_write_mem(&mesh, j.format, NULL, &blob, &nblob, &e) < 0 ||
            cache_put_object(cache, blob, nblob, mesh_keys[s], &e) < 0)
            goto fail;
        char opath[4096] = "", cpath[4096];
        if (j.out && write_out(j.out, image, gen_stage_name(st), j.format, blob, nblob, opath,
                               sizeof opath, &e) < 0)
            goto fail;
        cache_object_path(cache, mesh_keys[s], cpath, sizeof cpath, NULL);
        double ms_write = units_now_ms() - tw;

        /* the part of the record that is cached */
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "stage", gen_stage_name(st));
        cJSON_AddNumberToObject(r, "progress", gen_stage_progress(st));
        cJSON_AddStringToObject(r, "mode", facts.mode);
        cJSON_AddStringToObject(r, "mask", facts.mask);
        cJSON_AddStringToObject(r, "why", facts.why);
        cJSON_AddStringToObject(r, "backend", bf.backend[0] ? bf.backend : "cpu");
        if (bf.fallback[0])
            cJSON_AddStringToObject(r, "fallback", bf.fallback);
        cJSON_AddNumberToObject(r, "grid", j.res[s]);
        cJSON_AddStringToObject(r, "key", key);
        cJSON_AddStringToObject(r, "field", field_keys[s]);
        cJSON_AddItemToObject(r, "mesh", record_mesh(mesh_keys[s], cpath, j.format, mesh.nverts,
                                                     mesh.ntris, closed, lo, hi));
        recs[s] = r;

        cJSON *rec = record_base(req);
        const cJSON *it;
        cJSON_ArrayForEach(it, r) ndjson_set(rec, it->string, cJSON_Duplicate(it, 1));
        ndjson_set(rec, "cached", cJSON_CreateFalse());
        ndjson_set(rec, "ms", cJSON_CreateNumber(round((units_now_ms() - t0) * 100) / 100));
        if (j.out)
            set_mesh_out(rec, opath);
        progress(image, gen_stage_name(st), gen_stage_progress(st));
        if (verbose && !quiet)
            fprintf(stderr,
                    "mesh-gen: %s %s: decode %.1f ms, mask %.1f ms, field %.1f ms (%dx%d, %d "
                    "cycles), volume %.1f ms, extract %.1f ms, write %.1f ms\n",
                    image, gen_stage_name(st), facts.ms_decode, facts.ms_mask, facts.ms_field,
                    facts.field_w, facts.field_h, facts.cycles, facts.ms_volume, facts.ms_extract,
                    ms_write);
        int w = emit(rec);
        cJSON_Delete(rec);
        free(blob);
        blob = NULL;
        mesh_free(&mesh);
        if (w) {
            rc = -1;
            goto done;
        }
    }
    {
        cJSON *entry = cJSON_CreateObject();
        cJSON *list = cJSON_AddArrayToObject(entry, "records");
        cJSON_AddItemToArray(list, recs[0]);
        cJSON_AddItemToArray(list, recs[1]);
        recs[0] = recs[1] = NULL;
        const char *objs[4] = {field_keys[0], field_keys[1], mesh_keys[0], mesh_keys[1]};
        if (cache_put_request(cache, key, entry, objs, 4, units_now_ms() - t0, &e) < 0 && !quiet)
            fprintf(stderr, "mesh-gen: %s: could not store the result: %s\n", image, e.message);
        cJSON_Delete(entry);
    }
    if (j.progressive) {
        int pr = progressive_stages(cache, &j, req, image, key, field_keys[1], &fld, &img, NULL, 0,
                                    t0, &e);
        if (pr < 0)
            goto fail;
        if (pr > 0)
            { rc = -1; goto done; }
    }
    rc = 0;
    goto done;

fail: {
    cJSON *rec = ndjson_error_record(req, 0, &e);
    if (verbose && !quiet)
        fprintf(stderr, "mesh-gen: %s: %s\n", e.code, e.message);
    if (emit(rec))
        rc = -1;
    cJSON_Delete(rec);
    if (rc != -1)
        rc = 1;
}
done:
    free(bytes);
    free(blob);
    if (fthreaded)
        pthread_join(fth, NULL);
    field_free(&fj.fld);
    image_free(&img);
    field_free(&fld);
    mask_free(&mask);
    mesh_free(&mesh);
    cJSON_Delete(keyreq);
    cJSON_Delete(cached);
    cJSON_Delete(recs[0]);
    cJSON_Delete(recs[1]);
    return rc;
}

int main(int argc, char **argv)
{
    enum {
        OPT_MASK = 256, OPT_BACK, OPT_THICK, OPT_INVERT, OPT_BASE, OPT_VRES, OPT_RRES, OPT_RES,
        OPT_NOCACHE, OPT_MAXPX, OPT_CACHEDIR, OPT_TTL, OPT_BACKEND
    };
    static const struct option opts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"mask", required_argument, NULL, OPT_MASK},
        {"depth", required_argument, NULL, 'd'},
        {"back", required_argument, NULL, OPT_BACK},
        {"thickness", required_argument, NULL, OPT_THICK},
        {"invert", no_argument, NULL, OPT_INVERT},
        {"base", required_argument, NULL, OPT_BASE},
        {"voxel-resolution", required_argument, NULL, OPT_VRES},
        {"rough-resolution", required_argument, NULL, OPT_RRES},
        {"resolution", required_argument, NULL, OPT_RES},
        {"format", required_argument, NULL, 'f'},
        {"progressive", no_argument, NULL, 'p'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"out", required_argument, NULL, 'o'},
        {"no-cache", no_argument, NULL, OPT_NOCACHE},
        {"max-pixels", required_argument, NULL, OPT_MAXPX},
        {"cache-dir", required_argument, NULL, OPT_CACHEDIR},
        {"ttl", required_argument, NULL, OPT_TTL},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    job flags;
    memset(&flags, 0, sizeof flags);
    gen_params_default(&flags.gp);
    flags.res[0] = GEN_VOXEL_RESOLUTION;
    flags.res[1] = GEN_ROUGH_RESOLUTION;
    flags.format = MESH_FMT_GLB;
    flags.max_pixels = IMAGE_DEFAULT_MAX_PIXELS;
    const char *cache_dir = NULL;
    double ttl = -1;
    orf_err e;
    /* flags become a request object, checked by the same code as a request */
    cJSON *fl = cJSON_CreateObject();
    int c;
    while ((c = getopt_long(argc, argv, "m:d:f:o:pqvhV", opts, NULL)) != -1) {
        char *end;
        double v = 0;
        switch (c) {
        case 'm': ndjson_set(fl, "mode", cJSON_CreateString(optarg)); break;
        case OPT_MASK: ndjson_set(fl, "mask", cJSON_CreateString(optarg)); break;
        case OPT_BACK: ndjson_set(fl, "back", cJSON_CreateString(optarg)); break;
        case 'f': ndjson_set(fl, "format", cJSON_CreateString(optarg)); break;
        case 'o': ndjson_set(fl, "out", cJSON_CreateString(optarg)); break;
        case OPT_INVERT: ndjson_set(fl, "invert", cJSON_CreateTrue()); break;
        case OPT_NOCACHE: ndjson_set(fl, "no_cache", cJSON_CreateTrue()); break;
        case 'p': ndjson_set(fl, "progressive", cJSON_CreateTrue()); break;
        case OPT_BACKEND: ndjson_set(fl, "backend", cJSON_CreateString(optarg)); break;
        case 'd':
        case OPT_THICK:
        case OPT_BASE:
        case OPT_VRES:
        case OPT_RRES:
        case OPT_RES:
            v = strtod(optarg, &end);
            if (end == optarg || *end) {
                cJSON_Delete(fl);
                return usage_error("not a number: '%s'", optarg);
            }
            if (c == 'd')
                ndjson_set(fl, "depth", cJSON_CreateNumber(v));
            else if (c == OPT_THICK)
                ndjson_set(fl, "thickness", cJSON_CreateNumber(v));
            else if (c == OPT_BASE)
                ndjson_set(fl, "base", cJSON_CreateNumber(v));
            else if (c == OPT_RES)
                ndjson_set(fl, "resolution", cJSON_CreateNumber(v));
            else {
                cJSON *r = cJSON_GetObjectItemCaseSensitive(fl, "resolution");
                if (!cJSON_IsObject(r)) {
                    cJSON *o = cJSON_CreateObject();
                    if (cJSON_IsNumber(r)) {
                        cJSON_AddNumberToObject(o, "voxel", r->valuedouble);
                        cJSON_AddNumberToObject(o, "rough", r->valuedouble);
                    }
                    ndjson_set(fl, "resolution", o);
                    r = o;
                }
                ndjson_set(r, c == OPT_VRES ? "voxel" : "rough", cJSON_CreateNumber(v));
            }
            break;
        case OPT_MAXPX: {
            uint64_t n;
            if (parse_count(optarg, &n) < 0) {
                cJSON_Delete(fl);
                return usage_error("--max-pixels: not a pixel count: '%s'", optarg);
            }
            ndjson_set(fl, "max_pixels", cJSON_CreateNumber((double)n));
            break;
        }
        case OPT_CACHEDIR: cache_dir = optarg; break;
        case OPT_TTL:
            if (units_parse_duration(optarg, &ttl, &e) < 0) {
                cJSON_Delete(fl);
                return usage_error("--ttl: %s", e.message);
            }
            break;
        case 'q': quiet = 1; break;
        case 'v': verbose = 1; break;
        case 'h': cJSON_Delete(fl); fputs(usage, stdout); return EX_OK;
        case 'V': cJSON_Delete(fl); printf("mesh-gen (orfeas) %s\n", ORFEAS_VERSION); return EX_OK;
        default: cJSON_Delete(fl); fprintf(stderr, "mesh-gen: try 'mesh-gen --help'\n"); return EX_USAGE_;
        }
    }
    /* the backend: --backend, else $ORFEAS_BACKEND, else auto; a request's
     * "backend" field chooses again for that record */
    if (!cJSON_GetObjectItemCaseSensitive(fl, "backend") &&
        backend_choose(NULL, &flags.backend, &e) < 0) {
        cJSON_Delete(fl);
        if (strcmp(e.code, "unavailable") == 0) {
            if (!quiet)
                fprintf(stderr, "mesh-gen: %s\n", e.message);
            return EX_UNAVAILABLE_;
        }
        return usage_error("%s", e.message);
    }
    job base = flags;
    if (job_from_request(&base, fl, &flags, &e) < 0) {
        cJSON_Delete(fl);
        if (strcmp(e.code, "unavailable") == 0) {
            if (!quiet)
                fprintf(stderr, "mesh-gen: %s\n", e.message);
            return EX_UNAVAILABLE_;
        }
        return usage_error("%s", e.message);
    }
    /* flags.out points into fl, which lives to the end */
    signal(SIGPIPE, SIG_IGN);

    int use_stdin = optind >= argc;
    for (int i = optind; i < argc; i++)
        if (strcmp(argv[i], "-") == 0)
            use_stdin = 1;
    if (optind >= argc && isatty(STDIN_FILENO)) {
        cJSON_Delete(fl);
        fprintf(stderr, "mesh-gen: no input: give image paths, or pipe paths or requests in\n"
                        "mesh-gen: try 'mesh-gen --help'\n");
        return EX_NOINPUT_;
    }
    orf_cache *cache = NULL;
    if (cache_open(&cache, cache_dir, ttl, &e) < 0) {
        cJSON_Delete(fl);
        if (!quiet)
            fprintf(stderr, "mesh-gen: %s\n", e.message);
        return EX_IO;
    }
    int failed = 0, stop = 0;
    for (int i = optind; i < argc && !stop; i++) {
        if (strcmp(argv[i], "-") == 0)
            continue;
        cJSON *req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "image", argv[i]);
        int r = run_one(cache, &flags, req);
        cJSON_Delete(req);
        if (r < 0)
            stop = 1;
        else
            failed += r;
    }
    if (use_stdin && !stop) {
        ndjson_reader *rd = ndjson_reader_open(stdin, 0);
        if (!rd) {
            cache_close(cache);
            cJSON_Delete(fl);
            return EX_IO;
        }
        for (;;) {
            cJSON *req = NULL;
            int r = ndjson_next(rd, "image", &req, &e);
            if (r == 0)
                break;
            if (r < 0) {
                if (!quiet)
                    fprintf(stderr, "mesh-gen: %s\n", e.message);
                ndjson_reader_close(rd);
                cache_close(cache);
                cJSON_Delete(fl);
                return EX_IO;
            }
            if (!req) {
                cJSON *rec = ndjson_error_record(NULL, ndjson_line(rd), &e);
                if (emit(rec))
                    stop = 1;
                cJSON_Delete(rec);
                failed++;
            } else {
                r = run_one(cache, &flags, req);
                cJSON_Delete(req);
                if (r < 0)
                    stop = 1;
                else
                    failed += r;
            }
            if (stop)
                break;
        }
        ndjson_reader_close(rd);
    }
    cache_close(cache);
    cJSON_Delete(fl);
    return failed ? EX_FAIL : EX_OK;
}
