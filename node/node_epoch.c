/* node_epoch.c - the node's side of membership changes: telling the core when a governance
 * change was decided (pbft_set_next_epoch), following it into the new epoch (own index, peer
 * links; checkpoint notes follow the ledger's epoch in node_chain.c), and restarting the core
 * in the ledger's epoch when catch-up carried the ledger across a switch that the core did not
 * make itself (docs/GOVERNANCE.md). */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

static uint16_t index_of(const qc_validator_set_t *vs, const qc_pubkey_t *node_key) {
    int i = qc_validators_find_node(vs, node_key);
    return i < 0 ? PBFT_NOT_MEMBER : (uint16_t)i;
}

int node_epoch_config(node_t *n, pbft_epoch_t *ep) {
    const qc_validator_set_t *vs = &n->store.validators;
    memset(ep, 0, sizeof *ep);
    ep->epoch = vs->epoch;
    ep->n = (uint16_t)vs->n;
    ep->self = index_of(vs, &n->node_pk);
    if (vs->epoch == 0) return QC_OK;
    store_epoch_span_t *spans = malloc(sizeof *spans * STORE_EPOCHS_MAX);
    size_t count = 0;
    int rc = spans ? store_epochs(&n->store, spans, STORE_EPOCHS_MAX, &count) : QC_ERR_NOMEM;
    if (rc == QC_OK && (count == 0 || spans[count - 1].epoch != vs->epoch)) rc = QC_ERR_CORRUPT;
    qc_header_t h;
    if (rc == QC_OK) {
        ep->base_height = spans[count - 1].first_height - 1;
        rc = store_header_get(&n->store, ep->base_height, &h);
    }
    if (rc == QC_OK) qc_header_hash(&h, &ep->base_digest);
    free(spans);
    return rc;
}

/* The core's view of epoch next_vs for this node (base set by the core at the switch). */
static void next_epoch_of(node_t *n, const qc_validator_set_t *next_vs, pbft_epoch_t *ep) {
    memset(ep, 0, sizeof *ep);
    ep->epoch = next_vs->epoch;
    ep->n = (uint16_t)next_vs->n;
    ep->self = index_of(next_vs, &n->node_pk);
}

void node_epoch_decide(node_t *n, uint64_t decided_height, const qc_validator_set_t *next_vs) {
    pbft_epoch_t ep;
    next_epoch_of(n, next_vs, &ep);
    int rc = pbft_set_next_epoch(n->pbft, decided_height, &ep);
    uint64_t k = n->pcfg.checkpoint_interval;
    if (rc == QC_OK)
        QC_INFO("membership change decided at block %llu: epoch %llu (%u validators%s) from block "
                "%llu", (unsigned long long)decided_height, (unsigned long long)ep.epoch, ep.n,
                ep.self == PBFT_NOT_MEMBER ? ", without this city" : "",
                (unsigned long long)((decided_height + k - 1) / k * k + 1));
}

/* New members of a waiting change get links now, so that they sync before their epoch. */
static void learners_linked(node_t *n, const qc_validator_set_t *next_vs) {
    for (uint32_t i = 0; i < next_vs->n; i++)
        if (qc_validators_find_node(&n->store.validators, &next_vs->members[i].node_key) < 0) {
            node_epoch_relink(n);
            return;
        }
}

void node_epoch_after_apply(node_t *n, const qc_block_t *b) {
    const gov_state_t *g = store_gov(&n->store);
    uint64_t h = b->header.height;
    static const qc_hash_t zero;
    if (g->waiting && g->passed.closed_height == h) {
        node_epoch_decide(n, h, &g->next_vs);
        learners_linked(n, &g->next_vs);
    } else if (memcmp(b->header.next_validators_hash.b, zero.b, 32) != 0)
        node_epoch_decide(n, h, &g->vs); /* decided and switched at this checkpoint block */
}

/* The net's peers and own index follow the set in force; a node outside it keeps no links. */
static void on_net_rebuilt(net_t *net) {
    node_t *n = (node_t *)((char *)net - offsetof(node_t, net));
    n->net_rebuilding = false;
    if (n->stopping) {
        node_net_closed(n);
        return;
    }
    char why[200] = "";
    if (node_start_net(n, why, sizeof why) != QC_OK)
        QC_ERROR("cannot reopen peer links for epoch %llu: %s",
                 (unsigned long long)n->store.validators.epoch, why);
}

void node_epoch_relink(node_t *n) {
    n->relink_at_ms = 0;
    /* A change that leaves every link as it is (a threshold, a seal or admin key) keeps them:
     * closing them would drop what is in flight and stall consensus and catch-up meanwhile. */
    if (n->net_open && !n->net_rebuilding && node_net_unchanged(n)) {
        QC_INFO("epoch %llu: peer links unchanged, kept", (unsigned long long)n->store.validators.epoch);
        return;
    }
    n->stats.peer_relinks++;
    memset(n->peer_heads, 0, sizeof n->peer_heads);
    memset(n->peer_views, 0, sizeof n->peer_views);
    memset(n->peer_links_up, 0, sizeof n->peer_links_up);
    if (n->net_open && !n->net_rebuilding) {
        n->net_open = false;
        n->net_rebuilding = true;
        net_close(&n->net, on_net_rebuilt);
    } else if (!n->net_rebuilding) {
        char why[200] = "";
        if (node_start_net(n, why, sizeof why) != QC_OK) QC_ERROR("cannot open peer links: %s", why);
    }
}

/* The notes restarted under the new set when its first note was signed (node_note_head
 * restarts them if the ledger switched without signing one); restarting them again here would
 * drop the switch block's signatures gathered meanwhile. */
static void follow_membership(node_t *n, uint16_t self) {
    n->self = self;
    node_note_head(n);
    node_epoch_relink(n);
}

/* Nodes whose key left at this switch (a removed city, a rotated node key) still hold links to
 * us, but may lack the last blocks of the epoch they left, which tell them so: once the links
 * follow the new set they could no longer fetch them and would think themselves validators of
 * the old epoch for good. So they get those blocks now, unasked, and the links stay up a little
 * longer (NODE_DEPART_GRACE_MS) for their own catch-up. Returns whether any departed. */
static bool send_departed_last_blocks(node_t *n, uint64_t epoch) {
    if (epoch == 0 || n->stopping) return false;
    qc_validator_set_t *old = malloc(sizeof *old);
    bool any = false;
    if (old != NULL && store_validators(&n->store, epoch - 1, old) == QC_OK) {
        uint64_t head = n->store.head.height, k = n->pcfg.checkpoint_interval;
        uint64_t from = head > 2 * k ? head - 2 * k + 1 : 1;
        for (uint32_t i = 0; i < old->n; i++) {
            if (qc_validators_find_node(&n->store.validators, &old->members[i].node_key) >= 0 ||
                i == n->self || !net_peer_up(&n->net, i))
                continue;
            node_on_fetch(n, i, from, n->cfg.catchup.batch_blocks);
            QC_INFO("sent blocks %llu..%llu to %s, whose node key left at this switch",
                    (unsigned long long)from, (unsigned long long)head, old->members[i].name);
            any = true;
        }
    }
    free(old);
    return any;
}

void node_epoch_switched(node_t *n, const pbft_epoch_switch_t *sw) {
    if (sw->epoch.self == PBFT_NOT_MEMBER)
        QC_WARN("this city is not a validator of epoch %llu: it follows the chain, without votes",
                (unsigned long long)sw->epoch.epoch);
    QC_INFO("epoch %llu now in force: %u validators, this city is %s", (unsigned long long)sw->epoch.epoch,
            sw->epoch.n, sw->epoch.self == PBFT_NOT_MEMBER ? "not one of them"
                         : n->store.validators.members[sw->epoch.self].name);
    n->stats.epoch_switches++;
    bool departed = n->net_open && send_departed_last_blocks(n, sw->epoch.epoch);
    n->self = sw->epoch.self;
    node_note_head(n);
    if (departed) n->relink_at_ms = node_now_ms() + NODE_DEPART_GRACE_MS;
    else node_epoch_relink(n);
}

void node_epoch_tick(node_t *n) {
    if (n->relink_at_ms == 0 || node_now_ms() < n->relink_at_ms) return;
    n->relink_at_ms = 0;
    node_epoch_relink(n);
}

void node_epoch_resync(node_t *n) {
    if (n->store.head.epoch <= pbft_epoch_number(n->pbft) || n->stopping) return;
    QC_INFO("the ledger reached epoch %llu by catch-up; restarting consensus there",
            (unsigned long long)n->store.head.epoch);
    char why[200] = "";
    if (node_start_core(n, why, sizeof why) != QC_OK) {
        QC_ERROR("cannot restart consensus in epoch %llu: %s", (unsigned long long)n->store.head.epoch, why);
        return;
    }
    n->transfer_wanted = false;
    n->stats.epoch_switches++;
    follow_membership(n, (uint16_t)(pbft_epoch_number(n->pbft) == n->store.validators.epoch
                                        ? index_of(&n->store.validators, &n->node_pk)
                                        : PBFT_NOT_MEMBER));
}
