/* test_imageio.c - image formats by their first bytes, the checks that refuse
 * a file which cannot hold what its header claims (every proper prefix of a
 * good file of each format is refused), the formats refused by name, and
 * the bounded decoder: a loop, a hang, a memory grab, a crash and a forbidden
 * system call in the child each end as a status, never in the caller. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stb_image_write.h>
#include <zlib.h>

#include "check.h"
#include "image_sandbox.h"
#include "imageio.h"

typedef struct buf {
    uint8_t *p;
    size_t n;
} buf;

static void buf_add(buf *b, const void *data, size_t n)
{
    if (n == 0)
        return;
    b->p = realloc(b->p, b->n + n);
    memcpy(b->p + b->n, data, n);
    b->n += n;
}
static void buf_byte(buf *b, unsigned v)
{
    uint8_t c = (uint8_t)v;
    buf_add(b, &c, 1);
}
static void write_cb(void *ctx, void *data, int size) { buf_add(ctx, data, (size_t)size); }

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* a w x h RGBA disc on transparent */
static uint8_t *disc_rgba(int w, int h)
{
    uint8_t *p = calloc((size_t)w * (size_t)h, 4);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double dx = x - w / 2.0, dy = y - h / 2.0;
            uint8_t *q = p + 4 * ((size_t)y * (size_t)w + (size_t)x);
            if (dx * dx + dy * dy < (w / 3.0) * (h / 3.0))
                q[0] = 200, q[1] = 40, q[2] = 40, q[3] = 255;
        }
    return p;
}

static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}
static void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}
/* a PNG chunk with its CRC */
static void png_chunk(buf *b, const char *type, const uint8_t *data, uint32_t n)
{
    uint8_t hdr[8];
    be32_put(hdr, n);
    memcpy(hdr + 4, type, 4);
    buf_add(b, hdr, 8);
    buf_add(b, data, n);
    uint8_t *t = malloc(n + 4);
    memcpy(t, type, 4);
    if (n)
        memcpy(t + 4, data, n);
    uint8_t crc[4];
    be32_put(crc, crc32_ref(t, n + 4));
    free(t);
    buf_add(b, crc, 4);
}
/* a PNG of w x h grey pixels whose IDAT holds `idat` (not checked) */
static buf png_raw(uint32_t w, uint32_t h, const uint8_t *idat, uint32_t nidat)
{
    buf b = {0};
    buf_add(&b, "\x89PNG\r\n\x1a\n", 8);
    uint8_t ihdr[13] = {0};
    be32_put(ihdr, w);
    be32_put(ihdr + 4, h);
    ihdr[8] = 8;
    png_chunk(&b, "IHDR", ihdr, 13);
    png_chunk(&b, "IDAT", idat, nidat);
    png_chunk(&b, "IEND", NULL, 0);
    return b;
}

/* A GIF of w x h with a 4-colour table; pixel (x,y) is colour 1 inside a
 * disc, else 0. Codes stay 3 bits: a clear code before every pair of
 * literals. `npx` pixels are coded (fewer than w*h makes a short frame);
 * `clear_first` 0 leaves out the opening clear code. */
static buf gif_make(int w, int h, long npx, int clear_first)
{
    buf b = {0};
    buf_add(&b, "GIF89a", 6);
    uint8_t lsd[7] = {(uint8_t)w, (uint8_t)(w >> 8), (uint8_t)h, (uint8_t)(h >> 8), 0x81, 0, 0};
    buf_add(&b, lsd, 7);
    uint8_t pal[12] = {255, 255, 255, 200, 40, 40, 0, 0, 0, 0, 0, 0};
    buf_add(&b, pal, 12);
    uint8_t id[10] = {0x2c, 0, 0, 0, 0, (uint8_t)w, (uint8_t)(w >> 8), (uint8_t)h, (uint8_t)(h >> 8), 0};
    buf_add(&b, id, 10);
    buf_byte(&b, 2); /* LZW minimum code size: clear 4, end 5 */
    buf data = {0};
    uint32_t acc = 0;
    int nbits = 0;
#define EMIT(code)                                                                                 \
    do {                                                                                           \
        acc |= (uint32_t)(code) << nbits;                                                          \
        nbits += 3;                                                                                \
        while (nbits >= 8) {                                                                       \
            buf_byte(&data, acc & 0xff);                                                           \
            acc >>= 8;                                                                             \
            nbits -= 8;                                                                            \
        }                                                                                          \
    } while (0)
    for (long i = 0; i < npx; i++) {
        if (i % 2 == 0 && (i > 0 || clear_first))
            EMIT(4);
        int x = (int)(i % w), y = (int)(i / w);
        double dx = x - w / 2.0, dy = y - h / 2.0;
        EMIT(dx * dx + dy * dy < (w / 3.0) * (h / 3.0) ? 1 : 0);
    }
    EMIT(5);
    if (nbits)
        buf_byte(&data, acc & 0xff);
#undef EMIT
    for (size_t at = 0; at < data.n; at += 255) {
        size_t k = data.n - at < 255 ? data.n - at : 255;
        buf_byte(&b, (unsigned)k);
        buf_add(&b, data.p + at, k);
    }
    buf_byte(&b, 0);
    buf_byte(&b, 0x3b);
    free(data.p);
    return b;
}

/* Every proper prefix of a good file is refused with bad_image; returns how
 * many were accepted (0 is the pass), the first such length in *first. */
static int prefixes_accepted(const buf *b, size_t *first)
{
    int accepted = 0;
    *first = 0;
    for (size_t n = 0; n < b->n; n++) {
        image_header h;
        orf_err e;
        if (image_check(b->p, n, "cut", 0, &h, &e) == 0 || strcmp(e.code, "bad_image") != 0) {
            if (!accepted++)
                *first = n;
        }
    }
    return accepted;
}

static int check_fails(const void *d, size_t n, const char *code, const char *needle, orf_err *e)
{
    image_header h;
    return image_check(d, n, "x", 0, &h, e) != 0 && strcmp(e->code, code) == 0 &&
           (!needle || strstr(e->message, needle));
}

/* ---- sandbox children ---- */

static int fn_fill(void *arg, void *out, size_t n, char *why, size_t nwhy)
{
    (void)arg, (void)why, (void)nwhy;
    memset(out, 0x5a, n);
    return 0;
}
static int fn_fail(void *arg, void *out, size_t n, char *why, size_t nwhy)
{
    (void)arg, (void)out, (void)n;
    snprintf(why, nwhy, "no such luck");
    return 7;
}
static int fn_spin(void *arg, void *out, size_t n, char *why, size_t nwhy)
{
    (void)arg, (void)out, (void)n, (void)why, (void)nwhy;
    for (volatile unsigned long i = 0;; i++)
        ;
    return 0;
}
static int fn_wait(void *arg, void *out, size_t n, char *why, size_t nwhy)
{
    (void)arg, (void)n, (void)why, (void)nwhy;
    int *word = out;
    for (;;) /* waits on a word nobody changes: no CPU, only real time passes */
        syscall(SYS_futex, word, FUTEX_WAIT, 0, NULL, NULL, 0);
    return 0;
}
static int fn_grab(void *arg, void *out, size_t n, char *why, size_t nwhy)
{
    (void)out, (void)n;
    size_t want = *(size_t *)arg;
    void *p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(why, nwhy, "mmap: %s", strerror(errno));
        return -1;
    }
    memset(p, 1, 4096);
    return 0;
}
static int fn_abort(void *arg, void *out, size_t n, char *why, size_t nwhy)
{
    (void)arg, (void)out, (void)n, (void)why, (void)nwhy;
    abort();
}
static int fn_exit(void *arg, void *out, size_t n, char *why, size_t nwhy)
{
    (void)arg, (void)out, (void)n, (void)why, (void)nwhy;
    _exit(3);
}
/* what a compromised decoder would try: every one must fail with EPERM */
static int fn_escape(void *arg, void *out, size_t n, char *why, size_t nwhy)
{
    (void)arg, (void)n, (void)why, (void)nwhy;
    int *res = out;
    errno = 0;
    res[0] = open("/etc/hostname", O_RDONLY) < 0 && errno == EPERM;
    errno = 0;
    res[1] = write(1, "{\"image\":\"forged\"}\n", 19) < 0 && errno == EPERM;
    struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
    errno = 0;
    res[2] = setrlimit(RLIMIT_CPU, &rl) < 0 && errno == EPERM;
    errno = 0;
    res[3] = kill(getppid(), 0) < 0 && errno == EPERM;
    errno = 0;
    res[4] = fork() < 0 && errno == EPERM;
    return 0;
}

/* writes into memory the caller owns: the address is arg */
static int fn_scribble(void *arg, void *out, size_t n, char *why, size_t nwhy)
{
    (void)out, (void)n, (void)why, (void)nwhy;
    memset(arg, 0x77, 64);
    return 0;
}

static void test_sandbox(void)
{
    sandbox_limits lim = {10, 20000, 256u << 20};
    sandbox_result r;
    void *out;
    int rc = sandbox_run(fn_fill, NULL, 10000, &lim, &out, &r);
    CHECK(rc == 0 && r.status == SANDBOX_OK && ((uint8_t *)out)[9999] == 0x5a,
          "a child's output comes back through the shared mapping (%.2f ms)", r.ms);
    sandbox_unmap(out, 10000);

    rc = sandbox_run(fn_fail, NULL, 0, &lim, &out, &r);
    CHECK(rc < 0 && r.status == SANDBOX_FAILED && strcmp(r.why, "no such luck") == 0,
          "a child that fails says why (%s)", r.why);
    sandbox_unmap(out, 0);

    sandbox_limits cpu = {1, 20000, 256u << 20};
    double t0 = now_ms();
    rc = sandbox_run(fn_spin, NULL, 0, &cpu, &out, &r);
    double ms = now_ms() - t0;
    CHECK(rc < 0 && r.status == SANDBOX_CPU_LIMIT && ms < 8000,
          "a loop is killed at the CPU limit of 1 s (status %d after %.0f ms)", r.status, ms);
    sandbox_unmap(out, 0);

    sandbox_limits wall = {10, 300, 256u << 20};
    t0 = now_ms();
    rc = sandbox_run(fn_wait, NULL, 64, &wall, &out, &r);
    ms = now_ms() - t0;
    CHECK(rc < 0 && r.status == SANDBOX_WALL_LIMIT && ms >= 290 && ms < 5000,
          "a child waiting on nothing is killed at the real-time limit of 300 ms (status %d after "
          "%.0f ms)",
          r.status, ms);
    sandbox_unmap(out, 64);

    size_t gig = (size_t)1 << 30;
    sandbox_limits mem = {10, 20000, 64u << 20};
    rc = sandbox_run(fn_grab, &gig, 0, &mem, &out, &r);
    CHECK(rc < 0 && r.status == SANDBOX_FAILED && strstr(r.why, "Cannot allocate memory"),
          "1 GiB is refused to a child allowed 64 MiB more (%s)", r.why);
    sandbox_unmap(out, 0);
    size_t small = (size_t)16 << 20;
    rc = sandbox_run(fn_grab, &small, 0, &mem, &out, &r);
    CHECK(rc == 0, "16 MiB is within the same child's 64 MiB (%s)", r.why);
    sandbox_unmap(out, 0);

    rc = sandbox_run(fn_abort, NULL, 0, &lim, &out, &r);
    CHECK(rc < 0 && r.status == SANDBOX_CRASHED,
          "a crash in the child is a status, not the caller's death (signal %d, exit %d)", r.signal,
          r.exit_code);
    sandbox_unmap(out, 0);

    rc = sandbox_run(fn_exit, NULL, 0, &lim, &out, &r);
    CHECK(rc < 0 && r.status == SANDBOX_CRASHED && r.exit_code == 3,
          "a child that exits without a result is reported (exit %d)", r.exit_code);
    sandbox_unmap(out, 0);

#if defined(__x86_64__) || defined(__aarch64__)
    fflush(stdout);
    rc = sandbox_run(fn_escape, NULL, 5 * sizeof(int), &lim, &out, &r);
    int *res = out;
    CHECK(rc == 0 && res[0] && res[1] && res[2] && res[3] && res[4],
          "in the child open, write to stdout, raising a limit, signalling the parent and fork "
          "all fail with EPERM (%d %d %d %d %d)",
          rc == 0 ? res[0] : -1, rc == 0 ? res[1] : -1, rc == 0 ? res[2] : -1,
          rc == 0 ? res[3] : -1, rc == 0 ? res[4] : -1);
    sandbox_unmap(out, 5 * sizeof(int));
#else
    SKIP("no seccomp filter on this architecture", "the child's system calls are filtered");
#endif

    /* a caller that ignores SIGCHLD (its children are reaped for it) */
    struct sigaction old, ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGCHLD, &ign, &old);
    rc = sandbox_run(fn_fill, NULL, 100, &lim, &out, &r);
    CHECK(rc == 0 && r.status == SANDBOX_OK, "with SIGCHLD ignored the result still comes back");
    sandbox_unmap(out, 100);
    sigaction(SIGCHLD, &old, NULL);

    /* a decoded image is the child's mapping, handed over; no later child shares it */
    uint8_t *src = disc_rgba(40, 30);
    buf b = {0};
    stbi_write_png_to_func(write_cb, &b, 40, 30, 4, src, 40 * 4);
    orf_image img;
    orf_err e;
    CHECK(image_load_memory(b.p, b.n, "d.png", 0, &img, &e) == 0 && img.mapped > 0 &&
              memcmp(img.rgba, src, 40 * 30 * 4) == 0,
          "the decoded pixels are the child's output mapping, not a copy (%zu bytes)", img.mapped);
    rc = sandbox_run(fn_scribble, img.rgba + 4 * 40 * 15, 0, &lim, &out, &r);
    CHECK(rc < 0 && r.status == SANDBOX_CRASHED && memcmp(img.rgba, src, 40 * 30 * 4) == 0,
          "a later child cannot write into an earlier image (status %d, signal %d)", r.status,
          r.signal);
    sandbox_unmap(out, 0);
    image_free(&img);
    CHECK(img.rgba == NULL && img.mapped == 0, "image_free unmaps it");
    free(b.p);
    free(src);

    errno = 0;
    CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "no child is left behind");
}

/* ---- formats ---- */

static void test_png(void)
{
    orf_err e;
    orf_image img;
    uint8_t *src = disc_rgba(40, 30);
    buf b = {0};
    stbi_write_png_to_func(write_cb, &b, 40, 30, 4, src, 40 * 4);
    orf_err_clear(&e);
    CHECK(image_load_memory(b.p, b.n, "d.png", 0, &img, &e) == 0 && img.w == 40 && img.h == 30 &&
              img.had_alpha && memcmp(img.rgba, src, 40 * 30 * 4) == 0,
          "PNG decodes in the bounded child to the same pixels");
    image_free(&img);
    size_t first;
    int acc = prefixes_accepted(&b, &first);
    CHECK(acc == 0, "each of the PNG's %zu proper prefixes is refused (%d accepted, first %zu)",
          b.n, acc, first);
    orf_err_clear(&e);
    CHECK(image_load_memory(b.p, b.n - 30, "cut.png", 0, &img, &e) != 0 &&
              strcmp(e.code, "bad_image") == 0 && strstr(e.message, "cut.png: truncated PNG") &&
              strstr(e.message, "40 x 30") && strstr(e.message, "incomplete"),
          "a truncated PNG says so, with the size and byte (%s)", e.message);
    /* a flipped bit in the image data */
    buf d = {malloc(b.n), b.n};
    memcpy(d.p, b.p, b.n);
    d.p[b.n - 20] ^= 0x10;
    CHECK(check_fails(d.p, d.n, "bad_image", "CRC", &e), "a damaged IDAT fails its CRC (%s)",
          e.message);
    free(d.p);
    /* text-mode transfer */
    d.p = malloc(b.n + 1);
    memcpy(d.p, b.p, 4);
    d.p[4] = '\n';
    memcpy(d.p + 5, b.p + 6, b.n - 6);
    CHECK(check_fails(d.p, b.n - 1, "bad_image", "signature is damaged", &e),
          "a PNG whose CR LF became LF is named (%s)", e.message);
    free(d.p);
    free(b.p);
    free(src);

    uint8_t tiny[8] = {0x78, 0x9c, 0x63, 0, 0, 0, 1, 0};
    b = png_raw(0, 0, tiny, sizeof tiny);
    CHECK(check_fails(b.p, b.n, "bad_image", "0 x 0 pixels, an image with no pixels", &e),
          "a 0x0 PNG: bad_image, no pixels (%s)", e.message);
    free(b.p);
    b = png_raw(64000000, 1, tiny, sizeof tiny);
    CHECK(check_fails(b.p, b.n, "too_large", "64000000 x 1", &e),
          "a 64000000x1 PNG: too_large, named (%s)", e.message);
    free(b.p);
    b = png_raw(6000, 6000, tiny, sizeof tiny);
    CHECK(check_fails(b.p, b.n, "bad_image", "cannot hold 6000 x 6000", &e),
          "8 bytes of data for 36 Mpx: refused before decoding (%s)", e.message);
    free(b.p);
}

static void test_jpeg(void)
{
    orf_err e;
    orf_image img;
    uint8_t *src = disc_rgba(48, 40);
    buf b = {0};
    stbi_write_jpg_to_func(write_cb, &b, 48, 40, 3, src, 90);
    orf_err_clear(&e);
    CHECK(image_load_memory(b.p, b.n, "d.jpg", 0, &img, &e) == 0 && img.w == 48 && img.h == 40 &&
              !img.had_alpha,
          "JPEG decodes (%s)", e.message);
    image_free(&img);
    size_t first;
    int acc = prefixes_accepted(&b, &first);
    CHECK(acc == 0, "each of the JPEG's %zu proper prefixes is refused (%d accepted, first %zu)",
          b.n, acc, first);
    /* find the frame and the scan */
    size_t sof = 0, sos = 0;
    for (size_t i = 2; i + 1 < b.n; i++) {
        if (b.p[i] == 0xff && b.p[i + 1] == 0xc0 && !sof)
            sof = i;
        if (b.p[i] == 0xff && b.p[i + 1] == 0xda && !sos)
            sos = i;
    }
    CHECK(sof && sos, "the frame and scan markers are found");
    buf d = {malloc(b.n), b.n};
    memcpy(d.p, b.p, b.n);
    d.p[sof + 5] = 0x1f, d.p[sof + 6] = 0x3f; /* height 7999 */
    d.p[sof + 7] = 0x1f, d.p[sof + 8] = 0x3f; /* width 7999 */
    CHECK(check_fails(d.p, d.n, "bad_image", "7999 x 7999", &e) && strstr(e.message, "needs at least"),
          "a %zu-byte JPEG claiming 7999x7999 is refused before decoding (%s)", d.n, e.message);
    d.p[sof + 5] = d.p[sof + 6] = d.p[sof + 7] = d.p[sof + 8] = 0;
    CHECK(check_fails(d.p, d.n, "bad_image", "0 x 0 pixels", &e), "a 0x0 JPEG (%s)", e.message);
    memcpy(d.p, b.p, b.n);
    d.p[sof + 1] = 0xc9;
    CHECK(check_fails(d.p, d.n, "bad_image", "arithmetic", &e), "arithmetic coding is named (%s)",
          e.message);
    memcpy(d.p, b.p, b.n);
    d.p[sof + 4] = 12;
    CHECK(check_fails(d.p, d.n, "bad_image", "12-bit", &e), "a 12-bit JPEG is named (%s)",
          e.message);
    /* the scan codes only the first of the three components */
    buf one = {0};
    buf_add(&one, b.p, sos);
    uint8_t scan1[10] = {0xff, 0xda, 0, 8, 1, b.p[sos + 5], b.p[sos + 6], 0, 63, 0};
    buf_add(&one, scan1, sizeof scan1);
    size_t data = sos + 2 + ((size_t)b.p[sos + 2] << 8 | b.p[sos + 3]);
    buf_add(&one, b.p + data, b.n - data);
    CHECK(check_fails(one.p, one.n, "bad_image", "no image data for component 2 of 3", &e),
          "a JPEG with no data for two of its components (%s)", e.message);
    free(one.p);
    free(d.p);
    free(b.p);

    /* progressive frames: a DC scan for the component is what counts */
    static const uint8_t prog[] = {0xff, 0xd8, 0xff, 0xc2, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0,
                                   0xff, 0xda, 0, 8, 1, 1, 0, 0, 0, 0, 0x55, 0x55, 0x55, 0x55,
                                   0xff, 0xd9};
    image_header h;
    CHECK(image_check(prog, sizeof prog, "p.jpg", 0, &h, &e) == 0 && h.w == 16,
          "a progressive frame with a DC scan passes the check (%s)", e.message);
    uint8_t ac[sizeof prog];
    memcpy(ac, prog, sizeof prog);
    ac[22] = 1, ac[23] = 63; /* an AC scan only */
    CHECK(check_fails(ac, sizeof ac, "bad_image", "no image data for component 1", &e),
          "a progressive JPEG with AC scans only (%s)", e.message);
    free(src);
}

static void test_bmp_tga(void)
{
    orf_err e;
    orf_image img;
    uint8_t *src = disc_rgba(40, 30);
    buf b = {0};
    stbi_write_bmp_to_func(write_cb, &b, 40, 30, 3, src);
    orf_err_clear(&e);
    CHECK(image_load_memory(b.p, b.n, "d.bmp", 0, &img, &e) == 0 && img.w == 40 &&
              img.rgba[4 * (15 * 40 + 20)] == 200,
          "BMP decodes (%s)", e.message);
    image_free(&img);
    size_t first;
    int acc = prefixes_accepted(&b, &first);
    CHECK(acc == 0, "each of the BMP's %zu proper prefixes is refused (%d accepted, first %zu)",
          b.n, acc, first);
    CHECK(check_fails(b.p, 54, "bad_image", "truncated BMP", &e),
          "a header-only BMP: truncated, not a blank image (%s)", e.message);
    buf d = {malloc(b.n), b.n};
    memcpy(d.p, b.p, b.n);
    d.p[18] = 0x3f, d.p[19] = 0x1f, d.p[20] = d.p[21] = 0;
    d.p[22] = 0x3f, d.p[23] = 0x1f, d.p[24] = d.p[25] = 0;
    CHECK(check_fails(d.p, d.n, "bad_image", "truncated BMP", &e) && strstr(e.message, "7999 x 7999"),
          "a BMP claiming 7999x7999 in %zu bytes (%s)", d.n, e.message);
    memcpy(d.p, b.p, b.n);
    d.p[30] = 1;
    CHECK(check_fails(d.p, d.n, "bad_image", "RLE", &e), "an RLE BMP is named (%s)", e.message);
    free(d.p);
    free(b.p);
    /* an 8-bit BMP whose palette has 2 colours and a pixel that is colour 5 */
    uint8_t bmp[14 + 40 + 8 + 4] = {'B', 'M'};
    bmp[10] = 14 + 40 + 8;
    bmp[14] = 40;
    bmp[18] = 2, bmp[22] = 2, bmp[26] = 1, bmp[28] = 8;
    bmp[14 + 40 + 4] = 255, bmp[14 + 40 + 5] = 255, bmp[14 + 40 + 6] = 255;
    bmp[62] = 0, bmp[63] = 1;
    CHECK(image_load_memory(bmp, 64, "p.bmp", 0, &img, &e) != 0, "one row is missing (%s)",
          e.message);
    uint8_t bmp2[14 + 40 + 8 + 8];
    memset(bmp2, 0, sizeof bmp2);
    memcpy(bmp2, bmp, 62);
    bmp2[62] = 1, bmp2[63] = 0, bmp2[66] = 1, bmp2[67] = 1;
    orf_err_clear(&e);
    orf_err_clear(&e);
    CHECK(image_load_memory(bmp2, sizeof bmp2, "p.bmp", 0, &img, &e) == 0 && img.w == 2 &&
              img.rgba[0] == 255 && img.rgba[4 * 3] == 0 && img.rgba[4 * 3 + 3] == 255,
          "an 8-bit BMP with a 2-colour palette decodes (%s)", e.message);
    image_free(&img);
    bmp2[67] = 5;
    CHECK(check_fails(bmp2, sizeof bmp2, "bad_image", "colour 5 of a 2-colour palette", &e),
          "a palette index past the palette is refused (%s)", e.message);

    /* TGA: RLE (stb's default) and raw */
    b = (buf){0};
    stbi_write_tga_to_func(write_cb, &b, 40, 30, 4, src);
    orf_err_clear(&e);
    CHECK(image_load_memory(b.p, b.n, "d.tga", 0, &img, &e) == 0 && img.had_alpha &&
              memcmp(img.rgba, src, 40 * 30 * 4) == 0,
          "RLE TGA decodes to the same pixels (%s)", e.message);
    image_free(&img);
    acc = prefixes_accepted(&b, &first);
    CHECK(acc == 0, "each of the RLE TGA's %zu proper prefixes is refused (%d accepted, first %zu)",
          b.n, acc, first);
    free(b.p);
    b = (buf){0};
    stbi_write_tga_with_rle = 0;
    stbi_write_tga_to_func(write_cb, &b, 40, 30, 3, src);
    stbi_write_tga_with_rle = 1;
    orf_err_clear(&e);
    CHECK(image_load_memory(b.p, b.n, "r.tga", 0, &img, &e) == 0 && img.w == 40,
          "raw TGA decodes (%s)", e.message);
    image_free(&img);
    acc = prefixes_accepted(&b, &first);
    CHECK(acc == 0, "each of the raw TGA's %zu proper prefixes is refused (%d accepted, first %zu)",
          b.n, acc, first);
    CHECK(check_fails(b.p, 18, "bad_image", "truncated TGA", &e), "a header-only TGA (%s)",
          e.message);
    d = (buf){malloc(b.n), b.n};
    memcpy(d.p, b.p, b.n);
    d.p[12] = 0x3f, d.p[13] = 0x1f, d.p[14] = 0x3f, d.p[15] = 0x1f;
    CHECK(check_fails(d.p, d.n, "bad_image", "truncated TGA", &e) && strstr(e.message, "7999 x 7999"),
          "a TGA claiming 7999x7999 in %zu bytes (%s)", d.n, e.message);
    free(d.p);
    free(b.p);
    free(src);
}

static void test_gif(void)
{
    orf_err e;
    orf_image img;
    buf b = gif_make(30, 20, 30 * 20, 1);
    orf_err_clear(&e);
    CHECK(image_load_memory(b.p, b.n, "d.gif", 0, &img, &e) == 0 && img.w == 30 && img.h == 20 &&
              img.rgba[4 * (10 * 30 + 15)] == 200 && img.rgba[0] == 255,
          "GIF decodes (%s)", e.message);
    image_free(&img);
    size_t first;
    int acc = prefixes_accepted(&b, &first);
    CHECK(acc == 0, "each of the GIF's %zu proper prefixes is refused (%d accepted, first %zu)",
          b.n, acc, first);
    free(b.p);
    b = gif_make(30, 20, 30 * 10, 1);
    CHECK(check_fails(b.p, b.n, "bad_image", "yields 300 of its 30 x 20 pixels", &e),
          "a GIF whose data stops half way, blocks and trailer intact (%s)", e.message);
    free(b.p);
    b = gif_make(30, 20, 30 * 20, 0);
    CHECK(check_fails(b.p, b.n, "bad_image", "clear code", &e), "no opening clear code (%s)",
          e.message);
    free(b.p);
}

static void test_pnm(void)
{
    orf_err e;
    orf_image img;
    const char ppm[] = "P6\n# c\n2 1\n255\n\x10\x20\x30\x40\x50\x60";
    orf_err_clear(&e);
    CHECK(image_load_memory(ppm, sizeof ppm - 1, "d.ppm", 0, &img, &e) == 0 && img.rgba[0] == 0x10 &&
              img.rgba[6] == 0x60 && img.rgba[7] == 255,
          "8-bit PPM decodes (%s)", e.message);
    image_free(&img);
    buf b = {(uint8_t *)ppm, sizeof ppm - 1};
    size_t first;
    int acc = prefixes_accepted(&b, &first);
    CHECK(acc == 0, "each of the PPM's proper prefixes is refused (%d accepted, first %zu)", acc,
          first);
    const char pgm15[] = "P5 2 1 15\n\x0f\x05";
    orf_err_clear(&e);
    CHECK(image_load_memory(pgm15, sizeof pgm15 - 1, "m.pgm", 0, &img, &e) == 0 &&
              img.rgba[0] == 255 && img.rgba[4] == 85,
          "a maxval of 15 is scaled to 255 (%d, %d)", img.rgba ? img.rgba[0] : -1,
          img.rgba ? img.rgba[4] : -1);
    image_free(&img);
    const char neg[] = "P6\n-5 10\n255\n";
    CHECK(check_fails(neg, sizeof neg - 1, "bad_image", "width is \"-5\"", &e),
          "a PPM of width -5 says so (%s)", e.message);
    const char zero[] = "P5 4 4 0\n0123456789abcdef";
    CHECK(check_fails(zero, sizeof zero - 1, "bad_image", "maximum value is 0", &e),
          "a maxval of 0 (%s)", e.message);
    const char plain[] = "P3\n1 1\n255\n1 2 3\n";
    CHECK(check_fails(plain, sizeof plain - 1, "bad_image", "plain-text PNM", &e),
          "plain-text PNM is named (%s)", e.message);
    const char hdronly[] = "P6\n640 480\n255\n";
    CHECK(check_fails(hdronly, sizeof hdronly - 1, "bad_image", "truncated PPM", &e),
          "a header-only PPM (%s)", e.message);
}

static void test_named(void)
{
    orf_err e;
    /* issue 15, item 1: 49 bytes on which stb_image's HDR decoder loops */
    static const char hdr49[] = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 8 +X 8\n\002\002\000\010";
    CHECK(sizeof hdr49 - 1 == 49, "the HDR file is 49 bytes");
    orf_image img;
    double t0 = now_ms();
    int rc = image_load_memory(hdr49, 49, "h.hdr", 0, &img, &e);
    CHECK(rc != 0 && strcmp(e.code, "bad_image") == 0 && strstr(e.message, "h.hdr: a Radiance HDR") &&
              now_ms() - t0 < 1000,
          "the 49-byte HDR is refused by name at once (%s)", e.message);
    /* and were it handed to the decoder, the bound stops it */
    image_header h = {IMAGE_FORMAT_PNG, 8, 8, 3, 8, 0, 0};
    image_bounds bb = {0, 1, 10000, 64u << 20};
    t0 = now_ms();
    rc = image_decode(hdr49, 49, "h.hdr", &h, &bb, &img, &e);
    double ms = now_ms() - t0;
    CHECK(rc != 0 && strcmp(e.code, "bad_image") == 0 && strstr(e.message, "CPU time") && ms < 8000,
          "stb_image's HDR loop, run in the bounded child, is stopped at 1 s of CPU (%.0f ms: %s)",
          ms, e.message);
    static const struct { const char *bytes; size_t n; const char *name; } named[] = {
        {"8BPS\0\1\0\0\0\0\0\0\0\3", 14, "Photoshop PSD"},
        {"\x53\x80\xf6\x34\0\0\0\0", 8, "Softimage PIC"},
        {"RIFF\0\0\0\0WEBPVP8 ", 16, "WebP"},
        {"II*\0\x08\0\0\0", 8, "TIFF"},
        {"\0\0\0\x1c" "ftypavif\0\0\0\0", 16, "AVIF"},
        {"\0\0\0\x18" "ftypheic\0\0\0\0", 16, "HEIF"},
        {"qoif\0\0\0\1\0\0\0\1\4\0", 14, "QOI"},
        {"<svg xmlns=\"http://www.w3.org/2000/svg\"/>", 41, "SVG"},
        {"hello, I am not a picture\n", 26, "not an image but text (\"hello, I am"},
        {"\x01\x02\x03\x04\xfe\xfd", 6, "01 02 03 04"},
        {"", 0, "empty file"},
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        CHECK(check_fails(named[i].bytes, named[i].n, "bad_image", named[i].name, &e),
              "%s is named (%s)", named[i].name, e.message);
}

static void test_read_bytes(void)
{
    orf_err e;
    uint8_t *d;
    size_t n;
    char dir[] = "/tmp/test_imageio.XXXXXX";
    if (!mkdtemp(dir)) {
        SKIP("no temporary folder", "image_read_bytes");
        return;
    }
    char fifo[64], file[64];
    snprintf(fifo, sizeof fifo, "%s/fifo.png", dir);
    snprintf(file, sizeof file, "%s/big.png", dir);
    mkfifo(fifo, 0600);
    double t0 = now_ms();
    CHECK(image_read_bytes(fifo, 1 << 20, &d, &n, &e) != 0 && strcmp(e.code, "io_error") == 0 &&
              strstr(e.message, "a FIFO, not a file"),
          "a FIFO is refused before reading (%s)", e.message);
    CHECK(image_read_bytes("/dev/zero", (size_t)1 << 30, &d, &n, &e) != 0 &&
              strstr(e.message, "a character device") && now_ms() - t0 < 1000,
          "/dev/zero is refused before reading, at once (%s)", e.message);
    CHECK(image_read_bytes(dir, 1 << 20, &d, &n, &e) != 0 && strstr(e.message, "a directory"),
          "a directory is refused (%s)", e.message);
    FILE *f = fopen(file, "wb");
    for (int i = 0; i < 1000; i++)
        fputc(i, f);
    fclose(f);
    CHECK(image_read_bytes(file, 100, &d, &n, &e) != 0 && strcmp(e.code, "too_large") == 0,
          "a file over the byte limit is too_large (%s)", e.message);
    CHECK(image_read_bytes(file, 1000, &d, &n, &e) == 0 && n == 1000 && d[999] == (uint8_t)999,
          "a file at the limit is read whole");
    free(d);
    unlink(fifo);
    unlink(file);
    rmdir(dir);
}

/* image_encode_png: every chunk's CRC right (stb_image does not check
 * them; a strict reader does), the signature, IHDR's size and type, and the
 * pixels back through our own decoder, for a 1x1, an odd 3x2, a noisy
 * 257x129 with alpha (no run to compress) and a flat 512x512. */
static int png_chunks_ok(const uint8_t *p, size_t n, int w, int h, char *why, size_t why_n)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 8 + 25 + 12 || memcmp(p, sig, 8) != 0)
        return snprintf(why, why_n, "no signature"), 0;
    size_t at = 8;
    int chunks = 0, end = 0;
    while (at + 12 <= n && !end) {
        uint32_t len = (uint32_t)p[at] << 24 | (uint32_t)p[at + 1] << 16 | (uint32_t)p[at + 2] << 8 | p[at + 3];
        if (len > n - at - 12)
            return snprintf(why, why_n, "chunk %d overruns the file", chunks), 0;
        const uint8_t *c = p + at + 8 + len;
        uint32_t crc = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
        if (crc != (uint32_t)crc32(crc32(0L, Z_NULL, 0), p + at + 4, len + 4))
            return snprintf(why, why_n, "chunk %d (%.4s): bad CRC", chunks, (const char *)p + at + 4), 0;
        if (chunks == 0) {
            const uint8_t *d = p + at + 8;
            uint32_t W = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
            uint32_t H = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 | (uint32_t)d[6] << 8 | d[7];
            if (memcmp(p + at + 4, "IHDR", 4) || len != 13 || W != (uint32_t)w || H != (uint32_t)h || d[8] != 8 ||
                d[9] != 6)
                return snprintf(why, why_n, "IHDR wrong"), 0;
        }
        end = !memcmp(p + at + 4, "IEND", 4);
        at += 12 + len;
        chunks++;
    }
    if (!end || at != n)
        return snprintf(why, why_n, "no IEND at the end"), 0;
    return 1;
}

static void test_png_out(void)
{
    int sizes[4][2] = {{1, 1}, {3, 2}, {257, 129}, {512, 512}};
    uint64_t seed = 1234567;
    for (int k = 0; k < 4; k++) {
        int w = sizes[k][0], h = sizes[k][1];
        orf_image img = {0};
        img.w = w;
        img.h = h;
        img.rgba = malloc((size_t)w * h * 4);
        for (size_t i = 0; i < (size_t)w * h * 4; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            img.rgba[i] = k == 3 ? (uint8_t)(i % 4 == 3 ? 255 : 40 + (i / 4 / 512) / 8) : (uint8_t)(seed >> 56);
        }
        uint8_t *png = NULL;
        size_t n = 0;
        orf_err e;
        char why[96] = "";
        int enc = image_encode_png(&img, &png, &n, &e) == 0;
        int chunks = enc && png_chunks_ok(png, n, w, h, why, sizeof why);
        orf_image back = {0};
        int dec = enc && image_load_memory(png, n, "out.png", 0, &back, &e) == 0;
        int same = dec && back.w == w && back.h == h && memcmp(back.rgba, img.rgba, (size_t)w * h * 4) == 0;
        CHECK(enc && chunks && same, "PNG out %dx%d: chunks and CRCs right%s%s, the pixels decode back (%zu bytes)",
              w, h, why[0] ? ": " : "", why, n);
        if (k == 3)
            CHECK(n < (size_t)w * h / 8, "a flat 512x512 compresses (%zu bytes of %d)", n, w * h * 4);
        image_free(&back);
        free(png);
        free(img.rgba);
    }
    orf_image none = {0};
    uint8_t *png = NULL;
    size_t n = 0;
    orf_err e;
    CHECK(image_encode_png(&none, &png, &n, &e) == -1 && !strcmp(e.code, "too_large") && !png,
          "an empty image is refused (%s)", e.code);
}

int main(void)
{
    test_sandbox();
    test_png();
    test_jpeg();
    test_bmp_tga();
    test_gif();
    test_pnm();
    test_named();
    test_read_bytes();
    test_png_out();
    return check_done();
}
