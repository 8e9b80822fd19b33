/* cli.c - exit statuses, usage errors, table-driven flags, the request loop
 * and checked record output that every program in cmd/ shares (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ndjson.h"

int cli_status_of(const char *code)
{
    if (code && (strcmp(code, "io_error") == 0 || strcmp(code, "cache_error") == 0))
        return ORF_EXIT_IO;
    return ORF_EXIT_FAIL;
}

static int rank(int s)
{
    switch (s) {
    case ORF_EXIT_OK: return 0;
    case ORF_EXIT_FAIL: return 1;
    case ORF_EXIT_USAGE: return 2;
    case ORF_EXIT_NOINPUT: return 3;
    case ORF_EXIT_UNAVAILABLE: return 4;
    default: return 5; /* ORF_EXIT_IO */
    }
}

int cli_worse(int a, int b)
{
    return rank(a) >= rank(b) ? a : b;
}

int cli_usage(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n%s: try '%s --help'\n", prog, prog);
    va_end(ap);
    return ORF_EXIT_USAGE;
}

void cli_say(const char *prog, int quiet, const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- flags ------------------------------------------------------------------ */

int cli_flags_init(cli_flags *f, const char *prog, const param_table *t, const cli_opt *extra,
                   size_t nextra, orf_err *e)
{
    memset(f, 0, sizeof *f);
    f->prog = prog;
    f->table = t;
    f->extra = extra;
    f->nextra = nextra;
    size_t nrows = t ? t->nrows : 0;
    if (nrows > sizeof f->names / sizeof f->names[0])
        return orf_fail(e, "bad_request", "%s: too many parameters", prog);
    f->longopts = calloc(nrows + nextra + 1, sizeof *f->longopts);
    if (!f->longopts)
        return orf_fail(e, "too_large", "out of memory");
    size_t k = 0, s = 0;
    f->shortopts[s++] = ':'; /* a missing value is told apart from an unknown flag */
    for (size_t i = 0; i < nrows; i++) {
        const param_def *d = &t->rows[i];
        size_t j = 0;
        for (; d->name[j] && j < sizeof f->names[i] - 1; j++)
            f->names[i][j] = d->name[j] == '_' ? '-' : d->name[j];
        f->names[i][j] = 0;
        int arg = d->type == PARAM_BOOL ? no_argument : required_argument;
        f->longopts[k++] = (struct option){f->names[i], arg, NULL, CLI_ROW + 1 + (int)i};
        if (d->short_flag && s + 3 < sizeof f->shortopts) {
            f->shortopts[s++] = d->short_flag;
            if (arg == required_argument)
                f->shortopts[s++] = ':';
        }
    }
    for (size_t i = 0; i < nextra; i++) {
        f->longopts[k++] = (struct option){extra[i].name, extra[i].has_arg, NULL, extra[i].id};
        if (extra[i].short_flag && s + 3 < sizeof f->shortopts) {
            f->shortopts[s++] = (char)extra[i].short_flag;
            if (extra[i].has_arg == required_argument)
                f->shortopts[s++] = ':';
        }
    }
    f->shortopts[s] = 0;
    return 0;
}

/* Levenshtein distance of a and b, capped at 9. */
static int distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 9;
    int d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            d[i][j] = best;
        }
    return d[la][lb] > 9 ? 9 : d[la][lb];
}

const char *cli_nearest(const char *typed, const char *const *names, size_t n)
{
    const char *best = NULL;
    int bd = 9;
    size_t lt = strlen(typed);
    for (size_t i = 0; i < n; i++) {
        int d = distance(typed, names[i]);
        /* a prefix typed whole ("--verb") or a slip of a letter or two */
        if (strncmp(names[i], typed, lt) == 0 && lt >= 3)
            d = 1;
        if (d < bd) {
            bd = d;
            best = names[i];
        }
    }
    return bd <= (lt > 6 ? 2 : 1) ? best : NULL;
}

/* The message of an unknown flag: advice for another tool's flag, else the
 * nearest flag of this program. */
static void unknown_flag(const cli_flags *f, const char *arg, int short_opt)
{
    char typed[64];
    if (arg)
        snprintf(typed, sizeof typed, "%.*s", (int)strcspn(arg, "="), arg);
    else
        snprintf(typed, sizeof typed, "-%c", short_opt);
    for (const cli_hint *h = f->hints; h && h->foreign; h++)
        if (strcmp(h->foreign, typed) == 0) {
            cli_usage(f->prog, "unknown option '%s': here, %s", typed, h->advice);
            return;
        }
    const char *names[96];
    size_t n = 0;
    for (const struct option *o = f->longopts; o && o->name && n < 96; o++)
        names[n++] = o->name;
    const char *near = arg && typed[0] == '-' && typed[1] == '-' ? cli_nearest(typed + 2, names, n) : NULL;
    if (near)
        cli_usage(f->prog, "unknown option '%s': did you mean --%s?", typed, near);
    else
        cli_usage(f->prog, "unknown option '%s'", typed);
}

int cli_next(cli_flags *f, int argc, char **argv, const param_def **row)
{
    opterr = 0;
    int idx = -1;
    int c = getopt_long(argc, argv, f->shortopts, f->longopts, &idx);
    if (c == -1)
        return -1;
    if (c == ':') {
        cli_usage(f->prog, "option '%s' needs a value", argv[optind - 1]);
        return CLI_UNKNOWN;
    }
    if (c == '?') {
        unknown_flag(f, optopt && optopt < 256 ? NULL : argv[optind - 1], optopt);
        return CLI_UNKNOWN;
    }
    size_t nrows = f->table ? f->table->nrows : 0;
    if (c > CLI_ROW && c <= CLI_ROW + (int)nrows) {
        *row = &f->table->rows[c - CLI_ROW - 1];
        return CLI_ROW;
    }
    for (size_t i = 0; i < nrows; i++)
        if (f->table->rows[i].short_flag && f->table->rows[i].short_flag == c) {
            *row = &f->table->rows[i];
            return CLI_ROW;
        }
    return c;
}

void cli_flags_free(cli_flags *f)
{
    free(f->longopts);
    f->longopts = NULL;
}

/* ---- records out -------------------------------------------------------------- */

int cli_emit(cli_out *o, const cJSON *rec)
{
    if (o->closed || o->failed)
        return -1;
    if (ndjson_write(stdout, rec) == 0)
        return 0;
    if (errno == EPIPE) {
        o->closed = 1;
        return -1;
    }
    o->failed = 1;
    o->status = cli_worse(o->status, ORF_EXIT_IO);
    cli_say(o->prog, o->quiet, "writing a record to standard output: %s", strerror(errno));
    return -1;
}

void cli_progress(const cli_out *o, const cJSON *rec)
{
    const char *stage = ndjson_get_string(rec, "stage");
    const cJSON *pct = cJSON_GetObjectItemCaseSensitive(rec, "progress");
    if (o->quiet || !stage || !cJSON_IsNumber(pct) || !isatty(STDERR_FILENO))
        return;
    const char *input = ndjson_get_string(rec, "image");
    if (!input)
        input = ndjson_get_string(rec, "source");
    fprintf(stderr, "\r%s: %s %s %3d%%\033[K", o->prog, input ? input : "", stage,
            (int)pct->valuedouble);
    if (pct->valuedouble >= 50)
        fputc('\n', stderr); /* each stage on its own line from rough on */
}

void cli_progress_text(const cli_out *o, const char *text)
{
    if (o->quiet || !isatty(STDERR_FILENO))
        return;
    fprintf(stderr, "\r%s: %s ...\033[K", o->prog, text);
    fflush(stderr);
}

void cli_progress_done(const cli_out *o)
{
    if (o->quiet || !isatty(STDERR_FILENO))
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

void cli_count_failure(cli_out *o, const char *code)
{
    o->status = cli_worse(o->status, cli_status_of(code));
}

int cli_finish(cli_out *o)
{
    if (!o->failed && !o->closed) {
        errno = 0;
        int bad = fflush(stdout) == EOF;
        bad |= fclose(stdout) == EOF;
        if (bad && errno != EPIPE) {
            cli_say(o->prog, o->quiet, "writing to standard output: %s",
                    errno ? strerror(errno) : "write error");
            o->status = cli_worse(o->status, ORF_EXIT_IO);
        }
    }
    return o->status;
}

/* ---- requests in ---------------------------------------------------------------- */

static int is_ndjson_name(const char *p)
{
    const char *d = strrchr(p, '.');
    return d && (!strcmp(d, ".ndjson") || !strcmp(d, ".jsonl") || !strcmp(d, ".json"));
}

/* Every line of `in`: 0 at the end, 1 when fn stopped, 74 on a read error. */
static int read_lines(const char *prog, int quiet, FILE *in, const char *name,
                      const char *bare_field, cli_request_fn fn, void *ctx)
{
    ndjson_reader *r = ndjson_reader_open(in, 0);
    if (!r) {
        cli_say(prog, quiet, "out of memory");
        return ORF_EXIT_IO;
    }
    int rc = 0;
    for (;;) {
        cJSON *req = NULL;
        orf_err e;
        orf_err_clear(&e);
        int got = ndjson_next(r, bare_field, &req, &e);
        if (got == 0)
            break;
        if (got < 0) {
            cli_say(prog, quiet, "reading %s: %s", name, e.message);
            rc = ORF_EXIT_IO;
            break;
        }
        if (fn(ctx, req, ndjson_line(r), req ? NULL : &e) < 0) {
            rc = 1;
            break;
        }
    }
    ndjson_reader_close(r);
    return rc;
}

int cli_requests(const char *prog, int quiet, int argc, char **argv, int first,
                 const char *bare_field, int ndjson_files, cli_request_fn fn, void *ctx)
{
    if (first >= argc) {
        if (isatty(STDIN_FILENO)) {
            fprintf(stderr,
                    "%s: no input: give %s paths, or pipe paths or requests in\n"
                    "%s: try '%s --help'\n",
                    prog, bare_field, prog, prog);
            return ORF_EXIT_NOINPUT;
        }
        int rc = read_lines(prog, quiet, stdin, "standard input", bare_field, fn, ctx);
        return rc == 1 ? 0 : rc;
    }
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (strcmp(a, "-") == 0) {
            rc = read_lines(prog, quiet, stdin, "standard input", bare_field, fn, ctx);
        } else if (ndjson_files && is_ndjson_name(a)) {
            FILE *in = fopen(a, "r");
            if (!in) {
                orf_err e;
                orf_fail_errno(&e, "no_input", a);
                cJSON *req = cJSON_CreateObject();
                if (!req)
                    return ORF_EXIT_IO;
                cJSON_AddStringToObject(req, "input", a);
                rc = fn(ctx, req, 0, &e) < 0 ? 1 : 0;
            } else {
                rc = read_lines(prog, quiet, in, a, bare_field, fn, ctx);
                fclose(in);
            }
        } else {
            cJSON *req = cJSON_CreateObject();
            if (!req)
                return ORF_EXIT_IO;
            cJSON_AddStringToObject(req, bare_field, a);
            rc = fn(ctx, req, 0, NULL) < 0 ? 1 : 0;
        }
        if (rc == 1)
            return 0;
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- small things ---------------------------------------------------------------- */

int cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

void cli_iso_time(double t, int millis, char buf[40])
{
    time_t s = (time_t)floor(t);
    unsigned ms = (unsigned)((t - (double)s) * 1000.0) % 1000u;
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (millis)
        snprintf(buf, 40, "%.28s.%03uZ", base, ms);
    else
        snprintf(buf, 40, "%.28sZ", base);
}
