/* cuda_job.h - what every CUDA stage of kernels/ does the same way: a job
 * (its own stream, its device allocations counted against the test limit),
 * every CUDA call checked (CK, CK_LAUNCH: the first failure is returned and
 * named), job_end (free everything, wait, map the failure to "cuda_oom" or
 * "cuda_error"), and the launch shape (THREADS a block, blocks_for, the
 * grid-stride FOR_EACH). Included by the .cu files only; C++.
 */
#ifndef ORFEAS_CUDA_JOB_H
#define ORFEAS_CUDA_JOB_H

#include <cuda_runtime.h>

#include <atomic>
#include <chrono>
#include <stdint.h>
#include <string.h>

extern "C" {
#include "err.h"
}

#include "cuda_backend.h"

/* Device bytes all jobs of the process hold, and the test limit on them
 * (cuda_test_set_alloc_limit; 0: none). Defined in cuda_job.cu. */
extern std::atomic<uint64_t> cuda_alloc_limit, cuda_alloc_live;

#define JOB_MAX_ALLOC 16

struct job {
    cudaStream_t stream = nullptr;
    void *ptr[JOB_MAX_ALLOC] = {};
    size_t size[JOB_MAX_ALLOC] = {};
    uint64_t live = 0, peak = 0;
    const char *where = "";  /* the call that failed */
    uint64_t wanted = 0;     /* bytes of a failed allocation */
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
};

#define CK(call)                                                                                   \
    do {                                                                                           \
        cudaError_t ck_ = (call);                                                                  \
        if (ck_ != cudaSuccess) {                                                                  \
            J.where = #call;                                                                       \
            return ck_;                                                                            \
        }                                                                                          \
    } while (0)

/* after a kernel launch: launch errors now, execution errors at the next sync */
#define CK_LAUNCH(name)                                                                            \
    do {                                                                                           \
        cudaError_t ck_ = cudaGetLastError();                                                      \
        if (ck_ != cudaSuccess) {                                                                  \
            J.where = name;                                                                        \
            return ck_;                                                                            \
        }                                                                                          \
    } while (0)

template <typename T> static inline cudaError_t job_alloc(job &J, T **p, size_t count)
{
    size_t bytes = count * sizeof(T);
    if (bytes == 0)
        bytes = sizeof(T);
    *p = nullptr;
    int slot = -1;
    for (int i = 0; i < JOB_MAX_ALLOC && slot < 0; i++)
        if (!J.ptr[i])
            slot = i;
    if (slot < 0)
        return cudaErrorInvalidValue;
    uint64_t limit = cuda_alloc_limit.load();
    if (limit && cuda_alloc_live.load() + bytes > limit) {
        J.wanted = bytes;
        return cudaErrorMemoryAllocation;
    }
    void *q = nullptr;
    cudaError_t r = cudaMallocAsync(&q, bytes, J.stream);
    if (r != cudaSuccess) {
        J.wanted = bytes;
        return r;
    }
    J.ptr[slot] = q;
    J.size[slot] = bytes;
    J.live += bytes;
    cuda_alloc_live += bytes;
    if (J.live > J.peak)
        J.peak = J.live;
    *p = (T *)q;
    return cudaSuccess;
}

static inline cudaError_t job_free(job &J, void *p)
{
    if (!p)
        return cudaSuccess;
    for (int i = 0; i < JOB_MAX_ALLOC; i++)
        if (J.ptr[i] == p) {
            cudaError_t r = cudaFreeAsync(p, J.stream);
            J.ptr[i] = nullptr;
            J.live -= J.size[i];
            cuda_alloc_live -= J.size[i];
            return r;
        }
    return cudaErrorInvalidValue;
}

static inline cudaError_t job_start(job &J)
{
    cudaError_t r = cudaStreamCreateWithFlags(&J.stream, cudaStreamNonBlocking);
    if (r != cudaSuccess) {
        J.stream = nullptr;
        J.where = "cudaStreamCreateWithFlags";
    }
    return r;
}

/* Free everything the job holds, wait for its stream and map `r` (the first
 * failure, or cudaSuccess) to 0 or -1 with "cuda_oom" / "cuda_error". */
static inline int job_end(job &J, cudaError_t r, const char *what, cuda_job_stats *stats, orf_err *e)
{
    for (int i = 0; i < JOB_MAX_ALLOC; i++)
        if (J.ptr[i]) {
            cudaError_t f = job_free(J, J.ptr[i]);
            if (r == cudaSuccess && f != cudaSuccess) {
                r = f;
                J.where = "cudaFreeAsync";
            }
        }
    if (J.stream) {
        cudaError_t s = cudaStreamSynchronize(J.stream);
        if (r == cudaSuccess && s != cudaSuccess) {
            r = s;
            J.where = "cudaStreamSynchronize";
        }
        cudaStreamDestroy(J.stream);
        J.stream = nullptr;
    }
    if (stats) {
        stats->peak_bytes = J.peak;
        stats->ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - J.t0)
                        .count();
    }
    if (r == cudaSuccess)
        return 0;
    cudaGetLastError(); /* clear a non-sticky error so later jobs start clean */
    if (r == cudaErrorMemoryAllocation)
        return orf_fail(e, "cuda_oom",
                        "%s: CUDA out of memory (%s wanted %.1f MiB with %.1f MiB held by this job)",
                        what, J.where, (double)J.wanted / 1048576.0, (double)J.live / 1048576.0);
    return orf_fail(e, "cuda_error", "%s: %s failed: %s", what, J.where, cudaGetErrorString(r));
}

/* ---- launch shapes ---------------------------------------------------------- */

#define THREADS 256

static inline unsigned blocks_for(uint64_t n)
{
    uint64_t b = (n + THREADS - 1) / THREADS;
    if (b < 1)
        b = 1;
    if (b > (1u << 20))
        b = 1u << 20; /* kernels stride over the rest */
    return (unsigned)b;
}

#define FOR_EACH(p, n)                                                                             \
    for (uint64_t p = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; p < (n);                  \
         p += (uint64_t)gridDim.x * blockDim.x)

#endif
