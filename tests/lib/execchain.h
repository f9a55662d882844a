/* execchain.h - a chain unit tests commit blocks to through exec, as a node would: the primary
 * builds each block from candidate transactions on the chain's head, a backup checks it, and
 * the test's commit callback applies what was committed to the test's own view of the state
 * (record statuses, the sharing state) that the chain's lookups then read. Shared by
 * test_exec (the lifecycle rules) and test_share (the data-sharing rules). */
#ifndef QC_EXECCHAIN_H
#define QC_EXECCHAIN_H

#include "exec.h"

#define EXECCHAIN_TXS_MAX 256      /* transactions one chain commits at most */
#define EXECCHAIN_BLOCK_TXS_MAX 16 /* candidates one step takes at most */

/* Called for each committed transaction, in block order, with the validator set in force, the
 * block's height and the record-log index of the transaction's first record. */
typedef int (*execchain_commit_fn)(void *ctx, const qc_tx_t *tx, const qc_validator_set_t *vs,
                                   uint64_t height, uint64_t log_index);

typedef struct {
    const char *chain_id;             /* borrowed */
    const qc_hash_t *genesis_hash;    /* borrowed */
    qc_validator_set_t vs;            /* in force; a test may change it (key rotation) */
    qc_hash_t ids[EXECCHAIN_TXS_MAX]; /* committed tx ids */
    size_t n_ids;
    uint64_t height, time_ms;
    qc_hash_t hash;
    rlog_t log;
    lc_lookup_fn records;             /* as exec_parent_t's; may be NULL */
    void *records_ctx;
    sh_lookup_fn shares;
    void *shares_ctx;
    execchain_commit_fn commit;       /* may be NULL */
    void *commit_ctx;
} execchain_t;

/* A chain at height 0 with validators vs (copied) whose committed transactions go to commit
 * (may be NULL) with commit_ctx; set the lookups after. */
void execchain_init(execchain_t *c, const char *chain_id, const qc_hash_t *genesis_hash,
                    const qc_validator_set_t *vs, execchain_commit_fn commit, void *commit_ctx);

/* The state after the chain's head, for exec (borrows c). */
exec_parent_t execchain_parent(execchain_t *c);

/* Builds the next block from txs[0..n) (n <= EXECCHAIN_BLOCK_TXS_MAX), has a backup check it,
 * commits it (the commit callback per transaction) and sets *mask to which of txs it holds
 * (bit i: txs[i]). Frees txs in all cases. QC_OK, or the first error with a sentence in why
 * (the build, the backup's refusal, the callback's error). */
int execchain_step(execchain_t *c, qc_tx_t *txs, uint32_t n, uint32_t *mask, char *why,
                   size_t why_cap);

/* A backup's verdict on a block holding exactly txs[0..n) (cloned; the header is an empty
 * block's, so the transactions are checked first) on the chain's head, with its sentence in
 * why. Frees txs. */
int execchain_check_crafted(execchain_t *c, qc_tx_t *txs, uint32_t n, char *why, size_t why_cap);

#endif
