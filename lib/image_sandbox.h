/* image_sandbox.h - running a decoder where it can neither hang nor exhaust
 * the process that asked for it.
 *
 * sandbox_run forks a child that calls fn(arg, out, out_size, why, why_size)
 * and returns what it wrote into `out`, a MAP_SHARED anonymous mapping of
 * out_size bytes that parent and child both see. The child runs under bounds
 * the kernel enforces and it cannot lift:
 *
 *   RLIMIT_CPU   cpu_seconds of CPU time (SIGXCPU at the limit, SIGKILL a
 *                second later);
 *   RLIMIT_AS    its address space at the fork plus memory_bytes, so an
 *                allocation past the budget fails (malloc returns NULL);
 *   RLIMIT_CORE  0 (a crash writes no core file);
 *   seccomp      after the limits are set, every system call but memory
 *                management, write to fd 2 and exit fails with EPERM: the
 *                child cannot raise its limits (even as root), open a file,
 *                write to the parent's stdout or signal another process;
 *   PDEATHSIG    it dies with its parent;
 *
 * and the parent waits at most wall_ms of real time (then SIGKILL). A child
 * that is killed, crashes or runs out of memory is reported, never fatal to
 * the caller. Nothing of the child's is left: it is reaped, and the mapping
 * is the caller's to release with sandbox_unmap (or to keep: it is marked
 * MADV_DONTFORK once the child has it, so no later child, of this module or
 * any other fork, shares it; sandbox forks are serialised for that moment).
 *
 * Cost: one fork (page tables of the caller's resident memory), the child's
 * setup (rlimits, one read of /proc/self/statm, the filter) and exit, and
 * `out`'s pages (allocated in one MADV_POPULATE_WRITE call). Threads: the
 * child runs only the calling thread; fn must not wait for another thread or
 * take a lock another thread may hold at the fork (malloc is safe: glibc
 * resets its locks in the child).
 */
#ifndef ORFEAS_IMAGE_SANDBOX_H
#define ORFEAS_IMAGE_SANDBOX_H

#include <stddef.h>

/* Bounds for one run. 0 in a field means "no bound of that kind" (tests
 * only: a decoder always gets all three). */
typedef struct sandbox_limits {
    unsigned cpu_seconds; /* CPU time of the child, whole seconds (RLIMIT_CPU) */
    unsigned wall_ms;     /* real time the parent waits, milliseconds */
    size_t memory_bytes;  /* bytes the child may map beyond what it has at the fork */
} sandbox_limits;

typedef enum sandbox_status {
    SANDBOX_OK = 0,      /* fn returned 0; `out` holds its result */
    SANDBOX_FAILED,      /* fn returned non-zero; `why` says why */
    SANDBOX_CPU_LIMIT,   /* killed at cpu_seconds of CPU time */
    SANDBOX_WALL_LIMIT,  /* killed after wall_ms of real time */
    SANDBOX_CRASHED,     /* ended by another signal, or exited without a result */
    SANDBOX_NOT_STARTED, /* mmap, fork or a setup step failed (errno in `err`) */
} sandbox_status;

typedef struct sandbox_result {
    sandbox_status status;
    int signal;     /* CPU_LIMIT, WALL_LIMIT, CRASHED: the signal, else 0 */
    int exit_code;  /* CRASHED by exit (no signal): the child's exit status */
    int err;        /* NOT_STARTED: errno of the step that failed */
    double ms;      /* real time from the fork to the child's end */
    char why[256];  /* FAILED: fn's reason; NOT_STARTED: the step that failed */
} sandbox_result;

/* The work done in the child: fill out[0..out_size) and return 0, or write
 * a reason into why[0..why_size) (NUL-terminated) and return non-zero. */
typedef int (*sandbox_fn)(void *arg, void *out, size_t out_size, char *why, size_t why_size);

/* Run fn in a bounded child. On return *out is the shared mapping (also
 * after a failure, for the caller to release with sandbox_unmap; NULL when
 * it could not be made) and *r says how the child ended. Returns 0 when
 * r->status is SANDBOX_OK, -1 otherwise. out_size 0 maps one page. */
int sandbox_run(sandbox_fn fn, void *arg, size_t out_size, const sandbox_limits *lim, void **out,
                sandbox_result *r);

/* Release a mapping sandbox_run returned. Safe on NULL. */
void sandbox_unmap(void *out, size_t out_size);

/* The bytes of the mapping sandbox_run makes for out_size (out_size rounded
 * up to pages, plus one page of its own): what to munmap when the caller
 * keeps the mapping. */
size_t sandbox_mapping_bytes(size_t out_size);

/* A sentence for the status ("was killed after 2 s of CPU time", ...). */
const char *sandbox_status_text(const sandbox_result *r, char *buf, size_t n);

#endif
