/* bench_store.c - ledger block applies/s with 1,000 records a block, every block one synced
 * LevelDB WriteBatch (store_apply_block), for two shapes: 10 txs x 100 records and 1,000 txs
 * x 1 record. Blocks are built and signed before timing, so the figure is the store's alone
 * (checks, record-log appends, index batch, fsync). Also the raw LevelDB synced-put rate on the
 * same filesystem: the bound a durable per-block write can approach. */
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>

#include <sodium.h>

#include "benchutil.h"
#include "chainbuilder.h"
#include "store.h"
#include "tmpdir.h"

#define CHAIN "qchain-bench"
#define SYNCED_PUTS 300

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *fs_name(const char *dir) {
    struct statfs st;
    if (statfs(dir, &st) != 0) return "unknown";
    switch ((unsigned long)st.f_type) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x794c7630: return "overlayfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    default: return "other";
    }
}

typedef struct {
    const char *name;
    uint32_t n_txs, recs;
    uint32_t blocks;
} shape_t;

/* Builds `count` consecutive blocks of one shape (not timed). */
static int build_blocks(const shape_t *sh, qc_block_t *blocks, qc_cert_t *certs) {
    chainbuilder_t cb;
    chainbuilder_init(&cb, CHAIN, 4, 0);
    for (uint32_t i = 0; i < sh->blocks; i++) {
        int rc = chainbuilder_make(&cb, sh->n_txs, sh->recs, &blocks[i], &certs[i]);
        if (rc != QC_OK) return rc;
        chainbuilder_advance(&cb, &blocks[i]);
    }
    return QC_OK;
}

static int run_shape(const shape_t *sh) {
    qc_block_t *blocks = calloc(sh->blocks, sizeof *blocks);
    qc_cert_t *certs = calloc(sh->blocks, sizeof *certs);
    char dir[256];
    if (blocks == NULL || certs == NULL || tmpdir_make(dir, sizeof dir, "bench_store") != 0)
        return QC_ERR_NOMEM;
    int rc = build_blocks(sh, blocks, certs);
    chainbuilder_t cb;
    chainbuilder_init(&cb, CHAIN, 4, 0);
    store_config_t cfg = {CHAIN, {{0}}, &cb.vs};
    store_t s;
    if (rc == QC_OK) rc = store_open(&s, dir, &cfg);
    double worst = 0, t0 = now_s();
    for (uint32_t i = 0; i < sh->blocks && rc == QC_OK; i++) {
        double t = now_s();
        rc = store_apply_block(&s, &blocks[i], &certs[i]);
        if (now_s() - t > worst) worst = now_s() - t;
    }
    double secs = now_s() - t0;
    if (rc == QC_OK) {
        uint64_t records = (uint64_t)sh->blocks * sh->n_txs * sh->recs;
        printf("  block applies, %-22s %8.1f blocks/s  %9.0f records/s  (%u blocks in %.2f s,"
               " mean %.2f ms, worst %.2f ms)\n", sh->name, sh->blocks / secs, records / secs,
               sh->blocks, secs, secs * 1e3 / sh->blocks, worst * 1e3);
        store_close(&s);
        /* a restart: the state map is rebuilt from every stored block (MERKLE.md §8.4) */
        t0 = now_s();
        rc = store_open(&s, dir, &cfg);
        secs = now_s() - t0;
        if (rc == QC_OK) {
            printf("  reopen (state map rebuilt),  %-13s %8.2f s      %9.0f records/s\n", sh->name,
                   secs, records / secs);
            store_close(&s);
        }
    }
    for (uint32_t i = 0; i < sh->blocks; i++) qc_block_free(&blocks[i]);
    free(blocks);
    free(certs);
    tmpdir_remove(dir);
    return rc;
}

/* Small synced puts straight into LevelDB: the fsync-bound ceiling for durable writes. */
static int synced_puts(void) {
    size_t puts = 0;
    double secs = 0, rate = benchutil_synced_puts(SYNCED_PUTS, 60.0, &puts, &secs);
    if (rate == 0) return QC_ERR_IO;
    printf("  leveldb synced 100-byte puts        %8.0f /s        (%zu in %.2f s)\n", rate, puts, secs);
    return QC_OK;
}

/* One record index entry as the store writes it (format 7): 'R' || the first 4 bytes of the
 * digest's map key || digest || log index, 15-byte value. Map key and digest are both uniform,
 * so 36 random bytes stand for them. */
#define IDX_KEY_LEN 45
typedef struct {
    uint64_t lead; /* the key's first 8 bytes after the family, big-endian, as the store sorts */
    uint8_t k[IDX_KEY_LEN];
} idx_key_t;

static int idx_cmp(const void *a, const void *b) {
    const idx_key_t *x = a, *y = b;
    if (x->lead != y->lead) return x->lead < y->lead ? -1 : 1;
    return memcmp(x->k, y->k, IDX_KEY_LEN);
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Why the store puts a block's record index entries in key order (store.c batch_records):
 * `batches` synced WriteBatches of `per` random-digest entries each into a fresh LevelDB with
 * the store's options, once in block (random) order and once sorted first; the process's CPU
 * seconds per entry, the sort and LevelDB's compaction thread included. */
static int index_order(uint32_t batches, uint32_t per) {
    idx_key_t *keys = malloc(per * sizeof *keys);
    if (keys == NULL) return QC_ERR_NOMEM;
    double us[2] = {0, 0};
    int rc = QC_OK;
    for (int sorted = 0; sorted < 2 && rc == QC_OK; sorted++) {
        char dir[256], *err = NULL;
        if (tmpdir_make(dir, sizeof dir, "bench_store_idx") != 0) {
            rc = QC_ERR_IO;
            break;
        }
        leveldb_options_t *o = leveldb_options_create();
        leveldb_filterpolicy_t *bloom = leveldb_filterpolicy_create_bloom(10);
        leveldb_options_set_create_if_missing(o, 1);
        leveldb_options_set_filter_policy(o, bloom);
        leveldb_options_set_compression(o, leveldb_no_compression);
        leveldb_options_set_write_buffer_size(o, 16u << 20);
        leveldb_writeoptions_t *w = leveldb_writeoptions_create();
        leveldb_writeoptions_set_sync(w, 1);
        leveldb_writebatch_t *wb = leveldb_writebatch_create();
        leveldb_t *db = leveldb_open(o, dir, &err);
        uint8_t v[15] = {STORE_FORMAT_VERSION};
        uint64_t log_index = 0;
        double cpu = 0;
        for (uint32_t b = 0; b < batches && db != NULL && err == NULL; b++) {
            for (uint32_t i = 0; i < per; i++, log_index++) {
                keys[i].k[0] = 'R';
                randombytes_buf(keys[i].k + 1, 36);
                qc_put_u64(keys[i].k + 37, log_index);
                keys[i].lead = qc_get_u64(keys[i].k + 1);
            }
            double t0 = cpu_s();
            if (sorted) qsort(keys, per, sizeof *keys, idx_cmp);
            leveldb_writebatch_clear(wb);
            for (uint32_t i = 0; i < per; i++)
                leveldb_writebatch_put(wb, (const char *)keys[i].k, IDX_KEY_LEN, (const char *)v,
                                       sizeof v);
            leveldb_write(db, w, wb, &err);
            cpu += cpu_s() - t0;
        }
        if (db == NULL || err != NULL) rc = QC_ERR_IO;
        leveldb_free(err);
        if (db != NULL) leveldb_close(db);
        leveldb_writebatch_destroy(wb);
        leveldb_writeoptions_destroy(w);
        leveldb_options_destroy(o);
        leveldb_filterpolicy_destroy(bloom);
        tmpdir_remove(dir);
        us[sorted] = cpu * 1e6 / ((double)batches * per);
    }
    free(keys);
    if (rc == QC_OK)
        printf("  record index puts, %u batches of %u random digests: %.2f us CPU each in block"
               " order, %.2f sorted first (sort included)\n", batches, per, us[0], us[1]);
    return rc;
}

int main(void) {
    qc_log_set_level(QC_LOG_WARN);
    if (qc_crypto_init() != QC_OK) return 1;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    printf("ledger store (LevelDB, sync=true, one WriteBatch per block) in %s (%s)\n", tmp,
           fs_name(tmp));
    shape_t shapes[] = {
        {"10 txs x 100 records", 10, 100, 200},
        {"1000 txs x 1 record", 1000, 1, 40},
    };
    if (getenv("QC_BENCH_QUICK")) /* a smoke run (and small enough for valgrind) */
        shapes[0].blocks = shapes[1].blocks = 5;
    int rc = synced_puts();
    if (rc == QC_OK)
        rc = getenv("QC_BENCH_QUICK") ? index_order(2, 1000) : index_order(20, 25000);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0] && rc == QC_OK; i++)
        rc = run_shape(&shapes[i]);
    if (rc != QC_OK) fprintf(stderr, "bench_store: %s\n", qc_strerror(rc));
    return rc == QC_OK ? 0 : 1;
}
