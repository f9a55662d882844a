/* clog.h - the per-city logs of docs/PROTOCOL.md §13: for each member city an append-only
 * RFC 6962 log of its record events (anchorings, endorsements, revocations, supersessions),
 * kept as per-city frontiers, and the state-map updates (city key -> city head) a block makes.
 * The same code serves the primary building a block and a backup checking it (exec), the store
 * applying it and rebuilding the frontiers at open (store_city.c, store_state.c), as sblock.h
 * does for record statuses. */
#ifndef QC_CLOG_H
#define QC_CLOG_H

#include "cityproof.h"
#include "fmt.h"
#include "rlog.h"
#include "sblock.h"

/* One city's log: its name, its frontier, and whether it grew since the last clog_finish. */
typedef struct {
    char name[QC_MEMBER_NAME_MAX + 1];
    rlog_t log;
    bool grown;
} clog_city_t;

/* Every city that has a log, in the order they first had an event. Owned by the caller:
 * zero-initialise; clog_set_free. At most CLOG_CITIES_MAX cities (names are never reused for
 * another city: a returning city keeps its log). */
#define CLOG_CITIES_MAX 1024u
typedef struct {
    clog_city_t *c;
    size_t n, cap;
} clog_set_t;

void clog_set_free(clog_set_t *s);
/* dst (owned by the caller, zero-initialised or from an earlier copy) becomes a copy of src.
 * QC_OK or QC_ERR_NOMEM (dst then empty). */
int clog_set_copy(clog_set_t *dst, const clog_set_t *src);
/* The city's log, or NULL when it has none yet. */
const clog_city_t *clog_find(const clog_set_t *s, const char *name);

/* Receives each leaf appended (the store keeps leaf data for serving proofs) and each
 * complete subtree hash it completes (as rlog_put_fn). Borrowed arguments; a negative
 * return aborts the append. Either may be NULL. */
typedef struct {
    int (*leaf)(void *ctx, const char *city, uint64_t index, const qc_city_leaf_t *leaf);
    int (*node)(void *ctx, const char *city, uint32_t level, uint64_t index, const qc_hash_t *h);
    void *ctx;
} clog_sink_t;

/* The lowest level of the subtree hashes the store keeps of a city log (STORAGE.md: the 'Z'
 * family; a lower subtree is hashed from its leaves when read). */
#define CLOG_NODE_LEVEL_KEPT 4u

/* One subtree hash a block's events completed in a city log: city is the city's index in the
 * set appended to (a set's cities keep their indexes: new ones are appended). */
typedef struct {
    uint32_t city, level;
    uint64_t index;
    qc_hash_t h;
} clog_node_t;

/* The subtree hashes from level CLOG_NODE_LEVEL_KEPT up that one block's events completed, in
 * the order they were completed: what exec hands the store with the logs after the block, so
 * that a node hashes each event once (store.h store_given_t). Owned by the caller:
 * zero-initialise; clog_nodes_free. */
typedef struct {
    clog_node_t *v;
    size_t n, cap;
    const clog_set_t *set; /* while collecting (clog_nodes_sink): the set appended to */
} clog_nodes_t;

void clog_nodes_free(clog_nodes_t *x);
/* A sink for clog_tx on set s that appends each completed subtree hash from level
 * CLOG_NODE_LEVEL_KEPT up to x (not emptied first). x and s are borrowed while the sink is
 * used; an append that finds no memory fails the clog_tx with QC_ERR_NOMEM. */
clog_sink_t clog_nodes_sink(clog_nodes_t *x, const clog_set_t *s);

/* Appends the §13.1 leaves of tx (borrowed), committed at `height` and signed by the seal key
 * of member `city`, to that city's log: one per record of an ANCHOR, one for an ENDORSE or a
 * REVOKE, two for a SUPERSEDE; nothing for other types. sink may be NULL. QC_OK; QC_ERR_INVALID
 * (city not a member name); QC_ERR_FULL (CLOG_CITIES_MAX cities); QC_ERR_NOMEM; the sink's
 * error. On error the set may hold part of the transaction's leaves: discard it. */
int clog_tx(clog_set_t *s, const qc_tx_t *tx, const char *city, uint64_t height,
            const clog_sink_t *sink);

/* The §13.1 leaves of tx committed at `height` (whoever signed it), written to out[0..*n):
 * one per record of an ANCHOR, one for an ENDORSE or a REVOKE, two for a SUPERSEDE, none for
 * other types. out holds at least CLOG_TX_LEAVES_MAX leaves. */
#define CLOG_TX_LEAVES_MAX QC_TX_RECORDS_MAX
void clog_tx_leaves(const qc_tx_t *tx, uint64_t height, qc_city_leaf_t *out, size_t *n);

/* The most events (leaves) one city's log may gain in one block (PROTOCOL §13.1): a block
 * with more is invalid, and a proposer leaves the transactions that would exceed it for a
 * later block. So the proof of any one block's events, with its two bracketing leaves, fits
 * in the CITYPROOF_LEAVES_MAX leaves of a completeness proof. */
#define CLOG_BLOCK_EVENTS_MAX (CITYPROOF_LEAVES_MAX - 2u)

/* The number of leaves clog_tx appends for tx: its record count for an ANCHOR, 1 for an
 * ENDORSE or a REVOKE, 2 for a SUPERSEDE, 0 for other types. */
size_t clog_tx_events(const qc_tx_t *tx);

/* How many events city's log in s gained since `before` (the set at the block's start; NULL:
 * empty): the block's events of that city so far. */
uint64_t clog_block_events(const clog_set_t *s, const clog_set_t *before, const char *city);

/* One replacing state-map update per city whose log grew since the last call
 * (qc_city_key(name) -> qc_city_head(size, root)), appended to sb; clears the marks.
 * QC_OK or sblock_put's error. */
int clog_finish(clog_set_t *s, sblock_t *sb);

#endif
