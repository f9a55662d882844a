/* node_admit.c - admission of signed transactions, many at a time: the cheap checks and the
 * mempool stay on the loop thread, the signatures of the ones worth verifying are verified on
 * the verification pool's threads (par.h, config verify.workers), then each is admitted in
 * arrival order. Clients' batches (POST /v1/transactions) come through node_submit_many;
 * transactions gossiped by peers wait in a bounded queue until the end of the loop turn. */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const qc_tx_t *txs;
    const uint32_t *todo; /* indices into txs */
    mempool_sig_t *sig;   /* per tx; written for the indices in todo only */
} sigjob_t;

static void verify_one(void *ctx, uint32_t k) {
    sigjob_t *j = ctx;
    uint32_t i = j->todo[k];
    j->sig[i] = qc_tx_verify_sig(&j->txs[i]) == QC_OK ? MEMPOOL_SIG_VALID : MEMPOOL_SIG_INVALID;
}

static mempool_view_t head_view(node_t *n, char *why, size_t why_cap) {
    return (mempool_view_t){n->genesis.chain_id, &n->store.validators, n->store.head.height + 1,
                            NULL, NULL, store_gov(&n->store), why, why_cap,
                            store_record_status_cb, &n->store, store_share_cb, &n->store};
}

/* For each txs[i] with live[i]: sig[i] = its signature's verdict if the transaction passes
 * every other check (verified on the pool's threads), else MEMPOOL_SIG_UNKNOWN (mempool_add_sig
 * then refuses it for its reason, or verifies it itself if the pool changed meanwhile). */
static void verify_admissible(node_t *n, const qc_tx_t *txs, const bool *live, uint32_t count,
                              mempool_sig_t *sig) {
    char why[256];
    mempool_view_t v = head_view(n, why, sizeof why);
    uint32_t *todo = malloc(sizeof *todo * (count ? count : 1)), k = 0;
    for (uint32_t i = 0; i < count; i++) {
        sig[i] = MEMPOOL_SIG_UNKNOWN;
        if (todo && live[i] && mempool_admissible(&n->mempool, &txs[i], &v)) todo[k++] = i;
    }
    sigjob_t j = {txs, todo, sig};
    if (todo) par_for(n->par, k, verify_one, &j);
    n->stats.admit_sig_checks += k;
    free(todo);
}

static bool committed(node_t *n, const qc_hash_t *id) {
    return store_tx_find(&n->store, id, &(store_tx_loc_t){0}) == QC_OK;
}

int node_submit_many(node_t *n, uint32_t count, const uint8_t *const *bytes, const size_t *lens,
                     node_submit_cb cb, void *user) {
    if (count == 0) return QC_OK;
    qc_tx_t *txs = calloc(count, sizeof *txs);
    bool *live = calloc(count, sizeof *live);
    mempool_sig_t *sig = calloc(count, sizeof *sig);
    if (txs == NULL || live == NULL || sig == NULL) {
        free(txs); free(live); free(sig);
        return QC_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (bytes[i] == NULL) { cb(user, i, QC_ERR_INVALID, NULL, NULL); continue; }
        if (qc_tx_decode(bytes[i], lens[i], &txs[i]) != QC_OK) {
            cb(user, i, QC_ERR_INVALID, NULL, "transaction does not decode");
            continue;
        }
        if (committed(n, &txs[i].id)) {
            cb(user, i, QC_ERR_DUPLICATE, &txs[i].id,
               mempool_reject_str(MEMPOOL_REJECT_DUP_COMMITTED));
            qc_tx_free(&txs[i]);
            continue;
        }
        live[i] = true;
    }
    verify_admissible(n, txs, live, count, sig);
    mempool_view_t v = head_view(n, n->submit_why, sizeof n->submit_why);
    for (uint32_t i = 0; i < count; i++) {
        if (!live[i]) continue;
        qc_hash_t id = txs[i].id;
        mempool_reject_t r;
        int rc = mempool_add_sig(&n->mempool, &txs[i], &v, sig[i], &r);
        if (rc != QC_OK) {
            qc_tx_free(&txs[i]);
            cb(user, i, rc, &id,
               r == MEMPOOL_REJECT_GOVERNANCE || r == MEMPOOL_REJECT_RECORD ||
                       r == MEMPOOL_REJECT_SHARE
                   ? n->submit_why
                   : mempool_reject_str(r));
            continue;
        }
        uint8_t *buf;
        size_t blen;
        if (wire_encode_tx(bytes[i], lens[i], &buf, &blen) == QC_OK) {
            net_broadcast(&n->net, buf, blen);
            free(buf);
        }
        cb(user, i, QC_OK, &id, NULL);
    }
    free(txs);
    free(live);
    free(sig);
    return QC_OK;
}

int node_gossip_init(node_t *n) {
    n->gossipq = calloc(NODE_GOSSIP_QUEUE_MAX, sizeof *n->gossipq);
    return n->gossipq ? QC_OK : QC_ERR_NOMEM;
}

void node_gossip_free(node_t *n) {
    for (uint32_t i = 0; n->gossipq && i < n->gossipq_len; i++) qc_tx_free(&n->gossipq[i]);
    free(n->gossipq);
    n->gossipq = NULL;
    n->gossipq_len = 0;
}

void node_gossip_admit(node_t *n) {
    uint32_t count = n->gossipq_len;
    if (count == 0) return;
    bool live[NODE_GOSSIP_QUEUE_MAX];
    mempool_sig_t sig[NODE_GOSSIP_QUEUE_MAX];
    for (uint32_t i = 0; i < count; i++) live[i] = true;
    verify_admissible(n, n->gossipq, live, count, sig);
    mempool_view_t v = head_view(n, NULL, 0);
    for (uint32_t i = 0; i < count; i++)
        if (mempool_add_sig(&n->mempool, &n->gossipq[i], &v, sig[i], NULL) != QC_OK)
            qc_tx_free(&n->gossipq[i]);
    memset(n->gossipq, 0, sizeof *n->gossipq * count);
    n->gossipq_len = 0;
}

void node_gossip_tx(node_t *n, qc_tx_t *tx) {
    if (committed(n, &tx->id)) { qc_tx_free(tx); return; }
    if (n->gossipq_len == NODE_GOSSIP_QUEUE_MAX) node_gossip_admit(n);
    n->gossipq[n->gossipq_len++] = *tx;
    memset(tx, 0, sizeof *tx);
}
