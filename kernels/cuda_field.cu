/* cuda_field.cu - the inflation field's multigrid solve on the GPU
 * (cuda_field_inflate_solve): the levels are built on the host (mg_build,
 * the CPU's code), copied to the device once, and solved there with the
 * CPU's control flow (mg_solve) over kernels that call the per-cell steps
 * of hd/mg_cell.h; only the fine level's row sums of r^2 come back each
 * cycle (summed on the host in row order, as the CPU sums them) and the
 * fine iterate at the end. Red-black sweeps update a colour's cells all at
 * once, which gives what the CPU's in-order sweep gives (hd/mg_cell.h);
 * levels of at most MG_ONE_BLOCK cells run all their sweeps in one launch
 * of one block.
 */
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/mg_cell.h"

extern "C" {
#include "err.h"
#include "field_internal.h"
}

#include "cuda_backend.h"
#include "cuda_job.h"

#define MG_ONE_BLOCK 4096

/* a level on the device */
struct dlevel {
    int w, h;
    ptrdiff_t s;
    double off;
    const uint8_t *in;
    const double *idiag, *diag;
    double *u, *b, *r;
};

static __device__ __forceinline__ void cell_xy(const dlevel &L, uint64_t t, int *x, int *y, size_t *i)
{
    *x = (int)(t % (uint64_t)L.w);
    *y = (int)(t / (uint64_t)L.w);
    *i = mg_at(L.s, *x, *y);
}

static __global__ void k_mg_smooth(dlevel L, int colour)
{
    FOR_EACH(t, (uint64_t)L.w * L.h)
    {
        int x, y;
        size_t i;
        cell_xy(L, t, &x, &y, &i);
        if (L.in[i] && mg_colour(x, y, colour))
            mg_cell_smooth(L.u, L.b, L.idiag, L.s, L.off, i);
    }
}

/* all `sweeps` sweeps of a small level in one block */
static __global__ void k_mg_smooth_block(dlevel L, int sweeps)
{
    uint64_t n = (uint64_t)L.w * L.h;
    for (int k = 0; k < sweeps; k++)
        for (int colour = 0; colour < 2; colour++) {
            for (uint64_t t = threadIdx.x; t < n; t += blockDim.x) {
                int x, y;
                size_t i;
                cell_xy(L, t, &x, &y, &i);
                if (L.in[i] && mg_colour(x, y, colour))
                    mg_cell_smooth(L.u, L.b, L.idiag, L.s, L.off, i);
            }
            __syncthreads();
        }
}

static __global__ void k_mg_residual(dlevel L)
{
    FOR_EACH(t, (uint64_t)L.w * L.h)
    {
        int x, y;
        size_t i;
        cell_xy(L, t, &x, &y, &i);
        if (L.in[i])
            L.r[i] = mg_cell_residual(L.u, L.b, L.diag, L.s, L.off, i);
    }
}

/* each row's sum of r^2 over its interior cells, in x order (as mg_residual) */
static __global__ void k_mg_rowsum(dlevel L, double *rows)
{
    FOR_EACH(y, (uint64_t)L.h)
    {
        double acc = 0;
        for (int x = 0; x < L.w; x++) {
            size_t i = mg_at(L.s, x, (int)y);
            if (L.in[i]) {
                double r = L.r[i];
                acc += r * r;
            }
        }
        rows[y] = acc;
    }
}

static __global__ void k_mg_restrict(dlevel F, dlevel C)
{
    FOR_EACH(t, (uint64_t)C.w * C.h)
    {
        int x, y;
        size_t i;
        cell_xy(C, t, &x, &y, &i);
        C.u[i] = 0;
        C.b[i] = C.in[i] ? mg_cell_restrict(F.r, F.s, x, y) : 0.0;
    }
}

static __global__ void k_mg_prolong(dlevel L, dlevel C, int add)
{
    FOR_EACH(t, (uint64_t)L.w * L.h)
    {
        int x, y;
        size_t i;
        cell_xy(L, t, &x, &y, &i);
        if (L.in[i]) {
            double e = mg_cell_prolong(C.u, C.s, x, y);
            L.u[i] = add ? L.u[i] + e : e;
        }
    }
}

static __global__ void k_mg_rhs(dlevel C)
{
    FOR_EACH(t, (uint64_t)C.w * C.h)
    {
        int x, y;
        size_t i;
        cell_xy(C, t, &x, &y, &i);
        C.b[i] = C.in[i] ? 4.0 : 0.0;
    }
}

struct gpu_mg {
    job *J;
    dlevel d[MG_MAX_LEVELS];
    double *d_rows, *h_rows;
    cudaError_t err; /* the first failure; the steps do nothing after one */
};

static bool mg_failed(gpu_mg *g, cudaError_t r, const char *where)
{
    if (g->err == cudaSuccess && r != cudaSuccess) {
        g->err = r;
        g->J->where = where;
    }
    return g->err != cudaSuccess;
}

#define MG_LAUNCH(g, name, n, kernel, ...)                                                         \
    do {                                                                                           \
        if ((g)->err == cudaSuccess) {                                                             \
            kernel<<<blocks_for(n), THREADS, 0, (g)->J->stream>>>(__VA_ARGS__);                    \
            mg_failed((g), cudaGetLastError(), name);                                              \
        }                                                                                          \
    } while (0)

static void gpu_smooth(void *ctx, int l, int sweeps)
{
    gpu_mg *g = (gpu_mg *)ctx;
    const dlevel &L = g->d[l];
    if (g->err != cudaSuccess)
        return;
    if ((uint64_t)L.w * L.h <= MG_ONE_BLOCK) {
        k_mg_smooth_block<<<1, THREADS, 0, g->J->stream>>>(L, sweeps);
        mg_failed(g, cudaGetLastError(), "k_mg_smooth_block");
        return;
    }
    for (int k = 0; k < sweeps; k++)
        for (int colour = 0; colour < 2; colour++)
            MG_LAUNCH(g, "k_mg_smooth", (uint64_t)L.w * L.h, k_mg_smooth, L, colour);
}

static double gpu_residual(void *ctx, int l, int sum)
{
    gpu_mg *g = (gpu_mg *)ctx;
    const dlevel &L = g->d[l];
    MG_LAUNCH(g, "k_mg_residual", (uint64_t)L.w * L.h, k_mg_residual, L);
    if (!sum)
        return 0;
    MG_LAUNCH(g, "k_mg_rowsum", (uint64_t)L.h, k_mg_rowsum, L, g->d_rows);
    if (g->err != cudaSuccess)
        return 0;
    if (mg_failed(g, cudaMemcpyAsync(g->h_rows, g->d_rows, (size_t)L.h * sizeof(double), cudaMemcpyDeviceToHost,
                                     g->J->stream),
                  "cudaMemcpyAsync (row sums)") ||
        mg_failed(g, cudaStreamSynchronize(g->J->stream), "cudaStreamSynchronize (row sums)"))
        return 0;
    double s = 0;
    for (int y = 0; y < L.h; y++)
        s += g->h_rows[y];
    return s;
}

static void gpu_restrict(void *ctx, int l)
{
    gpu_mg *g = (gpu_mg *)ctx;
    MG_LAUNCH(g, "k_mg_restrict", (uint64_t)g->d[l].w * g->d[l].h, k_mg_restrict, g->d[l - 1], g->d[l]);
}

static void gpu_prolong(void *ctx, int l, int add)
{
    gpu_mg *g = (gpu_mg *)ctx;
    MG_LAUNCH(g, "k_mg_prolong", (uint64_t)g->d[l].w * g->d[l].h, k_mg_prolong, g->d[l], g->d[l + 1], add);
}

static void gpu_coarse_rhs(void *ctx, int l)
{
    gpu_mg *g = (gpu_mg *)ctx;
    MG_LAUNCH(g, "k_mg_rhs", (uint64_t)g->d[l].w * g->d[l].h, k_mg_rhs, g->d[l]);
}

/* the levels' arrays in one pool: in, then idiag, diag, u, b, r per level */
static size_t level_cells(const mg_level *L)
{
    return (size_t)(L->w + 2) * (size_t)(L->h + 2);
}

static cudaError_t solve_run(job &J, mg_level *lv, int nlev, double tol, int *cycles, double *resid)
{
    size_t doubles = 0, bytes_in = 0;
    for (int l = 0; l < nlev; l++) {
        doubles += 5 * level_cells(&lv[l]);
        bytes_in += (level_cells(&lv[l]) + 7) & ~(size_t)7;
    }
    double *pool = nullptr, *d_rows = nullptr;
    uint8_t *d_in = nullptr;
    CK(job_alloc(J, &pool, doubles));
    CK(job_alloc(J, &d_in, bytes_in));
    CK(job_alloc(J, &d_rows, (size_t)lv[0].h + 1));
    gpu_mg g;
    memset(&g, 0, sizeof g);
    g.J = &J;
    g.d_rows = d_rows;
    g.err = cudaSuccess;
    size_t at = 0, at_in = 0;
    for (int l = 0; l < nlev; l++) {
        const mg_level *L = &lv[l];
        size_t n = level_cells(L);
        dlevel &D = g.d[l];
        D.w = L->w;
        D.h = L->h;
        D.s = L->s;
        D.off = L->off;
        D.in = d_in + at_in;
        double *idiag = pool + at, *diag = idiag + n, *u = diag + n, *b = u + n, *r = b + n;
        D.idiag = idiag;
        D.diag = diag;
        D.u = u;
        D.b = b;
        D.r = r;
        CK(cudaMemcpyAsync(d_in + at_in, L->in, n, cudaMemcpyHostToDevice, J.stream));
        CK(cudaMemcpyAsync(idiag, L->idiag, n * sizeof(double), cudaMemcpyHostToDevice, J.stream));
        CK(cudaMemcpyAsync(diag, L->diag, n * sizeof(double), cudaMemcpyHostToDevice, J.stream));
        CK(cudaMemcpyAsync(u, L->u, n * sizeof(double), cudaMemcpyHostToDevice, J.stream));
        CK(cudaMemcpyAsync(b, L->b, n * sizeof(double), cudaMemcpyHostToDevice, J.stream));
        CK(cudaMemcpyAsync(r, L->r, n * sizeof(double), cudaMemcpyHostToDevice, J.stream));
        at += 5 * n;
        at_in += (n + 7) & ~(size_t)7;
    }
    g.h_rows = (double *)malloc(((size_t)lv[0].h + 1) * sizeof(double));
    if (!g.h_rows) {
        J.where = "malloc (row sums)";
        return cudaErrorMemoryAllocation;
    }
    mg_ops o = {&g, gpu_smooth, gpu_residual, gpu_restrict, gpu_prolong, gpu_coarse_rhs};
    mg_solve(&o, nlev, mg_bnorm(&lv[0]), tol, cycles, resid);
    free(g.h_rows);
    if (g.err != cudaSuccess)
        return g.err;
    CK(cudaMemcpyAsync(lv[0].u, g.d[0].u, level_cells(&lv[0]) * sizeof(double), cudaMemcpyDeviceToHost,
                       J.stream));
    CK(cudaStreamSynchronize(J.stream));
    return cudaSuccess;
}

extern "C" int cuda_field_inflate_solve(const float *cov, int w, int h, double tol, float *out, int *cycles,
                                        double *resid, cuda_job_stats *stats, orf_err *e)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    mg_level lv[MG_MAX_LEVELS];
    int nlev = 0;
    if (mg_build(cov, w, h, lv, &nlev) != 0)
        return orf_fail(e, "too_large", "field: out of memory for the solver");
    job J;
    cudaError_t r = job_start(J);
    if (r == cudaSuccess)
        r = solve_run(J, lv, nlev, tol, cycles, resid);
    int rc = job_end(J, r, "inflation field (CUDA)", stats, e);
    if (rc == 0)
        mg_output(&lv[0], out);
    mg_free(lv, nlev);
    return rc;
}
