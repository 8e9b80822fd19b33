/* decimate_internal.h - what the decimate*.c files share: the index check,
 * the final reordering, and each engine's entry point. Internal to lib/.
 *
 * An engine reads m (never changes it) and returns the kept triangles as
 * indices into m's vertices, with the vertices' new positions. */
#ifndef ORFEAS_DECIMATE_INTERNAL_H
#define ORFEAS_DECIMATE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "decimate.h"

typedef struct decimate_out {
    uint32_t *idx; /* the kept triangles, 3 indices each, into m's vertices (malloc) */
    size_t n;      /* indices in idx (3 per triangle) */
    float *pos;    /* 3 m->nverts positions after the collapses (malloc), or NULL: m->pos */
    double worst;  /* the largest cost of a collapse made (squared mesh units) */
} decimate_out;

/* "bad_mesh" when an index of m is out of range. */
int decimate_check_indices(const orf_mesh *m, orf_err *e);

/* Order `idx` (n indices into m's vertices) for the cache and fetch, and make
 * it m's index buffer with the vertices compacted. newpos (3 nverts, or NULL
 * for m->pos) are the positions to keep. Takes ownership of idx and newpos;
 * m is unchanged on failure ("too_large"). */
int decimate_reorder_into(orf_mesh *m, unsigned *idx, float *newpos, size_t n, orf_err *e);

/* The sequential heap QEM (decimate_qem.c, decimate_split.c) to `target`
 * triangles (0: none) or o->max_error. -1 when memory runs out. */
int decimate_qem_heap(const orf_mesh *m, const decimate_opts *o, uint32_t target, decimate_out *out);

/* meshopt_simplify (decimate_meshopt.c): writes *n indices to idx (room for
 * m's) and the error to rep->error. */
int decimate_meshopt(const orf_mesh *m, const decimate_opts *o, unsigned *idx, size_t *n,
                     decimate_report *rep);

#endif
