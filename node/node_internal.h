/* node_internal.h - functions shared by node.c (lifecycle, loop, peer messages) and
 * node_chain.c (pending blocks, validation, proposals, commits, catch-up). Not a public API. */
#ifndef QC_NODE_INTERNAL_H
#define QC_NODE_INTERNAL_H

#include "node.h"

uint64_t node_now_ms(void);
void node_drive(node_t *n);

/* node.c: (re)starting parts for a new epoch. node_start_core restores the core from the
 * consensus state in the epoch the ledger has in force (and re-decides a waiting change);
 * node_start_net opens peer links to that epoch's members; node_restart_notes restarts
 * checkpoint-note signing under it; node_net_closed ends a node_stop whose links closed. */
int node_start_core(node_t *n, char *why, size_t why_cap);
int node_start_net(node_t *n, char *why, size_t why_cap);
/* True when the links are open and node_start_net would open the same ones now (same peers
 * at the same indices with the same keys and addresses, same own index and role). */
bool node_net_unchanged(node_t *n);
void node_restart_notes(node_t *n);
void node_net_closed(node_t *n);
/* One of node_stop's asynchronous closes ended (the last one releases the node). */
void node_stop_step(node_t *n);

/* node_epoch.c: membership changes (docs/GOVERNANCE.md). */
int node_epoch_config(node_t *n, pbft_epoch_t *ep);
void node_epoch_decide(node_t *n, uint64_t decided_height, const qc_validator_set_t *next_vs);
void node_epoch_after_apply(node_t *n, const qc_block_t *b);
void node_epoch_switched(node_t *n, const pbft_epoch_switch_t *sw);
void node_epoch_resync(node_t *n);
/* Reopens the peer links for the membership the ledger has now (node_start_net's rules);
 * keeps them, and the peers' reported heads, when that membership leaves them unchanged. */
void node_epoch_relink(node_t *n);
/* Every tick: reopens the links once a switch's grace for departed nodes is over. */
void node_epoch_tick(node_t *n);
/* True while the consensus state cannot be written: the core must then get no input that could
 * change the bodies its kept outbox borrows (messages, ticks). The write is retried once a
 * tick (on_tick), not for every message that arrives meanwhile. */
bool node_core_blocked(const node_t *n);

node_pending_t *node_pending_find(node_t *n, const qc_hash_t *digest);
/* Frees everything a pending entry owns and zeroes it (safe on a zeroed, unused slot). */
void node_pending_free(node_pending_t *e);
/* node_pending_free, keeping e's state-map write set in place of the node's smallest spare when
 * it is larger and not 8 times what its block needed (memory a later block fills without page
 * faults; an oversized one is freed, so a node whose load fell lets it go). */
void node_pending_drop(node_t *n, node_pending_t *e);
/* Records a proposed block (raw protobuf bytes, copied) whose header hash is digest. */
node_pending_t *node_pending_add_raw(node_t *n, const qc_hash_t *digest, const uint8_t *raw,
                                     size_t len);
/* Records a proposed block sent as a CompactBlock (compact.h) whose header hash is digest,
 * rebuilt from the mempool (peers' gossip queued this loop turn admitted first). QC_OK (in
 * the pending set), QC_ERR_NOTFOUND (a transaction is not held: the body is fetched when the
 * block is to be validated), QC_ERR_INVALID (malformed: nothing kept), QC_ERR_NOMEM. */
int node_pending_add_compact(node_t *n, const qc_hash_t *digest, const uint8_t *buf, size_t len);
void node_persist_bodies(node_t *n, cstate_body_t *out, size_t cap, size_t *count);

/* node_admit.c: peers' transactions. node_gossip_tx queues tx (ownership moves; a full queue
 * is admitted first); node_gossip_admit admits the queue, signatures verified together on the
 * pool (on_check, once per loop turn), refusing those already committed at that head. */
int node_gossip_init(node_t *n);
void node_gossip_free(node_t *n);
void node_gossip_tx(node_t *n, qc_tx_t *tx);
void node_gossip_admit(node_t *n);
/* Each eighth of a view timeout, while no block has been applied for a quarter of one: sends
 * the peers again the transactions (at most NODE_RESEND_MAX) that have waited unproposed for
 * a quarter view timeout since they were last sent (well before a holder's view timer fires). Gossip goes out once, at admission; a primary
 * that missed it (a link down, a restart) would never propose them, while only the nodes
 * holding them run the backlog timer: too few, alone, for a view change. Called every tick. */
void node_resend_tick(node_t *n);
/* The watch on a primary passing a transaction over (censor.h, docs/NETWORK.md "A primary
 * that passes a transaction over"): node_resend_tick also picks the transaction to watch (the
 * oldest this backup holds, valid at its head and in no proposal it holds) and asks the core
 * for a view change when node_watch_block found cause; node_watch_block feeds each block
 * applied in the normal course (not catch-up) to the watch, before the mempool drops the
 * block's transactions, and sends the watched one again on its first pass-over. */
void node_watch_block(node_t *n, const qc_block_t *b);

void node_want_validate(node_t *n, const pbft_validate_t *v);
void node_try_validations(node_t *n);
void node_queue_commit(node_t *n, const pbft_committed_t *c);
void node_process_commits(node_t *n);
void node_maybe_propose(node_t *n);
void node_start_transfer(node_t *n, const pbft_fetch_t *f);

void node_on_fetch(node_t *n, uint32_t peer, uint64_t from_height, uint32_t max);
void node_on_blocks(node_t *n, uint32_t peer, const wire_msg_t *m);
void node_on_body_request(node_t *n, uint32_t peer, const wire_msg_t *m);
void node_on_body(node_t *n, const wire_msg_t *m);
void node_catchup_tick(node_t *n);
/* How long the chain must have stood still before node_resend_tick sends waiting transactions
 * again: a quarter view timeout, or twice the recent gap between blocks under load
 * (node_t.apply_gap_ms) when that is longer, at most two view timeouts; a whole view timeout
 * while this node has applied no block since it started (applied false): it knows no pace
 * yet, and a start under load is queueing, which sending everything again only slows. */
uint64_t node_resend_still_ms(uint64_t view_timeout_ms, uint64_t apply_gap_ms, bool applied);
/* Whether node_resend_tick sends again now (loop times, ms): the last block was applied
 * still_ms ago or more (last_apply_ms 0: none since the node started at started_ms, counted
 * from then), and this node has not been behind a peer's reported head (behind, since
 * behind_since_ms) for less than two view timeouts. */
bool node_resend_due(uint64_t now_ms, uint64_t last_apply_ms, uint64_t started_ms,
                     uint64_t still_ms, uint64_t view_timeout_ms, bool behind,
                     uint64_t behind_since_ms);
/* Whether a catch-up round is due for a node at `head` whose peers reported `best`, and that
 * has been behind a reported height for `behind_ms` without reaching it: always during a
 * state transfer; else when a peer is more than NODE_ROUND_SLACK_BLOCKS ahead, or ahead at all
 * for a round's interval. Under load a peer is often a block ahead for a moment; consensus
 * brings that block, and fetching it would have the peer read and send it for nothing. */
bool node_catchup_due(uint64_t head, uint64_t best, bool transfer_wanted, uint64_t behind_ms);
/* Whether this node is catching up, as it tells the core (pbft_set_links): a state transfer
 * the core asked for is in progress, or at least f+1 peers (so at least one honest one)
 * reported a ledger head more than NODE_CATCHUP_SLACK_BLOCKS above ours. One lying peer can
 * therefore not hold this node's view timer. */
bool node_catching_up(const node_t *n);
/* Signs and sends the ledger head's checkpoint note unless already done for this height. */
void node_note_head(node_t *n);
/* Notes the head once the chain has been idle for a while. */
void node_note_tick(node_t *n);

#endif
