/* store_keys.c - the ledger store's LevelDB key layout, value codecs and checked getters
 * (see store_impl.h and docs/STORAGE.md). Every stored value starts with the format version
 * byte; every reader checks it, the exact length and the fields it can check on its own. */
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldb.h"
#include "smt.h"
#include "store_impl.h"

/* What the last corrupt value or LevelDB error of this thread was, for store_note: the store
 * is used by one thread at a time, and a read's problem is noted before it returns. */
static _Thread_local char t_problem[STORE_PROBLEM_MAX];

size_t sk_single(uint8_t *k, uint8_t family) {
    k[0] = family;
    return 1;
}

size_t sk_u64(uint8_t *k, uint8_t family, uint64_t v) {
    k[0] = family;
    qc_put_u64(k + 1, v);
    return SK_U64_LEN;
}

size_t sk_hash(uint8_t *k, uint8_t family, const uint8_t h[32]) {
    k[0] = family;
    memcpy(k + 1, h, 32);
    return SK_HASH_LEN;
}

size_t sk_mapped(uint8_t *k, uint8_t family, const uint8_t mk4[SK_MK_BYTES],
                 const uint8_t digest[32]) {
    k[0] = family;
    memcpy(k + 1, mk4, SK_MK_BYTES);
    memcpy(k + SK_DIGEST_AT, digest, 32);
    return SK_MAPPED_LEN;
}

size_t sk_status(uint8_t *k, const uint8_t digest[32]) {
    qc_hash_t mk;
    smt_map_key(&mk, digest);
    return sk_mapped(k, SK_STATUS, mk.b, digest);
}

size_t sk_record(uint8_t *k, const uint8_t digest[32], uint64_t log_index) {
    qc_hash_t mk;
    smt_map_key(&mk, digest);
    sk_mapped(k, SK_RECORD, mk.b, digest);
    qc_put_u64(k + SK_MAPPED_LEN, log_index);
    return SK_RECORD_LEN;
}

size_t sk_map_node(uint8_t k[1 + SMAP_POS_MAX_BYTES], const smap_pos_t *pos) {
    k[0] = SK_MAP_NODE;
    return 1 + smap_pos_encode(pos, k + 1);
}

size_t sv_anchor_tx_encode(uint8_t v[SV_ANCHOR_TX_MAX], const qc_hash_t *tx_id,
                           const char *owner) {
    size_t nl = strlen(owner);
    QC_ASSERT(nl >= 1 && nl <= QC_MEMBER_NAME_MAX);
    v[0] = STORE_FORMAT_VERSION;
    memcpy(v + 1, tx_id->b, 32);
    v[33] = (uint8_t)nl;
    memcpy(v + 34, owner, nl);
    return 34 + nl;
}

void store_batch_map_node(struct leveldb_writebatch_t *b, const smap_pos_t *pos,
                          const smap_node_t *node) {
    uint8_t k[1 + SMAP_POS_MAX_BYTES], v[1 + SMAP_NODE_MAX_BYTES];
    size_t klen = sk_map_node(k, pos);
    v[0] = STORE_FORMAT_VERSION;
    size_t vlen = 1 + smap_node_encode(node, v + 1);
    leveldb_writebatch_put(b, (const char *)k, klen, (const char *)v, vlen);
}

size_t sk_anchor_tx(uint8_t *k, uint64_t height, uint32_t tx_index) {
    k[0] = SK_ANCHOR_TX;
    qc_put_u64(k + 1, height);
    qc_put_u32(k + 9, tx_index);
    return SK_ANCHOR_TX_LEN;
}

size_t sk_log(uint8_t *k, uint32_t level, uint64_t index) {
    QC_ASSERT(level < 64);
    k[0] = SK_LOG;
    k[1] = (uint8_t)level;
    qc_put_u64(k + 2, index);
    return SK_LOG_LEN;
}

/* 'F' str8 city: the common front of a city key; returns its length. */
static size_t sk_city(uint8_t *k, uint8_t family, const char *city) {
    size_t n = strlen(city);
    QC_ASSERT(n >= 1 && n <= QC_MEMBER_NAME_MAX);
    k[0] = family;
    k[1] = (uint8_t)n;
    memcpy(k + 2, city, n);
    return 2 + n;
}

size_t sk_city_span(uint8_t *k, const char *city, uint64_t index) {
    size_t n = sk_city(k, SK_CITY_SPAN, city);
    qc_put_u64(k + n, index);
    return n + 8;
}

size_t sk_city_node(uint8_t *k, const char *city, uint32_t level, uint64_t index) {
    QC_ASSERT(level >= 1 && level < 64);
    size_t n = sk_city(k, SK_CITY_NODE, city);
    k[n] = (uint8_t)level;
    qc_put_u64(k + n + 1, index);
    return n + 9;
}

static const char *family_name(uint8_t f) {
    switch (f) {
    case SK_META: return "meta";
    case SK_HEAD: return "head";
    case SK_BLOCK: return "block";
    case SK_CERT: return "certificate";
    case SK_HASH: return "block-hash index";
    case SK_TX: return "tx index";
    case SK_RECORD: return "record index";
    case SK_LOG: return "log node";
    case SK_VALIDATORS: return "validator set of epoch";
    case SK_EPOCH: return "epoch change at height";
    case SK_STATUS: return "record status";
    case SK_ANCHOR_TX: return "anchor tx of block";
    case SK_CITY_SPAN: return "city-log span";
    case SK_CITY_NODE: return "city-log node";
    case SK_MAP_NODE: return "state-map node";
    case SK_MAP_SNAP: return "state-map snapshot";
    case SH_DATASET: return "dataset";
    case SH_NAME: return "dataset name";
    case SH_REQUEST: return "data request";
    case SH_TRAIL: return "dataset request index";
    case SH_ACCESS: return "data access";
    case SH_OPEN: return "open data request";
    default: return "unknown key family";
    }
}

void sk_describe(char *out, size_t cap, const uint8_t *k, size_t klen) {
    QC_ASSERT(cap > 0);
    if (klen == 0) { snprintf(out, cap, "(empty key)"); return; }
    const char *name = family_name(k[0]);
    char hex[65];
    if ((k[0] == SK_CITY_SPAN || k[0] == SK_CITY_NODE) && klen >= 2 &&
        klen == 2u + k[1] + (k[0] == SK_CITY_SPAN ? 8u : 9u)) {
        const uint8_t *t = k + 2 + k[1];
        if (k[0] == SK_CITY_SPAN)
            snprintf(out, cap, "%s %.*s %llu", name, (int)k[1], (const char *)(k + 2),
                     (unsigned long long)qc_get_u64(t));
        else
            snprintf(out, cap, "%s %.*s (level %u, index %llu)", name, (int)k[1],
                     (const char *)(k + 2), t[0], (unsigned long long)qc_get_u64(t + 1));
    } else if (k[0] == SK_MAP_NODE && klen >= 2)
        snprintf(out, cap, "%s at depth %u", name, k[1]);
    else if ((k[0] == SK_RECORD && klen == SK_RECORD_LEN) ||
             (k[0] == SK_STATUS && klen == SK_MAPPED_LEN)) {
        qc_hex_encode(hex, k + SK_DIGEST_AT, 32);
        if (klen == SK_RECORD_LEN)
            snprintf(out, cap, "%s %s at log index %llu", name, hex,
                     (unsigned long long)qc_get_u64(k + SK_MAPPED_LEN));
        else
            snprintf(out, cap, "%s %s", name, hex);
    } else if (k[0] == SK_ANCHOR_TX && klen == SK_ANCHOR_TX_LEN)
        snprintf(out, cap, "%s %llu, tx %u", name, (unsigned long long)qc_get_u64(k + 1),
                 qc_get_u32(k + 9));
    else if (klen == SK_U64_LEN)
        snprintf(out, cap, "%s %llu", name, (unsigned long long)qc_get_u64(k + 1));
    else if (klen == SK_LOG_LEN && k[0] == SK_LOG)
        snprintf(out, cap, "%s (level %u, index %llu)", name, k[1],
                 (unsigned long long)qc_get_u64(k + 2));
    else if (klen >= SK_HASH_LEN) {
        qc_hex_encode(hex, k + 1, 32);
        snprintf(out, cap, "%s %s", name, hex);
    } else
        snprintf(out, cap, "%s (%zu-byte key)", name, klen);
}

int store_corrupt(const uint8_t *k, size_t klen, const char *why, ...) {
    char key[160], msg[256];
    sk_describe(key, sizeof key, k, klen);
    va_list ap;
    va_start(ap, why);
    vsnprintf(msg, sizeof msg, why, ap);
    va_end(ap);
    QC_ERROR("store: corrupt %s: %s", key, msg);
    if (snprintf(t_problem, sizeof t_problem, "corrupt %s: %s", key, msg) < 0) /* truncates */
        t_problem[0] = '\0';
    return QC_ERR_CORRUPT;
}

int store_ldb_error(char *err, const char *what) {
    QC_ASSERT(err != NULL);
    snprintf(t_problem, sizeof t_problem, "%s: %s", what, err);
    char where[160];
    snprintf(where, sizeof where, "store: %s", what);
    return ldb_error(err, where);
}

void store_problem_clear(void) { t_problem[0] = '\0'; }

const char *store_last_problem(void) { return t_problem; }

int store_note(store_t *s, int rc) {
    bool damage = rc == QC_ERR_CORRUPT || (rc == QC_ERR_IO && s->db != NULL);
    if (!damage || s->damage != QC_OK) return rc;
    s->damage = rc;
    if (snprintf(s->problem, sizeof s->problem, "%s: %s", s->dir,
                 t_problem[0] ? t_problem : qc_strerror(rc)) < 0) /* truncates */
        s->problem[0] = '\0';
    QC_ERROR("store: the ledger is damaged (%s); /healthz reports it until an operator "
             "repairs it (docs/OPERATIONS.md)", s->problem);
    return rc;
}

const char *store_problem(const store_t *s) {
    if (s->damage != QC_OK || s->write_error != QC_OK) return s->problem;
    return NULL;
}

int store_iter_finish(struct leveldb_iterator_t *it, int rc, const char *what) {
    char *err = NULL;
    leveldb_iter_get_error(it, &err);
    if (err != NULL) rc = store_ldb_error(err, what);
    leveldb_iter_destroy(it);
    return rc;
}

int store_scan_family(store_t *s, uint8_t family, store_scan_fn fn, void *ctx,
                      const char *what) {
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    int rc = QC_OK;
    for (leveldb_iter_seek(it, (const char *)&family, 1); leveldb_iter_valid(it) && rc == QC_OK;
         leveldb_iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
        if (klen == 0 || k[0] != family) break;
        const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vlen);
        rc = fn(ctx, k, klen, v, vlen);
    }
    return store_iter_finish(it, rc, what);
}

int store_get(store_t *s, const uint8_t *k, size_t klen, char **val, size_t *vlen) {
    char *err = NULL;
    *val = leveldb_get(s->db, s->ropts, (const char *)k, klen, vlen, &err);
    if (err != NULL) {
        char key[160];
        sk_describe(key, sizeof key, k, klen);
        return store_ldb_error(err, key);
    }
    return *val ? QC_OK : QC_ERR_NOTFOUND;
}

int store_check_value(const uint8_t *k, size_t klen, const char *val, size_t vlen,
                      size_t min_len) {
    QC_ASSERT(min_len >= 1);
    if (vlen < min_len)
        return store_corrupt(k, klen, "value is %zu bytes, shorter than %zu", vlen, min_len);
    if ((uint8_t)val[0] != STORE_FORMAT_VERSION)
        return store_corrupt(k, klen, "value version byte is %u, expected %u",
                             (uint8_t)val[0], STORE_FORMAT_VERSION);
    return QC_OK;
}

int store_get_fixed(store_t *s, const uint8_t *k, size_t klen, uint8_t *out, size_t len) {
    char *val;
    size_t vlen;
    int rc = store_get(s, k, klen, &val, &vlen);
    if (rc != QC_OK) return rc;
    rc = store_check_value(k, klen, val, vlen, len);
    if (rc == QC_OK && vlen != len)
        rc = store_corrupt(k, klen, "value is %zu bytes, expected %zu", vlen, len);
    if (rc == QC_OK) memcpy(out, val, len);
    leveldb_free(val);
    return rc;
}

void sv_head_encode(uint8_t out[SV_HEAD_LEN], const store_head_t *h) {
    uint8_t *p = out;
    *p++ = STORE_FORMAT_VERSION;
    qc_put_u64(p, h->height); p += 8;
    memcpy(p, h->hash.b, 32); p += 32;
    qc_put_u64(p, h->log_size); p += 8;
    memcpy(p, h->log_root.b, 32); p += 32;
    qc_put_u64(p, h->epoch); p += 8;
    QC_ASSERT(p - out == SV_HEAD_LEN);
}

void sv_head_decode(const uint8_t v[SV_HEAD_LEN], store_head_t *h) {
    const uint8_t *p = v + 1;
    h->height = qc_get_u64(p); p += 8;
    memcpy(h->hash.b, p, 32); p += 32;
    h->log_size = qc_get_u64(p); p += 8;
    memcpy(h->log_root.b, p, 32); p += 32;
    h->epoch = qc_get_u64(p);
}

size_t sv_validators_encode(uint8_t *out, size_t cap, const qc_validator_set_t *vs) {
    QC_ASSERT(vs->n >= 1 && vs->n <= QC_VALIDATORS_MAX && cap >= SV_VALIDATORS_MAX);
    uint8_t *p = out;
    *p++ = STORE_FORMAT_VERSION;
    qc_put_u64(p, vs->epoch); p += 8;
    qc_put_u16(p, (uint16_t)vs->n); p += 2;
    qc_put_u16(p, (uint16_t)vs->governance_threshold); p += 2;
    for (uint32_t i = 0; i < vs->n; i++) {
        const qc_member_t *m = &vs->members[i];
        size_t nl = strnlen(m->name, QC_MEMBER_NAME_MAX);
        *p++ = (uint8_t)nl;
        memcpy(p, m->name, nl); p += nl;
        memcpy(p, m->node_key.b, 32); p += 32;
        memcpy(p, m->seal_key.b, 32); p += 32;
        memcpy(p, m->admin_key.b, 32); p += 32;
    }
    return (size_t)(p - out);
}

/* One member at v[*off]; false if it runs past vlen or its name is out of range. */
static bool sv_member_decode(const uint8_t *v, size_t vlen, size_t *off, qc_member_t *m) {
    if (*off >= vlen) return false;
    size_t nl = v[(*off)++];
    if (nl == 0 || nl > QC_MEMBER_NAME_MAX || vlen - *off < nl + 96) return false;
    memcpy(m->name, v + *off, nl);
    m->name[nl] = '\0';
    if (strlen(m->name) != nl) return false; /* an embedded NUL */
    *off += nl;
    memcpy(m->node_key.b, v + *off, 32); *off += 32;
    memcpy(m->seal_key.b, v + *off, 32); *off += 32;
    memcpy(m->admin_key.b, v + *off, 32); *off += 32;
    return true;
}

int sv_validators_decode(const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen,
                         qc_validator_set_t *vs) {
    memset(vs, 0, sizeof *vs);
    int rc = store_check_value(k, klen, (const char *)v, vlen, 13);
    if (rc != QC_OK) return rc;
    vs->epoch = qc_get_u64(v + 1);
    vs->n = qc_get_u16(v + 9);
    vs->governance_threshold = qc_get_u16(v + 11);
    if (vs->n == 0 || vs->n > QC_VALIDATORS_MAX)
        return store_corrupt(k, klen, "validator count %u out of range 1..%u", vs->n,
                             QC_VALIDATORS_MAX);
    if (klen == SK_U64_LEN && qc_get_u64(k + 1) != vs->epoch)
        return store_corrupt(k, klen, "value is the set of epoch %llu",
                             (unsigned long long)vs->epoch);
    size_t off = 13;
    for (uint32_t i = 0; i < vs->n; i++)
        if (!sv_member_decode(v, vlen, &off, &vs->members[i]))
            return store_corrupt(k, klen, "member %u is truncated or malformed", i);
    if (off != vlen)
        return store_corrupt(k, klen, "%zu trailing bytes after %u members", vlen - off, vs->n);
    return QC_OK;
}

void sv_record_decode(const uint8_t v[SV_RECORD_LEN], uint64_t log_index,
                      store_record_loc_t *out) {
    out->height = qc_get_u64(v + 1);
    out->tx_index = qc_get_u32(v + 9);
    out->record_index = qc_get_u16(v + 13);
    memset(out->tx_id.b, 0, 32); /* not stored: store_block_tx_id */
    out->log_index = log_index;
}

int store_header_parse(const uint8_t *k, size_t klen, const char *val, size_t vlen,
                       uint64_t height, qc_header_t *out, size_t *env_off) {
    int rc = store_check_value(k, klen, val, vlen, 3);
    if (rc != QC_OK) return rc;
    size_t hlen = qc_get_u16((const uint8_t *)val + 1);
    if (hlen > vlen - 3 || vlen - 3 - hlen < 4)
        return store_corrupt(k, klen, "header length %zu runs past the %zu-byte value", hlen,
                             vlen);
    size_t env_len = qc_get_u32((const uint8_t *)val + 3 + hlen);
    if (env_len != vlen - 3 - hlen - 4)
        return store_corrupt(k, klen, "%zu-byte value, its envelope length says %zu", vlen,
                             3 + hlen + 4 + env_len);
    if (qc_header_decode((const uint8_t *)val + 3, hlen, out) != QC_OK)
        return store_corrupt(k, klen, "stored header does not decode");
    if (out->height != height)
        return store_corrupt(k, klen, "stored header is for height %llu",
                             (unsigned long long)out->height);
    *env_off = 3 + hlen + 4;
    return QC_OK;
}

int store_header_read(store_t *s, uint64_t height, qc_header_t *out) {
    /* A durable block never changes, so neither does its header: kept once read. */
    bool durable = height != 0 && height <= s->head.height && s->hdr_cache != NULL;
    struct store_hdr_slot *e = durable ? &s->hdr_cache[height % s->hdr_cache_cap] : NULL;
    if (e != NULL && e->height == height) {
        *out = e->h;
        return QC_OK;
    }
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_u64(k, SK_BLOCK, height), off;
    char *val;
    size_t vlen;
    int rc = store_get(s, k, klen, &val, &vlen);
    if (rc != QC_OK) return rc;
    rc = store_header_parse(k, klen, val, vlen, height, out, &off);
    leveldb_free(val);
    if (rc == QC_OK && e != NULL) {
        e->height = height;
        e->h = *out;
    }
    return rc;
}

/* The height of the block holding record-log leaf `index` (< head.log_size): the lowest
 * whose header's log size exceeds it (a binary search over headers, at most 64 reads). */
static int leaf_block(store_t *s, uint64_t index, uint64_t *height) {
    uint64_t lo = 1, hi = s->head.height;
    for (int steps = 0; lo < hi && steps < 64; steps++) {
        uint64_t mid = lo + (hi - lo) / 2;
        qc_header_t h;
        int rc = store_header_read(s, mid, &h);
        if (rc == QC_ERR_NOTFOUND) {
            uint8_t k[SK_MAX_LEN];
            return store_corrupt(k, sk_u64(k, SK_BLOCK, mid), "missing below the head");
        }
        if (rc != QC_OK) return rc;
        if (h.log_size > index) hi = mid;
        else lo = mid + 1;
    }
    *height = lo;
    return QC_OK;
}

/* Fills s->leaf_cache with the records and tx ids of durable block `height` (leaves are
 * hashed when first asked for). */
void store_leaf_cache_drop(store_t *s) {
    if (s->leaf_cache.height != 0) qc_block_free(&s->leaf_cache.block);
    s->leaf_cache.height = 0;
}

static int leaf_cache_load(store_t *s, uint64_t height) {
    store_leaf_cache_drop(s);
    qc_block_t b;
    int rc = store_block_get(s, height, &b, NULL);
    if (rc != QC_OK) return rc;
    uint64_t records = 0;
    for (uint32_t i = 0; i < b.tx_count; i++) records += b.txs[i].record_count;
    if (records > b.header.log_size) {
        uint8_t k[SK_MAX_LEN];
        qc_block_free(&b);
        return store_corrupt(k, sk_u64(k, SK_BLOCK, height), "its %llu records exceed the log "
                             "size %llu", (unsigned long long)records,
                             (unsigned long long)b.header.log_size);
    }
    struct store_leaf_rec *h =
        realloc(s->leaf_cache.recs, (size_t)(records ? records : 1) * sizeof *h);
    if (h != NULL) s->leaf_cache.recs = h;
    qc_hash_t *ids = h ? realloc(s->leaf_cache.tx_ids, (size_t)(b.tx_count ? b.tx_count : 1) *
                                                           sizeof *ids)
                       : NULL;
    if (ids == NULL) {
        qc_block_free(&b);
        return QC_ERR_NOMEM;
    }
    s->leaf_cache.tx_ids = ids;
    size_t n = 0;
    for (uint32_t i = 0; i < b.tx_count; i++) {
        ids[i] = b.txs[i].id;
        for (uint32_t r = 0; r < b.txs[i].record_count; r++, n++) {
            memcpy(h[n].digest.b, b.txs[i].records[r].digest, 32);
            h[n].tx_index = i;
            h[n].record_index = (uint16_t)r;
            h[n].hashed = false;
        }
    }
    s->leaf_cache.height = height;
    s->leaf_cache.first = b.header.log_size - records;
    s->leaf_cache.count = records;
    s->leaf_cache.tx_count = b.tx_count;
    s->leaf_cache.block = b; /* owned by the cache from here (store_leaf_cache_drop) */
    return QC_OK;
}

static bool leaf_cache_holds(const store_t *s, uint64_t height) {
    return s->leaf_cache.height != 0 && s->leaf_cache.height == height &&
           height <= s->head.height;
}

/* Record-log leaf hash `index` (< head.log_size), from its block's record. */
static int log_leaf(store_t *s, uint64_t index, qc_hash_t *out) {
    bool hit = s->leaf_cache.height != 0 && s->leaf_cache.height <= s->head.height &&
               index >= s->leaf_cache.first && index - s->leaf_cache.first < s->leaf_cache.count;
    if (!hit) {
        uint64_t height = 0;
        int rc = leaf_block(s, index, &height);
        if (rc == QC_OK) rc = leaf_cache_load(s, height);
        if (rc != QC_OK) return rc;
        if (index < s->leaf_cache.first || index - s->leaf_cache.first >= s->leaf_cache.count) {
            uint8_t k[SK_MAX_LEN];
            store_leaf_cache_drop(s);
            return store_corrupt(k, sk_u64(k, SK_BLOCK, height), "its records end the log at "
                                 "%llu, which does not hold leaf %llu",
                                 (unsigned long long)(s->leaf_cache.first + s->leaf_cache.count),
                                 (unsigned long long)index);
        }
    }
    struct store_leaf_rec *r = &s->leaf_cache.recs[index - s->leaf_cache.first];
    if (!r->hashed) {
        qc_record_leaf_hash(s->leaf_cache.height, &s->leaf_cache.tx_ids[r->tx_index],
                            r->record_index, r->digest.b, &r->leaf);
        r->hashed = true;
    }
    *out = r->leaf;
    return QC_OK;
}

int store_cached_block(store_t *s, uint64_t height, const qc_block_t **out) {
    QC_ASSERT(height >= 1 && height <= s->head.height);
    if (!leaf_cache_holds(s, height)) {
        int rc = leaf_cache_load(s, height);
        if (rc != QC_OK) return rc;
    }
    *out = &s->leaf_cache.block;
    return QC_OK;
}

int store_block_tx_id(store_t *s, uint64_t height, uint32_t tx_index, qc_hash_t *out) {
    QC_ASSERT(height >= 1 && height <= s->head.height);
    if (!leaf_cache_holds(s, height)) {
        int rc = leaf_cache_load(s, height);
        if (rc != QC_OK) return rc;
    }
    if (tx_index >= s->leaf_cache.tx_count) return QC_ERR_RANGE;
    *out = s->leaf_cache.tx_ids[tx_index];
    return QC_OK;
}

int store_log_get(void *ctx, uint32_t level, uint64_t index, qc_hash_t *out) {
    store_t *s = ctx;
    if (level >= 64 || index >= (s->head.log_size >> level)) return QC_ERR_RANGE;
    if (level < STORE_NODE_LEVEL_MIN) { /* a complete subtree of at most 8 leaves */
        qc_hash_t h[1u << (STORE_NODE_LEVEL_MIN - 1)];
        uint64_t n = UINT64_C(1) << level;
        for (uint64_t i = 0; i < n; i++) {
            int rc = log_leaf(s, (index << level) + i, &h[i]);
            if (rc != QC_OK) return rc;
        }
        merkle_root(out, h, n);
        return QC_OK;
    }
    uint8_t k[SK_MAX_LEN], v[SV_LOG_LEN];
    size_t klen = sk_log(k, level, index);
    int rc = store_get_fixed(s, k, klen, v, sizeof v);
    if (rc == QC_ERR_NOTFOUND)
        return store_corrupt(k, klen, "missing, but the log has %llu leaves",
                             (unsigned long long)s->head.log_size);
    if (rc == QC_OK) memcpy(out->b, v + 1, 32);
    return rc;
}
