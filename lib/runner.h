/* runner.h - the stage runner: requests in, stage records out, the cache
 * consulted and filled per stage, the same whichever program runs it.
 *
 * The four stages (docs/design.md, orfeas(7) STAGES):
 *   voxel, rough    an image -> mask -> field -> meshes (mesh-gen). One cache
 *                   entry, named by the mesh-gen key of the request, holds
 *                   both records; the fields and meshes are objects.
 *   refined, final  a field (from a rough record) or a mesh file -> meshes
 *                   (mesh-refine, and mesh-gen --progressive). Each stage
 *                   has its own entry, named by its stage key: mesh-refine's
 *                   parameters of that stage and its input (the field key;
 *                   for the final stage of a field, the field and the image's
 *                   bytes, which are its texture; for a mesh, its bytes).
 * mesh-gen --progressive and `mesh-gen | mesh-refine` therefore give the same
 * records (keys, objects, fields; not "cached" and "ms"), and either is
 * answered from the cache by a later run of the other.
 *
 * What the runner does with a line of input:
 *   - an error record (one with "error") is passed on unchanged and counts
 *     as failed: a pipeline keeps the first cause;
 *   - a finished record (one with "stage" and "progress") is passed
 *     on unchanged; a mesh-refine runner then refines a rough record's field
 *     (once per field in a run);
 *   - anything else is a request of the runner's program (params.h), its
 *     unknown fields passed through to every record it makes.
 *
 * Output files (--out, or a request's "out": a folder): voxel and rough
 * stages as <stem>.<stage>.<ext>, the last refine stage asked for as
 * <stem>.<ext> (a textured OBJ with <stem>.mtl and <stem>.texture.png), named
 * by outfiles.h's rules. A cache hit writes the cached bytes.
 *
 * Records go to cfg.emit in input order (with jobs > 1 and `unordered`, as
 * they are made); a request's records stream as they are made while it is
 * the oldest one running. Nothing here prints; verbose lines go to cfg.note.
 */
#ifndef ORFEAS_RUNNER_H
#define ORFEAS_RUNNER_H

#include <cjson/cJSON.h>

#include "cache.h"
#include "err.h"
#include "params.h"

typedef struct runner runner;

enum { RUNNER_NOTE_FAILURE = 0, RUNNER_NOTE_WARNING = 1, RUNNER_NOTE_TIMING = 2, RUNNER_NOTE_STAGE = 3 };

typedef struct runner_config {
    const param_table *table; /* whose requests: &params_mesh_gen or &params_mesh_refine */
    const stage_opts *flags;  /* the program's flags over params_defaults() */
    orf_cache *cache;         /* NULL: none (files only in out folders) */
    int lookup_only;          /* answer every stage from the cache, else pass the request
                                 on unchanged (dedup-cache lookup) */
    int jobs;                 /* requests at once; <= 1: one */
    int unordered;            /* with jobs > 1: records as they are made */
    /* each record, in order; 0 to go on, -1 to stop the run (stdout is gone) */
    int (*emit)(void *ctx, const cJSON *rec);
    /* lines for people (NULL: none): RUNNER_NOTE_FAILURE, the message of a
     * record this runner failed (not of one passed through);
     * RUNNER_NOTE_WARNING; RUNNER_NOTE_TIMING, per-stage timing for -v;
     * RUNNER_NOTE_STAGE, "<input> <stage>" when a refine stage starts (one
     * that takes seconds), for a progress line */
    void (*note)(void *ctx, int level, const char *line);
    void *ctx;
} runner_config;

/* A runner for one run; NULL with e filled ("bad_request", "unavailable" for
 * a --backend that is not there, "too_large") otherwise. */
runner *runner_new(const runner_config *cfg, orf_err *e);

/* Note that the run reads `path`, so that no output of the run is written
 * over it: the programs note their command-line inputs before the first
 * request runs (a request read later notes its own when it is read, which
 * protects the inputs read before it, not those still to come). */
void runner_note_input(runner *r, const char *path);

/* Run one request or record (the runner takes it). 0 to go on, -1 when the
 * run stops (cfg.emit said so). With jobs > 1 it returns once a slot is free. */
int runner_submit(runner *r, cJSON *req);

/* A line that was not a request: its error record (with "line") is emitted
 * in order and counts as failed. */
int runner_submit_error(runner *r, cJSON *req, long line, const orf_err *e);

/* Wait for every request; the run's status from its records: 0 all done, 1
 * some failed, 74 when one failed for want of a writable cache or folder. */
int runner_finish(runner *r);

void runner_free(runner *r);

/* The key the runner's program gives a request (dedup-cache key): mesh-gen's
 * entry key; for mesh-refine, the key of the last stage it asks for. -1 with
 * "bad_request", "no_input" as a run would fail. */
int runner_request_key(runner *r, const cJSON *req, char key[65], orf_err *e);

#endif
