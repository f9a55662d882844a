/* pbft_cert.c - quorum arithmetic, signed statements, content hashes, certificate checks and
 * the deterministic NEW-VIEW computation of the PBFT core. */
#include "pbft_internal.h"

int pbft_max_faulty(int n) {
    QC_ASSERT(n >= 1);
    return (n - 1) / 3;
}

int pbft_quorum(int n) {
    int f = pbft_max_faulty(n);
    return (n + f + 1 + 1) / 2; /* ceil((n+f+1)/2) */
}

const char *pbft_msg_type_name(int type) {
    switch (type) {
    case PBFT_MSG_PREPREPARE: return "PRE-PREPARE";
    case PBFT_MSG_PREPARE: return "PREPARE";
    case PBFT_MSG_COMMIT: return "COMMIT";
    case PBFT_MSG_CHECKPOINT: return "CHECKPOINT";
    case PBFT_MSG_VIEW_CHANGE: return "VIEW-CHANGE";
    case PBFT_MSG_NEW_VIEW: return "NEW-VIEW";
    case PBFT_MSG_HEARTBEAT: return "HEARTBEAT";
    case PBFT_MSG_COMMIT_CERT: return "COMMIT-CERT";
    default: return "UNKNOWN";
    }
}

void pbft_stmt_make(pbft_stmt_t *st, int type, uint16_t replica, uint64_t epoch, uint64_t view,
                    uint64_t height, const qc_hash_t *digest, const qc_hash_t *parent) {
    memset(st, 0, sizeof *st);
    st->type = (uint8_t)type;
    st->replica = replica;
    st->epoch = epoch;
    st->view = view;
    st->height = height;
    if (digest) st->digest = *digest;
    if (parent) st->parent = *parent;
}

void pbft_msg_stmt(const pbft_msg_t *m, pbft_stmt_t *out) {
    bool with_parent = m->type == PBFT_MSG_PREPREPARE || m->type == PBFT_MSG_PREPARE;
    bool with_view = m->type != PBFT_MSG_CHECKPOINT;
    pbft_stmt_make(out, m->type, m->from, m->epoch, with_view ? m->view : 0, m->height,
                   m->type == PBFT_MSG_HEARTBEAT ? NULL : &m->digest,
                   with_parent ? &m->parent : NULL);
}

bool pbft_verify_counted(pbft_verify_cb verify, void *ctx, uint64_t *counter,
                         const pbft_stmt_t *st, const qc_sig_t *sig) {
    if (counter) (*counter)++;
    return verify(ctx, st, sig);
}

/* ---------------------------------------------------------------- content hashes */
typedef struct {
    uint8_t b[1024];
    size_t n;
} hbuf_t;

static void put_bytes(hbuf_t *h, const void *d, size_t len) {
    QC_ASSERT(h->n + len <= sizeof h->b);
    memcpy(h->b + h->n, d, len);
    h->n += len;
}
static void put_u64(hbuf_t *h, uint64_t v) {
    QC_ASSERT(h->n + 8 <= sizeof h->b);
    qc_put_u64(h->b + h->n, v);
    h->n += 8;
}
static void put_u16(hbuf_t *h, uint16_t v) {
    QC_ASSERT(h->n + 2 <= sizeof h->b);
    qc_put_u16(h->b + h->n, v);
    h->n += 2;
}
static void put_u8(hbuf_t *h, uint8_t v) { put_bytes(h, &v, 1); }

/* Counts come from the network: hashing clamps them (the shape checks reject such messages). */
static void put_sigs(hbuf_t *h, uint8_t count, const pbft_vote_sig_t *sigs) {
    put_u8(h, count);
    if (count > PBFT_Q_MAX) count = PBFT_Q_MAX;
    for (uint8_t i = 0; i < count; i++) {
        put_u16(h, sigs[i].replica);
        put_bytes(h, sigs[i].sig.b, QC_SIG_BYTES);
    }
}

static void put_ckpt(hbuf_t *h, const pbft_checkpoint_cert_t *c) {
    put_u64(h, c->height);
    put_bytes(h, c->digest.b, QC_HASH_BYTES);
    put_sigs(h, c->count, c->sigs);
}

/* Chains the running hash: out = SHA-256(prev || buf). */
static void chain(qc_hash_t *acc, hbuf_t *h) {
    hbuf_t t;
    t.n = 0;
    put_bytes(&t, acc->b, QC_HASH_BYTES);
    put_bytes(&t, h->b, h->n);
    qc_sha256(acc, t.b, t.n);
    h->n = 0;
}

void pbft_view_change_hash(const pbft_view_change_t *vc, qc_hash_t *out) {
    hbuf_t h = {.n = 0};
    static const char tag[] = "qchain-pbft-view-change";
    put_bytes(&h, tag, sizeof tag - 1);
    put_u64(&h, vc->epoch);
    put_u64(&h, vc->view);
    put_u16(&h, vc->replica);
    put_ckpt(&h, &vc->stable);
    put_u8(&h, vc->prepared_count);
    qc_sha256(out, h.b, h.n);
    h.n = 0;
    for (uint8_t i = 0; i < vc->prepared_count && i < PBFT_WINDOW_MAX; i++) {
        const pbft_prepared_cert_t *c = &vc->prepared[i];
        put_u64(&h, c->view);
        put_u64(&h, c->height);
        put_bytes(&h, c->digest.b, QC_HASH_BYTES);
        put_bytes(&h, c->parent.b, QC_HASH_BYTES);
        put_sigs(&h, c->count, c->sigs);
        chain(out, &h);
    }
}

void pbft_new_view_hash(const pbft_new_view_t *nv, qc_hash_t *out) {
    hbuf_t h = {.n = 0};
    static const char tag[] = "qchain-pbft-new-view";
    put_bytes(&h, tag, sizeof tag - 1);
    put_u64(&h, nv->epoch);
    put_u64(&h, nv->view);
    put_u16(&h, nv->replica);
    put_u8(&h, nv->vc_count);
    put_ckpt(&h, &nv->base);
    put_u8(&h, nv->entry_count);
    qc_sha256(out, h.b, h.n);
    h.n = 0;
    for (uint8_t i = 0; i < nv->vc_count && i < PBFT_Q_MAX; i++) {
        qc_hash_t vh;
        pbft_view_change_hash(nv->vcs[i], &vh);
        put_bytes(&h, vh.b, QC_HASH_BYTES);
        put_bytes(&h, nv->vcs[i]->sig.b, QC_SIG_BYTES);
        chain(out, &h);
    }
    for (uint8_t i = 0; i < nv->entry_count && i < PBFT_WINDOW_MAX; i++) {
        const pbft_nv_entry_t *e = &nv->entries[i];
        put_u64(&h, e->height);
        put_bytes(&h, e->digest.b, QC_HASH_BYTES);
        put_bytes(&h, e->parent.b, QC_HASH_BYTES);
        put_bytes(&h, e->sig.b, QC_SIG_BYTES);
        chain(out, &h);
    }
}

/* ---------------------------------------------------------------- certificates */
/* Signers must be members, strictly ascending (so distinct) and at least q of them. */
static int check_signers(uint8_t count, const pbft_vote_sig_t *sigs, uint16_t n) {
    if (n < 1 || n > PBFT_N_MAX) return QC_ERR_INVALID;
    if (count > PBFT_Q_MAX) return QC_ERR_INVALID;
    if (count < pbft_quorum(n)) return QC_ERR_QUORUM;
    for (uint8_t i = 0; i < count; i++) {
        if (sigs[i].replica >= n) return QC_ERR_MEMBER;
        if (i > 0 && sigs[i].replica <= sigs[i - 1].replica) return QC_ERR_QUORUM;
    }
    return QC_OK;
}

/* Verifies every signature of a certificate over one statement template; `primary` (or
 * PBFT_NOT_MEMBER) signs its PRE-PREPARE form and must be among the signers. */
static int check_quorum_sigs(uint8_t count, const pbft_vote_sig_t *sigs, uint16_t n,
                             const pbft_stmt_t *tmpl, uint16_t primary, pbft_verify_cb verify,
                             void *ctx, uint64_t *counter) {
    int rc = check_signers(count, sigs, n);
    if (rc != QC_OK) return rc;
    bool has_primary = primary == PBFT_NOT_MEMBER;
    for (uint8_t i = 0; i < count; i++) {
        pbft_stmt_t st = *tmpl;
        st.replica = sigs[i].replica;
        if (st.replica == primary) {
            st.type = PBFT_MSG_PREPREPARE;
            has_primary = true;
        }
        if (!pbft_verify_counted(verify, ctx, counter, &st, &sigs[i].sig)) return QC_ERR_SIGNATURE;
    }
    return has_primary ? QC_OK : QC_ERR_QUORUM;
}

int pbft_commit_cert_check(const pbft_commit_cert_t *c, uint16_t n, pbft_verify_cb verify,
                           void *ctx, uint64_t *counter) {
    pbft_stmt_t st;
    pbft_stmt_make(&st, PBFT_MSG_COMMIT, 0, c->epoch, c->view, c->height, &c->digest, NULL);
    return check_quorum_sigs(c->count, c->sigs, n, &st, PBFT_NOT_MEMBER, verify, ctx, counter);
}

int pbft_checkpoint_cert_check(const pbft_checkpoint_cert_t *c, uint64_t epoch, uint16_t n,
                               pbft_verify_cb verify, void *ctx, uint64_t *counter) {
    pbft_stmt_t st;
    pbft_stmt_make(&st, PBFT_MSG_CHECKPOINT, 0, epoch, 0, c->height, &c->digest, NULL);
    return check_quorum_sigs(c->count, c->sigs, n, &st, PBFT_NOT_MEMBER, verify, ctx, counter);
}

int pbft_prepared_cert_check(const pbft_prepared_cert_t *c, uint64_t epoch, uint16_t n,
                             pbft_verify_cb verify, void *ctx, uint64_t *counter) {
    if (n < 1 || n > PBFT_N_MAX) return QC_ERR_INVALID;
    pbft_stmt_t st;
    pbft_stmt_make(&st, PBFT_MSG_PREPARE, 0, epoch, c->view, c->height, &c->digest, &c->parent);
    return check_quorum_sigs(c->count, c->sigs, n, &st, (uint16_t)(c->view % n), verify, ctx,
                             counter);
}

int pbft_commit_cert_verify(const pbft_commit_cert_t *c, uint16_t n, pbft_verify_cb verify,
                            void *ctx) {
    return pbft_commit_cert_check(c, n, verify, ctx, NULL);
}
int pbft_checkpoint_cert_verify(const pbft_checkpoint_cert_t *c, uint64_t epoch, uint16_t n,
                                pbft_verify_cb verify, void *ctx) {
    return pbft_checkpoint_cert_check(c, epoch, n, verify, ctx, NULL);
}
int pbft_prepared_cert_verify(const pbft_prepared_cert_t *c, uint64_t epoch, uint16_t n,
                              pbft_verify_cb verify, void *ctx) {
    return pbft_prepared_cert_check(c, epoch, n, verify, ctx, NULL);
}

/* ---------------------------------------------------------------- NEW-VIEW computation */
/* The prepared certificate with the highest view for height among vcs (OSDI §4.4: "the
 * pre-prepare ... with the highest view number"); equal views cannot disagree unless more
 * than f replicas are faulty, and the digest order keeps even that case deterministic. */
static const pbft_prepared_cert_t *best_cert(const pbft_view_change_t *const *vcs, size_t count,
                                             uint64_t height) {
    const pbft_prepared_cert_t *best = NULL;
    for (size_t i = 0; i < count; i++) {
        const pbft_view_change_t *vc = vcs[i];
        for (uint8_t j = 0; j < vc->prepared_count && j < PBFT_WINDOW_MAX; j++) {
            const pbft_prepared_cert_t *c = &vc->prepared[j];
            if (c->height != height) continue;
            if (!best || c->view > best->view ||
                (c->view == best->view && memcmp(c->digest.b, best->digest.b, 32) < 0))
                best = c;
        }
    }
    return best;
}

void pbft_new_view_compute(const pbft_view_change_t *const *vcs, size_t count, uint32_t window,
                           pbft_new_view_t *out) {
    QC_ASSERT(count >= 1 && window <= PBFT_WINDOW_MAX);
    const pbft_checkpoint_cert_t *base = &vcs[0]->stable;
    for (size_t i = 1; i < count; i++)
        if (vcs[i]->stable.height > base->height) base = &vcs[i]->stable;
    out->base = *base;
    out->entry_count = 0;
    qc_hash_t prev = base->digest;
    for (uint32_t k = 0; k < window; k++) {
        uint64_t h = base->height + 1 + k;
        const pbft_prepared_cert_t *c = best_cert(vcs, count, h);
        /* Chaining rule: a gap or a block not extending the chosen parent ends the list;
         * nothing above it can have committed (docs/CONSENSUS.md, "chained commits"). */
        if (!c || !hash_eq(&c->parent, &prev)) break;
        pbft_nv_entry_t *e = &out->entries[out->entry_count++];
        memset(e, 0, sizeof *e);
        e->height = h;
        e->digest = c->digest;
        e->parent = c->parent;
        prev = c->digest;
    }
}
