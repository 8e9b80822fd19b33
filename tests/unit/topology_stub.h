/* topology_stub.h - stand-ins for mesh_topology() and mesh_weld() until
 * lib/topology.c lands (branch meshio). They are weak, so the real ones win
 * as soon as the library has them... only if nothing else defines them: drop
 * this include when lib/topology.c is merged.
 */
#ifndef ORFEAS_TOPOLOGY_STUB_H
#define ORFEAS_TOPOLOGY_STUB_H

#include "testmesh.h"
#include "topology.h"

static uint32_t stub_find(uint32_t *p, uint32_t x)
{
    while (p[x] != x)
        x = p[x] = p[p[x]];
    return x;
}

__attribute__((weak)) int mesh_topology(const orf_mesh *m, mesh_stats *s, orf_err *e)
{
    (void)e;
    edge_counts c;
    memset(s, 0, sizeof *s);
    edge_check(m, &c);
    s->vertices = m->nverts;
    s->triangles = m->ntris;
    s->boundary_edges = c.boundary;
    s->nonmanifold_edges = c.nonmanifold;
    s->misoriented_edges = c.misoriented;
    s->watertight = c.watertight;
    s->volume = c.volume;
    s->area = c.area;
    mesh_bbox(m, s->bbox[0], s->bbox[1]);
    uint32_t *p = malloc(sizeof *p * (m->nverts + 1));
    uint8_t *used = calloc(m->nverts + 1, 1);
    for (uint32_t v = 0; v < m->nverts; v++)
        p[v] = v;
    for (uint32_t t = 0; t < m->ntris; t++)
        for (int k = 0; k < 3; k++) {
            uint32_t a = stub_find(p, m->idx[3 * t]), b = stub_find(p, m->idx[3 * t + k]);
            p[a] = b;
            used[m->idx[3 * t + k]] = 1;
        }
    for (uint32_t v = 0; v < m->nverts; v++)
        s->components += used[v] && stub_find(p, v) == v;
    free(p);
    free(used);
    return 0;
}

static const float *stub_pos;
static int stub_by_x(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    float u = stub_pos[3 * a], v = stub_pos[3 * b];
    if (u != v)
        return u < v ? -1 : 1;
    return (a > b) - (a < b);
}

__attribute__((weak)) int mesh_weld(orf_mesh *m, float tolerance, orf_err *e)
{
    (void)e;
    uint32_t n = m->nverts, *order = malloc(sizeof *order * (n + 1)),
             *rep = malloc(sizeof *rep * (n + 1));
    for (uint32_t v = 0; v < n; v++)
        order[v] = rep[v] = v;
    stub_pos = m->pos;
    qsort(order, n, sizeof *order, stub_by_x);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t a = order[i];
        for (uint32_t j = i + 1; j < n && m->pos[3 * order[j]] - m->pos[3 * a] <= tolerance; j++) {
            uint32_t b = order[j];
            float dy = m->pos[3 * b + 1] - m->pos[3 * a + 1], dz = m->pos[3 * b + 2] - m->pos[3 * a + 2];
            float dx = m->pos[3 * b] - m->pos[3 * a];
            if (dx * dx + dy * dy + dz * dz <= tolerance * tolerance) {
                uint32_t ra = stub_find(rep, a), rb = stub_find(rep, b);
                if (ra < rb)
                    rep[rb] = ra;
                else
                    rep[ra] = rb;
            }
        }
    }
    for (size_t i = 0; i < (size_t)m->ntris * 3; i++)
        m->idx[i] = stub_find(rep, m->idx[i]);
    free(order);
    free(rep);
    return 0;
}

#endif
