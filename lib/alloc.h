/* alloc.h - zeroed arrays that are written before they are read.
 *
 * calloc hands out fresh pages that the kernel maps to its shared zero page
 * on the first read; the first write after that is a copy-on-write fault
 * whose TLB flush interrupts every other CPU the process runs on. Arrays
 * that are read before they are written (counters, flags, sums) paid for
 * that once per page as soon as OpenMP or a worker thread was running:
 * 5-9% of a decimation's time went to those flushes (perf, 2 threads).
 * orf_zalloc writes the zeros itself, so each page is faulted in writable
 * once, with no flush. Use it for large arrays that are updated in place;
 * plain calloc is fine for ones only ever written whole or read rarely. */
#ifndef ORFEAS_ALLOC_H
#define ORFEAS_ALLOC_H

#include <stdint.h>
#include <stdlib.h>

/* count * each zeroed bytes (at least one), or NULL on overflow or no memory.
 * A write to each page (through a volatile pointer: the compiler turns
 * malloc plus memset into calloc) faults it in writable and zeroed. */
static inline void *orf_zalloc(size_t count, size_t each)
{
    if (each && count > SIZE_MAX / each)
        return NULL;
    size_t n = count * each;
    volatile unsigned char *p = calloc(n ? n : 1, 1);
    if (p)
        for (size_t i = 0; i < n; i += 4096)
            p[i] = 0;
    return (void *)p;
}

#endif
