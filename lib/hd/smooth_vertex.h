/* hd/smooth_vertex.h - the per-vertex step of umbrella (uniform Laplacian)
 * smoothing: the one definition the CPU loop in smooth.c and the CUDA
 * kernel in kernels/cuda_smooth.cu both call, so the two compute the same
 * bits (test_smooth compares the CPU loop with this function called vertex
 * by vertex; test_cuda_parity compares the CPU with the GPU).
 *
 * Positions are SMOOTH_STRIDE = 4 floats a vertex: x, y, z and a pad lane
 * that is 0 and stays 0. The pad costs a third more memory and buys one
 * 16-byte load a neighbour: the C compiler turns the four-lane loops below
 * into SSE arithmetic, and a GPU thread reads a vertex in one transaction.
 * Each lane is plain float arithmetic in a fixed order (no lane reads
 * another), so vectorised or not, on the CPU or the GPU (kernels are built
 * with --fmad=false), every lane rounds the same way.
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

#define SMOOTH_STRIDE 4

/* in and out never overlap (the passes ping-pong between two buffers) */
#ifdef __CUDACC__
#define SMOOTH_RESTRICT __restrict__
#else
#define SMOOTH_RESTRICT restrict
#endif

ORF_HD void smooth_vertex_step(const float *SMOOTH_RESTRICT in, float *SMOOTH_RESTRICT out,
                               const uint32_t *start,
                               const uint32_t *count, const uint32_t *nbr, uint32_t v,
                               float factor)
{
    const float *SMOOTH_RESTRICT p = in + SMOOTH_STRIDE * (uint64_t)v;
    float *SMOOTH_RESTRICT q = out + SMOOTH_STRIDE * (uint64_t)v;
    uint32_t n = count[v];
    if (n == 0) {
        for (int c = 0; c < SMOOTH_STRIDE; c++)
            q[c] = p[c];
        return;
    }
    const uint32_t *nb = nbr + start[v];
    float s[SMOOTH_STRIDE] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (uint32_t i = 0; i < n; i++) {
        const float *r = in + SMOOTH_STRIDE * (uint64_t)nb[i];
        for (int c = 0; c < SMOOTH_STRIDE; c++)
            s[c] += r[c];
    }
    float inv = 1.0f / (float)n;
    for (int c = 0; c < SMOOTH_STRIDE; c++)
        q[c] = p[c] + factor * (s[c] * inv - p[c]);
}

#endif
