/* test_pbft_sim.c - the PBFT simulator in CI: thousands of seeds across cluster sizes, fault
 * mixes, Byzantine kinds and validator-set changes must pass every checker (QC_SIM_SEEDS,
 * default 2000; QC_SIM_FROM moves the range); a run with f+1 Byzantine twins must make the
 * agreement checker fire; a seed replays to the identical trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbft_sim.h"

static uint64_t env_u64(const char *name, uint64_t dflt) {
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : dflt;
}

static void test_many_seeds(void **state) {
    (void)state;
    sim_sweep_t st;
    uint64_t count = env_u64("QC_SIM_SEEDS", 2000), from = env_u64("QC_SIM_FROM", 1);
    assert_int_equal(sim_sweep(from, count, stdout, &st), 0);
    if (count >= 200) { /* the seeds really cover the sizes, kinds and faults */
        static const int sizes[5] = {4, 5, 7, 9, 10};
        for (int i = 0; i < 5; i++) assert_true(st.by_n[sizes[i]] > 0);
        for (int k = 1; k < SIM_BYZ_KINDS; k++) assert_true(st.by_byz[k] > 0);
        assert_true(st.view_changes > 0 && st.transfers > 0 && st.crashes > 0);
        assert_true(st.record_crashes > 0 && st.adaptive_attacks > 0);
        assert_true(st.partitions > 0 && st.lossy > 0 && st.bad_sig > 0);
        assert_true(st.bad_new_view > 0 && st.bad_view_change > 0);
        /* validator sets grew and shrank, a deciding block arrived inside a state transfer,
         * and Byzantine transfer sources were caught */
        assert_true(st.epoch_grows > 0 && st.epoch_shrinks > 0 && st.xfer_deciding > 0);
        assert_true(st.xfer_lies > 0 && st.xfer_refused > 0);
        /* issue 10: changes meet partitions, crashes and Byzantine replicas; keys rotated;
         * removed identities kept sending and every such vote was refused */
        assert_true(st.epoch_faults[0] > 0 && st.epoch_faults[1] > 0 && st.epoch_faults[2] > 0);
        assert_true(st.epoch_rotations > 0 && st.removed_msgs > 0);
    }
}

/* f+1 Byzantine replicas are beyond what PBFT tolerates: the checker must notice. */
static void run_twins_beyond_f(int n) {
    sim_opts_t o;
    sim_result_t r;
    sim_opts_quiet(7, n, &o);
    int f = pbft_max_faulty(n);
    for (int i = 0; i <= f; i++) o.byz[i] = SIM_BYZ_TWIN; /* f+1 twin pairs, one per side */
    for (int i = f + 1; i < n; i++) o.twin_side[i] = i % 2; /* honest replicas split in two */
    assert_int_equal(sim_run(&o, &r), -1);
    printf("n=%d with %d twins: %s\n", n, f + 1, r.failure);
    assert_non_null(strstr(r.failure, "agreement"));
    for (int i = 0; i < f; i++) o.byz[i] = SIM_BYZ_TWIN; /* f of them: tolerated */
    o.byz[f] = SIM_BYZ_NONE;
    assert_int_equal(sim_run(&o, &r), 0);
}

static void test_f_plus_one_byzantine_detected(void **state) {
    (void)state;
    run_twins_beyond_f(4);
    run_twins_beyond_f(7);
}

static char *trace_of(uint64_t seed, size_t *len) {
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    assert_non_null(f);
    sim_opts_t o;
    sim_result_t r;
    sim_opts_from_seed(seed, &o);
    o.trace = f;
    o.trace_level = 2;
    (void)sim_run(&o, &r);
    fclose(f);
    return buf;
}

static void test_seed_replays_exactly(void **state) {
    (void)state;
    size_t la, lb;
    char *a = trace_of(4242, &la), *b = trace_of(4242, &lb);
    assert_true(la > 1000);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
}

/* Seeds the long sweeps failed on, each fixed since (they replay exactly while the simulator's
 * seed derivation stays as it is, and stay ordinary seeds after that):
 *   25431  the simulated disk freed records it already owned after a crash-at-prepared;
 *   532773 a state transfer completed after execution had passed its target (core assertion);
 *   69895  a restarted replica had lost its vote for the checkpoint at its ledger head, which
 *          the others held stable: no quorum there, so the primary's window never moved;
 *   559076 the only replica holding the commit certificates up to a switch had been removed
 *          by it and answered the laggards as "not a member";
 *   622572 PRE-PREPAREs kept early for a view of the old epoch were replayed in the same view
 *          number of the new epoch: a replica voted for a block nobody proposed there;
 *   320606, 853585 (simulator) every honest replica reached an epoch by its host's catch-up,
 *          and the epoch's new validator was never started. */
static void test_regression_seeds(void **state) {
    (void)state;
    static const uint64_t seeds[] = {25431, 532773, 69895, 559076, 622572, 320606, 853585};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        sim_opts_t o;
        sim_result_t r;
        sim_opts_from_seed(seeds[i], &o);
        int rc = sim_run(&o, &r);
        if (rc != 0) printf("%s\n", r.failure);
        assert_int_equal(rc, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regression_seeds),
        cmocka_unit_test(test_f_plus_one_byzantine_detected),
        cmocka_unit_test(test_seed_replays_exactly),
        cmocka_unit_test(test_many_seeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
