/* sblock.h - one block's effect on the state map (docs/PROTOCOL.md §12): the map updates its
 * transactions make (each record's first anchoring inserts its fresh status, each status a
 * lifecycle transaction changes replaces the old one) and the root they lead to, computed the
 * same way by the primary building the block, a backup checking it, the store applying it and
 * a rebuild of the map from the blocks. */
#ifndef QC_SBLOCK_H
#define QC_SBLOCK_H

#include "fmt.h"
#include "lifecycle.h"
#include "smap.h"

/* A block's updates so far. Owned by the caller: zero-initialise; sblock_free. Reusable
 * from block to block (sblock_reset keeps the memory). */
typedef struct {
    smap_update_t *u;
    size_t n, cap;
} sblock_t;

void sblock_free(sblock_t *sb);
void sblock_reset(sblock_t *sb);

/* ANCHOR tx (borrowed), signed by the city `owner`, committed at `height` with its first record
 * at record-log index log_index: one insert-if-absent per record of the fresh status that a
 * first anchoring gives (a digest already in the map keeps its status). Other types: nothing.
 * QC_OK, QC_ERR_NOMEM, QC_ERR_TOOBIG (more than SMAP_BATCH_MAX updates). */
int sblock_anchor(sblock_t *sb, const qc_tx_t *tx, const char *owner, uint64_t height,
                  uint64_t log_index);

/* One replacing update: digest's status is now the canonical encoding enc (borrowed). */
int sblock_set(sblock_t *sb, const uint8_t digest[32], const uint8_t *enc, size_t len);

/* One replacing update of map key `key` (not a record's: a city head, clog.h) to value. */
int sblock_put(sblock_t *sb, const qc_hash_t *key, const qc_hash_t *value);

/* One replacing update per status lc changed (lc_each_changed), after the block's
 * transactions were applied to lc in order: they win over the block's inserts. */
int sblock_changed(sblock_t *sb, const lc_state_t *lc);

/* Applies the updates (sorted and merged in place: smap_prepare) to the map r reads: *root
 * gets the root after the block, ws (appended to) the nodes to commit. Errors of smap_apply. */
int sblock_finish(sblock_t *sb, const smap_reader_t *r, smap_writes_t *ws, qc_hash_t *root);

/* The reader of an empty map (a parent with no state map, in tests). */
smap_reader_t sblock_empty_reader(void);

/* A reader of the map seen through layers (newest first: layers[0] holds the nodes the
 * newest pending block wrote) over base. The struct and its arrays are borrowed by the reader
 * and must outlive it. */
typedef struct {
    const smap_reader_t *layers; /* n readers, newest first */
    size_t n;
    smap_reader_t base;
} sblock_layers_t;

smap_reader_t sblock_layers_reader(sblock_layers_t *l);

#endif
