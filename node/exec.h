/* exec.h - the deterministic application of consensus: checks a proposal before a backup
 * prepares it, and executes a committed proposal into the block of its height. Every honest
 * node executes the same committed proposal over the same ledger into the same block, which is
 * why validators can then sign the block hash (the block's commit certificate). */
#ifndef QC_EXEC_H
#define QC_EXEC_H

#include "fmt.h"
#include "mempool.h"
#include "rlog.h"

/* What a proposal is checked against before this node prepares it. Borrowed. */
typedef struct {
    const char *chain_id;
    const qc_validator_set_t *validators; /* the epoch that will commit the height */
    uint32_t primary;                     /* validator index of the view's primary */
    uint64_t now_ms;                      /* this node's clock */
    uint64_t time_skew_ms_max;            /* |proposal time - now| allowed */
    const mempool_t *mempool;             /* may be NULL: signatures already verified here */
} exec_check_t;

/* QC_OK if p may be prepared at (height, view): header names this chain, height, view and the
 * primary; its time is within the skew; it holds at most QC_BLOCK_TXS_MAX transactions, each
 * an ANCHOR of this chain by a member's seal key, unexpired at the height, not repeated inside
 * the proposal, and with a valid signature (verified unless the mempool already did).
 * Otherwise an error and a sentence in why. Counts signature verifications in *sig_checks
 * (may be NULL). */
int exec_check_proposal(const qc_proposal_t *p, uint64_t height, uint64_t view,
                        const exec_check_t *c, uint32_t *sig_checks, char *why, size_t why_cap);

/* The ledger state a block is executed on. Borrowed. */
typedef struct {
    const char *chain_id;
    const qc_validator_set_t *validators; /* epoch in force for the new block */
    uint64_t prev_height;
    qc_hash_t prev_hash;                  /* zero for the first block */
    uint64_t prev_time_ms;
    const rlog_t *log;                    /* record log after prev_height */
    bool (*committed)(void *ctx, const qc_hash_t *tx_id); /* ledger lookup, may be NULL */
    void *committed_ctx;
} exec_base_t;

/* Executes committed proposal p (NULL for a null proposal, which yields an empty block
 * proposed by `null_proposer`) at height prev_height+1 in `view`. Transactions that are no
 * longer valid at this height are skipped, deterministically: already committed, repeated
 * earlier in the block, expired, or not signed by a member's seal key. Fills *out (caller
 * owns: qc_block_free) with header and the included txs (cloned), and *log_after with the
 * record log after the block. */
int exec_block(const qc_proposal_t *p, uint64_t view, uint32_t null_proposer,
               const exec_base_t *base, qc_block_t *out, rlog_t *log_after);

#endif
