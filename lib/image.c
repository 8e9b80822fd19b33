/* image.c - an RGBA raster's memory (see image.h). */
#include "image.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void image_free(orf_image *img)
{
    if (!img)
        return;
    if (img->mapped)
        munmap(img->rgba, img->mapped);
    else
        free(img->rgba);
    memset(img, 0, sizeof *img);
}

int image_alloc(orf_image *img, int w, int h, orf_err *e)
{
    memset(img, 0, sizeof *img);
    if (w <= 0 || h <= 0 || (size_t)w > SIZE_MAX / 4 / (size_t)h)
        return orf_fail(e, "too_large", "image of %d x %d pixels cannot be allocated", w, h);
    img->rgba = calloc((size_t)w * (size_t)h, 4);
    if (!img->rgba)
        return orf_fail(e, "too_large", "out of memory for a %d x %d image", w, h);
    img->w = w;
    img->h = h;
    return 0;
}
