#include "smooth.h"

#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <string.h>

#include "alloc.h"
#include "hd/smooth_vertex.h"

void smooth_adjacency_free(smooth_adjacency *a)
{
    if (!a)
        return;
    free(a->start);
    free(a->count);
    free(a->nbr);
    memset(a, 0, sizeof *a);
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

static void sort_u32(uint32_t *v, uint32_t n)
{
    if (n > 32) {
        qsort(v, n, sizeof *v, cmp_u32);
        return;
    }
    for (uint32_t i = 1; i < n; i++) {
        uint32_t x = v[i], j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* Sort the neighbour occurrences of one vertex (each triangle adds two) and
 * keep what the vertex smooths over: every neighbour when interior, the
 * neighbours along single-use edges when on a boundary, none when an edge
 * is used three times or the boundary is pinched. Returns 0, 1, 2 for
 * interior, boundary, fixed. */
static int one_ring(uint32_t *nb, uint32_t n, uint32_t *out_count)
{
    /* fast path, the usual vertex of a closed manifold mesh: the "next"
     * corners (first half) are distinct and the same set as the "previous"
     * ones (second half); then each neighbour occurs exactly twice and the
     * sorted nexts are the answer the general path below would give */
    uint32_t h = n / 2;
    if (h > 0 && h <= 32) {
        sort_u32(nb, h);
        sort_u32(nb + h, h);
        int same = 1;
        for (uint32_t i = 0; i < h && same; i++)
            same = nb[i] == nb[h + i] && (i == 0 || nb[i] > nb[i - 1]);
        if (same) {
            *out_count = h;
            return 0;
        }
    }
    sort_u32(nb, n);
    uint32_t singles = 0, uniques = 0;
    int nonmanifold = 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i;
        while (j < n && nb[j] == nb[i])
            j++;
        uniques++;
        if (j - i == 1)
            singles++;
        else if (j - i > 2)
            nonmanifold = 1;
        i = j;
    }
    if (nonmanifold || (singles != 0 && singles != 2)) {
        *out_count = 0;
        return 2;
    }
    uint32_t w = 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i;
        while (j < n && nb[j] == nb[i])
            j++;
        if (singles == 0 || j - i == 1)
            nb[w++] = nb[i];
        i = j;
    }
    *out_count = w;
    (void)uniques;
    return singles ? 1 : 0;
}

int smooth_adjacency_build(const orf_mesh *m, smooth_adjacency *a, orf_err *e)
{
    memset(a, 0, sizeof *a);
    uint32_t nv = m->nverts, nt = m->ntris;
    a->nverts = nv;
    a->start = orf_zalloc((size_t)nv + 1, sizeof *a->start);
    a->count = orf_zalloc((size_t)nv + 1, sizeof *a->count);
    a->nbr = malloc(((size_t)nt * 6 + 1) * sizeof *a->nbr);
    if (!a->start || !a->count || !a->nbr) {
        smooth_adjacency_free(a);
        return orf_fail(e, "too_large", "out of memory for the adjacency of %u vertices", nv);
    }
    /* Count the triangle corners at each vertex (two neighbour slots each),
     * skipping triangles with a repeated index. */
    for (uint32_t t = 0; t < nt; t++) {
        const uint32_t *c = m->idx + 3 * (size_t)t;
        if (c[0] == c[1] || c[1] == c[2] || c[0] == c[2])
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
        if (c[0] == c[1] || c[1] == c[2] || c[0] == c[2])
            continue;
        for (int k = 0; k < 3; k++) {
            uint32_t v = c[k];
            uint32_t half = (a->start[v + 1] - a->start[v]) / 2;
            uint32_t *slot = a->nbr + a->start[v] + a->count[v];
            slot[0] = c[(k + 1) % 3];
            slot[half] = c[(k + 2) % 3];
            a->count[v]++;
        }
    }
    for (uint32_t v = 0; v < nv; v++)
        a->count[v] *= 2;
    uint32_t nboundary = 0, nfixed = 0;
#pragma omp parallel for schedule(static) reduction(+ : nboundary, nfixed)
    for (uint32_t v = 0; v < nv; v++) {
        uint32_t kept;
        int kind = one_ring(a->nbr + a->start[v], a->count[v], &kept);
        a->count[v] = kept;
        nboundary += kind == 1;
        nfixed += kind == 2 && a->start[v + 1] > a->start[v];
    }
    a->boundary_vertices = nboundary;
    a->fixed_vertices = nfixed;
    return 0;
}

/* Vertices under this count are smoothed on one thread: a pass over them
 * takes well under a millisecond, less than what OpenMP's barriers cost on a
 * loaded machine (20 of them for 10 iterations). */
#define SMOOTH_PARALLEL_VERTICES 100000u

typedef float smooth_v4 __attribute__((vector_size(16)));

/* One umbrella step over vertices [lo, hi) on xyz_ padded positions: the
 * same arithmetic, in the same order, as smooth_vertex_step (each lane is one
 * coordinate), so results are bit-identical to it. */
static void step4(const smooth_v4 *in, smooth_v4 *out, const uint32_t *start,
                  const uint32_t *count, const uint32_t *nbr, uint32_t lo, uint32_t hi,
                  float factor)
{
    const smooth_v4 fv = {factor, factor, factor, factor};
    for (uint32_t v = lo; v < hi; v++) {
        uint32_t n = count[v];
        smooth_v4 p = in[v];
        if (n == 0) {
            out[v] = p;
            continue;
        }
        const uint32_t *nb = nbr + start[v];
        smooth_v4 s = {0.0f, 0.0f, 0.0f, 0.0f};
        for (uint32_t i = 0; i < n; i++)
            s += in[nb[i]];
        float inv = 1.0f / (float)n;
        smooth_v4 iv = {inv, inv, inv, inv};
        out[v] = p + fv * (s * iv - p);
    }
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
    /* positions padded to 16 bytes (one aligned load per neighbour); two
     * buffers, allocated once, ping-ponged */
    smooth_v4 *p4 = aligned_alloc(16, (size_t)nv * sizeof *p4);
    smooth_v4 *t4 = aligned_alloc(16, (size_t)nv * sizeof *t4);
    if (!p4 || !t4) {
        free(p4);
        free(t4);
        smooth_adjacency_free(&a);
        return orf_fail(e, "too_large", "out of memory smoothing %u vertices", m->nverts);
    }
    float *pos = m->pos;
    for (uint32_t v = 0; v < nv; v++) {
        smooth_v4 q = {pos[3 * (size_t)v], pos[3 * (size_t)v + 1], pos[3 * (size_t)v + 2], 0.0f};
        p4[v] = q;
    }
    const uint32_t *st = a.start, *ct = a.count, *nb = a.nbr;
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
            step4(p4, t4, st, ct, nb, lo, hi, lambda);
#pragma omp barrier
            step4(t4, p4, st, ct, nb, lo, hi, mu);
#pragma omp barrier
        }
    }
    for (uint32_t v = 0; v < nv; v++) {
        pos[3 * (size_t)v] = p4[v][0];
        pos[3 * (size_t)v + 1] = p4[v][1];
        pos[3 * (size_t)v + 2] = p4[v][2];
    }
    free(p4);
    free(t4);
    smooth_adjacency_free(&a);
    return 0;
}
