/* cstate.h - durable consensus state of one node: the PBFT core's persist records (latest per
 * key) and the bodies of proposed blocks this node voted for, in a LevelDB of its own beside
 * the ledger. Written before the votes that depend on it leave the node, so a node that
 * crashes and restarts never contradicts a vote and can still serve the block it prepared.
 * The record encoding is local to one build of the node (docs/STORAGE.md). */
#ifndef QC_CSTATE_H
#define QC_CSTATE_H

#include "pbft.h"

#define CSTATE_RECORDS_MAX (PBFT_WINDOW_MAX + 8) /* VIEW, CHECKPOINT, EPOCH and one per slot */

struct leveldb_t;
struct leveldb_options_t;
struct leveldb_readoptions_t;
struct leveldb_writeoptions_t;

typedef struct {
    struct leveldb_t *db;
    struct leveldb_options_t *opts;
    struct leveldb_readoptions_t *ropts;
    struct leveldb_writeoptions_t *wopts; /* sync */
    uint64_t writes;                      /* synced batches written */
} cstate_t;

/* Opens (creating) the LevelDB at dir. QC_OK, QC_ERR_IO. */
int cstate_open(cstate_t *cs, const char *dir);
void cstate_close(cstate_t *cs);

/* A proposed block body to keep until a checkpoint covers its height. Borrowed. */
typedef struct {
    uint64_t height;
    qc_hash_t digest;
    const uint8_t *data;
    size_t len;
} cstate_body_t;

/* One synced batch: the records (each replacing the previous one of its key; a CHECKPOINT
 * deletes slots and bodies at or below its height) and the bodies to keep. QC_OK or
 * QC_ERR_IO. */
int cstate_write(cstate_t *cs, const pbft_persist_t *recs, size_t count,
                 const cstate_body_t *bodies, size_t body_count);

/* Loads the latest record of every key into recs (cap >= CSTATE_RECORDS_MAX); *count set.
 * QC_OK, QC_ERR_CORRUPT (a record fails its checks), QC_ERR_IO. */
int cstate_load(cstate_t *cs, pbft_persist_t *recs, size_t cap, size_t *count);

/* A kept block body by digest: *out malloc'd, caller frees. QC_ERR_NOTFOUND if not kept. */
int cstate_body(cstate_t *cs, const qc_hash_t *digest, uint8_t **out, size_t *len);

#endif
