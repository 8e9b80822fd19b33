/* cuda_bench.c - numbers for scripts/bench/gpu.sh: extraction (sample +
 * marching tetrahedra) of an inflated disc on the CPU and on the CUDA
 * backend, voxels per second, peak device memory per job against
 * device_job_bytes(), and throughput of J concurrent jobs.
 *   cuda_bench N PRECISION JOBS REPEATS
 * One NDJSON line on stdout. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "gen.h"
#include "mt.h"
#include "units.h"
#include "volume.h"

static int disc(double x, double y, double cx, double cy, double r)
{
    return (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: cuda_bench N fp32|fp16 JOBS REPEATS\n");
        return 64;
    }
    int n = atoi(argv[1]), jobs = atoi(argv[3]), reps = atoi(argv[4]);
    orf_err e;
    device_precision prec;
    if (device_precision_parse(argv[2], &prec, &e) != 0 || n < 4 || jobs < 1 || reps < 1) {
        fprintf(stderr, "cuda_bench: bad arguments\n");
        return 64;
    }
    orf_image img;
    if (image_alloc(&img, 512, 512, &e) != 0)
        return 1;
    for (int y = 0; y < 512; y++)
        for (int x = 0; x < 512; x++) {
            uint8_t *p = img.rgba + 4 * ((size_t)y * 512 + x);
            p[0] = 200;
            p[1] = 60;
            p[2] = 40;
            p[3] = disc(x + 0.5, y + 0.5, 256, 256, 200) ? 255 : 0;
        }
    img.had_alpha = 1;
    gen_params gp;
    gen_params_default(&gp);
    orf_field fld;
    if (gen_field(&img, "bench disc", &gp, &fld, NULL, &e) != 0) {
        fprintf(stderr, "cuda_bench: %s\n", e.message);
        return 1;
    }
    orf_volume v;
    if (volume_sample(&fld, n, &v, &e) != 0)
        return 1;
    double voxels = (double)(v.nx - 1) * (v.ny - 1) * (v.nz - 1);
    volume_free(&v);
    orf_backend cpu = {.kind = BACKEND_CPU}, b;
    orf_mesh m;
    double t0 = units_now_ms();
    backend_extract(&cpu, &fld, n, &m, NULL, &e);
    double cpu_ms = units_now_ms() - t0;
    uint32_t tris = m.ntris;
    mesh_free(&m);
    int have = backend_choose("cuda", &b, &e) == 0;
    printf("{\"n\":%d,\"precision\":\"%s\",\"voxels\":%.0f,\"triangles\":%u,\"cpu_ms\":%.2f,"
           "\"cpu_voxels_per_s\":%.4g",
           n, device_precision_name(prec), voxels, tris, cpu_ms, voxels / cpu_ms * 1e3);
    if (!have) {
        printf(",\"gpu\":null,\"reason\":\"%s\"}\n", e.message);
        return 0;
    }
    b.precision = prec;
    backend_facts f;
    backend_extract(&b, &fld, n, &m, &f, &e); /* warm up: context, tables */
    mesh_free(&m);
    double best = 1e300;
    uint64_t peak = 0;
    for (int r = 0; r < reps; r++) {
        t0 = units_now_ms();
        int rc = backend_extract(&b, &fld, n, &m, &f, &e);
        double ms = units_now_ms() - t0;
        if (rc != 0 || strcmp(f.backend, "cuda") != 0) {
            printf(",\"gpu_error\":\"%s\"}\n", rc ? e.message : f.fallback);
            return 1;
        }
        if (ms < best)
            best = ms;
        peak = f.device_peak_bytes;
        mesh_free(&m);
    }
    int fails = 0;
    t0 = units_now_ms();
#pragma omp parallel for num_threads(jobs) schedule(dynamic) reduction(+ : fails)
    for (int j = 0; j < jobs * reps; j++) {
        orf_mesh mm;
        orf_err ee;
        backend_facts ff;
        fails += backend_extract(&b, &fld, n, &mm, &ff, &ee) != 0 || strcmp(ff.backend, "cuda") != 0;
        mesh_free(&mm);
    }
    double conc_ms = units_now_ms() - t0;
    printf(",\"gpu_ms\":%.3f,\"gpu_voxels_per_s\":%.4g,\"speedup_vs_cpu\":%.1f,\"peak_device_bytes\":%llu,"
           "\"estimate_bytes\":%llu,\"peak_over_estimate\":%.2f,\"concurrent_jobs\":%d,"
           "\"concurrent_jobs_per_s\":%.2f,\"concurrent_failures\":%d}\n",
           best, voxels / best * 1e3, cpu_ms / best, (unsigned long long)peak,
           (unsigned long long)device_job_bytes(n, prec),
           (double)peak / (double)device_job_bytes(n, prec), jobs, jobs * reps / conc_ms * 1e3, fails);
    field_free(&fld);
    image_free(&img);
    return 0;
}
