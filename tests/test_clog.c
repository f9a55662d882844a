/* test_clog.c - the per-city logs of docs/PROTOCOL.md §13.1-13.2 (node/state/clog): which
 * leaves each transaction type gives, in which order and to which city, that a city's frontier
 * root is the RFC 6962 root of its leaves, the state-map updates a block makes, and the sink
 * the store will write through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "clog.h"
#include "merkle.h"
#include "testkeys.h"

#define CHAIN "clog-test"

static void anchor(qc_tx_t *tx, uint32_t member, uint64_t nonce, uint8_t d, int records) {
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, member, &pk, &sk);
    qc_txb_t b;
    assert_int_equal(qc_txb_init(&b, CHAIN, &pk, nonce, 100), QC_OK);
    for (int r = 0; r < records; r++) {
        qc_hash_t h;
        memset(h.b, d + r, 32);
        assert_int_equal(qc_txb_add_record(&b, &h, "licence", NULL, NULL), QC_OK);
    }
    assert_int_equal(qc_txb_finish(&b, &sk, tx), QC_OK);
}

static void life(qc_tx_t *tx, uint16_t type, uint32_t member, uint64_t nonce, uint8_t d,
                 uint8_t nd) {
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, member, &pk, &sk);
    qc_life_op_t op;
    memset(&op, 0, sizeof op);
    memset(op.digest.b, d, 32);
    if (type == QC_TX_SUPERSEDE) memset(op.new_digest.b, nd, 32);
    op.code = 1;
    assert_int_equal(qc_life_tx_build(CHAIN, type, &sk, nonce, 100, &op, tx), QC_OK);
}

/* What the sink saw: every leaf by (city, index), and how many subtree hashes. */
typedef struct {
    char city[16][QC_MEMBER_NAME_MAX + 1];
    uint64_t index[16];
    qc_city_leaf_t leaf[16];
    size_t n;
    size_t nodes;
    int fail_at; /* leaf call number that fails (QC_ERR_IO), or -1 */
} seen_t;

static int sink_leaf(void *ctx, const char *city, uint64_t index, const qc_city_leaf_t *l) {
    seen_t *s = ctx;
    if ((int)s->n == s->fail_at) return QC_ERR_IO;
    assert_true(s->n < 16);
    strcpy(s->city[s->n], city);
    s->index[s->n] = index;
    s->leaf[s->n++] = *l;
    return QC_OK;
}

static int sink_node(void *ctx, const char *city, uint32_t level, uint64_t index,
                     const qc_hash_t *h) {
    (void)city; (void)level; (void)index; (void)h;
    ((seen_t *)ctx)->nodes++;
    return QC_OK;
}

static void leaf_expect(const seen_t *s, size_t i, const char *city, uint64_t index,
                        uint64_t height, const qc_tx_t *tx, uint16_t rec, uint8_t kind, uint8_t d) {
    assert_string_equal(s->city[i], city);
    assert_int_equal(s->index[i], index);
    assert_int_equal(s->leaf[i].height, height);
    assert_memory_equal(s->leaf[i].tx_id.b, tx->id.b, 32);
    assert_int_equal(s->leaf[i].index, rec);
    assert_int_equal(s->leaf[i].kind, kind);
    uint8_t want[32];
    memset(want, d, 32);
    assert_memory_equal(s->leaf[i].digest.b, want, 32);
}

/* Every type's leaves, to the signing city's log, in order; other types add nothing. */
static void test_leaves_per_type(void **state) {
    (void)state;
    qc_tx_t t[5];
    anchor(&t[0], 0, 1, 0x10, 2);                    /* jinan: 2 records */
    life(&t[1], QC_TX_ENDORSE, 1, 2, 0x10, 0);        /* zibo endorses */
    life(&t[2], QC_TX_REVOKE, 0, 3, 0x11, 0);         /* jinan revokes */
    life(&t[3], QC_TX_SUPERSEDE, 0, 4, 0x10, 0x20);   /* jinan supersedes */
    qc_gov_op_t op;
    memset(&op, 0, sizeof op);
    op.op = QC_GOV_APPROVE;
    qc_pubkey_t apk;
    qc_seckey_t ask;
    testkeys_keypair(TESTKEY_ADMIN, 0, &apk, &ask);
    assert_int_equal(qc_gov_tx_build(CHAIN, &ask, 5, 100, &op, &t[4]), QC_OK);
    const char *city[5] = {"jinan", "zibo", "jinan", "jinan", "jinan"};
    clog_set_t set = {0};
    seen_t seen = {.fail_at = -1};
    clog_sink_t sink = {sink_leaf, sink_node, &seen};
    for (int i = 0; i < 5; i++) assert_int_equal(clog_tx(&set, &t[i], city[i], 7, &sink), QC_OK);
    assert_int_equal(seen.n, 6);
    leaf_expect(&seen, 0, "jinan", 0, 7, &t[0], 0, QC_CITY_ANCHOR, 0x10);
    leaf_expect(&seen, 1, "jinan", 1, 7, &t[0], 1, QC_CITY_ANCHOR, 0x11);
    leaf_expect(&seen, 2, "zibo", 0, 7, &t[1], 0, QC_CITY_ENDORSE, 0x10);
    leaf_expect(&seen, 3, "jinan", 2, 7, &t[2], 0, QC_CITY_REVOKE, 0x11);
    leaf_expect(&seen, 4, "jinan", 3, 7, &t[3], 0, QC_CITY_SUPERSEDE_OLD, 0x10);
    leaf_expect(&seen, 5, "jinan", 4, 7, &t[3], 1, QC_CITY_SUPERSEDE_NEW, 0x20);
    assert_int_equal(set.n, 2);
    const clog_city_t *j = clog_find(&set, "jinan"), *z = clog_find(&set, "zibo");
    assert_non_null(j);
    assert_non_null(z);
    assert_null(clog_find(&set, "taian"));
    assert_int_equal(j->log.size, 5);
    assert_int_equal(z->log.size, 1);
    /* the frontier's root is the RFC 6962 root of the leaf hashes, and the sink got every
     * completed subtree: 5 leaves complete 5 + 2 + 1 = 8 subtrees, 1 leaf completes 1 */
    qc_hash_t lh[5], want, got;
    size_t k = 0;
    for (size_t i = 0; i < seen.n; i++)
        if (strcmp(seen.city[i], "jinan") == 0) qc_city_leaf_hash(&seen.leaf[i], &lh[k++]);
    merkle_root(&want, lh, 5);
    rlog_root(&j->log, &got);
    assert_memory_equal(want.b, got.b, 32);
    assert_int_equal(seen.nodes, 9);
    /* clog_tx_leaves (what the store replays from a block) gives the same leaves, in order,
     * and none for a GOVERN transaction */
    qc_city_leaf_t out[CLOG_TX_LEAVES_MAX];
    size_t n, at = 0;
    for (int i = 0; i < 5; i++) {
        clog_tx_leaves(&t[i], 7, out, &n);
        assert_int_equal(n, i == 0 || i == 3 ? 2 : i == 4 ? 0 : 1);
        for (size_t r = 0; r < n; r++, at++) { /* field by field: the struct has padding */
            qc_hash_t a, b;
            qc_city_leaf_hash(&out[r], &a);
            qc_city_leaf_hash(&seen.leaf[at], &b);
            assert_memory_equal(a.b, b.b, 32);
            assert_int_equal(out[r].kind, seen.leaf[at].kind);
        }
    }
    assert_int_equal(at, seen.n);
    clog_set_free(&set);
    for (int i = 0; i < 5; i++) qc_tx_free(&t[i]);
}

/* clog_finish: one replacing update per grown city, key and head as §13.2; then none until
 * a city grows again. */
static void test_finish_updates(void **state) {
    (void)state;
    qc_tx_t a, b;
    anchor(&a, 0, 1, 0x40, 3);
    anchor(&b, 2, 2, 0x50, 1);
    clog_set_t set = {0};
    assert_int_equal(clog_tx(&set, &a, "jinan", 1, NULL), QC_OK);
    assert_int_equal(clog_tx(&set, &b, "taian", 1, NULL), QC_OK);
    sblock_t sb = {0};
    assert_int_equal(clog_finish(&set, &sb), QC_OK);
    assert_int_equal(sb.n, 2);
    for (size_t i = 0; i < 2; i++) {
        const clog_city_t *c = &set.c[i];
        qc_hash_t key, root, head;
        qc_city_key(c->name, &key);
        rlog_root(&c->log, &root);
        qc_city_head(c->log.size, &root, &head);
        assert_memory_equal(sb.u[i].key.b, key.b, 32);
        assert_memory_equal(sb.u[i].value.b, head.b, 32);
        assert_false(sb.u[i].if_absent);
    }
    /* the city key of jinan and taian differ, and differ from any record's map key */
    assert_memory_not_equal(sb.u[0].key.b, sb.u[1].key.b, 32);
    sblock_reset(&sb);
    assert_int_equal(clog_finish(&set, &sb), QC_OK);
    assert_int_equal(sb.n, 0);
    /* a copy grows on its own; the original keeps its size */
    clog_set_t copy = {0};
    assert_int_equal(clog_set_copy(&copy, &set), QC_OK);
    assert_int_equal(clog_tx(&copy, &b, "taian", 2, NULL), QC_OK);
    assert_int_equal(clog_find(&copy, "taian")->log.size, 2);
    assert_int_equal(clog_find(&set, "taian")->log.size, 1);
    assert_int_equal(clog_finish(&copy, &sb), QC_OK);
    assert_int_equal(sb.n, 1);
    sblock_free(&sb);
    clog_set_free(&copy);
    clog_set_free(&set);
    qc_tx_free(&a);
    qc_tx_free(&b);
}

/* Refusals: a name that is not a member name; a sink's error stops the append. */
static void test_refusals(void **state) {
    (void)state;
    qc_tx_t a;
    anchor(&a, 0, 1, 0x60, 2);
    clog_set_t set = {0};
    assert_int_equal(clog_tx(&set, &a, "Not-A-Name", 1, NULL), QC_ERR_INVALID);
    assert_int_equal(set.n, 0);
    seen_t seen = {.fail_at = 1};
    clog_sink_t sink = {sink_leaf, NULL, &seen};
    assert_int_equal(clog_tx(&set, &a, "jinan", 1, &sink), QC_ERR_IO);
    assert_int_equal(clog_find(&set, "jinan")->log.size, 1); /* the first leaf went in */
    clog_set_free(&set);
    qc_tx_free(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaves_per_type),
        cmocka_unit_test(test_finish_updates),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
