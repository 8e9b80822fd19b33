/* device.h - what GPUs there are, what they hold, and how many jobs fit.
 *
 * One place asks about devices. Three sources, cheapest first:
 *
 *   NVML     libnvidia-ml.so.1 (or $ORFEAS_NVML_LIBRARY) opened with dlopen at
 *            run time, never linked: name, UUID, memory (nvmlDeviceGetMemoryInfo_v2),
 *            utilisation, temperature, power (NVML reports milliwatts; we report
 *            watts), compute capability and the compute processes on the card.
 *            Opening NVML creates no CUDA context, so a monitor (gpu-stats) uses
 *            only this. Each NVML entry point is looked up with dlsym; one the
 *            library lacks leaves its field unknown, nothing else fails.
 *   CUDA     the CUDA runtime, only in builds with ORFEAS_CUDA and only for
 *            programs that run kernels anyway: creating a context costs 100-550
 *            MiB of the card per process, which a monitor must not spend.
 *   host     /proc/meminfo and the CPUs this process may run on, for the CPU path.
 *
 * The job estimate (device_job_bytes) is what one mesh job holds on the card at
 * its peak, at a grid whose longest side has N cells (N = resolution). The
 * peak is the marching-tetrahedra phase of kernels/cuda_mt.cu (mt_run),
 * counted from its allocations, over the points of volume_point_grid for a
 * square image whose solid is at most as deep as it is wide (inflate at
 * depth 1): P = (N+4)^2 (N+5) points (N cells and 4 more points an axis, an
 * odd count along z):
 *
 *   volume    P * s             one sample a point; s = 4 bytes (fp32) or 2
 *                               bytes (fp16 volume storage)
 *   inside    P * 1             the inside flag of each point (1 byte)
 *   active    8 N^2 * 17        per active point (one whose edges cross the
 *                               surface, hd/mt_active.h): its index (8
 *                               bytes), crossing bits (1), vertex and
 *                               triangle offsets (4 each); at most as many
 *                               as the crossed cells below
 *   surface   8 N^2 * 64        the mesh and the scans' tile sums (bounded by
 *                               8 N^2 crossed cells at 64 bytes: up to 2
 *                               triangles of 3 x 4-byte indices and welded
 *                               vertices of 12 bytes; 467 000 triangles and
 *                               234 000 vertices, 8.4 MB, for samples/orfeas.png
 *                               at N = 256 against this term's 33.5 MB)
 *   field     N^2 * 16          the 2D field the volume is sampled from
 *   fixed     8 MiB             the decoded image, per-stage scratch, CUB's
 *
 * At N = 256: fp32 140 122 512 bytes (134 MiB rounded up), fp16 104 835 312
 * (100 MiB); at N = 512: fp32 870 723 984 (831 MiB), fp16 595 415 280
 * (568 MiB). Until the extraction kept only the active points, each point
 * held 10 bytes of scratch (flags and both offsets, P * 10: 277 MiB at
 * N = 256 in fp32, 243 in fp16), and fp16 saved 2 of 14 bytes a point; now
 * it saves 2 of 5. (The first estimate, (N+1)^3 * s + N^3 for the volume
 * and case bytes, 122 MiB at N = 256, missed the 9 bytes a point of flags and
 * offsets that mt_run then allocated: about 2.3 times too few bytes, so
 * jobs_fit promised 2.3 times too many jobs.) The GPU benchmark (make
 * bench-gpu) prints the measured peak over this estimate.
 *
 * Jobs that fit: usable = min(free, budget) * DEVICE_SAFETY (budget 0 = none);
 * jobs_fit = floor(usable / job_bytes), capped by the queue depth when it is
 * not 0. The 10 % left over covers fragmentation and the context of a new
 * worker process on a large card.
 *
 * Recommended precision: fp32 when at least DEVICE_FP32_MIN_JOBS (2) fp32 jobs
 * fit in the usable memory, fp16 otherwise (half the volume, 14% of the job,
 * so a few more jobs fit; the mesh moves by at most the bound the kernels'
 * parity test states).
 *
 * lib/ never prints and never exits: failures come back as orf_err with code
 * "unavailable" (no library, no driver, no device, no CUDA build) or
 * "device_error" (a device that answered with an error).
 */
#ifndef ORFEAS_DEVICE_H
#define ORFEAS_DEVICE_H

#include <stdint.h>

#include "err.h"

#define DEVICE_DEFAULT_RESOLUTION 256 /* the final stage's grid */
#define DEVICE_RESOLUTION_MIN 2
#define DEVICE_RESOLUTION_MAX 4096
#define DEVICE_SAFETY 0.9          /* share of min(free, budget) jobs may use */
#define DEVICE_FP32_MIN_JOBS 2     /* fewer fp32 jobs than this fit: recommend fp16 */
#define DEVICE_INSIDE_BYTES_PER_POINT 1
#define DEVICE_ACTIVE_BYTES_PER_POINT 17
#define DEVICE_SURFACE_CELLS_PER_N2 8
#define DEVICE_SURFACE_BYTES_PER_CELL 64
#define DEVICE_FIELD_BYTES_PER_PIXEL 16
#define DEVICE_FIXED_BYTES ((uint64_t)8 << 20)
#define DEVICE_NAME_MAX 96
#define DEVICE_UUID_MAX 96
#define DEVICE_MAX_PROCESSES 64
#define DEVICE_NVML_DEFAULT_LIBRARY "libnvidia-ml.so.1"

/* ---- precision ---------------------------------------------------------- */

typedef enum device_precision {
    DEVICE_PRECISION_AUTO = 0, /* let device_plan() choose */
    DEVICE_PRECISION_FP32,
    DEVICE_PRECISION_FP16,
} device_precision;

/* "auto", "fp32" or "fp16". */
const char *device_precision_name(device_precision p);

/* Parse "auto", "fp32" or "fp16" (case-insensitive). -1 with "bad_request"
 * naming the text otherwise; *p is untouched then. */
int device_precision_parse(const char *s, device_precision *p, orf_err *e);

/* ---- the estimate --------------------------------------------------------- */

/* Bytes one job needs on the card at `resolution` cells along the longest side
 * and precision p (AUTO counts as fp32), by the formula at the top of this
 * file. 0 when resolution is outside [DEVICE_RESOLUTION_MIN, DEVICE_RESOLUTION_MAX]. */
uint64_t device_job_bytes(int resolution, device_precision p);

/* The same formula for a grid of `points` points (a volume's nx * ny * nz,
 * which a deep field makes larger than (N+4)^2 (N+5)) at `resolution` cells
 * along the longer image side: what a job on that grid holds. */
uint64_t device_grid_job_bytes(uint64_t points, int resolution, device_precision p);

/* The memory jobs may use: min(free_bytes, budget_bytes) * DEVICE_SAFETY,
 * budget_bytes 0 meaning no budget. */
uint64_t device_usable_bytes(uint64_t free_bytes, uint64_t budget_bytes);

/* floor(usable_bytes / job_bytes), capped by queue_depth when queue_depth > 0.
 * 0 when job_bytes is 0. */
unsigned device_jobs_fit(uint64_t usable_bytes, uint64_t job_bytes, unsigned queue_depth);

/* fp32 when at least DEVICE_FP32_MIN_JOBS fp32 jobs at `resolution` fit in
 * usable_bytes, else fp16. */
device_precision device_recommend_precision(int resolution, uint64_t usable_bytes);

/* A recommendation for a card (or the host) with some free memory. */
typedef struct device_plan {
    int resolution;               /* grid cells along the longest side */
    device_precision recommended; /* the rule's answer: fp32 or fp16 */
    device_precision precision;   /* what job_bytes and jobs_fit are for: the
                                     requested one, or `recommended` for AUTO */
    uint64_t usable_bytes;        /* min(free, budget) * DEVICE_SAFETY */
    uint64_t job_bytes;           /* device_job_bytes(resolution, precision) */
    unsigned jobs_fit;            /* device_jobs_fit(usable, job, queue_depth) */
} device_plan;

/* Fill *plan for a GPU with free_bytes free, a budget (0 = none), a requested
 * precision (AUTO to take the recommendation) and a queue depth (0 = no cap).
 * -1 with "bad_request" when resolution is out of range. */
int device_plan_gpu(uint64_t free_bytes, uint64_t budget_bytes, int resolution,
                    device_precision requested, unsigned queue_depth,
                    device_plan *plan, orf_err *e);

/* Fill *plan for the CPU path: always fp32 (the CPU keeps a float volume),
 * jobs_fit = min(cpus, floor(available * DEVICE_SAFETY / job_bytes)), capped by
 * queue_depth when it is not 0, and at least 1 when cpus > 0 (one job always
 * runs; it may swap). -1 with "bad_request" when resolution is out of range. */
int device_plan_cpu(uint64_t host_available_bytes, unsigned cpus, int resolution,
                    unsigned queue_depth, device_plan *plan, orf_err *e);

/* ---- facts about one device ------------------------------------------------ */

typedef struct device_process {
    unsigned pid;
    int used_known;      /* 0 when the driver does not say (no permission, MIG) */
    uint64_t used_bytes; /* device memory the process holds */
} device_process;

/* Unknown numbers are -1 (has_memory 0 for memory); strings "" when unknown. */
typedef struct device_info {
    int index;                    /* NVML index (or CUDA ordinal) */
    char name[DEVICE_NAME_MAX];   /* "NVIDIA H100 80GB HBM3" */
    char uuid[DEVICE_UUID_MAX];   /* "GPU-..." */
    char pci_bus_id[32];          /* "00000000:01:00.0" (domain:bus:device.function) */
    int has_memory;
    uint64_t memory_total_bytes;
    uint64_t memory_used_bytes;   /* includes what the driver reserves */
    uint64_t memory_free_bytes;
    int utilization_gpu;          /* percent of the last sample period a kernel ran */
    int utilization_memory;       /* percent of it memory was read or written */
    int temperature_c;            /* core temperature, degrees Celsius */
    double power_w;               /* board power draw in watts; < 0 when unknown */
    int cc_major, cc_minor;       /* compute capability, 9 and 0 for "9.0" */
    int multiprocessors;          /* from CUDA only */
    int process_count;            /* processes on the card; -1 unknown; may exceed
                                     DEVICE_MAX_PROCESSES, only that many are listed */
    device_process processes[DEVICE_MAX_PROCESSES];
} device_info;

/* Set every field of *info to "unknown" and its index to `index`. */
void device_info_clear(device_info *info, int index);

/* ---- NVML ------------------------------------------------------------------ */

typedef struct device_nvml device_nvml;

/* Load NVML and initialise it. `path` names the library; NULL means
 * $ORFEAS_NVML_LIBRARY when set and not empty, else "libnvidia-ml.so.1".
 * Succeeds with 0 devices when the driver has none. -1 with "unavailable" and
 * the reason (library not found, nvmlInit_v2 missing or failed, no device
 * count) otherwise. Close with device_nvml_close(). */
int device_nvml_open(const char *path, device_nvml **out, orf_err *e);

/* The library path it was opened from. */
const char *device_nvml_path(const device_nvml *nv);

/* Devices the driver reported at open. */
unsigned device_nvml_count(const device_nvml *nv);

/* Ask the driver about device `index` now and fill *info; each fact the
 * library lacks or refuses stays unknown. -1 with "device_error" only when the
 * device itself cannot be reached (no handle); *info then holds the index. */
int device_nvml_query(device_nvml *nv, unsigned index, device_info *info, orf_err *e);

/* nvmlShutdown and dlclose. NULL is fine. */
void device_nvml_close(device_nvml *nv);

/* ---- CUDA runtime (ORFEAS_CUDA builds only) -------------------------------- */

/* 1 when this build has the CUDA path (ORFEAS_CUDA), else 0. */
int device_cuda_built(void);

/* CUDA devices this process can use: cudaGetDeviceCount, which creates no
 * context. 0 in a build without CUDA, or when the driver or device is missing. */
int device_cuda_count(void);

/* Create this process's CUDA context on device 0 now (cudaFree(0)), so the
 * first kernel does not pay for it. 0, or -1 when it cannot be made (no
 * device, no CUDA build). */
int device_cuda_warm(void);

/* Fill *info for CUDA device `ordinal` from the runtime: name, compute
 * capability, multiprocessors, total and free memory (cudaMemGetInfo: this
 * creates a context on the device; call it only in a program that runs
 * kernels). Fields already known in *info are overwritten. -1 with
 * "unavailable" in a build without CUDA, "device_error" on a CUDA error. */
int device_cuda_query(int ordinal, device_info *info, orf_err *e);

/* ---- the host --------------------------------------------------------------- */

/* MemTotal and MemAvailable from /proc/meminfo (`path` NULL for that file;
 * another path is for tests), in bytes. -1 with "io_error" or "unavailable". */
int device_host_memory(const char *path, uint64_t *total_bytes, uint64_t *available_bytes, orf_err *e);

/* CPUs this process may run on (its affinity mask), at least 1. */
unsigned device_host_cpus(void);

#endif
