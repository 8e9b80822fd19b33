/* cuda_scan.h - exclusive prefix sum of uint32 counts on the device, in
 * place, with the 64-bit total (kernels/cuda_scan.cu). C++, .cu files only.
 */
#ifndef ORFEAS_CUDA_SCAN_H
#define ORFEAS_CUDA_SCAN_H

#include <stdint.h>

#include "cuda_job.h"

/* a[0..n) becomes its exclusive prefix sums (as uint32: the caller checks
 * *total, the 64-bit sum, before trusting them); waits for the job's stream. */
cudaError_t scan_exclusive(job &J, uint32_t *a, uint64_t n, uint64_t *total);

#endif
