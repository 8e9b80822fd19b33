/* field.h - the height field a mesh is cut from: inflate, extrude, relief.
 *
 * A field lives on a working grid of w x h cells laid over the image (the
 * longer side has `max_side` cells, 320 by default: a little finer than
 * the finest stage's 256). Model coordinates follow docs/design.md: the image
 * plane is xy, +x right, +y up, +z toward the viewer, centred on the
 * origin, the longer image side spanning [-0.5, 0.5]. Cell (i, j) (j from
 * the top row) has its centre at
 *     x = (i + 0.5) * sx - img_w / (2 L),   y = img_h / (2 L) - (j + 0.5) * sy
 * with L = max(img_w, img_h), sx = img_w / (L w), sy = img_h / (L h).
 *
 * Per cell, in model units:
 *   sd   signed distance to the rim of the mask (positive inside), with
 *        the rim placed between cells from the mask's coverage;
 *   top  z of the front surface, bot  z of the back surface (bot <= top).
 * The solid is { sd > 0 and bot < z < top }; volume.h samples it.
 *
 * Modes:
 *   inflate  lap(h) = -4 inside the mask, h = 0 on the rim (placed with
 *            sub-cell accuracy, the symmetric ghost-fluid discretisation),
 *            z = depth * sqrt(h) in cell units: a disc becomes a sphere at
 *            depth 1. Solved by multigrid V-cycles (red-black Gauss-Seidel,
 *            cost about linear in cells) to a relative residual of
 *            `tolerance`; a height under 1e-7 model units is 0.
 *            back = mirror: bot = -top; flat: bot = 0.
 *   extrude  a slab: top = thickness / 2, bot = -thickness / 2; the rim's
 *            roundness is that of sd, under one cell.
 *   relief   top = base + depth * FIELD_RELIEF_HEIGHT * luminance (lightly
 *            blurred, `invert` to swap dark and light), bot = 0, then
 *            shifted so the z range is centred on 0: closed underneath.
 */
#ifndef ORFEAS_FIELD_H
#define ORFEAS_FIELD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "image.h"
#include "mask.h"

typedef enum { FIELD_INFLATE = 0, FIELD_EXTRUDE, FIELD_RELIEF } field_mode;
typedef enum { FIELD_BACK_MIRROR = 0, FIELD_BACK_FLAT } field_back;

#define FIELD_DEFAULT_SIDE 320
#define FIELD_RELIEF_HEIGHT 0.08f /* model units at full luminance and depth 1 */

/* The inflate mode's solve (lap(h) = -4 inside the mask, h = 0 on its rim;
 * field_internal.h's field_inflate_solve is the CPU's): the coverage cov
 * (w x h) in, the heights (cell units squared) out, the V-cycles run and
 * the final relative residual; 0, or -1 with e set. backend_field_solver
 * (backend.h) runs it on a backend. */
typedef int (*field_solver)(void *ctx, const float *cov, int w, int h, double tol, float *out, int *cycles,
                            double *resid, orf_err *e);

typedef struct field_params {
    field_mode mode;   /* default FIELD_INFLATE */
    field_back back;   /* default FIELD_BACK_MIRROR */
    float depth;       /* inflate: 1 = sphere-like; relief: height factor. default 1 */
    float thickness;   /* extrude: slab thickness, model units. default 0.1 */
    int invert;        /* relief: dark is high. default 0 */
    float base;        /* relief: base plate thickness, model units. default 0.02 */
    int max_side;      /* cells along the longer side, 8..4096. default 320 */
    double tolerance;  /* inflate: relative residual to reach (at most 60 V-cycles). default
                          2e-3: on the test shapes (disc, ring, thin L, islands, blob,
                          samples/orfeas.png) at 320 cells the heights are then within
                          5.5e-4 of the largest height of the converged solution, under
                          a tenth of a voxel at N=256 */
    field_solver solve; /* inflate: who solves; NULL: the CPU. default NULL */
    void *solve_ctx;    /* its first argument */
} field_params;

typedef struct orf_field {
    int w, h;             /* working grid, cells */
    int img_w, img_h;     /* the source image, pixels */
    float sx, sy;         /* model units per cell along x and y */
    field_mode mode;
    field_back back;
    float *sd, *top, *bot; /* w*h each, model units, row-major, top row first */
    int cycles;           /* inflate: V-cycles run */
    double residual;      /* inflate: final relative residual */
} orf_field;

/* The defaults above. */
void field_params_default(field_params *p);

/* Names: "inflate", "extrude", "relief"; "mirror", "flat". */
const char *field_mode_name(field_mode m);
const char *field_back_name(field_back b);
int field_mode_parse(const char *s, field_mode *m, orf_err *e);
int field_back_parse(const char *s, field_back *b, orf_err *e);

/* Build the field of `mask` (its size is the image's). `img` is needed for
 * relief (luminance) and may be NULL otherwise. "bad_request" for
 * parameters out of range, "no_foreground" when the working grid holds no
 * foreground cell, "too_large" when memory runs out. Free with field_free. */
int field_compute(const orf_mask *mask, const orf_image *img, const field_params *p,
                  orf_field *f, orf_err *e);

void field_free(orf_field *f);

/* Serialise to a blob (malloc'd, *len bytes): a 48-byte header (magic
 * "ORFFIELD", version 1, w, h, img_w, img_h, mode, back, sx, sy, all
 * little-endian) then sd, top and bot as float32. */
int field_serialise(const orf_field *f, uint8_t **blob, size_t *len, orf_err *e);

/* Read a blob written by field_serialise. Every size is checked against the
 * blob's length before it is used, and the blob must be a field that
 * field_compute can make, so that volume_sample turns it into finite
 * numbers:
 *   - the header: magic, version 1, mode and back known, a grid of 1..4096
 *     cells a side over an image of 1..2^24 pixels a side, laid as
 *     field_compute lays it (8..4096 cells along the longer side, the other
 *     side and sx, sy following from it bit for bit);
 *   - every value finite and within 1e3 model units; every |sd| between
 *     0.01 cells and w + h cells; some cell inside (sd > 0); bot <= top;
 *   - inflate: top 0 outside the mask, and inside 0 or at least 1e-7
 *     model units; bot = -top (mirror) or 0 (flat).
 * "bad_field" with a message naming `name` and the first rule broken (and
 * the cell), "too_large" when memory runs out. */
int field_deserialise(const uint8_t *blob, size_t len, const char *name, orf_field *f,
                      orf_err *e);

#endif
