/* decimate.h - simplification to a triangle budget with meshoptimizer, then
 * vertex-cache and vertex-fetch order.
 *
 * Edge collapses by quadric error (meshopt_simplify, meshoptimizer 0.18):
 * the topology is kept (a closed manifold mesh stays closed), vertices are
 * never moved (the result uses a subset of the input vertices, so UVs,
 * normals and colours stay valid), and attribute seams (vertices split only
 * by their attributes) are collapsed only along the seam.
 *
 * The error is meshoptimizer's quadric estimate: the distance of the kept
 * vertices to the planes of the triangles they replace. On curved surfaces
 * the largest distance of a removed vertex to the new surface is larger:
 * measured 1.7-1.9x the estimate on a sphere (tests/unit/test_decimate.c),
 * so ask for half the deviation you can accept.
 */
#ifndef ORFEAS_DECIMATE_H
#define ORFEAS_DECIMATE_H

#include <stdint.h>

#include "err.h"
#include "mesh.h"

#define DECIMATE_MAX_TRIANGLES 50000

typedef struct decimate_opts {
    uint32_t max_triangles; /* stop at or below this many triangles; 0: no count target */
    float max_error;        /* error bound in mesh units (metres), as meshoptimizer
                             * estimates it; <= 0: no bound (see below) */
    int lock_border;        /* 1: vertices on open borders never move (meshopt_SimplifyLockBorder) */
} decimate_opts;

typedef struct decimate_report {
    uint32_t vertices_before, triangles_before;
    uint32_t vertices_after, triangles_after;
    float error;    /* meshoptimizer's estimate of the deviation, in mesh units */
    int target_met; /* triangles_after <= max_triangles (1 when there is no count target) */
} decimate_report;

/* Safe defaults: DECIMATE_MAX_TRIANGLES, no error bound, borders free. */
void decimate_defaults(decimate_opts *o);

/* Simplify m in place to at most o->max_triangles triangles, unless that
 * would need an error above o->max_error (then it stops short and
 * r->target_met is 0), then reorder triangles for the vertex cache and
 * vertices for fetch, dropping unused vertices. Every optional attribute
 * (nrm, uv, col) follows its vertex; the texture is kept. A mesh already
 * under the budget is only reordered. r may be NULL. -1 with "bad_request"
 * when neither a count nor an error target is given, "bad_mesh" for an index
 * out of range, "too_large" when memory runs out; m is unchanged on failure. */
int mesh_decimate(orf_mesh *m, const decimate_opts *o, decimate_report *r, orf_err *e);

/* Only the reordering part of mesh_decimate: vertex-cache order of the
 * triangles (meshopt_optimizeVertexCache), then vertex-fetch order of the
 * vertices, dropping unused ones. Same errors. */
int mesh_optimize_order(orf_mesh *m, orf_err *e);

#endif
