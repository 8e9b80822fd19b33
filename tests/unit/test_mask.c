/* test_mask.c - image decoding limits and the three mask methods. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

#include "check.h"
#include "gen_shapes.h"
#include "imageio.h"
#include "mask.h"

static void write_cb(void *ctx, void *data, int size)
{
    struct { uint8_t *p; size_t n; } *b = ctx;
    b->p = realloc(b->p, b->n + (size_t)size);
    memcpy(b->p + b->n, data, (size_t)size);
    b->n += (size_t)size;
}

int main(void)
{
    orf_err e;
    orf_image img;
    /* PNG round trip through memory, and the pixel limit before decoding */
    {
        double disc[3] = {40, 30, 20};
        orf_image src;
        draw_shape(&src, 80, 60, sh_disc, disc, 1);
        struct { uint8_t *p; size_t n; } buf = {0};
        stbi_write_png_to_func(write_cb, &buf, 80, 60, 4, src.rgba, 80 * 4);
        CHECK(image_load_memory(buf.p, buf.n, "disc.png", 0, &img, &e) == 0 && img.w == 80 &&
                  img.h == 60 && img.had_alpha && memcmp(img.rgba, src.rgba, 80 * 60 * 4) == 0,
              "PNG with alpha decodes to the same pixels");
        image_free(&img);
        CHECK(image_load_memory(buf.p, buf.n, "disc.png", 1000, &img, &e) != 0 &&
                  strcmp(e.code, "too_large") == 0 && strstr(e.message, "disc.png"),
              "over --max-pixels: too_large (%s)", e.message);
        /* truncated */
        CHECK(image_load_memory(buf.p, buf.n / 2, "cut.png", 0, &img, &e) != 0 &&
                  strcmp(e.code, "bad_image") == 0 && strstr(e.message, "cut.png"),
              "truncated PNG: bad_image (%s)", e.message);
        /* huge claimed headers (10000^2 over the 64 Mpx default, 60000^2 over
         * stb_image's own cap), refused from the header: the data is tiny */
        uint8_t *big = malloc(buf.n);
        memcpy(big, buf.p, buf.n);
        uint8_t dims[8] = {0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10};
        memcpy(big + 16, dims, 8);
        CHECK(image_load_memory(big, buf.n, "huge.png", 0, &img, &e) != 0 &&
                  strcmp(e.code, "too_large") == 0 && strstr(e.message, "10000 x 10000"),
              "a header claiming 10000 x 10000 is refused as too_large (%s: %s)", e.code,
              e.message);
        dims[2] = dims[6] = 0xea, dims[3] = dims[7] = 0x60;
        memcpy(big + 16, dims, 8);
        CHECK(image_load_memory(big, buf.n, "huger.png", 0, &img, &e) != 0 &&
                  strcmp(e.code, "too_large") == 0,
              "a header claiming 60000 x 60000 is refused as too_large (%s: %s)", e.code,
              e.message);
        free(big);
        free(buf.p);
        /* grey JPEG and BMP go through too */
        memset(&buf, 0, sizeof buf);
        uint8_t grey[16 * 16];
        for (int i = 0; i < 256; i++)
            grey[i] = (uint8_t)i;
        stbi_write_bmp_to_func(write_cb, &buf, 16, 16, 1, grey);
        CHECK(image_load_memory(buf.p, buf.n, "g.bmp", 0, &img, &e) == 0 && img.w == 16 &&
                  img.rgba[4 * 17] == img.rgba[4 * 17 + 1] && img.rgba[4 * 17 + 3] == 255,
              "grey BMP expands to RGBA");
        image_free(&img);
        free(buf.p);
        memset(&buf, 0, sizeof buf);
        stbi_write_jpg_to_func(write_cb, &buf, 80, 60, 4, src.rgba, 90);
        CHECK(image_load_memory(buf.p, buf.n, "d.jpg", 0, &img, &e) == 0 && img.w == 80 &&
                  !img.had_alpha,
              "JPEG decodes, no alpha");
        image_free(&img);
        free(buf.p);
        /* TGA and HDR (float, refused) through stb's writers, PNM (8 and 16 bit) by hand */
        memset(&buf, 0, sizeof buf);
        stbi_write_tga_to_func(write_cb, &buf, 80, 60, 4, src.rgba);
        CHECK(image_load_memory(buf.p, buf.n, "d.tga", 0, &img, &e) == 0 && img.had_alpha &&
                  memcmp(img.rgba, src.rgba, 80 * 60 * 4) == 0,
              "TGA with alpha decodes to the same pixels");
        image_free(&img);
        free(buf.p);
        memset(&buf, 0, sizeof buf);
        float hdr[4 * 3];
        for (int i = 0; i < 12; i++)
            hdr[i] = i < 6 ? 0.0f : 4.0f;
        stbi_write_hdr_to_func(write_cb, &buf, 2, 2, 3, hdr);
        CHECK(image_load_memory(buf.p, buf.n, "d.hdr", 0, &img, &e) != 0 &&
                  strcmp(e.code, "bad_image") == 0 && strstr(e.message, "Radiance HDR"),
              "HDR is refused by name (%s)", e.message);
        free(buf.p);
        const char pgm8[] = "P5\n2 2\n255\n\x00\x40\x80\xff";
        CHECK(image_load_memory(pgm8, sizeof pgm8 - 1, "d.pgm", 0, &img, &e) == 0 &&
                  img.rgba[4 * 3] == 255 && img.rgba[4 * 1 + 2] == 0x40,
              "8-bit PGM decodes");
        image_free(&img);
        const char pgm16[] = "P5\n# sixteen\n3 1\n65535\n\x00\x00\x80\x00\xff\xff";
        int rc16 = image_load_memory(pgm16, sizeof pgm16 - 1, "d16.pgm", 0, &img, &e);
        CHECK(rc16 == 0 && img.rgba[0] == 0 && img.rgba[4] == 128 && img.rgba[8] == 255 &&
                  img.rgba[9] == 255 && img.rgba[11] == 255,
              "16-bit PGM decodes to 8 bits (%s)", rc16 ? e.message : "ok");
        image_free(&img);
        CHECK(image_load_memory(pgm16, sizeof pgm16 - 3, "cut16.pgm", 0, &img, &e) != 0 &&
                  strcmp(e.code, "bad_image") == 0,
              "truncated 16-bit PGM: bad_image (%s)", e.message);
        image_free(&src);
        const char *text = "this is not an image at all\n";
        CHECK(image_load_memory(text, strlen(text), "notes.png", 0, &img, &e) != 0 &&
                  strcmp(e.code, "bad_image") == 0 && strstr(e.message, "notes.png"),
              "text named .png: bad_image (%s)", e.message);
        CHECK(image_load_file("/nonexistent/x.png", 0, &img, &e) != 0 &&
                  strcmp(e.code, "io_error") == 0,
              "missing file: io_error (%s)", e.message);
    }

    /* a white-backed silhouette with one transparent corner pixel: border, not alpha */
    orf_mask m;
    {
        double disc[3] = {50, 50, 30};
        draw_shape(&img, 100, 100, sh_disc, disc, 0);
        img.rgba[3] = 0;
        img.had_alpha = 1;
        CHECK(mask_compute(&img, MASK_AUTO, "sil.png", &m, &e) == 0 && m.method == MASK_BORDER,
              "one clear corner pixel is not an alpha image: %s (%s)",
              mask_method_name(m.method), m.why);
        double area = 0;
        int soft = 0;
        for (int i = 0; i < 100 * 100; i++) {
            area += m.cov[i];
            soft += m.cov[i] > 0.05f && m.cov[i] < 0.95f;
        }
        CHECK(fabs(area - M_PI * 900) / (M_PI * 900) < 0.02 && soft > 20,
              "border mask: area %.0f vs %.0f, %d anti-aliased edge pixels", area, M_PI * 900,
              soft);
        mask_free(&m);
        image_free(&img);
    }
    /* a white shape enclosed in black on white survives; specks go */
    {
        double ring[4] = {60, 60, 50, 20};
        draw_shape(&img, 120, 120, sh_ring, ring, 0);
        /* a 2x2 speck in a corner region */
        for (int y = 5; y < 7; y++)
            for (int x = 5; x < 7; x++)
                memset(img.rgba + 4 * (y * 120 + x), 0, 3);
        CHECK(mask_compute(&img, MASK_AUTO, "ring.png", &m, &e) == 0, "ring on white: mask");
        CHECK(m.cov[60 * 120 + 60] == 1.0f, "the enclosed white centre stays foreground");
        CHECK(m.cov[5 * 120 + 5] == 0.0f && m.specks_dropped == 1, "the speck is dropped (%d)",
              m.specks_dropped);
        mask_free(&m);
        image_free(&img);
    }
    /* alpha ring keeps its hole */
    {
        double ring[4] = {60, 60, 50, 20};
        draw_shape(&img, 120, 120, sh_ring, ring, 1);
        CHECK(mask_compute(&img, MASK_AUTO, "ring.png", &m, &e) == 0 && m.method == MASK_ALPHA &&
                  m.cov[60 * 120 + 60] == 0.0f && m.cov[60 * 120 + 25] == 1.0f,
              "alpha ring: the hole is kept");
        mask_free(&m);
        image_free(&img);
    }
    /* luma: dark ink on light paper */
    {
        double disc[3] = {50, 50, 30};
        draw_shape(&img, 100, 100, sh_disc, disc, 0);
        CHECK(mask_compute(&img, MASK_LUMA, "ink.png", &m, &e) == 0 && m.method == MASK_LUMA &&
                  m.cov[50 * 100 + 50] > 0.99f && m.cov[0] < 0.01f,
              "luma mask: the dark disc is the foreground");
        mask_free(&m);
        image_free(&img);
    }
    /* nothing */
    {
        image_alloc(&img, 30, 20, NULL);
        CHECK(mask_compute(&img, MASK_AUTO, "clear.png", &m, &e) != 0 &&
                  strcmp(e.code, "no_foreground") == 0,
              "fully transparent: no_foreground");
        memset(img.rgba, 255, 30 * 20 * 4);
        CHECK(mask_compute(&img, MASK_AUTO, "white.png", &m, &e) != 0 &&
                  strcmp(e.code, "no_foreground") == 0,
              "uniform white: no_foreground");
        image_free(&img);
        image_alloc(&img, 1, 1, NULL);
        img.rgba[3] = 255;
        int rc = mask_compute(&img, MASK_AUTO, "dot.png", &m, &e);
        CHECK(rc != 0 && strcmp(e.code, "no_foreground") == 0, "1x1: no_foreground, no crash");
        image_free(&img);
    }
    mask_method mm;
    CHECK(mask_method_parse("border", &mm, &e) == 0 && mm == MASK_BORDER &&
              mask_method_parse("magic", &mm, &e) != 0 && strcmp(e.code, "bad_request") == 0,
          "mask names parse, unknown ones are bad_request");
    return check_done();
}
