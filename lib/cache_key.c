/* cache_key.c - canonical JSON and request keys. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cache_internal.h"
#include "ndjson.h"
#include "version.h"

typedef struct buf {
    char *p;
    size_t n, cap;
    int oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->n + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_string(buf *b, const char *s)
{
    put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(b, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            put(b, esc, 6);
        } else {
            put(b, (const char *)p, 1);
        }
    }
    put(b, "\"", 1);
}

static void put_number(buf *b, double v)
{
    char s[40];
    if (!isfinite(v))
        snprintf(s, sizeof s, "null"); /* JSON has no such number */
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        snprintf(s, sizeof s, "%lld", (long long)v); /* also turns -0 into 0 */
    else
        for (int p = 15; p <= 17; p++) { /* the shortest form that reads back as v */
            snprintf(s, sizeof s, "%.*g", p, v);
            if (strtod(s, NULL) == v)
                break;
        }
    puts_(b, s);
}

static int cmp_names(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

static void put_value(buf *b, const cJSON *v, int depth)
{
    if (depth > 200) { /* cJSON itself refuses deeper input */
        b->oom = 1;
        return;
    }
    if (cJSON_IsObject(v)) {
        size_t n = 0;
        for (const cJSON *m = v->child; m; m = m->next)
            n++;
        const cJSON **items = malloc((n ? n : 1) * sizeof *items);
        if (!items) {
            b->oom = 1;
            return;
        }
        n = 0;
        for (const cJSON *m = v->child; m; m = m->next)
            items[n++] = m;
        qsort(items, n, sizeof *items, cmp_names);
        put(b, "{", 1);
        for (size_t i = 0; i < n; i++) {
            if (i)
                put(b, ",", 1);
            put_string(b, items[i]->string ? items[i]->string : "");
            put(b, ":", 1);
            put_value(b, items[i], depth + 1);
        }
        put(b, "}", 1);
        free(items);
    } else if (cJSON_IsArray(v)) {
        put(b, "[", 1);
        for (const cJSON *m = v->child; m; m = m->next) {
            if (m != v->child)
                put(b, ",", 1);
            put_value(b, m, depth + 1);
        }
        put(b, "]", 1);
    } else if (cJSON_IsString(v)) {
        put_string(b, v->valuestring ? v->valuestring : "");
    } else if (cJSON_IsNumber(v)) {
        put_number(b, v->valuedouble);
    } else if (cJSON_IsTrue(v)) {
        puts_(b, "true");
    } else if (cJSON_IsFalse(v)) {
        puts_(b, "false");
    } else {
        puts_(b, "null");
    }
}

char *cache_canonical_json(const cJSON *v)
{
    buf b = {0};
    put_value(&b, v, 0);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

void cache_request_key(const char *program, const cJSON *params, const char *input_hash, char key[65])
{
    /* {"input":...,"params":...,"program":...,"version":...}: already in order. */
    buf b = {0};
    puts_(&b, "{\"input\":");
    put_string(&b, input_hash ? input_hash : "");
    puts_(&b, ",\"params\":");
    if (params)
        put_value(&b, params, 0);
    else
        puts_(&b, "{}");
    puts_(&b, ",\"program\":");
    put_string(&b, program ? program : "");
    puts_(&b, ",\"version\":");
    put_string(&b, ORFEAS_VERSION);
    puts_(&b, "}");
    if (b.oom) {
        /* Out of memory: a key nobody else can produce, so it only misses. */
        memset(key, '0', 64);
        key[64] = 0;
    } else {
        cache_hash(b.p, b.n, key);
    }
    free(b.p);
}
