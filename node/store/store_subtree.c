/* store_subtree.c - the paged state map's small subtrees, hashed from the ledger instead of
 * stored (docs/MERKLE.md §8.4). Paged, the store writes only the map's nodes above a cut
 * depth (~32-64 keys under each node there); a node at or below the cut is computed, when the
 * cache misses it, from the records under its position: ledger format 7 keys the record index
 * ('R') and the statuses ('S') by the first four bytes of the map key before the digest, so
 * they are one range of keys, and keeps each ANCHOR's tx id and owner by (height, tx index)
 * ('J'), so that a record's fresh status needs no block read. */
#include <leveldb/c.h>
#include <stdlib.h>
#include <string.h>

#include "cityproof.h"
#include "recstat.h"
#include "store_impl.h"

#define CUT_SPARE_BITS 5              /* a node at the cut holds ~2^5..2^6 keys */
#define CUT_MAX 32                    /* a stored-node boundary inside the 4-byte mk prefix */
#define COMPUTE_KEYS_MAX (1u << 16)   /* more under one missing node: stored nodes are lost */
#define JCACHE_SLOTS 65536u           /* 'J' entries cached (~5 MiB) */
#define BUILD_BATCH_KEYS 65536u       /* node puts per write while building from nothing */

struct store_jent {
    uint64_t height; /* 0: empty slot (heights start at 1) */
    uint32_t tx;
    qc_hash_t id;
    char owner[QC_MEMBER_NAME_MAX + 1];
};

typedef struct {
    qc_hash_t key, value;
} kv_t;

typedef struct {
    kv_t *kv;
    size_t n, cap;
} kvbuf_t;

unsigned store_subtree_cut(uint64_t log_size) {
    if (log_size < (UINT64_C(1) << (CUT_SPARE_BITS + 1))) return 0;
    unsigned lg = 63u - (unsigned)__builtin_clzll(log_size);
    unsigned cut = lg - CUT_SPARE_BITS;
    return cut > CUT_MAX ? CUT_MAX : cut;
}

/* ---- 'J': an anchoring transaction's id and owner ------------------------------------------ */

int store_anchor_tx_get(store_t *s, uint64_t height, uint32_t tx_index, const qc_hash_t **id,
                        const char **owner) {
    if (s->state_jc == NULL) {
        s->state_jc = calloc(JCACHE_SLOTS, sizeof *s->state_jc);
        if (s->state_jc == NULL) return QC_ERR_NOMEM;
    }
    uint64_t mix = height * UINT64_C(0x9e3779b97f4a7c15) ^
                   (uint64_t)tx_index * UINT64_C(0xc2b2ae3d27d4eb4f);
    struct store_jent *e = &s->state_jc[(mix >> 40) & (JCACHE_SLOTS - 1)];
    if (e->height != height || e->tx != tx_index || height == 0) {
        uint8_t k[SK_MAX_LEN];
        size_t klen = sk_anchor_tx(k, height, tx_index);
        char *val;
        size_t vlen;
        int rc = store_get(s, k, klen, &val, &vlen);
        if (rc != QC_OK) return rc;
        const uint8_t *v = (const uint8_t *)val;
        size_t nl = vlen >= SV_ANCHOR_TX_MIN ? v[33] : 0;
        bool ok = vlen >= SV_ANCHOR_TX_MIN && vlen <= SV_ANCHOR_TX_MAX &&
                  v[0] == STORE_FORMAT_VERSION && 34 + nl == vlen;
        if (ok) {
            memcpy(e->owner, v + 34, nl);
            e->owner[nl] = '\0';
            ok = qc_member_name_valid(e->owner);
        }
        if (ok) {
            memcpy(e->id.b, v + 1, 32);
            e->height = height;
            e->tx = tx_index;
        } else {
            e->height = 0;
        }
        leveldb_free(val);
        if (!ok) return store_corrupt(k, klen, "entry of %zu bytes does not decode", vlen);
    }
    *id = &e->id;
    *owner = e->owner;
    return QC_OK;
}

/* ---- the keys under a position -------------------------------------------------------------- */

static int kv_push(kvbuf_t *b, const qc_hash_t *key, const qc_hash_t *value) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        kv_t *n = realloc(b->kv, cap * sizeof *n);
        if (n == NULL) return QC_ERR_NOMEM;
        b->kv = n;
        b->cap = cap;
    }
    b->kv[b->n].key = *key;
    b->kv[b->n].value = *value;
    b->n++;
    return QC_OK;
}

static int kv_cmp(const void *a, const void *b) {
    return memcmp(((const kv_t *)a)->key.b, ((const kv_t *)b)->key.b, QC_HASH_BYTES);
}

/* The first d (<= 32) bits of a 32-bit word. */
static uint32_t mk_mask(unsigned d) {
    return d == 0 ? 0 : d >= 32 ? UINT32_MAX : ~(UINT32_MAX >> d);
}

/* Do the 4 bytes at mk share the first d (<= 32) bits of prefix? */
static bool mk_under(const uint8_t *mk, const qc_hash_t *prefix, unsigned d) {
    return ((qc_get_u32(mk) ^ qc_get_u32(prefix->b)) & mk_mask(d)) == 0;
}

/* The first 1 + 4 bytes of a family's range under pos: the prefix's first min(depth, 32) bits,
 * the rest zero. */
static void range_start(uint8_t out[1 + SK_MK_BYTES], uint8_t family, const smap_pos_t *pos) {
    out[0] = family;
    qc_put_u32(out + 1, qc_get_u32(pos->prefix.b) & mk_mask(pos->depth));
}

/* Appends to b (map key, value hash) of every record under pos, as of the durable head: its
 * first anchoring's 'R' entry gives the key and, unless an 'S' status replaces it, the fresh
 * status (with the 'J' entry of its transaction); then the city heads under pos. Stops with
 * QC_ERR_TOOBIG past `max` keys. */
static int gather(store_t *s, const smap_pos_t *pos, const clog_set_t *clogs, kvbuf_t *b,
                  size_t max) {
    unsigned d = pos->depth, dm = d < 32 ? d : 32;
    uint8_t rs[1 + SK_MK_BYTES], ss[1 + SK_MK_BYTES];
    range_start(rs, SK_RECORD, pos);
    range_start(ss, SK_STATUS, pos);
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    leveldb_iterator_t *st = leveldb_create_iterator(s->db, s->ropts);
    leveldb_iter_seek(it, (const char *)rs, sizeof rs);
    leveldb_iter_seek(st, (const char *)ss, sizeof ss);
    bool st_valid = leveldb_iter_valid(st);
    const uint8_t *prev = NULL;
    uint8_t prev_digest[32];
    int rc = QC_OK;
    for (; leveldb_iter_valid(it) && rc == QC_OK; leveldb_iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
        if (k[0] != SK_RECORD || klen < 1 + SK_MK_BYTES || !mk_under(k + 1, &pos->prefix, dm))
            break;
        const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vlen);
        if (klen != SK_RECORD_LEN || vlen != SV_RECORD_LEN || v[0] != STORE_FORMAT_VERSION) {
            rc = store_corrupt(k, klen, "record index entry of %zu/%zu bytes", klen, vlen);
            break;
        }
        const uint8_t *digest = k + SK_DIGEST_AT;
        if (prev != NULL && memcmp(prev_digest, digest, 32) == 0) continue; /* a re-anchoring */
        memcpy(prev_digest, digest, 32);
        prev = prev_digest;
        qc_hash_t key, value;
        smt_map_key(&key, digest);
        if (memcmp(key.b, k + 1, SK_MK_BYTES) != 0) {
            rc = store_corrupt(k, klen, "filed under another map key");
            break;
        }
        if (d > 32 && smt_common_prefix_bits(&key, &pos->prefix) < d) continue;
        /* its stored status, if any: 'S' keys are in the same order */
        int cmp = 1;
        const uint8_t *sv = NULL;
        size_t svlen = 0;
        while (st_valid) {
            size_t sklen;
            const uint8_t *sk = (const uint8_t *)leveldb_iter_key(st, &sklen);
            if (sk[0] != SK_STATUS) { st_valid = false; break; }
            if (sklen != SK_MAPPED_LEN) {
                rc = store_corrupt(sk, sklen, "key of %zu bytes", sklen);
                break;
            }
            cmp = memcmp(sk + 1, k + 1, SK_MAPPED_LEN - 1);
            if (cmp >= 0) {
                if (cmp == 0) sv = (const uint8_t *)leveldb_iter_value(st, &svlen);
                break;
            }
            leveldb_iter_next(st); /* a status below this record's: a digest not under pos */
            st_valid = leveldb_iter_valid(st);
        }
        if (rc != QC_OK) break;
        if (sv != NULL) {
            /* version byte, then the status: u8 1, the digest, ... (PROTOCOL §5.1) */
            if (svlen < 2 + 32 || sv[0] != STORE_FORMAT_VERSION || sv[1] != 1 ||
                memcmp(sv + 2, digest, 32) != 0) {
                uint8_t sk[SK_MAX_LEN];
                rc = store_corrupt(sk, sk_mapped(sk, SK_STATUS, k + 1, digest),
                                   "stored status of %zu bytes is not this digest's", svlen);
                break;
            }
            qc_recstat_enc_hash(sv + 1, svlen - 1, &value);
        } else {
            uint64_t height = qc_get_u64(v + 1);
            const qc_hash_t *tx_id;
            const char *owner;
            rc = store_anchor_tx_get(s, height, qc_get_u32(v + 9), &tx_id, &owner);
            if (rc == QC_ERR_NOTFOUND)
                rc = store_corrupt(k, klen, "its transaction has no anchor-tx entry");
            if (rc != QC_OK) break;
            qc_recstat_fresh_hash(digest, owner, height, tx_id, qc_get_u64(k + SK_MAPPED_LEN),
                                  &value);
        }
        rc = b->n >= max ? QC_ERR_TOOBIG : kv_push(b, &key, &value);
    }
    rc = store_iter_finish(it, rc, "reading the record index");
    rc = store_iter_finish(st, rc, "reading the record statuses");
    for (size_t i = 0; clogs != NULL && i < clogs->n && rc == QC_OK; i++) {
        qc_hash_t key, root, head;
        qc_city_key(clogs->c[i].name, &key);
        if (smt_common_prefix_bits(&key, &pos->prefix) < d) continue;
        rlog_root(&clogs->c[i].log, &root);
        qc_city_head(clogs->c[i].log.size, &root, &head);
        rc = kv_push(b, &key, &head);
    }
    if (rc == QC_OK && b->n > 1) qsort(b->kv, b->n, sizeof *b->kv, kv_cmp);
    return rc;
}

/* ---- hashing them into nodes ---------------------------------------------------------------- */

typedef void (*emit_fn)(void *ctx, const smap_pos_t *pos, const smap_node_t *node);

static void node_of(const kv_t *kv, size_t n, unsigned depth, smap_node_t *out, emit_fn emit,
                    void *ctx);

/* The slot that kv[0..n) (sorted, sharing their first `depth` bits) make as a child at
 * `depth`: empty, the lone leaf, or the node there (emitted) as inner. */
static void slot_of(const kv_t *kv, size_t n, unsigned depth, smap_slot_t *out, emit_fn emit,
                    void *ctx) {
    memset(out, 0, sizeof *out);
    if (n == 0) return;
    if (n == 1) {
        smap_slot_leaf(out, &kv[0].key, &kv[0].value);
        return;
    }
    smap_node_t node;
    node_of(kv, n, depth, &node, emit, ctx);
    if (emit != NULL) {
        smap_pos_t pos;
        smap_pos_of(&pos, &kv[0].key, depth);
        emit(ctx, &pos, &node);
    }
    smap_node_summary(&node, out); /* inner: two or more keys */
}

/* The node at `depth` above kv[0..n) (n >= 1; distinct keys, so the recursion ends above
 * depth 256): its two halves split at bit `depth`; nodes below it emitted, children first. */
static void node_of(const kv_t *kv, size_t n, unsigned depth, smap_node_t *out, emit_fn emit,
                    void *ctx) {
    QC_ASSERT(depth < SMT_DEPTH);
    size_t m = 0;
    while (m < n && smt_key_bit(&kv[m].key, depth) == 0) m++;
    slot_of(kv, m, depth + 1, &out->child[0], emit, ctx);
    slot_of(kv + m, n - m, depth + 1, &out->child[1], emit, ctx);
}

static void offer(void *ctx, const smap_pos_t *pos, const smap_node_t *node) {
    smap_mem_offer(ctx, pos, node);
}

int store_subtree_compute(store_t *s, const smap_pos_t *pos, smap_node_t *out) {
    kvbuf_t b = {0};
    int rc = gather(s, pos, s->state_fill_clogs, &b, COMPUTE_KEYS_MAX);
    uint8_t k[1 + SMAP_POS_MAX_BYTES];
    if (rc == QC_ERR_TOOBIG)
        rc = store_corrupt(k, sk_map_node(k, pos), "missing, and over %u records lie under it",
                           COMPUTE_KEYS_MAX);
    if (rc == QC_OK && (b.n == 0 || (b.n == 1 && pos->depth > 0))) rc = QC_ERR_NOTFOUND;
    if (rc == QC_OK) {
        s->state_computed++;
        node_of(b.kv, b.n, pos->depth, out, s->state_fill != NULL ? offer : NULL, s->state_fill);
    }
    free(b.kv);
    return rc;
}

/* ---- building the stored part from nothing -------------------------------------------------- */

typedef struct {
    store_t *s;
    leveldb_writebatch_t *b;
    size_t pending;
    uint64_t written;
    int rc;
} build_t;

static void build_put(build_t *w, const smap_pos_t *pos, const smap_node_t *node) {
    store_batch_map_node(w->b, pos, node);
    w->written++;
    if (++w->pending >= BUILD_BATCH_KEYS && w->rc == QC_OK) {
        w->rc = store_write(w->s, w->b, "writing the state map");
        leveldb_writebatch_clear(w->b);
        w->pending = 0;
    }
}

/* The parent slot of siblings l and r at `depth` + 1 (the parent's position (depth, index));
 * the parent node is written if it holds two or more keys, or is the top. */
static void combine(build_t *w, const smap_slot_t *l, const smap_slot_t *r, unsigned depth,
                    uint64_t index, smap_slot_t *out) {
    smap_node_t node = {.child = {*l, *r}};
    smap_node_summary(&node, out);
    if (out->kind != SMAP_INNER && !(depth == 0 && out->kind == SMAP_LEAF)) return;
    smap_pos_t pos;
    memset(&pos, 0, sizeof pos);
    pos.depth = (uint8_t)depth;
    if (depth > 0) qc_put_u32(pos.prefix.b, (uint32_t)(index << (32 - depth)));
    build_put(w, &pos, &node);
}

int store_subtree_build(store_t *s, uint64_t *written) {
    *written = 0;
    unsigned cut = store_subtree_cut(s->head.log_size);
    if (cut == 0) return QC_OK; /* nothing is stored: every read computes from the records */
    build_t w = {.s = s, .b = leveldb_writebatch_create()};
    smap_slot_t pend[CUT_MAX + 1];
    kvbuf_t kb = {0};
    int rc = QC_OK;
    for (uint64_t i = 0; i < (UINT64_C(1) << cut) && rc == QC_OK && w.rc == QC_OK; i++) {
        smap_pos_t pos;
        memset(&pos, 0, sizeof pos);
        pos.depth = (uint8_t)cut;
        qc_put_u32(pos.prefix.b, (uint32_t)(i << (32 - cut)));
        kb.n = 0;
        rc = gather(s, &pos, NULL, &kb, COMPUTE_KEYS_MAX);
        if (rc != QC_OK) break;
        smap_slot_t cur;
        slot_of(kb.kv, kb.n, cut, &cur, NULL, NULL);
        /* a right child completes its parent, and so on up while the parent is a right child */
        unsigned d = cut;
        uint64_t idx = i;
        while (d > 0 && (idx & 1)) {
            smap_slot_t up;
            combine(&w, &pend[d], &cur, d - 1, idx >> 1, &up);
            cur = up;
            idx >>= 1;
            d--;
        }
        if (d > 0) pend[d] = cur;
    }
    free(kb.kv);
    if (rc == QC_ERR_TOOBIG)
        rc = store_corrupt((const uint8_t *)"R", 1, "over %u records under one map position",
                           COMPUTE_KEYS_MAX);
    if (rc == QC_OK) rc = w.rc;
    if (rc == QC_OK && w.pending > 0) rc = store_write(s, w.b, "writing the state map");
    leveldb_writebatch_destroy(w.b);
    *written = w.written;
    return rc;
}
