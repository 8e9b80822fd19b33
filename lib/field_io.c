/* field_io.c - a field as a blob and back: field_serialise and
 * field_deserialise (the format is in field.h). */
#include "field.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

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
    if (w < 1 || h < 1 || w > 4096 || h > 4096 || iw < 1 || ih < 1 || iw > (1u << 24) ||
        ih > (1u << 24) || mode > 2 || back > 1 || !(sx > 0 && sx <= 1) || !(sy > 0 && sy <= 1))
        return orf_fail(e, "bad_field", "%s: field header out of range (%u x %u cells)", name, w,
                        h);
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
        for (size_t i = 0; i < n; i++, q += 4) {
            float v = get_f32(q);
            /* field_compute never makes a value past about 50 model units (depth <= 100
             * on a unit-wide image); 1e3 is generous. A larger one would make
             * volume_sample's z range, and so its grid, absurd (1.6 GB at n = 8). */
            if (!isfinite(v) || fabsf(v) > 1e3f) {
                field_free(f);
                return orf_fail(e, "bad_field", "%s: value %zu is not a finite height", name, i);
            }
            arr[a][i] = v;
        }
    return 0;
}
