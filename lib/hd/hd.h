/* hd/hd.h - the one qualifier of the code C and CUDA share.
 *
 * Every header in lib/hd/ holds per-element code (one grid point, one cell,
 * one vertex, one triangle, one pixel) that the C compiler builds for the
 * CPU path's loops and nvcc builds for the kernels in kernels/, so both
 * backends compute the same thing from one definition. Such a function is
 * declared ORF_HD: `static inline` in C, `static __host__ __device__ inline`
 * under nvcc. The headers use no library call a kernel cannot make (no
 * allocation, no I/O, no errno) and no global state.
 */
#ifndef ORFEAS_HD_H
#define ORFEAS_HD_H

#ifdef __CUDACC__
#define ORF_HD static __host__ __device__ inline
#else
#define ORF_HD static inline
#endif

#endif
