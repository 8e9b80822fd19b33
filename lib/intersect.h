/* intersect.h - exact geometric predicates and the self-intersection test
 * of a triangle mesh.
 *
 * orient3d_sign() and orient2d_sign() give the exact sign of the
 * orientation determinants of float points: a double-precision value with
 * a forward error bound (Shewchuk, "Adaptive Precision Floating-Point
 * Arithmetic and Fast Robust Geometric Predicates", 1997) decides almost
 * every call; the few it cannot decide are recomputed exactly with
 * floating-point expansions. So a triangle that touches another at one
 * point, or lies in its plane, is seen as touching or coplanar, never as
 * near enough.
 *
 * mesh_self_intersections() finds the pairs of triangles that meet where
 * the mesh does not join them, all in exact arithmetic:
 *   - triangles with no corner in common that have any point in common
 *     (crossing, touching at a point, overlapping in a plane);
 *   - triangles with one corner in common that have another point in
 *     common (a fold through the shared vertex);
 *   - triangles with an edge in common that lie in one plane on the same
 *     side of it (a fold flat onto the neighbour), and triangles with all
 *     three corners in common.
 * Corners are "in common" by vertex index: two vertices at the same place
 * under different indices touch. Triangles whose three corners are
 * collinear (or repeat a position), or that have a coordinate that is not
 * a finite number, are counted apart as degenerate and not paired. A closed manifold mesh with no such pair and no degenerate
 * triangle is an embedded surface: it bounds a solid.
 *
 * Candidates come from grids of cells twice the mean triangle size and
 * 2, 4, 8 ... times that: each triangle lives in the grid whose cells are
 * at least its size, entered in the cells its bounding box touches there
 * and in every coarser grid in use, each pair tested once. Cells run on
 * OpenMP threads with integer sums, so the counts are the same on any
 * thread count. Cost is about
 * linear in the triangles for meshes of even triangle size. The work is
 * bounded before it starts: when the candidate pairs would pass
 * 64 n + 10^6 (a tangle of long triangles, n^2 / 2 pairs), nothing is
 * tested and the answer is "undecided", which a caller must not take for
 * "no intersection".
 */
#ifndef ORFEAS_INTERSECT_H
#define ORFEAS_INTERSECT_H

#include <stdint.h>

#include "err.h"
#include "mesh.h"

/* The sign (-1, 0, 1) of det[a - d; b - d; c - d]: positive when d lies
 * below the plane of a, b, c, seen counter-clockwise from above. Exact. */
int orient3d_sign(const float a[3], const float b[3], const float c[3], const float d[3]);

/* The sign of det[a - c; b - c] for 2D points: positive when a, b, c turn
 * counter-clockwise. Exact for float coordinates. */
int orient2d_sign(const float a[2], const float b[2], const float c[2]);

typedef struct mesh_intersections {
    uint32_t pairs;       /* pairs of triangles meeting improperly (see above), at most
                             UINT32_MAX - 1; UINT32_MAX when undecided */
    uint32_t degenerate;  /* triangles with collinear corners or a non-finite one */
    uint32_t broken_fans; /* used vertices whose triangles do not form one closed fan (on
                             a boundary, non-manifold, or a triangle repeating it);
                             not counted when undecided */
    int undecided;        /* 1: too many overlapping triangles to test (see above) */
} mesh_intersections;

/* Find the improper pairs and degenerate triangles of m (indices must be
 * < nverts). -1 with "too_large" when memory runs out. */
int mesh_self_intersections(const orf_mesh *m, mesh_intersections *out, orf_err *e);

/* The improper-contact test of two triangles alone (9 corner positions and
 * 6 indices), as mesh_self_intersections applies it: 1 when they meet
 * improperly, 0 when not, -1 when either is degenerate. */
int triangles_meet(const float *const p[3], const uint32_t pi[3], const float *const q[3],
                   const uint32_t qi[3]);

#endif
