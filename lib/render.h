/* render.h - a software rasteriser for looking at meshes: PNG-ready RGBA8
 * pictures of an orf_mesh from a named view.
 *
 * The mesh is drawn with a z-buffer into a supersampled raster (samples x
 * samples per output pixel), shaded (lib/hd/render_pixel.h: Lambert from a key
 * light fixed to the camera, a little ambient, a rim light), and box-filtered
 * down. Surface colour is, in order of preference, the mesh texture sampled
 * bilinearly at the UVs (times the vertex colours when it has both), the
 * vertex colours, or a neutral light grey. Triangles are drawn from both
 * sides (no culling); a triangle seen from its back gets its normal flipped.
 * Normals come from the mesh, or are computed (area-weighted) when absent;
 * computed normals keep edges sharper than 40 degrees hard (a welded box
 * stays a box).
 *
 * World frame: +x right, +y up, +z toward the viewer of the front view, as
 * everywhere in orfeas. Views (camera placement around the mesh):
 *   front          from +z, looking down -z: +x right, +y up on the picture
 *   back           from -z: +x appears on the left (a mirror of front)
 *   left, right    from -x and from +x
 *   top            from +y, +x right, -z up on the picture (the front at the bottom)
 *   three-quarter  from the front right and above (45 degrees round, 25 up)
 * yaw_deg turns the camera further round the vertical axis, from front
 * toward right: a turntable is frames with yaw 360 * i / n.
 *
 * Framing:
 *   RENDER_FRAME_UNIT  the scale that makes [-0.5, 0.5] span the longer side of
 *                      the picture, centred on the origin: an orthographic
 *                      front render of W x H pixels covers exactly the place of
 *                      a W x H source image whose longer side spans [-0.5, 0.5]
 *                      (pixel (px, py) over pixel (px, py)). Perspective: the
 *                      same holds on the plane through the origin facing the camera.
 *   RENDER_FRAME_BBOX  the bounding box of the mesh as seen from the view (the
 *                      2D box of its projected vertices) fills the picture with
 *                      a 5 % margin on each side, centred. With orbit_frame set
 *                      the framing holds the vertical cylinder around the mesh's
 *                      3D bounding box instead, so it is the same for every yaw.
 * Perspective cameras sit far enough for the whole 3D bounding box to be in
 * front of them with a field of view of at most 30 degrees across the longer
 * side (unit framing: exactly 30 degrees).
 * A perspective triangle with a vertex behind the camera is not drawn (only
 * possible with RENDER_FRAME_UNIT and a mesh larger than the unit box).
 *
 * Threads: OpenMP over bands of rows; the picture is the same bytes for any
 * number of threads.
 *
 * Backends: with o->backend asking for CUDA (lib/backend.h), the raster and
 * the resolve run on the GPU (kernels/cuda_render.cu) from the same
 * per-triangle and per-sample code (lib/hd/render_tri.h), giving the same
 * picture byte for byte; the camera, the normals and the binning stay on the
 * CPU. A CUDA out-of-memory redoes the picture on the CPU, and o->facts says
 * so (backend "cpu", fallback "cuda_oom").
 */
#ifndef ORFEAS_RENDER_H
#define ORFEAS_RENDER_H

#include <stdint.h>

#include "err.h"
#include "image.h"
#include "mesh.h"

#define RENDER_MAX_SIDE 8192   /* pixels, per side of one picture */
#define RENDER_MAX_SAMPLES 4   /* supersampling per axis */

typedef enum {
    RENDER_FRONT = 0,
    RENDER_BACK,
    RENDER_LEFT,
    RENDER_RIGHT,
    RENDER_TOP,
    RENDER_THREE_QUARTER,
    RENDER_NVIEWS
} render_view;

typedef enum { RENDER_FRAME_BBOX = 0, RENDER_FRAME_UNIT } render_frame;

struct orf_backend;   /* lib/backend.h */
struct backend_facts; /* lib/backend.h */

typedef struct render_opts {
    int width, height;     /* picture size in pixels, 1..RENDER_MAX_SIDE; default 512 x 512 */
    render_view view;      /* default RENDER_FRONT */
    float yaw_deg;         /* extra turn about the vertical axis, degrees; default 0 */
    int ortho;             /* 1 orthographic, 0 perspective (default) */
    render_frame frame;    /* default RENDER_FRAME_BBOX */
    int orbit_frame;       /* 1: bbox framing independent of yaw (turntables); default 0 */
    int samples;           /* supersampling per axis, 1..RENDER_MAX_SAMPLES; default 3 (9 a pixel) */
    uint8_t background[4]; /* RGBA8 shown where the mesh is not; default transparent (alpha 0) */
    int threads;           /* OpenMP threads, 0 for the OpenMP default */
    const struct orf_backend *backend; /* where to draw (backend_choose): NULL or BACKEND_CPU
                                          for the CPU (default), BACKEND_CUDA for the GPU with
                                          the CPU as fallback on "cuda_oom" */
    struct backend_facts *facts; /* NULL (default), or filled by each call with what ran:
                                    backend "cpu"/"cuda", fallback ""/"cuda_oom",
                                    device_peak_bytes, ms (precision is left empty) */
} render_opts;

/* Fill o with the defaults above. */
void render_opts_init(render_opts *o);

/* "front", "back", "left", "right", "top", "three-quarter" (also
 * "three_quarter", "3/4") to a view. -1 with "bad_request" otherwise. */
int render_view_parse(const char *name, render_view *v, orf_err *e);

/* The canonical name of a view ("three-quarter", ...); "" when out of range. */
const char *render_view_name(render_view v);

/* "WxH" (e.g. "512x512", 'X' also accepted) to a size, each side in
 * 1..RENDER_MAX_SIDE. -1 with "bad_request" otherwise. */
int render_parse_size(const char *s, int *w, int *h, orf_err *e);

/* A colour: "#rrggbb", "#rrggbbaa", "white", "black", "grey"/"gray", or
 * "transparent" (alpha 0). rgba[4] receives it. -1 with "bad_request". */
int render_parse_color(const char *s, uint8_t rgba[4], orf_err *e);

/* Render mesh m as described by o into *out (allocated here: w x h RGBA8,
 * free with image_free; must not hold pixels on entry). A mesh with no
 * triangles gives a picture of the background. Working memory is about
 * 8 bytes per sample (w * h * samples^2) plus 32 bytes per vertex
 * (and 36 per triangle when the mesh has no normals).
 * On the GPU: about 8 bytes per sample, 40 per vertex, 12 per triangle (48
 * without normals) and the texture, on the device; the host keeps the
 * per-vertex set-up only.
 * -1 with "bad_request" (bad options), "bad_mesh" (an index out of range
 * or a coordinate not finite), "too_large" (out of memory), or, on the GPU,
 * "cuda_error" (a CUDA call failed, named in the message) or "unavailable"
 * (a build without CUDA). */
int render_mesh(const orf_mesh *m, const render_opts *o, orf_image *out, orf_err *e);

/* A contact sheet: the views views[0..nviews-1] each rendered at o->width x
 * o->height (with o's other settings), laid out left to right, top to
 * bottom, `cols` to a row, into one picture of cols * width by
 * ceil(nviews / cols) * height pixels (cells left over show the background).
 * Errors as render_mesh, plus "bad_request" when the sheet is too large.
 * o->facts, when set, says "cuda" only when every view ran there, and
 * fallback "cuda_oom" when any view fell back. */
int render_sheet(const orf_mesh *m, const render_opts *o, const render_view *views, int nviews,
                 int cols, orf_image *out, orf_err *e);

#endif
