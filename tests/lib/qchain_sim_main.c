/* qchain_sim_main.c - `qchain_sim`: runs the PBFT simulator over many seeds (`--seeds N`,
 * optionally `--from S`) or replays one seed with a readable trace (`--seed S --trace`, add
 * `--messages` for every delivered message; `--no-catch-up` leaves the crossing of epoch switches
 * to the core alone). Exit status 1 if any seed fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbft_sim.h"

static void usage(void) {
    fprintf(stderr, "usage: qchain_sim --seeds N [--from S] | --seed S [--trace] [--messages] "
                    "[--no-catch-up]\n");
    exit(2);
}

static int replay(uint64_t seed, int level, bool no_catch_up) {
    sim_opts_t o;
    sim_result_t r;
    sim_opts_from_seed(seed, &o);
    o.no_epoch_catch_up = no_catch_up;
    o.trace = level ? stdout : NULL;
    o.trace_level = level;
    int rc = sim_run(&o, &r);
    printf("seed %llu: %s; heights %llu..%llu, max view %llu, %llu view changes, %llu transfers,"
           " %llu crashes, %llu messages; %llu epoch switches, %llu catch-ups; %llu refused "
           "transfer batches\n", (unsigned long long)seed, rc == 0 ? "ok" : r.failure,
           (unsigned long long)r.min_height, (unsigned long long)r.max_height,
           (unsigned long long)r.view_max, (unsigned long long)r.view_changes,
           (unsigned long long)r.transfers, (unsigned long long)r.crashes,
           (unsigned long long)r.msgs_sent, (unsigned long long)r.epoch_switches,
           (unsigned long long)r.epoch_catch_ups, (unsigned long long)r.xfer_refused);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    uint64_t seeds = 0, from = 1, seed = 0;
    int level = 0;
    bool one = false, no_catch_up = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seeds") && i + 1 < argc) seeds = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--from") && i + 1 < argc) from = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
            one = true;
        } else if (!strcmp(argv[i], "--trace")) level = level > 1 ? level : 1;
        else if (!strcmp(argv[i], "--messages")) level = 2;
        else if (!strcmp(argv[i], "--no-catch-up")) no_catch_up = true;
        else usage();
    }
    if (one) return replay(seed, level, no_catch_up);
    if (!seeds) usage();
    sim_sweep_t st;
    return sim_sweep(from, seeds, stdout, &st) ? 1 : 0;
}
