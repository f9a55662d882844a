/* test_sha256.c - proto/sha256.c: the FIPS 180-2 appendix B vectors, and equality with
 * libsodium's SHA-256 for every length 0..1100 in one call and in random pieces, with the CPU's
 * SHA extensions and without them; the fast path is the one in use where the CPU has them.
 * The batch API (qc_sha256_many, qc_sha256_x2) likewise: every pair of lengths 0..300, random
 * pairs up to 2000 bytes, batches of 0, 1, 2, 3, 5 and 17 messages, the vectors, and the same
 * input twice. */
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

/* FIPS 180-2 appendix B.1 and B.2 and the empty message: (message, SHA-256 in hex). */
static const char *const fips[][2] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
     "lmnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};
#define FIPS_N (sizeof fips / sizeof fips[0])

/* FIPS 180-2 appendix B.1-B.3 (one block, two blocks, a million 'a' fed in pieces) and the
 * empty message. */
static void vectors(bool ext) {
    (void)ext;
    char got[65];
    uint8_t h[32];
    for (size_t i = 0; i < FIPS_N; i++) {
        qc_sha256_bytes(h, fips[i][0], strlen(fips[i][0]));
        hex32(got, h);
        assert_string_equal(got, fips[i][1]);
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

/* The vectors above as one batch (the million 'a' in one piece, first, so that the short ones
 * take turns in the other lane), and each vector paired with "abc" by qc_sha256_x2. */
static void many_vectors(bool ext) {
    (void)ext;
    enum { NV = FIPS_N };
    uint8_t *million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    const uint8_t *data[NV + 1] = {million};
    size_t len[NV + 1] = {1000000};
    for (size_t i = 0; i < NV; i++) {
        data[i + 1] = (const uint8_t *)fips[i][0];
        len[i + 1] = strlen(fips[i][0]);
    }
    uint8_t out[NV + 1][32];
    char got[65];
    qc_sha256_many(out, data, len, NV + 1);
    hex32(got, out[0]);
    assert_string_equal(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    for (size_t i = 0; i < NV; i++) {
        hex32(got, out[i + 1]);
        assert_string_equal(got, fips[i][1]);
        uint8_t h0[32], h1[32];
        qc_sha256_x2(h0, fips[i][0], strlen(fips[i][0]), h1, "abc", 3);
        hex32(got, h0);
        assert_string_equal(got, fips[i][1]);
        hex32(got, h1);
        assert_string_equal(got, fips[1][1]);
    }
    free(million);
}

/* Every pair of lengths 0..300 (all the one-, two- and three-block padding boundaries: 55/56,
 * 63/64/65, 119/120, 127/128, ...), then 2000 random pairs up to 2000 bytes at random offsets,
 * through qc_sha256_many (n = 2) and qc_sha256_x2, equal libsodium's one call. */
static void many_pairs(bool ext) {
    rng_state = ext ? 0x71 : 0x17;
    enum { GRID = 300, RANDOM_MAX = 2000 };
    static uint8_t m0[RANDOM_MAX + 64], m1[RANDOM_MAX + 64];
    static uint8_t want0[GRID + 1][32], want1[GRID + 1][32];
    fill(m0, sizeof m0);
    fill(m1, sizeof m1);
    for (size_t l = 0; l <= GRID; l++) {
        crypto_hash_sha256(want0[l], m0, l);
        crypto_hash_sha256(want1[l], m1 + 1, l); /* lane 1 unaligned */
    }
    for (size_t a = 0; a <= GRID; a++) {
        for (size_t b = 0; b <= GRID; b++) {
            const uint8_t *data[2] = {m0, m1 + 1};
            const size_t len[2] = {a, b};
            uint8_t out[2][32];
            qc_sha256_many(out, data, len, 2);
            assert_memory_equal(out[0], want0[a], 32);
            assert_memory_equal(out[1], want1[b], 32);
            /* And swapped lanes, through the two-message call. */
            qc_sha256_x2(out[0], m1 + 1, b, out[1], m0, a);
            assert_memory_equal(out[0], want1[b], 32);
            assert_memory_equal(out[1], want0[a], 32);
        }
    }
    for (unsigned i = 0; i < 2000; i++) {
        size_t off0 = (size_t)(rnd() % 64), off1 = (size_t)(rnd() % 64);
        size_t l0 = (size_t)(rnd() % (RANDOM_MAX + 1)), l1 = (size_t)(rnd() % (RANDOM_MAX + 1));
        uint8_t w0[32], w1[32], out[2][32];
        crypto_hash_sha256(w0, m0 + off0, l0);
        crypto_hash_sha256(w1, m1 + off1, l1);
        const uint8_t *data[2] = {m0 + off0, m1 + off1};
        const size_t len[2] = {l0, l1};
        qc_sha256_many(out, data, len, 2);
        assert_memory_equal(out[0], w0, 32);
        assert_memory_equal(out[1], w1, 32);
        qc_sha256_x2(out[0], m0 + off0, l0, out[1], m1 + off1, l1);
        assert_memory_equal(out[0], w0, 32);
        assert_memory_equal(out[1], w1, 32);
    }
}

/* Batches of n = 0, 1, 2, 3, 5 and 17 messages, 200 of each n: lengths drawn from the padding
 * boundaries, short ones (the node's leaves and map nodes) and long ones, at random offsets in
 * one buffer (overlapping each other) or each alone in an allocation of its own size; each
 * digest equals libsodium's, and nothing is written past out[n - 1]. */
static void many_batches(bool ext) {
    rng_state = ext ? 0x3c : 0xc3;
    static const size_t boundary[] = {0,   1,   55,  56,  63,  64,  65, 83,
                                      119, 120, 127, 128, 129, 183, 184};
    enum { NMAX = 17, LMAX = 2000 };
    static uint8_t buf[LMAX + 256];
    fill(buf, sizeof buf);
    static const size_t ns[] = {0, 1, 2, 3, 5, 17};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        size_t n = ns[t];
        for (unsigned round = 0; round < 200; round++) {
            const uint8_t *data[NMAX];
            uint8_t *copy[NMAX];
            size_t len[NMAX];
            uint8_t out[NMAX + 1][32], want[32];
            for (size_t i = 0; i < n; i++) {
                switch (rnd() % 3) {
                case 0: len[i] = boundary[rnd() % (sizeof boundary / sizeof boundary[0])]; break;
                case 1: len[i] = (size_t)(rnd() % 200); break;
                default: len[i] = (size_t)(rnd() % (LMAX + 1)); break;
                }
                data[i] = len[i] == 0 && rnd() % 2 ? NULL : buf + rnd() % 256;
                copy[i] = NULL;
                if (len[i] > 0 && rnd() % 2) { /* alone, just its size: ASan sees over-reads */
                    copy[i] = malloc(len[i]);
                    assert_non_null(copy[i]);
                    memcpy(copy[i], data[i], len[i]);
                    data[i] = copy[i];
                }
            }
            memset(out, 0xee, sizeof out);
            qc_sha256_many(out, data, len, n);
            for (size_t i = 0; i < n; i++) {
                crypto_hash_sha256(want, data[i] != NULL ? data[i] : buf, len[i]);
                assert_memory_equal(out[i], want, 32);
                free(copy[i]);
            }
            for (size_t j = n; j <= NMAX; j++)
                for (size_t k = 0; k < 32; k++) assert_int_equal(out[j][k], 0xee);
        }
    }
    /* n = 0 reads and writes nothing: no arrays at all. */
    qc_sha256_many(NULL, NULL, NULL, 0);
}

/* The same input twice (same and different lengths, in a pair and in a batch of three, where
 * the third takes the lane of whichever ends first), and qc_sha256_x2 writing its digests over
 * its own inputs. */
static void many_aliasing(bool ext) {
    rng_state = ext ? 0x99 : 0x66;
    static uint8_t m[601];
    fill(m, sizeof m);
    static const size_t lens[][3] = {
        {0, 0, 0}, {3, 3, 3}, {64, 64, 0}, {83, 83, 83}, {55, 56, 57}, {120, 119, 64},
        {600, 1, 600}, {1, 600, 300}, {128, 127, 129},
    };
    for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
        const uint8_t *data[3] = {m, m, m};
        uint8_t out[3][32], want[32];
        qc_sha256_many(out, data, lens[t], 3);
        for (size_t i = 0; i < 3; i++) {
            crypto_hash_sha256(want, m, lens[t][i]);
            assert_memory_equal(out[i], want, 32);
        }
        qc_sha256_many(out, data, lens[t], 2);
        for (size_t i = 0; i < 2; i++) {
            crypto_hash_sha256(want, m, lens[t][i]);
            assert_memory_equal(out[i], want, 32);
        }
        /* In place: each digest over the first 32 bytes of its own input. */
        uint8_t a[600], b[600], wa[32], wb[32];
        size_t la = lens[t][0], lb = lens[t][1];
        memcpy(a, m, sizeof a);
        memcpy(b, m + 1, sizeof b);
        crypto_hash_sha256(wa, a, la);
        crypto_hash_sha256(wb, b, lb);
        qc_sha256_x2(a, a, la, b, b, lb);
        assert_memory_equal(a, wa, 32);
        assert_memory_equal(b, wb, 32);
        /* Both outputs over one input, the same one twice. */
        memcpy(a, m, sizeof a);
        crypto_hash_sha256(wa, a, lb);
        qc_sha256_x2(a, a, la, a + 32, a, lb);
        crypto_hash_sha256(wb, m, la);
        assert_memory_equal(a, wb, 32);
        assert_memory_equal(a + 32, wa, 32);
    }
}

/* Each check, with the SHA extensions and without. */
#define EACH_MODE_TEST(name)                                                                   \
    static void test_##name(void **state) {                                                    \
        (void)state;                                                                           \
        each_mode(name);                                                                       \
    }
EACH_MODE_TEST(vectors)
EACH_MODE_TEST(lengths)
EACH_MODE_TEST(many_vectors)
EACH_MODE_TEST(many_pairs)
EACH_MODE_TEST(many_batches)
EACH_MODE_TEST(many_aliasing)

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
        cmocka_unit_test(test_many_vectors),
        cmocka_unit_test(test_many_pairs),
        cmocka_unit_test(test_many_batches),
        cmocka_unit_test(test_many_aliasing),
        cmocka_unit_test(test_fast_path_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
