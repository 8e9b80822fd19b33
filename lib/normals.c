/* normals.c - smooth vertex normals, area-weighted over the triangles around each vertex (see normals.h). */
#include "normals.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

int mesh_compute_normals(orf_mesh *m, orf_err *e)
{
    if (m->nverts == 0)
        return 0;
    if (!m->nrm) {
        m->nrm = malloc((size_t)m->nverts * 3 * sizeof *m->nrm);
        if (!m->nrm)
            return orf_fail(e, "too_large", "out of memory for the normals of %u vertices",
                            m->nverts);
    }
    double *acc = orf_zalloc((size_t)m->nverts * 3, sizeof *acc);
    if (!acc)
        return orf_fail(e, "too_large", "out of memory for the normals of %u vertices", m->nverts);
    for (uint32_t t = 0; t < m->ntris; t++) {
        const uint32_t *v = m->idx + 3 * (size_t)t;
        const float *p0 = m->pos + 3 * (size_t)v[0], *p1 = m->pos + 3 * (size_t)v[1],
                    *p2 = m->pos + 3 * (size_t)v[2];
        double ux = p1[0] - p0[0], uy = p1[1] - p0[1], uz = p1[2] - p0[2];
        double wx = p2[0] - p0[0], wy = p2[1] - p0[1], wz = p2[2] - p0[2];
        double c[3] = {uy * wz - uz * wy, uz * wx - ux * wz, ux * wy - uy * wx};
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < 3; j++)
                acc[3 * (size_t)v[k] + j] += c[j];
    }
    for (uint32_t i = 0; i < m->nverts; i++) {
        double *a = acc + 3 * (size_t)i;
        double l = sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
        float *n = m->nrm + 3 * (size_t)i;
        if (l > 0.0 && isfinite(l)) {
            n[0] = (float)(a[0] / l);
            n[1] = (float)(a[1] / l);
            n[2] = (float)(a[2] / l);
        } else {
            n[0] = 0.0f;
            n[1] = 0.0f;
            n[2] = 1.0f;
        }
    }
    free(acc);
    return 0;
}
