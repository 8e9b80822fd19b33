/* decimate.h - simplification to a triangle budget that keeps a closed mesh
 * closed and manifold, then vertex-cache and vertex-fetch order.
 *
 * The default method (DECIMATE_QEM, lib/decimate.c) is Garland-Heckbert
 * quadric-error edge collapse: every vertex carries the quadric of the planes
 * of the original triangles merged into it; the edge whose collapse costs
 * least goes first (an indexed 4-ary heap with one entry per vertex, keyed
 * by its cheapest edge; each edge's cost is kept in its triangles' corners
 * and re-priced only when an end moves). A collapse is refused when it would
 *   - break manifoldness: the link condition (the one-rings of the two
 *     endpoints share exactly the two vertices opposite the edge) fails, or
 *     a vertex opposite the edge would drop below three neighbours;
 *   - fold the surface: a remaining triangle's normal turns so that
 *     new . old < min_normal_dot (default 0.5, i.e. more than 60 degrees),
 *     which also keeps sharp dihedral angles out;
 *   - make a needle: a triangle's quality (4 sqrt(3) area / sum of squared
 *     edges, 1 for equilateral) would fall below min_quality (default 0.05)
 *     and below what it was;
 *   - move an open border: vertices on a border (or a non-manifold) edge
 *     never move; an edge between two of them is never collapsed.
 * Placement: when the mesh has no normals, UVs or colours, the point that
 * minimises the quadric (when the 3x3 system is well conditioned and the
 * point lies within the edge's length of its midpoint), else the best of the
 * two endpoints and the midpoint; with attributes, always an endpoint, so the
 * result uses a subset of the input vertices and UVs, normals and colours
 * stay valid. Deterministic: ties broken by vertex index. Inputs over 100k
 * triangles with a count target are cut into 8 k-d pieces (median planes of
 * the triangle centroids) decimated independently on OpenMP threads to 1.6x
 * their share of the target, vertices on a cut locked and priced by all their
 * planes; then one pass over the merged mesh (quadrics carried) to the
 * target: the same output for any number of threads.
 *
 * The error (report and max_error) is a true bound in mesh units: for every
 * kept vertex, the square root of its quadric at its final position, which is
 * at least its largest distance to the plane of any original triangle that
 * was merged into it (the quadrics are unweighted sums of squared plane
 * distances, so the bound is conservative). Removed vertices of a curved
 * surface lie somewhat farther from the new triangles than that (measured
 * within 2x on a sphere, tests/unit/test_decimate.c).
 *
 * DECIMATE_MESHOPT keeps meshoptimizer 0.18's meshopt_simplify for
 * comparison (scripts/bench): it does not test the link condition, so on
 * closed meshes it can leave fins (non-manifold edges); its error is
 * meshoptimizer's relative estimate times the mesh extent.
 */
#ifndef ORFEAS_DECIMATE_H
#define ORFEAS_DECIMATE_H

#include <stdint.h>

#include "err.h"
#include "mesh.h"

#define DECIMATE_MAX_TRIANGLES 50000

typedef enum { DECIMATE_QEM = 0, DECIMATE_MESHOPT = 1, DECIMATE_QEM_HEAP = 2 } decimate_method;

typedef struct decimate_opts {
    uint32_t max_triangles; /* stop at or below this many triangles; 0: no count target */
    float max_error;        /* error bound in mesh units (see above); <= 0: no bound */
    int lock_border;        /* meshopt only: 1 keeps open borders (meshopt_SimplifyLockBorder);
                               the QEM method always keeps them */
    decimate_method method; /* DECIMATE_QEM (default) or DECIMATE_MESHOPT */
    float min_normal_dot;   /* QEM: refuse a collapse turning a normal past this cosine;
                               0: default 0.5 */
    float min_quality;      /* QEM: refuse needles under this quality; 0: default 0.05 */
} decimate_opts;

typedef struct decimate_report {
    uint32_t vertices_before, triangles_before;
    uint32_t vertices_after, triangles_after;
    float error;    /* the largest error of a collapse made, in mesh units (see above) */
    int target_met; /* triangles_after <= max_triangles (1 when there is no count target) */
    uint32_t rounds;       /* rounds of collapses run */
    uint64_t edges_priced; /* edges priced, summed over the rounds */
    uint64_t edges_tested; /* edges put through the refusal tests, summed over the rounds */
} decimate_report;

/* Safe defaults: DECIMATE_MAX_TRIANGLES, no error bound, DECIMATE_QEM with
 * its default thresholds, borders free (meshopt only). */
void decimate_defaults(decimate_opts *o);

/* Simplify m in place to at most o->max_triangles triangles, unless that
 * would need an error above o->max_error (then it stops short and
 * r->target_met is 0; QEM also stops short when no allowed collapse is left),
 * then reorder triangles for the vertex cache and vertices for fetch,
 * dropping unused vertices. Every optional attribute (nrm, uv, col) follows
 * its vertex; the texture is kept. A mesh already under the budget is only
 * reordered. r may be NULL. -1 with "bad_request" when neither a count nor
 * an error target is given, "bad_mesh" for an index out of range,
 * "too_large" when memory runs out; m is unchanged on failure. */
int mesh_decimate(orf_mesh *m, const decimate_opts *o, decimate_report *r, orf_err *e);

/* The post-transform cache the triangle order is made for (entries). */
#define DECIMATE_CACHE_SIZE 16

/* Only the reordering part of mesh_decimate: vertex-cache order of the
 * triangles (meshopt_optimizeVertexCacheFifo for a DECIMATE_CACHE_SIZE
 * cache), then vertex-fetch order of the vertices, dropping unused ones.
 * Same errors. */
int mesh_optimize_order(orf_mesh *m, orf_err *e);

#endif
