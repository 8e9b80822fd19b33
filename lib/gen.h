/* gen.h - one mesh-gen stage: image -> mask -> field -> volume -> mesh.
 *
 * gen_field() makes the field of an image (the expensive, cacheable part:
 * mask and solve); gen_stage() cuts a mesh from a field at one stage's
 * grid. Both fill a gen_facts with what ran, why, and the milliseconds of
 * each step, so the caller can report it; neither prints.
 *
 * Auto mode: a cut-out (transparency, or a uniform border colour) is
 * inflated; an image with neither (a photograph) becomes a relief of the
 * whole picture. The facts say which and why.
 */
#ifndef ORFEAS_GEN_H
#define ORFEAS_GEN_H

#include "backend.h"
#include "err.h"
#include "field.h"
#include "image.h"
#include "mask.h"
#include "mesh.h"

#define GEN_MODE_AUTO (-1)

typedef enum { GEN_VOXEL = 0, GEN_ROUGH = 1 } gen_stage_id;

#define GEN_VOXEL_RESOLUTION 32
#define GEN_ROUGH_RESOLUTION 96

typedef struct gen_params {
    int mode;           /* GEN_MODE_AUTO or a field_mode. default auto */
    mask_method mask;   /* default MASK_AUTO */
    field_params field; /* depth, back, thickness, invert, base, working grid; field.mode is
                           set from `mode` */
} gen_params;

typedef struct gen_facts {
    char mode[16];      /* the mode that ran: "inflate", "extrude", "relief" */
    field_mode mode_id; /* the same, as a value (set by gen_mask) */
    char mask[16];      /* the mask method that ran */
    char why[320];      /* why that mode and mask */
    double ms_decode;   /* left for the caller to fill */
    double ms_mask, ms_field, ms_volume, ms_extract; /* milliseconds */
    int field_w, field_h, cycles;
    double residual;    /* inflate solver: final relative residual */
    double foreground;  /* share of the image's pixels in the mask */
} gen_facts;

/* Defaults: auto mode, auto mask, field_params_default. */
void gen_params_default(gen_params *p);

/* Stage names "voxel", "rough"; progress 25 and 50. */
const char *gen_stage_name(gen_stage_id s);
int gen_stage_progress(gen_stage_id s);

/* Mask and field of `img` (`name` in messages). Errors from mask.h and
 * field.h ("no_foreground", "bad_request", "too_large"). Free the field with
 * field_free. */
int gen_field(const orf_image *img, const char *name, const gen_params *p, orf_field *fld,
              gen_facts *facts, orf_err *e);

/* The two halves of gen_field, so that a caller can make several fields of
 * one mask (a coarse one for a fast first stage, say): gen_mask() computes
 * the mask and decides the mode (facts->mode, mode_id, mask, why);
 * gen_field_from_mask() solves the field with `max_side` cells along the
 * longer side (0: p->field.max_side) in the mode gen_mask chose. */
int gen_mask(const orf_image *img, const char *name, const gen_params *p, orf_mask *mask,
             gen_facts *facts, orf_err *e);
int gen_field_from_mask(const orf_mask *mask, const orf_image *img, const gen_params *p,
                        int max_side, orf_field *fld, gen_facts *facts, orf_err *e);

/* The record's "watertight" of `m` (*closed = 1): mesh_watertight() of
 * topology.h, the one definition (closed, manifold, no self-intersection,
 * no degenerate triangle). An empty mesh, or one with an index out of
 * range, is not. "too_large" when memory runs out. */
int gen_mesh_closed(const orf_mesh *m, int *closed, orf_err *e);

/* Cut stage `s` from `fld` at `resolution` cells along the longer image side
 * (0: the stage default, 32 or 96): voxel faces for GEN_VOXEL, marching
 * tetrahedra for GEN_ROUGH. The mesh has positions only, model units. */
int gen_stage(const orf_field *fld, gen_stage_id s, int resolution, orf_mesh *m, gen_facts *facts,
              orf_err *e);

/* gen_stage on backend b (backend.h; NULL: the CPU): the rough stage is
 * backend_extract (sampled and cut on the device when b is CUDA), the voxel
 * stage backend_volume_sample then the voxel faces on the CPU. `bf` (may be
 * NULL) says what ran ("backend", "fallback"). Same mesh on every backend. */
int gen_stage_on(const orf_backend *b, const orf_field *fld, gen_stage_id s, int resolution,
                 orf_mesh *m, gen_facts *facts, backend_facts *bf, orf_err *e);

#endif
