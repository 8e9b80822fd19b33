/* field.c - inflate (multigrid Poisson), extrude and relief height fields. */
#include "field.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

void field_params_default(field_params *p)
{
    memset(p, 0, sizeof *p);
    p->mode = FIELD_INFLATE;
    p->back = FIELD_BACK_MIRROR;
    p->depth = 1.0f;
    p->thickness = 0.1f;
    p->invert = 0;
    p->base = 0.02f;
    p->max_side = FIELD_DEFAULT_SIDE;
    p->tolerance = 2e-3;
}

static const char *const mode_names[] = {"inflate", "extrude", "relief"};
static const char *const back_names[] = {"mirror", "flat"};

const char *field_mode_name(field_mode m)
{
    return (unsigned)m < 3 ? mode_names[m] : "?";
}

const char *field_back_name(field_back b)
{
    return (unsigned)b < 2 ? back_names[b] : "?";
}

int field_mode_parse(const char *s, field_mode *m, orf_err *e)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, mode_names[i]) == 0) {
            *m = (field_mode)i;
            return 0;
        }
    return orf_fail(e, "bad_request", "mode \"%s\" is not one of inflate, extrude, relief",
                    s ? s : "");
}

int field_back_parse(const char *s, field_back *b, orf_err *e)
{
    for (int i = 0; i < 2; i++)
        if (s && strcmp(s, back_names[i]) == 0) {
            *b = (field_back)i;
            return 0;
        }
    return orf_fail(e, "bad_request", "back \"%s\" is not one of mirror, flat", s ? s : "");
}

void field_free(orf_field *f)
{
    if (!f)
        return;
    free(f->sd);
    free(f->top);
    free(f->bot);
    memset(f, 0, sizeof *f);
}

/* ---- resampling an image-sized raster onto the working grid ---- */

/* The taps of a 1-D resampling of n samples onto m cells: destination cell k
 * is the sum over t < count of weight[k * taps + t] * src[first[k] + t].
 * Shrinking, the weights are the overlaps of the source samples with the
 * cell (area averaging); growing, linear interpolation between the two
 * nearest sample centres (clamped at the ends). */
typedef struct resample_taps {
    int taps;      /* slots per destination cell */
    int *first;    /* m */
    int *count;    /* m */
    double *weight; /* m * taps */
} resample_taps;

static void taps_free(resample_taps *t)
{
    free(t->first);
    free(t->count);
    free(t->weight);
}

static int taps_make(resample_taps *t, int n, int m)
{
    double ratio = (double)n / (double)m;
    t->taps = ratio > 1.0 ? (int)ceil(ratio) + 1 : 2;
    t->first = malloc((size_t)m * sizeof(int));
    t->count = malloc((size_t)m * sizeof(int));
    t->weight = orf_zalloc((size_t)m * (size_t)t->taps, sizeof(double));
    if (!t->first || !t->count || !t->weight) {
        taps_free(t);
        return -1;
    }
    for (int k = 0; k < m; k++) {
        double *wk = t->weight + (size_t)k * (size_t)t->taps;
        if (ratio > 1.0) {
            double a = k * ratio, b = (k + 1) * ratio;
            int i0 = (int)floor(a), i1 = (int)ceil(b);
            if (i1 > n)
                i1 = n;
            t->first[k] = i0;
            t->count[k] = i1 - i0;
            for (int i = i0; i < i1; i++) {
                double lo = i > a ? i : a, hi = i + 1 < b ? i + 1 : b;
                wk[i - i0] = (hi - lo) / ratio;
            }
        } else {
            double c = (k + 0.5) * ratio - 0.5;
            int i = (int)floor(c);
            double f = c - i;
            int ia = i < 0 ? 0 : i >= n ? n - 1 : i;
            int ib = i + 1 < 0 ? 0 : i + 1 >= n ? n - 1 : i + 1;
            /* ia and ib are equal or neighbours */
            t->first[k] = ia;
            t->count[k] = ib - ia + 1;
            wk[0] = 1 - f;
            wk[ib - ia] += f;
        }
    }
    return 0;
}

/* src (sw x shh) onto dst (w x h): rows first, then columns, each pass a
 * row-at-a-time sum of weighted source rows. */
static int resample(const float *src, int sw, int shh, float *dst, int w, int h)
{
    resample_taps tx = {0}, ty = {0};
    float *tmp = malloc((size_t)w * (size_t)shh * sizeof *tmp);
    double *acc = malloc((size_t)w * sizeof *acc);
    if (!tmp || !acc || taps_make(&tx, sw, w) != 0 || taps_make(&ty, shh, h) != 0) {
        free(tmp);
        free(acc);
        taps_free(&tx);
        taps_free(&ty);
        return -1;
    }
    for (int y = 0; y < shh; y++) {
        const float *row = src + (size_t)y * (size_t)sw;
        float *out = tmp + (size_t)y * (size_t)w;
        for (int k = 0; k < w; k++) {
            const double *wk = tx.weight + (size_t)k * (size_t)tx.taps;
            const float *s = row + tx.first[k];
            double v = 0;
            for (int t = 0; t < tx.count[k]; t++)
                v += wk[t] * s[t];
            out[k] = (float)v;
        }
    }
    for (int k = 0; k < h; k++) {
        const double *wk = ty.weight + (size_t)k * (size_t)ty.taps;
        for (int x = 0; x < w; x++)
            acc[x] = 0;
        for (int t = 0; t < ty.count[k]; t++) {
            const float *s = tmp + (size_t)(ty.first[k] + t) * (size_t)w;
            double wt = wk[t];
            for (int x = 0; x < w; x++)
                acc[x] += wt * s[x];
        }
        float *out = dst + (size_t)k * (size_t)w;
        for (int x = 0; x < w; x++)
            out[x] = (float)acc[x];
    }
    free(tmp);
    free(acc);
    taps_free(&tx);
    taps_free(&ty);
    return 0;
}

/* ---- multigrid for the inflation Poisson problem ---- */

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

static inline size_t at(int w, int x, int y)
{
    return (size_t)y * (size_t)w + (size_t)x;
}

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
            float ci = cov[at(w, x, y)];
            if (ci < 0.5f)
                continue;
            size_t i = pat(F, x, y);
            F->in[i] = 1;
            F->b[i] = 4.0;
            const int dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
            float d = 0;
            for (int k = 0; k < 4; k++) {
                int nx = x + dx[k], ny = y + dy[k];
                float cj = (nx < 0 || ny < 0 || nx >= w || ny >= h) ? 0.0f : cov[at(w, nx, ny)];
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
static int inflate_solve(const float *cov, int w, int h, double tol, float *out, int *cycles,
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

/* ---- signed distance to the rim, from coverage, chamfer-propagated ---- */

/* One chamfer (1, sqrt 2) pass over the padded distances pd of a w x h
 * grid, within each side of `in`: dir 1 from the top-left using the
 * neighbours already visited (left, up-left, up, up-right), dir -1 from the
 * bottom-right using their mirror images. */
static void chamfer_pass(float *pd, const uint8_t *in, int w, int h, int dir)
{
    const ptrdiff_t s = w + 2;
    const ptrdiff_t off[4] = {-dir, dir * (-1 - s), -dir * s, dir * (1 - s)};
    const float dist[4] = {1.0f, 1.41421356f, 1.0f, 1.41421356f};
    for (int yy = 0; yy < h; yy++)
        for (int xx = 0; xx < w; xx++) {
            int y = dir > 0 ? yy : h - 1 - yy, x = dir > 0 ? xx : w - 1 - xx;
            size_t i = (size_t)(y + 1) * (size_t)s + (size_t)(x + 1);
            float best = pd[i];
            for (int k = 0; k < 4; k++) {
                size_t j = (size_t)((ptrdiff_t)i + off[k]);
                if (in[j] != in[i])
                    continue;
                float v = pd[j] + dist[k];
                if (v < best)
                    best = v;
            }
            pd[i] = best;
        }
}

static int signed_distance(const float *cov, int w, int h, float *sd)
{
    const float BIG = 1e30f;
    /* padded copies: a border of exterior cells (coverage 0, distance BIG,
     * never updated) stands for the outside of the grid, so no neighbour
     * needs a bounds test */
    const ptrdiff_t s = w + 2;
    size_t np = (size_t)(w + 2) * (size_t)(h + 2);
    float *pc = orf_zalloc(np, sizeof *pc), *pd = malloc(np * sizeof *pd);
    uint8_t *in = orf_zalloc(np, 1);
    if (!pc || !pd || !in) {
        free(pc);
        free(pd);
        free(in);
        return -1;
    }
    for (size_t i = 0; i < np; i++)
        pd[i] = BIG;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)(y + 1) * (size_t)s + (size_t)(x + 1);
            pc[i] = cov[at(w, x, y)];
            in[i] = pc[i] >= 0.5f;
        }
    /* seeds: cells next to the rim get their distance along the link */
    const ptrdiff_t nb4[4] = {1, -1, s, -s};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)(y + 1) * (size_t)s + (size_t)(x + 1);
            float ci = pc[i];
            int inside = in[i];
            for (int k = 0; k < 4; k++) {
                size_t j = (size_t)((ptrdiff_t)i + nb4[k]);
                if (in[j] == inside)
                    continue;
                float cj = pc[j];
                float a = inside ? ci : cj, b = inside ? cj : ci;
                float th = a + b - 0.5f; /* rim distance from the inside cell */
                if (th < 0.02f)
                    th = 0.02f;
                if (th > 0.98f)
                    th = 0.98f;
                float d = inside ? th : 1.0f - th;
                if (d < pd[i])
                    pd[i] = d;
            }
        }
    /* two-pass chamfer (1, sqrt 2) over each side separately */
    chamfer_pass(pd, in, w, h, 1);
    chamfer_pass(pd, in, w, h, -1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)(y + 1) * (size_t)s + (size_t)(x + 1);
            float d = pd[i] >= BIG ? (float)(w + h) : pd[i];
            sd[at(w, x, y)] = in[i] ? d : -d;
        }
    free(pc);
    free(pd);
    free(in);
    return 0;
}

static void box_blur(float *a, float *tmp, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float s = 0;
            int c = 0;
            for (int k = -1; k <= 1; k++)
                if (x + k >= 0 && x + k < w) {
                    s += a[at(w, x + k, y)];
                    c++;
                }
            tmp[at(w, x, y)] = s / (float)c;
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float s = 0;
            int c = 0;
            for (int k = -1; k <= 1; k++)
                if (y + k >= 0 && y + k < h) {
                    s += tmp[at(w, x, y + k)];
                    c++;
                }
            a[at(w, x, y)] = s / (float)c;
        }
}

int field_compute(const orf_mask *mask, const orf_image *img, const field_params *p,
                  orf_field *f, orf_err *e)
{
    memset(f, 0, sizeof *f);
    if (!mask || !mask->cov || mask->w <= 0 || mask->h <= 0)
        return orf_fail(e, "bad_request", "field: no mask");
    if (p->max_side < 8 || p->max_side > 4096)
        return orf_fail(e, "bad_request", "field: working grid of %d cells is outside 8..4096",
                        p->max_side);
    if (!(p->depth > 0 && p->depth <= 100))
        return orf_fail(e, "bad_request", "depth %g is outside (0, 100]", (double)p->depth);
    if (p->mode == FIELD_EXTRUDE && !(p->thickness > 0 && p->thickness <= 10))
        return orf_fail(e, "bad_request", "thickness %g is outside (0, 10]", (double)p->thickness);
    if (p->mode == FIELD_RELIEF && !(p->base >= 0 && p->base <= 10))
        return orf_fail(e, "bad_request", "base %g is outside [0, 10]", (double)p->base);
    if (p->mode == FIELD_RELIEF && (!img || img->w != mask->w || img->h != mask->h))
        return orf_fail(e, "bad_request", "field: relief needs the image the mask came from");
    int iw = mask->w, ih = mask->h, L = iw > ih ? iw : ih;
    int w = (int)lround((double)iw * p->max_side / L), h = (int)lround((double)ih * p->max_side / L);
    if (w < 1)
        w = 1;
    if (h < 1)
        h = 1;
    size_t n = (size_t)w * (size_t)h;
    f->w = w;
    f->h = h;
    f->img_w = iw;
    f->img_h = ih;
    f->sx = (float)((double)iw / L / w);
    f->sy = (float)((double)ih / L / h);
    f->mode = p->mode;
    f->back = p->back;
    f->sd = malloc(n * sizeof(float));
    f->top = malloc(n * sizeof(float));
    f->bot = malloc(n * sizeof(float));
    float *cov = malloc(n * sizeof(float));
    if (!f->sd || !f->top || !f->bot || !cov || resample(mask->cov, iw, ih, cov, w, h) != 0) {
        free(cov);
        field_free(f);
        return orf_fail(e, "too_large", "field: out of memory for %d x %d cells", w, h);
    }
    size_t inside = 0;
    for (size_t i = 0; i < n; i++)
        if (cov[i] >= 0.5f)
            inside++;
    if (inside == 0) {
        free(cov);
        field_free(f);
        return orf_fail(e, "no_foreground", "field: the foreground is too small for %d x %d cells",
                        w, h);
    }
    if (signed_distance(cov, w, h, f->sd) != 0) {
        free(cov);
        field_free(f);
        return orf_fail(e, "too_large", "field: out of memory for %d x %d cells", w, h);
    }
    float cell = 0.5f * (f->sx + f->sy);
    for (size_t i = 0; i < n; i++)
        f->sd[i] *= cell;

    if (p->mode == FIELD_INFLATE) {
        if (inflate_solve(cov, w, h, p->tolerance, f->top, &f->cycles, &f->residual) != 0) {
            free(cov);
            field_free(f);
            return orf_fail(e, "too_large", "field: out of memory for the solver");
        }
        for (size_t i = 0; i < n; i++) {
            float z = p->depth * sqrtf(f->top[i]) * cell;
            f->top[i] = z;
            f->bot[i] = p->back == FIELD_BACK_FLAT ? 0.0f : -z;
        }
    } else if (p->mode == FIELD_EXTRUDE) {
        float t = 0.5f * p->thickness;
        for (size_t i = 0; i < n; i++) {
            f->top[i] = t;
            f->bot[i] = p->back == FIELD_BACK_FLAT ? 0.0f : -t;
        }
        if (p->back == FIELD_BACK_FLAT)
            for (size_t i = 0; i < n; i++)
                f->top[i] = p->thickness;
    } else {
        float *lum = malloc((size_t)iw * (size_t)ih * sizeof *lum);
        if (!lum) {
            free(cov);
            field_free(f);
            return orf_fail(e, "too_large", "field: out of memory for the relief");
        }
        for (size_t i = 0; i < (size_t)iw * (size_t)ih; i++) {
            const uint8_t *px = img->rgba + 4 * i;
            float l = (0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2]) / 255.0f;
            lum[i] = p->invert ? 1.0f - l : l;
        }
        int rc = resample(lum, iw, ih, f->top, w, h);
        free(lum);
        if (rc != 0) {
            free(cov);
            field_free(f);
            return orf_fail(e, "too_large", "field: out of memory for the relief");
        }
        box_blur(f->top, f->bot, w, h);
        float hmax = p->base + p->depth * FIELD_RELIEF_HEIGHT;
        float mid = 0.5f * hmax;
        for (size_t i = 0; i < n; i++) {
            f->top[i] = p->base + p->depth * FIELD_RELIEF_HEIGHT * f->top[i] - mid;
            if (f->top[i] < -mid + 1e-4f)
                f->top[i] = -mid + 1e-4f;
            f->bot[i] = -mid;
        }
    }
    free(cov);
    return 0;
}

/* ---- serialisation ---- */

#define FIELD_MAGIC "ORFFIELD"
#define FIELD_VERSION 1u
#define FIELD_HEADER 48

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_f32(uint8_t *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    put_u32(p, u);
}

static float get_f32(const uint8_t *p)
{
    uint32_t u = get_u32(p);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

int field_serialise(const orf_field *f, uint8_t **blob, size_t *len, orf_err *e)
{
    size_t n = (size_t)f->w * (size_t)f->h;
    size_t total = FIELD_HEADER + 3 * 4 * n;
    uint8_t *b = orf_zalloc(total, 1);
    if (!b)
        return orf_fail(e, "too_large", "field: out of memory for a %zu-byte blob", total);
    memcpy(b, FIELD_MAGIC, 8);
    put_u32(b + 8, FIELD_VERSION);
    put_u32(b + 12, (uint32_t)f->w);
    put_u32(b + 16, (uint32_t)f->h);
    put_u32(b + 20, (uint32_t)f->img_w);
    put_u32(b + 24, (uint32_t)f->img_h);
    put_u32(b + 28, (uint32_t)f->mode);
    put_u32(b + 32, (uint32_t)f->back);
    put_f32(b + 36, f->sx);
    put_f32(b + 40, f->sy);
    put_u32(b + 44, 0);
    const float *arr[3] = {f->sd, f->top, f->bot};
    uint8_t *q = b + FIELD_HEADER;
    for (int a = 0; a < 3; a++)
        for (size_t i = 0; i < n; i++, q += 4)
            put_f32(q, arr[a][i]);
    *blob = b;
    *len = total;
    return 0;
}

int field_deserialise(const uint8_t *blob, size_t len, const char *name, orf_field *f,
                      orf_err *e)
{
    memset(f, 0, sizeof *f);
    if (!name)
        name = "<field>";
    if (!blob || len < FIELD_HEADER || memcmp(blob, FIELD_MAGIC, 8) != 0)
        return orf_fail(e, "bad_field", "%s: not a field (bad magic or too short)", name);
    uint32_t ver = get_u32(blob + 8);
    if (ver != FIELD_VERSION)
        return orf_fail(e, "bad_field", "%s: field version %u, this build reads %u", name, ver,
                        FIELD_VERSION);
    uint32_t w = get_u32(blob + 12), h = get_u32(blob + 16);
    uint32_t iw = get_u32(blob + 20), ih = get_u32(blob + 24);
    uint32_t mode = get_u32(blob + 28), back = get_u32(blob + 32);
    float sx = get_f32(blob + 36), sy = get_f32(blob + 40);
    if (w < 1 || h < 1 || w > 4096 || h > 4096 || iw < 1 || ih < 1 || iw > (1u << 24) ||
        ih > (1u << 24) || mode > 2 || back > 1 || !(sx > 0 && sx <= 1) || !(sy > 0 && sy <= 1))
        return orf_fail(e, "bad_field", "%s: field header out of range (%u x %u cells)", name, w,
                        h);
    size_t n = (size_t)w * h;
    if ((len - FIELD_HEADER) / 12 != n || (len - FIELD_HEADER) % 12 != 0)
        return orf_fail(e, "bad_field", "%s: %zu bytes do not hold %u x %u cells", name, len, w, h);
    f->w = (int)w;
    f->h = (int)h;
    f->img_w = (int)iw;
    f->img_h = (int)ih;
    f->mode = (field_mode)mode;
    f->back = (field_back)back;
    f->sx = sx;
    f->sy = sy;
    f->sd = malloc(n * sizeof(float));
    f->top = malloc(n * sizeof(float));
    f->bot = malloc(n * sizeof(float));
    if (!f->sd || !f->top || !f->bot) {
        field_free(f);
        return orf_fail(e, "too_large", "%s: out of memory for the field", name);
    }
    float *arr[3] = {f->sd, f->top, f->bot};
    const uint8_t *q = blob + FIELD_HEADER;
    for (int a = 0; a < 3; a++)
        for (size_t i = 0; i < n; i++, q += 4) {
            float v = get_f32(q);
            /* field_compute never makes a value past about 50 model units (depth <= 100
             * on a unit-wide image); 1e3 is generous. A larger one would make
             * volume_sample's z range, and so its grid, absurd (1.6 GB at n = 8). */
            if (!isfinite(v) || fabsf(v) > 1e3f) {
                field_free(f);
                return orf_fail(e, "bad_field", "%s: value %zu is not a finite height", name, i);
            }
            arr[a][i] = v;
        }
    return 0;
}
