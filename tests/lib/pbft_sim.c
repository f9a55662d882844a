/* pbft_sim.c - the simulator's options (everything derived from one seed), its run loop, the
 * scripted and random fault schedule, tracing and failure reporting. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pbft_sim_internal.h"

static const char *const byz_names[SIM_BYZ_KINDS] = {
    "honest", "silent", "equivocate", "forge", "bad-new-view", "invalid", "twin", "adaptive"};

const char *sim_byz_name(sim_byz_t b) { return b < SIM_BYZ_KINDS ? byz_names[b] : "?"; }

bool sim_honest(const sim_node_t *nd) { return nd->byz == SIM_BYZ_NONE; }

const char *sim_hex(const qc_hash_t *d, char buf[9]) {
    qc_hex_encode(buf, d->b, 4);
    return buf;
}

void sim_trace(sim_t *s, int level, const char *fmt, ...) {
    if (!s->o.trace || s->o.trace_level < level) return;
    fprintf(s->o.trace, "t=%llu ", (unsigned long long)s->now);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(s->o.trace, fmt, ap);
    va_end(ap);
    fputc('\n', s->o.trace);
}

void sim_fail(sim_t *s, const char *fmt, ...) {
    if (s->failed) return;
    s->failed = true;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(s->r->failure, sizeof s->r->failure, "seed %llu t=%llu: %s",
             (unsigned long long)s->o.seed, (unsigned long long)s->now, msg);
    sim_trace(s, 1, "FAIL %s", msg);
}

/* ---------------------------------------------------------------- options */
static void core_defaults(pbft_config_t *c) {
    pbft_config_default(c);
    c->checkpoint_interval = 4;
    c->window = 8;
    c->pipeline_max = 3;
    c->heartbeat_ticks = 4;
    c->view_timeout_ticks = 24;
    c->view_timeout_max_ticks = 192;
}

void sim_opts_quiet(uint64_t seed, int n, sim_opts_t *o) {
    memset(o, 0, sizeof *o);
    o->seed = seed;
    o->n = n;
    for (int i = 0; i < SIM_IDENT_MAX; i++) o->tick_period[i] = 1;
    o->delay_min = 1;
    o->delay_max = 3;
    o->heal_delay_max = 3;
    o->disk_delay_max = 1;
    o->prop_gap = 3;
    o->backlog = true;
    o->fault_ticks = 100;
    o->live_ticks = 3000;
    o->live_blocks = 3;
    o->held_ticks_max = 2;
    core_defaults(&o->core);
}

static uint64_t seed_rnd(uint64_t *st) {
    *st += 0x9e3779b97f4a7c15ULL;
    uint64_t z = *st;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
#define PICK(st, n) (seed_rnd(st) % (uint64_t)(n))

void sim_add_event(sim_opts_t *o, uint64_t t, sim_ev_kind_t k, int a, uint32_t mask) {
    if (o->event_count >= SIM_EVENTS_MAX) return;
    sim_event_spec_t *e = &o->events[o->event_count++];
    memset(e, 0, sizeof *e);
    e->time = t;
    e->kind = k;
    e->a = a;
    e->mask = mask;
}

static void sort_events(sim_opts_t *o) {
    for (int i = 1; i < o->event_count; i++)
        for (int j = i; j > 0 && o->events[j].time < o->events[j - 1].time; j--) {
            sim_event_spec_t t = o->events[j];
            o->events[j] = o->events[j - 1];
            o->events[j - 1] = t;
        }
}

/* Partitions (symmetric or one-way) and crashes inside the fault phase. */
static void random_events(sim_opts_t *o, uint64_t *st) {
    uint64_t ft = o->fault_ticks;
    uint32_t all = (1u << o->n) - 1;
    for (int i = (int)PICK(st, 3); i > 0; i--) {
        uint64_t t = PICK(st, ft), len = 20 + PICK(st, 200);
        uint32_t mask = (uint32_t)(1 + PICK(st, all - 1)); /* a proper, non-empty subset */
        sim_add_event(o, t, PICK(st, 2) ? SIM_EV_PARTITION : SIM_EV_ONEWAY, 0, mask);
        sim_add_event(o, t + len < ft ? t + len : ft, SIM_EV_HEAL, 0, 0);
    }
    for (int i = (int)PICK(st, 3); i > 0; i--) {
        int node = (int)PICK(st, o->n);
        uint64_t t = PICK(st, ft), down = 10 + PICK(st, 300);
        sim_add_event(o, t, SIM_EV_CRASH, node, 0);
        sim_add_event(o, t + down < ft ? t + down : ft, SIM_EV_RESTART, node, 0);
    }
    if (PICK(st, 5) == 0) { /* a crash inside an outbox that matters, at a random record */
        static const int trig[3] = {SIM_TRIG_NEW_VIEW, SIM_TRIG_CHECKPOINT, SIM_TRIG_EPOCH};
        sim_add_event(o, PICK(st, ft), SIM_EV_CRASH_AT_RECORD, (int)PICK(st, o->n), 0);
        o->events[o->event_count - 1].b = (uint64_t)trig[PICK(st, 3)];
        o->events[o->event_count - 1].c = PICK(st, 7);
    }
    if (PICK(st, 10) == 0) {
        sim_add_event(o, 0, SIM_EV_CRASH_PREPARED, (int)PICK(st, o->n), 0);
        o->events[o->event_count - 1].b = 1 + PICK(st, 30);
        o->events[o->event_count - 1].c = 5 + PICK(st, 100);
    }
    sort_events(o);
}

/* In 1 of 4 seeds, up to SIM_EPOCHS_DRAW validator-set changes: the first decided by a block
 * that most runs reach during the fault phase (so it meets the seed's partitions, crashes and
 * losses), each next one 1..2K blocks beyond the previous switch. Each is a growth, a removal
 * at a random index or a key rotation at one, and a leaving identity goes idle, stays on as a
 * stale host or hands its key to an attacker (sim_leave_t). A change that would break a rule
 * of sim_epochs_problem() falls back to a growth, then to removing the last member idle, or
 * ends the schedule. */
#define SIM_EPOCHS_DRAW 4
static void random_epochs(sim_opts_t *o, uint64_t *st) {
    if (PICK(st, 4) != 0) return;
    uint64_t k = o->core.checkpoint_interval, h = 2 + PICK(st, 24);
    int n = o->n;
    for (int i = 1 + (int)PICK(st, SIM_EPOCHS_DRAW); i > 0; i--) {
        int delta = (int)PICK(st, 3) - 1, index = (int)PICK(st, n);
        sim_leave_t leave = (sim_leave_t)PICK(st, 3);
        const sim_epoch_change_t tries[3] = {{h, delta, index, leave}, {h, +1, -1, leave},
                                             {h, -1, -1, SIM_LEAVE_IDLE}};
        int t = 0;
        for (; t < 3; t++) {
            o->epochs[o->epoch_count++] = tries[t];
            if (!sim_epochs_problem(o)) break;
            o->epoch_count--;
        }
        if (t == 3) return;
        n += o->epochs[o->epoch_count - 1].delta;
        h = (h + k - 1) / k * k + 1 + PICK(st, 2 * k);
    }
}

void sim_opts_from_seed(uint64_t seed, sim_opts_t *o) {
    static const int sizes[5] = {4, 5, 7, 9, 10};
    static const uint32_t loss[4] = {0, 10, 50, 150}, dup[3] = {0, 20, 100};
    uint64_t st = seed * 0x2545f4914f6cdd1dULL + 1;
    sim_opts_quiet(seed, sizes[PICK(&st, 5)], o);
    int f = pbft_max_faulty(o->n);
    for (int k = (int)PICK(&st, f + 1); k > 0; k--) {
        int id = (int)PICK(&st, o->n);
        if (o->byz[id] == SIM_BYZ_NONE) o->byz[id] = (sim_byz_t)(1 + PICK(&st, SIM_BYZ_KINDS - 1));
    }
    for (int i = 0; i < o->n; i++) {
        o->twin_side[i] = (int)PICK(&st, 2);
        o->tick_period[i] = PICK(&st, 4) == 0 ? 2 + (uint32_t)PICK(&st, 2) : 1;
    }
    o->loss_permille = loss[PICK(&st, 4)];
    o->dup_permille = dup[PICK(&st, 3)];
    o->delay_max = 1 + (uint32_t)PICK(&st, 10);
    o->heal_delay_max = o->delay_max < 4 ? o->delay_max : 4;
    if (PICK(&st, 3) == 0) {
        o->slow_mask = 1u << PICK(&st, o->n);
        o->slow_extra = 2 + (uint32_t)PICK(&st, 8);
    }
    o->disk_delay_max = (uint32_t)PICK(&st, 4);
    o->prop_gap = 2 + (uint32_t)PICK(&st, 5);
    o->backlog = PICK(&st, 5) != 0;
    static const uint32_t ks[3] = {2, 4, 8};
    pbft_config_t *c = &o->core;
    c->checkpoint_interval = ks[PICK(&st, 3)];
    c->window = c->checkpoint_interval * (PICK(&st, 2) ? 4 : 2);
    c->pipeline_max = 1 + (uint32_t)PICK(&st, c->window < 6 ? c->window : 6);
    c->heartbeat_ticks = 3 + (uint32_t)PICK(&st, 3);
    c->view_timeout_ticks = 24 + 4 * o->heal_delay_max;
    c->view_timeout_max_ticks = 8 * c->view_timeout_ticks;
    o->fault_ticks = 150 + PICK(&st, 500);
    o->live_ticks = 6000;
    o->random_faults = 1;
    random_events(o, &st);
    random_epochs(o, &st);
}

void sim_describe(const sim_opts_t *o, char *buf, size_t len) {
    int off = snprintf(buf, len, "seed=%llu n=%d f=%d byz=[", (unsigned long long)o->seed, o->n,
                       pbft_max_faulty(o->n));
    const char *sep = "";
    for (int i = 0; i < o->n && off < (int)len; i++)
        if (o->byz[i] != SIM_BYZ_NONE) {
            off += snprintf(buf + off, len - off, "%sr%d:%s", sep, i, sim_byz_name(o->byz[i]));
            sep = ",";
        }
    if (off < (int)len)
        off += snprintf(buf + off, len - off,
                        "] loss=%u%% dup=%u%% delay=%u..%u K=%u L=%u pipeline=%u faults=%llu "
                        "events=%d backlog=%d",
                        o->loss_permille / 10, o->dup_permille / 10, o->delay_min, o->delay_max,
                        o->core.checkpoint_interval, o->core.window, o->core.pipeline_max,
                        (unsigned long long)o->fault_ticks, o->event_count, o->backlog);
    static const char *const leave_names[3] = {"", ":stale", ":byz"};
    for (int i = 0; i < o->epoch_count && off < (int)len; i++) { /* "epochs=+1@6,-1[2]:byz@14" */
        const sim_epoch_change_t *c = &o->epochs[i];
        char at[16] = "";
        if (c->delta != +1 && c->index >= 0) snprintf(at, sizeof at, "[%d]", c->index);
        off += snprintf(buf + off, len - off, "%s%+d%s%s@%llu", i ? "," : " epochs=", c->delta,
                        at, c->delta != +1 && c->leave <= SIM_LEAVE_BYZ ? leave_names[c->leave]
                                                                        : "",
                        (unsigned long long)c->height);
    }
}

/* ---------------------------------------------------------------- setup */
static pbft_t *core_pool[SIM_NODES_MAX]; /* reused across runs: no page faults per seed */
static pbft_commit_cert_t *cert_pool[SIM_NODES_MAX]; /* the same; read only below ledger */

static void node_setup(sim_t *s, int idx, uint16_t ident, sim_byz_t byz, int side) {
    sim_node_t *nd = &s->nodes[idx];
    nd->sim = s;
    nd->idx = idx;
    nd->ident = ident;
    nd->byz = byz;
    nd->side = side;
    if (!core_pool[idx]) core_pool[idx] = malloc(sizeof(pbft_t));
    nd->core = core_pool[idx];
    if (!cert_pool[idx]) cert_pool[idx] = malloc(SIM_HEIGHT_MAX * sizeof(pbft_commit_cert_t));
    nd->certs = cert_pool[idx];
    nd->ledger = calloc(SIM_HEIGHT_MAX, sizeof(qc_hash_t));
    nd->vals = malloc(SIM_VALS_MAX * sizeof *nd->vals);
    nd->disk.pending = malloc(SIM_PENDING_MAX * sizeof *nd->disk.pending);
    nd->future = malloc(SIM_FUTURE_MAX * sizeof *nd->future);
    QC_ASSERT(nd->core && nd->certs && nd->ledger && nd->vals && nd->disk.pending && nd->future);
    nd->ledger[0] = s->genesis;
    nd->cfg = s->o.core;
    nd->cfg.epoch.epoch = 0;
    nd->cfg.epoch.n = (uint16_t)s->n;
    nd->cfg.epoch.self = ident;
    nd->cfg.epoch.base_height = 0;
    nd->cfg.epoch.base_digest = s->genesis;
    nd->cfg.sign = sim_sign;
    nd->cfg.verify = sim_verify;
    nd->cfg.crypto_ctx = nd;
}

static void setup(sim_t *s) {
    s->n = s->o.n;
    s->f = pbft_max_faulty(s->n);
    s->q = pbft_quorum(s->n);
    s->rng = s->o.seed ^ 0x5deece66dULL;
    for (int i = 0; i < SIM_IDENT_MAX; i++) s->keys[i] = sim_rnd(s);
    for (int i = 0; i < 4; i++) {
        uint64_t w = sim_rnd(s);
        memcpy(s->genesis.b + 8 * i, &w, 8);
    }
    s->blocks = calloc(SIM_BLOCK_SLOTS, sizeof *s->blocks);
    s->truth = calloc(SIM_HEIGHT_MAX, sizeof *s->truth);
    s->truth_set = calloc(SIM_HEIGHT_MAX, sizeof *s->truth_set);
    QC_ASSERT(s->blocks && s->truth && s->truth_set);
    for (int i = 0; i < s->n; i++) {
        sim_byz_t b = s->o.byz[i];
        node_setup(s, i, (uint16_t)i, b, b == SIM_BYZ_TWIN ? 0 : s->o.twin_side[i]);
        s->forge |= b == SIM_BYZ_FORGE;
        s->nodes[i].exists = true;
    }
    s->node_count = s->n;
    for (int i = 0; i < s->n; i++)
        if (s->o.byz[i] == SIM_BYZ_TWIN) {
            node_setup(s, s->node_count, (uint16_t)i, SIM_BYZ_TWIN, 1);
            s->nodes[s->node_count++].exists = true;
        }
    sim_epochs_init(s);
    int fresh = s->n;
    for (int e = 1; e <= s->epoch_count; e++) /* each new identity (a joiner, a rotated key): */
        if (s->sched[e - 1].delta != -1) {   /* the next identity, a node that exists later */
            QC_ASSERT(s->node_count < SIM_NODES_MAX);
            s->joiner[e] = s->node_count;
            node_setup(s, s->node_count++, (uint16_t)fresh++, SIM_BYZ_NONE, 0);
        }
    sim_epochs_mark_leavers(s);
    for (int i = 0; i < s->node_count; i++) {
        sim_node_t *nd = &s->nodes[i];
        if (!nd->exists) continue;
        QC_ASSERT(pbft_init(nd->core, &nd->cfg) == QC_OK);
        pbft_set_backlog(nd->core, s->o.backlog);
        nd->up = true;
    }
}

static void teardown(sim_t *s) {
    sim_heap_free(s);
    for (int i = 0; i < s->node_count; i++) {
        sim_node_t *nd = &s->nodes[i];
        for (size_t k = 0; k < nd->future_count; k++) free(nd->future[k].blob);
        sim_disk_free(nd);
        free(nd->ledger);
        free(nd->vals);
        free(nd->disk.pending);
        free(nd->future);
    }
    free(s->blocks);
    free(s->truth);
    free(s->truth_set);
}

/* ---------------------------------------------------------------- faults */
static void trace_mask(sim_t *s, const char *what, uint32_t mask) {
    char buf[80];
    int off = 0;
    for (int i = 0; i < s->n && off < 70; i++)
        if ((mask >> i) & 1) off += snprintf(buf + off, sizeof buf - off, "%sr%d", off ? "," : "", i);
    buf[off] = 0;
    sim_trace(s, 1, "%s {%s}", what, buf);
}

static void apply_event(sim_t *s, const sim_event_spec_t *e) {
    uint32_t all = (1u << s->n) - 1;
    sim_node_t *nd = e->a >= 0 && e->a < s->node_count ? &s->nodes[e->a] : NULL;
    switch (e->kind) {
    case SIM_EV_CRASH: if (nd) sim_node_crash(s, nd); break;
    case SIM_EV_RESTART: if (nd) sim_node_restart(s, nd); break;
    case SIM_EV_PARTITION:
        for (int i = 0; i < s->n; i++)
            s->cut_in[i] |= ((e->mask >> i) & 1) ? (all & ~e->mask) : e->mask;
        trace_mask(s, "partition", e->mask);
        break;
    case SIM_EV_ONEWAY:
        for (int i = 0; i < s->n; i++)
            if ((e->mask >> i) & 1) s->cut_in[i] |= all & ~e->mask;
        trace_mask(s, "cannot receive", e->mask);
        break;
    case SIM_EV_HEAL:
        memset(s->cut_in, 0, sizeof s->cut_in);
        sim_trace(s, 1, "partitions healed");
        break;
    case SIM_EV_LINK:
        if (e->a >= 0 && e->a < SIM_IDENT_MAX && e->b < SIM_IDENT_MAX) {
            s->cut_in[e->a] &= ~(1u << e->b);
            s->cut_in[e->b] &= ~(1u << e->a);
            sim_trace(s, 1, "link r%d-r%llu up", e->a, (unsigned long long)e->b);
        }
        break;
    case SIM_EV_CRASH_PREPARED:
        if (nd) {
            nd->crash_prepared_h = e->b;
            nd->crash_prepared_down = e->c;
        }
        break;
    case SIM_EV_CRASH_AT_RECORD:
        if (nd) {
            nd->crash_rec_trigger = (int)e->b;
            nd->crash_rec_prefix = e->c;
            nd->crash_rec_restart = e->d;
        }
        break;
    }
}

/* Faults stop: the network heals and speeds up, every crashed replica restarts, and the
 * liveness clock starts. Byzantine replicas keep misbehaving (they are at most f). */
static void heal(sim_t *s) {
    s->healed = true;
    s->r->heal_time = s->now;
    memset(s->cut_in, 0, sizeof s->cut_in);
    s->o.loss_permille = s->o.dup_permille = 0;
    s->o.delay_max = s->o.heal_delay_max;
    if (s->o.delay_min > s->o.delay_max) s->o.delay_min = s->o.delay_max;
    s->o.slow_mask = 0;
    uint64_t top = 0;
    for (int i = 0; i < s->node_count; i++) {
        sim_node_t *nd = &s->nodes[i];
        nd->crash_prepared_h = 0;
        nd->crash_rec_trigger = 0;
        if (nd->exists && !nd->up) sim_node_restart(s, nd);
        if (nd->exists && sim_honest(nd) && nd->ledger_height > top) top = nd->ledger_height;
    }
    s->live_target = top + s->o.live_blocks;
    sim_trace(s, 1, "faults stop; every honest replica must reach h=%llu",
              (unsigned long long)s->live_target);
}

/* ---------------------------------------------------------------- run */
/* Held messages (pbft.h, send after persist): once its records are durable a vote must leave
 * within held_ticks_max of the replica's ticks, whether or not anything else happens. */
static void check_held(sim_t *s, sim_node_t *nd) {
    if (!nd->exists || !nd->up || !sim_honest(nd) || !s->o.held_ticks_max) return;
    const pbft_t *p = nd->core;
    if (p->held_count == 0 || p->held[0].needs_seq > p->persisted_seq) {
        nd->held_seen = false;
        return;
    }
    if (!nd->held_seen || nd->held_head_since != p->held[0].since_tick) {
        nd->held_seen = true; /* this head message is durable since now at the latest */
        nd->held_head_since = p->held[0].since_tick;
        nd->held_seen_at = p->now_ticks;
        return;
    }
    uint64_t age = p->now_ticks - nd->held_seen_at;
    if (age > s->o.held_ticks_max)
        sim_fail(s, "held: r%d has kept a durable %s for %llu ticks", nd->idx,
                 pbft_msg_type_name(p->held[0].msg.type), (unsigned long long)age);
}

/* What a node's host tells its core before each tick (pbft_set_links): the peers of its epoch
 * it can talk to both ways now, and whether it is fetching blocks (state transfer). */
static void sim_links(sim_t *s, sim_node_t *nd) {
    const pbft_t *p = nd->core;
    uint64_t epoch = pbft_epoch_number(p);
    uint16_t n = sim_epoch_n(s, epoch), up = 0;
    for (uint16_t i = 0; i < n; i++) {
        int j = sim_ident_at(s, epoch, i);
        if (j < 0 || j == nd->ident || nd->ident >= SIM_IDENT_MAX) continue;
        bool alive = false;
        for (int k = 0; k < s->node_count && !alive; k++)
            alive = s->nodes[k].ident == j && s->nodes[k].exists && s->nodes[k].up;
        if (alive && !((s->cut_in[nd->ident] >> j) & 1) && !((s->cut_in[j] >> nd->ident) & 1))
            up++;
    }
    pbft_set_links(nd->core, up, nd->xfer);
}

static void step_time(sim_t *s, int *next_event) {
    while (*next_event < s->o.event_count && s->o.events[*next_event].time <= s->now)
        apply_event(s, &s->o.events[(*next_event)++]);
    for (int i = 0; i < s->node_count; i++) {
        sim_node_t *nd = &s->nodes[i];
        if (nd->exists && !nd->up && nd->restart_at && nd->restart_at <= s->now)
            sim_node_restart(s, nd);
    }
    sim_ev_t ev;
    while (!s->failed && sim_heap_pop_due(s, &ev)) sim_deliver(s, &ev);
    for (int i = 0; i < s->node_count && !s->failed; i++) {
        sim_node_t *nd = &s->nodes[i];
        if (!nd->exists || !nd->up) continue;
        uint32_t period = s->o.tick_period[nd->ident] ? s->o.tick_period[nd->ident] : 1;
        if ((s->now + (uint64_t)nd->idx) % period == 0) {
            sim_links(s, nd);
            QC_ASSERT(pbft_tick(nd->core) == QC_OK);
            sim_drain(s, nd);
        }
        if (nd->byz != SIM_BYZ_NONE && nd->up) sim_byz_tick(s, nd);
        if (nd->leave == SIM_LEAVE_BYZ && nd->up) sim_epoch_attack(s, nd);
        sim_node_work(s, nd);
        check_held(s, nd);
    }
}

/* The end state of every replica, for a replay's trace: a stuck run shows where it stuck. */
static void dump_state(sim_t *s) {
    for (int i = 0; i < s->node_count && s->o.trace; i++) {
        const sim_node_t *nd = &s->nodes[i];
        if (!nd->exists) continue;
        const pbft_t *p = nd->core;
        sim_trace(s, 1, "end r%d %s%s h=%llu v=%llu %s stable=%llu", nd->idx,
                  sim_byz_name(nd->byz), nd->up ? "" : " (down)",
                  (unsigned long long)nd->ledger_height, (unsigned long long)pbft_view(p),
                  pbft_mode(p) == PBFT_MODE_VIEW_CHANGE ? "view-change" : "normal",
                  (unsigned long long)pbft_stable_height(p));
        for (uint64_t h = p->stable.height + 1; h <= p->stable.height + p->cfg.window; h++) {
            const pbft_slot_t *sl = &p->slots[h % p->cfg.window];
            if (sl->height != h) continue;
            char line[160];
            int off = snprintf(line, sizeof line, "  h=%llu pp=%d val=%d prep=%d/%d commit=%d",
                               (unsigned long long)h, sl->pp_valid, sl->validation,
                               sl->n_prepares, sl->prepared_now, sl->committed);
            for (uint16_t r = 0; r < p->ep.n && off < 150; r++)
                if (sl->commits[r].valid)
                    off += snprintf(line + off, sizeof line - off, " c%u@v%llu", r,
                                    (unsigned long long)sl->commits[r].view);
            sim_trace(s, 1, "%s", line);
        }
    }
}

static void collect(sim_t *s) {
    sim_result_t *r = s->r;
    r->n = s->n;
    r->f = s->f;
    r->ticks = s->now;
    r->min_height = UINT64_MAX;
    for (int i = 0; i < s->n; i++) r->byz_count += s->o.byz[i] != SIM_BYZ_NONE;
    for (int i = 0; i < s->node_count; i++) {
        const sim_node_t *nd = &s->nodes[i];
        if (!nd->exists) continue;
        const pbft_stats_t *st = pbft_stats(nd->core);
        if (pbft_view(nd->core) > r->view_max) r->view_max = pbft_view(nd->core);
        r->rx_bad_sig += st->rx_bad_sig;
        r->rx_bad_view_change += st->rx_bad_view_change;
        r->rx_bad_new_view += st->rx_bad_new_view;
        r->rx_conflict += st->rx_conflict;
        r->invalid_proposals += st->invalid_proposals;
        if (nd->ident < SIM_IDENT_MAX) {
            r->commit_vote_time[nd->ident] = nd->commit_vote_time;
            r->view_max_of[nd->ident] = nd->view_max;
            r->vc_views_of[nd->ident] = nd->vc_views_mask;
            r->epoch_of[nd->ident] = pbft_epoch_number(nd->core);
        }
        if (!sim_honest(nd)) continue;
        if (st->held_max_ticks > r->held_max_ticks) r->held_max_ticks = st->held_max_ticks;
        r->view_changes += st->view_changes;
        r->new_views += st->new_views;
        r->transfers += st->transfers;
        r->checkpoints += st->checkpoints;
        r->gc_slots += st->gc_slots;
        r->finals_sent += st->finals_sent;
        r->old_certs_sent += st->old_certs_sent;
        if (nd->ledger_height < r->min_height && !sim_epoch_removed(s, nd))
            r->min_height = nd->ledger_height; /* a replica that left stopped there */
        if (nd->ledger_height > r->max_height) r->max_height = nd->ledger_height;
    }
    if (r->min_height == UINT64_MAX) r->min_height = 0;
}

int sim_run(const sim_opts_t *o, sim_result_t *r) {
    QC_ASSERT(o->n >= 4 && o->n <= SIM_IDENT_MAX - 1 && o->n <= PBFT_N_MAX);
    const char *bad_epochs = sim_epochs_problem(o);
    if (bad_epochs) fprintf(stderr, "sim_run: epochs: %s\n", bad_epochs);
    QC_ASSERT(bad_epochs == NULL);
    sim_t *s = calloc(1, sizeof *s);
    QC_ASSERT(s != NULL);
    memset(r, 0, sizeof *r);
    s->o = *o;
    s->r = r;
    setup(s);
    if (o->trace) {
        char d[400];
        sim_describe(o, d, sizeof d);
        sim_trace(s, 1, "%s", d);
    }
    int next_event = 0;
    uint64_t end = o->fault_ticks + o->live_ticks;
    for (s->now = 0; s->now <= end && !s->failed; s->now++) {
        if (s->now == o->fault_ticks) heal(s);
        step_time(s, &next_event);
        if (s->healed && !s->failed && sim_check_liveness(s, s->now == end)) break;
        bool full = false;
        for (int i = 0; i < s->node_count; i++)
            full |= s->nodes[i].ledger_height + 2 * PBFT_WINDOW_MAX >= SIM_HEIGHT_MAX;
        if (full) break;
    }
    dump_state(s);
    collect(s);
    r->ok = !s->failed;
    if (r->ok) r->failure[0] = 0;
    teardown(s);
    free(s);
    return r->ok ? 0 : -1;
}

static void sweep_count(sim_sweep_t *st, const sim_opts_t *o, const sim_result_t *r) {
    st->seeds++;
    st->by_n[o->n]++;
    for (int i = 0; i < o->n; i++) st->by_byz[o->byz[i]]++;
    for (int e = 0; e < o->event_count; e++)
        st->partitions += o->events[e].kind == SIM_EV_PARTITION || o->events[e].kind == SIM_EV_ONEWAY;
    st->lossy += o->loss_permille > 0;
    st->blocks += r->max_height;
    st->view_changes += r->view_changes;
    st->transfers += r->transfers;
    st->crashes += r->crashes;
    st->bad_sig += r->rx_bad_sig;
    st->bad_view_change += r->rx_bad_view_change;
    st->bad_new_view += r->rx_bad_new_view;
    st->record_crashes += r->record_crashes;
    st->adaptive_attacks += r->adaptive_attacks;
    if (r->held_max_ticks > st->held_max_ticks) st->held_max_ticks = r->held_max_ticks;
    st->epoch_grows += r->epoch_grows;
    st->epoch_shrinks += r->epoch_shrinks;
    st->xfer_deciding += r->xfer_deciding;
    st->xfer_lies += r->xfer_lies;
    st->xfer_refused += r->xfer_refused;
    st->epoch_catch_ups += r->epoch_catch_ups;
    st->epoch_rotations += r->epoch_rotations;
    st->removed_msgs += r->removed_msgs;
    if (o->epoch_count > 0) {
        bool part = false, crash = false;
        for (int e = 0; e < o->event_count; e++) {
            sim_ev_kind_t k = o->events[e].kind;
            part |= k == SIM_EV_PARTITION || k == SIM_EV_ONEWAY;
            crash |= k == SIM_EV_CRASH || k == SIM_EV_CRASH_AT_RECORD || k == SIM_EV_CRASH_PREPARED;
        }
        st->epoch_seeds++;
        st->epoch_faults[0] += part;
        st->epoch_faults[1] += crash;
        st->epoch_faults[2] += r->byz_count > 0;
    }
}

uint64_t sim_sweep(uint64_t from, uint64_t count, FILE *out, sim_sweep_t *st) {
    memset(st, 0, sizeof *st);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t seed = from; seed < from + count; seed++) {
        sim_opts_t o;
        sim_result_t r;
        sim_opts_from_seed(seed, &o);
        if (sim_run(&o, &r) != 0) {
            st->failed++;
            fprintf(out, "FAIL %s\n  replay: make sim SEED=%llu\n", r.failure,
                    (unsigned long long)seed);
        }
        sweep_count(st, &o, &r);
        if ((seed - from + 1) % 10000 == 0) {
            fprintf(out, "... %llu seeds, %llu failed\n", (unsigned long long)(seed - from + 1),
                    (unsigned long long)st->failed);
            fflush(out);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    st->secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(out, "pbft sim: %llu seeds (%llu..%llu) in %.1f s, %llu failed; n=4:%llu 5:%llu "
            "7:%llu 9:%llu 10:%llu; %llu blocks, %llu view changes, %llu transfers, %llu "
            "crashes (%llu inside an outbox), %llu partitions; %llu adaptive attacks; dropped "
            "%llu bad signatures, %llu bad VIEW-CHANGEs, %llu bad NEW-VIEWs; longest held vote "
            "%llu ticks", (unsigned long long)count, (unsigned long long)from,
            (unsigned long long)(from + count - 1), st->secs, (unsigned long long)st->failed,
            (unsigned long long)st->by_n[4], (unsigned long long)st->by_n[5],
            (unsigned long long)st->by_n[7], (unsigned long long)st->by_n[9],
            (unsigned long long)st->by_n[10], (unsigned long long)st->blocks,
            (unsigned long long)st->view_changes, (unsigned long long)st->transfers,
            (unsigned long long)st->crashes, (unsigned long long)st->record_crashes,
            (unsigned long long)st->partitions, (unsigned long long)st->adaptive_attacks,
            (unsigned long long)st->bad_sig, (unsigned long long)st->bad_view_change,
            (unsigned long long)st->bad_new_view, (unsigned long long)st->held_max_ticks);
    fprintf(out, "; epochs: %llu seeds (%llu with a partition, %llu with a crash, %llu with a "
            "Byzantine replica), %llu grown, %llu shrunk, %llu rotated, %llu decided inside a "
            "transfer, %llu catch-ups, %llu votes of removed identities refused; transfers: "
            "%llu Byzantine batches, %llu refused\n",
            (unsigned long long)st->epoch_seeds, (unsigned long long)st->epoch_faults[0],
            (unsigned long long)st->epoch_faults[1], (unsigned long long)st->epoch_faults[2],
            (unsigned long long)st->epoch_grows, (unsigned long long)st->epoch_shrinks,
            (unsigned long long)st->epoch_rotations, (unsigned long long)st->xfer_deciding,
            (unsigned long long)st->epoch_catch_ups, (unsigned long long)st->removed_msgs,
            (unsigned long long)st->xfer_lies, (unsigned long long)st->xfer_refused);
    return st->failed;
}
