/* votewatch.c - is this validator still voting while the chain grows (votewatch.h)? */
#include "votewatch.h"

void votewatch_voted(votewatch_t *w, uint64_t height) {
    if (height > w->voted_height) w->voted_height = height;
}

votewatch_event_t votewatch_observe(votewatch_t *w, uint64_t head, bool validator, uint64_t now_ms) {
    bool behind = validator && head > w->voted_height + VOTEWATCH_SLACK_BLOCKS;
    if (!behind) {
        w->behind = false;
        w->moving_since_ms = 0;
        if (!w->not_voting) return VOTEWATCH_SAME;
        w->not_voting = false;
        return VOTEWATCH_RESUMED;
    }
    if (!w->behind) { /* first seen behind: a restart, or votes stopped; is the chain moving? */
        w->behind = true;
        w->behind_head = head;
        w->moving_since_ms = 0;
        return VOTEWATCH_SAME;
    }
    if (w->moving_since_ms == 0) {
        if (head > w->behind_head) w->moving_since_ms = now_ms > 0 ? now_ms : 1;
        return VOTEWATCH_SAME;
    }
    if (w->not_voting || now_ms - w->moving_since_ms < VOTEWATCH_AFTER_MS) return VOTEWATCH_SAME;
    w->not_voting = true;
    w->episodes++;
    return VOTEWATCH_STOPPED;
}
