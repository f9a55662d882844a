/* smap.h - the state map: the authenticated map (map key -> value hash) of record status
 * beside the append-only record log, kept as the compressed sparse Merkle tree of proto/smt.h.
 * This module maintains it (batch updates, one batch per block), reads it (get, proofs) and
 * defines the storage it needs; it holds no state of its own and does no I/O itself.
 *
 * Storage model (docs/MERKLE.md §8): only the latest version of the tree is kept. The tree is
 * stored as binary nodes addressed by their position (depth 0..255, the first `depth` bits of
 * the keys below it). A stored node holds its two child slots: each is empty, a leaf (its key,
 * value hash and leaf hash) or inner (the hash of the stored node at the child's position).
 * The depth-0 node always exists once anything is inserted (absent = empty map); any other
 * stored node holds two or more keys. Entries are inserted and replaced, never deleted: a
 * position that once held two keys always will, so nodes are overwritten in place and never
 * removed.
 *
 * Writes: smap_apply reads through an smap_reader_t and returns a write set (each touched
 * node, once); the caller commits it atomically with the block (the store: puts in the block's
 * LevelDB write batch, keyed by smap_pos_encode, valued by smap_node_encode) or discards it.
 * A write set must be committed before the next smap_apply reads the same storage. */
#ifndef QC_SMAP_H
#define QC_SMAP_H

#include "qc.h"
#include "smt.h"

#include <string.h>

/* Most updates in one batch: the most records one block can carry (8192 transactions of 1024
 * records, docs/PROTOCOL.md §2). */
#define SMAP_BATCH_MAX (8192u * 1024u)
/* Encoded sizes: a position is u8 depth || ceil(depth / 8) prefix bytes; a node is the format
 * byte || two slots, each u8 kind || hash (inner, leaf) || key || value (leaf). */
#define SMAP_POS_MAX_BYTES (1 + QC_HASH_BYTES)
#define SMAP_NODE_MAX_BYTES (1 + 2 * (1 + 3 * QC_HASH_BYTES))
#define SMAP_NODE_FORMAT 1

typedef enum { SMAP_EMPTY = 0, SMAP_LEAF = 1, SMAP_INNER = 2 } smap_kind_t;

/* One child of a node: kind, its subtree's hash (zero when empty), and for a leaf its key and
 * value hash. */
typedef struct {
    uint8_t kind;
    qc_hash_t hash;
    qc_hash_t key;   /* SMAP_LEAF only */
    qc_hash_t value; /* SMAP_LEAF only */
} smap_slot_t;

typedef struct {
    smap_slot_t child[2];
} smap_node_t;

/* A node's position: depth 0..255 and the first `depth` bits of its keys (the rest zero). */
typedef struct {
    uint8_t depth;
    qc_hash_t prefix;
} smap_pos_t;

/* Storage the map reads. get fills *out with the node at pos and returns QC_OK,
 * QC_ERR_NOTFOUND if none is stored, or another negative error (QC_ERR_CORRUPT, QC_ERR_IO).
 * pos and out are borrowed for the call. prefetch (may be NULL) is a hint that get(pos) comes
 * soon: a memory store starts loading its cache lines, so the miss overlaps other work.
 * prefetch_node (may be NULL) is the second step of the same hint, given some time after
 * prefetch(pos) when the position's table slot should be in cache: start loading the node it
 * names. Hints never change what get answers, and a position that holds no node is fine. */
typedef struct {
    int (*get)(void *ctx, const smap_pos_t *pos, smap_node_t *out);
    void *ctx;
    void (*prefetch)(void *ctx, const smap_pos_t *pos);
    void (*prefetch_node)(void *ctx, const smap_pos_t *pos);
} smap_reader_t;

/* One update: map key -> value hash. With if_absent set it inserts only if the key is not in
 * the map yet (a record's first anchoring; a later anchoring of the digest changes nothing),
 * and the check costs nothing extra: the batch pass walks to the key's place anyway. */
typedef struct {
    qc_hash_t key;
    qc_hash_t value;
    bool if_absent;
} smap_update_t;

/* The nodes one smap_apply wrote, each position once, parents after children (the top node,
 * depth 0, is last). Owned by the caller: zero-initialise, pass to smap_apply (which appends)
 * or smap_writes_add, smap_writes_free when done.
 *
 * The writes are packed in b, one after another, each as its position (a smap_pos_t, 33
 * bytes, alignment 1, so it is read in place), one length byte, and the node as
 * smap_node_encode writes it less the format byte: 66 bytes for a node of two inner children,
 * the common kind, 194 for two leaves. A write takes ~100 bytes rather than the 227 of a
 * position and a node struct: a block's set is ~10 nodes per update, so this halves the
 * memory each block writes and later reads twice (MERKLE.md §8.4). Walk it with
 * smap_writes_pos / smap_writes_node from offset 0; `last` is the last write's offset.
 * h[i] is smap_pos_hash of write i, taken while the position was in cache, so that the tables
 * that later index the set (smap_mem_commit, smap_windex_new) need not load each write again
 * to hash it. The set stays under 4 GiB (offsets are 32-bit in those tables). */
typedef struct {
    uint8_t *b;
    size_t len;   /* bytes of b in use */
    size_t b_cap; /* bytes of b allocated */
    uint64_t *h;
    size_t n;     /* writes */
    size_t cap;   /* writes h has room for */
    size_t last;  /* the last write's offset in b (n > 0) */
} smap_writes_t;

#define SMAP_WRITES_BYTES_MAX ((size_t)UINT32_MAX - 1u)

_Static_assert(sizeof(smap_pos_t) == SMAP_POS_MAX_BYTES && _Alignof(smap_pos_t) == 1,
               "a packed write's position is read in place");

/* A node packed (smap_node_encode less its format byte, at most SMAP_NODE_MAX_BYTES - 1):
 * returns its length. Unpacking is for the packer's own bytes only (the kinds unchecked but
 * asserted): the fields a slot's kind does not use come out zero; returns the bytes read. */
size_t smap_node_pack(const smap_node_t *node, uint8_t *out);
size_t smap_node_unpack(const uint8_t *in, smap_node_t *out);
/* The packed length of the common node, two inner children (each a kind byte and a hash):
 * smap_mem's smallest class holds up to it, and the read-ahead hints load that much of a node. */
#define SMAP_NODE_PACKED_INNER2 (2u * (1u + QC_HASH_BYTES))

/* Appends the write pos -> node. QC_OK, QC_ERR_NOMEM, or QC_ERR_TOOBIG (the set would pass
 * SMAP_WRITES_BYTES_MAX). */
int smap_writes_add(smap_writes_t *ws, const smap_pos_t *pos, const smap_node_t *node);
/* The position of the write at offset off (a pointer into ws->b, valid until ws changes). */
static inline const smap_pos_t *smap_writes_pos(const smap_writes_t *ws, size_t off) {
    return (const smap_pos_t *)(const void *)(ws->b + off);
}
/* The packed node's length of the write at offset off, and the packed bytes themselves. */
static inline size_t smap_writes_len(const smap_writes_t *ws, size_t off) {
    return ws->b[off + SMAP_POS_MAX_BYTES];
}
static inline const uint8_t *smap_writes_packed(const smap_writes_t *ws, size_t off) {
    return ws->b + off + SMAP_POS_MAX_BYTES + 1;
}
/* The offset of the write after the one at off. */
static inline size_t smap_writes_next(const smap_writes_t *ws, size_t off) {
    return off + SMAP_POS_MAX_BYTES + 1 + smap_writes_len(ws, off);
}
/* The node of the write at offset off into *out; returns the next write's offset. */
size_t smap_writes_node(const smap_writes_t *ws, size_t off, smap_node_t *out);

/* The hash of a position that the in-memory tables (smap_mem, smap_windex) index by: the
 * depth, then the 64-bit words holding prefix bits, each through a 64-bit finaliser. */
static inline uint64_t smap_mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static inline uint64_t smap_pos_hash(const smap_pos_t *pos) {
    /* The depth mixed first: xored raw into the prefix word it would collide with prefixes
     * of neighbouring depths. */
    uint64_t h = smap_mix64(pos->depth + 0x9e3779b97f4a7c15ull);
    /* Only the words holding prefix bits (the rest are zero). */
    for (unsigned i = 0; i < ((unsigned)pos->depth + 63) / 64; i++) {
        uint64_t w;
        memcpy(&w, pos->prefix.b + 8 * i, 8);
        h = smap_mix64(h ^ w);
    }
    return h;
}

void smap_writes_free(smap_writes_t *ws);
/* Empties ws but keeps its memory, for the next block (a block's write set is ~10 nodes per
 * update: reusing it spares page faults). */
void smap_writes_reset(smap_writes_t *ws);

/* The slot a node stands for in its parent: empty, its lone leaf lifted up, or inner (the
 * node's hash). */
void smap_node_summary(const smap_node_t *n, smap_slot_t *out);
/* *s becomes the leaf slot of key -> value (kind, key, value and leaf hash). */
void smap_slot_leaf(smap_slot_t *s, const qc_hash_t *key, const qc_hash_t *value);

/* The map's root hash (32 zero bytes for the empty map): one read. */
int smap_root(const smap_reader_t *r, qc_hash_t *root);
/* The root a depth-0 node (a write set's last entry) gives, without reading anything. */
void smap_top_root(const smap_node_t *top, qc_hash_t *root);

/* Sorts u[0..n) by key (stably) and keeps one update per key, as if applied one by one: the
 * last plain update when the key has any (the latest status of a record wins), else the first
 * if_absent one (the first anchoring). *n_out gets the new count.
 * QC_OK or QC_ERR_NOMEM (u unchanged); QC_ERR_TOOBIG if n > SMAP_BATCH_MAX. */
int smap_prepare(smap_update_t *u, size_t n, size_t *n_out);

/* Applies the updates u[0..n) (borrowed; keys strictly ascending, as smap_prepare leaves
 * them: otherwise QC_ERR_INVALID, nothing read) to the map that r reads, in one pass. Appends
 * every node it changes to ws and sets *root to the new root; the result equals applying the
 * updates one by one. n == 0 reads the root and writes nothing. Reads each touched node once;
 * about (log2(size) - log2(n) + 2) hashes per update. QC_OK; QC_ERR_TOOBIG (n too large);
 * QC_ERR_CORRUPT (a stored node missing or inconsistent with its position); the reader's
 * error; QC_ERR_NOMEM. On error ws may hold part of the writes: discard them. */
int smap_apply(const smap_reader_t *r, const smap_update_t *u, size_t n, smap_writes_t *ws,
               qc_hash_t *root);

/* The value hash of key: QC_OK with *value, QC_ERR_NOTFOUND when absent, or a read error. */
int smap_get(const smap_reader_t *r, const qc_hash_t *key, qc_hash_t *value);

/* Builds the proof for key at the current head (PRESENT with its value, or EMPTY / OTHER when
 * absent) into *p: one read per level on the key's path (about log2(size)). Encode it with
 * smt_proof_encode. QC_OK, QC_ERR_CORRUPT, or the reader's error. */
int smap_prove(const smap_reader_t *r, const qc_hash_t *key, smt_proof_t *p);

/* Walks the whole map (an fsck): every stored node is read once and must hash to what its
 * parent's slot says, every leaf to its key and value. *root gets the root it all hashes to
 * (compare it with the certified one), *keys the keys, *nodes the nodes read. QC_OK,
 * QC_ERR_CORRUPT (a node missing, malformed or not matching its parent), a read error, or
 * QC_ERR_NOMEM. */
int smap_check(const smap_reader_t *r, qc_hash_t *root, uint64_t *keys, uint64_t *nodes);

/* The position of the node at `depth` (0..255) above key. */
void smap_pos_of(smap_pos_t *pos, const qc_hash_t *key, unsigned depth);

/* Storage codecs for a LevelDB backend. smap_pos_encode writes the key suffix (u8 depth ||
 * ceil(depth / 8) prefix bytes) and returns its length (1..33). smap_node_encode writes a
 * node's value and returns its length (at most SMAP_NODE_MAX_BYTES). smap_node_decode checks
 * the format byte, kinds and exact length and that leaf keys lie under pos (QC_ERR_CORRUPT
 * otherwise). */
size_t smap_pos_encode(const smap_pos_t *pos, uint8_t out[SMAP_POS_MAX_BYTES]);
size_t smap_node_encode(const smap_node_t *node, uint8_t out[SMAP_NODE_MAX_BYTES]);
int smap_node_decode(const smap_pos_t *pos, const uint8_t *in, size_t len, smap_node_t *out);

/* ---- in-memory backend (the store's map cache, pending layers; tests, benchmarks) ------- */

/* An open-addressing hash table of nodes by position; grows by doubling. A plain store holds
 * every node it was given. A cache (smap_mem_set_backing) holds part of a map kept elsewhere:
 * a read it misses goes to the backing store and the node stays as a clean entry; committed
 * nodes are dirty until smap_mem_mark_clean (the owner wrote them to the backing store); clean
 * entries can be evicted. */
typedef struct smap_mem smap_mem_t;

/* About the most memory one cached node takes: its entry unpacked (packed, smap_mem.c's size
 * classes, it takes 101-229 bytes) and, the table being at most half full, two to four 8-byte
 * slots. For turning a byte budget into a node count. */
#define SMAP_MEM_NODE_BYTES (sizeof(smap_pos_t) + sizeof(smap_node_t) + 1 + 24)

typedef struct {
    size_t nodes;      /* held now */
    size_t dirty;      /* of which dirty */
    size_t bytes;      /* allocated for entries and table */
    size_t entry_bytes; /* of which the entries held (packed, smap_mem.c's size classes) */
    uint64_t misses;   /* reads that went to the backing store */
    uint64_t uncached; /* of which not kept (no memory) */
    uint64_t evicted;  /* entries dropped by smap_mem_evict */
} smap_mem_stats_t;

/* Put callback of smap_mem_each_dirty: pos and node borrowed for the call. */
typedef int (*smap_mem_put_fn)(void *ctx, const smap_pos_t *pos, const smap_node_t *node);

/* *out gets an empty store (caller owns; smap_mem_free). QC_OK or QC_ERR_NOMEM. */
int smap_mem_new(smap_mem_t **out);
void smap_mem_free(smap_mem_t *m);
/* A reader over m (borrowed: m must outlive its use). */
smap_reader_t smap_mem_reader(smap_mem_t *m);
/* Stores every node of ws (inserting or overwriting). QC_OK or QC_ERR_NOMEM (m unchanged). */
int smap_mem_commit(smap_mem_t *m, const smap_writes_t *ws);
/* Nodes stored. */
size_t smap_mem_count(const smap_mem_t *m);

/* Makes m (empty) a cache over backing (copied; its ctx borrowed for m's life): reads that
 * miss go there, QC_ERR_NOTFOUND meaning "no such node", and keep what they read only while
 * fewer than nodes_max entries are held (evicting clean ones first), so reads alone never
 * grow it past that; commits always add. Before any other use. */
void smap_mem_set_backing(smap_mem_t *m, const smap_reader_t *backing, size_t nodes_max);
/* Entries committed since the last smap_mem_mark_clean. */
size_t smap_mem_dirty(const smap_mem_t *m);
/* Calls put for each dirty entry (in no particular order) until it returns other than QC_OK;
 * returns that or QC_OK. m unchanged. */
int smap_mem_each_dirty(const smap_mem_t *m, smap_mem_put_fn put, void *ctx);
/* Every entry becomes clean (the owner made the dirty ones durable in the backing store). */
void smap_mem_mark_clean(smap_mem_t *m);
/* Every entry at `depth` or deeper becomes clean (the backing store gives those nodes without
 * their being written: the paged map computes them from the ledger); returns how many did. */
size_t smap_mem_mark_clean_from(smap_mem_t *m, unsigned depth);
/* Drops clean entries, least recently read first (a clock over the entries), until at most
 * `keep` remain or only dirty ones do; returns how many it dropped. Only for a cache: a plain
 * store's evicted node would be lost. */
size_t smap_mem_evict(smap_mem_t *m, size_t keep);
/* Offers a cache (m has a backing store) a node read or computed elsewhere: kept as a clean
 * entry if pos is not held yet, evicting first as a read does so that offers never grow m past
 * its bound; an entry already held (maybe dirty) is left as it is. Without memory nothing is
 * kept. pos and node are copied. */
void smap_mem_offer(smap_mem_t *m, const smap_pos_t *pos, const smap_node_t *node);
void smap_mem_stats(const smap_mem_t *m, smap_mem_stats_t *out);

/* An index by position over a write set, read in place: a pending block's nodes for its
 * children's reads, at 16-32 bytes a node instead of a copy of every node. ws is borrowed and must
 * stay unchanged while the index lives. */
typedef struct smap_windex smap_windex_t;

/* *out gets the index over ws (caller owns; smap_windex_free). QC_OK or QC_ERR_NOMEM. */
int smap_windex_new(const smap_writes_t *ws, smap_windex_t **out);
void smap_windex_free(smap_windex_t *x);
/* A reader over x (borrowed): get answers QC_ERR_NOTFOUND for a position ws did not write. */
smap_reader_t smap_windex_reader(smap_windex_t *x);

#endif
