/* bench_log.c - record-log throughput: appends, inclusion proof generation and verification,
 * consistency proof generation and verification, over an in-memory subtree store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memlog.h"
#include "rlog.h"

#define LOG_SIZE 1000000u     /* leaves: not a power of two, so proofs cross the right edge */
#define PROOF_ITERATIONS 100000u
#define ROOT_LEAVES 1000u     /* a block of 1,000 records: its tx-root-style MTH from scratch */
#define ROOT_ITERATIONS 2000u

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0xb5eed;
static uint64_t rng_below(uint64_t n) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return (z ^ (z >> 31)) % n;
}

static void cpu_model(char *out, size_t cap) {
    snprintf(out, cap, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL) return;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
            snprintf(out, cap, "%s", colon + 2);
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
}

static void report(const char *what, uint64_t ops, double seconds, const char *extra) {
    printf("  %-36s %9.0f /s  (%llu in %.3f s%s)\n", what, (double)ops / seconds,
           (unsigned long long)ops, seconds, extra);
}

/* A proof plan drawn before timing, so the timed loops measure only rlog and merkle work. */
typedef struct {
    uint64_t a, n; /* (index, size) or (size1, size2) */
    qc_hash_t proof[MERKLE_PROOF_MAX];
    size_t len;
} bench_proof_t;

static int bench_inclusion(const rlog_reader_t *r, memlog_t *store, const qc_hash_t *leaves,
                           const qc_hash_t *head_root, bench_proof_t *p, uint64_t iters) {
    for (uint64_t i = 0; i < iters; i++) {
        p[i].n = (i & 1) ? LOG_SIZE : 1 + rng_below(LOG_SIZE); /* head, or any past size */
        p[i].a = rng_below(p[i].n);
    }
    uint64_t gets = store->gets;
    double t0 = now_s();
    for (uint64_t i = 0; i < iters; i++) {
        if (rlog_inclusion_proof(r, p[i].a, p[i].n, p[i].proof, &p[i].len) != QC_OK) return 1;
    }
    double t1 = now_s();
    char extra[64];
    snprintf(extra, sizeof extra, ", %.1f reads each", (double)(store->gets - gets) / (double)iters);
    report("inclusion proof generation", iters, t1 - t0, extra);
    /* Roots at past sizes are the tree heads a client already holds; fetched untimed. */
    qc_hash_t *heads = malloc(iters * sizeof *heads);
    if (heads == NULL) return 1;
    for (uint64_t i = 0; i < iters; i++) {
        if (p[i].n == LOG_SIZE) heads[i] = *head_root;
        else if (rlog_root_at(r, p[i].n, &heads[i]) != QC_OK) return 1;
    }
    t0 = now_s();
    int bad = 0;
    for (uint64_t i = 0; i < iters; i++) {
        bad |= merkle_verify_inclusion(&leaves[p[i].a], p[i].a, p[i].n, p[i].proof, p[i].len,
                                       &heads[i]);
    }
    t1 = now_s();
    free(heads);
    report("inclusion proof verification", iters, t1 - t0, "");
    return bad != QC_OK;
}

static int bench_consistency(const rlog_reader_t *r, memlog_t *store, bench_proof_t *p,
                             uint64_t iters) {
    for (uint64_t i = 0; i < iters; i++) {
        p[i].n = (i & 1) ? LOG_SIZE : 2 + rng_below(LOG_SIZE - 1);
        p[i].a = 1 + rng_below(p[i].n - 1);
    }
    qc_hash_t(*heads)[2] = malloc(iters * sizeof *heads);
    if (heads == NULL) return 1;
    for (uint64_t i = 0; i < iters; i++) {
        if (rlog_root_at(r, p[i].a, &heads[i][0]) != QC_OK) return 1;
        if (rlog_root_at(r, p[i].n, &heads[i][1]) != QC_OK) return 1;
    }
    uint64_t gets = store->gets;
    double t0 = now_s();
    for (uint64_t i = 0; i < iters; i++) {
        if (rlog_consistency_proof(r, p[i].a, p[i].n, p[i].proof, &p[i].len) != QC_OK) return 1;
    }
    double t1 = now_s();
    char extra[64];
    snprintf(extra, sizeof extra, ", %.1f reads each", (double)(store->gets - gets) / (double)iters);
    report("consistency proof generation", iters, t1 - t0, extra);
    int bad = 0;
    t0 = now_s();
    for (uint64_t i = 0; i < iters; i++) {
        bad |= merkle_verify_consistency(p[i].a, p[i].n, &heads[i][0], &heads[i][1], p[i].proof,
                                         p[i].len);
    }
    t1 = now_s();
    report("consistency proof verification", iters, t1 - t0, "");
    free(heads);
    return bad != QC_OK;
}

int main(void) {
    char cpu[128];
    cpu_model(cpu, sizeof cpu);
    printf("bench_log: record log of %u leaves in an in-memory subtree store (tests/lib/memlog),"
           " %u random proofs of each kind (half at the head, half at random past sizes), on %s\n",
           LOG_SIZE, PROOF_ITERATIONS, cpu);
    qc_hash_t *leaves = malloc(LOG_SIZE * sizeof *leaves);
    bench_proof_t *proofs = malloc(PROOF_ITERATIONS * sizeof *proofs);
    if (leaves == NULL || proofs == NULL || qc_crypto_init() != QC_OK) return 1;
    double t0 = now_s();
    for (uint32_t i = 0; i < LOG_SIZE; i++) merkle_leaf_hash(&leaves[i], &i, sizeof i);
    double t1 = now_s();
    report("leaf hashes (4-byte records)", LOG_SIZE, t1 - t0, "");

    memlog_t store;
    memlog_init(&store);
    rlog_reader_t reader = memlog_reader(&store);
    rlog_t log;
    if (rlog_open(&log, 0, &reader) != QC_OK) return 1;
    t0 = now_s();
    for (uint32_t i = 0; i < LOG_SIZE; i++) {
        if (rlog_append(&log, &leaves[i], memlog_put, &store) != QC_OK) return 1;
    }
    t1 = now_s();
    char extra[64];
    snprintf(extra, sizeof extra, ", %.2f subtree writes each", (double)store.puts / LOG_SIZE);
    report("appends", LOG_SIZE, t1 - t0, extra);

    qc_hash_t root, scratch;
    rlog_root(&log, &root);
    t0 = now_s();
    merkle_root(&scratch, leaves, LOG_SIZE);
    t1 = now_s();
    printf("  %-36s %9.3f s   (%s)\n", "MTH of 1M leaves from scratch", t1 - t0,
           memcmp(&root, &scratch, sizeof root) == 0 ? "equals the log's root" : "MISMATCH");
    if (memcmp(&root, &scratch, sizeof root) != 0) return 1;
    t0 = now_s();
    for (uint32_t i = 0; i < ROOT_ITERATIONS; i++) merkle_root(&scratch, leaves + i, ROOT_LEAVES);
    t1 = now_s();
    report("MTH of 1,000 leaves (a block)", ROOT_ITERATIONS, t1 - t0, "");

    int rc = bench_inclusion(&reader, &store, leaves, &root, proofs, PROOF_ITERATIONS);
    rc |= bench_consistency(&reader, &store, proofs, PROOF_ITERATIONS);
    memlog_free(&store);
    free(proofs);
    free(leaves);
    if (rc != 0) fprintf(stderr, "bench_log: a proof failed to generate or verify\n");
    return rc;
}
