/* cuda_decimate.cu - decimation in rounds of independent collapses on the
 * GPU (see cuda_decimate.h for the contract).
 *
 * The host loop is lib/decimate_rounds.c's, step for step; each of its
 * OpenMP loops is a kernel here calling the same function of
 * lib/hd/decimate_edge.h on the same element, its prefix sums are CUB's
 * (the same integers, so the same orders), its atomic minima atomicMin,
 * and its per-round choices (rank, ceiling, the last round's cut) are the
 * same host functions fed the same histograms. What the CPU does and this
 * does not: renumbering the vertices as the mesh shrinks (an order-keeping
 * renumbering, which changes no comparison the steps make, so no result).
 *
 * Everything lives in one device allocation (the job's pool) carved into
 * arrays, plus the triangles' planes while the quadrics are made and CUB's
 * scratch: three of a job's slots.
 */
#include <cuda_runtime.h>

#include <cub/cub.cuh>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/decimate_edge.h"

extern "C" {
#include "decimate.h"
#include "decimate_internal.h"
#include "err.h"
#include "mesh.h"
}

#include "cuda_backend.h"
#include "cuda_decimate.h"
#include "cuda_job.h"

/* ---- kernels: one element a thread, the steps of decimate_edge.h ---------- */

__global__ void k_count(const uint32_t *idx, uint64_t n3, uint32_t *cnt)
{
    FOR_EACH(c, n3)
    atomicAdd(&cnt[idx[c]], 1u);
}

__global__ void k_fill(const uint32_t *idx, uint64_t n3, uint32_t *cursor, uint32_t *vcorner)
{
    FOR_EACH(c, n3)
    vcorner[atomicAdd(&cursor[idx[c]], 1u)] = (uint32_t)c;
}

__global__ void k_iota(uint32_t *a, uint64_t n)
{
    FOR_EACH(i, n)
    a[i] = (uint32_t)i;
}

__global__ void k_planes(dec_mesh m, double *planes)
{
    FOR_EACH(t, (uint64_t)m.nt)
    dec_tri_plane(&m, (uint32_t)t, planes + 4 * t);
}

__global__ void k_vertex_init(dec_mesh m, const double *planes, uint8_t *locked)
{
    FOR_EACH(v, (uint64_t)m.nv)
    {
        dec_vertex_quadric(&m, (uint32_t)v, planes);
        locked[v] = dec_vertex_locked(&m, (uint32_t)v, locked[v]);
    }
}

__global__ void k_price(dec_mesh m, float *cost)
{
    FOR_EACH(c, 3 * (uint64_t)m.nt)
    cost[c] = dec_edge_price(&m, (uint32_t)c);
}

__global__ void k_reprice(dec_mesh m, const uint32_t *kept, uint32_t nkept, float *cost, uint8_t *dirty,
                          unsigned long long *priced)
{
    FOR_EACH(i, (uint64_t)nkept)
    {
        uint32_t v = kept[i];
        dec_vertex_reprice(&m, v, cost);
        dec_star_mark(&m, v, dirty, 1);
        atomicAdd(priced, 2ull * (m.vstart[v + 1] - m.vstart[v]));
    }
}

__global__ void k_unmark(dec_mesh m, const uint32_t *verts, uint32_t n, uint8_t *flags)
{
    FOR_EACH(i, (uint64_t)n)
    dec_star_mark(&m, verts[i], flags, 0);
}

/* the buckets' histogram (recheck: refused edges with a dirty end priced again) */
__global__ void k_hist(dec_mesh m, float *cost, const uint8_t *dirty, int recheck, uint32_t *hist,
                       unsigned long long *priced)
{
    FOR_EACH(c, 3 * (uint64_t)m.nt)
    {
        float f = cost[c];
        if (recheck) {
            f = dec_edge_recheck(&m, (uint32_t)c, f, dirty);
            cost[c] = f;
        }
        uint32_t b = dec_cost_bucket(f);
        if (b < DEC_NO_BUCKET) {
            atomicAdd(&hist[b], 1u);
            atomicAdd(priced, 1ull);
        }
    }
}

/* the hash bins' histogram in one bucket */
__global__ void k_hist2(uint64_t n3, const float *cost, uint32_t round, uint32_t bucket, uint32_t *hist)
{
    FOR_EACH(c, n3)
    {
        if (dec_cost_bucket(cost[c]) == bucket)
            atomicAdd(&hist[dec_key_bin(dec_edge_rank((uint32_t)c, cost[c], round))], 1u);
    }
}

__global__ void k_cand_flags(uint64_t n3, const float *cost, uint32_t round, uint32_t ceiling, uint32_t bin,
                             uint32_t *flags)
{
    FOR_EACH(c, n3)
    flags[c] = (uint32_t)dec_edge_candidate((uint32_t)c, cost[c], round, ceiling, bin);
}

__global__ void k_cand_fill(uint64_t n3, const float *cost, uint32_t round, uint32_t ceiling, uint32_t bin,
                            const uint32_t *at, uint32_t *cand)
{
    FOR_EACH(c, n3)
    {
        if (dec_edge_candidate((uint32_t)c, cost[c], round, ceiling, bin))
            cand[at[c]] = (uint32_t)c;
    }
}

enum { ST_OPEN = 1, ST_SCATTERED, ST_WON, ST_REFUSED, ST_BLOCKED, ST_PREV = 0x80 };

__global__ void k_scatter(dec_mesh m, const uint32_t *cand, uint32_t ncand, uint8_t *st, const float *cost,
                          uint32_t round, const uint8_t *near, unsigned long long *cur,
                          unsigned long long *prev)
{
    FOR_EACH(i, (uint64_t)ncand)
    {
        uint8_t x = st[i];
        uint32_t c = cand[i];
        if (x & ST_PREV) {
            prev[m.idx[c]] = DEC_NO_KEY;
            prev[m.idx[dec_next(c)]] = DEC_NO_KEY;
            x &= (uint8_t)~ST_PREV;
        }
        if (x == ST_OPEN) {
            if (dec_edge_free(&m, c, near)) {
                unsigned long long k = dec_edge_key(c, cost[c], round);
                atomicMin(&cur[m.idx[c]], k);
                atomicMin(&cur[m.idx[dec_next(c)]], k);
                x = ST_SCATTERED;
            } else {
                x = ST_BLOCKED;
            }
        }
        st[i] = x;
    }
}

/* counts: won, refused, still open, tested */
__global__ void k_settle(dec_mesh m, const uint32_t *cand, uint32_t ncand, uint8_t *st, uint8_t *st2,
                         const float *cost, uint32_t round, uint32_t ceiling, const unsigned long long *cur,
                         uint8_t *near, unsigned long long *counts)
{
    FOR_EACH(i, (uint64_t)ncand)
    {
        if (st[i] != ST_SCATTERED)
            continue;
        uint32_t c = cand[i];
        int t = (st2[i] & 1) != 0;
        uint64_t k = dec_edge_settle(&m, c, dec_edge_key(c, cost[c], round), (const uint64_t *)cur, ceiling, &t);
        if (t && !(st2[i] & 1)) {
            st2[i] = 1;
            atomicAdd(&counts[3], 1ull);
        }
        if (k == DEC_WON) {
            dec_star_mark(&m, m.idx[c], near, 1);
            dec_star_mark(&m, m.idx[dec_next(c)], near, 1);
            st[i] = ST_WON | ST_PREV;
            atomicAdd(&counts[0], 1ull);
        } else if (k == DEC_REFUSED) {
            st[i] = ST_REFUSED | ST_PREV;
            atomicAdd(&counts[1], 1ull);
        } else {
            st[i] = ST_OPEN | ST_PREV;
            atomicAdd(&counts[2], 1ull);
        }
    }
}

__global__ void k_final(dec_mesh m, const uint32_t *cand, uint32_t ncand, uint8_t *st, float *cost,
                        unsigned long long *last)
{
    FOR_EACH(i, (uint64_t)ncand)
    {
        uint8_t x = st[i];
        uint32_t c = cand[i];
        if (x & ST_PREV) {
            last[m.idx[c]] = DEC_NO_KEY;
            last[m.idx[dec_next(c)]] = DEC_NO_KEY;
            x &= (uint8_t)~ST_PREV;
        }
        if (x == ST_REFUSED)
            cost[c] = dec_bits_float(DEC_REFUSED_COST);
        st[i] = x;
    }
}

__global__ void k_win_flags(const uint8_t *st, uint32_t n, uint32_t *flags)
{
    FOR_EACH(i, (uint64_t)n)
    flags[i] = st[i] == ST_WON;
}

__global__ void k_win_fill(const uint8_t *st, const uint32_t *cand, uint32_t n, const uint32_t *at,
                           uint32_t *win)
{
    FOR_EACH(i, (uint64_t)n)
    {
        if (st[i] == ST_WON)
            win[at[i]] = cand[i];
    }
}

__global__ void k_wkey(const uint32_t *win, uint32_t nw, const float *cost, uint32_t round, uint64_t *wkey)
{
    FOR_EACH(i, (uint64_t)nw)
    wkey[i] = dec_edge_rank(win[i], cost[win[i]], round);
}

__global__ void k_apply(dec_mesh m, const uint32_t *win, uint32_t nw, const float *cost, uint32_t round,
                        uint64_t cut, uint8_t *near, uint32_t *kept, unsigned long long *worst)
{
    FOR_EACH(i, (uint64_t)nw)
    {
        uint32_t c = win[i];
        dec_star_mark(&m, m.idx[c], near, 0);
        dec_star_mark(&m, m.idx[dec_next(c)], near, 0);
        kept[i] = DEC_DEAD;
        if (cut != DEC_NO_KEY && dec_edge_rank(c, cost[c], round) > cut)
            continue;
        double x = dec_edge_apply(&m, c, &kept[i]);
        unsigned long long bits = (unsigned long long)__double_as_longlong(x);
        atomicMax(worst, bits); /* non-negative doubles order as their bits */
    }
}

__global__ void k_kept_flags(const uint32_t *kept, uint32_t n, uint32_t *flags)
{
    FOR_EACH(i, (uint64_t)n)
    flags[i] = kept[i] != DEC_DEAD;
}

__global__ void k_kept_fill(const uint32_t *kept, uint32_t n, const uint32_t *at, uint32_t *out)
{
    FOR_EACH(i, (uint64_t)n)
    {
        if (kept[i] != DEC_DEAD)
            out[at[i]] = kept[i];
    }
}

__global__ void k_alive(const uint32_t *idx, uint32_t nt, uint32_t *flags)
{
    FOR_EACH(t, (uint64_t)nt)
    flags[t] = idx[3 * t] != DEC_DEAD;
}

__global__ void k_compact(const uint32_t *idx, const float *cost, uint32_t nt, const uint32_t *at,
                          uint32_t *idx2, float *cost2)
{
    FOR_EACH(t, (uint64_t)nt)
    {
        if (idx[3 * t] == DEC_DEAD)
            continue;
        uint64_t d = 3 * (uint64_t)at[t];
        for (int k = 0; k < 3; k++) {
            idx2[d + k] = idx[3 * t + k];
            cost2[d + k] = cost[3 * t + k];
        }
    }
}

/* ---- the host loop ---------------------------------------------------------- */

#define LAUNCH(kernel, n, ...)                                                                     \
    do {                                                                                           \
        kernel<<<blocks_for(n), THREADS, 0, J.stream>>>(__VA_ARGS__);                            \
        CK_LAUNCH(#kernel);                                                                        \
    } while (0)

/* carve `count` T's from the pool at *at (256-byte aligned) */
template <typename T> static T *carve(uint8_t *base, size_t *at, size_t count)
{
    size_t a = (*at + 255) & ~(size_t)255;
    *at = a + (count ? count : 1) * sizeof(T);
    return base ? (T *)(base + a) : nullptr;
}

struct dev {
    float *pos, *cost, *cost2;
    double *q;
    uint8_t *locked, *near, *dirty, *st, *st2;
    uint32_t *idx, *idx2, *vstart, *cursor, *vcorner, *cand, *flags, *win, *kept, *kept2;
    unsigned long long *vmin[2], *counts, *worst, *priced;
    uint32_t *hist;
    uint64_t *wkey;
};

/* lay the arrays out in base (NULL: only count the bytes) */
static size_t layout(uint8_t *base, uint32_t nv, uint32_t nt, dev *d)
{
    size_t at = 0, v1 = (size_t)nv + 1, t3 = 3 * (size_t)nt + 3, t1 = (size_t)nt + 1;
    d->pos = carve<float>(base, &at, 3 * v1);
    d->q = carve<double>(base, &at, DEC_QN * v1);
    d->locked = carve<uint8_t>(base, &at, v1);
    d->near = carve<uint8_t>(base, &at, v1);
    d->dirty = carve<uint8_t>(base, &at, v1);
    d->vstart = carve<uint32_t>(base, &at, v1);
    d->cursor = carve<uint32_t>(base, &at, v1 + 1);
    d->vmin[0] = carve<unsigned long long>(base, &at, v1);
    d->vmin[1] = carve<unsigned long long>(base, &at, v1);
    d->idx = carve<uint32_t>(base, &at, t3);
    d->idx2 = carve<uint32_t>(base, &at, t3);
    d->vcorner = carve<uint32_t>(base, &at, t3);
    d->cost = carve<float>(base, &at, t3);
    d->cost2 = carve<float>(base, &at, t3);
    d->cand = carve<uint32_t>(base, &at, t3);
    d->flags = carve<uint32_t>(base, &at, t3 + 1);
    d->st = carve<uint8_t>(base, &at, t3);
    d->st2 = carve<uint8_t>(base, &at, t3);
    d->win = carve<uint32_t>(base, &at, t1);
    d->kept = carve<uint32_t>(base, &at, t1);
    d->kept2 = carve<uint32_t>(base, &at, t1);
    d->wkey = carve<uint64_t>(base, &at, t1);
    d->hist = carve<uint32_t>(base, &at, DEC_NO_BUCKET > DEC_HASH_BINS ? DEC_NO_BUCKET : DEC_HASH_BINS);
    d->counts = carve<unsigned long long>(base, &at, 8);
    d->worst = carve<unsigned long long>(base, &at, 1);
    d->priced = carve<unsigned long long>(base, &at, 1);
    return at + 256;
}

struct run_ctx {
    cuda_job_stats *stats;
    decimate_report *rep;
};

/* exclusive scan of flags[0..n) in place, flags[n] (set to 0 first) getting
 * the total, which lands in *total (host, after a sync) */
static cudaError_t scan_total(job &J, void *temp, size_t temp_bytes, uint32_t *flags, uint64_t n,
                              uint32_t *total)
{
    CK(cudaMemsetAsync(flags + n, 0, sizeof *flags, J.stream));
    size_t tb = temp_bytes;
    CK(cub::DeviceScan::ExclusiveSum(temp, tb, flags, flags, (int64_t)n + 1, J.stream));
    CK(cudaMemcpyAsync(total, flags + n, sizeof *total, cudaMemcpyDeviceToHost, J.stream));
    CK(cudaStreamSynchronize(J.stream));
    return cudaSuccess;
}

static cudaError_t rounds_gpu(job &J, const orf_mesh *in, const decimate_opts *o, uint32_t target,
                              decimate_out *out, decimate_report *rep)
{
    uint32_t nv = in->nverts, nt0 = in->ntris;
    /* degenerate triangles go, their vertices locked: on the host, as the CPU */
    uint32_t *hidx = (uint32_t *)malloc(((size_t)nt0 + 1) * 3 * sizeof *hidx);
    uint8_t *pre = (uint8_t *)calloc((size_t)nv + 1, 1);
    if (!hidx || !pre) {
        free(hidx);
        free(pre);
        J.where = "malloc";
        return cudaErrorMemoryAllocation;
    }
    uint32_t nt = 0;
    for (uint32_t t = 0; t < nt0; t++) {
        const uint32_t *tv = in->idx + 3 * (size_t)t;
        if (tv[0] == tv[1] || tv[1] == tv[2] || tv[0] == tv[2]) {
            pre[tv[0]] = pre[tv[1]] = pre[tv[2]] = 1;
            continue;
        }
        memcpy(hidx + 3 * (size_t)nt++, tv, 3 * sizeof *tv);
    }
    dev d;
    size_t bytes = layout(nullptr, nv, nt, &d);
    uint8_t *pool = nullptr;
    cudaError_t r = job_alloc(J, &pool, bytes);
    if (r == cudaSuccess)
        layout(pool, nv, nt, &d);
    /* CUB's scratch: the largest scan and the sort of the corners */
    size_t tb_scan = 0, tb_sort = 0, n3 = 3 * (size_t)nt;
    size_t nscan = (n3 > nv ? n3 : nv) + 1;
    if (r == cudaSuccess)
        r = cub::DeviceScan::ExclusiveSum(nullptr, tb_scan, d.flags, d.flags, (int64_t)nscan, J.stream);
    if (r == cudaSuccess)
        r = cub::DeviceRadixSort::SortPairs(nullptr, tb_sort, d.idx, d.idx2, d.flags, d.vcorner, (int64_t)n3,
                                            0, 32, J.stream);
    size_t temp_bytes = tb_scan > tb_sort ? tb_scan : tb_sort;
    void *temp = nullptr;
    if (r == cudaSuccess)
        r = job_alloc(J, (uint8_t **)&temp, temp_bytes);
    if (r == cudaSuccess)
        r = cudaMemcpyAsync(d.idx, hidx, n3 * sizeof *hidx, cudaMemcpyHostToDevice, J.stream);
    if (r == cudaSuccess)
        r = cudaMemcpyAsync(d.locked, pre, nv, cudaMemcpyHostToDevice, J.stream);
    if (r == cudaSuccess)
        r = cudaMemcpyAsync(d.pos, in->pos, (size_t)nv * 3 * sizeof(float), cudaMemcpyHostToDevice, J.stream);
    if (r == cudaSuccess)
        r = cudaStreamSynchronize(J.stream); /* hidx and pre are read */
    free(hidx);
    free(pre);
    if (r != cudaSuccess) {
        J.where = "decimation set-up";
        return r;
    }
    CK(cudaMemsetAsync(d.near, 0, (size_t)nv + 1, J.stream));
    CK(cudaMemsetAsync(d.dirty, 0, (size_t)nv + 1, J.stream));
    CK(cudaMemsetAsync(d.vmin[0], 0xFF, ((size_t)nv + 1) * sizeof(unsigned long long), J.stream));
    CK(cudaMemsetAsync(d.vmin[1], 0xFF, ((size_t)nv + 1) * sizeof(unsigned long long), J.stream));
    CK(cudaMemsetAsync(d.worst, 0, sizeof(unsigned long long), J.stream));

    dec_mesh m;
    memset(&m, 0, sizeof m);
    m.nv = nv;
    m.nt = nt;
    m.pos = d.pos;
    m.q = d.q;
    m.idx = d.idx;
    m.locked = d.locked;
    m.vstart = d.vstart;
    m.vcorner = d.vcorner;
    m.endpoints_only = in->nrm || in->uv || in->col;
    m.min_dot = o->min_normal_dot != 0 ? o->min_normal_dot : 0.5f;
    m.min_quality = o->min_quality != 0 ? o->min_quality : 0.05f;
    m.max_cost = o->max_error > 0 ? (double)o->max_error * o->max_error : -1;

    /* the lists in ascending corner order (a stable sort by vertex), the
     * planes, quadrics and locks */
    CK(cudaMemsetAsync(d.cursor, 0, ((size_t)nv + 1) * sizeof(uint32_t), J.stream));
    LAUNCH(k_count, n3, d.idx, n3, d.cursor);
    {
        size_t tb = temp_bytes;
        CK(cub::DeviceScan::ExclusiveSum(temp, tb, d.cursor, d.vstart, (int64_t)nv + 1, J.stream));
    }
    if (n3) {
        LAUNCH(k_iota, n3, d.flags, n3);
        size_t tb = temp_bytes;
        CK(cub::DeviceRadixSort::SortPairs(temp, tb, d.idx, d.idx2, d.flags, d.vcorner, (int64_t)n3, 0, 32,
                                           J.stream));
    }
    {
        double *planes = nullptr;
        CK(job_alloc(J, &planes, 4 * ((size_t)nt + 1)));
        LAUNCH(k_planes, nt, m, planes);
        LAUNCH(k_vertex_init, nv, m, planes, d.locked);
        CK(job_free(J, planes));
    }

    uint32_t round = 0, boost = 0, nkept = 0;
    uint64_t priced_total = 0, tested_total = 0;
    uint32_t hist[DEC_NO_BUCKET > DEC_HASH_BINS ? DEC_NO_BUCKET : DEC_HASH_BINS];
    while (target == 0 || m.nt > target) {
        nt = m.nt;
        n3 = 3 * (size_t)nt;
        /* 1. prices */
        if (round == 0) {
            LAUNCH(k_price, n3, m, d.cost);
            priced_total += n3;
        } else {
            CK(cudaMemsetAsync(d.cursor, 0, ((size_t)nv + 1) * sizeof(uint32_t), J.stream));
            LAUNCH(k_count, n3, d.idx, n3, d.cursor);
            size_t tb = temp_bytes;
            CK(cub::DeviceScan::ExclusiveSum(temp, tb, d.cursor, d.cursor, (int64_t)nv + 1, J.stream));
            CK(cudaMemcpyAsync(d.vstart, d.cursor, ((size_t)nv + 1) * sizeof(uint32_t), cudaMemcpyDeviceToDevice,
                               J.stream));
            LAUNCH(k_fill, n3, d.idx, n3, d.cursor, d.vcorner);
            CK(cudaMemsetAsync(d.priced, 0, sizeof(unsigned long long), J.stream));
            LAUNCH(k_reprice, nkept, m, d.kept, nkept, d.cost, d.dirty, d.priced);
            unsigned long long np = 0;
            CK(cudaMemcpyAsync(&np, d.priced, sizeof np, cudaMemcpyDeviceToHost, J.stream));
            CK(cudaStreamSynchronize(J.stream));
            priced_total += np;
        }
        /* the histograms, the ceiling */
        CK(cudaMemsetAsync(d.hist, 0, DEC_NO_BUCKET * sizeof(uint32_t), J.stream));
        CK(cudaMemsetAsync(d.priced, 0, sizeof(unsigned long long), J.stream));
        LAUNCH(k_hist, n3, m, d.cost, d.dirty, round > 0, d.hist, d.priced);
        if (round > 0)
            LAUNCH(k_unmark, nkept, m, d.kept, nkept, d.dirty);
        unsigned long long priced = 0;
        CK(cudaMemcpyAsync(hist, d.hist, DEC_NO_BUCKET * sizeof(uint32_t), cudaMemcpyDeviceToHost, J.stream));
        CK(cudaMemcpyAsync(&priced, d.priced, sizeof priced, cudaMemcpyDeviceToHost, J.stream));
        CK(cudaStreamSynchronize(J.stream));
        if (priced == 0)
            break;
        uint64_t need = target ? (nt - target + 1) / 2 : priced;
        uint64_t rank = decimate_round_rank(priced, need, boost);
        uint64_t below = 0;
        uint32_t ceiling = decimate_round_ceiling(hist, DEC_NO_BUCKET, rank, &below), bin = DEC_HASH_BINS - 1;
        if (below + hist[ceiling] > rank + rank / 2) {
            CK(cudaMemsetAsync(d.hist, 0, DEC_HASH_BINS * sizeof(uint32_t), J.stream));
            LAUNCH(k_hist2, n3, n3, d.cost, round, ceiling, d.hist);
            CK(cudaMemcpyAsync(hist, d.hist, DEC_HASH_BINS * sizeof(uint32_t), cudaMemcpyDeviceToHost, J.stream));
            CK(cudaStreamSynchronize(J.stream));
            bin = decimate_round_ceiling(hist, DEC_HASH_BINS, rank - below, NULL);
        }
        /* 2. the candidates */
        uint32_t ncand = 0;
        LAUNCH(k_cand_flags, n3, n3, d.cost, round, ceiling, bin, d.flags);
        CK(scan_total(J, temp, temp_bytes, d.flags, n3, &ncand));
        LAUNCH(k_cand_fill, n3, n3, d.cost, round, ceiling, bin, d.flags, d.cand);
        /* 3-5. the passes */
        CK(cudaMemsetAsync(d.st, ST_OPEN, (size_t)ncand + 1, J.stream));
        CK(cudaMemsetAsync(d.st2, 0, (size_t)ncand + 1, J.stream));
        uint32_t nw = 0, passes = 0, open = ncand;
        while (open > 0 && passes < DECIMATE_ROUND_PASSES) {
            unsigned long long *cur = d.vmin[passes & 1], *prev = d.vmin[!(passes & 1)];
            LAUNCH(k_scatter, ncand, m, d.cand, ncand, d.st, d.cost, round, d.near, cur, prev);
            CK(cudaMemsetAsync(d.counts, 0, 4 * sizeof(unsigned long long), J.stream));
            LAUNCH(k_settle, ncand, m, d.cand, ncand, d.st, d.st2, d.cost, round, ceiling, cur, d.near, d.counts);
            unsigned long long counts[4];
            CK(cudaMemcpyAsync(counts, d.counts, sizeof counts, cudaMemcpyDeviceToHost, J.stream));
            CK(cudaStreamSynchronize(J.stream));
            nw += (uint32_t)counts[0];
            tested_total += counts[3];
            open = (uint32_t)counts[2];
            passes++;
        }
        LAUNCH(k_final, ncand, m, d.cand, ncand, d.st, d.cost, d.vmin[!(passes & 1)]);
        round++;
        if (nw) {
            LAUNCH(k_win_flags, ncand, d.st, ncand, d.flags);
            CK(scan_total(J, temp, temp_bytes, d.flags, ncand, &nw));
            LAUNCH(k_win_fill, ncand, d.st, d.cand, ncand, d.flags, d.win);
        }
        if (nw == 0) {
            nkept = 0;
            if (rank >= priced)
                break;
            boost++;
            continue;
        }
        boost = 0;
        /* the last round's cut, on the host with the CPU's function */
        uint64_t cut = DEC_NO_KEY;
        if (target && nw > need) {
            uint64_t *keys = (uint64_t *)malloc((size_t)nw * sizeof *keys);
            if (!keys) {
                J.where = "malloc";
                return cudaErrorMemoryAllocation;
            }
            LAUNCH(k_wkey, nw, d.win, nw, d.cost, round - 1, d.wkey);
            r = cudaMemcpyAsync(keys, d.wkey, (size_t)nw * sizeof *keys, cudaMemcpyDeviceToHost, J.stream);
            if (r == cudaSuccess)
                r = cudaStreamSynchronize(J.stream);
            if (r == cudaSuccess)
                cut = decimate_round_cut(keys, nw, need);
            free(keys);
            if (r != cudaSuccess) {
                J.where = "the last round's cut";
                return r;
            }
        }
        /* 6. apply, then the kept vertices in winner order */
        LAUNCH(k_apply, nw, m, d.win, nw, d.cost, round - 1, cut, d.near, d.kept, d.worst);
        LAUNCH(k_kept_flags, nw, d.kept, nw, d.flags);
        CK(scan_total(J, temp, temp_bytes, d.flags, nw, &nkept));
        LAUNCH(k_kept_fill, nw, d.kept, nw, d.flags, d.kept2);
        uint32_t *x = d.kept;
        d.kept = d.kept2;
        d.kept2 = x;
        /* compaction */
        uint32_t live = 0;
        LAUNCH(k_alive, nt, d.idx, nt, d.flags);
        CK(scan_total(J, temp, temp_bytes, d.flags, nt, &live));
        LAUNCH(k_compact, nt, d.idx, d.cost, nt, d.flags, d.idx2, d.cost2);
        x = d.idx;
        d.idx = d.idx2;
        d.idx2 = x;
        float *y = d.cost;
        d.cost = d.cost2;
        d.cost2 = y;
        m.idx = d.idx;
        m.nt = live;
    }
    /* the result */
    unsigned long long wbits = 0;
    out->n = 3 * (size_t)m.nt;
    out->idx = (uint32_t *)malloc((out->n + 1) * sizeof *out->idx);
    out->pos = (float *)malloc(((size_t)nv * 3 + 1) * sizeof *out->pos);
    if (!out->idx || !out->pos) {
        J.where = "malloc";
        return cudaErrorMemoryAllocation;
    }
    CK(cudaMemcpyAsync(out->idx, d.idx, out->n * sizeof *out->idx, cudaMemcpyDeviceToHost, J.stream));
    CK(cudaMemcpyAsync(out->pos, d.pos, (size_t)nv * 3 * sizeof *out->pos, cudaMemcpyDeviceToHost, J.stream));
    CK(cudaMemcpyAsync(&wbits, d.worst, sizeof wbits, cudaMemcpyDeviceToHost, J.stream));
    CK(cudaStreamSynchronize(J.stream));
    memcpy(&out->worst, &wbits, sizeof out->worst);
    if (rep) {
        rep->rounds = round;
        rep->edges_priced = priced_total;
        rep->edges_tested = tested_total;
    }
    return cudaSuccess;
}

static int engine_cuda(const orf_mesh *m, const decimate_opts *o, decimate_out *out, decimate_report *rep,
                       void *ctx, orf_err *e)
{
    run_ctx *c = (run_ctx *)ctx;
    if ((uint64_t)m->ntris * 3 >= DEC_DEAD)
        return orf_fail(e, "too_large", "decimation takes fewer than %u triangles", DEC_DEAD / 3);
    job J;
    cudaError_t r = job_start(J);
    if (r == cudaSuccess)
        r = rounds_gpu(J, m, o, o->max_triangles, out, rep);
    int rc = job_end(J, r, "decimation (CUDA)", c->stats, e);
    if (rc != 0) {
        free(out->idx);
        free(out->pos);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

extern "C" int cuda_mesh_decimate(orf_mesh *m, const decimate_opts *o, decimate_report *r,
                                  cuda_job_stats *stats, orf_err *e)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    run_ctx c = {stats, r};
    return decimate_with(m, o, r, engine_cuda, &c, e);
}
