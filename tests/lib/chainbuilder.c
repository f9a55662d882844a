/* chainbuilder.c - valid blocks, transactions and certificates for tests and benchmarks. */
#include "chainbuilder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"
#include "sblock.h"
#include "testkeys.h"

#define CB_TTL_BLOCKS 100

void chainbuilder_init(chainbuilder_t *cb, const char *chain_id, uint32_t n, uint64_t epoch) {
    QC_ASSERT(qc_chain_id_valid(chain_id) && n >= 1 && n <= QC_VALIDATORS_MAX);
    memset(cb, 0, sizeof *cb);
    snprintf(cb->chain_id, sizeof cb->chain_id, "%s", chain_id);
    chainbuilder_set_validators(cb, n, epoch);
}

void chainbuilder_init_keys(chainbuilder_t *cb, const char *chain_id,
                            const qc_validator_set_t *vs, const qc_seckey_t *node_sk,
                            const qc_seckey_t *seal_sk) {
    QC_ASSERT(qc_chain_id_valid(chain_id) && vs->n >= 1 && vs->n <= QC_VALIDATORS_MAX);
    memset(cb, 0, sizeof *cb);
    snprintf(cb->chain_id, sizeof cb->chain_id, "%s", chain_id);
    cb->vs = *vs;
    qc_validators_hash(&cb->vs, &cb->vs_hash);
    memcpy(cb->node_sk, node_sk, vs->n * sizeof *node_sk);
    memcpy(cb->seal_sk, seal_sk, vs->n * sizeof *seal_sk);
}

void chainbuilder_set_validators(chainbuilder_t *cb, uint32_t n, uint64_t epoch) {
    testkeys_validators(&cb->vs, n, epoch);
    qc_validators_hash(&cb->vs, &cb->vs_hash);
    for (uint32_t i = 0; i < n; i++) {
        testkeys_keypair(TESTKEY_NODE, i, NULL, &cb->node_sk[i]);
        testkeys_keypair(TESTKEY_SEAL, i, NULL, &cb->seal_sk[i]);
    }
}

void chainbuilder_resume(chainbuilder_t *cb, uint64_t height, const qc_hash_t *hash,
                         const rlog_t *log) {
    QC_ASSERT(log->size < MERKLE_SIZE_MAX);
    cb->height = height;
    cb->head_hash = *hash;
    cb->log = *log;
}

void chainbuilder_digest(uint64_t height, uint32_t tx, uint32_t rec, qc_hash_t *out) {
    uint8_t msg[16];
    qc_put_u64(msg, height);
    qc_put_u32(msg + 8, tx);
    qc_put_u32(msg + 12, rec);
    qc_hash_ctx(out, "qchain/test/chainbuilder-digest", msg, sizeof msg);
}

int chainbuilder_tx(const chainbuilder_t *cb, uint32_t signer, uint32_t nonce_tx,
                    const qc_hash_t *digests, uint32_t n, qc_tx_t *tx) {
    QC_ASSERT(signer < cb->vs.n && n >= 1 && n <= QC_TX_RECORDS_MAX && nonce_tx < 65536);
    uint64_t height = cb->height + 1;
    qc_txb_t b;
    int rc = qc_txb_init(&b, cb->chain_id, &cb->vs.members[signer].seal_key,
                         (height << 16) | nonce_tx, height + CB_TTL_BLOCKS);
    for (uint32_t i = 0; i < n && rc == QC_OK; i++) {
        qc_hash_t d;
        if (digests != NULL) d = digests[i];
        else chainbuilder_digest(height, nonce_tx, i, &d);
        char ref[32];
        snprintf(ref, sizeof ref, "doc-%u", i);
        rc = qc_txb_add_record(&b, &d, "licence", ref, NULL);
    }
    if (rc != QC_OK) {
        qc_txb_abort(&b);
        return rc;
    }
    return qc_txb_finish(&b, &cb->seal_sk[signer], tx);
}

static int noop_put(void *ctx, uint32_t level, uint64_t index, const qc_hash_t *h) {
    (void)ctx, (void)level, (void)index, (void)h;
    return QC_OK;
}

/* Appends the record-log leaf of every record of b, in order, to *log. */
static int append_leaves(rlog_t *log, const qc_block_t *b) {
    int rc = QC_OK;
    for (uint32_t i = 0; i < b->tx_count && rc == QC_OK; i++) {
        const qc_tx_t *tx = &b->txs[i];
        for (uint32_t j = 0; j < tx->record_count && rc == QC_OK; j++) {
            qc_hash_t leaf;
            qc_record_leaf_hash(b->header.height, &tx->id, (uint16_t)j, tx->records[j].digest,
                                &leaf);
            rc = rlog_append(log, &leaf, noop_put, NULL);
        }
    }
    return rc;
}

/* The builder's own map and statuses: allocated once, and reachable from here for the
 * process's life (builders are plain structs that tests copy and drop without a free). */
#define CB_OWNED_MAX 4096
static void *cb_owned[3 * CB_OWNED_MAX];
static size_t cb_owned_n;

static int no_lookup(void *ctx, const uint8_t digest[32], qc_recstat_t *out) {
    (void)ctx, (void)digest, (void)out;
    return QC_ERR_NOTFOUND;
}

static int own_state(chainbuilder_t *cb) {
    if (cb->state != NULL) return QC_OK;
    if (cb_owned_n + 3 > 3 * CB_OWNED_MAX) return QC_ERR_TOOBIG;
    cb->life = calloc(1, sizeof *cb->life);
    cb->clogs = calloc(1, sizeof *cb->clogs);
    if (cb->life == NULL || cb->clogs == NULL || smap_mem_new(&cb->state) != QC_OK)
        return QC_ERR_NOMEM;
    lc_init(cb->life, no_lookup, NULL, LC_ALL);
    cb_owned[cb_owned_n++] = cb->life;
    cb_owned[cb_owned_n++] = cb->state;
    cb_owned[cb_owned_n++] = cb->clogs;
    return QC_OK;
}

static int life_lookup(void *ctx, const uint8_t digest[32], qc_recstat_t *out) {
    return lc_get(ctx, digest, out);
}

/* The city logs after b into *after (a copy of those after the builder's head, with b's
 * events), their moved heads into sb (may be NULL). */
static int city_logs(const chainbuilder_t *cb, const qc_block_t *b, clog_set_t *after,
                     sblock_t *sb) {
    static const clog_set_t none;
    const clog_set_t *before = cb->state_ext ? cb->clogs_ext : cb->clogs;
    int rc = clog_set_copy(after, before ? before : &none);
    for (uint32_t i = 0; i < b->tx_count && rc == QC_OK; i++) {
        const qc_tx_t *tx = &b->txs[i];
        int m = qc_validators_find_seal(&cb->vs, &tx->signer);
        if (m >= 0) rc = clog_tx(after, tx, cb->vs.members[m].name, b->header.height, NULL);
    }
    if (rc == QC_OK && sb != NULL) rc = clog_finish(after, sb);
    for (size_t i = 0; i < after->n && sb == NULL; i++) after->c[i].grown = false;
    return rc;
}

/* The block's map updates on the statuses after the builder's head (trusted: the builder
 * makes what tests ask for, and the store judges it). */
static int state_updates(const chainbuilder_t *cb, const qc_block_t *b, sblock_t *sb) {
    lc_state_t lc;
    if (cb->state_ext) lc_init(&lc, cb->life_ext ? cb->life_ext : no_lookup, cb->life_ext_ctx, LC_WATCHED);
    else lc_init(&lc, life_lookup, cb->life, LC_WATCHED);
    lc.trusted = true;
    int rc = QC_OK;
    for (uint32_t i = 0; i < b->tx_count && rc == QC_OK; i++) rc = lc_watch_tx(&lc, &b->txs[i]);
    uint64_t log_index = cb->log.size;
    for (uint32_t i = 0; i < b->tx_count && rc == QC_OK; i++) {
        const qc_tx_t *tx = &b->txs[i];
        rc = lc_apply(&lc, tx, &cb->vs, b->header.height, log_index, NULL, 0);
        int m = qc_validators_find_seal(&cb->vs, &tx->signer);
        if (rc == QC_OK && m >= 0)
            rc = sblock_anchor(sb, tx, cb->vs.members[m].name, b->header.height, log_index);
        log_index += tx->record_count;
    }
    clog_set_t after = {0};
    if (rc == QC_OK) rc = city_logs(cb, b, &after, sb);
    clog_set_free(&after);
    if (rc == QC_OK) rc = sblock_changed(sb, &lc);
    lc_free(&lc);
    return rc;
}

/* The state root after b (and, with ws, the nodes it writes). */
static int state_root(chainbuilder_t *cb, const qc_block_t *b, smap_writes_t *ws,
                      qc_hash_t *root) {
    int rc = cb->state_ext ? QC_OK : own_state(cb);
    if (rc != QC_OK) return rc;
    sblock_t sb = {0};
    smap_writes_t scratch = {0};
    smap_reader_t own = cb->state_ext ? *cb->state_ext : smap_mem_reader(cb->state);
    rc = state_updates(cb, b, &sb);
    if (rc == QC_OK) rc = sblock_finish(&sb, &own, ws ? ws : &scratch, root);
    sblock_free(&sb);
    smap_writes_free(&scratch);
    return rc;
}

int chainbuilder_seal(const chainbuilder_t *cb, qc_block_t *b) {
    qc_header_t *h = &b->header;
    h->tx_count = b->tx_count;
    rlog_t log = cb->log;
    int rc = qc_block_tx_root(b, &h->tx_root);
    if (rc == QC_OK) rc = append_leaves(&log, b);
    h->log_size = log.size;
    rlog_root(&log, &h->log_root);
    /* the own map is allocated on first use: the builder is logically unchanged */
    if (rc == QC_OK) rc = state_root((chainbuilder_t *)cb, b, NULL, &h->state_root);
    return rc;
}

void chainbuilder_certify(const chainbuilder_t *cb, const qc_block_t *b, qc_cert_t *cert) {
    memset(cert, 0, sizeof *cert);
    cert->epoch = b->header.epoch;
    cert->height = b->header.height;
    cert->view = b->header.view;
    qc_header_hash(&b->header, &cert->block_hash);
    cert->vote_count = qc_quorum(cb->vs.n);
    for (uint32_t i = 0; i < cert->vote_count; i++) {
        cert->votes[i].validator = i;
        qc_commit_vote_sign(&cert->votes[i].sig, &cb->node_sk[i], cb->chain_id, cert->epoch,
                            cert->height, cert->view, &cert->block_hash);
    }
}

int chainbuilder_block(const chainbuilder_t *cb, qc_tx_t *txs, uint32_t n, qc_block_t *out,
                       qc_cert_t *cert) {
    QC_ASSERT(n <= QC_BLOCK_TXS_MAX);
    memset(out, 0, sizeof *out);
    qc_header_t *h = &out->header;
    h->version = QC_HEADER_VERSION;
    snprintf(h->chain_id, sizeof h->chain_id, "%s", cb->chain_id);
    h->genesis_hash = cb->genesis_hash;
    h->height = cb->height + 1;
    h->prev_hash = cb->head_hash;
    h->time_ms = UINT64_C(1700000000000) + h->height * 1000;
    h->proposer = (uint32_t)(h->height % cb->vs.n);
    h->epoch = cb->vs.epoch;
    h->validators_hash = cb->vs_hash;
    out->txs = calloc(n ? n : 1, sizeof *out->txs);
    if (out->txs == NULL) return QC_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        out->txs[i] = txs[i];
        memset(&txs[i], 0, sizeof txs[i]);
    }
    out->tx_count = n;
    int rc = chainbuilder_seal(cb, out);
    if (rc == QC_OK) chainbuilder_certify(cb, out, cert);
    else qc_block_free(out);
    return rc;
}

int chainbuilder_make(const chainbuilder_t *cb, uint32_t n_txs, uint32_t recs_per_tx,
                      qc_block_t *out, qc_cert_t *cert) {
    qc_tx_t *txs = calloc(n_txs ? n_txs : 1, sizeof *txs);
    if (txs == NULL) return QC_ERR_NOMEM;
    int rc = QC_OK;
    uint32_t made = 0;
    for (; made < n_txs && rc == QC_OK; made++)
        rc = chainbuilder_tx(cb, made % cb->vs.n, made, NULL, recs_per_tx, &txs[made]);
    if (rc == QC_OK) rc = chainbuilder_block(cb, txs, n_txs, out, cert);
    else
        for (uint32_t i = 0; i + 1 < made; i++) qc_tx_free(&txs[i]);
    free(txs);
    return rc;
}

void chainbuilder_advance(chainbuilder_t *cb, const qc_block_t *b) {
    QC_ASSERT(b->header.height == cb->height + 1);
    if (cb->state_ext == NULL) {
        smap_writes_t ws = {0};
        qc_hash_t root;
        QC_ASSERT(state_root(cb, b, &ws, &root) == QC_OK);
        QC_ASSERT(smap_mem_commit(cb->state, &ws) == QC_OK);
        smap_writes_free(&ws);
        uint64_t log_index = cb->log.size;
        cb->life->trusted = true;
        for (uint32_t i = 0; i < b->tx_count; i++) {
            QC_ASSERT(lc_apply(cb->life, &b->txs[i], &cb->vs, b->header.height, log_index, NULL,
                               0) == QC_OK);
            log_index += b->txs[i].record_count;
        }
        lc_clear_changed(cb->life);
        clog_set_t after = {0};
        QC_ASSERT(city_logs(cb, b, &after, NULL) == QC_OK);
        clog_set_free(cb->clogs);
        *cb->clogs = after;
    }
    QC_ASSERT(append_leaves(&cb->log, b) == QC_OK);
    QC_ASSERT(cb->log.size == b->header.log_size);
    cb->height = b->header.height;
    qc_header_hash(&b->header, &cb->head_hash);
}
