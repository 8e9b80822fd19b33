/* smooth.h - Taubin smoothing of a triangle mesh (lambda|mu), which keeps
 * each piece's size.
 *
 * Each iteration is one umbrella step with +lambda (shrinks) followed by one
 * with mu < -lambda (inflates back), which removes high-frequency noise and
 * passes the low frequencies (Taubin 1995, "A signal processing approach to
 * fair surface design"). Weights are uniform over the one-ring taken from
 * the triangles. Vertices on a boundary move along the boundary only (their
 * neighbours are the two boundary neighbours); vertices on a non-manifold
 * edge or with a pinched boundary stay fixed. Results are bit-identical for
 * any number of OpenMP threads, and to the CUDA kernel: both call the one
 * step of hd/smooth_vertex.h.
 *
 * "Low frequencies" are those of many edges' length: a coarse mesh is all
 * high frequency, and the filter alone shrinks it (10 iterations took a
 * +-0.5 cube of 12 triangles to +-0.22 and a tetrahedron to 1.4% of its
 * size). So after the iterations smooth_keep_size() gives every connected
 * piece back its size, the same rule on every backend:
 *   - a closed piece (every vertex interior) is scaled about its volume
 *     centroid to the volume it had (a tetrahedron comes back itself);
 *   - an open piece is scaled about the mean of its boundary vertices so
 *     that the root mean square distance of its vertices from that mean is
 *     what it was (a rim in a plane stays in its plane);
 *   - a piece with a vertex kept fixed (non-manifold) is not scaled.
 * On a dense mesh the scale is within a fraction of a percent of 1 (noise
 * removed is not size lost); on a coarse one it undoes the shrinkage. Then
 * a piece whose vertices moved, root mean square, by more than
 * SMOOTH_MAX_RESHAPE of their root mean square distance from the piece's
 * centre is given its input back: smoothing changed its shape, not its
 * noise (the cube above, scaled back to its volume, was a spindle along a
 * diagonal, moved by 1.6 times its size; it stays a cube). Measured: the
 * samples' marching-tetrahedra meshes move 0.5-0.9% of their size, a
 * sphere with 5% radial noise 2.5%, icospheres of 80 to 5120 triangles
 * under 1.6%, a 960-triangle UV sphere 4.8%.
 */
#ifndef ORFEAS_SMOOTH_H
#define ORFEAS_SMOOTH_H

#include <stdint.h>

#include "err.h"
#include "mesh.h"

#define SMOOTH_LAMBDA 0.5f
#define SMOOTH_MU (-0.53f)
#define SMOOTH_ITERATIONS 10
#define SMOOTH_MAX_RESHAPE 0.1

/* The one-ring of every vertex, as smooth_vertex_step() reads it: the
 * neighbours of v are nbr[start[v] .. start[v] + count[v]), sorted by index.
 * start and count hold nverts entries, nbr 6 * ntris (an upper bound). */
/* kind[v]: SMOOTH_INTERIOR, SMOOTH_BOUNDARY, SMOOTH_FIXED, SMOOTH_UNUSED */
enum { SMOOTH_INTERIOR = 0, SMOOTH_BOUNDARY = 1, SMOOTH_FIXED = 2, SMOOTH_UNUSED = 3 };

typedef struct smooth_adjacency {
    uint32_t nverts;
    uint32_t *start, *count, *nbr;
    uint8_t *kind;              /* nverts entries, the kinds above */
    uint32_t boundary_vertices; /* vertices that move along a boundary */
    uint32_t fixed_vertices;    /* vertices kept in place (non-manifold) */
} smooth_adjacency;

/* Build the adjacency of m (indices must be < nverts: see mesh_validate).
 * -1 with "too_large" when memory runs out or m has more than
 * UINT32_MAX / 6 triangles (the slots are counted in 32 bits). Free with
 * smooth_adjacency_free. */
int smooth_adjacency_build(const orf_mesh *m, smooth_adjacency *a, orf_err *e);

/* Release the arrays and zero the struct. Safe on a zeroed struct. */
void smooth_adjacency_free(smooth_adjacency *a);

/* Run `iterations` Taubin iterations (each a lambda step and a mu step) on
 * m->pos in place, then smooth_keep_size. Safe defaults: SMOOTH_ITERATIONS, SMOOTH_LAMBDA,
 * SMOOTH_MU (0 < lambda < -mu). iterations == 0 does nothing. Normals are
 * not updated (recompute them with mesh_compute_normals). -1 with
 * "bad_request" for lambda/mu that would not be a Taubin filter, "too_large"
 * when memory runs out; m is unchanged on failure. */
int mesh_smooth_taubin(orf_mesh *m, int iterations, float lambda, float mu, orf_err *e);

/* Give each connected piece of m its size back, or its input when
 * smoothing reshaped it (see the top): `before` holds m's positions before
 * smoothing (3 floats a vertex), `a` is m's adjacency (only a->kind is
 * read, so the CUDA path passes just the kinds). *unsmoothed (may be
 * NULL) counts the pieces given their input back. Host code, deterministic
 * (double sums in vertex and triangle order), so CPU and CUDA smoothing
 * stay bit-identical. "too_large" when memory runs out (m is then as
 * smoothed). */
int smooth_keep_size(orf_mesh *m, const float *before, const smooth_adjacency *a,
                     uint32_t *unsmoothed, orf_err *e);

/* Positions, 3 floats a vertex, to and from the padded layout of
 * hd/smooth_vertex.h (SMOOTH_STRIDE floats a vertex, the pad 0). */
void smooth_pad(const float *pos, uint32_t nv, float *p4);
void smooth_unpad(const float *p4, uint32_t nv, float *pos);

#endif
