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
    for (size_t i = 0; i < count; i++)
        if (recs[i].kind == PBFT_REC_SLOT && recs[i].epoch == p->ep.epoch &&
            (rc = restore_slot(p, &recs[i].slot)) != QC_OK)
            return rc;
    if (p->propose_next <= p->exec_height) p->propose_next = p->exec_height + 1;
    if (p->propose_next <= p->stable.height) p->propose_next = p->stable.height + 1;
    if (p->exec_height < p->stable.height) pbft_request_transfer(p, &p->stable);
    pbft_revote_stable(p);
    if (p->mode == PBFT_MODE_VIEW_CHANGE) {
        pbft_build_own_vc(p);
        pbft_msg_t m = pbft_vc_msg(p, PBFT_BROADCAST);
        pbft_hold_msg(p, &m);
    } else if (p->mode == PBFT_MODE_NORMAL) {
        resend_votes(p);
    }
    pbft_advance(p);
    return QC_OK;
}
