/* gen.c - the voxel and rough stages, from an image or a field. */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mt.h"
#include "topology.h"
#include "units.h"
#include "volume.h"

void gen_params_default(gen_params *p)
{
    memset(p, 0, sizeof *p);
    p->mode = GEN_MODE_AUTO;
    p->mask = MASK_AUTO;
    field_params_default(&p->field);
}

const char *gen_stage_name(gen_stage_id s)
{
    return s == GEN_VOXEL ? "voxel" : "rough";
}

int gen_stage_progress(gen_stage_id s)
{
    return s == GEN_VOXEL ? 25 : 50;
}

int gen_mask(const orf_image *img, const char *name, const gen_params *p, orf_mask *mask,
             gen_facts *facts, orf_err *e)
{
    gen_facts local;
    if (!facts)
        facts = &local;
    double t0 = units_now_ms();
    if (mask_compute(img, p->mask, name, mask, e) != 0)
        return -1;
    field_mode mode;
    if (p->mode == GEN_MODE_AUTO) {
        mode = mask->method == MASK_NONE ? FIELD_RELIEF : FIELD_INFLATE;
        if (mode == FIELD_RELIEF)
            snprintf(facts->why, sizeof facts->why, "%s; made a relief of the whole picture",
                     mask->why);
        else
            snprintf(facts->why, sizeof facts->why, "a cut-out (%s): inflated", mask->why);
    } else {
        mode = (field_mode)p->mode;
        snprintf(facts->why, sizeof facts->why, "mode %s was asked for; mask: %s",
                 field_mode_name(mode), mask->why);
    }
    /* a relief covers the whole picture unless transparency or a mask asked
     * for says otherwise */
    if (mode == FIELD_RELIEF && p->mask == MASK_AUTO && mask->method != MASK_ALPHA)
        for (size_t i = 0; i < (size_t)mask->w * (size_t)mask->h; i++)
            mask->cov[i] = 1.0f;
    facts->mode_id = mode;
    snprintf(facts->mode, sizeof facts->mode, "%s", field_mode_name(mode));
    snprintf(facts->mask, sizeof facts->mask, "%s", mask_method_name(mask->method));
    facts->foreground = mask->foreground;
    facts->ms_mask = units_now_ms() - t0;
    return 0;
}

int gen_field_from_mask(const orf_mask *mask, const orf_image *img, const gen_params *p,
                        int max_side, orf_field *fld, gen_facts *facts, orf_err *e)
{
    double t0 = units_now_ms();
    field_params fp = p->field;
    fp.mode = facts->mode_id;
    if (max_side > 0)
        fp.max_side = max_side;
    int rc = field_compute(mask, img, &fp, fld, e);
    facts->ms_field = units_now_ms() - t0;
    facts->field_w = fld->w;
    facts->field_h = fld->h;
    facts->cycles = fld->cycles;
    facts->residual = fld->residual;
    return rc;
}

int gen_field(const orf_image *img, const char *name, const gen_params *p, orf_field *fld,
              gen_facts *facts, orf_err *e)
{
    memset(fld, 0, sizeof *fld);
    gen_facts local;
    if (!facts) {
        memset(&local, 0, sizeof local);
        facts = &local;
    }
    orf_mask mask;
    if (gen_mask(img, name, p, &mask, facts, e) != 0)
        return -1;
    int rc = gen_field_from_mask(&mask, img, p, 0, fld, facts, e);
    mask_free(&mask);
    return rc;
}

int gen_mesh_closed(const orf_mesh *m, int *closed, orf_err *e)
{
    return mesh_watertight(m, closed, e);
}

int gen_stage(const orf_field *fld, gen_stage_id s, int resolution, orf_mesh *m, gen_facts *facts,
              orf_err *e)
{
    return gen_stage_on(NULL, fld, s, resolution, m, facts, NULL, e);
}

int gen_stage_on(const orf_backend *b, const orf_field *fld, gen_stage_id s, int resolution,
                 orf_mesh *m, gen_facts *facts, backend_facts *bf, orf_err *e)
{
    memset(m, 0, sizeof *m);
    orf_backend cpu = {BACKEND_CPU, DEVICE_PRECISION_FP32, 0, 0};
    if (!b)
        b = &cpu;
    backend_facts local;
    if (!bf)
        bf = &local;
    memset(bf, 0, sizeof *bf);
    if (resolution == 0)
        resolution = s == GEN_VOXEL ? GEN_VOXEL_RESOLUTION : GEN_ROUGH_RESOLUTION;
    double t0 = units_now_ms(), t1;
    int rc;
    if (s == GEN_VOXEL) {
        orf_volume vol;
        if (backend_volume_sample(b, fld, resolution, &vol, bf, e) != 0)
            return -1;
        t1 = units_now_ms();
        rc = mt_voxels(&vol, m, e);
        volume_free(&vol);
    } else {
        /* sampling and cutting are one call (on CUDA the volume stays on
         * the device): the facts count it all as extraction */
        t1 = t0;
        rc = backend_extract(b, fld, resolution, m, bf, e);
    }
    double t2 = units_now_ms();
    if (facts) {
        facts->ms_volume = t1 - t0;
        facts->ms_extract = t2 - t1;
        if (!facts->mode[0])
            snprintf(facts->mode, sizeof facts->mode, "%s", field_mode_name(fld->mode));
    }
    if (rc == 0 && m->ntris == 0) {
        mesh_free(m);
        return orf_fail(e, "no_foreground", "the %s stage found no surface at %d cells",
                        gen_stage_name(s), resolution);
    }
    return rc;
}
