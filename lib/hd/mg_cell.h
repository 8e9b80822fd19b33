/* hd/mg_cell.h - the per-cell steps of the inflation field's multigrid
 * (lib/field_multigrid.c): the one definition the CPU loops and the CUDA
 * kernels in kernels/cuda_field.cu both call, so the two compute the same
 * doubles.
 *
 * A level of w x h cells is stored with a one-cell border: cell (x, y),
 * x in [-1, w], y in [-1, h], sits at mg_at(s, x, y) with row stride
 * s = w + 2. u is 0 on every exterior and border cell at all times, so the
 * stencils read their four neighbours with no bounds or interior tests.
 *
 * Red-black Gauss-Seidel: colour c updates the interior cells with
 * x + y + c even. A cell of one colour reads only cells of the other, so the
 * cells of a colour may be updated in any order, or all at once, with the
 * same result.
 */
#ifndef ORFEAS_HD_MG_CELL_H
#define ORFEAS_HD_MG_CELL_H

#include <stddef.h>
#include <stdint.h>

#include "hd/hd.h"

/* index of cell (x, y) of a padded level of row stride s */
ORF_HD size_t mg_at(ptrdiff_t s, int x, int y)
{
    return (size_t)(y + 1) * (size_t)s + (size_t)(x + 1);
}

/* 1 when cell (x, y) belongs to colour c */
ORF_HD int mg_colour(int x, int y, int colour)
{
    return ((x + y + colour) & 1) == 0;
}

/* the smoothing update of interior cell i: the operator's row solved for u[i] */
ORF_HD void mg_cell_smooth(double *u, const double *b, const double *idiag, ptrdiff_t s, double off, size_t i)
{
    double n = u[i - 1] + u[i + 1] + u[i - s] + u[i + s];
    u[i] = (b[i] + off * n) * idiag[i];
}

/* the residual b - A u of interior cell i */
ORF_HD double mg_cell_residual(const double *u, const double *b, const double *diag, ptrdiff_t s, double off,
                               size_t i)
{
    double n = u[i - 1] + u[i + 1] + u[i - s] + u[i + s];
    return b[i] - diag[i] * u[i] + off * n;
}

/* bilinear from the coarse cell centres (cu, stride cs; exterior coarse
 * cells hold 0) at fine cell (x, y) */
ORF_HD double mg_cell_prolong(const double *cu, ptrdiff_t cs, int x, int y)
{
    int cy = y >> 1, ny = (y & 1) ? cy + 1 : cy - 1;
    int cx = x >> 1, nx = (x & 1) ? cx + 1 : cx - 1;
    const double *c0 = cu + mg_at(cs, 0, cy), *c1 = cu + mg_at(cs, 0, ny);
    return 0.5625 * c0[cx] + 0.1875 * (c0[nx] + c1[cx]) + 0.0625 * c1[nx];
}

/* the coarse right-hand side at coarse cell (x, y): the average of its four
 * children's residuals (fine r, stride s; children past the fine grid are
 * border cells, where r is 0) */
ORF_HD double mg_cell_restrict(const double *r, ptrdiff_t s, int x, int y)
{
    return 0.25 * (r[mg_at(s, 2 * x, 2 * y)] + r[mg_at(s, 2 * x + 1, 2 * y)] + r[mg_at(s, 2 * x, 2 * y + 1)] +
                   r[mg_at(s, 2 * x + 1, 2 * y + 1)]);
}

#endif
