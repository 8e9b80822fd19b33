/* cuda_sample.cu - the volume sampled from a field on the GPU, one thread a
 * column through hd/volume_point.h (the CPU's definition): cuda_volume_sample
 * to the host, and cuda_field_extract, sampled and extracted on the device
 * without a copy between (marching tetrahedra: kernels/cuda_mt.cu).
 */
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/half_round.h"
#include "hd/volume_point.h"

extern "C" {
#include "err.h"
#include "mesh.h"
#include "volume.h"
}

#include "cuda_backend.h"
#include "cuda_job.h"
#include "cuda_volume.h"

/* one thread per column (i, j), all k */

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
    int rc = job_end(J, r, "volume sampling (CUDA)", stats, e);
    if (rc != 0)
        volume_free(v); /* after job_end: its own frees and wait may fail too */
    return rc;
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
