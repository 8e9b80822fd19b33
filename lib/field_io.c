/* field_io.c - a field as a blob and back: field_serialise, and
 * field_deserialise, which accepts only a sane field (the format and the
 * rules are in field.h, the limits in field_internal.h). */
#include "field.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "field_internal.h"

#define FIELD_MAGIC "ORFFIELD"
#define FIELD_VERSION 1u
#define FIELD_HEADER 48

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_f32(uint8_t *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    put_u32(p, u);
}

static float get_f32(const uint8_t *p)
{
    uint32_t u = get_u32(p);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

int field_serialise(const orf_field *f, uint8_t **blob, size_t *len, orf_err *e)
{
    size_t n = (size_t)f->w * (size_t)f->h;
    size_t total = FIELD_HEADER + 3 * 4 * n;
    uint8_t *b = orf_zalloc(total, 1);
    if (!b)
        return orf_fail(e, "too_large", "field: out of memory for a %zu-byte blob", total);
    memcpy(b, FIELD_MAGIC, 8);
    put_u32(b + 8, FIELD_VERSION);
    put_u32(b + 12, (uint32_t)f->w);
    put_u32(b + 16, (uint32_t)f->h);
    put_u32(b + 20, (uint32_t)f->img_w);
    put_u32(b + 24, (uint32_t)f->img_h);
    put_u32(b + 28, (uint32_t)f->mode);
    put_u32(b + 32, (uint32_t)f->back);
    put_f32(b + 36, f->sx);
    put_f32(b + 40, f->sy);
    put_u32(b + 44, 0);
    const float *arr[3] = {f->sd, f->top, f->bot};
    uint8_t *q = b + FIELD_HEADER;
    for (int a = 0; a < 3; a++)
        for (size_t i = 0; i < n; i++, q += 4)
            put_f32(q, arr[a][i]);
    *blob = b;
    *len = total;
    return 0;
}

/* The values of a field whose header has passed: every rule of a sane field
 * (field.h) on sd, top and bot, checked cell by cell; 0, or -1 with
 * "bad_field" naming the first cell that breaks one. */
static int check_values(const orf_field *f, const char *name, orf_err *e)
{
    const float cell = 0.5f * (f->sx + f->sy);
    const float sd_min = FIELD_SD_MIN * cell;
    const float sd_max = (float)(f->w + f->h) * cell * 1.001f;
    const float *arr[3] = {f->sd, f->top, f->bot};
    const char *const names[3] = {"sd", "top", "bot"};
    size_t inside = 0;
    for (int y = 0; y < f->h; y++)
        for (int x = 0; x < f->w; x++) {
            size_t i = field_at(f->w, x, y);
            for (int a = 0; a < 3; a++) {
                float v = arr[a][i];
                if (!isfinite(v) || fabsf(v) > FIELD_VALUE_MAX)
                    return orf_fail(e, "bad_field",
                                    "%s: damaged field: %s at cell (%d, %d) is %g, not a "
                                    "finite number within %g model units",
                                    name, names[a], x, y, (double)v, (double)FIELD_VALUE_MAX);
            }
            float sd = f->sd[i], top = f->top[i], bot = f->bot[i];
            if (!(fabsf(sd) >= sd_min && fabsf(sd) <= sd_max))
                return orf_fail(e, "bad_field",
                                "%s: damaged field: sd at cell (%d, %d) is %g, outside "
                                "%g..%g (%g..%d cells from the rim)",
                                name, x, y, (double)sd, (double)sd_min, (double)sd_max,
                                (double)FIELD_SD_MIN, f->w + f->h);
            inside += sd > 0;
            if (!(bot <= top))
                return orf_fail(e, "bad_field",
                                "%s: damaged field: at cell (%d, %d) bot %g is above top %g",
                                name, x, y, (double)bot, (double)top);
            if (f->mode != FIELD_INFLATE)
                continue;
            if (sd < 0 && top != 0)
                return orf_fail(e, "bad_field",
                                "%s: damaged field: inflated top at cell (%d, %d), outside "
                                "the mask, is %g, not 0",
                                name, x, y, (double)top);
            if (top != 0 && !(top >= FIELD_TOP_MIN))
                return orf_fail(e, "bad_field",
                                "%s: damaged field: inflated top at cell (%d, %d) is %g, "
                                "neither 0 nor at least %g",
                                name, x, y, (double)top, (double)FIELD_TOP_MIN);
            float want = f->back == FIELD_BACK_FLAT ? 0.0f : -top;
            if (bot != want)
                return orf_fail(e, "bad_field",
                                "%s: damaged field: bot at cell (%d, %d) is %g, not %g "
                                "(inflate, back %s)",
                                name, x, y, (double)bot, (double)want, field_back_name(f->back));
        }
    if (inside == 0)
        return orf_fail(e, "bad_field", "%s: damaged field: no cell is inside the mask (every "
                        "sd is negative)", name);
    return 0;
}

int field_deserialise(const uint8_t *blob, size_t len, const char *name, orf_field *f,
                      orf_err *e)
{
    memset(f, 0, sizeof *f);
    if (!name)
        name = "<field>";
    if (!blob || len < FIELD_HEADER || memcmp(blob, FIELD_MAGIC, 8) != 0)
        return orf_fail(e, "bad_field", "%s: not a field (bad magic or too short)", name);
    uint32_t ver = get_u32(blob + 8);
    if (ver != FIELD_VERSION)
        return orf_fail(e, "bad_field", "%s: field version %u, this build reads %u", name, ver,
                        FIELD_VERSION);
    uint32_t w = get_u32(blob + 12), h = get_u32(blob + 16);
    uint32_t iw = get_u32(blob + 20), ih = get_u32(blob + 24);
    uint32_t mode = get_u32(blob + 28), back = get_u32(blob + 32);
    float sx = get_f32(blob + 36), sy = get_f32(blob + 40);
    if (w < 1 || h < 1 || w > 4096 || h > 4096)
        return orf_fail(e, "bad_field", "%s: damaged field: a grid of %u x %u cells is outside "
                        "1..4096 a side", name, w, h);
    if (iw < 1 || ih < 1 || iw > (1u << 24) || ih > (1u << 24))
        return orf_fail(e, "bad_field", "%s: damaged field: an image of %u x %u pixels is "
                        "outside 1..%u a side", name, iw, ih, 1u << 24);
    if (mode > 2 || back > 1)
        return orf_fail(e, "bad_field", "%s: damaged field: mode %u, back %u (known: 0..2, "
                        "0..1)", name, mode, back);
    /* the header is one field_grid would lay: the longer side has max_side cells in
     * 8..4096, the other side and the cell sizes follow from it bit for bit */
    uint32_t side = iw >= ih ? w : h;
    orf_field g;
    memset(&g, 0, sizeof g);
    if (side >= 8)
        field_grid((int)iw, (int)ih, (int)side, &g);
    if (side < 8 || g.w != (int)w || g.h != (int)h)
        return orf_fail(e, "bad_field", "%s: damaged field: a grid of %u x %u cells does not "
                        "fit a %u x %u image", name, w, h, iw, ih);
    if (memcmp(&g.sx, &sx, sizeof sx) != 0 || memcmp(&g.sy, &sy, sizeof sy) != 0)
        return orf_fail(e, "bad_field", "%s: damaged field: cells of %g x %g model units, not "
                        "the %g x %g of %u x %u cells over a %u x %u image", name, (double)sx,
                        (double)sy, (double)g.sx, (double)g.sy, w, h, iw, ih);
    size_t n = (size_t)w * h;
    if ((len - FIELD_HEADER) / 12 != n || (len - FIELD_HEADER) % 12 != 0)
        return orf_fail(e, "bad_field", "%s: %zu bytes do not hold %u x %u cells", name, len, w, h);
    f->w = (int)w;
    f->h = (int)h;
    f->img_w = (int)iw;
    f->img_h = (int)ih;
    f->mode = (field_mode)mode;
    f->back = (field_back)back;
    f->sx = sx;
    f->sy = sy;
    f->sd = malloc(n * sizeof(float));
    f->top = malloc(n * sizeof(float));
    f->bot = malloc(n * sizeof(float));
    if (!f->sd || !f->top || !f->bot) {
        field_free(f);
        return orf_fail(e, "too_large", "%s: out of memory for the field", name);
    }
    float *arr[3] = {f->sd, f->top, f->bot};
    const uint8_t *q = blob + FIELD_HEADER;
    for (int a = 0; a < 3; a++)
        for (size_t i = 0; i < n; i++, q += 4)
            arr[a][i] = get_f32(q);
    if (check_values(f, name, e) != 0) {
        field_free(f);
        return -1;
    }
    return 0;
}
