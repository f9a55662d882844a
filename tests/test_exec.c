/* test_exec.c - proposal checks before prepare, and deterministic execution of committed
 * proposals into blocks (filtering, log roots, null proposals). */
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

/* A proposal at height/view by proposer holding n fresh txs (records r each). */
static void make_proposal(qc_proposal_t *p, uint64_t height, uint64_t view, uint32_t proposer,
                          uint32_t n, int records) {
    memset(p, 0, sizeof *p);
    p->header.version = QC_FMT_VERSION;
    snprintf(p->header.chain_id, sizeof p->header.chain_id, CHAIN);
    p->header.height = height;
    p->header.view = view;
    p->header.proposer = proposer;
    p->header.time_ms = 1000000;
    p->txs = calloc(n ? n : 1, sizeof *p->txs);
    assert_non_null(p->txs);
    for (uint32_t i = 0; i < n; i++) make_tx(&p->txs[i], i % 9, height * 1000 + i, 100, records);
    p->tx_count = n;
    assert_int_equal(qc_proposal_seal(p), QC_OK);
}

static exec_check_t check_ctx(void) {
    exec_check_t c = {CHAIN, &g_vs, 1, 1000000, 30000, NULL};
    return c;
}

static void test_check_accepts_and_counts(void **state) {
    (void)state;
    qc_proposal_t p;
    make_proposal(&p, 5, 10, 1, 4, 2);
    exec_check_t c = check_ctx();
    char why[128];
    uint32_t checks = 0;
    assert_int_equal(exec_check_proposal(&p, 5, 10, &c, &checks, why, sizeof why), QC_OK);
    assert_int_equal(checks, 4);

    /* with the txs already admitted to the mempool, no signature is verified again */
    mempool_t mp;
    mempool_limits_t lim = {16, 1 << 20};
    assert_int_equal(mempool_init(&mp, &lim), QC_OK);
    mempool_view_t v = {CHAIN, &g_vs, 5, NULL, NULL};
    for (uint32_t i = 0; i < 4; i++) {
        qc_tx_t copy;
        assert_int_equal(qc_tx_clone(&p.txs[i], &copy), QC_OK);
        assert_int_equal(mempool_add(&mp, &copy, &v, NULL), QC_OK);
    }
    c.mempool = &mp;
    checks = 0;
    assert_int_equal(exec_check_proposal(&p, 5, 10, &c, &checks, why, sizeof why), QC_OK);
    assert_int_equal(checks, 0);
    mempool_free(&mp);
    qc_proposal_free(&p);
}

static void test_check_rejections(void **state) {
    (void)state;
    exec_check_t c = check_ctx();
    char why[128];
    qc_proposal_t p;

    make_proposal(&p, 5, 10, 1, 2, 1);
    assert_int_equal(exec_check_proposal(&p, 6, 10, &c, NULL, why, sizeof why), QC_ERR_INVALID);
    assert_int_equal(exec_check_proposal(&p, 5, 11, &c, NULL, why, sizeof why), QC_ERR_INVALID);
    c.primary = 2;
    assert_int_equal(exec_check_proposal(&p, 5, 10, &c, NULL, why, sizeof why), QC_ERR_INVALID);
    assert_string_equal(why, "proposer 1 is not the primary 2");
    c = check_ctx();
    c.now_ms = 1000000 + 30001;
    assert_int_equal(exec_check_proposal(&p, 5, 10, &c, NULL, why, sizeof why), QC_ERR_INVALID);
    c = check_ctx();
    p.txs[1].sig.b[0] ^= 1; /* a forged tx in an otherwise fine proposal */
    assert_int_equal(exec_check_proposal(&p, 5, 10, &c, NULL, why, sizeof why), QC_ERR_SIGNATURE);
    assert_string_equal(why, "tx 1: signature does not verify");
    p.txs[1].sig.b[0] ^= 1;
    p.txs[1].expiry_height = 4;
    assert_int_equal(exec_check_proposal(&p, 5, 10, &c, NULL, why, sizeof why), QC_ERR_EXPIRED);
    p.txs[1].expiry_height = 100;
    qc_tx_free(&p.txs[1]);
    assert_int_equal(qc_tx_clone(&p.txs[0], &p.txs[1]), QC_OK);
    assert_int_equal(exec_check_proposal(&p, 5, 10, &c, NULL, why, sizeof why), QC_ERR_DUPLICATE);
    qc_tx_free(&p.txs[1]);
    make_tx(&p.txs[1], 30, 77, 100, 1); /* member 30: not in the set */
    assert_int_equal(exec_check_proposal(&p, 5, 10, &c, NULL, why, sizeof why), QC_ERR_MEMBER);
    snprintf(p.header.chain_id, sizeof p.header.chain_id, "other");
    assert_int_equal(exec_check_proposal(&p, 5, 10, &c, NULL, why, sizeof why), QC_ERR_INVALID);
    qc_proposal_free(&p);
}

static bool committed_first(void *ctx, const qc_hash_t *id) {
    return memcmp(((const qc_hash_t *)ctx)->b, id->b, 32) == 0;
}

static void test_exec_block_roots_and_filtering(void **state) {
    (void)state;
    rlog_t log0;
    memset(&log0, 0, sizeof log0);
    qc_proposal_t p;
    make_proposal(&p, 1, 0, 0, 5, 3);
    /* tx 4 repeats tx 3 */
    qc_tx_free(&p.txs[4]);
    assert_int_equal(qc_tx_clone(&p.txs[3], &p.txs[4]), QC_OK);
    qc_hash_t committed = p.txs[0].id;
    exec_base_t base = {CHAIN, &g_vs, 0, {{0}}, 2000000, &log0, committed_first, &committed};
    qc_block_t b;
    rlog_t log1;
    assert_int_equal(exec_block(&p, 0, 0, &base, &b, &log1), QC_OK);
    /* tx 0 was committed before, tx 4 repeats tx 3: 3 remain, 9 records */
    assert_int_equal(b.tx_count, 3);
    assert_memory_equal(b.txs[0].id.b, p.txs[1].id.b, 32);
    assert_int_equal(b.header.height, 1);
    assert_int_equal(b.header.time_ms, 2000000); /* never before the previous block */
    assert_int_equal(b.header.log_size, 9);
    assert_int_equal(log1.size, 9);
    qc_hash_t leaves[9];
    int k = 0;
    for (uint32_t t = 0; t < b.tx_count; t++)
        for (uint16_t r = 0; r < 3; r++)
            qc_record_leaf_hash(1, &b.txs[t].id, r, b.txs[t].records[r].digest, &leaves[k++]);
    qc_hash_t root;
    merkle_root(&root, leaves, 9);
    assert_memory_equal(root.b, b.header.log_root.b, 32);
    qc_hash_t vh;
    qc_validators_hash(&g_vs, &vh);
    assert_memory_equal(vh.b, b.header.validators_hash.b, 32);

    /* deterministic: executing again yields the same block hash; it round-trips the codec */
    qc_block_t b2;
    rlog_t log1b;
    assert_int_equal(exec_block(&p, 0, 0, &base, &b2, &log1b), QC_OK);
    qc_hash_t h1, h2;
    qc_header_hash(&b.header, &h1);
    qc_header_hash(&b2.header, &h2);
    assert_memory_equal(h1.b, h2.b, 32);
    uint8_t *buf;
    size_t len;
    assert_int_equal(qc_block_encode(&b, &buf, &len), QC_OK);
    qc_block_t back;
    assert_int_equal(qc_block_decode(buf, len, &back), QC_OK);
    qc_block_free(&back);
    free(buf);

    /* next height: expired txs are skipped; a null proposal gives an empty block */
    exec_base_t base2 = {CHAIN, &g_vs, 1, h1, b.header.time_ms, &log1, NULL, NULL};
    qc_block_t nb;
    rlog_t log2;
    assert_int_equal(exec_block(NULL, 3, 3, &base2, &nb, &log2), QC_OK);
    assert_int_equal(nb.tx_count, 0);
    assert_int_equal(nb.header.proposer, 3);
    assert_int_equal(nb.header.log_size, 9);
    assert_memory_equal(nb.header.log_root.b, b.header.log_root.b, 32);
    assert_memory_equal(nb.header.prev_hash.b, h1.b, 32);
    qc_block_free(&nb);
    assert_int_equal(exec_block(&p, 0, 0, &base2, &nb, &log2), QC_ERR_INVALID); /* height 1 != 2 */

    qc_block_free(&b);
    qc_block_free(&b2);
    qc_proposal_free(&p);
}

static int setup(void **state) {
    (void)state;
    testkeys_validators(&g_vs, 9, 0);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_accepts_and_counts),
        cmocka_unit_test(test_check_rejections),
        cmocka_unit_test(test_exec_block_roots_and_filtering),
    };
    return cmocka_run_group_tests_name("exec", tests, setup, NULL);
}
