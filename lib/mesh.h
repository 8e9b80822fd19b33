/* mesh.h - the indexed triangle mesh every stage passes around.
 *
 * Positions are float x, y, z (3 per vertex), triangles are uint32 vertex
 * indices (3 per triangle) wound counter-clockwise seen from outside.
 * Normals (3 per vertex), UVs (2 per vertex, u right, v down as in glTF) and
 * colours (RGBA8, 4 per vertex) are optional: NULL when absent. `texture`
 * is an optional image the UVs index (w == 0 when absent).
 * All arrays are owned by the mesh and released by mesh_free.
 */
#ifndef ORFEAS_MESH_H
#define ORFEAS_MESH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "image.h"

typedef struct orf_mesh {
    uint32_t nverts, ntris;
    float *pos;        /* 3 * nverts */
    uint32_t *idx;     /* 3 * ntris */
    float *nrm;        /* 3 * nverts or NULL */
    float *uv;         /* 2 * nverts or NULL */
    uint8_t *col;      /* 4 * nverts or NULL */
    orf_image texture; /* texture.w == 0 when absent */
} orf_mesh;

enum { MESH_NORMALS = 1, MESH_UVS = 2, MESH_COLORS = 4 };

/* Allocate room for nverts vertices and ntris triangles, with the optional
 * attributes named in `attrs` (MESH_NORMALS | MESH_UVS | MESH_COLORS).
 * The mesh must be zeroed or freed first. Contents are uninitialised.
 * -1 with "too_large" when the sizes overflow or memory runs out. */
int mesh_alloc(orf_mesh *m, uint32_t nverts, uint32_t ntris, int attrs, orf_err *e);

/* Release everything and zero the struct. Safe on a zeroed struct. */
void mesh_free(orf_mesh *m);

/* Axis-aligned bounds of the positions: lo[3], hi[3]. Zeros for an empty mesh. */
void mesh_bbox(const orf_mesh *m, float lo[3], float hi[3]);

/* The cross product (b - a) x (c - a) of triangle t's corners, in double
 * precision: its direction is the face normal (counter-clockwise winding),
 * its length twice the triangle's area. t must be < ntris. */
void mesh_triangle_cross(const orf_mesh *m, uint32_t t, double w[3]);

/* Check what a reader produced: every index < nverts, every coordinate finite.
 * -1 with "bad_mesh" and a message naming `name` otherwise. */
int mesh_validate(const orf_mesh *m, const char *name, orf_err *e);

#endif
