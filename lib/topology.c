/* topology.c - edge statistics, components, non-manifold vertices, welding.
 *
 * Edges and fans are counted vertex by vertex from a vertex -> corner table:
 * the half-edges at a vertex v, grouped by their other end w, are the edge
 * (v, w) with as many uses; each edge is counted at its lower end. The
 * corners at v joined through shared edges are v's fans (more than one: a
 * non-manifold vertex). Vertices are independent, so the pass runs on
 * OpenMP threads with integer sums: the same counts on any thread count.
 * Components use union-find over the triangles' vertices. Self-intersections
 * and degenerate triangles come from intersect.c.
 */
#include "topology.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "mix64.h"
#include "intersect.h"

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

static void uf_union(uint32_t *parent, uint32_t a, uint32_t b)
{
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a != b) {
        if (a < b)
            parent[b] = a;
        else
            parent[a] = b;
    }
}

/* A half-edge at a vertex: its other end w, the fan node (the vertex's
 * corner in its triangle) and whether it runs from the lower index. */
typedef struct fan_item {
    uint32_t w, node, forward;
} fan_item;

/* Fans with more half-edges than this (a disc triangulated from its centre)
 * are qsorted; insertion sort would be quadratic in them. */
#define FAN_SHORT 32

static int fan_item_cmp(const void *x, const void *y)
{
    uint32_t a = ((const fan_item *)x)->w, b = ((const fan_item *)y)->w;
    return (a > b) - (a < b);
}

static uint32_t local_find(uint32_t *p, uint32_t x)
{
    while (p[x] != x)
        x = p[x] = p[p[x]];
    return x;
}

/* Vertex v with corners cs[0..deg) (ascending): adds its boundary,
 * non-manifold and misoriented edges (those to a higher vertex) to cnt[0..2],
 * and 1 to cnt[3] when its corners form more than one fan. A triangle's second corner at v (a
 * degenerate triangle) joins no fan. items (2 deg) and parent (deg) are
 * scratch. */
static void vertex_fans(const uint32_t *idx, uint32_t v, const uint32_t *cs, uint32_t deg,
                        fan_item *items, uint32_t *parent, uint32_t cnt[4])
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < deg; i++) {
        uint32_t t = cs[i] / 3;
        parent[i] = i;
        /* the corners of one triangle are next to each other in cs; the
         * first one at v takes the edges at v of all of them */
        if (i > 0 && cs[i - 1] / 3 == t)
            continue;
        const uint32_t *tv = idx + 3 * (size_t)t;
        for (uint32_t j = i; j < deg && cs[j] / 3 == t; j++) {
            uint32_t k = cs[j] % 3;
            uint32_t nx = tv[k == 2 ? 0 : k + 1], pv = tv[k == 0 ? 2 : k - 1];
            if (nx != v)
                items[n++] = (fan_item){nx, i, v < nx};
            if (pv != v)
                items[n++] = (fan_item){pv, i, pv < v};
        }
    }
    if (n > FAN_SHORT) {
        qsort(items, n, sizeof *items, fan_item_cmp);
    } else {
        for (uint32_t i = 1; i < n; i++) {
            fan_item x = items[i];
            uint32_t j = i;
            while (j > 0 && items[j - 1].w > x.w) {
                items[j] = items[j - 1];
                j--;
            }
            items[j] = x;
        }
    }
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i + 1;
        while (j < n && items[j].w == items[i].w)
            j++;
        uint32_t uses = j - i;
        if (items[i].w > v) {
            if (uses == 1)
                cnt[0]++;
            else if (uses >= 3)
                cnt[1]++;
            else if (items[i].forward == items[i + 1].forward)
                cnt[2]++;
        }
        uint32_t r0 = local_find(parent, items[i].node);
        for (uint32_t k = i + 1; k < j; k++) {
            uint32_t r = local_find(parent, items[k].node);
            if (r != r0) {
                if (r < r0) {
                    parent[r0] = r;
                    r0 = r;
                } else {
                    parent[r] = r0;
                }
            }
        }
        i = j;
    }
    uint32_t roots = 0;
    for (uint32_t i = 0; i < deg; i++)
        roots += parent[i] == i;
    if (roots > 1)
        cnt[3]++;
}

int mesh_topology(const orf_mesh *m, mesh_stats *s, orf_err *e)
{
    memset(s, 0, sizeof *s);
    s->vertices = m->nverts;
    s->triangles = m->ntris;
    mesh_bbox(m, s->bbox[0], s->bbox[1]);
    if (m->ntris == 0)
        return 0;
    for (size_t i = 0; i < (size_t)m->ntris * 3; i++)
        if (m->idx[i] >= m->nverts)
            return orf_fail(e, "bad_mesh", "triangle %zu uses vertex %u but there are only %u", i / 3,
                            m->idx[i], m->nverts);
    if (m->ntris > UINT32_MAX / 3)
        return orf_fail(e, "too_large", "mesh of %u triangles is too large for topology", m->ntris);

    /* Area and signed volume. */
    double area = 0, vol = 0;
    for (uint32_t t = 0; t < m->ntris; t++) {
        const float *a = m->pos + 3 * (size_t)m->idx[3 * (size_t)t];
        const float *b = m->pos + 3 * (size_t)m->idx[3 * (size_t)t + 1];
        const float *c = m->pos + 3 * (size_t)m->idx[3 * (size_t)t + 2];
        double w[3];
        mesh_triangle_cross(m, t, w);
        area += 0.5 * sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
        vol += ((double)a[0] * ((double)b[1] * c[2] - (double)b[2] * c[1]) -
                (double)a[1] * ((double)b[0] * c[2] - (double)b[2] * c[0]) +
                (double)a[2] * ((double)b[0] * c[1] - (double)b[1] * c[0])) /
               6.0;
    }
    s->area = area;
    s->volume = vol;

    size_t nc = (size_t)m->ntris * 3;
    uint32_t nv = m->nverts;
    uint32_t *cstart = orf_zalloc((size_t)nv + 1, sizeof *cstart); /* v's corners: corners[cstart[v]..cstart[v + 1]) */
    uint32_t *corners = malloc(nc * sizeof *corners);
    uint32_t *vparent = malloc((size_t)nv * sizeof *vparent);
    uint8_t *flag = orf_zalloc(nv, 1); /* bit 0: used, bit 2: root counted */
    int rc = 0, failed = 0;
    if (!cstart || !corners || !vparent || !flag)
        goto oom;
    for (uint32_t v = 0; v < nv; v++)
        vparent[v] = v;
    for (uint32_t t = 0; t < m->ntris; t++) {
        const uint32_t *tri = m->idx + 3 * (size_t)t;
        uf_union(vparent, tri[0], tri[1]);
        uf_union(vparent, tri[1], tri[2]);
    }
    for (size_t c = 0; c < nc; c++)
        cstart[m->idx[c] + 1]++;
    uint32_t maxdeg = 0;
    for (uint32_t v = 0; v < nv; v++) {
        if (cstart[v + 1])
            flag[v] |= 1;
        maxdeg = cstart[v + 1] > maxdeg ? cstart[v + 1] : maxdeg;
        cstart[v + 1] += cstart[v];
    }
    for (size_t c = 0; c < nc; c++)
        corners[cstart[m->idx[c]]++] = (uint32_t)c;
    for (uint32_t v = nv; v > 0; v--) /* back to the starts */
        cstart[v] = cstart[v - 1];
    cstart[0] = 0;
    /* counts: boundary, non-manifold and misoriented edges, non-manifold vertices */
    uint32_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
#pragma omp parallel if (nc >= 300000) reduction(+ : c0, c1, c2, c3)
    {
        fan_item *items = malloc(2 * ((size_t)maxdeg + 1) * sizeof *items);
        uint32_t *parent = malloc(((size_t)maxdeg + 1) * sizeof *parent);
        int ok = items && parent;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
        /* every thread meets the loop, a thread without scratch idles in it */
#pragma omp for schedule(static)
        for (uint32_t v = 0; v < nv; v++) {
            if (!ok)
                continue;
            uint32_t cnt[4] = {0, 0, 0, 0};
            vertex_fans(m->idx, v, corners + cstart[v], cstart[v + 1] - cstart[v], items, parent, cnt);
            c0 += cnt[0];
            c1 += cnt[1];
            c2 += cnt[2];
            c3 += cnt[3];
        }
        free(items);
        free(parent);
    }
    if (failed)
        goto oom;
    s->boundary_edges = c0;
    s->nonmanifold_edges = c1;
    s->misoriented_edges = c2;
    s->nonmanifold_vertices = c3;
    for (uint32_t v = 0; v < m->nverts; v++) {
        if (!(flag[v] & 1))
            continue;
        uint32_t r = uf_find(vparent, v);
        if (!(flag[r] & 4)) {
            flag[r] |= 4;
            s->components++;
        }
    }
    /* the search for self-intersections only where the rest holds */
    if (s->boundary_edges == 0 && s->nonmanifold_edges == 0 && s->misoriented_edges == 0 &&
        s->nonmanifold_vertices == 0) {
        mesh_intersections mi;
        if (mesh_self_intersections(m, &mi, e) != 0) {
            rc = -1;
            goto done;
        }
        s->self_intersections = mi.pairs;
        s->degenerate_triangles = mi.degenerate;
        s->watertight = mi.pairs == 0 && mi.degenerate == 0 && !mi.undecided;
    }
    goto done;
oom:
    rc = orf_fail(e, "too_large", "out of memory for the topology of %u triangles", m->ntris);
done:
    free(cstart);
    free(corners);
    free(vparent);
    free(flag);
    return rc;
}

/* ---- watertight alone ---------------------------------------------------- */

/* Every edge used by exactly two triangles in opposite directions and no
 * triangle repeating a corner, in linear time: directed edges grouped by
 * their first vertex (a counting sort; meshes from mt_extract number
 * vertices in scan order and their triangles use nearby ones, so the lists
 * are read almost in order). */
static int edges_closed(const orf_mesh *m, int *closed, orf_err *e)
{
    *closed = 0;
    size_t ne = (size_t)m->ntris * 3, nv = m->nverts;
    if (ne == 0 || nv == 0)
        return 0;
    for (size_t i = 0; i < ne; i++)
        if (m->idx[i] >= nv)
            return 0;
    uint32_t *start = orf_zalloc(nv + 1, sizeof *start), *to = malloc(ne * sizeof *to);
    if (!start || !to) {
        free(start);
        free(to);
        return orf_fail(e, "too_large", "out of memory checking a mesh of %u triangles", m->ntris);
    }
    for (size_t i = 0; i < ne; i++)
        start[m->idx[i] + 1]++;
    for (size_t v = 0; v < nv; v++)
        start[v + 1] += start[v];
    for (size_t t = 0; t < m->ntris; t++)
        for (int k = 0; k < 3; k++) {
            uint32_t a = m->idx[3 * t + (size_t)k], b = m->idx[3 * t + (size_t)(k + 1) % 3];
            to[start[a]++] = b;
        }
    /* start[v] now holds the end of v's list, which is where v + 1's begins */
    int ok = 1;
    for (size_t a = 0; a < nv && ok; a++) {
        uint32_t s0 = a ? start[a - 1] : 0, s1 = start[a];
        for (uint32_t i = s0; i < s1 && ok; i++) {
            uint32_t b = to[i];
            /* no degenerate corner, every directed edge once ... */
            if (b == a)
                ok = 0;
            for (uint32_t j = s0; j < i && ok; j++)
                if (to[j] == b)
                    ok = 0;
            /* ... and its reverse present: each undirected edge is then
             * used exactly twice, in opposite directions */
            uint32_t r0 = b ? start[b - 1] : 0, r1 = start[b];
            int back = 0;
            for (uint32_t j = r0; j < r1; j++)
                if (to[j] == (uint32_t)a) {
                    back = 1;
                    break;
                }
            if (!back)
                ok = 0;
        }
    }
    free(start);
    free(to);
    *closed = ok;
    return 0;
}

int mesh_watertight(const orf_mesh *m, int *watertight, orf_err *e)
{
    *watertight = 0;
    int closed;
    if (edges_closed(m, &closed, e) != 0)
        return -1;
    if (!closed)
        return 0;
    mesh_intersections mi;
    if (mesh_self_intersections(m, &mi, e) != 0)
        return -1;
    /* with every edge used twice, a vertex whose triangles are not one
     * closed fan has several: mesh_topology's non-manifold vertex */
    *watertight = mi.pairs == 0 && mi.degenerate == 0 && mi.broken_fans == 0 && !mi.undecided;
    return 0;
}

/* ---- welding ----------------------------------------------------------- */

static uint32_t float_bits(float f)
{
    if (f == 0.0f)
        f = 0.0f; /* -0 and +0 are the same place */
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static uint64_t cell_hash(int64_t x, int64_t y, int64_t z)
{
    return mix64((uint64_t)x * 0x9E3779B97F4A7C15ULL ^ mix64((uint64_t)y + 0x632BE59BD9B4E019ULL) ^
                 mix64((uint64_t)z * 0xC2B2AE3D27D4EB4FULL + 1));
}

int mesh_weld(orf_mesh *m, float tolerance, orf_err *e)
{
    if (m->nverts == 0)
        return 0;
    if (!(tolerance >= 0) || !isfinite(tolerance))
        return orf_fail(e, "bad_request", "weld tolerance %g is not a finite number >= 0", (double)tolerance);
    size_t cap = 16;
    while (cap < (size_t)m->nverts * 2)
        cap *= 2;
    uint32_t *head = malloc(cap * sizeof *head);   /* first representative in a bucket */
    uint32_t *next = malloc((size_t)m->nverts * sizeof *next); /* next representative, same bucket */
    uint32_t *remap = malloc((size_t)m->nverts * sizeof *remap);
    if (!head || !next || !remap) {
        free(head);
        free(next);
        free(remap);
        return orf_fail(e, "too_large", "out of memory to weld %u vertices", m->nverts);
    }
    memset(head, 0xff, cap * sizeof *head);
    uint32_t kept = 0;
    double inv = tolerance > 0 ? 1.0 / tolerance : 0;
    double tol2 = (double)tolerance * tolerance;
    for (uint32_t i = 0; i < m->nverts; i++) {
        const float *p = m->pos + 3 * (size_t)i;
        uint32_t found = UINT32_MAX;
        uint64_t own;
        if (tolerance == 0) {
            own = mix64(((uint64_t)float_bits(p[0]) << 32 | float_bits(p[1])) ^
                        mix64((uint64_t)float_bits(p[2]) + 0x9E3779B97F4A7C15ULL));
            for (uint32_t r = head[own & (cap - 1)]; r != UINT32_MAX; r = next[r]) {
                const float *q = m->pos + 3 * (size_t)r;
                if (q[0] == p[0] && q[1] == p[1] && q[2] == p[2]) {
                    found = r;
                    break;
                }
            }
        } else {
            int64_t c[3];
            for (int k = 0; k < 3; k++)
                c[k] = (int64_t)floor((double)p[k] * inv);
            own = cell_hash(c[0], c[1], c[2]);
            for (int dx = -1; dx <= 1 && found == UINT32_MAX; dx++)
                for (int dy = -1; dy <= 1 && found == UINT32_MAX; dy++)
                    for (int dz = -1; dz <= 1 && found == UINT32_MAX; dz++) {
                        uint64_t h = cell_hash(c[0] + dx, c[1] + dy, c[2] + dz);
                        for (uint32_t r = head[h & (cap - 1)]; r != UINT32_MAX; r = next[r]) {
                            const float *q = m->pos + 3 * (size_t)r;
                            double d2 = 0;
                            for (int k = 0; k < 3; k++)
                                d2 += ((double)q[k] - p[k]) * ((double)q[k] - p[k]);
                            if (d2 <= tol2) {
                                found = r;
                                break;
                            }
                        }
                    }
        }
        if (found != UINT32_MAX) {
            remap[i] = remap[found];
            continue;
        }
        /* i is a new representative: its slot is the next one; it stays in the
         * buckets under its old index (positions move only after this loop). */
        remap[i] = kept++;
        size_t b = own & (cap - 1);
        next[i] = head[b];
        head[b] = i;
    }
    /* Compact: representatives, in increasing old index, move to slots 0, 1, ... */
    uint32_t slot = 0;
    for (uint32_t i = 0; i < m->nverts && slot < kept; i++) {
        if (remap[i] != slot)
            continue; /* not the representative of a new slot */
        memmove(m->pos + 3 * (size_t)slot, m->pos + 3 * (size_t)i, 3 * sizeof(float));
        if (m->nrm)
            memmove(m->nrm + 3 * (size_t)slot, m->nrm + 3 * (size_t)i, 3 * sizeof(float));
        if (m->uv)
            memmove(m->uv + 2 * (size_t)slot, m->uv + 2 * (size_t)i, 2 * sizeof(float));
        if (m->col)
            memmove(m->col + 4 * (size_t)slot, m->col + 4 * (size_t)i, 4);
        slot++;
    }
    for (size_t i = 0; i < (size_t)m->ntris * 3; i++)
        if (m->idx[i] < m->nverts)
            m->idx[i] = remap[m->idx[i]];
    m->nverts = kept;
    free(head);
    free(next);
    free(remap);
    return 0;
}
