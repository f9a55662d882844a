/* test_share.c - the data-sharing trail (docs/RECORDS.md, PROTOCOL §3 and §5.2): SHARE bodies
 * (round trips, strict refusals, the pinned example), the sharing state's value encodings, the
 * rules as exec, the mempool and a trusted replay apply them (every refusal with its sentence),
 * and what the store writes and reads back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sharestat.h"
#include "testkeys.h"
#include "vectors.h"

/* docs/PROTOCOL.md §5.2: zibo's DATASET and taian's REQUEST of it. */
#define VEC_SHARE_DATASET_BODY \
    "010006147368616e646f6e672d636972636c652d7465737487efdba034c51820" \
    "a532cc758104541da8610be52eee13eb18fd349dbfbe76dc0000000000000005" \
    "000000000000006401116169722d7175616c6974792d6461696c795555555555" \
    "55555555555555555555555555555555555555555555555555555501000f6369" \
    "74652074686520736f75726365"
#define VEC_SHARE_DATASET_ID \
    "713a28003747a8b23a9489b9f711f2f6db80df30451a307cd43c2dc55ef60288"
#define VEC_SHARE_REQUEST_BODY \
    "010006147368616e646f6e672d636972636c652d7465737458678fe60ab75413" \
    "1ddfccf0eda88bc45ce53f3c45b88036842be2780b232c8a0000000000000001" \
    "000000000000006402713a28003747a8b23a9489b9f711f2f6db80df30451a30" \
    "7cd43c2dc55ef602880002000b666c6f6f64206d6f64656c000000000000000a" \
    "0000000000000014"
#define VEC_SHARE_REQUEST_ID \
    "9871c50507eb4ef1ea3582d5d557a024dcaf70c67f613211431133db2b08f3f6"

static void assert_hex(const uint8_t *p, size_t n, const char *want) {
    char *hex = malloc(2 * n + 1);
    assert_non_null(hex);
    qc_hex_encode(hex, p, n);
    if (strcmp(hex, want) != 0) print_message("got %s\n", hex);
    assert_string_equal(hex, want);
    free(hex);
}

static void seal_key(uint32_t member, qc_seckey_t *sk) {
    qc_pubkey_t pk;
    testkeys_keypair(TESTKEY_SEAL, member, &pk, sk);
}

static qc_share_op_t op_dataset(const char *name, uint8_t schema, const char *terms) {
    qc_share_op_t op;
    memset(&op, 0, sizeof op);
    op.op = QC_SHARE_DATASET;
    snprintf(op.name, sizeof op.name, "%s", name);
    memset(op.schema.b, schema, 32);
    op.terms_kind = QC_TERMS_TEXT;
    snprintf(op.terms, sizeof op.terms, "%s", terms);
    return op;
}

static qc_share_op_t op_request(const qc_hash_t *dataset, uint16_t purpose, const char *text,
                                uint64_t from, uint64_t until) {
    qc_share_op_t op;
    memset(&op, 0, sizeof op);
    op.op = QC_SHARE_REQUEST;
    op.ref = *dataset;
    op.code = purpose;
    snprintf(op.purpose, sizeof op.purpose, "%s", text);
    op.from_height = from;
    op.until_height = until;
    return op;
}

static qc_share_op_t op_ref(uint8_t kind, const qc_hash_t *request, uint16_t code, uint8_t digest) {
    qc_share_op_t op;
    memset(&op, 0, sizeof op);
    op.op = kind;
    op.ref = *request;
    op.code = kind == QC_SHARE_DENY ? code : 0;
    if (kind == QC_SHARE_ACCESS) memset(op.digest.b, digest, 32);
    return op;
}

/* ---------------------------------------------------------------- formats */

static void test_formats_roundtrip_each_op(void **state) {
    (void)state;
    qc_seckey_t sk;
    seal_key(1, &sk);
    qc_hash_t ref;
    memset(ref.b, 0x42, 32);
    qc_share_op_t ops[6] = {
        op_dataset("air-quality 空气", 0x55, "cite the source"),
        op_dataset("x", 0x56, ""),
        op_request(&ref, 2, "flood model", 10, 20),
        op_ref(QC_SHARE_GRANT, &ref, 0, 0),
        op_ref(QC_SHARE_DENY, &ref, 65535, 0),
        op_ref(QC_SHARE_ACCESS, &ref, 0, 0x77),
    };
    ops[1].terms_kind = QC_TERMS_DIGEST;
    memset(ops[1].terms_digest.b, 0x99, 32);
    size_t common = 1 + 2 + 1 + strlen(VECTORS_CHAIN_ID) + 32 + 8 + 8;
    const size_t tail[6] = {1 + 1 + strlen(ops[0].name) + 32 + 1 + 2 + 15, 1 + 1 + 1 + 32 + 1 + 32,
                            1 + 32 + 2 + 2 + 11 + 16, 1 + 32, 1 + 32 + 2, 1 + 64};
    for (int i = 0; i < 6; i++) {
        qc_tx_t tx;
        assert_int_equal(qc_share_tx_build(VECTORS_CHAIN_ID, &sk, 5, 100, &ops[i], &tx), QC_OK);
        assert_int_equal(tx.type, QC_TX_SHARE);
        assert_non_null(tx.share);
        assert_null(tx.life);
        assert_null(tx.gov);
        assert_int_equal(tx.body_len, common + tail[i]);
        assert_memory_equal(tx.share, &ops[i], sizeof ops[i]); /* every field, zeros included */
        assert_int_equal(qc_tx_verify_sig(&tx), QC_OK);
        /* the protobuf envelope and a clone give the same operation */
        uint8_t *env;
        size_t env_len;
        assert_int_equal(qc_tx_encode(&tx, &env, &env_len), QC_OK);
        qc_tx_t copies[2];
        assert_int_equal(qc_tx_decode(env, env_len, &copies[0]), QC_OK);
        free(env);
        assert_int_equal(qc_tx_clone(&tx, &copies[1]), QC_OK);
        for (int c = 0; c < 2; c++) {
            assert_memory_equal(copies[c].share, tx.share, sizeof *tx.share);
            qc_tx_free(&copies[c]);
        }
        /* only the exact length parses: every truncation and one trailing byte are malformed */
        uint8_t buf[512];
        memcpy(buf, tx.body, tx.body_len);
        buf[tx.body_len] = 0;
        for (size_t n = common; n <= tx.body_len + 1; n++) {
            qc_tx_t t;
            int rc = qc_tx_parse(buf, n, &tx.sig, &t);
            assert_int_equal(rc, n == tx.body_len ? QC_OK : QC_ERR_INVALID);
            qc_tx_free(&t);
        }
        qc_tx_free(&tx);
    }
    assert_string_equal(qc_share_op_name(QC_SHARE_ACCESS), "access");
    assert_string_equal(qc_share_op_name(9), "unknown");
    assert_string_equal(qc_share_purpose_name(2), "planning and research");
    assert_null(qc_share_purpose_name(99));
    assert_string_equal(qc_share_deny_name(3), "data not available");
}

/* Parses a copy of tx's body in which byte `off` is `val`: the parser's verdict. */
static int parse_patched(const qc_tx_t *tx, size_t off, uint8_t val) {
    assert_true(off < tx->body_len);
    uint8_t *copy = malloc(tx->body_len);
    assert_non_null(copy);
    memcpy(copy, tx->body, tx->body_len);
    copy[off] = val;
    qc_tx_t parsed;
    int rc = qc_tx_parse(copy, tx->body_len, &tx->sig, &parsed);
    free(copy);
    qc_tx_free(&parsed);
    return rc;
}

static int build(const qc_share_op_t *op) {
    qc_seckey_t sk;
    seal_key(0, &sk);
    qc_tx_t tx;
    int rc = qc_share_tx_build(VECTORS_CHAIN_ID, &sk, 1, 9, op, &tx);
    qc_tx_free(&tx);
    return rc;
}

static void test_formats_strict_refusals(void **state) {
    (void)state;
    qc_hash_t ref;
    memset(ref.b, 0x42, 32);
    /* DATASET: empty, 65-byte, control-character and non-UTF-8 names; 513 bytes of terms; a
     * terms kind that is neither text nor digest */
    qc_share_op_t op = op_dataset("", 1, "");
    assert_int_equal(build(&op), QC_ERR_INVALID);
    op = op_dataset("", 1, "");
    memset(op.name, 'n', QC_DATASET_NAME_MAX);
    assert_int_equal(build(&op), QC_OK); /* exactly 64 */
    memset(op.name, 'n', QC_DATASET_NAME_MAX + 1);
    assert_int_equal(build(&op), QC_ERR_INVALID);
    op = op_dataset("tab\there", 1, "");
    assert_int_equal(build(&op), QC_ERR_INVALID);
    op = op_dataset("bad\xc3\x28", 1, "");
    assert_int_equal(build(&op), QC_ERR_INVALID);
    op = op_dataset("ok", 1, "");
    memset(op.terms, 't', QC_TERMS_MAX);
    assert_int_equal(build(&op), QC_OK); /* exactly 512 */
    memset(op.terms, 't', QC_TERMS_MAX + 1);
    assert_int_equal(build(&op), QC_ERR_INVALID);
    op = op_dataset("ok", 1, "terms\nwith lines");
    assert_int_equal(build(&op), QC_OK);
    op.terms_kind = 3;
    assert_int_equal(build(&op), QC_ERR_INVALID);
    /* REQUEST: purpose 0, 257 bytes of purpose text, from 0, from after until */
    op = op_request(&ref, 0, "", 1, 2);
    assert_int_equal(build(&op), QC_ERR_INVALID);
    op = op_request(&ref, 1, "", 1, 2);
    memset(op.purpose, 'p', QC_PURPOSE_MAX);
    assert_int_equal(build(&op), QC_OK);
    memset(op.purpose, 'p', QC_PURPOSE_MAX + 1);
    assert_int_equal(build(&op), QC_ERR_INVALID);
    op = op_request(&ref, 1, "", 0, 2);
    assert_int_equal(build(&op), QC_ERR_INVALID);
    op = op_request(&ref, 1, "", 3, 2);
    assert_int_equal(build(&op), QC_ERR_INVALID);
    op = op_request(&ref, 1, "", 7, 7);
    assert_int_equal(build(&op), QC_OK); /* one block */
    /* DENY: reason 0; ops 0 and 6 */
    op = op_ref(QC_SHARE_DENY, &ref, 0, 0);
    assert_int_equal(build(&op), QC_ERR_INVALID);
    op = op_ref(0, &ref, 0, 0);
    assert_int_equal(build(&op), QC_ERR_INVALID);
    op = op_ref(6, &ref, 0, 0);
    assert_int_equal(build(&op), QC_ERR_INVALID);

    /* byte patches of well-formed bodies */
    qc_seckey_t sk;
    seal_key(0, &sk);
    size_t common = 1 + 2 + 1 + strlen(VECTORS_CHAIN_ID) + 32 + 8 + 8;
    qc_tx_t tx;
    op = op_dataset("ab", 1, "xy");
    assert_int_equal(qc_share_tx_build(VECTORS_CHAIN_ID, &sk, 1, 9, &op, &tx), QC_OK);
    assert_int_equal(parse_patched(&tx, common, 0), QC_ERR_INVALID);         /* op 0 */
    assert_int_equal(parse_patched(&tx, common, 6), QC_ERR_INVALID);         /* op 6 */
    assert_int_equal(parse_patched(&tx, common + 1, 0), QC_ERR_INVALID);     /* empty name */
    assert_int_equal(parse_patched(&tx, common + 1, 3), QC_ERR_INVALID);     /* name length */
    assert_int_equal(parse_patched(&tx, common + 2, 0x00), QC_ERR_INVALID);  /* NUL in name */
    assert_int_equal(parse_patched(&tx, common + 2, 0x7f), QC_ERR_INVALID);  /* DEL in name */
    assert_int_equal(parse_patched(&tx, common + 2, 0xff), QC_ERR_INVALID);  /* not UTF-8 */
    size_t terms = common + 1 + 1 + 2 + 32;
    assert_int_equal(parse_patched(&tx, terms, 0), QC_ERR_INVALID);          /* terms kind 0 */
    assert_int_equal(parse_patched(&tx, terms + 3, 0), QC_ERR_INVALID);      /* NUL in terms */
    assert_int_equal(parse_patched(&tx, terms + 2, 1), QC_ERR_INVALID);      /* terms length */
    assert_int_equal(parse_patched(&tx, 2, QC_TX_ENDORSE), QC_ERR_INVALID);  /* another type */
    qc_tx_free(&tx);
    op = op_request(&ref, 1, "", 5, 6);
    assert_int_equal(qc_share_tx_build(VECTORS_CHAIN_ID, &sk, 1, 9, &op, &tx), QC_OK);
    size_t from = common + 1 + 32 + 2 + 2;
    assert_int_equal(parse_patched(&tx, from + 7, 7), QC_ERR_INVALID);       /* from 7 > until 6 */
    assert_int_equal(parse_patched(&tx, from + 7, 6), QC_OK);                /* from = until */
    assert_int_equal(parse_patched(&tx, from + 7, 0), QC_ERR_INVALID);       /* from 0 */
    assert_int_equal(parse_patched(&tx, from - 1, 1), QC_ERR_INVALID);       /* purpose length */
    qc_tx_free(&tx);
    /* a bad chain id */
    op = op_ref(QC_SHARE_GRANT, &ref, 0, 0);
    assert_int_equal(qc_share_tx_build("bad chain", &sk, 1, 9, &op, &tx), QC_ERR_INVALID);
}

/* The §5.2 example: zibo publishes "air-quality-daily", taian requests it. */
static void example_txs(qc_tx_t *ds, qc_tx_t *rq) {
    qc_seckey_t zibo, taian;
    seal_key(1, &zibo);
    seal_key(2, &taian);
    qc_share_op_t op = op_dataset("air-quality-daily", 0x55, "cite the source");
    assert_int_equal(qc_share_tx_build(VECTORS_CHAIN_ID, &zibo, 5, 100, &op, ds), QC_OK);
    op = op_request(&ds->id, 2, "flood model", 10, 20);
    assert_int_equal(qc_share_tx_build(VECTORS_CHAIN_ID, &taian, 1, 100, &op, rq), QC_OK);
}

static void test_formats_pinned_example(void **state) {
    (void)state;
    qc_tx_t ds, rq;
    example_txs(&ds, &rq);
    assert_hex(ds.body, ds.body_len, VEC_SHARE_DATASET_BODY);
    assert_hex(ds.id.b, 32, VEC_SHARE_DATASET_ID);
    assert_hex(rq.body, rq.body_len, VEC_SHARE_REQUEST_BODY);
    assert_hex(rq.id.b, 32, VEC_SHARE_REQUEST_ID);
    qc_tx_free(&ds);
    qc_tx_free(&rq);
}

static void test_state_values_roundtrip_and_refusals(void **state) {
    (void)state;
    uint8_t v[SH_VALUE_MAX];
    sh_dataset_t d, d2;
    memset(&d, 0, sizeof d);
    memset(d.id.b, 1, 32);
    snprintf(d.owner, sizeof d.owner, "zibo");
    snprintf(d.name, sizeof d.name, "rain");
    d.terms_kind = QC_TERMS_TEXT;
    memset(d.terms, 't', QC_TERMS_MAX);
    d.height = 4;
    d.request_count = 7;
    size_t n = sh_dataset_encode(&d, v);
    assert_int_equal(sh_dataset_decode(v, n, &d2), QC_OK);
    assert_memory_equal(&d, &d2, sizeof d);
    assert_int_equal(sh_dataset_decode(v, n - 1, &d2), QC_ERR_CORRUPT);
    assert_int_equal(sh_dataset_decode(v, n + 1, &d2), QC_ERR_CORRUPT);
    v[33] = 'Z'; /* owner is no member name */
    assert_int_equal(sh_dataset_decode(v, n, &d2), QC_ERR_CORRUPT);

    sh_request_t q, q2;
    memset(&q, 0, sizeof q);
    memset(q.id.b, 2, 32);
    snprintf(q.requester, sizeof q.requester, "taian");
    q.purpose = 1;
    q.from_height = 5;
    q.until_height = 9;
    q.height = 4;
    for (uint8_t st = SH_REQ_OPEN; st <= SH_REQ_DENIED; st++) {
        q.state = st;
        q.answer_height = st ? 6 : 0;
        q.reason = st == SH_REQ_DENIED ? 3 : 0;
        q.access_count = st == SH_REQ_GRANTED ? 2 : 0;
        n = sh_request_encode(&q, v);
        assert_int_equal(sh_request_decode(v, n, &q2), QC_OK);
        assert_memory_equal(&q, &q2, sizeof q);
        assert_int_equal(sh_request_decode(v, n - 1, &q2), QC_ERR_CORRUPT);
    }
    q.state = SH_REQ_OPEN;
    q.access_count = 1; /* accesses only under a grant */
    n = sh_request_encode(&q, v);
    assert_int_equal(sh_request_decode(v, n, &q2), QC_ERR_CORRUPT);
    q.access_count = 0;
    q.state = 3;
    n = sh_request_encode(&q, v);
    assert_int_equal(sh_request_decode(v, n, &q2), QC_ERR_CORRUPT);
    assert_string_equal(sh_req_state_name(SH_REQ_DENIED), "denied");

    sh_access_t a = {8, {{3}}, {{4}}}, a2;
    n = sh_access_encode(&a, v);
    assert_int_equal(n, 72);
    assert_int_equal(sh_access_decode(v, n, &a2), QC_OK);
    assert_memory_equal(&a, &a2, sizeof a);
    assert_int_equal(sh_access_decode(v, n + 1, &a2), QC_ERR_CORRUPT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_roundtrip_each_op),
        cmocka_unit_test(test_formats_strict_refusals),
        cmocka_unit_test(test_formats_pinned_example),
        cmocka_unit_test(test_state_values_roundtrip_and_refusals),
    };
    return cmocka_run_group_tests_name("share", tests, NULL, NULL);
}
