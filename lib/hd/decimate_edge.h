/* hd/decimate_edge.h - the per-element steps of decimation in rounds of
 * independent collapses (lib/decimate_rounds.c on OpenMP threads,
 * kernels/cuda_decimate.cu on the GPU): one definition, so both backends
 * compute the same bits.
 *
 * Plain C99 with sqrt and fabs on doubles (IEEE-exact on either side; the
 * kernels are built with --fmad=false), no allocation and no global state.
 *
 * The mesh (dec_mesh) is a triangle list with, for every vertex, the list of
 * its corners (vstart/vcorner, CSR: corner c = 3 t + k is corner k of
 * triangle t; rebuilt every round, in any order: nothing here depends on the
 * order of a list). A triangle's corner k also names the half-edge from
 * corner k to corner k + 1; an edge is priced at its half-edge whose first
 * vertex is the lower (its "owner"; border edges whose one half-edge runs
 * high to low join two locked vertices and are never collapsed anyway).
 *
 * One round (the driver runs each step over all elements, then the next):
 *   1. dec_edge_price    per half-edge: the quadric cost of collapsing the
 *                        edge (dec_plan; dec_edge_reprice keeps the last
 *                        round's where no end moved), or DEC_NO_COST when it may not
 *                        collapse at any price (two locked ends, not the
 *                        owner, over max_cost). The driver histograms
 *                        dec_cost_bucket of the costs and sets a ceiling
 *                        (a quantile: decimate_rounds.c).
 *   2. dec_edge_key      per half-edge: its 64-bit key (the cost's bucket,
 *                        then a bijective hash of the half-edge index and
 *                        round: costs in one bucket, 1/16 of an octave, tie
 *                        and the tie goes to the hash, so neighbours of
 *                        near-equal cost, a flat or smoothly curved region,
 *                        do not wait on each other round after round). The
 *                        candidates of a round are the keys up to a limit
 *                        (a second histogram, of the hash's top bits in the
 *                        ceiling bucket, makes their number the rank the
 *                        driver asked for, even when a whole flat mesh has
 *                        cost 0).
 *   3. dec_edge_free     per candidate: a candidate whose triangles touch
 *                        an end of a winner of this round (taken) drops
 *                        out; the others scatter their keys: each end's
 *                        vmin is the least key of its free candidates.
 *   4-5. dec_edge_settle per free candidate: it wins when its key is the
 *                        least vmin over the triangles of both ends and
 *                        the refusal rules (dec_edge_allowed: valence cap,
 *                        link condition, fold and needle tests) let it: no
 *                        cheaper candidate touches any triangle of either
 *                        end, so the winners' triangle fans are disjoint
 *                        and their ends two or more edges apart; all of
 *                        them can be applied at once, and the result is
 *                        that of applying them one after another (each
 *                        one's tests read only its own fans, which the
 *                        others leave alone). Winners mark their ends
 *                        taken and 3-5 repeat (a few passes): more winners,
 *                        free of the earlier ones, so still independent.
 *   6. dec_edge_apply    per winner: move the kept vertex, add the quadrics,
 *                        rename the removed vertex in its triangles, mark the
 *                        two triangles of the edge dead (idx = DEC_DEAD).
 * Keys are compared as integers, so the minima do not depend on the order
 * threads run in: the same bytes for any thread count and on the GPU.
 */
#ifndef ORFEAS_HD_DECIMATE_EDGE_H
#define ORFEAS_HD_DECIMATE_EDGE_H

#include <math.h>
#include <stdint.h>

#include "hd/hd.h"

/* A symmetric 4x4 quadric: a2 ab ac ad b2 bc bd c2 cd d2. */
#define DEC_QN 10
/* idx of a dead triangle */
#define DEC_DEAD 0xFFFFFFFFu
#define DEC_NO_KEY 0xFFFFFFFFFFFFFFFFull
/* the key of an edge that won this round */
#define DEC_WON 0ull
/* what dec_edge_settle returns for an edge the refusal rules stopped */
#define DEC_REFUSED 0xFFFFFFFFFFFFFFFEull
/* no price: +infinity's bits (a priced edge's cost is finite, >= 0) */
#define DEC_NO_COST 0x7F800000u
/* the price of an edge the refusal rules stopped, until a collapse changes
 * the fan of an end (a NaN: no bucket, so neither counted nor a candidate) */
#define DEC_REFUSED_COST 0x7FC0DEC0u
/* The kept vertex of a collapse may hold at most this many triangles: it
 * bounds every per-edge loop (DEC_MAX_VALENCE^2 steps for the link test) on
 * either backend. Vertices of the input with more are locked. */
#ifndef DEC_MAX_VALENCE
#define DEC_MAX_VALENCE 32u
#endif
/* Cost buckets: a float's bits shifted right by this (sign 0, 8 exponent
 * bits, the top 4 mantissa bits: 1/16 of an octave). Finite costs fall in
 * the buckets below DEC_NO_BUCKET, DEC_NO_COST's. */
#define DEC_BUCKET_SHIFT 19
#define DEC_NO_BUCKET (DEC_NO_COST >> DEC_BUCKET_SHIFT)

typedef struct dec_mesh {
    uint32_t nv;             /* vertices (live or not) */
    uint32_t nt;             /* triangles in idx (all live at the start of a round) */
    float *pos;              /* 3 nv */
    double *q;               /* DEC_QN nv: each vertex's quadric */
    uint32_t *idx;           /* 3 nt */
    const uint8_t *locked;   /* nv: 1 = never moves (border, non-manifold, degenerate, crowded) */
    const uint32_t *vstart;  /* nv + 1: v's corners are vcorner[vstart[v] .. vstart[v + 1]) */
    const uint32_t *vcorner; /* 3 nt */
    int endpoints_only;      /* 1: the kept vertex stays at one of the two ends */
    float min_dot;           /* refuse a triangle normal turning past this cosine */
    float min_quality;       /* refuse a needle under this quality (when it was better) */
    double max_cost;         /* max_error^2, or < 0 for no bound */
} dec_mesh;

ORF_HD uint32_t dec_float_bits(float f)
{
    union {
        float f;
        uint32_t u;
    } x;
    x.f = f;
    return x.u;
}

ORF_HD float dec_bits_float(uint32_t u)
{
    union {
        uint32_t u;
        float f;
    } x;
    x.u = u;
    return x.f;
}

/* A bijection of 32 bits (Wellons' lowbias32) of the half-edge index and
 * the round: the order among equal costs, different every round. */
ORF_HD uint32_t dec_mix(uint32_t h, uint32_t round)
{
    uint32_t x = h + round * 0x9E3779B9u;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

ORF_HD uint32_t dec_cost_bucket(float cost)
{
    return dec_float_bits(cost) >> DEC_BUCKET_SHIFT;
}

ORF_HD uint32_t dec_next(uint32_t c)
{
    return c % 3 == 2 ? c - 2 : c + 1;
}

ORF_HD uint32_t dec_prev(uint32_t c)
{
    return c % 3 == 0 ? c + 2 : c - 1;
}

ORF_HD int dec_tri_has(const uint32_t *tv, uint32_t v)
{
    return tv[0] == v || tv[1] == v || tv[2] == v;
}

ORF_HD void dec_quadric_add_plane(double *q, double a, double b, double c, double d)
{
    q[0] += a * a; q[1] += a * b; q[2] += a * c; q[3] += a * d;
    q[4] += b * b; q[5] += b * c; q[6] += b * d;
    q[7] += c * c; q[8] += c * d;
    q[9] += d * d;
}

ORF_HD double dec_quadric_eval(const double *q, const double p[3])
{
    double x = p[0], y = p[1], z = p[2];
    double v = q[0] * x * x + 2 * q[1] * x * y + 2 * q[2] * x * z + 2 * q[3] * x + q[4] * y * y +
               2 * q[5] * y * z + 2 * q[6] * y + q[7] * z * z + 2 * q[8] * z + q[9];
    return v > 0 ? v : 0;
}

/* The point minimising q, when the system is well conditioned. */
ORF_HD int dec_quadric_optimum(const double *q, double p[3])
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
    /* finite: x - x is 0 for a finite x, NaN for inf and NaN */
    return p[0] - p[0] == 0 && p[1] - p[1] == 0 && p[2] - p[2] == 0;
}

/* Where the collapse of edge (a, b), a < b, puts the surviving vertex, which
 * one survives (*keep) and the cost (the summed quadric there, squared mesh
 * units). A locked end stays put. Otherwise: the quadric's minimum when it
 * is well defined and no farther from the midpoint than the edge is long
 * (the cheapest place: priced alone); else the cheapest of the two ends and
 * the midpoint; with endpoints_only, the cheaper end. */
ORF_HD double dec_plan(const dec_mesh *m, uint32_t a, uint32_t b, double p[3], uint32_t *keep)
{
    const double *qa = m->q + (uint64_t)DEC_QN * a, *qb = m->q + (uint64_t)DEC_QN * b;
    double q[DEC_QN];
    for (int k = 0; k < DEC_QN; k++)
        q[k] = qa[k] + qb[k];
    const float *fa = m->pos + 3 * (uint64_t)a, *fb = m->pos + 3 * (uint64_t)b;
    double pa[3] = {fa[0], fa[1], fa[2]}, pb[3] = {fb[0], fb[1], fb[2]};
    if (m->locked[a] || m->locked[b]) {
        *keep = m->locked[a] ? a : b;
        const double *s = *keep == a ? pa : pb;
        p[0] = s[0], p[1] = s[1], p[2] = s[2];
        return dec_quadric_eval(q, p);
    }
    double mid[3], len2 = 0;
    if (!m->endpoints_only) {
        double o[3], off2 = 0;
        for (int k = 0; k < 3; k++) {
            mid[k] = 0.5 * (pa[k] + pb[k]);
            len2 += (pa[k] - pb[k]) * (pa[k] - pb[k]);
        }
        if (dec_quadric_optimum(q, o)) {
            for (int k = 0; k < 3; k++)
                off2 += (o[k] - mid[k]) * (o[k] - mid[k]);
            if (off2 <= len2) {
                *keep = a;
                p[0] = o[0], p[1] = o[1], p[2] = o[2];
                return dec_quadric_eval(q, o);
            }
        }
    }
    double ca = dec_quadric_eval(q, pa), cb = dec_quadric_eval(q, pb);
    const double *s = cb < ca ? pb : pa;
    *keep = cb < ca ? b : a;
    p[0] = s[0], p[1] = s[1], p[2] = s[2];
    double best = cb < ca ? cb : ca;
    if (m->endpoints_only)
        return best;
    *keep = a;
    double cm = dec_quadric_eval(q, mid);
    if (cm < best) {
        p[0] = mid[0], p[1] = mid[1], p[2] = mid[2];
        return cm;
    }
    return best;
}

ORF_HD void dec_tri_normal(const double *a, const double *b, const double *c, double n[3])
{
    double u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    double w[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    n[0] = u[1] * w[2] - u[2] * w[1];
    n[1] = u[2] * w[0] - u[0] * w[2];
    n[2] = u[0] * w[1] - u[1] * w[0];
}

/* 4 sqrt(3) area / sum of squared edges: 1 for an equilateral triangle. */
ORF_HD double dec_tri_quality(const double *a, const double *b, const double *c, const double n[3])
{
    double l = 0;
    for (int k = 0; k < 3; k++)
        l += (b[k] - a[k]) * (b[k] - a[k]) + (c[k] - b[k]) * (c[k] - b[k]) +
             (a[k] - c[k]) * (a[k] - c[k]);
    double area2 = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
    return l > 0 ? 2.0 * 1.7320508075688772 * area2 / l : 0;
}

/* Whether the triangles of v that do not hold `other` stay unfolded (no
 * normal turns past min_dot, none becomes zero) and needle-free when v moves
 * to p. */
ORF_HD int dec_fan_ok(const dec_mesh *m, uint32_t v, uint32_t other, const double p[3])
{
    for (uint32_t i = m->vstart[v]; i < m->vstart[v + 1]; i++) {
        const uint32_t *tv = m->idx + 3 * (uint64_t)(m->vcorner[i] / 3);
        if (dec_tri_has(tv, other))
            continue;
        double c[3][3], d[3][3];
        for (int k = 0; k < 3; k++) {
            const float *f = m->pos + 3 * (uint64_t)tv[k];
            for (int j = 0; j < 3; j++) {
                c[k][j] = f[j];
                d[k][j] = tv[k] == v ? p[j] : c[k][j];
            }
        }
        double no[3], nn[3];
        dec_tri_normal(c[0], c[1], c[2], no);
        dec_tri_normal(d[0], d[1], d[2], nn);
        double lo = sqrt(no[0] * no[0] + no[1] * no[1] + no[2] * no[2]);
        double ln = sqrt(nn[0] * nn[0] + nn[1] * nn[1] + nn[2] * nn[2]);
        if (!(ln > 0))
            return 0;
        if (lo > 0 && no[0] * nn[0] + no[1] * nn[1] + no[2] * nn[2] < m->min_dot * lo * ln)
            return 0;
        double qn = dec_tri_quality(d[0], d[1], d[2], nn);
        if (qn < m->min_quality && qn < dec_tri_quality(c[0], c[1], c[2], no))
            return 0;
    }
    return 1;
}

/* The vertices after and before v in each of its triangles (2 a
 * triangle; every neighbour of v is among them) into ring, at most `cap`
 * of them; their number. */
ORF_HD uint32_t dec_ring(const dec_mesh *m, uint32_t v, uint32_t *ring, uint32_t cap)
{
    uint32_t n = 0;
    for (uint32_t i = m->vstart[v]; i < m->vstart[v + 1] && n + 2 <= cap; i++) {
        uint32_t c = m->vcorner[i], t = c / 3, k = c - 3 * t;
        const uint32_t *tv = m->idx + 3 * (uint64_t)t;
        ring[n++] = tv[k == 2 ? 0 : k + 1];
        ring[n++] = tv[k == 0 ? 2 : k - 1];
    }
    return n;
}

/* The link condition of edge (a, b), whose ends hold at most
 * DEC_MAX_VALENCE + 4 triangles together: exactly two triangles hold it,
 * their third vertices differ and keep three or more triangles after, and
 * no other vertex is a neighbour of both a and b. */
ORF_HD int dec_link_ok(const dec_mesh *m, uint32_t a, uint32_t b)
{
    uint32_t ra[2 * (DEC_MAX_VALENCE + 4)], rb[2 * (DEC_MAX_VALENCE + 4)];
    uint32_t na = dec_ring(m, a, ra, 2 * (DEC_MAX_VALENCE + 4)), nb = dec_ring(m, b, rb, 2 * (DEC_MAX_VALENCE + 4));
    /* the triangles of a holding b: b follows a in one, precedes it in the
     * other; their third vertices are the ring's other entry */
    uint32_t opp[2] = {0, 0}, nshared = 0;
    for (uint32_t i = 0; i < na; i += 2) {
        uint32_t x = ra[i] == b ? ra[i + 1] : ra[i + 1] == b ? ra[i] : DEC_DEAD;
        if (x == DEC_DEAD)
            continue;
        if (nshared == 2)
            return 0; /* a non-manifold edge */
        opp[nshared++] = x;
    }
    if (nshared != 2 || opp[0] == opp[1] || m->vstart[opp[0] + 1] - m->vstart[opp[0]] <= 3 ||
        m->vstart[opp[1] + 1] - m->vstart[opp[1]] <= 3)
        return 0;
    for (uint32_t i = 0; i < na; i++) {
        uint32_t x = ra[i];
        if (x == b || x == opp[0] || x == opp[1])
            continue;
        for (uint32_t j = 0; j < nb; j++)
            if (rb[j] == x)
                return 0;
    }
    return 1;
}

/* Step 1: the cost of the edge from corner h to the next, or DEC_NO_COST's
 * float when it is not priced here. */
ORF_HD float dec_edge_price(const dec_mesh *m, uint32_t h)
{
    union {
        uint32_t u;
        float f;
    } none;
    none.u = DEC_NO_COST;
    uint32_t a = m->idx[h], b = m->idx[dec_next(h)];
    if (a >= b || (m->locked[a] && m->locked[b]))
        return none.f;
    double p[3];
    uint32_t keep;
    double c = dec_plan(m, a, b, p, &keep);
    if (m->max_cost >= 0 && c > m->max_cost)
        return none.f;
    return (float)c;
}

/* Step 1 in later rounds, per vertex kept by a collapse of the last round:
 * the new prices of all its half-edges (the others keep theirs: no end
 * moved). The kept vertices of a round are never neighbours, so no
 * half-edge is priced twice. */
ORF_HD void dec_vertex_reprice(const dec_mesh *m, uint32_t v, float *cost)
{
#ifndef __CUDACC__
    /* the neighbours' quadrics and positions, asked for all at once: each
     * price waits on them otherwise, one neighbour after another (15% of
     * this step on the CPU) */
    for (uint32_t i = m->vstart[v]; i < m->vstart[v + 1]; i++) {
        uint32_t w = m->idx[dec_next(m->vcorner[i])];
        __builtin_prefetch(m->q + (uint64_t)DEC_QN * w);
        __builtin_prefetch(m->q + (uint64_t)DEC_QN * w + DEC_QN - 1);
        __builtin_prefetch(m->pos + 3 * (uint64_t)w);
    }
#endif
    for (uint32_t i = m->vstart[v]; i < m->vstart[v + 1]; i++) {
        uint32_t c = m->vcorner[i];
        cost[c] = dec_edge_price(m, c);
        cost[dec_prev(c)] = dec_edge_price(m, dec_prev(c));
    }
}

/* Step 1, per half-edge, before the histogram: an edge refused in an
 * earlier round (DEC_REFUSED_COST) is priced again once an end of it is
 * `dirty`, a corner of a triangle of a vertex kept by a collapse of the last
 * round: only such a change (of a fan of its ends, a position there, a
 * valence, a neighbour) can make the rules let it. */
ORF_HD float dec_edge_recheck(const dec_mesh *m, uint32_t h, float cost, const uint8_t *dirty)
{
    if (dec_float_bits(cost) != DEC_REFUSED_COST || (!dirty[m->idx[h]] && !dirty[m->idx[dec_next(h)]]))
        return cost;
    return dec_edge_price(m, h);
}

/* Step 2: the rank of a priced half-edge h (cost from step 1) in `round`:
 * the cost's bucket + 1 over the hash (DEC_NO_KEY for an unpriced one). The
 * round's candidates are the half-edges whose rank is at most the round's
 * limit (dec_key_limit of the ceiling bucket and hash bin); the last round
 * takes its cheapest winners by rank. */
ORF_HD uint64_t dec_edge_rank(uint32_t h, float cost, uint32_t round)
{
    uint32_t b = dec_cost_bucket(cost);
    return b >= DEC_NO_BUCKET ? DEC_NO_KEY : ((uint64_t)b + 1) << 32 | dec_mix(h, round);
}

/* The key of a candidate, what the minima compare: its rank (at least 2^32:
 * 0 marks a winner, DEC_WON). Costs in one bucket tie and the tie goes to
 * the hash: neighbours of near-equal cost, a flat or smoothly curved
 * region, do not wait on each other pass after pass. */
ORF_HD uint64_t dec_edge_key(uint32_t h, float cost, uint32_t round)
{
    return dec_edge_rank(h, cost, round);
}

/* Whether priced half-edge h (cost from step 1) is a candidate of `round`
 * with the ceiling `bucket` and hash `bin`: a cheaper bucket, or that
 * bucket and a hash bin up to `bin` (the hash only where needed). */
#define DEC_HASH_BITS 12
#define DEC_HASH_BINS (1u << DEC_HASH_BITS)
ORF_HD int dec_edge_candidate(uint32_t h, float cost, uint32_t round, uint32_t bucket, uint32_t bin)
{
    uint32_t b = dec_cost_bucket(cost);
    if (b != bucket)
        return b < bucket;
    return bin == DEC_HASH_BINS - 1 || dec_mix(h, round) >> (32 - DEC_HASH_BITS) <= bin;
}

/* The bin of a key's hash for the second histogram (its top DEC_HASH_BITS). */
ORF_HD uint32_t dec_key_bin(uint64_t key)
{
    return (uint32_t)key >> (32 - DEC_HASH_BITS);
}

/* The refusal rules, for an edge about to win: the kept vertex's valence
 * cap, the link condition, the fold and needle tests of both fans. */
ORF_HD int dec_edge_allowed(const dec_mesh *m, uint32_t h)
{
    uint32_t a = m->idx[h], b = m->idx[dec_next(h)];
    uint32_t na = m->vstart[a + 1] - m->vstart[a], nb = m->vstart[b + 1] - m->vstart[b];
    if (na + nb > DEC_MAX_VALENCE + 4)
        return 0;
    if (!dec_link_ok(m, a, b))
        return 0;
    double p[3];
    uint32_t keep;
    dec_plan(m, a, b, p, &keep);
    uint32_t rem = keep == a ? b : a;
    const float *kp = m->pos + 3 * (uint64_t)keep;
    int moved = p[0] != kp[0] || p[1] != kp[1] || p[2] != kp[2];
    return dec_fan_ok(m, rem, keep, p) && (!moved || dec_fan_ok(m, keep, rem, p));
}

/* Step 3, per live candidate h: whether it may still win this round: neither
 * end is a corner of a triangle of a winner's end (near, marked by
 * dec_star_mark), i.e. its fans meet no winner's. One that may scatters its
 * key to vmin of both ends (an atomic min on the GPU, a compare-and-swap
 * loop on the CPU: the least value whatever the order; vmin is DEC_NO_KEY
 * at vertices with no candidate); one that may not drops out. */
ORF_HD int dec_edge_free(const dec_mesh *m, uint32_t h, const uint8_t *near)
{
    return !near[m->idx[h]] && !near[m->idx[dec_next(h)]];
}

/* The least vmin over the corners of v's triangles: the least key of a
 * candidate that touches a triangle of v. */
ORF_HD uint64_t dec_vertex_min2(const dec_mesh *m, uint32_t v, const uint64_t *vmin)
{
    uint64_t best = DEC_NO_KEY;
    for (uint32_t i = m->vstart[v]; i < m->vstart[v + 1]; i++) {
        const uint32_t *tv = m->idx + 3 * (uint64_t)(m->vcorner[i] / 3);
        for (int k = 0; k < 3; k++) {
            uint64_t x = vmin[tv[k]];
            best = x < best ? x : best;
        }
    }
    return best;
}

/* Steps 4-5, for a free candidate h with key k: whether it wins. Most
 * candidates stop at the first test, k against the ends' own vmin (the
 * least key of a candidate at either end). When k is the least vmin over
 * the triangles of both ends, the refusal rules run (once a round: *tested,
 * 0 at first, becomes 1): DEC_WON (the caller marks the stars of its ends
 * near) or DEC_REFUSED (out of the round); else k (another pass may find it
 * free and the least). A candidate DEC_EAGER_BUCKETS or more under the
 * ceiling bucket is tested as soon as it is the least at its own ends: such
 * cheap edges collapse in the first rounds when they may, so the ones left
 * are mostly refused ones, and found out early they stop blocking their
 * neighbours a pass sooner. The rules read the mesh as it was when the
 * round began. */
#define DEC_EAGER_BUCKETS 16
ORF_HD uint64_t dec_edge_settle(const dec_mesh *m, uint32_t h, uint64_t k, const uint64_t *vmin,
                                uint32_t ceiling, int *tested)
{
    uint32_t a = m->idx[h], b = m->idx[dec_next(h)];
    if (vmin[a] != k || vmin[b] != k)
        return k;
    /* the bucket from the key: cheap ones are tested here */
    if (!*tested && (uint32_t)(k >> 32) - 1 + DEC_EAGER_BUCKETS < ceiling) {
        *tested = 1;
        if (!dec_edge_allowed(m, h))
            return DEC_REFUSED;
    }
    if (dec_vertex_min2(m, a, vmin) != k || dec_vertex_min2(m, b, vmin) != k)
        return k;
    if (!*tested) {
        *tested = 1;
        if (!dec_edge_allowed(m, h))
            return DEC_REFUSED;
    }
    return DEC_WON;
}

/* Store a value that other threads may store the same value to. */
#ifdef __CUDACC__
#define DEC_STORE_FLAG(p, x) (*(p) = (x))
#define DEC_STORE_U64(p, x) (*(p) = (x))
#else
#define DEC_STORE_FLAG(p, x) __atomic_store_n((p), (x), __ATOMIC_RELAXED)
#define DEC_STORE_U64(p, x) __atomic_store_n((p), (x), __ATOMIC_RELAXED)
#endif

/* After a pass, per winner end v: near[x] = flag for every corner x of v's
 * triangles (1 to mark, 0 to clear before the collapses). Two winners may
 * share such a corner (their fans do not share triangles, but may share a
 * vertex): both store the same value. */
ORF_HD void dec_star_mark(const dec_mesh *m, uint32_t v, uint8_t *near, uint8_t flag)
{
    for (uint32_t i = m->vstart[v]; i < m->vstart[v + 1]; i++) {
        const uint32_t *tv = m->idx + 3 * (uint64_t)(m->vcorner[i] / 3);
        DEC_STORE_FLAG(&near[tv[0]], flag);
        DEC_STORE_FLAG(&near[tv[1]], flag);
        DEC_STORE_FLAG(&near[tv[2]], flag);
    }
}

/* Step 6: collapse the edge of winner h; returns its cost and the kept
 * vertex (whose edges are re-priced next round). */
ORF_HD double dec_edge_apply(dec_mesh *m, uint32_t h, uint32_t *kept)
{
    uint32_t a = m->idx[h], b = m->idx[dec_next(h)];
    double p[3];
    uint32_t keep;
    double cost = dec_plan(m, a, b, p, &keep);
    uint32_t rem = keep == a ? b : a;
    double *qa = m->q + (uint64_t)DEC_QN * a, *qb = m->q + (uint64_t)DEC_QN * b;
    double *qk = keep == a ? qa : qb;
    for (int k = 0; k < DEC_QN; k++)
        qk[k] = qa[k] + qb[k];
    float *kp = m->pos + 3 * (uint64_t)keep;
    kp[0] = (float)p[0], kp[1] = (float)p[1], kp[2] = (float)p[2];
    for (uint32_t i = m->vstart[rem]; i < m->vstart[rem + 1]; i++) {
        uint32_t c = m->vcorner[i];
        uint32_t *tv = m->idx + 3 * (uint64_t)(c / 3);
        if (dec_tri_has(tv, keep))
            tv[0] = tv[1] = tv[2] = DEC_DEAD;
        else
            m->idx[c] = keep;
    }
    *kept = keep;
    return cost;
}

/* Set-up, per vertex: whether v is locked: a triangle of v is degenerate
 * (flagged by the caller in `pre`), v holds more than DEC_MAX_VALENCE
 * triangles, or an edge of v is held by other than two of its triangles (a
 * border or non-manifold edge). */
ORF_HD uint8_t dec_vertex_locked(const dec_mesh *m, uint32_t v, uint8_t pre)
{
    uint32_t ring[2 * DEC_MAX_VALENCE];
    if (pre || m->vstart[v + 1] - m->vstart[v] > DEC_MAX_VALENCE)
        return 1;
    uint32_t n = dec_ring(m, v, ring, 2 * DEC_MAX_VALENCE);
    /* each neighbour in exactly two triangles of v: twice in the ring, so
     * sorted it is pairs of equal values, each pair unlike the next */
    for (uint32_t i = 1; i < n; i++) {
        uint32_t x = ring[i], j = i;
        for (; j > 0 && ring[j - 1] > x; j--)
            ring[j] = ring[j - 1];
        ring[j] = x;
    }
    if (n % 2)
        return 1;
    for (uint32_t i = 0; i < n; i += 2)
        if (ring[i] != ring[i + 1] || (i + 2 < n && ring[i + 2] == ring[i]))
            return 1;
    return 0;
}

/* Set-up, per triangle: the plane of triangle t, unit normal and offset
 * (n . p + d = 0), or all zero when it has no area. */
ORF_HD void dec_tri_plane(const dec_mesh *m, uint32_t t, double plane[4])
{
    const uint32_t *tv = m->idx + 3 * (uint64_t)t;
    double a[3], b[3], c[3], n[3];
    for (int k = 0; k < 3; k++) {
        a[k] = m->pos[3 * (uint64_t)tv[0] + k];
        b[k] = m->pos[3 * (uint64_t)tv[1] + k];
        c[k] = m->pos[3 * (uint64_t)tv[2] + k];
    }
    dec_tri_normal(a, b, c, n);
    double len = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
    if (!(len > 0)) {
        plane[0] = plane[1] = plane[2] = plane[3] = 0;
        return;
    }
    n[0] /= len;
    n[1] /= len;
    n[2] /= len;
    plane[0] = n[0], plane[1] = n[1], plane[2] = n[2];
    plane[3] = -(n[0] * a[0] + n[1] * a[1] + n[2] * a[2]);
}

/* Set-up, per vertex: v's quadric, the planes (dec_tri_plane, 4 a triangle)
 * of its triangles added in ascending triangle order (vcorner sorted for
 * this call: the order of a floating-point sum is part of its value). */
ORF_HD void dec_vertex_quadric(dec_mesh *m, uint32_t v, const double *planes)
{
    double *q = m->q + (uint64_t)DEC_QN * v;
    for (int k = 0; k < DEC_QN; k++)
        q[k] = 0;
    for (uint32_t i = m->vstart[v]; i < m->vstart[v + 1]; i++) {
        const double *pl = planes + 4 * (uint64_t)(m->vcorner[i] / 3);
        if (pl[0] == 0 && pl[1] == 0 && pl[2] == 0)
            continue;
        dec_quadric_add_plane(q, pl[0], pl[1], pl[2], pl[3]);
    }
}

#endif
