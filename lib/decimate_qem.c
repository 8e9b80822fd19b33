/* decimate_qem.c - today's sequential quadric-error edge collapse
 * (DECIMATE_QEM_HEAP): one indexed 4-ary heap of every vertex's cheapest
 * allowed edge, collapses taken in (cost, index) order, each edge's cost
 * kept in its triangles' corners and re-priced when an end moves. The
 * refusal and placement rules are decimate.h's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "decimate_qem.h"

static void quadric_add_plane(double *q, double a, double b, double c, double d)
{
    q[0] += a * a; q[1] += a * b; q[2] += a * c; q[3] += a * d;
    q[4] += b * b; q[5] += b * c; q[6] += b * d;
    q[7] += c * c; q[8] += c * d;
    q[9] += d * d;
}

static inline double quadric_eval(const double *q, const double p[3])
{
    double x = p[0], y = p[1], z = p[2];
    double v = q[0] * x * x + 2 * q[1] * x * y + 2 * q[2] * x * z + 2 * q[3] * x + q[4] * y * y +
               2 * q[5] * y * z + 2 * q[6] * y + q[7] * z * z + 2 * q[8] * z + q[9];
    return v > 0 ? v : 0;
}

/* The point minimising q, when the system is well conditioned. */
static inline int quadric_optimum(const double *q, double p[3])
{
    double a = q[0], b = q[1], c = q[2], d = q[4], e = q[5], f = q[7];
    double c00 = d * f - e * e, c01 = c * e - b * f, c02 = b * e - c * d;
    double det = a * c00 + b * c01 + c * c02;
    double tr = a + d + f;
    if (!(fabs(det) > 1e-6 * tr * tr * tr) || tr <= 0)
        return 0;
    double c11 = a * f - c * c, c12 = b * c - a * e, c22 = a * d - b * b;
    double r = 1.0 / det, r0 = -q[3] * r, r1 = -q[6] * r, r2 = -q[8] * r;
    p[0] = c00 * r0 + c01 * r1 + c02 * r2;
    p[1] = c01 * r0 + c11 * r1 + c12 * r2;
    p[2] = c02 * r0 + c12 * r1 + c22 * r2;
    return isfinite(p[0]) && isfinite(p[1]) && isfinite(p[2]);
}

/* Where the collapse of edge ab puts the surviving vertex, which one
 * survives (*keep) and the cost. The quadric's minimum, when it is well
 * defined and no farther from the edge's midpoint than the edge is long, is
 * the cheapest place (the quadric is positive definite there), so the
 * endpoints are priced only when it is not usable. */
static double qem_plan(const qem *s, uint32_t a, uint32_t b, double p[3], uint32_t *keep)
{
    const double *qa = s->q + (size_t)QN * a, *qb = s->q + (size_t)QN * b;
    double q[QN] = {qa[0] + qb[0], qa[1] + qb[1], qa[2] + qb[2], qa[3] + qb[3], qa[4] + qb[4],
                    qa[5] + qb[5], qa[6] + qb[6], qa[7] + qb[7], qa[8] + qb[8], qa[9] + qb[9]};
    const float *fa = s->pos + 3 * (size_t)a, *fb = s->pos + 3 * (size_t)b;
    double pa[3] = {fa[0], fa[1], fa[2]}, pb[3] = {fb[0], fb[1], fb[2]};
    if (s->locked[a] || s->locked[b]) {
        *keep = s->locked[a] ? a : b;
        memcpy(p, *keep == a ? pa : pb, sizeof pa);
        return quadric_eval(q, p);
    }
    double mid[3], len2 = 0;
    if (!s->endpoints_only) {
        double o[3], off2 = 0;
        for (int k = 0; k < 3; k++) {
            mid[k] = 0.5 * (pa[k] + pb[k]);
            len2 += (pa[k] - pb[k]) * (pa[k] - pb[k]);
        }
        if (quadric_optimum(q, o)) {
            for (int k = 0; k < 3; k++)
                off2 += (o[k] - mid[k]) * (o[k] - mid[k]);
            if (off2 <= len2) {
                *keep = a < b ? a : b;
                memcpy(p, o, sizeof o);
                return quadric_eval(q, o);
            }
        }
    }
    double ca = quadric_eval(q, pa), cb = quadric_eval(q, pb);
    *keep = cb < ca ? b : a;
    memcpy(p, cb < ca ? pb : pa, sizeof pa);
    double best = cb < ca ? cb : ca;
    if (s->endpoints_only)
        return best;
    *keep = a < b ? a : b;
    double cm = quadric_eval(q, mid);
    if (cm < best) {
        memcpy(p, mid, sizeof mid);
        return cm;
    }
    return best;
}

static inline void heap_place(qem *s, uint32_t i, heap_entry he)
{
    s->heap[i] = he;
    s->hpos[key_vertex(he)] = i;
}

static void heap_sift_up(qem *s, uint32_t i, heap_entry he)
{
    while (i > 0) {
        uint32_t up = (i - 1) / 4;
        if (he >= s->heap[up])
            break;
        heap_place(s, i, s->heap[up]);
        i = up;
    }
    heap_place(s, i, he);
}

static void heap_sift_down(qem *s, uint32_t i, heap_entry he)
{
    uint32_t n = s->nheap;
    const heap_entry *h = s->heap;
    for (;;) {
        uint32_t c = 4 * i + 1, best = c;
        if (c + 3 < n) {
            uint32_t b1 = h[c + 1] < h[c] ? c + 1 : c;
            uint32_t b2 = h[c + 3] < h[c + 2] ? c + 3 : c + 2;
            best = h[b2] < h[b1] ? b2 : b1;
        } else if (c < n) {
            for (uint32_t k = c + 1; k < n; k++)
                if (h[k] < h[best])
                    best = k;
        } else {
            break;
        }
        if (h[best] >= he)
            break;
        heap_place(s, i, h[best]);
        i = best;
    }
    heap_place(s, i, he);
}

static void heap_remove(qem *s, uint32_t v)
{
    uint32_t i = s->hpos[v];
    if (i == NO_POS)
        return;
    s->hpos[v] = NO_POS;
    heap_entry last = s->heap[--s->nheap];
    if (i == s->nheap)
        return;
    if (i > 0 && last < s->heap[(i - 1) / 4])
        heap_sift_up(s, i, last);
    else
        heap_sift_down(s, i, last);
}

/* Put v in the heap with key k (cost_key), or move it there. */
static void heap_set(qem *s, uint32_t v, uint64_t k)
{
    uint32_t i = s->hpos[v];
    if (i == NO_POS) {
        heap_sift_up(s, s->nheap++, k);
        return;
    }
    if (k < s->heap[i])
        heap_sift_up(s, i, k);
    else
        heap_sift_down(s, i, k);
}

/* Price the edges of v (all of them, or only those to a higher index) and
 * write each cost into both corners of v's triangles that hold the edge.
 * v's neighbours go to s->ring (all of them; the count is returned), the
 * costs of the priced ones to s->ecost. Edges between two locked vertices are
 * never collapsed: they get no price. */
static uint32_t qem_price_fan(qem *s, uint32_t v, int greater_only)
{
    uint32_t g = ++s->gen, n = 0;
    const uint32_t *l = s->pool + s->vstart[v];
    int lv = s->locked[v];
    for (uint32_t i = 0; i < s->vcount[v]; i++) {
        uint32_t t = l[i];
        const uint32_t *tv = s->idx + 3 * t;
        uint32_t k = tv[0] == v ? 0 : tv[1] == v ? 1 : 2;
        uint32_t kn = k == 2 ? 0 : k + 1, kp = k == 0 ? 2 : k - 1;
        /* the edge to the next corner (kept in corner k), the one from the
         * previous corner (kept in corner kp) */
        uint32_t xs[2] = {tv[kn], tv[kp]}, cs[2] = {3 * t + k, 3 * t + kp};
        for (int side = 0; side < 2; side++) {
            uint32_t x = xs[side];
            if (greater_only && x < v)
                continue;
            if (s->mark[x] != g) {
                s->mark[x] = g;
                s->ring[n++] = x;
                double p[3];
                uint32_t keep;
                if (!(lv && s->locked[x]))
                    s->ecost[x] = (float)qem_plan(s, v, x, p, &keep);
            }
            if (!(lv && s->locked[x]))
                s->ccost[cs[side]] = s->ecost[x];
        }
    }
    return n;
}

/* Choose v's entry from the costs in its corners: the cheapest edge after
 * the skip[v] refused ones, in (cost, index) order; v leaves the heap when
 * there is none. */
static void qem_select(qem *s, uint32_t v)
{
    const uint32_t *l = s->pool + s->vstart[v];
    uint32_t n = s->vcount[v];
    uint64_t best = UINT64_MAX, lo = 0;
    int lv = s->locked[v];
    for (uint32_t r = 0; r <= s->skip[v]; r++) {
        best = UINT64_MAX;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t t = l[i];
            const uint32_t *tv = s->idx + 3 * t;
            uint32_t k = tv[0] == v ? 0 : tv[1] == v ? 1 : 2;
            uint32_t kn = k == 2 ? 0 : k + 1, kp = k == 0 ? 2 : k - 1;
            uint32_t xn = tv[kn], xp = tv[kp];
            uint64_t a = cost_key(s->ccost[3 * t + k], xn), b = cost_key(s->ccost[3 * t + kp], xp);
            if (lv) {
                if (s->locked[xn])
                    a = UINT64_MAX;
                if (s->locked[xp])
                    b = UINT64_MAX;
            }
            if (r > 0) {
                if (a <= lo)
                    a = UINT64_MAX;
                if (b <= lo)
                    b = UINT64_MAX;
            }
            uint64_t m = a < b ? a : b;
            best = m < best ? m : best;
        }
        if (best == UINT64_MAX)
            break;
        lo = best;
    }
    if (best == UINT64_MAX) {
        heap_remove(s, v);
        return;
    }
    s->tgt[v] = key_vertex(best);
    heap_set(s, v, cost_key(key_cost(best), v));
}

static void tri_normal(const double *a, const double *b, const double *c, double n[3])
{
    double u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    double w[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    n[0] = u[1] * w[2] - u[2] * w[1];
    n[1] = u[2] * w[0] - u[0] * w[2];
    n[2] = u[0] * w[1] - u[1] * w[0];
}

static double tri_quality(const double *a, const double *b, const double *c, const double n[3])
{
    double l = 0;
    for (int k = 0; k < 3; k++)
        l += (b[k] - a[k]) * (b[k] - a[k]) + (c[k] - b[k]) * (c[k] - b[k]) +
             (a[k] - c[k]) * (a[k] - c[k]);
    double area2 = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
    return l > 0 ? 2.0 * sqrt(3.0) * area2 / l : 0;
}

/* Whether the triangles of v that do not hold `other` stay unfolded and
 * needle-free when v moves to p. */
static int qem_fan_ok(qem *s, uint32_t v, uint32_t other, const double p[3])
{
    const uint32_t *l = s->pool + s->vstart[v];
    for (uint32_t i = 0; i < s->vcount[v]; i++) {
        uint32_t t = l[i];
        const uint32_t *tv = s->idx + 3 * t;
        if (tv[0] == other || tv[1] == other || tv[2] == other)
            continue;
        double c[3][3], d[3][3];
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < 3; j++) {
                c[k][j] = s->pos[3 * tv[k] + j];
                d[k][j] = tv[k] == v ? p[j] : c[k][j];
            }
        double no[3], nn[3];
        tri_normal(c[0], c[1], c[2], no);
        tri_normal(d[0], d[1], d[2], nn);
        double lo = sqrt(no[0] * no[0] + no[1] * no[1] + no[2] * no[2]);
        double ln = sqrt(nn[0] * nn[0] + nn[1] * nn[1] + nn[2] * nn[2]);
        if (!(ln > 0))
            return 0;
        if (lo > 0 && no[0] * nn[0] + no[1] * nn[1] + no[2] * nn[2] < s->min_dot * lo * ln)
            return 0;
        double qn = tri_quality(d[0], d[1], d[2], nn);
        if (qn < s->min_quality && qn < tri_quality(c[0], c[1], c[2], no))
            return 0;
    }
    return 1;
}

/* The link condition and the valence of the two opposite vertices. */
static int qem_topology_ok(qem *s, uint32_t a, uint32_t b)
{
    uint32_t opp[2], nshared = 0, g = ++s->gen;
    const uint32_t *l = s->pool + s->vstart[a];
    for (uint32_t i = 0; i < s->vcount[a]; i++) {
        const uint32_t *tv = s->idx + 3 * l[i];
        s->mark[tv[0]] = g;
        s->mark[tv[1]] = g;
        s->mark[tv[2]] = g;
        if (tv[0] != b && tv[1] != b && tv[2] != b)
            continue;
        if (nshared == 2)
            return 0; /* a non-manifold edge */
        opp[nshared++] = tv[0] != a && tv[0] != b ? tv[0] : tv[1] != a && tv[1] != b ? tv[1] : tv[2];
    }
    if (nshared != 2 || opp[0] == opp[1] || s->vcount[opp[0]] <= 3 || s->vcount[opp[1]] <= 3)
        return 0;
    uint32_t g2 = ++s->gen, common = 0;
    const uint32_t *lb = s->pool + s->vstart[b];
    for (uint32_t i = 0; i < s->vcount[b]; i++) {
        const uint32_t *tv = s->idx + 3 * lb[i];
        for (int k = 0; k < 3; k++) {
            uint32_t x = tv[k];
            if (x != a && x != b && s->mark[x] == g) {
                s->mark[x] = g2;
                common++;
            }
        }
    }
    return common == 2;
}

static int qem_collapse(qem *s, uint32_t keep, uint32_t rem, const double p[3])
{
    size_t need = (size_t)s->vcount[keep] + s->vcount[rem];
    if (s->npool + need > s->cappool) {
        size_t cap = 2 * s->cappool + need;
        uint32_t *np = realloc(s->pool, cap * sizeof *np);
        if (!np)
            return -1;
        s->pool = np;
        s->cappool = cap;
    }
    uint32_t start = (uint32_t)s->npool, n = 0;
    const uint32_t *lk = s->pool + s->vstart[keep], *lr = s->pool + s->vstart[rem];
    for (uint32_t i = 0; i < s->vcount[rem]; i++) {
        uint32_t t = lr[i];
        uint32_t *tv = s->idx + 3 * t;
        if (tv[0] == keep || tv[1] == keep || tv[2] == keep) {
            /* dies: it leaves the list of its third vertex now (keep's
             * below, rem's goes), so lists hold only live triangles */
            s->tdead[t] = 1;
            s->live--;
            uint32_t o = tv[0] != keep && tv[0] != rem ? tv[0] : tv[1] != keep && tv[1] != rem ? tv[1] : tv[2];
            uint32_t *lo = s->pool + s->vstart[o];
            for (uint32_t j = 0; j < s->vcount[o]; j++)
                if (lo[j] == t) {
                    lo[j] = lo[--s->vcount[o]];
                    break;
                }
            continue;
        }
        for (int k = 0; k < 3; k++)
            if (tv[k] == rem)
                tv[k] = keep;
        s->pool[start + n++] = t;
    }
    for (uint32_t i = 0; i < s->vcount[keep]; i++)
        if (!s->tdead[lk[i]])
            s->pool[start + n++] = lk[i];
    s->npool += n;
    s->vstart[keep] = start;
    s->vcount[keep] = n;
    s->vcount[rem] = 0;
    s->vdead[rem] = 1;
    for (int k = 0; k < 3; k++)
        s->pos[3 * keep + k] = (float)p[k];
    for (int k = 0; k < QN; k++)
        s->q[QN * keep + k] += s->q[QN * rem + k];
    heap_remove(s, rem);
    /* keep's edges all changed; a neighbour's edge to keep changed and its
     * edge to rem is gone: recompute its entry when that was one of those
     * (or after a refusal), else compare the new edge with its entry */
    s->skip[keep] = 0;
    uint32_t nn = qem_price_fan(s, keep, 0);
    qem_select(s, keep);
    for (uint32_t i = 0; i < nn; i++) {
        uint32_t x = s->ring[i], at = s->hpos[x];
        if (s->locked[keep] && s->locked[x]) {
            /* no edge to keep: only its edge to rem is gone */
            if (s->tgt[x] == rem || at == NO_POS || s->skip[x]) {
                s->skip[x] = 0;
                qem_select(s, x);
            }
            continue;
        }
        float nc = s->ecost[x];
        if (s->tgt[x] == keep && !s->skip[x] && at != NO_POS) {
            /* its cheapest edge got no dearer: it stays the cheapest */
            if (nc <= key_cost(s->heap[at]))
                heap_set(s, x, cost_key(nc, x));
            else
                qem_select(s, x);
        } else if (s->tgt[x] == rem || s->tgt[x] == keep || s->skip[x] || at == NO_POS) {
            s->skip[x] = 0;
            qem_select(s, x);
        } else if (cost_key(nc, keep) < cost_key(key_cost(s->heap[at]), s->tgt[x])) {
            s->tgt[x] = keep;
            heap_set(s, x, cost_key(nc, x));
        }
    }
    return 0;
}


void qem_free(qem *s)
{
    free(s->pos);
    free(s->idx);
    free(s->tdead);
    free(s->vdead);
    free(s->locked);
    free(s->q);
    free(s->tgt);
    free(s->hpos);
    free(s->skip);
    free(s->vstart);
    free(s->vcount);
    free(s->pool);
    free(s->mark);
    free(s->cnt);
    free(s->heap);
    free(s->ccost);
    free(s->ecost);
    free(s->ring);
    free(s->l2g);
}

/* Set up s for the mesh (pos, nv, idx, nt). q_in (QN nv, or NULL): the
 * vertices' quadrics, carried over from an earlier pass, instead of the
 * planes of these triangles; lock_in (nv, or NULL): vertices to lock besides
 * those on a border or a non-manifold edge. */
int qem_init(qem *s, const float *pos, uint32_t nv, const uint32_t *idx, uint32_t nt,
                    int endpoints_only, const decimate_opts *o, const double *q_in,
                    const uint8_t *lock_in)
{
    memset(s, 0, sizeof *s);
    size_t v1 = nv ? nv : 1, t1 = nt ? nt : 1;
    s->nv = nv;
    s->nt = nt;
    s->pos = malloc(v1 * 3 * sizeof *s->pos);
    s->idx = malloc(t1 * 3 * sizeof *s->idx);
    s->tdead = orf_zalloc(t1, 1);
    s->vdead = orf_zalloc(v1, 1);
    s->locked = orf_zalloc(v1, 1);
    s->q = orf_zalloc(v1 * QN, sizeof *s->q);
    s->tgt = orf_zalloc(v1, sizeof *s->tgt);
    s->hpos = malloc(v1 * sizeof *s->hpos);
    s->skip = orf_zalloc(v1, 1);
    s->heap = malloc(v1 * sizeof *s->heap);
    s->vstart = orf_zalloc(v1 + 1, sizeof *s->vstart);
    s->vcount = orf_zalloc(v1, sizeof *s->vcount);
    s->cappool = t1 * 3 * 2;
    s->pool = malloc(s->cappool * sizeof *s->pool);
    s->mark = orf_zalloc(v1, sizeof *s->mark);
    s->cnt = orf_zalloc(v1, sizeof *s->cnt);
    s->ccost = malloc(t1 * 3 * sizeof *s->ccost);
    s->ecost = malloc(v1 * sizeof *s->ecost);
    s->ring = malloc(v1 * sizeof *s->ring);
    if (!s->ccost || !s->ecost || !s->ring)
        return -1;
    if (!s->pos || !s->idx || !s->tdead || !s->vdead || !s->locked || !s->q || !s->tgt || !s->hpos || !s->skip || !s->heap ||
        !s->vstart || !s->vcount || !s->pool || !s->mark || !s->cnt)
        return -1;
    memcpy(s->pos, pos, (size_t)nv * 3 * sizeof *s->pos);
    memcpy(s->idx, idx, (size_t)nt * 3 * sizeof *s->idx);
    if (q_in)
        memcpy(s->q, q_in, (size_t)nv * QN * sizeof *s->q);
    if (lock_in)
        memcpy(s->locked, lock_in, nv);
    s->endpoints_only = endpoints_only;
    s->min_dot = o->min_normal_dot != 0 ? o->min_normal_dot : 0.5f;
    s->min_quality = o->min_quality != 0 ? o->min_quality : 0.05f;
    s->max_cost = o->max_error > 0 ? (double)o->max_error * o->max_error : -1;
    /* triangles of each vertex (CSR), plane quadrics; degenerate ones go */
    s->live = nt;
    for (uint32_t t = 0; t < nt; t++) {
        const uint32_t *tv = s->idx + 3 * t;
        if (tv[0] == tv[1] || tv[1] == tv[2] || tv[0] == tv[2]) {
            s->tdead[t] = 1;
            s->live--;
            for (int k = 0; k < 3; k++)
                s->locked[tv[k]] = 1;
            continue;
        }
        for (int k = 0; k < 3; k++)
            s->vcount[tv[k]]++;
        if (q_in)
            continue;
        double a[3], b[3], c[3], n[3];
        for (int k = 0; k < 3; k++) {
            a[k] = s->pos[3 * tv[0] + k];
            b[k] = s->pos[3 * tv[1] + k];
            c[k] = s->pos[3 * tv[2] + k];
        }
        tri_normal(a, b, c, n);
        double len = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
        if (!(len > 0))
            continue;
        n[0] /= len;
        n[1] /= len;
        n[2] /= len;
        double d = -(n[0] * a[0] + n[1] * a[1] + n[2] * a[2]);
        for (int k = 0; k < 3; k++)
            quadric_add_plane(s->q + QN * (size_t)tv[k], n[0], n[1], n[2], d);
    }
    uint32_t acc = 0;
    for (uint32_t v = 0; v < nv; v++) {
        s->vstart[v] = acc;
        acc += s->vcount[v];
        s->vcount[v] = 0;
    }
    for (uint32_t t = 0; t < nt; t++) {
        if (s->tdead[t])
            continue;
        for (int k = 0; k < 3; k++) {
            uint32_t v = s->idx[3 * t + k];
            s->pool[s->vstart[v] + s->vcount[v]++] = t;
        }
    }
    s->npool = acc;
    /* lock vertices on a border or non-manifold edge: an edge of v whose
     * other end appears in other than two of v's triangles */
    for (uint32_t v = 0; v < nv; v++) {
        uint32_t g = ++s->gen;
        const uint32_t *l = s->pool + s->vstart[v];
        for (uint32_t i = 0; i < s->vcount[v]; i++)
            for (int k = 0; k < 3; k++) {
                uint32_t x = s->idx[3 * l[i] + k];
                if (s->mark[x] != g) {
                    s->mark[x] = g;
                    s->cnt[x] = 0;
                }
                s->cnt[x]++;
            }
        for (uint32_t i = 0; i < s->vcount[v] && !s->locked[v]; i++)
            for (int k = 0; k < 3; k++) {
                uint32_t x = s->idx[3 * l[i] + k];
                if (x != v && s->cnt[x] != 2)
                    s->locked[v] = 1;
            }
    }
    return 0;
}

/* Collapse until the target, the bound, or no allowed collapse is left.
 * A refused edge is passed over until one of its vertices changes; a new
 * pass (at most four) gives every edge another chance. */
int qem_run(qem *s, uint32_t target)
{
    for (int pass = 0; pass < 4 && s->live > target; pass++) {
        s->nheap = 0;
        for (uint32_t v = 0; v < s->nv; v++)
            s->hpos[v] = NO_POS;
        /* every edge priced once, then each vertex's entry */
        for (uint32_t v = 0; v < s->nv; v++)
            if (!s->vdead[v] && s->vcount[v])
                qem_price_fan(s, v, 1);
        for (uint32_t v = 0; v < s->nv; v++) {
            s->skip[v] = 0;
            if (!s->vdead[v] && s->vcount[v])
                qem_select(s, v);
        }
        uint32_t done = 0;
        int bound_hit = 0;
        while (s->nheap && s->live > target) {
            heap_entry h = s->heap[0];
            uint32_t v = key_vertex(h), t = s->tgt[v];
            if (s->max_cost >= 0 && key_cost(h) > s->max_cost) {
                bound_hit = 1;
                break;
            }
            double p[3];
            uint32_t keep;
            double cost = qem_plan(s, v, t, p, &keep);
            uint32_t rem = keep == v ? t : v;
            int moved = p[0] != s->pos[3 * keep] || p[1] != s->pos[3 * keep + 1] ||
                        p[2] != s->pos[3 * keep + 2];
            if (!qem_topology_ok(s, v, t) || !qem_fan_ok(s, rem, keep, p) ||
                (moved && !qem_fan_ok(s, keep, rem, p))) {
                if (s->skip[v] < 250) {
                    s->skip[v]++;
                    qem_select(s, v);
                } else {
                    heap_remove(s, v);
                }
                continue;
            }
            if (qem_collapse(s, keep, rem, p) != 0)
                return -1;
            if (cost > s->worst)
                s->worst = cost;
            done++;
        }
        if (bound_hit || done == 0)
            break;
    }
    return 0;
}
