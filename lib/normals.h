/* normals.h - smooth vertex normals.
 */
#ifndef ORFEAS_NORMALS_H
#define ORFEAS_NORMALS_H

#include "err.h"
#include "mesh.h"

/* Fill m->nrm (allocated when NULL: 3 floats a vertex) with area-weighted
 * vertex normals: the sum of the (unnormalised) cross products of the
 * triangles around each vertex, scaled to unit length. Triangles wind
 * counter-clockwise seen from outside, so normals point outward. A vertex
 * with no triangle of non-zero area gets (0, 0, 1). Deterministic.
 * -1 with "too_large" when memory runs out. The per-element steps are
 * hd/normal_vertex.h's; backend_compute_normals (backend.h) runs them on
 * the GPU too, with the same result bit for bit. */
int mesh_compute_normals(orf_mesh *m, orf_err *e);

/* Allocate m->nrm (3 floats a vertex) when it is NULL and the mesh has
 * vertices; -1 with "too_large" when memory runs out. */
int mesh_normals_alloc(orf_mesh *m, orf_err *e);

#endif
