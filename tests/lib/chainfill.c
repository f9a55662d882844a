/* chainfill.c - a long certified chain written into a ledger store fast (see chainfill.h). */
#include "chainfill.h"

#include <dirent.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int chainfill_blocks(chainbuilder_t *cb, store_t *s, uint64_t blocks, uint32_t txs_per_block,
                     uint32_t recs_per_tx, bool progress) {
    QC_ASSERT(s->head.height == cb->height);
    leveldb_writeoptions_set_sync(s->wopts, 0);
    int rc = QC_OK;
    uint64_t step = blocks >= 10 ? blocks / 10 : 1;
    for (uint64_t i = 1; i <= blocks && rc == QC_OK; i++) {
        qc_block_t b;
        qc_cert_t cert;
        rc = chainbuilder_make(cb, txs_per_block, recs_per_tx, &b, &cert);
        if (rc != QC_OK) break;
        rc = store_apply_block(s, &b, &cert);
        if (rc == QC_OK) chainbuilder_advance(cb, &b);
        qc_block_free(&b);
        if (progress && i % step == 0)
            fprintf(stderr, "  chainfill: %llu of %llu blocks\n", (unsigned long long)i,
                    (unsigned long long)blocks);
    }
    leveldb_writeoptions_set_sync(s->wopts, 1);
    return rc;
}

void chainfill_compact(store_t *s) { leveldb_compact_range(s->db, NULL, 0, NULL, 0); }

void chainfill_family_bytes(store_t *s, uint64_t *out) {
    enum { N = sizeof CHAINFILL_FAMILIES - 1 };
    char starts[N][1], limits[N][1];
    const char *sp[N], *lp[N];
    size_t sl[N], ll[N];
    for (int i = 0; i < N; i++) {
        starts[i][0] = CHAINFILL_FAMILIES[i];
        limits[i][0] = (char)(CHAINFILL_FAMILIES[i] + 1);
        sp[i] = starts[i];
        lp[i] = limits[i];
        sl[i] = ll[i] = 1;
    }
    leveldb_approximate_sizes(s->db, N, sp, sl, lp, ll, out);
}

static uint64_t dir_bytes(const char *dir, int depth) {
    DIR *d = opendir(dir);
    if (d == NULL) return 0;
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0) continue;
        if (S_ISREG(st.st_mode)) total += (uint64_t)st.st_size;
        else if (S_ISDIR(st.st_mode) && depth > 0) total += dir_bytes(path, depth - 1);
    }
    closedir(d);
    return total;
}

uint64_t chainfill_dir_bytes(const char *dir) { return dir_bytes(dir, 4); }

int chainfill_disk(const char *ledger_dir, const store_config_t *cfg, chainfill_disk_t *out) {
    memset(out, 0, sizeof *out);
    out->written_bytes = chainfill_dir_bytes(ledger_dir);
    store_t s;
    int rc = store_open(&s, ledger_dir, cfg);
    if (rc != QC_OK) return rc;
    chainfill_compact(&s);
    chainfill_family_bytes(&s, out->family_bytes);
    store_close(&s);
    out->compacted_bytes = chainfill_dir_bytes(ledger_dir);
    return QC_OK;
}

void chainfill_disk_print_families(const chainfill_disk_t *d, double records) {
    printf("    by key family after compaction (bytes/record):");
    for (size_t k = 0; k < sizeof d->family_bytes / sizeof d->family_bytes[0]; k++)
        if (d->family_bytes[k] > 0) printf(" %c %.1f", CHAINFILL_FAMILIES[k], d->family_bytes[k] / records);
    printf("\n");
}
