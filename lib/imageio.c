/* imageio.c - reading an image file and decoding it: the format is named and
 * the file checked against its header first (image_format.c), then stb_image
 * (or the PNM reader here) decodes in a bounded child (image_sandbox.c). */
#include "imageio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>
#include <stb_image_write.h>

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
