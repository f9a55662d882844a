/* pbft_sim.h - deterministic simulator for the PBFT core: one seed drives cluster size,
 * network delay, reordering, loss, duplication, partitions, crashes with restart from
 * persisted state, slow replicas, clock rates and Byzantine replicas, while checkers hold every
 * honest replica to agreement, validity, total order, valid certificates and liveness. */
#ifndef PBFT_SIM_H
#define PBFT_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pbft.h"

#define SIM_IDENT_MAX 12    /* identities (replica indices) a run may use */
#define SIM_EVENTS_MAX 24   /* scripted events */
#define SIM_EPOCHS_MAX 8    /* validator-set changes a run may script (4 -> 10 is six) */

typedef enum {
    SIM_BYZ_NONE = 0,
    SIM_BYZ_SILENT,      /* sends nothing: a silent primary, a mute backup */
    SIM_BYZ_EQUIVOCATE,  /* different PRE-PREPAREs to different replicas, conflicting votes */
    SIM_BYZ_FORGE,       /* bad signatures, malformed and replayed messages, VIEW-CHANGEs
                            with forged prepared certificates */
    SIM_BYZ_BAD_NV,      /* as new primary, a NEW-VIEW that does not match its VIEW-CHANGEs */
    SIM_BYZ_INVALID,     /* as primary, proposes blocks the application rejects */
    SIM_BYZ_TWIN,        /* two honest copies sharing one identity and key (Twins) */
    SIM_BYZ_ADAPTIVE,    /* acts on what it sees: as new primary, different valid NEW-VIEWs to
                            different replicas, conflicting PRE-PREPAREs (with its COMMIT) for
                            the heights its NEW-VIEW re-proposed, aimed above all at replicas
                            that just restarted */
    SIM_BYZ_KINDS
} sim_byz_t;

typedef enum {
    SIM_EV_CRASH = 1,        /* a: node */
    SIM_EV_RESTART,          /* a: node */
    SIM_EV_PARTITION,        /* mask: the identities cut off from the rest, both ways */
    SIM_EV_ONEWAY,           /* mask: these identities cannot receive from the others */
    SIM_EV_HEAL,             /* end of every partition */
    SIM_EV_CRASH_PREPARED,   /* a: node crashes right after height b's prepared certificate is
                                durable and before its COMMIT leaves; restarts c ticks later */
    SIM_EV_LINK,             /* the link between identities a and b comes up (both ways) */
    SIM_EV_CRASH_AT_RECORD,  /* a: node; at its next outbox whose records include one of kind
                                b (sim_trigger_t), everything written before is made durable,
                                then only the first c records of that outbox, and it crashes
                                before sending anything; restarts at time d (0: 20 ticks on) */
} sim_ev_kind_t;

/* Which outbox a SIM_EV_CRASH_AT_RECORD cuts: one that enters a view (it has a NEW_VIEW
 * record), makes a checkpoint stable (CHECKPOINT), or switches epoch (EPOCH). */
typedef enum {
    SIM_TRIG_NEW_VIEW = PBFT_REC_NEW_VIEW,
    SIM_TRIG_CHECKPOINT = PBFT_REC_CHECKPOINT,
    SIM_TRIG_EPOCH = PBFT_REC_EPOCH,
} sim_trigger_t;

/* A scripted network rule: messages of `type` in `view` (any view: UINT64_MAX) at heights
 * <= height_max to the identities in to_mask are lost while the fault phase lasts. */
typedef struct {
    uint8_t type;
    uint64_t view;
    uint64_t height_max;
    uint32_t to_mask;
} sim_drop_t;

#define SIM_DROPS_MAX 4

/* What a replica that leaves the validator set (a removal, or the old identity of a key
 * rotation) does from the switch on. Whatever it sends for an epoch it is no member of (or,
 * for the old epochs, any vote but its old checkpoint vote) must be refused by every honest
 * replica: sim_deliver fails the run if one is accepted (sim_result_t.removed_msgs). */
typedef enum {
    SIM_LEAVE_IDLE = 0, /* told: its core runs the new epoch as PBFT_NOT_MEMBER (idle) */
    SIM_LEAVE_STALE,    /* honest code on a host never told: it keeps its old index and the
                           old n in every later epoch and goes on voting with its own key */
    SIM_LEAVE_BYZ,      /* its key is in an attacker's hands: validly signed PREPAREs,
                           COMMITs, CHECKPOINTs and VIEW-CHANGEs of the new epoch at its old
                           index, and conflicting votes for old-epoch heights */
} sim_leave_t;

/* One validator-set change (sim_opts_t.epochs). Committed block `height` decides it; every
 * replica that applies that block calls pbft_set_next_epoch, and the next epoch starts at the
 * first checkpoint c >= height. An identity (a node and its key) keeps its key for the run; its
 * validator index is its position in the epoch's member list, as in qchain:
 *   delta +1: a fresh honest identity is appended (index n) and joins at c with the ledger up
 *             to c;
 *   delta -1: the member at `index` (-1: the last) leaves, the members above it shift down by
 *             one; it must be honest up to the switch; from c on it acts as `leave` says, the
 *             liveness check and min_height no longer count it, and what it committed stays
 *             under the agreement checker;
 *   delta  0: key rotation: a fresh identity (a new key) takes over `index`; the old one
 *             leaves as for -1 (its key is no longer valid from c on).
 * sim_epochs_problem() says which schedules are valid. */
typedef struct {
    uint64_t height;
    int delta;
    int index;          /* -1 and 0: the index in the epoch before the change; -1: the last */
    sim_leave_t leave;
} sim_epoch_change_t;

typedef struct {
    uint64_t time;
    sim_ev_kind_t kind;
    int a;
    uint64_t b, c, d;
    uint32_t mask;
} sim_event_spec_t;

/* A run's parameters. sim_opts_from_seed() derives everything from the seed; scenario tests
 * then override fields. */
typedef struct {
    uint64_t seed;
    int n;                               /* 4..PBFT_N_MAX */
    sim_byz_t byz[SIM_IDENT_MAX];        /* per identity */
    int twin_side[SIM_IDENT_MAX];        /* Twins: which copy an honest identity talks to */
    uint32_t loss_permille, dup_permille;
    uint32_t delay_min, delay_max;       /* ticks, during the fault phase */
    uint32_t heal_delay_max;             /* ticks, after it */
    uint32_t slow_mask, slow_extra;      /* identities whose messages take extra ticks */
    uint32_t tick_period[SIM_IDENT_MAX]; /* a replica ticks every tick_period sim ticks */
    uint32_t disk_delay_max;             /* ticks until a record is durable */
    uint32_t prop_gap;                   /* ticks between proposals of a primary */
    bool backlog;                        /* the application always has work pending */
    uint64_t fault_ticks;                /* random faults stop here (the heal) */
    uint64_t live_ticks;                 /* liveness bound after the heal */
    uint64_t live_blocks;                /* new blocks every honest replica must commit */
    int random_faults;                   /* 0: only the scripted events */
    int event_count;
    sim_event_spec_t events[SIM_EVENTS_MAX];
    uint64_t epoch_at;                   /* >0 and epoch_count == 0: the same as one change
                                            {epoch_at, +1} (the epoch_switch scenario) */
    int epoch_count;                     /* validator-set changes, in height order: scripts
                                            use sim_add_epoch_change(); sim_opts_from_seed
                                            draws up to 4 in 1 of 4 seeds */
    sim_epoch_change_t epochs[SIM_EPOCHS_MAX];
    bool no_epoch_catch_up;              /* hosts never sync past a switch on their own: only
                                            the core's path (final checkpoint certificate, state
                                            transfer) crosses it; shows where that one stalls */
    uint64_t propose_max_height;         /* >0: no proposals above it before the heal */
    int drop_count;
    sim_drop_t drops[SIM_DROPS_MAX];     /* scripted losses, fault phase only */
    bool disk_view_first;                /* a host that breaks pbft.h's durable order: in each
                                            outbox VIEW records become durable before the
                                            records queued ahead of them. Only for the test
                                            that shows the checker catches what that breaks */
    uint64_t held_ticks_max;             /* >0: fail if an honest replica holds a durable vote
                                            longer than this many of its ticks */
    pbft_config_t core;                  /* K, L, pipeline, timeouts (callbacks are set) */
    FILE *trace;                         /* NULL: none */
    int trace_level;                     /* 1 events, 2 also every delivered message */
} sim_opts_t;

typedef struct {
    bool ok;
    char failure[512];                   /* first violation, with seed and tick */
    int n, f, byz_count;
    uint64_t ticks, heal_time;
    uint64_t min_height, max_height;     /* honest ledgers at the end */
    uint64_t view_max, view_changes, new_views, transfers, checkpoints, gc_slots;
    uint64_t msgs_sent, msgs_delivered, rx_dropped, crashes, epoch_switches;
    uint64_t rx_bad_sig, rx_bad_view_change, rx_bad_new_view, rx_conflict, invalid_proposals;
    uint64_t record_crashes;             /* SIM_EV_CRASH_AT_RECORD that fired */
    uint64_t adaptive_attacks;           /* conflicting proposals an adaptive primary sent */
    uint64_t held_max_ticks;             /* longest durable vote held by an honest replica */
    uint64_t commit_vote_time[SIM_IDENT_MAX]; /* per identity: first COMMIT since its last (re)start, 0 none */
    uint64_t view_max_of[SIM_IDENT_MAX];  /* per identity: the highest view it was ever in */
    uint64_t vc_views_of[SIM_IDENT_MAX];  /* per identity: bit v set if it changed to view v */
    uint64_t epoch_of[SIM_IDENT_MAX];     /* per identity: its core's epoch at the end */
    uint64_t finals_sent, old_certs_sent; /* honest replicas' answers to old-epoch laggards */
    uint64_t epoch_grows, epoch_shrinks; /* scheduled changes some honest replica switched to */
    uint64_t xfer_deciding;              /* deciding blocks that reached a replica inside a
                                            state transfer (pbft_set_next_epoch called there) */
    uint64_t xfer_lies;                  /* state-transfer batches a Byzantine source corrupted */
    uint64_t xfer_refused;               /* batches a replica's checks refused (it retries
                                            from another source) */
    uint64_t epoch_catch_ups;            /* replicas left behind by a switch that synced the
                                            ledger and restarted their core in the new epoch
                                            (also counted in crashes) */
    uint64_t epoch_rotations;            /* key rotations some honest replica switched to */
    uint64_t removed_msgs;               /* votes a replica sent after it left the validator set
                                            (sim_leave_t) that reached an honest member: each
                                            one refused, or the run fails */
} sim_result_t;

/* Appends a scripted event to o (ignored beyond SIM_EVENTS_MAX); keep them in time order. */
void sim_add_event(sim_opts_t *o, uint64_t time, sim_ev_kind_t kind, int a, uint32_t mask);
/* Appends a validator-set change decided by block `height` (ignored beyond SIM_EPOCHS_MAX);
 * keep them in height order. E.g. grow then shrink: (o, 6, +1) then (o, 14, -1) with K = 4.
 * A -1 removes the last member, which goes idle. */
void sim_add_epoch_change(sim_opts_t *o, uint64_t height, int delta);
/* The same with the index a -1 removes or a 0 rotates, and what the leaving identity does. */
void sim_add_epoch_change_at(sim_opts_t *o, uint64_t height, int delta, int index,
                             sim_leave_t leave);
/* NULL when o's changes (or epoch_at) are valid, else why not: each deciding height lies
 * beyond the previous change's checkpoint; delta is -1, 0 or +1 and index names a member;
 * n stays within 4..SIM_IDENT_MAX-1 and PBFT_N_MAX; the run needs at most SIM_IDENT_MAX
 * identities (the first n, one per +1 and per rotation); a leaving identity is honest; the
 * Byzantine identities stay within every epoch's f. */
const char *sim_epochs_problem(const sim_opts_t *o);
/* Fills o from seed: n in {4,5,7,9,10}, up to f Byzantine replicas of random kinds, faults,
 * and in 1 of 4 seeds validator-set changes (growth, removal at any index, key rotation). */
void sim_opts_from_seed(uint64_t seed, sim_opts_t *o);
/* The quiet base of scenario tests: n replicas, no faults, no Byzantine, short delays. */
void sim_opts_quiet(uint64_t seed, int n, sim_opts_t *o);
/* Runs one simulation. Returns 0 when every checker passed, -1 otherwise (r->failure says
 * what, and the seed). */
int sim_run(const sim_opts_t *o, sim_result_t *r);
/* What a sweep over many seeds ran into (sim_sweep). */
typedef struct {
    uint64_t seeds, failed, blocks, view_changes, transfers, crashes, partitions, lossy;
    uint64_t bad_sig, bad_view_change, bad_new_view;
    uint64_t record_crashes, adaptive_attacks, held_max_ticks;
    uint64_t epoch_grows, epoch_shrinks, xfer_deciding, xfer_lies, xfer_refused;
    uint64_t epoch_catch_ups, epoch_rotations, removed_msgs;
    uint64_t epoch_seeds;                 /* seeds with validator-set changes, and of those */
    uint64_t epoch_faults[3];             /* with a partition, a crash, a Byzantine replica */
    uint64_t by_n[PBFT_N_MAX + 1];
    uint64_t by_byz[SIM_BYZ_KINDS];
    double secs;
} sim_sweep_t;

/* Runs seeds from..from+count-1 (sim_opts_from_seed), printing each failure with its replay
 * command, progress every 10000 seeds and a summary line to out. Returns the failures. */
uint64_t sim_sweep(uint64_t from, uint64_t count, FILE *out, sim_sweep_t *st);

/* One line describing o (size, Byzantine kinds, faults) for traces and failures. */
void sim_describe(const sim_opts_t *o, char *buf, size_t len);
const char *sim_byz_name(sim_byz_t b);

#endif
