/* merkle.c - RFC 6962 §2.1 Merkle Tree Hash, audit paths and consistency proofs, and the
 * RFC 9162 §2.1.3.2 / §2.1.4.2 verifiers; iterative, bounded, allocation-free. */
#include "merkle.h"
#include "sha256.h"

#include <string.h>

#include <sodium.h>

#define LEAF_PREFIX 0x00
#define NODE_PREFIX 0x01

void merkle_leaf_hash(qc_hash_t *out, const void *data, size_t len) {
    static const uint8_t prefix = LEAF_PREFIX;
    qc_sha256_state_t st;
    qc_sha256_init(&st);
    qc_sha256_update(&st, &prefix, 1);
    if (len > 0) qc_sha256_update(&st, data, (unsigned long long)len);
    qc_sha256_final(&st, out->b);
}

void merkle_node_hash(qc_hash_t *out, const qc_hash_t *l, const qc_hash_t *r) {
    uint8_t buf[1 + 2 * QC_HASH_BYTES];
    buf[0] = NODE_PREFIX;
    memcpy(buf + 1, l->b, QC_HASH_BYTES);
    memcpy(buf + 1 + QC_HASH_BYTES, r->b, QC_HASH_BYTES);
    qc_sha256(out, buf, sizeof buf);
}

void merkle_empty_root(qc_hash_t *out) { qc_sha256(out, "", 0); }

static bool hash_equal(const qc_hash_t *a, const qc_hash_t *b) {
    return memcmp(a->b, b->b, QC_HASH_BYTES) == 0;
}

/* Largest power of two strictly smaller than n (n >= 2): RFC 6962's split point k. */
static uint64_t split_point(uint64_t n) {
    QC_ASSERT(n >= 2);
    return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

/* ---- frontier: the complete subtrees on a tree's right edge ---------------------------- */

int merkle_frontier_append(qc_hash_t frontier[MERKLE_LEVELS], uint64_t size,
                           const qc_hash_t *leaf, merkle_subtree_cb cb, void *ctx) {
    QC_ASSERT(size < MERKLE_SIZE_MAX);
    qc_hash_t h = *leaf;
    uint32_t level = 0;
    uint64_t index = size;
    if (cb != NULL) {
        int rc = cb(ctx, 0, index, &h);
        if (rc != QC_OK) return rc;
    }
    /* Each set low bit of size is a complete subtree the new one merges with: a carry. */
    while ((index & 1) != 0) {
        QC_ASSERT(level + 1 < MERKLE_LEVELS);
        merkle_node_hash(&h, &frontier[level], &h);
        level++;
        index >>= 1;
        if (cb != NULL) {
            int rc = cb(ctx, level, index, &h);
            if (rc != QC_OK) return rc;
        }
    }
    /* Only now is frontier written: entries below `level` are no longer part of the
     * frontier of size + 1, so a failed callback above leaves it as it was. */
    frontier[level] = h;
    return QC_OK;
}

void merkle_frontier_root(qc_hash_t *out, const qc_hash_t frontier[MERKLE_LEVELS],
                          uint64_t size) {
    QC_ASSERT(size <= MERKLE_SIZE_MAX);
    if (size == 0) {
        merkle_empty_root(out);
        return;
    }
    /* The smallest subtree is the rightmost; fold leftwards: MTH splits at the largest
     * power of two, so each larger subtree is the left child of the fold so far. */
    uint32_t level = (uint32_t)__builtin_ctzll(size);
    qc_hash_t acc = frontier[level];
    for (level++; level < MERKLE_LEVELS; level++) {
        if ((size >> level) & 1) merkle_node_hash(&acc, &frontier[level], &acc);
    }
    *out = acc;
}

void merkle_root(qc_hash_t *out, const qc_hash_t *leaf_hashes, uint64_t n) {
    QC_ASSERT(n <= MERKLE_SIZE_MAX);
    qc_hash_t frontier[MERKLE_LEVELS];
    for (uint64_t i = 0; i < n; i++) {
        int rc = merkle_frontier_append(frontier, i, &leaf_hashes[i], NULL, NULL);
        QC_ASSERT(rc == QC_OK);
    }
    merkle_frontier_root(out, frontier, n);
}

/* ---- which nodes make up a proof (RFC 6962 §2.1.1, §2.1.2, iteratively) ----------------- */

/* The RFC's recursions walk from the root down and append each sibling after the recursive
 * part, so the proof lists nodes bottom-up: collect top-down, then reverse. */
static void reverse_ranges(merkle_range_t *ranges, size_t count) {
    for (size_t i = 0; i < count / 2; i++) {
        merkle_range_t t = ranges[i];
        ranges[i] = ranges[count - 1 - i];
        ranges[count - 1 - i] = t;
    }
}

/* One step of both recursions: from node [*begin, *end) to the child holding leaf `target`,
 * splitting at k = split_point(width); returns the other child, the sibling left behind. */
static merkle_range_t descend(uint64_t target, uint64_t *begin, uint64_t *end) {
    uint64_t k = *begin + split_point(*end - *begin);
    merkle_range_t sibling;
    if (target < k) {
        sibling = (merkle_range_t){k, *end};
        *end = k;
    } else {
        sibling = (merkle_range_t){*begin, k};
        *begin = k;
    }
    return sibling;
}

int merkle_inclusion_ranges(uint64_t index, uint64_t size, merkle_range_t *ranges,
                            size_t *count) {
    *count = 0;
    if (size > MERKLE_SIZE_MAX || index >= size) return QC_ERR_RANGE;
    /* PATH(m, D[n]) for n > 1: k = split_point(n); m < k: PATH(m, D[0:k]) : MTH(D[k:n]);
     * else PATH(m - k, D[k:n]) : MTH(D[0:k]); PATH of one leaf is empty. So: the siblings
     * on the way down to the leaf. Depth <= 63, so at most 63 nodes. */
    uint64_t begin = 0, end = size;
    size_t n_ranges = 0;
    while (end - begin > 1) {
        QC_ASSERT(n_ranges < MERKLE_PROOF_MAX);
        ranges[n_ranges++] = descend(index, &begin, &end);
    }
    reverse_ranges(ranges, n_ranges);
    *count = n_ranges;
    return QC_OK;
}

int merkle_consistency_ranges(uint64_t size1, uint64_t size2, merkle_range_t *ranges,
                              size_t *count) {
    *count = 0;
    if (size2 > MERKLE_SIZE_MAX || size1 > size2) return QC_ERR_RANGE;
    if (size1 == 0 || size1 == size2) return QC_OK;
    /* SUBPROOF(m, D[n], b): m == n: {} if b else {MTH(D[n])}; else k = split_point(n);
     * m <= k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n]);
     * m > k:  SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]).
     * In absolute positions "m <= k" is "leaf size1 - 1 lies left of the split", so this is
     * the walk down toward the old tree's last leaf, stopping at the first node that ends
     * where the old tree ends; b stays true while that walk has only gone left (the node is
     * then the old root itself, which the verifier knows). At most 63 steps plus the node. */
    uint64_t begin = 0, end = size2;
    size_t n_ranges = 0;
    while (end != size1) {
        QC_ASSERT(n_ranges < MERKLE_PROOF_MAX);
        ranges[n_ranges++] = descend(size1 - 1, &begin, &end);
    }
    if (begin != 0) {
        QC_ASSERT(n_ranges < MERKLE_PROOF_MAX);
        ranges[n_ranges++] = (merkle_range_t){begin, end};
    }
    reverse_ranges(ranges, n_ranges);
    *count = n_ranges;
    return QC_OK;
}

/* Hashes of in-memory nodes: each range is hashed from scratch, and the ranges of one proof
 * are disjoint, so a proof costs at most `size` hashes. */
static void hash_ranges(const qc_hash_t *leaf_hashes, const merkle_range_t *ranges,
                        size_t count, qc_hash_t *out) {
    for (size_t i = 0; i < count; i++) {
        merkle_root(&out[i], leaf_hashes + ranges[i].begin, ranges[i].end - ranges[i].begin);
    }
}

int merkle_inclusion_proof(const qc_hash_t *leaf_hashes, uint64_t size, uint64_t index,
                           qc_hash_t *path, size_t *path_len) {
    merkle_range_t ranges[MERKLE_PROOF_MAX];
    int rc = merkle_inclusion_ranges(index, size, ranges, path_len);
    if (rc == QC_OK) hash_ranges(leaf_hashes, ranges, *path_len, path);
    return rc;
}

int merkle_consistency_proof(const qc_hash_t *leaf_hashes, uint64_t size1, uint64_t size2,
                             qc_hash_t *proof, size_t *proof_len) {
    merkle_range_t ranges[MERKLE_PROOF_MAX];
    int rc = merkle_consistency_ranges(size1, size2, ranges, proof_len);
    if (rc == QC_OK) hash_ranges(leaf_hashes, ranges, *proof_len, proof);
    return rc;
}

/* ---- verification (RFC 9162) ------------------------------------------------------------ */

/* The shared step 2.1.3.2 (4b) / 2.1.4.2 (6b): after hashing in a left sibling at a node that
 * is not a right child (fn is even, so fn == sn: a right-edge node without a sibling), shift
 * until fn is odd or zero to skip the levels where the node was promoted unchanged. */
static void skip_promoted_levels(uint64_t *fn, uint64_t *sn) {
    while ((*fn & 1) == 0 && *fn != 0) {
        *fn >>= 1;
        *sn >>= 1;
    }
}

int merkle_verify_inclusion(const qc_hash_t *leaf_hash, uint64_t index, uint64_t size,
                            const qc_hash_t *path, size_t path_len, const qc_hash_t *root) {
    /* 1. leaf_index >= tree_size fails. */
    if (size > MERKLE_SIZE_MAX || index >= size) return QC_ERR_RANGE;
    if (path_len > MERKLE_PATH_MAX) return QC_ERR_INVALID;
    /* 2-3. fn = leaf_index, sn = tree_size - 1, r = hash. */
    uint64_t fn = index, sn = size - 1;
    qc_hash_t r = *leaf_hash;
    /* 4. For each p in the path. */
    for (size_t i = 0; i < path_len; i++) {
        if (sn == 0) return QC_ERR_INVALID; /* 4a: more hashes than levels */
        if ((fn & 1) != 0 || fn == sn) {    /* 4b: p is a left sibling */
            merkle_node_hash(&r, &path[i], &r);
            skip_promoted_levels(&fn, &sn);
        } else {
            merkle_node_hash(&r, &r, &path[i]);
        }
        fn >>= 1; /* 4c */
        sn >>= 1;
    }
    /* 5. sn must be 0 (the path reached the root) and r must be the root. */
    return (sn == 0 && hash_equal(&r, root)) ? QC_OK : QC_ERR_INVALID;
}

int merkle_verify_consistency(uint64_t size1, uint64_t size2, const qc_hash_t *root1,
                              const qc_hash_t *root2, const qc_hash_t *proof, size_t proof_len) {
    if (size2 > MERKLE_SIZE_MAX || size1 > size2) return QC_ERR_RANGE;
    if (size1 == size2) {
        return (proof_len == 0 && hash_equal(root1, root2)) ? QC_OK : QC_ERR_INVALID;
    }
    if (size1 == 0) {
        qc_hash_t empty;
        merkle_empty_root(&empty);
        return (proof_len == 0 && hash_equal(root1, &empty)) ? QC_OK : QC_ERR_INVALID;
    }
    /* 1. An empty path fails. */
    if (proof_len == 0 || proof_len > MERKLE_PROOF_MAX) return QC_ERR_INVALID;
    /* 2. If first is an exact power of 2, the old root is the proof's implicit first node. */
    bool prepend = (size1 & (size1 - 1)) == 0;
    size_t i = 0;
    const qc_hash_t *first = prepend ? root1 : &proof[i++];
    /* 3-4. fn = first - 1, sn = second - 1; shift while LSB(fn) is set. */
    uint64_t fn = size1 - 1, sn = size2 - 1;
    while ((fn & 1) != 0) {
        fn >>= 1;
        sn >>= 1;
    }
    /* 5. fr = sr = c[0]. */
    qc_hash_t fr = *first, sr = *first;
    /* 6. For each subsequent c. */
    for (; i < proof_len; i++) {
        if (sn == 0) return QC_ERR_INVALID; /* 6a */
        if ((fn & 1) != 0 || fn == sn) {    /* 6b: c is a left sibling in both trees */
            merkle_node_hash(&fr, &proof[i], &fr);
            merkle_node_hash(&sr, &proof[i], &sr);
            skip_promoted_levels(&fn, &sn);
        } else { /* c lies right of the old tree: only in the new one */
            merkle_node_hash(&sr, &sr, &proof[i]);
        }
        fn >>= 1; /* 6c */
        sn >>= 1;
    }
    /* 7. fr == first_hash, sr == second_hash, sn == 0. */
    return (sn == 0 && hash_equal(&fr, root1) && hash_equal(&sr, root2)) ? QC_OK
                                                                          : QC_ERR_INVALID;
}
