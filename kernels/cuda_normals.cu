/* cuda_normals.cu - area-weighted vertex normals on the GPU
 * (cuda_mesh_normals): each vertex's corners in ascending order (a stable
 * radix sort of the corners by vertex, as the decimation's lists), then one
 * thread a vertex gathering them with hd/normal_vertex.h, the steps the CPU
 * loop in lib/normals.c scatters. The same terms in the same order, so the
 * same bits (see normal_vertex.h).
 */
#include <cuda_runtime.h>

#include <cub/cub.cuh>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/normal_vertex.h"

extern "C" {
#include "err.h"
#include "mesh.h"
#include "normals.h"
}

#include "cuda_backend.h"
#include "cuda_job.h"

static __global__ void k_nrm_count(const uint32_t *idx, uint64_t n3, uint32_t *cnt)
{
    FOR_EACH(c, n3)
    atomicAdd(&cnt[idx[c]], 1u);
}

static __global__ void k_nrm_iota(uint32_t *a, uint64_t n)
{
    FOR_EACH(i, n)
    a[i] = (uint32_t)i;
}

static __global__ void k_nrm_vertex(const float *pos, const uint32_t *idx, const uint32_t *start,
                                    const uint32_t *corner, uint32_t nv, float *nrm)
{
    FOR_EACH(v, nv)
    normal_vertex_gather(pos, idx, corner + start[v], start[v + 1] - start[v], nrm + 3 * v);
}

#define NRM_LAUNCH(kernel, n, ...)                                                                 \
    do {                                                                                           \
        kernel<<<blocks_for(n), THREADS, 0, J.stream>>>(__VA_ARGS__);                            \
        CK_LAUNCH(#kernel);                                                                        \
    } while (0)

static cudaError_t normals_run(job &J, const orf_mesh *m, float *out)
{
    uint32_t nv = m->nverts;
    uint64_t n3 = 3 * (uint64_t)m->ntris;
    float *d_pos = nullptr, *d_nrm = nullptr;
    uint32_t *d_idx = nullptr, *d_key = nullptr, *d_val = nullptr, *d_corner = nullptr,
             *d_start = nullptr;
    CK(job_alloc(J, &d_pos, 3 * (size_t)nv));
    CK(job_alloc(J, &d_idx, n3));
    CK(job_alloc(J, &d_start, (size_t)nv + 1));
    CK(cudaMemcpyAsync(d_pos, m->pos, 3 * (size_t)nv * sizeof(float), cudaMemcpyHostToDevice, J.stream));
    if (n3)
        CK(cudaMemcpyAsync(d_idx, m->idx, n3 * sizeof(uint32_t), cudaMemcpyHostToDevice, J.stream));
    /* the corners of each vertex: counted, scanned into starts, and sorted
     * by vertex (stable: ascending corners within a vertex) */
    CK(cudaMemsetAsync(d_start, 0, ((size_t)nv + 1) * sizeof(uint32_t), J.stream));
    NRM_LAUNCH(k_nrm_count, n3, d_idx, n3, d_start);
    int end_bit = 1;
    while (end_bit < 32 && ((uint64_t)1 << end_bit) < (uint64_t)nv)
        end_bit++;
    size_t tb_scan = 0, tb_sort = 0;
    CK(cub::DeviceScan::ExclusiveSum(nullptr, tb_scan, d_start, d_start, (int64_t)nv + 1, J.stream));
    CK(cub::DeviceRadixSort::SortPairs(nullptr, tb_sort, d_idx, d_key, d_val, d_corner,
                                       (int64_t)(n3 ? n3 : 1), 0, end_bit, J.stream));
    size_t tb = tb_scan > tb_sort ? tb_scan : tb_sort;
    uint8_t *temp = nullptr;
    CK(job_alloc(J, &temp, tb));
    {
        size_t b = tb;
        CK(cub::DeviceScan::ExclusiveSum(temp, b, d_start, d_start, (int64_t)nv + 1, J.stream));
    }
    CK(job_alloc(J, &d_corner, n3));
    if (n3) {
        CK(job_alloc(J, &d_key, n3));
        CK(job_alloc(J, &d_val, n3));
        NRM_LAUNCH(k_nrm_iota, n3, d_val, n3);
        size_t b = tb;
        CK(cub::DeviceRadixSort::SortPairs(temp, b, d_idx, d_key, d_val, d_corner, (int64_t)n3, 0,
                                           end_bit, J.stream));
        CK(job_free(J, d_key));
        CK(job_free(J, d_val));
    }
    CK(job_free(J, temp));
    CK(job_alloc(J, &d_nrm, 3 * (size_t)nv));
    NRM_LAUNCH(k_nrm_vertex, nv, d_pos, d_idx, d_start, d_corner, nv, d_nrm);
    CK(cudaMemcpyAsync(out, d_nrm, 3 * (size_t)nv * sizeof(float), cudaMemcpyDeviceToHost, J.stream));
    CK(cudaStreamSynchronize(J.stream));
    return cudaSuccess;
}

extern "C" int cuda_mesh_normals(orf_mesh *m, cuda_job_stats *stats, orf_err *e)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (m->nverts == 0)
        return 0;
    if ((uint64_t)m->ntris * 3 > UINT32_MAX)
        return orf_fail(e, "too_large", "normals take fewer than %u triangles", UINT32_MAX / 3);
    int had = m->nrm != NULL;
    float *out = (float *)malloc(3 * (size_t)m->nverts * sizeof(float));
    if (!out || mesh_normals_alloc(m, e) != 0) {
        free(out);
        return orf_fail(e, "too_large", "out of memory for the normals of %u vertices", m->nverts);
    }
    job J;
    cudaError_t r = job_start(J);
    if (r == cudaSuccess)
        r = normals_run(J, m, out);
    int rc = job_end(J, r, "vertex normals (CUDA)", stats, e);
    if (rc == 0) {
        memcpy(m->nrm, out, 3 * (size_t)m->nverts * sizeof(float));
    } else if (!had) {
        free(m->nrm); /* no half-made normals: the mesh is as it came */
        m->nrm = NULL;
    }
    free(out);
    return rc;
}
