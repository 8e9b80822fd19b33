/* field_multigrid.c - the inflation Poisson problem, lap(h) = -4 inside the
 * mask with h = 0 on its rim, solved by cell-centred multigrid: red-black
 * Gauss-Seidel smoothing, V-cycles, a full-multigrid start. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "field_internal.h"

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
typedef struct mg_level {
    int w, h;       /* cells */
    ptrdiff_t s;    /* row stride: w + 2 */
    uint8_t *in;    /* interior cell */
    uint32_t *rstart; /* h + 1: row y's runs are runs[2 * rstart[y] .. 2 * rstart[y + 1]) */
    int *runs;      /* [x0, x1) pairs of interior cells, row by row */
    double *idiag;  /* 1 / diagonal of the operator */
    double *diag;
    double off;     /* weight of a neighbour: 4^-level */
    double *u, *b, *r;
} mg_level;

#define MG_MAX_LEVELS 16

/* index of cell (x, y) of a padded level; x in [-1, w], y in [-1, h] */
static inline size_t pat(const mg_level *L, int x, int y)
{
    return (size_t)(y + 1) * (size_t)L->s + (size_t)(x + 1);
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
                for (int x = x0 + ((x0 + y + colour) & 1); x < x1; x += 2) {
                    size_t i = row + (size_t)x;
                    double n = L->u[i - 1] + L->u[i + 1] + L->u[i - s] + L->u[i + s];
                    L->u[i] = (L->b[i] + off * n) * L->idiag[i];
                }
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
                double n = L->u[i - 1] + L->u[i + 1] + L->u[i - s] + L->u[i + s];
                double r = L->b[i] - L->diag[i] * L->u[i] + off * n;
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
        int cy = y >> 1, ny = (y & 1) ? cy + 1 : cy - 1;
        const double *c0 = C->u + pat(C, 0, cy), *c1 = C->u + pat(C, 0, ny);
        size_t row = pat(L, 0, y);
        for (uint32_t k = L->rstart[y]; k < L->rstart[y + 1]; k++)
            for (int x = L->runs[2 * k]; x < L->runs[2 * k + 1]; x++) {
                size_t i = row + (size_t)x;
                int cx = x >> 1, nx = (x & 1) ? cx + 1 : cx - 1;
                /* the border and exterior coarse cells hold 0 */
                double e = 0.5625 * c0[cx] + 0.1875 * (c0[nx] + c1[cx]) + 0.0625 * c1[nx];
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
            /* children past the fine grid are border cells: r = 0 there */
            C->b[ci] = 0.25 * (L->r[pat(L, 2 * x, 2 * y)] + L->r[pat(L, 2 * x + 1, 2 * y)] +
                               L->r[pat(L, 2 * x, 2 * y + 1)] + L->r[pat(L, 2 * x + 1, 2 * y + 1)]);
        }
}

static void mg_vcycle(mg_level *lv, int nlev, int l)
{
    mg_level *L = &lv[l];
    if (l == nlev - 1) {
        for (int k = 0; k < 60; k++)
            mg_smooth(L);
        return;
    }
    mg_smooth(L);
    mg_smooth(L);
    mg_residual(L, NULL);
    mg_restrict(L, &lv[l + 1]);
    mg_vcycle(lv, nlev, l + 1);
    mg_prolong(L, &lv[l + 1], 1);
    mg_smooth(L);
    mg_smooth(L);
}

static void mg_free(mg_level *lv, int n)
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

/* Solve the inflation problem on cells with coverage cov (w x h); the result
 * h (in cell units squared) goes to out. */
int field_inflate_solve(const float *cov, int w, int h, double tol, float *out, int *cycles,
                        double *resid)
{
    mg_level lv[MG_MAX_LEVELS];
    memset(lv, 0, sizeof lv);
    int nlev = 0;
    if (mg_alloc(&lv[0], w, h) != 0) {
        mg_free(lv, 1);
        return -1;
    }
    nlev = 1;
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
    double *rows = malloc((size_t)h * sizeof *rows);
    if (!rows) {
        mg_free(lv, nlev);
        return -1;
    }
    size_t inside = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            inside += F->in[pat(F, x, y)];
    double bnorm = 4.0 * sqrt((double)inside); /* |b|: 4 at every interior cell */
    double rel = 1.0;
    int c = 0;
    if (bnorm > 0) {
        /* full multigrid start: solve each coarser level (right-hand side 4
         * in fine-cell units: the coarse operators carry the scale) with
         * one V-cycle and interpolate it up as the next level's first guess */
        for (int l = nlev - 1; l >= 1; l--) {
            mg_level *C = &lv[l];
            for (int y = 0; y < C->h; y++)
                for (int x = 0; x < C->w; x++) {
                    size_t i = pat(C, x, y);
                    C->b[i] = C->in[i] ? 4.0 : 0.0;
                }
            mg_vcycle(lv, nlev, l);
            mg_prolong(&lv[l - 1], C, 0);
        }
        rel = sqrt(mg_residual(F, rows)) / bnorm;
        while (rel > tol && c < 60) {
            mg_vcycle(lv, nlev, 0);
            c++;
            rel = sqrt(mg_residual(F, rows)) / bnorm;
        }
    } else {
        rel = 0;
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = pat(F, x, y);
            out[(size_t)y * (size_t)w + (size_t)x] = F->in[i] && F->u[i] > 0 ? (float)F->u[i] : 0.0f;
        }
    *cycles = c;
    *resid = rel;
    free(rows);
    mg_free(lv, nlev);
    return 0;
}
