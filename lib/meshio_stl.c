/* meshio_stl.c - STL, binary and ASCII, told apart by content.
 *
 * A file is binary when 84 + 50 * count == its size (count: the uint32 at
 * byte 80), whatever its first bytes say: many binary writers start the
 * header with "solid". Otherwise, text that starts with "solid" is ASCII.
 * Triangles come out unindexed and are welded by exact position.
 */
#include "meshio_internal.h"
#include "topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int meshio_stl_is_binary(const uint8_t *d, size_t n)
{
    if (n < 84)
        return 0;
    uint64_t count = mio_u32le(d + 80);
    return 84 + 50 * count == (uint64_t)n;
}

static int looks_like_text(const uint8_t *d, size_t n)
{
    size_t lim = n < 1024 ? n : 1024;
    for (size_t i = 0; i < lim; i++)
        if (d[i] == 0 || (d[i] < 32 && d[i] != '\n' && d[i] != '\r' && d[i] != '\t' && d[i] != '\f'))
            return 0;
    return 1;
}

static int finish_stl(orf_mesh *m, const char *name, orf_err *e)
{
    if (mio_reader_finish(m, name, e))
        return -1;
    if (mesh_weld(m, 0.0f, e)) {
        mesh_free(m);
        return -1;
    }
    return 0;
}

static int read_binary(const uint8_t *d, size_t n, const char *name, uint32_t max_tris, orf_mesh *m,
                       orf_err *e)
{
    (void)n;
    uint32_t count = mio_u32le(d + 80);
    if (max_tris && count > max_tris)
        return orf_fail(e, "too_large", "%s: binary STL has %u triangles, more than the limit of %u", name,
                        count, max_tris);
    if (count > UINT32_MAX / 3)
        return orf_fail(e, "too_large", "%s: binary STL has too many triangles (%u)", name, count);
    if (mesh_alloc(m, count * 3, count, 0, e))
        return orf_fail(e, "too_large", "%s: out of memory for %u triangles", name, count);
    for (uint32_t t = 0; t < count; t++) {
        const uint8_t *f = d + 84 + 50 * (size_t)t + 12;
        for (int k = 0; k < 9; k++)
            m->pos[9 * (size_t)t + (size_t)k] = mio_f32le(f + 4 * k);
        for (uint32_t k = 0; k < 3; k++)
            m->idx[3 * (size_t)t + k] = 3 * t + k;
    }
    return finish_stl(m, name, e);
}

/* The next whitespace-separated token: [*tok, *tok + *len), or 0 at the end. */
static int next_token(const uint8_t *d, size_t n, size_t *at, const char **tok, size_t *len, size_t *line)
{
    size_t i = *at;
    while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n' || d[i] == '\f')) {
        if (d[i] == '\n')
            (*line)++;
        i++;
    }
    if (i >= n) {
        *at = i;
        return 0;
    }
    size_t s = i;
    while (i < n && !(d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n' || d[i] == '\f'))
        i++;
    *tok = (const char *)d + s;
    *len = i - s;
    *at = i;
    return 1;
}

static int tok_is(const char *t, size_t len, const char *w)
{
    return len == strlen(w) && !strncasecmp(t, w, len);
}

static int read_ascii(const uint8_t *d, size_t n, const char *name, uint32_t max_tris, orf_mesh *m,
                      orf_err *e)
{
    mio_fvec pos = {0};
    size_t at = 0, line = 1, len = 0, in_facet = 0;
    const char *tok = NULL;
    int rc = -1;
    size_t facet_start = 0, ntris = 0;
    if (!next_token(d, n, &at, &tok, &len, &line) || !tok_is(tok, len, "solid")) {
        orf_fail(e, "bad_mesh", "%s: not an STL file (no \"solid\" and not binary STL's size)", name);
        goto out;
    }
    while (next_token(d, n, &at, &tok, &len, &line)) {
        if (tok_is(tok, len, "facet")) {
            if (in_facet) {
                orf_fail(e, "bad_mesh", "%s: line %zu: facet inside a facet", name, line);
                goto out;
            }
            in_facet = 1;
            facet_start = pos.n;
        } else if (tok_is(tok, len, "endfacet")) {
            if (!in_facet || pos.n - facet_start != 9) {
                orf_fail(e, "bad_mesh", "%s: line %zu: a facet needs exactly 3 vertices", name, line);
                goto out;
            }
            in_facet = 0;
            ntris++;
            if (max_tris && ntris > max_tris) {
                orf_fail(e, "too_large", "%s: STL has more than the limit of %u triangles", name, max_tris);
                goto out;
            }
        } else if (tok_is(tok, len, "vertex")) {
            if (!in_facet) {
                orf_fail(e, "bad_mesh", "%s: line %zu: vertex outside a facet", name, line);
                goto out;
            }
            for (int k = 0; k < 3; k++) {
                char buf[64];
                char *end;
                size_t vline = line;
                if (!next_token(d, n, &at, &tok, &len, &line) || len >= sizeof buf || line != vline) {
                    orf_fail(e, "bad_mesh", "%s: line %zu: vertex needs 3 coordinates", name, vline);
                    goto out;
                }
                memcpy(buf, tok, len);
                buf[len] = 0;
                float v = strtof(buf, &end);
                if (end != buf + len) {
                    orf_fail(e, "bad_mesh", "%s: line %zu: \"%s\" is not a number", name, line, buf);
                    goto out;
                }
                if (mio_fvec_push(&pos, v)) {
                    orf_fail(e, "too_large", "%s: out of memory", name);
                    goto out;
                }
            }
        }
        /* normal, outer, loop, endloop, endsolid, solid names: skipped */
    }
    if (in_facet) {
        orf_fail(e, "bad_mesh", "%s: file ends inside a facet (truncated?)", name);
        goto out;
    }
    if (ntris == 0) {
        orf_fail(e, "bad_mesh", "%s: ASCII STL without any facet", name);
        goto out;
    }
    if (ntris > UINT32_MAX / 3) {
        orf_fail(e, "too_large", "%s: too many triangles", name);
        goto out;
    }
    if (mesh_alloc(m, (uint32_t)ntris * 3, (uint32_t)ntris, 0, e)) {
        orf_fail(e, "too_large", "%s: out of memory for %zu triangles", name, ntris);
        goto out;
    }
    memcpy(m->pos, pos.p, pos.n * sizeof(float));
    for (uint32_t i = 0; i < 3 * (uint32_t)ntris; i++)
        m->idx[i] = i;
    rc = finish_stl(m, name, e);
out:
    free(pos.p);
    return rc;
}

int meshio_read_stl(const uint8_t *d, size_t n, const char *name, uint32_t max_tris, orf_mesh *out,
                    orf_err *e)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return orf_fail(e, "bad_mesh", "%s: empty file", name);
    if (meshio_stl_is_binary(d, n))
        return read_binary(d, n, name, max_tris, out, e);
    if (!looks_like_text(d, n)) {
        if (n < 84)
            return orf_fail(e, "bad_mesh", "%s: binary STL of %zu bytes is shorter than its 84-byte header",
                            name, n);
        uint32_t count = mio_u32le(d + 80);
        return orf_fail(e, "bad_mesh",
                        "%s: binary STL declares %u triangles (%llu bytes) but the file has %zu bytes", name,
                        count, 84ULL + 50ULL * count, n);
    }
    return read_ascii(d, n, name, max_tris, out, e);
}

int meshio_write_stl(const orf_mesh *m, mio_buf *b, orf_err *e)
{
    (void)e;
    char header[80];
    memset(header, 0, sizeof header);
    snprintf(header, sizeof header, "binary STL written by orfeas");
    mio_put(b, header, 80);
    mio_put_u32le(b, m->ntris);
    for (uint32_t t = 0; t < m->ntris; t++) {
        float nrm[3];
        mio_face_normal(m, t, nrm);
        for (int k = 0; k < 3; k++)
            mio_put_f32le(b, nrm[k]);
        for (int c = 0; c < 3; c++) {
            const float *p = m->pos + 3 * (size_t)m->idx[3 * (size_t)t + (size_t)c];
            for (int k = 0; k < 3; k++)
                mio_put_f32le(b, p[k]);
        }
        mio_put_u16le(b, 0);
    }
    return 0;
}
