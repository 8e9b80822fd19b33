/* alloc.h - zeroed arrays that are written before they are read, and large
 * working arrays in transparent huge pages (orf_malloc_big, below).
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
#include <string.h>
#include <sys/mman.h>

/* Large working arrays (volumes, extraction and decimation buffers, mesh
 * arrays, encoded files) ask the kernel for transparent huge pages: where
 * THP is in "madvise" mode (Debian's default) every fresh 4 KiB page is
 * otherwise a fault of its own; mesh-gen -p touched 53k of them for one
 * picture, a third of its time on a virtual machine, where a fault is dear.
 * It is advice: where THP is off nothing changes. */
#define ORF_HUGE_PAGE ((size_t)2 << 20)

/* Advise the whole 2 MiB pages inside [p, p + n). */
static inline void orf_advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    if (!p || n < ORF_HUGE_PAGE)
        return;
    uintptr_t lo = ((uintptr_t)p + ORF_HUGE_PAGE - 1) & ~(uintptr_t)(ORF_HUGE_PAGE - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)(ORF_HUGE_PAGE - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

/* 1 when transparent huge pages can be had (THP not "never": the first call
 * reads /sys/kernel/mm/transparent_hugepage/enabled, alloc.c). Then glibc's
 * mmap threshold is fixed at 2 MiB, so that every such array is a mapping
 * of its own, unmapped when freed: glibc raises the threshold (to 32 MiB)
 * after the first large free and then carves the arrays from the heap,
 * which keeps their huge pages after free and fragments around the
 * alignment (six pictures in one mesh-gen: peak RSS 411 MB against 233 MB
 * without huge pages). Without THP nothing changes: plain malloc, and the
 * heap's reuse of freed arrays. */
int orf_huge_pages(void);

/* malloc(count * each), at least one byte; from 2 MiB on, where THP can be
 * had, aligned to and rounded up to whole huge pages, advised (free()
 * releases it as any other). NULL on overflow or no memory. */
static inline void *orf_malloc_big(size_t count, size_t each)
{
    if (each && count > SIZE_MAX / each)
        return NULL;
    size_t n = count * each;
    if (n < ORF_HUGE_PAGE || !orf_huge_pages())
        return malloc(n ? n : 1);
    if (n > SIZE_MAX - ORF_HUGE_PAGE)
        return NULL;
    n = (n + ORF_HUGE_PAGE - 1) & ~(ORF_HUGE_PAGE - 1);
    void *p = aligned_alloc(ORF_HUGE_PAGE, n);
    orf_advise_huge(p, n);
    return p;
}

/* count * each zeroed bytes (at least one), or NULL on overflow or no memory.
 * A write to each page (through a volatile pointer: the compiler turns
 * malloc plus memset into calloc) faults it in writable and zeroed. */
static inline void *orf_zalloc(size_t count, size_t each)
{
    if (each && count > SIZE_MAX / each)
        return NULL;
    size_t n = count * each;
    if (n >= ORF_HUGE_PAGE) {
        void *q = orf_malloc_big(n, 1);
        return q ? memset(q, 0, n) : NULL;
    }
    volatile unsigned char *p = calloc(n ? n : 1, 1);
    if (p)
        for (size_t i = 0; i < n; i += 4096)
            p[i] = 0;
    return (void *)p;
}

#endif
