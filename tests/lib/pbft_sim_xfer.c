/* pbft_sim_xfer.c - state transfer in the simulator (pbft.h, ob.fetch). The host fetches the
 * committed blocks above its ledger head up to the target, each with its commit certificate,
 * from one reachable peer that holds them, Byzantine peers included. It checks the batch as a
 * node would and installs it, or refuses the whole batch and asks another peer later. A
 * Byzantine source lies: a forged block under a real certificate, a flipped signature, a
 * certificate of another epoch or with too few signers, a chain that does not link or that
 * ends at another digest. Lied blocks are registered as invalid, so a replica that installed
 * one would trip the validity checker. The same fetch serves the node's catch-up across an
 * epoch switch that its core cannot cross (sim_xfer_catch_up). */
#include <stdlib.h>
#include <string.h>

#include "pbft_sim_internal.h"

#define XFER_RETRY_TICKS 5  /* after a refused batch or a source that did not answer */
#define XFER_WAIT_TICKS 10  /* nobody reachable holds the blocks yet */
#define CATCH_UP_WAIT_TIMEOUTS 8 /* base view timeouts a host left behind by an epoch switch
                                    gives its core to cross it before syncing on its own */

typedef enum {
    LIE_DIGEST,       /* another block at one height, under the real certificate */
    LIE_SIG,          /* one certificate with a flipped signature byte */
    LIE_EPOCH,        /* one certificate claiming the neighbouring epoch */
    LIE_FEW_SIGNERS,  /* one certificate with q-1 signers */
    LIE_LINK,         /* a block whose parent is not the block below */
    LIE_END,          /* the last block is not the target */
    LIE_KINDS
} lie_t;

static const char *const lie_names[LIE_KINDS] = {
    "a forged block", "a flipped signature", "a certificate of another epoch",
    "too few signers", "a chain that does not link", "another last block"};

/* What a source serves: the blocks (from, to] and their certificates, indexed by height. */
typedef struct {
    uint64_t from, to;
    qc_hash_t *digests;
    pbft_commit_cert_t *certs;
} batch_t;

/* One batch is in flight at a time; its buffers are reused across runs (no page faults per
 * seed), like the cores. */
static qc_hash_t *batch_digests;
static pbft_commit_cert_t *batch_certs;

static void batch_init(batch_t *b, uint64_t from, uint64_t to) {
    if (!batch_digests) {
        batch_digests = malloc(SIM_HEIGHT_MAX * sizeof *batch_digests);
        batch_certs = malloc(SIM_HEIGHT_MAX * sizeof *batch_certs);
        QC_ASSERT(batch_digests && batch_certs);
    }
    QC_ASSERT(to < SIM_HEIGHT_MAX);
    b->from = from;
    b->to = to;
    b->digests = batch_digests;
    b->certs = batch_certs;
}

/* The peer nd fetches from: the first, by node index, that is up, reachable, holds the
 * height and has not lied to nd or left it without an answer since nd last ran out of peers. */
static sim_node_t *pick_source(sim_t *s, const sim_node_t *nd, uint64_t height) {
    for (int i = 0; i < s->node_count; i++) {
        sim_node_t *o = &s->nodes[i];
        if (o == nd || !o->exists || !o->up || o->ledger_height < height ||
            ((nd->xfer_suspects >> i) & 1) || ((s->cut_in[nd->ident] >> o->ident) & 1))
            continue;
        return o;
    }
    return NULL;
}

/* A block nobody proposed, registered as invalid: installing it fails the validity checker. */
static qc_hash_t forged_block(sim_t *s, const sim_node_t *src, uint64_t h,
                              const qc_hash_t *parent) {
    return sim_block_new(s, h, parent, src->ident, false);
}

/* A Byzantine source corrupts one thing in b (from < to). */
static lie_t lie(sim_t *s, const sim_node_t *src, batch_t *b) {
    lie_t how = (lie_t)sim_below(s, LIE_KINDS);
    uint64_t span = b->to - b->from; /* below the last block when there is one: the last is */
    uint64_t h = b->from + 1 + sim_below(s, span > 1 ? span - 1 : 1); /* LIE_END's */
    pbft_commit_cert_t *c = &b->certs[h];
    switch (how) {
    case LIE_DIGEST: b->digests[h] = forged_block(s, src, h, &src->ledger[h - 1]); break;
    case LIE_SIG: c->sigs[sim_below(s, c->count)].sig.b[sim_below(s, QC_SIG_BYTES)] ^= 1; break;
    case LIE_EPOCH: c->epoch ^= 1; break;
    case LIE_FEW_SIGNERS: c->count--; break;
    case LIE_LINK: {
        qc_hash_t stray;
        for (int i = 0; i < 4; i++) {
            uint64_t w = sim_rnd(s);
            memcpy(stray.b + 8 * i, &w, 8);
        }
        b->digests[h] = forged_block(s, src, h, &stray);
        c->digest = b->digests[h];
        break;
    }
    default:
        b->digests[b->to] = forged_block(s, src, b->to, &src->ledger[b->to - 1]);
        b->certs[b->to].digest = b->digests[b->to];
        break;
    }
    return how;
}

/* What src sends for (from, to]: its ledger and certificates, or, when Byzantine, a lie.
 * Returns true if it lied. */
static bool serve(sim_t *s, const sim_node_t *src, batch_t *b) {
    size_t count = (size_t)(b->to - b->from);
    memcpy(b->digests + b->from + 1, src->ledger + b->from + 1, count * sizeof *b->digests);
    memcpy(b->certs + b->from + 1, src->certs + b->from + 1, count * sizeof *b->certs);
    if (sim_honest(src) || count == 0) return false;
    lie_t how = lie(s, src, b);
    s->r->xfer_lies++;
    sim_trace(s, 1, "r%d serves blocks %llu..%llu with %s", src->idx,
              (unsigned long long)b->from + 1, (unsigned long long)b->to, lie_names[how]);
    return true;
}

/* One height of a batch, checked as a node checks it: the block is the one built for h on the
 * block below, and its certificate is a quorum of the epoch in force at h for (h, digest). */
static bool height_ok(sim_t *s, sim_node_t *nd, const batch_t *b, uint64_t h, char *why,
                      size_t len) {
    const qc_hash_t *below = h == b->from + 1 ? &nd->ledger[b->from] : &b->digests[h - 1];
    const sim_block_t *blk = sim_block_find(s, &b->digests[h]);
    const pbft_commit_cert_t *c = &b->certs[h];
    uint64_t epoch = sim_epoch_of_height(s, h);
    int rc = QC_OK;
    if (!blk || blk->height != h || memcmp(blk->parent.b, below->b, 32) != 0)
        snprintf(why, len, "h=%llu does not extend the block below", (unsigned long long)h);
    else if (c->height != h || memcmp(c->digest.b, b->digests[h].b, 32) != 0)
        snprintf(why, len, "h=%llu: the certificate names another block", (unsigned long long)h);
    else if (c->epoch != epoch)
        snprintf(why, len, "h=%llu: a certificate of epoch %llu in epoch %llu",
                 (unsigned long long)h, (unsigned long long)c->epoch, (unsigned long long)epoch);
    else if ((rc = pbft_commit_cert_verify(c, sim_epoch_n(s, epoch), sim_verify, nd)) != QC_OK)
        snprintf(why, len, "h=%llu: the certificate does not verify (%s)", (unsigned long long)h,
                 qc_strerror(rc));
    else
        return true;
    return false;
}

/* Whether nd may install b: it ends at `end` (when the request named a digest) and every
 * height checks out. */
static bool batch_ok(sim_t *s, sim_node_t *nd, const batch_t *b, const qc_hash_t *end,
                     char *why, size_t len) {
    if (b->from == b->to) return true; /* it holds the blocks already */
    if (end && memcmp(b->digests[b->to].b, end->b, 32) != 0) {
        snprintf(why, len, "it does not end at the target");
        return false;
    }
    for (uint64_t h = b->from + 1; h <= b->to; h++)
        if (!height_ok(s, nd, b, h, why, len)) return false;
    return true;
}

/* The checked blocks join nd's ledger, each under the checkers' eyes as if committed. */
static void install_blocks(sim_t *s, sim_node_t *nd, const batch_t *b) {
    for (uint64_t h = b->from + 1; h <= b->to; h++) {
        if (sim_honest(nd)) sim_check_transfer(s, nd, h, &b->digests[h]);
        nd->ledger[h] = b->digests[h];
        nd->certs[h] = b->certs[h];
    }
    if (b->to > nd->ledger_height) nd->ledger_height = b->to;
}

/* Installs a checked batch, makes the pbft_set_next_epoch call for a deciding block inside it
 * (pbft.h: while the transfer that includes it runs), and reports the transfer done. */
static void install(sim_t *s, sim_node_t *nd, const batch_t *b, const sim_node_t *src) {
    const pbft_checkpoint_cert_t *t = &nd->xfer_target;
    install_blocks(s, nd, b);
    nd->xfer = false;
    sim_trace(s, 1, "r%d transfer done h=%llu from r%d", nd->idx, (unsigned long long)t->height,
              src->idx);
    uint64_t decided = sim_epoch_decided_in(s, pbft_epoch_number(nd->core), b->from, b->to);
    if (decided) {
        s->r->xfer_deciding++;
        int rc = sim_epoch_decide(s, nd, decided);
        if (rc != QC_OK)
            sim_fail(s, "r%d pbft_set_next_epoch(%llu) in a transfer: %s", nd->idx,
                     (unsigned long long)decided, qc_strerror(rc));
    }
    bool wanted = nd->core->transferring; /* it may have got there by COMMIT-CERTs and even
                                             switched epoch meanwhile: then it is moot */
    int rc = pbft_transfer_done(nd->core, t->height, &t->digest);
    if (rc != QC_OK && (wanted || rc != QC_ERR_STATE))
        sim_fail(s, "r%d pbft_transfer_done: %s", nd->idx, qc_strerror(rc));
    sim_drain(s, nd);
}

/* A refused batch: counted; the caller's next attempt goes to another source. An honest source's
 * batch must always pass (else the host's checks or the sim's certificates are wrong), and a
 * lie must never pass (the validity checker would catch it later; this says where). */
static void refuse(sim_t *s, sim_node_t *nd, const sim_node_t *src, const char *why) {
    s->r->xfer_refused++;
    sim_trace(s, 1, "r%d refuses r%d's blocks: %s", nd->idx, src->idx, why);
    if (sim_honest(src) && sim_honest(nd))
        sim_fail(s, "state transfer: r%d refused honest r%d's blocks: %s", nd->idx, src->idx,
                 why);
}

/* Asks src for the blocks above nd's ledger up to `to` (ending at `end` when known) and checks
 * the answer. True: b holds a batch nd may install; false: no answer, or refused. */
static bool fetch_from(sim_t *s, sim_node_t *nd, sim_node_t *src, batch_t *b, uint64_t to,
                       const qc_hash_t *end) {
    if (src->byz == SIM_BYZ_SILENT) { /* no answer: the request times out */
        nd->xfer_suspects |= 1u << src->idx;
        return false;
    }
    batch_init(b, nd->ledger_height < to ? nd->ledger_height : to, to);
    bool lied = serve(s, src, b);
    char why[120];
    if (!batch_ok(s, nd, b, end, why, sizeof why)) {
        nd->xfer_suspects |= 1u << src->idx;
        refuse(s, nd, src, why);
        return false;
    }
    if (lied) sim_fail(s, "state transfer: r%d accepted r%d's lie", nd->idx, src->idx);
    return true;
}

void sim_xfer_finish(sim_t *s, sim_node_t *nd) {
    const pbft_checkpoint_cert_t *t = &nd->xfer_target;
    sim_node_t *src = pick_source(s, nd, t->height);
    if (!src) { /* nobody reachable has the blocks yet, or only suspects: try them all later */
        nd->xfer_suspects = 0;
        nd->xfer_due = s->now + XFER_WAIT_TICKS;
        return;
    }
    if (sim_honest(src) && memcmp(src->ledger[t->height].b, t->digest.b, 32) != 0) {
        sim_fail(s, "r%d state transfer: stable checkpoint h=%llu names a block that r%d did not"
                 " commit", nd->idx, (unsigned long long)t->height, src->idx);
        return;
    }
    batch_t b;
    if (fetch_from(s, nd, src, &b, t->height, &t->digest)) install(s, nd, &b, src);
    else nd->xfer_due = s->now + XFER_RETRY_TICKS;
}

/* The newest epoch among the messages nd buffered for later (0: none). */
static uint64_t newest_future_epoch(const sim_node_t *nd) {
    uint64_t newest = 0;
    for (size_t i = 0; i < nd->future_count; i++)
        if (nd->future[i].msg.epoch > newest) newest = nd->future[i].msg.epoch;
    return newest;
}

/* Peers speak a later epoch, and the core, given CATCH_UP_WAIT_TIMEOUTS base timeouts, did not
 * cross into it (e.g. too few old-epoch members signed its final checkpoint): the node syncs
 * its ledger up to that epoch's base, every block checked by its certificate, and restarts its
 * core there from its disk, as a node would after a crash. */
void sim_xfer_catch_up(sim_t *s, sim_node_t *nd) {
    if (s->o.no_epoch_catch_up) return;
    uint64_t epoch = pbft_epoch_number(nd->core), newest = newest_future_epoch(nd);
    if (newest > (uint64_t)s->epoch_count) newest = (uint64_t)s->epoch_count;
    if (newest <= epoch) {
        nd->catch_up_due = 0;
        return;
    }
    if (!nd->catch_up_due || nd->behind_epoch != epoch) {
        nd->behind_epoch = epoch;
        nd->catch_up_due = s->now + CATCH_UP_WAIT_TIMEOUTS * s->o.core.view_timeout_ticks;
        return;
    }
    if (s->now < nd->catch_up_due) return;
    nd->catch_up_due = s->now + XFER_WAIT_TICKS; /* the next try, if this one fails */
    uint64_t base = s->epoch_base[newest];
    if (nd->ledger_height < base) {
        sim_node_t *src = pick_source(s, nd, base);
        batch_t b;
        if (!src) nd->xfer_suspects = 0;
        if (!src || !fetch_from(s, nd, src, &b, base, NULL)) return;
        install_blocks(s, nd, &b);
    }
    sim_trace(s, 1, "r%d is behind epoch %llu: synced to h=%llu, restarts its core", nd->idx,
              (unsigned long long)newest, (unsigned long long)nd->ledger_height);
    s->r->epoch_catch_ups++;
    sim_node_crash(s, nd);
    sim_node_restart(s, nd);
    if (nd->up) sim_epoch_restarted(s, nd);
}
