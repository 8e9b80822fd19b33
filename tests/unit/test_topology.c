/* test_topology.c - mesh_topology and mesh_weld on meshes whose answers are known by hand. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "topology.h"

/* Unit cube [0,1]^3 (vertex v at (v&1, v>>1&1, v>>2&1)), outward CCW, placed at offset. */
static const uint32_t cube_tris[36] = {0, 2, 1, 1, 2, 3, 4, 5, 6, 5, 7, 6, 0, 1, 4, 1, 5, 4,
                                       2, 6, 3, 3, 6, 7, 0, 4, 2, 2, 4, 6, 1, 3, 5, 3, 7, 5};

static void make_cubes(orf_mesh *m, int ncubes)
{
    orf_err e;
    mesh_alloc(m, 8 * (uint32_t)ncubes, 12 * (uint32_t)ncubes, MESH_UVS, &e);
    for (int c = 0; c < ncubes; c++) {
        for (uint32_t v = 0; v < 8; v++) {
            float *p = m->pos + 3 * (8 * (size_t)c + v);
            p[0] = (float)(v & 1) + 3.0f * (float)c;
            p[1] = (float)((v >> 1) & 1);
            p[2] = (float)((v >> 2) & 1);
            m->uv[2 * (8 * (size_t)c + v)] = (float)v;
            m->uv[2 * (8 * (size_t)c + v) + 1] = (float)c;
        }
        for (int i = 0; i < 36; i++)
            m->idx[36 * c + i] = cube_tris[i] + 8 * (uint32_t)c;
    }
}

/* The same cube as a triangle soup: 36 vertices, each corner its own. */
static void make_soup(orf_mesh *m, float jitter)
{
    orf_mesh c = {0};
    orf_err e;
    make_cubes(&c, 1);
    mesh_alloc(m, 36, 12, MESH_UVS, &e);
    for (uint32_t i = 0; i < 36; i++) {
        memcpy(m->pos + 3 * i, c.pos + 3 * c.idx[i], 3 * sizeof(float));
        m->pos[3 * i] += jitter * (float)(i % 5) / 5.0f;
        m->uv[2 * i] = (float)i;
        m->uv[2 * i + 1] = 0;
        m->idx[i] = i;
    }
    mesh_free(&c);
}

int main(void)
{
    orf_mesh m = {0};
    orf_err e = {{0}, {0}};
    mesh_stats s;

    make_cubes(&m, 1);
    CHECK(mesh_topology(&m, &s, &e) == 0, "topology of a cube");
    CHECK(s.watertight == 1, "cube is watertight");
    CHECK(fabs(s.volume - 1.0) < 1e-9, "cube volume is 1 (got %g)", s.volume);
    CHECK(fabs(s.area - 6.0) < 1e-9, "cube area is 6 (got %g)", s.area);
    CHECK(s.components == 1, "cube has 1 component (got %u)", s.components);
    CHECK(s.boundary_edges == 0 && s.nonmanifold_edges == 0 && s.misoriented_edges == 0 &&
              s.nonmanifold_vertices == 0,
          "cube has no boundary, non-manifold or misoriented edge, no non-manifold vertex");
    CHECK(s.vertices == 8 && s.triangles == 12, "cube counts 8 vertices, 12 triangles");
    CHECK(s.bbox[0][0] == 0 && s.bbox[1][0] == 1 && s.bbox[1][2] == 1, "cube bbox is [0,1]^3");

    /* one triangle removed */
    m.ntris = 11;
    CHECK(mesh_topology(&m, &s, &e) == 0 && s.boundary_edges == 3, "cube minus a triangle: 3 boundary edges (got %u)",
          s.boundary_edges);
    CHECK(!s.watertight, "cube minus a triangle is not watertight");
    m.ntris = 12;

    /* one triangle flipped (the third, on the face z = 1) */
    uint32_t t = m.idx[7];
    m.idx[7] = m.idx[8];
    m.idx[8] = t;
    CHECK(mesh_topology(&m, &s, &e) == 0 && s.misoriented_edges == 3, "one flipped triangle: 3 misoriented edges (got %u)",
          s.misoriented_edges);
    CHECK(!s.watertight && s.boundary_edges == 0, "flipped triangle: not watertight, no boundary");
    CHECK(fabs(s.volume - 1.0) > 1e-3, "flipped triangle changes the volume (got %g)", s.volume);
    mesh_free(&m);

    /* cube turned inside out: negative volume */
    make_cubes(&m, 1);
    for (uint32_t i = 0; i < m.ntris; i++) {
        t = m.idx[3 * i + 1];
        m.idx[3 * i + 1] = m.idx[3 * i + 2];
        m.idx[3 * i + 2] = t;
    }
    CHECK(mesh_topology(&m, &s, &e) == 0 && fabs(s.volume + 1.0) < 1e-9 && s.watertight,
          "inside-out cube: volume -1, still consistently oriented (got %g)", s.volume);
    mesh_free(&m);

    /* two cubes */
    make_cubes(&m, 2);
    CHECK(mesh_topology(&m, &s, &e) == 0 && s.components == 2, "two cubes: 2 components (got %u)", s.components);
    CHECK(s.watertight && fabs(s.volume - 2.0) < 1e-9 && fabs(s.area - 12.0) < 1e-9,
          "two cubes: watertight, volume 2, area 12");

    /* two cubes sharing one vertex: cube 1's vertex 0 becomes cube 0's vertex 7 (1,1,1)
     * once cube 1 is moved to start at (1,1,1) */
    for (uint32_t v = 8; v < 16; v++) {
        m.pos[3 * v] -= 2.0f;
        m.pos[3 * v + 1] += 1.0f;
        m.pos[3 * v + 2] += 1.0f;
    }
    for (uint32_t i = 12 * 3; i < 24 * 3; i++)
        if (m.idx[i] == 8)
            m.idx[i] = 7;
    CHECK(mesh_topology(&m, &s, &e) == 0 && s.nonmanifold_vertices == 1,
          "two cubes touching at a vertex: 1 non-manifold vertex (got %u)", s.nonmanifold_vertices);
    CHECK(s.components == 1 && s.nonmanifold_edges == 0, "touching cubes: 1 component, no non-manifold edge");
    mesh_free(&m);

    /* three triangles on one edge */
    mesh_alloc(&m, 5, 3, 0, &e);
    float fin[15] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0, 1};
    uint32_t fins[9] = {0, 1, 2, 1, 0, 3, 0, 1, 4};
    memcpy(m.pos, fin, sizeof fin);
    memcpy(m.idx, fins, sizeof fins);
    CHECK(mesh_topology(&m, &s, &e) == 0 && s.nonmanifold_edges == 1 && !s.watertight,
          "three triangles on an edge: 1 non-manifold edge (got %u)", s.nonmanifold_edges);
    mesh_free(&m);

    /* index out of range is refused, not read */
    make_cubes(&m, 1);
    m.idx[5] = 99;
    CHECK(mesh_topology(&m, &s, &e) == -1 && !strcmp(e.code, "bad_mesh"), "index out of range refused");
    mesh_free(&m);

    /* weld, exact */
    make_soup(&m, 0);
    CHECK(mesh_topology(&m, &s, &e) == 0 && !s.watertight && s.boundary_edges == 36, "soup: 36 boundary edges");
    CHECK(mesh_weld(&m, 0, &e) == 0 && m.nverts == 8, "exact weld merges 36 corners into 8 vertices (got %u)", m.nverts);
    CHECK(mesh_topology(&m, &s, &e) == 0 && s.watertight && fabs(s.volume - 1.0) < 1e-9, "welded soup is a watertight cube");
    int first_kept = 1;
    for (uint32_t v = 0; v < m.nverts; v++) {
        /* a kept vertex's uv is the index of its first corner in the soup */
        uint32_t soup = (uint32_t)m.uv[2 * v];
        int seen_before = 0;
        for (uint32_t i = 0; i < 36; i++)
            if (m.idx[i] == v) {
                if (i < soup)
                    seen_before = 1;
                break;
            }
        if (seen_before)
            first_kept = 0;
    }
    CHECK(first_kept, "weld keeps the first vertex's attributes");
    mesh_free(&m);

    /* weld with tolerance */
    make_soup(&m, 1e-4f);
    CHECK(mesh_weld(&m, 0, &e) == 0 && m.nverts > 8, "exact weld does not merge jittered corners (%u left)", m.nverts);
    mesh_free(&m);
    make_soup(&m, 1e-4f);
    CHECK(mesh_weld(&m, 1e-3f, &e) == 0 && m.nverts == 8, "weld within 1e-3 merges jittered corners into 8 (got %u)",
          m.nverts);
    CHECK(mesh_topology(&m, &s, &e) == 0 && s.watertight, "tolerance-welded soup is watertight");
    mesh_free(&m);
    make_soup(&m, 0);
    CHECK(mesh_weld(&m, 1.0f, &e) == 0 && m.nverts < 8, "weld within the edge length merges corners of the cube (%u left)",
          m.nverts);
    mesh_free(&m);
    make_soup(&m, 0);
    CHECK(mesh_weld(&m, -1.0f, &e) == -1, "negative tolerance refused");
    mesh_free(&m);

    /* a large tangle (random triangles over few vertices: degenerate ones,
     * edges used up to dozens of times, bow-tie vertices) is counted the same
     * on one thread and on several, and every corner of it is accounted for */
    {
        uint32_t nv = 4000, nt = 120000, seed = 7;
        orf_mesh big;
        mesh_alloc(&big, nv, nt, 0, &e);
        for (uint32_t i = 0; i < 3 * nv; i++) {
            seed = seed * 1664525u + 1013904223u;
            big.pos[i] = (float)(seed >> 8) / 16777216.0f;
        }
        for (uint32_t i = 0; i < 3 * nt; i++) {
            seed = seed * 1664525u + 1013904223u;
            big.idx[i] = (seed >> 8) % nv;
        }
        mesh_stats one, many;
        int threads = omp_get_max_threads();
        omp_set_num_threads(1);
        int r1 = mesh_topology(&big, &one, &e);
        omp_set_num_threads(threads > 1 ? threads : 2);
        int r2 = mesh_topology(&big, &many, &e);
        omp_set_num_threads(threads);
        CHECK(r1 == 0 && r2 == 0 && !memcmp(&one, &many, sizeof one),
              "a 120k-triangle tangle: the same counts on 1 and %d threads (%u non-manifold edges, %u non-manifold vertices)",
              threads > 1 ? threads : 2, many.nonmanifold_edges, many.nonmanifold_vertices);
        CHECK(many.nonmanifold_edges > 0 && many.nonmanifold_vertices > 0 && many.components == 1 && !many.watertight,
              "the tangle is one non-manifold component");
        mesh_free(&big);
    }

    /* empty mesh */
    CHECK(mesh_topology(&m, &s, &e) == 0 && !s.watertight && s.components == 0, "empty mesh: not watertight, 0 components");
    return check_done();
}
