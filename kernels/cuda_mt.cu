/* cuda_mt.cu - marching tetrahedra on the GPU (cuda_mt_extract; the
 * contract is cuda_backend.h's).
 *
 * Marching tetrahedra in five passes over the grid points, mirroring mt.c so
 * the output is the CPU's, array for array:
 *   inside     in[p] = f[p] > 0, as mt.c
 *   classify   per point p: its crossing-edge bits (mt_point_edges) and
 *              vertex count, and for the cell whose lowest corner it is, the
 *              triangle count (mt_cell_index, mt_tri_count)
 *   scan       exclusive prefix sums of both counts, in place: vertex ids are
 *              numbered by (point index, edge dir) and triangles by (cell
 *              index, table order), exactly the CPU's slab-by-slab order
 *   vertices   per point with crossing edges: positions (mt_edge_t)
 *   triangles  per cell with triangles: corners from mt_tris through
 *              mt_edge_vertex (shared vertex ids: welded, watertight)
 * Cells with no triangles and points with no crossings exit after reading
 * one word, so the last two passes only work where the surface is.
 */
#include <cuda_runtime.h>

#include <mutex>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/half_round.h"
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
    CK(cudaMemcpyToSymbol(d_tri_count, mt_tri_count, sizeof mt_tri_count));
    CK(cudaMemcpyToSymbol(d_tris, mt_tris, sizeof mt_tris));
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

__global__ void k_classify(const uint8_t *in, grid g, uint8_t *bits, uint32_t *vcnt, uint32_t *tcnt)
{
    long sy = g.nx, sz = (long)g.slab;
    FOR_EACH(p, g.npts)
    {
        int i = (int)(p % (uint64_t)g.nx);
        uint64_t r = p / (uint64_t)g.nx;
        int j = (int)(r % (uint64_t)g.ny), k = (int)(r / (uint64_t)g.ny);
        unsigned b = mt_point_edges(in, g.nx, g.ny, g.nz, i, j, k, (long)p), nt = 0;
        if (i + 1 < g.nx && j + 1 < g.ny && k + 1 < g.nz)
            nt = d_tri_count[mt_cell_index(in, (long)p, sy, sz)];
        bits[p] = (uint8_t)b;
        vcnt[p] = (uint32_t)__popc(b);
        tcnt[p] = nt;
    }
}

template <typename T>
__global__ void k_vertices(const T *f, grid g, const uint8_t *bits, const uint32_t *vbase, float x0,
                           float y0, float z0, float step, float *pos)
{
    FOR_EACH(p, g.npts)
    {
        unsigned b = bits[p];
        if (!b)
            continue;
        int i = (int)(p % (uint64_t)g.nx);
        uint64_t r = p / (uint64_t)g.nx;
        int j = (int)(r % (uint64_t)g.ny), k = (int)(r / (uint64_t)g.ny);
        uint64_t id = vbase[p];
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

__global__ void k_triangles(const uint8_t *in, grid g, const uint8_t *bits, const uint32_t *vbase,
                            const uint32_t *tbase, uint32_t *idx)
{
    FOR_EACH(p, g.npts)
    {
        if (p + 1 >= g.npts || tbase[p + 1] == tbase[p])
            continue; /* no triangles (the last point has no cell) */
        unsigned ci = mt_cell_index(in, (long)p, (long)g.nx, (long)g.slab);
        unsigned nt = d_tri_count[ci];
        uint64_t t = tbase[p];
        for (unsigned a = 0; a < 3 * nt; a++) {
            unsigned code = d_tris[ci][a];
            unsigned lo = code >> 3, dir = code & 7;
            uint64_t q = p + (uint64_t)(lo >> 2 & 1) * g.slab + (uint64_t)(lo >> 1 & 1) * (uint64_t)g.nx +
                         (uint64_t)(lo & 1);
            idx[3 * t + a] = mt_edge_vertex(vbase[q], bits[q], dir);
        }
    }
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
    uint8_t *in = nullptr, *bits = nullptr;
    uint32_t *vbase = nullptr, *tbase = nullptr, *d_idx = nullptr;
    float *d_pos = nullptr;
    CK(job_alloc(J, &in, g.npts));
    CK(job_alloc(J, &bits, g.npts));
    CK(job_alloc(J, &vbase, g.npts));
    CK(job_alloc(J, &tbase, g.npts));
    unsigned nb = blocks_for(g.npts);
    k_inside<T><<<nb, THREADS, 0, J.stream>>>(d_f, g.npts, in);
    CK_LAUNCH("k_inside");
    k_classify<<<nb, THREADS, 0, J.stream>>>(in, g, bits, vbase, tbase);
    CK_LAUNCH("k_classify");
    uint64_t NV = 0, NT = 0;
    CK(scan_exclusive(J, vbase, g.npts, &NV));
    CK(scan_exclusive(J, tbase, g.npts, &NT));
    *nv_out = NV;
    if (NV > UINT32_MAX - 1 || NT > UINT32_MAX / 3) {
        *too_large = 1;
        return cudaSuccess;
    }
    CK(job_alloc(J, &d_pos, (size_t)NV * 3));
    CK(job_alloc(J, &d_idx, (size_t)NT * 3));
    k_vertices<T><<<nb, THREADS, 0, J.stream>>>(d_f, g, bits, vbase, v->x0, v->y0, v->z0, v->step,
                                               d_pos);
    CK_LAUNCH("k_vertices");
    k_triangles<<<nb, THREADS, 0, J.stream>>>(in, g, bits, vbase, tbase, d_idx);
    CK_LAUNCH("k_triangles");
    /* the scratch goes before the host copy so the peak is the larger of the two phases */
    CK(job_free(J, in));
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
    if (r != cudaSuccess || too_large)
        mesh_free(m);
    int rc = job_end(J, r, "marching tetrahedra (CUDA)", stats, e);
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
