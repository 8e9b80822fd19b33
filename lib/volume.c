/* volume.c - sampling a field's signed function on a regular grid. */
#include "volume.h"

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

void volume_field_view_of(const orf_field *fld, volume_field_view *view)
{
    view->w = fld->w;
    view->h = fld->h;
    view->img_w = fld->img_w;
    view->img_h = fld->img_h;
    view->sx = fld->sx;
    view->sy = fld->sy;
    view->sd = fld->sd;
    view->top = fld->top;
    view->bot = fld->bot;
}

float volume_eval(const orf_field *fld, float x, float y, float z)
{
    float sd, top, bot;
    volume_field_view view;
    volume_field_view_of(fld, &view);
    volume_field_at(&view, x, y, &sd, &top, &bot);
    return volume_point_value(sd, top, bot, z);
}

int volume_layout(const orf_field *fld, int n, orf_volume *v, orf_err *e)
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
    v->nx = cnt[0];
    v->ny = cnt[1];
    v->nz = cnt[2];
    v->x0 = org[0];
    v->y0 = org[1];
    v->z0 = org[2];
    v->step = step;
    return 0;
}

int volume_sample(const orf_field *fld, int n, orf_volume *v, orf_err *e)
{
    if (volume_layout(fld, n, v, e) != 0)
        return -1;
    size_t total = (size_t)v->nx * (size_t)v->ny * (size_t)v->nz;
    v->f = malloc(total * sizeof(float));
    if (!v->f) {
        memset(v, 0, sizeof *v);
        return orf_fail(e, "too_large", "out of memory for a volume of %zu points", total);
    }
    float org[3] = {v->x0, v->y0, v->z0}, step = v->step;
    volume_field_view view;
    volume_field_view_of(fld, &view);
    int nx = v->nx, ny = v->ny, nz = v->nz;
    float *f = v->f;
#pragma omp parallel for schedule(static)
    for (int j = 0; j < ny; j++) {
        for (int i = 0; i < nx; i++) {
            float sd, top, bot;
            volume_field_at(&view, org[0] + (float)i * step, org[1] + (float)j * step, &sd, &top,
                            &bot);
            for (int k = 0; k < nz; k++) {
                float z = org[2] + (float)k * step;
                f[((size_t)k * (size_t)ny + (size_t)j) * (size_t)nx + (size_t)i] =
                    volume_point_value(sd, top, bot, z);
            }
        }
    }
    return 0;
}
