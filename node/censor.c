/* censor.c - the watch on one transaction a primary may be passing over; censor.h says why. */
#include "censor.h"

#include <string.h>

void censor_init(censor_t *c, uint64_t grace_ms) {
    memset(c, 0, sizeof *c);
    c->grace_ms = grace_ms;
}

void censor_watch(censor_t *c, const qc_hash_t *id, uint64_t seen_ms, uint64_t view) {
    c->watching = true;
    c->id = *id;
    c->ref_ms = seen_ms;
    c->view = view;
    c->resent = false;
    c->passes = 0;
}

void censor_clear(censor_t *c) {
    c->watching = false;
    c->resent = false;
    c->passes = 0;
}

static uint64_t lat_now(const censor_t *c, uint64_t now_ms) {
    uint64_t drop = now_ms > c->lat_at_ms ? (now_ms - c->lat_at_ms) / 4 : 0;
    return c->lat_ms > drop ? c->lat_ms - drop : 0;
}

void censor_latency(censor_t *c, uint64_t now_ms, uint64_t latency_ms) {
    uint64_t cur = lat_now(c, now_ms);
    c->lat_ms = latency_ms > cur ? latency_ms : cur;
    c->lat_at_ms = now_ms;
}

uint64_t censor_grace(const censor_t *c, uint64_t now_ms) {
    uint64_t twice = 2 * lat_now(c, now_ms);
    return twice > c->grace_ms ? twice : c->grace_ms;
}

censor_action_t censor_block(censor_t *c, uint64_t now_ms, uint64_t view, bool holds_it,
                             bool room, uint64_t newest_seen_ms) {
    if (!c->watching) return CENSOR_NONE;
    if (holds_it) {
        censor_clear(c);
        return CENSOR_NONE;
    }
    if (view != c->view) { /* a new primary: it gets the whole allowance */
        c->view = view;
        c->ref_ms = now_ms;
        c->resent = false;
        c->passes = 0;
        return CENSOR_NONE;
    }
    if (!room || newest_seen_ms == 0 || newest_seen_ms < c->ref_ms + censor_grace(c, now_ms))
        return CENSOR_NONE;
    c->passes++;
    if (!c->resent) {
        c->resent = true;
        c->ref_ms = now_ms;
        c->passes = 0;
        return CENSOR_RESEND;
    }
    if (c->passes < CENSOR_PASSES_AFTER_RESEND) return CENSOR_NONE;
    c->passes = 0;
    c->ref_ms = now_ms;
    c->suspicions++;
    return CENSOR_SUSPECT;
}
