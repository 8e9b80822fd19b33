/* cuda_render.h - the software rasteriser's passes 2 and 3 (raster and
 * resolve, see lib/render.c) on the GPU, as a plain C function.
 *
 * Built only when nvcc is found (ORFEAS_CUDA); lib/render.c calls it when
 * render_opts.backend asks for CUDA and falls back to its CPU passes on
 * "cuda_oom". The CPU does pass 1 (camera, screen vertices, view-space
 * normals, the triangles binned into bands of band_rows sample rows) and
 * hands over its arrays; the kernels run the functions of lib/hd/render_tri.h
 * on them:
 *   raster   one thread per (band, triangle) entry of the bins: rp_tri_setup
 *            for the band's rows and rp_tri_draw, each covered sample kept
 *            with atomicMin on its 64-bit key (nearest, ties to the lower
 *            index: the same winner as the CPU's in-order drawing);
 *   resolve  one thread per output pixel: rp_resolve_pixel (shading of each
 *            triangle group of the pixel's samples, then the box filter).
 * Built with --fmad=false, so the picture is the CPU's, byte for byte.
 *
 * As every function of cuda_backend.h: every CUDA call checked; on failure
 * everything is freed, the picture zeroed, and the call fails with
 * "cuda_oom" (cudaErrorMemoryAllocation: the caller redoes it on the CPU)
 * or "cuda_error" naming the call.
 *
 * Device memory: 8 bytes a sample (sw * sh), 4 a pixel, 40 a vertex, 12 a
 * triangle, the normals (12 a vertex, or 36 a triangle), 8 a vertex of UVs
 * and 4 of colours when present, the texture, and 4 a bin entry.
 */
#ifndef ORFEAS_CUDA_RENDER_H
#define ORFEAS_CUDA_RENDER_H

#include <stdint.h>

#include "cuda_backend.h"
#include "err.h"
#include "hd/render_tri.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cuda_render_job {
    rp_scene scene;                /* host arrays (scene.keys unused); uv, col, tex may be NULL */
    uint32_t nverts, ntris;        /* sizes of scene.sv / idx / normals / uv / col */
    int height;                    /* picture rows (scene.width columns) */
    int sh;                        /* sample rows: height * scene.ss */
    int band_rows;                 /* sample rows per band */
    int nbands;                    /* ceil(sh / band_rows) */
    const uint32_t *band_start;    /* nbands + 1 offsets into band_tris */
    const uint32_t *band_tris;     /* triangle indices, band by band */
} cuda_render_job;

/* Raster and resolve j on the current device into rgba (scene.width x
 * height RGBA8, host memory). `stats` may be NULL. */
int cuda_render(const cuda_render_job *j, uint8_t *rgba, cuda_job_stats *stats, orf_err *e);

#ifdef __cplusplus
}
#endif

#endif
