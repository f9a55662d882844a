/* smap.c - maintains and reads the state map's compressed sparse Merkle tree (smap.h): one-pass
 * sorted batch updates, lookups, proof building and the node storage codecs. */
#include "smap.h"

#include <stdlib.h>
#include <string.h>

static bool key_equal(const qc_hash_t *a, const qc_hash_t *b) {
    return memcmp(a->b, b->b, QC_HASH_BYTES) == 0;
}

void smap_pos_of(smap_pos_t *pos, const qc_hash_t *key, unsigned depth) {
    QC_ASSERT(depth < SMT_DEPTH);
    memset(pos, 0, sizeof *pos);
    pos->depth = (uint8_t)depth;
    memcpy(pos->prefix.b, key->b, depth / 8);
    if (depth % 8 != 0)
        pos->prefix.b[depth / 8] = (uint8_t)(key->b[depth / 8] & (0xff00u >> (depth % 8)));
}

void smap_writes_free(smap_writes_t *ws) {
    free(ws->b);
    free(ws->h);
    memset(ws, 0, sizeof *ws);
}

void smap_writes_reset(smap_writes_t *ws) {
    ws->n = 0;
    ws->len = 0;
    ws->last = 0;
}

/* Writes node in the packed form (smap_node_encode less its format byte); returns its length. */
size_t smap_node_pack(const smap_node_t *node, uint8_t *out) {
    size_t off = 0;
    for (unsigned b = 0; b < 2; b++) {
        const smap_slot_t *c = &node->child[b];
        QC_ASSERT(c->kind <= SMAP_INNER);
        out[off++] = c->kind;
        if (c->kind == SMAP_EMPTY) continue;
        memcpy(out + off, c->hash.b, QC_HASH_BYTES);
        off += QC_HASH_BYTES;
        if (c->kind != SMAP_LEAF) continue;
        memcpy(out + off, c->key.b, QC_HASH_BYTES);
        memcpy(out + off + QC_HASH_BYTES, c->value.b, QC_HASH_BYTES);
        off += 2 * QC_HASH_BYTES;
    }
    return off;
}

/* Reads a node node_pack wrote (trusted: the set's own bytes); returns the bytes read. The
 * fields a slot's kind does not use come out zero, as smap_apply and the codecs leave them. */
size_t smap_node_unpack(const uint8_t *in, smap_node_t *out) {
    static const uint8_t zero[3 * QC_HASH_BYTES];
    size_t off = 0;
    for (unsigned b = 0; b < 2; b++) {
        smap_slot_t *c = &out->child[b];
        uint8_t kind = in[off++];
        QC_ASSERT(kind <= SMAP_INNER);
        c->kind = kind;
        /* each field written once: copied, or zero where the kind has none */
        const uint8_t *hash = kind == SMAP_EMPTY ? zero : in + off;
        off += kind == SMAP_EMPTY ? 0 : QC_HASH_BYTES;
        const uint8_t *kv = kind == SMAP_LEAF ? in + off : zero;
        off += kind == SMAP_LEAF ? 2 * QC_HASH_BYTES : 0;
        memcpy(c->hash.b, hash, QC_HASH_BYTES);
        memcpy(c->key.b, kv, QC_HASH_BYTES);
        memcpy(c->value.b, kv + QC_HASH_BYTES, QC_HASH_BYTES);
    }
    return off;
}

/* A packed write: the position, the node's length, the node. */
#define WRITE_BYTES_MAX (SMAP_POS_MAX_BYTES + 1 + SMAP_NODE_MAX_BYTES - 1)

int smap_writes_add(smap_writes_t *ws, const smap_pos_t *pos, const smap_node_t *node) {
    if (ws->n == ws->cap) {
        size_t cap = ws->cap == 0 ? 256 : ws->cap * 2;
        uint64_t *h = realloc(ws->h, cap * sizeof *h);
        if (h == NULL) return QC_ERR_NOMEM;
        ws->h = h;
        ws->cap = cap;
    }
    if (ws->b_cap - ws->len < WRITE_BYTES_MAX) {
        if (ws->len > SMAP_WRITES_BYTES_MAX - WRITE_BYTES_MAX) return QC_ERR_TOOBIG;
        size_t b_cap = ws->b_cap == 0 ? 256 * 128 : ws->b_cap * 2;
        if (b_cap > SMAP_WRITES_BYTES_MAX) b_cap = SMAP_WRITES_BYTES_MAX;
        uint8_t *b = realloc(ws->b, b_cap);
        if (b == NULL) return QC_ERR_NOMEM;
        ws->b = b;
        ws->b_cap = b_cap;
    }
    uint8_t *at = ws->b + ws->len;
    memcpy(at, pos, SMAP_POS_MAX_BYTES);
    size_t len = smap_node_pack(node, at + SMAP_POS_MAX_BYTES + 1);
    at[SMAP_POS_MAX_BYTES] = (uint8_t)len;
    ws->h[ws->n] = smap_pos_hash(pos);
    ws->last = ws->len;
    ws->len += SMAP_POS_MAX_BYTES + 1 + len;
    ws->n++;
    return QC_OK;
}

size_t smap_writes_node(const smap_writes_t *ws, size_t off, smap_node_t *out) {
    QC_ASSERT(off < ws->len);
    size_t len = smap_node_unpack(smap_writes_packed(ws, off), out);
    QC_ASSERT(len == smap_writes_len(ws, off));
    return smap_writes_next(ws, off);
}

/* The slot a node stands for in its parent: empty, the lone leaf lifted up, or inner. */
void smap_node_summary(const smap_node_t *n, smap_slot_t *out) {
    uint8_t k0 = n->child[0].kind, k1 = n->child[1].kind;
    if (k0 == SMAP_EMPTY && k1 == SMAP_EMPTY) {
        memset(out, 0, sizeof *out);
    } else if (k0 == SMAP_EMPTY && k1 == SMAP_LEAF) {
        *out = n->child[1];
    } else if (k1 == SMAP_EMPTY && k0 == SMAP_LEAF) {
        *out = n->child[0];
    } else {
        memset(out, 0, sizeof *out);
        out->kind = SMAP_INNER;
        smt_node_hash(&out->hash, &n->child[0].hash, &n->child[1].hash);
    }
}

void smap_slot_leaf(smap_slot_t *s, const qc_hash_t *key, const qc_hash_t *value) {
    s->kind = SMAP_LEAF;
    s->key = *key;
    s->value = *value;
    smt_leaf_hash(&s->hash, key, value);
}

/* Checks a node read at pos: kinds known, leaf keys under the child's position, empty slots
 * zero, and (below the top) at least two keys. */
static int node_check(const smap_pos_t *pos, const smap_node_t *n) {
    unsigned d = pos->depth;
    for (unsigned b = 0; b < 2; b++) {
        const smap_slot_t *c = &n->child[b];
        if (c->kind > SMAP_INNER) return QC_ERR_CORRUPT;
        if (c->kind == SMAP_EMPTY && !smt_hash_is_empty(&c->hash)) return QC_ERR_CORRUPT;
        if (c->kind == SMAP_LEAF && (smt_common_prefix_bits(&c->key, &pos->prefix) < d ||
                                     smt_key_bit(&c->key, d) != b))
            return QC_ERR_CORRUPT;
        if (c->kind == SMAP_INNER && d + 1 >= SMT_DEPTH) return QC_ERR_CORRUPT;
    }
    /* Below the top a node holds two or more keys (checked without hashing). */
    uint8_t k0 = n->child[0].kind, k1 = n->child[1].kind;
    if (d > 0 && k0 != SMAP_INNER && k1 != SMAP_INNER && !(k0 == SMAP_LEAF && k1 == SMAP_LEAF))
        return QC_ERR_CORRUPT;
    return QC_OK;
}

/* Reads the node at pos; absent: QC_ERR_NOTFOUND for the top node (the empty map), else
 * QC_ERR_CORRUPT (its parent says it is inner). */
static int node_read(const smap_reader_t *r, const smap_pos_t *pos, smap_node_t *out) {
    int rc = r->get(r->ctx, pos, out);
    if (rc == QC_ERR_NOTFOUND) {
        memset(out, 0, sizeof *out);
        return pos->depth == 0 ? QC_ERR_NOTFOUND : QC_ERR_CORRUPT;
    }
    QC_ASSERT(rc <= 0);
    if (rc != QC_OK) return rc;
    return node_check(pos, out);
}

/* Reads the top node; an absent one is the empty map. */
static int top_read(const smap_reader_t *r, smap_node_t *out) {
    smap_pos_t pos;
    memset(&pos, 0, sizeof pos);
    int rc = node_read(r, &pos, out);
    return rc == QC_ERR_NOTFOUND ? QC_OK : rc;
}

void smap_top_root(const smap_node_t *top, qc_hash_t *root) {
    smap_slot_t s;
    smap_node_summary(top, &s);
    *root = s.hash;
}

int smap_root(const smap_reader_t *r, qc_hash_t *root) {
    smap_node_t top;
    int rc = top_read(r, &top);
    if (rc != QC_OK) return rc;
    smap_slot_t s;
    smap_node_summary(&top, &s);
    *root = s.hash;
    return QC_OK;
}

/* ---- batch update -------------------------------------------------------------------------- */

/* Reads ahead of the batch pass (MERKLE.md §8.4): the pass visits the keys in order, and below
 * the batch's shared top (depth ~log2 n) each key's nodes are its own, read one after the
 * other, each a cache miss on its table slot and then on the node. So while key i is updated,
 * the slots of key i + PF_SLOT_KEYS's probable positions are hinted, and the nodes of key
 * i + PF_NODE_KEYS's (whose slots were hinted three keys before). */
#define PF_SLOT_KEYS 6u
#define PF_NODE_KEYS 3u
#define PF_DEPTHS_MAX 16u /* positions hinted a key, at most */

typedef struct {
    const smap_reader_t *r;
    smap_writes_t *ws;
    const smap_update_t *u;
    size_t n;
    size_t pf_slot, pf_node; /* the next key whose slots, whose nodes, are to be hinted */
    unsigned pf_top;         /* hint depths pf_top + 1 .. pf_top + pf_depths */
    unsigned pf_depths;
    uint8_t pf_ring[8];      /* pf_depths when key k's slots were hinted, at k % 8 */
    unsigned land16;         /* depth where keys landed lately (moving average, x16) */
} apply_t;

_Static_assert(PF_SLOT_KEYS - PF_NODE_KEYS + 1 < 8, "a key's depths stay in the ring");

static void hint_key(const apply_t *a, size_t i, unsigned depths,
                     void (*fn)(void *, const smap_pos_t *)) {
    smap_pos_t pos;
    for (unsigned k = 1; k <= depths; k++) {
        smap_pos_of(&pos, &a->u[i].key, a->pf_top + k);
        fn(a->r->ctx, &pos);
    }
}

/* Hints the reader about the keys ahead of key i (a no-op for readers without hints); a key's
 * nodes are hinted at the positions its slots were. */
static void read_ahead(apply_t *a, size_t i) {
    if (a->r->prefetch == NULL || a->r->prefetch_node == NULL) return;
    if (a->pf_slot < i) a->pf_slot = i; /* keys behind i are done: no hints for them */
    if (a->pf_node < i) a->pf_node = i;
    for (; a->pf_slot < a->n && a->pf_slot <= i + PF_SLOT_KEYS; a->pf_slot++) {
        a->pf_ring[a->pf_slot % 8] = (uint8_t)a->pf_depths;
        hint_key(a, a->pf_slot, a->pf_depths, a->r->prefetch);
    }
    for (; a->pf_node < a->pf_slot && a->pf_node <= i + PF_NODE_KEYS; a->pf_node++)
        hint_key(a, a->pf_node, a->pf_ring[a->pf_node % 8], a->r->prefetch_node);
}

/* A key's slot landed at depth d: the hints follow where keys land (the deepest node a key
 * reads is one above), so they track the map's size without being told it. */
static void landed(apply_t *a, unsigned d) {
    a->land16 = a->land16 - a->land16 / 8 + 2 * d; /* 1/8 of the way to d (x16) */
    /* Down to the landing depth itself: one level below the average key's deepest read, for
     * the keys that land deeper than the average. */
    unsigned deepest = (a->land16 + 8) / 16;
    unsigned depths = deepest > a->pf_top ? deepest - a->pf_top : 1;
    if (depths > PF_DEPTHS_MAX) depths = PF_DEPTHS_MAX;
    if (a->pf_top + depths >= SMT_DEPTH) depths = SMT_DEPTH - 1 - a->pf_top;
    a->pf_depths = depths;
}

static int update_child(apply_t *a, unsigned d, smap_slot_t *slot, size_t lo, size_t hi);

/* The first index in [lo, hi) whose key has bit d set (keys ascending and sharing d bits). */
static size_t split_at(const smap_update_t *u, unsigned d, size_t lo, size_t hi) {
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (smt_key_bit(&u[mid].key, d) == 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Hints the reader that the stored node below `slot` (at depth d, above key) will be read:
 * while the other child's subtree is updated, its cache lines load. */
static void prefetch_child(const apply_t *a, const smap_slot_t *slot, const qc_hash_t *key,
                           unsigned d) {
    if (a->r->prefetch == NULL || slot->kind != SMAP_INNER || d >= SMT_DEPTH) return;
    smap_pos_t pos;
    smap_pos_of(&pos, key, d);
    a->r->prefetch(a->r->ctx, &pos);
}

/* Applies u[lo, hi) (all under this node) to the node at depth d and records its new value. */
static int update_node(apply_t *a, unsigned d, smap_node_t *node, size_t lo, size_t hi) {
    size_t mid = split_at(a->u, d, lo, hi);
    if (mid > lo && hi > mid) prefetch_child(a, &node->child[1], &a->u[mid].key, d + 1);
    int rc;
    if (mid > lo && (rc = update_child(a, d + 1, &node->child[0], lo, mid)) != QC_OK) return rc;
    if (hi > mid && (rc = update_child(a, d + 1, &node->child[1], mid, hi)) != QC_OK) return rc;
    smap_pos_t pos;
    smap_pos_of(&pos, &a->u[lo].key, d);
    return smap_writes_add(a->ws, &pos, node);
}

/* Applies u[lo, hi) (non-empty, all under this slot) to the subtree at depth d (1..256) that
 * *slot summarises, and updates *slot. Recursion depth is bounded by 256 levels. */
static int update_child(apply_t *a, unsigned d, smap_slot_t *slot, size_t lo, size_t hi) {
    const smap_update_t *u = a->u;
    if (hi - lo == 1 && (slot->kind == SMAP_EMPTY ||
                         (slot->kind == SMAP_LEAF && key_equal(&slot->key, &u[lo].key)))) {
        if (slot->kind == SMAP_EMPTY || !u[lo].if_absent) smap_slot_leaf(slot, &u[lo].key, &u[lo].value);
        landed(a, d);
        return QC_OK;
    }
    /* Two or more distinct keys now live here, so they differ below depth d: d < 256 unless a
     * stored leaf contradicts its position. */
    if (d >= SMT_DEPTH) return QC_ERR_CORRUPT;
    smap_node_t node;
    if (slot->kind == SMAP_INNER) {
        read_ahead(a, lo);
        smap_pos_t pos;
        smap_pos_of(&pos, &u[lo].key, d);
        int rc = node_read(a->r, &pos, &node);
        if (rc != QC_OK) return rc;
    } else {
        memset(&node, 0, sizeof node);
        if (slot->kind == SMAP_LEAF) node.child[smt_key_bit(&slot->key, d)] = *slot;
    }
    int rc = update_node(a, d, &node, lo, hi);
    if (rc != QC_OK) return rc;
    smap_node_summary(&node, slot);
    return QC_OK;
}

int smap_apply(const smap_reader_t *r, const smap_update_t *u, size_t n, smap_writes_t *ws,
               qc_hash_t *root) {
    if (n > SMAP_BATCH_MAX) return QC_ERR_TOOBIG;
    for (size_t i = 1; i < n; i++)
        if (memcmp(u[i - 1].key.b, u[i].key.b, QC_HASH_BYTES) >= 0) return QC_ERR_INVALID;
    smap_node_t top;
    int rc = top_read(r, &top);
    if (rc != QC_OK) return rc;
    if (n > 0) {
        unsigned lg = 0;
        while (lg < 24 && ((size_t)2 << lg) <= n) lg++; /* floor(log2 n) */
        apply_t a = {.r = r, .ws = ws, .u = u, .n = n, .pf_top = lg, .pf_depths = 4,
                     .land16 = 16 * (lg + 5)};
        rc = update_node(&a, 0, &top, 0, n);
        if (rc != QC_OK) return rc;
    }
    smap_slot_t s;
    smap_node_summary(&top, &s);
    *root = s.hash;
    return QC_OK;
}

/* Stable bottom-up merge sort of u by key into a scratch array, then last-wins dedup. */
int smap_prepare(smap_update_t *u, size_t n, size_t *n_out) {
    *n_out = n;
    if (n > SMAP_BATCH_MAX) return QC_ERR_TOOBIG;
    if (n < 2) return QC_OK;
    smap_update_t *tmp = malloc(n * sizeof *tmp);
    if (tmp == NULL) return QC_ERR_NOMEM;
    smap_update_t *src = u, *dst = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = memcmp(src[j].key.b, src[i].key.b, QC_HASH_BYTES) < 0 ? src[j++]
                                                                                : src[i++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        smap_update_t *t = src;
        src = dst;
        dst = t;
    }
    /* Equal keys are adjacent in their original order: of each run keep the last plain
     * update, or the first if_absent one when the run has no plain update. */
    size_t m = 0;
    for (size_t i = 0, j; i < n; i = j) {
        size_t keep = i;
        for (j = i + 1; j < n && key_equal(&src[i].key, &src[j].key); j++)
            if (!src[j].if_absent) keep = j;
        u[m++] = src[keep];
    }
    free(tmp);
    *n_out = m;
    return QC_OK;
}

/* ---- reads: lookups and proofs --------------------------------------------------------------- */

/* Walks key's path from the top. Fills siblings (if p) and returns the slot where the search
 * ends and its depth: the first slot on the path that is not inner, or the lifted top. */
static int walk(const smap_reader_t *r, const qc_hash_t *key, smt_proof_t *p, smap_slot_t *end,
                unsigned *end_depth) {
    smap_node_t node;
    int rc = top_read(r, &node);
    if (rc != QC_OK) return rc;
    smap_slot_t top;
    smap_node_summary(&node, &top);
    if (top.kind != SMAP_INNER) { /* the empty map, or a single key lifted to the root */
        *end = top;
        *end_depth = 0;
        return QC_OK;
    }
    for (unsigned d = 0; d < SMT_DEPTH; d++) {
        unsigned b = smt_key_bit(key, d);
        if (p != NULL) p->siblings[d] = node.child[b ^ 1].hash;
        const smap_slot_t *c = &node.child[b];
        if (c->kind != SMAP_INNER) {
            *end = *c;
            *end_depth = d + 1;
            return QC_OK;
        }
        smap_pos_t pos;
        smap_pos_of(&pos, key, d + 1);
        rc = node_read(r, &pos, &node);
        if (rc != QC_OK) return rc;
    }
    return QC_ERR_CORRUPT; /* node_check refuses inner slots at depth 256 */
}

int smap_get(const smap_reader_t *r, const qc_hash_t *key, qc_hash_t *value) {
    smap_slot_t end;
    unsigned depth;
    int rc = walk(r, key, NULL, &end, &depth);
    if (rc != QC_OK) return rc;
    if (end.kind != SMAP_LEAF || !key_equal(&end.key, key)) return QC_ERR_NOTFOUND;
    *value = end.value;
    return QC_OK;
}

int smap_prove(const smap_reader_t *r, const qc_hash_t *key, smt_proof_t *p) {
    memset(p, 0, sizeof *p);
    smap_slot_t end;
    unsigned depth;
    int rc = walk(r, key, p, &end, &depth);
    if (rc != QC_OK) {
        memset(p, 0, sizeof *p);
        return rc;
    }
    p->depth = (uint16_t)depth;
    if (end.kind == SMAP_EMPTY) {
        p->kind = SMT_PROOF_EMPTY;
    } else if (key_equal(&end.key, key)) {
        p->kind = SMT_PROOF_PRESENT;
        p->value = end.value;
    } else {
        p->kind = SMT_PROOF_OTHER;
        p->other_key = end.key;
        p->value = end.value;
    }
    return QC_OK;
}

/* ---- storage codecs ---------------------------------------------------------------------------- */

size_t smap_pos_encode(const smap_pos_t *pos, uint8_t out[SMAP_POS_MAX_BYTES]) {
    size_t prefix_len = ((size_t)pos->depth + 7) / 8;
    out[0] = pos->depth;
    memcpy(out + 1, pos->prefix.b, prefix_len);
    return 1 + prefix_len;
}

size_t smap_node_encode(const smap_node_t *node, uint8_t out[SMAP_NODE_MAX_BYTES]) {
    out[0] = SMAP_NODE_FORMAT;
    return 1 + smap_node_pack(node, out + 1);
}

int smap_node_decode(const smap_pos_t *pos, const uint8_t *in, size_t len, smap_node_t *out) {
    memset(out, 0, sizeof *out);
    /* The format byte, then each child's kind and the length it implies, checked before the
     * packed node is read (smap_node_unpack trusts its input). */
    size_t off = 0;
    if (len < 1 || in[off++] != SMAP_NODE_FORMAT) return QC_ERR_CORRUPT;
    for (unsigned b = 0; b < 2; b++) {
        if (off >= len || in[off] > SMAP_INNER) return QC_ERR_CORRUPT;
        uint8_t kind = in[off++];
        size_t need = kind == SMAP_LEAF ? 3 * QC_HASH_BYTES : kind == SMAP_INNER ? QC_HASH_BYTES : 0;
        if (len - off < need) return QC_ERR_CORRUPT;
        off += need;
    }
    if (off != len) return QC_ERR_CORRUPT;
    smap_node_unpack(in + 1, out);
    return node_check(pos, out);
}

/* One node of smap_check's walk: its position and the hash its parent's slot claims. */
typedef struct {
    smap_pos_t pos;
    qc_hash_t want;
} check_item_t;

int smap_check(const smap_reader_t *r, qc_hash_t *root, uint64_t *keys, uint64_t *nodes) {
    *keys = *nodes = 0;
    memset(root, 0, sizeof *root);
    /* Depth first, children pushed after their parent: at most one pending sibling per level. */
    check_item_t *stack = malloc((2 * SMT_DEPTH + 2) * sizeof *stack);
    if (stack == NULL) return QC_ERR_NOMEM;
    size_t n = 0;
    memset(&stack[0], 0, sizeof stack[0]);
    n = 1;
    int rc = QC_OK;
    while (n > 0 && rc == QC_OK) {
        check_item_t it = stack[--n];
        smap_node_t node;
        rc = node_read(r, &it.pos, &node);
        if (rc == QC_ERR_NOTFOUND) { /* (the top only) the empty map */
            rc = QC_OK;
            break;
        }
        if (rc != QC_OK) break;
        ++*nodes;
        smap_slot_t sum;
        smap_node_summary(&node, &sum);
        if (it.pos.depth == 0)
            *root = sum.hash;
        else if (memcmp(sum.hash.b, it.want.b, QC_HASH_BYTES) != 0)
            rc = QC_ERR_CORRUPT; /* the node is not what its parent hashed */
        for (unsigned b = 0; b < 2 && rc == QC_OK; b++) {
            const smap_slot_t *c = &node.child[b];
            if (c->kind == SMAP_LEAF) {
                qc_hash_t h;
                smt_leaf_hash(&h, &c->key, &c->value);
                if (memcmp(h.b, c->hash.b, QC_HASH_BYTES) != 0) rc = QC_ERR_CORRUPT;
                ++*keys;
            } else if (c->kind == SMAP_INNER) {
                QC_ASSERT(n < 2 * SMT_DEPTH + 2);
                stack[n].pos = it.pos;
                stack[n].pos.depth = (uint8_t)(it.pos.depth + 1);
                if (b) stack[n].pos.prefix.b[it.pos.depth / 8] |= (uint8_t)(0x80u >> (it.pos.depth % 8));
                stack[n].want = c->hash;
                n++;
            }
        }
    }
    free(stack);
    return rc;
}
