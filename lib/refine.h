/* refine.h - the refined and final stages (mesh-refine, mesh-gen --progressive).
 *
 * Two entry points, each a chain of calls into the rest of the library:
 *
 *   refine_from_field()  a field (field.h; the one mesh-gen cached) is
 *       sampled again at a finer grid (volume_sample) and cut (mt_extract),
 *       then smoothed (mesh_smooth_taubin). For REFINE_FINAL it is then
 *       decimated (mesh_decimate: to max_triangles, or to max_error), put in
 *       vertex-cache and vertex-fetch order, given smooth normals
 *       (mesh_compute_normals) and, when an image is given, the image as
 *       texture projected from the front (texture_project_front: UVs from x
 *       and y, the back mirrored).
 *   refine_from_mesh()   any mesh: mesh_repair (weld, degenerate, duplicate
 *       and floating pieces, orientation, small holes; report before and
 *       after), smoothing, and for REFINE_FINAL decimation, order, normals.
 *       A mesh repair cannot make sane is "bad_mesh".
 *
 * Units are the mesh's (model units, the longer image side spanning 1.0,
 * for meshes from a field); times are milliseconds. Nothing here prints or
 * touches the cache except refine_load_field.
 */
#ifndef ORFEAS_REFINE_H
#define ORFEAS_REFINE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "cache.h"
#include "decimate.h"
#include "err.h"
#include "field.h"
#include "image.h"
#include "mesh.h"
#include "repair.h"
#include "topology.h"

typedef enum { REFINE_REFINED = 0, REFINE_FINAL = 1 } refine_stage;

#define REFINE_REFINED_RESOLUTION 192
#define REFINE_FINAL_RESOLUTION 256

typedef struct refine_params {
    int refined_resolution; /* grid cells along the longer side, refined stage. default 192 */
    int resolution;         /* the same for the final stage. default 256 */
    int smooth;             /* Taubin iterations (lambda 0.5, mu -0.53); 0: none. default 10 */
    uint32_t max_triangles; /* final: triangle budget; 0: none (then max_error). default 50000 */
    float max_error;        /* final: decimation error bound, model units; <= 0: none. default 0 */
    int texture;            /* final from a field with an image: TEXTURE_* flags of texture.h
                               (TEXTURE_UVS | TEXTURE_ATTACH for GLB/OBJ, TEXTURE_COLORS for
                               PLY, 0 for none). default TEXTURE_UVS | TEXTURE_ATTACH */
    repair_opts repair;     /* refine_from_mesh only. default repair_defaults() */
    const orf_backend *backend; /* extraction and smoothing (backend.h); NULL: the CPU.
                                   default NULL */
} refine_params;

typedef struct refine_facts {
    int resolution;           /* the grid used (0 for a mesh input) */
    int smooth;               /* smoothing iterations run */
    int repaired;             /* 1: repair ran and `repair` holds its report */
    repair_report repair;
    int decimated;            /* 1: decimation ran and `decimation` holds its report */
    decimate_report decimation;
    uint32_t target;          /* the triangle budget asked for (0: none) */
    int textured;             /* 1: the image was projected onto the mesh */
    mesh_stats stats;         /* mesh_topology() of the result */
    char backend[8];          /* "cpu" or "cuda": what extracted and smoothed (backend_facts) */
    char fallback[16];        /* "" or why a CUDA stage was redone on the CPU ("cuda_oom") */
    double ms_volume, ms_extract, ms_repair, ms_smooth, ms_decimate, ms_normals, ms_texture,
        ms_total;
} refine_facts;

/* The defaults above. */
void refine_params_default(refine_params *p);

/* "refined" / "final"; progress 75 / 100. refine_stage_parse: -1 with
 * "bad_request" for any other name. */
const char *refine_stage_name(refine_stage s);
int refine_stage_progress(refine_stage s);
int refine_stage_parse(const char *s, refine_stage *out, orf_err *e);

/* Check p's ranges (resolutions 8..2048, smooth 0..1000, a final target of
 * some kind, finite max_error, repair shares in 0..1): -1 with
 * "bad_request" naming the parameter otherwise. */
int refine_params_check(const refine_params *p, orf_err *e);

/* Fetch the field blob `key` from cache c and deserialise it. -1 with
 * "no_field" when the cache does not hold it (never made, or pruned),
 * "bad_field" when the blob is not a field. Free fld with field_free. */
int refine_load_field(orf_cache *c, const char *key, orf_field *fld, orf_err *e);

/* Stage s from a field, as described at the top. img (may be NULL: no
 * texture) is the source image, any size (UVs depend only on its aspect,
 * which is the field's). m must be zeroed; on success it holds the mesh
 * (positions, normals for REFINE_FINAL, UVs/texture/colours as p->texture
 * asks). f may be NULL. "no_foreground" when the grid holds no surface,
 * "bad_request", "too_large" as the steps report them; m is freed on failure. */
int refine_from_field(const orf_field *fld, refine_stage s, const refine_params *p,
                      const orf_image *img, orf_mesh *m, refine_facts *f, orf_err *e);

/* Stage s of a mesh, in place: repair, smoothing, and for REFINE_FINAL
 * decimation, order and normals. For REFINE_FINAL with `already_refined`
 * set, repair and smoothing are skipped (m is the REFINE_REFINED result).
 * `name` names the input in messages. "bad_mesh" when nothing sane is left
 * (no triangle, all NaN, an index out of range); m stays a valid mesh. */
int refine_from_mesh(orf_mesh *m, refine_stage s, int already_refined, const refine_params *p,
                     const char *name, refine_facts *f, orf_err *e);

#endif
