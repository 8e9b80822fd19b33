/* strset.h - a set of strings, each with a 64-bit owner: open addressing,
 * FNV-1a, doubling at half full. Not locked: a caller shared by threads
 * holds its own lock around every call. Used for the output names of a run
 * (outfiles.c) and the rough records a run has refined (runner.c). */
#ifndef ORFEAS_STRSET_H
#define ORFEAS_STRSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct strset strset;

/* NULL when out of memory. */
strset *strset_new(void);
void strset_free(strset *s);

/* Add `name` with `owner` when absent. Returns 1 when it was added, 0 when
 * it was there (*owner_out, when not NULL, gets the owner either way), -1
 * when memory runs out. */
int strset_add(strset *s, const char *name, uint64_t owner, uint64_t *owner_out);

/* FNV-1a of a string, the set's hash. */
uint64_t strset_hash(const char *str);

/* 1 when `name` is in the set. */
int strset_has(const strset *s, const char *name);

#endif
