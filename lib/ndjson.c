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
    while ((c = getc(r->in)) != EOF) {
        got = 1;
        if (c == '\n')
            break;
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
        if (!*s)
            continue; /* blank line */
        const char *parse_end = NULL;
        cJSON *v = cJSON_ParseWithOpts(s, &parse_end, 1);
        if (v) {
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

static const char *type_name(ndjson_type t)
{
    switch (t) {
    case NDJSON_STRING: return "a string";
    case NDJSON_NUMBER: return "a number";
    case NDJSON_INTEGER: return "an integer";
    case NDJSON_BOOL: return "true or false";
    case NDJSON_OBJECT: return "an object";
    }
    return "?";
}

int ndjson_check_fields(const cJSON *req, const ndjson_field *fields, size_t nfields, orf_err *e)
{
    for (size_t i = 0; i < nfields; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, fields[i].name);
        if (!v)
            continue;
        int ok = 0;
        switch (fields[i].type) {
        case NDJSON_STRING: ok = cJSON_IsString(v); break;
        case NDJSON_NUMBER: ok = cJSON_IsNumber(v); break;
        case NDJSON_INTEGER: {
            /* a whole number a long long holds, tested without converting one
             * that it does not (1e300 to long long is undefined behaviour) */
            double d = v->valuedouble;
            ok = cJSON_IsNumber(v) && d >= -0x1p63 && d < 0x1p63 && d == floor(d);
            break;
        }
        case NDJSON_BOOL: ok = cJSON_IsBool(v); break;
        case NDJSON_OBJECT: ok = cJSON_IsObject(v); break;
        }
        if (!ok)
            return orf_fail(e, "bad_request", "field \"%s\" must be %s", fields[i].name,
                            type_name(fields[i].type));
    }
    return 0;
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
