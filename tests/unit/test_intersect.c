/* test_intersect.c - the exact predicates and the self-intersection search
 * (intersect.h) on cases whose answers are known by construction: integer
 * coordinates whose determinants a 128-bit integer computes exactly, pairs
 * of triangles placed by hand, and whole meshes (cubes, icospheres). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "intersect.h"
#include "testmesh.h"
#include "topology.h"

static int sign128(__int128 x)
{
    return x > 0 ? 1 : x < 0 ? -1 : 0;
}

/* det[a - d; b - d; c - d] of integer-valued floats, exactly */
static int orient3d_ref(const float *a, const float *b, const float *c, const float *d)
{
    __int128 m[3][3];
    const float *r[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            m[i][k] = (__int128)((long long)r[i][k] - (long long)d[k]);
    __int128 det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                   m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                   m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    return sign128(det);
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Unit cube [0,1]^3 scaled by `size` and moved by `off`, outward,
 * appended to m at vertex v0, triangle t0. */
static const uint32_t cube_tris[36] = {0, 2, 1, 1, 2, 3, 4, 5, 6, 5, 7, 6, 0, 1, 4, 1, 5, 4,
                                       2, 6, 3, 3, 6, 7, 0, 4, 2, 2, 4, 6, 1, 3, 5, 3, 7, 5};

static void put_cube(orf_mesh *m, uint32_t v0, uint32_t t0, float size, const float off[3])
{
    for (uint32_t v = 0; v < 8; v++) {
        m->pos[3 * (v0 + v) + 0] = off[0] + size * (float)(v & 1);
        m->pos[3 * (v0 + v) + 1] = off[1] + size * (float)(v >> 1 & 1);
        m->pos[3 * (v0 + v) + 2] = off[2] + size * (float)(v >> 2 & 1);
    }
    for (int i = 0; i < 36; i++)
        m->idx[3 * t0 + (uint32_t)i] = v0 + cube_tris[i];
}

/* a pair test from corner arrays (indices given) */
static int pair(const float P[3][3], const uint32_t pi[3], const float Q[3][3], const uint32_t qi[3])
{
    const float *p[3] = {P[0], P[1], P[2]}, *q[3] = {Q[0], Q[1], Q[2]};
    return triangles_meet(p, pi, q, qi);
}

int main(void)
{
    orf_err e = {{0}, {0}};

    /* orient3d against exact integers: random points, and points on a
     * common plane moved by 0 or 1 unit, where doubles lose the sign */
    {
        uint32_t s = 12345;
        int bad = 0, zeros = 0;
        for (int n = 0; n < 200000; n++) {
            float p[4][3];
            for (int i = 0; i < 3; i++)
                for (int k = 0; k < 3; k++)
                    p[i][k] = (float)((int)(lcg(&s) % (1u << 21)) - (1 << 20));
            if (n % 2) {
                /* d = a + s (b - a) + t (c - a) + a nudge in {-1, 0, 1} */
                int u = (int)(lcg(&s) % 7) - 3, w = (int)(lcg(&s) % 7) - 3;
                for (int k = 0; k < 3; k++)
                    p[3][k] = p[0][k] + (float)u * (p[1][k] - p[0][k]) + (float)w * (p[2][k] - p[0][k]);
                int ok = 1;
                for (int k = 0; k < 3; k++)
                    ok &= fabsf(p[3][k]) < 16777216.0f;
                if (!ok)
                    continue;
                p[3][lcg(&s) % 3] += (float)((int)(lcg(&s) % 3) - 1);
            } else {
                for (int k = 0; k < 3; k++)
                    p[3][k] = (float)((int)(lcg(&s) % (1u << 21)) - (1 << 20));
            }
            int want = orient3d_ref(p[0], p[1], p[2], p[3]);
            zeros += want == 0;
            if (orient3d_sign(p[0], p[1], p[2], p[3]) != want)
                bad++;
        }
        CHECK(bad == 0 && zeros > 1000,
              "orient3d_sign agrees with 128-bit integers on 200000 cases (%d coplanar), %d wrong", zeros,
              bad);
    }
    {
        /* a classic: points on the line y = x scaled near 1, where the
         * double determinant is noise */
        float a[2] = {0.5f, 0.5f}, b[2] = {12.0f, 12.0f}, c[2] = {24.0f, 24.0f};
        int all = 1;
        for (int i = 0; i < 256; i++) {
            float p[2] = {nextafterf(0.5f, 1.0f), 0.5f};
            for (int j = 0; j < i % 16; j++)
                p[0] = nextafterf(p[0], 1.0f);
            p[1] = nextafterf(p[1], (i / 16) % 2 ? 1.0f : 0.0f);
            int want = p[1] > p[0] ? 1 : p[1] < p[0] ? -1 : 0; /* above the line: left of b -> c */
            /* orient2d(b, c, p) > 0 when p is left of b -> c, i.e. above y = x */
            all &= orient2d_sign(b, c, p) == want;
        }
        all &= orient2d_sign(a, b, c) == 0;
        CHECK(all, "orient2d_sign is exact next to the line y = x");
    }

    /* pairs of triangles */
    {
        const uint32_t A[3] = {0, 1, 2}, B[3] = {3, 4, 5};
        float t1[3][3] = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}};
        float pierce[3][3] = {{0.2f, 0.2f, -1}, {0.3f, 0.2f, 1}, {0.2f, 0.3f, 1}};
        CHECK(pair(t1, A, pierce, B) == 1, "a triangle piercing another meets it");
        float above[3][3] = {{0.2f, 0.2f, 0.5f}, {0.3f, 0.2f, 1}, {0.2f, 0.3f, 1}};
        CHECK(pair(t1, A, above, B) == 0, "a triangle above another does not");
        float touch[3][3] = {{0.25f, 0.25f, 0}, {0.3f, 0.2f, 1}, {0.2f, 0.3f, 1}};
        CHECK(pair(t1, A, touch, B) == 1, "a corner resting on another's face meets it");
        float edge_touch[3][3] = {{0.5f, 0.5f, 0}, {1, 1, 1}, {1, 1, -1}};
        CHECK(pair(t1, A, edge_touch, B) == 1, "a corner on another's edge meets it");
        float cop_over[3][3] = {{0.1f, 0.1f, 0}, {2, 0.1f, 0}, {0.1f, 2, 0}};
        CHECK(pair(t1, A, cop_over, B) == 1, "coplanar overlapping triangles meet");
        float cop_apart[3][3] = {{1, 1, 0}, {2, 1, 0}, {1, 2, 0}};
        CHECK(pair(t1, A, cop_apart, B) == 0, "coplanar triangles apart do not");
        float near[3][3] = {{0.5f, 0.5f + 1e-7f, 0}, {2, 2, 0}, {0.5f, 2, 0}};
        CHECK(pair(t1, A, near, B) == 0, "coplanar, 1e-7 apart across the hypotenuse: apart");
        float degen[3][3] = {{0, 0, 0}, {1, 1, 1}, {2, 2, 2}};
        CHECK(pair(t1, A, degen, B) == -1, "a triangle with collinear corners is degenerate (-1)");

        /* sharing corner 0 */
        const uint32_t S[3] = {0, 6, 7};
        float fine[3][3] = {{0, 0, 0}, {0, -1, 0}, {0, 0, 1}};
        CHECK(pair(t1, A, fine, S) == 0, "two triangles sharing a corner, at an angle: fine");
        float fold[3][3] = {{0, 0, 0}, {0.5f, 0.5f, 1}, {0.5f, 0.5f, -1}};
        CHECK(pair(t1, A, fold, S) == 1, "a triangle through the shared corner, cutting the other: meets");
        float flat_in[3][3] = {{0, 0, 0}, {0.3f, 0.3f, 0}, {0.3f, 0.6f, 0}};
        CHECK(pair(t1, A, flat_in, S) == 1, "sharing a corner, lying inside the other's angle: meets");
        float flat_out[3][3] = {{0, 0, 0}, {-1, 0, 0}, {0, -1, 0}};
        CHECK(pair(t1, A, flat_out, S) == 0, "sharing a corner, coplanar, the opposite angle: fine");

        /* sharing the edge 0-1 */
        const uint32_t E[3] = {1, 0, 8};
        float across[3][3] = {{1, 0, 0}, {0, 0, 0}, {0.5f, -1, 0}};
        CHECK(pair(t1, A, across, E) == 0, "a coplanar neighbour across the shared edge: fine");
        float folded[3][3] = {{1, 0, 0}, {0, 0, 0}, {0.5f, 0.2f, 0}};
        CHECK(pair(t1, A, folded, E) == 1, "a neighbour folded flat onto the triangle: meets");
        float bent[3][3] = {{1, 0, 0}, {0, 0, 0}, {0.5f, 0.2f, 1e-30f}};
        CHECK(pair(t1, A, bent, E) == 0, "folded to within 1e-30 but not flat: fine (exact)");
        CHECK(pair(t1, A, t1, A) == 1, "the same triangle twice meets itself");
    }

    /* meshes */
    mesh_intersections mi;
    mesh_stats st;
    orf_mesh m = {0};
    {
        /* two cubes overlapping: each closed and manifold, together they
         * bound no solid; apart they do */
        mesh_alloc(&m, 16, 24, 0, &e);
        float o0[3] = {0, 0, 0}, o1[3] = {0.5f, 0.25f, 0.25f};
        put_cube(&m, 0, 0, 1, o0);
        put_cube(&m, 8, 12, 1, o1);
        CHECK(mesh_self_intersections(&m, &mi, &e) == 0 && mi.pairs > 0 && !mi.undecided,
              "two overlapping cubes: %u crossing pairs", mi.pairs);
        CHECK(mesh_topology(&m, &st, &e) == 0 && !st.watertight && st.self_intersections == mi.pairs &&
                  st.boundary_edges == 0 && st.nonmanifold_vertices == 0,
              "mesh_topology: closed and manifold, but not watertight (%u pairs)", st.self_intersections);
        int wt = 1;
        CHECK(mesh_watertight(&m, &wt, &e) == 0 && !wt, "mesh_watertight agrees: not watertight");
        float o2[3] = {1.0f, 0, 0};
        put_cube(&m, 8, 12, 1, o2); /* face to face: touching */
        CHECK(mesh_self_intersections(&m, &mi, &e) == 0 && mi.pairs > 0, "two cubes face to face touch (%u pairs)",
              mi.pairs);
        float o3[3] = {1.0f + 1e-6f, 0, 0};
        put_cube(&m, 8, 12, 1, o3);
        CHECK(mesh_self_intersections(&m, &mi, &e) == 0 && mi.pairs == 0 && mi.degenerate == 0 &&
                  mi.broken_fans == 0,
              "1e-6 apart: no pair, no degenerate triangle, every fan closed");
        CHECK(mesh_topology(&m, &st, &e) == 0 && st.watertight && mesh_watertight(&m, &wt, &e) == 0 && wt,
              "and watertight for both");
        /* a corner of the first cube pushed through the opposite face: still
         * closed and manifold */
        put_cube(&m, 8, 12, 1, o1);
        m.ntris = 12;
        m.nverts = 8;
        m.pos[3 * 7 + 0] = -0.5f;
        m.pos[3 * 7 + 1] = -0.4f;
        m.pos[3 * 7 + 2] = -0.3f;
        CHECK(mesh_topology(&m, &st, &e) == 0 && st.boundary_edges == 0 && st.self_intersections > 0 &&
                  !st.watertight,
              "a cube turned through itself: closed, %u crossing pairs, not watertight", st.self_intersections);
        CHECK(mesh_watertight(&m, &wt, &e) == 0 && !wt, "mesh_watertight agrees");
        mesh_free(&m);
    }
    {
        /* an icosphere: watertight; the same with one vertex pulled through
         * the far side; and every count the same on 1 and 2 threads */
        icosphere(&m, 4, 1.0f);
        CHECK(mesh_self_intersections(&m, &mi, &e) == 0 && mi.pairs == 0 && mi.broken_fans == 0 &&
                  mi.degenerate == 0,
              "icosphere (%u triangles): no pair", m.ntris);
        m.pos[0] = -m.pos[0] * 1.5f;
        m.pos[1] = -m.pos[1] * 1.5f;
        m.pos[2] = -m.pos[2] * 1.5f;
        mesh_intersections one, two;
        omp_set_num_threads(1);
        mesh_self_intersections(&m, &one, &e);
        omp_set_num_threads(2);
        mesh_self_intersections(&m, &two, &e);
        CHECK(one.pairs > 0 && !memcmp(&one, &two, sizeof one),
              "a vertex pulled through the far side: %u pairs, the same on 1 and 2 threads", one.pairs);
        mesh_free(&m);
    }
    {
        /* the icosphere with its vertices shuffled: closed and manifold by
         * its indices, a tangle in space: too many overlaps to test in the
         * budget, undecided, so not watertight */
        icosphere(&m, 5, 1.0f);
        uint32_t s = 99;
        for (uint32_t v = m.nverts - 1; v > 0; v--) {
            uint32_t w = lcg(&s) % (v + 1);
            for (int k = 0; k < 3; k++) {
                float x = m.pos[3 * v + (uint32_t)k];
                m.pos[3 * v + (uint32_t)k] = m.pos[3 * w + (uint32_t)k];
                m.pos[3 * w + (uint32_t)k] = x;
            }
        }
        CHECK(mesh_self_intersections(&m, &mi, &e) == 0 && mi.undecided && mi.pairs == UINT32_MAX,
              "a shuffled icosphere (%u triangles) is undecided", m.ntris);
        int wt = 1;
        CHECK(mesh_topology(&m, &st, &e) == 0 && !st.watertight && mesh_watertight(&m, &wt, &e) == 0 && !wt,
              "and not watertight");
        mesh_free(&m);
    }
    {
        /* a double cone of 200-triangle fans (the large-fan path): fine;
         * its base's centre moved up and aside cuts the upper cone */
        int n = 200;
        mesh_alloc(&m, (uint32_t)n + 2, 2 * (uint32_t)n, 0, &e);
        for (int i = 0; i < n; i++) {
            m.pos[3 * i] = cosf(6.2831853f * (float)i / (float)n);
            m.pos[3 * i + 1] = sinf(6.2831853f * (float)i / (float)n);
            m.pos[3 * i + 2] = 0;
            uint32_t *t = m.idx + 6 * i;
            t[0] = (uint32_t)i;
            t[1] = (uint32_t)((i + 1) % n);
            t[2] = (uint32_t)n;
            t[3] = (uint32_t)((i + 1) % n);
            t[4] = (uint32_t)i;
            t[5] = (uint32_t)n + 1;
        }
        float apex[6] = {0, 0, 1, 0, 0, -1};
        memcpy(m.pos + 3 * n, apex, sizeof apex);
        CHECK(mesh_self_intersections(&m, &mi, &e) == 0 && mi.pairs == 0 && mi.broken_fans == 0,
              "a double cone with 200-triangle fans: no pair, every fan closed");
        m.pos[3 * n + 3] = 0.6f;
        m.pos[3 * n + 5] = 0.8f;
        CHECK(mesh_self_intersections(&m, &mi, &e) == 0 && mi.pairs > 0,
              "its lower apex moved up and aside cuts the upper cone (%u pairs)", mi.pairs);
        mesh_free(&m);
    }
    {
        /* a degenerate triangle and a NaN corner are counted, not paired */
        mesh_alloc(&m, 6, 2, 0, &e);
        float pos[18] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 0, 0, NAN, 0, 0};
        uint32_t idx[6] = {0, 1, 2, 3, 4, 5};
        memcpy(m.pos, pos, sizeof pos);
        memcpy(m.idx, idx, sizeof idx);
        CHECK(mesh_self_intersections(&m, &mi, &e) == 0 && mi.degenerate == 2 && mi.pairs == 0,
              "collinear and NaN triangles: 2 degenerate, no pair");
        mesh_free(&m);
    }
    return check_done();
}
