/* sha256.h - SHA-256 (FIPS 180-4), one-shot and streaming, for every cache hash.
 *
 * Two implementations behind one API, chosen once per process:
 *   - "sha-ni": the x86 SHA extensions (sha256rnds2, sha256msg1/2), in
 *     functions compiled for that instruction set only, so the rest of the
 *     build stays generic x86-64. Picked when CPUID says the CPU has SHA,
 *     SSSE3 and SSE4.1 (valgrind's emulated CPU says it has not).
 *   - "libsodium": crypto_hash_sha256, portable C. Everywhere else, on any
 *     non-x86-64 build, and whenever the environment has
 *     ORFEAS_SHA256=portable (read once, at the first hash).
 * Both give the same 32 bytes for the same input; only the speed differs.
 *
 *   uint8_t h[SHA256_BYTES];
 *   sha256(data, n, h);                       // one shot
 *
 *   sha256_state s;                           // streaming; lives on the stack
 *   sha256_init(&s);
 *   sha256_update(&s, part1, n1);
 *   sha256_update(&s, part2, n2);
 *   sha256_final(&s, h);
 *
 * Thread safety: states are independent; the one-time choice is atomic.
 */
#ifndef ORFEAS_SHA256_H
#define ORFEAS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include <sodium/crypto_hash_sha256.h>

#define SHA256_BYTES 32

/* The state of the SHA-NI path: chaining value, bytes so far, partial block. */
typedef struct sha256_ni_state {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t buf[64];
} sha256_ni_state;

/* A streaming hash. Plain data, no heap: put it on the stack. `impl` is the
 * implementation sha256_init chose; a state keeps it to its final. */
typedef struct sha256_state {
    union {
        crypto_hash_sha256_state portable;
        sha256_ni_state ni;
    } u;
    int impl; /* SHA256_IMPL_PORTABLE or SHA256_IMPL_NI */
} sha256_state;

enum { SHA256_IMPL_PORTABLE = 0, SHA256_IMPL_NI = 1 };

/* Start a hash with the process's implementation. Never fails. */
void sha256_init(sha256_state *s);

/* Add n bytes (any n, 0 included; data may be NULL when n is 0). */
void sha256_update(sha256_state *s, const void *data, size_t n);

/* Finish: the 32-byte digest to out. The state is spent (init it again to reuse). */
void sha256_final(sha256_state *s, uint8_t out[SHA256_BYTES]);

/* One shot: the SHA-256 of n bytes at data into out. */
void sha256(const void *data, size_t n, uint8_t out[SHA256_BYTES]);

/* The implementation this process uses: "sha-ni" or "libsodium". Static string. */
const char *sha256_impl_name(void);

/* ---- internal: both implementations, called directly ---------------------
 * For tests and benchmarks that compare the two. Everything else calls the
 * functions above. sha256_ni_* may be called only when sha256_ni_available()
 * returns 1 (which ignores ORFEAS_SHA256: it asks the CPU only); on a build
 * without the SHA-NI code it returns 0. */
int sha256_ni_available(void);
void sha256_ni_init(sha256_ni_state *s);
void sha256_ni_update(sha256_ni_state *s, const void *data, size_t n);
void sha256_ni_final(sha256_ni_state *s, uint8_t out[SHA256_BYTES]);

void sha256_portable_init(crypto_hash_sha256_state *s);
void sha256_portable_update(crypto_hash_sha256_state *s, const void *data, size_t n);
void sha256_portable_final(crypto_hash_sha256_state *s, uint8_t out[SHA256_BYTES]);

#endif
