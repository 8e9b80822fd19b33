/* field_resample.c - resampling an image-sized raster (the mask's coverage,
 * the relief's luminance) onto the field's working grid: separable, area
 * averaging where it shrinks, linear interpolation where it grows. */
#include <math.h>
#include <stdlib.h>

#include "alloc.h"
#include "field_internal.h"

/* The taps of a 1-D resampling of n samples onto m cells: destination cell k
 * is the sum over t < count of weight[k * taps + t] * src[first[k] + t].
 * Shrinking, the weights are the overlaps of the source samples with the
 * cell (area averaging); growing, linear interpolation between the two
 * nearest sample centres (clamped at the ends). */
typedef struct resample_taps {
    int taps;      /* slots per destination cell */
    int *first;    /* m */
    int *count;    /* m */
    double *weight; /* m * taps */
} resample_taps;

static void taps_free(resample_taps *t)
{
    free(t->first);
    free(t->count);
    free(t->weight);
}

static int taps_make(resample_taps *t, int n, int m)
{
    double ratio = (double)n / (double)m;
    t->taps = ratio > 1.0 ? (int)ceil(ratio) + 1 : 2;
    t->first = malloc((size_t)m * sizeof(int));
    t->count = malloc((size_t)m * sizeof(int));
    t->weight = orf_zalloc((size_t)m * (size_t)t->taps, sizeof(double));
    if (!t->first || !t->count || !t->weight) {
        taps_free(t);
        return -1;
    }
    for (int k = 0; k < m; k++) {
        double *wk = t->weight + (size_t)k * (size_t)t->taps;
        if (ratio > 1.0) {
            double a = k * ratio, b = (k + 1) * ratio;
            int i0 = (int)floor(a), i1 = (int)ceil(b);
            if (i1 > n)
                i1 = n;
            t->first[k] = i0;
            t->count[k] = i1 - i0;
            for (int i = i0; i < i1; i++) {
                double lo = i > a ? i : a, hi = i + 1 < b ? i + 1 : b;
                wk[i - i0] = (hi - lo) / ratio;
            }
        } else {
            double c = (k + 0.5) * ratio - 0.5;
            int i = (int)floor(c);
            double f = c - i;
            int ia = i < 0 ? 0 : i >= n ? n - 1 : i;
            int ib = i + 1 < 0 ? 0 : i + 1 >= n ? n - 1 : i + 1;
            /* ia and ib are equal or neighbours */
            t->first[k] = ia;
            t->count[k] = ib - ia + 1;
            wk[0] = 1 - f;
            wk[ib - ia] += f;
        }
    }
    return 0;
}

/* src (sw x shh) onto dst (w x h): rows first, then columns, each pass a
 * row-at-a-time sum of weighted source rows. */
int field_resample(const float *src, int sw, int shh, float *dst, int w, int h)
{
    resample_taps tx = {0}, ty = {0};
    float *tmp = malloc((size_t)w * (size_t)shh * sizeof *tmp);
    double *acc = malloc((size_t)w * sizeof *acc);
    if (!tmp || !acc || taps_make(&tx, sw, w) != 0 || taps_make(&ty, shh, h) != 0) {
        free(tmp);
        free(acc);
        taps_free(&tx);
        taps_free(&ty);
        return -1;
    }
    for (int y = 0; y < shh; y++) {
        const float *row = src + (size_t)y * (size_t)sw;
        float *out = tmp + (size_t)y * (size_t)w;
        for (int k = 0; k < w; k++) {
            const double *wk = tx.weight + (size_t)k * (size_t)tx.taps;
            const float *s = row + tx.first[k];
            double v = 0;
            for (int t = 0; t < tx.count[k]; t++)
                v += wk[t] * s[t];
            out[k] = (float)v;
        }
    }
    for (int k = 0; k < h; k++) {
        const double *wk = ty.weight + (size_t)k * (size_t)ty.taps;
        for (int x = 0; x < w; x++)
            acc[x] = 0;
        for (int t = 0; t < ty.count[k]; t++) {
            const float *s = tmp + (size_t)(ty.first[k] + t) * (size_t)w;
            double wt = wk[t];
            for (int x = 0; x < w; x++)
                acc[x] += wt * s[x];
        }
        float *out = dst + (size_t)k * (size_t)w;
        for (int x = 0; x < w; x++)
            out[x] = (float)acc[x];
    }
    free(tmp);
    free(acc);
    taps_free(&tx);
    taps_free(&ty);
    return 0;
}
