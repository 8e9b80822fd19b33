/* hd/mt_active.h - marching tetrahedra over the active points only: what
 * kernels/cuda_mt.cu runs after compacting the grid, so that a job's device
 * memory follows the surface rather than the volume.
 *
 * A grid point is active when one of its 7 edges (mt_point_edges) changes
 * sign. That is also exactly when the cell whose lowest corner it is has
 * triangles: the cell's other 7 corners are the ends of the point's 7
 * edges. The active points, in ascending index order (act[0..nact)), carry
 * the per-point arrays the full-grid version kept for every point: the
 * crossing-edge bits, the first vertex id and the first triangle id
 * (exclusive scans over the active points, so the same ids as over the
 * whole grid, and the CPU's vertex and triangle order).
 *
 * A triangle's corner lies on an edge of a point q of its cell (q = p + an
 * offset); q is active (its edge crosses), and since the indices ascend
 * with no repeats, q's place in act is after p's and at most q - p places
 * on: mt_active_find searches only that window (1 place for the x
 * neighbour, a row for the y one). test_mt runs the whole scheme on the
 * CPU against mt_extract.
 */
#ifndef ORFEAS_HD_MT_ACTIVE_H
#define ORFEAS_HD_MT_ACTIVE_H

#include <stdint.h>

#include "hd/hd.h"
#include "hd/mt_cell.h"

/* Grid point p's coordinates (i, j, k) in a grid nx points wide, ny deep. */
ORF_HD void mt_point_ijk(uint64_t p, int nx, int ny, int *i, int *j, int *k)
{
    uint64_t r = p / (uint64_t)nx;
    *i = (int)(p % (uint64_t)nx);
    *j = (int)(r % (uint64_t)ny);
    *k = (int)(r / (uint64_t)ny);
}

/* The crossing-edge bits of grid point p (mt_point_edges from its index):
 * not 0 exactly when p is active. */
ORF_HD unsigned mt_point_bits(const uint8_t *in, int nx, int ny, int nz, uint64_t p)
{
    int i, j, k;
    mt_point_ijk(p, nx, ny, &i, &j, &k);
    return mt_point_edges(in, nx, ny, nz, i, j, k, (long)p);
}

/* The case index of the cell whose lowest corner is p (slab = nx * ny), 0
 * (no triangles) for a point on the far faces, which has no cell. */
ORF_HD unsigned mt_point_cell(const uint8_t *in, int nx, int ny, int nz, uint64_t slab, uint64_t p)
{
    int i, j, k;
    mt_point_ijk(p, nx, ny, &i, &j, &k);
    if (i + 1 >= nx || j + 1 >= ny || k + 1 >= nz)
        return 0;
    return mt_cell_index(in, (long)p, (long)nx, (long)slab);
}

/* The place of point q in act, searched after place a (act[a] = p < q, and
 * q is known to be active): lower bound in (a, min(nact, a + (q - p) + 1)). */
ORF_HD uint32_t mt_active_find(const uint64_t *act, uint32_t nact, uint32_t a, uint64_t q)
{
    uint64_t p = act[a];
    if (q == p)
        return a;
    uint64_t hi64 = (uint64_t)a + (q - p) + 1;
    uint32_t lo = a + 1, hi = hi64 < nact ? (uint32_t)hi64 : nact;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (act[mid] < q)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The triangles of the cell whose lowest corner is the active point act[a]
 * (a grid of nx * ny * nz points, `in` its inside flags, slab = nx * ny),
 * written from triangle tbase[a] on: the triangles of mt.c, corner for
 * corner. tri_count and tris are the tables of mt_cell.h (the device passes
 * its own copies). */
ORF_HD void mt_active_triangles(const uint8_t *in, int nx, int ny, int nz, uint64_t slab,
                                const uint64_t *act, uint32_t nact, const uint8_t *bits,
                                const uint32_t *vbase, const uint32_t *tbase, uint32_t a,
                                const uint8_t *tri_count, const uint8_t (*tris)[36], uint32_t *idx)
{
    uint64_t p = act[a];
    unsigned ci = mt_point_cell(in, nx, ny, nz, slab, p);
    unsigned nt = tri_count[ci];
    uint64_t t = tbase[a];
    for (unsigned c = 0; c < 3 * nt; c++) {
        unsigned code = tris[ci][c];
        unsigned lo = code >> 3, dir = code & 7;
        uint64_t q = p + (uint64_t)(lo >> 2 & 1) * slab + (uint64_t)(lo >> 1 & 1) * (uint64_t)nx +
                     (uint64_t)(lo & 1);
        uint32_t b = mt_active_find(act, nact, a, q);
        idx[3 * t + c] = mt_edge_vertex(vbase[b], bits[b], dir);
    }
}

/* The triangle count of point p's cell (0 on the far faces). */
ORF_HD uint32_t mt_active_tri_count(const uint8_t *in, int nx, int ny, int nz, uint64_t slab, uint64_t p,
                                    const uint8_t *tri_count)
{
    return tri_count[mt_point_cell(in, nx, ny, nz, slab, p)];
}

#endif
