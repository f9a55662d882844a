/* test_sha256.c - proto/sha256.c: the FIPS 180-2 appendix B vectors, and equality with
 * libsodium's SHA-256 for every length 0..1100 in one call and in random pieces, with the CPU's
 * SHA extensions and without them; the fast path is the one in use where the CPU has them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "qc.h"
#include "sha256.h"

static uint64_t rng_state;
static uint64_t rnd(void) { /* xorshift64*: deterministic across runs */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void fill(uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(rnd() >> 56);
}

static void hex32(char out[65], const uint8_t h[32]) { qc_hex_encode(out, h, 32); }

/* Whether /proc/cpuinfo lists the SHA extensions (sha_ni), independently of cpuid in sha256.c. */
static bool cpuinfo_has_sha_ni(void) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL) return false;
    char line[8192];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "flags", 5) == 0 && strstr(line, " sha_ni") != NULL) found = true;
    fclose(f);
    return found;
}

/* Runs every check once with the extensions and once without. */
static void each_mode(void (*check)(bool ext)) {
    bool prev = qc_sha256_set_extensions(true);
    check(true);
    qc_sha256_set_extensions(false);
    assert_false(qc_sha256_accelerated());
    check(false);
    qc_sha256_set_extensions(prev);
}

/* FIPS 180-2 appendix B.1-B.3 (one block, two blocks, a million 'a' fed in pieces) and the
 * empty message. */
static void vectors(bool ext) {
    (void)ext;
    static const struct {
        const char *msg, *want;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
         "lmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char got[65];
    uint8_t h[32];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        qc_sha256_bytes(h, v[i].msg, strlen(v[i].msg));
        hex32(got, h);
        assert_string_equal(got, v[i].want);
    }
    qc_sha256_state_t st;
    qc_sha256_init(&st);
    uint8_t a[1000];
    memset(a, 'a', sizeof a);
    for (unsigned i = 0; i < 1000; i++) qc_sha256_update(&st, a, sizeof a);
    qc_sha256_final(&st, h);
    hex32(got, h);
    assert_string_equal(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Every length 0..1100 (the padding boundaries 55/56 and 119/120 included): one call and
 * random pieces (empty ones too) equal libsodium's one call. */
static void lengths(bool ext) {
    rng_state = ext ? 0x5a : 0xa5;
    uint8_t msg[1100], want[32], got[32];
    fill(msg, sizeof msg);
    for (size_t len = 0; len <= sizeof msg; len++) {
        crypto_hash_sha256(want, msg, len);
        qc_sha256_bytes(got, msg, len);
        assert_memory_equal(got, want, 32);
        qc_sha256_state_t st;
        qc_sha256_init(&st);
        assert_int_equal(st.ext, ext && qc_sha256_accelerated());
        size_t off = 0;
        while (off < len) {
            size_t piece = (size_t)(rnd() % 131); /* 0..130: within, across and many blocks */
            if (piece > len - off) piece = len - off;
            qc_sha256_update(&st, msg + off, piece);
            off += piece;
        }
        qc_sha256_update(&st, NULL, 0);
        qc_sha256_final(&st, got);
        assert_memory_equal(got, want, 32);
        qc_hash_t q;
        qc_sha256(&q, msg, len);
        assert_memory_equal(q.b, want, 32);
    }
}

static void test_vectors(void **state) {
    (void)state;
    each_mode(vectors);
}

static void test_lengths(void **state) {
    (void)state;
    each_mode(lengths);
}

/* Where the CPU has the SHA extensions (per /proc/cpuinfo), they are used by default; a state
 * keeps the path it started with when the setting changes half-way. */
static void test_fast_path_in_use(void **state) {
    (void)state;
#if defined(__x86_64__)
    if (cpuinfo_has_sha_ni()) {
        assert_true(qc_sha256_accelerated());
        qc_sha256_state_t st;
        qc_sha256_init(&st);
        assert_true(st.ext);
        qc_sha256_update(&st, "ab", 2);
        bool prev = qc_sha256_set_extensions(false);
        assert_true(prev);
        qc_sha256_update(&st, "c", 1);
        uint8_t h[32];
        char got[65];
        qc_sha256_final(&st, h);
        qc_sha256_set_extensions(true);
        hex32(got, h);
        assert_string_equal(got, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        printf("    (this CPU has the SHA extensions: the fast path was checked)\n");
        return;
    }
#endif
    assert_false(qc_sha256_accelerated());
    printf("    (this CPU lacks the SHA extensions: libsodium's path only)\n");
}

int main(void) {
    if (qc_crypto_init() != QC_OK) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_fast_path_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
