/* cuda_backend.cu - volume sampling, marching tetrahedra and Taubin smoothing
 * on the GPU (see cuda_backend.h for the contract).
 *
 * Marching tetrahedra in five passes over the grid points, mirroring mc.c so
 * the output is the CPU's, array for array:
 *   inside     in[p] = f[p] > 0, as mc.c
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
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/half_round.h"
#include "hd/mt_cell.h"
#include "hd/smooth_vertex.h"
#include "hd/volume_point.h"

extern "C" {
#include "err.h"
#include "mt.h"
#include "mesh.h"
#include "smooth.h"
#include "volume.h"
}

#include "cuda_backend.h"
#include "cuda_job.h"

/* ---- jobs: allocations, errors (cuda_job.h) ------------------------------ */

std::atomic<uint64_t> cuda_alloc_limit(0), cuda_alloc_live(0);

extern "C" void cuda_test_set_alloc_limit(uint64_t bytes)
{
    cuda_alloc_limit.store(bytes);
}

extern "C" uint64_t cuda_live_bytes(void)
{
    return cuda_alloc_live.load();
}

/* ---- volume storage: float or binary16 bits --------------------------------- */

__device__ __forceinline__ float vload(const float *f, uint64_t i)
{
    return __ldg(f + i);
}

__device__ __forceinline__ float vload(const uint16_t *f, uint64_t i)
{
    return __half2float(__ushort_as_half(__ldg((const unsigned short *)f + i)));
}

__device__ __forceinline__ void vstore(float *f, uint64_t i, float x)
{
    f[i] = x;
}

__device__ __forceinline__ void vstore(uint16_t *f, uint64_t i, float x)
{
    f[i] = half_from_float(x);
}

/* ---- volume sampling: one thread per column (i, j), all k ------------------- */

template <typename T>
__global__ void k_sample(volume_field_view view, int nx, int ny, int nz, float x0, float y0,
                         float z0, float step, T *out)
{
    uint64_t cols = (uint64_t)nx * (uint64_t)ny, slab = cols;
    FOR_EACH(c, cols)
    {
        int i = (int)(c % (uint64_t)nx), j = (int)(c / (uint64_t)nx);
        volume_column col;
        volume_column_at(&view, x0 + (float)i * step, y0 + (float)j * step, &col);
        for (int k = 0; k < nz; k++) {
            float z = z0 + (float)k * step;
            vstore(out, (uint64_t)k * slab + c, volume_point_value(&view, &col, z));
        }
    }
}

/* ---- marching tetrahedra ------------------------------------------------------ */

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

/* in[p] = f[p] > 0, the array mt_cell.h's functions read (as mc.c builds it) */
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

/* ---- exclusive scan of uint32 counts, in place, total in 64 bits ------------
 * Tiles of SCAN_TILE elements: (1) each block sums its tile, (2) one block
 * scans the tile sums (64-bit), (3) each block scans its tile and adds its
 * offset. Offsets are written as uint32; the caller checks the 64-bit total
 * before using them. */

#define SCAN_ITEMS 16
#define SCAN_TILE (THREADS * SCAN_ITEMS)

__device__ __forceinline__ uint64_t block_exclusive_u64(uint64_t x, uint64_t *total)
{
    __shared__ uint64_t warp_sum[THREADS / 32];
    unsigned lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    uint64_t inc = x;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        uint64_t y = __shfl_up_sync(0xffffffffu, inc, o);
        if ((int)lane >= o)
            inc += y;
    }
    if (lane == 31)
        warp_sum[w] = inc;
    __syncthreads();
    if (w == 0) {
        uint64_t s = lane < THREADS / 32 ? warp_sum[lane] : 0, si = s;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            uint64_t y = __shfl_up_sync(0xffffffffu, si, o);
            if ((int)lane >= o)
                si += y;
        }
        if (lane < THREADS / 32)
            warp_sum[lane] = si - s; /* exclusive over warps */
        if (lane == THREADS / 32 - 1)
            *total = si;
    }
    __syncthreads();
    uint64_t r = warp_sum[w] + inc - x;
    __syncthreads(); /* warp_sum is reused by the next call */
    return r;
}

__global__ void k_scan_reduce(const uint32_t *a, uint64_t n, uint64_t *tile_sum)
{
    __shared__ uint64_t total;
    uint64_t base = (uint64_t)blockIdx.x * SCAN_TILE, s = 0;
    for (int q = 0; q < SCAN_ITEMS; q++) {
        uint64_t i = base + (uint64_t)q * THREADS + threadIdx.x; /* coalesced */
        if (i < n)
            s += a[i];
    }
    block_exclusive_u64(s, &total);
    if (threadIdx.x == 0)
        tile_sum[blockIdx.x] = total;
}

/* one block: exclusive scan of the tile sums in place; grand total at [ntiles] */
__global__ void k_scan_tiles(uint64_t *tile_sum, uint64_t ntiles)
{
    __shared__ uint64_t total;
    uint64_t carry = 0;
    for (uint64_t b = 0; b < ntiles; b += THREADS) {
        uint64_t i = b + threadIdx.x;
        uint64_t x = i < ntiles ? tile_sum[i] : 0;
        uint64_t ex = block_exclusive_u64(x, &total);
        if (i < ntiles)
            tile_sum[i] = carry + ex;
        carry += total;
        __syncthreads();
    }
    if (threadIdx.x == 0)
        tile_sum[ntiles] = carry;
}

__global__ void k_scan_apply(uint32_t *a, uint64_t n, const uint64_t *tile_sum)
{
    __shared__ uint32_t tile[SCAN_TILE];
    __shared__ uint64_t total;
    uint64_t base = (uint64_t)blockIdx.x * SCAN_TILE;
    for (int q = 0; q < SCAN_ITEMS; q++) {
        uint64_t i = base + (uint64_t)q * THREADS + threadIdx.x;
        tile[q * THREADS + threadIdx.x] = i < n ? a[i] : 0;
    }
    __syncthreads();
    uint64_t s = 0;
    for (int q = 0; q < SCAN_ITEMS; q++)
        s += tile[threadIdx.x * SCAN_ITEMS + q];
    uint64_t run = tile_sum[blockIdx.x] + block_exclusive_u64(s, &total);
    for (int q = 0; q < SCAN_ITEMS; q++) {
        uint32_t x = tile[threadIdx.x * SCAN_ITEMS + q];
        tile[threadIdx.x * SCAN_ITEMS + q] = (uint32_t)run;
        run += x;
    }
    __syncthreads();
    for (int q = 0; q < SCAN_ITEMS; q++) {
        uint64_t i = base + (uint64_t)q * THREADS + threadIdx.x;
        if (i < n)
            a[i] = tile[q * THREADS + threadIdx.x];
    }
}

static cudaError_t scan_exclusive(job &J, uint32_t *a, uint64_t n, uint64_t *total)
{
    uint64_t ntiles = (n + SCAN_TILE - 1) / SCAN_TILE;
    if (ntiles == 0)
        ntiles = 1;
    uint64_t *sums = nullptr;
    CK(job_alloc(J, &sums, ntiles + 1));
    k_scan_reduce<<<(unsigned)ntiles, THREADS, 0, J.stream>>>(a, n, sums);
    CK_LAUNCH("k_scan_reduce");
    k_scan_tiles<<<1, THREADS, 0, J.stream>>>(sums, ntiles);
    CK_LAUNCH("k_scan_tiles");
    k_scan_apply<<<(unsigned)ntiles, THREADS, 0, J.stream>>>(a, n, sums);
    CK_LAUNCH("k_scan_apply");
    CK(cudaMemcpyAsync(total, sums + ntiles, sizeof *total, cudaMemcpyDeviceToHost, J.stream));
    CK(cudaStreamSynchronize(J.stream));
    CK(job_free(J, sums));
    return cudaSuccess;
}

/* Extract the mesh of the device volume d_f (nx*ny*nz values of T). On
 * "too many" sets *too_large and returns success with m untouched. */
template <typename T>
static cudaError_t mt_run(job &J, const T *d_f, const orf_volume *v, orf_mesh *m, int *too_large,
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

static int mt_finish(job &J, cudaError_t r, int too_large, uint64_t NV, orf_mesh *m,
                     cuda_job_stats *stats, orf_err *e)
{
    if (r != cudaSuccess || too_large)
        mesh_free(m);
    int rc = job_end(J, r, "marching cubes (CUDA)", stats, e);
    if (rc == 0 && too_large == 1)
        return orf_fail(e, "too_large", "marching cubes would make %llu vertices",
                        (unsigned long long)NV);
    if (rc == 0 && too_large == 2)
        return orf_fail(e, "too_large", "out of memory for the mesh of marching cubes");
    return rc;
}

static cudaError_t upload_volume(job &J, const orf_volume *v, int fp16, void **d_f)
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

/* ---- sampling ------------------------------------------------------------------ */

template <typename T>
static cudaError_t sample_run(job &J, const orf_field *fld, const orf_volume *v, T **d_out)
{
    size_t cells = (size_t)fld->w * (size_t)fld->h;
    volume_field_view view;
    if (volume_view_make(fld, &view) != 0) {
        J.where = "malloc (the field's view)";
        return cudaErrorMemoryAllocation;
    }
    /* the arrays the view's shape reads: sd, top, bot for a slab, sd and q for a dome */
    const float *host[3] = {view.sd, view.top, view.bot};
    int arrays = 3;
    if (view.shape != VOLUME_SLAB) {
        host[1] = view.q;
        arrays = 2;
    }
    float *d_in[3] = {nullptr, nullptr, nullptr};
    T *d_f = nullptr;
    cudaError_t r = cudaSuccess;
    for (int a = 0; a < arrays && r == cudaSuccess; a++) {
        r = job_alloc(J, &d_in[a], cells);
        /* from pageable memory: returns once the array is staged, so the
         * view may be freed below */
        if (r == cudaSuccess)
            r = cudaMemcpyAsync(d_in[a], host[a], cells * sizeof(float), cudaMemcpyHostToDevice,
                                J.stream);
        if (r != cudaSuccess)
            J.where = "copying the field to the device";
    }
    volume_field_view dv = view;
    volume_view_free(&view);
    if (r != cudaSuccess)
        return r;
    CK(job_alloc(J, &d_f, (size_t)v->nx * (size_t)v->ny * (size_t)v->nz));
    dv.own = nullptr;
    dv.sd = d_in[0];
    if (dv.shape == VOLUME_SLAB) {
        dv.top = d_in[1];
        dv.bot = d_in[2];
        dv.q = nullptr;
    } else {
        dv.top = dv.bot = nullptr;
        dv.q = d_in[1];
    }
    k_sample<T><<<blocks_for((uint64_t)v->nx * (uint64_t)v->ny), THREADS, 0, J.stream>>>(
        dv, v->nx, v->ny, v->nz, v->x0, v->y0, v->z0, v->step, d_f);
    CK_LAUNCH("k_sample");
    for (int a = 0; a < arrays; a++)
        CK(job_free(J, d_in[a]));
    *d_out = d_f;
    return cudaSuccess;
}

template <typename T> static cudaError_t sample_to_host(job &J, const orf_field *fld, orf_volume *v)
{
    T *d = nullptr;
    CK(sample_run(J, fld, v, &d));
    uint64_t np = (uint64_t)v->nx * (uint64_t)v->ny * (uint64_t)v->nz;
    if (sizeof(T) == sizeof(float)) {
        CK(cudaMemcpyAsync(v->f, d, np * sizeof(float), cudaMemcpyDeviceToHost, J.stream));
        CK(cudaStreamSynchronize(J.stream));
        return cudaSuccess;
    }
    uint16_t *h = (uint16_t *)malloc(np * sizeof *h);
    if (!h) {
        J.where = "malloc (host copy of the fp16 volume)";
        return cudaErrorMemoryAllocation;
    }
    cudaError_t r = cudaMemcpyAsync(h, d, np * sizeof *h, cudaMemcpyDeviceToHost, J.stream);
    if (r == cudaSuccess)
        r = cudaStreamSynchronize(J.stream);
    if (r == cudaSuccess)
        for (uint64_t i = 0; i < np; i++)
            v->f[i] = half_to_float(h[i]);
    else
        J.where = "copying the fp16 volume to the host";
    free(h);
    return r;
}

extern "C" int cuda_volume_sample(const orf_field *fld, int n, int fp16, orf_volume *v,
                                  cuda_job_stats *stats, orf_err *e)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    memset(v, 0, sizeof *v);
    if (volume_layout(fld, n, v, e) != 0)
        return -1;
    uint64_t np = (uint64_t)v->nx * (uint64_t)v->ny * (uint64_t)v->nz;
    v->f = (float *)malloc(np * sizeof(float));
    if (!v->f) {
        memset(v, 0, sizeof *v);
        return orf_fail(e, "too_large", "out of memory for a volume of %llu points",
                        (unsigned long long)np);
    }
    job J;
    cudaError_t r = job_start(J);
    if (r == cudaSuccess)
        r = fp16 ? sample_to_host<uint16_t>(J, fld, v) : sample_to_host<float>(J, fld, v);
    if (r != cudaSuccess)
        volume_free(v);
    return job_end(J, r, "volume sampling (CUDA)", stats, e);
}

extern "C" int cuda_field_extract(const orf_field *fld, int n, int fp16, orf_mesh *m,
                                  cuda_job_stats *stats, orf_err *e)
{
    memset(m, 0, sizeof *m);
    if (stats)
        memset(stats, 0, sizeof *stats);
    orf_volume v;
    if (volume_layout(fld, n, &v, e) != 0)
        return -1;
    job J;
    int too_large = 0;
    uint64_t NV = 0;
    cudaError_t r = job_start(J);
    if (r == cudaSuccess && !fp16) {
        float *d = nullptr;
        r = sample_run(J, fld, &v, &d);
        if (r == cudaSuccess)
            r = mt_run(J, (const float *)d, &v, m, &too_large, &NV);
    } else if (r == cudaSuccess) {
        uint16_t *d = nullptr;
        r = sample_run(J, fld, &v, &d);
        if (r == cudaSuccess)
            r = mt_run(J, (const uint16_t *)d, &v, m, &too_large, &NV);
    }
    return mt_finish(J, r, too_large, NV, m, stats, e);
}

/* ---- Taubin smoothing ------------------------------------------------------------ */

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
