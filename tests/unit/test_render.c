/* test_render.c - the software rasteriser against shapes whose pictures are
 * known: a sphere is a disc, a box is a rectangle, the back view mirrors the
 * front, colours and textures show up where they were put.
 * Set RENDER_TEST_DUMP=DIR to write the pictures as PNGs for a look. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

#include "check.h"
#include "field.h"
#include "gen.h"
#include "mesh.h"
#include "render.h"

/* A UV sphere of radius r at c, CCW from outside, with normals when asked. */
static void make_sphere(orf_mesh *m, float r, const float c[3], int attrs)
{
    const int nu = 96, nv = 48;
    uint32_t nverts = (uint32_t)((nu + 1) * (nv + 1)), ntris = (uint32_t)(2 * nu * nv);
    orf_err e;
    if (mesh_alloc(m, nverts, ntris, attrs, &e) < 0) {
        fprintf(stderr, "%s\n", e.message);
        exit(2);
    }
    uint32_t k = 0;
    for (int j = 0; j <= nv; j++) {
        double th = M_PI * j / nv; /* from +y down */
        for (int i = 0; i <= nu; i++, k++) {
            double ph = 2.0 * M_PI * i / nu;
            float n[3] = {(float)(sin(th) * sin(ph)), (float)cos(th), (float)(sin(th) * cos(ph))};
            for (int a = 0; a < 3; a++)
                m->pos[3 * k + a] = c[a] + r * n[a];
            if (m->nrm)
                memcpy(m->nrm + 3 * k, n, sizeof n);
            if (m->uv) { /* projected from the front, as mesh-gen's textures */
                m->uv[2 * k] = m->pos[3 * k] + 0.5f;
                m->uv[2 * k + 1] = 0.5f - m->pos[3 * k + 1];
            }
            if (m->col) { /* red on the +x half, blue on the -x half */
                uint8_t *p = m->col + 4 * k;
                p[0] = n[0] > 0 ? 230 : 20, p[1] = 30, p[2] = n[0] > 0 ? 20 : 230, p[3] = 255;
            }
        }
    }
    k = 0;
    for (int j = 0; j < nv; j++)
        for (int i = 0; i < nu; i++) {
            uint32_t a = (uint32_t)(j * (nu + 1) + i), b = a + 1, d = a + (uint32_t)(nu + 1), f = d + 1;
            /* theta grows downward, phi grows toward +x from +z: (a, d, b) is CCW from outside */
            m->idx[3 * k] = a, m->idx[3 * k + 1] = d, m->idx[3 * k + 2] = b, k++;
            m->idx[3 * k] = b, m->idx[3 * k + 1] = d, m->idx[3 * k + 2] = f, k++;
        }
}

/* An axis-aligned box lo..hi, 24 vertices (flat faces), no normals: the renderer computes them. */
static void make_box(orf_mesh *m, const float lo[3], const float hi[3])
{
    orf_err e;
    if (mesh_alloc(m, 24, 12, 0, &e) < 0)
        exit(2);
    uint32_t v = 0, t = 0;
    for (int axis = 0; axis < 3; axis++)
        for (int side = 0; side < 2; side++) {
            int u = (axis + 1) % 3, w = (axis + 2) % 3;
            float corner[4][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
            for (int q = 0; q < 4; q++) {
                float *p = m->pos + 3 * (v + (uint32_t)q);
                p[axis] = side ? hi[axis] : lo[axis];
                p[u] = corner[q][0] ? hi[u] : lo[u];
                p[w] = corner[q][1] ? hi[w] : lo[w];
            }
            /* (u, w) right-handed with axis: CCW seen from +axis; reverse for the - side */
            uint32_t q0 = v, q1 = v + 1, q2 = v + 2, q3 = v + 3;
            if (side) {
                uint32_t tri[6] = {q0, q1, q2, q0, q2, q3};
                memcpy(m->idx + 3 * t, tri, sizeof tri);
            } else {
                uint32_t tri[6] = {q0, q2, q1, q0, q3, q2};
                memcpy(m->idx + 3 * t, tri, sizeof tri);
            }
            v += 4, t += 2;
        }
}

/* Concatenate b into a. */
static void mesh_append(orf_mesh *a, const orf_mesh *b)
{
    orf_mesh m;
    orf_err e;
    if (mesh_alloc(&m, a->nverts + b->nverts, a->ntris + b->ntris, 0, &e) < 0)
        exit(2);
    memcpy(m.pos, a->pos, sizeof(float) * 3 * a->nverts);
    memcpy(m.pos + 3 * a->nverts, b->pos, sizeof(float) * 3 * b->nverts);
    memcpy(m.idx, a->idx, sizeof(uint32_t) * 3 * a->ntris);
    for (uint32_t i = 0; i < 3 * b->ntris; i++)
        m.idx[3 * a->ntris + i] = b->idx[i] + a->nverts;
    mesh_free(a);
    *a = m;
}

static void dump(const char *name, const orf_image *img)
{
    const char *dir = getenv("RENDER_TEST_DUMP");
    if (!dir || !img->rgba)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    stbi_write_png(path, img->w, img->h, 4, img->rgba, img->w * 4);
}

static int render(const orf_mesh *m, const render_opts *o, orf_image *img, const char *name)
{
    orf_err e;
    if (render_mesh(m, o, img, &e) < 0) {
        printf("# render %s: %s: %s\n", name, e.code, e.message);
        return -1;
    }
    dump(name, img);
    return 0;
}

/* Fractional coverage of pixel (px, py) of a w x h unit-framed picture by a
 * shape given as an inside test in world x, y (8x8 samples a pixel). */
typedef int (*inside_fn)(float x, float y, const float *shape);
static float analytic_cover(int w, int h, int px, int py, inside_fn in, const float *shape)
{
    float s = (float)(w > h ? w : h);
    int hits = 0;
    for (int j = 0; j < 8; j++)
        for (int i = 0; i < 8; i++) {
            float sx = (float)px + ((float)i + 0.5f) / 8.0f, sy = (float)py + ((float)j + 0.5f) / 8.0f;
            float x = (sx - 0.5f * (float)w) / s, y = (0.5f * (float)h - sy) / s;
            hits += in(x, y, shape);
        }
    return (float)hits / 64.0f;
}

static int in_disc(float x, float y, const float *d)
{
    return (x - d[0]) * (x - d[0]) + (y - d[1]) * (y - d[1]) <= d[2] * d[2];
}
static int in_rect(float x, float y, const float *r) { return x >= r[0] && x <= r[2] && y >= r[1] && y <= r[3]; }

/* IoU of the alpha channel against the analytic shape, both fractional. */
static double alpha_iou(const orf_image *img, inside_fn in, const float *shape)
{
    double inter = 0, uni = 0;
    for (int y = 0; y < img->h; y++)
        for (int x = 0; x < img->w; x++) {
            double a = img->rgba[4 * ((size_t)y * img->w + x) + 3] / 255.0;
            double b = analytic_cover(img->w, img->h, x, y, in, shape);
            inter += a < b ? a : b;
            uni += a > b ? a : b;
        }
    return uni > 0 ? inter / uni : 0;
}

/* Alpha-weighted centroid and covered share. */
static void alpha_stats(const orf_image *img, double *cx, double *cy, double *share)
{
    double sum = 0, sx = 0, sy = 0;
    for (int y = 0; y < img->h; y++)
        for (int x = 0; x < img->w; x++) {
            double a = img->rgba[4 * ((size_t)y * img->w + x) + 3] / 255.0;
            sum += a, sx += a * (x + 0.5), sy += a * (y + 0.5);
        }
    *share = sum / ((double)img->w * img->h);
    *cx = sum > 0 ? sx / sum : -1;
    *cy = sum > 0 ? sy / sum : -1;
}

static const uint8_t *px(const orf_image *img, int x, int y) { return img->rgba + 4 * ((size_t)y * img->w + x); }

int main(void)
{
    orf_err e;
    render_opts o;
    orf_image img;
    const float origin[3] = {0, 0, 0};

    /* --- unit framing: a sphere is the disc, a box is the rectangle ------ */
    orf_mesh sphere;
    make_sphere(&sphere, 0.5f, origin, MESH_NORMALS);
    render_opts_init(&o);
    o.ortho = 1, o.frame = RENDER_FRAME_UNIT, o.width = 256, o.height = 256;
    if (render(&sphere, &o, &img, "sphere-front-unit") == 0) {
        const float disc[3] = {0, 0, 0.5f};
        double iou = alpha_iou(&img, in_disc, disc);
        CHECK(iou >= 0.97, "front ortho unit render of a radius 0.5 sphere covers the disc (IoU %.4f)", iou);
        int outside_clear = 1;
        for (int y = 0; y < img.h; y++)
            for (int x = 0; x < img.w; x++) {
                float fx = (x + 0.5f) / 256.0f - 0.5f, fy = 0.5f - (y + 0.5f) / 256.0f;
                if (sqrtf(fx * fx + fy * fy) > 0.5f + 1.5f / 256.0f && px(&img, x, y)[3] != 0)
                    outside_clear = 0;
            }
        CHECK(outside_clear, "transparent background: alpha 0 everywhere outside the disc");
        /* key light from the upper left: that side is brighter than the lower right */
        const uint8_t *ul = px(&img, 128 - 50, 128 - 50), *lr = px(&img, 128 + 50, 128 + 50);
        CHECK(ul[0] + ul[1] + ul[2] > lr[0] + lr[1] + lr[2] + 60,
              "lit from the upper left (%d > %d)", ul[0] + ul[1] + ul[2], lr[0] + lr[1] + lr[2]);
        /* neutral material: grey, no hue */
        const uint8_t *mid = px(&img, 128, 128);
        CHECK(abs(mid[0] - mid[1]) < 12 && mid[3] == 255 && mid[0] > 100, "neutral material is an opaque grey");
        image_free(&img);
    }

    /* an off-centre small sphere: +y is up, +x is right, non-square picture */
    orf_mesh small;
    const float off[3] = {0.2f, 0.15f, 0.0f};
    make_sphere(&small, 0.15f, off, 0);
    o.width = 300, o.height = 200;
    if (render(&small, &o, &img, "small-sphere-front-unit") == 0) {
        const float disc[3] = {0.2f, 0.15f, 0.15f};
        double iou = alpha_iou(&img, in_disc, disc);
        CHECK(iou >= 0.97, "an off-centre sphere lands up and right on a 300x200 picture (IoU %.4f)", iou);
        image_free(&img);
    }
    mesh_free(&small);

    orf_mesh box;
    const float blo[3] = {-0.3f, -0.1f, -0.2f}, bhi[3] = {0.2f, 0.4f, 0.2f};
    make_box(&box, blo, bhi);
    o.width = 200, o.height = 200;
    if (render(&box, &o, &img, "box-front-unit") == 0) {
        const float rect[4] = {-0.3f, -0.1f, 0.2f, 0.4f};
        double iou = alpha_iou(&img, in_rect, rect);
        CHECK(iou >= 0.97, "front ortho unit render of a box covers its rectangle (IoU %.4f)", iou);
        image_free(&img);
    }
    o.samples = 1;
    if (render(&box, &o, &img, "box-front-unit-1x") == 0) {
        int binary = 1;
        for (size_t i = 0; i < (size_t)img.w * img.h; i++)
            binary &= img.rgba[4 * i + 3] == 0 || img.rgba[4 * i + 3] == 255;
        CHECK(binary, "with one sample a pixel alpha is 0 or 255");
        image_free(&img);
    }
    o.samples = 3;
    if (render(&sphere, &o, &img, "sphere-front-unit-3x") == 0) {
        int partial = 0;
        for (size_t i = 0; i < (size_t)img.w * img.h; i++)
            partial += img.rgba[4 * i + 3] != 0 && img.rgba[4 * i + 3] != 255;
        CHECK(partial > 0, "with 3x3 supersampling the sphere's outline is antialiased (%d partial pixels)", partial);
        image_free(&img);
    }

    /* a welded 8-vertex cube without normals is shaded flat: hard edges stay hard */
    orf_mesh welded;
    if (mesh_alloc(&welded, 8, 12, 0, &e) == 0) {
        for (uint32_t i = 0; i < 8; i++) {
            welded.pos[3 * i] = (i & 1) ? 0.3f : -0.3f;
            welded.pos[3 * i + 1] = (i & 2) ? 0.3f : -0.3f;
            welded.pos[3 * i + 2] = (i & 4) ? 0.3f : -0.3f;
        }
        static const uint32_t q[12][3] = {{4, 5, 7}, {4, 7, 6}, {0, 2, 3}, {0, 3, 1}, {1, 3, 7}, {1, 7, 5},
                                          {0, 4, 6}, {0, 6, 2}, {2, 6, 7}, {2, 7, 3}, {0, 1, 5}, {0, 5, 4}};
        memcpy(welded.idx, q, sizeof q);
        render_opts_init(&o);
        o.ortho = 1, o.frame = RENDER_FRAME_UNIT, o.width = 100, o.height = 100;
        if (render(&welded, &o, &img, "welded-cube-front") == 0) {
            int lo = 255, hi = 0;
            for (int y = 25; y < 75; y++)
                for (int x = 25; x < 75; x++) {
                    int v = px(&img, x, y)[0];
                    lo = v < lo ? v : lo, hi = v > hi ? v : hi;
                }
            CHECK(hi - lo <= 2 && hi > 0, "a welded cube without normals has flat faces (front face red %d..%d)", lo, hi);
            image_free(&img);
        }
        mesh_free(&welded);
    }

    /* a mesh-gen mesh of a cut-out lines up with its image: a 240x160 picture,
     * an ellipse and an off-centre bar, opaque on transparent */
    orf_image src;
    if (image_alloc(&src, 240, 160, &e) == 0) {
        for (int y = 0; y < 160; y++)
            for (int x = 0; x < 240; x++) {
                float ex = ((float)x + 0.5f - 100.0f) / 70.0f, ey = ((float)y + 0.5f - 90.0f) / 50.0f;
                int in = ex * ex + ey * ey <= 1.0f || (x >= 150 && x < 220 && y >= 20 && y < 60);
                uint8_t *p = src.rgba + 4 * ((size_t)y * 240 + (size_t)x);
                p[0] = 200, p[1] = 120, p[2] = 60, p[3] = in ? 255 : 0;
            }
        src.had_alpha = 1;
        gen_params gp;
        gen_params_default(&gp);
        orf_field fld;
        gen_facts facts;
        orf_mesh gm = {0};
        memset(&fld, 0, sizeof fld);
        if (gen_field(&src, "cutout", &gp, &fld, &facts, &e) == 0 && gen_stage(&fld, GEN_ROUGH, 0, &gm, &facts, &e) == 0) {
            render_opts_init(&o);
            o.view = RENDER_FRONT, o.ortho = 1, o.frame = RENDER_FRAME_UNIT, o.width = 240, o.height = 160;
            if (render(&gm, &o, &img, "gen-cutout-front-unit") == 0) {
                double inter = 0, uni = 0;
                for (size_t i = 0; i < (size_t)240 * 160; i++) {
                    double a = img.rgba[4 * i + 3], b = src.rgba[4 * i + 3];
                    inter += a < b ? a : b, uni += a > b ? a : b;
                }
                CHECK(inter / uni >= 0.97, "a rough mesh-gen mesh rendered front/ortho/unit matches its image's alpha (IoU %.4f)",
                      inter / uni);
                image_free(&img);
            }
        } else {
            /* lib/gen must make a mesh of a plain cut-out: its failure fails this test */
            CHECK(0, "lib/gen made a rough mesh of the cut-out (%s; mode %s, mask %s, foreground %.3f)",
                  e.message, facts.mode, facts.mask, facts.foreground);
        }
        mesh_free(&gm);
        field_free(&fld);
        image_free(&src);
    }

    /* --- every view: non-empty, centred (bbox framing, perspective) ---------- */
    orf_mesh lump; /* asymmetric: a big sphere on the left, a small one up and right in front */
    const float c1[3] = {-0.2f, 0.0f, 0.0f}, c2[3] = {0.3f, 0.2f, 0.15f};
    make_sphere(&lump, 0.3f, c1, 0);
    make_sphere(&small, 0.12f, c2, 0);
    mesh_append(&lump, &small);
    for (int persp = 0; persp < 2; persp++)
        for (int v = 0; v < RENDER_NVIEWS; v++) {
            render_opts_init(&o);
            o.width = 160, o.height = 120, o.view = (render_view)v, o.ortho = !persp;
            char name[64];
            snprintf(name, sizeof name, "box-%s-%s", render_view_name(o.view), persp ? "persp" : "ortho");
            if (render(&box, &o, &img, name) < 0) {
                CHECK(0, "%s renders", name);
                continue;
            }
            double cx, cy, share;
            alpha_stats(&img, &cx, &cy, &share);
            /* a box is centrally symmetric: its picture's centroid is the centre */
            CHECK(share > 0.2 && fabs(cx - 80) < 4 && fabs(cy - 60) < 4,
                  "box %s: covers %.0f %% of the picture, centroid (%.1f, %.1f) at the centre", name + 4,
                  share * 100, cx, cy);
            /* a bbox-framed view touches neither edge of the picture, but nearly fills it */
            int border = 0;
            for (int x = 0; x < img.w; x++)
                border += px(&img, x, 0)[3] + px(&img, x, img.h - 1)[3];
            for (int y = 0; y < img.h; y++)
                border += px(&img, 0, y)[3] + px(&img, img.w - 1, y)[3];
            CHECK(border == 0, "box %s: nothing touches the picture's border", name + 4);
            image_free(&img);
        }

    /* --- back is front mirrored ---------------------------------------------- */
    render_opts_init(&o);
    o.ortho = 1, o.width = 200, o.height = 160;
    orf_image front, back;
    if (render(&lump, &o, &front, "lump-front") == 0) {
        o.view = RENDER_BACK;
        if (render(&lump, &o, &back, "lump-back") == 0) {
            double inter = 0, uni = 0, same = 0;
            for (int y = 0; y < front.h; y++)
                for (int x = 0; x < front.w; x++) {
                    double a = px(&front, x, y)[3], b = px(&back, front.w - 1 - x, y)[3],
                           c = px(&back, x, y)[3];
                    inter += a < b ? a : b, uni += a > b ? a : b;
                    same += a < c ? a : c;
                }
            CHECK(uni > 0 && inter / uni > 0.97, "back view is the front's silhouette mirrored (IoU %.4f)",
                  inter / uni);
            CHECK(same / uni < 0.9, "and not the same picture unmirrored (IoU %.4f)", same / uni);
            double fcx, fcy, fs, bcx, bcy, bs;
            alpha_stats(&front, &fcx, &fcy, &fs);
            alpha_stats(&back, &bcx, &bcy, &bs);
            CHECK(fcx < 100 && bcx > 100, "the big sphere (-x) is on the left from the front, right from the back");
            image_free(&back);
        }
        image_free(&front);
    }
    /* left/right: the small sphere is in front (+z): it is on the right seen from the left (-x) */
    o.view = RENDER_LEFT;
    if (render(&lump, &o, &img, "lump-left") == 0) {
        /* the small sphere (y 0.08..0.32) rises above the big one (top 0.3): look at the top rows */
        int ytop = -1, xtop = -1;
        for (int y = 0; y < img.h && ytop < 0; y++)
            for (int x = 0; x < img.w; x++)
                if (px(&img, x, y)[3] > 128) {
                    ytop = y, xtop = x;
                    break;
                }
        CHECK(xtop > img.w / 2, "left view: the front (+z) of the mesh is on the picture's right (x %d)", xtop);
        image_free(&img);
    }
    o.view = RENDER_TOP;
    if (render(&lump, &o, &img, "lump-top") == 0) {
        double cx, cy, s;
        alpha_stats(&img, &cx, &cy, &s);
        /* seen from above the big sphere is left, the small one right and toward the bottom (front) */
        int found = 0;
        for (int y = img.h / 2; y < img.h; y++)
            for (int x = img.w * 3 / 4; x < img.w; x++)
                found += px(&img, x, y)[3] > 128;
        CHECK(found > 0 && cx < 100, "top view: +x right, front (+z) toward the bottom");
        image_free(&img);
    }

    /* --- colours and textures -------------------------------------------------- */
    orf_mesh cs;
    make_sphere(&cs, 0.5f, origin, MESH_COLORS);
    render_opts_init(&o);
    o.ortho = 1, o.frame = RENDER_FRAME_UNIT, o.width = 128, o.height = 128;
    memcpy(o.background, (uint8_t[4]){0, 255, 0, 255}, 4);
    if (render(&cs, &o, &img, "colours-front") == 0) {
        const uint8_t *r = px(&img, 90, 64), *l = px(&img, 38, 64), *corner = px(&img, 0, 0);
        CHECK(r[0] > 2 * r[2] && l[2] > 2 * l[0], "vertex colours: red on the +x side (%d,%d,%d), blue on the -x side (%d,%d,%d)",
              r[0], r[1], r[2], l[0], l[1], l[2]);
        CHECK(corner[0] == 0 && corner[1] == 255 && corner[2] == 0 && corner[3] == 255,
              "a coloured background fills the corners");
        image_free(&img);
    }
    orf_mesh ts;
    make_sphere(&ts, 0.5f, origin, MESH_UVS);
    if (image_alloc(&ts.texture, 8, 8, &e) == 0) {
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++) { /* top half yellow, bottom half cyan */
                uint8_t *p = ts.texture.rgba + 4 * (y * 8 + x);
                p[0] = y < 4 ? 240 : 10, p[1] = 220, p[2] = y < 4 ? 10 : 240, p[3] = 255;
            }
    }
    memcpy(o.background, (uint8_t[4]){0, 0, 0, 0}, 4);
    if (render(&ts, &o, &img, "texture-front") == 0) {
        const uint8_t *t = px(&img, 64, 30), *b = px(&img, 64, 98);
        CHECK(t[0] > 2 * t[2] && t[1] > 2 * t[2], "texture: the top is yellow (%d,%d,%d)", t[0], t[1], t[2]);
        CHECK(b[2] > 2 * b[0] && b[1] > 2 * b[0], "texture: the bottom is cyan (%d,%d,%d)", b[0], b[1], b[2]);
        image_free(&img);
    }

    /* --- perspective, sheet, turntable --------------------------------------- */
    render_opts_init(&o);
    o.frame = RENDER_FRAME_UNIT, o.width = 128, o.height = 128;
    double ocx, ocy, oshare, pcx, pcy, pshare;
    if (render(&sphere, &o, &img, "sphere-front-persp-unit") == 0) {
        alpha_stats(&img, &pcx, &pcy, &pshare);
        image_free(&img);
        o.ortho = 1;
        if (render(&sphere, &o, &img, "sphere-front-ortho-128") == 0) {
            alpha_stats(&img, &ocx, &ocy, &oshare);
            CHECK(pshare > oshare * 1.02, "perspective: a sphere in front of the unit plane looks bigger (%.3f > %.3f)",
                  pshare, oshare);
            image_free(&img);
        }
    }
    render_opts_init(&o);
    o.width = 64, o.height = 48;
    render_view views[6] = {RENDER_FRONT, RENDER_RIGHT, RENDER_BACK, RENDER_LEFT, RENDER_TOP, RENDER_THREE_QUARTER};
    if (render_sheet(&lump, &o, views, 6, 3, &img, &e) == 0) {
        dump("lump-sheet", &img);
        CHECK(img.w == 192 && img.h == 96, "sheet of 6 views, 3 a row: 192 x 96 (%d x %d)", img.w, img.h);
        int empty_cells = 0;
        for (int cell = 0; cell < 6; cell++) {
            int any = 0;
            for (int y = 0; y < 48; y++)
                for (int x = 0; x < 64; x++)
                    any |= px(&img, (cell % 3) * 64 + x, (cell / 3) * 48 + y)[3];
            empty_cells += !any;
        }
        CHECK(empty_cells == 0, "every cell of the sheet shows the mesh");
        image_free(&img);
    } else {
        CHECK(0, "sheet renders: %s", e.message);
    }
    /* turntable framing is fixed: a big sphere with a speck off to the side keeps
     * its size while the camera orbits (plain bbox framing would zoom in and out) */
    orf_mesh orbit, speck;
    const float cs_[3] = {0.9f, 0.0f, 0.0f};
    make_sphere(&orbit, 0.5f, origin, 0);
    make_sphere(&speck, 0.02f, cs_, 0);
    mesh_append(&orbit, &speck);
    double spread[2];
    for (int fixed = 0; fixed < 2; fixed++) {
        render_opts_init(&o);
        o.width = 96, o.height = 96, o.orbit_frame = fixed, o.ortho = 1;
        double lo = 1, hi = 0;
        for (int i = 0; i < 8; i++) {
            o.yaw_deg = 360.0f * (float)i / 8.0f;
            char name[48];
            snprintf(name, sizeof name, "orbit%d-turn-%d", fixed, i);
            if (render(&orbit, &o, &img, name) < 0)
                break;
            double cx, cy, s;
            alpha_stats(&img, &cx, &cy, &s);
            lo = fmin(lo, s), hi = fmax(hi, s);
            image_free(&img);
        }
        spread[fixed] = hi > 0 ? (hi - lo) / hi : 1;
    }
    CHECK(spread[1] < 0.02 && spread[0] > 0.1,
          "turntable framing holds still with yaw (spread %.4f; %.4f with plain bbox framing)", spread[1],
          spread[0]);
    mesh_free(&orbit), mesh_free(&speck);

    /* --- determinism: 1 thread and 2 threads give the same bytes -------------- */
    render_opts_init(&o);
    o.width = 200, o.height = 150, o.view = RENDER_THREE_QUARTER;
    orf_image one, two;
    o.threads = 1;
    int r1 = render(&ts, &o, &one, "texture-34-t1");
    o.threads = 2;
    int r2 = render(&ts, &o, &two, "texture-34-t2");
    CHECK(r1 == 0 && r2 == 0 && memcmp(one.rgba, two.rgba, (size_t)one.w * one.h * 4) == 0,
          "1 and 2 threads give identical pictures");
    image_free(&one), image_free(&two);

    /* --- bad input ------------------------------------------------------------ */
    render_opts_init(&o);
    o.width = 0;
    CHECK(render_mesh(&sphere, &o, &img, &e) < 0 && !strcmp(e.code, "bad_request") && !img.rgba,
          "width 0 is refused (%s)", e.message);
    render_opts_init(&o);
    o.samples = 9;
    CHECK(render_mesh(&sphere, &o, &img, &e) < 0 && !strcmp(e.code, "bad_request"), "9x9 samples are refused");
    render_opts_init(&o);
    sphere.idx[7] = sphere.nverts + 5;
    CHECK(render_mesh(&sphere, &o, &img, &e) < 0 && !strcmp(e.code, "bad_mesh") && !img.rgba,
          "an index out of range is refused (%s)", e.message);
    sphere.idx[7] = 0;
    sphere.pos[4] = NAN;
    CHECK(render_mesh(&sphere, &o, &img, &e) < 0 && !strcmp(e.code, "bad_mesh"), "a NaN coordinate is refused");
    orf_mesh empty = {0};
    o.width = 8, o.height = 8;
    memcpy(o.background, (uint8_t[4]){255, 255, 255, 255}, 4);
    CHECK(render_mesh(&empty, &o, &img, &e) == 0 && img.rgba[4 * 63 + 0] == 255 && img.rgba[4 * 63 + 3] == 255,
          "an empty mesh gives the background");
    image_free(&img);

    int w, h;
    uint8_t c[4];
    render_view v;
    CHECK(render_parse_size("640x480", &w, &h, &e) == 0 && w == 640 && h == 480, "size 640x480 parses");
    CHECK(render_parse_size("640", &w, &h, &e) < 0 && render_parse_size("0x10", &w, &h, &e) < 0 &&
              render_parse_size("10x99999", &w, &h, &e) < 0 && render_parse_size("10x10x", &w, &h, &e) < 0 &&
              render_parse_size("-5x10", &w, &h, &e) < 0,
          "bad sizes are refused");
    CHECK(render_parse_color("#ff8000", c, &e) == 0 && c[0] == 255 && c[1] == 128 && c[2] == 0 && c[3] == 255,
          "#ff8000 parses");
    CHECK(render_parse_color("transparent", c, &e) == 0 && c[3] == 0, "transparent parses");
    CHECK(render_parse_color("#ff80", c, &e) < 0 && render_parse_color("#gg0000", c, &e) < 0 &&
              render_parse_color("purple", c, &e) < 0,
          "bad colours are refused");
    CHECK(render_view_parse("three-quarter", &v, &e) == 0 && v == RENDER_THREE_QUARTER &&
              render_view_parse("Back", &v, &e) == 0 && v == RENDER_BACK && render_view_parse("side", &v, &e) < 0,
          "views parse by name");

    mesh_free(&sphere), mesh_free(&small), mesh_free(&box), mesh_free(&lump), mesh_free(&cs), mesh_free(&ts);
    return check_done();
}
