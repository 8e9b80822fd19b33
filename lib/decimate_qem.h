/* decimate_qem.h - the state of the sequential heap QEM (decimate_qem.c),
 * shared with the k-d piece driver (decimate_split.c). Internal to lib/. */
#ifndef ORFEAS_DECIMATE_QEM_H
#define ORFEAS_DECIMATE_QEM_H

#include <stdint.h>
#include <string.h>

#include "decimate.h"

/* A symmetric 4x4 quadric: a2 ab ac ad b2 bc bd c2 cd d2. */
enum { QN = 10 };

/* The heap holds one entry per vertex: the cost of the vertex's cheapest
 * allowed edge (its other end in qem.tgt), as one 64-bit key: the cost's
 * bits (a non-negative float orders as its bits) over the vertex index, so
 * one compare orders by (cost, index). 8 bytes, so a node's four children
 * share half a cache line; hpos gives each vertex's place. */
typedef uint64_t heap_entry;

static inline uint64_t cost_key(float c, uint32_t v)
{
    uint32_t bits; /* costs come from quadric_eval: never negative, -0 or NaN */
    memcpy(&bits, &c, sizeof bits);
    return (uint64_t)bits << 32 | v;
}

static inline float key_cost(uint64_t k)
{
    uint32_t bits = (uint32_t)(k >> 32);
    float c;
    memcpy(&c, &bits, sizeof c);
    return c;
}

static inline uint32_t key_vertex(uint64_t k)
{
    return (uint32_t)k;
}

#define NO_POS UINT32_MAX

typedef struct qem {
    uint32_t nv, nt, live;
    float *pos;       /* 3 nv, working copy */
    uint32_t *idx;    /* 3 nt, working copy */
    uint8_t *tdead;   /* nt; the triangle lists of the vertices hold only live ones */
    uint8_t *vdead;   /* nv */
    uint8_t *locked;  /* nv */
    double *q;        /* QN nv */
    uint32_t *tgt;    /* nv: the other end of the vertex's entry */
    uint32_t *hpos;   /* nv: place in heap, NO_POS when not there */
    uint8_t *skip;    /* nv: how many of its cheapest edges were refused since it last changed */
    uint32_t *vstart, *vcount; /* each vertex's triangles in pool */
    uint32_t *pool;
    size_t npool, cappool;
    uint32_t *mark;   /* nv, compared with gen */
    uint32_t *cnt;    /* nv, scratch */
    uint32_t gen;
    heap_entry *heap; /* nv */
    uint32_t nheap;
    float *ccost;     /* 3 nt: the cost of the edge from corner k of a triangle to
                         corner k+1, kept current: every edge of a vertex is
                         re-priced when the vertex changes */
    float *ecost;     /* nv, scratch: the costs of the last qem_price_fan */
    uint32_t *ring;   /* nv, scratch: the neighbours of the last qem_price_fan */
    int endpoints_only;
    float min_dot, min_quality;
    double max_cost; /* max_error^2, or < 0 for none */
    double worst;    /* largest cost of a collapse made */
    uint32_t *l2g;    /* nv, or NULL: the vertex's index in the caller's mesh */
} qem;

/* Set up s for the mesh (pos, nv, idx, nt). q_in (QN nv, or NULL): the
 * vertices' quadrics, carried over from an earlier pass, instead of the
 * planes of these triangles; lock_in (nv, or NULL): vertices to lock besides
 * those on a border or a non-manifold edge. -1 when memory runs out. */
int qem_init(qem *s, const float *pos, uint32_t nv, const uint32_t *idx, uint32_t nt,
             int endpoints_only, const decimate_opts *o, const double *q_in, const uint8_t *lock_in);

/* Collapse until `target` live triangles, the bound, or no allowed collapse
 * is left. -1 when memory runs out. */
int qem_run(qem *s, uint32_t target);

void qem_free(qem *s);

#endif
