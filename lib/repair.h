/* repair.h - make a triangle mesh from anywhere sane: weld, drop degenerate,
 * duplicate and floating pieces, orient consistently and outward, fill small
 * holes, and say what changed.
 *
 * The steps, in order (each can be measured in the report):
 *  1. triangles with a non-finite coordinate are dropped;
 *  2. vertices within `weld_tolerance` are merged (mesh_weld, topology.h);
 *  3. degenerate triangles (a repeated vertex, or zero area: the cross
 *     product below 1e-12 of the longest edge squared) are dropped;
 *  4. duplicate triangles (the same three vertices in any order) are dropped,
 *     the first one kept;
 *  5. floaters, components (by shared vertices) with fewer than
 *     `floater_share` of the triangles, are dropped; the largest never is;
 *  6. every edge-connected patch is oriented consistently (breadth-first
 *     over edges used by two triangles, flipping a neighbour that runs the
 *     shared edge the same way), keeping the majority's winding, and flipped
 *     whole when it is closed and its signed volume is negative;
 *  7. boundary loops of at most `max_hole_edges` edges are filled (three
 *     edges with one triangle, more with a fan around a new vertex at the
 *     loop's centroid, attributes averaged), wound to match; patches closed by
 *     this are oriented outward again;
 *  8. vertices no triangle uses are removed (attributes follow).
 */
#ifndef ORFEAS_REPAIR_H
#define ORFEAS_REPAIR_H

#include <stdint.h>

#include "err.h"
#include "mesh.h"
#include "topology.h"

#define REPAIR_FLOATER_SHARE 0.005f

typedef struct repair_opts {
    float weld_tolerance;    /* mesh units; 0: only exactly equal positions (default) */
    float floater_share;     /* 0..1 of the triangles; 0 keeps every component; default 0.005 */
    uint32_t max_hole_edges; /* fill boundary loops with at most this many edges; 0: none (default) */
    int orient;              /* 1: steps 6 and 7's re-orientation (default); 0: leave windings */
} repair_opts;

typedef struct repair_report {
    mesh_stats before, after;      /* mesh_topology() of the input and of the result */
    uint32_t nonfinite_triangles;  /* step 1 */
    uint32_t welded_vertices;      /* step 2: used vertices merged into another */
    uint32_t degenerate_triangles; /* step 3 */
    uint32_t duplicate_triangles;  /* step 4 */
    uint32_t floater_components, floater_triangles; /* step 5 */
    uint32_t flipped_triangles;    /* step 6: input triangles whose winding changed */
    uint32_t nonorientable_edges;  /* step 6: edges no winding could agree on (Moebius-like) */
    uint32_t holes_filled, hole_triangles, holes_left; /* step 7: holes_left are loops not filled */
    uint32_t unused_vertices;      /* step 8 */
} repair_report;

/* Safe defaults: exact weld, floaters under 0.5%, orient, no hole filling. */
void repair_defaults(repair_opts *o);

/* Repair m in place as described above; `name` names the input in messages.
 * r may be NULL. -1 with "bad_mesh" when an index is out of range or no
 * triangle is left (an empty or all-NaN mesh), "too_large" when memory runs
 * out; m may then have been partly repaired but is always a valid mesh. */
int mesh_repair(orf_mesh *m, const repair_opts *o, repair_report *r, const char *name,
                orf_err *e);

#endif
