/* memlog.c - in-memory record-log store with counters and failure injection (memlog.h). */
#include "memlog.h"

#include <stdlib.h>
#include <string.h>

void memlog_init(memlog_t *m) { memset(m, 0, sizeof *m); }

void memlog_free(memlog_t *m) {
    for (uint32_t k = 0; k < MERKLE_LEVELS; k++) free(m->levels[k]);
    memlog_init(m);
}

static int grow_level(memlog_t *m, uint32_t level) {
    uint64_t cap = m->level_cap[level] == 0 ? 64 : 2 * m->level_cap[level];
    if (cap > SIZE_MAX / sizeof(qc_hash_t)) return QC_ERR_NOMEM;
    qc_hash_t *p = realloc(m->levels[level], (size_t)cap * sizeof(qc_hash_t));
    if (p == NULL) return QC_ERR_NOMEM;
    m->levels[level] = p;
    m->level_cap[level] = cap;
    return QC_OK;
}

int memlog_put(void *ctx, uint32_t level, uint64_t index, const qc_hash_t *h) {
    memlog_t *m = ctx;
    m->puts++;
    if (m->puts == m->fail_put_at) return m->fail_put_rc;
    if (level >= MERKLE_LEVELS) return QC_ERR_INVALID;
    if (index < m->level_len[level]) return QC_ERR_EXISTS;
    if (index > m->level_len[level]) return QC_ERR_INVALID;
    if (m->level_len[level] == m->level_cap[level]) {
        int rc = grow_level(m, level);
        if (rc != QC_OK) return rc;
    }
    m->levels[level][index] = *h;
    m->level_len[level]++;
    return QC_OK;
}

int memlog_get(void *ctx, uint32_t level, uint64_t index, qc_hash_t *out) {
    memlog_t *m = ctx;
    m->gets++;
    if (m->gets == m->fail_get_at) return m->fail_get_rc;
    if (level >= MERKLE_LEVELS || index >= m->level_len[level]) return QC_ERR_NOTFOUND;
    *out = m->levels[level][index];
    return QC_OK;
}

rlog_reader_t memlog_reader(memlog_t *m) { return (rlog_reader_t){memlog_get, m}; }

void memlog_truncate(memlog_t *m, uint64_t size) {
    for (uint32_t k = 0; k < MERKLE_LEVELS; k++) {
        uint64_t keep = size >> k;
        if (m->level_len[k] > keep) m->level_len[k] = keep;
    }
}
