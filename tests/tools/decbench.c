/* decbench - decimation quality and speed, for scripts/bench/decimate*.sh.
 *
 *   decbench quality MESH TARGET METHOD [OUT.ply]
 *       decimate MESH's positions to TARGET triangles with METHOD (rounds:
 *       the engine of mesh_decimate; cuda: the same on the GPU through
 *       backend_decimate; meshopt: meshopt_simplify itself; "heap", the
 *       engine before 0.2.0, is refused as unknown, and the scripts then
 *       leave it out) and print one JSON
 *       line comparing the result with MESH: topology (mesh_topology:
 *       watertight, boundary, non-manifold edges and vertices), silhouette
 *       IoU seen along -z (1024 px over MESH's xy box), the share of edges
 *       whose faces' normals differ by more than 40 degrees, the two-sided
 *       sampled distance (200k area samples on each surface, exact distance
 *       to the other: mean and 99th percentile over both sides, and the
 *       largest), the reported error, the least triangle quality and the
 *       most triangles at a vertex. OUT.ply gets the result.
 *   decbench time MESH TARGET METHOD [REPEAT]
 *       the decimation alone (median of REPEAT, default 5, ms) and its rounds.
 *   decbench grid N OUT.stl
 *       a flat N x N grid of quads (2 N^2 triangles) as binary STL.
 * DECBENCH_MIN_DOT in the environment sets decimate_opts.min_normal_dot
 * (experiments). meshopt is meshopt_simplify with no error limit and free
 * borders, then mesh_optimize_order.
 */
#include <math.h>
#include <meshoptimizer.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "decimate.h"
#include "meshio.h"
#include "../unit/pt_tri.h"
#include "topology.h"
#include "units.h"

static int copy_positions(const orf_mesh *src, orf_mesh *dst, orf_err *e)
{
    if (mesh_alloc(dst, src->nverts, src->ntris, 0, e) != 0)
        return -1;
    memcpy(dst->pos, src->pos, (size_t)src->nverts * 3 * sizeof(float));
    memcpy(dst->idx, src->idx, (size_t)src->ntris * 3 * sizeof(uint32_t));
    return 0;
}

static int run(const char *method, orf_mesh *m, uint32_t target, decimate_report *rep, orf_err *e)
{
    memset(rep, 0, sizeof *rep);
    if (strcmp(method, "meshopt") == 0) {
        size_t n = (size_t)m->ntris * 3;
        unsigned *idx = malloc((n ? n : 1) * sizeof *idx);
        float err = 0;
        n = meshopt_simplify(idx, m->idx, n, m->pos, m->nverts, 3 * sizeof(float), (size_t)target * 3, 1.0f, 0, &err);
        memcpy(m->idx, idx, n * sizeof *idx);
        free(idx);
        m->ntris = (uint32_t)(n / 3);
        rep->error = err * meshopt_simplifyScale(m->pos, m->nverts, 3 * sizeof(float));
        return mesh_optimize_order(m, e);
    }
    decimate_opts o;
    decimate_defaults(&o);
    o.max_triangles = target;
    if (strcmp(method, "cuda") == 0) {
        /* the rounds engine on the GPU (backend_decimate; no fallback
         * counted as a success) */
        orf_backend b;
        backend_facts f;
        if (backend_choose("cuda", &b, e) != 0)
            return -1;
        if (backend_decimate(&b, m, &o, rep, &f, e) != 0)
            return -1;
        if (strcmp(f.backend, "cuda") != 0)
            return orf_fail(e, "unavailable", "ran on %s (fallback %s)", f.backend, f.fallback);
        return 0;
    }
    /* DECBENCH_MIN_DOT: another min_normal_dot (experiments) */
    const char *md = getenv("DECBENCH_MIN_DOT");
    if (md)
        o.min_normal_dot = (float)atof(md);
    if (strcmp(method, "rounds") != 0)
        return orf_fail(e, "bad_request", "unknown method %s", method);
    return mesh_decimate(m, &o, rep, e);
}

/* ---- nearest distance to a triangle soup: a uniform grid ---- */


typedef struct tgrid {
    const orf_mesh *m;
    double lo[3], h;
    int n[3];
    uint32_t *start, *tri;
} tgrid;

static int cell_of(const tgrid *g, double x, int k)
{
    int i = (int)floor((x - g->lo[k]) / g->h);
    return i < 0 ? 0 : i >= g->n[k] ? g->n[k] - 1 : i;
}

static void tgrid_build(tgrid *g, const orf_mesh *m)
{
    memset(g, 0, sizeof *g);
    g->m = m;
    double hi[3] = {-1e30, -1e30, -1e30}, area = 0;
    g->lo[0] = g->lo[1] = g->lo[2] = 1e30;
    for (uint32_t v = 0; v < m->nverts; v++)
        for (int k = 0; k < 3; k++) {
            g->lo[k] = fmin(g->lo[k], m->pos[3 * v + k]);
            hi[k] = fmax(hi[k], m->pos[3 * v + k]);
        }
    for (uint32_t t = 0; t < m->ntris; t++) {
        const float *a = m->pos + 3 * m->idx[3 * t], *b = m->pos + 3 * m->idx[3 * t + 1],
                    *c = m->pos + 3 * m->idx[3 * t + 2];
        double u[3], w[3];
        for (int k = 0; k < 3; k++)
            u[k] = b[k] - a[k], w[k] = c[k] - a[k];
        double x = u[1] * w[2] - u[2] * w[1], y = u[2] * w[0] - u[0] * w[2], z = u[0] * w[1] - u[1] * w[0];
        area += 0.5 * sqrt(x * x + y * y + z * z);
    }
    g->h = 2.0 * sqrt(area / (m->ntris ? m->ntris : 1)) + 1e-9;
    for (;;) {
        double cells = 1;
        for (int k = 0; k < 3; k++) {
            g->n[k] = (int)((hi[k] - g->lo[k]) / g->h) + 1;
            cells *= g->n[k];
        }
        if (cells < 3e7)
            break;
        g->h *= 1.5;
    }
    size_t nc = (size_t)g->n[0] * g->n[1] * g->n[2];
    g->start = calloc(nc + 1, sizeof *g->start);
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t t = 0; t < m->ntris; t++) {
            int a[3], b[3];
            for (int k = 0; k < 3; k++) {
                double mn = 1e30, mx = -1e30;
                for (int j = 0; j < 3; j++) {
                    double x = m->pos[3 * m->idx[3 * t + j] + k];
                    mn = fmin(mn, x);
                    mx = fmax(mx, x);
                }
                a[k] = cell_of(g, mn, k);
                b[k] = cell_of(g, mx, k);
            }
            for (int z = a[2]; z <= b[2]; z++)
                for (int y = a[1]; y <= b[1]; y++)
                    for (int x = a[0]; x <= b[0]; x++) {
                        size_t c = ((size_t)z * g->n[1] + y) * g->n[0] + x;
                        if (pass == 0)
                            g->start[c + 1]++;
                        else
                            g->tri[g->start[c]++] = t;
                    }
        }
        if (pass == 0) {
            for (size_t c = 0; c < nc; c++)
                g->start[c + 1] += g->start[c];
            g->tri = malloc(((size_t)g->start[nc] + 1) * sizeof *g->tri);
        } else {
            for (size_t c = nc; c > 0; c--)
                g->start[c] = g->start[c - 1];
            g->start[0] = 0;
        }
    }
}

static double tgrid_dist(const tgrid *g, const double p[3])
{
    int c[3];
    for (int k = 0; k < 3; k++)
        c[k] = cell_of(g, p[k], k);
    double best = 1e300;
    int maxr = g->n[0] + g->n[1] + g->n[2];
    for (int r = 0; r <= maxr; r++) {
        for (int z = c[2] - r; z <= c[2] + r; z++) {
            if (z < 0 || z >= g->n[2])
                continue;
            for (int y = c[1] - r; y <= c[1] + r; y++) {
                if (y < 0 || y >= g->n[1])
                    continue;
                int edge = z == c[2] - r || z == c[2] + r || y == c[1] - r || y == c[1] + r;
                for (int x = c[0] - r; x <= c[0] + r; x += edge ? 1 : 2 * r) {
                    if (x >= 0 && x < g->n[0]) {
                        size_t cc = ((size_t)z * g->n[1] + y) * g->n[0] + x;
                        for (uint32_t i = g->start[cc]; i < g->start[cc + 1]; i++) {
                            uint32_t t = g->tri[i];
                            const uint32_t *v = g->m->idx + 3 * t;
                            double d = pt_tri_d2(p, g->m->pos + 3 * v[0], g->m->pos + 3 * v[1], g->m->pos + 3 * v[2]);
                            best = d < best ? d : best;
                        }
                    }
                    if (r == 0)
                        break;
                }
            }
        }
        if (best < 1e299 && sqrt(best) <= r * g->h)
            break;
    }
    return sqrt(best);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* n area samples of a; distance of each to b into d */
static void sample_dist(const orf_mesh *a, const tgrid *gb, size_t n, double *d)
{
    double *cum = malloc(((size_t)a->ntris + 1) * sizeof *cum);
    cum[0] = 0;
    for (uint32_t t = 0; t < a->ntris; t++) {
        const float *p0 = a->pos + 3 * a->idx[3 * t], *p1 = a->pos + 3 * a->idx[3 * t + 1],
                    *p2 = a->pos + 3 * a->idx[3 * t + 2];
        double u[3], w[3];
        for (int k = 0; k < 3; k++)
            u[k] = p1[k] - p0[k], w[k] = p2[k] - p0[k];
        double x = u[1] * w[2] - u[2] * w[1], y = u[2] * w[0] - u[0] * w[2], z = u[0] * w[1] - u[1] * w[0];
        cum[t + 1] = cum[t] + sqrt(x * x + y * y + z * z);
    }
    double (*pts)[3] = malloc(n * sizeof *pts);
    for (size_t i = 0; i < n; i++) {
        double r = rnd() * cum[a->ntris];
        uint32_t lo = 0, hi = a->ntris - 1;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (cum[mid + 1] < r)
                lo = mid + 1;
            else
                hi = mid;
        }
        double s = rnd(), t = rnd();
        if (s + t > 1)
            s = 1 - s, t = 1 - t;
        const float *p0 = a->pos + 3 * a->idx[3 * lo], *p1 = a->pos + 3 * a->idx[3 * lo + 1],
                    *p2 = a->pos + 3 * a->idx[3 * lo + 2];
        for (int k = 0; k < 3; k++)
            pts[i][k] = p0[k] + s * (p1[k] - p0[k]) + t * (p2[k] - p0[k]);
    }
#pragma omp parallel for schedule(dynamic, 256)
    for (size_t i = 0; i < n; i++)
        d[i] = tgrid_dist(gb, pts[i]);
    free(pts);
    free(cum);
}

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* ---- silhouette along -z ---- */

static void raster(const orf_mesh *m, const double lo[2], double px, int R, uint8_t *cov)
{
    memset(cov, 0, (size_t)R * R);
    for (uint32_t t = 0; t < m->ntris; t++) {
        double X[3], Y[3];
        for (int k = 0; k < 3; k++) {
            const float *p = m->pos + 3 * m->idx[3 * t + k];
            X[k] = (p[0] - lo[0]) / px;
            Y[k] = (p[1] - lo[1]) / px;
        }
        double area = (X[1] - X[0]) * (Y[2] - Y[0]) - (X[2] - X[0]) * (Y[1] - Y[0]);
        if (area == 0)
            continue;
        int x0 = (int)floor(fmin(X[0], fmin(X[1], X[2]))), x1 = (int)ceil(fmax(X[0], fmax(X[1], X[2])));
        int y0 = (int)floor(fmin(Y[0], fmin(Y[1], Y[2]))), y1 = (int)ceil(fmax(Y[0], fmax(Y[1], Y[2])));
        for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < R; y++)
            for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < R; x++) {
                double cx = x + 0.5, cy = y + 0.5;
                double e0 = (X[1] - X[0]) * (cy - Y[0]) - (cx - X[0]) * (Y[1] - Y[0]);
                double e1 = (X[2] - X[1]) * (cy - Y[1]) - (cx - X[1]) * (Y[2] - Y[1]);
                double e2 = (X[0] - X[2]) * (cy - Y[2]) - (cx - X[2]) * (Y[0] - Y[2]);
                if ((e0 >= 0 && e1 >= 0 && e2 >= 0) || (e0 <= 0 && e1 <= 0 && e2 <= 0))
                    cov[(size_t)y * R + x] = 1;
            }
    }
}

static double silhouette_iou(const orf_mesh *ref, const orf_mesh *m)
{
    enum { R = 1024 };
    double lo[2] = {1e30, 1e30}, hi[2] = {-1e30, -1e30};
    for (uint32_t v = 0; v < ref->nverts; v++)
        for (int k = 0; k < 2; k++) {
            lo[k] = fmin(lo[k], ref->pos[3 * v + k]);
            hi[k] = fmax(hi[k], ref->pos[3 * v + k]);
        }
    double ext = fmax(hi[0] - lo[0], hi[1] - lo[1]) * 1.02;
    lo[0] -= 0.01 * ext, lo[1] -= 0.01 * ext;
    uint8_t *a = malloc((size_t)R * R), *b = malloc((size_t)R * R);
    raster(ref, lo, ext / R, R, a);
    raster(m, lo, ext / R, R, b);
    size_t in = 0, un = 0;
    for (size_t i = 0; i < (size_t)R * R; i++) {
        in += a[i] && b[i];
        un += a[i] || b[i];
    }
    free(a);
    free(b);
    return un ? (double)in / un : 1;
}

/* ---- edges: sharp share, valence, quality ---- */

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

static void edge_stats(const orf_mesh *m, double *sharp_share, uint32_t *max_val, double *min_q)
{
    size_t ne = (size_t)m->ntris * 3;
    uint64_t *e = malloc(ne * sizeof *e); /* lo << 32 | hi */
    double *nrm = malloc(((size_t)m->ntris + 1) * 3 * sizeof *nrm);
    uint32_t *val = calloc(m->nverts + 1, sizeof *val);
    *min_q = 1;
    for (uint32_t t = 0; t < m->ntris; t++) {
        const uint32_t *v = m->idx + 3 * t;
        const float *a = m->pos + 3 * v[0], *b = m->pos + 3 * v[1], *c = m->pos + 3 * v[2];
        double u[3], w[3], l = 0;
        for (int k = 0; k < 3; k++) {
            u[k] = b[k] - a[k], w[k] = c[k] - a[k];
            l += u[k] * u[k] + w[k] * w[k] + ((double)c[k] - b[k]) * ((double)c[k] - b[k]);
        }
        double *n = nrm + 3 * t;
        n[0] = u[1] * w[2] - u[2] * w[1], n[1] = u[2] * w[0] - u[0] * w[2], n[2] = u[0] * w[1] - u[1] * w[0];
        double len = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
        double q = l > 0 ? 2 * sqrt(3.0) * len / l : 0;
        *min_q = q < *min_q ? q : *min_q;
        if (len > 0)
            n[0] /= len, n[1] /= len, n[2] /= len;
        for (int k = 0; k < 3; k++) {
            uint32_t x = v[k], y = v[(k + 1) % 3];
            val[x]++;
            e[3 * t + k] = x < y ? (uint64_t)x << 32 | y : (uint64_t)y << 32 | x;
        }
    }
    /* (edge, triangle) pairs sorted by edge */
    uint64_t *pairs = malloc(ne * 2 * sizeof *pairs);
    for (size_t i = 0; i < ne; i++) {
        pairs[2 * i] = e[i];
        pairs[2 * i + 1] = i / 3;
    }
    qsort(pairs, ne, 2 * sizeof *pairs, cmp_u64);
    size_t edges = 0, sharp = 0;
    double c40 = cos(40.0 * M_PI / 180.0);
    for (size_t i = 0; i < ne;) {
        size_t j = i;
        while (j < ne && pairs[2 * j] == pairs[2 * i])
            j++;
        edges++;
        if (j - i == 2) {
            const double *a = nrm + 3 * pairs[2 * i + 1], *b = nrm + 3 * pairs[2 * i + 3];
            if (a[0] * b[0] + a[1] * b[1] + a[2] * b[2] < c40)
                sharp++;
        }
        i = j;
    }
    *sharp_share = edges ? (double)sharp / edges : 0;
    *max_val = 0;
    for (uint32_t v = 0; v < m->nverts; v++)
        *max_val = val[v] > *max_val ? val[v] : *max_val;
    free(e);
    free(nrm);
    free(val);
    free(pairs);
}

static int write_grid(int n, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    uint8_t hdr[80] = {0};
    uint32_t count = 2u * (uint32_t)n * (uint32_t)n;
    fwrite(hdr, 1, 80, f);
    fwrite(&count, 4, 1, f);
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            float p[4][3] = {{(float)x / n - 0.5f, (float)y / n - 0.5f, 0},
                             {(float)(x + 1) / n - 0.5f, (float)y / n - 0.5f, 0},
                             {(float)(x + 1) / n - 0.5f, (float)(y + 1) / n - 0.5f, 0},
                             {(float)x / n - 0.5f, (float)(y + 1) / n - 0.5f, 0}};
            int tri[2][3] = {{0, 1, 2}, {0, 2, 3}};
            for (int t = 0; t < 2; t++) {
                float rec[12] = {0, 0, 1};
                for (int k = 0; k < 3; k++)
                    memcpy(rec + 3 + 3 * k, p[tri[t][k]], 12);
                uint16_t attr = 0;
                fwrite(rec, 4, 12, f);
                fwrite(&attr, 2, 1, f);
            }
        }
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    orf_err e;
    if (argc >= 4 && strcmp(argv[1], "grid") == 0)
        return write_grid(atoi(argv[2]), argv[3]);
    if (argc < 5 || (strcmp(argv[1], "quality") && strcmp(argv[1], "time"))) {
        fprintf(stderr, "usage: decbench quality MESH TARGET METHOD [OUT.ply] | time MESH TARGET METHOD [REPEAT] | grid N OUT.stl\n");
        return 64;
    }
    orf_mesh src = {0}, out = {0};
    if (meshio_read_file(argv[2], 0, &src, &e) != 0) {
        fprintf(stderr, "decbench: %s\n", e.message);
        return 1;
    }
    uint32_t target = (uint32_t)strtoul(argv[3], NULL, 10);
    const char *method = argv[4];
    decimate_report rep;
    if (strcmp(argv[1], "time") == 0) {
        int repeat = argc > 5 ? atoi(argv[5]) : 5;
        if (repeat < 1 || repeat > 100)
            repeat = 5;
        double ms[100];
        for (int r = 0; r < repeat; r++) {
            mesh_free(&out);
            if (copy_positions(&src, &out, &e) != 0)
                return 1;
            double t0 = units_now_ms();
            if (run(method, &out, target, &rep, &e) != 0) {
                fprintf(stderr, "decbench: %s\n", e.message);
                return 1;
            }
            ms[r] = units_now_ms() - t0;
        }
        qsort(ms, (size_t)repeat, sizeof *ms, cmp_d);
        printf("{\"method\":\"%s\",\"threads\":%d,\"triangles_in\":%u,\"triangles\":%u,\"ms_median\":%.1f,"
               "\"ms_min\":%.1f,\"rounds\":%u,\"edges_priced\":%llu,\"edges_tested\":%llu}\n",
               method, omp_get_max_threads(), src.ntris, out.ntris, ms[repeat / 2], ms[0], rep.rounds,
               (unsigned long long)rep.edges_priced, (unsigned long long)rep.edges_tested);
        return 0;
    }
    if (copy_positions(&src, &out, &e) != 0)
        return 1;
    double t0 = units_now_ms();
    if (run(method, &out, target, &rep, &e) != 0) {
        fprintf(stderr, "decbench: %s\n", e.message);
        return 1;
    }
    double ms = units_now_ms() - t0;
    mesh_stats st;
    mesh_topology(&out, &st, &e);
    double iou = silhouette_iou(&src, &out);
    double sharp, minq, sharp0, minq0;
    uint32_t maxv, maxv0;
    edge_stats(&out, &sharp, &maxv, &minq);
    edge_stats(&src, &sharp0, &maxv0, &minq0);
    enum { S = 200000 };
    double *d = malloc(2 * S * sizeof *d);
    tgrid ga, gb;
    tgrid_build(&ga, &src);
    tgrid_build(&gb, &out);
    rng_state = 0x9E3779B97F4A7C15ull;
    sample_dist(&src, &gb, S, d);
    sample_dist(&out, &ga, S, d + S);
    double sum = 0;
    for (size_t i = 0; i < 2 * S; i++)
        sum += d[i];
    qsort(d, 2 * S, sizeof *d, cmp_d);
    /* the diagonal of the source's box, for relative numbers */
    double diag = sqrt((double)(st.bbox[1][0] - st.bbox[0][0]) * (st.bbox[1][0] - st.bbox[0][0]) +
                       (double)(st.bbox[1][1] - st.bbox[0][1]) * (st.bbox[1][1] - st.bbox[0][1]) +
                       (double)(st.bbox[1][2] - st.bbox[0][2]) * (st.bbox[1][2] - st.bbox[0][2]));
    printf("{\"method\":\"%s\",\"triangles_in\":%u,\"triangles\":%u,\"ms\":%.1f,\"rounds\":%u,"
           "\"watertight\":%s,\"boundary_edges\":%u,\"nonmanifold_edges\":%u,\"nonmanifold_vertices\":%u,"
           "\"components\":%u,\"iou\":%.5f,\"sharp_share\":%.5f,\"sharp_share_in\":%.5f,"
           "\"dist_mean\":%.4g,\"dist_p99\":%.4g,\"dist_max\":%.4g,\"diag\":%.4g,\"error\":%.4g,"
           "\"min_quality\":%.4f,\"max_valence\":%u}\n",
           method, src.ntris, out.ntris, ms, rep.rounds, st.watertight ? "true" : "false", st.boundary_edges,
           st.nonmanifold_edges, st.nonmanifold_vertices, st.components, iou, sharp, sharp0, sum / (2.0 * S),
           d[(size_t)(0.99 * 2 * S)], d[2 * S - 1], diag, (double)rep.error, minq, maxv);
    if (argc > 5 && meshio_write_file(&out, MESH_FMT_PLY, argv[5], &e) != 0) {
        fprintf(stderr, "decbench: %s\n", e.message);
        return 1;
    }
    free(d);
    mesh_free(&src);
    mesh_free(&out);
    return 0;
}
