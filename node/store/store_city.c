/* store_city.c - the store's per-city logs (docs/PROTOCOL.md §13, STORAGE.md): each applied
 * block's events appended to their city's log with its leaves and subtree hashes in the
 * block's batch, and the reads a completeness proof is built from. The frontiers are derived
 * state, rebuilt with the state map at open (store_state.c), so only leaves and subtree hashes
 * are written, never a frontier that a crash could leave behind the blocks. */
#include <leveldb/c.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

/* ---------------------------------------------------------------- apply */

static int put_leaf(void *ctx, const char *city, uint64_t index, const qc_city_leaf_t *l) {
    store_t *s = ctx;
    uint8_t k[SK_MAX_LEN], v[SV_CITY_LEAF_LEN];
    v[0] = STORE_FORMAT_VERSION;
    qc_put_u64(v + 1, l->height);
    memcpy(v + 9, l->tx_id.b, 32);
    qc_put_u16(v + 41, l->index);
    v[43] = l->kind;
    memcpy(v + 44, l->digest.b, 32);
    size_t klen = sk_city_leaf(k, city, index);
    leveldb_writebatch_put(s->batch, (const char *)k, klen, (const char *)v, sizeof v);
    return QC_OK;
}

/* Level 0 is not stored: a leaf's hash is its stored data's (store_city_node_get). */
static int put_node(void *ctx, const char *city, uint32_t level, uint64_t index,
                    const qc_hash_t *h) {
    if (level == 0) return QC_OK;
    store_t *s = ctx;
    uint8_t k[SK_MAX_LEN], v[SV_LOG_LEN];
    v[0] = STORE_FORMAT_VERSION;
    memcpy(v + 1, h->b, 32);
    size_t klen = sk_city_node(k, city, level, index);
    leveldb_writebatch_put(s->batch, (const char *)k, klen, (const char *)v, sizeof v);
    return QC_OK;
}

/* Appends b's events to *clogs (sink may be NULL). */
static int replay(clog_set_t *clogs, const qc_block_t *b, const qc_validator_set_t *vs,
                  const clog_sink_t *sink) {
    for (uint32_t i = 0; i < b->tx_count; i++) {
        const qc_tx_t *tx = &b->txs[i];
        if (tx->type != QC_TX_ANCHOR && !qc_tx_type_is_lifecycle(tx->type)) continue;
        int m = qc_validators_find_seal(vs, &tx->signer);
        if (m < 0) {
            uint8_t k[SK_MAX_LEN];
            return store_corrupt(k, sk_u64(k, SK_BLOCK, b->header.height), "tx %u (type %u) is "
                                 "not signed by a member's seal key", i, (unsigned)tx->type);
        }
        int rc = clog_tx(clogs, tx, vs->members[m].name, b->header.height, sink);
        if (rc != QC_OK) return rc;
    }
    return QC_OK;
}

int store_city_replay(clog_set_t *clogs, const qc_block_t *b, const qc_validator_set_t *vs) {
    return replay(clogs, b, vs, NULL);
}

int store_city_apply(store_t *s, const qc_block_t *b, const qc_validator_set_t *vs,
                     sblock_t *sb) {
    int rc = clog_set_copy(&s->clogs_next, &s->clogs);
    clog_sink_t sink = {put_leaf, put_node, s};
    if (rc == QC_OK) rc = replay(&s->clogs_next, b, vs, &sink);
    if (rc != QC_OK) return rc;
    if (sb != NULL) return clog_finish(&s->clogs_next, sb);
    for (size_t i = 0; i < s->clogs_next.n; i++) s->clogs_next.c[i].grown = false;
    return QC_OK;
}

/* ---------------------------------------------------------------- reads */

int store_city_log(store_t *s, const char *city, uint64_t *size, qc_hash_t *root) {
    if (!qc_member_name_valid(city)) return QC_ERR_INVALID;
    const clog_city_t *c = clog_find(&s->clogs, city);
    static const rlog_t empty;
    const rlog_t *log = c ? &c->log : &empty;
    *size = log->size;
    rlog_root(log, root);
    return QC_OK;
}

static uint64_t city_size(const store_t *s, const char *city) {
    const clog_city_t *c = clog_find(&s->clogs, city);
    return c ? c->log.size : 0;
}

int store_city_leaf(store_t *s, const char *city, uint64_t index, qc_city_leaf_t *out) {
    if (!qc_member_name_valid(city)) return QC_ERR_INVALID;
    uint64_t size = city_size(s, city);
    if (index >= size) return QC_ERR_RANGE;
    uint8_t k[SK_MAX_LEN], v[SV_CITY_LEAF_LEN];
    size_t klen = sk_city_leaf(k, city, index);
    int rc = store_get_fixed(s, k, klen, v, sizeof v);
    if (rc == QC_ERR_NOTFOUND)
        return store_note(s, store_corrupt(k, klen, "missing, but %s's log has %llu leaves",
                                           city, (unsigned long long)size));
    if (rc != QC_OK) return store_note(s, rc);
    out->height = qc_get_u64(v + 1);
    memcpy(out->tx_id.b, v + 9, 32);
    out->index = qc_get_u16(v + 41);
    out->kind = v[43];
    memcpy(out->digest.b, v + 44, 32);
    if (qc_city_kind_name(out->kind) == NULL || out->height == 0 ||
        out->height > s->head.height)
        return store_note(s, store_corrupt(k, klen, "leaf of kind %u at height %llu",
                                           out->kind, (unsigned long long)out->height));
    return QC_OK;
}

int store_city_first_at(store_t *s, const char *city, uint64_t height, uint64_t *index) {
    if (!qc_member_name_valid(city)) return QC_ERR_INVALID;
    uint64_t lo = 0, hi = city_size(s, city); /* the answer lies in [lo, hi] */
    for (int steps = 0; lo < hi && steps < 65; steps++) {
        uint64_t mid = lo + (hi - lo) / 2;
        qc_city_leaf_t l;
        int rc = store_city_leaf(s, city, mid, &l);
        if (rc != QC_OK) return rc;
        if (l.height >= height) hi = mid;
        else lo = mid + 1;
    }
    QC_ASSERT(lo == hi);
    *index = lo;
    return QC_OK;
}

typedef struct {
    store_t *s;
    const char *city;
    uint64_t size;
} node_ctx_t;

/* rlog_reader_t.get over a city's stored log: level 0 from the leaf's data. */
static int city_node_get(void *ctx, uint32_t level, uint64_t index, qc_hash_t *out) {
    node_ctx_t *c = ctx;
    if (level >= 64 || index >= (c->size >> level)) return QC_ERR_RANGE;
    if (level == 0) {
        qc_city_leaf_t l;
        int rc = store_city_leaf(c->s, c->city, index, &l);
        if (rc == QC_OK) qc_city_leaf_hash(&l, out);
        return rc;
    }
    uint8_t k[SK_MAX_LEN], v[SV_LOG_LEN];
    size_t klen = sk_city_node(k, c->city, level, index);
    int rc = store_get_fixed(c->s, k, klen, v, sizeof v);
    if (rc == QC_ERR_NOTFOUND)
        rc = store_corrupt(k, klen, "missing, but %s's log has %llu leaves", c->city,
                           (unsigned long long)c->size);
    if (rc == QC_OK) memcpy(out->b, v + 1, 32);
    return store_note(c->s, rc);
}

int store_city_range_hashes(store_t *s, const char *city, uint64_t lo, uint64_t hi,
                            qc_hash_t *out, size_t cap, size_t *count) {
    *count = 0;
    if (!qc_member_name_valid(city)) return QC_ERR_INVALID;
    node_ctx_t c = {s, city, city_size(s, city)};
    rlog_reader_t r = {city_node_get, &c};
    return rlog_range_hashes(&r, c.size, lo, hi, out, cap, count);
}

int store_state_prove_key(store_t *s, const qc_hash_t *key, smt_proof_t *p) {
    if (s->state_stale) return s->state_broken != QC_OK ? s->state_broken : QC_ERR_CORRUPT;
    smap_reader_t r = store_state_reader(s);
    return smap_prove(&r, key, p);
}

/* ---------------------------------------------------------------- integrity check */

/* Scans family 'Y' or 'Z': every key names a city with a log and lies inside it, every value
 * has its exact length and version, and there are exactly as many keys as the logs' sizes
 * imply (a leaf per index; a node per complete subtree above level 0). */
static int check_city_family(store_t *s, uint8_t family) {
    uint64_t want = 0;
    for (size_t i = 0; i < s->clogs.n; i++) {
        uint64_t n = s->clogs.c[i].log.size;
        if (family == SK_CITY_LEAF) want += n;
        else
            for (uint32_t level = 1; level < 64 && (n >> level); level++) want += n >> level;
    }
    uint8_t seek = family;
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    uint64_t count = 0;
    int rc = QC_OK;
    size_t tail = family == SK_CITY_LEAF ? 8 : 9;
    size_t vlen_want = family == SK_CITY_LEAF ? SV_CITY_LEAF_LEN : SV_LOG_LEN;
    for (leveldb_iter_seek(it, (const char *)&seek, 1); leveldb_iter_valid(it) && rc == QC_OK;
         leveldb_iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
        const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vlen);
        if (k[0] != family) break;
        if (++count > want) {
            rc = store_corrupt(k, klen, "more keys in this family than the city logs hold (%llu)",
                               (unsigned long long)want);
            break;
        }
        char name[QC_MEMBER_NAME_MAX + 1] = "";
        if (klen < 2 || k[1] > QC_MEMBER_NAME_MAX || klen != 2u + k[1] + tail) {
            rc = store_corrupt(k, klen, "key is %zu bytes", klen);
            break;
        }
        memcpy(name, k + 2, k[1]);
        const clog_city_t *c = qc_member_name_valid(name) ? clog_find(&s->clogs, name) : NULL;
        uint32_t level = family == SK_CITY_LEAF ? 0 : k[2 + k[1]];
        uint64_t index = qc_get_u64(k + klen - 8);
        if (c == NULL || (family == SK_CITY_NODE && (level < 1 || level >= 64)) ||
            index >= (c->log.size >> level))
            rc = store_corrupt(k, klen, "lies outside every city log");
        else if (vlen != vlen_want || v[0] != STORE_FORMAT_VERSION)
            rc = store_corrupt(k, klen, "value of %zu bytes", vlen);
    }
    rc = store_iter_finish(it, rc, "scanning the city logs");
    if (rc == QC_OK && count != want)
        rc = store_corrupt(&seek, 1, "%llu keys in this family, the city logs imply %llu",
                           (unsigned long long)count, (unsigned long long)want);
    return rc;
}

int store_city_check(store_t *s) {
    int rc = check_city_family(s, SK_CITY_LEAF);
    if (rc == QC_OK) rc = check_city_family(s, SK_CITY_NODE);
    return rc;
}
