/* test_cstate.c - the node's consensus-state LevelDB: latest record per key survives reopen,
 * a checkpoint deletes slots and bodies at or below it, bodies are served by digest, and a
 * corrupt record is refused with QC_ERR_CORRUPT rather than restored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "cstate.h"
#include "tmpdir.h"

static pbft_persist_t slot_rec(uint64_t seq, uint64_t height, uint64_t view) {
    pbft_persist_t r;
    memset(&r, 0, sizeof r);
    r.seq = seq;
    r.kind = PBFT_REC_SLOT;
    r.slot.height = height;
    r.slot.vote.view = view;
    memset(r.slot.vote.digest.b, (int)height, 32);
    return r;
}

static const pbft_persist_t *find(const pbft_persist_t *recs, size_t n, pbft_rec_kind_t kind,
                                  uint64_t height) {
    for (size_t i = 0; i < n; i++)
        if (recs[i].kind == kind && (kind != PBFT_REC_SLOT || recs[i].slot.height == height))
            return &recs[i];
    return NULL;
}

static void test_latest_per_key_and_gc(void **state) {
    (void)state;
    char dir[512];
    assert_int_equal(tmpdir_make(dir, sizeof dir, "cstate"), QC_OK);
    cstate_t cs;
    assert_int_equal(cstate_open(&cs, dir), QC_OK);

    pbft_persist_t view = {0};
    view.seq = 1;
    view.kind = PBFT_REC_VIEW;
    view.view.view = 3;
    pbft_persist_t recs[4] = {view, slot_rec(2, 5, 3), slot_rec(3, 6, 3), slot_rec(4, 9, 3)};
    uint8_t body5[] = "block five", body9[] = "block nine";
    cstate_body_t bodies[2] = {{5, {{5}}, body5, sizeof body5}, {9, {{9}}, body9, sizeof body9}};
    assert_int_equal(cstate_write(&cs, recs, 4, bodies, 2), QC_OK);
    pbft_persist_t newer = slot_rec(5, 6, 4); /* replaces the slot at height 6 */
    view.seq = 6;
    view.view.view = 4;
    pbft_persist_t more[2] = {newer, view};
    assert_int_equal(cstate_write(&cs, more, 2, NULL, 0), QC_OK);
    cstate_close(&cs);

    assert_int_equal(cstate_open(&cs, dir), QC_OK);
    pbft_persist_t got[CSTATE_RECORDS_MAX];
    size_t n;
    assert_int_equal(cstate_load(&cs, got, CSTATE_RECORDS_MAX, &n), QC_OK);
    assert_int_equal(n, 4); /* view + slots 5, 6, 9 */
    assert_int_equal(find(got, n, PBFT_REC_VIEW, 0)->view.view, 4);
    assert_int_equal(find(got, n, PBFT_REC_SLOT, 6)->slot.vote.view, 4);
    uint8_t *b;
    size_t bl;
    qc_hash_t d5 = {{5}}, d9 = {{9}}, d7 = {{7}};
    assert_int_equal(cstate_body(&cs, &d5, &b, &bl), QC_OK);
    assert_memory_equal(b, body5, sizeof body5);
    free(b);
    assert_int_equal(cstate_body(&cs, &d7, &b, &bl), QC_ERR_NOTFOUND);

    /* a checkpoint at 6 deletes slots 5 and 6 and body 5, keeps slot 9 and body 9 */
    pbft_persist_t ck = {0};
    ck.seq = 7;
    ck.kind = PBFT_REC_CHECKPOINT;
    ck.checkpoint.height = 6;
    assert_int_equal(cstate_write(&cs, &ck, 1, NULL, 0), QC_OK);
    assert_int_equal(cstate_load(&cs, got, CSTATE_RECORDS_MAX, &n), QC_OK);
    assert_int_equal(n, 3); /* view, checkpoint, slot 9 */
    assert_null(find(got, n, PBFT_REC_SLOT, 5));
    assert_null(find(got, n, PBFT_REC_SLOT, 6));
    assert_non_null(find(got, n, PBFT_REC_SLOT, 9));
    assert_int_equal(find(got, n, PBFT_REC_CHECKPOINT, 0)->checkpoint.height, 6);
    assert_int_equal(cstate_body(&cs, &d5, &b, &bl), QC_ERR_NOTFOUND);
    assert_int_equal(cstate_body(&cs, &d9, &b, &bl), QC_OK);
    free(b);
    assert_int_equal(cs.writes, 1); /* synced batches since this open */
    cstate_close(&cs);
    tmpdir_remove(dir);
}

static void test_corrupt_record_refused(void **state) {
    (void)state;
    char dir[512];
    assert_int_equal(tmpdir_make(dir, sizeof dir, "cstate"), QC_OK);
    cstate_t cs;
    assert_int_equal(cstate_open(&cs, dir), QC_OK);
    pbft_persist_t r = slot_rec(1, 3, 0);
    assert_int_equal(cstate_write(&cs, &r, 1, NULL, 0), QC_OK);
    /* overwrite the slot record with a truncated value, as a torn or foreign write would */
    uint8_t key[9] = {'s'};
    qc_put_u64(key + 1, 3);
    char *err = NULL;
    leveldb_put(cs.db, cs.wopts, (const char *)key, sizeof key, "QCS1", 4, &err);
    assert_null(err);
    pbft_persist_t got[CSTATE_RECORDS_MAX];
    size_t n;
    assert_int_equal(cstate_load(&cs, got, CSTATE_RECORDS_MAX, &n), QC_ERR_CORRUPT);
    cstate_close(&cs);
    tmpdir_remove(dir);
}

static void test_open_failure(void **state) {
    (void)state;
    cstate_t cs;
    assert_int_equal(cstate_open(&cs, "/proc/qchain-no-such-dir/x"), QC_ERR_IO);
    assert_null(cs.db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latest_per_key_and_gc),
        cmocka_unit_test(test_corrupt_record_refused),
        cmocka_unit_test(test_open_failure),
    };
    return cmocka_run_group_tests_name("cstate", tests, NULL, NULL);
}
