/* mkfield - mesh-gen-like input for the mesh-refine tests, made with the library.
 *
 *   mkfield SHAPE OUT.png [SIZE]
 *
 * Draws SHAPE (disc, ring, islands, thin-l, blob) as a cut-out (transparent
 * background, a colour gradient inside) of SIZE x SIZE*3/4 pixels (default
 * 256), writes it to OUT.png, makes its field with gen_field, stores the
 * field blob in the cache ($ORFEAS_CACHE_DIR) with cache_put_object and
 * prints the two records mesh-gen prints for an image (voxel, rough), with
 * the "field" key and no mesh. Exit 1 on any failure, 64 on usage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

#include "cache.h"
#include "field.h"
#include "gen.h"
#include "image.h"

static int inside(const char *shape, double x, double y, int w, int h)
{
    double s = h, cx = w / 2.0, cy = h / 2.0;
    double dx = x - cx, dy = y - cy, r = sqrt(dx * dx + dy * dy);
    if (!strcmp(shape, "disc"))
        return r < 0.4 * s;
    if (!strcmp(shape, "ring"))
        return r < 0.42 * s && r > 0.2 * s;
    if (!strcmp(shape, "islands")) {
        double ax = x - 0.3 * w, bx = x - 0.72 * w, by = y - 0.6 * h;
        return sqrt(ax * ax + dy * dy) < 0.25 * s || sqrt(bx * bx + by * by) < 0.15 * s ||
               (fabs(x - 0.8 * w) < 0.05 * s && fabs(y - 0.2 * h) < 0.05 * s);
    }
    if (!strcmp(shape, "thin-l")) {
        /* an L of bars 0.06 of the height wide: the thinnest part a user draws */
        double x0 = 0.2 * w, y0 = 0.1 * h, len = 0.8 * h, wd = 0.06 * h;
        int v = x >= x0 && x < x0 + wd && y >= y0 && y < y0 + len;
        int hz = x >= x0 && x < x0 + 0.7 * w && y >= y0 + len - wd && y < y0 + len;
        return v || hz;
    }
    if (!strcmp(shape, "blob"))
        return r < s * (0.3 + 0.08 * sin(5 * atan2(dy, dx)));
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: mkfield disc|ring|islands|thin-l|blob OUT.png [SIZE]\n");
        return 64;
    }
    const char *shape = argv[1], *out = argv[2];
    int w = argc == 4 ? atoi(argv[3]) : 256;
    if (w < 16 || w > 4096 || inside(shape, 0, 0, 16, 16) < 0) {
        fprintf(stderr, "mkfield: bad shape or size\n");
        return 64;
    }
    int h = w * 3 / 4;
    orf_image img = {0};
    orf_err e;
    if (image_alloc(&img, w, h, &e) != 0)
        return 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int hit = 0;
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++)
                    hit += inside(shape, x + (a + 0.5) / 4, y + (b + 0.5) / 4, w, h);
            uint8_t *p = img.rgba + 4 * ((size_t)y * w + x);
            p[0] = (uint8_t)(255 * x / w);
            p[1] = (uint8_t)(255 * y / h);
            p[2] = 120;
            p[3] = (uint8_t)lround(255.0 * hit / 16);
        }
    img.had_alpha = 1;
    if (!stbi_write_png(out, w, h, 4, img.rgba, w * 4)) {
        fprintf(stderr, "mkfield: cannot write %s\n", out);
        return 1;
    }
    gen_params gp;
    gen_params_default(&gp);
    orf_field fld;
    uint8_t *blob = NULL;
    size_t n = 0;
    orf_cache *c = NULL;
    char key[65];
    if (gen_field(&img, out, &gp, &fld, NULL, &e) != 0 || field_serialise(&fld, &blob, &n, &e) != 0 ||
        cache_open(&c, NULL, -1, &e) != 0 || cache_put_object(c, blob, n, key, &e) != 0) {
        fprintf(stderr, "mkfield: %s: %s\n", e.code, e.message);
        return 1;
    }
    printf("{\"image\":\"%s\",\"stage\":\"voxel\",\"progress\":25,\"field\":\"%s\",\"id\":\"%s\"}\n",
           out, key, shape);
    printf("{\"image\":\"%s\",\"stage\":\"rough\",\"progress\":50,\"field\":\"%s\",\"id\":\"%s\"}\n",
           out, key, shape);
    free(blob);
    field_free(&fld);
    image_free(&img);
    cache_close(c);
    return 0;
}
