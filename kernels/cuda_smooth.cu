/* cuda_smooth.cu - Taubin smoothing on the GPU (cuda_smooth_taubin): the
 * one-ring adjacency built on the device with hd/smooth_ring.h (counts,
 * a scan, placement by atomic cursors, a sort per vertex: the same
 * adjacency as smooth_adjacency_build whatever order the atomics take),
 * then one thread a vertex running hd/smooth_vertex.h's step, the CPU
 * loop's own definition; the positions and the vertex kinds come back once
 * for the size-keeping pass (smooth_keep_size), which is the CPU's host code,
 * as are the parameter rules.
 */
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/smooth_ring.h"
#include "hd/smooth_vertex.h"

extern "C" {
#include "err.h"
#include "mesh.h"
#include "smooth.h"
}

#include "cuda_backend.h"
#include "cuda_job.h"
#include "cuda_scan.h"


/* adjacency, step 1: two slots a used triangle's corner (hd/smooth_ring.h) */
static __global__ void k_ring_count(const uint32_t *idx, uint32_t nt, uint32_t *cnt)
{
    FOR_EACH(t, nt)
    {
        const uint32_t *c = idx + 3 * t;
        if (smooth_tri_used(c))
            for (int k = 0; k < 3; k++)
                atomicAdd(&cnt[c[k]], 2u);
    }
}

/* step 2: each corner's neighbours into its vertex's slots, at a position
 * from the vertex's cursor */
static __global__ void k_ring_place(const uint32_t *idx, uint32_t nt, const uint32_t *start,
                                    uint32_t *cursor, uint32_t *nbr)
{
    FOR_EACH(t, nt)
    {
        const uint32_t *c = idx + 3 * t;
        if (smooth_tri_used(c))
            for (int k = 0; k < 3; k++)
                smooth_ring_place(c, k, atomicAdd(&cursor[c[k]], 1u), start, nbr);
    }
}

/* step 3: each vertex sorts its slots and keeps its ring */
static __global__ void k_ring_vertex(const uint32_t *start, uint32_t *count, uint32_t *nbr, uint8_t *kind,
                                     uint32_t nv)
{
    FOR_EACH(v, nv)
    smooth_ring_vertex(start, count, nbr, kind, (uint32_t)v);
}

/* one umbrella step a vertex: the step of hd/smooth_vertex.h, as smooth.c's loop */
__global__ void k_smooth(const float *in, float *out, const uint32_t *start, const uint32_t *count,
                         const uint32_t *nbr, uint32_t nv, float factor)
{
    FOR_EACH(v, nv)
    smooth_vertex_step(in, out, start, count, nbr, (uint32_t)v, factor);
}

/* The adjacency on the device, then the iterations over the padded
 * positions h (npad floats, hd/smooth_vertex.h's layout), read back into h;
 * the vertex kinds into kind (nv bytes). */
static cudaError_t smooth_device(job &J, float *h, size_t npad, const orf_mesh *m, uint8_t *kind,
                                 int iterations, float lambda, float mu)
{
    uint32_t nv = m->nverts, nt = m->ntris;
    float *d_pos = nullptr, *d_tmp = nullptr;
    uint32_t *d_idx = nullptr, *d_start = nullptr, *d_count = nullptr, *d_nbr = nullptr;
    uint8_t *d_kind = nullptr;
    CK(job_alloc(J, &d_pos, npad));
    CK(job_alloc(J, &d_tmp, npad));
    CK(job_alloc(J, &d_idx, 3 * (size_t)nt));
    CK(job_alloc(J, &d_start, (size_t)nv + 1));
    CK(job_alloc(J, &d_count, (size_t)nv + 1));
    CK(job_alloc(J, &d_kind, (size_t)nv));
    CK(cudaMemcpyAsync(d_pos, h, npad * sizeof(float), cudaMemcpyHostToDevice, J.stream));
    CK(cudaMemcpyAsync(d_idx, m->idx, 3 * (size_t)nt * sizeof(uint32_t), cudaMemcpyHostToDevice, J.stream));
    CK(cudaMemsetAsync(d_start, 0, ((size_t)nv + 1) * sizeof(uint32_t), J.stream));
    CK(cudaMemsetAsync(d_count, 0, ((size_t)nv + 1) * sizeof(uint32_t), J.stream));
    unsigned tb = blocks_for(nt), vb = blocks_for(nv);
    k_ring_count<<<tb, THREADS, 0, J.stream>>>(d_idx, nt, d_start);
    CK_LAUNCH("k_ring_count");
    uint64_t nnbr = 0;
    CK(scan_exclusive(J, d_start, (uint64_t)nv + 1, &nnbr));
    CK(job_alloc(J, &d_nbr, nnbr));
    k_ring_place<<<tb, THREADS, 0, J.stream>>>(d_idx, nt, d_start, d_count, d_nbr);
    CK_LAUNCH("k_ring_place");
    CK(job_free(J, d_idx));
    k_ring_vertex<<<vb, THREADS, 0, J.stream>>>(d_start, d_count, d_nbr, d_kind, nv);
    CK_LAUNCH("k_ring_vertex");
    for (int it = 0; it < iterations; it++) {
        k_smooth<<<vb, THREADS, 0, J.stream>>>(d_pos, d_tmp, d_start, d_count, d_nbr, nv, lambda);
        CK_LAUNCH("k_smooth (lambda)");
        k_smooth<<<vb, THREADS, 0, J.stream>>>(d_tmp, d_pos, d_start, d_count, d_nbr, nv, mu);
        CK_LAUNCH("k_smooth (mu)");
    }
    CK(cudaMemcpyAsync(h, d_pos, npad * sizeof(float), cudaMemcpyDeviceToHost, J.stream));
    CK(cudaMemcpyAsync(kind, d_kind, nv, cudaMemcpyDeviceToHost, J.stream));
    CK(cudaStreamSynchronize(J.stream));
    return cudaSuccess;
}

/* The iterations; m->pos is written only when everything succeeded. */
static cudaError_t smooth_run(job &J, orf_mesh *m, uint8_t *kind, int iterations, float lambda, float mu)
{
    uint32_t nv = m->nverts;
    size_t npad = (size_t)nv * SMOOTH_STRIDE;
    float *h = (float *)malloc(npad * sizeof(float));
    if (!h) {
        J.where = "malloc (padded positions)";
        return cudaErrorMemoryAllocation;
    }
    smooth_pad(m->pos, nv, h);
    cudaError_t r = smooth_device(J, h, npad, m, kind, iterations, lambda, mu);
    if (r == cudaSuccess)
        smooth_unpad(h, nv, m->pos);
    free(h);
    return r;
}

extern "C" int cuda_smooth_taubin(orf_mesh *m, int iterations, float lambda, float mu,
                                  cuda_job_stats *stats, orf_err *e)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    /* the CPU's parameter rules and messages: it checks them and returns for 0 iterations */
    if (mesh_smooth_taubin(m, iterations < 0 ? iterations : 0, lambda, mu, e) != 0)
        return -1;
    if (iterations == 0 || m->nverts == 0 || m->ntris == 0)
        return 0;
    if ((uint64_t)m->ntris * 6 > UINT32_MAX)
        return orf_fail(e, "too_large", "smoothing takes fewer than %u triangles", UINT32_MAX / 6);
    /* the input, for smooth_keep_size (host code, as on the CPU), which
     * reads the adjacency's vertex kinds only */
    float *before = (float *)malloc((size_t)m->nverts * 3 * sizeof(float));
    smooth_adjacency a;
    memset(&a, 0, sizeof a);
    a.nverts = m->nverts;
    a.kind = (uint8_t *)malloc((size_t)m->nverts + 1);
    if (!before || !a.kind) {
        free(before);
        free(a.kind);
        return orf_fail(e, "too_large", "out of memory smoothing %u vertices", m->nverts);
    }
    memcpy(before, m->pos, (size_t)m->nverts * 3 * sizeof(float));
    job J;
    cudaError_t r = job_start(J);
    if (r == cudaSuccess)
        r = smooth_run(J, m, a.kind, iterations, lambda, mu);
    int rc = job_end(J, r, "Taubin smoothing (CUDA)", stats, e);
    if (rc == 0)
        rc = smooth_keep_size(m, before, &a, NULL, e);
    else
        memcpy(m->pos, before, (size_t)m->nverts * 3 * sizeof(float));
    free(before);
    free(a.kind);
    return rc;
}
