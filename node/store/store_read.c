/* store_read.c - the ledger store's reads: blocks, indexes, record log and membership.
 * Every value read is checked (version byte, length, fields against the key and the head,
 * and where cheap against what it points at) before it is returned; see docs/STORAGE.md. */
#include <leveldb/c.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "store_impl.h"

static bool height_valid(const store_t *s, uint64_t height) {
    return height >= 1 && height <= s->head.height;
}

/* Loads block `height` (decoded into *b, caller frees) and optionally a malloc'd copy of its
 * envelope. The envelope must decode and carry the header stored in front of it. */
/* The stored value of block `height`: its key, the value (caller leveldb_frees), the header
 * stored in front of the envelope and the envelope's offset. */
static int block_value(store_t *s, uint64_t height, uint8_t k[SK_MAX_LEN], size_t *klen,
                       char **val, size_t *vlen, qc_header_t *h, size_t *off) {
    *klen = sk_u64(k, SK_BLOCK, height);
    *off = 0;
    int rc = store_get(s, k, *klen, val, vlen);
    if (rc == QC_ERR_NOTFOUND) return store_corrupt(k, *klen, "missing below the head");
    if (rc != QC_OK) return rc;
    rc = store_header_parse(k, *klen, *val, *vlen, height, h, off);
    if (rc != QC_OK) leveldb_free(*val);
    return rc;
}

static int block_load(store_t *s, uint64_t height, qc_block_t *b, uint8_t **raw,
                      size_t *raw_len) {
    uint8_t k[SK_MAX_LEN];
    size_t klen, vlen, off;
    qc_header_t h;
    char *val;
    int rc = block_value(s, height, k, &klen, &val, &vlen, &h, &off);
    if (rc != QC_OK) return rc;
    const uint8_t *env = (const uint8_t *)val + off;
    size_t env_len = vlen - off;
    if (qc_block_decode(env, env_len, b) != QC_OK)
        rc = store_corrupt(k, klen, "block envelope (%zu bytes) does not decode", env_len);
    qc_hash_t a, c;
    qc_header_hash(&h, &a);
    if (rc == QC_OK) qc_header_hash(&b->header, &c);
    if (rc == QC_OK && memcmp(a.b, c.b, 32) != 0)
        rc = store_corrupt(k, klen, "envelope header differs from the stored header");
    if (rc == QC_OK && raw != NULL) {
        *raw = malloc(env_len ? env_len : 1);
        if (*raw == NULL) rc = QC_ERR_NOMEM;
        else { memcpy(*raw, env, env_len); *raw_len = env_len; }
    }
    if (rc != QC_OK) qc_block_free(b);
    leveldb_free(val);
    return rc;
}

/* Loads the header and a copy of transaction `index` of durable block `height`, from the
 * store's cached block (store_cached_block: loaded, and its envelope checked against the
 * stored header, when another block is cached). A receipt reads the block's records and then
 * its transaction; each used to read and unpack the whole stored block, which with blocks of
 * a megabyte was most of a lookup's time. */
static int block_tx_load(store_t *s, uint64_t height, uint32_t index, qc_header_t *hdr,
                         qc_tx_t *tx) {
    const qc_block_t *b;
    int rc = store_cached_block(s, height, &b);
    if (rc != QC_OK) return rc;
    if (index >= b->tx_count) {
        uint8_t k[SK_MAX_LEN];
        return store_corrupt(k, sk_u64(k, SK_BLOCK, height), "has no transaction %u", index);
    }
    *hdr = b->header;
    return qc_tx_clone(&b->txs[index], tx);
}

/* Loads block `height`'s certificate, which must name that height and block_hash. */
static int cert_load(store_t *s, uint64_t height, const qc_hash_t *block_hash, qc_cert_t *c,
                     uint8_t **raw, size_t *raw_len) {
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_u64(k, SK_CERT, height);
    char *val;
    size_t vlen;
    int rc = store_get(s, k, klen, &val, &vlen);
    if (rc == QC_ERR_NOTFOUND) return store_corrupt(k, klen, "missing for a stored block");
    if (rc != QC_OK) return rc;
    rc = store_check_value(k, klen, val, vlen, 5);
    if (rc == QC_OK && qc_get_u32((const uint8_t *)val + 1) != vlen - 5)
        rc = store_corrupt(k, klen, "%zu-byte value, its envelope length says %u", vlen,
                           5 + qc_get_u32((const uint8_t *)val + 1));
    if (rc == QC_OK && qc_cert_decode((const uint8_t *)val + 5, vlen - 5, c) != QC_OK)
        rc = store_corrupt(k, klen, "certificate does not decode");
    if (rc == QC_OK && (c->height != height || memcmp(c->block_hash.b, block_hash->b, 32)))
        rc = store_corrupt(k, klen, "certificate is for another block (height %llu)",
                           (unsigned long long)c->height);
    if (rc == QC_OK && raw != NULL) {
        *raw = malloc(vlen - 5 ? vlen - 5 : 1);
        if (*raw == NULL) rc = QC_ERR_NOMEM;
        else { memcpy(*raw, val + 5, vlen - 5); *raw_len = vlen - 5; }
    }
    leveldb_free(val);
    return rc;
}

static int block_and_cert(store_t *s, uint64_t height, qc_block_t *b, uint8_t **braw,
                          size_t *braw_len, qc_cert_t *c, uint8_t **craw, size_t *craw_len) {
    if (!height_valid(s, height)) return QC_ERR_NOTFOUND;
    int rc = block_load(s, height, b, braw, braw_len);
    if (rc != QC_OK || (c == NULL && craw == NULL)) return rc;
    qc_hash_t hash;
    qc_header_hash(&b->header, &hash);
    qc_cert_t tmp;
    rc = cert_load(s, height, &hash, c ? c : &tmp, craw, craw_len);
    if (rc != QC_OK) {
        qc_block_free(b);
        if (braw != NULL) { free(*braw); *braw = NULL; }
    }
    return rc;
}

static int read_block_raw(store_t *s, uint64_t height, uint8_t **block, size_t *block_len,
                    uint8_t **cert, size_t *cert_len) {
    QC_ASSERT((block == NULL) == (block_len == NULL));
    QC_ASSERT((cert == NULL) == (cert_len == NULL));
    qc_block_t b;
    int rc = block_and_cert(s, height, &b, block, block_len, NULL, cert, cert_len);
    if (rc == QC_OK) qc_block_free(&b);
    return rc;
}

static int read_block_get(store_t *s, uint64_t height, qc_block_t *block, qc_cert_t *cert) {
    QC_ASSERT(block != NULL);
    memset(block, 0, sizeof *block);
    return block_and_cert(s, height, block, NULL, NULL, cert, NULL, NULL);
}

static int read_header_get(store_t *s, uint64_t height, qc_header_t *out) {
    QC_ASSERT(out != NULL);
    if (!height_valid(s, height)) return QC_ERR_NOTFOUND;
    return store_header_read(s, height, out);
}

/* Reads a u64-height value at key k; the height must be a stored block. */
static int indexed_height(store_t *s, const uint8_t *k, size_t klen, uint8_t *v, size_t vlen,
                          uint64_t *height) {
    int rc = store_get_fixed(s, k, klen, v, vlen);
    if (rc != QC_OK) return rc;
    *height = qc_get_u64(v + 1);
    if (!height_valid(s, *height))
        return store_corrupt(k, klen, "points at height %llu; the head is %llu",
                             (unsigned long long)*height, (unsigned long long)s->head.height);
    return QC_OK;
}

static int read_height_by_hash(store_t *s, const qc_hash_t *hash, uint64_t *height) {
    QC_ASSERT(hash != NULL && height != NULL);
    uint8_t k[SK_MAX_LEN], v[SV_HEIGHT_LEN];
    size_t klen = sk_hash(k, SK_HASH, hash->b);
    int rc = indexed_height(s, k, klen, v, sizeof v, height);
    if (rc != QC_OK) return rc;
    qc_header_t h;
    rc = store_header_read(s, *height, &h);
    if (rc == QC_ERR_NOTFOUND) rc = store_corrupt(k, klen, "its block is missing");
    qc_hash_t got;
    if (rc == QC_OK) qc_header_hash(&h, &got);
    if (rc == QC_OK && memcmp(got.b, hash->b, 32) != 0)
        rc = store_corrupt(k, klen, "block %llu has another hash", (unsigned long long)*height);
    return rc;
}

static int read_tx_find(store_t *s, const qc_hash_t *tx_id, store_tx_loc_t *out) {
    QC_ASSERT(tx_id != NULL && out != NULL);
    uint8_t k[SK_MAX_LEN], v[SV_TX_LEN];
    size_t klen = sk_hash(k, SK_TX, tx_id->b);
    int rc = indexed_height(s, k, klen, v, sizeof v, &out->height);
    if (rc != QC_OK) return rc;
    qc_header_t h;
    rc = store_header_read(s, out->height, &h);
    if (rc == QC_ERR_NOTFOUND) rc = store_corrupt(k, klen, "its block is missing");
    out->tx_index = qc_get_u32(v + 9);
    if (rc == QC_OK && out->tx_index >= h.tx_count)
        rc = store_corrupt(k, klen, "tx index %u, block %llu has %u txs", out->tx_index,
                           (unsigned long long)out->height, h.tx_count);
    return rc;
}

static int read_tx_get(store_t *s, const qc_hash_t *tx_id, store_tx_loc_t *loc, qc_tx_t *tx) {
    QC_ASSERT(tx != NULL);
    memset(tx, 0, sizeof *tx);
    int rc = store_tx_find(s, tx_id, loc);
    if (rc != QC_OK) return rc;
    qc_header_t h;
    rc = block_tx_load(s, loc->height, loc->tx_index, &h, tx);
    if (rc == QC_OK && memcmp(tx->id.b, tx_id->b, 32) != 0) {
        qc_tx_free(tx);
        uint8_t k[SK_MAX_LEN];
        rc = store_corrupt(k, sk_hash(k, SK_TX, tx_id->b), "block %llu tx %u has another id",
                           (unsigned long long)loc->height, loc->tx_index);
    }
    return rc;
}

static int read_block_tx(store_t *s, uint64_t height, uint32_t tx_index, qc_header_t *hdr,
                   qc_tx_t *tx, qc_cert_t *cert) {
    QC_ASSERT(hdr != NULL && tx != NULL && cert != NULL);
    memset(tx, 0, sizeof *tx);
    if (!height_valid(s, height)) return QC_ERR_NOTFOUND;
    int rc = block_tx_load(s, height, tx_index, hdr, tx);
    if (rc != QC_OK) return rc;
    qc_hash_t hash;
    qc_header_hash(hdr, &hash);
    rc = cert_load(s, height, &hash, cert, NULL, NULL);
    if (rc != QC_OK) qc_tx_free(tx);
    return rc;
}

int store_record_entry(store_t *s, const uint8_t *k, size_t klen, const char *val, size_t vlen,
                       store_record_loc_t *out) {
    int rc = store_check_value(k, klen, val, vlen, SV_RECORD_LEN);
    if (rc == QC_OK && (klen != SK_RECORD_LEN || vlen != SV_RECORD_LEN))
        rc = store_corrupt(k, klen, "entry is %zu/%zu bytes, expected %d/%d", klen, vlen,
                           SK_RECORD_LEN, SV_RECORD_LEN);
    if (rc != QC_OK) return rc;
    sv_record_decode((const uint8_t *)val, qc_get_u64(k + SK_MAPPED_LEN), out);
    if (!height_valid(s, out->height) || out->log_index >= s->head.log_size)
        return store_corrupt(k, klen, "height %llu / log index beyond the head",
                             (unsigned long long)out->height);
    rc = store_block_tx_id(s, out->height, out->tx_index, &out->tx_id);
    if (rc == QC_ERR_RANGE)
        return store_corrupt(k, klen, "names tx %u of block %llu, which has fewer",
                             out->tx_index, (unsigned long long)out->height);
    if (rc != QC_OK) return rc;
    qc_hash_t leaf, stored;
    qc_record_leaf_hash(out->height, &out->tx_id, out->record_index, k + SK_DIGEST_AT, &leaf);
    rc = store_log_get(s, 0, out->log_index, &stored);
    if (rc == QC_OK && memcmp(leaf.b, stored.b, 32) != 0)
        rc = store_corrupt(k, klen, "does not match the record log's leaf");
    return rc;
}

static int read_record_list(store_t *s, const uint8_t digest[32], uint64_t from_log_index,
                      store_record_loc_t *out, size_t cap, size_t *n, bool *more) {
    QC_ASSERT(digest != NULL && out != NULL && n != NULL && more != NULL);
    QC_ASSERT(cap >= 1 && cap <= STORE_RECORD_LIST_MAX);
    *n = 0;
    *more = false;
    uint8_t seek[SK_MAX_LEN];
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    leveldb_iter_seek(it, (const char *)seek, sk_record(seek, digest, from_log_index));
    int rc = QC_OK;
    for (size_t i = 0; i <= cap && rc == QC_OK && leveldb_iter_valid(it); i++) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
        if (klen < SK_MAPPED_LEN || memcmp(k, seek, SK_MAPPED_LEN) != 0) break;
        if (i == cap) { *more = true; break; }
        if (klen != SK_RECORD_LEN) {
            rc = store_corrupt(k, klen, "record index key is %zu bytes", klen);
            break;
        }
        const char *v = leveldb_iter_value(it, &vlen);
        rc = store_record_entry(s, k, klen, v, vlen, &out[*n]);
        if (rc == QC_OK) (*n)++;
        leveldb_iter_next(it);
    }
    return store_iter_finish(it, rc, "listing a record's anchorings");
}

static int read_record_find(store_t *s, const uint8_t digest[32], store_record_loc_t *out) {
    size_t n;
    bool more;
    int rc = store_record_list(s, digest, 0, out, 1, &n, &more);
    if (rc == QC_OK && n == 0) rc = QC_ERR_NOTFOUND;
    return rc;
}

static int read_validators(store_t *s, uint64_t epoch, qc_validator_set_t *out);
static int read_epoch_at(store_t *s, uint64_t height, uint64_t *epoch);

/* The status of a digest no lifecycle transaction has touched, from its first anchoring: the
 * owner is the member whose seal key signed it, in the set in force at its height. */
static int derive_record_status(store_t *s, const uint8_t digest[32], qc_recstat_t *out) {
    store_record_loc_t loc;
    int rc = read_record_find(s, digest, &loc);
    if (rc != QC_OK) return rc;
    store_tx_loc_t tl;
    qc_tx_t tx;
    rc = read_tx_get(s, &loc.tx_id, &tl, &tx);
    if (rc == QC_ERR_NOTFOUND) rc = QC_ERR_CORRUPT; /* an indexed record's tx is stored */
    if (rc != QC_OK) return rc;
    uint64_t epoch;
    qc_validator_set_t *vs = malloc(sizeof *vs);
    rc = vs ? read_epoch_at(s, loc.height, &epoch) : QC_ERR_NOMEM;
    if (rc == QC_OK) rc = read_validators(s, epoch, vs);
    int city = rc == QC_OK ? qc_validators_find_seal(vs, &tx.signer) : -1;
    if (rc == QC_OK && city < 0) {
        QC_WARN("store: the first anchoring of a record at height %llu is not signed by a "
                "member's seal key", (unsigned long long)loc.height);
        rc = QC_ERR_CORRUPT;
    }
    if (rc == QC_OK)
        qc_recstat_fresh(out, digest, vs->members[city].name, loc.height, &loc.tx_id,
                         loc.log_index);
    free(vs);
    qc_tx_free(&tx);
    return rc;
}

/* The stored status ('S', written when a lifecycle transaction changed it), else the one its
 * first anchoring implies. */
static int read_record_status(store_t *s, const uint8_t digest[32], qc_recstat_t *out) {
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_status(k, digest);
    char *val;
    size_t vlen;
    int rc = store_get(s, k, klen, &val, &vlen);
    if (rc == QC_ERR_NOTFOUND) return derive_record_status(s, digest, out);
    if (rc != QC_OK) return rc;
    rc = store_check_value(k, klen, val, vlen, 2);
    if (rc == QC_OK && qc_recstat_decode((const uint8_t *)val + 1, vlen - 1, out) != QC_OK)
        rc = store_corrupt(k, klen, "stored status does not decode");
    if (rc == QC_OK && memcmp(out->digest.b, digest, 32) != 0)
        rc = store_corrupt(k, klen, "stored status is another digest's");
    leveldb_free(val);
    return rc;
}

void store_log_copy(const store_t *s, rlog_t *out) {
    QC_ASSERT(out != NULL);
    *out = s->log;
}

rlog_reader_t store_log_reader(store_t *s) {
    return (rlog_reader_t){.get = store_log_get, .ctx = s};
}

static int read_log_root_at(store_t *s, uint64_t size, qc_hash_t *out) {
    QC_ASSERT(out != NULL);
    if (size > s->head.log_size) return QC_ERR_RANGE;
    rlog_reader_t r = store_log_reader(s);
    return rlog_root_at(&r, size, out);
}

static int read_log_inclusion_proof(store_t *s, uint64_t index, uint64_t size, qc_hash_t *path,
                              size_t *len) {
    QC_ASSERT(path != NULL && len != NULL);
    *len = 0;
    if (size > s->head.log_size || index >= size) return QC_ERR_RANGE;
    rlog_reader_t r = store_log_reader(s);
    return rlog_inclusion_proof(&r, index, size, path, len);
}

static int read_log_consistency_proof(store_t *s, uint64_t size1, uint64_t size2, qc_hash_t *proof,
                                size_t *len) {
    QC_ASSERT(proof != NULL && len != NULL);
    *len = 0;
    if (size2 > s->head.log_size || size1 > size2) return QC_ERR_RANGE;
    rlog_reader_t r = store_log_reader(s);
    return rlog_consistency_proof(&r, size1, size2, proof, len);
}

static int read_validators(store_t *s, uint64_t epoch, qc_validator_set_t *out) {
    QC_ASSERT(out != NULL);
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_u64(k, SK_VALIDATORS, epoch);
    char *val;
    size_t vlen;
    int rc = store_get(s, k, klen, &val, &vlen);
    if (rc != QC_OK) return rc;
    rc = sv_validators_decode(k, klen, (const uint8_t *)val, vlen, out);
    leveldb_free(val);
    return rc;
}

/* The 'E' entry the iterator is on: *first gets its height (1..max_first), *epoch its
 * epoch. */
static int epoch_entry(leveldb_iterator_t *it, uint64_t max_first, uint64_t *first,
                       uint64_t *epoch) {
    size_t klen, vlen;
    const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
    const char *v = leveldb_iter_value(it, &vlen);
    if (klen != SK_U64_LEN) return store_corrupt(k, klen, "epoch key is %zu bytes", klen);
    int rc = store_check_value(k, klen, v, vlen, SV_EPOCH_LEN);
    if (rc == QC_OK && vlen != SV_EPOCH_LEN)
        rc = store_corrupt(k, klen, "value is %zu bytes, expected %d", vlen, SV_EPOCH_LEN);
    if (rc != QC_OK) return rc;
    *first = qc_get_u64(k + 1);
    *epoch = qc_get_u64((const uint8_t *)v + 1);
    if (*first == 0 || *first > max_first)
        return store_corrupt(k, klen, "an epoch change outside heights 1..%llu",
                             (unsigned long long)max_first);
    return QC_OK;
}

static bool iter_in_family(leveldb_iterator_t *it, uint8_t family) {
    size_t klen;
    if (!leveldb_iter_valid(it)) return false;
    const char *k = leveldb_iter_key(it, &klen);
    return klen >= 1 && (uint8_t)k[0] == family;
}

static int read_epoch_at(store_t *s, uint64_t height, uint64_t *epoch) {
    QC_ASSERT(epoch != NULL);
    if (height == 0 || height > s->head.height + 1) return QC_ERR_RANGE;
    uint8_t k[SK_MAX_LEN];
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    leveldb_iter_seek(it, (const char *)k, sk_u64(k, SK_EPOCH, height + 1));
    if (leveldb_iter_valid(it)) leveldb_iter_prev(it);
    else leveldb_iter_seek_to_last(it);
    uint64_t first;
    int rc = iter_in_family(it, SK_EPOCH)
                 ? epoch_entry(it, height, &first, epoch)
                 : store_corrupt(k, SK_U64_LEN, "no epoch is in force at this height");
    return store_iter_finish(it, rc, "looking up the epoch at a height");
}

static int read_epochs(store_t *s, store_epoch_span_t *out, size_t cap, size_t *n) {
    QC_ASSERT(out != NULL && n != NULL && cap <= STORE_EPOCHS_MAX);
    *n = 0;
    uint8_t k[SK_MAX_LEN];
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    leveldb_iter_seek(it, (const char *)k, sk_single(k, SK_EPOCH));
    int rc = QC_OK;
    for (size_t i = 0; rc == QC_OK && iter_in_family(it, SK_EPOCH); i++) {
        if (i == cap) { rc = QC_ERR_TOOBIG; break; }
        rc = epoch_entry(it, s->head.height + 1, &out[i].first_height, &out[i].epoch);
        if (rc == QC_OK && i > 0 && out[i].epoch <= out[i - 1].epoch)
            rc = store_corrupt(k, 1, "membership epochs do not increase with height");
        if (rc == QC_OK) (*n)++;
        leveldb_iter_next(it);
    }
    return store_iter_finish(it, rc, "listing the membership history");
}

static int proposal_value(const uint8_t *k, size_t klen, const char *v, size_t vlen,
                          gov_proposal_t *out) {
    if (vlen < 1 || (uint8_t)v[0] != STORE_FORMAT_VERSION ||
        gov_proposal_decode((const uint8_t *)v + 1, vlen - 1, out) != QC_OK ||
        memcmp(out->id.b, k + 1, QC_HASH_BYTES) != 0)
        return store_corrupt(k, klen, "proposal record does not decode or names another id");
    return QC_OK;
}

static int read_proposal_get(store_t *s, const qc_hash_t *id, gov_proposal_t *out) {
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_hash(k, SK_PROPOSAL, id->b);
    char *v;
    size_t vlen;
    int rc = store_get(s, k, klen, &v, &vlen);
    if (rc != QC_OK) return rc;
    rc = proposal_value(k, klen, v, vlen, out);
    leveldb_free(v);
    return rc;
}

static int read_proposals_each(store_t *s, size_t max,
                               bool (*cb)(void *ctx, const gov_proposal_t *p), void *ctx) {
    uint8_t k[SK_MAX_LEN];
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    leveldb_iter_seek(it, (const char *)k, sk_single(k, SK_PROPOSAL));
    int rc = QC_OK;
    gov_proposal_t *p = malloc(sizeof *p);
    if (p == NULL) rc = QC_ERR_NOMEM;
    for (size_t i = 0; rc == QC_OK && i < max && iter_in_family(it, SK_PROPOSAL); i++) {
        size_t klen, vlen;
        const char *key = leveldb_iter_key(it, &klen);
        const char *v = leveldb_iter_value(it, &vlen);
        rc = klen == SK_HASH_LEN ? proposal_value((const uint8_t *)key, klen, v, vlen, p)
                                 : store_corrupt((const uint8_t *)key, klen, "proposal key length");
        if (rc == QC_OK && !cb(ctx, p)) break;
        leveldb_iter_next(it);
    }
    free(p);
    return store_iter_finish(it, rc, "listing governance proposals");
}

static int read_share_get(store_t *s, const uint8_t *k, size_t klen, uint8_t *val, size_t *vlen) {
    char *v;
    size_t len;
    int rc = store_get(s, k, klen, &v, &len);
    if (rc != QC_OK) return rc;
    rc = store_check_value(k, klen, v, len, 1);
    if (rc == QC_OK && len - 1 > SH_VALUE_MAX) rc = store_corrupt(k, klen, "value too long");
    if (rc == QC_OK) {
        memcpy(val, v + 1, len - 1);
        *vlen = len - 1;
    }
    leveldb_free(v);
    return rc;
}

static int read_share_each(store_t *s, const uint8_t *prefix, size_t plen, const uint8_t *after,
                           size_t after_len, size_t max,
                           bool (*cb)(void *ctx, const uint8_t *k, size_t klen,
                                      const uint8_t *val, size_t vlen),
                           void *ctx) {
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    if (after != NULL) {
        leveldb_iter_seek(it, (const char *)after, after_len);
        size_t klen;
        if (leveldb_iter_valid(it)) {
            const char *k = leveldb_iter_key(it, &klen);
            if (klen == after_len && memcmp(k, after, klen) == 0) leveldb_iter_next(it);
        }
    } else {
        leveldb_iter_seek(it, (const char *)prefix, plen);
    }
    int rc = QC_OK;
    for (size_t i = 0; rc == QC_OK && i < max && leveldb_iter_valid(it); i++) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
        if (klen < plen || memcmp(k, prefix, plen) != 0) break;
        const char *v = leveldb_iter_value(it, &vlen);
        rc = store_check_value(k, klen, v, vlen, 1);
        if (rc == QC_OK && vlen - 1 > SH_VALUE_MAX) rc = store_corrupt(k, klen, "value too long");
        if (rc == QC_OK && !cb(ctx, k, klen, (const uint8_t *)v + 1, vlen - 1)) break;
        leveldb_iter_next(it);
    }
    return store_iter_finish(it, rc, "listing the data-sharing trail");
}

/* ------------------------------------------------------------------ the public reads */
/* Each public read: QC_ERR_IO while the database is closed (a reopen after a failed write
 * failed: ldb_reopen), and a damaged result (corrupt data, a read I/O error) marks the store
 * damaged (store_note). */
#define STORE_READ(s, call)                                                                    \
    do {                                                                                       \
        if ((s)->db == NULL) return QC_ERR_IO;                                                 \
        store_problem_clear();                                                                 \
        return store_note((s), (call));                                                        \
    } while (0)

int store_block_raw(store_t *s, uint64_t height, uint8_t **block, size_t *block_len,
                    uint8_t **cert, size_t *cert_len) {
    STORE_READ(s, read_block_raw(s, height, block, block_len, cert, cert_len));
}

int store_block_get(store_t *s, uint64_t height, qc_block_t *block, qc_cert_t *cert) {
    memset(block, 0, sizeof *block);
    STORE_READ(s, read_block_get(s, height, block, cert));
}

int store_header_get(store_t *s, uint64_t height, qc_header_t *out) {
    STORE_READ(s, read_header_get(s, height, out));
}

int store_height_by_hash(store_t *s, const qc_hash_t *hash, uint64_t *height) {
    STORE_READ(s, read_height_by_hash(s, hash, height));
}

int store_tx_find(store_t *s, const qc_hash_t *tx_id, store_tx_loc_t *out) {
    STORE_READ(s, read_tx_find(s, tx_id, out));
}

int store_tx_get(store_t *s, const qc_hash_t *tx_id, store_tx_loc_t *loc, qc_tx_t *tx) {
    memset(tx, 0, sizeof *tx);
    STORE_READ(s, read_tx_get(s, tx_id, loc, tx));
}

int store_block_tx(store_t *s, uint64_t height, uint32_t tx_index, qc_header_t *hdr,
                   qc_tx_t *tx, qc_cert_t *cert) {
    memset(tx, 0, sizeof *tx);
    STORE_READ(s, read_block_tx(s, height, tx_index, hdr, tx, cert));
}

int store_record_list(store_t *s, const uint8_t digest[32], uint64_t from_log_index,
                      store_record_loc_t *out, size_t cap, size_t *n, bool *more) {
    *n = 0;
    *more = false;
    STORE_READ(s, read_record_list(s, digest, from_log_index, out, cap, n, more));
}

int store_record_find(store_t *s, const uint8_t digest[32], store_record_loc_t *out) {
    STORE_READ(s, read_record_find(s, digest, out));
}

int store_record_status(store_t *s, const uint8_t digest[32], qc_recstat_t *out) {
    STORE_READ(s, read_record_status(s, digest, out));
}

int store_record_status_cb(void *ctx, const uint8_t digest[32], qc_recstat_t *out) {
    return store_record_status(ctx, digest, out);
}

int store_log_root_at(store_t *s, uint64_t size, qc_hash_t *out) {
    STORE_READ(s, read_log_root_at(s, size, out));
}

int store_log_inclusion_proof(store_t *s, uint64_t index, uint64_t size, qc_hash_t *path,
                              size_t *len) {
    *len = 0;
    STORE_READ(s, read_log_inclusion_proof(s, index, size, path, len));
}

int store_log_consistency_proof(store_t *s, uint64_t size1, uint64_t size2, qc_hash_t *proof,
                                size_t *len) {
    *len = 0;
    STORE_READ(s, read_log_consistency_proof(s, size1, size2, proof, len));
}

int store_validators(store_t *s, uint64_t epoch, qc_validator_set_t *out) {
    STORE_READ(s, read_validators(s, epoch, out));
}

int store_epoch_at(store_t *s, uint64_t height, uint64_t *epoch) {
    STORE_READ(s, read_epoch_at(s, height, epoch));
}

int store_epochs(store_t *s, store_epoch_span_t *out, size_t cap, size_t *n) {
    STORE_READ(s, read_epochs(s, out, cap, n));
}

const gov_state_t *store_gov(const store_t *s) { return s->gov; }

int store_proposal_get(store_t *s, const qc_hash_t *id, gov_proposal_t *out) {
    STORE_READ(s, read_proposal_get(s, id, out));
}

int store_proposals_each(store_t *s, size_t max, bool (*cb)(void *ctx, const gov_proposal_t *p),
                         void *ctx) {
    STORE_READ(s, read_proposals_each(s, max, cb, ctx));
}

int store_share_get(store_t *s, const uint8_t *k, size_t klen, uint8_t *val, size_t *vlen) {
    STORE_READ(s, read_share_get(s, k, klen, val, vlen));
}

int store_share_cb(void *ctx, const uint8_t *k, size_t klen, uint8_t *val, size_t *vlen) {
    return store_share_get(ctx, k, klen, val, vlen);
}

int store_share_each(store_t *s, const uint8_t *prefix, size_t plen, const uint8_t *after,
                     size_t after_len, size_t max,
                     bool (*cb)(void *ctx, const uint8_t *k, size_t klen, const uint8_t *val,
                                size_t vlen),
                     void *ctx) {
    STORE_READ(s, read_share_each(s, prefix, plen, after, after_len, max, cb, ctx));
}
