/* opbench - time one library operation on a mesh file, for the benchmarks:
 *   opbench taubin MESH ITERATIONS [REPEAT]
 *   opbench decimate MESH TARGET qem|meshopt [REPEAT]
 * Prints one JSON line: {"op","method","ms_median","triangles_in",
 * "triangles","watertight","nonmanifold_edges"}; ms is the operation alone
 * (read and checks outside the timing), median of REPEAT runs (default 3).
 * decimate works on the positions alone, as mesh-refine's final stage does
 * (normals, UVs and colours come after it there; with them the collapses
 * keep an endpoint instead of placing the vertex). */
#include <meshoptimizer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimate.h"
#include "meshio.h"
#include "smooth.h"
#include "topology.h"
#include "units.h"

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int copy_mesh(const orf_mesh *src, orf_mesh *dst, int attributes, orf_err *e)
{
    int attrs = !attributes ? 0
                            : (src->nrm ? MESH_NORMALS : 0) | (src->uv ? MESH_UVS : 0) | (src->col ? MESH_COLORS : 0);
    if (mesh_alloc(dst, src->nverts, src->ntris, attrs, e) != 0)
        return -1;
    memcpy(dst->pos, src->pos, (size_t)src->nverts * 3 * sizeof(float));
    memcpy(dst->idx, src->idx, (size_t)src->ntris * 3 * sizeof(uint32_t));
    if (dst->nrm)
        memcpy(dst->nrm, src->nrm, (size_t)src->nverts * 3 * sizeof(float));
    if (dst->uv)
        memcpy(dst->uv, src->uv, (size_t)src->nverts * 2 * sizeof(float));
    if (dst->col)
        memcpy(dst->col, src->col, (size_t)src->nverts * 4);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "taubin") && strcmp(argv[1], "decimate"))) {
        fprintf(stderr, "usage: opbench taubin MESH ITERATIONS [REPEAT] | decimate MESH TARGET qem|meshopt [REPEAT]\n");
        return 64;
    }
    int decimate = strcmp(argv[1], "decimate") == 0;
    int arg = atoi(argv[3]);
    const char *method = decimate ? (argc > 4 ? argv[4] : "qem") : "taubin";
    int repeat = atoi(argc > (decimate ? 5 : 4) ? argv[decimate ? 5 : 4] : "3");
    if (repeat < 1 || repeat > 100)
        repeat = 3;
    orf_err e;
    orf_mesh src = {0};
    if (meshio_read_file(argv[2], 0, &src, &e) != 0) {
        fprintf(stderr, "opbench: %s\n", e.message);
        return 1;
    }
    double ms[100];
    orf_mesh out = {0};
    for (int r = 0; r < repeat; r++) {
        mesh_free(&out);
        if (copy_mesh(&src, &out, !decimate, &e) != 0)
            return 1;
        double t0 = units_now_ms();
        int rc;
        if (decimate) {
            if (strcmp(method, "meshopt") == 0) {
                /* meshoptimizer's own simplifier, for comparison (it keeps
                 * no manifoldness), then the same reordering */
                size_t n = (size_t)out.ntris * 3;
                unsigned *idx = malloc((n ? n : 1) * sizeof *idx);
                if (!idx)
                    return 1;
                n = meshopt_simplify(idx, out.idx, n, out.pos, out.nverts, 3 * sizeof(float), (size_t)arg * 3, 1.0f, 0,
                                     NULL);
                memcpy(out.idx, idx, n * sizeof *idx);
                free(idx);
                out.ntris = (uint32_t)(n / 3);
                rc = mesh_optimize_order(&out, &e);
            } else {
                decimate_opts o;
                decimate_defaults(&o);
                o.max_triangles = (uint32_t)arg;
                decimate_report rep;
                rc = mesh_decimate(&out, &o, &rep, &e);
            }
        } else {
            rc = mesh_smooth_taubin(&out, arg, SMOOTH_LAMBDA, SMOOTH_MU, &e);
        }
        ms[r] = units_now_ms() - t0;
        if (rc != 0) {
            fprintf(stderr, "opbench: %s\n", e.message);
            return 1;
        }
    }
    qsort(ms, (size_t)repeat, sizeof *ms, cmp_d);
    mesh_stats s;
    if (mesh_topology(&out, &s, &e) != 0)
        return 1;
    printf("{\"op\":\"%s\",\"method\":\"%s\",\"ms_median\":%.2f,\"triangles_in\":%u,\"triangles\":%u,"
           "\"watertight\":%s,\"nonmanifold_edges\":%u}\n",
           argv[1], method, ms[repeat / 2], src.ntris, out.ntris, s.watertight ? "true" : "false",
           s.nonmanifold_edges);
    mesh_free(&out);
    mesh_free(&src);
    return 0;
}
