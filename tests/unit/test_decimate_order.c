/* test_decimate_order.c - the per-element steps of lib/hd/decimate_edge.h
 * give the same mesh in any order of the elements, which is what lets the
 * CUDA kernels (kernels/cuda_decimate.cu: every element at once, lists
 * filled by atomics, minima by atomicMin) give the CPU's bytes.
 *
 * A host emulation of the CUDA driver, step for step (no vertex
 * renumbering, prefix sums in element order, as CUB's), runs every
 * "kernel" over its elements in a freshly shuffled order and fills the
 * vertex->corner lists in that order too; its result must equal
 * decimate_rounds' (OpenMP threads) byte for byte: triangles, positions,
 * the worst cost, the rounds and the work counts. On a sphere, a blob with
 * an open border, a mesh with attributes (endpoint placement), an error
 * bound without a count target, and a flat grid.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "decimate.h"
#include "decimate_internal.h"
#include "hd/decimate_edge.h"
#include "testmesh.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* a fresh random order of 0..n-1 */
static uint32_t *perm_buf;
static const uint32_t *shuffled(uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        perm_buf[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rnd() % i, x = perm_buf[i - 1];
        perm_buf[i - 1] = perm_buf[j];
        perm_buf[j] = x;
    }
    return perm_buf;
}

enum { ST_OPEN = 1, ST_SCATTERED, ST_WON, ST_REFUSED, ST_BLOCKED, ST_PREV = 0x80 };

/* exclusive prefix sum of f[0..n), the total returned */
static uint32_t scan(uint32_t *f, uint32_t n)
{
    uint32_t s = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t x = f[i];
        f[i] = s;
        s += x;
    }
    return s;
}

/* the vertex->corner lists, filled in a shuffled order (as atomics would) */
static void lists(dec_mesh *m, uint32_t *vstart, uint32_t *cursor, uint32_t *vcorner, int sorted)
{
    uint32_t n3 = 3 * m->nt;
    memset(cursor, 0, ((size_t)m->nv + 1) * sizeof *cursor);
    for (uint32_t c = 0; c < n3; c++)
        cursor[m->idx[c]]++;
    scan(cursor, m->nv + 1);
    memcpy(vstart, cursor, ((size_t)m->nv + 1) * sizeof *vstart);
    const uint32_t *p = sorted ? NULL : shuffled(n3);
    for (uint32_t i = 0; i < n3; i++) {
        uint32_t c = p ? p[i] : i;
        vcorner[cursor[m->idx[c]]++] = c;
    }
}

typedef struct emu_result {
    uint32_t *idx, nt;
    float *pos;
    double worst;
    uint32_t rounds;
    uint64_t priced, tested;
} emu_result;

static void emulate(const orf_mesh *in, const decimate_opts *o, emu_result *res)
{
    uint32_t nv = in->nverts, nt0 = in->ntris, target = o->max_triangles;
    size_t v1 = (size_t)nv + 1, t3 = 3 * (size_t)nt0 + 3;
    dec_mesh m;
    memset(&m, 0, sizeof m);
    uint8_t *locked = calloc(v1, 1), *near = calloc(v1, 1), *dirty = calloc(v1, 1);
    uint8_t *st = malloc(t3), *st2 = malloc(t3);
    uint32_t *idx = malloc(t3 * 4), *idx2 = malloc(t3 * 4), *vstart = malloc(v1 * 4), *cursor = malloc((v1 + 1) * 4);
    uint32_t *vcorner = malloc(t3 * 4), *cand = malloc(t3 * 4), *flags = malloc((t3 + 1) * 4);
    uint32_t *win = malloc(t3 * 4), *kept = malloc(t3 * 4), *kept2 = malloc(t3 * 4);
    float *pos = malloc(v1 * 12), *cost = malloc(t3 * 4), *cost2 = malloc(t3 * 4);
    double *q = malloc(v1 * DEC_QN * sizeof *q), *planes = malloc(((size_t)nt0 + 1) * 4 * sizeof *planes);
    uint64_t *vmin[2] = {malloc(v1 * 8), malloc(v1 * 8)}, *wkey = malloc(t3 * 8);
    perm_buf = malloc(t3 * 4 + v1 * 4);
    memset(vmin[0], 0xFF, v1 * 8);
    memset(vmin[1], 0xFF, v1 * 8);
    uint32_t nt = 0;
    for (uint32_t t = 0; t < nt0; t++) {
        const uint32_t *tv = in->idx + 3 * (size_t)t;
        if (tv[0] == tv[1] || tv[1] == tv[2] || tv[0] == tv[2]) {
            locked[tv[0]] = locked[tv[1]] = locked[tv[2]] = 1;
            continue;
        }
        memcpy(idx + 3 * (size_t)nt++, tv, 12);
    }
    memcpy(pos, in->pos, (size_t)nv * 12);
    m.nv = nv;
    m.nt = nt;
    m.pos = pos;
    m.q = q;
    m.idx = idx;
    m.locked = locked;
    m.vstart = vstart;
    m.vcorner = vcorner;
    m.endpoints_only = in->nrm || in->uv || in->col;
    m.min_dot = o->min_normal_dot != 0 ? o->min_normal_dot : 0.5f;
    m.min_quality = o->min_quality != 0 ? o->min_quality : 0.05f;
    m.max_cost = o->max_error > 0 ? (double)o->max_error * o->max_error : -1;
    lists(&m, vstart, cursor, vcorner, 1);
    const uint32_t *p = shuffled(nt);
    for (uint32_t i = 0; i < nt; i++)
        dec_tri_plane(&m, p[i], planes + 4 * (size_t)p[i]);
    p = shuffled(nv);
    for (uint32_t i = 0; i < nv; i++) {
        dec_vertex_quadric(&m, p[i], planes);
        locked[p[i]] = dec_vertex_locked(&m, p[i], locked[p[i]]);
    }
    uint32_t round = 0, boost = 0, nkept = 0, hist[DEC_HASH_BINS > DEC_NO_BUCKET ? DEC_HASH_BINS : DEC_NO_BUCKET];
    uint64_t priced_total = 0, tested_total = 0, worst_bits = 0;
    while (target == 0 || m.nt > target) {
        nt = m.nt;
        uint32_t n3 = 3 * nt;
        if (round == 0) {
            p = shuffled(n3);
            for (uint32_t i = 0; i < n3; i++)
                cost[p[i]] = dec_edge_price(&m, p[i]);
            priced_total += n3;
        } else {
            lists(&m, vstart, cursor, vcorner, 0);
            p = shuffled(nkept);
            for (uint32_t i = 0; i < nkept; i++) {
                uint32_t v = kept[p[i]];
                dec_vertex_reprice(&m, v, cost);
                dec_star_mark(&m, v, dirty, 1);
                priced_total += 2 * (uint64_t)(vstart[v + 1] - vstart[v]);
            }
        }
        memset(hist, 0, sizeof hist);
        uint64_t priced = 0;
        p = shuffled(n3);
        for (uint32_t i = 0; i < n3; i++) {
            uint32_t c = p[i];
            if (round > 0)
                cost[c] = dec_edge_recheck(&m, c, cost[c], dirty);
            uint32_t b = dec_cost_bucket(cost[c]);
            if (b < DEC_NO_BUCKET)
                hist[b]++, priced++;
        }
        p = shuffled(nkept);
        for (uint32_t i = 0; round > 0 && i < nkept; i++)
            dec_star_mark(&m, kept[p[i]], dirty, 0);
        if (priced == 0)
            break;
        uint64_t need = target ? (nt - target + 1) / 2 : priced;
        uint64_t rank = decimate_round_rank(priced, need, boost), below = 0;
        uint32_t ceiling = decimate_round_ceiling(hist, DEC_NO_BUCKET, rank, &below), bin = DEC_HASH_BINS - 1;
        if (below + hist[ceiling] > rank + rank / 2) {
            memset(hist, 0, DEC_HASH_BINS * sizeof *hist);
            for (uint32_t c = 0; c < n3; c++)
                if (dec_cost_bucket(cost[c]) == ceiling)
                    hist[dec_key_bin(dec_edge_rank(c, cost[c], round))]++;
            bin = decimate_round_ceiling(hist, DEC_HASH_BINS, rank - below, NULL);
        }
        for (uint32_t c = 0; c < n3; c++)
            flags[c] = (uint32_t)dec_edge_candidate(c, cost[c], round, ceiling, bin);
        uint32_t ncand = scan(flags, n3);
        for (uint32_t c = 0; c < n3; c++)
            if (dec_edge_candidate(c, cost[c], round, ceiling, bin))
                cand[flags[c]] = c;
        memset(st, ST_OPEN, ncand);
        memset(st2, 0, ncand);
        uint32_t nw = 0, passes = 0, open = ncand;
        while (open > 0 && passes < DECIMATE_ROUND_PASSES) {
            uint64_t *cur = vmin[passes & 1], *prev = vmin[!(passes & 1)];
            p = shuffled(ncand);
            for (uint32_t j = 0; j < ncand; j++) {
                uint32_t i = p[j], c = cand[i];
                uint8_t x = st[i];
                if (x & ST_PREV) {
                    prev[m.idx[c]] = prev[m.idx[dec_next(c)]] = DEC_NO_KEY;
                    x &= (uint8_t)~ST_PREV;
                }
                if (x == ST_OPEN) {
                    if (dec_edge_free(&m, c, near)) {
                        uint64_t k = dec_edge_key(c, cost[c], round);
                        uint32_t a = m.idx[c], b = m.idx[dec_next(c)];
                        cur[a] = k < cur[a] ? k : cur[a];
                        cur[b] = k < cur[b] ? k : cur[b];
                        x = ST_SCATTERED;
                    } else {
                        x = ST_BLOCKED;
                    }
                }
                st[i] = x;
            }
            uint32_t still = 0;
            p = shuffled(ncand);
            for (uint32_t j = 0; j < ncand; j++) {
                uint32_t i = p[j], c = cand[i];
                if (st[i] != ST_SCATTERED)
                    continue;
                int t = st2[i] & 1;
                uint64_t k = dec_edge_settle(&m, c, dec_edge_key(c, cost[c], round), cur, ceiling, &t);
                if (t && !(st2[i] & 1)) {
                    st2[i] = 1;
                    tested_total++;
                }
                if (k == DEC_WON) {
                    dec_star_mark(&m, m.idx[c], near, 1);
                    dec_star_mark(&m, m.idx[dec_next(c)], near, 1);
                    st[i] = ST_WON | ST_PREV;
                    nw++;
                } else if (k == DEC_REFUSED) {
                    st[i] = ST_REFUSED | ST_PREV;
                } else {
                    st[i] = ST_OPEN | ST_PREV;
                    still++;
                }
            }
            open = still;
            passes++;
        }
        uint64_t *last = vmin[!(passes & 1)];
        p = shuffled(ncand);
        for (uint32_t j = 0; j < ncand; j++) {
            uint32_t i = p[j], c = cand[i];
            uint8_t x = st[i];
            if (x & ST_PREV) {
                last[m.idx[c]] = last[m.idx[dec_next(c)]] = DEC_NO_KEY;
                x &= (uint8_t)~ST_PREV;
            }
            if (x == ST_REFUSED)
                cost[c] = dec_bits_float(DEC_REFUSED_COST);
            st[i] = x;
        }
        round++;
        if (nw) {
            for (uint32_t i = 0; i < ncand; i++)
                flags[i] = st[i] == ST_WON;
            nw = scan(flags, ncand);
            for (uint32_t i = 0; i < ncand; i++)
                if (st[i] == ST_WON)
                    win[flags[i]] = cand[i];
        }
        if (nw == 0) {
            nkept = 0;
            if (rank >= priced)
                break;
            boost++;
            continue;
        }
        boost = 0;
        uint64_t cut = DEC_NO_KEY;
        if (target && nw > need) {
            for (uint32_t i = 0; i < nw; i++)
                wkey[i] = dec_edge_rank(win[i], cost[win[i]], round - 1);
            cut = decimate_round_cut(wkey, nw, need);
        }
        p = shuffled(nw);
        for (uint32_t j = 0; j < nw; j++) {
            uint32_t i = p[j], c = win[i];
            dec_star_mark(&m, m.idx[c], near, 0);
            dec_star_mark(&m, m.idx[dec_next(c)], near, 0);
            kept[i] = DEC_DEAD;
            if (cut != DEC_NO_KEY && dec_edge_rank(c, cost[c], round - 1) > cut)
                continue;
            double x = dec_edge_apply(&m, c, &kept[i]);
            uint64_t bits;
            memcpy(&bits, &x, 8);
            worst_bits = bits > worst_bits ? bits : worst_bits;
        }
        for (uint32_t i = 0; i < nw; i++)
            flags[i] = kept[i] != DEC_DEAD;
        nkept = scan(flags, nw);
        for (uint32_t i = 0; i < nw; i++)
            if (kept[i] != DEC_DEAD)
                kept2[flags[i]] = kept[i];
        uint32_t *x = kept;
        kept = kept2;
        kept2 = x;
        for (uint32_t t = 0; t < nt; t++)
            flags[t] = m.idx[3 * (size_t)t] != DEC_DEAD;
        uint32_t live = scan(flags, nt);
        for (uint32_t t = 0; t < nt; t++)
            if (m.idx[3 * (size_t)t] != DEC_DEAD) {
                memcpy(idx2 + 3 * (size_t)flags[t], m.idx + 3 * (size_t)t, 12);
                memcpy(cost2 + 3 * (size_t)flags[t], cost + 3 * (size_t)t, 12);
            }
        x = m.idx;
        m.idx = idx2;
        idx2 = x;
        float *y = cost;
        cost = cost2;
        cost2 = y;
        m.nt = live;
    }
    res->nt = m.nt;
    res->idx = malloc(((size_t)m.nt * 3 + 1) * 4);
    memcpy(res->idx, m.idx, (size_t)m.nt * 12);
    res->pos = pos;
    memcpy(&res->worst, &worst_bits, 8);
    res->rounds = round;
    res->priced = priced_total;
    res->tested = tested_total;
    free(locked), free(near), free(dirty), free(st), free(st2), free(m.idx), free(idx2), free(vstart);
    free(cursor), free(vcorner), free(cand), free(flags), free(win), free(kept), free(kept2);
    free(cost), free(cost2), free(q), free(planes), free(vmin[0]), free(vmin[1]), free(wkey), free(perm_buf);
}

static void compare(const char *name, const orf_mesh *m, const decimate_opts *o)
{
    decimate_out ref;
    decimate_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = decimate_rounds(m, o, o->max_triangles, &ref, &rep);
    emu_result em;
    emulate(m, o, &em);
    CHECK(rc == 0 && ref.n == 3 * (size_t)em.nt && memcmp(ref.idx, em.idx, ref.n * 4) == 0,
          "%s: the shuffled emulation keeps the same %zu triangles, in the same order", name, ref.n / 3);
    /* the vertices the result uses (the others' positions are not part of it) */
    const float *rp = ref.pos ? ref.pos : m->pos;
    size_t differ = 0;
    for (size_t i = 0; rc == 0 && i < ref.n && i < 3 * (size_t)em.nt; i++)
        differ += memcmp(rp + 3 * (size_t)ref.idx[i], em.pos + 3 * (size_t)ref.idx[i], 12) != 0;
    CHECK(rc == 0 && differ == 0 && ref.worst == em.worst,
          "%s: the same positions (bit for bit; %zu corners differ) and worst cost (%.6g, %.6g)", name, differ,
          sqrt(ref.worst), sqrt(em.worst));
    CHECK(rep.rounds == em.rounds && rep.edges_priced == em.priced && rep.edges_tested == em.tested,
          "%s: the same rounds %u, edges priced %llu, tested %llu", name, rep.rounds,
          (unsigned long long)rep.edges_priced, (unsigned long long)rep.edges_tested);
    free(ref.idx);
    free(ref.pos);
    free(em.idx);
    free(em.pos);
}

/* a bumpy open sheet (a border, locked) of n x n quads */
static void sheet(orf_mesh *m, int n, int bumpy)
{
    mesh_alloc(m, (uint32_t)((n + 1) * (n + 1)), (uint32_t)(2 * n * n), 0, NULL);
    for (int y = 0; y <= n; y++)
        for (int x = 0; x <= n; x++) {
            float *p = m->pos + 3 * (size_t)(y * (n + 1) + x);
            p[0] = (float)x / n - 0.5f;
            p[1] = (float)y / n - 0.5f;
            p[2] = bumpy ? 0.05f * sinf(9.0f * p[0]) * cosf(7.0f * p[1]) : 0.0f;
        }
    uint32_t *t = m->idx;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            uint32_t a = (uint32_t)(y * (n + 1) + x), b = a + 1, c = a + (uint32_t)n + 2, d = a + (uint32_t)n + 1;
            *t++ = a, *t++ = b, *t++ = c;
            *t++ = a, *t++ = c, *t++ = d;
        }
}

int main(void)
{
    orf_mesh m;
    decimate_opts o;
    decimate_defaults(&o);

    omp_set_num_threads(2);
    icosphere(&m, 5, 1.0f); /* 20480 triangles */
    /* a little noise so that costs differ */
    uint64_t s = 7;
    for (uint32_t v = 0; v < m.nverts; v++)
        for (int k = 0; k < 3; k++)
            m.pos[3 * v + k] *= 1.0f + 0.002f * (float)(rng_uniform(&s) - 0.5);
    o.max_triangles = 1500;
    compare("noisy sphere to 1500", &m, &o);

    /* endpoints only (attributes), and an error bound alone */
    m.col = calloc((size_t)m.nverts * 4, 1);
    o.max_triangles = 3000;
    compare("sphere with colours (endpoint placement) to 3000", &m, &o);
    free(m.col);
    m.col = NULL;
    o.max_triangles = 0;
    o.max_error = 0.004f;
    compare("sphere to an error bound of 0.004", &m, &o);
    mesh_free(&m);

    o.max_error = 0;
    o.max_triangles = 2000;
    sheet(&m, 60, 1);
    compare("bumpy sheet with a border to 2000", &m, &o);
    mesh_free(&m);
    sheet(&m, 80, 0);
    o.max_triangles = 1000;
    compare("flat grid (every cost 0) to 1000", &m, &o);
    mesh_free(&m);
    return check_done();
}
