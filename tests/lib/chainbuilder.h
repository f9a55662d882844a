/* chainbuilder.h - builds valid chains for tests and benchmarks: ANCHOR transactions signed by
 * the testkeys members' seal keys, blocks whose headers carry the right tx root, record-log
 * size and root (from a record-log frontier the builder keeps), and quorum commit
 * certificates signed by the members' node keys. Deterministic: what a block holds depends
 * only on the chain id, the validator set and its height, so a builder resumed at a store's
 * head after a crash rebuilds the same next block.
 *
 * Typical use:
 *     chainbuilder_t cb;
 *     chainbuilder_init(&cb, "test-chain", 4, 0);
 *     cb.genesis_hash = gh;                 // the store refuses blocks of another genesis
 *     store_open(&s, dir, &(store_config_t){cb.chain_id, gh, &cb.vs});
 *     chainbuilder_make(&cb, 10, 100, &block, &cert);     // 10 txs x 100 records
 *     store_apply_block(&s, &block, &cert);
 *     chainbuilder_advance(&cb, &block);
 *     qc_block_free(&block);
 */
#ifndef QC_CHAINBUILDER_H
#define QC_CHAINBUILDER_H

#include "clog.h"
#include "fmt.h"
#include "lifecycle.h"
#include "rlog.h"
#include "smap.h"

typedef struct {
    char chain_id[QC_CHAIN_ID_MAX + 1];
    qc_hash_t genesis_hash;                 /* every header's; zero after init: a test whose
                                               store names another sets it before building */
    qc_validator_set_t vs;                  /* the epoch the next block is committed in */
    qc_hash_t vs_hash;
    qc_seckey_t node_sk[QC_VALIDATORS_MAX]; /* testkeys, by member index */
    qc_seckey_t seal_sk[QC_VALIDATORS_MAX];
    uint64_t height;                        /* last block the builder advanced past */
    qc_hash_t head_hash;                    /* its header hash (zero at height 0) */
    rlog_t log;                             /* record-log frontier after it */
    /* The state map after it, for the header's state root: the builder's own (allocated on
     * first use, kept reachable for the process's life) unless state_ext is set, e.g. to a
     * store's reader (store_state_reader) when the builder resumes at that store's head and
     * every block it builds is applied there before the next is built. */
    smap_mem_t *state;
    const smap_reader_t *state_ext;
    lc_state_t *life;                       /* every record status after it (LC_ALL; own) */
    lc_lookup_fn life_ext;                  /* with state_ext: the statuses there (may be NULL) */
    void *life_ext_ctx;
    clog_set_t *clogs;                      /* the city logs after it (own, as state) */
    const clog_set_t *clogs_ext;            /* with state_ext: the logs there (store_t.clogs) */
} chainbuilder_t;

/* A builder at height 0 for chain_id with testkeys_validators(n, epoch). */
void chainbuilder_init(chainbuilder_t *cb, const char *chain_id, uint32_t n, uint64_t epoch);

/* A builder at height 0 for chain_id with the validator set vs (borrowed; copied) and its
 * members' node and seal secret keys (borrowed; copied), e.g. those `qchain testnet` made, so
 * the chain it builds is one real qchaind processes accept. */
void chainbuilder_init_keys(chainbuilder_t *cb, const char *chain_id,
                            const qc_validator_set_t *vs, const qc_seckey_t *node_sk,
                            const qc_seckey_t *seal_sk);

/* Moves the builder to a head (e.g. a reopened store's): height, header hash and a copy of
 * the record-log frontier (all borrowed). */
void chainbuilder_resume(chainbuilder_t *cb, uint64_t height, const qc_hash_t *hash,
                         const rlog_t *log);

/* The generated digest of record `rec` of tx `tx` in block `height`. */
void chainbuilder_digest(uint64_t height, uint32_t tx, uint32_t rec, qc_hash_t *out);

/* An ANCHOR tx signed by member `signer`'s seal key, with `n` records (1..QC_TX_RECORDS_MAX)
 * whose digests are digests[0..n) (borrowed) or, when digests is NULL, generated for
 * (height + 1, nonce_tx, record). Caller owns *tx (qc_tx_free). */
int chainbuilder_tx(const chainbuilder_t *cb, uint32_t signer, uint32_t nonce_tx,
                    const qc_hash_t *digests, uint32_t n, qc_tx_t *tx);

/* The block at height + 1 holding txs[0..n) (the tx contents are moved into the block; the
 * array itself stays the caller's) with a correct header and a quorum certificate.
 * Caller owns *out (qc_block_free). Does not advance the builder. */
int chainbuilder_block(const chainbuilder_t *cb, qc_tx_t *txs, uint32_t n, qc_block_t *out,
                       qc_cert_t *cert);

/* A block that ends an epoch is made by govtest_block (tests/lib/govtest.h): governance
 * decides the next set, and the header names its hash. */

/* chainbuilder_block of n_txs generated txs of recs_per_tx records each. */
int chainbuilder_make(const chainbuilder_t *cb, uint32_t n_txs, uint32_t recs_per_tx,
                      qc_block_t *out, qc_cert_t *cert);

/* Recomputes the header's tx root, log size/root and state root for its txs (after a test
 * changed them). */
int chainbuilder_seal(const chainbuilder_t *cb, qc_block_t *b);

/* A quorum certificate for b's header as it is now (after a test changed the header). */
void chainbuilder_certify(const chainbuilder_t *cb, const qc_block_t *b, qc_cert_t *cert);

/* Advances the builder past b (which the store accepted). */
void chainbuilder_advance(chainbuilder_t *cb, const qc_block_t *b);

/* The builder's committee changes to testkeys_validators(n, epoch) (after a block that
 * enacted it was applied). */
void chainbuilder_set_validators(chainbuilder_t *cb, uint32_t n, uint64_t epoch);

#endif
