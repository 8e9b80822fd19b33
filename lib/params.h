/* params.h - every parameter of the stage programs, one table per program.
 *
 * A table row names one parameter: its request field (`depth`), which is
 * also its long flag with '-' for '_' (`--depth`), its type and range, its
 * default, and which stage keys it enters. Everything else derives from the
 * rows, so it is written once:
 *   - the flags a program accepts (cmd/ builds its getopt table from the rows,
 *     and --help lists them),
 *   - the request fields it accepts, their types and ranges (a request's
 *     field wins over the flag),
 *   - the cache keys: the canonical parameters of a stage are the rows that
 *     enter that stage's key, in their canonical form,
 *   - dedup-cache key and lookup, which use the same rows and so compute
 *     every program's key exactly.
 *
 * Values live in one plain struct, stage_opts, that holds the parameters of
 * every stage (mesh-gen's voxel and rough, mesh-refine's refined and final):
 * mesh-gen --progressive runs the refine stages with mesh-refine's rows.
 *
 * Canonical forms (the key's bytes depend only on the value, never on how it
 * was typed): a choice is its name as listed (input matched without regard
 * to case: "GLB" is glb); a whole number is an integer; a real is held as a
 * float and keyed as the shortest decimal that reads back as that float
 * (0.005, not 0.004999999888); sizes take K, M, G, T (powers of 1024) on the
 * command line (units.h).
 */
#ifndef ORFEAS_PARAMS_H
#define ORFEAS_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "err.h"

typedef enum {
    PARAM_CHOICE, /* one of `choices` (int: the matching entry of `values`) */
    PARAM_INT,    /* a whole number in [lo, hi] (int) */
    PARAM_COUNT,  /* a whole number in [lo, hi] (uint64_t); flags also take K, M, G, T */
    PARAM_REAL,   /* a number in [lo, hi] (float) */
    PARAM_BOOL,   /* true or false (int); a flag without a value sets it */
    PARAM_TEXT,   /* a string, a path (const char *, pointing into the request or argv) */
    PARAM_GRIDS,  /* mesh-gen's resolution: a whole number for both of its stages, or
                     {"voxel": N, "rough": N} (int[2]) */
} param_type;

/* Which stage keys a parameter enters (param_def.keys). */
enum {
    PARAM_KEY_GEN = 1,     /* mesh-gen's entry (the voxel and rough records) */
    PARAM_KEY_REFINED = 2, /* mesh-refine's refined record */
    PARAM_KEY_FINAL = 4,   /* mesh-refine's final record */
};

/* Row flags (param_def.flags). */
enum {
    PARAM_FLAG_ONLY = 1, /* a flag, not a request field (--cache-dir, --jobs) */
    PARAM_SHARED = 2,    /* the same meaning in mesh-gen and mesh-refine, so mesh-refine
                            reads it from a mesh-gen record (format, out, no_cache,
                            backend); other mesh-gen fields in a record are mesh-gen's
                            (a record's "resolution" is not mesh-refine's) */
    PARAM_NOT_RECORDS = 4, /* read from requests only: a record's "stage" is the stage it
                              is, not the one asked for */
};

/* Every parameter's value. */
typedef struct stage_opts {
    /* mesh-gen: the voxel and rough stages */
    int mode;            /* GEN_MODE_AUTO or a field_mode */
    int mask;            /* mask_method */
    float depth, thickness, base;
    int back;            /* field_back */
    int invert;
    int grid[2];         /* cells along the longer side: voxel, rough */
    uint64_t max_pixels; /* images over this many pixels are refused before decoding */
    int progressive;     /* mesh-gen also runs the refined and final stages */
    /* mesh-refine: the refined and final stages */
    int stage;           /* the last stage asked for: refine_stage */
    int grid_refined, grid_final;
    int smooth;          /* Taubin iterations */
    uint64_t max_triangles;
    float max_error;
    uint64_t fill_holes;
    float weld, floaters;
    uint64_t max_triangles_in;
    /* both */
    int format;          /* mesh_format */
    const char *out;     /* also write files here (a folder) */
    int no_cache;        /* do not look results up (they are still stored) */
    int backend;         /* 0 auto, 1 cpu, 2 cuda (the choice of its row) */
} stage_opts;

typedef struct param_def {
    const char *name;     /* request field; the flag is --name with '-' for '_' */
    char short_flag;      /* 0 for none */
    param_type type;
    double lo, hi;        /* range of numbers (inclusive) */
    const char *def;      /* default as a user would type it; NULL: none (text) */
    const char *const *choices; /* PARAM_CHOICE: names, NULL-terminated */
    const int *values;    /* PARAM_CHOICE: the value of each name */
    unsigned keys;        /* PARAM_KEY_* this parameter enters */
    const char *key_name; /* its name in the key when not `name` */
    unsigned flags;       /* PARAM_FLAG_ONLY, PARAM_SHARED */
    size_t offset;        /* where the value lives in stage_opts */
    int part;             /* PARAM_GRIDS set from a flag of one stage: 0 voxel, 1 rough;
                             -1 both */
    const char *arg;      /* the value's name in --help ("N", "MODE"); NULL for a switch */
    const char *help;     /* one line for --help */
} param_def;

typedef struct param_table {
    const char *program;  /* "mesh-gen", "mesh-refine" */
    const param_def *rows;
    size_t nrows;
} param_table;

extern const param_table params_mesh_gen;
extern const param_table params_mesh_refine;

/* The table of a program by name; NULL for another name. */
const param_table *params_table(const char *program);

/* The row named `name` (a request field, or a flag's name with '-' or '_'). */
const param_def *params_find(const param_table *t, const char *name);

/* Every parameter of every stage at its default (both tables' rows). */
void params_defaults(stage_opts *o);

/* Set one parameter from a flag's text ("0.5", "glb", "64M", "true"). -1 with
 * "bad_request" and a message naming the flag, the text and what it must be. */
int params_set_text(const param_def *d, const char *text, stage_opts *o, orf_err *e);

/* Apply the fields of `req` that name rows of `t`; other fields are not
 * looked at, nor flag-only rows, nor (when `skip` is not NULL) rows that
 * `skip` has too without PARAM_SHARED, nor PARAM_NOT_RECORDS rows: mesh-refine
 * reading a mesh-gen record (skip = mesh-gen's table) skips mesh-gen's
 * "resolution" and the record's "stage". -1 with "bad_request" naming the field, the
 * value given and what it must be. */
int params_apply(const param_table *t, const cJSON *req, const param_table *skip, stage_opts *o,
                 orf_err *e);

/* The canonical parameters of one stage key: an object with every row of
 * `t` that enters `key` (PARAM_KEY_*), in canonical form. NULL when out of
 * memory. */
cJSON *params_key_object(const param_table *t, unsigned key, const stage_opts *o);

/* A float in canonical form: the shortest decimal that reads back as v. */
double params_canonical_real(float v);

/* The name of value `v` of a choice row ("glb"); "" when none. */
const char *params_choice_name(const param_def *d, int v);

/* The help lines of a table's rows (those with help), each
 * "  -x, --name ARG   help (default)", into a malloc'd string. */
char *params_help(const param_table *t);

#endif
