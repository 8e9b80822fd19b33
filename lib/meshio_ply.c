/* meshio_ply.c - Stanford PLY: ascii, binary_little_endian, binary_big_endian.
 *
 * Reading takes any element and property order and any scalar type. From
 * "vertex": x y z, nx ny nz, s t (or u v, texture_u texture_v), red green
 * blue [alpha]; from "face": vertex_indices (or vertex_index), polygons
 * fanned. Other elements and properties are skipped. PLY's t runs upward,
 * the mesh's v downward, so t is flipped both ways.
 * Writing: binary little-endian, vertex x y z [nx ny nz] [s t]
 * [red green blue alpha], face list uchar uint vertex_indices.
 */
#include "meshio_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum ply_type { T_NONE, T_I8, T_U8, T_I16, T_U16, T_I32, T_U32, T_F32, T_F64 };
enum ply_fmt { F_ASCII, F_LE, F_BE };
/* what a vertex property feeds */
enum ply_role { R_SKIP, R_X, R_Y, R_Z, R_NX, R_NY, R_NZ, R_S, R_T, R_R, R_G, R_B, R_A, R_FACE };

#define PLY_MAX_PROPS 64
#define PLY_MAX_ELEMS 16

typedef struct ply_prop {
    enum ply_type type, count_type; /* count_type != T_NONE: a list */
    enum ply_role role;
} ply_prop;

typedef struct ply_elem {
    char name[32];
    uint64_t count;
    int nprops;
    ply_prop props[PLY_MAX_PROPS];
} ply_elem;

static const struct {
    const char *name;
    enum ply_type t;
} type_names[] = {{"char", T_I8},     {"int8", T_I8},     {"uchar", T_U8},   {"uint8", T_U8},
                  {"short", T_I16},   {"int16", T_I16},   {"ushort", T_U16}, {"uint16", T_U16},
                  {"int", T_I32},     {"int32", T_I32},   {"uint", T_U32},   {"uint32", T_U32},
                  {"float", T_F32},   {"float32", T_F32}, {"double", T_F64}, {"float64", T_F64}};

static const size_t type_size[] = {0, 1, 1, 2, 2, 4, 4, 4, 8};

static enum ply_type parse_type(const char *s)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (!strcmp(s, type_names[i].name))
            return type_names[i].t;
    return T_NONE;
}

static enum ply_role vertex_role(const char *s)
{
    static const struct {
        const char *name;
        enum ply_role r;
    } roles[] = {{"x", R_X},         {"y", R_Y},         {"z", R_Z},           {"nx", R_NX},
                 {"ny", R_NY},       {"nz", R_NZ},       {"s", R_S},           {"t", R_T},
                 {"u", R_S},         {"v", R_T},         {"texture_u", R_S},   {"texture_v", R_T},
                 {"texture_s", R_S}, {"texture_t", R_T}, {"red", R_R},         {"green", R_G},
                 {"blue", R_B},      {"alpha", R_A},     {"diffuse_red", R_R}, {"diffuse_green", R_G},
                 {"diffuse_blue", R_B}};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (!strcmp(s, roles[i].name))
            return roles[i].r;
    return R_SKIP;
}

/* A cursor over the body: binary or ascii tokens. */
typedef struct ply_in {
    const uint8_t *d;
    size_t n, at;
    enum ply_fmt fmt;
    const char *name;
    orf_err *e;
} ply_in;

/* Read one scalar of type t as double. -1 (with the error filled) when the data ends or is malformed. */
static int read_scalar(ply_in *in, enum ply_type t, double *out)
{
    if (in->fmt == F_ASCII) {
        while (in->at < in->n && (in->d[in->at] == ' ' || in->d[in->at] == '\t' || in->d[in->at] == '\r' ||
                                  in->d[in->at] == '\n'))
            in->at++;
        size_t s = in->at;
        while (in->at < in->n && !(in->d[in->at] == ' ' || in->d[in->at] == '\t' || in->d[in->at] == '\r' ||
                                   in->d[in->at] == '\n'))
            in->at++;
        size_t len = in->at - s;
        char buf[64];
        if (len == 0)
            return orf_fail(in->e, "bad_mesh", "%s: PLY data ends early (truncated?)", in->name);
        if (len >= sizeof buf)
            return orf_fail(in->e, "bad_mesh", "%s: PLY value at byte %zu is not a number", in->name, s);
        memcpy(buf, in->d + s, len);
        buf[len] = 0;
        char *stop;
        *out = strtod(buf, &stop);
        if (stop != buf + len)
            return orf_fail(in->e, "bad_mesh", "%s: PLY value \"%s\" at byte %zu is not a number", in->name,
                            buf, s);
        return 0;
    }
    size_t sz = type_size[t];
    if (in->n - in->at < sz)
        return orf_fail(in->e, "bad_mesh", "%s: PLY data ends early at byte %zu (truncated?)", in->name,
                        in->n);
    /* the value's bytes, least significant first, as an unsigned integer */
    const uint8_t *d = in->d + in->at;
    uint64_t u = 0;
    if (in->fmt == F_LE)
        for (size_t i = 0; i < sz; i++)
            u |= (uint64_t)d[i] << (8 * i);
    else
        for (size_t i = 0; i < sz; i++)
            u = u << 8 | d[i];
    in->at += sz;
    switch (t) {
    case T_I8: *out = (int8_t)(uint8_t)u; break;
    case T_U8: *out = (uint8_t)u; break;
    case T_I16: *out = (int16_t)(uint16_t)u; break;
    case T_U16: *out = (uint16_t)u; break;
    case T_I32: *out = (int32_t)(uint32_t)u; break;
    case T_U32: *out = (uint32_t)u; break;
    case T_F32: {
        uint32_t w = (uint32_t)u;
        float f;
        memcpy(&f, &w, 4);
        *out = f;
        break;
    }
    case T_F64: {
        double f;
        memcpy(&f, &u, 8);
        *out = f;
        break;
    }
    default: return orf_fail(in->e, "bad_mesh", "%s: bad PLY type", in->name);
    }
    return 0;
}

static int is_int_type(enum ply_type t) { return t != T_F32 && t != T_F64; }

/* Colour value to a byte: integer types are taken as 0..255 (0..65535 for 16 bits), floats as 0..1. */
static uint8_t to_byte(double v, enum ply_type t)
{
    if (t == T_U16 || t == T_I16)
        v /= 257.0;
    else if (!is_int_type(t))
        v *= 255.0;
    if (!(v > 0))
        return 0;
    if (v >= 255)
        return 255;
    return (uint8_t)lrint(v);
}

/* Next header line into buf (without the line end). 0 when none. */
static int header_line(const uint8_t *d, size_t n, size_t *at, char *buf, size_t cap)
{
    if (*at >= n)
        return 0;
    const uint8_t *nl = memchr(d + *at, '\n', n - *at);
    if (!nl)
        return 0;
    size_t len = (size_t)(nl - (d + *at));
    if (len && d[*at + len - 1] == '\r')
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, d + *at, len);
    buf[len] = 0;
    *at = (size_t)(nl - d) + 1;
    return 1;
}

int meshio_read_ply(const uint8_t *d, size_t n, const char *name, uint32_t max_tris, orf_mesh *out,
                    orf_err *e)
{
    memset(out, 0, sizeof *out);
    size_t at = 0;
    char line[256];
    if (!header_line(d, n, &at, line, sizeof line) || strcmp(line, "ply"))
        return orf_fail(e, "bad_mesh", "%s: not a PLY file (no \"ply\" line)", name);
    ply_elem *elems = calloc(PLY_MAX_ELEMS, sizeof *elems);
    if (!elems)
        return orf_fail(e, "too_large", "%s: out of memory", name);
    int nelems = 0, have_format = 0, done = 0, rc = -1;
    enum ply_fmt fmt = F_ASCII;
    mio_uvec tris = {0};
    while (header_line(d, n, &at, line, sizeof line)) {
        char *save, *w = strtok_r(line, " \t", &save);
        if (!w || !strcmp(w, "comment") || !strcmp(w, "obj_info"))
            continue;
        if (!strcmp(w, "end_header")) {
            done = 1;
            break;
        }
        if (!strcmp(w, "format")) {
            const char *f = strtok_r(NULL, " \t", &save);
            if (f && !strcmp(f, "ascii"))
                fmt = F_ASCII;
            else if (f && !strcmp(f, "binary_little_endian"))
                fmt = F_LE;
            else if (f && !strcmp(f, "binary_big_endian"))
                fmt = F_BE;
            else {
                orf_fail(e, "bad_mesh", "%s: unknown PLY format \"%s\"", name, f ? f : "");
                goto out;
            }
            have_format = 1;
        } else if (!strcmp(w, "element")) {
            const char *en = strtok_r(NULL, " \t", &save);
            const char *cn = strtok_r(NULL, " \t", &save);
            char *stop;
            if (!en || !cn || nelems >= PLY_MAX_ELEMS) {
                orf_fail(e, "bad_mesh", "%s: malformed or too many PLY element lines", name);
                goto out;
            }
            unsigned long long c = strtoull(cn, &stop, 10);
            if (*stop || cn[0] == '-' || c > UINT32_MAX) {
                orf_fail(e, "bad_mesh", "%s: PLY element \"%s\" has a bad count \"%s\"", name, en, cn);
                goto out;
            }
            ply_elem *el = &elems[nelems++];
            snprintf(el->name, sizeof el->name, "%s", en);
            el->count = c;
        } else if (!strcmp(w, "property")) {
            if (nelems == 0 || elems[nelems - 1].nprops >= PLY_MAX_PROPS) {
                orf_fail(e, "bad_mesh", "%s: PLY property outside an element, or too many", name);
                goto out;
            }
            ply_elem *el = &elems[nelems - 1];
            ply_prop *p = &el->props[el->nprops];
            const char *t = strtok_r(NULL, " \t", &save);
            if (t && !strcmp(t, "list")) {
                const char *ct = strtok_r(NULL, " \t", &save);
                const char *it = strtok_r(NULL, " \t", &save);
                p->count_type = ct ? parse_type(ct) : T_NONE;
                p->type = it ? parse_type(it) : T_NONE;
                if (p->count_type == T_NONE || p->type == T_NONE || !is_int_type(p->count_type)) {
                    orf_fail(e, "bad_mesh", "%s: PLY list property with bad types", name);
                    goto out;
                }
            } else {
                p->type = t ? parse_type(t) : T_NONE;
                p->count_type = T_NONE;
                if (p->type == T_NONE) {
                    orf_fail(e, "bad_mesh", "%s: PLY property of unknown type \"%s\"", name, t ? t : "");
                    goto out;
                }
            }
            const char *pn = strtok_r(NULL, " \t", &save);
            if (!pn) {
                orf_fail(e, "bad_mesh", "%s: PLY property without a name", name);
                goto out;
            }
            p->role = R_SKIP;
            if (!strcmp(el->name, "vertex") && p->count_type == T_NONE)
                p->role = vertex_role(pn);
            else if (!strcmp(el->name, "face") && p->count_type != T_NONE &&
                     (!strcmp(pn, "vertex_indices") || !strcmp(pn, "vertex_index")))
                p->role = R_FACE;
            el->nprops++;
        } else {
            orf_fail(e, "bad_mesh", "%s: unknown PLY header line \"%s\"", name, w);
            goto out;
        }
    }
    if (!done || !have_format) {
        orf_fail(e, "bad_mesh", "%s: PLY header without %s", name, done ? "a format line" : "end_header");
        goto out;
    }
    /* Find the vertex and face elements and what they carry. */
    ply_elem *ve = NULL, *fe = NULL;
    int roles = 0;
    for (int i = 0; i < nelems; i++) {
        if (!strcmp(elems[i].name, "vertex") && !ve)
            ve = &elems[i];
        if (!strcmp(elems[i].name, "face") && !fe)
            fe = &elems[i];
    }
    if (!ve || !fe) {
        orf_fail(e, "bad_mesh", "%s: PLY without %s element", name, ve ? "a face" : "a vertex");
        goto out;
    }
    int has_face_list = 0;
    for (int i = 0; i < fe->nprops; i++)
        has_face_list |= fe->props[i].role == R_FACE;
    for (int i = 0; i < ve->nprops; i++)
        roles |= 1 << ve->props[i].role;
    if ((roles & (1 << R_X | 1 << R_Y | 1 << R_Z)) != (1 << R_X | 1 << R_Y | 1 << R_Z) || !has_face_list) {
        orf_fail(e, "bad_mesh", "%s: PLY vertex needs x, y, z and face needs vertex_indices", name);
        goto out;
    }
    /* Counts against the data before allocating: every element item needs at
     * least one byte per property in binary, two (value and separator) in ascii. */
    size_t body = n - at;
    for (int i = 0; i < nelems; i++) {
        uint64_t per = 0;
        for (int k = 0; k < elems[i].nprops; k++) {
            const ply_prop *p = &elems[i].props[k];
            per += fmt == F_ASCII ? 2 : type_size[p->count_type != T_NONE ? p->count_type : p->type];
        }
        if (per == 0)
            per = 1;
        if (elems[i].count > body / per + (fmt == F_ASCII)) {
            orf_fail(e, "bad_mesh", "%s: PLY element \"%s\" declares %llu items, more than the %zu bytes of data hold",
                     name, elems[i].name, (unsigned long long)elems[i].count, body);
            goto out;
        }
    }
    if (max_tris && fe->count > max_tris) {
        orf_fail(e, "too_large", "%s: PLY has %llu faces, more than the limit of %u triangles", name,
                 (unsigned long long)fe->count, max_tris);
        goto out;
    }
    int attrs = 0;
    if (roles & (1 << R_NX | 1 << R_NY | 1 << R_NZ))
        attrs |= MESH_NORMALS;
    if (roles & (1 << R_S | 1 << R_T))
        attrs |= MESH_UVS;
    if (roles & (1 << R_R | 1 << R_G | 1 << R_B))
        attrs |= MESH_COLORS;
    if (mesh_alloc(out, (uint32_t)ve->count, 0, attrs, e)) {
        orf_fail(e, "too_large", "%s: out of memory for %llu vertices", name, (unsigned long long)ve->count);
        goto out;
    }
    ply_in in = {d, n, at, fmt, name, e};
    for (int i = 0; i < nelems; i++) {
        ply_elem *el = &elems[i];
        for (uint64_t item = 0; item < el->count; item++) {
            float nrm[3] = {0, 0, 0}, uv[2] = {0, 0};
            uint8_t col[4] = {255, 255, 255, 255};
            for (int k = 0; k < el->nprops; k++) {
                ply_prop *p = &el->props[k];
                double v;
                if (p->count_type != T_NONE) {
                    double cnt;
                    if (read_scalar(&in, p->count_type, &cnt))
                        goto out;
                    if (cnt < 0 || cnt > 1e6) {
                        orf_fail(e, "bad_mesh", "%s: PLY %s %llu has a list of %.0f items", name, el->name,
                                 (unsigned long long)item, cnt);
                        goto out;
                    }
                    uint32_t c = (uint32_t)cnt;
                    if (p->role == R_FACE && c < 3) {
                        orf_fail(e, "bad_mesh", "%s: PLY face %llu has %u corners (3 or more needed)", name,
                                 (unsigned long long)item, c);
                        goto out;
                    }
                    uint32_t first = 0, prev = 0;
                    for (uint32_t j = 0; j < c; j++) {
                        if (read_scalar(&in, p->type, &v))
                            goto out;
                        if (p->role != R_FACE)
                            continue;
                        if (!(v >= 0 && v < (double)out->nverts) || v != floor(v)) {
                            orf_fail(e, "bad_mesh", "%s: PLY face %llu uses vertex %.0f but there are only %u",
                                     name, (unsigned long long)item, v, out->nverts);
                            goto out;
                        }
                        uint32_t vi = (uint32_t)v;
                        if (j == 0)
                            first = vi;
                        if (j >= 2) {
                            if (max_tris && tris.n / 3 >= max_tris) {
                                orf_fail(e, "too_large", "%s: more than the limit of %u triangles", name,
                                         max_tris);
                                goto out;
                            }
                            if (tris.n / 3 >= UINT32_MAX - 1) {
                                orf_fail(e, "too_large", "%s: too many triangles", name);
                                goto out;
                            }
                            if (mio_uvec_push(&tris, first) || mio_uvec_push(&tris, prev) ||
                                mio_uvec_push(&tris, vi)) {
                                orf_fail(e, "too_large", "%s: out of memory", name);
                                goto out;
                            }
                        }
                        prev = vi;
                    }
                    continue;
                }
                if (read_scalar(&in, p->type, &v))
                    goto out;
                if (el != ve)
                    continue;
                float *pos = out->pos + 3 * (size_t)item;
                switch (p->role) {
                case R_X: pos[0] = (float)v; break;
                case R_Y: pos[1] = (float)v; break;
                case R_Z: pos[2] = (float)v; break;
                case R_NX: nrm[0] = (float)v; break;
                case R_NY: nrm[1] = (float)v; break;
                case R_NZ: nrm[2] = (float)v; break;
                case R_S: uv[0] = (float)v; break;
                case R_T: uv[1] = 1.0f - (float)v; break;
                case R_R: col[0] = to_byte(v, p->type); break;
                case R_G: col[1] = to_byte(v, p->type); break;
                case R_B: col[2] = to_byte(v, p->type); break;
                case R_A: col[3] = to_byte(v, p->type); break;
                default: break;
                }
            }
            if (el == ve) {
                if (out->nrm)
                    memcpy(out->nrm + 3 * (size_t)item, nrm, sizeof nrm);
                if (out->uv)
                    memcpy(out->uv + 2 * (size_t)item, uv, sizeof uv);
                if (out->col)
                    memcpy(out->col + 4 * (size_t)item, col, sizeof col);
            }
        }
    }
    if (tris.n == 0) {
        orf_fail(e, "bad_mesh", "%s: PLY without any face", name);
        goto out;
    }
    out->idx = tris.p;
    out->ntris = (uint32_t)(tris.n / 3);
    tris.p = NULL;
    rc = mio_reader_finish(out, name, e);
out:
    free(elems);
    free(tris.p);
    if (rc)
        mesh_free(out);
    return rc;
}

int meshio_write_ply(const orf_mesh *m, mio_buf *b, orf_err *e)
{
    (void)e;
    mio_printf(b, "ply\nformat binary_little_endian 1.0\ncomment written by orfeas\nelement vertex %u\n"
                  "property float x\nproperty float y\nproperty float z\n",
               m->nverts);
    if (m->nrm)
        mio_printf(b, "property float nx\nproperty float ny\nproperty float nz\n");
    if (m->uv)
        mio_printf(b, "property float s\nproperty float t\n");
    if (m->col)
        mio_printf(b, "property uchar red\nproperty uchar green\nproperty uchar blue\nproperty uchar alpha\n");
    mio_printf(b, "element face %u\nproperty list uchar uint vertex_indices\nend_header\n", m->ntris);
    for (uint32_t i = 0; i < m->nverts; i++) {
        for (int k = 0; k < 3; k++)
            mio_put_f32le(b, m->pos[3 * (size_t)i + (size_t)k]);
        if (m->nrm)
            for (int k = 0; k < 3; k++)
                mio_put_f32le(b, m->nrm[3 * (size_t)i + (size_t)k]);
        if (m->uv) {
            mio_put_f32le(b, m->uv[2 * (size_t)i]);
            mio_put_f32le(b, 1.0f - m->uv[2 * (size_t)i + 1]);
        }
        if (m->col)
            mio_put(b, m->col + 4 * (size_t)i, 4);
    }
    for (uint32_t t = 0; t < m->ntris; t++) {
        mio_put_u8(b, 3);
        for (int c = 0; c < 3; c++)
            mio_put_u32le(b, m->idx[3 * (size_t)t + (size_t)c]);
    }
    return 0;
}
