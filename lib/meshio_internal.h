/* meshio_internal.h - what the mesh readers and writers share (private to lib/meshio*.c).
 *
 * The per-format readers take bytes and a name for messages, and fill a zeroed
 * mesh or leave it zeroed; the writers append to a growable byte buffer.
 */
#ifndef ORFEAS_MESHIO_INTERNAL_H
#define ORFEAS_MESHIO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mesh.h"

/* A growable byte buffer; `failed` is set once an allocation fails, after
 * which every append is a no-op, so writers check once at the end. */
typedef struct mio_buf {
    uint8_t *p;
    size_t n, cap;
    int failed;
} mio_buf;

void mio_put(mio_buf *b, const void *data, size_t n);
void mio_printf(mio_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mio_put_u8(mio_buf *b, uint8_t v);
void mio_put_u16le(mio_buf *b, uint16_t v);
void mio_put_u32le(mio_buf *b, uint32_t v);
void mio_put_f32le(mio_buf *b, float v);
/* n 32-bit values (uint32 or IEEE float) in little-endian order: one
 * memcpy on a little-endian host. */
void mio_put_u32le_array(mio_buf *b, const void *v, size_t n);
/* Hand the bytes to the caller (*data, *n) or fail with "too_large". */
int mio_finish(mio_buf *b, uint8_t **data, size_t *n, orf_err *e);

/* Growable arrays of floats and uint32 used by the text readers. */
typedef struct mio_fvec {
    float *p;
    size_t n, cap;
} mio_fvec;
typedef struct mio_uvec {
    uint32_t *p;
    size_t n, cap;
} mio_uvec;
int mio_fvec_push(mio_fvec *v, float x);
int mio_uvec_push(mio_uvec *v, uint32_t x);

/* Little-/big-endian loads from unaligned bytes. */
uint16_t mio_u16le(const uint8_t *p);
uint32_t mio_u32le(const uint8_t *p);
float mio_f32le(const uint8_t *p);

/* Unit face normal of triangle t (zeros when degenerate). */
void mio_face_normal(const orf_mesh *m, uint32_t t, float out[3]);

/* Shared end of every reader: validate (mesh_validate) and free on failure. */
int mio_reader_finish(orf_mesh *m, const char *name, orf_err *e);

int meshio_read_glb(const uint8_t *d, size_t n, const char *name, uint32_t max_tris, orf_mesh *out,
                    orf_err *e);
int meshio_read_obj(const uint8_t *d, size_t n, const char *name, uint32_t max_tris, orf_mesh *out,
                    orf_err *e);
int meshio_read_ply(const uint8_t *d, size_t n, const char *name, uint32_t max_tris, orf_mesh *out,
                    orf_err *e);
int meshio_read_stl(const uint8_t *d, size_t n, const char *name, uint32_t max_tris, orf_mesh *out,
                    orf_err *e);
/* 1 when n bytes are a binary STL by the size rule (84 + 50 * count == n). */
int meshio_stl_is_binary(const uint8_t *d, size_t n);

int meshio_write_glb(const orf_mesh *m, mio_buf *b, orf_err *e);
int meshio_write_obj(const orf_mesh *m, const char *mtl_name, mio_buf *b, orf_err *e);
int meshio_write_ply(const orf_mesh *m, mio_buf *b, orf_err *e);
int meshio_write_stl(const orf_mesh *m, mio_buf *b, orf_err *e);

/* The material name used between the OBJ and its MTL. */
#define MIO_OBJ_MATERIAL "orfeas_material"

#endif
