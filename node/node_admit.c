/* node_admit.c - admission of signed transactions, many at a time: the cheap checks and the
 * mempool stay on the loop thread, the signatures of the ones worth verifying are verified on
 * the verification pool's threads (par.h, config verify.workers), then each is admitted in
 * arrival order. Clients' batches (POST /v1/transactions) come through node_submit_many;
 * transactions gossiped by peers wait in a bounded queue until the end of the loop turn. */
#include "node_internal.h"
#include "clog.h"

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

/* Is transaction id in the ledger? (ctx: the node's store; also mempool_view_t's callback.) */
static bool committed_cb(void *ctx, const qc_hash_t *id) {
    return store_tx_find(ctx, id, &(store_tx_loc_t){0}) == QC_OK;
}

/* What admission checks against: the ledger head, committed transactions included (a peer's
 * gossip can wait in the queue while the block holding it is applied, and must not then be
 * admitted again: it would wait in the mempool until it expired, never proposable). */
static mempool_view_t head_view(node_t *n, char *why, size_t why_cap) {
    return (mempool_view_t){n->genesis.chain_id, &n->store.validators, n->store.head.height + 1,
                            committed_cb, &n->store, store_gov(&n->store), why, why_cap,
                            store_record_status_cb, &n->store, store_share_cb, &n->store,
                            uv_now(n->loop)};
}

/* For each txs[i] with live[i]: sig[i] = its signature's verdict if the transaction passes
 * every other check against v (verified on the pool's threads), else MEMPOOL_SIG_UNKNOWN
 * (mempool_add_sig then refuses it for its reason, or verifies it itself if the pool changed
 * meanwhile). v is the head's view, without its committed lookup where the caller asked that
 * already: the loop thread runs this through to the adds, so the head does not move. */
static void verify_admissible(node_t *n, const qc_tx_t *txs, const bool *live, uint32_t count,
                              mempool_sig_t *sig, const mempool_view_t *v) {
    uint32_t *todo = malloc(sizeof *todo * (count ? count : 1)), k = 0;
    for (uint32_t i = 0; i < count; i++) {
        sig[i] = MEMPOOL_SIG_UNKNOWN;
        if (todo && live[i] && mempool_admissible(&n->mempool, &txs[i], v)) todo[k++] = i;
    }
    sigjob_t j = {txs, todo, sig};
    if (todo) par_for(n->par, k, verify_one, &j);
    n->stats.admit_sig_checks += k;
    free(todo);
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
        if (committed_cb(&n->store, &txs[i].id)) {
            cb(user, i, QC_ERR_DUPLICATE, &txs[i].id,
               mempool_reject_str(MEMPOOL_REJECT_DUP_COMMITTED));
            qc_tx_free(&txs[i]);
            continue;
        }
        live[i] = true;
    }
    mempool_view_t asked = head_view(n, n->submit_why, sizeof n->submit_why);
    asked.committed = NULL; /* asked above, at this head */
    verify_admissible(n, txs, live, count, sig, &asked);
    for (uint32_t i = 0; i < count; i++) {
        if (!live[i]) continue;
        qc_hash_t id = txs[i].id;
        mempool_reject_t r;
        int rc = mempool_add_sig(&n->mempool, &txs[i], &asked, sig[i], &r);
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
    mempool_view_t v = head_view(n, NULL, 0), asked = v;
    verify_admissible(n, n->gossipq, live, count, sig, &v);
    /* Whether each is committed was asked by verify_admissible, at this head, for those it
     * found admissible (a verdict in sig); the others are asked again, for their reason. */
    asked.committed = NULL;
    for (uint32_t i = 0; i < count; i++)
        if (mempool_add_sig(&n->mempool, &n->gossipq[i],
                            sig[i] == MEMPOOL_SIG_UNKNOWN ? &v : &asked, sig[i], NULL) != QC_OK)
            qc_tx_free(&n->gossipq[i]);
    memset(n->gossipq, 0, sizeof *n->gossipq * count);
    n->gossipq_len = 0;
}

/* The ids of the transactions in the proposals this node holds, sorted: mempool_resend
 * passes those over (their primary has them). */
typedef struct {
    qc_hash_t *ids;
    size_t n;
} pending_ids_t;

static int hash_cmp(const void *a, const void *b) { return memcmp(a, b, QC_HASH_BYTES); }

static bool in_pending_proposal(void *ctx, const qc_tx_t *tx) {
    const pending_ids_t *p = ctx;
    return p->n > 0 && bsearch(&tx->id, p->ids, p->n, sizeof *p->ids, hash_cmp) != NULL;
}

/* Collects them (at most NODE_PENDING_MAX x QC_BLOCK_TXS_MAX). QC_ERR_NOMEM: try next round. */
static int pending_ids(const node_t *n, pending_ids_t *p) {
    size_t total = 0;
    for (size_t i = 0; i < NODE_PENDING_MAX; i++)
        if (n->pending[i].used && n->pending[i].block.txs != NULL) total += n->pending[i].block.tx_count;
    p->n = 0;
    p->ids = total ? malloc(total * sizeof *p->ids) : NULL;
    if (total && p->ids == NULL) return QC_ERR_NOMEM;
    for (size_t i = 0; i < NODE_PENDING_MAX; i++) {
        const node_pending_t *e = &n->pending[i];
        if (!e->used || e->block.txs == NULL) continue;
        for (uint32_t t = 0; t < e->block.tx_count; t++) p->ids[p->n++] = e->block.txs[t].id;
    }
    if (p->n > 1) qsort(p->ids, p->n, sizeof *p->ids, hash_cmp);
    return QC_OK;
}

/* Sends tx to every peer; false if it could not be encoded. */
static bool broadcast_tx(node_t *n, const qc_tx_t *tx) {
    uint8_t *bytes, *buf;
    size_t len, blen;
    if (qc_tx_encode(tx, &bytes, &len) != QC_OK) return false;
    bool ok = wire_encode_tx(bytes, len, &buf, &blen) == QC_OK;
    if (ok) {
        net_broadcast(&n->net, buf, blen);
        free(buf);
    }
    free(bytes);
    return ok;
}

/* ---------------------------------------------------------------- the censorship watch */

/* Looked at from the oldest when picking the transaction to watch. */
#define WATCH_PICK_STEPS 64u

/* Whether this node is a backup in the normal case of its view, following by votes: only
 * then can it judge the primary's blocks. */
static bool judging_backup(node_t *n) {
    return pbft_mode(n->pbft) == PBFT_MODE_NORMAL && pbft_primary(n->pbft) != n->self &&
           !node_catching_up(n) && !node_core_blocked(n);
}

typedef struct {
    pending_ids_t *pending;
    mempool_view_t view;
    const mempool_t *mp;
} pick_ctx_t;

static bool not_watchable(void *ctx, const qc_tx_t *tx) {
    pick_ctx_t *k = ctx;
    return in_pending_proposal(k->pending, tx) || !mempool_still_valid(k->mp, tx, &k->view);
}

/* Acts on a suspicion node_watch_block raised, then makes sure a transaction is watched. */
/* p: the pending proposals' ids when have_p, else filled here if needed (caller frees). */
static void watch_tick(node_t *n, bool have_p, pending_ids_t *p) {
    censor_t *c = &n->censor;
    if (!judging_backup(n)) {
        n->censor_suspect = false;
        censor_clear(c);
        return;
    }
    if (n->censor_suspect) {
        n->censor_suspect = false;
        uint16_t primary = pbft_primary(n->pbft);
        uint64_t view = pbft_view(n->pbft);
        /* a suspicion of an earlier view's primary is stale: the others may have replaced it
         * already (their suspicions and the f+1 rule), and its successor gets a fresh watch */
        if (view == n->censor_suspect_view && pbft_suspect_primary(n->pbft) == QC_OK) {
            n->stats.censor_suspicions++;
            char id[2 * 8 + 1];
            qc_hex_encode(id, c->id.b, 8);
            QC_WARN("transaction %s... was passed over by the blocks of view %llu (primary %s) "
                    "after it was sent again: asking for a view change",
                    id, (unsigned long long)view,
                    primary < n->store.validators.n ? n->store.validators.members[primary].name
                                                    : "?");
        }
        censor_clear(c);
        return;
    }
    if (c->watching && !mempool_seen(&n->mempool, &c->id, NULL)) censor_clear(c);
    if (c->watching || n->mempool.count == n->mempool.reserved) return;
    if (!have_p && pending_ids(n, p) != QC_OK) return;
    pick_ctx_t k = {p, head_view(n, NULL, 0), &n->mempool};
    uint64_t seen;
    const qc_tx_t *tx = mempool_oldest_free(&n->mempool, not_watchable, &k, WATCH_PICK_STEPS, &seen);
    if (tx) censor_watch(c, &tx->id, seen, pbft_view(n->pbft));
}

void node_watch_block(node_t *n, const qc_block_t *b) {
    censor_t *c = &n->censor;
    uint64_t now = uv_now(n->loop);
    bool holds = false;
    uint64_t newest = 0, oldest = UINT64_MAX;
    for (uint32_t i = 0; i < b->tx_count; i++) {
        uint64_t seen;
        if (c->watching && memcmp(b->txs[i].id.b, c->id.b, QC_HASH_BYTES) == 0) holds = true;
        else if (mempool_seen(&n->mempool, &b->txs[i].id, &seen) && seen != 0) {
            if (seen > newest) newest = seen;
            if (seen < oldest) oldest = seen;
        }
    }
    if (oldest != UINT64_MAX && now > oldest) censor_latency(c, now, now - oldest);
    if (!c->watching) return;
    const qc_tx_t *w = mempool_get(&n->mempool, &c->id);
    if (w == NULL) { censor_clear(c); return; }
    bool room = true;
    if (!holds) {
        mempool_view_t v = head_view(n, NULL, 0);
        if (!mempool_still_valid(&n->mempool, w, &v)) { censor_clear(c); return; }
        /* its city's events in the block: an honest primary leaves the rest of a city's
         * transactions for a later block once the city's room is used (exec.c city_room) */
        int m = qc_validators_find_seal(&n->store.validators, &w->signer);
        size_t events = clog_tx_events(w);
        for (uint32_t i = 0; i < b->tx_count && m >= 0 && events > 0; i++)
            if (qc_validators_find_seal(&n->store.validators, &b->txs[i].signer) == m)
                events += clog_tx_events(&b->txs[i]);
        room = events <= CLOG_BLOCK_EVENTS_MAX;
    }
    switch (censor_block(c, now, pbft_view(n->pbft), holds, room, newest)) {
    case CENSOR_RESEND:
        if (broadcast_tx(n, w)) n->stats.censor_resent++;
        break;
    case CENSOR_SUSPECT:
        n->censor_suspect = true;
        n->censor_suspect_view = pbft_view(n->pbft);
        break;
    case CENSOR_NONE: break;
    }
}

/* ---------------------------------------------------------------- resend */

uint64_t node_resend_still_ms(uint64_t view_timeout_ms, uint64_t apply_gap_ms, bool applied) {
    if (!applied) return view_timeout_ms;
    uint64_t still = 2 * apply_gap_ms;
    if (still > 2 * view_timeout_ms) still = 2 * view_timeout_ms;
    return still > view_timeout_ms / 4 ? still : view_timeout_ms / 4;
}

bool node_resend_due(uint64_t now_ms, uint64_t last_apply_ms, uint64_t started_ms,
                     uint64_t still_ms, uint64_t view_timeout_ms, bool behind,
                     uint64_t behind_since_ms) {
    /* A node that a peer reported a higher head to is the one behind, not a chain standing
     * still; for two view timeouts at most, so that a peer lying about its head cannot stop
     * this node's resends for good. */
    bool lagging = behind && now_ms - behind_since_ms < 2 * view_timeout_ms;
    uint64_t since = last_apply_ms != 0 ? last_apply_ms : started_ms;
    return now_ms - since >= still_ms && !lagging;
}

void node_resend_tick(node_t *n) {
    uint64_t now = uv_now(n->loop), timeout = n->genesis.consensus.view_timeout_ms;
    if (now - n->resend_last_ms < timeout / 8) return;
    n->resend_last_ms = now;
    pending_ids_t p = {NULL, 0};
    bool have = false;
    /* Only while the chain stands still: under load, waiting is queueing, not a lost message,
     * sending the queue again would cost every link its bytes a second time, and the pool is
     * not walked at all. A transaction first met in a stall counts as sent then. Standing
     * still is measured against the chain's own pace (node_resend_still_ms): with large blocks
     * a second apart, half a second without one is the normal course, not a stall. */
    bool applied = n->last_apply_mono_ms != 0;
    uint64_t still = node_resend_still_ms(timeout, n->apply_gap_ms, applied);
    if (node_resend_due(now, n->last_apply_mono_ms, n->started_mono_ms, still, timeout,
                        n->behind_target != 0, n->behind_since_ms) &&
        pending_ids(n, &p) == QC_OK) {
        have = true;
        const qc_tx_t *out[NODE_RESEND_MAX];
        /* each again at most once per such stall's length */
        uint32_t k = mempool_resend(&n->mempool, now, still, NODE_RESEND_MAX,
                                    in_pending_proposal, &p, out);
        for (uint32_t i = 0; i < k; i++)
            if (broadcast_tx(n, out[i])) n->stats.txs_resent++;
    }
    watch_tick(n, have, &p);
    free(p.ids);
}

void node_gossip_tx(node_t *n, qc_tx_t *tx) {
    /* Not asked here whether tx is committed: admission asks, at the head it admits at (the
     * ledger can move while tx waits), and one lookup a transaction is enough. */
    if (n->gossipq_len == NODE_GOSSIP_QUEUE_MAX) node_gossip_admit(n);
    n->gossipq[n->gossipq_len++] = *tx;
    memset(tx, 0, sizeof *tx);
}
