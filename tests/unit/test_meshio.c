/* test_meshio.c - round trips through every format, hand-made files of every
 * flavour the readers accept, and malformed files they must refuse. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "meshio.h"
#include "topology.h"

static const mesh_format formats[4] = {MESH_FMT_GLB, MESH_FMT_OBJ, MESH_FMT_PLY, MESH_FMT_STL};

static void make_cube(orf_mesh *m)
{
    static const uint32_t tris[36] = {0, 2, 1, 1, 2, 3, 4, 5, 6, 5, 7, 6, 0, 1, 4, 1, 5, 4,
                                      2, 6, 3, 3, 6, 7, 0, 4, 2, 2, 4, 6, 1, 3, 5, 3, 7, 5};
    orf_err e;
    mesh_alloc(m, 8, 12, 0, &e);
    for (uint32_t v = 0; v < 8; v++) {
        m->pos[3 * v] = (float)(v & 1);
        m->pos[3 * v + 1] = (float)((v >> 1) & 1);
        m->pos[3 * v + 2] = (float)((v >> 2) & 1);
    }
    memcpy(m->idx, tris, sizeof tris);
}

/* UV sphere of radius 0.7 centred at (0.1, -0.2, 0.3), with normals, UVs, colours and a texture. */
static void make_sphere(orf_mesh *m, int texture)
{
    const int rows = 12, cols = 24;
    const double pi = 3.14159265358979323846;
    orf_err e;
    mesh_alloc(m, (uint32_t)((rows + 1) * (cols + 1)), (uint32_t)(rows * cols * 2 - 2 * cols),
               MESH_NORMALS | MESH_UVS | MESH_COLORS, &e);
    for (int i = 0; i <= rows; i++)
        for (int j = 0; j <= cols; j++) {
            size_t v = (size_t)i * (cols + 1) + (size_t)j;
            double th = pi * i / rows, ph = 2 * pi * (j % cols) / cols;
            double n[3] = {sin(th) * cos(ph), cos(th), -sin(th) * sin(ph)};
            for (int k = 0; k < 3; k++) {
                m->nrm[3 * v + (size_t)k] = (float)n[k];
                m->pos[3 * v + (size_t)k] = (float)(0.7 * n[k] + (k == 0 ? 0.1 : k == 1 ? -0.2 : 0.3));
                m->col[4 * v + (size_t)k] = (uint8_t)(127.5 + 127 * n[k]);
            }
            m->col[4 * v + 3] = 255;
            m->uv[2 * v] = (float)j / (float)cols;
            m->uv[2 * v + 1] = (float)i / (float)rows;
        }
    uint32_t t = 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            uint32_t a = (uint32_t)(i * (cols + 1) + j), b = a + (uint32_t)cols + 1, c = b + 1, d = a + 1;
            if (i != rows - 1) {
                m->idx[3 * t] = a, m->idx[3 * t + 1] = b, m->idx[3 * t + 2] = c;
                t++;
            }
            if (i != 0) {
                m->idx[3 * t] = a, m->idx[3 * t + 1] = c, m->idx[3 * t + 2] = d;
                t++;
            }
        }
    if (texture) {
        image_alloc(&m->texture, 16, 8, &e);
        for (size_t p = 0; p < 16 * 8 * 4; p++)
            m->texture.rgba[p] = (uint8_t)(p * 37 % 251);
        for (size_t p = 3; p < 16 * 8 * 4; p += 4)
            m->texture.rgba[p] = 255;
    }
}

static int close_enough(float a, float b, double rel)
{
    double scale = fabs(a) > 1 ? fabs(a) : 1;
    return fabs((double)a - b) <= rel * scale;
}

/* Same triangles with the same corner positions (and, when asked, UVs and normals). */
static int same_triangles(const orf_mesh *a, const orf_mesh *b, int uv, int nrm)
{
    if (a->ntris != b->ntris)
        return 0;
    for (size_t c = 0; c < (size_t)a->ntris * 3; c++) {
        uint32_t va = a->idx[c], vb = b->idx[c];
        for (int k = 0; k < 3; k++)
            if (!close_enough(a->pos[3 * va + (size_t)k], b->pos[3 * vb + (size_t)k], 1e-6))
                return 0;
        if (uv)
            for (int k = 0; k < 2; k++)
                if (!b->uv || !close_enough(a->uv[2 * va + (size_t)k], b->uv[2 * vb + (size_t)k], 1e-6))
                    return 0;
        if (nrm)
            for (int k = 0; k < 3; k++)
                if (!b->nrm || !close_enough(a->nrm[3 * va + (size_t)k], b->nrm[3 * vb + (size_t)k], 1e-5))
                    return 0;
    }
    return 1;
}

/* Read `len` bytes as format f; expect failure with `code` and `name` in the message. */
static int refused(const void *data, size_t len, mesh_format f, const char *name, const char *code, uint32_t max_tris)
{
    orf_mesh m = {0};
    orf_err e = {{0}, {0}};
    int rc = meshio_read_mem(data, len, f, name, max_tris, &m, &e);
    int ok = rc == -1 && !strcmp(e.code, code) && strstr(e.message, name) && m.nverts == 0 && !m.pos;
    if (!ok)
        printf("# %s: rc %d code \"%s\" message \"%s\"\n", name, rc, e.code, e.message);
    mesh_free(&m);
    return ok;
}

static int read_ok(const void *data, size_t len, mesh_format f, const char *name, orf_mesh *m)
{
    orf_err e = {{0}, {0}};
    int rc = meshio_read_mem(data, len, f, name, 0, m, &e);
    if (rc)
        printf("# %s: %s: %s\n", name, e.code, e.message);
    return rc == 0;
}

/* A GLB from JSON text and BIN bytes. */
static uint8_t *make_glb(const char *json, const void *bin, size_t bin_n, size_t *n)
{
    size_t jl = strlen(json), jp = (4 - jl % 4) % 4, bp = (4 - bin_n % 4) % 4;
    *n = 12 + 8 + jl + jp + (bin_n ? 8 + bin_n + bp : 0);
    uint8_t *d = calloc(1, *n);
    uint32_t hdr[5] = {0x46546C67u, 2, (uint32_t)*n, (uint32_t)(jl + jp), 0x4E4F534Au};
    memcpy(d, hdr, 20);
    memcpy(d + 20, json, jl);
    memset(d + 20 + jl, ' ', jp);
    if (bin_n) {
        uint32_t bh[2] = {(uint32_t)(bin_n + bp), 0x004E4942u};
        memcpy(d + 20 + jl + jp, bh, 8);
        memcpy(d + 28 + jl + jp, bin, bin_n);
    }
    return d;
}

static void test_round_trips(void)
{
    orf_err e = {{0}, {0}};
    orf_mesh meshes[2] = {{0}, {0}};
    make_sphere(&meshes[0], 1);
    make_cube(&meshes[1]);
    const char *mesh_names[2] = {"sphere", "cube"};
    for (int mi = 0; mi < 2; mi++)
        for (int fi = 0; fi < 4; fi++) {
            const orf_mesh *src = &meshes[mi];
            mesh_format f = formats[fi];
            uint8_t *data = NULL;
            size_t n = 0;
            orf_mesh back = {0};
            char name[64];
            snprintf(name, sizeof name, "%s.%s", mesh_names[mi], meshio_format_ext(f));
            int wrc = meshio_write_mem(src, f, NULL, &data, &n, &e);
            CHECK(wrc == 0 && n > 0, "%s: written (%zu bytes)", name, n);
            /* read with the format unknown: detected from content or the name */
            int rrc = read_ok(data, n, MESH_FMT_UNKNOWN, name, &back);
            CHECK(rrc, "%s: read back", name);
            CHECK(back.ntris == src->ntris, "%s: same triangle count (%u, wrote %u)", name, back.ntris, src->ntris);
            int attrs = f != MESH_FMT_STL && src->uv;
            CHECK(same_triangles(src, &back, attrs, attrs), "%s: same triangles and positions within 1e-6%s", name,
                  attrs ? ", same UVs and normals" : "");
            if (f == MESH_FMT_STL && mi == 0) {
                mesh_stats s;
                CHECK(mesh_topology(&back, &s, &e) == 0 && s.watertight && back.nverts < src->nverts,
                      "%s: STL import is welded (%u vertices) into a watertight sphere", name, back.nverts);
            }
            if (mi == 0 && (f == MESH_FMT_GLB || f == MESH_FMT_PLY))
                CHECK(back.col && !memcmp(back.col, src->col, (size_t)src->nverts * 4), "%s: vertex colours kept", name);
            if (mi == 0 && f == MESH_FMT_GLB)
                CHECK(back.texture.w == 16 && back.texture.h == 8 &&
                          !memcmp(back.texture.rgba, src->texture.rgba, 16 * 8 * 4),
                      "%s: embedded PNG texture read back pixel for pixel", name);
            free(data);
            mesh_free(&back);
        }

    /* files: write_file, read_file, OBJ's side files, nothing else left */
    char dir[] = "/tmp/test_meshio.XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temporary folder");
    for (int fi = 0; fi < 4; fi++) {
        char path[128];
        snprintf(path, sizeof path, "%s/sphere.%s", dir, meshio_format_ext(formats[fi]));
        orf_mesh back = {0};
        int rc = meshio_write_file(&meshes[0], MESH_FMT_UNKNOWN, path, &e);
        CHECK(rc == 0, "write_file %s", path);
        rc = meshio_read_file(path, 0, &back, &e);
        CHECK(rc == 0 && same_triangles(&meshes[0], &back, 0, 0), "read_file %s gives the same triangles", path);
        mesh_free(&back);
    }
    char side[160];
    struct stat st;
    snprintf(side, sizeof side, "%s/sphere.mtl", dir);
    CHECK(stat(side, &st) == 0 && st.st_size > 0, "textured OBJ has its .mtl");
    snprintf(side, sizeof side, "%s/sphere.texture.png", dir);
    CHECK(stat(side, &st) == 0 && st.st_size > 0, "textured OBJ has its .texture.png");
    uint8_t *obj;
    size_t objn;
    snprintf(side, sizeof side, "%s/sphere.obj", dir);
    CHECK(meshio_slurp(side, 0, &obj, &objn, &e) == 0 && strstr((char *)obj, "mtllib sphere.mtl") &&
              strstr((char *)obj, "usemtl"),
          "OBJ names its material library");
    free(obj);
    snprintf(side, sizeof side, "%s/no/such/dir/x.glb", dir);
    CHECK(meshio_write_file(&meshes[0], MESH_FMT_UNKNOWN, side, &e) == -1 && !strcmp(e.code, "io_error") &&
              strstr(e.message, "x.glb"),
          "writing into a missing folder: io_error naming the file");
    snprintf(side, sizeof side, "%s/x.abc", dir);
    CHECK(meshio_write_file(&meshes[0], MESH_FMT_UNKNOWN, side, &e) == -1 && !strcmp(e.code, "bad_format"),
          "writing an unknown extension: bad_format");
    orf_mesh none = {0};
    CHECK(meshio_read_file(side, 0, &none, &e) == -1 && !strcmp(e.code, "io_error") && strstr(e.message, "x.abc"),
          "reading a missing file: io_error naming it");
    int files = 0, temps = 0;
    DIR *dh = opendir(dir);
    struct dirent *de;
    while (dh && (de = readdir(dh))) {
        if (de->d_name[0] == '.')
            continue;
        files++;
        temps += strstr(de->d_name, ".tmp") != NULL;
        char p[400];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (dh)
        closedir(dh);
    rmdir(dir);
    CHECK(files == 6 && temps == 0, "folder holds the 4 meshes, .mtl and .png, no temporary file (%d files)", files);

    /* format names */
    CHECK(meshio_format_from_name("a/b.GLB") == MESH_FMT_GLB && meshio_format_from_name(".ply") == MESH_FMT_PLY &&
              meshio_format_from_name("stl") == MESH_FMT_STL && meshio_format_from_name("x.obj") == MESH_FMT_OBJ &&
              meshio_format_from_name("dir.obj/file") == MESH_FMT_UNKNOWN &&
              meshio_format_from_name("x.png") == MESH_FMT_UNKNOWN,
          "format from names and extensions");
    mesh_free(&meshes[0]);
    mesh_free(&meshes[1]);
}

static void test_malformed(void)
{
    orf_err e = {{0}, {0}};
    orf_mesh src = {0};
    make_sphere(&src, 1);
    for (int fi = 0; fi < 4; fi++) {
        mesh_format f = formats[fi];
        uint8_t *data;
        size_t n;
        char name[64];
        meshio_write_mem(&src, f, NULL, &data, &n, &e);
        snprintf(name, sizeof name, "trunc.%s", meshio_format_ext(f));
        CHECK(refused(data, n / 3, MESH_FMT_UNKNOWN, name, "bad_mesh", 0), "%s: truncated file refused", name);
        CHECK(refused(data, 9, MESH_FMT_UNKNOWN, name, "bad_mesh", 0), "%s: 9-byte file refused", name);
        snprintf(name, sizeof name, "empty.%s", meshio_format_ext(f));
        CHECK(refused(data, 0, MESH_FMT_UNKNOWN, name, "bad_mesh", 0), "%s: empty file refused", name);
        snprintf(name, sizeof name, "limit.%s", meshio_format_ext(f));
        CHECK(refused(data, n, MESH_FMT_UNKNOWN, name, "too_large", 100), "%s: more triangles than max_tris: too_large",
              name);
        free(data);
    }
    mesh_free(&src);
    CHECK(refused("hello", 5, MESH_FMT_UNKNOWN, "what.xyz", "bad_format", 0), "unknown format: bad_format");

    /* OBJ */
    const char *obj_range = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n";
    CHECK(refused(obj_range, strlen(obj_range), MESH_FMT_OBJ, "range.obj", "bad_mesh", 0), "OBJ index out of range");
    const char *obj_neg = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf -1 -2 -4\n";
    CHECK(refused(obj_neg, strlen(obj_neg), MESH_FMT_OBJ, "neg.obj", "bad_mesh", 0), "OBJ negative index before the first");
    {
        /* a GLB whose JSON chunk is empty, a BIN chunk after it: the JSON is named */
        uint8_t g[40] = {'g', 'l', 'T', 'F', 2, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 'J', 'S', 'O', 'N',
                         12, 0, 0, 0, 'B', 'I', 'N', 0};
        orf_mesh gm = {0};
        orf_err ge = {{0}, {0}};
        CHECK(meshio_read_mem(g, sizeof g, MESH_FMT_GLB, "empty-json.glb", 0, &gm, &ge) == -1 &&
                  strstr(ge.message, "JSON chunk is empty") && !strstr(ge.message, "BIN"),
              "a zero-length JSON chunk is named, not the BIN chunk: %s", ge.message);
        mesh_free(&gm);
    }
    const char *obj_zero = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n";
    CHECK(refused(obj_zero, strlen(obj_zero), MESH_FMT_OBJ, "zero.obj", "bad_mesh", 0), "OBJ index 0 refused");
    const char *obj_nan = "v 0 0 0\nv 1 nan 0\nv 0 1 0\nf 1 2 3\n";
    CHECK(refused(obj_nan, strlen(obj_nan), MESH_FMT_OBJ, "nan.obj", "bad_mesh", 0), "OBJ NaN coordinate");
    const char *obj_inf = "v 0 0 0\nv 1 inf 0\nv 0 1 0\nf 1 2 3\n";
    CHECK(refused(obj_inf, strlen(obj_inf), MESH_FMT_OBJ, "inf.obj", "bad_mesh", 0), "OBJ infinite coordinate");
    const char *obj_short = "v 0 0 0\nv 1 0\n";
    CHECK(refused(obj_short, strlen(obj_short), MESH_FMT_OBJ, "short.obj", "bad_mesh", 0), "OBJ vertex with 2 numbers");
    const char *obj_vt = "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2/2 3/1\n";
    CHECK(refused(obj_vt, strlen(obj_vt), MESH_FMT_OBJ, "vt.obj", "bad_mesh", 0), "OBJ texture index out of range");

    /* PLY */
    const char *ply_range = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
                            "element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n";
    CHECK(refused(ply_range, strlen(ply_range), MESH_FMT_UNKNOWN, "range.ply", "bad_mesh", 0), "PLY index out of range");
    const char *ply_nan = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
                          "element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\nnan 0 0\n0 1 0\n3 0 1 2\n";
    CHECK(refused(ply_nan, strlen(ply_nan), MESH_FMT_UNKNOWN, "nan.ply", "bad_mesh", 0), "PLY NaN coordinate");
    const char *ply_count = "ply\nformat binary_little_endian 1.0\nelement vertex 4000000000\nproperty float x\n"
                            "property float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\n"
                            "end_header\n0123456789ab";
    CHECK(refused(ply_count, strlen(ply_count), MESH_FMT_UNKNOWN, "count.ply", "bad_mesh", 0),
          "PLY vertex count larger than the file");
    const char *ply_nohdr = "ply\nformat ascii 1.0\nelement vertex 3\n";
    CHECK(refused(ply_nohdr, strlen(ply_nohdr), MESH_FMT_UNKNOWN, "nohdr.ply", "bad_mesh", 0), "PLY without end_header");

    /* STL */
    uint8_t stl[84 + 50];
    memset(stl, 0, sizeof stl);
    uint32_t big = 1000000;
    memcpy(stl + 80, &big, 4);
    CHECK(refused(stl, sizeof stl, MESH_FMT_STL, "count.stl", "bad_mesh", 0), "binary STL count larger than the file");
    uint32_t one = 1;
    memcpy(stl + 80, &one, 4);
    float nanv = NAN;
    memcpy(stl + 84 + 12, &nanv, 4);
    CHECK(refused(stl, sizeof stl, MESH_FMT_STL, "nan.stl", "bad_mesh", 0), "binary STL NaN coordinate");
    const char *stl_open = "solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\n";
    CHECK(refused(stl_open, strlen(stl_open), MESH_FMT_UNKNOWN, "open.stl", "bad_mesh", 0), "ASCII STL ending inside a facet");
    const char *stl_four = "solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\n"
                           "vertex 1 1 0\nendloop\nendfacet\nendsolid\n";
    CHECK(refused(stl_four, strlen(stl_four), MESH_FMT_UNKNOWN, "four.stl", "bad_mesh", 0), "ASCII STL facet with 4 vertices");

    /* GLB: lying chunk lengths and accessors */
    orf_mesh cube = {0};
    make_cube(&cube);
    uint8_t *glb;
    size_t n;
    meshio_write_mem(&cube, MESH_FMT_GLB, NULL, &glb, &n, &e);
    uint32_t saved, lie;
    memcpy(&saved, glb + 12, 4);
    lie = saved + 4096;
    memcpy(glb + 12, &lie, 4);
    CHECK(refused(glb, n, MESH_FMT_UNKNOWN, "json-lie.glb", "bad_mesh", 0), "GLB JSON chunk length past the end");
    lie = saved - 8;
    memcpy(glb + 12, &lie, 4);
    CHECK(refused(glb, n, MESH_FMT_UNKNOWN, "json-short.glb", "bad_mesh", 0), "GLB JSON chunk length too short");
    memcpy(glb + 12, &saved, 4);
    size_t binhdr = 20 + saved;
    memcpy(&saved, glb + binhdr, 4);
    lie = saved + 4;
    memcpy(glb + binhdr, &lie, 4);
    CHECK(refused(glb, n, MESH_FMT_UNKNOWN, "bin-lie.glb", "bad_mesh", 0), "GLB BIN chunk length past the end");
    memcpy(glb + binhdr, &saved, 4);
    lie = (uint32_t)n + 100;
    memcpy(glb + 8, &lie, 4);
    CHECK(refused(glb, n, MESH_FMT_UNKNOWN, "total-lie.glb", "bad_mesh", 0), "GLB total length past the end");
    free(glb);
    mesh_free(&cube);

    float tri[9] = {0, 0, 0, 1, 0, 0, 0, 1, 0};
    uint8_t bin[48];
    memcpy(bin, tri, 36);
    uint32_t idx[3] = {0, 1, 5};
    memcpy(bin + 36, idx, 12);
    const char *head = "{\"asset\":{\"version\":\"2.0\"},\"buffers\":[{\"byteLength\":48}],"
                       "\"bufferViews\":[{\"buffer\":0,\"byteLength\":36},{\"buffer\":0,\"byteOffset\":36,\"byteLength\":12}],";
    char json[1024];
    snprintf(json, sizeof json, "%s\"accessors\":[{\"bufferView\":0,\"componentType\":5126,\"count\":3,\"type\":\"VEC3\"},"
             "{\"bufferView\":1,\"componentType\":5125,\"count\":3,\"type\":\"SCALAR\"}],"
             "\"meshes\":[{\"primitives\":[{\"attributes\":{\"POSITION\":0},\"indices\":1}]}]}", head);
    glb = make_glb(json, bin, sizeof bin, &n);
    CHECK(refused(glb, n, MESH_FMT_UNKNOWN, "index.glb", "bad_mesh", 0), "GLB index out of range");
    free(glb);
    snprintf(json, sizeof json, "%s\"accessors\":[{\"bufferView\":0,\"componentType\":5126,\"count\":30000,\"type\":\"VEC3\"}],"
             "\"meshes\":[{\"primitives\":[{\"attributes\":{\"POSITION\":0}}]}]}", head);
    glb = make_glb(json, bin, sizeof bin, &n);
    CHECK(refused(glb, n, MESH_FMT_UNKNOWN, "count.glb", "bad_mesh", 0), "GLB accessor count larger than its data");
    free(glb);
    snprintf(json, sizeof json, "{\"asset\":{\"version\":\"2.0\"},\"buffers\":[{\"byteLength\":4800}],"
             "\"bufferViews\":[{\"buffer\":0,\"byteLength\":36}],"
             "\"accessors\":[{\"bufferView\":0,\"componentType\":5126,\"count\":3,\"type\":\"VEC3\"}],"
             "\"meshes\":[{\"primitives\":[{\"attributes\":{\"POSITION\":0}}]}]}");
    glb = make_glb(json, bin, sizeof bin, &n);
    CHECK(refused(glb, n, MESH_FMT_UNKNOWN, "buffer.glb", "bad_mesh", 0), "GLB buffer larger than the BIN chunk");
    free(glb);
    tri[4] = NAN;
    memcpy(bin, tri, 36);
    snprintf(json, sizeof json, "%s\"accessors\":[{\"bufferView\":0,\"componentType\":5126,\"count\":3,\"type\":\"VEC3\"}],"
             "\"meshes\":[{\"primitives\":[{\"attributes\":{\"POSITION\":0}}]}]}", head);
    glb = make_glb(json, bin, sizeof bin, &n);
    CHECK(refused(glb, n, MESH_FMT_UNKNOWN, "nan.glb", "bad_mesh", 0), "GLB NaN coordinate");
    free(glb);
    glb = make_glb("{\"asset\":{\"version\":\"2.0\"},\"meshes\":[{\"primitives\":[{\"attributes\":{\"POSITION\":7}}]}]}",
                   NULL, 0, &n);
    CHECK(refused(glb, n, MESH_FMT_UNKNOWN, "acc.glb", "bad_mesh", 0), "GLB accessor that does not exist");
    free(glb);
    glb = make_glb("[1,2,3]", NULL, 0, &n);
    CHECK(refused(glb, n, MESH_FMT_UNKNOWN, "array.glb", "bad_mesh", 0), "GLB JSON that is not an object");
    free(glb);
    glb = make_glb("{\"asset\":{\"version\":\"2.0\"},\"scene\":0,\"scenes\":[{\"nodes\":[0]}],"
                   "\"nodes\":[{\"children\":[1]},{\"children\":[0]}]}", NULL, 0, &n);
    CHECK(refused(glb, n, MESH_FMT_UNKNOWN, "cycle.glb", "bad_mesh", 0), "GLB node cycle refused");
    free(glb);
}

static void test_flavours(void)
{
    orf_err e = {{0}, {0}};
    orf_mesh m = {0};
    mesh_stats s;

    /* binary STL whose header starts with "solid" */
    orf_mesh cube = {0};
    make_cube(&cube);
    uint8_t *stl;
    size_t n;
    meshio_write_mem(&cube, MESH_FMT_STL, NULL, &stl, &n, &e);
    memcpy(stl, "solid cube", 10);
    CHECK(read_ok(stl, n, MESH_FMT_UNKNOWN, "solid.stl", &m) && m.ntris == 12 && m.nverts == 8,
          "binary STL starting with \"solid\" read as binary, welded to 8 vertices");
    CHECK(same_triangles(&cube, &m, 0, 0), "binary STL with \"solid\": same triangles");
    mesh_free(&m);
    free(stl);

    /* ASCII STL */
    const char *astl = "solid t\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 1 0 0\n   vertex 0 1 0\n"
                       "  endloop\n endfacet\n facet normal 0 0 1\n  outer loop\n   vertex 1 0 0\n   vertex 1 1 0\n"
                       "   vertex 0 1 0\n  endloop\n endfacet\nendsolid t\n";
    CHECK(read_ok(astl, strlen(astl), MESH_FMT_UNKNOWN, "ascii.stl", &m) && m.ntris == 2 && m.nverts == 4,
          "ASCII STL: 2 triangles welded to 4 vertices");
    mesh_free(&m);

    /* OBJ: quads, negative indices, v//vn, comments, unknown statements */
    const char *obj = "# cube of quads\nmtllib nothing.mtl\no cube\n"
                      "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nv 0 0 1\nv 1 0 1\nv 0 1 1\nv 1 1 1\n"
                      "vn 0 0 -1\nvn 0 0 1\ns off\ng sides\n"
                      "f -8//-2 -6//-2 -5//-2 -7//-2\n" /* z=0: 1 3 4 2 */
                      "f 5//2 6//2 8//2 7//2\n"
                      "f 1 2 6 5\nf 3 7 8 4\nf 1 5 7 3\nf 2 4 8 6\nl 1 2\n";
    CHECK(read_ok(obj, strlen(obj), MESH_FMT_OBJ, "quads.obj", &m) && m.ntris == 12,
          "OBJ quads with negative indices: 12 triangles (got %u)", m.ntris);
    CHECK(mesh_topology(&m, &s, &e) == 0 && fabs(s.volume - 1) < 1e-6 && fabs(s.area - 6) < 1e-6,
          "OBJ quad cube: volume 1, area 6 (got %g, %g)", s.volume, s.area);
    CHECK(m.nrm != NULL, "OBJ normals read");
    mesh_free(&m);
    const char *objvt = "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nvn 0 0 1\nf 1/1/1 2/2/1 3/3/1\n";
    CHECK(read_ok(objvt, strlen(objvt), MESH_FMT_OBJ, "vt.obj", &m) && m.uv && m.nrm && m.ntris == 1 &&
              m.uv[2 * m.idx[2] + 1] == 0.0f && m.uv[2 * m.idx[0] + 1] == 1.0f,
          "OBJ v/vt/vn read, v flipped to run downward");
    mesh_free(&m);

    /* ASCII PLY, properties in odd order, colours, a quad */
    const char *aply = "ply\r\nformat ascii 1.0\r\ncomment hand made\r\nelement vertex 4\r\nproperty uchar red\r\n"
                       "property float z\r\nproperty float x\r\nproperty uchar green\r\nproperty float y\r\n"
                       "property uchar blue\r\nproperty float confidence\r\nelement face 1\r\n"
                       "property list uchar int vertex_indices\r\nend_header\r\n"
                       "255 0 0 0 0 0 0.5\n0 0 1 255 0 0 0.5\n0 0 1 0 1 255 0.5\n10 0 0 20 1 30 0.5\n4 0 1 2 3\n";
    CHECK(read_ok(aply, strlen(aply), MESH_FMT_UNKNOWN, "ascii.ply", &m) && m.ntris == 2 && m.nverts == 4,
          "ASCII PLY with a quad: 2 triangles, 4 vertices");
    CHECK(m.pos && m.pos[3] == 1 && m.pos[4] == 0 && m.pos[7] == 1 && m.col && m.col[0] == 255 && m.col[5] == 255 &&
              m.col[10] == 255 && m.col[12] == 10 && m.col[14] == 30,
          "ASCII PLY: x/y/z and colours from any property order");
    mesh_free(&m);

    /* big-endian PLY: double x, short-count list of uint indices, extra element */
    uint8_t be[1024];
    const char *hdr = "ply\nformat binary_big_endian 1.0\nelement vertex 3\nproperty double x\nproperty float y\n"
                      "property int extra\nproperty float z\nelement face 1\nproperty uchar flags\n"
                      "property list ushort uint vertex_indices\nelement edge 1\nproperty int a\nend_header\n";
    size_t at = strlen(hdr);
    memcpy(be, hdr, at);
    double xs[3] = {0.25, 1.5, -2};
    float ys[3] = {0, 1, 3.5f}, zs[3] = {7, 8, 9};
    for (int v = 0; v < 3; v++) {
        uint64_t u;
        memcpy(&u, &xs[v], 8);
        for (int b = 7; b >= 0; b--)
            be[at++] = (uint8_t)(u >> (8 * b));
        uint32_t w;
        memcpy(&w, &ys[v], 4);
        for (int b = 3; b >= 0; b--)
            be[at++] = (uint8_t)(w >> (8 * b));
        for (int b = 3; b >= 0; b--)
            be[at++] = 0xAB;
        memcpy(&w, &zs[v], 4);
        for (int b = 3; b >= 0; b--)
            be[at++] = (uint8_t)(w >> (8 * b));
    }
    be[at++] = 1;                 /* flags */
    be[at++] = 0, be[at++] = 3; /* count 3 */
    for (uint32_t i = 0; i < 3; i++)
        be[at++] = 0, be[at++] = 0, be[at++] = 0, be[at++] = (uint8_t)(2 - i);
    for (int b = 0; b < 4; b++)
        be[at++] = 0;
    CHECK(read_ok(be, at, MESH_FMT_UNKNOWN, "be.ply", &m) && m.ntris == 1 && m.nverts == 3, "big-endian PLY read");
    CHECK(m.pos && m.pos[0] == 0.25f && m.pos[3] == 1.5f && m.pos[6] == -2 && m.pos[7] == 3.5f && m.pos[8] == 9 &&
              m.idx[0] == 2 && m.idx[2] == 0,
          "big-endian PLY: double/float values, ushort list count, skipped properties");
    mesh_free(&m);
    CHECK(refused(be, at - 3, MESH_FMT_UNKNOWN, "be-trunc.ply", "bad_mesh", 0), "big-endian PLY truncated");

    /* GLB: two meshes, u8/u16 indices, a non-indexed primitive, interleaved
     * (strided) accessor, node hierarchy with TRS and matrix, a non-triangle primitive skipped */
    uint8_t bin[256];
    memset(bin, 0, sizeof bin);
    float tri[9] = {0, 0, 0, 1, 0, 0, 0, 1, 0};
    memcpy(bin, tri, 36);                 /* view 0: positions, offset 0 */
    uint8_t i8[4] = {0, 1, 2, 0};         /* view 1: u8 indices at 36 */
    memcpy(bin + 36, i8, 4);
    uint16_t i16[4] = {2, 1, 0, 0};       /* view 2: u16 indices at 40 */
    memcpy(bin + 40, i16, 8);
    for (int v = 0; v < 3; v++) {         /* view 3: interleaved pos + 4 pad bytes, stride 16, at 48 */
        memcpy(bin + 48 + 16 * v, tri + 3 * v, 12);
        memset(bin + 48 + 16 * v + 12, 0x7f, 4);
    }
    const char *json =
        "{\"asset\":{\"version\":\"2.0\"},\"scene\":0,\"scenes\":[{\"nodes\":[0,2]}],"
        "\"nodes\":[{\"translation\":[10,0,0],\"scale\":[2,2,2],\"children\":[1],\"mesh\":0},"
        "{\"matrix\":[1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,5,1],\"mesh\":1},{\"mesh\":0,\"rotation\":[0,0,0.70710678,0.70710678]},"
        "{\"mesh\":1,\"translation\":[99,99,99]}],"
        "\"buffers\":[{\"byteLength\":96}],"
        "\"bufferViews\":[{\"buffer\":0,\"byteLength\":36},{\"buffer\":0,\"byteOffset\":36,\"byteLength\":3},"
        "{\"buffer\":0,\"byteOffset\":40,\"byteLength\":6},{\"buffer\":0,\"byteOffset\":48,\"byteLength\":48,\"byteStride\":16}],"
        "\"accessors\":[{\"bufferView\":0,\"componentType\":5126,\"count\":3,\"type\":\"VEC3\"},"
        "{\"bufferView\":1,\"componentType\":5121,\"count\":3,\"type\":\"SCALAR\"},"
        "{\"bufferView\":2,\"componentType\":5123,\"count\":3,\"type\":\"SCALAR\"},"
        "{\"bufferView\":3,\"componentType\":5126,\"count\":3,\"type\":\"VEC3\"}],"
        "\"meshes\":[{\"primitives\":[{\"attributes\":{\"POSITION\":0},\"indices\":1},"
        "{\"attributes\":{\"POSITION\":0},\"indices\":2,\"mode\":4},{\"attributes\":{\"POSITION\":0},\"mode\":1}]},"
        "{\"primitives\":[{\"attributes\":{\"POSITION\":3}}]}]}";
    uint8_t *glb = make_glb(json, bin, 96, &n);
    CHECK(read_ok(glb, n, MESH_FMT_UNKNOWN, "features.glb", &m) && m.ntris == 5,
          "GLB: 5 triangles from 3 nodes reached from the scene (got %u)", m.ntris);
    if (m.ntris == 5) {
        /* node 0: T(10,0,0) S(2): triangle 0 corner 1 = (1,0,0) -> (12,0,0) */
        const float *p = m.pos + 3 * m.idx[1];
        CHECK(p[0] == 12 && p[1] == 0 && p[2] == 0, "GLB TRS transform applied (%g %g %g)", p[0], p[1], p[2]);
        /* u16 primitive: triangle 1 = (2,1,0): corner 0 = (0,1,0) -> (10,2,0) */
        p = m.pos + 3 * m.idx[3];
        CHECK(p[0] == 10 && p[1] == 2, "GLB u16 indices (%g %g %g)", p[0], p[1], p[2]);
        /* node 1 (child of 0): world = T(10) S(2) T(0,0,5): (1,0,0) -> (12,0,10), via the strided accessor */
        p = m.pos + 3 * m.idx[7];
        CHECK(p[0] == 12 && p[2] == 10, "GLB child matrix through the hierarchy, strided accessor (%g %g %g)", p[0], p[1],
              p[2]);
        /* node 2: rotation 90 degrees about z: (1,0,0) -> (0,1,0) */
        p = m.pos + 3 * m.idx[3 * 3 + 1];
        CHECK(fabsf(p[0]) < 1e-6f && fabsf(p[1] - 1) < 1e-6f, "GLB rotation applied (%g %g %g)", p[0], p[1], p[2]);
        float lo[3], hi[3];
        mesh_bbox(&m, lo, hi);
        CHECK(hi[0] < 50, "GLB node outside the scene not read");
    }
    mesh_free(&m);
    free(glb);
    /* no scene: every mesh, untransformed */
    const char *noscene = strstr(json, "\"nodes\":[{");
    char js2[4096];
    snprintf(js2, sizeof js2, "{\"asset\":{\"version\":\"2.0\"},%s", strstr(noscene, "\"buffers\""));
    glb = make_glb(js2, bin, 96, &n);
    CHECK(read_ok(glb, n, MESH_FMT_UNKNOWN, "noscene.glb", &m) && m.ntris == 3, "GLB without a scene: every mesh once (got %u)",
          m.ntris);
    mesh_free(&m);
    free(glb);
    /* sparse refused clearly */
    snprintf(js2, sizeof js2,
             "{\"asset\":{\"version\":\"2.0\"},\"buffers\":[{\"byteLength\":96}],\"bufferViews\":[{\"buffer\":0,\"byteLength\":36}],"
             "\"accessors\":[{\"bufferView\":0,\"componentType\":5126,\"count\":3,\"type\":\"VEC3\",\"sparse\":{}}],"
             "\"meshes\":[{\"primitives\":[{\"attributes\":{\"POSITION\":0}}]}]}");
    glb = make_glb(js2, bin, 96, &n);
    orf_err e2 = {{0}, {0}};
    CHECK(meshio_read_mem(glb, n, MESH_FMT_UNKNOWN, "sparse.glb", 0, &m, &e2) == -1 && strstr(e2.message, "sparse"),
          "GLB sparse accessor refused with a message saying so");
    free(glb);

    /* an empty mesh writes a valid GLB and reads back as "no triangles" */
    orf_mesh empty = {0};
    uint8_t *d;
    CHECK(meshio_write_mem(&empty, MESH_FMT_GLB, NULL, &d, &n, &e) == 0 && n >= 20, "empty mesh writes a GLB");
    CHECK(refused(d, n, MESH_FMT_UNKNOWN, "empty-mesh.glb", "bad_mesh", 0), "GLB without triangles refused on read");
    free(d);
    mesh_free(&cube);

    /* atomic write leaves nothing on failure */
    CHECK(meshio_write_atomic("/nonexistent-dir/x.bin", "abc", 3, &e) == -1 && !strcmp(e.code, "io_error"),
          "write_atomic into a missing folder: io_error");
    uint8_t *sl;
    size_t sn;
    CHECK(meshio_slurp("/etc/passwd", 1, &sl, &sn, &e) == -1 && !strcmp(e.code, "too_large"),
          "slurp over max_bytes: too_large");
}

int main(void)
{
    test_round_trips();
    test_malformed();
    test_flavours();
    return check_done();
}
