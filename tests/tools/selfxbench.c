/* selfxbench - what the record's watertight costs: the self-intersection
 * search (intersect.h) and mesh_watertight on meshes read from files.
 *
 *   selfxbench [-n RUNS] MESH...
 *
 * One line a mesh and thread count (1, then 2):
 *   MESH TRIANGLES threads T: search MS ms, mesh_watertight MS ms, mesh_topology MS ms
 * each the fastest of RUNS (default 9) wall-clock runs, milliseconds. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "intersect.h"
#include "meshio.h"
#include "topology.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    int runs = 9, first = 1;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        runs = atoi(argv[2]);
        first = 3;
    }
    if (first >= argc || runs < 1) {
        fprintf(stderr, "usage: selfxbench [-n RUNS] MESH...\n");
        return 64;
    }
    for (int a = first; a < argc; a++) {
        orf_mesh m;
        orf_err e;
        if (meshio_read_file(argv[a], 0, &m, &e) != 0) {
            fprintf(stderr, "selfxbench: %s\n", e.message);
            return 66;
        }
        for (int th = 1; th <= 2; th++) {
            omp_set_num_threads(th);
            double best[3] = {1e30, 1e30, 1e30};
            mesh_intersections mi;
            mesh_stats st;
            int wt = 0;
            for (int r = 0; r < runs; r++) {
                double t0 = now_ms();
                if (mesh_self_intersections(&m, &mi, &e) != 0)
                    return 1;
                double t1 = now_ms();
                if (mesh_watertight(&m, &wt, &e) != 0)
                    return 1;
                double t2 = now_ms();
                if (mesh_topology(&m, &st, &e) != 0)
                    return 1;
                double t3 = now_ms();
                double d[3] = {t1 - t0, t2 - t1, t3 - t2};
                for (int k = 0; k < 3; k++)
                    if (d[k] < best[k])
                        best[k] = d[k];
            }
            printf("%s %u triangles, %d thread%s: search %.1f ms (%u pairs), mesh_watertight %.1f ms (%d), "
                   "mesh_topology %.1f ms\n",
                   argv[a], m.ntris, th, th > 1 ? "s" : "", best[0], mi.pairs, best[1], wt, best[2]);
        }
        mesh_free(&m);
    }
    return 0;
}
