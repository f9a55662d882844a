/* notes.c - gathering a quorum of validator signatures on each height's checkpoint note. */
#include "notes.h"

#include <string.h>

#define NOTES_BEHIND (NOTES_HEIGHTS / 2 - 1) /* heights below the head still gathered */
#define NOTES_AHEAD (NOTES_HEIGHTS / 2)      /* heights above the head gathered early */

void notes_init(notes_t *ns, const char *chain_id, const qc_hash_t *genesis_hash,
                const qc_validator_set_t *vs, uint32_t self, const qc_seckey_t *sk,
                notes_send_cb send, void *user) {
    QC_ASSERT(vs->n <= QC_VALIDATORS_MAX); /* self >= n: a learner, which only gathers */
    memset(ns, 0, sizeof *ns);
    ns->chain_id = chain_id;
    ns->genesis_hash = *genesis_hash;
    ns->vs = *vs;
    ns->self = self;
    ns->sk = sk;
    ns->send = send;
    ns->user = user;
    ns->log_conflict = (qc_lograte_t)QC_LOGRATE_INIT("checkpoint notes: contradicting signatures",
                                                     QC_LOG_ERROR, 10, QC_LOGRATE_WINDOW_MS);
}

void notes_set_time(notes_t *ns, uint64_t now_ms) {
    ns->now_ms = now_ms;
    qc_lograte_tick(&ns->log_conflict, now_ms);
}

static bool in_window(const notes_t *ns, uint64_t height) {
    return height > 0 && height + NOTES_BEHIND >= ns->head && height <= ns->head + NOTES_AHEAD;
}

/* The slot of height, reset if it held another (necessarily out-of-window) height. */
static notes_slot_t *slot_for(notes_t *ns, uint64_t height) {
    notes_slot_t *s = &ns->slots[height % NOTES_HEIGHTS];
    if (s->height != height) {
        QC_ASSERT(s->height < height);
        memset(s, 0, sizeof *s);
        s->height = height;
    }
    return s;
}

/* The checkpoint (log_size, root) of this chain and its note text. */
static void text_of(const notes_t *ns, uint64_t log_size, const qc_hash_t *root,
                    note_checkpoint_t *cp, char text[NOTE_CHECKPOINT_TEXT_MAX], size_t *len) {
    memset(cp, 0, sizeof *cp);
    memcpy(cp->origin, ns->chain_id, strnlen(ns->chain_id, QC_CHAIN_ID_MAX));
    cp->size = log_size;
    cp->root = *root;
    cp->genesis_hash = ns->genesis_hash;
    QC_ASSERT(note_checkpoint_text(cp, text, len) == QC_OK);
}

/* Compares a verified signature with the slot's own note; counts or reports it. */
static void match(notes_t *ns, notes_slot_t *s, uint32_t v) {
    notes_sig_t *g = &s->sigs[v];
    if (!s->applied || !g->have || g->matched) return;
    if (g->log_size == s->cp.size && memcmp(g->root.b, s->cp.root.b, 32) == 0) {
        g->matched = true;
        s->matched++;
        if (v != ns->self) ns->stats.sigs_counted++;
        return;
    }
    ns->stats.sigs_conflicting++;
    char theirs[65], ours[65];
    QC_LOG_RATED(&ns->log_conflict, ns->now_ms, QC_LOG_ERROR,
                 "validator %s signed a checkpoint for height %llu (size %llu, root %s) that this "
             "ledger contradicts (size %llu, root %s)", ns->vs.members[v].name,
             (unsigned long long)s->height, (unsigned long long)g->log_size,
             qc_hash_hex(theirs, &g->root), (unsigned long long)s->cp.size,
             qc_hash_hex(ours, &s->cp.root));
    memset(g, 0, sizeof *g);
}

/* A quorum over the slot's own note makes it the latest signed checkpoint (or adds signers
 * to the latest). */
static void maybe_quorum(notes_t *ns, notes_slot_t *s) {
    if (!s->applied || s->matched < qc_quorum(ns->vs.n)) return;
    if (ns->has_latest && (s->height < ns->latest_height ||
                           (s->height == ns->latest_height && s->matched <= ns->latest.signer_count)))
        return;
    if (!ns->has_latest || s->height > ns->latest_height) ns->stats.checkpoints++;
    note_signed_t *l = &ns->latest;
    memset(l, 0, sizeof *l);
    l->cp = s->cp;
    for (uint32_t v = 0; v < ns->vs.n; v++) {
        if (!s->sigs[v].matched) continue;
        l->signers[l->signer_count] = v;
        l->sigs[l->signer_count++] = s->sigs[v].sig;
    }
    ns->has_latest = true;
    ns->latest_height = s->height;
}

void notes_on_applied(notes_t *ns, uint64_t height, uint64_t log_size, const qc_hash_t *root) {
    QC_ASSERT(height > ns->head || (height == ns->head && !ns->has_own));
    ns->head = height;
    notes_slot_t *s = slot_for(ns, height);
    s->applied = true;
    char text[NOTE_CHECKPOINT_TEXT_MAX];
    size_t len;
    text_of(ns, log_size, root, &s->cp, text, &len);
    if (ns->self >= ns->vs.n) { /* not a validator of this epoch: nothing to sign */
        for (uint32_t v = 0; v < ns->vs.n; v++) match(ns, s, v);
        maybe_quorum(ns, s);
        return;
    }
    wire_note_sig_t *own = &ns->own;
    own->height = height;
    own->log_size = log_size;
    own->root = *root;
    note_sign(&own->sig, ns->sk, text, len);
    ns->has_own = true;
    notes_sig_t *g = &s->sigs[ns->self];
    memset(g, 0, sizeof *g);
    g->have = true;
    g->log_size = log_size;
    g->root = *root;
    g->sig = own->sig;
    for (uint32_t v = 0; v < ns->vs.n; v++) match(ns, s, v);
    if (ns->send) ns->send(ns->user, NOTES_BROADCAST, own);
    maybe_quorum(ns, s);
}

void notes_on_sig(notes_t *ns, uint32_t peer, const wire_note_sig_t *sig) {
    ns->stats.sigs_received++;
    if (peer >= ns->vs.n || peer == ns->self) { ns->stats.sigs_bad++; return; }
    if (!in_window(ns, sig->height)) { ns->stats.sigs_outside++; return; }
    note_checkpoint_t cp;
    char text[NOTE_CHECKPOINT_TEXT_MAX];
    size_t len;
    text_of(ns, sig->log_size, &sig->root, &cp, text, &len);
    if (note_sig_verify(&sig->sig, &ns->vs.members[peer].node_key, text, len) != QC_OK) {
        ns->stats.sigs_bad++;
        return;
    }
    notes_slot_t *s = slot_for(ns, sig->height);
    notes_sig_t *g = &s->sigs[peer];
    if (g->have) {
        ns->stats.sigs_duplicate++;
        if (g->log_size != sig->log_size || memcmp(g->root.b, sig->root.b, 32) != 0)
            QC_LOG_RATED(&ns->log_conflict, ns->now_ms, QC_LOG_ERROR,
                         "validator %s signed two different checkpoints for height %llu",
                         ns->vs.members[peer].name, (unsigned long long)sig->height);
        return;
    }
    g->have = true;
    g->log_size = sig->log_size;
    g->root = sig->root;
    g->sig = sig->sig;
    match(ns, s, peer);
    maybe_quorum(ns, s);
}

void notes_on_peer_up(notes_t *ns, uint32_t peer) {
    if (ns->has_own && ns->send && peer < ns->vs.n && peer != ns->self)
        ns->send(ns->user, peer, &ns->own);
}

const note_signed_t *notes_latest(const notes_t *ns, uint64_t *height) {
    if (!ns->has_latest) return NULL;
    if (height) *height = ns->latest_height;
    return &ns->latest;
}
