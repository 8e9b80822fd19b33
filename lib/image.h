/* image.h - an 8-bit RGBA raster.
 *
 * Pixels are row-major, top row first, 4 bytes a pixel (R, G, B, A), so
 * pixel (x, y) starts at rgba[4 * ((size_t)y * w + x)]. Images with fewer
 * channels are expanded (grey -> R=G=B, no alpha -> A=255); 16-bit samples
 * are scaled to 8 bits. `had_alpha` says whether the file itself carried an
 * alpha channel (a GIF always counts as having one). Reading one: imageio.h.
 */
#ifndef ORFEAS_IMAGE_H
#define ORFEAS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct orf_image {
    int w, h;          /* pixels; both > 0 when rgba != NULL */
    uint8_t *rgba;     /* 4*w*h bytes, owned (free with image_free) */
    int had_alpha;     /* 1 when the source had an alpha channel */
    size_t mapped;     /* 0: rgba is malloc'd; else rgba is an mmap'd region of this many
                        * bytes (a decoder's output, handed over without a copy) */
} orf_image;

/* Release the pixels (free or munmap) and zero the struct. Safe on a zeroed
 * struct. Moving an image is a struct copy; the copy then owns it. */
void image_free(orf_image *img);

/* Allocate a w x h image filled with zero bytes. -1 with "too_large" when
 * w*h*4 would overflow or allocation fails. */
int image_alloc(orf_image *img, int w, int h, orf_err *e);

#endif
