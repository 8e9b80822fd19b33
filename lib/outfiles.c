/* outfiles.c - output names that never replace an input or another output
 * of the run, and the atomic write into an output folder (see outfiles.h). */
#include "outfiles.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "meshio.h"
#include "strset.h"

/* The names of the run: "D<dir>/<stem>" -> the source that took the stem,
 * "F<dir>/<name>" -> the source that claimed the file, "I<dev>:<ino>" -> an
 * input (owner 0). */
struct out_names {
    pthread_mutex_t lock;
    strset *names;
};

out_names *out_names_new(void)
{
    out_names *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->names = strset_new();
    if (!n->names) {
        free(n);
        return NULL;
    }
    pthread_mutex_init(&n->lock, NULL);
    return n;
}

void out_names_free(out_names *n)
{
    if (!n)
        return;
    strset_free(n->names);
    pthread_mutex_destroy(&n->lock);
    free(n);
}

/* Add `name` for `owner` when absent (locked); *owner_out: who holds it.
 * -1 when out of memory. */
static int take(out_names *n, const char *name, uint64_t owner, uint64_t *owner_out)
{
    pthread_mutex_lock(&n->lock);
    int r = strset_add(n->names, name, owner, owner_out);
    pthread_mutex_unlock(&n->lock);
    return r < 0 ? -1 : 0;
}

/* Who a source is: its device and inode when it exists, else its path. */
static uint64_t identity(const char *path)
{
    struct stat st;
    if (path && stat(path, &st) == 0)
        return ((uint64_t)st.st_dev << 40) ^ (uint64_t)st.st_ino ^ 0x8000000000000000ull;
    return strset_hash(path ? path : "") & 0x7fffffffffffffffull;
}

void out_note_input(out_names *n, const char *path)
{
    struct stat st;
    if (!n || !path || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    char key[64];
    snprintf(key, sizeof key, "I%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    take(n, key, 0, NULL);
}

/* 1 when `path` is a file the run read as an input. */
static int is_input(out_names *n, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    char key[64];
    snprintf(key, sizeof key, "I%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    pthread_mutex_lock(&n->lock);
    int found = strset_has(n->names, key);
    pthread_mutex_unlock(&n->lock);
    return found;
}

int out_stem(out_names *n, const char *dir, const char *source, char *stem, size_t size,
             orf_err *e)
{
    const char *b = strrchr(source, '/');
    b = b ? b + 1 : source;
    char base[256];
    snprintf(base, sizeof base, "%s", *b ? b : "mesh");
    char plain[256];
    snprintf(plain, sizeof plain, "%s", base);
    char *dot = strrchr(plain, '.');
    if (dot && dot != plain)
        *dot = 0;
    if (!n) {
        snprintf(stem, size, "%s", plain);
        return 0;
    }
    uint64_t me = identity(source);
    const char *tries[2] = {plain, base};
    int ntries = strcmp(plain, base) ? 2 : 1;
    char key[4400];
    for (int t = 0; t < ntries; t++) {
        snprintf(key, sizeof key, "D%s/%s", dir, tries[t]);
        uint64_t owner;
        if (take(n, key, me, &owner) != 0)
            return orf_fail(e, "too_large", "out of memory");
        if (owner == me) {
            snprintf(stem, size, "%s", tries[t]);
            return 0;
        }
    }
    return orf_fail(e, "out_collision",
                    "%s: its outputs in %s would replace those of another input of this run with "
                    "the same file name (%s): give it its own --out folder or rename it",
                    source, dir, base);
}

int out_is_file(const char *out)
{
    if (!out)
        return 0;
    size_t n = strlen(out);
    static const char *const ext[] = {".glb", ".obj", ".ply", ".stl"};
    for (size_t i = 0; i < 4; i++)
        if (n > 4 && strcasecmp(out + n - 4, ext[i]) == 0 && out[n - 5] != '/')
            return 1;
    return 0;
}

int out_claim(out_names *n, const char *dir, const char *name, const char *source, orf_err *e)
{
    if (!n)
        return 0;
    char key[4400];
    snprintf(key, sizeof key, "F%s/%s", dir, name);
    uint64_t me = identity(source);
    uint64_t owner;
    if (take(n, key, me, &owner) != 0)
        return orf_fail(e, "too_large", "out of memory");
    if (owner != me)
        return orf_fail(e, "out_collision",
                        "%s: %s/%s is the output of another input of this run: give each input its "
                        "own output file or folder",
                        source, dir, name);
    return 0;
}

int out_mkdir(const char *dir, orf_err *e)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return orf_fail(e, "io_error", "%.200s...: output folder name too long", dir);
    struct stat st;
    if (stat(p, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        errno = ENOTDIR;
        return orf_fail_errno(e, "io_error", dir);
    }
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            orf_fail_errno(e, "io_error", p);
            return -1;
        }
        *s = '/';
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST)
        return orf_fail_errno(e, "io_error", dir);
    return 0;
}

int out_write(out_names *n, const char *dir, const char *name, const void *data, size_t len,
              char *path, size_t size, orf_err *e)
{
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--; /* "models/" and "models" name the same file */
    if ((size_t)snprintf(path, size, "%.*s%s%s", (int)dl, dir, dl ? "/" : "", name) >= size)
        return orf_fail(e, "io_error", "%.200s/%.60s: output path too long", dir, name);
    if (dl && out_mkdir(dir, e) < 0)
        return -1;
    if (n && is_input(n, path))
        return orf_fail(e, "out_collision",
                        "%s is an input of this run: not written over (choose another --out "
                        "folder)",
                        path);
    return meshio_write_atomic(path, data, len, e);
}
