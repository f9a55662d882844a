/* node.h - qchaind's core: one city's node on a libuv loop. It binds the PBFT core to the world:
 * peer links (net), the ledger (store), durable consensus state (cstate), the mempool, block
 * building and checking (exec), and catch-up. Single-threaded; every function runs on the
 * loop's thread. The HTTP API (api.h) sits on top through node_submit() and the commit hook.
 *
 * The loop of every input (docs/ARCHITECTURE.md "node loop"): feed the core, then drain its
 * outbox: persist records (one synced cstate batch, with the bodies of blocks this node voted
 * for), send messages the core released, apply committed blocks to the ledger (one synced
 * store batch each), answer validation requests, start state transfer; acknowledge each to the
 * core and repeat until the outbox is empty. */
#ifndef QC_NODE_H
#define QC_NODE_H

#include <uv.h>

#include "censor.h"
#include "config.h"
#include "cstate.h"
#include "exec.h"
#include "genesis.h"
#include "mempool.h"
#include "par.h"
#include "votewatch.h"
#include "net.h"
#include "notes.h"
#include "pbft.h"
#include "store.h"
#include "wire.h"

#define NODE_PENDING_MAX (4 * PBFT_WINDOW_MAX) /* proposed blocks held by digest */
#define NODE_WS_SPARES 3u /* state-map write sets kept for reuse (node_pending_drop) */
#define NODE_COMMIT_QUEUE_MAX (4 * PBFT_WINDOW_MAX)
#define NODE_TICK_MS 10
/* Transactions gossiped by peers waiting, within one loop turn, for their signatures to be
 * verified together on the verification pool (node_admit.c). */
#define NODE_GOSSIP_QUEUE_MAX 1024u
/* Transactions sent to the peers again at most each resend round (node_resend_tick), of those
 * that waited unproposed for a quarter view timeout while the chain stood still. */
#define NODE_RESEND_MAX 256u
/* A peer this many blocks ahead is in step (commits land a little apart on each node); more
 * than this, reported by f+1 peers, and this node is catching up (node_catching_up). */
#define NODE_CATCHUP_SLACK_BLOCKS 1
/* How far ahead a peer may be, for less than a round's interval, before a node fetches blocks
 * (node_catchup_due). */
#define NODE_ROUND_SLACK_BLOCKS 2
/* After a switch that removed or re-keyed a node, the old links stay up this long, so that
 * node can fetch the blocks that tell it it left (node_epoch.c). */
#define NODE_DEPART_GRACE_MS 2000

typedef enum { PENDING_RECEIVED = 1, PENDING_VALID = 2, PENDING_INVALID = 3 } pending_state_t;

/* A proposed block known by digest, not yet committed. */
typedef struct {
    bool used;
    uint8_t state;              /* pending_state_t */
    bool persisted;             /* body written to cstate */
    bool applying;              /* committed, its ledger write in flight: never evicted */
    qc_hash_t digest;           /* header hash */
    qc_block_t block;           /* owned */
    uint8_t *raw;               /* owned protobuf Block bytes */
    size_t raw_len;
    rlog_t log_after;           /* record log after the block (state VALID) */
    exec_leaves_t leaves;       /* its records' leaf hashes (state VALID), for the store */
    smap_writes_t state_writes; /* the state-map nodes it writes (state VALID), for the store */
    bool state_exec;            /* state_writes are exec's for this block on its parent */
    smap_windex_t *state_layer; /* an index of them by position, made when a child reads them */
    clog_set_t clogs_after;     /* the per-city logs after the block (state VALID) */
    clog_nodes_t city_nodes;    /* the subtree hashes its events complete in them, for the store */
    gov_state_t *gov_after;     /* governance state after the block (state VALID; owned) */
    bool want;                  /* the core asked to validate it */
    uint64_t want_view;
    qc_hash_t want_parent;
    uint64_t requested_ms;      /* last body request, for rate limiting */
    qc_hash_t *missing;         /* a compact proposal's transactions not held (malloc'd): */
    uint32_t missing_n;         /*   the first body request asks for these alone */
    bool missing_asked;         /*   asked; the next request is for the whole block */
} node_pending_t;

/* Called after each block is durably applied (borrowed for the call). */
typedef void (*node_commit_cb)(void *user, const qc_block_t *block, const qc_cert_t *cert);

typedef struct {
    uint64_t blocks_applied;
    uint64_t blocks_caught_up;       /* applied from catch-up replies */
    uint64_t fetch_served_blocks;    /* blocks sent to peers in replies to their fetches */
    uint64_t fetch_served_bytes;     /* those replies' frames, head-only ones included */
    uint64_t txs_committed;
    uint64_t records_committed;
    uint64_t lifecycle_committed[3];  /* ENDORSE, REVOKE, SUPERSEDE transactions committed */
    uint64_t share_committed[5];     /* SHARE transactions committed, by op (DATASET..ACCESS) */
    uint64_t proposals_built;
    uint64_t proposals_invalid;      /* blocks this node refused to prepare */
    uint64_t wire_malformed;         /* peer frames that failed to decode */
    uint64_t msgs_dropped_not_durable; /* consensus messages dropped while the consensus state
                                          could not be written (node_core_blocked) */
    uint64_t peer_bad_blocks;        /* catch-up blocks or certificates that failed checks */
    uint64_t sig_checks;             /* transaction signatures verified in proposals */
    uint64_t admit_sig_checks;       /* signatures verified on admission by node_admit's pool */
    uint64_t persist_writes;
    uint64_t body_requests;
    uint64_t txs_resent;             /* unproposed transactions sent to the peers again */
    uint64_t censor_resent;          /* watched transactions sent again after a block passed
                                        them over (censor.h) */
    uint64_t censor_suspicions;      /* view changes this node asked for because the primary
                                        passed a transaction over (pbft_suspect_primary) */
    uint64_t compact_sent;           /* own PRE-PREPAREs sent as compact blocks (compact.h) */
    uint64_t compact_rebuilt;        /* compact proposals rebuilt from the mempool */
    uint64_t compact_fetched;        /* compact proposals missing a transaction: body fetched */
    uint64_t compact_completed;      /* ... rebuilt from a reply holding only the missing ones */
    uint64_t fatal;                  /* ledger refused a certified block: needs an operator */
    uint64_t epoch_switches;         /* membership epochs this node moved into */
    uint64_t peer_relinks;           /* times the peer links were closed and reopened because a
                                        membership change changed them (node_epoch_relink) */
} node_stats_t;

typedef struct node {
    uv_loop_t *loop;
    config_t cfg;
    genesis_t genesis;
    uint32_t self;                   /* validator index in the epoch in force, or PBFT_NOT_MEMBER */
    qc_pubkey_t node_pk;             /* own node key (identity across epochs) */
    store_t store;
    cstate_t cstate;
    pbft_t *pbft;                    /* ~1 MB, heap */
    pbft_config_t pcfg;
    wire_crypto_t crypto;
    wire_scratch_t *scratch;         /* heap */
    net_t net;
    bool net_open;
    bool net_rebuilding;             /* closing the links to reopen them for a new epoch */
    qc_hash_t net_peers;             /* digest of the links the net was opened with (peers'
                                        indices, keys, addresses; own index; learner) */
    uint64_t relink_at_ms;           /* >0: reopen the links for the new epoch then (departed
                                        nodes' grace, node_epoch.c) */
    char submit_why[256];            /* node_submit's refusal sentence when it is not static */
    mempool_t mempool;
    par_t *par;                      /* verification threads (config verify.workers) */
    qc_tx_t *gossipq;                /* NODE_GOSSIP_QUEUE_MAX, heap: peers' transactions to admit */
    uint32_t gossipq_len;
    uint64_t resend_last_ms;         /* loop time of the last resend round (node_resend_tick) */
    uint64_t started_mono_ms;        /* loop time node_start ran (uv_now) */
    notes_t notes;                   /* checkpoint-note signatures (notes.h) */
    node_pending_t pending[NODE_PENDING_MAX];
    /* The largest write sets dropped pending blocks left, kept for the next blocks to fill (as
     * many as blocks in flight at full load): a block's set is ~10 nodes a record (tens of MiB
     * at full load), and memory reused costs no page faults (node_pending_drop). */
    smap_writes_t state_ws_spare[NODE_WS_SPARES];
    size_t state_ws_need; /* nodes recent blocks' sets held, decaying (ws_give) */
    pbft_committed_t commitq[NODE_COMMIT_QUEUE_MAX]; /* committed, waiting for a body */
    size_t commitq_len;
    uv_timer_t tick;
    uv_check_t check;                /* after each loop turn: propose what arrived */
    uint64_t last_view;
    uint64_t head_time_ms;           /* time of the ledger head block */
    uint64_t peer_heads[NET_PEERS_MAX]; /* ledger heads peers reported */
    uint64_t peer_views[NET_PEERS_MAX]; /* their views, in the same replies */
    uint32_t peer_links_up[NET_PEERS_MAX]; /* their links up, same; 0: not said (older build) */
    uint64_t fetch_ms;               /* last catch-up request */
    uint32_t fetch_rr;               /* round-robin over peers */
    /* Catch-up streaming (node_on_blocks): the next range, asked of stream_peer before the
     * reply before it was applied; stream_from 0: none in flight. */
    uint32_t stream_peer;
    uint64_t stream_from;
    uint64_t stream_ms;              /* loop time it was asked */
    uint64_t stream_requests;        /* pipelined requests sent (tests, metrics) */
    uint64_t probe_ms;               /* last head probe */
    uint64_t behind_target;          /* a peer's reported head not reached yet; 0: none */
    uint64_t behind_since_ms;        /* loop time it was first seen (node_catchup_tick) */
    bool test_no_rounds;             /* tests: catch-up asks test_catchup_peer only (when its
                                        link comes up), with no round or head probe, so one
                                        stream alone moves catch-up on */
    uint32_t test_catchup_peer;
    uint64_t last_apply_ms;          /* when the last block was applied */
    uint64_t last_apply_mono_ms;     /* the same on the loop's monotonic clock (uv_now) */
    uint64_t apply_gap_ms;           /* recent gap between blocks under load (node_resend_tick) */
    uint64_t noted_height;           /* highest height whose checkpoint note this node signed */
    uint64_t last_propose_ms;        /* when this node last proposed (batching) */
    bool drive_pending;              /* peer frames were stepped; drain the outbox in on_check */
    bool apply_inflight;             /* the first commit's ledger write runs on libuv's pool */
    uv_work_t apply_req;
    uint32_t probe_rr;
    bool transfer_wanted;
    uint64_t transfer_height;
    node_commit_cb on_commit;
    void *on_commit_user;
    node_stats_t stats;
    qc_lograte_t log_peer_blocks;    /* refused blocks from peers: rate-limited log lines */
    qc_lograte_t log_ledger_refused; /* committed blocks the ledger refused (retried a tick) */
    /* Height the consensus state says this node had applied, while the ledger head is below it
     * (a rolled-back ledger: node_health reports it until catch-up reaches it); else 0. */
    uint64_t rollback_height;
    bool ledger_write_failing;       /* a block waits for the disk (logged once per episode) */
    votewatch_t votes;               /* is this validator voting while the chain grows? */
    /* Tests only (NULL otherwise): as primary, leave out of every block the transactions this
     * says to (a censoring primary, tests/test_node.c). */
    bool (*test_propose_skip)(void *ctx, const qc_tx_t *tx);
    void *test_propose_ctx;
    censor_t censor;                 /* is the primary passing a transaction over? */
    bool censor_suspect;             /* censor_block said so: node_resend_tick asks the core, */
    uint64_t censor_suspect_view;    /* ... if still in this view (else it is stale) */
    /* The outbox's records could not be made durable. The outbox is kept for the retry, and its
     * bodies are borrowed from the core until the next input (pbft.h), so the core gets no
     * message or tick until the write succeeds (node_core_blocked). */
    bool persist_failing;
    bool stopping;
    int closing_handles;
    void (*stopped_cb)(struct node *);
} node_t;

/* Loads config_path (and the genesis and keys it names), opens the ledger and consensus state
 * under its data dir, restores the core, listens and starts dialling peers. On error, a
 * sentence in why and nothing left open. n is caller memory (large; heap it). */
int node_start(node_t *n, uv_loop_t *loop, const char *config_path, char *why, size_t why_cap);

/* Stops timers and links and closes the stores; cb (may be NULL) runs from the loop when all
 * handles are closed. Nothing committed is lost: every commit was already synced. */
void node_stop(node_t *n, void (*cb)(node_t *));

/* Admits a signed transaction (SignedTx protobuf bytes, borrowed) to the mempool and gossips
 * it to every peer. QC_OK, or an error with the client-visible reason in *why. *tx_id is set
 * whenever the bytes decode. */
int node_submit(node_t *n, const uint8_t *bytes, size_t len, qc_hash_t *tx_id, const char **why);

/* One transaction's verdict from node_submit_many: rc QC_OK (admitted and gossiped) or an
 * error; tx_id NULL when its bytes did not decode (or were NULL); why the client-visible
 * reason when rc != QC_OK (NULL for a NULL entry: the caller knows why). Borrowed for the call. */
typedef void (*node_submit_cb)(void *user, uint32_t i, int rc, const qc_hash_t *tx_id,
                               const char *why);

/* node_submit for count transactions at once (bytes[i] may be NULL: refused as such): their
 * signatures are verified on the verification pool's threads, then each is admitted in order
 * exactly as node_submit would, and cb reports each, in order of admission. Returns QC_OK, or
 * QC_ERR_NOMEM with nothing admitted and cb not called. */
int node_submit_many(node_t *n, uint32_t count, const uint8_t *const *bytes, const size_t *lens,
                     node_submit_cb cb, void *user);

/* Heights and roles for status views. */
typedef struct {
    uint64_t height;
    qc_hash_t head_hash;
    uint64_t log_size;
    uint64_t view;
    uint32_t primary;
    uint32_t self;
    uint64_t epoch;
    bool view_change;
    uint32_t peers_up;
    bool catching_up;                /* node_catching_up: the view timer is held */
    uint64_t max_peer_height;        /* highest ledger head a peer reported */
    uint32_t mempool_txs;
} node_status_t;
void node_status(const node_t *n, node_status_t *out);

/* Whether the node is healthy (what /healthz answers). When it is not, *status gets a short
 * word for it ("ledger needs an operator", "storage failing", "ledger rolled back", "not
 * voting") and why a
 * sentence naming the problem (why_cap bytes). docs/API.md "GET /healthz". */
bool node_health(const node_t *n, const char **status, char *why, size_t why_cap);

#endif
