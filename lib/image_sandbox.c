/* image_sandbox.c - a forked, bounded child for work that must not hang or
 * exhaust the caller (see image_sandbox.h). */
#include "image_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* What the child reports beside fn's output: the last page of the mapping. */
typedef struct sandbox_control {
    int done;      /* 1 once fn returned and rc/why are written */
    int rc;        /* fn's return value */
    int setup_err; /* errno of a setup step that failed (then done stays 0) */
    char why[256];
} sandbox_control;

#ifdef MADV_POPULATE_WRITE
#define SANDBOX_POPULATE_WRITE MADV_POPULATE_WRITE
#else
#define SANDBOX_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* The child's exit status when a setup step failed (the reason is in the control block). */
#define SANDBOX_SETUP_EXIT 121

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

static size_t mapping_size(size_t out_size)
{
    size_t pg = page_size();
    size_t body = out_size ? (out_size + pg - 1) / pg * pg : pg;
    return body + pg;
}

size_t sandbox_mapping_bytes(size_t out_size) { return mapping_size(out_size); }

void sandbox_unmap(void *out, size_t out_size)
{
    if (out)
        munmap(out, mapping_size(out_size));
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- the child ---- */

#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define SC_ALLOW(nr)                                                                               \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(nr), 0, 1),                                     \
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/* Every system call but memory management, its own signal handling, time,
 * write to fd 2 (a sanitizer's report) and exit fails with EPERM. 0, or -1
 * (errno set). */
static int install_seccomp(void)
{
#ifdef SANDBOX_AUDIT_ARCH
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const unsigned arg0_lo = offsetof(struct seccomp_data, args[0]);
#else
    const unsigned arg0_lo = offsetof(struct seccomp_data, args[0]) + 4;
#endif
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
        /* the x32 ABI's numbers (bit 30) are refused */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
#endif
        SC_ALLOW(SYS_brk),
        SC_ALLOW(SYS_mmap),
        SC_ALLOW(SYS_munmap),
        SC_ALLOW(SYS_mremap),
        SC_ALLOW(SYS_mprotect),
        SC_ALLOW(SYS_madvise),
        SC_ALLOW(SYS_futex),
        SC_ALLOW(SYS_rt_sigreturn),
        SC_ALLOW(SYS_rt_sigprocmask),
        SC_ALLOW(SYS_rt_sigaction),
        SC_ALLOW(SYS_sigaltstack), /* AddressSanitizer asks before every noreturn call */
        SC_ALLOW(SYS_sched_yield),
        SC_ALLOW(SYS_getpid),
        SC_ALLOW(SYS_gettid),
        SC_ALLOW(SYS_clock_gettime),
        SC_ALLOW(SYS_exit),
        SC_ALLOW(SYS_exit_group),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_write, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arg0_lo),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
#else
    return 0; /* no filter for this architecture: the rlimits still hold */
#endif
}

/* The pages of the address space now (VmSize), from /proc/self/statm. */
static int address_space_bytes(size_t *bytes)
{
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *end;
    unsigned long long pages = strtoull(buf, &end, 10);
    if (end == buf)
        return -1;
    *bytes = (size_t)pages * page_size();
    return 0;
}

/* Zero the stack below this point, so that a decoder reading a local it never
 * wrote (stb_image's PNG palette past PLTE's last entry) reads zeros, not
 * whatever the caller's frames left there before the fork. */
__attribute__((noinline)) static void scrub_stack(void)
{
    volatile unsigned char buf[64 * 1024];
    explicit_bzero((void *)buf, sizeof buf);
}

static void setup_failed(sandbox_control *ctl, const char *step)
{
    ctl->setup_err = errno ? errno : EINVAL;
    snprintf(ctl->why, sizeof ctl->why, "%s", step);
    _exit(SANDBOX_SETUP_EXIT);
}

__attribute__((noreturn)) static void child_main(sandbox_fn fn, void *arg, void *out,
                                                 size_t out_size, sandbox_control *ctl,
                                                 const sandbox_limits *lim, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(SANDBOX_SETUP_EXIT); /* the parent is already gone */
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    if (lim->cpu_seconds) {
        /* SIGXCPU at the limit says why the child died; SIGKILL a second
         * later in case it is caught */
        rl.rlim_cur = lim->cpu_seconds;
        rl.rlim_max = (rlim_t)lim->cpu_seconds + 1;
        if (setrlimit(RLIMIT_CPU, &rl) != 0)
            setup_failed(ctl, "setrlimit(RLIMIT_CPU)");
    }
    if (lim->memory_bytes) {
        size_t now;
        if (address_space_bytes(&now) != 0)
            setup_failed(ctl, "reading /proc/self/statm");
        rl.rlim_cur = rl.rlim_max =
            now > SIZE_MAX - lim->memory_bytes ? RLIM_INFINITY : (rlim_t)(now + lim->memory_bytes);
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            setup_failed(ctl, "setrlimit(RLIMIT_AS)");
    }
    signal(SIGXCPU, SIG_DFL);
    sigset_t xcpu;
    sigemptyset(&xcpu);
    sigaddset(&xcpu, SIGXCPU);
    sigprocmask(SIG_UNBLOCK, &xcpu, NULL);
    /* a kernel (or valgrind) without seccomp filters: the rlimits and the
     * parent's real-time bound still hold, as on an architecture without one */
    if (install_seccomp() != 0 && errno != ENOSYS && errno != EINVAL)
        setup_failed(ctl, "installing the seccomp filter");
    scrub_stack();
    /* one call that allocates the output's pages instead of a page fault
     * each (3-4x cheaper; an old kernel says EINVAL and the faults happen) */
    madvise(out, mapping_size(out_size) - page_size(), SANDBOX_POPULATE_WRITE);
    int rc = fn(arg, out, out_size, ctl->why, sizeof ctl->why);
    ctl->why[sizeof ctl->why - 1] = 0;
    ctl->rc = rc;
    __atomic_store_n(&ctl->done, 1, __ATOMIC_RELEASE);
    _exit(0);
}

/* ---- the parent ---- */

static void fill_not_started(sandbox_result *r, const char *step, int err)
{
    r->status = SANDBOX_NOT_STARTED;
    r->err = err;
    snprintf(r->why, sizeof r->why, "%.160s: %.80s", step, strerror(err));
}

/* Wait for the child to end, at most wall_ms (0: for ever). 1 ended, 0 time
 * is up. Uses a pidfd where the kernel has one (5.3+), else polls waitpid. */
static int wait_end(pid_t pid, unsigned wall_ms, double t0, int *status, struct rusage *ru,
                    int *reaped)
{
    *reaped = 0;
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    for (unsigned sleep_us = 50;;) {
        double left = wall_ms ? (double)wall_ms - (now_ms() - t0) : 1e9;
        if (left <= 0)
            break;
        if (pfd >= 0) {
            struct pollfd p = {pfd, POLLIN, 0};
            int ms = left > 1e8 ? -1 : (int)left + 1;
            int n = poll(&p, 1, ms);
            if (n < 0 && errno == EINTR)
                continue;
            if (n == 0)
                continue; /* recompute what is left; ends at the top */
            if (n < 0) {
                close(pfd);
                pfd = -1;
                continue;
            }
        }
        pid_t w = wait4(pid, status, WNOHANG, ru);
        if (w == pid) {
            *reaped = 1;
            break;
        }
        if (w < 0 && errno == ECHILD) {
            *reaped = -1; /* reaped elsewhere (SIGCHLD ignored): status unknown */
            break;
        }
        if (pfd < 0) {
            struct timespec ts = {0, (long)sleep_us * 1000};
            nanosleep(&ts, NULL);
            if (sleep_us < 5000)
                sleep_us *= 2;
        }
    }
    if (pfd >= 0)
        close(pfd);
    return *reaped != 0;
}

int sandbox_run(sandbox_fn fn, void *arg, size_t out_size, const sandbox_limits *lim, void **out,
                sandbox_result *r)
{
    memset(r, 0, sizeof *r);
    *out = NULL;
    size_t total = mapping_size(out_size);
    void *map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        fill_not_started(r, "mapping the decoder's output", errno);
        return -1;
    }
    *out = map;
    sandbox_control *ctl = (sandbox_control *)((unsigned char *)map + total - page_size());
    pid_t parent = getpid();
    /* Only this child may share the mapping: another thread's sandbox fork
     * waits until it is marked DONTFORK (after this fork). */
    static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&fork_lock);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0)
        child_main(fn, arg, map, out_size, ctl, lim, parent);
    int fork_err = errno;
    madvise(map, total, MADV_DONTFORK);
    pthread_mutex_unlock(&fork_lock);
    if (pid < 0) {
        fill_not_started(r, "fork", fork_err);
        return -1;
    }

    int status = 0, reaped = 0, killed = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (!wait_end(pid, lim->wall_ms, t0, &status, &ru, &reaped)) {
        kill(pid, SIGKILL);
        killed = 1;
        while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
            ;
        reaped = 1;
    }
    r->ms = now_ms() - t0;
    int done = __atomic_load_n(&ctl->done, __ATOMIC_ACQUIRE);
    if (killed) {
        r->status = SANDBOX_WALL_LIMIT;
        r->signal = SIGKILL;
        return -1;
    }
    if (reaped > 0 && WIFSIGNALED(status)) {
        r->signal = WTERMSIG(status);
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                     ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
        r->status = lim->cpu_seconds && (r->signal == SIGXCPU ||
                                         (r->signal == SIGKILL && cpu >= lim->cpu_seconds))
                        ? SANDBOX_CPU_LIMIT
                        : SANDBOX_CRASHED;
        return -1;
    }
    if (reaped > 0 && WIFEXITED(status) && WEXITSTATUS(status) == SANDBOX_SETUP_EXIT &&
        ctl->setup_err) {
        ctl->why[sizeof ctl->why - 1] = 0;
        fill_not_started(r, ctl->why, ctl->setup_err);
        return -1;
    }
    if (!done || (reaped > 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))) {
        r->status = SANDBOX_CRASHED;
        r->exit_code = reaped > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return -1;
    }
    if (ctl->rc != 0) {
        r->status = SANDBOX_FAILED;
        memcpy(r->why, ctl->why, sizeof r->why);
        r->why[sizeof r->why - 1] = 0;
        return -1;
    }
    r->status = SANDBOX_OK;
    return 0;
}

const char *sandbox_status_text(const sandbox_result *r, char *buf, size_t n)
{
    switch (r->status) {
    case SANDBOX_OK:
        snprintf(buf, n, "finished");
        break;
    case SANDBOX_FAILED:
        snprintf(buf, n, "failed (%s)", r->why);
        break;
    case SANDBOX_CPU_LIMIT:
        snprintf(buf, n, "was stopped at its CPU time limit");
        break;
    case SANDBOX_WALL_LIMIT:
        snprintf(buf, n, "was stopped after %.1f s of real time", r->ms / 1e3);
        break;
    case SANDBOX_CRASHED:
        if (r->signal)
            snprintf(buf, n, "crashed (%s)", strsignal(r->signal));
        else if (r->exit_code >= 0)
            snprintf(buf, n, "ended without a result (exit status %d)", r->exit_code);
        else
            snprintf(buf, n, "ended without a result");
        break;
    case SANDBOX_NOT_STARTED:
        snprintf(buf, n, "could not be started (%s)", r->why);
        break;
    }
    return buf;
}
