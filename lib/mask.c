/* mask.c - foreground coverage from alpha, border flood fill or luminance. */
#include "mask.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static const char *const method_names[] = {"auto", "alpha", "border", "luma", "none"};

const char *mask_method_name(mask_method m)
{
    return (unsigned)m < 5 ? method_names[m] : "?";
}

int mask_method_parse(const char *s, mask_method *m, orf_err *e)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, method_names[i]) == 0) {
            *m = (mask_method)i;
            return 0;
        }
    return orf_fail(e, "bad_request", "mask \"%s\" is not one of auto, alpha, border, luma",
                    s ? s : "");
}

void mask_free(orf_mask *m)
{
    if (!m)
        return;
    free(m->cov);
    memset(m, 0, sizeof *m);
}

static int cmp_u8(const void *a, const void *b)
{
    return (int)*(const uint8_t *)a - (int)*(const uint8_t *)b;
}

static inline int chan_diff(const uint8_t *p, const uint8_t bg[3])
{
    int d = 0;
    for (int c = 0; c < 3; c++) {
        int v = abs((int)p[c] - (int)bg[c]);
        if (v > d)
            d = v;
    }
    return d;
}

static inline float luma_of(const uint8_t *p)
{
    return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
}

/* Median colour of the border pixels and the share of them within tolerance. */
static int border_colour(const orf_image *img, uint8_t bg[3], double *uniform)
{
    int w = img->w, h = img->h;
    size_t nb = 2 * (size_t)w + 2 * (size_t)h;
    uint8_t *ch = malloc(nb);
    size_t *idx = malloc(nb * sizeof *idx);
    if (!ch || !idx) {
        free(ch);
        free(idx);
        return -1;
    }
    size_t k = 0;
    for (int x = 0; x < w; x++) {
        idx[k++] = (size_t)x;
        if (h > 1)
            idx[k++] = (size_t)(h - 1) * (size_t)w + (size_t)x;
    }
    for (int y = 1; y < h - 1; y++) {
        idx[k++] = (size_t)y * (size_t)w;
        if (w > 1)
            idx[k++] = (size_t)y * (size_t)w + (size_t)(w - 1);
    }
    nb = k;
    for (int c = 0; c < 3; c++) {
        for (size_t i = 0; i < nb; i++)
            ch[i] = img->rgba[4 * idx[i] + (size_t)c];
        qsort(ch, nb, 1, cmp_u8);
        bg[c] = ch[nb / 2];
    }
    size_t near = 0;
    for (size_t i = 0; i < nb; i++)
        if (chan_diff(img->rgba + 4 * idx[i], bg) <= MASK_BORDER_TOLERANCE)
            near++;
    *uniform = nb ? (double)near / (double)nb : 0.0;
    free(ch);
    free(idx);
    return 0;
}

static int mask_border(const orf_image *img, const uint8_t bg[3], float *cov)
{
    int w = img->w, h = img->h;
    size_t n = (size_t)w * (size_t)h;
    uint8_t *isbg = orf_zalloc(n, 1);
    uint32_t *queue = malloc(n * sizeof *queue);
    uint8_t *dist = malloc(n);
    if (!isbg || !queue || !dist) {
        free(isbg);
        free(queue);
        free(dist);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int d = chan_diff(img->rgba + 4 * i, bg);
        dist[i] = (uint8_t)d;
    }
    size_t qh = 0, qt = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (!(y == 0 || y == h - 1 || x == 0 || x == w - 1))
                continue;
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            if (!isbg[i] && dist[i] <= MASK_BORDER_TOLERANCE) {
                isbg[i] = 1;
                queue[qt++] = (uint32_t)i;
            }
        }
    while (qh < qt) {
        uint32_t i = queue[qh++];
        int x = (int)(i % (uint32_t)w), y = (int)(i / (uint32_t)w);
        const int dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
        for (int k = 0; k < 4; k++) {
            int nx = x + dx[k], ny = y + dy[k];
            if (nx < 0 || ny < 0 || nx >= w || ny >= h)
                continue;
            size_t j = (size_t)ny * (size_t)w + (size_t)nx;
            if (!isbg[j] && dist[j] <= MASK_BORDER_TOLERANCE) {
                isbg[j] = 1;
                queue[qt++] = (uint32_t)j;
            }
        }
    }
    /* Coverage: 1 inside, 0 in the background; along the edge the colour
     * distance to the background relative to the nearby subject colour. */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            int near_bg = 0, near_fg = 0, dref = 0;
            for (int yy = y - 1; yy <= y + 1; yy++)
                for (int xx = x - 1; xx <= x + 1; xx++) {
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h)
                        continue;
                    size_t j = (size_t)yy * (size_t)w + (size_t)xx;
                    if (isbg[j])
                        near_bg = 1;
                    else {
                        near_fg = 1;
                        if (dist[j] > dref)
                            dref = dist[j];
                    }
                }
            if (!isbg[i] && !near_bg)
                cov[i] = 1.0f;
            else if (isbg[i] && !near_fg)
                cov[i] = 0.0f;
            else {
                float c = dref > 0 ? (float)dist[i] / (float)dref : 0.0f;
                if (isbg[i] && c > 0.49f)
                    c = 0.49f; /* flood-filled pixels stay background */
                cov[i] = c > 1.0f ? 1.0f : c;
            }
        }
    free(isbg);
    free(queue);
    free(dist);
    return 0;
}

static void mask_luma(const orf_image *img, float *cov)
{
    size_t n = (size_t)img->w * (size_t)img->h;
    double hist[256] = {0};
    for (size_t i = 0; i < n; i++)
        hist[(int)(luma_of(img->rgba + 4 * i) + 0.5f) & 255] += 1;
    /* Otsu. */
    double sum = 0, total = (double)n;
    for (int i = 0; i < 256; i++)
        sum += i * hist[i];
    double wb = 0, sb = 0, best = -1;
    int t = 128;
    for (int i = 0; i < 256; i++) {
        wb += hist[i];
        if (wb == 0 || wb == total)
            continue;
        sb += i * hist[i];
        double mb = sb / wb, mf = (sum - sb) / (total - wb);
        double between = wb * (total - wb) * (mb - mf) * (mb - mf);
        if (between > best) {
            best = between;
            t = i;
        }
    }
    /* Foreground: the side holding fewer border pixels. */
    size_t dark = 0, light = 0;
    int w = img->w, h = img->h;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (y == 0 || y == h - 1 || x == 0 || x == w - 1) {
                float l = luma_of(img->rgba + 4 * ((size_t)y * (size_t)w + (size_t)x));
                if (l <= (float)t + 0.5f)
                    dark++;
                else
                    light++;
            }
    int fg_dark = dark <= light;
    for (size_t i = 0; i < n; i++) {
        float l = luma_of(img->rgba + 4 * i);
        float c = (l - ((float)t + 0.5f)) / 16.0f + 0.5f;
        if (fg_dark)
            c = 1.0f - c;
        cov[i] = c < 0 ? 0 : c > 1 ? 1 : c;
    }
}

/* Drop 8-connected parts of (cov >= 0.5) under MASK_SPECK_SHARE of the
 * foreground; soft pixels are kept only next to a kept part.
 * Returns the number of parts dropped, or -1 when memory runs out. */
static int drop_specks(int w, int h, float *cov, size_t *fg_count)
{
    /* labels on a padded grid: a border of -3 ("never foreground") around
     * the image, so the 8 neighbours need no bounds tests */
    const ptrdiff_t s = (ptrdiff_t)w + 2;
    size_t np = (size_t)(w + 2) * (size_t)(h + 2);
    int32_t *label = malloc(np * sizeof *label);
    uint32_t *queue = malloc(((size_t)w * (size_t)h + 1) * sizeof *queue);
    size_t *sizes = NULL;
    if (!label || !queue) {
        free(label);
        free(queue);
        return -1;
    }
    const ptrdiff_t nb[8] = {-s - 1, -s, -s + 1, -1, 1, s - 1, s, s + 1};
    for (size_t i = 0; i < np; i++)
        label[i] = -3;
    size_t total = 0, nlab = 0, cap = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int fg = cov[(size_t)y * (size_t)w + (size_t)x] >= 0.5f;
            label[(size_t)(y + 1) * (size_t)s + (size_t)(x + 1)] = fg ? -1 : -3;
            total += (size_t)fg;
        }
    /* components of the foreground (8-connected), in scan order */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t p0 = (size_t)(y + 1) * (size_t)s + (size_t)(x + 1);
            if (label[p0] != -1)
                continue;
            if (nlab == cap) {
                cap = cap ? cap * 2 : 64;
                size_t *ns = realloc(sizes, cap * sizeof *ns);
                if (!ns) {
                    free(sizes);
                    free(label);
                    free(queue);
                    return -1;
                }
                sizes = ns;
            }
            size_t qh = 0, qt = 0;
            label[p0] = (int32_t)nlab;
            queue[qt++] = (uint32_t)p0;
            while (qh < qt) {
                uint32_t i = queue[qh++];
                for (int k = 0; k < 8; k++) {
                    size_t j = (size_t)((ptrdiff_t)i + nb[k]);
                    if (label[j] == -1) {
                        label[j] = (int32_t)nlab;
                        queue[qt++] = (uint32_t)j;
                    }
                }
            }
            sizes[nlab++] = qt;
        }
    double min_size = MASK_SPECK_SHARE * (double)total;
    int dropped = 0;
    for (size_t k = 0; k < nlab; k++)
        if ((double)sizes[k] < min_size)
            dropped++;
    /* a pixel of a kept part: label >= 0 and its part big enough */
#define KEPT(j) (label[j] >= 0 && (double)sizes[label[j]] >= min_size)
    size_t kept = 0;
    /* Soft pixels (0 < cov < 1/2) stay only next to a kept part; the parts
     * too small go. */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            size_t p = (size_t)(y + 1) * (size_t)s + (size_t)(x + 1);
            if (label[p] >= 0) {
                if (KEPT(p))
                    kept++;
                else
                    cov[i] = 0.0f;
                continue;
            }
            if (cov[i] <= 0.0f)
                continue;
            int ok = 0;
            for (int k = 0; k < 8 && !ok; k++)
                ok = KEPT((size_t)((ptrdiff_t)p + nb[k]));
            if (!ok)
                cov[i] = 0.0f;
        }
#undef KEPT
    free(sizes);
    free(label);
    free(queue);
    *fg_count = kept;
    return dropped;
}

int mask_compute(const orf_image *img, mask_method want, const char *name, orf_mask *m, orf_err *e)
{
    memset(m, 0, sizeof *m);
    if (!name)
        name = "<image>";
    if (!img || !img->rgba || img->w <= 0 || img->h <= 0)
        return orf_fail(e, "bad_image", "%s: no pixels", name);
    if ((size_t)img->w * (size_t)img->h > UINT32_MAX)
        return orf_fail(e, "too_large", "%s: too many pixels for a mask", name);
    int w = img->w, h = img->h;
    size_t n = (size_t)w * (size_t)h;
    m->cov = malloc(n * sizeof *m->cov);
    if (!m->cov)
        return orf_fail(e, "too_large", "%s: out of memory for the mask", name);
    m->w = w;
    m->h = h;

    size_t clear = 0;
    for (size_t i = 0; i < n; i++)
        if (img->rgba[4 * i + 3] < 128)
            clear++;
    double clear_share = (double)clear / (double)n;
    uint8_t bg[3];
    double uniform = 0;
    if (border_colour(img, bg, &uniform) != 0) {
        mask_free(m);
        return orf_fail(e, "too_large", "%s: out of memory for the mask", name);
    }

    mask_method method = want;
    if (want == MASK_AUTO) {
        if (clear_share >= MASK_ALPHA_SHARE) {
            method = MASK_ALPHA;
            snprintf(m->why, sizeof m->why, "%.1f%% of the pixels are transparent",
                     100.0 * clear_share);
        } else if (uniform >= MASK_BORDER_UNIFORM) {
            method = MASK_BORDER;
            snprintf(m->why, sizeof m->why,
                     "%.0f%% of the border is one colour (#%02x%02x%02x), taken as background",
                     100.0 * uniform, bg[0], bg[1], bg[2]);
        } else {
            method = MASK_NONE;
            snprintf(m->why, sizeof m->why,
                     "no transparency and no uniform border (only %.0f%% of the border is near "
                     "its median colour): a photograph-like image",
                     100.0 * uniform);
        }
    } else {
        snprintf(m->why, sizeof m->why, "mask %s was asked for", mask_method_name(want));
    }
    m->method = method;

    switch (method) {
    case MASK_ALPHA:
        for (size_t i = 0; i < n; i++)
            m->cov[i] = (float)img->rgba[4 * i + 3] / 255.0f;
        break;
    case MASK_BORDER:
        if (mask_border(img, bg, m->cov) != 0) {
            mask_free(m);
            return orf_fail(e, "too_large", "%s: out of memory for the mask", name);
        }
        break;
    case MASK_LUMA:
        mask_luma(img, m->cov);
        break;
    default:
        for (size_t i = 0; i < n; i++)
            m->cov[i] = 1.0f;
        break;
    }

    size_t fg = 0;
    int dropped = drop_specks(w, h, m->cov, &fg);
    if (dropped < 0) {
        mask_free(m);
        return orf_fail(e, "too_large", "%s: out of memory for the mask", name);
    }
    m->specks_dropped = dropped;
    m->foreground = (double)fg / (double)n;
    if (fg == 0) {
        const char *why = method == MASK_ALPHA    ? "every pixel is transparent"
                          : method == MASK_BORDER ? "the whole image is the background colour"
                                                  : "nothing stands out from the background";
        mask_free(m);
        return orf_fail(e, "no_foreground", "%s: no foreground (%s)", name, why);
    }
    return 0;
}
