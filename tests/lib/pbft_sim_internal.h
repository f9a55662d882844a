/* pbft_sim_internal.h - the simulator's state, shared by its network/node, checker and
 * Byzantine files. */
#ifndef PBFT_SIM_INTERNAL_H
#define PBFT_SIM_INTERNAL_H

#include "pbft_sim.h"

#define SIM_NODES_MAX (SIM_IDENT_MAX + 4) /* identities (joiners too), twin copies */
#define SIM_HEIGHT_MAX 4096
#define SIM_BLOCK_SLOTS 16384
#define SIM_DISK_SLOTS 64
#define SIM_PENDING_MAX 1024
#define SIM_VALS_MAX 256
#define SIM_FUTURE_MAX 256
#define SIM_REPLAY_MAX 64

typedef struct {
    bool used;
    qc_hash_t digest, parent;
    uint64_t height;
    int proposer;
    bool valid;
} sim_block_t;

typedef struct {
    pbft_persist_t rec;
    uint64_t due;
} sim_pending_t;

/* What survives a crash: the latest record of every key, as a node would keep it. */
typedef struct {
    bool has_view, has_ckpt, has_epoch, has_nv, has_final;
    pbft_persist_t view, ckpt, epoch;
    pbft_persist_t nv, final;           /* bodies owned (pbft_rec_copy) */
    bool slot_used[SIM_DISK_SLOTS];
    pbft_persist_t slots[SIM_DISK_SLOTS];
    sim_pending_t *pending;             /* written, not yet durable: lost in a crash */
    size_t pending_count;
} sim_disk_t;

typedef struct {
    uint64_t due;
    pbft_validate_t req;
} sim_val_t;

typedef struct {
    uint64_t time, seq;
    int to;                             /* node index */
    uint64_t removed_from;              /* >0: a vote sent after its sender left the validator
                                           set at this epoch (sim_leave_t) */
    pbft_msg_t msg;
    void *blob;                         /* owned copy of a VIEW-CHANGE or NEW-VIEW body */
} sim_ev_t;

typedef struct {
    pbft_new_view_t nv;
    pbft_view_change_t vcs[PBFT_Q_MAX];
} sim_nv_blob_t;

struct sim;

typedef struct {
    struct sim *sim;
    int idx;
    uint16_t ident;
    sim_byz_t byz;
    int side;                           /* twin copy 0/1, or the copy an honest node talks to */
    bool exists;                        /* the joiner exists only after its epoch starts */
    bool up;
    pbft_t *core;
    pbft_config_t cfg;
    sim_disk_t disk;
    qc_hash_t *ledger;                  /* ledger[h]: committed digest, ledger[0] genesis */
    pbft_commit_cert_t *certs;          /* certs[h]: its commit certificate (h >= 1), served
                                           to replicas that state-transfer */
    uint64_t ledger_height;
    sim_val_t *vals;
    size_t val_count;
    bool xfer;
    uint64_t xfer_due;
    pbft_checkpoint_cert_t xfer_target;
    uint32_t xfer_suspects;             /* node indices whose batch was refused or never came */
    uint64_t behind_epoch;              /* catch-up: the core's epoch when later-epoch traffic */
    uint64_t catch_up_due;              /* began to wait for it; 0: not behind */
    uint64_t next_prop;
    uint64_t restart_at;
    uint64_t crash_prepared_h, crash_prepared_down;
    int crash_rec_trigger;              /* SIM_EV_CRASH_AT_RECORD armed: pbft_rec_kind_t, or 0 */
    uint64_t crash_rec_prefix, crash_rec_restart;
    uint64_t commit_vote_time;          /* its first COMMIT since it (re)started (0: none) */
    uint64_t view_max;                  /* highest view it was ever in */
    uint64_t vc_views_mask;             /* bit v: it changed to view v (v < 64) */
    bool held_seen;                     /* check_held: the head held message seen durable */
    uint64_t held_head_since, held_seen_at;
    uint64_t alt_view;                  /* adaptive primary: its conflicting chain for alt_view */
    uint8_t alt_count;
    qc_hash_t alt[PBFT_WINDOW_MAX];
    bool epoch_call_pending;
    uint64_t epoch_call_height;
    uint64_t snap_view, snap_stable, snap_epoch;
    pbft_mode_t snap_mode;
    sim_ev_t *future;                   /* messages of a later epoch, replayed at the switch */
    size_t future_count;
    uint64_t left_epoch;                /* >0: the epoch from which it is no member */
    sim_leave_t leave;                  /* what it does from left_epoch on */
    uint16_t left_index, left_n;        /* its index and n in the last epoch it was a member */
} sim_node_t;

typedef struct sim {
    sim_opts_t o;
    sim_result_t *r;
    uint64_t rng;
    int n, f, q;
    sim_node_t nodes[SIM_NODES_MAX];
    int node_count;
    int epoch_count;                    /* validator-set changes (o.epochs, or epoch_at) */
    sim_epoch_change_t sched[SIM_EPOCHS_MAX];
    uint16_t epoch_n[SIM_EPOCHS_MAX + 1];    /* validators of epoch e */
    uint64_t epoch_base[SIM_EPOCHS_MAX + 1]; /* epoch e's base: change e-1's checkpoint */
    int joiner[SIM_EPOCHS_MAX + 1];     /* node index of the identity joining at epoch e, or -1 */
    uint8_t members[SIM_EPOCHS_MAX + 1][SIM_IDENT_MAX]; /* epoch e's identities, by index */
    int ident_count;                    /* identities the schedule uses */
    uint64_t epoch_reached;             /* highest epoch an honest replica switched to */
    uint64_t now, seq;
    sim_ev_t *heap;
    size_t heap_len, heap_cap;
    sim_block_t *blocks;
    uint64_t block_counter;
    qc_hash_t genesis;
    qc_hash_t *truth;                   /* first honest commit per height */
    bool *truth_set;
    uint64_t keys[SIM_IDENT_MAX];
    uint32_t cut_in[SIM_IDENT_MAX];     /* cut_in[to]: identities whose messages to `to` drop */
    bool healed;
    uint64_t live_target;
    bool failed;
    bool forge;                         /* a FORGE replica exists: record replays */
    bool sending_removed;               /* sim_epoch_attack is sending: mark the events */
    pbft_msg_t replay[SIM_REPLAY_MAX];
    size_t replay_count;
} sim_t;

/* pbft_sim.c and pbft_sim_node.c */
uint64_t sim_rnd(sim_t *s);
uint64_t sim_below(sim_t *s, uint64_t n);
bool sim_chance(sim_t *s, uint32_t permille);
void sim_trace(sim_t *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *sim_hex(const qc_hash_t *d, char buf[9]);
void sim_fail(sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_send(sim_t *s, sim_node_t *from, const pbft_msg_t *m);
void sim_send_to(sim_t *s, sim_node_t *from, uint16_t to_index, const pbft_msg_t *m); /* index
                                                              in m->epoch */
qc_hash_t sim_block_new(sim_t *s, uint64_t height, const qc_hash_t *parent, int proposer,
                        bool valid);
sim_block_t *sim_block_find(sim_t *s, const qc_hash_t *d);
void sim_sign(void *ctx, const pbft_stmt_t *st, qc_sig_t *sig);
bool sim_verify(void *ctx, const pbft_stmt_t *st, const qc_sig_t *sig);
bool sim_honest(const sim_node_t *nd);

/* pbft_sim_node.c */
bool sim_heap_pop_due(sim_t *s, sim_ev_t *out);
void sim_heap_free(sim_t *s);
void sim_drain(sim_t *s, sim_node_t *nd);
void sim_node_crash(sim_t *s, sim_node_t *nd);
void sim_node_restart(sim_t *s, sim_node_t *nd);
void sim_deliver(sim_t *s, sim_ev_t *ev);
void sim_node_work(sim_t *s, sim_node_t *nd);
size_t sim_disk_records(const sim_node_t *nd, pbft_persist_t *out); /* out: SIM_DISK_SLOTS+5 */
void sim_disk_free(sim_node_t *nd);

/* pbft_sim_check.c: called for every block an honest replica commits or transfers */
void sim_check_commit(sim_t *s, sim_node_t *nd, const pbft_committed_t *c);
void sim_check_transfer(sim_t *s, sim_node_t *nd, uint64_t height, const qc_hash_t *d);
bool sim_check_liveness(sim_t *s, bool final);

/* pbft_sim_epoch.c: the validator-set schedule, its host calls and its joiners */
void sim_epochs_init(sim_t *s);       /* the schedule from s->o; joiners are set up by setup() */
uint16_t sim_epoch_n(const sim_t *s, uint64_t epoch); /* any epoch: the last one beyond it */
uint64_t sim_epoch_of_height(const sim_t *s, uint64_t height); /* the epoch block h is in */
/* The deciding height of the change that ends `epoch` when it lies in (from, to], else 0. */
uint64_t sim_epoch_decided_in(const sim_t *s, uint64_t epoch, uint64_t from, uint64_t to);
void sim_epoch_on_commit(sim_t *s, sim_node_t *nd, const pbft_commit_cert_t *c);
int sim_epoch_decide(sim_t *s, sim_node_t *nd, uint64_t decided_height);
void sim_epoch_switched(sim_t *s, sim_node_t *nd, const pbft_epoch_switch_t *sw);
void sim_epoch_restarted(sim_t *s, sim_node_t *nd); /* after a catch-up restart */
int sim_epoch_restore(sim_t *s, sim_node_t *nd, const pbft_persist_t *recs, size_t count);
bool sim_epoch_removed(const sim_t *s, const sim_node_t *nd); /* left the validator set */
/* Identity ident's index in epoch e (the last one beyond it), or PBFT_NOT_MEMBER. */
uint16_t sim_index_in(const sim_t *s, uint64_t epoch, uint16_t ident);
/* The identity at index in epoch e (the last one beyond it), or -1. */
int sim_ident_at(const sim_t *s, uint64_t epoch, uint16_t index);
/* A removed identity whose key an attacker holds (SIM_LEAVE_BYZ) sends its votes. */
void sim_epoch_attack(sim_t *s, sim_node_t *nd);
/* Sets the leave fields of the nodes whose identity a change removes (after setup). */
void sim_epochs_mark_leavers(sim_t *s);

/* pbft_sim_xfer.c: state transfer from a chosen source, which may be Byzantine */
void sim_xfer_finish(sim_t *s, sim_node_t *nd);
/* The node's catch-up across an epoch switch that its core cannot cross (docs/CONSENSUS.md
 * §7): sync the ledger up to the switch, then restart the core in the new epoch. */
void sim_xfer_catch_up(sim_t *s, sim_node_t *nd);

/* pbft_sim_byz.c */
/* Sends m as nd's Byzantine behaviour dictates; false: send it unchanged. */
bool sim_byz_outgoing(sim_t *s, sim_node_t *nd, const pbft_msg_t *m);
void sim_byz_tick(sim_t *s, sim_node_t *nd);
void sim_byz_record(sim_t *s, const pbft_msg_t *m);
/* An adaptive Byzantine primary notices that `restarted` came back and targets it. */
void sim_byz_on_restart(sim_t *s, sim_node_t *restarted);

#endif
