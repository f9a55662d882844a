/* pbft_cluster.h - a lockstep cluster of PBFT cores for unit tests and the benchmark: messages
 * are delivered in FIFO order with no delay, records become durable and blocks valid at once
 * unless a test holds them, and a hook can drop or change any message in flight. */
#ifndef PBFT_CLUSTER_H
#define PBFT_CLUSTER_H

#include "pbft.h"

#define PC_HEIGHT_MAX 1024
#define PC_DISK_MAX 256

/* Returns false to drop m (which it may also modify) on its way from `from` to `to`. */
typedef bool (*pc_filter_cb)(void *ctx, int from, int to, pbft_msg_t *m);

typedef struct {
    int to;
    pbft_msg_t msg;
    void *blob;
} pc_item_t;

typedef struct {
    pbft_t *core;
    pbft_config_t cfg;
    bool down;
    bool hold_persist;                 /* records wait for pc_persist() */
    bool hold_validate;                /* validate requests wait for pc_validate() */
    bool hold_apply;                   /* pbft_applied waits for pc_apply() */
    pbft_persist_t pending[512];
    size_t pending_count;
    pbft_persist_t disk[PC_DISK_MAX];  /* durable: the latest record of every key */
    size_t disk_count;
    pbft_validate_t vals[128];
    size_t val_count;
    qc_hash_t ledger[PC_HEIGHT_MAX];   /* ledger[h % PC_HEIGHT_MAX]: the last 1024 blocks */
    pbft_commit_cert_t certs[PC_HEIGHT_MAX];
    uint64_t height;
    bool fetching;
    pbft_fetch_t fetch;
    int epoch_switches;
    uint64_t msgs_sent;
} pc_node_t;

typedef struct {
    int n;
    uint64_t keys[PBFT_N_MAX + 1];
    pc_node_t node[PBFT_N_MAX + 1];
    pc_item_t *q;
    size_t head, tail, cap;
    pc_filter_cb filter;
    void *filter_ctx;
    uint64_t verifies;                 /* every signature check made by any replica */
    uint64_t delivered;
    uint64_t block_salt;
    uint64_t core_ns;                  /* wall time spent inside pbft_* input calls */
} pc_t;

/* n replicas of epoch 0 with genesis digest zero; base gives K, L, timeouts (callbacks and
 * epoch are filled in). Allocates; pc_free releases. */
void pc_init(pc_t *c, int n, const pbft_config_t *base);
void pc_free(pc_t *c);
/* Drains replica i's outbox: durable records (unless held), messages into the queue, commits
 * into its ledger, validate answers (unless held), fetch requests noted. */
void pc_drain(pc_t *c, int i);
/* Delivers queued messages until none is left or max deliveries; returns deliveries made. */
size_t pc_run(pc_t *c, size_t max);
/* Ticks every live replica `ticks` times, running the queue after each tick. */
void pc_tick(pc_t *c, int ticks);
/* The primary proposes a new block on its parent; QC_OK or the core's error. */
int pc_propose(pc_t *c, int i, qc_hash_t *digest_out);
/* Holds: make held records durable / answer held validations as valid. */
void pc_persist(pc_t *c, int i);
void pc_validate(pc_t *c, int i, bool ok);
void pc_apply(pc_t *c, int i);
/* Crash (pending records lost) and restart from the durable records and ledger head. */
void pc_crash(pc_t *c, int i);
int pc_restart(pc_t *c, int i);
/* Completes replica i's state transfer from replica src's ledger. */
int pc_transfer(pc_t *c, int i, int src);
/* Injects m as if sent by m->from to replica `to` (bodies are copied). */
void pc_inject(pc_t *c, int to, const pbft_msg_t *m);
/* Sign as replica `who` (tests forge and re-sign with it). */
void pc_sign(pc_t *c, int who, const pbft_stmt_t *st, qc_sig_t *sig);
/* Index of the current primary according to a live replica. */
int pc_primary(const pc_t *c);

#endif
