/* render.c - the software rasteriser (see render.h), CPU path and driver.
 *
 * Three passes over a supersampled raster of S = width*samples by
 * height*samples samples:
 *   1. setup (always here): every vertex to screen (fixed point), depth key
 *      and 1/w; normals into view space; triangles binned into bands of
 *      BAND rows, in index order.
 *   2. raster: per band (OpenMP), each triangle of the band: exact integer
 *      edge functions with the top-left rule, a depth key affine in screen
 *      space (bigger is nearer); a sample keeps the smallest 64-bit key
 *      (nearest triangle, ties to the lower index: render_tri.h).
 *   3. resolve: per output pixel (OpenMP over rows), the samples that hit
 *      the same triangle are shaded once at their mean position
 *      (perspective-correct barycentrics), then everything is box-filtered
 *      with the background (rp_resolve).
 * Passes 2 and 3 are the functions of render_tri.h, which the CUDA kernels
 * (kernels/cuda_render.cu) run on the same bins: the picture does not
 * depend on the backend or on the thread count.
 */
#include "render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <omp.h>

#include "backend.h"
#include "hd/render_pixel.h"
#include "hd/render_tri.h"
#include "units.h"
#ifdef ORFEAS_CUDA
#include "cuda_render.h"
#endif

_Static_assert(RP_MAX_SAMPLES == RENDER_MAX_SAMPLES, "render_tri.h sizes its arrays for RENDER_MAX_SAMPLES");

#define BAND 16                /* sample rows per raster band */
#define GUARD ((long long)1 << 26) /* fixed-point guard band; beyond it a triangle is skipped */
#define PERSP_HALF_FOV_DEG 15.0
#define MARGIN 0.05f           /* bbox framing: share of the picture left on each side */

static const char *const view_names[RENDER_NVIEWS] = {"front", "back",  "left",
                                                      "right", "top", "three-quarter"};
/* azimuth (degrees, from +z toward +x) and elevation (degrees, up) of each view's camera */
static const float view_azimuth[RENDER_NVIEWS] = {0.0f, 180.0f, -90.0f, 90.0f, 0.0f, 45.0f};
static const float view_elevation[RENDER_NVIEWS] = {0.0f, 0.0f, 0.0f, 0.0f, 90.0f, 25.0f};

void render_opts_init(render_opts *o)
{
    memset(o, 0, sizeof *o);
    o->width = 512;
    o->height = 512;
    o->view = RENDER_FRONT;
    o->frame = RENDER_FRAME_BBOX;
    o->samples = 3;
}

int render_view_parse(const char *name, render_view *v, orf_err *e)
{
    if (name) {
        for (int i = 0; i < RENDER_NVIEWS; i++)
            if (!strcasecmp(name, view_names[i])) {
                *v = (render_view)i;
                return 0;
            }
        if (!strcasecmp(name, "three_quarter") || !strcmp(name, "3/4")) {
            *v = RENDER_THREE_QUARTER;
            return 0;
        }
    }
    return orf_fail(e, "bad_request",
                    "unknown view '%s' (front, back, left, right, top, three-quarter)",
                    name ? name : "");
}

const char *render_view_name(render_view v)
{
    return (int)v >= 0 && v < RENDER_NVIEWS ? view_names[v] : "";
}

int render_parse_size(const char *s, int *w, int *h, orf_err *e)
{
    const char *p = s;
    long v[2];
    for (int k = 0; k < 2; k++) {
        if (!p || *p < '0' || *p > '9')
            goto bad;
        char *end;
        v[k] = strtol(p, &end, 10);
        if (v[k] < 1 || v[k] > RENDER_MAX_SIDE)
            goto bad;
        p = end;
        if (k == 0) {
            if (*p != 'x' && *p != 'X')
                goto bad;
            p++;
        }
    }
    if (*p)
        goto bad;
    *w = (int)v[0];
    *h = (int)v[1];
    return 0;
bad:
    return orf_fail(e, "bad_request", "bad size '%s': expected WxH, each side 1 to %d pixels",
                    s ? s : "", RENDER_MAX_SIDE);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int render_parse_color(const char *s, uint8_t rgba[4], orf_err *e)
{
    static const struct {
        const char *name;
        uint8_t rgba[4];
    } named[] = {
        {"white", {255, 255, 255, 255}}, {"black", {0, 0, 0, 255}},
        {"grey", {128, 128, 128, 255}},  {"gray", {128, 128, 128, 255}},
        {"transparent", {0, 0, 0, 0}},
    };
    if (!s)
        s = "";
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (!strcasecmp(s, named[i].name)) {
            memcpy(rgba, named[i].rgba, 4);
            return 0;
        }
    size_t n = strlen(s);
    if (s[0] == '#' && (n == 7 || n == 9)) {
        uint8_t c[4] = {0, 0, 0, 255};
        for (size_t k = 0; k < (n - 1) / 2; k++) {
            int hi = hexval(s[1 + 2 * k]), lo = hexval(s[2 + 2 * k]);
            if (hi < 0 || lo < 0)
                goto bad;
            c[k] = (uint8_t)(hi * 16 + lo);
        }
        memcpy(rgba, c, 4);
        return 0;
    }
bad:
    return orf_fail(e, "bad_request",
                    "bad colour '%s': expected #rrggbb, #rrggbbaa, white, black, grey or transparent",
                    s);
}

/* ---- camera ------------------------------------------------------------ */

typedef struct camera {
    float right[3], up[3], back[3]; /* view basis in world coordinates */
    float centre[3];                /* world point on the view axis */
    float off_x, off_y;             /* shift on the view plane (perspective: after the divide) before scaling */
    int ortho;
    float scale;                    /* ortho: samples per world unit; perspective: focal length in samples */
    float dist;                     /* perspective: camera distance from centre along back */
    float cx, cy;                   /* screen centre in samples */
} camera;

static void camera_basis(camera *c, render_view view, float yaw_deg)
{
    const double d2r = 3.14159265358979323846 / 180.0;
    double az = (view_azimuth[view] + yaw_deg) * d2r, el = view_elevation[view] * d2r;
    c->back[0] = (float)(sin(az) * cos(el));
    c->back[1] = (float)sin(el);
    c->back[2] = (float)(cos(az) * cos(el));
    c->right[0] = (float)cos(az);
    c->right[1] = 0.0f;
    c->right[2] = (float)-sin(az);
    /* up = back x right */
    c->up[0] = c->back[1] * c->right[2] - c->back[2] * c->right[1];
    c->up[1] = c->back[2] * c->right[0] - c->back[0] * c->right[2];
    c->up[2] = c->back[0] * c->right[1] - c->back[1] * c->right[0];
    rp_normalize3(c->up);
}

static void to_view(const camera *c, const float p[3], float v[3])
{
    float d[3] = {p[0] - c->centre[0], p[1] - c->centre[1], p[2] - c->centre[2]};
    v[0] = d[0] * c->right[0] + d[1] * c->right[1] + d[2] * c->right[2];
    v[1] = d[0] * c->up[0] + d[1] * c->up[1] + d[2] * c->up[2];
    v[2] = d[0] * c->back[0] + d[1] * c->back[1] + d[2] * c->back[2];
}

/* Points that framing must hold: the bbox corners, or (orbit) a 16-gon prism
 * circumscribing the bbox's vertical cylinder. Returns the count (<= 32). */
static int frame_points(const float lo[3], const float hi[3], int orbit, float pts[32][3])
{
    if (!orbit) {
        for (int i = 0; i < 8; i++) {
            pts[i][0] = (i & 1) ? hi[0] : lo[0];
            pts[i][1] = (i & 2) ? hi[1] : lo[1];
            pts[i][2] = (i & 4) ? hi[2] : lo[2];
        }
        return 8;
    }
    float cx = 0.5f * (lo[0] + hi[0]), cz = 0.5f * (lo[2] + hi[2]);
    float rx = 0.5f * (hi[0] - lo[0]), rz = 0.5f * (hi[2] - lo[2]);
    float r = sqrtf(rx * rx + rz * rz) / cosf(3.14159265f / 16.0f);
    for (int i = 0; i < 16; i++) {
        float a = 2.0f * 3.14159265f * (float)i / 16.0f;
        for (int k = 0; k < 2; k++) {
            pts[2 * i + k][0] = cx + r * cosf(a);
            pts[2 * i + k][1] = k ? hi[1] : lo[1];
            pts[2 * i + k][2] = cz + r * sinf(a);
        }
    }
    return 32;
}

static void camera_setup(camera *c, const orf_mesh *m, const render_opts *o, int sw, int sh)
{
    memset(c, 0, sizeof *c);
    camera_basis(c, o->view, o->yaw_deg);
    c->ortho = o->ortho;
    c->cx = 0.5f * (float)sw;
    c->cy = 0.5f * (float)sh;
    float longer = (float)(sw > sh ? sw : sh);
    float t_long = (float)tan(PERSP_HALF_FOV_DEG * 3.14159265358979323846 / 180.0);
    if (o->frame == RENDER_FRAME_UNIT || m->ntris == 0) {
        if (c->ortho) {
            c->scale = longer; /* one world unit across the longer side */
        } else {
            c->scale = 0.5f * longer / t_long;
            c->dist = 0.5f / t_long;
        }
        return;
    }
    float lo[3], hi[3], pts[32][3];
    mesh_bbox(m, lo, hi);
    for (int k = 0; k < 3; k++)
        c->centre[k] = 0.5f * (lo[k] + hi[k]);
    float size = 0.0f;
    for (int k = 0; k < 3; k++)
        size = fmaxf(size, hi[k] - lo[k]);
    if (!(size > 0.0f))
        size = 1.0f;
    const float fill = 1.0f - 2.0f * MARGIN;
    /* the points to frame: every vertex, or the orbit cylinder */
    int np = o->orbit_frame ? frame_points(lo, hi, 1, pts) : (int)m->nverts;
    const float *pp = o->orbit_frame ? &pts[0][0] : m->pos;
    float dist = 0.0f;
    if (!c->ortho) { /* a distance that puts the bbox in front of the camera and in the field */
        float corners[32][3], tx = fill * t_long * (float)sw / longer, ty = fill * t_long * (float)sh / longer;
        int nc = frame_points(lo, hi, o->orbit_frame, corners);
        dist = 0.0f;
        for (int i = 0; i < nc; i++) {
            float v[3];
            to_view(c, corners[i], v);
            dist = fmaxf(dist, v[2] + 0.05f * size);
            dist = fmaxf(dist, v[2] + fabsf(v[0]) / tx);
            dist = fmaxf(dist, v[2] + fabsf(v[1]) / ty);
        }
        c->dist = dist;
    }
    /* extents of the points on the view plane (perspective: divided by depth) */
    float xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < np; i++) {
        float v[3];
        to_view(c, pp + 3 * i, v);
        if (!c->ortho) {
            float inv = 1.0f / (dist - v[2]);
            v[0] *= inv, v[1] *= inv;
        }
        xmin = fminf(xmin, v[0]), xmax = fmaxf(xmax, v[0]);
        ymin = fminf(ymin, v[1]), ymax = fmaxf(ymax, v[1]);
    }
    float tiny = c->ortho ? 1e-6f * size : 1e-6f;
    float ex = fmaxf(xmax - xmin, tiny), ey = fmaxf(ymax - ymin, tiny);
    c->off_x = -0.5f * (xmin + xmax);
    c->off_y = -0.5f * (ymin + ymax);
    c->scale = fminf((float)sw * fill / ex, (float)sh * fill / ey);
}

/* ---- passes ------------------------------------------------------------ */

static void project(const camera *c, const float p[3], rp_vtx *s)
{
    float v[3];
    to_view(c, p, v);
    float x, y;
    s->ok = 1;
    if (c->ortho) {
        x = c->cx + (v[0] + c->off_x) * c->scale;
        y = c->cy - (v[1] + c->off_y) * c->scale;
        s->q = v[2];
        s->invw = 1.0f;
    } else {
        float depth = c->dist - v[2];
        if (!(depth > 1e-4f * c->dist)) {
            s->ok = 0;
            depth = 1.0f;
        }
        s->invw = 1.0f / depth;
        x = c->cx + c->scale * (v[0] * s->invw + c->off_x);
        y = c->cy - c->scale * (v[1] * s->invw + c->off_y);
        s->q = s->invw;
    }
    s->fx = x;
    s->fy = y;
    double X = floor((double)x * RP_SUBPIX + 0.5), Y = floor((double)y * RP_SUBPIX + 0.5);
    if (!(fabs(X) < (double)GUARD && fabs(Y) < (double)GUARD)) {
        s->ok = 0;
        X = Y = 0.0;
    }
    s->x = (long long)X;
    s->y = (long long)Y;
}

/* Angle-weighted vertex normals (not normalised) into nrm[3 * nverts]: each
 * triangle adds its unit normal times its angle at the vertex, which does not
 * depend on how a face was split into triangles. */
static void compute_normals(const orf_mesh *m, float *nrm)
{
    memset(nrm, 0, sizeof(float) * 3 * m->nverts);
    for (uint32_t t = 0; t < m->ntris; t++) {
        const uint32_t *ix = m->idx + 3 * t;
        const float *p[3] = {m->pos + 3 * ix[0], m->pos + 3 * ix[1], m->pos + 3 * ix[2]};
        float e[3][3]; /* e[k] = p[k+1] - p[k], normalised */
        for (int k = 0; k < 3; k++) {
            for (int j = 0; j < 3; j++)
                e[k][j] = p[(k + 1) % 3][j] - p[k][j];
        }
        float n[3] = {e[0][1] * e[2][2] - e[0][2] * e[2][1], e[0][2] * e[2][0] - e[0][0] * e[2][2],
                      e[0][0] * e[2][1] - e[0][1] * e[2][0]};
        /* n = e0 x e2 points inward for CCW; flip */
        n[0] = -n[0], n[1] = -n[1], n[2] = -n[2];
        if (!(n[0] * n[0] + n[1] * n[1] + n[2] * n[2] > 0.0f))
            continue;
        rp_normalize3(n);
        for (int k = 0; k < 3; k++) {
            float l2 = e[k][0] * e[k][0] + e[k][1] * e[k][1] + e[k][2] * e[k][2];
            if (l2 > 0.0f) {
                float inv = 1.0f / sqrtf(l2);
                e[k][0] *= inv, e[k][1] *= inv, e[k][2] *= inv;
            }
        }
        for (int k = 0; k < 3; k++) {
            const float *out = e[k], *in = e[(k + 2) % 3]; /* angle at p[k] between -in and out */
            float d = -(out[0] * in[0] + out[1] * in[1] + out[2] * in[2]);
            float ang = acosf(d < -1.0f ? -1.0f : (d > 1.0f ? 1.0f : d));
            for (int j = 0; j < 3; j++)
                nrm[3 * ix[k] + j] += ang * n[j];
        }
    }
}

#define CREASE_COS 0.766f /* cos 40 degrees */

/* Per-corner normals for a mesh without its own: the vertex normal, or the
 * face normal where the two differ by more than the crease angle, so that the
 * hard edges of a welded box stay hard. cn[9 * ntris]. */
static void corner_normals(const orf_mesh *m, const float *vn, float *cn, int threads)
{
    const long long nt = m->ntris;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long long t = 0; t < nt; t++) {
        const uint32_t *ix = m->idx + 3 * t;
        const float *a = m->pos + 3 * ix[0], *b = m->pos + 3 * ix[1], *c = m->pos + 3 * ix[2];
        float u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
        float v[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
        float f[3] = {u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]};
        rp_normalize3(f);
        for (int k = 0; k < 3; k++) {
            float n[3] = {vn[3 * ix[k]], vn[3 * ix[k] + 1], vn[3 * ix[k] + 2]};
            rp_normalize3(n);
            const float *use = n[0] * f[0] + n[1] * f[1] + n[2] * f[2] < CREASE_COS ? f : n;
            memcpy(cn + 9 * t + 3 * k, use, 3 * sizeof(float));
        }
    }
}

typedef struct ctx {
    const orf_mesh *m;
    const render_opts *o;
    camera cam;
    int sw, sh, ss;
    rp_vtx *sv;
    float *vn;           /* view-space vertex normals, 3 per vertex */
    float *cn;           /* or view-space corner normals, 9 per triangle (mesh without normals) */
    uint64_t *keys;      /* sw * sh sample keys (render_tri.h) */
    uint32_t *band_start, *band_tris;
    int nbands;
} ctx;

static int check_opts(const render_opts *o, orf_err *e)
{
    if (o->width < 1 || o->width > RENDER_MAX_SIDE || o->height < 1 || o->height > RENDER_MAX_SIDE)
        return orf_fail(e, "bad_request", "picture size %d x %d is outside 1..%d", o->width, o->height,
                        RENDER_MAX_SIDE);
    if (o->samples < 1 || o->samples > RENDER_MAX_SAMPLES)
        return orf_fail(e, "bad_request", "supersampling %d is outside 1..%d", o->samples,
                        RENDER_MAX_SAMPLES);
    if ((int)o->view < 0 || o->view >= RENDER_NVIEWS)
        return orf_fail(e, "bad_request", "unknown view number %d", (int)o->view);
    if (!isfinite(o->yaw_deg))
        return orf_fail(e, "bad_request", "yaw is not a finite number");
    return 0;
}

/* Passes 2 and 3 on the CPU: raster a band at a time, then resolve. */
static int cpu_passes(ctx *c, rp_scene *S, int threads, orf_image *out, orf_err *e)
{
    const orf_mesh *m = c->m;
    size_t nsamp = (size_t)c->sw * (size_t)c->sh;
    c->keys = malloc(nsamp * sizeof *c->keys);
    if (!c->keys)
        return orf_fail(e, "too_large", "out of memory rendering %d x %d pixels of a %u-triangle mesh",
                        c->o->width, c->o->height, m->ntris);
    S->keys = c->keys;
    const rp_vtx *sv = c->sv;
    const long long sw = c->sw;
    /* 2. raster */
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int b = 0; b < c->nbands; b++) {
        int row0 = b * BAND, row1 = row0 + BAND < c->sh ? row0 + BAND : c->sh;
        for (size_t i = (size_t)row0 * (size_t)sw; i < (size_t)row1 * (size_t)sw; i++)
            c->keys[i] = RP_KEY_EMPTY;
        for (uint32_t k = c->band_start[b]; k < c->band_start[b + 1]; k++) {
            uint32_t t = c->band_tris[k];
            const uint32_t *ix = m->idx + 3 * (size_t)t;
            rp_tri T;
            if (rp_tri_setup(&sv[ix[0]], &sv[ix[1]], &sv[ix[2]], sw, row0, row1, &T))
                rp_tri_draw(&T, t, c->keys, (size_t)sw);
        }
    }

    /* 3. resolve */
    const int width = c->o->width;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
    for (int py = 0; py < c->o->height; py++) {
        uint8_t *row = out->rgba + 4 * (size_t)py * (size_t)width;
        for (int px = 0; px < width; px++)
            rp_resolve_pixel(S, px, py, row + 4 * (size_t)px);
    }
    return 0;
}

/* Passes 2 and 3 on the GPU (kernels/cuda_render.h); "unavailable" in a
 * build without CUDA, "cuda_oom" when the device ran out (or the test hook
 * says so). */
static int cuda_passes(const ctx *c, const rp_scene *S, orf_image *out, uint64_t *peak, orf_err *e)
{
    *peak = 0;
    if (backend_cuda_simulated_oom(c->o->backend))
        return orf_fail(e, "cuda_oom", "simulated CUDA out of memory (test hook)");
#ifdef ORFEAS_CUDA
    cuda_render_job j;
    memset(&j, 0, sizeof j);
    j.scene = *S;
    j.nverts = c->m->nverts;
    j.ntris = c->m->ntris;
    j.height = c->o->height;
    j.sh = c->sh;
    j.band_rows = BAND;
    j.nbands = c->nbands;
    j.band_start = c->band_start;
    j.band_tris = c->band_tris;
    cuda_job_stats st;
    memset(&st, 0, sizeof st);
    int rc = cuda_render(&j, out->rgba, &st, e);
    *peak = st.peak_bytes;
    return rc;
#else
    (void)c;
    (void)S;
    (void)out;
    return orf_fail(e, "unavailable", "this build has no CUDA backend");
#endif
}

int render_mesh(const orf_mesh *m, const render_opts *o, orf_image *out, orf_err *e)
{
    double t0 = units_now_ms();
    memset(out, 0, sizeof *out);
    if (o->facts)
        memset(o->facts, 0, sizeof *o->facts);
    if (check_opts(o, e) < 0)
        return -1;
    if (m->ntris > 0 && mesh_validate(m, "mesh to render", e) < 0)
        return -1;
    ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.o = o;
    c.ss = o->samples;
    c.sw = o->width * c.ss;
    c.sh = o->height * c.ss;
    c.nbands = (c.sh + BAND - 1) / BAND;
    camera_setup(&c.cam, m, o, c.sw, c.sh);
    int threads = o->threads > 0 ? o->threads : omp_get_max_threads();

    if (image_alloc(out, o->width, o->height, e) < 0)
        return -1;
    c.sv = m->nverts ? malloc((size_t)m->nverts * sizeof *c.sv) : NULL;
    c.vn = m->nverts ? malloc((size_t)m->nverts * 3 * sizeof *c.vn) : NULL;
    c.band_start = calloc((size_t)c.nbands + 1, sizeof *c.band_start);
    if (!c.band_start || (m->nverts && (!c.sv || !c.vn))) {
        orf_fail(e, "too_large", "out of memory rendering %d x %d pixels of a %u-triangle mesh",
                 o->width, o->height, m->ntris);
        goto fail;
    }

    /* 1. setup */
    const long long nv = m->nverts;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long long i = 0; i < nv; i++)
        project(&c.cam, m->pos + 3 * i, &c.sv[i]);
    long long nn = nv; /* normals to turn into view space: per vertex, or per corner */
    float *normals = c.vn;
    if (m->nrm) {
        memcpy(c.vn, m->nrm, sizeof(float) * 3 * m->nverts);
    } else if (m->nverts && m->ntris) {
        c.cn = malloc((size_t)m->ntris * 9 * sizeof *c.cn);
        if (!c.cn) {
            orf_fail(e, "too_large", "out of memory for the normals of a %u-triangle mesh", m->ntris);
            goto fail;
        }
        compute_normals(m, c.vn);
        corner_normals(m, c.vn, c.cn, threads);
        nn = 3LL * m->ntris;
        normals = c.cn;
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long long i = 0; i < nn; i++) {
        float *n = normals + 3 * i, w[3];
        w[0] = n[0] * c.cam.right[0] + n[1] * c.cam.right[1] + n[2] * c.cam.right[2];
        w[1] = n[0] * c.cam.up[0] + n[1] * c.cam.up[1] + n[2] * c.cam.up[2];
        w[2] = n[0] * c.cam.back[0] + n[1] * c.cam.back[1] + n[2] * c.cam.back[2];
        rp_normalize3(w);
        memcpy(n, w, sizeof w);
    }
    /* bin triangles into bands: count, prefix sum, fill (in index order) */
    size_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        uint32_t *fill = NULL;
        if (pass == 1) {
            for (int b = 0; b < c.nbands; b++) {
                size_t k = c.band_start[b];
                c.band_start[b] = (uint32_t)total;
                total += k;
            }
            c.band_start[c.nbands] = (uint32_t)total;
            c.band_tris = malloc((total ? total : 1) * sizeof *c.band_tris);
            fill = calloc((size_t)c.nbands, sizeof *fill);
            if (!c.band_tris || !fill || total > UINT32_MAX) {
                free(fill);
                orf_fail(e, "too_large", "out of memory binning a %u-triangle mesh", m->ntris);
                goto fail;
            }
        }
        for (uint32_t t = 0; t < m->ntris; t++) {
            const uint32_t *ix = m->idx + 3 * t;
            const rp_vtx *a = &c.sv[ix[0]], *b = &c.sv[ix[1]], *d = &c.sv[ix[2]];
            if (!a->ok || !b->ok || !d->ok)
                continue;
            long long miny = a->y < b->y ? a->y : b->y, maxy = a->y > b->y ? a->y : b->y;
            miny = d->y < miny ? d->y : miny, maxy = d->y > maxy ? d->y : maxy;
            long long y0 = (miny - RP_SUBPIX / 2 + RP_SUBPIX - 1);
            y0 = y0 < 0 ? 0 : y0 / RP_SUBPIX;
            long long y1 = (maxy - RP_SUBPIX / 2);
            if (y1 < 0)
                continue;
            y1 /= RP_SUBPIX;
            if (y1 >= c.sh)
                y1 = c.sh - 1;
            if (y0 > y1)
                continue;
            for (long long bnd = y0 / BAND; bnd <= y1 / BAND; bnd++) {
                if (pass == 0)
                    c.band_start[bnd]++;
                else
                    c.band_tris[c.band_start[bnd] + fill[bnd]++] = t;
            }
        }
        free(fill);
    }

    rp_scene S;
    memset(&S, 0, sizeof S);
    S.idx = m->idx;
    S.sv = c.sv;
    S.vn = c.cn ? NULL : c.vn;
    S.cn = c.cn;
    S.uv = m->uv;
    S.col = m->col;
    if (m->uv && m->texture.w > 0 && m->texture.h > 0 && m->texture.rgba) {
        S.tex = m->texture.rgba;
        S.tex_w = m->texture.w;
        S.tex_h = m->texture.h;
    }
    S.sw = c.sw;
    S.ss = c.ss;
    S.width = o->width;
    memcpy(S.background, o->background, 4);

    /* 2 and 3: on the GPU when asked, else (or after a CUDA out-of-memory) here */
    backend_kind ran = BACKEND_CPU;
    int fell_back = 0;
    uint64_t peak = 0;
    /* "auto" draws here: the CUDA rasteriser measured no faster than these
     * passes (117 against 121 frames a second, 50k triangles at 512x512 on an
     * H200 machine); only "cuda" asks for it */
    if (o->backend && o->backend->kind == BACKEND_CUDA && !o->backend->automatic) {
        orf_err ce;
        orf_err_clear(&ce);
        if (cuda_passes(&c, &S, out, &peak, &ce) == 0) {
            ran = BACKEND_CUDA;
        } else if (strcmp(ce.code, "cuda_oom") == 0) {
            fell_back = 1;
        } else {
            if (e)
                *e = ce;
            goto fail;
        }
    }
    if (ran == BACKEND_CPU && cpu_passes(&c, &S, threads, out, e) < 0)
        goto fail;
    if (o->facts) {
        snprintf(o->facts->backend, sizeof o->facts->backend, "%s", backend_name(ran));
        snprintf(o->facts->fallback, sizeof o->facts->fallback, "%s", fell_back ? "cuda_oom" : "");
        o->facts->device_peak_bytes = peak;
        o->facts->ms = units_now_ms() - t0;
    }

    free(c.keys), free(c.sv), free(c.vn), free(c.cn), free(c.band_start), free(c.band_tris);
    return 0;
fail:
    free(c.keys), free(c.sv), free(c.vn), free(c.cn), free(c.band_start), free(c.band_tris);
    image_free(out);
    return -1;
}

int render_sheet(const orf_mesh *m, const render_opts *o, const render_view *views, int nviews,
                 int cols, orf_image *out, orf_err *e)
{
    double t0 = units_now_ms();
    memset(out, 0, sizeof *out);
    if (o->facts)
        memset(o->facts, 0, sizeof *o->facts);
    if (check_opts(o, e) < 0)
        return -1;
    if (nviews < 1 || cols < 1)
        return orf_fail(e, "bad_request", "a contact sheet needs at least one view and one column");
    if (cols > nviews)
        cols = nviews;
    int rows = (nviews + cols - 1) / cols;
    if ((long long)cols * o->width > 4LL * RENDER_MAX_SIDE || (long long)rows * o->height > 4LL * RENDER_MAX_SIDE)
        return orf_fail(e, "bad_request", "a sheet of %d x %d pictures of %d x %d pixels is too large",
                        cols, rows, o->width, o->height);
    if (image_alloc(out, cols * o->width, rows * o->height, e) < 0)
        return -1;
    for (size_t i = 0; i < (size_t)out->w * (size_t)out->h; i++)
        memcpy(out->rgba + 4 * i, o->background, 4);
    for (int v = 0; v < nviews; v++) {
        render_opts cell = *o;
        cell.view = views[v];
        backend_facts cf;
        cell.facts = &cf;
        orf_image pic;
        if (render_mesh(m, &cell, &pic, e) < 0) {
            image_free(out);
            return -1;
        }
        if (o->facts) { /* "cuda" only when every view ran there; any fallback is said */
            if (v == 0 || strcmp(cf.backend, "cpu") == 0)
                memcpy(o->facts->backend, cf.backend, sizeof cf.backend);
            if (cf.fallback[0])
                memcpy(o->facts->fallback, cf.fallback, sizeof cf.fallback);
            if (cf.device_peak_bytes > o->facts->device_peak_bytes)
                o->facts->device_peak_bytes = cf.device_peak_bytes;
        }
        int ox = (v % cols) * o->width, oy = (v / cols) * o->height;
        for (int y = 0; y < pic.h; y++)
            memcpy(out->rgba + 4 * ((size_t)(oy + y) * (size_t)out->w + (size_t)ox),
                   pic.rgba + 4 * (size_t)y * (size_t)pic.w, 4 * (size_t)pic.w);
        image_free(&pic);
    }
    if (o->facts)
        o->facts->ms = units_now_ms() - t0;
    return 0;
}
