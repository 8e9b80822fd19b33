/* test_atomic_file.c - the one atomic writer: whole files, modes, failures that
 * leave nothing behind (no temporary file, no descriptor), temporary names and
 * which of them are stale. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "check.h"

static char dir[256];

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the one opendir holds */
}

/* Files in dir whose name starts with ".tmp." */
static int temps_in(const char *d)
{
    int n = 0;
    DIR *dd = opendir(d);
    if (!dd)
        return -1;
    struct dirent *de;
    while ((de = readdir(dd)))
        n += strncmp(de->d_name, ".tmp.", 5) == 0;
    closedir(dd);
    return n;
}

static int file_is(const char *path, const char *text)
{
    char buf[256];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strcmp(buf, text) == 0;
}

static void put_file(const char *path, const char *text, time_t age)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    if (age) {
        struct timespec t[2] = {{time(NULL) - age, 0}, {time(NULL) - age, 0}};
        utimensat(AT_FDCWD, path, t, 0);
    }
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int main(void)
{
    char tmpl[] = "/tmp/test_atomic_file.XXXXXX";
    if (!mkdtemp(tmpl))
        return 1;
    snprintf(dir, sizeof dir, "%s", tmpl);
    char path[512], p2[512];
    orf_err e;
    int fds0 = open_fds();

    /* a whole file, mode 0666 less the umask */
    snprintf(path, sizeof path, "%s/a.glb", dir);
    mode_t old_umask = umask(022);
    CHECK(atomic_write_path(path, "hello", 5, ATOMIC_MODE_FILE, &e) == 0 && file_is(path, "hello"), "written");
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "mode 0644 under umask 022 (%o)", st.st_mode & 0777);
    umask(077);
    snprintf(p2, sizeof p2, "%s/b.glb", dir);
    CHECK(atomic_write_path(p2, "x", 1, ATOMIC_MODE_FILE, &e) == 0 && stat(p2, &st) == 0 &&
              (st.st_mode & 0777) == 0600,
          "mode 0600 under umask 077");
    umask(022);
    CHECK(atomic_write_path(p2, "y", 1, ATOMIC_MODE_PRIVATE, &e) == 0 && stat(p2, &st) == 0 &&
              (st.st_mode & 0777) == 0600,
          "private: 0600");
    umask(old_umask);

    /* replacing: a reader of the old file keeps the old bytes */
    int rfd = open(path, O_RDONLY);
    CHECK(atomic_write_path(path, "world!", 6, ATOMIC_MODE_FILE, &e) == 0 && file_is(path, "world!"), "replaced");
    char buf[16] = {0};
    CHECK(rfd >= 0 && read(rfd, buf, sizeof buf - 1) == 5 && strcmp(buf, "hello") == 0,
          "an open reader still sees the old file whole");
    if (rfd >= 0)
        close(rfd);
    CHECK(temps_in(dir) == 0, "no temporary file left");

    /* failures leave no temporary file and no descriptor */
    snprintf(p2, sizeof p2, "%s/sub", dir);
    mkdir(p2, 0755);
    snprintf(p2, sizeof p2, "%s/sub/inside", dir);
    put_file(p2, "x", 0);
    snprintf(p2, sizeof p2, "%s/sub", dir);
    CHECK(atomic_write_path(p2, "data", 4, ATOMIC_MODE_FILE, &e) < 0 && strcmp(e.code, "io_error") == 0 &&
              strstr(e.message, "sub"),
          "rename onto a folder fails: io_error naming the path (%s)", e.message);
    CHECK(temps_in(dir) == 0, "and leaves no temporary file");
    snprintf(p2, sizeof p2, "%s/missing/f", dir);
    CHECK(atomic_write_path(p2, "data", 4, ATOMIC_MODE_FILE, &e) < 0 && strcmp(e.code, "io_error") == 0,
          "a missing folder: io_error");
    CHECK(atomic_write_path("", "d", 1, ATOMIC_MODE_FILE, &e) < 0 && strcmp(e.code, "io_error") == 0, "empty path");
    snprintf(p2, sizeof p2, "%s/", dir);
    CHECK(atomic_write_path(p2, "d", 1, ATOMIC_MODE_FILE, &e) < 0 && strcmp(e.code, "io_error") == 0,
          "a folder path is not a file name");
    /* past the file-size limit: EFBIG (not SIGXFSZ), nothing left */
    struct rlimit rl, small;
    getrlimit(RLIMIT_FSIZE, &rl);
    small = rl;
    small.rlim_cur = 1000;
    if (setrlimit(RLIMIT_FSIZE, &small) == 0) {
        static char big[5000];
        snprintf(p2, sizeof p2, "%s/big.bin", dir);
        CHECK(atomic_write_path(p2, big, sizeof big, ATOMIC_MODE_FILE, &e) < 0 && strcmp(e.code, "io_error") == 0 &&
                  !exists(p2),
              "a write past the file-size limit fails (%s)", e.message);
        setrlimit(RLIMIT_FSIZE, &rl);
    } else {
        SKIP("setrlimit refused", "a write past the file-size limit fails");
    }
    CHECK(temps_in(dir) == 0, "no temporary file after the failures");
    CHECK(open_fds() == fds0, "no descriptor left open by any of it (%d, was %d)", open_fds(), fds0);

    /* streaming: open, write, abort; open, write, commit to another folder */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    atomic_file af;
    CHECK(atomic_open_at(&af, dfd, "streamed", ATOMIC_MODE_PRIVATE) == 0 && atomic_write(&af, "ab", 2) == 0,
          "open and write");
    CHECK(atomic_temp_kind(af.tmp) == ATOMIC_TEMP_CURRENT && strstr(af.tmp, ".streamed"),
          "the temporary name is ours and names the target: %s", af.tmp);
    atomic_abort(&af);
    atomic_abort(&af); /* twice is harmless */
    snprintf(p2, sizeof p2, "%s/streamed", dir);
    CHECK(!exists(p2) && temps_in(dir) == 0, "abort leaves nothing");
    snprintf(p2, sizeof p2, "%s/sub", dir);
    int sub = open(p2, O_RDONLY | O_DIRECTORY);
    CHECK(atomic_open_at(&af, dfd, NULL, ATOMIC_MODE_PRIVATE) == 0 && atomic_write(&af, "cd", 2) == 0 &&
              atomic_commit_to(&af, sub, "moved") == 0,
          "commit into another folder");
    snprintf(p2, sizeof p2, "%s/sub/moved", dir);
    CHECK(file_is(p2, "cd") && temps_in(dir) == 0, "the file is there, the temporary gone");
    CHECK(atomic_open_at(&af, dfd, NULL, ATOMIC_MODE_PRIVATE) == 0 && atomic_commit(&af) < 0 && temps_in(dir) == 0,
          "commit without a target fails and cleans up");
    char longname[256];
    memset(longname, 'x', 250);
    memcpy(longname + 250, ".glb", 5);
    CHECK(atomic_write_at(dfd, longname, "l", 1, ATOMIC_MODE_FILE) == 0, "a 254-byte name");
    close(sub);

    /* temporary names: ours, earlier forms, and the rest */
    CHECK(atomic_temp_kind(".tmp.0123456789abcdef") == ATOMIC_TEMP_OLD, "old cache form");
    CHECK(atomic_temp_kind("cube.glb.tmp.Ab12Cd") == ATOMIC_TEMP_OLD, "old meshio form");
    CHECK(atomic_temp_kind("cube.txt.tmp.Ab12Cd") == ATOMIC_TEMP_NONE, "not for a .txt");
    CHECK(atomic_temp_kind("notes.tmp.txt") == ATOMIC_TEMP_NONE, "a user's file");
    CHECK(atomic_temp_kind(".tmp.txt") == ATOMIC_TEMP_NONE, "a user's dot file");
    CHECK(atomic_temp_kind(".tmp.0a1b2c3d.123.0123456789ab") == ATOMIC_TEMP_CURRENT, "current form");
    CHECK(atomic_temp_kind(".tmp.0a1b2c3d.123.0123456789ab.cube.glb") == ATOMIC_TEMP_CURRENT,
          "current form with a target");
    CHECK(atomic_temp_kind(".tmp.0a1b2c3d.x.0123456789ab") == ATOMIC_TEMP_NONE, "a pid is digits");

    /* stale: an hour old, or this machine's writer gone */
    CHECK(atomic_open_at(&af, dfd, "live", ATOMIC_MODE_PRIVATE) == 0, "a live writer");
    char tag[9];
    memcpy(tag, af.tmp + 5, 8);
    tag[8] = 0;
    double now = (double)time(NULL);
    CHECK(!atomic_temp_stale(af.tmp, now, now), "our own temporary file is not stale");
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    char dead[128], other[128], alive[128];
    snprintf(dead, sizeof dead, ".tmp.%s.%ld.0123456789ab.x.glb", tag, (long)child);
    snprintf(other, sizeof other, ".tmp.%08x.%ld.0123456789ab", (unsigned)strtoul(tag, NULL, 16) ^ 1u, (long)child);
    snprintf(alive, sizeof alive, ".tmp.%s.%ld.0123456789ab", tag, (long)getppid());
    CHECK(atomic_temp_stale(dead, now, now), "a fresh one whose writer is gone is stale");
    CHECK(!atomic_temp_stale(other, now, now), "another machine's: not judged by its pid");
    CHECK(atomic_temp_stale(other, now - 3700, now), "but by its age");
    CHECK(!atomic_temp_stale(alive, now, now), "a running writer's is not stale");
    CHECK(!atomic_temp_stale("cube.glb.tmp.Ab12Cd", now - 600, now) &&
              atomic_temp_stale("cube.glb.tmp.Ab12Cd", now - 3700, now),
          "old forms: by age");

    /* the sweep removes stale temporaries, nothing else */
    char f[600];
    const char *keep[] = {"notes.tmp.txt", ".tmp.txt", "young.glb.tmp.Ab12Cd", alive};
    const char *gone[] = {"old.glb.tmp.Ab12Cd", ".tmp.fedcba9876543210", dead};
    for (size_t i = 0; i < 4; i++) {
        snprintf(f, sizeof f, "%s/%s", dir, keep[i]);
        put_file(f, "k", i < 2 ? 7200 : 0);
    }
    for (size_t i = 0; i < 3; i++) {
        snprintf(f, sizeof f, "%s/%s", dir, gone[i]);
        put_file(f, "g", i < 2 ? 7200 : 0);
    }
    CHECK(atomic_sweep_at(dfd) == 3, "sweep: three stale temporaries removed");
    int ok = 1;
    for (size_t i = 0; i < 4; i++) {
        snprintf(f, sizeof f, "%s/%s", dir, keep[i]);
        ok &= exists(f);
    }
    for (size_t i = 0; i < 3; i++) {
        snprintf(f, sizeof f, "%s/%s", dir, gone[i]);
        ok &= !exists(f);
    }
    snprintf(f, sizeof f, "%s/%s", dir, af.tmp);
    CHECK(ok && exists(f), "the rest stays, the live writer's file too");
    CHECK(atomic_write(&af, "zz", 2) == 0 && atomic_commit(&af) == 0, "the live writer finishes");
    close(dfd);
    CHECK(open_fds() == fds0, "no descriptor left open (%d, was %d)", open_fds(), fds0);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    if (system(cmd) != 0)
        return 1;
    return check_done();
}
