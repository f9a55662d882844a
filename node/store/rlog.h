/* rlog.h - the chain's append-only record log: an RFC 6962 / RFC 9162 Merkle tree over every
 * record ever anchored, kept as stored complete-subtree hashes plus an in-memory frontier.
 *
 * Storage model (docs/MERKLE.md): complete subtrees addressed by (level, index): level 0 index i
 * is leaf hash i; level k index j is the MTH of leaves [j * 2^k, (j + 1) * 2^k). These never
 * change once written. Appends hand every newly completed subtree to a put callback (the store
 * keeps those from level 4 up and hashes lower ones from the blocks when its reader is asked)
 * and never read; roots at past sizes and proofs read O(log n) subtrees through the reader and
 * never rebuild the tree.
 *
 * Thread use: an rlog_t belongs to one writer. The reader functions take no rlog_t, so they
 * may run anywhere the reader's storage (e.g. a LevelDB snapshot) may be read. */
#ifndef QC_RLOG_H
#define QC_RLOG_H

#include "merkle.h"
#include "qc.h"

/* Storage the log reads from. get fills *out with the stored hash of complete subtree
 * (level, index) and returns QC_OK, QC_ERR_NOTFOUND if absent, or another negative error
 * (QC_ERR_CORRUPT, QC_ERR_IO) on failure; it must never return a positive value.
 * ctx is borrowed by the log for the duration of each call. */
typedef struct {
    int (*get)(void *ctx, uint32_t level, uint64_t index, qc_hash_t *out);
    void *ctx;
} rlog_reader_t;

/* Receives each complete subtree hash an append completes (level 0: the leaf itself), bottom
 * up, once each; the store adds them to its pending batch. h is borrowed for the call.
 * Returns QC_OK or a negative error, which aborts the append. Same type as merkle_subtree_cb. */
typedef int (*rlog_put_fn)(void *ctx, uint32_t level, uint64_t index, const qc_hash_t *h);

/* The writer's view of the log: its size and, for each set bit k of size, the hash of the
 * complete subtree of 2^k leaves on the right edge (frontier[k] = subtree (k, (size>>k)-1)).
 * Public so the store can embed it; change it only through rlog_open / rlog_append. */
typedef struct {
    uint64_t size;
    qc_hash_t frontier[MERKLE_LEVELS];
} rlog_t;

/* Opens the log at `size` leaves (the size the store's head records) by reading the
 * popcount(size) <= 63 frontier subtrees; size 0 reads nothing. r is borrowed for the call.
 * QC_OK; QC_ERR_RANGE if size > MERKLE_SIZE_MAX; QC_ERR_CORRUPT if a subtree the size
 * implies is absent; or the reader's error. On error *log is set to the empty log. */
int rlog_open(rlog_t *log, uint64_t size, const rlog_reader_t *r);

/* Appends a leaf hash (merkle_leaf_hash of the record's leaf bytes) as leaf log->size.
 * Calls put for the leaf and every subtree it completes (two on average, at most 64), reads
 * nothing, then advances the log. O(1) amortised. On error (put's error, or QC_ERR_FULL at
 * MERKLE_SIZE_MAX leaves) *log is unchanged, but puts already made belong to the failed
 * batch: the caller must discard that batch. put and put_ctx are borrowed for the call; put
 * may be NULL to advance the log without storing (speculative execution of a proposal on a
 * copy of the log, to compute its header's root). */
int rlog_append(rlog_t *log, const qc_hash_t *leaf_hash, rlog_put_fn put, void *put_ctx);

/* The tree head root at log->size, from the frontier only (no reads; at most 63 hashes).
 * The empty root (SHA-256 of nothing) for an empty log. */
void rlog_root(const rlog_t *log, qc_hash_t *out);

/* The root the log had at any size <= the stored size: at most 63 reads, no rebuild.
 * The caller checks size against its log first (QC_ERR_RANGE is its answer for a size not
 * reached yet): within the stored log every subtree read must exist, so an absent one is
 * QC_ERR_CORRUPT. Returns QC_OK, QC_ERR_RANGE (size > MERKLE_SIZE_MAX), QC_ERR_CORRUPT, or
 * the reader's error. r is borrowed for the call. */
int rlog_root_at(const rlog_reader_t *r, uint64_t size, qc_hash_t *out);

/* Audit path for leaf `index` in the tree of `size` leaves (any size up to the stored size),
 * identical to merkle_inclusion_proof over the same leaves. path is a caller array of
 * MERKLE_PROOF_MAX hashes. At most 2 * 63 reads. Errors as rlog_root_at, plus QC_ERR_RANGE
 * for index >= size; on error *path_len is 0. */
int rlog_inclusion_proof(const rlog_reader_t *r, uint64_t index, uint64_t size,
                         qc_hash_t *path, size_t *path_len);

/* Consistency proof from size1 to size2 (size1 <= size2 <= the stored size), identical to
 * merkle_consistency_proof; empty when size1 == 0 or size1 == size2. proof is a caller array
 * of MERKLE_PROOF_MAX hashes. At most 2 * 63 reads. Errors as rlog_root_at, plus
 * QC_ERR_RANGE for size1 > size2; on error *proof_len is 0. */
int rlog_consistency_proof(const rlog_reader_t *r, uint64_t size1, uint64_t size2,
                           qc_hash_t *proof, size_t *proof_len);

/* The subtree hashes that complete the tree of `size` leaves around the leaves [lo, hi)
 * (lo < hi <= size): exactly the `hashes` list of a city log proof (docs/PROTOCOL.md §13.4
 * step 5), in the order of its left-to-right walk, each a stored complete subtree or, on the
 * right edge, folded from them. out is a caller array of cap hashes (2 * 64 always
 * suffice); *count gets the number written. At most 2 * 63 node reads. Errors as
 * rlog_root_at, plus QC_ERR_RANGE for lo >= hi or hi > size, QC_ERR_TOOBIG when cap is too
 * small; on error *count is 0. r is borrowed for the call. */
int rlog_range_hashes(const rlog_reader_t *r, uint64_t size, uint64_t lo, uint64_t hi,
                      qc_hash_t *out, size_t cap, size_t *count);

#endif
