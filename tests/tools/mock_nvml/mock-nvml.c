/* mock-nvml.c - a small stand-in for libnvidia-ml.so.1, so the tests cover
 * gpu-stats and lib/device on machines without a GPU. Built as a shared
 * library (build/tests/tools/libmock-nvml.so); the tests point
 * ORFEAS_NVML_LIBRARY at it. Built with -DMOCK_NVML_MINIMAL it exports only
 * init, count, handle, name, memory, the _v2 process list and shutdown
 * (libmock-nvml-min.so): the "old driver" whose other symbols are missing.
 *
 * Behaviour from the environment (lists are comma-separated, one item per
 * device; a device past the end of a list takes the last item):
 *   MOCK_NVML_DEVICES=N          devices (default 1; 0 for none)
 *   MOCK_NVML_FAIL_INIT=1        nvmlInit_v2 returns NVML_ERROR_DRIVER_NOT_LOADED
 *   MOCK_NVML_NAME=...           device names (default "Mock GPU 80GB")
 *   MOCK_NVML_TOTAL_MIB=...      total memory (default 81559)
 *   MOCK_NVML_USED_MIB=...       used memory (default 1024); free = total - used
 *   MOCK_NVML_RESERVED_MIB=...   reserved, part of used (default 0)
 *   MOCK_NVML_UTIL_GPU, MOCK_NVML_UTIL_MEM   percent (default 37, 12)
 *   MOCK_NVML_TEMP_C             degrees (default 41)
 *   MOCK_NVML_POWER_MW           milliwatts (default 71234)
 *   MOCK_NVML_CC=9.0             compute capability (default 9.0)
 *   MOCK_NVML_PROCESSES=pid:mib;pid:mib   one group per device, groups split by
 *                                ',' (default "4242:512"); mib "-" = not available
 *   MOCK_NVML_NO_PROCESSES=1     no process runs on any device
 *   MOCK_NVML_UNSUPPORTED=a,b    these entry points answer NVML_ERROR_NOT_SUPPORTED
 *                                (names without the nvml/nvmlDevice prefix:
 *                                 Temperature, PowerUsage, UtilizationRates,
 *                                 MemoryInfo, CudaComputeCapability, ...)
 *   MOCK_NVML_LOST=I             device I answers NVML_ERROR_GPU_IS_LOST for its handle
 * The memory call checks the struct version word like the real library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef int nvmlReturn_t;
typedef struct mock_device { unsigned index; } *nvmlDevice_t;
enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
};
typedef struct {
    unsigned int version;
    unsigned long long total, reserved, free, used;
} nvmlMemory_v2_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;

#define MIB (1024ULL * 1024ULL)
#define MAX_DEVICES 16

static int initialised;
static struct mock_device devices[MAX_DEVICES];

/* Item i of a comma-separated list in $name (the last one past the end), or def. */
static void item(const char *name, unsigned i, char *out, size_t size, const char *def)
{
    const char *v = getenv(name);
    snprintf(out, size, "%s", def);
    if (!v || !*v)
        return;
    const char *p = v;
    for (unsigned k = 0; k < i; k++) {
        const char *c = strchr(p, ',');
        if (!c)
            break;
        p = c + 1;
    }
    size_t n = strcspn(p, ",");
    if (n >= size)
        n = size - 1;
    memcpy(out, p, n);
    out[n] = 0;
}

static unsigned long long number(const char *name, unsigned i, unsigned long long def)
{
    char buf[64], d[32];
    snprintf(d, sizeof d, "%llu", def);
    item(name, i, buf, sizeof buf, d);
    return strtoull(buf, NULL, 10);
}

static int unsupported(const char *what)
{
    const char *v = getenv("MOCK_NVML_UNSUPPORTED");
    if (!v)
        return 0;
    size_t n = strlen(what);
    for (const char *p = v; (p = strstr(p, what)) != NULL; p += n)
        if ((p == v || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return 1;
    return 0;
}

static unsigned count(void)
{
    unsigned long long n = number("MOCK_NVML_DEVICES", 0, 1);
    return n > MAX_DEVICES ? MAX_DEVICES : (unsigned)n;
}

static int valid(nvmlDevice_t d)
{
    return initialised && d && d >= devices && d < devices + count();
}

EXPORT nvmlReturn_t nvmlInit_v2(void)
{
    const char *f = getenv("MOCK_NVML_FAIL_INIT");
    if (f && *f && strcmp(f, "0") != 0)
        return NVML_ERROR_DRIVER_NOT_LOADED;
    initialised++;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
    if (!initialised)
        return NVML_ERROR_UNINITIALIZED;
    initialised--;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n)
{
    if (!initialised)
        return NVML_ERROR_UNINITIALIZED;
    if (!n)
        return NVML_ERROR_INVALID_ARGUMENT;
    *n = count();
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d)
{
    if (!initialised)
        return NVML_ERROR_UNINITIALIZED;
    if (!d || i >= count())
        return NVML_ERROR_INVALID_ARGUMENT;
    const char *lost = getenv("MOCK_NVML_LOST");
    if (lost && *lost && strtoul(lost, NULL, 10) == i)
        return NVML_ERROR_GPU_IS_LOST;
    devices[i].index = i;
    *d = &devices[i];
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int length)
{
    if (!valid(d) || !name)
        return NVML_ERROR_INVALID_ARGUMENT;
    char buf[256];
    item("MOCK_NVML_NAME", d->index, buf, sizeof buf, "Mock GPU 80GB");
    if (strlen(buf) + 1 > length)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(name, buf, strlen(buf) + 1);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, nvmlMemory_v2_t *m)
{
    if (!valid(d) || !m)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (m->version != (unsigned int)(sizeof(nvmlMemory_v2_t) | (2u << 24)))
        return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    if (unsupported("MemoryInfo"))
        return NVML_ERROR_NOT_SUPPORTED;
    unsigned long long total = number("MOCK_NVML_TOTAL_MIB", d->index, 81559) * MIB;
    unsigned long long used = number("MOCK_NVML_USED_MIB", d->index, 1024) * MIB;
    if (used > total)
        used = total;
    m->total = total;
    m->used = used;
    m->reserved = number("MOCK_NVML_RESERVED_MIB", d->index, 0) * MIB;
    m->free = total - used;
    return NVML_SUCCESS;
}

static nvmlReturn_t processes(nvmlDevice_t d, unsigned int *n, nvmlProcessInfo_t *infos)
{
    if (!valid(d) || !n)
        return NVML_ERROR_INVALID_ARGUMENT;
    const char *none = getenv("MOCK_NVML_NO_PROCESSES");
    nvmlProcessInfo_t found[64];
    unsigned k = 0;
    if (!(none && *none && strcmp(none, "0") != 0)) {
        char group[1024];
        item("MOCK_NVML_PROCESSES", d->index, group, sizeof group, "4242:512");
        for (char *tok = strtok(group, ";"); tok && k < 64; tok = strtok(NULL, ";")) {
            char *colon = strchr(tok, ':');
            if (!colon || !*tok)
                continue;
            found[k].pid = (unsigned)strtoul(tok, NULL, 10);
            found[k].usedGpuMemory = colon[1] == '-' ? ~0ULL : strtoull(colon + 1, NULL, 10) * MIB;
            found[k].gpuInstanceId = found[k].computeInstanceId = 0xFFFFFFFFu;
            k++;
        }
    }
    if (*n < k) {
        *n = k;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    *n = k;
    if (k && !infos)
        return NVML_ERROR_INVALID_ARGUMENT;
    memcpy(infos, found, k * sizeof *found);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t d, unsigned int *n, nvmlProcessInfo_t *infos)
{
    return processes(d, n, infos);
}

#ifndef MOCK_NVML_MINIMAL
EXPORT const char *nvmlErrorString(nvmlReturn_t r)
{
    switch (r) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument version mismatch";
    default: return "Unknown Error";
    }
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *n, nvmlProcessInfo_t *infos)
{
    if (unsupported("ComputeRunningProcesses"))
        return NVML_ERROR_NOT_SUPPORTED;
    return processes(d, n, infos);
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int length)
{
    if (!valid(d) || !uuid)
        return NVML_ERROR_INVALID_ARGUMENT;
    char buf[96];
    snprintf(buf, sizeof buf, "GPU-6d6f636b-0000-4000-8000-%012u", d->index);
    if (strlen(buf) + 1 > length)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(uuid, buf, strlen(buf) + 1);
    return NVML_SUCCESS;
}

typedef struct {
    char busIdLegacy[16];
    unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
    char busId[32];
} nvmlPciInfo_t;

/* Device i sits on bus i + 1: "00000000:0N:00.0". */
EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *p)
{
    if (!valid(d) || !p)
        return NVML_ERROR_INVALID_ARGUMENT;
    memset(p, 0, sizeof *p);
    p->bus = d->index + 1;
    snprintf(p->busId, sizeof p->busId, "00000000:%02X:00.0", p->bus);
    snprintf(p->busIdLegacy, sizeof p->busIdLegacy, "0000:%02X:00.0", p->bus);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u)
{
    if (!valid(d) || !u)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (unsupported("UtilizationRates"))
        return NVML_ERROR_NOT_SUPPORTED;
    u->gpu = (unsigned)number("MOCK_NVML_UTIL_GPU", d->index, 37);
    u->memory = (unsigned)number("MOCK_NVML_UTIL_MEM", d->index, 12);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int *t)
{
    if (!valid(d) || !t || sensor != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (unsupported("Temperature"))
        return NVML_ERROR_NOT_SUPPORTED;
    *t = (unsigned)number("MOCK_NVML_TEMP_C", d->index, 41);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *mw)
{
    if (!valid(d) || !mw)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (unsupported("PowerUsage"))
        return NVML_ERROR_NOT_SUPPORTED;
    *mw = (unsigned)number("MOCK_NVML_POWER_MW", d->index, 71234);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t d, int *major, int *minor)
{
    if (!valid(d) || !major || !minor)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (unsupported("CudaComputeCapability"))
        return NVML_ERROR_NOT_SUPPORTED;
    char buf[32];
    item("MOCK_NVML_CC", d->index, buf, sizeof buf, "9.0");
    if (sscanf(buf, "%d.%d", major, minor) != 2)
        return NVML_ERROR_NOT_SUPPORTED;
    return NVML_SUCCESS;
}
#endif
