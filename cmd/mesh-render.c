/* mesh-render - PNG pictures of meshes, named in NDJSON records.
 *
 * Reads requests (mesh-gen / mesh-refine records, {"mesh": PATH}, or bare
 * mesh paths) from stdin, or takes mesh paths as arguments; renders each mesh
 * with lib/render.h, writes the PNGs atomically into --out, and passes each
 * record on with "render" added. Options and the loop only: the work is in lib/.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "backend.h"
#include "err.h"
#include "imageio.h"
#include "meshio.h"
#include "ndjson.h"
#include "record.h"
#include "render.h"
#include "units.h"
#include "version.h"

#define MAX_TRIS 20000000u /* meshes declaring more triangles are refused */
#define MAX_TURNTABLE 3600

static const char usage[] =
    "usage: mesh-render [options] [MESH...]\n"
    "render meshes to PNG pictures; reads records or mesh paths from stdin when no MESH is given,\n"
    "and passes each record on with \"render\": {\"path\", \"width\", \"height\", \"view\", \"backend\"} added.\n"
    "\n"
    "  --view VIEW          front (default), back, left, right, top, three-quarter\n"
    "  --ortho              orthographic camera (default: perspective, 30 degree field)\n"
    "  --frame unit|bbox    unit: [-0.5, 0.5] spans the longer side (lines up with the source image);\n"
    "                       bbox (default): the mesh's bounding box fills the picture\n"
    "  --sheet              one contact sheet of six views (front right back / left top three-quarter)\n"
    "  --turntable N        N frames around the vertical axis, starting from --view\n"
    "  --size WxH           picture size in pixels (default 512x512; a sheet cell with --sheet)\n"
    "  --samples N          supersampling, N x N samples a pixel, 1 to 4 (default 3)\n"
    "  --background COLOR   #rrggbb, #rrggbbaa, white, black, grey, or transparent (default)\n"
    "  --backend B          auto, cpu or cuda: where pictures are drawn (default $ORFEAS_BACKEND,\n"
    "                       else auto); the same picture on either\n"
    "  -o, --out DIR        folder for the PNGs (default: the current folder; created if missing)\n"
    "  -q, --quiet          no messages on stderr\n"
    "  -v, --verbose        one line per picture on stderr, with its time\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n"
    "\n"
    "exit status: 0 all rendered, 1 some records failed, 64 usage, 69 unavailable (--backend cuda\n"
    "without a device), 74 output folder or stdout unusable\n";

typedef struct app {
    render_opts ro;
    orf_backend be;   /* --backend, else $ORFEAS_BACKEND, else auto */
    int sheet, turntable, quiet, verbose;
    const char *out_dir;
    int failed;
} app;

static void say(const app *a, const char *fmt, const char *s1, const char *s2)
{
    if (!a->quiet)
        fprintf(stderr, fmt, s1, s2);
}

/* ---- PNG out -------------------------------------------------------------- */

static int write_png(const char *path, const orf_image *img, orf_err *e)
{
    uint8_t *png = NULL;
    size_t n = 0;
    if (image_encode_png(img, &png, &n, e) < 0)
        return orf_fail(e, "io_error", "%s: could not encode the PNG", path);
    int rc = meshio_write_atomic(path, png, n, e);
    free(png);
    return rc;
}

/* DIR/STEM-SUFFIX.png into path[PATH_MAX]; "bad_request" when too long. */
static int picture_path(char *path, const char *dir, const char *stem, const char *suffix, orf_err *e)
{
    int n = snprintf(path, PATH_MAX, "%s/%s-%s.png", dir, stem, suffix);
    if (n < 0 || n >= PATH_MAX)
        return orf_fail(e, "bad_request", "the picture path for %s in %s is too long", stem, dir);
    return 0;
}

/* ---- one request ------------------------------------------------------------ */


/* The name pictures are named after: the source image's stem when the record
 * names one, else the mesh file's, then "-STAGE" when the record has a stage. */
static void picture_stem(const cJSON *req, const char *mesh_path, char *stem, size_t n)
{
    const char *src = ndjson_get_string(req, "image");
    if (!src || !*src)
        src = mesh_path;
    const char *base = strrchr(src, '/');
    base = base ? base + 1 : src;
    size_t len = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        len = (size_t)(dot - base);
    if (len == 0)
        base = "mesh", len = 4;
    const char *stage = ndjson_get_string(req, "stage");
    if (stage && *stage && !strchr(stage, '/'))
        snprintf(stem, n, "%.*s-%s", (int)len, base, stage);
    else
        snprintf(stem, n, "%.*s", (int)len, base);
}

/* Fold one picture's facts into the request's: "cuda" only when every
 * picture was drawn there, "cuda_oom" when any fell back. */
static void facts_add(backend_facts *all, const backend_facts *one)
{
    if (!all->backend[0] || strcmp(one->backend, "cpu") == 0)
        memcpy(all->backend, one->backend, sizeof all->backend);
    if (one->fallback[0])
        memcpy(all->fallback, one->fallback, sizeof all->fallback);
}

static int render_one(app *a, const char *mesh_path, const char *stem, cJSON **render_out, orf_err *e)
{
    orf_mesh m = {0};
    orf_image img = {0};
    cJSON *r = NULL;
    char path[PATH_MAX];
    double t0 = units_now_ms();
    backend_facts bf, all;   /* one picture's, and the request's */
    memset(&all, 0, sizeof all);
    render_opts o = a->ro;
    o.facts = &bf;
    if (meshio_read_file(mesh_path, MAX_TRIS, &m, e) < 0)
        return -1;
    if (m.ntris == 0) {
        mesh_free(&m);
        return orf_fail(e, "bad_mesh", "%s: the mesh has no triangles", mesh_path);
    }
    r = cJSON_CreateObject();
    if (!r)
        goto oom;
    if (a->sheet) {
        static const render_view views[6] = {RENDER_FRONT, RENDER_RIGHT, RENDER_BACK,
                                             RENDER_LEFT,  RENDER_TOP,   RENDER_THREE_QUARTER};
        if (render_sheet(&m, &o, views, 6, 3, &img, e) < 0)
            goto fail;
        facts_add(&all, &bf);
        if (picture_path(path, a->out_dir, stem, "sheet", e) < 0 || write_png(path, &img, e) < 0)
            goto fail;
        cJSON *vs = cJSON_AddArrayToObject(r, "views");
        for (int i = 0; vs && i < 6; i++)
            cJSON_AddItemToArray(vs, cJSON_CreateString(render_view_name(views[i])));
        cJSON_AddStringToObject(r, "path", path);
        cJSON_AddNumberToObject(r, "width", img.w);
        cJSON_AddNumberToObject(r, "height", img.h);
        cJSON_AddStringToObject(r, "view", "sheet");
        if (a->verbose)
            fprintf(stderr, "mesh-render: %s: %.1f ms\n", path, units_now_ms() - t0);
    } else if (a->turntable > 0) {
        o.orbit_frame = 1;
        int digits = 3;
        for (int n = a->turntable - 1; n >= 1000; n /= 10)
            digits++;
        cJSON *frames = cJSON_AddArrayToObject(r, "frames");
        if (!frames)
            goto oom;
        for (int i = 0; i < a->turntable; i++) {
            double t1 = units_now_ms();
            o.yaw_deg = 360.0f * (float)i / (float)a->turntable;
            if (render_mesh(&m, &o, &img, e) < 0)
                goto fail;
            facts_add(&all, &bf);
            char suffix[64];
            int k = snprintf(suffix, sizeof suffix, "%s-turn%0*d", render_view_name(o.view), digits, i);
            if (k < 0 || k >= (int)sizeof suffix || picture_path(path, a->out_dir, stem, suffix, e) < 0 ||
                write_png(path, &img, e) < 0)
                goto fail;
            image_free(&img);
            cJSON_AddItemToArray(frames, cJSON_CreateString(path));
            if (a->verbose)
                fprintf(stderr, "mesh-render: %s: %.1f ms\n", path, units_now_ms() - t1);
        }
        cJSON_AddStringToObject(r, "path", cJSON_GetArrayItem(frames, 0)->valuestring);
        cJSON_AddNumberToObject(r, "width", o.width);
        cJSON_AddNumberToObject(r, "height", o.height);
        cJSON_AddStringToObject(r, "view", render_view_name(o.view));
    } else {
        if (render_mesh(&m, &o, &img, e) < 0)
            goto fail;
        facts_add(&all, &bf);
        if (picture_path(path, a->out_dir, stem, render_view_name(a->ro.view), e) < 0 ||
            write_png(path, &img, e) < 0)
            goto fail;
        cJSON_AddStringToObject(r, "path", path);
        cJSON_AddNumberToObject(r, "width", img.w);
        cJSON_AddNumberToObject(r, "height", img.h);
        cJSON_AddStringToObject(r, "view", render_view_name(a->ro.view));
        if (a->verbose)
            fprintf(stderr, "mesh-render: %s: %.1f ms\n", path, units_now_ms() - t0);
    }
    cJSON_AddStringToObject(r, "backend", all.backend[0] ? all.backend : "cpu");
    if (all.fallback[0])
        cJSON_AddStringToObject(r, "fallback", all.fallback);
    cJSON_AddBoolToObject(r, "ortho", a->ro.ortho);
    cJSON_AddStringToObject(r, "frame", a->ro.frame == RENDER_FRAME_UNIT ? "unit" : "bbox");
    cJSON_AddNumberToObject(r, "ms", (double)(long)((units_now_ms() - t0) * 10.0) / 10.0);
    image_free(&img);
    mesh_free(&m);
    *render_out = r;
    return 0;
oom:
    orf_fail(e, "io_error", "%s: out of memory", mesh_path);
fail:
    cJSON_Delete(r);
    image_free(&img);
    mesh_free(&m);
    return -1;
}

/* Handle one request (owned here); returns -1 only when stdout is unusable. */
static int handle(app *a, cJSON *req, long line, const orf_err *read_err)
{
    orf_err e;
    orf_err_clear(&e);
    cJSON *rec = NULL;
    const char *mesh_path = NULL;
    if (!req) {
        e = *read_err;
    } else if (cJSON_GetObjectItemCaseSensitive(req, "error")) {
        rec = req; /* failed upstream: passed on untouched */
        req = NULL;
    } else if (!(mesh_path = record_mesh_path(req)) || !*mesh_path) {
        orf_fail(&e, "bad_request", "line %ld: the request names no mesh (\"mesh\": PATH or \"mesh\": {\"path\": PATH})",
                 line);
    } else {
        char stem[256];
        cJSON *render = NULL;
        picture_stem(req, mesh_path, stem, sizeof stem);
        if (render_one(a, mesh_path, stem, &render, &e) == 0) {
            ndjson_set(req, "render", render);
            rec = req;
            req = NULL;
        }
    }
    if (!rec) {
        a->failed++;
        say(a, "mesh-render: %s: %s\n", mesh_path ? mesh_path : "input", e.message);
        rec = ndjson_error_record(req, req ? 0 : line, &e);
    }
    int rc = rec ? ndjson_write(stdout, rec) : -1;
    cJSON_Delete(rec);
    cJSON_Delete(req);
    return rc;
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "mesh-render: %s '%s'; try 'mesh-render --help'\n", what, arg);
    return 64;
}

int main(int argc, char **argv)
{
    enum { OPT_VIEW = 256, OPT_ORTHO, OPT_FRAME, OPT_SHEET, OPT_TURNTABLE, OPT_SIZE, OPT_SAMPLES, OPT_BG,
           OPT_BACKEND };
    static const struct option opts[] = {
        {"view", required_argument, NULL, OPT_VIEW},
        {"ortho", no_argument, NULL, OPT_ORTHO},
        {"frame", required_argument, NULL, OPT_FRAME},
        {"sheet", no_argument, NULL, OPT_SHEET},
        {"turntable", required_argument, NULL, OPT_TURNTABLE},
        {"size", required_argument, NULL, OPT_SIZE},
        {"samples", required_argument, NULL, OPT_SAMPLES},
        {"background", required_argument, NULL, OPT_BG},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"out", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    app a;
    memset(&a, 0, sizeof a);
    render_opts_init(&a.ro);
    a.out_dir = ".";
    const char *backend = NULL;
    orf_err e;
    int c;
    while ((c = getopt_long(argc, argv, "o:qvhV", opts, NULL)) != -1) {
        switch (c) {
        case OPT_VIEW:
            if (render_view_parse(optarg, &a.ro.view, &e) < 0)
                return usage_error("unknown --view", optarg);
            break;
        case OPT_ORTHO: a.ro.ortho = 1; break;
        case OPT_FRAME:
            if (!strcmp(optarg, "unit"))
                a.ro.frame = RENDER_FRAME_UNIT;
            else if (!strcmp(optarg, "bbox"))
                a.ro.frame = RENDER_FRAME_BBOX;
            else
                return usage_error("--frame is unit or bbox, not", optarg);
            break;
        case OPT_SHEET: a.sheet = 1; break;
        case OPT_TURNTABLE: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end || n < 1 || n > MAX_TURNTABLE)
                return usage_error("--turntable takes 1 to 3600 frames, not", optarg);
            a.turntable = (int)n;
            break;
        }
        case OPT_SIZE:
            if (render_parse_size(optarg, &a.ro.width, &a.ro.height, &e) < 0)
                return usage_error("bad --size (WxH, 1 to 8192 each)", optarg);
            break;
        case OPT_SAMPLES: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end || n < 1 || n > RENDER_MAX_SAMPLES)
                return usage_error("--samples takes 1 to 4, not", optarg);
            a.ro.samples = (int)n;
            break;
        }
        case OPT_BG:
            if (render_parse_color(optarg, a.ro.background, &e) < 0)
                return usage_error("bad --background (#rrggbb, white, black, grey, transparent)", optarg);
            break;
        case OPT_BACKEND: backend = optarg; break;
        case 'o': a.out_dir = optarg; break;
        case 'q': a.quiet = 1, a.verbose = 0; break;
        case 'v': a.verbose = !a.quiet; break;
        case 'h': fputs(usage, stdout); return 0;
        case 'V': printf("mesh-render (orfeas) %s\n", ORFEAS_VERSION); return 0;
        default: fprintf(stderr, "mesh-render: try 'mesh-render --help'\n"); return 64;
        }
    }
    if (a.sheet && a.turntable) {
        fprintf(stderr, "mesh-render: --sheet and --turntable do not go together; try 'mesh-render --help'\n");
        return 64;
    }
    if (!*a.out_dir)
        return usage_error("empty --out", a.out_dir);
    if (backend_choose(backend, &a.be, &e) != 0) {
        if (strcmp(e.code, "unavailable") == 0) {
            if (!a.quiet)
                fprintf(stderr, "mesh-render: %s\n", e.message);
            return 69;
        }
        fprintf(stderr, "mesh-render: %s; try 'mesh-render --help'\n", e.message);
        return 64;
    }
    a.ro.backend = &a.be;
    struct stat st;
    if (stat(a.out_dir, &st) < 0) {
        if (errno != ENOENT || mkdir(a.out_dir, 0777) < 0) {
            if (!a.quiet)
                fprintf(stderr, "mesh-render: cannot create --out folder %s: %s\n", a.out_dir, strerror(errno));
            return 74;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        if (!a.quiet)
            fprintf(stderr, "mesh-render: --out %s is not a folder\n", a.out_dir);
        return 74;
    }

    int io_fail = 0;
    if (optind < argc) {
        for (int i = optind; i < argc && !io_fail; i++) {
            cJSON *req = cJSON_CreateObject();
            if (!req || !cJSON_AddStringToObject(req, "mesh", argv[i])) {
                cJSON_Delete(req);
                return 74;
            }
            io_fail = handle(&a, req, 0, NULL) < 0;
        }
    } else {
        ndjson_reader *rd = ndjson_reader_open(stdin, 0);
        if (!rd)
            return 74;
        for (;;) {
            cJSON *req = NULL;
            orf_err_clear(&e);
            int rc = ndjson_next(rd, "mesh", &req, &e);
            if (rc == 0)
                break;
            if (rc < 0) {
                if (!a.quiet)
                    fprintf(stderr, "mesh-render: %s\n", e.message);
                ndjson_reader_close(rd);
                return 74;
            }
            if (handle(&a, req, ndjson_line(rd), &e) < 0) {
                io_fail = 1;
                break;
            }
        }
        ndjson_reader_close(rd);
    }
    if (io_fail) {
        if (errno == EPIPE)
            return a.failed ? 1 : 0;
        if (!a.quiet)
            fprintf(stderr, "mesh-render: writing records: %s\n", strerror(errno));
        return 74;
    }
    return a.failed ? 1 : 0;
}
