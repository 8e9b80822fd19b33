/* decimate.c - mesh_decimate, the public entry of decimation (decimate.h):
 * checks the request, runs an engine, then reorders the result
 * (decimate_order.c). The engine: decimate_rounds.c (rounds of independent
 * collapses; kernels/cuda_decimate.cu runs the same on the GPU through
 * decimate_with). */
#include "decimate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decimate_internal.h"

void decimate_defaults(decimate_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_triangles = DECIMATE_MAX_TRIANGLES;
}

static int engine_rounds(const orf_mesh *m, const decimate_opts *o, decimate_out *out,
                         decimate_report *rep, void *ctx, orf_err *e)
{
    (void)ctx;
    if (decimate_rounds(m, o, o->max_triangles, out, rep) != 0)
        return orf_fail(e, "too_large", "out of memory decimating %u triangles", m->ntris);
    return 0;
}

int decimate_with(orf_mesh *m, const decimate_opts *o, decimate_report *r, decimate_engine eng,
                  void *ctx, orf_err *e)
{
    decimate_report rep;
    memset(&rep, 0, sizeof rep);
    if (o->max_triangles == 0 && !(o->max_error > 0.0f))
        return orf_fail(e, "bad_request", "decimation needs a triangle target or an error bound");
    if (!(o->min_normal_dot >= -1.0f && o->min_normal_dot <= 1.0f) ||
        !(o->min_quality >= 0.0f && o->min_quality <= 1.0f))
        return orf_fail(e, "bad_request", "decimation thresholds must lie in -1..1 and 0..1");
    if (decimate_check_indices(m, e) < 0)
        return -1;
    rep.vertices_before = m->nverts;
    rep.triangles_before = m->ntris;
    size_t n = (size_t)m->ntris * 3;
    unsigned *idx = NULL;
    float *newpos = NULL;
    int need = o->max_error > 0.0f || m->ntris > o->max_triangles;
    if (!need || m->ntris == 0) {
        idx = malloc((n ? n : 1) * sizeof *idx);
        if (!idx)
            return orf_fail(e, "too_large", "out of memory for %u triangles", m->ntris);
        memcpy(idx, m->idx, n * sizeof *idx);
    } else {
        decimate_out out;
        memset(&out, 0, sizeof out);
        if (eng(m, o, &out, &rep, ctx, e) != 0)
            return -1;
        idx = out.idx;
        newpos = out.pos;
        n = out.n;
        rep.error = (float)sqrt(out.worst);
    }
    if (decimate_reorder_into(m, idx, newpos, n, e) < 0)
        return -1;
    rep.vertices_after = m->nverts;
    rep.triangles_after = m->ntris;
    rep.target_met = o->max_triangles == 0 || m->ntris <= o->max_triangles;
    if (r)
        *r = rep;
    return 0;
}

int mesh_decimate(orf_mesh *m, const decimate_opts *o, decimate_report *r, orf_err *e)
{
    return decimate_with(m, o, r, engine_rounds, NULL, e);
}
