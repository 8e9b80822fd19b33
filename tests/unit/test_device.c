/* test_device.c - the job estimate, the recommendation, host facts, and NVML
 * through the mock library when the build has it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "device.h"

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "/tmp/orfeas-test-device-%ld-%s", (long)getpid(), name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_estimate(void)
{
    uint64_t j32 = device_job_bytes(256, DEVICE_PRECISION_FP32);
    uint64_t j16 = device_job_bytes(256, DEVICE_PRECISION_FP16);
    uint64_t vol32 = 260ull * 260 * 261 * 4;
    CHECK(j32 > vol32, "an fp32 job holds at least its volume (%llu > %llu)",
          (unsigned long long)j32, (unsigned long long)vol32);
    CHECK(j32 - j16 == vol32 / 2, "fp16 saves exactly half the volume term");
    CHECK(device_job_bytes(256, DEVICE_PRECISION_AUTO) == j32, "auto is estimated as fp32");
    uint64_t j512 = device_job_bytes(512, DEVICE_PRECISION_FP32);
    double growth = (double)j512 / (double)j32;
    CHECK(growth > 5.5 && growth < 8.0, "doubling N multiplies the job by nearly 8 (volume-bound): %.2f", growth);
    CHECK(device_job_bytes(255, DEVICE_PRECISION_FP32) < j32, "a smaller grid needs less");
    CHECK(device_job_bytes(1, DEVICE_PRECISION_FP32) == 0, "N=1 is out of range");
    CHECK(device_job_bytes(DEVICE_RESOLUTION_MAX + 1, DEVICE_PRECISION_FP32) == 0, "N above the maximum is out of range");
    CHECK(device_job_bytes(DEVICE_RESOLUTION_MAX, DEVICE_PRECISION_FP32) > 4096ull * 4096 * 4096 * 4,
          "the largest grid does not overflow");
    /* The header's worked numbers stay true. */
    CHECK(j32 == 140122512 && (j32 + (1 << 20) - 1) >> 20 == 134,
          "N=256 fp32 is 140 122 512 B, 134 MiB, as the header says (%llu B)", (unsigned long long)j32);
    CHECK(j16 == 104835312 && (j16 + (1 << 20) - 1) >> 20 == 100,
          "N=256 fp16 is 104 835 312 B, 100 MiB, as the header says (%llu B)", (unsigned long long)j16);
    CHECK(device_grid_job_bytes(260ull * 260 * 261, 256, DEVICE_PRECISION_FP32) == j32 &&
              device_grid_job_bytes(260ull * 260 * 520, 256, DEVICE_PRECISION_FP32) == j32 + 260ull * 260 * 259 * 5,
          "a grid's own point count: the same formula, 5 bytes more a point deeper in fp32");
    CHECK(j512 == 870723984 && device_job_bytes(512, DEVICE_PRECISION_FP16) == 595415280,
          "N=512 is 870 723 984 B in fp32, 595 415 280 in fp16, as the header says");
}

static void test_fit(void)
{
    CHECK(device_usable_bytes(1000, 0) == 900, "no budget: 90%% of free");
    CHECK(device_usable_bytes(1000, 500) == 450, "a budget below free caps it");
    CHECK(device_usable_bytes(500, 1000) == 450, "free below the budget caps it");
    CHECK(device_jobs_fit(1000, 300, 0) == 3, "floor(1000/300) = 3");
    CHECK(device_jobs_fit(1000, 300, 2) == 2, "the queue depth caps jobs");
    CHECK(device_jobs_fit(1000, 300, 5) == 3, "a deep queue caps nothing");
    CHECK(device_jobs_fit(299, 300, 0) == 0, "no job fits in less than one job");
    CHECK(device_jobs_fit(1000, 0, 0) == 0, "an unknown job size fits nothing");

    uint64_t j32 = device_job_bytes(256, DEVICE_PRECISION_FP32);
    CHECK(device_recommend_precision(256, 2 * j32) == DEVICE_PRECISION_FP32, "two fp32 jobs fit: fp32");
    CHECK(device_recommend_precision(256, 2 * j32 - 1) == DEVICE_PRECISION_FP16, "one byte short of two: fp16");
    CHECK(device_recommend_precision(256, 0) == DEVICE_PRECISION_FP16, "no memory: fp16");

    device_plan p;
    orf_err e;
    uint64_t free_b = 80ull << 30;
    CHECK(device_plan_gpu(free_b, 0, 256, DEVICE_PRECISION_AUTO, 0, &p, &e) == 0, "plan on an 80 GiB card");
    CHECK(p.precision == DEVICE_PRECISION_FP32 && p.recommended == DEVICE_PRECISION_FP32, "plenty of memory: fp32");
    CHECK(p.jobs_fit == (unsigned)(device_usable_bytes(free_b, 0) / j32), "jobs_fit is usable / job (%u)", p.jobs_fit);
    CHECK(device_plan_gpu(free_b, 1ull << 30, 256, DEVICE_PRECISION_AUTO, 0, &p, &e) == 0 &&
              p.jobs_fit == (unsigned)(((1ull << 30) * 9 / 10) / j32), "a 1 GiB budget caps jobs_fit (%u)", p.jobs_fit);
    CHECK(device_plan_gpu(free_b, 0, 256, DEVICE_PRECISION_FP16, 0, &p, &e) == 0 &&
              p.precision == DEVICE_PRECISION_FP16 && p.recommended == DEVICE_PRECISION_FP32,
          "a requested precision is kept, the recommendation still said");
    uint64_t tight = j32 + j32 / 2; /* usable 1.35 fp32 jobs: fp16 fits more */
    CHECK(device_plan_gpu(tight, 0, 256, DEVICE_PRECISION_AUTO, 0, &p, &e) == 0 &&
              p.precision == DEVICE_PRECISION_FP16 && p.jobs_fit >= 1, "short memory: auto picks fp16");
    CHECK(device_plan_gpu(free_b, 0, 256, DEVICE_PRECISION_AUTO, 6, &p, &e) == 0 && p.jobs_fit == 6,
          "queue depth 6 caps the plan");
    CHECK(device_plan_gpu(free_b, 0, 1, DEVICE_PRECISION_AUTO, 0, &p, &e) == -1 && strcmp(e.code, "bad_request") == 0 &&
              strstr(e.message, "1"), "resolution 1 is refused: %s", e.message);

    CHECK(device_plan_cpu(64ull << 30, 4, 256, 0, &p, &e) == 0 && p.jobs_fit == 4, "CPU: cores cap jobs");
    CHECK(device_plan_cpu(64ull << 30, 4, 256, 3, &p, &e) == 0 && p.jobs_fit == 3, "CPU: queue depth caps jobs");
    CHECK(device_plan_cpu(j32 * 2, 16, 256, 0, &p, &e) == 0 && p.jobs_fit == 1, "CPU: memory caps jobs (90%% of 2 jobs)");
    CHECK(device_plan_cpu(0, 16, 256, 0, &p, &e) == 0 && p.jobs_fit == 1, "CPU: one job always runs");
    CHECK(p.precision == DEVICE_PRECISION_FP32, "CPU: fp32");
}

static void test_precision(void)
{
    device_precision p = DEVICE_PRECISION_AUTO;
    orf_err e;
    CHECK(device_precision_parse("FP16", &p, &e) == 0 && p == DEVICE_PRECISION_FP16, "FP16 parses");
    CHECK(device_precision_parse("fp32", &p, &e) == 0 && p == DEVICE_PRECISION_FP32, "fp32 parses");
    CHECK(device_precision_parse("auto", &p, &e) == 0 && p == DEVICE_PRECISION_AUTO, "auto parses");
    p = DEVICE_PRECISION_FP16;
    CHECK(device_precision_parse("fp64", &p, &e) == -1 && p == DEVICE_PRECISION_FP16 && strstr(e.message, "fp64"),
          "fp64 is refused, naming it: %s", e.message);
    CHECK(strcmp(device_precision_name(DEVICE_PRECISION_FP16), "fp16") == 0, "fp16 has its name");
}

static void test_host(void)
{
    uint64_t total = 0, avail = 0;
    orf_err e;
    CHECK(device_host_memory(NULL, &total, &avail, &e) == 0 && total > 0 && avail <= total,
          "/proc/meminfo: %llu of %llu bytes available", (unsigned long long)avail, (unsigned long long)total);
    const char *f = write_file("meminfo", "MemTotal:        1000 kB\nMemFree:  100 kB\nMemAvailable:     400 kB\n");
    CHECK(f && device_host_memory(f, &total, &avail, &e) == 0 && total == 1024000 && avail == 409600,
          "a meminfo file is read in KiB");
    if (f)
        unlink(f);
    f = write_file("meminfo-old", "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 200 kB\n");
    CHECK(f && device_host_memory(f, &total, &avail, &e) == 0 && avail == 350 * 1024,
          "no MemAvailable: free + buffers + cached");
    if (f)
        unlink(f);
    f = write_file("meminfo-bad", "hello\n");
    CHECK(f && device_host_memory(f, &total, &avail, &e) == -1 && strcmp(e.code, "unavailable") == 0,
          "no MemTotal: unavailable (%s)", e.message);
    if (f)
        unlink(f);
    CHECK(device_host_memory("/nonexistent/meminfo", &total, &avail, &e) == -1 && strcmp(e.code, "io_error") == 0 &&
              strstr(e.message, "/nonexistent/meminfo"), "a missing file is an io_error naming it");
    CHECK(device_host_cpus() >= 1, "at least one CPU (%u)", device_host_cpus());
}

static void test_nvml(void)
{
    device_nvml *nv = NULL;
    orf_err e;
    CHECK(device_nvml_open("/nonexistent/libnvidia-ml.so.1", &nv, &e) == -1 && nv == NULL &&
              strcmp(e.code, "unavailable") == 0 && strstr(e.message, "/nonexistent/libnvidia-ml.so.1"),
          "a missing NVML is unavailable, named: %s", e.message);

    const char *build = getenv("ORFEAS_BUILD");
    char mock[1024];
    snprintf(mock, sizeof mock, "%s/tests/tools/libmock-nvml.so", build ? build : "build");
    if (access(mock, R_OK) != 0) {
        SKIP("no mock NVML built", "NVML through the mock");
        return;
    }
    setenv("MOCK_NVML_DEVICES", "2", 1);
    setenv("MOCK_NVML_TOTAL_MIB", "1000,2000", 1);
    setenv("MOCK_NVML_USED_MIB", "250", 1);
    setenv("MOCK_NVML_POWER_MW", "150500", 1);
    setenv("MOCK_NVML_PROCESSES", "10:100;11:-,12:7", 1);
    CHECK(device_nvml_open(mock, &nv, &e) == 0 && nv, "the mock opens");
    if (!nv)
        return;
    CHECK(device_nvml_count(nv) == 2, "two devices");
    device_info d;
    CHECK(device_nvml_query(nv, 1, &d, &e) == 0, "device 1 answers");
    CHECK(d.index == 1 && d.has_memory && d.memory_total_bytes == 2000ull << 20 &&
              d.memory_used_bytes == 250ull << 20 && d.memory_free_bytes == 1750ull << 20,
          "memory from nvmlDeviceGetMemoryInfo_v2 (the version word was right)");
    CHECK(d.power_w > 150.49 && d.power_w < 150.51, "milliwatts become watts (%.3f)", d.power_w);
    CHECK(d.cc_major == 9 && d.cc_minor == 0, "compute capability 9.0");
    CHECK(d.process_count == 1 && d.processes[0].pid == 12 && d.processes[0].used_bytes == 7ull << 20,
          "device 1 has its own process list");
    CHECK(device_nvml_query(nv, 0, &d, &e) == 0 && d.process_count == 2 && d.processes[1].pid == 11 &&
              !d.processes[1].used_known, "a process whose memory is not available is marked so");
    CHECK(device_nvml_query(nv, 2, &d, &e) == -1 && strcmp(e.code, "device_error") == 0, "index 2 does not exist");
    device_nvml_close(nv);

    setenv("MOCK_NVML_FAIL_INIT", "1", 1);
    nv = NULL;
    CHECK(device_nvml_open(mock, &nv, &e) == -1 && strstr(e.message, "nvmlInit_v2") &&
              strstr(e.message, "Driver Not Loaded"), "an init failure says why: %s", e.message);
    unsetenv("MOCK_NVML_FAIL_INIT");
}

static void test_cuda(void)
{
    device_info d;
    orf_err e;
    device_info_clear(&d, 0);
#ifdef ORFEAS_CUDA
    CHECK(device_cuda_built() == 1, "a CUDA build says so");
    if (device_cuda_count() > 0) {
        CHECK(device_cuda_query(0, &d, &e) == 0 && d.has_memory && d.memory_total_bytes > 0 && d.multiprocessors > 0,
              "CUDA device 0: %s, %d SMs", d.name, d.multiprocessors);
    } else {
        SKIP("no CUDA device", "CUDA device facts");
    }
#else
    CHECK(device_cuda_built() == 0 && device_cuda_count() == 0, "a CPU-only build has no CUDA devices");
    CHECK(device_cuda_query(0, &d, &e) == -1 && strcmp(e.code, "unavailable") == 0, "and says so: %s", e.message);
#endif
}

int main(void)
{
    test_estimate();
    test_fit();
    test_precision();
    test_host();
    test_nvml();
    test_cuda();
    return check_done();
}
