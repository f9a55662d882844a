/* pbft_restore.c - restarting the PBFT core from its durable records and the application's
 * ledger head, without ever sending a vote that conflicts with one sent before the crash. */
#include "pbft_internal.h"

static bool epoch_ok(const pbft_epoch_t *e) {
    return e->n >= 1 && e->n <= PBFT_N_MAX && (e->self < e->n || e->self == PBFT_NOT_MEMBER);
}

/* The newest epoch: the configuration's, unless an EPOCH record is newer. */
static const pbft_epoch_t *latest_epoch(const pbft_config_t *cfg, const pbft_persist_t *recs,
                                        size_t count) {
    const pbft_epoch_t *ep = &cfg->epoch;
    for (size_t i = 0; i < count; i++)
        if (recs[i].kind == PBFT_REC_EPOCH && recs[i].next_epoch.epoch > ep->epoch)
            ep = &recs[i].next_epoch;
    return ep;
}

static int restore_view_and_checkpoint(pbft_t *p, const pbft_persist_t *recs, size_t count) {
    bool have_view = false, have_ckpt = false;
    for (size_t i = 0; i < count; i++) {
        const pbft_persist_t *r = &recs[i];
        if (r->epoch != p->ep.epoch) continue;
        if (r->kind == PBFT_REC_VIEW) {
            if (have_view) return QC_ERR_CORRUPT;
            have_view = true;
            p->view = r->view.view;
            if (r->view.in_view_change && p->mode != PBFT_MODE_IDLE)
                p->mode = PBFT_MODE_VIEW_CHANGE;
        } else if (r->kind == PBFT_REC_CHECKPOINT) {
            if (have_ckpt) return QC_ERR_CORRUPT;
            have_ckpt = true;
            const pbft_checkpoint_cert_t *c = &r->checkpoint;
            if (c->height < p->ep.base_height || (c->height > p->ep.base_height && c->count < p->q))
                return QC_ERR_CORRUPT;
            if (c->height > p->stable.height) p->stable = *c;
        }
    }
    return QC_OK;
}

/* A replica never acts in a view below one it voted in: a SLOT vote of a later view than the
 * VIEW record (impossible when records are durable in order, see pbft.h) moves it to that
 * view, in view change, instead of letting it vote again in the lower one. */
static void raise_view_to_votes(pbft_t *p, const pbft_persist_t *recs, size_t count) {
    for (size_t i = 0; i < count; i++) {
        const pbft_persist_t *r = &recs[i];
        if (r->kind != PBFT_REC_SLOT || r->epoch != p->ep.epoch || !r->slot.vote.voted ||
            r->slot.vote.view <= p->view)
            continue;
        p->view = r->slot.vote.view;
        if (p->mode != PBFT_MODE_IDLE) p->mode = PBFT_MODE_VIEW_CHANGE;
    }
}

static bool nv_record_ok(const pbft_t *p, const pbft_new_view_t *nv) {
    if (!nv || nv->vc_count < p->q || nv->vc_count > PBFT_Q_MAX ||
        nv->entry_count > p->cfg.window || nv->epoch != p->ep.epoch)
        return false;
    uint32_t seen = 0;
    for (uint8_t i = 0; i < nv->vc_count; i++) {
        const pbft_view_change_t *vc = nv->vcs[i];
        if (!vc || vc->replica >= p->ep.n || vc->view != nv->view || (seen >> vc->replica) & 1 ||
            vc->prepared_count > p->cfg.window || vc->stable.count > PBFT_Q_MAX)
            return false;
        seen |= 1u << vc->replica;
    }
    return true;
}

/* The NEW-VIEW of the restored view (checked when it was received, kept on this replica's own
 * disk). In view change for that view, the replica enters it again at once, as if it had
 * arrived again; in the view, its re-proposals are installed again, so no conflicting
 * PRE-PREPARE for those heights can be accepted, and a primary can send it again. */
static int restore_new_view(pbft_t *p, const pbft_new_view_t *nv) {
    if (!nv_record_ok(p, nv)) return QC_ERR_CORRUPT;
    if (nv->view != p->view || p->mode == PBFT_MODE_IDLE) return QC_OK; /* an older view's */
    pbft_new_view_compute(nv->vcs, nv->vc_count, p->cfg.window, &p->scratch_nv);
    if (p->scratch_nv.entry_count != nv->entry_count) return QC_ERR_CORRUPT;
    pbft_checkpoint_cert_t base = p->scratch_nv.base;
    if (p->mode == PBFT_MODE_VIEW_CHANGE) {
        pbft_enter_view(p, nv, &base);
        return QC_OK;
    }
    pbft_keep_new_view(p, nv);
    if (base.height > p->stable.height) pbft_set_stable(p, &base);
    for (uint8_t i = 0; i < p->own_nv.entry_count; i++) {
        const pbft_nv_entry_t *e = &p->own_nv.entries[i];
        pbft_slot_t *s = pbft_slot(p, e->height);
        if (!s || s->pp_valid || s->committed) continue; /* voted on it: restored from SLOT */
        s->pp_valid = s->pp_from_new_view = true;
        s->digest = e->digest;
        s->parent = e->parent;
        s->pp_sig = e->sig;
        s->validation = VALIDATION_NONE;
        if (p->propose_next <= s->height) p->propose_next = s->height + 1;
    }
    return QC_OK;
}

static int restore_slot(pbft_t *p, const pbft_slot_rec_t *r) {
    pbft_slot_t *s = pbft_slot(p, r->height);
    if (!s) return QC_OK; /* below the stable checkpoint: garbage */
    if (s->vote.voted || s->has_prepared) return QC_ERR_CORRUPT; /* two records for one key */
    if (r->has_prepared && r->prepared.height != r->height) return QC_ERR_CORRUPT;
    s->vote = r->vote;
    s->has_prepared = r->has_prepared;
    if (r->has_prepared) s->prepared = r->prepared;
    if (p->mode != PBFT_MODE_NORMAL || !s->vote.voted || s->vote.view != p->view) return QC_OK;
    s->pp_valid = true; /* the PRE-PREPARE it voted for, as it was */
    s->digest = s->vote.digest;
    s->parent = s->vote.parent;
    s->pp_sig = s->vote.pp_sig;
    s->validation = VALIDATION_OK;
    s->prepared_now = s->has_prepared && s->prepared.view == p->view &&
                      hash_eq(&s->prepared.digest, &s->digest);
    if (p->propose_next <= s->height) p->propose_next = s->height + 1;
    return QC_OK;
}

/* Sends again the votes it made durable before the crash (the same ones, so never a
 * conflicting vote), so peers that never got them can still complete their quorums. */
static void resend_votes(pbft_t *p) {
    bool primary = primary_of(p, p->view) == p->ep.self;
    for (uint64_t h = p->stable.height + 1; h <= p->stable.height + p->cfg.window; h++) {
        pbft_slot_t *s = pbft_slot_peek(p, h);
        if (!s || !s->pp_valid) continue;
        pbft_msg_t m;
        pbft_msg_init(p, &m, primary ? PBFT_MSG_PREPREPARE : PBFT_MSG_PREPARE, PBFT_BROADCAST);
        m.height = h;
        m.digest = s->digest;
        m.parent = s->parent;
        if (primary) {
            m.sig = s->pp_sig;
        } else {
            pbft_stmt_t st;
            pbft_msg_stmt(&m, &st);
            pbft_sign(p, &st, &m.sig);
        }
        pbft_hold_msg(p, &m);
    }
}

int pbft_restore(pbft_t *p, const pbft_config_t *cfg, const pbft_persist_t *recs, size_t count,
                 uint64_t applied_height, const qc_hash_t *applied_digest) {
    if (pbft_config_check(cfg) != QC_OK || (count > 0 && !recs) || !applied_digest)
        return QC_ERR_INVALID;
    const pbft_epoch_t *ep = latest_epoch(cfg, recs, count);
    if (!epoch_ok(ep)) return QC_ERR_CORRUPT;
    memset(p, 0, offsetof(pbft_t, vcs));
    p->cfg = *cfg;
    p->peers_up = PBFT_N_MAX;
    pbft_install_epoch(p, ep);
    if (applied_height < ep->base_height ||
        (applied_height == ep->base_height && !hash_eq(applied_digest, &ep->base_digest)))
        return QC_ERR_CORRUPT;
    p->exec_height = p->applied_height = applied_height;
    p->exec_digest = *applied_digest;
    int rc = restore_view_and_checkpoint(p, recs, count);
    if (rc != QC_OK) return rc;
    raise_view_to_votes(p, recs, count);
    const pbft_new_view_t *nv = NULL;
    for (size_t i = 0; i < count; i++) {
        const pbft_persist_t *r = &recs[i];
        if (r->kind == PBFT_REC_SLOT && r->epoch == p->ep.epoch &&
            (rc = restore_slot(p, &r->slot)) != QC_OK)
            return rc;
        if (r->kind == PBFT_REC_NEW_VIEW && r->epoch == p->ep.epoch) {
            if (nv) return QC_ERR_CORRUPT; /* two records for one key */
            if (!r->new_view) return QC_ERR_INVALID;
            nv = r->new_view;
        }
        if (r->kind == PBFT_REC_FINAL) {
            if (!r->finals) return QC_ERR_INVALID;
            if (r->finals->count > PBFT_FINAL_KEEP) return QC_ERR_CORRUPT;
            p->finals = *r->finals;
        }
    }
    if (p->propose_next <= p->exec_height) p->propose_next = p->exec_height + 1;
    if (p->propose_next <= p->stable.height) p->propose_next = p->stable.height + 1;
    if (p->exec_height < p->stable.height) pbft_request_transfer(p, &p->stable);
    if (nv && (rc = restore_new_view(p, nv)) != QC_OK) return rc;
    pbft_revote_stable(p);
    pbft_revote_head(p);
    if (p->mode == PBFT_MODE_VIEW_CHANGE) {
        pbft_build_own_vc(p);
        pbft_msg_t m = pbft_vc_msg(p, PBFT_BROADCAST);
        pbft_hold_msg(p, &m);
    } else if (p->mode == PBFT_MODE_NORMAL) {
        resend_votes(p);
        if (p->own_nv_valid && primary_of(p, p->view) == p->ep.self) {
            pbft_msg_t m = pbft_nv_msg(p, PBFT_BROADCAST); /* replicas may have missed it */
            pbft_hold_msg(p, &m);
        }
    }
    pbft_advance(p);
    return QC_OK;
}
