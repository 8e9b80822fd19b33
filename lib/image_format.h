/* image_format.h - what an image file is, and whether it is whole, before
 * any decoder sees it.
 *
 * image_check names the format from the file's first bytes (its magic
 * number; TGA, which has none, from a header that passes stb_image's own TGA
 * test when no other signature matched), reads the header with code of its
 * own, and then checks that the file holds what the header promises:
 *
 *   PNG   chunk structure to IEND, each critical chunk's CRC, IHDR's depth
 *         and colour type, PLTE before IDAT for palette images, and enough
 *         compressed data for the pixels (deflate expands at most 1032:1);
 *   JPEG  segments to EOI, a baseline or progressive frame (stb_image reads
 *         no other), a scan for every component, and at least one bit of
 *         scan data for every 8x8 block a first scan must code;
 *   BMP   uncompressed (stb_image reads no RLE), the pixel rows inside the
 *         file, palette indices inside the palette;
 *   GIF   blocks to the trailer, and the first frame's LZW data yields every
 *         pixel of the frame (a count of what each code would output);
 *   TGA   the pixel data (raw, or RLE packets walked to the last pixel)
 *         inside the file;
 *   PNM   binary P5/P6 with a strict header (positive sizes, maxval 1 to
 *         65535) and all samples present.
 *
 * Radiance HDR, Photoshop PSD and Softimage PIC are recognised and refused
 * (stb_image's HDR decoder loops for ever on 49 bytes; its PSD and PIC
 * decoders read past a short file's end as zeros), as are formats stb_image
 * does not read at all (WebP, TIFF, HEIF/AVIF, JPEG 2000, JPEG XL, QOI, ICO,
 * SVG, PDF, ASCII PNM): each with a message that names the format.
 *
 * The checks read only the file's bytes, allocate nothing and take time
 * linear in the file's size (the GIF count is linear in the first frame's
 * data). They are what a decoder that is not strict itself is missing; the
 * decode still runs bounded (imageio.c, image_sandbox.h).
 */
#ifndef ORFEAS_IMAGE_FORMAT_H
#define ORFEAS_IMAGE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef enum image_format {
    IMAGE_FORMAT_UNKNOWN = 0,
    /* read */
    IMAGE_FORMAT_PNG,
    IMAGE_FORMAT_JPEG,
    IMAGE_FORMAT_BMP,
    IMAGE_FORMAT_GIF,
    IMAGE_FORMAT_TGA,
    IMAGE_FORMAT_PNM,
    /* recognised and refused */
    IMAGE_FORMAT_HDR,
    IMAGE_FORMAT_PSD,
    IMAGE_FORMAT_PIC,
    IMAGE_FORMAT_OTHER, /* a format stb_image does not read (named in the message) */
} image_format;

/* What a checked header says. */
typedef struct image_header {
    image_format format;
    int w, h;           /* pixels of the decoded image (GIF: the logical screen) */
    int channels;       /* samples a pixel in the file: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA,
                         * after a palette's expansion; 0 where the decoder decides (GIF) */
    int bits;           /* bits a sample in the file (1 to 16) */
    size_t data_offset; /* PNM: the byte the samples start at */
    unsigned maxval;    /* PNM: the largest sample value */
} image_header;

/* The longest side any decoder takes (stb_image's STBI_MAX_DIMENSIONS). */
#define IMAGE_MAX_SIDE (1 << 24)

/* Name, check, and fill *hdr. `name` is for messages only. `max_pixels` is
 * the limit on w*h (0: no limit). Returns 0, or -1 with e filled:
 * "too_large" for an image over max_pixels or IMAGE_MAX_SIDE (from the
 * header alone, before the rest of the file is looked at), "bad_image" for
 * everything else (unknown or refused format, damaged or incomplete file).
 * Messages name the input, the cause and what to do. */
int image_check(const uint8_t *data, size_t len, const char *name, uint64_t max_pixels,
                image_header *hdr, orf_err *e);

/* "PNG", "JPEG", "BMP", "GIF", "TGA", "PNM", "Radiance HDR", ... */
const char *image_format_name(image_format f);

#endif
