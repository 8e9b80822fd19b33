/* normals.c - smooth vertex normals, area-weighted over the triangles around
 * each vertex (see normals.h): each triangle's weight added to its three
 * vertices in triangle order, the per-element steps of hd/normal_vertex.h. */
#include "normals.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hd/normal_vertex.h"

int mesh_normals_alloc(orf_mesh *m, orf_err *e)
{
    if (m->nrm || m->nverts == 0)
        return 0;
    m->nrm = malloc((size_t)m->nverts * 3 * sizeof *m->nrm);
    if (!m->nrm)
        return orf_fail(e, "too_large", "out of memory for the normals of %u vertices", m->nverts);
    return 0;
}

int mesh_compute_normals(orf_mesh *m, orf_err *e)
{
    if (m->nverts == 0)
        return 0;
    if (mesh_normals_alloc(m, e) != 0)
        return -1;
    double *acc = orf_zalloc((size_t)m->nverts * 3, sizeof *acc);
    if (!acc)
        return orf_fail(e, "too_large", "out of memory for the normals of %u vertices", m->nverts);
    for (uint32_t t = 0; t < m->ntris; t++) {
        const uint32_t *v = m->idx + 3 * (size_t)t;
        double c[3];
        normal_face_weight(m->pos, m->idx, t, c);
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < 3; j++)
                acc[3 * (size_t)v[k] + j] += c[j];
    }
    for (uint32_t i = 0; i < m->nverts; i++)
        normal_finish(acc + 3 * (size_t)i, m->nrm + 3 * (size_t)i);
    free(acc);
    return 0;
}
