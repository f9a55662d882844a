/* bench_pbft.c - the PBFT core's own cost per committed block, with no network: n = 4 and
 * n = 9 replicas in a lockstep cluster (FIFO delivery, instant persistence and validation,
 * fake MAC signatures), the primary keeping its pipeline full. Reports CPU µs per block (all
 * replicas, and inside the core only), messages and signature operations per block, and what
 * the same verifications would cost with Ed25519 on this machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "pbft.h"
#include "pbft_cluster.h"

static pc_t C;

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Ed25519 verifications per second on this machine (libsodium), to price the real thing. */
static double ed25519_verify_us(void) {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    unsigned char sig[crypto_sign_BYTES], msg[120];
    memset(msg, 7, sizeof msg);
    crypto_sign_keypair(pk, sk);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    const int iters = 4000;
    double t0 = cpu_s();
    for (int i = 0; i < iters; i++)
        if (crypto_sign_verify_detached(sig, msg, sizeof msg, pk) != 0) abort();
    return (cpu_s() - t0) * 1e6 / iters;
}

static void run(int n, uint64_t blocks, double ed_us) {
    pbft_config_t cfg;
    pbft_config_default(&cfg);
    cfg.checkpoint_interval = 16;
    cfg.window = 32;
    cfg.pipeline_max = 8;
    pc_init(&C, n, &cfg);
    uint64_t signs0 = 0;
    double t0 = cpu_s();
    while (C.node[0].height < blocks) {
        while (C.block_salt < blocks && pc_propose(&C, 0, NULL) == QC_OK) {}
        pc_run(&C, SIZE_MAX);
    }
    double cpu = cpu_s() - t0;
    uint64_t signs = 0, sent = 0;
    for (int i = 0; i < n; i++) {
        if (C.node[i].height < blocks) abort(); /* every replica committed every block */
        signs += pbft_stats(C.node[i].core)->sig_signs;
        sent += pbft_stats(C.node[i].core)->msgs_out;
    }
    double per = (double)blocks;
    double verifies = (double)C.verifies / per;
    printf("n=%d q=%d: %llu blocks, K=%u L=%u pipeline=%u\n", n, pbft_quorum(n),
           (unsigned long long)blocks, cfg.checkpoint_interval, cfg.window, cfg.pipeline_max);
    printf("  CPU per committed block, all %d replicas: %.1f us (inside the core: %.1f us,"
           " i.e. %.1f us per replica)\n", n, cpu * 1e6 / per, (double)C.core_ns / 1e3 / per,
           (double)C.core_ns / 1e3 / per / n);
    printf("  messages per block: %.1f delivered (%.1f sent, broadcast counted once);"
           " signatures per block: %.1f made, %.1f verified (%.1f per replica)\n",
           (double)C.delivered / per, (double)sent / per, (double)(signs - signs0) / per,
           verifies, verifies / n);
    printf("  with Ed25519 (%.1f us per verification here) the verifications would add %.0f us"
           " of CPU per block per replica\n", ed_us, verifies / n * ed_us);
    pc_free(&C);
    memset(&C, 0, sizeof C);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    double ed_us = ed25519_verify_us();
    printf("bench_pbft: PBFT core, lockstep cluster without network or disk, fake MAC signatures\n");
    run(4, 20000, ed_us);
    run(9, 10000, ed_us);
    return 0;
}
