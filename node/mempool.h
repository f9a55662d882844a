/* mempool.h - the node's bounded pool of admitted, signature-checked transactions waiting to
 * be proposed; it also serves as the cache that lets a backup skip re-verifying signatures of
 * proposed transactions it already admitted (signatures are verified once per node). */
#ifndef QC_MEMPOOL_H
#define QC_MEMPOOL_H

#include "fmt.h"
#include "gov.h"
#include "lifecycle.h"
#include "share.h"

typedef struct {
    uint32_t txs_max;    /* admitted transactions held at most */
    size_t bytes_max;    /* sum of body bytes held at most */
} mempool_limits_t;

#define MEMPOOL_DEFAULT_TXS_MAX 50000u
#define MEMPOOL_DEFAULT_BYTES_MAX ((size_t)256 << 20)

/* What admission checks a transaction against. Borrowed for the duration of a call. */
typedef struct {
    const char *chain_id;
    const qc_validator_set_t *validators; /* ANCHOR: signer must be a member's seal key */
    uint64_t next_height;                 /* the lowest height it could be included at */
    /* true if tx_id is already committed (ledger lookup); may be NULL. */
    bool (*committed)(void *ctx, const qc_hash_t *tx_id);
    void *committed_ctx;
    const gov_state_t *gov;               /* GOVERN: gov_check against it; NULL refuses them */
    /* GOVERN, lifecycle or SHARE refused: the rules' sentence; may be NULL. */
    char *gov_why;
    size_t gov_why_cap;
    /* ENDORSE, REVOKE, SUPERSEDE: the lifecycle rules (docs/RECORDS.md) against the record
     * statuses after the ledger head; NULL refuses them. */
    lc_lookup_fn records;
    void *records_ctx;
    /* SHARE: the data-sharing rules against the sharing state after the ledger head; NULL
     * refuses them. */
    sh_lookup_fn shares;
    void *shares_ctx;
    /* The caller's clock (ms, monotonic): an admitted transaction keeps it as when this node
     * first held it (mempool_seen, mempool_oldest_free); 0 when unknown. */
    uint64_t now_ms;
} mempool_view_t;

typedef enum {
    MEMPOOL_REJECT_CHAIN = 0,
    MEMPOOL_REJECT_EXPIRED,
    MEMPOOL_REJECT_EXPIRY_FAR,
    MEMPOOL_REJECT_MEMBER,
    MEMPOOL_REJECT_DUP_POOL,
    MEMPOOL_REJECT_DUP_COMMITTED,
    MEMPOOL_REJECT_SIGNATURE,
    MEMPOOL_REJECT_FULL,
    MEMPOOL_REJECT_TYPE,
    MEMPOOL_REJECT_GOVERNANCE,            /* the governance rules refuse it (view.gov_why) */
    MEMPOOL_REJECT_RECORD,                /* the lifecycle rules refuse it (view.gov_why) */
    MEMPOOL_REJECT_SHARE,                 /* the data-sharing rules refuse it (view.gov_why) */
    MEMPOOL_REJECT_COUNT
} mempool_reject_t;

typedef struct {
    qc_tx_t tx;
    uint64_t proposed_height;  /* 0 = free to propose; else height of the proposal holding it */
    uint64_t sent_ms;          /* the caller's clock when last sent to the peers (if sent_known) */
    uint64_t seen_ms;          /* the caller's clock at admission (mempool_view_t.now_ms) */
    uint32_t prev, next;       /* FIFO links (slot indices), UINT32_MAX = none */
    bool used;
    bool sent_known;           /* false until a mempool_resend call first meets the slot */
} mempool_slot_t;

typedef struct {
    mempool_limits_t limits;
    mempool_slot_t *slots;     /* txs_max slots */
    uint32_t *table;           /* open addressing: slot index + 1, 0 empty, UINT32_MAX tombstone */
    uint32_t table_cap;        /* power of two >= 2 * txs_max */
    uint32_t tombs;            /* tombstones in table; rebuilt past table_cap / 4 */
    uint32_t free_head;        /* free slot list through .next */
    uint32_t fifo_head, fifo_tail;
    uint32_t count;
    uint32_t reserved;         /* of count: held by a proposal (proposed_height != 0) */
    size_t bytes;
    uint64_t rejected[MEMPOOL_REJECT_COUNT];
    uint64_t admitted;
} mempool_t;

int mempool_init(mempool_t *mp, const mempool_limits_t *limits);
void mempool_free(mempool_t *mp);

/* Admits tx after checking chain id, type, expiry, membership, duplicates and (last, being the
 * costly check) the signature. On QC_OK ownership of tx's buffers moves into the pool and *tx
 * is zeroed; on error the caller still owns tx, and *why (if non-NULL) names the reason. */
int mempool_add(mempool_t *mp, qc_tx_t *tx, const mempool_view_t *view, mempool_reject_t *why);

/* What the caller knows of a transaction's signature. */
typedef enum {
    MEMPOOL_SIG_UNKNOWN = 0, /* mempool_add_sig verifies it */
    MEMPOOL_SIG_VALID,       /* verified by the caller (on worker threads: node_admit) */
    MEMPOOL_SIG_INVALID,     /* the caller's verification failed */
} mempool_sig_t;

/* mempool_add with the signature check replaced by the caller's verdict `sig`, for a caller
 * that verified many transactions' signatures at once on worker threads. Every other check
 * runs here, in the same order and with the same reasons. */
int mempool_add_sig(mempool_t *mp, qc_tx_t *tx, const mempool_view_t *view, mempool_sig_t sig,
                    mempool_reject_t *why);
/* true if tx passes every check of mempool_add but the signature, as the pool is now: worth
 * verifying. Changes and counts nothing. */
bool mempool_admissible(const mempool_t *mp, const qc_tx_t *tx, const mempool_view_t *view);
/* true if tx, held in the pool, would still be admitted at view but for being held: every
 * check but the signature, the duplicate in the pool and the room (what a primary building on
 * the same head would check). Changes and counts nothing. */
bool mempool_still_valid(const mempool_t *mp, const qc_tx_t *tx, const mempool_view_t *view);
/* A sentence for a client, e.g. "signature does not verify". */
const char *mempool_reject_str(mempool_reject_t why);

/* The admitted transaction with this id, or NULL. Borrowed until the pool changes. */
const qc_tx_t *mempool_get(const mempool_t *mp, const qc_hash_t *tx_id);
/* true if the pool holds tx_id; *seen_ms (may be NULL) its admission time. */
bool mempool_seen(const mempool_t *mp, const qc_hash_t *tx_id, uint64_t *seen_ms);
/* The oldest held transaction that is in no proposal of this node's and that skip (may be
 * NULL) does not pass over, looking at most at steps_max transactions from the oldest; NULL
 * if none. *seen_ms (may be NULL) its admission time. Borrowed until the pool changes. */
const qc_tx_t *mempool_oldest_free(const mempool_t *mp, bool (*skip)(void *ctx, const qc_tx_t *tx),
                                   void *skip_ctx, uint32_t steps_max, uint64_t *seen_ms);
/* true if a transaction with the same id and signature was admitted (signature verified). */
bool mempool_verified(const mempool_t *mp, const qc_tx_t *tx);

/* Picks, oldest first, up to txs_max transactions (and body bytes_max) that are not already in
 * a proposal and not expired at `height`, marks them proposed at `height`, and stores borrowed
 * pointers in out. Expired ones met on the way are evicted. Returns the count. */
uint32_t mempool_take(mempool_t *mp, uint64_t height, uint32_t txs_max, size_t bytes_max,
                      const qc_tx_t **out);
/* Transactions to send to the peers again, oldest first: up to max of those not in a proposal
 * of this node's that were last sent at least age_ms before now_ms and that skip (may be NULL)
 * does not pass over; each returned one is stamped as sent at now_ms. A transaction no call
 * has met before is stamped now and not returned: it counts as just sent (its broadcast at
 * admission was its first sending). Stores borrowed pointers in out (valid until
 * the pool changes); returns the count. Walks the pool once. */
uint32_t mempool_resend(mempool_t *mp, uint64_t now_ms, uint64_t age_ms, uint32_t max,
                        bool (*skip)(void *ctx, const qc_tx_t *tx), void *skip_ctx,
                        const qc_tx_t **out);
/* Frees transactions marked proposed at heights > height for proposing again (view change). */
void mempool_release_above(mempool_t *mp, uint64_t height);
/* Drops the transactions a committed block holds, and frees the rest of that height's
 * reservations for proposing again. */
void mempool_commit(mempool_t *mp, uint64_t height, const qc_tx_t *txs, uint32_t tx_count);
/* Evicts transactions whose expiry is below height. Returns how many. */
uint32_t mempool_evict_expired(mempool_t *mp, uint64_t height);

#endif
