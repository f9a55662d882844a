/* wire.c - strict protobuf encoding and decoding of node-to-node messages, and the canonical
 * statement bytes behind every consensus signature. */
#include "wire.h"
#include "wire.pb-c.h"
#include "merkle.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* ---------------------------------------------------------------- allocation arena (encode) */

/* Encoding a NEW-VIEW builds up to a few thousand small protobuf structs; they are carved from
 * blocks in a list and freed together after packing. */
typedef struct arena_block { struct arena_block *next; } arena_block_t;
typedef struct { arena_block_t *head; bool failed; } arena_t;

static void *arena_alloc(arena_t *a, size_t size) {
    arena_block_t *b = calloc(1, sizeof *b + size + 16);
    if (b == NULL) { a->failed = true; return NULL; }
    b->next = a->head;
    a->head = b;
    return (uint8_t *)b + sizeof *b + (16 - sizeof *b % 16) % 16;
}

static void arena_free(arena_t *a) {
    for (arena_block_t *b = a->head, *n; b; b = n) { n = b->next; free(b); }
    a->head = NULL;
}

static ProtobufCBinaryData bin(const void *p, size_t n) {
    ProtobufCBinaryData d = {n, (uint8_t *)p};
    return d;
}

/* ---------------------------------------------------------------- encode */

static Qchain__Wire__VoteSig **enc_sigs(arena_t *a, const pbft_vote_sig_t *sigs, uint8_t n) {
    Qchain__Wire__VoteSig **v = arena_alloc(a, sizeof *v * (n ? n : 1));
    Qchain__Wire__VoteSig *s = arena_alloc(a, sizeof *s * (n ? n : 1));
    if (v == NULL || s == NULL) return NULL;
    for (uint8_t i = 0; i < n; i++) {
        qchain__wire__vote_sig__init(&s[i]);
        s[i].replica = sigs[i].replica;
        s[i].sig = bin(sigs[i].sig.b, QC_SIG_BYTES);
        v[i] = &s[i];
    }
    return v;
}

static Qchain__Wire__CheckpointCert *enc_ckpt(arena_t *a, const pbft_checkpoint_cert_t *c) {
    Qchain__Wire__CheckpointCert *m = arena_alloc(a, sizeof *m);
    if (m == NULL) return NULL;
    qchain__wire__checkpoint_cert__init(m);
    m->height = c->height;
    m->digest = bin(c->digest.b, 32);
    m->n_sigs = c->count;
    m->sigs = enc_sigs(a, c->sigs, c->count);
    return m;
}

static Qchain__Wire__ViewChange *enc_vc(arena_t *a, const pbft_view_change_t *vc) {
    Qchain__Wire__ViewChange *m = arena_alloc(a, sizeof *m);
    Qchain__Wire__PreparedCert *pcs = arena_alloc(a, sizeof *pcs * PBFT_WINDOW_MAX);
    Qchain__Wire__PreparedCert **pp = arena_alloc(a, sizeof *pp * PBFT_WINDOW_MAX);
    if (m == NULL || pcs == NULL || pp == NULL) return NULL;
    qchain__wire__view_change__init(m);
    m->epoch = vc->epoch;
    m->view = vc->view;
    m->replica = vc->replica;
    m->stable = enc_ckpt(a, &vc->stable);
    for (uint8_t i = 0; i < vc->prepared_count && i < PBFT_WINDOW_MAX; i++) {
        const pbft_prepared_cert_t *c = &vc->prepared[i];
        qchain__wire__prepared_cert__init(&pcs[i]);
        pcs[i].view = c->view;
        pcs[i].height = c->height;
        pcs[i].digest = bin(c->digest.b, 32);
        pcs[i].parent = bin(c->parent.b, 32);
        pcs[i].n_sigs = c->count;
        pcs[i].sigs = enc_sigs(a, c->sigs, c->count);
        pp[i] = &pcs[i];
    }
    m->n_prepared = vc->prepared_count;
    m->prepared = pp;
    m->sig = bin(vc->sig.b, QC_SIG_BYTES);
    return m;
}

static Qchain__Wire__CommitCertBody *enc_cert(arena_t *a, const pbft_commit_cert_t *c) {
    Qchain__Wire__CommitCertBody *m = arena_alloc(a, sizeof *m);
    if (m == NULL) return NULL;
    qchain__wire__commit_cert_body__init(m);
    m->epoch = c->epoch;
    m->height = c->height;
    m->view = c->view;
    m->digest = bin(c->digest.b, 32);
    m->n_sigs = c->count;
    m->sigs = enc_sigs(a, c->sigs, c->count);
    return m;
}

static Qchain__Wire__NewView *enc_nv(arena_t *a, const pbft_new_view_t *nv) {
    Qchain__Wire__NewView *m = arena_alloc(a, sizeof *m);
    Qchain__Wire__ViewChange **vcs = arena_alloc(a, sizeof *vcs * PBFT_Q_MAX);
    Qchain__Wire__NewViewEntry *es = arena_alloc(a, sizeof *es * PBFT_WINDOW_MAX);
    Qchain__Wire__NewViewEntry **ep = arena_alloc(a, sizeof *ep * PBFT_WINDOW_MAX);
    if (m == NULL || vcs == NULL || es == NULL || ep == NULL) return NULL;
    qchain__wire__new_view__init(m);
    m->epoch = nv->epoch;
    m->view = nv->view;
    m->replica = nv->replica;
    for (uint8_t i = 0; i < nv->vc_count && i < PBFT_Q_MAX; i++) vcs[i] = enc_vc(a, nv->vcs[i]);
    m->n_vcs = nv->vc_count;
    m->vcs = vcs;
    m->base_checkpoint = enc_ckpt(a, &nv->base);
    for (uint8_t i = 0; i < nv->entry_count && i < PBFT_WINDOW_MAX; i++) {
        qchain__wire__new_view_entry__init(&es[i]);
        es[i].height = nv->entries[i].height;
        es[i].digest = bin(nv->entries[i].digest.b, 32);
        es[i].parent = bin(nv->entries[i].parent.b, 32);
        es[i].sig = bin(nv->entries[i].sig.b, QC_SIG_BYTES);
        ep[i] = &es[i];
    }
    m->n_entries = nv->entry_count;
    m->entries = ep;
    m->sig = bin(nv->sig.b, QC_SIG_BYTES);
    return m;
}

static int pack_envelope(const Qchain__Wire__Envelope *e, uint8_t **out, size_t *len) {
    *len = qchain__wire__envelope__get_packed_size(e);
    *out = malloc(*len ? *len : 1);
    if (*out == NULL) return QC_ERR_NOMEM;
    qchain__wire__envelope__pack(e, *out);
    return QC_OK;
}

int wire_encode_consensus(const pbft_msg_t *m, const uint8_t *block, size_t block_len,
                          const uint8_t *compact, size_t compact_len, uint8_t **out, size_t *len) {
    if (block_len && compact_len) return QC_ERR_INVALID;
    arena_t a = {NULL, false};
    Qchain__Wire__Consensus c = QCHAIN__WIRE__CONSENSUS__INIT;
    c.type = (uint32_t)m->type;
    c.from = m->from;
    c.epoch = m->epoch;
    c.view = m->view;
    c.height = m->height;
    c.digest = bin(m->digest.b, 32);
    c.parent = bin(m->parent.b, 32);
    c.sig = bin(m->sig.b, QC_SIG_BYTES);
    if (m->type == PBFT_MSG_VIEW_CHANGE && m->vc) c.vc = enc_vc(&a, m->vc);
    if (m->type == PBFT_MSG_NEW_VIEW && m->nv) c.nv = enc_nv(&a, m->nv);
    if (m->type == PBFT_MSG_COMMIT_CERT && m->cert) c.cert = enc_cert(&a, m->cert);
    if (m->type == PBFT_MSG_CHECKPOINT_CERT && m->ckpt) c.ckpt = enc_ckpt(&a, m->ckpt);
    if (block && block_len) c.block = bin(block, block_len);
    if (compact && compact_len) c.compact = bin(compact, compact_len);
    Qchain__Wire__Envelope e = QCHAIN__WIRE__ENVELOPE__INIT;
    e.kind_case = QCHAIN__WIRE__ENVELOPE__KIND_CONSENSUS;
    e.consensus = &c;
    int rc = a.failed ? QC_ERR_NOMEM : pack_envelope(&e, out, len);
    arena_free(&a);
    return rc;
}

int wire_encode_tx(const uint8_t *tx, size_t tx_len, uint8_t **out, size_t *len) {
    Qchain__Wire__Envelope e = QCHAIN__WIRE__ENVELOPE__INIT;
    e.kind_case = QCHAIN__WIRE__ENVELOPE__KIND_TX;
    e.tx = bin(tx, tx_len);
    return pack_envelope(&e, out, len);
}

int wire_encode_fetch(uint64_t from_height, uint32_t max, uint8_t **out, size_t *len) {
    Qchain__Wire__FetchBlocks f = QCHAIN__WIRE__FETCH_BLOCKS__INIT;
    f.from_height = from_height;
    f.max = max;
    Qchain__Wire__Envelope e = QCHAIN__WIRE__ENVELOPE__INIT;
    e.kind_case = QCHAIN__WIRE__ENVELOPE__KIND_FETCH;
    e.fetch = &f;
    return pack_envelope(&e, out, len);
}

int wire_encode_blocks(uint32_t n, const uint8_t *const *blocks, const size_t *block_lens,
                       const uint8_t *const *certs, const size_t *cert_lens,
                       const wire_head_t *head, uint8_t **out, size_t *len) {
    if (n > WIRE_BLOCKS_MAX) return QC_ERR_TOOBIG;
    Qchain__Wire__StoredBlock sb[WIRE_BLOCKS_MAX];
    Qchain__Wire__StoredBlock *ptrs[WIRE_BLOCKS_MAX];
    for (uint32_t i = 0; i < n; i++) {
        qchain__wire__stored_block__init(&sb[i]);
        sb[i].block = bin(blocks[i], block_lens[i]);
        sb[i].cert = bin(certs[i], cert_lens[i]);
        ptrs[i] = &sb[i];
    }
    Qchain__Wire__Blocks b = QCHAIN__WIRE__BLOCKS__INIT;
    b.n_blocks = n;
    b.blocks = ptrs;
    b.head_height = head->height;
    b.view = head->view;
    b.peers_up = head->peers_up;
    Qchain__Wire__Envelope e = QCHAIN__WIRE__ENVELOPE__INIT;
    e.kind_case = QCHAIN__WIRE__ENVELOPE__KIND_BLOCKS;
    e.blocks = &b;
    return pack_envelope(&e, out, len);
}

int wire_encode_body_request(const qc_hash_t *digest, const qc_hash_t *missing, uint32_t count,
                             uint8_t **out, size_t *len) {
    if (count > WIRE_MISSING_MAX) return QC_ERR_INVALID;
    Qchain__Wire__BodyRequest r = QCHAIN__WIRE__BODY_REQUEST__INIT;
    r.digest = bin(digest->b, 32);
    ProtobufCBinaryData ids[WIRE_MISSING_MAX];
    for (uint32_t i = 0; i < count; i++) ids[i] = bin(missing[i].b, 32);
    r.n_missing = count;
    r.missing = count ? ids : NULL;
    Qchain__Wire__Envelope e = QCHAIN__WIRE__ENVELOPE__INIT;
    e.kind_case = QCHAIN__WIRE__ENVELOPE__KIND_BODY_REQUEST;
    e.body_request = &r;
    return pack_envelope(&e, out, len);
}

int wire_encode_body(const uint8_t *block, size_t block_len, const uint8_t *compact,
                     size_t compact_len, uint8_t **out, size_t *len) {
    if ((block_len > 0) == (compact_len > 0)) return QC_ERR_INVALID;
    Qchain__Wire__Body b = QCHAIN__WIRE__BODY__INIT;
    if (block_len) b.block = bin(block, block_len);
    if (compact_len) b.compact = bin(compact, compact_len);
    Qchain__Wire__Envelope e = QCHAIN__WIRE__ENVELOPE__INIT;
    e.kind_case = QCHAIN__WIRE__ENVELOPE__KIND_BODY;
    e.body = &b;
    return pack_envelope(&e, out, len);
}

int wire_encode_note_sig(const wire_note_sig_t *ns, uint8_t **out, size_t *len) {
    Qchain__Wire__NoteSig m = QCHAIN__WIRE__NOTE_SIG__INIT;
    m.height = ns->height;
    m.log_size = ns->log_size;
    m.root = bin(ns->root.b, 32);
    m.sig = bin(ns->sig.b, QC_SIG_BYTES);
    Qchain__Wire__Envelope e = QCHAIN__WIRE__ENVELOPE__INIT;
    e.kind_case = QCHAIN__WIRE__ENVELOPE__KIND_NOTE_SIG;
    e.note_sig = &m;
    return pack_envelope(&e, out, len);
}

/* ---------------------------------------------------------------- decode */

static bool get_hash(ProtobufCBinaryData d, qc_hash_t *out) {
    if (d.len != 32) return false;
    memcpy(out->b, d.data, 32);
    return true;
}

static bool get_sig(ProtobufCBinaryData d, qc_sig_t *out) {
    if (d.len != QC_SIG_BYTES) return false;
    memcpy(out->b, d.data, QC_SIG_BYTES);
    return true;
}

static bool dec_sigs(size_t n, Qchain__Wire__VoteSig *const *in, pbft_vote_sig_t *out,
                     uint8_t *count) {
    if (n > PBFT_Q_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        if (in[i]->replica >= PBFT_N_MAX || !get_sig(in[i]->sig, &out[i].sig)) return false;
        out[i].replica = (uint16_t)in[i]->replica;
    }
    *count = (uint8_t)n;
    return true;
}

static bool dec_ckpt(const Qchain__Wire__CheckpointCert *in, pbft_checkpoint_cert_t *out) {
    memset(out, 0, sizeof *out);
    if (in == NULL) return false;
    out->height = in->height;
    return get_hash(in->digest, &out->digest) && dec_sigs(in->n_sigs, in->sigs, out->sigs, &out->count);
}

static bool dec_vc(const Qchain__Wire__ViewChange *in, pbft_view_change_t *out) {
    memset(out, 0, sizeof *out);
    if (in == NULL || in->replica >= PBFT_N_MAX || in->n_prepared > PBFT_WINDOW_MAX) return false;
    out->epoch = in->epoch;
    out->view = in->view;
    out->replica = (uint16_t)in->replica;
    if (!dec_ckpt(in->stable, &out->stable) || !get_sig(in->sig, &out->sig)) return false;
    for (size_t i = 0; i < in->n_prepared; i++) {
        const Qchain__Wire__PreparedCert *p = in->prepared[i];
        pbft_prepared_cert_t *c = &out->prepared[i];
        c->view = p->view;
        c->height = p->height;
        if (!get_hash(p->digest, &c->digest) || !get_hash(p->parent, &c->parent) ||
            !dec_sigs(p->n_sigs, p->sigs, c->sigs, &c->count))
            return false;
    }
    out->prepared_count = (uint8_t)in->n_prepared;
    return true;
}

static bool dec_nv(const Qchain__Wire__NewView *in, wire_scratch_t *s) {
    pbft_new_view_t *out = &s->nv;
    memset(out, 0, sizeof *out);
    if (in == NULL || in->replica >= PBFT_N_MAX || in->n_vcs > PBFT_Q_MAX ||
        in->n_entries > PBFT_WINDOW_MAX)
        return false;
    out->epoch = in->epoch;
    out->view = in->view;
    out->replica = (uint16_t)in->replica;
    for (size_t i = 0; i < in->n_vcs; i++) {
        if (!dec_vc(in->vcs[i], &s->nv_vcs[i])) return false;
        out->vcs[i] = &s->nv_vcs[i];
    }
    out->vc_count = (uint8_t)in->n_vcs;
    if (!dec_ckpt(in->base_checkpoint, &out->base) || !get_sig(in->sig, &out->sig)) return false;
    for (size_t i = 0; i < in->n_entries; i++) {
        const Qchain__Wire__NewViewEntry *e = in->entries[i];
        out->entries[i].height = e->height;
        if (!get_hash(e->digest, &out->entries[i].digest) ||
            !get_hash(e->parent, &out->entries[i].parent) || !get_sig(e->sig, &out->entries[i].sig))
            return false;
    }
    out->entry_count = (uint8_t)in->n_entries;
    return true;
}

static bool dec_cert(const Qchain__Wire__CommitCertBody *in, pbft_commit_cert_t *out) {
    memset(out, 0, sizeof *out);
    out->epoch = in->epoch;
    out->height = in->height;
    out->view = in->view;
    return get_hash(in->digest, &out->digest) && dec_sigs(in->n_sigs, in->sigs, out->sigs, &out->count);
}

/* A CHECKPOINT-CERT body: a quorum's signatures (never none: unlike an epoch's base
 * checkpoint it is not trusted from configuration), naming the header's height and digest. */
static bool dec_ckpt_msg(const Qchain__Wire__CheckpointCert *in, const pbft_msg_t *m,
                         pbft_checkpoint_cert_t *out) {
    return dec_ckpt(in, out) && out->count > 0 && out->height == m->height &&
           memcmp(out->digest.b, m->digest.b, 32) == 0;
}

static bool dec_consensus(const Qchain__Wire__Consensus *c, wire_scratch_t *s, wire_msg_t *out) {
    pbft_msg_t *m = &out->consensus;
    if (c->type < PBFT_MSG_PREPREPARE || c->type > PBFT_MSG_CHECKPOINT_CERT ||
        c->from >= PBFT_N_MAX)
        return false;
    m->type = (pbft_msg_type_t)c->type;
    m->from = (uint16_t)c->from;
    m->epoch = c->epoch;
    m->view = c->view;
    m->height = c->height;
    if (!get_hash(c->digest, &m->digest) || !get_hash(c->parent, &m->parent) ||
        !get_sig(c->sig, &m->sig))
        return false;
    if ((c->vc != NULL) != (m->type == PBFT_MSG_VIEW_CHANGE)) return false;
    if ((c->nv != NULL) != (m->type == PBFT_MSG_NEW_VIEW)) return false;
    if ((c->cert != NULL) != (m->type == PBFT_MSG_COMMIT_CERT)) return false;
    if ((c->ckpt != NULL) != (m->type == PBFT_MSG_CHECKPOINT_CERT)) return false;
    if (c->cert) {
        if (!dec_cert(c->cert, &s->cert)) return false;
        m->cert = &s->cert;
    }
    if (c->ckpt) {
        if (!dec_ckpt_msg(c->ckpt, m, &s->ckpt)) return false;
        m->ckpt = &s->ckpt;
    }
    if (c->vc) {
        if (!dec_vc(c->vc, &s->vc)) return false;
        m->vc = &s->vc;
    }
    if (c->nv) {
        if (!dec_nv(c->nv, s)) return false;
        m->nv = &s->nv;
    }
    if ((c->block.len || c->compact.len) && m->type != PBFT_MSG_PREPREPARE) return false;
    if (c->block.len && c->compact.len) return false;
    out->bytes = c->block.data;
    out->len = c->block.len;
    out->compact = c->compact.len ? c->compact.data : NULL;
    out->compact_len = c->compact.len;
    return true;
}

static bool dec_blocks(const Qchain__Wire__Blocks *b, wire_msg_t *out) {
    if (b->n_blocks > WIRE_BLOCKS_MAX) return false;
    for (size_t i = 0; i < b->n_blocks; i++) {
        out->blocks[i] = b->blocks[i]->block.data;
        out->block_lens[i] = b->blocks[i]->block.len;
        out->certs[i] = b->blocks[i]->cert.data;
        out->cert_lens[i] = b->blocks[i]->cert.len;
    }
    out->block_count = (uint32_t)b->n_blocks;
    out->head_height = b->head_height;
    out->head_view = b->view;
    out->head_peers_up = b->peers_up;
    return true;
}

static bool dec_note_sig(const Qchain__Wire__NoteSig *m, wire_note_sig_t *out) {
    out->height = m->height;
    out->log_size = m->log_size;
    return m->height > 0 && m->log_size <= MERKLE_SIZE_MAX && get_hash(m->root, &out->root) &&
           get_sig(m->sig, &out->sig);
}

int wire_decode(const uint8_t *buf, size_t len, wire_scratch_t *scratch, wire_msg_t *out) {
    memset(out, 0, sizeof *out);
    Qchain__Wire__Envelope *e = qchain__wire__envelope__unpack(NULL, len, buf);
    if (e == NULL) return QC_ERR_INVALID;
    bool ok = false;
    switch (e->kind_case) {
    case QCHAIN__WIRE__ENVELOPE__KIND_CONSENSUS:
        out->kind = WIRE_CONSENSUS;
        ok = dec_consensus(e->consensus, scratch, out);
        break;
    case QCHAIN__WIRE__ENVELOPE__KIND_TX:
        out->kind = WIRE_TX;
        out->bytes = e->tx.data;
        out->len = e->tx.len;
        ok = e->tx.len > 0;
        break;
    case QCHAIN__WIRE__ENVELOPE__KIND_FETCH:
        out->kind = WIRE_FETCH;
        out->from_height = e->fetch->from_height;
        out->max = e->fetch->max;
        ok = out->from_height > 0;
        break;
    case QCHAIN__WIRE__ENVELOPE__KIND_BLOCKS:
        out->kind = WIRE_BLOCKS;
        ok = dec_blocks(e->blocks, out);
        break;
    case QCHAIN__WIRE__ENVELOPE__KIND_BODY_REQUEST:
        out->kind = WIRE_BODY_REQUEST;
        ok = get_hash(e->body_request->digest, &out->digest) &&
             e->body_request->n_missing <= WIRE_MISSING_MAX;
        for (size_t i = 0; ok && i < e->body_request->n_missing; i++) {
            ok = e->body_request->missing[i].len == 32;
            out->missing[i] = e->body_request->missing[i].data;
        }
        if (ok) out->missing_count = (uint32_t)e->body_request->n_missing;
        break;
    case QCHAIN__WIRE__ENVELOPE__KIND_BODY:
        out->kind = WIRE_BODY;
        out->bytes = e->body->block.data;
        out->len = e->body->block.len;
        out->compact = e->body->compact.len ? e->body->compact.data : NULL;
        out->compact_len = e->body->compact.len;
        ok = (out->len > 0) != (out->compact_len > 0);
        break;
    case QCHAIN__WIRE__ENVELOPE__KIND_NOTE_SIG:
        out->kind = WIRE_NOTE_SIG;
        ok = dec_note_sig(e->note_sig, &out->note_sig);
        break;
    default:
        break;
    }
    if (!ok) {
        qchain__wire__envelope__free_unpacked(e, NULL);
        memset(out, 0, sizeof *out);
        return QC_ERR_INVALID;
    }
    out->pb = e;
    return QC_OK;
}

void wire_msg_free(wire_msg_t *m) {
    if (m->pb) qchain__wire__envelope__free_unpacked(m->pb, NULL);
    m->pb = NULL;
}

/* ---------------------------------------------------------------- statements and signatures */

size_t wire_stmt_bytes(const pbft_stmt_t *s, const char *chain_id,
                       uint8_t out[WIRE_STMT_BYTES_MAX], const char **ctx) {
    if (s->type == PBFT_MSG_COMMIT) {
        *ctx = QC_CTX_COMMIT;
        return qc_commit_vote_bytes(out, chain_id, s->epoch, s->height, s->view, &s->digest);
    }
    size_t cl = strnlen(chain_id, QC_CHAIN_ID_MAX);
    uint8_t *p = out;
    if (s->type == PBFT_MSG_CHECKPOINT) {
        *ctx = QC_CTX_CHECKPOINT;
        *p++ = (uint8_t)cl;
        memcpy(p, chain_id, cl); p += cl;
        qc_put_u64(p, s->epoch); p += 8;
        qc_put_u64(p, s->height); p += 8;
        memcpy(p, s->digest.b, 32); p += 32;
        return (size_t)(p - out);
    }
    *ctx = QC_CTX_CONSENSUS;
    *p++ = s->type;
    *p++ = (uint8_t)cl;
    memcpy(p, chain_id, cl); p += cl;
    qc_put_u16(p, s->replica); p += 2;
    qc_put_u64(p, s->epoch); p += 8;
    qc_put_u64(p, s->view); p += 8;
    qc_put_u64(p, s->height); p += 8;
    memcpy(p, s->digest.b, 32); p += 32;
    memcpy(p, s->parent.b, 32); p += 32;
    return (size_t)(p - out);
}

void wire_sign_cb(void *ctx, const pbft_stmt_t *stmt, qc_sig_t *sig) {
    wire_crypto_t *c = ctx;
    uint8_t buf[WIRE_STMT_BYTES_MAX];
    const char *dctx;
    size_t n = wire_stmt_bytes(stmt, c->chain_id, buf, &dctx);
    qc_sign_ctx(sig, &c->node_sk, dctx, buf, n);
}

void wire_crypto_init(wire_crypto_t *c, const char *chain_id,
                      const qc_validator_set_t *validators, store_t *store,
                      const qc_seckey_t *node_sk) {
    memset(c, 0, sizeof *c);
    c->chain_id = chain_id;
    c->validators = validators;
    c->store = store;
    c->node_sk = *node_sk;
}

/* An older epoch's node keys: from the cache, else read from the store once and kept. NULL
 * when the store does not know the epoch (or cannot read it: logged by the store). */
static const wire_epoch_keys_t *older_epoch_keys(wire_crypto_t *c, uint64_t epoch) {
    for (uint32_t i = 0; i < WIRE_EPOCH_CACHE; i++)
        if (c->cache[i].valid && c->cache[i].epoch == epoch) return &c->cache[i];
    if (c->store == NULL) return NULL;
    qc_validator_set_t vs; /* ~8 KB, on a miss only */
    c->epoch_reads++;
    if (store_validators(c->store, epoch, &vs) != QC_OK || vs.epoch != epoch) return NULL;
    wire_epoch_keys_t *k = &c->cache[c->cache_next];
    c->cache_next = (c->cache_next + 1) % WIRE_EPOCH_CACHE;
    k->valid = true;
    k->epoch = epoch;
    k->n = vs.n;
    for (uint32_t i = 0; i < vs.n; i++) k->node_keys[i] = vs.members[i].node_key;
    return k;
}

/* The node key of `replica` in `epoch`, or NULL if there is none. */
static const qc_pubkey_t *node_key_of(wire_crypto_t *c, uint64_t epoch, uint16_t replica) {
    const qc_validator_set_t *cur = c->validators;
    if (epoch == cur->epoch) return replica < cur->n ? &cur->members[replica].node_key : NULL;
    if (epoch > cur->epoch) return NULL; /* not in this node's ledger (yet) */
    const wire_epoch_keys_t *k = older_epoch_keys(c, epoch);
    return k != NULL && replica < k->n ? &k->node_keys[replica] : NULL;
}

bool wire_verify_cb(void *ctx, const pbft_stmt_t *stmt, const qc_sig_t *sig) {
    wire_crypto_t *c = ctx;
    const qc_pubkey_t *key = node_key_of(c, stmt->epoch, stmt->replica);
    if (key == NULL) return false;
    uint8_t buf[WIRE_STMT_BYTES_MAX];
    const char *dctx;
    size_t n = wire_stmt_bytes(stmt, c->chain_id, buf, &dctx);
    return qc_verify_ctx(sig, key, dctx, buf, n) == QC_OK;
}

void wire_crypto_wipe(wire_crypto_t *c) { sodium_memzero(&c->node_sk, sizeof c->node_sk); }

void wire_cert_from_pbft(const pbft_commit_cert_t *in, qc_cert_t *out) {
    memset(out, 0, sizeof *out);
    out->epoch = in->epoch;
    out->height = in->height;
    out->view = in->view;
    out->block_hash = in->digest;
    for (uint8_t i = 0; i < in->count && i < PBFT_Q_MAX; i++) {
        out->votes[i].validator = in->sigs[i].replica;
        out->votes[i].sig = in->sigs[i].sig;
    }
    out->vote_count = in->count;
}
