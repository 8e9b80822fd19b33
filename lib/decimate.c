#include "decimate.h"

#include <meshoptimizer.h>
#include <stdlib.h>
#include <string.h>

void decimate_defaults(decimate_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_triangles = DECIMATE_MAX_TRIANGLES;
}

static int check_indices(const orf_mesh *m, orf_err *e)
{
    for (size_t i = 0; i < (size_t)m->ntris * 3; i++)
        if (m->idx[i] >= m->nverts)
            return orf_fail(e, "bad_mesh", "triangle %zu uses vertex %u but there are only %u",
                            i / 3, m->idx[i], m->nverts);
    return 0;
}

/* Order `idx` (n indices into m's vertices) for the cache and fetch, and make
 * it m's index buffer with the vertices compacted. Takes ownership of idx. */
static int reorder_into(orf_mesh *m, unsigned *idx, size_t n, orf_err *e)
{
    unsigned *cache = malloc((n ? n : 1) * sizeof *cache);
    unsigned *remap = malloc(((size_t)m->nverts + 1) * sizeof *remap);
    if (!cache || !remap) {
        free(cache);
        free(remap);
        free(idx);
        return orf_fail(e, "too_large", "out of memory reordering %u vertices", m->nverts);
    }
    meshopt_optimizeVertexCache(cache, idx, n, m->nverts);
    free(idx);
    size_t unique = meshopt_optimizeVertexFetchRemap(remap, cache, n, m->nverts);
    /* Allocate everything first so that a failure leaves m untouched. */
    size_t u = unique ? unique : 1;
    float *pos = malloc(u * 3 * sizeof *pos);
    float *nrm = m->nrm ? malloc(u * 3 * sizeof *nrm) : NULL;
    float *uv = m->uv ? malloc(u * 2 * sizeof *uv) : NULL;
    uint8_t *col = m->col ? malloc(u * 4) : NULL;
    if (!pos || (m->nrm && !nrm) || (m->uv && !uv) || (m->col && !col)) {
        free(pos);
        free(nrm);
        free(uv);
        free(col);
        free(cache);
        free(remap);
        return orf_fail(e, "too_large", "out of memory reordering %u vertices", m->nverts);
    }
    meshopt_remapIndexBuffer(cache, cache, n, remap);
    meshopt_remapVertexBuffer(pos, m->pos, m->nverts, 3 * sizeof(float), remap);
    if (nrm)
        meshopt_remapVertexBuffer(nrm, m->nrm, m->nverts, 3 * sizeof(float), remap);
    if (uv)
        meshopt_remapVertexBuffer(uv, m->uv, m->nverts, 2 * sizeof(float), remap);
    if (col)
        meshopt_remapVertexBuffer(col, m->col, m->nverts, 4, remap);
    free(remap);
    free(m->pos);
    free(m->idx);
    free(m->nrm);
    free(m->uv);
    free(m->col);
    m->pos = pos;
    m->nrm = nrm;
    m->uv = uv;
    m->col = col;
    m->idx = cache;
    m->nverts = (uint32_t)unique;
    m->ntris = (uint32_t)(n / 3);
    return 0;
}

int mesh_optimize_order(orf_mesh *m, orf_err *e)
{
    if (check_indices(m, e) < 0)
        return -1;
    size_t n = (size_t)m->ntris * 3;
    unsigned *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return orf_fail(e, "too_large", "out of memory for %u triangles", m->ntris);
    memcpy(idx, m->idx, n * sizeof *idx);
    return reorder_into(m, idx, n, e);
}

int mesh_decimate(orf_mesh *m, const decimate_opts *o, decimate_report *r, orf_err *e)
{
    decimate_report rep;
    memset(&rep, 0, sizeof rep);
    if (o->max_triangles == 0 && !(o->max_error > 0.0f))
        return orf_fail(e, "bad_request", "decimation needs a triangle target or an error bound");
    if (check_indices(m, e) < 0)
        return -1;
    rep.vertices_before = m->nverts;
    rep.triangles_before = m->ntris;
    size_t n = (size_t)m->ntris * 3;
    unsigned *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return orf_fail(e, "too_large", "out of memory for %u triangles", m->ntris);
    float scale = m->nverts ? meshopt_simplifyScale(m->pos, m->nverts, 3 * sizeof(float)) : 0.0f;
    int need = o->max_error > 0.0f || m->ntris > o->max_triangles;
    if (need && m->ntris > 0 && scale > 0.0f) {
        size_t target = (size_t)o->max_triangles * 3;
        /* Relative to the mesh extent; 1.0 is the whole extent (no bound). */
        float rel = o->max_error > 0.0f ? o->max_error / scale : 1.0f;
        float got = 0.0f;
        unsigned opts = o->lock_border ? meshopt_SimplifyLockBorder : 0;
        n = meshopt_simplify(idx, m->idx, n, m->pos, m->nverts, 3 * sizeof(float), target, rel,
                             opts, &got);
        rep.error = got * scale;
    } else {
        memcpy(idx, m->idx, n * sizeof *idx);
    }
    if (reorder_into(m, idx, n, e) < 0)
        return -1;
    rep.vertices_after = m->nverts;
    rep.triangles_after = m->ntris;
    rep.target_met = o->max_triangles == 0 || m->ntris <= o->max_triangles;
    if (r)
        *r = rep;
    return 0;
}
