/* topology.h - what a mesh is made of, and welding.
 *
 * mesh_topology() counts what a user checks before trusting a mesh: edges
 * used by one triangle (boundary) or by more than two (non-manifold),
 * vertices whose triangle fan is not a single disc or half-disc
 * (non-manifold vertices), connected components (by shared vertices),
 * whether every edge is used by exactly two triangles in opposite directions
 * (watertight and consistently oriented), the signed volume (positive when
 * the triangles face outward), the area, and the bounding box.
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
    int watertight;               /* no boundary, non-manifold or misoriented edge, >0 triangles */
    double volume;                /* signed, in the mesh's units cubed */
    double area;
    float bbox[2][3];
} mesh_stats;

/* Compute the statistics above. -1 with "too_large" when memory runs out. */
int mesh_topology(const orf_mesh *m, mesh_stats *s, orf_err *e);

/* Merge vertices whose positions are within `tolerance` of each other
 * (0: exactly equal), keeping the first one's attributes, and rewrite the
 * indices. Triangles are not removed. */
int mesh_weld(orf_mesh *m, float tolerance, orf_err *e);

#endif
