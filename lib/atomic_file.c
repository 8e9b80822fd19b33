/* atomic_file.c - temporary file, fsync, rename: the one writer (see atomic_file.h). */
#include "atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsize.h"
#include "sha256.h"

#define TARGET_IN_NAME 40 /* bytes of the target's name kept in a temporary name */

/* ---- the machine's tag ------------------------------------------------------ */

static pthread_once_t tag_once = PTHREAD_ONCE_INIT;
static uint32_t tag_value;
static int tag_known; /* 0: pids in names are never judged (no /proc to tell the namespace) */

static size_t read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t r = read(fd, buf, size);
    close(fd);
    return r > 0 ? (size_t)r : 0;
}

static void tag_init(void)
{
    char buf[512];
    size_t n = 0;
    if (gethostname(buf, 200) == 0)
        n = strnlen(buf, 200);
    buf[n++] = '\n';
    n += read_small("/proc/sys/kernel/random/boot_id", buf + n, 64);
    buf[n++] = '\n';
    ssize_t r = readlink("/proc/self/ns/pid", buf + n, sizeof buf - n);
    if (r > 0) {
        n += (size_t)r;
        tag_known = 1;
    } else {
        /* no way to tell which pids we can see: a tag of our own, matching nobody */
        unsigned char rnd[8] = {0};
        if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) < 0)
            memset(rnd, 0, sizeof rnd);
        memcpy(buf + n, rnd, sizeof rnd);
        n += sizeof rnd;
        long pid = (long)getpid();
        memcpy(buf + n, &pid, sizeof pid);
        n += sizeof pid;
    }
    uint8_t h[SHA256_BYTES];
    sha256(buf, n, h);
    tag_value = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

static uint32_t host_tag(void)
{
    pthread_once(&tag_once, tag_init);
    return tag_value;
}

/* ---- names -------------------------------------------------------------------- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* n hex digits at s into *v (when not NULL); the number of characters used, 0 if not. */
static int hex_run(const char *s, int n, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < n; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return 0;
        x = x << 4 | (uint32_t)h;
    }
    if (v)
        *v = x;
    return n;
}

/* The current form: ".tmp.<8 hex>.<pid>.<12 hex>" then end or ".<anything>". */
static int parse_current(const char *name, uint32_t *tag, long *pid)
{
    const size_t pl = strlen(ATOMIC_TEMP_PREFIX);
    if (strncmp(name, ATOMIC_TEMP_PREFIX, pl) != 0)
        return 0;
    const char *p = name + pl;
    if (!hex_run(p, 8, tag) || p[8] != '.')
        return 0;
    p += 9;
    long v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 10) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (!digits || v <= 0 || *p != '.')
        return 0;
    p++;
    if (!hex_run(p, 12, NULL) || (p[12] != 0 && p[12] != '.'))
        return 0;
    *pid = v;
    return 1;
}

/* Forms earlier versions wrote: the cache's ".tmp.<16 hex>", and mkostemp's
 * "<name>.<ext>.tmp.XXXXXX" beside an output (ext one the programs write). */
static int is_old_form(const char *name)
{
    const size_t pl = strlen(ATOMIC_TEMP_PREFIX);
    size_t n = strlen(name);
    if (n == pl + 16 && strncmp(name, ATOMIC_TEMP_PREFIX, pl) == 0 && hex_run(name + pl, 16, NULL))
        return 1;
    static const char *const exts[] = {".glb", ".obj", ".ply", ".stl", ".png", ".mtl"};
    if (n < 11 + 4 + 1)
        return 0;
    const char *x = name + n - 6; /* the XXXXXX */
    for (int i = 0; i < 6; i++) {
        char c = x[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return 0;
    }
    if (strncmp(x - 5, ".tmp.", 5) != 0)
        return 0;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (x - 5 - 4 > name && strncmp(x - 9, exts[i], 4) == 0)
            return 1;
    return 0;
}

int atomic_temp_kind(const char *name)
{
    uint32_t tag;
    long pid;
    if (parse_current(name, &tag, &pid))
        return ATOMIC_TEMP_CURRENT;
    return is_old_form(name) ? ATOMIC_TEMP_OLD : ATOMIC_TEMP_NONE;
}

int atomic_temp_stale(const char *name, double mtime, double now)
{
    if (now - mtime > ATOMIC_TEMP_MAX_AGE)
        return 1;
    uint32_t tag;
    long pid;
    if (!parse_current(name, &tag, &pid))
        return 0;
    if (tag != host_tag() || !tag_known || pid == (long)getpid() || pid > INT_MAX)
        return 0;
    return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int atomic_sweep_at(int dir_fd)
{
    int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    int removed = 0;
    double now = now_seconds();
    struct dirent *de;
    while ((de = readdir(d))) {
        if (atomic_temp_kind(de->d_name) == ATOMIC_TEMP_NONE)
            continue;
        struct stat st;
        if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        double mt = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
        if (atomic_temp_stale(de->d_name, mt, now) && unlinkat(dir_fd, de->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

/* Sweep a folder the first time this process writes into it: a few folders
 * are remembered by device and inode (a program writes into one or two). */
static void sweep_once(int dir_fd)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static struct {
        dev_t dev;
        ino_t ino;
    } seen[16];
    static int nseen, next;
    struct stat st;
    if (fstat(dir_fd, &st) < 0)
        return;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nseen; i++) {
        if (seen[i].dev == st.st_dev && seen[i].ino == st.st_ino) {
            pthread_mutex_unlock(&mu);
            return;
        }
    }
    seen[next].dev = st.st_dev;
    seen[next].ino = st.st_ino;
    next = (next + 1) % 16;
    if (nseen < 16)
        nseen++;
    pthread_mutex_unlock(&mu);
    atomic_sweep_at(dir_fd);
}

/* ---- writing ------------------------------------------------------------------ */

static void random_hex(char *out, int nbytes)
{
    static const char hx[] = "0123456789abcdef";
    unsigned char r[16];
    if (getrandom(r, (size_t)nbytes, GRND_NONBLOCK) != nbytes) {
        /* no entropy yet (early boot): O_EXCL still keeps names unique */
        static unsigned long counter;
        unsigned long x = (unsigned long)now_seconds() * 2654435761u ^ (unsigned long)getpid() ^
                          __atomic_add_fetch(&counter, 0x9e3779b9u, __ATOMIC_RELAXED);
        for (int i = 0; i < nbytes; i++, x = x * 6364136223846793005ul + 1442695040888963407ul)
            r[i] = (unsigned char)(x >> 56);
    }
    for (int i = 0; i < nbytes; i++) {
        out[2 * i] = hx[r[i] >> 4];
        out[2 * i + 1] = hx[r[i] & 15];
    }
    out[2 * nbytes] = 0;
}

/* The temporary file: a fresh name, O_EXCL. fd, or -1 with errno. */
static int temp_create(int dir_fd, const char *target, mode_t mode, char name[ATOMIC_TEMP_NAME_MAX])
{
    char cut[TARGET_IN_NAME + 1] = "";
    if (target && *target) {
        size_t n = strnlen(target, TARGET_IN_NAME);
        while (n > 0 && n < strlen(target) && ((unsigned char)target[n] & 0xC0) == 0x80)
            n--; /* never cut a UTF-8 character in two */
        memcpy(cut, target, n);
        cut[n] = 0;
    }
    for (int tries = 0; tries < 100; tries++) {
        char rnd[13];
        random_hex(rnd, 6);
        snprintf(name, ATOMIC_TEMP_NAME_MAX, "%s%08x.%ld.%s%s%s", ATOMIC_TEMP_PREFIX, (unsigned)host_tag(),
                 (long)getpid(), rnd, cut[0] ? "." : "", cut);
        int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

int atomic_open_at(atomic_file *af, int dir_fd, const char *target, mode_t mode)
{
    fsize_limit_as_error(); /* past `ulimit -f`: EFBIG and an error, not SIGXFSZ */
    af->dir_fd = dir_fd;
    af->own_dir = 0;
    af->fd = -1;
    af->tmp[0] = 0;
    af->target[0] = 0;
    if (target) {
        if (!*target || strchr(target, '/') || strlen(target) >= sizeof af->target) {
            errno = !*target ? ENOENT : strchr(target, '/') ? EINVAL : ENAMETOOLONG;
            return -1;
        }
        strcpy(af->target, target);
    }
    af->fd = temp_create(dir_fd, target, mode, af->tmp);
    if (af->fd < 0) {
        af->tmp[0] = 0;
        return -1;
    }
    return 0;
}

int atomic_open_path(atomic_file *af, const char *path, mode_t mode, orf_err *e)
{
    af->dir_fd = af->fd = -1;
    af->own_dir = 0;
    af->tmp[0] = af->target[0] = 0;
    if (!path || !*path)
        return orf_fail(e, "io_error", "an empty path is not a file name");
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return orf_fail(e, "io_error", "%s: not a file name", path);
    char dir[PATH_MAX];
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t dl = (size_t)(slash - path);
        if (dl >= sizeof dir)
            return orf_fail(e, "io_error", "%.100s...: path too long", path);
        memcpy(dir, path, dl);
        dir[dl] = 0;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return orf_fail_errno(e, "io_error", path);
    sweep_once(dfd);
    if (atomic_open_at(af, dfd, base, mode) < 0) {
        int saved = errno;
        close(dfd);
        af->dir_fd = -1;
        errno = saved;
        return orf_fail_errno(e, "io_error", path);
    }
    af->own_dir = 1;
    return 0;
}

int atomic_write_all(int fd, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int atomic_write(atomic_file *af, const void *data, size_t n)
{
    if (af->fd < 0) {
        errno = EBADF;
        return -1;
    }
    return atomic_write_all(af->fd, data, n);
}

void atomic_abort(atomic_file *af)
{
    int saved = errno;
    if (af->fd >= 0) {
        close(af->fd);
        af->fd = -1;
    }
    if (af->tmp[0] && af->dir_fd >= 0)
        unlinkat(af->dir_fd, af->tmp, 0);
    af->tmp[0] = 0;
    if (af->own_dir && af->dir_fd >= 0)
        close(af->dir_fd);
    af->own_dir = 0;
    af->dir_fd = -1;
    errno = saved;
}

int atomic_commit_to(atomic_file *af, int to_dir_fd, const char *name)
{
    if (af->fd < 0 || !af->tmp[0]) {
        errno = EBADF;
        return -1;
    }
    if (fsync(af->fd) < 0) {
        atomic_abort(af);
        return -1;
    }
    int fd = af->fd;
    af->fd = -1; /* closed below whatever close returns: never closed again */
    if (close(fd) < 0 || renameat(af->dir_fd, af->tmp, to_dir_fd, name) < 0) {
        atomic_abort(af);
        return -1;
    }
    af->tmp[0] = 0;
    (void)fsync(to_dir_fd); /* the rename itself survives a crash; the file is in place either way */
    atomic_abort(af);       /* releases the folder when owned; nothing else is left */
    errno = 0;
    return 0;
}

int atomic_commit(atomic_file *af)
{
    if (!af->target[0]) {
        atomic_abort(af);
        errno = EINVAL;
        return -1;
    }
    return atomic_commit_to(af, af->dir_fd, af->target);
}

int atomic_write_at(int dir_fd, const char *name, const void *data, size_t n, mode_t mode)
{
    atomic_file af;
    if (atomic_open_at(&af, dir_fd, name, mode) < 0)
        return -1;
    if (atomic_write(&af, data, n) < 0) {
        atomic_abort(&af);
        return -1;
    }
    return atomic_commit(&af);
}

int atomic_write_path(const char *path, const void *data, size_t n, mode_t mode, orf_err *e)
{
    atomic_file af;
    if (atomic_open_path(&af, path, mode, e) < 0)
        return -1;
    if (atomic_write(&af, data, n) < 0) {
        atomic_abort(&af);
        return orf_fail_errno(e, "io_error", path);
    }
    if (atomic_commit(&af) < 0)
        return orf_fail_errno(e, "io_error", path);
    return 0;
}
