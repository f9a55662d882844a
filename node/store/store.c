/* store.c - the ledger store: opening and binding a LevelDB to one chain, checking its head,
 * and applying blocks atomically (reads are in store_read.c, the fsck in store_check.c).
 * Layout: docs/STORAGE.md. Contract and thread-safety: store.h. */
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldb.h"
#include "store_impl.h"

#define META_MIN_LEN (1 + 4 + 32 + 1 + 1)

static int db_open(store_t *s, const char *dir) {
    s->opts = leveldb_options_create();
    s->ropts = leveldb_readoptions_create();
    s->wopts = leveldb_writeoptions_create();
    s->batch = leveldb_writebatch_create();
    s->bloom = leveldb_filterpolicy_create_bloom(10);
    leveldb_options_set_filter_policy(s->opts, s->bloom);
    leveldb_options_set_create_if_missing(s->opts, 1);
    leveldb_options_set_paranoid_checks(s->opts, 1);
    /* Hashes and signatures do not compress; spare the CPU. */
    leveldb_options_set_compression(s->opts, leveldb_no_compression);
    leveldb_options_set_write_buffer_size(s->opts, 16u << 20);
    /* LevelDB maps each open table file; a large ledger's would all stay mapped (and count in
     * the node's resident memory) with the default 1,000 (docs/BENCHMARKS.md, long runs). */
    leveldb_options_set_max_open_files(s->opts, STORE_OPEN_FILES_MAX);
    leveldb_readoptions_set_verify_checksums(s->ropts, 1);
    leveldb_writeoptions_set_sync(s->wopts, 1);
    return ldb_open(&s->db, s->opts, dir);
}

static void read_snapshot_drop(store_t *s);

void store_close(store_t *s) {
    if (s == NULL) return;
    /* The map's snapshot at the head, so that the next open replays nothing; if this write
     * fails, the next open replays the blocks since the last one. */
    if (s->db) read_snapshot_drop(s);
    if (s->db) (void)store_state_flush(s);
    if (s->db) leveldb_close(s->db);
    if (s->batch) leveldb_writebatch_destroy(s->batch);
    if (s->wopts) leveldb_writeoptions_destroy(s->wopts);
    if (s->ropts) leveldb_readoptions_destroy(s->ropts);
    if (s->opts) leveldb_options_destroy(s->opts);
    if (s->bloom) leveldb_filterpolicy_destroy(s->bloom);
    free(s->gov);
    free(s->gov_next);
    free(s->group_gov0);
    smap_mem_free(s->state);
    free(s->state_jc);
    sblock_free(&s->state_sb);
    smap_writes_free(&s->state_ws);
    clog_set_free(&s->clogs);
    clog_set_free(&s->clogs_next);
    clog_set_free(&s->group_clogs0);
    store_leaf_cache_drop(s);
    free(s->hdr_cache);
    free(s->leaf_cache.recs);
    free(s->leaf_cache.tx_ids);
    memset(s, 0, sizeof *s);
}

static int write_failed(store_t *s, char *err, const char *what);

/* Writes the batch with sync; inside store_apply_blocks, adds it to the group's batch instead.
 * A failure stops all writing through this handle until store_recover has reopened the
 * database (ldb.h: LevelDB's log may now end in a torn record). */
static int batch_write(store_t *s, const char *what) {
    if (s->group != NULL) {
        leveldb_writebatch_append(s->group, s->batch);
        leveldb_writebatch_clear(s->batch);
        return QC_OK;
    }
    char *err = NULL;
    leveldb_write(s->db, s->wopts, s->batch, &err);
    leveldb_writebatch_clear(s->batch);
    return err == NULL ? QC_OK : write_failed(s, err, what);
}

int store_write(store_t *s, leveldb_writebatch_t *b, const char *what) {
    char *err = NULL;
    leveldb_write(s->db, s->wopts, b, &err);
    return err == NULL ? QC_OK : write_failed(s, err, what);
}

/* A synced write failed with LevelDB's err (consumed): records why and stops writing through
 * this handle until store_recover reopens it. Returns the error code. */
static int write_failed(store_t *s, char *err, const char *what) {
    store_problem_clear();
    int rc = store_ldb_error(err, what);
    s->write_error = rc;
    if (s->damage == QC_OK &&
        snprintf(s->problem, sizeof s->problem, "%s: %s", s->dir, store_last_problem()) < 0)
        s->problem[0] = '\0';
    QC_ERROR("store: writes stopped after a failed write; the ledger is reopened once the disk "
             "has room (docs/OPERATIONS.md \"Full disk\")");
    return rc;
}

static void batch_put(store_t *s, const uint8_t *k, size_t klen, const void *v, size_t vlen) {
    leveldb_writebatch_put(s->batch, (const char *)k, klen, v, vlen);
}

static void batch_put_head(store_t *s, const store_head_t *head) {
    uint8_t k[SK_MAX_LEN], v[SV_HEAD_LEN];
    sv_head_encode(v, head);
    batch_put(s, k, sk_single(k, SK_HEAD), v, sizeof v);
}

static void batch_put_u64(store_t *s, uint8_t family, uint64_t key, uint64_t val) {
    uint8_t k[SK_MAX_LEN], v[9];
    v[0] = STORE_FORMAT_VERSION;
    qc_put_u64(v + 1, val);
    batch_put(s, k, sk_u64(k, family, key), v, sizeof v);
}

/* Puts validator set vs under its epoch, in force from block first_height on. */
static void batch_put_membership(store_t *s, const qc_validator_set_t *vs,
                                 uint64_t first_height) {
    uint8_t k[SK_MAX_LEN], v[SV_VALIDATORS_MAX];
    size_t vlen = sv_validators_encode(v, sizeof v, vs);
    batch_put(s, k, sk_u64(k, SK_VALIDATORS, vs->epoch), v, vlen);
    batch_put_u64(s, SK_EPOCH, first_height, vs->epoch);
}

/* Puts the governance state g (after the block being written). */
static int batch_put_gov(store_t *s, const gov_state_t *g) {
    uint8_t k[SK_MAX_LEN], *v;
    size_t vlen;
    int rc = gov_encode(g, &v, &vlen);
    if (rc != QC_OK) return rc;
    uint8_t *vv = malloc(vlen + 1);
    if (vv == NULL) { free(v); return QC_ERR_NOMEM; }
    vv[0] = STORE_FORMAT_VERSION;
    memcpy(vv + 1, v, vlen);
    batch_put(s, k, sk_single(k, SK_GOV), vv, vlen + 1);
    free(v);
    free(vv);
    return QC_OK;
}

/* gov_record_cb for apply: each changed proposal record goes into the block's batch. */
static void batch_put_proposal(void *ctx, const gov_proposal_t *p) {
    store_t *s = ctx;
    uint8_t k[SK_MAX_LEN], *v;
    size_t vlen;
    if (gov_proposal_encode(p, &v, &vlen) != QC_OK) {
        s->gov_record_error = QC_ERR_NOMEM;
        return;
    }
    uint8_t *vv = malloc(vlen + 1);
    if (vv != NULL) {
        vv[0] = STORE_FORMAT_VERSION;
        memcpy(vv + 1, v, vlen);
        batch_put(s, k, sk_hash(k, SK_PROPOSAL, p->id.b), vv, vlen + 1);
    } else {
        s->gov_record_error = QC_ERR_NOMEM;
    }
    free(v);
    free(vv);
}

static bool validators_valid(const qc_validator_set_t *vs) {
    if (vs->n == 0 || vs->n > QC_VALIDATORS_MAX) return false;
    for (uint32_t i = 0; i < vs->n; i++) {
        size_t nl = strnlen(vs->members[i].name, QC_MEMBER_NAME_MAX + 1);
        if (nl == 0 || nl > QC_MEMBER_NAME_MAX) return false;
    }
    return true;
}

/* A new store: meta, the genesis validator set in force from height 1, an empty head. */
static int store_create(store_t *s, const store_config_t *cfg) {
    if (cfg->genesis_validators == NULL || !validators_valid(cfg->genesis_validators)) {
        QC_ERROR("store: creating a store needs a valid genesis validator set");
        return QC_ERR_INVALID;
    }
    uint8_t k[SK_MAX_LEN], v[META_MIN_LEN + QC_CHAIN_ID_MAX];
    size_t cl = strlen(cfg->chain_id);
    v[0] = STORE_FORMAT_VERSION;
    memcpy(v + 1, SV_META_MAGIC, 4);
    memcpy(v + 5, cfg->genesis_hash.b, 32);
    v[37] = (uint8_t)cl;
    memcpy(v + 38, cfg->chain_id, cl);
    leveldb_writebatch_clear(s->batch);
    batch_put(s, k, sk_single(k, SK_META), v, 38 + cl);
    store_head_t head = {.height = 0, .log_size = 0, .epoch = cfg->genesis_validators->epoch};
    merkle_empty_root(&head.log_root);
    batch_put_head(s, &head);
    batch_put_membership(s, cfg->genesis_validators, 1);
    gov_info_t *info = calloc(QC_VALIDATORS_MAX, sizeof *info);
    if (info == NULL) return QC_ERR_NOMEM;
    if (cfg->genesis_info)
        memcpy(info, cfg->genesis_info, sizeof *info * cfg->genesis_validators->n);
    gov_init(s->gov, cfg->genesis_validators, info,
             cfg->checkpoint_interval ? cfg->checkpoint_interval : 1);
    free(info);
    int rc = batch_put_gov(s, s->gov);
    if (rc != QC_OK) return rc;
    QC_INFO("store: creating ledger for chain %s", cfg->chain_id);
    return batch_write(s, "creating the store");
}

/* QC_ERR_NOTFOUND when the database is empty; QC_ERR_CORRUPT when it has keys but no meta. */
static int meta_missing(store_t *s) {
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    leveldb_iter_seek_to_first(it);
    bool any = leveldb_iter_valid(it);
    size_t klen = 0;
    const char *key = any ? leveldb_iter_key(it, &klen) : NULL;
    int rc = any ? store_corrupt((const uint8_t *)key, klen,
                                 "the database has keys but no qchain meta record")
                 : QC_ERR_NOTFOUND;
    leveldb_iter_destroy(it);
    return rc;
}

/* Checks the stored meta against cfg. */
static int meta_check(const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen,
                      const store_config_t *cfg) {
    if (vlen < META_MIN_LEN || memcmp(v + 1, SV_META_MAGIC, 4) != 0)
        return store_corrupt(k, klen, "not a qchain store meta record (%zu bytes)", vlen);
    if (v[0] != STORE_FORMAT_VERSION) {
        QC_ERROR("store: format version %u is not one this build reads (%u)%s", v[0],
                 STORE_FORMAT_VERSION,
                 v[0] == 5 || v[0] == 6
                     ? ": the ledger was written by an older qchaind whose record index is "
                       "keyed by digest alone; its blocks are this build's: move this ledger "
                       "directory aside and start this node, which fetches the chain from its "
                       "peers (docs/OPERATIONS.md)"
                 : v[0] < STORE_FORMAT_VERSION
                     ? ": the ledger was written by an older qchaind, whose blocks no current "
                       "node accepts (format 4: state roots without the city log heads; 3: "
                       "headers without the state root); move the data directory aside and "
                       "restart the chain with the whole consortium (docs/OPERATIONS.md)"
                     : "");
        return QC_ERR_STATE;
    }
    size_t cl = v[37];
    if (cl == 0 || cl > QC_CHAIN_ID_MAX || 38 + cl != vlen)
        return store_corrupt(k, klen, "chain id length %zu does not fit the value", cl);
    char stored[QC_CHAIN_ID_MAX + 1];
    memcpy(stored, v + 38, cl);
    stored[cl] = '\0';
    if (strcmp(stored, cfg->chain_id) != 0) {
        QC_ERROR("store: this ledger belongs to chain \"%s\", not \"%s\"", stored,
                 cfg->chain_id);
        return QC_ERR_STATE;
    }
    if (memcmp(v + 5, cfg->genesis_hash.b, 32) != 0) {
        char a[65], b[65];
        qc_hex_encode(a, v + 5, 32);
        QC_ERROR("store: this ledger was created from genesis %s, not %s", a,
                 qc_hash_hex(b, &cfg->genesis_hash));
        return QC_ERR_STATE;
    }
    return QC_OK;
}

static int meta_load(store_t *s, const store_config_t *cfg) {
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_single(k, SK_META);
    char *v;
    size_t vlen;
    int rc = store_get(s, k, klen, &v, &vlen);
    if (rc == QC_ERR_NOTFOUND) return meta_missing(s);
    if (rc != QC_OK) return rc;
    rc = meta_check(k, klen, (const uint8_t *)v, vlen, cfg);
    leveldb_free(v);
    return rc;
}

/* Loads the governance state; its set must be the head epoch's. */
static int gov_load(store_t *s) {
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_single(k, SK_GOV);
    char *v;
    size_t vlen;
    int rc = store_get(s, k, klen, &v, &vlen);
    if (rc == QC_ERR_NOTFOUND) return store_corrupt(k, klen, "missing (meta is present)");
    if (rc != QC_OK) return rc;
    rc = vlen >= 1 && (uint8_t)v[0] == STORE_FORMAT_VERSION
             ? gov_decode((const uint8_t *)v + 1, vlen - 1, s->gov) : QC_ERR_CORRUPT;
    leveldb_free(v);
    if (rc != QC_OK) return store_corrupt(k, klen, "governance state does not decode");
    qc_hash_t a;
    qc_validators_hash(&s->gov->vs, &a);
    if (memcmp(a.b, s->validators_hash.b, 32) != 0)
        return store_corrupt(k, klen, "governance state's validator set is not epoch %llu's",
                             (unsigned long long)s->head.epoch);
    return QC_OK;
}

/* Loads the head record and the validator set in force after it. */
static int head_load(store_t *s) {
    uint8_t k[SK_MAX_LEN], v[SV_HEAD_LEN];
    size_t klen = sk_single(k, SK_HEAD);
    int rc = store_get_fixed(s, k, klen, v, sizeof v);
    if (rc == QC_ERR_NOTFOUND) return store_corrupt(k, klen, "missing (meta is present)");
    if (rc != QC_OK) return rc;
    sv_head_decode(v, &s->head);
    rc = store_validators(s, s->head.epoch, &s->validators);
    if (rc == QC_ERR_NOTFOUND)
        return store_corrupt(k, klen, "head epoch %llu has no stored validator set",
                             (unsigned long long)s->head.epoch);
    if (rc == QC_OK) qc_validators_hash(&s->validators, &s->validators_hash);
    if (rc == QC_OK) rc = gov_load(s);
    return rc;
}

/* A reopened store must have been created with the same genesis validator set. */
static int genesis_validators_check(store_t *s, const qc_validator_set_t *want) {
    if (want == NULL) return QC_OK;
    uint64_t epoch;
    qc_validator_set_t got;
    int rc = store_epoch_at(s, 1, &epoch);
    if (rc == QC_OK) rc = store_validators(s, epoch, &got);
    if (rc == QC_ERR_NOTFOUND) rc = QC_ERR_CORRUPT;
    if (rc != QC_OK) return rc;
    qc_hash_t a, b;
    qc_validators_hash(&got, &a);
    qc_validators_hash(want, &b);
    if (memcmp(a.b, b.b, 32) == 0) return QC_OK;
    QC_ERROR("store: this ledger's genesis validator set differs from the configured one");
    return QC_ERR_STATE;
}

/* The head must be the last block: it exists, hashes to head.hash, its header's log size and
 * root match the record log rebuilt from the stored frontier, and nothing is above it. */
static int head_check(store_t *s) {
    uint8_t k[SK_MAX_LEN];
    size_t klen = sk_single(k, SK_HEAD);
    rlog_reader_t r = store_log_reader(s);
    int rc = rlog_open(&s->log, s->head.log_size, &r);
    if (rc != QC_OK) return rc == QC_ERR_CORRUPT ? rc : store_corrupt(k, klen, "log: %s",
                                                                      qc_strerror(rc));
    qc_hash_t root, zero = {{0}};
    rlog_root(&s->log, &root);
    if (memcmp(root.b, s->head.log_root.b, 32) != 0)
        return store_corrupt(k, klen, "record log root at size %llu differs from the head's",
                             (unsigned long long)s->head.log_size);
    qc_header_t h;
    if (s->head.height == 0) {
        if (s->head.log_size != 0 || memcmp(s->head.hash.b, zero.b, 32) != 0)
            return store_corrupt(k, klen, "height 0 with a block hash or log entries");
    } else {
        rc = store_header_read(s, s->head.height, &h);
        if (rc == QC_ERR_NOTFOUND) return store_corrupt(k, klen, "head block is missing");
        if (rc != QC_OK) return rc;
        qc_header_hash(&h, &root);
        if (memcmp(root.b, s->head.hash.b, 32) != 0 || h.log_size != s->head.log_size ||
            memcmp(h.log_root.b, s->head.log_root.b, 32) != 0)
            return store_corrupt(k, klen, "head block %llu's hash or log state differs",
                                 (unsigned long long)s->head.height);
        /* The whole head block and its certificate: they decode, the envelope carries the
         * stored header and its tx root, the certificate names the block (store_block_raw). */
        uint8_t *braw = NULL, *craw = NULL;
        size_t blen, clen;
        rc = store_block_raw(s, s->head.height, &braw, &blen, &craw, &clen);
        free(braw);
        free(craw);
        if (rc != QC_OK) return rc;
    }
    rc = store_header_read(s, s->head.height + 1, &h);
    if (rc != QC_ERR_NOTFOUND)
        return rc != QC_OK ? rc : store_corrupt(k, klen, "a block exists above the head");
    uint64_t epoch;
    rc = store_epoch_at(s, s->head.height + 1, &epoch);
    if (rc == QC_OK && epoch != s->head.epoch)
        return store_corrupt(k, klen, "head epoch %llu, membership history says %llu",
                             (unsigned long long)s->head.epoch, (unsigned long long)epoch);
    return rc;
}

/* The map could not be rebuilt: say so once, mark the store damaged and refuse applies. */
static void state_failed(store_t *s, int rc) {
    store_note(s, rc);
    QC_ERROR("store: %s: the state map cannot be rebuilt (%s): the ledger stays readable but "
             "applies no block and proves no status until it is repaired (docs/OPERATIONS.md)",
             s->dir, qc_strerror(rc));
    s->state_stale = true;
    s->state_broken = rc;
}

/* The resident state map at open. Damage that stops its rebuild (a block or status that does
 * not read, or a map that disagrees with the head's certified root) does not stop the open:
 * the store stays readable, marked damaged (store_problem, /healthz), and refuses to apply
 * blocks or prove statuses until the map rebuilds (MERKLE.md §8.4). */
static int state_open(store_t *s) {
    int rc = store_state_rebuild(s);
    if (rc != QC_ERR_CORRUPT && rc != QC_ERR_IO) return rc;
    state_failed(s, rc);
    return s->state != NULL ? QC_OK : smap_mem_new(&s->state);
}

int store_open(store_t *s, const char *dir, const store_config_t *cfg) {
    QC_ASSERT(s != NULL && dir != NULL && cfg != NULL && cfg->chain_id != NULL);
    memset(s, 0, sizeof *s);
    if (!qc_chain_id_valid(cfg->chain_id) || strlen(dir) >= sizeof s->dir) return QC_ERR_INVALID;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->chain_id, sizeof s->chain_id, "%s", cfg->chain_id);
    s->genesis_hash = cfg->genesis_hash;
    s->state_paged = cfg->state_cache_bytes > 0;
    s->state_snap_records = cfg->state_snapshot_records ? cfg->state_snapshot_records
                                                        : STORE_STATE_SNAP_RECORDS;
    size_t cache_bytes = cfg->state_cache_bytes;
    if (cache_bytes < STORE_STATE_CACHE_MIN) cache_bytes = STORE_STATE_CACHE_MIN;
    s->state_nodes_max = s->state_paged ? cache_bytes / SMAP_MEM_NODE_BYTES : SIZE_MAX;
    s->state_snap_height = UINT64_MAX;
    s->gov = malloc(sizeof *s->gov);
    s->gov_next = malloc(sizeof *s->gov_next);
    if (s->gov == NULL || s->gov_next == NULL) {
        store_close(s);
        return QC_ERR_NOMEM;
    }
    s->hdr_cache = calloc(STORE_HDR_CACHE_SLOTS, sizeof *s->hdr_cache); /* NULL: no cache */
    s->hdr_cache_cap = STORE_HDR_CACHE_SLOTS;
    int rc = db_open(s, dir);
    if (rc == QC_OK) rc = meta_load(s, cfg);
    if (rc == QC_ERR_NOTFOUND) rc = store_create(s, cfg);
    if (rc == QC_OK) rc = head_load(s);
    if (rc == QC_OK) rc = genesis_validators_check(s, cfg->genesis_validators);
    if (rc == QC_OK) rc = head_check(s);
    if (rc == QC_OK) rc = state_open(s);
    if (rc != QC_OK) {
        QC_ERROR("store: cannot open %s: %s", dir, qc_strerror(rc));
        store_close(s);
        return rc;
    }
    QC_INFO("store: opened %s at height %llu, log size %llu, epoch %llu", dir,
            (unsigned long long)s->head.height, (unsigned long long)s->head.log_size,
            (unsigned long long)s->head.epoch);
    return QC_OK;
}

void store_head(const store_t *s, store_head_t *out) {
    QC_ASSERT(s->dir[0] != '\0');
    *out = s->head;
}

/* After a failed write: reopens the database once the disk has room (ldb_reopen) and reloads
 * the head from it, which is the old head or, if the failed write was durable after all (a
 * failed sync), the new one; the caller's next block is then checked against that. */
static int store_recover(store_t *s) {
    store_head_t before = s->head;
    store_leaf_cache_drop(s); /* the reopened head is the judge of what is durable */
    if (s->hdr_cache) memset(s->hdr_cache, 0, sizeof *s->hdr_cache * STORE_HDR_CACHE_SLOTS);
    int rc = ldb_reopen(&s->db, s->opts, s->dir);
    if (rc == QC_OK) rc = head_load(s);
    if (rc == QC_OK) rc = head_check(s);
    /* A failed sync may have been durable after all: the map then lacks the reopened head's
     * block, and is loaded again (its snapshot and the blocks since). */
    if (rc == QC_OK && s->head.height != before.height) s->state_stale = true;
    if (rc == QC_OK && s->state_stale && s->state_broken == QC_OK) {
        rc = store_state_rebuild(s);
        if (rc == QC_ERR_CORRUPT) {
            state_failed(s, rc); /* the reopened ledger is readable: recovered, but damaged */
            rc = QC_OK;
        }
    }
    if (rc != QC_OK) {
        if (s->db != NULL && rc != QC_ERR_IO) s->write_error = store_note(s, rc);
        return rc;
    }
    s->write_error = QC_OK;
    if (s->damage == QC_OK) s->problem[0] = '\0';
    QC_WARN("store: %s reopened after the failed write: head %llu (it was %llu), log size %llu; "
            "writing again", s->dir, (unsigned long long)s->head.height,
            (unsigned long long)before.height, (unsigned long long)s->head.log_size);
    return QC_OK;
}

/* ------------------------------------------------------------------ applying a block */


/* The header and certificate against the head, the chain and the membership in force. */
static int check_header(const store_t *s, const qc_block_t *b, const qc_cert_t *cert,
                        const qc_hash_t *hash) {
    const qc_header_t *h = &b->header;
    unsigned long long want = (unsigned long long)s->head.height + 1;
    if (h->height != want) return STORE_REFUSE("height %llu, expected %llu",
                                               (unsigned long long)h->height, want);
    if (memcmp(h->prev_hash.b, s->head.hash.b, 32) != 0)
        return STORE_REFUSE("previous hash is not the head's (height %llu)", want);
    if (strcmp(h->chain_id, s->chain_id) != 0)
        return STORE_REFUSE("chain id \"%s\", this ledger is \"%s\"", h->chain_id, s->chain_id);
    if (memcmp(h->genesis_hash.b, s->genesis_hash.b, 32) != 0) {
        char got[65], ours[65];
        return STORE_REFUSE("it names genesis %s, this ledger's is %s",
                            qc_hash_hex(got, &h->genesis_hash),
                            qc_hash_hex(ours, &s->genesis_hash));
    }
    if (h->tx_count != b->tx_count || b->tx_count > QC_BLOCK_TXS_MAX)
        return STORE_REFUSE("header says %u txs, block has %u", h->tx_count, b->tx_count);
    if (h->epoch != s->head.epoch || memcmp(h->validators_hash.b, s->validators_hash.b, 32))
        return STORE_REFUSE("epoch %llu or validators hash is not the epoch in force (%llu)",
                            (unsigned long long)h->epoch, (unsigned long long)s->head.epoch);
    if (h->proposer >= s->validators.n)
        return STORE_REFUSE("proposer %u, epoch has %u validators", h->proposer, s->validators.n);
    if (cert->height != h->height || cert->epoch != h->epoch ||
        memcmp(cert->block_hash.b, hash->b, 32) != 0)
        return STORE_REFUSE("certificate is for another block (height %llu)",
                            (unsigned long long)cert->height);
    return QC_OK;
}

static int cmp_hash(const void *a, const void *b) { return memcmp(a, b, QC_HASH_BYTES); }

/* Inside store_apply_blocks: whether an earlier block of the call holds tx id. */
static bool group_has_tx(const store_t *s, const qc_hash_t *id) {
    return s->group != NULL && s->group_txs_n > 0 &&
           bsearch(id, s->group_txs, s->group_txs_n, sizeof *id, cmp_hash) != NULL;
}

/* Inside store_apply_blocks: merges b's tx ids (distinct, none in the group yet) into the
 * group's sorted list. */
static int group_add_txs(store_t *s, const qc_block_t *b) {
    size_t n = s->group_txs_n, t = b->tx_count;
    qc_hash_t *merged = malloc(sizeof *merged * (n + t + 1)), *ids = malloc(sizeof *ids * (t + 1));
    if (merged == NULL || ids == NULL) {
        free(merged);
        free(ids);
        return QC_ERR_NOMEM;
    }
    for (size_t i = 0; i < t; i++) ids[i] = b->txs[i].id;
    qsort(ids, t, sizeof *ids, cmp_hash);
    size_t i = 0, j = 0, k = 0;
    while (i < n || j < t)
        merged[k++] = j >= t || (i < n && memcmp(s->group_txs[i].b, ids[j].b, QC_HASH_BYTES) < 0)
                          ? s->group_txs[i++] : ids[j++];
    free(ids);
    free(s->group_txs);
    s->group_txs = merged;
    s->group_txs_n = k;
    return QC_OK;
}

/* QC_ERR_DUPLICATE if a tx id repeats within the block. */
static int check_txs_distinct(const qc_block_t *b) {
    if (b->tx_count < 2) return QC_OK;
    qc_hash_t *ids = malloc(sizeof *ids * b->tx_count);
    if (ids == NULL) return QC_ERR_NOMEM;
    for (uint32_t i = 0; i < b->tx_count; i++) ids[i] = b->txs[i].id;
    qsort(ids, b->tx_count, sizeof *ids, cmp_hash);
    int rc = QC_OK;
    for (uint32_t i = 1; i < b->tx_count && rc == QC_OK; i++)
        if (memcmp(ids[i - 1].b, ids[i].b, 32) == 0) rc = QC_ERR_DUPLICATE;
    free(ids);
    if (rc != QC_OK) QC_WARN("store: refusing block: a transaction appears twice in it");
    return rc;
}

/* Tx root, chain ids, and no transaction already in the ledger or twice in the block. */
static int check_txs(store_t *s, const qc_block_t *b) {
    qc_hash_t root;
    int rc = qc_block_tx_root(b, &root);
    if (rc != QC_OK) return rc;
    if (memcmp(root.b, b->header.tx_root.b, 32) != 0) return STORE_REFUSE("tx root mismatch");
    for (uint32_t i = 0; i < b->tx_count; i++)
        if (strcmp(b->txs[i].chain_id, s->chain_id) != 0)
            return STORE_REFUSE("tx %u is for chain \"%s\"", i, b->txs[i].chain_id);
    rc = check_txs_distinct(b);
    for (uint32_t i = 0; i < b->tx_count && rc == QC_OK; i++) {
        uint8_t k[SK_MAX_LEN], v[SV_TX_LEN];
        rc = store_get_fixed(s, k, sk_hash(k, SK_TX, b->txs[i].id.b), v, sizeof v);
        if (rc == QC_OK) {
            char hex[65];
            QC_WARN("store: refusing block: tx %s is already committed at height %llu",
                    qc_hash_hex(hex, &b->txs[i].id), (unsigned long long)qc_get_u64(v + 1));
            rc = QC_ERR_DUPLICATE;
        } else if (rc == QC_ERR_NOTFOUND && group_has_tx(s, &b->txs[i].id)) {
            QC_WARN("store: refusing block: a transaction is already in an earlier block");
            rc = QC_ERR_DUPLICATE;
        } else if (rc == QC_ERR_NOTFOUND)
            rc = QC_OK;
    }
    return rc;
}

static int put_log_node(void *ctx, uint32_t level, uint64_t index, const qc_hash_t *h) {
    if (level < STORE_NODE_LEVEL_MIN) return QC_OK; /* hashed from the blocks when read */
    store_t *s = ctx;
    uint8_t k[SK_MAX_LEN], v[SV_LOG_LEN];
    v[0] = STORE_FORMAT_VERSION;
    memcpy(v + 1, h->b, 32);
    batch_put(s, k, sk_log(k, level, index), v, sizeof v);
    return QC_OK;
}

/* One index entry of a block before it is put: a record's ('R': digest, log index) or a
 * transaction's ('T': tx id). Both indexes put a block's entries in key order (batch_records
 * says why). */
typedef struct {
    uint64_t lead;       /* the key's first 8 bytes after the family, big-endian: most compares
                            end here (a record's: mk4, then the digest's first 4 bytes) */
    const uint8_t *hash; /* the digest or tx id, borrowed from the block */
    uint64_t log_index;  /* records only (0 for a tx) */
    uint32_t tx;
    uint16_t record;
} idx_put_t;

/* Orders entries as their keys order (lead, hash, then big-endian log index). */
static int idx_put_cmp(const void *a, const void *b) {
    const idx_put_t *x = a, *y = b;
    if (x->lead != y->lead) return x->lead < y->lead ? -1 : 1;
    int c = memcmp(x->hash, y->hash, 32);
    if (c != 0) return c;
    return (x->log_index > y->log_index) - (x->log_index < y->log_index);
}

/* Appends every record's leaf (computed, or taken from leaves[] when given) to *log (a copy of
 * the store's) and batches the log nodes and record index entries; then the log must reach the
 * header's size and root. */
static int batch_records(store_t *s, const qc_block_t *b, rlog_t *log, const qc_hash_t *leaves,
                         size_t leaf_count) {
    uint64_t height = b->header.height;
    size_t records = 0;
    for (uint32_t i = 0; i < b->tx_count; i++) records += b->txs[i].record_count;
    if (leaves != NULL && records != leaf_count)
        return STORE_REFUSE("%zu leaf hashes given for %zu records", leaf_count, records);
    size_t next_leaf = 0;
    /* The index entries go into the batch in key order: LevelDB's memtable is a skip list
     * that every put searches from its head, and a block's digests are random, so in block
     * order each put's search misses the cache all the way down; sorted, each one walks
     * nodes the previous put just touched (BENCHMARKS.md "Sixth session"). */
    idx_put_t *puts = malloc((records > 0 ? records : 1) * sizeof *puts);
    if (puts == NULL) return QC_ERR_NOMEM;
    size_t n = 0;
    int rc = QC_OK;
    for (uint32_t i = 0; i < b->tx_count && rc == QC_OK; i++) {
        const qc_tx_t *tx = &b->txs[i];
        for (uint32_t j = 0; j < tx->record_count; j++) {
            const uint8_t *digest = tx->records[j].digest;
            qc_hash_t mk;
            smt_map_key(&mk, digest);
            uint64_t lead = (uint64_t)qc_get_u32(mk.b) << 32 | qc_get_u32(digest);
            puts[n++] = (idx_put_t){.lead = lead, .hash = digest,
                                    .log_index = log->size, .tx = i, .record = (uint16_t)j};
            qc_hash_t leaf;
            if (leaves != NULL) leaf = leaves[next_leaf++];
            else qc_record_leaf_hash(height, &tx->id, (uint16_t)j, digest, &leaf);
            rc = rlog_append(log, &leaf, put_log_node, s);
            if (rc != QC_OK) break;
        }
    }
    if (rc == QC_OK) {
        qsort(puts, n, sizeof *puts, idx_put_cmp);
        for (size_t i = 0; i < n; i++) {
            uint8_t k[SK_MAX_LEN], v[SV_RECORD_LEN];
            v[0] = STORE_FORMAT_VERSION;
            qc_put_u64(v + 1, height);
            qc_put_u32(v + 9, puts[i].tx);
            qc_put_u16(v + 13, puts[i].record);
            uint8_t mk4[SK_MK_BYTES];
            qc_put_u32(mk4, (uint32_t)(puts[i].lead >> 32));
            sk_mapped(k, SK_RECORD, mk4, puts[i].hash);
            qc_put_u64(k + SK_MAPPED_LEN, puts[i].log_index);
            batch_put(s, k, SK_RECORD_LEN, v, sizeof v);
        }
    }
    free(puts);
    if (rc != QC_OK) return rc;
    qc_hash_t root;
    rlog_root(log, &root);
    if (log->size != b->header.log_size || memcmp(root.b, b->header.log_root.b, 32) != 0)
        return STORE_REFUSE("record log after it is size %llu with another root than the header's"
                            " (size %llu)", (unsigned long long)log->size,
                            (unsigned long long)b->header.log_size);
    return QC_OK;
}

/* Puts value = version byte || a || b under key k; b may be empty. */
static int batch_put_versioned(store_t *s, const uint8_t *k, size_t klen, const uint8_t *a,
                               size_t alen, const uint8_t *b, size_t blen) {
    uint8_t *v = malloc(1 + alen + blen);
    if (v == NULL) return QC_ERR_NOMEM;
    v[0] = STORE_FORMAT_VERSION;
    memcpy(v + 1, a, alen);
    if (blen > 0) memcpy(v + 1 + alen, b, blen);
    batch_put(s, k, klen, v, 1 + alen + blen);
    free(v);
    return QC_OK;
}

/* Batches the block (u16 header length, header, u32 envelope length, envelope) and its
 * certificate (u32 envelope length, envelope). */
static int batch_block(store_t *s, const qc_block_t *b, const qc_cert_t *cert) {
    uint8_t hdr[2 + QC_HEADER_BYTES_MAX + 4], k[SK_MAX_LEN];
    size_t hlen, blen = 0, clen = 0;
    uint8_t *env = NULL, *cenv = NULL;
    int rc = qc_header_encode(&b->header, hdr + 2, QC_HEADER_BYTES_MAX, &hlen);
    if (rc == QC_OK) rc = qc_block_encode(b, &env, &blen);
    if (rc == QC_OK && blen > QC_BLOCK_BYTES_MAX) rc = QC_ERR_TOOBIG;
    if (rc == QC_OK) rc = qc_cert_encode(cert, &cenv, &clen);
    if (rc == QC_OK) {
        qc_put_u16(hdr, (uint16_t)hlen);
        qc_put_u32(hdr + 2 + hlen, (uint32_t)blen);
        rc = batch_put_versioned(s, k, sk_u64(k, SK_BLOCK, b->header.height), hdr,
                                 2 + hlen + 4, env, blen);
    }
    uint8_t clen_be[4];
    qc_put_u32(clen_be, (uint32_t)clen);
    if (rc == QC_OK)
        rc = batch_put_versioned(s, k, sk_u64(k, SK_CERT, b->header.height), clen_be, 4,
                                 cenv, clen);
    free(env);
    free(cenv);
    if (rc != QC_OK) QC_WARN("store: refusing block: cannot encode it: %s", qc_strerror(rc));
    return rc;
}

/* Block-hash and tx index entries, the membership change and the new head. */
static void batch_indexes(store_t *s, const qc_block_t *b, const qc_hash_t *hash,
                          const qc_validator_set_t *next_vs, const store_head_t *head) {
    uint8_t k[SK_MAX_LEN], v[SV_TX_LEN];
    uint64_t height = b->header.height;
    v[0] = STORE_FORMAT_VERSION;
    qc_put_u64(v + 1, height);
    batch_put(s, k, sk_hash(k, SK_HASH, hash->b), v, SV_HEIGHT_LEN);
    /* In key order, as the record index (batch_records); without memory for the order, in
     * block order (the same batch, slower to insert). */
    idx_put_t *order = malloc((b->tx_count > 0 ? b->tx_count : 1) * sizeof *order);
    for (uint32_t i = 0; order != NULL && i < b->tx_count; i++)
        order[i] = (idx_put_t){.lead = qc_get_u64(b->txs[i].id.b), .hash = b->txs[i].id.b, .tx = i};
    if (order != NULL) qsort(order, b->tx_count, sizeof *order, idx_put_cmp);
    for (uint32_t i = 0; i < b->tx_count; i++) {
        uint32_t t = order != NULL ? order[i].tx : i;
        v[0] = STORE_FORMAT_VERSION;
        qc_put_u64(v + 1, height);
        qc_put_u32(v + 9, t);
        batch_put(s, k, sk_hash(k, SK_TX, b->txs[t].id.b), v, sizeof v);
    }
    free(order);
    /* 'J' (paged only): each ANCHOR's tx id and owner by (height, tx index), so that a record's
     * fresh status follows from its 'R' entry without reading the block (store_subtree.c). */
    for (uint32_t i = 0; s->state_paged && i < b->tx_count; i++) {
        const qc_tx_t *tx = &b->txs[i];
        if (tx->type != QC_TX_ANCHOR || tx->record_count == 0) continue;
        int m = qc_validators_find_seal(&s->validators, &tx->signer);
        QC_ASSERT(m >= 0); /* run_lifecycle refused other signers */
        uint8_t jv[SV_ANCHOR_TX_MAX];
        size_t jlen = sv_anchor_tx_encode(jv, &tx->id, s->validators.members[m].name);
        batch_put(s, k, sk_anchor_tx(k, height, i), jv, jlen);
    }
    if (next_vs != NULL) batch_put_membership(s, next_vs, height + 1);
    batch_put_head(s, head);
}

/* Runs the block's GOVERN transactions and the end of the block on a copy of the governance
 * state (s->gov_next), putting changed proposal records into the batch; checks the header's
 * next_validators_hash against the result. *switched: a new epoch starts after this block.
 * *changed: the state must be written. */
static int run_governance(store_t *s, const qc_block_t *b, bool *switched, bool *changed) {
    uint64_t height = b->header.height;
    memcpy(s->gov_next, s->gov, sizeof *s->gov);
    s->gov_record_error = QC_OK;
    bool any = false;
    for (uint32_t i = 0; i < b->tx_count; i++) {
        const qc_tx_t *tx = &b->txs[i];
        if (tx->type != QC_TX_GOVERN) continue;
        char why[256];
        int rc = gov_check(s->gov_next, tx, height, why, sizeof why);
        if (rc != QC_OK)
            return STORE_REFUSE("block %llu tx %u: %s", (unsigned long long)height, i, why);
        gov_apply(s->gov_next, tx, height, batch_put_proposal, s);
        any = true;
    }
    qc_hash_t next_hash;
    bool ended = false;
    *switched = gov_end_block(s->gov_next, height, &next_hash, &ended, batch_put_proposal, s);
    *changed = any || ended;
    if (s->gov_record_error != QC_OK) return s->gov_record_error;
    if (memcmp(next_hash.b, b->header.next_validators_hash.b, 32) != 0)
        return STORE_REFUSE("block %llu's next validators hash is not what its governance "
                            "gives (%s)", (unsigned long long)height,
                            *switched ? "a new epoch starts after it" : "no epoch ends here");
    return QC_OK;
}

/* lc_each_changed callback: a changed status into the block's batch. */
static int batch_put_status(void *ctx, const uint8_t digest[32], const uint8_t *enc, size_t len) {
    store_t *s = ctx;
    uint8_t k[SK_MAX_LEN];
    return batch_put_versioned(s, k, sk_status(k, digest), enc, len, NULL, 0);
}

/* Runs the block's transactions through the lifecycle rules on lc (the statuses after the
 * head, or after the group's blocks so far) and puts the statuses it changes into the batch;
 * lc's change marks are cleared so that the next block of a group writes only its own. */
static int run_lifecycle(store_t *s, lc_state_t *lc, const qc_block_t *b, sblock_t *sb) {
    uint64_t height = b->header.height, log_index = s->log.size;
    for (uint32_t i = 0; i < b->tx_count; i++) {
        const qc_tx_t *tx = &b->txs[i];
        char why[300];
        int rc = lc_apply(lc, tx, &s->validators, height, log_index, why, sizeof why);
        if (rc == QC_ERR_STATE || rc == QC_ERR_MEMBER)
            return STORE_REFUSE("block %llu tx %u: %s", (unsigned long long)height, i, why);
        if (rc == QC_OK && sb != NULL && tx->type == QC_TX_ANCHOR) {
            int m = qc_validators_find_seal(&s->validators, &tx->signer);
            QC_ASSERT(m >= 0); /* lc_apply refused other signers */
            rc = sblock_anchor(sb, tx, s->validators.members[m].name, height, log_index);
        }
        if (rc != QC_OK) return rc;
        log_index += tx->record_count;
    }
    int rc = lc_each_changed(lc, batch_put_status, s);
    if (rc == QC_OK && sb != NULL) rc = sblock_changed(sb, lc);
    lc_clear_changed(lc);
    return rc;
}

/* The state map after the block: its nodes in *ws (the caller's, or computed here into the
 * store's scratch) and their root, which must be the header's. */
static int run_state(store_t *s, const qc_block_t *b, const smap_writes_t *given,
                     const smap_writes_t **ws) {
    qc_hash_t root;
    int rc = QC_OK;
    if (given != NULL) {
        *ws = given;
        rc = store_state_writes_root(s, given, &root);
    } else {
        *ws = &s->state_ws;
        smap_reader_t r = store_state_reader(s);
        rc = sblock_finish(&s->state_sb, &r, &s->state_ws, &root);
    }
    if (rc != QC_OK) return rc;
    if (memcmp(root.b, b->header.state_root.b, QC_HASH_BYTES) != 0) {
        char got[65], want[65];
        return STORE_REFUSE("block %llu: state root %s, the record statuses after it give %s",
                            (unsigned long long)b->header.height,
                            qc_hash_hex(got, &b->header.state_root), qc_hash_hex(want, &root));
    }
    return QC_OK;
}

/* sh_each_changed callback: a sharing key the block set or deleted, into its batch. */
static int batch_share(void *ctx, const uint8_t *k, size_t klen, const uint8_t *val,
                       size_t vlen) {
    store_t *s = ctx;
    if (val == NULL) {
        leveldb_writebatch_delete(s->batch, (const char *)k, klen);
        return QC_OK;
    }
    return batch_put_versioned(s, k, klen, val, vlen, NULL, 0);
}

/* Runs the block's SHARE transactions through the data-sharing rules on sh (the state after
 * the head, or after the group's blocks so far) and puts what they change into the batch.
 * Other transactions cost one type test each: plain anchoring reads nothing here. */
static int run_share(store_t *s, sh_state_t *sh, const qc_block_t *b) {
    for (uint32_t i = 0; i < b->tx_count; i++) {
        char why[300];
        int rc = sh_apply(sh, &b->txs[i], &s->validators, b->header.height, why, sizeof why);
        if (rc == QC_ERR_STATE || rc == QC_ERR_MEMBER)
            return STORE_REFUSE("block %llu tx %u: %s", (unsigned long long)b->header.height, i,
                                why);
        if (rc != QC_OK) return rc;
    }
    int rc = sh_each_changed(sh, batch_share, s);
    sh_clear_changed(sh);
    return rc;
}

/* Everything of applying a block but its write: the checks, and the block's batch in s->batch
 * (or its error, the batch cleared). *p is what publish makes of it once the batch is durable;
 * until then the store's state is the head's, and the scratch it used (gov_next, clogs_next,
 * the state-map writes) must not be touched. */
static int prepare(store_t *s, const qc_block_t *block, const qc_cert_t *cert,
                   const store_given_t *g, store_inflight_t *p) {
    static const store_given_t none;
    if (g == NULL) g = &none;
    const smap_writes_t *given = g->state_writes;
    QC_ASSERT(s != NULL && block != NULL && cert != NULL);
    QC_ASSERT(block->tx_count == 0 || block->txs != NULL);
    if (s->write_error != QC_OK || s->db == NULL) {
        int rc = store_recover(s);
        if (rc != QC_OK) return rc;
    }
    if (s->state_broken != QC_OK) return s->state_broken;
    if (s->state_stale && s->group == NULL) {
        int rc = store_state_rebuild(s);
        if (rc != QC_OK) {
            state_failed(s, rc);
            return rc;
        }
    }
    qc_hash_t hash;
    qc_header_hash(&block->header, &hash);
    int rc = check_header(s, block, cert, &hash);
    if (rc == QC_OK) rc = check_txs(s, block);
    if (rc != QC_OK) return rc;
    rlog_t log = s->log;
    leveldb_writebatch_clear(s->batch);
    bool switched = false, gov_changed = false;
    rc = run_governance(s, block, &switched, &gov_changed);
    lc_state_t local;
    lc_state_t *lc = s->group_lc ? s->group_lc : &local;
    if (lc == &local) {
        /* Only the digests this block's lifecycle transactions name: a record no lifecycle
         * transaction touched has no stored status (its first anchoring implies it), so plain
         * anchoring costs the store nothing here. */
        lc_init(&local, store_record_status_cb, s, LC_WATCHED);
        for (uint32_t i = 0; i < block->tx_count && rc == QC_OK; i++)
            rc = lc_watch_tx(&local, &block->txs[i]);
    }
    sblock_reset(&s->state_sb);
    smap_writes_reset(&s->state_ws);
    if (rc == QC_OK) rc = run_lifecycle(s, lc, block, given ? NULL : &s->state_sb);
    if (lc == &local) lc_free(&local);
    sh_state_t local_sh;
    sh_state_t *sh = s->group_sh ? s->group_sh : &local_sh;
    if (sh == &local_sh) sh_init(&local_sh, store_share_cb, s);
    if (rc == QC_OK) rc = run_share(s, sh, block);
    if (sh == &local_sh) sh_free(&local_sh);
    if (rc == QC_OK && (g->clogs_after == NULL) != (g->city_nodes == NULL))
        rc = STORE_REFUSE("city logs given without their nodes, or nodes without their logs");
    if (rc == QC_OK)
        rc = store_city_apply(s, block, &s->validators, g->clogs_after, g->city_nodes,
                              given ? NULL : &s->state_sb);
    const smap_writes_t *state_ws = NULL;
    if (rc == QC_OK) rc = run_state(s, block, given, &state_ws);
    if (rc == QC_OK) rc = batch_records(s, block, &log, g->leaves, g->leaf_count);
    if (rc == QC_OK) rc = batch_block(s, block, cert);
    const qc_validator_set_t *next_vs = switched ? &s->gov_next->vs : NULL;
    store_head_t head = {.height = block->header.height, .hash = hash, .log_size = log.size,
                         .epoch = next_vs ? next_vs->epoch : s->head.epoch};
    rlog_root(&log, &head.log_root);
    if (rc == QC_OK && gov_changed) rc = batch_put_gov(s, s->gov_next);
    if (rc == QC_OK) {
        batch_indexes(s, block, &hash, next_vs, &head);
        if (s->group != NULL) rc = group_add_txs(s, block);
    }
    if (rc != QC_OK) {
        leveldb_writebatch_clear(s->batch);
        return rc;
    }
    *p = (store_inflight_t){.active = true, .height = block->header.height, .head = head,
                            .log = log, .state_ws = state_ws, .switched = next_vs != NULL};
    return QC_OK;
}

/* The block of *p is durable (or, inside a group, in the group's batch): the store's state
 * moves to it. */
static void publish(store_t *s, const store_inflight_t *p) {
    const smap_writes_t *state_ws = p->state_ws;
    const qc_validator_set_t *next_vs = p->switched ? &s->gov_next->vs : NULL;
    /* The block is durable (or, inside a group, in the group's batch, and the next block reads
     * the map after this one): its nodes go into the resident map. A group whose write then
     * fails leaves the map ahead of the ledger, as does a failed commit here: store_recover
     * rebuilds it before anything else is applied. */
    if (s->group != NULL) s->state_stale = true;
    if (smap_mem_commit(s->state, state_ws) != QC_OK) {
        s->state_stale = true;
        s->write_error = store_note(s, QC_ERR_NOMEM);
    }
    s->head = p->head;
    s->log = p->log;
    clog_set_t c = s->clogs;
    s->clogs = s->clogs_next;
    s->clogs_next = c;
    store_state_maintain(s); /* (not inside a group: its blocks are not durable yet) */
    gov_state_t *t = s->gov;
    s->gov = s->gov_next;
    s->gov_next = t;
    if (next_vs != NULL) {
        s->validators = s->gov->vs;
        qc_validators_hash(&s->validators, &s->validators_hash);
        QC_INFO("store: epoch %llu in force from block %llu (%u validators)",
                (unsigned long long)s->validators.epoch, (unsigned long long)p->height + 1,
                s->validators.n);
    }
}

static int apply(store_t *s, const qc_block_t *block, const qc_cert_t *cert,
                 const store_given_t *given) {
    QC_ASSERT(!s->inflight.active); /* store_apply_end first */
    store_inflight_t p;
    int rc = prepare(s, block, cert, given, &p);
    if (rc != QC_OK) return rc;
    rc = batch_write(s, "writing a block");
    leveldb_writebatch_clear(s->batch);
    if (rc != QC_OK) return rc;
    publish(s, &p);
    return QC_OK;
}

/* Reads from now on see the database as it is now (the head), whatever is written meanwhile. */
static void read_snapshot_take(store_t *s) {
    QC_ASSERT(s->read_snap == NULL);
    s->read_snap = leveldb_create_snapshot(s->db);
    leveldb_readoptions_set_snapshot(s->ropts, s->read_snap);
}

static void read_snapshot_drop(store_t *s) {
    if (s->read_snap == NULL) return;
    leveldb_readoptions_set_snapshot(s->ropts, NULL);
    leveldb_release_snapshot(s->db, s->read_snap);
    s->read_snap = NULL;
}

int store_apply_begin(store_t *s, const qc_block_t *block, const qc_cert_t *cert,
                      const store_given_t *given) {
    QC_ASSERT(s->group == NULL && !s->inflight.active);
    int rc = prepare(s, block, cert, given, &s->inflight);
    if (rc == QC_OK) read_snapshot_take(s); /* the write runs on another thread from here */
    return rc;
}

void store_apply_write(store_t *s) {
    QC_ASSERT(s->inflight.active && s->inflight.err == NULL);
    if (s->test_write_hook != NULL) s->test_write_hook(s->test_write_ctx);
    leveldb_write(s->db, s->wopts, s->batch, &s->inflight.err);
}

int store_apply_end(store_t *s) {
    QC_ASSERT(s->inflight.active);
    read_snapshot_drop(s);
    store_inflight_t p = s->inflight;
    memset(&s->inflight, 0, sizeof s->inflight);
    leveldb_writebatch_clear(s->batch);
    if (p.err != NULL) return write_failed(s, p.err, "writing a block");
    publish(s, &p);
    return QC_OK;
}

bool store_apply_inflight(const store_t *s) { return s->inflight.active; }

int store_apply_block(store_t *s, const qc_block_t *block, const qc_cert_t *cert) {
    return apply(s, block, cert, NULL);
}

int store_apply_block_leaves(store_t *s, const qc_block_t *block, const qc_cert_t *cert,
                             const qc_hash_t *leaves, size_t leaf_count) {
    store_given_t g = {.leaves = leaves, .leaf_count = leaf_count};
    return apply(s, block, cert, &g);
}

int store_apply_block_exec(store_t *s, const qc_block_t *block, const qc_cert_t *cert,
                           const store_given_t *given) {
    return apply(s, block, cert, given);
}

int store_apply_blocks(store_t *s, const qc_block_t *blocks, const qc_cert_t *certs,
                       size_t count, size_t *applied) {
    QC_ASSERT(s != NULL && s->db != NULL && s->group == NULL && applied != NULL);
    QC_ASSERT(count <= STORE_APPLY_BLOCKS_MAX && (count == 0 || (blocks && certs)));
    *applied = 0;
    if (count == 0) return QC_OK;
    if (s->write_error != QC_OK || s->db == NULL) {
        int rc = store_recover(s); /* before head0: a reopen may move the head */
        if (rc != QC_OK) return rc;
    }
    if (s->state_broken != QC_OK) return s->state_broken;
    if (s->state_stale) {
        int rc = store_state_rebuild(s);
        if (rc != QC_OK) {
            state_failed(s, rc);
            return rc;
        }
    }
    store_head_t head0 = s->head;
    rlog_t log0 = s->log;
    if (s->group_gov0 == NULL && (s->group_gov0 = malloc(sizeof *s->group_gov0)) == NULL)
        return QC_ERR_NOMEM;
    memcpy(s->group_gov0, s->gov, sizeof *s->gov);
    if (clog_set_copy(&s->group_clogs0, &s->clogs) != QC_OK) return QC_ERR_NOMEM;
    /* Every digest the group's lifecycle transactions name, watched before the first block:
     * an anchoring in an earlier block of the group is not in the database yet, so the overlay
     * must have followed it. */
    lc_state_t group_lc;
    lc_init(&group_lc, store_record_status_cb, s, LC_WATCHED);
    for (size_t b = 0; b < count; b++)
        for (uint32_t i = 0; i < blocks[b].tx_count; i++)
            if (lc_watch_tx(&group_lc, &blocks[b].txs[i]) != QC_OK) {
                lc_free(&group_lc);
                return QC_ERR_NOMEM;
            }
    s->group_lc = &group_lc;
    sh_state_t group_sh; /* the group's sharing changes, not in the database until its write */
    sh_init(&group_sh, store_share_cb, s);
    s->group_sh = &group_sh;
    s->group = leveldb_writebatch_create();
    int rc = QC_OK;
    size_t k = 0;
    while (k < count && (rc = apply(s, &blocks[k], &certs[k], NULL)) == QC_OK) k++;
    int wrc = QC_OK;
    if (k > 0) {
        char *err = NULL;
        leveldb_write(s->db, s->wopts, s->group, &err);
        if (err != NULL) wrc = write_failed(s, err, "writing blocks");
    }
    leveldb_writebatch_destroy(s->group);
    s->group = NULL;
    lc_free(&group_lc);
    s->group_lc = NULL;
    sh_free(&group_sh);
    s->group_sh = NULL;
    free(s->group_txs);
    s->group_txs = NULL;
    s->group_txs_n = 0;
    if (wrc == QC_OK) {
        s->state_stale = false;
        store_state_maintain(s);
    }
    if (wrc != QC_OK) {
        s->head = head0;
        s->log = log0;
        clog_set_t c = s->clogs;
        s->clogs = s->group_clogs0;
        s->group_clogs0 = c;
        memcpy(s->gov, s->group_gov0, sizeof *s->gov);
        s->validators = s->gov->vs;
        qc_validators_hash(&s->validators, &s->validators_hash);
        return wrc;
    }
    *applied = k;
    return rc;
}
