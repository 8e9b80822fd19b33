/* smooth.c - Taubin smoothing: the one-ring adjacency, the iterations (one
 * step definition, hd/smooth_vertex.h), and the size kept afterwards. */
#include "smooth.h"

#include <math.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <string.h>

#include "alloc.h"
#include "hd/smooth_ring.h"
#include "hd/smooth_vertex.h"

void smooth_adjacency_free(smooth_adjacency *a)
{
    if (!a)
        return;
    free(a->start);
    free(a->count);
    free(a->nbr);
    free(a->kind);
    memset(a, 0, sizeof *a);
}

_Static_assert(SMOOTH_INTERIOR == 0 && SMOOTH_BOUNDARY == 1 && SMOOTH_FIXED == 2 && SMOOTH_UNUSED == 3,
               "hd/smooth_ring.h returns these kinds as numbers");

int smooth_adjacency_build(const orf_mesh *m, smooth_adjacency *a, orf_err *e)
{
    memset(a, 0, sizeof *a);
    uint32_t nv = m->nverts, nt = m->ntris;
    if ((uint64_t)nt * 6 > UINT32_MAX) /* the slots are counted in 32 bits */
        return orf_fail(e, "too_large", "smoothing takes fewer than %u triangles (got %u)", UINT32_MAX / 6, nt);
    a->nverts = nv;
    a->start = orf_zalloc((size_t)nv + 1, sizeof *a->start);
    a->count = orf_zalloc((size_t)nv + 1, sizeof *a->count);
    a->nbr = orf_malloc_big((size_t)nt * 6 + 1, sizeof *a->nbr);
    a->kind = malloc((size_t)nv + 1);
    if (!a->start || !a->count || !a->nbr || !a->kind) {
        smooth_adjacency_free(a);
        return orf_fail(e, "too_large", "out of memory for the adjacency of %u vertices", nv);
    }
    /* Count the triangle corners at each vertex (two neighbour slots each),
     * skipping triangles with a repeated index. */
    for (uint32_t t = 0; t < nt; t++) {
        const uint32_t *c = m->idx + 3 * (size_t)t;
        if (!smooth_tri_used(c))
            continue;
        for (int k = 0; k < 3; k++)
            a->count[c[k]] += 2;
    }
    uint32_t sum = 0;
    for (uint32_t v = 0; v < nv; v++) {
        a->start[v] = sum;
        sum += a->count[v];
        a->count[v] = 0;
    }
    a->start[nv] = sum;
    /* the "next" corner of each triangle at v fills the first half of v's
     * slots, the "previous" one the second half (count[v] counts the nexts
     * placed so far) */
    for (uint32_t t = 0; t < nt; t++) {
        const uint32_t *c = m->idx + 3 * (size_t)t;
        if (!smooth_tri_used(c))
            continue;
        for (int k = 0; k < 3; k++)
            smooth_ring_place(c, k, a->count[c[k]]++, a->start, a->nbr);
    }
    uint32_t nboundary = 0, nfixed = 0;
#pragma omp parallel for schedule(static) reduction(+ : nboundary, nfixed)
    for (uint32_t v = 0; v < nv; v++) {
        int kind = smooth_ring_vertex(a->start, a->count, a->nbr, a->kind, v);
        nboundary += kind == SMOOTH_BOUNDARY;
        nfixed += kind == SMOOTH_FIXED;
    }
    a->boundary_vertices = nboundary;
    a->fixed_vertices = nfixed;
    return 0;
}

/* Vertices under this count are smoothed on one thread: a pass over them
 * takes well under a millisecond, less than what OpenMP's barriers cost on a
 * loaded machine (20 of them for 10 iterations). */
#define SMOOTH_PARALLEL_VERTICES 100000u

/* One umbrella step over vertices [lo, hi) of padded positions: the shared
 * per-vertex step, nothing else. */
static void step_range(const float *in, float *out, const smooth_adjacency *a, uint32_t lo,
                       uint32_t hi, float factor)
{
    for (uint32_t v = lo; v < hi; v++)
        smooth_vertex_step(in, out, a->start, a->count, a->nbr, v, factor);
}

int mesh_smooth_taubin(orf_mesh *m, int iterations, float lambda, float mu, orf_err *e)
{
    if (iterations < 0 || !(lambda > 0.0f && lambda < 1.0f) || !(mu < -lambda && mu > -1.0f))
        return orf_fail(e, "bad_request",
                        "Taubin smoothing needs iterations >= 0 and 0 < lambda < -mu < 1 "
                        "(got %d, %g, %g)",
                        iterations, (double)lambda, (double)mu);
    if (iterations == 0 || m->nverts == 0 || m->ntris == 0)
        return 0;
    smooth_adjacency a;
    if (smooth_adjacency_build(m, &a, e) < 0)
        return -1;
    uint32_t nv = m->nverts;
    /* padded positions (hd/smooth_vertex.h); two buffers, allocated once,
     * ping-ponged; the input kept for smooth_keep_size */
    size_t bytes = (size_t)nv * SMOOTH_STRIDE * sizeof(float);
    float *p4 = orf_malloc_big(bytes, 1); /* 16-aligned (malloc) or 2 MiB */
    float *t4 = orf_malloc_big(bytes, 1);
    float *before = orf_malloc_big((size_t)nv * 3, sizeof *before);
    if (!p4 || !t4 || !before) {
        free(p4);
        free(t4);
        free(before);
        smooth_adjacency_free(&a);
        return orf_fail(e, "too_large", "out of memory smoothing %u vertices", m->nverts);
    }
    memcpy(before, m->pos, (size_t)nv * 3 * sizeof *before);
    smooth_pad(m->pos, nv, p4);
    /* one parallel region; each thread keeps the same static range of
     * vertices in every pass */
#pragma omp parallel if (nv >= SMOOTH_PARALLEL_VERTICES)
    {
        int nth = 1, me = 0;
#ifdef _OPENMP
        nth = omp_get_num_threads();
        me = omp_get_thread_num();
#endif
        uint32_t lo = (uint32_t)((uint64_t)nv * (uint64_t)me / (uint64_t)nth);
        uint32_t hi = (uint32_t)((uint64_t)nv * (uint64_t)(me + 1) / (uint64_t)nth);
        for (int it = 0; it < iterations; it++) {
            step_range(p4, t4, &a, lo, hi, lambda);
#pragma omp barrier
            step_range(t4, p4, &a, lo, hi, mu);
#pragma omp barrier
        }
    }
    smooth_unpad(p4, nv, m->pos);
    free(p4);
    free(t4);
    int rc = smooth_keep_size(m, before, &a, NULL, e);
    free(before);
    smooth_adjacency_free(&a);
    return rc;
}

void smooth_pad(const float *pos, uint32_t nv, float *p4)
{
    for (uint32_t v = 0; v < nv; v++) {
        p4[SMOOTH_STRIDE * (size_t)v + 0] = pos[3 * (size_t)v + 0];
        p4[SMOOTH_STRIDE * (size_t)v + 1] = pos[3 * (size_t)v + 1];
        p4[SMOOTH_STRIDE * (size_t)v + 2] = pos[3 * (size_t)v + 2];
        p4[SMOOTH_STRIDE * (size_t)v + 3] = 0.0f;
    }
}

void smooth_unpad(const float *p4, uint32_t nv, float *pos)
{
    for (uint32_t v = 0; v < nv; v++) {
        pos[3 * (size_t)v + 0] = p4[SMOOTH_STRIDE * (size_t)v + 0];
        pos[3 * (size_t)v + 1] = p4[SMOOTH_STRIDE * (size_t)v + 1];
        pos[3 * (size_t)v + 2] = p4[SMOOTH_STRIDE * (size_t)v + 2];
    }
}

/* ---- keeping the size --------------------------------------------------------- */

static uint32_t find_root(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* What one piece sums, before (0) and after (1) smoothing. */
typedef struct piece {
    double vol[2];      /* six times the signed volume against the reference point */
    double cen[2][3];   /* centroids times 4 vol[] (24 volume), against ref */
    double sum[2][3];   /* the anchor vertices' coordinates, summed */
    double sq[2];       /* squared distances of the vertices to their anchor mean */
    double ref[3];      /* the piece's first vertex, before */
    uint32_t anchors;   /* interior pieces: all vertices; open ones: the boundary's */
    uint32_t verts;
    int closed, fixed;  /* every vertex interior; some vertex kept fixed */
} piece;

int smooth_keep_size(orf_mesh *m, const float *before, const smooth_adjacency *a,
                     uint32_t *unsmoothed, orf_err *e)
{
    if (unsmoothed)
        *unsmoothed = 0;
    uint32_t nv = m->nverts, nt = m->ntris;
    uint32_t *parent = malloc(((size_t)nv + 1) * sizeof *parent);
    uint32_t *pid = malloc(((size_t)nv + 1) * sizeof *pid);
    if (!parent || !pid) {
        free(parent);
        free(pid);
        return orf_fail(e, "too_large", "out of memory keeping the size of %u vertices", nv);
    }
    for (uint32_t v = 0; v < nv; v++)
        parent[v] = v;
    for (uint32_t t = 0; t < nt; t++) {
        const uint32_t *c = m->idx + 3 * (size_t)t;
        for (int k = 0; k < 2; k++) {
            uint32_t x = find_root(parent, c[k]), y = find_root(parent, c[k + 1]);
            if (x != y)
                parent[x > y ? x : y] = x > y ? y : x;
        }
    }
    uint32_t np = 0;
    for (uint32_t v = 0; v < nv; v++)
        pid[v] = find_root(parent, v) == v ? np++ : UINT32_MAX;
    for (uint32_t v = 0; v < nv; v++)
        pid[v] = pid[find_root(parent, v)];
    free(parent);
    piece *pc = orf_zalloc((size_t)np + 1, sizeof *pc);
    if (!pc) {
        free(pid);
        return orf_fail(e, "too_large", "out of memory keeping the size of %u pieces", np);
    }
    for (uint32_t i = 0; i < np; i++)
        pc[i].closed = 1;
    for (uint32_t v = 0; v < nv; v++) {
        piece *q = pc + pid[v];
        if (q->verts++ == 0)
            for (int k = 0; k < 3; k++)
                q->ref[k] = before[3 * (size_t)v + (size_t)k];
        if (a->kind[v] != 0)
            q->closed = 0;
        if (a->kind[v] == 2)
            q->fixed = 1;
    }
    /* volumes and centroids of the closed pieces */
    for (uint32_t t = 0; t < nt; t++) {
        const uint32_t *c = m->idx + 3 * (size_t)t;
        piece *q = pc + pid[c[0]];
        if (!q->closed)
            continue;
        for (int s = 0; s < 2; s++) {
            const float *P = s ? m->pos : before;
            double r[3][3];
            for (int i = 0; i < 3; i++)
                for (int k = 0; k < 3; k++)
                    r[i][k] = (double)P[3 * (size_t)c[i] + (size_t)k] - q->ref[k];
            double v6 = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) -
                        r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0]) +
                        r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
            q->vol[s] += v6; /* six times the volume */
            for (int k = 0; k < 3; k++)
                q->cen[s][k] += v6 * (r[0][k] + r[1][k] + r[2][k]);
        }
    }
    /* anchors (every vertex of a closed piece, the boundary of an open one)
     * and their means */
    for (uint32_t v = 0; v < nv; v++) {
        piece *q = pc + pid[v];
        if (!q->closed && a->kind[v] != 1)
            continue;
        q->anchors++;
        for (int s = 0; s < 2; s++)
            for (int k = 0; k < 3; k++)
                q->sum[s][k] += (double)(s ? m->pos : before)[3 * (size_t)v + (size_t)k];
    }
    for (uint32_t v = 0; v < nv; v++) {
        piece *q = pc + pid[v];
        if (!q->anchors)
            continue;
        for (int s = 0; s < 2; s++) {
            const float *P = s ? m->pos : before;
            for (int k = 0; k < 3; k++) {
                double d = (double)P[3 * (size_t)v + (size_t)k] - q->sum[s][k] / q->anchors;
                q->sq[s] += d * d;
            }
        }
    }
    /* the scale and the point it is about, per piece */
    double *how = malloc(((size_t)np + 1) * 4 * sizeof *how);
    if (!how) {
        free(pc);
        free(pid);
        return orf_fail(e, "too_large", "out of memory keeping the size of %u pieces", np);
    }
    for (uint32_t i = 0; i < np; i++) {
        piece *q = pc + i;
        double scale = 1, at[3] = {0, 0, 0};
        if (q->closed && q->vol[0] != 0 && q->vol[1] != 0 && (q->vol[0] > 0) == (q->vol[1] > 0)) {
            scale = cbrt(q->vol[0] / q->vol[1]);
            for (int k = 0; k < 3; k++)
                at[k] = q->ref[k] + q->cen[1][k] / (4.0 * q->vol[1]);
        } else if (!q->fixed && q->anchors && q->sq[0] > 0 && q->sq[1] > 0) {
            scale = sqrt(q->sq[0] / q->sq[1]);
            for (int k = 0; k < 3; k++)
                at[k] = q->sum[1][k] / q->anchors;
        }
        if (!isfinite(scale) || !isfinite(at[0]) || !isfinite(at[1]) || !isfinite(at[2]))
            scale = 1;
        how[4 * (size_t)i] = scale;
        for (int k = 0; k < 3; k++)
            how[4 * (size_t)i + 1 + (size_t)k] = at[k];
    }
    for (uint32_t v = 0; v < nv; v++) {
        const double *h = how + 4 * (size_t)pid[v];
        if (h[0] == 1)
            continue;
        for (int k = 0; k < 3; k++) {
            float *x = m->pos + 3 * (size_t)v + (size_t)k;
            *x = (float)(h[1 + k] + h[0] * ((double)*x - h[1 + k]));
        }
    }
    /* how far each piece moved against its size: the root mean square move
     * of its vertices against their root mean square distance from their
     * mean before; a piece that moved more than SMOOTH_MAX_RESHAPE of its
     * size had its shape changed, not its noise removed, and gets its input
     * back. Sums against the piece's first vertex (ref), in vertex order. */
    double *mv = calloc((size_t)np * 5 + 1, sizeof *mv); /* moved^2, dist^2, sum[3] */
    if (!mv) {
        free(how);
        free(pc);
        free(pid);
        return orf_fail(e, "too_large", "out of memory keeping the size of %u pieces", np);
    }
    for (uint32_t v = 0; v < nv; v++) {
        double *h = mv + 5 * (size_t)pid[v];
        const piece *q = pc + pid[v];
        for (int k = 0; k < 3; k++) {
            double b = (double)before[3 * (size_t)v + (size_t)k] - q->ref[k];
            double d = (double)m->pos[3 * (size_t)v + (size_t)k] - before[3 * (size_t)v + (size_t)k];
            h[0] += d * d;
            h[1] += b * b;
            h[2 + k] += b;
        }
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < np; i++) {
        double *h = mv + 5 * (size_t)i;
        double n = pc[i].verts;
        double spread = h[1] - (h[2] * h[2] + h[3] * h[3] + h[4] * h[4]) / (n > 0 ? n : 1);
        h[0] = !(h[0] <= SMOOTH_MAX_RESHAPE * SMOOTH_MAX_RESHAPE * spread); /* 1: restore */
        kept += h[0] != 0;
    }
    if (kept)
        for (uint32_t v = 0; v < nv; v++)
            if (mv[5 * (size_t)pid[v]] != 0)
                memcpy(m->pos + 3 * (size_t)v, before + 3 * (size_t)v, 3 * sizeof(float));
    free(mv);
    if (unsmoothed)
        *unsmoothed = kept;
    free(how);
    free(pc);
    free(pid);
    return 0;
}
