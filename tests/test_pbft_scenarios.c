/* test_pbft_scenarios.c - named PBFT scenarios run in the simulator, each checked two ways: its
 * own assertions, and its event trace against the expected trace in tests/pbft/<name>.trace,
 * so any change of behaviour shows up as a readable diff. QC_UPDATE_GOLDEN=1 rewrites the
 * expected traces; QC_SRCDIR names the source tree (default "."). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbft_sim.h"

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 4096 > cap) {
            cap = cap * 2 + 4096;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0) break;
    }
    fclose(f);
    return buf;
}

/* Runs o with an event trace; compares it with (or, QC_UPDATE_GOLDEN=1, writes) the golden. */
static void run_golden(const char *name, sim_opts_t *o, sim_result_t *r) {
    char *got = NULL;
    size_t got_len = 0;
    FILE *mem = open_memstream(&got, &got_len);
    assert_non_null(mem);
    o->trace = mem;
    o->trace_level = 1;
    int rc = sim_run(o, r);
    fclose(mem);
    if (rc != 0) printf("%s: %s\n", name, r->failure);
    assert_int_equal(rc, 0);
    const char *dir = getenv("QC_SRCDIR") ? getenv("QC_SRCDIR") : ".";
    char path[512];
    snprintf(path, sizeof path, "%s/tests/pbft/%s.trace", dir, name);
    const char *update = getenv("QC_UPDATE_GOLDEN");
    if (update && !strcmp(update, "1")) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(got, 1, got_len, f), got_len);
        fclose(f);
    } else {
        size_t want_len = 0;
        char *want = read_all(path, &want_len);
        if (!want) printf("missing %s (QC_UPDATE_GOLDEN=1 writes it)\n", path);
        assert_non_null(want);
        if (want_len != got_len || memcmp(want, got, got_len) != 0) {
            size_t line = 1, i = 0;
            while (i < got_len && i < want_len && got[i] == want[i]) line += got[i++] == '\n';
            printf("%s: trace differs from %s at line %zu (QC_UPDATE_GOLDEN=1 to accept)\n",
                   name, path, line);
            fail();
        }
        free(want);
    }
    free(got);
}

static void quiet(sim_opts_t *o, int n) {
    sim_opts_quiet(11, n, o);
    o->fault_ticks = 120;
    o->live_blocks = 4;
}

static void test_normal_case(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 4);
    run_golden("normal", &o, &r);
    assert_int_equal(r.view_changes, 0);
    assert_int_equal(r.view_max, 0);
    assert_true(r.min_height >= 30);
    assert_int_equal(r.rx_conflict, 0);
}

static void test_primary_crash(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 4);
    o.fault_ticks = 150;
    sim_add_event(&o, 20, SIM_EV_CRASH, 0, 0); /* the primary of view 0; back at the heal */
    run_golden("primary_crash", &o, &r);
    assert_int_equal(r.view_max, 1);
    assert_true(r.new_views >= 3);
    assert_int_equal(r.crashes, 1);
}

static void test_equivocating_primary(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 4);
    o.byz[0] = SIM_BYZ_EQUIVOCATE;
    o.twin_side[1] = 0;
    run_golden("equivocating_primary", &o, &r);
    assert_true(r.view_max >= 1);  /* it cannot get a block prepared: replaced */
    assert_true(r.rx_conflict > 0 || r.view_changes > 0);
}

static void test_view_change_during_view_change(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 7);
    o.fault_ticks = 200;
    sim_add_event(&o, 20, SIM_EV_CRASH, 0, 0); /* primary of view 0 */
    sim_add_event(&o, 40, SIM_EV_CRASH, 1, 0); /* primary of view 1, while the change to 1 runs */
    run_golden("view_change_during_view_change", &o, &r);
    assert_int_equal(r.view_max, 2);
    assert_int_equal(r.crashes, 2);
}

static void test_checkpoint_and_gc(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 4);
    o.core.checkpoint_interval = 2;
    o.core.window = 4;
    o.core.pipeline_max = 2;
    o.live_blocks = 12;
    run_golden("checkpoint_gc", &o, &r);
    assert_true(r.checkpoints >= 4 * 6);   /* every replica, every other height */
    assert_true(r.gc_slots >= 4 * 12);
}

static void test_crash_between_prepare_and_commit(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 4);
    o.fault_ticks = 150;
    sim_add_event(&o, 0, SIM_EV_CRASH_PREPARED, 2, 0);
    o.events[0].b = 3;  /* height */
    o.events[0].c = 40; /* down for 40 ticks */
    run_golden("crash_prepare_commit", &o, &r);
    assert_int_equal(r.crashes, 1);
    assert_int_equal(r.new_views, 0); /* the others never changed view */
}

/* n = 4, K = 2, L = 4: replica 3 is cut off from t=10 to t=120, long enough to need a state
 * transfer. */
static void cut_off_replica_3(sim_opts_t *o) {
    quiet(o, 4);
    o->core.checkpoint_interval = 2;
    o->core.window = 4;
    o->fault_ticks = 200;
    sim_add_event(o, 10, SIM_EV_PARTITION, 0, 1u << 3);
    sim_add_event(o, 120, SIM_EV_HEAL, 0, 0);
}

static void test_state_transfer_after_partition(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    cut_off_replica_3(&o);
    run_golden("state_transfer_partition", &o, &r);
    assert_true(r.transfers >= 1);
    assert_int_equal(r.new_views, 0); /* the isolated replica alone cannot move the view */
}

static void test_bad_new_view(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 4);
    o.fault_ticks = 150;
    o.byz[1] = SIM_BYZ_BAD_NV;         /* primary of view 1 */
    sim_add_event(&o, 20, SIM_EV_CRASH, 0, 0);
    run_golden("bad_new_view", &o, &r);
    assert_true(r.rx_bad_new_view >= 2);
    assert_true(r.view_max >= 2);
}

static void test_epoch_switch(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 4);
    o.epoch_at = 6; /* block 6 adds a fifth replica from checkpoint 8 on */
    o.live_blocks = 10;
    run_golden("epoch_switch", &o, &r);
    assert_int_equal(r.epoch_switches, 4);
    assert_true(r.min_height >= 14);
}

/* Two scripted validator-set changes (sim_add_epoch_change): block 6 adds replica 4 from
 * checkpoint 8 on, block 14 removes it again from checkpoint 16 on; it stops there idle, and
 * the four others go on in epoch 2. */
static void test_epoch_grow_then_shrink(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 4);
    sim_add_epoch_change(&o, 6, +1);
    sim_add_epoch_change(&o, 14, -1);
    o.live_blocks = 10;
    run_golden("epoch_grow_shrink", &o, &r);
    assert_int_equal(r.epoch_grows, 1);
    assert_int_equal(r.epoch_shrinks, 1);
    assert_int_equal(r.epoch_switches, 4 + 5); /* r0..r3 into epoch 1, then r0..r4 into 2 */
    assert_true(r.min_height >= 20);           /* replica 4, idle at 16, is not counted */
    assert_int_equal(r.epoch_catch_ups, 0);
}

static void test_epoch_grow_twice(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 4);
    sim_add_epoch_change(&o, 6, +1);  /* n = 5 from checkpoint 8 */
    sim_add_epoch_change(&o, 13, +1); /* n = 6 from checkpoint 16 */
    o.live_blocks = 10;
    run_golden("epoch_grow_twice", &o, &r);
    assert_int_equal(r.epoch_grows, 2);
    assert_int_equal(r.epoch_switches, 4 + 5);
    assert_true(r.min_height >= 20);
}

/* Issue 8 §3: replica 3 is down from before the first of two switches (block 6 adds replica 4
 * from checkpoint 8, block 13 adds replica 5 from 16) until long after the second. With no
 * help from its host beyond state transfer (no_epoch_catch_up), it votes its epoch-0 base,
 * gets epoch 0's final certificate from replicas already in epoch 2, fetches to 8 (block 6 in
 * the transfer), switches, does the same for epoch 1, and votes in epoch 2. */
static void test_offline_across_two_switches(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 4);
    o.fault_ticks = 320;
    o.no_epoch_catch_up = true;
    sim_add_epoch_change(&o, 6, +1);
    sim_add_epoch_change(&o, 13, +1);
    sim_add_event(&o, 3, SIM_EV_CRASH, 3, 0);
    sim_add_event(&o, 220, SIM_EV_RESTART, 3, 0);
    o.live_blocks = 6;
    run_golden("offline_two_switches", &o, &r);
    assert_int_equal(r.epoch_grows, 2);
    assert_int_equal(r.epoch_catch_ups, 0);
    assert_true(r.finals_sent >= 2);             /* epoch 0's and epoch 1's */
    assert_int_equal(r.epoch_of[3], 2);
    assert_true(r.commit_vote_time[3] > 220);    /* it votes again, in epoch 2 */
    assert_true(r.min_height >= 24);
}

/* Replica 3 is cut off before block 6 (which adds replica 4) and across the switch at 8: it
 * crosses through the old epoch's final checkpoint, a state transfer that carries block 6, and
 * the pbft_set_next_epoch call the host makes for it inside that transfer. */
static void test_epoch_decided_inside_transfer(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 4);
    o.fault_ticks = 200;
    sim_add_epoch_change(&o, 6, +1);
    sim_add_event(&o, 10, SIM_EV_PARTITION, 0, 1u << 3);
    sim_add_event(&o, 120, SIM_EV_HEAL, 0, 0);
    o.live_blocks = 6;
    run_golden("epoch_inside_transfer", &o, &r);
    assert_true(r.xfer_deciding >= 1);
    assert_int_equal(r.epoch_switches, 4);
    assert_int_equal(r.epoch_catch_ups, 0);
}

/* Replicas 2 and 3 lose every COMMIT and COMMIT-CERT of heights up to the switch while faults
 * last, though their own COMMITs help the others commit: replicas 0 and 1 apply checkpoint 8
 * and switch, and epoch 0's final checkpoint never gets its 3 signatures. Replicas 0 and 1
 * answer 2 and 3's epoch-0 messages with epoch 0's last stable checkpoint and the commit
 * certificates up to the switch, which they kept: 2 and 3 execute to 8, vote, and switch
 * through their cores alone; their hosts never need to sync past the switch. (Before the
 * core kept those certificates it stayed stuck here: a liveness failure that only the hosts'
 * catch-up, o.no_epoch_catch_up off, repaired.) */
static void test_epoch_catch_up(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 4);
    o.fault_ticks = 150;
    sim_add_epoch_change(&o, 6, +1);
    for (int i = 0; i < 2; i++)
        o.drops[o.drop_count++] = (sim_drop_t){
            .type = i ? PBFT_MSG_COMMIT_CERT : PBFT_MSG_COMMIT, .view = UINT64_MAX,
            .height_max = 8, .to_mask = 0xc};
    o.live_blocks = 6;
    o.no_epoch_catch_up = true;
    run_golden("epoch_catch_up", &o, &r);
    assert_int_equal(r.epoch_catch_ups, 0);
    assert_true(r.old_certs_sent >= 2);
    assert_true(r.min_height >= 14);
}

/* Replica 3, cut off, must state-transfer; it asks replica 0 first, a Byzantine source that
 * serves a corrupted batch. It refuses the batch, fetches from replica 1, and ends correct. */
static void test_byzantine_transfer_source(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    cut_off_replica_3(&o);
    o.byz[0] = SIM_BYZ_FORGE;
    run_golden("byzantine_transfer_source", &o, &r);
    assert_true(r.transfers >= 1);
    assert_true(r.xfer_lies >= 1);
    assert_true(r.xfer_refused >= 1);
}

/* The agreement violation found in review (issue 8), n = 4, replica 1 Byzantine (adaptive):
 * replica 0 commits block d at h=1 in view 0 but the COMMITs reach nobody else; the view
 * changes to 1 and replica 1's NEW-VIEW re-proposes d; replicas 2 and 3 crash while entering
 * view 1 with only `prefix` records of that outbox durable and restart together; replica 1
 * then sends them a conflicting PRE-PREPARE for h=1 with its COMMIT. A replica that restarted
 * "in view 1" without view 1's NEW-VIEW would commit the other block. */
static void crash_in_view_change_opts(sim_opts_t *o, uint64_t prefix, bool view_first) {
    quiet(o, 4);
    o->fault_ticks = 300;
    o->byz[1] = SIM_BYZ_ADAPTIVE;
    o->propose_max_height = 1;
    o->drops[o->drop_count++] = (sim_drop_t){.type = PBFT_MSG_COMMIT, .view = 0,
                                             .height_max = UINT64_MAX, .to_mask = 0xe};
    o->disk_view_first = view_first;
    for (int r = 2; r <= 3; r++) {
        sim_add_event(o, 0, SIM_EV_CRASH_AT_RECORD, r, 0);
        o->events[o->event_count - 1].b = SIM_TRIG_NEW_VIEW;
        o->events[o->event_count - 1].c = prefix;
        o->events[o->event_count - 1].d = 40;
    }
}

static void test_crash_in_view_change(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    crash_in_view_change_opts(&o, 2, false);
    run_golden("crash_in_view_change", &o, &r);
    assert_int_equal(r.record_crashes, 2);
    assert_true(r.adaptive_attacks >= 2);   /* both restarted replicas were targeted */
    assert_true(r.rx_conflict >= 2);        /* ... and refused the conflicting block */
    assert_true(r.min_height >= 4);
}

/* Every prefix of the outbox that enters view 1 is a state a disk can keep: with pbft.h's
 * order each one is safe; with VIEW records made durable first (the order before the fix)
 * the checker must report the violation for some prefix. */
static void test_crash_in_view_change_every_prefix(void **state) {
    (void)state;
    int legacy_violations = 0;
    for (uint64_t prefix = 0; prefix <= 8; prefix++) {
        sim_opts_t o;
        sim_result_t r;
        crash_in_view_change_opts(&o, prefix, false);
        int rc = sim_run(&o, &r);
        if (rc != 0) printf("prefix %llu: %s\n", (unsigned long long)prefix, r.failure);
        assert_int_equal(rc, 0);
        assert_int_equal(r.record_crashes, 2);
        crash_in_view_change_opts(&o, prefix, true);
        if (sim_run(&o, &r) != 0) {
            assert_non_null(strstr(r.failure, "agreement"));
            legacy_violations++;
        }
    }
    assert_true(legacy_violations >= 1);
}

/* A crash at every record boundary of the outboxes that make a checkpoint stable and that
 * switch the epoch, at every replica: each prefix restarts into a safe, live replica. */
static void test_crash_at_every_record_boundary(void **state) {
    (void)state;
    static const int triggers[2] = {SIM_TRIG_CHECKPOINT, SIM_TRIG_EPOCH};
    for (int t = 0; t < 2; t++)
        for (int node = 0; node < 4; node++)
            for (uint64_t prefix = 0; prefix <= 4; prefix++) {
                sim_opts_t o;
                sim_result_t r;
                quiet(&o, 4);
                o.fault_ticks = 200;
                o.live_blocks = 10;
                if (triggers[t] == SIM_TRIG_EPOCH) o.epoch_at = 6;
                sim_add_event(&o, 0, SIM_EV_CRASH_AT_RECORD, node, 0);
                o.events[0].b = (uint64_t)triggers[t];
                o.events[0].c = prefix;
                int rc = sim_run(&o, &r);
                if (rc != 0)
                    printf("trigger %d node %d prefix %llu: %s\n", triggers[t], node,
                           (unsigned long long)prefix, r.failure);
                assert_int_equal(rc, 0);
                assert_int_equal(r.record_crashes, 1);
            }
}

/* Issue 8 §5: a replica restarts into a world that has moved on (two view changes and many
 * blocks later) and its links come up one at a time. It must not move alone into a view of
 * its own while it cannot reach a quorum or is catching up; it joins the others' view by the
 * f+1 rule, catches up and votes again within REJOIN_VOTE_TICKS of links to a quorum being up
 * (docs/CONSENSUS.md §2, "Rejoining"). n = 7 (q = 5): r6 restarts cut off from everyone. */
#define REJOIN_VOTE_TICKS 120 /* 5 base view timeouts of the quiet options (24 ticks) */
static void test_restart_rejoins(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 7);
    o.fault_ticks = 700;
    sim_add_event(&o, 5, SIM_EV_CRASH, 6, 0);
    sim_add_event(&o, 20, SIM_EV_CRASH, 0, 0);   /* primary of view 0: the others go to 1 */
    sim_add_event(&o, 90, SIM_EV_RESTART, 0, 0);
    sim_add_event(&o, 120, SIM_EV_CRASH, 1, 0);  /* primary of view 1: on to view 2 */
    sim_add_event(&o, 190, SIM_EV_RESTART, 1, 0);
    sim_add_event(&o, 299, SIM_EV_PARTITION, 0, 1u << 6);
    sim_add_event(&o, 300, SIM_EV_RESTART, 6, 0);
    for (int peer = 0; peer < 6; peer++) {
        sim_add_event(&o, 340 + 40 * (uint64_t)peer, SIM_EV_LINK, 6, 0);
        o.events[o.event_count - 1].b = (uint64_t)peer;
    }
    run_golden("restart_rejoins", &o, &r);
    uint64_t quorum_links_at = 340 + 40 * 3; /* r6 and 4 peers: q = 5 */
    assert_int_equal(r.view_max_of[6], 2);
    assert_true(r.view_max_of[6] <= r.view_max_of[2]); /* it never ran ahead alone ... */
    assert_int_equal(r.vc_views_of[6] & 2, 0); /* ... nor changed to view 1 on its own */
    assert_int_not_equal(r.vc_views_of[6] & 4, 0); /* it joined view 2 by the f+1 rule */
    assert_true(r.commit_vote_time[6] > quorum_links_at);
    printf("restart_rejoins: r6 voted %llu ticks after links to a quorum were up\n",
           (unsigned long long)(r.commit_vote_time[6] - quorum_links_at));
    assert_true(r.commit_vote_time[6] - quorum_links_at <= REJOIN_VOTE_TICKS);
}

/* ---------------------------------------------------------------- issue 10: governance */
/* The base of the governance scenarios: n quiet replicas, faults for 200 ticks, and one change
 * decided by block 6 (checkpoint 8 with K = 4); delta 2 (no change) for epoch_at callers. */
static void one_change(sim_opts_t *o, int n, int delta, int index, sim_leave_t leave) {
    quiet(o, n);
    o->fault_ticks = 200;
    o->live_blocks = 8;
    if (delta <= 1) sim_add_epoch_change_at(o, 6, delta, index, leave);
}

/* A run whose leaver kept sending: it passes, every such vote that reached a member was
 * refused (sim_deliver), and the chain reached h = 16 past the switch. */
static void assert_leaver_refused(sim_opts_t *o, sim_result_t *r, uint64_t min_removed) {
    int rc = sim_run(o, r);
    if (rc != 0) printf("%s\n", r->failure);
    assert_int_equal(rc, 0);
    assert_true(r->removed_msgs >= min_removed);
    assert_true(r->min_height >= 16);
}
/* Reconfiguration under faults: block 6 removes replica 2 of 5 (replicas 3 and 4 become
 * indices 2 and 3 from checkpoint 8 on) while replica 4 is cut off from t=10 to t=120, across
 * the switch, and replica 1 is down from t=20 to t=90. Replica 4 crosses the switch by the
 * old epoch's final certificate and a state transfer and votes at its new index. */
static void test_epoch_partition_crash_across_switch(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 5);
    o.fault_ticks = 250;
    sim_add_epoch_change_at(&o, 6, -1, 2, SIM_LEAVE_IDLE);
    sim_add_event(&o, 10, SIM_EV_PARTITION, 0, 1u << 4);
    sim_add_event(&o, 20, SIM_EV_CRASH, 1, 0);
    sim_add_event(&o, 90, SIM_EV_RESTART, 1, 0);
    sim_add_event(&o, 120, SIM_EV_HEAL, 0, 0);
    o.live_blocks = 8;
    run_golden("epoch_partition_crash", &o, &r);
    assert_int_equal(r.epoch_shrinks, 1);
    assert_int_equal(r.crashes, 1);
    assert_true(r.transfers >= 1);
    assert_int_equal(r.epoch_of[4], 1);
    assert_true(r.commit_vote_time[4] > 0);
    assert_true(r.min_height >= 20);
}

/* One run of the boundary crash: the replicas in `who` crash when their outbox records EPOCH,
 * with `prefix` of its records durable, and restart 20 ticks later. */
static int run_boundary_crash(sim_opts_t *o, const int *who, int count, uint64_t prefix,
                              sim_result_t *r) {
    for (int i = 0; i < count; i++) {
        sim_add_event(o, 0, SIM_EV_CRASH_AT_RECORD, who[i], 0);
        o->events[o->event_count - 1].b = SIM_TRIG_EPOCH;
        o->events[o->event_count - 1].c = prefix;
    }
    int rc = sim_run(o, r);
    if (rc != 0) printf("prefix %llu: %s\n", (unsigned long long)prefix, r->failure);
    return rc;
}

/* The primary at the epoch boundary crashes as it switches. Golden: n = 4, block 6 adds
 * replica 4; replica 0, primary of view 0 in epoch 0 and again in epoch 1, crashes in the
 * outbox that records EPOCH with its first record durable: epoch 1 changes view without it,
 * and it rejoins. Then every prefix of that outbox, for two shapes: the same growth, and
 * n = 5 where block 6 removes index 0 (the old primary leaves; replica 1 is the first
 * primary of epoch 1), with both the old and the new primary crashing at the boundary. */
static void test_primary_crash_at_switch(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    one_change(&o, 4, 2, 0, SIM_LEAVE_IDLE);
    o.epoch_at = 6;
    sim_add_event(&o, 0, SIM_EV_CRASH_AT_RECORD, 0, 0);
    o.events[0].b = SIM_TRIG_EPOCH;
    o.events[0].c = 1;
    run_golden("primary_crash_at_switch", &o, &r);
    assert_int_equal(r.record_crashes, 1);
    assert_int_equal(r.epoch_grows, 1);
    assert_true(r.view_max >= 1);
    assert_int_equal(r.epoch_of[0], 1);
    assert_true(r.min_height >= 16);
    static const int old_primary[1] = {0}, both[2] = {0, 1};
    for (uint64_t prefix = 0; prefix <= 5; prefix++) {
        one_change(&o, 4, 2, 0, SIM_LEAVE_IDLE);
        o.epoch_at = 6;
        assert_int_equal(run_boundary_crash(&o, old_primary, 1, prefix, &r), 0);
        assert_int_equal(r.record_crashes, 1);
        one_change(&o, 5, -1, 0, SIM_LEAVE_IDLE);
        assert_int_equal(run_boundary_crash(&o, both, 2, prefix, &r), 0);
        assert_int_equal(r.record_crashes, 2);
        assert_int_equal(r.epoch_of[1], 1);
        assert_true(r.min_height >= 16);
    }
}

/* A removed key in an attacker's hands: block 6 removes replica 1 of 5 and its key keeps
 * signing PREPAREs, COMMITs, CHECKPOINTs and VIEW-CHANGEs of epoch 1 as index 1 (now replica
 * 2's index) and conflicting COMMITs for epoch-0 heights. Honest members refuse every one
 * (sim_deliver fails the run otherwise), commit certificates hold only epoch-1 keys, and the
 * chain goes on. */
static void test_removed_key_keeps_voting(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    one_change(&o, 5, -1, 1, SIM_LEAVE_BYZ);
    run_golden("removed_key_votes", &o, &r);
    assert_int_equal(r.epoch_shrinks, 1);
    assert_true(r.removed_msgs >= 20);
    assert_true(r.rx_bad_sig >= 20); /* index 1 is replica 2's key in epoch 1 */
    assert_true(r.min_height >= 16);
    /* the last index removed: its votes name an index epoch 1 does not have */
    one_change(&o, 5, -1, 4, SIM_LEAVE_BYZ);
    assert_leaver_refused(&o, &r, 20);
}

/* A removed replica whose host was never told (honest code, stale configuration): block 6
 * removes replica 2 of 5, which switches at checkpoint 8 still believing itself index 2 of
 * five and goes on sending epoch-1 votes with its key; index 2 is replica 3's. */
static void test_removed_stale_host_keeps_sending(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    one_change(&o, 5, -1, 2, SIM_LEAVE_STALE);
    run_golden("removed_stale_host", &o, &r);
    assert_int_equal(r.epoch_shrinks, 1);
    assert_int_equal(r.epoch_of[2], 1);
    assert_true(r.removed_msgs >= 4);
    assert_true(r.rx_bad_sig >= 4);
    assert_true(r.min_height >= 16);
}

/* Key rotation: block 6 hands index 1 to a new key (identity 4) from checkpoint 8 on. Replica
 * 3 is silent (Byzantine, f = 1), so epoch 1 commits only if index 1's votes under the new key
 * count (q = 3 of 0, 1, 2); the old key's host, stale, goes on signing as index 1 and every
 * such vote is refused. Then the same rotation at n = 5 with the old key in an attacker's
 * hands. */
static void test_key_rotation(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    one_change(&o, 4, 0, 1, SIM_LEAVE_STALE);
    o.byz[3] = SIM_BYZ_SILENT;
    run_golden("key_rotation", &o, &r);
    assert_int_equal(r.epoch_rotations, 1);
    assert_int_equal(r.epoch_of[4], 1);
    assert_true(r.commit_vote_time[4] > 0);
    assert_true(r.removed_msgs >= 4);
    assert_true(r.rx_bad_sig >= 4);
    assert_true(r.min_height >= 16);
    one_change(&o, 5, 0, 1, SIM_LEAVE_BYZ);
    assert_leaver_refused(&o, &r, 20);
    assert_int_equal(r.epoch_rotations, 1);
}

/* n grows 4 -> 10 one joiner per change (blocks 6, 14, ..., 46; checkpoints 8 .. 48). */
static void test_epoch_grow_4_to_10(void **state) {
    (void)state;
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 4);
    o.fault_ticks = 300;
    o.live_blocks = 8;
    for (int i = 0; i < 6; i++) sim_add_epoch_change(&o, 6 + 8 * (uint64_t)i, +1);
    run_golden("epoch_grow_4_to_10", &o, &r);
    assert_int_equal(r.epoch_grows, 6);
    assert_int_equal(r.epoch_of[9], 6);
    assert_true(r.commit_vote_time[9] > 0);
    assert_true(r.min_height >= 56);
}

/* n shrinks 10 -> 4 removing middle members (indices 3, 0, 5, 2, 4, 1 of the epoch each
 * change leaves), so the survivors' indices shift at every switch. */
static void test_epoch_shrink_10_to_4(void **state) {
    (void)state;
    static const int removed_index[6] = {3, 0, 5, 2, 4, 1};
    sim_opts_t o;
    sim_result_t r;
    quiet(&o, 10);
    o.fault_ticks = 300;
    o.live_blocks = 8;
    for (int i = 0; i < 6; i++)
        sim_add_epoch_change_at(&o, 6 + 8 * (uint64_t)i, -1, removed_index[i], SIM_LEAVE_IDLE);
    run_golden("epoch_shrink_10_to_4", &o, &r);
    assert_int_equal(r.epoch_shrinks, 6);
    /* identities 3, 0, 7, 4, 8, 2 leave in turn; 1, 5, 6, 9 remain */
    static const int stay[4] = {1, 5, 6, 9};
    for (int i = 0; i < 4; i++) assert_int_equal(r.epoch_of[stay[i]], 6);
    assert_true(r.min_height >= 56);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_case),
        cmocka_unit_test(test_primary_crash),
        cmocka_unit_test(test_equivocating_primary),
        cmocka_unit_test(test_view_change_during_view_change),
        cmocka_unit_test(test_checkpoint_and_gc),
        cmocka_unit_test(test_crash_between_prepare_and_commit),
        cmocka_unit_test(test_state_transfer_after_partition),
        cmocka_unit_test(test_bad_new_view),
        cmocka_unit_test(test_epoch_switch),
        cmocka_unit_test(test_epoch_grow_then_shrink),
        cmocka_unit_test(test_epoch_grow_twice),
        cmocka_unit_test(test_epoch_decided_inside_transfer),
        cmocka_unit_test(test_epoch_catch_up),
        cmocka_unit_test(test_byzantine_transfer_source),
        cmocka_unit_test(test_crash_in_view_change),
        cmocka_unit_test(test_crash_in_view_change_every_prefix),
        cmocka_unit_test(test_crash_at_every_record_boundary),
        cmocka_unit_test(test_restart_rejoins),
        cmocka_unit_test(test_offline_across_two_switches),
        cmocka_unit_test(test_epoch_partition_crash_across_switch),
        cmocka_unit_test(test_primary_crash_at_switch),
        cmocka_unit_test(test_removed_key_keeps_voting),
        cmocka_unit_test(test_removed_stale_host_keeps_sending),
        cmocka_unit_test(test_key_rotation),
        cmocka_unit_test(test_epoch_grow_4_to_10),
        cmocka_unit_test(test_epoch_shrink_10_to_4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
