/* hd/smooth_ring.h - the one-ring adjacency of Taubin smoothing, per
 * element: the one definition lib/smooth.c's smooth_adjacency_build and the
 * CUDA kernels in kernels/cuda_smooth.cu both call, so the two build the
 * same adjacency (test_smooth builds it in the device's order on the CPU
 * and compares; test_cuda_parity compares the smoothed meshes).
 *
 * The build, on either backend:
 *   1. each triangle with three distinct vertices (smooth_tri_used) gives
 *      each of its vertices two slots; an exclusive scan of the counts
 *      gives each vertex's start;
 *   2. each such triangle places, at each vertex, its "next" corner in the
 *      first half of the vertex's slots and its "previous" one in the second
 *      half, at the same position (smooth_ring_place); the position comes
 *      from a per-vertex cursor, in triangle order on the CPU and in
 *      whatever order the atomics give on the GPU;
 *   3. each vertex sorts its slots and keeps what it smooths over
 *      (smooth_one_ring), which depends only on which neighbours it got,
 *      not on the order they were placed in: the result is the same for
 *      any placement order.
 */
#ifndef ORFEAS_HD_SMOOTH_RING_H
#define ORFEAS_HD_SMOOTH_RING_H

#include <stdint.h>

#include "hd/hd.h"

/* 1 when triangle c (three vertex indices) has three distinct vertices */
ORF_HD int smooth_tri_used(const uint32_t *c)
{
    return !(c[0] == c[1] || c[1] == c[2] || c[0] == c[2]);
}

/* Place corner k of triangle c at its vertex, at position i of the
 * vertex's slots (start, and start of the next vertex, bound them). */
ORF_HD void smooth_ring_place(const uint32_t *c, int k, uint32_t i, const uint32_t *start, uint32_t *nbr)
{
    uint32_t v = c[k];
    uint32_t half = (start[v + 1] - start[v]) / 2;
    uint32_t *slot = nbr + start[v] + i;
    slot[0] = c[(k + 1) % 3];
    slot[half] = c[(k + 2) % 3];
}

/* Sort v[0..n) ascending: insertion sort for short lists (every vertex of
 * an extraction), heapsort for long ones (a fan of thousands of triangles
 * in a file a user gave): in place, no allocation, O(n log n). */
ORF_HD void smooth_sort_u32(uint32_t *v, uint32_t n)
{
    if (n <= 32) {
        for (uint32_t i = 1; i < n; i++) {
            uint32_t x = v[i], j = i;
            while (j > 0 && v[j - 1] > x) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
        return;
    }
    /* heapsort: build a max-heap, then move the maximum to the end */
    for (uint32_t end = n, i = n / 2; end > 1;) {
        uint32_t root;
        if (i > 0) {
            root = --i;
        } else {
            end--;
            uint32_t t = v[0];
            v[0] = v[end];
            v[end] = t;
            root = 0;
        }
        for (;;) {
            uint32_t child = 2 * root + 1;
            if (child >= end)
                break;
            if (child + 1 < end && v[child + 1] > v[child])
                child++;
            if (v[root] >= v[child])
                break;
            uint32_t t = v[root];
            v[root] = v[child];
            v[child] = t;
            root = child;
        }
    }
}

/* Sort the neighbour occurrences of one vertex (each triangle adds two) and
 * keep what the vertex smooths over: every neighbour when interior, the
 * neighbours along single-use edges when on a boundary, none when an edge
 * is used three times or the boundary is pinched. *out_count gets how many
 * are kept, at the front of nb. Returns 0, 1, 2 for interior, boundary,
 * fixed (SMOOTH_INTERIOR, SMOOTH_BOUNDARY, SMOOTH_FIXED of smooth.h). */
ORF_HD int smooth_one_ring(uint32_t *nb, uint32_t n, uint32_t *out_count)
{
    /* fast path, the usual vertex of a closed manifold mesh: the "next"
     * corners (first half) are distinct and the same set as the "previous"
     * ones (second half); then each neighbour occurs exactly twice and the
     * sorted nexts are the answer the general path below would give */
    uint32_t h = n / 2;
    if (h > 0 && h <= 32) {
        smooth_sort_u32(nb, h);
        smooth_sort_u32(nb + h, h);
        int same = 1;
        for (uint32_t i = 0; i < h && same; i++)
            same = nb[i] == nb[h + i] && (i == 0 || nb[i] > nb[i - 1]);
        if (same) {
            *out_count = h;
            return 0;
        }
    }
    smooth_sort_u32(nb, n);
    uint32_t singles = 0;
    int nonmanifold = 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i;
        while (j < n && nb[j] == nb[i])
            j++;
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
    return singles ? 1 : 0;
}

/* Step 3 for vertex v: count[v] holds how many "next" corners were placed
 * at v; it gets how many neighbours v smooths over, and kind[v] the kind:
 * 0, 1, 2 as smooth_one_ring, 3 (SMOOTH_UNUSED) for a vertex of no
 * triangle. Returns kind[v]. */
ORF_HD int smooth_ring_vertex(const uint32_t *start, uint32_t *count, uint32_t *nbr, uint8_t *kind,
                              uint32_t v)
{
    uint32_t kept;
    int k = smooth_one_ring(nbr + start[v], 2 * count[v], &kept);
    count[v] = kept;
    if (start[v + 1] == start[v])
        k = 3;
    kind[v] = (uint8_t)k;
    return k;
}

#endif
