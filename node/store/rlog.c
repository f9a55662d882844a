/* rlog.c - the record log: appends through the frontier, proofs and past roots from stored
 * complete subtrees (see rlog.h and docs/MERKLE.md). */
#include "rlog.h"

#include <inttypes.h>
#include <string.h>

/* Reads complete subtree (level, index). Absent means the store lost a subtree the log's size
 * promises, so it is reported as corruption, naming the subtree. */
static int read_subtree(const rlog_reader_t *r, uint32_t level, uint64_t index, qc_hash_t *out) {
    int rc = r->get(r->ctx, level, index, out);
    QC_ASSERT(rc <= 0);
    if (rc == QC_ERR_NOTFOUND) {
        QC_ERROR("rlog: stored subtree (level %" PRIu32 ", index %" PRIu64 ") is missing",
                 level, index);
        return QC_ERR_CORRUPT;
    }
    if (rc != QC_OK) {
        QC_ERROR("rlog: reading subtree (level %" PRIu32 ", index %" PRIu64 "): %s", level,
                 index, qc_strerror(rc));
    }
    return rc;
}

/* Fills frontier[k], for each set bit k of len, with the complete subtree of 2^k leaves that
 * ends the range [end - len, end), where end - len is a multiple of the next power of two
 * above len: subtree (k, (end >> k) - 1). At most 63 reads. */
static int read_frontier(const rlog_reader_t *r, uint64_t end, uint64_t len,
                         qc_hash_t frontier[MERKLE_LEVELS]) {
    for (uint32_t k = 0; k < MERKLE_LEVELS; k++) {
        if (((len >> k) & 1) == 0) continue;
        int rc = read_subtree(r, k, (end >> k) - 1, &frontier[k]);
        if (rc != QC_OK) return rc;
    }
    return QC_OK;
}

/* Hash of a node of a tree (merkle_range_t): one read for a complete subtree; for a node on
 * the right edge, its complete subtrees (one per set bit of its width) folded together. */
static int read_node(const rlog_reader_t *r, merkle_range_t node, qc_hash_t *out) {
    QC_ASSERT(node.end > node.begin);
    uint64_t len = node.end - node.begin;
    if ((len & (len - 1)) == 0) {
        uint32_t level = (uint32_t)__builtin_ctzll(len);
        QC_ASSERT((node.begin & (len - 1)) == 0);
        return read_subtree(r, level, node.begin >> level, out);
    }
    uint32_t top = 63u - (uint32_t)__builtin_clzll(len); /* < 63: len is no power of two */
    QC_ASSERT((node.begin & ((UINT64_C(2) << top) - 1)) == 0);
    qc_hash_t frontier[MERKLE_LEVELS];
    int rc = read_frontier(r, node.end, len, frontier);
    if (rc == QC_OK) merkle_frontier_root(out, frontier, len);
    return rc;
}

static int read_nodes(const rlog_reader_t *r, const merkle_range_t *nodes, size_t count,
                      qc_hash_t *out) {
    for (size_t i = 0; i < count; i++) {
        int rc = read_node(r, nodes[i], &out[i]);
        if (rc != QC_OK) return rc;
    }
    return QC_OK;
}

int rlog_open(rlog_t *log, uint64_t size, const rlog_reader_t *r) {
    memset(log, 0, sizeof *log);
    if (size > MERKLE_SIZE_MAX) return QC_ERR_RANGE;
    int rc = read_frontier(r, size, size, log->frontier);
    if (rc != QC_OK) {
        memset(log, 0, sizeof *log);
        return rc;
    }
    log->size = size;
    return QC_OK;
}

int rlog_append(rlog_t *log, const qc_hash_t *leaf_hash, rlog_put_fn put, void *put_ctx) {
    if (log->size >= MERKLE_SIZE_MAX) return QC_ERR_FULL;
    int rc = merkle_frontier_append(log->frontier, log->size, leaf_hash, put, put_ctx);
    QC_ASSERT(rc <= 0);
    if (rc != QC_OK) return rc;
    log->size++;
    return QC_OK;
}

void rlog_root(const rlog_t *log, qc_hash_t *out) {
    merkle_frontier_root(out, log->frontier, log->size);
}

int rlog_root_at(const rlog_reader_t *r, uint64_t size, qc_hash_t *out) {
    if (size > MERKLE_SIZE_MAX) return QC_ERR_RANGE;
    if (size == 0) {
        merkle_empty_root(out);
        return QC_OK;
    }
    return read_node(r, (merkle_range_t){0, size}, out);
}

/* Reads the nodes a proof plan names into out; *out_len is the count, or 0 on any error. */
static int read_proof(const rlog_reader_t *r, int plan_rc, const merkle_range_t *nodes,
                      size_t count, qc_hash_t *out, size_t *out_len) {
    *out_len = 0;
    int rc = plan_rc == QC_OK ? read_nodes(r, nodes, count, out) : plan_rc;
    if (rc == QC_OK) *out_len = count;
    return rc;
}

int rlog_inclusion_proof(const rlog_reader_t *r, uint64_t index, uint64_t size,
                         qc_hash_t *path, size_t *path_len) {
    merkle_range_t nodes[MERKLE_PROOF_MAX];
    size_t count;
    int rc = merkle_inclusion_ranges(index, size, nodes, &count);
    return read_proof(r, rc, nodes, count, path, path_len);
}

int rlog_consistency_proof(const rlog_reader_t *r, uint64_t size1, uint64_t size2,
                           qc_hash_t *proof, size_t *proof_len) {
    merkle_range_t nodes[MERKLE_PROOF_MAX];
    size_t count;
    int rc = merkle_consistency_ranges(size1, size2, nodes, &count);
    return read_proof(r, rc, nodes, count, proof, proof_len);
}

/* The walk of rlog_range_hashes over node [s, s + n) at depth `depth`. */
typedef struct {
    const rlog_reader_t *r;
    uint64_t lo, hi;
    qc_hash_t *out;
    size_t cap, count;
} range_walk_t;

static int range_walk(range_walk_t *w, uint64_t s, uint64_t n, unsigned depth) {
    QC_ASSERT(depth < MERKLE_LEVELS && n > 0);
    if (s + n <= w->lo || s >= w->hi) {
        if (w->count >= w->cap) return QC_ERR_TOOBIG;
        int rc = read_node(w->r, (merkle_range_t){s, s + n}, &w->out[w->count]);
        if (rc == QC_OK) w->count++;
        return rc;
    }
    if (n == 1) return QC_OK; /* a leaf of the range: the proof carries it */
    uint64_t m = UINT64_C(1) << (63 - __builtin_clzll(n - 1)); /* largest power of 2 < n */
    int rc = range_walk(w, s, m, depth + 1);
    return rc == QC_OK ? range_walk(w, s + m, n - m, depth + 1) : rc;
}

int rlog_range_hashes(const rlog_reader_t *r, uint64_t size, uint64_t lo, uint64_t hi,
                      qc_hash_t *out, size_t cap, size_t *count) {
    *count = 0;
    if (size > MERKLE_SIZE_MAX) return QC_ERR_RANGE;
    if (lo >= hi || hi > size) return QC_ERR_RANGE;
    range_walk_t w = {r, lo, hi, out, cap, 0};
    int rc = range_walk(&w, 0, size, 0);
    if (rc == QC_OK) *count = w.count;
    return rc;
}
