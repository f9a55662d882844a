/* test_fmt.c - canonical formats: strict decoding, signatures, certificates, quorum math, and
 * the published test vectors of docs/PROTOCOL.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "merkle.h"
#include "recstat.h"
#include "testkeys.h"
#include "vectors.h"

/* Published in docs/PROTOCOL.md; regenerate with build/bin/qchain_vectors. */
#define VEC_VALIDATORS_HASH \
    "dfd868c3a51eeb5effd13fc8f7bcda257867e7bc9c6919a8fef1920dcf903001"
#define VEC_TX_BODY \
    "010001147368616e646f6e672d636972636c652d746573746b79c57e6a095239" \
    "282c04818e96112f3f03a4001ba97a564c23852a3f1ea5fc0000000000000007" \
    "00000000000003e80002101112131415161718191a1b1c1d1e1f202122232425" \
    "262728292a2b2c2d2e2f076c6963656e6365000e4a4e2d323032362d30303031" \
    "323300404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c" \
    "5d5e5f0f7365616c65642d646f63756d656e74000de6b58ee58d97e5b8822d30" \
    "303101808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c" \
    "9d9e9f"
#define VEC_GOV_PROPOSE_ID \
    "bd687f6cbe3688e89dc178692f128634868d5117774680b8060e8a481923017c"
#define VEC_TX_ID \
    "079f90002483e2ea335cf9dc61d35e32a31727cb9fca549ed87e3562bc6154b6"
#define VEC_TX_SIG \
    "e670570639470dd7fd4b215fba1bbb04b1bc9c6aceb37b959003f6b9dccaea3a" \
    "b5531a5a92471f7d55c7f5d1d3e5e4e51f1aa608e12aaa5e7d7fd18ea0cee008"
#define VEC_GENESIS_HASH \
    "466fc3378e3899be5bb3ba04fc0ce6880dd70184c54ef3a9b1faeef0309f7102"
#define VEC_HEADER \
    "03147368616e646f6e672d636972636c652d74657374466fc3378e3899be5bb3" \
    "ba04fc0ce6880dd70184c54ef3a9b1faeef0309f710200000000000000010000" \
    "0000000000000000000000000000000000000000000000000000000000000000" \
    "01a1ee565e000000000100000000000000010000000000000000dfd868c3a51e" \
    "eb5effd13fc8f7bcda257867e7bc9c6919a8fef1920dcf90300100000001fb26" \
    "c085d58107edcdc049b18a57a9bd3afcc7551faa7c534584454e948ad4e50000" \
    "00000000000221ff52d9f2aacb30a83e61c95f651a7f509d254c73a7d490b1c9" \
    "7fb9424df5d1e5ebddde6ae1a9d3a8d9f125273d6f6dba906fa5466108cefe1c" \
    "cd9d8b1394560000000000000000000000000000000000000000000000000000" \
    "000000000000"
#define VEC_BLOCK_HASH \
    "02636bb06e831d4f1dda4c11b4e78904d71686b2997ec3f848b93a0a6a3f4b9e"
#define VEC_COMMIT_SIG0 \
    "a48f1937c1afd2c147f304813c78f4318f3af1faf208be9f212357a48e81ef89" \
    "cd4dde07a1cdf9b6295f4613ed1ad253df2a0f3b68cfc05bef162988aebc7008"

static int setup(void **state) {
    vectors_t *v = malloc(sizeof *v);
    if (v == NULL || vectors_build(v) != QC_OK) return -1;
    *state = v;
    return 0;
}

static int teardown(void **state) {
    vectors_free(*state);
    free(*state);
    return 0;
}

static void assert_hex(const uint8_t *p, size_t n, const char *want) {
    char *hex = malloc(2 * n + 1);
    assert_non_null(hex);
    qc_hex_encode(hex, p, n);
    assert_string_equal(hex, want);
    free(hex);
}

/* ---------------------------------------------------------------- transactions */

static void test_tx_roundtrip_and_sig(void **state) {
    vectors_t *v = *state;
    assert_int_equal(v->tx.record_count, 2);
    assert_int_equal(qc_tx_verify_sig(&v->tx), QC_OK);
    assert_string_equal(v->tx.chain_id, VECTORS_CHAIN_ID);
    assert_int_equal(v->tx.nonce, 7);
    assert_int_equal(v->tx.expiry_height, 1000);
    assert_null(v->tx.records[0].supersedes);
    assert_non_null(v->tx.records[1].supersedes);
    assert_int_equal(v->tx.records[0].type_len, strlen("licence"));
    assert_memory_equal(v->tx.records[0].type, "licence", 7);

    uint8_t *buf;
    size_t len;
    assert_int_equal(qc_tx_encode(&v->tx, &buf, &len), QC_OK);
    qc_tx_t back;
    assert_int_equal(qc_tx_decode(buf, len, &back), QC_OK);
    assert_memory_equal(back.id.b, v->tx.id.b, 32);
    assert_int_equal(qc_tx_verify_sig(&back), QC_OK);
    qc_tx_free(&back);
    free(buf);
}

static void test_tx_every_flipped_bit_breaks_sig_or_parse(void **state) {
    vectors_t *v = *state;
    uint8_t *body = malloc(v->tx.body_len);
    assert_non_null(body);
    for (size_t i = 0; i < v->tx.body_len; i++) {
        memcpy(body, v->tx.body, v->tx.body_len);
        body[i] ^= 0x01;
        qc_tx_t t;
        int rc = qc_tx_parse(body, v->tx.body_len, &v->tx.sig, &t);
        if (rc == QC_OK) {
            assert_int_equal(qc_tx_verify_sig(&t), QC_ERR_SIGNATURE);
            assert_memory_not_equal(t.id.b, v->tx.id.b, 32);
            qc_tx_free(&t);
        } else {
            assert_int_equal(rc, QC_ERR_INVALID);
        }
    }
    free(body);
}

static void test_tx_truncations_and_trailing_rejected(void **state) {
    vectors_t *v = *state;
    qc_tx_t t;
    for (size_t n = 0; n < v->tx.body_len; n++)
        assert_int_equal(qc_tx_parse(v->tx.body, n, &v->tx.sig, &t), QC_ERR_INVALID);
    uint8_t *longer = malloc(v->tx.body_len + 1);
    assert_non_null(longer);
    memcpy(longer, v->tx.body, v->tx.body_len);
    longer[v->tx.body_len] = 0;
    assert_int_equal(qc_tx_parse(longer, v->tx.body_len + 1, &v->tx.sig, &t), QC_ERR_INVALID);
    free(longer);
}

/* Offsets in the vector body: version 0, type 1..2, chain len 3, chain 4.., then signer. */
static void test_tx_field_checks(void **state) {
    vectors_t *v = *state;
    size_t cl = strlen(VECTORS_CHAIN_ID);
    size_t count_off = 1 + 2 + 1 + cl + 32 + 8 + 8;
    size_t rec0 = count_off + 2;
    struct { size_t off; uint8_t val; const char *what; } cases[] = {
        {0, 2, "unknown version"},
        {2, 2, "reserved type GOVERN has no parser yet"},
        {2, 9, "unknown type"},
        {3, 0, "empty chain id"},
        {4, '/', "chain id character"},
        {count_off + 1, 0, "record count 0"},
        {rec0 + 32 + 1, 'L', "upper case record type"},
        {rec0 + 32, 0, "empty record type"},
    };
    uint8_t *body = malloc(v->tx.body_len);
    assert_non_null(body);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(body, v->tx.body, v->tx.body_len);
        body[cases[i].off] = cases[i].val;
        qc_tx_t t;
        int rc = qc_tx_parse(body, v->tx.body_len, &v->tx.sig, &t);
        if (rc != QC_ERR_INVALID) fail_msg("accepted: %s", cases[i].what);
    }
    free(body);
}

static void test_tx_builder_rejects(void **state) {
    (void)state;
    qc_pubkey_t pk, other;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, 1, &pk, &sk);
    testkeys_keypair(TESTKEY_SEAL, 2, &other, NULL);
    qc_hash_t d = {{1}};
    qc_txb_t b;
    qc_tx_t tx;

    assert_int_equal(qc_txb_init(&b, "bad chain id", &pk, 1, 10), QC_ERR_INVALID);
    qc_txb_abort(&b);

    assert_int_equal(qc_txb_init(&b, "c", &pk, 1, 10), QC_OK);
    assert_int_equal(qc_txb_finish(&b, &sk, &tx), QC_ERR_INVALID); /* no records */

    assert_int_equal(qc_txb_init(&b, "c", &other, 1, 10), QC_OK);
    assert_int_equal(qc_txb_add_record(&b, &d, "licence", NULL, NULL), QC_OK);
    assert_int_equal(qc_txb_finish(&b, &sk, &tx), QC_ERR_INVALID); /* signer != sk */

    assert_int_equal(qc_txb_init(&b, "c", &pk, 1, 10), QC_OK);
    assert_int_equal(qc_txb_add_record(&b, &d, "Licence", NULL, NULL), QC_ERR_INVALID);
    qc_txb_abort(&b);

    assert_int_equal(qc_txb_init(&b, "c", &pk, 1, 10), QC_OK);
    assert_int_equal(qc_txb_add_record(&b, &d, "licence", "bad \xff utf8", NULL), QC_ERR_INVALID);
    qc_txb_abort(&b);

    char ref[QC_EXTREF_MAX + 2];
    memset(ref, 'a', sizeof ref - 1);
    ref[sizeof ref - 1] = '\0';
    assert_int_equal(qc_txb_init(&b, "c", &pk, 1, 10), QC_OK);
    assert_int_equal(qc_txb_add_record(&b, &d, "licence", ref, NULL), QC_ERR_INVALID);
    qc_txb_abort(&b);

    assert_int_equal(qc_txb_init(&b, "c", &pk, 1, 10), QC_OK);
    for (int i = 0; i < QC_TX_RECORDS_MAX; i++)
        assert_int_equal(qc_txb_add_record(&b, &d, "x", NULL, NULL), QC_OK);
    assert_int_equal(qc_txb_add_record(&b, &d, "x", NULL, NULL), QC_ERR_TOOBIG);
    qc_txb_abort(&b);

    assert_int_equal(qc_txb_init(&b, "c", &pk, 1, 10), QC_OK);
    for (int i = 0; i < QC_TX_RECORDS_MAX; i++)
        assert_int_equal(qc_txb_add_record(&b, &d, "x", NULL, NULL), QC_OK);
    assert_int_equal(qc_txb_finish(&b, &sk, &tx), QC_OK);
    assert_int_equal(tx.record_count, QC_TX_RECORDS_MAX);
    assert_int_equal(qc_tx_verify_sig(&tx), QC_OK);
    qc_tx_free(&tx);
}

static void test_tx_decode_garbage(void **state) {
    (void)state;
    qc_tx_t t;
    uint8_t junk[64];
    for (int i = 0; i < 64; i++) junk[i] = (uint8_t)(i * 37 + 11);
    assert_int_equal(qc_tx_decode(junk, sizeof junk, &t), QC_ERR_INVALID);
    assert_int_equal(qc_tx_decode(junk, 0, &t), QC_ERR_INVALID); /* empty body */
}

/* ---------------------------------------------------------------- headers and blocks */

static void test_header_roundtrip_and_strictness(void **state) {
    vectors_t *v = *state;
    uint8_t buf[QC_HEADER_BYTES_MAX + 1];
    size_t len;
    assert_int_equal(qc_header_encode(&v->block.header, buf, sizeof buf, &len), QC_OK);
    qc_header_t h;
    assert_int_equal(qc_header_decode(buf, len, &h), QC_OK);
    assert_memory_equal(&h, &v->block.header, sizeof h);
    for (size_t n = 0; n < len; n++) assert_int_equal(qc_header_decode(buf, n, &h), QC_ERR_INVALID);
    buf[len] = 0;
    assert_int_equal(qc_header_decode(buf, len + 1, &h), QC_ERR_INVALID);
    qc_header_t zero = v->block.header;
    zero.height = 0;
    qc_header_encode(&zero, buf, sizeof buf, &len);
    assert_int_equal(qc_header_decode(buf, len, &h), QC_ERR_INVALID);
    assert_int_equal(qc_header_encode(&v->block.header, buf, 10, &len), QC_ERR_TOOBIG);
}

/* A version-1 header (the layout before the genesis hash, 32 bytes shorter) and a version-2
 * header (before the state root, 32 bytes shorter) are refused by the decoder and the encoder,
 * and a reader is told why; so is a version-3 header relabelled 1, 2 or 4. */
static void test_header_version_1_refused(void **state) {
    vectors_t *v = *state;
    uint8_t buf[QC_HEADER_BYTES_MAX], old[QC_HEADER_BYTES_MAX];
    size_t len;
    assert_int_equal(qc_header_encode(&v->block.header, buf, sizeof buf, &len), QC_OK);
    assert_int_equal(buf[0], 3);
    assert_null(qc_header_version_why(buf, len));
    /* version 2: no state root before next_validators_hash */
    uint8_t v2[QC_HEADER_BYTES_MAX];
    size_t sr_at = len - 64;
    memcpy(v2, buf, sr_at);
    memcpy(v2 + sr_at, buf + len - 32, 32);
    v2[0] = 2;
    qc_header_t h2;
    assert_int_equal(qc_header_decode(v2, len - 32, &h2), QC_ERR_INVALID);
    assert_non_null(strstr(qc_header_version_why(v2, len - 32), "version 2"));
    size_t gh_at = 2 + strlen(v->block.header.chain_id);
    memcpy(old, buf, gh_at); /* the version 1 layout: no genesis hash after the chain id */
    memcpy(old + gh_at, buf + gh_at + 32, len - gh_at - 32);
    old[0] = 1;
    qc_header_t h;
    assert_int_equal(qc_header_decode(old, len - 32, &h), QC_ERR_INVALID);
    assert_non_null(strstr(qc_header_version_why(old, len - 32), "version 1"));
    buf[0] = 1;
    assert_int_equal(qc_header_decode(buf, len, &h), QC_ERR_INVALID);
    buf[0] = 2;
    assert_int_equal(qc_header_decode(buf, len, &h), QC_ERR_INVALID);
    buf[0] = 4;
    assert_int_equal(qc_header_decode(buf, len, &h), QC_ERR_INVALID);
    assert_non_null(qc_header_version_why(buf, len));
    qc_header_t v1 = v->block.header;
    v1.version = 1;
    assert_int_equal(qc_header_encode(&v1, buf, sizeof buf, &len), QC_ERR_INVALID);
}

static void test_header_hash_covers_every_field(void **state) {
    vectors_t *v = *state;
    qc_hash_t base, h2;
    qc_header_hash(&v->block.header, &base);
    qc_header_t variants[13];
    for (int i = 0; i < 13; i++) variants[i] = v->block.header;
    variants[0].height++;
    variants[1].prev_hash.b[5] ^= 1;
    variants[2].time_ms++;
    variants[3].proposer++;
    variants[4].view++;
    variants[5].epoch++;
    variants[6].validators_hash.b[0] ^= 1;
    variants[7].tx_root.b[31] ^= 1;
    variants[8].log_size++;
    variants[9].log_root.b[3] ^= 1;
    variants[10].next_validators_hash.b[31] ^= 1;
    variants[11].genesis_hash.b[0] ^= 1;
    variants[12].state_root.b[7] ^= 1;
    for (int i = 0; i < 13; i++) {
        qc_header_hash(&variants[i], &h2);
        assert_memory_not_equal(base.b, h2.b, 32);
    }
}

static void test_block_roundtrip_and_root_check(void **state) {
    vectors_t *v = *state;
    uint8_t *buf;
    size_t len;
    assert_int_equal(qc_block_encode(&v->block, &buf, &len), QC_OK);
    qc_block_t b;
    assert_int_equal(qc_block_decode(buf, len, &b), QC_OK);
    assert_int_equal(b.tx_count, 1);
    assert_memory_equal(b.txs[0].id.b, v->tx.id.b, 32);
    qc_block_free(&b);
    free(buf);

    qc_block_t bad = v->block; /* shallow: same txs, altered header */
    bad.header.tx_root.b[0] ^= 1;
    assert_int_equal(qc_block_encode(&bad, &buf, &len), QC_OK);
    assert_int_equal(qc_block_decode(buf, len, &b), QC_ERR_INVALID);
    free(buf);
    bad = v->block;
    bad.header.tx_count = 2;
    assert_int_equal(qc_block_encode(&bad, &buf, &len), QC_OK);
    assert_int_equal(qc_block_decode(buf, len, &b), QC_ERR_INVALID);
    free(buf);
    bad = v->block;
    snprintf(bad.header.chain_id, sizeof bad.header.chain_id, "other-chain");
    assert_int_equal(qc_block_encode(&bad, &buf, &len), QC_OK);
    assert_int_equal(qc_block_decode(buf, len, &b), QC_ERR_INVALID); /* tx of another chain */
    free(buf);
    uint8_t junk[3] = {0xff, 0xff, 0xff};
    assert_int_equal(qc_block_decode(junk, 3, &b), QC_ERR_INVALID);
}

static void test_block_decode_one_tx(void **state) {
    vectors_t *v = *state;
    uint8_t *buf;
    size_t len;
    assert_int_equal(qc_block_encode(&v->block, &buf, &len), QC_OK);
    qc_header_t h;
    qc_tx_t tx;
    assert_int_equal(qc_block_decode_tx(buf, len, 0, &h, &tx), QC_OK);
    assert_memory_equal(&h, &v->block.header, sizeof h);
    assert_memory_equal(tx.id.b, v->tx.id.b, 32);
    assert_int_equal(tx.record_count, 2);
    qc_tx_free(&tx);
    assert_int_equal(qc_block_decode_tx(buf, len, 1, &h, &tx), QC_ERR_RANGE);
    for (size_t n = 0; n < len; n++) /* every truncation is refused, never a partial answer */
        assert_int_not_equal(qc_block_decode_tx(buf, n, 0, &h, &tx), QC_OK);
    free(buf);
    qc_block_t bad = v->block;
    bad.header.tx_count = 2;
    assert_int_equal(qc_block_encode(&bad, &buf, &len), QC_OK);
    assert_int_equal(qc_block_decode_tx(buf, len, 0, &h, &tx), QC_ERR_INVALID);
    free(buf);
    bad = v->block;
    snprintf(bad.header.chain_id, sizeof bad.header.chain_id, "other-chain");
    assert_int_equal(qc_block_encode(&bad, &buf, &len), QC_OK);
    assert_int_equal(qc_block_decode_tx(buf, len, 0, &h, &tx), QC_ERR_INVALID);
    free(buf);
}

/* ---------------------------------------------------------------- certificates */

static void make_cert(qc_cert_t *c, const qc_validator_set_t *vs, const qc_hash_t *bh,
                      uint32_t votes) {
    memset(c, 0, sizeof *c);
    c->epoch = vs->epoch;
    c->height = 5;
    c->view = 2;
    c->block_hash = *bh;
    for (uint32_t i = 0; i < votes; i++) {
        qc_seckey_t sk;
        testkeys_keypair(TESTKEY_NODE, i, NULL, &sk);
        c->votes[i].validator = i;
        qc_commit_vote_sign(&c->votes[i].sig, &sk, "qc", vs->epoch, 5, 2, bh);
    }
    c->vote_count = votes;
}

static void test_cert_nine_cities(void **state) {
    (void)state;
    qc_validator_set_t vs;
    testkeys_validators(&vs, 9, 0);
    qc_hash_t bh = {{0xab}};
    qc_cert_t c;
    char why[160];

    make_cert(&c, &vs, &bh, 6);
    assert_int_equal(qc_cert_verify(&c, "qc", &vs, &bh, why, sizeof why), QC_OK);

    make_cert(&c, &vs, &bh, 5);
    assert_int_equal(qc_cert_verify(&c, "qc", &vs, &bh, why, sizeof why), QC_ERR_QUORUM);
    assert_string_equal(why, "5 valid signatures, quorum is 6");

    make_cert(&c, &vs, &bh, 6);
    c.votes[1].sig.b[10] ^= 1;
    assert_int_equal(qc_cert_verify(&c, "qc", &vs, &bh, why, sizeof why), QC_ERR_SIGNATURE);
    assert_string_equal(why, "signature by zibo's node key is invalid");

    make_cert(&c, &vs, &bh, 6);
    c.votes[5] = c.votes[0];
    assert_int_equal(qc_cert_verify(&c, "qc", &vs, &bh, why, sizeof why), QC_ERR_INVALID);
    assert_string_equal(why, "two votes by jinan");

    make_cert(&c, &vs, &bh, 6);
    c.votes[2].validator = 9;
    assert_int_equal(qc_cert_verify(&c, "qc", &vs, &bh, why, sizeof why), QC_ERR_MEMBER);

    make_cert(&c, &vs, &bh, 6);
    assert_int_equal(qc_cert_verify(&c, "other", &vs, &bh, why, sizeof why), QC_ERR_SIGNATURE);
    c.view = 3; /* votes were for view 2 */
    assert_int_equal(qc_cert_verify(&c, "qc", &vs, &bh, why, sizeof why), QC_ERR_SIGNATURE);

    make_cert(&c, &vs, &bh, 6);
    qc_hash_t other = {{0xcd}};
    assert_int_equal(qc_cert_verify(&c, "qc", &vs, &other, why, sizeof why), QC_ERR_INVALID);
    qc_validator_set_t vs1 = vs;
    vs1.epoch = 1;
    assert_int_equal(qc_cert_verify(&c, "qc", &vs1, &bh, why, sizeof why), QC_ERR_MEMBER);
}

static void test_cert_encode_decode(void **state) {
    vectors_t *v = *state;
    uint8_t *buf;
    size_t len;
    assert_int_equal(qc_cert_encode(&v->cert, &buf, &len), QC_OK);
    qc_cert_t c;
    assert_int_equal(qc_cert_decode(buf, len, &c), QC_OK);
    assert_memory_equal(&c, &v->cert, sizeof c);
    char why[160];
    assert_int_equal(qc_cert_verify(&c, VECTORS_CHAIN_ID, &v->vs, &v->block_hash, why, sizeof why),
                     QC_OK);
    free(buf);
    uint8_t junk[4] = {0x22, 0x02, 0x01, 0x02}; /* block_hash of length 2 */
    assert_int_equal(qc_cert_decode(junk, sizeof junk, &c), QC_ERR_INVALID);
}

static void test_quorum_table(void **state) {
    (void)state;
    assert_int_equal(qc_quorum(9), 6);
    assert_int_equal(qc_max_faulty(9), 2);
    for (uint32_t n = 4; n <= 16; n++) {
        uint32_t f = qc_max_faulty(n), q = qc_quorum(n);
        assert_true(3 * f + 1 <= n && n < 3 * (f + 1) + 1);
        assert_true(2 * q >= n + f + 1);     /* two quorums share an honest replica */
        assert_true(2 * (q - 1) < n + f + 1); /* q is the smallest such */
        assert_true(q <= n - f);              /* live with f silent replicas */
        if (n == 3 * f + 1) assert_int_equal(q, 2 * f + 1);
    }
}

static void test_validators_lookup(void **state) {
    (void)state;
    qc_validator_set_t vs;
    testkeys_validators(&vs, 9, 0);
    assert_int_equal(qc_validators_find_seal(&vs, &vs.members[4].seal_key), 4);
    assert_int_equal(qc_validators_find_node(&vs, &vs.members[8].node_key), 8);
    assert_int_equal(qc_validators_find_node(&vs, &vs.members[8].seal_key), -1);
    qc_hash_t a, b;
    qc_validators_hash(&vs, &a);
    vs.governance_threshold++;
    qc_validators_hash(&vs, &b);
    assert_memory_not_equal(a.b, b.b, 32);
}

/* ---------------------------------------------------------------- published vectors */

static void test_published_vectors(void **state) {
    vectors_t *v = *state;
    qc_hash_t vh;
    qc_validators_hash(&v->vs, &vh);
    assert_hex(vh.b, 32, VEC_VALIDATORS_HASH);
    assert_hex(v->genesis_hash.b, 32, VEC_GENESIS_HASH);
    assert_hex(v->block.header.genesis_hash.b, 32, VEC_GENESIS_HASH);
    assert_hex(v->tx.body, v->tx.body_len, VEC_TX_BODY);
    assert_hex(v->tx.id.b, 32, VEC_TX_ID);
    assert_hex(v->tx.sig.b, 64, VEC_TX_SIG);
    uint8_t hdr[QC_HEADER_BYTES_MAX];
    size_t hlen;
    assert_int_equal(qc_header_encode(&v->block.header, hdr, sizeof hdr, &hlen), QC_OK);
    assert_hex(hdr, hlen, VEC_HEADER);
    assert_hex(v->block_hash.b, 32, VEC_BLOCK_HASH);
    assert_hex(v->cert.votes[0].sig.b, 64, VEC_COMMIT_SIG0);
    assert_hex(v->gov_propose.id.b, 32, VEC_GOV_PROPOSE_ID);
    assert_int_equal(v->gov_approve.gov->op, QC_GOV_APPROVE);
    assert_memory_equal(v->gov_approve.gov->proposal.b, v->gov_propose.id.b, 32);
    assert_int_equal(qc_tx_verify_sig(&v->gov_propose), QC_OK);
    assert_int_equal(qc_tx_verify_sig(&v->gov_approve), QC_OK);
}


/* ---------------------------------------------------------------- record lifecycle */

/* Pinned in docs/PROTOCOL.md §3 and §5.1: ENDORSE of digest 0x11.. by seal key 1 (zibo),
 * purpose 1, note "ok", nonce 5, expiry 100 on the vectors chain. */
#define VEC_ENDORSE_BODY \
    "010003147368616e646f6e672d636972636c652d7465737487efdba034c51820" \
    "a532cc758104541da8610be52eee13eb18fd349dbfbe76dc0000000000000005" \
    "0000000000000064111111111111111111111111111111111111111111111111" \
    "11111111111111110001026f6b"
#define VEC_RECSTAT \
    "0111111111111111111111111111111111111111111111111111111111111111" \
    "11056a696e616e00000000000000032121212121212121212121212121212121" \
    "2121212121212121212121212121210000000000000007020000000000000009" \
    "2222222222222222222222222222222222222222222222222222222222222222" \
    "1212121212121212121212121212121212121212121212121212121212121212" \
    "0110101010101010101010101010101010101010101010101010101010101010" \
    "1002047a69626f00000000000000040001232323232323232323232323232323" \
    "232323232323232323232323232323232305746169616e000000000000000400" \
    "0224242424242424242424242424242424242424242424242424242424242424" \
    "24"
#define VEC_RECSTAT_HASH \
    "1dafd2d6de7fe69d564040012ca6171c4b057da86eb347415b2bbba3eaef11e0"

static void life_op(qc_life_op_t *op, uint8_t fill, uint16_t code, const char *note) {
    memset(op, 0, sizeof *op);
    memset(op->digest.b, fill, 32);
    memset(op->new_digest.b, fill + 1, 32);
    op->code = code;
    snprintf(op->note, sizeof op->note, "%s", note);
}

static void test_life_roundtrip_each_type(void **state) {
    (void)state;
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, 1, &pk, &sk);
    const uint16_t types[3] = {QC_TX_ENDORSE, QC_TX_REVOKE, QC_TX_SUPERSEDE};
    const size_t body_len[3] = {32 + 2 + 1 + 2, 32 + 2, 64};
    for (int i = 0; i < 3; i++) {
        qc_life_op_t op;
        life_op(&op, 0x11, 3, "ok");
        qc_tx_t tx;
        assert_int_equal(qc_life_tx_build(VECTORS_CHAIN_ID, types[i], &sk, 5, 100, &op, &tx), QC_OK);
        assert_int_equal(tx.type, types[i]);
        assert_true(qc_tx_type_is_lifecycle(tx.type));
        assert_non_null(tx.life);
        assert_null(tx.gov);
        assert_int_equal(tx.record_count, 0);
        assert_memory_equal(tx.signer.b, pk.b, 32);
        assert_memory_equal(tx.life->digest.b, op.digest.b, 32);
        size_t common = 1 + 2 + 1 + strlen(VECTORS_CHAIN_ID) + 32 + 8 + 8;
        assert_int_equal(tx.body_len, common + body_len[i]);
        if (types[i] == QC_TX_ENDORSE) {
            assert_int_equal(tx.life->code, 3);
            assert_string_equal(tx.life->note, "ok");
        }
        if (types[i] == QC_TX_REVOKE) assert_int_equal(tx.life->code, 3);
        if (types[i] == QC_TX_SUPERSEDE)
            assert_memory_equal(tx.life->new_digest.b, op.new_digest.b, 32);
        else
            assert_true(tx.life->new_digest.b[0] == 0 && tx.life->new_digest.b[31] == 0);
        assert_int_equal(qc_tx_verify_sig(&tx), QC_OK);
        uint8_t *buf;
        size_t len;
        assert_int_equal(qc_tx_encode(&tx, &buf, &len), QC_OK);
        qc_tx_t back;
        assert_int_equal(qc_tx_decode(buf, len, &back), QC_OK);
        assert_memory_equal(back.id.b, tx.id.b, 32);
        assert_memory_equal(back.life, tx.life, sizeof *tx.life);
        qc_tx_t clone;
        assert_int_equal(qc_tx_clone(&tx, &clone), QC_OK);
        assert_memory_equal(clone.life, tx.life, sizeof *tx.life);
        qc_tx_free(&clone);
        qc_tx_free(&back);
        free(buf);
        /* every truncation and a trailing byte are malformed */
        qc_tx_t t;
        for (size_t n = common; n < tx.body_len; n++)
            assert_int_equal(qc_tx_parse(tx.body, n, &tx.sig, &t), QC_ERR_INVALID);
        uint8_t longer[256];
        memcpy(longer, tx.body, tx.body_len);
        longer[tx.body_len] = 0;
        assert_int_equal(qc_tx_parse(longer, tx.body_len + 1, &tx.sig, &t), QC_ERR_INVALID);
        qc_tx_free(&tx);
    }
}

/* Parses body with byte `off` set to `val`; the parser's verdict. */
static int parse_patched(const qc_tx_t *tx, size_t off, uint8_t val) {
    uint8_t body[256];
    memcpy(body, tx->body, tx->body_len);
    body[off] = val;
    qc_tx_t t;
    int rc = qc_tx_parse(body, tx->body_len, &tx->sig, &t);
    qc_tx_free(&t);
    return rc;
}

static void test_life_strict_refusals(void **state) {
    (void)state;
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, 0, &pk, &sk);
    size_t common = 1 + 2 + 1 + strlen(VECTORS_CHAIN_ID) + 32 + 8 + 8;
    qc_life_op_t op;
    qc_tx_t tx;
    /* ENDORSE: purpose 0, a note longer than 64, a note that is not UTF-8 or holds a NUL */
    life_op(&op, 0x22, 0, "");
    assert_int_equal(qc_life_tx_build(VECTORS_CHAIN_ID, QC_TX_ENDORSE, &sk, 1, 9, &op, &tx), QC_ERR_INVALID);
    life_op(&op, 0x22, 1, "");
    memset(op.note, 'a', QC_NOTE_MAX + 1);
    assert_int_equal(qc_life_tx_build(VECTORS_CHAIN_ID, QC_TX_ENDORSE, &sk, 1, 9, &op, &tx), QC_ERR_INVALID);
    life_op(&op, 0x22, 1, "\xc3\x28");
    assert_int_equal(qc_life_tx_build(VECTORS_CHAIN_ID, QC_TX_ENDORSE, &sk, 1, 9, &op, &tx), QC_ERR_INVALID);
    life_op(&op, 0x22, 65535, "ab");
    assert_int_equal(qc_life_tx_build(VECTORS_CHAIN_ID, QC_TX_ENDORSE, &sk, 1, 9, &op, &tx), QC_OK);
    size_t note_off = common + 32 + 2 + 1;
    assert_int_equal(parse_patched(&tx, note_off, 0x00), QC_ERR_INVALID);  /* NUL in the note */
    assert_int_equal(parse_patched(&tx, note_off, 0xff), QC_ERR_INVALID);  /* not UTF-8 */
    assert_int_equal(parse_patched(&tx, note_off - 1, 3), QC_ERR_INVALID); /* length past the end */
    assert_int_equal(parse_patched(&tx, common + 32, 0), QC_OK);           /* purpose 0x00ff */
    assert_int_equal(parse_patched(&tx, 2, QC_TX_SHARE), QC_ERR_INVALID);  /* reserved type */
    assert_int_equal(parse_patched(&tx, 2, 7), QC_ERR_INVALID);
    qc_tx_free(&tx);
    /* a note of exactly 64 bytes is allowed; a length byte of 65 is not */
    life_op(&op, 0x22, 2, "");
    memset(op.note, 'n', QC_NOTE_MAX);
    assert_int_equal(qc_life_tx_build(VECTORS_CHAIN_ID, QC_TX_ENDORSE, &sk, 1, 9, &op, &tx), QC_OK);
    assert_int_equal(tx.life->note_len, QC_NOTE_MAX);
    assert_int_equal(parse_patched(&tx, note_off - 1, QC_NOTE_MAX + 1), QC_ERR_INVALID);
    qc_tx_free(&tx);
    /* REVOKE: reason 0 */
    life_op(&op, 0x33, 0, "");
    assert_int_equal(qc_life_tx_build(VECTORS_CHAIN_ID, QC_TX_REVOKE, &sk, 1, 9, &op, &tx), QC_ERR_INVALID);
    life_op(&op, 0x33, 4, "");
    assert_int_equal(qc_life_tx_build(VECTORS_CHAIN_ID, QC_TX_REVOKE, &sk, 1, 9, &op, &tx), QC_OK);
    uint8_t body[256];
    memcpy(body, tx.body, tx.body_len);
    body[common + 32] = 0;
    body[common + 33] = 0;
    qc_tx_t t;
    assert_int_equal(qc_tx_parse(body, tx.body_len, &tx.sig, &t), QC_ERR_INVALID);
    qc_tx_free(&tx);
    /* SUPERSEDE: old and new the same record */
    life_op(&op, 0x44, 0, "");
    op.new_digest = op.digest;
    assert_int_equal(qc_life_tx_build(VECTORS_CHAIN_ID, QC_TX_SUPERSEDE, &sk, 1, 9, &op, &tx), QC_ERR_INVALID);
    /* not a lifecycle type, a bad chain id */
    life_op(&op, 0x44, 1, "");
    assert_int_equal(qc_life_tx_build(VECTORS_CHAIN_ID, QC_TX_ANCHOR, &sk, 1, 9, &op, &tx), QC_ERR_INVALID);
    assert_int_equal(qc_life_tx_build("bad chain", QC_TX_REVOKE, &sk, 1, 9, &op, &tx), QC_ERR_INVALID);
}

static void test_life_pinned_encoding(void **state) {
    (void)state;
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, 1, &pk, &sk);
    qc_life_op_t op;
    life_op(&op, 0x11, 1, "ok");
    qc_tx_t tx;
    assert_int_equal(qc_life_tx_build(VECTORS_CHAIN_ID, QC_TX_ENDORSE, &sk, 5, 100, &op, &tx), QC_OK);
    assert_hex(tx.body, tx.body_len, VEC_ENDORSE_BODY);
    qc_tx_free(&tx);
}

/* A status with every part: owner jinan, superseded, one replaced record, two endorsements. */
static void sample_status(qc_recstat_t *st) {
    memset(st, 0, sizeof *st);
    memset(st->digest.b, 0x11, 32);
    snprintf(st->owner, sizeof st->owner, "jinan");
    st->first_height = 3;
    memset(st->first_tx_id.b, 0x21, 32);
    st->first_log_index = 7;
    st->state = QC_REC_SUPERSEDED;
    st->state_height = 9;
    memset(st->state_tx_id.b, 0x22, 32);
    memset(st->superseded_by.b, 0x12, 32);
    st->supersedes_count = 1;
    memset(st->supersedes[0].b, 0x10, 32);
    st->endorsement_count = 2;
    snprintf(st->endorsements[0].city, sizeof st->endorsements[0].city, "zibo");
    st->endorsements[0].height = 4;
    st->endorsements[0].purpose = 1;
    memset(st->endorsements[0].tx_id.b, 0x23, 32);
    snprintf(st->endorsements[1].city, sizeof st->endorsements[1].city, "taian");
    st->endorsements[1].height = 4;
    st->endorsements[1].purpose = 2;
    memset(st->endorsements[1].tx_id.b, 0x24, 32);
}

static void test_recstat_roundtrip_pinned(void **state) {
    (void)state;
    qc_recstat_t st, back;
    sample_status(&st);
    uint8_t buf[QC_RECSTAT_BYTES_MAX];
    size_t len;
    assert_int_equal(qc_recstat_encode(&st, buf, sizeof buf, &len), QC_OK);
    assert_hex(buf, len, VEC_RECSTAT);
    assert_int_equal(qc_recstat_decode(buf, len, &back), QC_OK);
    assert_memory_equal(&back, &st, sizeof st);
    qc_hash_t h;
    assert_int_equal(qc_recstat_hash(&st, &h), QC_OK);
    assert_hex(h.b, 32, VEC_RECSTAT_HASH);
    /* the hash is over the context and the encoding */
    qc_hash_t want;
    qc_hash_ctx(&want, "qchain/v1/record-status", buf, len);
    assert_memory_equal(h.b, want.b, 32);
    /* every truncation and a trailing byte are refused */
    for (size_t n = 0; n < len; n++) assert_int_equal(qc_recstat_decode(buf, n, &back), QC_ERR_INVALID);
    buf[len] = 0;
    assert_int_equal(qc_recstat_decode(buf, len + 1, &back), QC_ERR_INVALID);
    /* a revoked and a valid status round-trip too */
    st.state = QC_REC_REVOKED;
    st.reason = 3;
    memset(st.superseded_by.b, 0, 32);
    assert_int_equal(qc_recstat_encode(&st, buf, sizeof buf, &len), QC_OK);
    assert_int_equal(qc_recstat_decode(buf, len, &back), QC_OK);
    assert_memory_equal(&back, &st, sizeof st);
    st.state = QC_REC_VALID;
    st.state_height = 0;
    st.reason = 0;
    memset(st.state_tx_id.b, 0, 32);
    assert_int_equal(qc_recstat_encode(&st, buf, sizeof buf, &len), QC_OK);
    assert_int_equal(qc_recstat_decode(buf, len, &back), QC_OK);
    assert_memory_equal(&back, &st, sizeof st);
    assert_string_equal(qc_rec_state_name(QC_REC_SUPERSEDED), "superseded");
    assert_string_equal(qc_purpose_name(1), "e-seal recognition");
    assert_string_equal(qc_reason_name(1), "issued in error");
    assert_null(qc_reason_name(999));
}

/* The state map's fast hash of a fresh status equals qc_recstat_hash of the same status, for
 * every owner name length (1..32) and extreme heights and indexes. */
static void test_recstat_fresh_hash(void **state) {
    (void)state;
    qc_recstat_t *st = calloc(1, sizeof *st);
    assert_non_null(st);
    uint8_t d[32];
    qc_hash_t tx, want, got;
    for (size_t len = 1; len <= QC_MEMBER_NAME_MAX; len++) {
        char owner[QC_MEMBER_NAME_MAX + 1];
        for (size_t i = 0; i < len; i++) owner[i] = (char)('a' + (len + i) % 26);
        owner[len] = '\0';
        memset(d, (int)len, sizeof d);
        memset(tx.b, (int)(0xf0 ^ len), 32);
        uint64_t height = len % 2 ? 1 : UINT64_C(0x7fffffffffffffff);
        uint64_t index = len % 3 ? len * 1000003 : 0;
        qc_recstat_fresh(st, d, owner, height, &tx, index);
        assert_int_equal(qc_recstat_hash(st, &want), QC_OK);
        qc_recstat_fresh_hash(d, owner, height, &tx, index, &got);
        assert_memory_equal(want.b, got.b, 32);
    }
    free(st);
}

static void test_recstat_refusals(void **state) {
    (void)state;
    qc_recstat_t st;
    uint8_t buf[QC_RECSTAT_BYTES_MAX];
    size_t len;
    /* each of these is not a status the rules could produce */
    for (int c = 0; c < 9; c++) {
        sample_status(&st);
        switch (c) {
        case 0: snprintf(st.owner, sizeof st.owner, "Jinan"); break;
        case 1: snprintf(st.endorsements[1].city, sizeof st.endorsements[1].city, "zibo"); break;
        case 2: snprintf(st.endorsements[0].city, sizeof st.endorsements[0].city, "jinan"); break;
        case 3: st.endorsements[0].purpose = 0; break;
        case 4: st.endorsements[1].height = 2; break;
        case 5: st.superseded_by = st.digest; break;
        case 6: st.state = 3; break;
        case 7: st.state_height = 2; break;
        case 8: st.supersedes[0] = st.digest; break;
        }
        assert_int_equal(qc_recstat_encode(&st, buf, sizeof buf, &len), QC_ERR_INVALID);
    }
    /* and the decoder refuses the same things in bytes: a state byte 3, a version 2 */
    sample_status(&st);
    assert_int_equal(qc_recstat_encode(&st, buf, sizeof buf, &len), QC_OK);
    qc_recstat_t back;
    size_t state_off = 1 + 32 + 1 + 5 + 8 + 32 + 8;
    buf[state_off] = 3;
    assert_int_equal(qc_recstat_decode(buf, len, &back), QC_ERR_INVALID);
    buf[state_off] = QC_REC_SUPERSEDED;
    buf[0] = 2;
    assert_int_equal(qc_recstat_decode(buf, len, &back), QC_ERR_INVALID);
    buf[0] = 1;
    assert_int_equal(qc_recstat_decode(buf, len, &back), QC_OK);
    assert_int_equal(qc_recstat_encode(&st, buf, 10, &len), QC_ERR_TOOBIG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tx_roundtrip_and_sig),
        cmocka_unit_test(test_tx_every_flipped_bit_breaks_sig_or_parse),
        cmocka_unit_test(test_tx_truncations_and_trailing_rejected),
        cmocka_unit_test(test_tx_field_checks),
        cmocka_unit_test(test_tx_builder_rejects),
        cmocka_unit_test(test_tx_decode_garbage),
        cmocka_unit_test(test_header_roundtrip_and_strictness),
        cmocka_unit_test(test_header_version_1_refused),
        cmocka_unit_test(test_header_hash_covers_every_field),
        cmocka_unit_test(test_block_roundtrip_and_root_check),
        cmocka_unit_test(test_block_decode_one_tx),
        cmocka_unit_test(test_cert_nine_cities),
        cmocka_unit_test(test_cert_encode_decode),
        cmocka_unit_test(test_quorum_table),
        cmocka_unit_test(test_validators_lookup),
        cmocka_unit_test(test_published_vectors),
        cmocka_unit_test(test_life_roundtrip_each_type),
        cmocka_unit_test(test_life_strict_refusals),
        cmocka_unit_test(test_life_pinned_encoding),
        cmocka_unit_test(test_recstat_roundtrip_pinned),
        cmocka_unit_test(test_recstat_refusals),
        cmocka_unit_test(test_recstat_fresh_hash),
    };
    return cmocka_run_group_tests_name("fmt", tests, setup, teardown);
}
