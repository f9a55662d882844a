/* node.c - qchaind's lifecycle, event loop and peer-message dispatch around the PBFT core. */
#include "node_internal.h"
#include "byz.h"
#include "compact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#define WHY(...) do { if (why) snprintf(why, why_cap, __VA_ARGS__); } while (0)

uint64_t node_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---------------------------------------------------------------- the core's outbox */

static void send_msg(node_t *n, const pbft_msg_t *m) {
    if (m->type == PBFT_MSG_COMMIT && m->from == n->self) votewatch_voted(&n->votes, m->height);
#ifdef QC_TEST_FAULTS
    if (byz_send(n, m)) return; /* test build: the chaos run's Byzantine city */
#endif
    const uint8_t *block = NULL;
    size_t block_len = 0;
    uint8_t *compact = NULL;
    size_t compact_len = 0;
    if (m->type == PBFT_MSG_PREPREPARE && m->from == n->self) {
        /* The backups hold the transactions gossiped to them on admission: name them by id
         * (compact.h). Should encoding fail, the whole block goes. */
        node_pending_t *e = node_pending_find(n, &m->digest);
        qc_hash_t h = {{0}};
        if (e && e->raw) qc_header_hash(&e->block.header, &h); /* decoded with its raw bytes */
        if (e && e->raw && memcmp(h.b, m->digest.b, 32) == 0 &&
            compact_encode(&e->block, &compact, &compact_len) == QC_OK)
            n->stats.compact_sent++;
        else if (e && e->raw) { block = e->raw; block_len = e->raw_len; }
    }
    uint8_t *buf;
    size_t len;
    int rc = wire_encode_consensus(m, block, block_len, compact, compact_len, &buf, &len);
    free(compact);
    if (rc != QC_OK) {
        QC_ERROR("cannot encode %s", pbft_msg_type_name(m->type));
        return;
    }
    if (m->to == PBFT_BROADCAST) net_broadcast(&n->net, buf, len);
    else if (m->to < n->store.validators.n && m->to != n->self) net_send(&n->net, m->to, buf, len);
    free(buf);
}

/* Persists the outbox's records with the bodies of blocks this node holds valid, in one synced
 * batch. Returns false if the write failed: then nothing may be acknowledged. */
static bool persist(node_t *n, const pbft_outbox_t *ob) {
    cstate_body_t bodies[NODE_PENDING_MAX];
    size_t nb = 0;
    node_persist_bodies(n, bodies, NODE_PENDING_MAX, &nb);
    if (cstate_write(&n->cstate, ob->persist, ob->persist_count, bodies, nb) != QC_OK) {
        if (!n->persist_failing)
            QC_ERROR("consensus state not durable; withholding votes, messages and ticks until "
                     "a write succeeds");
        n->persist_failing = true;
        return false;
    }
    if (n->persist_failing) QC_WARN("consensus state durable again");
    n->persist_failing = false;
    for (size_t i = 0; i < nb; i++) {
        node_pending_t *e = node_pending_find(n, &bodies[i].digest);
        if (e) e->persisted = true;
    }
    n->stats.persist_writes++;
    return true;
}

bool node_core_blocked(const node_t *n) { return n->persist_failing; }

void node_drive(node_t *n) {
    for (int round = 0; round < 256 && !n->stopping; round++) {
        pbft_outbox_t ob;
        pbft_outbox(n->pbft, &ob);
        if (!ob.msg_count && !ob.persist_count && !ob.commit_count && !ob.validate_count &&
            !ob.fetch && !ob.epoch_switch)
            return;
        uint64_t persisted_seq = 0;
        if (ob.persist_count) {
            if (!persist(n, &ob)) return; /* retried on the next tick; outbox kept */
            persisted_seq = ob.persist[ob.persist_count - 1].seq;
        }
        for (size_t i = 0; i < ob.msg_count; i++) send_msg(n, &ob.msgs[i]);
        for (size_t i = 0; i < ob.commit_count; i++) node_queue_commit(n, &ob.commits[i]);
        pbft_validate_t vals[PBFT_OUT_VALIDATES_MAX];
        size_t nv = ob.validate_count < PBFT_OUT_VALIDATES_MAX ? ob.validate_count : PBFT_OUT_VALIDATES_MAX;
        memcpy(vals, ob.validates, nv * sizeof vals[0]);
        pbft_fetch_t fetch;
        bool want_fetch = ob.fetch != NULL;
        if (want_fetch) fetch = *ob.fetch;
        pbft_epoch_switch_t sw;
        bool switched = ob.epoch_switch != NULL;
        if (switched) sw = *ob.epoch_switch;
        pbft_outbox_clear(n->pbft);
        if (switched) node_epoch_switched(n, &sw);
        if (persisted_seq) pbft_persisted(n->pbft, persisted_seq);
        node_process_commits(n);
        for (size_t i = 0; i < nv; i++) node_want_validate(n, &vals[i]);
        node_try_validations(n);
        if (want_fetch) node_start_transfer(n, &fetch);
    }
}

/* ---------------------------------------------------------------- peers */

static void on_consensus(node_t *n, uint32_t peer, wire_msg_t *m) {
    pbft_msg_t *c = &m->consensus;
    if (c->from != peer) { n->stats.wire_malformed++; return; } /* no relaying: sender signs */
    if (c->type == PBFT_MSG_PREPREPARE && m->compact_len > 0) {
        /* Rebuilt from the mempool; with a transaction missing it is stepped all the same, and
         * the validation it causes asks the peers for the whole body. */
        node_pending_t *e = node_pending_find(n, &c->digest);
        if ((e == NULL || e->raw == NULL) &&
            node_pending_add_compact(n, &c->digest, m->compact, m->compact_len) == QC_ERR_INVALID) {
            n->stats.wire_malformed++;
            return;
        }
    }
    if (c->type == PBFT_MSG_PREPREPARE && m->len > 0) {
        /* Decoded once, kept only if its header hash is the digest the PRE-PREPARE names. */
        node_pending_t *e = node_pending_find(n, &c->digest);
        if ((e == NULL || e->raw == NULL) &&
            node_pending_add_raw(n, &c->digest, m->bytes, m->len) == NULL) {
            n->stats.wire_malformed++;
            return;
        }
    }
    if (node_core_blocked(n)) { n->stats.msgs_dropped_not_durable++; return; }
    /* Drops are counted by the core. QC_ERR_FULL only means the outbox must be drained first. */
    if (pbft_step(n->pbft, c) == QC_ERR_FULL) {
        node_drive(n);
        pbft_step(n->pbft, c);
    }
}

static void on_tx(node_t *n, const wire_msg_t *m) {
    qc_tx_t tx;
    if (qc_tx_decode(m->bytes, m->len, &tx) != QC_OK) { n->stats.wire_malformed++; return; }
    node_gossip_tx(n, &tx);
}

static void on_message(net_t *net, uint32_t peer, const uint8_t *data, size_t len, void *user) {
    (void)net;
    node_t *n = user;
    if (n->stopping) return;
    wire_msg_t m;
    if (wire_decode(data, len, n->scratch, &m) != QC_OK) {
        n->stats.wire_malformed++;
        return;
    }
    switch (m.kind) {
    case WIRE_CONSENSUS: on_consensus(n, peer, &m); break;
    case WIRE_TX: on_tx(n, &m); break;
    case WIRE_FETCH: node_on_fetch(n, peer, m.from_height, m.max); break;
    case WIRE_BLOCKS: node_on_blocks(n, peer, &m); break;
    case WIRE_BODY_REQUEST: node_on_body_request(n, peer, &m); break;
    case WIRE_BODY: node_on_body(n, &m); break;
    case WIRE_NOTE_SIG: notes_on_sig(&n->notes, peer, &m.note_sig); break;
    }
    wire_msg_free(&m);
    /* Group commit: the outbox is drained once after every frame this loop turn read (in
     * on_check), so the votes they cause share one synced consensus-state write. */
    n->drive_pending = true;
}

static void on_peer_state(net_t *net, uint32_t peer, bool up, void *user) {
    (void)net;
    node_t *n = user;
    QC_INFO("peer %s %s", peer < n->store.validators.n ? n->store.validators.members[peer].name : "?",
            up ? "up" : "down");
    if (up) notes_on_peer_up(&n->notes, peer);
    if (up && !(n->test_no_rounds && peer != n->test_catchup_peer)) {
        uint8_t *buf;
        size_t len;
        if (wire_encode_fetch(n->store.head.height + 1, n->cfg.catchup.batch_blocks, &buf, &len) == QC_OK) {
            net_send(&n->net, peer, buf, len);
            free(buf);
        }
    }
}

int node_submit(node_t *n, const uint8_t *bytes, size_t len, qc_hash_t *tx_id, const char **why) {
    qc_tx_t tx;
    int rc = qc_tx_decode(bytes, len, &tx);
    if (rc != QC_OK) { *why = "transaction does not decode"; return rc; }
    *tx_id = tx.id;
    if (store_tx_find(&n->store, &tx.id, &(store_tx_loc_t){0}) == QC_OK) {
        qc_tx_free(&tx);
        *why = mempool_reject_str(MEMPOOL_REJECT_DUP_COMMITTED);
        return QC_ERR_DUPLICATE;
    }
    mempool_view_t v = {n->genesis.chain_id, &n->store.validators, n->store.head.height + 1,
                        NULL, NULL, store_gov(&n->store), n->submit_why, sizeof n->submit_why,
                        store_record_status_cb, &n->store, store_share_cb, &n->store,
                        uv_now(n->loop)};
    mempool_reject_t r;
    rc = mempool_add(&n->mempool, &tx, &v, &r);
    if (rc != QC_OK) {
        qc_tx_free(&tx);
        *why = r == MEMPOOL_REJECT_GOVERNANCE || r == MEMPOOL_REJECT_RECORD ||
                       r == MEMPOOL_REJECT_SHARE
                   ? n->submit_why
                   : mempool_reject_str(r);
        return rc;
    }
    uint8_t *buf;
    size_t blen;
    if (wire_encode_tx(bytes, len, &buf, &blen) == QC_OK) {
        net_broadcast(&n->net, buf, blen);
        free(buf);
    }
    *why = NULL;
    return QC_OK;
}

/* notes_send_cb: a checkpoint-note signature to one peer or all. */
static void send_note_sig(void *user, uint32_t peer, const wire_note_sig_t *ns) {
    node_t *n = user;
    uint8_t *buf;
    size_t len;
    if (!n->net_open || wire_encode_note_sig(ns, &buf, &len) != QC_OK) return;
    if (peer == NOTES_BROADCAST) net_broadcast(&n->net, buf, len);
    else net_send(&n->net, peer, buf, len);
    free(buf);
}

/* Signs the head's checkpoint note at start, so peers can complete its quorum after restarts.
 * Also when the ledger enters another epoch: the notes of the tree after block h are signed by
 * the set in force for block h+1 (docs/CHECKPOINTS.md §3), which is the store's set once h is
 * applied, so the new set signs the switch block's note again. The own index is this node's
 * place in that set (n->self follows the core, which can switch later than the ledger). */
void node_restart_notes(node_t *n) {
    const qc_validator_set_t *vs = &n->store.validators;
    int self = qc_validators_find_node(vs, &n->node_pk);
    notes_init(&n->notes, n->genesis.chain_id, &n->genesis.hash, vs,
               self < 0 ? QC_VALIDATORS_MAX : (uint32_t)self,
               &n->crypto.node_sk, send_note_sig, n);
    n->noted_height = 0;
    node_note_head(n);
}

/* ---------------------------------------------------------------- timers */

/* Tells the core what this node can reach before each tick: the validators it has links to,
 * and whether it is still catching up (node_catching_up). With too few peers for a quorum, or
 * while behind, the core holds its view timer: a node that restarted linked to one peer, or is
 * still fetching blocks, would otherwise move alone into a later view that nobody joins. */
static void tell_links(node_t *n) {
    uint32_t up = net_stats(&n->net)->peers_up;
    pbft_set_links(n->pbft, up > UINT16_MAX ? UINT16_MAX : (uint16_t)up, node_catching_up(n));
}

/* A validator the chain passes by is loud: WARN once, /healthz "not voting", a metric. */
static void watch_votes(node_t *n) {
    bool validator = n->self < n->store.validators.n;
    switch (votewatch_observe(&n->votes, n->store.head.height, validator, uv_now(n->loop))) {
    case VOTEWATCH_STOPPED:
        QC_WARN("NOT VOTING: the chain reached block %llu without this node's commit votes (its "
                "last was for block %llu; view %llu, %u of %u peers up%s): the consortium has one "
                "node less of its fault margin; check the peers' links and views (qchain status "
                "--all)",
                (unsigned long long)n->store.head.height,
                (unsigned long long)n->votes.voted_height, (unsigned long long)pbft_view(n->pbft),
                net_stats(&n->net)->peers_up, n->store.validators.n - 1,
                node_catching_up(n) ? ", catching up" : "");
        break;
    case VOTEWATCH_RESUMED:
        QC_INFO("voting again (commit vote for block %llu)",
                (unsigned long long)n->votes.voted_height);
        break;
    case VOTEWATCH_SAME: break;
    }
}

static void on_tick(uv_timer_t *t) {
    node_t *n = t->data;
    node_epoch_resync(n);
    node_epoch_tick(n);
    if (n->persist_failing) node_drive(n); /* the retry of the failed write: once a tick */
    if (!node_core_blocked(n)) {
        pbft_set_backlog(n->pbft, n->mempool.count > 0);
        tell_links(n);
        pbft_tick(n->pbft);
    }
    if (pbft_view(n->pbft) != n->last_view) {
        n->last_view = pbft_view(n->pbft);
        mempool_release_above(&n->mempool, n->store.head.height);
        uint16_t primary = pbft_primary(n->pbft);
        QC_INFO("view %llu, primary %s", (unsigned long long)n->last_view,
                primary < n->store.validators.n ? n->store.validators.members[primary].name : "?");
    }
    node_drive(n);
    node_catchup_tick(n);
    node_resend_tick(n);
    watch_votes(n);
    qc_lograte_tick(&n->log_peer_blocks, uv_now(n->loop));
    qc_lograte_tick(&n->log_ledger_refused, uv_now(n->loop));
    node_note_tick(n);
    node_process_commits(n);
    node_drive(n);
}

static void on_check(uv_check_t *c) {
    node_t *n = c->data;
    node_gossip_admit(n); /* before a proposal's check, which then trusts their signatures */
    if (n->drive_pending) {
        n->drive_pending = false;
        node_drive(n);
    }
    node_maybe_propose(n);
}

/* ---------------------------------------------------------------- start and stop */

static int load_identity(node_t *n, const char *config_path, char *why, size_t why_cap) {
    char reason[256] = "";
    if (config_load(config_path, &n->cfg, reason, sizeof reason) != QC_OK) {
        WHY("config %s: %s", config_path, reason);
        return QC_ERR_INVALID;
    }
    if (genesis_load(n->cfg.genesis_path, &n->genesis, reason, sizeof reason) != QC_OK) {
        WHY("genesis %s: %s", n->cfg.genesis_path, reason);
        return QC_ERR_INVALID;
    }
    if (config_apply_genesis(&n->cfg, &n->genesis, &n->self, reason, sizeof reason) != QC_OK) {
        WHY("config %s: %s", config_path, reason);
        return QC_ERR_INVALID;
    }
    qc_log_set_level(n->cfg.log_level);
    char pass[KEYS_PASSPHRASE_MAX + 1] = "";
    const char *pp = NULL;
    if (keys_file_encrypted(n->cfg.key_paths[KEYS_ROLE_NODE])) {
        if (keys_passphrase_get(n->cfg.passphrase_file[0] ? n->cfg.passphrase_file : NULL, pass,
                                sizeof pass, reason, sizeof reason) != QC_OK) {
            WHY("node key passphrase: %s", reason);
            return QC_ERR_CRYPTO;
        }
        pp = pass;
    }
    keys_pair_t kp;
    int rc = keys_load_secret(n->cfg.key_paths[KEYS_ROLE_NODE], pp, KEYS_ROLE_NODE, &kp, reason,
                              sizeof reason);
    sodium_memzero(pass, sizeof pass);
    if (rc != QC_OK) {
        WHY("node key %s: %s", n->cfg.key_paths[KEYS_ROLE_NODE], reason);
        return rc;
    }
    n->node_pk = kp.pk; /* checked against the set in force once the ledger is open */
    /* Statements verify under the set of the epoch they name: the store's head epoch from its
     * validators table, older ones read from the store (wire_verify_cb). */
    wire_crypto_init(&n->crypto, n->genesis.chain_id, &n->store.validators, &n->store, &kp.sk);
    keys_pair_wipe(&kp);
    return QC_OK;
}

static int open_state(node_t *n, char *why, size_t why_cap) {
    /* Files the node and LevelDB create (tables, logs, the consensus state) are the node's
     * alone: 0600 in 0700 directories (LevelDB asks for 0644). Process-wide, for its life. */
    umask(077);
    char path[CONFIG_PATH_MAX + 32];
    if (qc_mkdirs(n->cfg.data_dir, 0700) != QC_OK) { WHY("cannot create %s", n->cfg.data_dir); return QC_ERR_IO; }
    snprintf(path, sizeof path, "%s/ledger", n->cfg.data_dir);
    gov_info_t *info = calloc(QC_VALIDATORS_MAX, sizeof *info);
    if (info == NULL) { WHY("out of memory"); return QC_ERR_NOMEM; }
    for (uint32_t i = 0; i < n->genesis.validators.n; i++) {
        snprintf(info[i].display_name, sizeof info[i].display_name, "%s", n->genesis.info[i].display_name);
        snprintf(info[i].p2p_address, sizeof info[i].p2p_address, "%s", n->genesis.info[i].p2p_address);
        snprintf(info[i].api_address, sizeof info[i].api_address, "%s", n->genesis.info[i].api_address);
    }
    store_config_t sc = {n->genesis.chain_id, n->genesis.hash, &n->genesis.validators, info,
                         n->genesis.consensus.checkpoint_interval,
                         (size_t)n->cfg.ledger.state_cache_mib << 20};
    int rc = store_open(&n->store, path, &sc);
    free(info);
    if (rc != QC_OK) { WHY("ledger %s: %s", path, qc_strerror(rc)); return rc; }
    snprintf(path, sizeof path, "%s/consensus", n->cfg.data_dir);
    rc = cstate_open(&n->cstate, path);
    if (rc != QC_OK) { WHY("consensus state %s: %s", path, qc_strerror(rc)); return rc; }
    uint64_t applied = 0;
    rc = cstate_applied(&n->cstate, &applied);
    if (rc != QC_OK) { WHY("consensus state %s: %s", path, qc_strerror(rc)); return rc; }
    if (applied > n->store.head.height) {
        n->rollback_height = applied;
        QC_ERROR("LEDGER ROLLED BACK: its head is block %llu but this node had applied block %llu "
                 "(consensus state): blocks were lost (a truncated or restored ledger database); "
                 "catching up from peers, /healthz reports it until then",
                 (unsigned long long)n->store.head.height, (unsigned long long)applied);
    }
    n->head_time_ms = n->genesis.genesis_time_ms;
    if (n->store.head.height > 0) {
        qc_header_t h;
        if (store_header_get(&n->store, n->store.head.height, &h) == QC_OK) n->head_time_ms = h.time_ms;
    }
    return QC_OK;
}

/* The city's node key must be its key in the epoch the ledger has in force (a rotated node key
 * means the new key file). A city that is not a validator of that epoch (one that joins by a
 * change not yet in the ledger, or a removed one) runs as a learner: it follows the chain from
 * the members that know its key, and votes once its ledger reaches an epoch that has it. */
static int check_identity(node_t *n, char *why, size_t why_cap) {
    const qc_validator_set_t *vs = &n->store.validators;
    for (uint32_t i = 0; i < vs->n; i++) {
        if (strcmp(vs->members[i].name, n->cfg.city) != 0) continue;
        if (memcmp(vs->members[i].node_key.b, n->node_pk.b, 32) != 0) {
            WHY("node key %s is not %s's node key in epoch %llu (was it rotated? start with the "
                "new key)", n->cfg.key_paths[KEYS_ROLE_NODE], n->cfg.city,
                (unsigned long long)vs->epoch);
            return QC_ERR_MEMBER;
        }
        n->self = i;
        return QC_OK;
    }
    if (qc_validators_find_node(vs, &n->node_pk) >= 0) {
        WHY("node key %s belongs to another city in epoch %llu", n->cfg.key_paths[KEYS_ROLE_NODE],
            (unsigned long long)vs->epoch);
        return QC_ERR_MEMBER;
    }
    n->self = PBFT_NOT_MEMBER;
    QC_WARN("city %s is not a validator in epoch %llu, which this ledger (height %llu) has in "
            "force: following the chain as a learner until an epoch that has it",
            n->cfg.city, (unsigned long long)vs->epoch, (unsigned long long)n->store.head.height);
    return QC_OK;
}

int node_start_core(node_t *n, char *why, size_t why_cap) {
    pbft_config_t *c = &n->pcfg;
    pbft_config_default(c);
    int erc = node_epoch_config(n, &c->epoch);
    if (erc != QC_OK) { WHY("the ledger's membership history: %s", qc_strerror(erc)); return erc; }
    c->checkpoint_interval = n->genesis.consensus.checkpoint_interval;
    c->window = n->genesis.consensus.window;
    uint32_t timeout_ticks = n->genesis.consensus.view_timeout_ms / NODE_TICK_MS;
    c->view_timeout_ticks = timeout_ticks < 2 ? 2 : timeout_ticks;
    c->view_timeout_max_ticks = c->view_timeout_ticks * 16;
    c->heartbeat_ticks = c->view_timeout_ticks / 4 ? c->view_timeout_ticks / 4 : 1;
    /* Deeper pipelines keep blocks moving while each node waits on its synced writes. */
    c->pipeline_max = c->window / 4 ? c->window / 4 : 1;
    c->sign = wire_sign_cb;
    c->verify = wire_verify_cb;
    c->crypto_ctx = &n->crypto;
    const char *problem = pbft_config_problem(c);
    if (problem) { WHY("genesis consensus parameters: %s", problem); return QC_ERR_INVALID; }
    /* The records and the bodies they point to (~350 KB) live only until the core has
     * restored from them. */
    struct {
        pbft_persist_t recs[CSTATE_RECORDS_MAX];
        cstate_bodies_t bodies;
    } *loaded = malloc(sizeof *loaded);
    if (loaded == NULL) { WHY("out of memory"); return QC_ERR_NOMEM; }
    size_t count = 0;
    int rc = cstate_load(&n->cstate, loaded->recs, CSTATE_RECORDS_MAX, &count, &loaded->bodies);
    if (rc != QC_OK) {
        free(loaded);
        WHY("consensus state: %s", qc_strerror(rc));
        return rc;
    }
    if (count == 0 && n->store.head.height == 0) rc = pbft_init(n->pbft, c);
    else rc = pbft_restore(n->pbft, c, loaded->recs, count, n->store.head.height, &n->store.head.hash);
    free(loaded);
    if (rc != QC_OK) { WHY("consensus restore: %s", qc_strerror(rc)); return rc; }
    n->last_view = pbft_view(n->pbft);
    /* pbft.h: a ledger that holds a decided change but not yet its checkpoint repeats the call. */
    const gov_state_t *g = store_gov(&n->store);
    if (g->waiting) node_epoch_decide(n, g->passed.closed_height, &g->next_vs);
    return QC_OK;
}

/* Appends a peer to nc; false when full or its address does not fit. */
static bool add_peer(net_config_t *nc, const qc_pubkey_t *key, const char *addr) {
    if (nc->n >= NET_PEERS_MAX || strlen(addr) >= sizeof nc->peers[0].addr) return false;
    nc->peers[nc->n].node_key = *key;
    memcpy(nc->peers[nc->n].addr, addr, strlen(addr) + 1);
    nc->n++;
    return true;
}

/* Peer links follow the set in force: its members at their validator indices; then, while a
 * passed change waits for its epoch, the members it adds (learners now: they sync before they
 * vote); then this node itself if it is not a member (a learner: it has the highest index, so
 * the members dial it and it only knocks, whatever epoch its own ledger is in). Fills nc's
 * peers, self and learner from the store's set and governance state. */
static int net_peers_build(node_t *n, net_config_t *nc, char *why, size_t why_cap) {
    const gov_state_t *g = store_gov(&n->store);
    nc->n = 0;
    for (uint32_t i = 0; i < n->store.validators.n; i++)
        if (!add_peer(nc, &n->store.validators.members[i].node_key, g->info[i].p2p_address)) {
            WHY("p2p address of member %u is too long", i);
            return QC_ERR_INVALID;
        }
    nc->self = n->self;
    bool placed = n->self != PBFT_NOT_MEMBER;
    for (uint32_t i = 0; g->waiting && i < g->next_vs.n; i++) {
        const qc_pubkey_t *k = &g->next_vs.members[i].node_key;
        if (qc_validators_find_node(&n->store.validators, k) >= 0) continue;
        bool own = memcmp(k->b, n->node_pk.b, 32) == 0;
        if (own) { /* this learner: where the members put it */
            nc->self = nc->n;
            placed = true;
        }
        if (!add_peer(nc, k, own ? n->cfg.p2p.listen : g->next_info[i].p2p_address)) {
            WHY("p2p address of joining member %s is too long", g->next_vs.members[i].name);
            return QC_ERR_INVALID;
        }
    }
    nc->learner = n->self == PBFT_NOT_MEMBER;
    if (!placed) {
        nc->self = nc->n;
        if (!add_peer(nc, &n->node_pk, n->cfg.p2p.listen)) { WHY("too many peers"); return QC_ERR_INVALID; }
    }
    return QC_OK;
}

/* A digest of the links nc describes: peers (index, key, address), own index, learner. */
static void net_peers_digest(const net_config_t *nc, qc_hash_t *out) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    uint32_t head[3] = {nc->n, nc->self, nc->learner};
    crypto_hash_sha256_update(&st, (const uint8_t *)head, sizeof head);
    for (uint32_t i = 0; i < nc->n; i++) {
        crypto_hash_sha256_update(&st, nc->peers[i].node_key.b, 32);
        crypto_hash_sha256_update(&st, (const uint8_t *)nc->peers[i].addr, strlen(nc->peers[i].addr) + 1);
    }
    crypto_hash_sha256_final(&st, out->b);
}

bool node_net_unchanged(node_t *n) {
    if (!n->net_open) return false;
    net_config_t *nc = calloc(1, sizeof *nc);
    char why[200];
    qc_hash_t d;
    bool same = nc != NULL && net_peers_build(n, nc, why, sizeof why) == QC_OK;
    if (same) net_peers_digest(nc, &d);
    free(nc);
    return same && memcmp(d.b, n->net_peers.b, QC_HASH_BYTES) == 0;
}

int node_start_net(node_t *n, char *why, size_t why_cap) {
    net_config_t nc;
    net_config_default(&nc);
    nc.node_sk = n->crypto.node_sk;
    int rc = net_peers_build(n, &nc, why, why_cap);
    if (rc != QC_OK) {
        sodium_memzero(&nc.node_sk, sizeof nc.node_sk);
        return rc;
    }
    net_peers_digest(&nc, &n->net_peers);
    nc.chain = n->genesis.hash;
    if (strlen(n->cfg.p2p.listen) >= sizeof nc.listen_addr) { WHY("p2p.listen is too long"); return QC_ERR_INVALID; }
    memcpy(nc.listen_addr, n->cfg.p2p.listen, strlen(n->cfg.p2p.listen) + 1);
    nc.frame_bytes_max = n->cfg.p2p.max_frame_bytes;
    nc.send_queue_bytes_max = n->cfg.p2p.send_queue_bytes_max;
    nc.handshake_timeout_ms = n->cfg.p2p.handshake_timeout_ms;
    nc.keepalive_ms = n->cfg.p2p.keepalive_ms;
    nc.idle_timeout_ms = n->cfg.p2p.idle_timeout_ms;
    nc.backoff_base_ms = n->cfg.p2p.reconnect_min_ms;
    nc.backoff_max_ms = n->cfg.p2p.reconnect_max_ms;
    nc.pending_max = n->cfg.p2p.pending_max;
    nc.pending_per_source_max = n->cfg.p2p.pending_per_source_max;
    nc.accepts_per_tick_max = n->cfg.p2p.accepts_per_tick_max;
    rc = net_init(&n->net, n->loop, &nc, on_message, on_peer_state, n);
    sodium_memzero(&nc.node_sk, sizeof nc.node_sk);
    if (rc != QC_OK) { WHY("peer links on %s: %s", nc.listen_addr, qc_strerror(rc)); return rc; }
    n->net_open = true;
    return QC_OK;
}

static void release(node_t *n) {
    for (size_t i = 0; i < NODE_PENDING_MAX; i++) {
        node_pending_free(&n->pending[i]); /* safe on an unused (zeroed) slot */
    }
    memset(n->pending, 0, sizeof n->pending);
    for (size_t i = 0; i < NODE_WS_SPARES; i++) smap_writes_free(&n->state_ws_spare[i]);
    node_gossip_free(n);
    mempool_free(&n->mempool);
    par_stop(n->par);
    n->par = NULL;
    cstate_close(&n->cstate);
    store_close(&n->store);
    wire_crypto_wipe(&n->crypto);
    free(n->pbft);
    free(n->scratch);
    n->pbft = NULL;
    n->scratch = NULL;
}

int node_start(node_t *n, uv_loop_t *loop, const char *config_path, char *why, size_t why_cap) {
    memset(n, 0, sizeof *n);
    n->loop = loop;
    uv_update_time(loop);
    n->started_mono_ms = uv_now(loop);
    n->log_peer_blocks = (qc_lograte_t)QC_LOGRATE_INIT("blocks from peers refused", QC_LOG_WARN, 10,
                                                       QC_LOGRATE_WINDOW_MS);
    n->log_ledger_refused = (qc_lograte_t)QC_LOGRATE_INIT("committed blocks the ledger refused",
                                                          QC_LOG_ERROR, 10, QC_LOGRATE_WINDOW_MS);
    if (qc_crypto_init() != QC_OK) { WHY("libsodium failed to initialise"); return QC_ERR_CRYPTO; }
    n->pbft = calloc(1, sizeof *n->pbft);
    n->scratch = calloc(1, sizeof *n->scratch);
    if (n->pbft == NULL || n->scratch == NULL) { release(n); WHY("out of memory"); return QC_ERR_NOMEM; }
    int rc = load_identity(n, config_path, why, why_cap);
    if (rc == QC_OK) qc_log_set_tag(n->cfg.city);
    if (rc == QC_OK) rc = open_state(n, why, why_cap);
    mempool_limits_t lim = {n->cfg.mempool.max_txs, n->cfg.mempool.max_bytes};
    if (rc == QC_OK && (rc = mempool_init(&n->mempool, &lim)) != QC_OK) WHY("mempool limits: %s", qc_strerror(rc));
    if (rc == QC_OK && (rc = node_gossip_init(n)) != QC_OK) WHY("out of memory");
    if (rc == QC_OK) censor_init(&n->censor, n->genesis.consensus.view_timeout_ms);
    if (rc == QC_OK && (rc = par_start(&n->par, n->cfg.verify.workers)) != QC_OK)
        WHY("starting %u verification threads: %s", n->cfg.verify.workers, qc_strerror(rc));
    if (rc == QC_OK) rc = check_identity(n, why, why_cap);
    if (rc == QC_OK) rc = node_start_core(n, why, why_cap);
    if (rc == QC_OK) rc = node_start_net(n, why, why_cap);
    if (rc != QC_OK) { release(n); return rc; }
    node_restart_notes(n);
    uv_timer_init(loop, &n->tick);
    n->tick.data = n;
    uv_timer_start(&n->tick, on_tick, NODE_TICK_MS, NODE_TICK_MS);
    uv_check_init(loop, &n->check);
    n->check.data = n;
    uv_check_start(&n->check, on_check);
    char genesis_hex[65];
    QC_INFO("%s (validator %u of %u) at height %llu, view %llu; peers on %s; genesis %s; "
            "%u verification threads", n->cfg.city, n->self, n->store.validators.n,
            (unsigned long long)n->store.head.height, (unsigned long long)pbft_view(n->pbft),
            n->cfg.p2p.listen, qc_hash_hex(genesis_hex, &n->genesis.hash), par_workers(n->par));
    node_drive(n);
    return QC_OK;
}

/* Each asynchronous close (tick, check, net, and a ledger write in flight) ends here; the
 * last one frees. */
static void stop_step(node_t *n) {
    if (--n->closing_handles > 0) return;
    release(n);
    if (n->stopped_cb) n->stopped_cb(n);
}

static void on_handle_closed(uv_handle_t *h) { stop_step(h->data); }

static void on_net_closed(net_t *net) {
    stop_step((node_t *)((char *)net - offsetof(node_t, net)));
}

void node_net_closed(node_t *n) { stop_step(n); }
void node_stop_step(node_t *n) { stop_step(n); }

void node_stop(node_t *n, void (*cb)(node_t *)) {
    if (n->stopping) return;
    n->stopping = true;
    n->stopped_cb = cb;
    n->closing_handles = 3 + (n->apply_inflight ? 1 : 0); /* + a ledger write in flight */
    uv_timer_stop(&n->tick);
    uv_check_stop(&n->check);
    uv_close((uv_handle_t *)&n->tick, on_handle_closed);
    uv_close((uv_handle_t *)&n->check, on_handle_closed);
    if (n->net_rebuilding) return;     /* its close callback ends the stop (node_epoch.c) */
    if (!n->net_open || net_close(&n->net, on_net_closed) != QC_OK) stop_step(n);
}

bool node_health(const node_t *n, const char **status, char *why, size_t why_cap) {
    const char *problem = store_problem(&n->store);
    if (n->stats.fatal > 0) {
        *status = "ledger needs an operator";
        WHY("the ledger refused a block a quorum certified, or holds another block than "
            "consensus committed (see the ERROR log)");
    } else if (problem != NULL && n->store.damage != QC_OK) {
        *status = "ledger needs an operator";
        WHY("ledger damaged: %s", problem);
    } else if (problem != NULL) {
        *status = "storage failing";
        WHY("ledger writes failing: %s", problem);
    } else if (n->cstate.write_error != QC_OK) {
        *status = "storage failing";
        WHY("consensus state writes failing (%s); votes withheld", qc_strerror(n->cstate.write_error));
    } else if (n->rollback_height > n->store.head.height) {
        *status = "ledger rolled back";
        WHY("ledger head %llu is below block %llu this node had applied; catching up from peers",
            (unsigned long long)n->store.head.height, (unsigned long long)n->rollback_height);
    } else if (n->votes.not_voting) {
        *status = "not voting";
        WHY("the chain reached block %llu without this validator's commit votes (its last was for "
            "block %llu, view %llu): the consortium has one node less of its fault margin",
            (unsigned long long)n->store.head.height, (unsigned long long)n->votes.voted_height,
            (unsigned long long)pbft_view(n->pbft));
    } else {
        *status = "ok";
        WHY("%s", "");
        return true;
    }
    return false;
}

void node_status(const node_t *n, node_status_t *out) {
    memset(out, 0, sizeof *out);
    out->height = n->store.head.height;
    out->head_hash = n->store.head.hash;
    out->log_size = n->store.head.log_size;
    out->view = pbft_view(n->pbft);
    out->primary = pbft_primary(n->pbft);
    out->self = n->self;
    out->epoch = pbft_epoch_number(n->pbft);
    out->view_change = pbft_mode(n->pbft) == PBFT_MODE_VIEW_CHANGE;
    out->peers_up = net_stats(&n->net)->peers_up;
    out->catching_up = node_catching_up(n);
    for (uint32_t i = 0; i < n->store.validators.n; i++)
        if (n->peer_heads[i] > out->max_peer_height) out->max_peer_height = n->peer_heads[i];
    out->mempool_txs = n->mempool.count;
}
