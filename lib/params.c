/* params.c - the parameter tables of mesh-gen and mesh-refine, and the one
 * parser, range check and canonical form every flag, request field and
 * cache key goes through (see params.h). */
#include "params.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decimate.h"
#include "field.h"
#include "gen.h"
#include "imageio.h"
#include "mask.h"
#include "meshio.h"
#include "refine.h"
#include "repair.h"
#include "smooth.h"
#include "units.h"

#define OFF(f) offsetof(stage_opts, f)

static const char *const mode_names[] = {"auto", "inflate", "extrude", "relief", NULL};
static const int mode_values[] = {GEN_MODE_AUTO, FIELD_INFLATE, FIELD_EXTRUDE, FIELD_RELIEF};
static const char *const mask_names[] = {"auto", "alpha", "border", "luma", NULL};
static const int mask_values[] = {MASK_AUTO, MASK_ALPHA, MASK_BORDER, MASK_LUMA};
static const char *const back_names[] = {"mirror", "flat", NULL};
static const int back_values[] = {FIELD_BACK_MIRROR, FIELD_BACK_FLAT};
static const char *const format_names[] = {"glb", "obj", "ply", "stl", NULL};
static const int format_values[] = {MESH_FMT_GLB, MESH_FMT_OBJ, MESH_FMT_PLY, MESH_FMT_STL};
static const char *const stage_names[] = {"refined", "final", NULL};
static const int stage_values[] = {REFINE_REFINED, REFINE_FINAL};
static const char *const backend_names[] = {"auto", "cpu", "cuda", NULL};
static const int backend_values[] = {0, 1, 2};

#define CHOICE(n) n##_names, n##_values

/* Rows both programs have, with the same meaning. */
#define ROW_FORMAT                                                                                \
    {"format", 'f', PARAM_CHOICE, 0, 0, "glb", CHOICE(format),                                    \
     PARAM_KEY_GEN | PARAM_KEY_REFINED | PARAM_KEY_FINAL, NULL, PARAM_SHARED, OFF(format), 0,     \
     "FMT", "glb, obj, ply, stl"}
#define ROW_OUT                                                                                   \
    {"out", 'o', PARAM_TEXT, 0, 0, NULL, NULL, NULL, 0, NULL, PARAM_SHARED, OFF(out), 0, "DIR",   \
     NULL}
#define ROW_NO_CACHE                                                                              \
    {"no_cache", 0, PARAM_BOOL, 0, 0, "false", NULL, NULL, 0, NULL, PARAM_SHARED, OFF(no_cache),  \
     0, NULL, "do not look results up in the cache (they are still stored)"}
#define ROW_BACKEND                                                                               \
    {"backend", 0, PARAM_CHOICE, 0, 0, "auto", CHOICE(backend), 0, NULL, PARAM_SHARED,            \
     OFF(backend), 0, "B", "auto, cpu, cuda: where meshes are cut (else $ORFEAS_BACKEND)"}

static const param_def gen_rows[] = {
    {"mode", 'm', PARAM_CHOICE, 0, 0, "auto", CHOICE(mode), PARAM_KEY_GEN, NULL, 0, OFF(mode), 0,
     "MODE", "auto, inflate, extrude, relief"},
    {"mask", 0, PARAM_CHOICE, 0, 0, "auto", CHOICE(mask), PARAM_KEY_GEN, NULL, 0, OFF(mask), 0,
     "METHOD", "auto, alpha, border, luma"},
    {"depth", 'd', PARAM_REAL, 0.001, 100, "1", NULL, NULL, PARAM_KEY_GEN, NULL, 0, OFF(depth), 0,
     "X", "inflate: 1 makes a disc a sphere; relief: height factor"},
    {"back", 0, PARAM_CHOICE, 0, 0, "mirror", CHOICE(back), PARAM_KEY_GEN, NULL, 0, OFF(back), 0,
     "SIDE", "mirror or flat"},
    {"thickness", 0, PARAM_REAL, 0.0001, 10, "0.1", NULL, NULL, PARAM_KEY_GEN, NULL, 0,
     OFF(thickness), 0, "X", "extrude: slab thickness, model units"},
    {"invert", 0, PARAM_BOOL, 0, 0, "false", NULL, NULL, PARAM_KEY_GEN, NULL, 0, OFF(invert), 0,
     NULL, "relief: dark is high"},
    {"base", 0, PARAM_REAL, 0, 10, "0.02", NULL, NULL, PARAM_KEY_GEN, NULL, 0, OFF(base), 0, "X",
     "relief: base plate thickness, model units"},
    {"voxel_resolution", 0, PARAM_GRIDS, 4, 1024, "32", NULL, NULL, 0, NULL, 0, OFF(grid), 0, "N",
     "cells along the longer side at the voxel stage"},
    {"rough_resolution", 0, PARAM_GRIDS, 4, 1024, "96", NULL, NULL, 0, NULL, 0, OFF(grid), 1, "N",
     "cells along the longer side at the rough stage"},
    {"resolution", 0, PARAM_GRIDS, 4, 1024, NULL, NULL, NULL, PARAM_KEY_GEN, NULL, 0, OFF(grid), -1,
     "N", "both stages at once (a request may give {\"voxel\":N,\"rough\":N})"},
    {"progressive", 'p', PARAM_BOOL, 0, 0, "false", NULL, NULL, 0, NULL, 0, OFF(progressive), 0,
     NULL, "all four stages: voxel, rough, refined, final"},
    ROW_BACKEND,
    ROW_FORMAT,
    ROW_OUT,
    ROW_NO_CACHE,
    {"max_pixels", 0, PARAM_COUNT, 1, 1e15, "64M", NULL, NULL, 0, NULL, 0, OFF(max_pixels), 0, "N",
     "refuse larger images before decoding (K, M, G: powers of 1024)"},
};

static const param_def refine_rows[] = {
    {"stage", 0, PARAM_CHOICE, 0, 0, "final", CHOICE(stage), 0, NULL, PARAM_NOT_RECORDS, OFF(stage), 0, "S",
     "refined or final (final emits refined first)"},
    {"resolution", 0, PARAM_INT, 8, 2048, "256", NULL, NULL, PARAM_KEY_FINAL, NULL, 0,
     OFF(grid_final), 0, "N", "final-stage grid, cells along the longer side"},
    {"refined_resolution", 0, PARAM_INT, 8, 2048, "192", NULL, NULL, PARAM_KEY_REFINED,
     "resolution", 0, OFF(grid_refined), 0, "N", "refined-stage grid"},
    {"smooth", 0, PARAM_INT, 0, 1000, "10", NULL, NULL, PARAM_KEY_REFINED | PARAM_KEY_FINAL, NULL,
     0, OFF(smooth), 0, "N", "Taubin iterations, 0 for none"},
    {"max_triangles", 0, PARAM_COUNT, 0, 4e9, "50000", NULL, NULL, PARAM_KEY_FINAL, NULL, 0,
     OFF(max_triangles), 0, "N", "final triangle budget (0: only --max-error)"},
    {"max_error", 0, PARAM_REAL, 0, 1e6, "0", NULL, NULL, PARAM_KEY_FINAL, NULL, 0, OFF(max_error),
     0, "E", "final decimation error bound, model units (0: none)"},
    ROW_BACKEND,
    ROW_FORMAT,
    ROW_OUT,
    {"fill_holes", 0, PARAM_COUNT, 0, 4e9, "0", NULL, NULL, PARAM_KEY_REFINED | PARAM_KEY_FINAL,
     NULL, 0, OFF(fill_holes), 0, "N", "fill holes of at most N boundary edges (0: none)"},
    {"weld", 0, PARAM_REAL, 0, 1e6, "0", NULL, NULL, PARAM_KEY_REFINED | PARAM_KEY_FINAL, NULL, 0,
     OFF(weld), 0, "TOL", "weld vertices closer than TOL (0: exact)"},
    {"floaters", 0, PARAM_REAL, 0, 0.999, "0.005", NULL, NULL, PARAM_KEY_REFINED | PARAM_KEY_FINAL,
     NULL, 0, OFF(floaters), 0, "SHARE", "drop pieces under SHARE of the triangles"},
    {"max_triangles_in", 0, PARAM_COUNT, 0, 4e9, "0", NULL, NULL, 0, NULL, 0, OFF(max_triangles_in),
     0, "N", "refuse input meshes over N triangles (0: no limit)"},
    ROW_NO_CACHE,
};

const param_table params_mesh_gen = {"mesh-gen", gen_rows, sizeof gen_rows / sizeof gen_rows[0]};
const param_table params_mesh_refine = {"mesh-refine", refine_rows,
                                        sizeof refine_rows / sizeof refine_rows[0]};

const param_table *params_table(const char *program)
{
    if (program && strcmp(program, "mesh-gen") == 0)
        return &params_mesh_gen;
    if (program && strcmp(program, "mesh-refine") == 0)
        return &params_mesh_refine;
    return NULL;
}

/* `a` names row `name` when equal with '-' and '_' alike. */
static int same_name(const char *a, const char *name)
{
    for (; *a && *name; a++, name++)
        if (*a != *name && !((*a == '-' || *a == '_') && *name == '_'))
            return 0;
    return *a == *name;
}

const param_def *params_find(const param_table *t, const char *name)
{
    for (size_t i = 0; name && i < t->nrows; i++)
        if (same_name(name, t->rows[i].name))
            return &t->rows[i];
    return NULL;
}

const char *params_choice_name(const param_def *d, int v)
{
    for (int i = 0; d->choices && d->choices[i]; i++)
        if (d->values[i] == v)
            return d->choices[i];
    return "";
}

double params_canonical_real(float v)
{
    char s[40];
    for (int p = 1; p <= 9; p++) {
        snprintf(s, sizeof s, "%.*g", p, (double)v);
        if (strtof(s, NULL) == v)
            break;
    }
    return strtod(s, NULL);
}

/* The name a message uses: the field as the user wrote it. */
static void fmt_range(const param_def *d, char *buf, size_t n)
{
    switch (d->type) {
    case PARAM_CHOICE: {
        size_t k = 0;
        buf[0] = 0;
        for (int i = 0; d->choices[i] && k < n; i++)
            k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "one of ", d->choices[i]);
        break;
    }
    case PARAM_INT:
    case PARAM_COUNT:
    case PARAM_GRIDS: snprintf(buf, n, "a whole number in %.0f..%.0f", d->lo, d->hi); break;
    case PARAM_REAL: snprintf(buf, n, "a number in %g..%g", d->lo, d->hi); break;
    case PARAM_BOOL: snprintf(buf, n, "true or false"); break;
    case PARAM_TEXT: snprintf(buf, n, "a non-empty string"); break;
    }
}

static int bad(const param_def *d, const char *given, orf_err *e)
{
    char want[160];
    fmt_range(d, want, sizeof want);
    if (d->type == PARAM_GRIDS && d->part < 0)
        return orf_fail(e, "bad_request", "%s must be %s or {\"voxel\": N, \"rough\": N}, not %s",
                        d->name, want, given);
    return orf_fail(e, "bad_request", "%s must be %s, not %s", d->name, want, given);
}

/* Store a checked number into row d's slot. */
static int store_number(const param_def *d, double v, const char *given, int part, stage_opts *o,
                        orf_err *e)
{
    char *base = (char *)o + d->offset;
    if (!isfinite(v) || v < d->lo || v > d->hi)
        return bad(d, given, e);
    switch (d->type) {
    case PARAM_INT:
        if (v != floor(v))
            return bad(d, given, e);
        *(int *)base = (int)v;
        return 0;
    case PARAM_COUNT:
        if (v != floor(v))
            return bad(d, given, e);
        *(uint64_t *)base = (uint64_t)v;
        return 0;
    case PARAM_REAL:
        *(float *)base = (float)v;
        return 0;
    case PARAM_GRIDS:
        if (v != floor(v))
            return bad(d, given, e);
        if (part <= 0)
            ((int *)base)[0] = (int)v;
        if (part != 0)
            ((int *)base)[1] = (int)v;
        return 0;
    default: return bad(d, given, e);
    }
}

static int set_choice(const param_def *d, const char *s, stage_opts *o, orf_err *e)
{
    for (int i = 0; d->choices[i]; i++)
        if (strcasecmp(s, d->choices[i]) == 0) {
            *(int *)((char *)o + d->offset) = d->values[i];
            return 0;
        }
    char given[120];
    snprintf(given, sizeof given, "\"%.100s\"", s);
    return bad(d, given, e);
}

int params_set_text(const param_def *d, const char *text, stage_opts *o, orf_err *e)
{
    char given[120];
    snprintf(given, sizeof given, "'%.100s'", text ? text : "");
    switch (d->type) {
    case PARAM_CHOICE: return set_choice(d, text ? text : "", o, e);
    case PARAM_BOOL:
        if (!text || !strcasecmp(text, "true") || !strcmp(text, "1") || !strcasecmp(text, "yes"))
            *(int *)((char *)o + d->offset) = 1;
        else if (!strcasecmp(text, "false") || !strcmp(text, "0") || !strcasecmp(text, "no"))
            *(int *)((char *)o + d->offset) = 0;
        else
            return bad(d, given, e);
        return 0;
    case PARAM_TEXT:
        if (!text || !*text)
            return bad(d, "an empty string", e);
        *(const char **)((char *)o + d->offset) = text;
        return 0;
    case PARAM_COUNT: {
        uint64_t v;
        orf_err pe;
        if (units_parse_size(text, &v, &pe) < 0)
            return bad(d, given, e);
        return store_number(d, (double)v, given, 0, o, e);
    }
    default: {
        if (!text || !*text || isspace((unsigned char)*text))
            return bad(d, given, e);
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (errno || *end)
            return bad(d, given, e);
        return store_number(d, v, given, d->part, o, e);
    }
    }
}

void params_defaults(stage_opts *o)
{
    memset(o, 0, sizeof *o);
    const param_table *tables[] = {&params_mesh_gen, &params_mesh_refine};
    for (size_t t = 0; t < 2; t++)
        for (size_t i = 0; i < tables[t]->nrows; i++)
            if (tables[t]->rows[i].def)
                params_set_text(&tables[t]->rows[i], tables[t]->rows[i].def, o, NULL);
}

/* A JSON value as a user would recognise it in a message. */
static void json_given(const cJSON *v, char *buf, size_t n)
{
    char *s = cJSON_PrintUnformatted(v);
    snprintf(buf, n, "%.100s%s", s ? s : "?", s && strlen(s) > 100 ? "..." : "");
    free(s);
}

static int apply_value(const param_def *d, const cJSON *v, stage_opts *o, orf_err *e)
{
    char given[120];
    json_given(v, given, sizeof given);
    switch (d->type) {
    case PARAM_CHOICE:
        if (!cJSON_IsString(v))
            return bad(d, given, e);
        return set_choice(d, v->valuestring, o, e);
    case PARAM_BOOL:
        if (!cJSON_IsBool(v))
            return bad(d, given, e);
        *(int *)((char *)o + d->offset) = cJSON_IsTrue(v);
        return 0;
    case PARAM_TEXT:
        if (!cJSON_IsString(v) || !v->valuestring[0])
            return bad(d, given, e);
        *(const char **)((char *)o + d->offset) = v->valuestring;
        return 0;
    case PARAM_GRIDS:
        if (cJSON_IsObject(v) && d->part < 0) {
            const cJSON *c;
            cJSON_ArrayForEach(c, v)
            {
                int part = strcmp(c->string, "voxel") == 0 ? 0 : strcmp(c->string, "rough") == 0 ? 1 : -1;
                if (part < 0)
                    return orf_fail(e, "bad_request", "%s has no stage \"%.60s\" (voxel, rough)",
                                    d->name, c->string);
                json_given(c, given, sizeof given);
                if (!cJSON_IsNumber(c) || store_number(d, c->valuedouble, given, part, o, e) < 0)
                    return orf_fail(e, "bad_request", "%s.%s must be a whole number in %.0f..%.0f, not %s",
                                    d->name, c->string, d->lo, d->hi, given);
            }
            return 0;
        }
        __attribute__((fallthrough)); /* a number for both stages */
    default:
        if (!cJSON_IsNumber(v))
            return bad(d, given, e);
        return store_number(d, v->valuedouble, given, d->part, o, e);
    }
}

int params_apply(const param_table *t, const cJSON *req, const param_table *skip, stage_opts *o,
                 orf_err *e)
{
    for (size_t i = 0; i < t->nrows; i++) {
        const param_def *d = &t->rows[i];
        if ((d->flags & PARAM_FLAG_ONLY) ||
            (skip && (d->flags & PARAM_NOT_RECORDS)) ||
            (skip && !(d->flags & PARAM_SHARED) && params_find(skip, d->name)))
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, d->name);
        if (v && apply_value(d, v, o, e) < 0)
            return -1;
    }
    return 0;
}

cJSON *params_key_object(const param_table *t, unsigned key, const stage_opts *o)
{
    cJSON *k = cJSON_CreateObject();
    if (!k)
        return NULL;
    for (size_t i = 0; i < t->nrows; i++) {
        const param_def *d = &t->rows[i];
        if (!(d->keys & key))
            continue;
        const char *name = d->key_name ? d->key_name : d->name;
        const char *base = (const char *)o + d->offset;
        cJSON *v = NULL;
        switch (d->type) {
        case PARAM_CHOICE: v = cJSON_CreateString(params_choice_name(d, *(const int *)base)); break;
        case PARAM_INT: v = cJSON_CreateNumber(*(const int *)base); break;
        case PARAM_COUNT: v = cJSON_CreateNumber((double)*(const uint64_t *)base); break;
        case PARAM_REAL: v = cJSON_CreateNumber(params_canonical_real(*(const float *)base)); break;
        case PARAM_BOOL: v = cJSON_CreateBool(*(const int *)base); break;
        case PARAM_TEXT: v = cJSON_CreateString(*(const char *const *)base); break;
        case PARAM_GRIDS:
            v = cJSON_CreateObject();
            cJSON_AddNumberToObject(v, "voxel", ((const int *)base)[0]);
            cJSON_AddNumberToObject(v, "rough", ((const int *)base)[1]);
            break;
        }
        if (!v) {
            cJSON_Delete(k);
            return NULL;
        }
        cJSON_AddItemToObject(k, name, v);
    }
    return k;
}

char *params_help(const param_table *t)
{
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    s[0] = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        const param_def *d = &t->rows[i];
        if (!d->help)
            continue;
        char flag[64], line[400];
        int k = snprintf(flag, sizeof flag, "%c%c%s--", d->short_flag ? '-' : ' ',
                         d->short_flag ? d->short_flag : ' ', d->short_flag ? ", " : "  ");
        for (const char *p = d->name; *p && k < (int)sizeof flag - 1; p++)
            flag[k++] = *p == '_' ? '-' : *p;
        flag[k] = 0;
        if (d->arg)
            snprintf(flag + k, sizeof flag - (size_t)k, " %s", d->arg);
        if (d->def && d->type != PARAM_BOOL)
            snprintf(line, sizeof line, "  %-24s %s (%s)\n", flag, d->help, d->def);
        else
            snprintf(line, sizeof line, "  %-24s %s\n", flag, d->help);
        size_t l = strlen(line);
        if (n + l + 1 > cap) {
            char *p = realloc(s, cap *= 2);
            if (!p) {
                free(s);
                return NULL;
            }
            s = p;
        }
        memcpy(s + n, line, l + 1);
        n += l;
    }
    return s;
}
