/* refine.c - the refined and final stages: calls into volume, mc, smooth,
 * repair, decimate, normals and texture, in order, with timing. */
#include "refine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mt.h"
#include "normals.h"
#include "smooth.h"
#include "texture.h"
#include "units.h"
#include "volume.h"

void refine_params_default(refine_params *p)
{
    memset(p, 0, sizeof *p);
    p->refined_resolution = REFINE_REFINED_RESOLUTION;
    p->resolution = REFINE_FINAL_RESOLUTION;
    p->smooth = SMOOTH_ITERATIONS;
    p->max_triangles = DECIMATE_MAX_TRIANGLES;
    p->max_error = 0.0f;
    p->texture = TEXTURE_UVS | TEXTURE_ATTACH;
    repair_defaults(&p->repair);
}

const char *refine_stage_name(refine_stage s)
{
    return s == REFINE_REFINED ? "refined" : "final";
}

int refine_stage_progress(refine_stage s)
{
    return s == REFINE_REFINED ? 75 : 100;
}

int refine_stage_parse(const char *s, refine_stage *out, orf_err *e)
{
    if (s && strcmp(s, "refined") == 0)
        *out = REFINE_REFINED;
    else if (s && strcmp(s, "final") == 0)
        *out = REFINE_FINAL;
    else
        return orf_fail(e, "bad_request", "stage '%s' is not one of refined, final", s ? s : "");
    return 0;
}

int refine_params_check(const refine_params *p, orf_err *e)
{
    if (p->refined_resolution < 8 || p->refined_resolution > 2048)
        return orf_fail(e, "bad_request", "refined_resolution %d is outside 8..2048",
                        p->refined_resolution);
    if (p->resolution < 8 || p->resolution > 2048)
        return orf_fail(e, "bad_request", "resolution %d is outside 8..2048", p->resolution);
    if (p->smooth < 0 || p->smooth > 1000)
        return orf_fail(e, "bad_request", "smooth %d is outside 0..1000", p->smooth);
    if (!isfinite(p->max_error) || p->max_error < 0)
        return orf_fail(e, "bad_request", "max_error must be a finite number >= 0");
    if (p->max_triangles == 0 && p->max_error <= 0)
        return orf_fail(e, "bad_request",
                        "max_triangles 0 needs a max_error: the final stage needs a target");
    if (!isfinite(p->repair.floater_share) || p->repair.floater_share < 0 ||
        p->repair.floater_share >= 1)
        return orf_fail(e, "bad_request", "floaters must be a share in 0..1 (0 keeps every piece)");
    if (!isfinite(p->repair.weld_tolerance) || p->repair.weld_tolerance < 0)
        return orf_fail(e, "bad_request", "weld must be a finite distance >= 0");
    return 0;
}

int refine_load_field(orf_cache *c, const char *key, orf_field *fld, orf_err *e)
{
    memset(fld, 0, sizeof *fld);
    if (!cache_key_valid(key))
        return orf_fail(e, "bad_request", "field '%s' is not a 64-hex object key", key);
    uint8_t *blob = NULL;
    size_t n = 0;
    int hit = cache_get_object(c, key, &blob, &n, e);
    if (hit < 0)
        return -1;
    if (hit == 0)
        return orf_fail(e, "no_field",
                        "field %.12s... is not in the cache %s (pruned, or another cache): "
                        "run mesh-gen on the image again",
                        key, cache_dir(c));
    char name[80];
    snprintf(name, sizeof name, "field %.12s...", key);
    int rc = field_deserialise(blob, n, name, fld, e);
    free(blob);
    return rc;
}

/* Decimation to the budget, cache/fetch order, normals: the tail both entry
 * points share. lib/decimate.c's collapses keep a closed manifold mesh
 * closed and manifold and refuse folds, so its result is used as it is. */
static void note_backend(refine_facts *f, const backend_facts *bf);

static int finish(orf_mesh *m, const refine_params *p, refine_facts *f, orf_err *e)
{
    double t0 = units_now_ms();
    decimate_opts d;
    decimate_defaults(&d);
    d.max_triangles = p->max_triangles;
    d.max_error = p->max_error;
    /* the same rounds on the device when the backend has one (the same bytes) */
    orf_backend cpu = {BACKEND_CPU, DEVICE_PRECISION_FP32, 0, 0};
    backend_facts bf;
    if (backend_decimate(p->backend ? p->backend : &cpu, m, &d, &f->decimation, &bf, e) != 0)
        return -1;
    note_backend(f, &bf);
    f->decimated = 1;
    f->target = p->max_triangles;
    double t1 = units_now_ms();
    if (backend_compute_normals(p->backend ? p->backend : &cpu, m, &bf, e) != 0)
        return -1;
    note_backend(f, &bf);
    f->ms_decimate = t1 - t0;
    f->ms_normals = units_now_ms() - t1;
    return 0;
}

/* Record what ran: the last stage's backend, a fallback if any stage had one. */
static void note_backend(refine_facts *f, const backend_facts *bf)
{
    snprintf(f->backend, sizeof f->backend, "%s", bf->backend);
    if (bf->fallback[0])
        snprintf(f->fallback, sizeof f->fallback, "%s", bf->fallback);
}

static int smooth_step(orf_mesh *m, const refine_params *p, refine_facts *f, orf_err *e)
{
    double t0 = units_now_ms();
    orf_backend cpu = {BACKEND_CPU, DEVICE_PRECISION_FP32, 0, 0};
    backend_facts bf;
    if (p->smooth > 0) {
        if (backend_smooth_taubin(p->backend ? p->backend : &cpu, m, p->smooth, SMOOTH_LAMBDA,
                                  SMOOTH_MU, &bf, e) != 0)
            return -1;
        note_backend(f, &bf);
    }
    f->smooth = p->smooth;
    f->ms_smooth = units_now_ms() - t0;
    return 0;
}

int refine_from_field(const orf_field *fld, refine_stage s, const refine_params *p,
                      const orf_image *img, orf_mesh *m, refine_facts *f, orf_err *e)
{
    refine_facts local;
    if (!f)
        f = &local;
    memset(f, 0, sizeof *f);
    memset(m, 0, sizeof *m);
    snprintf(f->backend, sizeof f->backend, "cpu");
    if (refine_params_check(p, e) != 0)
        return -1;
    double t0 = units_now_ms();
    f->resolution = s == REFINE_REFINED ? p->refined_resolution : p->resolution;
    orf_backend cpu = {BACKEND_CPU, DEVICE_PRECISION_FP32, 0, 0};
    backend_facts bf;
    snprintf(f->backend, sizeof f->backend, "%s", backend_name(p->backend ? p->backend->kind : BACKEND_CPU));
    /* sampling and extraction in one call (on CUDA the volume stays on the
     * device): their time is ms_extract */
    if (backend_extract(p->backend ? p->backend : &cpu, fld, f->resolution, m, &bf, e) != 0)
        goto fail;
    note_backend(f, &bf);
    f->ms_volume = 0;
    f->ms_extract = units_now_ms() - t0;
    if (m->ntris == 0) {
        orf_fail(e, "no_foreground", "the %s stage found no surface at %d cells",
                 refine_stage_name(s), f->resolution);
        goto fail;
    }
    if (smooth_step(m, p, f, e) != 0)
        goto fail;
    if (s == REFINE_REFINED) {
        double t2 = units_now_ms();
        if (backend_compute_normals(p->backend ? p->backend : &cpu, m, &bf, e) != 0)
            goto fail;
        note_backend(f, &bf);
        f->ms_normals = units_now_ms() - t2;
    } else {
        if (finish(m, p, f, e) != 0)
            goto fail;
        if (img && img->rgba && p->texture) {
            double t2 = units_now_ms();
            if (texture_project_front(m, img, 1.0f, p->texture, e) != 0)
                goto fail;
            f->textured = 1;
            f->ms_texture = units_now_ms() - t2;
        }
    }
    if (mesh_topology(m, &f->stats, e) != 0)
        goto fail;
    f->ms_total = units_now_ms() - t0;
    return 0;
fail:
    mesh_free(m);
    return -1;
}

int refine_from_mesh(orf_mesh *m, refine_stage s, int already_refined, const refine_params *p,
                     const char *name, refine_facts *f, orf_err *e)
{
    refine_facts local;
    if (!f)
        f = &local;
    if (!already_refined) {
        memset(f, 0, sizeof *f);
        snprintf(f->backend, sizeof f->backend, "cpu");
    }
    if (refine_params_check(p, e) != 0)
        return -1;
    double t0 = units_now_ms();
    if (!already_refined) {
        if (mesh_repair(m, &p->repair, &f->repair, name, e) != 0)
            return -1;
        f->repaired = 1;
        f->ms_repair = units_now_ms() - t0;
        if (smooth_step(m, p, f, e) != 0)
            return -1;
    }
    if (s == REFINE_FINAL && finish(m, p, f, e) != 0)
        return -1;
    if (mesh_topology(m, &f->stats, e) != 0)
        return -1;
    f->ms_total += units_now_ms() - t0;
    return 0;
}
