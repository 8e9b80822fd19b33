/* test_gen.c - images the test draws, through mask, field, volume and mesh. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gen.h"
#include "gen_shapes.h"
#include "normals.h"
#include "topology.h"

/* foreground of a drawn shape: pixel centre inside */
static uint8_t *truth(int w, int h, shape_fn fn, const double *prm)
{
    uint8_t *fg = malloc((size_t)w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            fg[(size_t)y * w + x] = (uint8_t)fn(x + 0.5, y + 0.5, prm);
    return fg;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Angles in degrees between m's vertex normals and the outward direction
 * from (cx, cy, 0), the exact normal of a sphere centred there: the mean
 * over the vertices of the rim band (|z| < 0.15 R), the 99th percentile
 * over all. */
static void sphere_normal_error(orf_mesh *m, double cx, double cy, double R, double *rim_mean,
                                double *p99)
{
    orf_err e;
    double *ang = malloc(m->nverts * sizeof *ang), rim = 0;
    size_t nrim = 0;
    if (!ang || mesh_compute_normals(m, &e) != 0) {
        free(ang);
        *rim_mean = *p99 = 180;
        return;
    }
    for (uint32_t i = 0; i < m->nverts; i++) {
        const float *q = m->pos + 3 * i, *n = m->nrm + 3 * i;
        double r[3] = {q[0] - cx, q[1] - cy, q[2]};
        double rl = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
        double c = (r[0] * n[0] + r[1] * n[1] + r[2] * n[2]) / rl;
        ang[i] = acos(c > 1 ? 1 : c < -1 ? -1 : c) * 180 / M_PI;
        if (fabs(q[2]) < 0.15 * R) {
            rim += ang[i];
            nrim++;
        }
    }
    qsort(ang, m->nverts, sizeof *ang, cmp_double);
    *rim_mean = nrim ? rim / (double)nrim : 180;
    *p99 = ang[(size_t)(0.99 * (m->nverts - 1))];
    free(ang);
}

static void shape_case(const char *name, int w, int h, shape_fn fn, const double *prm, int alpha)
{
    orf_image img;
    draw_shape(&img, w, h, fn, prm, alpha);
    gen_params p;
    gen_params_default(&p);
    orf_field fld;
    gen_facts facts;
    memset(&facts, 0, sizeof facts);
    orf_err e;
    int rc = gen_field(&img, name, &p, &fld, &facts, &e);
    CHECK(rc == 0 && strcmp(facts.mode, "inflate") == 0, "%s: field made, mode %s (%s)", name,
          facts.mode, rc ? e.message : facts.why);
    if (rc) {
        image_free(&img);
        return;
    }
    for (int s = 0; s < 2; s++) {
        orf_mesh m;
        rc = gen_stage(&fld, (gen_stage_id)s, 0, &m, &facts, &e);
        mcheck c = rc == 0 ? mesh_check(&m) : (mcheck){0};
        mesh_stats st;
        int closed = -1;
        if (rc == 0) {
            mesh_topology(&m, &st, NULL);
            gen_mesh_closed(&m, &closed, NULL);
        }
        CHECK(rc == 0 && st.watertight && st.nonmanifold_vertices == 0 && closed == 1,
              "%s %s: mesh_topology agrees (watertight, no non-manifold vertex), and so does "
              "gen_mesh_closed", name, gen_stage_name((gen_stage_id)s));
        CHECK(rc == 0 && c.watertight && c.degenerate == 0 && c.volume > 0,
              "%s %s: watertight, edge-manifold, no degenerate triangle, volume %.5f > 0", name,
              gen_stage_name((gen_stage_id)s), c.volume);
        if (s == 1 && rc == 0) {
            uint8_t *fg = truth(w, h, fn, prm);
            double iou = silhouette_iou(&m, w, h, fg);
            CHECK(iou >= 0.95, "%s rough: silhouette IoU %.4f >= 0.95", name, iou);
            free(fg);
        }
        mesh_free(&m);
    }
    field_free(&fld);
    image_free(&img);
}

int main(void)
{
    /* disc -> sphere */
    {
        int W = 512;
        double prm[3] = {256, 256, 200};
        orf_image img;
        draw_shape(&img, W, W, sh_disc, prm, 1);
        gen_params p;
        gen_params_default(&p);
        orf_field fld;
        gen_facts f;
        orf_err e;
        CHECK(gen_field(&img, "disc", &p, &fld, &f, &e) == 0, "disc: field");
        CHECK(f.residual <= p.field.tolerance, "disc: solver reached residual %.2g in %d cycles",
              f.residual, f.cycles);
        orf_mesh m;
        CHECK(gen_stage(&fld, GEN_ROUGH, 96, &m, &f, &e) == 0, "disc: rough mesh at N=96");
        double R = 200.0 / 512.0, worst = 0, sum = 0;
        for (uint32_t i = 0; i < m.nverts; i++) {
            const float *q = m.pos + 3 * i;
            double r = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
            double d = fabs(r - R) / R;
            sum += d * d;
            if (d > worst)
                worst = d;
        }
        double rms = sqrt(sum / m.nverts);
        CHECK(worst <= 0.02, "disc inflates to a sphere: every vertex within 2%% of the radius "
                             "(worst %.2f%%, rms %.2f%%)", 100 * worst, 100 * rms);
        float lo[3], hi[3];
        mesh_bbox(&m, lo, hi);
        CHECK(fabs(hi[2] - R) / R < 0.02 && fabs(lo[2] + R) / R < 0.02 &&
                  fabs(hi[0] - R) / R < 0.02,
              "disc: z extent +-%.4f and x extent %.4f match the radius %.4f", hi[2], hi[0], R);
        mesh_free(&m);

        /* The rim, where front and back meet, is as smooth as the rest: the
         * vertex normals of a fine extraction follow the sphere's. With the
         * first volume function the rim band's mean error was 6.0 degrees
         * and the 99th percentile 17.4 (a wall at the rim whose height
         * followed the cells); now 1.0 and 2.8. */
        CHECK(gen_stage(&fld, GEN_ROUGH, 256, &m, &f, &e) == 0, "disc: mesh at N=256");
        double rim_mean, p99;
        sphere_normal_error(&m, 0, 0, R, &rim_mean, &p99);
        CHECK(rim_mean < 2.0 && p99 < 5.0,
              "disc at N=256: vertex normals within %.2f degrees of the sphere's on average "
              "along the rim (< 2), 99%% of them within %.2f (< 5)", rim_mean, p99);
        mesh_free(&m);

        /* back=flat: front half of the sphere on z=0 */
        p.field.back = FIELD_BACK_FLAT;
        field_free(&fld);
        gen_field(&img, "disc", &p, &fld, &f, &e);
        CHECK(gen_stage(&fld, GEN_ROUGH, 96, &m, &f, &e) == 0, "disc back=flat: mesh");
        mesh_bbox(&m, lo, hi);
        mcheck c = mesh_check(&m);
        CHECK(c.watertight && lo[2] > -0.02 && fabs(hi[2] - R) / R < 0.03,
              "disc back=flat: watertight half-dome, z in [%.3f, %.3f]", lo[2], hi[2]);
        mesh_free(&m);

        /* extrude: a slab of the asked thickness */
        p.mode = FIELD_EXTRUDE;
        p.field.back = FIELD_BACK_MIRROR;
        p.field.thickness = 0.2f;
        field_free(&fld);
        gen_field(&img, "disc", &p, &fld, &f, &e);
        gen_stage(&fld, GEN_ROUGH, 96, &m, &f, &e);
        mesh_bbox(&m, lo, hi);
        c = mesh_check(&m);
        double ideal = M_PI * R * R * 0.2;
        CHECK(c.watertight && fabs(hi[2] - lo[2] - 0.2) < 0.01 && fabs(c.volume - ideal) / ideal < 0.05,
              "extrude: watertight slab %.3f thick, volume %.5f vs %.5f", hi[2] - lo[2],
              c.volume, ideal);
        mesh_free(&m);
        field_free(&fld);
        image_free(&img);
    }

    {
        double disc[3] = {128, 128, 90};
        shape_case("disc (alpha)", 256, 256, sh_disc, disc, 1);
        shape_case("disc (on white)", 256, 256, sh_disc, disc, 0);
        double ring[4] = {200, 150, 130, 60};
        shape_case("ring (hole, alpha)", 400, 300, sh_ring, ring, 1);
        double two[6] = {90, 128, 60, 230, 128, 60};
        shape_case("two islands", 320, 256, sh_two, two, 1);
        double L[4] = {60, 40, 200, 24};
        shape_case("thin L", 300, 300, sh_L, L, 0);
    }

    /* the whole stage is byte-identical with 1 and 2 threads */
    {
        double two[6] = {90, 128, 60, 230, 128, 60};
        orf_image img;
        draw_shape(&img, 320, 256, sh_two, two, 1);
        gen_params p;
        gen_params_default(&p);
        orf_field f1, f2;
        orf_mesh a, b;
        omp_set_num_threads(1);
        gen_field(&img, "two", &p, &f1, NULL, NULL);
        gen_stage(&f1, GEN_ROUGH, 96, &a, NULL, NULL);
        omp_set_num_threads(2);
        gen_field(&img, "two", &p, &f2, NULL, NULL);
        gen_stage(&f2, GEN_ROUGH, 96, &b, NULL, NULL);
        CHECK(memcmp(f1.top, f2.top, sizeof(float) * (size_t)f1.w * f1.h) == 0 &&
                  a.nverts == b.nverts && a.ntris == b.ntris &&
                  memcmp(a.pos, b.pos, 12 * (size_t)a.nverts) == 0 &&
                  memcmp(a.idx, b.idx, 12 * (size_t)a.ntris) == 0,
              "field and rough mesh identical with 1 and 2 threads");
        mesh_free(&a);
        mesh_free(&b);
        field_free(&f1);
        field_free(&f2);
        image_free(&img);
    }

    /* gen_mesh_closed sees a flipped triangle and a missing one */
    {
        double disc[3] = {32, 32, 20};
        orf_image img;
        draw_shape(&img, 64, 64, sh_disc, disc, 1);
        gen_params p;
        gen_params_default(&p);
        orf_field fld;
        orf_mesh m;
        gen_field(&img, "d", &p, &fld, NULL, NULL);
        gen_stage(&fld, GEN_ROUGH, 24, &m, NULL, NULL);
        int closed = 0;
        gen_mesh_closed(&m, &closed, NULL);
        uint32_t t = m.idx[0];
        m.idx[0] = m.idx[1];
        m.idx[1] = t;
        int flipped = 1;
        gen_mesh_closed(&m, &flipped, NULL);
        m.idx[1] = m.idx[0];
        m.idx[0] = t;
        m.ntris--;
        int holed = 1;
        gen_mesh_closed(&m, &holed, NULL);
        CHECK(closed == 1 && flipped == 0 && holed == 0,
              "gen_mesh_closed: closed %d, with a flipped triangle %d, with a hole %d", closed,
              flipped, holed);
        m.ntris++;
        mesh_free(&m);
        field_free(&fld);
        image_free(&img);
    }

    /* ring: the hole is kept (genus 1: V - E + F = 0) */
    {
        double ring[4] = {200, 150, 130, 60};
        orf_image img;
        draw_shape(&img, 400, 300, sh_ring, ring, 1);
        gen_params p;
        gen_params_default(&p);
        orf_field fld;
        orf_mesh m;
        gen_field(&img, "ring", &p, &fld, NULL, NULL);
        gen_stage(&fld, GEN_ROUGH, 96, &m, NULL, NULL);
        long euler = (long)m.nverts - (long)m.ntris * 3 / 2 + (long)m.ntris;
        CHECK(m.ntris > 0 && euler == 0, "ring: the hole is kept (Euler characteristic %ld, a torus has 0)", euler);
        mesh_free(&m);
        field_free(&fld);
        image_free(&img);
    }

    /* photograph-like noise: relief, and says why */
    {
        orf_image img;
        image_alloc(&img, 200, 150, NULL);
        uint32_t s = 12345;
        for (size_t i = 0; i < 200 * 150; i++) {
            for (int c = 0; c < 3; c++) {
                s = s * 1664525u + 1013904223u;
                img.rgba[4 * i + c] = (uint8_t)(s >> 24);
            }
            img.rgba[4 * i + 3] = 255;
        }
        gen_params p;
        gen_params_default(&p);
        orf_field fld;
        gen_facts f;
        orf_err e;
        int rc = gen_field(&img, "noise", &p, &fld, &f, &e);
        CHECK(rc == 0 && strcmp(f.mode, "relief") == 0 && strstr(f.why, "border"),
              "noise image becomes a relief: %s (%s)", f.mode, f.why);
        orf_mesh m;
        rc = gen_stage(&fld, GEN_ROUGH, 96, &m, &f, &e);
        mcheck c = rc == 0 ? mesh_check(&m) : (mcheck){0};
        float lo[3], hi[3];
        mesh_bbox(&m, lo, hi);
        CHECK(rc == 0 && c.watertight && c.volume > 0 && fabs(hi[0] - 0.5) < 0.01 &&
                  fabs(hi[1] - 0.375) < 0.01,
              "relief: closed solid over the whole picture (x to %.3f, y to %.3f)", hi[0], hi[1]);
        mesh_free(&m);
        field_free(&fld);
        image_free(&img);
    }

    /* no foreground: fully transparent and uniform */
    {
        orf_image img;
        image_alloc(&img, 64, 64, NULL); /* all zero: transparent black */
        img.had_alpha = 1;
        gen_params p;
        gen_params_default(&p);
        orf_field fld;
        orf_err e;
        CHECK(gen_field(&img, "clear.png", &p, &fld, NULL, &e) != 0 &&
                  strcmp(e.code, "no_foreground") == 0 && strstr(e.message, "clear.png"),
              "fully transparent: no_foreground (%s)", e.message);
        memset(img.rgba, 180, 64 * 64 * 4);
        CHECK(gen_field(&img, "grey.png", &p, &fld, NULL, &e) != 0 &&
                  strcmp(e.code, "no_foreground") == 0,
              "uniform grey: no_foreground (%s)", e.message);
        image_free(&img);
        /* 1x1 */
        image_alloc(&img, 1, 1, NULL);
        img.rgba[0] = 10, img.rgba[3] = 255;
        int rc = gen_field(&img, "dot.png", &p, &fld, NULL, &e);
        CHECK(rc != 0 ? strcmp(e.code, "no_foreground") == 0 : fld.w > 0,
              "1x1 image: an error or a field, no crash (%s)", rc ? e.code : "ok");
        if (rc == 0)
            field_free(&fld);
        image_free(&img);
    }
    return check_done();
}
