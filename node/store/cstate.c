/* cstate.c - the node's consensus-state LevelDB: persist records and voted block bodies. */
#include "cstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "ldb.h"

/* Every record value: REC_HEAD_BYTES of magic and this build's struct sizes, the
 * pbft_persist_t as it is in memory (its body pointer zeroed), then the body of a NEW_VIEW
 * (the pbft_new_view_t with its pointers zeroed, then each VIEW-CHANGE as the fields before
 * prepared[], its prepared_count certificates and its signature) or of a FINAL (the
 * pbft_finals_t). Raw structs: the encoding is local to one build (docs/STORAGE.md). */
#define REC_MAGIC 0x51435332u /* "QCS2" */
#define REC_HEAD_BYTES 20
#define VC_HEAD_BYTES offsetof(pbft_view_change_t, prepared)

_Static_assert(sizeof(bool) == 1, "flags are checked as single bytes");
_Static_assert(offsetof(pbft_view_change_t, sig) ==
                   VC_HEAD_BYTES + PBFT_WINDOW_MAX * sizeof(pbft_prepared_cert_t),
               "a VIEW-CHANGE ends with prepared[] and then its signature");

/* Keys: 'v' view, 'c' checkpoint, 'e' epoch, 'n' new-view, 'f' finals, 's'+u64 height slot,
 * 'b'+digest body, 'h'+u64 height+digest body index (for deleting bodies below a checkpoint),
 * 'a' the ledger height this node had applied (u64, cstate_set_applied). */
#define KEY_APPLIED 'a' 
#define KEY_BYTES_MAX 9

int cstate_open(cstate_t *cs, const char *dir) {
    memset(cs, 0, sizeof *cs);
    if (strlen(dir) >= sizeof cs->dir) return QC_ERR_INVALID;
    snprintf(cs->dir, sizeof cs->dir, "%s", dir);
    cs->opts = leveldb_options_create();
    leveldb_options_set_create_if_missing(cs->opts, 1);
    leveldb_options_set_paranoid_checks(cs->opts, 1);
    /* Its values are votes, certificates and proposal bodies: hashes and signatures, which do
     * not compress; Snappy trying cost ~1% of a node's CPU at full load (BENCHMARKS.md "Sixth
     * session"). Tables written before stay readable: LevelDB marks each block's compression. */
    leveldb_options_set_compression(cs->opts, leveldb_no_compression);
    int rc = ldb_open(&cs->db, cs->opts, dir);
    if (rc != QC_OK) {
        QC_ERROR("consensus state %s: %s", dir, qc_strerror(rc));
        leveldb_options_destroy(cs->opts);
        memset(cs, 0, sizeof *cs);
        return rc;
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

/* ---------------------------------------------------------------- keys */

static size_t rec_key(const pbft_persist_t *r, uint8_t key[KEY_BYTES_MAX]) {
    switch (r->kind) {
    case PBFT_REC_VIEW: key[0] = 'v'; return 1;
    case PBFT_REC_CHECKPOINT: key[0] = 'c'; return 1;
    case PBFT_REC_EPOCH: key[0] = 'e'; return 1;
    case PBFT_REC_NEW_VIEW: key[0] = 'n'; return 1;
    case PBFT_REC_FINAL: key[0] = 'f'; return 1;
    case PBFT_REC_SLOT: key[0] = 's'; qc_put_u64(key + 1, r->slot.height); return 9;
    }
    return 0;
}

/* The record kind a key holds, or 0 for keys that hold none (bodies and their index). */
static int key_kind(const uint8_t *k, size_t kl) {
    if (kl == 9 && k[0] == 's') return PBFT_REC_SLOT;
    if (kl != 1) return 0;
    switch (k[0]) {
    case 'v': return PBFT_REC_VIEW;
    case 'c': return PBFT_REC_CHECKPOINT;
    case 'e': return PBFT_REC_EPOCH;
    case 'n': return PBFT_REC_NEW_VIEW;
    case 'f': return PBFT_REC_FINAL;
    default: return 0;
    }
}

/* "'v'" or "'s' 42", for log lines. */
static void key_name(const uint8_t *k, size_t kl, char out[32]) {
    if (kl == 9) snprintf(out, 32, "'%c' %llu", k[0], (unsigned long long)qc_get_u64(k + 1));
    else snprintf(out, 32, "'%c'", kl ? k[0] : '?');
}

/* ---------------------------------------------------------------- encoding */

static size_t vc_bytes(const pbft_view_change_t *vc) {
    return VC_HEAD_BYTES + vc->prepared_count * sizeof(pbft_prepared_cert_t) + sizeof(qc_sig_t);
}

/* The stored size of r. Bodies the core hands over are asserted within their arrays: a
 * record this function accepts always loads again. */
static size_t rec_bytes(const pbft_persist_t *r) {
    size_t n = REC_HEAD_BYTES + sizeof *r;
    if (r->kind == PBFT_REC_NEW_VIEW) {
        const pbft_new_view_t *nv = r->new_view;
        QC_ASSERT(nv != NULL && nv->vc_count <= PBFT_Q_MAX);
        n += sizeof *nv;
        for (uint8_t i = 0; i < nv->vc_count; i++) {
            QC_ASSERT(nv->vcs[i] != NULL && nv->vcs[i]->prepared_count <= PBFT_WINDOW_MAX);
            n += vc_bytes(nv->vcs[i]);
        }
    } else if (r->kind == PBFT_REC_FINAL) {
        QC_ASSERT(r->finals != NULL && r->finals->count <= PBFT_FINAL_KEEP);
        n += sizeof *r->finals;
    }
    return n;
}

static uint8_t *put_bytes(uint8_t *p, const void *src, size_t n) {
    memcpy(p, src, n);
    return p + n;
}

static void put_head(uint8_t out[REC_HEAD_BYTES]) {
    qc_put_u32(out, REC_MAGIC);
    qc_put_u32(out + 4, (uint32_t)sizeof(pbft_persist_t));
    qc_put_u32(out + 8, (uint32_t)sizeof(pbft_new_view_t));
    qc_put_u32(out + 12, (uint32_t)sizeof(pbft_view_change_t));
    qc_put_u32(out + 16, (uint32_t)sizeof(pbft_finals_t));
}

/* Writes r's value (rec_bytes(r) bytes) to out. */
static void rec_encode(const pbft_persist_t *r, uint8_t *out) {
    put_head(out);
    pbft_persist_t head = *r;
    if (r->kind == PBFT_REC_NEW_VIEW) head.new_view = NULL;
    if (r->kind == PBFT_REC_FINAL) head.finals = NULL;
    uint8_t *p = put_bytes(out + REC_HEAD_BYTES, &head, sizeof head);
    if (r->kind == PBFT_REC_NEW_VIEW) {
        pbft_new_view_t nv = *r->new_view;
        memset(nv.vcs, 0, sizeof nv.vcs);
        p = put_bytes(p, &nv, sizeof nv);
        for (uint8_t i = 0; i < nv.vc_count; i++) {
            const pbft_view_change_t *vc = r->new_view->vcs[i];
            p = put_bytes(p, vc, VC_HEAD_BYTES);
            p = put_bytes(p, vc->prepared, vc->prepared_count * sizeof vc->prepared[0]);
            p = put_bytes(p, &vc->sig, sizeof vc->sig);
        }
    } else if (r->kind == PBFT_REC_FINAL) {
        p = put_bytes(p, r->finals, sizeof *r->finals);
    }
    QC_ASSERT((size_t)(p - out) == rec_bytes(r));
}

/* ---------------------------------------------------------------- decoding and checks */

typedef struct {
    const uint8_t *p;
    size_t left;
} reader_t;

static bool take(reader_t *rd, void *out, size_t n) {
    if (rd->left < n) return false;
    memcpy(out, rd->p, n);
    rd->p += n;
    rd->left -= n;
    return true;
}

/* A stored bool is one byte, 0 or 1 (anything else would be undefined behaviour to read). */
static bool flag_ok(const bool *flag) {
    uint8_t b;
    memcpy(&b, flag, 1);
    return b <= 1;
}

static bool sigs_ok(uint8_t count) { return count <= PBFT_Q_MAX; }

/* Reads the header and the pbft_persist_t. NULL when they are well-formed, else the problem. */
static const char *read_head(reader_t *rd, pbft_persist_t *out) {
    uint8_t head[REC_HEAD_BYTES], want[REC_HEAD_BYTES];
    if (!take(rd, head, sizeof head) || !take(rd, out, sizeof *out))
        return "shorter than a record";
    put_head(want);
    if (qc_get_u32(head) != REC_MAGIC) return "not a record of this format (magic)";
    if (memcmp(head, want, sizeof head) != 0) return "written by another build (struct sizes)";
    return NULL;
}

static const char *check_nv(const pbft_new_view_t *nv) {
    if (nv->vc_count > PBFT_Q_MAX) return "NEW-VIEW vc_count over PBFT_Q_MAX";
    if (nv->entry_count > PBFT_WINDOW_MAX) return "NEW-VIEW entry_count over PBFT_WINDOW_MAX";
    if (!sigs_ok(nv->base.count)) return "NEW-VIEW base checkpoint count over PBFT_Q_MAX";
    return NULL;
}

/* One VIEW-CHANGE of a stored NEW-VIEW into *vc. */
static const char *read_vc(reader_t *rd, pbft_view_change_t *vc) {
    memset(vc, 0, sizeof *vc);
    if (!take(rd, vc, VC_HEAD_BYTES)) return "VIEW-CHANGE truncated";
    if (vc->prepared_count > PBFT_WINDOW_MAX) return "VIEW-CHANGE prepared_count over window";
    if (!sigs_ok(vc->stable.count)) return "VIEW-CHANGE stable count over PBFT_Q_MAX";
    if (!take(rd, vc->prepared, vc->prepared_count * sizeof vc->prepared[0]) ||
        !take(rd, &vc->sig, sizeof vc->sig))
        return "VIEW-CHANGE truncated";
    for (uint8_t i = 0; i < vc->prepared_count; i++)
        if (!sigs_ok(vc->prepared[i].count)) return "prepared certificate count over PBFT_Q_MAX";
    return NULL;
}

static const char *read_new_view(reader_t *rd, cstate_bodies_t *bodies, pbft_persist_t *out) {
    pbft_new_view_t *nv = &bodies->nv;
    if (!take(rd, nv, sizeof *nv)) return "NEW-VIEW truncated";
    memset(nv->vcs, 0, sizeof nv->vcs); /* stored as zeros; never trust stored pointers */
    const char *why = check_nv(nv);
    for (uint8_t i = 0; why == NULL && i < nv->vc_count; i++) {
        why = read_vc(rd, &bodies->vcs[i]);
        nv->vcs[i] = &bodies->vcs[i];
    }
    out->new_view = nv;
    return why;
}

static const char *read_finals(reader_t *rd, cstate_bodies_t *bodies, pbft_persist_t *out) {
    pbft_finals_t *f = &bodies->finals;
    if (!take(rd, f, sizeof *f)) return "FINAL truncated";
    if (f->count > PBFT_FINAL_KEEP) return "FINAL count over PBFT_FINAL_KEEP";
    for (uint8_t i = 0; i < f->count; i++)
        if (!sigs_ok(f->items[i].cert.count)) return "final certificate count over PBFT_Q_MAX";
    out->finals = f;
    return NULL;
}

/* The checks of the fixed-size record kinds: flags are 0 or 1, counts within their arrays. */
static const char *check_fixed(const pbft_persist_t *r) {
    switch (r->kind) {
    case PBFT_REC_VIEW:
        return flag_ok(&r->view.in_view_change) ? NULL : "view flag is not 0 or 1";
    case PBFT_REC_SLOT:
        if (!flag_ok(&r->slot.vote.voted) || !flag_ok(&r->slot.has_prepared))
            return "slot flag is not 0 or 1";
        return sigs_ok(r->slot.prepared.count) ? NULL : "prepared count over PBFT_Q_MAX";
    case PBFT_REC_CHECKPOINT:
        return sigs_ok(r->checkpoint.count) ? NULL : "checkpoint count over PBFT_Q_MAX";
    case PBFT_REC_EPOCH:
        return r->next_epoch.n >= 1 && r->next_epoch.n <= PBFT_N_MAX ? NULL
                                                                     : "epoch size out of 1..PBFT_N_MAX";
    default:
        return NULL;
    }
}

/* Decodes and checks the value v under key k into *out (bodies into *bodies). NULL when it
 * is sound, else what is wrong with it. */
static const char *rec_decode(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                              pbft_persist_t *out, cstate_bodies_t *bodies) {
    reader_t rd = {v, vl};
    const char *why = read_head(&rd, out);
    if (why) return why;
    if ((int)out->kind != key_kind(k, kl)) return "holds another kind of record than its key";
    if (out->kind == PBFT_REC_SLOT && out->slot.height != qc_get_u64(k + 1))
        return "slot height differs from its key";
    why = check_fixed(out);
    if (!why && out->kind == PBFT_REC_NEW_VIEW) why = read_new_view(&rd, bodies, out);
    if (!why && out->kind == PBFT_REC_FINAL) why = read_finals(&rd, bodies, out);
    if (!why && rd.left != 0) why = "longer than its record";
    return why;
}

/* ---------------------------------------------------------------- write */

/* What one cstate_write's batch does to cstate_t.slot_floor once it is written. */
typedef struct {
    uint64_t floor_next; /* the floor its checkpoints' deletions give (0: none) */
    uint64_t put_min;    /* its lowest slot or body height put (UINT64_MAX: none) */
} floor_move_t;

/* Deletes slot records and kept bodies at or below height. Bounded by what exists: the scans
 * start at cs->slot_floor, not at the families' first key, since LevelDB keeps the deletions of
 * every earlier checkpoint as tombstones until a compaction drops them, and a seek from the
 * first key walked over all of them (5.8% of a node's CPU with a block a transaction,
 * BENCHMARKS.md "Tenth session"). The new floor takes effect once the batch is written. */
static void gc_below(cstate_t *cs, leveldb_writebatch_t *b, uint64_t height,
                     floor_move_t *mv) {
    leveldb_iterator_t *it = leveldb_create_iterator(cs->db, cs->ropts);
    uint8_t start[9] = {'s'};
    qc_put_u64(start + 1, cs->slot_floor);
    for (leveldb_iter_seek(it, (const char *)start, sizeof start); leveldb_iter_valid(it);
         leveldb_iter_next(it)) {
        size_t kl;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &kl);
        if (kl != 9 || k[0] != 's' || qc_get_u64(k + 1) > height) break;
        leveldb_writebatch_delete(b, (const char *)k, kl);
    }
    start[0] = 'h';
    for (leveldb_iter_seek(it, (const char *)start, sizeof start); leveldb_iter_valid(it);
         leveldb_iter_next(it)) {
        size_t kl;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &kl);
        if (kl != 41 || k[0] != 'h' || qc_get_u64(k + 1) > height) break;
        uint8_t bkey[33] = {'b'};
        memcpy(bkey + 1, k + 9, 32);
        leveldb_writebatch_delete(b, (const char *)bkey, sizeof bkey);
        leveldb_writebatch_delete(b, (const char *)k, kl);
    }
    leveldb_iter_destroy(it);
    if (height + 1 > mv->floor_next) mv->floor_next = height + 1;
}

/* Records an EPOCH makes deletable: every kind but FINAL (past epochs' certificates) and
 * EPOCH itself (its one key is being replaced). */
static bool epoch_bound(int kind) {
    return kind == PBFT_REC_VIEW || kind == PBFT_REC_CHECKPOINT || kind == PBFT_REC_SLOT ||
           kind == PBFT_REC_NEW_VIEW;
}

/* Whether recs[0..upto) puts key k with a record of epoch >= epoch (that put must stand). */
static bool put_in_batch(const pbft_persist_t *recs, size_t upto, const uint8_t *k, size_t kl,
                         uint64_t epoch) {
    for (size_t j = 0; j < upto; j++) {
        uint8_t key[KEY_BYTES_MAX];
        if (recs[j].epoch >= epoch && rec_key(&recs[j], key) == kl && memcmp(key, k, kl) == 0)
            return true;
    }
    return false;
}

/* recs[at] is an EPOCH record: deletes the records of older epochs, stored or put earlier in
 * this batch, except FINAL. A stored value too damaged to read its epoch is left for
 * cstate_load to report. */
static void gc_older_epochs(cstate_t *cs, leveldb_writebatch_t *b, const pbft_persist_t *recs,
                            size_t at) {
    uint64_t epoch = recs[at].next_epoch.epoch;
    for (size_t j = 0; j < at; j++) {
        uint8_t key[KEY_BYTES_MAX];
        size_t kl = rec_key(&recs[j], key);
        if (epoch_bound(recs[j].kind) && recs[j].epoch < epoch &&
            !put_in_batch(recs, at, key, kl, epoch))
            leveldb_writebatch_delete(b, (const char *)key, kl);
    }
    leveldb_iterator_t *it = leveldb_create_iterator(cs->db, cs->ropts);
    for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &kl);
        if (!epoch_bound(key_kind(k, kl))) continue;
        reader_t rd = {(const uint8_t *)leveldb_iter_value(it, &vl), 0};
        rd.left = vl;
        pbft_persist_t r;
        if (read_head(&rd, &r) == NULL && r.epoch < epoch && !put_in_batch(recs, at, k, kl, epoch))
            leveldb_writebatch_delete(b, (const char *)k, kl);
    }
    leveldb_iter_destroy(it);
}

/* Puts recs[i] into the batch, with the deletions it implies. QC_OK or QC_ERR_NOMEM. */
static int batch_record(cstate_t *cs, leveldb_writebatch_t *b, const pbft_persist_t *recs,
                        size_t i, floor_move_t *mv) {
    const pbft_persist_t *r = &recs[i];
    uint8_t key[KEY_BYTES_MAX];
    size_t kl = rec_key(r, key);
    QC_ASSERT(kl > 0);
    size_t len = rec_bytes(r);
    uint8_t fixed[REC_HEAD_BYTES + sizeof(pbft_persist_t)];
    uint8_t *val = len <= sizeof fixed ? fixed : malloc(len);
    if (val == NULL) return QC_ERR_NOMEM;
    rec_encode(r, val);
    if (r->kind == PBFT_REC_EPOCH) gc_older_epochs(cs, b, recs, i);
    leveldb_writebatch_put(b, (const char *)key, kl, (const char *)val, len); /* copies */
    if (val != fixed) free(val);
    if (r->kind == PBFT_REC_CHECKPOINT) gc_below(cs, b, r->checkpoint.height, mv);
    if (r->kind == PBFT_REC_SLOT && r->slot.height < mv->put_min) mv->put_min = r->slot.height;
    return QC_OK;
}

int cstate_write(cstate_t *cs, const pbft_persist_t *recs, size_t count,
                 const cstate_body_t *bodies, size_t body_count) {
    if (cs->write_error != QC_OK || cs->db == NULL) {
        /* A failed write may have left a torn record in the log: reopen before writing. */
        int rc = ldb_reopen(&cs->db, cs->opts, cs->dir);
        if (rc != QC_OK) return rc;
        cs->write_error = QC_OK;
    }
    leveldb_writebatch_t *b = leveldb_writebatch_create();
    floor_move_t mv = {0, UINT64_MAX};
    for (size_t i = 0; i < count; i++) {
        if (batch_record(cs, b, recs, i, &mv) != QC_OK) {
            leveldb_writebatch_destroy(b);
            QC_ERROR("consensus state write: out of memory");
            return QC_ERR_NOMEM;
        }
    }
    uint8_t applied[8];
    if (cs->applied_height > cs->applied_written) {
        uint8_t akey = KEY_APPLIED;
        qc_put_u64(applied, cs->applied_height);
        leveldb_writebatch_put(b, (const char *)&akey, 1, (const char *)applied, sizeof applied);
    }
    for (size_t i = 0; i < body_count; i++) {
        uint8_t bkey[33] = {'b'}, hkey[41] = {'h'};
        if (bodies[i].height < mv.put_min) mv.put_min = bodies[i].height;
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
        cs->write_error = ldb_error(err, "consensus state write");
        return cs->write_error;
    }
    cs->writes++;
    if (cs->applied_height > cs->applied_written) cs->applied_written = cs->applied_height;
    /* Written: the checkpoints' deletions stand, and so do this batch's puts, some of which may
     * lie below them (the scans read the database, not the batch). */
    if (mv.floor_next > cs->slot_floor) cs->slot_floor = mv.floor_next;
    if (mv.put_min < cs->slot_floor) cs->slot_floor = mv.put_min;
    return QC_OK;
}

/* ---------------------------------------------------------------- load */

int cstate_load(cstate_t *cs, pbft_persist_t *recs, size_t cap, size_t *count,
                cstate_bodies_t *bodies) {
    QC_ASSERT(bodies != NULL);
    *count = 0;
    int rc = QC_OK;
    leveldb_iterator_t *it = leveldb_create_iterator(cs->db, cs->ropts);
    for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it) && rc == QC_OK; leveldb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &kl);
        if (key_kind(k, kl) == 0) continue;
        const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vl);
        char name[32];
        key_name(k, kl, name);
        if (*count >= cap) {
            QC_ERROR("consensus state: more records than the window allows (at key %s)", name);
            rc = QC_ERR_CORRUPT;
            break;
        }
        const char *why = rec_decode(k, kl, v, vl, &recs[*count], bodies);
        if (why) {
            QC_ERROR("consensus state: record under key %s (%zu bytes) is corrupt: %s", name, vl,
                     why);
            rc = QC_ERR_CORRUPT;
        } else {
            (*count)++;
        }
    }
    char *err = NULL;
    leveldb_iter_get_error(it, &err);
    if (err) rc = ldb_error(err, cs->dir);
    leveldb_iter_destroy(it);
    if (rc != QC_OK) *count = 0;
    return rc;
}

int cstate_body(cstate_t *cs, const qc_hash_t *digest, uint8_t **out, size_t *len) {
    uint8_t key[33] = {'b'};
    memcpy(key + 1, digest->b, 32);
    if (cs->db == NULL) return QC_ERR_IO; /* a reopen after a failed write failed */
    char *err = NULL;
    size_t vl;
    char *v = leveldb_get(cs->db, cs->ropts, (const char *)key, sizeof key, &vl, &err);
    if (err) return ldb_error(err, cs->dir);
    if (v == NULL) return QC_ERR_NOTFOUND;
    *out = malloc(vl ? vl : 1);
    if (*out == NULL) { leveldb_free(v); return QC_ERR_NOMEM; }
    memcpy(*out, v, vl);
    *len = vl;
    leveldb_free(v);
    return QC_OK;
}

void cstate_set_applied(cstate_t *cs, uint64_t height) {
    if (height > cs->applied_height) cs->applied_height = height;
}

int cstate_applied(cstate_t *cs, uint64_t *height) {
    *height = 0;
    if (cs->db == NULL) return QC_ERR_IO;
    uint8_t akey = KEY_APPLIED;
    char *err = NULL;
    size_t vl;
    char *v = leveldb_get(cs->db, cs->ropts, (const char *)&akey, 1, &vl, &err);
    if (err) return ldb_error(err, cs->dir);
    if (v == NULL) return QC_OK;
    int rc = QC_OK;
    if (vl == 8) *height = qc_get_u64((const uint8_t *)v);
    else {
        QC_ERROR("consensus state %s: the applied-height record is %zu bytes, not 8", cs->dir, vl);
        rc = QC_ERR_CORRUPT;
    }
    leveldb_free(v);
    cs->applied_height = cs->applied_written = *height;
    return rc;
}
