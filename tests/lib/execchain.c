/* execchain.c - blocks built, checked and committed through exec for unit tests (see
 * execchain.h). */
#include "execchain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)

void execchain_init(execchain_t *c, const char *chain_id, const qc_hash_t *genesis_hash,
                    const qc_validator_set_t *vs, execchain_commit_fn commit, void *commit_ctx) {
    memset(c, 0, sizeof *c);
    c->commit = commit;
    c->commit_ctx = commit_ctx;
    c->chain_id = chain_id;
    c->genesis_hash = genesis_hash;
    c->vs = *vs;
    c->time_ms = 2000000;
}

static bool seen(void *ctx, const qc_hash_t *id) {
    const execchain_t *c = ctx;
    for (size_t i = 0; i < c->n_ids; i++)
        if (memcmp(c->ids[i].b, id->b, 32) == 0) return true;
    return false;
}

exec_parent_t execchain_parent(execchain_t *c) {
    /* the state map: empty below every block (state NULL), the same for build and check */
    exec_parent_t p = {.chain_id = c->chain_id, .genesis_hash = c->genesis_hash,
                       .validators = &c->vs, .height = c->height, .hash = c->hash,
                       .time_ms = c->time_ms, .log = &c->log, .seen = seen, .seen_ctx = c,
                       .records = c->records, .records_ctx = c->records_ctx,
                       .shares = c->shares, .shares_ctx = c->shares_ctx};
    return p;
}

static exec_check_t check_for(const qc_block_t *b) {
    exec_check_t chk = {b->header.view, b->header.proposer, b->header.time_ms, 30000, NULL};
    return chk;
}

/* Commits the built block b (rlog after it: log_after) to c; *mask as execchain_step's. */
static int commit(execchain_t *c, const qc_block_t *b, const rlog_t *log_after,
                  const qc_tx_t *txs, uint32_t n, uint32_t *mask, char *why, size_t why_cap) {
    uint64_t log_index = c->log.size;
    for (uint32_t t = 0; t < b->tx_count; t++) {
        int rc = c->commit ? c->commit(c->commit_ctx, &b->txs[t], &c->vs, b->header.height,
                                       log_index) : QC_OK;
        if (rc != QC_OK) { WHY("commit of tx %u: %s", t, qc_strerror(rc)); return rc; }
        if (c->n_ids == EXECCHAIN_TXS_MAX) { WHY("more than %d txs", EXECCHAIN_TXS_MAX); return QC_ERR_FULL; }
        log_index += b->txs[t].record_count;
        c->ids[c->n_ids++] = b->txs[t].id;
        for (uint32_t i = 0; i < n; i++)
            if (memcmp(txs[i].id.b, b->txs[t].id.b, 32) == 0) *mask |= 1u << i;
    }
    c->height = b->header.height;
    qc_header_hash(&b->header, &c->hash);
    c->time_ms = b->header.time_ms;
    c->log = *log_after;
    return QC_OK;
}

int execchain_step(execchain_t *c, qc_tx_t *txs, uint32_t n, uint32_t *mask, char *why,
                   size_t why_cap) {
    const qc_tx_t *ptrs[EXECCHAIN_BLOCK_TXS_MAX];
    *mask = 0;
    int rc = n <= EXECCHAIN_BLOCK_TXS_MAX ? QC_OK : QC_ERR_TOOBIG;
    for (uint32_t i = 0; i < n && rc == QC_OK; i++) ptrs[i] = &txs[i];
    exec_parent_t p = execchain_parent(c);
    qc_block_t b;
    rlog_t log_after, log_chk;
    memset(&b, 0, sizeof b);
    if (rc == QC_OK) rc = exec_build(&p, ptrs, n, c->time_ms + 1, 0, 0, &b, &log_after, NULL, NULL);
    if (rc != QC_OK) WHY("the primary could not build: %s", qc_strerror(rc));
    exec_check_t chk = check_for(&b);
    if (rc == QC_OK) rc = exec_check(&b, &p, &chk, &log_chk, NULL, NULL, NULL, why, why_cap);
    if (rc == QC_OK) rc = commit(c, &b, &log_after, txs, n, mask, why, why_cap);
    qc_block_free(&b);
    for (uint32_t i = 0; i < n; i++) qc_tx_free(&txs[i]);
    return rc;
}

int execchain_check_crafted(execchain_t *c, qc_tx_t *txs, uint32_t n, char *why, size_t why_cap) {
    exec_parent_t p = execchain_parent(c);
    qc_block_t b;
    rlog_t log_after;
    int rc = exec_build(&p, NULL, 0, c->time_ms + 1, 0, 0, &b, &log_after, NULL, NULL);
    if (rc == QC_OK && n > 0 && (b.txs = calloc(n, sizeof *b.txs)) == NULL) rc = QC_ERR_NOMEM;
    for (uint32_t i = 0; i < n && rc == QC_OK; i++) {
        rc = qc_tx_clone(&txs[i], &b.txs[i]);
        if (rc == QC_OK) b.tx_count++;
    }
    exec_check_t chk = check_for(&b);
    if (rc == QC_OK) rc = exec_check(&b, &p, &chk, &log_after, NULL, NULL, NULL, why, why_cap);
    else WHY("could not craft the block: %s", qc_strerror(rc));
    qc_block_free(&b);
    for (uint32_t i = 0; i < n; i++) qc_tx_free(&txs[i]);
    return rc;
}
