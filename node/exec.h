/* exec.h - the deterministic application of consensus: the primary builds the next block on a
 * parent state (the ledger head or a pending block it extends), and a backup checks that a
 * proposed block extends its parent exactly, so that a Byzantine primary cannot get a forged,
 * replayed, expired or non-member transaction, or a wrong record-log root, prepared. The block
 * hash is the digest consensus orders, and the COMMIT signatures over it are the block's
 * commit certificate. */
#ifndef QC_EXEC_H
#define QC_EXEC_H

#include "clog.h"
#include "fmt.h"
#include "gov.h"
#include "lifecycle.h"
#include "mempool.h"
#include "par.h"
#include "rlog.h"
#include "smap.h"
#include "share.h"

/* Record-log leaf hashes of a block's records, in log order, as exec computed them; the node
 * hands them to the store so no record is hashed twice per node. Owned; exec_leaves_free. */
typedef struct {
    qc_hash_t *h;
    size_t n, cap;
} exec_leaves_t;

void exec_leaves_free(exec_leaves_t *l);

/* The state a new block extends. Borrowed for the call. */
typedef struct {
    const char *chain_id;
    const qc_hash_t *genesis_hash;        /* this node's genesis hash: every header carries it */
    const qc_validator_set_t *validators; /* epoch in force for the new block (= &gov->vs) */
    uint64_t height;                      /* parent height (0 = genesis) */
    qc_hash_t hash;                       /* parent block hash (zero at genesis) */
    uint64_t time_ms;                     /* parent time */
    const rlog_t *log;                    /* record log after the parent */
    /* true if tx_id is committed in the ledger or in a pending ancestor; may be NULL. */
    bool (*seen)(void *ctx, const qc_hash_t *tx_id);
    void *seen_ctx;
    /* Governance state after the parent; its vs is *validators. NULL: a state with validators
     * in force and nothing open (blocks without governance, in tests). */
    const gov_state_t *gov;
    /* Record statuses after the parent (the ledger's, seen through pending ancestors), for
     * the lifecycle rules; NULL: no digest is anchored before this block (tests). */
    lc_lookup_fn records;
    void *records_ctx;
    /* The state map after the parent (the ledger's, seen through pending ancestors: sblock.h);
     * NULL: the empty map (tests). */
    const smap_reader_t *state;
    /* Out: the map nodes the block writes (appended), which the node keeps for the block's
     * children and hands to the store at commit; NULL: not kept. */
    smap_writes_t *state_writes;
    /* The sharing state after the parent (docs/RECORDS.md "Data-sharing trail"), for SHARE
     * transactions; NULL: an empty one (tests). */
    sh_lookup_fn shares;
    void *shares_ctx;
    /* The per-city logs after the parent (node/state/clog.h, PROTOCOL §13); NULL: no city
     * has a log yet (tests). */
    const clog_set_t *clogs;
    /* Out: the per-city logs after the block (owned by the caller: zero-initialised or an
     * earlier set, overwritten), which the node keeps for the block's children; NULL: not
     * kept. */
    clog_set_t *clogs_after;
    /* Out, with clogs_after: the subtree hashes the block's events complete in those logs
     * (emptied first; clog.h clog_nodes_t), which the node hands to the store with
     * clogs_after at commit (store_given_t); NULL: not kept. */
    clog_nodes_t *city_nodes;
} exec_parent_t;

/* Primary: builds block parent.height+1 from candidate transactions (borrowed; cloned into the
 * block), skipping, deterministically, any that is not valid on this parent: already seen,
 * repeated, expired at the height, an ANCHOR not signed by a member's seal key, a GOVERN that
 * gov_check refuses, an ENDORSE, REVOKE or SUPERSEDE that the lifecycle rules
 * (node/lifecycle, docs/RECORDS.md) refuse, or a SHARE that the data-sharing rules
 * (node/share) refuse, on the state the transactions before it leave
 * (signatures were verified on mempool admission). The block time is max(time_ms, parent time). *out is owned by the caller
 * (qc_block_free); *log_after is the record log after the block; *gov_after (caller's storage,
 * may be NULL) the governance state after it, whose end-of-block switch sets the header's
 * next_validators_hash; the included records' leaf hashes are appended to *leaves when it is
 * non-NULL. */
int exec_build(const exec_parent_t *parent, const qc_tx_t *const *txs, uint32_t n,
               uint64_t time_ms, uint32_t proposer, uint64_t view, qc_block_t *out,
               rlog_t *log_after, gov_state_t *gov_after, exec_leaves_t *leaves);

/* What a backup checks a proposal against besides its parent. Borrowed. */
typedef struct {
    uint64_t view;                        /* view of the PRE-PREPARE */
    uint32_t primary;                     /* that view's primary */
    uint64_t now_ms;                      /* this node's clock */
    uint64_t time_skew_ms_max;            /* allowed |block time - now| */
    const mempool_t *mempool;             /* may be NULL: signatures it verified are trusted */
    par_t *par;                           /* may be NULL: the other signatures are verified on
                                             its threads before the block's checks run */
} exec_check_t;

/* Backup: QC_OK if b is exactly the block its primary should have built on parent: header
 * names this chain and this node's genesis hash, height parent+1, prev hash, view, proposer, epoch and validators hash; its
 * time is not before the parent's and within the skew of now; every transaction is an ANCHOR
 * of this chain by a member's seal key, a GOVERN that gov_check allows in turn, or an
 * ENDORSE, REVOKE or SUPERSEDE by a member's seal key that the lifecycle rules allow in turn, or a
 * SHARE by a member's seal key that the data-sharing rules allow in turn, unexpired,
 * not seen, not repeated, with a valid signature (verified unless the mempool already did);
 * and the tx root, record-log size and root and next validators hash match. Otherwise an error and a sentence in why. *log_after and *leaves (may be
 * NULL; appended to) as in exec_build;
 * *sig_checks (may be NULL) counts signature verifications done. */
int exec_check(const qc_block_t *b, const exec_parent_t *parent, const exec_check_t *c,
               rlog_t *log_after, gov_state_t *gov_after, exec_leaves_t *leaves,
               uint32_t *sig_checks, char *why, size_t why_cap);

/* Catch-up: how many of the k blocks, from the first, carry a certificate that verifies
 * (qc_cert_verify) against vs for the block's header hash. The certificates are verified
 * together on par's threads (NULL: this one). When fewer than k, *rc and why (may be NULL) say
 * why the first one was refused; out of memory returns 0 with *rc QC_ERR_NOMEM. */
size_t exec_certified(par_t *par, const char *chain_id, const qc_validator_set_t *vs,
                      const qc_block_t *blocks, const qc_cert_t *certs, size_t k, int *rc,
                      char *why, size_t why_cap);

#endif
