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

#include <leveldb/c.h>

#include "chainbuilder.h"
#include "exec.h"
#include "execchain.h"
#include "sharestat.h"
#include "store.h"
#include "testkeys.h"
#include "tmpdir.h"
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

/* ---------------------------------------------------------------- rules */

#define CHAIN "share-test"
enum { JINAN = 0, ZIBO = 1, TAIAN = 2, DEZHOU_MEMBER = 4 };

static qc_validator_set_t g_vs;
static qc_hash_t g_genesis;

/* A chain the tests commit blocks to (execchain) and the sharing state after its blocks (an
 * overlay with nothing below, as the store keeps it). */
typedef struct {
    execchain_t x;
    sh_state_t ledger;
    uint64_t nonce;
} chain_t;

static int chain_shares(void *ctx, const uint8_t *k, size_t klen, uint8_t *val, size_t *vlen) {
    return sh_get(&((chain_t *)ctx)->ledger, k, klen, val, vlen);
}

static int chain_commit(void *ctx, const qc_tx_t *tx, const qc_validator_set_t *vs,
                        uint64_t height, uint64_t log_index) {
    (void)log_index;
    return sh_apply(&((chain_t *)ctx)->ledger, tx, vs, height, NULL, 0);
}

static chain_t *chain_new(void) {
    chain_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    sh_init(&c->ledger, NULL, NULL);
    execchain_init(&c->x, CHAIN, &g_genesis, &g_vs, chain_commit, c);
    c->x.shares = chain_shares;
    c->x.shares_ctx = c;
    return c;
}

static void chain_free(chain_t *c) {
    sh_free(&c->ledger);
    free(c);
}

/* A SHARE by member's seal key (a fresh nonce each). */
static qc_tx_t share(chain_t *c, uint32_t member, const qc_share_op_t *op) {
    qc_seckey_t sk;
    seal_key(member, &sk);
    qc_tx_t tx;
    assert_int_equal(qc_share_tx_build(CHAIN, &sk, ++c->nonce, 1000, op, &tx), QC_OK);
    return tx;
}

/* Builds the next block from txs, checks that a backup accepts it, commits it and returns
 * which of txs it holds (bit i: txs[i]). Frees txs. */
static uint32_t step(chain_t *c, qc_tx_t *txs, uint32_t n) {
    uint32_t mask = 0;
    char why[400] = "";
    int rc = execchain_step(&c->x, txs, n, &mask, why, sizeof why);
    assert_string_equal(why, ""); /* the backup's refusal or the commit's error, if any */
    assert_int_equal(rc, QC_OK);
    return mask;
}

/* Commits one transaction, which the rules must allow; returns its id. */
static qc_hash_t commit(chain_t *c, qc_tx_t tx) {
    qc_hash_t id = tx.id;
    assert_int_equal(step(c, &tx, 1), 1);
    return id;
}

/* Mempool admission of a copy of tx against the chain's head: the verdict, why in why. */
static int admit(chain_t *c, const qc_tx_t *tx, mempool_reject_t *r, char *why, size_t why_cap) {
    mempool_t mp;
    mempool_limits_t lim = {16, 1 << 20};
    assert_int_equal(mempool_init(&mp, &lim), QC_OK);
    exec_parent_t head = execchain_parent(&c->x);
    mempool_view_t v = {CHAIN, &g_vs, c->x.height + 1, head.seen, head.seen_ctx, NULL, why,
                        why_cap, NULL, NULL, chain_shares, c};
    qc_tx_t copy;
    assert_int_equal(qc_tx_clone(tx, &copy), QC_OK);
    int rc = mempool_add(&mp, &copy, &v, r);
    if (rc != QC_OK) qc_tx_free(&copy);
    mempool_free(&mp);
    return rc;
}

/* A backup's verdict on a block crafted to hold (a copy of) tx alone on the chain's head; its
 * sentence in why. */
static int check_alone(chain_t *c, const qc_tx_t *tx, char *why, size_t why_cap) {
    qc_tx_t copy;
    assert_int_equal(qc_tx_clone(tx, &copy), QC_OK);
    return execchain_check_crafted(&c->x, &copy, 1, why, why_cap);
}

/* The rules refuse tx on the chain's head with the sentence want, the same way in all three
 * places: the primary leaves it out, a backup refuses a block holding it, the mempool refuses
 * it. Frees tx. */
static void expect_refusal(chain_t *c, qc_tx_t tx, const char *want) {
    char why[400] = "", full[600];
    mempool_reject_t r;
    assert_int_equal(admit(c, &tx, &r, why, sizeof why), QC_ERR_STATE);
    assert_int_equal(r, MEMPOOL_REJECT_SHARE);
    assert_string_equal(why, want);
    assert_int_equal(check_alone(c, &tx, why, sizeof why), QC_ERR_INVALID);
    snprintf(full, sizeof full, "tx 0: data-sharing rules refused: %s", want);
    assert_string_equal(why, full);
    uint64_t h = c->x.height;
    assert_int_equal(step(c, &tx, 1), 0); /* the primary leaves it out: an empty block */
    assert_int_equal(c->x.height, h + 1);
}

static const char *hex(const qc_hash_t *h) {
    static char buf[4][65];
    static int next;
    char *out = buf[next++ & 3];
    qc_hex_encode(out, h->b, 32);
    return out;
}

/* Empty blocks until the head is at height h. */
static void advance_to(chain_t *c, uint64_t h) {
    while (c->x.height < h) step(c, NULL, 0);
}

static bool has_key(chain_t *c, const uint8_t *k, size_t klen) {
    uint8_t v[SH_VALUE_MAX];
    size_t vlen;
    return sh_get(&c->ledger, k, klen, v, &vlen) == QC_OK;
}

static void test_rules_whole_trail_and_refusals(void **state) {
    (void)state;
    chain_t *c = chain_new();
    char want[600];
    qc_share_op_t op = op_dataset("rain", 0x10, "cite");
    /* block 1: zibo publishes "rain"; jinan may publish a "rain" of its own */
    qc_hash_t ds = commit(c, share(c, ZIBO, &op));
    qc_hash_t ds_jinan = commit(c, share(c, JINAN, &op));
    assert_memory_not_equal(ds.b, ds_jinan.b, 32);
    snprintf(want, sizeof want, "zibo already published a dataset named \"rain\" (id %s); a new "
             "version needs a new name", hex(&ds));
    expect_refusal(c, share(c, ZIBO, &op), want);
    /* REQUEST refusals: an unknown dataset, the owner's own, a period already over */
    qc_hash_t nowhere;
    memset(nowhere.b, 0xee, 32);
    op = op_request(&nowhere, 1, "", 1, 100);
    snprintf(want, sizeof want, "dataset %s does not exist", hex(&nowhere));
    expect_refusal(c, share(c, TAIAN, &op), want);
    op = op_request(&ds, 1, "", 1, 100);
    snprintf(want, sizeof want, "dataset %s is zibo's own; its owner does not request it", hex(&ds));
    expect_refusal(c, share(c, ZIBO, &op), want);
    op = op_request(&ds, 1, "", 1, 2);
    snprintf(want, sizeof want, "the requested period ends at height 2, before this block "
             "(height %llu)", (unsigned long long)c->x.height + 1);
    expect_refusal(c, share(c, TAIAN, &op), want);
    /* taian asks for blocks 30..32, jinan for 1..100 */
    op = op_request(&ds, 2, "flood model", 30, 32);
    qc_hash_t rq1 = commit(c, share(c, TAIAN, &op));
    uint64_t rq1_height = c->x.height;
    op = op_request(&ds, 1, "bus routes", 1, 100);
    qc_hash_t rq2 = commit(c, share(c, JINAN, &op));
    uint8_t k[SH_KEY_MAX];
    assert_true(has_key(c, k, sh_key_open(k, SH_ROLE_TO, "zibo", rq1.b)));
    assert_true(has_key(c, k, sh_key_open(k, SH_ROLE_FROM, "taian", rq1.b)));
    /* ACCESS before any answer; GRANT by another city; GRANT of an unknown request */
    op = op_ref(QC_SHARE_ACCESS, &rq1, 0, 0x61);
    snprintf(want, sizeof want, "request %s is still open; access needs the owner's grant", hex(&rq1));
    expect_refusal(c, share(c, TAIAN, &op), want);
    op = op_ref(QC_SHARE_GRANT, &rq1, 0, 0);
    snprintf(want, sizeof want, "request %s is for dataset %s of zibo; only its owner answers it",
             hex(&rq1), hex(&ds));
    expect_refusal(c, share(c, JINAN, &op), want);
    op = op_ref(QC_SHARE_GRANT, &nowhere, 0, 0);
    snprintf(want, sizeof want, "request %s does not exist", hex(&nowhere));
    expect_refusal(c, share(c, ZIBO, &op), want);
    /* zibo grants taian's request and denies jinan's */
    op = op_ref(QC_SHARE_GRANT, &rq1, 0, 0);
    qc_hash_t grant = commit(c, share(c, ZIBO, &op));
    uint64_t grant_height = c->x.height;
    op = op_ref(QC_SHARE_DENY, &rq2, 3, 0);
    commit(c, share(c, ZIBO, &op));
    uint64_t deny_height = c->x.height;
    assert_false(has_key(c, k, sh_key_open(k, SH_ROLE_TO, "zibo", rq1.b)));
    assert_false(has_key(c, k, sh_key_open(k, SH_ROLE_FROM, "taian", rq1.b)));
    assert_false(has_key(c, k, sh_key_open(k, SH_ROLE_FROM, "jinan", rq2.b)));
    /* answered once: a second GRANT, a DENY after the grant, a GRANT after the deny */
    op = op_ref(QC_SHARE_GRANT, &rq1, 0, 0);
    snprintf(want, sizeof want, "request %s was already granted at height %llu; a request is "
             "answered once", hex(&rq1), (unsigned long long)grant_height);
    expect_refusal(c, share(c, ZIBO, &op), want);
    op = op_ref(QC_SHARE_DENY, &rq1, 1, 0);
    expect_refusal(c, share(c, ZIBO, &op), want);
    op = op_ref(QC_SHARE_GRANT, &rq2, 0, 0);
    snprintf(want, sizeof want, "request %s was already denied at height %llu; a request is "
             "answered once", hex(&rq2), (unsigned long long)deny_height);
    expect_refusal(c, share(c, ZIBO, &op), want);
    /* ACCESS: of a denied request, by another city, before and after the period */
    op = op_ref(QC_SHARE_ACCESS, &rq2, 0, 0x62);
    snprintf(want, sizeof want, "request %s was denied at height %llu; there is no access to "
             "attest", hex(&rq2), (unsigned long long)deny_height);
    expect_refusal(c, share(c, JINAN, &op), want);
    op = op_ref(QC_SHARE_ACCESS, &rq1, 0, 0x63);
    snprintf(want, sizeof want, "request %s was made by taian; only its requester attests access",
             hex(&rq1));
    expect_refusal(c, share(c, JINAN, &op), want);
    assert_true(c->x.height + 1 < 30);
    snprintf(want, sizeof want, "request %s allows access in blocks 30..32; this block is %llu",
             hex(&rq1), (unsigned long long)c->x.height + 1);
    expect_refusal(c, share(c, TAIAN, &op), want);
    advance_to(c, 29);
    qc_hash_t acc1 = commit(c, share(c, TAIAN, &op)); /* block 30 */
    op = op_ref(QC_SHARE_ACCESS, &rq1, 0, 0x64);
    commit(c, share(c, TAIAN, &op)); /* block 31 */
    advance_to(c, 32);
    snprintf(want, sizeof want, "request %s allows access in blocks 30..32; this block is 33",
             hex(&rq1));
    expect_refusal(c, share(c, TAIAN, &op), want);

    /* what the trail holds */
    sh_dataset_t d;
    assert_int_equal(sh_get_dataset(&c->ledger, ds.b, &d), QC_OK);
    assert_string_equal(d.owner, "zibo");
    assert_string_equal(d.name, "rain");
    assert_int_equal(d.request_count, 2);
    assert_int_equal(d.height, 1);
    uint8_t v[SH_VALUE_MAX];
    size_t vlen;
    assert_int_equal(sh_get(&c->ledger, k, sh_key_trail(k, ds.b, 0), v, &vlen), QC_OK);
    assert_int_equal(vlen, 32);
    assert_memory_equal(v, rq1.b, 32);
    assert_int_equal(sh_get(&c->ledger, k, sh_key_trail(k, ds.b, 1), v, &vlen), QC_OK);
    assert_memory_equal(v, rq2.b, 32);
    assert_int_equal(sh_get(&c->ledger, k, sh_key_trail(k, ds.b, 2), v, &vlen), QC_ERR_NOTFOUND);
    sh_request_t q;
    assert_int_equal(sh_get_request(&c->ledger, rq1.b, &q), QC_OK);
    assert_int_equal(q.state, SH_REQ_GRANTED);
    assert_string_equal(q.requester, "taian");
    assert_string_equal(q.purpose_text, "flood model");
    assert_int_equal(q.height, rq1_height);
    assert_int_equal(q.answer_height, grant_height);
    assert_memory_equal(q.answer_tx_id.b, grant.b, 32);
    assert_int_equal(q.access_count, 2);
    sh_access_t a;
    assert_int_equal(sh_get(&c->ledger, k, sh_key_access(k, rq1.b, 0), v, &vlen), QC_OK);
    assert_int_equal(sh_access_decode(v, vlen, &a), QC_OK);
    assert_int_equal(a.height, 30);
    assert_memory_equal(a.tx_id.b, acc1.b, 32);
    assert_int_equal(a.digest.b[0], 0x63);
    assert_int_equal(sh_get_request(&c->ledger, rq2.b, &q), QC_OK);
    assert_int_equal(q.state, SH_REQ_DENIED);
    assert_int_equal(q.reason, 3);
    assert_int_equal(q.access_count, 0);
    chain_free(c);
}

static void test_rules_in_one_block_and_replays(void **state) {
    (void)state;
    chain_t *c = chain_new();
    /* publish, request, grant and access in one block: each sees the ones before it */
    qc_tx_t txs[5];
    qc_share_op_t op = op_dataset("bus-stops", 0x20, "");
    txs[0] = share(c, JINAN, &op);
    op = op_request(&txs[0].id, 4, "", 1, 50);
    txs[1] = share(c, DEZHOU_MEMBER, &op);
    qc_hash_t rq = txs[1].id;
    op = op_ref(QC_SHARE_GRANT, &rq, 0, 0);
    txs[2] = share(c, JINAN, &op);
    op = op_ref(QC_SHARE_DENY, &rq, 2, 0); /* the second answer in the same block: left out */
    txs[3] = share(c, JINAN, &op);
    op = op_ref(QC_SHARE_ACCESS, &rq, 0, 0x30);
    txs[4] = share(c, DEZHOU_MEMBER, &op);
    qc_tx_t again;
    assert_int_equal(qc_tx_clone(&txs[4], &again), QC_OK);
    assert_int_equal(step(c, txs, 5), 0x17);
    sh_request_t q;
    assert_int_equal(sh_get_request(&c->ledger, rq.b, &q), QC_OK);
    assert_int_equal(q.state, SH_REQ_GRANTED);
    assert_int_equal(q.access_count, 1);
    /* the committed ACCESS replayed: the primary leaves it out, a backup and the mempool
     * refuse it by its transaction id */
    char why[400] = "";
    mempool_reject_t r;
    assert_int_equal(admit(c, &again, &r, why, sizeof why), QC_ERR_DUPLICATE);
    assert_int_equal(r, MEMPOOL_REJECT_DUP_COMMITTED);
    assert_int_equal(check_alone(c, &again, why, sizeof why), QC_ERR_DUPLICATE);
    assert_string_equal(why, "tx 0: already committed");
    assert_int_equal(step(c, &again, 1), 0);
    assert_int_equal(sh_get_request(&c->ledger, rq.b, &q), QC_OK);
    assert_int_equal(q.access_count, 1);
    /* a signer that is no member's seal key */
    qc_pubkey_t pk;
    qc_seckey_t outsider;
    testkeys_keypair(TESTKEY_SEAL, 40, &pk, &outsider);
    op = op_dataset("spoof", 1, "");
    qc_tx_t tx;
    assert_int_equal(qc_share_tx_build(CHAIN, &outsider, 1, 1000, &op, &tx), QC_OK);
    assert_int_equal(admit(c, &tx, &r, why, sizeof why), QC_ERR_MEMBER);
    assert_int_equal(r, MEMPOOL_REJECT_MEMBER);
    char w2[200];
    sh_state_t sh;
    sh_init(&sh, NULL, NULL);
    assert_int_equal(sh_apply(&sh, &tx, &g_vs, 1, w2, sizeof w2), QC_ERR_MEMBER);
    assert_string_equal(w2, "signer is not a member city's seal key");
    sh_free(&sh);
    assert_int_equal(step(c, &tx, 1), 0);
    /* other transaction types pass through the rules untouched */
    qc_life_op_t lo;
    memset(&lo, 0, sizeof lo);
    lo.code = 1;
    qc_seckey_t sk;
    seal_key(ZIBO, &sk);
    assert_int_equal(qc_life_tx_build(CHAIN, QC_TX_REVOKE, &sk, 9, 1000, &lo, &tx), QC_OK);
    sh_init(&sh, NULL, NULL);
    assert_int_equal(sh_apply(&sh, &tx, &g_vs, 1, w2, sizeof w2), QC_OK);
    assert_int_equal(sh.n, 0);
    sh_free(&sh);
    qc_tx_free(&tx);
    chain_free(c);
}

static int overlay_lookup(void *ctx, const uint8_t *k, size_t klen, uint8_t *val, size_t *vlen) {
    return sh_get(ctx, k, klen, val, vlen);
}

/* Commits txs[0..n) as the chain's next block (all must be kept) and keeps clones of them as
 * *pending, a block at that height whose state a node has not stored yet. */
static void commit_pending(chain_t *c, qc_tx_t *txs, uint32_t n, qc_block_t *pending) {
    memset(pending, 0, sizeof *pending);
    pending->txs = calloc(n, sizeof *pending->txs);
    assert_non_null(pending->txs);
    for (uint32_t i = 0; i < n; i++) assert_int_equal(qc_tx_clone(&txs[i], &pending->txs[i]), QC_OK);
    pending->tx_count = n;
    pending->header.height = c->x.height + 1;
    assert_int_equal(step(c, txs, n), (1u << n) - 1);
}

/* A node sees the sharing state through its pending blocks (sh_get_after over its stored
 * state) exactly as applying them gives it, key by key, absent keys included. */
static void test_pending_blocks_seen_through(void **state) {
    (void)state;
    chain_t *c = chain_new();
    sh_state_t stored; /* what the node's ledger holds: block 1 only */
    sh_init(&stored, NULL, NULL);
    qc_share_op_t op = op_dataset("rain", 0x10, "");
    qc_tx_t t[3];
    t[0] = share(c, ZIBO, &op);
    assert_int_equal(sh_apply(&stored, &t[0], &g_vs, 1, NULL, 0), QC_OK);
    qc_hash_t ds = commit(c, t[0]);
    qc_block_t pend[2];
    op = op_request(&ds, 1, "", 1, 100);
    t[0] = share(c, TAIAN, &op);
    qc_hash_t rq = t[0].id;
    t[1] = share(c, JINAN, &op);
    qc_hash_t rq2 = t[1].id;
    commit_pending(c, t, 2, &pend[0]);
    op = op_ref(QC_SHARE_GRANT, &rq, 0, 0);
    t[0] = share(c, ZIBO, &op);
    op = op_ref(QC_SHARE_ACCESS, &rq, 0, 0x55);
    t[1] = share(c, TAIAN, &op);
    commit_pending(c, t, 2, &pend[1]);
    const qc_block_t *blocks[2] = {&pend[0], &pend[1]};
    const qc_validator_set_t *vs[2] = {&g_vs, &g_vs};
    uint8_t keys[10][SH_KEY_MAX];
    size_t klen[10] = {
        sh_key_dataset(keys[0], ds.b), sh_key_name(keys[1], "zibo", "rain"),
        sh_key_request(keys[2], rq.b), sh_key_request(keys[3], rq2.b),
        sh_key_trail(keys[4], ds.b, 0), sh_key_trail(keys[5], ds.b, 1),
        sh_key_access(keys[6], rq.b, 0), sh_key_open(keys[7], SH_ROLE_TO, "zibo", rq.b),
        sh_key_open(keys[8], SH_ROLE_FROM, "jinan", rq2.b), sh_key_access(keys[9], rq.b, 1)};
    const bool present[10] = {true, true, true, true, true, true, true, false, true, false};
    for (int i = 0; i < 10; i++) {
        uint8_t want[SH_VALUE_MAX], got[SH_VALUE_MAX];
        size_t want_len = 0, got_len = 0;
        int wrc = sh_get(&c->ledger, keys[i], klen[i], want, &want_len);
        int grc = sh_get_after(overlay_lookup, &stored, blocks, vs, 2, keys[i], klen[i], got, &got_len);
        assert_int_equal(wrc, present[i] ? QC_OK : QC_ERR_NOTFOUND);
        assert_int_equal(grc, wrc);
        assert_int_equal(got_len, want_len);
        assert_memory_equal(got, want, want_len);
    }
    /* the stored state alone does not know the pending requests */
    uint8_t v[SH_VALUE_MAX];
    size_t vlen;
    assert_int_equal(sh_get(&stored, keys[2], klen[2], v, &vlen), QC_ERR_NOTFOUND);
    /* a pending block the rules refuse (a second grant) cannot be seen through: corruption */
    qc_block_free(&pend[0]);
    op = op_ref(QC_SHARE_GRANT, &rq, 0, 0);
    memset(&pend[0], 0, sizeof pend[0]);
    pend[0].txs = calloc(1, sizeof *pend[0].txs);
    assert_non_null(pend[0].txs);
    pend[0].txs[0] = share(c, ZIBO, &op);
    pend[0].tx_count = 1;
    pend[0].header.height = 2;
    assert_int_equal(sh_get_after(overlay_lookup, &c->ledger, blocks, vs, 1, keys[0], klen[0], v,
                                  &vlen), QC_ERR_CORRUPT);
    qc_block_free(&pend[0]);
    qc_block_free(&pend[1]);
    sh_free(&stored);
    chain_free(c);
}

/* ---------------------------------------------------------------- store */

typedef struct {
    char dir[256];
    chainbuilder_t cb;
    qc_validator_set_t vs;
    store_config_t cfg;
    store_t s;
    uint64_t nonce;
} fx_t;

static fx_t *fx_open(void) {
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(tmpdir_make(f->dir, sizeof f->dir, "share"), 0);
    chainbuilder_init(&f->cb, "share-store-test", 4, 0);
    f->cfg.chain_id = f->cb.chain_id;
    qc_sha256(&f->cfg.genesis_hash, "genesis", 7);
    f->cb.genesis_hash = f->cfg.genesis_hash;
    f->vs = f->cb.vs;
    f->cfg.genesis_validators = &f->vs;
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    return f;
}

static void fx_close(fx_t *f) {
    store_close(&f->s);
    assert_int_equal(tmpdir_remove(f->dir), 0);
    free(f);
}

static qc_tx_t fx_share(fx_t *f, uint32_t member, const qc_share_op_t *op) {
    qc_tx_t tx;
    assert_int_equal(qc_share_tx_build(f->cb.chain_id, &f->cb.seal_sk[member], ++f->nonce, 1000,
                                       op, &tx), QC_OK);
    return tx;
}

/* The next block holding txs (moved into it) and its certificate; the builder advances. */
static void fx_block(fx_t *f, qc_tx_t *txs, uint32_t n, qc_block_t *b, qc_cert_t *c) {
    assert_int_equal(chainbuilder_block(&f->cb, txs, n, b, c), QC_OK);
    chainbuilder_advance(&f->cb, b);
}

static bool count_cb(void *ctx, const uint8_t *k, size_t klen, const uint8_t *val, size_t vlen) {
    (void)k; (void)klen; (void)val; (void)vlen;
    (*(size_t *)ctx)++;
    return true;
}

/* Keys under prefix in the store. */
static size_t fx_count(fx_t *f, const uint8_t *prefix, size_t plen) {
    size_t n = 0;
    assert_int_equal(store_share_each(&f->s, prefix, plen, NULL, 0, 100, count_cb, &n), QC_OK);
    return n;
}

static void raw_put(fx_t *f, const uint8_t *k, size_t klen, const void *v, size_t vlen) {
    char *err = NULL;
    leveldb_put(f->s.db, f->s.wopts, (const char *)k, klen, v, vlen, &err);
    assert_null(err);
}

static void test_store_writes_reads_and_checks_the_trail(void **state) {
    (void)state;
    fx_t *f = fx_open();
    qc_block_t b[2];
    qc_cert_t c[2];
    /* block 1: zibo publishes; block 2: taian and jinan request */
    qc_share_op_t op = op_dataset("rain", 0x10, "cite");
    qc_tx_t txs[2] = {fx_share(f, ZIBO, &op)};
    qc_hash_t ds = txs[0].id;
    fx_block(f, txs, 1, &b[0], &c[0]);
    assert_int_equal(store_apply_block(&f->s, &b[0], &c[0]), QC_OK);
    qc_block_free(&b[0]);
    op = op_request(&ds, 1, "flood model", 1, 500);
    txs[0] = fx_share(f, TAIAN, &op);
    op = op_request(&ds, 3, "", 1, 500);
    txs[1] = fx_share(f, JINAN, &op);
    qc_hash_t rq1 = txs[0].id, rq2 = txs[1].id;
    fx_block(f, txs, 2, &b[0], &c[0]);
    assert_int_equal(store_apply_block(&f->s, &b[0], &c[0]), QC_OK);
    qc_block_free(&b[0]);
    uint8_t k[SH_KEY_MAX] = {SH_OPEN, SH_ROLE_TO, 4, 'z', 'i', 'b', 'o'};
    assert_int_equal(fx_count(f, k, 7), 2);
    /* blocks 3 and 4 in one write: zibo grants taian, taian attests an access (the grant is
     * not in the database yet when block 4 is checked) */
    op = op_ref(QC_SHARE_GRANT, &rq1, 0, 0);
    txs[0] = fx_share(f, ZIBO, &op);
    fx_block(f, txs, 1, &b[0], &c[0]);
    op = op_ref(QC_SHARE_ACCESS, &rq1, 0, 0x44);
    txs[0] = fx_share(f, TAIAN, &op);
    fx_block(f, txs, 1, &b[1], &c[1]);
    size_t applied = 0;
    assert_int_equal(store_apply_blocks(&f->s, b, c, 2, &applied), QC_OK);
    assert_int_equal(applied, 2);
    qc_block_free(&b[0]);
    qc_block_free(&b[1]);
    /* read back after a reopen */
    store_close(&f->s);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    uint8_t v[SH_VALUE_MAX];
    size_t vlen;
    sh_dataset_t d;
    assert_int_equal(store_share_get(&f->s, k, sh_key_dataset(k, ds.b), v, &vlen), QC_OK);
    assert_int_equal(sh_dataset_decode(v, vlen, &d), QC_OK);
    assert_string_equal(d.owner, "zibo");
    assert_int_equal(d.request_count, 2);
    sh_request_t q;
    assert_int_equal(store_share_get(&f->s, k, sh_key_request(k, rq1.b), v, &vlen), QC_OK);
    assert_int_equal(sh_request_decode(v, vlen, &q), QC_OK);
    assert_int_equal(q.state, SH_REQ_GRANTED);
    assert_int_equal(q.answer_height, 3);
    assert_int_equal(q.access_count, 1);
    assert_int_equal(store_share_get(&f->s, k, sh_key_access(k, rq1.b, 0), v, &vlen), QC_OK);
    assert_int_equal(vlen, 72);
    assert_int_equal(store_share_get(&f->s, k, sh_key_request(k, ds.b), v, &vlen), QC_ERR_NOTFOUND);
    /* taian's request left the open lists; jinan's is open to zibo and from jinan */
    uint8_t to_zibo[] = {SH_OPEN, SH_ROLE_TO, 4, 'z', 'i', 'b', 'o'};
    uint8_t from_taian[] = {SH_OPEN, SH_ROLE_FROM, 5, 't', 'a', 'i', 'a', 'n'};
    uint8_t from_jinan[] = {SH_OPEN, SH_ROLE_FROM, 5, 'j', 'i', 'n', 'a', 'n'};
    assert_int_equal(fx_count(f, to_zibo, sizeof to_zibo), 1);
    assert_int_equal(fx_count(f, from_taian, sizeof from_taian), 0);
    assert_int_equal(fx_count(f, from_jinan, sizeof from_jinan), 1);
    assert_int_equal(store_share_get(&f->s, k, sh_key_open(k, SH_ROLE_TO, "zibo", rq2.b), v,
                                     &vlen), QC_OK);
    /* a listing resumes after a key: the trail's second entry is jinan's request */
    uint8_t trail[33] = {SH_TRAIL};
    memcpy(trail + 1, ds.b, 32);
    assert_int_equal(fx_count(f, trail, sizeof trail), 2);
    size_t n = 0;
    uint8_t after[SH_KEY_MAX];
    size_t after_len = sh_key_trail(after, ds.b, 0);
    assert_int_equal(store_share_each(&f->s, trail, sizeof trail, after, after_len, 100, count_cb,
                                      &n), QC_OK);
    assert_int_equal(n, 1);
    /* a block the rules refuse (a second grant) is refused by the store, which stays put */
    op = op_ref(QC_SHARE_GRANT, &rq1, 0, 0);
    txs[0] = fx_share(f, ZIBO, &op);
    assert_int_equal(chainbuilder_block(&f->cb, txs, 1, &b[0], &c[0]), QC_OK);
    assert_int_equal(store_apply_block(&f->s, &b[0], &c[0]), QC_ERR_INVALID);
    qc_block_free(&b[0]);
    assert_int_equal(f->s.head.height, 4);
    /* store_check counts the trail's keys against the committed SHARE transactions */
    store_check_stats_t cs;
    assert_int_equal(store_check(&f->s, &cs), QC_OK);
    const uint64_t want_ops[5] = {1, 2, 1, 0, 1};
    assert_memory_equal(cs.share_ops, want_ops, sizeof want_ops);
    /* an open-request key nothing implies, then a damaged request value: both found */
    uint8_t stray[SH_KEY_MAX];
    size_t stray_len = sh_key_open(stray, SH_ROLE_TO, "zibo", ds.b);
    uint8_t one = STORE_FORMAT_VERSION;
    raw_put(f, stray, stray_len, &one, 1);
    assert_int_equal(store_check(&f->s, &cs), QC_ERR_CORRUPT);
    assert_non_null(strstr(store_problem(&f->s), "keys in this family"));
    store_close(&f->s);
    assert_int_equal(store_open(&f->s, f->dir, &f->cfg), QC_OK);
    char *err = NULL;
    leveldb_delete(f->s.db, f->s.wopts, (const char *)stray, stray_len, &err);
    assert_null(err);
    size_t klen = sh_key_request(k, rq2.b);
    assert_int_equal(store_share_get(&f->s, k, klen, v, &vlen), QC_OK);
    uint8_t bad[1 + SH_VALUE_MAX] = {STORE_FORMAT_VERSION};
    memcpy(bad + 1, v, vlen - 1); /* one byte short */
    raw_put(f, k, klen, bad, vlen);
    assert_int_equal(store_check(&f->s, &cs), QC_ERR_CORRUPT);
    assert_non_null(strstr(store_problem(&f->s), "data request"));
    fx_close(f);
}

static int setup(void **state) {
    (void)state;
    testkeys_validators(&g_vs, 9, 0);
    memset(g_genesis.b, 0x67, sizeof g_genesis.b);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_roundtrip_each_op),
        cmocka_unit_test(test_formats_strict_refusals),
        cmocka_unit_test(test_formats_pinned_example),
        cmocka_unit_test(test_state_values_roundtrip_and_refusals),
        cmocka_unit_test(test_rules_whole_trail_and_refusals),
        cmocka_unit_test(test_rules_in_one_block_and_replays),
        cmocka_unit_test(test_pending_blocks_seen_through),
        cmocka_unit_test(test_store_writes_reads_and_checks_the_trail),
    };
    return cmocka_run_group_tests_name("share", tests, setup, NULL);
}
