/* keyfilter.h - dedup-cache key and lookup: the stage runner's request keys
 * and cache answers for a stream of requests, without running a stage.
 */
#ifndef ORFEAS_KEYFILTER_H
#define ORFEAS_KEYFILTER_H

#include "cache.h"

/* Read requests from stdin and write one record each to stdout: with
 * lookup 0 the request with "key" set (recomputed: a key in the request is
 * never trusted); with lookup 1 a request all of whose stages the cache holds
 * becomes their records, and a miss passes through unchanged. `program` ("mesh-gen",
 * "mesh-refine" or NULL: mesh-refine for a request with "mesh" or "field"
 * and no "image", else mesh-gen) picks the parameter table. A bad line or
 * request becomes an error record. The exit status: 0, 1 when a record was
 * an error, 66 when stdin is a terminal (nothing piped in), 74 when stdin or
 * stdout failed. Messages on stderr unless quiet. */
int keyfilter_run(orf_cache *c, int lookup, const char *program, int quiet);

#endif
