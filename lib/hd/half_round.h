/* hd/half_round.h - IEEE binary16 ("half", fp16) conversion in plain C, shared
 * by the CUDA kernels (fp16 volume storage) and the CPU (the emulation the
 * unit tests check the fp16 bound with), so both round every sample the
 * same way, bit for bit.
 *
 * half_from_float() rounds to nearest, ties to even, with two deliberate
 * departures from a plain conversion, both for marching cubes:
 *   - sign-preserving: a positive value that would round to +0 becomes the
 *     smallest positive half (2^-24), so "inside" (f > 0) never changes and
 *     the mesh keeps exactly the same topology (vertex and triangle counts,
 *     connectivity); negative values may become -0, which is still outside;
 *   - saturating: magnitudes that would round to infinity become +-65504.
 * NaN stays NaN (quiet). half_to_float() is exact.
 *
 * Error of one sample (a = f, a' = half_round(f)):
 *   |a' - a| <= 2^-11 |a|      when 2^-14 <= |a| <= 65504 (normal halves),
 *   |a' - a| <= 2^-24          below that (subnormal spacing 2^-24; half a
 *                              step from rounding, a whole one from the
 *                              sign-preserving rule).
 * The vertex bound that follows is half_edge_shift_bound() below.
 */
#ifndef ORFEAS_HD_HALF_ROUND_H
#define ORFEAS_HD_HALF_ROUND_H

#include <stdint.h>
#include <string.h>

#include "hd/hd.h"

#define HALF_REL_ERROR 4.8828125e-4   /* 2^-11: unit roundoff of binary16 */
#define HALF_ABS_ERROR 5.9604644775390625e-8 /* 2^-24: smallest subnormal */

ORF_HD uint32_t half_float_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

ORF_HD float half_bits_float(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* float -> binary16 bits: round to nearest even, sign-preserving for
 * positive values, saturating (see above). */
ORF_HD uint16_t half_from_float(float x)
{
    uint32_t u = half_float_bits(x);
    uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu, h;
    if (a > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u); /* NaN */
    if (a >= 0x477ff000u)                  /* >= 65520 (and inf): saturate */
        return (uint16_t)(sign | 0x7bffu);
    if (a < 0x38800000u) { /* below 2^-14: a subnormal half or zero */
        uint32_t e = a >> 23;
        if (e < 102) {
            h = 0;
        } else {
            uint32_t m = (a & 0x7fffffu) | 0x800000u, shift = 126 - e;
            uint32_t r = m >> shift, rem = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
            if (rem > halfway || (rem == halfway && (r & 1u)))
                r++;
            h = r;
        }
    } else {
        h = (a >> 13) - (112u << 10);
        uint32_t rem = a & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
            h++;
    }
    if (h == 0 && a != 0 && !sign)
        h = 1; /* keep positive values positive */
    return (uint16_t)(sign | h);
}

/* binary16 bits -> float, exact. */
ORF_HD float half_to_float(uint16_t hb)
{
    uint32_t sign = (uint32_t)(hb & 0x8000u) << 16, e = (hb >> 10) & 0x1fu, m = hb & 0x3ffu;
    if (e == 0) {
        float v = (float)m * 5.9604644775390625e-8f; /* m * 2^-24, exact */
        return sign ? -v : v;
    }
    if (e == 31)
        return half_bits_float(sign | 0x7f800000u | (m << 13));
    return half_bits_float(sign | ((e + 112u) << 23) | (m << 13));
}

/* What a sample becomes after fp16 storage. */
ORF_HD float half_round(float x)
{
    return half_to_float(half_from_float(x));
}

/* The bound on how far the zero crossing on one grid edge moves when both
 * end values a (inside, > 0) and b (<= 0) are stored as halves, as a share
 * of the edge (multiply by the edge length: step, step*sqrt(2) or
 * step*sqrt(3) for Kuhn edges along 1, 2 or 3 axes). With S = |a| + |b|,
 * u = 2^-11, eta = 2^-24 (each end errs by at most u|x| + eta):
 *     |t' - t| <= (u S / 2 + eta) / (S (1 - u) - 2 eta)
 * (t = |a| / S; the worst case puts opposite errors on the two ends and
 * t(1 - t) <= 1/4). For S >= 2^-13 this is at most
 *     (2^-12 + 2^-24 / S) (1 + 2^-9)
 * of the edge: with the volume of volume.h at 256 cells (S about 0.002
 * model units near the surface) about 2.8e-4 of a cell per axis, at most
 * sqrt(3) times that in distance. The clamp of mt_edge_t to
 * [MT_EDGE_MARGIN, 1 - MT_EDGE_MARGIN] cannot increase the distance. Returns 1 (the whole edge)
 * when S is too small for the formula to say anything. */
ORF_HD double half_edge_shift_bound(float a, float b)
{
    double S = (a < 0 ? -(double)a : (double)a) + (b < 0 ? -(double)b : (double)b);
    double u = HALF_REL_ERROR, eta = HALF_ABS_ERROR;
    double den = S * (1 - u) - 2 * eta;
    if (den <= 0)
        return 1.0;
    double t = (u * S / 2 + eta) / den;
    return t < 1.0 ? t : 1.0;
}

#endif
