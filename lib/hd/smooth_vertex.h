/* hd/smooth_vertex.h - the per-vertex step of umbrella (uniform Laplacian)
 * smoothing, shared by the CPU loop in smooth.c and any GPU kernel.
 *
 * Plain C99 with no library calls, so a .cu file can include it as is
 * (define ORF_HD as `__host__ __device__ static inline`
 * before including it there).
 *
 * One step moves vertex v toward (factor > 0) or away from (factor < 0) the
 * mean of its neighbours:  out[v] = in[v] + factor * (mean(in[nbr]) - in[v]).
 * The neighbours of v are nbr[start[v] .. start[v] + count[v]); a vertex with
 * no neighbours (kept fixed) is copied. The sum runs in the stored order, so
 * the result does not depend on how many threads run the loop.
 */
#ifndef ORFEAS_HD_SMOOTH_VERTEX_H
#define ORFEAS_HD_SMOOTH_VERTEX_H

#include <stdint.h>

#include "hd/hd.h"

ORF_HD void smooth_vertex_step(const float *in, float *out, const uint32_t *start,
                                                 const uint32_t *count, const uint32_t *nbr,
                                                 uint32_t v, float factor)
{
    const float *p = in + 3 * (uint64_t)v;
    float *q = out + 3 * (uint64_t)v;
    uint32_t n = count[v];
    if (n == 0) {
        q[0] = p[0];
        q[1] = p[1];
        q[2] = p[2];
        return;
    }
    const uint32_t *nb = nbr + start[v];
    float sx = 0.0f, sy = 0.0f, sz = 0.0f;
    for (uint32_t i = 0; i < n; i++) {
        const float *r = in + 3 * (uint64_t)nb[i];
        sx += r[0];
        sy += r[1];
        sz += r[2];
    }
    float inv = 1.0f / (float)n;
    q[0] = p[0] + factor * (sx * inv - p[0]);
    q[1] = p[1] + factor * (sy * inv - p[1]);
    q[2] = p[2] + factor * (sz * inv - p[2]);
}

#endif
