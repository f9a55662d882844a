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
#define AUDIT_STATE_VERSION 1

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
    /* The newest quorum-signed note it serves: *text malloc'd (caller frees), NUL-terminated. */
    int (*get_note)(void *ctx, char **text, size_t *len, char *why, size_t why_cap);
    /* A consistency proof between record-log sizes from <= to (MERKLE_PROOF_MAX hashes). */
    int (*get_proof)(void *ctx, uint64_t from, uint64_t to, qc_hash_t *proof, size_t *len,
                     char *why, size_t why_cap);
    void *ctx;
} audit_source_t;

typedef struct {
    bool ok;                 /* served a note that verifies with a quorum */
    char error[256];         /* otherwise why not */
    note_signed_t note;
    char *text;              /* owned: the note as served */
} audit_seen_t;

typedef struct {
    audit_verdict_t verdict;
    char reason[512];
    bool had_prev;
    note_signed_t prev;                  /* the checkpoint accepted before */
    audit_seen_t seen[AUDIT_SOURCES_MAX];/* by source */
    size_t seen_count;
    int newest;                          /* index in seen of the largest checkpoint, or -1 */
    bool advanced;                       /* the newest is larger than prev (or the first) */
    /* AUDIT_FORK: the two conflicting signed notes and where each came from (borrowed from
     * prev_text / seen[], valid until audit_report_free). */
    const char *evidence_text[2];
    const char *evidence_from[2];
} audit_report_t;

/* The audit: verifies prev_text (the accepted checkpoint, NULL on first use) and each source's
 * note against vs, then checks every pair of distinct checkpoints against the newest (equal
 * sizes: equal roots; else a consistency proof from some source that has the newer size must
 * verify; a proof that is served but never verifies is a fork). All pointers borrowed.
 * Always fills *r (free with audit_report_free) and returns its verdict. */
audit_verdict_t audit_run(const char *chain_id, const qc_validator_set_t *vs,
                          const char *prev_text, const audit_source_t *sources, size_t count,
                          audit_report_t *r);
void audit_report_free(audit_report_t *r);

/* The state file: {"version", "chain_id", "genesis_hash", "tree_size", "root", "note",
 * "accepted_ms"}. load: QC_ERR_NOTFOUND when absent; QC_ERR_INVALID (why) when malformed or
 * for another chain; on QC_OK *note is the malloc'd signed note (re-verified by audit_run).
 * save writes atomically (temp file, fsync, rename). */
int audit_state_load(const char *path, const genesis_t *g, char **note, char *why,
                     size_t why_cap);
int audit_state_save(const char *path, const genesis_t *g, const note_signed_t *s,
                     const char *note_text, uint64_t now_ms);

#endif
