/* meshio.h - reading and writing meshes: GLB (glTF 2.0 binary), OBJ, PLY, STL.
 *
 * Readers take bytes in memory (meshio_read_mem) or a path (meshio_read_file,
 * which reads the whole file first). The format comes from the content where
 * it can (GLB magic, "ply" header, binary STL size rule) and from the name's
 * extension otherwise. Every count, offset and index read from a file is
 * checked against the file's size and the mesh before it is used; a file
 * that lies is refused with "bad_mesh" and a message naming it and the problem.
 * A reader returns positions and triangles always, and UVs, normals, colours
 * and the texture when the file has them. STL is welded by exact position.
 *
 * Writers produce one blob (meshio_write_mem) or a file written atomically
 * (meshio_write_file: temporary file in the same folder, fsync, rename).
 *   GLB: positions, normals, UVs and the texture (PNG, embedded) when present;
 *        vertex colours as COLOR_0. Passes the Khronos validator with no issue.
 *   OBJ: v, vt, vn, f; meshio_write_file also writes <stem>.mtl and
 *        <stem>.texture.png beside it when the mesh has a texture (a name no
 *        source image has, so an input is never written over).
 *   PLY: binary little-endian, vertex x y z [nx ny nz] [s t] [red green blue alpha].
 *   STL: binary, one facet normal per triangle.
 */
#ifndef ORFEAS_MESHIO_H
#define ORFEAS_MESHIO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mesh.h"

typedef enum { MESH_FMT_UNKNOWN = 0, MESH_FMT_GLB, MESH_FMT_OBJ, MESH_FMT_PLY, MESH_FMT_STL } mesh_format;

/* "glb", "obj", "ply", "stl" (case-insensitive, a leading '.' allowed) or a
 * path ending in one; MESH_FMT_UNKNOWN otherwise. */
mesh_format meshio_format_from_name(const char *name_or_path);

/* "glb", "obj", "ply", "stl"; "" for unknown. */
const char *meshio_format_ext(mesh_format f);

/* Read a mesh from memory. `name` is used in messages (a path, say) and,
 * when `f` is MESH_FMT_UNKNOWN, to guess the format from its extension.
 * `max_tris` refuses files declaring more triangles than that (0: no limit)
 * with "too_large". The mesh must be zeroed; on failure it is left zeroed. */
int meshio_read_mem(const uint8_t *data, size_t n, mesh_format f, const char *name,
                    uint32_t max_tris, orf_mesh *out, orf_err *e);

/* Read a whole file and parse it as above ("io_error" when unreadable). */
int meshio_read_file(const char *path, uint32_t max_tris, orf_mesh *out, orf_err *e);

/* Serialise to one malloc'd blob (*data, *n; the caller frees *data). For OBJ
 * the blob is the .obj text alone, with `mtllib <mtl_name>` when mtl_name is
 * not NULL and the mesh has a texture. */
int meshio_write_mem(const orf_mesh *m, mesh_format f, const char *mtl_name, uint8_t **data,
                     size_t *n, orf_err *e);

/* The texture file of a textured OBJ is <stem> MESHIO_TEXTURE_SUFFIX. */
#define MESHIO_TEXTURE_SUFFIX ".texture.png"

/* The .mtl text of a textured OBJ whose texture file is `texture_name`
 * (malloc'd *data of *n bytes). */
int meshio_obj_material(const char *texture_name, uint8_t **data, size_t *n, orf_err *e);

/* An OBJ written without a material (meshio_write_mem with mtl_name NULL)
 * with `mtllib <mtl_name>` and the material's `usemtl` put in, as
 * meshio_write_mem would have written it: the file of a textured OBJ whose
 * cached bytes name no file. malloc'd *data of *len bytes. */
int meshio_obj_with_material(const uint8_t *obj, size_t n, const char *mtl_name, uint8_t **data,
                             size_t *len, orf_err *e);

/* Write to `path` atomically, in the format of `f` (or of path's extension
 * when f is MESH_FMT_UNKNOWN); OBJ with a texture also writes .mtl and .png. */
int meshio_write_file(const orf_mesh *m, mesh_format f, const char *path, orf_err *e);

/* Read a whole file into memory (malloc'd, NUL-terminated for convenience),
 * refusing files larger than max_bytes (0: no limit) with "too_large". */
int meshio_slurp(const char *path, size_t max_bytes, uint8_t **data, size_t *n, orf_err *e);

/* Write bytes to `path` atomically: temporary file in the same folder, write,
 * fsync, rename. Nothing is left at `path` or beside it on failure. */
int meshio_write_atomic(const char *path, const void *data, size_t n, orf_err *e);

#endif
