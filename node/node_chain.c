/* node_chain.c - the node's chain logic around the core: proposed blocks held by digest,
 * validation on the exact parent, building proposals as primary, applying committed blocks,
 * and catch-up from peers (every fetched block is checked against its quorum certificate, so
 * no single peer is trusted). */
#include "node_internal.h"
#include "compact.h"
#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define BODY_RETRY_MS 300
#define CATCHUP_INTERVAL_MS 500
#define PROBE_INTERVAL_MS 1000
/* A backup prepares a block only if its time is within this of the backup's own clock
 * (docs/PROTOCOL.md §4): generous for NTP-synced hosts and late-arriving bodies, tight enough
 * that a primary cannot stamp blocks far into the future or past. */
#define NODE_BLOCK_TIME_SKEW_MS_MAX 60000u
#define NOTE_IDLE_MS 300       /* sign the head's checkpoint note after this long without a block */ /* ask one peer (round robin) for its head even when not behind */

/* ---------------------------------------------------------------- pending blocks */

node_pending_t *node_pending_find(node_t *n, const qc_hash_t *digest) {
    for (size_t i = 0; i < NODE_PENDING_MAX; i++)
        if (n->pending[i].used && memcmp(n->pending[i].digest.b, digest->b, 32) == 0)
            return &n->pending[i];
    return NULL;
}

void node_pending_free(node_pending_t *e) {
    qc_block_free(&e->block);
    exec_leaves_free(&e->leaves);
    smap_writes_free(&e->state_writes);
    smap_windex_free(e->state_layer);
    clog_set_free(&e->clogs_after);
    clog_nodes_free(&e->city_nodes);
    free(e->gov_after);
    free(e->raw);
    free(e->missing);
    memset(e, 0, sizeof *e);
}

/* Nodes a spare write set may hold however little the blocks need (~0.5 MiB packed). */
#define NODE_WS_SPARE_SLACK 4096u

/* Returns a write set to the spares (ownership passes): it replaces the smallest spare if
 * larger, and whichever is left over is freed. A set 8 times larger than recent blocks need
 * goes (load fell: an idle node does not keep a full-load block's memory). "Recent" is a need
 * that follows a larger block at once and decays by an eighth with each smaller one, so the
 * sizes of full-load blocks, which vary several-fold from one to the next, keep their sets. */
static void ws_give(node_t *n, smap_writes_t *ws) {
    if (ws->n > 0) {
        size_t decayed = n->state_ws_need - n->state_ws_need / 8;
        n->state_ws_need = ws->n > decayed ? ws->n : decayed;
    }
    bool oversized = ws->cap > NODE_WS_SPARE_SLACK && ws->cap / 8 > n->state_ws_need;
    smap_writes_t *least = &n->state_ws_spare[0];
    for (size_t i = 1; i < NODE_WS_SPARES; i++)
        if (n->state_ws_spare[i].cap < least->cap) least = &n->state_ws_spare[i];
    if (!oversized && ws->cap > least->cap) {
        smap_writes_t t = *least;
        *least = *ws;
        *ws = t; /* the smaller one, freed below */
        smap_writes_reset(least);
    }
    smap_writes_free(ws);
}

void node_pending_drop(node_t *n, node_pending_t *e) {
    ws_give(n, &e->state_writes);
    node_pending_free(e);
}

/* The largest spare write set (empty, maybe with memory) for a new pending block; its place is
 * then empty until another is given back (ws_give). */
static smap_writes_t ws_take(node_t *n) {
    smap_writes_t *most = &n->state_ws_spare[0];
    for (size_t i = 1; i < NODE_WS_SPARES; i++)
        if (n->state_ws_spare[i].cap > most->cap) most = &n->state_ws_spare[i];
    smap_writes_t ws = *most;
    memset(most, 0, sizeof *most);
    smap_writes_reset(&ws);
    return ws;
}

static uint64_t pending_height(const node_pending_t *e) {
    return e->raw ? e->block.header.height : 0;
}

/* A free slot; when full, the entry of the lowest height that nobody waits for is evicted. */
static node_pending_t *pending_slot(node_t *n) {
    node_pending_t *victim = NULL;
    for (size_t i = 0; i < NODE_PENDING_MAX; i++) {
        node_pending_t *e = &n->pending[i];
        if (!e->used) return e;
        if (e->applying) continue; /* its write is in flight (node_process_commits) */
        if (!e->want && (victim == NULL || pending_height(e) < pending_height(victim))) victim = e;
    }
    if (victim == NULL) victim = &n->pending[n->pending[0].applying ? 1 : 0];
    node_pending_drop(n, victim);
    return victim;
}

/* Drops entries at or below the ledger head: committed, or lost to another block. */
static void pending_gc(node_t *n) {
    for (size_t i = 0; i < NODE_PENDING_MAX; i++) {
        node_pending_t *e = &n->pending[i];
        if (e->used && e->raw && e->block.header.height <= n->store.head.height) node_pending_drop(n, e);
    }
}

/* Placeholder for a digest whose body is not here yet. */
static node_pending_t *pending_placeholder(node_t *n, const qc_hash_t *digest) {
    node_pending_t *e = node_pending_find(n, digest);
    if (e) return e;
    e = pending_slot(n);
    e->used = true;
    e->digest = *digest;
    return e;
}

/* A proposed body, decoded and checked against its digest before it may take a pending slot
 * (so a malformed or mislabelled body from a peer can never evict a genuine one). */
typedef struct {
    qc_block_t block;
    uint8_t *raw;
    size_t raw_len;
} body_t;

static bool body_decode(const qc_hash_t *digest, const uint8_t *raw, size_t len, body_t *out) {
    if (qc_block_decode(raw, len, &out->block) != QC_OK) return false;
    qc_hash_t h;
    qc_header_hash(&out->block.header, &h);
    out->raw = memcmp(h.b, digest->b, 32) == 0 ? malloc(len ? len : 1) : NULL;
    if (out->raw == NULL) {
        qc_block_free(&out->block);
        return false;
    }
    memcpy(out->raw, raw, len);
    out->raw_len = len;
    return true;
}

/* Moves a decoded body into e (ownership transferred). */
static void body_install(node_pending_t *e, body_t *b) {
    qc_block_free(&e->block);
    free(e->raw);
    e->block = b->block;
    e->raw = b->raw;
    e->raw_len = b->raw_len;
    e->state = PENDING_RECEIVED;
}

node_pending_t *node_pending_add_raw(node_t *n, const qc_hash_t *digest, const uint8_t *raw,
                                     size_t len) {
    node_pending_t *e = node_pending_find(n, digest);
    if (e && e->raw) return e;
    body_t b;
    if (!body_decode(digest, raw, len, &b)) return NULL;
    if (e == NULL) e = pending_placeholder(n, digest);
    body_install(e, &b);
    return e;
}

static const qc_tx_t *held_tx(void *ctx, const qc_hash_t *id) {
    return mempool_get(&((node_t *)ctx)->mempool, id);
}

int node_pending_add_compact(node_t *n, const qc_hash_t *digest, const uint8_t *buf, size_t len) {
    node_gossip_admit(n); /* the gossip of its transactions may have come in this loop turn */
    body_t b;
    uint32_t missing = 0;
    qc_hash_t ids[WIRE_MISSING_MAX];
    int rc = compact_rebuild_ids(buf, len, digest, held_tx, n, &b.block, &missing, ids,
                                 WIRE_MISSING_MAX);
    if (rc == QC_ERR_NOTFOUND) {
        /* The header is the digest's (a placeholder is no room taken from genuine bodies): the
         * first body request asks for the missing ones alone, when there are few enough. */
        n->stats.compact_fetched++;
        node_pending_t *e = pending_placeholder(n, digest);
        if (!e->raw && e->missing == NULL && missing > 0 && missing <= WIRE_MISSING_MAX &&
            (e->missing = malloc(sizeof *e->missing * missing)) != NULL) {
            memcpy(e->missing, ids, sizeof *ids * missing);
            e->missing_n = missing;
        }
    }
    if (rc != QC_OK) return rc;
    /* Kept as the canonical Block bytes: what the consensus state stores and peers are served. */
    rc = qc_block_encode(&b.block, &b.raw, &b.raw_len);
    if (rc != QC_OK) { qc_block_free(&b.block); return rc; }
    body_install(pending_placeholder(n, digest), &b);
    n->stats.compact_rebuilt++;
    return QC_OK;
}

void node_persist_bodies(node_t *n, cstate_body_t *out, size_t cap, size_t *count) {
    *count = 0;
    for (size_t i = 0; i < NODE_PENDING_MAX && *count < cap; i++) {
        node_pending_t *e = &n->pending[i];
        if (!e->used || !e->raw || e->persisted || e->state != PENDING_VALID) continue;
        cstate_body_t *b = &out[(*count)++];
        b->height = e->block.header.height;
        b->digest = e->digest;
        b->data = e->raw;
        b->len = e->raw_len;
    }
}

static void request_body(node_t *n, node_pending_t *e) {
    uint64_t now = node_now_ms();
    if (now - e->requested_ms < BODY_RETRY_MS) return;
    e->requested_ms = now;
    uint8_t *buf;
    size_t len;
    /* First the transactions a compact proposal named that this node lacks; then the block. */
    bool partial = e->missing_n > 0 && !e->missing_asked;
    if (wire_encode_body_request(&e->digest, partial ? e->missing : NULL, partial ? e->missing_n : 0,
                                 &buf, &len) != QC_OK)
        return;
    e->missing_asked = e->missing_asked || partial;
    net_broadcast(&n->net, buf, len);
    free(buf);
    n->stats.body_requests++;
}

/* ---------------------------------------------------------------- parent state */

/* Transaction ids of the pending ancestors of a block, for "already seen" checks: an
 * open-addressing set built once per check (ancestors hold up to window x block_max_txs). */
typedef struct {
    node_t *n;
    const node_pending_t *anc[NODE_PENDING_MAX];
    size_t anc_count;
    smap_reader_t layer[NODE_PENDING_MAX]; /* the ancestors' state-map nodes, newest first */
    sblock_layers_t layers;
    smap_reader_t state;                   /* the map after the parent, through them */
    const qc_hash_t **set;  /* malloc'd; NULL slots empty */
    size_t set_cap;         /* power of two, > 2 x ids */
} seen_ctx_t;

static size_t seen_slot(const qc_hash_t *id, size_t cap) {
    uint64_t x;
    memcpy(&x, id->b, sizeof x); /* tx ids are SHA-256 outputs */
    return (size_t)x & (cap - 1);
}

/* Builds the set over the collected ancestors. false on allocation failure. */
static bool seen_build(seen_ctx_t *s) {
    for (size_t a = 0; a < s->anc_count; a++) {
        /* a pending block's nodes by position, made when a child first reads through it */
        node_pending_t *anc = (node_pending_t *)s->anc[a]; /* the node's own entry */
        if (anc->state_layer == NULL && smap_windex_new(&anc->state_writes, &anc->state_layer) != QC_OK)
            return false;
        s->layer[a] = smap_windex_reader(anc->state_layer);
    }
    s->layers = (sblock_layers_t){s->layer, s->anc_count, store_state_reader(&s->n->store)};
    s->state = sblock_layers_reader(&s->layers);
    size_t ids = 0;
    for (size_t a = 0; a < s->anc_count; a++) ids += s->anc[a]->block.tx_count;
    s->set_cap = 16;
    while (s->set_cap <= 2 * ids) s->set_cap *= 2;
    s->set = calloc(s->set_cap, sizeof *s->set);
    if (s->set == NULL) return false;
    for (size_t a = 0; a < s->anc_count; a++) {
        const qc_block_t *b = &s->anc[a]->block;
        for (uint32_t i = 0; i < b->tx_count; i++) {
            size_t k = seen_slot(&b->txs[i].id, s->set_cap);
            while (s->set[k] != NULL) k = (k + 1) & (s->set_cap - 1); /* terminates: half empty */
            s->set[k] = &b->txs[i].id;
        }
    }
    return true;
}

static void seen_free(seen_ctx_t *s) {
    free(s->set);
    s->set = NULL;
}

static bool seen_cb(void *ctx, const qc_hash_t *id) {
    seen_ctx_t *s = ctx;
    for (size_t k = seen_slot(id, s->set_cap), probes = 0; probes < s->set_cap; probes++) {
        if (s->set[k] == NULL) break;
        if (memcmp(s->set[k]->b, id->b, 32) == 0) return true;
        k = (k + 1) & (s->set_cap - 1);
    }
    store_tx_loc_t loc;
    return store_tx_find(&s->n->store, id, &loc) == QC_OK;
}

/* lc_lookup_fn of a parent state: the ledger's record status, seen through the pending
 * ancestors (replayed oldest first, trusted: each was validated) for the one digest asked.
 * Costs one pass over the ancestors' transactions per digest a block's lifecycle transactions
 * name; none when the parent is the ledger head. */
static int records_cb(void *ctx, const uint8_t digest[32], qc_recstat_t *out) {
    seen_ctx_t *s = ctx;
    if (s->anc_count == 0) return store_record_status(&s->n->store, digest, out);
    lc_state_t lc;
    lc_init(&lc, store_record_status_cb, &s->n->store, LC_WATCHED);
    lc.trusted = true;
    int rc = lc_watch(&lc, digest);
    const qc_validator_set_t *vs = &store_gov(&s->n->store)->vs;
    for (size_t a = s->anc_count; a-- > 0 && rc == QC_OK;) { /* anc[0] is the parent */
        const qc_block_t *b = &s->anc[a]->block;
        uint64_t records = 0;
        for (uint32_t i = 0; i < b->tx_count; i++) records += b->txs[i].record_count;
        uint64_t log_index = b->header.log_size - records;
        for (uint32_t i = 0; i < b->tx_count && rc == QC_OK; i++) {
            rc = lc_apply(&lc, &b->txs[i], vs, b->header.height, log_index, NULL, 0);
            log_index += b->txs[i].record_count;
        }
        if (s->anc[a]->gov_after != NULL) vs = &s->anc[a]->gov_after->vs;
    }
    if (rc == QC_OK) rc = lc_get(&lc, digest, out);
    lc_free(&lc);
    return rc;
}

/* sh_lookup_fn of a parent state: the ledger's sharing state, seen through the pending
 * ancestors' SHARE transactions (sh_get_after, oldest first) for the one key asked. Costs
 * nothing but a type test per ancestor transaction unless a block holds SHARE transactions;
 * nothing when the parent is the ledger head. */
static int shares_cb(void *ctx, const uint8_t *k, size_t klen, uint8_t *val, size_t *vlen) {
    seen_ctx_t *s = ctx;
    if (s->anc_count == 0) return store_share_get(&s->n->store, k, klen, val, vlen);
    const qc_block_t *blocks[NODE_PENDING_MAX];
    const qc_validator_set_t *vs[NODE_PENDING_MAX];
    const qc_validator_set_t *in_force = &store_gov(&s->n->store)->vs;
    for (size_t i = 0; i < s->anc_count; i++) { /* anc[0] is the parent */
        const node_pending_t *a = s->anc[s->anc_count - 1 - i];
        blocks[i] = &a->block;
        vs[i] = in_force;
        if (a->gov_after != NULL) in_force = &a->gov_after->vs;
    }
    return sh_get_after(store_share_cb, &s->n->store, blocks, vs, s->anc_count, k, klen, val,
                        vlen);
}

/* Fills *p with the state after the block `parent` at height-1: the ledger head, or a valid
 * pending block chaining down to it. false if that state is not known (yet). */
static bool parent_state(node_t *n, uint64_t height, const qc_hash_t *parent, exec_parent_t *p,
                         seen_ctx_t *seen) {
    memset(p, 0, sizeof *p);
    seen->n = n;
    seen->anc_count = 0;
    seen->set = NULL;
    /* A ledger whose state map is not whole (being rebuilt, or damaged: store.h) knows no
     * parent state: this node neither builds nor prepares blocks until it is. */
    qc_hash_t root;
    if (store_state_root(&n->store, &root) != QC_OK) return false;
    p->chain_id = n->genesis.chain_id;
    p->genesis_hash = &n->genesis.hash;
    p->gov = store_gov(&n->store);
    p->validators = &p->gov->vs;
    p->seen = seen_cb;
    p->seen_ctx = seen;
    p->records = records_cb;
    p->records_ctx = seen;
    p->state = &seen->state;
    p->shares = shares_cb;
    p->shares_ctx = seen;
    const store_head_t *h = &n->store.head;
    if (height == h->height + 1) {
        if (memcmp(parent->b, h->hash.b, 32) != 0) return false;
        p->height = h->height;
        p->hash = h->hash;
        p->time_ms = n->head_time_ms;
        p->log = &n->store.log;
        p->clogs = &n->store.clogs;
        return seen_build(seen);
    }
    const node_pending_t *e = node_pending_find(n, parent);
    if (e == NULL || !e->raw || e->state != PENDING_VALID || e->block.header.height + 1 != height)
        return false;
    p->height = e->block.header.height;
    p->hash = e->digest;
    p->time_ms = e->block.header.time_ms;
    p->log = &e->log_after;
    p->clogs = &e->clogs_after;
    if (e->gov_after == NULL) return false;
    p->gov = e->gov_after;
    p->validators = &p->gov->vs;
    /* walk the ancestors down to the ledger head: each must be valid pending */
    const node_pending_t *a = e;
    for (size_t steps = 0; steps < NODE_PENDING_MAX; steps++) {
        seen->anc[seen->anc_count++] = a;
        if (a->block.header.height == h->height + 1)
            return memcmp(a->block.header.prev_hash.b, h->hash.b, 32) == 0 && seen_build(seen);
        a = node_pending_find(n, &a->block.header.prev_hash);
        if (a == NULL || !a->raw || a->state != PENDING_VALID) return false;
    }
    return false;
}

/* ---------------------------------------------------------------- validation */

void node_want_validate(node_t *n, const pbft_validate_t *v) {
    node_pending_t *e = pending_placeholder(n, &v->digest);
    e->want = true;
    e->want_view = v->view;
    e->want_parent = v->parent;
    if (!e->raw) request_body(n, e);
}

static void validate_one(node_t *n, node_pending_t *e) {
    uint64_t height = e->block.header.height;
    if (height <= n->store.head.height) {         /* the ledger moved past it */
        e->want = false;
        pbft_validated(n->pbft, height, &e->digest, false);
        return;
    }
    if (memcmp(e->block.header.prev_hash.b, e->want_parent.b, 32) != 0) {
        e->want = false;
        e->state = PENDING_INVALID;
        pbft_validated(n->pbft, height, &e->digest, false);
        return;
    }
    exec_parent_t parent;
    seen_ctx_t *seen = malloc(sizeof *seen);
    if (seen == NULL) return;
    if (!parent_state(n, height, &e->want_parent, &parent, seen)) { free(seen); return; }
    if (e->gov_after == NULL && (e->gov_after = malloc(sizeof *e->gov_after)) == NULL) {
        free(seen);
        return;
    }
    exec_check_t c = {e->want_view, (uint32_t)(e->want_view % parent.validators->n), node_now_ms(),
                      NODE_BLOCK_TIME_SKEW_MS_MAX, &n->mempool, n->par};
    char why[300] = "";
    uint32_t sigs = 0;
    exec_leaves_free(&e->leaves);
    smap_writes_reset(&e->state_writes);
    if (e->state_writes.cap == 0) e->state_writes = ws_take(n);
    smap_windex_free(e->state_layer);
    e->state_layer = NULL;
    e->state_exec = false;
    parent.state_writes = &e->state_writes;
    parent.clogs_after = &e->clogs_after;
    parent.city_nodes = &e->city_nodes;
    /* The core orders blocks of its own epoch only: one whose parent already switched to the
     * next set is not for this epoch's consensus (the core discards it at the switch). */
    int rc = parent.validators->epoch == pbft_epoch_number(n->pbft)
                 ? exec_check(&e->block, &parent, &c, &e->log_after, e->gov_after, &e->leaves,
                              &sigs, why, sizeof why)
                 : (snprintf(why, sizeof why, "its parent ends epoch %llu",
                             (unsigned long long)pbft_epoch_number(n->pbft)), QC_ERR_STATE);
    seen_free(seen);
    free(seen);
    n->stats.sig_checks += sigs;
    e->want = false;
    e->state_exec = rc == QC_OK;
    e->state = rc == QC_OK ? PENDING_VALID : PENDING_INVALID;
    if (rc != QC_OK) {
        n->stats.proposals_invalid++;
        QC_LOG_RATED(&n->log_peer_blocks, uv_now(n->loop), QC_LOG_WARN,
                     "refusing block %llu from %s: %s", (unsigned long long)height,
                     parent.validators->members[c.primary].name, why);
    }
    pbft_validated(n->pbft, height, &e->digest, rc == QC_OK);
}

void node_try_validations(node_t *n) {
    /* lowest heights first, since a child needs its parent's state: bounded passes */
    for (int pass = 0; pass < 4; pass++) {
        bool progress = false;
        for (size_t i = 0; i < NODE_PENDING_MAX; i++) {
            node_pending_t *e = &n->pending[i];
            if (!e->used || !e->want) continue;
            if (!e->raw) { request_body(n, e); continue; }
            validate_one(n, e);
            if (!e->want) progress = true;
        }
        if (!progress) break;
    }
}

/* ---------------------------------------------------------------- commits */

void node_queue_commit(node_t *n, const pbft_committed_t *c) {
    if (n->commitq_len >= NODE_COMMIT_QUEUE_MAX) {
        QC_ERROR("commit queue full at height %llu; relying on catch-up",
                 (unsigned long long)c->cert.height);
        return;
    }
    n->commitq[n->commitq_len++] = *c;
}

/* The ledger could not write block `height` (a full or failing disk: rc QC_ERR_IO): not the
 * block's fault and not a fork. The commit stays queued and is retried every tick; the store
 * reopens its database once the disk has room (docs/STORAGE.md "Full disk"). Logged once per
 * episode; /healthz says "storage failing" meanwhile (node_health). */
static void ledger_write_failed(node_t *n, uint64_t height, int rc) {
    if (n->ledger_write_failing) return;
    n->ledger_write_failing = true;
    QC_ERROR("ledger cannot write block %llu (%s); retrying until the disk has room",
             (unsigned long long)height, qc_strerror(rc));
}

/* Signs the checkpoint note of block `height`, whose record log has log_size leaves and root
 * `root`: the head, or one of the blocks a catch-up reply applied together. When the ledger
 * has entered another epoch since the notes started (an epoch's last block was applied), the
 * notes restart under the set now in force and sign the head instead: a note is signed by the
 * set in force for the block after it, and every height up to the head is then past the
 * switch or older than the head. */
static void note_block(node_t *n, uint64_t height, uint64_t log_size, const qc_hash_t *root) {
    if (n->notes.vs.epoch != n->store.validators.epoch) {
        node_restart_notes(n);
        return;
    }
    if (height == 0 || height <= n->noted_height) return;
    notes_on_applied(&n->notes, height, log_size, root);
    n->noted_height = height;
}

static void after_apply(node_t *n, const qc_block_t *b, const qc_cert_t *cert, bool caught_up) {
    if (n->ledger_write_failing) {
        n->ledger_write_failing = false;
        QC_WARN("ledger writing again: block %llu applied", (unsigned long long)b->header.height);
    }
    n->head_time_ms = b->header.time_ms;
    if (!caught_up) node_watch_block(n, b); /* before the pool drops the block's txs */
    mempool_commit(&n->mempool, b->header.height, b->txs, b->tx_count);
    n->stats.blocks_applied++;
    if (caught_up) n->stats.blocks_caught_up++;
    n->stats.txs_committed += b->tx_count;
    for (uint32_t i = 0; i < b->tx_count; i++) {
        n->stats.records_committed += b->txs[i].record_count;
        if (qc_tx_type_is_lifecycle(b->txs[i].type))
            n->stats.lifecycle_committed[b->txs[i].type - QC_TX_ENDORSE]++;
        if (b->txs[i].share != NULL) n->stats.share_committed[b->txs[i].share->op - 1]++;
    }
    n->last_apply_ms = node_now_ms();
    uint64_t mono = uv_now(n->loop);
    /* The block cadence under load (node_resend_tick): the largest recent gap between two
     * blocks applied in the normal course while transactions still waited after the second;
     * an eighth decays at every block. */
    n->apply_gap_ms -= n->apply_gap_ms / 8;
    if (n->last_apply_mono_ms != 0 && !caught_up && n->mempool.count > 0 &&
        mono - n->last_apply_mono_ms > n->apply_gap_ms)
        n->apply_gap_ms = mono - n->last_apply_mono_ms;
    n->last_apply_mono_ms = mono;
    cstate_set_applied(&n->cstate, b->header.height);
    node_epoch_after_apply(n, b);
    if (n->rollback_height != 0 && b->header.height >= n->rollback_height) {
        QC_WARN("ledger back at block %llu after the rollback", (unsigned long long)b->header.height);
        n->rollback_height = 0;
    }
    /* Checkpoint notes are signed at every checkpoint height, and for the head once the chain
     * has been idle (node_note_tick), rather than for every block: one Ed25519 signature and
     * n-1 verifications per note are a visible share of a node's work under load. */
    if (b->header.height % n->pcfg.checkpoint_interval == 0)
        note_block(n, b->header.height, b->header.log_size, &b->header.log_root);
    if (n->on_commit) n->on_commit(n->on_commit_user, b, cert);
    pending_gc(n);
}

static void commitq_pop(node_t *n) {
    memmove(n->commitq, n->commitq + 1, (n->commitq_len - 1) * sizeof n->commitq[0]);
    n->commitq_len--;
}

/* On libuv's thread pool: the synced write of the block store_apply_begin prepared. */
static void apply_write_work(uv_work_t *req) {
    store_apply_write(&((node_t *)req->data)->store);
}

/* The commit queue's first block (pending entry e) is durable in the ledger: the mempool,
 * clients and the core hear of it. */
static void commit_applied(node_t *n, node_pending_t *e, const qc_cert_t *cert, uint64_t h) {
    qc_block_t block = e->block; /* after_apply frees pending entries: keep the block */
    memset(&e->block, 0, sizeof e->block);
    node_pending_drop(n, e);
    commitq_pop(n);
    after_apply(n, &block, cert, false);
    qc_block_free(&block);
    pbft_applied(n->pbft, h);
}

/* The ledger would not take committed block h: a failing disk (retried), else an operator's
 * matter. */
static void commit_refused(node_t *n, uint64_t h, int rc) {
    if (rc == QC_ERR_IO) {
        ledger_write_failed(n, h, rc);
        return;
    }
    n->stats.fatal++;
    QC_LOG_RATED(&n->log_ledger_refused, uv_now(n->loop), QC_LOG_ERROR,
                 "ledger refused committed block %llu: %s", (unsigned long long)h, qc_strerror(rc));
}

/* The synced write of the commit queue's first block returned (on the loop thread). */
static void apply_write_done(uv_work_t *req, int status) {
    (void)status; /* never cancelled */
    node_t *n = req->data;
    QC_ASSERT(n->apply_inflight && n->commitq_len > 0);
    n->apply_inflight = false;
    int rc = store_apply_end(&n->store);
    const pbft_committed_t *c = &n->commitq[0];
    uint64_t h = c->cert.height;
    node_pending_t *e = node_pending_find(n, &c->cert.digest);
    QC_ASSERT(e != NULL && e->applying); /* kept from eviction meanwhile (pending_slot) */
    e->applying = false;
    if (n->stopping) { /* the block is durable or not; either way node_stop may go on */
        node_stop_step(n);
        return;
    }
    if (rc != QC_OK) {
        commit_refused(n, h, rc);
        return;
    }
    qc_cert_t cert;
    wire_cert_from_pbft(&c->cert, &cert);
    commit_applied(n, e, &cert, h);
    node_process_commits(n);
    n->drive_pending = true; /* the core's answer to pbft_applied, in on_check */
}

/* Applies what the core committed, in order, while bodies are at hand: one block's write in
 * flight at a time. */
void node_process_commits(node_t *n) {
    while (n->commitq_len > 0 && !n->stopping && !n->apply_inflight) {
        const pbft_committed_t *c = &n->commitq[0];
        uint64_t h = c->cert.height;
        if (h <= n->store.head.height) { /* applied earlier through catch-up */
            qc_header_t hdr;
            qc_hash_t hash;
            if (store_header_get(&n->store, h, &hdr) == QC_OK) {
                qc_header_hash(&hdr, &hash);
                if (memcmp(hash.b, c->cert.digest.b, 32) != 0) {
                    n->stats.fatal++;
                    QC_ERROR("FORK: consensus committed a different block at height %llu than the ledger holds",
                             (unsigned long long)h);
                }
            }
            commitq_pop(n);
            pbft_applied(n->pbft, h);
            continue;
        }
        if (h != n->store.head.height + 1) return; /* a gap: catch-up fills it */
        node_pending_t *e = pending_placeholder(n, &c->cert.digest);
        if (!e->raw) { request_body(n, e); return; }
        qc_cert_t cert;
        wire_cert_from_pbft(&c->cert, &cert);
        /* A block this node checked or built comes with what exec computed: its records' leaf
         * hashes, its state-map nodes, its city logs and their subtree hashes; one it only
         * learned by certificate (a NEW-VIEW re-proposal) is computed by the store. */
        bool exec = e->state == PENDING_VALID && e->state_exec;
        store_given_t given = {.leaves = exec && e->leaves.n ? e->leaves.h : NULL,
                               .leaf_count = exec ? e->leaves.n : 0,
                               .state_writes = exec ? &e->state_writes : NULL,
                               .clogs_after = exec ? &e->clogs_after : NULL,
                               .city_nodes = exec ? &e->city_nodes : NULL};
        int rc = store_apply_begin(&n->store, &e->block, &cert, &given);
        if (rc != QC_OK) {
            commit_refused(n, h, rc);
            return;
        }
        /* The synced write runs on libuv's thread pool; meanwhile the loop reads, verifies and
         * votes on the next heights (block h stays pending: their parent). The next commit
         * waits for this one (apply_write_done), so the ledger's order is the commit order. */
        e->applying = true;
        n->apply_inflight = true;
        n->apply_req.data = n;
        if (uv_queue_work(n->loop, &n->apply_req, apply_write_work, apply_write_done) != 0) {
            apply_write_work(&n->apply_req); /* cannot happen with a valid loop; stay correct */
            apply_write_done(&n->apply_req, 0);
        }
        return;
    }
}

void node_note_head(node_t *n) {
    const store_head_t *h = &n->store.head;
    note_block(n, h->height, h->log_size, &h->log_root);
}

void node_note_tick(node_t *n) {
    notes_set_time(&n->notes, uv_now(n->loop));
    if (node_now_ms() - n->last_apply_ms >= NOTE_IDLE_MS) node_note_head(n);
}

/* ---------------------------------------------------------------- proposing */

void node_maybe_propose(node_t *n) {
    if (n->stopping || n->mempool.count == 0 || pbft_mode(n->pbft) != PBFT_MODE_NORMAL ||
        pbft_primary(n->pbft) != n->self || n->persist_failing)
        return;
    uint32_t max_txs = n->genesis.consensus.block_max_txs;
    if (n->cfg.block.max_txs && n->cfg.block.max_txs < max_txs) max_txs = n->cfg.block.max_txs;
    /* Batching: with nothing in flight, propose at once (latency); while blocks are in flight,
     * wait until a full block is waiting or block_interval_ms has passed (throughput: per-block
     * votes, syncs and checks are then shared by more transactions). */
    uint64_t next_height;
    qc_hash_t parent_digest0;
    bool in_flight = pbft_proposal_slot(n->pbft, &next_height, &parent_digest0) == QC_OK &&
                     next_height > n->store.head.height + 1;
    if (in_flight && n->mempool.count - n->mempool.reserved < max_txs &&
        node_now_ms() - n->last_propose_ms < n->genesis.consensus.block_interval_ms)
        return;
    const qc_tx_t **picked = malloc(sizeof *picked * max_txs);
    seen_ctx_t *seen = malloc(sizeof *seen);
    for (uint32_t round = 0; picked && seen && round < PBFT_WINDOW_MAX; round++) {
        uint64_t height;
        qc_hash_t parent_digest;
        if (pbft_proposal_slot(n->pbft, &height, &parent_digest) != QC_OK) break;
        exec_parent_t parent;
        if (!parent_state(n, height, &parent_digest, &parent, seen)) break;
        if (parent.validators->epoch != pbft_epoch_number(n->pbft)) { seen_free(seen); break; }
        gov_state_t *gov_after = malloc(sizeof *gov_after);
        uint32_t k = gov_after ? mempool_take(&n->mempool, height, max_txs, n->cfg.block.max_bytes,
                                              picked) : 0;
        if (n->test_propose_skip) { /* tests: a censoring primary */
            uint32_t kept = 0;
            for (uint32_t i = 0; i < k; i++)
                if (!n->test_propose_skip(n->test_propose_ctx, picked[i])) picked[kept++] = picked[i];
            k = kept;
        }
        qc_block_t b;
        rlog_t log_after;
        exec_leaves_t leaves = {0};
        smap_writes_t state_writes = ws_take(n);
        clog_set_t clogs_after = {0};
        clog_nodes_t city_nodes = {0};
        parent.state_writes = &state_writes;
        parent.clogs_after = &clogs_after;
        parent.city_nodes = &city_nodes;
        int rc = k == 0 ? QC_ERR_NOTFOUND
                        : exec_build(&parent, picked, k, node_now_ms(), n->self,
                                     pbft_view(n->pbft), &b, &log_after, gov_after, &leaves);
        seen_free(seen);
        if (rc != QC_OK) {
            exec_leaves_free(&leaves);
            ws_give(n, &state_writes); /* back unused: a proposal that found nothing to take */
            clog_set_free(&clogs_after);
            clog_nodes_free(&city_nodes);
            free(gov_after);
            break;
        }
        uint8_t *raw;
        size_t raw_len;
        if (b.tx_count == 0 || qc_block_encode(&b, &raw, &raw_len) != QC_OK) {
            qc_block_free(&b);
            exec_leaves_free(&leaves);
            ws_give(n, &state_writes);
            clog_set_free(&clogs_after);
            clog_nodes_free(&city_nodes);
            free(gov_after);
            break;
        }
        qc_hash_t digest;
        qc_header_hash(&b.header, &digest);
        node_pending_t *e = pending_slot(n);
        e->used = true;
        e->digest = digest;
        e->block = b;
        e->raw = raw;
        e->raw_len = raw_len;
        e->log_after = log_after;
        e->leaves = leaves;
        e->state_writes = state_writes;
        e->clogs_after = clogs_after;
        e->city_nodes = city_nodes;
        e->state_exec = true;
        e->gov_after = gov_after;
        e->state = PENDING_VALID;
        if (pbft_propose(n->pbft, height, &digest) != QC_OK) { node_pending_drop(n, e); break; }
        n->stats.proposals_built++;
        n->last_propose_ms = node_now_ms();
        node_drive(n);
    }
    free(picked);
    free(seen);
}

/* ---------------------------------------------------------------- catch-up */

static void send_fetch_from(node_t *n, uint32_t peer, uint64_t from) {
    if (n->test_no_rounds && peer != n->test_catchup_peer) return;
    uint8_t *buf;
    size_t len;
    if (wire_encode_fetch(from, n->cfg.catchup.batch_blocks, &buf, &len) != QC_OK) return;
    net_send(&n->net, peer, buf, len);
    free(buf);
}

static void send_fetch(node_t *n, uint32_t peer) { send_fetch_from(n, peer, n->store.head.height + 1); }

/* Asks up to catchup.peers peers that are ahead (or all, when none reported) for blocks. */
static void fetch_round(node_t *n) {
    n->fetch_ms = node_now_ms();
    uint32_t asked = 0, nv = n->store.validators.n;
    for (uint32_t k = 0; k < nv && asked < n->cfg.catchup.peers; k++) {
        uint32_t peer = (n->fetch_rr + k) % nv;
        if (peer == n->self || !net_peer_up(&n->net, peer)) continue;
        if (n->peer_heads[peer] <= n->store.head.height && !n->transfer_wanted) continue;
        send_fetch(n, peer);
        asked++;
    }
    n->fetch_rr = (n->fetch_rr + 1) % nv;
}

static void transfer_check(node_t *n) {
    if (!n->transfer_wanted || n->store.head.height < n->transfer_height) return;
    qc_header_t hdr;
    qc_hash_t hash;
    if (store_header_get(&n->store, n->transfer_height, &hdr) != QC_OK) return;
    qc_header_hash(&hdr, &hash);
    n->transfer_wanted = false;
    pbft_transfer_done(n->pbft, n->transfer_height, &hash);
    QC_INFO("caught up to height %llu", (unsigned long long)n->transfer_height);
}

void node_start_transfer(node_t *n, const pbft_fetch_t *f) {
    n->transfer_wanted = true;
    n->transfer_height = f->target.height;
    transfer_check(n); /* the ledger may hold the target already: nothing to fetch */
    if (!n->transfer_wanted) return;
    QC_INFO("state transfer: fetching blocks %llu..%llu from peers",
            (unsigned long long)n->store.head.height + 1, (unsigned long long)f->target.height);
    fetch_round(n);
}

bool node_catchup_due(uint64_t head, uint64_t best, bool transfer_wanted, uint64_t behind_ms) {
    if (transfer_wanted) return true;
    if (best <= head) return false;
    return best > head + NODE_ROUND_SLACK_BLOCKS || behind_ms >= CATCHUP_INTERVAL_MS;
}

void node_catchup_tick(node_t *n) {
    uint64_t now = node_now_ms(), mono = uv_now(n->loop), head = n->store.head.height;
    if (now - n->probe_ms >= PROBE_INTERVAL_MS && !n->test_no_rounds) {
        /* Peers' heads, from one peer a second: the reply to a request for no blocks. Blocks
         * are fetched by the rounds below, when they are due. */
        n->probe_ms = now;
        uint32_t nv = n->store.validators.n;
        for (uint32_t k = 0; k < nv; k++) {
            uint32_t peer = (n->probe_rr + k) % nv;
            if (peer == n->self || !net_peer_up(&n->net, peer)) continue;
            uint8_t *buf;
            size_t len;
            if (wire_encode_fetch(head + 1, 0, &buf, &len) == QC_OK) {
                net_send(&n->net, peer, buf, len);
                free(buf);
            }
            n->probe_rr = (peer + 1) % nv;
            break;
        }
    }
    uint64_t best = 0;
    for (uint32_t i = 0; i < n->store.validators.n; i++)
        if (n->peer_heads[i] > best) best = n->peer_heads[i];
    /* How long this node has been behind a height a peer reported, without reaching it. */
    if (best <= head || (n->behind_target != 0 && head >= n->behind_target)) n->behind_target = 0;
    if (best > head && n->behind_target == 0) {
        n->behind_target = best;
        n->behind_since_ms = mono;
    }
    uint64_t behind_ms = n->last_apply_mono_ms == 0 ? UINT64_MAX /* none applied yet */
                         : n->behind_target != 0 ? mono - n->behind_since_ms : 0;
    bool behind = node_catchup_due(head, best, n->transfer_wanted, behind_ms);
    /* a stream that answered within the interval needs no help (and the peers no duplicate
     * work); one that stalled is helped by the round, which asks several */
    bool streaming = n->stream_from != 0 && mono - n->stream_ms < CATCHUP_INTERVAL_MS;
    if (behind && !streaming && now - n->fetch_ms >= CATCHUP_INTERVAL_MS && !n->test_no_rounds) {
        QC_INFO("catching up: height %llu, peers report %llu", (unsigned long long)head,
                (unsigned long long)best);
        fetch_round(n);
    }
    transfer_check(n);
    if (n->commitq_len > 0) { /* a committed block whose body is missing */
        node_pending_t *e = node_pending_find(n, &n->commitq[0].cert.digest);
        if (e && !e->raw) request_body(n, e);
    }
}

bool node_catching_up(const node_t *n) {
    if (n->transfer_wanted) return true;
    uint32_t nv = n->store.validators.n, ahead = 0;
    for (uint32_t i = 0; i < nv; i++)
        if (i != n->self && n->peer_heads[i] > n->store.head.height + NODE_CATCHUP_SLACK_BLOCKS)
            ahead++;
    return ahead >= (uint32_t)pbft_max_faulty((int)nv) + 1;
}

void node_on_fetch(node_t *n, uint32_t peer, uint64_t from_height, uint32_t max) {
    uint64_t head = n->store.head.height;
    if (max > WIRE_BLOCKS_MAX) max = WIRE_BLOCKS_MAX;
    if (max > n->cfg.catchup.batch_blocks) max = n->cfg.catchup.batch_blocks;
    uint8_t *blocks[WIRE_BLOCKS_MAX] = {0}, *certs[WIRE_BLOCKS_MAX] = {0};
    size_t bl[WIRE_BLOCKS_MAX] = {0}, cl[WIRE_BLOCKS_MAX] = {0};
    uint32_t k = 0;
    size_t bytes = 0;
    for (uint64_t h = from_height; h <= head && k < max && bytes < n->cfg.p2p.max_frame_bytes / 2; h++) {
        if (store_block_raw(&n->store, h, &blocks[k], &bl[k], &certs[k], &cl[k]) != QC_OK) break;
        bytes += bl[k] + cl[k];
        k++;
    }
    uint8_t *buf;
    size_t len;
    wire_head_t me = {head, pbft_view(n->pbft), net_stats(&n->net)->peers_up};
    if (wire_encode_blocks(k, (const uint8_t *const *)blocks, bl, (const uint8_t *const *)certs, cl,
                           &me, &buf, &len) == QC_OK) {
        net_send(&n->net, peer, buf, len);
        free(buf);
        n->stats.fetch_served_blocks += k;
        n->stats.fetch_served_bytes += len;
    }
    for (uint32_t i = 0; i < k; i++) { free(blocks[i]); free(certs[i]); }
}

/* Decodes fetched block i of m and its certificate into *b / *cert. Returns 1 when it is the
 * next block (height head+1+k: the caller owns *b; its certificate is not verified yet), 0 when
 * its certificate names a height we already hold (nothing kept), -1 when the reply stops here. */
static int take_fetched(node_t *n, const wire_msg_t *m, uint32_t i, uint64_t next, qc_block_t *b,
                        qc_cert_t *cert) {
    if (qc_cert_decode(m->certs[i], m->cert_lens[i], cert) != QC_OK) return -1;
    /* A block below the head (the same range asked of several peers) is skipped by its
     * certificate's height, without decoding its transactions. */
    if (cert->height < next) return 0;
    /* Past a gap: an earlier reply was not applied (a commit's write was in flight, a block
     * refused) while this one was already asked for; nothing wrong with the peer. */
    if (cert->height > next) return -1;
    if (qc_block_decode(m->blocks[i], m->block_lens[i], b) != QC_OK) return -1;
    if (b->header.height == next && cert->height == next) return 1;
    n->stats.peer_bad_blocks++; /* a gap: asked again */
    QC_LOG_RATED(&n->log_peer_blocks, uv_now(n->loop), QC_LOG_WARN, "fetched block %llu refused: %s",
                 (unsigned long long)b->header.height, qc_strerror(QC_ERR_INVALID));
    qc_block_free(b);
    return -1;
}

/* How many of the k blocks, from the first, have a valid certificate (exec_certified); the
 * first refused one is logged and counted. */
static size_t certified_prefix(node_t *n, const qc_block_t *blocks, const qc_cert_t *certs,
                               size_t k) {
    char why[160] = "";
    int rc = QC_OK;
    size_t ok = exec_certified(n->par, n->genesis.chain_id, &n->store.validators, blocks, certs, k,
                               &rc, why, sizeof why);
    if (ok < k) {
        n->stats.peer_bad_blocks++;
        QC_LOG_RATED(&n->log_peer_blocks, uv_now(n->loop), QC_LOG_WARN,
                     "fetched block %llu refused: %s", (unsigned long long)blocks[ok].header.height,
                     why[0] ? why : qc_strerror(rc));
    }
    return ok;
}

/* Verifies the blocks of a reply that extend the head, in order (their certificates together on
 * the verification threads), and applies them with one synced store write (store_apply_blocks:
 * one fsync per reply rather than per block, which bounded catch-up at the disk's sync rate;
 * docs/BENCHMARKS.md "Long runs"). */
static void apply_fetched(node_t *n, const wire_msg_t *m) {
    if (n->apply_inflight) return; /* a commit's write is in flight; asked again later */
    qc_block_t *blocks = calloc(m->block_count + 1, sizeof *blocks);
    qc_cert_t *certs = calloc(m->block_count + 1, sizeof *certs);
    size_t k = 0;
    for (uint32_t i = 0; blocks && certs && i < m->block_count && k < STORE_APPLY_BLOCKS_MAX; i++) {
        int got = take_fetched(n, m, i, n->store.head.height + 1 + k, &blocks[k], &certs[k]);
        if (got < 0) break;
        k += (size_t)got;
        /* The blocks after an epoch's last block are certified by the next set: they are
         * checked once this one is applied (the next reply). */
        static const qc_hash_t zero;
        if (got == 1 && memcmp(blocks[k - 1].header.next_validators_hash.b, zero.b, 32) != 0) break;
    }
    size_t certified = k ? certified_prefix(n, blocks, certs, k) : 0;
    for (size_t j = certified; j < k; j++) qc_block_free(&blocks[j]);
    k = certified;
    size_t applied = 0;
    int rc = store_apply_blocks(&n->store, blocks, certs, k, &applied);
    if (rc == QC_ERR_IO) {
        /* The disk, not the peer: nothing of this reply was written; asked again later. */
        ledger_write_failed(n, n->store.head.height + 1, rc);
    } else if (rc != QC_OK) {
        n->stats.peer_bad_blocks++;
        QC_LOG_RATED(&n->log_peer_blocks, uv_now(n->loop), QC_LOG_WARN,
                     "fetched block %llu refused: %s",
                     (unsigned long long)n->store.head.height + 1, qc_strerror(rc));
    }
    for (size_t j = 0; j < applied; j++) after_apply(n, &blocks[j], &certs[j], true);
    for (size_t j = 0; j < k; j++) qc_block_free(&blocks[j]);
    free(blocks);
    free(certs);
}

/* The heights of a reply's first and last blocks, by their certificates; false if it has none
 * or they do not decode (apply_fetched then finds out which). */
static bool reply_span(const wire_msg_t *m, uint64_t *first, uint64_t *last) {
    qc_cert_t c;
    if (m->block_count == 0 || qc_cert_decode(m->certs[0], m->cert_lens[0], &c) != QC_OK) return false;
    *first = c.height;
    uint32_t i = m->block_count - 1;
    if (qc_cert_decode(m->certs[i], m->cert_lens[i], &c) != QC_OK) return false;
    *last = c.height;
    return *last >= *first;
}

void node_on_blocks(node_t *n, uint32_t peer, const wire_msg_t *m) {
    n->peer_heads[peer] = m->head_height;
    n->peer_views[peer] = m->head_view;
    n->peer_links_up[peer] = m->head_peers_up;
    uint64_t before = n->store.head.height, first, last;
    bool span = reply_span(m, &first, &last);
    if (n->stream_from != 0 && peer == n->stream_peer && span && first >= n->stream_from)
        n->stream_from = 0; /* the streamed reply is in (applied below, or past a gap) */
    /* Streaming: a reply that continues the ledger has the range after it asked for at once,
     * from the same peer, which reads and sends it while this node verifies and applies this
     * one (a link delivers in order). Before, each next request waited for the apply, and the
     * round every CATCHUP_INTERVAL_MS asked up to catchup.peers peers for the same range. */
    bool streamed = false;
    if (span && first <= before + 1 && last > before && m->head_height > last && !n->apply_inflight) {
        send_fetch_from(n, peer, last + 1);
        n->stream_peer = peer;
        n->stream_from = last + 1;
        n->stream_ms = uv_now(n->loop);
        n->stream_requests++;
        streamed = true;
    }
    apply_fetched(n, m);
    if (n->store.head.height > before)
        QC_INFO("caught up blocks %llu..%llu from %s", (unsigned long long)before + 1,
                (unsigned long long)n->store.head.height, n->store.validators.members[peer].name);
    /* Not all applied (an epoch's last block ends what can be checked now; the next set
     * certifies the rest): the streamed request finds a gap, so ask again from the head. */
    bool stopped = streamed && n->store.head.height < last;
    if (stopped) n->stream_from = 0;
    if ((!streamed || stopped) && m->head_height > n->store.head.height &&
        n->store.head.height > before)
        send_fetch(n, peer);
    transfer_check(n);
    node_process_commits(n);
}

/* The Body answering a request that names the transactions the asker lacks: a CompactBlock
 * with those whole. Returns false (the whole block goes) when the block does not decode. */
static bool answer_missing(node_t *n, uint32_t peer, const wire_msg_t *m, const qc_block_t *have,
                           const uint8_t *raw, size_t len) {
    qc_block_t decoded;
    const qc_block_t *b = have;
    if (b == NULL) {
        if (qc_block_decode(raw, len, &decoded) != QC_OK) return false;
        b = &decoded;
    }
    qc_hash_t ids[WIRE_MISSING_MAX] = {{{0}}};
    for (uint32_t i = 0; i < m->missing_count; i++) memcpy(ids[i].b, m->missing[i], 32);
    uint8_t *c, *buf;
    size_t clen, blen;
    bool ok = compact_encode_with(b, ids, m->missing_count, &c, &clen) == QC_OK;
    if (b == &decoded) qc_block_free(&decoded);
    if (!ok) return false;
    if (wire_encode_body(NULL, 0, c, clen, &buf, &blen) == QC_OK) {
        net_send(&n->net, peer, buf, blen);
        free(buf);
    }
    free(c);
    return true;
}

void node_on_body_request(node_t *n, uint32_t peer, const wire_msg_t *m) {
    node_pending_t *e = node_pending_find(n, &m->digest);
    uint8_t *raw = NULL;
    size_t len = 0;
    bool owned = false;
    if (e && e->raw) { raw = e->raw; len = e->raw_len; }
    else if (cstate_body(&n->cstate, &m->digest, &raw, &len) == QC_OK) owned = true;
    if (raw == NULL) return;
    uint8_t *buf;
    size_t blen;
    if (!(m->missing_count > 0 && answer_missing(n, peer, m, e && e->raw ? &e->block : NULL, raw, len)) &&
        wire_encode_body(raw, len, NULL, 0, &buf, &blen) == QC_OK) {
        net_send(&n->net, peer, buf, blen);
        free(buf);
    }
    if (owned) free(raw);
}

/* A Body holding a CompactBlock (the transactions this node asked for whole): rebuilt with the
 * mempool's for the rest. Missing one still, the next request asks for the whole block. */
static void on_compact_body(node_t *n, const uint8_t *buf, size_t len) {
    qc_hash_t h;
    if (compact_digest(buf, len, &h) != QC_OK) { n->stats.wire_malformed++; return; }
    node_pending_t *e = node_pending_find(n, &h);
    if (e == NULL || e->raw) return; /* only bodies someone here waits for */
    body_t b;
    uint32_t missing;
    int rc = compact_rebuild(buf, len, &h, held_tx, n, &b.block, &missing);
    if (rc == QC_ERR_INVALID) n->stats.wire_malformed++;
    if (rc != QC_OK) return;
    if (qc_block_encode(&b.block, &b.raw, &b.raw_len) != QC_OK) {
        qc_block_free(&b.block);
        return;
    }
    body_install(e, &b);
    n->stats.compact_completed++;
    node_try_validations(n);
    node_process_commits(n);
}

void node_on_body(node_t *n, const wire_msg_t *m) {
    if (m->compact) { on_compact_body(n, m->compact, m->compact_len); return; }
    const uint8_t *raw = m->bytes;
    size_t len = m->len;
    body_t body;
    if (qc_block_decode(raw, len, &body.block) != QC_OK) { n->stats.wire_malformed++; return; }
    qc_hash_t h;
    qc_header_hash(&body.block.header, &h);
    node_pending_t *e = node_pending_find(n, &h);
    /* only bodies someone here waits for (by digest) are kept */
    if (e == NULL || e->raw || (body.raw = malloc(len ? len : 1)) == NULL) {
        qc_block_free(&body.block);
        return;
    }
    memcpy(body.raw, raw, len);
    body.raw_len = len;
    body_install(e, &body);
    node_try_validations(n);
    node_process_commits(n);
}
