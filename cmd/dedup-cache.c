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
    "\n"
    "options (before or after the command):\n"
    "      --cache-dir DIR  the cache (else $ORFEAS_CACHE_DIR, $XDG_CACHE_HOME/orfeas,\n"
    "                       ~/.cache/orfeas)\n"
    "      --ttl DURATION   entries older than this miss (else $ORFEAS_CACHE_TTL, 1h; 0 never)\n"
    "  -q, --quiet          no messages on stderr\n"
    "  -v, --verbose        more records and messages\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n";

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE_ = 64, EX_NOINPUT_ = 66, EX_IO = 74 };

static int quiet, verbose;

static void note(const char *fmt, const char *a)
{
    if (!quiet) {
        fputs("dedup-cache: ", stderr);
        fprintf(stderr, fmt, a);
        fputc('\n', stderr);
    }
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "dedup-cache: ");
    fprintf(stderr, msg, arg);
    fprintf(stderr, "\ndedup-cache: try 'dedup-cache --help'\n");
    return EX_USAGE_;
}

/* An error record on out, a message on stderr (unless -q); returns 1. */
static int fail_record(FILE *out, const cJSON *req, const orf_err *e)
{
    cJSON *rec = ndjson_error_record(req, 0, e);
    if (rec) {
        ndjson_write(out, rec);
        cJSON_Delete(rec);
    }
    if (!quiet && out != stderr)
        fprintf(stderr, "dedup-cache: %s\n", e->message);
    return 1;
}

static void emit(cJSON *rec)
{
    if (rec)
        ndjson_write(stdout, rec);
    cJSON_Delete(rec);
}

static cJSON *iso_time(double t)
{
    if (t <= 0)
        return cJSON_CreateNull();
    time_t s = (time_t)t;
    struct tm tm;
    char buf[32];
    gmtime_r(&s, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return cJSON_CreateString(buf);
}

/* ---- subcommands ---------------------------------------------------------- */

static int cmd_stats(orf_cache *c, int zero)
{
    orf_err e;
    if (zero && cache_counters_zero(c, &e) < 0)
        return fail_record(stdout, NULL, &e), EX_IO;
    cache_counters k;
    cache_usage u;
    if (cache_counters_read(c, &k, &e) < 0 || cache_usage_scan(c, &u, &e) < 0)
        return fail_record(stdout, NULL, &e), EX_IO;
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
    return EX_OK;
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
        return fail_record(stdout, NULL, &e), EX_IO;
    if (rc == 1) {
        note("another prune of %s is running; nothing done", cache_dir(c));
        if (verbose || o->dry_run) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddTrueToObject(r, "busy");
            emit(r);
        }
        return EX_OK;
    }
    if (verbose || o->dry_run)
        emit(prune_record(&p, o->dry_run));
    return EX_OK;
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
        return fail_record(stdout, NULL, &e), EX_IO;
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
    return v.unreadable ? EX_IO : ok ? EX_OK : EX_FAIL;
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
    int status = EX_OK;
    if (rc < 0 && !outfile && errno == EPIPE && !strcmp(e.code, "io_error")) {
        status = EX_OK; /* the reader had enough (| head) */
    } else if (rc <= 0) {
        fail_record(rec_out, req, &e);
        /* the cache or the output cannot be read or written: 74; not there, a bad key: 1 */
        status = rc < 0 && (!strcmp(e.code, "cache_error") || !strcmp(e.code, "io_error")) ? EX_IO : EX_FAIL;
    } else if (outfile) {
        cJSON_AddStringToObject(req, "file", outfile);
        cJSON_AddNumberToObject(req, "bytes", (double)n);
        ndjson_write(stdout, req);
    }
    cJSON_Delete(req);
    return status;
}

static int cmd_put(orf_cache *c, char **files, int nfiles)
{
    int status = EX_OK;
    for (int i = 0; i < nfiles; i++) {
        orf_err e;
        char key[65], path[4096];
        uint64_t bytes;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "file", files[i]);
        if (cache_put_file(c, files[i], key, &bytes, &e) < 0) {
            fail_record(stdout, r, &e);
            int s = strcmp(e.code, "no_input") == 0 ? EX_NOINPUT_ : EX_IO;
            if (s > status)
                status = s;
        } else {
            cJSON_AddStringToObject(r, "key", key);
            cJSON_AddNumberToObject(r, "bytes", (double)bytes);
            if (cache_object_path(c, key, path, sizeof path, &e) == 0)
                cJSON_AddStringToObject(r, "path", path);
            ndjson_write(stdout, r);
        }
        cJSON_Delete(r);
    }
    return status;
}

static int cmd_rm(orf_cache *c, char **keys, int nkeys)
{
    int status = EX_OK;
    for (int i = 0; i < nkeys; i++) {
        orf_err e;
        int removed;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "key", keys[i]);
        if (cache_remove(c, keys[i], &removed, &e) < 0) {
            fail_record(stdout, r, &e);
            if (status == EX_OK)
                status = EX_FAIL;
        } else if (!removed) {
            orf_fail(&e, "not_found", "%s is neither an object nor a request entry in %s", keys[i], cache_dir(c));
            fail_record(stdout, r, &e);
            if (status == EX_OK)
                status = EX_FAIL;
        } else {
            cJSON *what = cJSON_CreateArray();
            if (removed & CACHE_OBJECT)
                cJSON_AddItemToArray(what, cJSON_CreateString("object"));
            if (removed & CACHE_REQUEST)
                cJSON_AddItemToArray(what, cJSON_CreateString("request"));
            cJSON_AddItemToObject(r, "removed", what);
            ndjson_write(stdout, r);
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
        return EX_USAGE_;
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
        return EX_IO;
    }
    emit(r);
    return EX_OK;
}

/* config: show the limits, or set one in the cache's config file. */
static int cmd_config(orf_cache *c, char **args, int nargs)
{
    orf_err e;
    if (nargs == 2) {
        const char *v = strcmp(args[1], "default") == 0 ? NULL : args[1];
        if (cache_config_set(c, args[0], v, &e) < 0) {
            if (strcmp(e.code, "bad_request") == 0)
                return usage_error("config: %s", e.message);
            return fail_record(stdout, NULL, &e), EX_IO;
        }
    }
    int all = nargs == 0;
    int size = all || !strcmp(args[0], "max-size") || !strcmp(args[0], "max_size");
    int age = all || !strcmp(args[0], "max-age") || !strcmp(args[0], "max_age");
    if (!size && !age)
        return usage_error("config: '%s' is not a setting (max-size or max-age)", args[0]);
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
    return EX_OK;
}

/* Which program a request is for: --program, else mesh-refine for a request
 * with "mesh" or "field" and no "image", else mesh-gen. */
static const cache_program *program_of(const char *forced, const cJSON *req)
{
    if (forced)
        return cache_program_find(forced);
    int has_image = cJSON_GetObjectItemCaseSensitive(req, "image") != NULL;
    int refine = !has_image && (cJSON_GetObjectItemCaseSensitive(req, "mesh") ||
                                cJSON_GetObjectItemCaseSensitive(req, "field"));
    return cache_program_find(refine ? "mesh-refine" : "mesh-gen");
}

/* key and lookup: read requests, write one record each. */
static int cmd_filter(orf_cache *c, int lookup, const char *program)
{
    ndjson_reader *rd = ndjson_reader_open(stdin, 0);
    if (!rd) {
        fprintf(stderr, "dedup-cache: out of memory\n");
        return EX_FAIL;
    }
    int status = EX_OK;
    for (;;) {
        orf_err e;
        cJSON *req = NULL;
        int rc = ndjson_next(rd, "image", &req, &e);
        if (rc == 0)
            break;
        if (rc < 0) {
            fail_record(stdout, NULL, &e);
            status = EX_IO;
            break;
        }
        if (!req) {
            cJSON *rec = ndjson_error_record(NULL, ndjson_line(rd), &e);
            emit(rec);
            status = EX_FAIL;
            continue;
        }
        char key[65];
        const char *given = ndjson_get_string(req, "key");
        const cache_program *p = program_of(program, req);
        int ok;
        if (lookup && given && cache_key_valid(given)) {
            memcpy(key, given, 65);
            ok = 0;
        } else {
            ok = cache_request_key_for(p, req, key, &e);
        }
        if (ok < 0) {
            fail_record(stdout, req, &e);
            if (status == EX_OK)
                status = EX_FAIL;
            cJSON_Delete(req);
            continue;
        }
        if (!lookup) {
            ndjson_set(req, "key", cJSON_CreateString(key));
            emit(req);
            continue;
        }
        cJSON *rec = NULL;
        int hit = cache_get_request(c, key, &rec, &e);
        if (hit < 0) {
            fail_record(stdout, req, &e);
            status = EX_FAIL;
            cJSON_Delete(req);
            continue;
        }
        if (!hit) {
            emit(req); /* unchanged */
            continue;
        }
        /* The cached record (or each of them, when the work made several:
         * mesh-gen stores its voxel and rough records as {"records": [...]}),
         * with the request's own fields (id, ...) it lacks. */
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(rec, "records");
        int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
        for (int i = 0; i < (n ? n : 1); i++) {
            cJSON *out = n ? cJSON_Duplicate(cJSON_GetArrayItem(list, i), 1) : rec;
            for (cJSON *m = req->child; m; m = m->next)
                if (m->string && !cJSON_GetObjectItemCaseSensitive(out, m->string))
                    cJSON_AddItemToObject(out, m->string, cJSON_Duplicate(m, 1));
            ndjson_set(out, "cached", cJSON_CreateTrue());
            ndjson_set(out, "key", cJSON_CreateString(key));
            emit(out);
        }
        if (n)
            cJSON_Delete(rec);
        cJSON_Delete(req);
    }
    ndjson_reader_close(rd);
    return status;
}

/* ---- main ------------------------------------------------------------------ */

enum {
    OPT_CACHE_DIR = 256, OPT_TTL, OPT_ZERO, OPT_MAX_AGE, OPT_MAX_SIZE, OPT_DRY_RUN,
    OPT_REPAIR, OPT_YES, OPT_PROGRAM
};

/* Which subcommands each subcommand-only option belongs to. */
static const struct {
    int opt;
    const char *name;
    const char *cmds;
} owned[] = {
    {OPT_ZERO, "--zero", " stats "},
    {OPT_MAX_AGE, "--max-age", " prune "},
    {OPT_MAX_SIZE, "--max-size", " prune "},
    {OPT_DRY_RUN, "--dry-run", " prune "},
    {OPT_REPAIR, "--repair", " verify "},
    {'o', "-o", " get "},
    {OPT_YES, "--yes", " clear "},
    {OPT_PROGRAM, "--program", " key lookup "},
};

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
    const char *dir = NULL, *outfile = NULL, *program = NULL;
    double ttl = -1;
    int zero = 0, repair = 0, yes = 0;
    /* prune's limits: the cache's own (the one rule, cache.h) unless given */
    cache_prune_opts po = {.max_age = -1, .max_size = CACHE_PRUNE_CAP, .grace = -1};
    int seen[sizeof owned / sizeof owned[0]] = {0};
    orf_err e;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hVqvo:", opts, NULL)) != -1) {
        for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
            if (owned[i].opt == c)
                seen[i] = 1;
        switch (c) {
        case 'h': fputs(usage, stdout); return EX_OK;
        case 'V': printf("dedup-cache (orfeas) %s\n", ORFEAS_VERSION); return EX_OK;
        case 'q': quiet = 1; break;
        case 'v': verbose = 1; break;
        case OPT_CACHE_DIR: dir = optarg; break;
        case OPT_TTL:
            if (units_parse_duration(optarg, &ttl, &e) < 0)
                return usage_error("--ttl: %s", e.message);
            break;
        case OPT_ZERO: zero = 1; break;
        case OPT_MAX_AGE:
            if (units_parse_duration(optarg, &po.max_age, &e) < 0)
                return usage_error("--max-age: %s", e.message);
            break;
        case OPT_MAX_SIZE:
            if (units_parse_size(optarg, &po.max_size, &e) < 0)
                return usage_error("--max-size: %s", e.message);
            break;
        case OPT_DRY_RUN: po.dry_run = 1; break;
        case OPT_REPAIR: repair = 1; break;
        case 'o': outfile = optarg; break;
        case OPT_YES: yes = 1; break;
        case OPT_PROGRAM:
            if (!cache_program_find(optarg))
                return usage_error("--program: unknown program '%s' (mesh-gen or mesh-refine)", optarg);
            program = optarg;
            break;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error("%s", "no command given (stats, prune, verify, get, put, rm, clear, config, key, lookup)");
    const char *cmd = argv[optind++];
    char **args = argv + optind;
    int nargs = argc - optind;
    static const char *const cmds[] = {"stats", "prune", "verify", "get", "put", "rm", "clear", "config", "key", "lookup"};
    int known = 0;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        known |= strcmp(cmd, cmds[i]) == 0;
    if (!known)
        return usage_error("unknown command '%s'", cmd);
    char padded[32];
    snprintf(padded, sizeof padded, " %s ", cmd);
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        if (seen[i] && !strstr(owned[i].cmds, padded))
            return usage_error("%s is not an option of this command", owned[i].name);
    int want_args = -1; /* -1 any, else exact; -2 at least one */
    if (!strcmp(cmd, "get"))
        want_args = 1;
    else if (!strcmp(cmd, "put") || !strcmp(cmd, "rm"))
        want_args = -2;
    else if (!strcmp(cmd, "config"))
        want_args = -3; /* 0, 1 or 2 */
    else
        want_args = 0;
    if (want_args == -3 && nargs > 2)
        return usage_error("%s", "'config' takes at most a name and a value");
    if ((want_args >= 0 && nargs != want_args) || (want_args == -2 && nargs < 1))
        return usage_error(want_args == 0 ? "'%s' takes no arguments"
                           : want_args == 1 ? "'%s' takes exactly one argument"
                                            : "'%s' needs at least one argument",
                           cmd);

    orf_cache *cache;
    if (cache_open(&cache, dir, ttl, &e) < 0) {
        fail_record(!strcmp(cmd, "get") && !outfile ? stderr : stdout, NULL, &e);
        return strcmp(e.code, "bad_request") == 0 ? EX_USAGE_ : EX_IO;
    }
    int status;
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
        status = cmd_filter(cache, !strcmp(cmd, "lookup"), program);
    cache_close(cache);
    return status;
}
