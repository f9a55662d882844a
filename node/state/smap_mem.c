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
#define MEM_DENSE_MIN 64u /* nodes, ~230 bytes each */
#define MEM_NODES_MAX (UINT32_MAX - 1u)

#define ENTRY_DIRTY 1u /* written since the last smap_mem_mark_clean: never evicted */
#define ENTRY_REF 2u   /* read since the eviction hand last passed */

typedef struct {
    smap_pos_t pos;
    smap_node_t node;
    uint8_t flags;
} mem_entry_t;

/* Nodes live in a dense array (an evicted one's place takes the last); the table maps
 * positions to them with 8-byte slots (32-bit hash tag << 32 | index + 1; 0 is free), so a
 * probe touches 8 bytes, not a whole node. */
struct smap_mem {
    mem_entry_t *e;
    size_t n, e_cap;
    size_t e_ready; /* entries whose pages were prefaulted or written (entry_ready) */
    uint64_t *slot;
    size_t cap; /* a power of two; at most half full */
    smap_reader_t backing; /* .get NULL: none (a plain store) */
    size_t read_max;       /* a cache: reads keep a node only below this many entries */
    size_t dirty;          /* entries with ENTRY_DIRTY */
    size_t hand;           /* eviction's clock hand, an index into e */
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

/* The table slot holding pos (whose smap_pos_hash is h), or the free slot where it would go, in a
 * table whose slots name records that each begin with their smap_pos_t, at base + (index - 1)
 * x stride: smap_mem's mem_entry_t array (stride its size), or a write set's packed bytes
 * (stride 1: the slot holds the write's offset). The table is never full, so the probe ends
 * within cap steps. */
static uint64_t *probe(uint64_t *slot, size_t cap, const void *base, size_t stride,
                       const smap_pos_t *pos, uint64_t h) {
    uint64_t tag = h >> 32;
    size_t i = home_of(h, cap);
    for (size_t probes = 0; probes < cap; probes++) {
        uint64_t s = slot[i];
        if (s == 0) return &slot[i];
        const smap_pos_t *at = (const void *)((const char *)base + ((uint32_t)s - 1u) * stride);
        if (s >> 32 == tag && pos_equal(at, pos)) return &slot[i];
        i = (i + 1) & (cap - 1);
    }
    QC_ASSERT(!"smap_mem: table full");
    return NULL;
}

static uint64_t *find_h(const smap_mem_t *m, uint64_t *slot, size_t cap, const smap_pos_t *pos,
                        uint64_t h) {
    _Static_assert(offsetof(mem_entry_t, pos) == 0, "probe reads the position first");
    return probe(slot, cap, m->e, sizeof *m->e, pos, h);
}

static uint64_t *find(const smap_mem_t *m, uint64_t *slot, size_t cap, const smap_pos_t *pos) {
    return find_h(m, slot, cap, pos, smap_pos_hash(pos));
}

/* Read-ahead for a table of that shape: start loading pos's home slot; later, once that slot
 * is in cache, the record it names (a slot probed further is left to the read). */
static void hint_slot(const uint64_t *slot, size_t cap, const smap_pos_t *pos) {
    __builtin_prefetch(&slot[home_of(smap_pos_hash(pos), cap)], 0, 1);
}

static void hint_record(const uint64_t *slot, size_t cap, const void *base, size_t stride,
                        size_t n, size_t bytes, const smap_pos_t *pos) {
    uint64_t h = smap_pos_hash(pos);
    uint64_t s = slot[home_of(h, cap)];
    if (s == 0 || s >> 32 != h >> 32 || (uint32_t)s - 1u >= n) return;
    uintptr_t r = (uintptr_t)base + ((uint32_t)s - 1u) * stride;
    for (uintptr_t line = r & ~(uintptr_t)63; line < r + bytes; line += 64)
        __builtin_prefetch((const void *)line, 0, 1);
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
    free(m->e);
    free(m->slot);
    free(m);
}

size_t smap_mem_count(const smap_mem_t *m) { return m->n; }

static int reserve(smap_mem_t *m, size_t more);

/* Entries prefaulted at a time as the dense array grows into fresh memory (~256 KiB). */
#define MEM_PREFAULT (256u * 1024u / sizeof(mem_entry_t))

/* Before entry m->n (reserved) is first written: its pages, and the next chunk's, backed in one
 * call rather than a fault a page (the map's growth is a node's steadiest source of faults). */
static void entry_ready(smap_mem_t *m) {
    if (m->n < m->e_ready) return;
    size_t k = m->e_cap - m->n < MEM_PREFAULT ? m->e_cap - m->n : MEM_PREFAULT;
    qc_mem_prefault(&m->e[m->n], k * sizeof *m->e);
    m->e_ready = m->n + k;
}

/* Adds a clean entry for pos (not in the table). QC_OK or QC_ERR_NOMEM. */
static int insert_clean(smap_mem_t *m, const smap_pos_t *pos, const smap_node_t *node) {
    int rc = reserve(m, 1);
    if (rc != QC_OK) return rc;
    uint64_t h = smap_pos_hash(pos);
    uint64_t *s = find_h(m, m->slot, m->cap, pos, h);
    QC_ASSERT(*s == 0);
    entry_ready(m);
    m->e[m->n] = (mem_entry_t){.pos = *pos, .node = *node, .flags = ENTRY_REF};
    *s = (h >> 32) << 32 | (uint64_t)(m->n + 1);
    m->n++;
    return QC_OK;
}

static int mem_get(void *ctx, const smap_pos_t *pos, smap_node_t *out) {
    smap_mem_t *m = ctx;
    uint64_t s = *find(m, m->slot, m->cap, pos);
    if (s != 0) {
        mem_entry_t *e = &m->e[(uint32_t)s - 1u];
        e->flags |= ENTRY_REF;
        *out = e->node;
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
 * names the node, whose lines start loading. */
static void mem_prefetch_node(void *ctx, const smap_pos_t *pos) {
    const smap_mem_t *m = ctx;
    hint_record(m->slot, m->cap, m->e, sizeof *m->e, m->n, sizeof *m->e, pos);
}

smap_reader_t smap_mem_reader(smap_mem_t *m) {
    return (smap_reader_t){.get = mem_get, .ctx = m, .prefetch = mem_prefetch,
                           .prefetch_node = mem_prefetch_node};
}

/* Makes room for `more` further nodes: the dense array, and a table at most half full. */
static int reserve(smap_mem_t *m, size_t more) {
    if (more > MEM_NODES_MAX - m->n) return QC_ERR_NOMEM;
    size_t need = m->n + more;
    if (need > m->e_cap) {
        size_t e_cap = m->e_cap == 0 ? MEM_DENSE_MIN : m->e_cap;
        while (e_cap < need) e_cap *= 2;
        mem_entry_t *e = realloc(m->e, e_cap * sizeof *e);
        if (e == NULL) return QC_ERR_NOMEM;
        m->e = e;
        m->e_cap = e_cap;
        m->e_ready = m->n; /* what realloc kept is backed; the rest maybe not */
    }
    size_t cap = m->cap;
    while (need * 2 > cap) cap *= 2;
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

/* Commit walks the write set in order but touches the table and the nodes at random places (a
 * cache miss each, most of the cost): it prefetches the table slot of the write COMMIT_AHEAD
 * ahead (its hash kept in the write set) and, half as far ahead, the node that slot names, so
 * both are in cache when their write comes. */
#define COMMIT_AHEAD 16u

static void prefetch_slot(const smap_mem_t *m, uint64_t h) {
    __builtin_prefetch(&m->slot[home_of(h, m->cap)], 0, 1);
}

static void prefetch_node(const smap_mem_t *m, uint64_t h) {
    uint64_t s = m->slot[home_of(h, m->cap)];
    if (s != 0 && s >> 32 == h >> 32) __builtin_prefetch(&m->e[(uint32_t)s - 1u].node, 1, 1);
}

int smap_mem_commit(smap_mem_t *m, const smap_writes_t *ws) {
    int rc = reserve(m, ws->n);
    if (rc != QC_OK) return rc;
    size_t n = ws->n;
    for (size_t i = 0; i < n && i < COMMIT_AHEAD; i++) prefetch_slot(m, write_hash(ws, i));
    for (size_t i = 0, off = 0; i < n; i++) {
        if (i + COMMIT_AHEAD / 2 < n) prefetch_node(m, write_hash(ws, i + COMMIT_AHEAD / 2));
        if (i + COMMIT_AHEAD < n) prefetch_slot(m, write_hash(ws, i + COMMIT_AHEAD));
        uint64_t h = write_hash(ws, i);
        const smap_pos_t *pos = smap_writes_pos(ws, off);
        uint64_t *s = find_h(m, m->slot, m->cap, pos, h);
        if (*s == 0) {
            entry_ready(m);
            m->e[m->n].pos = *pos;
            m->e[m->n].flags = 0;
            *s = (h >> 32) << 32 | (uint64_t)(m->n + 1);
            m->n++;
        }
        mem_entry_t *e = &m->e[(uint32_t)*s - 1u];
        off = smap_writes_node(ws, off, &e->node);
        if (!(e->flags & ENTRY_DIRTY)) m->dirty++;
        e->flags |= ENTRY_DIRTY | ENTRY_REF;
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
    for (size_t i = 0; i < m->n; i++) {
        if (!(m->e[i].flags & ENTRY_DIRTY)) continue;
        int rc = put(ctx, &m->e[i].pos, &m->e[i].node);
        if (rc != QC_OK) return rc;
    }
    return QC_OK;
}

void smap_mem_mark_clean(smap_mem_t *m) {
    for (size_t i = 0; i < m->n; i++) m->e[i].flags &= (uint8_t)~ENTRY_DIRTY;
    m->dirty = 0;
}

size_t smap_mem_mark_clean_from(smap_mem_t *m, unsigned depth) {
    size_t cleaned = 0;
    for (size_t i = 0; i < m->n && m->dirty > 0; i++) {
        mem_entry_t *e = &m->e[i];
        if (!(e->flags & ENTRY_DIRTY) || e->pos.depth < depth) continue;
        e->flags &= (uint8_t)~ENTRY_DIRTY;
        m->dirty--;
        cleaned++;
    }
    return cleaned;
}

/* Is slot index k cyclically in (i, j]? */
static bool cyclic_in(size_t k, size_t i, size_t j) {
    return i <= j ? (i < k && k <= j) : (i < k || k <= j);
}

/* Removes dense entry idx (clean) from the table (backward-shift deletion: the probe runs
 * after it stay unbroken, no tombstones) and from the array (the last entry takes its place). */
static void remove_at(smap_mem_t *m, size_t idx) {
    QC_ASSERT(idx < m->n && !(m->e[idx].flags & ENTRY_DIRTY));
    size_t mask = m->cap - 1;
    uint64_t *s = find(m, m->slot, m->cap, &m->e[idx].pos);
    QC_ASSERT(*s != 0 && (uint32_t)*s - 1u == idx);
    size_t i = (size_t)(s - m->slot);
    for (size_t j = (i + 1) & mask, steps = 0; m->slot[j] != 0 && steps < m->cap;
         j = (j + 1) & mask, steps++) {
        size_t home = home_of(m->slot[j], m->cap); /* from the tag: no entry loaded */
        if (cyclic_in(home, i, j)) continue; /* still reachable from its home */
        m->slot[i] = m->slot[j];
        i = j;
    }
    m->slot[i] = 0;
    size_t last = m->n - 1;
    if (idx != last) {
        uint64_t *ls = find(m, m->slot, m->cap, &m->e[last].pos);
        QC_ASSERT(*ls != 0 && (uint32_t)*ls - 1u == last);
        *ls = (*ls >> 32) << 32 | (uint64_t)(idx + 1);
        m->e[idx] = m->e[last];
    }
    m->n--;
}

size_t smap_mem_evict(smap_mem_t *m, size_t keep) {
    size_t evicted = 0;
    /* Two sweeps at most: the first clears every reference bit it passes. */
    for (size_t steps = 2 * m->n + 2; m->n > keep && m->n > m->dirty && steps > 0; steps--) {
        if (m->hand >= m->n) m->hand = 0;
        mem_entry_t *e = &m->e[m->hand];
        if (e->flags & ENTRY_DIRTY) {
            m->hand++;
        } else if (e->flags & ENTRY_REF) {
            e->flags &= (uint8_t)~ENTRY_REF;
            m->hand++;
        } else {
            remove_at(m, m->hand); /* the last entry moved here: look at it next */
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
    out->bytes = m->e_cap * sizeof(mem_entry_t) + m->cap * sizeof(uint64_t);
}

/* ---- an index over one write set (a pending block's nodes, for its children's reads) ---- */

struct smap_windex {
    const smap_writes_t *ws;
    uint64_t *slot; /* as smap_mem's table: tag << 32 | the write's offset in ws->b + 1; 0 free */
    size_t cap;     /* a power of two; at most half full */
};

static uint64_t *windex_find(const smap_windex_t *x, const smap_pos_t *pos, uint64_t h) {
    return probe(x->slot, x->cap, x->ws->b, 1, pos, h);
}

int smap_windex_new(const smap_writes_t *ws, smap_windex_t **out) {
    *out = NULL;
    if (ws->n > MEM_NODES_MAX || ws->len > SMAP_WRITES_BYTES_MAX) return QC_ERR_NOMEM;
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
        off += SMAP_POS_MAX_BYTES + 1 + ws->b[off + SMAP_POS_MAX_BYTES];
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
    /* The lines of a write whose node has two inner children (100 bytes), the common kind. */
    hint_record(x->slot, x->cap, x->ws->b, 1, x->ws->len, SMAP_POS_MAX_BYTES + 1 + 66, pos);
}

smap_reader_t smap_windex_reader(smap_windex_t *x) {
    return (smap_reader_t){.get = windex_get, .ctx = x, .prefetch = windex_prefetch,
                           .prefetch_node = windex_prefetch_node};
}
