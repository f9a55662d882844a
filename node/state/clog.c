/* clog.c - per-city record-event logs and their state-map updates (clog.h). */
#include "clog.h"

#include <stdlib.h>
#include <string.h>

void clog_set_free(clog_set_t *s) {
    free(s->c);
    memset(s, 0, sizeof *s);
}

static int reserve(clog_set_t *s, size_t n) {
    if (n <= s->cap) return QC_OK;
    size_t cap = s->cap ? s->cap : 16;
    while (cap < n) cap *= 2;
    clog_city_t *c = realloc(s->c, cap * sizeof *c);
    if (c == NULL) return QC_ERR_NOMEM;
    s->c = c;
    s->cap = cap;
    return QC_OK;
}

int clog_set_copy(clog_set_t *dst, const clog_set_t *src) {
    dst->n = 0;
    if (reserve(dst, src->n) != QC_OK) {
        clog_set_free(dst);
        return QC_ERR_NOMEM;
    }
    if (src->n > 0) memcpy(dst->c, src->c, src->n * sizeof *src->c);
    dst->n = src->n;
    return QC_OK;
}

const clog_city_t *clog_find(const clog_set_t *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->c[i].name, name) == 0) return &s->c[i];
    return NULL;
}

/* The city's log, made empty when it has none yet. */
static int city_of(clog_set_t *s, const char *name, clog_city_t **out) {
    clog_city_t *c = (clog_city_t *)clog_find(s, name);
    if (c == NULL) {
        if (!qc_member_name_valid(name)) return QC_ERR_INVALID;
        if (s->n >= CLOG_CITIES_MAX) return QC_ERR_FULL;
        if (reserve(s, s->n + 1) != QC_OK) return QC_ERR_NOMEM;
        c = &s->c[s->n++];
        memset(c, 0, sizeof *c);
        memcpy(c->name, name, strlen(name) + 1);
    }
    *out = c;
    return QC_OK;
}

void clog_nodes_free(clog_nodes_t *x) {
    free(x->v);
    memset(x, 0, sizeof *x);
}

static int keep_node(void *ctx, const char *city, uint32_t level, uint64_t index,
                     const qc_hash_t *h) {
    clog_nodes_t *x = ctx;
    if (level < CLOG_NODE_LEVEL_KEPT) return QC_OK;
    const clog_city_t *c = clog_find(x->set, city);
    QC_ASSERT(c != NULL); /* clog_tx appends to a city of the set */
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 64;
        clog_node_t *v = realloc(x->v, cap * sizeof *v);
        if (v == NULL) return QC_ERR_NOMEM;
        x->v = v;
        x->cap = cap;
    }
    x->v[x->n++] = (clog_node_t){.city = (uint32_t)(c - x->set->c), .level = level,
                                 .index = index, .h = *h};
    return QC_OK;
}

clog_sink_t clog_nodes_sink(clog_nodes_t *x, const clog_set_t *s) {
    x->set = s;
    return (clog_sink_t){.leaf = NULL, .node = keep_node, .ctx = x};
}

typedef struct {
    const clog_sink_t *sink;
    const char *city;
} put_ctx_t;

static int put_node(void *ctx, uint32_t level, uint64_t index, const qc_hash_t *h) {
    const put_ctx_t *p = ctx;
    return p->sink->node(p->sink->ctx, p->city, level, index, h);
}

static int append(clog_city_t *c, const qc_city_leaf_t *leaf, const clog_sink_t *sink) {
    if (sink && sink->leaf) {
        int rc = sink->leaf(sink->ctx, c->name, c->log.size, leaf);
        if (rc != QC_OK) return rc;
    }
    qc_hash_t h;
    qc_city_leaf_hash(leaf, &h);
    put_ctx_t p = {sink, c->name};
    int rc = rlog_append(&c->log, &h, sink && sink->node ? put_node : NULL, &p);
    if (rc == QC_OK) c->grown = true;
    return rc;
}

void clog_tx_leaves(const qc_tx_t *tx, uint64_t height, qc_city_leaf_t *out, size_t *n) {
    *n = 0;
    qc_city_leaf_t leaf = {.height = height, .tx_id = tx->id};
    if (tx->type == QC_TX_ANCHOR) {
        QC_ASSERT(tx->record_count <= CLOG_TX_LEAVES_MAX);
        leaf.kind = QC_CITY_ANCHOR;
        for (uint32_t i = 0; i < tx->record_count; i++) {
            leaf.index = (uint16_t)i;
            memcpy(leaf.digest.b, tx->records[i].digest, 32);
            out[(*n)++] = leaf;
        }
        return;
    }
    if (tx->type != QC_TX_ENDORSE && tx->type != QC_TX_REVOKE && tx->type != QC_TX_SUPERSEDE)
        return;
    QC_ASSERT(tx->life != NULL);
    leaf.digest = tx->life->digest;
    leaf.kind = tx->type == QC_TX_ENDORSE ? QC_CITY_ENDORSE
              : tx->type == QC_TX_REVOKE  ? QC_CITY_REVOKE
                                          : QC_CITY_SUPERSEDE_OLD;
    out[(*n)++] = leaf;
    if (tx->type == QC_TX_SUPERSEDE) {
        leaf.index = 1;
        leaf.kind = QC_CITY_SUPERSEDE_NEW;
        leaf.digest = tx->life->new_digest;
        out[(*n)++] = leaf;
    }
}

int clog_tx(clog_set_t *s, const qc_tx_t *tx, const char *city, uint64_t height,
            const clog_sink_t *sink) {
    if (tx->type != QC_TX_ANCHOR && tx->type != QC_TX_ENDORSE && tx->type != QC_TX_REVOKE &&
        tx->type != QC_TX_SUPERSEDE)
        return QC_OK;
    clog_city_t *c;
    int rc = city_of(s, city, &c);
    if (rc != QC_OK) return rc;
    qc_city_leaf_t leaf = {.height = height, .tx_id = tx->id};
    if (tx->type == QC_TX_ANCHOR) {
        leaf.kind = QC_CITY_ANCHOR;
        for (uint32_t i = 0; i < tx->record_count && rc == QC_OK; i++) {
            leaf.index = (uint16_t)i;
            memcpy(leaf.digest.b, tx->records[i].digest, 32);
            rc = append(c, &leaf, sink);
        }
        return rc;
    }
    qc_city_leaf_t two[2];
    size_t n;
    clog_tx_leaves(tx, height, two, &n);
    for (size_t i = 0; i < n && rc == QC_OK; i++) rc = append(c, &two[i], sink);
    return rc;
}

size_t clog_tx_events(const qc_tx_t *tx) {
    switch (tx->type) {
    case QC_TX_ANCHOR: return tx->record_count;
    case QC_TX_ENDORSE:
    case QC_TX_REVOKE: return 1;
    case QC_TX_SUPERSEDE: return 2;
    default: return 0;
    }
}

uint64_t clog_block_events(const clog_set_t *s, const clog_set_t *before, const char *city) {
    const clog_city_t *now = clog_find(s, city);
    const clog_city_t *then = before ? clog_find(before, city) : NULL;
    uint64_t size = now ? now->log.size : 0, size0 = then ? then->log.size : 0;
    QC_ASSERT(size >= size0);
    return size - size0;
}

int clog_finish(clog_set_t *s, sblock_t *sb) {
    for (size_t i = 0; i < s->n; i++) {
        clog_city_t *c = &s->c[i];
        if (!c->grown) continue;
        qc_hash_t key, root, head;
        qc_city_key(c->name, &key);
        rlog_root(&c->log, &root);
        qc_city_head(c->log.size, &root, &head);
        int rc = sblock_put(sb, &key, &head);
        if (rc != QC_OK) return rc;
        c->grown = false;
    }
    return QC_OK;
}
