/* receiptex.c - the worked example receipt of docs/PROTOCOL.md §10 (see receiptex.h). */
#include "receiptex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "merkle.h"
#include "testkeys.h"

#define EX_GENESIS_TIME_MS UINT64_C(1794999000000)
#define EX_BLOCK2_TIME_MS UINT64_C(1795000060000)
#define EX_NONCE 8
#define EX_EXPIRY 1000

static const char *const ex_display[4] = {"Jinan 济南", "Zibo 淄博", "Tai'an 泰安",
                                          "Liaocheng 聊城"};

static void fill(qc_hash_t *h, uint8_t start) {
    for (int i = 0; i < 32; i++) h->b[i] = (uint8_t)(start + i);
}

static int build_genesis(receiptex_t *x) {
    genesis_init(&x->genesis, VECTORS_CHAIN_ID, EX_GENESIS_TIME_MS);
    for (uint32_t i = 0; i < x->v.vs.n; i++) {
        const qc_member_t *m = &x->v.vs.members[i];
        char p2p[64], api[64];
        snprintf(p2p, sizeof p2p, "%s.example.org:7100", m->name);
        snprintf(api, sizeof api, "%s.example.org:8100", m->name);
        int rc = genesis_add_member(&x->genesis, m->name, ex_display[i], &m->node_key,
                                    &m->seal_key, &m->admin_key, p2p, api);
        if (rc != QC_OK) return rc;
    }
    return genesis_encode(&x->genesis, &x->genesis_json, &x->genesis_len, NULL, 0);
}

/* Block 2: one tx by jinan's seal key anchoring three records, on top of §8's block 1. */
static int build_block2(receiptex_t *x) {
    qc_seckey_t seal_sk;
    testkeys_keypair(TESTKEY_SEAL, 0, NULL, &seal_sk);
    qc_txb_t b;
    qc_txb_init(&b, VECTORS_CHAIN_ID, &x->v.vs.members[0].seal_key, EX_NONCE, EX_EXPIRY);
    for (uint8_t i = 0; i < 3; i++) {
        qc_hash_t d;
        char ref[32];
        fill(&d, (uint8_t)(0xa0 + 0x20 * i));
        snprintf(ref, sizeof ref, "JN-2026-%06u", 124u + i);
        qc_txb_add_record(&b, &d, "licence", ref, NULL);
    }
    qc_block_t *blk = &x->block2;
    blk->txs = calloc(1, sizeof *blk->txs);
    if (blk->txs == NULL) { qc_txb_abort(&b); return QC_ERR_NOMEM; }
    int rc = qc_txb_finish(&b, &seal_sk, &blk->txs[0]);
    if (rc != QC_OK) return rc;
    blk->tx_count = 1;

    qc_header_t *h = &blk->header;
    *h = x->v.block.header;
    h->height = 2;
    h->prev_hash = x->v.block_hash;
    h->time_ms = EX_BLOCK2_TIME_MS;
    h->proposer = 1;
    qc_block_tx_root(blk, &h->tx_root);
    for (uint16_t i = 0; i < 2; i++)
        qc_record_leaf_hash(1, &x->v.tx.id, i, x->v.tx.records[i].digest, &x->leaves[i]);
    for (uint16_t i = 0; i < 3; i++)
        qc_record_leaf_hash(2, &blk->txs[0].id, i, blk->txs[0].records[i].digest,
                            &x->leaves[2 + i]);
    h->log_size = RECEIPTEX_LEAVES;
    merkle_root(&h->log_root, x->leaves, RECEIPTEX_LEAVES);
    qc_header_hash(h, &x->block2_hash);

    qc_cert_t *c = &x->cert2;
    memset(c, 0, sizeof *c);
    c->epoch = h->epoch;
    c->height = h->height;
    c->view = h->view;
    c->block_hash = x->block2_hash;
    for (uint32_t i = 0; i < 3; i++) {
        qc_seckey_t node_sk;
        testkeys_keypair(TESTKEY_NODE, i, NULL, &node_sk);
        c->votes[i].validator = i;
        qc_commit_vote_sign(&c->votes[i].sig, &node_sk, VECTORS_CHAIN_ID, c->epoch, c->height,
                            c->view, &x->block2_hash);
    }
    c->vote_count = 3;
    return QC_OK;
}

int receiptex_build(receiptex_t *x) {
    memset(x, 0, sizeof *x);
    int rc = vectors_build(&x->v);
    if (rc == QC_OK) rc = build_genesis(x);
    if (rc == QC_OK) rc = build_block2(x);
    return rc;
}

void receiptex_free(receiptex_t *x) {
    vectors_free(&x->v);
    qc_block_free(&x->block2);
    free(x->genesis_json);
    x->genesis_json = NULL;
}

int receiptex_receipt(const receiptex_t *x, uint64_t log_index, receipt_t *out) {
    QC_ASSERT(log_index < RECEIPTEX_LEAVES);
    memset(out, 0, sizeof *out);
    bool first = log_index < 2;
    const qc_tx_t *tx = first ? &x->v.tx : &x->block2.txs[0];
    out->header = first ? x->v.block.header : x->block2.header;
    out->cert = first ? x->v.cert : x->cert2;
    out->record_index = (uint16_t)(first ? log_index : log_index - 2);
    snprintf(out->chain_id, sizeof out->chain_id, "%s", VECTORS_CHAIN_ID);
    out->genesis_hash = x->genesis.hash;
    memcpy(out->digest.b, tx->records[out->record_index].digest, 32);
    out->log_index = log_index;
    out->tree_size = out->header.log_size;
    int rc = merkle_inclusion_proof(x->leaves, out->tree_size, log_index, out->path,
                                    &out->path_len);
    if (rc == QC_OK) rc = qc_tx_clone(tx, &out->tx);
    return rc;
}

char *receiptex_json(const receiptex_t *x, uint64_t log_index) {
    receipt_t r;
    if (receiptex_receipt(x, log_index, &r) != QC_OK) return NULL;
    json_t *j = receipt_to_json(&r);
    receipt_free(&r);
    char *text = NULL;
    size_t len;
    if (j == NULL || jsonv_dump(j, &text, &len) != QC_OK) text = NULL;
    json_decref(j);
    return text;
}

/* ---------------------------------------------------------------- printing */

/* The RFC 9162 §2.1.3.2 walk over r's path, printing the running hash after every step. */
static void print_walk(FILE *f, const receipt_t *r, const qc_hash_t *leaf) {
    uint64_t fn = r->log_index, sn = r->tree_size - 1;
    qc_hash_t acc = *leaf;
    for (size_t i = 0; i < r->path_len; i++) {
        bool left = (fn & 1) || fn == sn;
        if (left) {
            merkle_node_hash(&acc, &r->path[i], &acc);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) { fn >>= 1; sn >>= 1; }
        } else {
            merkle_node_hash(&acc, &acc, &r->path[i]);
        }
        fn >>= 1;
        sn >>= 1;
        char label[96];
        snprintf(label, sizeof label, "Example: after path[%zu] (%s), r", i,
                 left ? "r = H(0x01 || path[i] || r)" : "r = H(0x01 || r || path[i])");
        vectors_print_hex(f, label, acc.b, 32);
    }
}

void receiptex_print(const receiptex_t *x, void *file) {
    FILE *f = file;
    receipt_t r;
    QC_ASSERT(receiptex_receipt(x, RECEIPTEX_LOG_INDEX, &r) == QC_OK);
    fprintf(f, "Example genesis file (`genesis.json`, exactly these bytes, ending in one "
               "newline):\n```json\n%s```\n", x->genesis_json);
    vectors_print_hex(f, "Example: genesis hash", x->genesis.hash.b, 32);
    char *json = receiptex_json(x, RECEIPTEX_LOG_INDEX);
    QC_ASSERT(json != NULL);
    fprintf(f, "Example receipt (record 0 of the transaction in block 2, log index %d):\n"
               "```json\n%s```\n", RECEIPTEX_LOG_INDEX, json);
    free(json);
    vectors_print_hex(f, "Example: transaction id", r.tx.id.b, 32);
    vectors_print_hex(f, "Example: block hash (height 2)", x->block2_hash.b, 32);
    uint8_t vote[128];
    size_t vlen = qc_commit_vote_bytes(vote, r.chain_id, r.cert.epoch, r.cert.height,
                                       r.cert.view, &r.cert.block_hash);
    vectors_print_hex(
        f, "Example: commit vote bytes (epoch 0, height 2, view 1), before the context prefix",
        vote, vlen);
    qc_hash_t leaf;
    qc_record_leaf_hash(r.header.height, &r.tx.id, r.record_index, r.digest.b, &leaf);
    vectors_print_hex(f, "Example: record-log leaf hash", leaf.b, 32);
    print_walk(f, &r, &leaf);
    vectors_print_hex(f, "Example: log_root in the header", r.header.log_root.b, 32);
    receipt_free(&r);
}
