/* smap_mem.c - the state map's in-memory node store (smap.h): an open-addressing hash table
 * of nodes by position. The store keeps its map's cache in one (over the nodes it keeps in
 * LevelDB, MERKLE.md §8.4: misses read through, written nodes stay dirty until flushed, clean
 * ones are evicted to a bound) and each pending block's writes in another (a layer its
 * children read through); tests and benchmarks use it too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smap.h"

#define MEM_CAP_MIN 1024u /* table slots, 8 bytes each */
#define MEM_DENSE_MIN 64u /* entries a class's array starts with */

/* Entries are packed as the write sets' writes are (smap.h): the position, a flags byte, the
 * node's packed length and the packed node, in one of three size classes by that length, each
 * a dense array of equal strides: two inner children, or an inner one beside an empty slot
 * (66 bytes at most); a leaf beside an inner child or an empty slot (130); two leaves (194). A
 * random map's entries average ~145 bytes a node, two thirds of the 228 that a position and a
 * node struct took (MERKLE.md §8.4). */
#define MEM_CLASSES 3
#define ENTRY_FLAGS SMAP_POS_MAX_BYTES /* offsets in an entry */
#define ENTRY_LEN (SMAP_POS_MAX_BYTES + 1)
#define ENTRY_NODE (SMAP_POS_MAX_BYTES + 2)
static const size_t class_node_max[MEM_CLASSES] = {SMAP_NODE_PACKED_INNER2, 130,
                                                      SMAP_NODE_MAX_BYTES - 1};
#define CLASS_STRIDE(c) (ENTRY_NODE + class_node_max[c])

/* A table slot: the position hash's upper 32 bits, the class (2 bits) and the entry's index
 * in it + 1 (30 bits); 0 is free. */
#define SLOT_INDEX_BITS 30
#define SLOT_INDEX_MASK ((UINT64_C(1) << SLOT_INDEX_BITS) - 1u)
#define CLASS_NODES_MAX ((size_t)SLOT_INDEX_MASK - 1u)

#define ENTRY_DIRTY 1u /* written since the last smap_mem_mark_clean: never evicted */
#define ENTRY_REF 2u   /* read since the eviction hand last passed */

typedef struct {
    uint8_t *e;     /* n entries of CLASS_STRIDE bytes */
    size_t n, cap;
    size_t ready;   /* entries whose pages were prefaulted or written (entry_ready) */
} mem_class_t;

/* The table maps positions to entries with 8-byte slots, so a probe touches 8 bytes, not a
 * whole node; an entry removed (evicted, or moved to another class) takes its class's last
 * entry into its place. */
struct smap_mem {
    mem_class_t cls[MEM_CLASSES];
    size_t n; /* entries in all classes */
    uint64_t *slot;
    size_t cap; /* a power of two; at most half full */
    smap_reader_t backing; /* .get NULL: none (a plain store) */
    size_t read_max;       /* a cache: reads keep a node only below this many entries */
    size_t dirty;          /* entries with ENTRY_DIRTY */
    size_t hand;           /* eviction's clock hand, over the classes' entries in turn */
    smap_mem_stats_t stats;
};

/* The slot where a probe for hash h starts: from the tag bits (h's upper half) that the slot
 * keeps, so that growing the table and backward-shift deletion place entries from their slots
 * alone, without loading each entry to hash its position again (a cache miss apiece). A table
 * past 2^32 slots (over 2^31 nodes) starts probes in its first 2^32 only: still correct, the
 * probe wraps over the whole table. */
static size_t home_of(uint64_t h, size_t cap) { return (size_t)(h >> 32) & (cap - 1); }

/* The hash of write i of ws (smap.h: kept as the set was written). */
static uint64_t write_hash(const smap_writes_t *ws, size_t i) { return ws->h[i]; }

static bool pos_equal(const smap_pos_t *a, const smap_pos_t *b) {
    return a->depth == b->depth && memcmp(a->prefix.b, b->prefix.b, QC_HASH_BYTES) == 0;
}

static unsigned slot_class(uint64_t s) { return (unsigned)((s >> SLOT_INDEX_BITS) & 3u); }
static size_t slot_index(uint64_t s) { return (size_t)(s & SLOT_INDEX_MASK) - 1u; }
static uint64_t slot_make(uint64_t h, unsigned c, size_t i) {
    return (h >> 32) << 32 | (uint64_t)c << SLOT_INDEX_BITS | (uint64_t)(i + 1);
}

static uint8_t *entry_at(const smap_mem_t *m, unsigned c, size_t i) {
    return m->cls[c].e + i * CLASS_STRIDE(c);
}

static uint8_t *slot_entry(const smap_mem_t *m, uint64_t s) {
    return entry_at(m, slot_class(s), slot_index(s));
}

static const smap_pos_t *entry_pos(const uint8_t *e) { return (const smap_pos_t *)(const void *)e; }

/* The class of a packed node of len bytes. */
static unsigned class_of(size_t len) {
    return len <= class_node_max[0] ? 0u : len <= class_node_max[1] ? 1u : 2u;
}

/* The table slot holding pos (whose smap_pos_hash is h), or the free slot where it would go.
 * The table is never full, so the probe ends within cap steps. */
static uint64_t *find_h(const smap_mem_t *m, uint64_t *slot, size_t cap, const smap_pos_t *pos,
                        uint64_t h) {
    uint64_t tag = h >> 32;
    size_t i = home_of(h, cap);
    for (size_t probes = 0; probes < cap; probes++) {
        uint64_t s = slot[i];
        if (s == 0) return &slot[i];
        if (s >> 32 == tag && pos_equal(entry_pos(slot_entry(m, s)), pos)) return &slot[i];
        i = (i + 1) & (cap - 1);
    }
    QC_ASSERT(!"smap_mem: table full");
    return NULL;
}

static uint64_t *find(const smap_mem_t *m, uint64_t *slot, size_t cap, const smap_pos_t *pos) {
    return find_h(m, slot, cap, pos, smap_pos_hash(pos));
}

/* Read-ahead for a table: start loading pos's home slot; later, once that slot is in cache,
 * the record it names (a slot probed further is left to the read). */
static void hint_slot(const uint64_t *slot, size_t cap, const smap_pos_t *pos) {
    __builtin_prefetch(&slot[home_of(smap_pos_hash(pos), cap)], 0, 1);
}

static void prefetch_lines(const void *at, size_t bytes, int rw) {
    uintptr_t r = (uintptr_t)at;
    for (uintptr_t line = r & ~(uintptr_t)63; line < r + bytes; line += 64) {
        if (rw)
            __builtin_prefetch((const void *)line, 1, 1);
        else
            __builtin_prefetch((const void *)line, 0, 1);
    }
}

int smap_mem_new(smap_mem_t **out) {
    *out = NULL;
    smap_mem_t *m = calloc(1, sizeof *m);
    if (m == NULL) return QC_ERR_NOMEM;
    m->slot = calloc(MEM_CAP_MIN, sizeof *m->slot);
    if (m->slot == NULL) {
        free(m);
        return QC_ERR_NOMEM;
    }
    m->cap = MEM_CAP_MIN;
    *out = m;
    return QC_OK;
}

void smap_mem_free(smap_mem_t *m) {
    if (m == NULL) return;
    for (unsigned c = 0; c < MEM_CLASSES; c++) free(m->cls[c].e);
    free(m->slot);
    free(m);
}

size_t smap_mem_count(const smap_mem_t *m) { return m->n; }

/* Entries' bytes prefaulted at a time as a class's array grows into fresh memory (~256 KiB). */
#define MEM_PREFAULT_BYTES (256u * 1024u)

/* Before entry k->n (reserved) of class c is first written: its pages, and the next chunk's,
 * backed in one call rather than a fault a page (the map's growth is a node's steadiest
 * source of faults). */
static void entry_ready(smap_mem_t *m, unsigned c) {
    mem_class_t *k = &m->cls[c];
    if (k->n < k->ready) return;
    size_t chunk = MEM_PREFAULT_BYTES / CLASS_STRIDE(c);
    size_t more = k->cap - k->n < chunk ? k->cap - k->n : chunk;
    qc_mem_prefault(entry_at(m, c, k->n), more * CLASS_STRIDE(c));
    k->ready = k->n + more;
}

/* Makes room for more[c] further entries in each class c, and a table at most half full for
 * them all. QC_OK or QC_ERR_NOMEM (nothing changed but capacity). */
static int reserve(smap_mem_t *m, const size_t more[MEM_CLASSES]) {
    size_t total = m->n;
    for (unsigned c = 0; c < MEM_CLASSES; c++) {
        mem_class_t *k = &m->cls[c];
        if (more[c] > CLASS_NODES_MAX - k->n) return QC_ERR_NOMEM;
        total += more[c];
        size_t need = k->n + more[c];
        if (need <= k->cap) continue;
        size_t cap = k->cap == 0 ? MEM_DENSE_MIN : k->cap;
        while (cap < need) cap *= 2;
        uint8_t *e = realloc(k->e, cap * CLASS_STRIDE(c));
        if (e == NULL) return QC_ERR_NOMEM;
        k->e = e;
        k->cap = cap;
        k->ready = k->n; /* what realloc kept is backed; the rest maybe not */
    }
    size_t cap = m->cap;
    while (total * 2 > cap) cap *= 2;
    if (cap == m->cap) return QC_OK;
    uint64_t *slot = calloc(cap, sizeof *slot);
    if (slot == NULL) return QC_ERR_NOMEM;
    qc_mem_prefault(slot, cap * sizeof *slot); /* filled at random places: every page soon */
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slot[i] == 0) continue;
        size_t j = home_of(m->slot[i], cap); /* the tag is h's upper half: no entry loaded */
        while (slot[j] != 0) j = (j + 1) & (cap - 1); /* positions are unique: no compare */
        slot[j] = m->slot[i];
    }
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return QC_OK;
}

/* Appends an entry to class c (reserved) for pos with flags and the packed node's len bytes;
 * returns its index. */
static size_t append(smap_mem_t *m, unsigned c, const smap_pos_t *pos, uint8_t flags,
                     const uint8_t *packed, size_t len) {
    QC_ASSERT(len <= class_node_max[c] && m->cls[c].n < m->cls[c].cap);
    entry_ready(m, c);
    size_t i = m->cls[c].n++;
    uint8_t *e = entry_at(m, c, i);
    memcpy(e, pos, SMAP_POS_MAX_BYTES);
    e[ENTRY_FLAGS] = flags;
    e[ENTRY_LEN] = (uint8_t)len;
    memcpy(e + ENTRY_NODE, packed, len);
    m->n++;
    return i;
}

/* Takes entry i out of class c's array: the class's last entry moves into its place (its
 * table slot follows). The entry's own slot is the caller's. */
static void class_take(smap_mem_t *m, unsigned c, size_t i) {
    mem_class_t *k = &m->cls[c];
    QC_ASSERT(i < k->n);
    size_t last = k->n - 1;
    if (i != last) {
        uint8_t *le = entry_at(m, c, last);
        uint64_t *ls = find(m, m->slot, m->cap, entry_pos(le));
        QC_ASSERT(*ls != 0 && slot_class(*ls) == c && slot_index(*ls) == last);
        *ls = slot_make(*ls, c, i);
        memcpy(entry_at(m, c, i), le, CLASS_STRIDE(c));
    }
    k->n--;
    m->n--;
}

/* Adds a clean entry for pos (not in the table). QC_OK or QC_ERR_NOMEM. */
static int insert_clean(smap_mem_t *m, const smap_pos_t *pos, const smap_node_t *node) {
    uint8_t packed[SMAP_NODE_MAX_BYTES];
    size_t len = smap_node_pack(node, packed);
    unsigned c = class_of(len);
    size_t more[MEM_CLASSES] = {0};
    more[c] = 1;
    int rc = reserve(m, more);
    if (rc != QC_OK) return rc;
    uint64_t h = smap_pos_hash(pos);
    uint64_t *s = find_h(m, m->slot, m->cap, pos, h);
    QC_ASSERT(*s == 0);
    *s = slot_make(h, c, append(m, c, pos, ENTRY_REF, packed, len));
    return QC_OK;
}

static int mem_get(void *ctx, const smap_pos_t *pos, smap_node_t *out) {
    smap_mem_t *m = ctx;
    uint64_t s = *find(m, m->slot, m->cap, pos);
    if (s != 0) {
        uint8_t *e = slot_entry(m, s);
        e[ENTRY_FLAGS] |= ENTRY_REF;
        size_t len = smap_node_unpack(e + ENTRY_NODE, out);
        QC_ASSERT(len == e[ENTRY_LEN]);
        return QC_OK;
    }
    if (m->backing.get == NULL) return QC_ERR_NOTFOUND;
    m->stats.misses++;
    int rc = m->backing.get(m->backing.ctx, pos, out);
    if (rc != QC_OK) return rc;
    /* Kept for the next read, within the bound; else (or when memory is short) it was still
     * read right. */
    smap_mem_offer(m, pos, out);
    return QC_OK;
}

void smap_mem_offer(smap_mem_t *m, const smap_pos_t *pos, const smap_node_t *node) {
    QC_ASSERT(m->backing.get != NULL);
    if (*find(m, m->slot, m->cap, pos) != 0) return;
    if (m->n >= m->read_max) smap_mem_evict(m, m->read_max / 4 * 3);
    if (m->n >= m->read_max || insert_clean(m, pos, node) != QC_OK) m->stats.uncached++;
}

/* Starts loading pos's table slot (the node it names is a second, dependent miss, left to
 * get: waiting for the slot here would stall the caller). */
static void mem_prefetch(void *ctx, const smap_pos_t *pos) {
    const smap_mem_t *m = ctx;
    hint_slot(m->slot, m->cap, pos);
}

/* The second step: the home slot (loaded by mem_prefetch, if the hint came early enough)
 * names the entry, whose lines start loading. */
static void mem_prefetch_node(void *ctx, const smap_pos_t *pos) {
    const smap_mem_t *m = ctx;
    uint64_t h = smap_pos_hash(pos);
    uint64_t s = m->slot[home_of(h, m->cap)];
    if (s == 0 || s >> 32 != h >> 32) return;
    unsigned c = slot_class(s);
    if (c >= MEM_CLASSES || slot_index(s) >= m->cls[c].n) return;
    prefetch_lines(slot_entry(m, s), CLASS_STRIDE(c), 0);
}

smap_reader_t smap_mem_reader(smap_mem_t *m) {
    return (smap_reader_t){.get = mem_get, .ctx = m, .prefetch = mem_prefetch,
                           .prefetch_node = mem_prefetch_node};
}

/* Commit walks the write set in order but touches the table and the nodes at random places (a
 * cache miss each, most of the cost): it prefetches the table slot of the write COMMIT_AHEAD
 * ahead (its hash kept in the write set) and, half as far ahead, the entry that slot names, so
 * both are in cache when their write comes. */
#define COMMIT_AHEAD 16u

static void prefetch_slot(const smap_mem_t *m, uint64_t h) {
    __builtin_prefetch(&m->slot[home_of(h, m->cap)], 0, 1);
}

static void prefetch_entry(const smap_mem_t *m, uint64_t h) {
    uint64_t s = m->slot[home_of(h, m->cap)];
    if (s != 0 && s >> 32 == h >> 32)
        prefetch_lines(slot_entry(m, s), ENTRY_NODE + SMAP_NODE_PACKED_INNER2, 1);
}

int smap_mem_commit(smap_mem_t *m, const smap_writes_t *ws) {
    /* Room first, so that a commit never stops half done: each write adds at most one entry
     * to the class of its node's length (a node moving class leaves a hole that takes its
     * class's last entry). */
    size_t more[MEM_CLASSES] = {0};
    for (size_t i = 0, off = 0; i < ws->n; i++, off = smap_writes_next(ws, off))
        more[class_of(smap_writes_len(ws, off))]++;
    int rc = reserve(m, more);
    if (rc != QC_OK) return rc;
    size_t n = ws->n;
    for (size_t i = 0; i < n && i < COMMIT_AHEAD; i++) prefetch_slot(m, write_hash(ws, i));
    for (size_t i = 0, off = 0; i < n; i++) {
        if (i + COMMIT_AHEAD / 2 < n) prefetch_entry(m, write_hash(ws, i + COMMIT_AHEAD / 2));
        if (i + COMMIT_AHEAD < n) prefetch_slot(m, write_hash(ws, i + COMMIT_AHEAD));
        uint64_t h = write_hash(ws, i);
        const smap_pos_t *pos = smap_writes_pos(ws, off);
        size_t len = smap_writes_len(ws, off);
        const uint8_t *packed = smap_writes_packed(ws, off);
        off = smap_writes_next(ws, off);
        unsigned c = class_of(len);
        uint64_t *s = find_h(m, m->slot, m->cap, pos, h);
        uint8_t flags = 0;
        if (*s != 0) {
            uint8_t *e = slot_entry(m, *s);
            flags = e[ENTRY_FLAGS];
            if (slot_class(*s) == c) { /* in place */
                e[ENTRY_LEN] = (uint8_t)len;
                memcpy(e + ENTRY_NODE, packed, len);
            } else {
                class_take(m, slot_class(*s), slot_index(*s));
                *s = slot_make(h, c, append(m, c, pos, flags, packed, len));
            }
        } else {
            *s = slot_make(h, c, append(m, c, pos, 0, packed, len));
        }
        if (!(flags & ENTRY_DIRTY)) m->dirty++;
        slot_entry(m, *s)[ENTRY_FLAGS] = (uint8_t)(flags | ENTRY_DIRTY | ENTRY_REF);
    }
    return QC_OK;
}

void smap_mem_set_backing(smap_mem_t *m, const smap_reader_t *backing, size_t nodes_max) {
    QC_ASSERT(m->n == 0 && backing != NULL && backing->get != NULL && nodes_max > 0);
    m->backing = *backing;
    m->read_max = nodes_max;
}

size_t smap_mem_dirty(const smap_mem_t *m) { return m->dirty; }

int smap_mem_each_dirty(const smap_mem_t *m, smap_mem_put_fn put, void *ctx) {
    for (unsigned c = 0; c < MEM_CLASSES; c++) {
        for (size_t i = 0; i < m->cls[c].n; i++) {
            const uint8_t *e = entry_at(m, c, i);
            if (!(e[ENTRY_FLAGS] & ENTRY_DIRTY)) continue;
            smap_node_t node;
            smap_node_unpack(e + ENTRY_NODE, &node);
            int rc = put(ctx, entry_pos(e), &node);
            if (rc != QC_OK) return rc;
        }
    }
    return QC_OK;
}

void smap_mem_mark_clean(smap_mem_t *m) {
    for (unsigned c = 0; c < MEM_CLASSES; c++)
        for (size_t i = 0; i < m->cls[c].n; i++) entry_at(m, c, i)[ENTRY_FLAGS] &= (uint8_t)~ENTRY_DIRTY;
    m->dirty = 0;
}

size_t smap_mem_mark_clean_from(smap_mem_t *m, unsigned depth) {
    size_t cleaned = 0;
    for (unsigned c = 0; c < MEM_CLASSES; c++) {
        for (size_t i = 0; i < m->cls[c].n && m->dirty > 0; i++) {
            uint8_t *e = entry_at(m, c, i);
            if (!(e[ENTRY_FLAGS] & ENTRY_DIRTY) || entry_pos(e)->depth < depth) continue;
            e[ENTRY_FLAGS] &= (uint8_t)~ENTRY_DIRTY;
            m->dirty--;
            cleaned++;
        }
    }
    return cleaned;
}

/* Is slot index k cyclically in (i, j]? */
static bool cyclic_in(size_t k, size_t i, size_t j) {
    return i <= j ? (i < k && k <= j) : (i < k || k <= j);
}

/* Removes entry idx of class c (clean) from the table (backward-shift deletion: the probe
 * runs after it stay unbroken, no tombstones) and from its class's array. */
static void remove_at(smap_mem_t *m, unsigned c, size_t idx) {
    QC_ASSERT(idx < m->cls[c].n && !(entry_at(m, c, idx)[ENTRY_FLAGS] & ENTRY_DIRTY));
    size_t mask = m->cap - 1;
    uint64_t *s = find(m, m->slot, m->cap, entry_pos(entry_at(m, c, idx)));
    QC_ASSERT(*s != 0 && slot_class(*s) == c && slot_index(*s) == idx);
    size_t i = (size_t)(s - m->slot);
    for (size_t j = (i + 1) & mask, steps = 0; m->slot[j] != 0 && steps < m->cap;
         j = (j + 1) & mask, steps++) {
        size_t home = home_of(m->slot[j], m->cap); /* from the tag: no entry loaded */
        if (cyclic_in(home, i, j)) continue; /* still reachable from its home */
        m->slot[i] = m->slot[j];
        i = j;
    }
    m->slot[i] = 0;
    class_take(m, c, idx);
}

size_t smap_mem_evict(smap_mem_t *m, size_t keep) {
    size_t evicted = 0;
    /* Two sweeps at most: the first clears every reference bit it passes. The hand runs over
     * class 0's entries, then class 1's, then class 2's. */
    for (size_t steps = 2 * m->n + 2; m->n > keep && m->n > m->dirty && steps > 0; steps--) {
        if (m->hand >= m->n) m->hand = 0;
        unsigned c = 0;
        size_t i = m->hand;
        while (i >= m->cls[c].n) i -= m->cls[c++].n;
        uint8_t *e = entry_at(m, c, i);
        if (e[ENTRY_FLAGS] & ENTRY_DIRTY) {
            m->hand++;
        } else if (e[ENTRY_FLAGS] & ENTRY_REF) {
            e[ENTRY_FLAGS] &= (uint8_t)~ENTRY_REF;
            m->hand++;
        } else {
            remove_at(m, c, i); /* the class's last entry moved here: look at it next */
            evicted++;
        }
    }
    m->stats.evicted += evicted;
    return evicted;
}

void smap_mem_stats(const smap_mem_t *m, smap_mem_stats_t *out) {
    *out = m->stats;
    out->nodes = m->n;
    out->dirty = m->dirty;
    out->bytes = m->cap * sizeof(uint64_t);
    out->entry_bytes = 0;
    for (unsigned c = 0; c < MEM_CLASSES; c++) {
        out->bytes += m->cls[c].cap * CLASS_STRIDE(c);
        out->entry_bytes += m->cls[c].n * CLASS_STRIDE(c);
    }
}

/* ---- an index over one write set (a pending block's nodes, for its children's reads) ---- */

struct smap_windex {
    const smap_writes_t *ws;
    uint64_t *slot; /* as smap_mem's table: tag << 32 | the write's offset in ws->b + 1; 0 free */
    size_t cap;     /* a power of two; at most half full */
};

/* The slot holding pos (whose smap_pos_hash is h), or the free slot where it would go: as
 * find_h, with the slot's low 32 bits the write's offset + 1. */
static uint64_t *windex_find(const smap_windex_t *x, const smap_pos_t *pos, uint64_t h) {
    uint64_t tag = h >> 32;
    size_t i = home_of(h, x->cap);
    for (size_t probes = 0; probes < x->cap; probes++) {
        uint64_t s = x->slot[i];
        if (s == 0) return &x->slot[i];
        if (s >> 32 == tag && pos_equal(smap_writes_pos(x->ws, (uint32_t)s - 1u), pos))
            return &x->slot[i];
        i = (i + 1) & (x->cap - 1);
    }
    QC_ASSERT(!"smap_windex: table full");
    return NULL;
}

int smap_windex_new(const smap_writes_t *ws, smap_windex_t **out) {
    *out = NULL;
    if (ws->len > SMAP_WRITES_BYTES_MAX) return QC_ERR_NOMEM;
    smap_windex_t *x = calloc(1, sizeof *x);
    if (x == NULL) return QC_ERR_NOMEM;
    x->ws = ws;
    x->cap = MEM_CAP_MIN;
    while (x->cap < 2 * ws->n) x->cap *= 2;
    x->slot = calloc(x->cap, sizeof *x->slot);
    if (x->slot == NULL) {
        free(x);
        return QC_ERR_NOMEM;
    }
    qc_mem_prefault(x->slot, x->cap * sizeof *x->slot); /* filled at random places */
    /* Each insert is a miss on a random slot: the slot COMMIT_AHEAD writes ahead starts
     * loading meanwhile. */
    for (size_t i = 0; i < ws->n && i < COMMIT_AHEAD; i++)
        __builtin_prefetch(&x->slot[home_of(write_hash(ws, i), x->cap)], 1, 1);
    for (size_t i = 0, off = 0; i < ws->n; i++) {
        if (i + COMMIT_AHEAD < ws->n)
            __builtin_prefetch(&x->slot[home_of(write_hash(ws, i + COMMIT_AHEAD), x->cap)], 1, 1);
        uint64_t h = write_hash(ws, i);
        uint64_t *s = windex_find(x, smap_writes_pos(ws, off), h);
        /* A write set holds each position once (smap_apply); were one repeated, the later
         * write would be the node, as in smap_mem_commit. */
        *s = (h >> 32) << 32 | (uint64_t)(off + 1);
        off = smap_writes_next(ws, off);
    }
    *out = x;
    return QC_OK;
}

void smap_windex_free(smap_windex_t *x) {
    if (x == NULL) return;
    free(x->slot);
    free(x);
}

static int windex_get(void *ctx, const smap_pos_t *pos, smap_node_t *out) {
    const smap_windex_t *x = ctx;
    uint64_t s = *windex_find(x, pos, smap_pos_hash(pos));
    if (s == 0) return QC_ERR_NOTFOUND;
    smap_writes_node(x->ws, (uint32_t)s - 1u, out);
    return QC_OK;
}

/* The hints of a layered read (sblock_layers_reader): the position's slot here, then the
 * write it names, as for the base. */
static void windex_prefetch(void *ctx, const smap_pos_t *pos) {
    const smap_windex_t *x = ctx;
    hint_slot(x->slot, x->cap, pos);
}

static void windex_prefetch_node(void *ctx, const smap_pos_t *pos) {
    const smap_windex_t *x = ctx;
    uint64_t h = smap_pos_hash(pos);
    uint64_t s = x->slot[home_of(h, x->cap)];
    if (s == 0 || s >> 32 != h >> 32 || (uint32_t)s - 1u >= x->ws->len) return;
    /* The lines of a write whose node has two inner children (100 bytes), the common kind. */
    prefetch_lines(x->ws->b + ((uint32_t)s - 1u), SMAP_POS_MAX_BYTES + 1 + SMAP_NODE_PACKED_INNER2,
                   0);
}

smap_reader_t smap_windex_reader(smap_windex_t *x) {
    return (smap_reader_t){.get = windex_get, .ctx = x, .prefetch = windex_prefetch,
                           .prefetch_node = windex_prefetch_node};
}
