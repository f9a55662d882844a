/* long_disk.c - disk bytes per anchored record (issue 9, target <= 150) for several
 * transaction shapes, and which key family takes them: a certified chain is generated
 * (tests/lib/chainfill) into a fresh ledger store in a scratch directory, the store is closed,
 * its files are measured as written, then after a full LevelDB compaction, per key family of
 * docs/STORAGE.md. The consensus state (node/store/cstate.c) is not part of this figure: it
 * holds a bounded window, not the chain; long_catchup measures a real node's data directory
 * with it. QC_BENCH_RECORDS sets the records of each shape (default 1,000,000). */
#include <stdio.h>
#include <stdlib.h>

#include "benchutil.h"
#include "chainfill.h"
#include "tmpdir.h"

#define CHAIN "qchain-disk"
#define TARGET_DISK_BYTES 150.0

typedef struct {
    const char *name;
    uint32_t txs, recs;  /* per block, per transaction */
} shape_t;

static int run_shape(const shape_t *sh, uint64_t records) {
    char dir[256];
    if (tmpdir_make(dir, sizeof dir, "long_disk") != 0) return QC_ERR_IO;
    static chainbuilder_t cb; /* large (holds the record-log frontier) */
    chainbuilder_init(&cb, CHAIN, 4, 0);
    qc_hash_t gh = {{0}};
    store_config_t cfg = {CHAIN, gh, &cb.vs};
    /* QC_BENCH_STATE_CACHE_MIB: the state map paged with that cache (its nodes on disk too) */
    const char *mib = getenv("QC_BENCH_STATE_CACHE_MIB");
    cfg.state_cache_bytes = (size_t)(mib ? strtoull(mib, NULL, 10) : 0) << 20;
    store_t s;
    uint64_t blocks = records / ((uint64_t)sh->txs * sh->recs);
    int rc = store_open(&s, dir, &cfg);
    double t0 = benchutil_now_s();
    if (rc == QC_OK) {
        rc = chainfill_blocks(&cb, &s, blocks, sh->txs, sh->recs, false);
        store_close(&s);
    }
    chainfill_disk_t d;
    if (rc == QC_OK) rc = chainfill_disk(dir, &cfg, &d);
    if (rc == QC_OK) {
        double n = (double)blocks * sh->txs * sh->recs, per = d.written_bytes / n;
        printf("  %-34s %8llu blocks, %9.0f records (%.0f s): %6.1f bytes/record as written,"
               " %6.1f after a full compaction; target <= %.0f: %s\n", sh->name,
               (unsigned long long)blocks, n, benchutil_now_s() - t0, per,
               d.compacted_bytes / n, TARGET_DISK_BYTES, per <= TARGET_DISK_BYTES ? "MET" : "MISSED");
        chainfill_disk_print_families(&d, n);
    }
    tmpdir_remove(dir);
    return rc;
}

int main(void) {
    qc_log_set_level(QC_LOG_WARN);
    if (qc_crypto_init() != QC_OK) return 1;
    const char *env = getenv("QC_BENCH_RECORDS");
    uint64_t records = env ? strtoull(env, NULL, 10) : 1000000;
    if (records < 1000 || records > 100000000) return 2;
    printf("long_disk: ledger bytes per anchored record, LevelDB store in %s, %llu records per"
           " shape (4 validators; record type \"licence\", reference \"doc-N\"); state map %s%s\n",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (unsigned long long)records,
           getenv("QC_BENCH_STATE_CACHE_MIB") ? "paged, MiB cached: " : "resident (the default)",
           getenv("QC_BENCH_STATE_CACHE_MIB") ? getenv("QC_BENCH_STATE_CACHE_MIB") : "");
    const shape_t shapes[] = {
        {"1 digest/tx, 100 txs a block", 100, 1},
        {"1 digest/tx, 1000 txs a block", 1000, 1},
        {"100 digests/tx, 1 tx a block", 1, 100},
        {"100 digests/tx, 10 txs a block", 10, 100},
    };
    int rc = QC_OK;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0] && rc == QC_OK; i++)
        rc = run_shape(&shapes[i], records);
    if (rc != QC_OK) fprintf(stderr, "long_disk: %s\n", qc_strerror(rc));
    return rc == QC_OK ? 0 : 1;
}
