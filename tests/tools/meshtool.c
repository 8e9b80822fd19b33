/* meshtool - a small helper for the mesh I/O tests.
 *
 *   meshtool make sphere|cube|torus OUT [--texture] [--colors] [--no-normals] [--no-uvs]
 *   meshtool convert IN OUT
 *   meshtool stats FILE
 *
 * `stats` prints one JSON object: vertices, triangles, watertight, boundary,
 * nonmanifold, nonmanifold_vertices, misoriented, components, volume, area,
 * bbox, and which attributes the file had. A mesh that cannot be read gives
 * "meshtool: <message>" on stderr and exit status 1 (66 when unreadable).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshio.h"
#include "topology.h"

static int usage(void)
{
    fprintf(stderr, "usage: meshtool make sphere|cube|torus OUT [--texture] [--colors] [--no-normals] [--no-uvs]\n"
                    "       meshtool convert IN OUT\n"
                    "       meshtool stats FILE\n");
    return 64;
}

static int fail(const orf_err *e)
{
    fprintf(stderr, "meshtool: %s (%s)\n", e->message, e->code);
    return !strcmp(e->code, "io_error") ? 66 : 1;
}

static const float PI = 3.14159265358979f;

/* A grid of (rows+1) x (cols+1) vertices, the last column repeating the first's
 * position (a UV seam); f gives position and normal from (i/rows, j/cols). */
static int make_grid(orf_mesh *m, int rows, int cols, int torus, orf_err *e)
{
    uint32_t nv = (uint32_t)((rows + 1) * (cols + 1));
    uint32_t nt = (uint32_t)(rows * cols * 2 - (torus ? 0 : 2 * cols));
    if (mesh_alloc(m, nv, nt, MESH_NORMALS | MESH_UVS, e))
        return -1;
    for (int i = 0; i <= rows; i++)
        for (int j = 0; j <= cols; j++) {
            size_t v = (size_t)i * (size_t)(cols + 1) + (size_t)j;
            float phi = 2 * PI * (float)(j % cols) / (float)cols;
            float *p = m->pos + 3 * v, *n = m->nrm + 3 * v;
            if (!torus) {
                float th = PI * (float)i / (float)rows;
                float st = (i == 0 || i == rows) ? 0.0f : sinf(th), ct = i == 0 ? 1.0f : i == rows ? -1.0f : cosf(th);
                n[0] = st * cosf(phi);
                n[1] = ct;
                n[2] = -st * sinf(phi);
                for (int k = 0; k < 3; k++)
                    p[k] = 0.5f * n[k];
            } else {
                float th = 2 * PI * (float)(i % rows) / (float)rows;
                float R = 0.35f, r = 0.15f;
                /* tube angle th around the ring direction (cos phi, 0, -sin phi) */
                float cx = cosf(phi), cz = -sinf(phi);
                n[0] = cosf(th) * cx;
                n[1] = sinf(th);
                n[2] = cosf(th) * cz;
                p[0] = R * cx + r * n[0];
                p[1] = r * n[1];
                p[2] = R * cz + r * n[2];
            }
            m->uv[2 * v] = (float)j / (float)cols;
            m->uv[2 * v + 1] = (float)i / (float)rows;
        }
    uint32_t t = 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            uint32_t a = (uint32_t)(i * (cols + 1) + j), b = a + (uint32_t)(cols + 1), c = b + 1, d = a + 1;
            if (torus || i != rows - 1) {
                m->idx[3 * t] = a;
                m->idx[3 * t + 1] = b;
                m->idx[3 * t + 2] = c;
                t++;
            }
            if (torus || i != 0) {
                m->idx[3 * t] = a;
                m->idx[3 * t + 1] = c;
                m->idx[3 * t + 2] = d;
                t++;
            }
        }
    if (torus) {
        /* (a, b, c) with i along the tube: flip if the volume came out negative */
        mesh_stats s;
        if (mesh_topology(m, &s, e))
            return -1;
        if (s.volume < 0)
            for (uint32_t k = 0; k < m->ntris; k++) {
                uint32_t x = m->idx[3 * k + 1];
                m->idx[3 * k + 1] = m->idx[3 * k + 2];
                m->idx[3 * k + 2] = x;
            }
    }
    return 0;
}

static int make_cube(orf_mesh *m, orf_err *e)
{
    static const uint32_t tris[36] = {0, 2, 1, 1, 2, 3, 4, 5, 6, 5, 7, 6, 0, 1, 4, 1, 5, 4,
                                      2, 6, 3, 3, 6, 7, 0, 4, 2, 2, 4, 6, 1, 3, 5, 3, 7, 5};
    if (mesh_alloc(m, 8, 12, MESH_NORMALS | MESH_UVS, e))
        return -1;
    for (uint32_t v = 0; v < 8; v++) {
        float x = (float)(v & 1), y = (float)((v >> 1) & 1), z = (float)((v >> 2) & 1);
        m->pos[3 * v] = x - 0.5f;
        m->pos[3 * v + 1] = y - 0.5f;
        m->pos[3 * v + 2] = z - 0.5f;
        float len = sqrtf(3 * 0.25f);
        for (int k = 0; k < 3; k++)
            m->nrm[3 * v + (uint32_t)k] = m->pos[3 * v + (uint32_t)k] / len;
        m->uv[2 * v] = 0.25f + 0.5f * x;
        m->uv[2 * v + 1] = 0.25f + 0.5f * (1 - y) + 0.1f * z;
    }
    memcpy(m->idx, tris, sizeof tris);
    return 0;
}

static int add_texture(orf_mesh *m, orf_err *e)
{
    if (image_alloc(&m->texture, 64, 32, e))
        return -1;
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = m->texture.rgba + 4 * ((size_t)y * 64 + (size_t)x);
            int on = ((x / 8) + (y / 8)) & 1;
            p[0] = on ? 230 : (uint8_t)(x * 4);
            p[1] = on ? 200 : (uint8_t)(y * 8);
            p[2] = on ? 40 : 160;
            p[3] = 255;
        }
    return 0;
}

static int add_colors(orf_mesh *m, orf_err *e)
{
    m->col = malloc((size_t)m->nverts * 4);
    if (!m->col) {
        orf_fail(e, "too_large", "out of memory");
        return -1;
    }
    for (uint32_t v = 0; v < m->nverts; v++) {
        for (int k = 0; k < 3; k++) {
            float c = 255.0f * (m->pos[3 * v + (uint32_t)k] + 0.5f);
            m->col[4 * v + (uint32_t)k] = (uint8_t)(c <= 0 ? 0 : c >= 255 ? 255 : lrintf(c));
        }
        m->col[4 * v + 3] = 255;
    }
    return 0;
}

static int cmd_make(int argc, char **argv)
{
    if (argc < 4)
        return usage();
    const char *kind = argv[2], *out = argv[3];
    int texture = 0, colors = 0, normals = 1, uvs = 1;
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--texture"))
            texture = 1;
        else if (!strcmp(argv[i], "--colors"))
            colors = 1;
        else if (!strcmp(argv[i], "--no-normals"))
            normals = 0;
        else if (!strcmp(argv[i], "--no-uvs"))
            uvs = 0;
        else
            return usage();
    }
    orf_mesh m = {0};
    orf_err e = {{0}, {0}};
    int rc;
    if (!strcmp(kind, "sphere"))
        rc = make_grid(&m, 16, 32, 0, &e);
    else if (!strcmp(kind, "torus"))
        rc = make_grid(&m, 24, 48, 1, &e);
    else if (!strcmp(kind, "cube"))
        rc = make_cube(&m, &e);
    else
        return usage();
    if (!rc && !normals) {
        free(m.nrm);
        m.nrm = NULL;
    }
    if (!rc && !uvs) {
        free(m.uv);
        m.uv = NULL;
    }
    if (!rc && texture)
        rc = add_texture(&m, &e);
    if (!rc && colors)
        rc = add_colors(&m, &e);
    if (!rc)
        rc = meshio_write_file(&m, MESH_FMT_UNKNOWN, out, &e);
    mesh_free(&m);
    return rc ? fail(&e) : 0;
}

static int cmd_convert(int argc, char **argv)
{
    if (argc != 4)
        return usage();
    orf_mesh m = {0};
    orf_err e = {{0}, {0}};
    if (meshio_read_file(argv[2], 0, &m, &e))
        return fail(&e);
    int rc = meshio_write_file(&m, MESH_FMT_UNKNOWN, argv[3], &e);
    mesh_free(&m);
    return rc ? fail(&e) : 0;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static int cmd_stats(int argc, char **argv)
{
    if (argc != 3)
        return usage();
    orf_mesh m = {0};
    orf_err e = {{0}, {0}};
    mesh_stats s;
    if (meshio_read_file(argv[2], 0, &m, &e))
        return fail(&e);
    if (mesh_topology(&m, &s, &e)) {
        mesh_free(&m);
        return fail(&e);
    }
    printf("{\"file\":");
    json_string(argv[2]);
    printf(",\"vertices\":%u,\"triangles\":%u,\"watertight\":%s,\"boundary\":%u,\"nonmanifold\":%u,"
           "\"nonmanifold_vertices\":%u,\"misoriented\":%u,\"components\":%u,\"volume\":%.9g,\"area\":%.9g,"
           "\"bbox\":[[%.9g,%.9g,%.9g],[%.9g,%.9g,%.9g]],\"normals\":%s,\"uvs\":%s,\"colors\":%s,",
           s.vertices, s.triangles, s.watertight ? "true" : "false", s.boundary_edges, s.nonmanifold_edges,
           s.nonmanifold_vertices, s.misoriented_edges, s.components, s.volume, s.area, (double)s.bbox[0][0],
           (double)s.bbox[0][1], (double)s.bbox[0][2], (double)s.bbox[1][0], (double)s.bbox[1][1],
           (double)s.bbox[1][2], m.nrm ? "true" : "false", m.uv ? "true" : "false", m.col ? "true" : "false");
    if (m.texture.w > 0)
        printf("\"texture\":[%d,%d]}\n", m.texture.w, m.texture.h);
    else
        printf("\"texture\":null}\n");
    mesh_free(&m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "make"))
        return cmd_make(argc, argv);
    if (!strcmp(argv[1], "convert"))
        return cmd_convert(argc, argv);
    if (!strcmp(argv[1], "stats"))
        return cmd_stats(argc, argv);
    return usage();
}
