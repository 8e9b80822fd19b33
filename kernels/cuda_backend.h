/* cuda_backend.h - the CUDA versions of the hot stages, as plain C functions.
 *
 * Built only when nvcc is found (the Makefile defines ORFEAS_CUDA then);
 * callers go through lib/backend.h, which picks CPU or CUDA and falls back
 * to the CPU on a CUDA out-of-memory. Each function here:
 *   - computes exactly what its CPU twin computes, from the same per-element
 *     code (volume_point.h, mt_cell.h, smooth_vertex.h, smooth_ring.h,
 *     normal_vertex.h, decimate_edge.h; kernels are built
 *     with --fmad=false so the float arithmetic rounds as on the host), so
 *     meshes come out in the same vertex and triangle order;
 *   - checks the status of every CUDA call; on failure frees everything it
 *     allocated on the device and the host, leaves its output zeroed, and
 *     fails with "cuda_oom" for cudaErrorMemoryAllocation (the caller may
 *     retry on the CPU) or "cuda_error" for anything else, naming the call;
 *   - runs on its own stream on the current device, so jobs in several
 *     threads overlap; device memory is stream-ordered (cudaMallocAsync).
 *
 * `fp16` 1 stores the volume on the device as IEEE half (half_round.h:
 * round to nearest even, sign-preserving), half the memory of fp32; the mesh
 * then equals the CPU mesh of the half-rounded volume, bit for bit.
 *
 * Device memory per job (bytes, P = nx*ny*nz grid points, s = 4 or 2, A
 * active points, those whose edges cross the surface, hd/mt_active.h):
 *   P * (s + 1)           volume and inside flags
 *   + A * 17              the active points' list, crossing bits and vertex
 *                         and triangle offsets (freed, with the flags,
 *                         before the mesh is copied to the host)
 *   + 12 NV + 12 NT       the mesh, + the field (12 w h) while sampling
 *   + CUB's scratch for the count and the selection of the active points
 * cuda_job_stats.peak_bytes reports what a call held at its peak.
 */
#ifndef ORFEAS_CUDA_BACKEND_H
#define ORFEAS_CUDA_BACKEND_H

#include <stdint.h>

#include "err.h"
#include "field.h"
#include "mesh.h"
#include "volume.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cuda_job_stats {
    uint64_t peak_bytes; /* device memory the call held at its peak */
    double ms;           /* wall time of the call, milliseconds */
} cuda_job_stats;

/* Sample `fld` at n cells along the longer side into *v on the host (same
 * grid and values as volume_sample; with fp16 the values after half
 * storage). Free with volume_free. `stats` may be NULL. */
int cuda_volume_sample(const orf_field *fld, int n, int fp16, orf_volume *v, cuda_job_stats *stats,
                       orf_err *e);

/* Marching tetrahedra of *v on the device: the same mesh as mt_extract
 * (same vertex and triangle order), or, with fp16, mt_extract of the
 * half-rounded volume. */
int cuda_mt_extract(const orf_volume *v, int fp16, orf_mesh *m, cuda_job_stats *stats, orf_err *e);

/* Sample and extract in one go, the volume never leaving the device: the
 * mesh of mt_extract(volume_sample(fld, n)). */
int cuda_field_extract(const orf_field *fld, int n, int fp16, orf_mesh *m, cuda_job_stats *stats,
                       orf_err *e);

/* Taubin smoothing on the device, the one-ring adjacency built there too
 * (hd/smooth_ring.h); the positions and vertex kinds come back once for
 * smooth_keep_size on the host: the same positions as mesh_smooth_taubin,
 * same parameter rules and errors. m->pos is unchanged on failure. */
int cuda_smooth_taubin(orf_mesh *m, int iterations, float lambda, float mu, cuda_job_stats *stats,
                       orf_err *e);

/* Area-weighted vertex normals on the device (hd/normal_vertex.h): the
 * same m->nrm as mesh_compute_normals, bit for bit (allocated when NULL).
 * On failure m->nrm is as it came (NULL when it was), its contents no
 * result. */
int cuda_mesh_normals(orf_mesh *m, cuda_job_stats *stats, orf_err *e);

/* The inflation field's multigrid solve on the device (field_internal.h's
 * field_inflate_solve, its levels built on the host by the CPU's code, its
 * steps hd/mg_cell.h's): the same heights, cycles and residual. */
int cuda_field_inflate_solve(const float *cov, int w, int h, double tol, float *out, int *cycles,
                             double *resid, cuda_job_stats *stats, orf_err *e);

/* Test hook: make device allocations fail with cudaErrorMemoryAllocation
 * once this process's CUDA jobs would hold more than `bytes` (0: no limit),
 * so the out-of-memory path (free everything, "cuda_oom") runs on a real
 * device. */
void cuda_test_set_alloc_limit(uint64_t bytes);

/* Device bytes the CUDA jobs of this process hold now (0 between jobs). */
uint64_t cuda_live_bytes(void);

/* The current device's free memory (cudaMemGetInfo); -1 when it fails. */
int cuda_mem_free(uint64_t *free_bytes);

#ifdef __cplusplus
}
#endif

#endif
