/* stagecli.c - the shared main of mesh-gen and mesh-refine (see stagecli.h). */
#include "stagecli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"
#include "outfiles.h"
#include "units.h"
#include "version.h"

enum { O_JOBS = 'j', O_QUIET = 'q', O_VERBOSE = 'v', O_HELP = 'h', O_VERSION = 'V',
       O_UNORDERED = 256, O_CACHE_DIR, O_TTL };

static const cli_opt stage_opts_extra[] = {
    {"jobs", 'j', required_argument, O_JOBS},
    {"unordered", 0, no_argument, O_UNORDERED},
    {"cache-dir", 0, required_argument, O_CACHE_DIR},
    {"ttl", 0, required_argument, O_TTL},
    {"quiet", 'q', no_argument, O_QUIET},
    {"verbose", 'v', no_argument, O_VERBOSE},
    {"help", 'h', no_argument, O_HELP},
    {"version", 'V', no_argument, O_VERSION},
};

/* Flags of the image-to-3D tools and scripts people come from. */
static const cli_hint habits[] = {
    {"--output-dir", "--out DIR (a folder), or --out FILE.glb (one file)"},
    {"--output", "--out DIR (a folder), or --out FILE.glb (one file)"},
    {"--output_dir", "--out DIR (a folder), or --out FILE.glb (one file)"},
    {"--mc-resolution", "--resolution N (cells along the longer side)"},
    {"--marching-cubes-resolution", "--resolution N (cells along the longer side)"},
    {"--device", "--backend cpu|cuda|auto"},
    {"--gpu", "--backend cuda"},
    {"--cpu", "--backend cpu"},
    {"--no-remove-bg", "the foreground is found for you (--mask auto); --mask alpha uses the "
                       "image's own transparency as it is"},
    {"--remove-bg", "the foreground is found for you (--mask auto)"},
    {"--model-save-format", "--format glb|obj|ply|stl"},
    {"--bake-texture", "--format glb or obj (the image is the texture)"},
    {"--texture-resolution", "the texture is the image itself, at its size"},
    {"--seed", "nothing is random: the same image gives the same mesh"},
    {NULL, NULL},
};

static int on_record(void *ctx, const cJSON *rec)
{
    cli_prog *p = ctx;
    cli_progress(&p->out, rec);
    return cli_emit(&p->out, rec);
}

static void on_note(void *ctx, int level, const char *line)
{
    cli_prog *p = ctx;
    if (level == RUNNER_NOTE_STAGE)
        cli_progress_text(&p->out, line); /* "<input> <stage>", until its record */
    else if (level != RUNNER_NOTE_TIMING || p->verbose)
        cli_say(p->name, p->out.quiet, "%s", line);
}

/* The options every stage program has, after its table's rows and its -o. */
static const char common_help[] =
    "  -j, --jobs N               work on N requests at once (1)\n"
    "      --unordered            with --jobs, emit records as they are made\n"
    "      --cache-dir DIR        the cache (else $ORFEAS_CACHE_DIR, $XDG_CACHE_HOME/orfeas,\n"
    "                             ~/.cache/orfeas)\n"
    "      --ttl DURATION         cached results older than this miss (1h; 0 never)\n"
    "  -q, --quiet                no messages on stderr\n"
    "  -v, --verbose              per-stage timing on stderr\n"
    "  -h, --help                 show this help and exit\n"
    "  -V, --version              show the version and exit\n"
    "\n";

static const char status_help[] =
    "An error record from upstream passes through unchanged and counts as failed.\n"
    "exit status: 0 all done, 1 some records failed, 64 usage, 66 no input,\n"
    "69 unavailable (--backend cuda without a device), 74 I/O error\n";

static void print_help(const cli_prog *p, const char *head, const char *out_help,
                       const char *notes)
{
    char *rows = params_help(p->table);
    fputs(head, stdout);
    fputs(rows ? rows : "", stdout);
    fputs(out_help, stdout);
    fputs(common_help, stdout);
    fputs(notes, stdout);
    fputs(status_help, stdout);
    free(rows);
}

int cli_prog_start(cli_prog *p, const char *name, const param_table *t, int argc, char **argv,
                   const char *usage_head, const char *out_help, const char *notes)
{
    memset(p, 0, sizeof *p);
    p->name = name;
    p->table = t;
    p->out.prog = name;
    params_defaults(&p->flags);
    orf_err e;
    /* the backend: --backend, else $ORFEAS_BACKEND, else auto */
    const char *env = getenv("ORFEAS_BACKEND");
    if (env && *env && params_set_text(params_find(t, "backend"), env, &p->flags, &e) < 0)
        return cli_usage(name, "ORFEAS_BACKEND: %s", e.message);
    cli_flags f;
    if (cli_flags_init(&f, name, t, stage_opts_extra,
                       sizeof stage_opts_extra / sizeof stage_opts_extra[0], &e) < 0) {
        cli_say(name, 0, "%s", e.message);
        return ORF_EXIT_IO;
    }
    f.hints = habits;
    const char *cache_dir = NULL;
    double ttl = -1;
    int jobs = 1, unordered = 0, c;
    long lv;
    const param_def *row = NULL;
    while ((c = cli_next(&f, argc, argv, &row)) != -1) {
        int bad = 0;
        switch (c) {
        case CLI_ROW:
            if (params_set_text(row, optarg, &p->flags, &e) < 0)
                bad = cli_usage(name, "--%s: %s", f.names[row - t->rows], e.message);
            break;
        case O_JOBS:
            if (cli_parse_long(optarg, 1, 64, &lv) < 0)
                bad = cli_usage(name, "--jobs: '%s' is not a whole number in 1..64", optarg);
            jobs = (int)lv;
            break;
        case O_UNORDERED: unordered = 1; break;
        case O_CACHE_DIR: cache_dir = optarg; break;
        case O_TTL:
            if (units_parse_duration(optarg, &ttl, &e) < 0)
                bad = cli_usage(name, "--ttl: %s", e.message);
            break;
        case O_QUIET: p->out.quiet = 1; break;
        case O_VERBOSE: p->verbose = 1; break;
        case O_HELP:
            print_help(p, usage_head, out_help, notes);
            cli_flags_free(&f);
            return ORF_EXIT_OK;
        case O_VERSION:
            printf("%s (orfeas) %s\n", name, ORFEAS_VERSION);
            cli_flags_free(&f);
            return ORF_EXIT_OK;
        default: bad = ORF_EXIT_USAGE; break;
        }
        if (bad) {
            cli_flags_free(&f);
            return bad;
        }
    }
    cli_flags_free(&f);
    if (out_is_file(p->flags.out) && argc - optind > 1)
        return cli_usage(name, "--out %s names one mesh file, but %d inputs were given: give one "
                         "input, or a folder to --out",
                         p->flags.out, argc - optind);
    if (p->flags.max_triangles == 0 && p->flags.max_error <= 0)
        return cli_usage(name, "--max-triangles 0 needs --max-error: the final stage needs a target");
    signal(SIGPIPE, SIG_IGN);
    if (cache_open(&p->cache, cache_dir, ttl, &e) < 0) {
        p->cache = NULL;
        if (!strcmp(e.code, "bad_request"))
            return cli_usage(name, "%s", e.message);
        if (!p->flags.out) {
            cli_say(name, p->out.quiet, "%s (without the cache, give --out to keep the meshes)",
                    e.message);
            return ORF_EXIT_IO;
        }
        cli_say(name, p->out.quiet, "%s (going on without the cache: meshes only in %s)",
                e.message, p->flags.out);
    }
    runner_config rc = {t, &p->flags, p->cache, 0, jobs, unordered, on_record, on_note, p};
    p->run = runner_new(&rc, &e);
    if (!p->run) {
        cache_close(p->cache);
        if (!strcmp(e.code, "unavailable")) {
            cli_say(name, p->out.quiet, "%s", e.message);
            return ORF_EXIT_UNAVAILABLE;
        }
        return cli_usage(name, "%s", e.message);
    }
    /* every input named on the command line is safe from the first output on */
    for (int i = optind; i < argc; i++)
        if (strcmp(argv[i], "-") != 0)
            runner_note_input(p->run, argv[i]);
    return -1;
}

int cli_prog_request(void *ctx, cJSON *req, long line, const orf_err *e)
{
    cli_prog *p = ctx;
    if (e) {
        cli_say(p->name, p->out.quiet, "%s", e->message); /* it names its line or file */
        return runner_submit_error(p->run, req, line, e);
    }
    return runner_submit(p->run, req);
}

int cli_prog_end(cli_prog *p, int read_status)
{
    int status = runner_finish(p->run);
    runner_free(p->run);
    cache_close(p->cache);
    status = cli_worse(status, read_status);
    return cli_worse(status, cli_finish(&p->out));
}
