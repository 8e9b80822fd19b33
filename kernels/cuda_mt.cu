/* cuda_mt.cu - marching tetrahedra on the GPU (cuda_mt_extract; the
 * contract is cuda_backend.h's).
 *
 * Marching tetrahedra over the active points only (hd/mt_active.h: a point
 * is active when one of its edges crosses the surface), mirroring mt.c so
 * the output is the CPU's, array for array:
 *   inside     in[p] = f[p] > 0, as mt.c (1 byte a grid point)
 *   compact    the active points counted (a reduction) and listed in
 *              ascending order (a stable selection): act[0..A)
 *   classify   per active point: its crossing-edge bits (mt_point_edges),
 *              vertex count, and its cell's triangle count
 *   scan       exclusive prefix sums of both counts, in place: vertex ids
 *              are numbered by (point index, edge dir) and triangles by (cell
 *              index, table order), exactly the CPU's slab-by-slab order
 *   vertices   per active point: positions (mt_edge_t)
 *   triangles  per active point's cell: corners from mt_tris through
 *              mt_edge_vertex, the neighbour points found in act
 *              (mt_active_find; shared vertex ids: welded, watertight)
 * Beside the volume, a job holds 1 byte a grid point and about 17 bytes an
 * active point (the list, bits, two counts), so its memory follows the
 * surface, not the volume (device.h's estimate).
 */
#include <cuda_runtime.h>

#include <cub/cub.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include <mutex>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/half_round.h"
#include "hd/mt_active.h"
#include "hd/mt_cell.h"

extern "C" {
#include "err.h"
#include "mesh.h"
#include "mt.h"
#include "volume.h"
}

#include "cuda_backend.h"
#include "cuda_job.h"
#include "cuda_scan.h"
#include "cuda_volume.h"

__device__ uint8_t d_tri_count[256];
__device__ uint8_t d_tris[256][36];

static std::mutex g_tables_lock;
static int g_tables_device = -1; /* the device the tables were copied to */

static cudaError_t tables_upload(job &J)
{
    int dev = 0;
    CK(cudaGetDevice(&dev));
    std::lock_guard<std::mutex> hold(g_tables_lock);
    if (g_tables_device == dev)
        return cudaSuccess;
    /* on the job's stream, waited for: the jobs' streams are non-blocking,
     * so they would not wait for a copy on the legacy stream, and a copy
     * from pageable memory may still be landing when the call returns */
    CK(cudaMemcpyToSymbolAsync(d_tri_count, mt_tri_count, sizeof mt_tri_count, 0, cudaMemcpyHostToDevice,
                               J.stream));
    CK(cudaMemcpyToSymbolAsync(d_tris, mt_tris, sizeof mt_tris, 0, cudaMemcpyHostToDevice, J.stream));
    CK(cudaStreamSynchronize(J.stream));
    g_tables_device = dev;
    return cudaSuccess;
}

struct grid {
    int nx, ny, nz;
    uint64_t slab, npts;
};

/* in[p] = f[p] > 0, the array mt_cell.h's functions read (as mt.c builds it) */
template <typename T> __global__ void k_inside(const T *f, uint64_t n, uint8_t *in)
{
    FOR_EACH(p, n)
    in[p] = vload(f, p) > 0.0f;
}

/* 1 for an active grid point (hd/mt_active.h), for the count and the selection */
struct active_point {
    const uint8_t *in;
    int nx, ny, nz;
    __host__ __device__ uint64_t operator()(const uint64_t &p) const
    {
        return mt_point_bits(in, nx, ny, nz, p) != 0;
    }
};

__global__ void k_classify(const uint8_t *in, grid g, const uint64_t *act, uint32_t nact, uint8_t *bits,
                           uint32_t *vcnt, uint32_t *tcnt)
{
    FOR_EACH(a, nact)
    {
        uint64_t p = act[a];
        unsigned b = mt_point_bits(in, g.nx, g.ny, g.nz, p);
        bits[a] = (uint8_t)b;
        vcnt[a] = (uint32_t)__popc(b);
        tcnt[a] = mt_active_tri_count(in, g.nx, g.ny, g.nz, g.slab, p, d_tri_count);
    }
}

template <typename T>
__global__ void k_vertices(const T *f, grid g, const uint64_t *act, uint32_t nact, const uint8_t *bits,
                           const uint32_t *vbase, float x0, float y0, float z0, float step, float *pos)
{
    FOR_EACH(a, nact)
    {
        unsigned b = bits[a];
        uint64_t p = act[a];
        int i, j, k;
        mt_point_ijk(p, g.nx, g.ny, &i, &j, &k);
        uint64_t id = vbase[a];
        float fp = vload(f, p);
        for (unsigned d = 1; d < 8; d++) {
            if (!(b & (1u << (d - 1))))
                continue;
            int di = (int)(d & 1), dj = (int)(d >> 1 & 1), dk = (int)(d >> 2 & 1);
            uint64_t q = p + (uint64_t)dk * g.slab + (uint64_t)dj * (uint64_t)g.nx + (uint64_t)di;
            float t = mt_edge_t(fp, vload(f, q));
            pos[3 * id + 0] = x0 + ((float)i + t * (float)di) * step;
            pos[3 * id + 1] = y0 + ((float)j + t * (float)dj) * step;
            pos[3 * id + 2] = z0 + ((float)k + t * (float)dk) * step;
            id++;
        }
    }
}

__global__ void k_triangles(const uint8_t *in, grid g, const uint64_t *act, uint32_t nact, const uint8_t *bits,
                            const uint32_t *vbase, const uint32_t *tbase, uint32_t *idx)
{
    FOR_EACH(a, nact)
    mt_active_triangles(in, g.nx, g.ny, g.nz, g.slab, act, nact, bits, vbase, tbase, (uint32_t)a, d_tri_count,
                        d_tris, idx);
}

/* cuda_volume.h says what it does */
template <typename T>
cudaError_t mt_run(job &J, const T *d_f, const orf_volume *v, orf_mesh *m, int *too_large,
                          uint64_t *nv_out)
{
    grid g;
    g.nx = v->nx;
    g.ny = v->ny;
    g.nz = v->nz;
    g.slab = (uint64_t)g.nx * (uint64_t)g.ny;
    g.npts = g.slab * (uint64_t)g.nz;
    CK(tables_upload(J));
    uint8_t *in = nullptr, *bits = nullptr, *temp = nullptr;
    uint64_t *act = nullptr, *d_nact = nullptr;
    uint32_t *vbase = nullptr, *tbase = nullptr, *d_idx = nullptr;
    float *d_pos = nullptr;
    CK(job_alloc(J, &in, g.npts));
    k_inside<T><<<blocks_for(g.npts), THREADS, 0, J.stream>>>(d_f, g.npts, in);
    CK_LAUNCH("k_inside");
    /* the active points: counted, then listed in order */
    active_point op = {in, g.nx, g.ny, g.nz};
    thrust::counting_iterator<uint64_t> points(0);
    auto flags = thrust::make_transform_iterator(points, op);
    size_t tb_count = 0, tb_select = 0;
    CK(job_alloc(J, &d_nact, 1));
    CK(cub::DeviceReduce::Sum(nullptr, tb_count, flags, d_nact, (int64_t)g.npts, J.stream));
    CK(cub::DeviceSelect::If(nullptr, tb_select, points, act, d_nact, (int64_t)g.npts, op, J.stream));
    const size_t tb_max = tb_count > tb_select ? tb_count : tb_select;
    CK(job_alloc(J, &temp, tb_max));
    {
        size_t tb = tb_max;
        CK(cub::DeviceReduce::Sum(temp, tb, flags, d_nact, (int64_t)g.npts, J.stream));
    }
    uint64_t A = 0;
    CK(cudaMemcpyAsync(&A, d_nact, sizeof A, cudaMemcpyDeviceToHost, J.stream));
    CK(cudaStreamSynchronize(J.stream));
    if (A > UINT32_MAX / 2) { /* at least one vertex an active point: too many */
        *nv_out = A;
        *too_large = 1;
        return cudaSuccess;
    }
    uint32_t nact = (uint32_t)A;
    CK(job_alloc(J, &act, (size_t)nact));
    if (nact) {
        size_t tb = tb_max;
        CK(cub::DeviceSelect::If(temp, tb, points, act, d_nact, (int64_t)g.npts, op, J.stream));
    }
    CK(job_free(J, temp));
    CK(job_alloc(J, &bits, (size_t)nact));
    CK(job_alloc(J, &vbase, (size_t)nact + 1));
    CK(job_alloc(J, &tbase, (size_t)nact + 1));
    unsigned nb = blocks_for(nact);
    k_classify<<<nb, THREADS, 0, J.stream>>>(in, g, act, nact, bits, vbase, tbase);
    CK_LAUNCH("k_classify");
    uint64_t NV = 0, NT = 0;
    CK(scan_exclusive(J, vbase, nact, &NV));
    CK(scan_exclusive(J, tbase, nact, &NT));
    *nv_out = NV;
    if (NV > UINT32_MAX - 1 || NT > UINT32_MAX / 3) {
        *too_large = 1;
        return cudaSuccess;
    }
    CK(job_alloc(J, &d_pos, (size_t)NV * 3));
    CK(job_alloc(J, &d_idx, (size_t)NT * 3));
    k_vertices<T><<<nb, THREADS, 0, J.stream>>>(d_f, g, act, nact, bits, vbase, v->x0, v->y0, v->z0, v->step,
                                               d_pos);
    CK_LAUNCH("k_vertices");
    k_triangles<<<nb, THREADS, 0, J.stream>>>(in, g, act, nact, bits, vbase, tbase, d_idx);
    CK_LAUNCH("k_triangles");
    /* the scratch goes before the host copy so the peak is the larger of the two phases */
    CK(job_free(J, in));
    CK(job_free(J, d_nact));
    CK(job_free(J, act));
    CK(job_free(J, bits));
    CK(job_free(J, vbase));
    CK(job_free(J, tbase));
    orf_err me;
    if (mesh_alloc(m, (uint32_t)NV, (uint32_t)NT, 0, &me) != 0) {
        *too_large = 2;
        return cudaSuccess;
    }
    if (NV)
        CK(cudaMemcpyAsync(m->pos, d_pos, (size_t)NV * 3 * sizeof(float), cudaMemcpyDeviceToHost,
                           J.stream));
    if (NT)
        CK(cudaMemcpyAsync(m->idx, d_idx, (size_t)NT * 3 * sizeof(uint32_t), cudaMemcpyDeviceToHost,
                           J.stream));
    CK(cudaStreamSynchronize(J.stream));
    return cudaSuccess;
}

template cudaError_t mt_run<float>(job &, const float *, const orf_volume *, orf_mesh *, int *,
                                   uint64_t *);
template cudaError_t mt_run<uint16_t>(job &, const uint16_t *, const orf_volume *, orf_mesh *,
                                      int *, uint64_t *);

int mt_finish(job &J, cudaError_t r, int too_large, uint64_t NV, orf_mesh *m,
                     cuda_job_stats *stats, orf_err *e)
{
    int rc = job_end(J, r, "marching tetrahedra (CUDA)", stats, e);
    if (rc != 0 || too_large)
        mesh_free(m); /* after job_end: its own frees and wait may fail too */
    if (rc == 0 && too_large == 1)
        return orf_fail(e, "too_large", "marching tetrahedra would make %llu vertices",
                        (unsigned long long)NV);
    if (rc == 0 && too_large == 2)
        return orf_fail(e, "too_large", "out of memory for the mesh of marching tetrahedra");
    return rc;
}

cudaError_t upload_volume(job &J, const orf_volume *v, int fp16, void **d_f)
{
    uint64_t n = (uint64_t)v->nx * (uint64_t)v->ny * (uint64_t)v->nz;
    if (!fp16) {
        float *d = nullptr;
        CK(job_alloc(J, &d, n));
        *d_f = d;
        CK(cudaMemcpyAsync(d, v->f, n * sizeof(float), cudaMemcpyHostToDevice, J.stream));
        return cudaSuccess;
    }
    uint16_t *h = (uint16_t *)malloc(n * sizeof(uint16_t));
    if (!h) {
        J.where = "malloc (host copy of the fp16 volume)";
        return cudaErrorMemoryAllocation;
    }
    for (uint64_t i = 0; i < n; i++)
        h[i] = half_from_float(v->f[i]);
    uint16_t *d = nullptr;
    cudaError_t r = job_alloc(J, &d, n);
    if (r == cudaSuccess)
        r = cudaMemcpyAsync(d, h, n * sizeof(uint16_t), cudaMemcpyHostToDevice, J.stream);
    if (r == cudaSuccess)
        r = cudaStreamSynchronize(J.stream); /* h is pageable and freed next */
    free(h);
    if (r != cudaSuccess) {
        J.where = "uploading the fp16 volume";
        return r;
    }
    *d_f = d;
    return cudaSuccess;
}

extern "C" int cuda_mt_extract(const orf_volume *v, int fp16, orf_mesh *m, cuda_job_stats *stats,
                               orf_err *e)
{
    memset(m, 0, sizeof *m);
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (v->nx < 2 || v->ny < 2 || v->nz < 2 || !v->f)
        return 0;
    job J;
    int too_large = 0;
    uint64_t NV = 0;
    void *d_f = nullptr;
    cudaError_t r = job_start(J);
    if (r == cudaSuccess)
        r = upload_volume(J, v, fp16, &d_f);
    if (r == cudaSuccess)
        r = fp16 ? mt_run(J, (const uint16_t *)d_f, v, m, &too_large, &NV)
                 : mt_run(J, (const float *)d_f, v, m, &too_large, &NV);
    return mt_finish(J, r, too_large, NV, m, stats, e);
}
