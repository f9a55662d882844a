/* test_note.c - C2SP signed notes and checkpoints: the golang.org/x/mod/sumdb/note vectors
 * (key ids, an exact signed note, Open's accept/ignore/refuse cases), checkpoint text, and
 * quorum verification against a validator set: tampering, sub-quorum, duplicate lines,
 * unknown keys ignored, malformed notes refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "merkle.h"
#include "note.h"
#include "testkeys.h"

/* ---- golang.org/x/mod/sumdb/note note_test.go (TestSign, TestOpen) ---- */
#define GO_TEXT "If you think cryptography is the answer to your problem,\n" \
                "then you don't know what your problem is.\n"
#define GO_PETER_SIG "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
#define GO_ENOCH_SIG "\xe2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
/* "PRIVATE+KEY+PeterNeumann+c74f20a3+<base64(0x01 || seed)>" and the verifier keys
 * "<name>+<id>+<base64(0x01 || public key)>". */
#define GO_PETER_SKEY "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
#define GO_PETER_VKEY "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define GO_ENOCH_VKEY "ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"

static void b64_key(const char *b64, uint8_t out[32]) {
    uint8_t raw[33];
    size_t n = 0;
    assert_int_equal(sodium_base642bin(raw, sizeof raw, b64, strlen(b64), NULL, &n, NULL,
                                       sodium_base64_VARIANT_ORIGINAL), 0);
    assert_int_equal(n, 33);
    assert_int_equal(raw[0], NOTE_ED25519);
    memcpy(out, raw + 1, 32);
}

static void go_verifier(note_verifier_t *v, const char *name, const char *vkey) {
    qc_pubkey_t pk;
    b64_key(vkey, pk.b);
    assert_int_equal(note_verifier_init(v, name, &pk), QC_OK);
}

static int open_go(const char *msg, const note_verifier_t *v, size_t count, bool *signed_by,
                   uint32_t *valid) {
    note_t n;
    int rc = note_parse(msg, strlen(msg), &n, NULL, 0);
    if (rc != QC_OK) return rc;
    return note_verify(&n, v, count, signed_by, valid, NULL, 0);
}

static void test_go_key_ids(void **state) {
    (void)state;
    note_verifier_t peter, enoch;
    go_verifier(&peter, "PeterNeumann", GO_PETER_VKEY);
    go_verifier(&enoch, "EnochRoot", GO_ENOCH_VKEY);
    assert_int_equal(peter.key_id, 0xc74f20a3u);
    assert_int_equal(enoch.key_id, 0xaf0cfe78u);
    qc_pubkey_t pk = peter.pk;
    pk.b[0] ^= 1;
    assert_int_not_equal(note_key_id("PeterNeumann", &pk), 0xc74f20a3u);
    assert_int_not_equal(note_key_id("PeterNeuman", &peter.pk), 0xc74f20a3u);
}

static void test_go_sign_exact(void **state) {
    (void)state;
    uint8_t seed[32];
    qc_pubkey_t pk;
    qc_seckey_t sk;
    b64_key(GO_PETER_SKEY, seed);
    crypto_sign_seed_keypair(pk.b, sk.b, seed);
    note_verifier_t peter;
    go_verifier(&peter, "PeterNeumann", GO_PETER_VKEY);
    assert_memory_equal(pk.b, peter.pk.b, 32);
    char out[512] = GO_TEXT "\n";
    size_t len = strlen(out);
    qc_sig_t sig;
    note_sign(&sig, &sk, GO_TEXT, strlen(GO_TEXT));
    assert_int_equal(note_append_sigline(out, sizeof out, &len, "PeterNeumann", peter.key_id, &sig), QC_OK);
    assert_string_equal(out, GO_TEXT "\n" GO_PETER_SIG);
    assert_int_equal(len, strlen(out));
    /* too small a buffer is refused, not truncated */
    char small[64] = "";
    size_t slen = 0;
    assert_int_equal(note_append_sigline(small, sizeof small, &slen, "PeterNeumann", 1, &sig), QC_ERR_TOOBIG);
}

static void test_go_open(void **state) {
    (void)state;
    note_verifier_t v[2];
    go_verifier(&v[0], "PeterNeumann", GO_PETER_VKEY);
    go_verifier(&v[1], "EnochRoot", GO_ENOCH_VKEY);
    const char *both = GO_TEXT "\n" GO_PETER_SIG GO_ENOCH_SIG;
    bool by[2];
    uint32_t valid = 0;
    /* one known, one unknown (ignored) */
    assert_int_equal(open_go(both, v, 1, by, &valid), QC_OK);
    assert_int_equal(valid, 1);
    assert_true(by[0]);
    assert_int_equal(open_go(both, v, 2, by, &valid), QC_OK);
    assert_int_equal(valid, 2);
    assert_true(by[0] && by[1]);
    /* no known key: must be rejected */
    assert_int_equal(open_go(both, v, 0, NULL, &valid), QC_ERR_QUORUM);
    assert_int_equal(open_go(both, v + 1, 1, NULL, &valid), QC_OK);
    /* the text comes back exactly */
    note_t n;
    assert_int_equal(note_parse(both, strlen(both), &n, NULL, 0), QC_OK);
    assert_int_equal(n.text_len, strlen(GO_TEXT));
    assert_memory_equal(n.text, GO_TEXT, n.text_len);
    assert_int_equal(n.sig_count, 2);
    assert_int_equal(n.sigs[1].key_id, 0xaf0cfe78u);
    /* a known key's invalid signature refuses the whole note (Go: "invalid signature") */
    char bad[512];
    snprintf(bad, sizeof bad, "%s\n%.60sABCD%s", GO_TEXT, GO_PETER_SIG, GO_PETER_SIG + 60);
    assert_int_equal(open_go(bad, v, 1, NULL, NULL), QC_ERR_SIGNATURE);
    /* repeated identical lines count once */
    char dup[1024];
    snprintf(dup, sizeof dup, "%s\n%s%s%s", GO_TEXT, GO_PETER_SIG, GO_PETER_SIG, GO_ENOCH_SIG);
    assert_int_equal(open_go(dup, v, 1, NULL, &valid), QC_OK);
    assert_int_equal(valid, 1);
    /* a known name with another key id, or another name with the known id: ignored */
    char misnamed[512];
    snprintf(misnamed, sizeof misnamed, "%s\n\xe2\x80\x94 CarmenSandiego %s", GO_TEXT,
             GO_PETER_SIG + strlen("\xe2\x80\x94 PeterNeumann "));
    assert_int_equal(open_go(misnamed, v, 1, NULL, NULL), QC_ERR_QUORUM);
    note_verifier_t other = v[0];
    other.key_id ^= 1;
    assert_int_equal(open_go(GO_TEXT "\n" GO_PETER_SIG, &other, 1, NULL, NULL), QC_ERR_QUORUM);
}

static void test_go_malformed(void **state) {
    (void)state;
    char sig_no_nl[256];
    snprintf(sig_no_nl, sizeof sig_no_nl, "%s\n%.*s", GO_TEXT, (int)strlen(GO_PETER_SIG) - 1, GO_PETER_SIG);
    const char *bad[] = {
        GO_TEXT,
        GO_TEXT "\n",
        sig_no_nl,
        "\x01" GO_TEXT "\n" GO_PETER_SIG,
        "\xff" GO_TEXT "\n" GO_PETER_SIG,
        GO_TEXT "\n\xe2\x80\x94 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        GO_TEXT "\n" GO_PETER_SIG "Unexpected line.\n",
        GO_TEXT "\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        GO_TEXT "\n\xe2\x80\x94 Peter+Neumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        GO_TEXT "\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM\n",
        GO_TEXT "\n\xe2\x80\x94 PeterNeumann AAAA\n",             /* 3 bytes: no room for a sig */
        GO_TEXT "\n\xe2\x80\x94 PeterNeumann\n",
        GO_TEXT "\n\xe2\x80\x94  x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        "a\rb\n\n" GO_PETER_SIG,
        "\xc0\xaf\n\n" GO_PETER_SIG,                                 /* overlong '/' */
        "\xed\xa0\x80\n\n" GO_PETER_SIG,                             /* surrogate */
        GO_TEXT "\n\xe2\x80\x94 Peter\xc2\xa0Neumann AAAAAAA=\n",     /* U+00A0 in name */
        GO_TEXT "\n\xe2\x80\x94 PeterNeumann AAAAAAB=\n",             /* non-canonical base64 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        note_t n;
        char why[160] = "";
        int rc = note_parse(bad[i], strlen(bad[i]), &n, why, sizeof why);
        if (rc != QC_ERR_INVALID) print_error("bad[%zu] gave %d\n", i, rc);
        assert_int_equal(rc, QC_ERR_INVALID);
        assert_true(why[0] != '\0');
    }
    /* too many signature lines */
    size_t cap = strlen(GO_TEXT) + 2 + 101 * strlen(GO_PETER_SIG);
    char *many = malloc(cap);
    size_t len = (size_t)snprintf(many, cap, "%s\n", GO_TEXT);
    for (int i = 0; i < 101; i++) len += (size_t)snprintf(many + len, cap - len, "%s", GO_PETER_SIG);
    note_t n;
    assert_int_equal(note_parse(many, len, &n, NULL, 0), QC_ERR_TOOBIG);
    free(many);
    /* the signature block is after the LAST blank line: a text may hold blank lines */
    const char *inner = "a\n\nb\n\n" GO_PETER_SIG;
    assert_int_equal(note_parse(inner, strlen(inner), &n, NULL, 0), QC_OK);
    assert_int_equal(n.text_len, 5);
}

/* The tlog-checkpoint spec's example parses as a note (its origin is not a chain id, so it is
 * not a qchain checkpoint). */
static void test_spec_example(void **state) {
    (void)state;
    const char *ex = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
                     "\xe2\x80\x94 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
    note_t n;
    assert_int_equal(note_parse(ex, strlen(ex), &n, NULL, 0), QC_OK);
    assert_int_equal(n.sig_count, 1);
    assert_int_equal(n.sigs[0].key_id, 0x033de0aeu);
    assert_true(n.sigs[0].is_ed25519_len);
    note_checkpoint_t c;
    assert_int_equal(note_checkpoint_parse(n.text, n.text_len, &c, NULL, 0), QC_ERR_INVALID);
}

/* ---- checkpoints under a validator set ---- */

#define CHAIN "note-test"
/* The genesis line of every note here: the genesis hash is 32 bytes of 0x5e. */
#define GENESIS_LINE "genesis 5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e\n"

static const qc_hash_t k_genesis = {{0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e,
                                     0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e,
                                     0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e}};

typedef struct {
    qc_validator_set_t vs;
    qc_seckey_t sk[7];
} fixture_t;

static void fixture(fixture_t *f, uint32_t n) {
    testkeys_validators(&f->vs, n, 0);
    for (uint32_t i = 0; i < n; i++) testkeys_keypair(TESTKEY_NODE, i, NULL, &f->sk[i]);
}

static note_checkpoint_t checkpoint(uint64_t size, uint8_t fill) {
    note_checkpoint_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.origin, sizeof c.origin, CHAIN);
    c.size = size;
    memset(c.root.b, fill, 32);
    c.genesis_hash = k_genesis;
    return c;
}

/* Signs c by validators idx[0..k) and formats the note (malloc'd). */
static char *signed_note(const fixture_t *f, const note_checkpoint_t *c, const uint32_t *idx, uint32_t k) {
    note_signed_t s;
    memset(&s, 0, sizeof s);
    s.cp = *c;
    char text[NOTE_CHECKPOINT_TEXT_MAX];
    size_t tl;
    assert_int_equal(note_checkpoint_text(c, text, &tl), QC_OK);
    for (uint32_t i = 0; i < k; i++) {
        s.signers[i] = idx[i];
        note_sign(&s.sigs[i], &f->sk[idx[i]], text, tl);
    }
    s.signer_count = k;
    char *out;
    size_t len;
    assert_int_equal(note_signed_format(&s, CHAIN, &f->vs, &out, &len), QC_OK);
    assert_int_equal(strlen(out), len);
    return out;
}

/* A four-validator fixture into *f and the note of checkpoint(size, fill) signed by all four. */
static char *signed_by_all_four(fixture_t *f, uint64_t size, uint8_t fill) {
    fixture(f, 4);
    note_checkpoint_t c = checkpoint(size, fill);
    uint32_t idx[] = {0, 1, 2, 3};
    return signed_note(f, &c, idx, 4);
}

static int open_cp(const fixture_t *f, const char *msg, note_signed_t *out, char *why) {
    return note_signed_open(msg, strlen(msg), CHAIN, &k_genesis, &f->vs, out, why, 160);
}

static void test_checkpoint_text(void **state) {
    (void)state;
    note_checkpoint_t c = checkpoint(20852163, 0), back;
    qc_hash_t r;
    merkle_empty_root(&r);
    c.root = r;
    char text[NOTE_CHECKPOINT_TEXT_MAX];
    size_t len;
    assert_int_equal(note_checkpoint_text(&c, text, &len), QC_OK);
    assert_string_equal(text, CHAIN "\n20852163\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n" GENESIS_LINE);
    assert_int_equal(note_checkpoint_parse(text, len, &back, NULL, 0), QC_OK);
    assert_memory_equal(&c, &back, sizeof c);
    c.size = 0;
    assert_int_equal(note_checkpoint_text(&c, text, &len), QC_OK);
    assert_int_equal(note_checkpoint_parse(text, len, &back, NULL, 0), QC_OK);
    assert_int_equal(back.size, 0);
    c.size = MERKLE_SIZE_MAX + 1;
    assert_int_equal(note_checkpoint_text(&c, text, &len), QC_ERR_INVALID);
#define ROOT_LINE "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    const char *bad[] = {
        CHAIN "\n012\n" ROOT_LINE GENESIS_LINE,                               /* leading zero */
        CHAIN "\n-1\n" ROOT_LINE GENESIS_LINE,
        CHAIN "\n99999999999999999999\n" ROOT_LINE GENESIS_LINE,
        CHAIN "\n9223372036854775809\n" ROOT_LINE GENESIS_LINE,               /* > 2^63 */
        CHAIN "\n12\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n" GENESIS_LINE, /* non-canonical */
        CHAIN "\n12\n47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n" GENESIS_LINE, /* URL alphabet */
        CHAIN "\n12\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuA==\n" GENESIS_LINE, /* 31 bytes */
        CHAIN "\n12\n" ROOT_LINE GENESIS_LINE "extension\n",                  /* another line */
        CHAIN "\n12\n" ROOT_LINE "extension\n" GENESIS_LINE,
        CHAIN "\n12\n" ROOT_LINE,                                              /* no genesis line */
        CHAIN "\n12\n" ROOT_LINE "extension\n",
        CHAIN "\n12\n" ROOT_LINE "genesis 5E5E5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e\n",
        CHAIN "\n12\n" ROOT_LINE "genesis 5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e\n",
        CHAIN "\n12\n" ROOT_LINE "genesis  5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e\n",
        CHAIN "\n12\n" ROOT_LINE "genesis: 5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e\n",
        CHAIN "\n12\n" ROOT_LINE "genesis 5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e",
        CHAIN "\n12\n" ROOT_LINE "genesis 5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5g\n",
        "\n12\n" ROOT_LINE GENESIS_LINE,
        "bad origin\n12\n" ROOT_LINE GENESIS_LINE,
        CHAIN "\n\n" ROOT_LINE GENESIS_LINE,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[160] = "";
        if (note_checkpoint_parse(bad[i], strlen(bad[i]), &back, why, sizeof why) != QC_ERR_INVALID)
            fail_msg("bad checkpoint %zu accepted", i);
        assert_true(why[0] != '\0');
    }
}

static void test_key_names(void **state) {
    (void)state;
    fixture_t f;
    fixture(&f, 4);
    char name[NOTE_KEY_NAME_MAX + 1];
    note_validator_key_name(name, CHAIN, &f.vs, 1);
    assert_string_equal(name, CHAIN "/zibo");
    note_verifier_t v[QC_VALIDATORS_MAX];
    note_validator_verifiers(v, CHAIN, &f.vs);
    assert_int_equal(v[1].key_id, note_key_id(CHAIN "/zibo", &f.vs.members[1].node_key));
    assert_int_not_equal(v[0].key_id, v[1].key_id);
    note_verifier_t bad;
    assert_int_equal(note_verifier_init(&bad, "", &f.vs.members[0].node_key), QC_ERR_INVALID);
    assert_int_equal(note_verifier_init(&bad, "a b", &f.vs.members[0].node_key), QC_ERR_INVALID);
    assert_int_equal(note_verifier_init(&bad, "a+b", &f.vs.members[0].node_key), QC_ERR_INVALID);
}

static void test_quorum_signed(void **state) {
    (void)state;
    fixture_t f;
    fixture(&f, 4); /* quorum 3 */
    note_checkpoint_t c = checkpoint(42, 0xab);
    uint32_t idx[] = {3, 0, 2};
    char *msg = signed_note(&f, &c, idx, 3);
    note_signed_t s;
    char why[160] = "";
    assert_int_equal(open_cp(&f, msg, &s, why), QC_OK);
    assert_int_equal(s.cp.size, 42);
    assert_memory_equal(s.cp.root.b, c.root.b, 32);
    assert_int_equal(s.signer_count, 3);
    assert_int_equal(s.signers[0], 0); /* ascending */
    assert_int_equal(s.signers[1], 2);
    assert_int_equal(s.signers[2], 3);
    /* re-formatting what was opened opens again to the same thing */
    char *again;
    size_t len;
    assert_int_equal(note_signed_format(&s, CHAIN, &f.vs, &again, &len), QC_OK);
    note_signed_t s2;
    assert_int_equal(open_cp(&f, again, &s2, why), QC_OK);
    assert_memory_equal(&s, &s2, sizeof s);
    free(again);
    /* wrong chain: refused even though every signature is right for its text */
    assert_int_equal(note_signed_open(msg, strlen(msg), "other-chain", &k_genesis, &f.vs, &s, why,
                                      sizeof why), QC_ERR_INVALID);
    assert_non_null(strstr(why, "other-chain"));
    free(msg);
}

/* A checkpoint verified on its own, without a block header, is bound to the genesis file: a
 * note that the chain's own validators signed does not open under another genesis file with
 * the same chain id and keys (one differing only in its time, say), and a note without the
 * genesis line (as qchain wrote before) opens under none. */
static void test_genesis_bound(void **state) {
    (void)state;
    fixture_t f;
    char *msg = signed_by_all_four(&f, 42, 0xab);
    note_signed_t s;
    char why[256] = "";
    assert_int_equal(note_signed_open(msg, strlen(msg), CHAIN, &k_genesis, &f.vs, &s, why,
                                      sizeof why), QC_OK);
    assert_memory_equal(s.cp.genesis_hash.b, k_genesis.b, 32);
    qc_hash_t other = k_genesis;
    other.b[31] ^= 1;
    assert_int_equal(note_signed_open(msg, strlen(msg), CHAIN, &other, &f.vs, &s, why, sizeof why),
                     QC_ERR_INVALID);
    assert_string_equal(why, "checkpoint names genesis 5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
                             "5e5e5e5e5e5e5e5e5e5e5e5e, the genesis file given is 5e5e5e5e5e5e5e5e"
                             "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5f");
    free(msg);
    /* the old three-line text, quorum-signed: refused for its form, whatever the genesis */
    const char *old_text = CHAIN "\n42\n" "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n";
    note_signed_t old;
    memset(&old, 0, sizeof old);
    for (uint32_t i = 0; i < 4; i++) {
        old.signers[i] = i;
        note_sign(&old.sigs[i], &f.sk[i], old_text, strlen(old_text));
    }
    char buf[2048];
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s\n", old_text);
    for (uint32_t i = 0; i < 4; i++) {
        char name[NOTE_KEY_NAME_MAX + 1];
        note_validator_key_name(name, CHAIN, &f.vs, i);
        assert_int_equal(note_append_sigline(buf, sizeof buf, &n, name,
                                             note_key_id(name, &f.vs.members[i].node_key),
                                             &old.sigs[i]), QC_OK);
    }
    assert_int_equal(note_signed_open(buf, n, CHAIN, &k_genesis, &f.vs, &s, why, sizeof why),
                     QC_ERR_INVALID);
    assert_non_null(strstr(why, "no \"genesis <64 hex>\" line"));
}

static void test_sub_quorum_and_duplicates(void **state) {
    (void)state;
    fixture_t f;
    fixture(&f, 4);
    note_checkpoint_t c = checkpoint(7, 0x11);
    uint32_t two[] = {0, 1};
    char *msg = signed_note(&f, &c, two, 2);
    note_signed_t s;
    char why[160] = "";
    assert_int_equal(open_cp(&f, msg, &s, why), QC_ERR_QUORUM);
    assert_string_equal(why, "2 valid validator signatures, quorum is 3");
    /* the same two signers, each line three times: still two */
    const char *sigs = strstr(msg, "\n\n") + 2;
    size_t cap = strlen(msg) * 4;
    char *dup = malloc(cap);
    snprintf(dup, cap, "%s%s%s", msg, sigs, sigs);
    assert_int_equal(open_cp(&f, dup, &s, why), QC_ERR_QUORUM);
    assert_string_equal(why, "2 valid validator signatures, quorum is 3");
    free(dup);
    free(msg);
    /* none at all */
    msg = signed_note(&f, &c, two, 0);
    assert_int_equal(open_cp(&f, msg, &s, why), QC_ERR_INVALID); /* no signature lines */
    free(msg);
}

static void test_unknown_keys_ignored(void **state) {
    (void)state;
    fixture_t f;
    fixture(&f, 4);
    note_checkpoint_t c = checkpoint(9, 0x22);
    uint32_t idx[] = {0, 1, 2};
    char *msg = signed_note(&f, &c, idx, 3);
    char text[NOTE_CHECKPOINT_TEXT_MAX];
    size_t tl;
    assert_int_equal(note_checkpoint_text(&c, text, &tl), QC_OK);
    /* an outsider's key (seal key of member 3, not a node key) under a validator's name, under
     * its own name, and a witness-style long signature: all ignored */
    qc_seckey_t outsider;
    qc_pubkey_t outsider_pk;
    testkeys_keypair(TESTKEY_SEAL, 3, &outsider_pk, &outsider);
    qc_sig_t sig;
    note_sign(&sig, &outsider, text, tl);
    size_t cap = strlen(msg) + 1024, len = strlen(msg);
    char *more = malloc(cap);
    memcpy(more, msg, len + 1);
    assert_int_equal(note_append_sigline(more, cap, &len, CHAIN "/liaocheng",
                                         note_key_id(CHAIN "/liaocheng", &outsider_pk), &sig), QC_OK);
    assert_int_equal(note_append_sigline(more, cap, &len, "witness.example/w1",
                                         note_key_id("witness.example/w1", &outsider_pk), &sig), QC_OK);
    note_signed_t s;
    char why[160] = "";
    assert_int_equal(open_cp(&f, more, &s, why), QC_OK);
    assert_int_equal(s.signer_count, 3);
    /* but an invalid signature under a validator's own name and key id refuses the note */
    char name[NOTE_KEY_NAME_MAX + 1];
    note_validator_key_name(name, CHAIN, &f.vs, 3);
    assert_int_equal(note_append_sigline(more, cap, &len, name,
                                         note_key_id(name, &f.vs.members[3].node_key), &sig), QC_OK);
    assert_int_equal(open_cp(&f, more, &s, why), QC_ERR_SIGNATURE);
    assert_non_null(strstr(why, CHAIN "/liaocheng"));
    free(more);
    free(msg);
}

static void test_tampering(void **state) {
    (void)state;
    fixture_t f;
    char *msg = signed_by_all_four(&f, 1000, 0x33);
    size_t len = strlen(msg);
    note_signed_t s;
    char why[160];
    assert_int_equal(open_cp(&f, msg, &s, why), QC_OK);
    /* change any single character of the text or of a signature: never accepted */
    size_t text_len = (size_t)(strstr(msg, "\n\n") - msg) + 1;
    int accepted = 0;
    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\n' || (unsigned char)msg[i] >= 0x80) continue;
        char save = msg[i];
        msg[i] = save == 'A' ? 'B' : 'A';
        int rc = open_cp(&f, msg, &s, why);
        if (rc == QC_OK && i < text_len) accepted++;
        /* a signature line edit may land in a name (an unknown key: ignored, 3 of 4 remain) */
        if (rc == QC_OK && i >= text_len) assert_int_equal(s.signer_count, 3);
        msg[i] = save;
    }
    assert_int_equal(accepted, 0);
    /* the tree size changed in the text with the signatures kept */
    char *forged = strdup(msg);
    forged[strlen(CHAIN) + 1] = '2';
    assert_int_equal(open_cp(&f, forged, &s, why), QC_ERR_SIGNATURE);
    free(forged);
    free(msg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_key_ids),
        cmocka_unit_test(test_go_sign_exact),
        cmocka_unit_test(test_go_open),
        cmocka_unit_test(test_go_malformed),
        cmocka_unit_test(test_spec_example),
        cmocka_unit_test(test_checkpoint_text),
        cmocka_unit_test(test_key_names),
        cmocka_unit_test(test_quorum_signed),
        cmocka_unit_test(test_genesis_bound),
        cmocka_unit_test(test_sub_quorum_and_duplicates),
        cmocka_unit_test(test_unknown_keys_ignored),
        cmocka_unit_test(test_tampering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
