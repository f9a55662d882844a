/* mempool.c - bounded transaction pool: a slot array, an open-addressing index by tx id, and a
 * FIFO that gives proposal order. Every structure is allocated once at init. */
#include "mempool.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define TOMB UINT32_MAX

static const char *const reject_names[MEMPOOL_REJECT_COUNT] = {
    [MEMPOOL_REJECT_CHAIN] = "transaction is for another chain",
    [MEMPOOL_REJECT_EXPIRED] = "transaction expired",
    [MEMPOOL_REJECT_EXPIRY_FAR] = "expiry height is too far in the future",
    [MEMPOOL_REJECT_MEMBER] = "signer is not a member city's seal key",
    [MEMPOOL_REJECT_DUP_POOL] = "duplicate: already pending",
    [MEMPOOL_REJECT_DUP_COMMITTED] = "duplicate: already committed",
    [MEMPOOL_REJECT_SIGNATURE] = "signature does not verify",
    [MEMPOOL_REJECT_FULL] = "mempool is full, retry later",
    [MEMPOOL_REJECT_TYPE] = "transaction type not accepted",
    [MEMPOOL_REJECT_GOVERNANCE] = "governance rules refuse it",
    [MEMPOOL_REJECT_RECORD] = "record lifecycle rules refuse it",
    [MEMPOOL_REJECT_SHARE] = "data-sharing rules refuse it",
};

const char *mempool_reject_str(mempool_reject_t why) {
    return why < MEMPOOL_REJECT_COUNT ? reject_names[why] : "rejected";
}

int mempool_init(mempool_t *mp, const mempool_limits_t *limits) {
    memset(mp, 0, sizeof *mp);
    if (limits->txs_max == 0 || limits->txs_max > (1u << 24) || limits->bytes_max == 0)
        return QC_ERR_INVALID;
    mp->limits = *limits;
    mp->table_cap = 16;
    while (mp->table_cap < 2 * limits->txs_max) mp->table_cap *= 2;
    mp->slots = calloc(limits->txs_max, sizeof *mp->slots);
    mp->table = calloc(mp->table_cap, sizeof *mp->table);
    if (mp->slots == NULL || mp->table == NULL) {
        mempool_free(mp);
        return QC_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < limits->txs_max; i++)
        mp->slots[i].next = i + 1 < limits->txs_max ? i + 1 : NONE;
    mp->free_head = 0;
    mp->fifo_head = mp->fifo_tail = NONE;
    return QC_OK;
}

void mempool_free(mempool_t *mp) {
    if (mp->slots)
        for (uint32_t i = 0; i < mp->limits.txs_max; i++)
            if (mp->slots[i].used) qc_tx_free(&mp->slots[i].tx);
    free(mp->slots);
    free(mp->table);
    memset(mp, 0, sizeof *mp);
}

static uint32_t bucket_of(const mempool_t *mp, const qc_hash_t *id) {
    uint32_t h;
    memcpy(&h, id->b, sizeof h); /* tx ids are SHA-256 outputs: uniformly spread */
    return h & (mp->table_cap - 1);
}

/* Table position holding id, or NONE. Probes are bounded by table_cap. */
static uint32_t find_pos(const mempool_t *mp, const qc_hash_t *id) {
    uint32_t pos = bucket_of(mp, id);
    for (uint32_t probes = 0; probes < mp->table_cap; probes++) {
        uint32_t e = mp->table[pos];
        if (e == 0) return NONE;
        if (e != TOMB && memcmp(mp->slots[e - 1].tx.id.b, id->b, QC_HASH_BYTES) == 0) return pos;
        pos = (pos + 1) & (mp->table_cap - 1);
    }
    return NONE;
}

static void table_insert(mempool_t *mp, const qc_hash_t *id, uint32_t slot) {
    uint32_t pos = bucket_of(mp, id);
    for (uint32_t probes = 0; probes < mp->table_cap; probes++) {
        if (mp->table[pos] == 0 || mp->table[pos] == TOMB) {
            if (mp->table[pos] == TOMB) mp->tombs--;
            mp->table[pos] = slot + 1;
            return;
        }
        pos = (pos + 1) & (mp->table_cap - 1);
    }
    QC_ASSERT(!"mempool table full"); /* impossible: table_cap >= 2 * txs_max */
}

const qc_tx_t *mempool_get(const mempool_t *mp, const qc_hash_t *tx_id) {
    uint32_t pos = find_pos(mp, tx_id);
    return pos == NONE ? NULL : &mp->slots[mp->table[pos] - 1].tx;
}

bool mempool_seen(const mempool_t *mp, const qc_hash_t *tx_id, uint64_t *seen_ms) {
    uint32_t pos = find_pos(mp, tx_id);
    if (pos == NONE) return false;
    if (seen_ms) *seen_ms = mp->slots[mp->table[pos] - 1].seen_ms;
    return true;
}

const qc_tx_t *mempool_oldest_free(const mempool_t *mp, bool (*skip)(void *ctx, const qc_tx_t *tx),
                                   void *skip_ctx, uint32_t steps_max, uint64_t *seen_ms) {
    uint32_t s = mp->fifo_head;
    for (uint32_t steps = 0; s != NONE && steps < steps_max && steps < mp->limits.txs_max; steps++) {
        const mempool_slot_t *slot = &mp->slots[s];
        if (slot->proposed_height == 0 && (skip == NULL || !skip(skip_ctx, &slot->tx))) {
            if (seen_ms) *seen_ms = slot->seen_ms;
            return &slot->tx;
        }
        s = slot->next;
    }
    return NULL;
}

bool mempool_verified(const mempool_t *mp, const qc_tx_t *tx) {
    const qc_tx_t *have = mempool_get(mp, &tx->id);
    /* Signatures are public (they came off the wire): a plain compare. */
    return have != NULL && memcmp(have->sig.b, tx->sig.b, QC_SIG_BYTES) == 0;
}

static int reject(mempool_t *mp, mempool_reject_t r, mempool_reject_t *why, int rc) {
    mp->rejected[r]++;
    if (why) *why = r;
    return rc;
}

/* Every admission check but the signature, in the order of mempool_add's contract. Counts
 * nothing. Returns MEMPOOL_REJECT_COUNT when tx passes them all. */
static mempool_reject_t cheap_checks(const mempool_t *mp, const qc_tx_t *tx, const mempool_view_t *v,
                                     int *rc, bool held) {
    if (strcmp(tx->chain_id, v->chain_id) != 0) return *rc = QC_ERR_INVALID, MEMPOOL_REJECT_CHAIN;
    bool life = qc_tx_type_is_lifecycle(tx->type), share = tx->type == QC_TX_SHARE;
    if (tx->type != QC_TX_ANCHOR && !(tx->type == QC_TX_GOVERN && v->gov != NULL) &&
        !(life && v->records != NULL) && !(share && v->shares != NULL))
        return *rc = QC_ERR_INVALID, MEMPOOL_REJECT_TYPE;
    if (tx->expiry_height < v->next_height) return *rc = QC_ERR_EXPIRED, MEMPOOL_REJECT_EXPIRED;
    if (tx->expiry_height - v->next_height > QC_TX_TTL_BLOCKS_MAX)
        return *rc = QC_ERR_INVALID, MEMPOOL_REJECT_EXPIRY_FAR;
    if ((tx->type == QC_TX_ANCHOR || life || share) &&
        qc_validators_find_seal(v->validators, &tx->signer) < 0)
        return *rc = QC_ERR_MEMBER, MEMPOOL_REJECT_MEMBER;
    if (life) {
        /* against the head only: two pending transactions on one record are both admitted,
         * and the block builder keeps the first that the rules allow */
        lc_state_t lc;
        lc_init(&lc, v->records, v->records_ctx, LC_WATCHED);
        int lrc = lc_apply(&lc, tx, v->validators, v->next_height, 0, v->gov_why, v->gov_why_cap);
        lc_free(&lc);
        if (lrc != QC_OK) return *rc = lrc, MEMPOOL_REJECT_RECORD;
    }
    if (share) { /* against the head only, as lifecycle transactions are */
        sh_state_t sh;
        sh_init(&sh, v->shares, v->shares_ctx);
        int src = sh_apply(&sh, tx, v->validators, v->next_height, v->gov_why, v->gov_why_cap);
        sh_free(&sh);
        if (src != QC_OK) return *rc = src, MEMPOOL_REJECT_SHARE;
    }
    if (tx->type == QC_TX_GOVERN) {
        int grc = gov_check(v->gov, tx, v->next_height, v->gov_why, v->gov_why_cap);
        if (grc != QC_OK) return *rc = grc, MEMPOOL_REJECT_GOVERNANCE;
    }
    if (!held && find_pos(mp, &tx->id) != NONE)
        return *rc = QC_ERR_DUPLICATE, MEMPOOL_REJECT_DUP_POOL;
    if (v->committed && v->committed(v->committed_ctx, &tx->id))
        return *rc = QC_ERR_DUPLICATE, MEMPOOL_REJECT_DUP_COMMITTED;
    if (held) return MEMPOOL_REJECT_COUNT;
    if (mp->free_head == NONE || mp->bytes + tx->body_len > mp->limits.bytes_max)
        return *rc = QC_ERR_FULL, MEMPOOL_REJECT_FULL;
    return MEMPOOL_REJECT_COUNT;
}

bool mempool_admissible(const mempool_t *mp, const qc_tx_t *tx, const mempool_view_t *v) {
    int rc;
    return cheap_checks(mp, tx, v, &rc, false) == MEMPOOL_REJECT_COUNT;
}

bool mempool_still_valid(const mempool_t *mp, const qc_tx_t *tx, const mempool_view_t *v) {
    int rc;
    return cheap_checks(mp, tx, v, &rc, true) == MEMPOOL_REJECT_COUNT;
}

int mempool_add(mempool_t *mp, qc_tx_t *tx, const mempool_view_t *v, mempool_reject_t *why) {
    return mempool_add_sig(mp, tx, v, MEMPOOL_SIG_UNKNOWN, why);
}

int mempool_add_sig(mempool_t *mp, qc_tx_t *tx, const mempool_view_t *v, mempool_sig_t sig,
                    mempool_reject_t *why) {
    int rc = QC_OK;
    mempool_reject_t r = cheap_checks(mp, tx, v, &rc, false);
    if (r != MEMPOOL_REJECT_COUNT) return reject(mp, r, why, rc);
    if (sig == MEMPOOL_SIG_UNKNOWN) sig = qc_tx_verify_sig(tx) == QC_OK ? MEMPOOL_SIG_VALID
                                                                       : MEMPOOL_SIG_INVALID;
    if (sig != MEMPOOL_SIG_VALID)
        return reject(mp, MEMPOOL_REJECT_SIGNATURE, why, QC_ERR_SIGNATURE);

    uint32_t s = mp->free_head;
    mempool_slot_t *slot = &mp->slots[s];
    mp->free_head = slot->next;
    slot->tx = *tx;
    memset(tx, 0, sizeof *tx);
    slot->used = true;
    slot->proposed_height = 0;
    slot->sent_known = false;
    slot->sent_ms = 0;
    slot->seen_ms = v->now_ms;
    slot->next = NONE;
    slot->prev = mp->fifo_tail;
    if (mp->fifo_tail != NONE) mp->slots[mp->fifo_tail].next = s;
    else mp->fifo_head = s;
    mp->fifo_tail = s;
    table_insert(mp, &slot->tx.id, s);
    mp->count++;
    mp->bytes += slot->tx.body_len;
    mp->admitted++;
    return QC_OK;
}

/* Rebuilds the index without tombstones so probe chains stay short under churn. */
static void table_rebuild(mempool_t *mp) {
    memset(mp->table, 0, sizeof *mp->table * mp->table_cap);
    mp->tombs = 0;
    for (uint32_t s = mp->fifo_head, steps = 0; s != NONE && steps < mp->limits.txs_max; steps++) {
        table_insert(mp, &mp->slots[s].tx.id, s);
        s = mp->slots[s].next;
    }
}

static void remove_slot(mempool_t *mp, uint32_t s) {
    mempool_slot_t *slot = &mp->slots[s];
    QC_ASSERT(slot->used);
    uint32_t pos = find_pos(mp, &slot->tx.id);
    QC_ASSERT(pos != NONE);
    mp->table[pos] = TOMB;
    mp->tombs++;
    if (slot->prev != NONE) mp->slots[slot->prev].next = slot->next;
    else mp->fifo_head = slot->next;
    if (slot->next != NONE) mp->slots[slot->next].prev = slot->prev;
    else mp->fifo_tail = slot->prev;
    mp->count--;
    if (slot->proposed_height != 0) mp->reserved--;
    mp->bytes -= slot->tx.body_len;
    qc_tx_free(&slot->tx);
    slot->used = false;
    slot->next = mp->free_head;
    mp->free_head = s;
    if (mp->tombs > mp->table_cap / 4) table_rebuild(mp);
}

uint32_t mempool_take(mempool_t *mp, uint64_t height, uint32_t txs_max, size_t bytes_max,
                      const qc_tx_t **out) {
    uint32_t n = 0;
    size_t bytes = 0;
    uint32_t s = mp->fifo_head;
    for (uint32_t steps = 0; s != NONE && steps < mp->limits.txs_max && n < txs_max; steps++) {
        mempool_slot_t *slot = &mp->slots[s];
        uint32_t next = slot->next;
        if (slot->tx.expiry_height < height) {
            if (slot->proposed_height == 0) remove_slot(mp, s);
        } else if (slot->proposed_height == 0) {
            if (bytes + slot->tx.body_len > bytes_max && n > 0) break;
            slot->proposed_height = height;
            mp->reserved++;
            bytes += slot->tx.body_len;
            out[n++] = &slot->tx;
        }
        s = next;
    }
    return n;
}

uint32_t mempool_resend(mempool_t *mp, uint64_t now_ms, uint64_t age_ms, uint32_t max,
                        bool (*skip)(void *ctx, const qc_tx_t *tx), void *skip_ctx,
                        const qc_tx_t **out) {
    uint32_t n = 0;
    uint32_t s = mp->fifo_head;
    for (uint32_t steps = 0; s != NONE && steps < mp->limits.txs_max; steps++) {
        mempool_slot_t *slot = &mp->slots[s];
        if (!slot->sent_known) {
            slot->sent_known = true;
            slot->sent_ms = now_ms;
        } else if (n < max && slot->proposed_height == 0 && now_ms - slot->sent_ms >= age_ms &&
                   (skip == NULL || !skip(skip_ctx, &slot->tx))) {
            slot->sent_ms = now_ms;
            out[n++] = &slot->tx;
        }
        s = slot->next;
    }
    return n;
}

void mempool_release_above(mempool_t *mp, uint64_t height) {
    for (uint32_t s = mp->fifo_head, steps = 0; s != NONE && steps < mp->limits.txs_max; steps++) {
        if (mp->slots[s].proposed_height > height) {
            mp->slots[s].proposed_height = 0;
            mp->reserved--;
        }
        s = mp->slots[s].next;
    }
}

void mempool_commit(mempool_t *mp, uint64_t height, const qc_tx_t *txs, uint32_t tx_count) {
    for (uint32_t i = 0; i < tx_count; i++) {
        uint32_t pos = find_pos(mp, &txs[i].id);
        if (pos != NONE) remove_slot(mp, mp->table[pos] - 1);
    }
    for (uint32_t s = mp->fifo_head, steps = 0; s != NONE && steps < mp->limits.txs_max; steps++) {
        if (mp->slots[s].proposed_height == height) {
            mp->slots[s].proposed_height = 0;
            mp->reserved--;
        }
        s = mp->slots[s].next;
    }
}

uint32_t mempool_evict_expired(mempool_t *mp, uint64_t height) {
    uint32_t evicted = 0;
    uint32_t s = mp->fifo_head;
    for (uint32_t steps = 0; s != NONE && steps < mp->limits.txs_max; steps++) {
        uint32_t next = mp->slots[s].next;
        if (mp->slots[s].tx.expiry_height < height && mp->slots[s].proposed_height == 0) {
            remove_slot(mp, s);
            evicted++;
        }
        s = next;
    }
    return evicted;
}
