/* ldb.h - what the node's two LevelDB databases (the ledger, node/store/store.c, and the
 * consensus state, node/store/cstate.c) share: opening a directory with the node's
 * permissions, mapping LevelDB's error strings to qc errors (corruption as QC_ERR_CORRUPT,
 * naming the path), and surviving a full disk.
 *
 * Why a full disk needs care: LevelDB 1.23 does not stop writing after a failed append to its
 * write-ahead log (only a failed sync does that). A write that hits ENOSPC leaves a partial
 * record in the log; a later write that succeeds (a retry once some space is back) lands after
 * it, and the next open then finds a record with a bad checksum in the middle of the log and
 * refuses the database ("Corruption: checksum mismatch") with acknowledged writes behind it.
 * The rule here: after any failed write the handle is not written again. It is closed and
 * reopened (LevelDB's recovery drops the torn tail, which is then the end of the log, and
 * starts a new log file) once the filesystem has room for that recovery (ldb_reopen). */
#ifndef QC_LDB_H
#define QC_LDB_H

#include "qc.h"

struct leveldb_t;
struct leveldb_options_t;

/* Room a reopen needs beyond the table it writes from the log (a MANIFEST, CURRENT, a log). */
#define LDB_REOPEN_MARGIN_BYTES (1u << 20)

/* Maps a LevelDB error string (consumed: freed here): "Corruption: ..." -> QC_ERR_CORRUPT,
 * anything else -> QC_ERR_IO. Logs it at ERROR as "<what>: leveldb: <err>"; LevelDB's strings
 * name the file (e.g. "Corruption: checksum mismatch: /data/ledger/000005.ldb"). */
int ldb_error(char *err, const char *what);

/* Creates dir (0700) if needed, tightens an existing one to 0700 (logged), and opens the
 * LevelDB in it with opts (borrowed; must outlive the handle). *db gets the handle, NULL on
 * failure. QC_OK, QC_ERR_CORRUPT (LevelDB found damage it will not open past: the ERROR log
 * names the file), QC_ERR_IO. */
int ldb_open(struct leveldb_t **db, struct leveldb_options_t *opts, const char *dir);

/* After a failed write: closes *db (if open) and opens dir again, which replays the log up to
 * the torn record and starts a new log. Does nothing unless the filesystem has room for the
 * recovery (free bytes >= 9/8 of the log files' size + LDB_REOPEN_MARGIN_BYTES): else QC_ERR_IO
 * with *db still open for reads. On a failed open *db is NULL (readers must check) and the
 * next call tries again. QC_OK with *db reopened, or the mapped error. */
int ldb_reopen(struct leveldb_t **db, struct leveldb_options_t *opts, const char *dir);

#endif
