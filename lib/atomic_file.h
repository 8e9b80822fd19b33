/* atomic_file.h - the one way liborfeas writes a file: whole, or not at all.
 *
 * Every file the library writes goes through here: cache objects and
 * request entries (lib/cache*.c), the programs' output meshes, textures and
 * pictures (meshio_write_atomic), `dedup-cache get -o` (cache_write_file_atomic).
 *
 *   1. A temporary file is created in the target's folder (so the rename
 *      below stays within one filesystem and is atomic) with O_EXCL and
 *      O_NOFOLLOW, mode `mode` less the umask.
 *   2. The bytes are written, all of them (short writes and EINTR handled).
 *   3. Commit: fsync, close (exactly once, whatever it returns), rename onto
 *      the target, fsync of the folder so the rename survives a crash (best
 *      effort: the file is in place either way).
 * Any failure removes the temporary file and leaves the target as it was.
 * A reader of the target sees the old file or the new one, never a mix.
 * The atomic_file owns its file descriptor, and the folder's when it opened
 * it: after commit or abort nothing is left open, and nothing is closed twice.
 *
 *   atomic_file af;
 *   if (atomic_open_at(&af, dir_fd, "name", ATOMIC_MODE_PRIVATE) < 0) ...errno
 *   if (atomic_write(&af, p, n) < 0 || atomic_write(&af, q, m) < 0) { atomic_abort(&af); ...errno }
 *   if (atomic_commit(&af) < 0) ...errno      (commit aborts by itself on failure)
 *
 * Modes: ATOMIC_MODE_FILE (0666) for what a user asked for (less the umask,
 * as for any file a program creates: 0644 under the usual umask 022), and
 * ATOMIC_MODE_PRIVATE (0600) for the cache (whose folder is 0700 anyway).
 *
 * Temporary files are named
 *     .tmp.<host>.<pid>.<random>[.<target>]
 *   host    8 hex digits: a hash of this machine (host name, boot id) and of
 *           the pid namespace, so a pid is judged only where it means something
 *           (a cache shared over NFS, containers);
 *   pid     the writer's process id, in decimal;
 *   random  12 hex digits;
 *   target  the target's name, cut to 40 bytes (absent in the cache).
 * A temporary file is stale when it was last modified more than
 * ATOMIC_TEMP_MAX_AGE seconds ago, or when its host part is this machine's
 * and no process has its pid (the writer was killed). `dedup-cache prune`
 * removes stale ones in the cache and `stats` counts every one;
 * atomic_open_path() removes the stale ones in the folder it writes into, once
 * per folder per process, so SIGKILLed -o writes do not pile up. The forms
 * earlier versions wrote (".tmp.<16 hex>", and "<name>.<glb|obj|ply|stl|png|mtl>
 * .tmp.<6 letters or digits>" beside outputs) are removed after
 * ATOMIC_TEMP_MAX_AGE. Nothing else in a folder is ever touched.
 *
 * Error reporting: the _at functions (the cache's) return -1 with errno set;
 * the _path functions fill an orf_err with "io_error" naming the path.
 */
#ifndef ORFEAS_ATOMIC_FILE_H
#define ORFEAS_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

#define ATOMIC_MODE_FILE 0666
#define ATOMIC_MODE_PRIVATE 0600
#define ATOMIC_TEMP_PREFIX ".tmp."
#define ATOMIC_TEMP_MAX_AGE 3600.0 /* seconds; a temporary file older than this is stale */
#define ATOMIC_TEMP_NAME_MAX 96    /* bytes of a temporary name, NUL included */

typedef struct atomic_file {
    int dir_fd;                     /* the folder of the temporary file (and target) */
    int own_dir;                    /* 1: dir_fd was opened here and is closed here */
    int fd;                         /* the temporary file; -1 once closed */
    char tmp[ATOMIC_TEMP_NAME_MAX]; /* its name in dir_fd; "" once gone */
    char target[256];               /* the name to rename onto; "" when none was given */
} atomic_file;

/* Start a file in the folder dir_fd (borrowed: the caller keeps it open
 * until commit or abort). `target` names the file to replace at commit
 * (NULL: named later, with atomic_commit_to). 0, or -1 with errno. */
int atomic_open_at(atomic_file *af, int dir_fd, const char *target, mode_t mode);

/* Start the file `path`: its folder is opened here, stale temporary files in
 * it are removed (the first time this process writes there), and the
 * temporary file is created beside it. -1 with "io_error" naming the path
 * (an empty name, a missing folder, a folder that cannot be written). */
int atomic_open_path(atomic_file *af, const char *path, mode_t mode, orf_err *e);

/* Append n bytes. 0, or -1 with errno (the file stays open: abort it). */
/* Write all n bytes to fd, again after a short write or EINTR. 0, or -1
 * with errno (EIO for a write of nothing). */
int atomic_write_all(int fd, const void *data, size_t n);

int atomic_write(atomic_file *af, const void *data, size_t n);

/* fsync, close and rename onto the target given at open. On failure the
 * temporary file is removed (as by atomic_abort) and -1 returned with errno. */
int atomic_commit(atomic_file *af);

/* The same, onto `name` in the folder to_dir_fd (same filesystem as the
 * temporary file; for a name known only once the bytes are written). */
int atomic_commit_to(atomic_file *af, int to_dir_fd, const char *name);

/* Close and remove the temporary file; release the folder when owned.
 * Safe to call after a failed commit or twice. errno is preserved. */
void atomic_abort(atomic_file *af);

/* One shot: n bytes as `name` in dir_fd. 0, or -1 with errno. */
int atomic_write_at(int dir_fd, const char *name, const void *data, size_t n, mode_t mode);

/* One shot: n bytes as the file `path`. -1 with "io_error" naming the path. */
int atomic_write_path(const char *path, const void *data, size_t n, mode_t mode, orf_err *e);

/* ---- temporary files ----------------------------------------------------- */

enum { ATOMIC_TEMP_NONE = 0, ATOMIC_TEMP_CURRENT = 1, ATOMIC_TEMP_OLD = 2 };

/* What a file name is: ATOMIC_TEMP_CURRENT (this writer's form),
 * ATOMIC_TEMP_OLD (a form earlier versions wrote), ATOMIC_TEMP_NONE. */
int atomic_temp_kind(const char *name);

/* 1 when the temporary file `name`, last modified at `mtime`, is stale at
 * `now` (seconds since the epoch): older than ATOMIC_TEMP_MAX_AGE, or in the
 * current form, written on this machine by a process that is gone. A name
 * of no known form is judged by its age alone (the caller knows it is a
 * temporary file: in the cache every ".tmp.*" is). */
int atomic_temp_stale(const char *name, double mtime, double now);

/* Remove the stale temporary files (of a form atomic_temp_kind knows)
 * directly in the folder dir_fd. Returns how many were removed. */
int atomic_sweep_at(int dir_fd);

#endif
