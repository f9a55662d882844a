/* smap_mem.c - the state map's in-memory node store (smap.h): an open-addressing hash table
 * of nodes by position, for tests and benchmarks (the node stores them in LevelDB). */
#include <stdlib.h>
#include <string.h>

#include "smap.h"

#define MEM_CAP_MIN 1024u

typedef struct {
    bool used;
    smap_pos_t pos;
    smap_node_t node;
} mem_entry_t;

struct smap_mem {
    mem_entry_t *t;
    size_t cap; /* a power of two; at most 3/4 full */
    size_t n;
};

/* splitmix64's finaliser: every input bit reaches every output bit. */
static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t pos_hash(const smap_pos_t *pos) {
    uint64_t h = pos->depth;
    for (unsigned i = 0; i < 4; i++) {
        uint64_t w;
        memcpy(&w, pos->prefix.b + 8 * i, 8);
        h = mix64(h ^ w);
    }
    return h;
}

static bool pos_equal(const smap_pos_t *a, const smap_pos_t *b) {
    return a->depth == b->depth && memcmp(a->prefix.b, b->prefix.b, QC_HASH_BYTES) == 0;
}

/* The slot holding pos, or the free slot where it would go. cap is never full, so the
 * probe ends within cap steps. */
static mem_entry_t *find(mem_entry_t *t, size_t cap, const smap_pos_t *pos) {
    size_t i = (size_t)pos_hash(pos) & (cap - 1);
    for (size_t probes = 0; probes < cap; probes++) {
        if (!t[i].used || pos_equal(&t[i].pos, pos)) return &t[i];
        i = (i + 1) & (cap - 1);
    }
    QC_ASSERT(!"smap_mem: table full");
    return NULL;
}

int smap_mem_new(smap_mem_t **out) {
    *out = NULL;
    smap_mem_t *m = calloc(1, sizeof *m);
    if (m == NULL) return QC_ERR_NOMEM;
    m->t = calloc(MEM_CAP_MIN, sizeof *m->t);
    if (m->t == NULL) {
        free(m);
        return QC_ERR_NOMEM;
    }
    m->cap = MEM_CAP_MIN;
    *out = m;
    return QC_OK;
}

void smap_mem_free(smap_mem_t *m) {
    if (m == NULL) return;
    free(m->t);
    free(m);
}

size_t smap_mem_count(const smap_mem_t *m) { return m->n; }

static int mem_get(void *ctx, const smap_pos_t *pos, smap_node_t *out) {
    smap_mem_t *m = ctx;
    mem_entry_t *e = find(m->t, m->cap, pos);
    if (!e->used) return QC_ERR_NOTFOUND;
    *out = e->node;
    return QC_OK;
}

smap_reader_t smap_mem_reader(smap_mem_t *m) {
    return (smap_reader_t){.get = mem_get, .ctx = m};
}

/* Grows the table so that `more` further entries keep it at most 3/4 full. */
static int reserve(smap_mem_t *m, size_t more) {
    size_t cap = m->cap;
    while ((m->n + more) * 4 > cap * 3) {
        if (cap > SIZE_MAX / 2 / sizeof(mem_entry_t)) return QC_ERR_NOMEM;
        cap *= 2;
    }
    if (cap == m->cap) return QC_OK;
    mem_entry_t *t = calloc(cap, sizeof *t);
    if (t == NULL) return QC_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->t[i].used) *find(t, cap, &m->t[i].pos) = m->t[i];
    free(m->t);
    m->t = t;
    m->cap = cap;
    return QC_OK;
}

int smap_mem_commit(smap_mem_t *m, const smap_writes_t *ws) {
    int rc = reserve(m, ws->n);
    if (rc != QC_OK) return rc;
    for (size_t i = 0; i < ws->n; i++) {
        mem_entry_t *e = find(m->t, m->cap, &ws->w[i].pos);
        if (!e->used) {
            e->used = true;
            e->pos = ws->w[i].pos;
            m->n++;
        }
        e->node = ws->w[i].node;
    }
    return QC_OK;
}
