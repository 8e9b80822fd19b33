/* alloc.c - whether large arrays go to transparent huge pages (alloc.h). */
#include "alloc.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int huge;

static void decide(void)
{
    char buf[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = 0;
        fclose(f);
    }
    /* "always [madvise] never": the bracketed word is the mode */
    huge = buf[0] && !strstr(buf, "[never]");
    if (huge)
        (void)mallopt(M_MMAP_THRESHOLD, (int)ORF_HUGE_PAGE);
}

int orf_huge_pages(void)
{
    pthread_once(&once, decide);
    return huge;
}
