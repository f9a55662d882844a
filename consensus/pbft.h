/* pbft.h - the pure PBFT state machine that orders block digests among an epoch's validators
 * (Castro and Liskov, "Practical Byzantine Fault Tolerance", OSDI'99, and "Practical Byzantine
 * Fault Tolerance and Proactive Recovery", TOCS 2002; section numbers below refer to OSDI'99
 * as "OSDI §" and to TOCS 2002 as "TOCS §").
 *
 * The core does no I/O: no sockets, clock, disk, threads, randomness or allocation. The caller
 * owns a pbft_t (about 1 MB, embed or allocate it once), feeds it inputs (peer messages, ticks,
 * proposals, validation answers, persistence and application acknowledgements) and drains the
 * outbox after every input. Signing and verification are caller callbacks over a fixed
 * pbft_stmt_t so the node can use Ed25519 and the simulator a fake MAC.
 *
 * Caller loop (like etcd raft's Ready/Advance):
 *   0. before each tick, pbft_set_links() with the peers reachable now and whether the host is
 *      catching up;
 *   1. call one input function;
 *   2. pbft_outbox(p, &ob):
 *      a. ob.persist[]: make every record durable IN ORDER (records replace earlier records with
 *         the same key, see pbft_persist_t), then call pbft_persisted(p, last seq) - now or
 *         later. Messages that depend on those records (votes: PRE-PREPARE, PREPARE, COMMIT,
 *         VIEW-CHANGE, NEW-VIEW) are held inside the core and only appear in ob.msgs after the
 *         acknowledgement ("send after persist", cf. raft's msgsAfterAppend): a replica never
 *         sends a vote it could forget in a crash;
 *      b. ob.msgs[]: send (to one replica or broadcast); VIEW-CHANGE, NEW-VIEW and COMMIT-CERT
 *         bodies are borrowed pointers into the core: serialise them before the next input;
 *      c. ob.commits[]: apply the committed blocks in height order, each with its commit
 *         certificate, then call pbft_applied(p, height);
 *      d. ob.validates[]: check those proposed blocks (fetching bodies by digest if needed),
 *         answer later with pbft_validated();
 *      e. ob.fetch: fetch the committed blocks up to fetch->target.height (state transfer),
 *         then call pbft_transfer_done();
 *      f. ob.epoch_switch: the core now runs the new epoch's validator set;
 *   3. pbft_outbox_clear(p).
 * Inputs are refused with QC_ERR_FULL while an undrained outbox is more than half full. */
#ifndef PBFT_H
#define PBFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qc.h"

/* ---------------------------------------------------------------- limits */
#define PBFT_N_MAX 16          /* validators per epoch */
#define PBFT_Q_MAX 11          /* pbft_quorum(PBFT_N_MAX) */
#define PBFT_WINDOW_MAX 32     /* L: heights in flight between the water marks */
#define PBFT_CKPT_TRACK 4      /* checkpoint votes remembered per replica */
#define PBFT_OUT_MSGS_MAX 256  /* outbox bounds; each input needs at most half */
#define PBFT_OUT_PERSIST_MAX 160
#define PBFT_OUT_COMMITS_MAX (2 * PBFT_WINDOW_MAX)
#define PBFT_OUT_VALIDATES_MAX (2 * PBFT_WINDOW_MAX)
#define PBFT_HELD_MAX 256      /* messages waiting for persistence */
#define PBFT_EARLY_MAX 128     /* PRE-PREPAREs/PREPAREs that arrived before their NEW-VIEW */
#define PBFT_FINAL_KEEP 4      /* final checkpoint certificates of past epochs kept and served */
#define PBFT_BROADCAST 0xffffu /* pbft_msg_t.to for every other replica */
#define PBFT_NOT_MEMBER 0xffffu /* pbft_epoch_t.self when this node is not a validator */

/* f = floor((n-1)/3): the faulty replicas an n-replica epoch tolerates. n >= 1. */
int pbft_max_faulty(int n);
/* q = ceil((n+f+1)/2): any two quorums share at least f+1 replicas, so at least one honest
 * one (2f+1 when n = 3f+1; 6 for n = 9, since 5 would let two quorums meet in one faulty). */
int pbft_quorum(int n);

/* ---------------------------------------------------------------- signed statements */
typedef enum {
    PBFT_MSG_PREPREPARE = 1, /* primary assigns digest to (view, height)        OSDI §4.2 */
    PBFT_MSG_PREPARE = 2,    /* backup agrees with the assignment               OSDI §4.2 */
    PBFT_MSG_COMMIT = 3,     /* prepared; these form the commit certificate     OSDI §4.2 */
    PBFT_MSG_CHECKPOINT = 4, /* executed up to height with block digest         OSDI §4.3 */
    PBFT_MSG_VIEW_CHANGE = 5,/* moving to view; proofs of what is prepared      OSDI §4.4 */
    PBFT_MSG_NEW_VIEW = 6,   /* new primary's proof and re-proposals            OSDI §4.4 */
    PBFT_MSG_HEARTBEAT = 7,  /* primary is alive with nothing to propose */
    PBFT_MSG_COMMIT_CERT = 8,/* a commit certificate, retransmitted to replicas that lag */
    PBFT_MSG_CHECKPOINT_CERT = 9, /* an old epoch's final stable checkpoint, served to replicas
                                     still in that epoch so they can cross the switch */
} pbft_msg_type_t;

/* What a signature covers. The node turns it into canonical, domain-separated bytes (type
 * first); for COMMIT that is the "commit vote" (chain id, epoch, height, view, digest), so
 * commit certificates verify without any other consensus message. Fields a type does not use
 * are zero. digest: the block digest (PRE-PREPARE, PREPARE, COMMIT), the digest of the block
 * at the checkpoint height (CHECKPOINT), pbft_view_change_hash()/pbft_new_view_hash()
 * (VIEW-CHANGE/NEW-VIEW; height = stable checkpoint height for VIEW-CHANGE). parent: the
 * digest of the block at height-1 that this block extends (PRE-PREPARE, PREPARE only). */
typedef struct {
    uint8_t type;     /* pbft_msg_type_t */
    uint16_t replica; /* signer's index in the epoch */
    uint64_t epoch;
    uint64_t view;
    uint64_t height;
    qc_hash_t digest;
    qc_hash_t parent;
} pbft_stmt_t;

/* Fills *sig with replica stmt->replica's signature (always this node's own index). Must be
 * deterministic or at least always succeed. ctx is pbft_config_t.crypto_ctx. */
typedef void (*pbft_sign_cb)(void *ctx, const pbft_stmt_t *stmt, qc_sig_t *sig);
/* True when sig is stmt->replica's valid signature over stmt for epoch stmt->epoch. */
typedef bool (*pbft_verify_cb)(void *ctx, const pbft_stmt_t *stmt, const qc_sig_t *sig);

typedef struct {
    uint16_t replica;
    qc_sig_t sig;
} pbft_vote_sig_t;

/* A block's commit certificate: >= q distinct replicas' COMMIT signatures from ONE view. */
typedef struct {
    uint64_t epoch;
    uint64_t height;
    uint64_t view;
    qc_hash_t digest;
    uint8_t count;                     /* q, replicas in ascending order */
    pbft_vote_sig_t sigs[PBFT_Q_MAX];
} pbft_commit_cert_t;

/* A prepared certificate (OSDI §4.2 "prepared"): the primary of `view`'s PRE-PREPARE signature
 * plus q-1 PREPARE signatures of distinct backups, all over (view, height, digest, parent). */
typedef struct {
    uint64_t view;
    uint64_t height;
    qc_hash_t digest;
    qc_hash_t parent;
    uint8_t count;                     /* q, ascending replicas; the primary's entry is its
                                          PRE-PREPARE signature */
    pbft_vote_sig_t sigs[PBFT_Q_MAX];
} pbft_prepared_cert_t;

/* A stable checkpoint (OSDI §4.3): q CHECKPOINT signatures for (height, digest). count == 0
 * only for the epoch's base checkpoint, which is trusted from configuration. */
typedef struct {
    uint64_t height;
    qc_hash_t digest;
    uint8_t count;
    pbft_vote_sig_t sigs[PBFT_Q_MAX];
} pbft_checkpoint_cert_t;

/* VIEW-CHANGE (OSDI §4.4): the sender's stable checkpoint with proof and, for every height
 * above it that prepared at the sender, the prepared certificate of the highest view. */
typedef struct {
    uint64_t epoch;
    uint64_t view;                     /* the view being moved to */
    uint16_t replica;
    pbft_checkpoint_cert_t stable;
    uint8_t prepared_count;            /* ascending, distinct heights in (stable, stable+L] */
    pbft_prepared_cert_t prepared[PBFT_WINDOW_MAX];
    qc_sig_t sig;                      /* over stmt {VIEW_CHANGE, digest=pbft_view_change_hash} */
} pbft_view_change_t;

/* One re-proposal of a NEW-VIEW: the new primary's PRE-PREPARE for (view, height). */
typedef struct {
    uint64_t height;
    qc_hash_t digest;
    qc_hash_t parent;
    qc_sig_t sig;
} pbft_nv_entry_t;

/* NEW-VIEW (OSDI §4.4): q VIEW-CHANGEs for `view` and the re-proposals every replica
 * recomputes from them (pbft_new_view_compute) and must find identical. */
typedef struct {
    uint64_t epoch;
    uint64_t view;
    uint16_t replica;                  /* primary of view */
    uint8_t vc_count;
    const pbft_view_change_t *vcs[PBFT_Q_MAX]; /* borrowed, see pbft_msg_t */
    pbft_checkpoint_cert_t base;       /* highest stable checkpoint among vcs */
    uint8_t entry_count;               /* heights base+1 .. base+entry_count */
    pbft_nv_entry_t entries[PBFT_WINDOW_MAX];
    qc_sig_t sig;                      /* over stmt {NEW_VIEW, digest=pbft_new_view_hash} */
} pbft_new_view_t;

/* A decoded peer message. For PRE-PREPARE/PREPARE/COMMIT/CHECKPOINT/HEARTBEAT the header fields
 * and sig are the statement (pbft_msg_stmt). For VIEW-CHANGE, NEW-VIEW, COMMIT-CERT and
 * CHECKPOINT-CERT the body pointer carries everything that is signed (header epoch/view/from
 * must match it; sig unused; a CHECKPOINT-CERT's header epoch is the epoch its signatures
 * belong to, height and digest are the certificate's). Bodies are borrowed: for pbft_step()
 * for the duration of the call; in the outbox until the next input. */
typedef struct {
    pbft_msg_type_t type;
    uint16_t from;
    uint16_t to;                       /* outbox only: replica index or PBFT_BROADCAST */
    uint64_t epoch;
    uint64_t view;
    uint64_t height;
    qc_hash_t digest;
    qc_hash_t parent;
    qc_sig_t sig;
    const pbft_view_change_t *vc;
    const pbft_new_view_t *nv;
    const pbft_commit_cert_t *cert;
    const pbft_checkpoint_cert_t *ckpt;
} pbft_msg_t;

/* Fills a statement; digest and parent may be NULL (zero). */
void pbft_stmt_make(pbft_stmt_t *st, int type, uint16_t replica, uint64_t epoch, uint64_t view,
                    uint64_t height, const qc_hash_t *digest, const qc_hash_t *parent);
/* The statement a small message's sig covers. */
void pbft_msg_stmt(const pbft_msg_t *m, pbft_stmt_t *out);
/* Content hashes signed by VIEW-CHANGE and NEW-VIEW (SHA-256 chains over every field but the
 * outer signature; docs/CONSENSUS.md gives the byte layout). */
void pbft_view_change_hash(const pbft_view_change_t *vc, qc_hash_t *out);
void pbft_new_view_hash(const pbft_new_view_t *nv, qc_hash_t *out);
const char *pbft_msg_type_name(int type);

/* ---------------------------------------------------------------- configuration */
typedef struct {
    uint64_t epoch;
    uint16_t n;                        /* validators, 1..PBFT_N_MAX */
    uint16_t self;                     /* this node's index, or PBFT_NOT_MEMBER */
    uint64_t base_height;              /* the epoch starts after this committed block */
    qc_hash_t base_digest;             /* its digest (genesis: height 0, genesis digest) */
} pbft_epoch_t;

typedef struct {
    pbft_epoch_t epoch;
    uint32_t checkpoint_interval;      /* K >= 1 */
    uint32_t window;                   /* L: multiple of K, 2K <= L <= PBFT_WINDOW_MAX */
    uint32_t pipeline_max;             /* proposals in flight beyond the executed height, 1..L */
    uint32_t heartbeat_ticks;          /* idle primary sends HEARTBEAT this often, >= 1 */
    uint32_t view_timeout_ticks;       /* first view-change timeout, >= 2 */
    uint32_t view_timeout_max_ticks;   /* cap of the doubling timeout */
    pbft_sign_cb sign;
    pbft_verify_cb verify;
    void *crypto_ctx;                  /* borrowed for the life of the pbft_t */
} pbft_config_t;

/* Fills sane defaults (K=8, L=16, pipeline 4, heartbeat 5, timeout 20..320 ticks); the caller
 * still sets epoch and callbacks. */
void pbft_config_default(pbft_config_t *cfg);

/* ---------------------------------------------------------------- outputs */
/* Durable state. Keyed: VIEW, CHECKPOINT, EPOCH, NEW_VIEW and FINAL have one key each, SLOT one
 * per height; a record replaces the previous record with the same key. A CHECKPOINT at height s
 * makes all SLOT records with height <= s deletable; an EPOCH record makes every older-epoch
 * record deletable except FINAL (it carries past epochs). Restore with the latest record of
 * every key (pbft_restore).
 *
 * Order matters and the core relies on it: records must become durable in the order they are
 * output (a crash may keep any prefix of them, never a later record without an earlier one).
 * Entering a view queues VIEW(v, changing) first, then NEW_VIEW and the SLOT votes of the
 * re-proposals, then VIEW(v, normal) last: a replica that restarts "in view v, normal" always
 * remembers what view v's NEW-VIEW re-proposed (docs/CONSENSUS.md §4). */
typedef enum {
    PBFT_REC_VIEW = 1,
    PBFT_REC_SLOT = 2,
    PBFT_REC_CHECKPOINT = 3,
    PBFT_REC_EPOCH = 4,
    PBFT_REC_NEW_VIEW = 5,   /* the NEW-VIEW of the view being entered (every replica keeps it) */
    PBFT_REC_FINAL = 6,      /* final checkpoint certificates of the last PBFT_FINAL_KEEP epochs */
} pbft_rec_kind_t;

/* This replica's own PRE-PREPARE (primary) or PREPARE (backup) vote for one height: it is
 * durable before the vote leaves, and a restarted replica never votes differently. */
typedef struct {
    bool voted;
    uint64_t view;
    qc_hash_t digest;
    qc_hash_t parent;
    qc_sig_t pp_sig;                   /* the primary's PRE-PREPARE signature it voted on */
} pbft_own_vote_t;

typedef struct {
    uint64_t height;
    pbft_own_vote_t vote;
    bool has_prepared;
    pbft_prepared_cert_t prepared;     /* highest-view prepared certificate */
} pbft_slot_rec_t;

/* The stable checkpoint at which an epoch ended (the next epoch's base), with a quorum of that
 * epoch's CHECKPOINT signatures. */
typedef struct {
    uint64_t epoch;                    /* the epoch the signatures belong to */
    uint16_t self;                     /* this replica's index in that epoch (it answers as) */
    pbft_checkpoint_cert_t cert;
} pbft_final_t;

typedef struct {
    uint8_t count;                     /* oldest first */
    pbft_final_t items[PBFT_FINAL_KEEP];
} pbft_finals_t;

typedef struct {
    uint64_t seq;                      /* increasing; acknowledge with pbft_persisted() */
    pbft_rec_kind_t kind;
    uint64_t epoch;                    /* epoch the record belongs to */
    union {
        struct {
            uint64_t view;             /* current view, or the view being changed to */
            bool in_view_change;
        } view;                        /* PBFT_REC_VIEW */
        pbft_slot_rec_t slot;          /* PBFT_REC_SLOT */
        pbft_checkpoint_cert_t checkpoint; /* PBFT_REC_CHECKPOINT: the stable checkpoint */
        pbft_epoch_t next_epoch;       /* PBFT_REC_EPOCH: the epoch now in force */
        /* PBFT_REC_NEW_VIEW: the NEW-VIEW (with its VIEW-CHANGEs) of view new_view->view.
         * Borrowed: in the outbox until the next input; in pbft_restore for the call. Hosts
         * store the whole body (every VIEW-CHANGE it points to). */
        const pbft_new_view_t *new_view;
        /* PBFT_REC_FINAL: past epochs' final certificates. Borrowed like new_view. */
        const pbft_finals_t *finals;
    };
} pbft_persist_t;

typedef struct {
    pbft_commit_cert_t cert;           /* epoch, height, view, digest and q signatures */
    qc_hash_t parent;
} pbft_committed_t;

typedef struct {
    uint64_t view;
    uint64_t height;
    qc_hash_t digest;
    qc_hash_t parent;                  /* the block must extend exactly this digest */
} pbft_validate_t;

/* State transfer: fetch the committed blocks (from_height, target.height] with their commit
 * certificates, the last one with digest target.digest. target carries at least f+1 matching
 * CHECKPOINT signatures (a quorum when it is stable; f+1 already include an honest replica);
 * each fetched block is verified by its own commit certificate. */
typedef struct {
    uint64_t from_height;              /* exclusive: last height the core output */
    pbft_checkpoint_cert_t target;
} pbft_fetch_t;

typedef struct {
    uint64_t old_epoch;
    pbft_epoch_t epoch;
} pbft_epoch_switch_t;

typedef struct {
    const pbft_msg_t *msgs;
    size_t msg_count;
    const pbft_persist_t *persist;
    size_t persist_count;
    const pbft_committed_t *commits;
    size_t commit_count;
    const pbft_validate_t *validates;
    size_t validate_count;
    const pbft_fetch_t *fetch;               /* NULL or the newest state-transfer request */
    const pbft_epoch_switch_t *epoch_switch; /* NULL or the switch that just happened */
} pbft_outbox_t;

/* Counters: every dropped input is counted under one reason and never stops the replica. */
typedef struct {
    uint64_t rx;                  /* messages given to pbft_step */
    uint64_t rx_bad_sig;          /* signature (or one inside a proof) does not verify */
    uint64_t rx_not_member;       /* sender or signer outside the epoch, or self */
    uint64_t rx_wrong_epoch;
    uint64_t rx_stale;            /* older view, or checkpoint below the stable one */
    uint64_t rx_out_of_window;    /* height outside (low, low+L] water marks */
    uint64_t rx_malformed;        /* bad type/fields/counts, not from the primary, ... */
    uint64_t rx_conflict;         /* a second, different vote for one slot (equivocation) */
    uint64_t rx_duplicate;
    uint64_t rx_early;            /* buffered until this replica enters their view */
    uint64_t rx_bad_view_change;  /* invalid VIEW-CHANGE proofs */
    uint64_t rx_bad_new_view;     /* NEW-VIEW that fails recomputation */
    uint64_t rx_old_epoch;        /* of an epoch this replica already left (answered with its
                                     final certificate when kept; a subset of rx_wrong_epoch) */
    uint64_t invalid_proposals;   /* the application said a proposed block is invalid */
    uint64_t sig_signs;
    uint64_t sig_verifies;
    uint64_t msgs_out;            /* messages put in the outbox (broadcast counts once) */
    uint64_t view_changes;        /* VIEW-CHANGEs this replica started */
    uint64_t new_views;           /* views entered through NEW-VIEW */
    uint64_t committed;           /* blocks output */
    uint64_t checkpoints;         /* checkpoints that became stable */
    uint64_t transfers;           /* state-transfer requests */
    uint64_t gc_slots;            /* log slots freed by garbage collection */
    uint64_t finals_sent;         /* CHECKPOINT-CERTs of past epochs sent to laggards */
    uint64_t old_certs_sent;      /* COMMIT-CERTs of the epoch just left sent to laggards */
    uint64_t nv_lower_replies;    /* NEW-VIEWs resent to replicas found in a lower view */
    uint64_t timer_held_ticks;    /* ticks the view timer stood still (pbft_set_links) */
    uint64_t suspicions;          /* view changes started by pbft_suspect_primary */
    uint64_t held_max_ticks;      /* longest a durable vote waited in the held queue */
} pbft_stats_t;

/* ---------------------------------------------------------------- the state machine */
typedef enum { PBFT_MODE_NORMAL = 0, PBFT_MODE_VIEW_CHANGE = 1, PBFT_MODE_IDLE = 2 } pbft_mode_t;

typedef struct {                 /* one replica's vote for one slot: PREPAREs of the current
                                    view; COMMITs of the highest view seen (they stay valid) */
    bool valid;
    uint64_t view;
    qc_hash_t digest;
    qc_hash_t parent;            /* PREPARE only */
    qc_sig_t sig;
} pbft_vote_t;

typedef struct {                 /* one height in the window; private to the core */
    uint64_t height;             /* 0: unused */
    bool pp_valid;               /* accepted PRE-PREPARE in the current view */
    bool pp_from_new_view;       /* a NEW-VIEW re-proposal: no application validation */
    uint8_t validation;          /* 0 none, 1 requested, 2 ok, 3 invalid */
    qc_hash_t digest, parent;
    qc_sig_t pp_sig;
    pbft_own_vote_t vote;        /* own PRE-PREPARE/PREPARE vote (durable guard) */
    bool commit_sent;            /* own COMMIT queued in the current view */
    bool prepared_now;           /* prepared in the current view */
    bool has_prepared;
    pbft_prepared_cert_t prepared;
    uint8_t n_prepares, n_commits; /* valid entries below, current view */
    bool committed;              /* commit certificate known */
    pbft_commit_cert_t cert;
    qc_hash_t committed_parent;
    pbft_vote_t prepares[PBFT_N_MAX];
    pbft_vote_t commits[PBFT_N_MAX];
} pbft_slot_t;

typedef struct {
    uint64_t height;             /* 0: empty */
    qc_hash_t digest;
    qc_sig_t sig;
} pbft_ckpt_vote_t;

typedef struct {                 /* the CHECKPOINT votes of an epoch's final checkpoint */
    bool active;
    uint64_t epoch;
    uint16_t n;                  /* that epoch's size */
    uint16_t self;               /* this replica's index in it */
    uint64_t height;
    qc_hash_t digest;
    uint8_t count;
    pbft_vote_sig_t sigs[PBFT_N_MAX]; /* ascending replicas */
} pbft_final_pending_t;

typedef struct {                 /* the epoch just left, for replicas that have not applied its
                                    last checkpoint yet (so its final certificate may never
                                    form): its last stable checkpoint and the commit
                                    certificates above it, up to the switch */
    bool valid;
    uint64_t epoch;
    uint16_t self;               /* this replica's index in it */
    pbft_checkpoint_cert_t stable;
    uint8_t cert_count;
    pbft_commit_cert_t certs[PBFT_WINDOW_MAX];
} pbft_old_epoch_t;

typedef struct {                 /* a message waiting for persistence */
    uint64_t needs_seq;
    uint64_t since_tick;         /* now_ticks when it was queued */
    pbft_msg_t msg;
} pbft_held_t;

typedef struct pbft {
    pbft_config_t cfg;           /* private from here on: read through the accessors */
    pbft_epoch_t ep;
    int f, q;
    pbft_mode_t mode;
    uint64_t view;               /* current view, or the target view while changing */
    uint32_t vc_attempts;        /* failed views in a row: timeout = base << attempts */
    uint64_t idle_ticks;         /* since progress (normal) or since the quorum formed (vc) */
    uint64_t resend_ticks;       /* retransmission clock */
    uint64_t hb_ticks;           /* primary: since last PRE-PREPARE/HEARTBEAT */
    bool vc_quorum;              /* q VIEW-CHANGEs for the target view are in */
    bool backlog;                /* the application has work the primary should propose */
    uint16_t peers_up;           /* pbft_set_links: other validators reachable now */
    bool catching_up;            /* pbft_set_links: the host is fetching committed blocks */
    uint64_t now_ticks;          /* ticks since init or restore (rate limits, held ages) */
    uint64_t exec_height;        /* last height output as committed */
    qc_hash_t exec_digest;
    uint64_t applied_height;     /* acknowledged by pbft_applied */
    uint64_t propose_next;       /* primary: next height to propose */
    pbft_checkpoint_cert_t stable;
    pbft_ckpt_vote_t own_ckpt;   /* latest own checkpoint vote (kept across an epoch switch, */
    uint64_t own_ckpt_epoch;     /* so laggards of the old epoch still get its last one) */
    uint16_t own_ckpt_self;      /* the index it signed as in own_ckpt_epoch (ep.self may
                                    differ after a switch that shifted or removed it) */
    bool own_ckpt_valid;
    pbft_finals_t finals;        /* past epochs' final certificates, served to laggards */
    pbft_final_pending_t final_pending; /* the epoch just left: its final cert forming */
    uint64_t final_reply_tick[PBFT_N_MAX]; /* last CHECKPOINT-CERT sent to each old index */
    pbft_old_epoch_t old_epoch;  /* kept in memory only: peers that crossed keep theirs */
    bool transferring;
    pbft_fetch_t fetch;
    bool next_epoch_set;
    uint64_t next_epoch_at;      /* checkpoint height where it takes over */
    pbft_epoch_t next_epoch;
    uint64_t persist_seq;        /* last record seq handed out */
    uint64_t persisted_seq;      /* acknowledged */
    pbft_slot_t slots[PBFT_WINDOW_MAX];
    pbft_ckpt_vote_t ckpt_votes[PBFT_N_MAX][PBFT_CKPT_TRACK];
    bool vc_valid[PBFT_N_MAX];   /* a valid VIEW-CHANGE for the current (target) view */
    qc_hash_t vc_hash[PBFT_N_MAX];
    uint64_t vc_views[PBFT_N_MAX]; /* highest view each replica validly asked for (join rule) */
    bool own_nv_valid;           /* own_nv is the NEW-VIEW of the current view (built here as
                                    primary, or received and checked) */
    uint64_t nv_reply_tick[PBFT_N_MAX]; /* now_ticks of the last NEW-VIEW sent to each replica
                                    found in a lower view (0: never; pbft_answer_lower_view) */
    size_t held_count;
    size_t early_count;
    size_t out_msg_count;
    size_t out_persist_count;
    size_t out_commit_count;
    size_t out_validate_count;
    bool out_fetch;
    bool out_epoch;
    pbft_epoch_switch_t out_epoch_switch;
    pbft_stats_t stats;
    /* Large areas below are only read up to their counts or validity flags, so init does not
     * clear them (PBFT_ZEROED_END). */
    pbft_view_change_t vcs[PBFT_N_MAX];
    pbft_view_change_t own_vc;   /* what this replica sends, stable for held messages */
    pbft_new_view_t own_nv;
    pbft_new_view_t scratch_nv;  /* recomputation of a received NEW-VIEW */
    pbft_held_t held[PBFT_HELD_MAX];
    pbft_msg_t early[PBFT_EARLY_MAX];
    pbft_msg_t out_msgs[PBFT_OUT_MSGS_MAX];
    pbft_persist_t out_persist[PBFT_OUT_PERSIST_MAX];
    pbft_committed_t out_commits[PBFT_OUT_COMMITS_MAX];
    pbft_validate_t out_validates[PBFT_OUT_VALIDATES_MAX];
} pbft_t;

/* Checks cfg; QC_ERR_INVALID names nothing but the caller can print pbft_config_problem(). */
int pbft_config_check(const pbft_config_t *cfg);
const char *pbft_config_problem(const pbft_config_t *cfg); /* NULL when cfg is valid */

/* Fresh start at cfg->epoch's base checkpoint, view 0. p is caller memory (borrowed, not
 * freed by the core); cfg is copied. QC_OK or QC_ERR_INVALID. */
int pbft_init(pbft_t *p, const pbft_config_t *cfg);

/* Restart after a crash from the latest record of every key (any order; recs borrowed for the
 * call) and the application's durable ledger head (applied_height, applied_digest). The
 * replica resumes in its persisted view (or view change) and re-sends the votes it had made
 * durable, never a conflicting one, and votes again for its stable checkpoint. QC_OK, QC_ERR_INVALID or QC_ERR_CORRUPT (records that
 * contradict each other or the configuration). */
int pbft_restore(pbft_t *p, const pbft_config_t *cfg, const pbft_persist_t *recs, size_t count,
                 uint64_t applied_height, const qc_hash_t *applied_digest);

/* A decoded message from replica m->from (the transport authenticates the link; the core
 * verifies the signature). Borrowed for the call. Returns QC_OK when used, a negative code
 * when dropped (also counted in pbft_stats_t): QC_ERR_SIGNATURE, QC_ERR_MEMBER, QC_ERR_STATE
 * (stale/out of window/wrong epoch), QC_ERR_INVALID (malformed, conflicting), QC_ERR_DUPLICATE,
 * QC_ERR_FULL (drain the outbox first; not counted). */
int pbft_step(pbft_t *p, const pbft_msg_t *m);

/* One unit of abstract time. */
int pbft_tick(pbft_t *p);

/* Primary only: whether a block may be proposed now, and at which height and on which parent
 * (the digest of the block at height-1: committed, or proposed earlier in this view, so
 * proposals pipeline). QC_OK, or QC_ERR_STATE (not primary, view change, window or pipeline
 * full, behind). */
int pbft_proposal_slot(const pbft_t *p, uint64_t *height, qc_hash_t *parent);
/* Proposes the application's block `digest` (already built on the parent from
 * pbft_proposal_slot) at `height`. QC_OK, QC_ERR_STATE, QC_ERR_INVALID (wrong height). */
int pbft_propose(pbft_t *p, uint64_t height, const qc_hash_t *digest);

/* The application's answer to a validate request. Stale answers are ignored (QC_ERR_STATE). */
int pbft_validated(pbft_t *p, uint64_t height, const qc_hash_t *digest, bool ok);

/* Every record with seq <= seq is durable; releases the messages that waited for them. */
int pbft_persisted(pbft_t *p, uint64_t seq);

/* The application applied every committed block up to height (<= last output). Checkpoints
 * are taken here, and an epoch set by pbft_set_next_epoch takes over here. */
int pbft_applied(pbft_t *p, uint64_t height);

/* State transfer finished: the application holds verified committed blocks up to height,
 * whose last block has digest. QC_OK, QC_ERR_STATE (no such request), QC_ERR_INVALID. */
int pbft_transfer_done(pbft_t *p, uint64_t height, const qc_hash_t *digest);

/* Call while applying committed block decided_height (before pbft_applied covers it, or while
 * a state transfer that includes it is in progress) when that block changes the validator
 * set: from the first checkpoint height c >= decided_height on, next (epoch = current + 1,
 * base_height = c) orders blocks. Every honest replica makes the same call at the same
 * height, so all switch at the same checkpoint. After a restart the host makes the call again
 * if its ledger holds the deciding block but not yet c; a host whose ledger reached c restores
 * with the new epoch (base c) as cfg->epoch, since the EPOCH record may not have been durable.
 * QC_OK, QC_ERR_STATE (c already applied, not yet committed, or one already pending),
 * QC_ERR_INVALID. */
int pbft_set_next_epoch(pbft_t *p, uint64_t decided_height, const pbft_epoch_t *next);

/* Whether the application holds work that the primary should have proposed: while true a
 * backup's view timer runs even if the primary sends heartbeats. */
void pbft_set_backlog(pbft_t *p, bool pending);

/* The host's evidence that the primary passes over work it should propose (node/censor.h: a
 * transaction this replica holds and sent again was left out of blocks with room for it):
 * a backup in the normal case starts a view change to the next view now, as its view timer
 * would on expiry, since a primary that keeps committing other blocks resets that timer.
 * Safe to call on any evidence: a view change started alone is joined only by the f+1 rule,
 * as with the timer (OSDI §4.5.2). QC_OK (started), QC_ERR_STATE (the primary, not in the
 * normal case, or the view timer may not run: pbft_set_links), QC_ERR_FULL (outbox). */
int pbft_suspect_primary(pbft_t *p);

/* What the host knows about its reach: peers_up, the other validators it has working links to
 * now; catching_up, whether it is still fetching blocks that peers already committed. While
 * peers_up + 1 < q, or while catching up, the view timer does not run: a replica that cannot
 * reach a quorum, or is behind, would only move alone into a later view that nobody joins
 * (it still joins views by the f+1 rule and follows commits). Default: every peer up, not
 * catching up. */
void pbft_set_links(pbft_t *p, uint16_t peers_up, bool catching_up);

/* Outbox access; pointers borrowed until pbft_outbox_clear() or the next input. */
void pbft_outbox(const pbft_t *p, pbft_outbox_t *out);
void pbft_outbox_clear(pbft_t *p);

/* Accessors. */
const pbft_stats_t *pbft_stats(const pbft_t *p);
uint64_t pbft_view(const pbft_t *p);
pbft_mode_t pbft_mode(const pbft_t *p);
uint16_t pbft_primary(const pbft_t *p);        /* of the current (or target) view */
uint64_t pbft_exec_height(const pbft_t *p);
uint64_t pbft_stable_height(const pbft_t *p);
uint64_t pbft_epoch_number(const pbft_t *p);

/* Certificate checks the application can use for catch-up and receipts (n: epoch size).
 * QC_OK, QC_ERR_QUORUM (too few distinct valid signers), QC_ERR_MEMBER, QC_ERR_SIGNATURE. */
int pbft_commit_cert_verify(const pbft_commit_cert_t *c, uint16_t n, pbft_verify_cb verify,
                            void *ctx);
int pbft_checkpoint_cert_verify(const pbft_checkpoint_cert_t *c, uint64_t epoch, uint16_t n,
                                pbft_verify_cb verify, void *ctx);
int pbft_prepared_cert_verify(const pbft_prepared_cert_t *c, uint64_t epoch, uint16_t n,
                              pbft_verify_cb verify, void *ctx);

/* The NEW-VIEW re-proposals (OSDI §4.4, with a chaining rule, docs/CONSENSUS.md) determined by
 * vcs: base = the highest stable checkpoint among them; then for each height above it the
 * prepared certificate of the highest view, stopping at the first height with none or whose
 * parent is not the digest chosen below it. Fills out->base, entry_count and the entries'
 * height/digest/parent (not their signatures). window: L. */
void pbft_new_view_compute(const pbft_view_change_t *const *vcs, size_t count, uint32_t window,
                           pbft_new_view_t *out);

#endif
