/* pbft_sim_check.c - the simulator's checkers: agreement, validity, total order and
 * certificate validity on every block an honest replica commits or receives by state transfer,
 * and liveness once faults stop. */
#include <string.h>

#include "pbft_sim_internal.h"

/* Agreement: no two honest replicas ever hold different blocks at one height. */
static void check_agreement(sim_t *s, const sim_node_t *nd, uint64_t h, const qc_hash_t *d) {
    char a[9], b[9];
    if (h >= SIM_HEIGHT_MAX) return;
    if (!s->truth_set[h]) {
        s->truth_set[h] = true;
        s->truth[h] = *d;
    } else if (memcmp(s->truth[h].b, d->b, 32) != 0) {
        sim_fail(s, "agreement: r%d has %s at h=%llu where another honest replica has %s",
                 nd->idx, sim_hex(d, a), (unsigned long long)h, sim_hex(&s->truth[h], b));
    }
}

/* Validity and chaining: only blocks some replica proposed and the application accepts, at the
 * height they were built for, on the block this replica holds below. */
static void check_block(sim_t *s, const sim_node_t *nd, uint64_t h, const qc_hash_t *d) {
    char a[9];
    const sim_block_t *b = sim_block_find(s, d);
    if (!b) {
        sim_fail(s, "validity: r%d holds %s at h=%llu, which nobody proposed", nd->idx,
                 sim_hex(d, a), (unsigned long long)h);
    } else if (!b->valid) {
        sim_fail(s, "validity: r%d holds invalid block %s at h=%llu", nd->idx, sim_hex(d, a),
                 (unsigned long long)h);
    } else if (b->height != h) {
        sim_fail(s, "validity: r%d holds %s (built for h=%llu) at h=%llu", nd->idx,
                 sim_hex(d, a), (unsigned long long)b->height, (unsigned long long)h);
    } else if (memcmp(b->parent.b, nd->ledger[h - 1].b, 32) != 0) {
        sim_fail(s, "total order: r%d's block at h=%llu does not extend its block at h=%llu",
                 nd->idx, (unsigned long long)h, (unsigned long long)h - 1);
    }
}

void sim_check_commit(sim_t *s, sim_node_t *nd, const pbft_committed_t *c) {
    const pbft_commit_cert_t *cert = &c->cert;
    uint64_t h = cert->height;
    if (h != nd->ledger_height + 1) {
        sim_fail(s, "total order: r%d output h=%llu after h=%llu", nd->idx,
                 (unsigned long long)h, (unsigned long long)nd->ledger_height);
        return;
    }
    /* The block's epoch: the one in force at its height, whose members must have signed. */
    uint64_t epoch = sim_epoch_of_height(s, h);
    int rc = pbft_commit_cert_verify(cert, sim_epoch_n(s, epoch), sim_verify, nd);
    if (rc != QC_OK || cert->epoch != epoch || cert->epoch != pbft_epoch_number(nd->core)) {
        sim_fail(s, "certificate: r%d's commit certificate for h=%llu is invalid (%s, epoch %llu)",
                 nd->idx, (unsigned long long)h, qc_strerror(rc),
                 (unsigned long long)cert->epoch);
        return;
    }
    check_block(s, nd, h, &cert->digest);
    check_agreement(s, nd, h, &cert->digest);
}

void sim_check_transfer(sim_t *s, sim_node_t *nd, uint64_t height, const qc_hash_t *d) {
    check_block(s, nd, height, d);
    check_agreement(s, nd, height, d);
}

/* Liveness: after the heal every honest replica reaches live_target within live_ticks; one
 * that left the validator set (sim_epoch_removed) is idle and no longer counted. */
bool sim_check_liveness(sim_t *s, bool final) {
    const sim_node_t *laggard = NULL;
    for (int i = 0; i < s->node_count; i++) {
        const sim_node_t *nd = &s->nodes[i];
        if (nd->exists && sim_honest(nd) && !sim_epoch_removed(s, nd) &&
            nd->ledger_height < s->live_target) {
            laggard = nd;
            break;
        }
    }
    if (!laggard) return true;
    if (final)
        sim_fail(s, "liveness: %llu ticks after faults stopped r%d is at h=%llu (view %llu, %s),"
                 " needs h=%llu", (unsigned long long)(s->now - s->r->heal_time), laggard->idx,
                 (unsigned long long)laggard->ledger_height,
                 (unsigned long long)pbft_view(laggard->core),
                 pbft_mode(laggard->core) == PBFT_MODE_VIEW_CHANGE ? "changing view" : "normal",
                 (unsigned long long)s->live_target);
    return false;
}
