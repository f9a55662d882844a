/* sblock.c - one block's updates to the state map and the root they lead to (sblock.h). */
#include "sblock.h"

#include <stdlib.h>
#include <string.h>

void sblock_free(sblock_t *sb) {
    free(sb->u);
    memset(sb, 0, sizeof *sb);
}

void sblock_reset(sblock_t *sb) { sb->n = 0; }

static int reserve(sblock_t *sb, size_t more) {
    if (more > SMAP_BATCH_MAX - sb->n) return QC_ERR_TOOBIG;
    if (sb->n + more <= sb->cap) return QC_OK;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->n + more) cap *= 2;
    smap_update_t *u = realloc(sb->u, cap * sizeof *u);
    if (u == NULL) return QC_ERR_NOMEM;
    sb->u = u;
    sb->cap = cap;
    return QC_OK;
}

int sblock_anchor(sblock_t *sb, const qc_tx_t *tx, const char *owner, uint64_t height,
                  uint64_t log_index) {
    if (tx->type != QC_TX_ANCHOR || tx->record_count == 0) return QC_OK;
    int rc = reserve(sb, tx->record_count);
    if (rc != QC_OK) return rc;
    for (uint32_t r = 0; r < tx->record_count; r++) {
        const uint8_t *d = tx->records[r].digest;
        smap_update_t *u = &sb->u[sb->n++];
        qc_recstat_fresh_hash(d, owner, height, &tx->id, log_index + r, &u->value);
        smt_map_key(&u->key, d);
        u->if_absent = true;
    }
    return QC_OK;
}

int sblock_set(sblock_t *sb, const uint8_t digest[32], const uint8_t *enc, size_t len) {
    int rc = reserve(sb, 1);
    if (rc != QC_OK) return rc;
    smap_update_t *u = &sb->u[sb->n++];
    smt_map_key(&u->key, digest);
    qc_recstat_enc_hash(enc, len, &u->value);
    u->if_absent = false;
    return QC_OK;
}

int sblock_put(sblock_t *sb, const qc_hash_t *key, const qc_hash_t *value) {
    int rc = reserve(sb, 1);
    if (rc != QC_OK) return rc;
    smap_update_t *u = &sb->u[sb->n++];
    u->key = *key;
    u->value = *value;
    u->if_absent = false;
    return QC_OK;
}

static int changed_cb(void *ctx, const uint8_t digest[32], const uint8_t *enc, size_t len) {
    return sblock_set(ctx, digest, enc, len);
}

int sblock_changed(sblock_t *sb, const lc_state_t *lc) {
    return lc_each_changed(lc, changed_cb, sb);
}

int sblock_finish(sblock_t *sb, const smap_reader_t *r, smap_writes_t *ws, qc_hash_t *root) {
    size_t n = sb->n;
    int rc = smap_prepare(sb->u, sb->n, &n);
    if (rc != QC_OK) return rc;
    sb->n = n;
    return smap_apply(r, sb->u, n, ws, root);
}

static int empty_get(void *ctx, const smap_pos_t *pos, smap_node_t *out) {
    (void)ctx, (void)pos, (void)out;
    return QC_ERR_NOTFOUND;
}

smap_reader_t sblock_empty_reader(void) { return (smap_reader_t){empty_get, NULL, NULL}; }

static int layers_get(void *ctx, const smap_pos_t *pos, smap_node_t *out) {
    const sblock_layers_t *l = ctx;
    for (size_t i = 0; i < l->n; i++) {
        int rc = l->layers[i].get(l->layers[i].ctx, pos, out);
        if (rc != QC_ERR_NOTFOUND) return rc;
    }
    return l->base.get(l->base.ctx, pos, out);
}

/* A read asks each layer before the base, and each asking is a miss on its table unless
 * hinted: the layers and the base all get the hints. */
static void layers_prefetch(void *ctx, const smap_pos_t *pos) {
    const sblock_layers_t *l = ctx;
    for (size_t i = 0; i < l->n; i++)
        if (l->layers[i].prefetch) l->layers[i].prefetch(l->layers[i].ctx, pos);
    if (l->base.prefetch) l->base.prefetch(l->base.ctx, pos);
}

static void layers_prefetch_node(void *ctx, const smap_pos_t *pos) {
    const sblock_layers_t *l = ctx;
    for (size_t i = 0; i < l->n; i++)
        if (l->layers[i].prefetch_node) l->layers[i].prefetch_node(l->layers[i].ctx, pos);
    if (l->base.prefetch_node) l->base.prefetch_node(l->base.ctx, pos);
}

smap_reader_t sblock_layers_reader(sblock_layers_t *l) {
    QC_ASSERT(l->n == 0 || l->layers != NULL);
    return (smap_reader_t){layers_get, l, layers_prefetch, layers_prefetch_node};
}
