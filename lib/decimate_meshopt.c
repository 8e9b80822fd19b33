/* decimate_meshopt.c - meshoptimizer 0.18's meshopt_simplify behind
 * DECIMATE_MESHOPT, for comparison in the benchmarks (decimate.h). */
#include <meshoptimizer.h>
#include <string.h>

#include "decimate_internal.h"

int decimate_meshopt(const orf_mesh *m, const decimate_opts *o, unsigned *idx, size_t *n,
                            decimate_report *rep)
{
    float scale = m->nverts ? meshopt_simplifyScale(m->pos, m->nverts, 3 * sizeof(float)) : 0.0f;
    if (!(scale > 0.0f)) {
        memcpy(idx, m->idx, *n * sizeof *idx);
        return 0;
    }
    size_t target = (size_t)o->max_triangles * 3;
    /* Relative to the mesh extent; 1.0 is the whole extent (no bound). */
    float rel = o->max_error > 0.0f ? o->max_error / scale : 1.0f;
    float got = 0.0f;
    unsigned opts = o->lock_border ? meshopt_SimplifyLockBorder : 0;
    *n = meshopt_simplify(idx, m->idx, *n, m->pos, m->nverts, 3 * sizeof(float), target, rel, opts,
                          &got);
    rep->error = got * scale;
    return 0;
}
