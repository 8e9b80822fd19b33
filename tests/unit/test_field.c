/* test_field.c - inflation solver, modes, and the field blob. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "field.h"
#include "gen_shapes.h"
#include "volume.h"

int main(void)
{
    orf_err e;
    orf_image img;
    orf_mask m;
    double disc[3] = {150, 100, 80};
    draw_shape(&img, 300, 200, sh_disc, disc, 1);
    mask_compute(&img, MASK_AUTO, "disc", &m, &e);
    field_params p;
    field_params_default(&p);
    orf_field f;
    CHECK(field_compute(&m, &img, &p, &f, &e) == 0 && f.w == 320 && f.h == 213,
          "working grid keeps the aspect: %d x %d", f.w, f.h);
    CHECK(f.residual <= p.tolerance && f.cycles > 0 && f.cycles <= 30,
          "multigrid reaches %.1g in %d V-cycles", f.residual, f.cycles);
    /* the centre height: a sphere of radius 80/300 model units */
    float R = 80.0f / 300.0f, xc = 0, yc = 0;
    float top = 0;
    for (int i = 0; i < f.w * f.h; i++)
        if (f.top[i] > top)
            top = f.top[i];
    CHECK(fabsf(top - R) / R < 0.01f, "inflated height %.4f is the radius %.4f", top, R);
    CHECK(volume_eval(&f, xc, yc, 0) > 0 && volume_eval(&f, 0.49f, 0.3f, 0) < 0 &&
              volume_eval(&f, 0, 0, R * 1.05f) < 0 && volume_eval(&f, 0, 0, R * 0.95f) > 0,
          "volume function: positive inside, negative outside, surface at the radius");
    /* continuous across the rim: no jump between samples a hair apart */
    float a = volume_eval(&f, R - 1e-4f, 0, 0), b = volume_eval(&f, R + 1e-4f, 0, 0);
    CHECK(fabsf(a - b) < 1e-3f, "continuous across the rim (%.6f vs %.6f)", a, b);

    /* multigrid cost about linear: twice the cells per side, about 4x work; check
     * cycles stay flat (the number of V-cycles does not grow with size) */
    field_params q = p;
    q.max_side = 640;
    orf_field g;
    field_compute(&m, &img, &q, &g, &e);
    CHECK(g.cycles <= f.cycles + 3, "V-cycles barely grow with the grid (%d at 320, %d at 640)",
          f.cycles, g.cycles);
    field_free(&g);

    /* blob round trip and tampering */
    uint8_t *blob;
    size_t len;
    CHECK(field_serialise(&f, &blob, &len, &e) == 0 && len == 48 + 12 * (size_t)f.w * f.h,
          "serialised to %zu bytes", len);
    orf_field r;
    CHECK(field_deserialise(blob, len, "blob", &r, &e) == 0 && r.w == f.w && r.h == f.h &&
              r.img_w == 300 && r.sx == f.sx &&
              memcmp(r.top, f.top, sizeof(float) * (size_t)f.w * f.h) == 0,
          "round trip keeps dims, scale and values");
    field_free(&r);
    CHECK(field_deserialise(blob, len - 1, "blob", &r, &e) != 0 && strcmp(e.code, "bad_field") == 0,
          "a short blob is refused (%s)", e.message);
    blob[12] = 0xff, blob[13] = 0xff;
    CHECK(field_deserialise(blob, len, "blob", &r, &e) != 0 && strcmp(e.code, "bad_field") == 0,
          "a blob whose header claims other dims is refused (%s)", e.message);
    blob[12] = (uint8_t)f.w, blob[13] = (uint8_t)(f.w >> 8);
    blob[0] = 'X';
    CHECK(field_deserialise(blob, len, "blob", &r, &e) != 0, "bad magic is refused");
    free(blob);

    /* extrude and relief */
    p.mode = FIELD_EXTRUDE;
    p.thickness = 0.05f;
    orf_field x;
    field_compute(&m, &img, &p, &x, &e);
    CHECK(fabsf(volume_eval(&x, 0, 0, 0.024f)) < 0.01f && volume_eval(&x, 0, 0, 0.026f) < 0 &&
              volume_eval(&x, 0, 0, 0.02f) > 0,
          "extrude: a slab of thickness 0.05");
    field_free(&x);
    p.mode = FIELD_RELIEF;
    p.base = 0.02f;
    CHECK(field_compute(&m, &img, &p, &x, &e) == 0 && x.mode == FIELD_RELIEF,
          "relief field");
    field_free(&x);
    p.depth = -1;
    CHECK(field_compute(&m, &img, &p, &x, &e) != 0 && strcmp(e.code, "bad_request") == 0,
          "negative depth is bad_request");
    field_free(&f);
    mask_free(&m);
    image_free(&img);
    return check_done();
}
