/* test_mt.c - marching tetrahedra and voxel faces on random and simple volumes. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gen_shapes.h"
#include "mt.h"
#include "hd/mt_active.h"
#include "hd/mt_cell.h"
#include "topology.h"

/* The distance from each vertex to the nearest grid point of v, in cells:
 * the smallest over the mesh. */
static double nearest_grid_point(const orf_mesh *m, const orf_volume *v)
{
    double worst = 1e9;
    for (uint32_t i = 0; i < m->nverts; i++) {
        const float *p = m->pos + 3 * (size_t)i;
        double d2 = 0;
        double o[3] = {v->x0, v->y0, v->z0};
        for (int k = 0; k < 3; k++) {
            double c = ((double)p[k] - o[k]) / v->step;
            double f = c - floor(c + 0.5);
            d2 += f * f;
        }
        if (sqrt(d2) < worst)
            worst = sqrt(d2);
    }
    return worst;
}

static uint64_t rng = 88172645463325252ull;
static double rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* a random volume: smooth-ish blobs plus noise, outer layer negative */
static void random_volume(orf_volume *v, int n, double noise)
{
    v->nx = n;
    v->ny = n - 2;
    v->nz = n - 4;
    v->step = 1.0f / (float)n;
    v->x0 = v->y0 = v->z0 = -0.5f;
    size_t total = (size_t)v->nx * v->ny * v->nz;
    v->f = malloc(total * sizeof(float));
    double cx[4], cy[4], cz[4], r[4];
    for (int b = 0; b < 4; b++) {
        cx[b] = 0.2 + 0.6 * rnd();
        cy[b] = 0.2 + 0.6 * rnd();
        cz[b] = 0.2 + 0.6 * rnd();
        r[b] = 0.1 + 0.2 * rnd();
    }
    for (int k = 0; k < v->nz; k++)
        for (int j = 0; j < v->ny; j++)
            for (int i = 0; i < v->nx; i++) {
                double x = (double)i / v->nx, y = (double)j / v->ny, z = (double)k / v->nz;
                double best = -1;
                for (int b = 0; b < 4; b++) {
                    double d = r[b] - sqrt((x - cx[b]) * (x - cx[b]) + (y - cy[b]) * (y - cy[b]) +
                                           (z - cz[b]) * (z - cz[b]));
                    if (d > best)
                        best = d;
                }
                best += noise * (rnd() - 0.5);
                if (i == 0 || j == 0 || k == 0 || i == v->nx - 1 || j == v->ny - 1 ||
                    k == v->nz - 1)
                    best = -1;
                v->f[((size_t)k * v->ny + j) * v->nx + i] = (float)best;
            }
}

/* kernels/cuda_mt.cu's extraction over the active points (hd/mt_active.h),
 * step for step on the CPU: inside flags, the active points in order, their
 * bits and counts, the scans, the vertices, the triangles. 1 when the mesh
 * is mt_extract's, array for array; *nact gets the active points. */
static int active_extraction_same(const orf_volume *v, uint64_t *nact_out)
{
    orf_mesh ref;
    orf_err e;
    if (mt_extract(v, &ref, &e) != 0)
        return 0;
    int nx = v->nx, ny = v->ny, nz = v->nz;
    uint64_t slab = (uint64_t)nx * ny, npts = slab * nz;
    uint8_t *in = malloc(npts);
    for (uint64_t p = 0; p < npts; p++)
        in[p] = v->f[p] > 0.0f;
    uint64_t *act = malloc((npts + 1) * sizeof *act);
    uint32_t nact = 0;
    for (uint64_t p = 0; p < npts; p++)
        if (mt_point_bits(in, nx, ny, nz, p))
            act[nact++] = p;
    *nact_out = nact;
    uint8_t *bits = malloc(nact + 1);
    uint32_t *vbase = malloc((nact + 1) * sizeof *vbase), *tbase = malloc((nact + 1) * sizeof *tbase);
    uint32_t nv = 0, nt = 0;
    for (uint32_t a = 0; a < nact; a++) {
        uint64_t p = act[a];
        bits[a] = (uint8_t)mt_point_bits(in, nx, ny, nz, p);
        vbase[a] = nv;
        tbase[a] = nt;
        nv += mt_bitcount7(bits[a]);
        nt += mt_active_tri_count(in, nx, ny, nz, slab, p, mt_tri_count);
    }
    float *pos = malloc(((size_t)nv * 3 + 1) * sizeof *pos);
    uint32_t *idx = malloc(((size_t)nt * 3 + 1) * sizeof *idx);
    for (uint32_t a = 0; a < nact; a++) { /* cuda_mt.cu's k_vertices, for one active point */
        uint64_t p = act[a], id = vbase[a];
        int i, j, k;
        mt_point_ijk(p, nx, ny, &i, &j, &k);
        for (unsigned d = 1; d < 8; d++) {
            if (!(bits[a] & (1u << (d - 1))))
                continue;
            int di = (int)(d & 1), dj = (int)(d >> 1 & 1), dk = (int)(d >> 2 & 1);
            uint64_t q = p + (uint64_t)dk * slab + (uint64_t)dj * nx + (uint64_t)di;
            float t = mt_edge_t(v->f[p], v->f[q]);
            pos[3 * id + 0] = v->x0 + ((float)i + t * (float)di) * v->step;
            pos[3 * id + 1] = v->y0 + ((float)j + t * (float)dj) * v->step;
            pos[3 * id + 2] = v->z0 + ((float)k + t * (float)dk) * v->step;
            id++;
        }
    }
    for (uint32_t a = nact; a-- > 0;) /* any order: each writes its own triangles */
        mt_active_triangles(in, nx, ny, nz, slab, act, nact, bits, vbase, tbase, a, mt_tri_count, mt_tris, idx);
    int same = nv == ref.nverts && nt == ref.ntris && memcmp(pos, ref.pos, (size_t)nv * 3 * sizeof *pos) == 0 &&
               memcmp(idx, ref.idx, (size_t)nt * 3 * sizeof *idx) == 0;
    free(in);
    free(act);
    free(bits);
    free(vbase);
    free(tbase);
    free(pos);
    free(idx);
    mesh_free(&ref);
    return same;
}

int main(void)
{
    /* many random volumes, including pure noise (all ambiguous cases) */
    int all_tight = 1, all_clean = 1, all_pos = 1, all_vox = 1, all_vox_pos = 1, all_embedded = 1;
    for (int trial = 0; trial < 60; trial++) {
        orf_volume v;
        random_volume(&v, 12 + trial % 13, trial < 20 ? 0.02 : trial < 40 ? 0.2 : 4.0);
        orf_mesh m;
        orf_err e;
        if (mt_extract(&v, &m, &e) != 0) {
            all_tight = 0;
            volume_free(&v);
            continue;
        }
        if (m.ntris) {
            mcheck c = mesh_check(&m);
            int wt = 0;
            if (mesh_watertight(&m, &wt, &e) != 0 || !wt) {
                all_embedded = 0;
                printf("# trial %d: not watertight by mesh_watertight\n", trial);
            }
            if (!c.watertight) {
                all_tight = 0;
                printf("# trial %d: %zu bad edges, %zu misoriented\n", trial, c.bad_edges,
                       c.misoriented);
            }
            if (c.degenerate || c.unused_verts)
                all_clean = 0;
            if (!(c.volume > 0))
                all_pos = 0;
        }
        mesh_free(&m);
        if (mt_voxels(&v, &m, &e) == 0 && m.ntris) {
            mcheck c = mesh_check(&m);
            if (!c.watertight || c.degenerate || c.unused_verts) {
                all_vox = 0;
                printf("# voxel trial %d: %zu bad edges, %zu misoriented, %zu degenerate\n",
                       trial, c.bad_edges, c.misoriented, c.degenerate);
            }
            if (!(c.volume > 0))
                all_vox_pos = 0;
        }
        mesh_free(&m);
        volume_free(&v);
    }
    CHECK(all_tight, "marching tetrahedra: 60 random volumes (smooth to pure noise) are watertight and edge-manifold");
    CHECK(all_clean, "marching tetrahedra: no degenerate triangle, no unused vertex");
    CHECK(all_embedded, "marching tetrahedra: every one watertight by the record's definition (no crossing pair)");
    CHECK(all_pos, "marching tetrahedra: outward orientation (positive volume)");
    CHECK(all_vox, "voxels: 60 random volumes give watertight, edge-manifold faces");
    CHECK(all_vox_pos, "voxels: outward orientation (positive volume)");

    /* a sphere: volume close to 4/3 pi r^3, vertex on each crossing only once */
    {
        orf_volume v = {0};
        int n = 40;
        v.nx = v.ny = v.nz = n;
        v.step = 1.0f / (n - 1);
        v.x0 = v.y0 = v.z0 = -0.5f;
        v.f = malloc((size_t)n * n * n * sizeof(float));
        for (int k = 0; k < n; k++)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < n; i++) {
                    float x = v.x0 + i * v.step, y = v.y0 + j * v.step, z = v.z0 + k * v.step;
                    v.f[((size_t)k * n + j) * n + i] = 0.4f - sqrtf(x * x + y * y + z * z);
                }
        orf_mesh m;
        mt_extract(&v, &m, NULL);
        mcheck c = mesh_check(&m);
        double ideal = 4.0 / 3.0 * M_PI * 0.4 * 0.4 * 0.4;
        CHECK(c.watertight && fabs(c.volume - ideal) / ideal < 0.02,
              "sphere r=0.4: watertight, volume %.5f vs %.5f", c.volume, ideal);
        double worst = 0;
        for (uint32_t i = 0; i < m.nverts; i++) {
            const float *p = m.pos + 3 * i;
            double r = sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
            if (fabs(r - 0.4) > worst)
                worst = fabs(r - 0.4);
        }
        CHECK(worst < 0.01, "sphere vertices within 0.01 of the radius 0.4 (worst %.4f)",
              worst);

        mesh_free(&m);
        volume_free(&v);
    }

    /* byte-identical for 1 and 2 threads, on a grid big enough to run in parallel */
    {
        orf_volume v;
        random_volume(&v, 140, 0.05);
        CHECK((long)v.nx * v.ny * v.nz >= MT_PARALLEL_POINTS, "grid of %d x %d x %d points runs in parallel",
              v.nx, v.ny, v.nz);
        orf_mesh a, b;
        omp_set_num_threads(1);
        mt_extract(&v, &a, NULL);
        omp_set_num_threads(2);
        mt_extract(&v, &b, NULL);
        CHECK(a.ntris > 0 && a.nverts == b.nverts && a.ntris == b.ntris &&
                  memcmp(a.pos, b.pos, (size_t)a.nverts * 12) == 0 &&
                  memcmp(a.idx, b.idx, (size_t)a.ntris * 12) == 0,
              "identical output with 1 and 2 threads (%u vertices, %u triangles)", a.nverts,
              a.ntris);
        mcheck c = mesh_check(&a);
        CHECK(c.watertight && c.volume > 0, "and watertight");
        mesh_free(&a);
        mesh_free(&b);
        volume_free(&v);
    }

    /* surfaces through grid points: a sphere of radius^2 = 50 cells^2 and a
     * plane on a layer of points (values exactly 0 there, which is what
     * the inflate fields give on the rim at mid height). Every edge at such
     * a point crosses next to it: the vertices stay MT_EDGE_MARGIN of a
     * cell away (they were 1e-3 away: caps of area ~1e-11 that Open3D took
     * for intersections), the mesh stays watertight by the record's
     * definition (closed, manifold, no crossing pair, no degenerate
     * triangle) */
    for (int shape = 0; shape < 2; shape++) {
        orf_volume v = {0};
        int n = 24;
        v.nx = v.ny = v.nz = n;
        v.step = 1.0f / 96.0f;
        v.x0 = v.y0 = v.z0 = -0.125f;
        v.f = malloc((size_t)n * n * n * sizeof(float));
        int zeros = 0;
        for (int k = 0; k < n; k++)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < n; i++) {
                    int x = i - 12, y = j - 12, z = k - 12;
                    float f = shape == 0 ? (float)(50 - (x * x + y * y + z * z))
                                         : fminf((float)(3 - z), (float)(8 - abs(x) - abs(y)) + 0.37f);
                    if (i == 0 || j == 0 || k == 0 || i == n - 1 || j == n - 1 || k == n - 1)
                        f = -1;
                    zeros += f == 0;
                    v.f[((size_t)k * n + j) * n + i] = f;
                }
        orf_mesh m;
        orf_err e;
        int wt = 0;
        int ok = mt_extract(&v, &m, &e) == 0 && m.ntris > 0 && mesh_watertight(&m, &wt, &e) == 0;
        double near = ok ? nearest_grid_point(&m, &v) : 0;
        CHECK(ok && wt && zeros > 20 && near > 0.999 * MT_EDGE_MARGIN,
              "%s through %d grid points: watertight (%d), no vertex nearer a grid point than %.4f cells "
              "(nearest %.5f)",
              shape == 0 ? "a sphere" : "a slab", zeros, wt, (double)MT_EDGE_MARGIN, near);
        mesh_free(&m);
        volume_free(&v);
    }

    /* voxels: two voxels touching along an edge only, and at a corner only */
    {
        orf_volume v = {0};
        v.nx = v.ny = v.nz = 6;
        v.step = 1.0f;
        v.f = malloc(216 * sizeof(float));
        for (int i = 0; i < 216; i++)
            v.f[i] = -1;
        v.f[(2 * 6 + 2) * 6 + 2] = 1;
        v.f[(2 * 6 + 3) * 6 + 3] = 1; /* edge contact */
        orf_mesh m;
        mt_voxels(&v, &m, NULL);
        mcheck c = mesh_check(&m);
        CHECK(c.watertight, "voxels touching along an edge: edge-manifold (%zu bad edges)",
              c.bad_edges);
        mesh_free(&m);
        v.f[(2 * 6 + 3) * 6 + 3] = -1;
        v.f[(3 * 6 + 3) * 6 + 3] = 1; /* corner contact */
        mt_voxels(&v, &m, NULL);
        c = mesh_check(&m);
        CHECK(c.watertight, "voxels touching at a corner: watertight (%zu bad edges)",
              c.bad_edges);
        mesh_free(&m);
        volume_free(&v);
    }
    {
        /* the device's extraction over the active points only gives
         * mt_extract's arrays: smooth blobs, noise, and solids cut by the
         * grid's far faces (active points with no cell) */
        int all_same = 1;
        uint64_t total = 0, acts = 0;
        for (int trial = 0; trial < 24; trial++) {
            orf_volume v;
            random_volume(&v, 14 + trial % 9, trial < 8 ? 0.02 : trial < 16 ? 0.3 : 4.0);
            if (trial % 2) /* the solid reaches the far faces */
                for (int k = 0; k < v.nz; k++)
                    for (int j = 0; j < v.ny; j++)
                        for (int i = 0; i < v.nx; i++)
                            if ((i == v.nx - 1 || j == v.ny - 1 || k == v.nz - 1) && rnd() < 0.5)
                                v.f[((size_t)k * v.ny + j) * v.nx + i] = 0.5f;
            uint64_t nact = 0;
            if (!active_extraction_same(&v, &nact)) {
                all_same = 0;
                printf("# active-point extraction differs on trial %d\n", trial);
            }
            total += (uint64_t)v.nx * v.ny * v.nz;
            acts += nact;
            volume_free(&v);
        }
        CHECK(all_same && acts > 0,
              "the extraction over the active points (hd/mt_active.h) is mt_extract's, array for array, on 24 "
              "volumes (%llu of %llu points active)",
              (unsigned long long)acts, (unsigned long long)total);
    }
    return check_done();
}
