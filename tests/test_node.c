/* test_node.c - four qchain nodes in one process on one libuv loop (real loopback sockets): a
 * transaction submitted to one node commits on all with one head hash; a replay is refused;
 * proposed bodies that are malformed, mislabelled or unrequested take no pending slot; and
 * stopping closes every handle and frees everything (the loop closes cleanly; LSan in asan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "keys.h"
#include "compact.h"
#include "node_internal.h"
#include "tdir.h"
#include "uvwait.h"

#define NODES 4

static const char *const cities[NODES] = {"jinan", "zibo", "taian", "liaocheng"};

typedef struct {
    uv_loop_t loop;
    node_t *nodes[NODES];
    char dir[TDIR_PATH_MAX];
    int stopped;
} fx_t;

typedef bool (*pred_fn)(fx_t *);

typedef struct {
    pred_fn pred;
    fx_t *f;
} pred_call_t;

static bool call_pred(void *arg) { return ((pred_call_t *)arg)->pred(((pred_call_t *)arg)->f); }

/* Runs the loop until pred holds (true) or ms pass (false). */
static bool run_until(fx_t *f, pred_fn pred, uint64_t ms) {
    pred_call_t c = {pred, f};
    return uvwait_until(&f->loop, call_pred, &c, 5, ms);
}

static bool all_linked(fx_t *f) {
    for (int i = 0; i < NODES; i++) {
        node_status_t s;
        node_status(f->nodes[i], &s);
        if (s.peers_up != NODES - 1) return false;
    }
    return true;
}

static bool all_at_height_1(fx_t *f) {
    for (int i = 0; i < NODES; i++)
        if (f->nodes[i]->store.head.height < 1) return false;
    return true;
}

static bool all_stopped(fx_t *f) { return f->stopped == NODES; }

static void on_stopped(node_t *n) {
    fx_t *f = n->on_commit_user; /* set by the test; the node has no API here */
    f->stopped++;
}

static int setup(void **state) {
    fx_t *f = calloc(1, sizeof *f);
    if (f == NULL || uv_loop_init(&f->loop) != 0) return -1;
    tdir_make(f->dir, "node");
    char base[16];
    /* below the ephemeral port range; distinct per process */
    snprintf(base, sizeof base, "%d", 2000 + (int)(getpid() % 150) * 12);
    char *argv[] = {"qchain testnet", "--out", f->dir, "--cities", "4", "--base-port", base,
                    "--chain-id", "node-test", NULL};
    if (cli_testnet(9, argv) != CLI_EXIT_OK) return -1;
    for (int i = 0; i < NODES; i++) {
        char cfg[TDIR_PATH_MAX + 64], why[512];
        snprintf(cfg, sizeof cfg, "%s/%s/node.json", f->dir, cities[i]);
        f->nodes[i] = calloc(1, sizeof(node_t));
        if (f->nodes[i] == NULL || node_start(f->nodes[i], &f->loop, cfg, why, sizeof why) != QC_OK) {
            fprintf(stderr, "node_start %s: %s\n", cities[i], why);
            return -1;
        }
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx_t *f = *state;
    for (int i = 0; i < NODES; i++) {
        f->nodes[i]->on_commit_user = f;
        node_stop(f->nodes[i], on_stopped);
    }
    bool ok = run_until(f, all_stopped, 10000);
    for (int i = 0; i < NODES; i++) free(f->nodes[i]);
    int closed = uv_loop_close(&f->loop); /* 0 only if every handle was closed */
    qc_log_set_tag(NULL);
    tdir_remove(f->dir);
    free(f);
    return ok && closed == 0 ? 0 : -1;
}

/* A one-record ANCHOR of digest d by city i's seal key. */
static void sign_anchor(fx_t *f, int city, uint64_t nonce, const qc_hash_t *d, uint64_t expiry,
                        const char *ref, qc_tx_t *out) {
    char path[TDIR_PATH_MAX + 64], why[256];
    snprintf(path, sizeof path, "%s/%s/keys/seal.key", f->dir, cities[city]);
    keys_pair_t kp;
    assert_int_equal(keys_load_secret(path, NULL, KEYS_ROLE_SEAL, &kp, why, sizeof why), QC_OK);
    qc_txb_t b;
    assert_int_equal(qc_txb_init(&b, "node-test", &kp.pk, nonce, expiry), QC_OK);
    assert_int_equal(qc_txb_add_record(&b, d, "licence", ref, NULL), QC_OK);
    assert_int_equal(qc_txb_finish(&b, &kp.sk, out), QC_OK);
    keys_pair_wipe(&kp);
}

/* A one-record ANCHOR by city i's seal key, as SignedTx protobuf bytes. */
static void make_tx(fx_t *f, int city, uint64_t nonce, uint8_t **bytes, size_t *len) {
    qc_hash_t d;
    memset(d.b, (int)nonce, 32);
    qc_tx_t tx;
    sign_anchor(f, city, nonce, &d, 100, "NT-1", &tx);
    assert_int_equal(qc_tx_encode(&tx, bytes, len), QC_OK);
    qc_tx_free(&tx);
}

static void test_commit_everywhere_and_replay_refused(void **state) {
    fx_t *f = *state;
    assert_true(run_until(f, all_linked, 10000));
    uint8_t *bytes;
    size_t len;
    make_tx(f, 2, 1, &bytes, &len);
    qc_hash_t id;
    const char *why = NULL;
    assert_int_equal(node_submit(f->nodes[1], bytes, len, &id, &why), QC_OK); /* zibo, a backup */
    assert_true(run_until(f, all_at_height_1, 10000));
    for (int i = 1; i < NODES; i++)
        assert_memory_equal(f->nodes[i]->store.head.hash.b, f->nodes[0]->store.head.hash.b, 32);
    /* each node executed the block (built or checked it) and kept its state-map write set's
     * memory for the next block (node_pending_drop) */
    for (int i = 0; i < NODES; i++) {
        size_t kept = 0;
        for (size_t k = 0; k < NODE_WS_SPARES; k++) {
            kept += f->nodes[i]->state_ws_spare[k].cap > 0;
            assert_int_equal(f->nodes[i]->state_ws_spare[k].n, 0);
        }
        assert_true(kept > 0);
    }
    store_tx_loc_t loc;
    assert_int_equal(store_tx_find(&f->nodes[3]->store, &id, &loc), QC_OK);
    assert_int_equal(loc.height, 1);
    assert_int_equal(node_submit(f->nodes[0], bytes, len, &id, &why), QC_ERR_DUPLICATE);
    assert_string_equal(why, "duplicate: already committed");
    free(bytes);
    const uint8_t junk[] = {1, 2, 3};
    assert_int_equal(node_submit(f->nodes[0], junk, sizeof junk, &id, &why), QC_ERR_INVALID);
    assert_string_equal(why, "transaction does not decode");
}

static size_t pending_used(const node_t *n) {
    size_t k = 0;
    for (size_t i = 0; i < NODE_PENDING_MAX; i++) k += n->pending[i].used;
    return k;
}

static void test_hostile_bodies_take_no_slot(void **state) {
    fx_t *f = *state;
    node_t *n = f->nodes[2];
    size_t before = pending_used(n);
    qc_hash_t digest;
    memset(digest.b, 0x5a, 32);
    const uint8_t junk[] = {0x0a, 0x03, 1, 2, 3};
    assert_null(node_pending_add_raw(n, &digest, junk, sizeof junk)); /* malformed */
    /* a well-formed committed block offered under another digest: mislabelled */
    uint8_t *raw;
    size_t raw_len;
    assert_int_equal(store_block_raw(&n->store, 1, &raw, &raw_len, NULL, NULL), QC_OK);
    assert_null(node_pending_add_raw(n, &digest, raw, raw_len));
    assert_int_equal(pending_used(n), before);
    wire_msg_t body = {.kind = WIRE_BODY, .bytes = raw, .len = raw_len};
    node_on_body(n, &body); /* a body nobody asked for is not kept */
    body = (wire_msg_t){.kind = WIRE_BODY, .bytes = junk, .len = sizeof junk};
    node_on_body(n, &body);
    assert_int_equal(pending_used(n), before);
    /* nor a compact one (a proposal's, or a Body's), malformed, mislabelled or unasked for */
    qc_block_t b1;
    assert_int_equal(qc_block_decode(raw, raw_len, &b1), QC_OK);
    uint8_t *c;
    size_t clen;
    assert_int_equal(compact_encode(&b1, &c, &clen), QC_OK);
    qc_block_free(&b1);
    uint64_t malformed = n->stats.wire_malformed;
    assert_int_equal(node_pending_add_compact(n, &digest, junk, sizeof junk), QC_ERR_INVALID);
    assert_int_equal(node_pending_add_compact(n, &digest, c, clen), QC_ERR_INVALID);
    body = (wire_msg_t){.kind = WIRE_BODY, .compact = c, .compact_len = clen};
    node_on_body(n, &body);
    body = (wire_msg_t){.kind = WIRE_BODY, .compact = junk, .compact_len = sizeof junk};
    node_on_body(n, &body);
    assert_int_equal(n->stats.wire_malformed, malformed + 1); /* the junk Body */
    assert_int_equal(pending_used(n), before);
    free(c);
    /* under its true digest it is accepted once, and a second copy is the same entry */
    qc_header_t h;
    qc_hash_t real;
    assert_int_equal(store_header_get(&n->store, 1, &h), QC_OK);
    qc_header_hash(&h, &real);
    node_pending_t *e = node_pending_add_raw(n, &real, raw, raw_len);
    assert_non_null(e);
    assert_ptr_equal(node_pending_add_raw(n, &real, raw, raw_len), e);
    free(raw);
}

/* Catching up (what the node tells the core): a state transfer in progress, or f+1 = 2 peers
 * reporting heads more than one block above ours; one peer's report is not enough (it may lie),
 * and a peer one block ahead is in step. */
static void test_catching_up_needs_f_plus_1_reports(void **state) {
    fx_t *f = *state;
    node_t *n = f->nodes[1];
    uint64_t saved[NET_PEERS_MAX];
    memcpy(saved, n->peer_heads, sizeof saved);
    uint64_t head = n->store.head.height;
    memset(n->peer_heads, 0, sizeof n->peer_heads);
    assert_false(node_catching_up(n));
    n->peer_heads[0] = head + 1000; /* one report, however high */
    assert_false(node_catching_up(n));
    n->peer_heads[1] = head + 1000; /* our own index does not count */
    assert_false(node_catching_up(n));
    n->peer_heads[2] = head + 1;    /* in step */
    assert_false(node_catching_up(n));
    n->peer_heads[2] = head + 2;    /* a second peer clearly ahead */
    assert_true(node_catching_up(n));
    node_status_t st;
    node_status(n, &st);
    assert_true(st.catching_up);
    memset(n->peer_heads, 0, sizeof n->peer_heads);
    n->transfer_wanted = true;      /* the core asked for a state transfer */
    assert_true(node_catching_up(n));
    n->transfer_wanted = false;
    memcpy(n->peer_heads, saved, sizeof saved);
}

/* Catch-up rounds under load (node_catchup_due): a peer a block or two ahead, reached within
 * a round's interval, is consensus at work, not a reason to fetch; further ahead, or behind
 * for a round's interval, it is. Before, any peer one block ahead started a round, and every
 * head probe asked for blocks: under load nodes fetched (and peers read and sent) blocks that
 * consensus delivered a moment later (bench_cluster: catch-up replies were 10-15% of the bytes
 * between 9 nodes). And the resend waits for a stall measured against the chain's own pace
 * (node_resend_still_ms). */
static void test_catchup_and_resend_follow_the_pace(void **state) {
    (void)state;
    assert_false(node_catchup_due(100, 100, false, 0)); /* level */
    assert_false(node_catchup_due(100, 99, false, 0));
    assert_false(node_catchup_due(100, 101, false, 10)); /* a block behind, for 10 ms */
    assert_false(node_catchup_due(100, 100 + NODE_ROUND_SLACK_BLOCKS, false, 499));
    assert_true(node_catchup_due(100, 101 + NODE_ROUND_SLACK_BLOCKS, false, 0)); /* far */
    assert_true(node_catchup_due(100, 101, false, 500)); /* behind for a round's interval */
    assert_true(node_catchup_due(100, 101, false, UINT64_MAX)); /* nothing applied yet */
    assert_true(node_catchup_due(100, 0, true, 0)); /* the core asked */
    assert_int_equal(node_resend_still_ms(2000, 0, true), 500); /* idle chain: a quarter timeout */
    assert_int_equal(node_resend_still_ms(2000, 100, true), 500);
    assert_int_equal(node_resend_still_ms(2000, 1400, true), 2800); /* blocks 1.4 s apart */
    assert_int_equal(node_resend_still_ms(2000, 60000, true), 4000); /* at most two timeouts */
    /* no block applied since the start: no pace known, a whole view timeout (a loaded start
     * resent its whole queue every quarter timeout: bench_cluster, 9 nodes, 879-1,501 txs to
     * every peer while the first blocks were being checked) */
    assert_int_equal(node_resend_still_ms(2000, 0, false), 2000);
    assert_false(node_resend_due(10000, 9600, 0, 500, 2000, false, 0)); /* applied 400 ms ago */
    assert_true(node_resend_due(10000, 9500, 0, 500, 2000, false, 0));  /* stood still 500 ms */
    assert_false(node_resend_due(10000, 5000, 0, 500, 2000, true, 9000)); /* behind a peer: lagging */
    assert_true(node_resend_due(10000, 5000, 0, 500, 2000, true, 6000)); /* ... for 4 s: a liar? */
    /* none applied yet: the chain's stillness counts from the node's start (it counted from
     * the clock's zero, so a node resent from its first tick) */
    uint64_t still0 = node_resend_still_ms(2000, 0, false);
    assert_false(node_resend_due(10000, 0, 8500, still0, 2000, false, 0)); /* started 1.5 s ago */
    assert_true(node_resend_due(10000, 0, 8000, still0, 2000, false, 0));  /* 2 s, none applied */
}

/* A head probe (a fetch for at most 0 blocks) is answered with the head alone; a fetch for
 * blocks with them; both count in qchain_catchup_served_*_total. */
static void test_head_probe_serves_no_blocks(void **state) {
    fx_t *f = *state;
    assert_true(run_until(f, all_at_height_1, 10000));
    node_t *n = f->nodes[1];
    uint64_t blocks = n->stats.fetch_served_blocks, bytes = n->stats.fetch_served_bytes;
    node_on_fetch(n, 0, 1, 0);
    assert_int_equal(n->stats.fetch_served_blocks, blocks);
    assert_true(n->stats.fetch_served_bytes > bytes);
    bytes = n->stats.fetch_served_bytes;
    node_on_fetch(n, 0, 1, 1);
    assert_int_equal(n->stats.fetch_served_blocks, blocks + 1);
    assert_true(n->stats.fetch_served_bytes > bytes + 100); /* a block and its certificate */
}

/* The transaction the running test waits for (a pred_fn takes no argument). */
static qc_hash_t watched_id;

static bool watched_committed_everywhere(fx_t *f) {
    for (int i = 0; i < NODES; i++)
        if (store_tx_find(&f->nodes[i]->store, &watched_id, &(store_tx_loc_t){0}) != QC_OK)
            return false;
    return true;
}

/* A transaction that only one backup holds (its gossip at admission never left: a link was
 * down, or the primary restarted meanwhile) is still committed everywhere, and without a view
 * change: the chain standing still, the backup sends it to its peers again a quarter view
 * timeout later (node_resend_tick). Before, it waited in that backup's mempool alone, whose
 * backlog timer then started a view change that no other node joined. */
static void test_tx_held_by_one_backup_is_resent(void **state) {
    fx_t *f = *state;
    assert_true(run_until(f, all_linked, 10000));
    /* Before its first block a node's stillness counts from its start (node_resend_due), so
     * node_start must have stamped it: a zero stamp is the clock's zero, and a resend from the
     * first round. */
    for (int i = 0; i < NODES; i++) {
        assert_true(f->nodes[i]->started_mono_ms != 0);
        assert_true(f->nodes[i]->started_mono_ms <= uv_now(f->nodes[i]->loop));
    }
    uint64_t changes[NODES];
    for (int i = 0; i < NODES; i++) changes[i] = pbft_stats(f->nodes[i]->pbft)->view_changes;
    node_t *b = f->nodes[2]; /* taian, a backup */
    assert_int_not_equal(pbft_primary(b->pbft), 2);
    uint64_t resent = b->stats.txs_resent;
    uint8_t *bytes;
    size_t len;
    make_tx(f, 3, 7, &bytes, &len);
    qc_tx_t tx;
    assert_int_equal(qc_tx_decode(bytes, len, &tx), QC_OK);
    free(bytes);
    watched_id = tx.id;
    mempool_view_t v = {b->genesis.chain_id, &b->store.validators, b->store.head.height + 1,
                        NULL, NULL, store_gov(&b->store), b->submit_why, sizeof b->submit_why,
                        store_record_status_cb, &b->store, store_share_cb, &b->store};
    assert_int_equal(mempool_add(&b->mempool, &tx, &v, NULL), QC_OK); /* admitted, not sent */
    for (int i = 0; i < NODES; i++)
        if (i != 2) assert_null(mempool_get(&f->nodes[i]->mempool, &watched_id));
    assert_true(run_until(f, watched_committed_everywhere, 3 * b->genesis.consensus.view_timeout_ms));
    assert_true(b->stats.txs_resent > resent);
    for (int i = 0; i < NODES; i++)
        assert_int_equal(pbft_stats(f->nodes[i]->pbft)->view_changes, changes[i]);
}

/* A one-record ANCHOR by city i's seal key, with a digest unique to nonce and an expiry far
 * enough ahead for a long test. */
static void make_unique_tx(fx_t *f, int city, uint64_t nonce, qc_tx_t *out) {
    qc_hash_t d;
    memset(d.b, 0xc5, 32);
    for (int i = 0; i < 8; i++) d.b[i] = (uint8_t)(nonce >> (8 * i));
    sign_anchor(f, city, nonce, &d, f->nodes[city]->store.head.height + 10000, "NT-C", out);
}

/* Submits *tx (freed here) to node via, as a client would; *id gets its id. */
static void submit_tx(fx_t *f, int via, qc_tx_t *tx, qc_hash_t *id) {
    uint8_t *bytes;
    size_t len;
    assert_int_equal(qc_tx_encode(tx, &bytes, &len), QC_OK);
    qc_tx_free(tx);
    const char *why = NULL;
    assert_int_equal(node_submit(f->nodes[via], bytes, len, id, &why), QC_OK);
    free(bytes);
}

static void submit_unique(fx_t *f, int via, int city, uint64_t nonce, qc_hash_t *id) {
    qc_tx_t tx;
    make_unique_tx(f, city, nonce, &tx);
    submit_tx(f, via, &tx, id);
}

/* A peer's gossip waits in the admission queue until the end of the loop turn; if the block
 * holding that transaction is applied meanwhile, admission must refuse it as committed. Before,
 * admission did not look at the ledger, so such a transaction stayed in the mempool, never
 * proposable, until it expired; the censorship watch picked it as the oldest and, seeing newer
 * ones committed past it, suspected honest primaries (9-node bench_cluster runs). The race is
 * made here by queueing a committed transaction directly. */
static void test_gossip_of_a_committed_tx_is_not_admitted(void **state) {
    fx_t *f = *state;
    assert_true(run_until(f, all_linked, 10000));
    qc_tx_t tx, copy, copy2, copy3;
    make_unique_tx(f, 1, 6000, &tx);
    assert_int_equal(qc_tx_clone(&tx, &copy), QC_OK);
    assert_int_equal(qc_tx_clone(&tx, &copy2), QC_OK);
    assert_int_equal(qc_tx_clone(&tx, &copy3), QC_OK);
    uint8_t *bytes;
    size_t len;
    assert_int_equal(qc_tx_encode(&tx, &bytes, &len), QC_OK);
    qc_tx_free(&tx);
    const char *why = NULL;
    assert_int_equal(node_submit(f->nodes[1], bytes, len, &watched_id, &why), QC_OK);
    free(bytes);
    assert_true(run_until(f, watched_committed_everywhere, 10000));
    node_t *b = f->nodes[2];
    assert_null(mempool_get(&b->mempool, &watched_id));
    tx = copy; /* the same transaction again */
    uint64_t dup = b->mempool.rejected[MEMPOOL_REJECT_DUP_COMMITTED];
    b->gossipq[b->gossipq_len++] = tx; /* queued before its block was applied */
    node_gossip_admit(b);
    assert_int_equal(b->gossipq_len, 0);
    assert_null(mempool_get(&b->mempool, &watched_id));
    assert_int_equal(b->mempool.rejected[MEMPOOL_REJECT_DUP_COMMITTED], dup + 1);
    /* gossiped again after its block: queued (the ledger is asked once, at admission), then
     * refused there, once */
    assert_memory_equal(copy2.id.b, watched_id.b, 32);
    node_gossip_tx(b, &copy2); /* ownership moves */
    assert_int_equal(b->gossipq_len, 1);
    node_gossip_admit(b);
    assert_int_equal(b->gossipq_len, 0);
    assert_null(mempool_get(&b->mempool, &watched_id));
    assert_int_equal(b->mempool.rejected[MEMPOOL_REJECT_DUP_COMMITTED], dup + 2);
    /* and through the API: refused before any other check, not counted by the mempool */
    assert_int_equal(qc_tx_encode(&copy3, &bytes, &len), QC_OK);
    qc_hash_t id;
    assert_int_equal(node_submit(b, bytes, len, &id, &why), QC_ERR_DUPLICATE);
    free(bytes);
    assert_string_equal(why, "duplicate: already committed");
    assert_int_equal(b->mempool.rejected[MEMPOOL_REJECT_DUP_COMMITTED], dup + 2);
    qc_tx_free(&copy3);
}

static int stream_node = -1, stream_via = -1; /* test_catch_up_streams's nodes */

static bool one_stopped(fx_t *f) { return f->stopped == 1; }

/* Stops node i and frees it (f->nodes[i] dangles until restart_node). */
static void stop_node(fx_t *f, int i) {
    node_t *old = f->nodes[i];
    f->stopped = 0;
    old->on_commit_user = f;
    node_stop(old, on_stopped);
    assert_true(run_until(f, one_stopped, 10000));
    qc_log_set_tag(NULL); /* it may name the stopped node's city (borrowed) */
    free(old);
}

/* Starts node i again on its data, catching up 4 blocks a reply from one peer at a time. */
static node_t *restart_node(fx_t *f, int i) {
    char cfg[TDIR_PATH_MAX + 64], why[512];
    snprintf(cfg, sizeof cfg, "%s/%s/node.json", f->dir, cities[i]);
    node_t *n = calloc(1, sizeof *n);
    assert_non_null(n);
    assert_int_equal(node_start(n, &f->loop, cfg, why, sizeof why), QC_OK);
    f->nodes[i] = n;
    f->stopped = 0;
    n->cfg.catchup.batch_blocks = 4; /* many replies for a short chain */
    n->cfg.catchup.peers = 1;
    return n;
}


static bool watched_committed_at_via(fx_t *f) {
    return store_tx_find(&f->nodes[stream_via]->store, &watched_id, &(store_tx_loc_t){0}) == QC_OK;
}

static bool stream_node_caught_up(fx_t *f) {
    return f->nodes[stream_node]->store.head.height >= f->nodes[stream_via]->store.head.height;
}

/* A node that was down while 40 blocks were committed catches up by streaming (node_on_blocks):
 * each reply that continues its ledger has the range after it asked for at once from the
 * same peer, so that peer reads and sends it while this node applies (with 4 blocks a reply:
 * ten replies, nine streamed requests at least); every block is applied after its certificate
 * is checked, none refused, and the ledger ends on the same head as its peers'. */
static void test_catch_up_streams(void **state) {
    fx_t *f = *state;
    assert_true(run_until(f, all_linked, 10000));
    int primary = pbft_primary(f->nodes[0]->pbft);
    stream_node = (primary + 3) % NODES;
    stream_via = (primary + 1) % NODES;
    stop_node(f, stream_node);
    uint64_t start = f->nodes[stream_via]->store.head.height;
    for (uint64_t k = 0; k < 40; k++) { /* one transaction, one block, at a time */
        submit_unique(f, stream_via, stream_via, 7000 + k, &watched_id);
        assert_true(run_until(f, watched_committed_at_via, 10000));
    }
    assert_true(f->nodes[stream_via]->store.head.height >= start + 40);
    node_t *n = restart_node(f, stream_node);
    assert_true(run_until(f, stream_node_caught_up, 30000));
    assert_true(n->stats.blocks_caught_up >= 40);
    assert_true(n->stream_requests >= 9);
    assert_int_equal(n->stats.peer_bad_blocks, 0);
    qc_header_t mine, theirs;
    uint64_t h = f->nodes[stream_via]->store.head.height;
    assert_int_equal(store_header_get(&n->store, start + 40, &mine), QC_OK);
    assert_int_equal(store_header_get(&f->nodes[stream_via]->store, start + 40, &theirs), QC_OK);
    qc_hash_t a, b;
    qc_header_hash(&mine, &a);
    qc_header_hash(&theirs, &b);
    assert_memory_equal(a.b, b.b, 32);
    assert_true(n->store.head.height >= h);
    assert_true(run_until(f, all_linked, 10000));
}

/* A GOVERN transaction carrying op, signed by city's admin key, submitted through node via. */
static void submit_gov(fx_t *f, int via, int city, uint64_t nonce, const qc_gov_op_t *op,
                       qc_hash_t *id) {
    char path[TDIR_PATH_MAX + 64], why[256];
    snprintf(path, sizeof path, "%s/%s/keys/admin.key", f->dir, cities[city]);
    keys_pair_t kp;
    assert_int_equal(keys_load_secret(path, NULL, KEYS_ROLE_ADMIN, &kp, why, sizeof why), QC_OK);
    qc_tx_t tx;
    assert_int_equal(qc_gov_tx_build("node-test", &kp.sk, nonce,
                                     f->nodes[via]->store.head.height + 1000, op, &tx), QC_OK);
    keys_pair_wipe(&kp);
    submit_tx(f, via, &tx, id);
}

static bool one_normal_view(fx_t *f);

static int gov_down = -1; /* test_threshold_change_keeps_links's stopped node */

static bool running_in_epoch_1(fx_t *f) {
    for (int i = 0; i < NODES; i++)
        if (i != gov_down && (f->nodes[i]->store.head.epoch < 1 ||
                              pbft_epoch_number(f->nodes[i]->pbft) < 1))
            return false;
    return true;
}

static bool down_node_caught_up_in_epoch_1(fx_t *f) {
    node_t *n = f->nodes[gov_down];
    return n->store.head.height >= f->nodes[stream_via]->store.head.height &&
           pbft_epoch_number(n->pbft) >= 1;
}

/* A membership change that leaves every peer link as it was (here the approval threshold) moves
 * the consortium into the next epoch without closing a link: on the nodes that switch with the
 * core, and on a node that was down meanwhile and crosses the switch by catch-up (it restarts
 * its core in the new epoch, node_epoch_resync, and its catch-up goes on over the same links).
 * Before, every switch closed and reopened every link (node_epoch_relink), dropping what was
 * in flight, consensus messages and catch-up replies alike. Leaves epoch 1, threshold 4. */
static void test_threshold_change_keeps_links(void **state) {
    fx_t *f = *state;
    assert_true(run_until(f, all_linked, 10000));
    int primary = pbft_primary(f->nodes[0]->pbft);
    gov_down = (primary + 3) % NODES;
    stream_via = (primary + 1) % NODES; /* (watched_committed_at_via's node) */
    int other = (primary + 2) % NODES;
    stop_node(f, gov_down);
    uint64_t relinks[NODES] = {0}, switches[NODES] = {0};
    for (int i = 0; i < NODES; i++)
        if (i != gov_down) {
            relinks[i] = f->nodes[i]->stats.peer_relinks;
            switches[i] = f->nodes[i]->stats.epoch_switches;
        }
    /* Proposed by one city, approved by two more: the threshold of 3 is met (the down city's
     * admin signs too; its node need not run for that). */
    qc_gov_op_t *op = calloc(1, sizeof *op);
    assert_non_null(op);
    op->op = QC_GOV_PROPOSE;
    op->vote_expiry_height = f->nodes[stream_via]->store.head.height + 1000;
    op->change_count = 1;
    op->changes[0].kind = QC_CHANGE_THRESHOLD;
    op->changes[0].threshold = 4;
    qc_hash_t proposal;
    submit_gov(f, stream_via, stream_via, 9001, op, &proposal);
    watched_id = proposal;
    assert_true(run_until(f, watched_committed_at_via, 10000));
    const int approvers[2] = {other, gov_down};
    for (int k = 0; k < 2; k++) {
        memset(op, 0, sizeof *op);
        op->op = QC_GOV_APPROVE;
        op->proposal = proposal;
        submit_gov(f, stream_via, approvers[k], 9002 + (uint64_t)k, op, &watched_id);
        assert_true(run_until(f, watched_committed_at_via, 10000));
    }
    free(op);
    /* Blocks until the checkpoint that switches, then a dozen more in the new epoch. */
    for (uint64_t k = 0; k < 40 && !running_in_epoch_1(f); k++) {
        submit_unique(f, stream_via, stream_via, 9100 + k, &watched_id);
        assert_true(run_until(f, watched_committed_at_via, 10000));
    }
    assert_true(run_until(f, running_in_epoch_1, 10000));
    for (uint64_t k = 0; k < 12; k++) {
        submit_unique(f, stream_via, stream_via, 9200 + k, &watched_id);
        assert_true(run_until(f, watched_committed_at_via, 10000));
    }
    assert_int_equal(store_gov(&f->nodes[stream_via]->store)->vs.governance_threshold, 4);
    for (int i = 0; i < NODES; i++) {
        if (i == gov_down) continue;
        assert_true(f->nodes[i]->stats.epoch_switches > switches[i]);
        assert_int_equal(f->nodes[i]->stats.peer_relinks, relinks[i]);
    }
    /* The down node restarts in epoch 0 and catches up across the switch, 4 blocks a reply. */
    store_epoch_span_t spans[2];
    size_t count = 0;
    assert_int_equal(store_epochs(&f->nodes[stream_via]->store, spans, 2, &count), QC_OK);
    assert_int_equal(count, 2);
    uint64_t last_of_0 = spans[1].first_height - 1;
    node_t *n = restart_node(f, gov_down);
    assert_int_equal(n->store.head.epoch, 0);
    assert_true(n->store.head.height < last_of_0);
    /* Replies of 3, 5 or 7 blocks (every node's batch), so that a reply holds the switch block
     * and blocks after it: it is applied up to the switch only (the next set certifies the
     * rest), and the request the stream had sent already, for the blocks after that reply,
     * finds a gap. Asking one peer, with no rounds, only the stream's own follow-up can go on. */
    uint64_t gap = last_of_0 - n->store.head.height;
    uint32_t batch = 3;
    while (gap % batch == 0) batch += 2;
    assert_true(gap > batch);
    for (int i = 0; i < NODES; i++) f->nodes[i]->cfg.catchup.batch_blocks = batch;
    n->test_no_rounds = true; /* one stream alone must carry it across the switch */
    n->test_catchup_peer = (uint32_t)stream_via;
    assert_true(run_until(f, down_node_caught_up_in_epoch_1, 30000));
    assert_int_equal(n->stats.peer_bad_blocks, 0);
    assert_int_equal(n->stats.peer_relinks, 0);
    assert_true(n->stats.epoch_switches >= 1);
    n->test_no_rounds = false; /* (it follows by catch-up until it joins the view) */
    qc_header_t mine, theirs;
    uint64_t h = f->nodes[stream_via]->store.head.height;
    assert_int_equal(store_header_get(&n->store, h, &mine), QC_OK);
    assert_int_equal(store_header_get(&f->nodes[stream_via]->store, h, &theirs), QC_OK);
    qc_hash_t a, b;
    qc_header_hash(&mine, &a);
    qc_header_hash(&theirs, &b);
    assert_memory_equal(a.b, b.b, 32);
    assert_true(run_until(f, all_linked, 10000));
    /* It restarted its core in epoch 1 at view 0; the next block's votes (f + 1 senders in the
     * consortium's view) bring it into that view (pbft's join rule). */
    submit_unique(f, stream_via, stream_via, 9300, &watched_id);
    assert_true(run_until(f, watched_committed_everywhere, 10000));
    assert_true(run_until(f, one_normal_view, 10000));
    gov_down = -1;
}

static bool never(fx_t *f) {
    (void)f;
    return false;
}

static bool one_normal_view(fx_t *f) {
    for (int i = 0; i < NODES; i++)
        if (pbft_mode(f->nodes[i]->pbft) != PBFT_MODE_NORMAL ||
            pbft_view(f->nodes[i]->pbft) != pbft_view(f->nodes[0]->pbft))
            return false;
    return true;
}

static bool skip_watched(void *ctx, const qc_tx_t *tx) {
    (void)ctx;
    return memcmp(tx->id.b, watched_id.b, QC_HASH_BYTES) == 0;
}

/* A primary that keeps committing blocks but leaves one transaction out of every one of them
 * (a Byzantine city censoring another) is replaced, and the transaction is committed: the
 * backups watching it see blocks with room include transactions that reached them well after
 * it, send it again, and after two more such blocks ask for a view change (node/censor.h,
 * pbft_suspect_primary). Before, progress kept resetting every view timer and the
 * transaction waited forever. Leaves the consortium in a later view. */
static void test_censoring_primary_is_replaced(void **state) {
    fx_t *f = *state;
    assert_true(run_until(f, all_linked, 10000));
    int primary = pbft_primary(f->nodes[0]->pbft);
    int via = (primary + 1) % NODES, city = (primary + 2) % NODES;
    uint64_t view = pbft_view(f->nodes[via]->pbft);
    f->nodes[primary]->test_propose_skip = skip_watched;
    submit_unique(f, via, city, 5000, &watched_id);
    uint64_t blocks0 = f->nodes[via]->store.head.height;
    uint64_t nonce = 5001;
    for (int k = 0; k < 400 && !watched_committed_everywhere(f); k++) {
        qc_hash_t id;
        submit_unique(f, via, via, nonce++, &id); /* the others keep being committed */
        run_until(f, watched_committed_everywhere, 100);
    }
    f->nodes[primary]->test_propose_skip = NULL;
    assert_true(watched_committed_everywhere(f));
    assert_true(f->nodes[via]->store.head.height > blocks0 + 10); /* the chain moved meanwhile */
    uint64_t suspicions = 0, resent = 0;
    for (int i = 0; i < NODES; i++) {
        assert_true(pbft_view(f->nodes[i]->pbft) > view);
        suspicions += f->nodes[i]->stats.censor_suspicions;
        resent += f->nodes[i]->stats.censor_resent;
        assert_int_equal(f->nodes[i]->stats.censor_suspicions,
                         pbft_stats(f->nodes[i]->pbft)->suspicions);
    }
    assert_int_equal(f->nodes[primary]->stats.censor_suspicions, 0);
    assert_true(suspicions >= 2); /* f + 1 backups: the third joins them */
    assert_true(resent >= 1);
    /* and it settles: every node in the normal case of one view, none moving on alone (a
     * suspicion still pending from the old view must not be held against the new primary) */
    assert_true(run_until(f, one_normal_view, 10000));
    uint64_t settled = pbft_view(f->nodes[0]->pbft);
    run_until(f, never, 3 * f->nodes[0]->genesis.consensus.view_timeout_ms / 2);
    for (int i = 0; i < NODES; i++) {
        assert_int_equal(pbft_view(f->nodes[i]->pbft), settled);
        assert_int_equal(pbft_mode(f->nodes[i]->pbft), PBFT_MODE_NORMAL);
    }
}

static int stay[2]; /* test_view_timer_held_below_quorum: the two nodes left running */

static bool timers_held_past_timeout(fx_t *f) {
    for (int j = 0; j < 2; j++) {
        int i = stay[j];
        if (pbft_stats(f->nodes[i]->pbft)->timer_held_ticks <
            f->nodes[i]->pcfg.view_timeout_ticks + 50)
            return false;
    }
    return true;
}

/* The failure: a node that reaches fewer than a quorum must not move alone into later
 * views. With the primary and the node before it stopped, the other two each reach one peer
 * (2 < q = 3): their view timers stand still for longer than a whole view timeout and neither
 * starts a view change. Without pbft_set_links on every tick each would have. Runs last: it
 * stops two nodes (teardown stops the rest). */
static void test_view_timer_held_below_quorum(void **state) {
    fx_t *f = *state;
    assert_true(run_until(f, all_linked, 10000));
    int primary = pbft_primary(f->nodes[0]->pbft);
    stay[0] = (primary + 1) % NODES;
    stay[1] = (primary + 2) % NODES;
    uint64_t view = pbft_view(f->nodes[stay[0]]->pbft);
    uint64_t changes[NODES];
    for (int i = 0; i < NODES; i++) changes[i] = pbft_stats(f->nodes[i]->pbft)->view_changes;
    for (int i = 0; i < NODES; i++) {
        if (i == stay[0] || i == stay[1]) continue;
        f->nodes[i]->on_commit_user = f;
        node_stop(f->nodes[i], on_stopped);
    }
    assert_true(run_until(f, timers_held_past_timeout, 20000));
    for (int j = 0; j < 2; j++) {
        int i = stay[j];
        node_status_t st;
        node_status(f->nodes[i], &st);
        assert_int_equal(st.peers_up, 1);
        assert_int_equal(pbft_stats(f->nodes[i]->pbft)->view_changes, changes[i]);
        assert_int_equal(pbft_view(f->nodes[i]->pbft), view);
    }
}

/* A pending entry with a write set of cap nodes, n of them used. */
static void entry_with_set(node_pending_t *e, size_t cap, size_t n) {
    memset(e, 0, sizeof *e);
    e->state_writes.b = calloc(cap, 100); /* a packed write's size, about */
    e->state_writes.b_cap = cap * 100;
    e->state_writes.h = calloc(cap, sizeof *e->state_writes.h);
    assert_non_null(e->state_writes.b);
    assert_non_null(e->state_writes.h);
    e->state_writes.cap = cap;
    e->state_writes.n = n;
}

static size_t spare_caps(const node_t *n, size_t *largest) {
    size_t kept = 0;
    *largest = 0;
    for (size_t k = 0; k < NODE_WS_SPARES; k++) {
        const smap_writes_t *ws = &n->state_ws_spare[k];
        if (ws->cap > 0) kept++;
        if (ws->cap > *largest) *largest = ws->cap;
        assert_int_equal(ws->n, 0); /* a spare is empty: the next block fills it from 0 */
    }
    return kept;
}

/* node_pending_drop keeps the largest write sets, up to NODE_WS_SPARES, replacing the smallest;
 * a set 8 times larger than recent blocks needed is freed instead (load fell), as is a smaller
 * one when every spare is larger. One small block among full-load ones does not cost a set:
 * the need decays by an eighth a block. Under the sanitizers, nothing leaks and nothing is
 * freed twice. */
static void test_spare_write_sets(void **state) {
    (void)state;
    node_t *n = calloc(1, sizeof *n);
    assert_non_null(n);
    node_pending_t e;
    size_t largest;
    for (size_t k = 0; k < NODE_WS_SPARES; k++) {
        entry_with_set(&e, 1000 * (k + 1), 900 * (k + 1));
        node_pending_drop(n, &e);
        assert_null(e.state_writes.b); /* the entry is zeroed */
        assert_int_equal(spare_caps(n, &largest), k + 1);
    }
    assert_int_equal(largest, 1000 * NODE_WS_SPARES);
    entry_with_set(&e, 500, 500); /* smaller than every spare: freed */
    node_pending_drop(n, &e);
    assert_int_equal(spare_caps(n, &largest), NODE_WS_SPARES);
    for (size_t k = 0; k < NODE_WS_SPARES; k++) assert_true(n->state_ws_spare[k].cap >= 1000);
    entry_with_set(&e, 1u << 20, 1000); /* load fell: 8 times too large, freed */
    node_pending_drop(n, &e);
    assert_int_equal(spare_caps(n, &largest), NODE_WS_SPARES);
    assert_int_equal(largest, 1000 * NODE_WS_SPARES);
    entry_with_set(&e, 1u << 20, 1u << 19); /* a full-load block: replaces the smallest */
    node_pending_drop(n, &e);
    assert_int_equal(spare_caps(n, &largest), NODE_WS_SPARES);
    assert_int_equal(largest, 1u << 20);
    for (size_t k = 0; k < NODE_WS_SPARES; k++)
        assert_true(n->state_ws_spare[k].cap >= 2000); /* the 1000 one went */
    /* A block a sixteenth of the last one's size, at full load: its set stays a spare. */
    entry_with_set(&e, 1u << 21, 1u << 15);
    node_pending_drop(n, &e);
    assert_int_equal(spare_caps(n, &largest), NODE_WS_SPARES);
    assert_int_equal(largest, 1u << 21);
    /* Load falls: after enough small blocks, a full-load set is freed when it comes back (the
     * next block takes the largest spare, ws_take). */
    for (int k = 0; k < 40; k++) {
        entry_with_set(&e, 64, 10);
        node_pending_drop(n, &e);
    }
    assert_int_equal(spare_caps(n, &largest), NODE_WS_SPARES);
    assert_int_equal(largest, 1u << 21); /* spares are not touched while idle */
    entry_with_set(&e, 1u << 21, 10);
    node_pending_drop(n, &e);
    assert_int_equal(spare_caps(n, &largest), NODE_WS_SPARES);
    size_t full = 0;
    for (size_t k = 0; k < NODE_WS_SPARES; k++) full += n->state_ws_spare[k].cap == 1u << 21;
    assert_int_equal(full, 1); /* the one that came back went; it would have replaced a 2000 */
    for (size_t k = 0; k < NODE_WS_SPARES; k++) smap_writes_free(&n->state_ws_spare[k]);
    free(n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spare_write_sets),
        cmocka_unit_test(test_commit_everywhere_and_replay_refused),
        cmocka_unit_test(test_hostile_bodies_take_no_slot),
        cmocka_unit_test(test_catching_up_needs_f_plus_1_reports),
        cmocka_unit_test(test_catchup_and_resend_follow_the_pace),
        cmocka_unit_test(test_head_probe_serves_no_blocks),
        cmocka_unit_test(test_tx_held_by_one_backup_is_resent),
        cmocka_unit_test(test_catch_up_streams),
        cmocka_unit_test(test_gossip_of_a_committed_tx_is_not_admitted),
        cmocka_unit_test(test_censoring_primary_is_replaced),
        cmocka_unit_test(test_threshold_change_keeps_links), /* leaves epoch 1, threshold 4 */
        cmocka_unit_test(test_view_timer_held_below_quorum), /* last: stops two nodes */
    };
    qc_log_set_level(QC_LOG_WARN);
    return cmocka_run_group_tests_name("node", tests, setup, teardown);
}
