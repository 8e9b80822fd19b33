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

int volume_layout(const orf_field *fld, int n, orf_volume *v, orf_err *e)
{
    memset(v, 0, sizeof *v);
    if (n < 4 || n > 2048)
        return orf_fail(e, "bad_request", "resolution %d is outside 4..2048", n);
    if (!fld || !fld->sd || !fld->top || !fld->bot || fld->w < 1 || fld->h < 1)
        return orf_fail(e, "bad_request", "volume: no field");
    volume_field_view view;
    volume_field_view_of(fld, &view);
    int cnt[3];
    float org[3], step;
    if (volume_point_grid(&view, n, cnt, org, &step) != 0)
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

float volume_eval(const orf_field *fld, float x, float y, float z)
{
    volume_field_view view;
    volume_field_view_of(fld, &view);
    float sd, top, bot;
    volume_field_at(&view, x, y, &sd, &top, &bot);
    return volume_point_value(volume_thickness_scale(&view), sd, top, bot, z);
}

int volume_sample(const orf_field *fld, int n, orf_volume *v, orf_err *e)
{
    if (volume_layout(fld, n, v, e) != 0)
        return -1;
    size_t total = (size_t)v->nx * (size_t)v->ny * (size_t)v->nz;
    v->f = malloc(total * sizeof(float));
    if (!v->f)
        return orf_fail(e, "too_large", "out of memory for a volume of %zu points", total);
    volume_field_view view;
    volume_field_view_of(fld, &view);
    int nx = v->nx, ny = v->ny, nz = v->nz;
    float x0 = v->x0, y0 = v->y0, z0 = v->z0, step = v->step;
    float *f = v->f;
    float kk = volume_thickness_scale(&view);
#pragma omp parallel for schedule(static) if (total >= MC_PARALLEL_POINTS)
    for (int j = 0; j < ny; j++) {
        for (int i = 0; i < nx; i++) {
            float sd, top, bot;
            volume_field_at(&view, x0 + (float)i * step, y0 + (float)j * step, &sd, &top, &bot);
            for (int k = 0; k < nz; k++) {
                float z = z0 + (float)k * step;
                f[((size_t)k * (size_t)ny + (size_t)j) * (size_t)nx + (size_t)i] =
                    volume_point_value(kk, sd, top, bot, z);
            }
        }
    }
    return 0;
}
