/* receiptfx.c - the receipt fixtures, JSON path helpers and tamper tables of receiptfx.h,
 * moved here from tests/test_receipt.c so that bin/qchain_receiptcases runs the very same
 * cases through the C verifier for web/verify.js. */
#include "receiptfx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "govtest.h"
#include "store.h"
#include "testkeys.h"
#include "tmpdir.h"

/* The tables below keep test_receipt.c's short names. */
#define CHAIN RECEIPTFX_CHAIN
#define T_FLIP RECEIPTFX_FLIP
#define T_ZERO RECEIPTFX_ZERO
#define T_ADD RECEIPTFX_ADD
#define T_SET RECEIPTFX_SET
#define T_DEL RECEIPTFX_DEL
#define T_DUP RECEIPTFX_DUP
#define T_HEX_CUT RECEIPTFX_HEX_CUT
#define T_HEX_APPEND RECEIPTFX_HEX_APPEND
#define T_FN RECEIPTFX_FN
#define AT_PARSE RECEIPTFX_AT_PARSE
#define AT_VERIFY RECEIPTFX_AT_VERIFY
#define VALID RECEIPTFX_VALID

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
_Static_assert(HDR_LEN == RECEIPTFX_HEADER_LEN, "receiptfx.h's header length");
_Static_assert(BODY_FLAGS + 1 == RECEIPTFX_BODY_ONE_LEN, "receiptfx.h's one-record body length");

#define GENESIS_TIME_MS 1794000000000ull

/* ---------------------------------------------------------------- the chains */

void receiptfx_add_block(receiptfx_t *f, const uint32_t *signers, const uint32_t *recs,
                         uint32_t n, uint32_t next_n) {
    qc_tx_t txs[4];
    QC_ASSERT(n <= 4);
    for (uint32_t i = 0; i < n; i++)
        QC_ASSERT(chainbuilder_tx(&f->cb, signers[i], i, NULL, recs[i], &txs[i]) == QC_OK);
    qc_block_t b;
    qc_cert_t cert;
    qc_validator_set_t next;
    if (next_n) {
        QC_ASSERT(next_n == f->cb.vs.n + 1);
        qc_change_t ch[2];
        govtest_change_add(&ch[0], f->cb.vs.n);
        govtest_change_threshold(&ch[1], (uint16_t)qc_quorum(next_n));
        QC_ASSERT(govtest_block(&f->cb, ch, 2, txs, n, &b, &cert, &next) == QC_OK);
        qc_validator_set_t want;
        testkeys_validators(&want, next_n, f->cb.vs.epoch + 1);
        QC_ASSERT(memcmp(&want, &next, sizeof want) == 0);
    } else {
        QC_ASSERT(chainbuilder_block(&f->cb, txs, n, &b, &cert) == QC_OK);
    }
    QC_ASSERT(store_apply_block(&f->node->store, &b, &cert) == QC_OK);
    uint32_t gov = b.tx_count - n; /* the governance transactions come first */
    for (uint32_t i = gov; i < b.tx_count; i++)
        for (uint32_t j = 0; j < b.txs[i].record_count; j++) {
            QC_ASSERT(f->n_leaves < RECEIPTFX_LEAVES);
            memcpy(f->digest[f->n_leaves].b, b.txs[i].records[j].digest, 32);
            f->height[f->n_leaves] = b.header.height;
            f->city[f->n_leaves] = signers[i - gov];
            f->rec_index[f->n_leaves++] = (uint16_t)j;
        }
    chainbuilder_advance(&f->cb, &b);
    if (next_n) chainbuilder_set_validators(&f->cb, next_n, next.epoch);
    qc_block_free(&b);
}

/* The genesis file of testkeys_validators(n, 0) into f (the node's genesis, its hash, its
 * text): what the builder's set and headers must match. */
static void fixture_genesis(receiptfx_t *f, uint32_t n) {
    genesis_t *g = &f->node->genesis;
    genesis_init(g, CHAIN, GENESIS_TIME_MS);
    for (uint32_t i = 0; i < n; i++) {
        const qc_member_t *m = &f->cb.vs.members[i];
        char display[32], p2p[32], api[32];
        snprintf(display, sizeof display, "City %u", i);
        snprintf(p2p, sizeof p2p, "127.0.0.1:%u", 17000 + i);
        snprintf(api, sizeof api, "127.0.0.1:%u", 18000 + i);
        QC_ASSERT(genesis_add_member(g, m->name, display, &m->node_key, &m->seal_key,
                                     &m->admin_key, p2p, api) == QC_OK);
    }
    char why[256] = "";
    if (genesis_encode(g, &f->genesis_json, &f->genesis_len, why, sizeof why) != QC_OK) {
        fprintf(stderr, "receiptfx: the fixture's genesis: %s\n", why);
        QC_ASSERT(!"a valid genesis");
    }
    QC_ASSERT(memcmp(&g->validators, &f->cb.vs, sizeof g->validators) == 0);
    f->vs = g->validators;
    f->genesis_hash = g->hash;
}

receiptfx_t *receiptfx_open(uint32_t n) {
    receiptfx_t *f = calloc(1, sizeof *f);
    QC_ASSERT(f != NULL);
    f->node = calloc(1, sizeof *f->node);
    QC_ASSERT(f->node != NULL);
    QC_ASSERT(tmpdir_make(f->dir, sizeof f->dir, "receipt") == 0);
    chainbuilder_init(&f->cb, CHAIN, n, 0);
    fixture_genesis(f, n);
    f->cb.genesis_hash = f->genesis_hash;
    store_config_t cfg = {CHAIN, f->genesis_hash, &f->vs};
    QC_ASSERT(store_open(&f->node->store, f->dir, &cfg) == QC_OK);
    return f;
}

receiptfx_t *receiptfx_chain(void) {
    receiptfx_t *f = receiptfx_open(RECEIPTFX_MEMBERS);
    receiptfx_add_block(f, (uint32_t[]){0, 1}, (uint32_t[]){1, 3}, 2, 0);
    receiptfx_add_block(f, (uint32_t[]){2}, (uint32_t[]){2}, 1, 0);
    receiptfx_add_block(f, (uint32_t[]){3, 4, 8}, (uint32_t[]){1, 1, 1}, 3, 0);
    QC_ASSERT(f->n_leaves == RECEIPTFX_LEAVES);
    return f;
}

receiptfx_t *receiptfx_epoch_chain(void) {
    receiptfx_t *f = receiptfx_open(4);
    receiptfx_add_block(f, (uint32_t[]){0}, (uint32_t[]){1}, 1, 0);
    receiptfx_add_block(f, (uint32_t[]){1}, (uint32_t[]){1}, 1, 5);
    receiptfx_add_block(f, (uint32_t[]){4}, (uint32_t[]){1}, 1, 0);
    receiptfx_add_block(f, NULL, NULL, 0, 6);
    receiptfx_add_block(f, (uint32_t[]){5, 0}, (uint32_t[]){1, 2}, 2, 0);
    QC_ASSERT(f->n_leaves == RECEIPTFX_E_LEAVES);
    return f;
}

void receiptfx_close(receiptfx_t *f) {
    store_close(&f->node->store);
    QC_ASSERT(tmpdir_remove(f->dir) == 0);
    free(f->genesis_json);
    free(f->node);
    free(f);
}

json_t *receiptfx_receipt(receiptfx_t *f, uint64_t log_index) {
    receipt_t r;
    QC_ASSERT(log_index < f->n_leaves);
    QC_ASSERT(api_build_receipt(f->node, &f->digest[log_index], NULL, &r) == QC_OK);
    json_t *j = receipt_to_json(&r);
    QC_ASSERT(j != NULL);
    receipt_free(&r);
    return j;
}

/* ---------------------------------------------------------------- parse + verify */

const char *const receiptfx_outcome_names[4] = {"", "parse failure", "verify failure", "valid"};

receiptfx_outcome_t receiptfx_judge(const receiptfx_t *f, const json_t *j,
                                    const qc_hash_t *file_digest, char *why, size_t cap,
                                    receipt_result_t *res) {
    return receiptfx_judge_genesis(&f->node->genesis, j, file_digest, why, cap, res);
}

receiptfx_outcome_t receiptfx_judge_genesis(const genesis_t *g, const json_t *j,
                                            const qc_hash_t *file_digest, char *why, size_t cap,
                                            receipt_result_t *res) {
    receipt_t r;
    why[0] = '\0';
    if (receipt_from_json(j, &r, why, cap) != QC_OK) {
        QC_ASSERT(why[0] != '\0');
        return AT_PARSE;
    }
    int rc = receipt_verify(&r, g->chain_id, &g->hash, &g->validators, file_digest, res, why, cap);
    receipt_free(&r);
    if (rc != QC_OK) QC_ASSERT(why[0] != '\0');
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
            QC_ASSERT(*end == ']');
            key[0] = '\0';
            cur = json_array_get(par, *index);
            p = end + 1;
        } else {
            size_t n = strcspn(p, ".[");
            QC_ASSERT(n > 0 && n < 64);
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

json_t *receiptfx_jget(json_t *root, const char *path) {
    char key[64];
    size_t index;
    json_t *v = jpath(root, path, NULL, key, &index);
    if (v == NULL) fprintf(stderr, "receiptfx: no %s in the receipt\n", path);
    QC_ASSERT(v != NULL);
    return v;
}

void receiptfx_jset(json_t *root, const char *path, json_t *v) {
    json_t *parent;
    char key[64];
    size_t index;
    jpath(root, path, &parent, key, &index);
    QC_ASSERT(parent != NULL);
    if (key[0]) QC_ASSERT(json_object_set_new(parent, key, v) == 0);
    else QC_ASSERT(json_array_set_new(parent, index, v) == 0);
}

void receiptfx_jdel(json_t *root, const char *path) {
    json_t *parent;
    char key[64];
    size_t index;
    QC_ASSERT(jpath(root, path, &parent, key, &index) != NULL);
    if (key[0]) QC_ASSERT(json_object_del(parent, key) == 0);
    else QC_ASSERT(json_array_remove(parent, index) == 0);
}

uint8_t *receiptfx_hex_get(json_t *root, const char *path, size_t *n) {
    const char *s = json_string_value(receiptfx_jget(root, path));
    QC_ASSERT(s != NULL);
    *n = strlen(s) / 2;
    uint8_t *b = malloc(*n + 1);
    QC_ASSERT(b != NULL);
    QC_ASSERT(qc_hex_decode(b, *n, s) == QC_OK);
    return b;
}

void receiptfx_hex_set(json_t *root, const char *path, const uint8_t *b, size_t n) {
    receiptfx_jset(root, path, receipt_hex_json(b, n));
}

void receiptfx_hex_flip(json_t *root, const char *path, long long at, uint8_t mask) {
    size_t n;
    uint8_t *b = receiptfx_hex_get(root, path, &n);
    size_t i = at < 0 ? n - (size_t)(-at) : (size_t)at;
    QC_ASSERT(i < n);
    b[i] ^= mask;
    receiptfx_hex_set(root, path, b, n);
    free(b);
}

/* ---------------------------------------------------------------- the tamper tables */

/* Reverses the array at path. */
static void reverse_at(json_t *root, const char *path) {
    json_t *arr = receiptfx_jget(root, path), *rev = json_array();
    for (size_t i = json_array_size(arr); i-- > 0;)
        json_array_append(rev, json_array_get(arr, i));
    receiptfx_jset(root, path, rev);
}

static void fn_reverse_votes(receiptfx_t *f, json_t *root) {
    (void)f;
    reverse_at(root, "cert.votes");
}

/* A seventh genuine vote, by validator 6 (dongying). */
static void fn_extra_vote(receiptfx_t *f, json_t *root) {
    json_t *cert = receiptfx_jget(root, "cert");
    qc_hash_t bh;
    const char *bh_hex = json_string_value(json_object_get(cert, "block_hash"));
    QC_ASSERT(qc_hex_decode(bh.b, 32, bh_hex) == QC_OK);
    qc_sig_t sig;
    qc_commit_vote_sign(&sig, &f->cb.node_sk[6], CHAIN, 0,
                        (uint64_t)json_integer_value(json_object_get(cert, "height")),
                        (uint64_t)json_integer_value(json_object_get(cert, "view")), &bh);
    json_array_append_new(json_object_get(cert, "votes"),
                          json_pack("{s:i, s:o}", "validator", 6, "sig",
                                    receipt_hex_json(sig.b, QC_SIG_BYTES)));
}

static void fn_too_many_votes(receiptfx_t *f, json_t *root) {
    (void)f;
    json_t *votes = receiptfx_jget(root, "cert.votes");
    while (json_array_size(votes) <= QC_VALIDATORS_MAX)
        json_array_append_new(votes, json_deep_copy(json_array_get(votes, 0)));
}

/* PROTOCOL.md §10.1's bound on the path, MERKLE_PATH_MAX (63) entries, is what the decoder
 * takes; fn_max_path fills the path up to it (decoded, then refused by the proof check),
 * fn_long_path one past it (refused by the decoder). */
static void fill_path(json_t *root, size_t entries) {
    json_t *path = receiptfx_jget(root, "inclusion.path");
    while (json_array_size(path) < entries)
        json_array_append_new(path, json_deep_copy(json_array_get(path, 0)));
    QC_ASSERT(json_array_size(path) == entries);
}

static void fn_max_path(receiptfx_t *f, json_t *root) {
    (void)f;
    fill_path(root, MERKLE_PATH_MAX);
}

static void fn_long_path(receiptfx_t *f, json_t *root) {
    (void)f;
    fill_path(root, MERKLE_PATH_MAX + 1);
}

/* Claims the next record of the same (multi-record) transaction: its digest and index, with
 * the log index and proof left as they were. */
static void fn_sibling_record(receiptfx_t *f, json_t *root) {
    (void)f;
    size_t n;
    uint8_t *body = receiptfx_hex_get(root, "tx.body", &n);
    int idx = (int)json_integer_value(receiptfx_jget(root, "record.tx_record_index"));
    qc_tx_t tx;
    qc_sig_t sig = {{0}};
    QC_ASSERT(qc_tx_parse(body, n, &sig, &tx) == QC_OK);
    QC_ASSERT(tx.record_count > 1);
    uint16_t other = (uint16_t)((idx + 1) % tx.record_count);
    receiptfx_hex_set(root, "record.digest", tx.records[other].digest, 32);
    receiptfx_jset(root, "record.tx_record_index", json_integer(other));
    qc_tx_free(&tx);
    free(body);
}

/* The header and certificate of the block after the receipt's (a valid pair, wrong block). */
/* The header relabelled version 1 (the layout before the genesis hash). */
static void fn_header_v1(receiptfx_t *f, json_t *root) {
    (void)f;
    size_t n;
    uint8_t *hdr = receiptfx_hex_get(root, "header", &n);
    hdr[0] = 1;
    receiptfx_hex_set(root, "header", hdr, n);
    free(hdr);
}

static void fn_other_block(receiptfx_t *f, json_t *root) {
    qc_block_t b;
    qc_cert_t cert;
    uint64_t h = (uint64_t)json_integer_value(receiptfx_jget(root, "cert.height"));
    QC_ASSERT(store_block_get(&f->node->store, h % 3 + 1, &b, &cert) == QC_OK);
    uint8_t hdr[QC_HEADER_BYTES_MAX];
    size_t len;
    QC_ASSERT(qc_header_encode(&b.header, hdr, sizeof hdr, &len) == QC_OK);
    receiptfx_hex_set(root, "header", hdr, len);
    receiptfx_jset(root, "cert", receipt_cert_json(&cert));
    receiptfx_jset(root, "inclusion.tree_size", json_integer((json_int_t)b.header.log_size));
    qc_block_free(&b);
}

/* The order L of the base point, little-endian (docs/PROTOCOL.md §1.1). */
static const uint8_t k_order_le[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                       0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                       [31] = 0x10};

/* Adds L to the S half of the signature at path: the same signature to a verifier that
 * reduces S, refused by §1.1 rule 1 (S < L, never reduced). */
static void sig_plus_order(json_t *root, const char *path) {
    size_t n;
    uint8_t *sig = receiptfx_hex_get(root, path, &n);
    QC_ASSERT(n == QC_SIG_BYTES);
    unsigned carry = 0;
    for (size_t i = 0; i < 32; i++) {
        unsigned sum = sig[32 + i] + k_order_le[i] + carry;
        sig[32 + i] = (uint8_t)sum;
        carry = sum >> 8;
    }
    QC_ASSERT(carry == 0);
    receiptfx_hex_set(root, path, sig, n);
    free(sig);
}

/* Replaces the R half of the signature at path by the point encoding r_hex (64 hex). */
static void sig_set_r(json_t *root, const char *path, const char *r_hex) {
    size_t n;
    uint8_t *sig = receiptfx_hex_get(root, path, &n);
    QC_ASSERT(n == QC_SIG_BYTES && qc_hex_decode(sig, 32, r_hex) == QC_OK);
    receiptfx_hex_set(root, path, sig, n);
    free(sig);
}

static void fn_tx_sig_plus_order(receiptfx_t *f, json_t *root) {
    (void)f;
    sig_plus_order(root, "tx.sig");
}

static void fn_vote_sig_plus_order(receiptfx_t *f, json_t *root) {
    (void)f;
    sig_plus_order(root, "cert.votes[2].sig");
}

/* R = the neutral point (small-order, §1.1 rule 2), and y = p + 1, its non-canonical
 * encoding (rules 2 and 7). */
static void fn_tx_sig_neutral_r(receiptfx_t *f, json_t *root) {
    (void)f;
    sig_set_r(root, "tx.sig", "0100000000000000000000000000000000000000000000000000000000000000");
}

static void fn_tx_sig_noncanonical_r(receiptfx_t *f, json_t *root) {
    (void)f;
    sig_set_r(root, "tx.sig", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
}

static void fn_switch_vote_sig_plus_order(receiptfx_t *f, json_t *root) {
    (void)f;
    sig_plus_order(root, "membership[0].switch_cert.votes[1].sig");
}

#define SIG_BAD "the transaction's seal signature is invalid"
#define TX_BAD "receipt transaction body is not a valid canonical transaction"
#define HDR_BAD "receipt header is not a valid canonical block header"
#define OTHER_HASH "certificate is for a different block hash"
#define NO_ROOT "inclusion proof does not lead to the block's record-log root"
#define NOT_HERE "the transaction does not anchor this digest at record"
#define MISSING RECEIPTFX_MISSING

const receiptfx_tamper_t receiptfx_tampers[] = {
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
    {"tx sig S + L", T_FN, NULL, 0, NULL, fn_tx_sig_plus_order, AT_VERIFY, SIG_BAD},
    {"tx sig with the neutral point as R", T_FN, NULL, 0, NULL, fn_tx_sig_neutral_r, AT_VERIFY,
     SIG_BAD},
    {"tx sig with a non-canonical R", T_FN, NULL, 0, NULL, fn_tx_sig_noncanonical_r, AT_VERIFY,
     SIG_BAD},
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
    {"a vote's signature S + L", T_FN, NULL, 0, NULL, fn_vote_sig_plus_order, AT_VERIFY,
     "signature by taian's node key is invalid"},
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
const size_t receiptfx_tampers_count = sizeof receiptfx_tampers / sizeof receiptfx_tampers[0];

/* Forges step 2 (epoch 2) with a switch block at `height` that epoch 1's keys certify (as a
 * quorum of epoch 1 could): the history is then signed but out of order. */
static void forge_step2(json_t *root, uint64_t height) {
    size_t n;
    uint8_t *hdr = receiptfx_hex_get(root, "membership[1].switch_header", &n);
    qc_header_t h;
    QC_ASSERT(qc_header_decode(hdr, n, &h) == QC_OK);
    free(hdr);
    h.height = height;
    uint8_t buf[QC_HEADER_BYTES_MAX];
    size_t len;
    QC_ASSERT(qc_header_encode(&h, buf, sizeof buf, &len) == QC_OK);
    receiptfx_hex_set(root, "membership[1].switch_header", buf, len);
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
    receiptfx_jset(root, "membership[1].switch_cert", receipt_cert_json(&c));
    receiptfx_jset(root, "membership[1].first_height", json_integer((json_int_t)height + 1));
}

static void fn_step2_before_epoch1(receiptfx_t *f, json_t *root) { (void)f; forge_step2(root, 2); }
static void fn_block_before_epoch2(receiptfx_t *f, json_t *root) { (void)f; forge_step2(root, 5); }

static void fn_swap_steps(receiptfx_t *f, json_t *root) {
    (void)f;
    reverse_at(root, "membership"); /* two steps */
}

static void fn_swap_members(receiptfx_t *f, json_t *root) {
    (void)f;
    json_t *members = receiptfx_jget(root, "membership[0].members");
    json_t *m0 = json_deep_copy(json_array_get(members, 0));
    json_array_set(members, 0, json_array_get(members, 1));
    json_array_set_new(members, 1, m0);
}

/* A third step (epoch 3) that repeats step 2's set and switch block. */
static void fn_extra_step(receiptfx_t *f, json_t *root) {
    (void)f;
    json_t *step = json_deep_copy(receiptfx_jget(root, "membership[1]"));
    json_object_set_new(step, "epoch", json_integer(3));
    json_array_append_new(receiptfx_jget(root, "membership"), step);
}

static void fn_header_of_step2(receiptfx_t *f, json_t *root) {
    (void)f;
    receiptfx_jset(root, "membership[0].switch_header",
         json_deep_copy(receiptfx_jget(root, "membership[1].switch_header")));
}

static void fn_cert_of_step2(receiptfx_t *f, json_t *root) {
    (void)f;
    receiptfx_jset(root, "membership[0].switch_cert",
         json_deep_copy(receiptfx_jget(root, "membership[1].switch_cert")));
}

#define STEP1_CERT "membership step 1 (the switch to epoch 1): "
#define NOT_CERTIFIED1 "the switch block of epoch 1 does not certify this member list"
#define NOT_CERTIFIED2 "the switch block of epoch 2 does not certify this member list"

/* Tampers of the receipt of E_LEAF_EPOCH2 (block 5, epoch 2: two membership steps). */
const receiptfx_tamper_t receiptfx_epoch_tampers[] = {
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
    {"switch cert vote S + L", T_FN, NULL, 0, NULL, fn_switch_vote_sig_plus_order, AT_VERIFY,
     STEP1_CERT "signature by zibo's node key is invalid"},
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
const size_t receiptfx_epoch_tampers_count =
    sizeof receiptfx_epoch_tampers / sizeof receiptfx_epoch_tampers[0];

void receiptfx_apply(receiptfx_t *f, json_t *root, const receiptfx_tamper_t *t) {
    switch (t->op) {
    case T_FLIP: receiptfx_hex_flip(root, t->path, t->arg, 0x01); break;
    case T_ZERO: {
        size_t n;
        uint8_t *b = receiptfx_hex_get(root, t->path, &n);
        QC_ASSERT((size_t)t->arg < n);
        b[t->arg] = 0;
        receiptfx_hex_set(root, t->path, b, n);
        free(b);
        break;
    }
    case T_ADD: {
        json_t *v = receiptfx_jget(root, t->path);
        receiptfx_jset(root, t->path, json_integer(json_integer_value(v) + t->arg));
        break;
    }
    case T_SET: {
        json_error_t err;
        json_t *v = json_loads(t->json, JSON_DECODE_ANY, &err);
        QC_ASSERT(v != NULL);
        receiptfx_jset(root, t->path, v);
        break;
    }
    case T_DEL: receiptfx_jdel(root, t->path); break;
    case T_DUP: {
        json_t *arr = receiptfx_jget(root, t->path);
        size_t i = t->arg < 0 ? json_array_size(arr) - 1 : (size_t)t->arg;
        json_array_append_new(arr, json_deep_copy(json_array_get(arr, i)));
        break;
    }
    case T_HEX_CUT:
    case T_HEX_APPEND: {
        size_t n;
        uint8_t *b = receiptfx_hex_get(root, t->path, &n);
        uint8_t *nb = calloc(n + (size_t)t->arg + 1, 1);
        QC_ASSERT(nb != NULL);
        memcpy(nb, b, n);
        size_t len = t->op == T_HEX_CUT ? n - (size_t)t->arg : n + (size_t)t->arg;
        receiptfx_hex_set(root, t->path, nb, len);
        free(b);
        free(nb);
        break;
    }
    case T_FN: t->fn(f, root); break;
    }
}


/* ---------------------------------------------------------------- another genesis */

const char *const receiptfx_genesis_edits[RECEIPTFX_GENESIS_EDITS][2] = {
    {"\"genesis_time_ms\": 1794999000000", "\"genesis_time_ms\": 1794999000001"},
    {"\"display_name\": \"Zibo 淄博\"", "\"display_name\": \"Zibo 淄博市\""},
    {"\"api_address\": \"taian.example.org:8100\"",
     "\"api_address\": \"taian.example.org:8101\""},
    {"\"view_timeout_ms\": 2000", "\"view_timeout_ms\": 2001"},
};

char *receiptfx_replaced(const char *text, const char *from, const char *to) {
    const char *at = strstr(text, from);
    if (at == NULL) fprintf(stderr, "receiptfx: no \"%s\" to replace\n", from);
    QC_ASSERT(at != NULL);
    size_t pre = (size_t)(at - text), cap = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(cap);
    QC_ASSERT(out != NULL);
    snprintf(out, cap, "%.*s%s%s", (int)pre, text, to, at + strlen(from));
    return out;
}

/* ---------------------------------------------------------------- exhaustive tampering */

void receiptfx_walk(json_t *v, const char *path, void (*visit)(void *ctx, const char *path,
                                                               json_t *value), void *ctx) {
    char sub[256];
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m) {
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", k);
            receiptfx_walk(m, sub, visit, ctx);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            receiptfx_walk(json_array_get(v, i), sub, visit, ctx);
        }
    }
    visit(ctx, path, v);
}

size_t receiptfx_flip_each(json_t *genuine, const char *path, receiptfx_variant_cb cb, void *ctx) {
    size_t len;
    free(receiptfx_hex_get(genuine, path, &len));
    for (size_t at = 0; at < len; at++) {
        json_t *j = json_deep_copy(genuine);
        receiptfx_hex_flip(j, path, (long long)at, (uint8_t)(1u << (at % 8)));
        char what[320];
        snprintf(what, sizeof what, "flip byte %zu of %s", at, path);
        cb(ctx, what, j, false);
    }
    return len;
}

typedef struct {
    json_t *genuine;
    receiptfx_variant_cb cb;
    void *ctx;
} wrong_types_t;

static void wrong_types_visit(void *p, const char *path, json_t *orig) {
    static const char *const values[] = {"null", "true", "\"x\"", "17", "-3", "1.5", "[]", "{}"};
    const wrong_types_t *w = p;
    if (path[0] == '\0') return;
    char what[320];
    if (path[strlen(path) - 1] != ']') { /* a missing member */
        json_t *j = json_deep_copy(w->genuine);
        receiptfx_jdel(j, path);
        snprintf(what, sizeof what, "without %s", path);
        w->cb(w->ctx, what, j, true);
    }
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        json_t *v = json_loads(values[i], JSON_DECODE_ANY, NULL);
        QC_ASSERT(v != NULL);
        if (json_typeof(v) == json_typeof(orig) || (json_is_boolean(v) && json_is_boolean(orig))) {
            json_decref(v);
            continue;
        }
        json_t *j = json_deep_copy(w->genuine);
        receiptfx_jset(j, path, v);
        snprintf(what, sizeof what, "%s = %s", path, values[i]);
        w->cb(w->ctx, what, j, false);
    }
}

void receiptfx_wrong_types(json_t *genuine, const char *path, receiptfx_variant_cb cb, void *ctx) {
    wrong_types_t w = {genuine, cb, ctx};
    receiptfx_walk(path[0] ? receiptfx_jget(genuine, path) : genuine, path, wrong_types_visit, &w);
}
