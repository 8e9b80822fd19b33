/* intersect.c - exact orientation predicates (filtered, with an expansion
 * fallback) and the search for improperly meeting triangle pairs; see
 * intersect.h for what counts as meeting improperly. */
#include "intersect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "mix64.h"

/* ---- exact arithmetic: floating-point expansions (Shewchuk 1997) ---------- */

/* Expansions here are arrays of doubles, nonoverlapping, in order of
 * increasing magnitude, zeros removed: the value is the exact sum and its
 * sign is the sign of the last component. */
#define EXP_MAX 512

static void two_sum(double a, double b, double *x, double *y)
{
    double s = a + b, bv = s - a, av = s - bv;
    *y = (a - av) + (b - bv);
    *x = s;
}

static void two_prod(double a, double b, double *x, double *y)
{
    double p = a * b;
    *y = fma(a, b, -p); /* exact: the rounding error of the product */
    *x = p;
}

/* h = e + f (h may not alias e or f); returns h's length. */
static int exp_sum(const double *e, int ne, const double *f, int nf, double *h)
{
    int n = ne;
    memcpy(h, e, (size_t)ne * sizeof *h);
    for (int i = 0; i < nf; i++) {
        double q = f[i];
        for (int j = 0; j < n; j++) {
            double x, y;
            two_sum(q, h[j], &x, &y);
            h[j] = y;
            q = x;
        }
        h[n++] = q;
    }
    int k = 0;
    for (int j = 0; j < n; j++)
        if (h[j] != 0.0)
            h[k++] = h[j];
    return k;
}

/* h = e * f; returns h's length. */
static int exp_mul(const double *e, int ne, const double *f, int nf, double *h)
{
    double acc[EXP_MAX], tmp[EXP_MAX];
    int n = 0;
    for (int i = 0; i < ne; i++)
        for (int j = 0; j < nf; j++) {
            double t[2];
            two_prod(e[i], f[j], &t[1], &t[0]);
            n = exp_sum(acc, n, t, 2, tmp);
            memcpy(acc, tmp, (size_t)n * sizeof *acc);
        }
    memcpy(h, acc, (size_t)n * sizeof *h);
    return n;
}

static int exp_neg(double *e, int n)
{
    for (int i = 0; i < n; i++)
        e[i] = -e[i];
    return n;
}

static int exp_sign(const double *e, int n)
{
    return n == 0 ? 0 : e[n - 1] > 0 ? 1 : -1;
}

/* a - b as an expansion of two components */
static int exp_diff(double a, double b, double *h)
{
    double x, y;
    two_sum(a, -b, &x, &y);
    h[0] = y;
    h[1] = x;
    int k = 0;
    for (int j = 0; j < 2; j++)
        if (h[j] != 0.0)
            h[k++] = h[j];
    return k;
}

/* l * r - m * s for expansions */
static int exp_cross(const double *l, int nl, const double *r, int nr, const double *m, int nm,
                     const double *s, int ns, double *h)
{
    double u[EXP_MAX], v[EXP_MAX];
    int nu = exp_mul(l, nl, r, nr, u);
    int nv = exp_neg(v, exp_mul(m, nm, s, ns, v));
    return exp_sum(u, nu, v, nv, h);
}

static int orient3d_exact(const double *a, const double *b, const double *c, const double *d)
{
    double ad[3][2], bd[3][2], cd[3][2];
    int na[3], nb[3], nc[3];
    for (int k = 0; k < 3; k++) {
        na[k] = exp_diff(a[k], d[k], ad[k]);
        nb[k] = exp_diff(b[k], d[k], bd[k]);
        nc[k] = exp_diff(c[k], d[k], cd[k]);
    }
    double m[EXP_MAX], t[3][EXP_MAX], s[EXP_MAX], r[EXP_MAX];
    int nm, nt[3];
    /* adz (bdx cdy - cdx bdy) + bdz (cdx ady - adx cdy) + cdz (adx bdy - bdx ady) */
    nm = exp_cross(bd[0], nb[0], cd[1], nc[1], cd[0], nc[0], bd[1], nb[1], m);
    nt[0] = exp_mul(ad[2], na[2], m, nm, t[0]);
    nm = exp_cross(cd[0], nc[0], ad[1], na[1], ad[0], na[0], cd[1], nc[1], m);
    nt[1] = exp_mul(bd[2], nb[2], m, nm, t[1]);
    nm = exp_cross(ad[0], na[0], bd[1], nb[1], bd[0], nb[0], ad[1], na[1], m);
    nt[2] = exp_mul(cd[2], nc[2], m, nm, t[2]);
    int ns = exp_sum(t[0], nt[0], t[1], nt[1], s);
    int nr = exp_sum(s, ns, t[2], nt[2], r);
    return exp_sign(r, nr);
}

static int orient2d_exact(const double *a, const double *b, const double *c)
{
    double ac[2][2], bc[2][2], h[EXP_MAX];
    int na[2], nb[2];
    for (int k = 0; k < 2; k++) {
        na[k] = exp_diff(a[k], c[k], ac[k]);
        nb[k] = exp_diff(b[k], c[k], bc[k]);
    }
    int n = exp_cross(ac[0], na[0], bc[1], nb[1], ac[1], na[1], bc[0], nb[0], h);
    return exp_sign(h, n);
}

/* ---- filtered predicates ----------------------------------------------------- */

#define EPS_D 0x1p-53
static const double o3d_bound = (7.0 + 56.0 * EPS_D) * EPS_D;
static const double o2d_bound = (3.0 + 16.0 * EPS_D) * EPS_D;

static int same3(const double *a, const double *b)
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

static int orient3d_d(const double *a, const double *b, const double *c, const double *d)
{
    if (same3(a, d) || same3(b, d) || same3(c, d) || same3(a, b) || same3(a, c) || same3(b, c))
        return 0;
    double adx = a[0] - d[0], bdx = b[0] - d[0], cdx = c[0] - d[0];
    double ady = a[1] - d[1], bdy = b[1] - d[1], cdy = c[1] - d[1];
    double adz = a[2] - d[2], bdz = b[2] - d[2], cdz = c[2] - d[2];
    double bdxcdy = bdx * cdy, cdxbdy = cdx * bdy;
    double cdxady = cdx * ady, adxcdy = adx * cdy;
    double adxbdy = adx * bdy, bdxady = bdx * ady;
    double det = adz * (bdxcdy - cdxbdy) + bdz * (cdxady - adxcdy) + cdz * (adxbdy - bdxady);
    double perm = (fabs(bdxcdy) + fabs(cdxbdy)) * fabs(adz) +
                  (fabs(cdxady) + fabs(adxcdy)) * fabs(bdz) +
                  (fabs(adxbdy) + fabs(bdxady)) * fabs(cdz);
    /* from float corners no difference and no product of three underflows:
     * a zero permanent means every term, and so det, is exactly 0 */
    if (perm == 0)
        return 0;
    double bound = o3d_bound * perm;
    if (det > bound)
        return 1;
    if (-det > bound)
        return -1;
    return orient3d_exact(a, b, c, d);
}

static int orient2d_d(const double *a, const double *b, const double *c)
{
    double l = (a[0] - c[0]) * (b[1] - c[1]), r = (a[1] - c[1]) * (b[0] - c[0]);
    double det = l - r, bound = o2d_bound * (fabs(l) + fabs(r));
    if (bound == 0)
        return 0;
    if (det > bound)
        return 1;
    if (-det > bound)
        return -1;
    return orient2d_exact(a, b, c);
}

int orient3d_sign(const float a[3], const float b[3], const float c[3], const float d[3])
{
    double A[3], B[3], C[3], D[3];
    for (int k = 0; k < 3; k++) {
        A[k] = a[k];
        B[k] = b[k];
        C[k] = c[k];
        D[k] = d[k];
    }
    return orient3d_d(A, B, C, D);
}

int orient2d_sign(const float a[2], const float b[2], const float c[2])
{
    double A[2] = {a[0], a[1]}, B[2] = {b[0], b[1]}, C[2] = {c[0], c[1]};
    return orient2d_d(A, B, C);
}

/* ---- triangle against triangle ---------------------------------------------- */

/* A triangle's corners as doubles and the axis its plane is projected
 * along for in-plane tests (one where its normal's component is nonzero:
 * the largest such). */
typedef struct tri3 {
    double v[3][3];
    int axis;
} tri3;

/* 2D coordinates of p projected along `axis` */
static void proj(const double *p, int axis, double *out)
{
    out[0] = p[(axis + 1) % 3];
    out[1] = p[(axis + 2) % 3];
}

/* -1 when degenerate (collinear corners), else the projection axis: the
 * one along which the normal is largest, among those where it is not
 * exactly zero (the largest by the double estimate is almost always
 * certain at once). */
static int tri_axis(const double v[3][3])
{
    double mag[3];
    int order[3] = {0, 1, 2};
    for (int k = 0; k < 3; k++) {
        double a[2], b[2], c[2];
        proj(v[0], k, a);
        proj(v[1], k, b);
        proj(v[2], k, c);
        mag[k] = fabs((a[0] - c[0]) * (b[1] - c[1]) - (a[1] - c[1]) * (b[0] - c[0]));
    }
    for (int i = 1; i < 3; i++)
        for (int j = i; j > 0 && mag[order[j]] > mag[order[j - 1]]; j--) {
            int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    for (int i = 0; i < 3; i++) {
        int k = order[i];
        double a[2], b[2], c[2];
        proj(v[0], k, a);
        proj(v[1], k, b);
        proj(v[2], k, c);
        if (orient2d_d(a, b, c) != 0)
            return k;
    }
    return -1;
}

static int orient_tri(const tri3 *t, const double *p)
{
    return orient3d_d(t->v[0], t->v[1], t->v[2], p);
}

static int on_segment_2d(const double *a, const double *b, const double *c)
{
    return fmin(a[0], b[0]) <= c[0] && c[0] <= fmax(a[0], b[0]) && fmin(a[1], b[1]) <= c[1] &&
           c[1] <= fmax(a[1], b[1]);
}

/* closed segments ab and cd meet (2D) */
static int seg_seg_2d(const double *a, const double *b, const double *c, const double *d)
{
    int o1 = orient2d_d(a, b, c), o2 = orient2d_d(a, b, d);
    int o3 = orient2d_d(c, d, a), o4 = orient2d_d(c, d, b);
    if (o1 * o2 < 0 && o3 * o4 < 0)
        return 1;
    return (o1 == 0 && on_segment_2d(a, b, c)) || (o2 == 0 && on_segment_2d(a, b, d)) ||
           (o3 == 0 && on_segment_2d(c, d, a)) || (o4 == 0 && on_segment_2d(c, d, b));
}

/* p in the closed non-degenerate triangle t (2D) */
static int point_in_tri_2d(const double t[3][2], const double *p)
{
    int s = orient2d_d(t[0], t[1], t[2]);
    return orient2d_d(t[0], t[1], p) * s >= 0 && orient2d_d(t[1], t[2], p) * s >= 0 &&
           orient2d_d(t[2], t[0], p) * s >= 0;
}

/* closed segment pq meets closed triangle t, all in t's plane */
static int seg_tri_coplanar(const double *p, const double *q, const tri3 *t)
{
    double T[3][2], P[2], Q[2];
    for (int i = 0; i < 3; i++)
        proj(t->v[i], t->axis, T[i]);
    proj(p, t->axis, P);
    proj(q, t->axis, Q);
    if (point_in_tri_2d(T, P) || point_in_tri_2d(T, Q))
        return 1;
    for (int i = 0; i < 3; i++)
        if (seg_seg_2d(P, Q, T[i], T[(i + 1) % 3]))
            return 1;
    return 0;
}

/* closed segment pq meets closed triangle t; sp, sq: orient_tri(t, p / q) */
static int seg_tri(const double *p, const double *q, int sp, int sq, const tri3 *t)
{
    if (sp * sq > 0)
        return 0;
    if (sp == 0 && sq == 0)
        return seg_tri_coplanar(p, q, t);
    int o1 = orient3d_d(p, q, t->v[0], t->v[1]);
    int o2 = orient3d_d(p, q, t->v[1], t->v[2]);
    int o3 = orient3d_d(p, q, t->v[2], t->v[0]);
    return (o1 >= 0 && o2 >= 0 && o3 >= 0) || (o1 <= 0 && o2 <= 0 && o3 <= 0);
}

/* closed triangles in one plane overlap */
static int tri_tri_coplanar(const tri3 *a, const tri3 *b)
{
    int ax = b->axis;
    double A[3][2], B[3][2];
    for (int i = 0; i < 3; i++) {
        proj(a->v[i], ax, A[i]);
        proj(b->v[i], ax, B[i]);
    }
    for (int i = 0; i < 3; i++)
        if (point_in_tri_2d(B, A[i]) || point_in_tri_2d(A, B[i]))
            return 1;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (seg_seg_2d(A[i], A[(i + 1) % 3], B[j], B[(j + 1) % 3]))
                return 1;
    return 0;
}

/* no shared corner: any common point */
static int meet_disjoint(const tri3 *a, const tri3 *b)
{
    int sa[3], sb[3];
    for (int i = 0; i < 3; i++)
        sa[i] = orient_tri(b, a->v[i]);
    if ((sa[0] > 0 && sa[1] > 0 && sa[2] > 0) || (sa[0] < 0 && sa[1] < 0 && sa[2] < 0))
        return 0;
    for (int i = 0; i < 3; i++)
        sb[i] = orient_tri(a, b->v[i]);
    if ((sb[0] > 0 && sb[1] > 0 && sb[2] > 0) || (sb[0] < 0 && sb[1] < 0 && sb[2] < 0))
        return 0;
    if (sa[0] == 0 && sa[1] == 0 && sa[2] == 0)
        return tri_tri_coplanar(a, b);
    /* not coplanar: the intersection, if any, is a segment of the line where
     * the planes meet, and one of its ends lies on an edge of a or of b */
    for (int i = 0; i < 3; i++) {
        int j = (i + 1) % 3;
        if (seg_tri(a->v[i], a->v[j], sa[i], sa[j], b) || seg_tri(b->v[i], b->v[j], sb[i], sb[j], a))
            return 1;
    }
    return 0;
}

/* the ray from t's corner 0 through point p (in t's plane) lies in t's
 * closed angle at corner 0 */
static int ray_in_corner(const tri3 *t, const double *p)
{
    double v[2], c[2], d[2], P[2];
    proj(t->v[0], t->axis, v);
    proj(t->v[1], t->axis, c);
    proj(t->v[2], t->axis, d);
    proj(p, t->axis, P);
    int s = orient2d_d(v, c, d);
    return orient2d_d(v, c, P) * s >= 0 && orient2d_d(v, P, d) * s >= 0;
}

/* a and b share corner 0 (by index) and no other: a common point other
 * than that corner */
static int meet_at_vertex(const tri3 *a, const tri3 *b)
{
    int s1 = orient_tri(a, b->v[1]), s2 = orient_tri(a, b->v[2]);
    if (s1 * s2 > 0)
        return 0; /* b meets a's plane only at the shared corner */
    int r1 = orient_tri(b, a->v[1]), r2 = orient_tri(b, a->v[2]);
    if (r1 * r2 > 0)
        return 0;
    if (r1 == 0 && r2 == 0) /* coplanar: do the angles at the corner overlap? */
        return ray_in_corner(b, a->v[1]) || ray_in_corner(b, a->v[2]) ||
               ray_in_corner(a, b->v[1]) || ray_in_corner(a, b->v[2]);
    if (seg_tri(a->v[1], a->v[2], r1, r2, b) || seg_tri(b->v[1], b->v[2], s1, s2, a))
        return 1;
    /* an edge from the corner lying in the other's plane, inside its angle */
    return (r1 == 0 && ray_in_corner(b, a->v[1])) || (r2 == 0 && ray_in_corner(b, a->v[2])) ||
           (s1 == 0 && ray_in_corner(a, b->v[1])) || (s2 == 0 && ray_in_corner(a, b->v[2]));
}

/* a = (u, w, x) and b share u and w (by index); y is b's third corner:
 * improper when b is folded flat onto a (same plane, same side of uw) */
static int meet_at_edge(const tri3 *a, const double *y)
{
    if (orient_tri(a, y) != 0)
        return 0;
    double u[2], w[2], x[2], Y[2];
    proj(a->v[0], a->axis, u);
    proj(a->v[1], a->axis, w);
    proj(a->v[2], a->axis, x);
    proj(y, a->axis, Y);
    return orient2d_d(u, w, x) * orient2d_d(u, w, Y) > 0;
}

static void tri_load(tri3 *t, const float *const p[3], int rot)
{
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            t->v[i][k] = p[(i + rot) % 3][k];
}

/* the test itself, for non-degenerate a, b with projection axes given */
static int meet(const float *const p[3], const uint32_t pi[3], int paxis, const float *const q[3],
                const uint32_t qi[3], int qaxis)
{
    int shared = 0, si = 0, sj = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (pi[i] == qi[j]) {
                if (!shared) {
                    si = i;
                    sj = j;
                }
                shared++;
            }
    /* the usual neighbours first, from the floats: b's other corners
     * strictly on one side of a's plane (or the other way round) meet a
     * only at the shared corner; a neighbour across an edge that is not in
     * a's plane meets it only along the edge */
    if (shared == 1) {
        int s1 = orient3d_sign(p[0], p[1], p[2], q[(sj + 1) % 3]);
        int s2 = orient3d_sign(p[0], p[1], p[2], q[(sj + 2) % 3]);
        if (s1 * s2 > 0)
            return 0;
        int r1 = orient3d_sign(q[0], q[1], q[2], p[(si + 1) % 3]);
        int r2 = orient3d_sign(q[0], q[1], q[2], p[(si + 2) % 3]);
        if (r1 * r2 > 0)
            return 0;
    } else if (shared == 2) {
        for (int j = 0; j < 3; j++)
            if (qi[j] != pi[0] && qi[j] != pi[1] && qi[j] != pi[2] &&
                orient3d_sign(p[0], p[1], p[2], q[j]) != 0)
                return 0;
    }
    tri3 a, b;
    a.axis = paxis;
    b.axis = qaxis;
    if (shared == 0) {
        tri_load(&a, p, 0);
        tri_load(&b, q, 0);
        return meet_disjoint(&a, &b);
    }
    if (shared == 1) {
        tri_load(&a, p, si);
        tri_load(&b, q, sj);
        return meet_at_vertex(&a, &b);
    }
    if (shared == 2) {
        /* a's corner not in b, and b's corner not in a */
        int ia = 0, ib = 0;
        for (int i = 0; i < 3; i++) {
            if (pi[i] != qi[0] && pi[i] != qi[1] && pi[i] != qi[2])
                ia = i;
            if (qi[i] != pi[0] && qi[i] != pi[1] && qi[i] != pi[2])
                ib = i;
        }
        tri_load(&a, p, ia + 1); /* (u, w, x) with x = p[ia] last */
        double y[3] = {q[ib][0], q[ib][1], q[ib][2]};
        return meet_at_edge(&a, y);
    }
    return 1; /* the same three corners twice */
}

static int axis_of(const float *const p[3])
{
    double v[3][3];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            v[i][k] = p[i][k];
    return tri_axis(v);
}

int triangles_meet(const float *const p[3], const uint32_t pi[3], const float *const q[3],
                   const uint32_t qi[3])
{
    int pa = axis_of(p), qa = axis_of(q);
    if (pa < 0 || qa < 0)
        return -1;
    return meet(p, pi, pa, q, qi, qa);
}

/* ---- the search ------------------------------------------------------------------ */

/* Levels of grids: level L has cells of side c0 2^L, c0 twice the mean
 * triangle size. A triangle lives at the first level whose cell is at
 * least its size (so its box covers at most 2 x 2 x 2 cells there) and is
 * entered as a guest in the cells its box covers at every coarser level
 * that has triangles living in it. A pair is tested in the cells of the
 * coarser one's level, once: in the cell holding the low corner of the
 * overlap of their boxes. Cells per axis stay under 2^19. */
#define CELL_BITS 19
#define CELL_MAX ((1u << CELL_BITS) - 1)
#define MAX_LEVEL 40
#define GUEST 0x80000000u
/* the most candidate pairs a search takes on: far above what an even mesh
 * needs (about 25 a triangle), far below the n^2 / 2 of a tangle */
#define SEARCH_BUDGET(nt) (64.0 * (double)(nt) + 1e6)
/* fans of more triangles than this are not cleared (their pairs are tested) */
#define FAN_MAX 32

typedef struct stri {
    float lo[3], hi[3];
    int8_t axis;   /* projection axis; -1: degenerate, not searched */
    uint8_t level;
} stri;

/* boxes of a bucket tested together (bits of a mask) */
#define LOCAL_MAX 64

typedef struct grid {
    double org[3];
    double inv[MAX_LEVEL + 1]; /* cells per model unit at each level */
} grid;

static uint32_t cell_of(const grid *g, float x, int k, int level)
{
    /* x >= the origin for every live triangle: truncation is floor */
    double c = ((double)x - g->org[k]) * g->inv[level];
    if (!(c >= 0)) /* also NaN */
        c = 0;
    if (c > (double)CELL_MAX)
        c = (double)CELL_MAX;
    return (uint32_t)c;
}

static uint64_t key_of(int level, uint32_t x, uint32_t y, uint32_t z)
{
    return (uint64_t)level << (3 * CELL_BITS) | (uint64_t)z << (2 * CELL_BITS) |
           (uint64_t)y << CELL_BITS | (uint64_t)x;
}

/* cells to buckets: every cell its own bucket, in level, z, y, x order,
 * when there are few enough cells (the usual case: neighbouring cells then
 * hold triangles near each other in memory too); else a hash of the cell,
 * the keys kept beside the entries */
typedef struct bucketing {
    int dense;
    uint32_t dims[MAX_LEVEL + 1][3];
    uint64_t base[MAX_LEVEL + 2];
    uint64_t mask;
} bucketing;

static uint64_t bucket_of(const bucketing *bk, uint64_t key)
{
    if (!bk->dense)
        return mix64(key) & bk->mask;
    int L = (int)(key >> (3 * CELL_BITS));
    uint64_t x = key & CELL_MAX, y = key >> CELL_BITS & CELL_MAX, z = key >> (2 * CELL_BITS) & CELL_MAX;
    return bk->base[L] + x + bk->dims[L][0] * (y + (uint64_t)bk->dims[L][1] * z);
}

static int boxes_touch(const stri *a, const stri *b)
{
    return a->lo[0] <= b->hi[0] && b->lo[0] <= a->hi[0] && a->lo[1] <= b->hi[1] &&
           b->lo[1] <= a->hi[1] && a->lo[2] <= b->hi[2] && b->lo[2] <= a->hi[2];
}

/* the cells of t's box at `level`: c0[3], c1[3]; returns their number */
static uint32_t box_cells(const grid *g, const stri *t, int level, uint32_t c0[3], uint32_t c1[3])
{
    uint32_t n = 1;
    for (int k = 0; k < 3; k++) {
        c0[k] = cell_of(g, t->lo[k], k, level);
        c1[k] = cell_of(g, t->hi[k], k, level);
        n *= c1[k] - c0[k] + 1;
    }
    return n;
}

/* scratch for one vertex's fan: the triangles' other corners a, b (each
 * triangle (v, a, b) counter-clockwise), an order by a, a mark each */
typedef struct fan_scratch {
    uint32_t *na, *nb;
    uint64_t *ord; /* (a << 32 | triangle), sorted, for large fans */
    uint8_t *seen;
} fan_scratch;

static int u64_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* the triangle of the fan whose a is `w`: -1 when none, -2 when several */
static long fan_find(const fan_scratch *f, uint32_t deg, uint32_t w)
{
    if (deg <= 32) {
        long at = -1;
        for (uint32_t j = 0; j < deg; j++)
            if (f->na[j] == w) {
                if (at >= 0)
                    return -2;
                at = (long)j;
            }
        return at;
    }
    uint32_t lo = 0, hi = deg;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if ((uint32_t)(f->ord[mid] >> 32) < w)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == deg || (uint32_t)(f->ord[lo] >> 32) != w)
        return -1;
    if (lo + 1 < deg && (uint32_t)(f->ord[lo + 1] >> 32) == w)
        return -2;
    return (long)(uint32_t)f->ord[lo];
}

/* What the triangles at vertex v (corners cs[0..deg), deg >= 1) make:
 *   0  not one closed fan (v is on a boundary, or non-manifold, or a
 *      triangle repeats v);
 *   1  one closed fan;
 *   2  one closed fan that is clear: its projection along one axis turns
 *      once around v with every triangle the same way round. The
 *      projection is then one-to-one on the fan, so two of its triangles
 *      meet only at v or along the edge they share, and no pair through v
 *      needs a test. Exact: orientations by orient2d, the turns counted by
 *      crossings of the ray from v along +u. */
static int fan_kind(const orf_mesh *m, uint32_t v, const uint32_t *cs, uint32_t deg,
                    fan_scratch *f)
{
    double n[3] = {0, 0, 0};
    const float *pv = m->pos + 3 * (size_t)v;
    for (uint32_t i = 0; i < deg; i++) {
        const uint32_t *t = m->idx + 3 * (size_t)(cs[i] / 3);
        uint32_t k = cs[i] % 3;
        f->na[i] = t[(k + 1) % 3];
        f->nb[i] = t[(k + 2) % 3];
        f->seen[i] = 0;
        if (f->na[i] == v || f->nb[i] == v || f->na[i] == f->nb[i])
            return 0;
        const float *pa = m->pos + 3 * (size_t)f->na[i], *pb = m->pos + 3 * (size_t)f->nb[i];
        double u[3], w[3];
        for (int c = 0; c < 3; c++) {
            u[c] = (double)pa[c] - pv[c];
            w[c] = (double)pb[c] - pv[c];
        }
        n[0] += u[1] * w[2] - u[2] * w[1];
        n[1] += u[2] * w[0] - u[0] * w[2];
        n[2] += u[0] * w[1] - u[1] * w[0];
    }
    if (deg < 3)
        return 0;
    if (deg > 32) {
        for (uint32_t i = 0; i < deg; i++)
            f->ord[i] = (uint64_t)f->na[i] << 32 | i;
        qsort(f->ord, deg, sizeof *f->ord, u64_cmp);
    }
    /* one cycle: from the first triangle, each next one starts where the
     * last ended, every triangle once, back to the first */
    uint32_t cur = 0;
    f->seen[0] = 1;
    for (uint32_t step = 1; step < deg; step++) {
        long nxt = fan_find(f, deg, f->nb[cur]);
        if (nxt < 0 || f->seen[nxt])
            return 0;
        f->seen[nxt] = 1;
        cur = (uint32_t)nxt;
    }
    if (f->nb[cur] != f->na[0])
        return 0;
    int axis = 0;
    for (int c = 1; c < 3; c++)
        if (fabs(n[c]) > fabs(n[axis]))
            axis = c;
    double V[2], A[2], B[2], p3[3];
    for (int c = 0; c < 3; c++)
        p3[c] = pv[c];
    proj(p3, axis, V);
    int sigma = 0, turns = 0;
    for (uint32_t i = 0; i < deg; i++) {
        const float *pa = m->pos + 3 * (size_t)f->na[i], *pb = m->pos + 3 * (size_t)f->nb[i];
        double a3[3] = {pa[0], pa[1], pa[2]}, b3[3] = {pb[0], pb[1], pb[2]};
        proj(a3, axis, A);
        proj(b3, axis, B);
        int o = orient2d_d(V, A, B);
        if (o == 0 || (sigma && o != sigma))
            return 1;
        sigma = o;
        int below_a = A[1] < V[1], below_b = B[1] < V[1];
        turns += sigma > 0 ? (below_a && !below_b) : (!below_a && below_b);
    }
    return turns == 1 ? 2 : 1;
}

/* what the pair loop reads */
typedef struct pair_ctx {
    const orf_mesh *m;
    const stri *tr;
    const uint8_t *clear;
    const uint64_t *keys;     /* hashed buckets: the entries' cells; NULL when dense */
    const bucketing *bk;
    const grid *g;
} pair_ctx;

/* Entries i (a resident) and j of bucket b, whose boxes touch: 1 when
 * their triangles meet improperly and this bucket is where the pair is
 * counted. */
static int pair_step(const pair_ctx *c, size_t b, uint32_t i, uint32_t j, const uint32_t *sorted)
{
    if (c->keys && c->keys[j] != c->keys[i])
        return 0;
    uint32_t ti = sorted[i] & ~GUEST, tj = sorted[j] & ~GUEST;
    const stri *si = c->tr + ti, *sj = c->tr + tj;
    const uint32_t *ia = c->m->idx + 3 * (size_t)ti, *ib = c->m->idx + 3 * (size_t)tj;
    /* neighbours through a clear vertex need no test (branch-free: the
     * outcome of each comparison is hard to predict) */
    unsigned eq = 0;
    for (int x = 0; x < 3; x++)
        for (int y = 0; y < 3; y++)
            eq |= (unsigned)(ia[x] == ib[y]) << (3 * x + y);
    if (eq) {
        unsigned sx = (unsigned)((eq & 7u) != 0) | (unsigned)((eq >> 3 & 7u) != 0) << 1 |
                      (unsigned)((eq >> 6 & 7u) != 0) << 2;
        if (sx != 7u)
            for (int x = 0; x < 3; x++)
                if ((sx >> x & 1u) && c->clear[ia[x]])
                    return 0;
    }
    /* once: in the cell holding the low corner of the overlap */
    int L = si->level > sj->level ? si->level : sj->level;
    uint32_t cell[3];
    for (int k = 0; k < 3; k++)
        cell[k] = cell_of(c->g, si->lo[k] > sj->lo[k] ? si->lo[k] : sj->lo[k], k, L);
    uint64_t home = key_of(L, cell[0], cell[1], cell[2]);
    if (c->keys ? home != c->keys[i] : bucket_of(c->bk, home) != b)
        return 0;
    const float *pos = c->m->pos;
    const float *p[3] = {pos + 3 * (size_t)ia[0], pos + 3 * (size_t)ia[1], pos + 3 * (size_t)ia[2]};
    const float *q[3] = {pos + 3 * (size_t)ib[0], pos + 3 * (size_t)ib[1], pos + 3 * (size_t)ib[2]};
    return meet(p, ia, si->axis, q, ib, sj->axis);
}

int mesh_self_intersections(const orf_mesh *m, mesh_intersections *out, orf_err *e)
{
    memset(out, 0, sizeof *out);
    uint32_t nt = m->ntris, nv = m->nverts;
    if (nt == 0)
        return 0;
    stri *tr = orf_malloc_big(nt, sizeof *tr);
    uint32_t *sorted = NULL, *bstart = NULL, *cstart = NULL, *corners = NULL;
    uint64_t *keys = NULL;
    uint8_t *clear = NULL;
    bucketing *bk = malloc(sizeof *bk);
    int rc = 0;
    if (!tr || !bk)
        goto oom;

    /* boxes, degenerate triangles, projection axes; the mean size */
    uint32_t ndeg = 0;
    double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : ndeg, sum) if (nt >= 20000)
    for (uint32_t t = 0; t < nt; t++) {
        stri *r = tr + t;
        const uint32_t *c = m->idx + 3 * (size_t)t;
        const float *p[3] = {m->pos + 3 * (size_t)c[0], m->pos + 3 * (size_t)c[1], m->pos + 3 * (size_t)c[2]};
        float ext = 0;
        int finite = 1;
        for (int k = 0; k < 3; k++) {
            float a = p[0][k], b = p[1][k], cc = p[2][k];
            float lo = a < b ? a : b, hi = a < b ? b : a;
            r->lo[k] = lo < cc ? lo : cc;
            r->hi[k] = hi > cc ? hi : cc;
            ext = r->hi[k] - r->lo[k] > ext ? r->hi[k] - r->lo[k] : ext;
            finite &= isfinite(p[0][k]) && isfinite(p[1][k]) && isfinite(p[2][k]);
        }
        int ax = finite && isfinite(ext) ? axis_of(p) : -1;
        r->axis = (int8_t)ax;
        r->level = 0;
        if (ax < 0)
            ndeg++;
        else
            sum += ext;
    }
    out->degenerate = ndeg;
    uint32_t nlive = nt - ndeg;
    if (nlive < 2)
        goto done;

    /* the grid: origin at the low corner of the live triangles' boxes */
    grid g;
    double mesh_ext = 0;
    float lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (uint32_t t = 0; t < nt; t++)
        if (tr[t].axis >= 0)
            for (int k = 0; k < 3; k++) {
                lo[k] = tr[t].lo[k] < lo[k] ? tr[t].lo[k] : lo[k];
                hi[k] = tr[t].hi[k] > hi[k] ? tr[t].hi[k] : hi[k];
            }
    for (int k = 0; k < 3; k++) {
        g.org[k] = lo[k];
        mesh_ext = fmax(mesh_ext, (double)hi[k] - (double)lo[k]);
    }
    double c0 = 2.0 * sum / nlive;
    if (c0 < mesh_ext / (double)CELL_MAX)
        c0 = mesh_ext / (double)CELL_MAX;
    if (!(c0 > 0))
        c0 = 1.0;
    for (int L = 0; L <= MAX_LEVEL; L++)
        g.inv[L] = 1.0 / ldexp(c0, L);

    /* levels, which levels have triangles living in them, and the entries
     * each triangle makes there and as a guest above */
    uint64_t used = 0; /* bit L: a triangle lives at level L */
    for (uint32_t t = 0; t < nt; t++) {
        if (tr[t].axis < 0)
            continue;
        float ext = 0;
        for (int k = 0; k < 3; k++)
            ext = tr[t].hi[k] - tr[t].lo[k] > ext ? tr[t].hi[k] - tr[t].lo[k] : ext;
        int L = 0;
        while (L < MAX_LEVEL && ldexp(c0, L) < (double)ext)
            L++;
        tr[t].level = (uint8_t)L;
        used |= 1ull << L;
    }
    int top = 0; /* the coarsest level in use */
    while (used >> (top + 1))
        top++;
    size_t nent = 0;
    for (uint32_t t = 0; t < nt; t++) {
        if (tr[t].axis < 0)
            continue;
        uint32_t a[3], b[3];
        for (int L = tr[t].level; L <= top; L++)
            if (used >> L & 1)
                nent += box_cells(&g, tr + t, L, a, b);
    }
    double ncell = 0;
    bk->base[0] = 0;
    for (int L = 0; L <= MAX_LEVEL; L++) {
        double n = 0;
        if (used >> L & 1) {
            n = 1;
            for (int k = 0; k < 3; k++) {
                bk->dims[L][k] = cell_of(&g, hi[k], k, L) + 1;
                n *= bk->dims[L][k];
            }
        }
        ncell += n;
        bk->base[L + 1] = ncell < 1e15 ? (uint64_t)ncell : 0;
    }
    bk->dense = ncell <= 4.0 * (double)nent + 1e6;
    size_t nb = 16;
    if (bk->dense)
        nb = (size_t)ncell;
    else
        while (nb < 2 * nent)
            nb *= 2;
    bk->mask = nb - 1;
    sorted = orf_malloc_big(nent + 1, sizeof *sorted);
    bstart = orf_zalloc(nb + 1, sizeof *bstart);
    if (!bk->dense)
        keys = orf_malloc_big(nent + 1, sizeof *keys);
    if (!sorted || !bstart || (!bk->dense && !keys))
        goto oom;

    /* counting sort of the entries by bucket, residents before guests in
     * each: count, then place (two walks over the same cells) */
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 1) {
            for (size_t b = 0; b < nb; b++)
                bstart[b + 1] += bstart[b];
        }
        for (uint32_t t = 0; t < nt; t++) {
            if (tr[t].axis < 0)
                continue;
            for (int L = tr[t].level; L <= top; L++) {
                if (!(used >> L & 1))
                    continue;
                uint32_t guest = L != tr[t].level;
                if (pass > 0 && guest != (uint32_t)(pass - 1))
                    continue;
                uint32_t a[3], b[3];
                box_cells(&g, tr + t, L, a, b);
                for (uint32_t z = a[2]; z <= b[2]; z++)
                    for (uint32_t y = a[1]; y <= b[1]; y++)
                        for (uint32_t x = a[0]; x <= b[0]; x++) {
                            uint64_t key = key_of(L, x, y, z), bu = bucket_of(bk, key);
                            if (pass == 0) {
                                bstart[bu + 1]++;
                                continue;
                            }
                            uint32_t at = bstart[bu]++;
                            sorted[at] = t | (guest ? GUEST : 0);
                            if (keys)
                                keys[at] = key;
                        }
            }
        }
    }
    for (size_t b = nb; b > 0; b--)
        bstart[b] = bstart[b - 1];
    bstart[0] = 0;

    /* the work, bounded before it starts: pairs with a resident sharing a
     * bucket */
    double work = 0;
    for (size_t b = 0; b < nb; b++) {
        double r = 0, gu = 0;
        for (uint32_t i = bstart[b]; i < bstart[b + 1]; i++) {
            gu += (sorted[i] & GUEST) != 0;
            r += !(sorted[i] & GUEST);
        }
        work += r * (r - 1) / 2 + r * gu;
    }
    if (work > SEARCH_BUDGET(nlive)) {
        out->pairs = UINT32_MAX;
        out->undecided = 1;
        goto done;
    }

    /* the fans: a vertex -> corner table, then each vertex's kind */
    cstart = orf_zalloc((size_t)nv + 1, sizeof *cstart);
    corners = orf_malloc_big((size_t)nt * 3, sizeof *corners);
    clear = malloc((size_t)nv + 1);
    if (!cstart || !corners || !clear)
        goto oom;
    for (size_t c = 0; c < (size_t)nt * 3; c++)
        cstart[m->idx[c] + 1]++;
    uint32_t maxdeg = 0;
    for (uint32_t v = 0; v < nv; v++) {
        maxdeg = cstart[v + 1] > maxdeg ? cstart[v + 1] : maxdeg;
        cstart[v + 1] += cstart[v];
    }
    for (size_t c = 0; c < (size_t)nt * 3; c++)
        corners[cstart[m->idx[c]]++] = (uint32_t)c;
    for (uint32_t v = nv; v > 0; v--)
        cstart[v] = cstart[v - 1];
    cstart[0] = 0;
    uint32_t broken = 0;
    int failed = 0;
#pragma omp parallel if (nv >= 20000) reduction(+ : broken)
    {
        fan_scratch f;
        size_t d = (size_t)maxdeg + 1;
        f.na = malloc(d * sizeof *f.na);
        f.nb = malloc(d * sizeof *f.nb);
        f.ord = malloc(d * sizeof *f.ord);
        f.seen = malloc(d);
        int ok = f.na && f.nb && f.ord && f.seen;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (uint32_t v = 0; v < nv; v++) {
            uint32_t deg = cstart[v + 1] - cstart[v];
            int kind = ok && deg ? fan_kind(m, v, corners + cstart[v], deg, &f) : 1;
            clear[v] = kind == 2;
            broken += kind == 0;
        }
        free(f.na);
        free(f.nb);
        free(f.ord);
        free(f.seen);
    }
    if (failed)
        goto oom;
    out->broken_fans = broken;

    pair_ctx ctx = {m, tr, clear, keys, bk, &g};
    uint64_t found = 0;
#pragma omp parallel for schedule(dynamic, 4096) reduction(+ : found) if (nent >= 60000)
    for (size_t b = 0; b < nb; b++) {
        uint32_t b0 = bstart[b], r = bstart[b + 1] - b0;
        if (r < 2 || (sorted[b0] & GUEST))
            continue;
        /* the bucket's first LOCAL_MAX boxes and corners side by side: a
         * triangle's tests against them are one branch-free pass making a
         * bit mask, and only the pairs that need it go on */
        float bx[6][LOCAL_MAX];
        uint32_t bv[3][LOCAL_MAX];
        uint32_t nloc = r < LOCAL_MAX ? r : LOCAL_MAX;
        for (uint32_t i = 0; i < nloc; i++) {
            uint32_t t = sorted[b0 + i] & ~GUEST;
            const stri *st = tr + t;
            for (int k = 0; k < 3; k++) {
                bx[k][i] = st->lo[k];
                bx[3 + k][i] = st->hi[k];
                bv[k][i] = m->idx[3 * (size_t)t + (size_t)k];
            }
        }
        for (uint32_t i = 0; i < r && !(sorted[b0 + i] & GUEST); i++) {
            const stri *si = tr + sorted[b0 + i];
            const uint32_t *ia = m->idx + 3 * (size_t)sorted[b0 + i];
            uint64_t near = 0, nbr = 0;
            for (uint32_t j = i + 1; j < nloc; j++) {
                int touch = (si->lo[0] <= bx[3][j]) & (bx[0][j] <= si->hi[0]) & (si->lo[1] <= bx[4][j]) &
                            (bx[1][j] <= si->hi[1]) & (si->lo[2] <= bx[5][j]) & (bx[2][j] <= si->hi[2]);
                near |= (uint64_t)touch << j;
                int share = 0;
                for (int x = 0; x < 3; x++)
                    share |= (bv[0][j] == ia[x]) | (bv[1][j] == ia[x]) | (bv[2][j] == ia[x]);
                nbr |= (uint64_t)share << j;
            }
            /* a triangle whose corners are all clear needs no test against
             * any neighbour sharing a corner with it */
            if (clear[ia[0]] & clear[ia[1]] & clear[ia[2]])
                near &= ~nbr;
            while (near) {
                uint32_t j = (uint32_t)__builtin_ctzll(near);
                near &= near - 1;
                found += (uint64_t)pair_step(&ctx, b, b0 + i, b0 + j, sorted);
            }
            for (uint32_t j = nloc > i + 1 ? nloc : i + 1; j < r; j++)
                if (boxes_touch(si, tr + (sorted[b0 + j] & ~GUEST)))
                    found += (uint64_t)pair_step(&ctx, b, b0 + i, b0 + j, sorted);
        }
    }
    out->pairs = found >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)found;
    goto done;
oom:
    rc = orf_fail(e, "too_large", "out of memory testing %u triangles for self-intersection", nt);
done:
    free(tr);
    free(bk);
    free(sorted);
    free(keys);
    free(bstart);
    free(cstart);
    free(corners);
    free(clear);
    return rc;
}
