/* test_store_crash.c - crash consistency of the ledger store on a real LevelDB: a child
 * process applies blocks in a loop and reports each acknowledged height through a pipe; the
 * parent kills it with SIGKILL at a random moment (during open, mid-batch, mid-fsync), then
 * reopens the store and requires: it opens, store_check passes (every block 1..head readable
 * and chained, the log root at every block matches its header, no key of any family above the
 * head), no acknowledged block was lost, and it accepts the next block from its head; also
 * with each block's write on another thread, as the node applies commits.
 * Deterministic per seed: QC_CRASH_SEED=<n> replays a run's kill schedule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chainbuilder.h"
#include "store.h"
#include "tmpdir.h"

#define CHAIN "qchain-crash-test"
#define KILLS_MIN 10    /* always this many kills, however slow the machine (sanitizers, CI) */
#define KILLS_MAX 30    /* more while the time budget lasts */
#define SECONDS_MAX 12.0
#define CHILD_BLOCKS_MAX 100000 /* the child's loop bound; it is always killed long before */

static uint64_t rng_state;
static uint64_t rng_next(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    char dir[256];
    chainbuilder_t cb;
    qc_validator_set_t genesis_vs;
    store_config_t cfg;
    int from_snapshot; /* reopens whose state map started from a snapshot (paged) */
    bool threaded;     /* writes on another thread (store_apply_begin/write/end) */
} crash_t;

/* Block shapes vary with height: 1..4 txs of 1..60 records. */
static void shape(uint64_t height, uint32_t *n_txs, uint32_t *recs) {
    *n_txs = 1 + (uint32_t)(height * 7 % 4);
    *recs = 1 + (uint32_t)(height * 13 % 60);
}

static void *writer(void *arg) {
    store_apply_write(arg);
    return NULL;
}

/* As the node applies a commit (node_process_commits): begin, the synced write on another
 * thread while this one reads the store (which still reads as the head before the block),
 * then end. */
static int apply_threaded(store_t *s, const qc_block_t *b, const qc_cert_t *cert) {
    store_head_t before, during;
    store_head(s, &before);
    int rc = store_apply_begin(s, b, cert, NULL);
    if (rc != QC_OK) return rc;
    assert_true(store_apply_inflight(s));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, s), 0);
    qc_header_t h;
    for (int i = 0; i < 20; i++) { /* reads meanwhile: the head before, whole */
        store_head(s, &during);
        assert_int_equal(during.height, before.height);
        if (before.height > 0) assert_int_equal(store_header_get(s, before.height, &h), QC_OK);
        assert_int_equal(store_header_get(s, b->header.height, &h), QC_ERR_NOTFOUND);
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    rc = store_apply_end(s);
    assert_false(store_apply_inflight(s));
    if (rc == QC_OK) assert_int_equal(s->head.height, b->header.height);
    return rc;
}

/* Opens the store, resumes the builder at its head and applies `count` blocks. */
static int apply_blocks(crash_t *c, store_t *s, uint64_t count, int ack_fd) {
    store_head_t h;
    rlog_t log;
    store_head(s, &h);
    store_log_copy(s, &log);
    chainbuilder_resume(&c->cb, h.height, &h.hash, &log);
    smap_reader_t state = store_state_reader(s); /* the builder reads the map the store keeps */
    c->cb.state_ext = &state;
    c->cb.clogs_ext = &s->clogs;
    int rc = QC_OK;
    for (uint64_t i = 0; i < count; i++) {
        uint32_t n_txs, recs;
        shape(c->cb.height + 1, &n_txs, &recs);
        qc_block_t b;
        qc_cert_t cert;
        rc = chainbuilder_make(&c->cb, n_txs, recs, &b, &cert);
        if (rc == QC_OK) rc = c->threaded ? apply_threaded(s, &b, &cert) : store_apply_block(s, &b, &cert);
        if (rc == QC_OK) chainbuilder_advance(&c->cb, &b);
        qc_block_free(&b);
        if (rc != QC_OK) break;
        uint64_t acked = c->cb.height;
        if (ack_fd >= 0 && write(ack_fd, &acked, sizeof acked) != sizeof acked) {
            rc = QC_ERR_IO;
            break;
        }
    }
    c->cb.state_ext = NULL;
    return rc;
}

static _Noreturn void child_main(crash_t *c, int ack_fd) {
    store_t s;
    int rc = store_open(&s, c->dir, &c->cfg);
    if (rc == QC_OK) rc = apply_blocks(c, &s, CHILD_BLOCKS_MAX, ack_fd);
    fprintf(stderr, "crash child: %s\n", qc_strerror(rc));
    _exit(3);
}

/* Reads every height the child acknowledged; returns the last (or `last` if none). */
static uint64_t drain_acks(int fd, uint64_t last) {
    uint64_t h;
    while (read(fd, &h, sizeof h) == (ssize_t)sizeof h) last = h;
    return last;
}

/* After a kill: the store opens, is whole, kept every acknowledged block, and goes on.
 * Returns the head height after the one block it applies itself. */
static uint64_t verify_after_kill(crash_t *c, uint64_t acked, unsigned long long seed, int kill) {
    store_t s;
    store_check_stats_t st;
    int rc = store_open(&s, c->dir, &c->cfg);
    if (rc != QC_OK) fail_msg("seed %llu kill %d: reopen: %s", seed, kill, qc_strerror(rc));
    rc = store_check(&s, &st);
    if (rc != QC_OK) fail_msg("seed %llu kill %d: store_check: %s", seed, kill, qc_strerror(rc));
    if (s.head.height < acked)
        fail_msg("seed %llu kill %d: head %llu lost acknowledged block %llu", seed, kill,
                 (unsigned long long)s.head.height, (unsigned long long)acked);
    if (st.blocks != s.head.height) fail_msg("seed %llu: check saw %llu blocks", seed,
                                            (unsigned long long)st.blocks);
    store_state_stats_t ss;
    store_state_stats(&s, &ss);
    c->from_snapshot += ss.replayed_blocks < s.head.height;
    uint64_t before = s.head.height;
    rc = apply_blocks(c, &s, 1, -1);
    if (rc != QC_OK || s.head.height != before + 1)
        fail_msg("seed %llu kill %d: cannot continue from the head: %s", seed, kill,
                 qc_strerror(rc));
    store_close(&s);
    return before + 1;
}

/* The kill loop, with the state map resident (cache_bytes 0) or paged with that cache, and
 * the writes on the applying thread or (threaded) on another. */
static void sigkills(size_t cache_bytes, bool threaded) {
    const char *env = getenv("QC_CRASH_SEED");
    unsigned long long seed = env ? strtoull(env, NULL, 10) : (unsigned long long)time(NULL);
    rng_state = seed;
    print_message("store crash test: seed %llu (replay: QC_CRASH_SEED=%llu)\n", seed, seed);
    crash_t c;
    memset(&c, 0, sizeof c);
    assert_int_equal(tmpdir_make(c.dir, sizeof c.dir, "crash"), 0);
    chainbuilder_init(&c.cb, CHAIN, 4, 0);
    c.genesis_vs = c.cb.vs;
    c.cfg = (store_config_t){CHAIN, {{0}}, &c.genesis_vs};
    c.cfg.state_cache_bytes = cache_bytes;
    c.threaded = threaded;
    qc_sha256(&c.cfg.genesis_hash, CHAIN, strlen(CHAIN));
    c.cb.genesis_hash = c.cfg.genesis_hash;
    double start = now_s();
    int kills = 0, mid_run = 0;
    uint64_t acked = 0;
    for (; kills < KILLS_MIN || (kills < KILLS_MAX && now_s() - start < SECONDS_MAX); kills++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_main(&c, fds[1]);
        }
        close(fds[1]);
        usleep((useconds_t)(2000 + rng_next() % 148000)); /* 2..150 ms: open, batch or fsync */
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        uint64_t prev = acked;
        acked = drain_acks(fds[0], acked);
        close(fds[0]);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            fail_msg("seed %llu kill %d: child ended on its own (status %d)", seed, kills,
                     status);
        mid_run += acked > prev;
        acked = verify_after_kill(&c, acked, seed, kills);
    }
    print_message("store crash test: %d SIGKILLs in %.1f s, %d after acknowledged applies, "
                  "%d reopened from a state-map snapshot, final height %llu\n", kills,
                  now_s() - start, mid_run, c.from_snapshot, (unsigned long long)acked);
    assert_true(mid_run >= 3); /* kills landed while blocks were being applied */
    /* paged: most reopens started from a snapshot a killed child wrote */
    if (cache_bytes > 0) assert_true(c.from_snapshot >= 3);
    assert_int_equal(tmpdir_remove(c.dir), 0);
}

static void test_sigkill_during_applies(void **state) {
    (void)state;
    sigkills(0, false);
}

/* The paged state map (MERKLE.md §8.4) at its smallest cache, so that snapshots are written
 * every few blocks and kills land in them too: each reopen replays from the snapshot it finds
 * (or rebuilds) and store_check walks every stored node against the head's root. */
static void test_sigkill_paged_state_map(void **state) {
    (void)state;
    sigkills(STORE_STATE_CACHE_MIN, false);
}

/* The node's way (node_process_commits): each block's synced write on another thread while
 * the applying thread reads the store, kills landing in the write, between write and end, and
 * in the end's state-map snapshots (paged, smallest cache). */
static void test_sigkill_threaded_writes(void **state) {
    (void)state;
    sigkills(STORE_STATE_CACHE_MIN, true);
}

int main(void) {
    qc_log_set_level(getenv("QC_TEST_LOG") ? QC_LOG_DEBUG : QC_LOG_OFF);
    assert_int_equal(qc_crypto_init(), QC_OK);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sigkill_during_applies),
                                       cmocka_unit_test(test_sigkill_paged_state_map),
                                       cmocka_unit_test(test_sigkill_threaded_writes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
