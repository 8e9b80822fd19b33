/* device.c - device facts (NVML by dlopen, CUDA runtime when built with it,
 * the host) and the per-job memory estimate. See device.h for the formula. */
#include "device.h"

#include <dlfcn.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifdef ORFEAS_CUDA
#include <cuda_runtime_api.h>
#endif

/* ---- precision ------------------------------------------------------------ */

const char *device_precision_name(device_precision p)
{
    switch (p) {
    case DEVICE_PRECISION_FP32: return "fp32";
    case DEVICE_PRECISION_FP16: return "fp16";
    default: return "auto";
    }
}

int device_precision_parse(const char *s, device_precision *p, orf_err *e)
{
    if (s && strcasecmp(s, "auto") == 0)
        *p = DEVICE_PRECISION_AUTO;
    else if (s && strcasecmp(s, "fp32") == 0)
        *p = DEVICE_PRECISION_FP32;
    else if (s && strcasecmp(s, "fp16") == 0)
        *p = DEVICE_PRECISION_FP16;
    else
        return orf_fail(e, "bad_request", "'%s' is not a precision (try fp32, fp16 or auto)", s ? s : "");
    return 0;
}

/* ---- the estimate ---------------------------------------------------------- */

uint64_t device_job_bytes(int resolution, device_precision p)
{
    if (resolution < DEVICE_RESOLUTION_MIN || resolution > DEVICE_RESOLUTION_MAX)
        return 0;
    uint64_t n = (uint64_t)resolution;
    return device_grid_job_bytes((n + 4) * (n + 4) * (n + 5), resolution, p);
}

uint64_t device_grid_job_bytes(uint64_t points, int resolution, device_precision p)
{
    uint64_t n = resolution > 0 ? (uint64_t)resolution : 0;
    uint64_t sample = p == DEVICE_PRECISION_FP16 ? 2 : 4;
    uint64_t volume = points * sample;
    uint64_t inside = points * DEVICE_INSIDE_BYTES_PER_POINT;
    uint64_t active = DEVICE_SURFACE_CELLS_PER_N2 * n * n * DEVICE_ACTIVE_BYTES_PER_POINT;
    uint64_t surface = DEVICE_SURFACE_CELLS_PER_N2 * n * n * DEVICE_SURFACE_BYTES_PER_CELL;
    uint64_t field = n * n * DEVICE_FIELD_BYTES_PER_PIXEL;
    return volume + inside + active + surface + field + DEVICE_FIXED_BYTES;
}

uint64_t device_usable_bytes(uint64_t free_bytes, uint64_t budget_bytes)
{
    uint64_t m = free_bytes;
    if (budget_bytes > 0 && budget_bytes < m)
        m = budget_bytes;
    return (uint64_t)((long double)m * DEVICE_SAFETY);
}

unsigned device_jobs_fit(uint64_t usable_bytes, uint64_t job_bytes, unsigned queue_depth)
{
    if (job_bytes == 0)
        return 0;
    uint64_t n = usable_bytes / job_bytes;
    if (queue_depth > 0 && n > queue_depth)
        n = queue_depth;
    if (n > UINT32_MAX)
        n = UINT32_MAX;
    return (unsigned)n;
}

device_precision device_recommend_precision(int resolution, uint64_t usable_bytes)
{
    uint64_t job = device_job_bytes(resolution, DEVICE_PRECISION_FP32);
    if (job > 0 && usable_bytes / job >= DEVICE_FP32_MIN_JOBS)
        return DEVICE_PRECISION_FP32;
    return DEVICE_PRECISION_FP16;
}

static int check_resolution(int resolution, orf_err *e)
{
    if (resolution < DEVICE_RESOLUTION_MIN || resolution > DEVICE_RESOLUTION_MAX)
        return orf_fail(e, "bad_request", "resolution %d is out of range (%d to %d cells)",
                        resolution, DEVICE_RESOLUTION_MIN, DEVICE_RESOLUTION_MAX);
    return 0;
}

int device_plan_gpu(uint64_t free_bytes, uint64_t budget_bytes, int resolution,
                    device_precision requested, unsigned queue_depth,
                    device_plan *plan, orf_err *e)
{
    if (check_resolution(resolution, e) < 0)
        return -1;
    memset(plan, 0, sizeof *plan);
    plan->resolution = resolution;
    plan->usable_bytes = device_usable_bytes(free_bytes, budget_bytes);
    plan->recommended = device_recommend_precision(resolution, plan->usable_bytes);
    plan->precision = requested == DEVICE_PRECISION_AUTO ? plan->recommended : requested;
    plan->job_bytes = device_job_bytes(resolution, plan->precision);
    plan->jobs_fit = device_jobs_fit(plan->usable_bytes, plan->job_bytes, queue_depth);
    return 0;
}

int device_plan_cpu(uint64_t host_available_bytes, unsigned cpus, int resolution,
                    unsigned queue_depth, device_plan *plan, orf_err *e)
{
    if (check_resolution(resolution, e) < 0)
        return -1;
    memset(plan, 0, sizeof *plan);
    plan->resolution = resolution;
    plan->recommended = DEVICE_PRECISION_FP32;
    plan->precision = DEVICE_PRECISION_FP32;
    plan->usable_bytes = device_usable_bytes(host_available_bytes, 0);
    plan->job_bytes = device_job_bytes(resolution, DEVICE_PRECISION_FP32);
    unsigned n = device_jobs_fit(plan->usable_bytes, plan->job_bytes, 0);
    if (n > cpus)
        n = cpus;
    if (queue_depth > 0 && n > queue_depth)
        n = queue_depth;
    if (n == 0 && cpus > 0)
        n = 1;
    plan->jobs_fit = n;
    return 0;
}

/* ---- device_info -------------------------------------------------------------- */

void device_info_clear(device_info *info, int index)
{
    memset(info, 0, sizeof *info);
    info->index = index;
    info->utilization_gpu = -1;
    info->utilization_memory = -1;
    info->temperature_c = -1;
    info->power_w = -1;
    info->cc_major = -1;
    info->cc_minor = -1;
    info->multiprocessors = -1;
    info->process_count = -1;
}

/* ---- NVML ---------------------------------------------------------------------- */

/* The few NVML types we use, as nvml.h declares them (CUDA 11+). */
typedef int nvml_return;
typedef void *nvml_device;
enum {
    NVML_OK = 0,
    NVML_ERR_INSUFFICIENT_SIZE = 7,
    NVML_TEMPERATURE_GPU = 0,
    NVML_NAME_BUFFER = 96, /* NVML_DEVICE_NAME_V2_BUFFER_SIZE */
    NVML_UUID_BUFFER = 96, /* NVML_DEVICE_UUID_V2_BUFFER_SIZE */
};
#define NVML_VALUE_NOT_AVAILABLE_ULL (~0ULL)

/* nvmlMemory_v2_t: `version` is an input, sizeof | (2 << 24); `used` includes
 * `reserved`. */
typedef struct nvml_memory_v2 {
    unsigned int version;
    unsigned long long total;
    unsigned long long reserved;
    unsigned long long free;
    unsigned long long used;
} nvml_memory_v2;
#define NVML_MEMORY_V2_VERSION ((unsigned int)(sizeof(nvml_memory_v2) | (2u << 24)))

typedef struct nvml_utilization {
    unsigned int gpu;
    unsigned int memory;
} nvml_utilization;

/* nvmlProcessInfo_t (= nvmlProcessInfo_v2_t), the element of both
 * nvmlDeviceGetComputeRunningProcesses_v3 and _v2. */
typedef struct nvml_process_info {
    unsigned int pid;
    unsigned long long usedGpuMemory; /* bytes, or NVML_VALUE_NOT_AVAILABLE */
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvml_process_info;

struct device_nvml {
    void *lib;
    char path[512];
    unsigned count;
    nvml_return (*init)(void);
    nvml_return (*shutdown)(void);
    const char *(*error_string)(nvml_return);
    nvml_return (*get_count)(unsigned int *);
    nvml_return (*get_handle)(unsigned int, nvml_device *);
    nvml_return (*get_name)(nvml_device, char *, unsigned int);
    nvml_return (*get_uuid)(nvml_device, char *, unsigned int);
    nvml_return (*get_memory)(nvml_device, nvml_memory_v2 *);
    nvml_return (*get_utilization)(nvml_device, nvml_utilization *);
    nvml_return (*get_temperature)(nvml_device, int, unsigned int *);
    nvml_return (*get_power)(nvml_device, unsigned int *);
    nvml_return (*get_cc)(nvml_device, int *, int *);
    nvml_return (*get_pci)(nvml_device, void *);
    nvml_return (*get_processes)(nvml_device, unsigned int *, nvml_process_info *);
};

/* dlsym into a function pointer without the object/function pointer cast warning. */
#define NVML_SYM(nv, field, name) \
    do { void *sym_ = dlsym((nv)->lib, name); memcpy(&(nv)->field, &sym_, sizeof sym_); } while (0)

static const char *nvml_strerror(const device_nvml *nv, nvml_return r, char *buf, size_t size)
{
    const char *s = nv->error_string ? nv->error_string(r) : NULL;
    if (s && *s)
        snprintf(buf, size, "%s (NVML error %d)", s, r);
    else
        snprintf(buf, size, "NVML error %d", r);
    return buf;
}

int device_nvml_open(const char *path, device_nvml **out, orf_err *e)
{
    *out = NULL;
    if (!path) {
        const char *env = getenv("ORFEAS_NVML_LIBRARY");
        path = env && *env ? env : DEVICE_NVML_DEFAULT_LIBRARY;
    }
    device_nvml *nv = calloc(1, sizeof *nv);
    if (!nv)
        return orf_fail(e, "unavailable", "out of memory opening NVML");
    snprintf(nv->path, sizeof nv->path, "%s", path);
    dlerror();
    nv->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!nv->lib) {
        const char *why = dlerror();
        orf_fail(e, "unavailable", "cannot load NVML (%s): %s", path, why ? why : "unknown error");
        free(nv);
        return -1;
    }
    NVML_SYM(nv, init, "nvmlInit_v2");
    NVML_SYM(nv, shutdown, "nvmlShutdown");
    NVML_SYM(nv, error_string, "nvmlErrorString");
    NVML_SYM(nv, get_count, "nvmlDeviceGetCount_v2");
    NVML_SYM(nv, get_handle, "nvmlDeviceGetHandleByIndex_v2");
    NVML_SYM(nv, get_name, "nvmlDeviceGetName");
    NVML_SYM(nv, get_uuid, "nvmlDeviceGetUUID");
    NVML_SYM(nv, get_memory, "nvmlDeviceGetMemoryInfo_v2");
    NVML_SYM(nv, get_utilization, "nvmlDeviceGetUtilizationRates");
    NVML_SYM(nv, get_temperature, "nvmlDeviceGetTemperature");
    NVML_SYM(nv, get_power, "nvmlDeviceGetPowerUsage");
    NVML_SYM(nv, get_cc, "nvmlDeviceGetCudaComputeCapability");
    NVML_SYM(nv, get_pci, "nvmlDeviceGetPciInfo_v3");
    NVML_SYM(nv, get_processes, "nvmlDeviceGetComputeRunningProcesses_v3");
    if (!nv->get_processes)
        NVML_SYM(nv, get_processes, "nvmlDeviceGetComputeRunningProcesses_v2");

    const char *missing = !nv->init ? "nvmlInit_v2"
                        : !nv->get_count ? "nvmlDeviceGetCount_v2"
                        : !nv->get_handle ? "nvmlDeviceGetHandleByIndex_v2" : NULL;
    if (missing) {
        orf_fail(e, "unavailable", "NVML library %s has no %s (driver too old?)", path, missing);
        dlclose(nv->lib);
        free(nv);
        return -1;
    }
    char buf[200];
    nvml_return r = nv->init();
    if (r != NVML_OK) {
        orf_fail(e, "unavailable", "nvmlInit_v2 failed: %s", nvml_strerror(nv, r, buf, sizeof buf));
        dlclose(nv->lib);
        free(nv);
        return -1;
    }
    unsigned int count = 0;
    r = nv->get_count(&count);
    if (r != NVML_OK) {
        orf_fail(e, "unavailable", "nvmlDeviceGetCount_v2 failed: %s", nvml_strerror(nv, r, buf, sizeof buf));
        device_nvml_close(nv);
        return -1;
    }
    nv->count = count;
    *out = nv;
    return 0;
}

const char *device_nvml_path(const device_nvml *nv)
{
    return nv ? nv->path : "";
}

unsigned device_nvml_count(const device_nvml *nv)
{
    return nv ? nv->count : 0;
}

/* Copy a driver string, keeping only printable ASCII (it goes into JSON and logs). */
static void copy_clean(char *dst, size_t size, const char *src, size_t src_size)
{
    size_t j = 0;
    for (size_t i = 0; i < src_size && src[i] && j + 1 < size; i++)
        if ((unsigned char)src[i] >= 0x20 && (unsigned char)src[i] < 0x7f)
            dst[j++] = src[i];
    dst[j] = 0;
}

static void nvml_processes(device_nvml *nv, nvml_device dev, device_info *info)
{
    nvml_process_info local[DEVICE_MAX_PROCESSES];
    nvml_process_info *buf = local;
    unsigned int cap = DEVICE_MAX_PROCESSES, n = cap;
    nvml_return r = nv->get_processes(dev, &n, buf);
    /* More processes than the local array: ask again with room for all. */
    for (int tries = 0; r == NVML_ERR_INSUFFICIENT_SIZE && tries < 3 && n > cap && n < 65536; tries++) {
        if (buf != local)
            free(buf);
        cap = n + 8;
        buf = calloc(cap, sizeof *buf);
        if (!buf)
            return;
        n = cap;
        r = nv->get_processes(dev, &n, buf);
    }
    if (r == NVML_OK && n <= cap) {
        info->process_count = (int)n;
        unsigned shown = n < DEVICE_MAX_PROCESSES ? n : DEVICE_MAX_PROCESSES;
        for (unsigned i = 0; i < shown; i++) {
            info->processes[i].pid = buf[i].pid;
            info->processes[i].used_known = buf[i].usedGpuMemory != NVML_VALUE_NOT_AVAILABLE_ULL;
            info->processes[i].used_bytes = info->processes[i].used_known ? buf[i].usedGpuMemory : 0;
        }
    }
    if (buf != local)
        free(buf);
}

int device_nvml_query(device_nvml *nv, unsigned index, device_info *info, orf_err *e)
{
    device_info_clear(info, (int)index);
    if (!nv || index >= nv->count)
        return orf_fail(e, "device_error", "no GPU with index %u", index);
    nvml_device dev = NULL;
    char buf[200];
    nvml_return r = nv->get_handle(index, &dev);
    if (r != NVML_OK)
        return orf_fail(e, "device_error", "GPU %u: nvmlDeviceGetHandleByIndex_v2 failed: %s",
                        index, nvml_strerror(nv, r, buf, sizeof buf));

    char text[NVML_NAME_BUFFER + 1];
    if (nv->get_name) {
        memset(text, 0, sizeof text);
        if (nv->get_name(dev, text, NVML_NAME_BUFFER) == NVML_OK)
            copy_clean(info->name, sizeof info->name, text, NVML_NAME_BUFFER);
    }
    if (nv->get_uuid) {
        memset(text, 0, sizeof text);
        if (nv->get_uuid(dev, text, NVML_UUID_BUFFER) == NVML_OK)
            copy_clean(info->uuid, sizeof info->uuid, text, NVML_UUID_BUFFER);
    }
    if (nv->get_memory) {
        nvml_memory_v2 m;
        memset(&m, 0, sizeof m);
        m.version = NVML_MEMORY_V2_VERSION;
        if (nv->get_memory(dev, &m) == NVML_OK && m.total > 0 && m.free <= m.total && m.used <= m.total) {
            info->has_memory = 1;
            info->memory_total_bytes = m.total;
            info->memory_used_bytes = m.used;
            info->memory_free_bytes = m.free;
        }
    }
    if (nv->get_utilization) {
        nvml_utilization u = {0, 0};
        if (nv->get_utilization(dev, &u) == NVML_OK && u.gpu <= 100 && u.memory <= 100) {
            info->utilization_gpu = (int)u.gpu;
            info->utilization_memory = (int)u.memory;
        }
    }
    if (nv->get_temperature) {
        unsigned int t = 0;
        if (nv->get_temperature(dev, NVML_TEMPERATURE_GPU, &t) == NVML_OK && t < 1000)
            info->temperature_c = (int)t;
    }
    if (nv->get_power) {
        unsigned int mw = 0;
        if (nv->get_power(dev, &mw) == NVML_OK)
            info->power_w = mw / 1000.0;
    }
    if (nv->get_pci) {
        /* nvmlPciInfo_t: busIdLegacy[16], domain, bus, device, pciDeviceId,
         * pciSubSystemId, busId[32] */
        struct {
            char legacy[16];
            unsigned int domain, bus, device, device_id, subsystem_id;
            char bus_id[32];
        } pci;
        memset(&pci, 0, sizeof pci);
        if (nv->get_pci(dev, &pci) == NVML_OK)
            copy_clean(info->pci_bus_id, sizeof info->pci_bus_id, pci.bus_id, sizeof pci.bus_id);
    }
    if (nv->get_cc) {
        int major = -1, minor = -1;
        if (nv->get_cc(dev, &major, &minor) == NVML_OK && major >= 0 && major < 100 && minor >= 0 && minor < 100) {
            info->cc_major = major;
            info->cc_minor = minor;
        }
    }
    if (nv->get_processes)
        nvml_processes(nv, dev, info);
    return 0;
}

void device_nvml_close(device_nvml *nv)
{
    if (!nv)
        return;
    if (nv->shutdown)
        nv->shutdown();
    if (nv->lib)
        dlclose(nv->lib);
    free(nv);
}

/* ---- CUDA runtime ---------------------------------------------------------------- */

#ifdef ORFEAS_CUDA
int device_cuda_built(void)
{
    return 1;
}

int device_cuda_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky-free error so later calls start clean */
        return 0;
    }
    return n;
}

int device_cuda_warm(void)
{
    if (cudaFree(0) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    return 0;
}

int device_cuda_query(int ordinal, device_info *info, orf_err *e)
{
    struct cudaDeviceProp prop;
    cudaError_t r = cudaGetDeviceProperties(&prop, ordinal);
    if (r != cudaSuccess) {
        cudaGetLastError();
        return orf_fail(e, "device_error", "CUDA device %d: cudaGetDeviceProperties: %s",
                        ordinal, cudaGetErrorString(r));
    }
    info->index = ordinal;
    copy_clean(info->name, sizeof info->name, prop.name, sizeof prop.name);
    info->cc_major = prop.major;
    info->cc_minor = prop.minor;
    info->multiprocessors = prop.multiProcessorCount;
    int previous = 0;
    if (cudaGetDevice(&previous) != cudaSuccess)
        previous = -1;
    size_t free_b = 0, total_b = 0;
    r = cudaSetDevice(ordinal);
    if (r == cudaSuccess)
        r = cudaMemGetInfo(&free_b, &total_b);
    if (previous >= 0 && previous != ordinal)
        cudaSetDevice(previous);
    if (r != cudaSuccess) {
        cudaGetLastError();
        return orf_fail(e, "device_error", "CUDA device %d: cudaMemGetInfo: %s", ordinal, cudaGetErrorString(r));
    }
    info->has_memory = 1;
    info->memory_total_bytes = total_b;
    info->memory_free_bytes = free_b;
    info->memory_used_bytes = total_b - free_b;
    return 0;
}
#else
int device_cuda_built(void)
{
    return 0;
}

int device_cuda_count(void)
{
    return 0;
}

int device_cuda_warm(void)
{
    return -1;
}

int device_cuda_query(int ordinal, device_info *info, orf_err *e)
{
    (void)info;
    return orf_fail(e, "unavailable", "CUDA device %d: this build has no CUDA (built without nvcc)", ordinal);
}
#endif

/* ---- the host ---------------------------------------------------------------------- */

int device_host_memory(const char *path, uint64_t *total_bytes, uint64_t *available_bytes, orf_err *e)
{
    if (!path)
        path = "/proc/meminfo";
    FILE *f = fopen(path, "r");
    if (!f)
        return orf_fail_errno(e, "io_error", path);
    char line[256];
    uint64_t total = 0, avail = 0, mfree = 0, buffers = 0, cached = 0;
    int have_total = 0, have_avail = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long kib = 0;
        if (sscanf(line, "MemTotal: %llu kB", &kib) == 1) {
            total = kib;
            have_total = 1;
        } else if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
            avail = kib;
            have_avail = 1;
        } else if (sscanf(line, "MemFree: %llu kB", &kib) == 1) {
            mfree = kib;
        } else if (sscanf(line, "Buffers: %llu kB", &kib) == 1) {
            buffers = kib;
        } else if (sscanf(line, "Cached: %llu kB", &kib) == 1) {
            cached = kib;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return orf_fail(e, "io_error", "%s: read error", path);
    if (!have_total || total == 0 || total > (UINT64_MAX >> 10))
        return orf_fail(e, "unavailable", "%s: no MemTotal line", path);
    if (!have_avail) /* kernels before 3.14: the old estimate */
        avail = mfree + buffers + cached;
    if (avail > total)
        avail = total;
    *total_bytes = total << 10;
    *available_bytes = avail << 10;
    return 0;
}

unsigned device_host_cpus(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return (unsigned)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}
