/* dedup-cache - inspect, prune, verify and use the orfeas content-addressed cache.
 * Options, the subcommand and the NDJSON loops; the work is in lib/cache*.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cli.h"
#include "keyfilter.h"
#include "params.h"
#include "runner.h"
#include "ndjson.h"
#include "units.h"
#include "version.h"

static const char usage[] =
    "usage: dedup-cache [options] COMMAND [ARGS] [options]\n"
    "inspect, prune, verify and use the orfeas content-addressed cache.\n"
    "\n"
    "commands (each prints NDJSON records):\n"
    "  stats [--zero]               entries, bytes, hits, misses, ratio, time saved\n"
    "  prune [--max-age D] [--max-size S] [--dry-run]\n"
    "                               what was not used for D (default 7d) goes, then the\n"
    "                               least recently used until the cache fits S (default\n"
    "                               the cap, 5G); silent on success unless -v or --dry-run\n"
    "  verify [--repair]            rehash objects, check request entries\n"
    "  config [NAME [VALUE]]        show or set max-size (the cap) or max-age\n"
    "  get KEY [-o|--output FILE]   an object's bytes to stdout or FILE\n"
    "  put FILE...                  store files as objects, one record each\n"
    "  rm KEY...                    remove objects or request entries\n"
    "  clear [--yes]                remove everything (--yes needed on a terminal)\n"
    "  key [--program P]            filter: add the request key to each request\n"
    "  lookup [--program P]         filter: a request that hits becomes its cached record\n"
    "ccache's forms: -s (stats), -z (stats --zero), -C (clear), -M SIZE (config max-size SIZE)\n"
    "\n"
    "options (before or after the command):\n"
    "      --cache-dir DIR  the cache (else $ORFEAS_CACHE_DIR, $XDG_CACHE_HOME/orfeas,\n"
    "                       ~/.cache/orfeas)\n"
    "      --ttl DURATION   entries older than this miss (else $ORFEAS_CACHE_TTL, 1h; 0 never)\n"
    "  -q, --quiet          no messages on stderr\n"
    "  -v, --verbose        more records and messages\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n";


static int quiet, verbose;

static void note(const char *fmt, const char *a)
{
    if (!quiet) {
        fputs("dedup-cache: ", stderr);
        fprintf(stderr, fmt, a);
        fputc('\n', stderr);
    }
}


/* Records on stdout: a write that fails is said once and the run ends 74. */
static cli_out out = {"dedup-cache", 0, 0, 0, 0};

static void put_record(const cJSON *rec)
{
    if (rec)
        cli_emit(&out, rec);
}

/* An error record on `to` (stdout, or stderr when stdout carries an object's
 * bytes), a message on stderr (unless -q); returns 1. */
static int fail_record(FILE *to, const cJSON *req, const orf_err *e)
{
    cJSON *rec = ndjson_error_record(req, 0, e);
    if (rec) {
        if (to == stdout)
            put_record(rec);
        else
            ndjson_write(to, rec);
        cJSON_Delete(rec);
    }
    if (!quiet && to != stderr)
        fprintf(stderr, "dedup-cache: %s\n", e->message);
    return 1;
}

static void emit(cJSON *rec)
{
    put_record(rec);
    cJSON_Delete(rec);
}

static void walk_progress(void *ctx, const char *what, unsigned done, unsigned total)
{
    (void)ctx;
    char text[80];
    snprintf(text, sizeof text, "%s %3u%%", what, 100 * done / total);
    cli_progress_text(&out, text);
}

static cJSON *iso_time(double t)
{
    char buf[40];
    if (t <= 0)
        return cJSON_CreateNull();
    cli_iso_time(t, 0, buf);
    return cJSON_CreateString(buf);
}

/* ---- subcommands ---------------------------------------------------------- */

static int cmd_stats(orf_cache *c, int zero)
{
    orf_err e;
    if (zero && cache_counters_zero(c, &e) < 0)
        return fail_record(stdout, NULL, &e), ORF_EXIT_IO;
    cache_counters k;
    cache_usage u;
    if (cache_counters_read(c, &k, &e) < 0 || cache_usage_scan(c, &u, &e) < 0)
        return fail_record(stdout, NULL, &e), ORF_EXIT_IO;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "cache_dir", cache_dir(c));
    cJSON_AddNumberToObject(r, "entries", (double)u.requests);
    cJSON_AddNumberToObject(r, "objects", (double)u.objects);
    cJSON_AddNumberToObject(r, "bytes", (double)(u.request_bytes + u.object_bytes + u.temp_bytes));
    cJSON_AddNumberToObject(r, "temp_files", (double)u.temps);
    cJSON_AddNumberToObject(r, "temp_bytes", (double)u.temp_bytes);
    cJSON_AddNumberToObject(r, "hits", (double)k.hits);
    cJSON_AddNumberToObject(r, "misses", (double)k.misses);
    uint64_t lookups = k.hits + k.misses;
    if (lookups)
        cJSON_AddNumberToObject(r, "hit_ratio", (double)k.hits / (double)lookups);
    else
        cJSON_AddNullToObject(r, "hit_ratio");
    cJSON_AddNumberToObject(r, "stores", (double)k.stores);
    cJSON_AddNumberToObject(r, "evictions", (double)k.evictions);
    cJSON_AddNumberToObject(r, "bytes_written", (double)k.bytes_written);
    cJSON_AddNumberToObject(r, "time_saved_ms", k.time_saved_ms);
    cJSON_AddItemToObject(r, "oldest", iso_time(u.oldest));
    cJSON_AddItemToObject(r, "newest", iso_time(u.newest));
    cJSON_AddNumberToObject(r, "ttl_s", cache_ttl(c));
    cJSON_AddNumberToObject(r, "max_size", (double)cache_max_size(c));
    cJSON_AddNumberToObject(r, "max_age_s", cache_max_age(c));
    if (zero)
        cJSON_AddTrueToObject(r, "zeroed");
    emit(r);
    return ORF_EXIT_OK;
}

static cJSON *prune_record(const cache_prune_result *p, int dry_run)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddBoolToObject(r, "dry_run", dry_run);
    cJSON_AddNumberToObject(r, "requests_removed", (double)p->requests_removed);
    cJSON_AddNumberToObject(r, "objects_removed", (double)p->objects_removed);
    cJSON_AddNumberToObject(r, "temp_removed", (double)p->temp_removed);
    cJSON_AddNumberToObject(r, "bytes_freed", (double)p->bytes_freed);
    cJSON_AddNumberToObject(r, "requests_kept", (double)p->requests_kept);
    cJSON_AddNumberToObject(r, "objects_kept", (double)p->objects_kept);
    cJSON_AddNumberToObject(r, "bytes_kept", (double)p->bytes_kept);
    return r;
}

static int cmd_prune(orf_cache *c, const cache_prune_opts *o)
{
    orf_err e;
    cache_prune_result p;
    int rc = cache_prune(c, o, &p, &e);
    if (rc < 0)
        return fail_record(stdout, NULL, &e), ORF_EXIT_IO;
    if (rc == 1) {
        note("another prune of %s is running; nothing done", cache_dir(c));
        if (verbose || o->dry_run) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddTrueToObject(r, "busy");
            emit(r);
        }
        return ORF_EXIT_OK;
    }
    if (verbose || o->dry_run)
        emit(prune_record(&p, o->dry_run));
    return ORF_EXIT_OK;
}

static void verify_report(void *ctx, const char *kind, const char *key, const char *problem, const char *object,
                          int repaired)
{
    (void)ctx;
    int cause = errno; /* for "unreadable", what the read said */
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, kind, key);
    cJSON_AddStringToObject(r, "problem", problem);
    if (object)
        cJSON_AddStringToObject(r, "object", object);
    if (!strcmp(problem, "unreadable")) {
        cJSON_AddStringToObject(r, "error", strerror(cause));
        if (!quiet)
            fprintf(stderr, "dedup-cache: %s %s: cannot read it (%s); left as it is\n", kind, key, strerror(cause));
    }
    cJSON_AddBoolToObject(r, "repaired", repaired);
    emit(r);
}

static int cmd_verify(orf_cache *c, int repair)
{
    orf_err e;
    cache_verify_result v;
    if (cache_verify(c, repair, verify_report, NULL, &v, &e) < 0)
        return fail_record(stdout, NULL, &e), ORF_EXIT_IO;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "objects", (double)v.objects);
    cJSON_AddNumberToObject(r, "requests", (double)v.requests);
    cJSON_AddNumberToObject(r, "bad_objects", (double)v.bad_objects);
    cJSON_AddNumberToObject(r, "bad_requests", (double)v.bad_requests);
    cJSON_AddNumberToObject(r, "repaired", (double)v.repaired);
    cJSON_AddNumberToObject(r, "unreadable", (double)v.unreadable);
    int fixed = v.bad_objects + v.bad_requests == 0 || (repair && v.repaired >= v.bad_objects + v.bad_requests);
    int ok = fixed && v.unreadable == 0;
    cJSON_AddBoolToObject(r, "ok", ok);
    emit(r);
    /* what could not be read is an I/O error (74), left in place; what is bad and stays, 1 */
    return v.unreadable ? ORF_EXIT_IO : ok ? ORF_EXIT_OK : ORF_EXIT_FAIL;
}

static int cmd_get(orf_cache *c, const char *key, const char *outfile)
{
    orf_err e;
    FILE *rec_out = outfile ? stdout : stderr; /* stdout carries the bytes */
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "key", key);
    uint64_t n = 0;
    int rc;
    /* streamed, checked against the key before a byte goes out */
    if (outfile) {
        rc = cache_get_object_file(c, key, outfile, &n, &e);
    } else {
        fflush(stdout);
        rc = cache_get_object_fd(c, key, STDOUT_FILENO, &n, &e);
    }
    if (rc == 0)
        orf_fail(&e, "not_found", "object %s is not in %s", key, cache_dir(c));
    int status = ORF_EXIT_OK;
    if (rc < 0 && !outfile && errno == EPIPE && !strcmp(e.code, "io_error")) {
        status = ORF_EXIT_OK; /* the reader had enough (| head) */
    } else if (rc <= 0) {
        fail_record(rec_out, req, &e);
        /* the cache or the output cannot be read or written: 74; not there, a bad key: 1 */
        status = rc < 0 && (!strcmp(e.code, "cache_error") || !strcmp(e.code, "io_error")) ? ORF_EXIT_IO : ORF_EXIT_FAIL;
    } else if (outfile) {
        cJSON_AddStringToObject(req, "file", outfile);
        cJSON_AddNumberToObject(req, "bytes", (double)n);
        put_record(req);
    }
    cJSON_Delete(req);
    return status;
}

static int cmd_put(orf_cache *c, char **files, int nfiles)
{
    int status = ORF_EXIT_OK;
    for (int i = 0; i < nfiles; i++) {
        orf_err e;
        char key[65], path[4096];
        uint64_t bytes;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "file", files[i]);
        if (cache_put_file(c, files[i], key, &bytes, &e) < 0) {
            fail_record(stdout, r, &e);
            int s = strcmp(e.code, "no_input") == 0 ? ORF_EXIT_NOINPUT : ORF_EXIT_IO;
            if (s > status)
                status = s;
        } else {
            cJSON_AddStringToObject(r, "key", key);
            cJSON_AddNumberToObject(r, "bytes", (double)bytes);
            if (cache_object_path(c, key, path, sizeof path, &e) == 0)
                cJSON_AddStringToObject(r, "path", path);
            put_record(r);
        }
        cJSON_Delete(r);
    }
    return status;
}

static int cmd_rm(orf_cache *c, char **keys, int nkeys)
{
    int status = ORF_EXIT_OK;
    for (int i = 0; i < nkeys; i++) {
        orf_err e;
        int removed;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "key", keys[i]);
        if (cache_remove(c, keys[i], &removed, &e) < 0) {
            fail_record(stdout, r, &e);
            if (status == ORF_EXIT_OK)
                status = ORF_EXIT_FAIL;
        } else if (!removed) {
            orf_fail(&e, "not_found", "%s is neither an object nor a request entry in %s", keys[i], cache_dir(c));
            fail_record(stdout, r, &e);
            if (status == ORF_EXIT_OK)
                status = ORF_EXIT_FAIL;
        } else {
            cJSON *what = cJSON_CreateArray();
            if (removed & CACHE_OBJECT)
                cJSON_AddItemToArray(what, cJSON_CreateString("object"));
            if (removed & CACHE_REQUEST)
                cJSON_AddItemToArray(what, cJSON_CreateString("request"));
            cJSON_AddItemToObject(r, "removed", what);
            put_record(r);
        }
        cJSON_Delete(r);
    }
    return status;
}

static int cmd_clear(orf_cache *c, int yes)
{
    orf_err e;
    if (!yes && isatty(STDIN_FILENO)) {
        fprintf(stderr, "dedup-cache: clear removes everything in %s; run it again with --yes\n", cache_dir(c));
        return ORF_EXIT_USAGE;
    }
    cache_prune_result p;
    int rc = cache_clear(c, &p, &e);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "requests_removed", (double)p.requests_removed);
    cJSON_AddNumberToObject(r, "objects_removed", (double)p.objects_removed);
    cJSON_AddNumberToObject(r, "temp_removed", (double)p.temp_removed);
    cJSON_AddNumberToObject(r, "bytes_freed", (double)p.bytes_freed);
    if (rc < 0) {
        /* what could not be removed is said, with the error */
        cJSON_AddNumberToObject(r, "requests_kept", (double)p.requests_kept);
        cJSON_AddNumberToObject(r, "objects_kept", (double)p.objects_kept);
        cJSON_AddNumberToObject(r, "temp_kept", (double)p.temp_kept);
        cJSON_AddNumberToObject(r, "bytes_kept", (double)p.bytes_kept);
        fail_record(stdout, r, &e);
        cJSON_Delete(r);
        return ORF_EXIT_IO;
    }
    emit(r);
    return ORF_EXIT_OK;
}

/* config: show the limits, or set one in the cache's config file. */
static int cmd_config(orf_cache *c, char **args, int nargs)
{
    orf_err e;
    if (nargs == 2) {
        const char *v = strcmp(args[1], "default") == 0 ? NULL : args[1];
        if (cache_config_set(c, args[0], v, &e) < 0) {
            if (strcmp(e.code, "bad_request") == 0)
                return cli_usage("dedup-cache", "config: %s", e.message);
            return fail_record(stdout, NULL, &e), ORF_EXIT_IO;
        }
    }
    int all = nargs == 0;
    int size = all || !strcmp(args[0], "max-size") || !strcmp(args[0], "max_size");
    int age = all || !strcmp(args[0], "max-age") || !strcmp(args[0], "max_age");
    if (!size && !age)
        return cli_usage("dedup-cache", "config: '%s' is not a setting (max-size or max-age)", args[0]);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "cache_dir", cache_dir(c));
    if (size) {
        cJSON_AddNumberToObject(r, "max_size", (double)cache_max_size(c));
        cJSON_AddStringToObject(r, "max_size_from", cache_max_size_source(c));
    }
    if (age) {
        cJSON_AddNumberToObject(r, "max_age_s", cache_max_age(c));
        cJSON_AddStringToObject(r, "max_age_from", cache_max_age_source(c));
    }
    emit(r);
    return ORF_EXIT_OK;
}

/* ---- main ------------------------------------------------------------------ */

enum {
    OPT_CACHE_DIR = 256, OPT_TTL, OPT_ZERO, OPT_MAX_AGE, OPT_MAX_SIZE, OPT_DRY_RUN,
    OPT_REPAIR, OPT_YES, OPT_PROGRAM
};

/* The commands: their operands (at least, at most) and the options that are
 * theirs alone, by long name (o: -o), each between spaces. */
static const struct {
    const char *name;
    int min, max;
    const char *opts;
} commands[] = {
    {"stats", 0, 0, " zero "},   {"prune", 0, 0, " max-age max-size dry-run "},
    {"verify", 0, 0, " repair "}, {"get", 1, 1, " o "},
    {"put", 1, 1 << 30, ""},      {"rm", 1, 1 << 30, ""},
    {"clear", 0, 0, " yes "},     {"config", 0, 2, ""},
    {"key", 0, 0, " program "},   {"lookup", 0, 0, " program "},
};

/* ccache's habits where the meaning is the same: -s stats, -z stats --zero,
 * -C clear, -M SIZE config max-size SIZE. */
static int ccache_form(char **cmd, char c, char *seen)
{
    static char *const as[] = {"stats", "stats", "clear", "config"};
    const char *forms = "szCM", *at = strchr(forms, c);
    char *want = as[at - forms];
    if (*cmd && strcmp(*cmd, want) != 0)
        return cli_usage("dedup-cache", "-%c is ccache's form of '%s'; give one command", c, want);
    *cmd = want;
    *seen = c;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
        {"ttl", required_argument, NULL, OPT_TTL},
        {"zero", no_argument, NULL, OPT_ZERO},
        {"max-age", required_argument, NULL, OPT_MAX_AGE},
        {"max-size", required_argument, NULL, OPT_MAX_SIZE},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"repair", no_argument, NULL, OPT_REPAIR},
        {"output", required_argument, NULL, 'o'},
        {"yes", no_argument, NULL, OPT_YES},
        {"program", required_argument, NULL, OPT_PROGRAM},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *outfile = NULL, *program = NULL, *used[8];
    char *cmd = NULL, *cap[2] = {"max-size", NULL};
    double ttl = -1;
    int zero = 0, repair = 0, yes = 0, nused = 0;
    /* prune's limits: the cache's own (the one rule, cache.h) unless given */
    cache_prune_opts po = {.max_age = -1, .max_size = CACHE_PRUNE_CAP, .grace = -1};
    orf_err e;
    int c, lx;
    char cc = 0; /* the ccache form given */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hVqvo:szCM:", opts, &lx)) != -1) {
        if (c == 'o' || c >= OPT_ZERO) /* a command's own option, checked below */
            used[nused < 8 ? nused++ : 7] = c == 'o' ? "o" : opts[lx].name;
        switch (c) {
        case 'h': fputs(usage, stdout); return ORF_EXIT_OK;
        case 'V': printf("dedup-cache (orfeas) %s\n", ORFEAS_VERSION); return ORF_EXIT_OK;
        case 'q': quiet = 1, out.quiet = 1; break;
        case 'v': verbose = 1; break;
        case OPT_CACHE_DIR: dir = optarg; break;
        case OPT_TTL:
            if (units_parse_duration(optarg, &ttl, &e) < 0)
                return cli_usage("dedup-cache", "--ttl: %s", e.message);
            break;
        case 'z': zero = 1; /* fall through */
        case 's': case 'C': case 'M':
            if (ccache_form(&cmd, (char)c, &cc))
                return ORF_EXIT_USAGE;
            if (c == 'M')
                cap[1] = optarg;
            break;
        case OPT_ZERO: zero = 1; break;
        case OPT_MAX_AGE:
            if (units_parse_duration(optarg, &po.max_age, &e) < 0)
                return cli_usage("dedup-cache", "--max-age: %s", e.message);
            break;
        case OPT_MAX_SIZE:
            if (units_parse_size(optarg, &po.max_size, &e) < 0)
                return cli_usage("dedup-cache", "--max-size: %s", e.message);
            break;
        case OPT_DRY_RUN: po.dry_run = 1; break;
        case OPT_REPAIR: repair = 1; break;
        case 'o': outfile = optarg; break;
        case OPT_YES: yes = 1; break;
        case OPT_PROGRAM:
            if (!params_table(optarg))
                return cli_usage("dedup-cache", "--program: unknown program '%s' (mesh-gen or mesh-refine)", optarg);
            program = optarg;
            break;
        case ':': return cli_usage("dedup-cache", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage("dedup-cache", "unknown option '%s'", argv[optind - 1]);
        }
    }
    char **args = argv + optind;
    int nargs = argc - optind;
    if (cmd && nargs > 0 && !strcmp(cmd, "config"))
        return cli_usage("dedup-cache", "-M takes its size and no command (or: dedup-cache config max-size %s)", cap[1]);
    if (cmd && nargs > 0 && !strcmp(args[0], cmd))
        args++, nargs--; /* -z stats */
    if (cmd && !strcmp(cmd, "config"))
        args = cap, nargs = 2;
    else if (cmd && nargs > 0)
        return cli_usage("dedup-cache", "-%c is ccache's form of '%s'; give one command, not '%s' too", cc, cmd, args[0]);
    else if (!cmd && nargs > 0)
        cmd = args[0], args++, nargs--;
    if (!cmd)
        return cli_usage("dedup-cache", "%s", "no command given (stats, prune, verify, get, put, rm, clear, config, key, lookup)");
    size_t k = 0, ncmd = sizeof commands / sizeof commands[0];
    while (k < ncmd && strcmp(cmd, commands[k].name))
        k++;
    if (k == ncmd)
        return cli_usage("dedup-cache", "unknown command '%s'", cmd);
    for (int i = 0; i < nused; i++) {
        char padded[32];
        snprintf(padded, sizeof padded, " %s ", used[i]);
        if (!strstr(commands[k].opts, padded))
            return cli_usage("dedup-cache", "%s%s is not an option of '%s'", used[i][1] ? "--" : "-", used[i], cmd);
    }
    if (nargs > commands[k].max && commands[k].max == 0)
        return cli_usage("dedup-cache", "'%s' takes no arguments", cmd);
    if (nargs > commands[k].max || nargs < commands[k].min)
        return cli_usage("dedup-cache", commands[k].min == commands[k].max ? "'%s' takes exactly one argument"
                         : commands[k].min ? "'%s' needs at least one argument"
                                           : "'%s' takes at most a name and a value", cmd);

    orf_cache *cache;
    if (cache_open(&cache, dir, ttl, &e) < 0) {
        fail_record(!strcmp(cmd, "get") && !outfile ? stderr : stdout, NULL, &e);
        return strcmp(e.code, "bad_request") == 0 ? ORF_EXIT_USAGE : ORF_EXIT_IO;
    }
    int status;
    /* a progress line on a terminal for the commands that walk the whole cache */
    if (!strcmp(cmd, "verify") || !strcmp(cmd, "prune") || !strcmp(cmd, "clear"))
        cache_set_progress(cache, walk_progress, NULL);
    if (!strcmp(cmd, "stats"))
        status = cmd_stats(cache, zero);
    else if (!strcmp(cmd, "prune"))
        status = cmd_prune(cache, &po);
    else if (!strcmp(cmd, "verify"))
        status = cmd_verify(cache, repair);
    else if (!strcmp(cmd, "get"))
        status = cmd_get(cache, args[0], outfile);
    else if (!strcmp(cmd, "put"))
        status = cmd_put(cache, args, nargs);
    else if (!strcmp(cmd, "rm"))
        status = cmd_rm(cache, args, nargs);
    else if (!strcmp(cmd, "clear"))
        status = cmd_clear(cache, yes);
    else if (!strcmp(cmd, "config"))
        status = cmd_config(cache, args, nargs);
    else
        status = keyfilter_run(cache, !strcmp(cmd, "lookup"), program, quiet);
    cli_progress_done(&out);
    cache_close(cache);
    return cli_worse(status, cli_finish(&out));
}
