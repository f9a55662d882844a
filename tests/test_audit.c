/* test_audit.c - the checkpoint auditor in-process: a genesis written for the test keys, notes
 * quorum-signed with them, and nodes played by in-memory sources over a real record log.
 * Consistent growth passes; a forged conflicting checkpoint (same size, another root, validly
 * quorum-signed) is a fork with both notes as evidence; a failing consistency proof is a fork;
 * nodes disagreeing with each other are caught; sub-quorum notes are errors, not forks; notes
 * of a later epoch (two node keys rotated) verify with that epoch's set only, and a past
 * epoch's note is refused; the state file round-trips with its epoch, reads version 1 as epoch
 * 0 and refuses another chain's state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "tdir.h"
#include "testkeys.h"

#define CHAIN "audit-test"
#define LEAVES 40

typedef struct {
    char dir[TDIR_PATH_MAX];
    genesis_t g;
    qc_seckey_t sk[4];
    qc_validator_set_t vs1;        /* epoch 1: validators 0 and 1 rotated their node keys */
    qc_seckey_t sk1[4];
    qc_hash_t leaves[LEAVES];      /* the true record log */
    qc_hash_t forged[LEAVES];      /* a forked one: differs from leaf 5 on */
} fx_t;

typedef struct {
    fx_t *fx;
    char *note;                    /* what it serves (owned) */
    const qc_hash_t *log;          /* its ledger, for proofs */
    uint64_t log_size;
    bool corrupt_proof;
    int proofs_served;
    uint64_t epoch;                /* the epoch it says signed its note */
    uint64_t newest;               /* the newest epoch of its membership history */
    int sets_served;
} fake_t;

static int fake_newest(void *ctx, uint64_t *epoch, char *why, size_t why_cap) {
    fake_t *f = ctx;
    if (f->note == NULL) { snprintf(why, why_cap, "unreachable"); return QC_ERR_IO; }
    *epoch = f->newest;
    return QC_OK;
}

static int fake_note(void *ctx, char **text, size_t *len, uint64_t *epoch, char *why,
                     size_t why_cap) {
    fake_t *f = ctx;
    if (f->note == NULL) { snprintf(why, why_cap, "unreachable"); return QC_ERR_IO; }
    *text = strdup(f->note);
    *len = strlen(f->note);
    *epoch = f->epoch;
    return QC_OK;
}

/* The certified set of epoch 1 (as client_epoch_set would give it); nothing later. */
static int fake_set(void *ctx, uint64_t epoch, qc_validator_set_t *vs, char *why, size_t why_cap) {
    fake_t *f = ctx;
    assert_true(epoch >= 1); /* epoch 0 is the genesis set: the auditor never asks for it */
    if (f->note == NULL || epoch > f->newest) {
        snprintf(why, why_cap, "the node's membership history does not reach epoch %llu",
                 (unsigned long long)epoch);
        return QC_ERR_NOTFOUND;
    }
    assert_int_equal(epoch, 1);
    *vs = f->fx->vs1;
    f->sets_served++;
    return QC_OK;
}

static int fake_proof(void *ctx, uint64_t from, uint64_t to, qc_hash_t *proof, size_t *len,
                      char *why, size_t why_cap) {
    fake_t *f = ctx;
    if (to > f->log_size) { snprintf(why, why_cap, "to is past the ledger"); return QC_ERR_RANGE; }
    assert_int_equal(merkle_consistency_proof(f->log, from, to, proof, len), QC_OK);
    if (f->corrupt_proof && *len > 0) proof[0].b[0] ^= 1;
    f->proofs_served++;
    return QC_OK;
}

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    tdir_make(fx->dir, "audit");
    genesis_t *g = &fx->g;
    genesis_init(g, CHAIN, 1700000000000ull);
    qc_validator_set_t vs;
    testkeys_validators(&vs, 4, 0);
    for (uint32_t i = 0; i < 4; i++) {
        char p2p[32], api[32];
        snprintf(p2p, sizeof p2p, "127.0.0.1:%u", 7000 + i);
        snprintf(api, sizeof api, "127.0.0.1:%u", 8000 + i);
        const qc_member_t *m = &vs.members[i];
        assert_int_equal(genesis_add_member(g, m->name, m->name, &m->node_key, &m->seal_key,
                                            &m->admin_key, p2p, api), QC_OK);
        testkeys_keypair(TESTKEY_NODE, i, NULL, &fx->sk[i]);
    }
    char path[TDIR_PATH_MAX], why[256] = "";
    tdir_path(path, fx->dir, "genesis.json");
    assert_int_equal(genesis_write(path, g, true, why, sizeof why), QC_OK);
    memset(g, 0, sizeof *g);
    assert_int_equal(genesis_load(path, g, why, sizeof why), QC_OK);
    fx->vs1 = g->validators;
    fx->vs1.epoch = 1;
    for (uint32_t i = 0; i < 4; i++) {
        fx->sk1[i] = fx->sk[i];
        if (i < 2) testkeys_keypair(TESTKEY_NODE, 10 + i, &fx->vs1.members[i].node_key, &fx->sk1[i]);
    }
    for (uint32_t i = 0; i < LEAVES; i++) {
        uint32_t x = i, y = i < 5 ? i : i + 1000;
        merkle_leaf_hash(&fx->leaves[i], &x, sizeof x);
        merkle_leaf_hash(&fx->forged[i], &y, sizeof y);
    }
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    tdir_remove(fx->dir);
    free(fx);
    return 0;
}

/* A note for the tree of the first size leaves of log, signed by the first k validators of
 * epoch (0 or 1) with that epoch's keys. */
static char *note_of_epoch(fx_t *fx, uint64_t epoch, const qc_hash_t *log, uint64_t size, uint32_t k) {
    const qc_seckey_t *sk = epoch ? fx->sk1 : fx->sk;
    note_signed_t s;
    memset(&s, 0, sizeof s);
    snprintf(s.cp.origin, sizeof s.cp.origin, CHAIN);
    s.cp.size = size;
    merkle_root(&s.cp.root, log, size);
    s.cp.genesis_hash = fx->g.hash;
    char text[NOTE_CHECKPOINT_TEXT_MAX];
    size_t len;
    assert_int_equal(note_checkpoint_text(&s.cp, text, &len), QC_OK);
    for (uint32_t i = 0; i < k; i++) {
        s.signers[i] = i;
        note_sign(&s.sigs[i], &sk[i], text, len);
    }
    s.signer_count = k;
    char *out;
    assert_int_equal(note_signed_format(&s, CHAIN, epoch ? &fx->vs1 : &fx->g.validators, &out, &len), QC_OK);
    return out;
}

static char *note_for(fx_t *fx, const qc_hash_t *log, uint64_t size, uint32_t k) {
    return note_of_epoch(fx, 0, log, size, k);
}

/* A node serving a note of `epoch` whose membership history reaches that epoch. */
static fake_t fake_of_epoch(fx_t *fx, uint64_t epoch, const qc_hash_t *log, uint64_t size,
                            uint32_t signers) {
    return (fake_t){fx, signers ? note_of_epoch(fx, epoch, log, size, signers) : NULL, log, size,
                    false, 0, epoch, epoch, 0};
}

static fake_t fake(fx_t *fx, const qc_hash_t *log, uint64_t size, uint32_t signers) {
    return fake_of_epoch(fx, 0, log, size, signers);
}

static audit_source_t source(fake_t *f, const char *name) {
    return (audit_source_t){name, fake_newest, fake_note, fake_set, fake_proof, f};
}

/* Audits one fake node against accepted: the verdict is v and the reason mentions want. */
static void expect_one(fx_t *fx, const char *accepted, fake_t *f, audit_verdict_t v, const char *want) {
    audit_source_t s = source(f, "node");
    audit_report_t r;
    assert_int_equal(audit_run(CHAIN, &fx->g.hash, &fx->g.validators, accepted, 0, &s, 1, &r), v);
    if (strstr(r.reason, want) == NULL) fail_msg("reason \"%s\" lacks \"%s\"", r.reason, want);
    audit_report_free(&r);
}

static void test_compare(void **state) {
    fx_t *fx = *state;
    note_checkpoint_t a = {CHAIN, 10, {{0}}}, b = {CHAIN, 17, {{0}}};
    merkle_root(&a.root, fx->leaves, 10);
    merkle_root(&b.root, fx->leaves, 17);
    qc_hash_t proof[MERKLE_PROOF_MAX];
    size_t len;
    char why[256];
    assert_int_equal(merkle_consistency_proof(fx->leaves, 10, 17, proof, &len), QC_OK);
    assert_int_equal(audit_compare(&a, &b, proof, len, why, sizeof why), AUDIT_CONSISTENT);
    assert_string_equal(why, "grew consistently from 10 to 17");
    assert_int_equal(audit_compare(&b, &a, proof, len, why, sizeof why), AUDIT_CONSISTENT);
    proof[len - 1].b[31] ^= 0x80;
    assert_int_equal(audit_compare(&a, &b, proof, len, why, sizeof why), AUDIT_FORK);
    note_checkpoint_t c = a;
    merkle_root(&c.root, fx->forged, 10);
    assert_int_equal(audit_compare(&a, &c, NULL, 0, why, sizeof why), AUDIT_FORK);
    assert_string_equal(why, "two signed checkpoints of size 10 have different roots");
    assert_int_equal(audit_compare(&a, &a, NULL, 0, why, sizeof why), AUDIT_CONSISTENT);
}

static void test_growth_consistent(void **state) {
    fx_t *fx = *state;
    audit_report_t r;
    fake_t n1 = fake(fx, fx->leaves, 10, 3);
    audit_source_t s1 = source(&n1, "node1");
    /* first use: no state */
    assert_int_equal(audit_run(CHAIN, &fx->g.hash, &fx->g.validators, NULL, 0, &s1, 1, &r), AUDIT_CONSISTENT);
    assert_true(r.advanced);
    assert_string_equal(r.reason, "first checkpoint accepted: size 10");
    char *prev = strdup(r.seen[0].text);
    audit_report_free(&r);
    /* the log grows; two nodes at different sizes, both consistent */
    fake_t n2 = fake(fx, fx->leaves, 17, 4), n3 = fake(fx, fx->leaves, 12, 3);
    audit_source_t ss[] = {source(&n2, "node2"), source(&n3, "node3")};
    assert_int_equal(audit_run(CHAIN, &fx->g.hash, &fx->g.validators, prev, 0, ss, 2, &r), AUDIT_CONSISTENT);
    assert_string_equal(r.reason, "grew consistently from 10 to 17");
    assert_int_equal(r.newest, 0);
    assert_true(r.advanced);
    assert_true(n2.proofs_served >= 2); /* 12 -> 17 and 10 -> 17 */
    audit_report_free(&r);
    /* nodes older than the state: consistent, not advanced */
    fake_t old = fake(fx, fx->leaves, 8, 3);
    old.log_size = 17; /* its ledger reaches the accepted size; its signed note lags */
    audit_source_t so = source(&old, "old");
    char *prev17 = note_for(fx, fx->leaves, 17, 3);
    assert_int_equal(audit_run(CHAIN, &fx->g.hash, &fx->g.validators, prev17, 0, &so, 1, &r), AUDIT_CONSISTENT);
    assert_false(r.advanced);
    audit_report_free(&r);
    free(prev17);
    free(prev);
    free(n1.note); free(n2.note); free(n3.note); free(old.note);
}

/* The requirement: a forged conflicting checkpoint is detected. */
static void test_forged_checkpoint_is_a_fork(void **state) {
    fx_t *fx = *state;
    char *accepted = note_for(fx, fx->leaves, 10, 3);
    fake_t forger = fake(fx, fx->forged, 10, 4); /* same size, another root, quorum-signed */
    audit_source_t s = source(&forger, "forger");
    audit_report_t r;
    assert_int_equal(audit_run(CHAIN, &fx->g.hash, &fx->g.validators, accepted, 0, &s, 1, &r), AUDIT_FORK);
    assert_non_null(strstr(r.reason, "size 10 have different roots"));
    assert_string_equal(r.evidence_text[0], accepted);
    assert_string_equal(r.evidence_text[1], forger.note);
    assert_string_equal(r.evidence_from[0], "the state file");
    assert_string_equal(r.evidence_from[1], "forger");
    /* both pieces of evidence verify on their own: the fork is provable to a third party */
    note_signed_t a, b;
    char why[200];
    assert_int_equal(note_signed_open(r.evidence_text[0], strlen(r.evidence_text[0]), CHAIN, &fx->g.hash, &fx->g.validators, &a, why, sizeof why), QC_OK);
    assert_int_equal(note_signed_open(r.evidence_text[1], strlen(r.evidence_text[1]), CHAIN, &fx->g.hash, &fx->g.validators, &b, why, sizeof why), QC_OK);
    assert_int_equal(a.cp.size, b.cp.size);
    assert_memory_not_equal(a.cp.root.b, b.cp.root.b, 32);
    audit_report_free(&r);
    /* a forked log that grew past the accepted size: its own proofs cannot bridge the roots */
    fake_t grown = fake(fx, fx->forged, 20, 3);
    expect_one(fx, accepted, &grown, AUDIT_FORK, "consistency proof from size 10 to 20 does not verify");
    free(grown.note);
    free(forger.note);
    free(accepted);
}

static void test_nodes_disagree(void **state) {
    fx_t *fx = *state;
    fake_t honest = fake(fx, fx->leaves, 15, 3), forked = fake(fx, fx->forged, 15, 3);
    audit_source_t ss[] = {source(&honest, "a"), source(&forked, "b")};
    audit_report_t r;
    assert_int_equal(audit_run(CHAIN, &fx->g.hash, &fx->g.validators, NULL, 0, ss, 2, &r), AUDIT_FORK);
    assert_string_equal(r.evidence_from[0], "b");
    assert_string_equal(r.evidence_from[1], "a");
    audit_report_free(&r);
    /* a node serving a bad proof for an honest pair, when no other proof verifies: fork */
    fake_t small = fake(fx, fx->leaves, 9, 3);
    honest.corrupt_proof = true;
    audit_source_t s2[] = {source(&honest, "a"), source(&small, "c")};
    assert_int_equal(audit_run(CHAIN, &fx->g.hash, &fx->g.validators, NULL, 0, s2, 2, &r), AUDIT_FORK);
    audit_report_free(&r);
    free(honest.note); free(forked.note); free(small.note);
}

static void test_errors_are_not_forks(void **state) {
    fx_t *fx = *state;
    char *accepted = note_for(fx, fx->leaves, 10, 3);
    /* sub-quorum note: an error naming the shortfall */
    fake_t weak = fake(fx, fx->forged, 10, 2);
    expect_one(fx, accepted, &weak, AUDIT_ERROR, "2 valid validator signatures, quorum is 3");
    fake_t gone = fake(fx, fx->leaves, 10, 0);
    expect_one(fx, accepted, &gone, AUDIT_ERROR, "unreachable");
    /* no node can prove the growth (ledger shorter than the note: cannot serve the proof) */
    fake_t noproof = fake(fx, fx->leaves, 20, 3);
    noproof.log_size = 0;
    expect_one(fx, accepted, &noproof, AUDIT_ERROR, "cannot check size 10 against 20");
    /* a note the chain's own validators signed, but naming another genesis file (same chain id
     * and keys, one byte different): refused, with both hashes named; as the state file's
     * accepted checkpoint too */
    fx->g.hash.b[0] ^= 1;
    fake_t other = fake(fx, fx->leaves, 10, 4);
    fx->g.hash.b[0] ^= 1;
    expect_one(fx, accepted, &other, AUDIT_ERROR, "checkpoint names genesis ");
    fake_t fine = fake(fx, fx->leaves, 10, 3);
    expect_one(fx, other.note, &fine, AUDIT_ERROR, "state file does not verify");
    /* a tampered state file */
    accepted[strlen(CHAIN) + 1] = '9';
    fake_t ok = fake(fx, fx->leaves, 20, 3);
    expect_one(fx, accepted, &ok, AUDIT_ERROR, "state file does not verify");
    free(accepted); free(weak.note); free(noproof.note); free(ok.note); free(other.note);
    free(fine.note);
}

/* Audits sources against accepted (of accepted_epoch): the verdict is v and the reason
 * mentions want. */
static void expect_epoch(fx_t *fx, const char *accepted, uint64_t accepted_epoch, fake_t *f,
                         audit_verdict_t v, const char *want) {
    audit_source_t s = source(f, "node");
    audit_report_t r;
    assert_int_equal(audit_run(CHAIN, &fx->g.hash, &fx->g.validators, accepted, accepted_epoch, &s, 1, &r), v);
    if (strstr(r.reason, want) == NULL) fail_msg("reason \"%s\" lacks \"%s\"", r.reason, want);
    audit_report_free(&r);
}

/* Notes of two epochs: epoch 1 rotated validators 0 and 1's node keys. */
static void test_epochs(void **state) {
    fx_t *fx = *state;
    audit_report_t r;
    /* a note of epoch 1 verifies with epoch 1's set, certified by the node it came from */
    fake_t e1 = fake_of_epoch(fx, 1, fx->leaves, 10, 3);
    audit_source_t s1 = source(&e1, "e1");
    assert_int_equal(audit_run(CHAIN, &fx->g.hash, &fx->g.validators, NULL, 0, &s1, 1, &r), AUDIT_CONSISTENT);
    assert_int_equal(r.seen[0].epoch, 1);
    assert_int_equal(r.seen[0].vs.epoch, 1);
    assert_memory_equal(r.seen[0].vs.members[0].node_key.b, fx->vs1.members[0].node_key.b, 32);
    assert_int_equal(r.seen[0].note.signer_count, 3);
    assert_int_equal(e1.sets_served, 1);
    audit_report_free(&r);
    /* ... and is refused with epoch 0's set: the rotated keys' lines are unknown keys there */
    fake_t as0 = e1;
    as0.epoch = as0.newest = 0;
    expect_epoch(fx, NULL, 0, &as0, AUDIT_ERROR,
                 "does not verify with epoch 0's set: 1 valid validator signatures, quorum is 3");
    /* an epoch 0 note, quorum-signed with the old keys, from a node whose history has epoch 1:
     * the past epoch's keys cannot vouch for it */
    fake_t stale = fake(fx, fx->leaves, 12, 4);
    stale.newest = 1;
    expect_epoch(fx, NULL, 0, &stale, AUDIT_ERROR,
                 "signed by epoch 0's set, but its membership history reaches epoch 1");
    /* a node claiming epoch 1 for an old-key note: epoch 1's set refuses it */
    fake_t claims = fake(fx, fx->leaves, 12, 4);
    claims.epoch = claims.newest = 1;
    expect_epoch(fx, NULL, 0, &claims, AUDIT_ERROR, "does not verify with epoch 1's set");
    /* a node that cannot certify the epoch its note names */
    fake_t short_history = e1;
    short_history.newest = 0;
    expect_epoch(fx, NULL, 0, &short_history, AUDIT_ERROR,
                 "cannot certify epoch 1's validator set: the node's membership history does not reach epoch 1");
    free(stale.note); free(claims.note);
    /* growth across the switch: the accepted epoch 0 note, the new epoch 1 note; one log */
    char *acc0 = note_for(fx, fx->leaves, 8, 3);
    expect_epoch(fx, acc0, 0, &e1, AUDIT_CONSISTENT, "grew consistently from 8 to 10");
    fake_t forked = fake_of_epoch(fx, 1, fx->forged, 20, 3);
    expect_epoch(fx, acc0, 0, &forked, AUDIT_FORK, "consistency proof from size 8 to 20 does not verify");
    /* the accepted note is re-verified with its own epoch's set */
    char *acc1 = note_of_epoch(fx, 1, fx->leaves, 10, 4);
    fake_t grown = fake_of_epoch(fx, 1, fx->leaves, 17, 3);
    expect_epoch(fx, acc1, 1, &grown, AUDIT_CONSISTENT, "grew consistently from 10 to 17");
    assert_true(grown.sets_served >= 2); /* the accepted note's set and the served note's */
    expect_epoch(fx, acc1, 0, &grown, AUDIT_ERROR,
                 "state file does not verify with epoch 0's set");
    /* once a note of epoch 1 is accepted, an epoch 0 note is refused even from a node whose
     * history stops at epoch 0 (lagging, or hiding the change) */
    fake_t lagging = fake(fx, fx->leaves, 17, 4);
    audit_source_t two[] = {source(&lagging, "lagging"), source(&grown, "grown")};
    assert_int_equal(audit_run(CHAIN, &fx->g.hash, &fx->g.validators, acc1, 1, two, 2, &r), AUDIT_CONSISTENT);
    assert_false(r.seen[0].ok);
    assert_non_null(strstr(r.seen[0].error, "signed by epoch 0's set, but the accepted checkpoint is of epoch 1"));
    assert_true(r.seen[1].ok);
    audit_report_free(&r);
    /* alone, the lagging node cannot even certify the accepted note's set */
    expect_epoch(fx, acc1, 1, &lagging, AUDIT_ERROR,
                 "cannot certify epoch 1's validator set to re-verify the accepted checkpoint");
    /* the same size newly signed by a later epoch's set moves the state forward */
    fake_t same = fake_of_epoch(fx, 1, fx->leaves, 8, 3);
    audit_source_t ss = source(&same, "same");
    assert_int_equal(audit_run(CHAIN, &fx->g.hash, &fx->g.validators, acc0, 0, &ss, 1, &r), AUDIT_CONSISTENT);
    assert_true(r.advanced);
    assert_string_equal(r.reason, "unchanged at size 8, now signed by epoch 1's set");
    audit_report_free(&r);
    free(acc0); free(acc1); free(e1.note); free(forked.note); free(grown.note);
    free(lagging.note); free(same.note);
}

static void test_state_file(void **state) {
    fx_t *fx = *state;
    char path[TDIR_PATH_MAX], why[256] = "";
    tdir_path(path, fx->dir, "state.json");
    char *note = NULL;
    uint64_t epoch = 99;
    assert_int_equal(audit_state_load(path, &fx->g, &note, &epoch, why, sizeof why), QC_ERR_NOTFOUND);
    char *text = note_of_epoch(fx, 1, fx->leaves, 10, 4);
    note_signed_t s;
    assert_int_equal(note_signed_open(text, strlen(text), CHAIN, &fx->g.hash, &fx->vs1, &s, why, sizeof why), QC_OK);
    assert_int_equal(audit_state_save(path, &fx->g, &s, text, 1, 1234), QC_OK);
    assert_int_equal(audit_state_load(path, &fx->g, &note, &epoch, why, sizeof why), QC_OK);
    assert_string_equal(note, text);
    assert_int_equal(epoch, 1);
    free(note);
    /* another chain's genesis refuses the state */
    genesis_t other = fx->g;
    other.hash.b[0] ^= 1;
    assert_int_equal(audit_state_load(path, &other, &note, &epoch, why, sizeof why), QC_ERR_INVALID);
    assert_non_null(strstr(why, "not of this genesis"));
    /* a version 1 file (before epochs) is read as epoch 0 */
    char ghex[65], rhex[65], body[1024];
    int blen = snprintf(body, sizeof body, "{\"version\":1,\"chain_id\":\"%s\",\"genesis_hash\":\"%s\","
                        "\"tree_size\":10,\"root\":\"%s\",\"note\":\"n\",\"accepted_ms\":5}", CHAIN,
                        qc_hash_hex(ghex, &fx->g.hash), qc_hash_hex(rhex, &s.cp.root));
    tdir_write(NULL, fx->dir, "state.json", body, (size_t)blen, 0644);
    epoch = 99;
    assert_int_equal(audit_state_load(path, &fx->g, &note, &epoch, why, sizeof why), QC_OK);
    assert_int_equal(epoch, 0);
    assert_string_equal(note, "n");
    free(note);
    /* version 2 must name the epoch */
    body[11] = '2';
    tdir_write(NULL, fx->dir, "state.json", body, (size_t)blen, 0644);
    assert_int_equal(audit_state_load(path, &fx->g, &note, &epoch, why, sizeof why), QC_ERR_INVALID);
    assert_non_null(strstr(why, "lacks the epoch"));
    /* unknown fields refused */
    tdir_write(NULL, fx->dir, "state.json", "{\"version\":1,\"x\":2}", 19, 0644);
    assert_int_equal(audit_state_load(path, &fx->g, &note, &epoch, why, sizeof why), QC_ERR_INVALID);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_growth_consistent),
        cmocka_unit_test(test_forged_checkpoint_is_a_fork),
        cmocka_unit_test(test_nodes_disagree),
        cmocka_unit_test(test_errors_are_not_forks),
        cmocka_unit_test(test_epochs),
        cmocka_unit_test(test_state_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
