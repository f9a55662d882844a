/* audit.h - the checkpoint auditor behind `qchain audit` (docs/CHECKPOINTS.md "Audit"): given
 * the checkpoint accepted last time and what one or more nodes serve now, decide whether the
 * record log grew consistently or forked. Nodes are reached through audit_source_t callbacks,
 * so the whole algorithm runs in-process in tests; tools/cmd_audit.c plugs in HTTP. */
#ifndef QC_AUDIT_H
#define QC_AUDIT_H

#include <jansson.h>

#include "genesis.h"
#include "merkle.h"
#include "note.h"

#define AUDIT_SOURCES_MAX 16
#define AUDIT_STATE_VERSION 2 /* 2 added "epoch"; version 1 files are read as epoch 0 */

typedef enum {
    AUDIT_CONSISTENT = 0,  /* every checkpoint seen is a prefix of the newest */
    AUDIT_FORK = 1,        /* two validly quorum-signed checkpoints cannot both be true */
    AUDIT_ERROR = 2,       /* could not decide (unreachable nodes, invalid notes, no proof) */
} audit_verdict_t;

/* Decides whether two checkpoints can both be true: equal sizes need equal roots (the proof is
 * not used); otherwise proof must be a valid RFC 9162 consistency proof from the smaller to the
 * larger. Both checkpoints must already be verified (note_signed_open). A sentence in why. */
audit_verdict_t audit_compare(const note_checkpoint_t *a, const note_checkpoint_t *b,
                              const qc_hash_t *proof, size_t proof_len, char *why,
                              size_t why_cap);

/* A node the auditor asks. Callbacks return QC_OK or an error with a sentence in why. */
typedef struct {
    const char *name;    /* for messages, e.g. the URL; borrowed */
    /* The newest epoch its membership history reports (/v1/members/history). */
    int (*get_newest_epoch)(void *ctx, uint64_t *epoch, char *why, size_t why_cap);
    /* The newest quorum-signed note it serves and the epoch whose set signed it, as the node
     * says (the note is then checked against that epoch's certified set): *text malloc'd
     * (caller frees), NUL-terminated. */
    int (*get_note)(void *ctx, char **text, size_t *len, uint64_t *epoch, char *why,
                    size_t why_cap);
    /* The validator set of epoch >= 1, certified from the genesis over the node's data
     * (client_epoch_set): a node cannot make the auditor accept a set the chain did not. */
    int (*get_set)(void *ctx, uint64_t epoch, qc_validator_set_t *vs, char *why, size_t why_cap);
    /* A consistency proof between record-log sizes from <= to (MERKLE_PROOF_MAX hashes). */
    int (*get_proof)(void *ctx, uint64_t from, uint64_t to, qc_hash_t *proof, size_t *len,
                     char *why, size_t why_cap);
    void *ctx;
} audit_source_t;

typedef struct {
    bool ok;                 /* served a note that verifies with a quorum of its epoch's set */
    char error[384];         /* otherwise why not (a genesis mismatch names two hashes) */
    uint64_t epoch;          /* the epoch whose set signed the note */
    qc_validator_set_t vs;   /* that set (signer indices of note are into it) */
    note_signed_t note;
    char *text;              /* owned: the note as served */
} audit_seen_t;

typedef struct {
    audit_verdict_t verdict;
    char reason[512];
    bool had_prev;
    note_signed_t prev;                  /* the checkpoint accepted before */
    uint64_t prev_epoch;                 /* ... and the epoch whose set signed it */
    audit_seen_t seen[AUDIT_SOURCES_MAX];/* by source */
    size_t seen_count;
    int newest;                          /* index in seen of the largest checkpoint, or -1 */
    bool advanced;                       /* the newest is larger than prev (or the first), or
                                            as large and signed by a newer epoch's set */
    /* AUDIT_FORK: the two conflicting signed notes and where each came from (borrowed from
     * prev_text / seen[], valid until audit_report_free). */
    const char *evidence_text[2];
    const char *evidence_from[2];
} audit_report_t;

/* The audit: every note must name genesis_hash (the hash of the genesis file the auditor
 * holds) in its genesis line. Verifies prev_text (the accepted checkpoint, NULL on first use) against the set
 * of prev_epoch (genesis_vs for epoch 0, else the first source that can certify it), and each
 * source's note against the set of the epoch it names, certified by that source. A source's
 * note is refused when its epoch is older than the newest epoch in that source's membership
 * history, or than prev_epoch: keys of a past epoch (a removed or rotated-out member's,
 * possibly compromised) cannot vouch for a checkpoint. Then checks every pair of distinct
 * checkpoints against the newest (equal sizes: equal roots; else a consistency proof from some
 * source that has the newer size must verify; a proof that is served but never verifies is a
 * fork); the record log is one log across epochs. All pointers borrowed. Always fills *r (free
 * with audit_report_free) and returns its verdict. */
audit_verdict_t audit_run(const char *chain_id, const qc_hash_t *genesis_hash,
                          const qc_validator_set_t *genesis_vs,
                          const char *prev_text, uint64_t prev_epoch,
                          const audit_source_t *sources, size_t count, audit_report_t *r);
void audit_report_free(audit_report_t *r);

/* The state file: {"version", "chain_id", "genesis_hash", "tree_size", "root", "note",
 * "epoch", "accepted_ms"} ("epoch": the epoch whose set signed the note; version 1 files have
 * none and are read as epoch 0). load: QC_ERR_NOTFOUND when absent; QC_ERR_INVALID (why) when
 * malformed or for another chain; on QC_OK *note is the malloc'd signed note (re-verified by
 * audit_run) and *epoch its epoch. save writes version 2 atomically (temp file, fsync,
 * rename). */
int audit_state_load(const char *path, const genesis_t *g, char **note, uint64_t *epoch,
                     char *why, size_t why_cap);
int audit_state_save(const char *path, const genesis_t *g, const note_signed_t *s,
                     const char *note_text, uint64_t epoch, uint64_t now_ms);

#endif
