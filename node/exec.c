/* exec.c - building blocks on a parent state and checking proposed blocks against theirs. */
#include "exec.h"

#include "sblock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)

/* A set of tx ids among txs[], for "repeated in this block" checks: open addressing over at
 * most QC_BLOCK_TXS_MAX entries, allocated once per block. */
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

/* Inserts txs[i]; false if an equal id is already present. */
static bool idset_add(idset_t *s, const qc_tx_t *const *txs, uint32_t i) {
    uint32_t pos;
    memcpy(&pos, txs[i]->id.b, sizeof pos);
    for (uint32_t probes = 0; probes < s->cap; probes++) {
        pos &= s->cap - 1;
        if (s->slot[pos] < 0) { s->slot[pos] = (int32_t)i; return true; }
        if (memcmp(txs[s->slot[pos]]->id.b, txs[i]->id.b, QC_HASH_BYTES) == 0) return false;
        pos++;
    }
    QC_ASSERT(!"idset full");
    return false;
}

static int noop_put(void *ctx, uint32_t level, uint64_t index, const qc_hash_t *h) {
    (void)ctx; (void)level; (void)index; (void)h;
    return QC_OK;
}

void exec_leaves_free(exec_leaves_t *l) {
    free(l->h);
    memset(l, 0, sizeof *l);
}

/* Appends every record of tx (committed at height) to log, and its leaf to leaves. */
static int append_records(rlog_t *log, uint64_t height, const qc_tx_t *tx, exec_leaves_t *leaves) {
    if (leaves && leaves->n + tx->record_count > leaves->cap) {
        size_t cap = leaves->cap ? leaves->cap : 64;
        while (cap < leaves->n + tx->record_count) cap *= 2;
        qc_hash_t *h = realloc(leaves->h, cap * sizeof *h);
        if (h == NULL) return QC_ERR_NOMEM;
        leaves->h = h;
        leaves->cap = cap;
    }
    for (uint32_t r = 0; r < tx->record_count; r++) {
        qc_hash_t leaf;
        qc_record_leaf_hash(height, &tx->id, (uint16_t)r, tx->records[r].digest, &leaf);
        int rc = rlog_append(log, &leaf, noop_put, NULL);
        if (rc != QC_OK) return rc;
        if (leaves) leaves->h[leaves->n++] = leaf;
    }
    return QC_OK;
}

typedef enum {
    TX_OK = 0, TX_TYPE, TX_CHAIN, TX_EXPIRED, TX_MEMBER, TX_SEEN, TX_GOV, TX_RECORD, TX_LOOKUP,
    TX_SHARE,
} tx_verdict_t;

/* tx on the parent, with gov the governance state the transactions before it in the block
 * leave (GOVERN transactions are checked against it; gov_why gets the reason). */
static tx_verdict_t tx_valid_on(const qc_tx_t *tx, uint64_t height, const exec_parent_t *p,
                                const gov_state_t *gov, char *gov_why, size_t gov_why_cap) {
    if (tx->type != QC_TX_ANCHOR && tx->type != QC_TX_GOVERN && tx->type != QC_TX_SHARE &&
        !qc_tx_type_is_lifecycle(tx->type))
        return TX_TYPE;
    if (strcmp(tx->chain_id, p->chain_id) != 0) return TX_CHAIN;
    if (tx->expiry_height < height) return TX_EXPIRED;
    if (tx->type != QC_TX_GOVERN && qc_validators_find_seal(&gov->vs, &tx->signer) < 0)
        return TX_MEMBER;
    if (p->seen && p->seen(p->seen_ctx, &tx->id)) return TX_SEEN;
    if (tx->type == QC_TX_GOVERN && gov_check(gov, tx, height, gov_why, gov_why_cap) != QC_OK)
        return TX_GOV;
    return TX_OK;
}

/* Fills every header field derivable from parent and the included transactions. */
static int finish_header(qc_block_t *b, const exec_parent_t *parent, const rlog_t *log_after,
                         const qc_hash_t *state_root, const qc_hash_t *next_validators_hash,
                         uint64_t time_ms, uint32_t proposer, uint64_t view) {
    qc_header_t *h = &b->header;
    h->version = QC_HEADER_VERSION;
    snprintf(h->chain_id, sizeof h->chain_id, "%s", parent->chain_id);
    h->genesis_hash = *parent->genesis_hash;
    h->height = parent->height + 1;
    h->prev_hash = parent->hash;
    h->time_ms = time_ms > parent->time_ms ? time_ms : parent->time_ms;
    h->proposer = proposer;
    h->view = view;
    h->epoch = parent->validators->epoch;
    qc_validators_hash(parent->validators, &h->validators_hash);
    h->tx_count = b->tx_count;
    h->log_size = log_after->size;
    rlog_root(log_after, &h->log_root);
    h->state_root = *state_root;
    h->next_validators_hash = *next_validators_hash;
    return qc_block_tx_root(b, &h->tx_root);
}

/* The parent's governance state into *after (parent->gov, or one made from its validators). */
static void gov_start(const exec_parent_t *parent, gov_state_t *after) {
    if (parent->gov) {
        memcpy(after, parent->gov, sizeof *after);
        return;
    }
    static const gov_info_t none[QC_VALIDATORS_MAX];
    gov_init(after, parent->validators, none, 1);
}

/* The lifecycle rules on tx, with lc the statuses the transactions before it leave (applied
 * to lc when allowed; why gets a refusal's sentence). */
static tx_verdict_t lifecycle_on(lc_state_t *lc, const qc_tx_t *tx, uint64_t height,
                                 const gov_state_t *gov, uint64_t log_index, char *why,
                                 size_t why_cap) {
    int rc = lc_apply(lc, tx, &gov->vs, height, log_index, why, why_cap);
    if (rc == QC_OK) return TX_OK;
    if (rc == QC_ERR_STATE || rc == QC_ERR_MEMBER) return TX_RECORD;
    if (why) snprintf(why, why_cap, "record status lookup failed: %s", qc_strerror(rc));
    return TX_LOOKUP;
}

/* An included transaction's effect on the state map: its records' first anchorings, and the
 * events it adds to its signer's city log (PROTOCOL §13.1). */
static int state_tx(sblock_t *sb, clog_set_t *clogs, const exec_parent_t *parent,
                    const qc_tx_t *tx, const gov_state_t *gov, uint64_t height,
                    uint64_t log_index) {
    if (tx->type != QC_TX_ANCHOR && !qc_tx_type_is_lifecycle(tx->type)) return QC_OK;
    int m = qc_validators_find_seal(&gov->vs, &tx->signer);
    QC_ASSERT(m >= 0); /* tx_valid_on checked it */
    const char *city = gov->vs.members[m].name;
    clog_sink_t keep;
    bool kept = parent->city_nodes != NULL && clogs == parent->clogs_after;
    if (kept) keep = clog_nodes_sink(parent->city_nodes, clogs);
    int rc = clog_tx(clogs, tx, city, height, kept ? &keep : NULL);
    if (rc == QC_OK && tx->type == QC_TX_ANCHOR) rc = sblock_anchor(sb, tx, city, height, log_index);
    return rc;
}

/* Whether tx's events fit in its signer city's room in this block (CLOG_BLOCK_EVENTS_MAX,
 * PROTOCOL §13.1): clogs is the set so far, the parent's the set the block started from. The
 * city's name into *city (NULL for a transaction with no events). */
static bool city_room(const clog_set_t *clogs, const exec_parent_t *parent, const qc_tx_t *tx,
                      const gov_state_t *gov, const char **city) {
    *city = NULL;
    size_t events = clog_tx_events(tx);
    if (events == 0) return true;
    int m = qc_validators_find_seal(&gov->vs, &tx->signer);
    QC_ASSERT(m >= 0); /* tx_valid_on checked it */
    *city = gov->vs.members[m].name;
    return clog_block_events(clogs, parent->clogs, *city) + events <= CLOG_BLOCK_EVENTS_MAX;
}

/* The city logs the block starts from: parent->clogs_after (or *local) becomes a copy of the
 * parent's. */
static int clogs_start(const exec_parent_t *parent, clog_set_t *local, clog_set_t **out) {
    *out = parent->clogs_after ? parent->clogs_after : local;
    if (parent->city_nodes != NULL) parent->city_nodes->n = 0;
    static const clog_set_t none;
    return clog_set_copy(*out, parent->clogs ? parent->clogs : &none);
}

/* The state map's root after the block: its anchorings, the city heads its events moved, then
 * the statuses lc changed. */
static int state_finish(sblock_t *sb, clog_set_t *clogs, const lc_state_t *lc,
                        const exec_parent_t *parent, qc_hash_t *root) {
    smap_reader_t empty = sblock_empty_reader();
    smap_writes_t scratch = {0};
    smap_writes_t *ws = parent->state_writes ? parent->state_writes : &scratch;
    int rc = clog_finish(clogs, sb);
    if (rc == QC_OK) rc = sblock_changed(sb, lc);
    if (rc == QC_OK) rc = sblock_finish(sb, parent->state ? parent->state : &empty, ws, root);
    smap_writes_free(&scratch);
    return rc;
}

/* The data-sharing rules on tx, with sh the sharing state the transactions before it leave
 * (applied to sh when allowed; why gets a refusal's sentence). */
static tx_verdict_t share_on(sh_state_t *sh, const qc_tx_t *tx, uint64_t height,
                             const gov_state_t *gov, char *why, size_t why_cap) {
    int rc = sh_apply(sh, tx, &gov->vs, height, why, why_cap);
    if (rc == QC_OK) return TX_OK;
    if (rc == QC_ERR_STATE || rc == QC_ERR_MEMBER) return TX_SHARE;
    if (why) snprintf(why, why_cap, "sharing state lookup failed: %s", qc_strerror(rc));
    return TX_LOOKUP;
}

/* The statuses exec follows for a block: those its lifecycle transactions name. */
static int lifecycle_start(lc_state_t *lc, const exec_parent_t *parent, const qc_tx_t *const *txs,
                           uint32_t n) {
    lc_init(lc, parent->records, parent->records_ctx, LC_WATCHED);
    return lc_watch_txs(lc, txs, n);
}

static int build(const exec_parent_t *parent, const qc_tx_t *const *txs, uint32_t n,
                 uint64_t time_ms, uint32_t proposer, uint64_t view, qc_block_t *out,
                 rlog_t *log_after, gov_state_t *gov_after, exec_leaves_t *leaves) {
    memset(out, 0, sizeof *out);
    if (n > QC_BLOCK_TXS_MAX) return QC_ERR_TOOBIG;
    uint64_t height = parent->height + 1;
    *log_after = *parent->log;
    gov_start(parent, gov_after);
    idset_t seen = {0, NULL};
    sblock_t sb = {0};
    lc_state_t lc;
    sh_state_t sh;
    sh_init(&sh, parent->shares, parent->shares_ctx);
    clog_set_t clogs_local = {0}, *clogs;
    int rc = clogs_start(parent, &clogs_local, &clogs);
    int lrc = lifecycle_start(&lc, parent, txs, n);
    if (rc == QC_OK) rc = lrc;
    if (n > 0 && rc == QC_OK) {
        out->txs = calloc(n, sizeof *out->txs);
        rc = out->txs ? idset_init(&seen, n) : QC_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n && rc == QC_OK; i++) {
        /* the lifecycle and sharing rules last: they change lc or sh when they allow the
         * transaction (each ignores the other's types) */
        const char *city;
        if (tx_valid_on(txs[i], height, parent, gov_after, NULL, 0) != TX_OK ||
            !city_room(clogs, parent, txs[i], gov_after, &city) || /* left for a later block */
            !idset_add(&seen, txs, i) ||
            lifecycle_on(&lc, txs[i], height, gov_after, log_after->size, NULL, 0) != TX_OK ||
            share_on(&sh, txs[i], height, gov_after, NULL, 0) != TX_OK)
            continue;
        rc = qc_tx_clone(txs[i], &out->txs[out->tx_count]);
        if (rc == QC_OK) out->tx_count++;
        if (rc == QC_OK) rc = state_tx(&sb, clogs, parent, txs[i], gov_after, height, log_after->size);
        if (rc == QC_OK) rc = append_records(log_after, height, txs[i], leaves);
        if (rc == QC_OK && txs[i]->type == QC_TX_GOVERN)
            gov_apply(gov_after, txs[i], height, NULL, NULL);
    }
    free(seen.slot);
    qc_hash_t state_root;
    if (rc == QC_OK) rc = state_finish(&sb, clogs, &lc, parent, &state_root);
    clog_set_free(&clogs_local);
    sblock_free(&sb);
    lc_free(&lc);
    sh_free(&sh);
    qc_hash_t next_hash;
    gov_end_block(gov_after, height, &next_hash, NULL, NULL, NULL);
    if (rc == QC_OK)
        rc = finish_header(out, parent, log_after, &state_root, &next_hash, time_ms, proposer, view);
    if (rc != QC_OK) qc_block_free(out);
    return rc;
}

int exec_build(const exec_parent_t *parent, const qc_tx_t *const *txs, uint32_t n,
               uint64_t time_ms, uint32_t proposer, uint64_t view, qc_block_t *out,
               rlog_t *log_after, gov_state_t *gov_after, exec_leaves_t *leaves) {
    gov_state_t *g = gov_after ? gov_after : malloc(sizeof *g);
    if (g == NULL) { memset(out, 0, sizeof *out); return QC_ERR_NOMEM; }
    int rc = build(parent, txs, n, time_ms, proposer, view, out, log_after, g, leaves);
    if (g != gov_after) free(g);
    return rc;
}

static const char *const verdict_why[] = {
    [TX_TYPE] = "type not accepted", [TX_CHAIN] = "for another chain",
    [TX_EXPIRED] = "expired", [TX_MEMBER] = "signer is not a member's seal key",
    [TX_SEEN] = "already committed", [TX_GOV] = "governance refused",
    [TX_RECORD] = "record lifecycle refused", [TX_LOOKUP] = "not checkable",
    [TX_SHARE] = "data-sharing rules refused",
};

typedef struct {
    const qc_block_t *b;
    const uint32_t *todo; /* indices of the transactions to verify */
    uint8_t *verdict;     /* per tx: SIG_TRUSTED (the mempool verified it) or the worker's verdict */
} sigjob_t;

enum { SIG_TRUSTED = 0, SIG_GOOD, SIG_BAD };

static void sig_one(void *ctx, uint32_t k) {
    sigjob_t *j = ctx;
    uint32_t i = j->todo[k];
    j->verdict[i] = qc_tx_verify_sig(&j->b->txs[i]) == QC_OK ? SIG_GOOD : SIG_BAD;
}

/* The signature verdict of every transaction of b the mempool has not verified, computed on
 * the pool's threads (mempool lookups stay on this thread). NULL when there is no pool or no
 * memory: the checks then verify one by one. Caller frees. */
static uint8_t *verify_sigs(const qc_block_t *b, const exec_check_t *c) {
    if (c->par == NULL || par_workers(c->par) < 2 || b->tx_count < 2) return NULL;
    uint8_t *verdict = malloc(b->tx_count);
    uint32_t *todo = malloc(sizeof *todo * b->tx_count), n = 0;
    if (verdict == NULL || todo == NULL) { free(verdict); free(todo); return NULL; }
    for (uint32_t i = 0; i < b->tx_count; i++) {
        verdict[i] = SIG_TRUSTED;
        if (!(c->mempool && mempool_verified(c->mempool, &b->txs[i]))) todo[n++] = i;
    }
    sigjob_t j = {b, todo, verdict};
    par_for(c->par, n, sig_one, &j);
    free(todo);
    return verdict;
}

/* Checks every transaction of b on parent and appends its records to log. */
static int check_txs(const qc_block_t *b, const exec_parent_t *parent, const exec_check_t *c,
                     rlog_t *log, gov_state_t *gov, exec_leaves_t *leaves, uint32_t *sig_checks,
                     qc_hash_t *state_root, char *why, size_t why_cap) {
    const qc_tx_t **ptrs = malloc(sizeof *ptrs * (b->tx_count ? b->tx_count : 1));
    idset_t seen = {0, NULL};
    sblock_t sb = {0};
    lc_state_t lc;
    lc_init(&lc, parent->records, parent->records_ctx, LC_WATCHED);
    sh_state_t sh;
    sh_init(&sh, parent->shares, parent->shares_ctx);
    clog_set_t clogs_local = {0}, *clogs;
    uint8_t *verdict = verify_sigs(b, c);
    int rc = clogs_start(parent, &clogs_local, &clogs);
    if (rc == QC_OK) rc = ptrs ? idset_init(&seen, b->tx_count) : QC_ERR_NOMEM;
    for (uint32_t i = 0; i < b->tx_count && rc == QC_OK; i++) ptrs[i] = &b->txs[i];
    if (rc == QC_OK) rc = lc_watch_txs(&lc, ptrs, b->tx_count);
    for (uint32_t i = 0; i < b->tx_count && rc == QC_OK; i++) {
        const qc_tx_t *tx = &b->txs[i];
        const char *city;
        char gov_why[300] = "";
        tx_verdict_t v = tx_valid_on(tx, b->header.height, parent, gov, gov_why, sizeof gov_why);
        if (v != TX_OK) {
            WHY("tx %u: %s%s%s", i, verdict_why[v], gov_why[0] ? ": " : "", gov_why);
            rc = v == TX_SEEN ? QC_ERR_DUPLICATE : v == TX_EXPIRED ? QC_ERR_EXPIRED
               : v == TX_MEMBER ? QC_ERR_MEMBER : QC_ERR_INVALID;
        } else if (!idset_add(&seen, ptrs, i)) {
            WHY("tx %u: repeated in the block", i);
            rc = QC_ERR_DUPLICATE;
        } else if (!city_room(clogs, parent, tx, gov, &city)) {
            WHY("tx %u: %s would have more than %u events in this block", i, city,
                (unsigned)CLOG_BLOCK_EVENTS_MAX);
            rc = QC_ERR_INVALID;
        } else if (verdict ? verdict[i] != SIG_TRUSTED
                           : !(c->mempool && mempool_verified(c->mempool, tx))) {
            if (sig_checks) (*sig_checks)++;
            if (verdict ? verdict[i] != SIG_GOOD : qc_tx_verify_sig(tx) != QC_OK) {
                WHY("tx %u: signature does not verify", i);
                rc = QC_ERR_SIGNATURE;
            }
        }
        if (rc == QC_OK &&
            ((v = lifecycle_on(&lc, tx, b->header.height, gov, log->size, gov_why, sizeof gov_why)) != TX_OK ||
             (v = share_on(&sh, tx, b->header.height, gov, gov_why, sizeof gov_why)) != TX_OK)) {
            WHY("tx %u: %s: %s", i, verdict_why[v], gov_why);
            rc = v == TX_LOOKUP ? QC_ERR_IO : QC_ERR_INVALID;
        }
        if (rc == QC_OK) rc = state_tx(&sb, clogs, parent, tx, gov, b->header.height, log->size);
        if (rc == QC_OK) rc = append_records(log, b->header.height, tx, leaves);
        if (rc == QC_OK && tx->type == QC_TX_GOVERN) gov_apply(gov, tx, b->header.height, NULL, NULL);
    }
    if (rc == QC_OK) rc = state_finish(&sb, clogs, &lc, parent, state_root);
    clog_set_free(&clogs_local);
    sblock_free(&sb);
    free(seen.slot);
    free(verdict);
    free(ptrs);
    lc_free(&lc);
    sh_free(&sh);
    return rc;
}

static int check(const qc_block_t *b, const exec_parent_t *parent, const exec_check_t *c,
                 rlog_t *log_after, gov_state_t *gov_after, exec_leaves_t *leaves,
                 uint32_t *sig_checks, char *why, size_t why_cap) {
    const qc_header_t *h = &b->header;
    if (strcmp(h->chain_id, parent->chain_id) != 0) { WHY("block for another chain"); return QC_ERR_INVALID; }
    if (sodium_memcmp(h->genesis_hash.b, parent->genesis_hash->b, QC_HASH_BYTES) != 0) {
        char got[65], want[65];
        WHY("block names genesis %s, this node's genesis is %s",
            qc_hash_hex(got, &h->genesis_hash), qc_hash_hex(want, parent->genesis_hash));
        return QC_ERR_INVALID;
    }
    if (h->height != parent->height + 1 || memcmp(h->prev_hash.b, parent->hash.b, 32) != 0) {
        WHY("block does not extend its parent at height %llu", (unsigned long long)parent->height);
        return QC_ERR_INVALID;
    }
    if (h->view != c->view || h->proposer != c->primary) {
        WHY("block names view %llu proposer %u; expected view %llu primary %u",
            (unsigned long long)h->view, h->proposer, (unsigned long long)c->view, c->primary);
        return QC_ERR_INVALID;
    }
    uint64_t skew = h->time_ms > c->now_ms ? h->time_ms - c->now_ms : c->now_ms - h->time_ms;
    if (h->time_ms < parent->time_ms || skew > c->time_skew_ms_max) {
        WHY("block time is %llu ms off this node's clock or before its parent",
            (unsigned long long)skew);
        return QC_ERR_INVALID;
    }
    *log_after = *parent->log;
    gov_start(parent, gov_after);
    qc_hash_t state_root;
    int rc = check_txs(b, parent, c, log_after, gov_after, leaves, sig_checks, &state_root, why,
                       why_cap);
    if (rc != QC_OK) return rc;
    qc_hash_t next_hash;
    gov_end_block(gov_after, h->height, &next_hash, NULL, NULL, NULL);
    qc_block_t expect = *b; /* shallow: shares txs; only the header is recomputed */
    rc = finish_header(&expect, parent, log_after, &state_root, &next_hash, h->time_ms,
                       h->proposer, h->view);
    if (rc != QC_OK) return rc;
    qc_hash_t want, got;
    qc_header_hash(&expect.header, &want);
    qc_header_hash(h, &got);
    if (sodium_memcmp(want.b, got.b, QC_HASH_BYTES) != 0) {
        bool log_bad = expect.header.log_size != h->log_size ||
                       memcmp(expect.header.log_root.b, h->log_root.b, 32) != 0;
        bool next_bad = memcmp(expect.header.next_validators_hash.b, h->next_validators_hash.b, 32) != 0;
        bool state_bad = memcmp(expect.header.state_root.b, h->state_root.b, 32) != 0;
        WHY("%s", log_bad ? "record-log size or root does not match the transactions"
                  : state_bad ? "state root does not match the record statuses after the block"
                  : next_bad ? "next validators hash does not match the governance state"
                             : "epoch, validators hash or tx root does not match");
        return QC_ERR_INVALID;
    }
    return QC_OK;
}

int exec_check(const qc_block_t *b, const exec_parent_t *parent, const exec_check_t *c,
               rlog_t *log_after, gov_state_t *gov_after, exec_leaves_t *leaves,
               uint32_t *sig_checks, char *why, size_t why_cap) {
    gov_state_t *g = gov_after ? gov_after : malloc(sizeof *g);
    if (g == NULL) return QC_ERR_NOMEM;
    int rc = check(b, parent, c, log_after, g, leaves, sig_checks, why, why_cap);
    if (g != gov_after) free(g);
    return rc;
}

typedef struct {
    const char *chain_id;
    const qc_validator_set_t *vs;
    const qc_block_t *blocks;
    const qc_cert_t *certs;
    int *rc;
    char (*why)[160];
} certjob_t;

static void cert_one(void *ctx, uint32_t i) {
    certjob_t *j = ctx;
    qc_hash_t hash;
    qc_header_hash(&j->blocks[i].header, &hash);
    j->rc[i] = qc_cert_verify(&j->certs[i], j->chain_id, j->vs, &hash, j->why[i], sizeof j->why[i]);
}

size_t exec_certified(par_t *par, const char *chain_id, const qc_validator_set_t *vs,
                      const qc_block_t *blocks, const qc_cert_t *certs, size_t k, int *rc,
                      char *why, size_t why_cap) {
    *rc = QC_OK;
    if (k == 0) return 0;
    int *rcs = calloc(k, sizeof *rcs);
    char (*whys)[160] = calloc(k, sizeof *whys);
    if (rcs == NULL || whys == NULL || k > UINT32_MAX) {
        free(rcs);
        free(whys);
        *rc = QC_ERR_NOMEM;
        WHY("out of memory");
        return 0;
    }
    certjob_t j = {chain_id, vs, blocks, certs, rcs, whys};
    par_for(par, (uint32_t)k, cert_one, &j);
    size_t ok = 0;
    while (ok < k && rcs[ok] == QC_OK) ok++;
    if (ok < k) {
        *rc = rcs[ok];
        WHY("%s", whys[ok]);
    }
    free(rcs);
    free(whys);
    return ok;
}
