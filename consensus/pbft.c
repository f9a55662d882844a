/* pbft.c - the PBFT core's normal case (OSDI §4.2), checkpoints and garbage collection
 * (OSDI §4.3), in-order execution, state transfer requests, epochs, the outbox and the
 * persistence rule. View changes live in pbft_view.c, restart in pbft_restore.c. */
#include "pbft_internal.h"

/* ---------------------------------------------------------------- configuration */
void pbft_config_default(pbft_config_t *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->checkpoint_interval = 8;
    cfg->window = 16;
    cfg->pipeline_max = 4;
    cfg->heartbeat_ticks = 5;
    cfg->view_timeout_ticks = 20;
    cfg->view_timeout_max_ticks = 320;
}

const char *pbft_config_problem(const pbft_config_t *cfg) {
    const pbft_epoch_t *e = &cfg->epoch;
    if (e->n < 1 || e->n > PBFT_N_MAX) return "epoch.n must be 1..PBFT_N_MAX";
    if (e->self >= e->n && e->self != PBFT_NOT_MEMBER) return "epoch.self out of range";
    if (cfg->checkpoint_interval < 1) return "checkpoint_interval must be >= 1";
    if (cfg->window > PBFT_WINDOW_MAX || cfg->window < 2 * cfg->checkpoint_interval ||
        cfg->window % cfg->checkpoint_interval != 0)
        return "window must be a multiple of K, 2K <= window <= PBFT_WINDOW_MAX";
    if (cfg->pipeline_max < 1 || cfg->pipeline_max > cfg->window)
        return "pipeline_max must be 1..window";
    if (cfg->heartbeat_ticks < 1) return "heartbeat_ticks must be >= 1";
    if (cfg->view_timeout_ticks < 2 || cfg->view_timeout_max_ticks < cfg->view_timeout_ticks)
        return "view timeouts: 2 <= view_timeout_ticks <= view_timeout_max_ticks";
    if (!cfg->sign || !cfg->verify) return "sign and verify callbacks are required";
    return NULL;
}

int pbft_config_check(const pbft_config_t *cfg) {
    return pbft_config_problem(cfg) ? QC_ERR_INVALID : QC_OK;
}

/* Installs an epoch: its base checkpoint is stable and executed, view 0, empty log. Keeps the
 * statistics and the held messages (they carry their own epoch); drops the early messages,
 * which were kept for a view of the old epoch and must not be replayed in the new one's. */
void pbft_install_epoch(pbft_t *p, const pbft_epoch_t *ep) {
    p->ep = *ep;
    p->f = pbft_max_faulty(ep->n);
    p->q = pbft_quorum(ep->n);
    p->mode = ep->self == PBFT_NOT_MEMBER ? PBFT_MODE_IDLE : PBFT_MODE_NORMAL;
    p->view = 0;
    p->vc_attempts = 0;
    p->idle_ticks = p->resend_ticks = p->hb_ticks = 0;
    p->vc_quorum = false;
    memset(&p->stable, 0, sizeof p->stable);
    p->stable.height = ep->base_height;
    p->stable.digest = ep->base_digest;
    p->exec_height = p->applied_height = ep->base_height;
    p->exec_digest = ep->base_digest;
    p->propose_next = ep->base_height + 1;
    p->transferring = false;
    p->next_epoch_set = false;
    memset(p->slots, 0, sizeof p->slots);
    memset(p->ckpt_votes, 0, sizeof p->ckpt_votes);
    memset(p->vc_valid, 0, sizeof p->vc_valid);
    memset(p->vc_views, 0, sizeof p->vc_views);
    p->own_nv_valid = false;
    memset(p->nv_reply_tick, 0, sizeof p->nv_reply_tick); /* indices are the new epoch's */
    p->early_count = 0; /* early messages are of the old epoch's views (seed 622572) */
}

int pbft_init(pbft_t *p, const pbft_config_t *cfg) {
    if (pbft_config_check(cfg) != QC_OK) return QC_ERR_INVALID;
    memset(p, 0, offsetof(pbft_t, vcs));
    p->cfg = *cfg;
    p->peers_up = PBFT_N_MAX;
    pbft_install_epoch(p, &cfg->epoch);
    return QC_OK;
}

static int drop(uint64_t *counter, int rc) {
    (*counter)++;
    return rc;
}

/* ---------------------------------------------------------------- crypto, outbox */
void pbft_sign(pbft_t *p, const pbft_stmt_t *st, qc_sig_t *sig) {
    QC_ASSERT(st->replica == p->ep.self);
    p->stats.sig_signs++;
    p->cfg.sign(p->cfg.crypto_ctx, st, sig);
}

bool pbft_verify(pbft_t *p, const pbft_stmt_t *st, const qc_sig_t *sig) {
    return pbft_verify_counted(p->cfg.verify, p->cfg.crypto_ctx, &p->stats.sig_verifies, st,
                               sig);
}

void pbft_msg_init(const pbft_t *p, pbft_msg_t *m, int type, uint16_t to) {
    memset(m, 0, sizeof *m);
    m->type = (pbft_msg_type_t)type;
    m->from = p->ep.self;
    m->to = to;
    m->epoch = p->ep.epoch;
    m->view = p->view;
}

pbft_msg_t *pbft_out_msg(pbft_t *p, int type, uint16_t to) {
    QC_ASSERT(p->out_msg_count < PBFT_OUT_MSGS_MAX);
    pbft_msg_t *m = &p->out_msgs[p->out_msg_count++];
    pbft_msg_init(p, m, type, to);
    p->stats.msgs_out++;
    return m;
}

static void sign_msg(pbft_t *p, pbft_msg_t *m) {
    pbft_stmt_t st;
    pbft_msg_stmt(m, &st);
    pbft_sign(p, &st, &m->sig);
}

/* A released vote also counts for this replica itself: only votes that are durable count,
 * so a commit this replica outputs never rests on a vote it could forget. */
static void release(pbft_t *p, pbft_msg_t *m) {
    bool drop = false;
    pbft_finalize_held(p, m, &drop);
    if (drop) return;
    QC_ASSERT(p->out_msg_count < PBFT_OUT_MSGS_MAX);
    p->out_msgs[p->out_msg_count++] = *m;
    p->stats.msgs_out++;
    bool counts = m->epoch == p->ep.epoch &&
                  ((m->type == PBFT_MSG_PREPARE && m->view == p->view &&
                    p->mode == PBFT_MODE_NORMAL) ||
                   (m->type == PBFT_MSG_COMMIT && m->view <= p->view));
    pbft_slot_t *s = counts ? pbft_slot(p, m->height) : NULL;
    if (s) (void)pbft_count_vote(p, s, m->type, p->ep.self, m);
}

void pbft_hold_msg(pbft_t *p, const pbft_msg_t *m) {
    if (p->held_count == 0 && p->persisted_seq >= p->persist_seq) {
        pbft_msg_t copy = *m;
        release(p, &copy);
        return;
    }
    QC_ASSERT(p->held_count < PBFT_HELD_MAX);
    pbft_held_t *h = &p->held[p->held_count++];
    h->needs_seq = p->persist_seq;
    h->since_tick = p->now_ticks;
    h->msg = *m;
}

/* Releases held messages whose records are durable, in order, while the outbox has room for
 * an input's worth of output behind them (half of it). Called by pbft_persisted and at the
 * start of every tick, so a vote held back by a full outbox leaves on the next tick at the
 * latest even when no new record is ever written (docs/CONSENSUS.md §4, held messages). */
static void release_durable(pbft_t *p) {
    size_t done = 0;
    while (done < p->held_count && p->held[done].needs_seq <= p->persisted_seq &&
           p->out_msg_count < PBFT_OUT_MSGS_MAX / 2) {
        uint64_t age = p->now_ticks - p->held[done].since_tick;
        if (age > p->stats.held_max_ticks) p->stats.held_max_ticks = age;
        release(p, &p->held[done].msg);
        done++;
    }
    memmove(p->held, p->held + done, (p->held_count - done) * sizeof p->held[0]);
    p->held_count -= done;
}

pbft_persist_t *pbft_persist_new(pbft_t *p, pbft_rec_kind_t kind) {
    QC_ASSERT(p->out_persist_count < PBFT_OUT_PERSIST_MAX);
    pbft_persist_t *r = &p->out_persist[p->out_persist_count++];
    memset(r, 0, sizeof *r);
    r->seq = ++p->persist_seq;
    r->kind = kind;
    r->epoch = p->ep.epoch;
    return r;
}

void pbft_persist_view(pbft_t *p) {
    pbft_persist_t *r = pbft_persist_new(p, PBFT_REC_VIEW);
    r->view.view = p->view;
    r->view.in_view_change = p->mode == PBFT_MODE_VIEW_CHANGE;
}

void pbft_persist_slot(pbft_t *p, const pbft_slot_t *s) {
    pbft_persist_t *r = pbft_persist_new(p, PBFT_REC_SLOT);
    pbft_slot_rec_t *sr = &r->slot;
    sr->height = s->height;
    sr->vote = s->vote;
    sr->has_prepared = s->has_prepared;
    if (s->has_prepared) sr->prepared = s->prepared;
}

static bool outbox_busy(const pbft_t *p) {
    return p->out_msg_count > PBFT_OUT_MSGS_MAX / 2 ||
           p->out_persist_count > PBFT_OUT_PERSIST_MAX / 2 ||
           p->out_commit_count > PBFT_OUT_COMMITS_MAX / 2 ||
           p->out_validate_count > PBFT_OUT_VALIDATES_MAX / 2 || p->held_count > PBFT_HELD_MAX / 2;
}

void pbft_outbox(const pbft_t *p, pbft_outbox_t *out) {
    memset(out, 0, sizeof *out);
    out->msgs = p->out_msgs;
    out->msg_count = p->out_msg_count;
    out->persist = p->out_persist;
    out->persist_count = p->out_persist_count;
    out->commits = p->out_commits;
    out->commit_count = p->out_commit_count;
    out->validates = p->out_validates;
    out->validate_count = p->out_validate_count;
    out->fetch = p->out_fetch ? &p->fetch : NULL;
    out->epoch_switch = p->out_epoch ? &p->out_epoch_switch : NULL;
}

void pbft_outbox_clear(pbft_t *p) {
    p->out_msg_count = p->out_persist_count = p->out_commit_count = p->out_validate_count = 0;
    p->out_fetch = p->out_epoch = false;
}

int pbft_persisted(pbft_t *p, uint64_t seq) {
    if (seq > p->persist_seq) return QC_ERR_INVALID;
    if (seq > p->persisted_seq) p->persisted_seq = seq;
    release_durable(p);
    pbft_advance(p);
    return QC_OK;
}

/* ---------------------------------------------------------------- slots */
bool pbft_in_window(const pbft_t *p, uint64_t height) {
    return height > p->stable.height && height <= p->stable.height + p->cfg.window;
}

/* The slot of height if it holds state for it, without creating it. */
pbft_slot_t *pbft_slot_peek(const pbft_t *p, uint64_t height) {
    if (!pbft_in_window(p, height)) return NULL;
    pbft_slot_t *s = (pbft_slot_t *)&p->slots[height % p->cfg.window];
    return s->height == height ? s : NULL;
}

pbft_slot_t *pbft_slot(pbft_t *p, uint64_t height) {
    if (!pbft_in_window(p, height)) return NULL;
    pbft_slot_t *s = &p->slots[height % p->cfg.window];
    if (s->height != height) {
        memset(s, 0, sizeof *s);
        s->height = height;
    }
    return s;
}

void pbft_slot_reset_view(pbft_slot_t *s) {
    s->pp_valid = s->pp_from_new_view = false;
    s->validation = VALIDATION_NONE;
    s->prepared_now = s->commit_sent = false;
    s->n_prepares = 0;
    memset(s->prepares, 0, sizeof s->prepares);
    /* COMMITs stay: q of them from one view prove the block committed, whatever view this
     * replica is in now. */
}

/* The digest of the block at height as far as this replica knows: committed, the stable
 * checkpoint, or the PRE-PREPARE accepted in the current view. */
static bool digest_at(const pbft_t *p, uint64_t height, qc_hash_t *out) {
    if (height == p->exec_height) { *out = p->exec_digest; return true; }
    if (height == p->stable.height) { *out = p->stable.digest; return true; }
    const pbft_slot_t *s = pbft_slot_peek(p, height);
    if (!s) return false;
    if (s->committed) { *out = s->cert.digest; return true; }
    if (s->pp_valid) { *out = s->digest; return true; }
    return false;
}

bool pbft_digest_at(pbft_t *p, uint64_t height, qc_hash_t *out) {
    return digest_at(p, height, out);
}

uint64_t pbft_timeout(const pbft_t *p) {
    uint32_t shift = p->vc_attempts > 16 ? 16 : p->vc_attempts;
    uint64_t t = (uint64_t)p->cfg.view_timeout_ticks << shift;
    return t > p->cfg.view_timeout_max_ticks ? p->cfg.view_timeout_max_ticks : t;
}

/* ---------------------------------------------------------------- votes */
/* Records replica from's PREPARE or COMMIT for slot s. One PREPARE per replica per slot in the
 * current view; one COMMIT per replica and view, a later view's replacing an earlier one. A
 * second, different vote in one view is equivocation and is dropped. */
int pbft_count_vote(pbft_t *p, pbft_slot_t *s, int type, uint16_t from, const pbft_msg_t *m) {
    bool prep = type == PBFT_MSG_PREPARE;
    pbft_vote_t *v = prep ? &s->prepares[from] : &s->commits[from];
    if (v->valid && v->view > m->view) return drop(&p->stats.rx_stale, QC_ERR_STATE);
    if (v->valid && v->view == m->view) {
        bool same = hash_eq(&v->digest, &m->digest) && (!prep || hash_eq(&v->parent, &m->parent));
        return same ? drop(&p->stats.rx_duplicate, QC_ERR_DUPLICATE)
                    : drop(&p->stats.rx_conflict, QC_ERR_INVALID);
    }
    if (!v->valid) {
        if (prep) s->n_prepares++;
        else s->n_commits++;
    }
    v->valid = true;
    v->view = m->view;
    v->digest = m->digest;
    v->parent = m->parent;
    v->sig = m->sig;
    return QC_OK;
}

/* Makes the accepted PRE-PREPARE of s this replica's vote for the current view, durably. */
void pbft_record_vote(pbft_t *p, pbft_slot_t *s) {
    s->vote = (pbft_own_vote_t){.voted = true, .view = p->view, .digest = s->digest,
                                .parent = s->parent, .pp_sig = s->pp_sig};
    pbft_persist_slot(p, s);
}

void pbft_send_prepare(pbft_t *p, pbft_slot_t *s) {
    if (is_primary(p)) return; /* the primary's PRE-PREPARE is its vote (OSDI §4.2) */
    if (s->vote.voted && s->vote.view == p->view) {
        /* Never two different votes for one height in one view, even after a restart. The
         * same vote again is harmless, and needed when the view's NEW-VIEW is re-entered
         * after a crash that kept the vote but not VIEW(v, normal). */
        if (!hash_eq(&s->vote.digest, &s->digest) || !hash_eq(&s->vote.parent, &s->parent)) {
            p->stats.rx_conflict++;
            return;
        }
    } else {
        pbft_record_vote(p, s);
    }
    pbft_msg_t m;
    pbft_msg_init(p, &m, PBFT_MSG_PREPARE, PBFT_BROADCAST);
    m.height = s->height;
    m.digest = s->digest;
    m.parent = s->parent;
    sign_msg(p, &m);
    pbft_hold_msg(p, &m);
}

/* Asks the application to validate accepted PRE-PREPAREs in height order once the block they
 * extend is known: a block must extend the digest this replica has at height-1. */
static void request_validations(pbft_t *p) {
    for (uint64_t h = p->stable.height + 1; h <= p->stable.height + p->cfg.window; h++) {
        pbft_slot_t *s = pbft_slot_peek(p, h);
        if (!s || !s->pp_valid || s->validation != VALIDATION_NONE) continue;
        qc_hash_t parent;
        if (!digest_at(p, h - 1, &parent)) continue;
        if (!hash_eq(&parent, &s->parent)) {
            s->validation = VALIDATION_BAD; /* does not extend our chain: no vote */
            p->stats.rx_conflict++;
            continue;
        }
        if (s->pp_from_new_view) {
            s->validation = VALIDATION_OK; /* prepared at a quorum before: already valid */
            pbft_send_prepare(p, s);
            continue;
        }
        QC_ASSERT(p->out_validate_count < PBFT_OUT_VALIDATES_MAX);
        pbft_validate_t *v = &p->out_validates[p->out_validate_count++];
        v->view = p->view;
        v->height = h;
        v->digest = s->digest;
        v->parent = s->parent;
        s->validation = VALIDATION_REQUESTED;
    }
}

/* Prepared (OSDI §4.2): the PRE-PREPARE plus q-1 matching PREPAREs of distinct backups. */
static void check_prepared(pbft_t *p, pbft_slot_t *s) {
    if (!s->pp_valid || s->validation != VALIDATION_OK || s->prepared_now) return;
    if (s->n_prepares < p->q - 1) return;
    uint16_t primary = primary_of(p, p->view);
    int matching = 0;
    for (uint16_t i = 0; i < p->ep.n; i++) {
        const pbft_vote_t *v = &s->prepares[i];
        if (i != primary && v->valid && hash_eq(&v->digest, &s->digest) &&
            hash_eq(&v->parent, &s->parent))
            matching++;
    }
    if (matching < p->q - 1) return;
    pbft_prepared_cert_t *c = &s->prepared;
    memset(c, 0, sizeof *c);
    c->view = p->view;
    c->height = s->height;
    c->digest = s->digest;
    c->parent = s->parent;
    int others = 0;
    for (uint16_t i = 0; i < p->ep.n && c->count < p->q; i++) {
        const pbft_vote_t *v = &s->prepares[i];
        if (i == primary) {
            c->sigs[c->count++] = (pbft_vote_sig_t){.replica = i, .sig = s->pp_sig};
        } else if (others < p->q - 1 && v->valid && hash_eq(&v->digest, &s->digest) &&
                   hash_eq(&v->parent, &s->parent)) {
            c->sigs[c->count++] = (pbft_vote_sig_t){.replica = i, .sig = v->sig};
            others++;
        }
    }
    QC_ASSERT(c->count == p->q);
    s->has_prepared = s->prepared_now = true;
    pbft_persist_slot(p, s); /* the COMMIT below waits for this record */
}

/* COMMITs go out in height order: a replica commits to height h only when every height
 * between its stable checkpoint and h is prepared in this view or already committed. Then a
 * committed block's ancestors all appear in any later NEW-VIEW (docs/CONSENSUS.md, chained
 * commits). Executed heights still get a COMMIT: a re-proposal in a new view needs its vote. */
static void send_commits(pbft_t *p) {
    for (uint64_t h = p->stable.height + 1; h <= p->stable.height + p->cfg.window; h++) {
        pbft_slot_t *s = pbft_slot_peek(p, h);
        bool done = h <= p->exec_height || (s && s->committed);
        if (!s || !s->prepared_now) {
            if (done) continue;
            break;
        }
        if (s->commit_sent) continue;
        s->commit_sent = true;
        pbft_msg_t m;
        pbft_msg_init(p, &m, PBFT_MSG_COMMIT, PBFT_BROADCAST);
        m.height = h;
        m.digest = s->digest;
        sign_msg(p, &m);
        pbft_hold_msg(p, &m);
    }
}

/* Committed (OSDI §4.2): q matching COMMITs of one view. The certificate alone proves it, so a
 * replica that missed the PRE-PREPARE still learns the block. */
/* s->cert is complete: the block is committed. Its parent is known when this replica saw the
 * block's PRE-PREPARE or prepared it, else zero (the block body names it). */
static void mark_committed(pbft_slot_t *s) {
    s->committed = true;
    memset(&s->committed_parent, 0, sizeof s->committed_parent);
    if (s->pp_valid && hash_eq(&s->digest, &s->cert.digest)) s->committed_parent = s->parent;
    else if (s->has_prepared && hash_eq(&s->prepared.digest, &s->cert.digest))
        s->committed_parent = s->prepared.parent;
}

/* A block committed in the current view proves the view live, even when this replica cannot
 * execute it yet (it lacks a block below, which a checkpoint will bring): its view timer
 * restarts, so a lagging replica does not blame a working primary and wander off alone into a
 * view nobody else joins. */
static void committed_in_view(pbft_t *p, const pbft_slot_t *s) {
    if (p->mode == PBFT_MODE_NORMAL && s->cert.view == p->view) p->idle_ticks = 0;
}

static bool same_commit(const pbft_vote_t *a, const pbft_vote_t *b) {
    return a->valid && b->valid && a->view == b->view && hash_eq(&a->digest, &b->digest);
}

static void check_committed(pbft_t *p, pbft_slot_t *s) {
    if (s->committed || s->n_commits < p->q) return;
    for (uint16_t i = 0; i < p->ep.n; i++) {
        const pbft_vote_t *v = &s->commits[i];
        int same = 0;
        for (uint16_t j = 0; j < p->ep.n; j++) same += same_commit(v, &s->commits[j]);
        if (same < p->q) continue;
        pbft_commit_cert_t *c = &s->cert;
        memset(c, 0, sizeof *c);
        c->epoch = p->ep.epoch;
        c->height = s->height;
        c->view = v->view;
        c->digest = v->digest;
        for (uint16_t j = 0; j < p->ep.n && c->count < p->q; j++)
            if (same_commit(v, &s->commits[j]))
                c->sigs[c->count++] = (pbft_vote_sig_t){.replica = j, .sig = s->commits[j].sig};
        mark_committed(s);
        committed_in_view(p, s);
        return;
    }
}

/* Executes committed heights strictly in order (OSDI §4.2). Stops at a checkpoint height the
 * application has not acknowledged yet: the checkpoint, and an epoch switch decided by the
 * blocks before it, must be settled before anything above it is output. */
static bool execute(pbft_t *p) {
    bool progress = false;
    while (p->exec_height >= p->stable.height) {
        if (p->exec_height % p->cfg.checkpoint_interval == 0 &&
            p->applied_height < p->exec_height)
            break;
        pbft_slot_t *s = pbft_slot_peek(p, p->exec_height + 1);
        if (!s || !s->committed) break;
        QC_ASSERT(p->out_commit_count < PBFT_OUT_COMMITS_MAX);
        pbft_committed_t *c = &p->out_commits[p->out_commit_count++];
        c->cert = s->cert;
        c->parent = s->committed_parent;
        p->exec_height = s->height;
        p->exec_digest = s->cert.digest;
        p->stats.committed++;
        progress = true;
    }
    if (progress) {
        p->idle_ticks = 0;  /* progress: the view timer restarts ... */
        p->vc_attempts = 0; /* ... at its base value (OSDI §4.5.2) */
        if (p->propose_next <= p->exec_height) p->propose_next = p->exec_height + 1;
    }
    return progress;
}

/* Runs every rule that may have become true, in dependency order; bounded passes over the
 * window because executing a height can let the next height's validation start. */
void pbft_advance(pbft_t *p) {
    if (p->mode == PBFT_MODE_IDLE) return;
    for (int pass = 0; pass < 4; pass++) {
        if (p->mode == PBFT_MODE_NORMAL) {
            request_validations(p);
            for (uint64_t h = p->stable.height + 1; h <= p->stable.height + p->cfg.window; h++) {
                pbft_slot_t *s = pbft_slot_peek(p, h);
                if (s) check_prepared(p, s);
            }
        }
        for (uint64_t h = p->stable.height + 1; h <= p->stable.height + p->cfg.window; h++) {
            pbft_slot_t *s = pbft_slot_peek(p, h);
            if (s) check_committed(p, s);
        }
        if (p->mode == PBFT_MODE_NORMAL) send_commits(p);
        if (!execute(p)) break;
    }
}

/* ---------------------------------------------------------------- normal-case messages */
static bool pending_work(const pbft_t *p) {
    if (p->backlog) return true;
    for (uint64_t h = p->exec_height + 1; h <= p->stable.height + p->cfg.window; h++) {
        const pbft_slot_t *s = pbft_slot_peek(p, h);
        if (s && s->pp_valid) return true;
    }
    return false;
}

/* A sign of life from the primary resets the view timer only while nothing waits on it. */
static void primary_heard(pbft_t *p) {
    if (!pending_work(p)) p->idle_ticks = 0;
}

/* A PRE-PREPARE or PREPARE of the view this replica is about to enter (it waits for that
 * view's NEW-VIEW, or the next view's NEW-VIEW may still be on its way) is kept, signature
 * checked and within a per-sender quota, and replayed on entering the view: otherwise the new
 * primary's first proposals, which can overtake its NEW-VIEW, would be lost for good. */
static bool keep_early(pbft_t *p, const pbft_msg_t *m) {
    bool next = (p->mode == PBFT_MODE_VIEW_CHANGE && m->view == p->view) ||
                (p->mode == PBFT_MODE_NORMAL && m->view == p->view + 1);
    if (!next || (m->type != PBFT_MSG_PREPREPARE && m->type != PBFT_MSG_PREPARE)) return false;
    size_t quota = PBFT_EARLY_MAX / p->ep.n > 8 ? PBFT_EARLY_MAX / p->ep.n : 8, mine = 0;
    for (size_t i = 0; i < p->early_count; i++) mine += p->early[i].from == m->from;
    if (mine >= quota || p->early_count >= PBFT_EARLY_MAX) return false;
    pbft_stmt_t st;
    pbft_msg_stmt(m, &st);
    if (!pbft_verify(p, &st, &m->sig)) return false;
    p->early[p->early_count++] = *m;
    p->stats.rx_early++;
    return true;
}

/* A signed message of a later view shows its sender is there. f+1 such senders include an
 * honest one, so the join rule (OSDI §4.5.2) applies to them as to VIEW-CHANGEs: a replica
 * that restarted, or missed a view change, joins; the VIEW-CHANGE it then sends for the
 * current view makes that view's primary send it the NEW-VIEW again. */
static void note_later_view(pbft_t *p, const pbft_msg_t *m) {
    if (m->view <= p->view || m->view <= p->vc_views[m->from]) return;
    pbft_stmt_t st;
    pbft_msg_stmt(m, &st);
    if (!pbft_verify(p, &st, &m->sig)) return;
    p->vc_views[m->from] = m->view;
    pbft_check_join(p);
}

static int check_view(pbft_t *p, const pbft_msg_t *m) {
    if (p->mode == PBFT_MODE_NORMAL && m->view == p->view) return QC_OK;
    note_later_view(p, m);
    if (keep_early(p, m))
        return QC_ERR_DUPLICATE; /* held, not dropped: the caller reports QC_OK */
    return drop(&p->stats.rx_stale, QC_ERR_STATE);
}

static int on_preprepare(pbft_t *p, const pbft_msg_t *m) {
    int rc = check_view(p, m);
    if (rc != QC_OK) return rc == QC_ERR_DUPLICATE ? QC_OK : rc;
    if (m->from != primary_of(p, m->view)) return drop(&p->stats.rx_malformed, QC_ERR_INVALID);
    if (!pbft_in_window(p, m->height)) return drop(&p->stats.rx_out_of_window, QC_ERR_STATE);
    pbft_stmt_t st;
    pbft_msg_stmt(m, &st);
    if (!pbft_verify(p, &st, &m->sig)) return drop(&p->stats.rx_bad_sig, QC_ERR_SIGNATURE);
    pbft_slot_t *s = pbft_slot(p, m->height);
    primary_heard(p);
    if (s->pp_valid) {
        bool same = hash_eq(&s->digest, &m->digest) && hash_eq(&s->parent, &m->parent);
        return same ? drop(&p->stats.rx_duplicate, QC_ERR_DUPLICATE)
                    : drop(&p->stats.rx_conflict, QC_ERR_INVALID);
    }
    if ((s->vote.voted && s->vote.view == p->view && !hash_eq(&s->vote.digest, &m->digest)) ||
        (s->committed && !hash_eq(&s->cert.digest, &m->digest)))
        return drop(&p->stats.rx_conflict, QC_ERR_INVALID);
    s->pp_valid = true;
    s->digest = m->digest;
    s->parent = m->parent;
    s->pp_sig = m->sig;
    s->validation = VALIDATION_NONE;
    pbft_advance(p);
    return QC_OK;
}

/* PREPAREs count in the current view only; COMMITs of any view up to the current one, in view
 * change too, since a commit certificate needs no other context. */
static int on_vote(pbft_t *p, const pbft_msg_t *m) {
    bool prep = m->type == PBFT_MSG_PREPARE;
    if (prep) {
        int rc = check_view(p, m);
        if (rc != QC_OK) return rc == QC_ERR_DUPLICATE ? QC_OK : rc;
        if (m->from == primary_of(p, m->view)) return drop(&p->stats.rx_malformed, QC_ERR_INVALID);
    } else if (m->view > p->view) {
        note_later_view(p, m);
        return drop(&p->stats.rx_stale, QC_ERR_STATE);
    }
    if (!pbft_in_window(p, m->height)) return drop(&p->stats.rx_out_of_window, QC_ERR_STATE);
    pbft_stmt_t st;
    pbft_msg_stmt(m, &st);
    if (!pbft_verify(p, &st, &m->sig)) return drop(&p->stats.rx_bad_sig, QC_ERR_SIGNATURE);
    int rc = pbft_count_vote(p, pbft_slot(p, m->height), m->type, m->from, m);
    if (rc == QC_OK) pbft_advance(p);
    return rc;
}

static void vote_checkpoint(pbft_t *p, uint64_t c, const qc_hash_t *d);

/* A retransmitted commit certificate: self-certifying, so accepted in any view or mode. */
static int on_commit_cert(pbft_t *p, const pbft_msg_t *m) {
    const pbft_commit_cert_t *c = m->cert;
    if (!c || c->count > PBFT_Q_MAX) return drop(&p->stats.rx_malformed, QC_ERR_INVALID);
    if (c->epoch != p->ep.epoch) return drop(&p->stats.rx_wrong_epoch, QC_ERR_STATE);
    if (!pbft_in_window(p, c->height)) return drop(&p->stats.rx_out_of_window, QC_ERR_STATE);
    pbft_slot_t *s = pbft_slot(p, c->height);
    bool late_vote = c->height <= p->applied_height && c->height % p->cfg.checkpoint_interval == 0 &&
                     (p->own_ckpt_epoch != p->ep.epoch || p->own_ckpt.height < c->height);
    if ((s->committed || c->height <= p->exec_height) && !late_vote)
        return drop(&p->stats.rx_duplicate, QC_ERR_DUPLICATE);
    int rc = pbft_commit_cert_check(c, p->ep.n, p->cfg.verify, p->cfg.crypto_ctx,
                                    &p->stats.sig_verifies);
    if (rc != QC_OK) return drop(&p->stats.rx_bad_sig, rc);
    if (late_vote) {
        /* It applied c before a restart lost its vote; the certificate names that block. */
        vote_checkpoint(p, c->height, &c->digest);
        pbft_advance(p);
        return QC_OK;
    }
    s->cert = *c;
    mark_committed(s);
    committed_in_view(p, s);
    pbft_advance(p);
    return QC_OK;
}

/* HEARTBEAT: from the primary of the current view, it holds the view timer (primary_heard).
 * One of a later view feeds the join rule; one of a lower view from that view's primary means
 * it has not joined ours, and if we are our view's primary it gets our NEW-VIEW (a lone
 * primary of a lower view never times out while idle, so nothing else would bring it in). */
static int on_heartbeat(pbft_t *p, const pbft_msg_t *m) {
    if (p->mode != PBFT_MODE_NORMAL || m->view != p->view) {
        note_later_view(p, m);
        if (m->view < p->view && m->from == primary_of(p, m->view)) {
            pbft_stmt_t st;
            pbft_msg_stmt(m, &st);
            pbft_answer_lower_view(p, m->from, &st, &m->sig);
        }
        return drop(&p->stats.rx_stale, QC_ERR_STATE);
    }
    if (m->from != primary_of(p, m->view)) return drop(&p->stats.rx_malformed, QC_ERR_INVALID);
    pbft_stmt_t st;
    pbft_msg_stmt(m, &st);
    if (!pbft_verify(p, &st, &m->sig)) return drop(&p->stats.rx_bad_sig, QC_ERR_SIGNATURE);
    primary_heard(p);
    return QC_OK;
}

/* Replays the early messages of the view just entered; drops those of older views. */
void pbft_replay_early(pbft_t *p) {
    size_t keep = 0, count = p->early_count;
    p->early_count = 0; /* nothing is re-buffered: the messages are of the current view */
    for (size_t i = 0; i < count; i++) {
        pbft_msg_t m = p->early[i];
        if (m.epoch != p->ep.epoch) continue;
        if (m.view == p->view && p->mode == PBFT_MODE_NORMAL) {
            if (m.type == PBFT_MSG_PREPREPARE) (void)on_preprepare(p, &m);
            else (void)on_vote(p, &m);
        } else if (m.view > p->view) {
            p->early[keep++] = m;
        }
    }
    QC_ASSERT(p->early_count == 0);
    p->early_count = keep;
}

/* ---------------------------------------------------------------- checkpoints (OSDI §4.3) */
void pbft_request_transfer(pbft_t *p, const pbft_checkpoint_cert_t *target) {
    if (p->transferring && p->fetch.target.height >= target->height) return; /* already asked */
    p->transferring = true;
    p->fetch.from_height = p->exec_height;
    p->fetch.target = *target;
    p->out_fetch = true;
    p->stats.transfers++;
}

/* A new stable checkpoint: persist its proof, move the low water mark, free the log below it
 * (garbage collection), and fetch the blocks up to it if this replica is behind. */
void pbft_set_stable(pbft_t *p, const pbft_checkpoint_cert_t *c) {
    if (c->height <= p->stable.height) return;
    pbft_advance(p); /* output what is committed below it before the slots go */
    p->stable = *c;
    p->stats.checkpoints++;
    pbft_persist_new(p, PBFT_REC_CHECKPOINT)->checkpoint = *c;
    for (uint32_t i = 0; i < p->cfg.window; i++) {
        pbft_slot_t *s = &p->slots[i];
        if (s->height != 0 && s->height <= c->height) {
            s->height = 0;
            p->stats.gc_slots++;
        }
    }
    for (uint16_t r = 0; r < p->ep.n; r++)
        for (int k = 0; k < PBFT_CKPT_TRACK; k++)
            if (p->ckpt_votes[r][k].height <= c->height) p->ckpt_votes[r][k].height = 0;
    if (p->propose_next <= c->height) p->propose_next = c->height + 1;
    if (p->exec_height < c->height) pbft_request_transfer(p, &p->stable);
}

static void check_stable(pbft_t *p, uint64_t height, const qc_hash_t *digest) {
    if (height <= p->stable.height) return;
    pbft_checkpoint_cert_t c;
    memset(&c, 0, sizeof c);
    c.height = height;
    c.digest = *digest;
    for (uint16_t r = 0; r < p->ep.n && c.count < p->q; r++)
        for (int k = 0; k < PBFT_CKPT_TRACK; k++) {
            const pbft_ckpt_vote_t *v = &p->ckpt_votes[r][k];
            if (v->height == height && hash_eq(&v->digest, digest)) {
                c.sigs[c.count++] = (pbft_vote_sig_t){.replica = r, .sig = v->sig};
                break;
            }
        }
    if (c.count >= p->q) {
        pbft_set_stable(p, &c);
        return;
    }
    /* OSDI §4.3: f+1 matching votes beyond the high water mark include an honest replica, so
     * this one is behind and cannot catch up inside its window: fetch up to there. (A replica
     * that some faulty peer ignores may never see a quorum of votes otherwise.) */
    bool beyond = height > p->stable.height + p->cfg.window && height > p->exec_height;
    bool fetching = p->transferring && p->fetch.target.height >= height;
    if (c.count >= p->f + 1 && beyond && !fetching) pbft_request_transfer(p, &c);
}

/* Remembers replica r's checkpoint vote in one of its PBFT_CKPT_TRACK places (its lowest is
 * replaced), so a replica far behind still sees a quorum for a checkpoint beyond its window. */
static int record_ckpt_vote(pbft_t *p, uint16_t r, uint64_t height, const qc_hash_t *digest,
                            const qc_sig_t *sig) {
    pbft_ckpt_vote_t *slot = NULL;
    for (int k = 0; k < PBFT_CKPT_TRACK; k++) {
        pbft_ckpt_vote_t *v = &p->ckpt_votes[r][k];
        if (v->height == height)
            return hash_eq(&v->digest, digest) ? drop(&p->stats.rx_duplicate, QC_ERR_DUPLICATE)
                                               : drop(&p->stats.rx_conflict, QC_ERR_INVALID);
        if (!slot || v->height < slot->height) slot = v;
    }
    if (slot->height > height) return drop(&p->stats.rx_stale, QC_ERR_STATE);
    slot->height = height;
    slot->digest = *digest;
    slot->sig = *sig;
    return QC_OK;
}

/* A checkpoint this replica applied but whose vote it lost in a restart, and that its peers
 * already hold stable (so they no longer retransmit the commit certificates on_commit_cert's
 * late vote needs): once f+1 replicas, so at least one honest, vote (h, d), d is the digest
 * of the block it applied at h, and it votes again; without that vote a quorum may never
 * form here, and a primary whose window cannot move stops proposing. */
static void revote_applied(pbft_t *p, uint64_t h, const qc_hash_t *d) {
    if (!is_member(p) || h <= p->stable.height || h > p->applied_height) return;
    int matching = 0;
    for (uint16_t r = 0; r < p->ep.n; r++)
        for (int k = 0; k < PBFT_CKPT_TRACK; k++) {
            const pbft_ckpt_vote_t *v = &p->ckpt_votes[r][k];
            if (v->height != h) continue;
            if (r == p->ep.self) return; /* voted already */
            matching += hash_eq(&v->digest, d);
        }
    if (matching >= p->f + 1) vote_checkpoint(p, h, d);
}

static int on_checkpoint(pbft_t *p, const pbft_msg_t *m) {
    if (p->mode == PBFT_MODE_IDLE) return drop(&p->stats.rx_stale, QC_ERR_STATE);
    if (m->height <= p->stable.height) return drop(&p->stats.rx_stale, QC_ERR_STATE);
    if (m->height % p->cfg.checkpoint_interval != 0)
        return drop(&p->stats.rx_malformed, QC_ERR_INVALID);
    pbft_stmt_t st;
    pbft_msg_stmt(m, &st);
    if (!pbft_verify(p, &st, &m->sig)) return drop(&p->stats.rx_bad_sig, QC_ERR_SIGNATURE);
    int rc = record_ckpt_vote(p, m->from, m->height, &m->digest, &m->sig);
    if (rc != QC_OK) return rc;
    check_stable(p, m->height, &m->digest);
    revote_applied(p, m->height, &m->digest);
    pbft_advance(p);
    return QC_OK;
}

static void send_own_checkpoint(pbft_t *p) {
    pbft_msg_t *m = pbft_out_msg(p, PBFT_MSG_CHECKPOINT, PBFT_BROADCAST);
    m->epoch = p->own_ckpt_epoch;
    m->from = p->own_ckpt_self; /* the signed index, also after a switch that changed it */
    m->view = 0;
    m->height = p->own_ckpt.height;
    m->digest = p->own_ckpt.digest;
    m->sig = p->own_ckpt.sig;
}

/* Keeps an ended epoch's final certificate (the newest PBFT_FINAL_KEEP), durably. */
static void push_final(pbft_t *p, uint64_t epoch, uint16_t self,
                       const pbft_checkpoint_cert_t *c) {
    pbft_finals_t *f = &p->finals;
    for (uint8_t i = 0; i < f->count; i++)
        if (f->items[i].epoch == epoch) return;
    if (f->count == PBFT_FINAL_KEEP) {
        memmove(f->items, f->items + 1, (PBFT_FINAL_KEEP - 1) * sizeof f->items[0]);
        f->count--;
    }
    f->items[f->count++] = (pbft_final_t){.epoch = epoch, .self = self, .cert = *c};
    pbft_persist_new(p, PBFT_REC_FINAL)->finals = f;
}

static const pbft_final_t *find_final(const pbft_t *p, uint64_t epoch) {
    for (uint8_t i = 0; i < p->finals.count; i++)
        if (p->finals.items[i].epoch == epoch) return &p->finals.items[i];
    return NULL;
}

/* Before leaving an epoch at checkpoint c: its final certificate is the stable checkpoint
 * when that is c already (e.g. a replica that crossed by state transfer), else it is still
 * forming from the old epoch's CHECKPOINT votes, this replica's own and those already in. */
static void start_final(pbft_t *p, uint64_t c, const qc_hash_t *d) {
    if (p->stable.height == c && p->stable.count >= p->q && hash_eq(&p->stable.digest, d)) {
        push_final(p, p->ep.epoch, p->ep.self, &p->stable);
        p->final_pending.active = false;
        return;
    }
    memset(&p->final_pending, 0, sizeof p->final_pending);
    p->final_pending.active = true;
    p->final_pending.epoch = p->ep.epoch;
    p->final_pending.n = p->ep.n;
    p->final_pending.self = p->ep.self;
    p->final_pending.height = c;
    p->final_pending.digest = *d;
    for (uint16_t r = 0; r < p->ep.n; r++) {
        const pbft_ckpt_vote_t *v = NULL;
        if (r == p->ep.self && p->own_ckpt_valid && p->own_ckpt.height == c)
            v = &p->own_ckpt;
        for (int k = 0; k < PBFT_CKPT_TRACK && !v; k++)
            if (p->ckpt_votes[r][k].height == c && hash_eq(&p->ckpt_votes[r][k].digest, d))
                v = &p->ckpt_votes[r][k];
        if (v) p->final_pending.sigs[p->final_pending.count++] =
                   (pbft_vote_sig_t){.replica = r, .sig = v->sig};
    }
}

/* A CHECKPOINT of the epoch just left, for its final checkpoint: counted until a quorum of
 * that epoch has signed it. QC_OK when it was used. */
static int final_vote(pbft_t *p, const pbft_msg_t *m) {
    pbft_final_pending_t *fp = &p->final_pending;
    if (!fp->active || m->epoch != fp->epoch || m->type != PBFT_MSG_CHECKPOINT ||
        m->height != fp->height || !hash_eq(&m->digest, &fp->digest) || m->from >= fp->n)
        return QC_ERR_STATE;
    for (uint8_t i = 0; i < fp->count; i++)
        if (fp->sigs[i].replica == m->from) return QC_ERR_DUPLICATE;
    pbft_stmt_t st;
    pbft_msg_stmt(m, &st);
    if (!pbft_verify(p, &st, &m->sig)) return QC_ERR_SIGNATURE;
    uint8_t i = fp->count++; /* ascending replica order, as certificates are */
    while (i > 0 && fp->sigs[i - 1].replica > m->from) {
        fp->sigs[i] = fp->sigs[i - 1];
        i--;
    }
    fp->sigs[i] = (pbft_vote_sig_t){.replica = m->from, .sig = m->sig};
    if (fp->count >= pbft_quorum(fp->n)) {
        pbft_checkpoint_cert_t c;
        memset(&c, 0, sizeof c);
        c.height = fp->height;
        c.digest = fp->digest;
        c.count = (uint8_t)pbft_quorum(fp->n);
        memcpy(c.sigs, fp->sigs, c.count * sizeof c.sigs[0]);
        push_final(p, fp->epoch, fp->self, &c);
        fp->active = false;
    }
    return QC_OK;
}

/* A message of a past epoch, answered as this replica's index in that epoch (`to` is one too). */
static pbft_msg_t *old_epoch_msg(pbft_t *p, int type, uint16_t to, uint64_t epoch,
                                 uint16_t self) {
    pbft_msg_t *out = pbft_out_msg(p, type, to);
    out->from = self;
    out->epoch = epoch;
    return out;
}

static void send_checkpoint_cert(pbft_t *p, uint16_t to, uint64_t epoch, uint16_t self,
                                 const pbft_checkpoint_cert_t *c) {
    pbft_msg_t *out = old_epoch_msg(p, PBFT_MSG_CHECKPOINT_CERT, to, epoch, self);
    out->view = 0;
    out->height = c->height;
    out->digest = c->digest;
    out->ckpt = c;
    p->stats.finals_sent++;
}

/* A message of an epoch this replica has left comes from a replica still in it (or a replay):
 * answer with that epoch's final certificate, at most once per base timeout per sender, so
 * it can state-transfer to the switch and cross it without help from outside the core. */
static int on_old_epoch(pbft_t *p, const pbft_msg_t *m) {
    p->stats.rx_old_epoch++;
    if (final_vote(p, m) == QC_OK) return QC_OK;
    const pbft_final_t *f = find_final(p, m->epoch);
    bool have_old = p->old_epoch.valid && p->old_epoch.epoch == m->epoch;
    /* a replica the switch removed serves too: it may hold the only certificates left */
    if ((!f && !have_old) || m->from >= PBFT_N_MAX) return QC_ERR_STATE;
    uint16_t self = f ? f->self : p->old_epoch.self;
    if (self == PBFT_NOT_MEMBER || self == m->from) return QC_ERR_STATE;
    uint64_t *last = &p->final_reply_tick[m->from];
    if (*last != 0 && p->now_ticks < *last + p->cfg.view_timeout_ticks) return QC_ERR_STATE;
    *last = p->now_ticks ? p->now_ticks : 1;
    if (f) {
        send_checkpoint_cert(p, m->from, f->epoch, f->self, &f->cert);
        return QC_ERR_STATE;
    }
    /* No final certificate (too few of that epoch applied its last checkpoint, maybe not even
     * this laggard's quorum): its last stable checkpoint and the commit certificates up to the
     * switch let it execute there itself, vote, and cross. */
    const pbft_old_epoch_t *o = &p->old_epoch;
    if (o->stable.count > 0) send_checkpoint_cert(p, m->from, o->epoch, o->self, &o->stable);
    for (uint8_t i = 0; i < o->cert_count; i++) {
        pbft_msg_t *out = old_epoch_msg(p, PBFT_MSG_COMMIT_CERT, m->from, o->epoch, o->self);
        out->view = o->certs[i].view;
        out->height = o->certs[i].height;
        out->digest = o->certs[i].digest;
        out->cert = &o->certs[i];
        p->stats.old_certs_sent++;
    }
    return QC_ERR_STATE;
}

/* A stable checkpoint certificate of this epoch from a peer (an epoch's final one, served by
 * replicas that crossed the switch): self-certifying, so it moves the stable checkpoint and
 * this replica fetches the blocks up to it (then crosses the switch itself). */
static int on_checkpoint_cert(pbft_t *p, const pbft_msg_t *m) {
    const pbft_checkpoint_cert_t *c = m->ckpt;
    if (!c || c->count > PBFT_Q_MAX || c->height != m->height ||
        !hash_eq(&c->digest, &m->digest) || c->height % p->cfg.checkpoint_interval != 0)
        return drop(&p->stats.rx_malformed, QC_ERR_INVALID);
    if (c->height <= p->stable.height) return drop(&p->stats.rx_stale, QC_ERR_STATE);
    int rc = pbft_checkpoint_cert_check(c, p->ep.epoch, p->ep.n, p->cfg.verify,
                                        p->cfg.crypto_ctx, &p->stats.sig_verifies);
    if (rc != QC_OK) return drop(&p->stats.rx_bad_sig, rc);
    pbft_set_stable(p, c);
    pbft_advance(p);
    return QC_OK;
}

/* Keeps, for laggards, the epoch being left: its stable checkpoint and every commit
 * certificate above it up to the switch at c. */
static void keep_old_epoch(pbft_t *p, uint64_t c) {
    pbft_old_epoch_t *o = &p->old_epoch;
    o->valid = true;
    o->epoch = p->ep.epoch;
    o->self = p->ep.self;
    o->stable = p->stable;
    o->cert_count = 0;
    for (uint64_t h = p->stable.height + 1; h <= c; h++) {
        const pbft_slot_t *s = pbft_slot_peek(p, h);
        if (!s || !s->committed) break; /* executed in order: all are, unless transferred */
        o->certs[o->cert_count++] = s->cert;
    }
}

static void switch_epoch(pbft_t *p, uint64_t height, const qc_hash_t *digest) {
    start_final(p, height, digest);
    keep_old_epoch(p, height);
    pbft_epoch_switch_t *sw = &p->out_epoch_switch;
    sw->old_epoch = p->ep.epoch;
    sw->epoch = p->next_epoch;
    sw->epoch.base_height = height;
    sw->epoch.base_digest = *digest;
    p->out_epoch = true;
    pbft_install_epoch(p, &sw->epoch);
    pbft_persist_new(p, PBFT_REC_EPOCH)->next_epoch = sw->epoch;
}

/* Signs, sends and counts this replica's CHECKPOINT vote for (c, d) (OSDI §4.3). */
static void vote_checkpoint(pbft_t *p, uint64_t c, const qc_hash_t *d) {
    pbft_stmt_t st;
    pbft_stmt_make(&st, PBFT_MSG_CHECKPOINT, p->ep.self, p->ep.epoch, 0, c, d, NULL);
    p->own_ckpt.height = c;
    p->own_ckpt.digest = *d;
    p->own_ckpt_epoch = p->ep.epoch;
    p->own_ckpt_self = p->ep.self;
    p->own_ckpt_valid = true;
    pbft_sign(p, &st, &p->own_ckpt.sig);
    send_own_checkpoint(p);
    if (c > p->stable.height && !(p->next_epoch_set && p->next_epoch_at == c)) {
        (void)record_ckpt_vote(p, p->ep.self, c, d, &p->own_ckpt.sig);
        check_stable(p, c, d);
    }
}

/* After a restart: the vote for the stable checkpoint was lost with memory, and peers whose
 * quorum lacks it may still need it; the stable certificate names the block, so vote again. */
void pbft_revote_stable(pbft_t *p) {
    if (!is_member(p) || p->stable.height <= p->ep.base_height ||
        p->exec_height < p->stable.height)
        return;
    vote_checkpoint(p, p->stable.height, &p->stable.digest);
}

/* After a restart whose ledger head is a checkpoint above the stable one: the vote for it was
 * lost with memory; the head's digest is known exactly, so vote again at once. */
void pbft_revote_head(pbft_t *p) {
    if (!is_member(p) || p->applied_height <= p->stable.height ||
        p->applied_height % p->cfg.checkpoint_interval != 0 ||
        (p->next_epoch_set && p->next_epoch_at == p->applied_height))
        return;
    vote_checkpoint(p, p->applied_height, &p->exec_digest);
}

/* The application applied checkpoint height c: vote for it, and hand over to the next epoch
 * when a block up to c decided one. */
static void checkpoint_applied(pbft_t *p, uint64_t c) {
    qc_hash_t d;
    QC_ASSERT(digest_at(p, c, &d));
    if (is_member(p)) vote_checkpoint(p, c, &d);
    if (p->next_epoch_set && p->next_epoch_at == c) switch_epoch(p, c, &d);
}

int pbft_applied(pbft_t *p, uint64_t height) {
    if (height > p->exec_height) return QC_ERR_INVALID;
    if (height <= p->applied_height) return QC_OK;
    uint32_t k = p->cfg.checkpoint_interval;
    uint64_t first = (p->applied_height / k + 1) * k;
    for (uint64_t c = first; c <= height; c += k) {
        p->applied_height = c;
        uint64_t epoch = p->ep.epoch;
        checkpoint_applied(p, c);
        if (p->ep.epoch != epoch) return QC_OK; /* the new epoch starts at c */
    }
    p->applied_height = height;
    pbft_advance(p);
    return QC_OK;
}

int pbft_transfer_done(pbft_t *p, uint64_t height, const qc_hash_t *digest) {
    if (!p->transferring) return QC_ERR_STATE;
    if (height != p->fetch.target.height || !hash_eq(digest, &p->fetch.target.digest))
        return QC_ERR_INVALID;
    p->transferring = false;
    /* Execution may have passed the target meanwhile (the blocks came by COMMITs): then the
     * checkpoint was taken when it was applied, and its log may be gone already. */
    bool advanced = height > p->exec_height;
    if (advanced) {
        p->exec_height = p->applied_height = height;
        p->exec_digest = *digest;
        p->idle_ticks = 0;
        if (p->propose_next <= height) p->propose_next = height + 1;
    }
    if (advanced && height % p->cfg.checkpoint_interval == 0) checkpoint_applied(p, height);
    if (p->stable.height > p->exec_height) pbft_request_transfer(p, &p->stable); /* moved on */
    pbft_advance(p);
    return QC_OK;
}

int pbft_set_next_epoch(pbft_t *p, uint64_t decided_height, const pbft_epoch_t *next) {
    if (next->epoch != p->ep.epoch + 1 || next->n < 1 || next->n > PBFT_N_MAX ||
        (next->self >= next->n && next->self != PBFT_NOT_MEMBER))
        return QC_ERR_INVALID;
    bool committed = decided_height <= p->exec_height ||
                     (p->transferring && decided_height <= p->fetch.target.height);
    uint32_t k = p->cfg.checkpoint_interval;
    uint64_t at = (decided_height + k - 1) / k * k;
    /* Too late once the switch checkpoint is applied (a host restarting past it restores
     * with the new epoch as its configuration). A restarted host whose ledger holds the
     * deciding block but not yet that checkpoint calls this again after pbft_restore. */
    if (p->next_epoch_set || decided_height <= p->ep.base_height || at <= p->applied_height ||
        !committed)
        return QC_ERR_STATE;
    p->next_epoch_set = true;
    p->next_epoch_at = at;
    p->next_epoch = *next;
    return QC_OK;
}

/* ---------------------------------------------------------------- inputs */
int pbft_step(pbft_t *p, const pbft_msg_t *m) {
    if (outbox_busy(p)) return QC_ERR_FULL;
    p->stats.rx++;
    if (m->epoch < p->ep.epoch) {
        p->stats.rx_wrong_epoch++;
        return on_old_epoch(p, m);
    }
    if (p->mode == PBFT_MODE_IDLE) return drop(&p->stats.rx_not_member, QC_ERR_MEMBER);
    if (m->epoch != p->ep.epoch) return drop(&p->stats.rx_wrong_epoch, QC_ERR_STATE);
    if (m->from >= p->ep.n || m->from == p->ep.self)
        return drop(&p->stats.rx_not_member, QC_ERR_MEMBER);
    switch (m->type) {
    case PBFT_MSG_PREPREPARE: return on_preprepare(p, m);
    case PBFT_MSG_PREPARE:
    case PBFT_MSG_COMMIT: return on_vote(p, m);
    case PBFT_MSG_CHECKPOINT: return on_checkpoint(p, m);
    case PBFT_MSG_HEARTBEAT: return on_heartbeat(p, m);
    case PBFT_MSG_VIEW_CHANGE: return pbft_on_view_change(p, m);
    case PBFT_MSG_NEW_VIEW: return pbft_on_new_view(p, m);
    case PBFT_MSG_COMMIT_CERT: return on_commit_cert(p, m);
    case PBFT_MSG_CHECKPOINT_CERT: return on_checkpoint_cert(p, m);
    default: return drop(&p->stats.rx_malformed, QC_ERR_INVALID);
    }
}

/* Retransmission, every base timeout: the own latest checkpoint vote and, while that
 * checkpoint is not stable, the commit certificates below it. A replica that lost COMMITs (so
 * that no single view has a quorum of them at it) can then still execute and vote, and a lost
 * message never stalls the window. */
void pbft_resend(pbft_t *p) {
    if (!p->own_ckpt_valid) {
        /* No vote since the epoch began (or since a restart): vote its base, so that replicas
         * already in a later epoch learn that this one is behind and send it the final
         * certificate (on_old_epoch). */
        if (is_member(p)) vote_checkpoint(p, p->ep.base_height, &p->ep.base_digest);
        return;
    }
    send_own_checkpoint(p);
    if (p->own_ckpt_epoch != p->ep.epoch) return;
    for (uint64_t h = p->stable.height + 1; h <= p->own_ckpt.height; h++) {
        const pbft_slot_t *s = pbft_slot_peek(p, h);
        if (!s || !s->committed) continue;
        pbft_msg_t *m = pbft_out_msg(p, PBFT_MSG_COMMIT_CERT, PBFT_BROADCAST);
        m->view = s->cert.view;
        m->height = h;
        m->digest = s->cert.digest;
        m->cert = &s->cert;
    }
}

static void send_heartbeat(pbft_t *p) {
    pbft_msg_t *m = pbft_out_msg(p, PBFT_MSG_HEARTBEAT, PBFT_BROADCAST);
    sign_msg(p, m);
    p->hb_ticks = 0;
}

/* Whether the view timer may run: a quorum is reachable and neither the host nor the core is
 * catching up (a state transfer waits on this replica's own fetching, not on the primary). */
bool pbft_timer_may_run(const pbft_t *p) {
    bool fetching = p->transferring && p->exec_height < p->fetch.target.height;
    return !p->catching_up && !fetching && (int)p->peers_up + 1 >= p->q;
}

int pbft_tick(pbft_t *p) {
    if (outbox_busy(p)) return QC_ERR_FULL;
    p->now_ticks++;
    release_durable(p);
    if (p->mode == PBFT_MODE_IDLE) return QC_OK;
    if (p->mode == PBFT_MODE_VIEW_CHANGE) {
        pbft_view_tick(p);
        return QC_OK;
    }
    if (++p->resend_ticks >= p->cfg.view_timeout_ticks) {
        p->resend_ticks = 0;
        pbft_resend(p);
    }
    if (is_primary(p) && ++p->hb_ticks >= p->cfg.heartbeat_ticks) send_heartbeat(p);
    if (is_primary(p) && !pending_work(p)) {
        p->idle_ticks = 0;
        return QC_OK;
    }
    /* OSDI §4.4: a backup whose timer expires (work pending, or a silent primary) moves on;
     * not while it cannot reach a quorum or is still catching up (pbft_set_links). */
    if (!pbft_timer_may_run(p)) {
        p->idle_ticks = 0;
        p->stats.timer_held_ticks++;
        return QC_OK;
    }
    if (++p->idle_ticks >= pbft_timeout(p)) pbft_start_view_change(p, p->view + 1);
    return QC_OK;
}

int pbft_proposal_slot(const pbft_t *p, uint64_t *height, qc_hash_t *parent) {
    if (p->mode != PBFT_MODE_NORMAL || !is_primary(p) || p->exec_height < p->stable.height)
        return QC_ERR_STATE;
    uint64_t h = p->propose_next;
    if (!pbft_in_window(p, h) || h > p->exec_height + p->cfg.pipeline_max) return QC_ERR_STATE;
    const pbft_slot_t *s = pbft_slot_peek(p, h);
    if (s && (s->pp_valid || (s->vote.voted && s->vote.view == p->view))) return QC_ERR_STATE;
    if (!digest_at(p, h - 1, parent)) return QC_ERR_STATE;
    *height = h;
    return QC_OK;
}

int pbft_propose(pbft_t *p, uint64_t height, const qc_hash_t *digest) {
    if (outbox_busy(p)) return QC_ERR_FULL;
    uint64_t h;
    qc_hash_t parent;
    int rc = pbft_proposal_slot(p, &h, &parent);
    if (rc != QC_OK) return rc;
    if (height != h) return QC_ERR_INVALID;
    pbft_slot_t *s = pbft_slot(p, h);
    s->pp_valid = true;
    s->digest = *digest;
    s->parent = parent;
    s->validation = VALIDATION_OK;
    pbft_msg_t m;
    pbft_msg_init(p, &m, PBFT_MSG_PREPREPARE, PBFT_BROADCAST);
    m.height = h;
    m.digest = *digest;
    m.parent = parent;
    sign_msg(p, &m);
    s->pp_sig = m.sig;
    pbft_record_vote(p, s);
    pbft_hold_msg(p, &m);
    p->propose_next = h + 1;
    p->hb_ticks = 0;
    pbft_advance(p);
    return QC_OK;
}

int pbft_validated(pbft_t *p, uint64_t height, const qc_hash_t *digest, bool ok) {
    if (outbox_busy(p)) return QC_ERR_FULL;
    pbft_slot_t *s = pbft_slot_peek(p, height);
    if (!s || !s->pp_valid || s->validation != VALIDATION_REQUESTED ||
        !hash_eq(&s->digest, digest) || p->mode != PBFT_MODE_NORMAL)
        return QC_ERR_STATE;
    if (!ok) {
        s->validation = VALIDATION_BAD; /* no vote; the view timer replaces the primary */
        p->stats.invalid_proposals++;
        return QC_OK;
    }
    s->validation = VALIDATION_OK;
    pbft_send_prepare(p, s);
    pbft_advance(p);
    return QC_OK;
}

void pbft_set_backlog(pbft_t *p, bool pending) { p->backlog = pending; }

int pbft_suspect_primary(pbft_t *p) {
    if (outbox_busy(p)) return QC_ERR_FULL;
    if (p->mode != PBFT_MODE_NORMAL || is_primary(p) || !is_member(p) || !pbft_timer_may_run(p))
        return QC_ERR_STATE;
    p->stats.suspicions++;
    pbft_start_view_change(p, p->view + 1);
    return QC_OK;
}

void pbft_set_links(pbft_t *p, uint16_t peers_up, bool catching_up) {
    p->peers_up = peers_up;
    p->catching_up = catching_up;
}

/* ---------------------------------------------------------------- accessors */
const pbft_stats_t *pbft_stats(const pbft_t *p) { return &p->stats; }
uint64_t pbft_view(const pbft_t *p) { return p->view; }
pbft_mode_t pbft_mode(const pbft_t *p) { return p->mode; }
uint16_t pbft_primary(const pbft_t *p) { return primary_of(p, p->view); }
uint64_t pbft_exec_height(const pbft_t *p) { return p->exec_height; }
uint64_t pbft_stable_height(const pbft_t *p) { return p->stable.height; }
uint64_t pbft_epoch_number(const pbft_t *p) { return p->ep.epoch; }
