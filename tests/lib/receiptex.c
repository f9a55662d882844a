/* receiptex.c - the worked example receipt of docs/PROTOCOL.md §10 (see receiptex.h). */
#include "receiptex.h"

#include "sblock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "merkle.h"
#include "testkeys.h"

#define EX_BLOCK2_TIME_MS UINT64_C(1795000060000)
#define EX_BLOCK3_TIME_MS UINT64_C(1795000120000)
#define EX_BLOCK4_TIME_MS UINT64_C(1795000180000)
#define EX_NONCE 8
#define EX_EXPIRY 1000
#define EX_DEZHOU 4              /* dezhou's validator index in epoch 1 */

static void fill(qc_hash_t *h, uint8_t start) {
    for (int i = 0; i < 32; i++) h->b[i] = (uint8_t)(start + i);
}

/* A certificate for header h (hash bh) by the members voters[0..n) of its epoch's set, in
 * view 1 (their node keys are the testkeys of their indices). */
static void sign_cert(qc_cert_t *c, const qc_header_t *h, const qc_hash_t *bh,
                      const uint32_t *voters, uint32_t n) {
    memset(c, 0, sizeof *c);
    c->epoch = h->epoch;
    c->height = h->height;
    c->view = h->view;
    c->block_hash = *bh;
    for (uint32_t i = 0; i < n; i++) {
        qc_seckey_t node_sk;
        testkeys_keypair(TESTKEY_NODE, voters[i], NULL, &node_sk);
        c->votes[i].validator = voters[i];
        qc_commit_vote_sign(&c->votes[i].sig, &node_sk, VECTORS_CHAIN_ID, c->epoch, c->height,
                            c->view, bh);
    }
    c->vote_count = n;
}

/* Starts blk at `height` on a copy of header `like` (chain id, view, epoch, validators, log):
 * prev_hash, time and proposer as given, and one transaction finished from builder b with
 * member `sealer`'s seal key (testkeys), or none when b is NULL; sets tx_count and tx_root.
 * Aborts b on failure. */
static int ex_block(qc_block_t *blk, const qc_header_t *like, uint64_t height,
                    const qc_hash_t *prev_hash, uint64_t time_ms, uint32_t proposer, qc_txb_t *b,
                    uint32_t sealer) {
    blk->txs = calloc(1, sizeof *blk->txs);
    if (blk->txs == NULL) {
        if (b) qc_txb_abort(b);
        return QC_ERR_NOMEM;
    }
    if (b) {
        qc_seckey_t seal_sk;
        testkeys_keypair(TESTKEY_SEAL, sealer, NULL, &seal_sk);
        int rc = qc_txb_finish(b, &seal_sk, &blk->txs[0]);
        if (rc != QC_OK) return rc;
        blk->tx_count = 1;
    }
    qc_header_t *h = &blk->header;
    *h = *like;
    h->height = height;
    h->prev_hash = *prev_hash;
    h->time_ms = time_ms;
    h->proposer = proposer;
    h->tx_count = blk->tx_count;
    return qc_block_tx_root(blk, &h->tx_root);
}

/* The state of the example chain while it is built: the state map and the city logs after
 * the blocks so far, each block applied as exec does (vectors_block_state), and the record-log
 * size before the next block. */
typedef struct {
    smap_mem_t *map;
    clog_set_t clogs;
    uint64_t log_size;
} ex_state_t;

/* Applies blk (its transactions signed by members of vs, the set in force at it) to st;
 * *root is the state root after it. */
static int ex_state_root(ex_state_t *st, const qc_block_t *blk, const qc_validator_set_t *vs,
                         qc_hash_t *root) {
    int rc = vectors_block_state(st->map, &st->clogs, blk, vs, st->log_size, root);
    for (uint32_t i = 0; i < blk->tx_count; i++) st->log_size += blk->txs[i].record_count;
    return rc;
}

/* Block 2: one tx by jinan's seal key anchoring three records, on top of §8's block 1. */
static int build_block2(receiptex_t *x, ex_state_t *st) {
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
    int rc = ex_block(blk, &x->v.block.header, 2, &x->v.block_hash, EX_BLOCK2_TIME_MS, 1, &b, 0);
    if (rc != QC_OK) return rc;
    qc_header_t *h = &blk->header;
    for (uint16_t i = 0; i < 2; i++)
        qc_record_leaf_hash(1, &x->v.tx.id, i, x->v.tx.records[i].digest, &x->leaves[i]);
    for (uint16_t i = 0; i < 3; i++)
        qc_record_leaf_hash(2, &blk->txs[0].id, i, blk->txs[0].records[i].digest,
                            &x->leaves[2 + i]);
    h->log_size = RECEIPTEX_BLOCK2_LEAVES;
    merkle_root(&h->log_root, x->leaves, RECEIPTEX_BLOCK2_LEAVES);
    rc = ex_state_root(st, blk, &x->v.vs, &h->state_root);
    if (rc != QC_OK) return rc;
    qc_header_hash(h, &x->block2_hash);

    sign_cert(&x->cert2, h, &x->block2_hash, (const uint32_t[]){0, 1, 2}, 3);
    return QC_OK;
}

/* Block 3: empty, the last block of epoch 0, naming the epoch-1 set (dezhou joins). */
static int build_block3(receiptex_t *x, ex_state_t *st) {
    testkeys_validators(&x->vs1, 5, 1);
    qc_block_t *blk = &x->block3;
    int rc = ex_block(blk, &x->block2.header, 3, &x->block2_hash, EX_BLOCK3_TIME_MS, 2, NULL, 0);
    if (rc != QC_OK) return rc;
    qc_header_t *h = &blk->header;
    qc_validators_hash(&x->vs1, &h->next_validators_hash);
    rc = ex_state_root(st, blk, &x->v.vs, &h->state_root); /* empty: block 2's root */
    if (rc != QC_OK) return rc;
    qc_header_hash(h, &x->block3_hash);
    sign_cert(&x->cert3, h, &x->block3_hash, (const uint32_t[]){0, 1, 2}, 3);
    return QC_OK;
}

/* Block 4: epoch 1; one tx by dezhou's seal key anchoring one record (log leaf 5). */
static int build_block4(receiptex_t *x, ex_state_t *st) {
    qc_txb_t b;
    qc_hash_t d;
    fill(&d, 0x00);
    qc_txb_init(&b, VECTORS_CHAIN_ID, &x->vs1.members[EX_DEZHOU].seal_key, 1, EX_EXPIRY);
    qc_txb_add_record(&b, &d, "licence", "DZ-2026-000001", NULL);
    qc_header_t like = x->block2.header;
    like.epoch = 1;
    qc_validators_hash(&x->vs1, &like.validators_hash);
    qc_block_t *blk = &x->block4;
    int rc = ex_block(blk, &like, 4, &x->block3_hash, EX_BLOCK4_TIME_MS, 3, &b, EX_DEZHOU);
    if (rc != QC_OK) return rc;
    qc_header_t *h = &blk->header;
    qc_record_leaf_hash(4, &blk->txs[0].id, 0, blk->txs[0].records[0].digest,
                        &x->leaves[RECEIPTEX_BLOCK2_LEAVES]);
    h->log_size = RECEIPTEX_LEAVES;
    merkle_root(&h->log_root, x->leaves, RECEIPTEX_LEAVES);
    rc = ex_state_root(st, blk, &x->vs1, &h->state_root); /* dezhou's city log starts */
    if (rc != QC_OK) return rc;
    qc_header_hash(h, &x->block4_hash);
    sign_cert(&x->cert4, h, &x->block4_hash, (const uint32_t[]){1, 2, 3, EX_DEZHOU}, 4);
    return QC_OK;
}

int receiptex_build(receiptex_t *x) {
    memset(x, 0, sizeof *x);
    int rc = vectors_build(&x->v);
    if (rc == QC_OK) rc = vectors_genesis(&x->genesis, &x->genesis_json, &x->genesis_len);
    /* the state map and city logs after block 1 (§8's block: its root must be the one §8
     * publishes), then after each block */
    ex_state_t st = {0};
    qc_hash_t root1;
    if (rc == QC_OK) rc = smap_mem_new(&st.map);
    if (rc == QC_OK) rc = ex_state_root(&st, &x->v.block, &x->v.vs, &root1);
    if (rc == QC_OK && memcmp(root1.b, x->v.block.header.state_root.b, 32) != 0) rc = QC_ERR_STATE;
    if (rc == QC_OK) rc = build_block2(x, &st);
    if (rc == QC_OK) rc = build_block3(x, &st);
    if (rc == QC_OK) rc = build_block4(x, &st);
    smap_mem_free(st.map);
    clog_set_free(&st.clogs);
    return rc;
}

void receiptex_free(receiptex_t *x) {
    vectors_free(&x->v);
    qc_block_free(&x->block2);
    qc_block_free(&x->block3);
    qc_block_free(&x->block4);
    free(x->genesis_json);
    x->genesis_json = NULL;
}

int receiptex_receipt(const receiptex_t *x, uint64_t log_index, receipt_t *out) {
    QC_ASSERT(log_index < RECEIPTEX_LEAVES);
    memset(out, 0, sizeof *out);
    const qc_tx_t *tx;
    if (log_index < 2) { /* block 1 */
        tx = &x->v.tx;
        out->header = x->v.block.header;
        out->cert = x->v.cert;
        out->record_index = (uint16_t)log_index;
    } else if (log_index < RECEIPTEX_BLOCK2_LEAVES) {
        tx = &x->block2.txs[0];
        out->header = x->block2.header;
        out->cert = x->cert2;
        out->record_index = (uint16_t)(log_index - 2);
    } else { /* block 4, epoch 1: one membership step, certified by block 3 */
        tx = &x->block4.txs[0];
        out->header = x->block4.header;
        out->cert = x->cert4;
        out->record_index = (uint16_t)(log_index - RECEIPTEX_BLOCK2_LEAVES);
        out->membership = calloc(1, sizeof *out->membership);
        if (out->membership == NULL) return QC_ERR_NOMEM;
        out->membership_len = 1;
        out->membership[0].first_height = x->block3.header.height + 1;
        out->membership[0].vs = x->vs1;
        out->membership[0].switch_header = x->block3.header;
        out->membership[0].switch_cert = x->cert3;
    }
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
static void print_walk(FILE *f, const char *prefix, const receipt_t *r, const qc_hash_t *leaf) {
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
        snprintf(label, sizeof label, "%s: after path[%zu] (%s), r", prefix, i,
                 left ? "r = H(0x01 || path[i] || r)" : "r = H(0x01 || r || path[i])");
        vectors_print_hex(f, label, acc.b, 32);
    }
}

/* Prints the receipt of leaf log_index (r) under the heading `name`, then, under labels
 * starting with prefix, what an auditor derives from it: the transaction id, the block hash,
 * the commit vote bytes, the record-log leaf, the inclusion walk and the header's log root. */
static void print_checks(FILE *f, const receiptex_t *x, const char *name, const char *prefix,
                         const receipt_t *r) {
    char *json = receiptex_json(x, r->log_index);
    QC_ASSERT(json != NULL);
    fprintf(f, "%s (record %u of the transaction in block %llu, log index %llu):\n```json\n%s```\n",
            name, r->record_index, (unsigned long long)r->header.height,
            (unsigned long long)r->log_index, json);
    free(json);
    char label[160];
    snprintf(label, sizeof label, "%s: transaction id", prefix);
    vectors_print_hex(f, label, r->tx.id.b, 32);
    qc_hash_t bh;
    qc_header_hash(&r->header, &bh);
    snprintf(label, sizeof label, "%s: block hash (height %llu)", prefix,
             (unsigned long long)r->header.height);
    vectors_print_hex(f, label, bh.b, 32);
    uint8_t vote[128];
    size_t vlen = qc_commit_vote_bytes(vote, r->chain_id, r->cert.epoch, r->cert.height,
                                       r->cert.view, &r->cert.block_hash);
    snprintf(label, sizeof label,
             "%s: commit vote bytes (epoch %llu, height %llu, view %llu), before the context "
             "prefix", prefix, (unsigned long long)r->cert.epoch,
             (unsigned long long)r->cert.height, (unsigned long long)r->cert.view);
    vectors_print_hex(f, label, vote, vlen);
    qc_hash_t leaf;
    qc_record_leaf_hash(r->header.height, &r->tx.id, r->record_index, r->digest.b, &leaf);
    snprintf(label, sizeof label, "%s: record-log leaf hash", prefix);
    vectors_print_hex(f, label, leaf.b, 32);
    print_walk(f, prefix, r, &leaf);
    snprintf(label, sizeof label, "%s: log_root in the header", prefix);
    vectors_print_hex(f, label, r->header.log_root.b, 32);
}

void receiptex_print(const receiptex_t *x, void *file) {
    FILE *f = file;
    receipt_t r;
    QC_ASSERT(receiptex_receipt(x, RECEIPTEX_LOG_INDEX, &r) == QC_OK);
    fprintf(f, "Example genesis file (`genesis.json`, exactly these bytes, ending in one "
               "newline):\n```json\n%s```\n", x->genesis_json);
    vectors_print_hex(f, "Example: genesis hash", x->genesis.hash.b, 32);
    print_checks(f, x, "Example receipt", "Example", &r);
    receipt_free(&r);
}

void receiptex_print_switch(const receiptex_t *x, void *file) {
    FILE *f = file;
    receipt_t r;
    QC_ASSERT(receiptex_receipt(x, RECEIPTEX_SWITCH_LOG_INDEX, &r) == QC_OK);
    qc_hash_t vh;
    qc_validators_hash(&x->vs1, &vh);
    vectors_print_hex(f, "Example 2: validator set hash of epoch 1 (jinan, zibo, taian, "
                         "liaocheng, dezhou; threshold 4)", vh.b, 32);
    vectors_print_hex(f, "Example 2: switch block hash (height 3)", x->block3_hash.b, 32);
    uint8_t vote[128];
    const qc_cert_t *c3 = &x->cert3;
    size_t vlen = qc_commit_vote_bytes(vote, r.chain_id, c3->epoch, c3->height, c3->view,
                                       &c3->block_hash);
    vectors_print_hex(f, "Example 2: switch commit vote bytes (epoch 0, height 3, view 1), "
                         "before the context prefix", vote, vlen);
    print_checks(f, x, "Example 2: receipt", "Example 2", &r);
    receipt_free(&r);
}
