/* memlog.h - an in-memory record-log store for tests and benchmarks: one growable array of
 * complete-subtree hashes per level, with read/write counters and injectable failures. */
#ifndef QC_MEMLOG_H
#define QC_MEMLOG_H

#include "rlog.h"

typedef struct {
    qc_hash_t *levels[MERKLE_LEVELS]; /* owned; levels[k][j] = subtree (k, j) */
    uint64_t level_len[MERKLE_LEVELS];
    uint64_t level_cap[MERKLE_LEVELS];
    uint64_t gets;        /* get calls so far, failed ones included */
    uint64_t puts;        /* put calls so far, failed ones included */
    uint64_t fail_get_at; /* the get with this 1-based number fails with fail_get_rc; 0: none */
    int fail_get_rc;
    uint64_t fail_put_at; /* the put with this 1-based number fails with fail_put_rc; 0: none */
    int fail_put_rc;
} memlog_t;

/* An empty store. Never fails; memory is allocated by puts. */
void memlog_init(memlog_t *m);
/* Frees everything the store owns; *m is then an empty store again. */
void memlog_free(memlog_t *m);

/* rlog_put_fn for ctx = memlog_t *. Subtrees must arrive in order per level, each once:
 * QC_ERR_EXISTS for a rewrite, QC_ERR_INVALID for a gap, QC_ERR_NOMEM if growing fails. */
int memlog_put(void *ctx, uint32_t level, uint64_t index, const qc_hash_t *h);
/* rlog_reader_t.get for ctx = memlog_t *: QC_ERR_NOTFOUND for a subtree never put. */
int memlog_get(void *ctx, uint32_t level, uint64_t index, qc_hash_t *out);
/* A reader over m (borrowed: m must outlive it). */
rlog_reader_t memlog_reader(memlog_t *m);

/* Discards every subtree not part of a log of `size` leaves, as a store discards a failed
 * batch: level k keeps its first size >> k entries. */
void memlog_truncate(memlog_t *m, uint64_t size);

#endif
