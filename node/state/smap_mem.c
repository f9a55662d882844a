/* smap_mem.c - the state map's in-memory node store (smap.h): an open-addressing hash table
 * of nodes by position. The node keeps its whole map in one (resident, rebuilt at open:
 * MERKLE.md §8.4) and each pending block's writes in another (a layer its children read
 * through); tests and benchmarks use it too. */
#include <stdlib.h>
#include <string.h>

#include "smap.h"

#define MEM_CAP_MIN 1024u /* table slots, 8 bytes each */
#define MEM_DENSE_MIN 64u /* nodes, ~230 bytes each */
#define MEM_NODES_MAX (UINT32_MAX - 1u)

typedef struct {
    smap_pos_t pos;
    smap_node_t node;
} mem_entry_t;

/* Nodes are never removed, so they live in a dense array in insertion order; the table maps
 * positions to them with 8-byte slots (32-bit hash tag << 32 | index + 1; 0 is free), so a
 * probe touches 8 bytes, not a whole node. */
struct smap_mem {
    mem_entry_t *e;
    size_t n, e_cap;
    uint64_t *slot;
    size_t cap; /* a power of two; at most half full */
};

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t pos_hash(const smap_pos_t *pos) {
    /* The depth mixed first: xored raw into the prefix word it would collide with prefixes
     * of neighbouring depths. */
    uint64_t h = mix64(pos->depth + 0x9e3779b97f4a7c15ull);
    /* Only the words holding prefix bits (the rest are zero). */
    for (unsigned i = 0; i < ((unsigned)pos->depth + 63) / 64; i++) {
        uint64_t w;
        memcpy(&w, pos->prefix.b + 8 * i, 8);
        h = mix64(h ^ w);
    }
    return h;
}

static bool pos_equal(const smap_pos_t *a, const smap_pos_t *b) {
    return a->depth == b->depth && memcmp(a->prefix.b, b->prefix.b, QC_HASH_BYTES) == 0;
}

/* The table slot holding pos (whose pos_hash is h), or the free slot where it would go. The
 * table is never full, so the probe ends within cap steps. */
static uint64_t *find_h(const smap_mem_t *m, uint64_t *slot, size_t cap, const smap_pos_t *pos,
                        uint64_t h) {
    uint64_t tag = h >> 32;
    size_t i = (size_t)h & (cap - 1);
    for (size_t probes = 0; probes < cap; probes++) {
        uint64_t s = slot[i];
        if (s == 0) return &slot[i];
        if (s >> 32 == tag && pos_equal(&m->e[(uint32_t)s - 1u].pos, pos)) return &slot[i];
        i = (i + 1) & (cap - 1);
    }
    QC_ASSERT(!"smap_mem: table full");
    return NULL;
}

static uint64_t *find(const smap_mem_t *m, uint64_t *slot, size_t cap, const smap_pos_t *pos) {
    return find_h(m, slot, cap, pos, pos_hash(pos));
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

static int mem_get(void *ctx, const smap_pos_t *pos, smap_node_t *out) {
    smap_mem_t *m = ctx;
    uint64_t s = *find(m, m->slot, m->cap, pos);
    if (s == 0) return QC_ERR_NOTFOUND;
    *out = m->e[(uint32_t)s - 1u].node;
    return QC_OK;
}

/* Starts loading pos's table slot (the node it names is a second, dependent miss, left to
 * get: waiting for the slot here would stall the caller). */
static void mem_prefetch(void *ctx, const smap_pos_t *pos) {
    const smap_mem_t *m = ctx;
    uint64_t h = pos_hash(pos);
    const uint64_t *slot = &m->slot[(size_t)h & (m->cap - 1)];
    __builtin_prefetch(slot, 0, 1);
}

smap_reader_t smap_mem_reader(smap_mem_t *m) {
    return (smap_reader_t){.get = mem_get, .ctx = m, .prefetch = mem_prefetch};
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
    }
    size_t cap = m->cap;
    while (need * 2 > cap) cap *= 2;
    if (cap == m->cap) return QC_OK;
    uint64_t *slot = calloc(cap, sizeof *slot);
    if (slot == NULL) return QC_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slot[i] != 0) *find(m, slot, cap, &m->e[(uint32_t)m->slot[i] - 1u].pos) = m->slot[i];
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return QC_OK;
}

/* Commit walks the write set in order but touches the table and the nodes at random places (a
 * cache miss each, most of the cost): it hashes the position COMMIT_AHEAD writes ahead and
 * prefetches its table slot, and half as far ahead prefetches the node that slot names, so
 * both are in cache when their write comes. Hashes wait in a ring meanwhile. */
#define COMMIT_AHEAD 16u

static void prefetch_slot(const smap_mem_t *m, uint64_t h) {
    __builtin_prefetch(&m->slot[(size_t)h & (m->cap - 1)], 0, 1);
}

static void prefetch_node(const smap_mem_t *m, uint64_t h) {
    uint64_t s = m->slot[(size_t)h & (m->cap - 1)];
    if (s != 0 && s >> 32 == h >> 32) __builtin_prefetch(&m->e[(uint32_t)s - 1u].node, 1, 1);
}

int smap_mem_commit(smap_mem_t *m, const smap_writes_t *ws) {
    int rc = reserve(m, ws->n);
    if (rc != QC_OK) return rc;
    uint64_t ring[COMMIT_AHEAD];
    size_t n = ws->n;
    for (size_t i = 0; i < n && i < COMMIT_AHEAD; i++) {
        ring[i] = pos_hash(&ws->w[i].pos);
        prefetch_slot(m, ring[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (i + COMMIT_AHEAD / 2 < n) prefetch_node(m, ring[(i + COMMIT_AHEAD / 2) % COMMIT_AHEAD]);
        uint64_t h = ring[i % COMMIT_AHEAD];
        if (i + COMMIT_AHEAD < n) {
            ring[i % COMMIT_AHEAD] = pos_hash(&ws->w[i + COMMIT_AHEAD].pos);
            prefetch_slot(m, ring[i % COMMIT_AHEAD]);
        }
        uint64_t *s = find_h(m, m->slot, m->cap, &ws->w[i].pos, h);
        if (*s == 0) {
            m->e[m->n].pos = ws->w[i].pos;
            *s = (h >> 32) << 32 | (uint64_t)(m->n + 1);
            m->n++;
        }
        m->e[(uint32_t)*s - 1u].node = ws->w[i].node;
    }
    return QC_OK;
}
