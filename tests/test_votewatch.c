/* test_votewatch.c - the "not voting" detector (node/votewatch.c): a validator the chain passes
 * by is reported after VOTEWATCH_AFTER_MS, never on an idle chain, a restart or a learner, and
 * clears with its next vote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "votewatch.h"

#define SLACK VOTEWATCH_SLACK_BLOCKS
#define AFTER VOTEWATCH_AFTER_MS

/* Votes keep up with the head: never reported, however long. */
static void test_voting_node_is_quiet(void **state) {
    (void)state;
    votewatch_t w = {0};
    for (uint64_t h = 1, t = 1000; h < 5000; h++, t += 100) {
        votewatch_voted(&w, h);
        assert_int_equal(votewatch_observe(&w, h > SLACK ? h - 1 : h, true, t), VOTEWATCH_SAME);
    }
    assert_false(w.not_voting);
    assert_int_equal(w.episodes, 0);
}

/* The head runs on without votes: reported once, VOTEWATCH_AFTER_MS after the first block that
 * committed without it; cleared by a vote within the slack. */
static void test_chain_passes_it_by(void **state) {
    (void)state;
    votewatch_t w = {0};
    votewatch_voted(&w, 100);
    assert_int_equal(votewatch_observe(&w, 100 + SLACK, true, 1000), VOTEWATCH_SAME); /* slack */
    assert_int_equal(votewatch_observe(&w, 101 + SLACK, true, 2000), VOTEWATCH_SAME); /* behind */
    assert_int_equal(votewatch_observe(&w, 102 + SLACK, true, 3000), VOTEWATCH_SAME); /* moving */
    assert_int_equal(votewatch_observe(&w, 110, true, 3000 + AFTER - 1), VOTEWATCH_SAME);
    assert_false(w.not_voting);
    assert_int_equal(votewatch_observe(&w, 111, true, 3000 + AFTER), VOTEWATCH_STOPPED);
    assert_true(w.not_voting);
    assert_int_equal(votewatch_observe(&w, 200, true, 3000 + 5 * AFTER), VOTEWATCH_SAME); /* once */
    assert_int_equal(w.episodes, 1);
    votewatch_voted(&w, 201);
    assert_int_equal(votewatch_observe(&w, 201, true, 3000 + 5 * AFTER + 10), VOTEWATCH_RESUMED);
    assert_false(w.not_voting);
    /* A second episode counts again, with a fresh window. */
    assert_int_equal(votewatch_observe(&w, 300, true, 100000), VOTEWATCH_SAME);
    assert_int_equal(votewatch_observe(&w, 301, true, 100001), VOTEWATCH_SAME);
    assert_int_equal(votewatch_observe(&w, 302, true, 100001 + AFTER), VOTEWATCH_STOPPED);
    assert_int_equal(w.episodes, 2);
}

/* A restart far behind an idle chain (no vote is due) stays quiet however long it waits; the
 * window starts at the first block that commits without it, so a block after an hour of quiet
 * is not an alarm at once. */
static void test_idle_chain_and_restart(void **state) {
    (void)state;
    votewatch_t w = {0}; /* restarted: no vote yet this run */
    assert_int_equal(votewatch_observe(&w, 5000, true, 1), VOTEWATCH_SAME);
    for (uint64_t t = 2; t < 10 * AFTER; t += 500)
        assert_int_equal(votewatch_observe(&w, 5000, true, t), VOTEWATCH_SAME);
    assert_int_equal(votewatch_observe(&w, 5001, true, 3600000), VOTEWATCH_SAME);
    assert_false(w.not_voting);
    votewatch_voted(&w, 5002); /* it joins in time */
    assert_int_equal(votewatch_observe(&w, 5002, true, 3600000 + AFTER + 1), VOTEWATCH_SAME);
    assert_int_equal(votewatch_observe(&w, 5003, true, 3600000 + 3 * AFTER), VOTEWATCH_SAME);
    assert_false(w.not_voting);
}

/* A learner (not a validator of the epoch in force) never votes and is never "not voting";
 * a validator removed while reported is cleared. */
static void test_learner(void **state) {
    (void)state;
    votewatch_t w = {0};
    for (uint64_t h = 10, t = 1; h < 1000; h++, t += AFTER / 4)
        assert_int_equal(votewatch_observe(&w, h, false, t), VOTEWATCH_SAME);
    assert_false(w.not_voting);
    assert_int_equal(votewatch_observe(&w, 2000, true, 1000000), VOTEWATCH_SAME);
    assert_int_equal(votewatch_observe(&w, 2001, true, 1000001), VOTEWATCH_SAME);
    assert_int_equal(votewatch_observe(&w, 2002, true, 1000001 + AFTER), VOTEWATCH_STOPPED);
    assert_int_equal(votewatch_observe(&w, 2003, false, 1000002 + AFTER), VOTEWATCH_RESUMED);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_voting_node_is_quiet),
        cmocka_unit_test(test_chain_passes_it_by),
        cmocka_unit_test(test_idle_chain_and_restart),
        cmocka_unit_test(test_learner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
