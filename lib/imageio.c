/* imageio.c - image decoding through stb_image (linked from libstb). */
#include "imageio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stb_image.h>
#include <stb_image_write.h>

#define IMAGE_MAX_FILE_BYTES ((size_t)1 << 30)

int image_read_bytes(const char *path, size_t max_bytes, uint8_t **data, size_t *len, orf_err *e)
{
    *data = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO with no writer must not hang; reads block again after. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return orf_fail_errno(e, "io_error", path);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int saved = errno;
        close(fd);
        errno = saved;
        return orf_fail_errno(e, "io_error", path);
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return orf_fail(e, "too_large", "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max_bytes) {
                free(buf);
                fclose(f);
                return orf_fail(e, "too_large", "%s: file is larger than %zu bytes", path,
                                max_bytes);
            }
            size_t ncap = cap * 2 > max_bytes ? max_bytes + 1 : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                return orf_fail(e, "too_large", "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                int saved = errno;
                free(buf);
                fclose(f);
                errno = saved ? saved : EIO;
                return orf_fail_errno(e, "io_error", path);
            }
            break;
        }
    }
    fclose(f);
    if (n > max_bytes) {
        free(buf);
        return orf_fail(e, "too_large", "%s: file is larger than %zu bytes", path, max_bytes);
    }
    *data = buf;
    *len = n;
    return 0;
}

/* stb_image (Debian's 2022 snapshot) misreads 16-bit binary PNM samples,
 * so P5/P6 with a maxval over 255 are decoded here. Returns 1 when it was
 * such a file (decoded or failed with e set), 0 when it is not one. */
static int pnm16_header_int(const uint8_t *b, size_t n, size_t *at, long *v)
{
    for (;;) {
        while (*at < n && (b[*at] == ' ' || b[*at] == '\t' || b[*at] == '\n' || b[*at] == '\r'))
            (*at)++;
        if (*at < n && b[*at] == '#') {
            while (*at < n && b[*at] != '\n')
                (*at)++;
            continue;
        }
        break;
    }
    long x = 0;
    int digits = 0;
    while (*at < n && b[*at] >= '0' && b[*at] <= '9' && digits < 9) {
        x = x * 10 + (b[*at] - '0');
        (*at)++;
        digits++;
    }
    *v = x;
    return digits > 0 ? 0 : -1;
}

static int load_pnm16(const uint8_t *b, size_t n, const char *name, uint64_t max_pixels,
                      orf_image *img, int *rc, orf_err *e)
{
    if (n < 3 || b[0] != 'P' || (b[1] != '5' && b[1] != '6'))
        return 0;
    size_t at = 2;
    long w, h, maxval;
    if (pnm16_header_int(b, n, &at, &w) || pnm16_header_int(b, n, &at, &h) ||
        pnm16_header_int(b, n, &at, &maxval) || at >= n)
        return 0; /* let stb_image say what is wrong */
    if (maxval <= 255)
        return 0;
    at++; /* the single whitespace after maxval */
    if (maxval > 65535 || w <= 0 || h <= 0) {
        *rc = orf_fail(e, "bad_image", "%s: PNM header is out of range", name);
        return 1;
    }
    if ((uint64_t)w * (uint64_t)h > max_pixels) {
        *rc = orf_fail(e, "too_large", "%s: %ld x %ld pixels is over the limit of %llu pixels",
                       name, w, h, (unsigned long long)max_pixels);
        return 1;
    }
    int ch = b[1] == '6' ? 3 : 1;
    uint64_t need = (uint64_t)w * (uint64_t)h * (uint64_t)ch * 2;
    if (need > n - at) {
        *rc = orf_fail(e, "bad_image", "%s: cannot decode (the PNM data is truncated)", name);
        return 1;
    }
    if (image_alloc(img, (int)w, (int)h, e) != 0) {
        *rc = -1;
        return 1;
    }
    const uint8_t *p = b + at;
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
        uint8_t *q = img->rgba + 4 * i;
        for (int c = 0; c < 3; c++) {
            const uint8_t *s = p + 2 * (i * (size_t)ch + (size_t)(ch == 3 ? c : 0));
            unsigned v = (unsigned)s[0] << 8 | s[1];
            if (v > (unsigned)maxval)
                v = (unsigned)maxval;
            q[c] = (uint8_t)((v * 255u + (unsigned)maxval / 2) / (unsigned)maxval);
        }
        q[3] = 255;
    }
    *rc = 0;
    return 1;
}

int image_load_memory(const void *data, size_t len, const char *name, uint64_t max_pixels,
                      orf_image *img, orf_err *e)
{
    memset(img, 0, sizeof *img);
    if (!name)
        name = "<image>";
    if (max_pixels == 0)
        max_pixels = IMAGE_DEFAULT_MAX_PIXELS;
    if (len == 0)
        return orf_fail(e, "bad_image", "%s: empty file", name);
    if (len > INT_MAX)
        return orf_fail(e, "too_large", "%s: %zu bytes is more than the decoder takes", name, len);
    const stbi_uc *buf = data;
    int pnm_rc = 0;
    if (load_pnm16(buf, len, name, max_pixels, img, &pnm_rc, e))
        return pnm_rc;
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(buf, (int)len, &w, &h, &comp)) {
        const char *why = stbi_failure_reason();
        /* stb_image probes every format, so a PNG it refused as too large
         * reports "unknown image type": read the PNG header ourselves */
        static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
        if (len >= 24 && memcmp(buf, sig, 8) == 0 && memcmp(buf + 12, "IHDR", 4) == 0) {
            uint64_t pw = (uint64_t)buf[16] << 24 | (uint64_t)buf[17] << 16 |
                          (uint64_t)buf[18] << 8 | buf[19];
            uint64_t ph = (uint64_t)buf[20] << 24 | (uint64_t)buf[21] << 16 |
                          (uint64_t)buf[22] << 8 | buf[23];
            if (pw * ph > max_pixels || (why && strcmp(why, "too large") == 0))
                return orf_fail(e, "too_large",
                                "%s: the header claims %llu x %llu pixels, over the limit of %llu",
                                name, (unsigned long long)pw, (unsigned long long)ph,
                                (unsigned long long)max_pixels);
        }
        return orf_fail(e, "bad_image", "%s: not an image stb_image can read (%s)", name,
                        why ? why : "unknown format");
    }
    if (w <= 0 || h <= 0)
        return orf_fail(e, "bad_image", "%s: the header claims %d x %d pixels", name, w, h);
    if ((uint64_t)w * (uint64_t)h > max_pixels)
        return orf_fail(e, "too_large", "%s: %d x %d pixels is over the limit of %llu pixels",
                        name, w, h, (unsigned long long)max_pixels);
    /* Decode in the file's own channel count and expand to RGBA here: asking
     * stb_image (2.27, Debian's) for 4 channels makes its 16-bit PNM path
     * convert 16-bit samples as 8-bit ones and then read past the buffer
     * (found by fuzzing: tests/fuzz/regress/image/). */
    int dw = 0, dh = 0, dcomp = 0;
    stbi_uc *px = stbi_load_from_memory(buf, (int)len, &dw, &dh, &dcomp, 0);
    if (!px) {
        const char *why = stbi_failure_reason();
        return orf_fail(e, "bad_image", "%s: cannot decode (%s)", name, why ? why : "unknown");
    }
    if (dw != w || dh != h) {
        stbi_image_free(px);
        return orf_fail(e, "bad_image", "%s: decoded size %d x %d differs from the header's %d x %d",
                        name, dw, dh, w, h);
    }
    if (image_alloc(img, w, h, e) != 0) {
        stbi_image_free(px);
        return -1;
    }
    if (dcomp < 1 || dcomp > 4) {
        stbi_image_free(px);
        image_free(img);
        return orf_fail(e, "bad_image", "%s: %d channels", name, dcomp);
    }
    size_t npx = (size_t)w * (size_t)h;
    for (size_t i = 0; i < npx; i++) {
        const stbi_uc *p = px + i * (size_t)dcomp;
        uint8_t *q = img->rgba + 4 * i;
        switch (dcomp) {
        case 1: q[0] = q[1] = q[2] = p[0]; q[3] = 255; break;
        case 2: q[0] = q[1] = q[2] = p[0]; q[3] = p[1]; break;
        case 3: q[0] = p[0]; q[1] = p[1]; q[2] = p[2]; q[3] = 255; break;
        default: memcpy(q, p, 4); break;
        }
    }
    stbi_image_free(px);
    img->had_alpha = (dcomp == 2 || dcomp == 4);
    return 0;
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

typedef struct png_buf {
    uint8_t *p;
    size_t n, cap;
    int failed;
} png_buf;

static void png_sink(void *ctx, void *data, int size)
{
    png_buf *b = ctx;
    if (b->failed || size <= 0)
        return;
    if ((size_t)size > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap - b->n < (size_t)size) {
            if (cap > SIZE_MAX / 2) {
                b->failed = 1;
                return;
            }
            cap *= 2;
        }
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, (size_t)size);
    b->n += (size_t)size;
}

/* stb_image_write's PNG settings are process globals: set once. */
static void png_settings(void)
{
    stbi_write_force_png_filter = 1;
    stbi_write_png_compression_level = 8;
}

int image_encode_png(const orf_image *img, uint8_t **png, size_t *n, orf_err *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, png_settings);
    if (!img->rgba || img->w <= 0 || img->h <= 0 || img->w > INT32_MAX / 4)
        return orf_fail(e, "too_large", "an image of %d x %d pixels cannot be PNG-encoded", img->w,
                        img->h);
    png_buf b = {0};
    if (!stbi_write_png_to_func(png_sink, &b, img->w, img->h, 4, img->rgba, img->w * 4) || b.failed) {
        free(b.p);
        return orf_fail(e, "too_large", "an image of %d x %d pixels could not be PNG-encoded", img->w,
                        img->h);
    }
    *png = b.p;
    *n = b.n;
    return 0;
}
