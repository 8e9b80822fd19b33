/* Taubin smoothing: a noisy sphere gets rounder and keeps its volume; the
 * result does not depend on the thread count; boundaries stay put. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "check.h"
#include "smooth.h"
#include "testmesh.h"

static void add_radial_noise(orf_mesh *m, double amplitude, uint64_t seed)
{
    for (uint32_t i = 0; i < m->nverts; i++) {
        float *p = m->pos + 3 * i;
        double r = sqrt((double)p[0] * p[0] + (double)p[1] * p[1] + (double)p[2] * p[2]);
        double f = (r + amplitude * (2.0 * rng_uniform(&seed) - 1.0)) / r;
        for (int k = 0; k < 3; k++)
            p[k] = (float)(p[k] * f);
    }
}

int main(void)
{
    orf_mesh clean, noisy;
    orf_err e;
    edge_counts c0, c1;
    CHECK(icosphere(&clean, 5, 1.0f) == 0 && icosphere(&noisy, 5, 1.0f) == 0, "icospheres built");
    edge_check(&clean, &c0);
    CHECK(c0.watertight && c0.volume > 4.0, "the test sphere is closed and outward (volume %.4f)",
          c0.volume);

    add_radial_noise(&noisy, 0.02, 12345);
    double sd_before = radius_stddev(&noisy, NULL);
    orf_mesh copy;
    mesh_alloc(&copy, noisy.nverts, noisy.ntris, 0, NULL);
    memcpy(copy.pos, noisy.pos, sizeof(float) * 3 * noisy.nverts);
    memcpy(copy.idx, noisy.idx, sizeof(uint32_t) * 3 * noisy.ntris);

    omp_set_num_threads(2);
    CHECK(mesh_smooth_taubin(&noisy, SMOOTH_ITERATIONS, SMOOTH_LAMBDA, SMOOTH_MU, &e) == 0,
          "smoothing runs");
    double mean_after;
    double sd_after = radius_stddev(&noisy, &mean_after);
    /* Taubin passes the lowest frequencies by design; with white per-vertex
     * noise 10 iterations remove about 2/3 of the radius spread. */
    CHECK(sd_after * 2.5 < sd_before,
          "the noisy sphere gets rounder: radius std-dev %.5f -> %.5f (%.1fx)", sd_before,
          sd_after, sd_before / sd_after);
    edge_check(&noisy, &c1);
    CHECK(fabs(c1.volume - c0.volume) < 0.01 * c0.volume,
          "volume within 1%% of the clean sphere's: %.5f vs %.5f (%.3f%%)", c1.volume, c0.volume,
          100.0 * (c1.volume - c0.volume) / c0.volume);
    CHECK(c1.watertight, "still closed and outward");

    /* Bit-identical for 1 and 2 threads. */
    omp_set_num_threads(1);
    CHECK(mesh_smooth_taubin(&copy, SMOOTH_ITERATIONS, SMOOTH_LAMBDA, SMOOTH_MU, &e) == 0,
          "smoothing runs on one thread");
    CHECK(memcmp(copy.pos, noisy.pos, sizeof(float) * 3 * noisy.nverts) == 0,
          "one thread and two threads give the same bits");

    /* Bad parameters are refused and leave the mesh alone. */
    CHECK(mesh_smooth_taubin(&copy, 10, 0.5f, -0.4f, &e) == -1 && strcmp(e.code, "bad_request") == 0,
          "mu that would shrink is refused (%s)", e.code);
    CHECK(mesh_smooth_taubin(&copy, -1, 0.5f, -0.53f, &e) == -1, "negative iterations refused");

    /* An open mesh (hemisphere): boundary vertices move along the boundary
     * only, so they stay on the rim plane z = 0, and the rim keeps its size. */
    orf_mesh half;
    icosphere(&half, 4, 1.0f);
    uint32_t w = 0;
    for (uint32_t t = 0; t < half.ntris; t++) {
        const uint32_t *v = half.idx + 3 * t;
        int keep = 1;
        for (int k = 0; k < 3; k++)
            if (half.pos[3 * v[k] + 2] < -1e-6f)
                keep = 0;
        if (keep)
            memmove(half.idx + 3 * w++, v, sizeof(uint32_t) * 3);
    }
    half.ntris = w;
    smooth_adjacency adj;
    CHECK(smooth_adjacency_build(&half, &adj, &e) == 0 && adj.boundary_vertices > 0,
          "the hemisphere has boundary vertices (%u)", adj.boundary_vertices);
    smooth_adjacency_free(&adj);
    /* Put the rim on the unit circle in z = 0 with noise along it, and the
     * inside noisy: the rim must stay in its plane and keep its size. */
    edge_counts ch;
    edge_check(&half, &ch);
    tm_edge *E = malloc(sizeof *E * 3 * half.ntris);
    size_t n = 0;
    for (uint32_t t = 0; t < half.ntris; t++)
        for (int k = 0; k < 3; k++) {
            uint32_t a = half.idx[3 * t + k], b = half.idx[3 * t + (k + 1) % 3];
            E[n].a = a < b ? a : b;
            E[n].b = a < b ? b : a;
            E[n].tri = t;
            E[n++].forward = 0;
        }
    qsort(E, n, sizeof *E, tm_edge_cmp);
    unsigned char *rim = calloc(half.nverts, 1);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && E[j].a == E[i].a && E[j].b == E[i].b)
            j++;
        if (j - i == 1)
            rim[E[i].a] = rim[E[i].b] = 1;
        i = j;
    }
    free(E);
    uint64_t seed = 99;
    uint32_t rim_n = 0;
    for (uint32_t i = 0; i < half.nverts; i++) {
        float *p = half.pos + 3 * i;
        double f = 1.0 + 0.01 * (2.0 * rng_uniform(&seed) - 1.0);
        if (rim[i]) {
            double ang = atan2(p[1], p[0]) + 0.002 * (2.0 * rng_uniform(&seed) - 1.0);
            p[0] = (float)cos(ang);
            p[1] = (float)sin(ang);
            p[2] = 0.0f;
            rim_n++;
        } else {
            for (int k = 0; k < 3; k++)
                p[k] = (float)(p[k] * f);
        }
    }
    CHECK(ch.boundary >= 64 && rim_n == ch.boundary,
          "the hemisphere has one rim loop (%u edges, %u vertices)", ch.boundary, rim_n);
    CHECK(mesh_smooth_taubin(&half, 10, SMOOTH_LAMBDA, SMOOTH_MU, &e) == 0, "hemisphere smoothed");
    uint32_t off_plane = 0;
    double rim_r = 0;
    for (uint32_t i = 0; i < half.nverts; i++) {
        const float *p = half.pos + 3 * i;
        if (!rim[i])
            continue;
        off_plane += p[2] != 0.0f;
        rim_r += sqrt((double)p[0] * p[0] + (double)p[1] * p[1]);
    }
    rim_r /= rim_n ? rim_n : 1;
    free(rim);
    CHECK(off_plane == 0, "the rim stays in its plane (%u of %u rim vertices left it)", off_plane,
          rim_n);
    CHECK(fabs(rim_r - 1.0) < 0.01, "the rim keeps its radius: %.4f", rim_r);

    mesh_free(&clean);
    mesh_free(&noisy);
    mesh_free(&copy);
    mesh_free(&half);
    return check_done();
}
