/* backend.c - choosing CPU or CUDA, and running a stage there with the
 * out-of-memory fallback. Builds without CUDA too: then no CUDA symbol is
 * referenced and CUDA is never chosen. */
#include "backend.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "field_internal.h"
#include "hd/half_round.h"
#include "mt.h"
#include "normals.h"
#include "smooth.h"
#include "units.h"
#ifdef ORFEAS_CUDA
#include "cuda_backend.h"
#include "cuda_decimate.h"
#endif

const char *backend_name(backend_kind k)
{
    return k == BACKEND_CUDA ? "cuda" : "cpu";
}

static int env_flag(const char *name)
{
    const char *s = getenv(name);
    return s && *s && strcmp(s, "0") != 0;
}

/* ---- the device, started on a thread of its own ("auto") ----------------------- */

enum { DEV_STARTING = 0, DEV_READY = 1, DEV_NONE = 2 };
static atomic_int dev_state;
static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dev_cond = PTHREAD_COND_INITIALIZER;
static pthread_once_t dev_once = PTHREAD_ONCE_INIT;

static void dev_set(int state)
{
    pthread_mutex_lock(&dev_lock);
    atomic_store(&dev_state, state);
    pthread_cond_broadcast(&dev_cond);
    pthread_mutex_unlock(&dev_lock);
}

static void *dev_start(void *arg)
{
    (void)arg;
    dev_set(device_cuda_count() > 0 && device_cuda_warm() == 0 ? DEV_READY : DEV_NONE);
    return NULL;
}

static void dev_launch(void)
{
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, dev_start, NULL) != 0)
        dev_start(NULL); /* no thread: start it here */
    pthread_attr_destroy(&at);
}

/* The device's state; with `wait`, once it has started or failed to. */
static int dev_get(int wait)
{
    pthread_once(&dev_once, dev_launch);
    int s = atomic_load(&dev_state);
    if (s != DEV_STARTING || !wait)
        return s;
    pthread_mutex_lock(&dev_lock);
    while ((s = atomic_load(&dev_state)) == DEV_STARTING)
        pthread_cond_wait(&dev_cond, &dev_lock);
    pthread_mutex_unlock(&dev_lock);
    return s;
}

int backend_choose(const char *request, orf_backend *b, orf_err *e)
{
    memset(b, 0, sizeof *b);
    b->kind = BACKEND_CPU;
    b->precision = DEVICE_PRECISION_FP32;
    const char *from = "--backend";
    if (!request || !*request) {
        request = getenv("ORFEAS_BACKEND");
        from = "ORFEAS_BACKEND";
        if (!request || !*request) {
            request = "auto";
            from = "default";
        }
    }
    int is_auto = strcasecmp(request, "auto") == 0, is_cuda = strcasecmp(request, "cuda") == 0;
    if (strcasecmp(request, "cpu") == 0)
        return 0;
    if (!is_auto && !is_cuda)
        return orf_fail(e, "bad_request", "%s: unknown backend \"%s\" (auto, cpu or cuda)", from,
                        request);
    if (env_flag("ORFEAS_TEST_CUDA_OOM")) {
        b->kind = BACKEND_CUDA;
        b->simulate_oom = 1;
        return 0;
    }
    if (!device_cuda_built()) {
        if (is_auto)
            return 0;
        return orf_fail(e, "unavailable",
                        "%s: backend cuda asked for, but this build has no CUDA (built without nvcc)",
                        from);
    }
    if (is_auto) {
        /* the device starts on its own thread; each stage decides */
        dev_get(0);
        b->kind = BACKEND_CUDA;
        b->automatic = 1;
        return 0;
    }
    if (device_cuda_count() <= 0) {
        return orf_fail(e, "unavailable",
                        "%s: backend cuda asked for, but no CUDA device answers (no GPU or no driver)",
                        from);
    }
    b->kind = BACKEND_CUDA;
    return 0;
}

/* ---- the fallback machinery ---------------------------------------------------- */

static atomic_int fail_next;

void backend_test_fail_next(int n)
{
    atomic_store(&fail_next, n > 0 ? n : 0);
}

/* 1 when this CUDA stage is to fail with a simulated out-of-memory. */
static int simulated_oom(const orf_backend *b)
{
    if (b && b->simulate_oom)
        return 1;
    int n = atomic_load(&fail_next);
    while (n > 0)
        if (atomic_compare_exchange_weak(&fail_next, &n, n - 1))
            return 1;
    return 0;
}

int backend_cuda_simulated_oom(const orf_backend *b)
{
    return simulated_oom(b);
}

/* The CUDA stages of the process: how many run now, how many ended ever,
 * the device bytes the running ones were admitted with. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static unsigned gate_running;
static uint64_t gate_ended, gate_admitted, gate_waited;
static int64_t gate_test_room = -1; /* backend_test_set_device_room */

void backend_test_set_device_room(int64_t bytes)
{
    pthread_mutex_lock(&gate_lock);
    gate_test_room = bytes;
    pthread_mutex_unlock(&gate_lock);
}

uint64_t backend_admission_waits(void)
{
    pthread_mutex_lock(&gate_lock);
    uint64_t n = gate_waited;
    pthread_mutex_unlock(&gate_lock);
    return n;
}

/* The device bytes a new stage may count on now (gate_lock held): the
 * device's free memory less what the running stages were admitted with and
 * have not allocated yet, times DEVICE_SAFETY. UINT64_MAX when unknown. */
static uint64_t device_room(void)
{
    if (gate_test_room >= 0)
        return (uint64_t)gate_test_room > gate_admitted ? (uint64_t)gate_test_room - gate_admitted : 0;
#ifdef ORFEAS_CUDA
    uint64_t free_bytes = 0;
    if (cuda_mem_free(&free_bytes) != 0)
        return UINT64_MAX;
    uint64_t live = cuda_live_bytes();
    uint64_t pending = gate_admitted > live ? gate_admitted - live : 0;
    free_bytes = free_bytes > pending ? free_bytes - pending : 0;
    return (uint64_t)((double)free_bytes * DEVICE_SAFETY);
#else
    return UINT64_MAX;
#endif
}

/* Wait (gate_lock held) at most BACKEND_OOM_WAIT_MS for a stage to end
 * after the `seen`-th; 1 when one did. */
static int wait_for_an_end(uint64_t seen)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += BACKEND_OOM_WAIT_MS / 1000;
    until.tv_nsec += (long)(BACKEND_OOM_WAIT_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (gate_ended == seen && pthread_cond_timedwait(&gate_cond, &gate_lock, &until) == 0)
        ;
    return gate_ended != seen;
}

/* Wait (gate_lock held) until `need` bytes fit beside the running stages,
 * or none runs, or no stage ended for BACKEND_OOM_WAIT_MS (then it goes
 * ahead: the out-of-memory path is the net). */
static void admit(uint64_t need)
{
    int waited = 0;
    while (need && gate_running > 0 && need > device_room()) {
        waited = 1;
        if (!wait_for_an_end(gate_ended))
            break; /* nobody ended in time */
    }
    gate_waited += (uint64_t)waited;
    gate_running++;
    gate_admitted += need;
}

int backend_cuda_retrying(backend_cuda_try attempt, void *ctx, uint64_t need, int *tries, orf_err *e)
{
    int rc = -1;
    for (int t = 1; t <= BACKEND_OOM_TRIES; t++) {
        pthread_mutex_lock(&gate_lock);
        admit(need);
        uint64_t before = gate_ended;
        pthread_mutex_unlock(&gate_lock);
        rc = attempt(ctx, e);
        pthread_mutex_lock(&gate_lock);
        gate_running--;
        gate_admitted -= need;
        uint64_t seen = ++gate_ended;
        unsigned others = gate_running;
        pthread_cond_broadcast(&gate_cond);
        if (tries)
            *tries = t;
        int again = rc != 0 && !strcmp(e->code, "cuda_oom") && t < BACKEND_OOM_TRIES;
        if (again && seen - before == 1) {
            /* nobody ended while it ran: wait for one that runs now */
            again = others > 0 && wait_for_an_end(seen);
        }
        pthread_mutex_unlock(&gate_lock);
        if (!again)
            return rc;
        orf_err_clear(e);
    }
    return rc;
}

static int use_fp16(const orf_backend *b)
{
    return b->precision == DEVICE_PRECISION_FP16;
}

static void facts_set(backend_facts *f, backend_kind k, int fp16, uint64_t peak, double t0)
{
    if (!f)
        return;
    snprintf(f->backend, sizeof f->backend, "%s", backend_name(k));
    snprintf(f->precision, sizeof f->precision, "%s", fp16 ? "fp16" : "fp32");
    f->device_peak_bytes = peak;
    f->ms = units_now_ms() - t0;
}

typedef enum {
    STAGE_SAMPLE,
    STAGE_MC,
    STAGE_EXTRACT,
    STAGE_SMOOTH,
    STAGE_DECIMATE,
    STAGE_NORMALS,
    STAGE_FIELD
} stage_kind;

typedef struct stage_args {
    const orf_field *fld;
    int n;
    const orf_volume *vin;
    orf_volume *vout;
    orf_mesh *m;
    int iterations;
    float lambda, mu;
    const decimate_opts *dopts;
    decimate_report *drep;
    const float *cov; /* the field solve: coverage in, heights out */
    int w, h;
    double tol;
    float *heights;
    int *cycles;
    double *resid;
} stage_args;

/* The CUDA twin of a stage; "unavailable" in a build without CUDA. */
static int run_cuda(stage_kind s, const stage_args *a, int fp16, uint64_t *peak, orf_err *e)
{
#ifdef ORFEAS_CUDA
    cuda_job_stats st;
    memset(&st, 0, sizeof st);
    int rc = -1;
    switch (s) {
    case STAGE_SAMPLE:
        rc = cuda_volume_sample(a->fld, a->n, fp16, a->vout, &st, e);
        break;
    case STAGE_MC:
        rc = cuda_mt_extract(a->vin, fp16, a->m, &st, e);
        break;
    case STAGE_EXTRACT:
        rc = cuda_field_extract(a->fld, a->n, fp16, a->m, &st, e);
        break;
    case STAGE_SMOOTH:
        rc = cuda_smooth_taubin(a->m, a->iterations, a->lambda, a->mu, &st, e);
        break;
    case STAGE_DECIMATE:
        rc = cuda_mesh_decimate(a->m, a->dopts, a->drep, &st, e);
        break;
    case STAGE_NORMALS:
        rc = cuda_mesh_normals(a->m, &st, e);
        break;
    case STAGE_FIELD:
        rc = cuda_field_inflate_solve(a->cov, a->w, a->h, a->tol, a->heights, a->cycles, a->resid, &st, e);
        break;
    }
    *peak = st.peak_bytes;
    return rc;
#else
    (void)s;
    (void)a;
    (void)fp16;
    *peak = 0;
    return orf_fail(e, "unavailable", "this build has no CUDA backend");
#endif
}

/* What stage s holds on the device at its peak, for admission: the
 * estimates of device.h (a grid: the volume's real point count) and of the
 * kernels' headers (a mesh: cuda_smooth.cu 41 bytes a vertex and 36 a
 * triangle, cuda_decimate.h 120 and 142, cuda_normals.cu 28 and 72 with
 * the sort's scratch; a field solve, cuda_field.cu's levels). */
static uint64_t stage_bytes(stage_kind s, const stage_args *a, device_precision p)
{
    uint64_t nv = a->m ? a->m->nverts : 0, nt = a->m ? a->m->ntris : 0;
    switch (s) {
    case STAGE_SAMPLE:
    case STAGE_EXTRACT: {
        orf_volume v; /* the grid the field makes at n: its real depth */
        orf_err e;
        if (volume_layout(a->fld, a->n, &v, &e) != 0)
            return device_job_bytes(a->n, p);
        return device_grid_job_bytes((uint64_t)v.nx * (uint64_t)v.ny * (uint64_t)v.nz, a->n, p);
    }
    case STAGE_MC: {
        int n = a->vin->nx > a->vin->ny ? a->vin->nx : a->vin->ny;
        return device_grid_job_bytes((uint64_t)a->vin->nx * (uint64_t)a->vin->ny * (uint64_t)a->vin->nz,
                                     n > 4 ? n - 4 : n, p);
    }
    case STAGE_SMOOTH:
        return 41 * nv + 36 * nt;
    case STAGE_DECIMATE:
        return 120 * nv + 142 * nt;
    case STAGE_NORMALS: /* the sort's scratch keeps spare keys and values */
        return 28 * nv + 72 * nt;
    case STAGE_FIELD: /* five doubles and a byte a cell, the coarser levels a third more */
        return (uint64_t)(a->w + 2) * (uint64_t)(a->h + 2) * 41 * 4 / 3 + 8 * (uint64_t)a->h;
    }
    return 0;
}

/* run_cuda as a backend_cuda_try */
typedef struct cuda_try_args {
    stage_kind s;
    const stage_args *a;
    int fp16;
    uint64_t peak;
} cuda_try_args;

static int cuda_try(void *ctx, orf_err *e)
{
    cuda_try_args *t = ctx;
    return run_cuda(t->s, t->a, t->fp16, &t->peak, e);
}

static int run_cpu(stage_kind s, const stage_args *a, orf_err *e)
{
    switch (s) {
    case STAGE_SAMPLE:
        return volume_sample(a->fld, a->n, a->vout, e);
    case STAGE_MC:
        return mt_extract(a->vin, a->m, e);
    case STAGE_EXTRACT: {
        orf_volume v;
        memset(a->m, 0, sizeof *a->m);
        if (volume_sample(a->fld, a->n, &v, e) != 0)
            return -1;
        int rc = mt_extract(&v, a->m, e);
        volume_free(&v);
        return rc;
    }
    case STAGE_SMOOTH:
        return mesh_smooth_taubin(a->m, a->iterations, a->lambda, a->mu, e);
    case STAGE_DECIMATE:
        return mesh_decimate(a->m, a->dopts, a->drep, e);
    case STAGE_NORMALS:
        return mesh_compute_normals(a->m, e);
    case STAGE_FIELD:
        return field_inflate_solve(a->cov, a->w, a->h, a->tol, a->heights, a->cycles, a->resid, e);
    }
    return orf_fail(e, "bad_request", "unknown stage");
}

static int run_stage(const orf_backend *b, stage_kind s, const stage_args *a, backend_facts *facts,
                     orf_err *e)
{
    double t0 = units_now_ms();
    if (facts)
        memset(facts, 0, sizeof *facts);
    int cuda = b && b->kind == BACKEND_CUDA;
    if (cuda && b->automatic) {
        /* see backend.h, "Automatic" */
        if (s == STAGE_SAMPLE)
            cuda = 0;
        else
            cuda = dev_get(!((s == STAGE_EXTRACT && a->n <= BACKEND_AUTO_WAIT_GRID) || s == STAGE_FIELD)) ==
                   DEV_READY;
    }
    if (cuda) {
        int fp16 = use_fp16(b);
        orf_err ce;
        orf_err_clear(&ce);
        cuda_try_args t = {s, a, fp16, 0};
        int rc = simulated_oom(b) ? orf_fail(&ce, "cuda_oom", "simulated CUDA out of memory (test hook)")
                                  : backend_cuda_retrying(cuda_try, &t, stage_bytes(s, a, b->precision), NULL, &ce);
        if (rc == 0) {
            facts_set(facts, BACKEND_CUDA, fp16, t.peak, t0);
            return 0;
        }
        if (strcmp(ce.code, "cuda_oom") != 0) {
            if (e)
                *e = ce;
            return -1;
        }
        if (facts)
            snprintf(facts->fallback, sizeof facts->fallback, "cuda_oom");
    }
    int rc = run_cpu(s, a, e);
    if (rc == 0)
        facts_set(facts, BACKEND_CPU, 0, 0, t0);
    return rc;
}

int backend_volume_sample(const orf_backend *b, const orf_field *fld, int n, orf_volume *v,
                          backend_facts *facts, orf_err *e)
{
    stage_args a = {.fld = fld, .n = n, .vout = v};
    return run_stage(b, STAGE_SAMPLE, &a, facts, e);
}

int backend_mt_extract(const orf_backend *b, const orf_volume *v, orf_mesh *m,
                       backend_facts *facts, orf_err *e)
{
    stage_args a = {.vin = v, .m = m};
    return run_stage(b, STAGE_MC, &a, facts, e);
}

int backend_extract(const orf_backend *b, const orf_field *fld, int n, orf_mesh *m,
                    backend_facts *facts, orf_err *e)
{
    stage_args a = {.fld = fld, .n = n, .m = m};
    return run_stage(b, STAGE_EXTRACT, &a, facts, e);
}

int backend_smooth_taubin(const orf_backend *b, orf_mesh *m, int iterations, float lambda, float mu,
                          backend_facts *facts, orf_err *e)
{
    stage_args a = {.m = m, .iterations = iterations, .lambda = lambda, .mu = mu};
    return run_stage(b, STAGE_SMOOTH, &a, facts, e);
}

int backend_decimate(const orf_backend *b, orf_mesh *m, const decimate_opts *o, decimate_report *r,
                     backend_facts *facts, orf_err *e)
{
    stage_args a = {.m = m, .dopts = o, .drep = r};
    return run_stage(b, STAGE_DECIMATE, &a, facts, e);
}

int backend_compute_normals(const orf_backend *b, orf_mesh *m, backend_facts *facts, orf_err *e)
{
    stage_args a = {.m = m};
    return run_stage(b, STAGE_NORMALS, &a, facts, e);
}

int backend_field_solve(const orf_backend *b, const float *cov, int w, int h, double tol, float *heights,
                        int *cycles, double *resid, backend_facts *facts, orf_err *e)
{
    stage_args a = {.cov = cov, .w = w, .h = h, .tol = tol, .heights = heights, .cycles = cycles, .resid = resid};
    return run_stage(b, STAGE_FIELD, &a, facts, e);
}

int backend_field_solver(void *ctx, const float *cov, int w, int h, double tol, float *heights, int *cycles,
                         double *resid, orf_err *e)
{
    return backend_field_solve((const orf_backend *)ctx, cov, w, h, tol, heights, cycles, resid, NULL, e);
}

void backend_volume_round_half(orf_volume *v)
{
    size_t n = (size_t)v->nx * (size_t)v->ny * (size_t)v->nz;
    if (!v->f)
        return;
    for (size_t i = 0; i < n; i++)
        v->f[i] = half_round(v->f[i]);
}
