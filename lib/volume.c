/* volume.c - sampling a field's signed function on a regular grid. */
#include "volume.h"

#include "mc_cell.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void volume_free(orf_volume *v)
{
    if (!v)
        return;
    free(v->f);
    memset(v, 0, sizeof *v);
}

/* Bilinear sample of the three field arrays at model (x, y); beyond the
 * grid, sd falls off by the distance outside so it stays continuous. */
static void field_at(const orf_field *fld, float x, float y, float *sd, float *top, float *bot)
{
    float L = (float)(fld->img_w > fld->img_h ? fld->img_w : fld->img_h);
    float W = (float)fld->img_w / L, H = (float)fld->img_h / L;
    float u = (x + 0.5f * W) / fld->sx - 0.5f;
    float v = (0.5f * H - y) / fld->sy - 0.5f;
    float out = 0;
    float umax = (float)(fld->w - 1), vmax = (float)(fld->h - 1);
    float du = u < 0 ? -u : u > umax ? u - umax : 0;
    float dv = v < 0 ? -v : v > vmax ? v - vmax : 0;
    if (du > 0 || dv > 0) {
        float ox = du * fld->sx, oy = dv * fld->sy;
        out = sqrtf(ox * ox + oy * oy);
        u = u < 0 ? 0 : u > umax ? umax : u;
        v = v < 0 ? 0 : v > vmax ? vmax : v;
    }
    int i0 = (int)floorf(u), j0 = (int)floorf(v);
    if (i0 > fld->w - 2)
        i0 = fld->w - 2;
    if (j0 > fld->h - 2)
        j0 = fld->h - 2;
    if (i0 < 0)
        i0 = 0;
    if (j0 < 0)
        j0 = 0;
    int i1 = fld->w > 1 ? i0 + 1 : i0, j1 = fld->h > 1 ? j0 + 1 : j0;
    float a = fld->w > 1 ? u - (float)i0 : 0, b = fld->h > 1 ? v - (float)j0 : 0;
    size_t p00 = (size_t)j0 * (size_t)fld->w + (size_t)i0, p10 = (size_t)j0 * (size_t)fld->w + (size_t)i1;
    size_t p01 = (size_t)j1 * (size_t)fld->w + (size_t)i0, p11 = (size_t)j1 * (size_t)fld->w + (size_t)i1;
    float w00 = (1 - a) * (1 - b), w10 = a * (1 - b), w01 = (1 - a) * b, w11 = a * b;
    *sd = w00 * fld->sd[p00] + w10 * fld->sd[p10] + w01 * fld->sd[p01] + w11 * fld->sd[p11] - out;
    *top = w00 * fld->top[p00] + w10 * fld->top[p10] + w01 * fld->top[p01] + w11 * fld->top[p11];
    *bot = w00 * fld->bot[p00] + w10 * fld->bot[p10] + w01 * fld->bot[p01] + w11 * fld->bot[p11];
}

/* The solid's function: positive inside. (top - z)(z - bot) is a smooth
 * (for a sphere, quadratic) function with the same zero set and sign as
 * min(top - z, z - bot), so linear interpolation along grid edges places
 * the surface far better near the rim than z_front - |z| would; k * sd
 * (k the largest thickness) cuts it at the rim with a matching slope. */
static inline float solid_value(float k, float sd, float top, float bot, float z)
{
    float a = k * sd, b = (top - z) * (z - bot);
    return a < b ? a : b;
}

static float thickness_scale(const orf_field *fld)
{
    float k = 0;
    size_t cells = (size_t)fld->w * (size_t)fld->h;
    for (size_t i = 0; i < cells; i++)
        if (fld->sd[i] > 0 && fld->top[i] - fld->bot[i] > k)
            k = fld->top[i] - fld->bot[i];
    return k > 1e-3f ? k : 1e-3f;
}

float volume_eval(const orf_field *fld, float x, float y, float z)
{
    float sd, top, bot;
    field_at(fld, x, y, &sd, &top, &bot);
    return solid_value(thickness_scale(fld), sd, top, bot, z);
}

int volume_sample(const orf_field *fld, int n, orf_volume *v, orf_err *e)
{
    memset(v, 0, sizeof *v);
    if (n < 4 || n > 2048)
        return orf_fail(e, "bad_request", "resolution %d is outside 4..2048", n);
    if (!fld || !fld->sd || fld->w < 1 || fld->h < 1)
        return orf_fail(e, "bad_request", "volume: no field");
    float L = (float)(fld->img_w > fld->img_h ? fld->img_w : fld->img_h);
    float W = (float)fld->img_w / L, H = (float)fld->img_h / L;
    float zlo = 0, zhi = 0;
    size_t cells = (size_t)fld->w * (size_t)fld->h;
    int any = 0;
    for (size_t i = 0; i < cells; i++) {
        if (fld->sd[i] <= 0)
            continue;
        if (!any || fld->bot[i] < zlo)
            zlo = fld->bot[i];
        if (!any || fld->top[i] > zhi)
            zhi = fld->top[i];
        any = 1;
    }
    float step = 1.0f / (float)n;
    float ext[3] = {W, H, zhi - zlo};
    float mid[3] = {0, 0, 0.5f * (zhi + zlo)};
    int cnt[3];
    float org[3];
    for (int a = 0; a < 3; a++) {
        int cells_a = (int)ceilf(ext[a] / step - 1e-4f);
        if (cells_a < 0)
            cells_a = 0;
        cnt[a] = cells_a + 4; /* 1.5 cells of margin on each side, plus one point */
        org[a] = mid[a] - 0.5f * (float)(cnt[a] - 1) * step;
    }
    if ((double)cnt[0] * cnt[1] * cnt[2] > 4e8)
        return orf_fail(e, "too_large", "volume of %d x %d x %d points is too large", cnt[0],
                        cnt[1], cnt[2]);
    size_t total = (size_t)cnt[0] * (size_t)cnt[1] * (size_t)cnt[2];
    v->f = malloc(total * sizeof(float));
    if (!v->f)
        return orf_fail(e, "too_large", "out of memory for a volume of %zu points", total);
    v->nx = cnt[0];
    v->ny = cnt[1];
    v->nz = cnt[2];
    v->x0 = org[0];
    v->y0 = org[1];
    v->z0 = org[2];
    v->step = step;
    int nx = v->nx, ny = v->ny, nz = v->nz;
    float *f = v->f;
    float kk = thickness_scale(fld);
#pragma omp parallel for schedule(static) if (total >= MC_PARALLEL_POINTS)
    for (int j = 0; j < ny; j++) {
        for (int i = 0; i < nx; i++) {
            float sd, top, bot;
            field_at(fld, org[0] + (float)i * step, org[1] + (float)j * step, &sd, &top, &bot);
            for (int k = 0; k < nz; k++) {
                float z = org[2] + (float)k * step;
                f[((size_t)k * (size_t)ny + (size_t)j) * (size_t)nx + (size_t)i] =
                    solid_value(kk, sd, top, bot, z);
            }
        }
    }
    return 0;
}
