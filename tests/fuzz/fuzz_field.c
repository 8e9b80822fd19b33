/* Fuzz target: field_deserialise on arbitrary blobs; when one is accepted,
 * sample it as a volume at a small grid: every value must be a finite
 * number (a NaN or an infinity breaks the extraction's interpolation). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "field.h"
#include "volume.h"

#define FUZZ_MAX_CELLS (1u << 20) /* skip sampling absurdly large (but valid) fields */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    orf_field f;
    orf_err e;
    if (field_deserialise(data, size, "fuzz.field", &f, &e) < 0)
        return 0;
    if (f.w <= 0 || f.h <= 0 || (size_t)f.w * (size_t)f.h * 12 + 48 > size)
        abort(); /* sizes were checked against the blob */
    if ((size_t)f.w * (size_t)f.h <= FUZZ_MAX_CELLS) {
        orf_volume v;
        if (volume_sample(&f, 8, &v, &e) == 0) {
            size_t n = (size_t)v.nx * (size_t)v.ny * (size_t)v.nz;
            for (size_t i = 0; i < n; i++)
                if (!isfinite(v.f[i]))
                    abort();
            volume_free(&v);
        }
    }
    field_free(&f);
    return 0;
}
