/* Repair: orientation, degenerate and duplicate triangles, floaters, welding,
 * hole filling, the report, and meshes that cannot be saved. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "repair.h"
#include "testmesh.h"

static void flip(orf_mesh *m, uint32_t t)
{
    uint32_t s = m->idx[3 * t + 1];
    m->idx[3 * t + 1] = m->idx[3 * t + 2];
    m->idx[3 * t + 2] = s;
}

static int add_tri(orf_mesh *m, uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t *idx = realloc(m->idx, sizeof *idx * 3 * (m->ntris + 1));
    if (!idx)
        return -1;
    m->idx = idx;
    idx[3 * m->ntris] = a;
    idx[3 * m->ntris + 1] = b;
    idx[3 * m->ntris + 2] = c;
    m->ntris++;
    return 0;
}

static uint32_t add_vertex(orf_mesh *m, float x, float y, float z)
{
    m->pos = realloc(m->pos, sizeof(float) * 3 * (m->nverts + 1));
    m->pos[3 * m->nverts] = x;
    m->pos[3 * m->nverts + 1] = y;
    m->pos[3 * m->nverts + 2] = z;
    return m->nverts++;
}

int main(void)
{
    orf_mesh m, ref;
    orf_err e;
    repair_opts o;
    repair_report r;
    edge_counts c;
    repair_defaults(&o);
    CHECK(o.floater_share == 0.005f && o.orient == 1 && o.max_hole_edges == 0 &&
              o.weld_tolerance == 0.0f,
          "safe defaults");
    icosphere(&ref, 3, 1.0f);
    edge_counts cref;
    edge_check(&ref, &cref);

    /* Some flipped triangles get flipped back. */
    icosphere(&m, 3, 1.0f);
    uint32_t nflip = 0;
    for (uint32_t t = 0; t < m.ntris; t += 7, nflip++)
        flip(&m, t);
    edge_check(&m, &c);
    CHECK(c.misoriented > 0, "the test mesh has misoriented edges (%u)", c.misoriented);
    CHECK(mesh_repair(&m, &o, &r, "flipped", &e) == 0, "repair runs");
    edge_check(&m, &c);
    CHECK(c.watertight && c.misoriented == 0 && c.volume > 0,
          "every flipped triangle turned back: %u misoriented edges, volume %.4f", c.misoriented,
          c.volume);
    CHECK(r.flipped_triangles == nflip, "report: %u flipped (flipped %u)", r.flipped_triangles, nflip);
    CHECK(r.before.misoriented_edges > 0 && !r.before.watertight && r.after.watertight &&
              r.after.misoriented_edges == 0,
          "report: before %u misoriented, after watertight", r.before.misoriented_edges);
    CHECK(memcmp(m.pos, ref.pos, sizeof(float) * 3 * ref.nverts) == 0 && m.nverts == ref.nverts,
          "vertices untouched");
    mesh_free(&m);

    /* Inside-out sphere turned outward. */
    icosphere(&m, 3, 1.0f);
    for (uint32_t t = 0; t < m.ntris; t++)
        flip(&m, t);
    edge_check(&m, &c);
    CHECK(c.watertight && c.volume < 0, "the inside-out sphere is consistent but inward (%.3f)",
          c.volume);
    CHECK(mesh_repair(&m, &o, &r, "inside-out", &e) == 0, "repair runs");
    edge_check(&m, &c);
    CHECK(c.watertight && fabs(c.volume - cref.volume) < 1e-9,
          "turned outward: volume %.4f (reference %.4f)", c.volume, cref.volume);
    CHECK(r.flipped_triangles == m.ntris && r.before.volume < 0 && r.after.volume > 0,
          "report: all %u flipped, volume %.3f -> %.3f", r.flipped_triangles, r.before.volume,
          r.after.volume);
    mesh_free(&m);

    /* Degenerate and duplicate triangles. */
    icosphere(&m, 3, 1.0f);
    uint32_t nt = m.ntris, a = m.idx[0], b = m.idx[1], cc = m.idx[2];
    add_tri(&m, a, a, b);                   /* repeated index */
    add_tri(&m, b, cc, a);                  /* same triangle, rotated */
    add_tri(&m, a, cc, b);                  /* same vertex set, reversed */
    uint32_t p = add_vertex(&m, 0, 0, 0), q = add_vertex(&m, 0.5f, 0, 0);
    uint32_t u = add_vertex(&m, 0, 0.5f, 0);
    add_tri(&m, p, q, u);                   /* a lone fine triangle (a floater) ... */
    uint32_t s = add_vertex(&m, 0.25f, 0, 0);
    add_tri(&m, p, s, q);                   /* ... and a zero-area one (collinear) */
    CHECK(mesh_repair(&m, &o, &r, "degenerate", &e) == 0, "repair runs");
    CHECK(r.degenerate_triangles == 2 && r.duplicate_triangles == 2,
          "report: %u degenerate, %u duplicate (2 and 2 added)", r.degenerate_triangles,
          r.duplicate_triangles);
    CHECK(r.floater_components == 1 && r.floater_triangles == 1 && m.ntris == nt,
          "the lone triangle left is a floater: %u triangles kept (of %u)", m.ntris, nt);
    CHECK(r.unused_vertices == 4 && m.nverts == ref.nverts, "the 4 added vertices removed (%u)",
          r.unused_vertices);
    edge_check(&m, &c);
    CHECK(c.watertight && c.volume > 0, "watertight again");
    CHECK(r.before.triangles == nt + 5 && r.after.triangles == nt && r.before.vertices == ref.nverts + 4,
          "report counts: triangles %u -> %u, vertices %u -> %u", r.before.triangles,
          r.after.triangles, r.before.vertices, r.after.vertices);
    mesh_free(&m);

    /* A floater goes, a big second component stays. */
    orf_mesh tiny, big2;
    icosphere(&m, 4, 1.0f);                        /* 5120 */
    icosphere_at(&tiny, 0, 0.01f, 2.0f, 0, 0);     /* 20: 0.31% */
    icosphere_at(&big2, 3, 0.5f, -3.0f, 0, 0);     /* 1280 */
    mesh_append(&m, &tiny);
    mesh_append(&m, &big2);
    CHECK(mesh_repair(&m, &o, &r, "floaters", &e) == 0, "repair runs");
    CHECK(r.floater_components == 1 && r.floater_triangles == 20 && m.ntris == 5120 + 1280,
          "the tiny sphere dropped, the big one kept: %u components, %u triangles dropped, %u left",
          r.floater_components, r.floater_triangles, m.ntris);
    CHECK(r.before.components == 3 && r.after.components == 2, "report: components %u -> %u",
          r.before.components, r.after.components);
    CHECK(r.unused_vertices == tiny.nverts, "its %u vertices removed", r.unused_vertices);
    float lo[3], hi[3];
    mesh_bbox(&m, lo, hi);
    CHECK(hi[0] < 1.01f && lo[0] < -3.4f, "what is left spans the two big spheres");
    mesh_free(&m);
    /* floater_share 0 keeps everything. */
    icosphere(&m, 4, 1.0f);
    mesh_append(&m, &tiny);
    o.floater_share = 0;
    CHECK(mesh_repair(&m, &o, &r, "keep", &e) == 0 && r.floater_components == 0 &&
              m.ntris == 5140,
          "floater_share 0 keeps the tiny sphere");
    o.floater_share = REPAIR_FLOATER_SHARE;
    mesh_free(&m);
    mesh_free(&tiny);
    mesh_free(&big2);

    /* A triangle soup is welded into the closed sphere; jittered copies weld with a tolerance. */
    orf_mesh soup;
    mesh_alloc(&soup, ref.ntris * 3, ref.ntris, 0, NULL);
    uint64_t seed = 7;
    for (uint32_t t = 0; t < ref.ntris; t++)
        for (int k = 0; k < 3; k++) {
            for (int j = 0; j < 3; j++)
                soup.pos[9 * t + 3 * k + j] = ref.pos[3 * ref.idx[3 * t + k] + j] +
                                              (float)(1e-6 * (rng_uniform(&seed) - 0.5));
            soup.idx[3 * t + k] = 3 * t + k;
        }
    o.weld_tolerance = 1e-5f;
    CHECK(mesh_repair(&soup, &o, &r, "soup", &e) == 0, "repair of a jittered soup runs");
    CHECK(r.welded_vertices == ref.ntris * 3 - ref.nverts && soup.nverts == ref.nverts,
          "welded %u vertices into %u", r.welded_vertices, soup.nverts);
    CHECK(r.before.boundary_edges == ref.ntris * 3 && r.after.watertight,
          "report: %u boundary edges before, watertight after", r.before.boundary_edges);
    o.weld_tolerance = 0;
    mesh_free(&soup);

    /* Hole filling: a sphere without its cap. */
    icosphere(&m, 4, 1.0f);
    edge_counts c4;
    edge_check(&m, &c4);
    uint8_t *keep = malloc(m.ntris);
    uint32_t w = 0;
    for (uint32_t t = 0; t < m.ntris; t++) {
        int cap = 1;
        for (int k = 0; k < 3; k++)
            cap &= m.pos[3 * m.idx[3 * t + k] + 2] > 0.9f;
        if (!cap)
            memmove(m.idx + 3 * w++, m.idx + 3 * t, sizeof(uint32_t) * 3);
    }
    free(keep);
    CHECK(w < m.ntris, "cap removed: %u triangles gone", m.ntris - w);
    m.ntris = w;
    /* Turn it inside out as well: the fill must end up outward. */
    for (uint32_t t = 0; t < m.ntris; t++)
        flip(&m, t);
    edge_check(&m, &c);
    uint32_t hole = c.boundary;
    o.max_hole_edges = hole - 1;
    orf_mesh m2;
    mesh_alloc(&m2, m.nverts, m.ntris, 0, NULL);
    memcpy(m2.pos, m.pos, sizeof(float) * 3 * m.nverts);
    memcpy(m2.idx, m.idx, sizeof(uint32_t) * 3 * m.ntris);
    CHECK(mesh_repair(&m2, &o, &r, "hole", &e) == 0 && r.holes_filled == 0 && r.holes_left == 1 &&
              !r.after.watertight,
          "a hole of %u edges is left alone with a limit of %u", hole, o.max_hole_edges);
    o.max_hole_edges = hole;
    CHECK(mesh_repair(&m, &o, &r, "hole", &e) == 0, "repair with hole filling runs");
    edge_check(&m, &c);
    CHECK(r.holes_filled == 1 && r.hole_triangles == hole && r.holes_left == 0,
          "report: %u hole filled with %u triangles", r.holes_filled, r.hole_triangles);
    CHECK(c.watertight && r.after.watertight && r.after.boundary_edges == 0,
          "the result is watertight (%u boundary, %u misoriented)", c.boundary, c.misoriented);
    CHECK(c.volume > 0.99 * c4.volume && c.volume < c4.volume,
          "and outward, a little under the sphere's volume: %.4f vs %.4f", c.volume, c4.volume);
    mesh_free(&m);
    mesh_free(&m2);

    /* Meshes that cannot be saved. */
    icosphere(&m, 1, 1.0f);
    for (uint32_t i = 0; i < m.nverts * 3; i++)
        m.pos[i] = NAN;
    CHECK(mesh_repair(&m, &o, &r, "nan.ply", &e) == -1 && strcmp(e.code, "bad_mesh") == 0 &&
              strstr(e.message, "nan.ply"),
          "all NaN: %s: %s", e.code, e.message);
    CHECK(m.ntris == 0 && r.nonfinite_triangles == 80, "report: %u non-finite triangles",
          r.nonfinite_triangles);
    mesh_free(&m);
    icosphere(&m, 1, 1.0f);
    m.idx[4] = 1000;
    CHECK(mesh_repair(&m, &o, &r, "range.obj", &e) == -1 && strcmp(e.code, "bad_mesh") == 0,
          "index out of range: %s", e.message);
    m.ntris = 0;
    CHECK(mesh_repair(&m, &o, &r, "empty.stl", &e) == -1 && strcmp(e.code, "bad_mesh") == 0,
          "no triangles: %s", e.message);
    mesh_free(&m);
    mesh_alloc(&m, 3, 2, 0, NULL);
    for (int i = 0; i < 9; i++)
        m.pos[i] = (float)(i % 2);
    uint32_t deg[6] = {0, 0, 1, 1, 2, 2};
    memcpy(m.idx, deg, sizeof deg);
    CHECK(mesh_repair(&m, &o, &r, "flat.stl", &e) == -1 && strcmp(e.code, "bad_mesh") == 0,
          "only degenerate triangles: %s", e.message);
    mesh_free(&m);
    mesh_free(&ref);
    return check_done();
}
