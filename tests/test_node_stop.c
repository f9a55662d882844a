/* test_node_stop.c - stopping a node while a committed block's ledger write is in flight
 * (docs/ARCHITECTURE.md "The node loop", step 3 and "Threads"; docs/STORAGE.md "Atomicity and
 * crashes"). The synced write runs on libuv's thread pool (store_apply_write) and node_stop
 * counts it among the closes it waits for. The store's test-only hook (store_t.test_write_hook)
 * holds that write on the worker thread until the test has called node_stop; then, while it is
 * held, the stop must not finish and the store must stay open under its writer; once it is
 * released the stop must finish, after the write's completion ran on the loop; and the ledger
 * must reopen whole (store_check) with the block applied. Also: node_stop asked twice (and
 * again after it finished), and a held write that then fails with an I/O error because the
 * disk filled meanwhile (a private tmpfs, tests/lib/smallfs.h, as tests/test_store_full.c:
 * needs root or user namespaces) — the stop still waits and the ledger reopens whole at the
 * head before the block. Four nodes in one process on one loop (real loopback sockets), as in
 * tests/test_node.c; the held node is a backup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "keys.h"
#include "node_internal.h"
#include "smallfs.h"
#include "tdir.h"
#include "uvwait.h"

#define NODES 4
#define HELD 3                  /* liaocheng, a backup: its write is the one held */
#define CHAIN "node-stop-test"
#define FS_BYTES (8u << 20)     /* the held node's data dir in the I/O-error case */
#define BIG_RECORDS 200         /* a block far larger than a tmpfs page's slack */

static const char *const cities[NODES] = {"jinan", "zibo", "taian", "liaocheng"};

/* ---------------------------------------------------------------- checks, also in a child */

/* In the forked child of the I/O-error case a cmocka failure would go on with the other tests
 * there: a failed check prints and exits instead. */
static bool in_child;
/* The test's log level (node_start sets the config's, INFO). */
static qc_log_level_t log_level = QC_LOG_WARN;

static void check_failed(int line, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (in_child) {
        fprintf(stderr, "test_node_stop.c:%d (child): %s\n", line, msg);
        _exit(1);
    }
    fail_msg("test_node_stop.c:%d: %s", line, msg);
}

#define CHECK(cond, ...)                                                                        \
    do {                                                                                        \
        if (!(cond)) check_failed(__LINE__, __VA_ARGS__);                                       \
    } while (0)

/* ---------------------------------------------------------------- the gate on the writer */

typedef enum { GATE_HOLD, GATE_OPEN, GATE_ABANDON } gate_mode_t;

/* Holds every ledger write of the node it is hooked into until opened. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    gate_mode_t mode;
    int entered; /* writes that reached the hook */
    int passed;  /* writes that left it to write */
} gate_t;

/* store_t.test_write_hook: on libuv's worker thread, before the synced write. */
static void gate_hook(void *ctx) {
    gate_t *g = ctx;
    pthread_mutex_lock(&g->mu);
    g->entered++;
    while (g->mode == GATE_HOLD) pthread_cond_wait(&g->cv, &g->mu);
    bool abandon = g->mode == GATE_ABANDON;
    if (!abandon) g->passed++;
    pthread_mutex_unlock(&g->mu);
    /* Only after a failure: the node was freed under this write, which must never run now; the
     * thread ends so that the process can (libuv joins its pool's threads at exit). */
    if (abandon) pthread_exit(NULL);
}

static void gate_set(gate_t *g, gate_mode_t mode) {
    pthread_mutex_lock(&g->mu);
    g->mode = mode;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void gate_counts(gate_t *g, int *entered, int *passed) {
    pthread_mutex_lock(&g->mu);
    if (entered) *entered = g->entered;
    if (passed) *passed = g->passed;
    pthread_mutex_unlock(&g->mu);
}

/* ---------------------------------------------------------------- the consortium */

typedef struct {
    char dir[TDIR_PATH_MAX];
    uv_loop_t loop;
    bool started;
    node_t *nodes[NODES];
    bool stop_asked[NODES];
    int stops[NODES];           /* stop callbacks run, per node */
    int second_cb;              /* callbacks given to a repeated node_stop (must never run) */
    gate_t gate;
    /* what the held node's stop callback saw */
    bool inflight_at_stop;      /* its apply_inflight: the write's completion had not run */
    int passed_at_stop;         /* writes the gate had let through */
    /* the held block, and how to reopen the held node's ledger */
    uint64_t height;
    qc_hash_t digest;
    qc_hash_t tx_id;
    uint64_t nonce;
    uint32_t records;
    char ledger[CONFIG_PATH_MAX + 16];
    char chain_id[QC_CHAIN_ID_MAX + 1];
    qc_hash_t genesis_hash;
    size_t cache_bytes;
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
    return uvwait_until(&f->loop, call_pred, &c, 2, ms);
}

static bool never(fx_t *f) { (void)f; return false; }

static bool all_linked(fx_t *f) {
    for (int i = 0; i < NODES; i++) {
        node_status_t s;
        node_status(f->nodes[i], &s);
        if (s.peers_up != NODES - 1) return false;
    }
    return true;
}

static bool write_held(fx_t *f) {
    int entered;
    gate_counts(&f->gate, &entered, NULL);
    return entered > 0;
}

/* Every close of the held node's stop but its ledger write has run (or the stop finished). */
static bool held_settled(fx_t *f) {
    return f->stops[HELD] > 0 || f->nodes[HELD]->closing_handles <= 1;
}

static bool held_stopped(fx_t *f) { return f->stops[HELD] > 0; }

static bool asked_stopped(fx_t *f) {
    for (int i = 0; i < NODES; i++)
        if (f->stop_asked[i] && f->stops[i] == 0) return false;
    return true;
}

static void on_stopped(node_t *n) {
    fx_t *f = n->on_commit_user; /* set by the test; the node has no API here */
    for (int i = 0; i < NODES; i++)
        if (f->nodes[i] == n) f->stops[i]++;
    if (n == f->nodes[HELD]) {
        f->inflight_at_stop = n->apply_inflight;
        gate_counts(&f->gate, NULL, &f->passed_at_stop);
    }
}

static void on_stopped_second(node_t *n) { ((fx_t *)n->on_commit_user)->second_cb++; }

static void config_path(const fx_t *f, int i, char out[TDIR_PATH_MAX + 64]) {
    snprintf(out, TDIR_PATH_MAX + 64, "%s/%s/node.json", f->dir, cities[i]);
}

/* The testnet's files (in the parent: a child of the I/O case only runs the nodes). */
static void fx_make(fx_t *f) {
    memset(f, 0, sizeof *f);
    tdir_make(f->dir, "nodestop");
    char base[16];
    /* below the ephemeral port range; distinct per process and from tests/test_node.c's */
    snprintf(base, sizeof base, "%d", 4000 + (int)(getpid() % 150) * 12);
    char *argv[] = {"qchain testnet", "--out", f->dir, "--cities", "4", "--base-port", base,
                    "--chain-id", CHAIN, NULL};
    CHECK(cli_testnet(9, argv) == CLI_EXIT_OK, "qchain testnet failed");
    pthread_mutex_init(&f->gate.mu, NULL);
    pthread_cond_init(&f->gate.cv, NULL);
    f->gate.mode = GATE_HOLD;
}

/* Starts the four nodes and hooks the gate into the held node's ledger writes. */
static void fx_start(fx_t *f) {
    CHECK(uv_loop_init(&f->loop) == 0, "uv_loop_init");
    f->started = true;
    for (int i = 0; i < NODES; i++) {
        char cfg[TDIR_PATH_MAX + 64], why[512];
        config_path(f, i, cfg);
        f->nodes[i] = calloc(1, sizeof(node_t));
        CHECK(f->nodes[i] != NULL, "out of memory");
        int rc = node_start(f->nodes[i], &f->loop, cfg, why, sizeof why);
        CHECK(rc == QC_OK, "node_start %s: %s", cities[i], why);
        f->nodes[i]->on_commit_user = f;
    }
    qc_log_set_level(log_level);
    node_t *n = f->nodes[HELD];
    snprintf(f->ledger, sizeof f->ledger, "%s/ledger", n->cfg.data_dir);
    snprintf(f->chain_id, sizeof f->chain_id, "%s", n->genesis.chain_id);
    f->genesis_hash = n->genesis.hash;
    f->cache_bytes = (size_t)n->cfg.ledger.state_cache_mib << 20;
    n->store.test_write_ctx = &f->gate;
    n->store.test_write_hook = gate_hook;
}

/* Stops every node not stopped yet and frees everything. False if something stayed open. A
 * held write is let go first, unless the held node was already freed under it (the failure
 * this file tests): then the writer thread ends without writing and everything is left. */
static bool fx_finish(fx_t *f) {
    if (!f->started) return true;
    int entered, passed;
    gate_counts(&f->gate, &entered, &passed);
    bool held = entered > passed;
    /* A stop asked while the write is held: see where it ends before letting the writer go. */
    if (held && f->stop_asked[HELD]) run_until(f, held_settled, 10000);
    bool freed_under_writer = held && f->stops[HELD] > 0;
    gate_set(&f->gate, freed_under_writer ? GATE_ABANDON : GATE_OPEN);
    for (int i = 0; i < NODES; i++)
        if (f->nodes[i] != NULL && !f->stop_asked[i]) {
            f->stop_asked[i] = true;
            node_stop(f->nodes[i], on_stopped);
        }
    bool ok = run_until(f, asked_stopped, 10000);
    if (freed_under_writer) return false; /* its work request never completes: leave it all */
    for (int i = 0; i < NODES; i++) free(f->nodes[i]);
    int closed = uv_loop_close(&f->loop); /* 0 only if every handle and request was closed */
    f->started = false;
    return ok && closed == 0;
}

/* Digest j of the transaction with this nonce. */
static void record_digest(uint64_t nonce, uint32_t j, qc_hash_t *d) {
    memset(d->b, (int)(nonce & 0xff), 32);
    d->b[0] = (uint8_t)j;
    d->b[1] = (uint8_t)(j >> 8);
}

/* An ANCHOR of `records` records by city i's seal key, submitted to zibo (a backup). */
static void submit(fx_t *f, int city, uint64_t nonce, uint32_t records) {
    char path[TDIR_PATH_MAX + 64], why[256];
    snprintf(path, sizeof path, "%s/%s/keys/seal.key", f->dir, cities[city]);
    keys_pair_t kp;
    CHECK(keys_load_secret(path, NULL, KEYS_ROLE_SEAL, &kp, why, sizeof why) == QC_OK, "%s", why);
    qc_txb_t b;
    CHECK(qc_txb_init(&b, CHAIN, &kp.pk, nonce, 100) == QC_OK, "qc_txb_init");
    for (uint32_t j = 0; j < records; j++) {
        qc_hash_t d;
        record_digest(nonce, j, &d);
        CHECK(qc_txb_add_record(&b, &d, "licence", "NS-1", NULL) == QC_OK, "qc_txb_add_record");
    }
    qc_tx_t tx;
    CHECK(qc_txb_finish(&b, &kp.sk, &tx) == QC_OK, "qc_txb_finish");
    keys_pair_wipe(&kp);
    uint8_t *bytes;
    size_t len;
    CHECK(qc_tx_encode(&tx, &bytes, &len) == QC_OK, "qc_tx_encode");
    qc_tx_free(&tx);
    const char *reason = NULL;
    int rc = node_submit(f->nodes[1], bytes, len, &f->tx_id, &reason);
    free(bytes);
    CHECK(rc == QC_OK, "node_submit: %s", reason ? reason : qc_strerror(rc));
    f->nonce = nonce;
    f->records = records;
}

/* The consortium commits a block of `records` records; the held node's write of it reaches the
 * gate (so the block is in flight there: begun, not yet written). */
static void commit_until_held(fx_t *f, uint32_t records) {
    CHECK(run_until(f, all_linked, 10000), "the nodes did not link");
    submit(f, 2, 1, records);
    CHECK(run_until(f, write_held, 10000), "the held node's ledger write never started");
    node_t *n = f->nodes[HELD];
    CHECK(n->apply_inflight && store_apply_inflight(&n->store) && n->commitq_len > 0,
          "the node does not have a write in flight");
    f->height = n->commitq[0].cert.height;
    f->digest = n->commitq[0].cert.digest;
    CHECK(f->height == n->store.head.height + 1, "block %llu held over head %llu",
          (unsigned long long)f->height, (unsigned long long)n->store.head.height);
}

/* With the write held: node_stop (twice when `twice`); the stop must not finish, nor the store
 * close, while the writer is held, however long; released, it must finish, once, after the
 * write's completion ran on the loop (apply_write_done: it clears apply_inflight). */
static void stop_while_held(fx_t *f, bool twice) {
    node_t *n = f->nodes[HELD];
    f->stop_asked[HELD] = true;
    node_stop(n, on_stopped);
    int closes = n->closing_handles;
    if (twice) {
        node_stop(n, on_stopped_second); /* a no-op: the first stop goes on */
        CHECK(n->closing_handles == closes, "a second node_stop changed the count of closes "
              "from %d to %d", closes, n->closing_handles);
    }
    CHECK(run_until(f, held_settled, 10000), "the node's timers and links did not close");
    CHECK(f->stops[HELD] == 0, "the stop finished while the ledger write was still held on the "
          "worker thread (the node and its store were freed under the writer)");
    CHECK(closes == 4 && n->closing_handles == 1, "node_stop counted %d closes (%d left), not "
          "tick, check, net and the write in flight", closes, n->closing_handles);
    run_until(f, never, 200); /* and nothing else ends it meanwhile */
    CHECK(f->stops[HELD] == 0, "the stop finished while the ledger write was still held");
    CHECK(n->store.db != NULL && store_apply_inflight(&n->store),
          "the store was closed under its writer");
    if (twice) node_stop(n, on_stopped_second); /* once more, with only the write left */
    gate_set(&f->gate, GATE_OPEN);
    CHECK(run_until(f, held_stopped, 10000), "the stop never finished after the write returned");
    run_until(f, never, 50); /* a second callback would come now */
    CHECK(f->stops[HELD] == 1, "the stop callback ran %d times", f->stops[HELD]);
    CHECK(f->second_cb == 0, "a repeated node_stop's callback ran");
    CHECK(f->passed_at_stop == 1, "the stop finished with %d writes let through",
          f->passed_at_stop);
    CHECK(!f->inflight_at_stop, "the stop finished before the write's completion ran");
    if (twice) {
        node_stop(n, on_stopped_second); /* after it finished: nothing (nothing freed twice) */
        run_until(f, never, 20);
        CHECK(f->stops[HELD] == 1 && f->second_cb == 0, "a node_stop after the stop ran again");
    }
}

/* The held node's ledger, reopened from its directory: whole (store_check), with the held
 * block applied (`applied`) or the head before it (its write failed). */
static void check_reopened(fx_t *f, bool applied) {
    store_t s;
    store_config_t cfg = {f->chain_id, f->genesis_hash, NULL, NULL, 0, f->cache_bytes};
    int rc = store_open(&s, f->ledger, &cfg);
    CHECK(rc == QC_OK, "reopening %s: %s", f->ledger, qc_strerror(rc));
    store_check_stats_t st;
    rc = store_check(&s, &st);
    CHECK(rc == QC_OK, "store_check after the stop: %s", qc_strerror(rc));
    uint64_t want = applied ? f->height : f->height - 1;
    CHECK(s.head.height == want, "head %llu after the stop, not %llu (block %llu %s)",
          (unsigned long long)s.head.height, (unsigned long long)want,
          (unsigned long long)f->height, applied ? "applied" : "whose write failed");
    CHECK(st.blocks == want, "store_check saw %llu blocks", (unsigned long long)st.blocks);
    qc_header_t h;
    store_tx_loc_t loc;
    store_record_loc_t rec;
    qc_hash_t d;
    record_digest(f->nonce, f->records - 1, &d);
    if (applied) {
        qc_hash_t hash;
        CHECK(store_header_get(&s, f->height, &h) == QC_OK, "block %llu does not read",
              (unsigned long long)f->height);
        qc_header_hash(&h, &hash);
        CHECK(memcmp(hash.b, f->digest.b, 32) == 0, "another block at the held height");
        CHECK(memcmp(s.head.hash.b, f->digest.b, 32) == 0, "the head is not the held block");
        CHECK(store_tx_find(&s, &f->tx_id, &loc) == QC_OK && loc.height == f->height,
              "the held block's transaction is not indexed at its height");
        CHECK(st.records >= f->records, "the record log holds %llu records",
              (unsigned long long)st.records);
        CHECK(store_record_find(&s, d.b, &rec) == QC_OK && rec.height == f->height,
              "the held block's last record is not indexed at its height");
    } else {
        CHECK(store_header_get(&s, f->height, &h) == QC_ERR_NOTFOUND,
              "a block above the head reads");
        CHECK(store_tx_find(&s, &f->tx_id, &loc) == QC_ERR_NOTFOUND,
              "the failed block's transaction is indexed");
        CHECK(store_record_find(&s, d.b, &rec) == QC_ERR_NOTFOUND,
              "the failed block's record is indexed");
    }
    store_close(&s);
}

/* ---------------------------------------------------------------- tests */

static int setup(void **state) {
    fx_t *f = malloc(sizeof *f);
    if (f == NULL) return -1;
    fx_make(f);
    fx_start(f);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx_t *f = *state;
    bool ok = fx_finish(f);
    qc_log_set_tag(NULL);
    tdir_remove(f->dir);
    if (!ok) return -1; /* f leaked: a writer thread may still be leaving the gate */
    pthread_cond_destroy(&f->gate.cv);
    pthread_mutex_destroy(&f->gate.mu);
    free(f);
    return 0;
}

/* The stop waits for the write in flight, finishes once it returned, and the ledger reopens
 * whole with the block. */
static void test_stop_waits_for_ledger_write(void **state) {
    fx_t *f = *state;
    commit_until_held(f, 8);
    stop_while_held(f, false);
    check_reopened(f, true);
}

/* node_stop asked again while the write is held (at once, and with only the write left) and
 * after the stop finished: each a no-op; the first callback runs once. */
static void test_stop_twice_while_writing(void **state) {
    fx_t *f = *state;
    commit_until_held(f, 8);
    stop_while_held(f, true);
    check_reopened(f, true);
}

/* In a child on its own mount namespace: the held node's data dir is a small tmpfs, filled
 * while the write is held, so the write fails (ENOSPC: QC_ERR_IO at store_apply_end). */
static _Noreturn void failing_write_child(fx_t *f) {
    in_child = true;
    if (!getenv("QC_TEST_LOG")) log_level = QC_LOG_OFF; /* its write's ERROR lines are meant */
    static config_t cfg;
    char path[TDIR_PATH_MAX + 64], why[256];
    config_path(f, HELD, path);
    CHECK(config_load(path, &cfg, why, sizeof why) == QC_OK, "config %s: %s", path, why);
    CHECK(qc_mkdirs(cfg.data_dir, 0700) == QC_OK, "cannot create %s", cfg.data_dir);
    CHECK(smallfs_mount(cfg.data_dir, FS_BYTES, why, sizeof why) == 0, "%s", why);
    fx_start(f);
    commit_until_held(f, BIG_RECORDS);
    size_t filled = smallfs_fill(cfg.data_dir, 64);
    CHECK(filled > 0, "could not fill the tmpfs");
    stop_while_held(f, false);
    for (unsigned i = 0; i < 64; i++) { /* space back, for LevelDB's recovery at the reopen */
        char fill[CONFIG_PATH_MAX + 32];
        snprintf(fill, sizeof fill, "%s/fill.%u", cfg.data_dir, i);
        if (unlink(fill) != 0 && errno == ENOENT) break;
    }
    check_reopened(f, false);
    CHECK(fx_finish(f), "the other nodes did not stop cleanly");
    _exit(0);
}

static void test_stop_with_failing_write(void **state) {
    (void)state;
    fx_t *f = malloc(sizeof *f);
    assert_non_null(f);
    fx_make(f);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) failing_write_child(f);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    tdir_remove(f->dir);
    pthread_cond_destroy(&f->gate.cv);
    pthread_mutex_destroy(&f->gate.mu);
    free(f);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the I/O-error case failed (status %d; its reason is printed above)", status);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        /* First: it forks, and a child must not inherit LevelDB's or libuv's threads. */
        cmocka_unit_test(test_stop_with_failing_write),
        cmocka_unit_test_setup_teardown(test_stop_waits_for_ledger_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_twice_while_writing, setup, teardown),
    };
    if (getenv("QC_TEST_LOG")) log_level = QC_LOG_DEBUG;
    qc_log_set_level(log_level);
    return cmocka_run_group_tests_name("node_stop", tests, NULL, NULL);
}
