/* cstate.c - the node's consensus-state LevelDB: persist records and voted block bodies. */
#include "cstate.h"

#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#define REC_MAGIC 0x51435331u /* "QCS1" */

/* Keys: 'v' view, 'c' checkpoint, 'e' epoch, 's'+u64 height slot, 'b'+digest body,
 * 'h'+u64 height+digest body index (for deleting bodies below a checkpoint). */

int cstate_open(cstate_t *cs, const char *dir) {
    memset(cs, 0, sizeof *cs);
    char *err = NULL;
    cs->opts = leveldb_options_create();
    leveldb_options_set_create_if_missing(cs->opts, 1);
    leveldb_options_set_paranoid_checks(cs->opts, 1);
    cs->db = leveldb_open(cs->opts, dir, &err);
    if (err) {
        QC_ERROR("consensus state %s: %s", dir, err);
        leveldb_free(err);
        leveldb_options_destroy(cs->opts);
        memset(cs, 0, sizeof *cs);
        return QC_ERR_IO;
    }
    cs->ropts = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(cs->ropts, 1);
    cs->wopts = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(cs->wopts, 1);
    return QC_OK;
}

void cstate_close(cstate_t *cs) {
    if (cs->db) leveldb_close(cs->db);
    if (cs->opts) leveldb_options_destroy(cs->opts);
    if (cs->ropts) leveldb_readoptions_destroy(cs->ropts);
    if (cs->wopts) leveldb_writeoptions_destroy(cs->wopts);
    memset(cs, 0, sizeof *cs);
}

static size_t rec_key(const pbft_persist_t *r, uint8_t key[9]) {
    switch (r->kind) {
    case PBFT_REC_VIEW: key[0] = 'v'; return 1;
    case PBFT_REC_CHECKPOINT: key[0] = 'c'; return 1;
    case PBFT_REC_EPOCH: key[0] = 'e'; return 1;
    case PBFT_REC_SLOT: key[0] = 's'; qc_put_u64(key + 1, r->slot.height); return 9;
    case PBFT_REC_NEW_VIEW: /* not stored yet: the core does not emit them yet */
    case PBFT_REC_FINAL: return 0;
    }
    return 0;
}

/* Deletes slot records and kept bodies at or below height. Bounded by what exists. */
static void gc_below(cstate_t *cs, leveldb_writebatch_t *b, uint64_t height) {
    leveldb_iterator_t *it = leveldb_create_iterator(cs->db, cs->ropts);
    uint8_t start[9] = {'s'};
    for (leveldb_iter_seek(it, (const char *)start, 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &kl);
        if (kl != 9 || k[0] != 's' || qc_get_u64(k + 1) > height) break;
        leveldb_writebatch_delete(b, (const char *)k, kl);
    }
    start[0] = 'h';
    for (leveldb_iter_seek(it, (const char *)start, 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &kl);
        if (kl != 41 || k[0] != 'h' || qc_get_u64(k + 1) > height) break;
        uint8_t bkey[33] = {'b'};
        memcpy(bkey + 1, k + 9, 32);
        leveldb_writebatch_delete(b, (const char *)bkey, sizeof bkey);
        leveldb_writebatch_delete(b, (const char *)k, kl);
    }
    leveldb_iter_destroy(it);
}

int cstate_write(cstate_t *cs, const pbft_persist_t *recs, size_t count,
                 const cstate_body_t *bodies, size_t body_count) {
    leveldb_writebatch_t *b = leveldb_writebatch_create();
    uint8_t val[8 + sizeof(pbft_persist_t)];
    qc_put_u32(val, REC_MAGIC);
    qc_put_u32(val + 4, (uint32_t)sizeof(pbft_persist_t));
    for (size_t i = 0; i < count; i++) {
        uint8_t key[9];
        size_t kl = rec_key(&recs[i], key);
        QC_ASSERT(kl > 0);
        memcpy(val + 8, &recs[i], sizeof recs[i]);
        leveldb_writebatch_put(b, (const char *)key, kl, (const char *)val, sizeof val);
        if (recs[i].kind == PBFT_REC_CHECKPOINT) gc_below(cs, b, recs[i].checkpoint.height);
    }
    for (size_t i = 0; i < body_count; i++) {
        uint8_t bkey[33] = {'b'}, hkey[41] = {'h'};
        memcpy(bkey + 1, bodies[i].digest.b, 32);
        qc_put_u64(hkey + 1, bodies[i].height);
        memcpy(hkey + 9, bodies[i].digest.b, 32);
        leveldb_writebatch_put(b, (const char *)bkey, sizeof bkey, (const char *)bodies[i].data,
                               bodies[i].len);
        leveldb_writebatch_put(b, (const char *)hkey, sizeof hkey, "", 0);
    }
    char *err = NULL;
    leveldb_write(cs->db, cs->wopts, b, &err);
    leveldb_writebatch_destroy(b);
    if (err) {
        QC_ERROR("consensus state write failed: %s", err);
        leveldb_free(err);
        return QC_ERR_IO;
    }
    cs->writes++;
    return QC_OK;
}

int cstate_load(cstate_t *cs, pbft_persist_t *recs, size_t cap, size_t *count) {
    *count = 0;
    int rc = QC_OK;
    leveldb_iterator_t *it = leveldb_create_iterator(cs->db, cs->ropts);
    for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it) && rc == QC_OK; leveldb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &kl);
        if (kl == 0 || !(k[0] == 'v' || k[0] == 'c' || k[0] == 'e' || k[0] == 's')) continue;
        const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vl);
        if (vl != 8 + sizeof(pbft_persist_t) || qc_get_u32(v) != REC_MAGIC ||
            qc_get_u32(v + 4) != sizeof(pbft_persist_t)) {
            QC_ERROR("consensus state: record under key '%c' is corrupt or from another build", k[0]);
            rc = QC_ERR_CORRUPT;
        } else if (*count >= cap) {
            QC_ERROR("consensus state: more records than the window allows");
            rc = QC_ERR_CORRUPT;
        } else {
            memcpy(&recs[(*count)++], v + 8, sizeof(pbft_persist_t));
        }
    }
    char *err = NULL;
    leveldb_iter_get_error(it, &err);
    if (err) { QC_ERROR("consensus state read: %s", err); leveldb_free(err); rc = QC_ERR_IO; }
    leveldb_iter_destroy(it);
    return rc;
}

int cstate_body(cstate_t *cs, const qc_hash_t *digest, uint8_t **out, size_t *len) {
    uint8_t key[33] = {'b'};
    memcpy(key + 1, digest->b, 32);
    char *err = NULL;
    size_t vl;
    char *v = leveldb_get(cs->db, cs->ropts, (const char *)key, sizeof key, &vl, &err);
    if (err) { leveldb_free(err); return QC_ERR_IO; }
    if (v == NULL) return QC_ERR_NOTFOUND;
    *out = malloc(vl ? vl : 1);
    if (*out == NULL) { leveldb_free(v); return QC_ERR_NOMEM; }
    memcpy(*out, v, vl);
    *len = vl;
    leveldb_free(v);
    return QC_OK;
}
