/* texture.h - the source image as the mesh's colour: front projection.
 *
 * The frame of docs/design.md: the image lies in the xy plane, +x right, +y up, centred on
 * the origin, its longer side spanning `extent` mesh units (1.0 for meshes
 * from mesh-gen). A vertex at (x, y, z) takes the colour of the image pixel
 * in front of it, whatever z is: the back (z < 0) gets the same UVs as the
 * front, a mirror image seen from behind, which is what front projection
 * gives. With s = extent / max(w, h) the size of a pixel:
 *     u = 0.5 + x / (w * s)        v = 0.5 - y / (h * s)   (glTF: v down)
 * so the image's corners are UV (0,0) top left and (1,1) bottom right.
 * The attached texture has the foreground's colours bled a few pixels into
 * the transparent background (alpha unchanged), so bilinear sampling at the
 * rim never picks up the background's colour (dark seams in renders);
 * vertex colours are sampled from that copy too, with alpha 255 (opaque).
 */
#ifndef ORFEAS_TEXTURE_H
#define ORFEAS_TEXTURE_H

#include "err.h"
#include "image.h"
#include "mask.h"
#include "mesh.h"

enum {
    TEXTURE_UVS = 1,    /* fill m->uv (allocated when NULL) */
    TEXTURE_ATTACH = 2, /* copy img into m->texture (replacing one there) */
    TEXTURE_COLORS = 4, /* fill m->col (allocated when NULL) by bilinear sampling, for PLY */
};

/* Project img onto m from the front as described above, doing what `what`
 * names (TEXTURE_UVS | TEXTURE_ATTACH | TEXTURE_COLORS). Colours outside the
 * image take the nearest edge pixel. Safe default extent: 1.0. -1 with
 * "bad_request" for an empty image or extent <= 0, "too_large" when memory
 * runs out (m keeps what it had). */
int texture_project_front(orf_mesh *m, const orf_image *img, float extent, int what, orf_err *e);

/* Make an opaque source image (one cut out by its border colour or its
 * luminance) carry its foreground mask as alpha, so that texturing bleeds
 * the foreground's colours over the background at the rim instead of
 * sampling it. `method` is the mask method that made the field (MASK_AUTO
 * finds it again). Images that had alpha, and images with no background
 * (reliefs), are left as they are. Returns 0, or -1 with "too_large" when
 * memory runs out. */
int texture_alpha_from_mask(orf_image *img, mask_method method, const char *name, orf_err *e);

#endif
