/* test_censor.c - the rules of the watch on a primary passing a transaction over
 * (node/censor.h): what counts as a pass-over, the resend first, the suspicion after
 * CENSOR_PASSES_AFTER_RESEND more, and what ends or restarts the count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "censor.h"

#define GRACE 2000u

static censor_t watching_at(uint64_t seen_ms, uint64_t view) {
    censor_t c;
    censor_init(&c, GRACE);
    qc_hash_t id;
    memset(id.b, 7, sizeof id.b);
    censor_watch(&c, &id, seen_ms, view);
    return c;
}

/* Not watching: every block is nothing. */
static void test_idle(void **state) {
    (void)state;
    censor_t c;
    censor_init(&c, GRACE);
    assert_false(c.watching);
    assert_int_equal(censor_block(&c, 99999, 0, false, true, 99999), CENSOR_NONE);
    assert_false(c.watching);
}

/* A block counts only when it has room for the watched one's city and includes a transaction
 * that arrived a whole grace after it; then resend, then two more pass-overs (measured from
 * the resend) make the suspicion, and the count starts again. */
static void test_resend_then_suspect(void **state) {
    (void)state;
    censor_t c = watching_at(1000, 4);
    assert_int_equal(censor_block(&c, 5000, 4, false, true, 0), CENSOR_NONE);            /* none of ours */
    assert_int_equal(censor_block(&c, 5000, 4, false, true, 1000 + GRACE - 1), CENSOR_NONE); /* too close */
    assert_int_equal(censor_block(&c, 5000, 4, false, false, 4000), CENSOR_NONE);        /* city full */
    assert_int_equal(c.passes, 0);
    assert_int_equal(censor_block(&c, 5000, 4, false, true, 1000 + GRACE), CENSOR_RESEND);
    assert_true(c.resent);
    assert_int_equal(c.ref_ms, 5000);
    /* after the resend, a transaction must have arrived a grace after it */
    assert_int_equal(censor_block(&c, 6000, 4, false, true, 5000 + GRACE - 1), CENSOR_NONE);
    assert_int_equal(c.passes, 0);
    for (uint32_t k = 1; k < CENSOR_PASSES_AFTER_RESEND; k++) {
        assert_int_equal(censor_block(&c, 7100, 4, false, true, 7000), CENSOR_NONE);
        assert_int_equal(c.passes, k);
    }
    assert_int_equal(censor_block(&c, 7200, 4, false, true, 7100), CENSOR_SUSPECT);
    assert_int_equal(c.suspicions, 1);
    assert_true(c.watching);
    assert_int_equal(c.passes, 0);
    assert_int_equal(c.ref_ms, 7200);
    /* the next suspicion needs its own allowance again */
    assert_int_equal(censor_block(&c, 7300, 4, false, true, 7250), CENSOR_NONE);
    assert_int_equal(c.passes, 0);
}

/* A block that includes it ends the watch, whatever else it says. */
static void test_included_ends_watch(void **state) {
    (void)state;
    censor_t c = watching_at(1000, 0);
    assert_int_equal(censor_block(&c, 5000, 0, false, true, 4000), CENSOR_RESEND);
    assert_int_equal(censor_block(&c, 9000, 0, true, true, 8000), CENSOR_NONE);
    assert_false(c.watching);
    assert_int_equal(censor_block(&c, 9500, 0, false, true, 9400), CENSOR_NONE);
    assert_int_equal(c.suspicions, 0);
}

/* A new view gives its primary the whole allowance: the count and the resend start over from
 * the first block of that view, which itself counts for nothing. */
static void test_new_view_restarts(void **state) {
    (void)state;
    censor_t c = watching_at(1000, 2);
    assert_int_equal(censor_block(&c, 5000, 2, false, true, 4000), CENSOR_RESEND);
    assert_int_equal(censor_block(&c, 8000, 2, false, true, 7500), CENSOR_NONE);
    assert_int_equal(c.passes, 1);
    assert_int_equal(censor_block(&c, 8100, 3, false, true, 8050), CENSOR_NONE);
    assert_int_equal(c.view, 3);
    assert_false(c.resent);
    assert_int_equal(c.passes, 0);
    assert_int_equal(c.ref_ms, 8100);
    assert_int_equal(censor_block(&c, 9000, 3, false, true, 8100 + GRACE - 1), CENSOR_NONE);
    assert_int_equal(censor_block(&c, 10200, 3, false, true, 8100 + GRACE), CENSOR_RESEND);
}

/* clear and a new watch forget everything about the old one but the suspicions count. */
static void test_clear_and_rewatch(void **state) {
    (void)state;
    censor_t c = watching_at(1000, 0);
    assert_int_equal(censor_block(&c, 5000, 0, false, true, 4000), CENSOR_RESEND);
    censor_clear(&c);
    assert_false(c.watching);
    qc_hash_t other;
    memset(other.b, 9, sizeof other.b);
    censor_watch(&c, &other, 6000, 0);
    assert_true(c.watching);
    assert_false(c.resent);
    assert_memory_equal(c.id.b, other.b, 32);
    assert_int_equal(censor_block(&c, 7000, 0, false, true, 7000), CENSOR_NONE); /* 6000 + grace */
    assert_int_equal(censor_block(&c, 8000, 0, false, true, 8000), CENSOR_RESEND);
}

/* Under load the allowance grows to twice the longest recent admission-to-commit time (link and
 * mempool queues can hold one transaction back from the primary that long), decays back by
 * 1 ms every 4 ms, and never falls below grace_ms. */
static void test_grace_follows_latency(void **state) {
    (void)state;
    censor_t c = watching_at(1000, 0);
    assert_int_equal(censor_grace(&c, 1000), GRACE);
    censor_latency(&c, 10000, 5000); /* a transaction took 5 s */
    assert_int_equal(censor_grace(&c, 10000), 10000);
    assert_int_equal(censor_grace(&c, 14000), 8000); /* 1 s decayed */
    censor_latency(&c, 14000, 100);                  /* a fast one does not lower it */
    assert_int_equal(censor_grace(&c, 14000), 8000);
    assert_int_equal(censor_grace(&c, 60000), GRACE);
    /* a block including one that arrived 3 s after the watched one is no pass-over while
     * transactions take 5 s; it is once the allowance has decayed */
    censor_latency(&c, 20000, 5000);
    assert_int_equal(censor_block(&c, 20000, 0, false, true, 1000 + 3000), CENSOR_NONE);
    assert_int_equal(censor_block(&c, 40000, 0, false, true, 1000 + 3000), CENSOR_RESEND);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle),
        cmocka_unit_test(test_resend_then_suspect),
        cmocka_unit_test(test_included_ends_watch),
        cmocka_unit_test(test_new_view_restarts),
        cmocka_unit_test(test_clear_and_rewatch),
        cmocka_unit_test(test_grace_follows_latency),
    };
    return cmocka_run_group_tests_name("censor", tests, NULL, NULL);
}
