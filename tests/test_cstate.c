/* test_cstate.c - the node's consensus-state LevelDB: latest record per key survives reopen,
 * a checkpoint deletes slots and bodies at or below it, bodies are served by digest, NEW_VIEW
 * and FINAL records keep their whole bodies, an EPOCH deletes older epochs' records but FINAL,
 * and a corrupt record (wrong size, count out of range, bad flag, foreign format) is refused
 * with QC_ERR_CORRUPT rather than restored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <leveldb/c.h>

#include "cstate.h"
#include "tmpdir.h"

static cstate_bodies_t *g_bodies; /* ~300 KB: heap, like the node's */

/* Each test's consensus-state database, in a fresh scratch directory. */
typedef struct {
    char dir[512];
    cstate_t cs;
} fx_t;

static int fx_setup(void **state) {
    fx_t *f = calloc(1, sizeof *f);
    if (f == NULL || tmpdir_make(f->dir, sizeof f->dir, "cstate") != 0) return -1;
    *state = f;
    return cstate_open(&f->cs, f->dir) == QC_OK ? 0 : -1;
}

static int fx_teardown(void **state) {
    fx_t *f = *state;
    cstate_close(&f->cs);
    tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static int load(cstate_t *cs, pbft_persist_t *recs, size_t *n) {
    return cstate_load(cs, recs, CSTATE_RECORDS_MAX, n, g_bodies);
}

static pbft_persist_t rec_new(uint64_t seq, pbft_rec_kind_t kind, uint64_t epoch) {
    pbft_persist_t r;
    memset(&r, 0, sizeof r);
    r.seq = seq;
    r.kind = kind;
    r.epoch = epoch;
    return r;
}

static pbft_persist_t slot_rec(uint64_t seq, uint64_t height, uint64_t view) {
    pbft_persist_t r = rec_new(seq, PBFT_REC_SLOT, 0);
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

/* Closes and reopens the database (what a restart does) and loads every record. */
static void reopen_load(fx_t *f, pbft_persist_t *got, size_t *n) {
    cstate_close(&f->cs);
    assert_int_equal(cstate_open(&f->cs, f->dir), QC_OK);
    assert_int_equal(load(&f->cs, got, n), QC_OK);
}

static void test_latest_per_key_and_gc(void **state) {
    fx_t *f = *state;
    cstate_t *cs = &f->cs;

    pbft_persist_t view = {0};
    view.seq = 1;
    view.kind = PBFT_REC_VIEW;
    view.view.view = 3;
    pbft_persist_t recs[4] = {view, slot_rec(2, 5, 3), slot_rec(3, 6, 3), slot_rec(4, 9, 3)};
    uint8_t body5[] = "block five", body9[] = "block nine";
    cstate_body_t bodies[2] = {{5, {{5}}, body5, sizeof body5}, {9, {{9}}, body9, sizeof body9}};
    assert_int_equal(cstate_write(cs, recs, 4, bodies, 2), QC_OK);
    pbft_persist_t newer = slot_rec(5, 6, 4); /* replaces the slot at height 6 */
    view.seq = 6;
    view.view.view = 4;
    pbft_persist_t more[2] = {newer, view};
    assert_int_equal(cstate_write(cs, more, 2, NULL, 0), QC_OK);

    pbft_persist_t got[CSTATE_RECORDS_MAX];
    size_t n;
    reopen_load(f, got, &n);
    assert_int_equal(n, 4); /* view + slots 5, 6, 9 */
    assert_int_equal(find(got, n, PBFT_REC_VIEW, 0)->view.view, 4);
    assert_int_equal(find(got, n, PBFT_REC_SLOT, 6)->slot.vote.view, 4);
    uint8_t *b;
    size_t bl;
    qc_hash_t d5 = {{5}}, d9 = {{9}}, d7 = {{7}};
    assert_int_equal(cstate_body(cs, &d5, &b, &bl), QC_OK);
    assert_memory_equal(b, body5, sizeof body5);
    free(b);
    assert_int_equal(cstate_body(cs, &d7, &b, &bl), QC_ERR_NOTFOUND);

    /* a checkpoint at 6 deletes slots 5 and 6 and body 5, keeps slot 9 and body 9 */
    pbft_persist_t ck = {0};
    ck.seq = 7;
    ck.kind = PBFT_REC_CHECKPOINT;
    ck.checkpoint.height = 6;
    assert_int_equal(cstate_write(cs, &ck, 1, NULL, 0), QC_OK);
    assert_int_equal(load(cs, got, &n), QC_OK);
    assert_int_equal(n, 3); /* view, checkpoint, slot 9 */
    assert_null(find(got, n, PBFT_REC_SLOT, 5));
    assert_null(find(got, n, PBFT_REC_SLOT, 6));
    assert_non_null(find(got, n, PBFT_REC_SLOT, 9));
    assert_int_equal(find(got, n, PBFT_REC_CHECKPOINT, 0)->checkpoint.height, 6);
    assert_int_equal(cstate_body(cs, &d5, &b, &bl), QC_ERR_NOTFOUND);
    assert_int_equal(cstate_body(cs, &d9, &b, &bl), QC_OK);
    free(b);
    assert_int_equal(cs->writes, 1); /* synced batches since this open */

    /* The next checkpoint's scan starts above the last one's, but a slot or body put below
     * that floor afterwards (here 4 and 3, under the checkpoint at 6) still goes at 8. */
    assert_int_equal(cs->slot_floor, 7);
    pbft_persist_t low = slot_rec(8, 4, 4);
    uint8_t body3[] = "block three";
    qc_hash_t d3 = {{3}};
    cstate_body_t low_body = {3, d3, body3, sizeof body3};
    assert_int_equal(cstate_write(cs, &low, 1, NULL, 0), QC_OK);
    assert_int_equal(cs->slot_floor, 4);
    assert_int_equal(cstate_write(cs, NULL, 0, &low_body, 1), QC_OK);
    assert_int_equal(cs->slot_floor, 3);
    assert_int_equal(load(cs, got, &n), QC_OK);
    assert_non_null(find(got, n, PBFT_REC_SLOT, 4));
    ck.seq = 9;
    ck.checkpoint.height = 8;
    assert_int_equal(cstate_write(cs, &ck, 1, NULL, 0), QC_OK);
    assert_int_equal(cs->slot_floor, 9);
    assert_int_equal(load(cs, got, &n), QC_OK);
    assert_int_equal(n, 3); /* view, checkpoint, slot 9 */
    assert_null(find(got, n, PBFT_REC_SLOT, 4));
    assert_non_null(find(got, n, PBFT_REC_SLOT, 9));
    assert_int_equal(cstate_body(cs, &d3, &b, &bl), QC_ERR_NOTFOUND);
    assert_int_equal(cstate_body(cs, &d9, &b, &bl), QC_OK);
    free(b);
}

static void test_corrupt_record_refused(void **state) {
    fx_t *f = *state;
    cstate_t *cs = &f->cs;
    pbft_persist_t r = slot_rec(1, 3, 0);
    assert_int_equal(cstate_write(cs, &r, 1, NULL, 0), QC_OK);
    /* overwrite the slot record with a truncated value, as a torn or foreign write would */
    uint8_t key[9] = {'s'};
    qc_put_u64(key + 1, 3);
    char *err = NULL;
    leveldb_put(cs->db, cs->wopts, (const char *)key, sizeof key, "QCS1", 4, &err);
    assert_null(err);
    pbft_persist_t got[CSTATE_RECORDS_MAX];
    size_t n;
    assert_int_equal(load(cs, got, &n), QC_ERR_CORRUPT);
}


/* ---------------------------------------------------------------- NEW_VIEW and FINAL records */

static pbft_view_change_t g_vcs[3];

/* VIEW-CHANGE r for view 7 with 1 + r prepared certificates of 3 signatures each. */
static void fill_vc(pbft_view_change_t *vc, uint16_t r) {
    memset(vc, 0, sizeof *vc);
    vc->epoch = 2;
    vc->view = 7;
    vc->replica = r;
    vc->stable.height = 16;
    memset(vc->stable.digest.b, 0x16, 32);
    vc->stable.count = 3;
    for (uint8_t i = 0; i < 3; i++) {
        vc->stable.sigs[i].replica = i;
        memset(vc->stable.sigs[i].sig.b, 0x30 + i, 64);
    }
    vc->prepared_count = (uint8_t)(1 + r);
    for (uint8_t k = 0; k < vc->prepared_count; k++) {
        pbft_prepared_cert_t *c = &vc->prepared[k];
        c->view = 6;
        c->height = 17u + k;
        memset(c->digest.b, 0x40 + k + 16 * r, 32);
        memset(c->parent.b, 0x3f + k + 16 * r, 32);
        c->count = 3;
        for (uint8_t i = 0; i < 3; i++) {
            c->sigs[i].replica = (uint16_t)((r + i) % 4);
            memset(c->sigs[i].sig.b, (int)(k * 16 + i + r), 64);
        }
    }
    memset(vc->sig.b, 0x70 + r, 64);
}

/* A NEW_VIEW record for view 7 with three VIEW-CHANGEs (in *nv, pointing into g_vcs). */
static pbft_persist_t nv_rec(uint64_t seq, pbft_new_view_t *nv) {
    memset(nv, 0, sizeof *nv);
    nv->epoch = 2;
    nv->view = 7;
    nv->replica = 3;
    for (uint16_t r = 0; r < 3; r++) {
        fill_vc(&g_vcs[r], r);
        nv->vcs[r] = &g_vcs[r];
    }
    nv->vc_count = 3;
    nv->base = g_vcs[0].stable;
    nv->entry_count = 3;
    for (uint8_t i = 0; i < 3; i++) {
        nv->entries[i].height = 17u + i;
        memset(nv->entries[i].digest.b, 0x50 + i, 32);
        memset(nv->entries[i].parent.b, 0x4f + i, 32);
        memset(nv->entries[i].sig.b, 0x60 + i, 64);
    }
    memset(nv->sig.b, 0x5e, 64);
    pbft_persist_t r = rec_new(seq, PBFT_REC_NEW_VIEW, 2);
    r.new_view = nv;
    return r;
}

/* A FINAL record with `count` certificates of epochs 0.. (in *f). */
static pbft_persist_t final_rec(uint64_t seq, pbft_finals_t *f, uint8_t count) {
    memset(f, 0, sizeof *f);
    f->count = count;
    for (uint8_t i = 0; i < count; i++) {
        f->items[i].epoch = i;
        f->items[i].cert.height = 8u * (i + 1);
        memset(f->items[i].cert.digest.b, 0x90 + i, 32);
        f->items[i].cert.count = 3;
        for (uint8_t k = 0; k < 3; k++) {
            f->items[i].cert.sigs[k].replica = k;
            memset(f->items[i].cert.sigs[k].sig.b, 0xa0 + i * 4 + k, 64);
        }
    }
    pbft_persist_t r = rec_new(seq, PBFT_REC_FINAL, 2);
    r.finals = f;
    return r;
}

static void assert_nv_equal(const pbft_new_view_t *got, const pbft_new_view_t *want) {
    assert_int_equal(got->epoch, want->epoch);
    assert_int_equal(got->view, want->view);
    assert_int_equal(got->replica, want->replica);
    assert_int_equal(got->vc_count, want->vc_count);
    assert_memory_equal(&got->base, &want->base, sizeof want->base);
    assert_int_equal(got->entry_count, want->entry_count);
    assert_memory_equal(got->entries, want->entries, sizeof want->entries);
    assert_memory_equal(got->sig.b, want->sig.b, 64);
    for (uint8_t i = 0; i < want->vc_count; i++) {
        assert_ptr_equal(got->vcs[i], &g_bodies->vcs[i]); /* into the caller's storage */
        assert_memory_equal(got->vcs[i], want->vcs[i], sizeof *want->vcs[i]);
    }
    for (uint8_t i = want->vc_count; i < PBFT_Q_MAX; i++) assert_null(got->vcs[i]);
}

static void test_new_view_and_final_round_trip(void **state) {
    fx_t *f = *state;
    cstate_t *cs = &f->cs;
    static pbft_new_view_t nv, nv2;
    static pbft_finals_t fin, fin2;
    pbft_persist_t recs[3] = {nv_rec(1, &nv), final_rec(2, &fin, 2), slot_rec(3, 17, 7)};
    assert_int_equal(cstate_write(cs, recs, 3, NULL, 0), QC_OK);
    /* The core's bodies are borrowed: the stored copy must not depend on them afterwards. */
    pbft_new_view_t want_nv = nv;
    static pbft_view_change_t want_vcs[3];
    memcpy(want_vcs, g_vcs, sizeof want_vcs);
    for (int i = 0; i < 3; i++) want_nv.vcs[i] = &want_vcs[i];
    pbft_finals_t want_fin = fin;
    memset(g_vcs, 0xee, sizeof g_vcs);
    memset(&fin, 0xee, sizeof fin);

    pbft_persist_t got[CSTATE_RECORDS_MAX];
    size_t n;
    reopen_load(f, got, &n);
    assert_int_equal(n, 3);
    const pbft_persist_t *g = find(got, n, PBFT_REC_NEW_VIEW, 0);
    assert_non_null(g);
    assert_int_equal(g->seq, 1);
    assert_int_equal(g->epoch, 2);
    assert_ptr_equal(g->new_view, &g_bodies->nv);
    assert_nv_equal(g->new_view, &want_nv);
    g = find(got, n, PBFT_REC_FINAL, 0);
    assert_non_null(g);
    assert_ptr_equal(g->finals, &g_bodies->finals);
    assert_memory_equal(g->finals, &want_fin, sizeof want_fin);

    /* A later record of each key replaces the earlier one: one VIEW-CHANGE, three finals. */
    pbft_persist_t later[2] = {nv_rec(4, &nv2), final_rec(5, &fin2, PBFT_FINAL_KEEP)};
    nv2.view = 8;
    nv2.vc_count = 1;
    nv2.vcs[1] = nv2.vcs[2] = NULL;
    assert_int_equal(cstate_write(cs, later, 2, NULL, 0), QC_OK);
    reopen_load(f, got, &n);
    assert_int_equal(n, 3);
    g = find(got, n, PBFT_REC_NEW_VIEW, 0);
    assert_int_equal(g->seq, 4);
    assert_nv_equal(g->new_view, &nv2);
    g = find(got, n, PBFT_REC_FINAL, 0);
    assert_int_equal(g->seq, 5);
    assert_int_equal(g->finals->count, PBFT_FINAL_KEEP);
    assert_memory_equal(g->finals, &fin2, sizeof fin2);
}

/* An EPOCH record deletes the older epoch's VIEW, CHECKPOINT, SLOT and NEW_VIEW records, stored
 * or earlier in its own batch, and keeps FINAL and every record of the new epoch. */
static void test_epoch_deletes_older_records_but_final(void **state) {
    fx_t *f = *state;
    cstate_t *cs = &f->cs;
    static pbft_new_view_t nv;
    static pbft_finals_t fin;
    pbft_persist_t old[5] = {nv_rec(1, &nv), final_rec(2, &fin, 1), slot_rec(3, 17, 7),
                             slot_rec(4, 18, 7), rec_new(5, PBFT_REC_VIEW, 2)};
    old[4].view.view = 7;
    for (int i = 0; i < 5; i++) old[i].epoch = 2;
    assert_int_equal(cstate_write(cs, old, 5, NULL, 0), QC_OK);

    pbft_persist_t sw[3] = {slot_rec(6, 19, 7), rec_new(7, PBFT_REC_EPOCH, 3),
                            rec_new(8, PBFT_REC_VIEW, 3)};
    sw[0].epoch = 2; /* still the old epoch, in the switching batch */
    sw[1].next_epoch.epoch = 3;
    sw[1].next_epoch.n = 4;
    sw[1].next_epoch.base_height = 16;
    assert_int_equal(cstate_write(cs, sw, 3, NULL, 0), QC_OK);
    pbft_persist_t got[CSTATE_RECORDS_MAX];
    size_t n;
    reopen_load(f, got, &n);
    assert_int_equal(n, 3); /* FINAL, EPOCH, the new epoch's VIEW */
    assert_non_null(find(got, n, PBFT_REC_FINAL, 0));
    assert_int_equal(find(got, n, PBFT_REC_EPOCH, 0)->next_epoch.epoch, 3);
    assert_int_equal(find(got, n, PBFT_REC_VIEW, 0)->epoch, 3);
    assert_null(find(got, n, PBFT_REC_NEW_VIEW, 0));
    assert_null(find(got, n, PBFT_REC_SLOT, 19));
}

/* ---------------------------------------------------------------- corrupt values */

typedef struct {
    uint8_t key[9];
    size_t key_len;
    uint8_t *val;
    size_t len;
} stored_t;

static void stored_get(cstate_t *cs, const char *key, size_t key_len, stored_t *out) {
    memcpy(out->key, key, key_len);
    out->key_len = key_len;
    char *err = NULL;
    char *v = leveldb_get(cs->db, cs->ropts, key, key_len, &out->len, &err);
    assert_null(err);
    assert_non_null(v);
    out->val = malloc(out->len + 1);
    assert_non_null(out->val);
    memcpy(out->val, v, out->len);
    leveldb_free(v);
}

static void stored_put(cstate_t *cs, const stored_t *st, const uint8_t *val, size_t len) {
    char *err = NULL;
    leveldb_put(cs->db, cs->wopts, (const char *)st->key, st->key_len, (const char *)val, len,
                &err);
    assert_null(err);
}

/* Stores len bytes of val (a damaged copy) under the key and expects the load to refuse. */
static void expect_refused(cstate_t *cs, const stored_t *st, const uint8_t *val, size_t len) {
    stored_put(cs, st, val, len);
    pbft_persist_t got[CSTATE_RECORDS_MAX];
    size_t n = 99;
    assert_int_equal(load(cs, got, &n), QC_ERR_CORRUPT);
    assert_int_equal(n, 0);
}

/* Sets one byte at off in a copy of st's value, stores it and expects the load to refuse. */
static void expect_byte_refused(cstate_t *cs, const stored_t *st, size_t off, uint8_t v) {
    assert_true(off < st->len);
    uint8_t *copy = malloc(st->len);
    assert_non_null(copy);
    memcpy(copy, st->val, st->len);
    copy[off] = v;
    expect_refused(cs, st, copy, st->len);
    free(copy);
}

static void test_corrupt_bodies_refused(void **state) {
    fx_t *f = *state;
    cstate_t *cs = &f->cs;
    static pbft_new_view_t nv;
    static pbft_finals_t fin;
    pbft_persist_t recs[3] = {nv_rec(1, &nv), final_rec(2, &fin, 2), slot_rec(3, 17, 7)};
    recs[2].slot.has_prepared = true;
    recs[2].slot.prepared.count = 3;
    assert_int_equal(cstate_write(cs, recs, 3, NULL, 0), QC_OK);
    stored_t fin_st, nv_st, sl;
    stored_get(cs, "f", 1, &fin_st);
    stored_get(cs, "n", 1, &nv_st);
    uint8_t skey[9] = {'s'};
    qc_put_u64(skey + 1, 17);
    stored_get(cs, (const char *)skey, 9, &sl);
    /* Layouts from the value sizes: header, pbft_persist_t, body. */
    assert_true(fin_st.len > sizeof(pbft_persist_t) + sizeof(pbft_finals_t));
    size_t head = fin_st.len - sizeof(pbft_persist_t) - sizeof(pbft_finals_t);
    size_t f_body = head + sizeof(pbft_persist_t), nv_body = f_body;
    size_t vc0 = nv_body + sizeof(pbft_new_view_t);

    /* Sound values load. */
    pbft_persist_t got[CSTATE_RECORDS_MAX];
    size_t count;
    assert_int_equal(load(cs, got, &count), QC_OK);
    assert_int_equal(count, 3);

    expect_refused(cs, &fin_st, fin_st.val, fin_st.len - 1);                   /* truncated */
    fin_st.val[fin_st.len] = 0;
    expect_refused(cs, &fin_st, fin_st.val, fin_st.len + 1);                   /* a byte too many */
    expect_byte_refused(cs, &fin_st, f_body + offsetof(pbft_finals_t, count), PBFT_FINAL_KEEP + 1);
    expect_byte_refused(cs, &fin_st, f_body + offsetof(pbft_finals_t, items[1].cert.count),
                        PBFT_Q_MAX + 1);
    expect_byte_refused(cs, &fin_st, 0, 'X');                        /* magic */
    expect_byte_refused(cs, &fin_st, 7, 0x7f);                       /* another build's sizes */
    expect_byte_refused(cs, &fin_st, head + offsetof(pbft_persist_t, kind), PBFT_REC_VIEW);
    stored_put(cs, &fin_st, fin_st.val, fin_st.len);                           /* restored: loads again */
    assert_int_equal(load(cs, got, &count), QC_OK);

    expect_refused(cs, &nv_st, nv_st.val, nv_st.len - 64);                  /* last signature cut */
    expect_byte_refused(cs, &nv_st, nv_body + offsetof(pbft_new_view_t, vc_count), PBFT_Q_MAX + 1);
    expect_byte_refused(cs, &nv_st, nv_body + offsetof(pbft_new_view_t, vc_count), 4); /* > stored */
    expect_byte_refused(cs, &nv_st, nv_body + offsetof(pbft_new_view_t, entry_count),
                        PBFT_WINDOW_MAX + 1);
    expect_byte_refused(cs, &nv_st, nv_body + offsetof(pbft_new_view_t, base.count), PBFT_Q_MAX + 1);
    expect_byte_refused(cs, &nv_st, vc0 + offsetof(pbft_view_change_t, prepared_count),
                        PBFT_WINDOW_MAX + 1);
    expect_byte_refused(cs, &nv_st, vc0 + offsetof(pbft_view_change_t, prepared_count), 2);
    expect_byte_refused(cs, &nv_st, vc0 + offsetof(pbft_view_change_t, stable.count), PBFT_Q_MAX + 1);
    expect_byte_refused(cs, &nv_st, vc0 + offsetof(pbft_view_change_t, prepared) +
                                     offsetof(pbft_prepared_cert_t, count), PBFT_Q_MAX + 1);
    stored_put(cs, &nv_st, nv_st.val, nv_st.len);
    assert_int_equal(load(cs, got, &count), QC_OK);

    expect_byte_refused(cs, &sl, head + offsetof(pbft_persist_t, slot.has_prepared), 2);
    expect_byte_refused(cs, &sl, head + offsetof(pbft_persist_t, slot.prepared.count),
                        PBFT_Q_MAX + 1);
    expect_byte_refused(cs, &sl, head + offsetof(pbft_persist_t, slot.height) + 1, 0x55);
    free(fin_st.val);
    free(nv_st.val);
    free(sl.val);
}

/* Path of the first file in dir whose name ends with suffix (LevelDB's "000003.log"). */
static void find_file(const char *dir, const char *suffix, char *out, size_t cap) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    out[0] = '\0';
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name), sl = strlen(suffix);
        if (n > sl && strcmp(e->d_name + n - sl, suffix) == 0) {
            snprintf(out, cap, "%s/%s", dir, e->d_name);
            break;
        }
    }
    closedir(d);
    assert_true(out[0] != '\0');
}

/* A flipped byte in the middle of LevelDB's log is corruption, reported as such (not as an
 * I/O error), and the open fails rather than dropping the votes behind it. */
static void test_leveldb_damage_is_corruption(void **state) {
    fx_t *f = *state;
    static uint8_t body[2000];
    for (uint64_t h = 1; h <= 3; h++) {
        pbft_persist_t r = slot_rec(h, h, 1);
        cstate_body_t b = {h, {{(uint8_t)h}}, body, sizeof body};
        assert_int_equal(cstate_write(&f->cs, &r, 1, &b, 1), QC_OK);
    }
    cstate_close(&f->cs);
    char log[1024];
    find_file(f->dir, ".log", log, sizeof log);
    FILE *fp = fopen(log, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 100, SEEK_SET), 0); /* inside the first batch's record */
    int c = fgetc(fp);
    assert_int_equal(fseek(fp, 100, SEEK_SET), 0);
    fputc(c ^ 0x40, fp);
    fclose(fp);
    assert_int_equal(cstate_open(&f->cs, f->dir), QC_ERR_CORRUPT);
    assert_null(f->cs.db);
}

/* Bytes in the directory's table files. */
static long tables_bytes(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    long total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".ldb") != 0) continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        total += (long)st.st_size;
    }
    closedir(d);
    return total;
}

/* The database is written without compression now, but an older build's wrote Snappy tables
 * (LevelDB's default): a restart on such a directory reads every record and body. */
static void test_older_compressed_tables_read(void **state) {
    fx_t *f = *state;
    static uint8_t body[8000];
    memset(body, 'q', sizeof body); /* compresses to a few hundred bytes */
    pbft_persist_t r = slot_rec(1, 4, 2);
    cstate_body_t b = {4, {{4}}, body, sizeof body};
    assert_int_equal(cstate_write(&f->cs, &r, 1, &b, 1), QC_OK);
    cstate_close(&f->cs);

    /* What the older build's compaction left: the same data in Snappy-compressed tables. */
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_compression(o, leveldb_snappy_compression);
    char *err = NULL;
    leveldb_t *db = leveldb_open(o, f->dir, &err);
    assert_null(err);
    leveldb_compact_range(db, NULL, 0, NULL, 0);
    leveldb_close(db);
    leveldb_options_destroy(o);
    long bytes = tables_bytes(f->dir);
    assert_true(bytes > 0 && bytes < (long)sizeof body / 2); /* compressed, so really Snappy */

    pbft_persist_t got[CSTATE_RECORDS_MAX];
    size_t n;
    assert_int_equal(cstate_open(&f->cs, f->dir), QC_OK);
    assert_int_equal(load(&f->cs, got, &n), QC_OK);
    const pbft_persist_t *slot = find(got, n, PBFT_REC_SLOT, 4);
    assert_non_null(slot);
    assert_int_equal(slot->slot.vote.view, 2);
    uint8_t *rb;
    size_t rl;
    qc_hash_t d4 = {{4}};
    assert_int_equal(cstate_body(&f->cs, &d4, &rb, &rl), QC_OK);
    assert_int_equal(rl, sizeof body);
    assert_memory_equal(rb, body, sizeof body);
    free(rb);

    /* What this build writes is not compressed: the next body, as compressible, lands in the
     * log, and the reopen's recovery writes it into a new table with cstate's own options. */
    pbft_persist_t r5 = slot_rec(2, 5, 2);
    cstate_body_t b5 = {5, {{5}}, body, sizeof body};
    assert_int_equal(cstate_write(&f->cs, &r5, 1, &b5, 1), QC_OK);
    cstate_close(&f->cs);
    assert_int_equal(cstate_open(&f->cs, f->dir), QC_OK);
    assert_true(tables_bytes(f->dir) >= bytes + (long)sizeof body);
}

/* The consensus state holds this node's votes: its directory is 0700 like the ledger's, and
 * an existing one created more open (by an older build: 0755) is tightened. */
static void test_dir_is_private(void **state) {
    fx_t *f = *state;
    struct stat st;
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    cstate_close(&f->cs);
    assert_int_equal(chmod(f->dir, 0755), 0);
    assert_int_equal(cstate_open(&f->cs, f->dir), QC_OK);
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/new/consensus", f->dir);
    cstate_t cs2;
    assert_int_equal(cstate_open(&cs2, sub), QC_OK);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    cstate_close(&cs2);
}

static void test_open_failure(void **state) {
    (void)state;
    cstate_t cs;
    assert_int_equal(cstate_open(&cs, "/proc/qchain-no-such-dir/x"), QC_ERR_IO);
    assert_null(cs.db);
}

static int setup(void **state) {
    (void)state;
    g_bodies = calloc(1, sizeof *g_bodies);
    return g_bodies ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(g_bodies);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_latest_per_key_and_gc, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_record_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_new_view_and_final_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_epoch_deletes_older_records_but_final, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_bodies_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_leveldb_damage_is_corruption, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_older_compressed_tables_read, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dir_is_private, fx_setup, fx_teardown),
        cmocka_unit_test(test_open_failure),
    };
    qc_log_set_level(QC_LOG_OFF); /* the refusals log at ERROR by design */
    return cmocka_run_group_tests_name("cstate", tests, setup, teardown);
}
