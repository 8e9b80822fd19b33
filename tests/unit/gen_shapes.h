/* gen_shapes.h - images the mesh-gen unit tests draw, and the mesh checks
 * they make (independent of lib/topology, so the tests check it). */
#ifndef ORFEAS_GEN_SHAPES_H
#define ORFEAS_GEN_SHAPES_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "mesh.h"

/* Coverage of a pixel by a predicate, 4x4 supersampled. */
typedef int (*shape_fn)(double x, double y, const double *prm);

static inline double shape_cover(shape_fn fn, const double *prm, int px, int py)
{
    int hit = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            hit += fn(px + (a + 0.5) / 4.0, py + (b + 0.5) / 4.0, prm);
    return hit / 16.0;
}

/* Draw a shape: with alpha (transparent background) or black on white. */
static inline void draw_shape(orf_image *img, int w, int h, shape_fn fn, const double *prm,
                              int with_alpha)
{
    image_alloc(img, w, h, NULL);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double c = shape_cover(fn, prm, x, y);
            uint8_t *p = img->rgba + 4 * ((size_t)y * w + x);
            if (with_alpha) {
                p[0] = 200, p[1] = 60, p[2] = 40;
                p[3] = (uint8_t)lround(255 * c);
            } else {
                uint8_t v = (uint8_t)lround(255 * (1 - c) + 30 * c);
                p[0] = p[1] = p[2] = v;
                p[3] = 255;
            }
        }
    img->had_alpha = with_alpha;
}

static inline int sh_disc(double x, double y, const double *p)
{
    return (x - p[0]) * (x - p[0]) + (y - p[1]) * (y - p[1]) < p[2] * p[2];
}

static inline int sh_ring(double x, double y, const double *p)
{
    double r2 = (x - p[0]) * (x - p[0]) + (y - p[1]) * (y - p[1]);
    return r2 < p[2] * p[2] && r2 > p[3] * p[3];
}

static inline int sh_two(double x, double y, const double *p)
{
    double q[3] = {p[0], p[1], p[2]}, r[3] = {p[3], p[4], p[5]};
    return sh_disc(x, y, q) || sh_disc(x, y, r);
}

static inline int sh_L(double x, double y, const double *p)
{
    /* p: x0, y0, length, width */
    int v = x >= p[0] && x < p[0] + p[3] && y >= p[1] && y < p[1] + p[2];
    int hz = x >= p[0] && x < p[0] + p[2] && y >= p[1] + p[2] - p[3] && y < p[1] + p[2];
    return v || hz;
}

/* ---- mesh checks ---- */

typedef struct mcheck {
    int watertight;         /* every edge twice, opposite directions */
    size_t bad_edges;       /* edges used other than exactly twice */
    size_t misoriented;     /* edges used twice the same way */
    size_t degenerate;      /* repeated corner or zero area */
    size_t unused_verts;
    double volume;
} mcheck;

typedef struct mt_edge_rec {
    uint64_t key;
    int dir;
} mt_edge_rec;

static int mt_edge_cmp(const void *a, const void *b)
{
    const mt_edge_rec *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->dir - y->dir;
}

static inline mcheck mesh_check(const orf_mesh *m)
{
    mcheck c;
    memset(&c, 0, sizeof c);
    size_t ne = (size_t)m->ntris * 3;
    mt_edge_rec *ed = malloc((ne ? ne : 1) * sizeof *ed);
    uint8_t *used = calloc(m->nverts ? m->nverts : 1, 1);
    for (uint32_t t = 0; t < m->ntris; t++) {
        const uint32_t *v = m->idx + 3 * (size_t)t;
        const float *a = m->pos + 3 * (size_t)v[0], *b = m->pos + 3 * (size_t)v[1],
                    *q = m->pos + 3 * (size_t)v[2];
        double u[3], w[3], n[3];
        for (int k = 0; k < 3; k++) {
            u[k] = (double)b[k] - a[k];
            w[k] = (double)q[k] - a[k];
        }
        n[0] = u[1] * w[2] - u[2] * w[1];
        n[1] = u[2] * w[0] - u[0] * w[2];
        n[2] = u[0] * w[1] - u[1] * w[0];
        if (v[0] == v[1] || v[1] == v[2] || v[0] == v[2] ||
            n[0] * n[0] + n[1] * n[1] + n[2] * n[2] == 0)
            c.degenerate++;
        c.volume += (a[0] * ((double)b[1] * q[2] - (double)b[2] * q[1]) -
                     a[1] * ((double)b[0] * q[2] - (double)b[2] * q[0]) +
                     a[2] * ((double)b[0] * q[1] - (double)b[1] * q[0])) /
                    6.0;
        for (int k = 0; k < 3; k++) {
            uint32_t s = v[k], d = v[(k + 1) % 3];
            used[s] = 1;
            ed[3 * (size_t)t + k].key = s < d ? ((uint64_t)s << 32 | d) : ((uint64_t)d << 32 | s);
            ed[3 * (size_t)t + k].dir = s < d;
        }
    }
    qsort(ed, ne, sizeof *ed, mt_edge_cmp);
    for (size_t i = 0; i < ne;) {
        size_t j = i;
        while (j < ne && ed[j].key == ed[i].key)
            j++;
        if (j - i != 2)
            c.bad_edges++;
        else if (ed[i].dir == ed[i + 1].dir)
            c.misoriented++;
        i = j;
    }
    for (uint32_t i = 0; i < m->nverts; i++)
        if (!used[i])
            c.unused_verts++;
    c.watertight = m->ntris > 0 && c.bad_edges == 0 && c.misoriented == 0;
    free(ed);
    free(used);
    return c;
}

/* Rasterise the mesh seen along -z into a w x h grid over the image
 * (docs/design.md coordinates) and return the IoU with `fg` (w*h, 0/1). */
static inline double silhouette_iou(const orf_mesh *m, int w, int h, const uint8_t *fg)
{
    double L = w > h ? w : h, W = w / L, H = h / L;
    uint8_t *cov = calloc((size_t)w * h, 1);
    for (uint32_t t = 0; t < m->ntris; t++) {
        double X[3], Y[3];
        for (int k = 0; k < 3; k++) {
            const float *p = m->pos + 3 * (size_t)m->idx[3 * (size_t)t + k];
            X[k] = (p[0] + W / 2) * L; /* pixel units, x right */
            Y[k] = (H / 2 - p[1]) * L; /* y down */
        }
        double minx = fmin(X[0], fmin(X[1], X[2])), maxx = fmax(X[0], fmax(X[1], X[2]));
        double miny = fmin(Y[0], fmin(Y[1], Y[2])), maxy = fmax(Y[0], fmax(Y[1], Y[2]));
        double area = (X[1] - X[0]) * (Y[2] - Y[0]) - (X[2] - X[0]) * (Y[1] - Y[0]);
        if (area == 0)
            continue;
        for (int py = (int)floor(miny); py <= (int)ceil(maxy); py++)
            for (int px = (int)floor(minx); px <= (int)ceil(maxx); px++) {
                if (px < 0 || py < 0 || px >= w || py >= h)
                    continue;
                double cx = px + 0.5, cy = py + 0.5;
                double e0 = (X[1] - X[0]) * (cy - Y[0]) - (cx - X[0]) * (Y[1] - Y[0]);
                double e1 = (X[2] - X[1]) * (cy - Y[1]) - (cx - X[1]) * (Y[2] - Y[1]);
                double e2 = (X[0] - X[2]) * (cy - Y[2]) - (cx - X[2]) * (Y[0] - Y[2]);
                if ((e0 >= 0 && e1 >= 0 && e2 >= 0) || (e0 <= 0 && e1 <= 0 && e2 <= 0))
                    cov[(size_t)py * w + px] = 1;
            }
    }
    size_t inter = 0, uni = 0;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        inter += cov[i] && fg[i];
        uni += cov[i] || fg[i];
    }
    free(cov);
    return uni ? (double)inter / (double)uni : 0;
}

#endif
