/* test_render_tri.c - the shared raster arithmetic of lib/hd/render_tri.h, on
 * the host: what lets the CUDA rasteriser (all bin entries at once, in any
 * order, atomicMin) give the CPU's picture.
 *   - rp_depth_key orders samples "nearer wins, ties to the lower index"
 *     (-0 ties +0; NaN and -inf never win);
 *   - rp_band_of finds every bin entry's band, empty bands included;
 *   - random triangles (with coincident copies and shared edges) drawn the
 *     CPU's way (band by band, index order) and the GPU's way (entries in a
 *     shuffled order, band looked up) give the same keys, and the same
 *     winners as the plain rule "depth strictly greater, in index order".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hd/render_tri.h"

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float rndf(float lo, float hi)
{
    return lo + (hi - lo) * (float)(rnd() & 0xFFFFFF) / (float)0x1000000;
}

static void check_keys(void)
{
    static const float qs[] = {-INFINITY, -3.5f, -1.0f, -0.0f, 0.0f, 1e-30f, 0.25f, 0.25f, 1.0f, 7.0f, INFINITY};
    const int nq = (int)(sizeof qs / sizeof qs[0]);
    int bad = 0, total = 0;
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < nq; j++)
            for (uint32_t ti = 0; ti < 3; ti++)
                for (uint32_t tj = 0; tj < 3; tj++) {
                    float a = qs[i], b = qs[j];
                    uint64_t ka = rp_depth_key(a, ti), kb = rp_depth_key(b, tj);
                    int a_can = a > -INFINITY, b_can = b > -INFINITY;
                    int want; /* 1 when (a, ti) must beat (b, tj) */
                    if (!a_can)
                        want = 0;
                    else if (!b_can)
                        want = 1;
                    else
                        want = a > b || (a == b && ti < tj);
                    total++;
                    if ((ka < kb) != want)
                        bad++;
                }
    CHECK(bad == 0, "depth keys: nearer wins, equal depths (-0 = +0) go to the lower index (%d of %d pairs wrong)",
          bad, total);
    CHECK(rp_depth_key(NAN, 0) == RP_KEY_EMPTY && rp_depth_key(-INFINITY, 5) == RP_KEY_EMPTY &&
              (uint32_t)RP_KEY_EMPTY == RP_NO_TRI,
          "depth keys: NaN and -inf give the empty key, whose index is RP_NO_TRI");
    CHECK((uint32_t)rp_depth_key(0.5f, 12345) == 12345u, "depth keys: the low half is the triangle index");
}

static void check_band_of(void)
{
    /* counts with empty bands at the start, middle and end */
    static const uint32_t counts[] = {0, 0, 3, 1, 0, 0, 5, 2, 0, 1, 0, 0};
    const uint32_t nb = (uint32_t)(sizeof counts / sizeof counts[0]);
    uint32_t start[16];
    start[0] = 0;
    for (uint32_t b = 0; b < nb; b++)
        start[b + 1] = start[b] + counts[b];
    int bad = 0;
    for (uint64_t k = 0; k < start[nb]; k++) {
        uint32_t b = rp_band_of(start, nb, k);
        if (!(b < nb && start[b] <= k && k < start[b + 1]))
            bad++;
    }
    uint32_t one[2] = {0, 4};
    CHECK(bad == 0 && rp_band_of(one, 1, 3) == 0, "band lookup: every entry in its band, empty bands skipped (%d wrong)",
          bad);
}

/* screen vertex at float sample position (fx, fy) with depth key q */
static rp_vtx vtx(float fx, float fy, float q)
{
    rp_vtx v;
    memset(&v, 0, sizeof v);
    v.fx = fx, v.fy = fy, v.q = q, v.invw = 1.0f, v.ok = 1;
    v.x = (long long)floor((double)fx * RP_SUBPIX + 0.5);
    v.y = (long long)floor((double)fy * RP_SUBPIX + 0.5);
    return v;
}

/* The rule before keys: per band, in index order, a sample takes a triangle
 * whose depth is strictly greater than what it holds. */
static void draw_reference(const rp_tri *T, uint32_t t, float *depth, uint32_t *id, size_t sw)
{
    long long r0 = T->r[0], r1 = T->r[1], r2 = T->r[2];
    double qrow = T->qrow;
    for (long long y = T->y0; y <= T->y1; y++, qrow += T->dqdy) {
        long long w0 = r0 + T->bias[0], w1 = r1 + T->bias[1], w2 = r2 + T->bias[2];
        float q = (float)qrow, dq = (float)T->dqdx;
        for (long long x = T->x0; x <= T->x1; x++, q += dq) {
            size_t i = (size_t)y * sw + (size_t)x;
            if ((w0 | w1 | w2) >= 0 && q > depth[i]) {
                depth[i] = q;
                id[i] = t;
            }
            w0 += T->dx[0], w1 += T->dx[1], w2 += T->dx[2];
        }
        r0 += T->dy[0], r1 += T->dy[1], r2 += T->dy[2];
    }
}

static void check_order_independence(int sw, int sh, int band_rows, uint32_t ntris)
{
    uint32_t nverts = 3 * ntris;
    rp_vtx *sv = malloc(nverts * sizeof *sv);
    uint32_t *idx = malloc(3 * (size_t)ntris * sizeof *idx);
    for (uint32_t t = 0; t < ntris; t++) {
        uint32_t v = 3 * t;
        if (t > 0 && rnd() % 5 == 0) { /* a coincident copy of the previous triangle: a depth tie */
            memcpy(sv + v, sv + v - 3, 3 * sizeof *sv);
            if (rnd() & 1) { /* the same triangle, vertices in the other order */
                rp_vtx tmp = sv[v + 1];
                sv[v + 1] = sv[v + 2], sv[v + 2] = tmp;
            }
        } else if (t > 0 && rnd() % 4 == 0) { /* shares an edge with the previous one */
            sv[v] = sv[v - 3], sv[v + 1] = sv[v - 2];
            sv[v + 2] = vtx(rndf(-8, (float)sw + 8), rndf(-8, 0.7f * (float)sh), rndf(0.1f, 2.0f));
            sv[v + 2].q = sv[v].q; /* same plane when the other two agree */
        } else {
            float cx = rndf(-5, (float)sw + 5), cy = rndf(-5, 0.7f * (float)sh), r = rndf(1, 30);
            float q = rndf(0.1f, 2.0f);
            for (int k = 0; k < 3; k++)
                sv[v + k] = vtx(cx + rndf(-r, r), cy + rndf(-r, r), q + rndf(-0.3f, 0.3f));
        }
        idx[3 * t] = v, idx[3 * t + 1] = v + 1, idx[3 * t + 2] = v + 2;
    }
    /* bins as lib/render.c makes them: the bands each triangle's rows touch, in index order */
    int nbands = (sh + band_rows - 1) / band_rows;
    uint32_t *start = calloc((size_t)nbands + 1, sizeof *start);
    uint32_t *tris = malloc((size_t)ntris * (size_t)nbands * sizeof *tris);
    uint32_t n = 0;
    for (int b = 0; b < nbands; b++) {
        start[b] = n;
        for (uint32_t t = 0; t < ntris; t++) {
            long long miny = sv[3 * t].y, maxy = miny;
            for (int k = 1; k < 3; k++) {
                miny = sv[3 * t + k].y < miny ? sv[3 * t + k].y : miny;
                maxy = sv[3 * t + k].y > maxy ? sv[3 * t + k].y : maxy;
            }
            long long lo = (long long)b * band_rows * RP_SUBPIX, hi = lo + (long long)band_rows * RP_SUBPIX;
            if (maxy >= lo - RP_SUBPIX && miny < hi + RP_SUBPIX)
                tris[n++] = t;
        }
    }
    start[nbands] = n;

    size_t ns = (size_t)sw * (size_t)sh;
    uint64_t *kc = malloc(ns * sizeof *kc), *kg = malloc(ns * sizeof *kg);
    float *depth = malloc(ns * sizeof *depth);
    uint32_t *id = malloc(ns * sizeof *id);
    /* the CPU's way, and the old rule, band by band in index order */
    for (int b = 0; b < nbands; b++) {
        long long row0 = (long long)b * band_rows, row1 = row0 + band_rows < sh ? row0 + band_rows : sh;
        for (size_t i = (size_t)row0 * (size_t)sw; i < (size_t)row1 * (size_t)sw; i++)
            kc[i] = RP_KEY_EMPTY, depth[i] = -INFINITY, id[i] = RP_NO_TRI;
        for (uint32_t k = start[b]; k < start[b + 1]; k++) {
            uint32_t t = tris[k];
            rp_tri T;
            if (rp_tri_setup(&sv[idx[3 * t]], &sv[idx[3 * t + 1]], &sv[idx[3 * t + 2]], sw, row0, row1, &T)) {
                rp_tri_draw(&T, t, kc, (size_t)sw);
                draw_reference(&T, t, depth, id, (size_t)sw);
            }
        }
    }
    /* the GPU's way: every entry on its own, in a shuffled order */
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    for (uint32_t k = 0; k < n; k++)
        order[k] = k;
    for (uint32_t k = n; k > 1; k--) {
        uint32_t j = rnd() % k, tmp = order[k - 1];
        order[k - 1] = order[j], order[j] = tmp;
    }
    for (size_t i = 0; i < ns; i++)
        kg[i] = RP_KEY_EMPTY;
    for (uint32_t o = 0; o < n; o++) {
        uint64_t k = order[o];
        uint32_t b = rp_band_of(start, (uint32_t)nbands, k);
        long long row0 = (long long)b * band_rows, row1 = row0 + band_rows < sh ? row0 + band_rows : sh;
        uint32_t t = tris[k];
        rp_tri T;
        if (rp_tri_setup(&sv[idx[3 * t]], &sv[idx[3 * t + 1]], &sv[idx[3 * t + 2]], sw, row0, row1, &T))
            rp_tri_draw(&T, t, kg, (size_t)sw);
    }
    size_t differ = 0, wrong = 0, covered = 0, ties = 0;
    for (size_t i = 0; i < ns; i++) {
        differ += kc[i] != kg[i];
        wrong += (uint32_t)kc[i] != id[i];
        covered += id[i] != RP_NO_TRI;
    }
    /* how many covered samples had a coincident copy over them (the tie rule mattered) */
    for (size_t i = 0; i < ns; i++)
        if (id[i] != RP_NO_TRI && id[i] + 1 < ntris && !memcmp(&sv[3 * id[i]], &sv[3 * (id[i] + 1)], sizeof *sv))
            ties++;
    CHECK(differ == 0 && covered > ns / 4,
          "raster %d x %d, bands of %d, %u triangles: entries drawn in a shuffled order give the CPU's keys "
          "(%zu of %zu samples differ; %zu covered)",
          sw, sh, band_rows, ntris, differ, ns, covered);
    CHECK(wrong == 0 && ties > 0,
          "raster %d x %d: the smallest key is the old rule's winner, strictly nearer in index order "
          "(%zu samples differ; %zu samples under coincident triangles)",
          sw, sh, wrong, ties);
    free(sv), free(idx), free(start), free(tris), free(kc), free(kg), free(depth), free(id), free(order);
}

int main(void)
{
    check_keys();
    check_band_of();
    check_order_independence(97, 83, 16, 300);
    check_order_independence(160, 120, 7, 1200);
    check_order_independence(33, 200, 16, 60);
    return check_done();
}
