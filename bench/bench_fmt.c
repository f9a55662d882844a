/* bench_fmt.c - transaction costs on one core: signature verifications/s (the bound on how
 * many transactions a node can admit), strict parses/s, and signing/s, for transactions of 1
 * and of 100 records; plus block tx-root and header hashing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
#include "testkeys.h"

#define TXS 2000

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *what, unsigned ops, double secs) {
    printf("  %-44s %10.0f /s  (%u in %.3f s)\n", what, ops / secs, ops, secs);
}

static void make_txs(qc_tx_t *txs, int records) {
    qc_pubkey_t pk;
    qc_seckey_t sk;
    testkeys_keypair(TESTKEY_SEAL, 0, &pk, &sk);
    for (unsigned i = 0; i < TXS; i++) {
        qc_txb_t b;
        qc_txb_init(&b, "bench", &pk, i, 1000);
        for (int r = 0; r < records; r++) {
            qc_hash_t d;
            memset(d.b, (int)(i + (unsigned)r), 32);
            qc_txb_add_record(&b, &d, "licence", "REF-2026-000001", NULL);
        }
        if (qc_txb_finish(&b, &sk, &txs[i]) != QC_OK) abort();
    }
}

static void run(int records) {
    qc_tx_t *txs = calloc(TXS, sizeof *txs);
    if (txs == NULL) abort();
    char label[96];
    double t0 = now_s();
    make_txs(txs, records);
    snprintf(label, sizeof label, "build+sign tx (%d record%s)", records, records > 1 ? "s" : "");
    report(label, TXS, now_s() - t0);
    t0 = now_s();
    for (unsigned i = 0; i < TXS; i++)
        if (qc_tx_verify_sig(&txs[i]) != QC_OK) abort();
    snprintf(label, sizeof label, "tx signature verifications (%d record%s)", records, records > 1 ? "s" : "");
    report(label, TXS, now_s() - t0);
    t0 = now_s();
    for (unsigned i = 0; i < TXS; i++) {
        qc_tx_t t;
        if (qc_tx_parse(txs[i].body, txs[i].body_len, &txs[i].sig, &t) != QC_OK) abort();
        qc_tx_free(&t);
    }
    snprintf(label, sizeof label, "strict tx parses + id hash (%d record%s)", records, records > 1 ? "s" : "");
    report(label, TXS, now_s() - t0);
    qc_block_t blk = {.tx_count = TXS, .txs = txs};
    qc_hash_t root;
    t0 = now_s();
    for (int k = 0; k < 20; k++) qc_block_tx_root(&blk, &root);
    snprintf(label, sizeof label, "block tx root, %u txs", TXS);
    report(label, 20, now_s() - t0);
    for (unsigned i = 0; i < TXS; i++) qc_tx_free(&txs[i]);
    free(txs);
}

int main(void) {
    if (qc_crypto_init() != QC_OK) return 1;
    printf("bench_fmt: Ed25519 (libsodium) and SHA-256 on one core, %u transactions each\n", TXS);
    run(1);
    run(100);
    qc_header_t h = {.version = QC_HEADER_VERSION, .chain_id = "bench", .height = 1};
    qc_hash_t out;
    double t0 = now_s();
    for (int i = 0; i < 200000; i++) { h.height = (uint64_t)i + 1; qc_header_hash(&h, &out); }
    report("block header hashes", 200000, now_s() - t0);
    return 0;
}
