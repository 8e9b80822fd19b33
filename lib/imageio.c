/* imageio.c - reading an image file and decoding it: the format is named and
 * the file checked against its header first (image_format.c), then stb_image
 * (or the PNM reader here) decodes in a bounded child (image_sandbox.c). */
#include "imageio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>
#include <zlib.h>

#include "image_sandbox.h"

#define IMAGE_MAX_FILE_BYTES ((size_t)1 << 30)

#if defined(__SANITIZE_ADDRESS__)
#define IMAGE_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IMAGE_UNDER_ASAN 1
#endif
#endif
#ifndef IMAGE_UNDER_ASAN
#define IMAGE_UNDER_ASAN 0
#endif

static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

int image_read_bytes(const char *path, size_t max_bytes, uint8_t **data, size_t *len, orf_err *e)
{
    *data = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO with no writer must not hang; what is not a
     * regular file is refused before a byte is read */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return orf_fail_errno(e, "io_error", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return orf_fail_errno(e, "io_error", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return orf_fail(e, "io_error", "%s: %s, not a file: give the path of an image file", path,
                        file_kind(st.st_mode));
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return orf_fail(e, "too_large", "%s: the file is larger than %zu bytes (%lld)", path,
                        max_bytes, (long long)st.st_size);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    /* the size is a hint: a file that grows while it is read is read to its
     * end, up to max_bytes */
    size_t cap = (size_t)st.st_size + 1, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return orf_fail(e, "too_large", "%s: out of memory for %zu bytes", path, cap);
    }
    for (;;) {
        if (n == cap) {
            if (cap > max_bytes) {
                free(buf);
                close(fd);
                return orf_fail(e, "too_large", "%s: the file is larger than %zu bytes", path,
                                max_bytes);
            }
            size_t ncap = cap * 2 > max_bytes + 1 ? max_bytes + 1 : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                close(fd);
                return orf_fail(e, "too_large", "%s: out of memory for %zu bytes", path, ncap);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int saved = errno;
            free(buf);
            close(fd);
            errno = saved;
            return orf_fail_errno(e, "io_error", path);
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    if (n > max_bytes) {
        free(buf);
        return orf_fail(e, "too_large", "%s: the file is larger than %zu bytes", path, max_bytes);
    }
    *data = buf;
    *len = n;
    return 0;
}

/* ---- decoding ---- */

/* The decoder's output: 4*w*h bytes of RGBA (from offset 0, so that the
 * mapping itself becomes the image), then this. */
typedef struct decode_out {
    int w, h, comp;
} decode_out;

static size_t decode_bytes(size_t npx) { return 4 * npx + sizeof(decode_out); }
static decode_out *decode_result(void *out, size_t npx)
{
    return (decode_out *)((uint8_t *)out + 4 * npx);
}

typedef struct decode_job {
    const uint8_t *data;
    size_t len;
    const image_header *hdr;
} decode_job;

/* Binary PNM (P5/P6, 8 or 16 bits a sample, any maxval), scaled to 8 bits.
 * image_check has read the header and proved the samples are there. */
static void decode_pnm(const decode_job *j, uint8_t *rgba)
{
    const image_header *h = j->hdr;
    const uint8_t *p = j->data + h->data_offset;
    unsigned maxval = h->maxval, ch = (unsigned)h->channels;
    size_t npx = (size_t)h->w * (size_t)h->h;
    for (size_t i = 0; i < npx; i++) {
        uint8_t *q = rgba + 4 * i;
        for (unsigned c = 0; c < 3; c++) {
            size_t s = i * ch + (ch == 3 ? c : 0);
            unsigned v = h->bits == 16 ? (unsigned)p[2 * s] << 8 | p[2 * s + 1] : p[s];
            if (v > maxval)
                v = maxval;
            q[c] = maxval == 255 ? (uint8_t)v : (uint8_t)((v * 255u + maxval / 2) / maxval);
        }
        q[3] = 255;
    }
}

/* Runs in the sandbox (or in-process): decode into `out` (RGBA, then decode_out). */
static int decode_fn(void *arg, void *out, size_t size, char *why, size_t nwhy)
{
    const decode_job *j = arg;
    const image_header *h = j->hdr;
    size_t npx = (size_t)h->w * (size_t)h->h;
    uint8_t *rgba = out;
    decode_out *o = decode_result(out, npx);
    if (size < decode_bytes(npx)) {
        snprintf(why, nwhy, "output buffer too small");
        return -1;
    }
    if (h->format == IMAGE_FORMAT_PNM) {
        decode_pnm(j, rgba);
        o->w = h->w;
        o->h = h->h;
        o->comp = h->channels;
        return 0;
    }
    if (j->len > INT_MAX) {
        snprintf(why, nwhy, "more bytes than the decoder takes");
        return -1;
    }
    /* Decode in the file's own channel count and expand to RGBA here: asking
     * stb_image (2.27, Debian's) for 4 channels makes its 16-bit PNM path
     * read past the buffer (tests/fuzz/regress/image/). */
    int w = 0, hh = 0, comp = 0;
    stbi_uc *px = stbi_load_from_memory(j->data, (int)j->len, &w, &hh, &comp, 0);
    if (!px) {
        const char *r = stbi_failure_reason();
        snprintf(why, nwhy, "%s", r && r[0] ? r : "no reason given");
        return -1;
    }
    if (w != h->w || hh != h->h || comp < 1 || comp > 4) {
        snprintf(why, nwhy, "it decoded to %d x %d pixels of %d channels, not the header's %d x %d",
                 w, hh, comp, h->w, h->h);
        stbi_image_free(px);
        return -1;
    }
    for (size_t i = 0; i < npx; i++) {
        const stbi_uc *p = px + i * (size_t)comp;
        uint8_t *q = rgba + 4 * i;
        switch (comp) {
        case 1: q[0] = q[1] = q[2] = p[0]; q[3] = 255; break;
        case 2: q[0] = q[1] = q[2] = p[0]; q[3] = p[1]; break;
        case 3: q[0] = p[0]; q[1] = p[1]; q[2] = p[2]; q[3] = 255; break;
        default: memcpy(q, p, 4); break;
        }
    }
    stbi_image_free(px);
    o->w = w;
    o->h = hh;
    o->comp = comp;
    return 0;
}

void image_bounds_default(const image_header *hdr, size_t len, image_bounds *b)
{
    memset(b, 0, sizeof *b);
    uint64_t px = (uint64_t)hdr->w * (uint64_t)hdr->h;
    /* stb_image's worst case is a 16-bit RGBA PNG: the inflated rows (8
     * bytes a pixel, grown by doubling), the 16-bit image and its 8-bit copy */
    uint64_t mem = ((uint64_t)64 << 20) + 32 * px + 2 * (uint64_t)len;
    uint64_t cpu = 4 + px / 2000000;
    if (IMAGE_UNDER_ASAN) { /* redzones, quarantine, a slower decoder */
        mem = mem * 2 + ((uint64_t)512 << 20);
        cpu *= 4;
    }
    if (cpu > 600)
        cpu = 600;
    b->memory_bytes = mem > SIZE_MAX ? SIZE_MAX : (size_t)mem;
    b->cpu_seconds = (unsigned)cpu;
    b->wall_ms = (unsigned)(2 * cpu + 4) * 1000u;
}

int image_decode(const void *data, size_t len, const char *name, const image_header *hdr,
                 const image_bounds *bounds, orf_image *img, orf_err *e)
{
    memset(img, 0, sizeof *img);
    if (!name)
        name = "<image>";
    const char *fmt = image_format_name(hdr->format);
    if (hdr->w <= 0 || hdr->h <= 0 || hdr->format < IMAGE_FORMAT_PNG ||
        hdr->format > IMAGE_FORMAT_PNM)
        return orf_fail(e, "bad_image", "%s: not a checked image header: call image_check first",
                        name);
    image_bounds def;
    if (!bounds) {
        image_bounds_default(hdr, len, &def);
        bounds = &def;
    }
    size_t npx = (size_t)hdr->w * (size_t)hdr->h;
    size_t size = decode_bytes(npx);
    decode_job job = {data, len, hdr};
    void *out = NULL;
    char why[256] = "";
    sandbox_result r;
    memset(&r, 0, sizeof r);
    int rc;
    if (bounds->in_process) {
        out = malloc(size);
        if (!out)
            return orf_fail(e, "too_large", "%s: out of memory for a %d x %d image", name, hdr->w,
                            hdr->h);
        rc = decode_fn(&job, out, size, why, sizeof why);
        if (rc) {
            r.status = SANDBOX_FAILED;
            memcpy(r.why, why, sizeof r.why);
        }
    } else {
        sandbox_limits lim = {bounds->cpu_seconds, bounds->wall_ms, bounds->memory_bytes};
        rc = sandbox_run(decode_fn, &job, size, &lim, &out, &r);
    }
    const decode_out *o = rc == 0 ? decode_result(out, npx) : NULL;
    if (o && (o->w != hdr->w || o->h != hdr->h || o->comp < 1 || o->comp > 4)) {
        r.status = SANDBOX_FAILED;
        snprintf(r.why, sizeof r.why, "the decoder reported %d x %d pixels of %d channels", o->w,
                 o->h, o->comp);
        rc = -1;
    }
    if (rc == 0) {
        /* the output becomes the image: no copy */
        img->rgba = out;
        img->mapped = bounds->in_process ? 0 : sandbox_mapping_bytes(size);
        img->w = hdr->w;
        img->h = hdr->h;
        img->had_alpha = o->comp == 2 || o->comp == 4;
        return 0;
    }
    switch (r.status) {
    case SANDBOX_FAILED:
        if (strncmp(r.why, "outofmem", 8) == 0)
            orf_fail(e, "bad_image",
                     "%s: decoding this %s needed more memory than a %d x %d image may take "
                     "(%zu MiB): the file is damaged or hostile",
                     name, fmt, hdr->w, hdr->h, bounds->memory_bytes >> 20);
        else
            orf_fail(e, "bad_image",
                     "%s: cannot decode this %s (%s): the file is damaged; copy or save it "
                     "again",
                     name, fmt, r.why);
        break;
    case SANDBOX_CPU_LIMIT:
        orf_fail(e, "bad_image",
                 "%s: decoding this %s was stopped at its limit of %u s of CPU time: the file "
                 "is damaged or hostile",
                 name, fmt, bounds->cpu_seconds);
        break;
    case SANDBOX_WALL_LIMIT:
        orf_fail(e, "bad_image",
                 "%s: decoding this %s was stopped after %.1f s: the file is damaged or "
                 "hostile, or the machine is overloaded",
                 name, fmt, r.ms / 1e3);
        break;
    case SANDBOX_CRASHED: {
        char how[128];
        orf_fail(e, "bad_image",
                 "%s: the %s decoder %s on this file: it is damaged or hostile", name, fmt,
                 sandbox_status_text(&r, how, sizeof how));
        break;
    }
    case SANDBOX_NOT_STARTED:
    default:
        orf_fail(e, r.err == ENOMEM || r.err == EAGAIN ? "too_large" : "io_error",
                 "%s: cannot start the image decoder (%s)", name, r.why);
        break;
    }
    if (bounds->in_process)
        free(out);
    else
        sandbox_unmap(out, size);
    return -1;
}

int image_load_memory(const void *data, size_t len, const char *name, uint64_t max_pixels,
                      orf_image *img, orf_err *e)
{
    memset(img, 0, sizeof *img);
    if (!name)
        name = "<image>";
    if (max_pixels == 0)
        max_pixels = IMAGE_DEFAULT_MAX_PIXELS;
    image_header hdr;
    if (image_check(data, len, name, max_pixels, &hdr, e) != 0)
        return -1;
    return image_decode(data, len, name, &hdr, NULL, img, e);
}

int image_load_file(const char *path, uint64_t max_pixels, orf_image *img, orf_err *e)
{
    memset(img, 0, sizeof *img);
    uint8_t *data;
    size_t len;
    if (image_read_bytes(path, IMAGE_MAX_FILE_BYTES, &data, &len, e) != 0)
        return -1;
    int rc = image_load_memory(data, len, path, max_pixels, img, e);
    free(data);
    return rc;
}

/* ---- PNG out ---- */

/* zlib's level for PNG output: 4, the last of its "fast" levels. On the
 * four samples' textures (512 x 512, "sub" rows) it made files 1-33%
 * smaller than stb_image_write's level 8 in 2.6-5.3 ms against 10-13;
 * level 6 saved 0-19% more bytes but took up to 24 ms (the plaque). */
#define PNG_ZLIB_LEVEL 4

/* A big-endian 32-bit number at p. */
static void put_be32(uint8_t *p, uint32_t x)
{
    p[0] = (uint8_t)(x >> 24);
    p[1] = (uint8_t)(x >> 16);
    p[2] = (uint8_t)(x >> 8);
    p[3] = (uint8_t)x;
}

/* A chunk's length and type at p (its data follows), and its CRC after the
 * data: the chunk takes 12 + len bytes. */
static void png_chunk(uint8_t *p, const char *type, uint32_t len)
{
    put_be32(p, len);
    memcpy(p + 4, type, 4);
    put_be32(p + 8 + len, (uint32_t)crc32(crc32(0L, Z_NULL, 0), p + 4, (uInt)len + 4));
}

int image_encode_png(const orf_image *img, uint8_t **png, size_t *n, orf_err *e)
{
    *png = NULL;
    *n = 0;
    if (!img->rgba || img->w <= 0 || img->h <= 0 || img->w > (INT32_MAX - 1) / 4)
        return orf_fail(e, "too_large", "an image of %d x %d pixels cannot be PNG-encoded", img->w,
                        img->h);
    size_t stride = 4 * (size_t)img->w, raw_n = (stride + 1) * (size_t)img->h;
    uLong bound = compressBound((uLong)raw_n);
    if (bound >= UINT32_MAX - 64)
        return orf_fail(e, "too_large", "an image of %d x %d pixels is too large for one PNG", img->w, img->h);
    uint8_t *out = malloc(8 + 25 + 12 + bound + 12);
    uint8_t *row = malloc(stride + 1);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (!out || !row || deflateInit(&z, PNG_ZLIB_LEVEL) != Z_OK) {
        free(out);
        free(row);
        return orf_fail(e, "too_large", "out of memory PNG-encoding an image of %d x %d pixels", img->w,
                        img->h);
    }
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(out, sig, 8);
    uint8_t *ihdr = out + 8;
    put_be32(ihdr + 8, (uint32_t)img->w);
    put_be32(ihdr + 12, (uint32_t)img->h);
    ihdr[16] = 8; /* bits a channel */
    ihdr[17] = 6; /* RGBA */
    ihdr[18] = ihdr[19] = ihdr[20] = 0; /* deflate, adaptive filters, not interlaced */
    png_chunk(ihdr, "IHDR", 13);
    uint8_t *idat = ihdr + 25;
    z.next_out = idat + 8;
    z.avail_out = (uInt)bound;
    /* the rows, each behind its filter byte, "sub" (each byte less the one a
     * pixel to its left), deflated as they are made */
    int zr = Z_OK;
    for (int y = 0; y < img->h && zr == Z_OK; y++) {
        const uint8_t *src = img->rgba + (size_t)y * stride;
        row[0] = 1;
        memcpy(row + 1, src, 4);
        for (size_t i = 4; i < stride; i++)
            row[1 + i] = (uint8_t)(src[i] - src[i - 4]);
        z.next_in = row;
        z.avail_in = (uInt)(stride + 1);
        zr = deflate(&z, y + 1 == img->h ? Z_FINISH : Z_NO_FLUSH);
        if (zr == Z_OK && z.avail_in != 0)
            zr = Z_BUF_ERROR; /* the row is reused: it must have been taken whole */
    }
    uLong zn = z.total_out;
    deflateEnd(&z);
    free(row);
    if (zr != Z_STREAM_END) {
        free(out);
        return orf_fail(e, "too_large", "an image of %d x %d pixels could not be PNG-encoded (zlib %d)",
                        img->w, img->h, zr);
    }
    png_chunk(idat, "IDAT", (uint32_t)zn);
    png_chunk(idat + 12 + zn, "IEND", 0);
    *png = out;
    *n = 8 + 25 + 12 + zn + 12;
    return 0;
}
