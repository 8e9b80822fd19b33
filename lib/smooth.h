/* smooth.h - Taubin smoothing of a triangle mesh (lambda|mu, no shrinkage).
 *
 * Each iteration is one umbrella step with +lambda (shrinks) followed by one
 * with mu < -lambda (inflates back), which removes high-frequency noise while
 * keeping the volume (Taubin 1995, "A signal processing approach to fair
 * surface design"). Weights are uniform over the one-ring taken from the
 * triangles. Vertices on a boundary move along the boundary only (their
 * neighbours are the two boundary neighbours); vertices on a non-manifold
 * edge or with a pinched boundary stay fixed. Results are bit-identical for
 * any number of OpenMP threads.
 */
#ifndef ORFEAS_SMOOTH_H
#define ORFEAS_SMOOTH_H

#include <stdint.h>

#include "err.h"
#include "mesh.h"

#define SMOOTH_LAMBDA 0.5f
#define SMOOTH_MU (-0.53f)
#define SMOOTH_ITERATIONS 10

/* The one-ring of every vertex, as smooth_vertex_step() reads it: the
 * neighbours of v are nbr[start[v] .. start[v] + count[v]), sorted by index.
 * start and count hold nverts entries, nbr 6 * ntris (an upper bound). */
typedef struct smooth_adjacency {
    uint32_t nverts;
    uint32_t *start, *count, *nbr;
    uint32_t boundary_vertices; /* vertices that move along a boundary */
    uint32_t fixed_vertices;    /* vertices kept in place (non-manifold) */
} smooth_adjacency;

/* Build the adjacency of m (indices must be < nverts: see mesh_validate).
 * -1 with "too_large" when memory runs out. Free with smooth_adjacency_free. */
int smooth_adjacency_build(const orf_mesh *m, smooth_adjacency *a, orf_err *e);

/* Release the arrays and zero the struct. Safe on a zeroed struct. */
void smooth_adjacency_free(smooth_adjacency *a);

/* Run `iterations` Taubin iterations (each a lambda step and a mu step) on
 * m->pos in place. Safe defaults: SMOOTH_ITERATIONS, SMOOTH_LAMBDA,
 * SMOOTH_MU (0 < lambda < -mu). iterations == 0 does nothing. Normals are
 * not updated (recompute them with mesh_compute_normals). -1 with
 * "bad_request" for lambda/mu that would not be a Taubin filter, "too_large"
 * when memory runs out; m is unchanged on failure. */
int mesh_smooth_taubin(orf_mesh *m, int iterations, float lambda, float mu, orf_err *e);

#endif
