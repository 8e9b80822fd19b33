/* hd/render_tri.h - the per-triangle and per-sample work of the software
 * rasteriser, shared by the CPU path (lib/render.c) and the CUDA kernels
 * (kernels/cuda_render.cu), which include this same file: one definition of
 * the triangle set-up, coverage, depth, depth test, attribute interpolation
 * and pixel resolve, two backends.
 *
 * Like render_pixel.h: static inline functions on plain data, ORF_HD in front
 * (`__host__ __device__` under nvcc), no allocation. The kernels are built
 * with --fmad=false, so every float and double operation here rounds the same
 * on both sides and the pictures are the same bytes.
 *
 * The raster is S = sw x sh samples (sw = width * ss, ss samples per pixel
 * per axis), row-major, top row first. Each sample holds one 64-bit key
 * (rp_depth_key): the depth of the nearest triangle over it in the high
 * half and its index in the low half, so that "nearest wins, ties to the
 * lower triangle index" is simply the smallest key, whatever order the
 * triangles are drawn in (the CPU draws them in index order a band at a
 * time, the GPU all at once with atomicMin). An empty sample holds
 * RP_KEY_EMPTY, whose index half is RP_NO_TRI.
 */
#ifndef ORFEAS_HD_RENDER_TRI_H
#define ORFEAS_HD_RENDER_TRI_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hd/render_pixel.h"

#define RP_NO_TRI 0xFFFFFFFFu                  /* index half of an empty sample */
#define RP_KEY_EMPTY 0xFFFFFFFFFFFFFFFFull      /* key of an empty sample */
#define RP_MAX_SAMPLES 4                        /* = RENDER_MAX_SAMPLES (render.h) */

/* A vertex on screen (made by the CPU's camera set-up, read by both). */
typedef struct rp_vtx {
    long long x, y; /* fixed point, RP_SUBPIX per sample */
    float fx, fy;   /* the same in float samples */
    float q;        /* depth key, affine in screen space, bigger is nearer */
    float invw;     /* 1/w for perspective-correct attributes (1 for ortho) */
    int ok;         /* 0: behind the camera or beyond the guard band: not drawn */
} rp_vtx;

/* ---- depth test -------------------------------------------------------- */

/* The key of triangle t at a sample where its depth key is q (bigger q is
 * nearer): smaller key wins. The high 32 bits are q's bits mapped so that
 * nearer is smaller (-0 counted as +0, so equal depths tie), the low 32 bits
 * t, so equal depths go to the lower index. A q that can never win (NaN or
 * -inf) gives RP_KEY_EMPTY. */
ORF_HD uint64_t rp_depth_key(float q, uint32_t t)
{
    if (!(q >= -FLT_MAX))
        return RP_KEY_EMPTY;
    if (q == 0.0f)
        q = 0.0f; /* -0 -> +0 */
    uint32_t u;
#ifdef __CUDA_ARCH__
    u = __float_as_uint(q);
#else
    memcpy(&u, &q, sizeof u);
#endif
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u); /* grows with q */
    return ((uint64_t)~u << 32) | (uint64_t)t;
}

/* Keep the smaller of *p and k. One thread per band on the CPU; on the GPU,
 * where triangles overlap in parallel, an atomic minimum. */
ORF_HD void rp_key_min(uint64_t *p, uint64_t k)
{
#ifdef __CUDA_ARCH__
    atomicMin((unsigned long long *)p, (unsigned long long)k);
#else
    if (k < *p)
        *p = k;
#endif
}

/* ---- triangle set-up and coverage --------------------------------------- */

/* One triangle set up for the sample rows [row0, row1): its clipped sample
 * box, its three edge functions at the box's first sample, their steps, and
 * its depth key's start and steps. */
typedef struct rp_tri {
    long long x0, x1, y0, y1;    /* samples drawn: x0..x1, y0..y1 (inclusive) */
    long long r[3];              /* edge functions at sample (x0, y0) */
    long long dx[3], dy[3];      /* their steps per sample in x and in y */
    long long bias[3];           /* 0 on an edge the triangle owns, -1 elsewhere */
    double qrow, dqdx, dqdy;     /* depth key at (x0, y0) and its steps */
} rp_tri;

/* Set up the triangle (a, b, d) (screen vertices, all ok) for the sample
 * rows [row0, row1) of a raster sw samples wide: 1 when it covers a sample
 * box there, 0 when it is degenerate (zero area in fixed point) or outside.
 * Vertex order does not matter: it is made positive inside here. */
ORF_HD int rp_tri_setup(const rp_vtx *a, const rp_vtx *b, const rp_vtx *d, long long sw,
                                     long long row0, long long row1, rp_tri *T)
{
    long long area = rp_edge(a->x, a->y, b->x, b->y, d->x, d->y);
    if (area == 0)
        return 0;
    if (area < 0) { /* order so that edge functions are positive inside */
        const rp_vtx *tmp = b;
        b = d;
        d = tmp;
        area = -area;
    }
    long long minx = a->x < b->x ? a->x : b->x, maxx = a->x > b->x ? a->x : b->x;
    long long miny = a->y < b->y ? a->y : b->y, maxy = a->y > b->y ? a->y : b->y;
    minx = d->x < minx ? d->x : minx, maxx = d->x > maxx ? d->x : maxx;
    miny = d->y < miny ? d->y : miny, maxy = d->y > maxy ? d->y : maxy;
    /* samples whose centre (i*S + S/2) lies in [min, max] */
    long long x0 = (minx - RP_SUBPIX / 2 + RP_SUBPIX - 1) / RP_SUBPIX;
    long long x1 = (maxx - RP_SUBPIX / 2) / RP_SUBPIX;
    long long y0 = (miny - RP_SUBPIX / 2 + RP_SUBPIX - 1) / RP_SUBPIX;
    long long y1 = (maxy - RP_SUBPIX / 2) / RP_SUBPIX;
    if (minx - RP_SUBPIX / 2 < 0)
        x0 = 0;
    if (miny - RP_SUBPIX / 2 < 0)
        y0 = 0;
    if (x0 < 0)
        x0 = 0;
    if (y0 < row0)
        y0 = row0;
    if (x1 > sw - 1)
        x1 = sw - 1;
    if (y1 > row1 - 1)
        y1 = row1 - 1;
    if (x0 > x1 || y0 > y1)
        return 0;
    T->x0 = x0, T->x1 = x1, T->y0 = y0, T->y1 = y1;
    /* edge functions: 0 for edge b->d (weight of a), 1 for d->a, 2 for a->b;
     * inside: w + bias >= 0 for all three (top-left rule) */
    T->bias[0] = rp_edge_owns(b->x, b->y, d->x, d->y) ? 0 : -1;
    T->bias[1] = rp_edge_owns(d->x, d->y, a->x, a->y) ? 0 : -1;
    T->bias[2] = rp_edge_owns(a->x, a->y, b->x, b->y) ? 0 : -1;
    long long px = x0 * RP_SUBPIX + RP_SUBPIX / 2, py = y0 * RP_SUBPIX + RP_SUBPIX / 2;
    T->r[0] = rp_edge(b->x, b->y, d->x, d->y, px, py);
    T->r[1] = rp_edge(d->x, d->y, a->x, a->y, px, py);
    T->r[2] = rp_edge(a->x, a->y, b->x, b->y, px, py);
    T->dx[0] = -(d->y - b->y) * RP_SUBPIX, T->dy[0] = (d->x - b->x) * RP_SUBPIX;
    T->dx[1] = -(a->y - d->y) * RP_SUBPIX, T->dy[1] = (a->x - d->x) * RP_SUBPIX;
    T->dx[2] = -(b->y - a->y) * RP_SUBPIX, T->dy[2] = (b->x - a->x) * RP_SUBPIX;
    /* depth key: affine in the sample position, from the three vertices */
    double inv_area = 1.0 / (double)area;
    T->dqdx = ((double)T->dx[0] * a->q + (double)T->dx[1] * b->q + (double)T->dx[2] * d->q) * inv_area;
    T->dqdy = ((double)T->dy[0] * a->q + (double)T->dy[1] * b->q + (double)T->dy[2] * d->q) * inv_area;
    T->qrow = ((double)T->r[0] * a->q + (double)T->r[1] * b->q + (double)T->r[2] * d->q) * inv_area;
    return 1;
}

/* Draw triangle t, set up in T, into keys (row-major, sw samples a row):
 * every covered sample keeps the smaller of its key and t's. The depth key
 * is stepped along each row in float from the row's start, stepped down the
 * rows in double from (x0, y0): the set-up's row range fixes every value. */
ORF_HD void rp_tri_draw(const rp_tri *T, uint32_t t, uint64_t *keys, size_t sw)
{
    long long r0 = T->r[0], r1 = T->r[1], r2 = T->r[2];
    const long long dx0 = T->dx[0], dx1 = T->dx[1], dx2 = T->dx[2];
    double qrow = T->qrow;
    for (long long y = T->y0; y <= T->y1; y++, qrow += T->dqdy) {
        long long w0 = r0 + T->bias[0], w1 = r1 + T->bias[1], w2 = r2 + T->bias[2];
        uint64_t *row = keys + (size_t)y * sw;
        float q = (float)qrow, dq = (float)T->dqdx;
        for (long long x = T->x0; x <= T->x1; x++, q += dq) {
            if ((w0 | w1 | w2) >= 0)
                rp_key_min(&row[x], rp_depth_key(q, t));
            w0 += dx0, w1 += dx1, w2 += dx2;
        }
        r0 += T->dy[0], r1 += T->dy[1], r2 += T->dy[2];
    }
}

/* The band of bin entry k: the b in [0, nbands) with band_start[b] <= k <
 * band_start[b + 1], for band offsets band_start[0..nbands] that grow
 * (band_start[0] = 0, empty bands allowed) and k < band_start[nbands]. */
ORF_HD uint32_t rp_band_of(const uint32_t *band_start, uint32_t nbands, uint64_t k)
{
    uint32_t lo = 0, hi = nbands; /* band_start[lo] <= k < band_start[hi] */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((uint64_t)band_start[mid] <= k)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* ---- shading and resolve ------------------------------------------------- */

/* What the shading reads; all arrays on the side that runs it. */
typedef struct rp_scene {
    const uint32_t *idx;   /* 3 vertex indices per triangle (all < nverts) */
    const rp_vtx *sv;      /* screen vertices */
    const float *vn;       /* view-space unit vertex normals, 3 per vertex; or NULL and: */
    const float *cn;       /* view-space unit corner normals, 9 per triangle */
    const float *uv;       /* 2 per vertex, or NULL */
    const uint8_t *col;    /* RGBA8 per vertex, or NULL */
    const uint8_t *tex;    /* RGBA8 texture tex_w x tex_h, or NULL */
    int tex_w, tex_h;
    const uint64_t *keys;  /* the drawn raster, sw x (height * ss) */
    int sw, ss, width;     /* samples a row, samples per pixel per axis, pixels a row */
    uint8_t background[4]; /* RGBA8 */
} rp_scene;

/* The colour of triangle t at sample-space point (px, py) (float samples):
 * perspective-correct barycentrics, normal (flipped on a back face),
 * texture times vertex colours, neutral grey without either, rp_shade. */
ORF_HD void rp_shade_point(const rp_scene *S, uint32_t t, float px, float py, float rgb[3])
{
    const uint32_t *ix = S->idx + 3 * (size_t)t;
    const rp_vtx *s0 = &S->sv[ix[0]], *s1 = &S->sv[ix[1]], *s2 = &S->sv[ix[2]];
    float area = (s1->fx - s0->fx) * (s2->fy - s0->fy) - (s1->fy - s0->fy) * (s2->fx - s0->fx);
    float b[3];
    if (fabsf(area) > 1e-20f) {
        b[0] = ((s1->fx - px) * (s2->fy - py) - (s1->fy - py) * (s2->fx - px)) / area;
        b[1] = ((s2->fx - px) * (s0->fy - py) - (s2->fy - py) * (s0->fx - px)) / area;
        b[2] = 1.0f - b[0] - b[1];
    } else {
        b[0] = b[1] = b[2] = 1.0f / 3.0f;
    }
    /* perspective-correct weights */
    float pw[3] = {b[0] * s0->invw, b[1] * s1->invw, b[2] * s2->invw};
    float sum = pw[0] + pw[1] + pw[2];
    if (sum != 0.0f)
        for (int k = 0; k < 3; k++)
            pw[k] /= sum;
    float n[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 3; j++)
            n[j] += pw[k] * (S->cn ? S->cn[9 * (size_t)t + 3 * k + j] : S->vn[3 * (size_t)ix[k] + j]);
    rp_normalize3(n);
    /* screen is y-down: a triangle counter-clockwise from outside has area < 0 seen from its front */
    if (area > 0.0f)
        n[0] = -n[0], n[1] = -n[1], n[2] = -n[2];
    float albedo[3] = {RP_NEUTRAL_R, RP_NEUTRAL_G, RP_NEUTRAL_B};
    int textured = S->uv && S->tex && S->tex_w > 0 && S->tex_h > 0;
    if (textured) {
        float u = 0, v = 0;
        for (int k = 0; k < 3; k++) {
            u += pw[k] * S->uv[2 * (size_t)ix[k]];
            v += pw[k] * S->uv[2 * (size_t)ix[k] + 1];
        }
        rp_texture_bilinear(S->tex, S->tex_w, S->tex_h, u, v, albedo);
    }
    if (S->col) {
        float col[3] = {0, 0, 0};
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < 3; j++)
                col[j] += pw[k] * (float)S->col[4 * (size_t)ix[k] + j] * (1.0f / 255.0f);
        for (int j = 0; j < 3; j++)
            albedo[j] = textured ? albedo[j] * col[j] : col[j];
    }
    rp_shade(albedo, n, rgb);
}

/* Output pixel (px, py) from its ss x ss samples into out[4]: the samples
 * that hit the same triangle are shaded once at their mean position (a pixel
 * wholly on one triangle once at its centre), then box-filtered with the
 * background (rp_resolve). */
ORF_HD void rp_resolve_pixel(const rp_scene *S, int px, int py, uint8_t out[4])
{
    const int ss = S->ss, n = ss * ss;
    const size_t sw = (size_t)S->sw;
    uint32_t ids[RP_MAX_SAMPLES * RP_MAX_SAMPLES];
    float mx[RP_MAX_SAMPLES * RP_MAX_SAMPLES], my[RP_MAX_SAMPLES * RP_MAX_SAMPLES];
    int cnt[RP_MAX_SAMPLES * RP_MAX_SAMPLES];
    int ngroups = 0, covered = 0;
    /* fast path: every sample on one triangle, shaded once at the pixel centre */
    uint32_t first = (uint32_t)S->keys[(size_t)(py * ss) * sw + (size_t)(px * ss)];
    int uniform = first != RP_NO_TRI;
    for (int sy = 0; sy < ss && uniform; sy++) {
        const uint64_t *r = S->keys + (size_t)(py * ss + sy) * sw + (size_t)(px * ss);
        for (int sx = 0; sx < ss; sx++)
            uniform &= (uint32_t)r[sx] == first;
    }
    if (uniform) {
        float rgb[3];
        rp_shade_point(S, first, ((float)px + 0.5f) * (float)ss, ((float)py + 0.5f) * (float)ss, rgb);
        for (int k = 0; k < 3; k++)
            rgb[k] *= (float)n;
        rp_resolve(rgb, n, n, S->background, out);
        return;
    }
    for (int sy = 0; sy < ss; sy++) {
        size_t row = (size_t)(py * ss + sy) * sw;
        for (int sx = 0; sx < ss; sx++) {
            int x = px * ss + sx;
            uint32_t t = (uint32_t)S->keys[row + (size_t)x];
            if (t == RP_NO_TRI)
                continue;
            covered++;
            int g = 0;
            while (g < ngroups && ids[g] != t)
                g++;
            if (g == ngroups) {
                ids[g] = t, mx[g] = 0, my[g] = 0, cnt[g] = 0;
                ngroups++;
            }
            mx[g] += (float)x + 0.5f;
            my[g] += (float)(py * ss + sy) + 0.5f;
            cnt[g]++;
        }
    }
    float sum[3] = {0, 0, 0};
    for (int g = 0; g < ngroups; g++) {
        float rgb[3];
        rp_shade_point(S, ids[g], mx[g] / (float)cnt[g], my[g] / (float)cnt[g], rgb);
        for (int k = 0; k < 3; k++)
            sum[k] += rgb[k] * (float)cnt[g];
    }
    rp_resolve(sum, covered, n, S->background, out);
}

#endif
