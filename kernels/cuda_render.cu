/* cuda_render.cu - the software rasteriser's raster and resolve passes on
 * the GPU (see cuda_render.h for the contract, lib/hd/render_tri.h for the
 * arithmetic both backends share).
 *
 * Two kernels over the CPU's set-up:
 *   k_raster   one thread per bin entry (band b, triangle t), found by a
 *              binary search of the band offsets: the triangle set up for
 *              the band's rows exactly as the CPU sets it up for that band
 *              (the depth key is stepped from the band's first row, so the
 *              values are the CPU's), drawn with atomicMin on the sample
 *              keys. The minimum does not depend on the order the threads
 *              run in: the same winners as the CPU's in-order drawing.
 *   k_resolve  one thread per output pixel, after k_raster (same stream):
 *              rp_resolve_pixel reads only the finished keys and the scene.
 * The keys are the only memory two threads write; nothing is read back
 * before the stream is synchronised.
 */
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "err.h"
#include "field.h"
#include "mesh.h"
#include "volume.h"
}

#include "cuda_backend.h"
#include "cuda_job.h"
#include "cuda_render.h"
#include "hd/render_tri.h"

__global__ void k_raster(const rp_vtx *sv, const uint32_t *idx, const uint32_t *band_start,
                         const uint32_t *band_tris, uint32_t nbands, uint64_t total, int band_rows,
                         int sh, int sw, uint64_t *keys)
{
    FOR_EACH(k, total)
    {
        uint32_t b = rp_band_of(band_start, nbands, k);
        long long row0 = (long long)b * band_rows;
        long long row1 = row0 + band_rows < (long long)sh ? row0 + band_rows : (long long)sh;
        uint32_t t = band_tris[k];
        const uint32_t *ix = idx + 3 * (size_t)t;
        rp_tri T;
        if (rp_tri_setup(&sv[ix[0]], &sv[ix[1]], &sv[ix[2]], sw, row0, row1, &T))
            rp_tri_draw(&T, t, keys, (size_t)sw);
    }
}

__global__ void k_resolve(rp_scene S, int height, uint8_t *out)
{
    const uint64_t w = (uint64_t)S.width, npix = w * (uint64_t)height;
    FOR_EACH(p, npix)
    {
        int px = (int)(p % w), py = (int)(p / w);
        rp_resolve_pixel(&S, px, py, out + 4 * p);
    }
}

/* return the first failure as it is (upload names its own call in J.where) */
#define UP(call)                                                                                   \
    do {                                                                                           \
        cudaError_t up_ = (call);                                                                  \
        if (up_ != cudaSuccess)                                                                    \
            return up_;                                                                            \
    } while (0)

/* Device copy of n elements of host array h (nothing when h is NULL or n 0). */
template <typename T> static cudaError_t upload(job &J, T **d, const T *h, size_t n)
{
    *d = nullptr;
    if (!h || n == 0)
        return cudaSuccess;
    CK(job_alloc(J, d, n));
    CK(cudaMemcpyAsync(*d, h, n * sizeof(T), cudaMemcpyHostToDevice, J.stream));
    return cudaSuccess;
}

static cudaError_t render_run(job &J, const cuda_render_job *j, uint8_t *rgba)
{
    const rp_scene &H = j->scene;
    const size_t nsamp = (size_t)H.sw * (size_t)j->sh;
    const size_t npix = (size_t)H.width * (size_t)j->height;
    const uint64_t total = j->band_start[j->nbands];
    const size_t nv = j->nverts, nt = j->ntris;

    rp_scene D = H; /* the scalars; the pointers are replaced by device copies */
    uint64_t *d_keys = nullptr;
    uint8_t *d_out = nullptr;
    uint32_t *d_bstart = nullptr, *d_btris = nullptr;
    const size_t texels = H.tex ? (size_t)H.tex_w * (size_t)H.tex_h : 0;
    {
        uint32_t *idx;
        rp_vtx *sv;
        float *vn, *cn, *uv;
        uint8_t *col, *tex;
        UP(upload(J, &idx, H.idx, 3 * nt));
        UP(upload(J, &sv, H.sv, nv));
        UP(upload(J, &vn, H.vn, 3 * nv));
        UP(upload(J, &cn, H.cn, 9 * nt));
        UP(upload(J, &uv, H.uv, 2 * nv));
        UP(upload(J, &col, H.col, 4 * nv));
        UP(upload(J, &tex, H.tex, 4 * texels));
        D.idx = idx, D.sv = sv, D.vn = vn, D.cn = cn, D.uv = uv, D.col = col, D.tex = tex;
    }
    UP(upload(J, &d_bstart, j->band_start, (size_t)j->nbands + 1));
    UP(upload(J, &d_btris, j->band_tris, (size_t)total));
    CK(job_alloc(J, &d_keys, nsamp));
    CK(job_alloc(J, &d_out, 4 * npix));
    D.keys = d_keys;

    CK(cudaMemsetAsync(d_keys, 0xFF, nsamp * sizeof(uint64_t), J.stream)); /* RP_KEY_EMPTY */
    if (total > 0) {
        k_raster<<<blocks_for(total), THREADS, 0, J.stream>>>(D.sv, D.idx, d_bstart, d_btris,
                                                               (uint32_t)j->nbands, total, j->band_rows,
                                                               j->sh, H.sw, d_keys);
        CK_LAUNCH("k_raster");
    }
    k_resolve<<<blocks_for(npix), THREADS, 0, J.stream>>>(D, j->height, d_out);
    CK_LAUNCH("k_resolve");
    CK(cudaMemcpyAsync(rgba, d_out, 4 * npix, cudaMemcpyDeviceToHost, J.stream));
    CK(cudaStreamSynchronize(J.stream));
    return cudaSuccess;
}

extern "C" int cuda_render(const cuda_render_job *j, uint8_t *rgba, cuda_job_stats *stats, orf_err *e)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    const rp_scene &H = j->scene;
    if (H.ss < 1 || H.ss > RP_MAX_SAMPLES || H.width < 1 || j->height < 1 || H.sw != H.width * H.ss ||
        j->sh != j->height * H.ss || j->band_rows < 1 || j->nbands < 1 ||
        (long long)j->nbands * j->band_rows < j->sh || !j->band_start ||
        (j->band_start[j->nbands] > 0 && (!j->band_tris || !H.idx || !H.sv)) ||
        (j->nverts > 0 && !H.vn && !H.cn))
        return orf_fail(e, "bad_request", "rendering (CUDA): inconsistent job (%d x %d pixels, %d samples)",
                        H.width, j->height, H.ss);
    job J;
    cudaError_t r = job_start(J);
    if (r == cudaSuccess)
        r = render_run(J, j, rgba);
    int rc = job_end(J, r, "rendering (CUDA)", stats, e);
    if (rc != 0)
        memset(rgba, 0, 4 * (size_t)H.width * (size_t)j->height);
    return rc;
}
