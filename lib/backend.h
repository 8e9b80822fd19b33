/* backend.h - which hardware runs a stage: the CPU path or the CUDA kernels.
 *
 * The stage functions of lib/ (volume_sample, mt_extract,
 * mesh_smooth_taubin, mesh_decimate, mesh_compute_normals, the field's
 * inflate solve) are the CPU path and the reference. Each has a
 * backend_* twin here that runs it on the chosen backend, so a caller never
 * knows which ran except from the facts it gets back:
 *
 *   orf_backend b;
 *   if (backend_choose(opt_backend, &b, &e) != 0)      // NULL: ORFEAS_BACKEND or auto
 *       exit(strcmp(e.code, "unavailable") ? 64 : 69);
 *   b.precision = DEVICE_PRECISION_FP16;               // optional; default fp32
 *   backend_facts bf;
 *   backend_extract(&b, fld, 256, &mesh, &bf, &e);      // bf.backend "cpu"/"cuda", bf.fallback
 *
 * Choosing (backend_choose):
 *   "cpu"   always the CPU.
 *   "cuda"  the CUDA kernels; "unavailable" when the build has no CUDA
 *           (ORFEAS_CUDA) or no device answers (programs exit 69, as for
 *           gpu-stats --require-gpu).
 *   "auto"  CUDA when the build has it and device_cuda_count() > 0, else CPU.
 *   NULL or "" means $ORFEAS_BACKEND when set and not empty, else "auto".
 *   Anything else: "bad_request" naming the text (programs exit 64).
 *
 * Falling back: when a CUDA stage fails with "cuda_oom" (the kernels free
 * everything they held first) while other CUDA stages of the process are
 * running (--jobs), it waits for one of them to finish, and so free its
 * memory, and tries again (backend_cuda_retrying: at most BACKEND_OOM_TRIES
 * tries, each wait at most BACKEND_OOM_WAIT_MS). When no other stage holds
 * the device, or the tries are spent, the same stage runs again on the CPU
 * and the facts say backend "cpu", fallback "cuda_oom": a record never
 * fails for want of device memory. Other CUDA errors ("cuda_error") are
 * returned as they are: a broken device is not hidden. (Retrying smaller,
 * fp16 instead of fp32, would change the mesh, so it is not done.)
 *
 * Admission: before a CUDA stage starts, while other CUDA stages of the
 * process run, it waits until its estimate (device.h's device_job_bytes for
 * a grid; bytes a vertex and a triangle for a mesh stage) fits in the
 * device's free memory less what the running stages were admitted with and
 * have not yet allocated, times DEVICE_SAFETY: as many stages run at once as
 * jobs_fit allows for the memory that is free, and the out-of-memory path
 * above is the net for estimates that fall short. A stage alone always
 * starts; a wait in which no stage ends for BACKEND_OOM_WAIT_MS lets it
 * start anyway.
 *
 * Precision: the CUDA path can store the sampled volume as fp16
 * (lib/hd/half_round.h), half the memory; vertices then move by at most
 * half_edge_shift_bound() of their grid edge, under 2^-12 (1 + 2^-9) of a
 * cell wherever the field changes by 2^-10 model units or more along the
 * edge, and the topology is exactly that of fp32 (sign-preserving rounding).
 * The CPU path always samples fp32.
 *
 * Automatic ("auto" in a CUDA build): choosing starts the device on a thread
 * of its own (driver, then the CUDA context: 100 to 500 ms) and returns at
 * once; each stage then picks where it runs, from the crossovers measured on
 * an H200 (issue 17's table: voxel 11.7 ms CUDA / 13.2 ms CPU, rough 38.4 /
 * 43.6, refined 153 / 152, final 628 / 713, before any context cost):
 *   - volume sampling alone (the voxel stage): the CPU; it needs no device,
 *     and the first record never waits for one;
 *   - extraction on a grid of BACKEND_AUTO_WAIT_GRID cells or less (the rough
 *     stage), and the rough stage's field solve: the device when it is
 *     ready, else the CPU, without waiting (the voxel stage's coarse field
 *     is solved on the CPU);
 *   - finer extraction, smoothing, decimation and normals (refined, final):
 *     the device, waiting for it to start; the CPU when there is none;
 *   - pictures (render.h): the CPU, which drew as fast (121 against 117 frames
 *     a second).
 * The meshes are the same either way; the facts say which ran.
 *
 * Test hook: with ORFEAS_TEST_CUDA_OOM=1 in the environment, "cuda" (and
 * "auto") choose CUDA even without a device, and every CUDA stage fails with
 * a simulated "cuda_oom" before touching a device, so the fallback can be
 * seen on machines without a GPU. backend_test_fail_next() does the same for
 * the next n stages from C.
 */
#ifndef ORFEAS_BACKEND_H
#define ORFEAS_BACKEND_H

#include <stdint.h>

#include "decimate.h"
#include "device.h"
#include "err.h"
#include "field.h"
#include "mesh.h"
#include "volume.h"

typedef enum backend_kind { BACKEND_CPU = 0, BACKEND_CUDA = 1 } backend_kind;

typedef struct orf_backend {
    backend_kind kind;
    device_precision precision; /* CUDA volume storage: FP32 (default) or FP16;
                                   AUTO counts as FP32 */
    int simulate_oom;           /* test hook: CUDA stages fail with "cuda_oom" */
    int automatic;              /* "auto" in a CUDA build: the device is chosen stage by
                                   stage (see "Automatic" above), kind is then CUDA */
} orf_backend;

/* What ran, for the record: "backend" and, when not empty, "fallback". */
typedef struct backend_facts {
    char backend[8];          /* "cpu" or "cuda": what produced the result */
    char fallback[16];        /* "" or "cuda_oom" (CUDA ran out, the CPU redid it) */
    char precision[8];        /* "fp32" or "fp16": the volume the result came from */
    uint64_t device_peak_bytes; /* device memory the CUDA stage held at its peak; 0 on the CPU */
    double ms;                /* wall time of the stage, milliseconds */
} backend_facts;

/* The grid at or under which an automatic extraction does not wait for the
 * device to start (the rough stage's 96, with room). */
#define BACKEND_AUTO_WAIT_GRID 128

/* "cpu" or "cuda". */
const char *backend_name(backend_kind k);

/* Pick the backend for `request` ("auto", "cpu", "cuda"; NULL or "" for
 * $ORFEAS_BACKEND, else auto; see above). Fills *b (precision FP32).
 * -1 with "bad_request" or "unavailable"; *b is then the CPU. */
int backend_choose(const char *request, orf_backend *b, orf_err *e);

/* volume_sample on backend b: the same grid and values (after fp16 storage
 * when b asks for it). `facts` may be NULL. Free with volume_free. */
int backend_volume_sample(const orf_backend *b, const orf_field *fld, int n, orf_volume *v,
                          backend_facts *facts, orf_err *e);

/* mt_extract on backend b (same mesh, same vertex and triangle order). */
int backend_mt_extract(const orf_backend *b, const orf_volume *v, orf_mesh *m,
                       backend_facts *facts, orf_err *e);

/* Sample and extract in one call: mt_extract(volume_sample(fld, n)). On CUDA
 * the volume never leaves the device; this is the fast path for a stage. */
int backend_extract(const orf_backend *b, const orf_field *fld, int n, orf_mesh *m,
                    backend_facts *facts, orf_err *e);

/* mesh_smooth_taubin on backend b (same positions, same errors). */
int backend_smooth_taubin(const orf_backend *b, orf_mesh *m, int iterations, float lambda, float mu,
                          backend_facts *facts, orf_err *e);

/* mesh_decimate on backend b (same mesh, same report; on CUDA the
 * collapses run on the device, kernels/cuda_decimate.cu, the reordering on
 * the host). */
int backend_decimate(const orf_backend *b, orf_mesh *m, const decimate_opts *o, decimate_report *r,
                     backend_facts *facts, orf_err *e);

/* mesh_compute_normals on backend b: the same m->nrm, bit for bit (on CUDA
 * one thread a vertex gathers its corners, hd/normal_vertex.h). */
int backend_compute_normals(const orf_backend *b, orf_mesh *m, backend_facts *facts, orf_err *e);

/* The inflation field's solve (field.h's field_solver contract) on backend
 * b: the same heights, cycles and residual (on CUDA the multigrid runs on
 * the device over hd/mg_cell.h's steps, kernels/cuda_field.cu). */
int backend_field_solve(const orf_backend *b, const float *cov, int w, int h, double tol, float *heights,
                        int *cycles, double *resid, backend_facts *facts, orf_err *e);

/* backend_field_solve as a field_solver, ctx the backend: set
 * field_params.solve to it and solve_ctx to the backend. */
int backend_field_solver(void *ctx, const float *cov, int w, int h, double tol, float *heights, int *cycles,
                         double *resid, orf_err *e);

/* For stages run outside this file (render_mesh): 1 when the CUDA stage
 * about to run on b is to fail with a simulated "cuda_oom" instead (b's
 * simulate_oom, or one of backend_test_fail_next's count, used up here). */
int backend_cuda_simulated_oom(const orf_backend *b);

/* Test hook: the next n CUDA stages of this process fail with a simulated
 * "cuda_oom" before touching a device (0 to stop). */
void backend_test_fail_next(int n);

#define BACKEND_OOM_TRIES 4
#define BACKEND_OOM_WAIT_MS 10000

/* One try of a CUDA stage: 0, or -1 with e set ("cuda_oom" when the device
 * ran out of memory, having freed all it held). */
typedef int (*backend_cuda_try)(void *ctx, orf_err *e);

/* Run `attempt` as a CUDA stage of this process that holds about `need`
 * device bytes at its peak (0: unknown): first admitted (see "Admission"),
 * then (see "Falling back") again after a "cuda_oom" when another stage
 * finished meanwhile or, when others are running, once one of them finishes
 * (at most BACKEND_OOM_WAIT_MS a wait), at most BACKEND_OOM_TRIES tries in
 * all. Returns the last try's result; *tries (may be NULL) gets their
 * number. Any CUDA stage, real or not (the tests), counts as running while
 * inside. */
int backend_cuda_retrying(backend_cuda_try attempt, void *ctx, uint64_t need, int *tries, orf_err *e);

/* Test hook: admission sees a device of `bytes` free memory from which
 * every running stage took its whole estimate (-1: the real device). */
void backend_test_set_device_room(int64_t bytes);

/* How many stages of this process have waited to be admitted so far. */
uint64_t backend_admission_waits(void);

/* The fp16 storage of the CPU, for tests and the CPU emulation of the CUDA
 * fp16 path: every sample of v rounded to binary16 and back (half_round.h). */
void backend_volume_round_half(orf_volume *v);

#endif
