/* long_lookup.c - what the ledger's "is this transaction committed?" lookup costs once the
 * ledger is large: admission, block checks and the store's own apply check each ask it of
 * every transaction (store_tx_find), and on a young ledger it is a few microseconds. A certified
 * chain of 1-digest transactions (tests/lib/chainfill) is written into a fresh ledger store,
 * the store is closed and reopened (a restarted node: LevelDB's table cache empty), then
 * store_tx_find is timed for ids that are not committed (what admission asks of every new
 * transaction) and for committed ones, in random order. QC_BENCH_RECORDS sets the ledger's
 * transactions (default 3,000,000; one record each, 1,000 a block). */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "benchutil.h"
#include "chainfill.h"
#include "tmpdir.h"

#define CHAIN "qchain-lookup"
#define TXS_PER_BLOCK 1000u
#define LOOKUPS 200000u
#define PRESENT_SAMPLE 4096u

/* Times `count` store_tx_find calls for random ids that were never committed; returns the
 * calls a second, or a negative error. */
static double absent_rate(store_t *s, uint32_t count) {
    double t0 = benchutil_now_s();
    for (uint32_t i = 0; i < count; i++) {
        qc_hash_t id;
        randombytes_buf(id.b, sizeof id.b);
        store_tx_loc_t loc;
        int rc = store_tx_find(s, &id, &loc);
        if (rc != QC_ERR_NOTFOUND) return rc == QC_OK ? QC_ERR_CORRUPT : rc;
    }
    return count / (benchutil_now_s() - t0);
}

/* Times `count` store_tx_find calls for committed ids (those of random blocks, read first);
 * returns the calls a second, or a negative error. */
static double present_rate(store_t *s, uint64_t blocks, uint32_t count) {
    qc_hash_t *ids = malloc(sizeof *ids * PRESENT_SAMPLE);
    if (ids == NULL) return QC_ERR_NOMEM;
    for (uint32_t i = 0; i < PRESENT_SAMPLE; i++) {
        qc_block_t b;
        uint64_t h = 1 + randombytes_uniform((uint32_t)blocks);
        int rc = store_block_get(s, h, &b, NULL);
        if (rc != QC_OK) { free(ids); return rc; }
        ids[i] = b.txs[randombytes_uniform(b.tx_count)].id;
        qc_block_free(&b);
    }
    double t0 = benchutil_now_s();
    for (uint32_t i = 0; i < count; i++) {
        store_tx_loc_t loc;
        int rc = store_tx_find(s, &ids[randombytes_uniform(PRESENT_SAMPLE)], &loc);
        if (rc != QC_OK) { free(ids); return rc; }
    }
    double rate = count / (benchutil_now_s() - t0);
    free(ids);
    return rate;
}

int main(void) {
    qc_log_set_level(QC_LOG_WARN);
    if (qc_crypto_init() != QC_OK) return 1;
    const char *env = getenv("QC_BENCH_RECORDS");
    uint64_t txs = env ? strtoull(env, NULL, 10) : 3000000;
    if (txs < TXS_PER_BLOCK || txs > 100000000) return 2;
    uint64_t blocks = txs / TXS_PER_BLOCK;
    char dir[256];
    if (tmpdir_make(dir, sizeof dir, "long_lookup") != 0) return 1;
    static chainbuilder_t cb; /* large (holds the record-log frontier) */
    chainbuilder_init(&cb, CHAIN, 4, 0);
    qc_hash_t gh = {{0}};
    store_config_t cfg = {CHAIN, gh, &cb.vs};
    printf("long_lookup: store_tx_find on a ledger of %llu 1-digest transactions (%u a block),"
           " LevelDB store in %s, table cache %u files\n",
           (unsigned long long)blocks * TXS_PER_BLOCK, TXS_PER_BLOCK,
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", STORE_OPEN_FILES_MAX);
    store_t s;
    double t0 = benchutil_now_s();
    int rc = store_open(&s, dir, &cfg);
    if (rc == QC_OK) {
        rc = chainfill_blocks(&cb, &s, blocks, TXS_PER_BLOCK, 1, true);
        store_close(&s);
    }
    uint64_t bytes = chainfill_dir_bytes(dir);
    if (rc == QC_OK) {
        printf("  filled in %.0f s: %.0f MB on disk\n", benchutil_now_s() - t0, bytes / 1e6);
        rc = store_open(&s, dir, &cfg);
    }
    if (rc == QC_OK) {
        double cold = absent_rate(&s, LOOKUPS / 10); /* right after the open */
        double absent = absent_rate(&s, LOOKUPS);
        double present = present_rate(&s, blocks, LOOKUPS);
        store_close(&s);
        if (cold < 0 || absent < 0 || present < 0) {
            rc = cold < 0 ? (int)cold : absent < 0 ? (int)absent : (int)present;
        } else {
            printf("  not committed (admission's case): %.0f lookups/s (the first %u after the"
                   " open: %.0f/s)\n", absent, LOOKUPS / 10, cold);
            printf("  committed:                        %.0f lookups/s\n", present);
        }
    }
    tmpdir_remove(dir);
    if (rc != QC_OK) fprintf(stderr, "long_lookup: %s\n", qc_strerror(rc));
    return rc == QC_OK ? 0 : 1;
}
