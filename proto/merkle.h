/* merkle.h - the Merkle Tree Hash, audit paths and consistency proofs of RFC 6962 §2.1, with
 * the verification algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2, as pure functions.
 *
 * Used for each block's transaction root (in memory, over the block's tx ids) and, through
 * node/store/rlog.h, for the chain's append-only record log (over stored complete subtrees).
 * Leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || left || right); the tree of
 * n leaves splits at the largest power of two smaller than n. See docs/MERKLE.md. */
#ifndef QC_MERKLE_H
#define QC_MERKLE_H

#include "qc.h"

/* Tree sizes are limited to 2^63 leaves. A tree that size is 63 levels deep, so an audit path
 * has at most 63 hashes and a consistency proof at most 64 (one more than the depth, e.g. the
 * 3 -> 4 proof has three hashes in a two-level tree); every proof fits MERKLE_PROOF_MAX.
 * MERKLE_PATH_MAX is the audit-path bound alone: ceil(log2(size)) <= 63 for every size allowed,
 * so a longer inclusion path is malformed, never merely wrong. */
#define MERKLE_SIZE_MAX (UINT64_C(1) << 63)
#define MERKLE_PROOF_MAX 64
#define MERKLE_PATH_MAX 63
/* Levels of complete subtrees a tree of at most MERKLE_SIZE_MAX leaves can have (0..63). */
#define MERKLE_LEVELS 64

/* SHA-256(0x00 || data). data is borrowed; len may be 0 (data may then be NULL). */
void merkle_leaf_hash(qc_hash_t *out, const void *data, size_t len);
/* SHA-256(0x01 || l || r). out may alias l or r. */
void merkle_node_hash(qc_hash_t *out, const qc_hash_t *l, const qc_hash_t *r);
/* The hash of the empty tree, SHA-256 of no bytes (RFC 6962 §2.1: MTH({}) = SHA-256()). */
void merkle_empty_root(qc_hash_t *out);

/* MTH over the n leaf hashes leaf_hashes[0..n) (borrowed; NULL allowed when n == 0).
 * O(n) time, O(log n) stack space (a MERKLE_LEVELS frontier), no allocation.
 * Asserts n <= MERKLE_SIZE_MAX. */
void merkle_root(qc_hash_t *out, const qc_hash_t *leaf_hashes, uint64_t n);

/* Audit path (RFC 6962 §2.1.1) for leaf `index` in the tree of the first `size` leaf hashes,
 * all in memory (leaf_hashes borrowed, at least `size` entries). path is a caller array of
 * MERKLE_PROOF_MAX hashes; *path_len receives the count, leaf's sibling first.
 * O(size) hashing. QC_OK, or QC_ERR_RANGE if index >= size or size > MERKLE_SIZE_MAX. */
int merkle_inclusion_proof(const qc_hash_t *leaf_hashes, uint64_t size, uint64_t index,
                           qc_hash_t *path, size_t *path_len);

/* Consistency proof (RFC 6962 §2.1.2) between the trees of the first size1 and size2 leaf
 * hashes (leaf_hashes borrowed, at least size2 entries). proof is a caller array of
 * MERKLE_PROOF_MAX hashes. The proof is empty when size1 == 0 or size1 == size2.
 * QC_OK, or QC_ERR_RANGE if size1 > size2 or size2 > MERKLE_SIZE_MAX. */
int merkle_consistency_proof(const qc_hash_t *leaf_hashes, uint64_t size1, uint64_t size2,
                             qc_hash_t *proof, size_t *proof_len);

/* RFC 9162 §2.1.3.2: does `path` prove leaf_hash is leaf `index` of the tree of `size` leaves
 * with this root? All pointers borrowed; path may be NULL when path_len == 0.
 * QC_OK if valid; QC_ERR_RANGE if index >= size or size > MERKLE_SIZE_MAX; else
 * QC_ERR_INVALID (wrong length, wrong hash, wrong root; path_len > MERKLE_PATH_MAX before any
 * hashing). */
int merkle_verify_inclusion(const qc_hash_t *leaf_hash, uint64_t index, uint64_t size,
                            const qc_hash_t *path, size_t path_len, const qc_hash_t *root);

/* RFC 9162 §2.1.4.2: is the tree (size2, root2) an append-only extension of (size1, root1)?
 * All pointers borrowed; proof may be NULL when proof_len == 0.
 * size1 == size2 is valid only with an empty proof and equal roots; size1 == 0 only with an
 * empty proof and root1 equal to the empty root (root2 is then unchecked: every tree extends
 * the empty tree). QC_OK if valid; QC_ERR_RANGE if
 * size1 > size2 (sizes going backwards) or size2 > MERKLE_SIZE_MAX; else QC_ERR_INVALID. */
int merkle_verify_consistency(uint64_t size1, uint64_t size2, const qc_hash_t *root1,
                              const qc_hash_t *root2, const qc_hash_t *proof, size_t proof_len);

/* ---- Building blocks shared with node/store/rlog.c (stored trees) ---------------------------- */

/* A node of the tree of `size` leaves: the leaves [begin, end). Every node is either a
 * complete subtree (end - begin a power of two 2^k and begin a multiple of it: stored at
 * level k, index begin >> k) or lies on the right edge (end == size). */
typedef struct {
    uint64_t begin;
    uint64_t end;
} merkle_range_t;

/* The nodes whose hashes form the audit path of `index` in the tree of `size` leaves, in
 * proof order (RFC 6962 §2.1.1). ranges is a caller array of MERKLE_PROOF_MAX.
 * At most one of them is not a complete subtree. QC_OK or QC_ERR_RANGE as
 * merkle_inclusion_proof. */
int merkle_inclusion_ranges(uint64_t index, uint64_t size, merkle_range_t *ranges,
                            size_t *count);

/* The nodes whose hashes form the consistency proof from size1 to size2, in proof order
 * (RFC 6962 §2.1.2). ranges is a caller array of MERKLE_PROOF_MAX. At most one of them is
 * not a complete subtree. QC_OK or QC_ERR_RANGE as merkle_consistency_proof. */
int merkle_consistency_ranges(uint64_t size1, uint64_t size2, merkle_range_t *ranges,
                              size_t *count);

/* Receives a complete subtree's hash as it is completed: (level, index) as in merkle_range_t.
 * Returns QC_OK or a negative error that aborts the append. h is borrowed for the call. */
typedef int (*merkle_subtree_cb)(void *ctx, uint32_t level, uint64_t index, const qc_hash_t *h);

/* The frontier of a tree of `size` leaves holds, for each set bit k of size, the hash of the
 * complete subtree of 2^k leaves on its right edge (level k, index (size >> k) - 1); other
 * entries are unused. Appends leaf hash `leaf` as leaf number `size`: calls cb (if not NULL)
 * for the leaf (level 0) and each subtree it completes, bottom up, then updates frontier.
 * If cb fails, returns its error and leaves frontier unchanged. The caller then owns
 * size + 1. Asserts size < MERKLE_SIZE_MAX. O(1) amortised: two hashes per append on average. */
int merkle_frontier_append(qc_hash_t frontier[MERKLE_LEVELS], uint64_t size,
                           const qc_hash_t *leaf, merkle_subtree_cb cb, void *ctx);

/* MTH of a tree of `size` leaves from its frontier alone (see merkle_frontier_append);
 * the empty root when size == 0. At most 63 hashes. */
void merkle_frontier_root(qc_hash_t *out, const qc_hash_t frontier[MERKLE_LEVELS],
                          uint64_t size);

#endif
