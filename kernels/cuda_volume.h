/* cuda_volume.h - a volume on the device, as the CUDA stages share it: its
 * storage, float or binary16 bits (vload, vstore); its upload from the host
 * (upload_volume); its extraction (mt_run, mt_finish), so cuda_sample.cu can
 * extract what it sampled without a copy. The last three live in
 * kernels/cuda_mt.cu. Included by the .cu files only; C++.
 */
#ifndef ORFEAS_CUDA_VOLUME_H
#define ORFEAS_CUDA_VOLUME_H

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "hd/half_round.h"
#include "cuda_job.h"

extern "C" {
#include "mesh.h"
#include "volume.h"
}

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

/* Copy the host volume v to the device as float or binary16 (fp16); *d_f is
 * the job's allocation. */
cudaError_t upload_volume(job &J, const orf_volume *v, int fp16, void **d_f);

/* Extract the mesh of the device volume d_f (nx*ny*nz values of T, laid out as
 * v says) into m; on "too many" sets *too_large (1: the count, 2: the host
 * mesh) and returns success with m untouched. Instantiated for float and
 * uint16_t (binary16) in kernels/cuda_mt.cu. */
template <typename T>
cudaError_t mt_run(job &J, const T *d_f, const orf_volume *v, orf_mesh *m, int *too_large,
                   uint64_t *nv_out);

/* End an extraction job: frees m on failure and names "too_large" as the CPU does. */
int mt_finish(job &J, cudaError_t r, int too_large, uint64_t NV, orf_mesh *m, cuda_job_stats *stats,
              orf_err *e);

#endif
