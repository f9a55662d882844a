/* exec.c - proposal checks and deterministic execution of committed proposals into blocks. */
#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)

/* true if txs[i]'s id appears among txs[0..i). Sorting would be O(n log n); proposals are at
 * most QC_BLOCK_TXS_MAX, so a small open-addressing set is used instead. */
typedef struct {
    uint32_t cap;
    int32_t *slot; /* index into txs, -1 empty */
} idset_t;

static int idset_init(idset_t *s, uint32_t n) {
    s->cap = 16;
    while (s->cap < 2 * n) s->cap *= 2;
    s->slot = malloc(sizeof *s->slot * s->cap);
    if (s->slot == NULL) return QC_ERR_NOMEM;
    memset(s->slot, 0xff, sizeof *s->slot * s->cap);
    return QC_OK;
}

/* Inserts txs[i]; returns false if an equal id is already present. */
static bool idset_add(idset_t *s, const qc_tx_t *txs, uint32_t i) {
    uint32_t pos;
    memcpy(&pos, txs[i].id.b, sizeof pos);
    for (uint32_t probes = 0; probes < s->cap; probes++) {
        pos &= s->cap - 1;
        if (s->slot[pos] < 0) { s->slot[pos] = (int32_t)i; return true; }
        if (memcmp(txs[s->slot[pos]].id.b, txs[i].id.b, QC_HASH_BYTES) == 0) return false;
        pos++;
    }
    QC_ASSERT(!"idset full");
    return false;
}

int exec_check_proposal(const qc_proposal_t *p, uint64_t height, uint64_t view,
                        const exec_check_t *c, uint32_t *sig_checks, char *why, size_t why_cap) {
    const qc_proposal_header_t *h = &p->header;
    if (strcmp(h->chain_id, c->chain_id) != 0) { WHY("proposal for another chain"); return QC_ERR_INVALID; }
    if (h->height != height || h->view != view) {
        WHY("proposal names height %llu view %llu, expected %llu/%llu",
            (unsigned long long)h->height, (unsigned long long)h->view,
            (unsigned long long)height, (unsigned long long)view);
        return QC_ERR_INVALID;
    }
    if (h->proposer != c->primary) { WHY("proposer %u is not the primary %u", h->proposer, c->primary); return QC_ERR_INVALID; }
    uint64_t skew = h->time_ms > c->now_ms ? h->time_ms - c->now_ms : c->now_ms - h->time_ms;
    if (skew > c->time_skew_ms_max) { WHY("proposal time is %llu ms off this node's clock", (unsigned long long)skew); return QC_ERR_INVALID; }
    if (p->tx_count > QC_BLOCK_TXS_MAX) { WHY("too many transactions"); return QC_ERR_TOOBIG; }
    idset_t seen;
    if (idset_init(&seen, p->tx_count) != QC_OK) return QC_ERR_NOMEM;
    int rc = QC_OK;
    for (uint32_t i = 0; i < p->tx_count && rc == QC_OK; i++) {
        const qc_tx_t *tx = &p->txs[i];
        if (tx->type != QC_TX_ANCHOR) { WHY("tx %u: type %u not accepted", i, tx->type); rc = QC_ERR_INVALID; }
        else if (tx->expiry_height < height) { WHY("tx %u: expired", i); rc = QC_ERR_EXPIRED; }
        else if (qc_validators_find_seal(c->validators, &tx->signer) < 0) { WHY("tx %u: signer is not a member", i); rc = QC_ERR_MEMBER; }
        else if (!idset_add(&seen, p->txs, i)) { WHY("tx %u: repeated in the proposal", i); rc = QC_ERR_DUPLICATE; }
        else if (!(c->mempool && mempool_verified(c->mempool, tx))) {
            if (sig_checks) (*sig_checks)++;
            if (qc_tx_verify_sig(tx) != QC_OK) { WHY("tx %u: signature does not verify", i); rc = QC_ERR_SIGNATURE; }
        }
    }
    free(seen.slot);
    return rc;
}

static int noop_put(void *ctx, uint32_t level, uint64_t index, const qc_hash_t *h) {
    (void)ctx; (void)level; (void)index; (void)h;
    return QC_OK;
}

/* Appends every record of tx (committed at height) to log. */
static int append_records(rlog_t *log, uint64_t height, const qc_tx_t *tx) {
    for (uint32_t r = 0; r < tx->record_count; r++) {
        qc_hash_t leaf;
        qc_record_leaf_hash(height, &tx->id, (uint16_t)r, tx->records[r].digest, &leaf);
        int rc = rlog_append(log, &leaf, noop_put, NULL);
        if (rc != QC_OK) return rc;
    }
    return QC_OK;
}

static bool tx_still_valid(const qc_tx_t *tx, uint64_t height, const exec_base_t *b) {
    if (tx->expiry_height < height) return false;
    if (qc_validators_find_seal(b->validators, &tx->signer) < 0) return false;
    if (b->committed && b->committed(b->committed_ctx, &tx->id)) return false;
    return true;
}

int exec_block(const qc_proposal_t *p, uint64_t view, uint32_t null_proposer,
               const exec_base_t *base, qc_block_t *out, rlog_t *log_after) {
    memset(out, 0, sizeof *out);
    uint64_t height = base->prev_height + 1;
    if (p != NULL && p->header.height != height) return QC_ERR_INVALID;
    *log_after = *base->log;
    uint32_t n = p ? p->tx_count : 0;
    idset_t seen = {0, NULL};
    int rc = QC_OK;
    if (n > 0) {
        out->txs = calloc(n, sizeof *out->txs);
        rc = out->txs ? idset_init(&seen, n) : QC_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n && rc == QC_OK; i++) {
        const qc_tx_t *tx = &p->txs[i];
        if (!tx_still_valid(tx, height, base) || !idset_add(&seen, p->txs, i)) continue;
        rc = qc_tx_clone(tx, &out->txs[out->tx_count]);
        if (rc == QC_OK) out->tx_count++;
        if (rc == QC_OK) rc = append_records(log_after, height, tx);
    }
    free(seen.slot);
    qc_header_t *h = &out->header;
    h->version = QC_FMT_VERSION;
    snprintf(h->chain_id, sizeof h->chain_id, "%s", base->chain_id);
    h->height = height;
    h->prev_hash = base->prev_hash;
    h->time_ms = p && p->header.time_ms > base->prev_time_ms ? p->header.time_ms : base->prev_time_ms;
    h->proposer = p ? p->header.proposer : null_proposer;
    h->view = view;
    h->epoch = base->validators->epoch;
    qc_validators_hash(base->validators, &h->validators_hash);
    h->tx_count = out->tx_count;
    if (rc == QC_OK) rc = qc_block_tx_root(out, &h->tx_root);
    h->log_size = log_after->size;
    rlog_root(log_after, &h->log_root);
    if (rc != QC_OK) qc_block_free(out);
    return rc;
}
