/* Taubin smoothing: a noisy sphere gets rounder and keeps its volume; the
 * result does not depend on the thread count and is the shared per-vertex
 * step's, bit for bit; boundaries stay put; coarse meshes (a cube, a
 * tetrahedron) come out of mesh-refine's defaults their own size. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "check.h"
#include "hd/smooth_ring.h"
#include "hd/smooth_vertex.h"
#include "refine.h"
#include "smooth.h"
#include "testmesh.h"
#include "topology.h"

/* The +-h cube, 8 corners, 12 triangles (as an OBJ a user would write). */
static void make_cube(orf_mesh *m, float h)
{
    static const uint32_t tri[36] = {0, 2, 1, 1, 2, 3, 4, 5, 6, 5, 7, 6, 0, 1, 4, 1, 5, 4,
                                     2, 6, 3, 3, 6, 7, 0, 4, 2, 2, 4, 6, 1, 3, 5, 3, 7, 5};
    mesh_alloc(m, 8, 12, 0, NULL);
    for (uint32_t v = 0; v < 8; v++)
        for (int k = 0; k < 3; k++)
            m->pos[3 * v + (uint32_t)k] = (v >> k & 1) ? h : -h;
    memcpy(m->idx, tri, sizeof tri);
}

/* The regular tetrahedron with corners at alternate corners of the +-h cube. */
static void make_tetra(orf_mesh *m, float h)
{
    static const float c[12] = {1, 1, 1, 1, -1, -1, -1, 1, -1, -1, -1, 1};
    static const uint32_t tri[12] = {0, 1, 2, 0, 3, 1, 0, 2, 3, 1, 3, 2};
    mesh_alloc(m, 4, 4, 0, NULL);
    for (int i = 0; i < 12; i++)
        m->pos[i] = c[i] * h;
    memcpy(m->idx, tri, sizeof tri);
}

/* Largest |coordinate - want| over the mesh's bounding box corners. */
static double bbox_off(const orf_mesh *m, float lo, float hi)
{
    float a[3], b[3];
    mesh_bbox(m, a, b);
    double w = 0;
    for (int k = 0; k < 3; k++) {
        w = fmax(w, fabs((double)a[k] - lo));
        w = fmax(w, fabs((double)b[k] - hi));
    }
    return w;
}

/* The CPU loop's reference: smooth_vertex_step called vertex by vertex on
 * one thread, then smooth_keep_size, as mesh_smooth_taubin is specified. */
static void reference_smooth(orf_mesh *m, int iterations)
{
    orf_err e;
    smooth_adjacency a;
    smooth_adjacency_build(m, &a, &e);
    uint32_t nv = m->nverts;
    float *p = malloc((size_t)nv * SMOOTH_STRIDE * sizeof *p), *t = malloc((size_t)nv * SMOOTH_STRIDE * sizeof *t);
    float *before = malloc((size_t)nv * 3 * sizeof *before);
    memcpy(before, m->pos, (size_t)nv * 3 * sizeof *before);
    smooth_pad(m->pos, nv, p);
    for (int it = 0; it < iterations; it++) {
        for (uint32_t v = 0; v < nv; v++)
            smooth_vertex_step(p, t, a.start, a.count, a.nbr, v, SMOOTH_LAMBDA);
        for (uint32_t v = 0; v < nv; v++)
            smooth_vertex_step(t, p, a.start, a.count, a.nbr, v, SMOOTH_MU);
    }
    smooth_unpad(p, nv, m->pos);
    smooth_keep_size(m, before, &a, NULL, &e);
    free(p);
    free(t);
    free(before);
    smooth_adjacency_free(&a);
}

static void add_radial_noise(orf_mesh *m, double amplitude, uint64_t seed)
{
    for (uint32_t i = 0; i < m->nverts; i++) {
        float *p = m->pos + 3 * i;
        double r = sqrt((double)p[0] * p[0] + (double)p[1] * p[1] + (double)p[2] * p[2]);
        double f = (r + amplitude * (2.0 * rng_uniform(&seed) - 1.0)) / r;
        for (int k = 0; k < 3; k++)
            p[k] = (float)(p[k] * f);
    }
}

/* The adjacency as kernels/cuda_smooth.cu builds it, on the host: the
 * counts, the scan, then the corners placed in a shuffled order (as the
 * device's atomics may take them, corners of different triangles
 * interleaved), then the vertices' rings in reverse order. 1 when it is
 * smooth_adjacency_build's: the same starts, counts, kept neighbours and
 * kinds. */
static int device_order_adjacency_same(const orf_mesh *m, uint64_t seed, uint32_t *max_valence)
{
    orf_err e;
    smooth_adjacency ref;
    if (smooth_adjacency_build(m, &ref, &e) != 0)
        return 0;
    uint32_t nv = m->nverts, nt = m->ntris;
    uint32_t *start = calloc((size_t)nv + 1, sizeof *start), *cursor = calloc((size_t)nv + 1, sizeof *cursor);
    uint32_t *nbr = malloc(((size_t)nt * 6 + 1) * sizeof *nbr), *order = malloc(((size_t)nt * 3 + 1) * sizeof *order);
    uint8_t *kind = malloc((size_t)nv + 1);
    for (uint32_t t = 0; t < nt; t++)
        if (smooth_tri_used(m->idx + 3 * (size_t)t))
            for (int k = 0; k < 3; k++)
                start[m->idx[3 * (size_t)t + k]] += 2;
    uint32_t sum = 0;
    for (uint32_t v = 0; v <= nv; v++) {
        uint32_t c = start[v];
        start[v] = sum;
        sum += c;
    }
    for (uint32_t i = 0; i < 3 * nt; i++)
        order[i] = i;
    for (uint32_t i = 3 * nt; i > 1; i--) { /* Fisher-Yates */
        uint32_t j = (uint32_t)(rng_uniform(&seed) * i);
        if (j >= i)
            j = i - 1;
        uint32_t x = order[i - 1];
        order[i - 1] = order[j];
        order[j] = x;
    }
    for (uint32_t i = 0; i < 3 * nt; i++) {
        const uint32_t *c = m->idx + 3 * (size_t)(order[i] / 3);
        int k = (int)(order[i] % 3);
        if (smooth_tri_used(c))
            smooth_ring_place(c, k, cursor[c[k]]++, start, nbr);
    }
    *max_valence = 0;
    for (uint32_t v = nv; v-- > 0;) {
        if (cursor[v] > *max_valence)
            *max_valence = cursor[v];
        smooth_ring_vertex(start, cursor, nbr, kind, v);
    }
    int same = 1;
    for (uint32_t v = 0; v < nv && same; v++) {
        same = start[v] == ref.start[v] && cursor[v] == ref.count[v] && kind[v] == ref.kind[v] &&
               memcmp(nbr + start[v], ref.nbr + ref.start[v], cursor[v] * sizeof *nbr) == 0;
    }
    free(start);
    free(cursor);
    free(nbr);
    free(order);
    free(kind);
    smooth_adjacency_free(&ref);
    return same;
}

int main(void)
{
    orf_mesh clean, noisy;
    orf_err e;
    edge_counts c0, c1;
    CHECK(icosphere(&clean, 5, 1.0f) == 0 && icosphere(&noisy, 5, 1.0f) == 0, "icospheres built");
    edge_check(&clean, &c0);
    CHECK(c0.watertight && c0.volume > 4.0, "the test sphere is closed and outward (volume %.4f)",
          c0.volume);

    add_radial_noise(&noisy, 0.02, 12345);
    double sd_before = radius_stddev(&noisy, NULL);
    orf_mesh copy;
    mesh_alloc(&copy, noisy.nverts, noisy.ntris, 0, NULL);
    memcpy(copy.pos, noisy.pos, sizeof(float) * 3 * noisy.nverts);
    memcpy(copy.idx, noisy.idx, sizeof(uint32_t) * 3 * noisy.ntris);

    omp_set_num_threads(2);
    CHECK(mesh_smooth_taubin(&noisy, SMOOTH_ITERATIONS, SMOOTH_LAMBDA, SMOOTH_MU, &e) == 0,
          "smoothing runs");
    double mean_after;
    double sd_after = radius_stddev(&noisy, &mean_after);
    /* Taubin passes the lowest frequencies by design; with white per-vertex
     * noise 10 iterations remove about 2/3 of the radius spread. */
    CHECK(sd_after * 2.5 < sd_before,
          "the noisy sphere gets rounder: radius std-dev %.5f -> %.5f (%.1fx)", sd_before,
          sd_after, sd_before / sd_after);
    edge_check(&noisy, &c1);
    CHECK(fabs(c1.volume - c0.volume) < 0.01 * c0.volume,
          "volume within 1%% of the clean sphere's: %.5f vs %.5f (%.3f%%)", c1.volume, c0.volume,
          100.0 * (c1.volume - c0.volume) / c0.volume);
    CHECK(c1.watertight, "still closed and outward");

    /* Bit-identical for 1 and 2 threads. */
    omp_set_num_threads(1);
    CHECK(mesh_smooth_taubin(&copy, SMOOTH_ITERATIONS, SMOOTH_LAMBDA, SMOOTH_MU, &e) == 0,
          "smoothing runs on one thread");
    CHECK(memcmp(copy.pos, noisy.pos, sizeof(float) * 3 * noisy.nverts) == 0,
          "one thread and two threads give the same bits");

    /* Bad parameters are refused and leave the mesh alone. */
    CHECK(mesh_smooth_taubin(&copy, 10, 0.5f, -0.4f, &e) == -1 && strcmp(e.code, "bad_request") == 0,
          "mu that would shrink is refused (%s)", e.code);
    CHECK(mesh_smooth_taubin(&copy, -1, 0.5f, -0.53f, &e) == -1, "negative iterations refused");

    /* An open mesh (hemisphere): boundary vertices move along the boundary
     * only, so they stay on the rim plane z = 0, and the rim keeps its size. */
    orf_mesh half;
    icosphere(&half, 4, 1.0f);
    uint32_t w = 0;
    for (uint32_t t = 0; t < half.ntris; t++) {
        const uint32_t *v = half.idx + 3 * t;
        int keep = 1;
        for (int k = 0; k < 3; k++)
            if (half.pos[3 * v[k] + 2] < -1e-6f)
                keep = 0;
        if (keep)
            memmove(half.idx + 3 * w++, v, sizeof(uint32_t) * 3);
    }
    half.ntris = w;
    smooth_adjacency adj;
    CHECK(smooth_adjacency_build(&half, &adj, &e) == 0 && adj.boundary_vertices > 0,
          "the hemisphere has boundary vertices (%u)", adj.boundary_vertices);
    smooth_adjacency_free(&adj);
    /* Put the rim on the unit circle in z = 0 with noise along it, and the
     * inside noisy: the rim must stay in its plane and keep its size. */
    edge_counts ch;
    edge_check(&half, &ch);
    tm_edge *E = malloc(sizeof *E * 3 * half.ntris);
    size_t n = 0;
    for (uint32_t t = 0; t < half.ntris; t++)
        for (int k = 0; k < 3; k++) {
            uint32_t a = half.idx[3 * t + k], b = half.idx[3 * t + (k + 1) % 3];
            E[n].a = a < b ? a : b;
            E[n].b = a < b ? b : a;
            E[n].tri = t;
            E[n++].forward = 0;
        }
    qsort(E, n, sizeof *E, tm_edge_cmp);
    unsigned char *rim = calloc(half.nverts, 1);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && E[j].a == E[i].a && E[j].b == E[i].b)
            j++;
        if (j - i == 1)
            rim[E[i].a] = rim[E[i].b] = 1;
        i = j;
    }
    free(E);
    uint64_t seed = 99;
    uint32_t rim_n = 0;
    for (uint32_t i = 0; i < half.nverts; i++) {
        float *p = half.pos + 3 * i;
        double f = 1.0 + 0.01 * (2.0 * rng_uniform(&seed) - 1.0);
        if (rim[i]) {
            double ang = atan2(p[1], p[0]) + 0.002 * (2.0 * rng_uniform(&seed) - 1.0);
            p[0] = (float)cos(ang);
            p[1] = (float)sin(ang);
            p[2] = 0.0f;
            rim_n++;
        } else {
            for (int k = 0; k < 3; k++)
                p[k] = (float)(p[k] * f);
        }
    }
    CHECK(ch.boundary >= 64 && rim_n == ch.boundary,
          "the hemisphere has one rim loop (%u edges, %u vertices)", ch.boundary, rim_n);
    CHECK(mesh_smooth_taubin(&half, 10, SMOOTH_LAMBDA, SMOOTH_MU, &e) == 0, "hemisphere smoothed");
    uint32_t off_plane = 0;
    double rim_r = 0;
    for (uint32_t i = 0; i < half.nverts; i++) {
        const float *p = half.pos + 3 * i;
        if (!rim[i])
            continue;
        off_plane += p[2] != 0.0f;
        rim_r += sqrt((double)p[0] * p[0] + (double)p[1] * p[1]);
    }
    rim_r /= rim_n ? rim_n : 1;
    free(rim);
    CHECK(off_plane == 0, "the rim stays in its plane (%u of %u rim vertices left it)", off_plane,
          rim_n);
    CHECK(fabs(rim_r - 1.0) < 0.01, "the rim keeps its radius: %.4f", rim_r);

    mesh_free(&clean);
    mesh_free(&noisy);
    mesh_free(&copy);
    mesh_free(&half);

    /* One step definition: mesh_smooth_taubin (the CPU loop, on 1 and on 2
     * threads: 163842 vertices run it in parallel) gives the bits of the
     * shared per-vertex function called vertex by vertex. */
    {
        orf_mesh big, ref;
        icosphere(&big, 7, 1.0f);
        add_radial_noise(&big, 0.01, 777);
        mesh_alloc(&ref, big.nverts, big.ntris, 0, NULL);
        memcpy(ref.pos, big.pos, sizeof(float) * 3 * big.nverts);
        memcpy(ref.idx, big.idx, sizeof(uint32_t) * 3 * big.ntris);
        reference_smooth(&ref, SMOOTH_ITERATIONS);
        int same = 1;
        for (int th = 1; th <= 2; th++) {
            orf_mesh c;
            mesh_alloc(&c, big.nverts, big.ntris, 0, NULL);
            memcpy(c.pos, big.pos, sizeof(float) * 3 * big.nverts);
            memcpy(c.idx, big.idx, sizeof(uint32_t) * 3 * big.ntris);
            omp_set_num_threads(th);
            mesh_smooth_taubin(&c, SMOOTH_ITERATIONS, SMOOTH_LAMBDA, SMOOTH_MU, &e);
            same &= memcmp(c.pos, ref.pos, sizeof(float) * 3 * big.nverts) == 0;
            mesh_free(&c);
        }
        CHECK(same, "the CPU loop (1 and 2 threads) equals smooth_vertex_step vertex by vertex, bit for bit (%u vertices)",
              big.nverts);
        mesh_free(&big);
        mesh_free(&ref);
    }

    /* Coarse meshes through mesh-refine's defaults (repair, 10 Taubin
     * iterations): they keep their size. Before: a +-0.5 cube came back
     * +-0.224, a tetrahedron at 1.4% of its size, both "watertight". */
    {
        refine_params q;
        refine_params_default(&q);
        refine_facts f;
        orf_mesh c;
        make_cube(&c, 0.5f);
        CHECK(refine_from_mesh(&c, REFINE_REFINED, 0, &q, "cube.obj", &f, &e) == 0 && f.smooth == SMOOTH_ITERATIONS,
              "a +-0.5 cube refines with the default smoothing");
        CHECK(bbox_off(&c, -0.5f, 0.5f) < 1e-6 && fabs(f.stats.volume - 1.0) < 1e-6 && f.stats.watertight,
              "the cube comes back +-0.5, volume 1 (bbox off by %.3g, volume %.6f)", bbox_off(&c, -0.5f, 0.5f),
              f.stats.volume);
        mesh_free(&c);
        make_tetra(&c, 0.5f);
        CHECK(refine_from_mesh(&c, REFINE_FINAL, 0, &q, "tetra.obj", &f, &e) == 0,
              "a tetrahedron refines to the final stage");
        CHECK(bbox_off(&c, -0.5f, 0.5f) < 1e-5 && fabs(f.stats.volume - 1.0 / 3.0) < 1e-5 && f.stats.watertight,
              "the tetrahedron comes back its size: bbox off by %.3g, volume %.6f (1/3)", bbox_off(&c, -0.5f, 0.5f),
              f.stats.volume);
        mesh_free(&c);
    }

    /* The size rule piece by piece: a low-poly sphere keeps its volume
     * (Taubin alone shrank it); a cube beside a dense sphere stays a cube
     * while the sphere is smoothed. */
    {
        orf_mesh lp;
        icosphere(&lp, 2, 1.0f);
        edge_counts b0, b1;
        edge_check(&lp, &b0);
        CHECK(mesh_smooth_taubin(&lp, SMOOTH_ITERATIONS, SMOOTH_LAMBDA, SMOOTH_MU, &e) == 0, "a 320-triangle sphere smooths");
        edge_check(&lp, &b1);
        CHECK(fabs(b1.volume - b0.volume) < 1e-5 * b0.volume, "and keeps its volume: %.6f -> %.6f", b0.volume, b1.volume);
        mesh_free(&lp);

        orf_mesh two, cube;
        icosphere(&two, 4, 1.0f);
        add_radial_noise(&two, 0.02, 5);
        double sd0 = radius_stddev(&two, NULL);
        uint32_t nsph = two.nverts;
        for (uint32_t v = 0; v < nsph; v++)
            two.pos[3 * v] += 3.0f; /* beside the cube, not around it */
        make_cube(&cube, 0.5f);
        mesh_append(&two, &cube);
        mesh_smooth_taubin(&two, SMOOTH_ITERATIONS, SMOOTH_LAMBDA, SMOOTH_MU, &e);
        CHECK(memcmp(two.pos + 3 * nsph, cube.pos, sizeof(float) * 24) == 0,
              "a cube beside a noisy sphere keeps its corners exactly");
        for (uint32_t v = 0; v < nsph; v++)
            two.pos[3 * v] -= 3.0f;
        two.nverts = nsph;
        double sd1 = radius_stddev(&two, NULL);
        CHECK(sd1 * 2 < sd0, "while the sphere is smoothed: radius std-dev %.5f -> %.5f", sd0, sd1);
        mesh_free(&two);
        mesh_free(&cube);
    }
    /* The device's way of building the adjacency gives the CPU's: an
     * icosphere, the same with its bottom cut open, then a mesh with a fan of
     * 100 triangles around one vertex (the long-list sort), a triangle
     * with a repeated vertex, an edge three triangles share and an unused
     * vertex. */
    {
        orf_mesh sph, fan;
        uint32_t valence = 0;
        icosphere(&sph, 3, 1.0f);
        CHECK(device_order_adjacency_same(&sph, 1, &valence),
              "sphere: the adjacency placed in the device's order is the CPU's (valence up to %u)", valence);
        uint32_t kept = 0;
        for (uint32_t t = 0; t < sph.ntris; t++) /* drop the triangles below z = -0.5 */
            if (sph.pos[3 * sph.idx[3 * t] + 2] > -0.5f)
                memmove(sph.idx + 3 * kept++, sph.idx + 3 * t, 3 * sizeof *sph.idx);
        sph.ntris = kept;
        CHECK(device_order_adjacency_same(&sph, 2, &valence),
              "open sphere: the same in the device's order (%u triangles)", sph.ntris);
        uint32_t nfan = 100;
        mesh_alloc(&fan, nfan + 4, nfan + 3, 0, NULL);
        fan.pos[0] = fan.pos[1] = fan.pos[2] = 0;
        for (uint32_t i = 0; i < nfan; i++) {
            double a = 2 * M_PI * i / nfan;
            fan.pos[3 * (i + 1)] = (float)cos(a);
            fan.pos[3 * (i + 1) + 1] = (float)sin(a);
            fan.pos[3 * (i + 1) + 2] = 0;
            fan.idx[3 * i] = 0;
            fan.idx[3 * i + 1] = 1 + i;
            fan.idx[3 * i + 2] = 1 + (i + 1) % nfan;
        }
        for (int k = 0; k < 9; k++)
            fan.pos[3 * (nfan + 1) + k] = (float)(k + 2);
        uint32_t extra[9] = {0, 1, nfan + 1, 3, 3, 4, nfan + 2, nfan + 1, nfan + 1};
        memcpy(fan.idx + 3 * nfan, extra, sizeof extra); /* a third triangle on edge 0-1; a repeated vertex */
        CHECK(device_order_adjacency_same(&fan, 3, &valence),
              "fan with a shared edge and a repeated vertex: the same in the device's order (valence %u)",
              valence);
        smooth_adjacency fa;
        CHECK(smooth_adjacency_build(&fan, &fa, &e) == 0 && fa.kind[0] == SMOOTH_FIXED &&
                  fa.kind[nfan + 3] == SMOOTH_UNUSED && fa.kind[2] == SMOOTH_BOUNDARY && fa.count[2] == 2 &&
                  fa.nbr[fa.start[2]] == 1 && fa.nbr[fa.start[2] + 1] == 3,
              "fan: the hub (on an edge of three triangles) is fixed, the unused vertex unused, rim vertex 2 "
              "moves along the rim, between 1 and 3 (kinds %d %d %d)",
              fa.kind[0], fa.kind[nfan + 3], fa.kind[2]);
        smooth_adjacency_free(&fa);
        mesh_free(&sph);
        mesh_free(&fan);
    }
    {
        /* the long-list sort (heapsort) against a counting of the values */
        uint32_t v[300], hist[50] = {0}, ok = 1;
        uint64_t sd = 99;
        for (int len = 33; len <= 300 && ok; len += 89) {
            memset(hist, 0, sizeof hist);
            for (int i = 0; i < len; i++) {
                v[i] = (uint32_t)(rng_uniform(&sd) * 50) % 50;
                hist[v[i]]++;
            }
            smooth_sort_u32(v, (uint32_t)len);
            for (int i = 0; i < len && ok; i++) {
                ok = (i == 0 || v[i - 1] <= v[i]) && hist[v[i]] > 0;
                hist[v[i]]--;
            }
        }
        CHECK(ok, "smooth_sort_u32 sorts long lists with repeats (33, 122, 211, 300 values)");
    }
    return check_done();
}
