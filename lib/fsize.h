/* fsize.h - a write past the file-size limit is an error, not a death.
 *
 * When a process runs under a file-size limit (`ulimit -f`, RLIMIT_FSIZE), a
 * write that would pass it raises SIGXFSZ, whose default action ends the
 * process on the spot and leaves its temporary files behind. With SIGXFSZ
 * ignored the same write fails with EFBIG, which every writer in liborfeas
 * already turns into an error record and a removed temporary file.
 */
#ifndef ORFEAS_FSIZE_H
#define ORFEAS_FSIZE_H

/* Ignore SIGXFSZ when it is at its default action (a handler or an ignore
 * the program set itself is left alone). Idempotent and cheap; called by
 * the cache and mesh writers before they write. */
void fsize_limit_as_error(void);

#endif
