/* mksample - draw the test and sample images mesh-gen's tests use.
 *
 *   mksample KIND OUT [SIZE]
 *
 * KIND: figure (a stylised figure with alpha, the bundled sample),
 * silhouette (the figure in black on white, opaque), grey (the figure as a
 * 1-channel grey PNG on white), disc (alpha), noise (a photograph-like RGB
 * noise picture with no background), clear (fully transparent), dot (1x1),
 * uniform (one colour). SIZE is the longer side (default 512). PNG out. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

/* distance from p to the segment a-b */
static double seg(double px, double py, double ax, double ay, double bx, double by)
{
    double dx = bx - ax, dy = by - ay, t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double qx = ax + t * dx - px, qy = ay + t * dy - py;
    return sqrt(qx * qx + qy * qy);
}

/* the figure in unit coordinates (0..1, y down): returns a part id or 0 */
static int figure(double x, double y)
{
    if (hypot(x - 0.5, y - 0.17) < 0.095)
        return 1; /* head */
    if (seg(x, y, 0.5, 0.33, 0.5, 0.58) < 0.11)
        return 2; /* body */
    if (seg(x, y, 0.43, 0.34, 0.22, 0.52) < 0.04 || seg(x, y, 0.57, 0.34, 0.78, 0.22) < 0.04)
        return 3; /* arms, one raised */
    if (seg(x, y, 0.45, 0.62, 0.36, 0.9) < 0.05 || seg(x, y, 0.55, 0.62, 0.64, 0.9) < 0.05)
        return 4; /* legs */
    return 0;
}

static int disc(double x, double y)
{
    return hypot(x - 0.5, y - 0.5) < 0.4;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mksample KIND OUT [SIZE]\n");
        return 64;
    }
    const char *kind = argv[1], *out = argv[2];
    int n = argc > 3 ? atoi(argv[3]) : 512;
    if (n < 1 || n > 8192) {
        fprintf(stderr, "mksample: bad size\n");
        return 64;
    }
    int w = n, h = n, comp = 4;
    if (strcmp(kind, "dot") == 0)
        w = h = 1;
    if (strcmp(kind, "noise") == 0)
        h = n * 3 / 4;
    if (strcmp(kind, "grey") == 0)
        comp = 1;
    unsigned char *px = calloc((size_t)w * h, 4);
    unsigned s = 2463534242u;
    static const unsigned char colours[5][3] = {
        {0, 0, 0}, {236, 190, 150}, {40, 90, 170}, {236, 190, 150}, {60, 60, 70}};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *p = px + ((size_t)y * w + x) * comp;
            if (strcmp(kind, "noise") == 0) {
                for (int c = 0; c < 3; c++) {
                    s ^= s << 13, s ^= s >> 17, s ^= s << 5;
                    double v = 128 + 80 * sin(x * 0.05 + c) * cos(y * 0.04) + (int)(s % 60) - 30;
                    p[c] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
                p[3] = 255;
                continue;
            }
            if (strcmp(kind, "clear") == 0 || strcmp(kind, "uniform") == 0 ||
                strcmp(kind, "dot") == 0) {
                p[0] = 90, p[1] = 120, p[2] = 150;
                p[3] = strcmp(kind, "clear") == 0 ? 0 : 255;
                continue;
            }
            int hits = 0, part = 0;
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++) {
                    double u = (x + (a + 0.5) / 4) / n, v = (y + (b + 0.5) / 4) / n;
                    int f = strcmp(kind, "disc") == 0 ? disc(u, v) : figure(u, v);
                    if (f) {
                        hits++;
                        part = f;
                    }
                }
            double cov = hits / 16.0;
            if (strcmp(kind, "figure") == 0 || strcmp(kind, "disc") == 0) {
                const unsigned char *c = colours[part ? part : 2];
                p[0] = c[0], p[1] = c[1], p[2] = c[2];
                p[3] = (unsigned char)lround(255 * cov);
            } else if (strcmp(kind, "silhouette") == 0) {
                unsigned char v = (unsigned char)lround(255 * (1 - cov) + 20 * cov);
                p[0] = p[1] = p[2] = v;
                p[3] = 255;
            } else if (strcmp(kind, "grey") == 0) {
                p[0] = (unsigned char)lround(255 * (1 - cov) + 90 * cov);
            } else {
                fprintf(stderr, "mksample: unknown kind '%s'\n", kind);
                free(px);
                return 64;
            }
        }
    int ok = stbi_write_png(out, w, h, comp, px, w * comp);
    free(px);
    if (!ok) {
        fprintf(stderr, "mksample: cannot write %s\n", out);
        return 74;
    }
    return 0;
}
