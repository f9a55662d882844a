/* pbft_sim_epoch.c - the simulator's validator-set schedule (sim_opts_t.epochs): which epoch
 * holds which identities, the host's pbft_set_next_epoch calls (on commit, inside a state
 * transfer, after a restart), and the identities that join or leave at a switch. */
#include <string.h>

#include "pbft_sim_internal.h"
#include "pbft_testutil.h"

/* The first checkpoint at or above the deciding height: where the next epoch starts. */
static uint64_t switch_height(uint64_t decided, uint64_t k) { return (decided + k - 1) / k * k; }

/* o's changes; epoch_at is the older form of one +1 change. */
static int schedule_of(const sim_opts_t *o, sim_epoch_change_t *out) {
    if (o->epoch_count == 0 && o->epoch_at > 0) {
        out[0] = (sim_epoch_change_t){.height = o->epoch_at, .delta = +1};
        return 1;
    }
    int count = o->epoch_count < SIM_EPOCHS_MAX ? o->epoch_count : SIM_EPOCHS_MAX;
    memcpy(out, o->epochs, (size_t)(count > 0 ? count : 0) * sizeof *out);
    return count > 0 ? count : 0;
}

void sim_add_epoch_change_at(sim_opts_t *o, uint64_t height, int delta, int index,
                             sim_leave_t leave) {
    if (o->epoch_count >= SIM_EPOCHS_MAX) return;
    o->epochs[o->epoch_count++] =
        (sim_epoch_change_t){.height = height, .delta = delta, .index = index, .leave = leave};
}

void sim_add_epoch_change(sim_opts_t *o, uint64_t height, int delta) {
    sim_add_epoch_change_at(o, height, delta, -1, SIM_LEAVE_IDLE);
}

/* The member lists of every epoch of schedule ch (count changes) over o's first n
 * identities: members[e][i] is the identity at index i of epoch e, n_out[e] its size;
 * *idents: the identities used (fresh ones numbered from o->n in change order). NULL, or
 * what makes the schedule invalid (sim_epochs_problem). */
static const char *build_members(const sim_opts_t *o, const sim_epoch_change_t *ch, int count,
                                 uint8_t members[][SIM_IDENT_MAX], uint16_t *n_out,
                                 int *idents) {
    uint64_t k = o->core.checkpoint_interval ? o->core.checkpoint_interval : 1, after = 0;
    int n = o->n, next_ident = o->n;
    for (int i = 0; i < n; i++) members[0][i] = (uint8_t)i;
    n_out[0] = (uint16_t)n;
    for (int e = 1; e <= count; e++) {
        const sim_epoch_change_t *c = &ch[e - 1];
        uint8_t *cur = members[e];
        memcpy(cur, members[e - 1], SIM_IDENT_MAX);
        if (c->height <= after)
            return "a deciding height must lie beyond the previous change's checkpoint";
        if (c->delta < -1 || c->delta > 1) return "delta must be -1, 0 or +1";
        int at = c->delta == +1 ? n : c->index < 0 ? n - 1 : c->index;
        if (at >= n + (c->delta == +1)) return "the index of a change names no member";
        if (c->delta != +1) {
            int gone = cur[at], byz = 0;
            if (gone < o->n && gone < SIM_IDENT_MAX && o->byz[gone] != SIM_BYZ_NONE)
                return "only an honest identity can leave (the one at index is Byzantine)";
            for (int i = 0; i < n; i++) byz += cur[i] < o->n && o->byz[cur[i]] != SIM_BYZ_NONE;
            if (c->leave == SIM_LEAVE_BYZ && byz + 1 > pbft_max_faulty(n))
                return "a leaver whose key an attacker holds is one more Byzantine replica of "
                       "the epoch it leaves: beyond that epoch's f";
        }
        if (c->delta != -1 && next_ident >= SIM_IDENT_MAX)
            return "more than SIM_IDENT_MAX identities (one more per +1 and per rotation)";
        if (c->delta == -1) {
            memmove(cur + at, cur + at + 1, (size_t)(n - at - 1));
            n--;
        } else {
            cur[at] = (uint8_t)next_ident++;
            n += c->delta;
        }
        if (n < 4 || n > SIM_IDENT_MAX - 1 || n > PBFT_N_MAX)
            return "n must stay within 4..SIM_IDENT_MAX-1 and PBFT_N_MAX";
        int byz = 0;
        for (int i = 0; i < n; i++) byz += cur[i] < o->n && o->byz[cur[i]] != SIM_BYZ_NONE;
        if (byz > pbft_max_faulty(n)) return "more Byzantine identities than an epoch's f";
        n_out[e] = (uint16_t)n;
        after = switch_height(c->height, k);
    }
    *idents = next_ident;
    return NULL;
}

const char *sim_epochs_problem(const sim_opts_t *o) {
    sim_epoch_change_t ch[SIM_EPOCHS_MAX];
    uint8_t members[SIM_EPOCHS_MAX + 1][SIM_IDENT_MAX];
    uint16_t n[SIM_EPOCHS_MAX + 1];
    int idents;
    int count = schedule_of(o, ch);
    return build_members(o, ch, count, members, n, &idents);
}

void sim_epochs_init(sim_t *s) {
    s->epoch_count = schedule_of(&s->o, s->sched);
    QC_ASSERT(build_members(&s->o, s->sched, s->epoch_count, s->members, s->epoch_n,
                            &s->ident_count) == NULL);
    s->epoch_base[0] = 0;
    s->joiner[0] = -1;
    s->epoch_reached = 0;
    for (int e = 1; e <= s->epoch_count; e++) {
        s->epoch_base[e] = switch_height(s->sched[e - 1].height, s->o.core.checkpoint_interval);
        s->joiner[e] = -1;
    }
}

/* The identity that leaves at epoch e's start (a removal or a rotation's old key), or -1. */
static int leaver(const sim_t *s, int e) {
    const sim_epoch_change_t *c = &s->sched[e - 1];
    if (c->delta == +1) return -1;
    return s->members[e - 1][c->index < 0 ? s->epoch_n[e - 1] - 1 : c->index];
}

/* Marks the nodes of identities that leave with their epoch and what they do then (called by
 * setup once every node exists). */
void sim_epochs_mark_leavers(sim_t *s) {
    for (int e = 1; e <= s->epoch_count; e++) {
        int gone = leaver(s, e);
        for (int i = 0; i < s->node_count && gone >= 0; i++) {
            sim_node_t *nd = &s->nodes[i];
            if (nd->ident != gone) continue;
            nd->left_epoch = (uint64_t)e;
            nd->leave = s->sched[e - 1].leave;
            nd->left_index = sim_index_in(s, (uint64_t)e - 1, nd->ident);
            nd->left_n = s->epoch_n[e - 1];
        }
    }
}

uint16_t sim_index_in(const sim_t *s, uint64_t epoch, uint16_t ident) {
    uint64_t e = epoch < (uint64_t)s->epoch_count ? epoch : (uint64_t)s->epoch_count;
    for (uint16_t i = 0; i < s->epoch_n[e]; i++)
        if (s->members[e][i] == ident) return i;
    return PBFT_NOT_MEMBER;
}

int sim_ident_at(const sim_t *s, uint64_t epoch, uint16_t index) {
    uint64_t e = epoch < (uint64_t)s->epoch_count ? epoch : (uint64_t)s->epoch_count;
    return index < s->epoch_n[e] ? s->members[e][index] : -1;
}

uint16_t sim_epoch_n(const sim_t *s, uint64_t epoch) {
    uint64_t last = (uint64_t)s->epoch_count;
    return s->epoch_n[epoch < last ? epoch : last];
}

uint64_t sim_epoch_of_height(const sim_t *s, uint64_t height) {
    uint64_t e = 0;
    while (e < (uint64_t)s->epoch_count && height > s->epoch_base[e + 1]) e++;
    return e;
}

uint64_t sim_epoch_decided_in(const sim_t *s, uint64_t epoch, uint64_t from, uint64_t to) {
    if (epoch >= (uint64_t)s->epoch_count) return 0;
    uint64_t h = s->sched[epoch].height;
    return h > from && h <= to ? h : 0;
}

bool sim_epoch_removed(const sim_t *s, const sim_node_t *nd) {
    return sim_index_in(s, s->epoch_reached, nd->ident) == PBFT_NOT_MEMBER;
}

/* Epoch e as identity nd's host sees it: a member at its index, or PBFT_NOT_MEMBER once it
 * left; a stale host (SIM_LEAVE_STALE) never learns that it left and keeps its old index and
 * n. The base digest comes from nd's ledger when it holds the base. */
static pbft_epoch_t epoch_config(const sim_t *s, uint64_t e, const sim_node_t *nd) {
    pbft_epoch_t ep;
    memset(&ep, 0, sizeof ep);
    ep.epoch = e;
    ep.n = s->epoch_n[e];
    ep.self = sim_index_in(s, e, nd->ident);
    if (nd->left_epoch && e >= nd->left_epoch && nd->leave == SIM_LEAVE_STALE) {
        ep.n = nd->left_n;
        ep.self = nd->left_index;
    }
    ep.base_height = s->epoch_base[e];
    if (nd->ledger_height >= ep.base_height) ep.base_digest = nd->ledger[ep.base_height];
    return ep;
}

/* The host applies a block that decides a change (app_commit): the call comes before
 * pbft_applied covers it (sim_drain). */
void sim_epoch_on_commit(sim_t *s, sim_node_t *nd, const pbft_commit_cert_t *c) {
    if (sim_epoch_decided_in(s, c->epoch, c->height - 1, c->height) == 0) return;
    nd->epoch_call_pending = true;
    nd->epoch_call_height = c->height;
}

int sim_epoch_decide(sim_t *s, sim_node_t *nd, uint64_t decided_height) {
    uint64_t e = pbft_epoch_number(nd->core) + 1;
    if (e > (uint64_t)s->epoch_count) return QC_ERR_STATE;
    pbft_epoch_t next = epoch_config(s, e, nd);
    next.base_height = 0; /* the core sets the base at the switch */
    memset(&next.base_digest, 0, sizeof next.base_digest);
    return pbft_set_next_epoch(nd->core, decided_height, &next);
}

/* A joiner starts in its epoch from a replica's ledger (and certificates) up to the base, as
 * a new validator would sync before it takes part. */
static void start_joiner(sim_t *s, const sim_node_t *src, const pbft_epoch_t *ep) {
    int idx = ep->epoch <= (uint64_t)s->epoch_count ? s->joiner[ep->epoch] : -1;
    if (idx < 0 || s->nodes[idx].exists) return;
    sim_node_t *j = &s->nodes[idx];
    j->ledger_height = ep->base_height;
    memcpy(j->ledger, src->ledger, (ep->base_height + 1) * sizeof *j->ledger);
    memcpy(j->certs, src->certs, (ep->base_height + 1) * sizeof *j->certs);
    j->cfg.epoch = *ep;
    j->cfg.epoch.n = s->epoch_n[ep->epoch];
    j->cfg.epoch.self = sim_index_in(s, ep->epoch, j->ident);
    QC_ASSERT(pbft_init(j->core, &j->cfg) == QC_OK);
    pbft_set_backlog(j->core, s->o.backlog);
    j->exists = j->up = true;
    j->snap_epoch = ep->epoch;
    sim_trace(s, 1, "r%d joins epoch %llu at h=%llu", j->idx, (unsigned long long)ep->epoch,
              (unsigned long long)ep->base_height);
}

/* A host that synced past a switch and restarted its core there (no ob.epoch_switch) starts
 * the epoch's joiner too, as one that switched would: otherwise a new validator whose epoch
 * every honest replica reached by catch-up never starts (the million-seed sweep's seed
 * 320606). */
void sim_epoch_restarted(sim_t *s, sim_node_t *nd) {
    const pbft_t *p = nd->core;
    if (!sim_honest(nd) || p->ep.epoch == 0 || p->ep.epoch > (uint64_t)s->epoch_count) return;
    start_joiner(s, nd, &p->ep);
}

void sim_epoch_switched(sim_t *s, sim_node_t *nd, const pbft_epoch_switch_t *sw) {
    uint64_t e = sw->epoch.epoch;
    if (sw->epoch.self == PBFT_NOT_MEMBER)
        sim_trace(s, 1, "r%d leaves the validators at h=%llu", nd->idx,
                  (unsigned long long)sw->epoch.base_height);
    if (!sim_honest(nd) || e > (uint64_t)s->epoch_count) return;
    start_joiner(s, nd, &sw->epoch);
    if (e <= s->epoch_reached) return;
    s->epoch_reached = e;
    if (s->epoch_n[e] > s->epoch_n[e - 1]) s->r->epoch_grows++;
    else if (s->epoch_n[e] < s->epoch_n[e - 1]) s->r->epoch_shrinks++;
    else s->r->epoch_rotations++;
}

/* pbft.h: a host restarting past a switch checkpoint restores with the new epoch as its
 * configuration (the EPOCH record may not have been durable); one whose ledger holds the
 * deciding block but not yet the checkpoint makes the pbft_set_next_epoch call again. */
int sim_epoch_restore(sim_t *s, sim_node_t *nd, const pbft_persist_t *recs, size_t count) {
    pbft_config_t cfg = nd->cfg;
    uint64_t e = cfg.epoch.epoch;
    while (e < (uint64_t)s->epoch_count && nd->ledger_height >= s->epoch_base[e + 1]) e++;
    if (e > cfg.epoch.epoch) cfg.epoch = epoch_config(s, e, nd);
    int rc = pbft_restore(nd->core, &cfg, recs, count, nd->ledger_height,
                          &nd->ledger[nd->ledger_height]);
    if (rc != QC_OK) return rc;
    uint64_t now = pbft_epoch_number(nd->core);
    uint64_t decided = sim_epoch_decided_in(s, now, 0, nd->ledger_height);
    return decided ? sim_epoch_decide(s, nd, decided) : QC_OK;
}

/* An honest member of the newest epoch that is up: what the attacker listens to. */
static const sim_node_t *some_member(const sim_t *s) {
    for (int i = 0; i < s->node_count; i++) {
        const sim_node_t *m = &s->nodes[i];
        if (m->exists && m->up && sim_honest(m) && !sim_epoch_removed(s, m) &&
            pbft_epoch_number(m->core) == s->epoch_reached)
            return m;
    }
    return NULL;
}

/* Signs m as nd's old index with nd's own key (valid, but for an index it no longer holds) and
 * sends it to every member of m's epoch, marked as a removed identity's vote. */
static void attack_send(sim_t *s, sim_node_t *nd, pbft_msg_t *m) {
    pbft_stmt_t st;
    m->from = nd->left_index;
    m->to = PBFT_BROADCAST;
    if (m->type == PBFT_MSG_VIEW_CHANGE) {
        pbft_view_change_t *vc = (pbft_view_change_t *)m->vc;
        vc->replica = nd->left_index;
        qc_hash_t h;
        pbft_view_change_hash(vc, &h);
        pbft_stmt_make(&st, PBFT_MSG_VIEW_CHANGE, nd->left_index, vc->epoch, vc->view,
                       vc->stable.height, &h, NULL);
        pbft_fake_sign(s->keys[nd->ident], &st, &vc->sig);
    } else {
        pbft_msg_stmt(m, &st);
        pbft_fake_sign(s->keys[nd->ident], &st, &m->sig);
    }
    s->sending_removed = true;
    for (uint16_t i = 0; i < sim_epoch_n(s, m->epoch); i++)
        if (sim_ident_at(s, m->epoch, i) != nd->ident) sim_send_to(s, nd, i, m);
    s->sending_removed = false;
}

void sim_epoch_attack(sim_t *s, sim_node_t *nd) {
    if (nd->leave != SIM_LEAVE_BYZ || !nd->left_epoch ||
        pbft_epoch_number(nd->core) < nd->left_epoch || !sim_chance(s, 150))
        return;
    const sim_node_t *m = some_member(s);
    if (!m) return;
    uint64_t e = s->epoch_reached, top = m->ledger_height, k = s->o.core.checkpoint_interval;
    pbft_msg_t msg;
    memset(&msg, 0, sizeof msg);
    msg.epoch = e;
    msg.view = pbft_view(m->core);
    msg.height = top + 1;
    for (int i = 0; i < 4; i++) {
        uint64_t w = sim_rnd(s);
        memcpy(msg.digest.b + 8 * i, &w, 8);
    }
    msg.parent = m->ledger[top];
    pbft_view_change_t vc;
    switch (sim_below(s, 5)) {
    case 0: msg.type = PBFT_MSG_PREPARE; break;
    case 1: msg.type = PBFT_MSG_COMMIT; memset(&msg.parent, 0, sizeof msg.parent); break;
    case 2: /* the true digest of the newest checkpoint: right content, removed key */
        msg.type = PBFT_MSG_CHECKPOINT;
        msg.view = 0;
        msg.height = top / k * k;
        msg.digest = m->ledger[msg.height];
        memset(&msg.parent, 0, sizeof msg.parent);
        break;
    case 3:
        memset(&vc, 0, sizeof vc);
        vc.epoch = e;
        vc.view = msg.view + 1;
        vc.stable.height = s->epoch_base[e];
        vc.stable.digest = m->ledger[vc.stable.height];
        msg.type = PBFT_MSG_VIEW_CHANGE;
        msg.view = vc.view;
        msg.height = vc.stable.height;
        memset(&msg.digest, 0, sizeof msg.digest);
        memset(&msg.parent, 0, sizeof msg.parent);
        msg.vc = &vc;
        break;
    default: { /* a conflicting COMMIT for a height of the last epoch it was a member of */
        uint64_t lo = s->epoch_base[nd->left_epoch - 1], hi = s->epoch_base[nd->left_epoch];
        msg.type = PBFT_MSG_COMMIT;
        msg.epoch = nd->left_epoch - 1;
        msg.view = 0;
        msg.height = lo + 1 + sim_below(s, hi - lo);
        memset(&msg.parent, 0, sizeof msg.parent);
        break;
    }
    }
    attack_send(s, nd, &msg);
}
