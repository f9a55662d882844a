/* test_store_full.c - a full disk never makes a ledger unusable: the ledger store on a tiny
 * private tmpfs (tests/lib/smallfs.h; needs root or user namespaces, and fails saying so
 * without them) is written until the disk is full, retried while full as the node retries
 * (every tick), then space is freed: writing goes on, and after a restart the store opens,
 * passes store_check and holds every acknowledged block. Before the fix a failed append left a
 * torn record in the middle of LevelDB's log, the retries appended after it, and the next open
 * failed with "Corruption: checksum mismatch". The same for the consensus state, and a node
 * stopped on a full disk restarts once space is back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chainbuilder.h"
#include "cstate.h"
#include "smallfs.h"
#include "store.h"
#include "tmpdir.h"

#define CHAIN "qchain-full-test"
#define FS_BYTES (4u << 20)      /* the tmpfs */
#define BALLAST_BYTES (3u << 20) /* freed once the disk is full: room for LevelDB's recovery */
#define APPLIES_MAX 2000         /* bound on the fill loop; a block is ~10-60 KB */
#define RETRIES_WHILE_FULL 50    /* the node retries a failed commit every tick */

typedef struct {
    char root[256], dir[300], ballast[300];
    chainbuilder_t cb;
    qc_validator_set_t genesis_vs;
    store_config_t cfg;
    store_t s;
    uint64_t acked; /* the highest height store_apply_block acknowledged */
} full_t;

/* Builds the next block (1..4 txs of up to 60 records) and applies it. */
static int apply_next(full_t *f) {
    uint64_t height = f->cb.height + 1;
    qc_block_t b;
    qc_cert_t cert;
    int rc = chainbuilder_make(&f->cb, 1 + (uint32_t)(height % 4), 1 + (uint32_t)(height * 13 % 60),
                               &b, &cert);
    if (rc == QC_OK) rc = store_apply_block(&f->s, &b, &cert);
    if (rc == QC_OK) {
        chainbuilder_advance(&f->cb, &b);
        f->acked = height;
    }
    qc_block_free(&b);
    return rc;
}

/* Resumes the builder at the store's head (after an open). */
static void resume(full_t *f) {
    store_head_t h;
    rlog_t log;
    store_head(&f->s, &h);
    store_log_copy(&f->s, &log);
    chainbuilder_resume(&f->cb, h.height, &h.hash, &log);
}

/* Runs in a child on its own tmpfs; exits 0 when every check held, else prints why. */
#define CHILD_CHECK(cond, ...)                                                                  \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "store full-disk test: " __VA_ARGS__);                              \
            fprintf(stderr, "\n");                                                              \
            _exit(1);                                                                           \
        }                                                                                       \
    } while (0)

/* In the child: mounts the tmpfs, writes the ballast, opens the store and applies blocks until
 * the disk is full (an I/O error that store_problem names). */
static void mount_and_fill(full_t *f) {
    char why[256];
    CHILD_CHECK(smallfs_mount(f->root, FS_BYTES, why, sizeof why) == 0, "%s", why);
    CHILD_CHECK(smallfs_ballast(f->ballast, BALLAST_BYTES) == 0, "cannot write the ballast");
    CHILD_CHECK(store_open(&f->s, f->dir, &f->cfg) == QC_OK, "cannot create the store");
    int rc = QC_OK;
    for (int i = 0; i < APPLIES_MAX && rc == QC_OK; i++) rc = apply_next(f);
    CHILD_CHECK(rc == QC_ERR_IO, "filling the disk ended with %s, not an I/O error",
                qc_strerror(rc));
    CHILD_CHECK(f->acked >= 5, "the disk filled after only %llu blocks",
                (unsigned long long)f->acked);
    CHILD_CHECK(store_problem(&f->s) != NULL && strstr(store_problem(&f->s), "No space left"),
                "store_problem does not name the full disk: %s",
                store_problem(&f->s) ? store_problem(&f->s) : "(none)");
}

static _Noreturn void child_main(full_t *f) {
    mount_and_fill(f);
    uint64_t full_at = f->acked;
    int rc;
    for (int i = 0; i < RETRIES_WHILE_FULL; i++) {
        rc = apply_next(f);
        CHILD_CHECK(rc == QC_ERR_IO, "retry %d on a full disk: %s", i, qc_strerror(rc));
    }
    CHILD_CHECK(f->s.head.height == full_at, "the head moved on a full disk");
    qc_header_t h;
    CHILD_CHECK(store_header_get(&f->s, full_at, &h) == QC_OK, "reads stopped on a full disk");
    /* Space comes back: the store writes again without a restart... */
    CHILD_CHECK(unlink(f->ballast) == 0, "cannot delete the ballast");
    for (int i = 0; i < 5; i++) {
        rc = apply_next(f);
        CHILD_CHECK(rc == QC_OK, "apply %d after space was freed: %s", i, qc_strerror(rc));
    }
    uint64_t acked = f->acked;
    store_close(&f->s);
    /* ...and a restart finds every acknowledged block, whole. */
    rc = store_open(&f->s, f->dir, &f->cfg);
    CHILD_CHECK(rc == QC_OK, "reopen after the disk was full: %s", qc_strerror(rc));
    store_check_stats_t st;
    rc = store_check(&f->s, &st);
    CHILD_CHECK(rc == QC_OK, "store_check after the disk was full: %s", qc_strerror(rc));
    CHILD_CHECK(f->s.head.height >= acked, "head %llu lost acknowledged block %llu",
                (unsigned long long)f->s.head.height, (unsigned long long)acked);
    resume(f);
    CHILD_CHECK(apply_next(f) == QC_OK, "cannot continue from the head after a restart");
    store_close(&f->s);
    fprintf(stderr, "store full-disk test: full at height %llu, %llu after space came back\n",
            (unsigned long long)full_at, (unsigned long long)f->acked);
    _exit(0);
}

/* The node stopped while the disk was full (systemd restarts it): the open fails with an I/O
 * error, never a corruption, while the disk stays full, and succeeds with every acknowledged
 * block once space is back. */
static _Noreturn void child_restart_main(full_t *f) {
    mount_and_fill(f);
    int rc;
    uint64_t acked = f->acked;
    store_close(&f->s);
    smallfs_fill(f->root, 16); /* whatever the close left free */
    for (int i = 0; i < 3; i++) {
        rc = store_open(&f->s, f->dir, &f->cfg);
        CHILD_CHECK(rc == QC_ERR_IO, "open %d on a full disk: %s, not an I/O error", i,
                    qc_strerror(rc));
    }
    CHILD_CHECK(unlink(f->ballast) == 0, "cannot delete the ballast");
    rc = store_open(&f->s, f->dir, &f->cfg);
    CHILD_CHECK(rc == QC_OK, "open once space is back: %s", qc_strerror(rc));
    CHILD_CHECK(store_check(&f->s, NULL) == QC_OK, "store_check after the restart");
    CHILD_CHECK(f->s.head.height >= acked, "head %llu lost acknowledged block %llu",
                (unsigned long long)f->s.head.height, (unsigned long long)acked);
    CHILD_CHECK(store_problem(&f->s) == NULL, "a reopened sound store reports a problem");
    resume(f);
    CHILD_CHECK(apply_next(f) == QC_OK, "cannot continue from the head after a restart");
    store_close(&f->s);
    _exit(0);
}

#define BATCH_BLOCKS 8

/* Builds the next `count` blocks (not applied): the builder advances over them. */
static void make_batch(full_t *f, qc_block_t *blocks, qc_cert_t *certs, size_t count) {
    for (size_t i = 0; i < count; i++) {
        uint64_t height = f->cb.height + 1;
        CHILD_CHECK(chainbuilder_make(&f->cb, 1 + (uint32_t)(height % 4),
                                      1 + (uint32_t)(height * 13 % 60), &blocks[i], &certs[i]) == QC_OK,
                    "cannot build block %llu", (unsigned long long)height);
        chainbuilder_advance(&f->cb, &blocks[i]);
    }
}

static void free_batch(qc_block_t *blocks, size_t count) {
    for (size_t i = 0; i < count; i++) qc_block_free(&blocks[i]);
}

/* Catch-up's batched write (store_apply_blocks, one synced write per reply) on a full disk: a
 * failed write applies none of the batch (*applied 0), leaves the head, record log and
 * governance state in memory as they were, keeps failing while the disk is full, and the same
 * batch applies whole once space is back; a restart holds it. */
static _Noreturn void child_batch_main(full_t *f) {
    char why[256];
    CHILD_CHECK(smallfs_mount(f->root, FS_BYTES, why, sizeof why) == 0, "%s", why);
    CHILD_CHECK(smallfs_ballast(f->ballast, BALLAST_BYTES) == 0, "cannot write the ballast");
    CHILD_CHECK(store_open(&f->s, f->dir, &f->cfg) == QC_OK, "cannot create the store");
    static qc_block_t blocks[BATCH_BLOCKS];
    static qc_cert_t certs[BATCH_BLOCKS];
    int rc = QC_OK;
    size_t applied = 0;
    for (int i = 0; i < APPLIES_MAX / BATCH_BLOCKS && rc == QC_OK; i++) {
        make_batch(f, blocks, certs, BATCH_BLOCKS);
        rc = store_apply_blocks(&f->s, blocks, certs, BATCH_BLOCKS, &applied);
        if (rc == QC_OK) {
            CHILD_CHECK(applied == BATCH_BLOCKS, "a whole batch should apply");
            f->acked = f->cb.height;
            free_batch(blocks, BATCH_BLOCKS);
        }
    }
    CHILD_CHECK(rc == QC_ERR_IO && applied == 0, "filling with batches ended with %s, %zu applied",
                qc_strerror(rc), applied);
    store_head_t h0;
    store_head(&f->s, &h0);
    uint64_t gov_epoch = store_gov(&f->s)->vs.epoch;
    uint64_t city_size0, city_size1;
    qc_hash_t city_root0, city_root1;
    CHILD_CHECK(store_city_log(&f->s, "jinan", &city_size0, &city_root0) == QC_OK && city_size0 > 0,
                "jinan's city log after the acknowledged batches is empty");
    CHILD_CHECK(h0.height == f->acked, "head %llu after a failed batch, acknowledged %llu",
                (unsigned long long)h0.height, (unsigned long long)f->acked);
    for (int i = 0; i < RETRIES_WHILE_FULL / 5; i++) {
        rc = store_apply_blocks(&f->s, blocks, certs, BATCH_BLOCKS, &applied);
        CHILD_CHECK(rc == QC_ERR_IO && applied == 0, "batch retry %d on a full disk: %s", i,
                    qc_strerror(rc));
    }
    store_head_t h1;
    store_head(&f->s, &h1);
    CHILD_CHECK(memcmp(&h0, &h1, sizeof h0) == 0 && store_gov(&f->s)->vs.epoch == gov_epoch,
                "a failed batch moved the head or the governance state");
    CHILD_CHECK(store_city_log(&f->s, "jinan", &city_size1, &city_root1) == QC_OK &&
                city_size1 == city_size0 && memcmp(city_root0.b, city_root1.b, 32) == 0,
                "a failed batch moved a city log (%llu leaves, %llu before)",
                (unsigned long long)city_size1, (unsigned long long)city_size0);
    CHILD_CHECK(unlink(f->ballast) == 0, "cannot delete the ballast");
    rc = store_apply_blocks(&f->s, blocks, certs, BATCH_BLOCKS, &applied);
    CHILD_CHECK(rc == QC_OK && applied == BATCH_BLOCKS, "the batch once space is back: %s, %zu",
                qc_strerror(rc), applied);
    f->acked = f->cb.height;
    free_batch(blocks, BATCH_BLOCKS);
    store_close(&f->s);
    rc = store_open(&f->s, f->dir, &f->cfg);
    CHILD_CHECK(rc == QC_OK && f->s.head.height == f->acked && store_check(&f->s, NULL) == QC_OK,
                "reopen after the batched writes: %s, head %llu of %llu", qc_strerror(rc),
                (unsigned long long)f->s.head.height, (unsigned long long)f->acked);
    store_close(&f->s);
    _exit(0);
}

#define BODY_BYTES 20000

/* The consensus state on a full disk: writes fail and keep failing while it is full (the
 * node withholds its votes), go on once space is back, and a restart loads the last records. */
static _Noreturn void child_cstate_main(full_t *f) {
    char why[256];
    static uint8_t body[BODY_BYTES];
    CHILD_CHECK(smallfs_mount(f->root, FS_BYTES, why, sizeof why) == 0, "%s", why);
    CHILD_CHECK(smallfs_ballast(f->ballast, BALLAST_BYTES) == 0, "cannot write the ballast");
    cstate_t cs;
    CHILD_CHECK(cstate_open(&cs, f->dir) == QC_OK, "cannot create the consensus state");
    pbft_persist_t r;
    memset(&r, 0, sizeof r);
    r.kind = PBFT_REC_VIEW;
    int rc = QC_OK;
    uint64_t acked = 0;
    for (uint64_t i = 1; i <= APPLIES_MAX && rc == QC_OK; i++) {
        r.seq = r.view.view = i;
        memset(body, (int)i, sizeof body);
        cstate_body_t b = {i, {{(uint8_t)i, (uint8_t)(i >> 8)}}, body, sizeof body};
        rc = cstate_write(&cs, &r, 1, &b, 1);
        if (rc == QC_OK) acked = i;
    }
    CHILD_CHECK(rc == QC_ERR_IO && acked >= 5, "filling: %s after %llu writes",
                qc_strerror(rc), (unsigned long long)acked);
    for (int i = 0; i < RETRIES_WHILE_FULL; i++) {
        r.seq = r.view.view = acked + 1;
        CHILD_CHECK(cstate_write(&cs, &r, 1, NULL, 0) == QC_ERR_IO, "a write on a full disk");
    }
    CHILD_CHECK(unlink(f->ballast) == 0, "cannot delete the ballast");
    for (int i = 0; i < 5; i++) {
        r.seq = r.view.view = ++acked;
        rc = cstate_write(&cs, &r, 1, NULL, 0);
        CHILD_CHECK(rc == QC_OK, "write %d after space was freed: %s", i, qc_strerror(rc));
    }
    cstate_close(&cs);
    rc = cstate_open(&cs, f->dir);
    CHILD_CHECK(rc == QC_OK, "reopen after the disk was full: %s", qc_strerror(rc));
    static pbft_persist_t recs[CSTATE_RECORDS_MAX];
    static cstate_bodies_t bodies;
    size_t n = 0;
    CHILD_CHECK(cstate_load(&cs, recs, CSTATE_RECORDS_MAX, &n, &bodies) == QC_OK, "load");
    CHILD_CHECK(n == 1 && recs[0].kind == PBFT_REC_VIEW && recs[0].view.view == acked,
                "the last view record (%llu) did not survive", (unsigned long long)acked);
    cstate_close(&cs);
    _exit(0);
}

static void run_in_child(full_t *f, void (*body)(full_t *)) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) body(f);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the full-disk child failed (status %d); see its message above", status);
}

static void full_init(full_t *f, const char *tag) {
    memset(f, 0, sizeof *f);
    assert_int_equal(tmpdir_make(f->root, sizeof f->root, tag), 0);
    snprintf(f->dir, sizeof f->dir, "%s/ledger", f->root);
    snprintf(f->ballast, sizeof f->ballast, "%s/ballast", f->root);
    chainbuilder_init(&f->cb, CHAIN, 4, 0);
    f->genesis_vs = f->cb.vs;
    f->cfg = (store_config_t){CHAIN, {{0}}, &f->genesis_vs};
    qc_sha256(&f->cfg.genesis_hash, CHAIN, strlen(CHAIN));
    f->cb.genesis_hash = f->cfg.genesis_hash;
}

/* Runs body in a child on a fresh scratch directory named after tag. */
static void run_scenario(const char *tag, void (*body)(full_t *)) {
    full_t *f = malloc(sizeof *f);
    assert_non_null(f);
    full_init(f, tag);
    run_in_child(f, body);
    assert_int_equal(tmpdir_remove(f->root), 0);
    free(f);
}

static void test_batch_on_full_disk(void **state) {
    (void)state;
    run_scenario("fullbatch", child_batch_main);
}

static void test_full_disk_then_space_freed(void **state) {
    (void)state;
    run_scenario("full", child_main);
}

static void test_restart_on_full_disk(void **state) {
    (void)state;
    run_scenario("fullrestart", child_restart_main);
}

static void test_cstate_full_disk(void **state) {
    (void)state;
    run_scenario("fullcstate", child_cstate_main);
}

int main(void) {
    qc_log_set_level(getenv("QC_TEST_LOG") ? QC_LOG_DEBUG : QC_LOG_OFF);
    assert_int_equal(qc_crypto_init(), QC_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_disk_then_space_freed),
        cmocka_unit_test(test_batch_on_full_disk),
        cmocka_unit_test(test_restart_on_full_disk),
        cmocka_unit_test(test_cstate_full_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
