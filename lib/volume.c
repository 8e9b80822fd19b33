/* volume.c - sampling a field's signed function on a regular grid. */
#include "volume.h"

#include "alloc.h"
#include "hd/mt_cell.h"

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

/* The view's grid and the field's own arrays; shape, k and q left 0. */
static void view_base(const orf_field *fld, volume_field_view *view)
{
    memset(view, 0, sizeof *view);
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

int volume_view_make(const orf_field *fld, volume_field_view *view)
{
    view_base(fld, view);
    if (fld->mode != FIELD_INFLATE) {
        view->shape = VOLUME_SLAB;
        view->k = volume_thickness_scale(view);
        return 0;
    }
    view->shape = fld->back == FIELD_BACK_FLAT ? VOLUME_DOME_FLAT : VOLUME_DOME;
    int w = fld->w, h = fld->h;
    size_t n = (size_t)w * (size_t)h;
    float *q = malloc(n * sizeof *q);
    if (!q)
        return -1;
    /* q = top^2 / sd, a multiple of the inflation solution over the
     * distance to the rim: smooth, and about constant near the rim, where
     * both go linearly to 0 (for a disc of radius R, q = 2R - sd). Cells
     * less than a cell inside the rim, where the ratio of two small numbers
     * is noisy, and the cells outside next to the mask, take the ratio of
     * the sums over the inside cells of their 3 x 3 block (weighted by sd,
     * so the deeper ones count more); the other outside cells take that
     * ratio averaged over the whole rim. Inside cells go first, so the
     * rim's average is known when the outside ones need it. */
    float cell = 0.5f * (fld->sx + fld->sy);
    double gt = 0, gs = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = (size_t)y * (size_t)w + (size_t)x;
                int in = fld->sd[i] > 0;
                if (in != (pass == 0))
                    continue;
                if (in && fld->sd[i] >= cell) {
                    q[i] = (float)((double)fld->top[i] * fld->top[i] / fld->sd[i]);
                    continue;
                }
                if (!in && fld->sd[i] < -2.5f * cell) {
                    q[i] = -1.0f; /* no inside cell around: sd's chamfer
                                     distance there is at most 2 cells */
                    continue;
                }
                double st = 0, ss = 0;
                int rim = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int xx = x + dx, yy = y + dy;
                        if (xx < 0 || yy < 0 || xx >= w || yy >= h)
                            continue;
                        size_t j = (size_t)yy * (size_t)w + (size_t)xx;
                        if (fld->sd[j] > 0) {
                            st += (double)fld->top[j] * fld->top[j];
                            ss += fld->sd[j];
                        } else {
                            rim = 1;
                        }
                    }
                q[i] = ss > 0 ? (float)(st / ss) : -1.0f; /* -1: the rim's average */
                if (in && rim) {
                    gt += st;
                    gs += ss;
                }
            }
    float qg = gs > 0 && gt > 0 ? (float)(gt / gs) : 0;
    if (!(qg > 0)) { /* no rim inside the grid (the mask covers it) or a flat field */
        double mt = 0, ms = 0;
        for (size_t i = 0; i < n; i++)
            if (fld->sd[i] > 0) {
                mt += (double)fld->top[i] * fld->top[i];
                ms += fld->sd[i];
            }
        qg = ms > 0 && mt > 0 ? (float)(mt / ms) : cell;
    }
    /* q stays positive, so 1 / q is finite where top = 0 inside (a sliver
     * the solver left flat), and finite, so a bilinear weight of 0 never
     * meets an infinity (a damaged field's sd of 1e-40 under a top of 1) */
    const float qmax = 1e30f;
    if (!(qg <= qmax))
        qg = qmax;
    float qmin = 1e-3f * qg;
    for (size_t i = 0; i < n; i++)
        if (q[i] < 0)
            q[i] = qg;
        else if (!(q[i] >= qmin))
            q[i] = qmin;
        else if (!(q[i] <= qmax))
            q[i] = qmax;
    view->q = q;
    view->own = q;
    return 0;
}

void volume_view_free(volume_field_view *view)
{
    if (!view)
        return;
    free(view->own);
    view->own = NULL;
    view->q = NULL;
}

int volume_layout(const orf_field *fld, int n, orf_volume *v, orf_err *e)
{
    memset(v, 0, sizeof *v);
    if (n < 4 || n > 2048)
        return orf_fail(e, "bad_request", "resolution %d is outside 4..2048", n);
    if (!fld || !fld->sd || !fld->top || !fld->bot || fld->w < 1 || fld->h < 1)
        return orf_fail(e, "bad_request", "volume: no field");
    volume_field_view view; /* the grid needs no q */
    view_base(fld, &view);
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
    if (volume_view_make(fld, &view) != 0)
        return NAN;
    volume_column col;
    volume_column_at(&view, x, y, &col);
    float f = volume_point_value(&view, &col, z);
    volume_view_free(&view);
    return f;
}

int volume_sample(const orf_field *fld, int n, orf_volume *v, orf_err *e)
{
    if (volume_layout(fld, n, v, e) != 0)
        return -1;
    size_t total = (size_t)v->nx * (size_t)v->ny * (size_t)v->nz;
    volume_field_view view;
    if (volume_view_make(fld, &view) != 0)
        return orf_fail(e, "too_large", "out of memory for the field's view");
    v->f = orf_malloc_big(total, sizeof(float));
    if (!v->f) {
        volume_view_free(&view);
        return orf_fail(e, "too_large", "out of memory for a volume of %zu points", total);
    }
    int nx = v->nx, ny = v->ny, nz = v->nz;
    float x0 = v->x0, y0 = v->y0, z0 = v->z0, step = v->step;
    float *f = v->f;
#pragma omp parallel for schedule(static) if (total >= MT_PARALLEL_POINTS)
    for (int j = 0; j < ny; j++) {
        for (int i = 0; i < nx; i++) {
            volume_column col;
            volume_column_at(&view, x0 + (float)i * step, y0 + (float)j * step, &col);
            for (int k = 0; k < nz; k++) {
                float z = z0 + (float)k * step;
                f[((size_t)k * (size_t)ny + (size_t)j) * (size_t)nx + (size_t)i] =
                    volume_point_value(&view, &col, z);
            }
        }
    }
    volume_view_free(&view);
    return 0;
}
