/* refine: the stages from a field and from a mesh, through the library calls. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gen.h"
#include "gen_shapes.h"
#include "refine.h"
#include "testmesh.h"
#include "texture.h"
#include "topology.h"

int main(void)
{
    orf_err e;
    orf_image img = {0};
    double disc[3] = {96, 72, 50};
    draw_shape(&img, 192, 144, sh_disc, disc, 1);
    gen_params gp;
    gen_params_default(&gp);
    orf_field fld;
    CHECK(gen_field(&img, "disc", &gp, &fld, NULL, &e) == 0, "a disc's field");

    refine_params p;
    refine_params_default(&p);
    p.max_triangles = 4000;
    orf_mesh m;
    refine_facts f;
    CHECK(refine_from_field(&fld, REFINE_REFINED, &p, NULL, &m, &f, &e) == 0, "refined stage runs");
    CHECK(f.resolution == 192 && f.smooth == 10 && !f.decimated && !f.textured,
          "refined: grid 192, smoothed, not decimated, not textured");
    CHECK(f.stats.watertight && m.nrm != NULL, "refined mesh is watertight with normals");
    uint32_t refined_tris = m.ntris;
    mesh_free(&m);

    CHECK(refine_from_field(&fld, REFINE_FINAL, &p, &img, &m, &f, &e) == 0, "final stage runs");
    CHECK(f.resolution == 256 && f.decimated && m.ntris <= 4000 && f.decimation.target_met,
          "final: grid 256, decimated to the budget (%u triangles)", m.ntris);
    CHECK(f.decimation.triangles_before > refined_tris, "final starts finer than refined");
    CHECK(f.textured && m.uv && m.texture.w == 192, "final carries UVs and the image");
    CHECK(f.stats.watertight, "final mesh is watertight");
    /* front projection: a vertex's UV follows its x, y in docs/design.md's frame */
    int uv_ok = 1;
    for (uint32_t i = 0; i < m.nverts; i++) {
        float u = 0.5f + m.pos[3 * i] / (192 / 192.0f), v = 0.5f - m.pos[3 * i + 1] / (144 / 192.0f);
        if (fabsf(u - m.uv[2 * i]) > 1e-4f || fabsf(v - m.uv[2 * i + 1]) > 1e-4f)
            uv_ok = 0;
    }
    CHECK(uv_ok, "UVs from x and y, the back mirrored");
    mesh_free(&m);

    refine_params bad = p;
    bad.resolution = 4;
    CHECK(refine_from_field(&fld, REFINE_FINAL, &bad, NULL, &m, NULL, &e) == -1 &&
              !strcmp(e.code, "bad_request"),
          "resolution 4 is refused: %s", e.message);
    bad = p;
    bad.max_triangles = 0;
    CHECK(refine_params_check(&bad, &e) == -1, "no target at all is refused");
    refine_stage st;
    CHECK(refine_stage_parse("rough", &st, &e) == -1 && refine_stage_parse("final", &st, &e) == 0 &&
              st == REFINE_FINAL && refine_stage_progress(REFINE_REFINED) == 75,
          "stage names and progress");

    /* a mesh: flipped faces and a duplicated triangle are repaired */
    CHECK(icosphere(&m, 3, 0.5f) == 0, "icosphere");
    uint32_t *t = m.idx + 3 * 7, tmp = t[1];
    t[1] = t[2], t[2] = tmp;
    refine_params q;
    refine_params_default(&q);
    q.max_triangles = 300;
    CHECK(refine_from_mesh(&m, REFINE_FINAL, 0, &q, "sphere", &f, &e) == 0, "mesh refine runs");
    CHECK(f.repaired && f.repair.flipped_triangles == 1 && !f.repair.before.watertight,
          "the flipped face is reported (%u)", f.repair.flipped_triangles);
    CHECK(f.stats.watertight && m.ntris <= 300 && m.nrm, "result watertight, in budget, normals");
    mesh_free(&m);

    /* nothing sane: all NaN */
    mesh_alloc(&m, 3, 1, 0, NULL);
    for (int i = 0; i < 9; i++)
        m.pos[i] = NAN;
    m.idx[0] = 0, m.idx[1] = 1, m.idx[2] = 2;
    CHECK(refine_from_mesh(&m, REFINE_FINAL, 0, &q, "nan.stl", &f, &e) == -1 &&
              !strcmp(e.code, "bad_mesh"),
          "an all-NaN mesh is bad_mesh: %s", e.message);
    mesh_free(&m);

    orf_cache *c;
    orf_field g;
    char tmpl[] = "/tmp/refine-test-XXXXXX";
    CHECK(mkdtemp(tmpl) && cache_open(&c, tmpl, -1, &e) == 0, "a cache");
    CHECK(refine_load_field(c, "0000000000000000000000000000000000000000000000000000000000000000",
                            &g, &e) == -1 && !strcmp(e.code, "no_field"),
          "a field not in the cache is no_field");
    cache_close(c);
    field_free(&fld);
    image_free(&img);
    /* The texture's rim: transparent pixels next to the foreground take its
     * colour (alpha kept), so sampling at the rim never sees the background. */
    {
        orf_image rimg = {0};
        orf_mesh tm = {0};
        CHECK(image_alloc(&rimg, 24, 24, &e) == 0, "image for the rim test");
        memset(rimg.rgba, 0, 24 * 24 * 4);
        for (int y = 4; y < 12; y++)
            for (int x = 4; x < 12; x++) {
                uint8_t *px = rimg.rgba + 4 * (y * 24 + x);
                px[0] = 200, px[1] = 40, px[2] = 10, px[3] = 255;
            }
        icosphere(&tm, 1, 0.3f);
        CHECK(texture_project_front(&tm, &rimg, 1.0f, TEXTURE_UVS | TEXTURE_ATTACH, &e) == 0,
              "projected with the texture attached");
        const uint8_t *rim = tm.texture.rgba + 4 * (8 * 24 + 12), *far = tm.texture.rgba + 4 * (23 * 24 + 23);
        CHECK(rim[0] == 200 && rim[1] == 40 && rim[2] == 10 && rim[3] == 0,
              "a background pixel at the rim has the foreground colour (%d %d %d), alpha 0 (%d)",
              rim[0], rim[1], rim[2], rim[3]);
        CHECK(rimg.rgba[4 * (8 * 24 + 12)] == 0, "the caller's image is not changed");
        CHECK(far[0] == 0 && far[3] == 0, "pixels far from the foreground stay as they were");
        mesh_free(&tm);
        image_free(&rimg);
    }
    return check_done();
}
