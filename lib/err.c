/* err.c - filling and clearing the orf_err every function reports through (see err.h). */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int orf_fail(orf_err *e, const char *code, const char *fmt, ...)
{
    if (!e)
        return -1;
    snprintf(e->code, sizeof e->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

void orf_err_clear(orf_err *e)
{
    if (e) {
        e->code[0] = 0;
        e->message[0] = 0;
    }
}

int orf_fail_errno(orf_err *e, const char *code, const char *path)
{
    int saved = errno;
    return orf_fail(e, code, "%s: %s", path, strerror(saved));
}
