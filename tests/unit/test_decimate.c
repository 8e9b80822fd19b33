/* Decimation (rounds of independent collapses, the default engine): a fine
 * sphere brought to a triangle target stays closed, meets the target, and
 * stays within the error bound; attributes follow their vertices; normals
 * are unit and outward; the same bytes on 1, 2 and 16 threads; an open
 * sheet keeps its border; flat grids take work in proportion to their
 * size. */
#include <math.h>
#include <meshoptimizer.h>
#include <omp.h>
#include <string.h>

#include "check.h"
#include "decimate.h"
#include "normals.h"
#include "testmesh.h"
#include "pt_tri.h"

static double point_tri_dist(const double p[3], const float *a, const float *b, const float *c)
{
    return sqrt(pt_tri_d2(p, a, b, c));
}

/* Largest distance from an original vertex to the decimated surface, and
 * from the decimated surface to the unit sphere (the true shape). */
static void deviation(const orf_mesh *orig, const orf_mesh *dec, double *to_surface,
                      double *to_sphere)
{
    double worst = 0;
#pragma omp parallel for reduction(max : worst) schedule(dynamic, 64)
    for (uint32_t i = 0; i < orig->nverts; i++) {
        double p[3] = {orig->pos[3 * i], orig->pos[3 * i + 1], orig->pos[3 * i + 2]};
        double best = 1e30;
        for (uint32_t t = 0; t < dec->ntris; t++) {
            const uint32_t *v = dec->idx + 3 * t;
            double d = point_tri_dist(p, dec->pos + 3 * v[0], dec->pos + 3 * v[1],
                                      dec->pos + 3 * v[2]);
            if (d < best)
                best = d;
        }
        if (best > worst)
            worst = best;
    }
    *to_surface = worst;
    double sph = 0, o[3] = {0, 0, 0};
    for (uint32_t t = 0; t < dec->ntris; t++) {
        const uint32_t *v = dec->idx + 3 * t;
        double d = 1.0 - point_tri_dist(o, dec->pos + 3 * v[0], dec->pos + 3 * v[1],
                                        dec->pos + 3 * v[2]);
        if (d > sph)
            sph = d;
    }
    *to_sphere = sph;
}

/* A unit sphere with bumps (radius 1 + 0.08 sin 5x sin 4y sin 3z): costs
 * that vary over the surface. */
static void bumpy_sphere(orf_mesh *m, int level)
{
    icosphere(m, level, 1.0f);
    for (uint32_t v = 0; v < m->nverts; v++) {
        float *p = m->pos + 3 * v;
        float s = 1.0f + 0.08f * sinf(5 * p[0]) * sinf(4 * p[1]) * sinf(3 * p[2]);
        p[0] *= s, p[1] *= s, p[2] *= s;
    }
}

/* An n x n grid of quad pairs on [-0.5, 0.5]^2, flat or with bumps. */
static void flat_grid(orf_mesh *m, int n, int bumpy)
{
    orf_err e;
    mesh_alloc(m, (uint32_t)((n + 1) * (n + 1)), (uint32_t)(2 * n * n), 0, &e);
    for (int y = 0; y <= n; y++)
        for (int x = 0; x <= n; x++) {
            float *p = m->pos + 3 * (size_t)(y * (n + 1) + x);
            p[0] = (float)x / n - 0.5f;
            p[1] = (float)y / n - 0.5f;
            p[2] = bumpy ? 0.05f * sinf(9 * p[0]) * cosf(7 * p[1]) : 0.0f;
        }
    uint32_t *t = m->idx;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            uint32_t a = (uint32_t)(y * (n + 1) + x), b = a + 1, c = a + (uint32_t)n + 2, d = a + (uint32_t)n + 1;
            *t++ = a, *t++ = b, *t++ = c;
            *t++ = a, *t++ = c, *t++ = d;
        }
}

/* Vertices whose triangles do not form one fan (a disc, or a half-disc on
 * a border): each triangle at v gives the link edge (next, prev); the fan
 * is one piece when walking next -> prev from any triangle reaches them all. */
static uint32_t nonmanifold_vertices(const orf_mesh *m)
{
    uint32_t *start = calloc((size_t)m->nverts + 1, sizeof *start), *list = malloc((size_t)m->ntris * 3 * 4);
    for (uint32_t c = 0; c < 3 * m->ntris; c++)
        start[m->idx[c] + 1]++;
    for (uint32_t v = 0; v < m->nverts; v++)
        start[v + 1] += start[v];
    uint32_t *at = malloc((size_t)m->nverts * 4), bad = 0;
    memcpy(at, start, (size_t)m->nverts * 4);
    for (uint32_t c = 0; c < 3 * m->ntris; c++)
        list[at[m->idx[c]]++] = c;
    for (uint32_t v = 0; v < m->nverts; v++) {
        uint32_t n = start[v + 1] - start[v];
        if (n == 0)
            continue;
        /* walk from the first triangle forward (the next triangle's "next"
         * is this one's "prev") and, unless that closes the fan, backward;
         * count how many are reached */
        const uint32_t *l = list + start[v];
        uint32_t seen = 1;
        int closed = 0;
        for (int dir = 0; dir < 2 && !closed; dir++) {
            uint32_t c = l[0];
            for (uint32_t step = 0; step < n; step++) {
                uint32_t t = c / 3, k = c % 3, found = UINT32_MAX;
                uint32_t want = m->idx[3 * t + (dir ? (k + 1) % 3 : (k + 2) % 3)];
                for (uint32_t i = 0; i < n; i++) {
                    uint32_t d = l[i], u = d / 3, j = d % 3;
                    if (m->idx[3 * u + (dir ? (j + 2) % 3 : (j + 1) % 3)] == want)
                        found = d;
                }
                if (found == l[0])
                    closed = 1;
                if (found == UINT32_MAX || found == l[0])
                    break;
                c = found;
                seen++;
            }
        }
        if (seen != n)
            bad++;
    }
    free(start);
    free(list);
    free(at);
    return bad;
}

int main(void)
{
    orf_mesh fine, m;
    orf_err e;
    decimate_opts o;
    decimate_report r;
    edge_counts c;
    icosphere(&fine, 5, 1.0f);
    icosphere(&m, 5, 1.0f);

    /* Count target. */
    decimate_defaults(&o);
    CHECK(o.max_triangles == 50000 && o.max_error <= 0, "safe defaults");
    o.max_triangles = 2000;
    CHECK(mesh_decimate(&m, &o, &r, &e) == 0, "decimation to 2000 triangles runs");
    CHECK(m.ntris <= 2000 && m.ntris > 1000 && r.target_met,
          "target met: %u -> %u triangles", fine.ntris, m.ntris);
    CHECK(r.triangles_before == fine.ntris && r.triangles_after == m.ntris &&
              r.vertices_after == m.nverts,
          "report counts match the meshes");
    edge_check(&m, &c);
    CHECK(c.watertight && c.volume > 0, "stays watertight and outward (%u boundary, %u misoriented)",
          c.boundary, c.misoriented);
    CHECK(m.nverts == (uint32_t)(m.ntris / 2 + 2), "closed genus-0: V = T/2 + 2 (%u, %u), no unused vertices",
          m.nverts, m.ntris);
    double to_surf, to_sph;
    deviation(&fine, &m, &to_surf, &to_sph);
    CHECK(r.error > 0 && to_surf <= 2.0 * r.error + 1e-6,
          "reported error %.5f is the right size: original vertices within %.5f", (double)r.error,
          to_surf);
    mesh_free(&m);

    /* Error bound: stop where the deviation would exceed 0.002 (0.2% of the radius). */
    icosphere(&m, 5, 1.0f);
    o.max_triangles = 100;
    o.max_error = 0.002f;
    CHECK(mesh_decimate(&m, &o, &r, &e) == 0, "decimation with an error bound runs");
    CHECK(!r.target_met && m.ntris > 100 && m.ntris < fine.ntris,
          "the bound stops it short of an impossible target: %u triangles", m.ntris);
    deviation(&fine, &m, &to_surf, &to_sph);
    CHECK(r.error <= o.max_error, "reported error %.5f within the bound %.4f", (double)r.error,
          (double)o.max_error);
    /* The bound is meshoptimizer's quadric estimate (distance of the kept
     * vertices to the original planes); the removed vertices sit farther
     * from the new faces on a curved surface: measured 1.7-1.9x. */
    CHECK(to_surf <= 2.0 * o.max_error && to_sph <= 2.0 * o.max_error,
          "measured deviation within twice the bound: vertices to surface %.5f, surface to sphere "
          "%.5f (bound %.4f)",
          to_surf, to_sph, (double)o.max_error);
    edge_check(&m, &c);
    CHECK(c.watertight, "stays watertight");
    mesh_free(&m);

    /* Attributes follow their vertices: a colour that encodes the position. */
    icosphere(&m, 4, 1.0f);
    m.col = malloc((size_t)m.nverts * 4);
    m.uv = malloc((size_t)m.nverts * 2 * sizeof(float));
    for (uint32_t i = 0; i < m.nverts; i++) {
        for (int k = 0; k < 3; k++)
            m.col[4 * i + k] = (uint8_t)lrintf((m.pos[3 * i + k] + 1.0f) * 127.5f);
        m.col[4 * i + 3] = 255;
        m.uv[2 * i] = m.pos[3 * i] * 0.5f + 0.5f;
        m.uv[2 * i + 1] = 0.5f - m.pos[3 * i + 1] * 0.5f;
    }
    o.max_triangles = 500;
    o.max_error = 0;
    CHECK(mesh_decimate(&m, &o, &r, &e) == 0 && m.ntris <= 500, "attributed mesh decimated");
    int follow = 1;
    for (uint32_t i = 0; i < m.nverts; i++) {
        for (int k = 0; k < 3; k++)
            if (abs((int)m.col[4 * i + k] - (int)lrintf((m.pos[3 * i + k] + 1.0f) * 127.5f)) > 0)
                follow = 0;
        if (fabsf(m.uv[2 * i] - (m.pos[3 * i] * 0.5f + 0.5f)) > 1e-6f)
            follow = 0;
    }
    CHECK(follow, "colours and UVs follow their vertices through simplification and reordering");

    /* Normals: unit length, outward on the sphere. */
    CHECK(mesh_compute_normals(&m, &e) == 0 && m.nrm, "normals computed");
    double worst_len = 0, worst_dot = 1;
    for (uint32_t i = 0; i < m.nverts; i++) {
        const float *n = m.nrm + 3 * i, *p = m.pos + 3 * i;
        double l = sqrt((double)n[0] * n[0] + (double)n[1] * n[1] + (double)n[2] * n[2]);
        double pl = sqrt((double)p[0] * p[0] + (double)p[1] * p[1] + (double)p[2] * p[2]);
        double d = (n[0] * p[0] + n[1] * p[1] + n[2] * p[2]) / (l * pl);
        worst_len = fmax(worst_len, fabs(l - 1.0));
        worst_dot = fmin(worst_dot, d);
    }
    CHECK(worst_len < 1e-5, "normals are unit length (worst |len-1| %.2g)", worst_len);
    CHECK(worst_dot > 0.98, "normals point outward along the radius (worst cosine %.4f)", worst_dot);
    mesh_free(&m);

    /* Rounds of independent collapses: the same bytes (triangles,
     * positions, report) with 1, 2 and 16 threads, on a bumpy sphere big
     * enough for every step to run on threads; still closed, edge- and
     * vertex-manifold (an independent check), the target met, the bound kept
     * against the undecimated surface. */
    {
        orf_mesh big[3];
        decimate_report rb[3];
        int threads[3] = {1, 2, 16}, ran = 1;
        for (int k = 0; k < 3; k++) {
            bumpy_sphere(&big[k], 7);
            omp_set_num_threads(threads[k]);
            o.max_triangles = 20000;
            ran = ran && mesh_decimate(&big[k], &o, &rb[k], &e) == 0;
        }
        omp_set_num_threads(2);
        CHECK(ran && rb[0].triangles_before > 300000 && big[0].ntris <= 20000 && big[0].ntris >= 19999 &&
                  rb[0].target_met && rb[0].rounds > 1,
              "big mesh: %u -> %u triangles in %u rounds", rb[0].triangles_before, big[0].ntris, rb[0].rounds);
        for (int k = 1; k < 3; k++)
            CHECK(big[0].ntris == big[k].ntris && big[0].nverts == big[k].nverts &&
                      memcmp(big[0].idx, big[k].idx, (size_t)big[0].ntris * 3 * sizeof(uint32_t)) == 0 &&
                      memcmp(big[0].pos, big[k].pos, (size_t)big[0].nverts * 3 * sizeof(float)) == 0 &&
                      rb[0].error == rb[k].error && rb[0].rounds == rb[k].rounds &&
                      rb[0].edges_priced == rb[k].edges_priced && rb[0].edges_tested == rb[k].edges_tested,
                  "big mesh: the same bytes and report with 1 and %d threads", threads[k]);
        edge_check(&big[0], &c);
        CHECK(c.watertight && c.nonmanifold == 0 && c.volume > 0 && big[0].nverts == big[0].ntris / 2 + 2,
              "big mesh stays closed genus-0 (%u boundary, %u non-manifold, %u misoriented edges)", c.boundary,
              c.nonmanifold, c.misoriented);
        CHECK(nonmanifold_vertices(&big[0]) == 0, "big mesh: every vertex's triangles form one fan");
        orf_mesh ref;
        bumpy_sphere(&ref, 7);
        double far = 0;
        for (uint32_t i = 0; i < ref.nverts; i += 7) {
            double pt[3] = {ref.pos[3 * i], ref.pos[3 * i + 1], ref.pos[3 * i + 2]}, best = 1e30;
            for (uint32_t t = 0; t < big[0].ntris; t++) {
                const uint32_t *v = big[0].idx + 3 * t;
                double d = point_tri_dist(pt, big[0].pos + 3 * v[0], big[0].pos + 3 * v[1], big[0].pos + 3 * v[2]);
                best = d < best ? d : best;
            }
            far = best > far ? best : far;
        }
        CHECK(rb[0].error > 0 && far <= 2.0 * rb[0].error,
              "big mesh within twice the reported error of the undecimated surface (%.6f, error %.6f)", far,
              (double)rb[0].error);
        mesh_free(&ref);
        for (int k = 0; k < 3; k++)
            mesh_free(&big[k]);
    }

    /* An open sheet: its border never moves (every border vertex is
     * locked, no border edge collapses), its inside decimates. */
    {
        orf_mesh sh, before;
        flat_grid(&sh, 120, 1);
        flat_grid(&before, 120, 1);
        o.max_triangles = 3000;
        CHECK(mesh_decimate(&sh, &o, &r, &e) == 0 && sh.ntris <= 3000, "bumpy sheet: %u -> %u triangles",
              before.ntris, sh.ntris);
        edge_counts c0;
        edge_check(&before, &c0);
        edge_check(&sh, &c);
        CHECK(c.boundary == c0.boundary && c.nonmanifold == 0 && c.misoriented == 0 && nonmanifold_vertices(&sh) == 0,
              "bumpy sheet: the same %u border edges, manifold (%u border edges after)", c0.boundary, c.boundary);
        mesh_free(&sh);
        mesh_free(&before);
    }

    /* Flat tessellations in near-linear work: every cost is 0, ties go to
     * the hash; the work per input triangle does not grow with the grid
     * (a 50k and a 200k-triangle grid, each to a tenth). */
    {
        orf_mesh g;
        decimate_report rg[2];
        int sides[2] = {158, 316}, ran = 1;
        for (int k = 0; k < 2; k++) {
            flat_grid(&g, sides[k], 0);
            o.max_triangles = g.ntris / 10;
            ran = ran && mesh_decimate(&g, &o, &rg[k], &e) == 0 && g.ntris <= o.max_triangles;
            edge_check(&g, &c);
            ran = ran && c.nonmanifold == 0 && c.misoriented == 0;
            mesh_free(&g);
        }
        double w0 = (double)rg[0].edges_priced / rg[0].triangles_before;
        double w1 = (double)rg[1].edges_priced / rg[1].triangles_before;
        double t1 = (double)rg[1].edges_tested / ((rg[1].triangles_before - rg[1].triangles_after) / 2.0);
        CHECK(ran && rg[1].triangles_before > 199000, "flat grids decimated to a tenth, manifold (%u, %u triangles)",
              rg[0].triangles_before, rg[1].triangles_before);
        CHECK(w1 < 12 && w1 < 1.25 * w0 && t1 < 4 && rg[1].rounds < 2 * rg[0].rounds && rg[1].rounds < 60,
              "flat grid of %u triangles: %.2f prices a triangle (%.2f at %u), %.2f tests a collapse, %u rounds "
              "(%u)",
              rg[1].triangles_before, w1, w0, rg[0].triangles_before, t1, rg[1].rounds, rg[0].rounds);
    }

    /* Cache order: a shuffled sphere comes back in an order that reuses
     * its vertices (average cache misses per triangle, ACMR, for a 16-entry
     * FIFO: a triangle strip's is about 1, a perfect order's about 0.5, a
     * shuffle's near 3), and vertex-fetch order: each vertex first used
     * after the one before it. */
    icosphere(&m, 5, 1.0f);
    uint32_t seed = 12345;
    for (uint32_t t = m.ntris - 1; t > 0; t--) {
        seed = seed * 1103515245u + 12345u;
        uint32_t u = (seed >> 8) % (t + 1);
        for (int k = 0; k < 3; k++) {
            uint32_t x = m.idx[3 * t + k];
            m.idx[3 * t + k] = m.idx[3 * u + k];
            m.idx[3 * u + k] = x;
        }
    }
    float before = meshopt_analyzeVertexCache(m.idx, 3 * (size_t)m.ntris, m.nverts, DECIMATE_CACHE_SIZE, 0, 0).acmr;
    CHECK(mesh_optimize_order(&m, &e) == 0, "reordering runs");
    float after = meshopt_analyzeVertexCache(m.idx, 3 * (size_t)m.ntris, m.nverts, DECIMATE_CACHE_SIZE, 0, 0).acmr;
    uint32_t next = 0;
    int fetch = 1;
    for (size_t i = 0; i < 3 * (size_t)m.ntris && fetch; i++) {
        if (m.idx[i] > next)
            fetch = 0;
        else if (m.idx[i] == next)
            next++;
    }
    CHECK(before > 2.0f && after < 0.8f, "vertex-cache order: ACMR %.3f shuffled, %.3f after", (double)before,
          (double)after);
    CHECK(fetch && next == m.nverts, "vertex-fetch order: vertices numbered by first use");
    mesh_free(&m);

    /* Errors and a mesh already under budget. */
    icosphere(&m, 2, 1.0f);
    uint32_t nt = m.ntris;
    o.max_triangles = 100000;
    CHECK(mesh_decimate(&m, &o, &r, &e) == 0 && m.ntris == nt && r.target_met,
          "a mesh under budget keeps all %u triangles", nt);
    o.max_triangles = 0;
    o.max_error = 0;
    CHECK(mesh_decimate(&m, &o, &r, &e) == -1 && strcmp(e.code, "bad_request") == 0,
          "no target at all is refused (%s)", e.code);
    o.max_triangles = 10;
    m.idx[5] = m.nverts + 3;
    CHECK(mesh_decimate(&m, &o, &r, &e) == -1 && strcmp(e.code, "bad_mesh") == 0 && m.ntris == nt,
          "an index out of range is refused and the mesh kept (%s: %s)", e.code, e.message);
    mesh_free(&m);
    mesh_free(&fine);
    return check_done();
}
