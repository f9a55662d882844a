/* qchain_sim_main.c - `qchain_sim`: runs the PBFT simulator over many seeds (`--seeds N`,
 * optionally `--from S`) or replays one seed with a readable trace (`--seed S --trace`, add
 * `--messages` for every delivered message). Exit status 1 if any seed fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pbft_sim.h"

static void usage(void) {
    fprintf(stderr, "usage: qchain_sim --seeds N [--from S] | --seed S [--trace] [--messages]\n");
    exit(2);
}

static int replay(uint64_t seed, int level) {
    sim_opts_t o;
    sim_result_t r;
    sim_opts_from_seed(seed, &o);
    o.trace = level ? stdout : NULL;
    o.trace_level = level;
    int rc = sim_run(&o, &r);
    printf("seed %llu: %s; heights %llu..%llu, max view %llu, %llu view changes, %llu transfers,"
           " %llu crashes, %llu messages\n", (unsigned long long)seed, rc == 0 ? "ok" : r.failure,
           (unsigned long long)r.min_height, (unsigned long long)r.max_height,
           (unsigned long long)r.view_max, (unsigned long long)r.view_changes,
           (unsigned long long)r.transfers, (unsigned long long)r.crashes,
           (unsigned long long)r.msgs_sent);
    return rc == 0 ? 0 : 1;
}

static int sweep(uint64_t from, uint64_t count) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t failed = 0, blocks = 0, vcs = 0, by_n[17] = {0};
    for (uint64_t seed = from; seed < from + count; seed++) {
        sim_opts_t o;
        sim_result_t r;
        sim_opts_from_seed(seed, &o);
        if (sim_run(&o, &r) != 0) {
            failed++;
            printf("FAIL %s\n  replay: make sim SEED=%llu\n", r.failure, (unsigned long long)seed);
        }
        blocks += r.max_height;
        vcs += r.view_changes;
        by_n[o.n]++;
        if ((seed - from + 1) % 10000 == 0) {
            printf("... %llu seeds, %llu failed\n", (unsigned long long)(seed - from + 1),
                   (unsigned long long)failed);
            fflush(stdout);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%llu seeds (%llu..%llu) in %.1f s: %llu failed; n=4:%llu 5:%llu 7:%llu 9:%llu 10:%llu;"
           " %llu blocks, %llu view changes\n", (unsigned long long)count,
           (unsigned long long)from, (unsigned long long)(from + count - 1), secs,
           (unsigned long long)failed, (unsigned long long)by_n[4], (unsigned long long)by_n[5],
           (unsigned long long)by_n[7], (unsigned long long)by_n[9], (unsigned long long)by_n[10],
           (unsigned long long)blocks, (unsigned long long)vcs);
    return failed ? 1 : 0;
}

int main(int argc, char **argv) {
    uint64_t seeds = 0, from = 1, seed = 0;
    int level = 0;
    bool one = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seeds") && i + 1 < argc) seeds = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--from") && i + 1 < argc) from = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
            one = true;
        } else if (!strcmp(argv[i], "--trace")) level = level > 1 ? level : 1;
        else if (!strcmp(argv[i], "--messages")) level = 2;
        else usage();
    }
    if (one) return replay(seed, level);
    if (!seeds) usage();
    return sweep(from, seeds);
}
