/* votewatch.h - notices a validator that has stopped voting while the chain grows without it
 * (a node alone in a later view, following only by catch-up: the consortium has lost one node
 * of its fault margin). Pure: the caller feeds heights and its clock; node.c logs the
 * transitions, /healthz and /metrics report them (docs/OPERATIONS.md, "Health"). */
#ifndef VOTEWATCH_H
#define VOTEWATCH_H

#include <stdbool.h>
#include <stdint.h>

/* The chain may run this many blocks past this node's last commit vote (votes trail the head
 * by the blocks in flight) ... */
#define VOTEWATCH_SLACK_BLOCKS 3
/* ... and that for at most this long, with the head moving meanwhile, before it counts. */
#define VOTEWATCH_AFTER_MS 10000

typedef enum {
    VOTEWATCH_SAME = 0,   /* nothing changed */
    VOTEWATCH_STOPPED,    /* just became "not voting": log WARN once */
    VOTEWATCH_RESUMED,    /* voting again */
} votewatch_event_t;

typedef struct {
    uint64_t voted_height;      /* highest height this node sent a commit vote for */
    bool behind;                /* the head is past the slack */
    uint64_t behind_head;       /* the head height when it was first seen past it */
    uint64_t moving_since_ms;   /* when the head first grew beyond behind_head (0: not yet) */
    bool not_voting;
    uint64_t episodes;          /* times it became not voting */
} votewatch_t;

/* Records a commit vote this node sent for height. */
void votewatch_voted(votewatch_t *w, uint64_t height);

/* One observation: the ledger head, whether this node is a validator of the epoch in force
 * (a learner never votes and is never "not voting"), and the clock. The node is not voting
 * once the head, past voted_height + VOTEWATCH_SLACK_BLOCKS, has grown and then
 * VOTEWATCH_AFTER_MS passed with it still past (an idle chain needs no votes, so the clock
 * starts only when a block commits without this node); it votes again as soon as a vote comes
 * within the slack. Returns the transition, if any. */
votewatch_event_t votewatch_observe(votewatch_t *w, uint64_t head, bool validator, uint64_t now_ms);

#endif
