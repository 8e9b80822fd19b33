/* decimate_split.c - the driver of the heap QEM for large inputs: k-d
 * pieces decimated on OpenMP threads with their cut vertices locked, then one
 * pass over the merged mesh (decimate.h), and decimate_qem_heap, the entry
 * that picks it or the single pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "decimate_internal.h"
#include "decimate_qem.h"

/* Inputs above this many triangles with a count target are cut into pieces. */
#define SPLIT_MIN_TRIANGLES 100000u
/* 2^SPLIT_DEPTH pieces (at most 8: a byte of flags per vertex). */
#ifndef SPLIT_DEPTH
#define SPLIT_DEPTH 3
#endif
#define SPLIT_PIECES (1 << SPLIT_DEPTH)
/* Each piece stops at its share of the target times this, leaving the last
 * collapses (the cuts' among them) to the pass over the whole. */
#ifndef SPLIT_SLACK
#define SPLIT_SLACK 1.6
#endif

/* Reorder perm[lo..hi] (keys key[perm[i]]) so that the k-th holds the k-th
 * smallest key, smaller-or-equal ones before it, greater-or-equal ones
 * after (Wirth's selection; deterministic). */
static void select_kth(uint32_t *perm, const float *key, size_t lo, size_t hi, size_t k)
{
    while (lo < hi) {
        float piv = key[perm[lo + (hi - lo) / 2]];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (key[perm[i]] < piv)
                i++;
            while (key[perm[j]] > piv)
                j--;
            if (i <= j) {
                uint32_t t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

typedef struct split_piece {
    qem s;
    uint32_t nv, nt;
    uint32_t *l2g;  /* nv: global index of each local vertex */
    float *pos;     /* 3 nv */
    uint32_t *idx;  /* 3 nt, local */
    int rc;
} split_piece;

/* Build piece h's sub-mesh (its triangles in m's order, its vertices in
 * ascending global order) and set it up; quadrics from its own triangles. */
static int split_piece_init(split_piece *P, int h, const orf_mesh *m, const uint8_t *side,
                            const uint8_t *used, uint32_t *g2l, const decimate_opts *o)
{
    uint32_t nv = 0, nt = 0, bit = 1u << h;
    for (uint32_t v = 0; v < m->nverts; v++)
        if (used[v] & bit)
            nv++;
    for (uint32_t t = 0; t < m->ntris; t++)
        if (side[t] == h)
            nt++;
    P->nv = nv;
    P->nt = nt;
    P->l2g = malloc(((size_t)nv + 1) * sizeof *P->l2g);
    P->pos = malloc(((size_t)nv * 3 + 1) * sizeof *P->pos);
    P->idx = malloc(((size_t)nt * 3 + 1) * sizeof *P->idx);
    if (!P->l2g || !P->pos || !P->idx)
        return -1;
    nv = 0;
    for (uint32_t v = 0; v < m->nverts; v++)
        if (used[v] & bit) {
            g2l[v] = nv;
            P->l2g[nv] = v;
            memcpy(P->pos + 3 * (size_t)nv, m->pos + 3 * (size_t)v, 3 * sizeof *P->pos);
            nv++;
        }
    nt = 0;
    for (uint32_t t = 0; t < m->ntris; t++)
        if (side[t] == h) {
            for (int k = 0; k < 3; k++)
                P->idx[3 * (size_t)nt + k] = g2l[m->idx[3 * (size_t)t + k]];
            nt++;
        }
    return qem_init(&P->s, P->pos, P->nv, P->idx, P->nt, m->nrm || m->uv || m->col, o, NULL, NULL);
}

static void split_piece_free(split_piece *P)
{
    qem_free(&P->s);
    free(P->l2g);
    free(P->pos);
    free(P->idx);
    memset(P, 0, sizeof *P);
}

/* Cut m's triangles into SPLIT_PIECES pieces (k-d: each cut is the plane
 * through the median of the pieces' triangle centroids along the longest
 * axis of their spread); decimate each piece on its own (OpenMP threads;
 * pieces are independent, so any number of threads gives the same result)
 * to its share of the target, with the vertices on a cut locked (they are
 * on each piece's border) and priced by the planes of all their triangles;
 * then one pass over the merged mesh to the target, carrying each vertex's
 * quadric. fin gets that pass, with fin->l2g mapping its vertices to m's. */
static int qem_split_run(qem *fin, const orf_mesh *m, const decimate_opts *o, uint32_t target)
{
    enum { K = SPLIT_PIECES };
    memset(fin, 0, sizeof *fin);
    uint32_t nv = m->nverts, nt = m->ntris;
    int rc = -1;
    split_piece P[K];
    uint32_t *g2l[K];
    memset(P, 0, sizeof P);
    memset(g2l, 0, sizeof g2l);
    float *cen = malloc(((size_t)nt * 3 + 1) * sizeof *cen), *key = malloc(((size_t)nt + 1) * sizeof *key);
    uint32_t *perm = malloc(((size_t)nt + 1) * sizeof *perm);
    uint8_t *side = malloc((size_t)nt + 1), *used = orf_zalloc((size_t)nv + 1, 1);
    uint8_t *flag = orf_zalloc((size_t)nv + 1, 1); /* 1: live after the pieces, 2: locked */
    float *cpos = NULL;
    uint32_t *cidx = NULL, *cmap = NULL;
    double *cq = NULL;
    uint8_t *clock = NULL;
    /* the cut vertices' quadrics before the runs (a row per vertex, only
     * theirs touched) */
    double *seamq = malloc(((size_t)nv * QN + 1) * sizeof *seamq);
    int ok = cen && key && perm && side && used && flag && seamq;
    for (int h = 0; h < K; h++)
        ok = ok && (g2l[h] = malloc(((size_t)nv + 1) * sizeof(uint32_t))) != NULL;
    if (!ok)
        goto out;
    for (uint32_t t = 0; t < nt; t++) {
        const uint32_t *tv = m->idx + 3 * (size_t)t;
        for (int k = 0; k < 3; k++)
            cen[3 * (size_t)t + k] = m->pos[3 * (size_t)tv[0] + k] + m->pos[3 * (size_t)tv[1] + k] +
                                     m->pos[3 * (size_t)tv[2] + k];
        perm[t] = t;
    }
    /* k-d cuts: at level L, 2^L groups of perm, each cut at its median */
    size_t bnd[K + 1];
    bnd[0] = 0;
    bnd[1] = nt;
    for (int level = 0; level < SPLIT_DEPTH; level++) {
        int ng = 1 << level;
        size_t nb[K + 1];
        for (int g = 0; g < ng; g++) {
            size_t lo = bnd[g], hi = bnd[g + 1];
            float a[3] = {INFINITY, INFINITY, INFINITY}, b[3] = {-INFINITY, -INFINITY, -INFINITY};
            for (size_t i = lo; i < hi; i++)
                for (int k = 0; k < 3; k++) {
                    float x = cen[3 * (size_t)perm[i] + k];
                    a[k] = x < a[k] ? x : a[k];
                    b[k] = x > b[k] ? x : b[k];
                }
            int ax = 0;
            for (int k = 1; k < 3; k++)
                if (b[k] - a[k] > b[ax] - a[ax])
                    ax = k;
            for (size_t i = lo; i < hi; i++)
                key[perm[i]] = cen[3 * (size_t)perm[i] + ax];
            size_t mid = lo + (hi - lo) / 2;
            if (hi - lo > 1)
                select_kth(perm, key, lo, hi - 1, mid);
            nb[2 * g] = lo;
            nb[2 * g + 1] = mid;
        }
        nb[2 * ng] = nt;
        memcpy(bnd, nb, (2 * (size_t)ng + 1) * sizeof *bnd);
    }
    for (int g = 0; g < K; g++)
        for (size_t i = bnd[g]; i < bnd[g + 1]; i++) {
            uint32_t t = perm[i];
            const uint32_t *tv = m->idx + 3 * (size_t)t;
            side[t] = (uint8_t)g;
            for (int k = 0; k < 3; k++)
                used[tv[k]] |= (uint8_t)(1u << g);
            if (tv[0] == tv[1] || tv[1] == tv[2] || tv[0] == tv[2])
                for (int k = 0; k < 3; k++)
                    flag[tv[k]] |= 2;
        }
    free(cen);
    free(key);
    free(perm);
    cen = key = NULL;
    perm = NULL;

#pragma omp parallel for schedule(dynamic, 1)
    for (int h = 0; h < K; h++)
        P[h].rc = split_piece_init(&P[h], h, m, side, used, g2l[h], o);
    for (int h = 0; h < K; h++)
        if (P[h].rc)
            goto out;
    /* a vertex on a cut: the planes of all its pieces, in piece order */
    for (uint32_t v = 0; v < nv; v++) {
        uint8_t u = used[v];
        if (!(u & (u - 1)))
            continue;
        double *sq = seamq + (size_t)QN * v;
        memset(sq, 0, QN * sizeof *sq);
        for (int h = 0; h < K; h++)
            if (u >> h & 1)
                for (int k = 0; k < QN; k++)
                    sq[k] += P[h].s.q[(size_t)QN * g2l[h][v] + k];
        for (int h = 0; h < K; h++)
            if (u >> h & 1)
                memcpy(P[h].s.q + (size_t)QN * g2l[h][v], sq, QN * sizeof *sq);
    }
    uint32_t live = 0;
    for (int h = 0; h < K; h++)
        live += P[h].s.live;
#pragma omp parallel for schedule(dynamic, 1)
    for (int h = 0; h < K; h++) {
        double share = live ? (double)P[h].s.live / live : 1.0 / K;
        P[h].rc = qem_run(&P[h].s, (uint32_t)(share * target * SPLIT_SLACK));
    }
    double worst = 0;
    for (int h = 0; h < K; h++) {
        if (P[h].rc)
            goto out;
        worst = P[h].s.worst > worst ? P[h].s.worst : worst;
    }

    /* merge: the live triangles in m's order, the vertices they use in
     * ascending global order, each with its position and quadric; the
     * vertices of degenerate input triangles stay locked */
    uint32_t ct = 0, cv = 0, at[K];
    memset(at, 0, sizeof at);
    for (uint32_t t = 0; t < nt; t++) {
        split_piece *Q = &P[side[t]];
        uint32_t lt = at[side[t]]++;
        if (Q->s.tdead[lt])
            continue;
        for (int k = 0; k < 3; k++)
            flag[Q->l2g[Q->s.idx[3 * (size_t)lt + k]]] |= 1;
        ct++;
    }
    for (uint32_t v = 0; v < nv; v++)
        if (flag[v] & 1)
            cv++;
    cpos = malloc(((size_t)cv * 3 + 1) * sizeof *cpos);
    cidx = malloc(((size_t)ct * 3 + 1) * sizeof *cidx);
    cmap = malloc(((size_t)cv + 1) * sizeof *cmap);
    cq = malloc(((size_t)cv * QN + 1) * sizeof *cq);
    clock = orf_zalloc((size_t)cv + 1, 1);
    if (!cpos || !cidx || !cmap || !cq || !clock)
        goto out;
    cv = 0;
    for (uint32_t v = 0; v < nv; v++) {
        if (!(flag[v] & 1))
            continue;
        uint8_t u = used[v];
        int h = 0;
        while (!(u >> h & 1))
            h++;
        uint32_t l = g2l[h][v];
        /* a vertex on a cut never moved and took in vertices of several
         * pieces: its quadric is the cut's plus what each piece added */
        memcpy(cpos + 3 * (size_t)cv, P[h].s.pos + 3 * (size_t)l, 3 * sizeof *cpos);
        double *q = cq + (size_t)QN * cv;
        memcpy(q, P[h].s.q + (size_t)QN * l, QN * sizeof *cq);
        for (int j = h + 1; j < K; j++)
            if (u >> j & 1) {
                const double *qj = P[j].s.q + (size_t)QN * g2l[j][v], *q0 = seamq + (size_t)QN * v;
                for (int k = 0; k < QN; k++)
                    q[k] += qj[k] - q0[k];
            }
        clock[cv] = (flag[v] & 2) != 0;
        cmap[cv] = v;
        g2l[0][v] = cv++; /* piece 0's map becomes the merged one */
    }
    memset(at, 0, sizeof at);
    ct = 0;
    for (uint32_t t = 0; t < nt; t++) {
        split_piece *Q = &P[side[t]];
        uint32_t lt = at[side[t]]++;
        if (Q->s.tdead[lt])
            continue;
        for (int k = 0; k < 3; k++)
            cidx[3 * (size_t)ct + k] = g2l[0][Q->l2g[Q->s.idx[3 * (size_t)lt + k]]];
        ct++;
    }
    for (int h = 0; h < K; h++)
        split_piece_free(&P[h]);
    if (qem_init(fin, cpos, cv, cidx, ct, m->nrm || m->uv || m->col, o, cq, clock) != 0)
        goto out;
    fin->l2g = cmap;
    cmap = NULL;
    fin->worst = worst;
    rc = qem_run(fin, target);
out:
    free(cen);
    free(key);
    free(perm);
    free(side);
    free(used);
    free(flag);
    for (int h = 0; h < K; h++) {
        free(g2l[h]);
        split_piece_free(&P[h]);
    }
    free(cpos);
    free(cidx);
    free(cmap);
    free(cq);
    free(clock);
    free(seamq);
    return rc;
}

int decimate_qem_heap(const orf_mesh *m, const decimate_opts *o, uint32_t target, decimate_out *out)
{
    memset(out, 0, sizeof *out);
    qem s;
    int rc = m->ntris > SPLIT_MIN_TRIANGLES && target > 0
                 ? qem_split_run(&s, m, o, target)
                 : qem_init(&s, m->pos, m->nverts, m->idx, m->ntris, m->nrm || m->uv || m->col, o,
                            NULL, NULL) != 0 || qem_run(&s, target) != 0 ? -1 : 0;
    if (rc != 0) {
        qem_free(&s);
        return -1;
    }
    out->idx = malloc(((size_t)s.live * 3 + 1) * sizeof *out->idx);
    if (!out->idx) {
        qem_free(&s);
        return -1;
    }
    size_t n = 0;
    for (uint32_t t = 0; t < s.nt; t++)
        if (!s.tdead[t])
            for (int k = 0; k < 3; k++)
                out->idx[n++] = s.l2g ? s.l2g[s.idx[3 * t + k]] : s.idx[3 * t + k];
    out->n = n;
    out->worst = s.worst;
    if (s.l2g) {
        /* back to m's vertex numbering */
        out->pos = malloc(((size_t)m->nverts * 3 + 1) * sizeof *out->pos);
        if (!out->pos) {
            qem_free(&s);
            free(out->idx);
            out->idx = NULL;
            return -1;
        }
        memcpy(out->pos, m->pos, (size_t)m->nverts * 3 * sizeof *out->pos);
        for (uint32_t v = 0; v < s.nv; v++)
            memcpy(out->pos + 3 * (size_t)s.l2g[v], s.pos + 3 * (size_t)v, 3 * sizeof *out->pos);
    } else {
        out->pos = s.pos;
        s.pos = NULL;
    }
    qem_free(&s);
    return 0;
}
