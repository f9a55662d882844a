/* pbft_cluster.c - the lockstep PBFT test cluster (see pbft_cluster.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pbft_cluster.h"
#include "pbft_testutil.h"

typedef struct {
    pc_t *c;
    int self;
} pc_ctx_t;

static pc_ctx_t ctxs[PBFT_N_MAX + 1]; /* one cluster at a time */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cb_sign(void *ctx, const pbft_stmt_t *st, qc_sig_t *sig) {
    pc_ctx_t *x = ctx;
    QC_ASSERT(st->replica == x->self);
    pbft_fake_sign(x->c->keys[st->replica], st, sig);
}

static bool cb_verify(void *ctx, const pbft_stmt_t *st, const qc_sig_t *sig) {
    pc_ctx_t *x = ctx;
    x->c->verifies++;
    return st->replica <= PBFT_N_MAX && pbft_fake_verify(x->c->keys[st->replica], st, sig);
}

void pc_sign(pc_t *c, int who, const pbft_stmt_t *st, qc_sig_t *sig) {
    pbft_fake_sign(c->keys[who], st, sig);
}

void pc_init(pc_t *c, int n, const pbft_config_t *base) {
    memset(c, 0, sizeof *c);
    c->n = n;
    for (int i = 0; i <= PBFT_N_MAX; i++) c->keys[i] = 0x1234567ULL * (uint64_t)(i + 1) + 99;
    for (int i = 0; i < n; i++) {
        pc_node_t *nd = &c->node[i];
        nd->core = malloc(sizeof(pbft_t));
        QC_ASSERT(nd->core != NULL);
        ctxs[i] = (pc_ctx_t){.c = c, .self = i};
        nd->cfg = *base;
        nd->cfg.epoch = (pbft_epoch_t){.epoch = 0, .n = (uint16_t)n, .self = (uint16_t)i};
        nd->cfg.sign = cb_sign;
        nd->cfg.verify = cb_verify;
        nd->cfg.crypto_ctx = &ctxs[i];
        QC_ASSERT(pbft_init(nd->core, &nd->cfg) == QC_OK);
    }
}

void pc_free(pc_t *c) {
    for (size_t k = c->head; k < c->tail; k++) free(c->q[k].blob);
    free(c->q);
    for (int i = 0; i < c->n; i++) {
        for (size_t k = 0; k < c->node[i].pending_count; k++) pbft_rec_free(&c->node[i].pending[k]);
        for (size_t k = 0; k < c->node[i].disk_count; k++) pbft_rec_free(&c->node[i].disk[k]);
    }
    for (int i = 0; i < c->n; i++) free(c->node[i].core);
}

static void enqueue(pc_t *c, int to, const pbft_msg_t *m) {
    if (c->tail == c->cap) {
        if (c->head > 0) { /* compact */
            memmove(c->q, c->q + c->head, (c->tail - c->head) * sizeof *c->q);
            c->tail -= c->head;
            c->head = 0;
        }
        if (c->tail == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 1024;
            c->q = realloc(c->q, c->cap * sizeof *c->q);
            QC_ASSERT(c->q != NULL);
        }
    }
    pc_item_t *it = &c->q[c->tail++];
    it->to = to;
    it->msg = *m;
    it->blob = pbft_body_copy(m);
    pbft_body_bind(&it->msg, NULL);
}

void pc_inject(pc_t *c, int to, const pbft_msg_t *m) { enqueue(c, to, m); }

static void send(pc_t *c, int from, const pbft_msg_t *m) {
    c->node[from].msgs_sent++;
    for (int to = 0; to < c->n; to++) {
        if (to == from || (m->to != PBFT_BROADCAST && m->to != to)) continue;
        pbft_msg_t copy = *m;
        if (c->filter && !c->filter(c->filter_ctx, from, to, &copy)) continue;
        enqueue(c, to, &copy);
    }
}

static bool same_key(const pbft_persist_t *a, const pbft_persist_t *b) {
    return a->kind == b->kind && a->epoch == b->epoch &&
           (a->kind != PBFT_REC_SLOT || a->slot.height == b->slot.height);
}

/* Stores r (its body now owned by the disk) as a node's store would: it replaces the record
 * with the same key, a checkpoint lets the log below it go, an epoch lets older epochs go
 * (except FINAL, which is about past epochs). */
static void disk_put(pc_node_t *nd, const pbft_persist_t *r) {
    size_t keep = 0;
    for (size_t k = 0; k < nd->disk_count; k++) {
        pbft_persist_t *o = &nd->disk[k];
        bool gone = (o->kind == r->kind && (r->kind == PBFT_REC_FINAL || same_key(o, r))) ||
                    (r->kind == PBFT_REC_CHECKPOINT && o->kind == PBFT_REC_SLOT &&
                     o->slot.height <= r->checkpoint.height) ||
                    (r->kind == PBFT_REC_EPOCH && o->epoch < r->epoch &&
                     o->kind != PBFT_REC_FINAL);
        if (gone) pbft_rec_free(o);
        else nd->disk[keep++] = *o;
    }
    QC_ASSERT(keep < PC_DISK_MAX);
    nd->disk[keep++] = *r;
    nd->disk_count = keep;
}

void pc_persist(pc_t *c, int i) {
    pc_node_t *nd = &c->node[i];
    if (nd->pending_count == 0) return;
    for (size_t k = 0; k < nd->pending_count; k++) disk_put(nd, &nd->pending[k]);
    uint64_t last = nd->pending[nd->pending_count - 1].seq;
    nd->pending_count = 0;
    uint64_t t0 = now_ns();
    QC_ASSERT(pbft_persisted(nd->core, last) == QC_OK);
    c->core_ns += now_ns() - t0;
    pc_drain(c, i);
}

void pc_validate(pc_t *c, int i, bool ok) {
    pc_node_t *nd = &c->node[i];
    size_t count = nd->val_count;
    pbft_validate_t vals[128];
    memcpy(vals, nd->vals, count * sizeof vals[0]);
    nd->val_count = 0;
    for (size_t k = 0; k < count; k++) {
        uint64_t t0 = now_ns();
        (void)pbft_validated(nd->core, vals[k].height, &vals[k].digest, ok);
        c->core_ns += now_ns() - t0;
        pc_drain(c, i);
    }
}

void pc_apply(pc_t *c, int i) {
    QC_ASSERT(pbft_applied(c->node[i].core, c->node[i].height) == QC_OK);
    pc_drain(c, i);
}

static void take(pc_t *c, int i, const pbft_outbox_t *ob) {
    pc_node_t *nd = &c->node[i];
    for (size_t k = 0; k < ob->persist_count; k++) {
        QC_ASSERT(nd->pending_count < 512);
        pbft_rec_copy(&nd->pending[nd->pending_count++], &ob->persist[k]);
    }
    for (size_t k = 0; k < ob->msg_count; k++) send(c, i, &ob->msgs[k]);
    for (size_t k = 0; k < ob->commit_count; k++) {
        const pbft_commit_cert_t *cert = &ob->commits[k].cert;
        QC_ASSERT(cert->height == nd->height + 1);
        nd->height = cert->height;
        nd->ledger[nd->height % PC_HEIGHT_MAX] = cert->digest;
        nd->certs[nd->height % PC_HEIGHT_MAX] = *cert;
    }
    for (size_t k = 0; k < ob->validate_count; k++) {
        QC_ASSERT(nd->val_count < 128);
        nd->vals[nd->val_count++] = ob->validates[k];
    }
    if (ob->fetch) {
        nd->fetching = true;
        nd->fetch = *ob->fetch;
    }
    if (ob->epoch_switch) nd->epoch_switches++;
}

void pc_drain(pc_t *c, int i) {
    pc_node_t *nd = &c->node[i];
    for (int iter = 0; iter < 1000 && !nd->down; iter++) {
        pbft_outbox_t ob;
        pbft_outbox(nd->core, &ob);
        if (!ob.msg_count && !ob.persist_count && !ob.commit_count && !ob.validate_count &&
            !ob.fetch && !ob.epoch_switch)
            break;
        take(c, i, &ob);
        pbft_outbox_clear(nd->core);
        uint64_t t0 = now_ns();
        if (!nd->hold_apply) QC_ASSERT(pbft_applied(nd->core, nd->height) == QC_OK);
        c->core_ns += now_ns() - t0;
        if (!nd->hold_persist) pc_persist(c, i);
        if (!nd->hold_validate) pc_validate(c, i, true);
    }
}

size_t pc_run(pc_t *c, size_t max) {
    size_t done = 0;
    while (c->head < c->tail && done < max) {
        pc_item_t it = c->q[c->head++];
        pc_node_t *nd = &c->node[it.to];
        if (!nd->down) {
            pbft_body_bind(&it.msg, it.blob);
            uint64_t t0 = now_ns();
            (void)pbft_step(nd->core, &it.msg);
            c->core_ns += now_ns() - t0;
            c->delivered++;
            pc_drain(c, it.to);
        }
        free(it.blob);
        done++;
    }
    return done;
}

void pc_tick(pc_t *c, int ticks) {
    for (int t = 0; t < ticks; t++) {
        for (int i = 0; i < c->n; i++) {
            if (c->node[i].down) continue;
            QC_ASSERT(pbft_tick(c->node[i].core) == QC_OK);
            pc_drain(c, i);
        }
        pc_run(c, SIZE_MAX);
    }
}

int pc_propose(pc_t *c, int i, qc_hash_t *digest_out) {
    pc_node_t *nd = &c->node[i];
    uint64_t h;
    qc_hash_t parent, d;
    int rc = pbft_proposal_slot(nd->core, &h, &parent);
    if (rc != QC_OK) return rc;
    memset(&d, 0, sizeof d);
    uint64_t salt = ++c->block_salt;
    memcpy(d.b, &h, 8);
    memcpy(d.b + 8, &salt, 8);
    d.b[16] = (uint8_t)i;
    memcpy(d.b + 17, parent.b, 15);
    uint64_t t0 = now_ns();
    rc = pbft_propose(nd->core, h, &d);
    c->core_ns += now_ns() - t0;
    if (rc == QC_OK) pc_drain(c, i);
    if (digest_out) *digest_out = d;
    return rc;
}

void pc_crash(pc_t *c, int i) {
    c->node[i].down = true;
    for (size_t k = 0; k < c->node[i].pending_count; k++) pbft_rec_free(&c->node[i].pending[k]);
    c->node[i].pending_count = 0;
    c->node[i].val_count = 0;
    c->node[i].fetching = false;
}

int pc_restart(pc_t *c, int i) {
    pc_node_t *nd = &c->node[i];
    int rc = pbft_restore(nd->core, &nd->cfg, nd->disk, nd->disk_count, nd->height,
                          &nd->ledger[nd->height % PC_HEIGHT_MAX]);
    if (rc != QC_OK) return rc;
    nd->down = false;
    pc_drain(c, i);
    return QC_OK;
}

int pc_transfer(pc_t *c, int i, int src) {
    pc_node_t *nd = &c->node[i], *s = &c->node[src];
    if (!nd->fetching || s->height < nd->fetch.target.height) return QC_ERR_STATE;
    for (uint64_t h = nd->height + 1; h <= nd->fetch.target.height; h++) {
        nd->ledger[h % PC_HEIGHT_MAX] = s->ledger[h % PC_HEIGHT_MAX];
        nd->certs[h % PC_HEIGHT_MAX] = s->certs[h % PC_HEIGHT_MAX];
    }
    nd->height = nd->fetch.target.height;
    nd->fetching = false;
    int rc = pbft_transfer_done(nd->core, nd->height, &nd->ledger[nd->height % PC_HEIGHT_MAX]);
    pc_drain(c, i);
    return rc;
}

int pc_primary(const pc_t *c) {
    for (int i = 0; i < c->n; i++)
        if (!c->node[i].down) return pbft_primary(c->node[i].core);
    return -1;
}
