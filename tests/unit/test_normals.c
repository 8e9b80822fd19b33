/* Vertex normals: the GPU's gather (hd/normal_vertex.h over each vertex's
 * corners in ascending order, as kernels/cuda_normals.cu lays them out) is
 * mesh_compute_normals's scatter bit for bit, on a noisy sphere, an
 * extraction, and a mesh with the awkward cases (a triangle with a repeated
 * vertex, a zero-area sliver, an unused vertex, an opposite pair); and the
 * normals themselves are right: unit length, outward on a sphere, (0, 0, 1)
 * where there is no area. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cuda_shapes.h"
#include "hd/normal_vertex.h"
#include "mt.h"
#include "normals.h"
#include "testmesh.h"

/* The device's layout on the host: corners counted per vertex, starts by an
 * exclusive scan, each vertex's corners in ascending order (what a stable
 * radix sort of the corners by vertex gives), then one gather a vertex. */
static float *gather_normals(const orf_mesh *m)
{
    uint32_t nv = m->nverts;
    uint64_t n3 = 3 * (uint64_t)m->ntris;
    uint32_t *start = calloc((size_t)nv + 1, sizeof *start);
    uint32_t *cursor = calloc((size_t)nv + 1, sizeof *cursor);
    uint32_t *corner = malloc((n3 + 1) * sizeof *corner);
    float *n = malloc(((size_t)nv * 3 + 1) * sizeof *n);
    for (uint64_t c = 0; c < n3; c++)
        start[m->idx[c] + 1]++;
    for (uint32_t v = 0; v < nv; v++)
        start[v + 1] += start[v];
    memcpy(cursor, start, (size_t)nv * sizeof *start);
    for (uint64_t c = 0; c < n3; c++)
        corner[cursor[m->idx[c]]++] = (uint32_t)c;
    for (uint32_t v = 0; v < nv; v++)
        normal_vertex_gather(m->pos, m->idx, corner + start[v], start[v + 1] - start[v], n + 3 * (size_t)v);
    free(start);
    free(cursor);
    free(corner);
    return n;
}

/* 1 when the gather gives mesh_compute_normals's bits; *differ counts the
 * floats that differ */
static int same_as_scatter(orf_mesh *m, size_t *differ)
{
    orf_err e;
    *differ = (size_t)-1;
    if (mesh_compute_normals(m, &e) != 0)
        return 0;
    float *g = gather_normals(m);
    *differ = 0;
    for (size_t i = 0; i < 3 * (size_t)m->nverts; i++)
        *differ += memcmp(&g[i], &m->nrm[i], sizeof *g) != 0;
    free(g);
    return *differ == 0;
}

int main(void)
{
    orf_err e;
    size_t differ;

    /* a noisy sphere: unit normals pointing outward */
    orf_mesh s;
    CHECK(icosphere(&s, 4, 1.0f) == 0, "an icosphere of %u triangles", s.ntris);
    uint64_t seed = 7;
    for (uint32_t i = 0; i < 3 * s.nverts; i++)
        s.pos[i] *= (float)(1.0 + 0.01 * (rng_uniform(&seed) - 0.5));
    CHECK(same_as_scatter(&s, &differ), "sphere: the gather is the scatter bit for bit (%zu floats differ)",
          differ);
    double worst_len = 0, worst_dot = 1;
    for (uint32_t v = 0; v < s.nverts; v++) {
        const float *p = s.pos + 3 * v, *n = s.nrm + 3 * v;
        double l = sqrt((double)n[0] * n[0] + (double)n[1] * n[1] + (double)n[2] * n[2]);
        double r = sqrt((double)p[0] * p[0] + (double)p[1] * p[1] + (double)p[2] * p[2]);
        worst_len = fmax(worst_len, fabs(l - 1));
        worst_dot = fmin(worst_dot, (p[0] * n[0] + p[1] * n[1] + p[2] * n[2]) / r);
    }
    CHECK(worst_len < 1e-6 && worst_dot > 0.95,
          "sphere: unit normals along the radius (worst |len-1| %.2g, worst cosine %.4f)", worst_len, worst_dot);
    mesh_free(&s);

    /* an extraction of each test shape (the refined stage's input) */
    for (int k = 0; k < SHAPE_FIELDS; k++) {
        orf_field fld;
        orf_volume v;
        orf_mesh m;
        if (shape_field(k, &fld) != 0 || volume_sample(&fld, 48, &v, &e) != 0 || mt_extract(&v, &m, &e) != 0) {
            CHECK(0, "extraction of the %s", shape_names[k]);
            continue;
        }
        CHECK(m.ntris > 100 && same_as_scatter(&m, &differ),
              "%s extraction (%u triangles): the gather is the scatter bit for bit (%zu floats differ)",
              shape_names[k], m.ntris, differ);
        mesh_free(&m);
        volume_free(&v);
        field_free(&fld);
    }

    /* the awkward cases: 0 1 2 and 0 2 1 (opposite), 1 1 3 (repeated
     * vertex), 2 3 4 with 4 on the line 2-3 (zero area), vertex 5 unused,
     * 6 7 8 far away and tiny */
    orf_mesh a;
    static const float pos[27] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0.5f, 0.5f,
                                  9, 9, 9, 1e3f, 1e3f, 1e3f, 1e3f + 1e-3f, 1e3f, 1e3f, 1e3f, 1e3f + 1e-3f, 1e3f};
    static const uint32_t idx[18] = {0, 1, 2, 0, 2, 1, 1, 1, 3, 2, 3, 4, 6, 7, 8, 3, 1, 0};
    CHECK(mesh_alloc(&a, 9, 6, 0, &e) == 0, "a mesh of the awkward cases");
    memcpy(a.pos, pos, sizeof pos);
    memcpy(a.idx, idx, sizeof idx);
    CHECK(same_as_scatter(&a, &differ), "awkward cases: the gather is the scatter bit for bit (%zu differ)",
          differ);
    const float *n5 = a.nrm + 15, *n6 = a.nrm + 18;
    CHECK(n5[0] == 0 && n5[1] == 0 && n5[2] == 1, "an unused vertex gets (0, 0, 1) (%g %g %g)", n5[0], n5[1],
          n5[2]);
    CHECK(fabsf(n6[2] - 1) < 1e-6f, "a tiny far triangle still gets its unit normal (%g %g %g)", n6[0], n6[1],
          n6[2]);
    mesh_free(&a);
    return check_done();
}
