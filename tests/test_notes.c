/* test_notes.c - gathering checkpoint-note signatures: four in-process nodes whose send
 * callbacks queue messages; a quorum forms and opens as a valid signed note; signatures that
 * arrive before the block count once it is applied; forged, conflicting, duplicate and
 * out-of-window signatures are refused; a peer coming up gets the latest signature again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "notes.h"
#include "testkeys.h"

#define N 4
#define CHAIN "notes-test"
static const qc_hash_t k_genesis = {{7, 7, 7, 7}}; /* the nodes' genesis hash */
#define QUEUE_MAX 256

typedef struct {
    uint32_t from, to; /* to = NOTES_BROADCAST for everyone */
    wire_note_sig_t m;
} msg_t;

typedef struct {
    qc_validator_set_t vs;
    qc_seckey_t sk[N];
    notes_t nodes[N];
    msg_t q[QUEUE_MAX];
    size_t qlen;
} world_t;

typedef struct { world_t *w; uint32_t self; } ctx_t;
static ctx_t ctxs[N];

static void on_send(void *user, uint32_t peer, const wire_note_sig_t *ns) {
    ctx_t *c = user;
    assert_true(c->w->qlen < QUEUE_MAX);
    c->w->q[c->w->qlen++] = (msg_t){c->self, peer, *ns};
}

static world_t *world(void) {
    world_t *w = calloc(1, sizeof *w);
    testkeys_validators(&w->vs, N, 0);
    for (uint32_t i = 0; i < N; i++) {
        testkeys_keypair(TESTKEY_NODE, i, NULL, &w->sk[i]);
        ctxs[i] = (ctx_t){w, i};
        notes_init(&w->nodes[i], CHAIN, &k_genesis, &w->vs, i, &w->sk[i], on_send, &ctxs[i]);
    }
    return w;
}

/* Delivers every queued message (and what delivery sends) to its receivers. */
static void deliver(world_t *w) {
    for (size_t i = 0; i < w->qlen; i++) {
        msg_t m = w->q[i];
        for (uint32_t to = 0; to < N; to++)
            if (to != m.from && (m.to == NOTES_BROADCAST || m.to == to))
                notes_on_sig(&w->nodes[to], m.from, &m.m);
    }
    w->qlen = 0;
}

static qc_hash_t root_of(uint64_t h) {
    qc_hash_t r;
    memset(r.b, (int)h, 32);
    return r;
}

static void apply(world_t *w, uint32_t node, uint64_t h) {
    qc_hash_t r = root_of(h);
    notes_on_applied(&w->nodes[node], h, h * 10, &r);
}

static void assert_latest_opens(world_t *w, uint32_t node, uint64_t want_height, uint32_t signers) {
    uint64_t h = 0;
    const note_signed_t *s = notes_latest(&w->nodes[node], &h);
    assert_non_null(s);
    assert_int_equal(h, want_height);
    assert_int_equal(s->signer_count, signers);
    char *text;
    size_t len;
    assert_int_equal(note_signed_format(s, CHAIN, &w->vs, &text, &len), QC_OK);
    note_signed_t back;
    char why[160] = "";
    assert_int_equal(note_signed_open(text, len, CHAIN, &k_genesis, &w->vs, &back, why, sizeof why), QC_OK);
    assert_int_equal(back.cp.size, want_height * 10);
    free(text);
}

static void test_quorum_forms(void **state) {
    (void)state;
    world_t *w = world();
    for (uint32_t i = 0; i < 3; i++) apply(w, i, 1);
    assert_null(notes_latest(&w->nodes[0], NULL)); /* nothing delivered yet */
    deliver(w);
    for (uint32_t i = 0; i < 3; i++) assert_latest_opens(w, i, 1, 3);
    /* node 3 was behind: the signatures it got early count when it applies the block */
    assert_null(notes_latest(&w->nodes[3], NULL));
    apply(w, 3, 1);
    assert_latest_opens(w, 3, 1, 4);
    deliver(w); /* its signature reaches the others: the latest note gains a signer */
    assert_latest_opens(w, 0, 1, 4);
    assert_int_equal(w->nodes[0].stats.sigs_counted, 3);
    assert_int_equal(w->nodes[0].stats.checkpoints, 1);
    free(w);
}

static void test_bad_signatures(void **state) {
    (void)state;
    world_t *w = world();
    apply(w, 0, 5);
    w->qlen = 0;
    qc_hash_t r = root_of(5);
    /* a signature by the wrong key (node 2's key, claimed by node 1) */
    wire_note_sig_t m = {5, 50, r, {{0}}};
    char text[NOTE_CHECKPOINT_TEXT_MAX];
    size_t len;
    note_checkpoint_t cp = {CHAIN, 50, r, k_genesis};
    assert_int_equal(note_checkpoint_text(&cp, text, &len), QC_OK);
    note_sign(&m.sig, &w->sk[2], text, len);
    notes_on_sig(&w->nodes[0], 1, &m);
    assert_int_equal(w->nodes[0].stats.sigs_bad, 1);
    /* node 2's own key over the note of another genesis (same chain id and keys): bad too */
    cp.genesis_hash.b[31] ^= 1;
    assert_int_equal(note_checkpoint_text(&cp, text, &len), QC_OK);
    note_sign(&m.sig, &w->sk[2], text, len);
    cp.genesis_hash = k_genesis;
    notes_on_sig(&w->nodes[0], 2, &m);
    assert_int_equal(w->nodes[0].stats.sigs_bad, 2);
    assert_int_equal(w->nodes[0].slots[5 % NOTES_HEIGHTS].matched, 1);
    /* from itself or a non-member */
    notes_on_sig(&w->nodes[0], 0, &m);
    notes_on_sig(&w->nodes[0], N, &m);
    assert_int_equal(w->nodes[0].stats.sigs_bad, 4);
    /* a valid signature by node 2 over a different root for the same height: a conflict */
    qc_hash_t other = root_of(99);
    cp.root = other;
    assert_int_equal(note_checkpoint_text(&cp, text, &len), QC_OK);
    wire_note_sig_t c = {5, 50, other, {{0}}};
    note_sign(&c.sig, &w->sk[2], text, len);
    notes_on_sig(&w->nodes[0], 2, &c);
    assert_int_equal(w->nodes[0].stats.sigs_conflicting, 1);
    assert_int_equal(w->nodes[0].slots[5 % NOTES_HEIGHTS].matched, 1);
    /* the right one by node 2 then counts, once; a repeat is a duplicate */
    cp.root = r;
    assert_int_equal(note_checkpoint_text(&cp, text, &len), QC_OK);
    note_sign(&m.sig, &w->sk[2], text, len);
    notes_on_sig(&w->nodes[0], 2, &m);
    notes_on_sig(&w->nodes[0], 2, &m);
    assert_int_equal(w->nodes[0].stats.sigs_duplicate, 1);
    assert_int_equal(w->nodes[0].slots[5 % NOTES_HEIGHTS].matched, 2);
    assert_null(notes_latest(&w->nodes[0], NULL)); /* 2 of quorum 3 */
    /* outside the window: far ahead, and long past */
    m.height = 5 + NOTES_HEIGHTS;
    notes_on_sig(&w->nodes[0], 2, &m);
    apply(w, 0, 40);
    m.height = 5;
    notes_on_sig(&w->nodes[0], 3, &m);
    assert_int_equal(w->nodes[0].stats.sigs_outside, 2);
    free(w);
}

static int g_error_lines;
static char g_last_error[256];

static void count_errors(qc_log_level_t level, const char *line, void *user) {
    (void)user;
    if (level != QC_LOG_ERROR) return;
    g_error_lines++;
    snprintf(g_last_error, sizeof g_last_error, "%s", line);
}

/* A validator signing contradicting notes for many heights is counted every time, but its
 * ERROR lines are rate-limited and summarised when the window rolls over. */
static void test_conflicts_rate_limited(void **state) {
    (void)state;
    world_t *w = world();
    notes_set_time(&w->nodes[0], 1000);
    g_error_lines = 0;
    qc_log_set_sink(count_errors, NULL);
    uint64_t h = 1;
    for (int i = 0; i < 30; i++, h++) {
        apply(w, 0, h);
        qc_hash_t other = root_of(1000 + h);
        note_checkpoint_t cp = {CHAIN, h * 10, other, k_genesis};
        char text[NOTE_CHECKPOINT_TEXT_MAX];
        size_t len;
        assert_int_equal(note_checkpoint_text(&cp, text, &len), QC_OK);
        wire_note_sig_t c = {h, h * 10, other, {{0}}};
        note_sign(&c.sig, &w->sk[2], text, len);
        notes_on_sig(&w->nodes[0], 2, &c);
    }
    assert_int_equal(w->nodes[0].stats.sigs_conflicting, 30);
    assert_int_equal(g_error_lines, 10);
    assert_non_null(strstr(g_last_error, "that this ledger contradicts"));
    notes_set_time(&w->nodes[0], 1000 + QC_LOGRATE_WINDOW_MS + 1);
    assert_int_equal(g_error_lines, 11);
    assert_non_null(strstr(g_last_error, "checkpoint notes: contradicting signatures: 20 more"));
    qc_log_set_sink(NULL, NULL);
    free(w);
}

static void test_peer_up_resends(void **state) {
    (void)state;
    world_t *w = world();
    /* every node restarts at height 7 with no links: signatures go nowhere */
    for (uint32_t i = 0; i < N; i++) apply(w, i, 7);
    w->qlen = 0;
    assert_null(notes_latest(&w->nodes[0], NULL));
    /* links come up one by one; each side resends its latest signature */
    for (uint32_t i = 1; i < N; i++) {
        notes_on_peer_up(&w->nodes[0], i);
        notes_on_peer_up(&w->nodes[i], 0);
    }
    deliver(w);
    assert_latest_opens(w, 0, 7, 4);
    /* the others saw only their own and node 0's: 2, short of the quorum of 3 */
    for (uint32_t i = 1; i < N; i++) assert_null(notes_latest(&w->nodes[i], NULL));
    free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quorum_forms),
        cmocka_unit_test(test_bad_signatures),
        cmocka_unit_test(test_peer_up_resends),
        cmocka_unit_test(test_conflicts_rate_limited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
