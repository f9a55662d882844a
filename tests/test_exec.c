/* test_exec.c - building blocks on a parent state and checking proposed blocks against it:
 * roots, filtering, and every way a Byzantine primary's block must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "merkle.h"
#include "testkeys.h"

#define CHAIN "exec-test"

static qc_validator_set_t g_vs;
static qc_hash_t g_genesis; /* this node's genesis hash */

static void make_tx(qc_tx_t *tx, uint32_t member, uint64_t nonce, uint64_t expiry, int records) {
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, member, &pk, &sk);
    qc_txb_t b;
    assert_int_equal(qc_txb_init(&b, CHAIN, &pk, nonce, expiry), QC_OK);
    for (int r = 0; r < records; r++) {
        qc_hash_t d;
        memset(d.b, (int)(nonce * 7 + (uint64_t)r), 32);
        assert_int_equal(qc_txb_add_record(&b, &d, "licence", NULL, NULL), QC_OK);
    }
    assert_int_equal(qc_txb_finish(&b, &sk, tx), QC_OK);
}

typedef struct {
    qc_tx_t txs[8];
    const qc_tx_t *ptrs[8];
    uint32_t n;
} batch_t;

static void make_batch(batch_t *bt, uint32_t n, uint64_t nonce0, int records) {
    bt->n = n;
    for (uint32_t i = 0; i < n; i++) {
        make_tx(&bt->txs[i], i % 9, nonce0 + i, 100, records);
        bt->ptrs[i] = &bt->txs[i];
    }
}

static void free_batch(batch_t *bt) {
    for (uint32_t i = 0; i < bt->n; i++) qc_tx_free(&bt->txs[i]);
}

static bool seen_one(void *ctx, const qc_hash_t *id) {
    return memcmp(((const qc_hash_t *)ctx)->b, id->b, 32) == 0;
}

static rlog_t g_log0;

static exec_parent_t genesis_parent(void) {
    exec_parent_t p = {CHAIN, &g_genesis, &g_vs, 0, {{0}}, 2000000, &g_log0, NULL, NULL};
    return p;
}

static exec_check_t check_for(const qc_block_t *b) {
    exec_check_t c = {b->header.view, b->header.proposer, b->header.time_ms, 30000, NULL};
    return c;
}

static void test_build_roots_filtering_and_check(void **state) {
    (void)state;
    batch_t bt;
    make_batch(&bt, 5, 10, 3);
    qc_tx_free(&bt.txs[4]); /* tx 4 repeats tx 3 */
    assert_int_equal(qc_tx_clone(&bt.txs[3], &bt.txs[4]), QC_OK);
    qc_hash_t committed = bt.txs[0].id;
    exec_parent_t parent = genesis_parent();
    parent.seen = seen_one;
    parent.seen_ctx = &committed;
    qc_block_t b;
    rlog_t log1;
    exec_leaves_t built = {0};
    assert_int_equal(exec_build(&parent, bt.ptrs, bt.n, 1000, 2, 5, &b, &log1, NULL, &built), QC_OK);
    assert_int_equal(b.tx_count, 3); /* tx 0 committed before, tx 4 a repeat */
    assert_memory_equal(b.txs[0].id.b, bt.txs[1].id.b, 32);
    assert_int_equal(b.header.height, 1);
    assert_int_equal(b.header.time_ms, 2000000); /* never before the parent */
    assert_int_equal(b.header.proposer, 2);
    assert_int_equal(b.header.view, 5);
    assert_memory_equal(b.header.genesis_hash.b, g_genesis.b, 32);
    assert_int_equal(b.header.log_size, 9);
    qc_hash_t leaves[9];
    int k = 0;
    for (uint32_t t = 0; t < b.tx_count; t++)
        for (uint16_t r = 0; r < 3; r++)
            qc_record_leaf_hash(1, &b.txs[t].id, r, b.txs[t].records[r].digest, &leaves[k++]);
    qc_hash_t root;
    merkle_root(&root, leaves, 9);
    assert_memory_equal(root.b, b.header.log_root.b, 32);
    assert_int_equal(built.n, 9); /* the leaves handed to the store are exactly these */
    assert_memory_equal(built.h, leaves, sizeof leaves);

    /* a backup accepts exactly this block on the same parent, and computes the same log */
    exec_check_t c = check_for(&b);
    char why[160];
    rlog_t log_chk;
    uint32_t sigs = 0;
    exec_leaves_t checked = {0};
    assert_int_equal(exec_check(&b, &parent, &c, &log_chk, NULL, &checked, &sigs, why, sizeof why), QC_OK);
    assert_int_equal(sigs, 3);
    assert_int_equal(log_chk.size, 9);
    assert_int_equal(checked.n, 9);
    assert_memory_equal(checked.h, leaves, sizeof leaves);
    exec_leaves_free(&checked);
    exec_leaves_free(&built);

    /* the next block extends it */
    qc_hash_t h1;
    qc_header_hash(&b.header, &h1);
    exec_parent_t p2 = {CHAIN, &g_genesis, &g_vs, 1, h1, b.header.time_ms, &log1, NULL, NULL};
    batch_t bt2;
    make_batch(&bt2, 2, 50, 1);
    qc_block_t b2;
    rlog_t log2;
    assert_int_equal(exec_build(&p2, bt2.ptrs, bt2.n, 2000500, 2, 5, &b2, &log2, NULL, NULL), QC_OK);
    assert_memory_equal(b2.header.prev_hash.b, h1.b, 32);
    assert_int_equal(b2.header.log_size, 11);
    c = check_for(&b2);
    assert_int_equal(exec_check(&b2, &p2, &c, &log_chk, NULL, NULL, NULL, why, sizeof why), QC_OK);
    /* the same block is not valid on the genesis parent */
    assert_int_equal(exec_check(&b2, &parent, &c, &log_chk, NULL, NULL, NULL, why, sizeof why), QC_ERR_INVALID);

    qc_block_free(&b2);
    free_batch(&bt2);
    qc_block_free(&b);
    free_batch(&bt);
}

/* Builds a valid 3-tx block on genesis, applies `tamper`, expects exec_check's code. */
static void expect_refused(void (*tamper)(qc_block_t *, exec_check_t *), int code,
                           const char *why_want) {
    batch_t bt;
    make_batch(&bt, 3, 100, 2);
    exec_parent_t parent = genesis_parent();
    qc_block_t b;
    rlog_t log1;
    assert_int_equal(exec_build(&parent, bt.ptrs, bt.n, 2000000, 1, 3, &b, &log1, NULL, NULL), QC_OK);
    exec_check_t c = check_for(&b);
    tamper(&b, &c);
    char why[300] = "";
    assert_int_equal(exec_check(&b, &parent, &c, &log1, NULL, NULL, NULL, why, sizeof why), code);
    if (why_want) assert_string_equal(why, why_want);
    qc_block_free(&b);
    free_batch(&bt);
}

static void t_forged_sig(qc_block_t *b, exec_check_t *c) { (void)c; b->txs[1].sig.b[9] ^= 1; }
static void t_wrong_log(qc_block_t *b, exec_check_t *c) { (void)c; b->header.log_root.b[0] ^= 1; }
static void t_wrong_size(qc_block_t *b, exec_check_t *c) { (void)c; b->header.log_size++; }
static void t_wrong_prev(qc_block_t *b, exec_check_t *c) { (void)c; b->header.prev_hash.b[0] = 1; }
static void t_wrong_primary(qc_block_t *b, exec_check_t *c) { (void)b; c->primary = 2; }
static void t_wrong_view(qc_block_t *b, exec_check_t *c) { (void)b; c->view = 4; }
static void t_far_time(qc_block_t *b, exec_check_t *c) { (void)b; c->now_ms += 30001; }
static void t_wrong_epoch(qc_block_t *b, exec_check_t *c) { (void)c; b->header.epoch = 1; }
static void t_wrong_genesis(qc_block_t *b, exec_check_t *c) {
    (void)c;
    b->header.genesis_hash.b[31] ^= 1;
}
static void t_expired(qc_block_t *b, exec_check_t *c) { (void)c; b->txs[2].expiry_height = 0; }
static void t_repeat(qc_block_t *b, exec_check_t *c) {
    (void)c;
    qc_tx_free(&b->txs[2]);
    assert_int_equal(qc_tx_clone(&b->txs[0], &b->txs[2]), QC_OK);
}
static void t_nonmember(qc_block_t *b, exec_check_t *c) {
    (void)c;
    qc_tx_free(&b->txs[0]);
    make_tx(&b->txs[0], 30, 7, 100, 2);
}

static void test_byzantine_blocks_refused(void **state) {
    (void)state;
    expect_refused(t_forged_sig, QC_ERR_SIGNATURE, "tx 1: signature does not verify");
    expect_refused(t_wrong_log, QC_ERR_INVALID, "record-log size or root does not match the transactions");
    expect_refused(t_wrong_size, QC_ERR_INVALID, NULL);
    expect_refused(t_wrong_prev, QC_ERR_INVALID, "block does not extend its parent at height 0");
    expect_refused(t_wrong_primary, QC_ERR_INVALID, NULL);
    expect_refused(t_wrong_view, QC_ERR_INVALID, NULL);
    expect_refused(t_far_time, QC_ERR_INVALID, NULL);
    expect_refused(t_wrong_epoch, QC_ERR_INVALID, "epoch, validators hash or tx root does not match");
    expect_refused(t_wrong_genesis, QC_ERR_INVALID,
                   "block names genesis 6767676767676767676767676767676767676767676767676767676767676766, "
                   "this node's genesis is 6767676767676767676767676767676767676767676767676767676767676767");
    expect_refused(t_expired, QC_ERR_EXPIRED, "tx 2: expired");
    expect_refused(t_repeat, QC_ERR_DUPLICATE, "tx 2: repeated in the block");
    expect_refused(t_nonmember, QC_ERR_MEMBER, "tx 0: signer is not a member's seal key");
}

static void test_replay_of_committed_refused_and_cache(void **state) {
    (void)state;
    batch_t bt;
    make_batch(&bt, 2, 200, 1);
    exec_parent_t parent = genesis_parent();
    qc_block_t b;
    rlog_t log1;
    assert_int_equal(exec_build(&parent, bt.ptrs, bt.n, 2000000, 0, 0, &b, &log1, NULL, NULL), QC_OK);
    qc_hash_t committed = bt.txs[1].id;
    parent.seen = seen_one;
    parent.seen_ctx = &committed;
    exec_check_t c = check_for(&b);
    char why[160];
    assert_int_equal(exec_check(&b, &parent, &c, &log1, NULL, NULL, NULL, why, sizeof why), QC_ERR_DUPLICATE);
    assert_string_equal(why, "tx 1: already committed");

    /* signatures the mempool verified are not verified again */
    parent.seen = NULL;
    mempool_t mp;
    mempool_limits_t lim = {16, 1 << 20};
    assert_int_equal(mempool_init(&mp, &lim), QC_OK);
    mempool_view_t v = {CHAIN, &g_vs, 1, NULL, NULL};
    for (uint32_t i = 0; i < 2; i++) {
        qc_tx_t copy;
        assert_int_equal(qc_tx_clone(&bt.txs[i], &copy), QC_OK);
        assert_int_equal(mempool_add(&mp, &copy, &v, NULL), QC_OK);
    }
    c.mempool = &mp;
    uint32_t sigs = 0;
    assert_int_equal(exec_check(&b, &parent, &c, &log1, NULL, NULL, &sigs, why, sizeof why), QC_OK);
    assert_int_equal(sigs, 0);
    mempool_free(&mp);
    qc_block_free(&b);
    free_batch(&bt);
}

static int setup(void **state) {
    (void)state;
    testkeys_validators(&g_vs, 9, 0);
    memset(g_genesis.b, 0x67, sizeof g_genesis.b);
    memset(&g_log0, 0, sizeof g_log0);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_roots_filtering_and_check),
        cmocka_unit_test(test_byzantine_blocks_refused),
        cmocka_unit_test(test_replay_of_committed_refused_and_cache),
    };
    return cmocka_run_group_tests_name("exec", tests, setup, NULL);
}
