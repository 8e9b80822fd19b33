/* mesh-render - PNG pictures of meshes, named in NDJSON records.
 *
 * Reads requests (mesh-gen / mesh-refine records, {"mesh": PATH}, or bare
 * mesh paths) from stdin, or takes mesh paths as arguments; renders each mesh
 * with lib/render.h, writes the PNGs atomically into --out, and passes each
 * record on with "render" added. Options and the loop only: the work is in lib/.
 */
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "backend.h"
#include "cli.h"
#include "err.h"
#include "imageio.h"
#include "meshio.h"
#include "ndjson.h"
#include "outfiles.h"
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
    int sheet, turntable, verbose;
    const char *out_dir;
    out_names *names; /* no picture over an input or another input's picture */
    cli_out out;
} app;

/* ---- PNG out -------------------------------------------------------------- */

/* DIR/STEM-SUFFIX.png, atomically; its path into path[PATH_MAX]. */
static int write_png(app *a, const char *stem, const char *suffix, const orf_image *img, char *path,
                     orf_err *e)
{
    char name[512];
    if (snprintf(name, sizeof name, "%s-%s.png", stem, suffix) >= (int)sizeof name)
        return orf_fail(e, "bad_request", "the picture name for %s is too long", stem);
    uint8_t *png = NULL;
    size_t n = 0;
    if (image_encode_png(img, &png, &n, e) < 0)
        return orf_fail(e, "io_error", "%s: could not encode the PNG", name);
    int rc = out_write(a->names, a->out_dir, name, png, n, path, PATH_MAX, e);
    free(png);
    return rc;
}

/* ---- one request ------------------------------------------------------------ */


/* The name pictures are named after: the source image's stem when the record
 * names one, else the mesh file's (outfiles.h: distinct for distinct sources
 * of the run), then "-STAGE" when the record has a stage. */
static int picture_stem(app *a, const cJSON *req, const char *mesh_path, char *stem, size_t n,
                        orf_err *e)
{
    const char *src = ndjson_get_string(req, "image");
    if (!src || !*src)
        src = mesh_path;
    char base[300];
    if (out_stem(a->names, a->out_dir, src, base, sizeof base, e) < 0)
        return -1;
    const char *stage = ndjson_get_string(req, "stage");
    if (stage && *stage && !strchr(stage, '/'))
        snprintf(stem, n, "%s-%s", base, stage);
    else
        snprintf(stem, n, "%s", base);
    return 0;
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
    if (meshio_read_file(mesh_path, MAX_TRIS, &m, e) < 0) {
        if (!strcmp(e->code, "io_error"))
            snprintf(e->code, sizeof e->code, "no_input"); /* the input, not an output */
        return -1;
    }
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
        if (write_png(a, stem, "sheet", &img, path, e) < 0)
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
            if (k < 0 || k >= (int)sizeof suffix || write_png(a, stem, suffix, &img, path, e) < 0)
                goto fail;
            image_free(&img);
            cJSON_AddItemToArray(frames, cJSON_CreateString(path));
            char text[600];
            snprintf(text, sizeof text, "%s turntable frame %d/%d", mesh_path, i + 1, a->turntable);
            cli_progress_text(&a->out, text);
            if (a->verbose)
                fprintf(stderr, "mesh-render: %s: %.1f ms\n", path, units_now_ms() - t1);
        }
        cli_progress_done(&a->out);
        cJSON_AddStringToObject(r, "path", cJSON_GetArrayItem(frames, 0)->valuestring);
        cJSON_AddNumberToObject(r, "width", o.width);
        cJSON_AddNumberToObject(r, "height", o.height);
        cJSON_AddStringToObject(r, "view", render_view_name(o.view));
    } else {
        if (render_mesh(&m, &o, &img, e) < 0)
            goto fail;
        facts_add(&all, &bf);
        if (write_png(a, stem, render_view_name(a->ro.view), &img, path, e) < 0)
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

/* Handle one request (owned here); -1 when the run stops (stdout is gone). */
static int handle(void *ctx, cJSON *req, long line, const orf_err *read_err)
{
    app *a = ctx;
    orf_err e;
    orf_err_clear(&e);
    cJSON *rec = NULL;
    const char *mesh_path = NULL;
    const cJSON *upstream = cJSON_GetObjectItemCaseSensitive(req, "error");
    if (read_err) {
        e = *read_err;
    } else if (cJSON_IsObject(upstream)) {
        /* failed upstream: passed on untouched, and it counts */
        cli_count_failure(&a->out, ndjson_get_string(upstream, "code"));
        rec = req;
        req = NULL;
    } else if (!(mesh_path = record_mesh_path(req)) || !*mesh_path) {
        orf_fail(&e, "bad_request",
                 "line %ld: the request names no mesh (\"mesh\": PATH or \"mesh\": {\"path\": PATH})",
                 line);
    } else {
        char stem[400];
        cJSON *render = NULL;
        out_note_input(a->names, mesh_path);
        if (picture_stem(a, req, mesh_path, stem, sizeof stem, &e) == 0 &&
            render_one(a, mesh_path, stem, &render, &e) == 0) {
            ndjson_set(req, "render", render);
            rec = req;
            req = NULL;
        }
    }
    if (!rec) {
        cli_count_failure(&a->out, e.code);
        cli_say("mesh-render", a->out.quiet, "%s", e.message); /* it names its input */
        rec = ndjson_error_record(req, req ? 0 : line, &e);
    }
    int rc = rec ? cli_emit(&a->out, rec) : -1;
    cJSON_Delete(rec);
    cJSON_Delete(req);
    return rc;
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
    a.out.prog = "mesh-render";
    const char *backend = NULL;
    orf_err e;
    int c;
#define USAGE(...) return cli_usage("mesh-render", __VA_ARGS__)
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qvhV", opts, NULL)) != -1) {
        switch (c) {
        case OPT_VIEW:
            if (render_view_parse(optarg, &a.ro.view, &e) < 0)
                USAGE("--view: %s", e.message);
            break;
        case OPT_ORTHO: a.ro.ortho = 1; break;
        case OPT_FRAME:
            if (!strcmp(optarg, "unit"))
                a.ro.frame = RENDER_FRAME_UNIT;
            else if (!strcmp(optarg, "bbox"))
                a.ro.frame = RENDER_FRAME_BBOX;
            else
                USAGE("--frame is unit or bbox, not '%s'", optarg);
            break;
        case OPT_SHEET: a.sheet = 1; break;
        case OPT_TURNTABLE: {
            long n;
            if (cli_parse_long(optarg, 1, MAX_TURNTABLE, &n) < 0)
                USAGE("--turntable takes 1 to %d frames, not '%s'", MAX_TURNTABLE, optarg);
            a.turntable = (int)n;
            break;
        }
        case OPT_SIZE:
            if (render_parse_size(optarg, &a.ro.width, &a.ro.height, &e) < 0)
                USAGE("bad --size '%s' (WxH, 1 to 8192 each)", optarg);
            break;
        case OPT_SAMPLES: {
            long n;
            if (cli_parse_long(optarg, 1, RENDER_MAX_SAMPLES, &n) < 0)
                USAGE("--samples takes 1 to %d, not '%s'", RENDER_MAX_SAMPLES, optarg);
            a.ro.samples = (int)n;
            break;
        }
        case OPT_BG:
            if (render_parse_color(optarg, a.ro.background, &e) < 0)
                USAGE("bad --background '%s' (#rrggbb, #rrggbbaa, white, black, grey, transparent)",
                      optarg);
            break;
        case OPT_BACKEND: backend = optarg; break;
        case 'o': a.out_dir = optarg; break;
        case 'q': a.out.quiet = 1, a.verbose = 0; break;
        case 'v': a.verbose = !a.out.quiet; break;
        case 'h': fputs(usage, stdout); return 0;
        case 'V': printf("mesh-render (orfeas) %s\n", ORFEAS_VERSION); return 0;
        case ':': USAGE("option '%s' needs a value", argv[optind - 1]);
        default: USAGE("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (a.sheet && a.turntable)
        USAGE("--sheet and --turntable do not go together");
    if (!*a.out_dir)
        USAGE("empty --out");
    if (backend_choose(backend, &a.be, &e) != 0) {
        if (strcmp(e.code, "unavailable") == 0) {
            cli_say("mesh-render", a.out.quiet, "%s", e.message);
            return ORF_EXIT_UNAVAILABLE;
        }
        USAGE("%s", e.message);
    }
#undef USAGE
    a.ro.backend = &a.be;
    if (out_mkdir(a.out_dir, &e) < 0) {
        cli_say("mesh-render", a.out.quiet, "cannot use the --out folder: %s", e.message);
        return ORF_EXIT_IO;
    }
    if (!(a.names = out_names_new())) {
        cli_say("mesh-render", a.out.quiet, "out of memory");
        return ORF_EXIT_IO;
    }
    signal(SIGPIPE, SIG_IGN);
    int rc = cli_requests("mesh-render", a.out.quiet, argc, argv, optind, "mesh", 0, handle, &a);
    out_names_free(a.names);
    return cli_worse(rc, cli_finish(&a.out));
}
