/* render-fps - time the software rasteriser (scripts/bench/mesh-render.sh).
 *
 *   render-fps [TRIANGLES [WxH [FRAMES [SAMPLES [BACKEND]]]]]
 *
 * Builds a bumpy UV sphere of about TRIANGLES triangles (default 50000) with
 * vertex colours, renders FRAMES turntable frames (default 40) at WxH
 * (default 512x512, perspective, three-quarter, SAMPLES per axis, default 3)
 * on BACKEND (cpu, the default; cuda; auto: lib/backend.h) and prints one
 * line: "triangles N size WxH samples S frames F seconds T fps R backend B"
 * (B what drew the last frame, "cpu+cuda_oom" after a fallback). Exit 69
 * when the backend is unavailable.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "mesh.h"
#include "render.h"
#include "units.h"

int main(int argc, char **argv)
{
    long want = argc > 1 ? atol(argv[1]) : 50000;
    render_opts o;
    render_opts_init(&o);
    orf_err e;
    if (argc > 2 && render_parse_size(argv[2], &o.width, &o.height, &e) < 0) {
        fprintf(stderr, "render-fps: %s\n", e.message);
        return 64;
    }
    int frames = argc > 3 ? atoi(argv[3]) : 40;
    if (argc > 4)
        o.samples = atoi(argv[4]);
    if (want < 8 || want > 50000000 || frames < 1) {
        fprintf(stderr, "usage: render-fps [TRIANGLES [WxH [FRAMES [SAMPLES [BACKEND]]]]]\n");
        return 64;
    }
    orf_backend be;
    if (backend_choose(argc > 5 ? argv[5] : "cpu", &be, &e) < 0) {
        fprintf(stderr, "render-fps: %s\n", e.message);
        return strcmp(e.code, "unavailable") == 0 ? 69 : 64;
    }
    backend_facts facts;
    memset(&facts, 0, sizeof facts);
    o.backend = &be;
    o.facts = &facts;
    /* nu x nv grid, 2 nu nv triangles, nu = 2 nv */
    int nv = (int)ceil(sqrt((double)want / 4.0)), nu = 2 * nv;
    orf_mesh m;
    if (mesh_alloc(&m, (uint32_t)((nu + 1) * (nv + 1)), (uint32_t)(2 * nu * nv), MESH_COLORS, &e) < 0) {
        fprintf(stderr, "render-fps: %s\n", e.message);
        return 1;
    }
    uint32_t k = 0;
    for (int j = 0; j <= nv; j++)
        for (int i = 0; i <= nu; i++, k++) {
            double th = M_PI * j / nv, ph = 2 * M_PI * i / nu;
            double r = 0.5 + 0.04 * sin(7 * th) * cos(5 * ph);
            m.pos[3 * k] = (float)(r * sin(th) * sin(ph));
            m.pos[3 * k + 1] = (float)(r * cos(th));
            m.pos[3 * k + 2] = (float)(r * sin(th) * cos(ph));
            m.col[4 * k] = (uint8_t)(128 + 100 * sin(ph)), m.col[4 * k + 1] = (uint8_t)(128 + 100 * cos(th));
            m.col[4 * k + 2] = 160, m.col[4 * k + 3] = 255;
        }
    k = 0;
    for (int j = 0; j < nv; j++)
        for (int i = 0; i < nu; i++) {
            uint32_t a = (uint32_t)(j * (nu + 1) + i), b = a + 1, d = a + (uint32_t)(nu + 1), f = d + 1;
            m.idx[3 * k] = a, m.idx[3 * k + 1] = d, m.idx[3 * k + 2] = b, k++;
            m.idx[3 * k] = b, m.idx[3 * k + 1] = d, m.idx[3 * k + 2] = f, k++;
        }
    o.view = RENDER_THREE_QUARTER;
    o.orbit_frame = 1;
    double t0 = units_now_ms();
    for (int i = 0; i < frames; i++) {
        orf_image img;
        o.yaw_deg = 360.0f * (float)i / (float)frames;
        if (render_mesh(&m, &o, &img, &e) < 0) {
            fprintf(stderr, "render-fps: %s\n", e.message);
            return 1;
        }
        image_free(&img);
    }
    double s = (units_now_ms() - t0) / 1000.0;
    printf("triangles %u size %dx%d samples %d frames %d seconds %.3f fps %.1f backend %s%s%s\n", m.ntris,
           o.width, o.height, o.samples, frames, s, frames / s, facts.backend, facts.fallback[0] ? "+" : "",
           facts.fallback);
    mesh_free(&m);
    return 0;
}
