/* field_distance.c - the signed distance from each cell of the working
 * grid to the rim of the mask, the rim placed between cells from the
 * coverage, then chamfer (1, sqrt 2) propagated on each side. */
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"
#include "field_internal.h"

/* One chamfer (1, sqrt 2) pass over the padded distances pd of a w x h
 * grid, within each side of `in`: dir 1 from the top-left using the
 * neighbours already visited (left, up-left, up, up-right), dir -1 from the
 * bottom-right using their mirror images. */
static void chamfer_pass(float *pd, const uint8_t *in, int w, int h, int dir)
{
    const ptrdiff_t s = w + 2;
    const ptrdiff_t off[4] = {-dir, dir * (-1 - s), -dir * s, dir * (1 - s)};
    const float dist[4] = {1.0f, 1.41421356f, 1.0f, 1.41421356f};
    for (int yy = 0; yy < h; yy++)
        for (int xx = 0; xx < w; xx++) {
            int y = dir > 0 ? yy : h - 1 - yy, x = dir > 0 ? xx : w - 1 - xx;
            size_t i = (size_t)(y + 1) * (size_t)s + (size_t)(x + 1);
            float best = pd[i];
            for (int k = 0; k < 4; k++) {
                size_t j = (size_t)((ptrdiff_t)i + off[k]);
                if (in[j] != in[i])
                    continue;
                float v = pd[j] + dist[k];
                if (v < best)
                    best = v;
            }
            pd[i] = best;
        }
}

int field_signed_distance(const float *cov, int w, int h, float *sd)
{
    const float BIG = 1e30f;
    /* padded copies: a border of exterior cells (coverage 0, distance BIG,
     * never updated) stands for the outside of the grid, so no neighbour
     * needs a bounds test */
    const ptrdiff_t s = w + 2;
    size_t np = (size_t)(w + 2) * (size_t)(h + 2);
    float *pc = orf_zalloc(np, sizeof *pc), *pd = malloc(np * sizeof *pd);
    uint8_t *in = orf_zalloc(np, 1);
    if (!pc || !pd || !in) {
        free(pc);
        free(pd);
        free(in);
        return -1;
    }
    for (size_t i = 0; i < np; i++)
        pd[i] = BIG;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)(y + 1) * (size_t)s + (size_t)(x + 1);
            pc[i] = cov[field_at(w, x, y)];
            in[i] = pc[i] >= 0.5f;
        }
    /* seeds: cells next to the rim get their distance along the link */
    const ptrdiff_t nb4[4] = {1, -1, s, -s};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)(y + 1) * (size_t)s + (size_t)(x + 1);
            float ci = pc[i];
            int inside = in[i];
            for (int k = 0; k < 4; k++) {
                size_t j = (size_t)((ptrdiff_t)i + nb4[k]);
                if (in[j] == inside)
                    continue;
                float cj = pc[j];
                float a = inside ? ci : cj, b = inside ? cj : ci;
                float th = a + b - 0.5f; /* rim distance from the inside cell */
                if (th < 0.02f)
                    th = 0.02f;
                if (th > 0.98f)
                    th = 0.98f;
                float d = inside ? th : 1.0f - th;
                if (d < pd[i])
                    pd[i] = d;
            }
        }
    /* two-pass chamfer (1, sqrt 2) over each side separately */
    chamfer_pass(pd, in, w, h, 1);
    chamfer_pass(pd, in, w, h, -1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)(y + 1) * (size_t)s + (size_t)(x + 1);
            float d = pd[i] >= BIG ? (float)(w + h) : pd[i];
            sd[field_at(w, x, y)] = in[i] ? d : -d;
        }
    free(pc);
    free(pd);
    free(in);
    return 0;
}
