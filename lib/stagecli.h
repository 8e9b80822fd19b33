/* stagecli.h - the main of a stage program (mesh-gen, mesh-refine): its
 * flags from the program's parameter table plus the options every stage
 * program has, the cache, the stage runner, records out, the exit status.
 *
 * cmd/mesh-gen.c and cmd/mesh-refine.c are then their help text and three
 * calls:
 *
 *   cli_prog p;
 *   int rc = cli_prog_start(&p, "mesh-gen", &params_mesh_gen, argc, argv, head, out, notes);
 *   if (rc >= 0)
 *       return rc;                       // --help, --version, a usage error
 *   rc = cli_requests("mesh-gen", p.out.quiet, argc, argv, optind, "image", 0,
 *                     cli_prog_request, &p);
 *   return cli_prog_end(&p, rc);
 *
 * Like git's parse-options, this reads argv through a table; nothing else in
 * lib/ does.
 */
#ifndef ORFEAS_STAGECLI_H
#define ORFEAS_STAGECLI_H

#include "cache.h"
#include "cli.h"
#include "params.h"
#include "runner.h"

typedef struct cli_prog {
    const char *name;
    const param_table *table;
    cli_out out;
    stage_opts flags;
    orf_cache *cache;
    runner *run;
    int verbose;
} cli_prog;

/* Parse the flags (the table's rows, then -j/--jobs, --unordered,
 * --cache-dir, --ttl, -q, -v, -h, -V), open the cache and start the runner.
 * -1 when the run goes on (optind is the first operand); otherwise the status
 * to exit with: 0 after --help (usage_head, the rows' lines, out_help (the
 * program's own -o line), the common options, notes, the exit statuses) or
 * --version, 64 for a usage error, 69 for a --backend that is not there, 74
 * when the cache cannot be used and no --out folder was given (with one, the
 * run goes on without the cache after a warning). */
int cli_prog_start(cli_prog *p, const char *name, const param_table *t, int argc, char **argv,
                   const char *usage_head, const char *out_help, const char *notes);

/* A cli_request_fn: hand a request (or a bad line's error) to the runner. */
int cli_prog_request(void *ctx, cJSON *req, long line, const orf_err *e);

/* Wait for the runner, close the cache and stdout; the exit status: the
 * worst of the records', stdout's and `read_status` (cli_requests'). */
int cli_prog_end(cli_prog *p, int read_status);

#endif
