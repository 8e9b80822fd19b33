/* imageio.h - reading an image file and decoding it into an orf_image.
 *
 * Formats, named by their first bytes, never by the file's name (the
 * checks are in image_format.h):
 *
 *   read      PNG (1 to 16 bits, grey, palette, alpha), JPEG (baseline and
 *             progressive), BMP (uncompressed), GIF (first frame), TGA, and
 *             binary PNM (P5/P6, 8 and 16 bits);
 *   refused   Radiance HDR, Photoshop PSD, Softimage PIC (stb_image reads
 *             them, but not safely), and what stb_image does not read
 *             (WebP, TIFF, HEIF/AVIF, JPEG 2000 and XL, ...), by name.
 *
 * A decode has three steps. image_check reads the header and refuses, before
 * any pixel is decoded, an image over `max_pixels` ("too_large") and a file
 * that cannot hold what its header claims: truncated, damaged, or a lying
 * header ("bad_image"). image_decode then runs stb_image (or the PNM reader
 * here) in a forked child under limits it cannot lift (image_sandbox.h): CPU
 * time 4 s + 1 s per 2 Mpx, real time twice that + 4 s, memory 64 MiB + 32
 * bytes a pixel + twice the file; a decoder that loops, crashes or runs past
 * its memory is a "bad_image" record, never a hang. The child writes RGBA
 * into a shared mapping that becomes the image (orf_image.mapped; no copy).
 * Cost: one fork, the child's setup and exit, and two hand-offs between
 * processes. Measured on a loaded 2-core VM where a bare fork+wait takes
 * 2.4 ms of CPU: +3 ms of CPU for a 512 x 512 PNG (15 ms instead of 12);
 * the hand-offs add real time that grows with the machine's load.
 *
 * Output: always 8-bit RGBA (see image.h); 16-bit samples are scaled to 8.
 */
#ifndef ORFEAS_IMAGEIO_H
#define ORFEAS_IMAGEIO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "image.h"
#include "image_format.h"

/* The default pixel limit (64 Mi pixels), as mesh-gen's --max-pixels. */
#define IMAGE_DEFAULT_MAX_PIXELS (64ull << 20) /* 8192 x 8192; "64M" as mesh-gen reads it */

/* Check and decode `len` bytes at `data`. `name` is used in messages only (a
 * path or "<stdin>"). `max_pixels` 0 means IMAGE_DEFAULT_MAX_PIXELS. On
 * success `img` owns its pixels (image_free). On failure `img` is zeroed and
 * e says why: "too_large" (over the pixel limit), "bad_image" (not an image
 * that is read, or a damaged one; the message names the format and the
 * cause), rarely "too_large"/"io_error" when the decoder cannot be started. */
int image_load_memory(const void *data, size_t len, const char *name, uint64_t max_pixels,
                      orf_image *img, orf_err *e);

/* Read the file at `path` (image_read_bytes, at most 1 GiB) and decode it
 * as above. */
int image_load_file(const char *path, uint64_t max_pixels, orf_image *img, orf_err *e);

/* Read a whole file into a malloc'd buffer (used for hashing the input and
 * decoding it from the same bytes). Anything but a regular file (a FIFO, a
 * device such as /dev/zero, a directory) is refused with "io_error" before
 * a byte is read; a file over `max_bytes` is "too_large", judged from its
 * size before it is read; "io_error" when it cannot be opened or read. */
int image_read_bytes(const char *path, size_t max_bytes, uint8_t **data, size_t *len, orf_err *e);

/* How a decode is bounded (image_decode). */
typedef struct image_bounds {
    int in_process;        /* 1: decode in this process, unbounded (fuzzing only: a crash
                            * must reach the fuzzer); 0: in a bounded child */
    unsigned cpu_seconds;  /* CPU time of the child */
    unsigned wall_ms;      /* real time the caller waits */
    size_t memory_bytes;   /* memory the child may add to what it had at the fork */
} image_bounds;

/* The bounds image_load_memory uses for a checked header and a file of
 * `len` bytes (numbers above; four times the time and twice the memory plus
 * 512 MiB in an AddressSanitizer build). */
void image_bounds_default(const image_header *hdr, size_t len, image_bounds *b);

/* Decode what image_check accepted (hdr from it, same bytes) under `bounds`
 * (NULL: image_bounds_default). Returns 0 with `img` filled, or -1 with
 * e set and `img` zeroed. */
int image_decode(const void *data, size_t len, const char *name, const image_header *hdr,
                 const image_bounds *bounds, orf_image *img, orf_err *e);

/* PNG bytes of an RGBA8 image (a mesh's texture in GLB and OBJ output,
 * mesh-render's pictures) into a malloc'd *png of *n bytes: one IDAT chunk
 * of zlib's deflate at level 4 (imageio.c), every row with the "sub" filter
 * (stb_image_write's per-row trial of five filters was up to 1.8x slower for
 * sizes within -6%..+4.5%; its own deflate at level 8, used until session 8,
 * took 10-13 ms for a 512 x 512 texture). "too_large" when the image is
 * empty or too large, or memory runs out. */
int image_encode_png(const orf_image *img, uint8_t **png, size_t *n, orf_err *e);

#endif
