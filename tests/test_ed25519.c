/* test_ed25519.c - pins the Ed25519 acceptance rules of docs/PROTOCOL.md §1.1 through the
 * project's own verify helpers (qc_verify_ctx, note_sig_verify), with the §1.2 vectors, so a
 * change in what our wrapper or the linked libsodium accepts (a check added or dropped) fails
 * here, not in a split between members. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "fmt.h"
#include "note.h"

#define VEC_CTX "qchain/v1/tx-sig"
#define VEC_TEXT_PREFIX "ed25519 vector: "

typedef struct {
    int number;          /* the vector's number in §1.2 */
    const char *text;    /* the message text after VEC_TEXT_PREFIX */
    bool accept;         /* libsodium 1.0.18's verdict, which §1.1 makes the rule */
    const char *pk_hex;  /* 64 hex */
    const char *sig_hex; /* 128 hex: R || S */
} ed_vector_t;

static const ed_vector_t VECTORS[] = {
    {1, "valid", true,
     "6b79c57e6a095239282c04818e96112f3f03a4001ba97a564c23852a3f1ea5fc",
     "ac451a369d5baa201a36133dac39131f1abb0e2f43679db7559f1b3e83512cc6"
     "d3ce2d4874ca7801e020af0f1c64583ac97e7d54358a3fa6f1889eeacbe5e001"},
    {2, "valid", false,
     "6b79c57e6a095239282c04818e96112f3f03a4001ba97a564c23852a3f1ea5fc",
     "ac451a369d5baa201a36133dac39131f1abb0e2f43679db7559f1b3e83512cc6"
     "c0a223a58e2d8b59b6bda6b2fa5d374fc97e7d54358a3fa6f1889eeacbe5e011"},
    {3, "small-order R", false,
     "6b79c57e6a095239282c04818e96112f3f03a4001ba97a564c23852a3f1ea5fc",
     "0100000000000000000000000000000000000000000000000000000000000000"
     "def77ff482af98620b03b897ca9111120238ea5604f5b1037b9175a7fb5f3903"},
    {4, "small-order A", false,
     "0100000000000000000000000000000000000000000000000000000000000000",
     "37edb8cb200a6d2ef825d015b0f7297a699937193204a01794f61a7781089fb7"
     "297cd7bf5beb586a8913a62f10c73ce79180d207e737b5e8497991165cf5fe0d"},
    {5, "non-canonical A", false,
     "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
     "19058fd46d94ee912b801fd7fbed1794794a67bda9fc37425ec5aa4fd798b368"
     "9fa704c0ebba711089b1ffdcf008ed7f2586f7c8c9b332ca08f37b64658c3d05"},
    {6, "non-canonical R", false,
     "6b79c57e6a095239282c04818e96112f3f03a4001ba97a564c23852a3f1ea5fc",
     "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
     "1ebbc1352c9039fda6df29ff9b49b514c1bc5a7eabb3f95d6b7111570c6b450b"},
    {7, "mixed-order A #2", true,
     "64ea59fab51e258287e54fc5691d1b860c9ebcd2704d029b3eec58b6b2e51432",
     "0beb8b64dcf4d0672b0895b774711982550974eaf6e86e6487d4b4379cea8a6f"
     "1240bb3614b489d3650bbfbe92d704cc47e3e3d42cd8d315267f1d201d538c04"},
    {8, "mixed-order A #0", false,
     "64ea59fab51e258287e54fc5691d1b860c9ebcd2704d029b3eec58b6b2e51432",
     "7d788e0ee600665484a7e7ba4e0c0e605916ab1530eca7057134b9d474938ae0"
     "c135e9b2e78674c36f76f0ccca9a1096db9733451a47f98f755e3b9c309ef303"},
};
#define VECTORS_N (sizeof VECTORS / sizeof VECTORS[0])

static void unhex(uint8_t *out, size_t n, const char *hex) {
    assert_int_equal(qc_hex_decode(out, n, hex), QC_OK);
}

/* The message of a vector: "qchain/v1/tx-sig" 0x00 "ed25519 vector: " text, into buf (cap
 * bytes); returns its length. */
static size_t vector_message(const ed_vector_t *v, uint8_t *buf, size_t cap) {
    size_t ctx_len = sizeof VEC_CTX, pre = strlen(VEC_TEXT_PREFIX), tl = strlen(v->text);
    assert_true(ctx_len + pre + tl <= cap);
    memcpy(buf, VEC_CTX, ctx_len); /* includes the 0x00 separator */
    memcpy(buf + ctx_len, VEC_TEXT_PREFIX, pre);
    memcpy(buf + ctx_len + pre, v->text, tl);
    return ctx_len + pre + tl;
}

static int group_setup(void **state) {
    (void)state;
    return qc_crypto_init() == QC_OK ? 0 : -1;
}

/* Every vector gets its documented verdict through both verify paths the project uses. */
static void test_vectors_through_project_helpers(void **state) {
    (void)state;
    size_t accepted = 0;
    for (size_t i = 0; i < VECTORS_N; i++) {
        const ed_vector_t *v = &VECTORS[i];
        qc_pubkey_t pk;
        qc_sig_t sig;
        unhex(pk.b, sizeof pk.b, v->pk_hex);
        unhex(sig.b, sizeof sig.b, v->sig_hex);
        char body[64];
        int n = snprintf(body, sizeof body, "%s%s", VEC_TEXT_PREFIX, v->text);
        assert_true(n > 0 && (size_t)n < sizeof body);
        int want = v->accept ? QC_OK : QC_ERR_SIGNATURE;
        if (qc_verify_ctx(&sig, &pk, VEC_CTX, body, (size_t)n) != want)
            fail_msg("vector %d: qc_verify_ctx disagrees with §1.2", v->number);
        uint8_t msg[96];
        size_t mlen = vector_message(v, msg, sizeof msg);
        if (note_sig_verify(&sig, &pk, (const char *)msg, mlen) != want)
            fail_msg("vector %d: note_sig_verify disagrees with §1.2", v->number);
        accepted += v->accept;
    }
    assert_int_equal(VECTORS_N, 8);
    assert_int_equal(accepted, 2); /* vectors 1 and 7 */
}

/* Vector 1 is the deterministic signature of jinan's seal key (§8: seed 02 00 .. 00). */
static void test_valid_vector_is_the_keys_signature(void **state) {
    (void)state;
    uint8_t seed[32] = {2};
    qc_pubkey_t pk;
    qc_seckey_t sk;
    assert_int_equal(crypto_sign_seed_keypair(pk.b, sk.b, seed), 0);
    qc_sig_t want, got;
    unhex(want.b, sizeof want.b, VECTORS[0].sig_hex);
    qc_sign_ctx(&got, &sk, VEC_CTX, VEC_TEXT_PREFIX "valid", strlen(VEC_TEXT_PREFIX "valid"));
    assert_memory_equal(got.b, want.b, sizeof want.b);
    uint8_t doc_pk[32];
    unhex(doc_pk, sizeof doc_pk, VECTORS[0].pk_hex);
    assert_memory_equal(pk.b, doc_pk, sizeof doc_pk);
}

/* Vectors 3 and 4 satisfy the bare cofactorless equation [S]B = R + [k]A, so only the
 * small-order checks (rules 2 and 4) can reject them; computed here with libsodium's group
 * operations, not its verifier. */
static void test_small_order_vectors_satisfy_the_bare_equation(void **state) {
    (void)state;
    const ed_vector_t *v3 = &VECTORS[2], *v4 = &VECTORS[3];
    assert_int_equal(v3->number, 3);
    assert_int_equal(v4->number, 4);
    uint8_t pk[32], sig[64], sb[32];
    /* Vector 4: A is the neutral point, so [k]A vanishes and R = [S]B. */
    unhex(pk, 32, v4->pk_hex);
    unhex(sig, 64, v4->sig_hex);
    static const uint8_t neutral[32] = {1};
    assert_memory_equal(pk, neutral, 32);
    assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(sb, sig + 32), 0);
    assert_memory_equal(sb, sig, 32);
    /* Vector 3: R is the neutral point, so [S]B = [k]A with k = SHA-512(R || A || M) mod L. */
    unhex(pk, 32, v3->pk_hex);
    unhex(sig, 64, v3->sig_hex);
    assert_memory_equal(sig, neutral, 32);
    uint8_t msg[96], h[64], k[32], ka[32];
    size_t mlen = vector_message(v3, msg, sizeof msg);
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, sig, 32);
    crypto_hash_sha512_update(&st, pk, 32);
    crypto_hash_sha512_update(&st, msg, mlen);
    crypto_hash_sha512_final(&st, h);
    crypto_core_ed25519_scalar_reduce(k, h);
    assert_int_equal(crypto_scalarmult_ed25519_noclamp(ka, k, pk), 0);
    assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(sb, sig + 32), 0);
    assert_memory_equal(sb, ka, 32);
}

/* The neutral point with the sign bit set (x = 0, a non-canonical encoding rule 3 does not
 * catch) and its y = p + 1 twin with the sign bit: both "sign" every message with R = [r]B,
 * S = r, and rule 4's list, compared with bit 255 cleared, rejects both. */
static void test_neutral_with_sign_bit_is_rejected(void **state) {
    (void)state;
    uint8_t keys[2][32] = {{1}, {0xee}};
    memset(keys[1] + 1, 0xff, 31);
    keys[0][31] = 0x80; /* 01 00 .. 00 80 */
    uint8_t r[32] = {7}, sig[64];
    memcpy(sig + 32, r, 32);
    assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(sig, r), 0);
    for (size_t i = 0; i < 2; i++) {
        qc_pubkey_t pk;
        qc_sig_t s;
        memcpy(pk.b, keys[i], 32);
        memcpy(s.b, sig, 64);
        assert_int_equal(qc_verify_ctx(&s, &pk, VEC_CTX, "any", 3), QC_ERR_SIGNATURE);
        assert_int_equal(note_sig_verify(&s, &pk, "any", 3), QC_ERR_SIGNATURE);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_through_project_helpers),
        cmocka_unit_test(test_valid_vector_is_the_keys_signature),
        cmocka_unit_test(test_small_order_vectors_satisfy_the_bare_equation),
        cmocka_unit_test(test_neutral_with_sign_bit_is_rejected),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
