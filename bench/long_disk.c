/* long_disk.c - disk bytes per anchored record (issue 9, target <= 150) for several
 * transaction shapes, and which key family takes them: a certified chain is generated
 * (tests/lib/chainfill) into a fresh ledger store in a scratch directory, the store is closed,
 * its files are measured as written, then after a full LevelDB compaction, per key family of
 * docs/STORAGE.md. The consensus state (node/store/cstate.c) is not part of this figure: it
 * holds a bounded window, not the chain; long_catchup measures a real node's data directory
 * with it. QC_BENCH_RECORDS sets the records of each shape (default 1,000,000),
 * QC_BENCH_DIGESTS=1|100 runs only those shapes, QC_BENCH_STATE_CACHE_MIB=N pages the state
 * map (and then also times building its stored part from nothing at open). */
#include <leveldb/c.h>
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

/* Paged: how long an open takes to build the stored map from nothing (the snapshot deleted,
 * as after a switch from resident): the nodes above the cut from the record index, then one
 * pass over the blocks for the city logs. */
static int rebuild_paged(const char *dir, const store_config_t *cfg) {
    leveldb_options_t *o = leveldb_options_create();
    char *err = NULL;
    leveldb_t *db = leveldb_open(o, dir, &err);
    if (db != NULL) {
        leveldb_writeoptions_t *w = leveldb_writeoptions_create();
        leveldb_delete(db, w, "U", 1, &err);
        leveldb_writeoptions_destroy(w);
        leveldb_close(db);
    }
    leveldb_options_destroy(o);
    if (err != NULL) {
        fprintf(stderr, "long_disk: %s\n", err);
        leveldb_free(err);
        return QC_ERR_IO;
    }
    store_t s;
    double t0 = benchutil_now_s();
    int rc = store_open(&s, dir, cfg);
    if (rc != QC_OK) return rc;
    double secs = benchutil_now_s() - t0;
    store_state_stats_t ss;
    store_state_stats(&s, &ss);
    printf("    paged map built from nothing at open (snapshot removed): %.1f s, %llu blocks read"
           " for the city logs, nodes stored above depth %u\n", secs,
           (unsigned long long)ss.replayed_blocks, ss.cut_depth);
    store_close(&s);
    return QC_OK;
}

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
    if (rc == QC_OK && cfg.state_cache_bytes > 0) rc = rebuild_paged(dir, &cfg);
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
    /* QC_BENCH_DIGESTS=1 or 100: only the shapes with that many digests a transaction (the
     * 100-digest ones take a tenth of the time: 10 million records in minutes) */
    const char *dig = getenv("QC_BENCH_DIGESTS");
    uint32_t only = dig ? (uint32_t)strtoul(dig, NULL, 10) : 0;
    if (dig && only != 1 && only != 100) return 2;
    int rc = QC_OK;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0] && rc == QC_OK; i++)
        if (only == 0 || shapes[i].recs == only) rc = run_shape(&shapes[i], records);
    if (rc != QC_OK) fprintf(stderr, "long_disk: %s\n", qc_strerror(rc));
    return rc == QC_OK ? 0 : 1;
}
