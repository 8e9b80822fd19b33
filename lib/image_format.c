/* image_format.c - naming an image file's format and checking that the file
 * holds what its header promises (see image_format.h). */
#include "image_format.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

const char *image_format_name(image_format f)
{
    switch (f) {
    case IMAGE_FORMAT_PNG: return "PNG";
    case IMAGE_FORMAT_JPEG: return "JPEG";
    case IMAGE_FORMAT_BMP: return "BMP";
    case IMAGE_FORMAT_GIF: return "GIF";
    case IMAGE_FORMAT_TGA: return "TGA";
    case IMAGE_FORMAT_PNM: return "PNM";
    case IMAGE_FORMAT_HDR: return "Radiance HDR";
    case IMAGE_FORMAT_PSD: return "Photoshop PSD";
    case IMAGE_FORMAT_PIC: return "Softimage PIC";
    case IMAGE_FORMAT_OTHER: return "unsupported";
    case IMAGE_FORMAT_UNKNOWN: break;
    }
    return "unknown";
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static unsigned le16(const uint8_t *p) { return (unsigned)p[1] << 8 | p[0]; }
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* The size checks every format shares, in this order: no pixels (bad_image),
 * a side over IMAGE_MAX_SIDE or w*h over max_pixels (too_large). */
static int check_size(const char *name, const char *fmt, uint64_t w, uint64_t h,
                      uint64_t max_pixels, orf_err *e)
{
    if (w == 0 || h == 0)
        return orf_fail(e, "bad_image",
                        "%s: the %s header claims %llu x %llu pixels, an image with no pixels: the "
                        "file is damaged",
                        name, fmt, (unsigned long long)w, (unsigned long long)h);
    if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE)
        return orf_fail(e, "too_large",
                        "%s: the %s header claims %llu x %llu pixels, and no side may be over %d: "
                        "the file is damaged, or the image must be scaled down",
                        name, fmt, (unsigned long long)w, (unsigned long long)h, IMAGE_MAX_SIDE);
    if (max_pixels && w * h > max_pixels)
        return orf_fail(e, "too_large",
                        "%s: %llu x %llu pixels is over the limit of %llu pixels: scale the image "
                        "down or raise the limit",
                        name, (unsigned long long)w, (unsigned long long)h,
                        (unsigned long long)max_pixels);
    return 0;
}

/* ---- PNG ---- */

static uint32_t crc_table[256];
static void crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_init);
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static int chunk_type_ok(const uint8_t *t)
{
    for (int i = 0; i < 4; i++)
        if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z')))
            return 0;
    return 1;
}

static int check_png(const uint8_t *d, size_t n, const char *name, uint64_t max_pixels,
                     image_header *hdr, orf_err *e)
{
    size_t pos = 8;
    int have_ihdr = 0, have_plte = 0, have_trns = 0, depth = 0, colour = 0;
    uint32_t w = 0, h = 0;
    uint64_t idat = 0;
    unsigned nidat = 0;
    char where[96] = "";
    for (;;) {
        if (have_ihdr)
            snprintf(where, sizeof where, " of a %u x %u image", w, h);
        if (n - pos < 8)
            return orf_fail(e, "bad_image",
                            "%s: truncated PNG (the file ends at byte %zu%s, before its IEND "
                            "chunk): the file is incomplete; copy or save it again",
                            name, n, where);
        uint32_t len = be32(d + pos);
        const uint8_t *type = d + pos + 4;
        char tname[5] = {0};
        if (!chunk_type_ok(type) || len > 0x7fffffffu)
            return orf_fail(e, "bad_image",
                            "%s: damaged PNG (the bytes at %zu are not a chunk header): the file "
                            "is corrupt; copy or save it again",
                            name, pos);
        memcpy(tname, type, 4);
        int critical = !(type[0] & 0x20);
        if (!have_ihdr && memcmp(type, "IHDR", 4) != 0 && memcmp(type, "CgBI", 4) != 0)
            return orf_fail(e, "bad_image",
                            "%s: damaged PNG (its first chunk is %s, not IHDR): the file is "
                            "corrupt; copy or save it again",
                            name, tname);
        /* IHDR's sizes are judged before the rest of the file */
        if (memcmp(type, "IHDR", 4) == 0 && !have_ihdr && len == 13 && n - pos >= 8 + 13) {
            const uint8_t *c = d + pos + 8;
            w = be32(c);
            h = be32(c + 4);
            if (check_size(name, "PNG", w, h, max_pixels, e))
                return -1;
        }
        if ((uint64_t)len + 12 > n - pos)
            return orf_fail(e, "bad_image",
                            "%s: truncated PNG (the file ends at byte %zu%s, inside the %u-byte "
                            "%s chunk that starts at byte %zu): the file is incomplete; copy or "
                            "save it again",
                            name, n, where, len, tname, pos);
        const uint8_t *c = d + pos + 8;
        if (critical && crc32_png(type, (size_t)len + 4) != be32(c + len))
            return orf_fail(e, "bad_image",
                            "%s: damaged PNG (the %s chunk at byte %zu fails its CRC check): the "
                            "file is corrupt; copy or save it again",
                            name, tname, pos);
        if (memcmp(type, "IHDR", 4) == 0) {
            if (have_ihdr || len != 13)
                return orf_fail(e, "bad_image",
                                "%s: damaged PNG (%s IHDR chunk at byte %zu): the file is corrupt",
                                name, have_ihdr ? "a second" : "a wrong-sized", pos);
            have_ihdr = 1;
            depth = c[8];
            colour = c[9];
            static const struct { int colour, depths; } ok[] = {
                {0, 1 | 2 | 4 | 8 | 16}, {2, 8 | 16}, {3, 1 | 2 | 4 | 8}, {4, 8 | 16}, {6, 8 | 16}};
            int valid = 0;
            for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
                valid |= ok[i].colour == colour && (depth & ok[i].depths) && !(depth & (depth - 1));
            if (!valid)
                return orf_fail(e, "bad_image",
                                "%s: damaged PNG (colour type %d with %d-bit samples is not a PNG "
                                "pixel format): the file is corrupt",
                                name, colour, depth);
            if (c[10] != 0 || c[11] != 0 || c[12] > 1)
                return orf_fail(e, "bad_image",
                                "%s: damaged PNG (compression %d, filter %d, interlace %d: only "
                                "0, 0 and 0 or 1 exist): the file is corrupt",
                                name, c[10], c[11], c[12]);
        } else if (memcmp(type, "PLTE", 4) == 0) {
            if (len == 0 || len % 3 || len > 256 * 3)
                return orf_fail(e, "bad_image",
                                "%s: damaged PNG (a palette of %u bytes, not 3 to 768 in steps of "
                                "3): the file is corrupt",
                                name, len);
            have_plte = 1;
        } else if (memcmp(type, "tRNS", 4) == 0) {
            have_trns = 1;
        } else if (memcmp(type, "IDAT", 4) == 0) {
            if (colour == 3 && !have_plte)
                return orf_fail(e, "bad_image",
                                "%s: damaged PNG (a palette image with no palette before its "
                                "data): the file is corrupt",
                                name);
            idat += len;
            nidat++;
        } else if (memcmp(type, "IEND", 4) == 0) {
            break;
        } else if (critical && memcmp(type, "CgBI", 4) != 0) {
            return orf_fail(e, "bad_image",
                            "%s: damaged or unsupported PNG (an unknown critical chunk %s at byte "
                            "%zu): save it again as a plain PNG",
                            name, tname, pos);
        }
        pos += (size_t)len + 12;
    }
    if (!nidat)
        return orf_fail(e, "bad_image",
                        "%s: damaged PNG (no IDAT chunk: the %u x %u image has no pixel data): "
                        "the file is incomplete",
                        name, w, h);
    /* deflate turns one byte into at most 1032 (a 258-byte match in 2 bits) */
    int spp = colour == 2 ? 3 : colour == 4 ? 2 : colour == 6 ? 4 : 1;
    uint64_t need = ((uint64_t)w * (uint64_t)spp * (uint64_t)depth + 7) / 8 * h;
    if (idat * 1032 + 1032 * 64 < need)
        return orf_fail(e, "bad_image",
                        "%s: damaged PNG (%llu bytes of compressed data cannot hold %u x %u "
                        "pixels, which need at least %llu): the header is wrong or the data was "
                        "cut; copy or save it again",
                        name, (unsigned long long)idat, w, h,
                        (unsigned long long)(need / 1032));
    hdr->w = (int)w;
    hdr->h = (int)h;
    hdr->bits = depth;
    hdr->channels = colour == 3 ? (have_trns ? 4 : 3) : spp + (have_trns && !(colour & 4));
    return 0;
}

/* ---- JPEG ---- */

typedef struct jpeg_frame {
    int seen, progressive, ncomp, hmax, vmax;
    unsigned x, y;
    int id[4], hs[4], vs[4];
} jpeg_frame;

/* Blocks a scan over the components in `which` (indices into the frame) codes. */
static uint64_t jpeg_scan_blocks(const jpeg_frame *f, const int *which, int ns)
{
    if (ns == 1) {
        int i = which[0];
        uint64_t cx = ((uint64_t)f->x * (uint64_t)f->hs[i] + (uint64_t)f->hmax - 1) / (uint64_t)f->hmax;
        uint64_t cy = ((uint64_t)f->y * (uint64_t)f->vs[i] + (uint64_t)f->vmax - 1) / (uint64_t)f->vmax;
        return ((cx + 7) / 8) * ((cy + 7) / 8);
    }
    uint64_t mx = (f->x + 8u * (unsigned)f->hmax - 1) / (8u * (unsigned)f->hmax);
    uint64_t my = (f->y + 8u * (unsigned)f->vmax - 1) / (8u * (unsigned)f->vmax);
    uint64_t per = 0;
    for (int k = 0; k < ns; k++)
        per += (uint64_t)f->hs[which[k]] * (uint64_t)f->vs[which[k]];
    return mx * my * per;
}

static int check_jpeg(const uint8_t *d, size_t n, const char *name, uint64_t max_pixels,
                      image_header *hdr, orf_err *e)
{
    jpeg_frame f;
    memset(&f, 0, sizeof f);
    unsigned covered = 0;
    int scans = 0;
    size_t pos = 2;
    static const char cut[] = "%s: truncated JPEG (the file ends at byte %zu, %s, before the "
                              "end-of-image marker): the file is incomplete; copy or save it again";
    for (;;) {
        if (pos >= n)
            return orf_fail(e, "bad_image", cut, name, n, "between segments");
        if (d[pos] != 0xff) {
            if (!f.seen) { /* stb_image skips stray bytes before the frame */
                pos++;
                continue;
            }
            return orf_fail(e, "bad_image",
                            "%s: damaged JPEG (byte %zu is 0x%02x where a marker should start): "
                            "the file is corrupt; copy or save it again",
                            name, pos, d[pos]);
        }
        while (pos < n && d[pos] == 0xff)
            pos++;
        if (pos >= n)
            return orf_fail(e, "bad_image", cut, name, n, "inside a marker");
        size_t at = pos - 1;
        unsigned m = d[pos++];
        if (m == 0xd9)
            break;
        if (m == 0x00 || m == 0x01 || m == 0xd8 || (m >= 0xd0 && m <= 0xd7))
            return orf_fail(e, "bad_image",
                            "%s: damaged JPEG (a stray marker FF%02X at byte %zu): the file is "
                            "corrupt; copy or save it again",
                            name, m, at);
        if (n - pos < 2)
            return orf_fail(e, "bad_image", cut, name, n, "inside a segment header");
        unsigned seglen = be16(d + pos);
        if (seglen < 2)
            return orf_fail(e, "bad_image",
                            "%s: damaged JPEG (a segment of length %u at byte %zu): the file is "
                            "corrupt",
                            name, seglen, at);
        if (n - pos < seglen)
            return orf_fail(e, "bad_image", cut, name, n, "inside a segment");
        const uint8_t *s = d + pos + 2;
        size_t sl = seglen - 2;
        pos += seglen;
        if (m == 0xc0 || m == 0xc1 || m == 0xc2) {
            if (f.seen)
                return orf_fail(e, "bad_image",
                                "%s: damaged JPEG (a second frame header at byte %zu): the file "
                                "is corrupt",
                                name, at);
            if (sl < 6)
                return orf_fail(e, "bad_image", "%s: damaged JPEG (a short frame header): the file is corrupt", name);
            if (s[0] != 8)
                return orf_fail(e, "bad_image",
                                "%s: a %d-bit JPEG, which is not supported (only 8-bit samples): "
                                "save it as an 8-bit JPEG or as PNG",
                                name, s[0]);
            f.y = be16(s + 1);
            f.x = be16(s + 3);
            f.ncomp = s[5];
            if (f.y == 0 && f.x != 0)
                return orf_fail(e, "bad_image",
                                "%s: a JPEG whose height is given after its data (a DNL marker), "
                                "which is not supported: save it again",
                                name);
            if (check_size(name, "JPEG", f.x, f.y, max_pixels, e))
                return -1;
            if ((f.ncomp != 1 && f.ncomp != 3 && f.ncomp != 4) || sl != 6 + 3 * (size_t)f.ncomp)
                return orf_fail(e, "bad_image",
                                "%s: damaged or unsupported JPEG (%d components; 1, 3 or 4 are "
                                "read): save it again as a plain JPEG or PNG",
                                name, f.ncomp);
            f.hmax = f.vmax = 1;
            for (int i = 0; i < f.ncomp; i++) {
                f.id[i] = s[6 + 3 * i];
                f.hs[i] = s[7 + 3 * i] >> 4;
                f.vs[i] = s[7 + 3 * i] & 15;
                if (f.hs[i] < 1 || f.hs[i] > 4 || f.vs[i] < 1 || f.vs[i] > 4)
                    return orf_fail(e, "bad_image",
                                    "%s: damaged JPEG (sampling factors %dx%d): the file is corrupt",
                                    name, f.hs[i], f.vs[i]);
                if (f.hs[i] > f.hmax)
                    f.hmax = f.hs[i];
                if (f.vs[i] > f.vmax)
                    f.vmax = f.vs[i];
            }
            f.progressive = m == 0xc2;
            f.seen = 1;
        } else if ((m >= 0xc3 && m <= 0xcf) && m != 0xc4 && m != 0xc8 && m != 0xcc) {
            return orf_fail(e, "bad_image",
                            "%s: a lossless, hierarchical or arithmetic-coded JPEG (SOF%u), which "
                            "is not supported: save it as a baseline or progressive JPEG, or as "
                            "PNG",
                            name, m - 0xc0);
        } else if (m == 0xda) {
            if (!f.seen)
                return orf_fail(e, "bad_image",
                                "%s: damaged JPEG (image data at byte %zu before the frame "
                                "header): the file is corrupt",
                                name, at);
            int ns = sl >= 1 ? s[0] : 0;
            if (ns < 1 || ns > f.ncomp || sl != 4 + 2 * (size_t)ns)
                return orf_fail(e, "bad_image",
                                "%s: damaged JPEG (a scan header at byte %zu): the file is corrupt",
                                name, at);
            int which[4];
            for (int k = 0; k < ns; k++) {
                which[k] = -1;
                for (int i = 0; i < f.ncomp; i++)
                    if (f.id[i] == s[1 + 2 * k])
                        which[k] = i;
                if (which[k] < 0)
                    return orf_fail(e, "bad_image",
                                    "%s: damaged JPEG (a scan of a component the frame does not "
                                    "have): the file is corrupt",
                                    name);
            }
            int ss = s[1 + 2 * ns], ah = s[3 + 2 * ns] >> 4;
            /* the entropy-coded data runs to the next marker that is not a
             * stuffed 0xFF00 or a restart marker */
            size_t start = pos;
            for (;;) {
                const uint8_t *q = memchr(d + pos, 0xff, n - pos);
                if (!q || (size_t)(q - d) + 1 >= n)
                    return orf_fail(e, "bad_image",
                                    "%s: truncated JPEG (the file ends at byte %zu, inside the "
                                    "image data of a %u x %u image that starts at byte %zu): the "
                                    "file is incomplete; copy or save it again",
                                    name, n, f.x, f.y, start);
                size_t qi = (size_t)(q - d);
                uint8_t next = d[qi + 1];
                if (next == 0x00 || (next >= 0xd0 && next <= 0xd7)) {
                    pos = qi + 2;
                    continue;
                }
                if (next == 0xff) {
                    pos = qi + 1;
                    continue;
                }
                pos = qi;
                break;
            }
            /* a first scan codes every block in at least one bit (a Huffman
             * code is never shorter); AC scans can skip blocks by the thousand */
            if (!f.progressive || ss == 0) {
                uint64_t blocks = jpeg_scan_blocks(&f, which, ns);
                if ((uint64_t)(pos - start) * 8 < blocks)
                    return orf_fail(e, "bad_image",
                                    "%s: damaged JPEG (the scan at byte %zu holds %zu bytes, but "
                                    "the %u x %u image it claims to code needs at least %llu): "
                                    "the header is wrong or the data was cut",
                                    name, at, pos - start, f.x, f.y,
                                    (unsigned long long)((blocks + 7) / 8));
            }
            if (!f.progressive || (ss == 0 && ah == 0))
                for (int k = 0; k < ns; k++)
                    covered |= 1u << which[k];
            scans++;
        } else if (m == 0xdb || m == 0xc4 || m == 0xdd || m == 0xdc || m == 0xfe ||
                   (m >= 0xe0 && m <= 0xef)) {
            /* tables, restart interval, line count, comments, APPn: read by the decoder */
        } else {
            return orf_fail(e, "bad_image",
                            "%s: damaged or unsupported JPEG (marker FF%02X at byte %zu): save it "
                            "again as a plain JPEG or PNG",
                            name, m, at);
        }
    }
    if (!f.seen || !scans)
        return orf_fail(e, "bad_image",
                        "%s: damaged JPEG (it ends without %s): the file is incomplete",
                        name, f.seen ? "any image data" : "a frame header");
    for (int i = 0; i < f.ncomp; i++)
        if (!(covered & (1u << i)))
            return orf_fail(e, "bad_image",
                            "%s: incomplete JPEG (no image data for component %d of %d): the "
                            "file is damaged; copy or save it again",
                            name, i + 1, f.ncomp);
    hdr->w = (int)f.x;
    hdr->h = (int)f.y;
    hdr->bits = 8;
    hdr->channels = f.ncomp == 1 ? 1 : 3;
    return 0;
}

/* ---- BMP ---- */

static int check_bmp(const uint8_t *d, size_t n, const char *name, uint64_t max_pixels,
                     image_header *hdr, orf_err *e)
{
    static const char cut[] = "%s: truncated BMP (the file ends at byte %zu, inside its %s): the "
                              "file is incomplete; copy or save it again";
    if (n < 18)
        return orf_fail(e, "bad_image", cut, name, n, "header");
    uint32_t offset = le32(d + 10), hsz = le32(d + 14);
    if (hsz != 12 && hsz != 40 && hsz != 56 && hsz != 108 && hsz != 124)
        return orf_fail(e, "bad_image",
                        "%s: a BMP with a %u-byte header, which is not supported: save it again "
                        "as a plain BMP or as PNG",
                        name, hsz);
    if (n < 14 + (size_t)hsz)
        return orf_fail(e, "bad_image", cut, name, n, "header");
    const uint8_t *p = d + 14;
    int64_t w, h;
    unsigned planes, bpp, compress = 0;
    if (hsz == 12) {
        w = le16(p + 4);
        h = le16(p + 6);
        planes = le16(p + 8);
        bpp = le16(p + 10);
    } else {
        w = (int32_t)le32(p + 4);
        h = (int32_t)le32(p + 8);
        planes = le16(p + 12);
        bpp = le16(p + 14);
        compress = le32(p + 16);
    }
    if (compress == 1 || compress == 2)
        return orf_fail(e, "bad_image",
                        "%s: an RLE-compressed BMP, which is not supported: save it uncompressed "
                        "or as PNG",
                        name);
    if (compress >= 4)
        return orf_fail(e, "bad_image",
                        "%s: a BMP holding compressed data of kind %u (JPEG or PNG inside), which "
                        "is not supported: save it as PNG",
                        name, compress);
    if (planes != 1 || (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32) ||
        (compress == 3 && bpp != 16 && bpp != 32))
        return orf_fail(e, "bad_image",
                        "%s: damaged or unsupported BMP (%u planes, %u bits a pixel, compression "
                        "%u): save it again as a plain BMP or as PNG",
                        name, planes, bpp, compress);
    if (w < 0 || h == INT32_MIN)
        return orf_fail(e, "bad_image",
                        "%s: the BMP header claims %lld x %lld pixels: the file is damaged", name,
                        (long long)w, (long long)h);
    uint64_t aw = (uint64_t)w, ah = (uint64_t)(h < 0 ? -h : h);
    if (check_size(name, "BMP", aw, ah, max_pixels, e))
        return -1;
    /* where stb_image's reader is when the header ends, and the palette it reads */
    size_t hdr_end = 14 + (size_t)hsz + ((hsz == 40 || hsz == 56) && compress == 3 ? 12 : 0);
    int64_t psize = 0;
    if (bpp < 16)
        psize = hsz == 12 ? ((int64_t)offset - 14 - 24) / 3 : ((int64_t)offset - 14 - hsz) / 4;
    if (bpp < 16 && (psize < 1 || psize > 256))
        return orf_fail(e, "bad_image",
                        "%s: damaged BMP (its pixel data at byte %u leaves room for a palette of "
                        "%lld colours, not 1 to 256): the file is corrupt",
                        name, offset, (long long)psize);
    if (bpp >= 16 && offset != hdr_end)
        return orf_fail(e, "bad_image",
                        "%s: damaged or unsupported BMP (pixel data at byte %u, not right after "
                        "the header at byte %zu): save it again as a plain BMP or as PNG",
                        name, offset, hdr_end);
    uint64_t rowbytes = (aw * bpp + 7) / 8;
    uint64_t stride = (rowbytes + 3) & ~(uint64_t)3;
    uint64_t need = (uint64_t)offset + stride * (ah - 1) + rowbytes;
    if (need > n)
        return orf_fail(e, "bad_image",
                        "%s: truncated BMP (%llu x %llu pixels of %u bits need the file to reach "
                        "byte %llu; it ends at byte %zu): the file is incomplete or its header is "
                        "wrong; copy or save it again",
                        name, (unsigned long long)aw, (unsigned long long)ah, bpp,
                        (unsigned long long)need, n);
    /* a palette index past the palette would read colours the file never gave */
    if (bpp < 16 && psize < (1 << bpp)) {
        for (uint64_t y = 0; y < ah; y++) {
            const uint8_t *row = d + offset + y * stride;
            for (uint64_t x = 0; x < aw; x++) {
                unsigned v = bpp == 8 ? row[x]
                             : bpp == 4 ? (row[x / 2] >> (x & 1 ? 0 : 4)) & 15
                                        : (row[x / 8] >> (7 - (x & 7))) & 1;
                if (v >= (unsigned)psize)
                    return orf_fail(e, "bad_image",
                                    "%s: damaged BMP (pixel %llu,%llu is colour %u of a %lld-colour "
                                    "palette): the file is corrupt",
                                    name, (unsigned long long)x, (unsigned long long)y, v,
                                    (long long)psize);
            }
        }
    }
    hdr->w = (int)aw;
    hdr->h = (int)ah;
    hdr->bits = 8;
    hdr->channels = 0;
    return 0;
}

/* ---- GIF ---- */

/* Skip a chain of data sub-blocks at *pos; 0, or -1 when the file ends first. */
static int gif_skip_blocks(const uint8_t *d, size_t n, size_t *pos)
{
    for (;;) {
        if (*pos >= n)
            return -1;
        unsigned len = d[(*pos)++];
        if (len == 0)
            return 0;
        if (n - *pos < len)
            return -1;
        *pos += len;
    }
}

/* Count the pixels the LZW data from `pos` (sub-blocks) yields, the way
 * stb_image's decoder runs (a first clear code required, codes up to the
 * next free one, at most 8192 table entries), stopping once `target` are
 * reached. -1 with *why set when stb_image would fail. */
static int64_t gif_lzw_pixels(const uint8_t *d, size_t n, size_t pos, int lzw_cs, uint64_t target,
                              const char **why)
{
    static const int max_codes = 8192;
    uint16_t lens[8192];
    int clear = 1 << lzw_cs, codesize = lzw_cs + 1, codemask = (1 << codesize) - 1;
    int avail = clear + 2, oldcode = -1, first = 1;
    for (int i = 0; i < clear; i++)
        lens[i] = 1;
    uint32_t bits = 0;
    int valid = 0;
    size_t left = 0;
    uint64_t count = 0;
    for (;;) {
        if (valid < codesize) {
            if (left == 0) {
                if (pos >= n)
                    return (int64_t)count;
                left = d[pos++];
                if (left == 0)
                    return (int64_t)count;
            }
            if (pos >= n)
                return (int64_t)count;
            left--;
            bits |= (uint32_t)d[pos++] << valid;
            valid += 8;
            continue;
        }
        int code = (int)(bits & (uint32_t)codemask);
        bits >>= codesize;
        valid -= codesize;
        if (code == clear) {
            codesize = lzw_cs + 1;
            codemask = (1 << codesize) - 1;
            avail = clear + 2;
            oldcode = -1;
            first = 0;
        } else if (code == clear + 1) {
            return (int64_t)count;
        } else if (code <= avail) {
            if (first) {
                *why = "its image data does not start with a clear code";
                return -1;
            }
            if (oldcode >= 0) {
                int slot = avail++;
                if (avail > max_codes) {
                    *why = "its image data overflows the code table";
                    return -1;
                }
                lens[slot] = (uint16_t)(lens[oldcode] + 1);
            } else if (code == avail) {
                *why = "its image data holds an undefined code";
                return -1;
            }
            count += lens[code];
            if (count >= target)
                return (int64_t)count;
            if ((avail & codemask) == 0 && avail <= 0x0fff) {
                codesize++;
                codemask = (1 << codesize) - 1;
            }
            oldcode = code;
        } else {
            *why = "its image data holds an undefined code";
            return -1;
        }
    }
}

static int check_gif(const uint8_t *d, size_t n, const char *name, uint64_t max_pixels,
                     image_header *hdr, orf_err *e)
{
    static const char cut[] = "%s: truncated GIF (the file ends at byte %zu, %s, before its "
                              "trailer): the file is incomplete; copy or save it again";
    if (n < 13)
        return orf_fail(e, "bad_image", cut, name, n, "inside its header");
    if ((d[4] != '7' && d[4] != '9') || d[5] != 'a')
        return orf_fail(e, "bad_image",
                        "%s: a GIF of unknown version \"GIF%c%c\": the file is damaged", name,
                        isprint(d[4]) ? d[4] : '?', isprint(d[5]) ? d[5] : '?');
    unsigned W = le16(d + 6), H = le16(d + 8), flags = d[10];
    if (check_size(name, "GIF", W, H, max_pixels, e))
        return -1;
    size_t pos = 13;
    if (flags & 0x80)
        pos += 3u << ((flags & 7) + 1);
    if (pos > n)
        return orf_fail(e, "bad_image", cut, name, n, "inside its colour table");
    int frames = 0;
    for (;;) {
        if (pos >= n)
            return orf_fail(e, "bad_image", cut, name, n, "between blocks");
        size_t at = pos;
        unsigned b = d[pos++];
        if (b == 0x3b)
            break;
        if (b == 0x21) {
            if (pos >= n || (pos++, gif_skip_blocks(d, n, &pos) != 0))
                return orf_fail(e, "bad_image", cut, name, n, "inside an extension block");
            continue;
        }
        if (b != 0x2c)
            return orf_fail(e, "bad_image",
                            "%s: damaged GIF (byte %zu is 0x%02x, not a block): the file is "
                            "corrupt; copy or save it again",
                            name, at, b);
        if (n - pos < 10)
            return orf_fail(e, "bad_image", cut, name, n, "inside a frame header");
        unsigned fx = le16(d + pos), fy = le16(d + pos + 2), fw = le16(d + pos + 4),
                 fh = le16(d + pos + 6), lflags = d[pos + 8];
        pos += 9;
        if (lflags & 0x80)
            pos += 3u << ((lflags & 7) + 1);
        if (pos >= n)
            return orf_fail(e, "bad_image", cut, name, n, "inside a frame's colour table");
        int lzw_cs = d[pos++];
        size_t data = pos;
        if (gif_skip_blocks(d, n, &pos) != 0)
            return orf_fail(e, "bad_image", cut, name, n, "inside a frame's image data");
        if (frames++ == 0) {
            if (fw == 0 || fh == 0 || fx + fw > W || fy + fh > H)
                return orf_fail(e, "bad_image",
                                "%s: damaged GIF (its first frame, %u x %u at %u,%u, is empty or "
                                "outside the %u x %u image): the file is corrupt",
                                name, fw, fh, fx, fy, W, H);
            if (lzw_cs > 12)
                return orf_fail(e, "bad_image",
                                "%s: damaged GIF (an LZW code size of %d): the file is corrupt",
                                name, lzw_cs);
            const char *why = NULL;
            uint64_t want = (uint64_t)fw * fh;
            int64_t got = gif_lzw_pixels(d, n, data, lzw_cs, want, &why);
            if (got < 0)
                return orf_fail(e, "bad_image", "%s: damaged GIF (%s): the file is corrupt", name,
                                why);
            if ((uint64_t)got < want)
                return orf_fail(e, "bad_image",
                                "%s: incomplete GIF (its first frame's data yields %lld of its %u "
                                "x %u pixels): the file is damaged or was cut; copy or save it "
                                "again",
                                name, (long long)got, fw, fh);
        }
    }
    if (!frames)
        return orf_fail(e, "bad_image", "%s: a GIF with no image in it: the file is damaged", name);
    hdr->w = (int)W;
    hdr->h = (int)H;
    hdr->bits = 8;
    hdr->channels = 0;
    return 0;
}

/* ---- TGA ---- */

/* stb_image's TGA test: the header's fields take values it reads. */
static int tga_like(const uint8_t *d, size_t n)
{
    if (n < 18)
        return 0;
    unsigned cmtype = d[1], type = d[2], bpp = d[16];
    if (cmtype > 1)
        return 0;
    if (cmtype == 1) {
        if (type != 1 && type != 9)
            return 0;
        unsigned cb = d[7];
        if (cb != 8 && cb != 15 && cb != 16 && cb != 24 && cb != 32)
            return 0;
        if (bpp != 8 && bpp != 16)
            return 0;
    } else if (type != 2 && type != 3 && type != 10 && type != 11) {
        return 0;
    }
    if (le16(d + 12) < 1 || le16(d + 14) < 1)
        return 0;
    return bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

static int check_tga(const uint8_t *d, size_t n, const char *name, uint64_t max_pixels,
                     image_header *hdr, orf_err *e)
{
    unsigned idlen = d[0], indexed = d[1], type = d[2], cmfirst = le16(d + 3), cmlen = le16(d + 5),
             cmbits = d[7], w = le16(d + 12), h = le16(d + 14), bpp = d[16];
    if (check_size(name, "TGA", w, h, max_pixels, e))
        return -1;
    uint64_t start = 18 + (uint64_t)idlen;
    if (indexed) {
        if (cmlen == 0)
            return orf_fail(e, "bad_image",
                            "%s: damaged TGA (a colour-mapped image with an empty colour map): the "
                            "file is corrupt",
                            name);
        unsigned pb = cmbits == 15 ? 2 : cmbits / 8;
        start += cmfirst + (uint64_t)cmlen * pb; /* stb_image skips cmfirst bytes */
    }
    unsigned pixel = bpp == 15 ? 2 : bpp / 8;
    uint64_t total = (uint64_t)w * h;
    uint64_t end;
    if (type < 8) {
        end = start + total * pixel;
    } else { /* RLE packets, walked to the last pixel as stb_image reads them */
        uint64_t pos = start, px = 0;
        while (px < total) {
            if (pos >= n)
                break;
            unsigned c = d[pos++];
            uint64_t count = (c & 127) + 1u;
            if (count > total - px)
                count = total - px;
            pos += c & 0x80 ? pixel : count * pixel;
            px += count;
        }
        end = px < total ? (uint64_t)n + 1 : pos;
    }
    if (end > n)
        return orf_fail(e, "bad_image",
                        "%s: truncated TGA (the data of its %u x %u pixels of %u bits runs past "
                        "the file's end at byte %zu): the file is incomplete or its header is "
                        "wrong; copy or save it again",
                        name, w, h, bpp, n);
    hdr->w = (int)w;
    hdr->h = (int)h;
    hdr->bits = 8;
    hdr->channels = 0;
    return 0;
}

/* ---- PNM ---- */

/* One header number at *at after whitespace and comments. 0, or -1 with
 * what was there instead in `what` ("\"-5\"", "nothing"). */
static int pnm_number(const uint8_t *d, size_t n, size_t *at, uint64_t *v, char *what, size_t nw)
{
    size_t i = *at;
    for (;;) {
        while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r' ||
                         d[i] == '\v' || d[i] == '\f'))
            i++;
        if (i < n && d[i] == '#') {
            while (i < n && d[i] != '\n' && d[i] != '\r')
                i++;
            continue;
        }
        break;
    }
    uint64_t x = 0;
    size_t k = i;
    while (k < n && d[k] >= '0' && d[k] <= '9' && k - i < 12)
        x = x * 10 + (uint64_t)(d[k++] - '0');
    if (k > i && (k >= n || !(d[k] >= '0' && d[k] <= '9'))) {
        *v = x;
        *at = k;
        return 0;
    }
    char tok[13];
    size_t m = 0;
    for (size_t j = i; j < n && m < 12 && d[j] > ' ' && d[j] < 127; j++)
        tok[m++] = (char)d[j];
    tok[m] = 0;
    if (m)
        snprintf(what, nw, "\"%s\"", tok);
    else
        snprintf(what, nw, "%s", i >= n ? "missing" : "not printable");
    return -1;
}

static int check_pnm(const uint8_t *d, size_t n, const char *name, uint64_t max_pixels,
                     image_header *hdr, orf_err *e)
{
    const char *kind = d[1] == '5' ? "PGM" : "PPM";
    static const char *const what[3] = {"width", "height", "maximum value"};
    uint64_t v[3];
    size_t at = 2;
    if (n > 2 && !(d[2] == ' ' || d[2] == '\t' || d[2] == '\n' || d[2] == '\r' || d[2] == '#'))
        return orf_fail(e, "bad_image", "%s: damaged %s header (no space after \"P%c\"): the file is corrupt",
                        name, kind, d[1]);
    for (int i = 0; i < 3; i++) {
        char got[24];
        if (pnm_number(d, n, &at, &v[i], got, sizeof got) != 0)
            return orf_fail(e, "bad_image",
                            "%s: damaged %s header (its %s is %s, not a positive whole number): "
                            "the file is corrupt",
                            name, kind, what[i], got);
        if (i == 1 && check_size(name, kind, v[0], v[1], max_pixels, e))
            return -1;
    }
    if (v[2] < 1 || v[2] > 65535)
        return orf_fail(e, "bad_image",
                        "%s: damaged %s header (its maximum value is %llu, not 1 to 65535): the "
                        "file is corrupt",
                        name, kind, (unsigned long long)v[2]);
    if (at >= n || !(d[at] == ' ' || d[at] == '\t' || d[at] == '\n' || d[at] == '\r'))
        return orf_fail(e, "bad_image",
                        "%s: truncated %s (the file ends at byte %zu, right after its header): "
                        "the file is incomplete",
                        name, kind, n);
    at++;
    uint64_t ch = d[1] == '6' ? 3 : 1, bytes = v[2] > 255 ? 2 : 1;
    uint64_t need = v[0] * v[1] * ch * bytes;
    if (need > n - at)
        return orf_fail(e, "bad_image",
                        "%s: truncated %s (%llu x %llu pixels need %llu bytes of samples from "
                        "byte %zu; the file ends at byte %zu): the file is incomplete or its "
                        "header is wrong; copy or save it again",
                        name, kind, (unsigned long long)v[0], (unsigned long long)v[1],
                        (unsigned long long)need, at, n);
    hdr->w = (int)v[0];
    hdr->h = (int)v[1];
    hdr->channels = (int)ch;
    hdr->bits = v[2] > 255 ? 16 : 8;
    hdr->data_offset = at;
    hdr->maxval = (unsigned)v[2];
    return 0;
}

/* ---- naming ---- */

static int starts(const uint8_t *d, size_t n, const char *magic, size_t m)
{
    return n >= m && memcmp(d, magic, m) == 0;
}

/* A format stb_image does not read, by its signature; NULL when none matches. */
static const char *other_format(const uint8_t *d, size_t n)
{
    if (starts(d, n, "RIFF", 4) && n >= 12 && memcmp(d + 8, "WEBP", 4) == 0)
        return "a WebP image";
    if (starts(d, n, "II*\0", 4) || starts(d, n, "MM\0*", 4))
        return "a TIFF image";
    if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0) {
        if (memcmp(d + 8, "avif", 4) == 0 || memcmp(d + 8, "avis", 4) == 0)
            return "an AVIF image";
        if (memcmp(d + 8, "hei", 3) == 0 || memcmp(d + 8, "mif1", 4) == 0 ||
            memcmp(d + 8, "msf1", 4) == 0 || memcmp(d + 8, "hev", 3) == 0)
            return "a HEIF/HEIC image";
        return "an MP4 or QuickTime file";
    }
    if (starts(d, n, "\0\0\0\x0cjP  \r\n\x87\n", 12) || starts(d, n, "\xff\x4f\xff\x51", 4))
        return "a JPEG 2000 image";
    if (starts(d, n, "\xff\x0a", 2) || starts(d, n, "\0\0\0\x0cJXL \r\n\x87\n", 12))
        return "a JPEG XL image";
    if (starts(d, n, "qoif", 4))
        return "a QOI image";
    if (starts(d, n, "\0\0\1\0", 4))
        return "a Windows icon (ICO)";
    if (starts(d, n, "DDS ", 4))
        return "a DirectDraw surface (DDS)";
    if (starts(d, n, "\x76\x2f\x31\x01", 4))
        return "an OpenEXR image";
    if (starts(d, n, "%PDF", 4))
        return "a PDF document";
    if (starts(d, n, "\x1f\x8b", 2))
        return "a gzip-compressed file";
    if (starts(d, n, "PK\3\4", 4))
        return "a ZIP archive";
    if (n >= 2 && d[0] == 'P' && ((d[1] >= '1' && d[1] <= '4') || d[1] == '7' || d[1] == 'F' ||
                                  d[1] == 'f'))
        return d[1] == '7'   ? "a PAM image"
               : d[1] == '4' ? "a binary PBM (1-bit) image"
               : d[1] >= '1' && d[1] <= '3' ? "a plain-text PNM image"
                                            : "a PFM (floating-point) image";
    size_t i = 0;
    if (starts(d, n, "\xef\xbb\xbf", 3))
        i = 3;
    while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r'))
        i++;
    if (n - i >= 4 && (memcmp(d + i, "<svg", 4) == 0 ||
                       (n - i >= 5 && memcmp(d + i, "<?xml", 5) == 0) ||
                       (n - i >= 9 && memcmp(d + i, "<!DOCTYPE", 9) == 0)))
        return "an SVG or XML document";
    return NULL;
}

int image_check(const uint8_t *d, size_t n, const char *name, uint64_t max_pixels,
                image_header *hdr, orf_err *e)
{
    memset(hdr, 0, sizeof *hdr);
    if (!name)
        name = "<image>";
    if (n == 0)
        return orf_fail(e, "bad_image", "%s: empty file (0 bytes): give an image file", name);
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    image_format f = IMAGE_FORMAT_UNKNOWN;
    if (starts(d, n, (const char *)png_sig, 8))
        f = IMAGE_FORMAT_PNG;
    else if (starts(d, n, "\xff\xd8", 2))
        f = IMAGE_FORMAT_JPEG;
    else if (starts(d, n, "BM", 2))
        f = IMAGE_FORMAT_BMP;
    else if (starts(d, n, "GIF8", 4))
        f = IMAGE_FORMAT_GIF;
    else if (n >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '6'))
        f = IMAGE_FORMAT_PNM;
    else if (starts(d, n, "#?", 2))
        f = IMAGE_FORMAT_HDR;
    else if (starts(d, n, "8BPS", 4))
        f = IMAGE_FORMAT_PSD;
    else if (starts(d, n, "\x53\x80\xf6\x34", 4))
        f = IMAGE_FORMAT_PIC;
    hdr->format = f;
    switch (f) {
    case IMAGE_FORMAT_PNG: return check_png(d, n, name, max_pixels, hdr, e);
    case IMAGE_FORMAT_JPEG: return check_jpeg(d, n, name, max_pixels, hdr, e);
    case IMAGE_FORMAT_BMP: return check_bmp(d, n, name, max_pixels, hdr, e);
    case IMAGE_FORMAT_GIF: return check_gif(d, n, name, max_pixels, hdr, e);
    case IMAGE_FORMAT_PNM: return check_pnm(d, n, name, max_pixels, hdr, e);
    case IMAGE_FORMAT_HDR:
        return orf_fail(e, "bad_image",
                        "%s: a Radiance HDR image, which is refused (its decoder can loop for ever "
                        "on a damaged file): convert it to PNG",
                        name);
    case IMAGE_FORMAT_PSD:
        return orf_fail(e, "bad_image",
                        "%s: a Photoshop PSD file, which is refused (its decoder does not check "
                        "the file against its header): export it as PNG",
                        name);
    case IMAGE_FORMAT_PIC:
        return orf_fail(e, "bad_image",
                        "%s: a Softimage PIC image, which is refused (its decoder does not check "
                        "the file against its header): convert it to PNG",
                        name);
    default: break;
    }
    /* TGA has no signature: a header stb_image would take as one (which no
     * signature above or below can be) */
    if (tga_like(d, n)) {
        hdr->format = IMAGE_FORMAT_TGA;
        return check_tga(d, n, name, max_pixels, hdr, e);
    }
    const char *other = other_format(d, n);
    if (other) {
        hdr->format = IMAGE_FORMAT_OTHER;
        return orf_fail(e, "bad_image",
                        "%s: %s, which is not read (PNG, JPEG, BMP, GIF, TGA and binary PNM are): "
                        "convert it to PNG",
                        name, other);
    }
    if (n >= 4 && memcmp(d + 1, "PNG", 3) == 0)
        return orf_fail(e, "bad_image",
                        "%s: a PNG whose signature is damaged (was it copied as text, converting "
                        "line ends?): copy it again as a binary file",
                        name);
    /* text, or bytes of no known kind */
    size_t k = 0, probe = n < 64 ? n : 64;
    while (k < probe && (isprint(d[k]) || d[k] == '\n' || d[k] == '\r' || d[k] == '\t'))
        k++;
    if (k == probe) {
        char text[33];
        size_t m = 0;
        for (size_t j = 0; j < probe && m < 32; j++)
            text[m++] = d[j] == '\n' || d[j] == '\r' || d[j] == '\t' ? ' ' : (char)d[j];
        text[m] = 0;
        return orf_fail(e, "bad_image",
                        "%s: not an image but text (\"%s%s\"): give a PNG or JPEG file", name, text,
                        n > 32 ? "..." : "");
    }
    return orf_fail(e, "bad_image",
                    "%s: not an image of a known format (it starts with bytes %02x %02x %02x "
                    "%02x): give a PNG or JPEG file",
                    name, d[0], n > 1 ? d[1] : 0, n > 2 ? d[2] : 0, n > 3 ? d[3] : 0);
}
