/* pbft_view.c - the PBFT core's view change (OSDI §4.4, TOCS §4.5): VIEW-CHANGE with checkpoint
 * and prepared-certificate proofs, the f+1 join rule and doubling timeouts (OSDI §4.5.2), and
 * the NEW-VIEW that every replica recomputes and checks before entering the view. */
#include "pbft_internal.h"

static int drop(uint64_t *counter, int rc) {
    (*counter)++;
    return rc;
}

/* A VIEW-CHANGE message; its body is bound when it leaves (pbft_finalize_held). */
pbft_msg_t pbft_vc_msg(const pbft_t *p, uint16_t to) {
    pbft_msg_t m;
    pbft_msg_init(p, &m, PBFT_MSG_VIEW_CHANGE, to);
    m.view = p->own_vc.view;
    m.height = p->own_vc.stable.height;
    return m;
}

pbft_msg_t pbft_nv_msg(const pbft_t *p, uint16_t to) {
    pbft_msg_t m;
    pbft_msg_init(p, &m, PBFT_MSG_NEW_VIEW, to);
    m.height = p->own_nv.base.height;
    return m;
}

/* Whether replica `to`, found in a lower view, is due this primary's NEW-VIEW now: normal mode
 * in a view whose NEW-VIEW it holds, and none sent to `to` in the last base view timeout. */
static bool lower_view_answer_due(const pbft_t *p, uint16_t to) {
    if (p->mode != PBFT_MODE_NORMAL || !is_primary(p) || !p->own_nv_valid || to >= p->ep.n ||
        to == p->ep.self)
        return false;
    uint64_t last_ticks = p->nv_reply_tick[to];
    return last_ticks == 0 || p->now_ticks >= last_ticks + p->cfg.view_timeout_ticks;
}

/* A replica `to` still in a lower view (its VIEW-CHANGE or HEARTBEAT of that view, statement
 * st signed sig) gets this primary's stored NEW-VIEW of the current view, which it accepts as a
 * later view's and enters durably (pbft_on_new_view). Only in normal mode with own_nv valid, so
 * it resends a message already persisted and broadcast, signing nothing; at most once per base
 * view timeout per sender (nv_reply_tick), and the signature is checked only when an answer is
 * due, so a flood costs at most one verification per sender per timeout once answered. Without
 * it an idle cluster (only the primary's HEARTBEATs) never shows f+1 senders of the view and
 * the join rule never fires for the laggard. */
void pbft_answer_lower_view(pbft_t *p, uint16_t to, const pbft_stmt_t *st, const qc_sig_t *sig) {
    if (!lower_view_answer_due(p, to) || !pbft_verify(p, st, sig)) return;
    p->nv_reply_tick[to] = p->now_ticks ? p->now_ticks : 1;
    p->stats.nv_lower_replies++;
    pbft_msg_t nv = pbft_nv_msg(p, to);
    pbft_hold_msg(p, &nv);
}

/* Bodies of held VIEW-CHANGE/NEW-VIEW messages are bound when they leave, and a message whose
 * body was superseded meanwhile (a later view) is dropped instead of sent with wrong content. */
void pbft_finalize_held(pbft_t *p, pbft_msg_t *m, bool *drop_it) {
    *drop_it = false;
    if (m->type == PBFT_MSG_VIEW_CHANGE) {
        if (p->own_vc.view == m->view && p->own_vc.epoch == m->epoch) m->vc = &p->own_vc;
        else *drop_it = true;
    } else if (m->type == PBFT_MSG_NEW_VIEW) {
        if (p->own_nv_valid && p->own_nv.view == m->view && p->own_nv.epoch == m->epoch)
            m->nv = &p->own_nv;
        else *drop_it = true;
    }
}

/* VIEW-CHANGE contents (OSDI §4.4): the stable checkpoint with its proof and the prepared
 * certificate of the highest view for every height above it. */
void pbft_build_own_vc(pbft_t *p) {
    pbft_view_change_t *vc = &p->own_vc;
    memset(vc, 0, sizeof *vc);
    vc->epoch = p->ep.epoch;
    vc->view = p->view;
    vc->replica = p->ep.self;
    vc->stable = p->stable;
    for (uint64_t h = p->stable.height + 1; h <= p->stable.height + p->cfg.window; h++) {
        const pbft_slot_t *s = pbft_slot_peek(p, h);
        if (s && s->has_prepared) vc->prepared[vc->prepared_count++] = s->prepared;
    }
    qc_hash_t hash;
    pbft_view_change_hash(vc, &hash);
    pbft_stmt_t st;
    pbft_stmt_make(&st, PBFT_MSG_VIEW_CHANGE, p->ep.self, p->ep.epoch, vc->view,
                   vc->stable.height, &hash, NULL);
    pbft_sign(p, &st, &vc->sig);
    p->vcs[p->ep.self] = *vc;
    p->vc_valid[p->ep.self] = true;
    p->vc_hash[p->ep.self] = hash;
}

static void build_new_view(pbft_t *p);

/* Once q replicas (this one included) ask for the target view or a later one, everyone starts
 * the timer that moves on if no NEW-VIEW comes (OSDI §4.5.2 starts it at 2f+1 VIEW-CHANGEs for
 * the target; counting later views too keeps a group that fell behind a view change from
 * waiting forever for VIEW-CHANGEs that replicas already past the target will not send). The
 * new primary needs q VIEW-CHANGEs for exactly the target view. */
static void vc_progress(pbft_t *p) {
    if (p->mode != PBFT_MODE_VIEW_CHANGE) return;
    int exact = 0, at_least = 0;
    for (uint16_t r = 0; r < p->ep.n; r++) {
        exact += p->vc_valid[r] && p->vcs[r].view == p->view;
        at_least += r == p->ep.self || p->vc_views[r] >= p->view;
    }
    if (at_least >= p->q && !p->vc_quorum) {
        p->vc_quorum = true;
        p->idle_ticks = 0;
    }
    if (exact >= p->q && is_primary(p) && !p->own_nv_valid) build_new_view(p);
}

void pbft_start_view_change(pbft_t *p, uint64_t view) {
    QC_ASSERT(view > p->view && is_member(p));
    p->mode = PBFT_MODE_VIEW_CHANGE;
    p->view = view;
    p->stats.view_changes++;
    if (p->vc_attempts < 16) p->vc_attempts++;
    p->idle_ticks = p->resend_ticks = 0;
    p->vc_quorum = false;
    p->own_nv_valid = false;
    for (uint32_t i = 0; i < p->cfg.window; i++)
        if (p->slots[i].height != 0) pbft_slot_reset_view(&p->slots[i]);
    for (uint16_t r = 0; r < p->ep.n; r++)
        if (p->vc_valid[r] && p->vcs[r].view < view) p->vc_valid[r] = false;
    pbft_persist_view(p); /* never back to a lower view after a crash */
    pbft_build_own_vc(p);
    pbft_msg_t m = pbft_vc_msg(p, PBFT_BROADCAST);
    pbft_hold_msg(p, &m);
    vc_progress(p);
}

/* Counts within their arrays: checked before anything else reads a received body. */
static bool vc_shape_ok(const pbft_t *p, const pbft_view_change_t *vc) {
    if (vc->prepared_count > p->cfg.window || vc->stable.count > PBFT_Q_MAX) return false;
    for (uint8_t i = 0; i < vc->prepared_count; i++)
        if (vc->prepared[i].count > PBFT_Q_MAX) return false;
    return true;
}

static bool nv_shape_ok(const pbft_t *p, const pbft_new_view_t *nv) {
    if (nv->vc_count > PBFT_Q_MAX || nv->entry_count > p->cfg.window ||
        nv->base.count > PBFT_Q_MAX)
        return false;
    for (uint8_t i = 0; i < nv->vc_count; i++)
        if (!nv->vcs[i] || !vc_shape_ok(p, nv->vcs[i])) return false;
    return true;
}

/* Checks a VIEW-CHANGE's proofs; hash is its content hash. */
static int validate_vc(pbft_t *p, const pbft_view_change_t *vc, const qc_hash_t *hash) {
    const pbft_checkpoint_cert_t *c = &vc->stable;
    if (vc->epoch != p->ep.epoch || vc->replica >= p->ep.n ||
        vc->prepared_count > p->cfg.window)
        return QC_ERR_INVALID;
    if (c->count == 0) {
        if (c->height != p->ep.base_height || !hash_eq(&c->digest, &p->ep.base_digest))
            return QC_ERR_INVALID;
    } else if (c->height % p->cfg.checkpoint_interval != 0) {
        return QC_ERR_INVALID;
    } else if (!(c->height == p->stable.height && c->count == p->stable.count &&
                 memcmp(c, &p->stable, sizeof *c) == 0)) { /* ours is already checked */
        if (pbft_checkpoint_cert_check(c, p->ep.epoch, p->ep.n, p->cfg.verify,
                                       p->cfg.crypto_ctx, &p->stats.sig_verifies) != QC_OK)
            return QC_ERR_INVALID;
    }
    pbft_stmt_t st;
    pbft_stmt_make(&st, PBFT_MSG_VIEW_CHANGE, vc->replica, vc->epoch, vc->view, c->height, hash,
                   NULL);
    if (!pbft_verify(p, &st, &vc->sig)) return QC_ERR_SIGNATURE;
    uint64_t prev = c->height;
    for (uint8_t i = 0; i < vc->prepared_count; i++) {
        const pbft_prepared_cert_t *pc = &vc->prepared[i];
        if (pc->height <= prev || pc->height > c->height + p->cfg.window || pc->view >= vc->view)
            return QC_ERR_INVALID;
        if (pbft_prepared_cert_check(pc, p->ep.epoch, p->ep.n, p->cfg.verify, p->cfg.crypto_ctx,
                                     &p->stats.sig_verifies) != QC_OK)
            return QC_ERR_INVALID; /* e.g. a forged prepared certificate */
        prev = pc->height;
    }
    return QC_OK;
}

static int count_vc_error(pbft_t *p, int rc) {
    return drop(rc == QC_ERR_SIGNATURE ? &p->stats.rx_bad_sig : &p->stats.rx_bad_view_change, rc);
}

/* OSDI §4.5.2: f+1 replicas asking for higher views include an honest one, so join the
 * highest view that f+1 of them ask for at least, even before this replica's timer fires. */
void pbft_check_join(pbft_t *p) {
    uint64_t views[PBFT_N_MAX];
    int k = 0;
    for (uint16_t r = 0; r < p->ep.n; r++)
        if (r != p->ep.self && p->vc_views[r] > p->view) views[k++] = p->vc_views[r];
    if (k < p->f + 1) return;
    for (int i = 1; i < k; i++) /* descending insertion sort, k <= 16 */
        for (int j = i; j > 0 && views[j] > views[j - 1]; j--) {
            uint64_t t = views[j];
            views[j] = views[j - 1];
            views[j - 1] = t;
        }
    pbft_start_view_change(p, views[p->f]);
}

int pbft_on_view_change(pbft_t *p, const pbft_msg_t *m) {
    const pbft_view_change_t *vc = m->vc;
    if (!vc || vc->view != m->view || vc->replica != m->from || !vc_shape_ok(p, vc))
        return drop(&p->stats.rx_malformed, QC_ERR_INVALID);
    if (p->mode == PBFT_MODE_NORMAL && vc->view == p->view && is_primary(p) && p->own_nv_valid) {
        pbft_msg_t nv = pbft_nv_msg(p, m->from); /* the sender missed our NEW-VIEW: again */
        pbft_hold_msg(p, &nv);
        return drop(&p->stats.rx_stale, QC_ERR_STATE);
    }
    if (vc->view < p->view && vc->epoch == p->ep.epoch && lower_view_answer_due(p, m->from)) {
        /* the sender is behind: bring it in (hashed only when an answer is due) */
        qc_hash_t hash;
        pbft_view_change_hash(vc, &hash);
        pbft_stmt_t st;
        pbft_stmt_make(&st, PBFT_MSG_VIEW_CHANGE, vc->replica, vc->epoch, vc->view,
                       vc->stable.height, &hash, NULL);
        pbft_answer_lower_view(p, m->from, &st, &vc->sig);
    }
    if (vc->view < p->view || (vc->view == p->view && p->mode == PBFT_MODE_NORMAL))
        return drop(&p->stats.rx_stale, QC_ERR_STATE);
    if (p->vc_valid[m->from] && p->vcs[m->from].view == vc->view)
        return drop(&p->stats.rx_duplicate, QC_ERR_DUPLICATE);
    if (p->vc_views[m->from] > vc->view) return drop(&p->stats.rx_stale, QC_ERR_STATE);
    qc_hash_t hash;
    pbft_view_change_hash(vc, &hash);
    int rc = validate_vc(p, vc, &hash);
    if (rc != QC_OK) return count_vc_error(p, rc);
    p->vc_views[m->from] = vc->view;
    /* Keep a VIEW-CHANGE for the target view even when a higher one arrives (that one only
     * feeds the join rule), so a quorum for the target view is not lost. */
    if (!p->vc_valid[m->from] || p->vcs[m->from].view < p->view) {
        p->vcs[m->from] = *vc;
        p->vc_valid[m->from] = true;
        p->vc_hash[m->from] = hash;
    }
    pbft_check_join(p);
    vc_progress(p);
    return QC_OK;
}

/* The new primary: choose q VIEW-CHANGEs (its own first), compute the re-proposals, sign a
 * PRE-PREPARE for each and the NEW-VIEW, enter the view, and send NEW-VIEW once durable. */
static void build_new_view(pbft_t *p) {
    pbft_new_view_t *nv = &p->own_nv;
    memset(nv, 0, sizeof *nv);
    nv->epoch = p->ep.epoch;
    nv->view = p->view;
    nv->replica = p->ep.self;
    nv->vcs[nv->vc_count++] = &p->vcs[p->ep.self];
    for (uint16_t r = 0; r < p->ep.n && nv->vc_count < p->q; r++)
        if (r != p->ep.self && p->vc_valid[r] && p->vcs[r].view == p->view)
            nv->vcs[nv->vc_count++] = &p->vcs[r];
    QC_ASSERT(nv->vc_count == p->q);
    pbft_new_view_compute(nv->vcs, nv->vc_count, p->cfg.window, nv);
    for (uint8_t i = 0; i < nv->entry_count; i++) {
        pbft_nv_entry_t *e = &nv->entries[i];
        pbft_stmt_t st;
        pbft_stmt_make(&st, PBFT_MSG_PREPREPARE, p->ep.self, p->ep.epoch, p->view, e->height,
                       &e->digest, &e->parent);
        pbft_sign(p, &st, &e->sig);
    }
    qc_hash_t hash;
    pbft_new_view_hash(nv, &hash);
    pbft_stmt_t st;
    pbft_stmt_make(&st, PBFT_MSG_NEW_VIEW, p->ep.self, p->ep.epoch, p->view, nv->base.height,
                   &hash, NULL);
    pbft_sign(p, &st, &nv->sig);
    pbft_enter_view(p, nv, &nv->base);
    pbft_msg_t m = pbft_nv_msg(p, PBFT_BROADCAST);
    pbft_hold_msg(p, &m);
}

/* Keeps nv (checked, of the view being entered) as own_nv: its VIEW-CHANGEs become this
 * replica's copies of them, so own_nv stays valid while the view lasts and can be persisted. */
void pbft_keep_new_view(pbft_t *p, const pbft_new_view_t *nv) {
    if (nv != &p->own_nv) {
        pbft_new_view_t copy = *nv; /* nv may point into p->vcs already (restore) */
        for (uint8_t i = 0; i < copy.vc_count; i++) {
            const pbft_view_change_t *vc = copy.vcs[i];
            uint16_t r = vc->replica;
            if (vc != &p->vcs[r]) {
                p->vcs[r] = *vc;
                pbft_view_change_hash(&p->vcs[r], &p->vc_hash[r]);
            }
            p->vc_valid[r] = true;
            if (p->vc_views[r] < vc->view) p->vc_views[r] = vc->view;
            copy.vcs[i] = &p->vcs[r];
        }
        p->own_nv = copy;
    }
    p->own_nv_valid = true;
    pbft_persist_new(p, PBFT_REC_NEW_VIEW)->new_view = &p->own_nv;
}

/* Installs a checked NEW-VIEW: its re-proposals become this view's PRE-PREPAREs (no
 * application validation: a quorum prepared them before); base comes from a checked
 * VIEW-CHANGE. Durable order (docs/CONSENSUS.md §4): VIEW(v, changing) first, so that no
 * record of view v can survive a crash without the replica knowing it left v-1; then the
 * NEW-VIEW and the votes on its re-proposals; VIEW(v, normal) last, so that a replica that
 * restarts "in view v" always still knows what v's NEW-VIEW re-proposed and can never accept
 * a conflicting PRE-PREPARE for those heights. */
void pbft_enter_view(pbft_t *p, const pbft_new_view_t *nv, const pbft_checkpoint_cert_t *base) {
    p->mode = PBFT_MODE_VIEW_CHANGE;
    p->view = nv->view;
    pbft_persist_view(p); /* VIEW(v, changing) */
    pbft_keep_new_view(p, nv);
    nv = &p->own_nv;
    p->mode = PBFT_MODE_NORMAL;
    p->vc_quorum = false;
    p->idle_ticks = p->resend_ticks = p->hb_ticks = 0;
    p->stats.new_views++;
    for (uint32_t i = 0; i < p->cfg.window; i++)
        if (p->slots[i].height != 0) pbft_slot_reset_view(&p->slots[i]);
    if (base->height > p->stable.height) pbft_set_stable(p, base);
    bool primary = is_primary(p);
    for (uint8_t i = 0; i < nv->entry_count; i++) {
        const pbft_nv_entry_t *e = &nv->entries[i];
        pbft_slot_t *s = pbft_slot(p, e->height);
        if (!s) continue;
        if (s->committed && !hash_eq(&s->cert.digest, &e->digest)) {
            p->stats.rx_conflict++; /* only possible with more than f faulty */
            continue;
        }
        s->pp_valid = s->pp_from_new_view = true;
        s->digest = e->digest;
        s->parent = e->parent;
        s->pp_sig = e->sig;
        s->validation = primary ? VALIDATION_OK : VALIDATION_NONE;
        if (primary) pbft_record_vote(p, s);
    }
    uint64_t top = base->height + nv->entry_count;
    if (top < p->exec_height) top = p->exec_height;
    if (top < p->stable.height) top = p->stable.height;
    p->propose_next = top + 1;
    pbft_advance(p);      /* backups vote on the re-proposals: their SLOT records */
    pbft_persist_view(p); /* VIEW(v, normal), last */
    pbft_replay_early(p);
}

/* Every replica recomputes NEW-VIEW from its VIEW-CHANGEs and accepts only an exact match
 * (OSDI §4.4). VIEW-CHANGEs identical to ones already checked are not checked again. */
static int verify_new_view(pbft_t *p, const pbft_new_view_t *nv) {
    if (nv->vc_count < p->q || nv->vc_count > PBFT_Q_MAX || nv->entry_count > p->cfg.window)
        return QC_ERR_INVALID;
    uint32_t seen = 0;
    for (uint8_t i = 0; i < nv->vc_count; i++) {
        const pbft_view_change_t *vc = nv->vcs[i];
        if (!vc || vc->view != nv->view || vc->replica >= p->ep.n || (seen >> vc->replica) & 1)
            return QC_ERR_INVALID;
        seen |= 1u << vc->replica;
        qc_hash_t h;
        pbft_view_change_hash(vc, &h);
        uint16_t r = vc->replica;
        if (p->vc_valid[r] && p->vcs[r].view == vc->view && hash_eq(&p->vc_hash[r], &h) &&
            memcmp(&p->vcs[r].sig, &vc->sig, sizeof vc->sig) == 0)
            continue;
        int rc = validate_vc(p, vc, &h);
        if (rc != QC_OK) return rc == QC_ERR_SIGNATURE ? QC_ERR_SIGNATURE : QC_ERR_INVALID;
    }
    qc_hash_t hash;
    pbft_new_view_hash(nv, &hash);
    pbft_stmt_t st;
    pbft_stmt_make(&st, PBFT_MSG_NEW_VIEW, nv->replica, nv->epoch, nv->view, nv->base.height,
                   &hash, NULL);
    if (!pbft_verify(p, &st, &nv->sig)) return QC_ERR_SIGNATURE;
    pbft_new_view_t *want = &p->scratch_nv;
    pbft_new_view_compute(nv->vcs, nv->vc_count, p->cfg.window, want);
    if (want->base.height != nv->base.height || !hash_eq(&want->base.digest, &nv->base.digest) ||
        want->entry_count != nv->entry_count)
        return QC_ERR_INVALID;
    for (uint8_t i = 0; i < nv->entry_count; i++) {
        const pbft_nv_entry_t *a = &want->entries[i], *b = &nv->entries[i];
        if (a->height != b->height || !hash_eq(&a->digest, &b->digest) ||
            !hash_eq(&a->parent, &b->parent))
            return QC_ERR_INVALID;
        pbft_stmt_make(&st, PBFT_MSG_PREPREPARE, nv->replica, nv->epoch, nv->view, b->height,
                       &b->digest, &b->parent);
        if (!pbft_verify(p, &st, &b->sig)) return QC_ERR_SIGNATURE;
    }
    return QC_OK;
}

int pbft_on_new_view(pbft_t *p, const pbft_msg_t *m) {
    const pbft_new_view_t *nv = m->nv;
    if (!nv || nv->view != m->view || nv->replica != m->from || nv->epoch != p->ep.epoch ||
        nv->replica != primary_of(p, nv->view) || !nv_shape_ok(p, nv))
        return drop(&p->stats.rx_malformed, QC_ERR_INVALID);
    if (nv->view < p->view || (nv->view == p->view && p->mode == PBFT_MODE_NORMAL))
        return drop(&p->stats.rx_stale, QC_ERR_STATE);
    int rc = verify_new_view(p, nv);
    if (rc != QC_OK) {
        p->stats.rx_bad_new_view++;
        if (rc == QC_ERR_SIGNATURE) p->stats.rx_bad_sig++;
        /* A primary that sends a wrong NEW-VIEW for the view we wait for is replaced. */
        if (nv->view == p->view && p->mode == PBFT_MODE_VIEW_CHANGE)
            pbft_start_view_change(p, p->view + 1);
        return rc;
    }
    p->own_nv_valid = false;
    pbft_checkpoint_cert_t base = p->scratch_nv.base; /* checked; nv->base's proof is not */
    pbft_enter_view(p, nv, &base);
    return QC_OK;
}

void pbft_view_tick(pbft_t *p) {
    p->idle_ticks++;
    if ((int)p->peers_up + 1 < p->q) { /* escalating alone leads nowhere (pbft_set_links) */
        p->idle_ticks = 0;
        p->stats.timer_held_ticks++;
    }
    if (p->vc_quorum && p->idle_ticks >= pbft_timeout(p)) {
        pbft_start_view_change(p, p->view + 1); /* timeout doubles (OSDI §4.5.2) */
        return;
    }
    if (++p->resend_ticks >= p->cfg.view_timeout_ticks) {
        p->resend_ticks = 0; /* retransmit: a lost VIEW-CHANGE must not stall the change */
        pbft_msg_t m = pbft_vc_msg(p, PBFT_BROADCAST);
        pbft_hold_msg(p, &m);
        pbft_resend(p);
    }
}
