/* topology.h - what a mesh is made of, and welding.
 *
 * mesh_topology() counts what a user checks before trusting a mesh: edges
 * used by one triangle (boundary) or by more than two (non-manifold),
 * vertices whose triangle fan is not a single disc or half-disc
 * (non-manifold vertices), connected components (by shared vertices),
 * pairs of triangles that meet where the mesh does not join them and
 * degenerate triangles (intersect.h, exact arithmetic), the signed volume
 * (positive when the triangles face outward), the area, and the bounding
 * box.
 *
 * "watertight" is the one definition every record uses: closed (every edge
 * used by exactly two triangles, in opposite directions: consistently
 * oriented), manifold (no vertex whose triangles form more than one fan),
 * and embedded (no self-intersecting pair, no degenerate triangle): the
 * boundary of a solid, which is what Open3D's is_watertight asks too.
 */
#ifndef ORFEAS_TOPOLOGY_H
#define ORFEAS_TOPOLOGY_H

#include <stdint.h>

#include "err.h"
#include "mesh.h"

typedef struct mesh_stats {
    uint32_t vertices, triangles;
    uint32_t components;
    uint32_t boundary_edges;      /* edges used by exactly one triangle */
    uint32_t nonmanifold_edges;   /* edges used by three or more triangles */
    uint32_t nonmanifold_vertices;
    uint32_t misoriented_edges;   /* edges used twice in the same direction */
    /* searched only when the counts above are all 0 (else left 0): */
    uint32_t self_intersections;  /* pairs of triangles meeting improperly (intersect.h);
                                     UINT32_MAX: too tangled to test */
    uint32_t degenerate_triangles; /* collinear corners, or a coordinate not finite */
    int watertight;               /* >0 triangles and every count above 0 (see the top) */
    double volume;                /* signed, in the mesh's units cubed */
    double area;
    float bbox[2][3];
} mesh_stats;

/* Compute the statistics above. -1 with "too_large" when memory runs out,
 * "bad_mesh" for an index out of range. The self-intersection search is
 * about linear in the triangles (intersect.h): on two threads about
 * 10 ms per 100k triangles of an even mesh. */
int mesh_topology(const orf_mesh *m, mesh_stats *s, orf_err *e);

/* The "watertight" of mesh_topology alone, for a record that needs only
 * that: the edges checked first in linear time, then, when every edge is
 * used twice in opposite directions, the fans and the self-intersection
 * search (intersect.h). *watertight is 0 for an empty mesh or one with an
 * index out of range. "too_large" when memory runs out. */
int mesh_watertight(const orf_mesh *m, int *watertight, orf_err *e);

/* Merge vertices whose positions are within `tolerance` of each other
 * (0: exactly equal), keeping the first one's attributes, and rewrite the
 * indices. Triangles are not removed. */
int mesh_weld(orf_mesh *m, float tolerance, orf_err *e);

#endif
