/* Fuzz target: the image path up to the mask: the header check with a small
 * pixel limit, the decode, then the mask with each method (auto first). */
#include <stdint.h>
#include <stdlib.h>

#include "imageio.h"
#include "mask.h"

#define FUZZ_MAX_PIXELS (96u * 96u) /* keeps each run fast; the check itself is what is fuzzed */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    orf_image img;
    orf_err e;
    if (image_load_memory(data, size, "fuzz.png", FUZZ_MAX_PIXELS, &img, &e) < 0)
        return 0;
    if (img.w <= 0 || img.h <= 0 || (uint64_t)img.w * (uint64_t)img.h > FUZZ_MAX_PIXELS)
        abort(); /* the limit must hold */
    static const mask_method methods[] = {MASK_AUTO, MASK_ALPHA, MASK_BORDER, MASK_LUMA};
    /* the input picks which forced method runs after auto, so each run stays short */
    mask_method forced = methods[1 + data[size - 1] % 3];
    mask_method run[2] = {MASK_AUTO, forced};
    for (int i = 0; i < 2; i++) {
        orf_mask m;
        if (mask_compute(&img, run[i], "fuzz.png", &m, &e) == 0) {
            if (m.w != img.w || m.h != img.h || !m.cov)
                abort();
            for (size_t k = 0; k < (size_t)m.w * (size_t)m.h; k++)
                if (!(m.cov[k] >= 0.0f && m.cov[k] <= 1.0f))
                    abort(); /* coverage is in [0,1] and never NaN */
            mask_free(&m);
        }
    }
    image_free(&img);
    return 0;
}
