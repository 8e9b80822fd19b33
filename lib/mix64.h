/* mix64.h - the 64-bit finaliser of MurmurHash3 (fmix64): a bijection that
 * spreads every input bit over every output bit, for hash tables of cells
 * and vertices (intersect.c, topology.c). */
#ifndef ORFEAS_MIX64_H
#define ORFEAS_MIX64_H

#include <stdint.h>

static inline uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

#endif
