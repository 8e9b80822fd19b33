/* field.c - the field's public entry points: parameters and their names,
 * field_compute (the inflate, extrude and relief modes, built from
 * field_resample.c, field_distance.c and field_multigrid.c) and field_free.
 * Serialisation is in field_io.c. */
#include "field.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "field_internal.h"

void field_params_default(field_params *p)
{
    memset(p, 0, sizeof *p);
    p->mode = FIELD_INFLATE;
    p->back = FIELD_BACK_MIRROR;
    p->depth = 1.0f;
    p->thickness = 0.1f;
    p->invert = 0;
    p->base = 0.02f;
    p->max_side = FIELD_DEFAULT_SIDE;
    p->tolerance = 2e-3;
}

static const char *const mode_names[] = {"inflate", "extrude", "relief"};
static const char *const back_names[] = {"mirror", "flat"};

const char *field_mode_name(field_mode m)
{
    return (unsigned)m < 3 ? mode_names[m] : "?";
}

const char *field_back_name(field_back b)
{
    return (unsigned)b < 2 ? back_names[b] : "?";
}

int field_mode_parse(const char *s, field_mode *m, orf_err *e)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, mode_names[i]) == 0) {
            *m = (field_mode)i;
            return 0;
        }
    return orf_fail(e, "bad_request", "mode \"%s\" is not one of inflate, extrude, relief",
                    s ? s : "");
}

int field_back_parse(const char *s, field_back *b, orf_err *e)
{
    for (int i = 0; i < 2; i++)
        if (s && strcmp(s, back_names[i]) == 0) {
            *b = (field_back)i;
            return 0;
        }
    return orf_fail(e, "bad_request", "back \"%s\" is not one of mirror, flat", s ? s : "");
}

void field_free(orf_field *f)
{
    if (!f)
        return;
    free(f->sd);
    free(f->top);
    free(f->bot);
    memset(f, 0, sizeof *f);
}

void field_grid(int img_w, int img_h, int max_side, orf_field *f)
{
    int L = img_w > img_h ? img_w : img_h;
    int w = (int)lround((double)img_w * max_side / L), h = (int)lround((double)img_h * max_side / L);
    if (w < 1)
        w = 1;
    if (h < 1)
        h = 1;
    f->w = w;
    f->h = h;
    f->img_w = img_w;
    f->img_h = img_h;
    f->sx = (float)((double)img_w / L / w);
    f->sy = (float)((double)img_h / L / h);
}

/* relief: a 3 x 3 box blur of a (w x h) in place, tmp (w x h) its scratch;
 * at the edges the average is over the cells that exist. */
static void box_blur(float *a, float *tmp, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float s = 0;
            int c = 0;
            for (int k = -1; k <= 1; k++)
                if (x + k >= 0 && x + k < w) {
                    s += a[field_at(w, x + k, y)];
                    c++;
                }
            tmp[field_at(w, x, y)] = s / (float)c;
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float s = 0;
            int c = 0;
            for (int k = -1; k <= 1; k++)
                if (y + k >= 0 && y + k < h) {
                    s += tmp[field_at(w, x, y + k)];
                    c++;
                }
            a[field_at(w, x, y)] = s / (float)c;
        }
}

int field_compute(const orf_mask *mask, const orf_image *img, const field_params *p,
                  orf_field *f, orf_err *e)
{
    memset(f, 0, sizeof *f);
    if (!mask || !mask->cov || mask->w <= 0 || mask->h <= 0)
        return orf_fail(e, "bad_request", "field: no mask");
    if (p->max_side < 8 || p->max_side > 4096)
        return orf_fail(e, "bad_request", "field: working grid of %d cells is outside 8..4096",
                        p->max_side);
    if (!(p->depth > 0 && p->depth <= 100))
        return orf_fail(e, "bad_request", "depth %g is outside (0, 100]", (double)p->depth);
    if (p->mode == FIELD_EXTRUDE && !(p->thickness > 0 && p->thickness <= 10))
        return orf_fail(e, "bad_request", "thickness %g is outside (0, 10]", (double)p->thickness);
    if (p->mode == FIELD_RELIEF && !(p->base >= 0 && p->base <= 10))
        return orf_fail(e, "bad_request", "base %g is outside [0, 10]", (double)p->base);
    if (p->mode == FIELD_RELIEF && (!img || img->w != mask->w || img->h != mask->h))
        return orf_fail(e, "bad_request", "field: relief needs the image the mask came from");
    int iw = mask->w, ih = mask->h;
    field_grid(iw, ih, p->max_side, f);
    int w = f->w, h = f->h;
    size_t n = (size_t)w * (size_t)h;
    f->mode = p->mode;
    f->back = p->back;
    f->sd = malloc(n * sizeof(float));
    f->top = malloc(n * sizeof(float));
    f->bot = malloc(n * sizeof(float));
    float *cov = malloc(n * sizeof(float));
    if (!f->sd || !f->top || !f->bot || !cov || field_resample(mask->cov, iw, ih, cov, w, h) != 0) {
        free(cov);
        field_free(f);
        return orf_fail(e, "too_large", "field: out of memory for %d x %d cells", w, h);
    }
    size_t inside = 0;
    for (size_t i = 0; i < n; i++)
        if (cov[i] >= 0.5f)
            inside++;
    if (inside == 0) {
        free(cov);
        field_free(f);
        return orf_fail(e, "no_foreground", "field: the foreground is too small for %d x %d cells",
                        w, h);
    }
    if (field_signed_distance(cov, w, h, f->sd) != 0) {
        free(cov);
        field_free(f);
        return orf_fail(e, "too_large", "field: out of memory for %d x %d cells", w, h);
    }
    float cell = 0.5f * (f->sx + f->sy);
    for (size_t i = 0; i < n; i++)
        f->sd[i] *= cell;

    if (p->mode == FIELD_INFLATE) {
        int rc = p->solve ? p->solve(p->solve_ctx, cov, w, h, p->tolerance, f->top, &f->cycles, &f->residual, e)
                          : field_inflate_solve(cov, w, h, p->tolerance, f->top, &f->cycles, &f->residual, e);
        if (rc != 0) {
            free(cov);
            field_free(f);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            float z = p->depth * sqrtf(f->top[i]) * cell;
            if (z < FIELD_TOP_MIN)
                z = 0; /* a field holds no height too small to sample (field_internal.h) */
            f->top[i] = z;
            f->bot[i] = p->back == FIELD_BACK_FLAT ? 0.0f : -z;
        }
    } else if (p->mode == FIELD_EXTRUDE) {
        float t = 0.5f * p->thickness;
        for (size_t i = 0; i < n; i++) {
            f->top[i] = t;
            f->bot[i] = p->back == FIELD_BACK_FLAT ? 0.0f : -t;
        }
        if (p->back == FIELD_BACK_FLAT)
            for (size_t i = 0; i < n; i++)
                f->top[i] = p->thickness;
    } else {
        float *lum = malloc((size_t)iw * (size_t)ih * sizeof *lum);
        if (!lum) {
            free(cov);
            field_free(f);
            return orf_fail(e, "too_large", "field: out of memory for the relief");
        }
        for (size_t i = 0; i < (size_t)iw * (size_t)ih; i++) {
            const uint8_t *px = img->rgba + 4 * i;
            float l = (0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2]) / 255.0f;
            lum[i] = p->invert ? 1.0f - l : l;
        }
        int rc = field_resample(lum, iw, ih, f->top, w, h);
        free(lum);
        if (rc != 0) {
            free(cov);
            field_free(f);
            return orf_fail(e, "too_large", "field: out of memory for the relief");
        }
        box_blur(f->top, f->bot, w, h);
        float hmax = p->base + p->depth * FIELD_RELIEF_HEIGHT;
        float mid = 0.5f * hmax;
        for (size_t i = 0; i < n; i++) {
            f->top[i] = p->base + p->depth * FIELD_RELIEF_HEIGHT * f->top[i] - mid;
            if (f->top[i] < -mid + 1e-4f)
                f->top[i] = -mid + 1e-4f;
            f->bot[i] = -mid;
        }
    }
    free(cov);
    return 0;
}
