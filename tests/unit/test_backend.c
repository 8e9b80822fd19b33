/* test_backend.c - backend selection, the cuda_oom fallback (through the test
 * hooks, no GPU needed) and the fp16 storage bound (CPU emulation of the
 * kernels' rounding) on the test shapes. */
#include <math.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "check.h"
#include "cuda_shapes.h"
#include "mt.h"
#include "smooth.h"

static void test_choose(void)
{
    orf_backend b;
    orf_err e;
    CHECK(strcmp(backend_name(BACKEND_CPU), "cpu") == 0 && strcmp(backend_name(BACKEND_CUDA), "cuda") == 0,
          "backend names are cpu and cuda");
    unsetenv("ORFEAS_BACKEND");
    unsetenv("ORFEAS_TEST_CUDA_OOM");
    CHECK(backend_choose("cpu", &b, &e) == 0 && b.kind == BACKEND_CPU &&
              b.precision == DEVICE_PRECISION_FP32,
          "cpu chooses the CPU, fp32");
    CHECK(backend_choose("CPU", &b, &e) == 0 && b.kind == BACKEND_CPU, "names are case-insensitive");
    int rc = backend_choose("gpu", &b, &e);
    CHECK(rc == -1 && strcmp(e.code, "bad_request") == 0 && strstr(e.message, "\"gpu\"") &&
              strstr(e.message, "--backend") && b.kind == BACKEND_CPU,
          "an unknown backend is bad_request naming it and the option (%s)", e.message);
    int have = device_cuda_built() && device_cuda_count() > 0;
    /* auto in a CUDA build decides stage by stage (backend.h, "Automatic") */
    int built = device_cuda_built();
    CHECK(backend_choose("auto", &b, &e) == 0 && b.kind == (built ? BACKEND_CUDA : BACKEND_CPU) &&
              b.automatic == built,
          "auto is automatic in a CUDA build, the CPU in one without (built with CUDA: %d)", built);
    CHECK(backend_choose(NULL, &b, &e) == 0 && b.automatic == built,
          "no request and no ORFEAS_BACKEND means auto");
    {
        /* stage by stage: sampling alone never on the device; the rest where
         * the device is (here: %s) */
        orf_field af;
        memset(&af, 0, sizeof af);
        orf_backend ab;
        backend_choose("auto", &ab, &e);
        CHECK(shape_field(0, &af) == 0, "a disc field");
        orf_volume av;
        backend_facts bf;
        CHECK(backend_volume_sample(&ab, &af, 32, &av, &bf, &e) == 0 && !strcmp(bf.backend, "cpu"),
              "auto samples a volume alone on the CPU (the voxel stage waits for no device)");
        volume_free(&av);
        orf_mesh am = {0};
        CHECK(backend_extract(&ab, &af, 96, &am, &bf, &e) == 0 &&
                  !strcmp(bf.backend, have ? bf.backend : "cpu") && am.ntris > 0,
              "auto extracts where the device is (%s)", bf.backend);
        mesh_free(&am);
        CHECK(backend_extract(&ab, &af, 192, &am, &bf, &e) == 0 &&
                  !strcmp(bf.backend, have ? "cuda" : "cpu"),
              "auto waits for the device on a fine grid: %s", bf.backend);
        mesh_free(&am);
        field_free(&af);
    }
    rc = backend_choose("cuda", &b, &e);
    if (have)
        CHECK(rc == 0 && b.kind == BACKEND_CUDA, "cuda with a device chooses CUDA");
    else
        CHECK(rc == -1 && strcmp(e.code, "unavailable") == 0 && b.kind == BACKEND_CPU,
              "cuda without a device is unavailable (%s)", e.message);
    setenv("ORFEAS_BACKEND", "cpu", 1);
    CHECK(backend_choose(NULL, &b, &e) == 0 && b.kind == BACKEND_CPU, "ORFEAS_BACKEND=cpu is honoured");
    CHECK(backend_choose("", &b, &e) == 0 && b.kind == BACKEND_CPU, "an empty request reads ORFEAS_BACKEND");
    setenv("ORFEAS_BACKEND", "fast", 1);
    rc = backend_choose(NULL, &b, &e);
    CHECK(rc == -1 && strcmp(e.code, "bad_request") == 0 && strstr(e.message, "ORFEAS_BACKEND") &&
              strstr(e.message, "fast"),
          "a bad ORFEAS_BACKEND is bad_request naming the variable (%s)", e.message);
    CHECK(backend_choose("cpu", &b, &e) == 0 && b.kind == BACKEND_CPU,
          "an explicit request wins over ORFEAS_BACKEND");
    setenv("ORFEAS_BACKEND", "cuda", 1);
    rc = backend_choose(NULL, &b, &e);
    CHECK(have ? rc == 0 : (rc == -1 && strcmp(e.code, "unavailable") == 0 && strstr(e.message, "ORFEAS_BACKEND")),
          "ORFEAS_BACKEND=cuda without a device is unavailable naming the variable");
    unsetenv("ORFEAS_BACKEND");
}

static int same_mesh(const orf_mesh *a, const orf_mesh *b)
{
    return a->nverts == b->nverts && a->ntris == b->ntris &&
           (a->nverts == 0 || memcmp(a->pos, b->pos, (size_t)a->nverts * 12) == 0) && mesh_same_indices(a, b);
}

static void test_fallback(const orf_field *fld)
{
    orf_backend b;
    orf_err e;
    orf_mesh ref, m;
    backend_facts f;
    orf_volume v;
    CHECK(volume_sample(fld, 40, &v, &e) == 0 && mt_extract(&v, &ref, &e) == 0 && ref.ntris > 0,
          "CPU reference mesh of the disc (%u triangles)", ref.ntris);

    CHECK(backend_choose("cpu", &b, &e) == 0 && backend_mt_extract(&b, &v, &m, &f, &e) == 0 &&
              same_mesh(&m, &ref) && strcmp(f.backend, "cpu") == 0 && f.fallback[0] == 0 &&
              strcmp(f.precision, "fp32") == 0 && f.device_peak_bytes == 0,
          "the cpu backend gives mt_extract's mesh and says backend cpu, no fallback");
    mesh_free(&m);

    setenv("ORFEAS_TEST_CUDA_OOM", "1", 1);
    int rc = backend_choose("cuda", &b, &e);
    unsetenv("ORFEAS_TEST_CUDA_OOM");
    CHECK(rc == 0 && b.kind == BACKEND_CUDA && b.simulate_oom, "ORFEAS_TEST_CUDA_OOM=1 makes cuda choosable");
    memset(&f, 0x55, sizeof f);
    rc = backend_extract(&b, fld, 40, &m, &f, &e);
    CHECK(rc == 0 && same_mesh(&m, &ref) && strcmp(f.backend, "cpu") == 0 &&
              strcmp(f.fallback, "cuda_oom") == 0 && strcmp(f.precision, "fp32") == 0,
          "a CUDA out-of-memory reruns the stage on the CPU: backend cpu, fallback cuda_oom, same mesh");
    mesh_free(&m);
    orf_volume w;
    rc = backend_volume_sample(&b, fld, 40, &w, &f, &e);
    CHECK(rc == 0 && w.nx == v.nx && w.ny == v.ny && w.nz == v.nz &&
              memcmp(w.f, v.f, (size_t)v.nx * v.ny * v.nz * sizeof(float)) == 0 &&
              strcmp(f.fallback, "cuda_oom") == 0,
          "volume sampling falls back the same way");
    volume_free(&w);

    /* the C hook: a CUDA backend without a device, the next stage fails */
    orf_backend c = {.kind = BACKEND_CUDA, .precision = DEVICE_PRECISION_FP16};
    backend_test_fail_next(1);
    rc = backend_mt_extract(&c, &v, &m, &f, &e);
    CHECK(rc == 0 && same_mesh(&m, &ref) && strcmp(f.fallback, "cuda_oom") == 0 &&
              strcmp(f.precision, "fp32") == 0,
          "backend_test_fail_next: fallback on the CPU, which samples fp32");
    mesh_free(&m);
    rc = backend_mt_extract(&b, &v, &m, &f, &e); /* b simulates; the counter must be spent */
    mesh_free(&m);
    CHECK(backend_choose("cpu", &b, &e) == 0 && backend_mt_extract(&b, &v, &m, &f, &e) == 0 &&
              f.fallback[0] == 0,
          "the hook's count is spent after one stage");
    mesh_free(&m);

    /* smoothing: fallback, and the parameter errors stay errors */
    orf_mesh s1, s2;
    mt_extract(&v, &s1, &e);
    mt_extract(&v, &s2, &e);
    mesh_smooth_taubin(&s1, 3, SMOOTH_LAMBDA, SMOOTH_MU, &e);
    backend_test_fail_next(1);
    rc = backend_smooth_taubin(&c, &s2, 3, SMOOTH_LAMBDA, SMOOTH_MU, &f, &e);
    CHECK(rc == 0 && same_mesh(&s1, &s2) && strcmp(f.fallback, "cuda_oom") == 0,
          "Taubin smoothing falls back with the same positions");
    b.kind = BACKEND_CPU;
    rc = backend_smooth_taubin(&b, &s2, 3, 0.5f, 0.2f, &f, &e);
    CHECK(rc == -1 && strcmp(e.code, "bad_request") == 0, "bad Taubin parameters are bad_request");
    mesh_free(&s1);
    mesh_free(&s2);

    /* an error that is not an OOM is not hidden */
    orf_backend d = {.kind = BACKEND_CUDA};
    rc = backend_mt_extract(&d, &v, &m, &f, &e);
    if (!device_cuda_built())
        CHECK(rc == -1 && strcmp(e.code, "unavailable") == 0 && m.nverts == 0,
              "CUDA forced in a build without it: unavailable, no CPU retry (%s)", e.message);
    else if (device_cuda_count() == 0)
        CHECK(rc == -1 && strcmp(e.code, "cuda_error") == 0 && m.nverts == 0,
              "CUDA forced without a device: cuda_error, no CPU retry (%s)", e.message);
    else
        CHECK(rc == 0 && strcmp(f.backend, "cuda") == 0, "CUDA forced with a device runs there");
    mesh_free(&m);
    mesh_free(&ref);
    volume_free(&v);
}

static void test_half(void)
{
    size_t n = 0, bad = 0, badbound = 0;
    for (uint64_t u = 0; u < 0x100000000ull; u += 4099) {
        float x;
        uint32_t w = (uint32_t)u;
        memcpy(&x, &w, sizeof x);
        if (x != x)
            continue;
        float got = half_round(x), ref = (float)(_Float16)x;
        n++;
        if (fabsf(x) >= 65520.0f)
            bad += got != copysignf(65504.0f, x);
        else if (x > 0 && ref == 0)
            bad += got != 5.9604644775390625e-8f;
        else
            bad += got != ref || signbit(got) != signbit(ref);
        if (fabsf(x) <= 65504.0f &&
            fabs((double)got - x) > HALF_REL_ERROR * fabs((double)x) + HALF_ABS_ERROR)
            badbound++;
    }
    CHECK(bad == 0, "half_round agrees with the compiler's _Float16 on %zu floats (%zu differ), "
                    "except the sign-preserving and saturating cases", n, bad);
    CHECK(badbound == 0, "every rounding error is within 2^-11 |x| + 2^-24 (%zu past)", badbound);
    CHECK(half_round(1e-12f) > 0 && half_round(-1e-12f) <= 0 && half_round(0.0f) == 0,
          "tiny positive samples stay inside (f > 0), tiny negative ones outside");
    CHECK(half_round(1e6f) == 65504.0f && half_round(-INFINITY) == -65504.0f, "large values saturate");
    CHECK(half_round(1.0f) == 1.0f && half_round(0.1f) == 0.0999755859375f &&
              half_round(1.0f + 1.0f / 4096) == 1.0f,
          "round to nearest, ties to even");
    double bnd = half_edge_shift_bound(0.001f, -0.001f);
    CHECK(bnd >= 2.44140625e-4 && bnd <= (2.44140625e-4 + 5.9604644775390625e-8 / 0.002) * (1 + 1.0 / 512) &&
              half_edge_shift_bound(0, 0) == 1.0,
          "the edge bound is (2^-12 + 2^-24/S)(1 + 2^-9) of the edge (%.3g at S = 0.002), the whole edge "
          "for S = 0", bnd);
}

/* fp16 on the CPU: the kernels' storage emulated, checked against the bound */
static void test_fp16_bound(const char *name, const orf_volume *v32)
{
    orf_volume v16 = *v32;
    size_t np = (size_t)v32->nx * v32->ny * v32->nz;
    v16.f = malloc(np * sizeof(float));
    memcpy(v16.f, v32->f, np * sizeof(float));
    backend_volume_round_half(&v16);
    size_t changed = 0;
    for (size_t i = 0; i < np; i++)
        changed += v16.f[i] != v32->f[i];
    orf_mesh a, b;
    orf_err e;
    mt_extract(v32, &a, &e);
    mt_extract(&v16, &b, &e);
    CHECK(changed > 0 && a.nverts == b.nverts && a.ntris == b.ntris && mesh_same_indices(&a, &b),
          "fp16 %s: same topology (%u vertices, %u triangles; %zu of %zu samples changed)", name,
          a.nverts, a.ntris, changed, np);
    double max_cells = 0, min_s = 0;
    size_t bad = a.nverts == b.nverts ? fp16_bound_violations(v32, &a, &b, &max_cells, &min_s) : 1;
    CHECK(bad == 0, "fp16 %s: every vertex within its edge bound (%zu past; max shift %.3g cells)", name,
          bad, max_cells);
    if (min_s >= 1.0 / 8192)
        CHECK(max_cells <= sqrt(3.0) * (2.44140625e-4 + 5.9604644775390625e-8 / min_s) * (1 + 1.0 / 512) + 1e-5,
              "fp16 %s: max shift %.3g cells <= sqrt(3) (2^-12 + 2^-24/S) (1 + 2^-9) cells (S = min |a|+|b| = %.3g)",
              name, max_cells, min_s);
    else
        CHECK(max_cells < 0.5, "fp16 %s: max shift %.3g cells < 0.5 (min |a|+|b| %.3g is below 2^-13)",
              name, max_cells, min_s);
    mesh_free(&a);
    mesh_free(&b);
    volume_free(&v16);
}

/* ---- waiting for device memory (backend_cuda_retrying, with a fake device) ---- */

typedef struct fake_dev {
    pthread_mutex_t m;
    int free;     /* bytes left */
    int release;  /* the holding job may end */
} fake_dev;

typedef struct fake_job {
    fake_dev *d;
    int need, hold; /* hold: wait for d->release before ending */
    int tried;      /* tries made so far (read by the test) */
    int rc, tries;
    int done; /* backend_cuda_retrying returned */
    char code[32];
    uint64_t admit; /* the estimate it is admitted with */
} fake_job;

static int fake_try(void *ctx, orf_err *e)
{
    fake_job *j = ctx;
    pthread_mutex_lock(&j->d->m);
    __atomic_add_fetch(&j->tried, 1, __ATOMIC_SEQ_CST);
    if (j->d->free < j->need) {
        pthread_mutex_unlock(&j->d->m);
        return orf_fail(e, "cuda_oom", "fake device: %d bytes wanted, %d free", j->need, j->d->free);
    }
    j->d->free -= j->need;
    pthread_mutex_unlock(&j->d->m);
    while (j->hold && !__atomic_load_n(&j->d->release, __ATOMIC_SEQ_CST))
        usleep(1000);
    pthread_mutex_lock(&j->d->m);
    j->d->free += j->need;
    pthread_mutex_unlock(&j->d->m);
    return 0;
}

static void *fake_thread(void *p)
{
    fake_job *j = p;
    orf_err e;
    orf_err_clear(&e);
    j->rc = backend_cuda_retrying(fake_try, j, j->admit, &j->tries, &e);
    snprintf(j->code, sizeof j->code, "%s", j->rc ? e.code : "");
    __atomic_store_n(&j->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static int fake_fail(void *ctx, orf_err *e)
{
    (*(int *)ctx)++;
    return orf_fail(e, "cuda_error", "fake device: broken");
}

/* Start job j on a thread of its own and wait until it has made its first try. */
static void start_trying(fake_job *j, pthread_t *t)
{
    pthread_create(t, NULL, fake_thread, j);
    while (__atomic_load_n(&j->tried, __ATOMIC_SEQ_CST) == 0)
        usleep(1000);
}

static void test_oom_wait(void)
{
    fake_dev d = {PTHREAD_MUTEX_INITIALIZER, 100, 0};
    /* A holds 60 of 100 until released; B, wanting 60, runs out, waits for
     * A to end, and gets the memory on its next try */
    fake_job a = {&d, 60, 1, 0, -1, 0, 0, "", 0}, b = {&d, 60, 0, 0, -1, 0, 0, "", 0};
    pthread_t ta, tb;
    start_trying(&a, &ta);
    start_trying(&b, &tb);
    usleep(20000);
    CHECK(!__atomic_load_n(&b.done, __ATOMIC_SEQ_CST) && b.tried == 1,
          "a try that ran out while another stage holds the memory waits (it has not returned)");
    __atomic_store_n(&d.release, 1, __ATOMIC_SEQ_CST);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(a.rc == 0 && a.tries == 1 && b.rc == 0 && b.tries == 2 && d.free == 100,
          "out of device memory, it waits for the other stage to end and then gets it (tries %d and %d)",
          a.tries, b.tries);
    /* alone, wanting more than the device has: no wait, cuda_oom at once */
    fake_job c = {&d, 200, 0, 0, -1, 0, 0, "", 0};
    fake_thread(&c);
    CHECK(c.rc == -1 && c.tries == 1 && !strcmp(c.code, "cuda_oom"),
          "with no other stage running, an out-of-memory try is the last (tries %d, %s): the CPU redoes it",
          c.tries, c.code);
    /* a broken device is not retried */
    int n = 0, tries = 0;
    orf_err e;
    CHECK(backend_cuda_retrying(fake_fail, &n, 0, &tries, &e) == -1 && n == 1 && tries == 1 &&
              !strcmp(e.code, "cuda_error"),
          "another CUDA error is returned after one try (%d)", n);
}

/* Admission: with a device of 100 bytes room, B (estimate 60) does not
 * start while A (60) runs, and starts once A ends, without running out;
 * C (200), alone, starts at once. */
static void test_admission(void)
{
    fake_dev d = {PTHREAD_MUTEX_INITIALIZER, 1000, 0};
    backend_test_set_device_room(100);
    uint64_t waits0 = backend_admission_waits();
    fake_job a = {&d, 60, 1, 0, -1, 0, 0, "", 60}, b = {&d, 60, 0, 0, -1, 0, 0, "", 60};
    pthread_t ta, tb;
    start_trying(&a, &ta);
    pthread_create(&tb, NULL, fake_thread, &b);
    usleep(50000);
    CHECK(__atomic_load_n(&b.tried, __ATOMIC_SEQ_CST) == 0 && !__atomic_load_n(&b.done, __ATOMIC_SEQ_CST),
          "a stage whose estimate does not fit beside a running one waits before it starts");
    __atomic_store_n(&d.release, 1, __ATOMIC_SEQ_CST);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(a.rc == 0 && b.rc == 0 && a.tries == 1 && b.tries == 1 && backend_admission_waits() == waits0 + 1,
          "it starts once the other ends, on its first try, one wait counted (tries %d, %d; waits %llu)",
          a.tries, b.tries, (unsigned long long)(backend_admission_waits() - waits0));
    fake_job c = {&d, 10, 0, 0, -1, 0, 0, "", 200};
    fake_thread(&c);
    CHECK(c.rc == 0 && c.tries == 1 && backend_admission_waits() == waits0 + 1,
          "a stage alone starts at once, even with an estimate larger than the room");
    /* two that fit together run together */
    d.release = 0;
    fake_job p = {&d, 40, 1, 0, -1, 0, 0, "", 40}, q = {&d, 40, 0, 0, -1, 0, 0, "", 40};
    pthread_t tp;
    start_trying(&p, &tp);
    fake_thread(&q);
    CHECK(q.rc == 0 && !__atomic_load_n(&p.done, __ATOMIC_SEQ_CST) && backend_admission_waits() == waits0 + 1,
          "two stages whose estimates fit together run at once");
    __atomic_store_n(&d.release, 1, __ATOMIC_SEQ_CST);
    pthread_join(tp, NULL);
    backend_test_set_device_room(-1);
}

int main(void)
{
    test_choose();
    test_half();
    orf_field fld[SHAPE_FIELDS];
    for (int s = 0; s < SHAPE_FIELDS; s++)
        CHECK(shape_field(s, &fld[s]) == 0, "field of the %s", shape_names[s]);
    test_fallback(&fld[0]);
    for (int s = 0; s < SHAPE_FIELDS; s++) {
        orf_volume v;
        orf_err e;
        if (volume_sample(&fld[s], 64, &v, &e) == 0) {
            test_fp16_bound(shape_names[s], &v);
            volume_free(&v);
        }
        field_free(&fld[s]);
    }
    orf_volume r;
    shape_random_volume(&r, 48, 12345);
    test_fp16_bound(shape_names[SHAPE_FIELDS], &r);
    volume_free(&r);
    test_oom_wait();
    test_admission();
    return check_done();
}
