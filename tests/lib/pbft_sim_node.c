/* pbft_sim_node.c - the simulator's replicas: the network they share (an event heap with delay,
 * reordering, loss, duplication and partitions), their disks (records durable after a delay,
 * lost in a crash), and their application (blocks, validation, commits, state transfer). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pbft_sim_internal.h"
#include "pbft_testutil.h"

/* ---------------------------------------------------------------- randomness, fake crypto */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t sim_rnd(sim_t *s) {
    s->rng += 0x9e3779b97f4a7c15ULL;
    return mix64(s->rng);
}
uint64_t sim_below(sim_t *s, uint64_t n) { return n ? sim_rnd(s) % n : 0; }
bool sim_chance(sim_t *s, uint32_t permille) { return sim_below(s, 1000) < permille; }

/* A node signs with its identity's key, whatever index it holds; a stale host's core signs as
 * the index it kept (SIM_LEAVE_STALE), every other core as its index in the epoch. */
void sim_sign(void *ctx, const pbft_stmt_t *st, qc_sig_t *sig) {
    sim_node_t *nd = ctx;
    bool stale = nd->leave == SIM_LEAVE_STALE && nd->left_epoch && st->epoch >= nd->left_epoch;
    QC_ASSERT(st->replica == (stale ? nd->left_index : sim_index_in(nd->sim, st->epoch, nd->ident)));
    pbft_fake_sign(nd->sim->keys[nd->ident], st, sig);
}

/* Valid when the key of the identity at stmt->replica in stmt->epoch signed it: a key that
 * left the set, or another index's, does not verify. */
bool sim_verify(void *ctx, const pbft_stmt_t *st, const qc_sig_t *sig) {
    sim_node_t *nd = ctx;
    int ident = st->replica < SIM_IDENT_MAX ? sim_ident_at(nd->sim, st->epoch, st->replica) : -1;
    if (ident < 0) return false;
    return pbft_fake_verify(nd->sim->keys[ident], st, sig);
}

/* ---------------------------------------------------------------- blocks */
qc_hash_t sim_block_new(sim_t *s, uint64_t height, const qc_hash_t *parent, int proposer,
                        bool valid) {
    qc_hash_t d;
    uint64_t c = ++s->block_counter;
    for (int i = 0; i < 4; i++) {
        uint64_t w = mix64(s->o.seed * 0x100000001b3ULL ^ (c << 8) ^ (uint64_t)i);
        memcpy(d.b + 8 * i, &w, 8);
    }
    uint64_t slot;
    memcpy(&slot, d.b, 8);
    for (uint64_t k = 0; k < SIM_BLOCK_SLOTS; k++) {
        sim_block_t *b = &s->blocks[(slot + k) % SIM_BLOCK_SLOTS];
        if (b->used) continue;
        b->used = true;
        b->digest = d;
        b->parent = *parent;
        b->height = height;
        b->proposer = proposer;
        b->valid = valid;
        return d;
    }
    QC_ASSERT(!"block registry full");
    return d;
}

sim_block_t *sim_block_find(sim_t *s, const qc_hash_t *d) {
    uint64_t slot;
    memcpy(&slot, d->b, 8);
    for (uint64_t k = 0; k < SIM_BLOCK_SLOTS; k++) {
        sim_block_t *b = &s->blocks[(slot + k) % SIM_BLOCK_SLOTS];
        if (!b->used) return NULL;
        if (memcmp(b->digest.b, d->b, 32) == 0) return b;
    }
    return NULL;
}

/* ---------------------------------------------------------------- event heap */
static bool ev_before(const sim_ev_t *a, const sim_ev_t *b) {
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void heap_push(sim_t *s, sim_ev_t *ev) {
    if (s->heap_len == s->heap_cap) {
        s->heap_cap = s->heap_cap ? 2 * s->heap_cap : 4096;
        s->heap = realloc(s->heap, s->heap_cap * sizeof *s->heap);
        QC_ASSERT(s->heap != NULL);
    }
    ev->seq = ++s->seq;
    size_t i = s->heap_len++;
    while (i > 0 && ev_before(ev, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = *ev;
}

bool sim_heap_pop_due(sim_t *s, sim_ev_t *out) {
    if (s->heap_len == 0 || s->heap[0].time > s->now) return false;
    *out = s->heap[0];
    sim_ev_t last = s->heap[--s->heap_len];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->heap_len) break;
        if (c + 1 < s->heap_len && ev_before(&s->heap[c + 1], &s->heap[c])) c++;
        if (!ev_before(&s->heap[c], &last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->heap_len > 0) s->heap[i] = last;
    return true;
}

void sim_heap_free(sim_t *s) {
    for (size_t i = 0; i < s->heap_len; i++) free(s->heap[i].blob);
    free(s->heap);
    s->heap = NULL;
    s->heap_len = s->heap_cap = 0;
}

/* ---------------------------------------------------------------- network */
/* Twins: the two copies of an identity live in two network halves; every other replica talks
 * to (and hears) only the copy on its side. */
static int route(const sim_t *s, const sim_node_t *from, uint16_t to_ident) {
    for (int i = 0; i < s->node_count; i++) {
        const sim_node_t *nd = &s->nodes[i];
        if (nd->ident != to_ident || !nd->exists) continue;
        bool twin_link = nd->byz == SIM_BYZ_TWIN || from->byz == SIM_BYZ_TWIN;
        if (!twin_link || nd->side == from->side) return i;
    }
    return -1;
}

/* Whether m, sent by `from`, is a vote of an identity that has left the validator set: what
 * sim_epoch_attack sends, and what a leaver's own core sends for an epoch it is no member of
 * (its old-epoch messages may still be legitimate: a late checkpoint vote, a held COMMIT). */
static uint64_t removed_vote(const sim_t *s, const sim_node_t *from, const pbft_msg_t *m) {
    if (!from->left_epoch) return 0;
    if (s->sending_removed) return from->left_epoch;
    bool vote = m->type != PBFT_MSG_COMMIT_CERT && m->type != PBFT_MSG_CHECKPOINT_CERT;
    return vote && m->epoch >= from->left_epoch ? from->left_epoch : 0;
}

static void enqueue(sim_t *s, const sim_node_t *from, int to, const pbft_msg_t *m,
                    uint64_t delay) {
    sim_ev_t ev;
    memset(&ev, 0, sizeof ev);
    ev.time = s->now + (delay ? delay : 1);
    ev.to = to;
    ev.removed_from = removed_vote(s, from, m);
    ev.msg = *m;
    ev.msg.vc = NULL;
    ev.msg.nv = NULL;
    ev.msg.cert = NULL;
    ev.msg.ckpt = NULL;
    ev.blob = pbft_body_copy(m);
    heap_push(s, &ev);
}

static uint64_t delay_for(sim_t *s, const sim_node_t *from) {
    uint64_t d = s->o.delay_min + sim_below(s, s->o.delay_max - s->o.delay_min + 1);
    if ((s->o.slow_mask >> from->ident) & 1) d += s->o.slow_extra;
    return d;
}

/* A scripted loss (sim_opts_t.drops) during the fault phase. */
static bool dropped_by_rule(const sim_t *s, uint16_t to_ident, const pbft_msg_t *m) {
    for (int i = 0; i < s->o.drop_count && !s->healed; i++) {
        const sim_drop_t *d = &s->o.drops[i];
        if (d->type == m->type && (d->view == UINT64_MAX || d->view == m->view) &&
            m->height <= d->height_max && to_ident < 32 && ((d->to_mask >> to_ident) & 1))
            return true;
    }
    return false;
}

void sim_send_to(sim_t *s, sim_node_t *from, uint16_t to_index, const pbft_msg_t *m) {
    s->r->msgs_sent++;
    int ident = sim_ident_at(s, m->epoch, to_index); /* the index in the message's epoch */
    if (ident < 0) return;
    uint16_t to_ident = (uint16_t)ident;
    if (dropped_by_rule(s, to_ident, m)) return;
    int to = route(s, from, to_ident);
    if (to < 0 || to == from->idx) return;
    if (to_ident < SIM_IDENT_MAX && from->ident < SIM_IDENT_MAX &&
        ((s->cut_in[to_ident] >> from->ident) & 1))
        return;
    if (sim_chance(s, s->o.loss_permille)) return;
    enqueue(s, from, to, m, delay_for(s, from));
    if (sim_chance(s, s->o.dup_permille)) enqueue(s, from, to, m, delay_for(s, from));
}

void sim_send(sim_t *s, sim_node_t *from, const pbft_msg_t *m) {
    if (m->to != PBFT_BROADCAST) {
        sim_send_to(s, from, m->to, m);
        return;
    }
    uint16_t n = sim_epoch_n(s, m->epoch);
    for (uint16_t i = 0; i < n; i++)
        if (sim_ident_at(s, m->epoch, i) != from->ident) sim_send_to(s, from, i, m);
}

/* ---------------------------------------------------------------- disk */
/* Makes r (whose body the disk owns from now on) durable: it replaces its key's record. */
static void disk_apply(sim_disk_t *d, const pbft_persist_t *r) {
    switch (r->kind) {
    case PBFT_REC_VIEW: d->view = *r; d->has_view = true; break;
    case PBFT_REC_CHECKPOINT:
        d->ckpt = *r;
        d->has_ckpt = true;
        for (int i = 0; i < SIM_DISK_SLOTS; i++) /* a checkpoint lets the log below go */
            if (d->slot_used[i] && d->slots[i].slot.height <= r->checkpoint.height)
                d->slot_used[i] = false;
        break;
    case PBFT_REC_EPOCH:
        d->epoch = *r;
        d->has_epoch = true;
        d->has_view = d->has_ckpt = false;
        if (d->has_nv) pbft_rec_free(&d->nv);
        d->has_nv = false;
        memset(d->slot_used, 0, sizeof d->slot_used);
        break;
    case PBFT_REC_SLOT: {
        int i = (int)(r->slot.height % SIM_DISK_SLOTS);
        d->slots[i] = *r;
        d->slot_used[i] = true;
        break;
    }
    case PBFT_REC_NEW_VIEW:
        if (d->has_nv) pbft_rec_free(&d->nv);
        d->nv = *r;
        d->has_nv = true;
        break;
    case PBFT_REC_FINAL:
        if (d->has_final) pbft_rec_free(&d->final);
        d->final = *r;
        d->has_final = true;
        break;
    }
}

/* Frees what a disk owns (at the end of a run). */
static void disk_free(sim_disk_t *d) {
    if (d->has_nv) pbft_rec_free(&d->nv);
    if (d->has_final) pbft_rec_free(&d->final);
    d->has_nv = d->has_final = false;
    for (size_t i = 0; i < d->pending_count; i++) pbft_rec_free(&d->pending[i].rec);
    d->pending_count = 0;
}

static void disk_write(sim_t *s, sim_node_t *nd, const pbft_persist_t *r) {
    sim_disk_t *d = &nd->disk;
    QC_ASSERT(d->pending_count < SIM_PENDING_MAX);
    uint64_t due = s->now + sim_below(s, s->o.disk_delay_max + 1);
    if (d->pending_count > 0 && d->pending[d->pending_count - 1].due > due)
        due = d->pending[d->pending_count - 1].due; /* durable in order */
    pbft_rec_copy(&d->pending[d->pending_count].rec, r);
    d->pending[d->pending_count].due = due;
    d->pending_count++;
}

void sim_disk_free(sim_node_t *nd) { disk_free(&nd->disk); }

size_t sim_disk_records(const sim_node_t *nd, pbft_persist_t *out) {
    const sim_disk_t *d = &nd->disk;
    size_t n = 0;
    if (d->has_epoch) out[n++] = d->epoch;
    if (d->has_view) out[n++] = d->view;
    if (d->has_ckpt) out[n++] = d->ckpt;
    if (d->has_nv) out[n++] = d->nv;
    if (d->has_final) out[n++] = d->final;
    for (int i = 0; i < SIM_DISK_SLOTS; i++)
        if (d->slot_used[i]) out[n++] = d->slots[i];
    return n;
}

/* Makes due records durable in order and acknowledges them. Returns false if the node crashed
 * on the way (SIM_EV_CRASH_PREPARED). */
static bool disk_flush(sim_t *s, sim_node_t *nd) {
    sim_disk_t *d = &nd->disk;
    size_t k = 0;
    uint64_t last = 0;
    while (k < d->pending_count && d->pending[k].due <= s->now) {
        const pbft_persist_t *r = &d->pending[k].rec;
        disk_apply(d, r);
        if (r->seq > last) last = r->seq; /* out of order only with disk_view_first */
        k++;
        if (nd->crash_prepared_h && r->kind == PBFT_REC_SLOT && r->slot.has_prepared &&
            r->slot.height == nd->crash_prepared_h) {
            sim_trace(s, 1, "r%d prepared h=%llu durable, crash before COMMIT", nd->idx,
                      (unsigned long long)r->slot.height);
            nd->restart_at = s->now + nd->crash_prepared_down;
            nd->crash_prepared_h = 0;
            memmove(d->pending, d->pending + k, (d->pending_count - k) * sizeof d->pending[0]);
            d->pending_count -= k; /* the disk owns those now; the crash drops the rest */
            sim_node_crash(s, nd);
            return false;
        }
    }
    memmove(d->pending, d->pending + k, (d->pending_count - k) * sizeof d->pending[0]);
    d->pending_count -= k;
    if (last) QC_ASSERT(pbft_persisted(nd->core, last) == QC_OK);
    return true;
}

/* ---------------------------------------------------------------- application */
static void app_commit(sim_t *s, sim_node_t *nd, const pbft_committed_t *c) {
    char hx[9];
    if (sim_honest(nd)) sim_check_commit(s, nd, c);
    if (c->cert.height != nd->ledger_height + 1 || nd->ledger_height + 1 >= SIM_HEIGHT_MAX)
        return;
    nd->ledger[++nd->ledger_height] = c->cert.digest;
    nd->certs[nd->ledger_height] = c->cert;
    sim_trace(s, 1, "r%d commit h=%llu v=%llu d=%s", nd->idx,
              (unsigned long long)c->cert.height, (unsigned long long)c->cert.view,
              sim_hex(&c->cert.digest, hx));
    sim_epoch_on_commit(s, nd, &c->cert);
}

static void on_epoch_switch(sim_t *s, sim_node_t *nd, const pbft_epoch_switch_t *sw) {
    s->r->epoch_switches++;
    sim_trace(s, 1, "r%d epoch %llu -> %llu at h=%llu n=%u", nd->idx,
              (unsigned long long)sw->old_epoch, (unsigned long long)sw->epoch.epoch,
              (unsigned long long)sw->epoch.base_height, sw->epoch.n);
    sim_epoch_switched(s, nd, sw);
    for (size_t i = 0; i < nd->future_count; i++) { /* deliver what arrived early */
        nd->future[i].time = s->now + 1;
        heap_push(s, &nd->future[i]);
    }
    nd->future_count = 0;
}

/* The order in which a host makes one outbox's records durable: pbft.h's (as output), or, for
 * a host that breaks it (sim_opts_t.disk_view_first), VIEW records ahead of the rest. */
static size_t durable_order(const sim_t *s, const pbft_outbox_t *ob, size_t *order) {
    size_t k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < ob->persist_count; i++) {
            bool view = ob->persist[i].kind == PBFT_REC_VIEW;
            if (!s->o.disk_view_first ? pass == 0 : (pass == 0) == view) order[k++] = i;
        }
    return k;
}

/* SIM_EV_CRASH_AT_RECORD: at the armed outbox, the disk keeps everything written before it
 * and exactly the first crash_rec_prefix of its records (in durable order), then the replica
 * dies before anything of the outbox leaves. Returns true if it crashed. */
static bool crash_at_record(sim_t *s, sim_node_t *nd, const pbft_outbox_t *ob,
                            const size_t *order, size_t count) {
    if (!nd->crash_rec_trigger) return false;
    bool hit = false;
    for (size_t i = 0; i < count; i++) hit |= (int)ob->persist[i].kind == nd->crash_rec_trigger;
    if (!hit) return false;
    sim_disk_t *d = &nd->disk;
    for (size_t i = 0; i < d->pending_count; i++) disk_apply(d, &d->pending[i].rec);
    d->pending_count = 0;
    size_t keep = nd->crash_rec_prefix < count ? nd->crash_rec_prefix : count;
    for (size_t i = 0; i < keep; i++) {
        pbft_persist_t r;
        pbft_rec_copy(&r, &ob->persist[order[i]]);
        disk_apply(d, &r);
    }
    sim_trace(s, 1, "r%d crash with %zu of %zu records of its outbox durable", nd->idx, keep,
              count);
    s->r->record_crashes++;
    nd->crash_rec_trigger = 0;
    nd->restart_at = nd->crash_rec_restart > s->now ? nd->crash_rec_restart : s->now + 20;
    sim_node_crash(s, nd);
    return true;
}

static void take_outputs(sim_t *s, sim_node_t *nd, const pbft_outbox_t *ob) {
    size_t order[PBFT_OUT_PERSIST_MAX];
    size_t count = durable_order(s, ob, order);
    if (crash_at_record(s, nd, ob, order, count)) return;
    for (size_t i = 0; i < count; i++) disk_write(s, nd, &ob->persist[order[i]]);
    for (size_t i = 0; i < ob->msg_count; i++) {
        if (ob->msgs[i].type == PBFT_MSG_COMMIT && !nd->commit_vote_time)
            nd->commit_vote_time = s->now;
        if (!sim_byz_outgoing(s, nd, &ob->msgs[i])) sim_send(s, nd, &ob->msgs[i]);
    }
    for (size_t i = 0; i < ob->commit_count; i++) app_commit(s, nd, &ob->commits[i]);
    for (size_t i = 0; i < ob->validate_count; i++) {
        QC_ASSERT(nd->val_count < SIM_VALS_MAX);
        nd->vals[nd->val_count].due = s->now + sim_below(s, 3);
        nd->vals[nd->val_count++].req = ob->validates[i];
    }
    if (ob->fetch) {
        nd->xfer = true;
        nd->xfer_target = ob->fetch->target;
        nd->xfer_due = s->now + 3 + sim_below(s, 10);
        sim_trace(s, 1, "r%d fetch blocks %llu..%llu", nd->idx,
                  (unsigned long long)ob->fetch->from_height + 1,
                  (unsigned long long)ob->fetch->target.height);
    }
    if (ob->epoch_switch) on_epoch_switch(s, nd, ob->epoch_switch);
}

static void trace_state(sim_t *s, sim_node_t *nd) {
    pbft_t *p = nd->core;
    uint64_t view = pbft_view(p), stable = pbft_stable_height(p);
    if (view > nd->view_max) nd->view_max = view;
    pbft_mode_t mode = pbft_mode(p);
    if (mode == PBFT_MODE_VIEW_CHANGE && view < 64) nd->vc_views_mask |= 1ULL << view;
    if (view != nd->snap_view || mode != nd->snap_mode) {
        if (mode == PBFT_MODE_VIEW_CHANGE)
            sim_trace(s, 1, "r%d view-change to v=%llu", nd->idx, (unsigned long long)view);
        else if (mode == PBFT_MODE_NORMAL)
            sim_trace(s, 1, "r%d enters v=%llu (primary r%u)", nd->idx, (unsigned long long)view,
                      pbft_primary(p));
    }
    if (stable > nd->snap_stable && pbft_epoch_number(p) == nd->snap_epoch)
        sim_trace(s, 1, "r%d stable checkpoint h=%llu", nd->idx, (unsigned long long)stable);
    nd->snap_view = view;
    nd->snap_mode = mode;
    nd->snap_stable = stable;
    nd->snap_epoch = pbft_epoch_number(p);
}

/* The caller loop of pbft.h: persist, send, apply, then acknowledge; until nothing is left. */
void sim_drain(sim_t *s, sim_node_t *nd) {
    for (int iter = 0; iter < 1000 && nd->up; iter++) {
        pbft_outbox_t ob;
        pbft_outbox(nd->core, &ob);
        bool empty = !ob.msg_count && !ob.persist_count && !ob.commit_count &&
                     !ob.validate_count && !ob.fetch && !ob.epoch_switch;
        bool due = nd->disk.pending_count && nd->disk.pending[0].due <= s->now;
        if (empty && !due && !nd->epoch_call_pending) break;
        take_outputs(s, nd, &ob);
        if (!nd->up) return; /* crashed at a record boundary */
        pbft_outbox_clear(nd->core);
        if (nd->epoch_call_pending) {
            nd->epoch_call_pending = false;
            int rc = sim_epoch_decide(s, nd, nd->epoch_call_height);
            if (rc != QC_OK) sim_fail(s, "r%d pbft_set_next_epoch: %s", nd->idx, qc_strerror(rc));
        }
        int rc = pbft_applied(nd->core, nd->ledger_height);
        if (rc != QC_OK) {
            sim_fail(s, "r%d pbft_applied(%llu): %s", nd->idx,
                     (unsigned long long)nd->ledger_height, qc_strerror(rc));
            return;
        }
        if (!disk_flush(s, nd)) return;
    }
    trace_state(s, nd);
}

/* ---------------------------------------------------------------- lifecycle */
void sim_node_crash(sim_t *s, sim_node_t *nd) {
    if (!nd->up) return;
    nd->up = false;
    for (size_t i = 0; i < nd->disk.pending_count; i++) pbft_rec_free(&nd->disk.pending[i].rec);
    nd->disk.pending_count = 0; /* not durable: lost */
    nd->val_count = 0;
    nd->xfer = false;
    for (size_t i = 0; i < nd->future_count; i++) free(nd->future[i].blob);
    nd->future_count = 0;
    s->r->crashes++;
    sim_trace(s, 1, "r%d crash", nd->idx);
}

void sim_node_restart(sim_t *s, sim_node_t *nd) {
    if (nd->up || !nd->exists) return;
    static pbft_persist_t recs[SIM_DISK_SLOTS + 5];
    size_t count = sim_disk_records(nd, recs);
    int rc = sim_epoch_restore(s, nd, recs, count);
    nd->restart_at = 0;
    if (rc != QC_OK) {
        sim_fail(s, "r%d restore failed: %s", nd->idx, qc_strerror(rc));
        return;
    }
    pbft_set_backlog(nd->core, s->o.backlog);
    nd->up = true;
    nd->commit_vote_time = 0;
    nd->next_prop = s->now;
    sim_trace(s, 1, "r%d restart in v=%llu%s at h=%llu", nd->idx,
              (unsigned long long)pbft_view(nd->core),
              pbft_mode(nd->core) == PBFT_MODE_VIEW_CHANGE ? " (view change)" : "",
              (unsigned long long)nd->ledger_height);
    nd->snap_view = pbft_view(nd->core);
    nd->snap_mode = pbft_mode(nd->core);
    nd->snap_stable = pbft_stable_height(nd->core);
    nd->snap_epoch = pbft_epoch_number(nd->core);
    sim_drain(s, nd);
    sim_byz_on_restart(s, nd);
}

void sim_deliver(sim_t *s, sim_ev_t *ev) {
    sim_node_t *nd = &s->nodes[ev->to];
    if (!nd->exists || !nd->up) {
        free(ev->blob);
        return;
    }
    pbft_msg_t m = ev->msg;
    if (m.epoch > pbft_epoch_number(nd->core) && nd->future_count < SIM_FUTURE_MAX) {
        nd->future[nd->future_count++] = *ev; /* a node buffers the next epoch's traffic */
        return;
    }
    pbft_body_bind(&m, ev->blob);
    uint64_t epoch = pbft_epoch_number(nd->core);
    int rc = pbft_step(nd->core, &m);
    QC_ASSERT(rc != QC_ERR_FULL);
    s->r->msgs_delivered++;
    if (rc != QC_OK) s->r->rx_dropped++;
    bool member = sim_honest(nd) && !(nd->left_epoch && epoch >= nd->left_epoch);
    if (ev->removed_from && member && epoch >= ev->removed_from) { /* it knows they left */
        s->r->removed_msgs++;
        if (rc == QC_OK)
            sim_fail(s, "r%d accepted %s (epoch %llu, index %u) from an identity that left the "
                     "validators at epoch %llu", nd->idx, pbft_msg_type_name(m.type),
                     (unsigned long long)m.epoch, m.from, (unsigned long long)ev->removed_from);
    }
    if (s->o.trace_level >= 2) {
        char hx[9];
        sim_trace(s, 2, "r%d <- r%u %s v=%llu h=%llu d=%s: %s", nd->idx, m.from,
                  pbft_msg_type_name(m.type), (unsigned long long)m.view,
                  (unsigned long long)m.height, sim_hex(&m.digest, hx),
                  rc == QC_OK ? "ok" : qc_strerror(rc));
    }
    sim_byz_record(s, &m);
    free(ev->blob);
    sim_drain(s, nd);
}

/* ---------------------------------------------------------------- per-tick app work */
static void answer_validations(sim_t *s, sim_node_t *nd) {
    size_t k = 0;
    while (k < nd->val_count && nd->up) {
        if (nd->vals[k].due > s->now) { k++; continue; }
        pbft_validate_t v = nd->vals[k].req;
        nd->vals[k] = nd->vals[--nd->val_count];
        sim_block_t *b = sim_block_find(s, &v.digest);
        bool ok = b && b->valid && b->height == v.height &&
                  memcmp(b->parent.b, v.parent.b, 32) == 0;
        (void)pbft_validated(nd->core, v.height, &v.digest, ok);
        sim_drain(s, nd);
    }
}

static void propose(sim_t *s, sim_node_t *nd) {
    if (s->now < nd->next_prop) return;
    if (!s->o.backlog && (s->now / 150) % 2 == 1) return; /* idle spells: heartbeats only */
    uint64_t h;
    qc_hash_t parent;
    if (pbft_proposal_slot(nd->core, &h, &parent) != QC_OK) return;
    if (!s->healed && s->o.propose_max_height && h > s->o.propose_max_height) return;
    qc_hash_t d = sim_block_new(s, h, &parent, nd->ident, nd->byz != SIM_BYZ_INVALID);
    char hx[9];
    sim_trace(s, 1, "r%d propose h=%llu d=%s", nd->idx, (unsigned long long)h, sim_hex(&d, hx));
    QC_ASSERT(pbft_propose(nd->core, h, &d) == QC_OK);
    nd->next_prop = s->now + s->o.prop_gap;
    sim_drain(s, nd);
}

void sim_node_work(sim_t *s, sim_node_t *nd) {
    if (!nd->up) return;
    if (nd->disk.pending_count && nd->disk.pending[0].due <= s->now) sim_drain(s, nd);
    if (!nd->up) return;
    answer_validations(s, nd);
    if (nd->up && nd->xfer && s->now >= nd->xfer_due) sim_xfer_finish(s, nd);
    if (nd->up) sim_xfer_catch_up(s, nd);
    if (nd->up) propose(s, nd);
}
