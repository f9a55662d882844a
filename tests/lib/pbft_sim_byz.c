/* pbft_sim_byz.c - Byzantine replicas of the simulator. Each runs an honest core and the
 * simulator corrupts what it sends or injects more: equivocation, conflicting votes, forged
 * signatures, malformed messages, replays, VIEW-CHANGEs with forged prepared certificates,
 * NEW-VIEWs that do not match their VIEW-CHANGEs, silence. A Byzantine replica can only sign
 * as itself (its key); everything else it sends carries a guessed signature. */
#include <stdlib.h>
#include <string.h>

#include "pbft_sim_internal.h"

static void resign(sim_node_t *nd, pbft_msg_t *m) {
    pbft_stmt_t st;
    pbft_msg_stmt(m, &st);
    sim_sign(nd, &st, &m->sig);
}

/* The Byzantine replica's own, valid signature over whatever it chooses to say. */
static void sign_stmt(sim_node_t *nd, int type, uint64_t epoch, uint64_t view, uint64_t height,
                      const qc_hash_t *digest, const qc_hash_t *parent, qc_sig_t *sig) {
    pbft_stmt_t st;
    pbft_stmt_make(&st, type, sim_index_in(nd->sim, epoch, nd->ident), epoch, view, height, digest,
                   parent);
    sim_sign(nd, &st, sig);
}

static qc_hash_t garbage(sim_t *s) {
    qc_hash_t d;
    for (int i = 0; i < 4; i++) {
        uint64_t w = sim_rnd(s);
        memcpy(d.b + 8 * i, &w, 8);
    }
    return d;
}

static void garbage_sig(sim_t *s, qc_sig_t *sig) {
    for (int i = 0; i < 8; i++) {
        uint64_t w = sim_rnd(s);
        memcpy(sig->b + 8 * i, &w, 8);
    }
}

/* A primary that tells half the replicas one block and the other half another, and a replica
 * whose votes name different digests to different peers. */
static bool equivocate(sim_t *s, sim_node_t *nd, const pbft_msg_t *m) {
    if (m->to != PBFT_BROADCAST) return false;
    uint16_t n = sim_epoch_n(s, m->epoch);
    qc_hash_t alt;
    if (m->type == PBFT_MSG_PREPREPARE) {
        alt = sim_block_new(s, m->height, &m->parent, nd->ident, true);
        char a[9], b[9];
        sim_trace(s, 1, "r%d equivocates at h=%llu: %s and %s", nd->idx,
                  (unsigned long long)m->height, sim_hex(&m->digest, a), sim_hex(&alt, b));
    } else if (m->type == PBFT_MSG_PREPARE || m->type == PBFT_MSG_COMMIT ||
               m->type == PBFT_MSG_CHECKPOINT) {
        if (!sim_chance(s, 500)) return false;
        alt = garbage(s);
    } else {
        return false;
    }
    for (uint16_t i = 0; i < n; i++) {
        if (i == m->from) continue;
        pbft_msg_t c = *m;
        if (i % 2 == 1) {
            c.digest = alt;
            resign(nd, &c);
        }
        sim_send_to(s, nd, i, &c);
    }
    return true;
}

/* A VIEW-CHANGE that claims a prepared certificate nobody signed. */
static void forged_view_change(sim_t *s, sim_node_t *nd, const pbft_msg_t *m) {
    pbft_view_change_t *vc = malloc(sizeof *vc);
    QC_ASSERT(vc != NULL);
    *vc = *m->vc;
    pbft_prepared_cert_t *c = &vc->prepared[0];
    memset(c, 0, sizeof *c);
    c->view = vc->view - 1;
    c->height = vc->stable.height + 1;
    c->digest = garbage(s);
    c->parent = vc->stable.digest;
    uint16_t n = sim_epoch_n(s, vc->epoch);
    c->count = (uint8_t)pbft_quorum(n);
    for (uint8_t i = 0; i < c->count; i++) {
        c->sigs[i].replica = i;
        garbage_sig(s, &c->sigs[i].sig);
    }
    vc->prepared_count = 1;
    qc_hash_t h;
    pbft_view_change_hash(vc, &h);
    sign_stmt(nd, PBFT_MSG_VIEW_CHANGE, vc->epoch, vc->view, vc->stable.height, &h, NULL,
              &vc->sig);
    pbft_msg_t f = *m;
    f.vc = vc;
    sim_trace(s, 1, "r%d sends a VIEW-CHANGE for v=%llu with a forged prepared certificate",
              nd->idx, (unsigned long long)vc->view);
    sim_send(s, nd, &f);
    free(vc);
}

static bool forge(sim_t *s, sim_node_t *nd, const pbft_msg_t *m) {
    if (m->type == PBFT_MSG_VIEW_CHANGE && m->vc) {
        forged_view_change(s, nd, m);
        return true;
    }
    if (m->type == PBFT_MSG_COMMIT_CERT && m->cert) { /* a certificate with a forged vote */
        pbft_commit_cert_t c = *m->cert;
        c.sigs[sim_below(s, c.count)].sig.b[0] ^= 1;
        pbft_msg_t f = *m;
        f.cert = &c;
        sim_send(s, nd, &f);
        return true;
    }
    if (m->type == PBFT_MSG_NEW_VIEW || !sim_chance(s, 250)) return false;
    pbft_msg_t c = *m;
    c.sig.b[sim_below(s, QC_SIG_BYTES)] ^= 0x40; /* a signature that does not verify */
    sim_send(s, nd, &c);
    return true;
}

/* A NEW-VIEW whose re-proposals or proofs do not match its VIEW-CHANGEs, correctly signed. */
static bool bad_new_view(sim_t *s, sim_node_t *nd, const pbft_msg_t *m) {
    if (m->type != PBFT_MSG_NEW_VIEW || !m->nv) return false;
    sim_nv_blob_t *b = malloc(sizeof *b);
    QC_ASSERT(b != NULL);
    b->nv = *m->nv;
    for (uint8_t i = 0; i < b->nv.vc_count; i++) {
        b->vcs[i] = *m->nv->vcs[i];
        b->nv.vcs[i] = &b->vcs[i];
    }
    pbft_new_view_t *nv = &b->nv;
    uint64_t how = sim_below(s, 3);
    if (how == 0 && nv->entry_count > 0) {
        nv->entries[0].digest = garbage(s); /* a different block at a re-proposed height */
    } else if ((how == 1 || nv->entry_count == 0) && nv->entry_count < PBFT_WINDOW_MAX) {
        pbft_nv_entry_t *e = &nv->entries[nv->entry_count++]; /* an extra re-proposal */
        e->height = nv->base.height + nv->entry_count;
        e->digest = garbage(s);
        e->parent = nv->entry_count > 1 ? nv->entries[nv->entry_count - 2].digest
                                        : nv->base.digest;
    } else if (nv->entry_count > 0) {
        nv->entry_count--; /* a prepared block left out */
    } else {
        nv->base.digest = garbage(s); /* a checkpoint nobody signed */
    }
    for (uint8_t i = 0; i < nv->entry_count; i++) {
        const pbft_nv_entry_t *e = &nv->entries[i];
        sign_stmt(nd, PBFT_MSG_PREPREPARE, nv->epoch, nv->view, e->height, &e->digest,
                  &e->parent, &nv->entries[i].sig);
    }
    qc_hash_t h;
    pbft_new_view_hash(nv, &h);
    sign_stmt(nd, PBFT_MSG_NEW_VIEW, nv->epoch, nv->view, nv->base.height, &h, NULL, &nv->sig);
    pbft_msg_t c = *m;
    c.nv = nv;
    sim_trace(s, 1, "r%d sends a NEW-VIEW for v=%llu that does not match its VIEW-CHANGEs",
              nd->idx, (unsigned long long)nv->view);
    sim_send(s, nd, &c);
    free(b);
    return true;
}

/* ---------------------------------------------------------------- adaptive primary */
/* The adaptive primary's conflicting chain for the heights its NEW-VIEW re-proposed: fresh
 * valid blocks, each on the one below (the first on the NEW-VIEW's base), made once per view
 * so every target sees the same blocks and their votes can add up. */
static void alt_chain(sim_t *s, sim_node_t *nd, const pbft_new_view_t *nv) {
    if (nd->alt_view == nv->view && nd->alt_count == nv->entry_count) return;
    nd->alt_view = nv->view;
    nd->alt_count = nv->entry_count;
    for (uint8_t i = 0; i < nv->entry_count; i++) {
        const qc_hash_t *parent = i ? &nd->alt[i - 1] : &nv->entries[0].parent;
        nd->alt[i] = sim_block_new(s, nv->entries[i].height, parent, nd->ident, true);
    }
}

/* Sends `to` a PRE-PREPARE and this replica's COMMIT for every re-proposed height, naming the
 * conflicting chain: a replica that forgot the NEW-VIEW would prepare and commit it. */
static void send_conflicting(sim_t *s, sim_node_t *nd, const pbft_new_view_t *nv, uint16_t to) {
    alt_chain(s, nd, nv);
    for (uint8_t i = 0; i < nv->entry_count; i++) {
        pbft_msg_t m;
        memset(&m, 0, sizeof m);
        m.type = PBFT_MSG_PREPREPARE;
        m.from = nd->core->ep.self;
        m.to = to;
        m.epoch = nv->epoch;
        m.view = nv->view;
        m.height = nv->entries[i].height;
        m.digest = nd->alt[i];
        m.parent = i ? nd->alt[i - 1] : nv->entries[0].parent;
        resign(nd, &m);
        sim_send_to(s, nd, to, &m);
        m.type = PBFT_MSG_COMMIT;
        memset(&m.parent, 0, sizeof m.parent);
        resign(nd, &m);
        sim_send_to(s, nd, to, &m);
    }
    s->r->adaptive_attacks++;
    char hx[9];
    sim_trace(s, 1, "r%d sends r%u a conflicting chain for v=%llu from h=%llu (%s...)", nd->idx,
              to, (unsigned long long)nv->view,
              (unsigned long long)(nv->entry_count ? nv->entries[0].height : 0),
              nv->entry_count ? sim_hex(&nd->alt[0], hx) : "-");
}

/* A second valid NEW-VIEW for the same view from another quorum of VIEW-CHANGEs (its own
 * first, then the others from the highest index down), signed by this primary. NULL when its
 * VIEW-CHANGEs allow only one choice. The caller frees. */
static sim_nv_blob_t *other_new_view(sim_t *s, sim_node_t *nd, const pbft_new_view_t *nv) {
    const pbft_t *p = nd->core;
    sim_nv_blob_t *b = calloc(1, sizeof *b);
    QC_ASSERT(b != NULL);
    b->vcs[0] = p->vcs[p->ep.self];
    uint8_t k = 1;
    for (int r = p->ep.n - 1; r >= 0 && k < nv->vc_count; r--)
        if (r != p->ep.self && p->vc_valid[r] && p->vcs[r].view == nv->view) b->vcs[k++] = p->vcs[r];
    bool same = k < nv->vc_count;
    for (uint8_t i = 0; i < k && !same; i++) b->nv.vcs[i] = &b->vcs[i];
    uint32_t mine = 0, theirs = 0;
    for (uint8_t i = 0; i < k && !same; i++) {
        mine |= 1u << b->vcs[i].replica;
        theirs |= 1u << nv->vcs[i]->replica;
    }
    if (same || mine == theirs) {
        free(b);
        return NULL;
    }
    pbft_new_view_compute(b->nv.vcs, k, p->cfg.window, &b->nv);
    b->nv.epoch = nv->epoch;
    b->nv.view = nv->view;
    b->nv.replica = p->ep.self;
    b->nv.vc_count = k;
    for (uint8_t i = 0; i < b->nv.entry_count; i++) {
        pbft_nv_entry_t *e = &b->nv.entries[i];
        sign_stmt(nd, PBFT_MSG_PREPREPARE, nv->epoch, nv->view, e->height, &e->digest,
                  &e->parent, &e->sig);
    }
    qc_hash_t h;
    pbft_new_view_hash(&b->nv, &h);
    sign_stmt(nd, PBFT_MSG_NEW_VIEW, nv->epoch, nv->view, b->nv.base.height, &h, NULL,
              &b->nv.sig);
    (void)s;
    return b;
}

/* The adaptive primary's NEW-VIEW: one valid NEW-VIEW to the even replicas and, when it can
 * make one, a different valid one to the odd replicas; then a conflicting chain for the
 * re-proposed heights to one replica of its choice. */
static bool adaptive(sim_t *s, sim_node_t *nd, const pbft_msg_t *m) {
    if (m->type != PBFT_MSG_NEW_VIEW || !m->nv || m->to != PBFT_BROADCAST) return false;
    sim_nv_blob_t *b = other_new_view(s, nd, m->nv);
    uint16_t n = sim_epoch_n(s, m->epoch);
    for (uint16_t i = 0; i < n; i++) {
        if (i == m->from) continue;
        pbft_msg_t c = *m;
        if (b && i % 2 == 1) c.nv = &b->nv;
        sim_send_to(s, nd, i, &c);
    }
    if (b) sim_trace(s, 1, "r%d sends two different valid NEW-VIEWs for v=%llu", nd->idx,
                     (unsigned long long)m->view);
    free(b);
    if (m->nv->entry_count > 0) send_conflicting(s, nd, m->nv, (uint16_t)((m->from + 1) % n));
    return true;
}

void sim_byz_on_restart(sim_t *s, sim_node_t *restarted) {
    for (int i = 0; i < s->node_count; i++) {
        sim_node_t *nd = &s->nodes[i];
        if (nd == restarted || !nd->exists || !nd->up || nd->byz != SIM_BYZ_ADAPTIVE) continue;
        const pbft_t *p = nd->core;
        if (pbft_mode(p) != PBFT_MODE_NORMAL || pbft_primary(p) != p->ep.self ||
            !p->own_nv_valid || p->own_nv.view != pbft_view(p) || p->own_nv.entry_count == 0 ||
            pbft_epoch_number(p) != pbft_epoch_number(restarted->core))
            continue;
        send_conflicting(s, nd, &p->own_nv,
                         sim_index_in(s, pbft_epoch_number(p), restarted->ident));
    }
}

bool sim_byz_outgoing(sim_t *s, sim_node_t *nd, const pbft_msg_t *m) {
    switch (nd->byz) {
    case SIM_BYZ_SILENT: return true;
    case SIM_BYZ_EQUIVOCATE: return equivocate(s, nd, m);
    case SIM_BYZ_FORGE: return forge(s, nd, m);
    case SIM_BYZ_BAD_NV: return bad_new_view(s, nd, m);
    case SIM_BYZ_ADAPTIVE: return adaptive(s, nd, m);
    default: return false;
    }
}

/* Remembers delivered messages for replays; only bodiless ones (a body dies with delivery). */
void sim_byz_record(sim_t *s, const pbft_msg_t *m) {
    if (!s->forge || m->vc || m->nv || m->cert || m->ckpt) return;
    if (s->replay_count < SIM_REPLAY_MAX) s->replay[s->replay_count++] = *m;
    else if (sim_chance(s, 100)) s->replay[sim_below(s, SIM_REPLAY_MAX)] = *m;
}

/* Unprompted junk from a forging replica: replays, bad signatures, malformed fields, and a
 * valid VIEW-CHANGE for a far view that alone (at most f of them) must not move anyone. */
void sim_byz_tick(sim_t *s, sim_node_t *nd) {
    if (nd->byz != SIM_BYZ_FORGE || !sim_chance(s, 50)) return;
    pbft_t *p = nd->core;
    uint16_t n = sim_epoch_n(s, pbft_epoch_number(p));
    pbft_msg_t m;
    memset(&m, 0, sizeof m);
    m.from = p->ep.self;
    m.epoch = pbft_epoch_number(p);
    m.view = pbft_view(p);
    m.height = pbft_exec_height(p) + 1;
    m.digest = garbage(s);
    uint16_t to = (uint16_t)sim_below(s, n);
    switch (sim_below(s, 5)) {
    case 0:
        if (s->replay_count) m = s->replay[sim_below(s, s->replay_count)];
        break;
    case 1:
        m.type = PBFT_MSG_COMMIT;
        garbage_sig(s, &m.sig);
        break;
    case 2:
        m.type = (pbft_msg_type_t)(sim_below(s, 2) ? 99 : PBFT_MSG_PREPREPARE);
        m.height = sim_below(s, 2) ? 1000000000ULL : m.height;
        resign(nd, &m);
        break;
    case 3:
        m.type = PBFT_MSG_CHECKPOINT;
        m.from = (uint16_t)((p->ep.self + 1) % n); /* claims another replica */
        m.height = (pbft_stable_height(p) / 2 + 1) * 2;
        garbage_sig(s, &m.sig);
        break;
    default: {
        pbft_view_change_t vc;
        memset(&vc, 0, sizeof vc);
        vc.epoch = m.epoch;
        vc.view = m.view + 1000;
        vc.replica = p->ep.self;
        vc.stable.height = nd->cfg.epoch.base_height;
        vc.stable.digest = nd->cfg.epoch.base_digest;
        qc_hash_t h;
        pbft_view_change_hash(&vc, &h);
        sign_stmt(nd, PBFT_MSG_VIEW_CHANGE, vc.epoch, vc.view, vc.stable.height, &h, NULL,
                  &vc.sig);
        m.type = PBFT_MSG_VIEW_CHANGE;
        m.view = vc.view;
        m.vc = &vc;
        sim_send_to(s, nd, to, &m);
        return;
    }
    }
    sim_send_to(s, nd, to, &m);
}
