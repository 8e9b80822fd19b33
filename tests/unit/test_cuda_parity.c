/* test_cuda_parity.c - every stage on both backends over the test shapes
 * (disc, ring, two islands, a random smooth volume): the same topology
 * (vertex and triangle counts, the same triangles), positions within 1e-4 of
 * the bounding-box diagonal (the kernels are built to give the CPU's floats,
 * so the difference is expected to be 0), fp16 equal to the CPU emulation of
 * fp16 storage and within the bound of lib/hd/half_round.h; the
 * out-of-memory path frees everything and falls back; vertex normals the
 * CPU's floats bit for bit; the field's inflate solve the CPU's heights bit
 * for bit. The renderer: the CUDA
 * picture is the CPU picture byte for byte (texture, vertex colours,
 * computed normals, perspective and ortho, a sheet of a non-square size,
 * transparent and translucent backgrounds, coincident triangles), and its
 * out-of-memory falls back to the same picture. Decimation: the CPU's bytes
 * and report on the shapes' extractions, a bumpy sphere (to a count and to
 * an error bound) and a coloured one (endpoint placement); its
 * out-of-memory falls back to the CPU.
 *
 * Without a device (or in a build without CUDA) every check prints as a TAP
 * skip with the reason; with ORFEAS_REQUIRE_GPU=1 the missing device is a
 * failure instead (scripts/gpu-session sets it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "check.h"
#include "decimate.h"
#include "cuda_shapes.h"
#include "field_internal.h"
#include "mt.h"
#include "normals.h"
#include "render.h"
#include "smooth.h"
#ifdef ORFEAS_CUDA
#include "cuda_backend.h"
#endif

static const char *skip_reason; /* NULL when a device runs the checks */

#define PCHECK(cond, ...)                                                                          \
    do {                                                                                           \
        if (skip_reason)                                                                           \
            SKIP(skip_reason, __VA_ARGS__);                                                        \
        else                                                                                       \
            CHECK(cond, __VA_ARGS__);                                                              \
    } while (0)

static orf_backend gpu = {.kind = BACKEND_CUDA, .precision = DEVICE_PRECISION_FP32};
static orf_backend gpu16 = {.kind = BACKEND_CUDA, .precision = DEVICE_PRECISION_FP16};

static int close_mesh(const orf_mesh *ref, const orf_mesh *m, double *shift)
{
    *shift = -1;
    if (ref->nverts != m->nverts || ref->ntris != m->ntris)
        return 0;
    *shift = mesh_max_shift(ref, m);
    return *shift <= 1e-4 * mesh_diag(ref) && mesh_same_indices(ref, m);
}

static int ran_on_gpu(const backend_facts *f)
{
    return strcmp(f->backend, "cuda") == 0 && f->fallback[0] == 0;
}

/* the mesh stages on volume v (CPU reference given) */
static void parity_volume(const char *name, const orf_volume *v)
{
    orf_mesh ref, m, m16, ref16;
    orf_err e;
    backend_facts f;
    double shift = -1;
    memset(&m, 0, sizeof m);
    memset(&m16, 0, sizeof m16);
    memset(&ref16, 0, sizeof ref16);
    mt_extract(v, &ref, &e);
    int rc = skip_reason ? -1 : backend_mt_extract(&gpu, v, &m, &f, &e);
    PCHECK(rc == 0 && ran_on_gpu(&f) && m.nverts == ref.nverts && m.ntris == ref.ntris,
           "parity mc %s: same counts on cuda (%u vertices, %u triangles)", name, ref.nverts, ref.ntris);
    PCHECK(rc == 0 && close_mesh(&ref, &m, &shift),
           "parity mc %s: same triangles, positions within 1e-4 of the diagonal (max shift %.3g)", name,
           shift);

    /* fp16: the CPU emulation is the reference; then the bound against fp32 */
    orf_volume v16 = *v;
    size_t np = (size_t)v->nx * v->ny * v->nz;
    v16.f = malloc(np * sizeof(float));
    memcpy(v16.f, v->f, np * sizeof(float));
    backend_volume_round_half(&v16);
    mt_extract(&v16, &ref16, &e);
    rc = skip_reason ? -1 : backend_mt_extract(&gpu16, v, &m16, &f, &e);
    PCHECK(rc == 0 && ran_on_gpu(&f) && strcmp(f.precision, "fp16") == 0 && close_mesh(&ref16, &m16, &shift),
           "parity mc fp16 %s: equals the CPU emulation of fp16 storage (max shift %.3g)", name, shift);
    double max_cells = -1, min_s = 0;
    size_t bad = rc == 0 && m16.nverts == ref.nverts ? fp16_bound_violations(v, &ref, &m16, &max_cells, &min_s)
                                                     : 1;
    PCHECK(rc == 0 && m16.ntris == ref.ntris && mesh_same_indices(&ref, &m16) && bad == 0,
           "parity mc fp16 %s: fp32 topology, every vertex within its edge bound (%zu past, max %.3g cells)",
           name, bad, max_cells);

    /* Taubin on the CPU reference mesh */
    orf_mesh s1, s2;
    mt_extract(v, &s1, &e);
    mt_extract(v, &s2, &e);
    mesh_smooth_taubin(&s1, SMOOTH_ITERATIONS, SMOOTH_LAMBDA, SMOOTH_MU, &e);
    rc = skip_reason ? -1 : backend_smooth_taubin(&gpu, &s2, SMOOTH_ITERATIONS, SMOOTH_LAMBDA, SMOOTH_MU, &f, &e);
    PCHECK(rc == 0 && ran_on_gpu(&f) && close_mesh(&s1, &s2, &shift),
           "parity taubin %s: positions within 1e-4 of the diagonal (max shift %.3g)", name, shift);
    /* normals of the smoothed CPU mesh, both ways: the same bits */
    memcpy(s2.pos, s1.pos, (size_t)s1.nverts * 3 * sizeof(float));
    mesh_compute_normals(&s1, &e);
    rc = skip_reason ? -1 : backend_compute_normals(&gpu, &s2, &f, &e);
    long ndiff = -1;
    if (rc == 0 && s2.nrm && s1.nrm && s2.nverts == s1.nverts) {
        ndiff = 0;
        for (size_t i = 0; i < 3 * (size_t)s1.nverts; i++)
            ndiff += memcmp(&s1.nrm[i], &s2.nrm[i], sizeof(float)) != 0;
    }
    PCHECK(rc == 0 && ran_on_gpu(&f) && ndiff == 0, "parity normals %s: the CPU's floats bit for bit (%ld differ)",
           name, ndiff);
    mesh_free(&s1);
    mesh_free(&s2);
    mesh_free(&ref);
    mesh_free(&ref16);
    mesh_free(&m);
    mesh_free(&m16);
    volume_free(&v16);
}

static void parity_field(const char *name, const orf_field *fld, int n)
{
    orf_volume v, w;
    orf_err e;
    backend_facts f;
    memset(&w, 0, sizeof w);
    if (volume_sample(fld, n, &v, &e) != 0) {
        CHECK(0, "CPU volume of the %s: %s", name, e.message);
        return;
    }
    int rc = skip_reason ? -1 : backend_volume_sample(&gpu, fld, n, &w, &f, &e);
    size_t np = (size_t)v.nx * v.ny * v.nz, differ = 0;
    float worst = 0;
    if (rc == 0 && w.nx == v.nx && w.ny == v.ny && w.nz == v.nz)
        for (size_t i = 0; i < np; i++)
            if (w.f[i] != v.f[i]) {
                differ++;
                if (fabsf(w.f[i] - v.f[i]) > worst)
                    worst = fabsf(w.f[i] - v.f[i]);
            }
    PCHECK(rc == 0 && ran_on_gpu(&f) && w.nx == v.nx && w.ny == v.ny && w.nz == v.nz && w.x0 == v.x0 &&
               w.z0 == v.z0 && worst <= 1e-6f,
           "parity volume %s: same grid, values within 1e-6 (%zu of %zu differ, worst %.3g)", name, differ,
           np, (double)worst);
    volume_free(&w);
    orf_mesh ref, m;
    double shift = -1;
    mt_extract(&v, &ref, &e);
    memset(&m, 0, sizeof m);
    rc = skip_reason ? -1 : backend_extract(&gpu, fld, n, &m, &f, &e);
    PCHECK(rc == 0 && ran_on_gpu(&f) && close_mesh(&ref, &m, &shift),
           "parity extract %s: sample + mc on the device gives the CPU mesh (max shift %.3g)", name, shift);
    mesh_free(&m);
    mesh_free(&ref);
    parity_volume(name, &v);
    volume_free(&v);
}

static void parity_oom(const orf_field *fld)
{
    orf_mesh ref, m;
    orf_err e;
    backend_facts f;
    memset(&m, 0, sizeof m);
    memset(&ref, 0, sizeof ref);
    int rc = -1;
    unsigned long long live = 1;
    if (!skip_reason) {
        orf_backend cpu = {.kind = BACKEND_CPU};
        backend_extract(&cpu, fld, 64, &ref, NULL, &e);
#ifdef ORFEAS_CUDA
        cuda_test_set_alloc_limit(1u << 20); /* the volume alone needs more */
        rc = backend_extract(&gpu, fld, 64, &m, &f, &e);
        cuda_test_set_alloc_limit(0);
        live = (unsigned long long)cuda_live_bytes();
#endif
    }
    double shift = -1;
    PCHECK(rc == 0 && strcmp(f.backend, "cpu") == 0 && strcmp(f.fallback, "cuda_oom") == 0 &&
               close_mesh(&ref, &m, &shift),
           "parity oom: a real device allocation failure falls back to the CPU (backend cpu, fallback cuda_oom)");
    PCHECK(live == 0, "parity oom: the failed job freed all its device memory (%llu bytes held)", live);
    mesh_free(&m);
    mesh_free(&ref);
}

/* ---- the renderer -------------------------------------------------------------- */

/* A bumpy UV sphere of radius ~0.45 (nu x nv quads) with the attributes asked
 * for (MESH_NORMALS, MESH_UVS, MESH_COLORS) and, with UVs, a 64 x 48
 * checker-and-gradient texture. */
static int make_sphere(orf_mesh *m, int nu, int nv, int attrs)
{
    orf_err e;
    if (mesh_alloc(m, (uint32_t)((nu + 1) * (nv + 1)), (uint32_t)(2 * nu * nv), attrs, &e) < 0)
        return -1;
    uint32_t k = 0;
    for (int j = 0; j <= nv; j++)
        for (int i = 0; i <= nu; i++, k++) {
            double th = M_PI * j / nv, ph = 2 * M_PI * i / nu;
            double r = 0.45 + 0.03 * sin(5 * th) * cos(3 * ph);
            float n[3] = {(float)(sin(th) * sin(ph)), (float)cos(th), (float)(sin(th) * cos(ph))};
            for (int a = 0; a < 3; a++)
                m->pos[3 * k + a] = (float)r * n[a];
            if (m->nrm)
                memcpy(m->nrm + 3 * k, n, sizeof n);
            if (m->uv) {
                m->uv[2 * k] = m->pos[3 * k] + 0.5f;
                m->uv[2 * k + 1] = 0.5f - m->pos[3 * k + 1];
            }
            if (m->col) {
                uint8_t *c = m->col + 4 * k;
                c[0] = (uint8_t)(128 + 120 * sin(ph)), c[1] = (uint8_t)(128 + 120 * cos(th)), c[2] = 90, c[3] = 255;
            }
        }
    k = 0;
    for (int j = 0; j < nv; j++)
        for (int i = 0; i < nu; i++) {
            uint32_t a = (uint32_t)(j * (nu + 1) + i), b = a + 1, d = a + (uint32_t)(nu + 1), f = d + 1;
            m->idx[3 * k] = a, m->idx[3 * k + 1] = d, m->idx[3 * k + 2] = b, k++;
            m->idx[3 * k] = b, m->idx[3 * k + 1] = d, m->idx[3 * k + 2] = f, k++;
        }
    if (m->uv) {
        if (image_alloc(&m->texture, 64, 48, &e) < 0)
            return -1;
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 64; x++) {
                uint8_t *p = m->texture.rgba + 4 * (y * 64 + x);
                int on = ((x / 8) + (y / 8)) & 1;
                p[0] = (uint8_t)(on ? 230 : 4 * x), p[1] = (uint8_t)(5 * y), p[2] = (uint8_t)(on ? 40 : 200), p[3] = 255;
            }
    }
    return 0;
}

/* Two unit quads in the plane z = 0, the second over the first with other
 * colours (coincident triangles: the lower index must win on both
 * backends), and a third quad tilted through them. */
static int make_coincident(orf_mesh *m)
{
    orf_err e;
    if (mesh_alloc(m, 12, 6, MESH_COLORS, &e) < 0)
        return -1;
    static const float quad[4][3] = {{-0.5f, -0.5f, 0}, {0.5f, -0.5f, 0}, {0.5f, 0.5f, 0}, {-0.5f, 0.5f, 0}};
    static const uint8_t cols[3][4] = {{220, 30, 30, 255}, {30, 30, 220, 255}, {30, 200, 30, 255}};
    for (int q = 0; q < 3; q++)
        for (int v = 0; v < 4; v++) {
            float *p = m->pos + 3 * (4 * q + v);
            memcpy(p, quad[v], sizeof quad[v]);
            if (q == 2) { /* tilted about y, through the others */
                p[2] = 0.4f * p[0];
                p[0] *= 0.8f;
                p[1] *= 0.6f;
            }
            memcpy(m->col + 4 * (4 * q + v), cols[q], 4);
        }
    for (uint32_t q = 0; q < 3; q++) {
        uint32_t b = 4 * q, tri[6] = {b, b + 1, b + 2, b, b + 2, b + 3};
        memcpy(m->idx + 6 * q, tri, sizeof tri);
    }
    return 0;
}

/* Pixels of a and b that differ, and the largest channel difference. */
static size_t image_diff(const orf_image *a, const orf_image *b, int *worst)
{
    *worst = -1;
    if (!a->rgba || !b->rgba || a->w != b->w || a->h != b->h)
        return (size_t)-1;
    size_t n = 0;
    *worst = 0;
    for (size_t i = 0; i < (size_t)a->w * (size_t)a->h; i++) {
        int d = 0;
        for (int c = 0; c < 4; c++) {
            int x = abs((int)a->rgba[4 * i + c] - (int)b->rgba[4 * i + c]);
            d = x > d ? x : d;
        }
        n += d > 0;
        *worst = d > *worst ? d : *worst;
    }
    return n;
}

/* Render m with o on the CPU and on the GPU (a sheet of `nviews` when > 0):
 * the same bytes. */
static void parity_render(const char *name, const orf_mesh *m, const render_opts *o, int nviews)
{
    static const render_view views[6] = {RENDER_FRONT, RENDER_RIGHT, RENDER_BACK,
                                         RENDER_LEFT,  RENDER_TOP,   RENDER_THREE_QUARTER};
    orf_image ref, pic;
    orf_err e;
    backend_facts f;
    memset(&ref, 0, sizeof ref);
    memset(&pic, 0, sizeof pic);
    memset(&f, 0, sizeof f);
    render_opts oc = *o, og = *o;
    oc.backend = NULL;
    og.backend = &gpu;
    og.facts = &f;
    int rc = nviews > 0 ? render_sheet(m, &oc, views, nviews, 3, &ref, &e) : render_mesh(m, &oc, &ref, &e);
    CHECK(rc == 0, "render %s on the CPU%s%s", name, rc ? ": " : "", rc ? e.message : "");
    rc = -1;
    if (!skip_reason)
        rc = nviews > 0 ? render_sheet(m, &og, views, nviews, 3, &pic, &e) : render_mesh(m, &og, &pic, &e);
    int worst = -1;
    size_t differ = rc == 0 ? image_diff(&ref, &pic, &worst) : (size_t)-1;
    PCHECK(rc == 0 && ran_on_gpu(&f) && differ == 0,
           "parity render %s: the CUDA picture is the CPU's byte for byte (%d x %d, %zd pixels differ, by up to %d)",
           name, ref.w, ref.h, (ssize_t)differ, worst);
    image_free(&ref);
    image_free(&pic);
}

static void parity_render_all(const orf_field *disc)
{
    orf_mesh tex, col, plain, gen, coin;
    orf_err e;
    memset(&gen, 0, sizeof gen);
    int ok = make_sphere(&tex, 96, 48, MESH_NORMALS | MESH_UVS) == 0 &&
             make_sphere(&col, 80, 40, MESH_NORMALS | MESH_COLORS) == 0 &&
             make_sphere(&plain, 40, 20, MESH_UVS | MESH_COLORS) == 0 && make_coincident(&coin) == 0;
    orf_backend cpu = {.kind = BACKEND_CPU};
    ok = ok && backend_extract(&cpu, disc, 64, &gen, NULL, &e) == 0; /* no normals: corner normals */
    CHECK(ok, "render parity meshes made");
    if (!ok)
        return;
    render_opts o;
    render_opts_init(&o);
    o.view = RENDER_FRONT, o.ortho = 1, o.frame = RENDER_FRAME_UNIT;
    parity_render("textured sphere, front ortho, unit frame, transparent", &tex, &o, 0);
    render_opts_init(&o);
    o.view = RENDER_THREE_QUARTER;
    memcpy(o.background, (uint8_t[4]){255, 255, 255, 255}, 4);
    parity_render("coloured sphere, three-quarter perspective, white", &col, &o, 0);
    render_opts_init(&o);
    o.width = 173, o.height = 96, o.samples = 2;
    memcpy(o.background, (uint8_t[4]){40, 90, 160, 128}, 4);
    parity_render("texture times colours, computed normals: sheet of 6 at 173 x 96, 2x2, translucent", &plain, &o, 6);
    render_opts_init(&o);
    o.width = 320, o.height = 200, o.samples = 4, o.view = RENDER_LEFT, o.yaw_deg = 33.0f;
    parity_render("mesh-gen disc (no normals), left + 33 degrees, 320 x 200, 4x4", &gen, &o, 0);
    render_opts_init(&o);
    o.width = 257, o.height = 255, o.samples = 1, o.view = RENDER_TOP;
    parity_render("mesh-gen disc, top, 257 x 255, no supersampling", &gen, &o, 0);
    render_opts_init(&o);
    o.ortho = 1, o.width = 200, o.height = 160;
    parity_render("coincident and crossing quads, front ortho", &coin, &o, 0);
    o.ortho = 0, o.view = RENDER_BACK;
    parity_render("coincident and crossing quads, back perspective", &coin, &o, 0);

    /* the tie rule on the CPU (the reference): coincident triangles show the lower index */
    render_opts_init(&o);
    o.ortho = 1, o.frame = RENDER_FRAME_UNIT, o.width = o.height = 64;
    memcpy(o.background, (uint8_t[4]){0, 0, 0, 255}, 4);
    orf_image pic;
    int rc = render_mesh(&coin, &o, &pic, &e);
    const uint8_t *p = rc == 0 ? pic.rgba + 4 * (8 * 64 + 4) : NULL; /* left of the tilted quad */
    CHECK(rc == 0 && p[0] > 2 * p[2] && p[0] > 2 * p[1],
          "render: of two coincident triangles the lower index shows (red over blue: %d %d %d)", p ? p[0] : -1,
          p ? p[1] : -1, p ? p[2] : -1);
    if (rc == 0)
        image_free(&pic);

    /* out of memory on the device: the CPU draws the same picture */
    orf_image ref, got;
    memset(&got, 0, sizeof got);
    render_opts_init(&o);
    o.view = RENDER_THREE_QUARTER;
    render_mesh(&tex, &o, &ref, &e);
    backend_facts f;
    memset(&f, 0, sizeof f);
    rc = -1;
    unsigned long long live = 1;
#ifdef ORFEAS_CUDA
    if (!skip_reason) {
        o.backend = &gpu;
        o.facts = &f;
        cuda_test_set_alloc_limit(1u << 20); /* the sample keys alone need 18 MiB */
        rc = render_mesh(&tex, &o, &got, &e);
        cuda_test_set_alloc_limit(0);
        live = (unsigned long long)cuda_live_bytes();
    }
#endif
    int worst = -1;
    size_t differ = rc == 0 ? image_diff(&ref, &got, &worst) : (size_t)-1;
    PCHECK(rc == 0 && strcmp(f.backend, "cpu") == 0 && strcmp(f.fallback, "cuda_oom") == 0 && differ == 0,
           "parity render oom: a device allocation failure falls back to the CPU's picture (backend %s, fallback %s)",
           f.backend, f.fallback);
    PCHECK(live == 0, "parity render oom: the failed job freed all its device memory (%llu bytes held)", live);
    image_free(&ref);
    image_free(&got);
    mesh_free(&tex);
    mesh_free(&col);
    mesh_free(&plain);
    mesh_free(&gen);
    mesh_free(&coin);
}

/* ---- decimation ---------------------------------------------------------------- */

static int copy_mesh(const orf_mesh *src, orf_mesh *dst)
{
    orf_err e;
    int attrs = (src->nrm ? MESH_NORMALS : 0) | (src->uv ? MESH_UVS : 0) | (src->col ? MESH_COLORS : 0);
    if (mesh_alloc(dst, src->nverts, src->ntris, attrs, &e) < 0)
        return -1;
    memcpy(dst->pos, src->pos, (size_t)src->nverts * 12);
    memcpy(dst->idx, src->idx, (size_t)src->ntris * 12);
    if (src->nrm)
        memcpy(dst->nrm, src->nrm, (size_t)src->nverts * 12);
    if (src->uv)
        memcpy(dst->uv, src->uv, (size_t)src->nverts * 8);
    if (src->col)
        memcpy(dst->col, src->col, (size_t)src->nverts * 4);
    return 0;
}

/* backend_decimate on the GPU against mesh_decimate: the same bytes
 * (triangles, positions, attributes) and the same report. */
static void parity_decimate(const char *name, const orf_mesh *src, uint32_t target, float max_error)
{
    orf_mesh ref, m;
    orf_err e;
    backend_facts f;
    decimate_opts o;
    decimate_report rr, rg;
    memset(&rg, 0, sizeof rg);
    decimate_defaults(&o);
    o.max_triangles = target;
    o.max_error = max_error;
    copy_mesh(src, &ref);
    copy_mesh(src, &m);
    int rc0 = mesh_decimate(&ref, &o, &rr, &e);
    int rc = skip_reason ? -1 : backend_decimate(&gpu, &m, &o, &rg, &f, &e);
    int same = rc == 0 && rc0 == 0 && ran_on_gpu(&f) && m.nverts == ref.nverts && m.ntris == ref.ntris &&
               memcmp(m.idx, ref.idx, (size_t)m.ntris * 12) == 0 && memcmp(m.pos, ref.pos, (size_t)m.nverts * 12) == 0 &&
               (!ref.col || memcmp(m.col, ref.col, (size_t)m.nverts * 4) == 0);
    PCHECK(same, "parity decimate %s: %u -> %u triangles, the CPU's bytes on cuda", name, src->ntris, ref.ntris);
    PCHECK(rc == 0 && rg.error == rr.error && rg.rounds == rr.rounds && rg.edges_priced == rr.edges_priced &&
               rg.edges_tested == rr.edges_tested && rg.target_met == rr.target_met,
           "parity decimate %s: the same report (error %.6g, %u rounds, %llu priced, %llu tested)", name,
           (double)rr.error, rr.rounds, (unsigned long long)rr.edges_priced, (unsigned long long)rr.edges_tested);
    mesh_free(&m);
    mesh_free(&ref);
}

static void parity_decimate_all(const orf_field *fld, int nfld)
{
    orf_backend cpu = {.kind = BACKEND_CPU};
    orf_err e;
    for (int s = 0; s < nfld; s++) {
        orf_mesh x;
        memset(&x, 0, sizeof x);
        if (backend_extract(&cpu, &fld[s], 160, &x, NULL, &e) == 0 && x.ntris > 1000) {
            char name[64];
            snprintf(name, sizeof name, "%s at 160", shape_names[s]);
            parity_decimate(name, &x, x.ntris / 8, 0);
        }
        mesh_free(&x);
    }
    orf_mesh sph, col;
    memset(&sph, 0, sizeof sph);
    memset(&col, 0, sizeof col);
    make_sphere(&sph, 240, 120, 0);
    parity_decimate("bumpy sphere to 3000", &sph, 3000, 0);
    parity_decimate("bumpy sphere to an error of 0.002", &sph, 0, 0.002f);
    make_sphere(&col, 160, 80, MESH_COLORS);
    parity_decimate("coloured sphere (endpoint placement) to 2000", &col, 2000, 0);

    /* out of memory: the CPU redoes it */
    orf_mesh ref, m;
    decimate_opts o;
    backend_facts f;
    decimate_defaults(&o);
    o.max_triangles = 3000;
    copy_mesh(&sph, &ref);
    copy_mesh(&sph, &m);
    mesh_decimate(&ref, &o, NULL, &e);
    int rc = -1;
    unsigned long long live = 1;
    if (!skip_reason) {
#ifdef ORFEAS_CUDA
        cuda_test_set_alloc_limit(1u << 16);
        rc = backend_decimate(&gpu, &m, &o, NULL, &f, &e);
        cuda_test_set_alloc_limit(0);
        live = (unsigned long long)cuda_live_bytes();
#endif
    }
    PCHECK(rc == 0 && strcmp(f.backend, "cpu") == 0 && strcmp(f.fallback, "cuda_oom") == 0 &&
               m.ntris == ref.ntris && memcmp(m.idx, ref.idx, (size_t)m.ntris * 12) == 0,
           "parity decimate oom: the CPU redoes it (backend cpu, fallback cuda_oom, the same mesh)");
    PCHECK(live == 0, "parity decimate oom: the failed job freed all its device memory (%llu bytes held)", live);
    mesh_free(&ref);
    mesh_free(&m);
    mesh_free(&sph);
    mesh_free(&col);
}

/* The inflate solve on the device: the CPU's heights bit for bit, and its
 * cycles and residual, on a soft-edged disc with a hole (a field's
 * coverage), at an odd size and at the working grid's 320. */
static void parity_field_solve(void)
{
    int sizes[2][2] = {{97, 64}, {320, 256}};
    for (int k = 0; k < 2; k++) {
        int w = sizes[k][0], h = sizes[k][1];
        float *cov = malloc((size_t)w * h * sizeof *cov), *ref = malloc((size_t)w * h * sizeof *ref),
              *got = calloc((size_t)w * h, sizeof *got);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double dx = (x + 0.5) / w - 0.5, dy = (y + 0.5) / h - 0.5, r = sqrt(dx * dx + dy * dy);
                double c = r < 0.1 ? 0.5 + (r - 0.1) * 0.6 * w : 0.5 + (0.4 - r) * 0.6 * h;
                cov[(size_t)y * w + x] = (float)(c < 0 ? 0 : c > 1 ? 1 : c);
            }
        int c0 = -1, c1 = -2;
        double r0 = -1, r1 = -2;
        orf_err e;
        backend_facts f;
        field_inflate_solve(cov, w, h, 2e-3, ref, &c0, &r0, NULL);
        int rc = skip_reason ? -1 : backend_field_solve(&gpu, cov, w, h, 2e-3, got, &c1, &r1, &f, &e);
        PCHECK(rc == 0 && ran_on_gpu(&f) && c0 == c1 && r0 == r1 &&
                   memcmp(ref, got, (size_t)w * h * sizeof *ref) == 0,
               "parity field solve %dx%d: the CPU's heights bit for bit, %d cycles, residual %.3g", w, h, c0, r0);
        free(cov);
        free(ref);
        free(got);
    }
}

int main(void)
{
    if (!device_cuda_built())
        skip_reason = "built without CUDA";
    else if (device_cuda_count() <= 0)
        skip_reason = "no CUDA device";
    const char *req = getenv("ORFEAS_REQUIRE_GPU");
    if (req && strcmp(req, "1") == 0)
        CHECK(!skip_reason, "a CUDA device is present (ORFEAS_REQUIRE_GPU=1)%s%s", skip_reason ? ": " : "",
              skip_reason ? skip_reason : "");
    orf_field fld[SHAPE_FIELDS];
    for (int s = 0; s < SHAPE_FIELDS; s++) {
        CHECK(shape_field(s, &fld[s]) == 0, "field of the %s", shape_names[s]);
        parity_field(shape_names[s], &fld[s], 64);
    }
    parity_field("disc at 200", &fld[0], 200);
    parity_field_solve();
    orf_volume r;
    shape_random_volume(&r, 72, 777);
    parity_volume(shape_names[SHAPE_FIELDS], &r);
    volume_free(&r);
    parity_oom(&fld[0]);
    parity_render_all(&fld[0]);
    parity_decimate_all(fld, SHAPE_FIELDS);
    for (int s = 0; s < SHAPE_FIELDS; s++)
        field_free(&fld[s]);
    return check_done();
}
