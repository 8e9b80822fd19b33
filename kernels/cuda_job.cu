/* cuda_job.cu - the device bytes every job of the process holds, and the
 * test limit on them (cuda_job.h's counters; cuda_test_set_alloc_limit and
 * cuda_live_bytes of cuda_backend.h), and the device's free memory
 * (cuda_mem_free) for admission.
 */
#include <atomic>
#include <stdint.h>

#include "cuda_job.h"

std::atomic<uint64_t> cuda_alloc_limit(0), cuda_alloc_live(0);

extern "C" void cuda_test_set_alloc_limit(uint64_t bytes)
{
    cuda_alloc_limit.store(bytes);
}

extern "C" uint64_t cuda_live_bytes(void)
{
    return cuda_alloc_live.load();
}

extern "C" int cuda_mem_free(uint64_t *free_bytes)
{
    size_t f = 0, t = 0;
    if (cudaMemGetInfo(&f, &t) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    *free_bytes = f;
    return 0;
}
