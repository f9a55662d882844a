/* compact.c - compact proposals (compact.h): CompactBlock encoding and the rebuild of a block
 * from the transactions a backup holds. */
#include "compact.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wire.pb-c.h"

static bool among(const qc_hash_t *id, const qc_hash_t *set, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(id->b, set[i].b, QC_HASH_BYTES) == 0) return true;
    return false;
}

int compact_encode(const qc_block_t *b, uint8_t **out, size_t *len) {
    return compact_encode_with(b, NULL, 0, out, len);
}

int compact_encode_with(const qc_block_t *b, const qc_hash_t *whole, size_t whole_n,
                        uint8_t **out, size_t *len) {
    uint8_t hdr[QC_HEADER_BYTES_MAX];
    size_t hlen;
    int rc = qc_header_encode(&b->header, hdr, sizeof hdr, &hlen);
    if (rc != QC_OK) return rc;
    uint32_t n = b->tx_count;
    Qchain__Wire__CompactTx *txs = calloc(n ? n : 1, sizeof *txs);
    Qchain__Wire__CompactTx **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    uint8_t **bodies = calloc(n ? n : 1, sizeof *bodies);
    if (txs == NULL || ptrs == NULL || bodies == NULL) {
        free(txs); free(ptrs); free(bodies);
        return QC_ERR_NOMEM;
    }
    rc = QC_OK;
    for (uint32_t i = 0; i < n && rc == QC_OK; i++) {
        qchain__wire__compact_tx__init(&txs[i]);
        ptrs[i] = &txs[i];
        if (whole_n > 0 && among(&b->txs[i].id, whole, whole_n)) {
            rc = qc_tx_encode(&b->txs[i], &bodies[i], &txs[i].tx.len);
            txs[i].tx.data = bodies[i];
        } else {
            txs[i].id.data = (uint8_t *)b->txs[i].id.b;
            txs[i].id.len = QC_HASH_BYTES;
        }
    }
    if (rc != QC_OK) {
        for (uint32_t i = 0; i < n; i++) free(bodies[i]);
        free(bodies); free(txs); free(ptrs);
        return rc;
    }
    Qchain__Wire__CompactBlock m = QCHAIN__WIRE__COMPACT_BLOCK__INIT;
    m.header.data = hdr;
    m.header.len = hlen;
    m.n_txs = n;
    m.txs = ptrs;
    *len = qchain__wire__compact_block__get_packed_size(&m);
    *out = malloc(*len ? *len : 1);
    rc = *out ? QC_OK : QC_ERR_NOMEM;
    if (rc == QC_OK) qchain__wire__compact_block__pack(&m, *out);
    for (uint32_t i = 0; i < n; i++) free(bodies[i]);
    free(bodies);
    free(txs);
    free(ptrs);
    return rc;
}

int compact_digest(const uint8_t *buf, size_t len, qc_hash_t *out) {
    Qchain__Wire__CompactBlock *m = qchain__wire__compact_block__unpack(NULL, len, buf);
    if (m == NULL) return QC_ERR_INVALID;
    qc_header_t h;
    int rc = qc_header_decode(m->header.data, m->header.len, &h) == QC_OK ? QC_OK : QC_ERR_INVALID;
    if (rc == QC_OK) qc_header_hash(&h, out);
    qchain__wire__compact_block__free_unpacked(m, NULL);
    return rc;
}

/* Transaction i of m into *tx (owned): decoded from the message, or cloned from lookup. Returns
 * QC_OK, QC_ERR_NOTFOUND (not held), QC_ERR_INVALID or QC_ERR_NOMEM. */
static int entry(const Qchain__Wire__CompactTx *e, const char *chain_id, compact_lookup_fn lookup,
                 void *ctx, qc_tx_t *tx) {
    bool has_id = e->id.len > 0, has_tx = e->tx.len > 0;
    if (has_id == has_tx) return QC_ERR_INVALID;
    int rc;
    if (has_tx) {
        rc = qc_tx_decode(e->tx.data, e->tx.len, tx);
        if (rc == QC_ERR_NOMEM) return rc;
        if (rc != QC_OK) return QC_ERR_INVALID;
    } else {
        if (e->id.len != QC_HASH_BYTES) return QC_ERR_INVALID;
        qc_hash_t id;
        memcpy(id.b, e->id.data, QC_HASH_BYTES);
        const qc_tx_t *have = lookup(ctx, &id);
        if (have == NULL) return QC_ERR_NOTFOUND;
        rc = qc_tx_clone(have, tx);
        if (rc != QC_OK) return rc == QC_ERR_NOMEM ? rc : QC_ERR_INVALID;
    }
    if (strcmp(tx->chain_id, chain_id) != 0) { qc_tx_free(tx); return QC_ERR_INVALID; }
    return QC_OK;
}

int compact_rebuild(const uint8_t *buf, size_t len, const qc_hash_t *digest,
                    compact_lookup_fn lookup, void *ctx, qc_block_t *out, uint32_t *missing) {
    return compact_rebuild_ids(buf, len, digest, lookup, ctx, out, missing, NULL, 0);
}

int compact_rebuild_ids(const uint8_t *buf, size_t len, const qc_hash_t *digest,
                        compact_lookup_fn lookup, void *ctx, qc_block_t *out, uint32_t *missing,
                        qc_hash_t *ids, uint32_t ids_cap) {
    memset(out, 0, sizeof *out);
    *missing = 0;
    Qchain__Wire__CompactBlock *m = qchain__wire__compact_block__unpack(NULL, len, buf);
    if (m == NULL) return QC_ERR_INVALID;
    qc_block_t b = {0};
    int rc = qc_header_decode(m->header.data, m->header.len, &b.header);
    if (rc == QC_OK) {
        qc_hash_t h;
        qc_header_hash(&b.header, &h);
        if (sodium_memcmp(h.b, digest->b, QC_HASH_BYTES) != 0) rc = QC_ERR_INVALID;
    } else if (rc != QC_ERR_NOMEM) {
        rc = QC_ERR_INVALID;
    }
    if (rc == QC_OK && (m->n_txs != b.header.tx_count || m->n_txs > QC_BLOCK_TXS_MAX))
        rc = QC_ERR_INVALID;
    if (rc == QC_OK && m->n_txs > 0 && (b.txs = calloc(m->n_txs, sizeof *b.txs)) == NULL)
        rc = QC_ERR_NOMEM;
    /* Every entry is read, so a malformed one anywhere is malformed, and *missing counts all. */
    for (size_t i = 0; rc == QC_OK && i < m->n_txs; i++) {
        int erc = entry(m->txs[i], b.header.chain_id, lookup, ctx, &b.txs[b.tx_count]);
        if (erc == QC_ERR_NOTFOUND) {
            if (*missing < ids_cap) memcpy(ids[*missing].b, m->txs[i]->id.data, QC_HASH_BYTES);
            (*missing)++;
            continue;
        }
        if (erc != QC_OK) { rc = erc; break; }
        b.tx_count++;
    }
    if (rc == QC_OK && *missing == 0) {
        qc_hash_t root;
        rc = qc_block_tx_root(&b, &root);
        if (rc == QC_OK && sodium_memcmp(root.b, b.header.tx_root.b, QC_HASH_BYTES) != 0)
            rc = QC_ERR_NOTFOUND; /* another signature under a held id: fetch the body */
    } else if (rc == QC_OK) {
        rc = QC_ERR_NOTFOUND;
    }
    qchain__wire__compact_block__free_unpacked(m, NULL);
    if (rc != QC_OK) {
        if (rc != QC_ERR_NOTFOUND) *missing = 0;
        qc_block_free(&b);
        return rc;
    }
    *out = b;
    return QC_OK;
}
