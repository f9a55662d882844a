/* test_exec.c - building blocks on a parent state and checking proposed blocks against it:
 * roots, filtering, every way a Byzantine primary's block must be refused, and the record
 * lifecycle rules (docs/RECORDS.md) as block building and checking apply them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "execchain.h"
#include "merkle.h"
#include "clog.h"
#include "sblock.h"
#include "testkeys.h"

#define CHAIN "exec-test"

static qc_validator_set_t g_vs;
static qc_hash_t g_genesis; /* this node's genesis hash */

/* An ANCHOR of `records` records: digest r is all bytes nonce * 7 + r, or, when `wide`
 * (more than 256 records), the nonce and r written over that so that all are distinct. */
static void make_tx_of(qc_tx_t *tx, uint32_t member, uint64_t nonce, uint64_t expiry,
                       int records, bool wide) {
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, member, &pk, &sk);
    qc_txb_t b;
    assert_int_equal(qc_txb_init(&b, CHAIN, &pk, nonce, expiry), QC_OK);
    for (int r = 0; r < records; r++) {
        qc_hash_t d;
        memset(d.b, (int)(nonce * 7 + (uint64_t)r), 32);
        if (wide) {
            memcpy(d.b, &nonce, sizeof nonce);
            memcpy(d.b + 8, &r, sizeof r);
        }
        assert_int_equal(qc_txb_add_record(&b, &d, "licence", NULL, NULL), QC_OK);
    }
    assert_int_equal(qc_txb_finish(&b, &sk, tx), QC_OK);
}

static void make_tx(qc_tx_t *tx, uint32_t member, uint64_t nonce, uint64_t expiry, int records) {
    make_tx_of(tx, member, nonce, expiry, records, false);
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

/* The per-city logs (PROTOCOL §13): a block's events go to their signers' logs, the header's
 * state root holds each moved city head beside the records' statuses, a backup derives the
 * same logs, a root without the city heads is refused, and the next block extends the logs. */
static void test_city_logs_in_state_root(void **state) {
    (void)state;
    batch_t bt;
    make_batch(&bt, 3, 70, 2); /* members 0, 1, 2: two records each */
    exec_parent_t parent = genesis_parent();
    clog_set_t after = {0}, checked = {0}, after2 = {0};
    parent.clogs_after = &after;
    qc_block_t b;
    rlog_t log1;
    assert_int_equal(exec_build(&parent, bt.ptrs, bt.n, 1000, 0, 0, &b, &log1, NULL, NULL), QC_OK);
    assert_int_equal(b.tx_count, 3);
    assert_int_equal(after.n, 3);
    sblock_t sb = {0};
    for (uint32_t t = 0; t < 3; t++) {
        const clog_city_t *c = clog_find(&after, g_vs.members[t].name);
        assert_non_null(c);
        assert_int_equal(c->log.size, 2);
        qc_hash_t leaves[2], root, head, key;
        for (uint16_t r = 0; r < 2; r++) {
            qc_city_leaf_t l = {.height = 1, .tx_id = b.txs[t].id, .index = r,
                                .kind = QC_CITY_ANCHOR};
            memcpy(l.digest.b, b.txs[t].records[r].digest, 32);
            qc_city_leaf_hash(&l, &leaves[r]);
        }
        merkle_root(&root, leaves, 2);
        qc_hash_t got;
        rlog_root(&c->log, &got);
        assert_memory_equal(got.b, root.b, 32);
        assert_int_equal(sblock_anchor(&sb, &b.txs[t], g_vs.members[t].name, 1, 2 * t), QC_OK);
        qc_city_key(g_vs.members[t].name, &key);
        qc_city_head(2, &root, &head);
        assert_int_equal(sblock_put(&sb, &key, &head), QC_OK);
    }
    smap_reader_t empty = sblock_empty_reader();
    smap_writes_t ws = {0};
    qc_hash_t want;
    assert_int_equal(sblock_finish(&sb, &empty, &ws, &want), QC_OK);
    assert_memory_equal(want.b, b.header.state_root.b, 32);
    /* the root of the statuses alone (no city heads) is another root, and refused */
    sblock_reset(&sb);
    smap_writes_reset(&ws);
    qc_hash_t statuses_only;
    for (uint32_t t = 0; t < 3; t++)
        assert_int_equal(sblock_anchor(&sb, &b.txs[t], g_vs.members[t].name, 1, 2 * t), QC_OK);
    assert_int_equal(sblock_finish(&sb, &empty, &ws, &statuses_only), QC_OK);
    assert_memory_not_equal(statuses_only.b, want.b, 32);
    sblock_free(&sb);
    smap_writes_free(&ws);
    exec_check_t c = check_for(&b);
    char why[160] = "";
    rlog_t log_chk;
    parent.clogs_after = &checked;
    assert_int_equal(exec_check(&b, &parent, &c, &log_chk, NULL, NULL, NULL, why, sizeof why), QC_OK);
    assert_int_equal(checked.n, 3);
    assert_memory_equal(checked.c, after.c, 3 * sizeof *after.c);
    qc_block_t bad = b;
    bad.header.state_root = statuses_only;
    assert_int_equal(exec_check(&bad, &parent, &c, &log_chk, NULL, NULL, NULL, why, sizeof why),
                     QC_ERR_INVALID);
    assert_non_null(strstr(why, "state root"));
    /* block 2: member 0 again; its log goes on from the parent's */
    qc_hash_t h1;
    qc_header_hash(&b.header, &h1);
    exec_parent_t p2 = {CHAIN, &g_genesis, &g_vs, 1, h1, b.header.time_ms, &log1, NULL, NULL};
    p2.clogs = &after;
    p2.clogs_after = &after2;
    batch_t bt2;
    make_batch(&bt2, 1, 90, 3);
    qc_block_t b2;
    rlog_t log2;
    assert_int_equal(exec_build(&p2, bt2.ptrs, bt2.n, 2000500, 0, 0, &b2, &log2, NULL, NULL), QC_OK);
    assert_int_equal(clog_find(&after2, g_vs.members[0].name)->log.size, 5);
    assert_int_equal(clog_find(&after2, g_vs.members[1].name)->log.size, 2);
    assert_int_equal(clog_find(&after, g_vs.members[0].name)->log.size, 2); /* parent's unchanged */
    qc_block_free(&b2);
    free_batch(&bt2);
    clog_set_free(&after);
    clog_set_free(&after2);
    clog_set_free(&checked);
    qc_block_free(&b);
    free_batch(&bt);
}

/* One city gains at most CLOG_BLOCK_EVENTS_MAX events a block (PROTOCOL §13.1), so any block's
 * events fit one completeness proof: the builder leaves a transaction that would exceed it
 * for a later block (others still go in), and a block holding it is refused. */
static void test_city_block_events_cap(void **state) {
    (void)state;
    enum { BIG = 98, ALL = BIG + 1 }; /* 98 x 1024 = 100,352 > 99,998 events of member 0 */
    qc_tx_t *txs = calloc(ALL, sizeof *txs);
    const qc_tx_t **ptrs = calloc(ALL, sizeof *ptrs);
    assert_non_null(txs);
    assert_non_null(ptrs);
    for (uint32_t i = 0; i < BIG; i++) make_tx_of(&txs[i], 0, 1000 + i, 100, QC_TX_RECORDS_MAX, true);
    make_tx_of(&txs[BIG], 1, 5000, 100, 3, true); /* another city's, after the one left out */
    for (uint32_t i = 0; i < ALL; i++) ptrs[i] = &txs[i];
    exec_parent_t parent = genesis_parent();
    clog_set_t after = {0}, checked = {0};
    parent.clogs_after = &after;
    qc_block_t b;
    rlog_t log1;
    assert_int_equal(exec_build(&parent, ptrs, ALL, 1000, 0, 0, &b, &log1, NULL, NULL), QC_OK);
    assert_int_equal(b.tx_count, BIG); /* 97 of member 0, then member 1's */
    assert_memory_equal(b.txs[BIG - 1].id.b, txs[BIG].id.b, 32);
    uint64_t kept = (uint64_t)(BIG - 1) * QC_TX_RECORDS_MAX;
    assert_true(kept <= CLOG_BLOCK_EVENTS_MAX && kept + QC_TX_RECORDS_MAX > CLOG_BLOCK_EVENTS_MAX);
    assert_int_equal(clog_find(&after, g_vs.members[0].name)->log.size, kept);
    assert_int_equal(clog_find(&after, g_vs.members[1].name)->log.size, 3);
    /* the block as built checks */
    exec_check_t c = check_for(&b);
    char why[200] = "";
    rlog_t log_chk;
    parent.clogs_after = &checked;
    assert_int_equal(exec_check(&b, &parent, &c, &log_chk, NULL, NULL, NULL, why, sizeof why), QC_OK);
    /* with the 98th transaction of member 0 as well: refused at that transaction */
    qc_block_t bad = b;
    bad.txs = calloc(ALL, sizeof *bad.txs);
    assert_non_null(bad.txs);
    memcpy(bad.txs, b.txs, BIG * sizeof *bad.txs); /* shallow: b owns them */
    bad.txs[BIG] = txs[BIG - 1];
    bad.tx_count = bad.header.tx_count = ALL;
    assert_int_equal(exec_check(&bad, &parent, &c, &log_chk, NULL, NULL, NULL, why, sizeof why),
                     QC_ERR_INVALID);
    assert_string_equal(why, "tx 98: jinan would have more than 99998 events in this block");
    free(bad.txs);
    clog_set_free(&after);
    clog_set_free(&checked);
    qc_block_free(&b);
    for (uint32_t i = 0; i < ALL; i++) qc_tx_free(&txs[i]);
    free(txs);
    free(ptrs);
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
    uint32_t sigs = 0;
    assert_int_equal(exec_check(&b, &parent, &c, &log1, NULL, NULL, &sigs, why, sizeof why), code);
    if (why_want) assert_string_equal(why, why_want);
    /* the same verdict, reason and count with the signatures verified on four threads */
    par_t *par;
    assert_int_equal(par_start(&par, 4), QC_OK);
    c.par = par;
    char why_par[300] = "";
    uint32_t sigs_par = 0;
    assert_int_equal(exec_check(&b, &parent, &c, &log1, NULL, NULL, &sigs_par, why_par,
                                sizeof why_par), code);
    assert_string_equal(why_par, why);
    assert_int_equal(sigs_par, sigs);
    par_stop(par);
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
static void t_wrong_state(qc_block_t *b, exec_check_t *c) { (void)c; b->header.state_root.b[3] ^= 1; }
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
    expect_refused(t_wrong_state, QC_ERR_INVALID,
                   "state root does not match the record statuses after the block");
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


/* ---------------------------------------------------------------- record lifecycle */

/* A chain the tests commit blocks to (execchain) and the statuses after its blocks (an LC_ALL
 * overlay with nothing below, as the store keeps them). */
typedef struct {
    execchain_t x;
    lc_state_t ledger;
} chain_t;

static int chain_records(void *ctx, const uint8_t digest[32], qc_recstat_t *out) {
    return lc_get(&((chain_t *)ctx)->ledger, digest, out);
}

static int chain_commit(void *ctx, const qc_tx_t *tx, const qc_validator_set_t *vs,
                        uint64_t height, uint64_t log_index) {
    return lc_apply(&((chain_t *)ctx)->ledger, tx, vs, height, log_index, NULL, 0);
}

/* A new chain at height 0 (malloc'd; chain_free). */
static chain_t *chain_new(void) {
    chain_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    lc_init(&c->ledger, NULL, NULL, LC_ALL);
    execchain_init(&c->x, CHAIN, &g_genesis, &g_vs, chain_commit, c);
    c->x.records = chain_records;
    c->x.records_ctx = c;
    return c;
}

static void chain_free(chain_t *c) {
    lc_free(&c->ledger);
    free(c);
}

static void sign_life(qc_tx_t *tx, uint16_t type, const qc_seckey_t *sk, uint64_t nonce,
                      uint8_t d, uint8_t nd, uint16_t code) {
    qc_life_op_t op;
    memset(&op, 0, sizeof op);
    memset(op.digest.b, d, 32);
    memset(op.new_digest.b, nd, 32);
    op.code = code;
    assert_int_equal(qc_life_tx_build(CHAIN, type, sk, nonce, 100, &op, tx), QC_OK);
}

/* An ENDORSE / REVOKE / SUPERSEDE by member's seal key of digest d (SUPERSEDE: by nd). */
static void life(qc_tx_t *tx, uint16_t type, uint32_t member, uint64_t nonce, uint8_t d,
                 uint8_t nd, uint16_t code) {
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, member, &pk, &sk);
    sign_life(tx, type, &sk, nonce, d, nd, code);
}

/* An ANCHOR of the one digest d (all bytes d) by member. */
static void anchor(qc_tx_t *tx, uint32_t member, uint64_t nonce, uint8_t d) {
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, member, &pk, &sk);
    qc_txb_t b;
    qc_hash_t h;
    memset(h.b, d, 32);
    assert_int_equal(qc_txb_init(&b, CHAIN, &pk, nonce, 100), QC_OK);
    assert_int_equal(qc_txb_add_record(&b, &h, "licence", NULL, NULL), QC_OK);
    assert_int_equal(qc_txb_finish(&b, &sk, tx), QC_OK);
}

/* Builds the next block from txs, checks that a backup accepts it, commits it and returns
 * which of txs it holds (bit i: txs[i]). Frees txs. */
static uint32_t step(chain_t *c, qc_tx_t *txs, uint32_t n) {
    uint32_t mask;
    char why[400] = "";
    if (execchain_step(&c->x, txs, n, &mask, why, sizeof why) != QC_OK)
        fail_msg("the block was not committed: %s", why);
    return mask;
}

/* A backup's verdict on a block holding exactly txs on the chain's head (execchain). */
static int check_crafted(chain_t *c, qc_tx_t *txs, uint32_t n, char *why, size_t why_cap) {
    return execchain_check_crafted(&c->x, txs, n, why, why_cap);
}

/* The refusal sentence of a single transaction, as a backup words it for tx 0. */
static void expect_refusal(chain_t *c, qc_tx_t *tx, const char *want) {
    char why[400] = "";
    qc_tx_t copy;
    assert_int_equal(qc_tx_clone(tx, &copy), QC_OK);
    assert_int_equal(step(c, tx, 1), 0); /* the primary leaves it out */
    assert_int_equal(check_crafted(c, &copy, 1, why, sizeof why), QC_ERR_INVALID);
    char full[600];
    snprintf(full, sizeof full, "tx 0: record lifecycle refused: %s", want);
    assert_string_equal(why, full);
}

static const char *hex_of(uint8_t d) {
    static char buf[65];
    for (int i = 0; i < 32; i++) snprintf(buf + 2 * i, 3, "%02x", d);
    return buf;
}

static void status_of(chain_t *c, uint8_t d, qc_recstat_t *st) {
    uint8_t digest[32];
    memset(digest, d, 32);
    assert_int_equal(lc_get(&c->ledger, digest, st), QC_OK);
}

enum { JINAN = 0, ZIBO = 1, TAIAN = 2 };
#define D_A 0xa1 /* jinan's record */
#define D_B 0xb2 /* its replacement */
#define D_Z 0xc3 /* zibo's record */
#define D_X 0xd4 /* never anchored */

static void test_endorse_rules(void **state) {
    (void)state;
    chain_t *c = chain_new();
    char want[300];
    qc_tx_t t[4];
    /* endorsing an unknown record */
    life(&t[0], QC_TX_ENDORSE, ZIBO, 1, D_X, 0, 1);
    snprintf(want, sizeof want, "record %s is not anchored", hex_of(D_X));
    expect_refusal(c, &t[0], want);
    /* jinan anchors A; in the same block zibo's endorsement after it counts, taian's before
     * it does not (block order) */
    life(&t[0], QC_TX_ENDORSE, TAIAN, 2, D_A, 0, 1);
    anchor(&t[1], JINAN, 3, D_A);
    life(&t[2], QC_TX_ENDORSE, ZIBO, 4, D_A, 0, 2);
    assert_int_equal(step(c, t, 3), 0x6);
    qc_recstat_t st;
    status_of(c, D_A, &st);
    assert_string_equal(st.owner, "jinan");
    assert_int_equal(st.first_height, 2);
    assert_int_equal(st.first_log_index, 0);
    assert_int_equal(st.endorsement_count, 1);
    assert_string_equal(st.endorsements[0].city, "zibo");
    assert_int_equal(st.endorsements[0].purpose, 2);
    assert_int_equal(st.endorsements[0].height, 2);
    /* taian endorses; zibo's second endorsement is refused, so is jinan's own */
    life(&t[0], QC_TX_ENDORSE, TAIAN, 5, D_A, 0, 1);
    assert_int_equal(step(c, t, 1), 1);
    life(&t[0], QC_TX_ENDORSE, ZIBO, 6, D_A, 0, 1);
    snprintf(want, sizeof want, "record %s is already endorsed by zibo (at height 2)", hex_of(D_A));
    expect_refusal(c, &t[0], want);
    life(&t[0], QC_TX_ENDORSE, JINAN, 7, D_A, 0, 1);
    snprintf(want, sizeof want, "record %s is owned by jinan; its owner cannot endorse it", hex_of(D_A));
    expect_refusal(c, &t[0], want);
    /* two endorsements by one city in one block: the second is left out, and refused */
    life(&t[0], QC_TX_ENDORSE, 3, 8, D_A, 0, 1);
    life(&t[1], QC_TX_ENDORSE, 3, 9, D_A, 0, 2);
    qc_tx_t copies[2];
    assert_int_equal(qc_tx_clone(&t[0], &copies[0]), QC_OK);
    assert_int_equal(qc_tx_clone(&t[1], &copies[1]), QC_OK);
    char why[400];
    assert_int_equal(check_crafted(c, copies, 2, why, sizeof why), QC_ERR_INVALID);
    assert_non_null(strstr(why, "tx 1: record lifecycle refused: record "));
    assert_non_null(strstr(why, "is already endorsed by liaocheng"));
    assert_int_equal(step(c, t, 2), 1);
    status_of(c, D_A, &st);
    assert_int_equal(st.endorsement_count, 3);
    /* a replayed endorsement (same tx id) is refused as already committed */
    life(&t[0], QC_TX_ENDORSE, TAIAN, 5, D_A, 0, 1);
    exec_parent_t head = execchain_parent(&c->x);
    assert_true(head.seen(head.seen_ctx, &t[0].id));
    assert_int_equal(qc_tx_clone(&t[0], &copies[0]), QC_OK);
    assert_int_equal(step(c, t, 1), 0);
    assert_int_equal(check_crafted(c, copies, 1, why, sizeof why), QC_ERR_DUPLICATE);
    assert_string_equal(why, "tx 0: already committed");
    /* a revoked record cannot be endorsed */
    life(&t[0], QC_TX_REVOKE, JINAN, 10, D_A, 0, 1);
    assert_int_equal(step(c, t, 1), 1);
    life(&t[0], QC_TX_ENDORSE, 4, 11, D_A, 0, 1);
    snprintf(want, sizeof want, "record %s is revoked at height %llu; only a valid record can be "
             "endorsed", hex_of(D_A), (unsigned long long)c->x.height);
    expect_refusal(c, &t[0], want);
    /* a signer that is no member's seal key */
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_ADMIN, 1, &pk, &sk);
    sign_life(&t[0], QC_TX_ENDORSE, &sk, 12, D_Z, 0, 1);
    assert_int_equal(step(c, t, 1), 0);
    chain_free(c);
}

static void test_revoke_rules(void **state) {
    (void)state;
    chain_t *c = chain_new();
    char want[300];
    qc_tx_t t[4];
    life(&t[0], QC_TX_REVOKE, JINAN, 1, D_A, 0, 1);
    snprintf(want, sizeof want, "record %s is not anchored", hex_of(D_A));
    expect_refusal(c, &t[0], want);
    /* the owner is the first anchoring's city: zibo anchoring A later does not own it */
    anchor(&t[0], JINAN, 2, D_A);
    assert_int_equal(step(c, t, 1), 1);
    anchor(&t[0], ZIBO, 3, D_A);
    assert_int_equal(step(c, t, 1), 1);
    life(&t[0], QC_TX_REVOKE, ZIBO, 4, D_A, 0, 1);
    snprintf(want, sizeof want, "record %s is owned by jinan; only its owner can revoke it", hex_of(D_A));
    expect_refusal(c, &t[0], want);
    qc_recstat_t st;
    status_of(c, D_A, &st);
    assert_int_equal(st.first_height, 2); /* block 1 held only the refused revoke */
    assert_int_equal(st.first_log_index, 0);
    /* jinan's seal key is rotated: the new key still owns jinan's records */
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_ADMIN, 0, &pk, &sk);
    c->x.vs.members[JINAN].seal_key = pk;
    qc_tx_t old_key;
    life(&old_key, QC_TX_REVOKE, JINAN, 5, D_A, 0, 4); /* the old key is no member's now */
    assert_int_equal(step(c, &old_key, 1), 0);
    /* two revokes in one block: the first applies, the second is left out */
    sign_life(&t[0], QC_TX_REVOKE, &sk, 6, D_A, 0, 4);
    sign_life(&t[1], QC_TX_REVOKE, &sk, 7, D_A, 0, 1);
    qc_tx_t copies[2];
    assert_int_equal(qc_tx_clone(&t[0], &copies[0]), QC_OK);
    assert_int_equal(qc_tx_clone(&t[1], &copies[1]), QC_OK);
    char why[400];
    assert_int_equal(check_crafted(c, copies, 2, why, sizeof why), QC_ERR_INVALID);
    snprintf(want, sizeof want, "tx 1: record lifecycle refused: record %s is already revoked at "
             "height %llu; only a valid record can be revoked", hex_of(D_A),
             (unsigned long long)c->x.height + 1);
    assert_string_equal(why, want);
    assert_int_equal(step(c, t, 2), 1);
    status_of(c, D_A, &st);
    assert_int_equal(st.state, QC_REC_REVOKED);
    assert_int_equal(st.reason, 4);
    assert_int_equal(st.state_height, c->x.height);
    chain_free(c);
}

static void test_supersede_rules(void **state) {
    (void)state;
    chain_t *c = chain_new();
    char want[400];
    qc_tx_t t[4];
    anchor(&t[0], JINAN, 1, D_A);
    anchor(&t[1], ZIBO, 2, D_Z);
    assert_int_equal(step(c, t, 2), 3);
    /* with an unanchored record; with another city's record; another city's old record */
    life(&t[0], QC_TX_SUPERSEDE, JINAN, 3, D_A, D_B, 0);
    snprintf(want, sizeof want, "record %s (the new record) is not anchored", hex_of(D_B));
    expect_refusal(c, &t[0], want);
    life(&t[0], QC_TX_SUPERSEDE, JINAN, 4, D_X, D_A, 0);
    snprintf(want, sizeof want, "record %s is not anchored", hex_of(D_X));
    expect_refusal(c, &t[0], want);
    life(&t[0], QC_TX_SUPERSEDE, JINAN, 5, D_A, D_Z, 0);
    snprintf(want, sizeof want, "record %s (the new record) is owned by zibo; a city supersedes "
             "only with its own record", hex_of(D_Z));
    expect_refusal(c, &t[0], want);
    life(&t[0], QC_TX_SUPERSEDE, ZIBO, 6, D_A, D_Z, 0);
    snprintf(want, sizeof want, "record %s is owned by jinan; only its owner can supersede it", hex_of(D_A));
    expect_refusal(c, &t[0], want);
    /* anchoring B and superseding A with it in one block, in that order */
    anchor(&t[0], JINAN, 7, D_B);
    life(&t[1], QC_TX_SUPERSEDE, JINAN, 8, D_A, D_B, 0);
    assert_int_equal(step(c, t, 2), 3);
    uint64_t h = c->x.height;
    qc_recstat_t st;
    status_of(c, D_A, &st);
    assert_int_equal(st.state, QC_REC_SUPERSEDED);
    assert_int_equal(st.state_height, h);
    assert_int_equal(st.superseded_by.b[0], D_B);
    status_of(c, D_B, &st);
    assert_int_equal(st.state, QC_REC_VALID);
    assert_int_equal(st.supersedes_count, 1);
    assert_int_equal(st.supersedes[0].b[0], D_A);
    /* A is no longer valid: it cannot be superseded again, revoked, or replace another */
    life(&t[0], QC_TX_SUPERSEDE, JINAN, 9, D_A, D_B, 0);
    snprintf(want, sizeof want, "record %s is already superseded at height %llu; only a valid "
             "record can be superseded", hex_of(D_A), (unsigned long long)h);
    expect_refusal(c, &t[0], want);
    life(&t[0], QC_TX_SUPERSEDE, JINAN, 10, D_B, D_A, 0);
    snprintf(want, sizeof want, "record %s (the new record) is superseded at height %llu; it "
             "cannot replace another", hex_of(D_A), (unsigned long long)h);
    expect_refusal(c, &t[0], want);
    life(&t[0], QC_TX_REVOKE, JINAN, 11, D_A, 0, 1);
    snprintf(want, sizeof want, "record %s is already superseded at height %llu; only a valid "
             "record can be revoked", hex_of(D_A), (unsigned long long)h);
    expect_refusal(c, &t[0], want);
    /* revoke B; then endorsing it is refused */
    life(&t[0], QC_TX_REVOKE, JINAN, 12, D_B, 0, 1);
    assert_int_equal(step(c, t, 1), 1);
    life(&t[0], QC_TX_ENDORSE, ZIBO, 13, D_B, 0, 1);
    assert_int_equal(step(c, t, 1), 0);
    chain_free(c);
}

/* A status as the lookup below the overlay has it: owned by jinan, 64 endorsements. */
static int full_lookup(void *ctx, const uint8_t digest[32], qc_recstat_t *out) {
    (void)ctx;
    memset(out, 0, sizeof *out);
    memcpy(out->digest.b, digest, 32);
    snprintf(out->owner, sizeof out->owner, "jinan");
    out->first_height = 1;
    out->endorsement_count = QC_ENDORSEMENTS_MAX;
    for (uint32_t i = 0; i < QC_ENDORSEMENTS_MAX; i++) {
        snprintf(out->endorsements[i].city, sizeof out->endorsements[i].city, "far%u", i);
        out->endorsements[i].height = 1;
        out->endorsements[i].purpose = 1;
    }
    out->supersedes_count = QC_SUPERSEDES_MAX;
    for (uint32_t i = 0; i < QC_SUPERSEDES_MAX; i++) memset(out->supersedes[i].b, 0x80 + i, 32);
    return QC_OK;
}

static void test_lifecycle_limits_and_overlay(void **state) {
    (void)state;
    lc_state_t lc;
    lc_init(&lc, full_lookup, NULL, LC_WATCHED);
    qc_tx_t tx;
    char why[300], want[300];
    life(&tx, QC_TX_ENDORSE, ZIBO, 1, 0x01, 0, 1);
    assert_int_equal(lc_apply(&lc, &tx, &g_vs, 5, 0, why, sizeof why), QC_ERR_STATE);
    snprintf(want, sizeof want, "record %s already has 64 endorsements, the most one record holds",
             hex_of(0x01));
    assert_string_equal(why, want);
    qc_tx_free(&tx);
    life(&tx, QC_TX_SUPERSEDE, JINAN, 2, 0x01, 0x02, 0);
    assert_int_equal(lc_apply(&lc, &tx, &g_vs, 5, 0, why, sizeof why), QC_ERR_STATE);
    snprintf(want, sizeof want, "record %s already replaces 64 records, the most one record replaces",
             hex_of(0x02));
    assert_string_equal(why, want);
    qc_tx_free(&tx);
    /* nothing changed; a REVOKE applies to the overlay only, and is what lc_each_changed sees */
    int changed = 0;
    assert_int_equal(lc_each_changed(&lc, NULL, NULL), QC_OK); /* none: cb never called */
    life(&tx, QC_TX_REVOKE, JINAN, 3, 0x01, 0, 2);
    assert_int_equal(lc_apply(&lc, &tx, &g_vs, 5, 0, why, sizeof why), QC_OK);
    qc_tx_free(&tx);
    qc_recstat_t st;
    uint8_t d[32];
    memset(d, 0x01, 32);
    assert_int_equal(lc_get(&lc, d, &st), QC_OK);
    assert_int_equal(st.state, QC_REC_REVOKED);
    for (size_t i = 0; i < lc.cap; i++) changed += lc.tab[i].used && lc.tab[i].dirty;
    assert_int_equal(changed, 1);
    lc_clear_changed(&lc);
    assert_int_equal(lc_each_changed(&lc, NULL, NULL), QC_OK);
    lc_free(&lc);
}

typedef struct {
    uint8_t seen[256];
    size_t n;
} changed_t;

static int collect_changed(void *ctx, const uint8_t digest[32], const uint8_t *enc, size_t len) {
    changed_t *c = ctx;
    assert_true(len > 0 && enc != NULL);
    assert_true(c->n < sizeof c->seen);
    c->seen[c->n++] = digest[0];
    return QC_OK;
}

static void apply_anchor(lc_state_t *lc, uint64_t nonce, uint8_t d) {
    qc_tx_t tx;
    char why[300];
    anchor(&tx, JINAN, nonce, d);
    assert_int_equal(lc_apply(lc, &tx, &g_vs, 1, 0, why, sizeof why), QC_OK);
    qc_tx_free(&tx);
}

/* The changes lc_each_changed reports are exactly those since lc_clear_changed, in the order
 * they first changed, also across the table's growth; and both cost the changes, not the
 * overlay (a chain-long overlay, as tests/lib/chainbuilder keeps, walked its whole table for
 * every block before). */
static void test_lifecycle_changes_across_growth(void **state) {
    (void)state;
    lc_state_t lc;
    lc_init(&lc, NULL, NULL, LC_ALL);
    for (unsigned d = 1; d <= 150; d++) apply_anchor(&lc, d, (uint8_t)d);
    assert_true(lc.cap >= 300); /* grew from 64 with the changes marked */
    changed_t c = {{0}, 0};
    assert_int_equal(lc_each_changed(&lc, collect_changed, &c), QC_OK);
    assert_int_equal(c.n, 150);
    for (unsigned i = 0; i < 150; i++) assert_int_equal(c.seen[i], i + 1);
    lc_clear_changed(&lc);
    c.n = 0;
    assert_int_equal(lc_each_changed(&lc, collect_changed, &c), QC_OK);
    assert_int_equal(c.n, 0);
    for (unsigned d = 151; d <= 153; d++) apply_anchor(&lc, d, (uint8_t)d);
    qc_tx_t tx;
    char why[300];
    life(&tx, QC_TX_REVOKE, JINAN, 154, 5, 0, 2); /* an entry from before the clear */
    assert_int_equal(lc_apply(&lc, &tx, &g_vs, 2, 0, why, sizeof why), QC_OK);
    qc_tx_free(&tx);
    apply_anchor(&lc, 155, 151); /* a later anchoring of one changed already: no new change */
    assert_int_equal(lc_each_changed(&lc, collect_changed, &c), QC_OK);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.seen[0], 151);
    assert_int_equal(c.seen[1], 152);
    assert_int_equal(c.seen[2], 153);
    assert_int_equal(c.seen[3], 5);
    size_t dirty = 0;
    for (size_t i = 0; i < lc.cap; i++) dirty += lc.tab[i].used && lc.tab[i].dirty;
    assert_int_equal(dirty, 4);
    lc_free(&lc);
}

static int ledger_lookup(void *ctx, const uint8_t digest[32], qc_recstat_t *out) {
    return lc_get(ctx, digest, out);
}

/* A node sees through pending blocks by replaying them, trusted, for one digest over the
 * ledger's statuses (node_chain.c records_cb): that must give exactly the status that applying
 * the blocks in full gives, for every digest, including a SUPERSEDE whose other record the
 * replay does not watch. */
static void test_trusted_replay_matches_full_application(void **state) {
    (void)state;
    enum { BLOCKS = 3, PER = 4 };
    qc_tx_t t[BLOCKS][PER];
    anchor(&t[0][0], JINAN, 1, D_A);
    anchor(&t[0][1], ZIBO, 2, D_Z);
    life(&t[0][2], QC_TX_ENDORSE, ZIBO, 3, D_A, 0, 1);
    anchor(&t[0][3], TAIAN, 4, D_X);
    anchor(&t[1][0], JINAN, 5, D_B);                 /* pending block 2 */
    life(&t[1][1], QC_TX_ENDORSE, TAIAN, 6, D_A, 0, 2);
    anchor(&t[1][2], ZIBO, 7, D_A);                  /* a later anchoring: no new owner */
    life(&t[1][3], QC_TX_REVOKE, ZIBO, 8, D_Z, 0, 3);
    life(&t[2][0], QC_TX_SUPERSEDE, JINAN, 9, D_A, D_B, 0); /* pending block 3 */
    life(&t[2][1], QC_TX_ENDORSE, 3, 10, D_B, 0, 1);
    life(&t[2][2], QC_TX_ENDORSE, JINAN, 11, D_X, 0, 1);
    life(&t[2][3], QC_TX_REVOKE, TAIAN, 12, D_X, 0, 4);
    lc_state_t full, ledger;
    lc_init(&full, NULL, NULL, LC_ALL);
    lc_init(&ledger, NULL, NULL, LC_ALL);
    uint64_t log_index = 0, ledger_log_size = 0;
    for (int b = 0; b < BLOCKS; b++) {
        for (int i = 0; i < PER; i++) {
            assert_int_equal(lc_apply(&full, &t[b][i], &g_vs, (uint64_t)b + 1, log_index, NULL, 0), QC_OK);
            if (b == 0) assert_int_equal(lc_apply(&ledger, &t[b][i], &g_vs, 1, log_index, NULL, 0), QC_OK);
            log_index += t[b][i].record_count;
        }
        if (b == 0) ledger_log_size = log_index;
    }
    const uint8_t digests[] = {D_A, D_B, D_Z, D_X};
    qc_recstat_t *want = malloc(2 * sizeof *want), *got = want + 1;
    assert_non_null(want);
    for (size_t k = 0; k < sizeof digests; k++) {
        uint8_t d[32];
        memset(d, digests[k], 32);
        lc_state_t replay;
        lc_init(&replay, ledger_lookup, &ledger, LC_WATCHED);
        replay.trusted = true;
        assert_int_equal(lc_watch(&replay, d), QC_OK);
        log_index = ledger_log_size;
        for (int b = 1; b < BLOCKS; b++)
            for (int i = 0; i < PER; i++) {
                assert_int_equal(lc_apply(&replay, &t[b][i], &g_vs, (uint64_t)b + 1, log_index, NULL, 0), QC_OK);
                log_index += t[b][i].record_count;
            }
        memset(want, 0, 2 * sizeof *want);
        assert_int_equal(lc_get(&full, d, want), QC_OK);
        assert_int_equal(lc_get(&replay, d, got), QC_OK);
        uint8_t a[QC_RECSTAT_BYTES_MAX], bb[QC_RECSTAT_BYTES_MAX];
        size_t alen, blen;
        assert_int_equal(qc_recstat_encode(want, a, sizeof a, &alen), QC_OK);
        assert_int_equal(qc_recstat_encode(got, bb, sizeof bb, &blen), QC_OK);
        assert_int_equal(alen, blen);
        assert_memory_equal(a, bb, alen);
        lc_free(&replay);
    }
    /* and the statuses are the ones the rules give */
    uint8_t d[32];
    memset(d, D_A, 32);
    assert_int_equal(lc_get(&full, d, want), QC_OK);
    assert_int_equal(want->state, QC_REC_SUPERSEDED);
    assert_int_equal(want->endorsement_count, 2);
    memset(d, D_B, 32);
    assert_int_equal(lc_get(&full, d, want), QC_OK);
    assert_int_equal(want->first_height, 2);
    assert_int_equal(want->endorsement_count, 1);
    memset(d, D_X, 32);
    assert_int_equal(lc_get(&full, d, want), QC_OK);
    assert_int_equal(want->state, QC_REC_REVOKED);
    assert_string_equal(want->owner, "taian");
    free(want);
    lc_free(&full);
    lc_free(&ledger);
    for (int b = 0; b < BLOCKS; b++)
        for (int i = 0; i < PER; i++) qc_tx_free(&t[b][i]);
}

/* A block of 64 transactions checked with its signatures verified on 1, 2, 3 and 8 threads:
 * valid everywhere; with any one signature broken, refused at that transaction with the same
 * reason; transactions the mempool verified are not verified again. */
static void test_parallel_signatures(void **state) {
    (void)state;
    enum { N = 64 };
    qc_tx_t txs[N];
    const qc_tx_t *ptrs[N];
    for (uint32_t i = 0; i < N; i++) {
        make_tx(&txs[i], i % 9, 1000 + i, 100, 1);
        ptrs[i] = &txs[i];
    }
    exec_parent_t parent = genesis_parent();
    qc_block_t b;
    rlog_t log1;
    assert_int_equal(exec_build(&parent, ptrs, N, 2000000, 0, 0, &b, &log1, NULL, NULL), QC_OK);
    static const uint32_t workers[] = {1, 2, 3, 8};
    for (size_t w = 0; w < sizeof workers / sizeof *workers; w++) {
        par_t *par;
        assert_int_equal(par_start(&par, workers[w]), QC_OK);
        exec_check_t c = check_for(&b);
        c.par = par;
        char why[300] = "";
        uint32_t sigs = 0;
        assert_int_equal(exec_check(&b, &parent, &c, &log1, NULL, NULL, &sigs, why, sizeof why), QC_OK);
        assert_int_equal(sigs, N);
        for (uint32_t bad = 0; bad < N; bad += 21) {
            b.txs[bad].sig.b[bad % 64] ^= 0x10;
            char want[64];
            snprintf(want, sizeof want, "tx %u: signature does not verify", bad);
            assert_int_equal(exec_check(&b, &parent, &c, &log1, NULL, NULL, NULL, why, sizeof why),
                             QC_ERR_SIGNATURE);
            assert_string_equal(why, want);
            b.txs[bad].sig.b[bad % 64] ^= 0x10;
        }
        /* the first half admitted (and verified) by the mempool: only the rest is verified */
        mempool_t mp;
        mempool_limits_t lim = {N, 1 << 20};
        assert_int_equal(mempool_init(&mp, &lim), QC_OK);
        mempool_view_t v = {CHAIN, &g_vs, 1, NULL, NULL};
        for (uint32_t i = 0; i < N / 2; i++) {
            qc_tx_t copy;
            assert_int_equal(qc_tx_clone(&b.txs[i], &copy), QC_OK);
            assert_int_equal(mempool_add(&mp, &copy, &v, NULL), QC_OK);
        }
        c.mempool = &mp;
        sigs = 0;
        assert_int_equal(exec_check(&b, &parent, &c, &log1, NULL, NULL, &sigs, why, sizeof why), QC_OK);
        assert_int_equal(sigs, N / 2);
        mempool_free(&mp);
        par_stop(par);
    }
    qc_block_free(&b);
    for (uint32_t i = 0; i < N; i++) qc_tx_free(&txs[i]);
}

/* k chained blocks, each with a certificate of its header hash by a quorum of g_vs (the
 * validators' node keys from testkeys). */
static void certified_chain(qc_block_t *blocks, qc_cert_t *certs, uint32_t k) {
    exec_parent_t parent = genesis_parent();
    rlog_t logs[16];
    assert_true(k <= 16);
    for (uint32_t h = 0; h < k; h++) {
        qc_tx_t tx;
        make_tx(&tx, h % 9, 5000 + h, 100, 1);
        const qc_tx_t *ptr = &tx;
        assert_int_equal(exec_build(&parent, &ptr, 1, 2000000 + h, 0, 0, &blocks[h], &logs[h],
                                    NULL, NULL), QC_OK);
        qc_tx_free(&tx);
        qc_hash_t hash;
        qc_header_hash(&blocks[h].header, &hash);
        memset(&certs[h], 0, sizeof certs[h]);
        certs[h].epoch = g_vs.epoch;
        certs[h].height = blocks[h].header.height;
        certs[h].block_hash = hash;
        uint8_t msg[128];
        size_t len = qc_commit_vote_bytes(msg, CHAIN, certs[h].epoch, certs[h].height, 0, &hash);
        uint32_t q = qc_quorum(g_vs.n);
        for (uint32_t v = 0; v < q; v++) {
            qc_pubkey_t pk;
            qc_seckey_t sk;
            testkeys_keypair(TESTKEY_NODE, v, &pk, &sk);
            certs[h].votes[v].validator = v;
            qc_sign_ctx(&certs[h].votes[v].sig, &sk, QC_CTX_COMMIT, msg, len);
        }
        certs[h].vote_count = q;
        parent.height = blocks[h].header.height;
        parent.hash = hash;
        parent.time_ms = blocks[h].header.time_ms;
        parent.log = &logs[h];
    }
}

/* Catch-up's certificate check (exec_certified) on 1 and 4 threads: every block of a valid
 * reply; with a forged vote, a vote of a non-member, or a short quorum at block j, the first j
 * blocks and the reason of block j. */
static void test_certified_prefix(void **state) {
    (void)state;
    enum { K = 12 };
    qc_block_t blocks[K];
    qc_cert_t certs[K];
    certified_chain(blocks, certs, K);
    static const uint32_t workers[] = {1, 4};
    for (size_t w = 0; w < 2; w++) {
        par_t *par;
        assert_int_equal(par_start(&par, workers[w]), QC_OK);
        int rc = -1;
        char why[160] = "";
        assert_int_equal(exec_certified(par, CHAIN, &g_vs, blocks, certs, K, &rc, why, sizeof why), K);
        assert_int_equal(rc, QC_OK);
        assert_int_equal(exec_certified(par, CHAIN, &g_vs, blocks, certs, 0, &rc, why, sizeof why), 0);
        assert_int_equal(rc, QC_OK);

        certs[7].votes[1].sig.b[0] ^= 1; /* forged: blocks 0..6 stand */
        certs[9].votes[0].sig.b[0] ^= 1; /* a later one changes nothing */
        assert_int_equal(exec_certified(par, CHAIN, &g_vs, blocks, certs, K, &rc, why, sizeof why), 7);
        assert_int_equal(rc, QC_ERR_SIGNATURE);
        assert_string_equal(why, "signature by zibo's node key is invalid");
        certs[7].votes[1].sig.b[0] ^= 1;
        certs[9].votes[0].sig.b[0] ^= 1;

        certs[3].votes[2].validator = 40;
        assert_int_equal(exec_certified(par, CHAIN, &g_vs, blocks, certs, K, &rc, why, sizeof why), 3);
        assert_int_equal(rc, QC_ERR_MEMBER);
        certs[3].votes[2].validator = 2;

        certs[0].vote_count--;
        assert_int_equal(exec_certified(par, CHAIN, &g_vs, blocks, certs, K, &rc, why, sizeof why), 0);
        assert_int_equal(rc, QC_ERR_QUORUM);
        certs[0].vote_count++;

        /* a certificate moved to another block's header */
        qc_cert_t keep = certs[5];
        certs[5] = certs[4];
        assert_int_equal(exec_certified(par, CHAIN, &g_vs, blocks, certs, K, &rc, why, sizeof why), 5);
        assert_int_equal(rc, QC_ERR_INVALID);
        assert_string_equal(why, "certificate is for a different block hash");
        certs[5] = keep;
        par_stop(par);
    }
    for (uint32_t h = 0; h < K; h++) qc_block_free(&blocks[h]);
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
        cmocka_unit_test(test_city_logs_in_state_root),
        cmocka_unit_test(test_city_block_events_cap),
        cmocka_unit_test(test_byzantine_blocks_refused),
        cmocka_unit_test(test_replay_of_committed_refused_and_cache),
        cmocka_unit_test(test_endorse_rules),
        cmocka_unit_test(test_revoke_rules),
        cmocka_unit_test(test_supersede_rules),
        cmocka_unit_test(test_lifecycle_limits_and_overlay),
        cmocka_unit_test(test_lifecycle_changes_across_growth),
        cmocka_unit_test(test_trusted_replay_matches_full_application),
        cmocka_unit_test(test_parallel_signatures),
        cmocka_unit_test(test_certified_prefix),
    };
    return cmocka_run_group_tests_name("exec", tests, setup, NULL);
}
