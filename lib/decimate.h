/* decimate.h - simplification to a triangle budget that keeps a closed mesh
 * closed and manifold, then vertex-cache and vertex-fetch order.
 *
 * Garland-Heckbert quadric-error edge collapse: every vertex carries the
 * quadric of the planes of the original triangles merged into it; the cost
 * of collapsing an edge is the summed quadric at the place the kept vertex
 * goes. A collapse is refused when it would
 *   - break manifoldness: the link condition (the one-rings of the two
 *     endpoints share exactly the two vertices opposite the edge) fails, or
 *     a vertex opposite the edge would drop below three neighbours;
 *   - fold the surface: a remaining triangle's normal turns so that
 *     new . old < min_normal_dot (default 0.5, i.e. more than 60 degrees);
 *   - make a needle: a triangle's quality (4 sqrt(3) area / sum of squared
 *     edges, 1 for equilateral) would fall below min_quality (default 0.05)
 *     and below what it was;
 *   - crowd a vertex: the kept vertex would hold more than 32 triangles
 *     (DEC_MAX_VALENCE; input vertices with more never move);
 *   - move an open border: vertices on a border (or a non-manifold) edge
 *     never move; an edge between two of them is never collapsed.
 * Placement: when the mesh has no normals, UVs or colours, the point that
 * minimises the quadric (when the 3x3 system is well conditioned and the
 * point lies within the edge's length of its midpoint), else the best of the
 * two endpoints and the midpoint; with attributes, always an endpoint, so the
 * result uses a subset of the input vertices and UVs, normals and colours
 * stay valid.
 *
 * The engine (lib/decimate_rounds.c, per-element steps in
 * lib/hd/decimate_edge.h) collapses in rounds of independent collapses: each
 * round prices the edges that changed, lets in the cheapest (a quarter of
 * the priced edges, at most twice the collapses still needed: a ceiling
 * that rises as the mesh coarsens), and takes every candidate whose 64-bit
 * key (cost bucket, 1/16 of an octave, then a hash) is the least of all
 * candidates touching the triangles of both its ends, and that the rules
 * above allow; a few passes add more, free of the earlier ones. Such
 * collapses share no triangle, so applying them at once is applying them
 * one after another, and closed meshes stay closed, edge- and
 * vertex-manifold. The minima are of integers: the same output, byte for
 * byte, for any number of OpenMP threads and on CUDA (backend_decimate,
 * kernels/cuda_decimate.cu). Work is near-linear in the input, flat
 * tessellations included (all costs 0: ties go to the hash). The last
 * round takes only the cheapest collapses it needs, so a count target is
 * met exactly (or one under: a collapse removes two triangles).
 *
 * It replaced, in 0.2.0, a sequential engine (one global heap of every
 * vertex's cheapest edge; 8 k-d pieces on threads, then a serial pass),
 * which did not win where it mattered: on two quiet cores the 378k-triangle
 * blob to 50000 took 373 ms median with it and 372 ms with rounds (on one
 * thread the same median, its best run 25% faster), its distances to the
 * input were within 3% of the rounds' either way, a 1M-triangle flat grid
 * took it 60-84 s (rounds: 2.0 s), and CUDA could not run it
 * (scripts/bench/NOTES.md).
 *
 * The error (report and max_error) is a true bound in mesh units:
 * for every kept vertex, the square root of its quadric at its final
 * position, which is at least its largest distance to the plane of any
 * original triangle that was merged into it (the quadrics are unweighted
 * sums of squared plane distances, so the bound is conservative); no
 * collapse costing more than max_error^2 is made. Removed vertices of a
 * curved surface lie somewhat farther from the new triangles than that
 * (measured within 2x on spheres, tests/unit/test_decimate.c).
 */
#ifndef ORFEAS_DECIMATE_H
#define ORFEAS_DECIMATE_H

#include <stdint.h>

#include "err.h"
#include "mesh.h"

#define DECIMATE_MAX_TRIANGLES 50000

typedef struct decimate_opts {
    uint32_t max_triangles; /* stop at or below this many triangles; 0: no count target */
    float max_error;        /* error bound in mesh units (see above); <= 0: no bound */
    float min_normal_dot;   /* refuse a collapse turning a normal past this cosine;
                               0: default 0.5 */
    float min_quality;      /* refuse needles under this quality; 0: default 0.05 */
} decimate_opts;

typedef struct decimate_report {
    uint32_t vertices_before, triangles_before;
    uint32_t vertices_after, triangles_after;
    float error;    /* the largest error of a collapse made, in mesh units (see above) */
    int target_met; /* triangles_after <= max_triangles (1 when there is no count target) */
    /* the engine's work: */
    uint32_t rounds;       /* rounds of collapses run */
    uint64_t edges_priced; /* half-edges priced, summed over the rounds */
    uint64_t edges_tested; /* edges put through the refusal rules, summed over the rounds */
} decimate_report;

/* Safe defaults: DECIMATE_MAX_TRIANGLES, no error bound, the default
 * thresholds. */
void decimate_defaults(decimate_opts *o);

/* Simplify m in place to at most o->max_triangles triangles, unless that
 * would need an error above o->max_error (then it stops short and
 * r->target_met is 0; it also stops short when no allowed collapse is left),
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
