/* cuda_decimate.h - decimation in rounds of independent collapses on the GPU,
 * as a plain C function (kernels/cuda_decimate.cu).
 *
 * Built only when nvcc is found (ORFEAS_CUDA); callers go through
 * backend_decimate (lib/backend.h), which falls back to the CPU on a CUDA
 * out-of-memory. The kernels call the per-element steps of
 * lib/hd/decimate_edge.h, the code lib/decimate_rounds.c runs on OpenMP
 * threads, and the host makes the same per-round choices
 * (decimate_round_rank, decimate_round_ceiling, decimate_round_cut), so the
 * result is the CPU's byte for byte (kernels built with --fmad=false).
 *
 * Device memory per job (bytes, V vertices, T triangles): about 120 V +
 * 110 T (positions, quadrics, the triangles twice, the vertex->corner
 * lists, each half-edge's price twice, candidates and their states, the
 * winners), + 32 T for the triangles' planes while the quadrics are made,
 * + CUB's scratch. cuda_job_stats.peak_bytes reports the peak.
 */
#ifndef ORFEAS_CUDA_DECIMATE_H
#define ORFEAS_CUDA_DECIMATE_H

#include "cuda_backend.h"
#include "decimate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* mesh_decimate on the GPU: the same mesh (the collapses on the device, the
 * reordering on the host), the same report, the same errors; "cuda_oom"
 * (the caller may retry on the CPU) or "cuda_error" naming the call that
 * failed. m is unchanged on failure. `stats` may be NULL. */
int cuda_mesh_decimate(orf_mesh *m, const decimate_opts *o, decimate_report *r, cuda_job_stats *stats,
                       orf_err *e);

#ifdef __cplusplus
}
#endif

#endif
