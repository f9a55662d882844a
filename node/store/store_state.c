/* store_state.c - the store's state map (docs/MERKLE.md §8.4, PROTOCOL §12). The map is derived
 * state: every status in it follows from the stored blocks and statuses. Resident (the default)
 * it is held whole in memory, never written, and rebuilt from every block at open. Paged, its
 * nodes are kept in LevelDB as of a snapshot height with a bounded cache of them in memory,
 * written apart from the blocks and lazily: a crash loses at most the blocks since the last
 * snapshot, which the next open replays. */
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "recstat.h"
#include "store_impl.h"

#define REBUILD_BATCH_MAX (1u << 20) /* updates applied to the map at once while replaying */
#define CLEAR_BATCH_KEYS 65536u      /* deletions per write when the stored nodes are dropped */
#define SNAP_CITY_MAX_BYTES (1 + QC_MEMBER_NAME_MAX + 8 + 64 * QC_HASH_BYTES)
#define SNAP_HEAD_BYTES (1 + 8 + QC_HASH_BYTES + 4)

/* ---- the nodes in LevelDB ----------------------------------------------------------------- */

/* The cache's backing reader: the node stored at pos ('X', above the cut; as of the snapshot
 * height), else the node hashed from the ledger (store_subtree.c): below the cut none is
 * stored, and above it one may not be yet (the cut rose since the node last changed). */
static int disk_get(void *ctx, const smap_pos_t *pos, smap_node_t *out) {
    store_t *s = ctx;
    uint8_t k[1 + SMAP_POS_MAX_BYTES];
    size_t klen = sk_map_node(k, pos);
    char *v;
    size_t vlen;
    int rc = store_get(s, k, klen, &v, &vlen);
    if (rc == QC_ERR_NOTFOUND) return store_subtree_compute(s, pos, out);
    if (rc != QC_OK) return rc;
    if (vlen < 1 || (uint8_t)v[0] != STORE_FORMAT_VERSION ||
        smap_node_decode(pos, (const uint8_t *)v + 1, vlen - 1, out) != QC_OK)
        rc = store_corrupt(k, klen, "state-map node (%zu bytes) does not decode at its position",
                           vlen);
    leveldb_free(v);
    return rc;
}

typedef struct {
    leveldb_writebatch_t *b;
    unsigned cut; /* nodes at this depth and deeper are not written */
} node_batch_t;

static int batch_node(void *ctx, const smap_pos_t *pos, const smap_node_t *node) {
    node_batch_t *nb = ctx;
    if (pos->depth >= nb->cut) return QC_OK; /* hashed from the ledger when next read */
    store_batch_map_node(nb->b, pos, node);
    return QC_OK;
}

/* ---- the snapshot record ('U') ------------------------------------------------------------
 * version, u64 height, its block hash (32), u32 cities, then per city: str8 name, u64 log size,
 * one hash per set bit of the size from the lowest (its frontier). */

static int snap_encode(const store_t *s, const clog_set_t *clogs, uint8_t **out, size_t *len) {
    size_t cap = SNAP_HEAD_BYTES + clogs->n * SNAP_CITY_MAX_BYTES;
    uint8_t *v = malloc(cap);
    if (v == NULL) return QC_ERR_NOMEM;
    v[0] = STORE_FORMAT_VERSION;
    qc_put_u64(v + 1, s->head.height);
    memcpy(v + 9, s->head.hash.b, QC_HASH_BYTES);
    qc_put_u32(v + 41, (uint32_t)clogs->n);
    size_t o = SNAP_HEAD_BYTES;
    for (size_t i = 0; i < clogs->n; i++) {
        const clog_city_t *c = &clogs->c[i];
        size_t nl = strlen(c->name);
        v[o++] = (uint8_t)nl;
        memcpy(v + o, c->name, nl);
        o += nl;
        qc_put_u64(v + o, c->log.size);
        o += 8;
        for (unsigned b = 0; b < 64; b++)
            if (c->log.size >> b & 1) {
                memcpy(v + o, c->log.frontier[b].b, QC_HASH_BYTES);
                o += QC_HASH_BYTES;
            }
    }
    *out = v;
    *len = o;
    return QC_OK;
}

/* Reads the snapshot: QC_OK with its height, block hash and city logs (*clogs, owned by the
 * caller), QC_ERR_NOTFOUND, QC_ERR_CORRUPT (logged), or a read error. */
static int snap_read(store_t *s, uint64_t *height, qc_hash_t *hash, clog_set_t *clogs) {
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_single(k, SK_MAP_SNAP);
    char *val;
    size_t vlen;
    int rc = store_get(s, k, klen, &val, &vlen);
    if (rc != QC_OK) return rc;
    const uint8_t *v = (const uint8_t *)val;
    bool ok = vlen >= SNAP_HEAD_BYTES && v[0] == STORE_FORMAT_VERSION;
    uint32_t n = ok ? qc_get_u32(v + 41) : 0;
    ok = ok && n <= CLOG_CITIES_MAX;
    if (ok) {
        *height = qc_get_u64(v + 1);
        memcpy(hash->b, v + 9, QC_HASH_BYTES);
        clogs->c = n ? calloc(n, sizeof *clogs->c) : NULL;
        if (n && clogs->c == NULL) {
            leveldb_free(val);
            return QC_ERR_NOMEM;
        }
        clogs->n = clogs->cap = n;
    }
    size_t o = SNAP_HEAD_BYTES;
    for (uint32_t i = 0; ok && i < n; i++) {
        clog_city_t *c = &clogs->c[i];
        size_t nl = o < vlen ? v[o] : 0;
        ok = nl > 0 && nl <= QC_MEMBER_NAME_MAX && o + 1 + nl + 8 <= vlen;
        if (!ok) break;
        memcpy(c->name, v + o + 1, nl);
        c->name[nl] = '\0';
        o += 1 + nl;
        c->log.size = qc_get_u64(v + o);
        o += 8;
        for (unsigned b = 0; ok && b < 64; b++) {
            if (!(c->log.size >> b & 1)) continue;
            ok = o + QC_HASH_BYTES <= vlen;
            if (ok) memcpy(c->log.frontier[b].b, v + o, QC_HASH_BYTES);
            o += QC_HASH_BYTES;
        }
        ok = ok && c->log.size <= MERKLE_SIZE_MAX && qc_member_name_valid(c->name);
    }
    ok = ok && o == vlen;
    leveldb_free(val);
    if (ok) return QC_OK;
    clog_set_free(clogs);
    return store_corrupt(k, klen, "state-map snapshot (%zu bytes) does not decode", vlen);
}

/* Writes the dirty nodes of the cache, and with them the snapshot at the head (with_snap) or,
 * in the middle of a replay, the snapshot's removal (the nodes then match no height). */
static int write_nodes(store_t *s, smap_mem_t *m, const clog_set_t *clogs, bool with_snap) {
    leveldb_writebatch_t *b = leveldb_writebatch_create();
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_single(k, SK_MAP_SNAP);
    /* The cut as of the head the map is brought to (a replay's too): it never decreases, so
     * no node below it was ever written, and one above it that is not is computed when read.
     * Every dirty node becomes clean: those below the cut are hashed again from the ledger,
     * which holds their block, if they are evicted. */
    node_batch_t nb = {.b = b, .cut = store_subtree_cut(s->head.log_size)};
    int rc = smap_mem_each_dirty(m, batch_node, &nb);
    uint8_t *v = NULL;
    size_t vlen = 0;
    if (rc == QC_OK && with_snap) rc = snap_encode(s, clogs, &v, &vlen);
    if (rc == QC_OK) {
        if (with_snap)
            leveldb_writebatch_put(b, (const char *)k, klen, (const char *)v, vlen);
        else
            leveldb_writebatch_delete(b, (const char *)k, klen);
        rc = store_write(s, b, "writing the state map");
    }
    free(v);
    leveldb_writebatch_destroy(b);
    if (rc != QC_OK) return rc;
    smap_mem_mark_clean(m);
    s->state_snap_height = with_snap ? s->head.height : UINT64_MAX;
    if (with_snap) s->state_snap_log_size = s->head.log_size;
    s->state_flushes += with_snap;
    return QC_OK;
}

/* Drops every stored node and the snapshot, and resident also the anchor-tx table ('J', kept
 * only for the paged map): a replay from the first block starts empty. */
static int clear_nodes(store_t *s) {
    leveldb_writebatch_t *b = leveldb_writebatch_create();
    uint8_t sk[SK_MAX_LEN];
    size_t sklen = sk_single(sk, SK_MAP_SNAP), pending = 0;
    char *v;
    size_t vlen;
    int rc = store_get(s, sk, sklen, &v, &vlen);
    if (rc == QC_OK) {
        leveldb_free(v);
        leveldb_writebatch_delete(b, (const char *)sk, sklen);
        pending++;
    }
    if (rc == QC_ERR_NOTFOUND || rc == QC_ERR_CORRUPT) rc = QC_OK;
    const uint8_t families[2] = {SK_MAP_NODE, SK_ANCHOR_TX};
    for (size_t f = 0; f < (s->state_paged ? 1u : 2u) && rc == QC_OK; f++) {
        leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
        for (leveldb_iter_seek(it, (const char *)&families[f], 1);
             leveldb_iter_valid(it) && rc == QC_OK; leveldb_iter_next(it)) {
            size_t klen;
            const char *k = leveldb_iter_key(it, &klen);
            if ((uint8_t)k[0] != families[f]) break;
            leveldb_writebatch_delete(b, k, klen);
            if (++pending >= CLEAR_BATCH_KEYS) {
                rc = store_write(s, b, "dropping the stored state map");
                leveldb_writebatch_clear(b);
                pending = 0;
            }
        }
        rc = store_iter_finish(it, rc, "reading the stored state map");
    }
    if (rc == QC_OK && pending > 0) rc = store_write(s, b, "dropping the stored state map");
    leveldb_writebatch_destroy(b);
    if (rc == QC_OK) s->state_snap_height = UINT64_MAX;
    return rc;
}

/* ---- reads ---------------------------------------------------------------------------------- */

smap_reader_t store_state_reader(store_t *s) {
    QC_ASSERT(s->state != NULL);
    return smap_mem_reader(s->state);
}

int store_state_root(store_t *s, qc_hash_t *root) {
    if (s->state_stale) return s->state_broken != QC_OK ? s->state_broken : QC_ERR_CORRUPT;
    smap_reader_t r = store_state_reader(s);
    return store_note(s, smap_root(&r, root));
}

int store_state_prove(store_t *s, const uint8_t digest[32], smt_proof_t *p) {
    if (s->state_stale) return s->state_broken != QC_OK ? s->state_broken : QC_ERR_CORRUPT;
    smap_reader_t r = store_state_reader(s);
    qc_hash_t key;
    smt_map_key(&key, digest);
    return store_note(s, smap_prove(&r, &key, p));
}

int store_state_writes_root(store_t *s, const smap_writes_t *ws, qc_hash_t *root) {
    if (ws->n == 0) return store_state_root(s, root); /* a block without records */
    /* parents after children: the top is last */
    if (smap_writes_pos(ws, ws->last)->depth != 0) return QC_ERR_INVALID;
    smap_node_t top;
    smap_writes_node(ws, ws->last, &top);
    smap_top_root(&top, root);
    return QC_OK;
}

void store_state_stats(const store_t *s, store_state_stats_t *out) {
    memset(out, 0, sizeof *out);
    if (s->state != NULL) smap_mem_stats(s->state, &out->cache);
    out->nodes_max = s->state_nodes_max;
    out->snapshot_height = s->state_snap_height;
    out->replayed_blocks = s->state_replayed;
    out->snapshots_written = s->state_flushes;
    out->subtrees_computed = s->state_computed;
    out->cut_depth = s->state_paged ? store_subtree_cut(s->head.log_size) : 0;
}

/* ---- keeping the cache bounded -------------------------------------------------------------- */

int store_state_flush(store_t *s) {
    if (!s->state_paged || s->state == NULL || s->state_stale || s->group != NULL || s->write_error != QC_OK ||
        s->db == NULL)
        return QC_OK;
    if (smap_mem_dirty(s->state) == 0 && s->state_snap_height == s->head.height) return QC_OK;
    return write_nodes(s, s->state, &s->clogs, true);
}

void store_state_maintain(store_t *s) {
    if (!s->state_paged || s->state_stale || s->group != NULL) return;
    bool full = smap_mem_count(s->state) > s->state_nodes_max;
    bool due = s->head.log_size - s->state_snap_log_size >= s->state_snap_records &&
               s->state_snap_height != s->head.height;
    if (!full && !due) return;
    /* Down to three quarters, so that the next flush waits for a quarter's new nodes. */
    size_t keep = s->state_nodes_max / 4 * 3;
    if (full) {
        /* Dirty nodes at or below the cut need no write to be dropped: the ledger, which
         * holds their blocks, gives them again. Only the stored part's changes (or many
         * records since the last snapshot, which bounds a crash's replay) make a snapshot. */
        smap_mem_mark_clean_from(s->state, store_subtree_cut(s->head.log_size));
        smap_mem_evict(s->state, keep);
        full = smap_mem_count(s->state) > s->state_nodes_max;
    }
    if ((!full && !due) || s->write_error != QC_OK) return;
    if (write_nodes(s, s->state, &s->clogs, true) == QC_OK && full)
        smap_mem_evict(s->state, keep);
}

/* ---- load: snapshot + replay ---------------------------------------------------------------- */

typedef struct {
    store_t *s;
    smap_mem_t *m;
    sblock_t sb;
    smap_writes_t ws;
    clog_set_t clogs;
    bool snap_dropped; /* a replay write removed the snapshot */
    bool no_anchors;   /* paged from nothing: the records' part is built from the index, and
                          the replay only writes the anchor-tx table and the city logs */
    leveldb_writebatch_t *jb; /* those 'J' puts, written every CLEAR_BATCH_KEYS */
    size_t jn;
    qc_hash_t *digests; /* replay from a snapshot: every digest a lifecycle tx named */
    size_t nd, dcap;
} load_t;

/* Applies and commits what the load's sblock holds; keeps the cache to its bound by writing
 * its dirty nodes (which match no height until the replay ends: the snapshot goes). */
static int load_flush(load_t *l) {
    smap_reader_t r = smap_mem_reader(l->m);
    qc_hash_t root;
    smap_writes_reset(&l->ws);
    int rc = sblock_finish(&l->sb, &r, &l->ws, &root);
    if (rc == QC_OK) rc = smap_mem_commit(l->m, &l->ws);
    sblock_reset(&l->sb);
    if (rc != QC_OK || smap_mem_count(l->m) <= l->s->state_nodes_max) return rc;
    size_t keep = l->s->state_nodes_max / 4 * 3;
    smap_mem_mark_clean_from(l->m, store_subtree_cut(l->s->head.log_size));
    smap_mem_evict(l->m, keep);
    if (smap_mem_count(l->m) <= l->s->state_nodes_max) return QC_OK;
    rc = write_nodes(l->s, l->m, NULL, false);
    if (rc == QC_OK) {
        l->snap_dropped = true;
        smap_mem_evict(l->m, keep);
    }
    return rc;
}

static int note_digest(load_t *l, const qc_hash_t *d) {
    if (l->nd == l->dcap) {
        size_t cap = l->dcap ? 2 * l->dcap : 256;
        qc_hash_t *n = realloc(l->digests, cap * sizeof *n);
        if (n == NULL) return QC_ERR_NOMEM;
        l->digests = n;
        l->dcap = cap;
    }
    l->digests[l->nd++] = *d;
    return QC_OK;
}

/* The city heads the replay changed go into the map after everything else it replayed. */
static int replay_finish(load_t *l) {
    int rc = clog_finish(&l->clogs, &l->sb);
    return rc == QC_OK ? load_flush(l) : rc;
}

/* Paged from nothing: a 'J' entry (an ANCHOR's id and owner) batched; the map then hashes
 * records' fresh statuses from them. */
static int put_anchor_tx(load_t *l, uint64_t height, uint32_t tx, const qc_hash_t *id,
                         const char *owner) {
    if (l->jb == NULL && (l->jb = leveldb_writebatch_create()) == NULL) return QC_ERR_NOMEM;
    uint8_t k[SK_MAX_LEN], v[SV_ANCHOR_TX_MAX];
    size_t vlen = sv_anchor_tx_encode(v, id, owner);
    leveldb_writebatch_put(l->jb, (const char *)k, sk_anchor_tx(k, height, tx), (const char *)v,
                           vlen);
    if (++l->jn < CLEAR_BATCH_KEYS) return QC_OK;
    int rc = store_write(l->s, l->jb, "writing the anchor-tx table");
    leveldb_writebatch_clear(l->jb);
    l->jn = 0;
    return rc;
}

/* Blocks from+1..head: every record's anchoring (insert if absent), the city logs' events,
 * and (when from > 0) the digests their lifecycle transactions name; paged from nothing, each
 * ANCHOR's 'J' entry and the city logs only, the heads left for replay_finish. */
static int replay_blocks(load_t *l, uint64_t from) {
    store_t *s = l->s;
    qc_validator_set_t *vs = malloc(sizeof *vs);
    if (vs == NULL) return QC_ERR_NOMEM;
    uint64_t vs_epoch = UINT64_MAX;
    int rc = QC_OK;
    for (uint64_t h = from + 1; h <= s->head.height && rc == QC_OK; h++) {
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
            if (tx->type == QC_TX_ANCHOR && !l->no_anchors) {
                int city = qc_validators_find_seal(vs, &tx->signer);
                if (city < 0) {
                    uint8_t k[SK_MAX_LEN];
                    rc = store_corrupt(k, sk_u64(k, SK_BLOCK, h), "an ANCHOR not signed by a "
                                       "member's seal key");
                    break;
                }
                rc = sblock_anchor(&l->sb, tx, vs->members[city].name, h, log_index);
            } else if (tx->type == QC_TX_ANCHOR && tx->record_count > 0) {
                int city = qc_validators_find_seal(vs, &tx->signer);
                uint8_t k[SK_MAX_LEN];
                rc = city >= 0 ? put_anchor_tx(l, h, i, &tx->id, vs->members[city].name)
                               : store_corrupt(k, sk_u64(k, SK_BLOCK, h), "an ANCHOR not "
                                               "signed by a member's seal key");
            } else if (from > 0 && tx->life != NULL) {
                rc = note_digest(l, &tx->life->digest);
                if (rc == QC_OK && tx->type == QC_TX_SUPERSEDE)
                    rc = note_digest(l, &tx->life->new_digest);
            }
            log_index += tx->record_count;
        }
        if (rc == QC_OK) rc = store_city_replay(&l->clogs, &b, vs);
        qc_block_free(&b);
        if (rc == QC_OK && l->sb.n >= REBUILD_BATCH_MAX) rc = load_flush(l);
    }
    free(vs);
    if (rc == QC_OK && l->jn > 0) {
        rc = store_write(s, l->jb, "writing the anchor-tx table");
        leveldb_writebatch_clear(l->jb);
        l->jn = 0;
    }
    if (rc == QC_OK && !l->no_anchors) rc = replay_finish(l);
    return rc;
}

/* One stored status (key k, value v) replaces its record's fresh one. */
static int status_set(load_t *l, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen,
                      qc_recstat_t *st) {
    if (klen != SK_MAPPED_LEN || vlen < 2 || v[0] != STORE_FORMAT_VERSION ||
        qc_recstat_decode(v + 1, vlen - 1, st) != QC_OK ||
        memcmp(st->digest.b, k + SK_DIGEST_AT, 32) != 0)
        return store_corrupt(k, klen, "stored record status (%zu bytes) does not decode as this "
                             "digest's", vlen);
    int rc = sblock_set(&l->sb, k + SK_DIGEST_AT, v + 1, vlen - 1);
    if (rc == QC_OK && l->sb.n >= REBUILD_BATCH_MAX) rc = load_flush(l);
    return rc;
}

/* Every stored status (a replay from the first block). */
static int replay_all_statuses(load_t *l, qc_recstat_t *st) {
    store_t *s = l->s;
    uint8_t seek = SK_STATUS;
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    int rc = QC_OK;
    for (leveldb_iter_seek(it, (const char *)&seek, 1); leveldb_iter_valid(it) && rc == QC_OK;
         leveldb_iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
        const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vlen);
        if (k[0] != SK_STATUS) break;
        rc = status_set(l, k, klen, v, vlen, st);
    }
    return store_iter_finish(it, rc, "reading the record statuses");
}

static int cmp_hash(const void *a, const void *b) { return memcmp(a, b, QC_HASH_BYTES); }

/* The stored statuses of the digests the replayed blocks' lifecycle transactions named (a
 * status only changes by one, and 'S' holds the latest). */
static int replay_named_statuses(load_t *l, qc_recstat_t *st) {
    if (l->nd > 1) qsort(l->digests, l->nd, sizeof *l->digests, cmp_hash);
    int rc = QC_OK;
    for (size_t i = 0; i < l->nd && rc == QC_OK; i++) {
        if (i > 0 && memcmp(l->digests[i].b, l->digests[i - 1].b, QC_HASH_BYTES) == 0) continue;
        uint8_t k[SK_MAX_LEN];
        size_t klen = sk_status(k, l->digests[i].b);
        char *v;
        size_t vlen;
        rc = store_get(l->s, k, klen, &v, &vlen);
        if (rc == QC_ERR_NOTFOUND) { /* a refused or no-op change left no status */
            rc = QC_OK;
            continue;
        }
        if (rc != QC_OK) break;
        rc = status_set(l, k, klen, (const uint8_t *)v, vlen, st);
        leveldb_free(v);
    }
    return rc;
}

/* The map at the head from the snapshot at `from` (its city logs in l->clogs) or, from 0, from
 * nothing; checked against the head's state root. */
static int load_from(load_t *l, uint64_t from) {
    store_t *s = l->s;
    int rc = QC_OK;
    if (from == 0 && s->state_paged) {
        /* Paged from nothing: the blocks once for the anchor-tx table (the resident map keeps
         * none) and the city logs; then the nodes above the cut straight from the record index,
         * the statuses (each record's latest) and that table; then the city heads on top. */
        uint64_t written;
        l->no_anchors = true;
        rc = replay_blocks(l, from);
        if (rc == QC_OK) rc = store_subtree_build(s, &written);
        if (rc == QC_OK) {
            QC_INFO("store: %s: state map: %llu nodes above depth %u hashed from the records",
                    s->dir, (unsigned long long)written, store_subtree_cut(s->head.log_size));
            rc = replay_finish(l);
        }
    } else {
        rc = replay_blocks(l, from);
    }
    qc_recstat_t *st = malloc(sizeof *st);
    if (st == NULL) rc = rc == QC_OK ? QC_ERR_NOMEM : rc;
    if (rc == QC_OK && !l->no_anchors)
        rc = from == 0 ? replay_all_statuses(l, st) : replay_named_statuses(l, st);
    if (rc == QC_OK) rc = load_flush(l);
    free(st);
    qc_hash_t root = {{0}};
    smap_reader_t r = smap_mem_reader(l->m);
    if (rc == QC_OK) rc = smap_root(&r, &root);
    if (rc == QC_OK && s->head.height > 0) {
        qc_header_t h;
        rc = store_header_get(s, s->head.height, &h);
        if (rc == QC_OK && memcmp(h.state_root.b, root.b, QC_HASH_BYTES) != 0) {
            uint8_t k[SK_MAX_LEN];
            rc = store_corrupt(k, sk_u64(k, SK_BLOCK, s->head.height),
                               "the state map (snapshot at %llu, blocks since replayed) does not "
                               "give the head's state root", (unsigned long long)from);
        }
    }
    return rc;
}

static void load_free(load_t *l) {
    /* Computed nodes go to the store's cache again (l->m is its own by now if the load won). */
    l->s->state_fill = l->s->state;
    l->s->state_fill_clogs = &l->s->clogs;
    smap_mem_free(l->m);
    sblock_free(&l->sb);
    smap_writes_free(&l->ws);
    clog_set_free(&l->clogs);
    free(l->digests);
    if (l->jb != NULL) leveldb_writebatch_destroy(l->jb);
    memset(l, 0, sizeof *l);
}

static int load_new(load_t *l, store_t *s) {
    memset(l, 0, sizeof *l);
    l->s = s;
    int rc = smap_mem_new(&l->m);
    if (rc != QC_OK || !s->state_paged) return rc;
    smap_reader_t disk = {.get = disk_get, .ctx = s};
    smap_mem_set_backing(l->m, &disk, s->state_nodes_max);
    s->state_fill = l->m;
    s->state_fill_clogs = &l->clogs;
    return QC_OK;
}

/* Is the snapshot at `height` with block hash `hash` one of this chain's, at or below its head? */
static bool snap_usable(store_t *s, uint64_t height, const qc_hash_t *hash) {
    if (height > s->head.height) return false;
    static const qc_hash_t zero = {{0}};
    if (height == 0) return memcmp(hash->b, zero.b, QC_HASH_BYTES) == 0;
    qc_header_t h;
    qc_hash_t hh;
    if (store_header_get(s, height, &h) != QC_OK) return false;
    qc_header_hash(&h, &hh);
    return memcmp(hh.b, hash->b, QC_HASH_BYTES) == 0;
}

int store_state_rebuild(store_t *s) {
    load_t l;
    uint64_t from = 0;
    qc_hash_t snap_hash;
    int rc = load_new(&l, s);
    /* Resident: from nothing (nodes a paged run left are dropped, so that a later paged open
     * does not take them for the map at their snapshot). */
    int src = rc != QC_OK ? rc : s->state_paged ? snap_read(s, &from, &snap_hash, &l.clogs)
                                                : QC_ERR_NOTFOUND;
    if (src != QC_OK && src != QC_ERR_NOTFOUND && src != QC_ERR_CORRUPT) rc = src;
    if (src == QC_OK && !snap_usable(s, from, &snap_hash)) {
        QC_WARN("store: %s: the state map's snapshot (height %llu) is not of this ledger's "
                "blocks up to its head %llu: rebuilding the map from every block", s->dir,
                (unsigned long long)from, (unsigned long long)s->head.height);
        src = QC_ERR_CORRUPT;
    }
    if (rc == QC_OK && src == QC_OK) {
        s->state_snap_height = from;
        rc = load_from(&l, from);
        if (rc == QC_ERR_CORRUPT && from > 0) {
            QC_WARN("store: %s: the state map from its snapshot at %llu is wrong: rebuilding it "
                    "from every block", s->dir, (unsigned long long)from);
            load_free(&l);
            rc = load_new(&l, s);
            src = QC_ERR_CORRUPT;
        }
    }
    if (rc == QC_OK && src != QC_OK) {
        clog_set_free(&l.clogs);
        from = 0;
        rc = clear_nodes(s);
        if (rc == QC_OK) rc = load_from(&l, 0);
    }
    if (rc != QC_OK) {
        load_free(&l);
        return rc;
    }
    s->state_replayed = s->head.height - from;
    s->state_snap_log_size = s->head.log_size; /* written below when anything was replayed */
    bool dropped = l.snap_dropped;
    smap_mem_free(s->state);
    s->state = l.m;
    l.m = NULL;
    clog_set_free(&s->clogs);
    s->clogs = l.clogs;
    l.clogs = (clog_set_t){0};
    load_free(&l);
    s->state_stale = false;
    if (s->state_paged && (s->state_replayed > 0 || dropped)) {
        QC_INFO("store: %s: state map loaded: snapshot at %llu, %llu blocks replayed",
                s->dir, (unsigned long long)from, (unsigned long long)s->state_replayed);
        /* The next open starts here; a failed write only costs it the replay again. */
        (void)store_state_flush(s);
    }
    store_state_maintain(s);
    return QC_OK;
}
