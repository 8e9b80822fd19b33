/* outfiles.h - the files a run writes into an output folder (--out, or a
 * request's "out"), named so that no output replaces an input of the run or
 * another output of the same run.
 *
 * Names: an output is named from its source (the image or mesh a request
 * names) as <stem>.<suffix>: the stem is the source's file name without its
 * extension ("photos/cat.png" -> "cat"). When another source of the same run
 * already took that stem in that folder ("disc.png" then "disc.jpg"), the
 * later one keeps its extension in the stem ("disc.jpg"); when that is taken
 * too (a/cube.obj, b/cube.obj) the request fails with "out_collision" naming
 * both. The same source (by device and inode) always gets the same stem.
 * Writes are atomic (a temporary file beside the target, fsync, rename), the
 * folder is made with its parents, and a target that is a file the run has
 * read as an input is refused with "out_collision".
 *
 * One out_names serves a whole run and may be shared by threads.
 */
#ifndef ORFEAS_OUTFILES_H
#define ORFEAS_OUTFILES_H

#include <stddef.h>

#include "err.h"

typedef struct out_names out_names;

/* NULL when out of memory. */
out_names *out_names_new(void);
void out_names_free(out_names *n);

/* Note that the run reads `path` (an image, a mesh), so that nothing is
 * ever written over it. Paths that cannot be stat'ed are ignored. */
void out_note_input(out_names *n, const char *path);

/* The stem for outputs of `source` in folder `dir` (see above) into
 * stem[size]. -1 with "out_collision" or "too_large" (out of memory). */
int out_stem(out_names *n, const char *dir, const char *source, char *stem, size_t size,
             orf_err *e);

/* 1 when `out` names a mesh file rather than a folder: it ends in .glb,
 * .obj, .ply or .stl (any case). Then the format is that extension's and the
 * file is the last stage's (runner.h). */
int out_is_file(const char *out);

/* Claim the output file dir/name for `source`: 0 when no other source of the
 * run has it, -1 with "out_collision" naming both otherwise. */
int out_claim(out_names *n, const char *dir, const char *name, const char *source, orf_err *e);

/* Make `dir` (and its parents) when missing. -1 with "io_error" naming it. */
int out_mkdir(const char *dir, orf_err *e);

/* Write `len` bytes to dir/name atomically (the folder made when missing;
 * dir "" is the current folder, and the path is then `name` alone);
 * the path written goes to path[size]. -1 with "out_collision" when the
 * target is an input of the run, "io_error" when it cannot be written
 * (nothing is left at the target or beside it then). */
int out_write(out_names *n, const char *dir, const char *name, const void *data, size_t len,
              char *path, size_t size, orf_err *e);

#endif
