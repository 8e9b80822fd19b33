/* decimate_rounds.c - decimation in parallel rounds of independent
 * collapses (the engine of decimate.h), on OpenMP
 * threads. Every step is a loop over triangles, half-edges or vertices that
 * calls the per-element code of hd/decimate_edge.h, the code the CUDA
 * kernels run (kernels/cuda_decimate.cu); what is left here is the host's
 * share: building the vertex->corner lists, the prefix sums of compaction,
 * the cost ceiling of a round (decimate_round_ceiling) and the cut of the
 * last round (decimate_round_cut), both shared with the CUDA driver. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "decimate_internal.h"
#include "hd/decimate_edge.h"

/* Below this many triangles a step runs on one thread: OpenMP's fork and
 * barrier cost more than the work (the result is the same either way). */
#ifndef ROUNDS_PARALLEL_TRIS
#define ROUNDS_PARALLEL_TRIS 20000u
#endif

uint64_t decimate_round_rank(uint64_t priced, uint64_t need, uint32_t boost)
{
    uint64_t rank = priced / DECIMATE_ROUND_SHARE;
    if (need * DECIMATE_ROUND_NEED < rank)
        rank = need * DECIMATE_ROUND_NEED;
    if (rank < 1)
        rank = 1;
    for (uint32_t i = 0; i < boost && rank < priced; i++)
        rank *= 4;
    return rank < priced ? rank : priced;
}

uint32_t decimate_round_ceiling(const uint32_t *hist, uint32_t n, uint64_t rank, uint64_t *below)
{
    uint64_t sum = 0;
    for (uint32_t b = 0; b < n; b++) {
        if (sum + hist[b] >= rank) {
            if (below)
                *below = sum;
            return b;
        }
        sum += hist[b];
    }
    if (below)
        *below = sum;
    return n - 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t decimate_round_cut(uint64_t *keys, size_t n, size_t take)
{
    if (take >= n)
        return DEC_NO_KEY;
    if (take == 0)
        return 0;
    qsort(keys, n, sizeof *keys, cmp_u64);
    return keys[take - 1];
}

static inline void atomic_min_u64(uint64_t *p, uint64_t k)
{
    uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (k < cur && !__atomic_compare_exchange_n(p, &cur, k, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* Exclusive prefix sum of a[0..n) in place; returns the total. In blocks on
 * the threads: integer sums, the same for any number of them. */
static uint32_t scan_u32(uint32_t *a, size_t n, int par)
{
    enum { MAXT = 64 };
    uint64_t part[MAXT + 1];
    int nth = par ? omp_get_max_threads() : 1, used = 1;
    nth = nth > MAXT ? MAXT : nth < 1 ? 1 : nth;
    part[0] = 0;
#pragma omp parallel num_threads(nth) if (par)
    {
        int t = omp_get_thread_num(), T = omp_get_num_threads();
        size_t lo = n * (size_t)t / (size_t)T, hi = n * (size_t)(t + 1) / (size_t)T;
        uint64_t s = 0;
        for (size_t i = lo; i < hi; i++)
            s += a[i];
        part[t + 1] = s;
#pragma omp barrier
#pragma omp single
        {
            for (int k = 0; k < T; k++)
                part[k + 1] += part[k];
            used = T;
        }
        s = part[t];
        for (size_t i = lo; i < hi; i++) {
            uint32_t x = a[i];
            a[i] = (uint32_t)s;
            s += x;
        }
    }
    return (uint32_t)part[used];
}

typedef struct rounds rounds;
static void histogram(rounds *r, uint32_t *hist, uint32_t n, uint32_t nt, uint32_t round,
                      uint32_t bucket, int par, uint64_t *priced, int recheck);

typedef struct rounds {
    dec_mesh m;
    uint8_t *locked;    /* nv */
    uint32_t *idx2;     /* 3 nt0: compaction target */
    uint32_t *vstart;   /* nv + 1 */
    uint32_t *cursor;   /* nv + 1: counts, then fill cursors */
    uint32_t *vcorner;  /* 3 nt0 */
    uint32_t *vcorner2; /* 3 nt0: the lists' next version (update_lists) */
    uint32_t *mrg;      /* nv0 + 1: after a collapse, the removed vertex at the kept one,
                           MRG_GONE at the removed one; DEC_DEAD elsewhere */
    uint32_t *lost;     /* nv0 + 1: the corners a vertex lost to the round's collapses
                           as the third vertex of a removed triangle; 0 between rounds */
    float *cost;        /* 3 nt0: each half-edge's price (dec_edge_price) */
    float *cost2;       /* 3 nt0: compaction target */
    uint64_t *vmin[2];  /* nv each: the passes' minima (DEC_NO_KEY between rounds) */
    uint8_t *near;      /* nv: a corner of a triangle of a winner's end; 0 between rounds */
    uint8_t *dirty;     /* nv: a corner of a triangle of a vertex the last round kept */
    uint32_t *cand;     /* 3 nt0: the candidates' half-edges */
    uint8_t *st;        /* 3 nt0: each candidate's state (ST_*) */
    uint8_t *st2;       /* 3 nt0: 1 once the refusal rules ran for it this round */
    uint32_t *kf;       /* 3 nt0: prefix sums */
    uint32_t *win;      /* nt0 + 1: the winners' half-edges; scratch */
    uint32_t *kept;     /* nt0: the kept vertex of each winner */
    uint64_t *wkey;     /* nt0: the winners' keys, for the cut */
    uint32_t *l2g;      /* nv: each vertex's index in the input, once vertices were compacted */
    uint32_t nv0;       /* the input's vertices */
} rounds;

/* a candidate's state in a round: open (may still win), scattered (its key
 * is in this pass's vmin), won, refused or blocked (out of the round); with
 * ST_PREV, its key is still in the last pass's vmin */
enum { ST_OPEN = 1, ST_SCATTERED, ST_WON, ST_REFUSED, ST_BLOCKED, ST_PREV = 0x80 };

static void rounds_free(rounds *r)
{
    free(r->m.pos);
    free(r->m.q);
    free(r->m.idx);
    free(r->locked);
    free(r->idx2);
    free(r->vstart);
    free(r->cursor);
    free(r->vcorner);
    free(r->vcorner2);
    free(r->mrg);
    free(r->lost);
    free(r->cost);
    free(r->cost2);
    free(r->vmin[0]);
    free(r->vmin[1]);
    free(r->near);
    free(r->dirty);
    free(r->cand);
    free(r->st);
    free(r->st2);
    free(r->kf);
    free(r->win);
    free(r->kept);
    free(r->wkey);
    free(r->l2g);
}

/* The vertex->corner lists of the nt live triangles. Within a list the
 * order follows the threads (nothing reads it in order), except with
 * `sorted`, which fills on one thread: ascending corners, for the quadrics. */
static void build_lists(rounds *r, int sorted)
{
    dec_mesh *m = &r->m;
    uint32_t nv = m->nv, n3 = 3 * m->nt;
    int par = m->nt >= ROUNDS_PARALLEL_TRIS;
    memset(r->cursor, 0, ((size_t)nv + 1) * sizeof *r->cursor);
#pragma omp parallel for schedule(static) if (par)
    for (uint32_t c = 0; c < n3; c++)
        __atomic_fetch_add(&r->cursor[m->idx[c]], 1u, __ATOMIC_RELAXED);
    scan_u32(r->cursor, (size_t)nv + 1, par);
    memcpy(r->vstart, r->cursor, ((size_t)nv + 1) * sizeof *r->vstart);
    if (sorted) {
        for (uint32_t c = 0; c < n3; c++)
            r->vcorner[r->cursor[m->idx[c]]++] = c;
        return;
    }
#pragma omp parallel for schedule(static) if (par)
    for (uint32_t c = 0; c < n3; c++)
        r->vcorner[__atomic_fetch_add(&r->cursor[m->idx[c]], 1u, __ATOMIC_RELAXED)] = c;
}

/* mrg's mark of a vertex removed by a collapse of the round */
#define MRG_GONE (DEC_DEAD - 1)

/* The corners of v's list (before the round's compaction) whose triangles
 * live, with their new numbers, to out; their number. */
static uint32_t live_corners(const rounds *r, uint32_t v, uint32_t *out)
{
    uint32_t n = 0;
    for (uint32_t i = r->vstart[v]; i < r->vstart[v + 1]; i++) {
        uint32_t c = r->vcorner[i], t = c / 3;
        if (r->idx2[3 * (size_t)t] != DEC_DEAD)
            out[n++] = 3 * r->kf[t] + (c - 3 * t);
    }
    return n;
}

/* The lists of the compacted triangles from the round's lists (called
 * right after compact: idx2 holds the triangles before it, kf each one's
 * new index): a vertex keeps its live corners, a kept vertex gains the
 * removed one's (renamed by the collapse), a removed vertex has none. The
 * same sets as build_lists, in another order (nothing reads a list in
 * order), with no atomics and one read of the lists instead of two of
 * every corner: the new lengths are known (a collapse removes two corners
 * from each end and one from each third vertex, counted in `lost`). */
static void update_lists(rounds *r)
{
    dec_mesh *m = &r->m;
    uint32_t nv = m->nv;
    uint32_t *cnt = r->cursor;
    const uint32_t *vs = r->vstart;
    int par = m->nt >= ROUNDS_PARALLEL_TRIS;
#pragma omp parallel for schedule(static) if (par)
    for (uint32_t v = 0; v < nv; v++) {
        uint32_t x = r->mrg[v];
        cnt[v] = x == MRG_GONE   ? 0
                 : x == DEC_DEAD ? vs[v + 1] - vs[v] - r->lost[v]
                                 : vs[v + 1] - vs[v] + vs[x + 1] - vs[x] - 4;
    }
    cnt[nv] = 0;
    scan_u32(cnt, (size_t)nv + 1, par);
#pragma omp parallel for schedule(static, 1024) if (par)
    for (uint32_t v = 0; v < nv; v++) {
        uint32_t x = r->mrg[v];
        r->lost[v] = 0;
        if (x == MRG_GONE)
            continue;
        uint32_t n = live_corners(r, v, r->vcorner2 + cnt[v]);
        if (x != DEC_DEAD)
            live_corners(r, x, r->vcorner2 + cnt[v] + n);
    }
    uint32_t *y = r->vstart;
    r->vstart = cnt;
    r->cursor = y;
    y = r->vcorner;
    r->vcorner = r->vcorner2;
    r->vcorner2 = y;
    m->vstart = r->vstart;
    m->vcorner = r->vcorner;
}

/* Drop the dead triangles, keeping the order of the live ones (and their
 * half-edges' prices). */
static void compact(rounds *r)
{
    dec_mesh *m = &r->m;
    uint32_t nt = m->nt;
    int par = nt >= ROUNDS_PARALLEL_TRIS;
    uint32_t *alive = r->kf; /* 3 nt0 >= nt entries */
#pragma omp parallel for schedule(static) if (par)
    for (uint32_t t = 0; t < nt; t++)
        alive[t] = m->idx[3 * (size_t)t] != DEC_DEAD;
    uint32_t live = scan_u32(alive, nt, par);
#pragma omp parallel for schedule(static) if (par)
    for (uint32_t t = 0; t < nt; t++)
        if (m->idx[3 * (size_t)t] != DEC_DEAD) {
            memcpy(r->idx2 + 3 * (size_t)alive[t], m->idx + 3 * (size_t)t, 3 * sizeof *m->idx);
            memcpy(r->cost2 + 3 * (size_t)alive[t], r->cost + 3 * (size_t)t, 3 * sizeof *r->cost);
        }
    uint32_t *x = m->idx;
    m->idx = r->idx2;
    r->idx2 = x;
    float *y = r->cost;
    r->cost = r->cost2;
    r->cost2 = y;
    m->nt = live;
}

/* Renumber the vertices the live triangles use 0.. in their order, dropping
 * the others, when they are under half of the arrays (so a round's work
 * follows the live mesh, not the input); the kept list follows, the
 * vertex->corner lists do not (build_lists). 1 when it renumbered, 0 when
 * not, -1 when memory runs out. */
static int compact_vertices(rounds *r, uint32_t nkept)
{
    dec_mesh *m = &r->m;
    uint32_t nv = m->nv, n3 = 3 * m->nt;
    if ((uint64_t)m->nt >= nv)
        return 0;
    int par = m->nt >= ROUNDS_PARALLEL_TRIS;
    uint32_t *map = r->cursor; /* nv + 1; the lists are rebuilt after */
    memset(map, 0, ((size_t)nv + 1) * sizeof *map);
#pragma omp parallel for schedule(static) if (par)
    for (uint32_t c = 0; c < n3; c++)
        __atomic_store_n(&map[m->idx[c]], 1u, __ATOMIC_RELAXED);
    uint32_t nn = scan_u32(map, nv, par);
    map[nv] = nn; /* used[v]: map[v + 1] > map[v] */
    size_t n1 = (size_t)nn + 1;
    float *pos = orf_malloc_big(n1 * 3, sizeof *pos);
    double *q = orf_malloc_big(n1 * DEC_QN, sizeof *q);
    uint8_t *locked = malloc(n1);
    uint32_t *l2g = orf_malloc_big(n1, sizeof *l2g);
    if (!pos || !q || !locked || !l2g) {
        free(pos);
        free(q);
        free(locked);
        free(l2g);
        return -1;
    }
#pragma omp parallel for schedule(static) if (par)
    for (uint32_t v = 0; v < nv; v++)
        if (map[v + 1] > map[v]) {
            uint32_t w = map[v];
            memcpy(pos + 3 * (size_t)w, m->pos + 3 * (size_t)v, 3 * sizeof *pos);
            memcpy(q + DEC_QN * (size_t)w, m->q + DEC_QN * (size_t)v, DEC_QN * sizeof *q);
            locked[w] = r->locked[v];
            l2g[w] = r->l2g ? r->l2g[v] : v;
        }
#pragma omp parallel for schedule(static) if (par)
    for (uint32_t c = 0; c < n3; c++)
        m->idx[c] = map[m->idx[c]];
    for (uint32_t i = 0; i < nkept; i++)
        r->kept[i] = map[r->kept[i]];
    free(m->pos);
    free(m->q);
    free(r->locked);
    free(r->l2g);
    m->pos = pos;
    m->q = q;
    r->locked = locked;
    m->locked = locked;
    r->l2g = l2g;
    m->nv = nn;
    return 1;
}

/* Copy m, drop degenerate triangles (their vertices locked), compute the
 * quadrics and the locks. -1 when memory runs out. */
static int rounds_init(rounds *r, const orf_mesh *in, const decimate_opts *o)
{
    memset(r, 0, sizeof *r);
    uint32_t nv = in->nverts, nt = in->ntris;
    size_t v1 = (size_t)nv + 1, t1 = (size_t)nt + 1;
    dec_mesh *m = &r->m;
    m->pos = orf_malloc_big(v1 * 3, sizeof *m->pos);
    m->q = orf_malloc_big(v1 * DEC_QN, sizeof *m->q);
    m->idx = orf_malloc_big(t1 * 3, sizeof *m->idx);
    r->locked = orf_zalloc(v1, 1);
    r->idx2 = orf_malloc_big(t1 * 3, sizeof *r->idx2);
    r->vstart = orf_malloc_big(v1, sizeof *r->vstart);
    r->cursor = orf_malloc_big(v1, sizeof *r->cursor);
    r->vcorner = orf_malloc_big(t1 * 3, sizeof *r->vcorner);
    r->vcorner2 = orf_malloc_big(t1 * 3, sizeof *r->vcorner2);
    r->mrg = orf_malloc_big(v1, sizeof *r->mrg);
    r->lost = orf_zalloc(v1, sizeof *r->lost);
    r->cost = orf_malloc_big(t1 * 3, sizeof *r->cost);
    r->cost2 = orf_malloc_big(t1 * 3, sizeof *r->cost2);
    r->vmin[0] = orf_malloc_big(v1, sizeof *r->vmin[0]);
    r->vmin[1] = orf_malloc_big(v1, sizeof *r->vmin[1]);
    r->near = orf_zalloc(v1, 1);
    r->dirty = orf_zalloc(v1, 1);
    r->cand = orf_malloc_big(t1 * 3, sizeof *r->cand);
    r->st = orf_malloc_big(t1 * 3, 1);
    r->st2 = orf_malloc_big(t1 * 3, 1);
    r->kf = orf_malloc_big(t1 * 3, sizeof *r->kf);
    r->win = orf_malloc_big(t1, sizeof *r->win);
    r->kept = orf_malloc_big(t1, sizeof *r->kept);
    r->wkey = orf_malloc_big(t1, sizeof *r->wkey);
    if (!m->pos || !m->q || !m->idx || !r->locked || !r->idx2 || !r->vstart || !r->cursor ||
        !r->vcorner || !r->vcorner2 || !r->mrg || !r->lost || !r->cost || !r->cost2 || !r->vmin[0] || !r->vmin[1] || !r->near || !r->dirty || !r->cand ||
        !r->st || !r->st2 || !r->kf || !r->win || !r->kept || !r->wkey)
        return -1;
    memcpy(m->pos, in->pos, (size_t)nv * 3 * sizeof *m->pos);
    memset(r->vmin[0], 0xFF, v1 * sizeof *r->vmin[0]);
    memset(r->vmin[1], 0xFF, v1 * sizeof *r->vmin[1]);
    memset(r->mrg, 0xFF, v1 * sizeof *r->mrg);
    m->nv = nv;
    r->nv0 = nv;
    m->locked = r->locked;
    m->vstart = r->vstart;
    m->vcorner = r->vcorner;
    m->endpoints_only = in->nrm || in->uv || in->col;
    m->min_dot = o->min_normal_dot != 0 ? o->min_normal_dot : 0.5f;
    m->min_quality = o->min_quality != 0 ? o->min_quality : 0.05f;
    m->max_cost = o->max_error > 0 ? (double)o->max_error * o->max_error : -1;
    /* degenerate triangles go, their vertices locked (marked in locked) */
    uint32_t live = 0;
    for (uint32_t t = 0; t < nt; t++) {
        const uint32_t *tv = in->idx + 3 * (size_t)t;
        if (tv[0] == tv[1] || tv[1] == tv[2] || tv[0] == tv[2]) {
            r->locked[tv[0]] = r->locked[tv[1]] = r->locked[tv[2]] = 1;
            continue;
        }
        memcpy(m->idx + 3 * (size_t)live++, tv, 3 * sizeof *tv);
    }
    m->nt = live;
    build_lists(r, 1);
    int par = live >= ROUNDS_PARALLEL_TRIS;
    double *planes = orf_malloc_big(((size_t)live + 1) * 4, sizeof *planes);
    if (!planes)
        return -1;
#pragma omp parallel if (par)
    {
#pragma omp for schedule(static)
        for (uint32_t t = 0; t < live; t++)
            dec_tri_plane(m, t, planes + 4 * (size_t)t);
#pragma omp for schedule(static, 1024)
        for (uint32_t v = 0; v < nv; v++) {
            dec_vertex_quadric(m, v, planes);
            r->locked[v] = dec_vertex_locked(m, v, r->locked[v]);
        }
    }
    free(planes);
    return 0;
}

/* The histogram of the half-edges' cost buckets (bucket == DEC_NO_BUCKET;
 * *priced gets their number), or of the hash bins of the keys in one
 * bucket. Integer counts: the same for any number of threads. With
 * recheck, refused edges with a dirty end are priced again first. */
static void histogram(rounds *r, uint32_t *hist, uint32_t n, uint32_t nt, uint32_t round,
                      uint32_t bucket, int par, uint64_t *priced, int recheck)
{
    uint64_t count = 0;
    memset(hist, 0, n * sizeof *hist);
#pragma omp parallel if (par) reduction(+ : count)
    {
        uint32_t *h = calloc(n, sizeof *h);
#pragma omp for schedule(static)
        for (uint32_t c = 0; c < 3 * nt; c++) {
            if (recheck && dec_float_bits(r->cost[c]) == DEC_REFUSED_COST)
                r->cost[c] = dec_edge_recheck(&r->m, c, r->cost[c], r->dirty);
            uint32_t b = dec_cost_bucket(r->cost[c]), x;
            if (b >= DEC_NO_BUCKET || (bucket != DEC_NO_BUCKET && b != bucket))
                continue;
            x = bucket == DEC_NO_BUCKET ? b : dec_key_bin(dec_edge_rank(c, r->cost[c], round));
            count++;
            if (h)
                h[x]++;
            else
                __atomic_fetch_add(&hist[x], 1u, __ATOMIC_RELAXED);
        }
        if (h) {
            for (uint32_t b = 0; b < n; b++)
                if (h[b])
                    __atomic_fetch_add(&hist[b], h[b], __ATOMIC_RELAXED);
            free(h);
        }
    }
    if (priced)
        *priced = count;
}

/* The candidates of a round: the priced half-edges under the ceiling bucket,
 * and those in it whose hash bin is at most `bin`, in half-edge order (the
 * order of the threads' static blocks). Returns their number. */
static uint32_t select_candidates(rounds *r, uint32_t ceiling, uint32_t bin, uint32_t round, int par)
{
    enum { MAXT = 64 };
    uint32_t part[MAXT + 1], total = 0;
    uint32_t n3 = 3 * r->m.nt;
    int nth = par ? omp_get_max_threads() : 1;
    nth = nth > MAXT ? MAXT : nth < 1 ? 1 : nth;
    part[0] = 0;
#pragma omp parallel num_threads(nth) if (par)
    {
        int t = omp_get_thread_num(), T = omp_get_num_threads();
        uint32_t lo = (uint32_t)((uint64_t)n3 * (uint64_t)t / (uint64_t)T);
        uint32_t hi = (uint32_t)((uint64_t)n3 * (uint64_t)(t + 1) / (uint64_t)T);
        uint32_t n = 0;
        for (uint32_t c = lo; c < hi; c++)
            n += dec_edge_candidate(c, r->cost[c], round, ceiling, bin);
        part[t + 1] = n;
#pragma omp barrier
#pragma omp single
        {
            for (int k = 0; k < T; k++)
                part[k + 1] += part[k];
            total = part[T];
        }
        uint32_t at = part[t];
        for (uint32_t c = lo; c < hi; c++)
            if (dec_edge_candidate(c, r->cost[c], round, ceiling, bin))
                r->cand[at++] = c;
    }
    return total;
}

/* The winners among the ncand candidates (state ST_WON), in candidate
 * order, into r->win. Returns their number. */
static uint32_t select_winners(rounds *r, uint32_t ncand, int par)
{
    enum { MAXT = 64 };
    uint32_t part[MAXT + 1], total = 0;
    int nth = par ? omp_get_max_threads() : 1;
    nth = nth > MAXT ? MAXT : nth < 1 ? 1 : nth;
    part[0] = 0;
#pragma omp parallel num_threads(nth) if (par)
    {
        int t = omp_get_thread_num(), T = omp_get_num_threads();
        uint32_t lo = (uint32_t)((uint64_t)ncand * (uint64_t)t / (uint64_t)T);
        uint32_t hi = (uint32_t)((uint64_t)ncand * (uint64_t)(t + 1) / (uint64_t)T);
        uint32_t n = 0;
        for (uint32_t i = lo; i < hi; i++)
            n += r->st[i] == ST_WON;
        part[t + 1] = n;
#pragma omp barrier
#pragma omp single
        {
            for (int k = 0; k < T; k++)
                part[k + 1] += part[k];
            total = part[T];
        }
        uint32_t at = part[t];
        for (uint32_t i = lo; i < hi; i++)
            if (r->st[i] == ST_WON)
                r->win[at++] = r->cand[i];
    }
    return total;
}

int decimate_rounds(const orf_mesh *in, const decimate_opts *o, uint32_t target, decimate_out *out,
                    decimate_report *rep)
{
    memset(out, 0, sizeof *out);
    if ((uint64_t)in->ntris * 3 >= DEC_DEAD)
        return -1;
    rounds r;
    if (rounds_init(&r, in, o) != 0) {
        rounds_free(&r);
        return -1;
    }
    dec_mesh *m = &r.m;
    double worst = 0;
    uint32_t round = 0, boost = 0, nkept = 0;
    int stale = 0; /* the lists need build_lists (vertices were renumbered) */
    uint32_t hist[DEC_NO_BUCKET > DEC_HASH_BINS ? DEC_NO_BUCKET : DEC_HASH_BINS];
    uint64_t priced_total = 0, tested_total = 0;
    while (target == 0 || m->nt > target) {
        uint32_t nt = m->nt;
        int par = nt >= ROUNDS_PARALLEL_TRIS;
        /* 1. prices: all of them in the first round, then those around the
         * vertices the last round kept (whose stars become dirty: edges
         * refused there are priced again by the histogram's pass) */
        if (round == 0) {
#pragma omp parallel for schedule(static) if (par)
            for (uint32_t c = 0; c < 3 * nt; c++)
                r.cost[c] = dec_edge_price(m, c);
            priced_total += 3 * (uint64_t)nt;
        } else {
            if (stale)
                build_lists(&r, 0);
            stale = 0;
            uint64_t n = 0;
#pragma omp parallel for schedule(dynamic, 256) if (par) reduction(+ : n)
            for (uint32_t i = 0; i < nkept; i++) {
                uint32_t v = r.kept[i];
                dec_vertex_reprice(m, v, r.cost);
                dec_star_mark(m, v, r.dirty, 1);
                n += 2 * (uint64_t)(m->vstart[v + 1] - m->vstart[v]);
            }
            priced_total += n;
        }
        /* the histogram of the prices' buckets; when the ceiling's bucket
         * holds many more than the rank needs (flat parts: all cost 0),
         * the histogram of the hash bins in it */
        uint64_t priced = 0;
        histogram(&r, hist, DEC_NO_BUCKET, nt, round, DEC_NO_BUCKET, par, &priced, round > 0);
        if (round > 0) {
#pragma omp parallel for schedule(dynamic, 256) if (par)
            for (uint32_t i = 0; i < nkept; i++)
                dec_star_mark(m, r.kept[i], r.dirty, 0);
        }
        if (priced == 0)
            break;
        uint64_t need = target ? (nt - target + 1) / 2 : priced;
        uint64_t rank = decimate_round_rank(priced, need, boost);
        uint64_t below = 0;
        uint32_t ceiling = decimate_round_ceiling(hist, DEC_NO_BUCKET, rank, &below), bin = DEC_HASH_BINS - 1;
        if (below + hist[ceiling] > rank + rank / 2) {
            histogram(&r, hist, DEC_HASH_BINS, nt, round, ceiling, par, NULL, 0);
            bin = decimate_round_ceiling(hist, DEC_HASH_BINS, rank - below, NULL);
        }
        /* 2. the candidates, in half-edge order */
        uint32_t ncand = select_candidates(&r, ceiling, bin, round, par);
        /* 3-5. winners, pass after pass. vmin[p & 1] takes the scatter of
         * pass p and is cleared in pass p + 1 (DEC_NO_KEY everywhere
         * between rounds), near is 0 between rounds; st: each candidate's
         * state, ST_PREV while its key is in the other vmin. */
        memset(r.st, ST_OPEN, ncand);
        memset(r.st2, 0, ncand);
        uint32_t nw = 0, passes = 0, open = ncand, nref = 0;
        uint64_t tested = 0;
        int ppar = ncand >= ROUNDS_PARALLEL_TRIS;
        while (open > 0 && passes < DECIMATE_ROUND_PASSES) {
            uint64_t *cur = r.vmin[passes & 1], *prev = r.vmin[!(passes & 1)];
#pragma omp parallel for schedule(static) if (ppar)
            for (uint32_t i = 0; i < ncand; i++) {
                uint8_t x = r.st[i];
                uint32_t c = r.cand[i];
                if (x & ST_PREV) {
                    DEC_STORE_U64(&prev[m->idx[c]], DEC_NO_KEY);
                    DEC_STORE_U64(&prev[m->idx[dec_next(c)]], DEC_NO_KEY);
                    x &= (uint8_t)~ST_PREV;
                }
                if (x == ST_OPEN) {
                    if (dec_edge_free(m, c, r.near)) {
                        uint64_t k = dec_edge_key(c, r.cost[c], round);
                        atomic_min_u64(&cur[m->idx[c]], k);
                        atomic_min_u64(&cur[m->idx[dec_next(c)]], k);
                        x = ST_SCATTERED;
                    } else {
                        x = ST_BLOCKED;
                    }
                }
                r.st[i] = x;
            }
            uint32_t won = 0, refused = 0, still = 0, ntest = 0;
#pragma omp parallel for schedule(dynamic, 1024) if (ppar) reduction(+ : won, refused, still, ntest)
            for (uint32_t i = 0; i < ncand; i++) {
                if (r.st[i] != ST_SCATTERED)
                    continue;
                uint32_t c = r.cand[i];
                int t = (r.st2[i] & 1) != 0;
                uint64_t k = dec_edge_settle(m, c, dec_edge_key(c, r.cost[c], round), cur, ceiling, &t);
                if (t && !(r.st2[i] & 1)) {
                    r.st2[i] = 1;
                    ntest++;
                }
                if (k == DEC_WON) {
                    dec_star_mark(m, m->idx[c], r.near, 1);
                    dec_star_mark(m, m->idx[dec_next(c)], r.near, 1);
                    r.st[i] = ST_WON | ST_PREV;
                    won++;
                } else if (k == DEC_REFUSED) {
                    r.st[i] = ST_REFUSED | ST_PREV;
                    refused++;
                } else {
                    r.st[i] = ST_OPEN | ST_PREV;
                    still++;
                }
            }
            nw += won;
            nref += refused;
            passes++;
            tested += ntest;
            open = still;
        }
        /* the last pass's vmin back to DEC_NO_KEY; the refused get no price
         * until a collapse near them */
        uint64_t *last = r.vmin[!(passes & 1)];
#pragma omp parallel for schedule(static) if (ppar)
        for (uint32_t i = 0; i < ncand; i++) {
            uint8_t x = r.st[i];
            uint32_t c = r.cand[i];
            if (x & ST_PREV) {
                DEC_STORE_U64(&last[m->idx[c]], DEC_NO_KEY);
                DEC_STORE_U64(&last[m->idx[dec_next(c)]], DEC_NO_KEY);
                x &= (uint8_t)~ST_PREV;
            }
            if (x == ST_REFUSED)
                r.cost[c] = dec_bits_float(DEC_REFUSED_COST);
            r.st[i] = x;
        }
        tested_total += tested;
        round++;
        nw = nw ? select_winners(&r, ncand, ppar) : 0;
        if (nw == 0) {
            /* every edge under the ceiling was refused: let more in, until
             * all priced edges were tried */
            nkept = 0;
            if (rank >= priced)
                break;
            boost++;
            continue;
        }
        boost = 0;
        /* the last round takes only the cheapest it needs */
        uint64_t cut = DEC_NO_KEY;
        if (target && nw > need) {
            for (uint32_t i = 0; i < nw; i++)
                r.wkey[i] = dec_edge_rank(r.win[i], r.cost[r.win[i]], round - 1);
            cut = decimate_round_cut(r.wkey, nw, need);
        }
        /* 6. apply: each winner clears near on its stars first (its own
         * collapse is the only one that changes them) */
        double w = 0;
#pragma omp parallel for schedule(static) if (par) reduction(max : w)
        for (uint32_t i = 0; i < nw; i++) {
            uint32_t c = r.win[i];
            dec_star_mark(m, m->idx[c], r.near, 0);
            dec_star_mark(m, m->idx[dec_next(c)], r.near, 0);
            r.kept[i] = DEC_DEAD;
            if (cut != DEC_NO_KEY && dec_edge_rank(c, r.cost[c], round - 1) > cut)
                continue;
            uint32_t a = m->idx[c], b = m->idx[dec_next(c)];
            /* the third vertices of the edge's two triangles lose a corner */
            for (uint32_t j = m->vstart[a]; j < m->vstart[a + 1]; j++) {
                const uint32_t *tv = m->idx + 3 * (size_t)(m->vcorner[j] / 3);
                if (dec_tri_has(tv, b))
                    __atomic_fetch_add(&r.lost[tv[0] ^ tv[1] ^ tv[2] ^ a ^ b], 1u, __ATOMIC_RELAXED);
            }
            double x = dec_edge_apply(m, c, &r.kept[i]);
            w = x > w ? x : w;
            uint32_t rem = r.kept[i] == a ? b : a;
            r.mrg[r.kept[i]] = rem;
            r.mrg[rem] = MRG_GONE;
        }
        nkept = 0;
        for (uint32_t i = 0; i < nw; i++)
            if (r.kept[i] != DEC_DEAD)
                r.kept[nkept++] = r.kept[i];
        worst = w > worst ? w : worst;
        compact(&r);
        update_lists(&r);
#pragma omp parallel for schedule(static) if (par)
        for (uint32_t i = 0; i < nkept; i++) {
            uint32_t k = r.kept[i];
            r.mrg[r.mrg[k]] = DEC_DEAD;
            r.mrg[k] = DEC_DEAD;
        }
        int cv = compact_vertices(&r, nkept);
        if (cv < 0) {
            rounds_free(&r);
            return -1;
        }
        stale = cv;
    }
    if (rep) {
        rep->rounds = round;
        rep->edges_priced = priced_total;
        rep->edges_tested = tested_total;
    }
    out->n = 3 * (size_t)m->nt;
    out->worst = worst;
    if (r.l2g) {
        /* back to the input's numbering */
        out->pos = malloc(((size_t)r.nv0 * 3 + 1) * sizeof *out->pos);
        if (!out->pos) {
            rounds_free(&r);
            return -1;
        }
        memcpy(out->pos, in->pos, (size_t)r.nv0 * 3 * sizeof *out->pos);
        for (uint32_t v = 0; v < m->nv; v++)
            memcpy(out->pos + 3 * (size_t)r.l2g[v], m->pos + 3 * (size_t)v, 3 * sizeof *out->pos);
        for (size_t i = 0; i < out->n; i++)
            m->idx[i] = r.l2g[m->idx[i]];
    } else {
        out->pos = m->pos;
        m->pos = NULL;
    }
    out->idx = m->idx;
    m->idx = NULL;
    rounds_free(&r);
    return 0;
}
