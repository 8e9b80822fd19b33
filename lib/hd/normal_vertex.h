/* hd/normal_vertex.h - area-weighted vertex normals, per element: the one
 * definition lib/normals.c's loop and the CUDA kernel in kernels/cuda_normals.cu
 * both call, so the two compute the same bits.
 *
 * A triangle's weight is its unnormalised cross product (twice its area
 * along its normal), computed in double from float coordinate differences.
 * A vertex's normal is the sum of the weights of its corners, in the order
 * of the corners (corner 3t+k is corner k of triangle t), scaled to unit
 * length; a vertex whose sum is zero (or not finite) gets (0, 0, 1).
 *
 * The CPU adds each triangle's weight to its three vertices in triangle
 * order (a scatter); the GPU gathers, one thread a vertex, over the vertex's
 * corners sorted by corner index. Each vertex then sums the same terms in
 * the same order (a triangle with a repeated vertex adds its weight once a
 * corner in both), so both give the same doubles and the same floats
 * (test_normals checks the gather against the scatter; test_cuda_parity the
 * GPU against the CPU; kernels are built with --fmad=false).
 */
#ifndef ORFEAS_HD_NORMAL_VERTEX_H
#define ORFEAS_HD_NORMAL_VERTEX_H

#include <math.h>
#include <stdint.h>

#include "hd/hd.h"

/* the weight of triangle t: (p1 - p0) x (p2 - p0) */
ORF_HD void normal_face_weight(const float *pos, const uint32_t *idx, uint32_t t, double c[3])
{
    const uint32_t *v = idx + 3 * (uint64_t)t;
    const float *p0 = pos + 3 * (uint64_t)v[0], *p1 = pos + 3 * (uint64_t)v[1],
                *p2 = pos + 3 * (uint64_t)v[2];
    double ux = p1[0] - p0[0], uy = p1[1] - p0[1], uz = p1[2] - p0[2];
    double wx = p2[0] - p0[0], wy = p2[1] - p0[1], wz = p2[2] - p0[2];
    c[0] = uy * wz - uz * wy;
    c[1] = uz * wx - ux * wz;
    c[2] = ux * wy - uy * wx;
}

/* the unit normal of a summed weight a, into n */
ORF_HD void normal_finish(const double a[3], float n[3])
{
    double l = sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
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

/* The normal of one vertex from its corners corner[0..n), ascending. */
ORF_HD void normal_vertex_gather(const float *pos, const uint32_t *idx, const uint32_t *corner,
                                 uint32_t n, float out[3])
{
    double a[3] = {0.0, 0.0, 0.0};
    for (uint32_t i = 0; i < n; i++) {
        double c[3];
        normal_face_weight(pos, idx, corner[i] / 3u, c);
        a[0] += c[0];
        a[1] += c[1];
        a[2] += c[2];
    }
    normal_finish(a, out);
}

#endif
