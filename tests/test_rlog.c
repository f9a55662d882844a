/* test_rlog.c - the stored, incremental record log (node/store/rlog.c) against from-scratch
 * computation (proto/merkle.c) for every size up to N_MAX, over an in-memory store with
 * counted reads and injected failures, plus a synthetic tree at sizes near 2^63. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityproof.h"
#include "memlog.h"
#include "rlog.h"

#define N_MAX 3000
#define SAMPLES 300

static qc_hash_t leaves[N_MAX];
static qc_hash_t roots[N_MAX + 1]; /* roots[n] = merkle_root(leaves, n), from scratch */
static memlog_t store;             /* all N_MAX leaves appended through rlog */
static rlog_reader_t reader;

static uint64_t rng_state;
static uint64_t rng_next(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}
static uint64_t rng_below(uint64_t n) { return rng_next() % n; }

static uint32_t bit_length(uint64_t n) { return n == 0 ? 0 : 64u - (uint32_t)__builtin_clzll(n); }

static int append_all(memlog_t *m, rlog_t *log, uint64_t from, uint64_t to) {
    for (uint64_t i = from; i < to; i++) {
        int rc = rlog_append(log, &leaves[i], memlog_put, m);
        if (rc != QC_OK) return rc;
    }
    return QC_OK;
}

static int setup(void **state) {
    (void)state;
    const char *seed_env = getenv("QC_TEST_SEED");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x5eed0f2024u;
    printf("test_rlog: seed 0x%llx (set QC_TEST_SEED to replay)\n", (unsigned long long)seed);
    rng_state = seed;
    for (uint64_t i = 0; i < N_MAX; i++) {
        uint64_t x = rng_next();
        merkle_leaf_hash(&leaves[i], &x, sizeof x);
    }
    for (uint64_t n = 0; n <= N_MAX; n++) merkle_root(&roots[n], leaves, n);
    memlog_init(&store);
    reader = memlog_reader(&store);
    rlog_t log;
    if (rlog_open(&log, 0, &reader) != QC_OK) return -1;
    return append_all(&store, &log, 0, N_MAX) == QC_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    memlog_free(&store);
    return 0;
}

static void assert_hash_equal(const qc_hash_t *a, const qc_hash_t *b) {
    assert_memory_equal(a->b, b->b, QC_HASH_BYTES);
}

/* ---- appends, roots, open ----------------------------------------------------------------- */

/* Every size: the incremental root equals the from-scratch root; an append writes exactly the
 * subtrees it completes (trailing ones of the old size, plus the leaf) and reads nothing. */
static void test_append_every_size(void **state) {
    (void)state;
    memlog_t m;
    memlog_init(&m);
    rlog_t log;
    assert_int_equal(rlog_open(&log, 0, &reader), QC_OK);
    qc_hash_t root;
    rlog_root(&log, &root);
    assert_hash_equal(&root, &roots[0]);
    for (uint64_t n = 0; n < N_MAX; n++) {
        uint64_t puts = m.puts;
        assert_int_equal(rlog_append(&log, &leaves[n], memlog_put, &m), QC_OK);
        assert_int_equal(log.size, n + 1);
        assert_int_equal(m.puts - puts, 1 + (uint64_t)__builtin_ctzll(~n));
        rlog_root(&log, &root);
        assert_hash_equal(&root, &roots[n + 1]);
    }
    assert_int_equal(m.gets, 0);
    /* Without a store (put NULL) a copy of the log advances to the same roots. */
    rlog_t copy = log;
    for (uint64_t n = 0; n < 100; n++) {
        assert_int_equal(rlog_append(&copy, &leaves[n], NULL, NULL), QC_OK);
    }
    assert_int_equal(copy.size, N_MAX + 100);
    assert_int_equal(log.size, N_MAX);
    static qc_hash_t longer[N_MAX + 100]; /* the leaves, then the first 100 again */
    memcpy(longer, leaves, sizeof leaves);
    memcpy(longer + N_MAX, leaves, 100 * sizeof(qc_hash_t));
    qc_hash_t want;
    merkle_root(&want, longer, N_MAX + 100);
    rlog_root(&copy, &root);
    assert_hash_equal(&root, &want);
    /* 2n - popcount(n) complete subtrees, and the store holds exactly what `store` holds. */
    assert_int_equal(m.puts, 2 * N_MAX - (uint64_t)__builtin_popcountll(N_MAX));
    for (uint32_t k = 0; k < MERKLE_LEVELS; k++) {
        assert_int_equal(m.level_len[k], (uint64_t)N_MAX >> k);
        if (m.level_len[k] > 0) {
            assert_memory_equal(m.levels[k], store.levels[k], m.level_len[k] * sizeof(qc_hash_t));
        }
    }
    memlog_free(&m);
}

static void test_root_at_every_size(void **state) {
    (void)state;
    for (uint64_t n = 0; n <= N_MAX; n++) {
        qc_hash_t root;
        uint64_t gets = store.gets;
        assert_int_equal(rlog_root_at(&reader, n, &root), QC_OK);
        assert_hash_equal(&root, &roots[n]);
        uint64_t want_gets = (n & (n - 1)) == 0 ? (n > 0) : (uint64_t)__builtin_popcountll(n);
        assert_int_equal(store.gets - gets, want_gets);
    }
}

/* Opening at every size reads popcount(size) subtrees and reproduces the frontier an
 * incremental log had at that size. */
static void test_open_every_size(void **state) {
    (void)state;
    rlog_t inc, opened;
    memlog_t scratch;
    memlog_init(&scratch);
    assert_int_equal(rlog_open(&inc, 0, &reader), QC_OK);
    for (uint64_t n = 0; n <= N_MAX; n++) {
        uint64_t gets = store.gets;
        assert_int_equal(rlog_open(&opened, n, &reader), QC_OK);
        assert_int_equal(store.gets - gets, (uint64_t)__builtin_popcountll(n));
        assert_int_equal(opened.size, n);
        for (uint32_t k = 0; k < MERKLE_LEVELS; k++) {
            if ((n >> k) & 1) assert_hash_equal(&opened.frontier[k], &inc.frontier[k]);
        }
        qc_hash_t root;
        rlog_root(&opened, &root);
        assert_hash_equal(&root, &roots[n]);
        if (n < N_MAX) assert_int_equal(rlog_append(&inc, &leaves[n], memlog_put, &scratch), QC_OK);
    }
    /* And each frontier entry is the MTH of its leaves, from scratch, at sampled sizes. */
    for (int s = 0; s < 50; s++) {
        uint64_t n = 1 + rng_below(N_MAX);
        assert_int_equal(rlog_open(&opened, n, &reader), QC_OK);
        for (uint32_t k = 0; k < MERKLE_LEVELS; k++) {
            if (((n >> k) & 1) == 0) continue;
            qc_hash_t want;
            uint64_t begin = ((n >> k) - 1) << k;
            merkle_root(&want, leaves + begin, UINT64_C(1) << k);
            assert_hash_equal(&opened.frontier[k], &want);
        }
    }
    memlog_free(&scratch);
}

/* A store reopened at any size continues exactly where it stopped. */
static void test_reopen_and_continue(void **state) {
    (void)state;
    uint64_t sizes[24] = {0, 1, 2, 3, 1023, 1024, 2047, N_MAX - 1};
    for (int s = 8; s < 24; s++) sizes[s] = rng_below(N_MAX);
    for (int s = 0; s < 24; s++) {
        memlog_t m;
        memlog_init(&m);
        rlog_t log;
        rlog_reader_t r = memlog_reader(&m);
        assert_int_equal(rlog_open(&log, 0, &r), QC_OK);
        assert_int_equal(append_all(&m, &log, 0, sizes[s]), QC_OK);
        assert_int_equal(rlog_open(&log, sizes[s], &r), QC_OK);
        assert_int_equal(append_all(&m, &log, sizes[s], N_MAX), QC_OK);
        qc_hash_t root;
        rlog_root(&log, &root);
        assert_hash_equal(&root, &roots[N_MAX]);
        assert_int_equal(m.level_len[0], N_MAX);
        assert_memory_equal(m.levels[0], leaves, sizeof leaves);
        memlog_free(&m);
    }
}

/* ---- proofs --------------------------------------------------------------------------------- */

/* rlog's inclusion proof for (a, n) (or consistency proof from a to n) equals the in-memory
 * merkle_* proof when `compare`, verifies against the from-scratch roots, and costs at most
 * 2 * bit_length(n) reads. */
static void check_proof(bool consistency, uint64_t a, uint64_t n, bool compare) {
    qc_hash_t got[MERKLE_PROOF_MAX], want[MERKLE_PROOF_MAX];
    size_t got_len, want_len;
    uint64_t gets = store.gets;
    int rc = consistency ? rlog_consistency_proof(&reader, a, n, got, &got_len)
                         : rlog_inclusion_proof(&reader, a, n, got, &got_len);
    assert_int_equal(rc, QC_OK);
    assert_true(store.gets - gets <= 2 * bit_length(n));
    rc = consistency ? merkle_verify_consistency(a, n, &roots[a], &roots[n], got, got_len)
                     : merkle_verify_inclusion(&leaves[a], a, n, got, got_len, &roots[n]);
    assert_int_equal(rc, QC_OK);
    if (!compare) return;
    rc = consistency ? merkle_consistency_proof(leaves, a, n, want, &want_len)
                     : merkle_inclusion_proof(leaves, n, a, want, &want_len);
    assert_int_equal(rc, QC_OK);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len * sizeof(qc_hash_t));
}
#define check_inclusion(i, n, compare) check_proof(false, (i), (n), (compare))
#define check_consistency(m, n, compare) check_proof(true, (m), (n), (compare))

static void test_inclusion_cross_check(void **state) {
    (void)state;
    for (uint64_t n = 1; n <= 100; n++) {
        for (uint64_t i = 0; i < n; i++) check_inclusion(i, n, true);
    }
    for (uint64_t n = 1; n <= N_MAX; n++) {
        check_inclusion(rng_below(n), n, false);
        check_inclusion(n - 1, n, false);
    }
    for (int s = 0; s < SAMPLES; s++) {
        uint64_t n = 1 + rng_below(N_MAX);
        check_inclusion(rng_below(n), n, true);
    }
    qc_hash_t path[MERKLE_PROOF_MAX];
    size_t len = 99;
    assert_int_equal(rlog_inclusion_proof(&reader, 5, 5, path, &len), QC_ERR_RANGE);
    assert_int_equal(len, 0);
    assert_int_equal(rlog_inclusion_proof(&reader, 0, MERKLE_SIZE_MAX + 1, path, &len),
                     QC_ERR_RANGE);
}

static void test_consistency_cross_check(void **state) {
    (void)state;
    for (uint64_t n = 0; n <= 64; n++) {
        for (uint64_t m = 0; m <= n; m++) check_consistency(m, n, true);
    }
    for (uint64_t n = 1; n <= N_MAX; n++) {
        check_consistency(rng_below(n + 1), n, false);
        check_consistency(n - 1, n, false);
    }
    for (int s = 0; s < SAMPLES; s++) {
        uint64_t n = 1 + rng_below(N_MAX), m = rng_below(n + 1);
        check_consistency(m, n, true);
    }
    qc_hash_t proof[MERKLE_PROOF_MAX];
    size_t len = 99;
    assert_int_equal(rlog_consistency_proof(&reader, 6, 5, proof, &len), QC_ERR_RANGE);
    assert_int_equal(len, 0);
    assert_int_equal(rlog_consistency_proof(&reader, 7, 7, proof, &len), QC_OK);
    assert_int_equal(len, 0);
    assert_int_equal(rlog_consistency_proof(&reader, 0, 9, proof, &len), QC_OK);
    assert_int_equal(len, 0);
}

/* ---- storage failures ----------------------------------------------------------------------- */

typedef enum { OP_OPEN, OP_ROOT_AT, OP_INCLUSION, OP_CONSISTENCY } op_t;

/* Runs one reader operation; on failure checks that nothing half-made is returned. */
static int run_op(op_t op, uint64_t a, uint64_t b) {
    qc_hash_t out[MERKLE_PROOF_MAX];
    size_t len = 99;
    rlog_t log;
    int rc;
    switch (op) {
    case OP_OPEN:
        rc = rlog_open(&log, b, &reader);
        assert_int_equal(log.size, rc == QC_OK ? b : 0);
        return rc;
    case OP_ROOT_AT:
        rc = rlog_root_at(&reader, b, out);
        if (rc == QC_OK) assert_hash_equal(out, &roots[b]);
        return rc;
    case OP_INCLUSION:
        rc = rlog_inclusion_proof(&reader, a, b, out, &len);
        break;
    default:
        rc = rlog_consistency_proof(&reader, a, b, out, &len);
        break;
    }
    if (rc != QC_OK) assert_int_equal(len, 0);
    return rc;
}

/* Every read of every kind of operation fails in turn, with each kind of error: the error
 * comes back (an absent subtree as QC_ERR_CORRUPT), and the next call succeeds again. */
static void test_read_failures(void **state) {
    (void)state;
    static const int injected[3] = {QC_ERR_IO, QC_ERR_CORRUPT, QC_ERR_NOTFOUND};
    static const int expected[3] = {QC_ERR_IO, QC_ERR_CORRUPT, QC_ERR_CORRUPT};
    qc_log_level_t saved = qc_log_get_level();
    qc_log_set_level(QC_LOG_OFF);
    int failures = 0;
    for (int s = 0; s < 40; s++) {
        uint64_t n = 2 + rng_below(N_MAX - 1), a = rng_below(n);
        for (op_t op = OP_OPEN; op <= OP_CONSISTENCY; op++) {
            uint64_t gets = store.gets;
            assert_int_equal(run_op(op, a, n), QC_OK);
            uint64_t needed = store.gets - gets;
            for (uint64_t j = 1; j <= needed; j++) {
                for (int e = 0; e < 3; e++) {
                    store.fail_get_at = store.gets + j;
                    store.fail_get_rc = injected[e];
                    assert_int_equal(run_op(op, a, n), expected[e]);
                    failures++;
                }
            }
            store.fail_get_at = 0;
            assert_int_equal(run_op(op, a, n), QC_OK);
        }
    }
    qc_log_set_level(saved);
    assert_true(failures > 100);
}

/* A store that lost its newest subtrees (or was asked beyond them) reports corruption for
 * anything that needs them and still answers below them. */
static void test_missing_subtrees(void **state) {
    (void)state;
    qc_log_level_t saved = qc_log_get_level();
    qc_log_set_level(QC_LOG_OFF);
    memlog_t m;
    memlog_init(&m);
    rlog_t log;
    rlog_reader_t r = memlog_reader(&m);
    assert_int_equal(rlog_open(&log, 0, &r), QC_OK);
    assert_int_equal(append_all(&m, &log, 0, 1500), QC_OK);
    memlog_truncate(&m, 1000);
    qc_hash_t out[MERKLE_PROOF_MAX];
    size_t len;
    assert_int_equal(rlog_open(&log, 1500, &r), QC_ERR_CORRUPT);
    assert_int_equal(log.size, 0);
    assert_int_equal(rlog_root_at(&r, 1500, out), QC_ERR_CORRUPT);
    assert_int_equal(rlog_inclusion_proof(&r, 3, 1500, out, &len), QC_ERR_CORRUPT);
    assert_int_equal(rlog_inclusion_proof(&r, 1200, 1500, out, &len), QC_ERR_CORRUPT);
    assert_int_equal(rlog_consistency_proof(&r, 999, 1001, out, &len), QC_ERR_CORRUPT);
    assert_int_equal(rlog_open(&log, 1000, &r), QC_OK);
    assert_int_equal(rlog_root_at(&r, 1000, out), QC_OK);
    assert_hash_equal(out, &roots[1000]);
    assert_int_equal(rlog_consistency_proof(&r, 10, 1000, out, &len), QC_OK);
    /* A level lost entirely (e.g. a wrong key prefix in the store). */
    m.level_len[3] = 0;
    assert_int_equal(rlog_root_at(&r, 1000, out), QC_ERR_CORRUPT);
    assert_int_equal(rlog_inclusion_proof(&r, 0, 1000, out, &len), QC_ERR_CORRUPT);
    memlog_free(&m);
    qc_log_set_level(saved);
}

/* A failed put leaves the log unchanged; after the store discards the batch, the same append
 * succeeds and the log goes on as if nothing happened. */
static void test_append_put_failures(void **state) {
    (void)state;
    static const uint64_t sizes[] = {0, 1, 6, 7, 1023, 2046};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint64_t size = sizes[s];
        uint64_t puts_needed = 1 + (uint64_t)__builtin_ctzll(~size);
        memlog_t m;
        memlog_init(&m);
        rlog_t log, before;
        rlog_reader_t r = memlog_reader(&m);
        assert_int_equal(rlog_open(&log, 0, &r), QC_OK);
        assert_int_equal(append_all(&m, &log, 0, size), QC_OK);
        for (uint64_t j = 1; j <= puts_needed; j++) {
            before = log;
            m.fail_put_at = m.puts + j;
            m.fail_put_rc = (j & 1) ? QC_ERR_IO : QC_ERR_NOMEM;
            assert_int_equal(rlog_append(&log, &leaves[size], memlog_put, &m), m.fail_put_rc);
            assert_memory_equal(&log, &before, sizeof log);
            memlog_truncate(&m, size);
        }
        m.fail_put_at = 0;
        assert_int_equal(rlog_append(&log, &leaves[size], memlog_put, &m), QC_OK);
        qc_hash_t root;
        rlog_root(&log, &root);
        assert_hash_equal(&root, &roots[size + 1]);
        assert_int_equal(rlog_root_at(&r, size + 1, &root), QC_OK);
        assert_hash_equal(&root, &roots[size + 1]);
        /* The store refuses a second write of a subtree: the log never rewrites one. */
        assert_int_equal(memlog_put(&m, 0, size, &leaves[size]), QC_ERR_EXISTS);
        memlog_free(&m);
    }
}

/* ---- a synthetic tree of 2^63 equal leaves ------------------------------------------------ */

/* Every complete subtree of level k has the same hash P[k]; the store "holds" size_stored
 * leaves. Right-edge hashes come from a recursive transcription of MTH (independent of rlog). */
typedef struct {
    qc_hash_t p[MERKLE_LEVELS];
    uint64_t size_stored;
    uint64_t gets;
} const_tree_t;

static int const_get(void *ctx, uint32_t level, uint64_t index, qc_hash_t *out) {
    const_tree_t *t = ctx;
    t->gets++;
    if (level >= MERKLE_LEVELS || index >= (t->size_stored >> level)) return QC_ERR_NOTFOUND;
    *out = t->p[level];
    return QC_OK;
}

static void const_mth(const const_tree_t *t, uint64_t n, qc_hash_t *out) {
    if ((n & (n - 1)) == 0) {
        *out = t->p[__builtin_ctzll(n)];
        return;
    }
    uint64_t k = UINT64_C(1) << (63 - __builtin_clzll(n - 1));
    qc_hash_t right;
    const_mth(t, n - k, &right);
    merkle_node_hash(out, &t->p[__builtin_ctzll(k)], &right);
}

static int count_put(void *ctx, uint32_t level, uint64_t index, const qc_hash_t *h) {
    (void)level, (void)index, (void)h;
    (*(uint64_t *)ctx)++;
    return QC_OK;
}

static void test_sizes_near_2_pow_63(void **state) {
    (void)state;
    const_tree_t t = {.size_stored = MERKLE_SIZE_MAX};
    merkle_leaf_hash(&t.p[0], "x", 1);
    for (int k = 1; k < MERKLE_LEVELS; k++) merkle_node_hash(&t.p[k], &t.p[k - 1], &t.p[k - 1]);
    rlog_reader_t r = {const_get, &t};
    uint64_t sizes[64] = {MERKLE_SIZE_MAX, MERKLE_SIZE_MAX - 1, MERKLE_SIZE_MAX / 2 + 1,
                          MERKLE_SIZE_MAX / 3};
    for (int s = 4; s < 64; s++) sizes[s] = 1 + rng_below(MERKLE_SIZE_MAX);
    for (int s = 0; s < 64; s++) {
        uint64_t n = sizes[s];
        qc_hash_t want, got, path[MERKLE_PROOF_MAX];
        size_t len;
        rlog_t log;
        const_mth(&t, n, &want);
        assert_int_equal(rlog_open(&log, n, &r), QC_OK);
        rlog_root(&log, &got);
        assert_hash_equal(&got, &want);
        assert_int_equal(rlog_root_at(&r, n, &got), QC_OK);
        assert_hash_equal(&got, &want);
        uint64_t idx[3] = {0, n - 1, rng_below(n)};
        for (int j = 0; j < 3; j++) {
            t.gets = 0;
            assert_int_equal(rlog_inclusion_proof(&r, idx[j], n, path, &len), QC_OK);
            assert_true(len <= 63);
            assert_true(t.gets <= 2 * 63);
            assert_int_equal(merkle_verify_inclusion(&t.p[0], idx[j], n, path, len, &want), QC_OK);
        }
        uint64_t m = 1 + rng_below(n);
        qc_hash_t old_root;
        const_mth(&t, m, &old_root);
        t.gets = 0;
        assert_int_equal(rlog_consistency_proof(&r, m, n, path, &len), QC_OK);
        assert_true(len <= MERKLE_PROOF_MAX);
        assert_true(t.gets <= 2 * 63);
        assert_int_equal(merkle_verify_consistency(m, n, &old_root, &want, path, len), QC_OK);
        if (n > 1) {
            assert_int_equal(rlog_consistency_proof(&r, n - 1, n, path, &len), QC_OK);
            const_mth(&t, n - 1, &old_root);
            assert_int_equal(merkle_verify_consistency(n - 1, n, &old_root, &want, path, len),
                             QC_OK);
        }
    }
    /* The last possible append completes 64 subtrees (levels 0..63); then the log is full. */
    rlog_t log;
    uint64_t puts = 0;
    assert_int_equal(rlog_open(&log, MERKLE_SIZE_MAX - 1, &r), QC_OK);
    assert_int_equal(rlog_append(&log, &t.p[0], count_put, &puts), QC_OK);
    assert_int_equal(puts, 64);
    qc_hash_t root;
    rlog_root(&log, &root);
    assert_hash_equal(&root, &t.p[63]);
    assert_int_equal(rlog_append(&log, &t.p[0], count_put, &puts), QC_ERR_FULL);
    assert_int_equal(log.size, MERKLE_SIZE_MAX);
    assert_int_equal(rlog_open(&log, MERKLE_SIZE_MAX + 1, &r), QC_ERR_RANGE);
    assert_int_equal(rlog_root_at(&r, MERKLE_SIZE_MAX + 1, &root), QC_ERR_RANGE);
}

/* ---- range hashes (city log proofs, PROTOCOL §13.4 step 5) ------------------------------- */

/* The list for [lo, hi) in the log of n leaves, with the leaves' own hashes, gives the root of
 * the whole log through the verifier's walk, and the walk refuses it one hash short. */
static void check_range(uint64_t n, uint64_t lo, uint64_t hi) {
    qc_hash_t hashes[CITYPROOF_HASHES_MAX], root;
    size_t count = 999;
    int rc = rlog_range_hashes(&reader, n, lo, hi, hashes, CITYPROOF_HASHES_MAX, &count);
    if (rc != QC_OK) fail_msg("n %llu [%llu, %llu): %s", (unsigned long long)n,
                              (unsigned long long)lo, (unsigned long long)hi, qc_strerror(rc));
    assert_true(count <= 2 * (size_t)bit_length(n));
    assert_int_equal(cityproof_range_root(&leaves[lo], hi - lo, lo, n, hashes, count, &root),
                     QC_OK);
    assert_hash_equal(&root, &roots[n]);
    if (count > 0)
        assert_int_equal(cityproof_range_root(&leaves[lo], hi - lo, lo, n, hashes, count - 1,
                                              &root), QC_ERR_INVALID);
    /* one leaf fewer at the end needs another hash: the same list no longer fits */
    if (hi - lo > 1)
        assert_int_equal(cityproof_range_root(&leaves[lo], hi - lo - 1, lo, n, hashes, count,
                                              &root) == QC_OK &&
                             memcmp(root.b, roots[n].b, 32) == 0,
                         false);
}

static void test_range_hashes_cross_check(void **state) {
    (void)state;
    for (uint64_t n = 1; n <= 40; n++)
        for (uint64_t lo = 0; lo < n; lo++)
            for (uint64_t hi = lo + 1; hi <= n; hi++) check_range(n, lo, hi);
    for (int s = 0; s < SAMPLES; s++) {
        uint64_t n = 1 + rng_below(N_MAX);
        uint64_t lo = rng_below(n);
        uint64_t hi = lo + 1 + rng_below(s % 2 ? n - lo : (n - lo < 8 ? n - lo : 8));
        check_range(n, lo, hi);
    }
    check_range(N_MAX, 0, N_MAX);
    check_range(N_MAX, N_MAX - 1, N_MAX);
    qc_hash_t out[CITYPROOF_HASHES_MAX];
    size_t count = 99;
    assert_int_equal(rlog_range_hashes(&reader, 10, 4, 4, out, CITYPROOF_HASHES_MAX, &count),
                     QC_ERR_RANGE);
    assert_int_equal(count, 0);
    count = 99;
    assert_int_equal(rlog_range_hashes(&reader, 10, 4, 11, out, CITYPROOF_HASHES_MAX, &count),
                     QC_ERR_RANGE);
    assert_int_equal(count, 0);
    assert_int_equal(rlog_range_hashes(&reader, MERKLE_SIZE_MAX + 1, 0, 1, out,
                                       CITYPROOF_HASHES_MAX, &count), QC_ERR_RANGE);
    /* [1000, 1001) of 3000 needs more than 3 hashes */
    count = 99;
    assert_int_equal(rlog_range_hashes(&reader, N_MAX, 1000, 1001, out, 3, &count),
                     QC_ERR_TOOBIG);
    assert_int_equal(count, 0);
    /* a failing read is reported, and a subtree the store lacks is corruption */
    memlog_t m;
    memlog_init(&m);
    rlog_t log;
    rlog_reader_t mr = memlog_reader(&m);
    assert_int_equal(rlog_open(&log, 0, &mr), QC_OK);
    assert_int_equal(append_all(&m, &log, 0, 100), QC_OK);
    m.fail_get_at = m.gets + 2;
    m.fail_get_rc = QC_ERR_IO;
    count = 99;
    assert_int_equal(rlog_range_hashes(&mr, 100, 10, 20, out, CITYPROOF_HASHES_MAX, &count),
                     QC_ERR_IO);
    assert_int_equal(count, 0);
    m.fail_get_at = 0;
    assert_int_equal(rlog_range_hashes(&mr, 200, 10, 20, out, CITYPROOF_HASHES_MAX, &count),
                     QC_ERR_CORRUPT);
    assert_int_equal(count, 0);
    memlog_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_every_size),
        cmocka_unit_test(test_root_at_every_size),
        cmocka_unit_test(test_open_every_size),
        cmocka_unit_test(test_reopen_and_continue),
        cmocka_unit_test(test_inclusion_cross_check),
        cmocka_unit_test(test_consistency_cross_check),
        cmocka_unit_test(test_read_failures),
        cmocka_unit_test(test_missing_subtrees),
        cmocka_unit_test(test_append_put_failures),
        cmocka_unit_test(test_sizes_near_2_pow_63),
        cmocka_unit_test(test_range_hashes_cross_check),
    };
    return cmocka_run_group_tests_name("rlog", tests, setup, teardown);
}
