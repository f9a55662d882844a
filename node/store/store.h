/* store.h - the ledger store: blocks, commit certificates, their indexes, the record log and
 * the membership history of one chain, in one LevelDB. Each block is applied with one atomic
 * WriteBatch written with sync=true, so a crash at any moment leaves the old head or the new
 * one. Key schema, atomicity argument and corruption handling: docs/STORAGE.md.
 *
 * Contract with the caller (the node):
 *   - The store checks a block's *structure* against the chain it holds: height, previous
 *     hash, chain id, epoch and validators hash in force, tx root, record-log size and root,
 *     certificate fields (height, epoch, block hash), and refuses replayed transactions.
 *   - It does NOT verify signatures: not the transactions' (the mempool and backups did that
 *     once), and not the commit certificate's quorum (the node or catch-up verifies it with
 *     qc_cert_verify against store_validators() before calling store_apply_block).
 *     Applying an unverified certificate makes the ledger claim a commit nobody made.
 *
 * Thread-safety: a store_t is used by one thread at a time (the node's loop thread). Nothing
 * here locks; calls from two threads at once must be serialised by the caller. LevelDB's own
 * lock file keeps a second process (or a second store_open in this process) out.
 *
 * Errors: negative qc_err_t. Reads return QC_ERR_NOTFOUND for what does not exist yet,
 * QC_ERR_RANGE for a size/index beyond the head, and QC_ERR_CORRUPT (with an ERROR log line
 * naming the key and what is wrong with it) for stored data that fails its own checks. */
#ifndef QC_STORE_H
#define QC_STORE_H

#include "clog.h"
#include "fmt.h"
#include "gov.h"
#include "lifecycle.h"
#include "qc.h"
#include "rlog.h"
#include "sblock.h"
#include "smap.h"
#include "share.h"

#define STORE_FORMAT_VERSION 7     /* meta format and first byte of every stored value (2: headers
                                      carry next_validators_hash; governance state; 3: headers
                                      are version 2, carrying the genesis hash; record statuses;
                                      4: headers are version 3, carrying the state root;
                                      5: per-city logs, their heads in the state map;
                                      6: the record index holds no tx id;
                                      7: record index and statuses keyed by the first 4 bytes
                                      of the map key before the digest, anchor-tx table 'J') */
#define STORE_RECORD_LIST_MAX 1024 /* most anchors of one digest that one listing returns */
#define STORE_EPOCHS_MAX 4096      /* most membership changes one listing returns */
#define STORE_CHECK_BLOCKS_MAX (UINT64_C(1) << 40) /* store_check refuses longer chains */
#define STORE_PROBLEM_MAX 256   /* store_problem's sentence, with its NUL */
#define STORE_DIR_MAX 1024      /* longest database directory path, with its NUL */

struct leveldb_t;
struct leveldb_options_t;
struct leveldb_filterpolicy_t;
struct leveldb_readoptions_t;
struct leveldb_writeoptions_t;
struct leveldb_writebatch_t;

/* What binds a store to one chain. Checked on every open. */
typedef struct {
    const char *chain_id;      /* borrowed for the call; copied */
    qc_hash_t genesis_hash;    /* hash of the genesis file/state (node/genesis) */
    /* Borrowed for the call. Required when the store is created (becomes the validator set
     * in force from height 1); when reopening, if non-NULL, must equal the stored one. */
    const qc_validator_set_t *genesis_validators;
    /* When the store is created: the members' addresses (genesis_validators->n entries; NULL:
     * empty) and the genesis checkpoint interval (0: 1), the governance state's start. */
    const gov_info_t *genesis_info;
    uint32_t checkpoint_interval;
    /* Where the state map lives (docs/MERKLE.md §8.4). 0: resident, all of it in memory
     * (~350 bytes per record), never written, rebuilt from the blocks at every open. Else
     * paged: its nodes above the cut depth in LevelDB (1.4 bytes per record on disk measured;
     * the others are hashed from the ledger when read), at most this many bytes of nodes
     * cached in memory (at least STORE_STATE_CACHE_MIN), and a snapshot when the stored part's
     * changes fill the cache, every state_snapshot_records records and at a clean close, so
     * that an open replays only the blocks since. */
    size_t state_cache_bytes;
    /* Paged: the most records anchored between two snapshots, so that a crash costs the next
     * open at most that many records' replay (0: STORE_STATE_SNAP_RECORDS). */
    uint64_t state_snapshot_records;
} store_config_t;

#define STORE_STATE_CACHE_MIN (1u << 20)
#define STORE_STATE_SNAP_RECORDS (UINT64_C(1) << 20)
#define STORE_OPEN_FILES_MAX 128 /* LevelDB's max_open_files (its table cache) */

/* The chain head: the last applied block and the state after it. */
typedef struct {
    uint64_t height;           /* 0 before the first block */
    qc_hash_t hash;            /* qc_header_hash of block `height`; all zero at height 0 */
    uint64_t log_size;         /* record-log size after block `height` */
    qc_hash_t log_root;        /* record-log root after block `height` */
    uint64_t epoch;            /* membership epoch in force for block height+1 */
} store_head_t;

/* Where a transaction was committed. */
typedef struct {
    uint64_t height;
    uint32_t tx_index;         /* position in the block's transaction list */
} store_tx_loc_t;

/* One anchoring of a record digest. */
typedef struct {
    uint64_t height;           /* block that committed it */
    uint32_t tx_index;         /* transaction within that block */
    uint16_t record_index;     /* record within that transaction */
    uint64_t log_index;        /* leaf index in the record log */
    qc_hash_t tx_id;
} store_record_loc_t;

/* One step of the membership history: `epoch` is in force from block `first_height` on. */
typedef struct {
    uint64_t first_height;
    uint64_t epoch;
} store_epoch_span_t;

/* A block store_apply_begin prepared: its batch (the store's) waits for store_apply_write. */
typedef struct {
    bool active;
    uint64_t height;
    store_head_t head;                     /* the head after it */
    rlog_t log;                            /* the record log after it */
    const smap_writes_t *state_ws;         /* its state-map nodes (borrowed until the end) */
    bool switched;                         /* gov_next's set is in force after it */
    char *err;                             /* LevelDB's error from the write (malloc'd) */
} store_inflight_t;

/* An open store. Fields are private to store.c; public so callers can embed it. */
typedef struct {
    struct leveldb_t *db;
    struct leveldb_options_t *opts;
    struct leveldb_filterpolicy_t *bloom;  /* tx-id replay checks are mostly misses */
    struct leveldb_readoptions_t *ropts;   /* verify_checksums */
    struct leveldb_writeoptions_t *wopts;  /* sync */
    struct leveldb_writebatch_t *batch;    /* reused by every apply */
    store_inflight_t inflight;             /* store_apply_begin .. store_apply_end */
    /* Taken at store_apply_begin, released at store_apply_end: while a block's write is in
     * flight every read (ropts) sees the ledger at the published head, not the block's index
     * entries, which would point above the head. */
    const struct leveldb_snapshot_t *read_snap;
    char chain_id[QC_CHAIN_ID_MAX + 1];
    qc_hash_t genesis_hash;
    store_head_t head;                     /* cached; equals the stored head record */
    rlog_t log;                            /* record-log frontier at head.log_size */
    qc_validator_set_t validators;         /* the set of epoch head.epoch (= gov->vs) */
    gov_state_t *gov;                      /* governance state after the head (malloc'd) */
    gov_state_t *gov_next;                 /* scratch: the state after the block being applied */
    gov_state_t *group_gov0;               /* inside store_apply_blocks: the state before it */
    int gov_record_error;                  /* a proposal record could not be encoded */
    qc_hash_t validators_hash;             /* qc_validators_hash(&validators) */
    char dir[STORE_DIR_MAX];               /* the database directory, for reopening */
    /* A failed write's error, until a reopen succeeds: LevelDB's log may end in a torn record,
     * so nothing is written through this handle again (ldb.h). */
    int write_error;
    int damage;                            /* QC_ERR_CORRUPT / QC_ERR_IO once a read met damage */
    char problem[STORE_PROBLEM_MAX];       /* the first damage, else the failing write */
    /* Only inside store_apply_blocks: the blocks applied so far, written together at its end. */
    struct leveldb_writebatch_t *group;
    qc_hash_t *group_txs;                  /* their tx ids, sorted (replay checks) */
    size_t group_txs_n;
    lc_state_t *group_lc;                  /* their record statuses (malloc'd, inside only) */
    /* The state map after the head (docs/MERKLE.md §8.4): a bounded cache over the nodes
     * stored in LevelDB as of a snapshot height; each applied block's nodes stay dirty in it
     * until a flush writes them with a snapshot at the head. */
    smap_mem_t *state;
    bool state_paged;                      /* else resident: never written, never evicted */
    size_t state_nodes_max;                /* paged: the cache's bound, in nodes */
    uint64_t state_snap_height;            /* the stored snapshot's height (UINT64_MAX: none) */
    uint64_t state_replayed;               /* blocks the last load replayed */
    uint64_t state_flushes;                /* snapshots written since open */
    uint64_t state_snap_log_size;          /* paged: the log size at the last snapshot */
    uint64_t state_snap_records;           /* paged: records between snapshots at most */
    /* Paged: map nodes below the cut depth are not stored but computed from the ledger when
     * the cache misses them (store_subtree.c); those go into state_fill (the cache being
     * read: s->state, or the one a load builds) with the city keys of state_fill_clogs. */
    smap_mem_t *state_fill;
    const clog_set_t *state_fill_clogs;
    struct store_jent *state_jc;           /* paged: cache of 'J' entries (malloc'd on use) */
    uint64_t state_computed;               /* subtrees computed since open */
    /* The resident map went ahead of the database (a group's write failed after its blocks
     * were added): store_recover rebuilds it. */
    bool state_stale;
    /* The map could not be rebuilt (a block or status that does not read, or a root that
     * differs from the head's): no block is applied and no status proven until a restart on
     * a repaired ledger; applies fail at once, without rereading the ledger. */
    int state_broken;
    sblock_t state_sb;                     /* scratch of apply: the block's map updates */
    smap_writes_t state_ws;                /* scratch of apply: the nodes they write */
    sh_state_t *group_sh;                  /* their sharing-state changes (inside only) */
    /* The per-city logs' frontiers after the head (PROTOCOL §13), kept with the state map's
     * snapshot and brought to the head by the same replay at open. */
    clog_set_t clogs;
    clog_set_t clogs_next;                 /* scratch of apply: the logs after the block */
    clog_set_t group_clogs0;               /* inside store_apply_blocks: the logs before it */
    /* The records and tx ids of the last block read for them, each leaf hashed when first
     * asked for (the log stores no subtree below level 4 and the record index no tx id: reads
     * take those from the blocks). Durable blocks only. */
    struct {
        uint64_t height;                   /* 0: empty */
        uint64_t first;                    /* log index of its first record */
        uint64_t count;
        uint32_t tx_count;
        struct store_leaf_rec *recs;       /* malloc'd: count records, leaf hashed on demand */
        qc_hash_t *tx_ids;                 /* malloc'd: tx_count ids */
        /* The block itself, decoded (while height != 0): a read of one of its transactions
         * (a receipt, GET /v1/transactions) takes it from here rather than reading and
         * unpacking the whole stored block again. */
        qc_block_t block;
    } leaf_cache;
    /* Headers read lately (store_header_read), at height % hdr_cache_cap: a stored header is
     * read with its whole block, and a receipt's search for the block holding a log index
     * reads ~log2(height) of them, the same top ones every time. Durable heights only (at or
     * below the head); NULL if its allocation failed (then nothing is cached). */
    struct store_hdr_slot *hdr_cache;
    uint32_t hdr_cache_cap; /* slots used: STORE_HDR_CACHE_SLOTS (tests may lower it) */
    /* Tests only; NULL otherwise (store_open clears it): called first in store_apply_write. */
    void (*test_write_hook)(void *ctx);
    void *test_write_ctx;
} store_t;

/* Slots of the header cache (~1.3 MiB). */
#define STORE_HDR_CACHE_SLOTS 4096u
struct store_hdr_slot {
    uint64_t height; /* 0: empty (no block has height 0) */
    qc_header_t h;
};

/* One record of the cached block: what its leaf hashes, and the leaf once hashed (a record
 * read needs one leaf, not the block's thousand). */
struct store_leaf_rec {
    qc_hash_t digest;
    qc_hash_t leaf;
    uint32_t tx_index;
    uint16_t record_index;
    bool hashed;
};

/* Opens (creating if missing) the store in directory `dir` (created 0700 if needed) and
 * binds it to cfg's chain. A new store gets its meta record, the genesis validator set and
 * an empty head in one synced batch. An existing store must carry the same chain id and
 * genesis hash (else QC_ERR_STATE), a format version this build reads (else QC_ERR_STATE),
 * and a head consistent with its last block and record log (else QC_ERR_CORRUPT).
 * On failure *s is left closed. `s` is caller-owned storage; `dir` and `cfg` are borrowed. */
int store_open(store_t *s, const char *dir, const store_config_t *cfg);

/* Closes the database and frees everything store_open allocated. Safe on a closed store. */
void store_close(store_t *s);

/* Applies one committed block and its (already verified) certificate; see the contract
 * above. Requires header.height == head.height + 1, prev_hash == head.hash, the store's chain
 * id and genesis hash, epoch == head.epoch and validators_hash of that epoch, a matching tx root, and the
 * record-log size and root after appending every record's qc_record_leaf_hash, in order, to
 * equal header.log_size/log_root; the certificate must name this height, epoch and header
 * hash. Any mismatch: QC_ERR_INVALID. A transaction id already in the ledger, or twice in the
 * block: QC_ERR_DUPLICATE. On any error nothing is written and the store is unchanged.
 * On success the block, certificate and every index are durable (one synced WriteBatch).
 * block and cert are borrowed. */
int store_apply_block(store_t *s, const qc_block_t *block, const qc_cert_t *cert);

/* Most blocks one store_apply_blocks call takes. */
#define STORE_APPLY_BLOCKS_MAX 1024

/* Applies blocks[0..count) with their (already verified) certificates, in order, as that many
 * store_apply_block calls would, but writes them with ONE synced WriteBatch (catch-up: one
 * fsync per fetched batch of blocks instead of one per block). Each block is checked against
 * the head the blocks before it leave, and replays are refused across the blocks of the call
 * too. Stops at the first block refused: the blocks before it are written, and that refusal is
 * returned (QC_OK when every block was applied). *applied gets the number applied, all durable
 * on return. A failed write applies none (*applied 0, the write's error) and leaves the store
 * as it was. count <= STORE_APPLY_BLOCKS_MAX. blocks and certs are borrowed. */
int store_apply_blocks(store_t *s, const qc_block_t *blocks, const qc_cert_t *certs,
                       size_t count, size_t *applied);

/* As store_apply_block, given the record-log leaf hashes of the block's records in log order
 * as the caller already computed them (node/exec.c), so a node hashes each record once:
 * leaf_count must equal the block's record count (else QC_ERR_INVALID), and the log built from
 * them must still reach the header's size and root. Reads check every record index entry
 * against qc_record_leaf_hash, so a wrong leaf cannot hide. leaves NULL: as store_apply_block. */
int store_apply_block_leaves(store_t *s, const qc_block_t *block, const qc_cert_t *cert,
                             const qc_hash_t *leaves, size_t leaf_count);

/* What exec computed for a block on the ledger head (node/exec.h), given to the store so that
 * a node computes it once per block. Borrowed; any part may be absent (NULL), and the store
 * then computes that part itself.
 *   leaves, leaf_count  as store_apply_block_leaves;
 *   state_writes        the state-map nodes the block writes (exec_parent_t.state_writes): the
 *                       root they give must be the header's state root (else QC_ERR_INVALID);
 *   clogs_after,        the per-city logs after the block and the subtree hashes its events
 *   city_nodes          completed (exec_parent_t.clogs_after, .city_nodes; both or neither):
 *                       each city's growth must be its events in the block, every log the
 *                       store has must be there under the same index, and every node must lie
 *                       in the block's part of its log (else QC_ERR_INVALID).
 * The caller vouches that the writes, logs and nodes are exactly the block's, computed on the
 * store's head (exec computed them from the same readers and the same logs); the checks above
 * catch a set that belongs to another block or parent, not a hash computed wrong. */
typedef struct {
    const qc_hash_t *leaves;
    size_t leaf_count;
    const smap_writes_t *state_writes;
    const clog_set_t *clogs_after;
    const clog_nodes_t *city_nodes;
} store_given_t;

/* As store_apply_block, given what exec computed (store_given_t; NULL: nothing given). */
int store_apply_block_exec(store_t *s, const qc_block_t *block, const qc_cert_t *cert,
                           const store_given_t *given);

/* store_apply_block_exec in three steps, so that the synced write can run on another thread
 * while the caller's thread goes on (the node's loop: docs/ARCHITECTURE.md "Threads"):
 *   store_apply_begin  (caller's thread) every check, and the block's batch; QC_OK or the
 *                      error store_apply_block_exec would give (nothing to end then);
 *   store_apply_write  (any one thread) the synced write of that batch, and nothing else;
 *   store_apply_end    (caller's thread, after the write returned) QC_OK: the store's state
 *                      is the block's; or the write's error (QC_ERR_IO: the head unchanged,
 *                      the write retried by applying the block again, as after any failed
 *                      write).
 * Between begin and end the store reads as the head before the block, is read only from the
 * caller's thread, and takes no other apply (asserted); what *given points to stays valid. */
int store_apply_begin(store_t *s, const qc_block_t *block, const qc_cert_t *cert,
                      const store_given_t *given);
void store_apply_write(store_t *s);
int store_apply_end(store_t *s);
/* true between store_apply_begin's QC_OK and store_apply_end. */
bool store_apply_inflight(const store_t *s);

/* The state map (docs/MERKLE.md §8, PROTOCOL §12): each block's header carries its root after
 * the block; the store checks it on every apply (a mismatch: QC_ERR_INVALID), keeps the map's
 * nodes in LevelDB with a bounded cache of them in memory, and at open replays the blocks after
 * its last snapshot (MERKLE.md §8.4, costs §8.5).
 * A reader of the map after the head (borrowed from the store; valid until its next apply). */
smap_reader_t store_state_reader(store_t *s);
/* The state map's root after the head. */
int store_state_root(store_t *s, qc_hash_t *root);

/* The state map's cache and snapshot, for metrics and tests. */
typedef struct {
    smap_mem_stats_t cache;
    size_t nodes_max;           /* the cache's bound, in nodes */
    uint64_t snapshot_height;   /* of the stored map; UINT64_MAX: none */
    uint64_t replayed_blocks;   /* blocks the last load replayed after its snapshot */
    uint64_t snapshots_written; /* since open */
    uint64_t subtrees_computed; /* paged: nodes below the cut computed from the ledger */
    unsigned cut_depth;         /* paged: nodes at this depth and below are not stored */
} store_state_stats_t;
void store_state_stats(const store_t *s, store_state_stats_t *out);
/* A proof (smt_proof_encode form) of digest's status, or of its absence, against the head's
 * state root: *p filled. QC_OK or a read error. */
int store_state_prove(store_t *s, const uint8_t digest[32], smt_proof_t *p);

/* City logs (docs/PROTOCOL.md §13): every apply appends the block's events to their signing
 * city's log (clog_tx: an ANCHOR's records, ENDORSE, REVOKE, SUPERSEDE), stores where the
 * block's leaves start in each log that grew ('Y') and each completed subtree hash from level
 * 4 up ('Z') in the block's batch, and puts the city heads that moved into the state map (the
 * header's state root covers them). Leaves are read by replaying their block's transactions,
 * lower subtrees hashed from them (STORAGE.md). A name that never had an event has an empty
 * log. Reads below take city as a member name (else QC_ERR_INVALID); a span, block or node
 * that is missing or does not agree with the log is QC_ERR_CORRUPT (store_problem). */

/* The size and root of city's log after the head (0 and the empty root when it has none). */
int store_city_log(store_t *s, const char *city, uint64_t *size, qc_hash_t *root);
/* Leaves [lo, hi) of city's log into out[0 .. hi - lo) (caller's array). QC_ERR_RANGE unless
 * lo <= hi <= its size. Each block holding some of them is read once. */
int store_city_leaves(store_t *s, const char *city, uint64_t lo, uint64_t hi,
                      qc_city_leaf_t *out);
/* Leaf `index` of city's log (store_city_leaves of one). */
int store_city_leaf(store_t *s, const char *city, uint64_t index, qc_city_leaf_t *out);
/* The index of city's first leaf with a height >= height (its size when none): a binary
 * search over the stored spans, which are in height order (about 64 reads, no block). */
int store_city_first_at(store_t *s, const char *city, uint64_t height, uint64_t *index);
/* rlog_range_hashes over city's log at its current size: the complement hashes of leaves
 * [lo, hi) in walk order (§13.4 step 5). Errors as rlog_range_hashes. */
int store_city_range_hashes(store_t *s, const char *city, uint64_t lo, uint64_t hi,
                            qc_hash_t *out, size_t cap, size_t *count);
/* A proof of map key `key` (present or absent) against the head's state root, as
 * store_state_prove for a record digest. */
int store_state_prove_key(store_t *s, const qc_hash_t *key, smt_proof_t *p);

/* Governance (node/gov, docs/GOVERNANCE.md): every apply runs the block's GOVERN transactions
 * on the governance state after the head, in order (one that gov_check refuses: the block is
 * QC_ERR_INVALID), then gov_end_block. The header's next_validators_hash must be what that
 * gives: the next epoch's set hash when a passed change takes effect at this block (its set is
 * then in force from height+1 on and stored as a new epoch), else zero. The state and every
 * proposal record that changed are written in the block's batch. */

/* The governance state after the head. Borrowed from s; valid until the next apply. */
const gov_state_t *store_gov(const store_t *s);

/* The latest record of proposal `id`: QC_OK, QC_ERR_NOTFOUND, QC_ERR_CORRUPT, QC_ERR_IO. */
int store_proposal_get(store_t *s, const qc_hash_t *id, gov_proposal_t *out);

/* Calls cb for every proposal record ever made (in id order), at most `max`; stops early if
 * cb returns false. QC_OK, QC_ERR_CORRUPT, QC_ERR_IO. */
int store_proposals_each(store_t *s, size_t max, bool (*cb)(void *ctx, const gov_proposal_t *p),
                         void *ctx);

/* The head (a copy of the cached, durable head). */
void store_head(const store_t *s, store_head_t *out);

/* NULL while the store is sound; otherwise a sentence for operators (/healthz), which stays
 * until a restart: the first damage a read met (a value failing its checks, LevelDB reporting
 * corruption, a read I/O error: "corrupt block 7: ...", "reading block 7: Corruption: block
 * checksum mismatch: /data/ledger/000005.ldb"), else, while writes fail, the failed write
 * ("writing a block: IO error: ...: No space left on device"). Borrowed from s. */
const char *store_problem(const store_t *s);

/* The raw stored bytes of block `height`: the protobuf Block envelope (qc_block_decode reads
 * it) and the protobuf CommitCert envelope (qc_cert_decode). Both are checked before they are
 * returned (they decode, name this height and agree with each other). *block / *cert are
 * malloc'd and owned by the caller (free); either out pair may be NULL when not wanted.
 * QC_ERR_NOTFOUND above the head or at 0. */
int store_block_raw(store_t *s, uint64_t height, uint8_t **block, size_t *block_len,
                    uint8_t **cert, size_t *cert_len);

/* Block `height` decoded into *block (caller owns: qc_block_free) and, if cert is non-NULL,
 * its certificate. */
int store_block_get(store_t *s, uint64_t height, qc_block_t *block, qc_cert_t *cert);

/* The header, transaction tx_index and certificate of block `height`, decoding no other
 * transaction (what a receipt needs from a large block). The header must match the stored one
 * and the certificate must be for it; the block's tx root is not recomputed (store_block_get
 * does that). *tx owned by the caller (qc_tx_free). QC_ERR_NOTFOUND above the head;
 * QC_ERR_CORRUPT if the block has no such transaction. */
int store_block_tx(store_t *s, uint64_t height, uint32_t tx_index, qc_header_t *hdr,
                   qc_tx_t *tx, qc_cert_t *cert);

/* Only the header of block `height` (cheap: no transaction is decoded). */
int store_header_get(store_t *s, uint64_t height, qc_header_t *out);

/* Height of the block whose header hash is `hash`. QC_ERR_NOTFOUND if none. */
int store_height_by_hash(store_t *s, const qc_hash_t *hash, uint64_t *height);

/* Where transaction `tx_id` was committed. QC_ERR_NOTFOUND if it never was. A cheap index
 * lookup (for the mempool's replay check): the location is checked against the head and the
 * block's tx count, but the block is not read; store_tx_get confirms it. */
int store_tx_find(store_t *s, const qc_hash_t *tx_id, store_tx_loc_t *out);

/* store_tx_find, then reads the block and returns (a copy of) the transaction, which must
 * have id tx_id (else QC_ERR_CORRUPT). Caller owns *tx (qc_tx_free). */
int store_tx_get(store_t *s, const qc_hash_t *tx_id, store_tx_loc_t *loc, qc_tx_t *tx);

/* Record statuses (docs/RECORDS.md, PROTOCOL §5.1): every apply runs the block's
 * transactions, in order, through the lifecycle rules (node/lifecycle) on the statuses after
 * the head; a transaction they refuse makes the block QC_ERR_INVALID. Each status a block
 * creates (a digest's first anchoring) or changes is written in the block's batch. */

/* The status of `digest` after the head: QC_OK, QC_ERR_NOTFOUND if it was never anchored,
 * QC_ERR_CORRUPT (a value that does not decode or names another digest), QC_ERR_IO. *out is
 * caller storage. Also an lc_lookup_fn (ctx: the store_t). */
int store_record_status(store_t *s, const uint8_t digest[32], qc_recstat_t *out);
int store_record_status_cb(void *ctx, const uint8_t digest[32], qc_recstat_t *out);

/* The data-sharing state (docs/RECORDS.md "Data-sharing trail", node/share.h): every apply
 * runs the block's SHARE transactions, in order, through the data-sharing rules on the state
 * after the head; one they refuse makes the block QC_ERR_INVALID. The keys a block sets or
 * deletes are written in the block's batch, each as it is (its first byte a key family of
 * docs/STORAGE.md) with the format version byte in front of its value. */

/* The value of sharing key k after the head into val (SH_VALUE_MAX bytes), *vlen its length:
 * QC_OK, QC_ERR_NOTFOUND, QC_ERR_CORRUPT (a bad version byte or a value too long), QC_ERR_IO.
 * Also an sh_lookup_fn (ctx: the store_t). */
int store_share_get(store_t *s, const uint8_t *k, size_t klen, uint8_t *val, size_t *vlen);
int store_share_cb(void *ctx, const uint8_t *k, size_t klen, uint8_t *val, size_t *vlen);
/* Calls cb, in key order, for at most max sharing keys that start with prefix[0..plen) and
 * come after `after` (NULL: from the first), with the value after its version byte. Stops
 * when cb returns false. QC_OK, or QC_ERR_CORRUPT / QC_ERR_IO. */
int store_share_each(store_t *s, const uint8_t *prefix, size_t plen, const uint8_t *after,
                     size_t after_len, size_t max,
                     bool (*cb)(void *ctx, const uint8_t *k, size_t klen, const uint8_t *val,
                                size_t vlen),
                     void *ctx);

/* The first anchoring of `digest` (lowest log index). Each location is checked against the
 * record log's stored leaf before it is returned. QC_ERR_NOTFOUND if never anchored. */
int store_record_find(store_t *s, const uint8_t digest[32], store_record_loc_t *out);

/* Up to `cap` (<= STORE_RECORD_LIST_MAX) anchorings of `digest` in log order, starting at
 * the first with log index >= from_log_index; *n gets the count. *more is set when more
 * anchorings follow (call again from out[*n-1].log_index + 1). out is caller-owned. */
int store_record_list(store_t *s, const uint8_t digest[32], uint64_t from_log_index,
                      store_record_loc_t *out, size_t cap, size_t *n, bool *more);

/* A copy of the record-log frontier at the head, for computing the log size/root of a block
 * being built: append to the copy with a put that does nothing. */
void store_log_copy(const store_t *s, rlog_t *out);

/* A reader of the stored complete-subtree hashes, for rlog's functions. Borrowing `s`. */
rlog_reader_t store_log_reader(store_t *s);

/* Root of the record log at `size` (<= head.log_size, else QC_ERR_RANGE). */
int store_log_root_at(store_t *s, uint64_t size, qc_hash_t *out);

/* RFC 9162 inclusion proof of leaf `index` in the log at `size` (index < size <=
 * head.log_size). path has room for MERKLE_PROOF_MAX hashes; *len gets the count. */
int store_log_inclusion_proof(store_t *s, uint64_t index, uint64_t size, qc_hash_t *path,
                              size_t *len);

/* RFC 9162 consistency proof between sizes (size1 <= size2 <= head.log_size; empty when
 * size1 is 0 or equal to size2). proof has room for MERKLE_PROOF_MAX hashes. */
int store_log_consistency_proof(store_t *s, uint64_t size1, uint64_t size2, qc_hash_t *proof,
                                size_t *len);

/* The validator set of `epoch` (out is caller-owned). QC_ERR_NOTFOUND if unknown. */
int store_validators(store_t *s, uint64_t epoch, qc_validator_set_t *out);

/* The epoch in force at block `height` (1 <= height <= head.height + 1). */
int store_epoch_at(store_t *s, uint64_t height, uint64_t *epoch);

/* Membership history from genesis: up to cap (<= STORE_EPOCHS_MAX) spans in height order;
 * *n gets the count; QC_ERR_TOOBIG if there are more than cap. */
int store_epochs(store_t *s, store_epoch_span_t *out, size_t cap, size_t *n);

/* Counts of what store_check examined. */
typedef struct {
    uint64_t blocks, txs, records, log_nodes, epochs;
    uint64_t statuses;         /* distinct digests anchored, each with its record status */
    uint64_t anchor_txs;       /* paged: ANCHORs with records, each with its 'J' entry */
    /* the data-sharing trail: SHARE transactions committed, by op (DATASET..ACCESS) */
    uint64_t share_ops[5];
    uint64_t state_keys;       /* keys in the state map (records' and cities'), each hashed */
    uint64_t state_nodes;      /* its stored nodes, each checked against its parent */
} store_check_stats_t;

/* Full integrity check (an fsck; O(everything), for tests and operators): every block
 * 1..head decodes, chains and matches its certificate and hash index; every transaction and
 * record index entry points at what is there; the record log's root at every block's
 * log_size matches the header; every anchored digest has one record status, naming its first
 * anchoring; the data-sharing families hold exactly the keys the committed SHARE transactions
 * imply, each value decoding as its family's and naming its own key's id (one sequential
 * scan per family, no point reads); no key of any family refers to anything above the head;
 * the state map's every node hashes to its parent's slot and the whole to the head's state
 * root (read through its cache when paged: every stored node once).
 * QC_OK, or QC_ERR_CORRUPT with the first problem logged. stats may be NULL. */
int store_check(store_t *s, store_check_stats_t *stats);

#endif
