/* volume.h - the field sampled as a signed function on a 3-D grid.
 *
 * f(x, y, z), positive inside the solid, negative outside, continuous
 * across the rim and beyond the image (volume_point.h has the formulas):
 *   extrude, relief: min(k sd(x, y), (top(x, y) - z)(z - bot(x, y))), k a
 *     quarter of the largest thickness top - bot (VOLUME_RIM_SLOPE), so the
 *     side walls stand on the mask's rim;
 *   inflate, back = mirror: sd(x, y) - z^2 / q(x, y), q = top^2 / sd
 *     (carried past the rim from the cells inside it), whose zero set is
 *     z = +-top at the cells: front and back meet on the rim itself with no
 *     wall between them, and the outline (at z = 0, the function is sd)
 *     sits on the rim at any grid size; the same zero set as docs/design.md's
 *     z_front - |z|, and for a disc (q = 2R - sd) the sphere;
 *   inflate, back = flat: min(z, sd - z^2 / q).
 * The grid spacing is step = 1 / n model units, so the longer image side
 * spans n cells; points reach at least 1.5 cells beyond the solid on every
 * side, so the outer layer of points is always outside, and the grid is
 * centred on the origin. Point (i, j, k) sits at (x0 + i step, y0 + j step,
 * z0 + k step) and its value at f[((size_t)k * ny + j) * nx + i].
 */
#ifndef ORFEAS_VOLUME_H
#define ORFEAS_VOLUME_H

#include <stddef.h>

#include "err.h"
#include "field.h"
#include "hd/volume_point.h"

typedef struct orf_volume {
    int nx, ny, nz;        /* points along each axis (cells + 1) */
    float x0, y0, z0;      /* model coordinates of point (0, 0, 0) */
    float step;            /* model units between points */
    float *f;              /* nx * ny * nz values */
} orf_volume;

/* Sample `fld` with n cells along the longer image side (4..2048).
 * "bad_request" for n out of range, "too_large" when memory runs out.
 * Columns are computed in parallel (OpenMP); the result does not depend on
 * the thread count. Free with volume_free. */
int volume_sample(const orf_field *fld, int n, orf_volume *v, orf_err *e);

/* The value of the field's function at a model-space point (for tests). */
float volume_eval(const orf_field *fld, float x, float y, float z);

void volume_free(orf_volume *v);

/* The grid volume_sample() lays over `fld` at n cells (points, origin and
 * step filled, f left NULL), with its errors ("bad_request", "too_large").
 * The CUDA path sizes its buffers with it. */
int volume_layout(const orf_field *fld, int n, orf_volume *v, orf_err *e);

/* The field as the per-point code of volume_point.h reads it (the CPU loop
 * and the CUDA kernel share that code): its shape, k, and for inflate the
 * q array (allocated here; the other arrays are fld's own). -1 when memory
 * runs out. Free with volume_view_free. */
int volume_view_make(const orf_field *fld, volume_field_view *view);
void volume_view_free(volume_field_view *view);

#endif
