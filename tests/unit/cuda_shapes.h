/* cuda_shapes.h - the test inputs of the backend and parity tests (disc,
 * ring, two islands as inflated fields; a random smooth volume) and the mesh
 * comparisons they make. */
#ifndef ORFEAS_CUDA_SHAPES_H
#define ORFEAS_CUDA_SHAPES_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "gen_shapes.h"
#include "hd/half_round.h"
#include "volume.h"

#define SHAPE_FIELDS 3

static const char *const shape_names[SHAPE_FIELDS + 1] = {"disc", "ring", "two islands",
                                                           "random smooth volume"};

/* The inflated field of test image `which` (0 disc, 1 ring, 2 two islands). */
static inline int shape_field(int which, orf_field *fld)
{
    static const double disc[3] = {48, 48, 30}, ring[4] = {48, 48, 36, 16},
                        two[6] = {26, 48, 18, 72, 48, 16};
    orf_image img;
    shape_fn fn = which == 0 ? sh_disc : which == 1 ? sh_ring : sh_two;
    const double *prm = which == 0 ? disc : which == 1 ? ring : two;
    draw_shape(&img, 96, 96, fn, prm, 1);
    gen_params p;
    gen_params_default(&p);
    p.field.max_side = 96;
    orf_err e;
    int rc = gen_field(&img, shape_names[which], &p, fld, NULL, &e);
    image_free(&img);
    return rc;
}

/* A smooth random volume (n cells a side): the largest of a few spheres'
 * signed distances plus a gentle wave, the outer layer outside. */
static inline void shape_random_volume(orf_volume *v, int n, uint64_t seed)
{
    v->nx = n + 1;
    v->ny = n - 1;
    v->nz = n - 3;
    v->step = 1.0f / (float)n;
    v->x0 = v->y0 = v->z0 = -0.5f;
    v->f = malloc((size_t)v->nx * v->ny * v->nz * sizeof(float));
    double c[5][4];
    for (int b = 0; b < 5; b++)
        for (int q = 0; q < 4; q++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            double r = (double)(seed >> 11) / 9007199254740992.0;
            c[b][q] = q < 3 ? 0.25 + 0.5 * r : 0.08 + 0.15 * r;
        }
    for (int k = 0; k < v->nz; k++)
        for (int j = 0; j < v->ny; j++)
            for (int i = 0; i < v->nx; i++) {
                double x = (double)i / v->nx, y = (double)j / v->ny, z = (double)k / v->nz;
                double best = -1;
                for (int b = 0; b < 5; b++) {
                    double d = c[b][3] - sqrt((x - c[b][0]) * (x - c[b][0]) +
                                              (y - c[b][1]) * (y - c[b][1]) +
                                              (z - c[b][2]) * (z - c[b][2]));
                    if (d > best)
                        best = d;
                }
                best += 0.01 * sin(17 * x) * cos(13 * y + 5 * z);
                if (i == 0 || j == 0 || k == 0 || i == v->nx - 1 || j == v->ny - 1 ||
                    k == v->nz - 1)
                    best = -1;
                v->f[((size_t)k * v->ny + j) * v->nx + i] = (float)best;
            }
}

static inline double mesh_diag(const orf_mesh *m)
{
    float lo[3], hi[3];
    mesh_bbox(m, lo, hi);
    return sqrt((double)(hi[0] - lo[0]) * (hi[0] - lo[0]) + (double)(hi[1] - lo[1]) * (hi[1] - lo[1]) +
                (double)(hi[2] - lo[2]) * (hi[2] - lo[2]));
}

/* Largest distance between the vertices of a and b with the same index
 * (the meshes must have the same vertex count). */
static inline double mesh_max_shift(const orf_mesh *a, const orf_mesh *b)
{
    double worst = 0;
    for (size_t i = 0; i < (size_t)a->nverts; i++) {
        double d2 = 0;
        for (int k = 0; k < 3; k++) {
            double d = (double)a->pos[3 * i + k] - b->pos[3 * i + k];
            d2 += d * d;
        }
        if (d2 > worst)
            worst = d2;
    }
    return sqrt(worst);
}

static inline int mesh_same_indices(const orf_mesh *a, const orf_mesh *b)
{
    return a->ntris == b->ntris && (a->ntris == 0 || memcmp(a->idx, b->idx, (size_t)a->ntris * 12) == 0);
}

/* Check the fp16 bound vertex by vertex: m32 and m16 are mt_extract of v
 * and of its half-rounded copy; vertex ids follow (point, edge dir) as in
 * mc.c, so each vertex's edge and end values are known. Returns the number
 * of vertices past their bound (half_edge_shift_bound of the edge times its
 * length, plus 4 float ulps of the coordinates' size) and the largest shift
 * in cells, and the smallest |a|+|b| over crossing edges. */
static inline size_t fp16_bound_violations(const orf_volume *v, const orf_mesh *m32,
                                           const orf_mesh *m16, double *max_cells, double *min_s)
{
    size_t bad = 0, id = 0;
    *max_cells = 0;
    *min_s = INFINITY;
    int nx = v->nx, ny = v->ny, nz = v->nz;
    double slack = 4 * 1.1920929e-7 * (fabs(v->x0) + fabs(v->y0) + fabs(v->z0) + 3.0 * nx * v->step);
    for (int k = 0; k < nz; k++)
        for (int j = 0; j < ny; j++)
            for (int i = 0; i < nx; i++) {
                size_t p = ((size_t)k * ny + j) * nx + i;
                for (unsigned d = 1; d < 8; d++) {
                    int di = d & 1, dj = d >> 1 & 1, dk = d >> 2 & 1;
                    if (i + di >= nx || j + dj >= ny || k + dk >= nz)
                        continue;
                    size_t q = ((size_t)(k + dk) * ny + (j + dj)) * nx + (i + di);
                    if ((v->f[p] > 0.0f) == (v->f[q] > 0.0f))
                        continue; /* mt_point_edges: only edges that change sign */
                    float a = v->f[p], b = v->f[q];
                    double s = fabs((double)a) + fabs((double)b);
                    if (s < *min_s)
                        *min_s = s;
                    double len = v->step * sqrt((double)(di + dj + dk));
                    double lim = half_edge_shift_bound(a, b) * len + slack, d2 = 0;
                    for (int c = 0; c < 3; c++) {
                        double x = (double)m32->pos[3 * id + c] - m16->pos[3 * id + c];
                        d2 += x * x;
                    }
                    double shift = sqrt(d2);
                    if (shift > lim)
                        bad++;
                    if (shift / v->step > *max_cells)
                        *max_cells = shift / v->step;
                    id++;
                }
            }
    return bad;
}

#endif
