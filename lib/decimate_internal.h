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

/* An engine: from m (unchanged) and o (its target o->max_triangles, 0 for
 * none, and o->max_error), the kept triangles and positions in *out, and
 * the counts it keeps in *rep (rounds, edges_*). -1 with e set on failure,
 * *out then empty. */
typedef int (*decimate_engine)(const orf_mesh *m, const decimate_opts *o, decimate_out *out,
                               decimate_report *rep, void *ctx, orf_err *e);

/* mesh_decimate with engine `eng` (ctx passed to it): the same checks,
 * report and reordering. */
int decimate_with(orf_mesh *m, const decimate_opts *o, decimate_report *r, decimate_engine eng,
                  void *ctx, orf_err *e);

/* "bad_mesh" when an index of m is out of range. */
int decimate_check_indices(const orf_mesh *m, orf_err *e);

/* Order `idx` (n indices into m's vertices) for the cache and fetch, and make
 * it m's index buffer with the vertices compacted. newpos (3 nverts, or NULL
 * for m->pos) are the positions to keep. Takes ownership of idx and newpos;
 * m is unchanged on failure ("too_large"). */
int decimate_reorder_into(orf_mesh *m, unsigned *idx, float *newpos, size_t n, orf_err *e);

/* Decimation in rounds (decimate_rounds.c) to `target` triangles (0: none)
 * or o->max_error; fills rep's rounds and edges_* counts. -1 when memory
 * runs out or the mesh has 2^32 / 3 triangles or more. */
int decimate_rounds(const orf_mesh *m, const decimate_opts *o, uint32_t target, decimate_out *out,
                    decimate_report *rep);

/* A round's ceiling lets in at most 1/DECIMATE_ROUND_SHARE of the priced
 * edges, and at most DECIMATE_ROUND_NEED times the collapses still needed;
 * at most DECIMATE_ROUND_PASSES passes of steps 3-5 look for winners
 * (measured on the 378k-triangle blob: 4 passes find 99.8% of the winners
 * 13 would). */
#ifndef DECIMATE_ROUND_SHARE
#define DECIMATE_ROUND_SHARE 4
#endif
#ifndef DECIMATE_ROUND_NEED
#define DECIMATE_ROUND_NEED 2
#endif
#ifndef DECIMATE_ROUND_PASSES
#define DECIMATE_ROUND_PASSES 4
#endif

/* What a round's host step decides, the same on every backend:
 * decimate_round_rank: how many of the `priced` edges may fall under the
 * ceiling when `need` collapses are left (a share of them, at most `need`,
 * times 4^boost after rounds that found nothing); decimate_round_ceiling:
 * the bin of a histogram of n bins that holds the rank-th element (*below,
 * when not NULL: how many lie in the bins before it); decimate_round_cut: the largest key among
 * the `take` smallest of keys[0..n) (sorted in place), DEC_NO_KEY when take
 * >= n. */
uint64_t decimate_round_rank(uint64_t priced, uint64_t need, uint32_t boost);
uint32_t decimate_round_ceiling(const uint32_t *hist, uint32_t n, uint64_t rank, uint64_t *below);
uint64_t decimate_round_cut(uint64_t *keys, size_t n, size_t take);

#endif
