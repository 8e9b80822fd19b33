/* meshio_obj.c - Wavefront OBJ.
 *
 * Reading: v, vt, vn and f (polygons fanned around their first corner;
 * corners v, v/vt, v//vn, v/vt/vn; negative indices count back from the
 * latest element); comments and other statements are ignored. Each distinct
 * (v, vt, vn) corner becomes one mesh vertex. OBJ's v runs upward, the
 * mesh's downward (glTF), so v is flipped both ways.
 */
#include "meshio_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct corner_map {
    uint32_t *keys; /* 3 per slot: v, vt, vn (vt/vn UINT32_MAX when absent) */
    uint32_t *vals; /* UINT32_MAX: empty */
    size_t cap, used;
} corner_map;

static uint64_t hash3(const uint32_t *k)
{
    uint64_t h = k[0] * 0x9E3779B97F4A7C15ULL;
    h ^= (k[1] + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
    h ^= (k[2] + 0x165667B19E3779F9ULL) * 0x27D4EB2F165667C5ULL;
    return h ^ (h >> 29);
}

static int cmap_grow(corner_map *c)
{
    size_t ncap = c->cap ? c->cap * 2 : 4096;
    uint32_t *nk = malloc(ncap * 3 * sizeof(uint32_t));
    uint32_t *nv = malloc(ncap * sizeof(uint32_t));
    if (!nk || !nv) {
        free(nk);
        free(nv);
        return -1;
    }
    memset(nv, 0xff, ncap * sizeof(uint32_t));
    for (size_t i = 0; i < c->cap; i++) {
        if (c->vals[i] == UINT32_MAX)
            continue;
        size_t s = hash3(c->keys + 3 * i) & (ncap - 1);
        while (nv[s] != UINT32_MAX)
            s = (s + 1) & (ncap - 1);
        memcpy(nk + 3 * s, c->keys + 3 * i, 3 * sizeof(uint32_t));
        nv[s] = c->vals[i];
    }
    free(c->keys);
    free(c->vals);
    c->keys = nk;
    c->vals = nv;
    c->cap = ncap;
    return 0;
}

/* Index of corner k, adding it as vertex `next` when new; UINT32_MAX on OOM. */
static uint32_t cmap_get(corner_map *c, const uint32_t k[3], uint32_t next, int *added)
{
    *added = 0;
    if ((c->used + 1) * 2 > c->cap && cmap_grow(c))
        return UINT32_MAX;
    size_t s = hash3(k) & (c->cap - 1);
    while (c->vals[s] != UINT32_MAX) {
        if (!memcmp(c->keys + 3 * s, k, 3 * sizeof(uint32_t)))
            return c->vals[s];
        s = (s + 1) & (c->cap - 1);
    }
    memcpy(c->keys + 3 * s, k, 3 * sizeof(uint32_t));
    c->vals[s] = next;
    c->used++;
    *added = 1;
    return next;
}

static int is_space(uint8_t ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v'; }

/* The next whitespace-separated token of [*p, end): its start in *tok and
 * its length (0 at the end of the line); *p moves past it. */
static size_t next_token(const char **p, const char *end, const char **tok)
{
    const char *q = *p;
    while (q < end && is_space((uint8_t)*q))
        q++;
    *tok = q;
    while (q < end && !is_space((uint8_t)*q))
        q++;
    *p = q;
    return (size_t)(q - *tok);
}

/* Parse numbers from [p, end) into out (at most max); returns how many. -1 when a token is not a number. */
static int parse_floats(const char *p, const char *end, float *out, int max)
{
    int n = 0;
    const char *s;
    size_t len;
    while ((len = next_token(&p, end, &s)) > 0) {
        if (n >= max)
            continue;
        char buf[64];
        if (len >= sizeof buf)
            return -1;
        memcpy(buf, s, len);
        buf[len] = 0;
        char *stop;
        out[n] = strtof(buf, &stop);
        if (stop != buf + len)
            return -1;
        n++;
    }
    return n;
}

/* One OBJ index ("3", "-1", "" for absent) against `count` elements so far:
 * 0-based index in *out, UINT32_MAX when absent. -1 when malformed or out of range. */
static int parse_index(const char *s, size_t len, size_t count, uint32_t *out)
{
    if (len == 0) {
        *out = UINT32_MAX;
        return 0;
    }
    char buf[32];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *stop;
    long long v = strtoll(buf, &stop, 10);
    if (stop != buf + len || v == 0)
        return -1;
    long long i = v > 0 ? v - 1 : (long long)count + v;
    if (i < 0 || (unsigned long long)i >= count)
        return -1;
    *out = (uint32_t)i;
    return 0;
}

int meshio_read_obj(const uint8_t *d, size_t n, const char *name, uint32_t max_tris, orf_mesh *out,
                    orf_err *e)
{
    memset(out, 0, sizeof *out);
    mio_fvec v = {0}, vt = {0}, vn = {0};
    mio_uvec corners = {0}; /* 3 per mesh vertex: v, vt, vn */
    mio_uvec tris = {0};
    mio_uvec face = {0};
    corner_map cmap = {0};
    int rc = -1, any_vt = 0, any_vn = 0;
    size_t line = 0, at = 0;
    uint32_t nverts = 0;
    while (at < n) {
        line++;
        const char *p = (const char *)d + at;
        const char *nl = memchr(p, '\n', n - at);
        const char *end = nl ? nl : (const char *)d + n;
        at = (size_t)(end - (const char *)d) + 1;
        const char *kw;
        size_t kwlen = next_token(&p, end, &kw);
        float f[4];
        if (kwlen == 1 && kw[0] == 'v') {
            int k = parse_floats(p, end, f, 3);
            if (k < 3) {
                orf_fail(e, "bad_mesh", "%s: line %zu: a vertex needs 3 numbers", name, line);
                goto out;
            }
            if (mio_fvec_push(&v, f[0]) || mio_fvec_push(&v, f[1]) || mio_fvec_push(&v, f[2]))
                goto oom;
        } else if (kwlen == 2 && kw[0] == 'v' && kw[1] == 't') {
            int k = parse_floats(p, end, f, 2);
            if (k < 1) {
                orf_fail(e, "bad_mesh", "%s: line %zu: a texture coordinate needs numbers", name, line);
                goto out;
            }
            if (k < 2)
                f[1] = 0;
            if (mio_fvec_push(&vt, f[0]) || mio_fvec_push(&vt, 1.0f - f[1]))
                goto oom;
        } else if (kwlen == 2 && kw[0] == 'v' && kw[1] == 'n') {
            int k = parse_floats(p, end, f, 3);
            if (k < 3) {
                orf_fail(e, "bad_mesh", "%s: line %zu: a normal needs 3 numbers", name, line);
                goto out;
            }
            if (mio_fvec_push(&vn, f[0]) || mio_fvec_push(&vn, f[1]) || mio_fvec_push(&vn, f[2]))
                goto oom;
        } else if (kwlen == 1 && kw[0] == 'f') {
            face.n = 0;
            const char *s;
            while (next_token(&p, end, &s) > 0) {
                /* split s..p on '/' into up to 3 parts */
                const char *part[3] = {s, NULL, NULL};
                size_t plen[3] = {0, 0, 0};
                int np = 0;
                const char *q = s;
                for (;;) {
                    const char *slash = memchr(q, '/', (size_t)(p - q));
                    const char *pe = slash ? slash : p;
                    if (np >= 3) {
                        np = 4;
                        break;
                    }
                    part[np] = q;
                    plen[np] = (size_t)(pe - q);
                    np++;
                    if (!slash)
                        break;
                    q = slash + 1;
                }
                uint32_t k[3];
                if (np > 3 || plen[0] == 0 || parse_index(part[0], plen[0], v.n / 3, &k[0]) ||
                    parse_index(part[1], plen[1], vt.n / 2, &k[1]) ||
                    parse_index(part[2], plen[2], vn.n / 3, &k[2])) {
                    orf_fail(e, "bad_mesh", "%s: line %zu: face corner \"%.*s\" is malformed or out of range",
                             name, line, (int)(p - s > 40 ? 40 : p - s), s);
                    goto out;
                }
                if (k[1] != UINT32_MAX)
                    any_vt = 1;
                if (k[2] != UINT32_MAX)
                    any_vn = 1;
                int added;
                uint32_t vi = cmap_get(&cmap, k, nverts, &added);
                if (vi == UINT32_MAX)
                    goto oom;
                if (added) {
                    if (nverts == UINT32_MAX - 1) {
                        orf_fail(e, "too_large", "%s: too many vertices", name);
                        goto out;
                    }
                    nverts++;
                    if (mio_uvec_push(&corners, k[0]) || mio_uvec_push(&corners, k[1]) ||
                        mio_uvec_push(&corners, k[2]))
                        goto oom;
                }
                if (mio_uvec_push(&face, vi))
                    goto oom;
            }
            if (face.n < 3) {
                orf_fail(e, "bad_mesh", "%s: line %zu: a face needs at least 3 corners", name, line);
                goto out;
            }
            for (size_t i = 1; i + 1 < face.n; i++) {
                if (max_tris && tris.n / 3 >= max_tris) {
                    orf_fail(e, "too_large", "%s: more than the limit of %u triangles", name, max_tris);
                    goto out;
                }
                if (tris.n / 3 >= UINT32_MAX - 1) {
                    orf_fail(e, "too_large", "%s: too many triangles", name);
                    goto out;
                }
                if (mio_uvec_push(&tris, face.p[0]) || mio_uvec_push(&tris, face.p[i]) ||
                    mio_uvec_push(&tris, face.p[i + 1]))
                    goto oom;
            }
        }
        /* anything else (o, g, s, usemtl, mtllib, l, p, comments): ignored */
    }
    if (tris.n == 0) {
        orf_fail(e, "bad_mesh", "%s: OBJ without any face", name);
        goto out;
    }
    if (mesh_alloc(out, nverts, (uint32_t)(tris.n / 3), (any_vt ? MESH_UVS : 0) | (any_vn ? MESH_NORMALS : 0),
                   e))
        goto oom;
    for (uint32_t i = 0; i < nverts; i++) {
        const uint32_t *k = corners.p + 3 * (size_t)i;
        memcpy(out->pos + 3 * (size_t)i, v.p + 3 * (size_t)k[0], 3 * sizeof(float));
        if (out->uv) {
            if (k[1] != UINT32_MAX)
                memcpy(out->uv + 2 * (size_t)i, vt.p + 2 * (size_t)k[1], 2 * sizeof(float));
            else
                out->uv[2 * i] = out->uv[2 * i + 1] = 0;
        }
        if (out->nrm) {
            if (k[2] != UINT32_MAX)
                memcpy(out->nrm + 3 * (size_t)i, vn.p + 3 * (size_t)k[2], 3 * sizeof(float));
            else
                out->nrm[3 * i] = out->nrm[3 * i + 1] = out->nrm[3 * i + 2] = 0;
        }
    }
    memcpy(out->idx, tris.p, tris.n * sizeof(uint32_t));
    rc = mio_reader_finish(out, name, e);
    goto out;
oom:
    orf_fail(e, "too_large", "%s: out of memory", name);
    mesh_free(out);
out:
    free(v.p);
    free(vt.p);
    free(vn.p);
    free(corners.p);
    free(tris.p);
    free(face.p);
    free(cmap.keys);
    free(cmap.vals);
    if (rc)
        mesh_free(out);
    return rc;
}

int meshio_write_obj(const orf_mesh *m, const char *mtl_name, mio_buf *b, orf_err *e)
{
    (void)e;
    int textured = mtl_name && m->uv && m->texture.w > 0 && m->texture.rgba;
    mio_printf(b, "# written by orfeas: %u vertices, %u triangles\n", m->nverts, m->ntris);
    if (textured)
        mio_printf(b, "mtllib %s\n", mtl_name);
    for (uint32_t i = 0; i < m->nverts; i++) {
        const float *p = m->pos + 3 * (size_t)i;
        mio_printf(b, "v %.9g %.9g %.9g\n", p[0], p[1], p[2]);
    }
    if (m->uv)
        for (uint32_t i = 0; i < m->nverts; i++)
            mio_printf(b, "vt %.9g %.9g\n", m->uv[2 * (size_t)i], 1.0f - m->uv[2 * (size_t)i + 1]);
    if (m->nrm)
        for (uint32_t i = 0; i < m->nverts; i++) {
            const float *p = m->nrm + 3 * (size_t)i;
            mio_printf(b, "vn %.9g %.9g %.9g\n", p[0], p[1], p[2]);
        }
    if (textured)
        mio_printf(b, "usemtl %s\n", MIO_OBJ_MATERIAL);
    for (uint32_t t = 0; t < m->ntris; t++) {
        mio_put(b, "f", 1);
        for (int c = 0; c < 3; c++) {
            uint32_t i = m->idx[3 * (size_t)t + (size_t)c] + 1;
            if (m->uv && m->nrm)
                mio_printf(b, " %u/%u/%u", i, i, i);
            else if (m->uv)
                mio_printf(b, " %u/%u", i, i);
            else if (m->nrm)
                mio_printf(b, " %u//%u", i, i);
            else
                mio_printf(b, " %u", i);
        }
        mio_put(b, "\n", 1);
    }
    return 0;
}

int meshio_obj_material(const char *texture_name, uint8_t **data, size_t *n, orf_err *e)
{
    mio_buf b = {0};
    mio_printf(&b,
               "# written by orfeas\nnewmtl %s\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nd 1\nillum 1\n"
               "map_Kd %s\n",
               MIO_OBJ_MATERIAL, texture_name);
    return mio_finish(&b, data, n, e);
}

int meshio_obj_with_material(const uint8_t *obj, size_t n, const char *mtl_name, uint8_t **data,
                             size_t *len, orf_err *e)
{
    /* after the first line (the header comment): mtllib; before the first
     * face: usemtl, as meshio_write_obj places them */
    size_t first = 0;
    while (first < n && obj[first] != '\n')
        first++;
    if (first < n)
        first++;
    size_t face = first;
    while (face < n && !(obj[face] == 'f' && face + 1 < n && obj[face + 1] == ' ')) {
        while (face < n && obj[face] != '\n')
            face++;
        if (face < n)
            face++;
    }
    mio_buf b = {0};
    mio_put(&b, (const char *)obj, first);
    mio_printf(&b, "mtllib %s\n", mtl_name);
    mio_put(&b, (const char *)obj + first, face - first);
    mio_printf(&b, "usemtl %s\n", MIO_OBJ_MATERIAL);
    mio_put(&b, (const char *)obj + face, n - face);
    return mio_finish(&b, data, len, e);
}
