/* ndjson.h - reading requests and writing records, one JSON value a line.
 *
 * Reading: ndjson_next() returns each non-blank line of the input as a
 * request object. A line that is a JSON object is the request itself. A line
 * that is not JSON at all and does not start with '{' or '[' is a bare path:
 * it becomes {bare_field: "<the line, trimmed>"}. Anything else (invalid
 * JSON, an array, a number, a string, true/false/null) is a bad request, and
 * so is a line longer than max_line bytes, which is skipped to its end
 * without being held in memory, a line that is not UTF-8 or holds a NUL byte,
 * and an object that gives a field twice or holds an escape that is no
 * character (\u0000, a lone surrogate): whatever would come out of a record
 * wrong. CRLF line ends are accepted. Parameters are checked by params.h.
 *
 * Writing: ndjson_write() prints a record on one line and flushes it, so a
 * downstream reader sees it before the writer's input ends.
 */
#ifndef ORFEAS_NDJSON_H
#define ORFEAS_NDJSON_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "err.h"

#define NDJSON_DEFAULT_MAX_LINE ((size_t)1 << 20) /* 1 MiB */

typedef struct ndjson_reader ndjson_reader;

/* A reader over `in` (not closed by the reader). max_line is the longest line
 * accepted in bytes, 0 for NDJSON_DEFAULT_MAX_LINE. NULL when out of memory. */
ndjson_reader *ndjson_reader_open(FILE *in, size_t max_line);
void ndjson_reader_close(ndjson_reader *r);

/* The next request. Returns 1 when a line was consumed: *req is the request
 * (the caller owns it), or NULL with e filled ("bad_request") when the line
 * was not one. Returns 0 at the end of input, -1 with e filled ("io_error")
 * when reading failed. */
int ndjson_next(ndjson_reader *r, const char *bare_field, cJSON **req, orf_err *e);

/* The 1-based number of the line ndjson_next() consumed last. */
long ndjson_line(const ndjson_reader *r);

/* The string value of req[name], or NULL when absent or not a string. */
const char *ndjson_get_string(const cJSON *req, const char *name);

/* Set obj[name] = item, replacing any existing member (takes ownership of item). */
void ndjson_set(cJSON *obj, const char *name, cJSON *item);

/* A failed record: a copy of req (may be NULL), "line" added when line > 0 and
 * req is NULL, and "error": {"code", "message"}. The caller owns the result. */
cJSON *ndjson_error_record(const cJSON *req, long line, const orf_err *e);

/* Print rec on one line and flush. Returns 0, or -1 when the write failed;
 * errno is EPIPE when the reader went away (not an error to report). */
int ndjson_write(FILE *out, const cJSON *rec);

#endif
