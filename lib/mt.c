/* mt.c - marching tetrahedra (deterministic, OpenMP by slab) and voxel faces. */
#include "mt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hd/mt_cell.h"

/* A chunk is MT_CHUNK consecutive points of a row. Where the 0/1 inside
 * flags of the chunk's points and of their +1 neighbours along x, y and z
 * (9 points in each of 4 rows) are all equal, no edge of the chunk's points
 * crosses and no cell of the chunk is cut: the three passes skip it. Inside
 * and far outside a solid that is most of the grid, so the passes cost about
 * the surface, not the volume. */
#define MT_CHUNK 8

static inline uint64_t load8(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* 1 when the chunk at point p of row (j, k) needs work (see above). */
static inline int chunk_busy(const uint8_t *in, long p, long dy, long dz)
{
    uint64_t a0 = load8(in + p), a1 = load8(in + p + 1);
    uint64_t b0 = load8(in + p + dy), b1 = load8(in + p + dy + 1);
    uint64_t c0 = load8(in + p + dz), c1 = load8(in + p + dz + 1);
    uint64_t d0 = load8(in + p + dy + dz), d1 = load8(in + p + dy + dz + 1);
    return ((a0 ^ a1) | (a0 ^ b0) | (a0 ^ b1) | (a0 ^ c0) | (a0 ^ c1) | (a0 ^ d0) | (a0 ^ d1)) != 0;
}

int mt_extract(const orf_volume *v, orf_mesh *m, orf_err *e)
{
    memset(m, 0, sizeof *m);
    int nx = v->nx, ny = v->ny, nz = v->nz;
    if (nx < 2 || ny < 2 || nz < 2 || !v->f)
        return 0;
    size_t slab = (size_t)nx * (size_t)ny, npts = slab * (size_t)nz;
    /* chunks per row: whole chunks whose 9th point is in the row, then one
     * partial chunk always treated as busy */
    int nfull = (nx - 1) / MT_CHUNK, nch = (nx + MT_CHUNK - 1) / MT_CHUNK;
    size_t nrows = (size_t)ny * (size_t)nz;
    uint8_t *bits = orf_malloc_big(npts, 1);
    uint8_t *in = orf_malloc_big(npts + 16, 1);
    uint32_t *base = orf_malloc_big(npts, sizeof *base);
    uint8_t *busy = malloc(nrows * (size_t)nch);
    uint64_t *vcount = calloc((size_t)nz + 1, sizeof *vcount);
    uint64_t *tcount = calloc((size_t)nz + 1, sizeof *tcount);
    int rc = 0;
    if (!bits || !in || !base || !busy || !vcount || !tcount) {
        rc = orf_fail(e, "too_large", "out of memory for marching tetrahedra");
        goto done;
    }
    const float *f = v->f;
    long sy = nx, sz = (long)slab;
#pragma omp parallel for schedule(static) if (npts >= MT_PARALLEL_POINTS)
    for (long p = 0; p < (long)npts; p++)
        in[p] = f[p] > 0.0f;
    memset(in + npts, 0, 16);
    /* pass 1: busy chunks; crossing edges per point, vertices and triangles
     * per slab */
#pragma omp parallel for schedule(static) if (npts >= MT_PARALLEL_POINTS)
    for (int k = 0; k < nz; k++) {
        uint64_t nv = 0, nt = 0;
        long dz = k < nz - 1 ? sz : 0;
        for (int j = 0; j < ny; j++) {
            long dy = j < ny - 1 ? sy : 0;
            size_t row = (size_t)k * (size_t)ny + (size_t)j;
            uint8_t *rb = busy + row * (size_t)nch;
            for (int c = 0; c < nch; c++) {
                int i0 = c * MT_CHUNK, i1 = i0 + MT_CHUNK < nx ? i0 + MT_CHUNK : nx;
                size_t p0 = row * (size_t)nx + (size_t)i0;
                if (c < nfull && !chunk_busy(in, (long)p0, dy, dz)) {
                    rb[c] = 0;
                    continue;
                }
                rb[c] = 1;
                for (int i = i0; i < i1; i++) {
                    size_t p = p0 + (size_t)(i - i0);
                    unsigned b = mt_point_edges(in, nx, ny, nz, i, j, k, (long)p);
                    bits[p] = (uint8_t)b;
                    nv += mt_bitcount7(b);
                    if (i < nx - 1 && j < ny - 1 && k < nz - 1) {
                        unsigned ci = mt_cell_index(in, (long)p, sy, sz);
                        nt += mt_tri_count[ci];
                    }
                }
            }
        }
        vcount[k + 1] = nv;
        tcount[k + 1] = nt;
    }
    for (int k = 0; k < nz; k++) {
        vcount[k + 1] += vcount[k];
        tcount[k + 1] += tcount[k];
    }
    uint64_t NV = vcount[nz], NT = tcount[nz];
    if (NV > UINT32_MAX - 1 || NT > UINT32_MAX / 3) {
        rc = orf_fail(e, "too_large", "marching tetrahedra would make %llu vertices",
                      (unsigned long long)NV);
        goto done;
    }
    if (mesh_alloc(m, (uint32_t)NV, (uint32_t)NT, 0, e) != 0) {
        rc = -1;
        goto done;
    }
    float *pos = m->pos;
    uint32_t *idx = m->idx;
    float step = v->step;
    /* pass 2: vertex ids and positions (base[] is only read where bits[] is
     * set, which is only in busy chunks) */
#pragma omp parallel for schedule(static) if (npts >= MT_PARALLEL_POINTS)
    for (int k = 0; k < nz; k++) {
        uint32_t id = (uint32_t)vcount[k];
        for (int j = 0; j < ny; j++) {
            size_t row = (size_t)k * (size_t)ny + (size_t)j;
            const uint8_t *rb = busy + row * (size_t)nch;
            for (int c = 0; c < nch; c++) {
                if (!rb[c])
                    continue;
                int i0 = c * MT_CHUNK, i1 = i0 + MT_CHUNK < nx ? i0 + MT_CHUNK : nx;
                for (int i = i0; i < i1; i++) {
                    size_t p = row * (size_t)nx + (size_t)i;
                    base[p] = id;
                    unsigned b = bits[p];
                    for (unsigned d = 1; d < 8 && b; d++) {
                        if (!(b & (1u << (d - 1))))
                            continue;
                        int di = (int)(d & 1), dj = (int)(d >> 1 & 1), dk = (int)(d >> 2 & 1);
                        size_t q = ((size_t)(k + dk) * (size_t)ny + (size_t)(j + dj)) *
                                       (size_t)nx +
                                   (size_t)(i + di);
                        float t = mt_edge_t(f[p], f[q]);
                        pos[3 * (size_t)id + 0] = v->x0 + ((float)i + t * (float)di) * step;
                        pos[3 * (size_t)id + 1] = v->y0 + ((float)j + t * (float)dj) * step;
                        pos[3 * (size_t)id + 2] = v->z0 + ((float)k + t * (float)dk) * step;
                        id++;
                    }
                }
            }
        }
    }
    /* pass 3: triangles */
#pragma omp parallel for schedule(static) if (npts >= MT_PARALLEL_POINTS)
    for (int k = 0; k < nz - 1; k++) {
        size_t t = (size_t)tcount[k];
        for (int j = 0; j < ny - 1; j++) {
            size_t row = (size_t)k * (size_t)ny + (size_t)j;
            const uint8_t *rb = busy + row * (size_t)nch;
            for (int c = 0; c < nch; c++) {
                if (!rb[c])
                    continue;
                int i0 = c * MT_CHUNK, i1 = i0 + MT_CHUNK < nx - 1 ? i0 + MT_CHUNK : nx - 1;
                for (int i = i0; i < i1; i++) {
                    size_t p0 = row * (size_t)nx + (size_t)i;
                    unsigned ci = mt_cell_index(in, (long)p0, sy, sz);
                    unsigned nt = mt_tri_count[ci];
                    if (!nt)
                        continue;
                    for (unsigned a = 0; a < 3 * nt; a++) {
                        unsigned code = mt_tris[ci][a];
                        unsigned lo = code >> 3, dir = code & 7;
                        size_t p = ((size_t)(k + (int)(lo >> 2 & 1)) * (size_t)ny +
                                    (size_t)(j + (int)(lo >> 1 & 1))) *
                                       (size_t)nx +
                                   (size_t)(i + (int)(lo & 1));
                        idx[3 * t + a] = mt_edge_vertex(base[p], bits[p], dir);
                    }
                    t += nt;
                }
            }
        }
    }
done:
    free(in);
    free(bits);
    free(base);
    free(busy);
    free(vcount);
    free(tcount);
    return rc;
}

/* ---- voxels ---- */

static int well_compose(uint8_t *o, int X, int Y, int Z)
{
#define O(i, j, k) o[((size_t)(k) * (size_t)Y + (size_t)(j)) * (size_t)X + (size_t)(i)]
    int changed, rounds = 0, total = 0;
    do {
        changed = 0;
        for (int k = 0; k + 1 < Z; k++)
            for (int j = 0; j + 1 < Y; j++)
                for (int i = 0; i + 1 < X; i++) {
                    /* a uniform 2x2x2 block (most of them) has neither an
                     * edge nor a corner configuration */
                    int occ = 0;
                    for (int q = 0; q < 8; q++)
                        occ += O(i + (q & 1), j + (q >> 1 & 1), k + (q >> 2 & 1));
                    if (occ == 0 || occ == 8)
                        continue;
                    /* edge configurations: 2x2 squares in the three planes */
                    for (int a = 0; a < 3; a++)
                        for (int s = 0; s < 2; s++) {
                            int c[4][3];
                            for (int q = 0; q < 4; q++) {
                                int u = q & 1, w = q >> 1;
                                int d[3] = {0, 0, 0};
                                d[a] = s;
                                d[(a + 1) % 3] = u;
                                d[(a + 2) % 3] = w;
                                c[q][0] = i + d[0];
                                c[q][1] = j + d[1];
                                c[q][2] = k + d[2];
                            }
                            int v0 = O(c[0][0], c[0][1], c[0][2]), v1 = O(c[1][0], c[1][1], c[1][2]);
                            int v2 = O(c[2][0], c[2][1], c[2][2]), v3 = O(c[3][0], c[3][1], c[3][2]);
                            if (v0 && v3 && !v1 && !v2) {
                                O(c[1][0], c[1][1], c[1][2]) = 1;
                                changed++;
                            } else if (v1 && v2 && !v0 && !v3) {
                                O(c[0][0], c[0][1], c[0][2]) = 1;
                                changed++;
                            }
                        }
                    /* corner configurations in the 2x2x2 block */
                    int cnt = 0;
                    for (int q = 0; q < 8; q++)
                        cnt += O(i + (q & 1), j + (q >> 1 & 1), k + (q >> 2 & 1));
                    if (cnt == 2 || cnt == 6) {
                        for (int q = 0; q < 4; q++) {
                            int r = 7 - q;
                            int vq = O(i + (q & 1), j + (q >> 1 & 1), k + (q >> 2 & 1));
                            int vr = O(i + (r & 1), j + (r >> 1 & 1), k + (r >> 2 & 1));
                            if (cnt == 2 && vq && vr) {
                                /* join them by a face path: q -> q^1 -> q^1^2 -> r */
                                int p1 = q ^ 1, p2 = q ^ 3;
                                O(i + (p1 & 1), j + (p1 >> 1 & 1), k + (p1 >> 2 & 1)) = 1;
                                O(i + (p2 & 1), j + (p2 >> 1 & 1), k + (p2 >> 2 & 1)) = 1;
                                changed++;
                                break;
                            }
                            if (cnt == 6 && !vq && !vr) {
                                O(i + (q & 1), j + (q >> 1 & 1), k + (q >> 2 & 1)) = 1;
                                changed++;
                                break;
                            }
                        }
                    }
                }
        total += changed;
        rounds++;
    } while (changed && rounds < 10000);
#undef O
    return total;
}

int mt_voxels(const orf_volume *v, orf_mesh *m, orf_err *e)
{
    memset(m, 0, sizeof *m);
    if (!v->f || v->nx < 1 || v->ny < 1 || v->nz < 1)
        return 0;
    /* occupancy with one empty layer of margin */
    int X = v->nx + 2, Y = v->ny + 2, Z = v->nz + 2;
    size_t n = (size_t)X * (size_t)Y * (size_t)Z;
    int CX = X + 1, CY = Y + 1, CZ = Z + 1;
    size_t nc = (size_t)CX * (size_t)CY * (size_t)CZ;
    uint8_t *o = orf_zalloc(n, 1);
    uint32_t *cid = malloc(nc * sizeof *cid);
    if (!o || !cid) {
        free(o);
        free(cid);
        return orf_fail(e, "too_large", "out of memory for voxels");
    }
    for (int k = 0; k < v->nz; k++)
        for (int j = 0; j < v->ny; j++)
            for (int i = 0; i < v->nx; i++)
                o[((size_t)(k + 1) * (size_t)Y + (size_t)(j + 1)) * (size_t)X + (size_t)(i + 1)] =
                    v->f[((size_t)k * (size_t)v->ny + (size_t)j) * (size_t)v->nx + (size_t)i] > 0.0f;
    well_compose(o, X, Y, Z);
#define OCC(i, j, k) \
    ((i) >= 0 && (j) >= 0 && (k) >= 0 && (i) < X && (j) < Y && (k) < Z && \
     o[((size_t)(k) * (size_t)Y + (size_t)(j)) * (size_t)X + (size_t)(i)])
#define CID(i, j, k) cid[((size_t)(k) * (size_t)CY + (size_t)(j)) * (size_t)CX + (size_t)(i)]
    for (size_t c = 0; c < nc; c++)
        cid[c] = UINT32_MAX;
    size_t nfaces = 0;
    static const int dirs[6][3] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}};
    /* the four corners of face f of voxel (i,j,k), counter-clockwise from outside */
    int corner[4][3];
    for (int pass = 0; pass < 2; pass++) {
        uint32_t nv = 0;
        size_t t = 0;
        if (pass == 1) {
            /* number the used corners in index order */
            for (size_t c = 0; c < nc; c++)
                if (cid[c] == 0)
                    cid[c] = nv++;
            if (mesh_alloc(m, nv, (uint32_t)(2 * nfaces), 0, e) != 0) {
                free(o);
                free(cid);
                return -1;
            }
            for (int k = 0; k < CZ; k++)
                for (int j = 0; j < CY; j++)
                    for (int i = 0; i < CX; i++) {
                        uint32_t id = CID(i, j, k);
                        if (id == UINT32_MAX)
                            continue;
                        m->pos[3 * (size_t)id + 0] = v->x0 + ((float)i - 1.5f) * v->step;
                        m->pos[3 * (size_t)id + 1] = v->y0 + ((float)j - 1.5f) * v->step;
                        m->pos[3 * (size_t)id + 2] = v->z0 + ((float)k - 1.5f) * v->step;
                    }
        }
        for (int k = 0; k < Z; k++)
            for (int j = 0; j < Y; j++)
                for (int i = 0; i < X; i++) {
                    if (!OCC(i, j, k))
                        continue;
                    for (int d = 0; d < 6; d++) {
                        if (OCC(i + dirs[d][0], j + dirs[d][1], k + dirs[d][2]))
                            continue;
                        int a = d / 2, b = (a + 1) % 3, c = (a + 2) % 3, pos = !(d & 1);
                        const int uv[4][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
                        for (int q = 0; q < 4; q++) {
                            int qq = pos ? q : 3 - q;
                            int at[3] = {i, j, k};
                            at[a] += pos;
                            at[b] += uv[qq][0];
                            at[c] += uv[qq][1];
                            corner[q][0] = at[0];
                            corner[q][1] = at[1];
                            corner[q][2] = at[2];
                        }
                        if (pass == 0) {
                            for (int q = 0; q < 4; q++)
                                CID(corner[q][0], corner[q][1], corner[q][2]) = 0;
                            nfaces++;
                        } else {
                            uint32_t id[4];
                            for (int q = 0; q < 4; q++)
                                id[q] = CID(corner[q][0], corner[q][1], corner[q][2]);
                            uint32_t *tri = m->idx + 6 * t;
                            tri[0] = id[0];
                            tri[1] = id[1];
                            tri[2] = id[2];
                            tri[3] = id[0];
                            tri[4] = id[2];
                            tri[5] = id[3];
                            t++;
                        }
                    }
                }
    }
#undef OCC
#undef CID
    free(o);
    free(cid);
    return 0;
}
