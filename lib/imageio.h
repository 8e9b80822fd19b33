/* imageio.h - decoding an image file or buffer into an orf_image.
 *
 * Formats: whatever stb_image reads: PNG (8 and 16 bit, grey, palette,
 * alpha), JPEG, BMP, TGA, GIF (first frame), PSD (composited), HDR, PNM.
 * The header is read first (stbi_info_from_memory): an image whose width
 * times height exceeds `max_pixels` is refused with "too_large" before any
 * pixel is decoded. Everything else that fails is "bad_image" with a
 * message naming the input and stb_image's reason.
 *
 * Output: always 8-bit RGBA (see image.h); 16-bit and HDR inputs are
 * converted by stb_image (HDR through its default gamma 2.2 tone curve).
 */
#ifndef ORFEAS_IMAGEIO_H
#define ORFEAS_IMAGEIO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "image.h"

/* The default pixel limit (64 Mpx), as mesh-gen's --max-pixels. */
#define IMAGE_DEFAULT_MAX_PIXELS (64ull * 1000 * 1000)

/* Decode `len` bytes at `data`. `name` is used in messages only (a path or
 * "<stdin>"). `max_pixels` 0 means IMAGE_DEFAULT_MAX_PIXELS. On success
 * `img` owns its pixels (image_free). On failure `img` is zeroed. */
int image_load_memory(const void *data, size_t len, const char *name, uint64_t max_pixels,
                      orf_image *img, orf_err *e);

/* Read the file at `path` and decode it as above. "io_error" when it cannot
 * be read; files larger than 1 GiB are refused with "too_large". */
int image_load_file(const char *path, uint64_t max_pixels, orf_image *img, orf_err *e);

/* Read a whole file into a malloc'd buffer (used for hashing the input
 * and decoding it from the same bytes). "io_error" on failure, "too_large"
 * over `max_bytes`. */
int image_read_bytes(const char *path, size_t max_bytes, uint8_t **data, size_t *len, orf_err *e);

/* PNG bytes of an RGBA8 image (a mesh's texture in GLB and OBJ output,
 * mesh-render's pictures) into a malloc'd *png of *n bytes. Every row uses
 * the "sub" filter at zlib level 8 (stb_image_write's per-row trial of five
 * filters was up to 1.8x slower for sizes within -6%..+4.5%). "too_large"
 * when the image is empty or too wide, or memory runs out. */
int image_encode_png(const orf_image *img, uint8_t **png, size_t *n, orf_err *e);

#endif
