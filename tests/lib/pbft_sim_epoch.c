/* pbft_sim_epoch.c - the simulator's validator-set schedule (sim_opts_t.epochs): which epoch
 * holds which identities, the host's pbft_set_next_epoch calls (on commit, inside a state
 * transfer, after a restart), and the identities that join or leave at a switch. */
#include <string.h>

#include "pbft_sim_internal.h"

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

void sim_add_epoch_change(sim_opts_t *o, uint64_t height, int delta) {
    if (o->epoch_count >= SIM_EPOCHS_MAX) return;
    o->epochs[o->epoch_count++] = (sim_epoch_change_t){.height = height, .delta = delta};
}

/* Whether identity `ident` may leave an epoch of n validators. */
static const char *removal_problem(const sim_opts_t *o, int ident) {
    if (ident < o->n && o->byz[ident] != SIM_BYZ_NONE)
        return "only an honest identity can be removed (the highest index is Byzantine)";
    return NULL;
}

const char *sim_epochs_problem(const sim_opts_t *o) {
    sim_epoch_change_t ch[SIM_EPOCHS_MAX];
    int count = schedule_of(o, ch), n = o->n, byz = 0;
    uint64_t k = o->core.checkpoint_interval ? o->core.checkpoint_interval : 1, after = 0;
    bool shrunk = false;
    for (int i = 0; i < o->n && i < SIM_IDENT_MAX; i++) byz += o->byz[i] != SIM_BYZ_NONE;
    for (int i = 0; i < count; i++) {
        if (ch[i].height <= after)
            return "a deciding height must lie beyond the previous change's checkpoint";
        if (ch[i].delta == +1) {
            if (shrunk) return "a joiner after a removal would reuse the removed index";
            n++;
        } else if (ch[i].delta == -1) {
            const char *why = removal_problem(o, n - 1);
            if (why) return why;
            n--;
            shrunk = true;
        } else {
            return "delta must be +1 or -1";
        }
        if (n < 4 || n > SIM_IDENT_MAX - 1 || n > PBFT_N_MAX)
            return "n must stay within 4..SIM_IDENT_MAX-1 and PBFT_N_MAX";
        if (byz > pbft_max_faulty(n)) return "more Byzantine identities than an epoch's f";
        after = switch_height(ch[i].height, k);
    }
    return NULL;
}

void sim_epochs_init(sim_t *s) {
    s->epoch_count = schedule_of(&s->o, s->sched);
    s->epoch_n[0] = (uint16_t)s->n;
    s->epoch_base[0] = 0;
    s->joiner[0] = -1;
    s->epoch_reached = 0;
    for (int e = 1; e <= s->epoch_count; e++) {
        const sim_epoch_change_t *c = &s->sched[e - 1];
        s->epoch_n[e] = (uint16_t)(s->epoch_n[e - 1] + c->delta);
        s->epoch_base[e] = switch_height(c->height, s->o.core.checkpoint_interval);
        s->joiner[e] = -1;
    }
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
    return nd->ident >= s->epoch_n[s->epoch_reached];
}

/* Epoch e as identity nd sees it: a member at its own index, or PBFT_NOT_MEMBER once it left.
 * The base digest comes from nd's ledger when it holds the base. */
static pbft_epoch_t epoch_config(const sim_t *s, uint64_t e, const sim_node_t *nd) {
    pbft_epoch_t ep;
    memset(&ep, 0, sizeof ep);
    ep.epoch = e;
    ep.n = s->epoch_n[e];
    ep.self = nd->ident < ep.n ? nd->ident : PBFT_NOT_MEMBER;
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
    j->cfg.epoch.self = j->ident;
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
    else s->r->epoch_shrinks++;
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
