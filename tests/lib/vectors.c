/* vectors.c - the published test vectors of docs/PROTOCOL.md, built from fixed keys. */
#include "vectors.h"

#include "sblock.h"
#include "statusproof.h"
#include "merkle.h"
#include "testkeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VECTORS_GENESIS_TIME_MS UINT64_C(1794999000000)

static const char *const vectors_display[4] = {"Jinan 济南", "Zibo 淄博", "Tai'an 泰安",
                                               "Liaocheng 聊城"};

static void fill(qc_hash_t *h, uint8_t start) {
    for (int i = 0; i < 32; i++) h->b[i] = (uint8_t)(start + i);
}

int vectors_genesis(genesis_t *g, char **json, size_t *len) {
    qc_validator_set_t vs;
    testkeys_validators(&vs, 4, 0);
    genesis_init(g, VECTORS_CHAIN_ID, VECTORS_GENESIS_TIME_MS);
    for (uint32_t i = 0; i < vs.n; i++) {
        const qc_member_t *m = &vs.members[i];
        char p2p[64], api[64];
        snprintf(p2p, sizeof p2p, "%s.example.org:7100", m->name);
        snprintf(api, sizeof api, "%s.example.org:8100", m->name);
        int rc = genesis_add_member(g, m->name, vectors_display[i], &m->node_key, &m->seal_key,
                                    &m->admin_key, p2p, api);
        if (rc != QC_OK) return rc;
    }
    return genesis_encode(g, json, len, NULL, 0);
}

/* The governance vectors: jinan's admin proposes adding dezhou (testkeys member 4) and the
 * threshold 4 (nonce 9, expiry 1000, vote expiry 500); zibo's admin approves (nonce 10). */
static int vectors_build_gov(vectors_t *v) {
    qc_validator_set_t five;
    testkeys_validators(&five, 5, 0);
    qc_gov_op_t *op = calloc(1, sizeof *op);
    if (op == NULL) return QC_ERR_NOMEM;
    op->op = QC_GOV_PROPOSE;
    op->vote_expiry_height = 500;
    op->change_count = 2;
    qc_change_t *c = &op->changes[0];
    c->kind = QC_CHANGE_ADD;
    snprintf(c->name, sizeof c->name, "%s", five.members[4].name);
    snprintf(c->display_name, sizeof c->display_name, "Dezhou 德州");
    c->node_key = five.members[4].node_key;
    c->seal_key = five.members[4].seal_key;
    c->admin_key = five.members[4].admin_key;
    snprintf(c->p2p_address, sizeof c->p2p_address, "10.0.1.5:7100");
    snprintf(c->api_address, sizeof c->api_address, "10.0.1.5:8100");
    op->changes[1].kind = QC_CHANGE_THRESHOLD;
    op->changes[1].threshold = 4;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_ADMIN, 0, NULL, &sk);
    int rc = qc_gov_tx_build(VECTORS_CHAIN_ID, &sk, 9, 1000, op, &v->gov_propose);
    if (rc == QC_OK) {
        qc_gov_op_t approve = {.op = QC_GOV_APPROVE, .proposal = v->gov_propose.id};
        testkeys_keypair(TESTKEY_ADMIN, 1, NULL, &sk);
        rc = qc_gov_tx_build(VECTORS_CHAIN_ID, &sk, 10, 1000, &approve, &v->gov_approve);
    }
    free(op);
    return rc;
}

int vectors_block_state(smap_mem_t *m, clog_set_t *clogs, const qc_block_t *b,
                        const qc_validator_set_t *vs, uint64_t log_index, qc_hash_t *root) {
    sblock_t sb = {0};
    smap_writes_t ws = {0};
    smap_reader_t r = smap_mem_reader(m);
    uint64_t height = b->header.height;
    int rc = QC_OK;
    for (uint32_t i = 0; i < b->tx_count && rc == QC_OK; i++) {
        const qc_tx_t *tx = &b->txs[i];
        if (qc_tx_type_is_lifecycle(tx->type)) {
            rc = QC_ERR_INVALID; /* would need sblock_changed on exec's lifecycle state */
            break;
        }
        if (tx->type != QC_TX_ANCHOR) continue; /* GOVERN, SHARE: no status, no event */
        int who = qc_validators_find_seal(vs, &tx->signer);
        if (who < 0) {
            rc = QC_ERR_INVALID;
            break;
        }
        /* exec's state_tx: the signer's city log events (§13.1), then the fresh statuses */
        const char *city = vs->members[who].name;
        rc = clog_tx(clogs, tx, city, height, NULL);
        if (rc == QC_OK) rc = sblock_anchor(&sb, tx, city, height, log_index);
        log_index += tx->record_count;
    }
    /* exec's state_finish: the city heads that moved (§13.2), then the root */
    if (rc == QC_OK) rc = clog_finish(clogs, &sb);
    if (rc == QC_OK) rc = sblock_finish(&sb, &r, &ws, root);
    if (rc == QC_OK) rc = smap_mem_commit(m, &ws);
    sblock_free(&sb);
    smap_writes_free(&ws);
    return rc;
}

/* The state map after block 1 of the vectors (built up to its header's state root):
 * *out (smap_mem_free). */
static int block1_map(const vectors_t *v, smap_mem_t **out, qc_hash_t *root) {
    int rc = smap_mem_new(out);
    if (rc != QC_OK) return rc;
    clog_set_t clogs = {0};
    rc = vectors_block_state(*out, &clogs, &v->block, &v->vs, 0, root);
    clog_set_free(&clogs);
    if (rc != QC_OK) {
        smap_mem_free(*out);
        *out = NULL;
    }
    return rc;
}

int vectors_build(vectors_t *v) {
    memset(v, 0, sizeof *v);
    testkeys_validators(&v->vs, 4, 0);
    genesis_t *g = malloc(sizeof *g);
    char *json = NULL;
    size_t json_len;
    int rc = g ? vectors_genesis(g, &json, &json_len) : QC_ERR_NOMEM;
    if (rc == QC_OK) v->genesis_hash = g->hash;
    free(json);
    free(g);
    if (rc != QC_OK) return rc;
    qc_seckey_t seal_sk;
    testkeys_keypair(TESTKEY_SEAL, 0, NULL, &seal_sk);
    qc_txb_t b;
    qc_hash_t d1, d2, old;
    fill(&d1, 0x10);
    fill(&d2, 0x40);
    fill(&old, 0x80);
    qc_txb_init(&b, VECTORS_CHAIN_ID, &v->vs.members[0].seal_key, 7, 1000);
    qc_txb_add_record(&b, &d1, "licence", "JN-2026-000123", NULL);
    qc_txb_add_record(&b, &d2, "sealed-document", "济南市-001", &old);
    rc = qc_txb_finish(&b, &seal_sk, &v->tx);
    if (rc != QC_OK) return rc;

    qc_block_t *blk = &v->block;
    blk->txs = calloc(1, sizeof *blk->txs);
    if (blk->txs == NULL) return QC_ERR_NOMEM;
    rc = qc_tx_clone(&v->tx, &blk->txs[0]);
    if (rc != QC_OK) return rc;
    blk->tx_count = 1;
    qc_header_t *h = &blk->header;
    h->version = QC_HEADER_VERSION;
    snprintf(h->chain_id, sizeof h->chain_id, "%s", VECTORS_CHAIN_ID);
    h->genesis_hash = v->genesis_hash;
    h->height = 1;
    h->time_ms = 1795000000000ull;
    h->proposer = 1;
    h->view = 1;
    h->epoch = 0;
    qc_validators_hash(&v->vs, &h->validators_hash);
    h->tx_count = 1;
    qc_block_tx_root(blk, &h->tx_root);
    qc_hash_t leaves[2];
    for (uint16_t i = 0; i < 2; i++)
        qc_record_leaf_hash(1, &v->tx.id, i, v->tx.records[i].digest, &leaves[i]);
    h->log_size = 2;
    merkle_root(&h->log_root, leaves, 2);
    smap_mem_t *m = NULL;
    rc = block1_map(v, &m, &h->state_root);
    smap_mem_free(m);
    if (rc != QC_OK) return rc;
    qc_header_hash(h, &v->block_hash);

    v->cert.epoch = 0;
    v->cert.height = 1;
    v->cert.view = 1;
    v->cert.block_hash = v->block_hash;
    for (uint32_t i = 0; i < 3; i++) {
        qc_seckey_t node_sk;
        testkeys_keypair(TESTKEY_NODE, i, NULL, &node_sk);
        v->cert.votes[i].validator = i;
        qc_commit_vote_sign(&v->cert.votes[i].sig, &node_sk, VECTORS_CHAIN_ID, 0, 1, 1,
                            &v->block_hash);
    }
    v->cert.vote_count = 3;
    return vectors_build_gov(v);
}

void vectors_free(vectors_t *v) {
    qc_tx_free(&v->tx);
    qc_tx_free(&v->gov_propose);
    qc_tx_free(&v->gov_approve);
    qc_block_free(&v->block);
}

static void print_hex(FILE *f, const char *label, const uint8_t *p, size_t n) {
    char *hex = malloc(2 * n + 1);
    QC_ASSERT(hex != NULL);
    qc_hex_encode(hex, p, n);
    fprintf(f, "%s:\n```\n", label);
    for (size_t i = 0; i < 2 * n; i += 64) fprintf(f, "%.64s\n", hex + i);
    fprintf(f, "```\n");
    free(hex);
}

void vectors_print_hex(void *file, const char *label, const uint8_t *p, size_t n) {
    print_hex(file, label, p, n);
}

void vectors_print(const vectors_t *v, void *file) {
    FILE *f = file;
    qc_seckey_t sk;
    for (uint32_t i = 0; i < 3; i++) {
        testkeys_keypair(TESTKEY_NODE, i, NULL, &sk);
        fprintf(f, "- node key of %s: seed ", v->vs.members[i].name);
        char hex[65];
        qc_hex_encode(hex, sk.b, 32);
        fprintf(f, "`%s`, public ", hex);
        qc_hex_encode(hex, sk.b + 32, 32);
        fprintf(f, "`%s`\n", hex);
    }
    testkeys_keypair(TESTKEY_SEAL, 0, NULL, &sk);
    char hex[65];
    qc_hex_encode(hex, sk.b, 32);
    fprintf(f, "- seal key of jinan: seed `%s`, ", hex);
    qc_hex_encode(hex, sk.b + 32, 32);
    fprintf(f, "public `%s`\n", hex);
    for (uint32_t i = 0; i < 2; i++) {
        testkeys_keypair(TESTKEY_ADMIN, i, NULL, &sk);
        qc_hex_encode(hex, sk.b, 32);
        fprintf(f, "- admin key of %s: seed `%s`, ", v->vs.members[i].name, hex);
        qc_hex_encode(hex, sk.b + 32, 32);
        fprintf(f, "public `%s`\n", hex);
    }
    fprintf(f, "\n");
    qc_hash_t vh;
    qc_validators_hash(&v->vs, &vh);
    print_hex(f, "Validator set hash (epoch 0, 4 members, threshold 3)", vh.b, 32);
    print_hex(f, "Genesis hash (of the §10.3 example genesis file)", v->genesis_hash.b, 32);
    print_hex(f, "Transaction body (canonical)", v->tx.body, v->tx.body_len);
    print_hex(f, "Transaction id", v->tx.id.b, 32);
    print_hex(f, "Transaction signature (seal key of jinan)", v->tx.sig.b, 64);
    qc_hash_t leaf;
    qc_tx_leaf_hash(&v->tx, &leaf);
    print_hex(f, "Transaction leaf hash (tx tree)", leaf.b, 32);
    for (uint16_t i = 0; i < 2; i++) {
        qc_record_leaf_hash(1, &v->tx.id, i, v->tx.records[i].digest, &leaf);
        char label[64];
        snprintf(label, sizeof label, "Record-log leaf hash, record %u at height 1", i);
        print_hex(f, label, leaf.b, 32);
    }
    uint8_t hdr[QC_HEADER_BYTES_MAX];
    size_t hlen;
    qc_header_encode(&v->block.header, hdr, sizeof hdr, &hlen);
    print_hex(f, "State root after block 1 (§12.1: both records' fresh statuses and jinan's "
                 "city head)", v->block.header.state_root.b, 32);
    print_hex(f, "Block header (canonical, height 1)", hdr, hlen);
    print_hex(f, "Block hash", v->block_hash.b, 32);
    uint8_t vote[128];
    size_t vlen = qc_commit_vote_bytes(vote, VECTORS_CHAIN_ID, 0, 1, 1, &v->block_hash);
    print_hex(f, "Commit vote bytes (epoch 0, height 1, view 1), before the context prefix", vote,
              vlen);
    for (uint32_t i = 0; i < v->cert.vote_count; i++) {
        char label[64];
        snprintf(label, sizeof label, "Commit signature by %s",
                 v->vs.members[v->cert.votes[i].validator].name);
        print_hex(f, label, v->cert.votes[i].sig.b, 64);
    }
    print_hex(f, "Governance transaction body (PROPOSE by jinan's admin key)", v->gov_propose.body,
              v->gov_propose.body_len);
    print_hex(f, "Governance transaction id (PROPOSE)", v->gov_propose.id.b, 32);
    print_hex(f, "Governance transaction signature (PROPOSE)", v->gov_propose.sig.b, 64);
    print_hex(f, "Governance transaction body (APPROVE by zibo's admin key)", v->gov_approve.body,
              v->gov_approve.body_len);
    print_hex(f, "Governance transaction signature (APPROVE)", v->gov_approve.sig.b, 64);
}

int vectors_status_proof(const vectors_t *v, const uint8_t digest[32], statusproof_t *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->chain_id, sizeof out->chain_id, "%s", VECTORS_CHAIN_ID);
    out->genesis_hash = v->genesis_hash;
    memcpy(out->digest.b, digest, 32);
    out->header = v->block.header;
    out->cert = v->cert;
    smap_mem_t *m = NULL;
    qc_hash_t root, key;
    smt_proof_t *p = malloc(sizeof *p);
    qc_recstat_t *st = malloc(sizeof *st);
    out->proof = malloc(SMT_PROOF_MAX_BYTES);
    int rc = p && st && out->proof ? block1_map(v, &m, &root)
                                   : QC_ERR_NOMEM;
    smap_reader_t r = m ? smap_mem_reader(m) : sblock_empty_reader();
    smt_map_key(&key, digest);
    if (rc == QC_OK) rc = smap_prove(&r, &key, p);
    if (rc == QC_OK) rc = smt_proof_encode(p, out->proof, SMT_PROOF_MAX_BYTES, &out->proof_len);
    for (uint16_t i = 0; rc == QC_OK && i < v->tx.record_count; i++) {
        if (memcmp(v->tx.records[i].digest, digest, 32) != 0) continue;
        memset(st, 0, sizeof *st);
        qc_recstat_fresh(st, digest, v->vs.members[0].name, 1, &v->tx.id, i);
        out->anchored = true;
        out->status = malloc(QC_RECSTAT_BYTES_MAX);
        rc = out->status ? qc_recstat_encode(st, out->status, QC_RECSTAT_BYTES_MAX,
                                             &out->status_len) : QC_ERR_NOMEM;
    }
    free(p);
    free(st);
    smap_mem_free(m);
    if (rc != QC_OK) statusproof_free(out);
    return rc;
}

char *vectors_status_json(const vectors_t *v, const uint8_t digest[32]) {
    statusproof_t sp;
    if (vectors_status_proof(v, digest, &sp) != QC_OK) return NULL;
    json_t *j = statusproof_to_json(&sp);
    statusproof_free(&sp);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    return text;
}

/* Prints the status proof of digest (its JSON) in a fenced block. */
static void print_proof_json(FILE *f, const char *label, const vectors_t *v,
                             const uint8_t digest[32]) {
    char *text = vectors_status_json(v, digest);
    QC_ASSERT(text != NULL);
    fprintf(f, "%s:\n```json\n%s\n```\n", label, text);
    free(text);
}

void vectors_print_status(const vectors_t *v, void *file) {
    FILE *f = file;
    statusproof_t sp;
    uint8_t absent[32];
    memset(absent, VECTORS_ABSENT_BYTE, sizeof absent);
    qc_hash_t key, h;
    smt_map_key(&key, v->tx.records[0].digest);
    print_hex(f, "Status example: map key of record 0 (digest 10 11 .. 2f)", key.b, 32);
    QC_ASSERT(vectors_status_proof(v, v->tx.records[0].digest, &sp) == QC_OK);
    print_hex(f, "Status example: record 0's status (fresh: owner jinan, block 1, log index 0)",
              sp.status, sp.status_len);
    qc_recstat_enc_hash(sp.status, sp.status_len, &h);
    print_hex(f, "Status example: its status_hash", h.b, 32);
    print_hex(f, "Status example: state_root of block 1 (§8's header)",
              v->block.header.state_root.b, 32);
    statusproof_free(&sp);
    /* the map's third entry: jinan's city head (§13.2), its log being block 1's two anchorings */
    clog_set_t clogs = {0};
    QC_ASSERT(clog_tx(&clogs, &v->tx, v->vs.members[0].name, 1, NULL) == QC_OK);
    const clog_city_t *jinan = clog_find(&clogs, v->vs.members[0].name);
    QC_ASSERT(jinan != NULL && jinan->log.size == 2);
    qc_city_key(jinan->name, &key);
    print_hex(f, "Status example: city_key of jinan", key.b, 32);
    rlog_root(&jinan->log, &h);
    print_hex(f, "Status example: the root of jinan's city log after block 1 (2 leaves)", h.b, 32);
    qc_hash_t head;
    qc_city_head(jinan->log.size, &h, &head);
    print_hex(f, "Status example: jinan's city_head after block 1", head.b, 32);
    clog_set_free(&clogs);
    print_proof_json(f, "Status example 1: the status proof of record 0 as of block 1", v,
                     v->tx.records[0].digest);
    smt_map_key(&key, absent);
    print_hex(f, "Status example: map key of the digest 77 77 .. 77", key.b, 32);
    print_proof_json(f, "Status example 2: the status proof of 77 77 .. 77 (never anchored) as of "
                        "block 1", v, absent);
}
