/* notes.h - gathering validators' signatures on C2SP checkpoint notes (proto/note.h).
 *
 * After applying block h a node signs the note "<chain id>\n<log_size>\n<base64 log_root>\n" of
 * h's header and broadcasts the signature (wire NoteSig). It keeps, for a bounded window of
 * NOTES_HEIGHTS heights around its head, every validator's signature that verifies under that
 * validator's node key; a signature counts once it also matches the node's own note for that
 * height (a signature that verifies over a different note is counted as a conflict and logged:
 * that validator signed a checkpoint this node's ledger contradicts). Once a quorum of
 * validators has signed a height's note, it is the latest signed checkpoint (GET /v1/checkpoint).
 *
 * One notes_t serves one validator set: the set in force for the block after the heights it
 * signs (docs/CHECKPOINTS.md §3: after an epoch's last block, the next epoch's set). The node
 * starts a new one when its ledger enters another epoch.
 *
 * No I/O: messages go out through the send callback; single-threaded like the node.
 * docs/CHECKPOINTS.md describes the protocol. */
#ifndef QC_NOTES_H
#define QC_NOTES_H

#include "note.h"
#include "wire.h"

#define NOTES_HEIGHTS 16          /* heights gathered at once: head-7 .. head+8 */
#define NOTES_BROADCAST UINT32_MAX

/* Sends ns to peer (a validator index) or to every peer (NOTES_BROADCAST). ns is borrowed. */
typedef void (*notes_send_cb)(void *user, uint32_t peer, const wire_note_sig_t *ns);

typedef struct {
    bool have;                    /* a verified signature by this validator */
    bool matched;                 /* ... over this node's own note for the height */
    uint64_t log_size;            /* what the signer signed */
    qc_hash_t root;
    qc_sig_t sig;
} notes_sig_t;

typedef struct {
    uint64_t height;              /* 0: unused */
    bool applied;                 /* own note known (the block is in the ledger) */
    note_checkpoint_t cp;         /* own note, when applied */
    uint32_t matched;             /* signatures over own note, own included */
    notes_sig_t sigs[QC_VALIDATORS_MAX];
} notes_slot_t;

typedef struct {
    uint64_t sigs_received;       /* NoteSig messages from peers */
    uint64_t sigs_counted;        /* matched a note of this node's ledger */
    uint64_t sigs_bad;            /* did not verify, or sender not a validator */
    uint64_t sigs_outside;        /* height outside the window */
    uint64_t sigs_duplicate;      /* a second signature by one validator for one height */
    uint64_t sigs_conflicting;    /* validly signed, but a different note than this ledger's */
    uint64_t checkpoints;         /* heights that reached a quorum */
} notes_stats_t;

typedef struct {
    const char *chain_id;            /* borrowed */
    qc_hash_t genesis_hash;          /* every note's genesis line */
    qc_validator_set_t vs;           /* copied: the set that signs (node keys by index, epoch) */
    const qc_seckey_t *sk;           /* borrowed: this node's key */
    uint32_t self;                   /* own validator index; >= vs->n: not a validator */
    notes_send_cb send;
    void *user;
    uint64_t head;                   /* highest height applied */
    bool has_own;
    wire_note_sig_t own;             /* this node's latest signature (resent to new peers) */
    notes_slot_t slots[NOTES_HEIGHTS]; /* by height % NOTES_HEIGHTS */
    bool has_latest;
    uint64_t latest_height;
    note_signed_t latest;            /* the newest quorum-signed checkpoint */
    notes_stats_t stats;
    /* A validator that signs contradicting notes could fill the log: its ERROR lines are
     * rate-limited (qc.h), summarised per minute. */
    qc_lograte_t log_conflict;
    uint64_t now_ms;                 /* the caller's clock, from notes_set_time */
} notes_t;

/* vs (the set whose members sign these notes) and genesis_hash (of this node's genesis file:
 * every note names it) are copied; the other pointers are borrowed and must outlive ns. */
void notes_init(notes_t *ns, const char *chain_id, const qc_hash_t *genesis_hash,
                const qc_validator_set_t *vs, uint32_t self, const qc_seckey_t *sk,
                notes_send_cb send, void *user);
/* Block `height` is applied with this record-log size and root: sign its note, broadcast the
 * signature and count the signatures that arrived for it early. Heights only increase. */
void notes_on_applied(notes_t *ns, uint64_t height, uint64_t log_size, const qc_hash_t *root);
/* A NoteSig from authenticated peer `peer` (the signer). Bad ones are counted and dropped. */
void notes_on_sig(notes_t *ns, uint32_t peer, const wire_note_sig_t *sig);
/* A link to peer came up: send it this node's latest signature, so a quorum re-forms after
 * restarts without waiting for a new block. */
void notes_on_peer_up(notes_t *ns, uint32_t peer);
/* The latest quorum-signed checkpoint and its height, or NULL when there is none yet. */
const note_signed_t *notes_latest(const notes_t *ns, uint64_t *height);

/* The caller's monotonic clock, for the rate limit of conflict reports; also rolls its window
 * (the summary line of suppressed reports appears even when they stop). */
void notes_set_time(notes_t *ns, uint64_t now_ms);

#endif
