/* lifecycle.h - the record lifecycle rules of docs/RECORDS.md (who may endorse, revoke or
 * supersede a record, and what that does to its status), applied in block order to an
 * overlay of record statuses over a lookup of the state before: exec uses it to build and
 * check blocks, the mempool to admit transactions against the ledger head, the store to
 * compute the statuses it writes with a block, and the node to see through pending blocks. */
#ifndef QC_LIFECYCLE_H
#define QC_LIFECYCLE_H

#include "fmt.h"
#include "recstat.h"

/* The status of `digest` in the state the overlay starts from: QC_OK with *out filled,
 * QC_ERR_NOTFOUND if the digest was never anchored there, or another error (QC_ERR_IO,
 * QC_ERR_CORRUPT) that the overlay's callers pass on. */
typedef int (*lc_lookup_fn)(void *ctx, const uint8_t digest[32], qc_recstat_t *out);

typedef struct {
    uint8_t digest[32];
    bool used;
    bool resolved;     /* exists is known (looked up, or created here) */
    bool exists;       /* anchored in the state before or by a transaction applied here */
    bool dirty;        /* changed here: enc holds the status to write */
    uint8_t *enc;      /* malloc'd canonical status after what was applied; NULL: the lookup's */
    size_t enc_len;
} lc_entry_t;

typedef enum {
    LC_ALL = 0,        /* every anchored digest gets an entry (tests: a reference overlay) */
    LC_WATCHED,        /* only digests lc_watch named (exec, mempool, pending blocks) */
} lc_mode_t;

/* Statuses after the transactions applied so far. Owns its table and encodings. */
typedef struct {
    lc_lookup_fn lookup;
    void *lookup_ctx;
    lc_mode_t mode;
    bool trusted;      /* apply without checking (replaying blocks already validated) */
    lc_entry_t *tab;   /* open addressing by digest; cap a power of two, at most half used */
    size_t cap, n;
    size_t *changed;   /* indices in tab of the dirty entries, in the order they changed, so */
    size_t changed_n, changed_cap; /* that a block's changes cost its own size, not the table's */
} lc_state_t;

/* Starts an empty overlay over lookup (borrowed; called with ctx). lc_free releases it. */
void lc_init(lc_state_t *s, lc_lookup_fn lookup, void *ctx, lc_mode_t mode);
void lc_free(lc_state_t *s);

/* LC_WATCHED: makes `digest` one whose anchorings and changes the overlay follows. */
int lc_watch(lc_state_t *s, const uint8_t digest[32]);
/* LC_WATCHED: watches every digest that lifecycle transaction tx names (none for others). */
int lc_watch_tx(lc_state_t *s, const qc_tx_t *tx);
/* LC_WATCHED: watches every digest that a lifecycle transaction among txs[0..n) names. */
int lc_watch_txs(lc_state_t *s, const qc_tx_t *const *txs, uint32_t n);

/* Checks tx against the statuses so far and, if allowed, applies it, as block `height`'s
 * transaction whose first record gets record-log index `log_index` (ANCHOR), signed by a seal
 * key of vs (borrowed). ANCHOR: each record whose digest was never anchored gets a status
 * owned by the signer's city (later anchorings change nothing). ENDORSE, REVOKE, SUPERSEDE:
 * the rules of docs/RECORDS.md. GOVERN: nothing. Refused: QC_ERR_STATE (or QC_ERR_MEMBER
 * for a signer that is no member's seal key) with a sentence in why (may be NULL), and
 * nothing changes; QC_ERR_NOMEM, or the lookup's error. */
int lc_apply(lc_state_t *s, const qc_tx_t *tx, const qc_validator_set_t *vs, uint64_t height,
             uint64_t log_index, char *why, size_t why_cap);

/* The status of digest after what was applied: QC_OK, QC_ERR_NOTFOUND, or the lookup's
 * error. *out is caller storage. */
int lc_get(lc_state_t *s, const uint8_t digest[32], qc_recstat_t *out);

/* Calls cb for every status the applied transactions changed since lc_clear_changed (in the
 * order they first changed), with its canonical encoding (borrowed for the call). Stops at and
 * returns cb's first error. Costs the changes' number, not the overlay's size. */
int lc_each_changed(const lc_state_t *s,
                    int (*cb)(void *ctx, const uint8_t digest[32], const uint8_t *enc, size_t len),
                    void *ctx);

/* Forgets which statuses changed (they stay in the overlay): after a block's are written. Costs
 * the changes' number: an overlay kept over a whole chain (tests/lib/chainbuilder) made every
 * block walk all of it, so generating 10 million records slowed to 500 blocks a minute. */
void lc_clear_changed(lc_state_t *s);

#endif
