/* err.h - the error value every liborfeas function reports through.
 *
 * A function that can fail returns 0 on success and -1 on failure, and fills
 * the orf_err it was given (which may be NULL when the caller does not care).
 * `code` is a short stable identifier that goes into an NDJSON error record
 * ("bad_request", "io_error", "bad_image", "bad_mesh", "too_large",
 * "no_foreground", "cache_error", ...); `message` is a sentence for people that
 * names the input and the problem. lib/ never exits and never prints.
 */
#ifndef ORFEAS_ERR_H
#define ORFEAS_ERR_H

#include <stddef.h>

typedef struct orf_err {
    char code[32];
    char message[480];
} orf_err;

/* Fill e (when not NULL) and return -1, so `return orf_fail(e, ...)` reads well. */
int orf_fail(orf_err *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear e to the "no error" state (empty code). */
void orf_err_clear(orf_err *e);

/* Copy of an errno text that also names a path: "cat.png: No such file or directory". */
int orf_fail_errno(orf_err *e, const char *code, const char *path);

#endif
