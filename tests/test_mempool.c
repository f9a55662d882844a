/* test_mempool.c - admission checks with reasons, bounds, proposal reservations, commit,
 * expiry eviction and index churn of the node's mempool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mempool.h"
#include "testkeys.h"

#define CHAIN "mp-test"

static qc_validator_set_t g_vs;

static void make_tx(qc_tx_t *tx, uint32_t member, uint64_t nonce, uint64_t expiry,
                    const char *chain) {
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, member, &pk, &sk);
    qc_txb_t b;
    qc_hash_t d;
    memset(d.b, (int)(nonce & 0xff), 32);
    assert_int_equal(qc_txb_init(&b, chain, &pk, nonce, expiry), QC_OK);
    assert_int_equal(qc_txb_add_record(&b, &d, "licence", "ref", NULL), QC_OK);
    assert_int_equal(qc_txb_finish(&b, &sk, tx), QC_OK);
}

static bool committed_set(void *ctx, const qc_hash_t *id) {
    const qc_hash_t *c = ctx;
    return memcmp(c->b, id->b, 32) == 0;
}

static mempool_view_t view_at(uint64_t next_height) {
    mempool_view_t v = {CHAIN, &g_vs, next_height, NULL, NULL};
    return v;
}

static void test_admission_reasons(void **state) {
    (void)state;
    mempool_t mp;
    mempool_limits_t lim = {8, 1 << 20};
    assert_int_equal(mempool_init(&mp, &lim), QC_OK);
    mempool_view_t v = view_at(10);
    mempool_reject_t why;
    qc_tx_t tx;

    make_tx(&tx, 0, 1, 100, CHAIN);
    qc_hash_t id = tx.id;
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_OK);
    assert_null(tx.body); /* ownership moved */
    assert_non_null(mempool_get(&mp, &id));

    make_tx(&tx, 0, 1, 100, CHAIN);
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_ERR_DUPLICATE);
    assert_int_equal(why, MEMPOOL_REJECT_DUP_POOL);
    qc_tx_free(&tx);

    make_tx(&tx, 0, 2, 100, "other-chain");
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_ERR_INVALID);
    assert_int_equal(why, MEMPOOL_REJECT_CHAIN);
    qc_tx_free(&tx);

    make_tx(&tx, 0, 3, 9, CHAIN);
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_ERR_EXPIRED);
    assert_string_equal(mempool_reject_str(why), "transaction expired");
    qc_tx_free(&tx);

    make_tx(&tx, 0, 4, 10 + QC_TX_TTL_BLOCKS_MAX + 1, CHAIN);
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_ERR_INVALID);
    assert_int_equal(why, MEMPOOL_REJECT_EXPIRY_FAR);
    qc_tx_free(&tx);

    make_tx(&tx, 20, 5, 100, CHAIN); /* member 20 is not in a 9-member set */
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_ERR_MEMBER);
    assert_int_equal(why, MEMPOOL_REJECT_MEMBER);
    qc_tx_free(&tx);

    make_tx(&tx, 1, 6, 100, CHAIN);
    tx.sig.b[0] ^= 1;
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_ERR_SIGNATURE);
    assert_string_equal(mempool_reject_str(why), "signature does not verify");
    qc_tx_free(&tx);

    make_tx(&tx, 1, 7, 100, CHAIN);
    qc_hash_t cid = tx.id;
    v.committed = committed_set;
    v.committed_ctx = &cid;
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_ERR_DUPLICATE);
    assert_int_equal(why, MEMPOOL_REJECT_DUP_COMMITTED);
    qc_tx_free(&tx);

    assert_int_equal(mp.count, 1);
    assert_int_equal(mp.rejected[MEMPOOL_REJECT_SIGNATURE], 1);
    mempool_free(&mp);
}

static void test_bounds(void **state) {
    (void)state;
    mempool_t mp;
    mempool_limits_t lim = {3, 1 << 20};
    assert_int_equal(mempool_init(&mp, &lim), QC_OK);
    mempool_view_t v = view_at(1);
    mempool_reject_t why;
    qc_tx_t tx;
    for (uint64_t i = 0; i < 3; i++) {
        make_tx(&tx, 2, 100 + i, 50, CHAIN);
        assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_OK);
    }
    make_tx(&tx, 2, 200, 50, CHAIN);
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_ERR_FULL);
    assert_int_equal(why, MEMPOOL_REJECT_FULL);
    qc_tx_free(&tx);
    mempool_free(&mp);

    lim.txs_max = 100;
    lim.bytes_max = 300; /* each tx body is ~130 bytes: two fit */
    assert_int_equal(mempool_init(&mp, &lim), QC_OK);
    int ok = 0;
    for (uint64_t i = 0; i < 4; i++) {
        make_tx(&tx, 2, 300 + i, 50, CHAIN);
        if (mempool_add(&mp, &tx, &v, &why) == QC_OK) ok++;
        else { assert_int_equal(why, MEMPOOL_REJECT_FULL); qc_tx_free(&tx); }
    }
    assert_int_equal(ok, 2);
    assert_true(mp.bytes <= 300);
    mempool_free(&mp);
    mempool_limits_t bad = {0, 1};
    assert_int_equal(mempool_init(&mp, &bad), QC_ERR_INVALID);
}

static void test_take_release_commit(void **state) {
    (void)state;
    mempool_t mp;
    mempool_limits_t lim = {16, 1 << 20};
    assert_int_equal(mempool_init(&mp, &lim), QC_OK);
    mempool_view_t v = view_at(1);
    qc_hash_t ids[6];
    for (uint64_t i = 0; i < 6; i++) {
        qc_tx_t tx;
        make_tx(&tx, 3, 10 + i, i == 5 ? 2 : 100, CHAIN);
        ids[i] = tx.id;
        assert_int_equal(mempool_add(&mp, &tx, &v, NULL), QC_OK);
    }
    const qc_tx_t *out[16];
    uint32_t n = mempool_take(&mp, 2, 2, 1 << 20, out); /* height 2: first two, oldest first */
    assert_int_equal(n, 2);
    assert_int_equal(mp.reserved, 2);
    assert_memory_equal(out[0]->id.b, ids[0].b, 32);
    assert_memory_equal(out[1]->id.b, ids[1].b, 32);
    n = mempool_take(&mp, 3, 16, 1 << 20, out); /* height 3: the rest not reserved, minus the */
    assert_int_equal(n, 3);                      /* one expiring at 2, which is evicted */
    assert_memory_equal(out[0]->id.b, ids[2].b, 32);
    assert_null(mempool_get(&mp, &ids[5]));
    assert_int_equal(mempool_take(&mp, 4, 16, 1 << 20, out), 0);

    assert_int_equal(mp.reserved, 5);
    mempool_release_above(&mp, 2); /* view change: height 3's proposal is gone */
    assert_int_equal(mp.reserved, 2);
    n = mempool_take(&mp, 3, 16, 1 << 20, out);
    assert_int_equal(n, 3);

    /* height 2 commits holding only ids[0]; ids[1] becomes free again */
    qc_tx_t committed;
    assert_int_equal(qc_tx_clone(mempool_get(&mp, &ids[0]), &committed), QC_OK);
    mempool_commit(&mp, 2, &committed, 1);
    qc_tx_free(&committed);
    assert_null(mempool_get(&mp, &ids[0]));
    assert_int_equal(mp.count, 4);
    assert_int_equal(mp.reserved, 3); /* height 3's three; ids[1] was freed by the commit */
    n = mempool_take(&mp, 4, 16, 1 << 20, out);
    assert_int_equal(n, 1);
    assert_memory_equal(out[0]->id.b, ids[1].b, 32);
    assert_int_equal(mempool_evict_expired(&mp, 1000), 0); /* reserved ones are kept */
    mempool_release_above(&mp, 0);
    assert_int_equal(mempool_evict_expired(&mp, 1000), 4);
    assert_int_equal(mp.count, 0);
    assert_int_equal(mp.reserved, 0);
    assert_int_equal(mp.bytes, 0);
    mempool_free(&mp);
}

static bool skip_second(void *ctx, const qc_tx_t *tx) {
    return memcmp(tx->id.b, ((const qc_hash_t *)ctx)->b, 32) == 0;
}

/* mempool_resend: a transaction is first stamped (its admission broadcast was its first
 * sending), then returned once age_ms has passed since it was last sent, oldest first, at most
 * max a call, never while a proposal holds it or the caller passes it over (then it is not
 * stamped either), and stamped again when returned. */
static void test_resend(void **state) {
    (void)state;
    mempool_t mp;
    mempool_limits_t lim = {16, 1 << 20};
    assert_int_equal(mempool_init(&mp, &lim), QC_OK);
    mempool_view_t v = view_at(1);
    qc_hash_t ids[4];
    for (uint64_t i = 0; i < 3; i++) {
        qc_tx_t tx;
        make_tx(&tx, 3, 40 + i, 100, CHAIN);
        ids[i] = tx.id;
        assert_int_equal(mempool_add(&mp, &tx, &v, NULL), QC_OK);
    }
    const qc_tx_t *out[16];
    assert_int_equal(mempool_resend(&mp, 1000, 500, 16, NULL, NULL, out), 0); /* first met: stamped */
    assert_int_equal(mempool_resend(&mp, 1499, 500, 16, NULL, NULL, out), 0); /* too soon */
    qc_tx_t tx;
    make_tx(&tx, 3, 43, 100, CHAIN);
    ids[3] = tx.id;
    assert_int_equal(mempool_add(&mp, &tx, &v, NULL), QC_OK);
    const qc_tx_t *taken[1];
    assert_int_equal(mempool_take(&mp, 2, 1, 1 << 20, taken), 1); /* ids[0] in a proposal */
    assert_int_equal(mempool_resend(&mp, 1500, 500, 1, NULL, NULL, out), 1); /* max 1: the oldest free */
    assert_memory_equal(out[0]->id.b, ids[1].b, 32);              /* ids[3] only stamped */
    assert_int_equal(mempool_resend(&mp, 1500, 500, 16, NULL, NULL, out), 1);
    assert_memory_equal(out[0]->id.b, ids[2].b, 32);
    assert_int_equal(mempool_resend(&mp, 1999, 500, 16, NULL, NULL, out), 0); /* all sent at 1500 */
    mempool_release_above(&mp, 0);                                /* ids[0] free again */
    assert_int_equal(mempool_resend(&mp, 2000, 500, 16, skip_second, &ids[1], out), 3);
    assert_memory_equal(out[0]->id.b, ids[0].b, 32); /* ids[1] passed over by the caller */
    assert_memory_equal(out[1]->id.b, ids[2].b, 32);
    assert_memory_equal(out[2]->id.b, ids[3].b, 32);
    assert_int_equal(mempool_resend(&mp, 2000, 500, 16, NULL, NULL, out), 1); /* not stamped */
    assert_memory_equal(out[0]->id.b, ids[1].b, 32);
    mempool_free(&mp);
}

/* What the censorship watch (node/censor.h) reads: each transaction's admission time, the
 * oldest one free to propose (a proposal's and the caller's skipped ones passed, within a
 * step bound), and whether a held one is still valid at a later head. */
static void test_oldest_free_and_still_valid(void **state) {
    (void)state;
    mempool_t mp;
    mempool_limits_t lim = {16, 1 << 20};
    assert_int_equal(mempool_init(&mp, &lim), QC_OK);
    mempool_view_t v = view_at(1);
    uint64_t seen = 1;
    assert_null(mempool_oldest_free(&mp, NULL, NULL, 64, &seen));
    qc_hash_t ids[3];
    for (uint64_t i = 0; i < 3; i++) {
        qc_tx_t tx;
        make_tx(&tx, 3, 60 + i, i == 0 ? 5 : 100, CHAIN);
        ids[i] = tx.id;
        v.now_ms = 1000 + 10 * i;
        assert_int_equal(mempool_add(&mp, &tx, &v, NULL), QC_OK);
    }
    assert_true(mempool_seen(&mp, &ids[1], &seen));
    assert_int_equal(seen, 1010);
    assert_true(mempool_seen(&mp, &ids[2], NULL));
    assert_false(mempool_seen(&mp, &(qc_hash_t){{0}}, &seen));
    const qc_tx_t *t = mempool_oldest_free(&mp, NULL, NULL, 64, &seen);
    assert_non_null(t);
    assert_memory_equal(t->id.b, ids[0].b, 32);
    assert_int_equal(seen, 1000);
    const qc_tx_t *taken[1];
    assert_int_equal(mempool_take(&mp, 2, 1, 1 << 20, taken), 1); /* ids[0] in a proposal */
    t = mempool_oldest_free(&mp, NULL, NULL, 64, &seen);
    assert_memory_equal(t->id.b, ids[1].b, 32);
    assert_int_equal(seen, 1010);
    t = mempool_oldest_free(&mp, skip_second, &ids[1], 64, &seen); /* the caller passes one over */
    assert_memory_equal(t->id.b, ids[2].b, 32);
    assert_null(mempool_oldest_free(&mp, skip_second, &ids[1], 2, &seen)); /* the step bound */
    /* held: valid where mempool_admissible refuses it as a duplicate; not once expired or
     * committed */
    const qc_tx_t *held = mempool_get(&mp, &ids[0]);
    assert_false(mempool_admissible(&mp, held, &v));
    assert_true(mempool_still_valid(&mp, held, &v));
    mempool_view_t later = view_at(6);
    assert_false(mempool_still_valid(&mp, held, &later)); /* expiry 5 < 6 */
    assert_true(mempool_still_valid(&mp, mempool_get(&mp, &ids[1]), &later));
    mempool_view_t done = view_at(1);
    done.committed = committed_set;
    done.committed_ctx = &ids[1];
    assert_false(mempool_still_valid(&mp, mempool_get(&mp, &ids[1]), &done));
    assert_true(mempool_still_valid(&mp, mempool_get(&mp, &ids[2]), &done));
    mempool_free(&mp);
}

static void test_verified_cache(void **state) {
    (void)state;
    mempool_t mp;
    mempool_limits_t lim = {4, 1 << 20};
    assert_int_equal(mempool_init(&mp, &lim), QC_OK);
    mempool_view_t v = view_at(1);
    qc_tx_t tx, copy;
    make_tx(&tx, 4, 1, 10, CHAIN);
    assert_int_equal(qc_tx_clone(&tx, &copy), QC_OK);
    assert_false(mempool_verified(&mp, &copy));
    assert_int_equal(mempool_add(&mp, &tx, &v, NULL), QC_OK);
    assert_true(mempool_verified(&mp, &copy));
    copy.sig.b[5] ^= 1; /* same id, other signature: not the verified one */
    assert_false(mempool_verified(&mp, &copy));
    qc_tx_free(&copy);
    mempool_free(&mp);
}

static void test_churn_keeps_index_correct(void **state) {
    (void)state;
    mempool_t mp;
    mempool_limits_t lim = {32, 1 << 20};
    assert_int_equal(mempool_init(&mp, &lim), QC_OK);
    mempool_view_t v = view_at(1);
    for (uint64_t round = 0; round < 40; round++) {
        qc_tx_t txs[20];
        for (uint64_t i = 0; i < 20; i++) {
            qc_tx_t tx;
            make_tx(&tx, 5, round * 100 + i, 1000, CHAIN);
            assert_int_equal(qc_tx_clone(&tx, &txs[i]), QC_OK);
            assert_int_equal(mempool_add(&mp, &tx, &v, NULL), QC_OK);
        }
        for (uint64_t i = 0; i < 20; i++) assert_non_null(mempool_get(&mp, &txs[i].id));
        mempool_commit(&mp, round + 1, txs, 20);
        for (uint64_t i = 0; i < 20; i++) {
            assert_null(mempool_get(&mp, &txs[i].id));
            qc_tx_free(&txs[i]);
        }
        assert_int_equal(mp.count, 0);
        assert_true(mp.tombs <= mp.table_cap / 4);
    }
    mempool_free(&mp);
}

/* The caller's verdict (mempool_add_sig, as node_admit uses it after verifying on threads):
 * every other check still runs first with its own reason; INVALID is refused as a bad
 * signature, VALID is trusted; mempool_admissible predicts that and counts nothing. */
static void test_caller_verified(void **state) {
    (void)state;
    mempool_t mp;
    mempool_limits_t lim = {2, 1 << 20};
    assert_int_equal(mempool_init(&mp, &lim), QC_OK);
    mempool_view_t v = view_at(10);
    mempool_reject_t why;
    qc_tx_t tx;

    make_tx(&tx, 0, 1, 100, CHAIN);
    assert_true(mempool_admissible(&mp, &tx, &v));
    assert_int_equal(mempool_add_sig(&mp, &tx, &v, MEMPOOL_SIG_INVALID, &why), QC_ERR_SIGNATURE);
    assert_int_equal(why, MEMPOOL_REJECT_SIGNATURE);
    assert_int_equal(mp.rejected[MEMPOOL_REJECT_SIGNATURE], 1);
    assert_int_equal(mp.count, 0);
    assert_int_equal(mempool_add_sig(&mp, &tx, &v, MEMPOOL_SIG_VALID, &why), QC_OK);
    assert_int_equal(mp.count, 1);

    /* a duplicate, an expired and a non-member transaction: not admissible, and refused for
     * that reason whatever the caller says of the signature */
    make_tx(&tx, 0, 1, 100, CHAIN);
    assert_false(mempool_admissible(&mp, &tx, &v));
    assert_int_equal(mempool_add_sig(&mp, &tx, &v, MEMPOOL_SIG_VALID, &why), QC_ERR_DUPLICATE);
    assert_int_equal(why, MEMPOOL_REJECT_DUP_POOL);
    qc_tx_free(&tx);
    make_tx(&tx, 1, 2, 5, CHAIN);
    assert_false(mempool_admissible(&mp, &tx, &v));
    assert_int_equal(mempool_add_sig(&mp, &tx, &v, MEMPOOL_SIG_INVALID, &why), QC_ERR_EXPIRED);
    assert_int_equal(why, MEMPOOL_REJECT_EXPIRED);
    qc_tx_free(&tx);
    make_tx(&tx, 30, 3, 100, CHAIN);
    assert_false(mempool_admissible(&mp, &tx, &v));
    assert_int_equal(mempool_add_sig(&mp, &tx, &v, MEMPOOL_SIG_VALID, &why), QC_ERR_MEMBER);
    qc_tx_free(&tx);

    /* UNKNOWN verifies here, as mempool_add does: a broken signature is refused */
    make_tx(&tx, 2, 4, 100, CHAIN);
    tx.sig.b[0] ^= 1;
    assert_true(mempool_admissible(&mp, &tx, &v)); /* the signature is not its business */
    assert_int_equal(mempool_add_sig(&mp, &tx, &v, MEMPOOL_SIG_UNKNOWN, &why), QC_ERR_SIGNATURE);
    tx.sig.b[0] ^= 1;
    assert_int_equal(mempool_add_sig(&mp, &tx, &v, MEMPOOL_SIG_UNKNOWN, &why), QC_OK);

    /* full: not admissible; mempool_admissible counted none of the refusals above */
    make_tx(&tx, 3, 5, 100, CHAIN);
    assert_false(mempool_admissible(&mp, &tx, &v));
    assert_int_equal(mp.rejected[MEMPOOL_REJECT_SIGNATURE], 2);
    assert_int_equal(mp.rejected[MEMPOOL_REJECT_DUP_POOL], 1);
    assert_int_equal(mp.rejected[MEMPOOL_REJECT_FULL], 0);
    qc_tx_free(&tx);
    mempool_free(&mp);
}

static int setup(void **state) {
    (void)state;
    testkeys_validators(&g_vs, 9, 0);
    return 0;
}


/* The ledger of the lifecycle test: digest 0x11.. anchored by jinan, valid. */
static int one_record(void *ctx, const uint8_t digest[32], qc_recstat_t *out) {
    (void)ctx;
    uint8_t want[32];
    memset(want, 0x11, 32);
    if (memcmp(digest, want, 32) != 0) return QC_ERR_NOTFOUND;
    memset(out, 0, sizeof *out);
    memcpy(out->digest.b, digest, 32);
    strcpy(out->owner, "jinan");
    out->first_height = 1;
    return QC_OK;
}

static void life_tx(qc_tx_t *tx, uint16_t type, uint32_t member, uint64_t nonce, uint8_t d) {
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, member, &pk, &sk);
    qc_life_op_t op;
    memset(&op, 0, sizeof op);
    memset(op.digest.b, d, 32);
    memset(op.new_digest.b, d + 1, 32);
    op.code = 1;
    assert_int_equal(qc_life_tx_build(CHAIN, type, &sk, nonce, 100, &op, tx), QC_OK);
}

/* Lifecycle transactions are admitted against the head's statuses by the same rules exec
 * applies, with the rules' sentence; without a status lookup they are not accepted at all. */
static void test_lifecycle_admission(void **state) {
    (void)state;
    mempool_t mp;
    mempool_limits_t lim = {8, 1 << 20};
    assert_int_equal(mempool_init(&mp, &lim), QC_OK);
    char why_text[300] = "";
    mempool_view_t v = view_at(10);
    v.gov_why = why_text;
    v.gov_why_cap = sizeof why_text;
    mempool_reject_t why;
    qc_tx_t tx;
    life_tx(&tx, QC_TX_ENDORSE, 1, 1, 0x11);
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_ERR_INVALID);
    assert_int_equal(why, MEMPOOL_REJECT_TYPE);
    v.records = one_record;
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_OK);
    life_tx(&tx, QC_TX_REVOKE, 1, 2, 0x11);
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_ERR_STATE);
    assert_int_equal(why, MEMPOOL_REJECT_RECORD);
    assert_string_equal(why_text, "record 1111111111111111111111111111111111111111111111111111111111111111"
                                  " is owned by jinan; only its owner can revoke it");
    qc_tx_free(&tx);
    life_tx(&tx, QC_TX_ENDORSE, 2, 3, 0x22);
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_ERR_STATE);
    assert_non_null(strstr(why_text, "is not anchored"));
    qc_tx_free(&tx);
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_ADMIN, 0, &pk, &sk);
    qc_life_op_t op = {.code = 1};
    memset(op.digest.b, 0x11, 32);
    assert_int_equal(qc_life_tx_build(CHAIN, QC_TX_REVOKE, &sk, 4, 100, &op, &tx), QC_OK);
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_ERR_MEMBER);
    assert_int_equal(why, MEMPOOL_REJECT_MEMBER);
    qc_tx_free(&tx);
    life_tx(&tx, QC_TX_REVOKE, 0, 5, 0x11);
    assert_int_equal(mempool_add(&mp, &tx, &v, &why), QC_OK);
    assert_int_equal(mp.count, 2);
    assert_int_equal(mp.rejected[MEMPOOL_REJECT_RECORD], 2);
    mempool_free(&mp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caller_verified),
        cmocka_unit_test(test_admission_reasons),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_take_release_commit),
        cmocka_unit_test(test_resend),
        cmocka_unit_test(test_oldest_free_and_still_valid),
        cmocka_unit_test(test_verified_cache),
        cmocka_unit_test(test_churn_keeps_index_correct),
        cmocka_unit_test(test_lifecycle_admission),
    };
    return cmocka_run_group_tests_name("mempool", tests, setup, NULL);
}
