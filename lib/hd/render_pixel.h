/* hd/render_pixel.h - the per-pixel arithmetic of the software rasteriser, shared
 * by the CPU path (lib/render.c) and the CUDA kernels (kernels/cuda_render.cu,
 * through lib/hd/render_tri.h): one definition of the shading, two backends.
 *
 * Everything here is a static inline function on plain floats and bytes, with
 * no allocation, no libc beyond <math.h>, and ORF_HD (hd/hd.h) in front (which is
 * `__host__ __device__` under nvcc and nothing in C).
 *
 * Spaces: "view space" is the camera's frame, +x right on screen, +y up on
 * screen, +z toward the viewer. Colours are floats in [0, 1], sRGB-encoded
 * (shading happens on the encoded values, as a quick preview renderer may).
 * Lights are fixed to the camera so that every view is lit the same way:
 * a key light from the upper left in front, a soft ambient term, and a rim
 * light that brightens surfaces seen edge-on (it outlines the silhouette).
 */
#ifndef ORFEAS_HD_RENDER_PIXEL_H
#define ORFEAS_HD_RENDER_PIXEL_H

#include <math.h>
#include <stdint.h>

#include "hd/hd.h"

/* Light rig (view space). The key direction is normalised at use. */
#define RP_AMBIENT 0.22f
#define RP_KEY 0.78f
#define RP_KEY_X (-0.45f)
#define RP_KEY_Y 0.55f
#define RP_KEY_Z 0.70f
#define RP_RIM 0.30f
/* Neutral material when the mesh has neither texture nor colours: light grey, a touch of blue. */
#define RP_NEUTRAL_R 0.80f
#define RP_NEUTRAL_G 0.80f
#define RP_NEUTRAL_B 0.83f

ORF_HD float rp_clamp01(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }

/* Float in [0, 1] to a byte, rounded. */
ORF_HD uint8_t rp_to_u8(float x) { return (uint8_t)(rp_clamp01(x) * 255.0f + 0.5f); }

/* Normalise (x, y, z) in place; a zero vector becomes (0, 0, 1). */
ORF_HD void rp_normalize3(float v[3])
{
    float l2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
    if (!(l2 > 1e-30f)) {
        v[0] = 0.0f, v[1] = 0.0f, v[2] = 1.0f;
        return;
    }
    float inv = 1.0f / sqrtf(l2);
    v[0] *= inv, v[1] *= inv, v[2] *= inv;
}

/* The light that reaches a surface with unit view-space normal n (facing the
 * viewer: the caller flips normals of back-facing triangles), as a factor on
 * the albedo, and the additive rim term (white), written to *rim. */
ORF_HD float rp_light(const float n[3], float *rim)
{
    const float kl = 1.0f / sqrtf(RP_KEY_X * RP_KEY_X + RP_KEY_Y * RP_KEY_Y + RP_KEY_Z * RP_KEY_Z);
    float ndl = (n[0] * RP_KEY_X + n[1] * RP_KEY_Y + n[2] * RP_KEY_Z) * kl;
    float diffuse = ndl > 0.0f ? ndl : 0.0f;
    float facing = n[2] > 0.0f ? n[2] : 0.0f; /* view direction is +z in view space */
    float edge = 1.0f - facing;
    *rim = RP_RIM * edge * edge * edge;
    return RP_AMBIENT + RP_KEY * diffuse;
}

/* Shade one surface point: albedo rgb (0..1) under the rig, normal n as above.
 * out[3] receives the colour, clamped to [0, 1]. */
ORF_HD void rp_shade(const float albedo[3], const float n[3], float out[3])
{
    float rim;
    float k = rp_light(n, &rim);
    for (int c = 0; c < 3; c++)
        out[c] = rp_clamp01(albedo[c] * k + rim);
}

/* Bilinear sample of an RGBA8 texture (w x h, row-major, top row first) at
 * (u, v), u right and v down in [0, 1] as in glTF, texel centres at
 * (i + 0.5) / w; coordinates outside are clamped to the edge. rgb[3] gets
 * the colour in [0, 1]. w, h must be > 0. */
ORF_HD void rp_texture_bilinear(const uint8_t *rgba, int w, int h, float u, float v,
                                             float rgb[3])
{
    if (!(u == u))
        u = 0.0f; /* NaN */
    if (!(v == v))
        v = 0.0f;
    float x = u * (float)w - 0.5f, y = v * (float)h - 0.5f;
    if (x < 0.0f)
        x = 0.0f;
    if (y < 0.0f)
        y = 0.0f;
    if (x > (float)(w - 1))
        x = (float)(w - 1);
    if (y > (float)(h - 1))
        y = (float)(h - 1);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    float fx = x - (float)x0, fy = y - (float)y0;
    const uint8_t *p00 = rgba + 4 * ((size_t)y0 * (size_t)w + (size_t)x0);
    const uint8_t *p10 = rgba + 4 * ((size_t)y0 * (size_t)w + (size_t)x1);
    const uint8_t *p01 = rgba + 4 * ((size_t)y1 * (size_t)w + (size_t)x0);
    const uint8_t *p11 = rgba + 4 * ((size_t)y1 * (size_t)w + (size_t)x1);
    for (int c = 0; c < 3; c++) {
        float top = (float)p00[c] + ((float)p10[c] - (float)p00[c]) * fx;
        float bot = (float)p01[c] + ((float)p11[c] - (float)p01[c]) * fx;
        rgb[c] = (top + (bot - top) * fy) * (1.0f / 255.0f);
    }
}

/* Screen positions in the rasteriser are fixed point: RP_SUBPIX steps a
 * sample, sample (x, y) sits at ((x + 0.5) * RP_SUBPIX, (y + 0.5) * RP_SUBPIX).
 * Edge functions are then exact in 64-bit integers, which makes shared edges
 * watertight and the result independent of evaluation order. */
#define RP_SUBPIX 16

/* Edge function of the edge a -> b at p (fixed point): the doubled signed
 * area of (a, b, p). */
ORF_HD long long rp_edge(long long ax, long long ay, long long bx, long long by,
                                      long long px, long long py)
{
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax);
}

/* Top-left fill rule for an edge a -> b of a triangle whose vertices were
 * ordered so that its edge functions are positive inside: whether a sample
 * exactly on the edge (edge function 0) belongs to this triangle. The rule
 * is antisymmetric (a -> b owns exactly when b -> a does not), so two
 * triangles sharing an edge never both cover, nor both miss, a sample on it. */
ORF_HD int rp_edge_owns(long long ax, long long ay, long long bx, long long by)
{
    long long dx = bx - ax, dy = by - ay;
    return dy < 0 || (dy == 0 && dx > 0);
}

/* Composite `n` samples into one output pixel. sum_rgb is the sum of the
 * colours of the `covered` samples the mesh hit; the other n - covered show
 * the background bg (RGBA8). The pixel is the box-filtered average with
 * straight (not premultiplied) alpha, written to out[4]. */
ORF_HD void rp_resolve(const float sum_rgb[3], int covered, int n, const uint8_t bg[4],
                                    uint8_t out[4])
{
    float bga = (float)bg[3] * (1.0f / 255.0f);
    float miss = (float)(n - covered);
    float alpha = ((float)covered + miss * bga) / (float)n;
    for (int c = 0; c < 3; c++) {
        float premul = (sum_rgb[c] + miss * bga * (float)bg[c] * (1.0f / 255.0f)) / (float)n;
        out[c] = alpha > 0.0f ? rp_to_u8(premul / alpha) : bg[c];
    }
    out[3] = rp_to_u8(alpha);
}

#endif
