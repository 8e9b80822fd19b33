/* hd/volume_point.h - the per-point arithmetic of volume sampling, shared by
 * the CPU loop in volume.c and the CUDA kernel in kernels/, so the two paths
 * compute the same float for every grid point.
 *
 * Plain C99 with only sqrtf and floorf, which nvcc provides on the device
 * with the same IEEE rounding (sqrtf correctly rounded by default; the
 * kernels are built with --fmad=false so no product is fused into an add).
 *
 * volume_field_view holds what the sampler reads of an orf_field (field.h):
 * the working grid, the image size, the cell size and the three arrays,
 * which may be host or device pointers.
 *
 * This is the only definition of that arithmetic: volume.c's loop and the
 * CUDA kernel both call these functions (test_cuda_parity compares the two
 * paths' volumes value for value on a GPU).
 */
#ifndef ORFEAS_HD_VOLUME_POINT_H
#define ORFEAS_HD_VOLUME_POINT_H

#include <math.h>
#include <stddef.h>

#include "hd/hd.h"

/* The solid's function, by the field's shape:
 *   VOLUME_SLAB       min(k sd, (top - z)(z - bot)): extrude and relief,
 *                     whose side walls are vertical; k is
 *                     volume_thickness_scale() of the field;
 *   VOLUME_DOME       sd - z^2 / q: inflate with back = mirror;
 *   VOLUME_DOME_FLAT  min(z, sd - z^2 / q): inflate with back = flat.
 * q = top^2 / sd at the cells inside the mask (volume_view_make in volume.c
 * has the details near the rim and outside it), so the surface is
 * sd q = z^2, i.e. z = +-top at every cell, and between cells front and
 * back meet on the rim itself, where sd = 0, with no wall between them.
 * At z = 0 the function is sd, so the outline is interpolated from sd alone
 * and sits on the mask's rim at any grid size, as the slab's does.
 * (The first form was min(k sd, (top - z)(z - bot)) for every mode: top,
 * 0 outside the mask and about 8 sqrt(sd) cells inside, interpolated to a
 * few cells at the rim, which left a vertical wall there whose height
 * followed where the rim crossed the cells: ripples along the rim.) */
enum { VOLUME_SLAB = 0, VOLUME_DOME = 1, VOLUME_DOME_FLAT = 2 };

typedef struct volume_field_view {
    int w, h;          /* working grid, cells */
    int img_w, img_h;  /* the source image, pixels */
    float sx, sy;      /* model units per cell */
    int shape;         /* VOLUME_SLAB, VOLUME_DOME or VOLUME_DOME_FLAT */
    float k;           /* slab: the rim's slope */
    const float *sd, *top, *bot; /* w*h each, row-major, top row first (a dome reads sd) */
    const float *q;    /* dome: w*h, positive */
    float *own;        /* what volume_view_make allocated (host), or NULL */
} volume_field_view;

/* What volume_point_value needs of one (x, y) column: slab: a = k sd,
 * b = top, c = bot; dome: a = sd, b = 1 / q. */
typedef struct volume_column {
    float a, b, c;
} volume_column;

/* Bilinear sample of the view's arrays at model (x, y); beyond the grid,
 * sd falls off by the distance outside so it stays continuous (and q
 * keeps its value at the nearest edge cell). */
ORF_HD void volume_column_at(const volume_field_view *fld, float x, float y,
                                          volume_column *col)
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
    float sd = w00 * fld->sd[p00] + w10 * fld->sd[p10] + w01 * fld->sd[p01] + w11 * fld->sd[p11] - out;
    if (fld->shape != VOLUME_SLAB) {
        const float *q = fld->q;
        col->a = sd;
        col->b = 1.0f / (w00 * q[p00] + w10 * q[p10] + w01 * q[p01] + w11 * q[p11]);
        col->c = 0;
        return;
    }
    col->a = fld->k * sd;
    col->b = w00 * fld->top[p00] + w10 * fld->top[p10] + w01 * fld->top[p01] + w11 * fld->top[p11];
    col->c = w00 * fld->bot[p00] + w10 * fld->bot[p10] + w01 * fld->bot[p01] + w11 * fld->bot[p11];
}

/* The solid's function at height z over a column: positive inside. */
ORF_HD float volume_point_value(const volume_field_view *fld, const volume_column *col,
                                             float z)
{
    if (fld->shape == VOLUME_DOME)
        return col->a - z * z * col->b;
    float a, b;
    if (fld->shape == VOLUME_DOME_FLAT) {
        a = z;
        b = col->a - z * z * col->b;
    } else {
        a = col->a;
        b = (col->b - z) * (z - col->c);
    }
    return a < b ? a : b;
}

/* k for a slab: VOLUME_RIM_SLOPE times the largest top - bot over cells
 * with sd > 0, at least 1e-3. Host arrays. A k below the slope of
 * (top - z)(z - bot) near the rim makes k sd the smaller term at the grid
 * points just inside the rim, so the outline is interpolated from sd alone
 * and sits on the mask's rim at any grid size (with k = the largest
 * thickness, thin parts took the product term there, whose bilinear
 * interpolation pulls the outline in by half a pixel at 256 cells). */
#define VOLUME_RIM_SLOPE 0.25f
static inline float volume_thickness_scale(const volume_field_view *fld)
{
    float k = 0;
    size_t cells = (size_t)fld->w * (size_t)fld->h;
    for (size_t i = 0; i < cells; i++)
        if (fld->sd[i] > 0 && fld->top[i] - fld->bot[i] > k)
            k = fld->top[i] - fld->bot[i];
    k *= VOLUME_RIM_SLOPE;
    return k > 1e-3f ? k : 1e-3f;
}

/* The grid volume_sample() lays over a field at n cells along the longer
 * side: points per axis cnt[3], origin org[3], *step. Host arrays.
 * Returns 0, 1 for n outside 4..2048, 2 for more than 4e8 points (the
 * caller words the error as volume_sample does). */
static inline int volume_point_grid(const volume_field_view *fld, int n, int cnt[3], float org[3],
                                    float *step_out)
{
    if (n < 4 || n > 2048)
        return 1;
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
    for (int a = 0; a < 3; a++) {
        int cells_a = (int)ceilf(ext[a] / step - 1e-4f);
        if (cells_a < 0)
            cells_a = 0;
        cnt[a] = cells_a + 4; /* 1.5 cells of margin on each side, plus one point */
        if (a == 2 && cnt[a] % 2 == 0)
            cnt[a]++; /* a layer of points at mid height, where a mirrored
                         dome's front and back meet at the rim */
        org[a] = mid[a] - 0.5f * (float)(cnt[a] - 1) * step;
    }
    *step_out = step;
    if ((double)cnt[0] * cnt[1] * cnt[2] > 4e8)
        return 2;
    return 0;
}

#endif
