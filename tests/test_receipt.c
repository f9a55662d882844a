/* test_receipt.c - receipts end to end below the HTTP layer: a real nine-member chain in a
 * LevelDB store (tests/lib/chainbuilder), receipts built from it by api_build_receipt for
 * first, middle and last leaves and right-edge tree sizes, the JSON round trip, and every
 * field of a receipt tampered in turn (table-driven, plus every byte of every hex field and
 * every field removed or given the wrong JSON type): each must fail parsing or verification,
 * with the reason a person is shown where the issue names one. Also pins the worked example
 * of docs/PROTOCOL.md §10.3 and the fuzz seeds in tests/fuzz/corpus/receipt/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "chainbuilder.h"
#include "node.h"
#include "receipt.h"
#include "receiptex.h"
#include "store.h"
#include "testkeys.h"
#include "govtest.h"
#include "tmpdir.h"

#define CHAIN "receipt-test"
#define MEMBERS 9 /* quorum 6: the "5 valid signatures, quorum is 6" */
#define LEAVES 9  /* record-log size after the three blocks */
#define DOC_PATH "docs/PROTOCOL.md"
#define SEEDS_DIR "tests/fuzz/corpus/receipt"

/* Byte offsets in a transaction body of CHAIN whose first record is ("licence", "doc-0"). */
#define CID_LEN (sizeof CHAIN - 1)
#define BODY_SIGNER (4 + CID_LEN)
#define BODY_NONCE (BODY_SIGNER + 32)
#define BODY_EXPIRY (BODY_NONCE + 8)
#define BODY_COUNT (BODY_EXPIRY + 8)
#define BODY_DIGEST (BODY_COUNT + 2)
#define BODY_TLEN (BODY_DIGEST + 32)
#define BODY_TYPE (BODY_TLEN + 1)
#define BODY_RLEN (BODY_TYPE + 7)
#define BODY_REF (BODY_RLEN + 2)
#define BODY_FLAGS (BODY_REF + 5)
/* Byte offsets in a canonical header of CHAIN (docs/PROTOCOL.md §4). */
#define HDR_GENESIS (2 + CID_LEN)
#define HDR_HEIGHT (HDR_GENESIS + 32)
#define HDR_PREV (HDR_HEIGHT + 8)
#define HDR_TIME (HDR_PREV + 32)
#define HDR_PROPOSER (HDR_TIME + 8)
#define HDR_VIEW (HDR_PROPOSER + 4)
#define HDR_EPOCH (HDR_VIEW + 8)
#define HDR_VHASH (HDR_EPOCH + 8)
#define HDR_TXCOUNT (HDR_VHASH + 32)
#define HDR_TXROOT (HDR_TXCOUNT + 4)
#define HDR_LOGSIZE (HDR_TXROOT + 32)
#define HDR_LOGROOT (HDR_LOGSIZE + 8)
#define HDR_STATEROOT (HDR_LOGROOT + 32)
#define HDR_NEXT_VHASH (HDR_STATEROOT + 32)
#define HDR_LEN (HDR_NEXT_VHASH + 32)

typedef struct {
    char dir[256];
    chainbuilder_t cb;
    node_t *node;                 /* api_build_receipt reads only its store and genesis */
    qc_validator_set_t vs;        /* the genesis validators (epoch 0) */
    qc_hash_t genesis_hash;
    qc_hash_t digest[LEAVES];     /* by log index */
    uint64_t height[LEAVES];
    uint32_t city[LEAVES];        /* signer's validator index */
    uint16_t rec_index[LEAVES];
    uint64_t n_leaves;
} fx_t;

/* ---------------------------------------------------------------- the chain */

/* Applies a block of txs signed by signers[i] with recs[i] records each. When next_n is not
 * zero (the set's size + 1) the block also carries the governance that adds testkeys member n
 * with the threshold testkeys_validators(next_n, epoch + 1) has, so it ends the builder's
 * epoch (checkpoint interval 1): the store puts that set in force from the next block and the
 * builder signs with it. */
static void add_block_switch(fx_t *f, const uint32_t *signers, const uint32_t *recs, uint32_t n,
                             uint32_t next_n) {
    qc_tx_t txs[4];
    assert_true(n <= 4);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(chainbuilder_tx(&f->cb, signers[i], i, NULL, recs[i], &txs[i]), QC_OK);
    qc_block_t b;
    qc_cert_t cert;
    qc_validator_set_t next;
    if (next_n) {
        assert_int_equal(next_n, f->cb.vs.n + 1);
        qc_change_t ch[2];
        govtest_change_add(&ch[0], f->cb.vs.n);
        govtest_change_threshold(&ch[1], (uint16_t)qc_quorum(next_n));
        assert_int_equal(govtest_block(&f->cb, ch, 2, txs, n, &b, &cert, &next), QC_OK);
        qc_validator_set_t want;
        testkeys_validators(&want, next_n, f->cb.vs.epoch + 1);
        assert_memory_equal(&want, &next, sizeof want);
        assert_int_equal(store_apply_block(&f->node->store, &b, &cert), QC_OK);
    } else {
        assert_int_equal(chainbuilder_block(&f->cb, txs, n, &b, &cert), QC_OK);
        assert_int_equal(store_apply_block(&f->node->store, &b, &cert), QC_OK);
    }
    uint32_t gov = b.tx_count - n; /* the governance transactions come first */
    for (uint32_t i = gov; i < b.tx_count; i++)
        for (uint32_t j = 0; j < b.txs[i].record_count; j++) {
            assert_true(f->n_leaves < LEAVES);
            memcpy(f->digest[f->n_leaves].b, b.txs[i].records[j].digest, 32);
            f->height[f->n_leaves] = b.header.height;
            f->city[f->n_leaves] = signers[i - gov];
            f->rec_index[f->n_leaves++] = (uint16_t)j;
        }
    chainbuilder_advance(&f->cb, &b);
    if (next_n) chainbuilder_set_validators(&f->cb, next_n, next.epoch);
    qc_block_free(&b);
}

static void add_block(fx_t *f, const uint32_t *signers, const uint32_t *recs, uint32_t n) {
    add_block_switch(f, signers, recs, n, 0);
}

/* A fixture with an empty store for CHAIN whose genesis set is testkeys_validators(n, 0). */
static fx_t *fx_open(uint32_t n) {
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->node = calloc(1, sizeof *f->node);
    assert_non_null(f->node);
    assert_int_equal(tmpdir_make(f->dir, sizeof f->dir, "receipt"), 0);
    chainbuilder_init(&f->cb, CHAIN, n, 0);
    f->vs = f->cb.vs;
    qc_hash_ctx(&f->genesis_hash, QC_CTX_GENESIS, "receipt-test genesis", 20);
    genesis_t *g = &f->node->genesis;
    snprintf(g->chain_id, sizeof g->chain_id, "%s", CHAIN);
    g->hash = f->genesis_hash;
    g->validators = f->vs;
    f->cb.genesis_hash = f->genesis_hash;
    store_config_t cfg = {CHAIN, f->genesis_hash, &f->vs};
    assert_int_equal(store_open(&f->node->store, f->dir, &cfg), QC_OK);
    return f;
}

/* Block 1: jinan 1 record, zibo 3 (log size 4). Block 2: taian 2 (size 6). Block 3: three
 * single-record txs (size 9), so receipts at sizes 4, 6 and 9 cover complete trees and
 * right-edge paths. */
static int fx_setup(void **state) {
    fx_t *f = fx_open(MEMBERS);
    add_block(f, (uint32_t[]){0, 1}, (uint32_t[]){1, 3}, 2);
    add_block(f, (uint32_t[]){2}, (uint32_t[]){2}, 1);
    add_block(f, (uint32_t[]){3, 4, 8}, (uint32_t[]){1, 1, 1}, 3);
    assert_int_equal(f->n_leaves, LEAVES);
    *state = f;
    return 0;
}

static int fx_teardown(void **state) {
    fx_t *f = *state;
    store_close(&f->node->store);
    assert_int_equal(tmpdir_remove(f->dir), 0);
    free(f->node);
    free(f);
    return 0;
}

/* The receipt of leaf i, from the store, as JSON (new reference). */
static json_t *receipt_of(fx_t *f, uint64_t i) {
    receipt_t r;
    assert_int_equal(api_build_receipt(f->node, &f->digest[i], NULL, &r), QC_OK);
    json_t *j = receipt_to_json(&r);
    assert_non_null(j);
    receipt_free(&r);
    return j;
}

/* ---------------------------------------------------------------- parse + verify */

typedef enum { AT_PARSE = 1, AT_VERIFY = 2, VALID = 3 } outcome_t;
static const char *const outcome_names[] = {"", "parse failure", "verify failure", "valid"};

/* Parses and verifies j; the stage reached, the reason in why, the result in *res. */
static outcome_t judge(fx_t *f, const json_t *j, const qc_hash_t *file_digest, char *why,
                       size_t cap, receipt_result_t *res) {
    receipt_t r;
    why[0] = '\0';
    if (receipt_from_json(j, &r, why, cap) != QC_OK) {
        assert_true(why[0] != '\0');
        return AT_PARSE;
    }
    int rc = receipt_verify(&r, CHAIN, &f->genesis_hash, &f->vs, file_digest, res, why, cap);
    receipt_free(&r);
    if (rc != QC_OK) assert_true(why[0] != '\0');
    return rc == QC_OK ? VALID : AT_VERIFY;
}

/* ---------------------------------------------------------------- JSON paths */

/* Resolves "cert.votes[1].sig"-style paths. On return *parent is the container of the last
 * step, and either *key (object member) or *index (array element) names it. */
static json_t *jpath(json_t *root, const char *path, json_t **parent, char *key, size_t *index) {
    json_t *cur = root, *par = NULL;
    const char *p = path;
    key[0] = '\0';
    while (*p) {
        par = cur;
        if (*p == '[') {
            char *end;
            *index = strtoul(p + 1, &end, 10);
            assert_true(*end == ']');
            key[0] = '\0';
            cur = json_array_get(par, *index);
            p = end + 1;
        } else {
            size_t n = strcspn(p, ".[");
            assert_true(n > 0 && n < 64);
            memcpy(key, p, n);
            key[n] = '\0';
            cur = json_object_get(par, key);
            p += n;
        }
        if (*p == '.') p++;
    }
    if (parent) *parent = par;
    return cur;
}

static json_t *jget(json_t *root, const char *path) {
    char key[64];
    size_t index;
    json_t *v = jpath(root, path, NULL, key, &index);
    if (v == NULL) fail_msg("no %s in the receipt", path);
    return v;
}

/* Replaces (or, for a new object key, adds) the value at path; v is stolen. */
static void jset(json_t *root, const char *path, json_t *v) {
    json_t *parent;
    char key[64];
    size_t index;
    jpath(root, path, &parent, key, &index);
    assert_non_null(parent);
    if (key[0]) assert_int_equal(json_object_set_new(parent, key, v), 0);
    else assert_int_equal(json_array_set_new(parent, index, v), 0);
}

static void jdel(json_t *root, const char *path) {
    json_t *parent;
    char key[64];
    size_t index;
    assert_non_null(jpath(root, path, &parent, key, &index));
    if (key[0]) assert_int_equal(json_object_del(parent, key), 0);
    else assert_int_equal(json_array_remove(parent, index), 0);
}

/* The bytes of the hex string at path (malloc'd; caller frees). */
static uint8_t *hex_get(json_t *root, const char *path, size_t *n) {
    const char *s = json_string_value(jget(root, path));
    assert_non_null(s);
    *n = strlen(s) / 2;
    uint8_t *b = malloc(*n + 1);
    assert_non_null(b);
    assert_int_equal(qc_hex_decode(b, *n, s), QC_OK);
    return b;
}

static void hex_set(json_t *root, const char *path, const uint8_t *b, size_t n) {
    jset(root, path, receipt_hex_json(b, n));
}

/* XORs byte `at` (negative: from the end) of the hex field at path with mask. */
static void hex_flip(json_t *root, const char *path, long long at, uint8_t mask) {
    size_t n;
    uint8_t *b = hex_get(root, path, &n);
    size_t i = at < 0 ? n - (size_t)(-at) : (size_t)at;
    assert_true(i < n);
    b[i] ^= mask;
    hex_set(root, path, b, n);
    free(b);
}

/* ---------------------------------------------------------------- round trip */

/* Receipts of first, middle and last leaves: (log index, expected audit path length). */
static const struct {
    uint64_t log_index;
    size_t path_len;
} k_cases[] = {
    {0, 2}, /* first leaf of a complete tree of 4 */
    {2, 2}, /* record 1 of zibo's three-record tx */
    {3, 2}, /* last record of that tx, last leaf at size 4 */
    {5, 2}, /* last leaf at size 6: a right-edge path */
    {6, 4}, /* size 9: left and right siblings and the one-leaf right edge */
    {8, 1}, /* last leaf at size 9: its sibling is the whole left tree of 8 */
};

static void test_round_trip(void **state) {
    fx_t *f = *state;
    for (size_t c = 0; c < sizeof k_cases / sizeof k_cases[0]; c++) {
        uint64_t i = k_cases[c].log_index;
        receipt_t r, back;
        assert_int_equal(api_build_receipt(f->node, &f->digest[i], NULL, &r), QC_OK);
        assert_int_equal(r.log_index, i);
        assert_int_equal(r.record_index, f->rec_index[i]);
        assert_int_equal(r.path_len, k_cases[c].path_len);
        json_t *j = receipt_to_json(&r);
        char *text = json_dumps(j, JSON_COMPACT);
        assert_non_null(text);
        json_error_t err;
        json_t *j2 = json_loads(text, JSON_REJECT_DUPLICATES, &err);
        assert_non_null(j2);
        char why[256];
        assert_int_equal(receipt_from_json(j2, &back, why, sizeof why), QC_OK);
        assert_string_equal(back.chain_id, r.chain_id);
        assert_memory_equal(&back.header, &r.header, sizeof r.header);
        assert_memory_equal(&back.cert, &r.cert, sizeof r.cert);
        assert_memory_equal(back.path, r.path, r.path_len * sizeof r.path[0]);
        assert_int_equal(back.tree_size, r.tree_size);
        assert_int_equal(back.tx.body_len, r.tx.body_len);
        assert_memory_equal(back.tx.body, r.tx.body, r.tx.body_len);
        json_t *j3 = receipt_to_json(&back); /* the JSON form is canonical */
        char *text3 = json_dumps(j3, JSON_COMPACT);
        assert_string_equal(text3, text);
        receipt_result_t res;
        assert_int_equal(receipt_verify(&back, CHAIN, &f->genesis_hash, &f->vs, &f->digest[i],
                                        &res, why, sizeof why), QC_OK);
        assert_int_equal(res.city, f->city[i]);
        assert_string_equal(res.city_name, f->vs.members[f->city[i]].name);
        assert_int_equal(res.height, f->height[i]);
        assert_int_equal(res.time_ms, r.header.time_ms);
        assert_int_equal(res.signers, 6);
        assert_int_equal(res.quorum, 6);
        assert_int_equal(res.members, MEMBERS);
        free(text);
        free(text3);
        json_decref(j);
        json_decref(j2);
        json_decref(j3);
        receipt_free(&r);
        receipt_free(&back);
    }
}

/* ---------------------------------------------------------------- the tamper table */

typedef enum {
    T_FLIP,      /* XOR byte arg (negative: from the end) of hex field path with 0x01 */
    T_ZERO,      /* set byte arg of hex field path to 0x00 */
    T_ADD,       /* add arg to integer field path */
    T_SET,       /* set path (a new key adds it) to the JSON text */
    T_DEL,       /* remove path */
    T_DUP,       /* append a copy of array element arg (-1: last) to array path */
    T_HEX_CUT,   /* drop the last arg bytes of hex field path */
    T_HEX_APPEND,/* append arg zero bytes to hex field path */
    T_FN,        /* call fn */
} tamper_op_t;

typedef struct {
    const char *name;
    tamper_op_t op;
    const char *path;
    long long arg;
    const char *json;
    void (*fn)(fx_t *f, json_t *root);
    outcome_t expect;
    const char *why;             /* substring of the reason; NULL when any reason will do */
} tamper_t;

/* Reverses the array at path. */
static void reverse_at(json_t *root, const char *path) {
    json_t *arr = jget(root, path), *rev = json_array();
    for (size_t i = json_array_size(arr); i-- > 0;)
        json_array_append(rev, json_array_get(arr, i));
    jset(root, path, rev);
}

static void fn_reverse_votes(fx_t *f, json_t *root) {
    (void)f;
    reverse_at(root, "cert.votes");
}

/* A seventh genuine vote, by validator 6 (dongying). */
static void fn_extra_vote(fx_t *f, json_t *root) {
    json_t *cert = jget(root, "cert");
    qc_hash_t bh;
    const char *bh_hex = json_string_value(json_object_get(cert, "block_hash"));
    assert_int_equal(qc_hex_decode(bh.b, 32, bh_hex), QC_OK);
    qc_sig_t sig;
    qc_commit_vote_sign(&sig, &f->cb.node_sk[6], CHAIN, 0,
                        (uint64_t)json_integer_value(json_object_get(cert, "height")),
                        (uint64_t)json_integer_value(json_object_get(cert, "view")), &bh);
    json_array_append_new(json_object_get(cert, "votes"),
                          json_pack("{s:i, s:o}", "validator", 6, "sig",
                                    receipt_hex_json(sig.b, QC_SIG_BYTES)));
}

static void fn_too_many_votes(fx_t *f, json_t *root) {
    (void)f;
    json_t *votes = jget(root, "cert.votes");
    while (json_array_size(votes) <= QC_VALIDATORS_MAX)
        json_array_append_new(votes, json_deep_copy(json_array_get(votes, 0)));
}

/* PROTOCOL.md §10.1's bound on the path, MERKLE_PATH_MAX (63) entries, is what the decoder
 * takes; fn_max_path fills the path up to it (decoded, then refused by the proof check),
 * fn_long_path one past it (refused by the decoder). */
static void fill_path(json_t *root, size_t entries) {
    json_t *path = jget(root, "inclusion.path");
    while (json_array_size(path) < entries)
        json_array_append_new(path, json_deep_copy(json_array_get(path, 0)));
    assert_int_equal(json_array_size(path), entries);
}

static void fn_max_path(fx_t *f, json_t *root) {
    (void)f;
    fill_path(root, MERKLE_PATH_MAX);
}

static void fn_long_path(fx_t *f, json_t *root) {
    (void)f;
    fill_path(root, MERKLE_PATH_MAX + 1);
}

/* Claims the next record of the same (multi-record) transaction: its digest and index, with
 * the log index and proof left as they were. */
static void fn_sibling_record(fx_t *f, json_t *root) {
    (void)f;
    size_t n;
    uint8_t *body = hex_get(root, "tx.body", &n);
    int idx = (int)json_integer_value(jget(root, "record.tx_record_index"));
    qc_tx_t tx;
    qc_sig_t sig = {{0}};
    assert_int_equal(qc_tx_parse(body, n, &sig, &tx), QC_OK);
    assert_true(tx.record_count > 1);
    uint16_t other = (uint16_t)((idx + 1) % tx.record_count);
    hex_set(root, "record.digest", tx.records[other].digest, 32);
    jset(root, "record.tx_record_index", json_integer(other));
    qc_tx_free(&tx);
    free(body);
}

/* The header and certificate of the block after the receipt's (a valid pair, wrong block). */
/* The header relabelled version 1 (the layout before the genesis hash). */
static void fn_header_v1(fx_t *f, json_t *root) {
    (void)f;
    size_t n;
    uint8_t *hdr = hex_get(root, "header", &n);
    hdr[0] = 1;
    hex_set(root, "header", hdr, n);
    free(hdr);
}

static void fn_other_block(fx_t *f, json_t *root) {
    qc_block_t b;
    qc_cert_t cert;
    uint64_t h = (uint64_t)json_integer_value(jget(root, "cert.height"));
    assert_int_equal(store_block_get(&f->node->store, h % 3 + 1, &b, &cert), QC_OK);
    uint8_t hdr[QC_HEADER_BYTES_MAX];
    size_t len;
    assert_int_equal(qc_header_encode(&b.header, hdr, sizeof hdr, &len), QC_OK);
    hex_set(root, "header", hdr, len);
    jset(root, "cert", receipt_cert_json(&cert));
    jset(root, "inclusion.tree_size", json_integer((json_int_t)b.header.log_size));
    qc_block_free(&b);
}

#define SIG_BAD "the transaction's seal signature is invalid"
#define TX_BAD "receipt transaction body is not a valid canonical transaction"
#define HDR_BAD "receipt header is not a valid canonical block header"
#define OTHER_HASH "certificate is for a different block hash"
#define NO_ROOT "inclusion proof does not lead to the block's record-log root"
#define NOT_HERE "the transaction does not anchor this digest at record"
#define MISSING "is missing or has the wrong type"

static const tamper_t k_tampers[] = {
    /* the transaction body, region by region, and its signature */
    {"tx version", T_FLIP, "tx.body", 0, NULL, NULL, AT_PARSE, TX_BAD},
    {"tx type", T_FLIP, "tx.body", 2, NULL, NULL, AT_PARSE, TX_BAD},
    {"tx chain id length", T_FLIP, "tx.body", 3, NULL, NULL, AT_PARSE, TX_BAD},
    {"tx chain id", T_FLIP, "tx.body", 4, NULL, NULL, AT_VERIFY,
     "the transaction is for chain \"seceipt-test\", not \"receipt-test\""},
    {"tx chain id with a NUL", T_ZERO, "tx.body", 3 + CID_LEN, NULL, NULL, AT_PARSE, TX_BAD},
    {"tx signer", T_FLIP, "tx.body", BODY_SIGNER + 5, NULL, NULL, AT_VERIFY, SIG_BAD},
    {"tx nonce", T_FLIP, "tx.body", BODY_NONCE + 7, NULL, NULL, AT_VERIFY, SIG_BAD},
    {"tx expiry", T_FLIP, "tx.body", BODY_EXPIRY + 7, NULL, NULL, AT_VERIFY, SIG_BAD},
    {"tx record count", T_FLIP, "tx.body", BODY_COUNT + 1, NULL, NULL, AT_PARSE, TX_BAD},
    {"tx record 0 digest", T_FLIP, "tx.body", BODY_DIGEST + 31, NULL, NULL, AT_VERIFY, SIG_BAD},
    {"tx record 0 type length", T_FLIP, "tx.body", BODY_TLEN, NULL, NULL, AT_PARSE, TX_BAD},
    {"tx record 0 type", T_FLIP, "tx.body", BODY_TYPE, NULL, NULL, AT_VERIFY, SIG_BAD},
    {"tx record 0 ext_ref length", T_FLIP, "tx.body", BODY_RLEN + 1, NULL, NULL, AT_PARSE, TX_BAD},
    {"tx record 0 ext_ref", T_FLIP, "tx.body", BODY_REF + 4, NULL, NULL, AT_VERIFY, SIG_BAD},
    {"tx record 0 flags", T_FLIP, "tx.body", BODY_FLAGS, NULL, NULL, AT_PARSE, TX_BAD},
    {"tx last byte", T_FLIP, "tx.body", -1, NULL, NULL, AT_PARSE, TX_BAD},
    {"tx body cut by a byte", T_HEX_CUT, "tx.body", 1, NULL, NULL, AT_PARSE, TX_BAD},
    {"tx body with a trailing byte", T_HEX_APPEND, "tx.body", 1, NULL, NULL, AT_PARSE, TX_BAD},
    {"tx body empty", T_SET, "tx.body", 0, "\"\"", NULL, AT_PARSE, TX_BAD},
    {"tx body odd hex", T_SET, "tx.body", 0, "\"010\"", NULL, AT_PARSE, "\"body\": expected hex"},
    {"tx body not hex", T_SET, "tx.body", 0, "\"zz\"", NULL, AT_PARSE, "\"body\": expected hex"},
    {"tx sig first byte", T_FLIP, "tx.sig", 0, NULL, NULL, AT_VERIFY, SIG_BAD},
    {"tx sig last byte", T_FLIP, "tx.sig", 63, NULL, NULL, AT_VERIFY, SIG_BAD},
    {"tx sig short", T_HEX_CUT, "tx.sig", 1, NULL, NULL, AT_PARSE,
     "\"sig\": expected 64 hex bytes"},
    /* the header, field by field */
    {"header version", T_FLIP, "header", 0, NULL, NULL, AT_PARSE,
     "receipt header: block header version 2 (before headers carried the state root)"},
    {"header version 1", T_FN, NULL, 0, NULL, fn_header_v1, AT_PARSE,
     "receipt header: block header version 1 (before headers carried the genesis hash)"},
    {"header chain id length", T_FLIP, "header", 1, NULL, NULL, AT_PARSE, HDR_BAD},
    {"header chain id with a NUL", T_ZERO, "header", 1 + CID_LEN, NULL, NULL, AT_PARSE, HDR_BAD},
    {"header chain id", T_FLIP, "header", 2, NULL, NULL, AT_VERIFY,
     "receipt is for chain \"seceipt-test\""},
    {"header genesis_hash", T_FLIP, "header", HDR_GENESIS + 5, NULL, NULL, AT_VERIFY,
     "block header names genesis "},
    {"header height", T_FLIP, "header", HDR_HEIGHT + 6, NULL, NULL, AT_VERIFY,
     "certificate is for height"},
    {"header prev_hash", T_FLIP, "header", HDR_PREV + 31, NULL, NULL, AT_VERIFY, OTHER_HASH},
    {"header time_ms", T_FLIP, "header", HDR_TIME + 7, NULL, NULL, AT_VERIFY, OTHER_HASH},
    {"header proposer", T_FLIP, "header", HDR_PROPOSER + 3, NULL, NULL, AT_VERIFY, OTHER_HASH},
    {"header proposer out of range", T_FLIP, "header", HDR_PROPOSER, NULL, NULL, AT_PARSE, HDR_BAD},
    {"header view", T_FLIP, "header", HDR_VIEW + 7, NULL, NULL, AT_VERIFY, OTHER_HASH},
    {"header epoch", T_FLIP, "header", HDR_EPOCH + 7, NULL, NULL, AT_VERIFY,
     "block is in epoch 1; this receipt has no membership history to reach it"},
    {"header validators_hash", T_FLIP, "header", HDR_VHASH, NULL, NULL, AT_VERIFY,
     "block header names a different validator set than the genesis"},
    {"header tx_count", T_FLIP, "header", HDR_TXCOUNT + 3, NULL, NULL, AT_VERIFY, OTHER_HASH},
    {"header tx_count over the limit", T_FLIP, "header", HDR_TXCOUNT + 1, NULL, NULL, AT_PARSE,
     HDR_BAD},
    {"header tx_root", T_FLIP, "header", HDR_TXROOT + 9, NULL, NULL, AT_VERIFY, OTHER_HASH},
    {"header log_size", T_FLIP, "header", HDR_LOGSIZE + 7, NULL, NULL, AT_VERIFY, OTHER_HASH},
    {"header log_root", T_FLIP, "header", HDR_LOGROOT + 31, NULL, NULL, AT_VERIFY, OTHER_HASH},
    {"header state_root", T_FLIP, "header", HDR_STATEROOT + 13, NULL, NULL, AT_VERIFY, OTHER_HASH},
    {"header next_validators_hash", T_FLIP, "header", HDR_NEXT_VHASH + 7, NULL, NULL, AT_VERIFY,
     OTHER_HASH},
    {"header cut by a byte", T_HEX_CUT, "header", 1, NULL, NULL, AT_PARSE, HDR_BAD},
    {"header with a trailing byte", T_HEX_APPEND, "header", 1, NULL, NULL, AT_PARSE, HDR_BAD},
    {"header and cert of another block", T_FN, NULL, 0, NULL, fn_other_block, AT_VERIFY, NO_ROOT},
    /* the certificate */
    {"cert epoch", T_ADD, "cert.epoch", 1, NULL, NULL, AT_VERIFY,
     "certificate is for epoch 1 but the validator set is epoch 0"},
    {"cert height", T_ADD, "cert.height", 1, NULL, NULL, AT_VERIFY, "certificate is for height"},
    {"cert view", T_ADD, "cert.view", 1, NULL, NULL, AT_VERIFY,
     "signature by jinan's node key is invalid"},
    {"cert block_hash", T_FLIP, "cert.block_hash", 0, NULL, NULL, AT_VERIFY, OTHER_HASH},
    {"a vote's signature", T_FLIP, "cert.votes[1].sig", 10, NULL, NULL, AT_VERIFY,
     "signature by zibo's node key is invalid"},
    {"the last vote's signature", T_FLIP, "cert.votes[5].sig", 63, NULL, NULL, AT_VERIFY,
     "signature by binzhou's node key is invalid"},
    {"votes below quorum", T_DEL, "cert.votes[5]", 0, NULL, NULL, AT_VERIFY,
     "5 valid signatures, quorum is 6"},
    {"no votes", T_SET, "cert.votes", 0, "[]", NULL, AT_VERIFY, "0 valid signatures, quorum is 6"},
    {"a duplicated vote", T_DUP, "cert.votes", 0, NULL, NULL, AT_VERIFY, "two votes by jinan"},
    {"a vote moved to another validator", T_SET, "cert.votes[0].validator", 0, "8", NULL,
     AT_VERIFY, "signature by heze's node key is invalid"},
    {"a vote moved onto another voter", T_SET, "cert.votes[0].validator", 0, "1", NULL, AT_VERIFY,
     "signature by zibo's node key is invalid"},
    {"a vote by an out-of-range validator", T_SET, "cert.votes[2].validator", 0, "9", NULL,
     AT_VERIFY, "vote 2 names validator 9; epoch 0 has 9 validators"},
    {"a vote by validator 64", T_SET, "cert.votes[0].validator", 0, "64", NULL, AT_PARSE,
     "\"validator\" is out of range"},
    {"a vote by validator -1", T_SET, "cert.votes[0].validator", 0, "-1", NULL, AT_PARSE,
     "\"validator\" is out of range"},
    {"65 votes", T_FN, NULL, 0, NULL, fn_too_many_votes, AT_PARSE, "too many votes"},
    {"a vote's sig short", T_HEX_CUT, "cert.votes[0].sig", 1, NULL, NULL, AT_PARSE,
     "\"sig\": expected 64 hex bytes"},
    {"votes reordered (order is not signed)", T_FN, NULL, 0, NULL, fn_reverse_votes, VALID, NULL},
    {"a seventh genuine vote", T_FN, NULL, 0, NULL, fn_extra_vote, VALID, NULL},
    /* the inclusion proof */
    {"path entry 0", T_FLIP, "inclusion.path[0]", 0, NULL, NULL, AT_VERIFY, NO_ROOT},
    {"path entry 1", T_FLIP, "inclusion.path[1]", 31, NULL, NULL, AT_VERIFY, NO_ROOT},
    {"path without entry 1", T_DEL, "inclusion.path[1]", 0, NULL, NULL, AT_VERIFY, NO_ROOT},
    {"path without its first entry", T_DEL, "inclusion.path[0]", 0, NULL, NULL, AT_VERIFY, NO_ROOT},
    {"path with an extra entry", T_DUP, "inclusion.path", -1, NULL, NULL, AT_VERIFY, NO_ROOT},
    {"empty path", T_SET, "inclusion.path", 0, "[]", NULL, AT_VERIFY, NO_ROOT},
    {"path entry short", T_HEX_CUT, "inclusion.path[0]", 1, NULL, NULL, AT_PARSE,
     "inclusion path entry 0 is not a 32-byte hex hash"},
    {"path entry not a string", T_SET, "inclusion.path[1]", 0, "7", NULL, AT_PARSE,
     "inclusion path entry 1 is not a 32-byte hex hash"},
    {"path of 63 entries", T_FN, NULL, 0, NULL, fn_max_path, AT_VERIFY, NO_ROOT},
    {"path of 64 entries", T_FN, NULL, 0, NULL, fn_long_path, AT_PARSE,
     "inclusion path is too long"},
    {"tree_size + 1", T_ADD, "inclusion.tree_size", 1, NULL, NULL, AT_VERIFY, NO_ROOT},
    {"tree_size - 1", T_ADD, "inclusion.tree_size", -1, NULL, NULL, AT_VERIFY, NO_ROOT},
    {"tree_size negative", T_SET, "inclusion.tree_size", 0, "-5", NULL, AT_PARSE,
     "\"tree_size\" is out of range"},
    /* the record */
    {"log_index + 1", T_ADD, "record.log_index", 1, NULL, NULL, AT_VERIFY, NO_ROOT},
    {"log_index - 1", T_ADD, "record.log_index", -1, NULL, NULL, AT_VERIFY, NO_ROOT},
    {"log_index past the tree", T_SET, "record.log_index", 0, "9223372036854775807", NULL,
     AT_VERIFY, NO_ROOT},
    {"log_index negative", T_SET, "record.log_index", 0, "-1", NULL, AT_PARSE,
     "\"log_index\" is out of range"},
    {"tx_record_index + 1", T_ADD, "record.tx_record_index", 1, NULL, NULL, AT_VERIFY, NOT_HERE},
    {"tx_record_index past the tx", T_SET, "record.tx_record_index", 0, "1000", NULL, AT_VERIFY,
     NOT_HERE " 1000"},
    {"tx_record_index over the limit", T_SET, "record.tx_record_index", 0, "1024", NULL,
     AT_PARSE, "\"tx_record_index\" is out of range"},
    {"digest", T_FLIP, "record.digest", 31, NULL, NULL, AT_VERIFY, NOT_HERE},
    {"another record of the same tx", T_FN, NULL, 0, NULL, fn_sibling_record, AT_VERIFY, NO_ROOT},
    /* what binds the receipt to the chain */
    {"genesis_hash", T_FLIP, "genesis_hash", 0, NULL, NULL, AT_VERIFY,
     "receipt names genesis "},
    {"chain_id of another chain", T_SET, "chain_id", 0, "\"other-chain\"", NULL, AT_VERIFY,
     "the genesis is for \"receipt-test\""},
    {"chain_id not a chain id", T_SET, "chain_id", 0, "\"receipt test\"", NULL, AT_PARSE,
     "receipt chain_id is not a valid chain id"},
    {"chain_id empty", T_SET, "chain_id", 0, "\"\"", NULL, AT_PARSE, "not a valid chain id"},
    {"version 2", T_SET, "qchain_receipt", 0, "2", NULL, AT_PARSE, "unsupported receipt version"},
    {"version 0", T_SET, "qchain_receipt", 0, "0", NULL, AT_PARSE, "unsupported receipt version"},
    {"a membership step with only an epoch", T_SET, "membership", 0, "[{\"epoch\": 1}]", NULL,
     AT_PARSE, "receipt membership step 1: receipt field \"first_height\" " MISSING},
    /* unknown fields at every level */
    {"unknown top-level field", T_SET, "note", 0, "\"hi\"", NULL, AT_PARSE,
     "unknown field \"note\" in the receipt"},
    {"unknown record field", T_SET, "record.height", 0, "3", NULL, AT_PARSE,
     "unknown field \"height\" in record"},
    {"unknown tx field", T_SET, "tx.id", 0, "\"00\"", NULL, AT_PARSE, "unknown field \"id\" in tx"},
    {"unknown cert field", T_SET, "cert.round", 0, "0", NULL, AT_PARSE,
     "unknown field \"round\" in cert"},
    {"unknown vote field", T_SET, "cert.votes[3].name", 0, "\"zibo\"", NULL, AT_PARSE,
     "unknown field \"name\" in cert.votes"},
    {"unknown inclusion field", T_SET, "inclusion.root", 0, "\"00\"", NULL, AT_PARSE,
     "unknown field \"root\" in inclusion"},
    /* wrong JSON types (every field is covered by test_every_field_wrong_type) */
    {"record not an object", T_SET, "record", 0, "[]", NULL, AT_PARSE, "\"record\" " MISSING},
    {"cert.votes an object", T_SET, "cert.votes", 0, "{}", NULL, AT_PARSE, "\"votes\" " MISSING},
    {"a vote not an object", T_SET, "cert.votes[0]", 0, "\"00\"", NULL, AT_PARSE,
     "\"validator\" " MISSING},
    {"tree_size a string", T_SET, "inclusion.tree_size", 0, "\"9\"", NULL, AT_PARSE,
     "\"tree_size\" " MISSING},
    {"log_index a real", T_SET, "record.log_index", 0, "2.0", NULL, AT_PARSE,
     "\"log_index\" " MISSING},
    {"digest an integer", T_SET, "record.digest", 0, "0", NULL, AT_PARSE, "\"digest\" " MISSING},
    {"membership null", T_SET, "membership", 0, "null", NULL, AT_PARSE, "\"membership\" " MISSING},
    /* missing fields */
    {"no header", T_DEL, "header", 0, NULL, NULL, AT_PARSE, "\"header\" " MISSING},
    {"no tx.sig", T_DEL, "tx.sig", 0, NULL, NULL, AT_PARSE, "\"sig\" " MISSING},
    {"no cert.view", T_DEL, "cert.view", 0, NULL, NULL, AT_PARSE, "\"view\" " MISSING},
    {"no record.digest", T_DEL, "record.digest", 0, NULL, NULL, AT_PARSE, "\"digest\" " MISSING},
    {"no membership", T_DEL, "membership", 0, NULL, NULL, AT_PARSE, "\"membership\" " MISSING},
};

static void apply_tamper(fx_t *f, json_t *root, const tamper_t *t) {
    switch (t->op) {
    case T_FLIP: hex_flip(root, t->path, t->arg, 0x01); break;
    case T_ZERO: {
        size_t n;
        uint8_t *b = hex_get(root, t->path, &n);
        assert_true((size_t)t->arg < n);
        b[t->arg] = 0;
        hex_set(root, t->path, b, n);
        free(b);
        break;
    }
    case T_ADD: {
        json_t *v = jget(root, t->path);
        jset(root, t->path, json_integer(json_integer_value(v) + t->arg));
        break;
    }
    case T_SET: {
        json_error_t err;
        json_t *v = json_loads(t->json, JSON_DECODE_ANY, &err);
        assert_non_null(v);
        jset(root, t->path, v);
        break;
    }
    case T_DEL: jdel(root, t->path); break;
    case T_DUP: {
        json_t *arr = jget(root, t->path);
        size_t i = t->arg < 0 ? json_array_size(arr) - 1 : (size_t)t->arg;
        json_array_append_new(arr, json_deep_copy(json_array_get(arr, i)));
        break;
    }
    case T_HEX_CUT:
    case T_HEX_APPEND: {
        size_t n;
        uint8_t *b = hex_get(root, t->path, &n);
        uint8_t *nb = calloc(n + (size_t)t->arg + 1, 1);
        assert_non_null(nb);
        memcpy(nb, b, n);
        hex_set(root, t->path, nb, t->op == T_HEX_CUT ? n - (size_t)t->arg : n + (size_t)t->arg);
        free(b);
        free(nb);
        break;
    }
    case T_FN: t->fn(f, root); break;
    }
}

/* Applies every tamper of table[0..count) in turn to the receipt of leaf log_index. */
static void run_table(fx_t *f, uint64_t log_index, const tamper_t *table, size_t count) {
    json_t *genuine = receipt_of(f, log_index);
    char why[512];
    receipt_result_t res;
    assert_int_equal(judge(f, genuine, NULL, why, sizeof why, &res), VALID);
    for (size_t i = 0; i < count; i++) {
        const tamper_t *t = &table[i];
        json_t *j = json_deep_copy(genuine);
        apply_tamper(f, j, t);
        outcome_t got = judge(f, j, NULL, why, sizeof why, &res);
        if (got != t->expect || (t->why && strstr(why, t->why) == NULL))
            fail_msg("log index %llu, %s: %s \"%s\"; expected %s \"%s\"",
                     (unsigned long long)log_index, t->name, outcome_names[got], why,
                     outcome_names[t->expect], t->why ? t->why : "");
        if (got == VALID) assert_int_equal(res.city, f->city[log_index]);
        json_decref(j);
    }
    json_decref(genuine);
}

static void run_tamper_table(fx_t *f, uint64_t log_index) {
    run_table(f, log_index, k_tampers, sizeof k_tampers / sizeof k_tampers[0]);
}

/* Record 1 of zibo's three-record tx (size 4), and the last leaf at size 6 (right edge). */
static void test_tamper_table_multi_record(void **state) { run_tamper_table(*state, 2); }
static void test_tamper_table_right_edge(void **state) { run_tamper_table(*state, 5); }

/* The reader's file is not the anchored one (qchain verify FILE). */
static void test_file_digest(void **state) {
    fx_t *f = *state;
    json_t *j = receipt_of(f, 3);
    char why[256];
    receipt_result_t res;
    assert_int_equal(judge(f, j, &f->digest[3], why, sizeof why, &res), VALID);
    qc_hash_t other = f->digest[3];
    other.b[0] ^= 0x80;
    assert_int_equal(judge(f, j, &other, why, sizeof why, &res), AT_VERIFY);
    assert_non_null(strstr(why, "document digest does not match"));
    assert_int_equal(judge(f, j, &f->digest[4], why, sizeof why, &res), AT_VERIFY);
    assert_non_null(strstr(why, "document digest does not match"));
    json_decref(j);
}

/* ---------------------------------------------------------------- exhaustive tampering */

/* Collects the paths of every hex field of a receipt. */
static size_t hex_paths(json_t *root, char paths[][48], size_t cap) {
    static const char *const fixed[] = {"genesis_hash", "record.digest", "tx.body", "tx.sig",
                                        "header", "cert.block_hash"};
    size_t n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        snprintf(paths[n++], 48, "%s", fixed[i]);
    for (size_t i = 0; i < json_array_size(jget(root, "cert.votes")) && n < cap; i++)
        snprintf(paths[n++], 48, "cert.votes[%zu].sig", i);
    for (size_t i = 0; i < json_array_size(jget(root, "inclusion.path")) && n < cap; i++)
        snprintf(paths[n++], 48, "inclusion.path[%zu]", i);
    return n;
}

/* Flips every byte of the hex field at path in a copy of genuine, one byte at a time (the
 * bit rotating with the position); each copy must fail. Returns the number of flips. */
static size_t flip_all(fx_t *f, json_t *genuine, const char *path) {
    size_t len;
    free(hex_get(genuine, path, &len));
    for (size_t at = 0; at < len; at++) {
        json_t *j = json_deep_copy(genuine);
        hex_flip(j, path, (long long)at, (uint8_t)(1u << (at % 8)));
        char why[512];
        receipt_result_t res;
        if (judge(f, j, NULL, why, sizeof why, &res) == VALID)
            fail_msg("flipping byte %zu of %s still verifies", at, path);
        json_decref(j);
    }
    return len;
}

/* Every bit flip of every byte of every hex field must make the receipt fail. */
static void test_flip_every_byte(void **state) {
    fx_t *f = *state;
    json_t *genuine = receipt_of(f, 6);
    char paths[QC_VALIDATORS_MAX + MERKLE_PROOF_MAX + 8][48];
    size_t n_paths = hex_paths(genuine, paths, sizeof paths / sizeof paths[0]);
    size_t flips = 0;
    for (size_t p = 0; p < n_paths; p++) flips += flip_all(f, genuine, paths[p]);
    /* header, a one-record body, 6 vote sigs and the tx sig, 4 path entries and the digest,
     * genesis and block hashes */
    assert_int_equal(flips, HDR_LEN + (BODY_FLAGS + 1) + 7 * QC_SIG_BYTES + 7 * 32);
    json_decref(genuine);
}

/* Every member of every object, removed or replaced by a value of another JSON type, must
 * fail parsing with the field named. */
static void wrong_types_at(fx_t *f, json_t *genuine, const char *path, size_t *cases) {
    static const char *const values[] = {"null", "true", "\"x\"", "17", "-3", "1.5", "[]", "{}"};
    json_t *orig = jget(genuine, path);
    if (json_is_object(orig)) {
        const char *k;
        json_t *v;
        json_object_foreach(orig, k, v) {
            char sub[96];
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", k);
            wrong_types_at(f, genuine, sub, cases);
        }
    } else if (json_is_array(orig)) {
        for (size_t i = 0; i < json_array_size(orig); i++) {
            char sub[96];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            wrong_types_at(f, genuine, sub, cases);
        }
    }
    if (path[0] == '\0') return;
    char why[512];
    receipt_result_t res;
    bool in_array = path[strlen(path) - 1] == ']';
    if (!in_array) { /* a missing member */
        json_t *j = json_deep_copy(genuine);
        jdel(j, path);
        if (judge(f, j, NULL, why, sizeof why, &res) != AT_PARSE || !strstr(why, MISSING))
            fail_msg("without %s: \"%s\"", path, why);
        json_decref(j);
        (*cases)++;
    }
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        json_t *v = json_loads(values[i], JSON_DECODE_ANY, NULL);
        bool same = json_typeof(v) == json_typeof(orig) ||
                    (json_is_boolean(v) && json_is_boolean(orig));
        if (same) { json_decref(v); continue; }
        json_t *j = json_deep_copy(genuine);
        jset(j, path, v);
        if (judge(f, j, NULL, why, sizeof why, &res) != AT_PARSE)
            fail_msg("%s = %s still parses", path, values[i]);
        json_decref(j);
        (*cases)++;
    }
}

static void test_every_field_wrong_type(void **state) {
    fx_t *f = *state;
    json_t *genuine = receipt_of(f, 5);
    size_t cases = 0;
    wrong_types_at(f, genuine, "", &cases);
    /* 9 top-level + 3 record + 2 tx + 5 cert + 6 x 2 vote + 2 inclusion members: 33 removals;
     * those 33 values, 6 votes and 2 path entries each get at least 6 wrong types. */
    assert_true(cases >= 33 + 6 * 41);
    char why[256];
    receipt_t r;
    static const char *const roots[] = {"[]", "\"receipt\"", "null", "3"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        json_t *j = json_loads(roots[i], JSON_DECODE_ANY, NULL);
        assert_int_equal(receipt_from_json(j, &r, why, sizeof why), QC_ERR_INVALID);
        assert_string_equal(why, "a receipt is a JSON object");
        json_decref(j);
    }
    json_decref(genuine);
}

/* ---------------------------------------------------------------- the published example */

static char *read_text(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) fail_msg("cannot open %s (tests run from the repository root)", path);
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (cap - len < 4096) {
            cap = cap ? 2 * cap : 65536;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
    } while (got > 0);
    fclose(fp);
    buf[len] = '\0';
    return buf;
}

/* The Markdown printer wrote to a string (caller frees). */
static char *printed_by(void (*print)(const receiptex_t *, void *), const receiptex_t *x) {
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    print(x, mem);
    fclose(mem);
    return text;
}

/* docs/PROTOCOL.md §10.3 and §10.4 are exactly what receiptex prints, and every receipt of the
 * example chain (blocks 1 and 2 in epoch 0, block 4 in epoch 1 after the switch at block 3)
 * verifies against the example genesis file as `qchain verify` loads it. */
static void test_published_example(void **state) {
    (void)state;
    receiptex_t *x = calloc(1, sizeof *x);
    assert_non_null(x);
    assert_int_equal(receiptex_build(x), QC_OK);
    char *doc = read_text(DOC_PATH);
    char *printed = printed_by(receiptex_print, x);
    if (strstr(doc, printed) == NULL)
        fail_msg("%s §10.3 differs from build/bin/qchain_receiptex; regenerate it", DOC_PATH);
    free(printed);
    printed = printed_by(receiptex_print_switch, x);
    if (strstr(doc, printed) == NULL)
        fail_msg("%s §10.4 differs from build/bin/qchain_receiptex --switch; regenerate it",
                 DOC_PATH);
    free(printed);
    genesis_t *g = calloc(1, sizeof *g);
    assert_non_null(g);
    char why[256];
    assert_int_equal(genesis_parse(x->genesis_json, x->genesis_len, g, why, sizeof why), QC_OK);
    assert_memory_equal(g->hash.b, x->genesis.hash.b, 32);
    for (uint64_t i = 0; i < RECEIPTEX_LEAVES; i++) {
        receipt_t r;
        receipt_result_t res;
        bool switched = i >= RECEIPTEX_BLOCK2_LEAVES;
        assert_int_equal(receiptex_receipt(x, i, &r), QC_OK);
        assert_int_equal(r.membership_len, switched ? 1 : 0);
        if (receipt_verify(&r, g->chain_id, &g->hash, &g->validators, &r.digest, &res, why,
                           sizeof why) != QC_OK)
            fail_msg("example receipt %llu: %s", (unsigned long long)i, why);
        assert_string_equal(res.city_name, switched ? "dezhou" : "jinan");
        assert_int_equal(res.height, i < 2 ? 1 : switched ? 4 : 2);
        assert_int_equal(res.signers, switched ? 4 : 3);
        assert_int_equal(res.members, switched ? 5 : 4);
        assert_int_equal(res.epoch, switched ? 1 : 0);
        receipt_free(&r);
    }
    free(g);
    free(doc);
    receiptex_free(x);
    free(x);
}

/* A genesis file that differs from the example's in one unsigned detail (the genesis time, a
 * display name, an address, a consensus setting), with the same chain id and keys, is another
 * chain: no receipt of the example chain verifies against it, even with the receipt's own
 * genesis_hash field edited to name it, because every certified header carries the real
 * genesis hash (docs/PROTOCOL.md §10.2 step 2). */
static void test_other_genesis_same_keys_refused(void **state) {
    (void)state;
    receiptex_t *x = calloc(1, sizeof *x);
    genesis_t *g = calloc(1, sizeof *g);
    assert_non_null(x);
    assert_non_null(g);
    assert_int_equal(receiptex_build(x), QC_OK);
    static const char *const edits[][2] = {
        {"\"genesis_time_ms\": 1794999000000", "\"genesis_time_ms\": 1794999000001"},
        {"\"display_name\": \"Zibo 淄博\"", "\"display_name\": \"Zibo 淄博市\""},
        {"\"api_address\": \"taian.example.org:8100\"", "\"api_address\": \"taian.example.org:8101\""},
        {"\"view_timeout_ms\": 2000", "\"view_timeout_ms\": 2001"},
    };
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        const char *at = strstr(x->genesis_json, edits[e][0]);
        assert_non_null(at);
        size_t pre = (size_t)(at - x->genesis_json), old_len = strlen(edits[e][0]);
        size_t cap = x->genesis_len + strlen(edits[e][1]) + 1;
        char *edited = malloc(cap);
        assert_non_null(edited);
        snprintf(edited, cap, "%.*s%s%s", (int)pre, x->genesis_json, edits[e][1], at + old_len);
        char why[512];
        assert_int_equal(genesis_parse(edited, strlen(edited), g, why, sizeof why), QC_OK);
        assert_string_equal(g->chain_id, VECTORS_CHAIN_ID);
        assert_memory_equal(&g->validators, &x->v.vs, sizeof g->validators);
        assert_memory_not_equal(g->hash.b, x->genesis.hash.b, 32);
        for (uint64_t i = 0; i < RECEIPTEX_LEAVES; i++) {
            receipt_t r;
            receipt_result_t res;
            assert_int_equal(receiptex_receipt(x, i, &r), QC_OK);
            r.genesis_hash = g->hash; /* the unsigned field, edited to name the other file */
            assert_int_equal(receipt_verify(&r, g->chain_id, &g->hash, &g->validators, &r.digest,
                                             &res, why, sizeof why), QC_ERR_INVALID);
            char want[256], real_hex[65], other_hex[65];
            snprintf(want, sizeof want, "block header names genesis %s, the genesis file given is %s",
                     qc_hash_hex(real_hex, &x->genesis.hash), qc_hash_hex(other_hex, &g->hash));
            assert_string_equal(why, want);
            /* the genuine file still verifies the same receipt, with its field restored */
            r.genesis_hash = x->genesis.hash;
            assert_int_equal(receipt_verify(&r, VECTORS_CHAIN_ID, &x->genesis.hash, &x->v.vs,
                                             &r.digest, &res, why, sizeof why), QC_OK);
            receipt_free(&r);
        }
        free(edited);
    }
    free(g);
    receiptex_free(x);
    free(x);
}

/* The example chain's state roots (§8's block 1, blocks 2 to 4 of §10.3 and §10.4) are what a
 * node computes for the same transactions: the ledger (store_apply_block recomputes the root
 * as exec does: record statuses and the city heads of PROTOCOL §13.2) accepts blocks 1 and 2,
 * and the test chain builder (which also applies the lifecycle rules) gives all four roots,
 * across the switch to epoch 1 in which dezhou's city log starts. */
static void test_example_state_roots_as_a_node_builds(void **state) {
    (void)state;
    receiptex_t *x = calloc(1, sizeof *x);
    assert_non_null(x);
    assert_int_equal(receiptex_build(x), QC_OK);
    const qc_block_t *blocks[4] = {&x->v.block, &x->block2, &x->block3, &x->block4};
    const qc_cert_t *certs[2] = {&x->v.cert, &x->cert2};
    char dir[256];
    assert_int_equal(tmpdir_make(dir, sizeof dir, "receiptex"), 0);
    store_t *s = calloc(1, sizeof *s);
    assert_non_null(s);
    store_config_t cfg = {VECTORS_CHAIN_ID, x->genesis.hash, &x->v.vs, NULL, 0};
    assert_int_equal(store_open(s, dir, &cfg), QC_OK);
    for (int i = 0; i < 2; i++) assert_int_equal(store_apply_block(s, blocks[i], certs[i]), QC_OK);
    qc_hash_t root;
    assert_int_equal(store_state_root(s, &root), QC_OK);
    assert_memory_equal(root.b, x->block2.header.state_root.b, 32);
    store_close(s);
    free(s);
    assert_int_equal(tmpdir_remove(dir), 0);

    chainbuilder_t cb;
    chainbuilder_init(&cb, VECTORS_CHAIN_ID, 4, 0);
    for (int i = 0; i < 4; i++) {
        if (blocks[i] == &x->block4) chainbuilder_set_validators(&cb, 5, 1); /* epoch 1 */
        qc_block_t b = {.header = blocks[i]->header, .txs = blocks[i]->txs,
                        .tx_count = blocks[i]->tx_count}; /* the txs borrowed */
        memset(b.header.state_root.b, 0, 32);
        assert_int_equal(chainbuilder_seal(&cb, &b), QC_OK);
        assert_memory_equal(b.header.state_root.b, blocks[i]->header.state_root.b, 32);
        assert_memory_equal(b.header.log_root.b, blocks[i]->header.log_root.b, 32);
        chainbuilder_advance(&cb, &b);
    }
    /* block 2 moved jinan's city head; block 3, empty, moved nothing */
    assert_memory_not_equal(x->block2.header.state_root.b, x->v.block.header.state_root.b, 32);
    assert_memory_equal(x->block3.header.state_root.b, x->block2.header.state_root.b, 32);
    receiptex_free(x);
    free(x);
}

/* The fuzz seeds named valid_* are genuine receipts of the example chain, so fuzz_receipt
 * starts from inputs that reach every verification step. */
static void test_fuzz_seeds(void **state) {
    (void)state;
    receiptex_t *x = calloc(1, sizeof *x);
    assert_non_null(x);
    assert_int_equal(receiptex_build(x), QC_OK);
    DIR *d = opendir(SEEDS_DIR);
    assert_non_null(d);
    size_t valid = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "valid_", 6) != 0) continue;
        char path[512], why[256];
        snprintf(path, sizeof path, "%s/%s", SEEDS_DIR, e->d_name);
        char *text = read_text(path);
        json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        receipt_t r;
        receipt_result_t res;
        if (j == NULL || receipt_from_json(j, &r, why, sizeof why) != QC_OK)
            fail_msg("%s does not parse", path);
        if (receipt_verify(&r, VECTORS_CHAIN_ID, &x->genesis.hash, &x->v.vs, NULL, &res, why,
                           sizeof why) != QC_OK)
            fail_msg("%s: %s", path, why);
        receipt_free(&r);
        json_decref(j);
        free(text);
        valid++;
    }
    closedir(d);
    assert_int_equal(valid, RECEIPTEX_LEAVES);
    receiptex_free(x);
    free(x);
}

/* ---------------------------------------------------------------- receipts across epochs */

/* The epoch chain: a four-member genesis; block 1 (jinan 1 record); block 2 ends epoch 0 and
 * names five members (dezhou joins; zibo 1 record); block 3 in epoch 1 (dezhou 1 record);
 * block 4, empty, ends epoch 1 and names six members; block 5 in epoch 2 (the sixth member 1
 * record, jinan 2). Receipts of leaves 0 and 1 carry no membership, of leaf 2 one step, of
 * leaves 3..5 two. */
#define E_LEAVES 6
#define E_LEAF_EPOCH2 4     /* jinan's record 0 in block 5 */
static const uint64_t k_leaf_epoch[E_LEAVES] = {0, 0, 1, 2, 2, 2};

static int fxe_setup(void **state) {
    fx_t *f = fx_open(4);
    add_block(f, (uint32_t[]){0}, (uint32_t[]){1}, 1);
    add_block_switch(f, (uint32_t[]){1}, (uint32_t[]){1}, 1, 5);
    add_block(f, (uint32_t[]){4}, (uint32_t[]){1}, 1);
    add_block_switch(f, NULL, NULL, 0, 6);
    add_block(f, (uint32_t[]){5, 0}, (uint32_t[]){1, 2}, 2);
    assert_int_equal(f->n_leaves, E_LEAVES);
    *state = f;
    return 0;
}

/* The store's membership history as a receipt carries it: for each epoch the set the switch
 * block named, its first height, and that block's header and (valid) certificate. */
static void test_epoch_membership_from_store(void **state) {
    fx_t *f = *state;
    receipt_step_t *steps;
    size_t n;
    assert_int_equal(api_receipt_membership(&f->node->store, 0, &steps, &n), QC_OK);
    assert_null(steps);
    assert_int_equal(n, 0);
    assert_int_equal(api_receipt_membership(&f->node->store, 3, &steps, &n), QC_ERR_NOTFOUND);
    assert_null(steps);
    assert_int_equal(api_receipt_membership(&f->node->store, 2, &steps, &n), QC_OK);
    assert_int_equal(n, 2);
    static const uint64_t first[2] = {3, 5};
    const qc_validator_set_t *prev = &f->vs;
    for (size_t i = 0; i < n; i++) {
        qc_validator_set_t want;
        testkeys_validators(&want, (uint32_t)(5 + i), i + 1);
        assert_int_equal(steps[i].first_height, first[i]);
        assert_memory_equal(&steps[i].vs, &want, sizeof want);
        qc_header_t stored;
        assert_int_equal(store_header_get(&f->node->store, first[i] - 1, &stored), QC_OK);
        assert_memory_equal(&steps[i].switch_header, &stored, sizeof stored);
        qc_hash_t vh, bh;
        qc_validators_hash(&want, &vh);
        assert_memory_equal(stored.next_validators_hash.b, vh.b, 32);
        qc_header_hash(&stored, &bh);
        char why[256];
        assert_int_equal(qc_cert_verify(&steps[i].switch_cert, CHAIN, prev, &bh, why, sizeof why),
                         QC_OK);
        prev = &steps[i].vs;
    }
    free(steps);
}

/* Every leaf's receipt from the store verifies from the genesis set, names the anchoring city
 * by its index in the block's epoch, carries one step per epoch, and its JSON is canonical. */
static void test_epoch_round_trip(void **state) {
    fx_t *f = *state;
    for (uint64_t i = 0; i < E_LEAVES; i++) {
        receipt_t r, back;
        assert_int_equal(api_build_receipt(f->node, &f->digest[i], NULL, &r), QC_OK);
        assert_int_equal(r.membership_len, k_leaf_epoch[i]);
        json_t *j = receipt_to_json(&r);
        assert_non_null(j);
        assert_int_equal(json_array_size(json_object_get(j, "membership")), k_leaf_epoch[i]);
        char *text = json_dumps(j, JSON_COMPACT);
        char why[256];
        assert_int_equal(receipt_from_json(j, &back, why, sizeof why), QC_OK);
        assert_int_equal(back.membership_len, r.membership_len);
        if (r.membership_len)
            assert_memory_equal(back.membership, r.membership,
                                r.membership_len * sizeof *r.membership);
        json_t *j2 = receipt_to_json(&back);
        char *text2 = json_dumps(j2, JSON_COMPACT);
        assert_string_equal(text2, text);
        receipt_result_t res;
        if (receipt_verify(&back, CHAIN, &f->genesis_hash, &f->vs, &f->digest[i], &res, why,
                           sizeof why) != QC_OK)
            fail_msg("leaf %llu: %s", (unsigned long long)i, why);
        assert_int_equal(res.epoch, k_leaf_epoch[i]);
        assert_int_equal(res.city, f->city[i]);
        assert_int_equal(res.members, 4 + k_leaf_epoch[i]);
        assert_int_equal(res.quorum, qc_quorum(res.members));
        assert_int_equal(res.height, f->height[i]);
        free(text);
        free(text2);
        json_decref(j);
        json_decref(j2);
        receipt_free(&r);
        receipt_free(&back);
    }
}

/* Forges step 2 (epoch 2) with a switch block at `height` that epoch 1's keys certify (as a
 * quorum of epoch 1 could): the history is then signed but out of order. */
static void forge_step2(json_t *root, uint64_t height) {
    size_t n;
    uint8_t *hdr = hex_get(root, "membership[1].switch_header", &n);
    qc_header_t h;
    assert_int_equal(qc_header_decode(hdr, n, &h), QC_OK);
    free(hdr);
    h.height = height;
    uint8_t buf[QC_HEADER_BYTES_MAX];
    size_t len;
    assert_int_equal(qc_header_encode(&h, buf, sizeof buf, &len), QC_OK);
    hex_set(root, "membership[1].switch_header", buf, len);
    qc_hash_t bh;
    qc_header_hash(&h, &bh);
    qc_cert_t c = {.epoch = 1, .height = height, .view = h.view, .block_hash = bh};
    c.vote_count = qc_quorum(5);
    for (uint32_t i = 0; i < c.vote_count; i++) {
        qc_seckey_t sk;
        testkeys_keypair(TESTKEY_NODE, i, NULL, &sk);
        c.votes[i].validator = i;
        qc_commit_vote_sign(&c.votes[i].sig, &sk, CHAIN, 1, height, h.view, &bh);
    }
    jset(root, "membership[1].switch_cert", receipt_cert_json(&c));
    jset(root, "membership[1].first_height", json_integer((json_int_t)height + 1));
}

static void fn_step2_before_epoch1(fx_t *f, json_t *root) { (void)f; forge_step2(root, 2); }
static void fn_block_before_epoch2(fx_t *f, json_t *root) { (void)f; forge_step2(root, 5); }

static void fn_swap_steps(fx_t *f, json_t *root) {
    (void)f;
    reverse_at(root, "membership"); /* two steps */
}

static void fn_swap_members(fx_t *f, json_t *root) {
    (void)f;
    json_t *members = jget(root, "membership[0].members");
    json_t *m0 = json_deep_copy(json_array_get(members, 0));
    json_array_set(members, 0, json_array_get(members, 1));
    json_array_set_new(members, 1, m0);
}

/* A third step (epoch 3) that repeats step 2's set and switch block. */
static void fn_extra_step(fx_t *f, json_t *root) {
    (void)f;
    json_t *step = json_deep_copy(jget(root, "membership[1]"));
    json_object_set_new(step, "epoch", json_integer(3));
    json_array_append_new(jget(root, "membership"), step);
}

static void fn_header_of_step2(fx_t *f, json_t *root) {
    (void)f;
    jset(root, "membership[0].switch_header",
         json_deep_copy(jget(root, "membership[1].switch_header")));
}

static void fn_cert_of_step2(fx_t *f, json_t *root) {
    (void)f;
    jset(root, "membership[0].switch_cert",
         json_deep_copy(jget(root, "membership[1].switch_cert")));
}

#define STEP1_CERT "membership step 1 (the switch to epoch 1): "
#define NOT_CERTIFIED1 "the switch block of epoch 1 does not certify this member list"
#define NOT_CERTIFIED2 "the switch block of epoch 2 does not certify this member list"

/* Tampers of the receipt of E_LEAF_EPOCH2 (block 5, epoch 2: two membership steps). */
static const tamper_t k_epoch_tampers[] = {
    /* the order and number of steps */
    {"steps swapped", T_FN, NULL, 0, NULL, fn_swap_steps, AT_VERIFY,
     "membership step 1 is for epoch 2, expected 1"},
    {"step 1 missing", T_DEL, "membership[0]", 0, NULL, NULL, AT_VERIFY,
     "membership step 1 is for epoch 2, expected 1"},
    {"step 2 missing", T_DEL, "membership[1]", 0, NULL, NULL, AT_VERIFY,
     "block is in epoch 2; this receipt's membership history reaches epoch 1"},
    {"no steps", T_SET, "membership", 0, "[]", NULL, AT_VERIFY,
     "block is in epoch 2; this receipt has no membership history to reach it"},
    {"a step repeated", T_DUP, "membership", -1, NULL, NULL, AT_VERIFY,
     "membership step 3 is for epoch 2, expected 3"},
    {"an extra step for epoch 3", T_FN, NULL, 0, NULL, fn_extra_step, AT_VERIFY,
     "membership step 3: epoch 3 starts at block 5, before epoch 2 began (block 5)"},
    {"step 1 epoch + 1", T_ADD, "membership[0].epoch", 1, NULL, NULL, AT_VERIFY,
     "membership step 1 is for epoch 2, expected 1"},
    {"step 2 epoch - 1", T_ADD, "membership[1].epoch", -1, NULL, NULL, AT_VERIFY,
     "membership step 2 is for epoch 1, expected 2"},
    {"step 1 first_height + 1", T_ADD, "membership[0].first_height", 1, NULL, NULL, AT_VERIFY,
     "membership step 1: the switch header is block 2, but epoch 1 starts at block 4"},
    {"step 1 first_height 0", T_SET, "membership[0].first_height", 0, "0", NULL, AT_VERIFY,
     "membership step 1: the switch header is block 2, but epoch 1 starts at block 0"},
    {"step 2 signed but before epoch 1 began", T_FN, NULL, 0, NULL, fn_step2_before_epoch1,
     AT_VERIFY, "membership step 2: epoch 2 starts at block 3, before epoch 1 began (block 3)"},
    {"the block before its epoch began", T_FN, NULL, 0, NULL, fn_block_before_epoch2, AT_VERIFY,
     "block 5 is before epoch 2 began (block 6)"},
    /* the switch header */
    {"switch header chain id", T_FLIP, "membership[0].switch_header", 2, NULL, NULL, AT_VERIFY,
     "membership step 1: the switch header is for chain \"seceipt-test\""},
    {"switch header genesis_hash", T_FLIP, "membership[0].switch_header", HDR_GENESIS + 31, NULL,
     NULL, AT_VERIFY, "membership step 1: the switch header names genesis "},
    {"switch header height", T_FLIP, "membership[0].switch_header", HDR_HEIGHT + 7, NULL, NULL,
     AT_VERIFY, "membership step 1: the switch header is block 3, but epoch 1 starts at block 3"},
    {"switch header prev_hash", T_FLIP, "membership[0].switch_header", HDR_PREV, NULL, NULL,
     AT_VERIFY, STEP1_CERT OTHER_HASH},
    {"switch header time", T_FLIP, "membership[0].switch_header", HDR_TIME + 7, NULL, NULL,
     AT_VERIFY, STEP1_CERT OTHER_HASH},
    {"switch header epoch", T_FLIP, "membership[0].switch_header", HDR_EPOCH + 7, NULL, NULL,
     AT_VERIFY, "membership step 1: the switch block is in epoch 1, expected 0"},
    {"switch header validators_hash", T_FLIP, "membership[0].switch_header", HDR_VHASH + 3, NULL,
     NULL, AT_VERIFY,
     "membership step 1: the switch block names a different validator set than epoch 0's"},
    {"switch header log_root", T_FLIP, "membership[1].switch_header", HDR_LOGROOT, NULL, NULL,
     AT_VERIFY, "membership step 2 (the switch to epoch 2): " OTHER_HASH},
    {"switch header state_root", T_FLIP, "membership[1].switch_header", HDR_STATEROOT, NULL,
     NULL, AT_VERIFY, "membership step 2 (the switch to epoch 2): " OTHER_HASH},
    {"switch header next_validators_hash", T_FLIP, "membership[0].switch_header",
     HDR_NEXT_VHASH + 31, NULL, NULL, AT_VERIFY, STEP1_CERT OTHER_HASH},
    {"switch header cut", T_HEX_CUT, "membership[0].switch_header", 1, NULL, NULL, AT_PARSE,
     "receipt membership step 1: switch_header is not a valid canonical block header"},
    {"switch header with a trailing byte", T_HEX_APPEND, "membership[1].switch_header", 1, NULL,
     NULL, AT_PARSE,
     "receipt membership step 2: switch_header is not a valid canonical block header"},
    {"step 2's switch header in step 1", T_FN, NULL, 0, NULL, fn_header_of_step2, AT_VERIFY,
     "membership step 1: the switch header is block 4, but epoch 1 starts at block 3"},
    /* the switch certificate */
    {"switch cert vote", T_FLIP, "membership[0].switch_cert.votes[1].sig", 5, NULL, NULL,
     AT_VERIFY, STEP1_CERT "signature by zibo's node key is invalid"},
    {"switch cert of epoch 2 vote", T_FLIP, "membership[1].switch_cert.votes[3].sig", 63, NULL,
     NULL, AT_VERIFY,
     "membership step 2 (the switch to epoch 2): signature by liaocheng's node key is invalid"},
    {"switch cert below quorum", T_DEL, "membership[0].switch_cert.votes[2]", 0, NULL, NULL,
     AT_VERIFY, STEP1_CERT "2 valid signatures, quorum is 3"},
    {"switch cert duplicated vote", T_DUP, "membership[0].switch_cert.votes", 0, NULL, NULL,
     AT_VERIFY, STEP1_CERT "two votes by jinan"},
    {"switch cert vote by a member of the new set", T_SET,
     "membership[0].switch_cert.votes[0].validator", 0, "4", NULL, AT_VERIFY,
     STEP1_CERT "vote 0 names validator 4; epoch 0 has 4 validators"},
    {"switch cert epoch", T_ADD, "membership[0].switch_cert.epoch", 1, NULL, NULL, AT_VERIFY,
     STEP1_CERT "certificate is for epoch 1 but the validator set is epoch 0"},
    {"switch cert height", T_ADD, "membership[0].switch_cert.height", 1, NULL, NULL, AT_VERIFY,
     "membership step 1: certificate is for height 3, the switch block is height 2"},
    {"switch cert view", T_ADD, "membership[0].switch_cert.view", 1, NULL, NULL, AT_VERIFY,
     STEP1_CERT "signature by jinan's node key is invalid"},
    {"switch cert block_hash", T_FLIP, "membership[0].switch_cert.block_hash", 0, NULL, NULL,
     AT_VERIFY, STEP1_CERT OTHER_HASH},
    {"step 2's switch cert in step 1", T_FN, NULL, 0, NULL, fn_cert_of_step2, AT_VERIFY,
     "membership step 1: certificate is for height 4, the switch block is height 2"},
    /* the member list */
    {"a member's node key", T_FLIP, "membership[0].members[4].node_key", 0, NULL, NULL,
     AT_VERIFY, NOT_CERTIFIED1},
    {"a member's seal key", T_FLIP, "membership[1].members[0].seal_key", 31, NULL, NULL,
     AT_VERIFY, NOT_CERTIFIED2},
    {"a member's admin key", T_FLIP, "membership[0].members[2].admin_key", 9, NULL, NULL,
     AT_VERIFY, NOT_CERTIFIED1},
    {"a member renamed", T_SET, "membership[0].members[1].name", 0, "\"zibu\"", NULL, AT_VERIFY,
     NOT_CERTIFIED1},
    {"members reordered", T_FN, NULL, 0, NULL, fn_swap_members, AT_VERIFY, NOT_CERTIFIED1},
    {"a member removed", T_DEL, "membership[0].members[4]", 0, NULL, NULL, AT_VERIFY,
     NOT_CERTIFIED1},
    {"a member added twice", T_DUP, "membership[0].members", 4, NULL, NULL, AT_PARSE,
     "receipt membership step 1: member 5 repeats a name or key of member 4"},
    {"threshold + 1", T_ADD, "membership[0].threshold", 1, NULL, NULL, AT_VERIFY, NOT_CERTIFIED1},
    {"threshold - 1", T_ADD, "membership[1].threshold", -1, NULL, NULL, AT_VERIFY,
     NOT_CERTIFIED2},
    {"threshold 0", T_SET, "membership[0].threshold", 0, "0", NULL, AT_PARSE,
     "receipt membership step 1: threshold 0 is not between 1 and the 5 members"},
    {"threshold above the members", T_SET, "membership[0].threshold", 0, "6", NULL, AT_PARSE,
     "threshold 6 is not between 1 and the 5 members"},
    {"no members", T_SET, "membership[0].members", 0, "[]", NULL, AT_PARSE,
     "receipt membership step 1: 0 members; a validator set has 1 to 64"},
    {"a member name not a name", T_SET, "membership[0].members[0].name", 0, "\"Jinan\"", NULL,
     AT_PARSE, "receipt membership step 1: \"Jinan\" is not a member name"},
    {"a member key short", T_HEX_CUT, "membership[0].members[0].node_key", 1, NULL, NULL,
     AT_PARSE, "\"node_key\": expected 32 hex bytes"},
    /* the receipt's own block is judged by the last step's set */
    {"receipt cert vote", T_FLIP, "cert.votes[0].sig", 0, NULL, NULL, AT_VERIFY,
     "signature by jinan's node key is invalid"},
    {"receipt cert vote moved to the member epoch 1 added", T_SET, "cert.votes[0].validator", 0,
     "4", NULL, AT_VERIFY, "signature by dezhou's node key is invalid"},
    {"receipt cert vote by a validator epoch 2 lacks", T_SET, "cert.votes[0].validator", 0, "6",
     NULL, AT_VERIFY, "vote 0 names validator 6; epoch 2 has 6 validators"},
    {"receipt cert below epoch 2's quorum", T_DEL, "cert.votes[3]", 0, NULL, NULL, AT_VERIFY,
     "3 valid signatures, quorum is 4"},
    {"receipt header validators_hash", T_FLIP, "header", HDR_VHASH, NULL, NULL, AT_VERIFY,
     "block header names a different validator set than epoch 2's"},
    /* unknown fields and types */
    {"unknown step field", T_SET, "membership[0].note", 0, "1", NULL, AT_PARSE,
     "unknown field \"note\" in membership"},
    {"unknown member field", T_SET, "membership[0].members[0].display_name", 0, "\"x\"", NULL,
     AT_PARSE, "unknown field \"display_name\" in membership.members"},
    {"unknown switch cert field", T_SET, "membership[1].switch_cert.round", 0, "0", NULL,
     AT_PARSE, "unknown field \"round\" in membership.switch_cert"},
    {"a step not an object", T_SET, "membership[0]", 0, "7", NULL, AT_PARSE,
     "receipt membership step 1: receipt field \"epoch\" " MISSING},
    {"no switch_cert", T_DEL, "membership[1].switch_cert", 0, NULL, NULL, AT_PARSE,
     "receipt membership step 2: receipt field \"switch_cert\" " MISSING},
};

static void test_epoch_tamper_table(void **state) {
    run_table(*state, E_LEAF_EPOCH2, k_epoch_tampers,
              sizeof k_epoch_tampers / sizeof k_epoch_tampers[0]);
}

/* Every bit flip of every byte of every hex field of the membership history (both switch
 * headers, every member key, every switch vote and block hash) must make the receipt fail. */
static void test_epoch_flip_every_byte(void **state) {
    fx_t *f = *state;
    json_t *genuine = receipt_of(f, E_LEAF_EPOCH2);
    size_t flips = 0, expected = 0;
    for (size_t s = 0; s < 2; s++) {
        char paths[3 * 8 + QC_VALIDATORS_MAX + 2][64];
        size_t n = 0;
        snprintf(paths[n++], 64, "membership[%zu].switch_header", s);
        snprintf(paths[n++], 64, "membership[%zu].switch_cert.block_hash", s);
        char p[64];
        snprintf(p, sizeof p, "membership[%zu].members", s);
        size_t members = json_array_size(jget(genuine, p));
        for (size_t m = 0; m < members; m++) {
            static const char *const keys[] = {"node_key", "seal_key", "admin_key"};
            for (size_t k = 0; k < 3; k++)
                snprintf(paths[n++], 64, "membership[%zu].members[%zu].%s", s, m, keys[k]);
        }
        snprintf(p, sizeof p, "membership[%zu].switch_cert.votes", s);
        size_t votes = json_array_size(jget(genuine, p));
        for (size_t v = 0; v < votes; v++)
            snprintf(paths[n++], 64, "membership[%zu].switch_cert.votes[%zu].sig", s, v);
        expected += HDR_LEN + 32 + members * 3 * 32 + votes * QC_SIG_BYTES;
        for (size_t i = 0; i < n; i++) flips += flip_all(f, genuine, paths[i]);
    }
    assert_int_equal(flips, expected);
    json_decref(genuine);
}

/* Every member of every object of the membership history, removed or given another JSON type,
 * fails parsing with the field named. */
static void test_epoch_every_field_wrong_type(void **state) {
    fx_t *f = *state;
    json_t *genuine = receipt_of(f, E_LEAF_EPOCH2);
    size_t cases = 0;
    wrong_types_at(f, genuine, "membership", &cases);
    /* 2 steps x (6 fields + 5 cert fields + 4 x (5 or 6) member fields + votes x 2) removals,
     * each value at least 6 wrong types */
    assert_true(cases >= 2 * (6 + 5 + 4 * 5 + 2 * 3) * 6);
    json_decref(genuine);
}

/* The receipt of a record in epoch 1 from the epoch chain fails against the epoch-0 genesis
 * set of another chain that has the same members but another threshold: the walk starts from
 * the genesis the auditor holds. */
static void test_epoch_other_genesis_set(void **state) {
    fx_t *f = *state;
    receipt_t r;
    assert_int_equal(api_build_receipt(f->node, &f->digest[2], NULL, &r), QC_OK);
    qc_validator_set_t other = f->vs;
    other.governance_threshold = 4;
    char why[256];
    receipt_result_t res;
    assert_int_equal(receipt_verify(&r, CHAIN, &f->genesis_hash, &other, NULL, &res, why,
                                    sizeof why), QC_ERR_MEMBER);
    assert_string_equal(why, "membership step 1: the switch block names a different validator "
                             "set than epoch 0's");
    receipt_free(&r);
}

/* A digest anchored by jinan in block 1, by zibo in block 2 (beside another digest) and by
 * taian twice in block 3's one transaction: each anchoring has its own receipt, addressed by its transaction id, and
 * proves that transaction's seal; the default is the first anchoring (issue 11: zibo was
 * handed jinan's receipt). */
static void test_receipt_per_anchoring(void **state) {
    (void)state;
    fx_t *f = fx_open(MEMBERS);
    qc_hash_t d[2];
    memset(d[0].b, 0xd1, 32);
    memset(d[1].b, 0xd2, 32);
    qc_tx_t tx[3];
    qc_hash_t id[3];
    qc_block_t b;
    qc_cert_t cert;
    for (uint32_t k = 0; k < 3; k++) {
        uint32_t signer = k; /* jinan, zibo, taian */
        const qc_hash_t twice[2] = {d[0], d[0]};
        assert_int_equal(chainbuilder_tx(&f->cb, signer, k, k == 2 ? twice : d, k == 0 ? 1 : 2,
                                         &tx[k]), QC_OK);
        id[k] = tx[k].id;
        assert_int_equal(chainbuilder_block(&f->cb, &tx[k], 1, &b, &cert), QC_OK);
        assert_int_equal(store_apply_block(&f->node->store, &b, &cert), QC_OK);
        chainbuilder_advance(&f->cb, &b);
        qc_block_free(&b);
    }
    static const struct { int tx; uint32_t city; uint64_t height, log_index; } want[] = {
        {-1, 0, 1, 0}, {0, 0, 1, 0}, {1, 1, 2, 1}, {2, 2, 3, 3}};
    for (size_t c = 0; c < sizeof want / sizeof want[0]; c++) {
        receipt_t r;
        assert_int_equal(api_build_receipt(f->node, &d[0], want[c].tx < 0 ? NULL : &id[want[c].tx],
                                           &r), QC_OK);
        assert_memory_equal(r.tx.id.b, id[want[c].tx < 0 ? 0 : want[c].tx].b, 32);
        assert_int_equal(r.log_index, want[c].log_index);
        assert_int_equal(r.record_index, 0); /* the first of taian's two records */
        char why[256];
        receipt_result_t res;
        assert_int_equal(receipt_verify(&r, CHAIN, &f->genesis_hash, &f->vs, &d[0], &res, why,
                                        sizeof why), QC_OK);
        assert_int_equal(res.city, want[c].city);
        assert_int_equal(res.height, want[c].height);
        receipt_free(&r);
    }
    /* Zibo's second record; a transaction that exists but does not anchor the digest; one that
     * does not exist; a digest never anchored. */
    receipt_t r;
    assert_int_equal(api_build_receipt(f->node, &d[1], &id[1], &r), QC_OK);
    assert_int_equal(r.record_index, 1);
    receipt_free(&r);
    assert_int_equal(api_build_receipt(f->node, &d[1], &id[0], &r), QC_ERR_NOTFOUND);
    qc_hash_t none;
    memset(none.b, 0xee, 32);
    assert_int_equal(api_build_receipt(f->node, &d[0], &none, &r), QC_ERR_NOTFOUND);
    assert_int_equal(api_build_receipt(f->node, &none, NULL, &r), QC_ERR_NOTFOUND);
    fx_teardown((void **)&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_receipt_per_anchoring),
        cmocka_unit_test(test_tamper_table_multi_record),
        cmocka_unit_test(test_tamper_table_right_edge),
        cmocka_unit_test(test_file_digest),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_every_field_wrong_type),
        cmocka_unit_test(test_published_example),
        cmocka_unit_test(test_other_genesis_same_keys_refused),
        cmocka_unit_test(test_fuzz_seeds),
        cmocka_unit_test(test_example_state_roots_as_a_node_builds),
    };
    const struct CMUnitTest epoch_tests[] = {
        cmocka_unit_test(test_epoch_membership_from_store),
        cmocka_unit_test(test_epoch_round_trip),
        cmocka_unit_test(test_epoch_tamper_table),
        cmocka_unit_test(test_epoch_flip_every_byte),
        cmocka_unit_test(test_epoch_every_field_wrong_type),
        cmocka_unit_test(test_epoch_other_genesis_set),
    };
    int failed = cmocka_run_group_tests(tests, fx_setup, fx_teardown);
    return failed + cmocka_run_group_tests(epoch_tests, fxe_setup, fx_teardown);
}
