/* meshio.c - format detection, dispatch, whole-file reads and atomic writes.
 * The formats themselves live in meshio_glb.c, meshio_obj.c, meshio_ply.c
 * and meshio_stl.c. */
#include "meshio.h"

#include "alloc.h"

#include "atomic_file.h"
#include "meshio_internal.h"
#include "fsize.h"
#include "imageio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- shared helpers ---------------------------------------------------- */

static int mio_reserve(mio_buf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (more <= b->cap - b->n)
        return 0;
    if (more > SIZE_MAX / 2 - b->n) {
        b->failed = 1;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->n < more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    if (orf_huge_pages())
        orf_advise_huge(p + b->n, cap - b->n);
    b->p = p;
    b->cap = cap;
    return 0;
}

void mio_put(mio_buf *b, const void *data, size_t n)
{
    if (n == 0 || mio_reserve(b, n))
        return;
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

void mio_printf(mio_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (len < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)len < sizeof small) {
        mio_put(b, small, (size_t)len);
        return;
    }
    if (mio_reserve(b, (size_t)len + 1))
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->n, (size_t)len + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)len;
}

void mio_put_u8(mio_buf *b, uint8_t v) { mio_put(b, &v, 1); }

void mio_put_u16le(mio_buf *b, uint16_t v)
{
    uint8_t q[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    mio_put(b, q, 2);
}

void mio_put_u32le(mio_buf *b, uint32_t v)
{
    uint8_t q[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    mio_put(b, q, 4);
}

void mio_put_u32le_array(mio_buf *b, const void *v, size_t n)
{
    if (n > SIZE_MAX / 4) {
        b->failed = 1;
        return;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    mio_put(b, v, 4 * n);
#else
    const uint8_t *p = v;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, p + 4 * i, 4);
        mio_put_u32le(b, u);
    }
#endif
}

void mio_put_f32le(mio_buf *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    mio_put_u32le(b, u);
}

int mio_finish(mio_buf *b, uint8_t **data, size_t *n, orf_err *e)
{
    if (b->failed) {
        free(b->p);
        memset(b, 0, sizeof *b);
        return orf_fail(e, "too_large", "out of memory while writing a mesh");
    }
    if (!b->p && mio_reserve(b, 1)) {
        memset(b, 0, sizeof *b);
        return orf_fail(e, "too_large", "out of memory while writing a mesh");
    }
    *data = b->p;
    *n = b->n;
    memset(b, 0, sizeof *b);
    return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t each)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 1024;
    while (c < need)
        c *= 2;
    if (c > SIZE_MAX / each)
        return -1;
    void *q = realloc(*p, c * each);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

int mio_fvec_push(mio_fvec *v, float x)
{
    void *p = v->p;
    if (grow(&p, &v->cap, v->n + 1, sizeof(float)))
        return -1;
    v->p = p;
    v->p[v->n++] = x;
    return 0;
}

int mio_uvec_push(mio_uvec *v, uint32_t x)
{
    void *p = v->p;
    if (grow(&p, &v->cap, v->n + 1, sizeof(uint32_t)))
        return -1;
    v->p = p;
    v->p[v->n++] = x;
    return 0;
}

uint16_t mio_u16le(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

uint32_t mio_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

float mio_f32le(const uint8_t *p)
{
    uint32_t u = mio_u32le(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

void mio_face_normal(const orf_mesh *m, uint32_t t, float out[3])
{
    double w[3];
    mesh_triangle_cross(m, t, w);
    double len = sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
    for (int k = 0; k < 3; k++)
        out[k] = len > 0 && isfinite(len) ? (float)(w[k] / len) : 0.0f;
}

int mio_reader_finish(orf_mesh *m, const char *name, orf_err *e)
{
    if (mesh_validate(m, name, e)) {
        mesh_free(m);
        return -1;
    }
    return 0;
}

/* ---- format names ------------------------------------------------------ */

mesh_format meshio_format_from_name(const char *s)
{
    if (!s)
        return MESH_FMT_UNKNOWN;
    const char *ext = s;
    const char *dot = strrchr(s, '.');
    if (dot && !strchr(dot, '/'))
        ext = dot + 1;
    static const struct {
        const char *ext;
        mesh_format f;
    } names[] = {{"glb", MESH_FMT_GLB}, {"obj", MESH_FMT_OBJ}, {"ply", MESH_FMT_PLY}, {"stl", MESH_FMT_STL}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(ext, names[i].ext))
            return names[i].f;
    return MESH_FMT_UNKNOWN;
}

const char *meshio_format_ext(mesh_format f)
{
    switch (f) {
    case MESH_FMT_GLB: return "glb";
    case MESH_FMT_OBJ: return "obj";
    case MESH_FMT_PLY: return "ply";
    case MESH_FMT_STL: return "stl";
    default: return "";
    }
}

/* ---- reading ----------------------------------------------------------- */

static int starts_with_word(const uint8_t *d, size_t n, const char *w)
{
    size_t i = 0;
    while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
        i++;
    size_t k = strlen(w);
    return n - i >= k && !strncasecmp((const char *)d + i, w, k);
}

int meshio_read_mem(const uint8_t *data, size_t n, mesh_format f, const char *name, uint32_t max_tris,
                    orf_mesh *out, orf_err *e)
{
    if (!name)
        name = "<memory>";
    memset(out, 0, sizeof *out);
    if (!data || n == 0)
        return orf_fail(e, "bad_mesh", "%s: empty file", name);
    mesh_format by_content = MESH_FMT_UNKNOWN;
    if (n >= 4 && !memcmp(data, "glTF", 4))
        by_content = MESH_FMT_GLB;
    else if (n >= 4 && !memcmp(data, "ply", 3) && (data[3] == '\n' || data[3] == '\r'))
        by_content = MESH_FMT_PLY;
    if (by_content == MESH_FMT_UNKNOWN && f == MESH_FMT_UNKNOWN) {
        if (meshio_stl_is_binary(data, n))
            by_content = MESH_FMT_STL;
        else
            f = meshio_format_from_name(name);
        if (f == MESH_FMT_UNKNOWN && starts_with_word(data, n, "solid"))
            f = MESH_FMT_STL;
    }
    if (by_content != MESH_FMT_UNKNOWN)
        f = by_content;
    switch (f) {
    case MESH_FMT_GLB: return meshio_read_glb(data, n, name, max_tris, out, e);
    case MESH_FMT_OBJ: return meshio_read_obj(data, n, name, max_tris, out, e);
    case MESH_FMT_PLY: return meshio_read_ply(data, n, name, max_tris, out, e);
    case MESH_FMT_STL: return meshio_read_stl(data, n, name, max_tris, out, e);
    default:
        return orf_fail(e, "bad_format",
                        "%s: unknown mesh format (expected GLB, OBJ, PLY or STL by content or extension)",
                        name);
    }
}

int meshio_slurp(const char *path, size_t max_bytes, uint8_t **data, size_t *n, orf_err *e)
{
    *data = NULL;
    *n = 0;
    /* O_NONBLOCK: opening a FIFO with no writer must not hang; reads block again after. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return orf_fail_errno(e, "io_error", path);
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return orf_fail(e, "io_error", "%s: is a directory", path);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    size_t cap = 0, len = 0;
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        if (max_bytes && (uint64_t)st.st_size > max_bytes) {
            close(fd);
            return orf_fail(e, "too_large", "%s: file of %lld bytes is larger than the limit of %zu bytes",
                            path, (long long)st.st_size, max_bytes);
        }
        if ((uint64_t)st.st_size >= SIZE_MAX) {
            close(fd);
            return orf_fail(e, "too_large", "%s: file too large", path);
        }
        cap = (size_t)st.st_size + 1;
    } else {
        cap = 65536;
    }
    uint8_t *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return orf_fail(e, "too_large", "%s: out of memory for %zu bytes", path, cap);
    }
    for (;;) {
        if (len + 1 >= cap) {
            if (cap > SIZE_MAX / 2) {
                free(buf);
                close(fd);
                return orf_fail(e, "too_large", "%s: file too large", path);
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                return orf_fail(e, "too_large", "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            free(buf);
            close(fd);
            errno = saved;
            return orf_fail_errno(e, "io_error", path);
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (max_bytes && len > max_bytes) {
            free(buf);
            close(fd);
            return orf_fail(e, "too_large", "%s: file is larger than the limit of %zu bytes", path,
                            max_bytes);
        }
    }
    close(fd);
    buf[len] = 0;
    *data = buf;
    *n = len;
    return 0;
}

int meshio_read_file(const char *path, uint32_t max_tris, orf_mesh *out, orf_err *e)
{
    memset(out, 0, sizeof *out);
    uint8_t *data;
    size_t n;
    if (meshio_slurp(path, 0, &data, &n, e))
        return -1;
    int rc = meshio_read_mem(data, n, MESH_FMT_UNKNOWN, path, max_tris, out, e);
    free(data);
    return rc;
}

/* ---- writing ----------------------------------------------------------- */

int meshio_write_mem(const orf_mesh *m, mesh_format f, const char *mtl_name, uint8_t **data, size_t *n,
                     orf_err *e)
{
    *data = NULL;
    *n = 0;
    if (m->nverts && !m->pos)
        return orf_fail(e, "bad_mesh", "mesh has %u vertices but no positions", m->nverts);
    if (m->ntris && !m->idx)
        return orf_fail(e, "bad_mesh", "mesh has %u triangles but no indices", m->ntris);
    if (mesh_validate(m, "mesh to write", e))
        return -1;
    mio_buf b = {0};
    int rc;
    switch (f) {
    case MESH_FMT_GLB: rc = meshio_write_glb(m, &b, e); break;
    case MESH_FMT_OBJ: rc = meshio_write_obj(m, mtl_name, &b, e); break;
    case MESH_FMT_PLY: rc = meshio_write_ply(m, &b, e); break;
    case MESH_FMT_STL: rc = meshio_write_stl(m, &b, e); break;
    default: return orf_fail(e, "bad_format", "unknown mesh format to write");
    }
    if (rc) {
        free(b.p);
        return -1;
    }
    return mio_finish(&b, data, n, e);
}

int meshio_write_atomic(const char *path, const void *data, size_t n, orf_err *e)
{
    /* the one atomic writer: temporary file beside path, fsync, rename; mode
     * 0666 less the umask; stale temporaries of killed writers swept */
    return atomic_write_path(path, data, n, ATOMIC_MODE_FILE, e);
}

int meshio_write_file(const orf_mesh *m, mesh_format f, const char *path, orf_err *e)
{
    if (f == MESH_FMT_UNKNOWN)
        f = meshio_format_from_name(path);
    if (f == MESH_FMT_UNKNOWN)
        return orf_fail(e, "bad_format", "%s: unknown mesh format (use .glb, .obj, .ply or .stl)", path);
    int textured_obj = f == MESH_FMT_OBJ && m->uv && m->texture.w > 0 && m->texture.rgba;
    uint8_t *data = NULL;
    size_t n = 0;
    if (meshio_write_mem(m, f, NULL, &data, &n, e))
        return -1;
    if (!textured_obj) {
        int rc = meshio_write_atomic(path, data, n, e);
        free(data);
        return rc;
    }
    /* <stem>.obj, <stem>.mtl and <stem>.texture.png beside it */
    size_t plen = strlen(path);
    char *stem = malloc(plen + 16), *side = malloc(plen + 16);
    uint8_t *png = NULL, *mtl = NULL, *obj = NULL;
    size_t png_n = 0, mtl_n = 0, obj_n = 0;
    int rc = -1, wrote_png = 0, wrote_mtl = 0;
    if (!stem || !side) {
        orf_fail(e, "io_error", "%s: out of memory", path);
        goto done;
    }
    memcpy(stem, path, plen + 1);
    char *dot = strrchr(stem, '.');
    if (dot && !strchr(dot, '/'))
        *dot = 0;
    const char *slash = strrchr(stem, '/');
    const char *base = slash ? slash + 1 : stem;
    char mtl_name[512], png_name[512];
    snprintf(mtl_name, sizeof mtl_name, "%s.mtl", base);
    snprintf(png_name, sizeof png_name, "%s" MESHIO_TEXTURE_SUFFIX, base);
    if (image_encode_png(&m->texture, &png, &png_n, e) || meshio_obj_material(png_name, &mtl, &mtl_n, e) ||
        meshio_obj_with_material(data, n, mtl_name, &obj, &obj_n, e))
        goto done;
    sprintf(side, "%s" MESHIO_TEXTURE_SUFFIX, stem);
    if (meshio_write_atomic(side, png, png_n, e))
        goto done;
    wrote_png = 1;
    sprintf(side, "%s.mtl", stem);
    if (meshio_write_atomic(side, mtl, mtl_n, e))
        goto done;
    wrote_mtl = 1;
    rc = meshio_write_atomic(path, obj, obj_n, e);
done:
    if (rc && stem && side) {
        /* leave nothing half-made beside the path */
        if (wrote_png) {
            sprintf(side, "%s" MESHIO_TEXTURE_SUFFIX, stem);
            unlink(side);
        }
        if (wrote_mtl) {
            sprintf(side, "%s.mtl", stem);
            unlink(side);
        }
    }
    free(png);
    free(mtl);
    free(obj);
    free(data);
    free(stem);
    free(side);
    return rc;
}
