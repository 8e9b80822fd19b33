/* meshcheck - what a user checks on a mesh-refine result, as one JSON line.
 *
 *   meshcheck MESH [IMAGE]
 *       {"triangles","vertices","watertight","boundary_edges","nonmanifold_edges",
 *        "nonmanifold_vertices","components","volume","sharp_edges","interior_edges",
 *        "sharp_share","max_dihedral"[,"iou"]}
 *     Topology from mesh_topology. The dihedral angle of an interior edge is
 *     the angle between the normals of its two triangles; sharp edges are
 *     those over 40 degrees. With IMAGE, "iou" is the intersection over union
 *     of the mesh's front silhouette (every triangle projected along -z,
 *     rasterised at the pixel centres of the image, docs/design.md's frame: longer
 *     side spanning [-0.5, 0.5], +y up) and the image's foreground (alpha >= 128).
 *
 *   meshcheck dirty OUT.stl [TRIANGLES]
 *       A "real-world" mesh: a bumpy torus of about TRIANGLES (default 300000)
 *       triangles written as an unwelded binary STL whose copies of a corner
 *       differ by up to 1e-6 (so only a weld with a tolerance joins them),
 *       with 1% of the faces flipped and a small floating tetrahedron.
 *   meshcheck open OUT.ply
 *       The same torus (welded, 20000 triangles) with a hole cut into it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imageio.h"
#include "mesh.h"
#include "meshio.h"
#include "topology.h"

static uint64_t rng = 88172645463325252ull;
static double rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void torus_point(int i, int j, int nu, int nv, float *p)
{
    double u = 2 * M_PI * i / nu, v = 2 * M_PI * j / nv;
    double r = 0.12 * (1 + 0.05 * sin(7 * u) * cos(3 * v));
    p[0] = (float)((0.35 + r * cos(v)) * cos(u));
    p[1] = (float)((0.35 + r * cos(v)) * sin(u));
    p[2] = (float)(r * sin(v));
}

/* A welded torus grid, nu x nv quads, outward. */
static int torus(orf_mesh *m, int nu, int nv)
{
    orf_err e;
    if (mesh_alloc(m, (uint32_t)(nu * nv), (uint32_t)(2 * nu * nv), 0, &e))
        return -1;
    for (int i = 0; i < nu; i++)
        for (int j = 0; j < nv; j++)
            torus_point(i, j, nu, nv, m->pos + 3 * (i * nv + j));
    uint32_t t = 0;
    for (int i = 0; i < nu; i++)
        for (int j = 0; j < nv; j++) {
            uint32_t a = (uint32_t)(i * nv + j), b = (uint32_t)(((i + 1) % nu) * nv + j);
            uint32_t c = (uint32_t)(((i + 1) % nu) * nv + (j + 1) % nv), d = (uint32_t)(i * nv + (j + 1) % nv);
            uint32_t *q = m->idx + 6 * (size_t)t;
            q[0] = a, q[1] = b, q[2] = c, q[3] = a, q[4] = c, q[5] = d;
            t++;
        }
    return 0;
}

static int make_dirty(const char *out, long ntri)
{
    int nv = (int)sqrt(ntri / 2.0 / 3.0), nu = 3 * nv;
    orf_mesh t = {0}, m = {0};
    orf_err e;
    if (torus(&t, nu, nv))
        return 1;
    uint32_t nt = t.ntris + 4;
    if (mesh_alloc(&m, 3 * nt, nt, 0, &e))
        return 1;
    for (uint32_t k = 0; k < t.ntris; k++) {
        int flip = rnd() < 0.01;
        for (int c = 0; c < 3; c++) {
            uint32_t v = t.idx[3 * k + (flip ? 2 - c : c)];
            for (int a = 0; a < 3; a++)
                m.pos[9 * k + 3 * c + a] = t.pos[3 * v + a] + (float)((rnd() - 0.5) * 2e-6);
            m.idx[3 * k + c] = 3 * k + c;
        }
    }
    /* a floater: a tetrahedron off to the side, outward */
    static const float tp[4][3] = {{0.8f, 0, 0}, {0.82f, 0, 0}, {0.8f, 0.02f, 0}, {0.8f, 0, 0.02f}};
    static const int tf[4][3] = {{0, 2, 1}, {0, 1, 3}, {0, 3, 2}, {1, 2, 3}};
    for (int f = 0; f < 4; f++)
        for (int c = 0; c < 3; c++) {
            uint32_t k = t.ntris + (uint32_t)f;
            memcpy(m.pos + 9 * k + 3 * c, tp[tf[f][c]], sizeof tp[0]);
            m.idx[3 * k + c] = 3 * k + c;
        }
    if (meshio_write_file(&m, MESH_FMT_STL, out, &e)) {
        fprintf(stderr, "meshcheck: %s\n", e.message);
        return 1;
    }
    mesh_free(&t);
    mesh_free(&m);
    return 0;
}

static int make_open(const char *out)
{
    orf_mesh t = {0};
    orf_err e;
    if (torus(&t, 200, 50))
        return 1;
    /* cut out the triangles of 6 x 6 quads: a hole with a 24-edge rim */
    uint32_t w = 0;
    for (uint32_t k = 0; k < t.ntris; k++) {
        uint32_t quad = k / 2, i = quad / 50, j = quad % 50;
        if (i >= 10 && i < 16 && j >= 10 && j < 16)
            continue;
        memmove(t.idx + 3 * w++, t.idx + 3 * k, 3 * sizeof(uint32_t));
    }
    t.ntris = w;
    if (meshio_write_file(&t, MESH_FMT_UNKNOWN, out, &e)) {
        fprintf(stderr, "meshcheck: %s\n", e.message);
        return 1;
    }
    mesh_free(&t);
    return 0;
}

typedef struct edge { uint32_t a, b, t; } edge;
static int edge_cmp(const void *x, const void *y)
{
    const edge *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    if (p->b != q->b) return p->b < q->b ? -1 : 1;
    return (p->t > q->t) - (p->t < q->t);
}

static void tri_normal(const orf_mesh *m, uint32_t t, double n[3])
{
    const float *a = m->pos + 3 * m->idx[3 * t], *b = m->pos + 3 * m->idx[3 * t + 1],
                *c = m->pos + 3 * m->idx[3 * t + 2];
    double u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]}, v[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    n[0] = u[1] * v[2] - u[2] * v[1];
    n[1] = u[2] * v[0] - u[0] * v[2];
    n[2] = u[0] * v[1] - u[1] * v[0];
    double l = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
    for (int k = 0; k < 3; k++)
        n[k] = l > 0 ? n[k] / l : 0;
}

static int check(const char *mpath, const char *ipath)
{
    orf_mesh m = {0};
    orf_err e;
    mesh_stats s;
    if (meshio_read_file(mpath, 0, &m, &e) || mesh_topology(&m, &s, &e)) {
        fprintf(stderr, "meshcheck: %s\n", e.message);
        return 1;
    }
    size_t ne = (size_t)m.ntris * 3;
    edge *E = malloc((ne + 1) * sizeof *E);
    for (uint32_t t = 0; t < m.ntris; t++)
        for (int c = 0; c < 3; c++) {
            uint32_t a = m.idx[3 * t + c], b = m.idx[3 * t + (c + 1) % 3];
            E[3 * (size_t)t + c] = (edge){a < b ? a : b, a < b ? b : a, t};
        }
    qsort(E, ne, sizeof *E, edge_cmp);
    size_t interior = 0, sharp = 0;
    double maxang = 0;
    for (size_t i = 0; i + 1 < ne;) {
        size_t j = i + 1;
        while (j < ne && E[j].a == E[i].a && E[j].b == E[i].b)
            j++;
        if (j - i == 2) {
            double n1[3], n2[3];
            tri_normal(&m, E[i].t, n1);
            tri_normal(&m, E[i + 1].t, n2);
            double d = n1[0] * n2[0] + n1[1] * n2[1] + n1[2] * n2[2];
            double ang = acos(d > 1 ? 1 : d < -1 ? -1 : d) * 180 / M_PI;
            interior++;
            if (ang > 40) {
                sharp++;
                if (getenv("MESHCHECK_DEBUG")) {
                    const float *pa = m.pos + 3 * E[i].a, *pb = m.pos + 3 * E[i].b;
                    fprintf(stderr, "sharp %.1f at %.4f %.4f %.4f len %.5f\n", ang, pa[0], pa[1], pa[2],
                            sqrt((pa[0] - pb[0]) * (pa[0] - pb[0]) + (pa[1] - pb[1]) * (pa[1] - pb[1]) +
                                 (pa[2] - pb[2]) * (pa[2] - pb[2])));
                }
            }
            if (ang > maxang)
                maxang = ang;
        }
        i = j;
    }
    free(E);
    printf("{\"triangles\":%u,\"vertices\":%u,\"watertight\":%s,\"boundary_edges\":%u,"
           "\"nonmanifold_edges\":%u,\"nonmanifold_vertices\":%u,\"misoriented_edges\":%u,"
           "\"components\":%u,\"volume\":%.6g,\"interior_edges\":%zu,\"sharp_edges\":%zu,"
           "\"sharp_share\":%.6f,\"max_dihedral\":%.2f",
           s.triangles, s.vertices, s.watertight ? "true" : "false", s.boundary_edges,
           s.nonmanifold_edges, s.nonmanifold_vertices, s.misoriented_edges, s.components, s.volume,
           interior, sharp, interior ? (double)sharp / interior : 0.0, maxang);
    if (ipath) {
        orf_image img = {0};
        if (image_load_file(ipath, 0, &img, &e)) {
            fprintf(stderr, "meshcheck: %s\n", e.message);
            return 1;
        }
        int w = img.w, h = img.h;
        double L = w > h ? w : h;
        uint8_t *cov = calloc((size_t)w * h, 1);
        for (uint32_t t = 0; t < m.ntris; t++) {
            double px[3], py[3];
            for (int c = 0; c < 3; c++) {
                const float *p = m.pos + 3 * m.idx[3 * t + c];
                px[c] = p[0] * L + w / 2.0; /* pixel coordinates, y down */
                py[c] = h / 2.0 - p[1] * L;
            }
            double area = (px[1] - px[0]) * (py[2] - py[0]) - (px[2] - px[0]) * (py[1] - py[0]);
            if (area == 0)
                continue;
            int x0 = (int)floor(fmin(px[0], fmin(px[1], px[2]))), x1 = (int)ceil(fmax(px[0], fmax(px[1], px[2])));
            int y0 = (int)floor(fmin(py[0], fmin(py[1], py[2]))), y1 = (int)ceil(fmax(py[0], fmax(py[1], py[2])));
            x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0, x1 = x1 > w ? w : x1, y1 = y1 > h ? h : y1;
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++) {
                    double cx = x + 0.5, cy = y + 0.5, b[3];
                    for (int k = 0; k < 3; k++) {
                        int k1 = (k + 1) % 3;
                        b[k] = ((px[k1] - px[k]) * (cy - py[k]) - (py[k1] - py[k]) * (cx - px[k])) / area;
                    }
                    if (b[0] >= 0 && b[1] >= 0 && b[2] >= 0)
                        cov[(size_t)y * w + x] = 1;
                }
        }
        size_t inter = 0, uni = 0, nfg = 0, nsil = 0;
        for (size_t i = 0; i < (size_t)w * h; i++) {
            int fg = img.rgba[4 * i + 3] >= 128;
            if (getenv("MESHCHECK_DEBUG") && fg != cov[i])
                fprintf(stderr, "%s %zu %zu\n", fg ? "missing" : "extra", i % (size_t)w, i / (size_t)w);
            inter += fg && cov[i];
            uni += fg || cov[i];
            nfg += fg;
            nsil += cov[i];
        }
        printf(",\"iou\":%.5f,\"foreground_px\":%zu,\"silhouette_px\":%zu",
               uni ? (double)inter / uni : 0.0, nfg, nsil);
        free(cov);
        image_free(&img);
    }
    printf("}\n");
    mesh_free(&m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "dirty"))
        return make_dirty(argv[2], argc > 3 ? atol(argv[3]) : 300000);
    if (argc == 3 && !strcmp(argv[1], "open"))
        return make_open(argv[2]);
    if (argc == 2 || argc == 3)
        return check(argv[1], argc == 3 ? argv[2] : NULL);
    fprintf(stderr, "usage: meshcheck MESH [IMAGE] | meshcheck dirty OUT.stl [TRIANGLES] | meshcheck open OUT\n");
    return 64;
}
