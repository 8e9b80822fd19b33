/* strset.c - a set of strings with an owner each (see strset.h). */
#include "strset.h"

#include <stdlib.h>
#include <string.h>

typedef struct slot {
    char *name;
    uint64_t owner;
} slot;

struct strset {
    slot *slots;
    size_t cap, used; /* cap a power of two */
};

uint64_t strset_hash(const char *str)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *str; str++)
        h = (h ^ (unsigned char)*str) * 1099511628211ull;
    return h;
}

strset *strset_new(void)
{
    strset *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cap = 64;
    s->slots = calloc(s->cap, sizeof *s->slots);
    if (!s->slots) {
        free(s);
        return NULL;
    }
    return s;
}

void strset_free(strset *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i].name);
    free(s->slots);
    free(s);
}

static slot *find(const strset *s, const char *name)
{
    size_t i = (size_t)strset_hash(name) & (s->cap - 1);
    while (s->slots[i].name && strcmp(s->slots[i].name, name) != 0)
        i = (i + 1) & (s->cap - 1);
    return &s->slots[i];
}

int strset_has(const strset *s, const char *name)
{
    return find(s, name)->name != NULL;
}

int strset_add(strset *s, const char *name, uint64_t owner, uint64_t *owner_out)
{
    slot *x = find(s, name);
    if (x->name) {
        if (owner_out)
            *owner_out = x->owner;
        return 0;
    }
    if (2 * (s->used + 1) > s->cap) {
        slot *old = s->slots;
        size_t oldcap = s->cap;
        slot *n = calloc(2 * oldcap, sizeof *n);
        if (!n)
            return -1;
        s->slots = n;
        s->cap = 2 * oldcap;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].name)
                *find(s, old[i].name) = old[i];
        free(old);
        x = find(s, name);
    }
    x->name = strdup(name);
    if (!x->name)
        return -1;
    x->owner = owner;
    s->used++;
    if (owner_out)
        *owner_out = owner;
    return 1;
}
