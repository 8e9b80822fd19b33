/* pngstat - facts about a picture's alpha channel, for the mesh-render tests.
 *
 *   pngstat FILE [REF]
 *
 * Prints one JSON object: width, height, channels (in the file), coverage
 * (mean alpha, 0..1), cx, cy (alpha-weighted centroid in pixels, -1 when
 * empty), corner_alpha (largest alpha of the four corner pixels, 0..255),
 * border_alpha (largest alpha on the picture's edge), and mean_r/g/b (mean
 * colour of the pixels with alpha > 0). With REF, a picture of the same size,
 * also iou (alpha intersection over union, min/max of fractional alphas) and
 * mirror_iou (the same against REF flipped left to right).
 * Exit status 1 with a message when a file cannot be read, 64 on usage.
 */
#include <stdio.h>
#include <stdlib.h>

#include <stb_image.h>

static unsigned char *load(const char *path, int *w, int *h, int *ch)
{
    unsigned char *p = stbi_load(path, w, h, ch, 4);
    if (!p)
        fprintf(stderr, "pngstat: %s: %s\n", path, stbi_failure_reason());
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: pngstat FILE [REF]\n");
        return 64;
    }
    int w, h, ch;
    unsigned char *p = load(argv[1], &w, &h, &ch);
    if (!p)
        return 1;
    double sum = 0, sx = 0, sy = 0, rgb[3] = {0, 0, 0};
    long lit = 0;
    int corner = 0, border = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const unsigned char *q = p + 4 * ((size_t)y * w + x);
            double a = q[3] / 255.0;
            sum += a, sx += a * (x + 0.5), sy += a * (y + 0.5);
            if (q[3]) {
                lit++;
                for (int k = 0; k < 3; k++)
                    rgb[k] += q[k];
            }
            if ((x == 0 || x == w - 1) && (y == 0 || y == h - 1) && q[3] > corner)
                corner = q[3];
            if ((x == 0 || x == w - 1 || y == 0 || y == h - 1) && q[3] > border)
                border = q[3];
        }
    printf("{\"width\":%d,\"height\":%d,\"channels\":%d,\"coverage\":%.6f,\"cx\":%.3f,\"cy\":%.3f,"
           "\"corner_alpha\":%d,\"border_alpha\":%d,\"mean_r\":%.1f,\"mean_g\":%.1f,\"mean_b\":%.1f",
           w, h, ch, sum / ((double)w * h), sum > 0 ? sx / sum : -1.0, sum > 0 ? sy / sum : -1.0, corner,
           border, lit ? rgb[0] / lit : 0.0, lit ? rgb[1] / lit : 0.0, lit ? rgb[2] / lit : 0.0);
    if (argc == 3) {
        int rw, rh, rch;
        unsigned char *r = load(argv[2], &rw, &rh, &rch);
        if (!r) {
            stbi_image_free(p);
            return 1;
        }
        if (rw != w || rh != h) {
            fprintf(stderr, "pngstat: %s is %dx%d, %s is %dx%d\n", argv[1], w, h, argv[2], rw, rh);
            stbi_image_free(p), stbi_image_free(r);
            return 1;
        }
        double in = 0, un = 0, min_m = 0, un_m = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double a = p[4 * ((size_t)y * w + x) + 3], b = r[4 * ((size_t)y * w + x) + 3],
                       m = r[4 * ((size_t)y * w + (w - 1 - x)) + 3];
                in += a < b ? a : b, un += a > b ? a : b;
                min_m += a < m ? a : m, un_m += a > m ? a : m;
            }
        printf(",\"iou\":%.6f,\"mirror_iou\":%.6f", un > 0 ? in / un : 1.0, un_m > 0 ? min_m / un_m : 1.0);
        stbi_image_free(r);
    }
    printf("}\n");
    stbi_image_free(p);
    return 0;
}
