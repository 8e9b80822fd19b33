/* Unit tests for lib/sha256: the FIPS 180-2 vectors, then both implementations
 * (libsodium and SHA-NI) against libsodium's one-shot crypto_hash_sha256 on
 * random inputs of every length 0..300 and of about 1 MB, one shot and
 * streamed in random chunks; ORFEAS_SHA256=portable forces libsodium. The
 * SHA-NI comparisons are skipped on a CPU without the SHA extensions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "sha256.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(next_random() >> 32);
}

static void hex(const uint8_t h[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* The three ways to hash, by implementation: one shot, and streamed in
 * random chunks (0 to max_chunk bytes, zero-length updates included). */
enum { VIA_API, VIA_PORTABLE, VIA_NI };
static const char *const via_name[] = {"sha256()", "libsodium path", "SHA-NI path"};

static void hash_via(int via, const uint8_t *p, size_t n, size_t max_chunk, uint8_t out[32])
{
    sha256_state st;
    crypto_hash_sha256_state ps;
    sha256_ni_state ns;
    if (via == VIA_API && max_chunk == 0) {
        sha256(p, n, out);
        return;
    }
    if (via == VIA_API)
        sha256_init(&st);
    else if (via == VIA_PORTABLE)
        sha256_portable_init(&ps);
    else
        sha256_ni_init(&ns);
    size_t off = 0;
    while (off < n) {
        size_t c = max_chunk ? (size_t)(next_random() % (max_chunk + 1)) : n;
        if (c > n - off)
            c = n - off;
        if (via == VIA_API)
            sha256_update(&st, p + off, c);
        else if (via == VIA_PORTABLE)
            sha256_portable_update(&ps, p + off, c);
        else
            sha256_ni_update(&ns, p + off, c);
        off += c;
    }
    if (via == VIA_API)
        sha256_final(&st, out);
    else if (via == VIA_PORTABLE)
        sha256_portable_final(&ps, out);
    else
        sha256_ni_final(&ns, out);
}

static const char million_a_digest[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

static void fips_vectors(int via)
{
    static const struct { const char *in; const char *want; } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    uint8_t h[32];
    char x[65];
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        hash_via(via, (const uint8_t *)v[i].in, strlen(v[i].in), 0, h);
        hex(h, x);
        CHECK(strcmp(x, v[i].want) == 0, "%s: FIPS 180-2 \"%.12s%s\" (%zu bytes)", via_name[via], v[i].in,
              strlen(v[i].in) > 12 ? "..." : "", strlen(v[i].in));
    }
    /* Empty input with a NULL pointer, as a caller with nothing may pass. */
    hash_via(via, NULL, 0, 0, h);
    hex(h, x);
    CHECK(strcmp(x, v[0].want) == 0, "%s: empty input from a NULL pointer", via_name[via]);

    size_t n = 1000000;
    uint8_t *a = malloc(n);
    memset(a, 'a', n);
    hash_via(via, a, n, 0, h);
    hex(h, x);
    CHECK(strcmp(x, million_a_digest) == 0, "%s: FIPS 180-2 one million 'a', one shot", via_name[via]);
    hash_via(via, a, n, 1000, h);
    hex(h, x);
    CHECK(strcmp(x, million_a_digest) == 0, "%s: FIPS 180-2 one million 'a', in random chunks", via_name[via]);
    free(a);
}

/* Every length 0..300 and a few around 1 MB, against crypto_hash_sha256. */
static void against_libsodium(int via)
{
    uint8_t *buf = malloc((1 << 20) + 100);
    uint8_t want[32], got[32];
    int bad_len = -1;
    for (size_t len = 0; len <= 300 && bad_len < 0; len++) {
        fill_random(buf, len);
        crypto_hash_sha256(want, buf, len);
        hash_via(via, buf, len, 0, got);
        if (memcmp(want, got, 32) != 0)
            bad_len = (int)len;
        hash_via(via, buf, len, 70, got);
        if (memcmp(want, got, 32) != 0)
            bad_len = (int)len;
    }
    CHECK(bad_len < 0, "%s: random inputs of every length 0..300, one shot and streamed, equal libsodium%s",
          via_name[via], bad_len < 0 ? "" : " (a length differs)");
    if (bad_len >= 0)
        printf("# first length that differs: %d\n", bad_len);

    static const size_t big[] = {1 << 20, (1 << 20) + 1, (1 << 20) + 55, (1 << 20) + 56, (1 << 20) + 63,
                                 (1 << 20) + 100};
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
        fill_random(buf, big[i]);
        crypto_hash_sha256(want, buf, big[i]);
        hash_via(via, buf, big[i], 0, got);
        CHECK(memcmp(want, got, 32) == 0, "%s: random %zu bytes, one shot, equals libsodium", via_name[via], big[i]);
        hash_via(via, buf, big[i], 200000, got);
        CHECK(memcmp(want, got, 32) == 0, "%s: random %zu bytes in random chunks equal libsodium", via_name[via],
              big[i]);
    }
    free(buf);
}

/* ORFEAS_SHA256=portable: checked in a child process, before the parent's
 * first hash has made the once-per-process choice. */
static int portable_forced_in_child(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        setenv("ORFEAS_SHA256", "portable", 1);
        uint8_t h[32];
        char x[65];
        sha256("abc", 3, h);
        hex(h, x);
        int ok = strcmp(sha256_impl_name(), "libsodium") == 0 &&
                 strcmp(x, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0;
        _exit(ok ? 0 : 1);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void)
{
    CHECK(portable_forced_in_child(), "ORFEAS_SHA256=portable makes the process use libsodium");

    const char *env = getenv("ORFEAS_SHA256");
    int forced = env && strcmp(env, "portable") == 0;
    const char *want_impl = !forced && sha256_ni_available() ? "sha-ni" : "libsodium";
    CHECK(strcmp(sha256_impl_name(), want_impl) == 0, "the process uses %s (CPU has SHA-NI: %s; ORFEAS_SHA256=%s)",
          want_impl, sha256_ni_available() ? "yes" : "no", env ? env : "unset");

    fips_vectors(VIA_API);
    fips_vectors(VIA_PORTABLE);
    against_libsodium(VIA_API);
    against_libsodium(VIA_PORTABLE);
    if (sha256_ni_available()) {
        fips_vectors(VIA_NI);
        against_libsodium(VIA_NI);
    } else {
        SKIP("this CPU has no SHA extensions (or they are hidden, as under valgrind)",
             "SHA-NI path: FIPS vectors and random inputs against libsodium");
    }
    return check_done();
}
