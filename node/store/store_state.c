/* store_state.c - the store's resident state map (docs/MERKLE.md §8, PROTOCOL §12): built from
 * the ledger at open, read for roots and proofs. The map is derived state: every status in it
 * comes from the stored blocks and the stored statuses, so it is never written to LevelDB and
 * a crash cannot leave it inconsistent with the ledger. */
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "recstat.h"
#include "store_impl.h"

#define REBUILD_BATCH_MAX (1u << 20) /* updates applied to the map at once while rebuilding */

smap_reader_t store_state_reader(store_t *s) {
    QC_ASSERT(s->state != NULL);
    return smap_mem_reader(s->state);
}

int store_state_root(store_t *s, qc_hash_t *root) {
    if (s->state_stale) return s->state_broken != QC_OK ? s->state_broken : QC_ERR_CORRUPT;
    smap_reader_t r = store_state_reader(s);
    return smap_root(&r, root);
}

int store_state_prove(store_t *s, const uint8_t digest[32], smt_proof_t *p) {
    if (s->state_stale) return s->state_broken != QC_OK ? s->state_broken : QC_ERR_CORRUPT;
    smap_reader_t r = store_state_reader(s);
    qc_hash_t key;
    smt_map_key(&key, digest);
    return smap_prove(&r, &key, p);
}

int store_state_writes_root(store_t *s, const smap_writes_t *ws, qc_hash_t *root) {
    if (ws->n == 0) return store_state_root(s, root); /* a block without records */
    const smap_write_t *top = &ws->w[ws->n - 1]; /* parents after children: the top is last */
    if (top->pos.depth != 0) return QC_ERR_INVALID;
    smap_top_root(&top->node, root);
    return QC_OK;
}

/* Applies and commits what sb holds to m. */
static int flush(smap_mem_t *m, sblock_t *sb, smap_writes_t *ws) {
    smap_reader_t r = smap_mem_reader(m);
    qc_hash_t root;
    smap_writes_reset(ws);
    int rc = sblock_finish(sb, &r, ws, &root);
    if (rc == QC_OK) rc = smap_mem_commit(m, ws);
    sblock_reset(sb);
    return rc;
}

/* Every record's first anchoring, block by block, and the city logs' frontiers (*clogs) with
 * their final heads. */
static int rebuild_anchors(store_t *s, smap_mem_t *m, sblock_t *sb, smap_writes_t *ws,
                           clog_set_t *clogs) {
    qc_validator_set_t *vs = malloc(sizeof *vs);
    if (vs == NULL) return QC_ERR_NOMEM;
    uint64_t vs_epoch = UINT64_MAX;
    int rc = QC_OK;
    for (uint64_t h = 1; h <= s->head.height && rc == QC_OK; h++) {
        qc_block_t b;
        qc_cert_t cert;
        rc = store_block_get(s, h, &b, &cert);
        if (rc != QC_OK) break;
        if (b.header.epoch != vs_epoch) {
            rc = store_validators(s, b.header.epoch, vs);
            vs_epoch = b.header.epoch;
        }
        uint64_t records = 0;
        for (uint32_t i = 0; i < b.tx_count; i++) records += b.txs[i].record_count;
        uint64_t log_index = b.header.log_size - records;
        for (uint32_t i = 0; i < b.tx_count && rc == QC_OK; i++) {
            const qc_tx_t *tx = &b.txs[i];
            if (tx->type == QC_TX_ANCHOR) {
                int city = qc_validators_find_seal(vs, &tx->signer);
                if (city < 0) {
                    uint8_t k[SK_MAX_LEN];
                    rc = store_corrupt(k, sk_u64(k, SK_BLOCK, h), "an ANCHOR not signed by a "
                                       "member's seal key");
                    break;
                }
                rc = sblock_anchor(sb, tx, vs->members[city].name, h, log_index);
            }
            log_index += tx->record_count;
        }
        if (rc == QC_OK) rc = store_city_replay(clogs, &b, vs);
        qc_block_free(&b);
        if (rc == QC_OK && sb->n >= REBUILD_BATCH_MAX) rc = flush(m, sb, ws);
    }
    free(vs);
    if (rc == QC_OK) rc = clog_finish(clogs, sb);
    if (rc == QC_OK) rc = flush(m, sb, ws);
    return rc;
}

/* Every stored status (a lifecycle transaction changed it) replaces its fresh one. */
static int rebuild_statuses(store_t *s, smap_mem_t *m, sblock_t *sb, smap_writes_t *ws) {
    uint8_t seek = SK_STATUS;
    qc_recstat_t *st = malloc(sizeof *st);
    if (st == NULL) return QC_ERR_NOMEM;
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    int rc = QC_OK;
    for (leveldb_iter_seek(it, (const char *)&seek, 1); leveldb_iter_valid(it) && rc == QC_OK;
         leveldb_iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
        const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vlen);
        if (k[0] != SK_STATUS) break;
        if (klen != SK_HASH_LEN || vlen < 2 || v[0] != STORE_FORMAT_VERSION ||
            qc_recstat_decode(v + 1, vlen - 1, st) != QC_OK || memcmp(st->digest.b, k + 1, 32) != 0) {
            rc = store_corrupt(k, klen, "stored record status (%zu bytes) does not decode as "
                               "this digest's", vlen);
            break;
        }
        rc = sblock_set(sb, k + 1, v + 1, vlen - 1);
        if (rc == QC_OK && sb->n >= REBUILD_BATCH_MAX) rc = flush(m, sb, ws);
    }
    free(st);
    rc = store_iter_finish(it, rc, "reading the record statuses");
    if (rc == QC_OK) rc = flush(m, sb, ws);
    return rc;
}

int store_state_rebuild(store_t *s) {
    smap_mem_t *m;
    int rc = smap_mem_new(&m);
    if (rc != QC_OK) return rc;
    sblock_t sb = {0};
    smap_writes_t ws = {0};
    clog_set_t clogs = {0};
    rc = rebuild_anchors(s, m, &sb, &ws, &clogs);
    if (rc == QC_OK) rc = rebuild_statuses(s, m, &sb, &ws);
    sblock_free(&sb);
    smap_writes_free(&ws);
    qc_hash_t root = {{0}};
    smap_reader_t r = smap_mem_reader(m);
    if (rc == QC_OK) rc = smap_root(&r, &root);
    if (rc == QC_OK && s->head.height > 0) {
        qc_header_t h;
        rc = store_header_get(s, s->head.height, &h);
        if (rc == QC_OK && memcmp(h.state_root.b, root.b, QC_HASH_BYTES) != 0) {
            uint8_t k[SK_MAX_LEN];
            rc = store_corrupt(k, sk_u64(k, SK_BLOCK, s->head.height), "the state map rebuilt "
                               "from the blocks and statuses does not give the head's state root");
        }
    }
    if (rc != QC_OK) {
        smap_mem_free(m);
        clog_set_free(&clogs);
        return rc;
    }
    smap_mem_free(s->state);
    s->state = m;
    clog_set_free(&s->clogs);
    s->clogs = clogs;
    s->state_stale = false;
    return QC_OK;
}
