/* mt.h - surfaces from a sampled volume: marching tetrahedra and voxels.
 *
 * mt_extract() cuts the zero level of a volume (volume.h) with the six
 * Kuhn tetrahedra of every cell (hd/mt_cell.h), a marching-cubes variant whose
 * cells agree on every shared face, so the result is closed without the
 * ambiguities of the classic 15-case table: one vertex per grid edge that
 * changes sign (shared by every triangle that uses it), triangles wound
 * counter-clockwise seen from outside, every edge used by exactly two
 * triangles, no triangle with two equal corners. Work is split by z slab
 * (OpenMP): each slab counts, a prefix sum places it, each slab fills its
 * part, so the output is byte-identical for any thread count. Grids under
 * MT_PARALLEL_POINTS (hd/mt_cell.h) run on one thread.
 *
 * mt_voxels() makes a blocky preview: the boundary faces of the grid points
 * where f > 0, each point standing for a cube of side `step` centred on it,
 * two triangles a face, corners welded. Before that the occupied set is made
 * well-composed (a voxel is added wherever two voxels meet only along an
 * edge or at a corner), so every edge has two faces and every vertex one fan.
 *
 * Both return an orf_mesh in model units with positions only (no normals).
 * "too_large" when the mesh would pass 2^32 - 1 vertices or memory runs out;
 * an empty volume gives an empty mesh (0 vertices), not an error.
 */
#ifndef ORFEAS_MT_H
#define ORFEAS_MT_H

#include "err.h"
#include "mesh.h"
#include "volume.h"

int mt_extract(const orf_volume *v, orf_mesh *m, orf_err *e);

int mt_voxels(const orf_volume *v, orf_mesh *m, orf_err *e);

#endif
