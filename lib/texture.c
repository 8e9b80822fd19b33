/* texture.c - front projection of the source image: UVs, the bled texture, vertex colours (see texture.h). */
#include "texture.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Fill transparent pixels (alpha < 128) within TEXTURE_BLEED pixels of
 * the foreground with the mean colour of their opaque-or-filled 8
 * neighbours, ring by ring, so bilinear sampling at the rim never mixes in
 * the background's colour. Alpha is left as it was. */
#define TEXTURE_BLEED 4

static int bleed(orf_image *img)
{
    int w = img->w, h = img->h;
    size_t n = (size_t)w * h;
    uint8_t *ok = malloc(n), *next = malloc(n);
    if (!ok || !next) {
        free(ok);
        free(next);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        ok[i] = img->rgba[4 * i + 3] >= 128;
    for (int ring = 0; ring < TEXTURE_BLEED; ring++) {
        memcpy(next, ok, n);
        int changed = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = (size_t)y * w + x;
                if (ok[i])
                    continue;
                unsigned sum[3] = {0, 0, 0}, cnt = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int xx = x + dx, yy = y + dy;
                        if (xx < 0 || yy < 0 || xx >= w || yy >= h)
                            continue;
                        size_t j = (size_t)yy * w + xx;
                        if (!ok[j])
                            continue;
                        for (int k = 0; k < 3; k++)
                            sum[k] += img->rgba[4 * j + k];
                        cnt++;
                    }
                if (!cnt)
                    continue;
                for (int k = 0; k < 3; k++)
                    img->rgba[4 * i + k] = (uint8_t)((sum[k] + cnt / 2) / cnt);
                next[i] = 1;
                changed = 1;
            }
        memcpy(ok, next, n);
        if (!changed)
            break;
    }
    free(ok);
    free(next);
    return 0;
}

static void sample(const orf_image *img, float u, float v, uint8_t out[4])
{
    float fx = u * (float)img->w - 0.5f, fy = v * (float)img->h - 0.5f;
    if (!(fx > 0.0f))
        fx = 0.0f;
    if (!(fy > 0.0f))
        fy = 0.0f;
    if (fx > (float)(img->w - 1))
        fx = (float)(img->w - 1);
    if (fy > (float)(img->h - 1))
        fy = (float)(img->h - 1);
    int x0 = (int)fx, y0 = (int)fy;
    int x1 = x0 + 1 < img->w ? x0 + 1 : x0, y1 = y0 + 1 < img->h ? y0 + 1 : y0;
    float ax = fx - (float)x0, ay = fy - (float)y0;
    const uint8_t *p00 = img->rgba + 4 * ((size_t)y0 * img->w + x0);
    const uint8_t *p10 = img->rgba + 4 * ((size_t)y0 * img->w + x1);
    const uint8_t *p01 = img->rgba + 4 * ((size_t)y1 * img->w + x0);
    const uint8_t *p11 = img->rgba + 4 * ((size_t)y1 * img->w + x1);
    for (int k = 0; k < 4; k++) {
        float top = p00[k] + ax * (float)(p10[k] - p00[k]);
        float bot = p01[k] + ax * (float)(p11[k] - p01[k]);
        out[k] = (uint8_t)lrintf(top + ay * (bot - top));
    }
}

int texture_project_front(orf_mesh *m, const orf_image *img, float extent, int what, orf_err *e)
{
    if (!img || !img->rgba || img->w <= 0 || img->h <= 0)
        return orf_fail(e, "bad_request", "no image to project onto the mesh");
    if (!(extent > 0.0f) || !isfinite(extent))
        return orf_fail(e, "bad_request", "the image extent must be positive (got %g)",
                        (double)extent);
    size_t nv = m->nverts;
    float *uv = m->uv;
    uint8_t *col = m->col;
    orf_image copy = {0};
    int ok = 1;
    if ((what & TEXTURE_UVS) && !uv && nv)
        ok &= (uv = malloc(nv * 2 * sizeof *uv)) != NULL;
    if ((what & TEXTURE_COLORS) && !col && nv)
        ok &= (col = malloc(nv * 4)) != NULL;
    /* the bled copy serves the attached texture and the vertex colours
     * alike: a vertex on the rim samples pixels half outside the mask,
     * whose colour is the background's (blue dots along the rim of a
     * cut-out, where its transparent pixels are blue) */
    if (ok && (what & (TEXTURE_ATTACH | TEXTURE_COLORS))) {
        ok = image_alloc(&copy, img->w, img->h, e) == 0;
        if (ok) {
            memcpy(copy.rgba, img->rgba, (size_t)img->w * img->h * 4);
            copy.had_alpha = img->had_alpha;
            ok = bleed(&copy) == 0;
        }
    }
    if (!ok) {
        if (uv != m->uv)
            free(uv);
        if (col != m->col)
            free(col);
        image_free(&copy);
        return orf_fail(e, "too_large", "out of memory texturing %u vertices", m->nverts);
    }
    double px = (double)extent / (img->w > img->h ? img->w : img->h);
    double su = 1.0 / (img->w * px), sv = 1.0 / (img->h * px);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < nv; i++) {
        float u = (float)(0.5 + m->pos[3 * i] * su);
        float v = (float)(0.5 - m->pos[3 * i + 1] * sv);
        if (what & TEXTURE_UVS) {
            uv[2 * i] = u;
            uv[2 * i + 1] = v;
        }
        if (what & TEXTURE_COLORS) {
            sample(&copy, u, v, col + 4 * i);
            col[4 * i + 3] = 255; /* the solid is opaque, its rim too */
        }
    }
    m->uv = uv;
    m->col = col;
    if (what & TEXTURE_ATTACH) {
        image_free(&m->texture);
        m->texture = copy;
    } else {
        image_free(&copy);
    }
    return 0;
}

int texture_alpha_from_mask(orf_image *img, mask_method method, const char *name, orf_err *e)
{
    if (!img->rgba || img->had_alpha)
        return 0;
    orf_mask mask;
    orf_err me;
    memset(&mask, 0, sizeof mask);
    if (mask_compute(img, method, name, &mask, &me) != 0) {
        /* no foreground is no reason to refuse a texture; memory is */
        if (strcmp(me.code, "too_large") == 0) {
            if (e)
                *e = me;
            return -1;
        }
        return 0;
    }
    if (mask.method != MASK_NONE && mask.cov) {
        size_t n = (size_t)img->w * img->h;
        for (size_t i = 0; i < n; i++) {
            float c = mask.cov[i] < 0 ? 0 : mask.cov[i] > 1 ? 1 : mask.cov[i];
            img->rgba[4 * i + 3] = (uint8_t)lrintf(c * 255.0f);
        }
    }
    mask_free(&mask);
    return 0;
}
