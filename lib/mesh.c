/* mesh.c - the orf_mesh container: allocation, freeing, bounding box, triangle normals, validation (see mesh.h). */
#include "mesh.h"

#include "alloc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *alloc_array(size_t count, size_t each, int *failed)
{
    if (count == 0)
        return NULL;
    if (count > SIZE_MAX / each) {
        *failed = 1;
        return NULL;
    }
    void *p = orf_malloc_big(count, each);
    if (!p)
        *failed = 1;
    return p;
}

int mesh_alloc(orf_mesh *m, uint32_t nverts, uint32_t ntris, int attrs, orf_err *e)
{
    int failed = 0;
    memset(m, 0, sizeof *m);
    m->pos = alloc_array((size_t)nverts * 3, sizeof(float), &failed);
    m->idx = alloc_array((size_t)ntris * 3, sizeof(uint32_t), &failed);
    if (attrs & MESH_NORMALS)
        m->nrm = alloc_array((size_t)nverts * 3, sizeof(float), &failed);
    if (attrs & MESH_UVS)
        m->uv = alloc_array((size_t)nverts * 2, sizeof(float), &failed);
    if (attrs & MESH_COLORS)
        m->col = alloc_array((size_t)nverts * 4, 1, &failed);
    if (failed) {
        mesh_free(m);
        return orf_fail(e, "too_large", "out of memory for a mesh of %u vertices and %u triangles",
                        nverts, ntris);
    }
    m->nverts = nverts;
    m->ntris = ntris;
    return 0;
}

void mesh_free(orf_mesh *m)
{
    if (!m)
        return;
    free(m->pos);
    free(m->idx);
    free(m->nrm);
    free(m->uv);
    free(m->col);
    image_free(&m->texture);
    memset(m, 0, sizeof *m);
}

void mesh_bbox(const orf_mesh *m, float lo[3], float hi[3])
{
    for (int k = 0; k < 3; k++)
        lo[k] = hi[k] = 0.0f;
    for (uint32_t i = 0; i < m->nverts; i++)
        for (int k = 0; k < 3; k++) {
            float v = m->pos[3 * i + k];
            if (i == 0 || v < lo[k])
                lo[k] = v;
            if (i == 0 || v > hi[k])
                hi[k] = v;
        }
}

int mesh_validate(const orf_mesh *m, const char *name, orf_err *e)
{
    for (size_t i = 0; i < (size_t)m->nverts * 3; i++)
        if (!isfinite(m->pos[i]))
            return orf_fail(e, "bad_mesh", "%s: vertex %zu has a coordinate that is not finite", name,
                            i / 3);
    for (size_t i = 0; i < (size_t)m->ntris * 3; i++)
        if (m->idx[i] >= m->nverts)
            return orf_fail(e, "bad_mesh", "%s: triangle %zu uses vertex %u but there are only %u",
                            name, i / 3, m->idx[i], m->nverts);
    return 0;
}

void mesh_triangle_cross(const orf_mesh *m, uint32_t t, double w[3])
{
    const float *a = m->pos + 3 * (size_t)m->idx[3 * (size_t)t];
    const float *b = m->pos + 3 * (size_t)m->idx[3 * (size_t)t + 1];
    const float *c = m->pos + 3 * (size_t)m->idx[3 * (size_t)t + 2];
    double u[3], v[3];
    for (int k = 0; k < 3; k++) {
        u[k] = (double)b[k] - a[k];
        v[k] = (double)c[k] - a[k];
    }
    w[0] = u[1] * v[2] - u[2] * v[1];
    w[1] = u[2] * v[0] - u[0] * v[2];
    w[2] = u[0] * v[1] - u[1] * v[0];
}
