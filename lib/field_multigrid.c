/* field_multigrid.c - the inflation Poisson problem, lap(h) = -4 inside the
 * mask with h = 0 on its rim, solved by cell-centred multigrid: red-black
 * Gauss-Seidel smoothing, V-cycles, a full-multigrid start. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "field_internal.h"
#include "hd/mg_cell.h"

/* Cell-centred multigrid. The fine level is the problem: a cell with
 * coverage >= 1/2 is interior, and the rim sits between an interior cell and
 * an exterior one where linear interpolation of the coverage crosses 1/2
 * (the ghost-fluid weight 1/theta on the diagonal). A coarse cell is interior
 * only when its four children are (a coarse domain larger than the fine one
 * overshoots; a coverage-averaged one, tried, converged slower on thin
 * parts), with the plain 5-point operator. Arrays carry a one-cell exterior
 * border, and u is 0 on every exterior cell at all times, so the stencils
 * need no bounds or interior tests on the neighbours. The loops visit only
 * the runs of interior cells of each row (a cut-out's mask is often a fifth
 * of its grid); r stays 0 on exterior cells from the allocation on. */
/* index of cell (x, y) of a padded level; x in [-1, w], y in [-1, h] */
static inline size_t pat(const mg_level *L, int x, int y)
{
    return mg_at(L->s, x, y);
}

/* One red-black Gauss-Seidel sweep (both colours). */
static void mg_smooth(mg_level *L)
{
    const ptrdiff_t s = L->s;
    const double off = L->off;
    for (int colour = 0; colour < 2; colour++) {
#pragma omp parallel for schedule(static) if ((size_t)L->w * (size_t)L->h > 262144)
        for (int y = 0; y < L->h; y++) {
            size_t row = pat(L, 0, y);
            for (uint32_t k = L->rstart[y]; k < L->rstart[y + 1]; k++) {
                int x0 = L->runs[2 * k], x1 = L->runs[2 * k + 1];
                for (int x = x0 + ((x0 + y + colour) & 1); x < x1; x += 2)
                    mg_cell_smooth(L->u, L->b, L->idiag, s, off, row + (size_t)x);
            }
        }
    }
}

/* r = b - A u; returns sum of r^2 (rows summed in a fixed order). */
static double mg_residual(mg_level *L, double *rows)
{
    const ptrdiff_t s = L->s;
    const double off = L->off;
#pragma omp parallel for schedule(static) if ((size_t)L->w * (size_t)L->h > 262144)
    for (int y = 0; y < L->h; y++) {
        double acc = 0;
        size_t row = pat(L, 0, y);
        for (uint32_t k = L->rstart[y]; k < L->rstart[y + 1]; k++)
            for (int x = L->runs[2 * k]; x < L->runs[2 * k + 1]; x++) {
                size_t i = row + (size_t)x;
                double r = mg_cell_residual(L->u, L->b, L->diag, s, off, i);
                L->r[i] = r;
                acc += r * r;
            }
        if (rows)
            rows[y] = acc;
    }
    double sum = 0;
    if (rows)
        for (int y = 0; y < L->h; y++)
            sum += rows[y];
    return sum;
}

/* Bilinear from coarse cell centres (exterior coarse cells count as 0):
 * added to L->u as a correction when `add`, else assigned as a first guess. */
static void mg_prolong(mg_level *L, const mg_level *C, int add)
{
#pragma omp parallel for schedule(static) if ((size_t)L->w * (size_t)L->h > 262144)
    for (int y = 0; y < L->h; y++) {
        size_t row = pat(L, 0, y);
        for (uint32_t k = L->rstart[y]; k < L->rstart[y + 1]; k++)
            for (int x = L->runs[2 * k]; x < L->runs[2 * k + 1]; x++) {
                size_t i = row + (size_t)x;
                double e = mg_cell_prolong(C->u, C->s, x, y);
                L->u[i] = add ? L->u[i] + e : e;
            }
    }
}

/* coarse right-hand side: the average of the children's residuals */
static void mg_restrict(const mg_level *L, mg_level *C)
{
    for (int y = 0; y < C->h; y++)
        for (int x = 0; x < C->w; x++) {
            size_t ci = pat(C, x, y);
            C->u[ci] = 0;
            if (!C->in[ci]) {
                C->b[ci] = 0;
                continue;
            }
            C->b[ci] = mg_cell_restrict(L->r, L->s, x, y);
        }
}

void mg_free(mg_level *lv, int n)
{
    for (int l = 0; l < n; l++) {
        free(lv[l].in);
        free(lv[l].idiag);
        free(lv[l].diag);
        free(lv[l].u);
        free(lv[l].b);
        free(lv[l].r);
        free(lv[l].rstart);
        free(lv[l].runs);
    }
}

/* The runs of interior cells of each row of L (from L->in). */
static int mg_runs(mg_level *L)
{
    size_t n = 0;
    for (int y = 0; y < L->h; y++)
        for (int x = 0; x < L->w; x++)
            if (L->in[pat(L, x, y)] && !L->in[pat(L, x - 1, y)])
                n++;
    L->rstart = malloc(((size_t)L->h + 1) * sizeof *L->rstart);
    L->runs = malloc((2 * n + 1) * sizeof *L->runs);
    if (!L->rstart || !L->runs || n > UINT32_MAX)
        return -1;
    uint32_t k = 0;
    for (int y = 0; y < L->h; y++) {
        L->rstart[y] = k;
        for (int x = 0; x < L->w; x++) {
            if (!L->in[pat(L, x, y)] || L->in[pat(L, x - 1, y)])
                continue;
            int x1 = x;
            while (x1 < L->w && L->in[pat(L, x1, y)])
                x1++;
            L->runs[2 * k] = x;
            L->runs[2 * k + 1] = x1;
            k++;
        }
    }
    L->rstart[L->h] = k;
    return 0;
}

/* Allocate a level of w x h cells (zeroed, border included). */
static int mg_alloc(mg_level *L, int w, int h)
{
    size_t n = (size_t)(w + 2) * (size_t)(h + 2);
    L->w = w;
    L->h = h;
    L->s = w + 2;
    L->in = orf_zalloc(n, 1);
    L->idiag = orf_zalloc(n, sizeof(double));
    L->diag = orf_zalloc(n, sizeof(double));
    L->u = orf_zalloc(n, sizeof(double));
    L->b = orf_zalloc(n, sizeof(double));
    L->r = orf_zalloc(n, sizeof(double));
    return (L->in && L->idiag && L->diag && L->u && L->b && L->r) ? 0 : -1;
}

/* The fine level from the coverage cov (w x h): interior cells, the
 * operator's diagonal (a neighbour inside weighs 1, the rim toward one
 * outside at distance theta = cov_i + cov_j - 1/2, kept in [0.05, 1], weighs
 * 1/theta) and the right-hand side 4. */
static void mg_fine(mg_level *F, const float *cov)
{
    int w = F->w, h = F->h;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float ci = cov[field_at(w, x, y)];
            if (ci < 0.5f)
                continue;
            size_t i = pat(F, x, y);
            F->in[i] = 1;
            F->b[i] = 4.0;
            const int dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
            float d = 0;
            for (int k = 0; k < 4; k++) {
                int nx = x + dx[k], ny = y + dy[k];
                float cj = (nx < 0 || ny < 0 || nx >= w || ny >= h) ? 0.0f : cov[field_at(w, nx, ny)];
                if (cj >= 0.5f) {
                    d += 1.0f;
                } else {
                    float th = ci + cj - 0.5f;
                    if (th < 0.05f)
                        th = 0.05f;
                    if (th > 1.0f)
                        th = 1.0f;
                    d += 1.0f / th;
                }
            }
            F->diag[i] = d;
            F->idiag[i] = 1.0 / F->diag[i];
        }
}

/* ---- the solve, on any backend ------------------------------------------- */

static void mg_vcycle(const mg_ops *o, int nlev, int l)
{
    if (l == nlev - 1) {
        o->smooth(o->ctx, l, 60);
        return;
    }
    o->smooth(o->ctx, l, 2);
    o->residual(o->ctx, l, 0);
    o->restrict_to(o->ctx, l + 1);
    mg_vcycle(o, nlev, l + 1);
    o->prolong(o->ctx, l, 1);
    o->smooth(o->ctx, l, 2);
}

void mg_solve(const mg_ops *o, int nlev, double bnorm, double tol, int *cycles, double *resid)
{
    double rel = 0;
    int c = 0;
    if (bnorm > 0) {
        /* full multigrid start: solve each coarser level (right-hand side 4
         * in fine-cell units: the coarse operators carry the scale) with
         * one V-cycle and interpolate it up as the next level's first guess */
        for (int l = nlev - 1; l >= 1; l--) {
            o->coarse_rhs(o->ctx, l);
            mg_vcycle(o, nlev, l);
            o->prolong(o->ctx, l - 1, 0);
        }
        rel = sqrt(o->residual(o->ctx, 0, 1)) / bnorm;
        while (rel > tol && c < 60) {
            mg_vcycle(o, nlev, 0);
            c++;
            rel = sqrt(o->residual(o->ctx, 0, 1)) / bnorm;
        }
    }
    *cycles = c;
    *resid = rel;
}

int mg_build(const float *cov, int w, int h, mg_level *lv, int *nlev_out)
{
    memset(lv, 0, MG_MAX_LEVELS * sizeof *lv);
    *nlev_out = 0;
    if (mg_alloc(&lv[0], w, h) != 0) {
        mg_free(lv, 1);
        return -1;
    }
    int nlev = 1;
    mg_level *F = &lv[0];
    F->off = 1.0;
    mg_fine(F, cov);
    if (mg_runs(F) != 0) {
        mg_free(lv, 1);
        return -1;
    }
    while (nlev < MG_MAX_LEVELS) {
        mg_level *P = &lv[nlev - 1];
        if (P->w <= 4 || P->h <= 4)
            break;
        int cw = (P->w + 1) / 2, ch = (P->h + 1) / 2;
        if (mg_alloc(&lv[nlev], cw, ch) != 0) {
            mg_free(lv, nlev + 1);
            return -1;
        }
        mg_level *C = &lv[nlev];
        C->off = P->off * 0.25;
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++) {
                size_t i = pat(C, x, y);
                C->in[i] = P->in[pat(P, 2 * x, 2 * y)] && P->in[pat(P, 2 * x + 1, 2 * y)] &&
                           P->in[pat(P, 2 * x, 2 * y + 1)] && P->in[pat(P, 2 * x + 1, 2 * y + 1)];
                C->diag[i] = 4.0 * C->off;
                C->idiag[i] = 1.0 / C->diag[i];
            }
        nlev++;
        if (mg_runs(C) != 0) {
            mg_free(lv, nlev);
            return -1;
        }
    }
    *nlev_out = nlev;
    return 0;
}

double mg_bnorm(const mg_level *F)
{
    size_t inside = 0;
    for (int y = 0; y < F->h; y++)
        for (int x = 0; x < F->w; x++)
            inside += F->in[pat(F, x, y)];
    return 4.0 * sqrt((double)inside); /* |b|: 4 at every interior cell */
}

void mg_output(const mg_level *F, float *out)
{
    for (int y = 0; y < F->h; y++)
        for (int x = 0; x < F->w; x++) {
            size_t i = pat(F, x, y);
            out[(size_t)y * (size_t)F->w + (size_t)x] = F->in[i] && F->u[i] > 0 ? (float)F->u[i] : 0.0f;
        }
}

/* ---- the CPU's steps -------------------------------------------------------- */

typedef struct cpu_mg {
    mg_level *lv;
    double *rows; /* the fine level's row sums */
} cpu_mg;

static void cpu_smooth(void *ctx, int l, int sweeps)
{
    for (int k = 0; k < sweeps; k++)
        mg_smooth(&((cpu_mg *)ctx)->lv[l]);
}

static double cpu_residual(void *ctx, int l, int sum)
{
    cpu_mg *c = ctx;
    return mg_residual(&c->lv[l], sum ? c->rows : NULL);
}

static void cpu_restrict(void *ctx, int l)
{
    cpu_mg *c = ctx;
    mg_restrict(&c->lv[l - 1], &c->lv[l]);
}

static void cpu_prolong(void *ctx, int l, int add)
{
    cpu_mg *c = ctx;
    mg_prolong(&c->lv[l], &c->lv[l + 1], add);
}

static void cpu_coarse_rhs(void *ctx, int l)
{
    mg_level *C = &((cpu_mg *)ctx)->lv[l];
    for (int y = 0; y < C->h; y++)
        for (int x = 0; x < C->w; x++) {
            size_t i = pat(C, x, y);
            C->b[i] = C->in[i] ? 4.0 : 0.0;
        }
}

int field_inflate_solve(const float *cov, int w, int h, double tol, float *out, int *cycles,
                        double *resid, orf_err *e)
{
    mg_level lv[MG_MAX_LEVELS];
    int nlev = 0;
    if (mg_build(cov, w, h, lv, &nlev) != 0)
        return orf_fail(e, "too_large", "field: out of memory for the solver");
    cpu_mg c = {lv, malloc((size_t)h * sizeof(double))};
    if (!c.rows) {
        mg_free(lv, nlev);
        return orf_fail(e, "too_large", "field: out of memory for the solver");
    }
    mg_ops o = {&c, cpu_smooth, cpu_residual, cpu_restrict, cpu_prolong, cpu_coarse_rhs};
    mg_solve(&o, nlev, mg_bnorm(&lv[0]), tol, cycles, resid);
    mg_output(&lv[0], out);
    free(c.rows);
    mg_free(lv, nlev);
    return 0;
}
