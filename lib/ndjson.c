/* ndjson.c - the NDJSON reader (requests, bare paths, bad lines) and writer (one record a line, flushed), and the request-field helpers (see ndjson.h). */
#include "ndjson.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ndjson_reader {
    FILE *in;
    size_t max_line;
    char *buf;
    size_t cap;
    long line;
    int nul; /* the line read last holds a NUL byte */
};

ndjson_reader *ndjson_reader_open(FILE *in, size_t max_line)
{
    ndjson_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->in = in;
    r->max_line = max_line ? max_line : NDJSON_DEFAULT_MAX_LINE;
    return r;
}

void ndjson_reader_close(ndjson_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

long ndjson_line(const ndjson_reader *r) { return r->line; }

/* Read one line into r->buf (NUL-terminated, without the newline).
 * Returns 1 with *too_long set when the line exceeded max_line (discarded),
 * 0 at EOF with nothing read, -1 on a read error. */
static int read_line(ndjson_reader *r, size_t *len, int *too_long)
{
    size_t n = 0;
    int c, got = 0;
    *too_long = 0;
    r->nul = 0;
    while ((c = getc(r->in)) != EOF) {
        got = 1;
        if (c == '\n')
            break;
        if (c == 0)
            r->nul = 1;
        if (*too_long)
            continue;
        if (n >= r->max_line) {
            *too_long = 1;
            continue;
        }
        if (n + 1 >= r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 4096;
            if (cap > r->max_line + 1)
                cap = r->max_line + 1;
            char *b = realloc(r->buf, cap);
            if (!b)
                return -1;
            r->buf = b;
            r->cap = cap;
        }
        r->buf[n++] = (char)c;
    }
    if (ferror(r->in))
        return -1;
    if (!got)
        return 0;
    if (!r->buf) {
        r->buf = malloc(1);
        if (!r->buf)
            return -1;
        r->cap = 1;
    }
    if (n > 0 && r->buf[n - 1] == '\r')
        n--;
    r->buf[n] = 0;
    *len = n;
    return 1;
}

/* The first byte of s[0..n) that is not part of well-formed UTF-8 (no
 * overlong forms, no surrogates, nothing past U+10FFFF); NULL when all is. */
static const unsigned char *bad_utf8(const unsigned char *s, size_t n)
{
    const unsigned char *end = s + n;
    while (s < end) {
        unsigned c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t k = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
        if (!k || (size_t)(end - s) <= k)
            return s;
        unsigned lo = 0x80, hi = 0xbf;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f; /* no surrogates */
        else if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
        if (s[1] < lo || s[1] > hi)
            return s;
        for (size_t i = 2; i <= k; i++)
            if ((s[i] & 0xc0) != 0x80)
                return s;
        s += k + 1;
    }
    return NULL;
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d > 15)
            return 0x10000; /* not hex: cJSON refuses it */
        v = v * 16 + d;
    }
    return v;
}

/* A string escape in JSON text that cJSON would turn into something a C
 * string cannot carry or that is not Unicode: \u0000 (which would cut the
 * string there) or a surrogate that is not half of a pair. The escape's
 * text, or NULL. */
static const char *bad_escape(const char *s)
{
    int in = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '"') {
            in = !in;
            continue;
        }
        if (!in || *p != '\\')
            continue;
        p++;
        if (*p != 'u')
            continue;
        unsigned u = hex4(p + 1);
        if (u == 0)
            return p - 1;
        if (u >= 0xd800 && u <= 0xdbff) {
            unsigned l = p[5] == '\\' && p[6] == 'u' ? hex4(p + 7) : 0;
            if (l < 0xdc00 || l > 0xdfff)
                return p - 1;
            p += 6;
        } else if (u >= 0xdc00 && u <= 0xdfff) {
            return p - 1;
        }
        p += 4;
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first name an object in v gives twice (cJSON keeps both, and a lookup
 * would see the first while a reader of the record sees the last), or NULL. */
static const char *duplicate_name(const cJSON *v, int depth)
{
    if (depth > 200)
        return NULL;
    size_t n = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        n++;
        if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            const char *d = duplicate_name(c, depth + 1);
            if (d)
                return d;
        }
    }
    if (!cJSON_IsObject(v) || n < 2)
        return NULL;
    const char **names = malloc(n * sizeof *names);
    if (!names)
        return NULL;
    n = 0;
    for (const cJSON *c = v->child; c; c = c->next)
        names[n++] = c->string ? c->string : "";
    qsort(names, n, sizeof *names, cmp_str);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (!strcmp(names[i - 1], names[i]))
            dup = names[i];
    free(names);
    return dup;
}

static const char *json_kind(const cJSON *v)
{
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    return "not an object";
}

int ndjson_next(ndjson_reader *r, const char *bare_field, cJSON **req, orf_err *e)
{
    *req = NULL;
    for (;;) {
        size_t len = 0;
        int too_long = 0;
        int rc = read_line(r, &len, &too_long);
        if (rc == 0)
            return 0;
        if (rc < 0)
            return orf_fail(e, "io_error", "reading requests: %s", strerror(errno));
        r->line++;
        if (too_long)
            return orf_fail(e, "bad_request", "line %ld is longer than %zu bytes", r->line, r->max_line),
                   1;
        char *s = r->buf;
        while (*s && isspace((unsigned char)*s))
            s++;
        char *end = s + strlen(s);
        while (end > s && isspace((unsigned char)end[-1]))
            *--end = 0;
        if (!*s && !r->nul)
            continue; /* blank line */
        /* what would come out of the record wrong is refused here: a NUL
         * byte (the line would be cut), bytes that are not UTF-8 (the record
         * would not be JSON) */
        if (r->nul)
            return orf_fail(e, "bad_request", "line %ld holds a NUL byte: not a request", r->line), 1;
        const unsigned char *bad = bad_utf8((const unsigned char *)s, (size_t)(end - s));
        if (bad)
            return orf_fail(e, "bad_request",
                            "line %ld is not UTF-8 (byte %ld is 0x%02x): not a request", r->line,
                            (long)(bad - (const unsigned char *)s) + 1, *bad),
                   1;
        const char *parse_end = NULL;
        cJSON *v = cJSON_ParseWithOpts(s, &parse_end, 1);
        if (v) {
            const char *esc = bad_escape(s), *dup = NULL;
            if (esc) {
                cJSON_Delete(v);
                return orf_fail(e, "bad_request",
                                "line %ld: the escape %.6s does not stand for a character a "
                                "request can hold",
                                r->line, esc),
                       1;
            }
            if ((dup = duplicate_name(v, 0))) {
                orf_fail(e, "bad_request", "line %ld: the field \"%.80s\" is given twice", r->line,
                         dup);
                cJSON_Delete(v);
                return 1;
            }
            if (cJSON_IsObject(v)) {
                *req = v;
                return 1;
            }
            const char *kind = json_kind(v);
            cJSON_Delete(v);
            orf_fail(e, "bad_request", "line %ld: a request must be a JSON object or a path, not %s",
                     r->line, kind);
            return 1;
        }
        if (*s == '{' || *s == '[') {
            orf_fail(e, "bad_request", "line %ld: invalid JSON near byte %ld", r->line,
                     parse_end ? (long)(parse_end - s) + 1 : 1L);
            return 1;
        }
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, bare_field, s)) {
            cJSON_Delete(o);
            return orf_fail(e, "io_error", "out of memory reading line %ld", r->line);
        }
        *req = o;
        return 1;
    }
}

const char *ndjson_get_string(const cJSON *req, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void ndjson_set(cJSON *obj, const char *name, cJSON *item)
{
    if (!item)
        return;
    if (cJSON_GetObjectItemCaseSensitive(obj, name))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, name, item);
    else
        cJSON_AddItemToObject(obj, name, item);
}

cJSON *ndjson_error_record(const cJSON *req, long line, const orf_err *e)
{
    cJSON *rec = req ? cJSON_Duplicate(req, 1) : cJSON_CreateObject();
    if (!rec)
        return NULL;
    if (!req && line > 0)
        cJSON_AddNumberToObject(rec, "line", (double)line);
    cJSON *err = cJSON_CreateObject();
    cJSON_AddStringToObject(err, "code", e && e->code[0] ? e->code : "error");
    cJSON_AddStringToObject(err, "message", e && e->message[0] ? e->message : "unknown error");
    ndjson_set(rec, "error", err);
    return rec;
}

int ndjson_write(FILE *out, const cJSON *rec)
{
    char *s = cJSON_PrintUnformatted(rec);
    if (!s) {
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    if (fputs(s, out) == EOF || putc('\n', out) == EOF || fflush(out) == EOF)
        rc = -1;
    free(s);
    return rc;
}
