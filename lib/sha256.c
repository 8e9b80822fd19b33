/* sha256.c - SHA-256 with the x86 SHA extensions, libsodium otherwise.
 * The SHA-NI block function follows the well-known Intel structure (Gulley
 * et al., "Intel SHA Extensions", 2013; the public-domain sha256-x86.c):
 * the state kept as ABEF/CDGH, two rounds per sha256rnds2, the schedule
 * computed four words at a time with sha256msg1/sha256msg2. */
#include "sha256.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SHA256_HAVE_NI 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define SHA256_HAVE_NI 0
#endif

/* ---- libsodium -------------------------------------------------------------- */

void sha256_portable_init(crypto_hash_sha256_state *s)
{
    crypto_hash_sha256_init(s);
}

void sha256_portable_update(crypto_hash_sha256_state *s, const void *data, size_t n)
{
    if (n)
        crypto_hash_sha256_update(s, data, (unsigned long long)n);
}

void sha256_portable_final(crypto_hash_sha256_state *s, uint8_t out[SHA256_BYTES])
{
    crypto_hash_sha256_final(s, out);
}

/* ---- SHA-NI ------------------------------------------------------------------ */

static const uint32_t sha256_iv[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#if SHA256_HAVE_NI

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define SHA256_NI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* Four rounds (group i of 16) on message words mc = W[4i..4i+3]. Along the
 * way, from group 3 on, finish the schedule of the next group (mn, with
 * sha256msg2) and, through group 12, start the one after (mp, sha256msg1).
 * mp holds W[4i-4..4i-1] until that msg1. i is a constant: the ifs fold. */
#define SHA256_NI_GROUP(i, mc, mn, mp)                                                   \
    do {                                                                                 \
        __m128i m_ = _mm_add_epi32(mc, _mm_loadu_si128((const __m128i *)&sha256_k[4 * (i)])); \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, m_);                                    \
        if ((i) >= 3 && (i) <= 14) {                                                     \
            mn = _mm_add_epi32(mn, _mm_alignr_epi8(mc, mp, 4));                          \
            mn = _mm_sha256msg2_epu32(mn, mc);                                           \
        }                                                                                \
        m_ = _mm_shuffle_epi32(m_, 0x0E);                                                \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, m_);                                    \
        if ((i) >= 1 && (i) <= 12)                                                       \
            mp = _mm_sha256msg1_epu32(mp, mc);                                           \
    } while (0)

/* Compress nblocks 64-byte blocks at p into h[8] (the usual a..h order). */
SHA256_NI_TARGET
static void sha256_ni_blocks(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i dcba = _mm_loadu_si128((const __m128i *)&h[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&h[4]);
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);

    for (; nblocks > 0; nblocks--, p += 64) {
        const __m128i abef_in = abef, cdgh_in = cdgh;
        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap);
        __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
        __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
        __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);
        SHA256_NI_GROUP(0, m0, m1, m3);
        SHA256_NI_GROUP(1, m1, m2, m0);
        SHA256_NI_GROUP(2, m2, m3, m1);
        SHA256_NI_GROUP(3, m3, m0, m2);
        SHA256_NI_GROUP(4, m0, m1, m3);
        SHA256_NI_GROUP(5, m1, m2, m0);
        SHA256_NI_GROUP(6, m2, m3, m1);
        SHA256_NI_GROUP(7, m3, m0, m2);
        SHA256_NI_GROUP(8, m0, m1, m3);
        SHA256_NI_GROUP(9, m1, m2, m0);
        SHA256_NI_GROUP(10, m2, m3, m1);
        SHA256_NI_GROUP(11, m3, m0, m2);
        SHA256_NI_GROUP(12, m0, m1, m3);
        SHA256_NI_GROUP(13, m1, m2, m0);
        SHA256_NI_GROUP(14, m2, m3, m1);
        SHA256_NI_GROUP(15, m3, m0, m2);
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }

    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    dcba = _mm_blend_epi16(feba, dchg, 0xF0);
    hgfe = _mm_alignr_epi8(dchg, feba, 8);
    _mm_storeu_si128((__m128i *)&h[0], dcba);
    _mm_storeu_si128((__m128i *)&h[4], hgfe);
}

/* CPUID: leaf 1 ECX bit 9 SSSE3, bit 19 SSE4.1; leaf 7 EBX bit 29 SHA.
 * (clang 14's __builtin_cpu_supports does not know "sha", so ask directly.) */
static int cpu_has_sha_ni(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    if (!(c & (1u << 9)) || !(c & (1u << 19)))
        return 0;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 29) & 1u;
}

#else /* no SHA-NI code in this build */

static void sha256_ni_blocks(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
    (void)h, (void)p, (void)nblocks;
    abort(); /* unreachable: sha256_ni_available() is 0 */
}

static int cpu_has_sha_ni(void)
{
    return 0;
}

#endif

int sha256_ni_available(void)
{
    static atomic_int known = -1;
    int v = atomic_load_explicit(&known, memory_order_relaxed);
    if (v < 0) {
        v = cpu_has_sha_ni();
        atomic_store_explicit(&known, v, memory_order_relaxed);
    }
    return v;
}

void sha256_ni_init(sha256_ni_state *s)
{
    memcpy(s->h, sha256_iv, sizeof s->h);
    s->bytes = 0;
}

void sha256_ni_update(sha256_ni_state *s, const void *data, size_t n)
{
    if (n == 0)
        return; /* data may be NULL */
    const uint8_t *p = data;
    size_t have = (size_t)(s->bytes & 63);
    s->bytes += n;
    if (have) {
        size_t take = 64 - have < n ? 64 - have : n;
        memcpy(s->buf + have, p, take);
        p += take;
        n -= take;
        if (have + take < 64)
            return;
        sha256_ni_blocks(s->h, s->buf, 1);
    }
    if (n >= 64) {
        sha256_ni_blocks(s->h, p, n / 64);
        p += n & ~(size_t)63;
        n &= 63;
    }
    if (n)
        memcpy(s->buf, p, n);
}

void sha256_ni_final(sha256_ni_state *s, uint8_t out[SHA256_BYTES])
{
    size_t have = (size_t)(s->bytes & 63);
    uint64_t bits = s->bytes * 8;
    s->buf[have++] = 0x80;
    if (have > 56) {
        memset(s->buf + have, 0, 64 - have);
        sha256_ni_blocks(s->h, s->buf, 1);
        have = 0;
    }
    memset(s->buf + have, 0, 56 - have);
    for (int i = 0; i < 8; i++)
        s->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_ni_blocks(s->h, s->buf, 1);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
    sodium_memzero(s, sizeof *s);
}

/* ---- the choice -------------------------------------------------------------- */

/* Once per process: ORFEAS_SHA256=portable forces libsodium; else SHA-NI
 * when the CPU has it. Threads racing here compute the same answer. */
static int sha256_impl(void)
{
    static atomic_int chosen = -1;
    int v = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (v < 0) {
        /* Hashing needs no sodium_init, but libsodium asks for it before any call;
         * it is idempotent and thread-safe, and its failure cannot affect hashing. */
        if (sodium_init() < 0) {
            /* nothing to do: crypto_hash_sha256 works all the same */
        }
        const char *env = getenv("ORFEAS_SHA256");
        int portable = env && strcmp(env, "portable") == 0;
        v = !portable && sha256_ni_available() ? SHA256_IMPL_NI : SHA256_IMPL_PORTABLE;
        atomic_store_explicit(&chosen, v, memory_order_relaxed);
    }
    return v;
}

const char *sha256_impl_name(void)
{
    return sha256_impl() == SHA256_IMPL_NI ? "sha-ni" : "libsodium";
}

void sha256_init(sha256_state *s)
{
    s->impl = sha256_impl();
    if (s->impl == SHA256_IMPL_NI)
        sha256_ni_init(&s->u.ni);
    else
        sha256_portable_init(&s->u.portable);
}

void sha256_update(sha256_state *s, const void *data, size_t n)
{
    if (s->impl == SHA256_IMPL_NI)
        sha256_ni_update(&s->u.ni, data, n);
    else
        sha256_portable_update(&s->u.portable, data, n);
}

void sha256_final(sha256_state *s, uint8_t out[SHA256_BYTES])
{
    if (s->impl == SHA256_IMPL_NI)
        sha256_ni_final(&s->u.ni, out);
    else
        sha256_portable_final(&s->u.portable, out);
}

void sha256(const void *data, size_t n, uint8_t out[SHA256_BYTES])
{
    sha256_state s;
    sha256_init(&s);
    sha256_update(&s, data, n);
    sha256_final(&s, out);
}
