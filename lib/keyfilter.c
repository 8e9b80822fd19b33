/* keyfilter.c - dedup-cache's key and lookup filters: requests on stdin, one
 * record each on stdout, the keys and the cached records the stage runner's
 * (runner.c), so the programs' own. */
#include "keyfilter.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ndjson.h"
#include "params.h"
#include "runner.h"

/* Which program a request is for: --program, else mesh-refine for a request
 * with "mesh" or "field" and no "image", else mesh-gen. */
static const param_table *program_of(const char *forced, const cJSON *req)
{
    if (forced)
        return params_table(forced);
    int has_image = cJSON_GetObjectItemCaseSensitive(req, "image") != NULL;
    int refine = !has_image && (cJSON_GetObjectItemCaseSensitive(req, "mesh") ||
                                cJSON_GetObjectItemCaseSensitive(req, "field"));
    return refine ? &params_mesh_refine : &params_mesh_gen;
}

typedef struct filter {
    cli_out out;
    runner *run[2]; /* mesh-gen's, mesh-refine's */
} filter;

static int filter_emit(void *ctx, const cJSON *rec)
{
    return cli_emit(&((filter *)ctx)->out, rec);
}

int keyfilter_run(orf_cache *c, int lookup, const char *program, int quiet)
{
    if (isatty(STDIN_FILENO)) { /* as every program that reads requests */
        fprintf(stderr, "dedup-cache: no input: pipe requests in (paths or JSON, one a line)\n"
                        "dedup-cache: try 'dedup-cache --help'\n");
        return ORF_EXIT_NOINPUT;
    }
    filter f;
    memset(&f, 0, sizeof f);
    f.out.prog = "dedup-cache";
    f.out.quiet = quiet;
    stage_opts flags;
    params_defaults(&flags);
    flags.backend = 1; /* keys and lookups never need a device */
    orf_err e;
    for (int i = 0; i < 2; i++) {
        runner_config rc = {i ? &params_mesh_refine : &params_mesh_gen, &flags, c, lookup, 1, 0,
                            filter_emit, NULL, &f};
        if (!(f.run[i] = runner_new(&rc, &e))) {
            cli_say("dedup-cache", quiet, "%s", e.message);
            runner_free(f.run[0]);
            return ORF_EXIT_IO;
        }
    }
    ndjson_reader *rd = ndjson_reader_open(stdin, 0);
    int status = ORF_EXIT_OK;
    while (rd) {
        cJSON *req = NULL;
        int rc = ndjson_next(rd, "image", &req, &e);
        if (rc == 0)
            break;
        if (rc < 0) {
            cli_say("dedup-cache", quiet, "reading standard input: %s", e.message);
            status = ORF_EXIT_IO;
            break;
        }
        if (!req) {
            if (runner_submit_error(f.run[0], NULL, ndjson_line(rd), &e) < 0)
                break;
            continue;
        }
        runner *r = f.run[program_of(program, req) == &params_mesh_refine];
        if (lookup) {
            /* a key given in the request is never trusted: it is recomputed */
            if (runner_submit(r, req) < 0)
                break;
            continue;
        }
        char key[65];
        if (runner_request_key(r, req, key, &e) < 0) {
            const char *name = ndjson_get_string(req, "image");
            if (!name)
                name = ndjson_get_string(req, "mesh");
            cli_say("dedup-cache", quiet, "%s%s%s", name ? name : "", name ? ": " : "", e.message);
            cJSON *rec = ndjson_error_record(req, 0, &e);
            cli_count_failure(&f.out, e.code);
            cJSON_Delete(req);
            if (cli_emit(&f.out, rec) < 0) {
                cJSON_Delete(rec);
                break;
            }
            cJSON_Delete(rec);
            continue;
        }
        ndjson_set(req, "key", cJSON_CreateString(key));
        int w = cli_emit(&f.out, req);
        cJSON_Delete(req);
        if (w < 0)
            break;
    }
    ndjson_reader_close(rd);
    for (int i = 0; i < 2; i++) {
        status = cli_worse(status, runner_finish(f.run[i]));
        runner_free(f.run[i]);
    }
    return cli_worse(status, f.out.status);
}
