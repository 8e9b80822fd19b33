/* test_cuda_parity.c - every stage on both backends over the test shapes
 * (disc, ring, two islands, a random smooth volume): the same topology
 * (vertex and triangle counts, the same triangles), positions within 1e-4 of
 * the bounding-box diagonal (the kernels are built to give the CPU's floats,
 * so the difference is expected to be 0), fp16 equal to the CPU emulation of
 * fp16 storage and within the bound of kernels/half_round.h; the
 * out-of-memory path frees everything and falls back.
 *
 * Without a device (or in a build without CUDA) every check prints as a TAP
 * skip with the reason; with ORFEAS_REQUIRE_GPU=1 the missing device is a
 * failure instead (scripts/gpu-session sets it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "check.h"
#include "cuda_shapes.h"
#include "mc.h"
#include "smooth.h"
#ifdef ORFEAS_CUDA
#include "cuda_backend.h"
#endif

static const char *skip_reason; /* NULL when a device runs the checks */

#define PCHECK(cond, ...)                                                                          \
    do {                                                                                           \
        if (skip_reason)                                                                           \
            SKIP(skip_reason, __VA_ARGS__);                                                        \
        else                                                                                       \
            CHECK(cond, __VA_ARGS__);                                                              \
    } while (0)

static orf_backend gpu = {.kind = BACKEND_CUDA, .precision = DEVICE_PRECISION_FP32};
static orf_backend gpu16 = {.kind = BACKEND_CUDA, .precision = DEVICE_PRECISION_FP16};

static int close_mesh(const orf_mesh *ref, const orf_mesh *m, double *shift)
{
    *shift = -1;
    if (ref->nverts != m->nverts || ref->ntris != m->ntris)
        return 0;
    *shift = mesh_max_shift(ref, m);
    return *shift <= 1e-4 * mesh_diag(ref) && mesh_same_indices(ref, m);
}

static int ran_on_gpu(const backend_facts *f)
{
    return strcmp(f->backend, "cuda") == 0 && f->fallback[0] == 0;
}

/* the mesh stages on volume v (CPU reference given) */
static void parity_volume(const char *name, const orf_volume *v)
{
    orf_mesh ref, m, m16, ref16;
    orf_err e;
    backend_facts f;
    double shift = -1;
    memset(&m, 0, sizeof m);
    memset(&m16, 0, sizeof m16);
    memset(&ref16, 0, sizeof ref16);
    mc_extract(v, &ref, &e);
    int rc = skip_reason ? -1 : backend_mc_extract(&gpu, v, &m, &f, &e);
    PCHECK(rc == 0 && ran_on_gpu(&f) && m.nverts == ref.nverts && m.ntris == ref.ntris,
           "parity mc %s: same counts on cuda (%u vertices, %u triangles)", name, ref.nverts, ref.ntris);
    PCHECK(rc == 0 && close_mesh(&ref, &m, &shift),
           "parity mc %s: same triangles, positions within 1e-4 of the diagonal (max shift %.3g)", name,
           shift);

    /* fp16: the CPU emulation is the reference; then the bound against fp32 */
    orf_volume v16 = *v;
    size_t np = (size_t)v->nx * v->ny * v->nz;
    v16.f = malloc(np * sizeof(float));
    memcpy(v16.f, v->f, np * sizeof(float));
    backend_volume_round_half(&v16);
    mc_extract(&v16, &ref16, &e);
    rc = skip_reason ? -1 : backend_mc_extract(&gpu16, v, &m16, &f, &e);
    PCHECK(rc == 0 && ran_on_gpu(&f) && strcmp(f.precision, "fp16") == 0 && close_mesh(&ref16, &m16, &shift),
           "parity mc fp16 %s: equals the CPU emulation of fp16 storage (max shift %.3g)", name, shift);
    double max_cells = -1, min_s = 0;
    size_t bad = rc == 0 && m16.nverts == ref.nverts ? fp16_bound_violations(v, &ref, &m16, &max_cells, &min_s)
                                                     : 1;
    PCHECK(rc == 0 && m16.ntris == ref.ntris && mesh_same_indices(&ref, &m16) && bad == 0,
           "parity mc fp16 %s: fp32 topology, every vertex within its edge bound (%zu past, max %.3g cells)",
           name, bad, max_cells);

    /* Taubin on the CPU reference mesh */
    orf_mesh s1, s2;
    mc_extract(v, &s1, &e);
    mc_extract(v, &s2, &e);
    mesh_smooth_taubin(&s1, SMOOTH_ITERATIONS, SMOOTH_LAMBDA, SMOOTH_MU, &e);
    rc = skip_reason ? -1 : backend_smooth_taubin(&gpu, &s2, SMOOTH_ITERATIONS, SMOOTH_LAMBDA, SMOOTH_MU, &f, &e);
    PCHECK(rc == 0 && ran_on_gpu(&f) && close_mesh(&s1, &s2, &shift),
           "parity taubin %s: positions within 1e-4 of the diagonal (max shift %.3g)", name, shift);
    mesh_free(&s1);
    mesh_free(&s2);
    mesh_free(&ref);
    mesh_free(&ref16);
    mesh_free(&m);
    mesh_free(&m16);
    volume_free(&v16);
}

static void parity_field(const char *name, const orf_field *fld, int n)
{
    orf_volume v, w;
    orf_err e;
    backend_facts f;
    memset(&w, 0, sizeof w);
    if (volume_sample(fld, n, &v, &e) != 0) {
        CHECK(0, "CPU volume of the %s: %s", name, e.message);
        return;
    }
    int rc = skip_reason ? -1 : backend_volume_sample(&gpu, fld, n, &w, &f, &e);
    size_t np = (size_t)v.nx * v.ny * v.nz, differ = 0;
    float worst = 0;
    if (rc == 0 && w.nx == v.nx && w.ny == v.ny && w.nz == v.nz)
        for (size_t i = 0; i < np; i++)
            if (w.f[i] != v.f[i]) {
                differ++;
                if (fabsf(w.f[i] - v.f[i]) > worst)
                    worst = fabsf(w.f[i] - v.f[i]);
            }
    PCHECK(rc == 0 && ran_on_gpu(&f) && w.nx == v.nx && w.ny == v.ny && w.nz == v.nz && w.x0 == v.x0 &&
               w.z0 == v.z0 && worst <= 1e-6f,
           "parity volume %s: same grid, values within 1e-6 (%zu of %zu differ, worst %.3g)", name, differ,
           np, (double)worst);
    volume_free(&w);
    orf_mesh ref, m;
    double shift = -1;
    mc_extract(&v, &ref, &e);
    memset(&m, 0, sizeof m);
    rc = skip_reason ? -1 : backend_extract(&gpu, fld, n, &m, &f, &e);
    PCHECK(rc == 0 && ran_on_gpu(&f) && close_mesh(&ref, &m, &shift),
           "parity extract %s: sample + mc on the device gives the CPU mesh (max shift %.3g)", name, shift);
    mesh_free(&m);
    mesh_free(&ref);
    parity_volume(name, &v);
    volume_free(&v);
}

static void parity_oom(const orf_field *fld)
{
    orf_mesh ref, m;
    orf_err e;
    backend_facts f;
    memset(&m, 0, sizeof m);
    memset(&ref, 0, sizeof ref);
    int rc = -1;
    unsigned long long live = 1;
    if (!skip_reason) {
        orf_backend cpu = {.kind = BACKEND_CPU};
        backend_extract(&cpu, fld, 64, &ref, NULL, &e);
#ifdef ORFEAS_CUDA
        cuda_test_set_alloc_limit(1u << 20); /* the volume alone needs more */
        rc = backend_extract(&gpu, fld, 64, &m, &f, &e);
        cuda_test_set_alloc_limit(0);
        live = (unsigned long long)cuda_live_bytes();
#endif
    }
    double shift = -1;
    PCHECK(rc == 0 && strcmp(f.backend, "cpu") == 0 && strcmp(f.fallback, "cuda_oom") == 0 &&
               close_mesh(&ref, &m, &shift),
           "parity oom: a real device allocation failure falls back to the CPU (backend cpu, fallback cuda_oom)");
    PCHECK(live == 0, "parity oom: the failed job freed all its device memory (%llu bytes held)", live);
    mesh_free(&m);
    mesh_free(&ref);
}

int main(void)
{
    if (!device_cuda_built())
        skip_reason = "built without CUDA";
    else if (device_cuda_count() <= 0)
        skip_reason = "no CUDA device";
    const char *req = getenv("ORFEAS_REQUIRE_GPU");
    if (req && strcmp(req, "1") == 0)
        CHECK(!skip_reason, "a CUDA device is present (ORFEAS_REQUIRE_GPU=1)%s%s", skip_reason ? ": " : "",
              skip_reason ? skip_reason : "");
    orf_field fld[SHAPE_FIELDS];
    for (int s = 0; s < SHAPE_FIELDS; s++) {
        CHECK(shape_field(s, &fld[s]) == 0, "field of the %s", shape_names[s]);
        parity_field(shape_names[s], &fld[s], 64);
    }
    parity_field("disc at 200", &fld[0], 200);
    orf_volume r;
    shape_random_volume(&r, 72, 777);
    parity_volume(shape_names[SHAPE_FIELDS], &r);
    volume_free(&r);
    parity_oom(&fld[0]);
    for (int s = 0; s < SHAPE_FIELDS; s++)
        field_free(&fld[s]);
    return check_done();
}
