/* cstate.h - durable consensus state of one node: the PBFT core's persist records (latest per
 * key) and the bodies of proposed blocks this node voted for, in a LevelDB of its own beside
 * the ledger. Written before the votes that depend on it leave the node, so a node that
 * crashes and restarts never contradicts a vote and can still serve the block it prepared.
 * The record encoding is local to one build of the node (docs/STORAGE.md). */
#ifndef QC_CSTATE_H
#define QC_CSTATE_H

#include "pbft.h"

/* Records cstate_load can hand back: the five one-key kinds (VIEW, CHECKPOINT, EPOCH, NEW_VIEW,
 * FINAL), one SLOT per height of the window above the stored checkpoint, and room to spare. */
#define CSTATE_RECORDS_MAX (PBFT_WINDOW_MAX + 8)
#define CSTATE_DIR_MAX 1024 /* longest directory path, with its NUL */

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
    /* A failed write's error until a reopen succeeds (ldb.h: the log may end in a torn
     * record, so the next cstate_write reopens the database first, once the disk has room). */
    int write_error;
    char dir[CSTATE_DIR_MAX];
    uint64_t applied_height;              /* cstate_set_applied: highest ledger height applied */
    uint64_t applied_written;             /* the one the last successful write stored */
    /* No slot record ('s') or body index entry ('h') below this height is stored: checkpoints'
     * deletions scan from here (0 after an open: the first one scans from the start). */
    uint64_t slot_floor;
} cstate_t;

/* Opens (creating) the LevelDB at dir (created 0700, or tightened to it). QC_OK,
 * QC_ERR_CORRUPT (LevelDB found damage; the ERROR log names the file), QC_ERR_IO. */
int cstate_open(cstate_t *cs, const char *dir);
void cstate_close(cstate_t *cs);

/* A proposed block body to keep until a checkpoint covers its height. Borrowed. */
typedef struct {
    uint64_t height;
    qc_hash_t digest;
    const uint8_t *data;
    size_t len;
} cstate_body_t;

/* One synced batch: the records (each replacing the previous one of its key) and the bodies to
 * keep. A NEW_VIEW record is stored with its whole body (the NEW-VIEW and every VIEW-CHANGE it
 * points to), a FINAL record with its certificates: both are copied here, so the core's
 * borrowed pointers need only live for the call. A CHECKPOINT deletes slots and bodies at or
 * below its height; an EPOCH deletes the records of older epochs except FINAL (which carries
 * past epochs by design). recs borrowed. QC_OK, QC_ERR_NOMEM or QC_ERR_IO (nothing written:
 * after a failed write every later call first reopens the database, and fails with QC_ERR_IO
 * until the disk has room for that). */
int cstate_write(cstate_t *cs, const pbft_persist_t *recs, size_t count,
                 const cstate_body_t *bodies, size_t body_count);

/* Caller-owned room for the bodies of loaded records (about 300 KB: allocate it, do not put it
 * on the stack). A loaded NEW_VIEW record's new_view points to nv, whose vcs[] point into
 * vcs[]; a loaded FINAL record's finals points to finals. */
typedef struct {
    pbft_new_view_t nv;
    pbft_view_change_t vcs[PBFT_Q_MAX];
    pbft_finals_t finals;
} cstate_bodies_t;

/* Loads the latest record of every key into recs (cap >= CSTATE_RECORDS_MAX); *count set. The
 * body pointers of NEW_VIEW and FINAL records point into *bodies (borrowed, overwritten): they
 * stay valid while *bodies does, so recs can go straight to pbft_restore. Every value is
 * checked (format magic and this build's struct sizes, exact length, the kind its key names,
 * flags and every count within its array) before anything is handed back. QC_OK,
 * QC_ERR_CORRUPT (a record fails its checks; the ERROR log names the key and the problem),
 * QC_ERR_IO (LevelDB reports corruption: also QC_ERR_CORRUPT, the log names the file). */
int cstate_load(cstate_t *cs, pbft_persist_t *recs, size_t cap, size_t *count,
                cstate_bodies_t *bodies);

/* A kept block body by digest: *out malloc'd, caller frees. QC_ERR_NOTFOUND if not kept. */
int cstate_body(cstate_t *cs, const qc_hash_t *digest, uint8_t **out, size_t *len);

/* Notes that the ledger has durably applied block `height` (the node calls it after each
 * apply). It is stored with the next cstate_write, in the same batch: no extra synced write,
 * so the stored value may lag the ledger by the blocks applied since the last persist. */
void cstate_set_applied(cstate_t *cs, uint64_t height);

/* The ledger height stored by cstate_set_applied (0 if none was). A ledger whose head is below
 * it has lost blocks it had durably applied (a truncated log, a restored old copy): the node
 * says so loudly and catches up from peers (docs/OPERATIONS.md). QC_OK, QC_ERR_CORRUPT,
 * QC_ERR_IO. */
int cstate_applied(cstate_t *cs, uint64_t *height);

#endif
