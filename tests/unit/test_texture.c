/* Front projection: UVs from x and y in docs/design.md's frame, the back mirrored,
 * the image attached, vertex colours from the pixel in front. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "testmesh.h"
#include "texture.h"

int main(void)
{
    orf_image img;
    orf_err e;
    orf_mesh m;
    /* 200 x 100: red top left, green top right, blue bottom left, white bottom right. */
    image_alloc(&img, 200, 100, NULL);
    for (int y = 0; y < 100; y++)
        for (int x = 0; x < 200; x++) {
            uint8_t *p = img.rgba + 4 * ((size_t)y * 200 + x);
            int right = x >= 100, bottom = y >= 50;
            p[0] = (uint8_t)(!bottom && !right ? 255 : bottom && right ? 255 : 0);
            p[1] = (uint8_t)(!bottom && right ? 255 : bottom && right ? 255 : 0);
            p[2] = (uint8_t)(bottom ? 255 : 0);
            p[3] = 255;
        }
    icosphere(&m, 3, 0.2f);
    CHECK(texture_project_front(&m, &img, 1.0f, TEXTURE_UVS | TEXTURE_ATTACH | TEXTURE_COLORS, &e) == 0,
          "projection runs");
    CHECK(m.uv && m.col && m.texture.w == 200 && m.texture.h == 100 && m.texture.rgba != img.rgba &&
              memcmp(m.texture.rgba, img.rgba, 200 * 100 * 4) == 0,
          "the image is attached as an own copy");

    /* UVs: the image spans x in [-0.5, 0.5] and y in [-0.25, 0.25]. */
    double worst = 0;
    for (uint32_t i = 0; i < m.nverts; i++) {
        double x = m.pos[3 * i], y = m.pos[3 * i + 1];
        worst = fmax(worst, fabs(m.uv[2 * i] - (x + 0.5)));
        worst = fmax(worst, fabs(m.uv[2 * i + 1] - (0.5 - y * 2.0)));
    }
    CHECK(worst < 1e-6, "u = x + 0.5 and v = 0.5 - 2y on a 2:1 image (worst %.2g)", worst);

    /* Front and back: vertices mirrored in z get the same UV and colour. */
    uint32_t pairs = 0, same = 0;
    for (uint32_t i = 0; i < m.nverts; i++)
        for (uint32_t j = i + 1; j < m.nverts; j++)
            if (m.pos[3 * i] == m.pos[3 * j] && m.pos[3 * i + 1] == m.pos[3 * j + 1] &&
                m.pos[3 * i + 2] == -m.pos[3 * j + 2] && m.pos[3 * i + 2] != 0) {
                pairs++;
                same += m.uv[2 * i] == m.uv[2 * j] && m.uv[2 * i + 1] == m.uv[2 * j + 1] &&
                        !memcmp(m.col + 4 * i, m.col + 4 * j, 4);
            }
    CHECK(pairs > 10 && same == pairs, "the back mirrors the front: %u of %u pairs", same, pairs);

    /* Colours: a vertex clearly inside a quadrant has its colour; +y is up. */
    uint32_t checked = 0, right_colour = 0;
    for (uint32_t i = 0; i < m.nverts; i++) {
        float x = m.pos[3 * i], y = m.pos[3 * i + 1];
        if (fabsf(x) < 0.02f || fabsf(y) < 0.02f)
            continue;
        const uint8_t *c = m.col + 4 * i;
        uint8_t want[3] = {(uint8_t)((y > 0 && x < 0) || (y < 0 && x > 0) ? 255 : 0),
                           (uint8_t)(x > 0 ? 255 : 0), (uint8_t)(y < 0 ? 255 : 0)};
        checked++;
        right_colour += c[0] == want[0] && c[1] == want[1] && c[2] == want[2] && c[3] == 255;
    }
    CHECK(checked > 100 && right_colour == checked,
          "vertex colours come from the pixel in front (+y up, +x right): %u of %u", right_colour,
          checked);

    /* Corners of the image frame map to UV (0,0) and (1,1); outside clamps colours. */
    orf_mesh q;
    mesh_alloc(&q, 3, 1, 0, NULL);
    float pos[9] = {-0.5f, 0.25f, 0.1f, 0.5f, -0.25f, -0.1f, 3.0f, 3.0f, 0.0f};
    memcpy(q.pos, pos, sizeof pos);
    q.idx[0] = 0, q.idx[1] = 1, q.idx[2] = 2;
    CHECK(texture_project_front(&q, &img, 1.0f, TEXTURE_UVS | TEXTURE_COLORS, &e) == 0 &&
              q.uv[0] == 0.0f && q.uv[1] == 0.0f && q.uv[2] == 1.0f && q.uv[3] == 1.0f,
          "top-left corner -> (%g, %g), bottom-right -> (%g, %g)", (double)q.uv[0], (double)q.uv[1],
          (double)q.uv[2], (double)q.uv[3]);
    CHECK(q.col[8] == 0 && q.col[9] == 255 && q.col[10] == 0 && q.texture.w == 0,
          "outside the image takes the nearest edge pixel; no texture unless asked");
    /* extent scales: with extent 2 the same vertex moves half as far in UV. */
    CHECK(texture_project_front(&q, &img, 2.0f, TEXTURE_UVS, &e) == 0 && q.uv[0] == 0.25f &&
              q.uv[1] == 0.25f,
          "extent 2: (-0.5, 0.25) -> (%g, %g)", (double)q.uv[0], (double)q.uv[1]);

    /* Errors. */
    orf_image none = {0};
    CHECK(texture_project_front(&q, &none, 1.0f, TEXTURE_UVS, &e) == -1 &&
              strcmp(e.code, "bad_request") == 0,
          "no image refused (%s)", e.message);
    CHECK(texture_project_front(&q, &img, 0.0f, TEXTURE_UVS, &e) == -1 &&
              strcmp(e.code, "bad_request") == 0,
          "extent 0 refused (%s)", e.message);
    mesh_free(&q);
    mesh_free(&m);
    image_free(&img);

    /* An opaque white-backed image (a border-colour cut-out): its mask becomes
     * alpha, and the attached texture has the foreground's red bled over the
     * white just outside the rim, so the rim samples no background. */
    orf_image wb;
    image_alloc(&wb, 64, 64, &e);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = wb.rgba + 4 * (y * 64 + x);
            int in = (x - 32) * (x - 32) + (y - 32) * (y - 32) < 20 * 20;
            p[0] = in ? 200 : 255, p[1] = in ? 20 : 255, p[2] = in ? 40 : 255, p[3] = 255;
        }
    CHECK(texture_alpha_from_mask(&wb, MASK_BORDER, "white.png", &e) == 0 && wb.rgba[3] == 0 &&
              wb.rgba[4 * (32 * 64 + 32) + 3] == 255,
          "an opaque white-backed image gets alpha 0 outside its disc, 255 inside");
    orf_mesh tri;
    mesh_alloc(&tri, 3, 1, 0, NULL);
    float tp[9] = {0, 0, 0, 0.1f, 0, 0, 0, 0.1f, 0};
    memcpy(tri.pos, tp, sizeof tp);
    tri.idx[0] = 0, tri.idx[1] = 1, tri.idx[2] = 2;
    CHECK(texture_project_front(&tri, &wb, 1.0f, TEXTURE_UVS | TEXTURE_ATTACH, &e) == 0, "texture attached");
    /* (32 + 21, 32): one pixel outside the disc on the row through its centre */
    const uint8_t *rim = tri.texture.rgba ? tri.texture.rgba + 4 * (32 * 64 + 53) : NULL;
    CHECK(rim && rim[0] > 150 && rim[1] < 100 && rim[2] < 100,
          "the pixel just outside the rim is the foreground's red, not the white background (%d %d %d)",
          rim ? rim[0] : -1, rim ? rim[1] : -1, rim ? rim[2] : -1);
    mesh_free(&tri);
    /* Vertex colours (PLY) too: a vertex on the rim samples half a pixel
     * inside and half outside; it gets the foreground's red, opaque (from
     * the image as it was, (228, 138, 148) with alpha 128: the seam of blue
     * dots along the rim of samples/orfeas.png, whose clear pixels are blue). */
    mesh_alloc(&tri, 3, 1, 0, NULL);
    float rp[9] = {20.0f / 64, 0, 0, 0, 0, 0, 0, 0.1f, 0};
    memcpy(tri.pos, rp, sizeof rp);
    tri.idx[0] = 0, tri.idx[1] = 1, tri.idx[2] = 2;
    CHECK(texture_project_front(&tri, &wb, 1.0f, TEXTURE_COLORS, &e) == 0 && tri.col &&
              tri.col[0] == 200 && tri.col[1] == 20 && tri.col[2] == 40 && tri.col[3] == 255 &&
              tri.texture.w == 0,
          "a vertex on the rim is coloured the foreground's red, opaque (%d %d %d %d)",
          tri.col ? tri.col[0] : -1, tri.col ? tri.col[1] : -1, tri.col ? tri.col[2] : -1,
          tri.col ? tri.col[3] : -1);
    mesh_free(&tri);
    orf_image photo;
    image_alloc(&photo, 16, 16, &e);
    for (size_t i = 0; i < 16 * 16 * 4; i++)
        photo.rgba[i] = (uint8_t)(i * 37 % 251);
    CHECK(texture_alpha_from_mask(&photo, MASK_AUTO, "photo.png", &e) == 0 && photo.rgba[3] == (uint8_t)(3 * 37 % 251),
          "an image with no background (a relief) keeps its pixels");
    image_free(&photo);
    image_free(&wb);
    return check_done();
}
