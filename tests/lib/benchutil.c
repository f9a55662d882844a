/* benchutil.c - measurements shared by the benchmarks (see benchutil.h). */
#include "benchutil.h"

#include <leveldb/c.h>
#include <stdio.h>
#include <time.h>

#include "tmpdir.h"

double benchutil_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double benchutil_synced_puts(size_t max_puts, double max_seconds, size_t *puts, double *seconds) {
    char dir[256];
    if (tmpdir_make(dir, sizeof dir, "bench_ldb") != 0) return 0;
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_create_if_missing(o, 1);
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(wo, 1);
    char *err = NULL;
    leveldb_t *db = leveldb_open(o, dir, &err);
    size_t count = 0;
    double t0 = benchutil_now_s(), t = t0;
    while (err == NULL && count < max_puts && t - t0 < max_seconds) {
        char key[24], val[100] = {0};
        int klen = snprintf(key, sizeof key, "k%012zu", count++);
        leveldb_put(db, wo, key, (size_t)klen, val, sizeof val, &err);
        t = benchutil_now_s();
    }
    double rate = err || t <= t0 ? 0 : (double)count / (t - t0);
    if (puts) *puts = count;
    if (seconds) *seconds = t - t0;
    leveldb_free(err);
    if (db) leveldb_close(db);
    leveldb_writeoptions_destroy(wo);
    leveldb_options_destroy(o);
    tmpdir_remove(dir);
    return rate;
}
