/* cuda_scan.cu - exclusive scan of uint32 counts, in place, total in 64 bits.
 * Tiles of SCAN_TILE elements: (1) each block sums its tile, (2) one block
 * scans the tile sums (64-bit), (3) each block scans its tile and adds its
 * offset. Offsets are written as uint32; the caller checks the 64-bit total
 * before using them. */
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_job.h"
#include "cuda_scan.h"

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

cudaError_t scan_exclusive(job &J, uint32_t *a, uint64_t n, uint64_t *total)
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
