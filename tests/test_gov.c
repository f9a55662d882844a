/* test_gov.c - holds the governance transaction format (proto/fmt_gov.c) and the governance
 * state machine (node/gov) to their contracts: strict parsing, who may propose and vote, when
 * a proposal passes, closes or switches the epoch, every safety rail with its sentence, the
 * set arithmetic of gov_result, the store codec and determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gov.h"
#include "govtest.h"
#include "testkeys.h"

#define CHAIN "qchain-gov-test"
#define TX_EXPIRY_HEIGHT 100000 /* the transactions' own expiry: far beyond every test height */
#define INTERVAL_BLOCKS 4       /* checkpoint interval of the test states */
#define WHY_CAP 256
#define LOG_MAX 64

/* ------------------------------------------------------------------ helpers */

/* Records seen by the gov_record_cb, in order. */
typedef struct {
    uint32_t count;
    gov_proposal_t recs[LOG_MAX];
} rec_log_t;

static void log_record(void *ctx, const gov_proposal_t *p) {
    rec_log_t *l = ctx;
    assert_true(l->count < LOG_MAX);
    l->recs[l->count++] = *p;
}

/* The last record the log saw for id, or NULL. */
static const gov_proposal_t *last_record(const rec_log_t *l, const qc_hash_t *id) {
    for (uint32_t i = l->count; i > 0; i--)
        if (memcmp(l->recs[i - 1].id.b, id->b, QC_HASH_BYTES) == 0) return &l->recs[i - 1];
    return NULL;
}

/* The info testkeys member i gets in the test states. */
static void member_info(gov_info_t *in, uint32_t i) {
    memset(in, 0, sizeof *in);
    snprintf(in->display_name, sizeof in->display_name, "City %u", i);
    snprintf(in->p2p_address, sizeof in->p2p_address, "127.0.0.1:%u", 27000 + i);
    snprintf(in->api_address, sizeof in->api_address, "127.0.0.1:%u", 28000 + i);
}

/* A heap state of the first n testkeys members (threshold qc_quorum(n)), epoch 0. Caller frees. */
static gov_state_t *state_new(uint32_t n) {
    qc_validator_set_t vs;
    testkeys_validators(&vs, n, 0);
    gov_info_t *info = calloc(QC_VALIDATORS_MAX, sizeof *info);
    gov_state_t *g = malloc(sizeof *g);
    assert_non_null(info);
    assert_non_null(g);
    for (uint32_t i = 0; i < n; i++) member_info(&info[i], i);
    gov_init(g, &vs, info, INTERVAL_BLOCKS);
    free(info);
    return g;
}

/* A GOVERN transaction by testkeys admin `admin`; asserts it builds. */
static void mk_tx(uint32_t admin, uint64_t nonce, const qc_gov_op_t *op, qc_tx_t *tx) {
    assert_int_equal(govtest_tx(CHAIN, admin, nonce, TX_EXPIRY_HEIGHT, op, tx), QC_OK);
}

static void mk_propose(uint32_t admin, uint64_t nonce, const qc_change_t *changes, uint8_t count,
                       uint64_t vote_expiry_height, qc_tx_t *tx) {
    qc_gov_op_t *op = calloc(1, sizeof *op);
    assert_non_null(op);
    op->op = QC_GOV_PROPOSE;
    op->vote_expiry_height = vote_expiry_height;
    op->change_count = count;
    memcpy(op->changes, changes, sizeof *changes * count);
    mk_tx(admin, nonce, op, tx);
    free(op);
}

static void mk_vote(uint8_t kind, uint32_t admin, uint64_t nonce, const qc_hash_t *proposal,
                    qc_tx_t *tx) {
    qc_gov_op_t *op = calloc(1, sizeof *op);
    assert_non_null(op);
    op->op = kind;
    op->proposal = *proposal;
    mk_tx(admin, nonce, op, tx);
    free(op);
}

/* gov_check, then gov_apply when it allowed tx; returns gov_check's result. */
static int check_apply(gov_state_t *g, const qc_tx_t *tx, uint64_t height, rec_log_t *log) {
    char why[WHY_CAP] = "";
    int rc = gov_check(g, tx, height, why, sizeof why);
    if (rc == QC_OK) gov_apply(g, tx, height, log ? log_record : NULL, log);
    return rc;
}

/* A one-change proposal's gov_check result on g at height 10; why gets the sentence. */
static int check_changes(const gov_state_t *g, const qc_change_t *changes, uint8_t count,
                         char *why) {
    qc_tx_t tx;
    mk_propose(0, 999, changes, count, 100, &tx);
    why[0] = '\0';
    int rc = gov_check(g, &tx, 10, why, WHY_CAP);
    qc_tx_free(&tx);
    return rc;
}

static void change_rotate(qc_change_t *c, const char *name, uint8_t role, const qc_pubkey_t *k) {
    memset(c, 0, sizeof *c);
    c->kind = QC_CHANGE_ROTATE;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->role = role;
    c->new_key = *k;
}

static void change_addresses(qc_change_t *c, const char *name, const char *p2p, const char *api) {
    memset(c, 0, sizeof *c);
    c->kind = QC_CHANGE_ADDRESSES;
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->p2p_address, sizeof c->p2p_address, "%s", p2p);
    snprintf(c->api_address, sizeof c->api_address, "%s", api);
}

static qc_pubkey_t fresh_key(uint32_t index) {
    qc_pubkey_t k;
    testkeys_keypair(TESTKEY_NODE, index, &k, NULL);
    return k;
}

/* One change of each kind, valid on the 4-member state. */
static void all_kinds(qc_change_t c[5]) {
    qc_pubkey_t k = fresh_key(40);
    govtest_change_add(&c[0], 4);
    govtest_change_remove(&c[1], "zibo");
    change_rotate(&c[2], "taian", QC_ROLE_SEAL, &k);
    change_addresses(&c[3], "liaocheng", "10.0.0.3:7000", "10.0.0.3:8000");
    govtest_change_threshold(&c[4], 3);
}

/* qc_tx_parse's verdict on body (freeing what it parsed). */
static int parse_rc(const uint8_t *body, size_t len) {
    qc_sig_t sig;
    memset(&sig, 0, sizeof sig);
    qc_tx_t tx;
    int rc = qc_tx_parse(body, len, &sig, &tx);
    if (rc == QC_OK) qc_tx_free(&tx);
    return rc;
}

/* qc_gov_tx_build's verdict on op by admin 0. */
static int build_rc(const qc_gov_op_t *op) {
    qc_tx_t tx;
    int rc = govtest_tx(CHAIN, 0, 1, TX_EXPIRY_HEIGHT, op, &tx);
    if (rc == QC_OK) qc_tx_free(&tx);
    return rc;
}

/* ------------------------------------------------------------------ format */

static void assert_round_trip(const qc_gov_op_t *op) {
    qc_tx_t tx, again;
    mk_tx(3, 77, op, &tx);
    assert_int_equal(tx.type, QC_TX_GOVERN);
    assert_int_equal(qc_tx_verify_sig(&tx), QC_OK);
    assert_int_equal(tx.nonce, 77);
    assert_int_equal(tx.expiry_height, TX_EXPIRY_HEIGHT);
    assert_non_null(tx.gov);
    assert_memory_equal(tx.gov, op, sizeof *op);
    assert_int_equal(qc_tx_parse(tx.body, tx.body_len, &tx.sig, &again), QC_OK);
    assert_memory_equal(again.id.b, tx.id.b, QC_HASH_BYTES);
    assert_memory_equal(again.gov, op, sizeof *op);
    qc_tx_free(&again);
    qc_tx_free(&tx);
}

static void test_format_round_trip(void **state) {
    (void)state;
    qc_gov_op_t *op = calloc(1, sizeof *op);
    assert_non_null(op);
    qc_change_t c[5];
    all_kinds(c);
    op->op = QC_GOV_PROPOSE;
    op->vote_expiry_height = 123456;
    op->change_count = 5;
    memcpy(op->changes, c, sizeof c);
    assert_round_trip(op);
    for (int k = 0; k < 5; k++) { /* each kind alone */
        memset(op, 0, sizeof *op);
        op->op = QC_GOV_PROPOSE;
        op->vote_expiry_height = 9;
        op->change_count = 1;
        op->changes[0] = c[k];
        assert_round_trip(op);
    }
    for (uint8_t r = QC_ROLE_NODE; r <= QC_ROLE_ADMIN; r++) { /* each rotated role */
        memset(op, 0, sizeof *op);
        op->op = QC_GOV_PROPOSE;
        op->change_count = 1;
        qc_pubkey_t k = fresh_key(41);
        change_rotate(&op->changes[0], "jinan", r, &k);
        assert_round_trip(op);
    }
    memset(op, 0, sizeof *op); /* the most changes allowed */
    op->op = QC_GOV_PROPOSE;
    op->change_count = QC_GOV_CHANGES_MAX;
    for (int i = 0; i < QC_GOV_CHANGES_MAX; i++) govtest_change_threshold(&op->changes[i], (uint16_t)(i + 1));
    assert_round_trip(op);
    for (uint8_t v = QC_GOV_APPROVE; v <= QC_GOV_WITHDRAW; v++) {
        memset(op, 0, sizeof *op);
        op->op = v;
        for (int i = 0; i < QC_HASH_BYTES; i++) op->proposal.b[i] = (uint8_t)(i * 7 + v);
        assert_round_trip(op);
    }
    free(op);
}

/* A one-change PROPOSE op with c. */
static int build_one(const qc_change_t *c) {
    qc_gov_op_t *op = calloc(1, sizeof *op);
    assert_non_null(op);
    op->op = QC_GOV_PROPOSE;
    op->vote_expiry_height = 50;
    op->change_count = 1;
    op->changes[0] = *c;
    int rc = build_rc(op);
    free(op);
    return rc;
}

static void test_format_refuses_fields(void **state) {
    (void)state;
    qc_change_t c;
    /* unknown ops */
    qc_gov_op_t *op = calloc(1, sizeof *op);
    assert_non_null(op);
    op->op = 0;
    assert_int_equal(build_rc(op), QC_ERR_INVALID);
    op->op = QC_GOV_WITHDRAW + 1;
    assert_int_equal(build_rc(op), QC_ERR_INVALID);
    /* 0 changes, QC_GOV_CHANGES_MAX + 1 (the builder writes the count byte as given) */
    op->op = QC_GOV_PROPOSE;
    op->change_count = 0;
    assert_int_equal(build_rc(op), QC_ERR_INVALID);
    op->change_count = QC_GOV_CHANGES_MAX + 1;
    for (int i = 0; i < QC_GOV_CHANGES_MAX; i++) govtest_change_threshold(&op->changes[i], 2);
    assert_int_equal(build_rc(op), QC_ERR_INVALID);
    free(op);
    /* unknown kinds and roles */
    govtest_change_threshold(&c, 2);
    assert_int_equal(build_one(&c), QC_OK);
    c.kind = 0;
    assert_int_equal(build_one(&c), QC_ERR_INVALID);
    c.kind = QC_CHANGE_THRESHOLD + 1;
    assert_int_equal(build_one(&c), QC_ERR_INVALID);
    qc_pubkey_t k = fresh_key(42);
    change_rotate(&c, "jinan", 0, &k);
    assert_int_equal(build_one(&c), QC_ERR_INVALID);
    change_rotate(&c, "jinan", QC_ROLE_ADMIN + 1, &k);
    assert_int_equal(build_one(&c), QC_ERR_INVALID);
    /* member names */
    static const char *const bad_names[] = {"", "Jinan", "-jinan", "jinan-", "ji nan", "ji_nan",
                                            "ji\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        govtest_change_remove(&c, bad_names[i]);
        assert_int_equal(build_one(&c), QC_ERR_INVALID);
        change_addresses(&c, bad_names[i], "10.0.0.1:7000", "10.0.0.1:8000");
        assert_int_equal(build_one(&c), QC_ERR_INVALID);
    }
    govtest_change_remove(&c, "a-b-3");
    assert_int_equal(build_one(&c), QC_OK);
    /* display names */
    static const char *const bad_display[] = {"", "City\x01", "City\x1f", "City\x7f", "\xff\xfe",
                                              "\xc3", "\xe6\xb5"};
    for (size_t i = 0; i < sizeof bad_display / sizeof bad_display[0]; i++) {
        govtest_change_add(&c, 4);
        snprintf(c.display_name, sizeof c.display_name, "%s", bad_display[i]);
        assert_int_equal(build_one(&c), QC_ERR_INVALID);
    }
    govtest_change_add(&c, 4);
    snprintf(c.display_name, sizeof c.display_name, "%s", "\xe6\xb5\x8e\xe5\x8d\x97 City"); /* 济南 */
    assert_int_equal(build_one(&c), QC_OK);
    /* addresses, in ADD and ADDRESSES */
    static const char *const bad_addr[] = {"", "10.0.0.1 :7000", "10.0.0.1:7000 ", "a\tb:1", "x\x7f:1"};
    for (size_t i = 0; i < sizeof bad_addr / sizeof bad_addr[0]; i++) {
        govtest_change_add(&c, 4);
        snprintf(c.p2p_address, sizeof c.p2p_address, "%s", bad_addr[i]);
        assert_int_equal(build_one(&c), QC_ERR_INVALID);
        change_addresses(&c, "zibo", "10.0.0.1:7000", bad_addr[i]);
        assert_int_equal(build_one(&c), QC_ERR_INVALID);
    }
    change_addresses(&c, "zibo", "10.0.0.1:7000", "node.example:8000");
    assert_int_equal(build_one(&c), QC_OK);
    /* thresholds */
    govtest_change_threshold(&c, 0);
    assert_int_equal(build_one(&c), QC_ERR_INVALID);
    govtest_change_threshold(&c, QC_VALIDATORS_MAX + 1);
    assert_int_equal(build_one(&c), QC_ERR_INVALID);
    govtest_change_threshold(&c, QC_VALIDATORS_MAX);
    assert_int_equal(build_one(&c), QC_OK);
}

/* A valid body built from op (admin 0), malloc'd copy in *body. */
static size_t body_of(const qc_gov_op_t *op, uint8_t **body) {
    qc_tx_t tx;
    mk_tx(0, 5, op, &tx);
    *body = malloc(tx.body_len + 64);
    assert_non_null(*body);
    memcpy(*body, tx.body, tx.body_len);
    size_t len = tx.body_len;
    qc_tx_free(&tx);
    return len;
}

/* The raw bytes: counts, kinds and roles the builder would not write, trailing bytes, and
 * every truncation. Offsets are taken from the end of the body (docs/PROTOCOL.md §3). */
static void test_format_refuses_bytes(void **state) {
    (void)state;
    qc_gov_op_t *op = calloc(1, sizeof *op);
    assert_non_null(op);
    uint8_t *b;
    /* 8 THRESHOLD changes (3 bytes each): the count byte precedes them */
    op->op = QC_GOV_PROPOSE;
    op->change_count = QC_GOV_CHANGES_MAX;
    for (int i = 0; i < QC_GOV_CHANGES_MAX; i++) govtest_change_threshold(&op->changes[i], 3);
    size_t len = body_of(op, &b);
    size_t count_at = len - 3 * QC_GOV_CHANGES_MAX - 1;
    assert_int_equal(b[count_at], QC_GOV_CHANGES_MAX);
    assert_int_equal(parse_rc(b, len), QC_OK);
    assert_int_equal(parse_rc(b, len - 1), QC_ERR_INVALID);
    b[len - 3] = 0; /* last change's kind */
    assert_int_equal(parse_rc(b, len), QC_ERR_INVALID);
    b[len - 3] = QC_CHANGE_THRESHOLD + 1;
    assert_int_equal(parse_rc(b, len), QC_ERR_INVALID);
    b[len - 3] = QC_CHANGE_THRESHOLD;
    b[len - 1] = 0; /* threshold 0 */
    assert_int_equal(parse_rc(b, len), QC_ERR_INVALID);
    b[len - 1] = 3;
    b[count_at] = QC_GOV_CHANGES_MAX - 1; /* 7 changes: a valid body once the 8th is dropped */
    assert_int_equal(parse_rc(b, len - 3), QC_OK);
    assert_int_equal(parse_rc(b, len), QC_ERR_INVALID); /* the 8th is now trailing */
    b[count_at] = QC_GOV_CHANGES_MAX + 1; /* 9 complete changes */
    memcpy(b + len, b + len - 3, 3);
    assert_int_equal(parse_rc(b, len + 3), QC_ERR_INVALID);
    b[count_at] = 0;
    assert_int_equal(parse_rc(b, count_at + 1), QC_ERR_INVALID);
    free(b);
    /* ROTATE: role byte then 32 key bytes end the body */
    memset(op, 0, sizeof *op);
    op->op = QC_GOV_PROPOSE;
    op->change_count = 1;
    qc_pubkey_t k = fresh_key(43);
    change_rotate(&op->changes[0], "jinan", QC_ROLE_NODE, &k);
    len = body_of(op, &b);
    assert_int_equal(b[len - 33], QC_ROLE_NODE);
    b[len - 33] = QC_ROLE_SEAL;
    assert_int_equal(parse_rc(b, len), QC_OK);
    b[len - 33] = 0;
    assert_int_equal(parse_rc(b, len), QC_ERR_INVALID);
    b[len - 33] = QC_ROLE_ADMIN + 1;
    assert_int_equal(parse_rc(b, len), QC_ERR_INVALID);
    free(b);
    /* votes: the op byte precedes the 32-byte proposal id */
    memset(op, 0, sizeof *op);
    op->op = QC_GOV_APPROVE;
    len = body_of(op, &b);
    assert_int_equal(b[len - 33], QC_GOV_APPROVE);
    b[len - 33] = QC_GOV_REJECT;
    assert_int_equal(parse_rc(b, len), QC_OK);
    b[len - 33] = 0;
    assert_int_equal(parse_rc(b, len), QC_ERR_INVALID);
    b[len - 33] = QC_GOV_WITHDRAW + 1;
    assert_int_equal(parse_rc(b, len), QC_ERR_INVALID);
    b[len - 33] = QC_GOV_APPROVE;
    b[len] = 0; /* trailing byte */
    assert_int_equal(parse_rc(b, len + 1), QC_ERR_INVALID);
    for (size_t cut = 0; cut < len; cut++) assert_int_equal(parse_rc(b, cut), QC_ERR_INVALID);
    free(b);
    /* REMOVE of an over-long name: the name's length byte is the 33rd byte from the end */
    memset(op, 0, sizeof *op);
    op->op = QC_GOV_PROPOSE;
    op->change_count = 1;
    govtest_change_remove(&op->changes[0], "abcdefghijklmnopqrstuvwxyz012345"); /* 32: the most */
    len = body_of(op, &b);
    assert_int_equal(b[len - 33], QC_MEMBER_NAME_MAX);
    b[len - 33] = QC_MEMBER_NAME_MAX + 1;
    b[len] = 'x';
    assert_int_equal(parse_rc(b, len + 1), QC_ERR_INVALID);
    free(b);
    /* every prefix of a proposal with every kind, and the same with a trailing byte */
    memset(op, 0, sizeof *op);
    op->op = QC_GOV_PROPOSE;
    op->vote_expiry_height = 77;
    op->change_count = 5;
    all_kinds(op->changes);
    len = body_of(op, &b);
    assert_int_equal(parse_rc(b, len), QC_OK);
    for (size_t cut = 0; cut < len; cut++) assert_int_equal(parse_rc(b, cut), QC_ERR_INVALID);
    b[len] = 0;
    assert_int_equal(parse_rc(b, len + 1), QC_ERR_INVALID);
    free(b);
    free(op);
}

/* ------------------------------------------------------------------ rules */

static void test_propose_approve_switch(void **state) {
    (void)state;
    gov_state_t *g = state_new(4);
    rec_log_t *log = calloc(1, sizeof *log);
    assert_non_null(log);
    assert_int_equal(g->vs.governance_threshold, 3);
    qc_change_t add;
    govtest_change_add(&add, 4);
    qc_tx_t pa, pb, v1, v1again, v2;
    mk_propose(0, 1, &add, 1, 100, &pa);
    qc_change_t thr;
    govtest_change_threshold(&thr, 4);
    mk_propose(3, 1, &thr, 1, 100, &pb);
    assert_int_equal(check_apply(g, &pa, 5, log), QC_OK);
    assert_int_equal(check_apply(g, &pb, 5, log), QC_OK);
    assert_int_equal(g->open_count, 2);
    const gov_proposal_t *p = gov_find_open(g, &pa.id);
    assert_non_null(p);
    assert_int_equal(p->approvals, 1u << 0); /* PROPOSE is the proposer's approval */
    assert_int_equal(p->proposer, 0);
    assert_int_equal(p->status, GOV_OPEN);
    assert_int_equal(log->count, 2);
    assert_int_equal(last_record(log, &pa.id)->status, GOV_OPEN);
    /* the proposer approving again is a duplicate */
    qc_tx_t self;
    mk_vote(QC_GOV_APPROVE, 0, 2, &pa.id, &self);
    assert_int_equal(check_apply(g, &self, 5, log), QC_ERR_DUPLICATE);
    mk_vote(QC_GOV_APPROVE, 1, 2, &pa.id, &v1);
    assert_int_equal(check_apply(g, &v1, 6, log), QC_OK);
    assert_int_equal(gov_find_open(g, &pa.id)->approvals, 0x3);
    assert_false(g->waiting);
    mk_vote(QC_GOV_APPROVE, 1, 3, &pa.id, &v1again); /* same city, another transaction */
    assert_int_equal(check_apply(g, &v1again, 6, log), QC_ERR_DUPLICATE);
    assert_int_equal(check_apply(g, &v1, 6, log), QC_ERR_DUPLICATE); /* the same one again */
    qc_hash_t h;
    bool changed = true;
    assert_false(gov_end_block(g, 6, &h, &changed, log_record, log));
    assert_false(changed);
    qc_hash_t zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(h.b, zero.b, QC_HASH_BYTES);
    mk_vote(QC_GOV_APPROVE, 2, 2, &pa.id, &v2);
    assert_int_equal(check_apply(g, &v2, 7, log), QC_OK); /* the third distinct city */
    assert_true(g->waiting);
    assert_int_equal(g->switch_height, 8);
    assert_null(gov_find_open(g, &pa.id));
    assert_int_equal(g->open_count, 1);
    const gov_proposal_t *r = last_record(log, &pa.id);
    assert_int_equal(r->status, GOV_PASSED);
    assert_int_equal(r->closed_height, 7);
    assert_int_equal(r->effective_height, 9);
    assert_int_equal(g->passed.status, GOV_PASSED);
    assert_int_equal(g->next_vs.epoch, 1);
    /* while it waits: no proposing, no approving; rejecting is allowed */
    qc_tx_t p2, ab, rb;
    mk_propose(1, 9, &thr, 1, 100, &p2);
    assert_int_equal(check_apply(g, &p2, 7, log), QC_ERR_STATE);
    mk_vote(QC_GOV_APPROVE, 0, 9, &pb.id, &ab);
    assert_int_equal(check_apply(g, &ab, 7, log), QC_ERR_STATE);
    mk_vote(QC_GOV_REJECT, 0, 10, &pb.id, &rb);
    assert_int_equal(check_apply(g, &rb, 7, log), QC_OK);
    assert_int_equal(gov_find_open(g, &pb.id)->rejections, 1u << 0);
    /* approving after rejecting is a duplicate */
    assert_int_equal(check_apply(g, &ab, 7, log), QC_ERR_DUPLICATE);
    assert_false(gov_end_block(g, 7, &h, &changed, log_record, log));
    assert_int_equal(g->vs.epoch, 0);
    /* the switch, exactly at switch_height */
    assert_true(gov_end_block(g, 8, &h, &changed, log_record, log));
    assert_true(changed);
    qc_validator_set_t want;
    testkeys_validators(&want, 5, 1);
    want.governance_threshold = 3;
    qc_hash_t want_hash;
    qc_validators_hash(&want, &want_hash);
    assert_memory_equal(h.b, want_hash.b, QC_HASH_BYTES);
    assert_int_equal(g->vs.epoch, 1);
    assert_int_equal(g->vs.n, 5);
    assert_memory_equal(&g->vs, &want, sizeof want);
    assert_string_equal(g->info[4].p2p_address, add.p2p_address);
    assert_string_equal(g->info[4].display_name, "City 4");
    assert_string_equal(g->info[0].p2p_address, "127.0.0.1:27000");
    assert_false(g->waiting);
    assert_int_equal(g->switch_height, 0);
    assert_int_equal(g->open_count, 0);
    assert_int_equal(last_record(log, &pb.id)->status, GOV_SUPERSEDED);
    assert_int_equal(last_record(log, &pb.id)->closed_height, 8);
    r = last_record(log, &pa.id);
    assert_int_equal(r->status, GOV_ENACTED);
    assert_int_equal(r->effective_height, 9);
    assert_false(gov_end_block(g, 12, &h, &changed, log_record, log)); /* once only */
    /* the new member is an admin now; a vote on the enacted proposal finds nothing */
    qc_tx_t p4, late;
    mk_propose(4, 1, &thr, 1, 100, &p4);
    assert_int_equal(check_apply(g, &p4, 9, log), QC_OK);
    assert_int_equal(gov_find_open(g, &p4.id)->proposer, 4);
    mk_vote(QC_GOV_APPROVE, 3, 20, &pa.id, &late);
    assert_int_equal(check_apply(g, &late, 9, log), QC_ERR_NOTFOUND);
    qc_tx_t *all[] = {&pa, &pb, &v1, &v1again, &v2, &self, &p2, &ab, &rb, &p4, &late};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) qc_tx_free(all[i]);
    free(log);
    free(g);
}

/* A proposal that passes on a checkpoint boundary switches in the same block. */
static void test_pass_on_boundary(void **state) {
    (void)state;
    gov_state_t *g = state_new(4);
    qc_change_t thr;
    govtest_change_threshold(&thr, 4);
    qc_tx_t p, a1, a2;
    mk_propose(2, 1, &thr, 1, 100, &p);
    mk_vote(QC_GOV_APPROVE, 1, 1, &p.id, &a1);
    mk_vote(QC_GOV_APPROVE, 3, 1, &p.id, &a2);
    assert_int_equal(check_apply(g, &p, 3, NULL), QC_OK);
    assert_int_equal(check_apply(g, &a1, 4, NULL), QC_OK);
    assert_int_equal(check_apply(g, &a2, 8, NULL), QC_OK);
    assert_true(g->waiting);
    assert_int_equal(g->switch_height, 8);
    qc_hash_t h;
    assert_true(gov_end_block(g, 8, &h, NULL, NULL, NULL));
    assert_int_equal(g->vs.governance_threshold, 4);
    assert_int_equal(g->vs.epoch, 1);
    qc_tx_free(&p);
    qc_tx_free(&a1);
    qc_tx_free(&a2);
    free(g);
}

static void test_signers_and_withdraw(void **state) {
    (void)state;
    gov_state_t *g = state_new(4);
    rec_log_t *log = calloc(1, sizeof *log);
    assert_non_null(log);
    qc_change_t thr;
    govtest_change_threshold(&thr, 2);
    qc_gov_op_t *op = calloc(1, sizeof *op);
    assert_non_null(op);
    op->op = QC_GOV_PROPOSE;
    op->vote_expiry_height = 50;
    op->change_count = 1;
    op->changes[0] = thr;
    char why[WHY_CAP];
    qc_seckey_t sks[3];
    testkeys_keypair(TESTKEY_SEAL, 1, NULL, &sks[0]);
    testkeys_keypair(TESTKEY_NODE, 1, NULL, &sks[1]);
    testkeys_keypair(TESTKEY_ADMIN, 40, NULL, &sks[2]); /* not a member's */
    qc_tx_t p;
    mk_propose(1, 1, &thr, 1, 50, &p);
    assert_int_equal(check_apply(g, &p, 2, log), QC_OK);
    for (int s = 0; s < 3; s++) {
        qc_tx_t tx;
        op->op = QC_GOV_PROPOSE;
        assert_int_equal(qc_gov_tx_build(CHAIN, &sks[s], 1, TX_EXPIRY_HEIGHT, op, &tx), QC_OK);
        assert_int_equal(gov_check(g, &tx, 2, why, sizeof why), QC_ERR_MEMBER);
        assert_non_null(strstr(why, "admin key"));
        qc_tx_free(&tx);
        qc_gov_op_t vote = {.op = QC_GOV_APPROVE, .proposal = p.id};
        assert_int_equal(qc_gov_tx_build(CHAIN, &sks[s], 2, TX_EXPIRY_HEIGHT, &vote, &tx), QC_OK);
        assert_int_equal(gov_check(g, &tx, 2, why, sizeof why), QC_ERR_MEMBER);
        qc_tx_free(&tx);
    }
    free(op);
    qc_tx_t w0, w1, after;
    mk_vote(QC_GOV_WITHDRAW, 0, 1, &p.id, &w0);
    assert_int_equal(gov_check(g, &w0, 3, why, sizeof why), QC_ERR_MEMBER);
    assert_non_null(strstr(why, "only zibo"));
    mk_vote(QC_GOV_WITHDRAW, 1, 2, &p.id, &w1);
    assert_int_equal(check_apply(g, &w1, 3, log), QC_OK);
    assert_int_equal(g->open_count, 0);
    assert_int_equal(last_record(log, &p.id)->status, GOV_WITHDRAWN);
    assert_int_equal(last_record(log, &p.id)->closed_height, 3);
    mk_vote(QC_GOV_APPROVE, 2, 1, &p.id, &after);
    assert_int_equal(gov_check(g, &after, 4, why, sizeof why), QC_ERR_NOTFOUND);
    /* not a GOVERN transaction at all */
    qc_txb_t b;
    qc_pubkey_t spk;
    qc_seckey_t ssk;
    testkeys_keypair(TESTKEY_SEAL, 0, &spk, &ssk);
    assert_int_equal(qc_txb_init(&b, CHAIN, &spk, 1, 100), QC_OK);
    qc_hash_t d;
    memset(&d, 7, sizeof d);
    assert_int_equal(qc_txb_add_record(&b, &d, "licence", NULL, NULL), QC_OK);
    qc_tx_t anchor;
    assert_int_equal(qc_txb_finish(&b, &ssk, &anchor), QC_OK);
    assert_int_equal(gov_check(g, &anchor, 4, why, sizeof why), QC_ERR_INVALID);
    qc_tx_free(&anchor);
    qc_tx_free(&p);
    qc_tx_free(&w0);
    qc_tx_free(&w1);
    qc_tx_free(&after);
    free(log);
    free(g);
}

static void test_expiry(void **state) {
    (void)state;
    gov_state_t *g = state_new(4);
    rec_log_t *log = calloc(1, sizeof *log);
    assert_non_null(log);
    qc_change_t thr, thr2;
    govtest_change_threshold(&thr, 2);
    govtest_change_threshold(&thr2, 4);
    qc_tx_t p, q, late, on_time;
    mk_propose(0, 1, &thr, 1, 10, &p);
    mk_propose(1, 1, &thr2, 1, 30, &q);
    assert_int_equal(check_apply(g, &p, 1, log), QC_OK);
    assert_int_equal(check_apply(g, &q, 1, log), QC_OK);
    mk_vote(QC_GOV_APPROVE, 1, 2, &p.id, &on_time);
    mk_vote(QC_GOV_APPROVE, 2, 2, &p.id, &late);
    char why[WHY_CAP];
    assert_int_equal(gov_check(g, &late, 11, why, sizeof why), QC_ERR_EXPIRED);
    assert_non_null(strstr(why, "expired at block 10"));
    assert_int_equal(check_apply(g, &on_time, 10, log), QC_OK); /* at the expiry height: allowed */
    qc_hash_t h;
    bool changed = true;
    assert_false(gov_end_block(g, 9, &h, &changed, log_record, log));
    assert_false(changed);
    assert_non_null(gov_find_open(g, &p.id));
    assert_false(gov_end_block(g, 10, &h, &changed, log_record, log));
    assert_true(changed);
    assert_null(gov_find_open(g, &p.id));
    assert_non_null(gov_find_open(g, &q.id));
    assert_int_equal(g->open_count, 1);
    const gov_proposal_t *r = last_record(log, &p.id);
    assert_int_equal(r->status, GOV_EXPIRED);
    assert_int_equal(r->closed_height, 10);
    assert_int_equal(r->approvals, 0x3);
    assert_int_equal(gov_check(g, &late, 10, why, sizeof why), QC_ERR_NOTFOUND);
    qc_tx_free(&p);
    qc_tx_free(&q);
    qc_tx_free(&late);
    qc_tx_free(&on_time);
    free(log);
    free(g);
}

static void test_full_and_rejected(void **state) {
    (void)state;
    gov_state_t *g = state_new(4);
    rec_log_t *log = calloc(1, sizeof *log);
    assert_non_null(log);
    qc_change_t thr;
    govtest_change_threshold(&thr, 4);
    qc_tx_t p[GOV_PROPOSALS_MAX + 1];
    for (uint32_t i = 0; i <= GOV_PROPOSALS_MAX; i++) mk_propose(i % 4, 100 + i, &thr, 1, 50, &p[i]);
    for (uint32_t i = 0; i < GOV_PROPOSALS_MAX; i++) assert_int_equal(check_apply(g, &p[i], 2, log), QC_OK);
    assert_int_equal(g->open_count, GOV_PROPOSALS_MAX);
    char why[WHY_CAP];
    assert_int_equal(gov_check(g, &p[GOV_PROPOSALS_MAX], 2, why, sizeof why), QC_ERR_FULL);
    /* n = 4, threshold 3: one rejection leaves it able to pass, a second does not */
    qc_tx_t r1, r2, a2;
    mk_vote(QC_GOV_REJECT, 1, 1, &p[0].id, &r1);
    mk_vote(QC_GOV_REJECT, 2, 1, &p[0].id, &r2);
    mk_vote(QC_GOV_APPROVE, 2, 2, &p[0].id, &a2);
    assert_int_equal(check_apply(g, &r1, 3, log), QC_OK);
    assert_int_equal(last_record(log, &p[0].id)->status, GOV_OPEN);
    assert_int_equal(check_apply(g, &r1, 3, log), QC_ERR_DUPLICATE);
    assert_int_equal(check_apply(g, &r2, 3, log), QC_OK);
    const gov_proposal_t *r = last_record(log, &p[0].id);
    assert_int_equal(r->status, GOV_REJECTED);
    assert_int_equal(r->rejections, 0x6);
    assert_int_equal(r->closed_height, 3);
    assert_null(gov_find_open(g, &p[0].id));
    assert_int_equal(gov_check(g, &a2, 3, why, sizeof why), QC_ERR_NOTFOUND);
    /* room again */
    assert_int_equal(check_apply(g, &p[GOV_PROPOSALS_MAX], 3, log), QC_OK);
    for (uint32_t i = 0; i <= GOV_PROPOSALS_MAX; i++) qc_tx_free(&p[i]);
    qc_tx_free(&r1);
    qc_tx_free(&r2);
    qc_tx_free(&a2);
    free(log);
    free(g);
}

/* Asserts a proposal of changes is refused with rc and a sentence holding phrase. */
static void assert_rail(const gov_state_t *g, const qc_change_t *changes, uint8_t count, int rc,
                        const char *phrase) {
    char why[WHY_CAP];
    assert_int_equal(check_changes(g, changes, count, why), rc);
    if (strstr(why, phrase) == NULL) fail_msg("\"%s\" does not say \"%s\"", why, phrase);
}

static void test_safety_rails(void **state) {
    (void)state;
    gov_state_t *g = state_new(4);
    char why[WHY_CAP];
    qc_change_t c[3];
    govtest_change_remove(&c[0], "heze"); /* not a member of the 4 */
    assert_rail(g, c, 1, QC_ERR_STATE, "no member city is named \"heze\"");
    govtest_change_remove(&c[0], "zibo");
    assert_rail(g, c, 1, QC_ERR_STATE, "at least 4 are needed");
    govtest_change_threshold(&c[0], 5);
    assert_rail(g, c, 1, QC_ERR_STATE, "would exceed the 4 members");
    govtest_change_add(&c[1], 4); /* ... unless the same proposal adds a fifth */
    assert_int_equal(check_changes(g, c, 2, why), QC_OK);
    govtest_change_add(&c[0], 4);
    snprintf(c[0].name, sizeof c[0].name, "taian");
    assert_rail(g, c, 1, QC_ERR_STATE, "already named \"taian\"");
    govtest_change_add(&c[0], 4);
    assert_int_equal(check_changes(g, c, 1, why), QC_OK);
    c[0].seal_key = g->vs.members[0].admin_key; /* a new member reusing jinan's admin key */
    assert_rail(g, c, 1, QC_ERR_STATE, "every key must be distinct");
    govtest_change_add(&c[0], 4);
    c[0].admin_key = c[0].node_key; /* its own key twice */
    assert_rail(g, c, 1, QC_ERR_STATE, "every key must be distinct");
    change_rotate(&c[0], "zibo", QC_ROLE_ADMIN, &g->vs.members[2].node_key);
    assert_rail(g, c, 1, QC_ERR_STATE, "every key must be distinct");
    change_rotate(&c[0], "zibo", QC_ROLE_SEAL, &g->vs.members[1].seal_key); /* to its own key */
    assert_rail(g, c, 1, QC_ERR_INVALID, "is already that key"); /* a no-op forces no epoch */
    qc_pubkey_t identity;
    memset(&identity, 0, sizeof identity);
    identity.b[0] = 1; /* the neutral element: small order, refused as a key */
    govtest_change_add(&c[0], 4);
    c[0].node_key = identity;
    assert_rail(g, c, 1, QC_ERR_INVALID, "not a valid Ed25519 public key");
    change_rotate(&c[0], "liaocheng", QC_ROLE_SEAL, &identity);
    assert_rail(g, c, 1, QC_ERR_INVALID, "not a valid Ed25519 public key");
    static const char *const bad_addr[] = {"localhost", "10.0.0.1:0", "10.0.0.1:65536", ":80",
                                           "10.0.0.1:080"};
    for (size_t i = 0; i < sizeof bad_addr / sizeof bad_addr[0]; i++) {
        change_addresses(&c[0], "zibo", "10.0.0.1:7000", bad_addr[i]);
        assert_rail(g, c, 1, QC_ERR_INVALID, "\"host:port\"");
        govtest_change_add(&c[0], 4);
        snprintf(c[0].p2p_address, sizeof c[0].p2p_address, "%s", bad_addr[i]);
        assert_rail(g, c, 1, QC_ERR_INVALID, "\"host:port\"");
    }
    change_addresses(&c[0], "zibo", "127.0.0.1:27000", "10.0.0.1:8000"); /* jinan's p2p address */
    assert_rail(g, c, 1, QC_ERR_STATE, "share an address");
    change_addresses(&c[0], "zibo", "10.0.0.1:7000", "10.0.0.1:8000");
    assert_int_equal(check_changes(g, c, 1, why), QC_OK);
    qc_pubkey_t k = fresh_key(44);
    change_rotate(&c[1], "zibo", QC_ROLE_NODE, &k);
    assert_rail(g, c, 2, QC_ERR_INVALID, "one change per city");
    govtest_change_threshold(&c[0], 2);
    govtest_change_threshold(&c[1], 3);
    assert_rail(g, c, 2, QC_ERR_INVALID, "the threshold");
    /* vote expiry: between the block and QC_TX_TTL_BLOCKS_MAX beyond it */
    govtest_change_threshold(&c[0], 2);
    uint64_t hs[] = {9, 10 + QC_TX_TTL_BLOCKS_MAX + 1, 10, 10 + QC_TX_TTL_BLOCKS_MAX};
    int want[] = {QC_ERR_INVALID, QC_ERR_INVALID, QC_OK, QC_OK};
    for (int i = 0; i < 4; i++) {
        qc_tx_t tx;
        mk_propose(0, 1, c, 1, hs[i], &tx);
        assert_int_equal(gov_check(g, &tx, 10, why, sizeof why), want[i]);
        if (want[i] != QC_OK) assert_non_null(strstr(why, "vote expiry"));
        qc_tx_free(&tx);
    }
    free(g);
}

/* n = 7 (quorum 5): re-keying 3 cities' node keys leaves 4 of the old set, too few. */
static void test_overlap_rail(void **state) {
    (void)state;
    gov_state_t *g = state_new(7);
    assert_int_equal(qc_quorum(7), 5);
    qc_change_t c[3];
    for (uint32_t i = 0; i < 3; i++) {
        qc_pubkey_t k = fresh_key(50 + i);
        change_rotate(&c[i], g->vs.members[i].name, QC_ROLE_NODE, &k);
    }
    assert_rail(g, c, 3, QC_ERR_STATE, "share 4 cities with unchanged node keys; at least 5");
    char why[WHY_CAP];
    assert_int_equal(check_changes(g, c, 2, why), QC_OK);
    /* seal and admin keys do not count against the overlap */
    for (uint32_t i = 0; i < 3; i++) {
        qc_pubkey_t k = fresh_key(50 + i);
        change_rotate(&c[i], g->vs.members[i].name, i == 0 ? QC_ROLE_SEAL : QC_ROLE_ADMIN, &k);
    }
    assert_int_equal(check_changes(g, c, 3, why), QC_OK);
    /* removing counts like re-keying */
    qc_pubkey_t k = fresh_key(60);
    govtest_change_remove(&c[0], "jinan");
    govtest_change_remove(&c[1], "zibo");
    change_rotate(&c[2], "dongying", QC_ROLE_NODE, &k);
    assert_rail(g, c, 3, QC_ERR_STATE, "share 4 cities");
    free(g);
}

/* ------------------------------------------------------------------ gov_result */

static void test_result(void **state) {
    (void)state;
    gov_state_t *g = state_new(5);
    qc_validator_set_t *out = malloc(sizeof *out);
    gov_info_t *info = calloc(QC_VALIDATORS_MAX, sizeof *info);
    assert_non_null(out);
    assert_non_null(info);
    char why[WHY_CAP];
    qc_change_t c;
    govtest_change_remove(&c, "zibo");
    assert_int_equal(gov_result(&g->vs, g->info, &c, 1, out, info, why, sizeof why), QC_OK);
    assert_int_equal(out->n, 4);
    assert_int_equal(out->epoch, 0);
    assert_memory_equal(&out->members[0], &g->vs.members[0], sizeof out->members[0]);
    for (uint32_t i = 1; i < 4; i++) {
        assert_memory_equal(&out->members[i], &g->vs.members[i + 1], sizeof out->members[0]);
        assert_memory_equal(&info[i], &g->info[i + 1], sizeof info[0]);
    }
    assert_string_equal(out->members[1].name, "taian");
    assert_string_equal(info[1].p2p_address, "127.0.0.1:27002");
    qc_member_t empty;
    memset(&empty, 0, sizeof empty);
    assert_memory_equal(&out->members[4], &empty, sizeof empty);
    qc_pubkey_t k = fresh_key(45);
    change_rotate(&c, "taian", QC_ROLE_SEAL, &k);
    assert_int_equal(gov_result(&g->vs, g->info, &c, 1, out, info, why, sizeof why), QC_OK);
    assert_int_equal(out->n, 5);
    assert_string_equal(out->members[2].name, "taian");
    assert_memory_equal(out->members[2].seal_key.b, k.b, QC_PUBKEY_BYTES);
    assert_memory_equal(out->members[2].node_key.b, g->vs.members[2].node_key.b, QC_PUBKEY_BYTES);
    assert_memory_equal(out->members[2].admin_key.b, g->vs.members[2].admin_key.b, QC_PUBKEY_BYTES);
    assert_memory_not_equal(out->members[2].seal_key.b, g->vs.members[2].seal_key.b, QC_PUBKEY_BYTES);
    assert_memory_equal(info, g->info, sizeof(gov_info_t) * QC_VALIDATORS_MAX);
    change_addresses(&c, "dezhou", "10.9.9.9:1", "10.9.9.9:2");
    assert_int_equal(gov_result(&g->vs, g->info, &c, 1, out, info, why, sizeof why), QC_OK);
    assert_memory_equal(out, &g->vs, sizeof *out); /* the set (and so its hash) is unchanged */
    for (uint32_t i = 0; i < 5; i++)
        if (i != 4) assert_memory_equal(&info[i], &g->info[i], sizeof info[0]);
    assert_string_equal(info[4].p2p_address, "10.9.9.9:1");
    assert_string_equal(info[4].api_address, "10.9.9.9:2");
    assert_string_equal(info[4].display_name, "City 4");
    govtest_change_threshold(&c, 2);
    assert_int_equal(gov_result(&g->vs, g->info, &c, 1, out, info, why, sizeof why), QC_OK);
    assert_int_equal(out->governance_threshold, 2);
    assert_int_equal(g->vs.governance_threshold, 4);
    assert_memory_equal(out->members, g->vs.members, sizeof out->members);
    assert_int_equal(gov_result(&g->vs, g->info, &c, 0, out, info, why, sizeof why), QC_ERR_INVALID);
    free(out);
    free(info);
    free(g);
}

/* ------------------------------------------------------------------ codec, determinism */

/* The sequence both determinism states and the codec state are fed: two open proposals, one
 * passed and waiting, a rejection. Returns the state (caller frees). */
static gov_state_t *busy_state(void) {
    gov_state_t *g = state_new(4);
    qc_change_t a[5];
    all_kinds(a);
    qc_change_t thr;
    govtest_change_threshold(&thr, 4);
    qc_tx_t pa, pb, pc, v[3];
    mk_propose(0, 1, &a[0], 1, 200, &pa);
    mk_propose(1, 1, &a[2], 3, 300, &pb); /* rotate, addresses, threshold */
    mk_propose(2, 1, &thr, 1, 400, &pc);
    assert_int_equal(check_apply(g, &pa, 5, NULL), QC_OK);
    assert_int_equal(check_apply(g, &pb, 5, NULL), QC_OK);
    assert_int_equal(check_apply(g, &pc, 6, NULL), QC_OK);
    mk_vote(QC_GOV_REJECT, 3, 1, &pb.id, &v[0]);
    mk_vote(QC_GOV_APPROVE, 1, 2, &pa.id, &v[1]);
    mk_vote(QC_GOV_APPROVE, 3, 2, &pa.id, &v[2]);
    for (int i = 0; i < 3; i++) assert_int_equal(check_apply(g, &v[i], 9, NULL), QC_OK);
    assert_true(g->waiting);
    assert_int_equal(g->open_count, 2);
    qc_tx_free(&pa);
    qc_tx_free(&pb);
    qc_tx_free(&pc);
    for (int i = 0; i < 3; i++) qc_tx_free(&v[i]);
    return g;
}

static void test_codec_state(void **state) {
    (void)state;
    gov_state_t *g = busy_state();
    uint8_t *buf;
    size_t len;
    assert_int_equal(gov_encode(g, &buf, &len), QC_OK);
    gov_state_t *d = malloc(sizeof *d);
    gov_state_t *zero = calloc(1, sizeof *zero);
    assert_non_null(d);
    assert_non_null(zero);
    memset(d, 0xa5, sizeof *d);
    assert_int_equal(gov_decode(buf, len, d), QC_OK);
    assert_memory_equal(d, g, sizeof *g);
    for (size_t cut = 0; cut < len; cut++) {
        memset(d, 0xa5, sizeof *d);
        assert_int_equal(gov_decode(buf, cut, d), QC_ERR_CORRUPT);
        assert_memory_equal(d, zero, sizeof *d); /* never half-read */
    }
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    longer[len] = 0;
    assert_int_equal(gov_decode(longer, len + 1, d), QC_ERR_CORRUPT);
    longer[0] ^= 1;
    assert_int_equal(gov_decode(longer, len, d), QC_ERR_CORRUPT);
    longer[0] ^= 1;
    assert_int_equal(gov_decode(longer, len, d), QC_OK);
    free(longer);
    /* it goes on from the decoded state as from the original */
    qc_hash_t h1, h2;
    assert_true(gov_end_block(g, 12, &h1, NULL, NULL, NULL));
    assert_true(gov_end_block(d, 12, &h2, NULL, NULL, NULL));
    assert_memory_equal(h1.b, h2.b, QC_HASH_BYTES);
    assert_memory_equal(d, g, sizeof *g);
    free(buf);
    free(d);
    free(zero);
    free(g);
}

static void test_codec_proposal(void **state) {
    (void)state;
    gov_state_t *g = busy_state();
    const gov_proposal_t *ps[3] = {&g->passed, &g->open[0], &g->open[1]};
    gov_proposal_t *d = malloc(sizeof *d);
    assert_non_null(d);
    for (int i = 0; i < 3; i++) {
        uint8_t *buf;
        size_t len;
        assert_int_equal(gov_proposal_encode(ps[i], &buf, &len), QC_OK);
        memset(d, 0xa5, sizeof *d);
        assert_int_equal(gov_proposal_decode(buf, len, d), QC_OK);
        assert_memory_equal(d, ps[i], sizeof *d);
        for (size_t cut = 0; cut < len; cut++)
            assert_int_equal(gov_proposal_decode(buf, cut, d), QC_ERR_CORRUPT);
        uint8_t *longer = malloc(len + 1);
        assert_non_null(longer);
        memcpy(longer, buf, len);
        longer[len] = 0;
        assert_int_equal(gov_proposal_decode(longer, len + 1, d), QC_ERR_CORRUPT);
        longer[0] ^= 1;
        assert_int_equal(gov_proposal_decode(longer, len, d), QC_ERR_CORRUPT);
        free(longer);
        free(buf);
    }
    assert_int_equal(g->passed.change_count, 1);
    assert_int_equal(g->open[0].change_count, 3);
    free(d);
    free(g);
}

static void test_determinism(void **state) {
    (void)state;
    gov_state_t *a = busy_state();
    gov_state_t *b = busy_state();
    qc_hash_t ha, hb;
    assert_true(gov_end_block(a, 12, &ha, NULL, NULL, NULL));
    assert_true(gov_end_block(b, 12, &hb, NULL, NULL, NULL));
    assert_memory_equal(ha.b, hb.b, QC_HASH_BYTES);
    uint8_t *ea, *eb;
    size_t la, lb;
    assert_int_equal(gov_encode(a, &ea, &la), QC_OK);
    assert_int_equal(gov_encode(b, &eb, &lb), QC_OK);
    assert_int_equal(la, lb);
    assert_memory_equal(ea, eb, la);
    assert_memory_equal(a, b, sizeof *a);
    /* and a different sequence ends elsewhere: the encoding is not blind to the state */
    gov_state_t *c = state_new(4);
    uint8_t *ec;
    size_t lc;
    assert_int_equal(gov_encode(c, &ec, &lc), QC_OK);
    assert_true(lc != la || memcmp(ec, ea, la) != 0);
    free(ea);
    free(eb);
    free(ec);
    free(a);
    free(b);
    free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_format_refuses_fields),
        cmocka_unit_test(test_format_refuses_bytes),
        cmocka_unit_test(test_propose_approve_switch),
        cmocka_unit_test(test_pass_on_boundary),
        cmocka_unit_test(test_signers_and_withdraw),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_full_and_rejected),
        cmocka_unit_test(test_safety_rails),
        cmocka_unit_test(test_overlap_rail),
        cmocka_unit_test(test_result),
        cmocka_unit_test(test_codec_state),
        cmocka_unit_test(test_codec_proposal),
        cmocka_unit_test(test_determinism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
