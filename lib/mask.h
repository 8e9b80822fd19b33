/* mask.h - which pixels of an image are the subject (foreground).
 *
 * mask_compute() returns a coverage raster the size of the image: 1 inside
 * the subject, 0 in the background, in between along the edge (anti-aliased
 * from the alpha channel or from the colour distance to the background), so
 * that later stages can place the rim between pixels.
 *
 * Methods:
 *   alpha   coverage = alpha / 255. Chosen by `auto` when at least
 *           MASK_ALPHA_SHARE of the pixels are transparent (alpha < 128): a
 *           white-backed picture with one clear corner pixel is not "alpha".
 *   border  the background is the median colour of the image border,
 *           flood-filled inward (4-connected) through pixels within a
 *           tolerance of it. A background-coloured region that the flood
 *           cannot reach (enclosed by the subject) stays foreground. Chosen
 *           by `auto` when at least MASK_BORDER_UNIFORM of the border pixels
 *           are within the tolerance of the border colour.
 *   luma    foreground is the side of an Otsu threshold on luminance that
 *           holds fewer border pixels (dark ink on light paper, or the
 *           reverse), soft over a few grey levels.
 *   none    (result only) `auto` found neither: a photograph-like image with
 *           no uniform background. Coverage is then 1 everywhere, and the
 *           caller (gen) makes a relief of it.
 * After any method, 8-connected parts smaller than MASK_SPECK_SHARE of the
 * foreground area are dropped; holes are kept as they are.
 */
#ifndef ORFEAS_MASK_H
#define ORFEAS_MASK_H

#include "err.h"
#include "image.h"

typedef enum { MASK_AUTO = 0, MASK_ALPHA, MASK_BORDER, MASK_LUMA, MASK_NONE } mask_method;

#define MASK_ALPHA_SHARE 0.01     /* share of transparent pixels that makes an alpha image */
#define MASK_BORDER_UNIFORM 0.90  /* share of border pixels near the border colour */
#define MASK_BORDER_TOLERANCE 40  /* max channel difference (0..255) still background */
#define MASK_SPECK_SHARE 0.005    /* parts under this share of the foreground are dropped */

typedef struct orf_mask {
    int w, h;             /* the image's size */
    float *cov;           /* w*h coverage in [0,1], row-major, top row first */
    mask_method method;   /* the method that ran (MASK_NONE: no background found) */
    char why[200];        /* a sentence saying why that method was chosen */
    double foreground;    /* share of pixels with coverage >= 0.5 */
    int specks_dropped;   /* parts removed as specks */
} orf_mask;

/* Name of a method: "auto", "alpha", "border", "luma", "none". */
const char *mask_method_name(mask_method m);

/* Parse a method name; -1 with "bad_request" when unknown. */
int mask_method_parse(const char *s, mask_method *m, orf_err *e);

/* Compute the mask of `img` with method `want` (MASK_AUTO to choose).
 * `name` names the input in messages. "no_foreground" when nothing of the
 * image is foreground (fully transparent, uniform colour, or only specks);
 * with MASK_AUTO a photograph-like image is not an error: method MASK_NONE.
 * Free with mask_free. */
int mask_compute(const orf_image *img, mask_method want, const char *name, orf_mask *m, orf_err *e);

void mask_free(orf_mask *m);

#endif
