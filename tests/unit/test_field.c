/* test_field.c - inflation solver, modes, and the field blob: round trips of
 * every kind of field, and field_deserialise refusing each way a blob can
 * be damaged (the fuzz target's findings among them). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "field.h"
#include "field_internal.h"
#include "hd/mg_cell.h"
#include "gen_shapes.h"
#include "volume.h"

/* Every value of v at grid n is a finite number. */
static int samples_finite(const orf_field *f, int n)
{
    orf_volume v;
    orf_err e;
    if (volume_sample(f, n, &v, &e) != 0)
        return 0;
    size_t cnt = (size_t)v.nx * (size_t)v.ny * (size_t)v.nz;
    int ok = 1;
    for (size_t i = 0; i < cnt && ok; i++)
        ok = isfinite(v.f[i]);
    volume_free(&v);
    return ok;
}

/* Every field field_compute makes (shapes, modes, backs, grids, aspects)
 * reads back bit for bit and samples to finite values. */
static void round_trips(void)
{
    double disc[3] = {60, 40, 30}, ring[4] = {60, 40, 35, 15}, two[6] = {30, 40, 20, 90, 40, 12};
    double ell[4] = {10, 10, 60, 6};
    struct {
        shape_fn fn;
        const double *prm;
        int w, h;
    } shapes[] = {{sh_disc, disc, 120, 80}, {sh_ring, ring, 120, 80}, {sh_two, two, 120, 80},
                  {sh_L, ell, 120, 80}, {sh_disc, disc, 120, 900}, {sh_L, ell, 2000, 80}};
    int sides[] = {8, 37, 320};
    int tried = 0, failed = 0;
    char first[400] = "";
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        orf_image img;
        orf_mask m;
        orf_err e;
        draw_shape(&img, shapes[s].w, shapes[s].h, shapes[s].fn, shapes[s].prm, 1);
        if (mask_compute(&img, MASK_AUTO, "shape", &m, &e) != 0) {
            image_free(&img);
            failed++;
            continue;
        }
        for (int mode = 0; mode < 3; mode++)
            for (int back = 0; back < 2; back++)
                for (size_t k = 0; k < sizeof sides / sizeof sides[0]; k++) {
                    field_params p;
                    field_params_default(&p);
                    p.mode = (field_mode)mode;
                    p.back = (field_back)back;
                    p.max_side = sides[k];
                    p.depth = k == 1 ? 0.001f : 1.0f;
                    orf_field f, r;
                    if (field_compute(&m, &img, &p, &f, &e) != 0)
                        continue; /* no foreground at 8 cells: nothing to write */
                    tried++;
                    uint8_t *blob;
                    size_t len;
                    size_t n = (size_t)f.w * (size_t)f.h;
                    int ok = field_serialise(&f, &blob, &len, &e) == 0;
                    if (ok && field_deserialise(blob, len, "shape", &r, &e) != 0) {
                        ok = 0;
                        if (!first[0])
                            snprintf(first, sizeof first, "shape %zu mode %d back %d side %d: %.200s",
                                     s, mode, back, sides[k], e.message);
                    } else if (ok) {
                        ok = r.w == f.w && r.h == f.h && r.sx == f.sx && r.sy == f.sy &&
                             memcmp(r.sd, f.sd, n * 4) == 0 && memcmp(r.top, f.top, n * 4) == 0 &&
                             memcmp(r.bot, f.bot, n * 4) == 0 && samples_finite(&r, 8);
                        field_free(&r);
                    }
                    if (ok)
                        free(blob);
                    failed += !ok;
                    field_free(&f);
                }
        mask_free(&m);
        image_free(&img);
    }
    CHECK(tried >= 80 && failed == 0, "%d fields of every mode, back, grid and aspect read back "
          "and sample finitely (%d failed%s%s)", tried, failed, first[0] ? ": " : "", first);
}

/* The float at byte offset off of a copy of blob set to v: refused as
 * bad_field with a message holding `needle`. */
static int refused(const uint8_t *blob, size_t len, size_t off, float v, const char *needle,
                   orf_err *e)
{
    uint8_t *b = malloc(len);
    memcpy(b, blob, len);
    memcpy(b + off, &v, 4); /* little-endian hosts, as the format */
    orf_field r;
    int rc = field_deserialise(b, len, "blob", &r, e);
    if (rc == 0)
        field_free(&r);
    free(b);
    return rc != 0 && strcmp(e->code, "bad_field") == 0 && strstr(e->message, needle);
}

/* Offsets into a blob of a w x h field: header, then sd, top, bot. */
#define SD_AT(f, i) (48 + 4 * (size_t)(i))
#define TOP_AT(f, i) (48 + 4 * ((size_t)(f).w * (f).h + (size_t)(i)))
#define BOT_AT(f, i) (48 + 4 * (2 * (size_t)(f).w * (f).h + (size_t)(i)))

/* field_deserialise refuses every way of damaging the blob of f (an
 * inflated, mirrored field) that makes it a field field_compute cannot make. */
static void damaged_blobs(const orf_field *f)
{
    orf_err e;
    uint8_t *blob;
    size_t len;
    field_serialise(f, &blob, &len, &e);
    size_t n = (size_t)f->w * f->h, in = n, out = n;
    for (size_t i = 0; i < n; i++) {
        if (f->sd[i] > 0 && f->top[i] > 0 && in == n)
            in = i;
        if (f->sd[i] < 0 && out == n)
            out = i;
    }
    CHECK(in < n && out < n, "the disc's field has cells inside and outside");
    CHECK(refused(blob, len, SD_AT(*f, in), NAN, "not a finite number", &e) &&
              refused(blob, len, TOP_AT(*f, in), INFINITY, "top at cell", &e) &&
              refused(blob, len, BOT_AT(*f, in), -1e4f, "within 1000", &e),
          "NaN, infinity and values past 1e3 are refused (%s)", e.message);
    CHECK(refused(blob, len, SD_AT(*f, in), 0.0f, "sd at cell", &e) &&
              refused(blob, len, SD_AT(*f, in), 1.65e-43f, "sd at cell", &e) &&
              refused(blob, len, SD_AT(*f, out), -50.0f, "sd at cell", &e),
          "an sd of 0, a denormal one, or one farther from the rim than the grid is wide is "
          "refused (%s)", e.message);
    CHECK(refused(blob, len, TOP_AT(*f, in), 2.08e-41f, "neither 0 nor at least", &e),
          "an inflated top too small to sample (the fuzz crash: volume_sample made NaN of "
          "it) is refused (%s)", e.message);
    CHECK(refused(blob, len, TOP_AT(*f, out), 0.01f, "outside the mask", &e),
          "an inflated top outside the mask is refused (%s)", e.message);
    CHECK(refused(blob, len, BOT_AT(*f, in), -0.5f * f->top[in], "not", &e) &&
              refused(blob, len, BOT_AT(*f, in), 2.0f * f->top[in], "bot", &e),
          "a mirrored back that is not -top is refused (%s)", e.message);
    CHECK(refused(blob, len, 36, nextafterf(f->sx, 1.0f), "cells of", &e) &&
              refused(blob, len, 40, 0.5f, "cells of", &e),
          "cell sizes that do not follow from the grid and the image are refused (%s)",
          e.message);
    uint8_t *b = malloc(len);
    memcpy(b, blob, len);
    b[24] = 100, b[25] = 0; /* image height 200 -> 100: 107 rows, not 213 */
    orf_field r;
    CHECK(field_deserialise(b, len, "blob", &r, &e) != 0 && strstr(e.message, "does not fit"),
          "a grid that does not fit the image is refused (%s)", e.message);
    memcpy(b, blob, len);
    b[28] = 7; /* mode */
    CHECK(field_deserialise(b, len, "blob", &r, &e) != 0 && strstr(e.message, "mode 7"),
          "an unknown mode is refused (%s)", e.message);
    /* no cell inside: the blob reached mesh-refine as no_foreground before */
    memcpy(b, blob, len);
    for (size_t i = 0; i < n; i++) {
        float v = -fabsf(f->sd[i]), z = 0;
        memcpy(b + SD_AT(*f, i), &v, 4);
        memcpy(b + TOP_AT(*f, i), &z, 4);
        memcpy(b + BOT_AT(*f, i), &z, 4);
    }
    CHECK(field_deserialise(b, len, "blob", &r, &e) != 0 && strcmp(e.code, "bad_field") == 0 &&
              strstr(e.message, "no cell is inside"),
          "a field with no cell inside the mask is bad_field, not no_foreground (%s)",
          e.message);
    /* flat inside: every top 0 is a field field_compute can make (a sliver the
     * solver left flat); it reads and samples to numbers */
    memcpy(b, blob, len);
    for (size_t i = 0; i < n; i++) {
        float z = 0;
        memcpy(b + TOP_AT(*f, i), &z, 4);
        memcpy(b + BOT_AT(*f, i), &z, 4);
    }
    int ok = field_deserialise(b, len, "blob", &r, &e) == 0;
    CHECK(ok && samples_finite(&r, 8) && samples_finite(&r, 64),
          "a field whose tops are all 0 reads and samples to finite values");
    if (ok)
        field_free(&r);
    free(b);
    free(blob);
}

/* A slab's bot above its top, and a flat inflated back that is not 0. */
static void damaged_modes(const orf_mask *m, const orf_image *img)
{
    orf_err e;
    field_params p;
    field_params_default(&p);
    p.max_side = 40;
    orf_field f;
    uint8_t *blob;
    size_t len;
    p.mode = FIELD_EXTRUDE;
    field_compute(m, img, &p, &f, &e);
    field_serialise(&f, &blob, &len, &e);
    size_t c = (size_t)f.w * (size_t)(f.h / 2) + (size_t)f.w / 2;
    CHECK(refused(blob, len, BOT_AT(f, c), f.top[c] + 0.01f, "above top", &e),
          "an extruded cell whose bot is above its top is refused (%s)", e.message);
    free(blob);
    field_free(&f);
    p.mode = FIELD_INFLATE;
    p.back = FIELD_BACK_FLAT;
    field_compute(m, img, &p, &f, &e);
    field_serialise(&f, &blob, &len, &e);
    CHECK(refused(blob, len, BOT_AT(f, c), -0.01f, "back flat", &e),
          "a flat inflated back that is not 0 is refused (%s)", e.message);
    free(blob);
    field_free(&f);
}

/* ---- the device's solve, on the CPU --------------------------------------
 * kernels/cuda_field.cu's steps over host copies of the levels: every cell
 * of a colour updated in a scrambled order (as a kernel's threads may run),
 * the residual then its row sums, restriction, prolongation and the coarse
 * right-hand side over every cell; mg_solve's control flow. */
typedef struct emu_mg {
    mg_level *lv;
    double *rows;
    uint64_t seed;
} emu_mg;

static uint64_t emu_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void emu_smooth(void *ctx, int l, int sweeps)
{
    emu_mg *g = ctx;
    mg_level *L = &g->lv[l];
    uint64_t n = (uint64_t)L->w * L->h;
    /* each colour's cells from a random one on, wrapping round: not the
     * CPU's order */
    for (int k = 0; k < sweeps; k++)
        for (int colour = 0; colour < 2; colour++) {
            uint64_t t = emu_next(&g->seed) % n;
            for (uint64_t c = 0; c < n; c++, t = (t + 1) % n) {
                int x = (int)(t % L->w), y = (int)(t / L->w);
                size_t i = mg_at(L->s, x, y);
                if (L->in[i] && mg_colour(x, y, colour))
                    mg_cell_smooth(L->u, L->b, L->idiag, L->s, L->off, i);
            }
        }
}

static double emu_residual(void *ctx, int l, int sum)
{
    emu_mg *g = ctx;
    mg_level *L = &g->lv[l];
    for (int t = L->w * L->h; t-- > 0;) {
        size_t i = mg_at(L->s, t % L->w, t / L->w);
        if (L->in[i])
            L->r[i] = mg_cell_residual(L->u, L->b, L->diag, L->s, L->off, i);
    }
    if (!sum)
        return 0;
    for (int y = 0; y < L->h; y++) { /* k_mg_rowsum */
        double acc = 0;
        for (int x = 0; x < L->w; x++) {
            size_t i = mg_at(L->s, x, y);
            if (L->in[i]) {
                double r = L->r[i];
                acc += r * r;
            }
        }
        g->rows[y] = acc;
    }
    double s = 0;
    for (int y = 0; y < L->h; y++)
        s += g->rows[y];
    return s;
}

static void emu_restrict(void *ctx, int l)
{
    emu_mg *g = ctx;
    mg_level *F = &g->lv[l - 1], *C = &g->lv[l];
    for (int t = C->w * C->h; t-- > 0;) {
        int x = t % C->w, y = t / C->w;
        size_t i = mg_at(C->s, x, y);
        C->u[i] = 0;
        C->b[i] = C->in[i] ? mg_cell_restrict(F->r, F->s, x, y) : 0.0;
    }
}

static void emu_prolong(void *ctx, int l, int add)
{
    emu_mg *g = ctx;
    mg_level *L = &g->lv[l], *C = &g->lv[l + 1];
    for (int t = L->w * L->h; t-- > 0;) {
        int x = t % L->w, y = t / L->w;
        size_t i = mg_at(L->s, x, y);
        if (L->in[i]) {
            double e = mg_cell_prolong(C->u, C->s, x, y);
            L->u[i] = add ? L->u[i] + e : e;
        }
    }
}

static void emu_rhs(void *ctx, int l)
{
    mg_level *C = &((emu_mg *)ctx)->lv[l];
    for (int t = C->w * C->h; t-- > 0;) {
        size_t i = mg_at(C->s, t % C->w, t / C->w);
        C->b[i] = C->in[i] ? 4.0 : 0.0;
    }
}

/* 1 when the device's steps give field_inflate_solve's heights bit for bit,
 * and its cycles and residual */
static int device_solve_same(const float *cov, int w, int h, int *cycles_out)
{
    float *ref = malloc((size_t)w * h * sizeof *ref), *got = malloc((size_t)w * h * sizeof *got);
    int c0 = -1, c1 = -2;
    double r0 = -1, r1 = -2;
    mg_level lv[MG_MAX_LEVELS];
    int nlev = 0;
    int ok = field_inflate_solve(cov, w, h, 2e-3, ref, &c0, &r0, NULL) == 0 && mg_build(cov, w, h, lv, &nlev) == 0;
    if (ok) {
        emu_mg g = {lv, malloc((size_t)h * sizeof(double)), 12345};
        mg_ops o = {&g, emu_smooth, emu_residual, emu_restrict, emu_prolong, emu_rhs};
        mg_solve(&o, nlev, mg_bnorm(&lv[0]), 2e-3, &c1, &r1);
        mg_output(&lv[0], got);
        free(g.rows);
        mg_free(lv, nlev);
        ok = c0 == c1 && r0 == r1 && memcmp(ref, got, (size_t)w * h * sizeof *ref) == 0;
    }
    *cycles_out = c0;
    free(ref);
    free(got);
    return ok;
}

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
    damaged_blobs(&f);
    damaged_modes(&m, &img);
    round_trips();

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
    {
        /* a disc with a hole and a thin arm, soft-edged, at odd and even sizes */
        int all = 1, cyc = 0;
        for (int k = 0; k < 3; k++) {
            int w = k == 0 ? 97 : k == 1 ? 160 : 33, h = k == 0 ? 64 : k == 1 ? 161 : 40;
            float *cov = malloc((size_t)w * h * sizeof *cov);
            for (int yy = 0; yy < h; yy++)
                for (int xx = 0; xx < w; xx++) {
                    double dx = (xx + 0.5) / w - 0.5, dy = (yy + 0.5) / h - 0.5, rr = sqrt(dx * dx + dy * dy);
                    double c = 0.5 + (0.4 - rr) * 0.6 * (w < h ? w : h); /* soft rim at r = 0.4 */
                    if (rr < 0.1)
                        c = 0.5 + (rr - 0.1) * 0.6 * w; /* a hole */
                    if (fabs(dy) < 0.02 && dx > 0)
                        c = 1; /* an arm to the edge */
                    cov[(size_t)yy * w + xx] = (float)(c < 0 ? 0 : c > 1 ? 1 : c);
                }
            if (!device_solve_same(cov, w, h, &cyc)) {
                all = 0;
                printf("# the device's multigrid steps differ at %d x %d\n", w, h);
            }
            free(cov);
        }
        CHECK(all && cyc > 0,
              "the inflate solve in the device's steps (every cell of a colour at once, row sums) gives the CPU's "
              "heights bit for bit at 97x64, 160x161, 33x40 (%d cycles)",
              cyc);
    }
    return check_done();
}
