/* repair.c - mesh_repair's eight steps (repair.h lists them; the weld is
 * topology.c's mesh_weld): degenerate and duplicate triangles, union-find
 * for floaters, edges radix-sorted for a breadth-first orientation over
 * shared edges, fan hole filling, unused vertices dropped. */
#include "repair.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

void repair_defaults(repair_opts *o)
{
    memset(o, 0, sizeof *o);
    o->floater_share = REPAIR_FLOATER_SHARE;
    o->orient = 1;
}

/* ---- sorting: stable LSD radix sort of (64-bit key, 32-bit value) ---- */

typedef struct keyed {
    uint64_t key;
    uint32_t val;
} keyed;

static int radix_sort(keyed *a, size_t n)
{
    keyed *tmp = malloc((n ? n : 1) * sizeof *tmp);
    size_t *count = malloc(65536 * sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return -1;
    }
    keyed *src = a, *dst = tmp;
    for (int shift = 0; shift < 64; shift += 16) {
        memset(count, 0, 65536 * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(src[i].key >> shift) & 0xffff]++;
        if (n && count[(src[0].key >> shift) & 0xffff] == n)
            continue; /* every key has this digit: the pass changes nothing */
        size_t sum = 0;
        for (size_t d = 0; d < 65536; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].key >> shift) & 0xffff]++] = src[i];
        keyed *s = src;
        src = dst;
        dst = s;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
    free(tmp);
    free(count);
    return 0;
}

/* ---- small helpers ---- */

static int oom(orf_err *e, const char *name)
{
    return orf_fail(e, "too_large", "%s: out of memory while repairing", name);
}

/* Keep the triangles whose keep[t] is set, in order. */
static void keep_triangles(orf_mesh *m, const uint8_t *keep)
{
    uint32_t w = 0;
    for (uint32_t t = 0; t < m->ntris; t++)
        if (keep[t]) {
            if (w != t)
                memmove(m->idx + 3 * (size_t)w, m->idx + 3 * (size_t)t, 3 * sizeof *m->idx);
            w++;
        }
    m->ntris = w;
}

static uint32_t used_vertices(const orf_mesh *m, uint8_t *mark)
{
    memset(mark, 0, m->nverts);
    uint32_t n = 0;
    for (size_t i = 0; i < (size_t)m->ntris * 3; i++)
        if (!mark[m->idx[i]]) {
            mark[m->idx[i]] = 1;
            n++;
        }
    return n;
}

static double tri_cross(const orf_mesh *m, uint32_t t, double c[3], double *longest2)
{
    const uint32_t *v = m->idx + 3 * (size_t)t;
    const float *p0 = m->pos + 3 * (size_t)v[0], *p1 = m->pos + 3 * (size_t)v[1],
                *p2 = m->pos + 3 * (size_t)v[2];
    double u[3], w[3], x[3];
    for (int k = 0; k < 3; k++) {
        u[k] = (double)p1[k] - p0[k];
        w[k] = (double)p2[k] - p0[k];
        x[k] = (double)p2[k] - p1[k];
    }
    c[0] = u[1] * w[2] - u[2] * w[1];
    c[1] = u[2] * w[0] - u[0] * w[2];
    c[2] = u[0] * w[1] - u[1] * w[0];
    if (longest2) {
        double a = u[0] * u[0] + u[1] * u[1] + u[2] * u[2];
        double b = w[0] * w[0] + w[1] * w[1] + w[2] * w[2];
        double d = x[0] * x[0] + x[1] * x[1] + x[2] * x[2];
        *longest2 = fmax(a, fmax(b, d));
    }
    return sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]);
}

/* ---- steps 3 and 4 ---- */

static uint32_t drop_degenerate(orf_mesh *m, uint8_t *keep)
{
    uint32_t dropped = 0;
    for (uint32_t t = 0; t < m->ntris; t++) {
        const uint32_t *v = m->idx + 3 * (size_t)t;
        double c[3], l2;
        int bad = v[0] == v[1] || v[1] == v[2] || v[0] == v[2];
        if (!bad)
            bad = !(tri_cross(m, t, c, &l2) > 1e-12 * l2);
        keep[t] = !bad;
        dropped += bad;
    }
    keep_triangles(m, keep);
    return dropped;
}

typedef struct tri_key {
    uint32_t v[3], t;
} tri_key;

static int tri_key_cmp(const void *x, const void *y)
{
    const tri_key *a = x, *b = y;
    for (int k = 0; k < 3; k++)
        if (a->v[k] != b->v[k])
            return a->v[k] < b->v[k] ? -1 : 1;
    return (a->t > b->t) - (a->t < b->t);
}

/* Runs this long or shorter are insertion-sorted, longer ones qsorted. */
#define SHORT_RUN 32

static int drop_duplicates(orf_mesh *m, uint8_t *keep, uint32_t *dropped)
{
    tri_key *k = malloc(((size_t)m->ntris + 1) * sizeof *k);
    tri_key *by = malloc(((size_t)m->ntris + 1) * sizeof *by);
    uint32_t *start = orf_zalloc((size_t)m->nverts + 2, sizeof *start);
    if (!k || !by || !start) {
        free(k);
        free(by);
        free(start);
        return -1;
    }
    for (uint32_t t = 0; t < m->ntris; t++) {
        uint32_t a = m->idx[3 * (size_t)t], b = m->idx[3 * (size_t)t + 1], c = m->idx[3 * (size_t)t + 2], s;
        if (a > b) { s = a; a = b; b = s; }
        if (b > c) { s = b; b = c; c = s; }
        if (a > b) { s = a; a = b; b = s; }
        k[t] = (tri_key){{a, b, c}, t};
        keep[t] = 1;
        start[a + 1]++;
    }
    /* sorted by (v, t): a counting sort by the lowest vertex (stable, so t
     * ascends within it), then each vertex's run by the other two */
    for (uint32_t v = 0; v < m->nverts; v++)
        start[v + 1] += start[v];
    for (uint32_t t = 0; t < m->ntris; t++)
        by[start[k[t].v[0]]++] = k[t];
    free(k);
    k = by;
    uint32_t lo = 0;
    for (uint32_t v = 0; v < m->nverts; v++) {
        uint32_t hi = start[v];
        if (hi - lo > SHORT_RUN) {
            qsort(k + lo, hi - lo, sizeof *k, tri_key_cmp);
        } else {
            for (uint32_t i = lo + 1; i < hi; i++) {
                tri_key x = k[i];
                uint32_t j = i;
                while (j > lo && tri_key_cmp(&x, &k[j - 1]) < 0) {
                    k[j] = k[j - 1];
                    j--;
                }
                k[j] = x;
            }
        }
        lo = hi;
    }
    free(start);
    *dropped = 0;
    for (uint32_t i = 1; i < m->ntris; i++)
        if (!memcmp(k[i].v, k[i - 1].v, sizeof k[i].v)) {
            keep[k[i].t] = 0; /* sorted by t within equal keys: the first stays */
            (*dropped)++;
        }
    free(k);
    keep_triangles(m, keep);
    return 0;
}

/* ---- step 5: components by shared vertices ---- */

static uint32_t uf_find(uint32_t *p, uint32_t x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

static int drop_floaters(orf_mesh *m, float share, uint8_t *keep, uint32_t *ncomp,
                         uint32_t *ntri)
{
    *ncomp = *ntri = 0;
    if (!(share > 0.0f) || m->ntris == 0)
        return 0;
    uint32_t *parent = malloc(((size_t)m->nverts + 1) * sizeof *parent);
    uint32_t *size = orf_zalloc((size_t)m->nverts + 1, sizeof *size);
    if (!parent || !size) {
        free(parent);
        free(size);
        return -1;
    }
    for (uint32_t v = 0; v < m->nverts; v++)
        parent[v] = v;
    for (uint32_t t = 0; t < m->ntris; t++) {
        const uint32_t *v = m->idx + 3 * (size_t)t;
        for (int k = 1; k < 3; k++) {
            uint32_t a = uf_find(parent, v[0]), b = uf_find(parent, v[k]);
            if (a != b) {
                if (a < b)
                    parent[b] = a;
                else
                    parent[a] = b;
            }
        }
    }
    for (uint32_t t = 0; t < m->ntris; t++)
        size[uf_find(parent, m->idx[3 * (size_t)t])]++;
    uint32_t largest = 0;
    for (uint32_t v = 0; v < m->nverts; v++)
        if (size[v] > size[largest])
            largest = v;
    double limit = (double)share * m->ntris;
    for (uint32_t v = 0; v < m->nverts; v++)
        if (size[v] && v != largest && (double)size[v] < limit) {
            (*ncomp)++;
            *ntri += size[v];
        }
    for (uint32_t t = 0; t < m->ntris; t++) {
        uint32_t c = uf_find(parent, m->idx[3 * (size_t)t]);
        keep[t] = !(c != largest && (double)size[c] < limit);
    }
    free(parent);
    free(size);
    keep_triangles(m, keep);
    return 0;
}

/* ---- step 6: orientation ---- */

/* Half-edges sorted by undirected edge: key = min << 32 | max, value =
 * 3 * t + k for edge k (from corner k to corner k + 1) of triangle t. */
static keyed *sorted_edges(const orf_mesh *m)
{
    size_t n = (size_t)m->ntris * 3;
    keyed *E = malloc((n ? n : 1) * sizeof *E);
    if (!E)
        return NULL;
    for (uint32_t t = 0; t < m->ntris; t++)
        for (uint32_t k = 0; k < 3; k++) {
            uint64_t a = m->idx[3 * (size_t)t + k], b = m->idx[3 * (size_t)t + (k + 1) % 3];
            E[3 * (size_t)t + k].key = a < b ? (a << 32 | b) : (b << 32 | a);
            E[3 * (size_t)t + k].val = 3 * t + k;
        }
    if (radix_sort(E, n) < 0) {
        free(E);
        return NULL;
    }
    return E;
}

static int edge_forward(const orf_mesh *m, uint32_t he)
{
    uint32_t t = he / 3, k = he % 3;
    return m->idx[3 * (size_t)t + k] < m->idx[3 * (size_t)t + (k + 1) % 3];
}

/* Orient every patch; flipped[t] is toggled for every triangle flipped. */
static int orient(orf_mesh *m, uint8_t *flipped, uint32_t *nonorientable)
{
    uint32_t nt = m->ntris;
    size_t nh = (size_t)nt * 3;
    keyed *E = sorted_edges(m);
    uint32_t *mate = malloc((nh ? nh : 1) * sizeof *mate);     /* partner half-edge or ~0 */
    uint8_t *open = orf_zalloc((size_t)nt + 1, 1);                  /* touches a boundary / non-manifold edge */
    int8_t *flip = malloc((size_t)nt + 1);                      /* -1 unvisited, 0, 1 */
    uint32_t *queue = malloc(((size_t)nt + 1) * sizeof *queue);
    uint32_t *patch = malloc(((size_t)nt + 1) * sizeof *patch);
    if (!E || !mate || !open || !flip || !queue || !patch) {
        free(E); free(mate); free(open); free(flip); free(queue); free(patch);
        return -1;
    }
    for (size_t i = 0; i < nh;) {
        size_t j = i;
        while (j < nh && E[j].key == E[i].key)
            j++;
        if (j - i == 2) {
            mate[E[i].val] = E[i + 1].val;
            mate[E[i + 1].val] = E[i].val;
        } else {
            for (size_t q = i; q < j; q++) {
                mate[E[q].val] = UINT32_MAX;
                open[E[q].val / 3] = 1;
            }
        }
        i = j;
    }
    free(E);
    memset(flip, -1, (size_t)nt + 1);
    *nonorientable = 0;
    for (uint32_t seed = 0; seed < nt; seed++) {
        if (flip[seed] >= 0)
            continue;
        size_t head = 0, tail = 0, np = 0, nflip = 0;
        int closed = 1;
        flip[seed] = 0;
        queue[tail++] = seed;
        while (head < tail) {
            uint32_t t = queue[head++];
            patch[np++] = t;
            if (open[t])
                closed = 0;
            for (uint32_t k = 0; k < 3; k++) {
                uint32_t h = mate[3 * (size_t)t + k];
                if (h == UINT32_MAX)
                    continue;
                uint32_t u = h / 3;
                /* Agree when the two run the shared edge in opposite directions. */
                int same = edge_forward(m, 3 * t + k) == edge_forward(m, h);
                int8_t want = (int8_t)(flip[t] ^ same);
                if (flip[u] < 0) {
                    flip[u] = want;
                    queue[tail++] = u;
                } else if (flip[u] != want && u > t) {
                    (*nonorientable)++;
                }
            }
        }
        for (size_t i = 0; i < np; i++)
            nflip += flip[patch[i]];
        int invert;
        if (closed) {
            double vol = 0;
            for (size_t i = 0; i < np; i++) {
                const uint32_t *v = m->idx + 3 * (size_t)patch[i];
                const float *a = m->pos + 3 * (size_t)v[0], *b = m->pos + 3 * (size_t)v[1],
                            *c = m->pos + 3 * (size_t)v[2];
                double d = a[0] * ((double)b[1] * c[2] - (double)b[2] * c[1]) -
                           a[1] * ((double)b[0] * c[2] - (double)b[2] * c[0]) +
                           a[2] * ((double)b[0] * c[1] - (double)b[1] * c[0]);
                vol += flip[patch[i]] ? -d : d;
            }
            invert = vol < 0;
        } else {
            invert = 2 * nflip > np; /* keep the majority's winding */
        }
        for (size_t i = 0; i < np; i++) {
            uint32_t t = patch[i];
            if (flip[t] ^ invert) {
                uint32_t *v = m->idx + 3 * (size_t)t, s = v[1];
                v[1] = v[2];
                v[2] = s;
                flipped[t] ^= 1;
            }
        }
    }
    free(mate); free(open); free(flip); free(queue); free(patch);
    return 0;
}

/* ---- step 7: hole filling ---- */

static int grow_vertices(orf_mesh *m, uint32_t extra)
{
    size_t n = (size_t)m->nverts + extra;
    float *p = realloc(m->pos, n * 3 * sizeof *p);
    if (!p)
        return -1;
    m->pos = p;
    if (m->nrm) {
        float *q = realloc(m->nrm, n * 3 * sizeof *q);
        if (!q)
            return -1;
        m->nrm = q;
    }
    if (m->uv) {
        float *q = realloc(m->uv, n * 2 * sizeof *q);
        if (!q)
            return -1;
        m->uv = q;
    }
    if (m->col) {
        uint8_t *q = realloc(m->col, n * 4);
        if (!q)
            return -1;
        m->col = q;
    }
    return 0;
}

static int fill_holes(orf_mesh *m, uint32_t max_edges, uint32_t *filled, uint32_t *added,
                      uint32_t *left)
{
    *filled = *added = *left = 0;
    size_t nh = (size_t)m->ntris * 3;
    keyed *E = sorted_edges(m);
    uint32_t *next = malloc(((size_t)m->nverts + 1) * sizeof *next);
    uint32_t *outdeg = orf_zalloc((size_t)m->nverts + 1, sizeof *outdeg);
    uint32_t *seen = orf_zalloc((size_t)m->nverts + 1, sizeof *seen);
    uint32_t *loop = malloc(((size_t)m->nverts + 1) * sizeof *loop);
    uint32_t *fills = NULL; /* loop vertices of the loops to fill, each list ended by ~0 */
    size_t nfill = 0, capfill = 0;
    int rc = -1;
    if (!E || !next || !outdeg || !seen || !loop)
        goto out;
    for (size_t i = 0; i < nh;) {
        size_t j = i;
        while (j < nh && E[j].key == E[i].key)
            j++;
        if (j - i == 1) {
            uint32_t t = E[i].val / 3, k = E[i].val % 3;
            uint32_t a = m->idx[3 * (size_t)t + k], b = m->idx[3 * (size_t)t + (k + 1) % 3];
            next[b] = a; /* the hole runs against the triangle */
            outdeg[b]++;
        }
        i = j;
    }
    uint32_t nnewv = 0, nnewt = 0, stamp = 0;
    for (uint32_t s = 0; s < m->nverts; s++) {
        if (outdeg[s] != 1 || seen[s])
            continue;
        stamp++;
        uint32_t len = 0, v = s;
        int ok = 1;
        while (1) {
            if (outdeg[v] != 1 || (seen[v] && seen[v] != stamp)) {
                ok = 0;
                break;
            }
            if (seen[v] == stamp) {
                ok = v == s;
                break;
            }
            seen[v] = stamp;
            loop[len++] = v;
            v = next[v];
        }
        if (!ok || len < 3 || len > max_edges) {
            (*left)++;
            continue;
        }
        if (nfill + len + 1 > capfill) {
            size_t cap = (nfill + len + 1) * 2;
            uint32_t *f = realloc(fills, cap * sizeof *f);
            if (!f)
                goto out;
            fills = f;
            capfill = cap;
        }
        memcpy(fills + nfill, loop, len * sizeof *loop);
        nfill += len;
        fills[nfill++] = UINT32_MAX;
        (*filled)++;
        nnewv += len > 3;
        nnewt += len > 3 ? len : 1;
    }
    if (*filled) {
        if (grow_vertices(m, nnewv) < 0)
            goto out;
        uint32_t *idx = realloc(m->idx, ((size_t)m->ntris + nnewt) * 3 * sizeof *idx);
        if (!idx)
            goto out;
        m->idx = idx;
        for (size_t i = 0; i < nfill;) {
            size_t j = i;
            while (fills[j] != UINT32_MAX)
                j++;
            uint32_t len = (uint32_t)(j - i), *L = fills + i;
            uint32_t *o = m->idx + 3 * (size_t)m->ntris;
            if (len == 3) {
                o[0] = L[0];
                o[1] = L[1];
                o[2] = L[2];
                m->ntris++;
            } else {
                uint32_t c = m->nverts++;
                double acc[3] = {0, 0, 0}, an[3] = {0, 0, 0}, au[2] = {0, 0}, ac[4] = {0, 0, 0, 0};
                for (uint32_t q = 0; q < len; q++) {
                    for (int k = 0; k < 3; k++) {
                        acc[k] += m->pos[3 * (size_t)L[q] + k];
                        if (m->nrm)
                            an[k] += m->nrm[3 * (size_t)L[q] + k];
                    }
                    for (int k = 0; m->uv && k < 2; k++)
                        au[k] += m->uv[2 * (size_t)L[q] + k];
                    for (int k = 0; m->col && k < 4; k++)
                        ac[k] += m->col[4 * (size_t)L[q] + k];
                }
                for (int k = 0; k < 3; k++) {
                    m->pos[3 * (size_t)c + k] = (float)(acc[k] / len);
                    if (m->nrm)
                        m->nrm[3 * (size_t)c + k] = (float)(an[k] / len);
                }
                for (int k = 0; m->uv && k < 2; k++)
                    m->uv[2 * (size_t)c + k] = (float)(au[k] / len);
                for (int k = 0; m->col && k < 4; k++)
                    m->col[4 * (size_t)c + k] = (uint8_t)lround(ac[k] / len);
                for (uint32_t q = 0; q < len; q++) {
                    o[3 * q] = L[q];
                    o[3 * q + 1] = L[(q + 1) % len];
                    o[3 * q + 2] = c;
                }
                m->ntris += len;
            }
            i = j + 1;
        }
        *added = nnewt;
    }
    rc = 0;
out:
    free(E); free(next); free(outdeg); free(seen); free(loop); free(fills);
    return rc;
}

/* ---- step 8 ---- */

static int drop_unused(orf_mesh *m, uint8_t *mark, uint32_t *dropped)
{
    uint32_t used = used_vertices(m, mark);
    *dropped = m->nverts - used;
    if (used == m->nverts)
        return 0;
    uint32_t *remap = malloc(((size_t)m->nverts + 1) * sizeof *remap);
    if (!remap)
        return -1;
    uint32_t w = 0;
    for (uint32_t v = 0; v < m->nverts; v++) {
        remap[v] = w;
        if (!mark[v])
            continue;
        if (w != v) {
            memcpy(m->pos + 3 * (size_t)w, m->pos + 3 * (size_t)v, 3 * sizeof *m->pos);
            if (m->nrm)
                memcpy(m->nrm + 3 * (size_t)w, m->nrm + 3 * (size_t)v, 3 * sizeof *m->nrm);
            if (m->uv)
                memcpy(m->uv + 2 * (size_t)w, m->uv + 2 * (size_t)v, 2 * sizeof *m->uv);
            if (m->col)
                memcpy(m->col + 4 * (size_t)w, m->col + 4 * (size_t)v, 4);
        }
        w++;
    }
    for (size_t i = 0; i < (size_t)m->ntris * 3; i++)
        m->idx[i] = remap[m->idx[i]];
    m->nverts = w;
    free(remap);
    return 0;
}

/* ---- the whole ---- */

static int ensure_mark(uint8_t **mark, size_t *cap, uint32_t nverts)
{
    if ((size_t)nverts + 1 <= *cap)
        return 0;
    uint8_t *mk = realloc(*mark, (size_t)nverts + 1);
    if (!mk)
        return -1;
    *mark = mk;
    *cap = (size_t)nverts + 1;
    return 0;
}

int mesh_repair(orf_mesh *m, const repair_opts *o, repair_report *r, const char *name,
                orf_err *e)
{
    repair_report rep;
    memset(&rep, 0, sizeof rep);
    if (!name)
        name = "mesh";
    for (size_t i = 0; i < (size_t)m->ntris * 3; i++)
        if (m->idx[i] >= m->nverts)
            return orf_fail(e, "bad_mesh", "%s: triangle %zu uses vertex %u but there are only %u",
                            name, i / 3, m->idx[i], m->nverts);
    if (m->ntris == 0)
        return orf_fail(e, "bad_mesh", "%s: the mesh has no triangles", name);
    if (mesh_topology(m, &rep.before, e) < 0)
        return -1;
    uint8_t *keep = malloc((size_t)m->ntris + 1);
    uint8_t *mark = malloc((size_t)m->nverts + 1);
    size_t mark_cap = (size_t)m->nverts + 1;
    if (!keep || !mark) {
        free(keep);
        free(mark);
        return oom(e, name);
    }
    int rc = -1;
    /* 1. non-finite */
    for (uint32_t t = 0; t < m->ntris; t++) {
        keep[t] = 1;
        for (int k = 0; k < 9; k++)
            if (!isfinite(m->pos[3 * (size_t)m->idx[3 * (size_t)t + k / 3] + k % 3]))
                keep[t] = 0;
        rep.nonfinite_triangles += !keep[t];
    }
    keep_triangles(m, keep);
    if (m->ntris == 0) {
        orf_fail(e, "bad_mesh", "%s: no triangle has finite coordinates", name);
        goto out;
    }
    /* 2. weld */
    uint32_t used_before = used_vertices(m, mark);
    if (mesh_weld(m, o->weld_tolerance > 0 ? o->weld_tolerance : 0.0f, e) < 0)
        goto out;
    if (ensure_mark(&mark, &mark_cap, m->nverts) < 0) {
        oom(e, name);
        goto out;
    }
    rep.welded_vertices = used_before - used_vertices(m, mark);
    /* 3, 4 */
    rep.degenerate_triangles = drop_degenerate(m, keep);
    if (drop_duplicates(m, keep, &rep.duplicate_triangles) < 0) {
        oom(e, name);
        goto out;
    }
    if (m->ntris == 0) {
        orf_fail(e, "bad_mesh", "%s: every triangle is degenerate", name);
        goto out;
    }
    /* 5 */
    if (drop_floaters(m, o->floater_share, keep, &rep.floater_components, &rep.floater_triangles) < 0) {
        oom(e, name);
        goto out;
    }
    /* 6, 7 */
    if (o->orient || o->max_hole_edges) {
        uint8_t *flipped = orf_zalloc((size_t)m->ntris + 1, 1);
        if (!flipped) {
            oom(e, name);
            goto out;
        }
        uint32_t nt0 = m->ntris, bad = 0;
        int fail = o->orient && orient(m, flipped, &rep.nonorientable_edges) < 0;
        if (!fail && o->max_hole_edges)
            fail = fill_holes(m, o->max_hole_edges, &rep.holes_filled, &rep.hole_triangles,
                              &rep.holes_left) < 0;
        if (!fail && o->orient && rep.holes_filled) {
            uint8_t *f2 = realloc(flipped, (size_t)m->ntris + 1);
            fail = !f2;
            if (f2) {
                flipped = f2;
                memset(flipped + nt0, 0, (size_t)m->ntris - nt0);
                fail = orient(m, flipped, &bad) < 0;
            }
        }
        for (uint32_t t = 0; t < nt0; t++)
            rep.flipped_triangles += flipped[t];
        free(flipped);
        if (fail) {
            oom(e, name);
            goto out;
        }
    }
    /* 8 */
    if (ensure_mark(&mark, &mark_cap, m->nverts) < 0) {
        oom(e, name);
        goto out;
    }
    if (drop_unused(m, mark, &rep.unused_vertices) < 0) {
        oom(e, name);
        goto out;
    }
    if (mesh_topology(m, &rep.after, e) < 0)
        goto out;
    rc = 0;
out:
    free(keep);
    free(mark);
    if (r)
        *r = rep;
    return rc;
}
