/* Fuzz target: the image path up to the mask: the format checks with a
 * small pixel limit, the decode (in this process, so that a decoder's crash
 * reaches the fuzzer instead of ending a sandboxed child quietly), then the
 * mask with each method (auto first). What the checks accept must decode
 * to the size they promised. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imageio.h"
#include "mask.h"

#define FUZZ_MAX_PIXELS (96u * 96u) /* keeps each run fast; the check itself is what is fuzzed */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    orf_image img;
    orf_err e;
    image_header hdr;
    if (image_check(data, size, "fuzz.png", FUZZ_MAX_PIXELS, &hdr, &e) < 0) {
        if (strcmp(e.code, "bad_image") != 0 && strcmp(e.code, "too_large") != 0)
            abort(); /* the check speaks only these two */
        return 0;
    }
    if (hdr.w <= 0 || hdr.h <= 0 || (uint64_t)hdr.w * (uint64_t)hdr.h > FUZZ_MAX_PIXELS)
        abort(); /* the limit must hold */
    image_bounds in_process = {1, 0, 0, 0};
    if (image_decode(data, size, "fuzz.png", &hdr, &in_process, &img, &e) < 0)
        return 0;
    if (img.w != hdr.w || img.h != hdr.h)
        abort(); /* the decoder gave what the header promised */
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
