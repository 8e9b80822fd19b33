/* testmesh.h - meshes built in code for the refine unit tests, and an
 * independent edge checker (what a user would verify), so the tests do not
 * trust the library to grade itself.
 *
 *   icosphere(&m, level, radius)   welded unit icosphere, 20 * 4^level triangles
 *   edge_check(&m, &c)             boundary / non-manifold / misoriented edges, volume, area
 *   rng_uniform(&state)            deterministic [0,1) numbers
 */
#ifndef ORFEAS_TESTMESH_H
#define ORFEAS_TESTMESH_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mesh.h"

static inline double rng_uniform(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0;
}

typedef struct tm_edge {
    uint32_t a, b; /* a < b */
    uint32_t tri;
    int forward; /* the triangle runs a -> b */
} tm_edge;

static inline int tm_edge_cmp(const void *x, const void *y)
{
    const tm_edge *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    return (p->tri > q->tri) - (p->tri < q->tri);
}

typedef struct edge_counts {
    uint32_t boundary, nonmanifold, misoriented, degenerate;
    double volume, area;
    int watertight;
} edge_counts;

static inline void edge_check(const orf_mesh *m, edge_counts *c)
{
    memset(c, 0, sizeof *c);
    tm_edge *E = malloc(((size_t)m->ntris * 3 + 1) * sizeof *E);
    size_t n = 0;
    for (uint32_t t = 0; t < m->ntris; t++) {
        const uint32_t *v = m->idx + 3 * (size_t)t;
        if (v[0] == v[1] || v[1] == v[2] || v[0] == v[2]) {
            c->degenerate++;
            continue;
        }
        const float *p0 = m->pos + 3 * v[0], *p1 = m->pos + 3 * v[1], *p2 = m->pos + 3 * v[2];
        double ux = p1[0] - p0[0], uy = p1[1] - p0[1], uz = p1[2] - p0[2];
        double wx = p2[0] - p0[0], wy = p2[1] - p0[1], wz = p2[2] - p0[2];
        double cx = uy * wz - uz * wy, cy = uz * wx - ux * wz, cz = ux * wy - uy * wx;
        c->area += 0.5 * sqrt(cx * cx + cy * cy + cz * cz);
        c->volume += (p0[0] * ((double)p1[1] * p2[2] - (double)p1[2] * p2[1]) -
                      p0[1] * ((double)p1[0] * p2[2] - (double)p1[2] * p2[0]) +
                      p0[2] * ((double)p1[0] * p2[1] - (double)p1[1] * p2[0])) / 6.0;
        for (int k = 0; k < 3; k++) {
            uint32_t a = v[k], b = v[(k + 1) % 3];
            E[n].a = a < b ? a : b;
            E[n].b = a < b ? b : a;
            E[n].tri = t;
            E[n].forward = a < b;
            n++;
        }
    }
    qsort(E, n, sizeof *E, tm_edge_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && E[j].a == E[i].a && E[j].b == E[i].b)
            j++;
        if (j - i == 1)
            c->boundary++;
        else if (j - i > 2)
            c->nonmanifold++;
        else if (E[i].forward == E[i + 1].forward)
            c->misoriented++;
        i = j;
    }
    free(E);
    c->watertight = m->ntris > 0 && !c->boundary && !c->nonmanifold && !c->misoriented;
}

/* Midpoint cache for icosphere subdivision: open addressing on (a, b). */
typedef struct tm_mid {
    uint64_t *key;
    uint32_t *val;
    size_t cap;
} tm_mid;

static inline uint32_t tm_midpoint(tm_mid *h, float *pos, uint32_t *nv, uint32_t a, uint32_t b, float r)
{
    uint64_t k = a < b ? ((uint64_t)a << 32 | b) : ((uint64_t)b << 32 | a);
    size_t i = (size_t)((k * 0x9E3779B97F4A7C15ull) >> 20) % h->cap;
    while (h->key[i] != UINT64_MAX) {
        if (h->key[i] == k)
            return h->val[i];
        i = (i + 1) % h->cap;
    }
    uint32_t v = (*nv)++;
    double x = pos[3 * a] + pos[3 * b], y = pos[3 * a + 1] + pos[3 * b + 1],
           z = pos[3 * a + 2] + pos[3 * b + 2];
    double l = sqrt(x * x + y * y + z * z);
    pos[3 * v] = (float)(x / l * r);
    pos[3 * v + 1] = (float)(y / l * r);
    pos[3 * v + 2] = (float)(z / l * r);
    h->key[i] = k;
    h->val[i] = v;
    return v;
}

/* A welded icosphere of the given radius centred on (cx, cy, cz), faces
 * outward: 10 * 4^level + 2 vertices, 20 * 4^level triangles. */
static inline int icosphere_at(orf_mesh *m, int level, float r, float cx, float cy, float cz)
{
    uint32_t nt = 20u << (2 * level), nvmax = 10u * (1u << (2 * level)) + 2;
    orf_mesh tmp;
    if (mesh_alloc(&tmp, nvmax, nt, 0, NULL) < 0)
        return -1;
    const double t = (1.0 + sqrt(5.0)) / 2.0;
    const double base[12][3] = {{-1, t, 0}, {1, t, 0}, {-1, -t, 0}, {1, -t, 0},
                                {0, -1, t}, {0, 1, t}, {0, -1, -t}, {0, 1, -t},
                                {t, 0, -1}, {t, 0, 1}, {-t, 0, -1}, {-t, 0, 1}};
    const uint32_t faces[20][3] = {{0, 11, 5}, {0, 5, 1},  {0, 1, 7},   {0, 7, 10}, {0, 10, 11},
                                   {1, 5, 9},  {5, 11, 4}, {11, 10, 2}, {10, 7, 6}, {7, 1, 8},
                                   {3, 9, 4},  {3, 4, 2},  {3, 2, 6},   {3, 6, 8},  {3, 8, 9},
                                   {4, 9, 5},  {2, 4, 11}, {6, 2, 10},  {8, 6, 7},  {9, 8, 1}};
    for (int i = 0; i < 12; i++) {
        double l = sqrt(base[i][0] * base[i][0] + base[i][1] * base[i][1] + base[i][2] * base[i][2]);
        for (int k = 0; k < 3; k++)
            tmp.pos[3 * i + k] = (float)(base[i][k] / l * r);
    }
    uint32_t *cur = malloc(sizeof(uint32_t) * 3 * nt), *nxt = malloc(sizeof(uint32_t) * 3 * nt);
    memcpy(cur, faces, sizeof faces);
    uint32_t ntc = 20, nv = 12;
    tm_mid h;
    h.cap = (size_t)nvmax * 2 + 17;
    h.key = malloc(h.cap * sizeof *h.key);
    h.val = malloc(h.cap * sizeof *h.val);
    for (int l = 0; l < level; l++) {
        memset(h.key, 0xff, h.cap * sizeof *h.key);
        for (uint32_t f = 0; f < ntc; f++) {
            uint32_t a = cur[3 * f], b = cur[3 * f + 1], c = cur[3 * f + 2];
            uint32_t ab = tm_midpoint(&h, tmp.pos, &nv, a, b, r);
            uint32_t bc = tm_midpoint(&h, tmp.pos, &nv, b, c, r);
            uint32_t ca = tm_midpoint(&h, tmp.pos, &nv, c, a, r);
            uint32_t q[12] = {a, ab, ca, b, bc, ab, c, ca, bc, ab, bc, ca};
            memcpy(nxt + 12 * (size_t)f, q, sizeof q);
        }
        uint32_t *sw = cur;
        cur = nxt;
        nxt = sw;
        ntc *= 4;
    }
    memcpy(tmp.idx, cur, sizeof(uint32_t) * 3 * nt);
    for (uint32_t i = 0; i < nv; i++) {
        tmp.pos[3 * i] += cx;
        tmp.pos[3 * i + 1] += cy;
        tmp.pos[3 * i + 2] += cz;
    }
    tmp.nverts = nv;
    free(cur);
    free(nxt);
    free(h.key);
    free(h.val);
    *m = tmp;
    return 0;
}

static inline int icosphere(orf_mesh *m, int level, float r)
{
    return icosphere_at(m, level, r, 0, 0, 0);
}

/* Append mesh b's vertices and triangles to a (attributes other than
 * positions are dropped). */
static inline int mesh_append(orf_mesh *a, const orf_mesh *b)
{
    orf_mesh out;
    if (mesh_alloc(&out, a->nverts + b->nverts, a->ntris + b->ntris, 0, NULL) < 0)
        return -1;
    memcpy(out.pos, a->pos, sizeof(float) * 3 * a->nverts);
    memcpy(out.pos + 3 * (size_t)a->nverts, b->pos, sizeof(float) * 3 * b->nverts);
    memcpy(out.idx, a->idx, sizeof(uint32_t) * 3 * a->ntris);
    for (size_t i = 0; i < (size_t)b->ntris * 3; i++)
        out.idx[3 * (size_t)a->ntris + i] = b->idx[i] + a->nverts;
    mesh_free(a);
    *a = out;
    return 0;
}

static inline double radius_stddev(const orf_mesh *m, double *mean_out)
{
    double s = 0, s2 = 0;
    for (uint32_t i = 0; i < m->nverts; i++) {
        const float *p = m->pos + 3 * i;
        double r = sqrt((double)p[0] * p[0] + (double)p[1] * p[1] + (double)p[2] * p[2]);
        s += r;
        s2 += r * r;
    }
    double mean = s / m->nverts;
    if (mean_out)
        *mean_out = mean;
    return sqrt(fmax(0.0, s2 / m->nverts - mean * mean));
}

#endif
