/* store_city.c - the store's per-city logs (docs/PROTOCOL.md §13, STORAGE.md): each applied
 * block's events appended to their city's log, and the reads a completeness proof is built
 * from. A city's leaves are not stored: they are the §13.1 leaves of the city's transactions,
 * so the store keeps, per city and block with events, one span entry ('Y': where the block's
 * leaves start in the log, how many) and the subtree hashes from level STORE_NODE_LEVEL_MIN up
 * ('Z'); a leaf is read by replaying its block, a lower subtree hashed from its leaves. That
 * keeps the cost per anchored record to a fraction of a hash in the ledger (BENCHMARKS.md).
 * The frontiers are derived state, rebuilt with the state map at open (store_state.c). */
#include <leveldb/c.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

/* ---------------------------------------------------------------- apply */

/* Stores a completed subtree from STORE_NODE_LEVEL_MIN up. */
static int put_node(void *ctx, const char *city, uint32_t level, uint64_t index,
                    const qc_hash_t *h) {
    if (level < STORE_NODE_LEVEL_MIN) return QC_OK;
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

/* The span entry of every city whose log grew in block `height`: from its size before. */
static void put_spans(store_t *s, uint64_t height) {
    for (size_t i = 0; i < s->clogs_next.n; i++) {
        const clog_city_t *c = &s->clogs_next.c[i];
        if (!c->grown) continue;
        const clog_city_t *before = clog_find(&s->clogs, c->name);
        uint64_t first = before ? before->log.size : 0;
        uint8_t k[SK_MAX_LEN], v[SV_CITY_SPAN_LEN];
        v[0] = STORE_FORMAT_VERSION;
        qc_put_u64(v + 1, height);
        qc_put_u32(v + 9, (uint32_t)(c->log.size - first));
        size_t klen = sk_city_span(k, c->name, first);
        leveldb_writebatch_put(s->batch, (const char *)k, klen, (const char *)v, sizeof v);
    }
}


/* Whether the logs after (given with block b) extend the head's by exactly b's events, each
 * city under its index. QC_OK, QC_ERR_INVALID or QC_ERR_NOMEM. */
static int given_logs_check(const store_t *s, const qc_block_t *b, const qc_validator_set_t *vs,
                            const clog_set_t *after) {
    const clog_set_t *before = &s->clogs;
    if (after->n < before->n || after->n > CLOG_CITIES_MAX)
        return STORE_REFUSE("%zu city logs given, the head has %zu", after->n, before->n);
    for (size_t i = 0; i < before->n; i++)
        if (strcmp(after->c[i].name, before->c[i].name) != 0 ||
            after->c[i].log.size < before->c[i].log.size)
            return STORE_REFUSE("city log %zu given is not the head's %s extended", i,
                                before->c[i].name);
    uint64_t *events = calloc(after->n + 1, sizeof *events); /* +1: never a zero-size call */
    int32_t *city_of_member = malloc((vs->n + 1) * sizeof *city_of_member);
    int rc = events && city_of_member ? QC_OK : QC_ERR_NOMEM;
    for (uint32_t m = 0; rc == QC_OK && m < vs->n; m++) city_of_member[m] = -2; /* not looked up */
    for (uint32_t i = 0; rc == QC_OK && i < b->tx_count; i++) {
        const qc_tx_t *tx = &b->txs[i];
        size_t k = clog_tx_events(tx);
        if (k == 0) continue;
        int m = qc_validators_find_seal(vs, &tx->signer);
        if (m < 0) {
            rc = STORE_REFUSE("tx %u with city events is not signed by a member's seal key", i);
            break;
        }
        if (city_of_member[m] == -2) {
            const clog_city_t *c = clog_find(after, vs->members[m].name);
            city_of_member[m] = c ? (int32_t)(c - after->c) : -1;
        }
        if (city_of_member[m] < 0) {
            rc = STORE_REFUSE("no city log given for %s", vs->members[m].name);
            break;
        }
        events[city_of_member[m]] += k;
    }
    for (size_t i = 0; rc == QC_OK && i < after->n; i++) {
        uint64_t was = i < before->n ? before->c[i].log.size : 0;
        if (after->c[i].log.size - was != events[i])
            rc = STORE_REFUSE("city log of %s given %llu events longer, the block has %llu",
                              after->c[i].name, (unsigned long long)(after->c[i].log.size - was),
                              (unsigned long long)events[i]);
    }
    free(events);
    free(city_of_member);
    return rc;
}

/* Whether nodes are exactly as many as the logs' growth completes, each inside the block's
 * part of its log. QC_OK or QC_ERR_INVALID. */
static int given_nodes_check(const store_t *s, const clog_set_t *after, const clog_nodes_t *nodes) {
    uint64_t want = 0;
    for (size_t i = 0; i < after->n; i++) {
        uint64_t was = i < s->clogs.n ? s->clogs.c[i].log.size : 0;
        for (uint32_t level = STORE_NODE_LEVEL_MIN; level < 64; level++)
            want += (after->c[i].log.size >> level) - (was >> level);
    }
    if (nodes->n != want)
        return STORE_REFUSE("%zu city-log nodes given, the logs' growth completes %llu", nodes->n,
                            (unsigned long long)want);
    for (size_t k = 0; k < nodes->n; k++) {
        const clog_node_t *x = &nodes->v[k];
        if (x->city >= after->n || x->level < STORE_NODE_LEVEL_MIN || x->level >= 64)
            return STORE_REFUSE("city-log node %zu names city %u, level %u", k, x->city, x->level);
        uint64_t was = x->city < s->clogs.n ? s->clogs.c[x->city].log.size : 0;
        uint64_t size = after->c[x->city].log.size;
        if (x->index >= (size >> x->level) || x->index < (was >> x->level))
            return STORE_REFUSE("city-log node %zu (level %u, index %llu) is not one the block "
                                "completes", k, x->level, (unsigned long long)x->index);
    }
    return QC_OK;
}

/* As replay into s->clogs_next with the store's sink, from what exec computed. */
static int apply_given(store_t *s, const qc_block_t *b, const qc_validator_set_t *vs,
                       const clog_set_t *after, const clog_nodes_t *nodes) {
    int rc = given_logs_check(s, b, vs, after);
    if (rc == QC_OK) rc = given_nodes_check(s, after, nodes);
    if (rc == QC_OK) rc = clog_set_copy(&s->clogs_next, after);
    if (rc != QC_OK) return rc;
    for (size_t i = 0; i < s->clogs_next.n; i++) /* exec's clog_finish cleared the marks */
        s->clogs_next.c[i].grown = s->clogs_next.c[i].log.size >
                                   (i < s->clogs.n ? s->clogs.c[i].log.size : 0);
    for (size_t k = 0; k < nodes->n; k++) {
        const clog_node_t *x = &nodes->v[k];
        put_node(s, s->clogs_next.c[x->city].name, x->level, x->index, &x->h);
    }
    return QC_OK;
}

int store_city_apply(store_t *s, const qc_block_t *b, const qc_validator_set_t *vs,
                     const clog_set_t *after, const clog_nodes_t *nodes, sblock_t *sb) {
    int rc;
    if (after != NULL) {
        rc = apply_given(s, b, vs, after, nodes);
    } else {
        rc = clog_set_copy(&s->clogs_next, &s->clogs);
        clog_sink_t sink = {NULL, put_node, s};
        if (rc == QC_OK) rc = replay(&s->clogs_next, b, vs, &sink);
    }
    if (rc != QC_OK) return rc;
    put_spans(s, b->header.height);
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

/* One block's run of a city's leaves. */
typedef struct {
    uint64_t height;
    uint64_t first;  /* log index of its first leaf */
    uint32_t count;
} span_t;

/* The span holding leaf `index` (< the city's size): the last 'Y' key at or before it. */
static int span_at(store_t *s, const char *city, uint64_t index, span_t *out) {
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_city_span(k, city, index), prefix = klen - 8;
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    leveldb_iter_seek(it, (const char *)k, klen);
    size_t got_len = 0;
    const uint8_t *got = NULL;
    if (leveldb_iter_valid(it)) got = (const uint8_t *)leveldb_iter_key(it, &got_len);
    /* not exactly at index: the span holding it starts before, at the previous key */
    if (got == NULL || got_len != klen || memcmp(got, k, klen) != 0) {
        if (leveldb_iter_valid(it)) leveldb_iter_prev(it);
        else leveldb_iter_seek_to_last(it);
        got = leveldb_iter_valid(it) ? (const uint8_t *)leveldb_iter_key(it, &got_len) : NULL;
    }
    int rc = QC_OK;
    if (got == NULL || got_len != klen || memcmp(got, k, prefix) != 0) {
        rc = store_corrupt(k, klen, "no span holds leaf %llu of %s's log of %llu",
                           (unsigned long long)index, city,
                           (unsigned long long)city_size(s, city));
    } else {
        size_t vlen;
        const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vlen);
        out->first = qc_get_u64(got + prefix);
        if (vlen != SV_CITY_SPAN_LEN || v[0] != STORE_FORMAT_VERSION)
            rc = store_corrupt(got, got_len, "value of %zu bytes", vlen);
        else {
            out->height = qc_get_u64(v + 1);
            out->count = qc_get_u32(v + 9);
            if (out->count == 0 || out->first + out->count <= index || out->height == 0 ||
                out->height > s->head.height)
                rc = store_corrupt(got, got_len, "span of %u leaves at height %llu does not hold "
                                   "leaf %llu", out->count, (unsigned long long)out->height,
                                   (unsigned long long)index);
        }
    }
    rc = store_iter_finish(it, rc, "reading a city-log span");
    return store_note(s, rc);
}

/* A reading position in one city's log: the leaves of the last span read. */
typedef struct {
    store_t *s;
    const char *city;
    uint64_t size;
    span_t span;            /* count 0: none loaded */
    qc_city_leaf_t *leaves; /* span.count of them (owned) */
} cursor_t;

static void cursor_init(cursor_t *c, store_t *s, const char *city) {
    memset(c, 0, sizeof *c);
    c->s = s;
    c->city = city;
    c->size = city_size(s, city);
}

static void cursor_free(cursor_t *c) {
    free(c->leaves);
    c->leaves = NULL;
    c->span.count = 0;
}

/* Loads the span holding `index` and its leaves, replayed from its block: exactly span.count
 * of the city's, else the ledger is damaged. */
static int cursor_load(cursor_t *c, uint64_t index) {
    cursor_free(c);
    span_t sp;
    int rc = span_at(c->s, c->city, index, &sp);
    if (rc != QC_OK) return rc;
    qc_block_t b;
    rc = store_block_get(c->s, sp.height, &b, NULL);
    if (rc != QC_OK) return rc;
    qc_validator_set_t *vs = malloc(sizeof *vs);
    qc_city_leaf_t *leaves = malloc((size_t)sp.count * sizeof *leaves);
    qc_city_leaf_t *tx_leaves = malloc(CLOG_TX_LEAVES_MAX * sizeof *tx_leaves);
    rc = vs && leaves && tx_leaves ? store_validators(c->s, b.header.epoch, vs) : QC_ERR_NOMEM;
    size_t n = 0;
    for (uint32_t i = 0; i < b.tx_count && rc == QC_OK; i++) {
        const qc_tx_t *tx = &b.txs[i];
        int m = qc_validators_find_seal(vs, &tx->signer);
        if (m < 0 || strcmp(vs->members[m].name, c->city) != 0) continue;
        size_t k;
        clog_tx_leaves(tx, sp.height, tx_leaves, &k);
        if (k > sp.count - n) {
            n = SIZE_MAX;
            break;
        }
        memcpy(leaves + n, tx_leaves, k * sizeof *leaves);
        n += k;
    }
    qc_block_free(&b);
    free(vs);
    free(tx_leaves);
    if (rc == QC_OK && n != sp.count) {
        uint8_t k[SK_MAX_LEN];
        rc = store_note(c->s, store_corrupt(k, sk_city_span(k, c->city, sp.first), "says block %llu "
                                            "holds %u of the city's events; it holds %s",
                                            (unsigned long long)sp.height, sp.count,
                                            n == SIZE_MAX ? "more" : "fewer"));
    }
    if (rc != QC_OK) {
        free(leaves);
        return rc;
    }
    c->span = sp;
    c->leaves = leaves;
    return QC_OK;
}

static int cursor_leaf(cursor_t *c, uint64_t index, qc_city_leaf_t *out) {
    if (index >= c->size) return QC_ERR_RANGE;
    if (c->span.count == 0 || index < c->span.first || index >= c->span.first + c->span.count) {
        int rc = cursor_load(c, index);
        if (rc != QC_OK) return rc;
    }
    *out = c->leaves[index - c->span.first];
    return QC_OK;
}

int store_city_leaves(store_t *s, const char *city, uint64_t lo, uint64_t hi,
                      qc_city_leaf_t *out) {
    if (!qc_member_name_valid(city)) return QC_ERR_INVALID;
    cursor_t c;
    cursor_init(&c, s, city);
    int rc = lo <= hi && hi <= c.size ? QC_OK : QC_ERR_RANGE;
    for (uint64_t i = lo; i < hi && rc == QC_OK; i++) rc = cursor_leaf(&c, i, &out[i - lo]);
    cursor_free(&c);
    return rc;
}

int store_city_leaf(store_t *s, const char *city, uint64_t index, qc_city_leaf_t *out) {
    return store_city_leaves(s, city, index, index + 1, out);
}

int store_city_first_at(store_t *s, const char *city, uint64_t height, uint64_t *index) {
    if (!qc_member_name_valid(city)) return QC_ERR_INVALID;
    /* the answer is a span's first index (or the size), in [lo, hi]; each step reads a span */
    uint64_t lo = 0, hi = city_size(s, city);
    for (int steps = 0; lo < hi && steps < 130; steps++) {
        span_t sp;
        int rc = span_at(s, city, lo + (hi - lo) / 2, &sp);
        if (rc != QC_OK) return rc;
        if (sp.height >= height) hi = sp.first;
        else lo = sp.first + sp.count;
    }
    if (lo != hi) return QC_ERR_CORRUPT; /* spans that do not tile the log */
    *index = lo;
    return QC_OK;
}

typedef struct {
    cursor_t cur;
    int error;
} node_ctx_t;

/* rlog_reader_t.get over a city's log: stored subtrees from STORE_NODE_LEVEL_MIN up, lower
 * ones (complete: rlog_range_hashes asks for no other) hashed from their leaves. */
static int city_node_get(void *ctx, uint32_t level, uint64_t index, qc_hash_t *out) {
    node_ctx_t *c = ctx;
    if (level >= 64 || index >= (c->cur.size >> level)) return QC_ERR_RANGE;
    if (level < STORE_NODE_LEVEL_MIN) {
        qc_hash_t h[1u << (STORE_NODE_LEVEL_MIN - 1)];
        uint64_t n = UINT64_C(1) << level, first = index << level;
        for (uint64_t i = 0; i < n; i++) {
            qc_city_leaf_t l;
            int rc = cursor_leaf(&c->cur, first + i, &l);
            if (rc != QC_OK) return rc;
            qc_city_leaf_hash(&l, &h[i]);
        }
        merkle_root(out, h, n);
        return QC_OK;
    }
    uint8_t k[SK_MAX_LEN], v[SV_LOG_LEN];
    size_t klen = sk_city_node(k, c->cur.city, level, index);
    int rc = store_get_fixed(c->cur.s, k, klen, v, sizeof v);
    if (rc == QC_ERR_NOTFOUND)
        rc = store_corrupt(k, klen, "missing, but %s's log has %llu leaves", c->cur.city,
                           (unsigned long long)c->cur.size);
    if (rc == QC_OK) memcpy(out->b, v + 1, 32);
    return store_note(c->cur.s, rc);
}

int store_city_range_hashes(store_t *s, const char *city, uint64_t lo, uint64_t hi,
                            qc_hash_t *out, size_t cap, size_t *count) {
    *count = 0;
    if (!qc_member_name_valid(city)) return QC_ERR_INVALID;
    node_ctx_t c;
    cursor_init(&c.cur, s, city);
    rlog_reader_t r = {city_node_get, &c};
    int rc = rlog_range_hashes(&r, c.cur.size, lo, hi, out, cap, count);
    cursor_free(&c.cur);
    return rc;
}

int store_state_prove_key(store_t *s, const qc_hash_t *key, smt_proof_t *p) {
    if (s->state_stale) return s->state_broken != QC_OK ? s->state_broken : QC_ERR_CORRUPT;
    smap_reader_t r = store_state_reader(s);
    return smap_prove(&r, key, p);
}

/* ---------------------------------------------------------------- integrity check */

/* The 'Y' spans tile every city log (each city's in order from index 0, no gap, none past its
 * size, heights increasing, within the head) and name no other city. */
static int check_spans(store_t *s) {
    uint8_t seek = SK_CITY_SPAN;
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    int rc = QC_OK;
    char city[QC_MEMBER_NAME_MAX + 1] = "";
    uint64_t next = 0, last_height = 0;
    size_t cities = 0;
    for (leveldb_iter_seek(it, (const char *)&seek, 1); leveldb_iter_valid(it) && rc == QC_OK;
         leveldb_iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
        const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vlen);
        if (k[0] != SK_CITY_SPAN) break;
        if (klen < 2 || k[1] > QC_MEMBER_NAME_MAX || klen != 2u + k[1] + 8) {
            rc = store_corrupt(k, klen, "key is %zu bytes", klen);
            break;
        }
        if (strlen(city) != k[1] || memcmp(city, k + 2, k[1]) != 0) { /* the next city */
            if (cities > 0 && next != city_size(s, city))
                rc = store_corrupt(k, klen, "the spans of %s end at %llu, its log has %llu",
                                   city, (unsigned long long)next,
                                   (unsigned long long)city_size(s, city));
            memcpy(city, k + 2, k[1]);
            city[k[1]] = '\0';
            cities++;
            next = 0;
            last_height = 0;
            if (rc == QC_OK && (!qc_member_name_valid(city) || city_size(s, city) == 0))
                rc = store_corrupt(k, klen, "a span of a city without a log");
        }
        if (rc != QC_OK) break;
        uint64_t first = qc_get_u64(k + klen - 8);
        if (vlen != SV_CITY_SPAN_LEN || v[0] != STORE_FORMAT_VERSION)
            rc = store_corrupt(k, klen, "value of %zu bytes", vlen);
        else if (first != next || qc_get_u32(v + 9) == 0 ||
                 qc_get_u64(v + 1) <= last_height || qc_get_u64(v + 1) > s->head.height)
            rc = store_corrupt(k, klen, "span out of order (expected one from leaf %llu after "
                               "height %llu)", (unsigned long long)next,
                               (unsigned long long)last_height);
        else {
            next = first + qc_get_u32(v + 9);
            last_height = qc_get_u64(v + 1);
        }
    }
    rc = store_iter_finish(it, rc, "scanning the city-log spans");
    if (rc == QC_OK && cities > 0 && next != city_size(s, city))
        rc = store_corrupt(&seek, 1, "the spans of %s end at %llu, its log has %llu", city,
                           (unsigned long long)next, (unsigned long long)city_size(s, city));
    size_t with_log = 0;
    for (size_t i = 0; i < s->clogs.n; i++) with_log += s->clogs.c[i].log.size > 0;
    if (rc == QC_OK && cities != with_log)
        rc = store_corrupt(&seek, 1, "spans of %zu cities, %zu cities have a log", cities,
                           with_log);
    return rc;
}

/* The 'Z' family holds exactly the subtrees from STORE_NODE_LEVEL_MIN up that the logs' sizes
 * imply, each of its exact length and the hash of its two children (at the lowest stored
 * level hashed from the leaves the blocks replay to; above, the stored children, checked first
 * since keys sort by city, level, index). */
typedef struct {
    store_t *s;
    uint64_t want, count;
    bool have_city;
    node_ctx_t nc;            /* reading the city of the last key (have_city) */
} node_check_t;

static int check_node(void *ctx, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen) {
    node_check_t *x = ctx;
    if (++x->count > x->want)
        return store_corrupt(k, klen, "more keys in this family than the city logs hold (%llu)",
                             (unsigned long long)x->want);
    char name[QC_MEMBER_NAME_MAX + 1] = "";
    if (klen < 2 || k[1] > QC_MEMBER_NAME_MAX || klen != 2u + k[1] + 9)
        return store_corrupt(k, klen, "key is %zu bytes", klen);
    memcpy(name, k + 2, k[1]);
    const clog_city_t *c = qc_member_name_valid(name) ? clog_find(&x->s->clogs, name) : NULL;
    uint32_t level = k[2 + k[1]];
    uint64_t index = qc_get_u64(k + klen - 8);
    if (c == NULL || level < STORE_NODE_LEVEL_MIN || level >= 64 ||
        index >= (c->log.size >> level))
        return store_corrupt(k, klen, "lies outside every city log");
    if (vlen != SV_LOG_LEN || v[0] != STORE_FORMAT_VERSION)
        return store_corrupt(k, klen, "value of %zu bytes", vlen);
    if (!x->have_city || strcmp(x->nc.cur.city, name) != 0) {
        if (x->have_city) cursor_free(&x->nc.cur);
        cursor_init(&x->nc.cur, x->s, c->name);
        x->have_city = true;
    }
    qc_hash_t l, r, expect;
    int rc = city_node_get(&x->nc, level - 1, 2 * index, &l);
    if (rc == QC_OK) rc = city_node_get(&x->nc, level - 1, 2 * index + 1, &r);
    if (rc != QC_OK) return rc;
    merkle_node_hash(&expect, &l, &r);
    if (memcmp(expect.b, v + 1, 32) != 0)
        return store_corrupt(k, klen, "is not the hash of its two children");
    return QC_OK;
}

static int check_nodes(store_t *s) {
    node_check_t x;
    memset(&x, 0, sizeof x);
    x.s = s;
    for (size_t i = 0; i < s->clogs.n; i++)
        for (uint32_t level = STORE_NODE_LEVEL_MIN; level < 64; level++)
            x.want += s->clogs.c[i].log.size >> level;
    int rc = store_scan_family(s, SK_CITY_NODE, check_node, &x, "scanning the city-log nodes");
    if (x.have_city) cursor_free(&x.nc.cur);
    uint8_t family = SK_CITY_NODE;
    if (rc == QC_OK && x.count != x.want)
        rc = store_corrupt(&family, 1, "%llu keys in this family, the city logs imply %llu",
                           (unsigned long long)x.count, (unsigned long long)x.want);
    return rc;
}

int store_city_check(store_t *s) {
    int rc = check_spans(s);
    if (rc == QC_OK) rc = check_nodes(s);
    return rc;
}
