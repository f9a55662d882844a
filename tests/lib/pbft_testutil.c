/* pbft_testutil.c - fake signatures and message-body copies for PBFT tests and benchmarks. */
#include <stdlib.h>
#include <string.h>

#include "pbft_testutil.h"

typedef struct {
    pbft_new_view_t nv;
    pbft_view_change_t vcs[PBFT_Q_MAX];
} nv_blob_t;

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void pbft_fake_sign(uint64_t key, const pbft_stmt_t *st, qc_sig_t *sig) {
    uint64_t h = mix64(key ^ st->type);
    uint64_t w[4] = {st->replica, st->epoch, st->view, st->height};
    for (int i = 0; i < 4; i++) h = mix64(h ^ w[i]);
    for (int i = 0; i < 32; i += 8) {
        uint64_t a, b;
        memcpy(&a, st->digest.b + i, 8);
        memcpy(&b, st->parent.b + i, 8);
        h = mix64(h ^ a);
        h = mix64(h ^ b);
    }
    for (int i = 0; i < 8; i++) {
        h = mix64(h + (uint64_t)i);
        memcpy(sig->b + 8 * i, &h, 8);
    }
}

bool pbft_fake_verify(uint64_t key, const pbft_stmt_t *st, const qc_sig_t *sig) {
    qc_sig_t want;
    pbft_fake_sign(key, st, &want);
    return memcmp(want.b, sig->b, QC_SIG_BYTES) == 0;
}

void *pbft_body_copy(const pbft_msg_t *m) {
    if (m->type == PBFT_MSG_VIEW_CHANGE && m->vc) {
        pbft_view_change_t *vc = malloc(sizeof *vc);
        QC_ASSERT(vc != NULL);
        *vc = *m->vc;
        return vc;
    }
    if (m->type == PBFT_MSG_NEW_VIEW && m->nv) {
        nv_blob_t *b = malloc(sizeof *b);
        QC_ASSERT(b != NULL);
        b->nv = *m->nv;
        for (uint8_t i = 0; i < m->nv->vc_count && i < PBFT_Q_MAX; i++) b->vcs[i] = *m->nv->vcs[i];
        return b;
    }
    if (m->type == PBFT_MSG_COMMIT_CERT && m->cert) {
        pbft_commit_cert_t *c = malloc(sizeof *c);
        QC_ASSERT(c != NULL);
        *c = *m->cert;
        return c;
    }
    if (m->type == PBFT_MSG_CHECKPOINT_CERT && m->ckpt) {
        pbft_checkpoint_cert_t *c = malloc(sizeof *c);
        QC_ASSERT(c != NULL);
        *c = *m->ckpt;
        return c;
    }
    return NULL;
}

static nv_blob_t *nv_copy(const pbft_new_view_t *nv) {
    nv_blob_t *b = malloc(sizeof *b);
    QC_ASSERT(b != NULL);
    b->nv = *nv;
    for (uint8_t i = 0; i < nv->vc_count && i < PBFT_Q_MAX; i++) {
        b->vcs[i] = *nv->vcs[i];
        b->nv.vcs[i] = &b->vcs[i];
    }
    return b;
}

void pbft_rec_copy(pbft_persist_t *dst, const pbft_persist_t *src) {
    *dst = *src;
    if (src->kind == PBFT_REC_NEW_VIEW) {
        dst->new_view = &nv_copy(src->new_view)->nv; /* nv is the blob's first member */
    } else if (src->kind == PBFT_REC_FINAL) {
        pbft_finals_t *f = malloc(sizeof *f);
        QC_ASSERT(f != NULL);
        *f = *src->finals;
        dst->finals = f;
    }
}

void pbft_rec_free(pbft_persist_t *r) {
    if (r->kind == PBFT_REC_NEW_VIEW) free((void *)r->new_view);
    else if (r->kind == PBFT_REC_FINAL) free((void *)r->finals);
    r->new_view = NULL;
    r->finals = NULL;
}

void pbft_body_bind(pbft_msg_t *m, void *blob) {
    m->vc = NULL;
    m->nv = NULL;
    m->cert = NULL;
    m->ckpt = NULL;
    if (!blob) return;
    if (m->type == PBFT_MSG_VIEW_CHANGE) m->vc = blob;
    if (m->type == PBFT_MSG_COMMIT_CERT) m->cert = blob;
    if (m->type == PBFT_MSG_CHECKPOINT_CERT) m->ckpt = blob;
    if (m->type == PBFT_MSG_NEW_VIEW) {
        nv_blob_t *b = blob;
        for (uint8_t i = 0; i < b->nv.vc_count && i < PBFT_Q_MAX; i++) b->nv.vcs[i] = &b->vcs[i];
        m->nv = &b->nv;
    }
}
