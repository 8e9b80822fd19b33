/* topology.c - edge statistics, components, non-manifold vertices, welding.
 *
 * Edges: every triangle gives three directed edges; sorted by their
 * undirected key (lo, hi), equal keys are one edge used by that many
 * triangles. Components and vertex fans use union-find.
 */
#include "topology.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

typedef struct half_edge {
    uint64_t key; /* lo << 32 | hi */
    uint32_t tri;
    uint32_t forward; /* 1 when the triangle runs lo -> hi */
} half_edge;

static int half_edge_before(const half_edge *x, const half_edge *y)
{
    return x->key != y->key ? x->key < y->key : x->tri < y->tri;
}

/* Sort half-edges by (key, tri) in linear time: a counting sort by the low
 * vertex into `out`, then an insertion sort of each vertex's few edges.
 * Returns -1 when memory runs out. */
static int sort_half_edges(half_edge *he, size_t n, uint32_t nverts)
{
    size_t *start = orf_zalloc((size_t)nverts + 1, sizeof *start);
    half_edge *out = malloc((n ? n : 1) * sizeof *out);
    if (!start || !out) {
        free(start);
        free(out);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        start[(he[i].key >> 32) + 1]++;
    for (uint32_t v = 0; v < nverts; v++)
        start[v + 1] += start[v];
    for (size_t i = 0; i < n; i++)
        out[start[he[i].key >> 32]++] = he[i];
    /* start[v] is now the end of v's run, which is where v + 1's begins */
    size_t lo = 0;
    for (uint32_t v = 0; v < nverts; v++) {
        size_t hi = start[v];
        for (size_t i = lo + 1; i < hi; i++) {
            half_edge x = out[i];
            size_t j = i;
            while (j > lo && half_edge_before(&x, &out[j - 1])) {
                out[j] = out[j - 1];
                j--;
            }
            out[j] = x;
        }
        lo = hi;
    }
    memcpy(he, out, n * sizeof *he);
    free(out);
    free(start);
    return 0;
}

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

/* Corner (3 * t + k) of triangle t at vertex v; UINT32_MAX when absent. */
static uint32_t corner_of(const orf_mesh *m, uint32_t t, uint32_t v)
{
    for (uint32_t k = 0; k < 3; k++)
        if (m->idx[3 * (size_t)t + k] == v)
            return 3 * t + k;
    return UINT32_MAX;
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

    size_t nhe = (size_t)m->ntris * 3;
    half_edge *he = malloc(nhe * sizeof *he);
    uint32_t *vparent = malloc((size_t)m->nverts * sizeof *vparent);
    uint32_t *cparent = malloc(nhe * sizeof *cparent);
    uint32_t *first_root = malloc((size_t)m->nverts * sizeof *first_root);
    uint8_t *flag = orf_zalloc(m->nverts, 1); /* bit 0: used, bit 1: non-manifold, bit 2: root counted */
    int rc = 0;
    if (!he || !vparent || !cparent || !first_root || !flag)
        goto oom;
    for (uint32_t v = 0; v < m->nverts; v++)
        vparent[v] = v;
    for (uint32_t c = 0; c < nhe; c++)
        cparent[c] = c;

    size_t n = 0;
    for (uint32_t t = 0; t < m->ntris; t++) {
        const uint32_t *tri = m->idx + 3 * (size_t)t;
        uf_union(vparent, tri[0], tri[1]);
        uf_union(vparent, tri[1], tri[2]);
        for (int k = 0; k < 3; k++) {
            uint32_t a = tri[k], b = tri[(k + 1) % 3];
            flag[a] |= 1;
            if (a == b)
                continue; /* degenerate edge */
            uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
            he[n].key = (uint64_t)lo << 32 | hi;
            he[n].tri = t;
            he[n].forward = a < b;
            n++;
        }
    }
    if (sort_half_edges(he, n, m->nverts) != 0)
        goto oom;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && he[j].key == he[i].key)
            j++;
        size_t c = j - i;
        if (c == 1)
            s->boundary_edges++;
        else if (c >= 3)
            s->nonmanifold_edges++;
        else if (he[i].forward == he[i + 1].forward)
            s->misoriented_edges++;
        /* Triangles sharing this edge are neighbours in the fans of both ends. */
        uint32_t lo = (uint32_t)(he[i].key >> 32), hi = (uint32_t)he[i].key;
        for (size_t k = i + 1; k < j; k++) {
            uf_union(cparent, corner_of(m, he[i].tri, lo), corner_of(m, he[k].tri, lo));
            uf_union(cparent, corner_of(m, he[i].tri, hi), corner_of(m, he[k].tri, hi));
        }
        i = j;
    }
    /* A vertex whose corners fall in more than one fan is non-manifold. */
    for (uint32_t v = 0; v < m->nverts; v++)
        first_root[v] = UINT32_MAX;
    for (uint32_t c = 0; c < nhe; c++) {
        uint32_t v = m->idx[c], r = uf_find(cparent, c);
        if (first_root[v] == UINT32_MAX)
            first_root[v] = r;
        else if (first_root[v] != r && !(flag[v] & 2)) {
            flag[v] |= 2;
            s->nonmanifold_vertices++;
        }
    }
    for (uint32_t v = 0; v < m->nverts; v++) {
        if (!(flag[v] & 1))
            continue;
        uint32_t r = uf_find(vparent, v);
        if (!(flag[r] & 4)) {
            flag[r] |= 4;
            s->components++;
        }
    }
    s->watertight = m->ntris > 0 && s->boundary_edges == 0 && s->nonmanifold_edges == 0 &&
                    s->misoriented_edges == 0;
    goto done;
oom:
    rc = orf_fail(e, "too_large", "out of memory for the topology of %u triangles", m->ntris);
done:
    free(he);
    free(vparent);
    free(cparent);
    free(first_root);
    free(flag);
    return rc;
}

/* ---- welding ----------------------------------------------------------- */

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

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
