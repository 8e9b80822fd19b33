/* cuda_smooth.cu - Taubin smoothing on the GPU (cuda_smooth_taubin): one
 * thread a vertex running hd/smooth_vertex.h's step, the CPU loop's own
 * definition, over the CPU's adjacency; the parameter rules and the
 * size-keeping pass (smooth_keep_size) are the CPU's host code.
 */
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/smooth_vertex.h"

extern "C" {
#include "err.h"
#include "mesh.h"
#include "smooth.h"
}

#include "cuda_backend.h"
#include "cuda_job.h"


/* one umbrella step a vertex: the step of hd/smooth_vertex.h, as smooth.c's loop */
__global__ void k_smooth(const float *in, float *out, const uint32_t *start, const uint32_t *count,
                         const uint32_t *nbr, uint32_t nv, float factor)
{
    FOR_EACH(v, nv)
    smooth_vertex_step(in, out, start, count, nbr, (uint32_t)v, factor);
}

/* The iterations on the device over the padded positions h (npad floats,
 * hd/smooth_vertex.h's layout), read back into h. */
static cudaError_t smooth_device(job &J, float *h, size_t npad, const smooth_adjacency *a, uint32_t nv,
                                 int iterations, float lambda, float mu)
{
    size_t nnbr = a->start[nv];
    float *d_pos = nullptr, *d_tmp = nullptr;
    uint32_t *d_start = nullptr, *d_count = nullptr, *d_nbr = nullptr;
    CK(job_alloc(J, &d_pos, npad));
    CK(job_alloc(J, &d_tmp, npad));
    CK(job_alloc(J, &d_start, (size_t)nv + 1));
    CK(job_alloc(J, &d_count, (size_t)nv));
    CK(job_alloc(J, &d_nbr, nnbr));
    CK(cudaMemcpyAsync(d_pos, h, npad * sizeof(float), cudaMemcpyHostToDevice, J.stream));
    CK(cudaMemcpyAsync(d_start, a->start, ((size_t)nv + 1) * sizeof(uint32_t), cudaMemcpyHostToDevice,
                       J.stream));
    CK(cudaMemcpyAsync(d_count, a->count, (size_t)nv * sizeof(uint32_t), cudaMemcpyHostToDevice,
                       J.stream));
    if (nnbr)
        CK(cudaMemcpyAsync(d_nbr, a->nbr, nnbr * sizeof(uint32_t), cudaMemcpyHostToDevice, J.stream));
    unsigned nb = blocks_for(nv);
    for (int it = 0; it < iterations; it++) {
        k_smooth<<<nb, THREADS, 0, J.stream>>>(d_pos, d_tmp, d_start, d_count, d_nbr, nv, lambda);
        CK_LAUNCH("k_smooth (lambda)");
        k_smooth<<<nb, THREADS, 0, J.stream>>>(d_tmp, d_pos, d_start, d_count, d_nbr, nv, mu);
        CK_LAUNCH("k_smooth (mu)");
    }
    CK(cudaMemcpyAsync(h, d_pos, npad * sizeof(float), cudaMemcpyDeviceToHost, J.stream));
    CK(cudaStreamSynchronize(J.stream));
    return cudaSuccess;
}

/* The iterations; m->pos is written only when everything succeeded. */
static cudaError_t smooth_run(job &J, orf_mesh *m, const smooth_adjacency *a, int iterations,
                              float lambda, float mu)
{
    uint32_t nv = m->nverts;
    size_t npad = (size_t)nv * SMOOTH_STRIDE;
    float *h = (float *)malloc(npad * sizeof(float));
    if (!h) {
        J.where = "malloc (padded positions)";
        return cudaErrorMemoryAllocation;
    }
    smooth_pad(m->pos, nv, h);
    cudaError_t r = smooth_device(J, h, npad, a, nv, iterations, lambda, mu);
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
    smooth_adjacency a;
    if (smooth_adjacency_build(m, &a, e) < 0)
        return -1;
    /* the input, for smooth_keep_size (host code, as on the CPU) */
    float *before = (float *)malloc((size_t)m->nverts * 3 * sizeof(float));
    if (!before) {
        smooth_adjacency_free(&a);
        return orf_fail(e, "too_large", "out of memory smoothing %u vertices", m->nverts);
    }
    memcpy(before, m->pos, (size_t)m->nverts * 3 * sizeof(float));
    job J;
    cudaError_t r = job_start(J);
    if (r == cudaSuccess)
        r = smooth_run(J, m, &a, iterations, lambda, mu);
    int rc = job_end(J, r, "Taubin smoothing (CUDA)", stats, e);
    if (rc == 0)
        rc = smooth_keep_size(m, before, &a, NULL, e);
    free(before);
    smooth_adjacency_free(&a);
    return rc;
}
