/* test_audit.c - the checkpoint auditor in-process: a genesis written for the test keys, notes
 * quorum-signed with them, and nodes played by in-memory sources over a real record log.
 * Consistent growth passes; a forged conflicting checkpoint (same size, another root, validly
 * quorum-signed) is a fork with both notes as evidence; a failing consistency proof is a fork;
 * nodes disagreeing with each other are caught; sub-quorum notes are errors, not forks; the
 * state file round-trips and refuses another chain's state. */
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
} fake_t;

static int fake_note(void *ctx, char **text, size_t *len, char *why, size_t why_cap) {
    fake_t *f = ctx;
    if (f->note == NULL) { snprintf(why, why_cap, "unreachable"); return QC_ERR_IO; }
    *text = strdup(f->note);
    *len = strlen(f->note);
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

/* A note for the tree of the first size leaves of log, signed by the first k validators. */
static char *note_for(fx_t *fx, const qc_hash_t *log, uint64_t size, uint32_t k) {
    note_signed_t s;
    memset(&s, 0, sizeof s);
    snprintf(s.cp.origin, sizeof s.cp.origin, CHAIN);
    s.cp.size = size;
    merkle_root(&s.cp.root, log, size);
    char text[NOTE_CHECKPOINT_TEXT_MAX];
    size_t len;
    assert_int_equal(note_checkpoint_text(&s.cp, text, &len), QC_OK);
    for (uint32_t i = 0; i < k; i++) {
        s.signers[i] = i;
        note_sign(&s.sigs[i], &fx->sk[i], text, len);
    }
    s.signer_count = k;
    char *out;
    assert_int_equal(note_signed_format(&s, CHAIN, &fx->g.validators, &out, &len), QC_OK);
    return out;
}

static fake_t fake(fx_t *fx, const qc_hash_t *log, uint64_t size, uint32_t signers) {
    return (fake_t){fx, signers ? note_for(fx, log, size, signers) : NULL, log, size, false, 0};
}

static audit_source_t source(fake_t *f, const char *name) {
    return (audit_source_t){name, fake_note, fake_proof, f};
}

/* Audits one fake node against accepted: the verdict is v and the reason mentions want. */
static void expect_one(fx_t *fx, const char *accepted, fake_t *f, audit_verdict_t v, const char *want) {
    audit_source_t s = source(f, "node");
    audit_report_t r;
    assert_int_equal(audit_run(CHAIN, &fx->g.validators, accepted, &s, 1, &r), v);
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
    assert_int_equal(audit_run(CHAIN, &fx->g.validators, NULL, &s1, 1, &r), AUDIT_CONSISTENT);
    assert_true(r.advanced);
    assert_string_equal(r.reason, "first checkpoint accepted: size 10");
    char *prev = strdup(r.seen[0].text);
    audit_report_free(&r);
    /* the log grows; two nodes at different sizes, both consistent */
    fake_t n2 = fake(fx, fx->leaves, 17, 4), n3 = fake(fx, fx->leaves, 12, 3);
    audit_source_t ss[] = {source(&n2, "node2"), source(&n3, "node3")};
    assert_int_equal(audit_run(CHAIN, &fx->g.validators, prev, ss, 2, &r), AUDIT_CONSISTENT);
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
    assert_int_equal(audit_run(CHAIN, &fx->g.validators, prev17, &so, 1, &r), AUDIT_CONSISTENT);
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
    assert_int_equal(audit_run(CHAIN, &fx->g.validators, accepted, &s, 1, &r), AUDIT_FORK);
    assert_non_null(strstr(r.reason, "size 10 have different roots"));
    assert_string_equal(r.evidence_text[0], accepted);
    assert_string_equal(r.evidence_text[1], forger.note);
    assert_string_equal(r.evidence_from[0], "the state file");
    assert_string_equal(r.evidence_from[1], "forger");
    /* both pieces of evidence verify on their own: the fork is provable to a third party */
    note_signed_t a, b;
    char why[200];
    assert_int_equal(note_signed_open(r.evidence_text[0], strlen(r.evidence_text[0]), CHAIN, &fx->g.validators, &a, why, sizeof why), QC_OK);
    assert_int_equal(note_signed_open(r.evidence_text[1], strlen(r.evidence_text[1]), CHAIN, &fx->g.validators, &b, why, sizeof why), QC_OK);
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
    assert_int_equal(audit_run(CHAIN, &fx->g.validators, NULL, ss, 2, &r), AUDIT_FORK);
    assert_string_equal(r.evidence_from[0], "b");
    assert_string_equal(r.evidence_from[1], "a");
    audit_report_free(&r);
    /* a node serving a bad proof for an honest pair, when no other proof verifies: fork */
    fake_t small = fake(fx, fx->leaves, 9, 3);
    honest.corrupt_proof = true;
    audit_source_t s2[] = {source(&honest, "a"), source(&small, "c")};
    assert_int_equal(audit_run(CHAIN, &fx->g.validators, NULL, s2, 2, &r), AUDIT_FORK);
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
    /* a tampered state file */
    accepted[strlen(CHAIN) + 1] = '9';
    fake_t ok = fake(fx, fx->leaves, 20, 3);
    expect_one(fx, accepted, &ok, AUDIT_ERROR, "state file does not verify");
    free(accepted); free(weak.note); free(noproof.note); free(ok.note);
}

static void test_state_file(void **state) {
    fx_t *fx = *state;
    char path[TDIR_PATH_MAX], why[256] = "";
    tdir_path(path, fx->dir, "state.json");
    char *note = NULL;
    assert_int_equal(audit_state_load(path, &fx->g, &note, why, sizeof why), QC_ERR_NOTFOUND);
    char *text = note_for(fx, fx->leaves, 10, 4);
    note_signed_t s;
    assert_int_equal(note_signed_open(text, strlen(text), CHAIN, &fx->g.validators, &s, why, sizeof why), QC_OK);
    assert_int_equal(audit_state_save(path, &fx->g, &s, text, 1234), QC_OK);
    assert_int_equal(audit_state_load(path, &fx->g, &note, why, sizeof why), QC_OK);
    assert_string_equal(note, text);
    free(note);
    /* another chain's genesis refuses the state */
    genesis_t other = fx->g;
    other.hash.b[0] ^= 1;
    assert_int_equal(audit_state_load(path, &other, &note, why, sizeof why), QC_ERR_INVALID);
    assert_non_null(strstr(why, "not of this genesis"));
    /* unknown fields refused */
    tdir_write(NULL, fx->dir, "state.json", "{\"version\":1,\"x\":2}", 19, 0644);
    assert_int_equal(audit_state_load(path, &fx->g, &note, why, sizeof why), QC_ERR_INVALID);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_growth_consistent),
        cmocka_unit_test(test_forged_checkpoint_is_a_fork),
        cmocka_unit_test(test_nodes_disagree),
        cmocka_unit_test(test_errors_are_not_forks),
        cmocka_unit_test(test_state_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
