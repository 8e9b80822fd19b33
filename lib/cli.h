/* cli.h - what every program's main shares: exit statuses, usage errors,
 * flags from a parameter table, the request loop over arguments and stdin,
 * and record output whose failures are never lost.
 *
 * The programs in cmd/ parse their flags, feed requests and print records
 * with these; the work itself is elsewhere in lib/. Nothing here writes to
 * stdout except cli_emit (records) and cli_usage's callers' --help text;
 * messages go to stderr, prefixed once with the program's name.
 */
#ifndef ORFEAS_CLI_H
#define ORFEAS_CLI_H

#include <getopt.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "params.h"

/* Exit statuses (orfeas(7) "Exit status"); a worse one wins at the end. */
enum {
    ORF_EXIT_OK = 0,
    ORF_EXIT_FAIL = 1,         /* some records failed */
    ORF_EXIT_USAGE = 64,       /* a bad flag or value */
    ORF_EXIT_NOINPUT = 66,     /* nothing to read */
    ORF_EXIT_UNAVAILABLE = 69, /* e.g. --backend cuda with no device */
    ORF_EXIT_IO = 74,          /* stdout, an output folder or the cache cannot be written */
};

/* The status a failed record's code stands for: 74 for "io_error" and
 * "cache_error" (something could not be written), else 1. */
int cli_status_of(const char *code);

/* The worse of two statuses (74 > 69 > 66 > 64 > 1 > 0). */
int cli_worse(int a, int b);

/* "PROG: <message>" and "PROG: try 'PROG --help'" on stderr; returns 64. */
int cli_usage(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "PROG: <message>" on stderr unless quiet. */
void cli_say(const char *prog, int quiet, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- flags ----------------------------------------------------------------
 * A program's flags: the rows of its parameter table (each a long flag, and
 * its short one) plus the program's own options (`extra`, ids >= 256 or a
 * short letter). cli_next returns the id of the next option: CLI_ROW with
 * *row set for a table row, an extra's id, CLI_UNKNOWN (the message is
 * already printed, exit 64), or -1 at the end (optind is then the first
 * operand). */
enum { CLI_ROW = 1000, CLI_UNKNOWN = '?' };

typedef struct cli_opt {
    const char *name;  /* long name */
    int short_flag;    /* 0 for none */
    int has_arg;       /* no_argument or required_argument */
    int id;            /* returned by cli_next */
} cli_opt;

/* A flag people bring from other tools, and what to type here instead. */
typedef struct cli_hint {
    const char *foreign; /* "--mc-resolution", "-l" */
    const char *advice;  /* "--resolution" */
} cli_hint;

typedef struct cli_flags {
    const char *prog;
    const param_table *table;
    const cli_opt *extra;
    size_t nextra;
    const cli_hint *hints; /* may be NULL; ends with {NULL, NULL} */
    struct option *longopts; /* built by cli_flags_init */
    char shortopts[96];
    char names[48][40];      /* long names of the rows, with '-' */
} cli_flags;

/* -1 with e filled when out of memory. Free with cli_flags_free. An unknown
 * flag's message names the nearest known one ("did you mean --resolution?")
 * or, set f->hints after init, the advice for a flag of another tool. */
int cli_flags_init(cli_flags *f, const char *prog, const param_table *t, const cli_opt *extra,
                   size_t nextra, orf_err *e);
int cli_next(cli_flags *f, int argc, char **argv, const param_def **row);
void cli_flags_free(cli_flags *f);

/* ---- records out ------------------------------------------------------------
 * Records on stdout, one a line, flushed. A reader that went away (EPIPE)
 * ends the run quietly; any other failure is an I/O error: it is said once on
 * stderr and the run ends 74. */
typedef struct cli_out {
    const char *prog;
    int quiet;
    int closed;   /* the reader went away: stop, no message */
    int failed;   /* a write failed: stop, exit 74 */
    int status;   /* the worst status so far (records and writes) */
} cli_out;

/* Write rec. 0, or -1 when the run should stop (closed or failed). */
int cli_emit(cli_out *o, const cJSON *rec);

/* The progress line of a stage record on stderr, when stderr is a terminal
 * and not quiet: "PROG: <input> <stage> <progress>%", each record from the
 * rough stage on ending its line. Nothing for other records. */
void cli_progress(const cli_out *o, const cJSON *rec);

/* A progress line of free text (same conditions): "\rPROG: <text> ...",
 * rewritten in place by the next one. */
void cli_progress_text(const cli_out *o, const char *text);

/* Clear a progress line of free text (same conditions). */
void cli_progress_done(const cli_out *o);

/* Count a record that failed with `code` (cli_status_of). */
void cli_count_failure(cli_out *o, const char *code);

/* Flush and close stdout, check that everything reached it; the status to
 * exit with. */
int cli_finish(cli_out *o);

/* ---- requests in -------------------------------------------------------------
 * The operands, in order: "-" reads stdin; with `ndjson_files`, a name ending
 * in .ndjson, .jsonl or .json is read as requests; anything else is a request
 * {bare_field: operand}. No operand reads stdin, except on a terminal: then
 * the run ends 66 with a hint (cli_requests returns 66 before calling fn).
 * Each line of input is a request: fn gets it (its owner now) with e NULL.
 * A line that is not a request calls fn with req NULL, its line number and e
 * filled; an NDJSON file that cannot be opened calls fn with req {"input":
 * NAME} and e filled ("no_input"). fn returns 0 to go on, -1 to stop.
 * Returns 0, 66, or 74 when reading failed. */
typedef int (*cli_request_fn)(void *ctx, cJSON *req, long line, const orf_err *e);
int cli_requests(const char *prog, int quiet, int argc, char **argv, int first,
                 const char *bare_field, int ndjson_files, cli_request_fn fn, void *ctx);

/* ---- small things ------------------------------------------------------------ */

/* The long flag of `names` (n of them, without "--") nearest to `typed`
 * (without dashes) when it is near enough to be a slip, else NULL. */
const char *cli_nearest(const char *typed, const char *const *names, size_t n);

/* Parse a whole number in [lo, hi]: 0, or -1 for anything else. */
int cli_parse_long(const char *s, long lo, long hi, long *out);

/* Parse a finite number in [lo, hi]: 0, or -1. */
int cli_parse_double(const char *s, double lo, double hi, double *out);

/* Seconds since the epoch as "2026-12-04T17:24:09Z" (UTC), with `millis`
 * "2026-12-04T17:24:09.123Z", in buf[40]. */
void cli_iso_time(double t, int millis, char buf[40]);

#endif
