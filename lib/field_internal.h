/* field_internal.h - what the field_*.c files share (and, for the solve's
 * pieces, kernels/cuda_field.cu and lib/backend.c): the index of a cell of
 * the working grid, the grid's layout, the limits of a sane field, and the
 * three algorithms field_compute (field.c) is built from, each in its own
 * file. Every array is w x h floats,
 * row-major, top row first, as in field.h. */
#ifndef ORFEAS_FIELD_INTERNAL_H
#define ORFEAS_FIELD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "field.h"

/* index of cell (x, y) of a w-wide unpadded grid */
static inline size_t field_at(int w, int x, int y)
{
    return (size_t)y * (size_t)w + (size_t)x;
}

/* field.c: the working grid of a field over an img_w x img_h image with
 * max_side cells along the longer side: sets f's w, h, img_w, img_h, sx, sy.
 * field_compute lays its grid with it, field_deserialise checks a blob's
 * header against it. */
void field_grid(int img_w, int img_h, int max_side, orf_field *f);

/* The limits of a sane field: every field_compute makes, and every blob
 * field_deserialise accepts, keeps them (see field.h).
 *   FIELD_VALUE_MAX  no sd, top or bot past it, model units (field_compute
 *                    makes none past about 50: depth <= 100 on a unit-wide
 *                    image; a larger one makes volume_sample's z range, and
 *                    so its grid, absurd: 1.6 GB at n = 8);
 *   FIELD_SD_MIN     no |sd| under it, in cells (field_compute places the rim
 *                    at least 0.02 cells from a cell centre);
 *   FIELD_TOP_MIN    an inflated top is 0 or at least this, model units
 *                    (field_compute rounds smaller heights to 0): the dome's
 *                    q = top^2 / sd then stays a normal float, so that
 *                    volume_sample's z^2 / q is finite. */
#define FIELD_VALUE_MAX 1e3f
#define FIELD_SD_MIN 0.01f
#define FIELD_TOP_MIN 1e-7f

/* field_resample.c: resample src (sw x sh samples) onto dst (w x h cells):
 * area averaging where it shrinks, linear interpolation between sample
 * centres (clamped at the ends) where it grows, rows then columns.
 * 0, or -1 when memory runs out (dst then undefined). */
int field_resample(const float *src, int sw, int sh, float *dst, int w, int h);

/* field_distance.c: the signed distance, in cells, from each cell of a
 * coverage grid cov (w x h, values in [0, 1], inside where >= 1/2) to the
 * rim, placed between cells from the coverage: positive inside, negative
 * outside, chamfer (1, sqrt 2) propagated; a side with no rim gets w + h.
 * 0, or -1 when memory runs out. */
int field_signed_distance(const float *cov, int w, int h, float *sd);

/* field_multigrid.c: solve lap(h) = -4 on the cells of cov (w x h) with
 * coverage >= 1/2, h = 0 on the rim (ghost-fluid, sub-cell), by multigrid
 * V-cycles to a relative residual of tol (at most 60 cycles); h in cell
 * units squared goes to out (w x h, 0 outside), the cycles run to *cycles,
 * the final relative residual to *resid. 0, or -1 with "too_large" when
 * memory runs out. The CPU's field_solver (field.h), ctx aside. */
int field_inflate_solve(const float *cov, int w, int h, double tol, float *out, int *cycles,
                        double *resid, orf_err *e);

/* ---- the multigrid's pieces, for the CUDA solve (kernels/cuda_field.cu) ---- */

/* A level of the cell-centred multigrid: w x h cells with a one-cell border
 * (hd/mg_cell.h's layout), the interior cells and their runs, the operator
 * (1 / diagonal, diagonal, the weight of a neighbour: 4^-level), and the
 * iterate, right-hand side and residual. */
typedef struct mg_level {
    int w, h;         /* cells */
    ptrdiff_t s;      /* row stride: w + 2 */
    uint8_t *in;      /* interior cell */
    uint32_t *rstart; /* h + 1: row y's runs are runs[2 * rstart[y] .. 2 * rstart[y + 1]) */
    int *runs;        /* [x0, x1) pairs of interior cells, row by row */
    double *idiag;    /* 1 / diagonal of the operator */
    double *diag;
    double off;       /* weight of a neighbour: 4^-level */
    double *u, *b, *r;
} mg_level;

#define MG_MAX_LEVELS 16

/* The levels of the problem on coverage cov (w x h), on the host: the fine
 * one (right-hand side 4 inside, u and r 0) and the coarser ones down to 4
 * cells a side. 0, or -1 when memory runs out (nothing is left allocated). */
int mg_build(const float *cov, int w, int h, mg_level *lv, int *nlev);
void mg_free(mg_level *lv, int n);

/* |b| of the fine level: 4 sqrt(interior cells) */
double mg_bnorm(const mg_level *F);

/* The field out of the fine level's iterate: u where interior and positive,
 * else 0 (w x h, unpadded). */
void mg_output(const mg_level *F, float *out);

/* The steps of a backend, on level l (0 the fine one): `sweeps` red-black
 * sweeps;
 * the residual r = b - A u, returning sum r^2 summed by rows in row order
 * when `sum` (else 0); the coarse right-hand side of level l from level
 * l - 1's residual, its u zeroed; the prolongation of level l + 1 into
 * level l, added to u or assigned; b = 4 on level l's interior. */
typedef struct mg_ops {
    void *ctx;
    void (*smooth)(void *ctx, int l, int sweeps);
    double (*residual)(void *ctx, int l, int sum);
    void (*restrict_to)(void *ctx, int l);
    void (*prolong)(void *ctx, int l, int add);
    void (*coarse_rhs)(void *ctx, int l);
} mg_ops;

/* The full-multigrid start and V-cycles to a relative residual of tol (at
 * most 60 cycles), the one control flow of both backends. */
void mg_solve(const mg_ops *o, int nlev, double bnorm, double tol, int *cycles, double *resid);

#endif
