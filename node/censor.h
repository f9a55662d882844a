/* censor.h - notices a primary that passes over a transaction while it commits others (a
 * Byzantine primary censoring a city), which neither the view timer (progress resets it) nor
 * the resend (it acts only while the chain stands still) would ever act on. Pure: the caller
 * feeds the transaction it watches, each committed block's facts and its clock; node_admit.c
 * picks the transaction, sends it again and asks the core for a view change
 * (pbft_suspect_primary). docs/NETWORK.md "A primary that passes a transaction over". */
#ifndef CENSOR_H
#define CENSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "qc.h"

/* After the resend, this many blocks that passed the transaction over make the suspicion. */
#define CENSOR_PASSES_AFTER_RESEND 2u

typedef enum {
    CENSOR_NONE = 0,
    CENSOR_RESEND,   /* first passed over: send it to every peer again (the primary may lack it) */
    CENSOR_SUSPECT,  /* passed over again after that: ask for a view change */
} censor_action_t;

typedef struct {
    uint64_t grace_ms;   /* how much later than the watched one a transaction must have reached
                            this node for its inclusion to show the watched one was passed
                            over: well above any network delay (the node uses the view timeout) */
    bool watching;
    qc_hash_t id;        /* the watched transaction */
    uint64_t ref_ms;     /* when this node admitted it, or when it last sent it again */
    uint64_t view;       /* the view the count is for: a new primary starts from nothing */
    bool resent;
    uint32_t passes;     /* blocks that passed it over since ref_ms */
    uint64_t suspicions; /* CENSOR_SUSPECT returned, over the watch's life */
    uint64_t lat_ms;     /* the longest a committed transaction took here, from admission to
                            commit, lately (censor_latency: it decays by 1 ms every 4 ms) */
    uint64_t lat_at_ms;  /* when lat_ms was last set */
} censor_t;

/* Feeds the longest admission-to-commit time of a committed block's transactions that this
 * node had admitted. Under load, transactions wait in queues (mempools, links) for seconds,
 * and a link's queue can hold one transaction back from the primary for longer than another
 * that reached this node later took to be committed: the pass-over test allows for that. */
void censor_latency(censor_t *c, uint64_t now_ms, uint64_t latency_ms);

/* The allowance in force: grace_ms, or twice the recent latency if that is longer. */
uint64_t censor_grace(const censor_t *c, uint64_t now_ms);

void censor_init(censor_t *c, uint64_t grace_ms);

/* Starts watching a transaction this node admitted at seen_ms (its clock), the oldest it holds
 * that is valid at its head and in no proposal it holds; view is the current one. */
void censor_watch(censor_t *c, const qc_hash_t *id, uint64_t seen_ms, uint64_t view);

/* Stops watching (committed, evicted, no longer valid, or this node became the primary). */
void censor_clear(censor_t *c);

/* One committed block, with the facts the caller gathered about it and the watched
 * transaction: holds_it, the block includes it (the watch ends); room, the watched
 * transaction's city had room left in the block for its events; newest_seen_ms, the latest
 * time this node admitted any of the block's other transactions (0: none it held); view, the
 * view now. The block passes the transaction over when, in the watch's view, it has room and
 * includes one that reached this node at least censor_grace after ref_ms: an honest primary takes
 * transactions oldest first (mempool_take), and had the watched one that much earlier. The
 * first pass says CENSOR_RESEND (ref_ms becomes now_ms: the count starts again once the
 * primary surely has it), CENSOR_PASSES_AFTER_RESEND more say CENSOR_SUSPECT (and the count
 * starts again). A block of another view restarts the count in that view. */
censor_action_t censor_block(censor_t *c, uint64_t now_ms, uint64_t view, bool holds_it,
                             bool room, uint64_t newest_seen_ms);

#endif
